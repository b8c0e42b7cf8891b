//! The home page: what the survey is for and how the respondent's data is treated.

use maud::{Markup, html};

use super::Ctx;
use super::layout::page;
use crate::config::AccountsSettings;

pub fn render(ctx: &Ctx, study: &AccountsSettings) -> Markup {
    let t = ctx.lang.t();
    page(
        ctx,
        t.home_title,
        html! {
            h1 { (t.home_title) }
            p class="lead" { (t.home_lead) }
            p { (t.home_why) }
            p class="notice" { (t.home_privacy) }
            p {
                (t.home_who
                    .replace("{controlador}", &study.controller)
                    .replace("{contato}", &study.privacy_contact))
            }
            @if ctx.user.is_none() {
                div class="actions" {
                    a class="button" href="/register" { (t.home_start) }
                    a class="button secondary" href="/login" { (t.home_have_account) }
                }
            } @else {
                div class="actions" {
                    a class="button" href="/survey" { (t.survey_continue) }
                    a class="button secondary" href="/account" { (t.nav_account) }
                }
            }
        },
    )
}

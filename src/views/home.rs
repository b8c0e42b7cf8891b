//! The home page: what the survey is for, how long it takes, who runs it and how to
//! reach them, and how the respondent's data is treated.

use maud::{Markup, html};

use super::Ctx;
use super::layout::page;
use crate::config::AccountsSettings;

/// Where a logged-in respondent stands in the questionnaire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    NotStarted,
    InProgress,
    Submitted,
    Screened,
}

pub struct Home<'a> {
    /// Who runs the study and the privacy contact.
    pub study: &'a AccountsSettings,
    /// The questionnaire's time estimate.
    pub minutes: u32,
    /// `None` for a visitor.
    pub progress: Option<Progress>,
}

/// The privacy contact: a `mailto:` link when it is an address, else as written (a URL or
/// a phone number is shown, not guessed at).
fn contact(ctx: &Ctx, contact: &str) -> Markup {
    let is_address = contact.contains('@')
        && !contact.contains(char::is_whitespace)
        && !contact.contains(['/', ':', '?', '"', '<', '>']);
    html! {
        @if is_address {
            a href={ "mailto:" (contact) } title=(ctx.lang.respondent().home_contact_label) { (contact) }
        } @else {
            (contact)
        }
    }
}

pub fn render(ctx: &Ctx, h: &Home<'_>) -> Markup {
    let t = ctx.lang.t();
    let r = ctx.lang.respondent();
    // "{controlador}" and "{contato}" split the sentence so the contact can be a link.
    let who = t.home_who.replace("{controlador}", &h.study.controller);
    let (before, after) = who.split_once("{contato}").unwrap_or((who.as_str(), ""));
    page(
        ctx,
        t.home_title,
        html! {
            h1 { (t.home_title) }
            p class="lead" { (t.home_lead) }
            p id="duracao" { (r.duration_of(h.minutes)) " " (t.home_why) }
            p class="notice" { (t.home_privacy) }
            p id="quem-realiza" {
                (before)
                @if who.contains("{contato}") { (contact(ctx, &h.study.privacy_contact)) }
                (after)
            }
            div class="actions" {
                @match h.progress {
                    None => {
                        a class="button" href="/register" { (t.home_start) }
                        a class="button secondary" href="/login" { (t.home_have_account) }
                    }
                    Some(p) => {
                        @match p {
                            Progress::NotStarted => { a class="button" href="/survey" { (t.survey_start) } }
                            Progress::InProgress => { a class="button" href="/survey" { (t.survey_continue) } }
                            Progress::Submitted => { a class="button" href="/survey/review" { (r.home_see_or_change) } }
                            Progress::Screened => { a class="button" href="/survey/screened" { (t.survey_see_answers) } }
                        }
                        a class="button secondary" href="/account" { (t.nav_account) }
                    }
                }
            }
        },
    )
}

//! The pages around e-mail verification: "check your e-mail" after sign-up, the confirm
//! step behind the link, and the reminder shown to a respondent not yet verified.

use maud::{Markup, html};

use super::Ctx;
use super::forms;
use super::layout::page;

/// After sign-up, the same page whether the address was new or already had an account.
pub fn check_email(ctx: &Ctx) -> Markup {
    let t = ctx.lang.t();
    page(
        ctx,
        t.check_email_title,
        html! {
            h1 { (t.check_email_title) }
            p { (t.check_email_body) }
            p { (t.check_email_spam) }
        },
    )
}

/// Behind the link: one button that POSTs the token, so a mail scanner fetching the link
/// does not spend it.
pub fn confirm(ctx: &Ctx, token: &str) -> Markup {
    let t = ctx.lang.t();
    page(
        ctx,
        t.verify_title,
        html! {
            h1 { (t.verify_title) }
            p { (t.verify_lead) }
            form method="post" action="/verify" {
                (forms::csrf(ctx.csrf()))
                input type="hidden" name="token" value=(token);
                div class="actions" { button type="submit" { (t.verify_submit) } }
            }
        },
    )
}

/// A link that is unknown, expired or spent (status 410 or 400 by the caller).
pub fn link_invalid(ctx: &Ctx, title: &str, text: &str) -> Markup {
    let t = ctx.lang.t();
    page(
        ctx,
        title,
        html! {
            h1 { (title) }
            p { (text) }
            p { a href="/login" { (t.nav_login) } }
        },
    )
}

/// Behind the e-mail change link: one button that POSTs the token.
pub fn confirm_change(ctx: &Ctx, token: &str) -> Markup {
    let t = ctx.lang.t();
    page(
        ctx,
        t.account_email_title,
        html! {
            h1 { (t.account_email_title) }
            p { (t.account_email_lead) }
            form method="post" action="/email/confirm" {
                (forms::csrf(ctx.csrf()))
                input type="hidden" name="token" value=(token);
                div class="actions" { button type="submit" { (t.verify_submit) } }
            }
        },
    )
}

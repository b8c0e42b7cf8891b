//! Getting into an account through the mailbox: "Esqueci minha senha" (ask for a link,
//! choose a new password) and sign-in by e-mail code (ask for a code, type it, or confirm
//! the link). Every page answers the same whether or not the address has an account.

use maud::{Markup, html};

use super::Ctx;
use super::forms::{self, Errors, Input};
use super::layout::page;

/// `GET /password/forgot`: the address to send the link to.
pub fn forgot(ctx: &Ctx, email: &str, errors: &Errors) -> Markup {
    let t = ctx.lang.t();
    page(
        ctx,
        t.forgot_title,
        html! {
            h1 { (t.forgot_title) }
            (forms::error_summary(ctx.lang, errors))
            p { (t.forgot_lead) }
            form method="post" action="/password/forgot" novalidate {
                (forms::csrf(ctx.csrf()))
                (forms::input(ctx.lang, &Input { name: "email", label: t.field_email, kind: "email", value: email, autocomplete: "email", hint: None, required: true, max_chars: Some(254) }, errors))
                div class="actions" { button type="submit" { (t.forgot_submit) } }
            }
            p { a href="/login" { (t.nav_login) } }
        },
    )
}

/// The answer to a reset request, the same for every address.
pub fn forgot_sent(ctx: &Ctx) -> Markup {
    let t = ctx.lang.t();
    page(
        ctx,
        t.forgot_sent_title,
        html! {
            h1 { (t.forgot_sent_title) }
            p { (t.forgot_sent_body) }
            p { a href="/login" { (t.nav_login) } }
        },
    )
}

/// `GET /password/reset?token=…`: the new password, twice. The token travels on in a
/// hidden field, so the POST carries it and not its URL.
pub fn reset(ctx: &Ctx, token: &str, errors: &Errors) -> Markup {
    let t = ctx.lang.t();
    page(
        ctx,
        t.reset_title,
        html! {
            h1 { (t.reset_title) }
            (forms::error_summary(ctx.lang, errors))
            p { (t.reset_lead) }
            form method="post" action="/password/reset" novalidate {
                (forms::csrf(ctx.csrf()))
                input type="hidden" name="token" value=(token);
                (forms::input(ctx.lang, &Input { name: "password", label: t.field_password, kind: "password", value: "", autocomplete: "new-password", hint: Some(t.field_password_hint), required: true, max_chars: None }, errors))
                (forms::input(ctx.lang, &Input { name: "password_confirm", label: t.field_password_confirm, kind: "password", value: "", autocomplete: "new-password", hint: None, required: true, max_chars: None }, errors))
                div class="actions" { button type="submit" { (t.reset_submit) } }
            }
        },
    )
}

/// A link that no longer works (unknown, expired or spent), with the way to a new one.
pub fn link_invalid(ctx: &Ctx, message: &str, again_href: &str, again_label: &str) -> Markup {
    page(
        ctx,
        message,
        html! {
            h1 { (message) }
            p { a href=(again_href) { (again_label) } }
        },
    )
}

/// `GET /login/code`: the address to send a code to.
/// `next` (a checked local path, or empty) rides on to the page after log-in.
pub fn code_request(ctx: &Ctx, email: &str, next: &str, errors: &Errors) -> Markup {
    let t = ctx.lang.t();
    page(
        ctx,
        t.code_title,
        html! {
            h1 { (t.code_title) }
            (forms::error_summary(ctx.lang, errors))
            p { (t.code_lead) }
            form method="post" action="/login/code" novalidate {
                (forms::csrf(ctx.csrf()))
                (next_field(next))
                (forms::input(ctx.lang, &Input { name: "email", label: t.field_email, kind: "email", value: email, autocomplete: "username", hint: None, required: true, max_chars: Some(254) }, errors))
                div class="actions" { button type="submit" { (t.code_request_submit) } }
            }
            p { a href="/login" { (t.nav_login) } }
        },
    )
}

/// The page to go to after log-in, carried in a hidden field when there is one.
fn next_field(next: &str) -> Markup {
    html! { @if !next.is_empty() { input type="hidden" name="next" value=(next); } }
}

/// The code field: digits on a phone keypad, filled from the message where the system
/// offers it.
fn code_field(ctx: &Ctx, errors: &Errors) -> Markup {
    let t = ctx.lang.t();
    let err = errors.get("code");
    html! {
        div class={ "field" @if err.is_some() { " invalid" } } {
            label for="code" { (t.field_code) }
            input type="text" id="code" name="code" value=""
                inputmode="numeric" autocomplete="one-time-code" maxlength="9" required
                aria-invalid=[err.map(|_| "true")]
                aria-describedby=[err.map(|_| "code-erro")];
            @if let Some(m) = err { p class="field-error" id="code-erro" { (m) } }
        }
    }
}

/// After a code request (and after a wrong code): type the code. The address rides in a
/// hidden field; the page reads the same whether or not it has an account.
pub fn code_enter(ctx: &Ctx, email: &str, next: &str, errors: &Errors) -> Markup {
    let t = ctx.lang.t();
    page(
        ctx,
        t.code_title,
        html! {
            h1 { (t.code_title) }
            (forms::error_summary(ctx.lang, errors))
            p { (t.code_sent) " " strong { (email) } }
            form method="post" action="/login/code/verify" novalidate {
                (forms::csrf(ctx.csrf()))
                input type="hidden" name="email" value=(email);
                (next_field(next))
                (code_field(ctx, errors))
                div class="actions" { button type="submit" { (t.code_submit) } }
            }
            form method="post" action="/login/code" {
                (forms::csrf(ctx.csrf()))
                input type="hidden" name="email" value=(email);
                (next_field(next))
                div class="actions" { button type="submit" class="secondary" { (t.code_resend) } }
            }
            p { a href="/login/code" { (t.code_other_address) } }
        },
    )
}

/// `GET /login/code/link?token=…`: a button to confirm, so a mail scanner that fetches
/// the link does not spend it.
pub fn code_link(ctx: &Ctx, token: &str) -> Markup {
    let t = ctx.lang.t();
    page(
        ctx,
        t.code_link_title,
        html! {
            h1 { (t.code_link_title) }
            p { (t.code_link_lead) }
            form method="post" action="/login/code/link" {
                (forms::csrf(ctx.csrf()))
                input type="hidden" name="token" value=(token);
                div class="actions" { button type="submit" { (t.code_submit) } }
            }
        },
    )
}

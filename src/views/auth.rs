//! Sign-up, log-in and the re-acceptance of updated documents.

use maud::{Markup, html};

use super::Ctx;
use super::forms::{self, Errors, Input, document};
use super::layout::page;
use crate::config::AccountsSettings;
use crate::db::consents::Document;

/// What the sign-up form shows again after a refusal (never the password).
#[derive(Debug, Default, Clone)]
pub struct RegisterValues {
    pub nome: String,
    pub sobrenome: String,
    pub email: String,
    pub telefone: String,
    pub bairro: String,
    pub accept_terms: bool,
    pub adult: bool,
    /// Kinds of the optional consents ticked.
    pub optional: Vec<String>,
}

/// Who runs the study and how long its questionnaire takes, as the sign-up page says.
pub struct Study<'a> {
    pub who: &'a AccountsSettings,
    pub minutes: u32,
}

pub fn register(
    ctx: &Ctx,
    providers: &[(String, String)],
    documents: &[Document],
    bairros: &[String],
    study: &Study<'_>,
    v: &RegisterValues,
    errors: &Errors,
) -> Markup {
    let who = study.who;
    let t = ctx.lang.t();
    let en = ctx.lang.is_english();
    page(
        ctx,
        t.register_title,
        html! {
            h1 { (t.register_title) }
            (forms::error_summary(ctx.lang, errors))
            p { (t.register_lead) " " span id="duracao" { (ctx.lang.respondent().duration_of(study.minutes)) } }
            @for d in documents.iter().filter(|d| d.required) {
                (document(ctx, d, who, false))
            }
            form method="post" action="/register" novalidate {
                (forms::csrf(ctx.csrf()))
                (forms::input(ctx.lang, &Input { name: "nome", label: t.field_nome, kind: "text", value: &v.nome, autocomplete: "given-name", hint: None, required: true, max_chars: Some(80) }, errors))
                (forms::input(ctx.lang, &Input { name: "sobrenome", label: t.field_sobrenome, kind: "text", value: &v.sobrenome, autocomplete: "family-name", hint: None, required: true, max_chars: Some(80) }, errors))
                (forms::input(ctx.lang, &Input { name: "email", label: t.field_email, kind: "email", value: &v.email, autocomplete: "email", hint: None, required: true, max_chars: Some(254) }, errors))
                (forms::input(ctx.lang, &Input { name: "telefone", label: t.field_telefone, kind: "tel", value: &v.telefone, autocomplete: "tel-national", hint: None, required: false, max_chars: Some(20) }, errors))
                (forms::select("bairro", t.field_bairro, t.field_bairro_choose, bairros, &v.bairro, errors))
                (forms::input(ctx.lang, &Input { name: "password", label: t.field_password, kind: "password", value: "", autocomplete: "new-password", hint: Some(t.field_password_hint), required: true, max_chars: None }, errors))
                (forms::input(ctx.lang, &Input { name: "password_confirm", label: t.field_password_confirm, kind: "password", value: "", autocomplete: "new-password", hint: None, required: true, max_chars: None }, errors))
                (forms::checkbox("adult", t.field_adult, v.adult, errors))
                (forms::checkbox("accept_terms", t.field_accept_terms, v.accept_terms, errors))
                @for d in documents.iter().filter(|d| !d.required) {
                    (forms::checkbox(&format!("consent_{}", d.kind), d.body(en), v.optional.contains(&d.kind), errors))
                }
                div class="actions" { button type="submit" { (t.register_submit) } }
            }
            (oidc_buttons(ctx, providers, ""))
        },
    )
}

pub fn login(
    ctx: &Ctx,
    providers: &[(String, String)],
    email: &str,
    next: &str,
    errors: &Errors,
) -> Markup {
    let t = ctx.lang.t();
    page(
        ctx,
        t.login_title,
        html! {
            h1 { (t.login_title) }
            (forms::error_summary(ctx.lang, errors))
            form method="post" action="/login" novalidate {
                (forms::csrf(ctx.csrf()))
                @if !next.is_empty() { input type="hidden" name="next" value=(next); }
                (forms::input(ctx.lang, &Input { name: "email", label: t.field_email, kind: "email", value: email, autocomplete: "username", hint: None, required: true, max_chars: Some(254) }, errors))
                (forms::input(ctx.lang, &Input { name: "password", label: t.field_password, kind: "password", value: "", autocomplete: "current-password", hint: None, required: true, max_chars: None }, errors))
                div class="actions" { button type="submit" { (t.login_submit) } }
            }
            p { a href="/password/forgot" { (t.login_forgot) } }
            p { a href=(with_next("/login/code", next)) { (t.login_with_code) } }
            (oidc_buttons(ctx, providers, next))
            p { (t.login_no_account) " " a href="/register" { (t.nav_register) } }
        },
    )
}

pub fn consent(
    ctx: &Ctx,
    missing: &[Document],
    who: &AccountsSettings,
    first_time: bool,
    next: &str,
    errors: &Errors,
) -> Markup {
    let t = ctx.lang.t();
    page(
        ctx,
        t.consent_title,
        html! {
            h1 { (t.consent_title) }
            (forms::error_summary(ctx.lang, errors))
            p { (if first_time { t.consent_lead_first } else { t.consent_lead }) }
            @for d in missing { (document(ctx, d, who, true)) }
            form method="post" action="/consent" novalidate {
                (forms::csrf(ctx.csrf()))
                @if !next.is_empty() { input type="hidden" name="next" value=(next); }
                @for d in missing { input type="hidden" name="document" value=(d.id); }
                (forms::checkbox(
                    "accept",
                    if first_time { t.consent_accept_first } else { t.consent_accept },
                    false,
                    errors,
                ))
                div class="actions" { button type="submit" { (t.consent_submit) } }
            }
        },
    )
}

/// `path`, with `?next=` when there is a page to go to after log-in.
fn with_next(path: &str, next: &str) -> String {
    if next.is_empty() {
        path.to_string()
    } else {
        format!("{path}?next={}", super::admin::urlencode(next))
    }
}

/// "Entrar com Google" links (OpenID Connect log-in, see `web::oidc`), one per provider (`(id, label)`), or nothing.
fn oidc_buttons(ctx: &Ctx, providers: &[(String, String)], next: &str) -> Markup {
    let t = ctx.lang.t();
    html! {
        @if !providers.is_empty() {
            div class="oidc-buttons" {
                p class="muted" { (t.oidc_or) }
                @for (id, label) in providers {
                    p {
                        a class="button secondary" href=(with_next(&format!("/auth/{id}"), next)) {
                            (t.oidc_continue_with.replace("{label}", label))
                        }
                    }
                }
            }
        }
    }
}

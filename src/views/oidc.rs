//! Log-in through an OpenID Connect provider (its buttons are in [`super::auth`]): the page that says why a log-in did not go through, and the page where a
//! person new to the site completes the sign-up (profile and consents, no password).

use maud::{Markup, html};

use super::Ctx;
use super::auth::RegisterValues;
use super::forms::{self, Errors, Input, document};
use super::layout::page;
use crate::config::AccountsSettings;
use crate::db::consents::Document;

/// Why the log-in through `label` did not go through; nothing was changed. Offers to try
/// again (`retry`: the provider's id) and the password log-in.
pub fn problem(ctx: &Ctx, message: &str, retry: Option<&str>) -> Markup {
    let t = ctx.lang.t();
    page(
        ctx,
        t.oidc_problem_title,
        html! {
            h1 { (t.oidc_problem_title) }
            p class="lead" { (message) }
            @if let Some(id) = retry {
                p { a class="button" href=(format!("/auth/{id}")) { (t.oidc_try_again) } }
            }
            p { a class="button secondary" href="/login" { (t.oidc_use_password) } }
        },
    )
}

/// What the completion page shows: who the provider says this is.
pub struct Completing<'a> {
    pub label: &'a str,
    pub email: &'a str,
}

/// The sign-up of a person the provider vouched for: the sign-up form without e-mail
/// and password (names prefilled from the provider), with the documents to accept.
pub fn complete(
    ctx: &Ctx,
    who: &Completing<'_>,
    documents: &[Document],
    bairros: &[String],
    study: &AccountsSettings,
    v: &RegisterValues,
    errors: &Errors,
) -> Markup {
    let t = ctx.lang.t();
    let en = ctx.lang.is_english();
    let lead = t
        .oidc_complete_lead
        .replace("{label}", who.label)
        .replace("{email}", who.email);
    page(
        ctx,
        t.oidc_complete_title,
        html! {
            h1 { (t.oidc_complete_title) }
            (forms::error_summary(ctx.lang, errors))
            p { (lead) }
            @for d in documents.iter().filter(|d| d.required) {
                (document(ctx, d, study, false))
            }
            form method="post" action="/auth/complete" novalidate {
                (forms::csrf(ctx.csrf()))
                (forms::input(ctx.lang, &Input { name: "nome", label: t.field_nome, kind: "text", value: &v.nome, autocomplete: "given-name", hint: None, required: true, max_chars: Some(80) }, errors))
                (forms::input(ctx.lang, &Input { name: "sobrenome", label: t.field_sobrenome, kind: "text", value: &v.sobrenome, autocomplete: "family-name", hint: None, required: true, max_chars: Some(80) }, errors))
                (forms::input(ctx.lang, &Input { name: "telefone", label: t.field_telefone, kind: "tel", value: &v.telefone, autocomplete: "tel-national", hint: None, required: false, max_chars: Some(20) }, errors))
                (forms::select("bairro", t.field_bairro, t.field_bairro_choose, bairros, &v.bairro, errors))
                (forms::checkbox("adult", t.field_adult, v.adult, errors))
                (forms::checkbox("accept_terms", t.field_accept_terms, v.accept_terms, errors))
                @for d in documents.iter().filter(|d| !d.required) {
                    (forms::checkbox(&format!("consent_{}", d.kind), d.body(en), v.optional.contains(&d.kind), errors))
                }
                div class="actions" { button type="submit" { (t.oidc_complete_submit) } }
            }
        },
    )
}

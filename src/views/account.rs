//! "Minha conta": profile, password, optional consents, data download, deletion.

use maud::{Markup, html};

use super::Ctx;
use super::forms::{self, Errors, Input};
use super::layout::page;
use crate::db::consents::{ConsentRecord, Document};
use crate::db::users::User;

/// Which form on the page a set of errors belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    None,
    Profile,
    Password,
    Email,
    Delete,
}

pub struct AccountPage<'a> {
    pub user: &'a User,
    /// Values to show in the profile form (the stored ones, or the refused submission).
    pub profile: ProfileValues,
    pub bairros: &'a [String],
    pub optional: &'a [Document],
    pub active_ids: &'a [i64],
    pub history: &'a [ConsentRecord],
    pub errors: Errors,
    pub section: Section,
    /// The new address typed in a refused e-mail change.
    pub new_email: String,
}

#[derive(Debug, Clone, Default)]
pub struct ProfileValues {
    pub nome: String,
    pub sobrenome: String,
    pub telefone: String,
    pub bairro: String,
}

impl ProfileValues {
    pub fn of(user: &User) -> ProfileValues {
        ProfileValues {
            nome: user.nome.clone(),
            sobrenome: user.sobrenome.clone(),
            telefone: user.telefone.clone().unwrap_or_default(),
            bairro: user.bairro.clone(),
        }
    }
}

pub fn render(ctx: &Ctx, p: &AccountPage<'_>) -> Markup {
    let t = ctx.lang.t();
    let en = ctx.lang.is_english();
    let none = Errors::default();
    let errs = |s: Section| if p.section == s { &p.errors } else { &none };
    let has_password = p.user.has_password();
    page(
        ctx,
        t.account_title,
        html! {
            h1 { (t.account_title) }
            p { (t.account_welcome.replace("{nome}", &p.user.nome)) }
            (forms::error_summary(ctx.lang, &p.errors))

            section aria-labelledby="perfil" {
                h2 id="perfil" { (t.account_profile) }
                form method="post" action="/account/profile" novalidate {
                    (forms::csrf(ctx.csrf()))
                    (forms::input(ctx.lang, &Input { name: "nome", label: t.field_nome, kind: "text", value: &p.profile.nome, autocomplete: "given-name", hint: None, required: true, max_chars: Some(80) }, errs(Section::Profile)))
                    (forms::input(ctx.lang, &Input { name: "sobrenome", label: t.field_sobrenome, kind: "text", value: &p.profile.sobrenome, autocomplete: "family-name", hint: None, required: true, max_chars: Some(80) }, errs(Section::Profile)))
                    (forms::input(ctx.lang, &Input { name: "telefone", label: t.field_telefone, kind: "tel", value: &p.profile.telefone, autocomplete: "tel-national", hint: None, required: false, max_chars: Some(20) }, errs(Section::Profile)))
                    (forms::select("bairro", t.field_bairro, t.field_bairro_choose, p.bairros, &p.profile.bairro, errs(Section::Profile)))
                    div class="actions" { button type="submit" { (t.account_save) } }
                }
            }

            section aria-labelledby="email" {
                h2 id="email" { (t.account_email_title) }
                p { (t.account_email_current) ": " strong { (p.user.email) } }
                p { (t.account_email_lead) }
                @if !has_password { (sign_in_again(ctx)) }
                form method="post" action="/account/email" novalidate {
                    (forms::csrf(ctx.csrf()))
                    (forms::input(ctx.lang, &Input { name: "new_email", label: t.field_email_new, kind: "email", value: &p.new_email, autocomplete: "email", hint: None, required: true, max_chars: Some(254) }, errs(Section::Email)))
                    @if has_password {
                        (forms::input(ctx.lang, &Input { name: "email_password", label: t.field_password_current, kind: "password", value: "", autocomplete: "current-password", hint: None, required: true, max_chars: None }, errs(Section::Email)))
                    }
                    div class="actions" { button type="submit" class="secondary" { (t.account_email_submit) } }
                }
            }

            section aria-labelledby="senha" {
                h2 id="senha" { (t.account_password) }
                @if !has_password { p { (t.account_no_password) } }
                form method="post" action="/account/password" novalidate {
                    (forms::csrf(ctx.csrf()))
                    @if has_password {
                        (forms::input(ctx.lang, &Input { name: "current_password", label: t.field_password_current, kind: "password", value: "", autocomplete: "current-password", hint: None, required: true, max_chars: None }, errs(Section::Password)))
                    }
                    (forms::input(ctx.lang, &Input { name: "password", label: t.field_password_new, kind: "password", value: "", autocomplete: "new-password", hint: Some(t.field_password_hint), required: true, max_chars: None }, errs(Section::Password)))
                    (forms::input(ctx.lang, &Input { name: "password_confirm", label: t.field_password_confirm, kind: "password", value: "", autocomplete: "new-password", hint: None, required: true, max_chars: None }, errs(Section::Password)))
                    div class="actions" { button type="submit" { (t.account_password_submit) } }
                }
            }

            @if !p.optional.is_empty() {
                section aria-labelledby="consentimentos" {
                    h2 id="consentimentos" { (t.account_consents) }
                    form method="post" action="/account/consents" {
                        (forms::csrf(ctx.csrf()))
                        @for d in p.optional {
                            (forms::checkbox(&format!("consent_{}", d.kind), d.body(en), p.active_ids.contains(&d.id), &none))
                        }
                        div class="actions" { button type="submit" class="secondary" { (t.account_consents_submit) } }
                    }
                }
            }

            section aria-labelledby="documentos" {
                h2 id="documentos" { (t.account_documents) }
                ul {
                    @for r in p.history {
                        li {
                            (r.document.title(en)) " (" (t.version) " " (r.document.version) "): "
                            (t.accepted_on) " " (ctx.when(&r.accepted_at))
                            @if let Some(rev) = &r.revoked_at { "; " (t.revoked_on) " " (ctx.when(rev)) }
                        }
                    }
                }
            }

            section aria-labelledby="dados" {
                h2 id="dados" { (t.account_data) }
                p { (t.account_data_lead) }
                div class="actions" {
                    a class="button secondary" href="/account/data/html" { (ctx.lang.respondent().data_view) }
                    a class="button secondary" href="/account/data" download="meus-dados.json" { (t.account_data_download) }
                }
            }

            section aria-labelledby="excluir" {
                h2 id="excluir" { (t.account_delete) }
                p { (t.account_delete_lead) }
                form method="post" action="/account/delete" novalidate {
                    (forms::csrf(ctx.csrf()))
                    @if has_password {
                        (forms::input(ctx.lang, &Input { name: "delete_password", label: t.field_password_current, kind: "password", value: "", autocomplete: "current-password", hint: None, required: true, max_chars: None }, errs(Section::Delete)))
                    } @else {
                        (forms::input(ctx.lang, &Input { name: "delete_email", label: t.field_delete_confirm_email, kind: "email", value: "", autocomplete: "off", hint: None, required: true, max_chars: Some(254) }, errs(Section::Delete)))
                    }
                    div class="actions" { button type="submit" class="danger" { (t.account_delete_submit) } }
                }
            }
        },
    )
}

/// For an account without a password: why a change may need a new sign-in, and the
/// button that starts one.
fn sign_in_again(ctx: &Ctx) -> Markup {
    let t = ctx.lang.t();
    html! {
        p { (t.account_recent_sign_in) }
        form method="post" action="/account/sign-in-again" {
            (forms::csrf(ctx.csrf()))
            button type="submit" class="secondary" { (t.account_sign_in_again) }
        }
    }
}

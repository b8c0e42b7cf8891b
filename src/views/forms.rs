//! Form building blocks shared by every page: labelled inputs with their error tied by
//! `aria-describedby`, the error summary that links to each wrong field, the CSRF field.

use maud::{Markup, html};

use super::Ctx;
use crate::accounts::fields::FieldError;
use crate::config::AccountsSettings;
use crate::db::consents::Document;
use crate::i18n::Lang;

/// Errors of one form submission, in the order the fields appear.
#[derive(Debug, Default, Clone)]
pub struct Errors {
    /// (field id, message).
    entries: Vec<(String, String)>,
    /// (field id, what the summary calls the field) where the view names it itself.
    labels: Vec<(String, String)>,
}

impl Errors {
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        if !self.entries.iter().any(|(f, _)| f == field) {
            self.entries.push((field.to_string(), message.into()));
        }
    }

    /// [`Errors::add`], naming the field for the error summary (a question's text).
    pub fn add_labelled(&mut self, field: &str, label: &str, message: impl Into<String>) {
        self.add(field, message);
        if !self.labels.iter().any(|(f, _)| f == field) {
            self.labels.push((field.to_string(), label.to_string()));
        }
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }

    pub fn iter(&self) -> impl Iterator<Item = &(String, String)> {
        self.entries.iter()
    }

    /// What the summary calls `field`: the name given with it, else the form's label.
    fn label(&self, lang: Lang, field: &str) -> Option<String> {
        self.labels
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, l)| l.clone())
            .or_else(|| field_label(lang, field).map(str::to_owned))
    }
}

/// The label of a field of the account forms (sign-up, log-in, "Minha conta", the
/// e-mail code and consent pages), by its name, for the error summary. One table, since
/// the forms share their field names; checkboxes get a short name (their labels are
/// whole sentences).
pub fn field_label(lang: Lang, field: &str) -> Option<&'static str> {
    let t = lang.t();
    let r = lang.respondent();
    Some(match field {
        "nome" => t.field_nome,
        "sobrenome" => t.field_sobrenome,
        "email" => t.field_email,
        "telefone" => t.field_telefone,
        "bairro" => t.field_bairro,
        "password" => t.field_password,
        "password_confirm" => t.field_password_confirm,
        "current_password" | "email_password" | "delete_password" => t.field_password_current,
        "new_email" => t.field_email_new,
        "delete_email" => t.field_delete_confirm_email,
        "code" => t.field_code,
        "adult" => r.summary_adult,
        "accept_terms" => r.summary_accept_terms,
        "accept" => r.summary_accept,
        _ => return None,
    })
}

/// The message after a field's name: "…: responda esta pergunta" (an initial capital
/// stays when the next letter is one too, as in an acronym).
fn lower_first(msg: &str) -> String {
    let mut chars = msg.chars();
    match (chars.next(), chars.next()) {
        (Some(a), Some(b)) if a.is_uppercase() && !b.is_uppercase() => {
            a.to_lowercase().chain(msg.chars().skip(1)).collect()
        }
        _ => msg.to_owned(),
    }
}

/// A long field name cut at a word for the summary ("Quantas pessoas moram no seu…"):
/// the link names the field; the field itself shows it whole.
fn short_label(label: &str) -> String {
    const MAX: usize = 40;
    if label.chars().count() <= MAX {
        return label.trim_end_matches([':', '?', '.']).to_owned();
    }
    let cut: String = label.chars().take(MAX).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(head, _)| head);
    format!("{}…", cut.trim_end_matches([',', ';', ':']))
}

/// The words for a field error.
pub fn message(lang: Lang, e: FieldError) -> String {
    let t = lang.t();
    match e {
        FieldError::Required => t.err_required.into(),
        FieldError::TooLong { max } => t.err_too_long.replace("{n}", &max.to_string()),
        FieldError::TooShort { min } => t.err_too_short.replace("{n}", &min.to_string()),
        FieldError::InvalidEmail => t.err_invalid_email.into(),
        FieldError::InvisibleCharacters => t.err_invisible_chars.into(),
        FieldError::InvalidPhone => t.err_invalid_phone.into(),
        FieldError::UnknownBairro => t.err_unknown_bairro.into(),
        FieldError::PasswordCommon => t.err_password_common.into(),
        FieldError::PasswordMismatch => t.err_password_mismatch.into(),
        FieldError::PasswordWrong => t.err_password_wrong.into(),
        FieldError::MustAccept => t.err_must_accept.into(),
    }
}

pub fn csrf(token: &str) -> Markup {
    html! { input type="hidden" name="csrf_token" value=(token); }
}

fn error_id(name: &str) -> String {
    format!("{name}-erro")
}

fn hint_id(name: &str) -> String {
    format!("{name}-dica")
}

fn described_by(name: &str, hint: bool, error: bool) -> Option<String> {
    let mut ids = Vec::new();
    if hint {
        ids.push(hint_id(name));
    }
    if error {
        ids.push(error_id(name));
    }
    (!ids.is_empty()).then(|| ids.join(" "))
}

/// A labelled text-like input (`text`, `email`, `tel`, `password`).
pub struct Input<'a> {
    pub name: &'a str,
    pub label: &'a str,
    pub kind: &'a str,
    pub value: &'a str,
    pub autocomplete: &'a str,
    pub hint: Option<&'a str>,
    pub required: bool,
    pub max_chars: Option<usize>,
}

pub fn input(lang: Lang, i: &Input<'_>, errors: &Errors) -> Markup {
    let err = errors.get(i.name);
    html! {
        div class={ "field" @if err.is_some() { " invalid" } } {
            label for=(i.name) {
                (i.label)
                @if !i.required { " " span class="hint" { (lang.t().optional) } }
            }
            @if let Some(h) = i.hint { p class="hint" id=(hint_id(i.name)) { (h) } }
            input type=(i.kind) id=(i.name) name=(i.name) value=(i.value)
                autocomplete=(i.autocomplete)
                required[i.required]
                maxlength=[i.max_chars]
                aria-invalid=[err.map(|_| "true")]
                aria-describedby=[described_by(i.name, i.hint.is_some(), err.is_some())];
            @if let Some(m) = err { p class="field-error" id=(error_id(i.name)) { (m) } }
        }
    }
}

/// A labelled select with a placeholder first option.
pub fn select(
    name: &str,
    label: &str,
    placeholder: &str,
    options: &[String],
    selected: &str,
    errors: &Errors,
) -> Markup {
    let err = errors.get(name);
    html! {
        div class={ "field" @if err.is_some() { " invalid" } } {
            label for=(name) { (label) }
            select id=(name) name=(name) required
                aria-invalid=[err.map(|_| "true")]
                aria-describedby=[described_by(name, false, err.is_some())] {
                option value="" { (placeholder) }
                @for o in options {
                    option value=(o) selected[o == selected] { (o) }
                }
            }
            @if let Some(m) = err { p class="field-error" id=(error_id(name)) { (m) } }
        }
    }
}

/// A checkbox with its label beside it.
pub fn checkbox(name: &str, label: &str, checked: bool, errors: &Errors) -> Markup {
    let err = errors.get(name);
    html! {
        div class={ "field" @if err.is_some() { " invalid" } } {
            div class="choice" {
                input type="checkbox" id=(name) name=(name) value="1" checked[checked]
                    aria-invalid=[err.map(|_| "true")]
                    aria-describedby=[described_by(name, false, err.is_some())];
                label for=(name) { (label) }
            }
            @if let Some(m) = err { p class="field-error" id=(error_id(name)) { (m) } }
        }
    }
}

/// The box at the top of a refused form, linking to each wrong field.
pub fn error_summary(lang: Lang, errors: &Errors) -> Markup {
    html! {
        @if !errors.is_empty() {
            div class="error-summary" role="alert" tabindex="-1" id="erros" {
                h2 { (lang.t().form_errors_title) }
                ul {
                    @for (field, msg) in errors.iter() {
                        li { a href={ "#" (field) } {
                            @if let Some(label) = errors.label(lang, field) {
                                (short_label(&label)) ": " (lower_first(msg))
                            } @else {
                                (msg)
                            }
                        } }
                    }
                }
            }
        }
    }
}

/// Paragraphs of a stored document (plain text, blank-line separated), escaped, with
/// `{controlador}` and `{contato}` filled in from the configuration.
pub fn paragraphs(text: &str, who: &AccountsSettings) -> Markup {
    html! {
        @for p in text.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
            p {
                (p.replace("{controlador}", &who.controller)
                    .replace("{contato}", &who.privacy_contact))
            }
        }
    }
}

/// A document as respondents read it before accepting (sign-up, consent, and the admin's
/// preview of a new version): its title and version, then its paragraphs.
pub fn document(ctx: &Ctx, d: &Document, who: &AccountsSettings, open: bool) -> Markup {
    let en = ctx.lang.is_english();
    let t = ctx.lang.t();
    html! {
        details class="document" open[open] {
            summary { strong { (d.title(en)) } " — " (t.version) " " (d.version) }
            div class="document-body" { (paragraphs(d.body(en), who)) }
        }
    }
}

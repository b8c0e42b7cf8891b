//! What the sign-up form (`POST /register`) and the completion of a sign-up through an
//! OpenID Connect provider (`POST /auth/complete`) share: reading the form, the checks of
//! the person's fields (which "Minha conta" applies too), the documents accepted and the
//! new account's row. Each check adds its error by its field, in the order the forms show
//! the fields, so the error summary reads top to bottom.

use chrono::NaiveDateTime;
use salvo::prelude::*;

use super::refusals::checked;
use super::{field, ticked};
use crate::accounts::Role;
use crate::accounts::fields::{FieldError, PersonName, Phone};
use crate::db::consents::Document;
use crate::db::users::NewUser;
use crate::i18n::Lang;
use crate::views::auth::RegisterValues;
use crate::views::forms::{Errors, message};
use crate::web::state::AppState;

/// The sign-up form as typed. `email` is the address a provider vouched for on the
/// completion page, which has no such field; `None` reads the form's own.
pub async fn read_form(
    req: &mut Request,
    documents: &[Document],
    email: Option<String>,
) -> RegisterValues {
    let email = match email {
        Some(e) => e,
        None => field(req, "email").await,
    };
    let mut v = RegisterValues {
        nome: field(req, "nome").await,
        sobrenome: field(req, "sobrenome").await,
        email,
        telefone: field(req, "telefone").await,
        bairro: field(req, "bairro").await,
        accept_terms: ticked(req, "accept_terms").await,
        adult: ticked(req, "adult").await,
        optional: Vec::new(),
    };
    for d in documents.iter().filter(|d| !d.required) {
        if ticked(req, &format!("consent_{}", d.kind)).await {
            v.optional.push(d.kind.clone());
        }
    }
    v
}

/// What a person says about themselves (sign-up, its OpenID Connect completion, "Minha
/// conta"), parsed.
pub struct Person {
    pub nome: PersonName,
    pub sobrenome: PersonName,
    pub telefone: Option<Phone>,
    pub bairro: String,
}

/// The person's fields as a form sends them.
pub struct PersonFields<'a> {
    pub nome: &'a str,
    pub sobrenome: &'a str,
    pub telefone: &'a str,
    pub bairro: &'a str,
}

impl<'a> PersonFields<'a> {
    pub fn of(v: &'a RegisterValues) -> Self {
        PersonFields {
            nome: &v.nome,
            sobrenome: &v.sobrenome,
            telefone: &v.telefone,
            bairro: &v.bairro,
        }
    }
}

impl Person {
    /// The person, or `None` with each refused field's error added.
    pub fn parse(
        app: &AppState,
        lang: Lang,
        f: &PersonFields<'_>,
        errors: &mut Errors,
    ) -> Option<Person> {
        Self::parse_around(app, lang, f, errors, |_| ()).0
    }

    /// [`Person::parse`], with `between` checking what the form shows between the names
    /// and the telephone (the sign-up's address), so its error keeps its place.
    pub fn parse_around<T>(
        app: &AppState,
        lang: Lang,
        f: &PersonFields<'_>,
        errors: &mut Errors,
        between: impl FnOnce(&mut Errors) -> T,
    ) -> (Option<Person>, T) {
        let nome = checked(errors, lang, "nome", PersonName::parse(f.nome));
        let sobrenome = checked(errors, lang, "sobrenome", PersonName::parse(f.sobrenome));
        let between = between(errors);
        let telefone = checked(errors, lang, "telefone", Phone::parse_optional(f.telefone));
        let bairro = checked(errors, lang, "bairro", app.bairros.parse(f.bairro));
        let person = match (nome, sobrenome, telefone, bairro) {
            (Some(nome), Some(sobrenome), Some(telefone), Some(bairro)) => Some(Person {
                nome,
                sobrenome,
                telefone,
                bairro,
            }),
            _ => None,
        };
        (person, between)
    }
}

/// The two ticks every sign-up needs: of age, and the terms accepted.
pub fn check_declarations(lang: Lang, v: &RegisterValues, errors: &mut Errors) {
    for (name, ticked) in [("adult", v.adult), ("accept_terms", v.accept_terms)] {
        if !ticked {
            errors.add(name, message(lang, FieldError::MustAccept));
        }
    }
}

/// The documents the new account accepts: every required one, and the optional ones
/// ticked.
pub fn accepted(documents: &[Document], v: &RegisterValues) -> Vec<i64> {
    documents
        .iter()
        .filter(|d| d.required || v.optional.contains(&d.kind))
        .map(|d| d.id)
        .collect()
}

/// The new respondent's row, declared of age now. `password_hash` is empty for an
/// account without a password, which the password log-in never accepts.
pub fn new_respondent<'a>(
    email: &'a str,
    password_hash: &'a str,
    person: &'a Person,
    now: NaiveDateTime,
) -> NewUser<'a> {
    NewUser {
        email,
        password_hash,
        role: Role::Respondent.as_str(),
        nome: person.nome.as_str(),
        sobrenome: person.sobrenome.as_str(),
        telefone: person.telefone.as_ref().map(Phone::as_str),
        bairro: &person.bairro,
        adult_declared_at: Some(now),
        created_at: now,
        updated_at: now,
    }
}

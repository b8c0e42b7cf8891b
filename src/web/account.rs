//! "Minha conta": the respondent's own profile, password, optional consents, data
//! download (LGPD portability) and account deletion. Every handler acts on the session's
//! user only; no route takes a user id.

use salvo::http::header::{self, HeaderValue};
use salvo::prelude::*;

use crate::db::outbox::{Composed, MailKind, NewMessage};
use crate::i18n::{Lang, Notice};
use serde_json::json;

use super::sign_up::{Person, PersonFields};
use super::{field, form_ctx, limits, refusals, see_other, state, ticked};
use crate::accounts::AuthUser;
use crate::accounts::fields::{Email, FieldError, Phone};
use crate::accounts::hasher::Verified;
use crate::accounts::password::Password;
use crate::db::users::{self, ProfileChange, User};
use crate::db::{DbError, audit, consents};
use crate::views::account::{AccountPage, ProfileValues, Section};
use crate::views::forms::{Errors, message};
use crate::views::my_data;
use crate::views::{self};
use crate::web::error::AppError;
use crate::web::session;

/// What every "Minha conta" handler starts from: the session's user, its account as
/// stored (403 without either), the state and the page's language.
pub(super) struct Own {
    pub auth: AuthUser,
    pub user: User,
    pub app: state::AppState,
    pub lang: Lang,
}

pub(super) async fn own_account(depot: &Depot) -> Result<Own, AppError> {
    let auth = session::user(depot).ok_or(AppError::Forbidden)?;
    let app = state(depot).clone();
    let user = users::find(&app.db, auth.id)
        .await?
        .ok_or(AppError::Forbidden)?;
    let lang = super::lang_of(depot);
    Ok(Own {
        auth,
        user,
        app,
        lang,
    })
}

/// A page of the account's own data: no cache keeps it.
fn private_page(res: &mut Response, page: maud::Markup) {
    res.add_header("cache-control", "no-store", true).ok();
    res.render(views::Html(page));
}

async fn render(
    depot: &mut Depot,
    user: &User,
    values: ProfileValues,
    section: Section,
    errors: Errors,
) -> Result<maud::Markup, AppError> {
    render_page(depot, user, values, section, errors, String::new()).await
}

async fn render_page(
    depot: &mut Depot,
    user: &User,
    values: ProfileValues,
    section: Section,
    errors: Errors,
    new_email: String,
) -> Result<maud::Markup, AppError> {
    let app = state(depot).clone();
    let current = consents::current(&app.db).await?;
    let optional: Vec<_> = current.into_iter().filter(|d| !d.required).collect();
    let active = consents::active_document_ids(&app.db, user.id).await?;
    let history = consents::of_user(&app.db, user.id).await?;
    let c = form_ctx(depot);
    Ok(views::account::render(
        &c,
        &AccountPage {
            user,
            profile: values,
            bairros: app.bairros.all(),
            optional: &optional,
            active_ids: &active,
            history: &history,
            errors,
            section,
            new_email,
        },
    ))
}

/// Whether `given` is the account's password. Wrong ones count with the log-in failures
/// (per client and per account), so a stolen session gets no more guesses than the log-in
/// form; a client that must wait gets 429 before any hashing.
pub(super) async fn password_checks(
    req: &Request,
    app: &state::AppState,
    user: &User,
    given: &Password,
) -> Result<bool, AppError> {
    let who = limits::LoginSubject::account(user);
    let account = Some((user.id, user.password_hash.as_str()));
    let (outcome, _) = limits::checked_password(req, app, who, account, given).await?;
    Ok(matches!(outcome, Verified::Valid { .. }))
}

/// Queue a notice of a change to the account's address (password changed, account deleted,
/// e-mail changed), so its owner hears of a change they did not make.
pub(super) async fn notify(
    app: &state::AppState,
    to: &str,
    kind: MailKind,
    compose: fn(Lang, &str) -> Composed,
    lang: Lang,
) -> Result<(), AppError> {
    let mail = compose(lang, &app.settings.accounts.privacy_contact);
    app.enqueue_mail(&NewMessage::new(kind, to, mail, users::now()))
        .await?;
    Ok(())
}

/// Show the page again with the refused form's errors (422).
async fn refuse(
    depot: &mut Depot,
    res: &mut Response,
    user: &User,
    section: Section,
    errors: Errors,
) -> Result<(), AppError> {
    let page = render(depot, user, ProfileValues::of(user), section, errors).await?;
    refusals::unprocessable(res, page);
    Ok(())
}

/// The page again with the e-mail change form's errors and the typed address (422).
pub(super) async fn refuse_email_change(
    depot: &mut Depot,
    res: &mut Response,
    user: &User,
    new_email: String,
    errors: Errors,
) -> Result<(), AppError> {
    let values = ProfileValues::of(user);
    let page = render_page(depot, user, values, Section::Email, errors, new_email).await?;
    refusals::unprocessable(res, page);
    Ok(())
}

/// An account without a password proves its owner only at sign-in (a code, a link or
/// the identity provider), so a change that would let someone keep the account (a new
/// address, a first password) needs a recent sign-in: a session left open on a shared
/// phone is not enough.
const RECENT_SIGN_IN_SECS: i64 = 15 * 60;

/// Whether `user` may change its address or set a password from this session without
/// typing a password.
pub(super) fn proven_recently(depot: &Depot, user: &User) -> bool {
    user.has_password() || session::signed_in_within(depot, RECENT_SIGN_IN_SECS)
}

/// `POST /account/sign-in-again`: end this session and go to the log-in page, which
/// comes back to the account page.
#[handler]
pub async fn sign_in_again(depot: &mut Depot, res: &mut Response) {
    session::log_out(depot);
    see_other(res, "/login?next=%2Faccount");
}

/// `GET /account`
#[handler]
pub async fn show(depot: &mut Depot, res: &mut Response) -> Result<(), AppError> {
    let Own { user, .. } = own_account(depot).await?;
    let page = render(
        depot,
        &user,
        ProfileValues::of(&user),
        Section::None,
        Errors::default(),
    )
    .await?;
    private_page(res, page);
    Ok(())
}

/// `POST /account/profile`
#[handler]
pub async fn profile(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), AppError> {
    let Own {
        user, app, lang, ..
    } = own_account(depot).await?;
    let v = ProfileValues {
        nome: field(req, "nome").await,
        sobrenome: field(req, "sobrenome").await,
        telefone: field(req, "telefone").await,
        bairro: field(req, "bairro").await,
    };
    let mut errors = Errors::default();
    let fields = PersonFields {
        nome: &v.nome,
        sobrenome: &v.sobrenome,
        telefone: &v.telefone,
        bairro: &v.bairro,
    };
    let Some(person) = Person::parse(&app, lang, &fields, &mut errors) else {
        let page = render(depot, &user, v, Section::Profile, errors).await?;
        refusals::unprocessable(res, page);
        return Ok(());
    };
    users::update_profile(
        &app.db,
        user.id,
        &ProfileChange {
            nome: person.nome.as_str(),
            sobrenome: person.sobrenome.as_str(),
            telefone: person.telefone.as_ref().map(Phone::as_str),
            bairro: &person.bairro,
            updated_at: users::now(),
        },
    )
    .await?;
    app.refresh_fingerprints(user.id).await;
    session::flash(depot, Notice::AccountSaved);
    see_other(res, "/account");
    Ok(())
}

/// `POST /account/password`: asks the current password; ends every other session.
#[handler]
pub async fn password(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), AppError> {
    let Own {
        auth,
        user,
        app,
        lang,
    } = own_account(depot).await?;
    let current = Password::any(&field(req, "current_password").await);
    let new = Password::new_checked(
        &field(req, "password").await,
        &field(req, "password_confirm").await,
    );
    let mut errors = Errors::default();
    // An account without a password sets its first one from a recent sign-in, which
    // proved the address.
    let valid = if user.has_password() {
        password_checks(req, &app, &user, &current).await?
    } else {
        proven_recently(depot, &user)
    };
    if !valid && user.has_password() {
        errors.add("current_password", message(lang, FieldError::PasswordWrong));
    } else if !valid {
        errors.add("password", lang.t().err_sign_in_again);
    }
    let pw_field = refusals::new_password_field(new.as_ref().err());
    let new = refusals::checked(&mut errors, lang, pw_field, new);
    let (true, Some(new)) = (valid, new) else {
        return refuse(depot, res, &user, Section::Password, errors).await;
    };
    let hash = app.hasher.hash(&new).await?;
    users::set_password_hash(&app.db, user.id, &hash).await?;
    audit::record(
        &app.db,
        Some(auth.id),
        "account.password_changed",
        Some(auth.id),
        "",
    )
    .await?;
    notify(
        &app,
        &user.email,
        MailKind::PasswordChangedNotice,
        views::mail::password_changed_notice,
        lang,
    )
    .await?;
    session::end_all_for_user(&app.kv, auth.id, session::own_id(depot).as_deref()).await?;
    // Reset links and sign-in codes sent before the change no longer work.
    crate::db::email_tokens::void(
        &app.db,
        user.id,
        &[
            crate::accounts::email_token::Purpose::Reset,
            crate::accounts::email_token::Purpose::SignIn,
        ],
        users::now(),
    )
    .await?;
    // A fresh id for this session too: whoever knew the old cookie is out.
    session::log_in(depot, auth.id, auth.role, false);
    session::flash(depot, Notice::PasswordChanged);
    see_other(res, "/account");
    Ok(())
}

/// `POST /account/consents`: grant or revoke each optional consent.
#[handler]
pub async fn optional_consents(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), AppError> {
    let Own { auth, app, .. } = own_account(depot).await?;
    let active = consents::active_document_ids(&app.db, auth.id).await?;
    for d in consents::current(&app.db)
        .await?
        .into_iter()
        .filter(|d| !d.required)
    {
        let wanted = ticked(req, &format!("consent_{}", d.kind)).await;
        let has = active.contains(&d.id);
        if wanted && !has {
            // A new grant applies to the current version; older ones are revoked first.
            consents::revoke_kind(&app.db, auth.id, &d.kind).await?;
            consents::accept(&app.db, auth.id, &[d.id]).await?;
        } else if !wanted {
            consents::revoke_kind(&app.db, auth.id, &d.kind).await?;
        }
    }
    session::flash(depot, Notice::ConsentsSaved);
    see_other(res, "/account");
    Ok(())
}

/// `GET /account/data`: everything stored about the user, as a JSON download.
#[handler]
pub async fn data(depot: &mut Depot, res: &mut Response) -> Result<(), AppError> {
    let Own { user, app, .. } = own_account(depot).await?;
    let history = consents::of_user(&app.db, user.id).await?;
    let response = crate::db::responses::for_user(&app.db, user.id).await?;
    let answers = match &response {
        Some(r) => json!({
            "definition_id": r.definition_id,
            "definition_version": r.definition_version,
            "answers": r.answers(),
            "created_at": r.created_at.and_utc().to_rfc3339(),
            "updated_at": r.updated_at.and_utc().to_rfc3339(),
            "submitted_at": r.submitted_at.map(|t| t.and_utc().to_rfc3339()),
        }),
        None => serde_json::Value::Null,
    };
    let body = json!({
        "exported_at": chrono::Utc::now().to_rfc3339(),
        "profile": {
            "email": user.email,
            "nome": user.nome,
            "sobrenome": user.sobrenome,
            "telefone": user.telefone,
            "bairro": user.bairro,
            "role": user.role,
            "adult_declared_at": user.adult_declared_at.map(|t| t.and_utc().to_rfc3339()),
            "created_at": user.created_at.and_utc().to_rfc3339(),
            "updated_at": user.updated_at.and_utc().to_rfc3339(),
            "last_login_at": user.last_login_at.map(|t| t.and_utc().to_rfc3339()),
        },
        "consents": history.iter().map(|r| json!({
            "document": r.document.kind,
            "version": r.document.version,
            "title": r.document.title_pt,
            "accepted_at": r.accepted_at.and_utc().to_rfc3339(),
            "revoked_at": r.revoked_at.map(|t| t.and_utc().to_rfc3339()),
        })).collect::<Vec<_>>(),
        "questionnaire": answers,
    });
    let headers = res.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"meus-dados.json\""),
    );
    res.render(Json(body));
    Ok(())
}

/// `GET /account/data/html`: the same data as [`data`] on a page to read or print, the
/// answers in words. Only the session's own account: the route takes no id.
#[handler]
pub async fn data_page(depot: &mut Depot, res: &mut Response) -> Result<(), AppError> {
    let Own { user, app, .. } = own_account(depot).await?;
    let history = consents::of_user(&app.db, user.id).await?;
    let row = crate::db::responses::for_user(&app.db, user.id).await?;
    let answers = row
        .as_ref()
        .map(crate::db::responses::Response::answers)
        .unwrap_or_default();
    let flow = crate::survey::flow::Flow::new(&app.survey, &answers);
    let shown_pages = flow.shown_pages();
    let hidden: Vec<&str> = app
        .survey
        .questions()
        .filter(|q| !flow.shows(q))
        .map(|q| q.key.as_str())
        .collect();
    let questionnaire = row.as_ref().map(|r| my_data::Questionnaire {
        answers: &answers,
        created_at: &r.created_at,
        updated_at: &r.updated_at,
        submitted_at: r.submitted_at.as_ref(),
        screened_out: r.screened_out.is_some(),
        shown_pages: &shown_pages,
        hidden: &hidden,
    });
    let c = super::page_ctx(depot);
    let page = my_data::render(
        &c,
        &my_data::MyData {
            user: &user,
            history: &history,
            def: &app.survey,
            salario_minimo: app.settings.survey.salario_minimo,
            questionnaire,
            now: users::now(),
        },
    );
    private_page(res, page);
    Ok(())
}

/// `POST /account/delete`: asks the password; removes the account and its records in
/// one transaction, writes an audit entry, ends every session.
#[handler]
pub async fn delete(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), AppError> {
    let Own {
        auth,
        user,
        app,
        lang,
    } = own_account(depot).await?;
    if user.has_password() {
        let given = Password::any(&field(req, "delete_password").await);
        if !password_checks(req, &app, &user, &given).await? {
            let mut errors = Errors::default();
            errors.add("delete_password", message(lang, FieldError::PasswordWrong));
            return refuse(depot, res, &user, Section::Delete, errors).await;
        }
    } else {
        // Without a password, typing the account's address confirms the intent.
        let typed = Email::parse(&field(req, "delete_email").await);
        if !typed.is_ok_and(|e| e.as_str() == user.email) {
            let mut errors = Errors::default();
            errors.add("delete_email", lang.t().err_email_mismatch);
            return refuse(depot, res, &user, Section::Delete, errors).await;
        }
    }
    users::delete(
        &app.db,
        auth.id,
        Some(auth.id),
        "account.deleted_by_self",
        app.settings.accounts.on_delete,
    )
    .await
    .map_err(|e: DbError| AppError::from(e))?;
    notify(
        &app,
        &user.email,
        MailKind::AccountDeletedNotice,
        views::mail::account_deleted_notice,
        lang,
    )
    .await?;
    session::end_all_for_user(&app.kv, auth.id, None).await?;
    session::log_out(depot);
    session::flash(depot, Notice::AccountDeleted);
    tracing::info!(user_id = auth.id, "account deleted by its owner");
    see_other(res, "/");
    Ok(())
}

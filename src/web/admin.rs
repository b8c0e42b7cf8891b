//! The admin area (admin role only): respondents, consent documents, audit log. Every
//! action that reads or changes a person's data is written to the audit log.

use salvo::prelude::*;

use crate::i18n::Notice;

use super::{field, form_ctx, page_ctx, refusals, see_other, state};
use crate::accounts::fields::FieldError;
use crate::db::consents::{self, DocumentText};
use crate::db::{audit, users};
use crate::views::admin::{PublishValues, UserList};
use crate::views::forms::{Errors, message};
use crate::views::{self};
use crate::web::error::AppError;
use crate::web::session;

pub use crate::views::admin::urlencode;

const PER_PAGE: i64 = 25;

fn actor(depot: &Depot) -> Result<i64, AppError> {
    session::user(depot)
        .map(|u| u.id)
        .ok_or(AppError::Forbidden)
}

/// Days shown in the dashboard's per-day table.
const DASHBOARD_DAYS: u32 = 14;

/// `GET /admin`: the dashboard, where admins land after logging in.
#[handler]
pub async fn index(depot: &mut Depot, res: &mut Response) -> Result<(), AppError> {
    let app = state(depot).clone();
    let zone = page_ctx(depot).zone;
    let today = zone.local(users::now()).date();
    let progress =
        crate::db::progress::snapshot(&app.db, today, DASHBOARD_DAYS, |at| zone.local(at).date())
            .await?;
    let bairros = views::dashboard::with_every_bairro(app.bairros.all(), &progress.by_bairro);
    res.render(views::Html(views::dashboard::render(
        &page_ctx(depot),
        &progress,
        &bairros,
        app.settings.require_verified_email(),
    )));
    Ok(())
}

/// `GET /admin/users?q=&page=` (audited: it lists personal data).
#[handler]
pub async fn list_users(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), AppError> {
    let app = state(depot).clone();
    let query: String = req
        .query::<String>("q")
        .unwrap_or_default()
        .chars()
        .take(100)
        .collect();
    let page = req.query::<i64>("page").unwrap_or(1).clamp(1, 1_000_000);
    let (rows, total) = users::search(&app.db, &query, page, PER_PAGE).await?;
    // The list shows e-mails and names: who looked is recorded, not what they searched
    // for (the search text may be part of someone's e-mail).
    let detail = format!(
        "page {page}, {} shown, {}",
        rows.len(),
        if query.is_empty() {
            "no search"
        } else {
            "searched"
        }
    );
    audit::record(
        &app.db,
        Some(actor(depot)?),
        "admin.users_listed",
        None,
        &detail,
    )
    .await?;
    let pages = ((total + PER_PAGE - 1) / PER_PAGE).max(1);
    let c = page_ctx(depot);
    res.render(views::Html(views::admin::users(
        &c,
        &UserList {
            query: &query,
            page,
            pages,
            total,
            users: &rows,
        },
    )));
    Ok(())
}

fn user_id(req: &Request) -> Result<i64, AppError> {
    req.param::<i64>("id").ok_or(AppError::NotFound)
}

/// `GET /admin/users/{id}` (audited: it shows personal data).
#[handler]
pub async fn show_user(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), AppError> {
    let app = state(depot).clone();
    let id = user_id(req)?;
    let user = users::find(&app.db, id).await?.ok_or(AppError::NotFound)?;
    let history = consents::of_user(&app.db, id).await?;
    audit::record(
        &app.db,
        Some(actor(depot)?),
        "admin.user_viewed",
        Some(id),
        "",
    )
    .await?;
    let c = form_ctx(depot);
    res.render(views::Html(views::admin::user(&c, &user, &history)));
    Ok(())
}

/// `POST /admin/users/{id}/delete`
#[handler]
pub async fn delete_user(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), AppError> {
    let app = state(depot).clone();
    let id = user_id(req)?;
    let by = actor(depot)?;
    if !users::delete(
        &app.db,
        id,
        Some(by),
        "admin.user_deleted",
        app.settings.accounts.on_delete,
    )
    .await?
    {
        return Err(AppError::NotFound);
    }
    session::end_all_for_user(&app.kv, id, None).await?;
    tracing::info!(user_id = id, admin_id = by, "account deleted by an admin");
    session::flash(depot, Notice::UserDeleted);
    see_other(res, "/admin/users");
    Ok(())
}

async fn documents_page(
    depot: &mut Depot,
    v: &PublishValues,
    errors: &Errors,
) -> Result<maud::Markup, AppError> {
    let app = state(depot).clone();
    let current = consents::current(&app.db).await?;
    let c = form_ctx(depot);
    Ok(views::admin::documents(&c, &current, v, errors))
}

/// `GET /admin/documents`
#[handler]
pub async fn documents(depot: &mut Depot, res: &mut Response) -> Result<(), AppError> {
    let page = documents_page(depot, &PublishValues::default(), &Errors::default()).await?;
    res.render(views::Html(page));
    Ok(())
}

/// `POST /admin/documents`: publish a new version of an existing document kind.
#[handler]
pub async fn publish(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), AppError> {
    let app = state(depot).clone();
    let lang = super::lang_of(depot);
    let by = actor(depot)?;
    let v = PublishValues {
        kind: field(req, "kind").await,
        title_pt: field(req, "title_pt").await.trim().to_string(),
        title_en: field(req, "title_en").await.trim().to_string(),
        body_pt: field(req, "body_pt")
            .await
            .replace("\r\n", "\n")
            .trim()
            .to_string(),
        body_en: field(req, "body_en")
            .await
            .replace("\r\n", "\n")
            .trim()
            .to_string(),
    };
    let current = consents::current(&app.db).await?;
    let existing = current.iter().find(|d| d.kind == v.kind);
    let mut errors = Errors::default();
    if existing.is_none() {
        errors.add("kind", message(lang, FieldError::Required));
    }
    for (name, value, max) in [
        ("title_pt", &v.title_pt, 200),
        ("title_en", &v.title_en, 200),
        ("body_pt", &v.body_pt, 20_000),
        ("body_en", &v.body_en, 20_000),
    ] {
        if value.is_empty() {
            errors.add(name, message(lang, FieldError::Required));
        } else if value.chars().count() > max {
            errors.add(name, message(lang, FieldError::TooLong { max }));
        }
    }
    let Some(existing) = existing.filter(|_| errors.is_empty()) else {
        let page = documents_page(depot, &v, &errors).await?;
        refusals::unprocessable(res, page);
        return Ok(());
    };
    let doc = consents::publish(
        &app.db,
        &DocumentText {
            kind: v.kind.clone(),
            required: existing.required,
            title_pt: v.title_pt,
            title_en: v.title_en,
            body_pt: v.body_pt,
            body_en: v.body_en,
        },
        Some(by),
    )
    .await?;
    audit::record(
        &app.db,
        Some(by),
        "admin.document_published",
        Some(doc.id),
        &format!("{} v{}", doc.kind, doc.version),
    )
    .await?;
    session::flash(depot, Notice::Published);
    see_other(res, "/admin/documents");
    Ok(())
}

/// `GET /admin/audit`: the newest 200 entries.
#[handler]
pub async fn audit_log(depot: &mut Depot, res: &mut Response) -> Result<(), AppError> {
    let app = state(depot).clone();
    let entries = audit::recent(&app.db, 200).await?;
    let c = page_ctx(depot);
    res.render(views::Html(views::admin::audit(&c, &entries)));
    Ok(())
}

/// `GET /admin/mail`: what the mail worker did, failed sends first. Addresses are masked.
#[handler]
pub async fn mail_status(depot: &mut Depot, res: &mut Response) -> Result<(), AppError> {
    let app = state(depot).clone();
    let counts = crate::db::outbox::counts(&app.db).await?;
    let troubled = crate::db::outbox::troubled(&app.db, 100).await?;
    let settings = &app.settings.mail;
    let status = crate::views::admin::MailStatus {
        smtp: settings
            .host
            .as_ref()
            .map(|h| format!("{h}:{}", settings.port)),
        folder: settings.host.is_none().then(|| {
            settings
                .eml_dir(&app.settings.database)
                .display()
                .to_string()
        }),
        counts,
        troubled: &troubled,
    };
    let c = form_ctx(depot);
    res.render(views::Html(views::admin::mail(&c, &status)));
    Ok(())
}

/// `POST /admin/mail/{id}/retry`: put a failed message back in the queue (audited).
#[handler]
pub async fn retry_mail(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), AppError> {
    let app = state(depot).clone();
    let id = req.param::<i64>("id").ok_or(AppError::NotFound)?;
    let by = actor(depot)?;
    if !crate::db::outbox::retry_failed(&app.db, id, users::now()).await? {
        return Err(AppError::NotFound);
    }
    audit::record(&app.db, Some(by), "admin.mail_retried", Some(id), "").await?;
    tracing::info!(
        outbox_id = id,
        admin_id = by,
        "failed mail put back in the queue"
    );
    app.mail_queued();
    session::flash(depot, Notice::MailRetried);
    see_other(res, "/admin/mail");
    Ok(())
}

//! The admin area (admin role only): respondents (filtered list, detail, deletion after a
//! confirmation with a reason), consent documents (preview, publish), the audit log and
//! its CSV. Every action that reads or changes a person's data is written to the audit
//! log.

use salvo::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use salvo::prelude::*;

use crate::i18n::Notice;

use super::{field, form_ctx, page_ctx, refusals, see_other, state, ticked, zone_of};
use crate::accounts::Role;
use crate::accounts::documents::{TitleProblem, check_title};
use crate::accounts::fields::FieldError;
use crate::db::audit::{ActorFilter, AuditFilter, AuditRow};
use crate::db::consents::{self, Document, DocumentName, DocumentText};
use crate::db::respondents::{self, ListFilter, ResponseStatus};
use crate::db::{audit, erasure, responses, users};
use crate::export::CsvProfile;
use crate::export::sink::{csv_writer, defuse};
use crate::views::admin::{
    AuditPage, AuditQuery, DeleteValues, DeletionPreview, DocumentsPage, PublishValues, REASON_MAX,
    REASON_MIN, UserList,
};
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
    let params = app.settings.quality.params().map_err(anyhow::Error::from)?;
    let quality = app.quality_cache.get(&app.db, &app.survey, &params).await?;
    let quotas = crate::db::quotas::fill(&app.db, &app.quotas).await?;
    res.render(views::Html(views::dashboard::render(
        &page_ctx(depot),
        &progress,
        &bairros,
        app.settings.require_verified_email(),
        &quality.flow,
        &quotas,
    )));
    Ok(())
}

/// A query parameter as text, at most `max` characters ("" when absent).
fn query_text(req: &Request, name: &str, max: usize) -> String {
    req.query::<String>(name)
        .unwrap_or_default()
        .trim()
        .chars()
        .take(max)
        .collect()
}

/// The requested page number (1 when absent or not a number).
fn page_number(req: &Request) -> i64 {
    req.query::<i64>("page").unwrap_or(1).clamp(1, 1_000_000)
}

fn page_count(total: i64, per_page: i64) -> i64 {
    ((total + per_page - 1) / per_page).max(1)
}

/// `GET /admin/users?q=&role=&bairro=&status=&page=` (audited: it lists personal data).
/// A filter value that is not one of the choices is ignored, as if left at "Todos".
#[handler]
pub async fn list_users(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), AppError> {
    let app = state(depot).clone();
    let filter = ListFilter {
        query: query_text(req, "q", 100),
        role: Role::parse(&query_text(req, "role", 20)),
        bairro: Some(query_text(req, "bairro", 100)).filter(|b| !b.is_empty()),
        status: ResponseStatus::parse(&query_text(req, "status", 20)),
    };
    let page = page_number(req);
    let (rows, total) = respondents::search(&app.db, &filter, page, PER_PAGE).await?;
    let mut bairros = app.bairros.all().to_vec();
    for b in respondents::stored_bairros(&app.db).await? {
        if !bairros.contains(&b) {
            bairros.push(b);
        }
    }
    // The list shows e-mails and names: who looked is recorded, not what they searched
    // for (the search text may be part of someone's e-mail).
    let filtered = filter.role.is_some() || filter.bairro.is_some() || filter.status.is_some();
    let detail = format!(
        "page {page}, {} shown, {}, {}",
        rows.len(),
        if filter.query.is_empty() {
            "no search"
        } else {
            "searched"
        },
        if filtered { "filtered" } else { "no filter" }
    );
    audit::record(
        &app.db,
        Some(actor(depot)?),
        "admin.users_listed",
        None,
        &detail,
    )
    .await?;
    let c = page_ctx(depot);
    res.render(views::Html(views::admin::users(
        &c,
        &UserList {
            filter: &filter,
            page,
            pages: page_count(total, PER_PAGE),
            total,
            users: &rows,
            bairros: &bairros,
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
    let response = responses::for_user(&app.db, id).await?;
    audit::record(
        &app.db,
        Some(actor(depot)?),
        "admin.user_viewed",
        Some(id),
        "",
    )
    .await?;
    let c = page_ctx(depot);
    res.render(views::Html(views::admin::user(
        &c,
        &user,
        response.as_ref(),
        &history,
    )));
    Ok(())
}

/// The deletion page of account `id` (404 when it does not exist).
async fn deletion_page(
    depot: &mut Depot,
    id: i64,
    v: &DeleteValues,
    errors: &Errors,
) -> Result<maud::Markup, AppError> {
    let app = state(depot).clone();
    let by = actor(depot)?;
    let user = users::find(&app.db, id).await?.ok_or(AppError::NotFound)?;
    let erasure = erasure::preview(&app.db, &user).await?;
    let sessions = session::count_for_user(&app.kv, id).await?;
    let c = form_ctx(depot);
    Ok(views::admin::delete_confirm(
        &c,
        &DeletionPreview {
            user: &user,
            erasure: &erasure,
            sessions,
            on_delete: app.settings.accounts.on_delete,
            is_self: id == by,
        },
        v,
        errors,
    ))
}

/// `GET /admin/users/{id}/delete`: what deleting the account erases, and the form that
/// asks for a reason and a confirmation (audited as a view: it shows the address).
#[handler]
pub async fn delete_form(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), AppError> {
    let id = user_id(req)?;
    let page = deletion_page(depot, id, &DeleteValues::default(), &Errors::default()).await?;
    let app = state(depot).clone();
    audit::record(
        &app.db,
        Some(actor(depot)?),
        "admin.user_viewed",
        Some(id),
        "deletion page",
    )
    .await?;
    res.render(views::Html(page));
    Ok(())
}

/// `POST /admin/users/{id}/delete`: with the box ticked and a reason, erase the account
/// (the reason goes into the audit entry); otherwise nothing changes and the form says
/// why. An admin's own account is refused (403): another admin must do it.
#[handler]
pub async fn delete_user(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), AppError> {
    let app = state(depot).clone();
    let lang = super::lang_of(depot);
    let id = user_id(req)?;
    let by = actor(depot)?;
    let v = DeleteValues {
        reason: field(req, "reason")
            .await
            .replace("\r\n", "\n")
            .trim()
            .to_string(),
        confirm: ticked(req, "confirm").await,
    };
    if id == by {
        let page = deletion_page(depot, id, &v, &Errors::default()).await?;
        refusals::mark(depot, "admin deleting own account");
        res.status_code(StatusCode::FORBIDDEN);
        res.render(views::Html(page));
        return Ok(());
    }
    let mut errors = Errors::default();
    let length = v.reason.chars().count();
    if v.reason.is_empty() {
        errors.add("reason", message(lang, FieldError::Required));
    } else if length < REASON_MIN {
        errors.add(
            "reason",
            message(lang, FieldError::TooShort { min: REASON_MIN }),
        );
    } else if length > REASON_MAX {
        errors.add(
            "reason",
            message(lang, FieldError::TooLong { max: REASON_MAX }),
        );
    }
    if !v.confirm {
        errors.add("confirm", lang.staff().delete_confirm_error);
    }
    if !errors.is_empty() {
        let page = deletion_page(depot, id, &v, &errors).await?;
        refusals::unprocessable(res, page);
        return Ok(());
    }
    if !users::delete_noting(
        &app.db,
        id,
        Some(by),
        "admin.user_deleted",
        &v.reason,
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

/// The documents page: the versions in force, the kind chooser and, once a kind is
/// chosen, the form (and the preview when one was asked for).
async fn documents_page(
    depot: &mut Depot,
    v: &PublishValues,
    errors: &Errors,
    preview: bool,
) -> Result<maud::Markup, AppError> {
    let app = state(depot).clone();
    let current = consents::current(&app.db).await?;
    let names = consents::names(&app.db).await?;
    let base = current.iter().find(|d| d.kind == v.kind);
    // The new version as it would be stored: the next number, the texts as typed.
    let next = base.filter(|_| preview).map(|d| Document {
        version: d.version + 1,
        title_pt: v.title_pt.clone(),
        title_en: v.title_en.clone(),
        body_pt: v.body_pt.clone(),
        body_en: v.body_en.clone(),
        published_at: users::now(),
        ..d.clone()
    });
    let c = form_ctx(depot);
    Ok(views::admin::documents(
        &c,
        &DocumentsPage {
            current: &current,
            names: &names,
            base,
            preview: next.as_ref(),
            who: &app.settings.accounts,
        },
        v,
        errors,
    ))
}

/// `GET /admin/documents?kind=`: with a kind, the form starts from its version in force.
#[handler]
pub async fn documents(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), AppError> {
    let app = state(depot).clone();
    let kind = query_text(req, "kind", 64);
    let current = consents::current(&app.db).await?;
    let mut errors = Errors::default();
    let v = match current.iter().find(|d| d.kind == kind) {
        Some(d) => PublishValues {
            kind: d.kind.clone(),
            title_pt: d.title_pt.clone(),
            title_en: d.title_en.clone(),
            body_pt: d.body_pt.clone(),
            body_en: d.body_en.clone(),
        },
        None => {
            if !kind.is_empty() {
                errors.add("kind", super::lang_of(depot).staff().doc_unknown_kind);
            }
            PublishValues::default()
        }
    };
    let page = documents_page(depot, &v, &errors, false).await?;
    refusals::form_page(res, page, &errors);
    Ok(())
}

/// The errors of a title for `kind`: it must contain the kind's name and no other's.
fn title_errors(
    lang: crate::i18n::Lang,
    errors: &mut Errors,
    names: &[DocumentName],
    v: &PublishValues,
) {
    let Some(own) = names.iter().find(|n| n.kind == v.kind) else {
        return;
    };
    let others: Vec<&DocumentName> = names.iter().filter(|n| n.kind != v.kind).collect();
    let s = lang.staff();
    for (field_name, title, own_name, other_names) in [
        (
            "title_pt",
            &v.title_pt,
            &own.title_pt,
            others
                .iter()
                .map(|n| n.title_pt.as_str())
                .collect::<Vec<_>>(),
        ),
        (
            "title_en",
            &v.title_en,
            &own.title_en,
            others
                .iter()
                .map(|n| n.title_en.as_str())
                .collect::<Vec<_>>(),
        ),
    ] {
        if errors.get(field_name).is_some() {
            continue;
        }
        match check_title(title, own_name, &other_names) {
            Ok(()) => {}
            Err(TitleProblem::MissingName) => {
                errors.add(field_name, s.doc_title_missing.replace("{nome}", own_name))
            }
            Err(TitleProblem::NamesOther(other)) => {
                errors.add(field_name, s.doc_title_other.replace("{nome}", &other))
            }
        }
    }
}

/// `POST /admin/documents`: publish a new version of an existing document kind, or
/// (`acao=preview`) show it as respondents would see it without publishing.
#[handler]
pub async fn publish(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), AppError> {
    let app = state(depot).clone();
    let lang = super::lang_of(depot);
    let by = actor(depot)?;
    let preview = field(req, "acao").await == "preview";
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
    let names = consents::names(&app.db).await?;
    let existing = current.iter().find(|d| d.kind == v.kind);
    let mut errors = Errors::default();
    if existing.is_none() {
        errors.add("kind", lang.staff().doc_unknown_kind);
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
    title_errors(lang, &mut errors, &names, &v);
    let Some(existing) = existing.filter(|_| errors.is_empty()) else {
        let page = documents_page(depot, &v, &errors, false).await?;
        refusals::unprocessable(res, page);
        return Ok(());
    };
    if preview {
        let page = documents_page(depot, &v, &errors, true).await?;
        res.render(views::Html(page));
        return Ok(());
    }
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

/// Entries per page of the audit log.
const AUDIT_PER_PAGE: i64 = 50;
/// Most entries one CSV download holds (the newest ones of the filter).
const AUDIT_CSV_MAX: i64 = 100_000;

/// The audit filters of the request, as typed and as a query; date errors are reported
/// by their field.
fn audit_filter(
    req: &Request,
    lang: crate::i18n::Lang,
    zone: crate::locale::Zone,
) -> (AuditQuery, AuditFilter, Errors) {
    let q = AuditQuery {
        action: query_text(req, "action", 64),
        actor: query_text(req, "actor", 100),
        from: query_text(req, "from", 20),
        to: query_text(req, "to", 20),
    };
    let s = lang.staff();
    let mut errors = Errors::default();
    let mut date = |name: &str, text: &str| {
        if text.is_empty() {
            return None;
        }
        let parsed = crate::locale::parse_date(text);
        if parsed.is_none() {
            errors.add(name, s.audit_bad_date);
        }
        parsed
    };
    let from = date("from", &q.from);
    let to = date("to", &q.to);
    if let (Some(f), Some(t)) = (from, to)
        && t < f
    {
        errors.add("to", s.audit_to_before_from);
    }
    let actor = if q.actor.is_empty() {
        None
    } else {
        match q.actor.trim_start_matches('#').parse::<i64>() {
            Ok(id) => Some(ActorFilter::Id(id)),
            Err(_) => Some(ActorFilter::EmailContains(q.actor.clone())),
        }
    };
    // Days of the study's zone: from its first instant to the first instant after `to`.
    let filter = AuditFilter {
        action: Some(q.action.clone()).filter(|a| !a.is_empty()),
        actor,
        since: from.map(|d| zone.local_to_utc(d.and_time(chrono::NaiveTime::MIN))),
        before: to
            .and_then(|d| d.succ_opt())
            .map(|d| zone.local_to_utc(d.and_time(chrono::NaiveTime::MIN))),
    };
    (q, filter, errors)
}

/// `GET /admin/audit?action=&actor=&from=&to=&page=`: the log, newest first, 50 a page.
#[handler]
pub async fn audit_log(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), AppError> {
    let app = state(depot).clone();
    let lang = super::lang_of(depot);
    let (q, filter, errors) = audit_filter(req, lang, zone_of(depot));
    let page = page_number(req);
    let (rows, total) = if errors.is_empty() {
        audit::search(&app.db, &filter, page, AUDIT_PER_PAGE).await?
    } else {
        (Vec::new(), 0)
    };
    let c = page_ctx(depot);
    let html = views::admin::audit(
        &c,
        &AuditPage {
            query: &q,
            rows: &rows,
            page,
            pages: page_count(total, AUDIT_PER_PAGE),
            total,
        },
        &errors,
    );
    refusals::form_page(res, html, &errors);
    Ok(())
}

/// The audit rows as CSV (RFC 4180): times in the study's zone, every text cell defused
/// so that a spreadsheet never runs it as a formula.
fn audit_csv_bytes(
    lang: crate::i18n::Lang,
    zone: crate::locale::Zone,
    rows: &[AuditRow],
) -> anyhow::Result<Vec<u8>> {
    let s = lang.staff();
    let mut w = csv_writer(CsvProfile::Rfc4180, Vec::new())?;
    let mut header: Vec<String> = s.audit_csv_header.iter().map(|h| h.to_string()).collect();
    header[0] = format!("{} ({})", header[0], zone.name());
    w.write_record(&header)?;
    for r in rows {
        let e = &r.entry;
        w.write_record([
            zone.local(e.at).format("%Y-%m-%d %H:%M:%S").to_string(),
            defuse(&e.action),
            defuse(&views::admin::action_name(lang, &e.action)),
            e.actor_id.map(|id| id.to_string()).unwrap_or_default(),
            defuse(&views::admin::actor_name(lang, r)),
            e.subject_id.map(|id| id.to_string()).unwrap_or_default(),
            defuse(&e.detail),
        ])?;
    }
    w.into_inner()
        .map_err(|e| anyhow::anyhow!("csv: {}", e.error()))
}

/// `GET /admin/audit/auditoria.csv?` with the page's filters: the matching entries
/// (newest 100 000 at most) as a file. The download itself is audited.
#[handler]
pub async fn audit_csv(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), AppError> {
    let app = state(depot).clone();
    let lang = super::lang_of(depot);
    let zone = zone_of(depot);
    let (q, filter, errors) = audit_filter(req, lang, zone);
    if !errors.is_empty() {
        let c = page_ctx(depot);
        let html = views::admin::audit(
            &c,
            &AuditPage {
                query: &q,
                rows: &[],
                page: 1,
                pages: 1,
                total: 0,
            },
            &errors,
        );
        refusals::unprocessable(res, html);
        return Ok(());
    }
    let rows = audit::matching(&app.db, &filter, AUDIT_CSV_MAX).await?;
    let filtered = filter != AuditFilter::default();
    audit::record(
        &app.db,
        Some(actor(depot)?),
        "admin.audit_exported",
        None,
        &format!(
            "{} rows, {}",
            rows.len(),
            if filtered { "filtered" } else { "no filter" }
        ),
    )
    .await?;
    let bytes = audit_csv_bytes(lang, zone, &rows)?;
    let name = format!(
        "attachment; filename=\"auditoria-{}.csv\"",
        chrono::Utc::now().format("%Y%m%d-%H%M")
    );
    let headers = res.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        "text/csv; charset=utf-8"
            .parse()
            .map_err(anyhow::Error::from)?,
    );
    headers.insert(
        CONTENT_DISPOSITION,
        name.parse().map_err(anyhow::Error::from)?,
    );
    headers.insert(
        CACHE_CONTROL,
        "no-store".parse().map_err(anyhow::Error::from)?,
    );
    res.write_body(bytes).map_err(anyhow::Error::from)?;
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

//! `/admin/results`: the analysts' dashboard (analyst and admin roles). The page shows
//! the report of [`crate::report`], built by the same code as `pesquisa report`, for
//! the filters and households chosen in its GET form ([`crate::report::query`]), and
//! links to downloads with the same filters: the report as one HTML file, the responses
//! as XLSX and as CSV in both profiles, streamed from the database with pseudonymous ids,
//! and the labelled files for SPSS, Stata and R as one zip each; every download audited
//! (`export.html`, `export.xlsx`, `export.csv`, `export.spss`, `export.stata`,
//! `export.r`) naming its filters.
//!
//! A report reads every response, so each choice of filters is computed at most once a
//! minute per instance and shared ([`crate::report::cache`]).

use std::sync::Arc;

use salvo::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use salvo::prelude::*;

use super::{page_ctx, state};
use crate::db::audit;
use crate::export::download::{self, Ended};
use crate::export::{self, CsvProfile, ExportOptions, Format};
use crate::report::query::{self, QueryError, RawQuery, ResultsQuery, field};
use crate::report::{self, Report};
use crate::views;
use crate::web::error::AppError;
use crate::web::session;
use crate::web::state::AppState;

/// Bytes sent to the client per chunk of a streamed download.
const CHUNK: usize = 64 * 1024;

/// The report for `q` (the configured households unless the analyst gave some).
async fn report_for(app: &AppState, q: &ResultsQuery) -> Result<Arc<Report>, AppError> {
    app.report_cache
        .get_or_build(&q.describe(), async || {
            let mut params = report::params_from_settings(&app.settings.report)?;
            params.filters = q.filters.clone();
            params.filters.verified_only = app.settings.require_verified_email();
            params.zone = app.settings.survey.zone();
            if q.households.is_some() {
                params.households = q.households.clone();
            }
            params.weighting = app.settings.weighting.plan().map_err(anyhow::Error::from)?;
            params.quality = app.settings.quality.params().map_err(anyhow::Error::from)?;
            params.cceb = Some(
                app.settings
                    .survey
                    .load_cceb_table()
                    .map_err(anyhow::Error::from)?,
            );
            Ok::<_, AppError>(
                report::build(
                    &app.db,
                    &app.survey,
                    &params,
                    app.settings.survey.salario_minimo,
                )
                .await?,
            )
        })
        .await
}

/// The form's fields as typed.
fn raw_query(req: &Request) -> RawQuery {
    let text = |name: &str| req.query::<String>(name).unwrap_or_default();
    RawQuery {
        from: text(field::FROM),
        to: text(field::TO),
        bairro: text(field::BAIRRO),
        complete_only: req.query::<String>(field::COMPLETE_ONLY).is_some(),
        exclude_flagged: req.query::<String>(field::EXCLUDE_FLAGGED).is_some(),
        households: text(field::HOUSEHOLDS),
        households_per_bairro: text(field::HOUSEHOLDS_PER_BAIRRO),
    }
}

/// The request's choice of filters, parsed.
type Choice = (
    RawQuery,
    Result<ResultsQuery, Vec<(&'static str, QueryError)>>,
);

fn choice(req: &Request, app: &AppState) -> Choice {
    let raw = raw_query(req);
    let parsed = query::parse(&raw, app.bairros.all(), app.settings.survey.zone());
    (raw, parsed)
}

fn no_store(res: &mut Response) -> Result<(), AppError> {
    res.headers_mut().insert(
        CACHE_CONTROL,
        "no-store".parse().map_err(anyhow::Error::from)?,
    );
    Ok(())
}

/// The page for a choice: the filtered report, or, when a field is wrong, the errors
/// by their fields over the unfiltered report (422; nothing is downloaded).
async fn render_page(
    choice: Choice,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), AppError> {
    let app = state(depot).clone();
    let (raw, parsed) = choice;
    let (report, applied, errors) = match parsed {
        Ok(q) => (report_for(&app, &q).await?, Some(q), Vec::new()),
        Err(errors) => (
            report_for(&app, &ResultsQuery::default()).await?,
            None,
            errors,
        ),
    };
    let query = if applied.is_some() {
        query::to_query_string(&raw)
    } else {
        String::new()
    };
    let c = page_ctx(depot);
    let form = views::results::FilterForm {
        raw: &raw,
        applied: applied.as_ref(),
        errors: &errors,
        bairros: app.bairros.all(),
        query: &query,
    };
    no_store(res)?;
    if !errors.is_empty() {
        res.status_code(StatusCode::UNPROCESSABLE_ENTITY);
    }
    let quotas = crate::db::quotas::fill(&app.db, &app.quotas).await?;
    res.render(views::Html(views::results::page(
        &c, &report, &form, &quotas,
    )));
    Ok(())
}

/// `GET /admin/results?de=&ate=&bairro=&completos=&domicilios=&domicilios_bairro=`
#[handler]
pub async fn page(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), AppError> {
    let choice = choice(req, state(depot));
    render_page(choice, depot, res).await
}

/// `Content-Disposition` of a download named `respostas-20261130-2105-{suffix}`.
fn attachment(stem: &str, suffix: &str) -> String {
    format!(
        "attachment; filename=\"{stem}-{}{suffix}\"",
        chrono::Utc::now().format("%Y%m%d-%H%M")
    )
}

fn download_headers(
    res: &mut Response,
    content_type: &str,
    disposition: &str,
) -> Result<(), AppError> {
    let headers = res.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        content_type.parse().map_err(anyhow::Error::from)?,
    );
    headers.insert(
        CONTENT_DISPOSITION,
        disposition.parse().map_err(anyhow::Error::from)?,
    );
    no_store(res)
}

/// `GET /admin/results/relatorio.html?…`: the report as `pesquisa report --format html`
/// writes it, for the page's filters (audited as `export.html`).
#[handler]
pub async fn html(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), AppError> {
    let app = state(depot).clone();
    let (raw, parsed) = choice(req, &app);
    let q = match parsed {
        Ok(q) => q,
        Err(e) => return render_page((raw, Err(e)), depot, res).await,
    };
    let report = report_for(&app, &q).await?;
    let lang = super::lang_of(depot);
    let actor = session::user(depot).map(|u| u.id);
    audit::record(&app.db, actor, "export.html", None, &q.describe()).await?;
    download_headers(
        res,
        "text/html; charset=utf-8",
        &attachment("relatorio", ".html"),
    )?;
    res.body(report::html::document(&report, lang));
    Ok(())
}

/// `GET /admin/results/respostas.csv?perfil=rfc4180|excel-br&…` (audited as `export.csv`).
#[handler]
pub async fn csv(req: &mut Request, depot: &mut Depot, res: &mut Response) -> Result<(), AppError> {
    let profile = match req.query::<String>("perfil").as_deref() {
        None | Some("rfc4180") => CsvProfile::Rfc4180,
        Some("excel-br") => CsvProfile::ExcelBr,
        Some(_) => return Err(AppError::BadRequest),
    };
    responses(req, depot, res, Format::Csv, profile).await
}

/// `GET /admin/results/respostas.xlsx?…` (audited as `export.xlsx`).
#[handler]
pub async fn xlsx(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), AppError> {
    responses(req, depot, res, Format::Xlsx, CsvProfile::Rfc4180).await
}

/// The export options of a download: the page's filters, the configured Critério Brasil
/// table and weighting, as `pesquisa export` uses them; never personal data.
fn export_options(
    app: &AppState,
    q: &ResultsQuery,
    format: Format,
    profile: CsvProfile,
) -> Result<ExportOptions, AppError> {
    let mut filters = q.filters.clone();
    filters.verified_only = app.settings.require_verified_email();
    Ok(ExportOptions {
        format,
        csv_profile: profile,
        filters,
        // The configured Critério Brasil table (checked at start-up), as `pesquisa export`.
        cceb: app
            .settings
            .survey
            .load_cceb_table()
            .map_err(anyhow::Error::from)?,
        zone: app.settings.survey.zone(),
        // The `peso` column, raked to the stored census margins as `pesquisa export` does.
        weighting: app.settings.weighting.plan().map_err(anyhow::Error::from)?,
        quality_params: app.settings.quality.params().map_err(anyhow::Error::from)?,
        // The labelled files code `triagem`'s `quota:NAME` of the configured quotas.
        quotas: app.quotas.list.iter().map(|q| q.name.clone()).collect(),
        ..ExportOptions::default()
    })
}

/// `GET /admin/results/respostas.zip?pacote=spss|stata|r&…`: the labelled files of
/// `pesquisa export --format spss|stata|r` (coded data CSV and the syntax file that reads
/// it) in one zip, for the page's filters, pseudonymous; audited as `export.spss`,
/// `export.stata` or `export.r`.
#[handler]
pub async fn labelled(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), AppError> {
    let (format, action) = match req.query::<String>("pacote").as_deref() {
        Some("spss") => (Format::Spss, "export.spss"),
        Some("stata") => (Format::Stata, "export.stata"),
        Some("r") => (Format::R, "export.r"),
        _ => return Err(AppError::BadRequest),
    };
    let app = state(depot).clone();
    let (raw, parsed) = choice(req, &app);
    let q = match parsed {
        Ok(q) => q,
        Err(e) => return render_page((raw, Err(e)), depot, res).await,
    };
    let opts = export_options(&app, &q, format, CsvProfile::Rfc4180)?;
    let actor = session::user(depot).map(|u| u.id);
    audit::record(&app.db, actor, action, None, &q.describe()).await?;
    let stem = format!("respostas-{}", chrono::Utc::now().format("%Y%m%d-%H%M"));
    // An unnamed temporary file (gone when closed): the archive needs to seek, and a
    // large export should not sit in memory.
    let file = tempfile::tempfile().map_err(anyhow::Error::from)?;
    let handle = tokio::runtime::Handle::current();
    let (db, def, secret) = (app.db.clone(), app.survey.clone(), app.session_key.to_vec());
    let zip_stem = stem.clone();
    // The export writes synchronously: a blocking thread, as the streamed downloads.
    let (summary, mut file) = tokio::task::spawn_blocking(move || {
        handle.block_on(export::export_labelled_zip(
            &db, &def, &secret, &opts, &zip_stem, file,
        ))
    })
    .await
    .map_err(anyhow::Error::from)??;
    std::io::Seek::rewind(&mut file).map_err(anyhow::Error::from)?;
    tracing::info!(
        format = format.as_str(),
        rows = summary.rows,
        "download sent"
    );
    download_headers(
        res,
        "application/zip",
        &format!("attachment; filename=\"{stem}-{}.zip\"", format.as_str()),
    )?;
    res.stream(file_chunks(tokio::fs::File::from_std(file)));
    Ok(())
}

/// A file's bytes as a response body, [`CHUNK`] at a time.
fn file_chunks(
    file: tokio::fs::File,
) -> impl futures_util::Stream<Item = std::io::Result<Vec<u8>>> + Send + 'static {
    futures_util::stream::unfold(Some(file), |file| async move {
        let mut file = file?;
        let mut buf = vec![0u8; CHUNK];
        match tokio::io::AsyncReadExt::read(&mut file, &mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(buf), Some(file)))
            }
            // The error ends the body; nothing more is read.
            Err(e) => Some((Err(e), None)),
        }
    })
}

/// The responses matching the page's filters, streamed as `format` with pseudonymous
/// ids (never personal data), after the audit entry naming the format and filters.
async fn responses(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
    format: Format,
    profile: CsvProfile,
) -> Result<(), AppError> {
    let app = state(depot).clone();
    let (raw, parsed) = choice(req, &app);
    let q = match parsed {
        Ok(q) => q,
        Err(e) => return render_page((raw, Err(e)), depot, res).await,
    };
    let opts = export_options(&app, &q, format, profile)?;
    let (kind, action, content_type) = match (format, profile) {
        (Format::Xlsx, _) => (
            "xlsx",
            "export.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        (_, CsvProfile::Rfc4180) => ("rfc4180", "export.csv", "text/csv; charset=utf-8"),
        (_, CsvProfile::ExcelBr) => ("excel-br", "export.csv", "text/csv; charset=utf-8"),
    };
    let actor = session::user(depot).map(|u| u.id);
    let detail = format!("{kind}; {}", q.describe());
    audit::record(&app.db, actor, action, None, &detail).await?;

    let secret = app.session_key.to_vec();
    let (body, finished) =
        download::stream(app.db.clone(), app.survey.clone(), secret, opts, CHUNK);
    tokio::spawn(async move {
        match finished.await {
            Ok(Ended::Complete(s)) => {
                tracing::info!(
                    format = kind,
                    rows = s.rows,
                    bytes = s.bytes,
                    "download sent"
                )
            }
            Ok(Ended::Cancelled) => {
                tracing::info!(format = kind, "download stopped: the client went away")
            }
            Ok(Ended::Failed(e)) => {
                tracing::error!(format = kind, error = %format!("{e:#}"), "download failed")
            }
            Err(e) => tracing::error!(format = kind, error = %e, "download task failed"),
        }
    });
    let disposition = match format {
        Format::Xlsx => attachment("respostas", ".xlsx"),
        _ => attachment("respostas", &format!("-{kind}.csv")),
    };
    download_headers(res, content_type, &disposition)?;
    res.stream(body);
    Ok(())
}

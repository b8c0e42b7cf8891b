//! `/admin/results`: the analysts' dashboard (analyst and admin roles). The page shows
//! the report of [`crate::report`], built by the same code as `pesquisa report`, and
//! links to the CSV export, streamed from the database with pseudonymous ids.
//!
//! The report reads every response, so it is computed at most once a minute per instance
//! and shared ([`crate::report::cache`]).

use std::sync::Arc;

use salvo::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use salvo::prelude::*;

use super::{page_ctx, state};
use crate::db::audit;
use crate::export::download::{self, Ended};
use crate::export::{CsvProfile, ExportOptions, Format};
use crate::report::{self, Report};
use crate::views;
use crate::web::error::AppError;
use crate::web::session;
use crate::web::state::AppState;

/// Bytes sent to the client per chunk of the CSV download.
const CHUNK: usize = 64 * 1024;

async fn current_report(app: &AppState) -> Result<Arc<Report>, AppError> {
    app.report_cache
        .get_or_build(async || {
            let mut params = report::params_from_settings(&app.settings.report)?;
            params.filters.verified_only = app.settings.require_verified_email();
            params.zone = app.settings.survey.zone();
            params.weighting = app.settings.weighting.plan().map_err(anyhow::Error::from)?;
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

/// `GET /admin/results`
#[handler]
pub async fn page(depot: &mut Depot, res: &mut Response) -> Result<(), AppError> {
    let app = state(depot).clone();
    let report = current_report(&app).await?;
    let c = page_ctx(depot);
    res.headers_mut().insert(
        CACHE_CONTROL,
        "no-store".parse().map_err(anyhow::Error::from)?,
    );
    res.render(views::Html(views::results::page(&c, &report)));
    Ok(())
}

/// `GET /admin/results/respostas.csv?perfil=rfc4180|excel-br` (audited).
#[handler]
pub async fn csv(req: &mut Request, depot: &mut Depot, res: &mut Response) -> Result<(), AppError> {
    let profile = match req.query::<String>("perfil").as_deref() {
        None | Some("rfc4180") => CsvProfile::Rfc4180,
        Some("excel-br") => CsvProfile::ExcelBr,
        Some(_) => return Err(AppError::BadRequest),
    };
    let app = state(depot).clone();
    let actor = session::user(depot).map(|u| u.id);
    let secret = app.session_key.to_vec();
    let opts = ExportOptions {
        format: Format::Csv,
        csv_profile: profile,
        filters: crate::export::Filters {
            verified_only: app.settings.require_verified_email(),
            ..Default::default()
        },
        // The configured Critério Brasil table (checked at start-up), as `pesquisa export`.
        cceb: app
            .settings
            .survey
            .load_cceb_table()
            .map_err(anyhow::Error::from)?,
        // The `peso` column, raked to the stored census margins as `pesquisa export` does.
        weighting: app.settings.weighting.plan().map_err(anyhow::Error::from)?,
        ..ExportOptions::default()
    };
    let profile_name = match profile {
        CsvProfile::Rfc4180 => "rfc4180",
        CsvProfile::ExcelBr => "excel-br",
    };
    audit::record(&app.db, actor, "export.csv", None, profile_name).await?;

    let (body, finished) =
        download::stream(app.db.clone(), app.survey.clone(), secret, opts, CHUNK);
    tokio::spawn(async move {
        match finished.await {
            Ok(Ended::Complete(s)) => {
                tracing::info!(rows = s.rows, bytes = s.bytes, "csv download sent")
            }
            Ok(Ended::Cancelled) => tracing::info!("csv download stopped: the client went away"),
            Ok(Ended::Failed(e)) => {
                tracing::error!(error = %format!("{e:#}"), "csv download failed")
            }
            Err(e) => tracing::error!(error = %e, "csv download task failed"),
        }
    });
    let name = format!(
        "attachment; filename=\"respostas-{}-{profile_name}.csv\"",
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
    res.stream(body);
    Ok(())
}

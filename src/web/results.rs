//! `/admin/results`: the analysts' dashboard (analyst and admin roles). The page shows
//! the report of [`crate::report`], built by the same code as `pesquisa report`, and
//! links to the CSV export, streamed from the database with pseudonymous ids.
//!
//! The report reads every response, so it is computed at most once per
//! [`REPORT_TTL`] per instance and shared; concurrent visitors wait for one
//! computation instead of starting one each.

use std::io::{self, Write};
use std::sync::Arc;
use std::sync::mpsc::{SyncSender, sync_channel};
use std::time::{Duration, Instant};

use salvo::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use salvo::prelude::*;

use super::{ctx, state};
use crate::app::AppState;
use crate::db::audit;
use crate::error::AppError;
use crate::export::{self, CsvProfile, ExportOptions, Format};
use crate::report::{self, Report};
use crate::session;
use crate::views;

/// How long a computed report is shown before it is computed again.
pub const REPORT_TTL: Duration = Duration::from_secs(60);
/// Bytes sent to the client per chunk of the CSV download.
const CHUNK: usize = 64 * 1024;

/// The per-instance cache of the last report.
#[derive(Default)]
pub struct ReportCache(tokio::sync::Mutex<Option<(Instant, Arc<Report>)>>);

impl ReportCache {
    /// Forget the cached report: the next visit computes it again.
    pub async fn expire(&self) {
        *self.0.lock().await = None;
    }
}

async fn current_report(app: &AppState) -> Result<Arc<Report>, AppError> {
    let mut slot = app.report_cache.0.lock().await;
    if let Some((at, r)) = slot.as_ref()
        && at.elapsed() < REPORT_TTL
    {
        return Ok(r.clone());
    }
    let params = report::params_from_settings(&app.settings.report)?;
    let fresh = Arc::new(
        report::build(
            &app.db,
            &app.survey,
            &params,
            app.settings.survey.salario_minimo,
        )
        .await?,
    );
    *slot = Some((Instant::now(), fresh.clone()));
    Ok(fresh)
}

/// `GET /admin/results`
#[handler]
pub async fn page(depot: &mut Depot, res: &mut Response) -> Result<(), AppError> {
    let app = state(depot).clone();
    let report = current_report(&app).await?;
    let c = ctx(depot, false);
    res.headers_mut().insert(
        CACHE_CONTROL,
        "no-store".parse().map_err(anyhow::Error::from)?,
    );
    res.render(views::Html(views::results::page(&c, &report)));
    Ok(())
}

/// Sends what the export writes to the response body in chunks; a client that went
/// away makes the next write fail, which stops the export.
struct ChannelWriter {
    tx: SyncSender<io::Result<Vec<u8>>>,
    buf: Vec<u8>,
}

impl ChannelWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        self.tx
            .send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "download cancelled"))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
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
    let secret = app
        .settings
        .session
        .secret
        .as_ref()
        .map(|s| s.expose().as_bytes().to_vec())
        .ok_or_else(|| anyhow::anyhow!("session.secret is not set"))?;
    let opts = ExportOptions {
        format: Format::Csv,
        csv_profile: profile,
        ..ExportOptions::default()
    };
    let profile_name = match profile {
        CsvProfile::Rfc4180 => "rfc4180",
        CsvProfile::ExcelBr => "excel-br",
    };
    audit::record(&app.db, actor, "export.csv", None, profile_name).await?;

    // The export writes synchronously (csv::Writer); it runs on a blocking thread that
    // drives its async queries with the runtime's handle, and hands chunks over a small
    // bounded std channel: a slow client blocks that thread, never a runtime worker.
    // Each chunk is received on the blocking pool too.
    let (tx, rx) = sync_channel::<io::Result<Vec<u8>>>(4);
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let writer = ChannelWriter {
            tx: tx.clone(),
            buf: Vec::with_capacity(CHUNK),
        };
        let outcome = handle.block_on(export::export(&app.db, &app.survey, &secret, &opts, writer));
        if let Err(e) = outcome {
            tracing::error!(error = %format!("{e:#}"), "csv download failed");
            let _ = tx.send(Err(io::Error::other("export failed")));
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
    let body = futures_util::stream::unfold(rx, |rx| async move {
        let (item, rx) = tokio::task::spawn_blocking(move || (rx.recv().ok(), rx))
            .await
            .ok()?;
        item.map(|chunk| (chunk, rx))
    });
    res.stream(body);
    Ok(())
}

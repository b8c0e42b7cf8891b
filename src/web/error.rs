//! `AppError`: the one error type handlers return, and how each kind is written as an
//! HTTP response. Client mistakes get a 4xx page that says what to do; outages of the
//! database or session store are 503; bugs are 500 with the cause in the log (never on
//! the page) and the request id on both, so a report can be matched to a log line.

use salvo::http::StatusCode;
use salvo::prelude::*;
use salvo::request_id::RequestIdDepotExt;

use crate::accounts::hasher::HashError;
use crate::db::DbError;
use crate::kv::KvError;
use crate::views;
use crate::web::lang_of;

/// The `Retry-After` of a 503 caused by an outage of the database or session store.
const UNAVAILABLE_RETRY_SECS: u64 = 5;

/// Outage causes are logged once a minute each (with the count skipped): an outage fails
/// every request, and one line per request buries the cause (issue 21, item 9).
static UNAVAILABLE_LOG: crate::telemetry::Throttle =
    crate::telemetry::Throttle::new(std::time::Duration::from_secs(60));

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    #[error("bad request")]
    BadRequest,
    #[error("too many requests")]
    TooManyRequests { retry_after_secs: u64 },
    /// A backend ("database", "sessions", "hashing") could not serve the request: 503.
    #[error("{backend}: {cause}")]
    Unavailable {
        backend: &'static str,
        cause: String,
    },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<DbError> for AppError {
    fn from(e: DbError) -> Self {
        match e {
            e if e.is_outage() => AppError::Unavailable {
                backend: "database",
                cause: e.to_string(),
            },
            DbError::Unavailable(cause) => AppError::Unavailable {
                backend: "database",
                cause,
            },
            DbError::Query(q) => AppError::Internal(q.into()),
        }
    }
}

impl From<HashError> for AppError {
    fn from(e: HashError) -> Self {
        match e {
            // The catcher adds Retry-After to every 503.
            HashError::Busy => AppError::Unavailable {
                backend: "hashing",
                cause: e.to_string(),
            },
            HashError::Failed(_) => AppError::Internal(e.into()),
        }
    }
}

impl From<KvError> for AppError {
    fn from(e: KvError) -> Self {
        AppError::Unavailable {
            backend: "sessions",
            cause: e.to_string(),
        }
    }
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Forbidden => StatusCode::FORBIDDEN,
            AppError::BadRequest => StatusCode::BAD_REQUEST,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

#[async_trait]
impl Writer for AppError {
    async fn write(self, req: &mut Request, depot: &mut Depot, res: &mut Response) {
        let status = self.status();
        match &self {
            AppError::Forbidden => {
                let kind = crate::web::refusals::kind(depot, "forbidden");
                crate::web::refusals::log_refusal(req, depot, kind);
            }
            AppError::Internal(cause) => {
                tracing::error!(error = %format!("{cause:#}"), "request failed")
            }
            AppError::Unavailable { backend, cause } => {
                crate::web::state(depot).metrics.backend_error(backend);
                if let Some(skipped) = UNAVAILABLE_LOG.admit(cause) {
                    tracing::warn!(backend, error = %cause, skipped, "backend unavailable");
                }
            }
            _ => {}
        }
        match self {
            AppError::TooManyRequests { retry_after_secs } => {
                res.add_header("retry-after", retry_after_secs.max(1).to_string(), true)
                    .ok();
            }
            // An outage: a client (or nginx) may try again shortly.
            AppError::Unavailable { .. } => {
                res.add_header("retry-after", UNAVAILABLE_RETRY_SECS.to_string(), true)
                    .ok();
            }
            _ => {}
        }
        res.status_code(status);
        let page = views::error::render(&error_ctx(depot), status, depot.request_id());
        res.render(views::Html(page));
    }
}

/// The page context for an error page: no new session, no one-time notice consumed.
fn error_ctx(depot: &Depot) -> views::Ctx {
    views::Ctx {
        lang: lang_of(depot),
        user: crate::web::session::user(depot),
        csrf: crate::web::session::data(depot).map(|d| d.csrf.clone()),
        notice: None,
        unverified: false,
        zone: crate::web::zone_of(depot),
    }
}

/// Catcher hoop: gives every error response that has no body yet (404 for unknown paths,
/// 413 from the size limiter, 503 from the timeout) the site's own error page.
#[handler]
pub async fn error_page(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
    ctrl: &mut FlowCtrl,
) {
    let status = res.status_code.unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if status == StatusCode::SERVICE_UNAVAILABLE {
        res.add_header("retry-after", UNAVAILABLE_RETRY_SECS.to_string(), false)
            .ok();
    }
    if req.method() == salvo::http::Method::HEAD {
        return;
    }
    res.render(views::Html(views::error::render(
        &error_ctx(depot),
        status,
        depot.request_id(),
    )));
    ctrl.skip_rest();
}

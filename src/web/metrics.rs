//! The metrics' web side: a service-level hoop counting every request (matched or not)
//! by route pattern, and the separate `GET /metrics` service that `server.metrics_listen`
//! serves (never the site's own address, so nginx never routes to it).

use std::sync::Arc;
use std::time::Instant;

use salvo::http::StatusCode;
use salvo::http::header::{CONTENT_TYPE, HeaderValue};
use salvo::prelude::*;

use crate::metrics::{self, Metrics, Scrape};
use crate::web::state::AppState;

/// Paths longer than this are not routes of ours: counted under "other".
const LONGEST_ROUTE: usize = 64;

/// The route pattern a path stands for: numbers become `{n}`, assets one pattern, and a
/// 404 "unmatched", so the labels stay few whatever clients ask for.
pub fn route_label(path: &str, status: u16) -> String {
    if status == 404 {
        return "unmatched".into();
    }
    if path.starts_with("/assets/") {
        return "/assets/{path}".into();
    }
    if path.len() > LONGEST_ROUTE {
        return "other".into();
    }
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/".into();
    }
    trimmed
        .split('/')
        .map(|seg| {
            if !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()) {
                "{n}"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Service-level hoop: counts each request with its status and time. It holds the
/// metrics itself, as unmatched requests never reach the router's state.
pub struct Record(pub Arc<Metrics>);

#[async_trait]
impl Handler for Record {
    async fn handle(
        &self,
        req: &mut Request,
        depot: &mut Depot,
        res: &mut Response,
        ctrl: &mut FlowCtrl,
    ) {
        let started = Instant::now();
        ctrl.call_next(req, depot, res).await;
        let status = res.status_code.unwrap_or(StatusCode::OK).as_u16();
        self.0.request(
            &route_label(req.uri().path(), status),
            req.method().as_str(),
            status,
            started.elapsed().as_secs_f64(),
        );
    }
}

/// `GET /metrics` on the metrics address.
#[handler]
async fn scrape(depot: &mut Depot, res: &mut Response) {
    let app = crate::web::state(depot);
    let mut pools = vec![app.db.pool_sample()];
    pools.extend(app.kv.pool_sample());
    let text = app.metrics.encode(&Scrape {
        pools,
        hash_queue: app.hasher.queued(),
        hash_queue_max: app.settings.passwords.max_queued,
    });
    res.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static(metrics::CONTENT_TYPE),
    );
    res.render(text);
}

/// The metrics address's whole service: `/metrics` and nothing else.
pub fn service(state: &AppState) -> Service {
    Service::new(
        Router::new()
            .hoop(affix_state::inject(state.clone()))
            .push(Router::with_path("metrics").get(scrape)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_route_patterns_not_paths() {
        assert_eq!(route_label("/survey/3", 200), "/survey/{n}");
        assert_eq!(
            route_label("/admin/users/42/delete", 303),
            "/admin/users/{n}/delete"
        );
        assert_eq!(route_label("/", 200), "/");
        assert_eq!(route_label("/login/", 200), "/login");
        assert_eq!(route_label("/assets/app.3f2a.css", 200), "/assets/{path}");
        assert_eq!(route_label("/wp-admin/setup.php", 404), "unmatched");
        assert_eq!(route_label(&format!("/{}", "a".repeat(100)), 405), "other");
    }
}

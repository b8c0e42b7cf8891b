//! The whole route tree and the order of hoops, in one place.
//!
//! Service-level hoops run for every request, matched or not (so 404 pages get security
//! headers and a language too); route-level hoops only where they are attached.

use std::time::Duration;

use salvo::catch_panic::CatchPanic;
use salvo::catcher::Catcher;
use salvo::prelude::*;
use salvo::request_id::RequestId;
use salvo::size_limiter::max_size;
use salvo::timeout::Timeout;
use salvo_compression::{Compression, CompressionLevel};

use crate::app::AppState;
use crate::error::error_page;
use crate::web::{assets, health, home, hoops};

/// Routes: what answers where.
pub fn routes(state: &AppState) -> Router {
    let limits = &state.settings.server;
    Router::new()
        .hoop(affix_state::inject(state.clone()))
        .hoop(Timeout::new(Duration::from_secs(
            limits.request_timeout_secs,
        )))
        .get(home::show)
        .push(
            Router::with_path("healthz")
                .get(health::healthz)
                .head(health::healthz),
        )
        .push(Router::with_path("readyz").get(health::readyz))
        .push(
            Router::with_path("assets/{**path}")
                .get(assets::serve)
                .head(assets::serve),
        )
}

/// The service: routes wrapped in the hoops every response needs, and the error catcher.
pub fn service(state: &AppState) -> Service {
    Service::new(routes(state))
        .catcher(Catcher::default().hoop(error_page))
        .hoop(CatchPanic::new())
        .hoop(max_size(state.settings.server.max_body_bytes))
        .hoop(RequestId::new())
        .hoop(hoops::access_log)
        .hoop(hoops::security_headers)
        .hoop(hoops::language)
        .hoop(
            Compression::new()
                .disable_all()
                .enable_gzip(CompressionLevel::Default)
                .enable_brotli(CompressionLevel::Default)
                .min_length(1024),
        )
}

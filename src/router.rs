//! The whole route tree and the order of hoops, in one place.
//!
//! Service-level hoops run for every request, matched or not (so 404 pages get security
//! headers and a language too); route-level hoops only where they are attached. Health
//! checks and assets skip the session entirely; every page below `pages()` has a session
//! and CSRF checking; areas add their authorization guards.

use std::sync::Arc;
use std::time::Duration;

use salvo::catch_panic::CatchPanic;
use salvo::catcher::Catcher;
use salvo::prelude::*;
use salvo::size_limiter::max_size;
use salvo::timeout::Timeout;
use salvo_compression::{Compression, CompressionLevel};

use crate::web::error::error_page;
use crate::web::session;
use crate::web::state::AppState;
use crate::web::{
    account, admin, assets, auth, email_change, email_code, guards, health, home, hoops, oidc,
    password_reset, results, survey, two_factor, verify,
};

/// Routes: what answers where.
pub fn routes(state: &AppState) -> Router {
    let limits = &state.settings.server;
    Router::new()
        .hoop(affix_state::inject(state.clone()))
        .hoop(hoops::close_when_draining)
        .hoop(Timeout::new(Duration::from_secs(
            limits.request_timeout_secs,
        )))
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
        .push(pages())
}

/// Pages people use: session, CSRF, then per-area guards.
fn pages() -> Router {
    Router::new()
        .hoop(session::hoop)
        .hoop(session::csrf_guard)
        .get(home::show)
        .push(
            Router::with_path("register")
                .get(auth::register_form)
                .post(auth::register),
        )
        .push(Router::with_path("register/sent").get(auth::signed_up))
        .push(
            Router::with_path("login")
                .get(auth::login_form)
                .post(auth::login),
        )
        .push(
            Router::with_path("login/2fa")
                .get(two_factor::login_form)
                .post(two_factor::login),
        )
        .push(
            Router::with_path("login/code")
                .get(email_code::request_form)
                .post(email_code::request)
                .push(Router::with_path("verify").post(email_code::verify))
                .push(
                    Router::with_path("link")
                        .get(email_code::link_form)
                        .post(email_code::link),
                ),
        )
        .push(
            Router::with_path("password/forgot")
                .get(password_reset::forgot_form)
                .post(password_reset::forgot),
        )
        .push(
            Router::with_path("password/reset")
                .get(password_reset::reset_form)
                .post(password_reset::reset),
        )
        .push(
            Router::with_path("email/confirm")
                .get(email_change::confirm_form)
                .post(email_change::confirm),
        )
        .push(
            Router::with_path("verify")
                .get(verify::confirm_form)
                .post(verify::confirm)
                .push(
                    Router::with_path("resend")
                        .hoop(guards::require_user)
                        .post(verify::resend),
                ),
        )
        .push(Router::with_path("logout").post(auth::logout))
        // OpenID Connect log-in; "complete" is no provider id (config refuses it).
        .push(
            Router::with_path("auth/complete")
                .get(oidc::complete_form)
                .post(oidc::complete),
        )
        .push(
            Router::with_path("auth/{provider}")
                .get(oidc::start)
                .push(Router::with_path("callback").get(oidc::callback)),
        )
        .push(
            Router::with_path("consent")
                .hoop(guards::require_user)
                .get(auth::consent_form)
                .post(auth::consent),
        )
        .push(
            Router::with_path("survey")
                .hoop(survey::rescue_expired)
                .hoop(guards::require_user)
                .hoop(guards::consent_gate)
                .get(survey::start)
                .push(Router::with_path("review").get(survey::review))
                .push(Router::with_path("submit").post(survey::submit))
                .push(Router::with_path("thanks").get(survey::thanks))
                .push(Router::with_path("screened").get(survey::screened))
                .push(
                    Router::with_path("{n:num}")
                        .get(survey::show_page)
                        .post(survey::save_page),
                ),
        )
        .push(
            Router::with_path("account")
                .hoop(guards::require_user)
                .hoop(guards::consent_gate)
                .get(account::show)
                .push(Router::with_path("profile").post(account::profile))
                .push(Router::with_path("password").post(account::password))
                .push(Router::with_path("email").post(email_change::request))
                .push(Router::with_path("sign-in-again").post(account::sign_in_again))
                .push(Router::with_path("consents").post(account::optional_consents))
                .push(Router::with_path("data").get(account::data))
                .push(Router::with_path("data/html").get(account::data_page))
                .push(Router::with_path("delete").post(account::delete))
                .push(
                    Router::with_path("2fa")
                        .hoop(guards::require_analyst)
                        .get(two_factor::enrol_form)
                        .post(two_factor::enrol)
                        .push(Router::with_path("recovery").post(two_factor::regenerate)),
                ),
        )
        // Before "admin": analysts may see the results but nothing else of the admin area.
        .push(
            Router::with_path("admin/results")
                .hoop(guards::require_user)
                .hoop(guards::consent_gate)
                .hoop(guards::require_analyst)
                .hoop(two_factor::guard)
                .get(results::page)
                .push(Router::with_path("respostas.csv").get(results::csv))
                .push(Router::with_path("respostas.xlsx").get(results::xlsx))
                .push(Router::with_path("respostas.zip").get(results::labelled))
                .push(Router::with_path("relatorio.html").get(results::html)),
        )
        .push(
            Router::with_path("admin")
                .hoop(guards::require_user)
                .hoop(guards::consent_gate)
                .hoop(guards::require_admin)
                .hoop(two_factor::guard)
                .get(admin::index)
                .push(Router::with_path("users").get(admin::list_users))
                .push(Router::with_path("users/{id:num}").get(admin::show_user))
                .push(
                    Router::with_path("users/{id:num}/delete")
                        .get(admin::delete_form)
                        .post(admin::delete_user),
                )
                .push(
                    Router::with_path("documents")
                        .get(admin::documents)
                        .post(admin::publish),
                )
                .push(Router::with_path("audit").get(admin::audit_log))
                .push(Router::with_path("audit/auditoria.csv").get(admin::audit_csv))
                .push(Router::with_path("mail").get(admin::mail_status))
                .push(Router::with_path("mail/{id:num}/retry").post(admin::retry_mail)),
        )
}

/// The service the server runs: every request is handled to completion in its own task.
///
/// Why: when a client goes away, hyper drops the request's future. Dropped in the middle of
/// a MariaDB query, diesel-async's connection is left with unread protocol data and goes
/// back to the pool broken, so later requests fail with 500 ("Unexpected end of row").
/// Handling each request in a spawned task means a disconnect never interrupts a query;
/// the answer is simply not delivered.
pub fn service(state: &AppState) -> Service {
    let inner = Arc::new(inner_service(state));
    Service::new(
        Router::new()
            .push(Router::with_path("{**rest}").goal(Detached(inner.clone())))
            .goal(Detached(inner)),
    )
}

/// Runs the inner service on a spawned task and copies its response back.
struct Detached(Arc<Service>);

#[async_trait]
impl Handler for Detached {
    async fn handle(
        &self,
        req: &mut Request,
        _depot: &mut Depot,
        res: &mut Response,
        _ctrl: &mut FlowCtrl,
    ) {
        let owned = std::mem::take(req);
        // The inner service sees the same peer, local address and scheme.
        let task = self
            .0
            .hyper_handler(
                owned.local_addr().clone(),
                owned.remote_addr().clone(),
                owned.scheme().clone(),
                None,
                salvo::ConnCtrl::new(),
                None,
            )
            .handle(owned);
        match tokio::spawn(task).await {
            Ok(answer) => *res = answer,
            Err(e) => {
                tracing::error!(error = %e, "request task failed");
                res.status_code(StatusCode::INTERNAL_SERVER_ERROR);
            }
        }
    }
}

/// The routes wrapped in the hoops every response needs, and the error catcher.
fn inner_service(state: &AppState) -> Service {
    Service::new(routes(state))
        .catcher(Catcher::default().hoop(error_page))
        .hoop(crate::web::metrics::Record(state.metrics.clone()))
        .hoop(CatchPanic::new())
        .hoop(max_size(state.settings.server.max_body_bytes))
        .hoop(hoops::RequestIds::new(
            &state.settings.server.trusted_proxies,
        ))
        .hoop(hoops::access_log)
        .hoop(hoops::security_headers)
        .hoop(hoops::language)
        // After the request id, access log and headers (a 408 gets all three), before the
        // routes' request timeout starts: a body that never comes is the client's fault
        // (408), not the server's (503).
        .hoop(hoops::ReadBody::new(
            Duration::from_secs(state.settings.server.body_timeout_secs),
            state.settings.server.max_body_bytes,
        ))
        .hoop(
            Compression::new()
                .disable_all()
                .enable_gzip(CompressionLevel::Default)
                .enable_brotli(CompressionLevel::Default)
                .min_length(1024),
        )
}

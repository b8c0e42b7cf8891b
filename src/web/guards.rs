//! Authorization hoops: who may reach a route. Anonymous visitors are sent to log in
//! (and brought back), users lacking the role get 403, and a user who must accept a new
//! version of a required document is sent to do that before anything else.

use salvo::prelude::*;

use super::{admin, see_other, state};
use crate::accounts::Role;
use crate::db::users;
use crate::web::error::AppError;
use crate::web::{refusals, session};

/// Logged-in users only; others go to `/login?next=<this path>`.
#[handler]
pub async fn require_user(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
    ctrl: &mut FlowCtrl,
) {
    if session::user(depot).is_none() {
        let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
        let next = if req.method() == salvo::http::Method::GET {
            path
        } else {
            "/account"
        };
        see_other(res, &format!("/login?next={}", admin::urlencode(next)));
        ctrl.skip_rest();
    }
}

/// The role the user has now, read from the database: a role changed or an account
/// deleted since the session began takes effect at the next staff request, not at the
/// session's end. A changed role is written into the session; a deleted account ends it.
async fn current_role(depot: &mut Depot) -> Result<Option<Role>, AppError> {
    let Some(user) = session::user(depot) else {
        return Ok(None);
    };
    let app = state(depot).clone();
    let Some(row) = users::find(&app.db, user.id).await? else {
        session::log_out(depot);
        return Ok(None);
    };
    let role = row.role();
    if role != user.role {
        tracing::info!(
            user_id = user.id,
            role = role.as_str(),
            "role changed since log-in"
        );
        session::update(depot, |d| d.role = Some(role));
    }
    Ok(Some(role))
}

/// Lets the request on when the user's current role passes `allowed`; 403 otherwise.
async fn require_role(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
    ctrl: &mut FlowCtrl,
    allowed: fn(Role) -> bool,
) {
    match current_role(depot).await {
        Ok(Some(role)) if allowed(role) => {}
        Ok(_) => {
            refusals::mark(depot, "role");
            AppError::Forbidden.write(req, depot, res).await;
            ctrl.skip_rest();
        }
        Err(e) => {
            e.write(req, depot, res).await;
            ctrl.skip_rest();
        }
    }
}

/// Admins only (after [`require_user`]).
#[handler]
pub async fn require_admin(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
    ctrl: &mut FlowCtrl,
) {
    require_role(req, depot, res, ctrl, |r| r == Role::Admin).await;
}

/// Analysts and admins (after [`require_user`]): the results and the CSV export.
#[handler]
pub async fn require_analyst(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
    ctrl: &mut FlowCtrl,
) {
    require_role(req, depot, res, ctrl, Role::is_staff).await;
}

/// Users with a pending re-acceptance see `/consent` first.
#[handler]
pub async fn consent_gate(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
    ctrl: &mut FlowCtrl,
) {
    let pending = session::data(depot).is_some_and(|d| d.user_id.is_some() && d.needs_consent);
    if pending && req.method() == salvo::http::Method::GET {
        let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
        see_other(res, &format!("/consent?next={}", admin::urlencode(path)));
        ctrl.skip_rest();
    } else if pending {
        refusals::mark(depot, "consent_pending");
        AppError::Forbidden.write(req, depot, res).await;
        ctrl.skip_rest();
    }
}

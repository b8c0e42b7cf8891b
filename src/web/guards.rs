//! Authorization hoops: who may reach a route. Anonymous visitors are sent to log in
//! (and brought back), users lacking the role get 403, and a user who must accept a new
//! version of a required document is sent to do that before anything else.

use salvo::prelude::*;

use super::{admin, see_other};
use crate::accounts::Role;
use crate::web::error::AppError;
use crate::web::session;

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

/// Admins only (after [`require_user`]).
#[handler]
pub async fn require_admin(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
    ctrl: &mut FlowCtrl,
) {
    let is_admin = session::user(depot).is_some_and(|u| u.role == Role::Admin);
    if !is_admin {
        AppError::Forbidden.write(req, depot, res).await;
        ctrl.skip_rest();
    }
}

/// Analysts and admins (after [`require_user`]): the results and the CSV export.
#[handler]
pub async fn require_analyst(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
    ctrl: &mut FlowCtrl,
) {
    let allowed =
        session::user(depot).is_some_and(|u| matches!(u.role, Role::Analyst | Role::Admin));
    if !allowed {
        AppError::Forbidden.write(req, depot, res).await;
        ctrl.skip_rest();
    }
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
        AppError::Forbidden.write(req, depot, res).await;
        ctrl.skip_rest();
    }
}

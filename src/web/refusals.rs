//! Refusals shared by several handlers: the CSRF refusal and a form shown again with 422.

use salvo::prelude::*;

use super::page_ctx;
use crate::views;

/// 403 with a page that says to reload; the request changed nothing.
pub fn csrf_failed(depot: &mut Depot, res: &mut Response) {
    let page = views::error::csrf(&page_ctx(depot));
    res.status_code(StatusCode::FORBIDDEN);
    res.render(views::Html(page));
}

/// A refused form: 422 and the page shown again.
pub fn unprocessable(res: &mut Response, page: maud::Markup) {
    res.status_code(StatusCode::UNPROCESSABLE_ENTITY);
    res.render(views::Html(page));
}

//! The error page shown for every 4xx and 5xx: a plain message in the visitor's
//! language and, for server errors, the request id to quote to support.

use maud::{Markup, html};
use salvo::http::StatusCode;

use super::Ctx;
use super::layout::page;
use crate::i18n::Lang;

/// The message for a status code.
pub fn message(lang: Lang, status: StatusCode) -> &'static str {
    let t = lang.t();
    match status {
        StatusCode::NOT_FOUND => t.error_not_found,
        StatusCode::METHOD_NOT_ALLOWED => t.error_method,
        StatusCode::FORBIDDEN | StatusCode::UNAUTHORIZED => t.error_forbidden,
        StatusCode::PAYLOAD_TOO_LARGE => t.error_too_large,
        StatusCode::TOO_MANY_REQUESTS => t.error_too_many,
        StatusCode::SERVICE_UNAVAILABLE => t.error_unavailable,
        StatusCode::GATEWAY_TIMEOUT | StatusCode::REQUEST_TIMEOUT => t.error_timeout,
        s if s.is_server_error() => t.error_internal,
        _ => t.error_bad_request,
    }
}

pub fn render(ctx: &Ctx, status: StatusCode, request_id: Option<&str>) -> Markup {
    let t = ctx.lang.t();
    page(
        ctx,
        t.error_title,
        html! {
            h1 { (t.error_title) }
            p class="lead" { (message(ctx.lang, status)) }
            @if status.is_server_error() {
                @if let Some(id) = request_id {
                    p class="muted" { (t.error_reference) ": " code { (id) } }
                }
            }
            p { a class="button secondary" href="/" { (t.back_home) } }
        },
    )
}

/// The CSRF refusal: says to reload, offers the link.
pub fn csrf(ctx: &Ctx) -> Markup {
    let t = ctx.lang.t();
    page(
        ctx,
        t.error_title,
        html! {
            h1 { (t.error_title) }
            p class="lead" { (t.error_csrf) }
            p { a class="button" href="" { (t.reload) } }
        },
    )
}

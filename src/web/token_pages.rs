//! What every page behind an e-mailed link shares (verification, password reset, sign-in
//! link, e-mail change): how its token must look and what the page must not leak.

use salvo::http::header::{self, HeaderValue};
use salvo::prelude::*;

/// Pages whose URL or form holds a token: a `Referer` from them names the site only, never
/// the path and query that hold the token, and no cache keeps them. Not `no-referrer`:
/// under it browsers send `Origin: null` with the page's own form POST, which the CSRF
/// guard rightly refuses as cross-site.
pub fn protect(res: &mut Response) {
    let headers = res.headers_mut();
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// A link secret as this server makes them (64 hex digits); anything else is refused
/// before any look-up.
pub fn well_formed(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

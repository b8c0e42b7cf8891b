//! Hoops every request passes through: language choice, security headers, access log,
//! and the client address as seen through trusted proxies.

use std::net::IpAddr;
use std::time::Instant;

use salvo::http::header::{self, HeaderValue};
use salvo::prelude::*;

use crate::config::ProxyNet;
use crate::i18n::Lang;

/// Depot key under which the request's [`Lang`] is kept.
pub const LANG_KEY: &str = "pesquisa::lang";
const LANG_COOKIE: &str = "lang";

/// Pick the language: `?lang=` (remembered in a cookie), then the cookie, then
/// `Accept-Language`, then Portuguese.
#[handler]
pub async fn language(req: &mut Request, depot: &mut Depot, res: &mut Response) {
    let from_query = req
        .query::<String>("lang")
        .and_then(|c| Lang::from_code(&c));
    let lang = if let Some(lang) = from_query {
        let cookie = salvo::http::cookie::Cookie::build((LANG_COOKIE, short_code(lang)))
            .path("/")
            .http_only(true)
            .same_site(salvo::http::cookie::SameSite::Lax)
            .max_age(salvo::http::cookie::time::Duration::days(365))
            .build();
        res.add_cookie(cookie);
        lang
    } else if let Some(lang) = req
        .cookie(LANG_COOKIE)
        .and_then(|c| Lang::from_code(c.value()))
    {
        lang
    } else {
        req.header::<String>(header::ACCEPT_LANGUAGE)
            .map_or(Lang::Pt, |h| Lang::from_accept_language(&h))
    };
    depot.insert(LANG_KEY, lang);
}

fn short_code(lang: Lang) -> &'static str {
    match lang {
        Lang::Pt => "pt",
        Lang::En => "en",
    }
}

/// The content security policy: no inline script or style, nothing from other origins.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
     base-uri 'none'; object-src 'none'";

/// While the instance drains before stopping, ask every client to close its connection.
#[handler]
pub async fn close_when_draining(depot: &mut Depot, res: &mut Response) {
    if super::state(depot)
        .draining
        .load(std::sync::atomic::Ordering::SeqCst)
    {
        res.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
}

/// Security headers on every response, error pages included.
#[handler]
pub async fn security_headers(res: &mut Response) {
    let headers = res.headers_mut();
    let mut set = |name: &'static str, value: &'static str| {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    };
    set("content-security-policy", CSP);
    set("x-content-type-options", "nosniff");
    set("referrer-policy", "same-origin");
    set("x-frame-options", "DENY");
    set("cross-origin-opener-policy", "same-origin");
    set(
        "permissions-policy",
        "camera=(), microphone=(), geolocation=(), payment=()",
    );
}

/// One log line per request: method, path (never the query string, which could carry
/// personal data), status and duration, inside the request-id span.
#[handler]
pub async fn access_log(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
    ctrl: &mut FlowCtrl,
) {
    let started = Instant::now();
    ctrl.call_next(req, depot, res).await;
    let status = res.status_code.unwrap_or(StatusCode::OK).as_u16();
    tracing::info!(
        method = %req.method(),
        path = req.uri().path(),
        status,
        micros = started.elapsed().as_micros() as u64,
        "request"
    );
}

/// The TCP peer's address (IPv4-mapped IPv6 folded to IPv4).
fn peer_ip(req: &Request) -> Option<IpAddr> {
    let addr = req.remote_addr();
    addr.as_ipv4()
        .map(|a| IpAddr::V4(*a.ip()))
        .or_else(|| addr.as_ipv6().map(|a| a.ip().to_canonical()))
}

/// The client's address: the TCP peer, unless the peer is a trusted proxy, in which case
/// the right-most address in `X-Forwarded-For` that is not itself a trusted proxy.
pub fn client_ip(req: &Request, trusted: &[ProxyNet]) -> Option<IpAddr> {
    let peer = peer_ip(req);
    let is_trusted = |ip: IpAddr| trusted.iter().any(|n| n.contains(ip));
    match peer {
        Some(ip) if is_trusted(ip) => {
            let forwarded = req
                .headers()
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .filter_map(|s| s.trim().parse::<IpAddr>().ok())
                .collect::<Vec<_>>();
            forwarded
                .into_iter()
                .rev()
                .find(|ip| !is_trusted(*ip))
                .or(Some(ip))
        }
        other => other,
    }
}

/// The client's network for per-client limits: an IPv4 address, or the /64 of an IPv6
/// one (a subscriber's usual allocation, so rotating addresses within it counts as one
/// client).
pub fn client_net(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let prefix = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
            format!("{prefix}/64")
        }
    }
}

/// Whether the original request came over HTTPS: directly, or per `X-Forwarded-Proto`
/// from a trusted proxy. Decides the cookie's `Secure` flag.
pub fn is_https(req: &Request, trusted: &[ProxyNet]) -> bool {
    if req.scheme() == &salvo::http::uri::Scheme::HTTPS {
        return true;
    }
    peer_ip(req).is_some_and(|ip| trusted.iter().any(|n| n.contains(ip)))
        && req
            .headers()
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff:1:2:3".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_net(a), "2001:db8:1:2::/64");
        assert_eq!(client_net(a), client_net(b));
        assert_ne!(client_net(a), client_net(c));
        assert_eq!(client_net("203.0.113.7".parse().unwrap()), "203.0.113.7");
    }
}

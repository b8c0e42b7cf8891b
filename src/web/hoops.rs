//! Hoops every request passes through: request id, language choice, security headers,
//! access log, and the client address as seen through trusted proxies.

use std::net::IpAddr;
use std::time::Instant;

use salvo::http::header::{self, HeaderValue};
use salvo::prelude::*;

use crate::config::ProxyNet;
use crate::crypto::random_token;
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

/// Hoop: the request's id, in the `X-Request-ID` response header, the depot (error pages
/// show it) and the `request` log span around everything after it. nginx sends its own
/// `$request_id` as `X-Request-ID`, so its access log and ours can be joined: that one is
/// kept when it comes from a trusted proxy and has the shape of an id; any other is
/// replaced by a fresh one, so a client cannot put text of its choosing into the logs.
pub struct RequestIds {
    trusted: Vec<ProxyNet>,
}

impl RequestIds {
    pub fn new(trusted: &[ProxyNet]) -> RequestIds {
        RequestIds {
            trusted: trusted.to_vec(),
        }
    }

    fn id_for(&self, req: &Request) -> String {
        let from_proxy = peer_ip(req).is_some_and(|ip| self.trusted.iter().any(|n| n.contains(ip)));
        let given = req
            .headers()
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .filter(|v| is_request_id(v));
        match given {
            Some(id) if from_proxy => id.to_string(),
            // 128 random bits in hex, like nginx's `$request_id`.
            _ => random_token()[..32].to_string(),
        }
    }
}

const REQUEST_ID: &str = "x-request-id";

/// An id as a proxy makes them: 16 to 64 letters, digits, `-` or `_`.
fn is_request_id(v: &str) -> bool {
    (16..=64).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[async_trait]
impl Handler for RequestIds {
    async fn handle(
        &self,
        req: &mut Request,
        depot: &mut Depot,
        res: &mut Response,
        ctrl: &mut FlowCtrl,
    ) {
        use tracing::Instrument;
        let id = self.id_for(req);
        // Checked above (or made of hex digits): always a valid header value.
        if let Ok(value) = HeaderValue::from_str(&id) {
            req.headers_mut().insert(REQUEST_ID, value.clone());
            res.headers_mut().insert(REQUEST_ID, value);
        }
        let span = tracing::info_span!("request", request_id = %id);
        depot.insert(salvo::request_id::REQUEST_ID_KEY, id);
        ctrl.call_next(req, depot, res).instrument(span).await;
    }
}

/// Hoop: receive the whole request body (at most `max_bytes`) within `limit`, before any
/// handler runs. A body that does not arrive in time gets 408 and the connection is
/// closed: the client is slow or gone, which is not the server's fault (503, the request
/// timeout, is kept for the server being slow). Handlers then read the body from memory.
pub struct ReadBody {
    limit: std::time::Duration,
    max_bytes: usize,
}

impl ReadBody {
    pub fn new(limit: std::time::Duration, max_bytes: u64) -> ReadBody {
        ReadBody {
            limit,
            max_bytes: usize::try_from(max_bytes).unwrap_or(usize::MAX),
        }
    }
}

#[async_trait]
impl Handler for ReadBody {
    async fn handle(
        &self,
        req: &mut Request,
        _depot: &mut Depot,
        res: &mut Response,
        ctrl: &mut FlowCtrl,
    ) {
        use salvo::http::ParseError;
        use salvo::http::body::Body as _;
        if req.body().is_end_stream() {
            return;
        }
        let status =
            match tokio::time::timeout(self.limit, req.payload_with_max_size(self.max_bytes)).await
            {
                Ok(Ok(_)) => return,
                Ok(Err(ParseError::PayloadTooLarge)) => StatusCode::PAYLOAD_TOO_LARGE,
                // Cut off or malformed (e.g. a bad chunk size).
                Ok(Err(_)) => StatusCode::BAD_REQUEST,
                Err(_) => {
                    tracing::info!(
                        limit_secs = self.limit.as_secs(),
                        "request body not received in time"
                    );
                    StatusCode::REQUEST_TIMEOUT
                }
            };
        // The rest of the body may still come: do not read the next request from it.
        res.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        res.status_code(status);
        ctrl.skip_rest();
    }
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

    #[test]
    fn request_ids_have_the_shape_of_nginx_ids() {
        assert!(is_request_id("0f3c2a9be41d4c7a8d5e6f7a8b9c0d1e"));
        assert!(is_request_id("01M954RRBEG4Q1XZDM2VRWB4EB"));
        for bad in [
            "",
            "short",
            "has space in it 123",
            "<script>alert(1)</script>",
            "é",
        ] {
            assert!(!is_request_id(bad), "{bad}");
        }
        assert!(!is_request_id(&"a".repeat(65)));
    }
}

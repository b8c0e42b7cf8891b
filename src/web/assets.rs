//! Serves the embedded assets with long-lived cache headers and ETag revalidation.

use salvo::http::header::{self, HeaderValue};
use salvo::prelude::*;

use crate::assets;

/// `GET /assets/{**path}`.
#[handler]
pub async fn serve(req: &mut Request, res: &mut Response) {
    let path = req.param::<String>("path").unwrap_or_default();
    let Some(asset) = assets::get(&path) else {
        res.status_code(StatusCode::NOT_FOUND);
        return;
    };
    let headers = res.headers_mut();
    if let Ok(etag) = HeaderValue::from_str(&asset.etag) {
        headers.insert(header::ETAG, etag);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    let not_modified = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == asset.etag));
    if not_modified {
        res.status_code(StatusCode::NOT_MODIFIED);
        return;
    }
    if let Ok(mime) = HeaderValue::from_str(&asset.mime) {
        headers.insert(header::CONTENT_TYPE, mime);
    }
    res.write_body(asset.bytes.into_owned()).ok();
}

//! Static files compiled into the binary from `assets/`, served under `/assets/…`.
//!
//! Page links carry a content hash (`/assets/css/app.css?v=1a2b3c4d`), so responses can
//! be cached for a year: a new build changes the hash and therefore the URL. The ETag is
//! the same hash, for clients that revalidate anyway.

use std::collections::HashMap;
use std::sync::LazyLock;

use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "assets/"]
#[exclude = "data/*"]
#[exclude = "*.toml"]
#[exclude = "census/*"]
pub struct Assets;

/// Hash (first 16 hex digits of the SHA-256) of every embedded file, by path.
static HASHES: LazyLock<HashMap<String, String>> = LazyLock::new(|| {
    Assets::iter()
        .filter_map(|path| {
            let file = Assets::get(&path)?;
            let hash = hex::encode(&file.metadata.sha256_hash()[..8]);
            Some((path.into_owned(), hash))
        })
        .collect()
});

/// The versioned URL of an embedded asset. An unknown path is a programming error, caught
/// by the test that renders every page; it still yields a working, unversioned URL.
pub fn url(path: &str) -> String {
    match HASHES.get(path) {
        Some(hash) => format!("/assets/{path}?v={hash}"),
        None => format!("/assets/{path}"),
    }
}

/// An embedded file ready to serve.
pub struct Asset {
    pub bytes: std::borrow::Cow<'static, [u8]>,
    pub mime: String,
    pub etag: String,
}

/// Look up an asset by its path below `assets/`.
pub fn get(path: &str) -> Option<Asset> {
    let file = Assets::get(path)?;
    let etag = format!("\"{}\"", HASHES.get(path)?);
    Some(Asset {
        mime: file.metadata.mimetype().to_string(),
        bytes: file.data,
        etag,
    })
}

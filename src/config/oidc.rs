//! `[[oidc.providers]]`: log-in through Google or another OpenID Connect provider.
//!
//! Each entry names its provider by a short id (the URL slug: `/auth/<id>`), the label of
//! its button, the issuer, the client id and secret registered there, and the redirect
//! URL registered with it. `preset = "google"` fills Google's issuer and label. The secret
//! may be inline, in `client_secret_file`, or the systemd credential
//! `oidc_<id>_client_secret`. A broken entry fails start-up naming the key.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{ConfigError, Secret, resolve_secret};

/// Google's issuer (the `preset = "google"` default).
pub const GOOGLE_ISSUER: &str = "https://accounts.google.com";

/// The configured providers, in the order their buttons are shown.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OidcSettings {
    pub providers: Vec<OidcProvider>,
}

/// A provider whose defaults are known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    Google,
}

/// One OpenID Connect provider.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OidcProvider {
    /// Lower-case letters, digits and `-`: the URL slug and the key of stored links.
    pub id: String,
    pub preset: Option<Preset>,
    /// Shown on the button ("Entrar com <label>"); default from the preset or the id.
    pub label: String,
    /// The issuer URL, exactly as the provider's ID tokens name it.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Option<Secret>,
    pub client_secret_file: Option<PathBuf>,
    /// This site's callback as registered with the provider:
    /// `https://<site>/auth/<id>/callback`.
    pub redirect_url: String,
    /// Scopes asked for besides `openid email profile`.
    pub scopes: Vec<String>,
}

/// A key of entry `i`, for messages.
fn key(i: usize, field: &str) -> String {
    format!("oidc.providers[{i}].{field}")
}

fn invalid(i: usize, field: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::InvalidAt {
        key: key(i, field),
        reason: reason.into(),
    }
}

/// Whether `url` is a loopback address, where plain HTTP is allowed (tests, development).
fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// An absolute `https` URL (or `http` on loopback) without credentials or fragment.
fn web_url(i: usize, field: &str, raw: &str) -> Result<url::Url, ConfigError> {
    if raw.is_empty() {
        return Err(invalid(i, field, "is required"));
    }
    let url = url::Url::parse(raw).map_err(|e| invalid(i, field, format!("`{raw}`: {e}")))?;
    let secure = url.scheme() == "https" || (url.scheme() == "http" && is_loopback(&url));
    if !secure {
        return Err(invalid(
            i,
            field,
            "must be an https:// URL (http:// only on localhost)",
        ));
    }
    if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
        return Err(invalid(
            i,
            field,
            "must have no user, password or #fragment",
        ));
    }
    Ok(url)
}

impl OidcSettings {
    /// Apply presets and read each client secret (file, then systemd credential).
    pub(super) fn resolve(&mut self, creds: Option<&Path>) -> Result<(), ConfigError> {
        for (i, p) in self.providers.iter_mut().enumerate() {
            if p.preset == Some(Preset::Google) {
                if p.issuer.is_empty() {
                    p.issuer = GOOGLE_ISSUER.into();
                }
                if p.label.is_empty() {
                    p.label = "Google".into();
                }
                if p.id.is_empty() {
                    p.id = "google".into();
                }
            }
            if p.label.is_empty() {
                p.label = p.id.clone();
            }
            resolve_secret(
                &mut p.client_secret,
                p.client_secret_file.as_deref(),
                "oidc.providers.client_secret_file",
                creds,
                &format!("oidc_{}_client_secret", p.id.replace('-', "_")),
            )
            .map_err(|e| match e {
                ConfigError::Invalid { reason, .. } => invalid(i, "client_secret_file", reason),
                other => other,
            })?;
        }
        Ok(())
    }

    /// Check every entry; the error names the key at fault.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        for (i, p) in self.providers.iter().enumerate() {
            let id_ok = (1..=32).contains(&p.id.len())
                && p.id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !id_ok {
                return Err(invalid(
                    i,
                    "id",
                    "must be 1 to 32 lower-case letters, digits or - (it is the URL slug)",
                ));
            }
            if p.id == "complete" {
                return Err(invalid(i, "id", "`complete` is taken by the sign-up page"));
            }
            if self.providers[..i].iter().any(|q| q.id == p.id) {
                return Err(invalid(i, "id", format!("`{}` is used twice", p.id)));
            }
            if p.label.chars().count() > 40 {
                return Err(invalid(i, "label", "must be at most 40 characters"));
            }
            web_url(i, "issuer", &p.issuer)?;
            if p.client_id.trim().is_empty() {
                return Err(invalid(i, "client_id", "is required"));
            }
            if p.client_secret.as_ref().is_none_or(Secret::is_empty) {
                return Err(invalid(
                    i,
                    "client_secret",
                    format!(
                        "is required (client_secret, client_secret_file or the systemd \
                         credential oidc_{}_client_secret)",
                        p.id.replace('-', "_")
                    ),
                ));
            }
            let redirect = web_url(i, "redirect_url", &p.redirect_url)?;
            let expected = format!("/auth/{}/callback", p.id);
            if redirect.path() != expected || redirect.query().is_some() {
                return Err(invalid(
                    i,
                    "redirect_url",
                    format!("must end in {expected} (this site's callback), with no query"),
                ));
            }
            if let Some(bad) = p
                .scopes
                .iter()
                .find(|s| s.is_empty() || !s.bytes().all(|b| b.is_ascii_graphic() && b != b'"'))
            {
                return Err(invalid(i, "scopes", format!("`{bad}` is not a scope")));
            }
        }
        Ok(())
    }
}

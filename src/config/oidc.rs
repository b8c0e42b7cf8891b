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

#[cfg(test)]
mod tests {
    use figment::Figment;
    use figment::providers::{Format, Serialized, Toml};

    use super::super::{ConfigError, Settings};

    fn load(toml: &str) -> Result<Settings, ConfigError> {
        let figment =
            Figment::from(Serialized::defaults(Settings::default())).merge(Toml::string(toml));
        Settings::from_figment(figment)
    }

    const GOOGLE: &str = "[[oidc.providers]]\npreset = \"google\"\nclient_id = \"abc.apps.googleusercontent.com\"\n\
                          client_secret = \"s3cret\"\nredirect_url = \"https://pesquisa.example/auth/google/callback\"\n";

    #[test]
    fn the_google_preset_fills_issuer_label_and_id_and_hides_the_secret() {
        let s = load(GOOGLE).expect("valid");
        let p = &s.oidc.providers[0];
        assert_eq!(p.issuer, super::GOOGLE_ISSUER);
        assert_eq!((p.id.as_str(), p.label.as_str()), ("google", "Google"));
        let shown = s.to_redacted_toml();
        assert!(
            !shown.contains("s3cret") && shown.contains("***"),
            "{shown}"
        );
    }

    #[test]
    fn a_broken_entry_names_its_key() {
        for (change, key) in [
            (
                (
                    "client_id = \"abc.apps.googleusercontent.com\"",
                    "client_id = \"\"",
                ),
                "oidc.providers[0].client_id",
            ),
            (
                ("client_secret = \"s3cret\"", ""),
                "oidc.providers[0].client_secret",
            ),
            (
                ("/auth/google/callback", "/callback"),
                "oidc.providers[0].redirect_url",
            ),
            (
                ("https://pesquisa.example", "http://pesquisa.example"),
                "oidc.providers[0].redirect_url",
            ),
            (
                (
                    "preset = \"google\"",
                    "preset = \"google\"\nid = \"Google!\"",
                ),
                "oidc.providers[0].id",
            ),
            (
                (
                    "preset = \"google\"",
                    "preset = \"google\"\nid = \"complete\"",
                ),
                "oidc.providers[0].id",
            ),
            (
                (
                    "preset = \"google\"",
                    "preset = \"google\"\nissuer = \"ftp://x\"",
                ),
                "oidc.providers[0].issuer",
            ),
            (
                (
                    "preset = \"google\"",
                    "preset = \"google\"\nscopes = [\"\"]",
                ),
                "oidc.providers[0].scopes",
            ),
            (
                (
                    "client_secret = \"s3cret\"",
                    "client_secret_file = \"/nonexistent/secret\"",
                ),
                "oidc.providers[0].client_secret_file",
            ),
        ] {
            let toml = GOOGLE.replace(change.0, change.1);
            let err = load(&toml).expect_err(key).to_string();
            assert!(err.contains(key), "{key}: {err}");
        }
        let twice = format!("{GOOGLE}{GOOGLE}");
        let err = load(&twice).expect_err("twice").to_string();
        assert!(err.contains("oidc.providers[1].id"), "{err}");
        let err = load("[[oidc.providers]]\nid = \"x\"\nclient_ide = \"y\"\n")
            .expect_err("typo")
            .to_string();
        assert!(err.contains("client_ide"), "{err}");
    }

    #[test]
    fn the_secret_comes_from_the_systemd_credential() {
        let dir = std::env::temp_dir().join(format!("pesquisa-oidc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(dir.join("oidc_google_client_secret"), "from-credential\n").expect("write");
        let mut s: Settings = Figment::from(Serialized::defaults(Settings::default()))
            .merge(Toml::string(
                &GOOGLE.replace("client_secret = \"s3cret\"\n", ""),
            ))
            .extract()
            .expect("extract");
        s.oidc.resolve(Some(&dir)).expect("resolve");
        s.oidc.validate().expect("valid");
        let secret = s.oidc.providers[0]
            .client_secret
            .as_ref()
            .map(|x| x.expose().to_string());
        assert_eq!(secret.as_deref(), Some("from-credential"));
        std::fs::remove_dir_all(&dir).ok();
    }
}

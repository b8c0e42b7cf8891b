//! OpenID Connect relying party: the authorization code flow with PKCE (S256), state and
//! nonce, against each configured provider (`[[oidc.providers]]`, see
//! [`crate::config::oidc`]).
//!
//! The provider's discovery document and key set are fetched on first use (so a provider
//! outage never stops `serve` from starting) and cached; an ID token signed with a key id
//! the cache does not know refreshes the key set, at most once per
//! [`JWKS_REFRESH_EVERY`], since providers rotate keys. The ID token is checked for
//! issuer, audience, expiry, nonce and signature by the `openidconnect` crate, and the
//! address must be `email_verified`. Every failure is an [`OidcError`] that says whether
//! the provider could not be used (down, slow, answering badly) or its answer was refused.

use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdTokenClaims, CoreJsonWebKeySet, CoreProviderMetadata,
};
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken, IssuerUrl,
    Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, SignatureVerificationError,
    TokenResponse,
};
use serde::{Deserialize, Serialize};

use crate::config::OidcProvider;
use crate::config::OidcSettings;

/// How long the discovery document (and its key set) is used before it is fetched again.
const METADATA_TTL: Duration = Duration::from_secs(3600);
/// The key set is fetched again for an unknown key id at most this often, so forged
/// tokens naming made-up key ids cannot make the server hammer the provider.
pub const JWKS_REFRESH_EVERY: Duration = Duration::from_secs(60);
/// Connecting to the provider, and a whole request to it.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest claim kept from a token (names are cut, a longer subject is refused).
const MAX_CLAIM_CHARS: usize = 255;

/// Why a log-in through a provider did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// The provider could not be reached or answered badly (down, timeout, bad JSON).
    #[error("provider unavailable: {0}")]
    Unavailable(String),
    /// The provider's answer was refused (bad signature, audience, nonce, expiry...).
    #[error("ID token refused: {0}")]
    Rejected(String),
    /// The provider does not vouch for the e-mail address (absent or not verified).
    #[error("e-mail address not verified by the provider")]
    EmailNotVerified,
}

/// What one log-in attempt keeps between the redirect to the provider and its callback
/// (stored server-side for a few minutes, never sent to the browser).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flow {
    pub provider: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
    /// Where to go after log-in (a local path).
    pub next: String,
}

/// What the provider vouches for, after every check.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Identity {
    pub provider: String,
    pub subject: String,
    /// As the provider gave it (the caller parses it into an `Email`).
    pub email: String,
    pub given_name: String,
    pub family_name: String,
}

/// What is cached per provider.
#[derive(Default)]
struct Cache {
    metadata: Option<(CoreProviderMetadata, Instant)>,
    jwks_fetched: Option<Instant>,
}

/// One configured provider, with its cached discovery document.
pub struct Provider {
    pub settings: OidcProvider,
    cache: tokio::sync::Mutex<Cache>,
}

/// Every configured provider and the HTTP client that talks to them.
pub struct Providers {
    list: Vec<Provider>,
    http: reqwest::Client,
}

impl Providers {
    /// The providers named in the configuration (none fetched yet).
    pub fn new(settings: &OidcSettings) -> anyhow::Result<Providers> {
        let http = reqwest::Client::builder()
            // Following redirects would let a provider's answer send us anywhere (SSRF).
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            // A few requests per log-in: a fresh connection each time rather than one the
            // provider may have closed while it sat idle in the pool.
            .pool_max_idle_per_host(0)
            .build()
            .map_err(|e| anyhow::anyhow!("oidc: cannot build the HTTP client: {e}"))?;
        Ok(Providers {
            list: settings
                .providers
                .iter()
                .map(|p| Provider {
                    settings: p.clone(),
                    cache: tokio::sync::Mutex::default(),
                })
                .collect(),
            http,
        })
    }

    /// The provider with this id.
    pub fn get(&self, id: &str) -> Option<&Provider> {
        self.list.iter().find(|p| p.settings.id == id)
    }

    /// (id, label) of each provider, for the log-in buttons.
    pub fn buttons(&self) -> Vec<(String, String)> {
        self.list
            .iter()
            .map(|p| (p.settings.id.clone(), p.settings.label.clone()))
            .collect()
    }

    /// The client for `provider`, from its cached discovery document (fetched when
    /// missing or old).
    async fn client(&self, provider: &Provider) -> Result<Client, OidcError> {
        let mut cache = provider.cache.lock().await;
        let fresh = cache
            .metadata
            .as_ref()
            .is_some_and(|(_, at)| at.elapsed() < METADATA_TTL);
        if !fresh {
            let issuer = IssuerUrl::new(provider.settings.issuer.clone())
                .map_err(|e| OidcError::Unavailable(format!("issuer: {e}")))?;
            let metadata = CoreProviderMetadata::discover_async(issuer, &self.http)
                .await
                .map_err(|e| OidcError::Unavailable(format!("discovery: {}", chain(&e))))?;
            cache.metadata = Some((metadata, Instant::now()));
        }
        let Some((metadata, _)) = &cache.metadata else {
            return Err(OidcError::Unavailable("no discovery document".into()));
        };
        make_client(&provider.settings, metadata.clone())
    }

    /// Fetch the key set again, unless it was fetched again within [`JWKS_REFRESH_EVERY`]
    /// (the fetch with the discovery document does not count: a key rotated just after
    /// it is still found). Returns whether it was.
    async fn refresh_jwks(&self, provider: &Provider) -> Result<bool, OidcError> {
        let mut cache = provider.cache.lock().await;
        if cache
            .jwks_fetched
            .is_some_and(|at| at.elapsed() < JWKS_REFRESH_EVERY)
        {
            return Ok(false);
        }
        let Some((metadata, _)) = cache.metadata.as_mut() else {
            return Ok(false);
        };
        let jwks = CoreJsonWebKeySet::fetch_async(metadata.jwks_uri(), &self.http)
            .await
            .map_err(|e| OidcError::Unavailable(format!("key set: {}", chain(&e))))?;
        *metadata = metadata.clone().set_jwks(jwks);
        cache.jwks_fetched = Some(Instant::now());
        Ok(true)
    }

    /// Begin a log-in: the URL to send the browser to and what the callback will need.
    pub async fn start(
        &self,
        provider: &Provider,
        next: &str,
    ) -> Result<(String, Flow), OidcError> {
        let client = self.client(provider).await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("profile".into()))
            .set_pkce_challenge(challenge);
        for scope in &provider.settings.scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.url();
        let flow = Flow {
            provider: provider.settings.id.clone(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
            next: next.to_string(),
        };
        Ok((url.to_string(), flow))
    }

    /// Finish a log-in: exchange the code (with the PKCE verifier) and check the ID
    /// token. The caller has already matched the callback's `state` to `flow.state`.
    pub async fn finish(
        &self,
        provider: &Provider,
        flow: &Flow,
        code: &str,
    ) -> Result<Identity, OidcError> {
        let client = self.client(provider).await?;
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| OidcError::Unavailable(format!("token endpoint: {e}")))?
            .set_pkce_verifier(PkceCodeVerifier::new(flow.pkce_verifier.clone()))
            .request_async(&self.http)
            .await
            .map_err(|e| match &e {
                // The provider refused the code (used, expired, wrong verifier): its answer,
                // not an outage.
                openidconnect::RequestTokenError::ServerResponse(_) => {
                    OidcError::Rejected(format!("token endpoint: {}", chain(&e)))
                }
                _ => OidcError::Unavailable(format!("token endpoint: {}", chain(&e))),
            })?;
        let token = response
            .id_token()
            .ok_or_else(|| OidcError::Rejected("no ID token in the token response".into()))?;
        let nonce = Nonce::new(flow.nonce.clone());
        let claims = match token.claims(&client.id_token_verifier(), &nonce) {
            Ok(claims) => claims.clone(),
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) if self.refresh_jwks(provider).await? => {
                // The provider may have rotated its keys since the set was cached.
                let client = self.client(provider).await?;
                token
                    .claims(&client.id_token_verifier(), &nonce)
                    .map_err(|e| OidcError::Rejected(chain(&e)))?
                    .clone()
            }
            Err(e) => return Err(OidcError::Rejected(chain(&e))),
        };
        identity(&provider.settings.id, &claims)
    }
}

type Client = openidconnect::Client<
    openidconnect::EmptyAdditionalClaims,
    openidconnect::core::CoreAuthDisplay,
    openidconnect::core::CoreGenderClaim,
    openidconnect::core::CoreJweContentEncryptionAlgorithm,
    openidconnect::core::CoreJsonWebKey,
    openidconnect::core::CoreAuthPrompt,
    openidconnect::StandardErrorResponse<openidconnect::core::CoreErrorResponseType>,
    openidconnect::core::CoreTokenResponse,
    openidconnect::core::CoreTokenIntrospectionResponse,
    openidconnect::core::CoreRevocableToken,
    openidconnect::core::CoreRevocationErrorResponse,
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

fn make_client(p: &OidcProvider, metadata: CoreProviderMetadata) -> Result<Client, OidcError> {
    let redirect = RedirectUrl::new(p.redirect_url.clone())
        .map_err(|e| OidcError::Unavailable(format!("redirect_url: {e}")))?;
    let client: Client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(p.client_id.clone()),
        p.client_secret
            .as_ref()
            .map(|s| ClientSecret::new(s.expose().to_string())),
    )
    .set_redirect_uri(redirect);
    Ok(client)
}

/// The identity in verified claims, if the provider vouches for the e-mail address.
fn identity(provider: &str, claims: &CoreIdTokenClaims) -> Result<Identity, OidcError> {
    let subject = claims.subject().as_str();
    if subject.is_empty() || subject.chars().count() > MAX_CLAIM_CHARS {
        return Err(OidcError::Rejected("subject empty or too long".into()));
    }
    let email = claims.email().map(|e| e.as_str().to_string());
    let (Some(email), Some(true)) = (email, claims.email_verified()) else {
        return Err(OidcError::EmailNotVerified);
    };
    let name = |c: Option<String>| -> String {
        c.unwrap_or_default()
            .trim()
            .chars()
            .take(MAX_CLAIM_CHARS)
            .collect()
    };
    Ok(Identity {
        provider: provider.to_string(),
        subject: subject.to_string(),
        email,
        given_name: name(
            claims
                .given_name()
                .and_then(|n| n.get(None))
                .map(|n| n.to_string()),
        ),
        family_name: name(
            claims
                .family_name()
                .and_then(|n| n.get(None))
                .map(|n| n.to_string()),
        ),
    })
}

/// An error with its sources, for the log (no secrets: URLs and reasons only).
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

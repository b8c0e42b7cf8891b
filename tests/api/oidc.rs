//! Log-in through OpenID Connect, against a real provider: the OpenID-certified
//! `oidc-provider` npm package (tests/oidc/, pinned by its lockfile, installed with
//! `npm ci` when missing), started on loopback per test. The person's side at the
//! provider (its log-in form, redirects, cookies) is driven by a small HTTP agent.
//!
//! A compliant provider never signs a token for the wrong audience, with a stale expiry,
//! another nonce or an unknown key: those answers come from a rogue provider written
//! here (discovery document, key set and token endpoint with the forged ID token).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use openidconnect::core::{
    CoreIdToken, CoreIdTokenClaims, CoreJsonWebKeySet, CoreJwsSigningAlgorithm,
    CoreRsaPrivateSigningKey,
};
use openidconnect::{
    Audience, EmptyAdditionalClaims, EndUserEmail, IssuerUrl, JsonWebKeyId, Nonce,
    PrivateSigningKey, StandardClaims, SubjectIdentifier,
};
use pesquisa::config::{OidcProvider, Secret};
use pesquisa::db::schema::{user_identities, users};
use pesquisa::db::{DbError, DbPool};
use pesquisa::with_conn;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::*;

const CLIENT_ID: &str = "pesquisa-test";
const CLIENT_SECRET: &str = "pesquisa-test-secret";
/// The app under test answers at http://127.0.0.1 (the in-process client's base).
const REDIRECT: &str = "http://127.0.0.1/auth/test/callback";

fn oidc_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oidc")
}

/// `npm ci` in tests/oidc once, when its packages are missing.
fn ensure_installed() {
    static INSTALL: Mutex<()> = Mutex::new(());
    let _one = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = oidc_dir();
    if dir
        .join("node_modules/oidc-provider/package.json")
        .is_file()
    {
        return;
    }
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&dir)
        .status()
        .expect("npm on PATH (node and npm are needed for the OpenID provider)");
    assert!(status.success(), "npm ci in tests/oidc failed");
}

/// The real provider, stopped on drop.
struct RealProvider {
    child: Child,
    issuer: String,
    /// Kept open, so the provider's later output has somewhere to go.
    _stdout: BufReader<std::process::ChildStdout>,
}

impl RealProvider {
    fn start() -> RealProvider {
        ensure_installed();
        let mut child = Command::new("node")
            .arg("provider.mjs")
            .current_dir(oidc_dir())
            .env("OIDC_CLIENT_ID", CLIENT_ID)
            .env("OIDC_CLIENT_SECRET", CLIENT_SECRET)
            .env("OIDC_REDIRECT_URIS", REDIRECT)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node on PATH");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        let mut stdout = BufReader::new(stdout);
        stdout.read_line(&mut line).expect("provider output");
        let issuer = line
            .trim()
            .strip_prefix("listening ")
            .unwrap_or_else(|| panic!("provider did not start: {line:?}"))
            .to_string();
        RealProvider {
            child,
            issuer,
            _stdout: stdout,
        }
    }
}

impl Drop for RealProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn provider_settings(issuer: &str) -> OidcProvider {
    OidcProvider {
        id: "test".into(),
        label: "Provedor Teste".into(),
        issuer: issuer.into(),
        client_id: CLIENT_ID.into(),
        client_secret: Some(Secret::new(CLIENT_SECRET)),
        redirect_url: REDIRECT.into(),
        ..OidcProvider::default()
    }
}

async fn app_with(backend: Backend, issuer: &str) -> TestApp {
    let p = provider_settings(issuer);
    TestApp::spawn_with(backend, move |s| s.oidc.providers = vec![p]).await
}

/// The person's browser at the provider: follows its redirects, keeps its cookies, fills
/// its log-in form, and stops at the redirect back to the app.
struct Agent {
    http: reqwest::Client,
    cookies: BTreeMap<String, String>,
}

impl Agent {
    fn new() -> Agent {
        Agent {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            cookies: BTreeMap::new(),
        }
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> (u16, Option<String>, String) {
        let jar = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let res = req.header("cookie", jar).send().await.expect("provider");
        for c in res.headers().get_all("set-cookie") {
            let c = c.to_str().unwrap_or("");
            if let Some((name, rest)) = c.split_once('=') {
                let value = rest.split(';').next().unwrap_or("");
                self.cookies.insert(name.to_string(), value.to_string());
            }
        }
        let status = res.status().as_u16();
        let location = res
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        (status, location, res.text().await.unwrap_or_default())
    }

    /// From the app's redirect to the provider, log in as `login`; returns the app's
    /// callback (path and query).
    async fn log_in(&mut self, auth_url: &str, login: &str) -> String {
        let mut url = url::Url::parse(auth_url).expect("auth url");
        for _ in 0..10 {
            let (status, location, body) = self.send(self.http.get(url.clone())).await;
            let next = match location {
                Some(loc) => url.join(&loc).expect("location"),
                None => {
                    assert_eq!(status, 200, "provider page: {body}");
                    let action = body
                        .split("action=\"")
                        .nth(1)
                        .and_then(|s| s.split('"').next())
                        .unwrap_or_else(|| panic!("no form at the provider: {body}"));
                    let action = url.join(&action.replace("&amp;", "&")).expect("action");
                    let form = [("prompt", "login"), ("login", login), ("password", "x")];
                    let (_, location, body) = self.send(self.http.post(action).form(&form)).await;
                    let loc = location.unwrap_or_else(|| panic!("log-in refused: {body}"));
                    url.join(&loc).expect("location")
                }
            };
            if next.as_str().starts_with(REDIRECT) {
                return format!("{}?{}", next.path(), next.query().unwrap_or(""));
            }
            url = next;
        }
        panic!("no redirect back to the app");
    }
}

/// Start at the app, log in at the provider as `login`, and come back: the app's answer.
async fn log_in_through(app: &TestApp, b: &mut Browser, login: &str) -> Page {
    let start = b.get(&app.service, "/auth/test").await;
    assert_eq!(start.status, 302, "{}", start.body);
    let callback = Agent::new().log_in(start.location(), login).await;
    b.get(&app.service, &callback).await
}

async fn count(db: &DbPool, table: &str) -> i64 {
    let n: Result<i64, DbError> = async {
        match table {
            "users" => with_conn!(db, |conn| Ok(users::table.count().get_result(conn).await?)),
            "respondent_fingerprints" => with_conn!(db, |conn| Ok(
                pesquisa::db::schema::respondent_fingerprints::table
                    .filter(pesquisa::db::schema::respondent_fingerprints::phone.is_not_null())
                    .count()
                    .get_result(conn)
                    .await?
            )),
            _ => with_conn!(db, |conn| Ok(user_identities::table
                .count()
                .get_result(conn)
                .await?)),
        }
    }
    .await;
    n.expect("count")
}

async fn identity_of(db: &DbPool, user_id: i64) -> Vec<(String, String)> {
    let rows: Result<Vec<(String, String)>, DbError> = async {
        with_conn!(db, |conn| Ok(user_identities::table
            .filter(user_identities::user_id.eq(user_id))
            .select((user_identities::provider, user_identities::subject))
            .load(conn)
            .await?))
    }
    .await;
    rows.expect("identities")
}

async fn user_by_email(app: &TestApp, email: &str) -> pesquisa::db::users::User {
    pesquisa::db::users::find_by_email(app.db(), email)
        .await
        .expect("find")
        .expect("user exists")
}

fn complete_fields() -> Vec<(&'static str, &'static str)> {
    vec![
        ("nome", "Ana"),
        ("sobrenome", "Souza"),
        ("telefone", "(12) 99876-5432"),
        ("bairro", "JARDIM SÃO JOSÉ"),
        ("adult", "1"),
        ("accept_terms", "1"),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_person_signs_up_through_the_provider_then_answers() {
    let provider = RealProvider::start();
    for backend in ALL_BACKENDS {
        let app = app_with(backend, &provider.issuer).await;
        let mut b = Browser::default();
        for page in ["/login", "/register"] {
            let p = b.get(&app.service, page).await;
            assert!(
                p.body.contains("href=\"/auth/test\"")
                    && p.body.contains("Entrar com Provedor Teste"),
                "{backend:?}: {page} offers the provider"
            );
        }
        let start = b.get(&app.service, "/auth/test").await;
        assert_eq!(start.status, 302);
        let to = url::Url::parse(start.location()).expect("url");
        let q: BTreeMap<_, _> = to.query_pairs().into_owned().collect();
        assert!(to.as_str().starts_with(&provider.issuer));
        assert_eq!(
            q.get("code_challenge_method").map(String::as_str),
            Some("S256")
        );
        for k in ["state", "nonce", "code_challenge"] {
            assert!(q.get(k).is_some_and(|v| v.len() >= 22), "{k} sent");
        }
        let callback = Agent::new()
            .log_in(start.location(), "ana.souza@exemplo.com.br")
            .await;
        let back = b.get(&app.service, &callback).await;
        assert_eq!(back.status, 303, "{backend:?}: {}", back.body);
        assert_eq!(back.location(), "/auth/complete");
        assert_eq!(
            count(app.db(), "users").await,
            0,
            "no account before the profile"
        );

        let form = b.get(&app.service, "/auth/complete").await;
        assert_eq!(form.status, 200);
        assert!(form.body.contains("ana.souza@exemplo.com.br"));
        assert!(form.body.contains("value=\"Ana\"") && form.body.contains("value=\"Souza\""));
        assert!(
            form.body.contains("Termos de uso"),
            "the documents to accept"
        );

        // Missing bairro and consent: the fields say so; nothing stored.
        let token = form.csrf();
        let refused = b
            .post(
                &app.service,
                "/auth/complete",
                &[
                    ("csrf_token", &token),
                    ("nome", "Ana"),
                    ("sobrenome", "Souza"),
                ],
            )
            .await;
        assert_eq!(refused.status, 422);
        assert!(refused.body.contains("bairro-erro") && refused.body.contains("accept_terms-erro"));
        assert_eq!(count(app.db(), "users").await, 0);

        let done = b
            .submit(
                &app.service,
                "/auth/complete",
                "/auth/complete",
                &complete_fields(),
            )
            .await;
        assert_eq!(done.status, 303, "{}", done.body);
        assert_eq!(done.location(), "/survey");
        let user = user_by_email(&app, "ana.souza@exemplo.com.br").await;
        assert_eq!(user.password_hash, "", "no password");
        assert!(user.adult_declared_at.is_some());
        assert_eq!(
            identity_of(app.db(), user.id).await,
            vec![("test".to_string(), "ana.souza@exemplo.com.br".to_string())]
        );
        let consents = pesquisa::db::consents::of_user(app.db(), user.id)
            .await
            .expect("consents");
        assert!(consents.len() >= 2, "terms and privacy accepted");
        assert_eq!(
            count(app.db(), "respondent_fingerprints").await,
            1,
            "the new account's duplicate fingerprints, written with it"
        );
        let survey = b.get(&app.service, "/survey").await;
        assert!(
            survey.status == 200 || survey.status == 303,
            "{}",
            survey.body
        );
        let first = b.get(&app.service, "/survey/1").await;
        assert_eq!(first.status, 200, "the questionnaire");

        // The password form never opens a password-less account.
        for guess in ["", "x", " "] {
            let mut other = Browser::from_ip("198.51.100.9");
            let page = app
                .login(&mut other, "ana.souza@exemplo.com.br", guess)
                .await;
            assert_eq!(page.status, 422, "{guess:?}");
            assert!(other.session_cookie().is_none());
        }

        // Next time the link leads straight in.
        let mut again = Browser::from_ip("198.51.100.10");
        let page = log_in_through(&app, &mut again, "ana.souza@exemplo.com.br").await;
        assert_eq!(page.status, 303, "{}", page.body);
        assert_eq!(page.location(), "/survey");
        assert!(again.session_cookie().is_some());
        assert_eq!(count(app.db(), "users").await, 1);
        assert_eq!(count(app.db(), "user_identities").await, 1);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_existing_account_is_linked_by_its_address_and_keeps_its_password() {
    let provider = RealProvider::start();
    for backend in ALL_BACKENDS {
        let app = app_with(backend, &provider.issuer).await;
        app.signup("bia.lima@exemplo.com.br").await;
        let user = user_by_email(&app, "bia.lima@exemplo.com.br").await;
        let mut b = Browser::from_ip("198.51.100.11");
        // The provider spells the address with capitals: the canonical form matches.
        let page = log_in_through(&app, &mut b, "Bia.Lima@Exemplo.com.br").await;
        assert_eq!(page.status, 303, "{backend:?}: {}", page.body);
        assert_eq!(page.location(), "/survey");
        assert!(b.session_cookie().is_some());
        assert_eq!(count(app.db(), "users").await, 1, "no second account");
        assert_eq!(
            identity_of(app.db(), user.id).await,
            vec![("test".to_string(), "Bia.Lima@Exemplo.com.br".to_string())]
        );
        let mut pw = Browser::from_ip("198.51.100.12");
        let page = app
            .login(&mut pw, "bia.lima@exemplo.com.br", GOOD_PASSWORD)
            .await;
        assert_eq!(page.status, 303, "the password still works");
    }
}

/// Someone signed up first with the person's address and never verified it: the provider
/// proves the mailbox, so that account loses its password and sessions when it is linked.
#[tokio::test(flavor = "multi_thread")]
async fn an_unverified_account_with_the_address_loses_its_password_when_linked() {
    let provider = RealProvider::start();
    for backend in ALL_BACKENDS {
        let app = app_with(backend, &provider.issuer).await;
        let email = "rita.alves@exemplo.com.br";
        let mut squatter = Browser::from_ip("198.51.100.30");
        let fields = crate::helpers::signup_fields(email);
        let page = squatter
            .submit(
                &app.service,
                "/register",
                "/register",
                &crate::helpers::as_refs(&fields),
            )
            .await;
        assert_eq!(page.status, 303);
        assert_eq!(
            app.login(&mut squatter, email, GOOD_PASSWORD).await.status,
            303
        );
        assert_eq!(squatter.get(&app.service, "/account").await.status, 200);

        let mut b = Browser::from_ip("198.51.100.31");
        let page = log_in_through(&app, &mut b, email).await;
        assert_eq!(page.status, 303, "{backend:?}: {}", page.body);
        let user = user_by_email(&app, email).await;
        assert!(user.email_verified_at.is_some());
        assert!(
            !user.has_password(),
            "{backend:?}: the squatter's password is gone"
        );
        assert_eq!(
            squatter.get(&app.service, "/account").await.status,
            303,
            "the squatter's session ended"
        );
        let mut again = Browser::from_ip("198.51.100.32");
        assert_eq!(
            app.login(&mut again, email, GOOD_PASSWORD).await.status,
            422
        );
        assert_eq!(b.get(&app.service, "/account").await.status, 200);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn refusals_change_nothing_unverified_address_staff_wrong_state_provider_down() {
    let mut provider = RealProvider::start();
    for backend in ALL_BACKENDS {
        let app = app_with(backend, &provider.issuer).await;

        // email_verified false.
        let mut b = Browser::default();
        let page = log_in_through(&app, &mut b, "naoverificado@exemplo.com.br").await;
        assert_eq!(page.status, 403, "{backend:?}: {}", page.body);
        assert!(
            page.body
                .contains("não confirmou que o seu e-mail foi verificado")
        );
        assert!(b.session_cookie().is_none());
        assert_eq!(count(app.db(), "users").await, 0);
        assert_eq!(count(app.db(), "user_identities").await, 0);

        // A staff account is not reached through the provider.
        app.staff("gestora@exemplo.com.br", pesquisa::accounts::Role::Admin)
            .await;
        let mut b = Browser::from_ip("198.51.100.13");
        let page = log_in_through(&app, &mut b, "gestora@exemplo.com.br").await;
        assert_eq!(page.status, 403, "{}", page.body);
        assert!(
            page.body
                .contains("Contas da equipe entram com e-mail e senha")
        );
        assert!(b.session_cookie().is_none());
        assert_eq!(count(app.db(), "user_identities").await, 0);

        // A callback whose state is not this browser's flow.
        let mut b = Browser::from_ip("198.51.100.14");
        let start = b.get(&app.service, "/auth/test").await;
        let callback = Agent::new()
            .log_in(start.location(), "caio@exemplo.com.br")
            .await;
        let forged = callback.replace("state=", "state=x");
        let page = b.get(&app.service, &forged).await;
        assert_eq!(page.status, 400, "{}", page.body);
        assert!(page.body.contains("Este login expirou ou já foi usado"));
        let page = b.get(&app.service, &callback).await;
        assert_eq!(
            page.status, 400,
            "a flow is used once, even by a wrong state"
        );
        // Another browser (without this one's pre-session) cannot use the callback.
        let mut b2 = Browser::from_ip("198.51.100.14");
        let start = b.get(&app.service, "/auth/test").await;
        let callback = Agent::new()
            .log_in(start.location(), "caio@exemplo.com.br")
            .await;
        let page = b2.get(&app.service, &callback).await;
        assert_eq!(page.status, 400);
        assert!(b2.session_cookie().is_none() && b.session_cookie().is_none());
        assert_eq!(count(app.db(), "users").await, 1, "only the staff account");
    }

    // The provider goes down after the browser was sent there: a clear page, no 500.
    let app = app_with(Backend::SqliteMemory, &provider.issuer).await;
    let mut b = Browser::default();
    let start = b.get(&app.service, "/auth/test").await;
    let callback = Agent::new()
        .log_in(start.location(), "davi@exemplo.com.br")
        .await;
    let _ = provider.child.kill();
    let _ = provider.child.wait();
    let page = b.get(&app.service, &callback).await;
    assert_eq!(page.status, 502, "{}", page.body);
    assert!(page.body.contains("não respondeu agora"));
    assert!(page.body.contains("href=\"/login\""));
    assert_eq!(count(app.db(), "users").await, 0);

    // Down from the start (nothing listens on the issuer's port), on both backends.
    for backend in ALL_BACKENDS {
        let issuer = format!("http://127.0.0.1:{}", free_port());
        let app = app_with(backend, &issuer).await;
        let mut b = Browser::default();
        let page = b.get(&app.service, "/auth/test").await;
        assert_eq!(page.status, 502, "{backend:?}: {}", page.body);
        assert!(page.body.contains("Provedor Teste não respondeu agora"));
        b.headers.push(("accept-language", "en".into()));
        let page = b.get(&app.service, "/auth/test?lang=en").await;
        assert!(
            page.body.contains("is not answering right now"),
            "{}",
            page.body
        );
        assert!(b.session_cookie().is_none());
        let login = b.get(&app.service, "/login").await;
        assert_eq!(login.status, 200, "the password log-in still works");
    }
}

/// What the rogue provider answers with.
#[derive(Default)]
struct RogueState {
    jwks: String,
    id_token: String,
    jwks_fetches: usize,
}

/// A provider that signs whatever the test asks: discovery, key set, token endpoint.
struct Rogue {
    issuer: String,
    state: Arc<Mutex<RogueState>>,
}

impl Rogue {
    async fn start() -> Rogue {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let issuer = format!("http://{}", listener.local_addr().expect("addr"));
        let state = Arc::new(Mutex::new(RogueState::default()));
        let (iss, st) = (issuer.clone(), state.clone());
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let (iss, st) = (iss.clone(), st.clone());
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 16384];
                    let mut n = 0;
                    // The request head (bodies here are small and come with it or not at all).
                    while !buf[..n].windows(4).any(|w| w == b"\r\n\r\n") {
                        match sock.read(&mut buf[n..]).await {
                            Ok(0) | Err(_) => return,
                            Ok(k) => n += k,
                        }
                    }
                    let head = String::from_utf8_lossy(&buf[..n]).to_string();
                    let path = head.split(' ').nth(1).unwrap_or("/").to_string();
                    let body = match path.as_str() {
                        "/.well-known/openid-configuration" => serde_json::json!({
                            "issuer": iss,
                            "authorization_endpoint": format!("{iss}/authorize"),
                            "token_endpoint": format!("{iss}/token"),
                            "jwks_uri": format!("{iss}/jwks"),
                            "response_types_supported": ["code"],
                            "subject_types_supported": ["public"],
                            "id_token_signing_alg_values_supported": ["RS256"],
                        })
                        .to_string(),
                        "/jwks" => {
                            let mut s = st.lock().expect("state");
                            s.jwks_fetches += 1;
                            s.jwks.clone()
                        }
                        "/token" => serde_json::json!({
                            "access_token": "rogue",
                            "token_type": "Bearer",
                            "expires_in": 300,
                            "id_token": st.lock().expect("state").id_token,
                        })
                        .to_string(),
                        _ => "{}".into(),
                    };
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = sock.write_all(answer.as_bytes()).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        Rogue { issuer, state }
    }
}

fn key(which: &str, kid: &str) -> CoreRsaPrivateSigningKey {
    let pem = std::fs::read_to_string(oidc_dir().join(format!("rogue-key-{which}.pem")))
        .expect("test key");
    CoreRsaPrivateSigningKey::from_pem(&pem, Some(JsonWebKeyId::new(kid.into()))).expect("pem")
}

fn jwks(keys: &[&CoreRsaPrivateSigningKey]) -> String {
    serde_json::to_string(&CoreJsonWebKeySet::new(
        keys.iter().map(|k| k.as_verification_key()).collect(),
    ))
    .expect("jwks")
}

/// How a forged token differs from a good one.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Forgery {
    None,
    WrongNonce,
    Expired,
    WrongAudience,
    WrongIssuer,
    /// Signed by another key under the published key's id.
    WrongKey,
}

fn id_token(
    issuer: &str,
    nonce: &str,
    signer: &CoreRsaPrivateSigningKey,
    forgery: Forgery,
) -> String {
    let now = chrono::Utc::now();
    let exp = if forgery == Forgery::Expired {
        now - chrono::Duration::minutes(10)
    } else {
        now + chrono::Duration::minutes(5)
    };
    let aud = if forgery == Forgery::WrongAudience {
        "another-client"
    } else {
        CLIENT_ID
    };
    let iss = if forgery == Forgery::WrongIssuer {
        "http://127.0.0.1:9".to_string()
    } else {
        issuer.to_string()
    };
    let nonce = if forgery == Forgery::WrongNonce {
        "not-the-nonce"
    } else {
        nonce
    };
    let claims = CoreIdTokenClaims::new(
        IssuerUrl::new(iss).expect("iss"),
        vec![Audience::new(aud.into())],
        exp,
        now,
        StandardClaims::new(SubjectIdentifier::new("rogue-subject".into()))
            .set_email(Some(EndUserEmail::new("eva@exemplo.com.br".into())))
            .set_email_verified(Some(true)),
        EmptyAdditionalClaims {},
    )
    .set_nonce(Some(Nonce::new(nonce.into())));
    let token = CoreIdToken::new(
        claims,
        signer,
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        None,
        None,
    )
    .expect("sign");
    serde_json::to_value(&token)
        .expect("json")
        .as_str()
        .expect("string")
        .to_string()
}

/// Start at the app, answer the callback with what the rogue signs; the app's answer.
async fn rogue_round(
    app: &TestApp,
    rogue: &Rogue,
    b: &mut Browser,
    make: impl FnOnce(&str) -> String,
) -> Page {
    let start = b.get(&app.service, "/auth/test").await;
    assert_eq!(start.status, 302, "{}", start.body);
    let url = url::Url::parse(start.location()).expect("url");
    let q: BTreeMap<_, _> = url.query_pairs().into_owned().collect();
    rogue.state.lock().expect("state").id_token = make(&q["nonce"]);
    b.get(
        &app.service,
        &format!(
            "/auth/test/callback?code=c0de&state={}",
            url::form_urlencoded::byte_serialize(q["state"].as_bytes()).collect::<String>()
        ),
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn forged_id_tokens_are_refused_and_change_nothing() {
    let rogue = Rogue::start().await;
    let (a, b_key) = (key("a", "k1"), key("b", "k1"));
    rogue.state.lock().expect("state").jwks = jwks(&[&a]);
    for backend in ALL_BACKENDS {
        let app = app_with(backend, &rogue.issuer).await;
        for forgery in [
            Forgery::WrongNonce,
            Forgery::Expired,
            Forgery::WrongAudience,
            Forgery::WrongIssuer,
            Forgery::WrongKey,
        ] {
            let mut b = Browser::default();
            let signer = if forgery == Forgery::WrongKey {
                &b_key
            } else {
                &a
            };
            let page = rogue_round(&app, &rogue, &mut b, |nonce| {
                id_token(&rogue.issuer, nonce, signer, forgery)
            })
            .await;
            assert_eq!(page.status, 400, "{backend:?} {forgery:?}: {}", page.body);
            assert!(
                page.body.contains("não pôde ser confirmado com segurança"),
                "{forgery:?}"
            );
            assert!(b.session_cookie().is_none(), "{forgery:?}");
            let pending = b.get(&app.service, "/auth/complete").await;
            assert_eq!(pending.status, 400, "{forgery:?}: nobody waits to sign up");
        }
        assert_eq!(count(app.db(), "users").await, 0);
        assert_eq!(count(app.db(), "user_identities").await, 0);

        // The same token, honest: accepted (so the refusals above were for the forgery).
        let mut b = Browser::default();
        let page = rogue_round(&app, &rogue, &mut b, |nonce| {
            id_token(&rogue.issuer, nonce, &a, Forgery::None)
        })
        .await;
        assert_eq!(page.status, 303, "{backend:?}: {}", page.body);
        assert_eq!(page.location(), "/auth/complete");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_signing_key_is_fetched_once_then_refetching_waits() {
    let rogue = Rogue::start().await;
    let (a, b_key, c) = (key("a", "k1"), key("b", "k2"), key("b", "k3"));
    rogue.state.lock().expect("state").jwks = jwks(&[&a]);
    let app = app_with(Backend::SqliteMemory, &rogue.issuer).await;
    let mut b = Browser::default();
    let page = rogue_round(&app, &rogue, &mut b, |n| {
        id_token(&rogue.issuer, n, &a, Forgery::None)
    })
    .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(rogue.state.lock().expect("state").jwks_fetches, 1);

    // The provider rotates to k2: the unknown key id fetches the set again.
    rogue.state.lock().expect("state").jwks = jwks(&[&a, &b_key]);
    let page = rogue_round(&app, &rogue, &mut Browser::default(), |n| {
        id_token(&rogue.issuer, n, &b_key, Forgery::None)
    })
    .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(rogue.state.lock().expect("state").jwks_fetches, 2);

    // Made-up key ids right after: refused without another fetch.
    for _ in 0..3 {
        let page = rogue_round(&app, &rogue, &mut Browser::default(), |n| {
            id_token(&rogue.issuer, n, &c, Forgery::None)
        })
        .await;
        assert_eq!(page.status, 400);
    }
    assert_eq!(rogue.state.lock().expect("state").jwks_fetches, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn anonymous_starts_store_one_flow_per_browser_and_are_rate_limited() {
    let rogue = Rogue::start().await;
    rogue.state.lock().expect("state").jwks = jwks(&[&key("a", "k1")]);
    for backend in ALL_BACKENDS {
        let p = provider_settings(&rogue.issuer);
        let app = TestApp::spawn_with(backend, move |s| {
            s.oidc.providers = vec![p];
            s.rate_limit.login_per_ip = 6;
        })
        .await;
        assert_eq!(
            app.get("/auth/nenhum")
                .await
                .status_code
                .map(|s| s.as_u16()),
            Some(404)
        );
        let before = app.state.kv.key_count().await.expect("keys");
        let mut b = Browser::default();
        let mut states = Vec::new();
        for _ in 0..5 {
            let start = b.get(&app.service, "/auth/test").await;
            assert_eq!(start.status, 302);
            states.push(start.location().to_string());
        }
        let after = app.state.kv.key_count().await.expect("keys");
        // One flow (each start replaces the last) and the client's log-in counter.
        assert_eq!(after - before, 2, "{backend:?}");
        states.dedup();
        assert_eq!(states.len(), 5, "a fresh state each time");
        // The sixth start of this network is the last the limit allows.
        assert_eq!(b.get(&app.service, "/auth/test").await.status, 302);
        let refused = b.get(&app.service, "/auth/test").await;
        assert_eq!(refused.status, 429, "{backend:?}");
        // A client without cookies: each start is a new browser, still counted.
        let mut fresh = Browser::from_ip("198.51.100.30");
        for _ in 0..6 {
            assert_eq!(fresh.get(&app.service, "/auth/test").await.status, 302);
            fresh.cookies.clear();
        }
        assert_eq!(fresh.get(&app.service, "/auth/test").await.status, 429);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_provider_answering_badly_gives_the_unavailable_page() {
    let rogue = Rogue::start().await;
    rogue.state.lock().expect("state").jwks = "<html>not a key set</html>".into();
    for backend in ALL_BACKENDS {
        let app = app_with(backend, &rogue.issuer).await;
        let mut b = Browser::default();
        let page = b.get(&app.service, "/auth/test").await;
        assert_eq!(page.status, 502, "{backend:?}: {}", page.body);
        assert!(page.body.contains("Provedor Teste não respondeu agora"));
        assert!(b.session_cookie().is_none());
        // A token endpoint answering garbage once the log-in is under way.
        rogue.state.lock().expect("state").jwks = jwks(&[&key("a", "k1")]);
        let page = rogue_round(&app, &rogue, &mut b, |_| "not-a-jwt".into()).await;
        assert!(page.status == 502 || page.status == 400, "{}", page.body);
        assert_ne!(page.status, 500);
        rogue.state.lock().expect("state").jwks = "<html>not a key set</html>".into();
        assert_eq!(count(app.db(), "users").await, 0);
    }
}

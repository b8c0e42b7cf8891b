//! Test harness: each test gets its own MariaDB database (or SQLite file) and its own
//! Redis key prefix, migrated and wired into the real router, and removes them on drop.
//!
//! MariaDB and Redis are real servers: `TEST_MYSQL_URL` (default
//! `mysql://pesquisa_test:pesquisa_test@127.0.0.1:3306`, a user allowed to create
//! databases named `pesquisa_t_*`) and `TEST_REDIS_URL` (default `redis://127.0.0.1:6379`).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use diesel_async::{AsyncConnection, AsyncMysqlConnection, RunQueryDsl};
use pesquisa::config::{Secret, Settings};
use pesquisa::db::{DbPool, migrations};
use pesquisa::kv::Kv;
use pesquisa::web::state::AppState;
use salvo::prelude::*;
use salvo::test::{RequestBuilder, ResponseExt, TestClient};

/// Which pair of backends a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Production: MariaDB and Redis.
    MariaRedis,
    /// Embedded default: SQLite file and in-process store.
    SqliteMemory,
}

pub const ALL_BACKENDS: [Backend; 2] = [Backend::MariaRedis, Backend::SqliteMemory];

pub fn mysql_base_url() -> String {
    std::env::var("TEST_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://pesquisa_test:pesquisa_test@127.0.0.1:3306".into())
        .trim_end_matches('/')
        .to_string()
}

pub fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A TCP port free on loopback right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// A short random name part.
pub fn unique(tag: &str) -> String {
    use rand::Rng;
    let n: u64 = rand::rng().random();
    format!("{tag}{n:016x}")
}

/// Settings for a test on `backend`, with a fresh database name and key prefix.
pub fn test_settings(backend: Backend) -> (Settings, Option<String>, Option<PathBuf>) {
    let mut s = Settings::default();
    s.session.secret = Some(Secret::new("test-secret-test-secret-test-secret!"));
    s.logging.level = "warn".into();
    s.database.connect_timeout_secs = 5;
    // Real argon2id, at a lower cost so the suite stays quick; one test checks the defaults.
    s.passwords.memory_kib = 4096;
    s.passwords.iterations = 1;
    match backend {
        Backend::MariaRedis => {
            let db = unique("pesquisa_t_");
            s.database.url = format!("{}/{db}", mysql_base_url());
            s.database.pool_size = 8;
            s.redis.url = Some(redis_url());
            s.redis.key_prefix = format!("{}:", unique("pesquisa-test-"));
            (s, Some(db), None)
        }
        Backend::SqliteMemory => {
            let dir = std::env::temp_dir().join(unique("pesquisa-test-"));
            std::fs::create_dir_all(&dir).expect("temp dir");
            s.database.url = format!("sqlite://{}/pesquisa.db", dir.display());
            s.database.pool_size = 4;
            (s, None, Some(dir))
        }
    }
}

/// Run one statement on the MariaDB server as the test user (no database selected).
pub async fn mysql_admin(sql: &str) {
    let mut conn = AsyncMysqlConnection::establish(&mysql_base_url())
        .await
        .unwrap_or_else(|e| panic!("MariaDB at {} not reachable: {e}", mysql_base_url()));
    diesel::sql_query(sql)
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// One application instance under test, with the database and prefix it owns.
pub struct TestApp {
    pub state: AppState,
    pub service: std::sync::Arc<Service>,
    /// Held only so that its `Drop` removes the test's storage after the pools are gone.
    _owned: Owned,
}

/// What a test created and must remove: dropped last, after every pool of the test.
pub struct Owned {
    mysql_db: Option<String>,
    sqlite_dir: Option<PathBuf>,
    kv: Kv,
}

impl TestApp {
    /// A migrated instance on fresh storage.
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Like [`Self::spawn`], with the settings adjusted first.
    pub async fn spawn_with(backend: Backend, adjust: impl FnOnce(&mut Settings)) -> TestApp {
        let (mut settings, mysql_db, sqlite_dir) = test_settings(backend);
        adjust(&mut settings);
        if let Some(db) = &mysql_db {
            mysql_admin(&format!("CREATE DATABASE `{db}` CHARACTER SET utf8mb4")).await;
        }
        let state = AppState::connect(settings).await.expect("connect");
        migrations::run_pending(&state.db).await.expect("migrate");
        pesquisa::db::consents::seed_defaults(&state.db)
            .await
            .expect("seed documents");
        let service = std::sync::Arc::new(pesquisa::router::service(&state));
        TestApp {
            _owned: Owned {
                mysql_db,
                sqlite_dir,
                kv: state.kv.clone(),
            },
            state,
            service,
        }
    }

    pub async fn get(&self, path: &str) -> Response {
        TestClient::get(format!("http://127.0.0.1{path}"))
            .send(&*self.service)
            .await
    }

    /// GET from a loopback address (as a probe on the app VM itself).
    pub async fn get_local(&self, path: &str) -> Response {
        let mut req = TestClient::get(format!("http://127.0.0.1{path}")).build();
        *req.remote_addr_mut() = std::net::SocketAddr::from(([127, 0, 0, 1], 40000)).into();
        self.service.handle(req).await
    }

    pub async fn send(&self, req: RequestBuilder) -> Response {
        req.send(&*self.service).await
    }

    pub fn db(&self) -> &DbPool {
        &self.state.db
    }

    /// The messages queued for `to`, oldest first (the mail worker does not run in these
    /// in-process tests, so every message stays in the outbox).
    pub async fn mail_to(&self, to: &str) -> Vec<pesquisa::db::outbox::Queued> {
        pesquisa::db::outbox::to_recipient(self.db(), to)
            .await
            .expect("read outbox")
    }

    /// The newest message of `kind` to `to`.
    pub async fn last_mail(&self, to: &str, kind: &str) -> pesquisa::db::outbox::Queued {
        self.mail_to(to)
            .await
            .into_iter()
            .rev()
            .find(|m| m.kind == kind)
            .unwrap_or_else(|| panic!("no {kind} message queued for the address"))
    }

    /// The path and query of the first link to this site in the newest message of `kind`
    /// to `to` (the site's base URL is `server.public_url`, or `http://` + listen).
    pub async fn mail_link(&self, to: &str, kind: &str) -> String {
        let mail = self.last_mail(to, kind).await;
        let base = self.state.settings.public_base_url();
        let start = mail
            .body_text
            .find(&base)
            .unwrap_or_else(|| panic!("no link to {base} in the {kind} message"));
        mail.body_text[start + base.len()..]
            .split_whitespace()
            .next()
            .expect("link")
            .to_string()
    }

    /// The name of the MariaDB database this test owns (MariaDB tests only).
    pub fn mysql_db_name(&self) -> &str {
        self._owned
            .mysql_db
            .as_deref()
            .expect("a MariaDB-backed test")
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        let db = self.mysql_db.take();
        let kv = self.kv.clone();
        // Drop is synchronous; clean up on a private runtime in a plain thread.
        let cleanup = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                if let Some(db) = db {
                    mysql_admin(&format!("DROP DATABASE IF EXISTS `{db}`")).await;
                }
                if let Kv::Redis { .. } = kv {
                    let _ = tokio::time::timeout(Duration::from_secs(5), kv.clear_prefix()).await;
                }
            });
        });
        let _ = cleanup.join();
        if let Some(dir) = self.sqlite_dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// The body as text.
pub async fn body(res: &mut Response) -> String {
    res.take_string().await.expect("body")
}

/// A response reduced to what tests look at.
pub struct Page {
    pub status: u16,
    pub headers: salvo::http::HeaderMap,
    pub body: String,
}

impl Page {
    /// The `Set-Cookie` header that sets the cookie `name` (its whole text).
    pub fn set_cookie(&self, name: &str) -> String {
        let start = format!("{name}=");
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with(&start))
            .unwrap_or_else(|| panic!("no Set-Cookie for {name}"))
            .to_string()
    }

    pub fn location(&self) -> &str {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The CSRF token of the first form on the page.
    pub fn csrf(&self) -> String {
        self.body
            .split("name=\"csrf_token\" value=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap_or_else(|| panic!("no CSRF field in page:\n{}", self.body))
            .to_string()
    }
}

/// A browser-like client: keeps cookies across requests, comes from a fixed address.
#[derive(Clone)]
pub struct Browser {
    pub cookies: std::collections::BTreeMap<String, String>,
    pub peer: std::net::SocketAddr,
    pub headers: Vec<(&'static str, String)>,
}

impl Default for Browser {
    fn default() -> Self {
        Browser::from_ip("203.0.113.7")
    }
}

impl Browser {
    pub fn from_ip(ip: &str) -> Browser {
        Browser {
            cookies: Default::default(),
            peer: format!("{ip}:40000").parse().expect("ip"),
            headers: Vec::new(),
        }
    }

    pub fn session_cookie(&self) -> Option<&str> {
        self.cookies.get("pesquisa_sid").map(String::as_str)
    }

    async fn send(&mut self, service: &Service, builder: RequestBuilder) -> Page {
        let mut builder = builder;
        if !self.cookies.is_empty() {
            let jar = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            builder = builder.add_header("cookie", jar, true);
        }
        for (k, v) in self.headers.clone() {
            builder = builder.add_header(k, v, true);
        }
        let mut req = builder.build();
        *req.remote_addr_mut() = self.peer.into();
        let mut res = service.handle(req).await;
        for c in res.cookies.delta() {
            let gone =
                c.value().is_empty() || c.max_age().is_some_and(|a| a.is_zero() || a.is_negative());
            if gone {
                self.cookies.remove(c.name());
            } else {
                self.cookies
                    .insert(c.name().to_string(), c.value().to_string());
            }
        }
        let mut headers = res.headers().clone();
        for c in res.cookies.delta() {
            if let Ok(v) = c.encoded().to_string().parse() {
                headers.append("set-cookie", v);
            }
        }
        let status = res.status_code.map_or(200, |s| s.as_u16());
        let body = res.take_string().await.unwrap_or_default();
        Page {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&mut self, app: &Service, path: &str) -> Page {
        self.send(app, TestClient::get(format!("http://127.0.0.1{path}")))
            .await
    }

    pub async fn post(&mut self, app: &Service, path: &str, fields: &[(&str, &str)]) -> Page {
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        self.send(
            app,
            TestClient::post(format!("http://127.0.0.1{path}"))
                .add_header("content-type", "application/x-www-form-urlencoded", true)
                .raw_form(body),
        )
        .await
    }

    /// GET `form_page`, then POST `fields` plus its CSRF token to `action`.
    pub async fn submit(
        &mut self,
        app: &Service,
        form_page: &str,
        action: &str,
        fields: &[(&str, &str)],
    ) -> Page {
        let token = self.get(app, form_page).await.csrf();
        let mut all: Vec<(&str, &str)> = vec![("csrf_token", token.as_str())];
        all.extend_from_slice(fields);
        self.post(app, action, &all).await
    }
}

pub const GOOD_PASSWORD: &str = "cavalo correto bateria grampo";

/// Sign-up fields for a valid respondent with this e-mail.
pub fn signup_fields(email: &str) -> Vec<(&'static str, String)> {
    vec![
        ("nome", "Ana".into()),
        ("sobrenome", "Souza".into()),
        ("email", email.into()),
        ("telefone", "(12) 99876-5432".into()),
        ("bairro", "JARDIM SÃO JOSÉ".into()),
        ("password", GOOD_PASSWORD.into()),
        ("password_confirm", GOOD_PASSWORD.into()),
        ("adult", "1".into()),
        ("accept_terms", "1".into()),
    ]
}

pub fn as_refs<'a>(fields: &'a [(&'a str, String)]) -> Vec<(&'a str, &'a str)> {
    fields.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

impl TestApp {
    /// Sign up a respondent through the form; returns the logged-in browser.
    pub async fn signup(&self, email: &str) -> Browser {
        let mut b = Browser::default();
        let fields = signup_fields(email);
        let page = b
            .submit(&self.service, "/register", "/register", &as_refs(&fields))
            .await;
        assert_eq!(page.status, 303, "sign-up failed: {}", page.body);
        assert_eq!(page.location(), "/register/sent");
        let mut page = self.follow_verification(&mut b, email).await;
        // As a browser does: the page it lands on shows (and uses up) the notice.
        for _ in 0..5 {
            if page.status != 303 {
                break;
            }
            let to = page.location().to_string();
            page = b.get(&self.service, &to).await;
        }
        b
    }

    /// Follow the newest verification link mailed to `email` (its confirm button), as
    /// the person does from the mail; returns the answer to the confirm POST.
    /// Move the start of `b`'s session `secs` seconds into the past, as if it had signed
    /// in that long ago (the store keeps the session as JSON with a `created` time).
    pub async fn age_session(&self, b: &Browser, secs: i64) {
        let key = pesquisa::web::store_keys::session(b.session_cookie().expect("a session"));
        let text = self.state.kv.get(&key).await.expect("kv").expect("stored");
        let mut data: serde_json::Value = serde_json::from_str(&text).expect("json");
        let created = data["created"].as_i64().expect("created");
        data["created"] = (created - secs).into();
        self.state
            .kv
            .set(
                &key,
                &data.to_string(),
                std::time::Duration::from_secs(3600),
            )
            .await
            .expect("kv set");
    }

    pub async fn follow_verification(&self, b: &mut Browser, email: &str) -> Page {
        let to = pesquisa::accounts::fields::Email::parse(email)
            .map(|e| e.as_str().to_string())
            .unwrap_or_else(|_| email.to_string());
        let link = self.mail_link(&to, "verify_email").await;
        let token = link
            .split("token=")
            .nth(1)
            .expect("token in link")
            .to_string();
        let page = b
            .submit(
                &self.service,
                &link,
                "/verify",
                &[("token", token.as_str())],
            )
            .await;
        assert_eq!(page.status, 303, "verification failed: {}", page.body);
        page
    }

    /// Log in through the form; returns the response.
    pub async fn login(&self, b: &mut Browser, email: &str, password: &str) -> Page {
        b.submit(
            &self.service,
            "/login",
            "/login",
            &[("email", email), ("password", password)],
        )
        .await
    }

    /// Create a staff account directly, log it in and set up its two-step verification.
    pub async fn staff(&self, email: &str, role: pesquisa::accounts::Role) -> Browser {
        let mut b = self.staff_unenrolled(email, role).await;
        // Staff must set up two-step verification first (the default), as a person does.
        self.enrol_second_factor(&mut b).await;
        b
    }

    /// Create a staff account directly and log it in with the password only.
    pub async fn staff_unenrolled(&self, email: &str, role: pesquisa::accounts::Role) -> Browser {
        self.create_staff(email, role).await;
        // Staff accept the current documents like everyone else.
        let user = pesquisa::db::users::find_by_email(&self.state.db, email)
            .await
            .expect("find")
            .expect("exists");
        let docs: Vec<i64> = pesquisa::db::consents::current(&self.state.db)
            .await
            .expect("docs")
            .into_iter()
            .filter(|d| d.required)
            .map(|d| d.id)
            .collect();
        pesquisa::db::consents::accept(&self.state.db, user.id, &docs)
            .await
            .expect("accept");
        let mut b = Browser::from_ip("198.51.100.20");
        let page = self.login(&mut b, email, GOOD_PASSWORD).await;
        assert_eq!(page.status, 303, "{}", page.body);
        b
    }

    /// Create a staff account with [`GOOD_PASSWORD`] as `pesquisa admin create-user`
    /// does: no consent on record, not logged in.
    pub async fn create_staff(&self, email: &str, role: pesquisa::accounts::Role) {
        let hash = self
            .state
            .hasher
            .hash(&pesquisa::accounts::password::Password::any(GOOD_PASSWORD))
            .await
            .expect("hash");
        let now = pesquisa::db::users::now();
        pesquisa::db::users::create(
            &self.state.db,
            &pesquisa::db::users::NewUser {
                email,
                password_hash: &hash,
                role: role.as_str(),
                nome: "Equipe",
                sobrenome: "Teste",
                telefone: None,
                bairro: "",
                adult_declared_at: None,
                created_at: now,
                updated_at: now,
            },
            &[],
        )
        .await
        .expect("staff user");
    }

    /// Enrol the logged-in staff member in two-step verification through the pages: the
    /// key read from `/account/2fa`, the current code computed from it. Returns the secret
    /// and the page with the recovery codes.
    pub async fn enrol_second_factor(&self, b: &mut Browser) -> (Vec<u8>, Page) {
        use pesquisa::accounts::totp;
        let form = b.get(&self.service, "/account/2fa").await;
        assert_eq!(form.status, 200, "{}", form.body);
        let key = form
            .body
            .split("data-key=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap_or_else(|| panic!("no key on the page:\n{}", form.body));
        let secret = totp::from_base32(key).expect("base32 key");
        let code = totp::code_at(&secret, totp_step());
        let page = b
            .post(
                &self.service,
                "/account/2fa",
                &[
                    ("csrf_token", form.csrf().as_str()),
                    ("code", code.as_str()),
                ],
            )
            .await;
        assert_eq!(page.status, 200, "enrolment failed: {}", page.body);
        (secret, page)
    }

    /// A second instance on the same database and Redis (another "app VM").
    pub async fn sibling(&self) -> std::sync::Arc<Service> {
        let state = AppState::connect((*self.state.settings).clone())
            .await
            .expect("connect sibling");
        std::sync::Arc::new(pesquisa::router::service(&state))
    }
}

/// A private redis-server on its own port, so stopping it disturbs no other test.
pub struct PrivateRedis {
    pub port: u16,
    child: Option<Child>,
}

impl PrivateRedis {
    pub fn start(port: u16) -> PrivateRedis {
        Self::start_with(port, &[])
    }

    /// [`Self::start`] with more `redis-server` arguments (e.g. `--maxmemory 8mb`).
    pub fn start_with(port: u16, extra: &[&str]) -> PrivateRedis {
        let port_arg = port.to_string();
        let mut args = vec![
            "--port",
            &port_arg,
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ];
        args.extend_from_slice(extra);
        let child = Command::new("redis-server")
            .args(&args)
            .current_dir(std::env::temp_dir())
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server on PATH");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "redis did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        PrivateRedis {
            port,
            child: Some(child),
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The current TOTP time step.
pub fn totp_step() -> i64 {
    pesquisa::accounts::totp::step_of(chrono::Utc::now().timestamp() as u64)
}

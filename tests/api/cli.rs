//! The `pesquisa` binary as a sysadmin meets it: help, exit codes, configuration errors,
//! start-up failures, migrations, and a real `serve` with systemd notifications.

use std::io::{Read, Write};
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::{free_port, mysql_admin, mysql_base_url, redis_url, unique};

const SECRET: &str = "cli-test-secret-cli-test-secret-0123";

/// The binary with a clean environment: no inherited PESQUISA_* variables.
fn pesquisa(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pesquisa"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .current_dir(dir)
        .stdin(Stdio::null());
    cmd
}

/// A child process killed when the test ends, even by a failed assertion.
pub(crate) struct Reaper(pub(crate) Option<std::process::Child>);

impl Drop for Reaper {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

pub(crate) fn temp_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(unique("pesquisa-cli-"));
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A plain HTTP/1.1 GET; returns the status code and body.
fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let status = text.split(' ').nth(1)?.parse().ok()?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Some((status, body))
}

#[test]
fn help_lists_only_real_commands_and_usage_errors_exit_2() {
    let dir = temp_dir();
    let out = pesquisa(&dir).arg("--help").output().expect("run");
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for cmd in ["serve", "migrate", "check-config"] {
        assert!(help.contains(cmd), "{help}");
    }
    for subcommand in ["serve", "migrate", "check-config"] {
        let out = pesquisa(&dir)
            .args([subcommand, "--help"])
            .output()
            .expect("run");
        assert!(out.status.success(), "{subcommand} --help");
    }
    let out = pesquisa(&dir).arg("--no-such-flag").output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    let out = pesquisa(&dir).arg("frobnicate").output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn check_config_names_the_bad_key_and_hides_secrets() {
    let dir = temp_dir();
    std::fs::write(
        dir.join("typo.toml"),
        "[server]\nlisten = \"127.0.0.1:9000\"\ntrusted_proxy = []\n",
    )
    .expect("write");
    let out = pesquisa(&dir)
        .args(["--config", "typo.toml", "check-config"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("server.trusted_proxy"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one-line cause: {err}");

    let out = pesquisa(&dir)
        .env("PESQUISA_SERVER__LISTEN", "not-an-address")
        .arg("check-config")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).to_lowercase().contains("listen"),
        "{}",
        stderr(&out)
    );

    let out = pesquisa(&dir)
        .args(["--config", "missing.toml", "check-config"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("missing.toml"));

    std::fs::write(dir.join("session_secret"), SECRET).expect("write");
    let out = pesquisa(&dir)
        .env(
            "PESQUISA_DATABASE__URL",
            "mysql://app:dbpass123@db.internal/pesquisa",
        )
        .env("CREDENTIALS_DIRECTORY", &dir)
        .env("PESQUISA_REDIS__PASSWORD", "redispass456")
        .arg("check-config")
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    let shown = String::from_utf8_lossy(&out.stdout);
    for secret in ["dbpass123", "redispass456", SECRET] {
        assert!(!shown.contains(secret), "{secret} leaked: {shown}");
    }
    assert!(shown.contains("db.internal"));
    assert!(shown.contains("***"));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_cceb_table_with_overlapping_cut_offs_stops_the_start() {
    let dir = temp_dir();
    // The shipped CCEB 2026 table with B2 (55–65) widened down into C1 (46–54).
    let table = include_str!("../../assets/cceb/cceb-2026.toml").replace("min = 55", "min = 50");
    std::fs::write(dir.join("cceb.toml"), table).expect("write");
    let out = pesquisa(&dir)
        .env("PESQUISA_SURVEY__CCEB_TABLE", "cceb.toml")
        .arg("check-config")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("survey.cceb_table"), "{err}");
    assert!(
        err.contains("classes[2]") && err.contains("overlaps"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "one-line cause: {err}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn serve_fails_fast_with_the_cause() {
    let dir = temp_dir();
    // Port already taken.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let out = pesquisa(&dir)
        .env("PESQUISA_SERVER__LISTEN", format!("127.0.0.1:{port}"))
        .arg("serve")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("server.listen"), "{}", stderr(&out));
    // The metrics port taken: named by its own key.
    let out = pesquisa(&dir)
        .env(
            "PESQUISA_SERVER__LISTEN",
            format!("127.0.0.1:{}", free_port()),
        )
        .env(
            "PESQUISA_SERVER__METRICS_LISTEN",
            format!("127.0.0.1:{port}"),
        )
        .arg("serve")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("server.metrics_listen"),
        "{}",
        stderr(&out)
    );

    // Nothing listens on the database port.
    let started = Instant::now();
    let out = pesquisa(&dir)
        .env(
            "PESQUISA_DATABASE__URL",
            format!("mysql://app@127.0.0.1:{}/pesquisa", free_port()),
        )
        .env("PESQUISA_SESSION__SECRET", SECRET)
        .arg("serve")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        stderr(&out).contains("database: cannot connect"),
        "{}",
        stderr(&out)
    );

    // Wrong password.
    let mut url = url::Url::parse(&mysql_base_url()).expect("TEST_MYSQL_URL");
    url.set_username("nosuchuser").expect("user");
    url.set_password(Some("wrong")).expect("password");
    let url = url.as_str().trim_end_matches('/').to_string();
    let out = pesquisa(&dir)
        .env("PESQUISA_DATABASE__URL", format!("{url}/test"))
        .env("PESQUISA_SESSION__SECRET", SECRET)
        .arg("serve")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("database: cannot connect"),
        "{}",
        stderr(&out)
    );

    // Redis configured but not there.
    let out = pesquisa(&dir)
        .env(
            "PESQUISA_REDIS__URL",
            format!("redis://127.0.0.1:{}", free_port()),
        )
        .arg("serve")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("redis: cannot connect"),
        "{}",
        stderr(&out)
    );
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn migrate_then_serve_on_mariadb_and_redis() {
    let dir = temp_dir();
    let db = unique("pesquisa_t_");
    mysql_admin(&format!("CREATE DATABASE `{db}`")).await;
    let prefix = format!("{}:", unique("pesquisa-test-"));
    let port = free_port();
    let metrics_port = free_port();
    let with_env = |cmd: &mut Command| {
        cmd.env(
            "PESQUISA_DATABASE__URL",
            format!("{}/{db}", mysql_base_url()),
        )
        .env("PESQUISA_REDIS__URL", redis_url())
        .env("PESQUISA_REDIS__KEY_PREFIX", &prefix)
        .env("PESQUISA_SESSION__SECRET", SECRET)
        .env("PESQUISA_SERVER__LISTEN", format!("127.0.0.1:{port}"))
        .env(
            "PESQUISA_SERVER__METRICS_LISTEN",
            format!("127.0.0.1:{metrics_port}"),
        );
    };

    let mut cmd = pesquisa(&dir);
    with_env(&mut cmd);
    let out = cmd.arg("serve").output().expect("run");
    assert_eq!(
        out.status.code(),
        Some(1),
        "serve refuses an unmigrated MariaDB"
    );
    assert!(stderr(&out).contains("pending"), "{}", stderr(&out));
    assert!(stderr(&out).contains("foundation"), "{}", stderr(&out));

    let mut cmd = pesquisa(&dir);
    with_env(&mut cmd);
    let out = cmd.args(["migrate", "--pending"]).output().expect("run");
    assert!(String::from_utf8_lossy(&out.stdout).contains("pending 2026-11-27-000001_foundation"));

    let mut cmd = pesquisa(&dir);
    with_env(&mut cmd);
    let out = cmd.arg("migrate").output().expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("applied 2026-11-27-000001_foundation"));

    let mut cmd = pesquisa(&dir);
    with_env(&mut cmd);
    let out = cmd.arg("migrate").output().expect("run");
    assert!(String::from_utf8_lossy(&out.stdout).contains("up to date"));

    let mut cmd = pesquisa(&dir);
    with_env(&mut cmd);
    let mut guard = Reaper(Some(
        cmd.arg("serve")
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn"),
    ));
    let child = guard.0.as_mut().expect("child");
    let ready = wait_for(port, "/readyz", Duration::from_secs(10));
    let (status, body) = ready.expect("serve answers");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("mariadb") && body.contains("redis"), "{body}");
    // Metrics on their own address only, with both pools and the request just made.
    let (status, text) = http_get(metrics_port, "/metrics").expect("metrics answer");
    assert_eq!(status, 200, "{text}");
    for line in [
        r#"pesquisa_http_requests_total{route="/readyz",method="GET",status="200"} 1"#,
        r#"pesquisa_pool_connections{backend="database",state="idle"}"#,
        r#"pesquisa_pool_connections{backend="sessions",state="idle"}"#,
        "pesquisa_password_hash_queue_limit 64",
    ] {
        assert!(text.contains(line), "{line} not in:\n{text}");
    }
    let (status, _) = http_get(port, "/metrics").expect("site answers");
    assert_eq!(status, 404, "no metrics on the site's address");
    signal(child.id(), "TERM");
    let status = child.wait().expect("wait");
    assert!(status.success(), "clean exit on SIGTERM");
    mysql_admin(&format!("DROP DATABASE `{db}`")).await;
    std::fs::remove_dir_all(dir).ok();
}

pub(crate) fn wait_for(port: u16, path: &str, limit: Duration) -> Option<(u16, String)> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if let Some(answer) = http_get(port, path) {
            return Some(answer);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

fn signal(pid: u32, name: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .expect("kill");
    assert!(ok.success());
}

#[test]
fn embedded_serve_notifies_systemd_and_drains_on_sigterm() {
    let dir = temp_dir();
    let port = free_port();
    let socket_path = dir.join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).expect("notify socket");
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");

    let mut guard = Reaper(Some(
        pesquisa(&dir)
            .env("PESQUISA_SERVER__LISTEN", format!("127.0.0.1:{port}"))
            .env("NOTIFY_SOCKET", &socket_path)
            .env("WATCHDOG_USEC", "200000")
            .arg("serve")
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn"),
    ));
    let child = guard.0.as_mut().expect("child");
    let mut messages = Vec::new();
    let mut buf = [0u8; 256];
    let recv = |buf: &mut [u8]| -> String {
        // Other tests' child processes exiting can interrupt the wait (EINTR).
        loop {
            match socket.recv(buf) {
                Ok(n) => return String::from_utf8_lossy(&buf[..n]).into_owned(),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => panic!("no notification: {e}"),
            }
        }
    };
    messages.push(recv(&mut buf));
    assert!(messages[0].contains("READY=1"), "{messages:?}");
    // Ready means ready: the first request after READY=1 succeeds.
    assert_eq!(http_get(port, "/healthz").map(|r| r.0), Some(200));
    assert_eq!(http_get(port, "/readyz").map(|r| r.0), Some(200));
    assert_eq!(http_get(port, "/").map(|r| r.0), Some(200));
    // Transparent huge pages are off for the process (src/main.rs): they were 12 of an
    // idle server's 21 MB.
    let proc_status =
        std::fs::read_to_string(format!("/proc/{}/status", child.id())).expect("status");
    assert!(
        proc_status
            .lines()
            .any(|l| l.split_whitespace().eq(["THP_enabled:", "0"])),
        "{proc_status}"
    );
    let watchdog = recv(&mut buf);
    assert!(watchdog.contains("WATCHDOG=1"), "{watchdog}");

    signal(child.id(), "TERM");
    let mut stopping = false;
    for _ in 0..10 {
        let m = recv(&mut buf);
        if m.contains("STOPPING=1") {
            stopping = true;
            break;
        }
    }
    assert!(stopping, "STOPPING=1 sent");
    // Draining (server.drain_secs, 5 s by default): still serving, but no longer ready,
    // so a load balancer can move away before the sockets close.
    let (status, body) = http_get(port, "/readyz").expect("answers while draining");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("draining"), "{body}");
    assert_eq!(http_get(port, "/").map(|r| r.0), Some(200));
    let status = child.wait().expect("wait");
    assert!(status.success());
    assert!(
        dir.join("pesquisa.db").exists(),
        "embedded database created in the working directory"
    );
    let mut logs = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut logs)
        .expect("logs");
    assert!(logs.contains("pesquisa is serving"), "{logs}");
    std::fs::remove_dir_all(dir).ok();
}

/// A raw HTTP/1.1 request with `cookie` as its `Cookie` header; returns status, the
/// non-empty cookies set (if any) as a `Cookie` header value, and the body.
pub(crate) fn http(
    port: u16,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    form: Option<&str>,
) -> (u16, Option<String>, String) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    if let Some(c) = cookie {
        req.push_str(&format!("Cookie: {c}\r\n"));
    }
    if let Some(body) = form {
        req.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ));
    } else {
        req.push_str("\r\n");
    }
    s.write_all(req.as_bytes()).expect("write");
    let mut text = String::new();
    s.read_to_string(&mut text).expect("read");
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let set: Vec<String> = head
        .lines()
        .filter_map(|l| l.strip_prefix("set-cookie: "))
        .filter_map(|v| v.split(';').next())
        .filter(|pair| pair.split_once('=').is_some_and(|(_, v)| !v.is_empty()))
        .map(str::to_string)
        .collect();
    let cookies = (!set.is_empty()).then(|| set.join("; "));
    (status, cookies, body.to_string())
}

pub(crate) fn csrf_of(html: &str) -> String {
    html.split("name=\"csrf_token\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("csrf field")
        .to_string()
}

pub(crate) fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

#[test]
fn staff_accounts_come_from_the_cli_and_logs_hold_no_personal_data() {
    let dir = temp_dir();
    let port = free_port();
    let password = "frase secreta do administrador";
    // No database here yet: refused, naming --create, and no empty database is left behind
    // (an admin made in the wrong directory would be one nobody finds).
    let out = pesquisa(&dir)
        .args([
            "admin",
            "create-user",
            "--role",
            "admin",
            "--email",
            "chefe@exemplo.com.br",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("no database at") && err.contains("--create"),
        "{err}"
    );
    assert!(!dir.join("pesquisa.db").exists(), "a database was made");
    // Password from stdin, never an argument.
    let mut child = pesquisa(&dir)
        .args([
            "admin",
            "create-user",
            "--create",
            "--role",
            "admin",
            "--email",
            "Chefe@Exemplo.com.br",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{password}\n").as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("created admin account"));
    // Weak passwords and duplicate e-mails are refused with the flag named.
    let mut child = pesquisa(&dir)
        .args([
            "admin",
            "create-user",
            "--role",
            "analyst",
            "--email",
            "chefe@exemplo.com.br",
        ])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{password}\n").as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--email"), "{}", stderr(&out));
    let mut child = pesquisa(&dir)
        .args([
            "admin",
            "create-user",
            "--role",
            "analyst",
            "--email",
            "fraca@exemplo.com.br",
        ])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"123\n")
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("password refused"),
        "{}",
        stderr(&out)
    );
    let out = pesquisa(&dir)
        .args([
            "admin",
            "set-role",
            "--email",
            "ninguem@exemplo.com.br",
            "--role",
            "admin",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));

    let mut guard = Reaper(Some(
        pesquisa(&dir)
            .env("PESQUISA_SERVER__LISTEN", format!("127.0.0.1:{port}"))
            .env("PESQUISA_LOGGING__FORMAT", "json")
            .env("PESQUISA_LOGGING__LEVEL", "info")
            // This test reads the logs of a staff visit; the second factor is two_factor.rs's.
            .env("PESQUISA_ACCOUNTS__STAFF_REQUIRE_2FA", "false")
            .arg("serve")
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn"),
    ));
    let server = guard.0.as_mut().expect("child");
    wait_for(port, "/healthz", Duration::from_secs(10)).expect("serving");

    // A respondent signs up, fails a log-in, logs in; the admin logs in and looks around.
    let (_, sid, page) = http(port, "GET", "/register", None, None);
    let sid = sid.expect("the pre-session cookie of the form's CSRF token");
    assert!(
        sid.starts_with("pesquisa_sid_pre="),
        "no session before log-in: {sid}"
    );
    let email = "maria.privada@exemplo.com.br";
    let respondent_pw = "senha pessoal da maria";
    let body = form(&[
        ("csrf_token", &csrf_of(&page)),
        ("nome", "Mariazinha"),
        ("sobrenome", "Privada"),
        ("email", email),
        ("telefone", "12 99876 5432"),
        ("bairro", "VILA MONTERREY"),
        ("password", respondent_pw),
        ("password_confirm", respondent_pw),
        ("adult", "1"),
        ("accept_terms", "1"),
    ]);
    let (status, _, _) = http(port, "POST", "/register", Some(&sid), Some(&body));
    assert_eq!(status, 303);
    let (_, sid2, page) = http(port, "GET", "/login", None, None);
    let sid2 = sid2.expect("pre-session cookie");
    // Not verified yet (the link went to the mail folder), a password still logs in.
    let body = form(&[
        ("csrf_token", &csrf_of(&page)),
        ("email", email),
        ("password", respondent_pw),
    ]);
    let (status, user_sid, _) = http(port, "POST", "/login", Some(&sid2), Some(&body));
    assert_eq!(status, 303);
    let user_sid = user_sid.expect("logged-in session");
    let body = form(&[
        ("csrf_token", &csrf_of(&page)),
        ("email", email),
        ("password", "errada errada errada"),
    ]);
    assert_eq!(
        http(port, "POST", "/login", Some(&sid2), Some(&body)).0,
        422
    );
    let body = form(&[
        ("csrf_token", &csrf_of(&page)),
        ("email", "chefe@exemplo.com.br"),
        ("password", password),
    ]);
    let (status, admin_sid, _) = http(port, "POST", "/login", Some(&sid2), Some(&body));
    assert_eq!(status, 303);
    let admin_sid = admin_sid.expect("admin session");
    // Staff accept the current terms at their first log-in, like everyone else.
    let (_, _, page) = http(port, "GET", "/consent", Some(&admin_sid), None);
    let mut accept = vec![
        ("csrf_token".to_string(), csrf_of(&page)),
        ("accept".into(), "1".into()),
    ];
    for id in page
        .split("name=\"document\" value=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
    {
        accept.push(("document".into(), id.to_string()));
    }
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&accept)
        .finish();
    assert_eq!(
        http(port, "POST", "/consent", Some(&admin_sid), Some(&body)).0,
        303
    );
    let (status, _, page) = http(port, "GET", "/admin/users?q=maria", Some(&admin_sid), None);
    assert_eq!(status, 200);
    assert!(page.contains(email));
    assert_eq!(
        http(port, "GET", "/account/data", Some(&user_sid), None).0,
        200
    );

    signal(server.id(), "TERM");
    server.wait().expect("wait");
    let mut logs = String::new();
    server
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut logs)
        .expect("logs");
    drop(guard);
    assert!(
        logs.contains("\"message\":\"request\""),
        "JSON access log: {logs}"
    );
    for secret in [
        email,
        "chefe@exemplo.com.br",
        respondent_pw,
        password,
        "Mariazinha",
        "99876",
        &sid,
        &user_sid,
        &admin_sid,
        "maria",
    ] {
        assert!(
            !logs.contains(secret),
            "«{secret}» appears in the logs:\n{logs}"
        );
    }
    std::fs::remove_dir_all(dir).ok();
}

/// Reliability item 9: out of file descriptors, every accept failed with EMFILE and was
/// logged, 100 lines a second. Now `serve` holds no more client connections than its
/// open-file limit leaves room for; the rest wait in the listen queue, nothing is logged,
/// and it serves again as soon as connections close.
#[test]
fn out_of_file_descriptors_serve_neither_floods_the_log_nor_stops_serving() {
    let dir = temp_dir();
    let port = free_port();
    let log = dir.join("serve.log");
    let mut cmd = Command::new("prlimit");
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PESQUISA_SERVER__LISTEN", format!("127.0.0.1:{port}"))
        .env("PESQUISA_LOGGING__FORMAT", "json")
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log"))
        .args(["--nofile=128:128", env!("CARGO_BIN_EXE_pesquisa"), "serve"]);
    let _guard = Reaper(Some(cmd.spawn().expect("spawn")));
    let ready = wait_for(port, "/readyz", Duration::from_secs(10));
    assert_eq!(ready.expect("serve answers").0, 200);

    // Far more idle connections than 128 descriptors allow.
    let t = Instant::now();
    // Once the listen queue is full too, a connect waits for the kernel's retry: stop there.
    let addr: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    let idle: Vec<_> = (0..300)
        .map_while(|_| std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok())
        .collect();
    assert!(idle.len() > 128, "{} connections made", idle.len());
    eprintln!("TIMING connects {:?}", t.elapsed());
    std::thread::sleep(Duration::from_millis(1500));
    let text = std::fs::read_to_string(&log).expect("read log");
    let failures = text.matches("accept connection failed").count();
    assert_eq!(failures, 0, "accept errors logged:\n{text}");

    let t = Instant::now();
    drop(idle);
    let answer = wait_for(port, "/healthz", Duration::from_secs(10));
    eprintln!("TIMING after drop {:?}", t.elapsed());
    assert_eq!(answer.expect("serves again").0, 200);
    std::fs::remove_dir_all(dir).ok();
}

/// Stop a `serve` child with SIGTERM and return what it logged.
fn stop_and_read_logs(mut guard: Reaper) -> String {
    let mut child = guard.0.take().expect("child");
    signal(child.id(), "TERM");
    child.wait().expect("wait");
    let mut logs = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut logs)
        .expect("logs");
    logs
}

#[test]
fn a_first_run_is_guided_and_commands_never_make_a_database_in_the_wrong_place() {
    let dir = temp_dir();
    let db = dir.join("pesquisa.db");
    // Every command that would write (or read) refuses a directory without a study, and
    // leaves no empty database behind; those that may make one name --create.
    for (args, names_create) in [
        (vec!["migrate"], true),
        (vec!["dev", "generate-responses", "--count", "3"], true),
        (
            vec![
                "admin",
                "set-role",
                "--email",
                "a@exemplo.com.br",
                "--role",
                "admin",
            ],
            false,
        ),
        (
            vec!["admin", "unlock", "--email", "a@exemplo.com.br"],
            false,
        ),
        (vec!["export", "--format", "csv"], false),
        (vec!["report", "--format", "text"], false),
    ] {
        let out = pesquisa(&dir)
            .env("PESQUISA_SESSION__SECRET", SECRET)
            .args(&args)
            .output()
            .expect("run");
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains("pesquisa.db"),
            "{args:?} names the path: {err}"
        );
        assert_eq!(err.contains("--create"), names_create, "{args:?}: {err}");
        assert!(!db.exists(), "{args:?} made a database");
    }

    // The example values of who runs the study are warned about, not refused.
    let out = pesquisa(&dir).arg("check-config").output().expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("warning: accounts.controller") && err.contains("accounts.privacy_contact"),
        "{err}"
    );
    let study = [
        (
            "PESQUISA_ACCOUNTS__CONTROLLER",
            "Associação Comercial do Bairro",
        ),
        (
            "PESQUISA_ACCOUNTS__PRIVACY_CONTACT",
            "dpo@associacao.org.br",
        ),
    ];
    let out = pesquisa(&dir)
        .envs(study)
        .arg("check-config")
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
    let out = pesquisa(&dir)
        .env("PESQUISA_ACCOUNTS__CONTROLLER", " ")
        .arg("check-config")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("accounts.controller"),
        "{}",
        stderr(&out)
    );

    // Asked for, a new database is made (and migrated).
    let out = pesquisa(&dir)
        .args(["migrate", "--create"])
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(db.exists());

    // serve says where to point a browser and, with no admin yet, how to make one; the
    // home page names who runs the study and the contact.
    let serve = |port: u16| {
        let guard = Reaper(Some(
            pesquisa(&dir)
                .envs(study)
                .env("PESQUISA_SERVER__LISTEN", format!("0.0.0.0:{port}"))
                .env("PESQUISA_SERVER__DRAIN_SECS", "0")
                .arg("serve")
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn"),
        ));
        wait_for(port, "/healthz", Duration::from_secs(10)).expect("serving");
        guard
    };
    let port = free_port();
    let guard = serve(port);
    let (status, home) = http_get(port, "/").expect("home");
    assert_eq!(status, 200);
    assert!(
        home.contains("Associação Comercial do Bairro") && home.contains("dpo@associacao.org.br"),
        "{home}"
    );
    let logs = stop_and_read_logs(guard);
    assert!(
        logs.contains(&format!("http://127.0.0.1:{port}/")),
        "the URL to open: {logs}"
    );
    assert!(
        logs.contains("pesquisa admin create-user --role admin"),
        "{logs}"
    );
    assert!(!logs.contains("is still the example"), "{logs}");

    let mut child = pesquisa(&dir)
        .args([
            "admin",
            "create-user",
            "--role",
            "admin",
            "--email",
            "chefe@exemplo.com.br",
        ])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"frase secreta do administrador\n")
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success(), "{}", stderr(&out));
    let port = free_port();
    let logs = stop_and_read_logs(serve(port));
    assert!(logs.contains("pesquisa is serving"), "{logs}");
    assert!(!logs.contains("create-user"), "an admin exists now: {logs}");

    // The help says what the options mean.
    let help = |args: &[&str]| {
        let out = pesquisa(&dir).args(args).output().expect("run");
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let text = help(&["admin", "create-user", "--help"]);
    assert!(
        text.contains("analyst:") && text.contains("--create"),
        "{text}"
    );
    let text = help(&["export", "--help"]);
    assert!(text.contains("xlsx"), "{text}");
    std::fs::remove_dir_all(dir).ok();
}

/// `--exclude-flagged` through the built binary, on both backends: `export` leaves the
/// flagged response out (and keeps it without the flag), `report` counts one complete
/// fewer and says the filter was applied.
#[tokio::test(flavor = "multi_thread")]
async fn exclude_flagged_leaves_the_flagged_response_out_of_export_and_report() {
    use crate::helpers::{ALL_BACKENDS, TestApp};
    // The test settings' secret, so that the binary's pseudonyms are the test's.
    const TEST_SECRET: &str = "test-secret-test-secret-test-secret!";
    for backend in ALL_BACKENDS {
        let app = TestApp::spawn(backend).await;
        let [clean, flagged] = crate::quality::one_clean_one_flagged(&app).await;
        let dir = temp_dir();
        let url = app.state.settings.database.url.clone();
        let run = |args: &[&str]| -> String {
            let out = pesquisa(&dir)
                .env("PESQUISA_DATABASE__URL", &url)
                .env("PESQUISA_SESSION__SECRET", TEST_SECRET)
                .env("PESQUISA_LOGGING__LEVEL", "warn")
                .args(args)
                .output()
                .expect("run");
            assert!(out.status.success(), "{args:?}: {}", stderr(&out));
            String::from_utf8(out.stdout).expect("utf-8")
        };
        let ids = |csv: &str| -> Vec<String> {
            let mut ids: Vec<String> = csv
                .lines()
                .skip(1)
                .map(|l| l.split(',').next().unwrap_or_default().to_string())
                .collect();
            ids.sort();
            ids
        };
        let pseudonym = |id| pesquisa::export::pseudonym::response_id(TEST_SECRET.as_bytes(), id);
        let mut both = vec![pseudonym(clean), pseudonym(flagged)];
        both.sort();
        // The flag shows in the data rows (`qualidade`) only while the response is there.
        let flagged_rows = |csv: &str| {
            csv.lines()
                .skip(1)
                .filter(|l| l.contains(",inconsistente,"))
                .count()
        };
        let all = run(&["export", "--format", "csv"]);
        assert_eq!(ids(&all), both, "{backend:?}");
        assert_eq!(flagged_rows(&all), 1, "{all}");
        let only_clean = run(&["export", "--format", "csv", "--exclude-flagged"]);
        assert_eq!(ids(&only_clean), [pseudonym(clean)], "{backend:?}");
        assert_eq!(flagged_rows(&only_clean), 0, "{only_clean}");

        let report = |extra: &[&str]| -> serde_json::Value {
            let mut args = vec!["report", "--format", "json"];
            args.extend_from_slice(extra);
            serde_json::from_str(&run(&args)).expect("json")
        };
        let all = report(&[]);
        let clean_only = report(&["--exclude-flagged"]);
        assert_eq!(all["completes"], 2, "{backend:?}");
        assert_eq!(clean_only["completes"], 1, "{backend:?}");
        assert_eq!(all["sample_flow"]["flagged"], 1, "{backend:?}");
        assert_eq!(
            (
                &all["sample_flow"]["used"],
                &clean_only["sample_flow"]["used"]
            ),
            (&serde_json::json!(2), &serde_json::json!(1)),
            "{backend:?}"
        );
        assert_eq!(clean_only["filters"]["exclude_flagged"], true);
        assert_eq!(all["filters"]["exclude_flagged"], false);
        std::fs::remove_dir_all(&dir).ok();
    }
}

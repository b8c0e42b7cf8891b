//! The embedded SQLite database on a full file system, for real: the server runs in a
//! private mount namespace whose database directory is a small tmpfs, which the test fills
//! through `/proc/PID/root` and frees again. The mount exists only in that namespace, so
//! it disappears with the server process whatever happens to the test (no mount is ever
//! left behind). Needs root (CI runs as root); skipped loudly otherwise.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::cli::{Reaper, csrf_of, form, http, temp_dir, wait_for};

/// `unshare` with a clean environment (no inherited PESQUISA_* variables).
fn unshare(dir: &Path) -> Command {
    let mut cmd = Command::new("unshare");
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .current_dir(dir)
        .stdin(Stdio::null());
    cmd
}
use crate::helpers::{free_port, unique};

/// One sign-up attempt (the register form, then its POST): the POST's status.
fn sign_up(port: u16, email: &str) -> u16 {
    let (status, cookie, page) = http(port, "GET", "/register", None, None);
    assert_eq!(status, 200, "GET /register: {page}");
    let pw = "frase de teste do disco cheio";
    let body = form(&[
        ("csrf_token", &csrf_of(&page)),
        ("nome", "Teste"),
        ("sobrenome", "Disco"),
        ("email", email),
        ("telefone", ""),
        ("bairro", "VILA MONTERREY"),
        ("password", pw),
        ("password_confirm", pw),
        ("adult", "1"),
        ("accept_terms", "1"),
    ]);
    http(port, "POST", "/register", cookie.as_deref(), Some(&body)).0
}

fn readyz(port: u16) -> (u16, String) {
    let (status, _, body) = http(port, "GET", "/readyz", None, None);
    (status, body)
}

/// Fills the file system holding `dir` with `dir/filler` until the kernel refuses.
fn fill(dir: &Path) -> PathBuf {
    let filler = dir.join("filler");
    let mut f = std::fs::File::create(&filler).expect("filler");
    for chunk in [64 * 1024, 4096, 1] {
        let block = vec![0u8; chunk];
        while f.write_all(&block).is_ok() {}
    }
    let _ = f.sync_all();
    filler
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// On a full disk a write answers 503 (never 500), `/readyz` is not ready, the cause is
/// logged a bounded number of times however many requests fail, and once space is freed
/// writes and readiness come back without a restart. The WAL is bounded meanwhile.
#[test]
fn sqlite_on_a_full_disk_answers_503_and_recovers_when_space_is_freed() {
    if !is_root() {
        eprintln!(
            "\n\n*** SKIPPED sqlite_on_a_full_disk_*: needs root for a private tmpfs \
             (mount namespace); CI runs as root ***\n"
        );
        return;
    }
    let dir = temp_dir();
    let mnt = dir.join("db");
    std::fs::create_dir_all(&mnt).expect("mount point");
    let port = free_port();
    let mut guard = Reaper(Some(
        unshare(&dir)
            // unshare execs sh, which execs the server: one process, whose namespace
            // (and tmpfs) ends with it.
            .args(["--mount", "--propagation", "private", "sh", "-c"])
            .arg(r#"mount -t tmpfs -o size=3m,mode=0700 pesquisa-full "$1" && exec "$2" serve"#)
            .arg("sh")
            .arg(&mnt)
            .arg(env!("CARGO_BIN_EXE_pesquisa"))
            .env(
                "PESQUISA_DATABASE__URL",
                format!("sqlite://{}/pesquisa.db", mnt.display()),
            )
            .env("PESQUISA_SERVER__LISTEN", format!("127.0.0.1:{port}"))
            .env(
                "PESQUISA_SESSION__SECRET",
                "disk-test-secret-disk-test-secret-0123",
            )
            .env("PESQUISA_LOGGING__LEVEL", "warn")
            .env("PESQUISA_PASSWORDS__MEMORY_KIB", "4096")
            .env("PESQUISA_PASSWORDS__ITERATIONS", "1")
            .env("PESQUISA_RATE_LIMIT__REGISTER_PER_IP", "100000")
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn"),
    ));
    let server = guard.0.as_mut().expect("child");
    let pid = server.id();
    let logs = Arc::new(Mutex::new(String::new()));
    {
        let logs = logs.clone();
        let mut err = server.stderr.take().expect("stderr");
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                logs.lock()
                    .expect("logs")
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
    }
    let ready = wait_for(port, "/readyz", Duration::from_secs(20));
    assert_eq!(
        ready.as_ref().map(|r| r.0),
        Some(200),
        "{ready:?} {}",
        logs.lock().expect("logs")
    );
    assert_eq!(
        sign_up(port, &format!("{}@exemplo.com.br", unique("a"))),
        303
    );

    // The database directory as the server sees it.
    let inside =
        PathBuf::from(format!("/proc/{pid}/root")).join(mnt.strip_prefix("/").expect("absolute"));
    let filler = fill(&inside);

    let failing = 30;
    for i in 0..failing {
        let status = sign_up(port, &format!("cheio{i}-{}@exemplo.com.br", unique("")));
        assert_eq!(status, 503, "sign-up {i} on a full disk");
    }
    let (status, body) = readyz(port);
    assert_eq!(
        status, 503,
        "not ready while the database cannot write: {body}"
    );
    assert!(body.contains("full"), "{body}");
    std::thread::sleep(Duration::from_millis(300));
    let full_lines = logs
        .lock()
        .expect("logs")
        .lines()
        .filter(|l| l.contains("disk is full"))
        .count();
    assert!(
        (1..=5).contains(&full_lines),
        "the cause is logged, not once per request: {full_lines} lines for {failing} failures\n{}",
        logs.lock().expect("logs")
    );

    // Space freed: writes and readiness come back, no restart.
    std::fs::remove_file(&filler).expect("free space");
    let started = Instant::now();
    while readyz(port).0 != 200 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "still not ready after freeing space: {:?}",
            readyz(port)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        sign_up(port, &format!("{}@exemplo.com.br", unique("b"))),
        303
    );
    assert!(
        guard
            .0
            .as_mut()
            .expect("child")
            .try_wait()
            .expect("wait")
            .is_none(),
        "the same server process"
    );
    drop(guard);
    std::fs::remove_dir_all(dir).ok();
}

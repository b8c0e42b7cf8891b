//! A real SMTP server for the mail tests: `tests/smtp/sink.py` (Debian's python3-aiosmtpd,
//! installed by scripts/test-services.sh) on a loopback port, writing one JSON file per
//! message it accepted, which [`SmtpSink::messages`] reads back. It can offer STARTTLS or
//! TLS with a certificate from a private CA made here ([`TestCa`]), require a password,
//! or refuse every recipient; and it can be stopped and started again on the same port
//! (an SMTP outage).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::{free_port, unique};

/// One accepted message, as the sink decoded it.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Received {
    pub mail_from: String,
    pub rcpt_tos: Vec<String>,
    /// Lower-case header names, decoded values.
    pub headers: BTreeMap<String, String>,
    pub content_type: String,
    pub text: Option<String>,
    pub html: Option<String>,
    pub tls: bool,
    pub authenticated: bool,
    /// The client's source port: one per SMTP connection.
    pub client_port: u16,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(String::as_str).unwrap_or("")
    }
}

/// The python that has Debian's aiosmtpd (not a pyenv one earlier on PATH).
fn python() -> String {
    std::env::var("SMTP_PYTHON").unwrap_or_else(|_| {
        if Path::new("/usr/bin/python3").exists() {
            "/usr/bin/python3".into()
        } else {
            "python3".into()
        }
    })
}

/// A running (or stopped) sink on a fixed port.
pub struct SmtpSink {
    pub port: u16,
    pub dir: PathBuf,
    args: Vec<String>,
    child: Option<(Child, std::io::BufReader<std::process::ChildStdout>)>,
}

impl SmtpSink {
    /// Plain SMTP on a free port.
    pub fn start() -> SmtpSink {
        Self::start_with(&[])
    }

    /// With extra sink.py options (`--tls-cert`, `--user`, `--reject-rcpt`, ...).
    pub fn start_with(args: &[&str]) -> SmtpSink {
        let mut sink = Self::stopped_with(args);
        sink.up();
        sink
    }

    /// A port reserved for a sink that is not running yet: connections are refused.
    pub fn stopped_with(args: &[&str]) -> SmtpSink {
        let dir = std::env::temp_dir().join(unique("pesquisa-smtp-"));
        std::fs::create_dir_all(&dir).expect("sink dir");
        SmtpSink {
            port: free_port(),
            dir,
            args: args.iter().map(|a| a.to_string()).collect(),
            child: None,
        }
    }

    /// Start it (again) on its port.
    pub fn up(&mut self) {
        assert!(self.child.is_none(), "already running");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/smtp/sink.py");
        let log = self.dir.join("sink.log");
        let mut child = Command::new(python())
            .arg(&script)
            .args(["--listen", &format!("127.0.0.1:{}", self.port)])
            .arg("--dir")
            .arg(self.dir.join("box"))
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("sink log"))
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {} (apt-get install python3-aiosmtpd): {e}",
                    python()
                )
            });
        // Kept open while it runs: a closed pipe would end the sink at its next print.
        let mut out = std::io::BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        let ready =
            std::io::BufRead::read_line(&mut out, &mut line).is_ok() && line.starts_with("READY");
        if !ready {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the SMTP sink did not start: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        self.child = Some((child, out));
    }

    /// Stop it: the port refuses connections until [`Self::up`].
    pub fn down(&mut self) {
        if let Some((mut c, _out)) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(5) {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Every message accepted so far, in order.
    pub fn messages(&self) -> Vec<Received> {
        let Ok(entries) = std::fs::read_dir(self.dir.join("box")) else {
            return Vec::new();
        };
        let mut names: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension().is_some_and(|x| x == "json")
                    && !p
                        .file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            })
            .collect();
        names.sort();
        names
            .iter()
            .map(|p| {
                serde_json::from_str(&std::fs::read_to_string(p).expect("read message"))
                    .expect("sink JSON")
            })
            .collect()
    }

    /// The messages to `to`.
    pub fn to(&self, to: &str) -> Vec<Received> {
        self.messages()
            .into_iter()
            .filter(|m| m.rcpt_tos.iter().any(|r| r.eq_ignore_ascii_case(to)))
            .collect()
    }

    /// Wait until at least `n` messages have arrived; returns them all.
    pub async fn wait_for(&self, n: usize, limit: Duration) -> Vec<Received> {
        let started = Instant::now();
        loop {
            let got = self.messages();
            if got.len() >= n {
                return got;
            }
            assert!(
                started.elapsed() < limit,
                "{} of {n} messages arrived within {limit:?}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.down();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A private CA and a server certificate it signed for 127.0.0.1 and localhost, made
/// with the openssl command.
pub struct TestCa {
    pub dir: PathBuf,
}

impl TestCa {
    pub fn new() -> TestCa {
        let dir = std::env::temp_dir().join(unique("pesquisa-ca-"));
        std::fs::create_dir_all(&dir).expect("ca dir");
        let run = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(&dir)
                .output()
                .expect("openssl");
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        run(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=pesquisa test CA",
        ]);
        run(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ]);
        std::fs::write(
            dir.join("ext.cnf"),
            "basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n",
        )
        .expect("ext");
        run(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ]);
        TestCa { dir }
    }

    pub fn ca(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// sink.py options serving this certificate.
    pub fn sink_args(&self) -> Vec<String> {
        vec![
            "--tls-cert".into(),
            self.dir.join("server.pem").display().to_string(),
            "--tls-key".into(),
            self.dir.join("server.key").display().to_string(),
        ]
    }
}

impl Drop for TestCa {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

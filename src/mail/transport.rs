//! Where a message goes: an SMTP server (`[mail]` host, port, security, credentials) or,
//! without one, a folder of `.eml` files (owner-only), and how an outbox row becomes an
//! RFC 5322 message (multipart/alternative text + HTML, Message-ID, Date, Reply-To).

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use lettre::message::{Mailbox, MultiPart, header};
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{MailSecurity, Settings};
use crate::db::outbox::Claimed;

/// How long one SMTP exchange may take (connect, TLS, each command). The worker's claim
/// lease is longer, so no other instance takes a message while it is being sent.
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// How long an SMTP connection stays open after the last message. The worker sends one
/// message at a time, so one pooled connection carries a burst of messages (a batch of
/// sign-ups) without a new TCP and TLS handshake each; the server's own idle limit is
/// at least 5 minutes (RFC 5321 4.5.3.2.7), so 30 s never meets it.
const SMTP_IDLE: Duration = Duration::from_secs(30);

/// Why a message was not handed over.
#[derive(Debug)]
pub struct SendError {
    /// The server refused it for good (5xx) or the message cannot be built: retrying
    /// would not help.
    pub permanent: bool,
    /// What went wrong; may contain the address (the worker redacts it before logging).
    pub message: String,
}

/// The headers every message gets from `[mail]`.
#[derive(Debug, Clone)]
struct Envelope {
    from: Mailbox,
    reply_to: Option<Mailbox>,
    /// The right-hand side of Message-IDs: the sender's domain.
    id_domain: String,
}

/// Where the worker hands messages.
pub struct Transport {
    kind: Kind,
    envelope: Envelope,
}

enum Kind {
    Smtp {
        smtp: AsyncSmtpTransport<Tokio1Executor>,
        host: String,
        port: u16,
        security: MailSecurity,
    },
    Folder(PathBuf),
}

impl Transport {
    /// The transport `[mail]` describes; an unreadable `mail.tls_ca_file` or an unusable
    /// folder is an error naming the key.
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Transport> {
        let mail = &settings.mail;
        let from = mail.from_mailbox()?;
        let envelope = Envelope {
            id_domain: from.email.domain().to_string(),
            reply_to: mail.reply_to_mailbox()?,
            from,
        };
        let kind = match &mail.host {
            Some(host) => Kind::Smtp {
                smtp: smtp_transport(settings, host)?,
                host: host.clone(),
                port: mail.port,
                security: mail.security,
            },
            None => {
                let dir = mail.eml_dir(&settings.database);
                ensure_private_dir(&dir).with_context(|| {
                    format!(
                        "mail.dir: cannot create the .eml folder {} (set mail.dir or mail.host)",
                        dir.display()
                    )
                })?;
                Kind::Folder(std::path::absolute(&dir).unwrap_or(dir))
            }
        };
        Ok(Transport { kind, envelope })
    }

    /// For the start-up log: where mail goes (no credentials).
    pub fn describe(&self) -> String {
        match &self.kind {
            Kind::Smtp {
                host,
                port,
                security,
                ..
            } => format!("SMTP {host}:{port} ({security:?})").to_lowercase(),
            Kind::Folder(dir) => format!(".eml files in {}", dir.display()),
        }
    }

    /// The `.eml` folder, when there is no SMTP server.
    pub fn folder(&self) -> Option<&Path> {
        match &self.kind {
            Kind::Folder(dir) => Some(dir),
            Kind::Smtp { .. } => None,
        }
    }

    /// Whether handing a message over twice does no harm: a `.eml` file written again
    /// replaces itself (its name comes from the row). The worker then hands over a whole
    /// claimed batch before marking it sent in one statement; over SMTP it marks each
    /// message as soon as the server has taken it, since a repeat would be a second mail.
    pub fn repeatable(&self) -> bool {
        matches!(self.kind, Kind::Folder(_))
    }

    /// Hand one message over.
    pub async fn send(&self, row: &Claimed) -> Result<(), SendError> {
        match &self.kind {
            Kind::Smtp { smtp, .. } => {
                let message = build_message(&self.envelope, row)?;
                smtp.send(message).await.map(|_| ()).map_err(|e| SendError {
                    permanent: e.is_permanent(),
                    message: error_chain(&e),
                })
            }
            Kind::Folder(dir) => self
                .write_files(dir, std::slice::from_ref(row))
                .await
                .pop()
                .unwrap_or_else(|| Err(writing("no result"))),
        }
    }

    /// Hand `rows` over, one result each in the same order: into the folder with one
    /// blocking task for all the files, or over SMTP one after the other.
    pub async fn send_all(&self, rows: &[Claimed]) -> Vec<Result<(), SendError>> {
        match &self.kind {
            Kind::Folder(dir) => self.write_files(dir, rows).await,
            Kind::Smtp { .. } => {
                let mut results = Vec::with_capacity(rows.len());
                for row in rows {
                    results.push(self.send(row).await);
                }
                results
            }
        }
    }

    /// Each row as a `.eml` file in `dir`: the messages built here, the files written and
    /// synced on a blocking thread, one task for all of them.
    async fn write_files(&self, dir: &Path, rows: &[Claimed]) -> Vec<Result<(), SendError>> {
        let built: Vec<Result<(PathBuf, Vec<u8>), SendError>> = rows
            .iter()
            .map(|row| {
                let message = build_message(&self.envelope, row)?;
                Ok((dir.join(eml_name(row)), message.formatted()))
            })
            .collect();
        let count = built.len();
        tokio::task::spawn_blocking(move || {
            built
                .into_iter()
                .map(|file| {
                    let (path, bytes) = file?;
                    write_private(&path, &bytes).map_err(|e| writing(&e.to_string()))
                })
                .collect()
        })
        .await
        .unwrap_or_else(|e| (0..count).map(|_| Err(writing(&e.to_string()))).collect())
    }
}

/// A failed `.eml` write: worth retrying (a full disk, a permission fixed meanwhile).
fn writing(error: &str) -> SendError {
    SendError {
        permanent: false,
        message: format!("writing the .eml file: {error}"),
    }
}

fn smtp_transport(
    settings: &Settings,
    host: &str,
) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
    let mail = &settings.mail;
    let tls = || -> anyhow::Result<TlsParameters> {
        let mut params = TlsParameters::builder(host.to_string());
        if let Some(ca) = &mail.tls_ca_file {
            let pem = std::fs::read(ca)
                .with_context(|| format!("mail.tls_ca_file: cannot read {}", ca.display()))?;
            let cert = Certificate::from_pem(&pem).map_err(|e| {
                anyhow::anyhow!(
                    "mail.tls_ca_file: {} is not PEM certificates: {e}",
                    ca.display()
                )
            })?;
            params = params.add_root_certificate(cert);
        }
        params
            .build_rustls()
            .map_err(|e| anyhow::anyhow!("mail: TLS set-up failed: {e}"))
    };
    let tls = match mail.security {
        MailSecurity::Starttls => Tls::Required(tls()?),
        MailSecurity::Tls => Tls::Wrapper(tls()?),
        MailSecurity::None => Tls::None,
    };
    // EHLO with the site's own name when known; servers may check it resolves.
    let hello = settings
        .server
        .public_url
        .as_ref()
        .and_then(|u| u.host_str())
        .map(|h| ClientId::Domain(h.to_string()))
        .unwrap_or_default();
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
        .port(mail.port)
        .tls(tls)
        .timeout(Some(SMTP_TIMEOUT))
        .hello_name(hello)
        // lettre checks a pooled connection with NOOP before reusing it, so one the
        // server closed meanwhile is replaced rather than failing the send.
        .pool_config(PoolConfig::new().max_size(1).idle_timeout(SMTP_IDLE));
    if let Some(user) = &mail.username {
        let password = mail
            .password
            .as_ref()
            .map(|p| p.expose().to_string())
            .unwrap_or_default();
        builder = builder.credentials(Credentials::new(user.clone(), password));
    }
    Ok(builder.build())
}

/// An error with its causes, on one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

/// The message for one row. Its Message-ID is the same on every attempt (derived from
/// the row), so a receiver can drop a copy sent twice after a lost acknowledgement.
fn build_message(envelope: &Envelope, row: &Claimed) -> Result<Message, SendError> {
    let to: Mailbox = row.recipient.parse().map_err(|e| SendError {
        permanent: true,
        message: format!("invalid recipient address: {e}"),
    })?;
    let mut builder = Message::builder()
        .from(envelope.from.clone())
        .to(to)
        .subject(row.subject.clone())
        .date_now()
        .message_id(Some(format!(
            "<pesquisa.{}.{}@{}>",
            row.id,
            row.created_at.and_utc().timestamp_micros(),
            envelope.id_domain
        )))
        // No tracking of any kind, and no auto-replies to these messages. The kind lets a
        // mail filter (and the tests) tell the messages apart; it says nothing personal.
        .header(AutoSubmitted)
        .header(PesquisaKind(row.kind.clone()));
    if let Some(reply_to) = &envelope.reply_to {
        builder = builder.reply_to(reply_to.clone());
    }
    builder
        .multipart(MultiPart::alternative_plain_html(
            row.body_text.clone(),
            row.body_html.clone(),
        ))
        .map_err(|e| SendError {
            permanent: true,
            message: format!("cannot build the message: {e}"),
        })
}

/// `Auto-Submitted: auto-generated` (RFC 3834): these are machine-sent notices.
#[derive(Debug, Clone)]
struct AutoSubmitted;

impl header::Header for AutoSubmitted {
    fn name() -> header::HeaderName {
        header::HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(AutoSubmitted)
    }

    fn display(&self) -> header::HeaderValue {
        header::HeaderValue::new(Self::name(), "auto-generated".into())
    }
}

/// `X-Pesquisa-Kind: verify_email`: which of the site's messages this is.
#[derive(Debug, Clone)]
struct PesquisaKind(String);

impl header::Header for PesquisaKind {
    fn name() -> header::HeaderName {
        header::HeaderName::new_from_ascii_str("X-Pesquisa-Kind")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(PesquisaKind(s.to_string()))
    }

    fn display(&self) -> header::HeaderValue {
        header::HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// A file name that says when and what, never to whom.
fn eml_name(row: &Claimed) -> String {
    format!(
        "{}-{:06}-{}.eml",
        row.created_at.format("%Y%m%dT%H%M%S"),
        row.id,
        row.kind
    )
}

/// Create `dir` (and parents) owner-only; warn when an existing one is open to others.
fn ensure_private_dir(dir: &Path) -> std::io::Result<()> {
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    let mode = std::fs::metadata(dir)?.permissions().mode();
    if mode & 0o077 != 0 {
        tracing::warn!(
            folder = %dir.display(),
            mode = format!("{:o}", mode & 0o777),
            "the .eml folder is readable by other users; the messages hold addresses and sign-in links (chmod 700)"
        );
    }
    Ok(())
}

/// Write `bytes` to `path` as an owner-only file, complete or not at all (a temporary
/// file renamed into place), so a reader never sees half a message.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("eml.tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> Claimed {
        Claimed {
            id: 7,
            kind: "verify_email".into(),
            recipient: "Joana <joana@example.com>".into(),
            subject: "Confirme seu e-mail — pesquisa".into(),
            body_text: "Olá, Joana\n\nhttps://pesquisa.example.br/verify?t=abc\n".into(),
            body_html: "<p>Olá, Joana</p>".into(),
            created_at: chrono::NaiveDate::from_ymd_opt(2026, 12, 6)
                .and_then(|d| d.and_hms_opt(10, 0, 0))
                .expect("date"),
            attempts: 0,
        }
    }

    fn envelope() -> Envelope {
        Envelope {
            from: "Pesquisa <pesquisa@example.br>".parse().expect("from"),
            reply_to: Some("contato@example.br".parse().expect("reply-to")),
            id_domain: "example.br".into(),
        }
    }

    #[test]
    fn a_message_has_both_parts_and_the_headers() {
        let m = build_message(&envelope(), &row()).expect("message");
        let text = String::from_utf8(m.formatted()).expect("utf-8");
        for needle in [
            "From: Pesquisa <pesquisa@example.br>",
            "Reply-To: contato@example.br",
            "To: Joana <joana@example.com>",
            "Message-ID: <pesquisa.7.",
            "@example.br>",
            "Date: ",
            "Auto-Submitted: auto-generated",
            "X-Pesquisa-Kind: verify_email",
            "multipart/alternative",
            "text/plain; charset=utf-8",
            "text/html; charset=utf-8",
        ] {
            assert!(text.contains(needle), "{needle} missing from:\n{text}");
        }
        let again = String::from_utf8(build_message(&envelope(), &row()).expect("m").formatted())
            .expect("utf-8");
        let id = |t: &str| {
            t.lines()
                .find(|l| l.starts_with("Message-ID"))
                .map(str::to_string)
        };
        assert_eq!(
            id(&text),
            id(&again),
            "the same Message-ID on every attempt"
        );
    }

    #[test]
    fn a_bad_recipient_is_a_permanent_failure() {
        let mut r = row();
        r.recipient = "not an address".into();
        let e = build_message(&envelope(), &r).expect_err("refused");
        assert!(e.permanent);
    }

    #[test]
    fn eml_names_carry_no_address() {
        assert_eq!(eml_name(&row()), "20261206T100000-000007-verify_email.eml");
    }
}

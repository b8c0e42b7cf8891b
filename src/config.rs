//! Configuration: built-in defaults, then a TOML file, then `PESQUISA_*` environment
//! variables (nested keys split on `__`), merged with figment.
//!
//! Every struct refuses unknown keys, so a typo fails at start-up with the key's name
//! instead of being silently ignored. Secrets (`database.password`, `redis.password`,
//! `session.secret`) may be given inline, through a `*_file` key, or through systemd's
//! `$CREDENTIALS_DIRECTORY/<name>`; [`Settings::load`] resolves them once, so the rest of
//! the program only sees [`Secret`] values that never print themselves.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

pub use crate::accounts::hasher::PasswordSettings;

pub mod oidc;
pub use oidc::{OidcProvider, OidcSettings};
pub mod quality;
pub use quality::QualitySettings;
pub mod quotas;
pub use quotas::QuotaSettings;

/// Where the configuration file is looked for when `--config` is not given.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/pesquisa/pesquisa.toml";

/// A configuration problem, always naming the key at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Figment(Box<figment::Error>),
    #[error("configuration file {path}: {reason}")]
    File { path: String, reason: String },
    #[error("configuration key `{key}`: {reason}")]
    Invalid { key: &'static str, reason: String },
    /// A key built at run time, such as `oidc.providers[1].client_id`.
    #[error("configuration key `{key}`: {reason}")]
    InvalidAt { key: String, reason: String },
}

impl From<figment::Error> for ConfigError {
    fn from(e: figment::Error) -> Self {
        ConfigError::Figment(Box::new(e))
    }
}

fn invalid(key: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key,
        reason: reason.into(),
    }
}

/// A secret string: `Debug` and `Display` print `***`, and it serializes as `***`.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The secret itself; call only where it is used, never to log.
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("***")
    }
}

/// The whole configuration, one struct per concern.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub redis: RedisSettings,
    pub session: SessionSettings,
    pub passwords: PasswordSettings,
    pub rate_limit: RateLimitSettings,
    pub accounts: AccountsSettings,
    pub survey: SurveySettings,
    pub report: ReportSettings,
    pub logging: LoggingSettings,
    pub mail: MailSettings,
    pub oidc: OidcSettings,
    pub weighting: WeightingSettings,
    pub quality: QualitySettings,
    pub quotas: QuotaSettings,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    /// Address and port to listen on.
    pub listen: SocketAddr,
    /// Peers whose `X-Forwarded-For` / `X-Forwarded-Proto` headers are believed
    /// (the nginx load balancer). Plain addresses or CIDR ranges.
    pub trusted_proxies: Vec<ProxyNet>,
    /// Requests running longer than this are answered 503.
    pub request_timeout_secs: u64,
    /// A request body not received in full within this is answered 408 (the client is
    /// slow or gone; the handler has not started, so its own timeout has not either).
    pub body_timeout_secs: u64,
    /// Largest request body accepted; larger ones get 413.
    pub max_body_bytes: u64,
    /// How long a graceful stop waits for in-flight requests.
    pub shutdown_grace_secs: u64,
    /// On SIGTERM, keep serving this long first, answering with `Connection: close` and
    /// `/readyz` 503, so the load balancer stops reusing kept-alive connections before
    /// they are closed (longer than nginx's upstream `keepalive_timeout`).
    pub drain_secs: u64,
    /// Where to serve `GET /metrics` (Prometheus text format): a separate address, never
    /// routed through nginx, e.g. `10.8.0.2:9464` for a scraper on the VPN. Off when unset.
    pub metrics_listen: Option<SocketAddr>,
    /// The site's address as people reach it (`https://pesquisa.example.br`), for the links
    /// in e-mails. Unset: `http://` + `listen`, which only suits a local trial.
    pub public_url: Option<url::Url>,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            listen: SocketAddr::from(([127, 0, 0, 1], 8000)),
            trusted_proxies: Vec::new(),
            request_timeout_secs: 30,
            body_timeout_secs: 10,
            max_body_bytes: 64 * 1024,
            shutdown_grace_secs: 20,
            drain_secs: 5,
            metrics_listen: None,
            public_url: None,
        }
    }
}

/// An address or a CIDR range in `server.trusted_proxies`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyNet(pub IpNet);

impl ProxyNet {
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.contains(&ip)
    }
}

impl FromStr for ProxyNet {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if let Ok(net) = s.parse::<IpNet>() {
            return Ok(ProxyNet(net));
        }
        s.parse::<IpAddr>()
            .map(|ip| ProxyNet(IpNet::from(ip)))
            .map_err(|_| format!("`{s}` is not an IP address or CIDR range"))
    }
}

impl Serialize for ProxyNet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_string())
    }
}

impl<'de> Deserialize<'de> for ProxyNet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    /// `mysql://user@host:port/db` (add `?require_ssl=true` for TLS) or `sqlite://PATH`.
    pub url: String,
    /// Replaces the password in `url`, so the URL itself can stay in a readable file.
    pub password: Option<Secret>,
    pub password_file: Option<PathBuf>,
    /// PEM file of the CA that signed the MariaDB server's certificate (a private CA on
    /// the DB host). When set, connections use TLS and trust only this CA.
    pub tls_ca_file: Option<PathBuf>,
    pub pool_size: u32,
    /// Upper bound on opening one connection or waiting for a pooled one.
    pub connect_timeout_secs: u64,
    /// Apply pending migrations at `serve` start. Default: on for SQLite, off for MariaDB.
    pub auto_migrate: Option<bool>,
    /// MariaDB only, `serve` only: the server aborts a statement running (or waiting for a
    /// lock) longer than this, so a stalled query ends on the server before the request
    /// times out. 0 turns the bound off. Batch commands (export, report, migrate) are not
    /// bounded.
    pub statement_timeout_secs: u64,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        DatabaseSettings {
            url: "sqlite://pesquisa.db".into(),
            password: None,
            password_file: None,
            tls_ca_file: None,
            pool_size: 10,
            connect_timeout_secs: 5,
            auto_migrate: None,
            statement_timeout_secs: 20,
        }
    }
}

/// The two storage backends, chosen by the scheme of `database.url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseKind {
    Mysql,
    Sqlite { path: PathBuf },
}

impl DatabaseSettings {
    pub fn kind(&self) -> Result<DatabaseKind, ConfigError> {
        if self.url.starts_with("mysql://") || self.url.starts_with("mariadb://") {
            Ok(DatabaseKind::Mysql)
        } else if let Some(path) = self.url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(invalid("database.url", "sqlite:// needs a file path"));
            }
            Ok(DatabaseKind::Sqlite {
                path: PathBuf::from(path),
            })
        } else {
            Err(invalid(
                "database.url",
                "must start with mysql:// or sqlite:// (for example sqlite://pesquisa.db)",
            ))
        }
    }

    /// Whether `serve` applies pending migrations itself.
    pub fn auto_migrate(&self) -> bool {
        self.auto_migrate
            .unwrap_or(matches!(self.kind(), Ok(DatabaseKind::Sqlite { .. })))
    }

    /// The MySQL URL with the configured password put in, ready for the driver.
    pub fn mysql_url(&self) -> Result<String, ConfigError> {
        let mut url = url::Url::parse(&self.url.replacen("mariadb://", "mysql://", 1))
            .map_err(|e| invalid("database.url", e.to_string()))?;
        if url.host_str().is_none_or(str::is_empty) {
            return Err(invalid("database.url", "has no host"));
        }
        if url.path().trim_start_matches('/').is_empty() {
            return Err(invalid("database.url", "has no database name"));
        }
        if let Some(pw) = &self.password {
            url.set_password(Some(pw.expose()))
                .map_err(|_| invalid("database.password", "cannot be put into the URL"))?;
        }
        Ok(url.to_string())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedisSettings {
    /// `redis://host:port/db` (or `rediss://` for TLS); unset means in-process sessions.
    pub url: Option<String>,
    /// ACL user name, when not in the URL.
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub password_file: Option<PathBuf>,
    /// Every key this application writes starts with it, so one Redis can be shared and
    /// an ACL can confine the app user to `~prefix*`.
    pub key_prefix: String,
    pub pool_size: u32,
    pub connect_timeout_secs: u64,
}

impl Default for RedisSettings {
    fn default() -> Self {
        RedisSettings {
            url: None,
            username: None,
            password: None,
            password_file: None,
            key_prefix: "pesquisa:".into(),
            pool_size: 16,
            connect_timeout_secs: 3,
        }
    }
}

impl RedisSettings {
    /// The Redis URL with user and password put in.
    pub fn full_url(&self) -> Result<Option<String>, ConfigError> {
        let Some(raw) = &self.url else {
            return Ok(None);
        };
        let mut url = url::Url::parse(raw).map_err(|e| invalid("redis.url", e.to_string()))?;
        if !matches!(url.scheme(), "redis" | "rediss") {
            return Err(invalid(
                "redis.url",
                "must start with redis:// or rediss://",
            ));
        }
        if let Some(user) = &self.username {
            url.set_username(user)
                .map_err(|_| invalid("redis.username", "cannot be put into the URL"))?;
        }
        if let Some(pw) = &self.password {
            url.set_password(Some(pw.expose()))
                .map_err(|_| invalid("redis.password", "cannot be put into the URL"))?;
        }
        Ok(Some(url.to_string()))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionSettings {
    /// Server secret for keyed hashes (pseudonymous ids, tokens). At least 32 characters.
    pub secret: Option<Secret>,
    pub secret_file: Option<PathBuf>,
    pub cookie_name: String,
    /// The site is served over HTTPS only (through nginx): every cookie is sent `Secure`
    /// and the session cookies are named `__Host-<cookie_name>`, which browsers accept only
    /// from a secure origin, with `Path=/` and no `Domain`, so no other site or plain-HTTP
    /// page can set them. Set in configuration, not guessed per request, so the name is
    /// the same for every request of a deployment.
    pub secure_cookie: bool,
    /// A session unused this long ends.
    pub idle_timeout_mins: u64,
    /// The idle timeout of analysts' and admins' sessions (they reach personal data).
    pub staff_idle_timeout_mins: u64,
    /// A session ends this long after log-in, used or not.
    pub absolute_timeout_hours: u64,
}

impl SessionSettings {
    /// The session cookie's name as sent: `cookie_name`, with the `__Host-` prefix when
    /// [`Self::secure_cookie`] is set.
    pub fn cookie(&self) -> String {
        if self.secure_cookie {
            format!("__Host-{}", self.cookie_name)
        } else {
            self.cookie_name.clone()
        }
    }
}

impl Default for SessionSettings {
    fn default() -> Self {
        SessionSettings {
            secret: None,
            secret_file: None,
            cookie_name: "pesquisa_sid".into(),
            secure_cookie: false,
            idle_timeout_mins: 60,
            staff_idle_timeout_mins: 30,
            absolute_timeout_hours: 12,
        }
    }
}

/// Attempt limits, counted in the session store so every instance shares them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitSettings {
    /// Log-in attempts per client address per window.
    pub login_per_ip: u64,
    pub login_window_secs: u64,
    /// Failed log-ins to one account from one client (network or known device) before
    /// each further attempt waits: 2 s, then twice as long each time, up to
    /// `login_delay_max_secs`. A stranger slows down only their own attempts.
    #[serde(alias = "login_failures_per_account")]
    pub login_free_failures: u64,
    pub login_delay_max_secs: u64,
    /// Failed log-ins to one account from all clients together, per hour and per day,
    /// after which only a device the account logged in from before may try: the ceiling
    /// on distributed guessing. `pesquisa admin unlock --email` clears every count.
    pub login_failures_per_account_hour: u64,
    pub login_failures_per_account_day: u64,
    /// Sign-ups per client address per window.
    pub register_per_ip: u64,
    pub register_window_secs: u64,
    /// Password-reset mails per address per hour, and reset requests per client network
    /// per hour. Past either the page answers the same and queues nothing.
    pub reset_per_address: u64,
    pub reset_per_ip: u64,
    /// Sign-in code mails per address per hour, and code requests per client network per
    /// hour; the same neutral answer past either.
    pub code_per_address: u64,
    pub code_per_ip: u64,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        RateLimitSettings {
            login_per_ip: 30,
            login_window_secs: 15 * 60,
            login_free_failures: 5,
            login_delay_max_secs: 15 * 60,
            login_failures_per_account_hour: 30,
            login_failures_per_account_day: 100,
            register_per_ip: 10,
            register_window_secs: 60 * 60,
            reset_per_address: 3,
            reset_per_ip: 20,
            code_per_address: 5,
            code_per_ip: 30,
        }
    }
}

/// What happens to a respondent's answers when the account is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnDelete {
    /// Remove the answers with the account.
    Delete,
    /// Keep the answers, detached from any person, for the aggregate results.
    Anonymize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccountsSettings {
    /// A file with one neighbourhood per line; default: the embedded list.
    pub bairros_file: Option<PathBuf>,
    pub on_delete: OnDelete,
    /// Who runs the study and is the data controller (LGPD art. 5 VI): named on the home
    /// page and in the privacy policy (`{controlador}`).
    pub controller: String,
    /// Contact for privacy requests, shown on the home page and in the privacy policy.
    pub privacy_contact: String,
    /// A response counts in export, report and dashboard only once its respondent has
    /// verified the e-mail address. Unset: on when SMTP is configured (`mail.host`), off
    /// otherwise (no mail can arrive from the `.eml` folder).
    pub require_verified_email: Option<bool>,
    /// Analysts and admins must confirm log-ins with a one-time code (TOTP): until they
    /// enrol, staff pages send them to `/account/2fa`.
    pub staff_require_2fa: bool,
}

/// The defaults of the two keys that tell respondents who runs the study: fine for a demo,
/// wrong for a real one, so `serve` and `check-config` warn while they are left.
pub const EXAMPLE_CONTROLLER: &str = "Instituto de Pesquisa Exemplo";
pub const EXAMPLE_PRIVACY_CONTACT: &str = "privacidade@pesquisa.example";

impl AccountsSettings {
    /// The keys still at their example value, each with why it matters.
    pub fn example_values_left(&self) -> Vec<String> {
        let mut left = Vec::new();
        if self.controller == EXAMPLE_CONTROLLER {
            left.push(format!(
                "accounts.controller is still the example \"{EXAMPLE_CONTROLLER}\": respondents \
                 see it on the home page and in the privacy policy as the data controller"
            ));
        }
        if self.privacy_contact == EXAMPLE_PRIVACY_CONTACT
            || self.privacy_contact.ends_with(".example")
        {
            left.push(format!(
                "accounts.privacy_contact is still an example address ({}): respondents write \
                 there to exercise their LGPD rights",
                self.privacy_contact
            ));
        }
        left
    }
}

impl Default for AccountsSettings {
    fn default() -> Self {
        AccountsSettings {
            bairros_file: None,
            on_delete: OnDelete::Delete,
            controller: EXAMPLE_CONTROLLER.into(),
            privacy_contact: EXAMPLE_PRIVACY_CONTACT.into(),
            require_verified_email: None,
            staff_require_2fa: true,
        }
    }
}

impl Settings {
    /// Whether responses of unverified e-mail addresses are left out of the results.
    pub fn require_verified_email(&self) -> bool {
        self.accounts
            .require_verified_email
            .unwrap_or(self.mail.host.is_some())
    }

    /// The base of the links in e-mails, without a trailing slash.
    pub fn public_base_url(&self) -> String {
        match &self.server.public_url {
            Some(url) => url.as_str().trim_end_matches('/').to_string(),
            None => format!("http://{}", self.server.listen),
        }
    }
}

/// How a TLS session with the SMTP server starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailSecurity {
    /// Plain connection upgraded with STARTTLS (port 587); refused if the server lacks it.
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only for a relay on loopback or a private network.
    None,
}

/// Outgoing mail. With no `host`, messages are written as `.eml` files to `dir` instead.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailSettings {
    /// SMTP server; unset means no SMTP (the `.eml` folder).
    pub host: Option<String>,
    pub port: u16,
    pub security: MailSecurity,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub password_file: Option<PathBuf>,
    /// The sender: `Pesquisa <pesquisa@example.br>`.
    pub from: String,
    pub reply_to: Option<String>,
    /// Where `.eml` files go without SMTP; unset: `mail/` beside the SQLite database, or
    /// the working directory's `mail/` on MariaDB.
    pub dir: Option<PathBuf>,
    /// A PEM file of CA certificates to trust for the SMTP server besides the public roots
    /// (a relay with a certificate from a private CA). Never a way to skip verification.
    pub tls_ca_file: Option<PathBuf>,
}

impl MailSettings {
    /// The sender, parsed (`Name <address>` or a bare address).
    pub fn from_mailbox(&self) -> Result<lettre::message::Mailbox, ConfigError> {
        self.from.parse().map_err(|e| {
            invalid(
                "mail.from",
                format!("is not an address like `Pesquisa <pesquisa@example.br>` ({e})"),
            )
        })
    }

    /// The Reply-To address, parsed, when set.
    pub fn reply_to_mailbox(&self) -> Result<Option<lettre::message::Mailbox>, ConfigError> {
        match &self.reply_to {
            None => Ok(None),
            Some(r) => r.parse().map(Some).map_err(|e| {
                invalid(
                    "mail.reply_to",
                    format!("is not an address like `contato@example.br` ({e})"),
                )
            }),
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.from_mailbox()?;
        self.reply_to_mailbox()?;
        if let Some(host) = &self.host
            && (host.is_empty() || host.contains(char::is_whitespace) || host.contains('/'))
        {
            return Err(invalid(
                "mail.host",
                "must be a host name or address, like smtp.example.br",
            ));
        }
        if self.port == 0 {
            return Err(invalid("mail.port", "must be above 0"));
        }
        if self.password.is_some() && self.username.is_none() {
            return Err(invalid(
                "mail.username",
                "is required when a mail password is set",
            ));
        }
        if let Some(ca) = &self.tls_ca_file
            && !ca.is_file()
        {
            return Err(invalid(
                "mail.tls_ca_file",
                format!("{} is not a readable file", ca.display()),
            ));
        }
        Ok(())
    }

    /// Where `.eml` files go without SMTP: `mail.dir`, else `mail/` beside the SQLite
    /// database, else `mail/` in the working directory.
    pub fn eml_dir(&self, database: &DatabaseSettings) -> PathBuf {
        if let Some(dir) = &self.dir {
            return dir.clone();
        }
        match database.kind() {
            Ok(DatabaseKind::Sqlite { path }) => path
                .parent()
                .map(|p| p.join("mail"))
                .unwrap_or_else(|| PathBuf::from("mail")),
            _ => PathBuf::from("mail"),
        }
    }
}

impl Default for MailSettings {
    fn default() -> Self {
        MailSettings {
            host: None,
            port: 587,
            security: MailSecurity::Starttls,
            username: None,
            password: None,
            password_file: None,
            from: "Pesquisa <pesquisa@localhost>".into(),
            reply_to: None,
            dir: None,
            tls_ca_file: None,
        }
    }
}

/// Defaults of the market estimate in `pesquisa report` and `/admin/results`; the
/// report's flags override them.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReportSettings {
    /// Households in the study area (for the monthly market in reais).
    pub households: Option<u64>,
    /// Households per bairro instead: `bairro;households` per line.
    pub households_file: Option<PathBuf>,
    /// Value in reais assumed for the open top spend band (default 1.5 × its lower bound).
    pub open_top_spend: Option<f64>,
    /// Share of household spend the new store would capture, 0 to 1 (default: derived
    /// from purchase intent).
    pub capture_share: Option<f64>,
    /// Seed of the bootstrap intervals.
    pub seed: Option<u64>,
}

/// The questionnaire and its calendar.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SurveySettings {
    /// A questionnaire definition (TOML) replacing the embedded one.
    pub definition: Option<PathBuf>,
    /// The national minimum wage in reais, shown beside the income brackets.
    pub salario_minimo: u32,
    /// The year that minimum wage applies to, shown with it.
    pub salario_minimo_year: u16,
    /// After this moment (RFC 3339, e.g. 2027-03-31T23:59:59-03:00) answers are read-only.
    pub closes_at: Option<chrono::DateTime<chrono::FixedOffset>>,
    /// IANA time zone of the times shown in the report and the pages (a Brazilian zone
    /// or UTC; see [`crate::locale`]).
    pub timezone: String,
    /// A Critério Brasil (CCEB) table (TOML) replacing the embedded CCEB 2026 one (e.g.
    /// `assets/cceb/cceb-2015.toml`, the point system of ABEP's editions 2015–2024).
    pub cceb_table: Option<PathBuf>,
}

impl Default for SurveySettings {
    fn default() -> Self {
        SurveySettings {
            definition: None,
            salario_minimo: 1621,
            salario_minimo_year: 2026,
            closes_at: None,
            timezone: crate::locale::DEFAULT_TIMEZONE.to_string(),
            cceb_table: None,
        }
    }
}

impl SurveySettings {
    /// The configured zone; the default one if invalid (start-up refuses an invalid one).
    pub fn zone(&self) -> crate::locale::Zone {
        crate::locale::Zone::parse(&self.timezone).unwrap_or_default()
    }

    pub fn is_closed(&self, now: chrono::DateTime<chrono::Utc>) -> bool {
        self.closes_at.is_some_and(|c| now >= c)
    }

    /// Load the configured definition, or the embedded one. The error names the key,
    /// the file, the line and the reason.
    pub fn load_definition(&self) -> Result<crate::survey::Definition, ConfigError> {
        match &self.definition {
            None => crate::survey::default_definition()
                .map_err(|e| invalid("survey.definition", format!("embedded questionnaire: {e}"))),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    invalid(
                        "survey.definition",
                        format!("cannot read {}: {e}", path.display()),
                    )
                })?;
                crate::survey::Definition::parse(&text)
                    .map_err(|e| invalid("survey.definition", format!("{}: {e}", path.display())))
            }
        }
    }
}

impl SurveySettings {
    /// Load the configured Critério Brasil table, or the embedded one. The error names
    /// the key, the file and the table key at fault.
    pub fn load_cceb_table(&self) -> Result<std::sync::Arc<crate::survey::CcebTable>, ConfigError> {
        let Some(path) = &self.cceb_table else {
            return Ok(crate::survey::CcebTable::embedded());
        };
        let text = std::fs::read_to_string(path).map_err(|e| {
            invalid(
                "survey.cceb_table",
                format!("cannot read {}: {e}", path.display()),
            )
        })?;
        crate::survey::CcebTable::parse(&text)
            .map(std::sync::Arc::new)
            .map_err(|e| invalid("survey.cceb_table", format!("{}: {e}", path.display())))
    }
}

/// Raking of the responses to census margins ([`crate::stats::raking`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WeightingSettings {
    /// Smallest weight after trimming, as a multiple of the mean weight (0 to 1).
    pub trim_lower: f64,
    /// Largest weight after trimming, as a multiple of the mean weight (above 1).
    pub trim_upper: f64,
    /// Largest accepted relative error of a margin category.
    pub tolerance: f64,
    /// Sweeps over the margins before raking is declared not to converge.
    pub max_iterations: u32,
    /// The census margins the responses are raked to, in order: `bairro` (households per
    /// bairro), `sexo`, `faixa_etaria` (adults 18+ by sex, by age band) or `sexo_faixa`
    /// (adults by sex × age band together).
    pub margins: Vec<String>,
}

impl Default for WeightingSettings {
    fn default() -> Self {
        let o = crate::stats::RakeOptions::default();
        let (trim_lower, trim_upper) = o.trim.unwrap_or((0.3, 3.0));
        WeightingSettings {
            trim_lower,
            trim_upper,
            tolerance: o.tolerance,
            max_iterations: o.max_iterations,
            margins: ["bairro", "sexo", "faixa_etaria"]
                .map(String::from)
                .to_vec(),
        }
    }
}

impl WeightingSettings {
    /// The raking options these settings give, checked: the error names the key.
    pub fn rake_options(&self) -> Result<crate::stats::RakeOptions, ConfigError> {
        if !(self.trim_lower.is_finite() && self.trim_lower > 0.0 && self.trim_lower < 1.0) {
            return Err(invalid(
                "weighting.trim_lower",
                "must be above 0 and below 1",
            ));
        }
        if !(self.trim_upper.is_finite() && self.trim_upper > 1.0) {
            return Err(invalid("weighting.trim_upper", "must be above 1"));
        }
        if !(self.tolerance.is_finite() && self.tolerance > 0.0 && self.tolerance < 0.1) {
            return Err(invalid(
                "weighting.tolerance",
                "must be above 0 and below 0.1",
            ));
        }
        if self.max_iterations == 0 {
            return Err(invalid("weighting.max_iterations", "must be at least 1"));
        }
        Ok(crate::stats::RakeOptions {
            tolerance: self.tolerance,
            max_iterations: self.max_iterations,
            trim: Some((self.trim_lower, self.trim_upper)),
            ..crate::stats::RakeOptions::default()
        })
    }

    /// The margins and raking options, checked.
    pub fn plan(&self) -> Result<crate::census::weighting::WeightPlan, ConfigError> {
        Ok(crate::census::weighting::WeightPlan {
            margins: self.margin_kinds()?,
            options: self.rake_options()?,
        })
    }

    /// `weighting.margins` checked: the error names the key.
    pub fn margin_kinds(&self) -> Result<Vec<crate::census::weighting::MarginKind>, ConfigError> {
        crate::census::weighting::MarginKind::parse_list(&self.margins)
            .map_err(|e| invalid("weighting.margins", e))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoggingSettings {
    pub format: LogFormat,
    /// A tracing filter: `info`, `debug`, or `info,pesquisa=debug`.
    pub level: String,
}

impl Default for LoggingSettings {
    fn default() -> Self {
        LoggingSettings {
            format: LogFormat::Text,
            level: "info".into(),
        }
    }
}

/// Which file the configuration came from, for messages.
#[derive(Debug, Clone)]
pub enum Source {
    Defaults,
    File(PathBuf),
}

impl Settings {
    /// Load defaults → `file` (or [`DEFAULT_CONFIG_PATH`] when present) → `PESQUISA_*`,
    /// then resolve secrets and check values.
    pub fn load(file: Option<&Path>) -> Result<(Settings, Source), ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        let source = match file {
            Some(path) => {
                if !path.is_file() {
                    return Err(ConfigError::File {
                        path: path.display().to_string(),
                        reason: "not found or not a file".into(),
                    });
                }
                figment = figment.merge(Toml::file_exact(path));
                Source::File(path.to_path_buf())
            }
            None if Path::new(DEFAULT_CONFIG_PATH).is_file() => {
                figment = figment.merge(Toml::file_exact(DEFAULT_CONFIG_PATH));
                Source::File(PathBuf::from(DEFAULT_CONFIG_PATH))
            }
            None => Source::Defaults,
        };
        figment = figment.merge(Env::prefixed("PESQUISA_").split("__"));
        let settings = Self::from_figment(figment)?;
        Ok((settings, source))
    }

    /// Extract, resolve secrets and validate; separate from [`Self::load`] for tests.
    pub fn from_figment(figment: Figment) -> Result<Settings, ConfigError> {
        let mut settings: Settings = figment.extract()?;
        let creds = std::env::var_os("CREDENTIALS_DIRECTORY").map(PathBuf::from);
        settings.resolve_secrets(creds.as_deref())?;
        settings.validate()?;
        Ok(settings)
    }

    fn resolve_secrets(&mut self, creds: Option<&Path>) -> Result<(), ConfigError> {
        resolve_secret(
            &mut self.database.password,
            self.database.password_file.as_deref(),
            "database.password_file",
            creds,
            "database_password",
        )?;
        resolve_secret(
            &mut self.redis.password,
            self.redis.password_file.as_deref(),
            "redis.password_file",
            creds,
            "redis_password",
        )?;
        resolve_secret(
            &mut self.session.secret,
            self.session.secret_file.as_deref(),
            "session.secret_file",
            creds,
            "session_secret",
        )?;
        resolve_secret(
            &mut self.mail.password,
            self.mail.password_file.as_deref(),
            "mail.password_file",
            creds,
            "mail_password",
        )?;
        self.oidc.resolve(creds)?;
        Ok(())
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.server.metrics_listen == Some(self.server.listen) {
            return Err(invalid(
                "server.metrics_listen",
                "must differ from server.listen (metrics are never served on the site's address)",
            ));
        }
        match self.database.kind()? {
            DatabaseKind::Mysql => {
                self.database.mysql_url()?;
            }
            DatabaseKind::Sqlite { .. } => {}
        }
        if let Some(ca) = &self.database.tls_ca_file
            && !ca.is_file()
        {
            return Err(invalid(
                "database.tls_ca_file",
                format!("{} is not a readable file", ca.display()),
            ));
        }
        self.mail.validate()?;
        self.quality.params()?;
        if self.accounts.controller.trim().is_empty() {
            return Err(invalid(
                "accounts.controller",
                "must name who runs the study (shown to respondents as the data controller)",
            ));
        }
        if self.accounts.privacy_contact.trim().is_empty() {
            return Err(invalid(
                "accounts.privacy_contact",
                "must give an address for privacy requests (shown in the privacy policy)",
            ));
        }
        if !(1..=512).contains(&self.database.pool_size) {
            return Err(invalid("database.pool_size", "must be between 1 and 512"));
        }
        if !(1..=120).contains(&self.database.connect_timeout_secs) {
            return Err(invalid(
                "database.connect_timeout_secs",
                "must be between 1 and 120",
            ));
        }
        if self.database.statement_timeout_secs >= self.server.request_timeout_secs {
            return Err(invalid(
                "database.statement_timeout_secs",
                format!(
                    "must be below server.request_timeout_secs ({}), so a stalled statement \
                     ends on the server before its request gives up; 0 turns it off",
                    self.server.request_timeout_secs
                ),
            ));
        }
        self.redis.full_url()?;
        if !(1..=512).contains(&self.redis.pool_size) {
            return Err(invalid("redis.pool_size", "must be between 1 and 512"));
        }
        if !(1..=120).contains(&self.redis.connect_timeout_secs) {
            return Err(invalid(
                "redis.connect_timeout_secs",
                "must be between 1 and 120",
            ));
        }
        if self.redis.key_prefix.is_empty() || self.redis.key_prefix.contains(char::is_whitespace) {
            return Err(invalid(
                "redis.key_prefix",
                "must be non-empty and without spaces",
            ));
        }
        if let Some(secret) = &self.session.secret
            && secret.expose().chars().count() < 32
        {
            return Err(invalid(
                "session.secret",
                "must be at least 32 characters (try `openssl rand -base64 48`)",
            ));
        }
        if self.session.secret.is_none() && self.database.kind()? == DatabaseKind::Mysql {
            return Err(invalid(
                "session.secret",
                "is required with a MariaDB database (set session.secret, session.secret_file \
                 or the systemd credential session_secret)",
            ));
        }
        let cookie_ok = !self.session.cookie_name.is_empty()
            && self
                .session
                .cookie_name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !cookie_ok {
            return Err(invalid(
                "session.cookie_name",
                "use letters, digits, _ and - only",
            ));
        }
        if self.session.cookie_name.starts_with("__") {
            return Err(invalid(
                "session.cookie_name",
                "must not start with __ (session.secure_cookie = true adds the __Host- prefix)",
            ));
        }
        if self.session.idle_timeout_mins == 0 {
            return Err(invalid("session.idle_timeout_mins", "must be above 0"));
        }
        if self.session.staff_idle_timeout_mins == 0 {
            return Err(invalid(
                "session.staff_idle_timeout_mins",
                "must be above 0",
            ));
        }
        if self.session.absolute_timeout_hours == 0 {
            return Err(invalid("session.absolute_timeout_hours", "must be above 0"));
        }
        if self.report.households.is_some() && self.report.households_file.is_some() {
            return Err(invalid(
                "report.households",
                "set either report.households or report.households_file, not both",
            ));
        }
        if let Some(path) = &self.report.households_file
            && !path.is_file()
        {
            return Err(invalid(
                "report.households_file",
                format!("{} is not a readable file", path.display()),
            ));
        }
        if self
            .report
            .open_top_spend
            .is_some_and(|v| !(v.is_finite() && v >= 0.0))
        {
            return Err(invalid("report.open_top_spend", "must be an amount ≥ 0"));
        }
        if self
            .report
            .capture_share
            .is_some_and(|v| !(0.0..=1.0).contains(&v))
        {
            return Err(invalid("report.capture_share", "must be between 0 and 1"));
        }
        if self.server.request_timeout_secs == 0 {
            return Err(invalid("server.request_timeout_secs", "must be above 0"));
        }
        if self.server.body_timeout_secs == 0 {
            return Err(invalid("server.body_timeout_secs", "must be above 0"));
        }
        if self.server.max_body_bytes < 1024 {
            return Err(invalid("server.max_body_bytes", "must be at least 1024"));
        }
        let pw = &self.passwords;
        if pw.memory_kib < 8 * pw.parallelism.max(1) || pw.memory_kib > 4 * 1024 * 1024 {
            return Err(invalid(
                "passwords.memory_kib",
                "must be between 8×parallelism and 4194304",
            ));
        }
        if !(1..=100).contains(&pw.iterations) {
            return Err(invalid("passwords.iterations", "must be between 1 and 100"));
        }
        if !(1..=64).contains(&pw.parallelism) {
            return Err(invalid("passwords.parallelism", "must be between 1 and 64"));
        }
        if pw.max_concurrent == 0 {
            return Err(invalid("passwords.max_concurrent", "must be above 0"));
        }
        if pw.max_queued == 0 {
            return Err(invalid("passwords.max_queued", "must be above 0"));
        }
        if !(0..=19).contains(&pw.hashing_nice) {
            return Err(invalid(
                "passwords.hashing_nice",
                "must be between 0 and 19",
            ));
        }
        let rl = &self.rate_limit;
        for (key, value) in [
            ("rate_limit.login_per_ip", rl.login_per_ip),
            ("rate_limit.login_window_secs", rl.login_window_secs),
            ("rate_limit.login_free_failures", rl.login_free_failures),
            ("rate_limit.login_delay_max_secs", rl.login_delay_max_secs),
            (
                "rate_limit.login_failures_per_account_hour",
                rl.login_failures_per_account_hour,
            ),
            (
                "rate_limit.login_failures_per_account_day",
                rl.login_failures_per_account_day,
            ),
            ("rate_limit.register_per_ip", rl.register_per_ip),
            ("rate_limit.register_window_secs", rl.register_window_secs),
            ("rate_limit.reset_per_address", rl.reset_per_address),
            ("rate_limit.reset_per_ip", rl.reset_per_ip),
            ("rate_limit.code_per_address", rl.code_per_address),
            ("rate_limit.code_per_ip", rl.code_per_ip),
        ] {
            if value == 0 {
                return Err(invalid(key, "must be above 0"));
            }
        }
        if let Some(path) = &self.accounts.bairros_file {
            let text = std::fs::read_to_string(path).map_err(|e| {
                invalid(
                    "accounts.bairros_file",
                    format!("cannot read {}: {e}", path.display()),
                )
            })?;
            if crate::accounts::fields::Bairros::from_lines(&text)
                .all()
                .is_empty()
            {
                return Err(invalid("accounts.bairros_file", "lists no neighbourhood"));
            }
        }
        self.survey.load_definition()?;
        self.survey.load_cceb_table()?;
        self.weighting.plan()?;
        self.quota_plan()?;
        if self.survey.salario_minimo == 0 {
            return Err(invalid("survey.salario_minimo", "must be above 0"));
        }
        crate::locale::Zone::parse(&self.survey.timezone)
            .map_err(|e| invalid("survey.timezone", e))?;
        tracing_subscriber::EnvFilter::try_new(&self.logging.level)
            .map_err(|e| invalid("logging.level", e.to_string()))?;
        self.oidc.validate()?;
        Ok(())
    }

    /// The quotas (`[quotas]`), checked against the questionnaire, the bairro list and
    /// the Critério Brasil table; the error names the key.
    pub fn quota_plan(&self) -> Result<crate::survey::quota::Quotas, ConfigError> {
        if self.quotas.quota.is_empty() {
            return Ok(crate::survey::quota::Quotas::default());
        }
        let def = self.survey.load_definition()?;
        let cceb = self.survey.load_cceb_table()?;
        let bairros =
            crate::accounts::fields::Bairros::configured(self.accounts.bairros_file.as_deref())
                .map_err(|e| invalid("accounts.bairros_file", e.to_string()))?;
        let cats = crate::survey::quota::Categories::of(&def, &cceb, bairros.all());
        self.quotas.plan(&cats)
    }

    /// In the embedded (SQLite) mode without a configured secret, read the secret from
    /// `pesquisa.secret` beside the database file, creating it (mode 0600) the first time,
    /// so pseudonymous ids stay stable across restarts with zero configuration.
    pub fn ensure_local_secret(&mut self) -> anyhow::Result<()> {
        if let Some(existing) = self.existing_secret()? {
            self.session.secret = Some(existing);
            return Ok(());
        }
        let DatabaseKind::Sqlite { path } = self.database.kind()? else {
            return Ok(());
        };
        let file = path.with_file_name("pesquisa.secret");
        use rand::RngCore;
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let value = hex::encode(bytes);
        write_private(&file, &value).map_err(|e| {
            anyhow::anyhow!("session.secret: cannot create {}: {e}", file.display())
        })?;
        self.session.secret = Some(Secret(value));
        Ok(())
    }

    /// The server secret: the configured one or, in the embedded mode, the
    /// `pesquisa.secret` that `serve` made beside the database. Never made here: a new
    /// secret would change every pseudonymous id.
    pub fn existing_secret(&self) -> anyhow::Result<Option<Secret>> {
        if let Some(s) = &self.session.secret {
            return Ok(Some(s.clone()));
        }
        let DatabaseKind::Sqlite { path } = self.database.kind()? else {
            return Ok(None);
        };
        let file = path.with_file_name("pesquisa.secret");
        Ok(std::fs::read_to_string(&file)
            .ok()
            .map(|text| text.trim().to_string())
            .filter(|v| v.len() >= 32)
            .map(Secret))
    }

    /// The effective configuration as TOML, secrets shown as `***`.
    pub fn to_redacted_toml(&self) -> String {
        let mut shown = self.clone();
        // The URL's own password, if any, is hidden too.
        shown.database.url = redact_url_password(&shown.database.url);
        if let Some(u) = &shown.redis.url {
            shown.redis.url = Some(redact_url_password(u));
        }
        toml::to_string_pretty(&shown).unwrap_or_else(|e| format!("# cannot render: {e}\n"))
    }
}

/// Fill `slot` from `file`, else from `$CREDENTIALS_DIRECTORY/cred_name`, unless it is set.
fn resolve_secret(
    slot: &mut Option<Secret>,
    file: Option<&Path>,
    file_key: &'static str,
    creds: Option<&Path>,
    cred_name: &str,
) -> Result<(), ConfigError> {
    if slot.as_ref().is_some_and(|s| !s.is_empty()) {
        return Ok(());
    }
    *slot = None;
    let from_file = |path: &Path, key: &'static str| -> Result<Secret, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| invalid(key, format!("cannot read {}: {e}", path.display())))?;
        let value = text.trim_end_matches(['\n', '\r']).to_string();
        if value.is_empty() {
            return Err(invalid(key, format!("{} is empty", path.display())));
        }
        Ok(Secret(value))
    };
    if let Some(path) = file {
        *slot = Some(from_file(path, file_key)?);
    } else if let Some(dir) = creds {
        let path = dir.join(cred_name);
        if path.is_file() {
            *slot = Some(from_file(&path, file_key)?);
        }
    }
    Ok(())
}

/// Write a file readable by its owner only.
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    options.open(path)?.write_all(contents.as_bytes())
}

fn redact_url_password(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("***"));
            url.to_string()
        }
        _ => raw.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use figment::providers::Toml;

    fn load(toml: &str) -> Result<Settings, ConfigError> {
        let figment =
            Figment::from(Serialized::defaults(Settings::default())).merge(Toml::string(toml));
        Settings::from_figment(figment)
    }

    #[test]
    fn defaults_are_the_embedded_mode() {
        let s = load("").expect("defaults load");
        assert_eq!(
            s.database.kind().expect("kind"),
            DatabaseKind::Sqlite {
                path: "pesquisa.db".into()
            }
        );
        assert!(s.database.auto_migrate());
        assert!(s.redis.url.is_none());
        assert_eq!(s.server.listen.to_string(), "127.0.0.1:8000");
        assert!(
            s.accounts.staff_require_2fa,
            "staff need a second factor by default"
        );
    }

    #[test]
    fn unknown_key_is_named() {
        let err = load("[server]\nlisten = \"127.0.0.1:9\"\nlistne = 1\n")
            .expect_err("typo refused")
            .to_string();
        assert!(err.contains("listne"), "{err}");
        assert!(err.contains("server.listne"), "{err}");
    }

    #[test]
    fn bad_value_is_named() {
        let err = load("[server]\nlisten = \"nowhere\"\n")
            .expect_err("bad address")
            .to_string();
        assert!(err.contains("server.listen"), "{err}");
        let err = load("[database]\nurl = \"postgres://x/y\"\n")
            .expect_err("bad scheme")
            .to_string();
        assert!(err.contains("database.url"), "{err}");
        let err = load("[logging]\nformat = \"xml\"\n")
            .expect_err("bad format")
            .to_string();
        assert!(err.contains("logging.format"), "{err}");
        let err = load("[server]\ntrusted_proxies = [\"10.0.0.0/8\", \"nope\"]\n")
            .expect_err("bad proxy")
            .to_string();
        assert!(err.contains("nope"), "{err}");
        let err = load("[session]\ncookie_name = \"__Host-sid\"\nsecure_cookie = true\n")
            .expect_err("prefix given twice")
            .to_string();
        assert!(err.contains("session.cookie_name"), "{err}");
        let err = load("[session]\nstaff_idle_timeout_mins = 0\n")
            .expect_err("no staff idle time")
            .to_string();
        assert!(err.contains("session.staff_idle_timeout_mins"), "{err}");
        let err = load("[server]\nbody_timeout_secs = 0\n")
            .expect_err("no body timeout")
            .to_string();
        assert!(err.contains("server.body_timeout_secs"), "{err}");
    }

    #[test]
    fn metrics_are_never_served_on_the_sites_address() {
        let err =
            load("[server]\nlisten = \"127.0.0.1:8000\"\nmetrics_listen = \"127.0.0.1:8000\"\n")
                .expect_err("refused")
                .to_string();
        assert!(err.contains("server.metrics_listen"), "{err}");
        assert!(
            load("").expect("defaults").server.metrics_listen.is_none(),
            "off by default"
        );
    }

    #[test]
    fn statement_timeout_must_end_before_the_request_does() {
        let err =
            load("[server]\nrequest_timeout_secs = 10\n[database]\nstatement_timeout_secs = 10\n")
                .expect_err("refused")
                .to_string();
        assert!(err.contains("database.statement_timeout_secs"), "{err}");
        assert!(err.contains("server.request_timeout_secs (10)"), "{err}");
        let ok =
            load("[server]\nrequest_timeout_secs = 10\n[database]\nstatement_timeout_secs = 0\n");
        assert!(ok.is_ok(), "0 turns the bound off");
        assert_eq!(
            load("").expect("defaults").database.statement_timeout_secs,
            20
        );
    }

    #[test]
    fn mysql_needs_a_secret_and_hides_it() {
        let err = load("[database]\nurl = \"mysql://app@db/pesquisa\"\n")
            .expect_err("secret required")
            .to_string();
        assert!(err.contains("session.secret"), "{err}");
        let s = load(
            "[database]\nurl = \"mysql://app:hunter2@db/pesquisa\"\n\
             [session]\nsecret = \"0123456789abcdef0123456789abcdef\"\n",
        )
        .expect("valid");
        let shown = s.to_redacted_toml();
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("0123456789abcdef"), "{shown}");
        assert!(shown.contains("***"), "{shown}");
        assert!(!s.database.auto_migrate());
    }

    #[test]
    fn secret_comes_from_file_and_credentials_directory() {
        let dir = std::env::temp_dir().join(format!("pesquisa-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("pw");
        std::fs::write(&file, "s3cret-from-file\n").expect("write");
        let s = load(&format!(
            "[database]\npassword_file = \"{}\"\n",
            file.display()
        ))
        .expect("valid");
        assert_eq!(
            s.database.password.as_ref().map(Secret::expose),
            Some("s3cret-from-file")
        );

        std::fs::write(dir.join("session_secret"), "x".repeat(40)).expect("write");
        let mut s = Settings::default();
        s.resolve_secrets(Some(&dir)).expect("resolve");
        assert_eq!(s.session.secret.map(|x| x.0), Some("x".repeat(40)));

        let err = load("[redis]\npassword_file = \"/nonexistent/pw\"\n")
            .expect_err("missing file")
            .to_string();
        assert!(err.contains("redis.password_file"), "{err}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_broken_questionnaire_is_refused_with_its_line() {
        let dir = std::env::temp_dir().join(format!("pesquisa-def-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("q.toml");
        std::fs::write(&file, "id = \"x\"\nversion = 1\nnonsense = true\n").expect("write");
        let err = load(&format!("[survey]\ndefinition = \"{}\"\n", file.display()))
            .expect_err("refused")
            .to_string();
        assert!(err.contains("survey.definition"), "{err}");
        assert!(err.contains("line "), "{err}");
        let err = load("[survey]\ntimezone = \"Mars/Olympus\"\n").expect_err("unknown zone");
        let err = err.to_string();
        assert!(
            err.contains("survey.timezone") && err.contains("America/Sao_Paulo"),
            "{err}"
        );
        let err = load("[survey]\ncloses_at = \"tomorrow\"\n")
            .expect_err("bad date")
            .to_string();
        assert!(err.contains("survey.closes_at"), "{err}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_broken_cceb_table_is_refused_naming_its_key() {
        let dir = std::env::temp_dir().join(format!("pesquisa-cceb-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("cceb.toml");
        // The embedded table (CCEB 2026) with B2 widened over C1: overlapping cut-offs.
        let text = crate::survey::cceb::DEFAULT_TOML.replace("min = 55", "min = 50");
        std::fs::write(&file, text).expect("write");
        let err = load(&format!("[survey]\ncceb_table = \"{}\"\n", file.display()))
            .expect_err("refused")
            .to_string();
        assert!(err.contains("survey.cceb_table"), "{err}");
        assert!(err.contains("classes[2]"), "{err}");
        assert!(err.contains("overlaps"), "{err}");
        // The shipped 2015 table, for a study comparable with earlier waves.
        std::fs::write(&file, include_str!("../assets/cceb/cceb-2015.toml")).expect("write");
        let s = load(&format!("[survey]\ncceb_table = \"{}\"\n", file.display()))
            .expect("the shipped 2015 table is valid");
        assert_eq!(
            s.survey.load_cceb_table().expect("table").edition(),
            "CCEB 2015"
        );
        let s = load("[survey]\n").expect("defaults");
        assert_eq!(
            s.survey.load_cceb_table().expect("table").edition(),
            "CCEB 2026",
            "the embedded default"
        );
        let err = load("[survey]\ncceb_table = \"/nonexistent/cceb.toml\"\n")
            .expect_err("missing file")
            .to_string();
        assert!(err.contains("survey.cceb_table"), "{err}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn weighting_bounds_are_checked() {
        let s = load("").expect("defaults");
        assert_eq!(
            s.weighting.rake_options().expect("valid").trim,
            Some((0.3, 3.0))
        );
        let err = load("[weighting]\ntrim_upper = 0.9\n")
            .expect_err("refused")
            .to_string();
        assert!(err.contains("weighting.trim_upper"), "{err}");
        let err = load("[weighting]\ntrim_lower = 1.5\n")
            .expect_err("refused")
            .to_string();
        assert!(err.contains("weighting.trim_lower"), "{err}");
        assert_eq!(
            s.weighting.margin_kinds().expect("default margins").len(),
            3
        );
        let err = load("[weighting]\nmargins = [\"bairro\", \"renda\"]\n")
            .expect_err("refused")
            .to_string();
        assert!(
            err.contains("weighting.margins") && err.contains("renda"),
            "{err}"
        );
        let err = load("[weighting]\nmargins = [\"sexo_faixa\", \"sexo\"]\n")
            .expect_err("refused")
            .to_string();
        assert!(err.contains("weighting.margins"), "{err}");
    }

    #[test]
    fn password_goes_into_urls() {
        let s = load(
            "[database]\nurl = \"mysql://app@db:3306/pesquisa?require_ssl=true\"\npassword = \"p@ss\"\n\
             [redis]\nurl = \"redis://10.8.0.1:6379\"\nusername = \"app\"\npassword = \"r\"\n\
             [session]\nsecret = \"0123456789abcdef0123456789abcdef\"\n",
        )
        .expect("valid");
        assert_eq!(
            s.database.mysql_url().expect("url"),
            "mysql://app:p%40ss@db:3306/pesquisa?require_ssl=true"
        );
        assert_eq!(
            s.redis.full_url().expect("url").as_deref(),
            Some("redis://app:r@10.8.0.1:6379")
        );
    }
}

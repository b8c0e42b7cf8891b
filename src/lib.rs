//! pesquisa: a market-research survey system in one binary.
//!
//! Module map: `cli` (subcommands) → `server`/`router` (HTTP) → `web` (handlers and hoops)
//! → `db` (models over MariaDB or SQLite) and `kv` (sessions and rate limits over Redis
//! or memory); `views` renders pages with maud; `i18n` holds every UI string; `config`
//! loads and checks the settings.

pub mod accounts;
pub mod assets;
pub mod census;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod db;
pub mod export;
pub mod i18n;
pub mod kv;
pub mod locale;
pub mod mail;
pub mod metrics;
pub mod oidc;
pub mod pool;
pub mod priority;
pub mod quality;
pub mod report;
pub mod router;
pub mod server;
pub mod stats;
pub mod survey;
pub mod synthetic;
pub mod telemetry;
pub mod views;
pub mod web;

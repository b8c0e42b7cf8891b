//! Sending mail for real: the transport (SMTP through `lettre` with rustls, or `.eml`
//! files in a folder when no SMTP server is configured) and the outbox worker that
//! `serve` runs, which claims queued rows, sends them with retries and prunes old ones.
//!
//! Requests never send: they insert an outbox row (`db::outbox`) and poke the worker, so
//! an SMTP outage never fails or slows them.

pub mod transport;
pub mod worker;

pub use transport::Transport;
pub use worker::{Options, Running, Worker};

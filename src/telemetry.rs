//! Logging: `tracing` to stderr (stdout stays clean for `export`), as text for a terminal
//! or JSON for the journal and log shippers.

use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, LoggingSettings};

/// Install the global subscriber. The level was validated with the configuration.
pub fn init(settings: &LoggingSettings) {
    let filter = EnvFilter::try_new(&settings.level).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let result = match settings.format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    // A second init (tests) keeps the first subscriber; nothing to do.
    drop(result);
}

/// Repeated errors, logged once per window instead of once per request: an outage that
/// fails every request (a full disk, a database down) must leave a readable log, not one
/// line per request per second.
pub struct Throttle {
    window: std::time::Duration,
    /// Per message: when it was last logged, and how many were skipped since.
    seen: std::sync::Mutex<std::collections::BTreeMap<String, (std::time::Instant, u64)>>,
}

/// Distinct messages remembered; beyond this the memory starts afresh (messages with
/// variable parts must not grow it without bound).
const THROTTLE_KEYS: usize = 256;

impl Throttle {
    pub const fn new(window: std::time::Duration) -> Throttle {
        Throttle {
            window,
            seen: std::sync::Mutex::new(std::collections::BTreeMap::new()),
        }
    }

    /// Whether to log `message` now: `Some(n)` with the number of identical messages
    /// skipped since it was last logged, or `None` to skip it (counted).
    pub fn admit(&self, message: &str) -> Option<u64> {
        let now = std::time::Instant::now();
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((last, skipped)) = seen.get_mut(message) {
            if now.duration_since(*last) < self.window {
                *skipped += 1;
                return None;
            }
            let n = *skipped;
            *last = now;
            *skipped = 0;
            return Some(n);
        }
        if seen.len() >= THROTTLE_KEYS {
            seen.clear();
        }
        seen.insert(message.to_string(), (now, 0));
        Some(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_message_is_admitted_once_per_window_with_the_skipped_count() {
        let t = Throttle::new(std::time::Duration::from_millis(200));
        assert_eq!(t.admit("database or disk is full"), Some(0));
        for _ in 0..50 {
            assert_eq!(t.admit("database or disk is full"), None);
        }
        assert_eq!(t.admit("another cause"), Some(0), "each message on its own");
        std::thread::sleep(std::time::Duration::from_millis(250));
        assert_eq!(t.admit("database or disk is full"), Some(50));
        assert_eq!(t.admit("database or disk is full"), None);
    }
}

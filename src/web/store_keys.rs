//! Every key the web layer writes to the session store, in one place; the store adds the
//! configured prefix. None holds an e-mail address or a usable cookie value.

use sha2::{Digest, Sha256};

/// A session's data, under a hash of the cookie value (reading the store yields no
/// usable cookie).
pub fn session(cookie_value: &str) -> String {
    format!(
        "sess:{}",
        hex::encode(Sha256::digest(cookie_value.as_bytes()))
    )
}

/// The set of a user's session keys, so that all of them can be ended at once.
pub fn user_sessions(user_id: i64) -> String {
    format!("user-sessions:{user_id}")
}

/// Answers typed in an expired session, waiting for the log-in.
pub fn draft(token: &str) -> String {
    format!("draft:{token}")
}

/// What a per-client counter counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientLimit {
    Login,
    Register,
    Rescue,
}

/// The counter of `limit` for a client network (an IPv4 address or an IPv6 /64).
pub fn client_limit(limit: ClientLimit, network: &str) -> String {
    let kind = match limit {
        ClientLimit::Login => "login",
        ClientLimit::Register => "register",
        ClientLimit::Rescue => "rescue",
    };
    format!("rl:{kind}:ip:{network}")
}

/// Whose failed log-ins a counter counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginSubject<'a> {
    /// An existing account: every spelling of its address that reaches it shares this.
    Account(i64),
    /// An address with no account (canonical form, or as typed when unparseable).
    Address(&'a str),
}

/// The failed log-ins of `subject`; an address only as a hash.
pub fn login_failures(subject: LoginSubject<'_>) -> String {
    match subject {
        LoginSubject::Account(id) => format!("rl:login:acct-id:{id}"),
        LoginSubject::Address(email) => format!(
            "rl:login:acct:{}",
            hex::encode(&Sha256::digest(email.as_bytes())[..16])
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_hold_no_cookie_value_or_address() {
        let id = "a".repeat(64);
        assert!(!session(&id).contains(&id));
        assert!(!login_failures(LoginSubject::Address("ana@exemplo.com.br")).contains("ana"));
        assert_eq!(
            client_limit(ClientLimit::Login, "2001:db8::/64"),
            "rl:login:ip:2001:db8::/64"
        );
    }
}

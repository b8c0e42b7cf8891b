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

/// An OpenID Connect log-in in progress (state, nonce, PKCE verifier), or a person the
/// provider vouched for who is completing the sign-up, under a hash of the browser's
/// pre-session nonce: one of each per browser, and short-lived.
pub fn oidc(kind: OidcKey, pre_session: &str) -> String {
    let kind = match kind {
        OidcKey::Flow => "flow",
        OidcKey::Pending => "pending",
    };
    format!(
        "oidc:{kind}:{}",
        hex::encode(Sha256::digest(pre_session.as_bytes()))
    )
}

/// Which OpenID Connect state [`oidc`] names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OidcKey {
    Flow,
    Pending,
}

/// What a per-client counter counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientLimit {
    Login,
    Register,
    Rescue,
    /// "Esqueci minha senha" requests.
    Reset,
    /// Sign-in code requests.
    Code,
}

/// The counter of `limit` for a client network (an IPv4 address or an IPv6 /64).
pub fn client_limit(limit: ClientLimit, network: &str) -> String {
    let kind = match limit {
        ClientLimit::Login => "login",
        ClientLimit::Register => "register",
        ClientLimit::Rescue => "rescue",
        ClientLimit::Reset => "reset",
        ClientLimit::Code => "code",
    };
    format!("rl:{kind}:ip:{network}")
}

/// The counter of `limit` for one e-mail address (canonical form; stored only as a hash),
/// whether or not it has an account.
pub fn address_limit(limit: ClientLimit, email: &str) -> String {
    let kind = match limit {
        ClientLimit::Reset => "reset",
        ClientLimit::Code => "code",
        ClientLimit::Login | ClientLimit::Register | ClientLimit::Rescue => "other",
    };
    format!("rl:{kind}:addr:{}", address_hash(email))
}

fn address_hash(email: &str) -> String {
    hex::encode(&Sha256::digest(email.as_bytes())[..16])
}

/// A sign-in code "sent" to an address with no account: its tries are counted here, so
/// the code page answers exactly as for a real account (wrong, tries left, ask anew).
pub fn ghost_code_tries(email: &str) -> String {
    format!("code:ghost:{}", address_hash(email))
}

/// Messages of one kind mailed to one account (`kind` is a `MailKind` name): the resend
/// and "already registered" limits, so nobody can make the site mail an address often.
pub fn account_mail(kind: &str, user_id: i64) -> String {
    format!("rl:mail:{kind}:id{user_id}")
}

/// Whose failed log-ins a counter counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginSubject<'a> {
    /// An existing account: every spelling of its address that reaches it shares this.
    /// `epoch` is the account's `lockout_epoch`; raising it starts every count afresh.
    Account { id: i64, epoch: i32 },
    /// An address with no account (canonical form, or as typed when unparseable).
    Address(&'a str),
    /// An account's second factor (staff TOTP): counted apart from its passwords, so the
    /// right password does not forget the wrong codes.
    SecondFactor { id: i64, epoch: i32 },
}

impl<'a> LoginSubject<'a> {
    /// The account's log-ins.
    pub fn account(user: &crate::db::users::User) -> Self {
        LoginSubject::Account {
            id: user.id,
            epoch: user.lockout_epoch,
        }
    }

    /// The account's log-ins when the address has one, else the address's.
    pub fn of(user: Option<&crate::db::users::User>, address: &'a str) -> Self {
        user.map_or(LoginSubject::Address(address), LoginSubject::account)
    }

    /// The subject's part of a key; an address only as a hash.
    fn key_part(self) -> String {
        match self {
            LoginSubject::Account { id, epoch } => format!("id{id}e{epoch}"),
            LoginSubject::SecondFactor { id, epoch } => format!("2f{id}e{epoch}"),
            LoginSubject::Address(email) => format!("a{}", address_hash(email)),
        }
    }
}

/// Who is trying, for the per-client log-in count: a client network, or a device the
/// account logged in from before (by a hash of its cookie's nonce).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginClient {
    Network(String),
    Device(String),
}

impl LoginClient {
    fn key_part(&self) -> String {
        match self {
            LoginClient::Network(net) => format!("net:{net}"),
            LoginClient::Device(nonce) => format!(
                "dev:{}",
                hex::encode(&Sha256::digest(nonce.as_bytes())[..16])
            ),
        }
    }
}

/// The failed log-ins of `subject` from `client`.
pub fn login_client_failures(subject: LoginSubject<'_>, client: &LoginClient) -> String {
    format!("rl:login:fail:{}:{}", subject.key_part(), client.key_part())
}

/// Until when (Unix seconds) `client` must wait before trying `subject` again.
pub fn login_client_wait(subject: LoginSubject<'_>, client: &LoginClient) -> String {
    format!("rl:login:wait:{}:{}", subject.key_part(), client.key_part())
}

/// The failed log-ins of `subject` from every client, in a window of `window_secs`.
pub fn login_account_failures(subject: LoginSubject<'_>, window_secs: u64) -> String {
    format!("rl:login:acct:{}:{window_secs}", subject.key_part())
}

/// Until when (Unix seconds) only known devices may try `subject`.
pub fn login_account_wait(subject: LoginSubject<'_>) -> String {
    format!("rl:login:acct-wait:{}", subject.key_part())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_hold_no_cookie_value_or_address() {
        let id = "a".repeat(64);
        assert!(!session(&id).contains(&id));
        let ana = LoginSubject::Address("ana@exemplo.com.br");
        assert!(!login_account_wait(ana).contains("ana"));
        let device = LoginClient::Device(id.clone());
        assert!(!login_client_wait(ana, &device).contains(&id));
        assert_ne!(
            login_account_wait(LoginSubject::Account { id: 7, epoch: 0 }),
            login_account_wait(LoginSubject::Account { id: 7, epoch: 1 }),
            "a new epoch counts afresh"
        );
        assert!(!address_limit(ClientLimit::Reset, "ana@exemplo.com.br").contains("ana"));
        assert!(!ghost_code_tries("ana@exemplo.com.br").contains("ana"));
        assert_ne!(
            address_limit(ClientLimit::Reset, "ana@exemplo.com.br"),
            address_limit(ClientLimit::Code, "ana@exemplo.com.br")
        );
        assert_eq!(
            client_limit(ClientLimit::Login, "2001:db8::/64"),
            "rl:login:ip:2001:db8::/64"
        );
    }
}

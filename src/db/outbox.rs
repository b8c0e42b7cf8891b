//! The `outbox` table: mail a request has decided to send. The request only inserts a row
//! (in its own transaction, so an SMTP outage never fails or slows it); the mail worker in
//! `serve` claims due rows, sends them and marks them sent or failed.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::schema::outbox;
use super::{DbError, DbPool};
use crate::with_conn;

/// What kind of message a row is; stored, logged and shown to admins instead of the
/// address or the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailKind {
    VerifyEmail,
    PasswordReset,
    SignInCode,
    EmailChange,
    EmailChangedNotice,
    PasswordChangedNotice,
    AccountDeletedNotice,
    AlreadyRegistered,
}

impl MailKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MailKind::VerifyEmail => "verify_email",
            MailKind::PasswordReset => "password_reset",
            MailKind::SignInCode => "sign_in_code",
            MailKind::EmailChange => "email_change",
            MailKind::EmailChangedNotice => "email_changed_notice",
            MailKind::PasswordChangedNotice => "password_changed_notice",
            MailKind::AccountDeletedNotice => "account_deleted_notice",
            MailKind::AlreadyRegistered => "already_registered",
        }
    }
}

/// A composed message: subject, plain text and HTML bodies (see `views::mail`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Composed {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// A row to insert. Build it with [`NewMessage::new`] and insert it with [`enqueue`], or
/// with `diesel::insert_into(outbox::table).values(&msg)` inside a caller's transaction
/// when the mail must exist exactly when the change does (sign-up, e-mail change).
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = outbox)]
pub struct NewMessage {
    pub kind: &'static str,
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub created_at: NaiveDateTime,
    pub next_attempt_at: NaiveDateTime,
}

impl NewMessage {
    /// A message due now.
    pub fn new(kind: MailKind, recipient: &str, mail: Composed, now: NaiveDateTime) -> Self {
        NewMessage {
            kind: kind.as_str(),
            recipient: recipient.to_string(),
            subject: mail.subject,
            body_text: mail.text,
            body_html: mail.html,
            created_at: now,
            next_attempt_at: now,
        }
    }
}

/// Queue one message on its own.
pub async fn enqueue(pool: &DbPool, msg: &NewMessage) -> Result<(), DbError> {
    with_conn!(pool, |conn| {
        diesel::insert_into(outbox::table)
            .values(msg)
            .execute(conn)
            .await?;
        Ok(())
    })
}

/// A queued message as stored (admin view, tests).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox)]
pub struct Queued {
    pub id: i64,
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    pub created_at: NaiveDateTime,
    pub attempts: i32,
    pub sent_at: Option<NaiveDateTime>,
    pub failed_at: Option<NaiveDateTime>,
    pub last_error: Option<String>,
}

/// The messages to one address, oldest first.
pub async fn to_recipient(pool: &DbPool, recipient: &str) -> Result<Vec<Queued>, DbError> {
    crate::read_conn!(pool, |conn| {
        Ok(outbox::table
            .filter(outbox::recipient.eq(recipient))
            .order(outbox::id.asc())
            .select(Queued::as_select())
            .load(conn)
            .await?)
    })
}

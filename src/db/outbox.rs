//! The `outbox` table: mail a request has decided to send. The request only inserts a row
//! (in its own transaction, so an SMTP outage never fails or slows it); the mail worker in
//! `serve` claims due rows, sends them and marks them sent or failed.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::prepared::Prepared;
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
        Prepared(diesel::insert_into(outbox::table).values(msg))
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

/// A message claimed by this instance, with what the worker needs to send it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox)]
pub struct Claimed {
    pub id: i64,
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub created_at: NaiveDateTime,
    pub attempts: i32,
}

/// Claim up to `limit` due messages for `instance` until `until`, and return those won.
///
/// The due rows' ids are read first (MariaDB cannot UPDATE … LIMIT from a subquery on the
/// same table, and SQLite has no UPDATE … LIMIT), then one UPDATE claims those still due:
/// the database serialises two instances' UPDATEs of a row, and the due condition is
/// checked again on the row, so each row goes to exactly one of them. The rows won are
/// those of the ids now claimed by `instance` (an instance drains one batch at a time, so
/// none of them is an older claim of its own still held). One statement, one commit, for
/// the whole batch.
pub async fn claim_due(
    pool: &DbPool,
    instance: &str,
    now: NaiveDateTime,
    until: NaiveDateTime,
    limit: i64,
) -> Result<Vec<Claimed>, DbError> {
    with_conn!(pool, |conn| {
        let due = outbox::sent_at
            .is_null()
            .and(outbox::failed_at.is_null())
            .and(outbox::next_attempt_at.le(now))
            .and(
                outbox::claimed_until
                    .is_null()
                    .or(outbox::claimed_until.lt(now)),
            );
        let candidates: Vec<i64> = outbox::table
            .filter(due)
            .order(outbox::next_attempt_at.asc())
            .select(outbox::id)
            .limit(limit)
            .load(conn)
            .await?;
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        let claimed = diesel::update(
            outbox::table
                .filter(outbox::id.eq_any(&candidates))
                .filter(due),
        )
        .set((
            outbox::claimed_by.eq(instance),
            outbox::claimed_until.eq(until),
        ))
        .execute(conn)
        .await?;
        if claimed == 0 {
            return Ok(Vec::new());
        }
        Ok(outbox::table
            .filter(outbox::id.eq_any(&candidates))
            .filter(outbox::claimed_by.eq(instance))
            .order(outbox::id.asc())
            .select(Claimed::as_select())
            .load(conn)
            .await?)
    })
}

/// Mark claimed messages sent, in one statement; returns how many this instance still
/// held the claim of (fewer than `ids` when a claim ran out and another instance took
/// the row). The worker marks one message at a time over SMTP and a written batch of
/// `.eml` files at once; each batch size is its own cached statement, up to the
/// worker's batch size.
pub async fn mark_sent(
    pool: &DbPool,
    ids: &[i64],
    instance: &str,
    now: NaiveDateTime,
) -> Result<usize, DbError> {
    if ids.is_empty() {
        return Ok(0);
    }
    with_conn!(pool, |conn| {
        Ok(Prepared(
            diesel::update(
                outbox::table
                    .filter(outbox::id.eq_any(ids))
                    .filter(outbox::claimed_by.eq(instance)),
            )
            .set((
                outbox::sent_at.eq(Some(now)),
                outbox::attempts.eq(outbox::attempts + 1),
                outbox::claimed_until.eq(None::<NaiveDateTime>),
                outbox::last_error.eq(None::<String>),
            )),
        )
        .execute(conn)
        .await?)
    })
}

/// What became of a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Try again at this time.
    At(NaiveDateTime),
    /// Give up: the row is marked failed and shown to admins.
    GiveUp,
}

/// Record a failed attempt of a claimed message and release the claim. `error` must not
/// contain the address (see `mail::worker::redact`).
pub async fn mark_attempt_failed(
    pool: &DbPool,
    id: i64,
    instance: &str,
    now: NaiveDateTime,
    retry: Retry,
    error: &str,
) -> Result<(), DbError> {
    let error: String = error.chars().take(500).collect();
    let (next, failed) = match retry {
        Retry::At(at) => (at, None),
        Retry::GiveUp => (now, Some(now)),
    };
    with_conn!(pool, |conn| {
        diesel::update(
            outbox::table
                .filter(outbox::id.eq(id))
                .filter(outbox::claimed_by.eq(instance)),
        )
        .set((
            outbox::attempts.eq(outbox::attempts + 1),
            outbox::next_attempt_at.eq(next),
            outbox::failed_at.eq(failed),
            outbox::last_error.eq(Some(&error)),
            outbox::claimed_by.eq(None::<String>),
            outbox::claimed_until.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)
        .await?;
        Ok(())
    })
}

/// Put a failed message back in the queue (an admin's "retry"): due now, with a fresh
/// count of attempts (a message older than the worker's give-up age gets one more try).
/// False when no failed message has that id.
pub async fn retry_failed(pool: &DbPool, id: i64, now: NaiveDateTime) -> Result<bool, DbError> {
    with_conn!(pool, |conn| {
        let n = diesel::update(
            outbox::table
                .filter(outbox::id.eq(id))
                .filter(outbox::failed_at.is_not_null())
                .filter(outbox::sent_at.is_null()),
        )
        .set((
            outbox::failed_at.eq(None::<NaiveDateTime>),
            outbox::attempts.eq(0),
            outbox::next_attempt_at.eq(now),
            outbox::claimed_by.eq(None::<String>),
            outbox::claimed_until.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)
        .await?;
        Ok(n == 1)
    })
}

/// Remove sent messages older than `sent_before` and failed ones older than
/// `failed_before`: the addresses and texts are kept no longer than the mail needs.
pub async fn prune(
    pool: &DbPool,
    sent_before: NaiveDateTime,
    failed_before: NaiveDateTime,
) -> Result<usize, DbError> {
    with_conn!(pool, |conn| {
        let sent = diesel::delete(outbox::table.filter(outbox::sent_at.lt(sent_before)))
            .execute(conn)
            .await?;
        let failed = diesel::delete(outbox::table.filter(outbox::failed_at.lt(failed_before)))
            .execute(conn)
            .await?;
        Ok(sent + failed)
    })
}

/// How many messages are waiting, sent (still kept) and failed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub queued: i64,
    pub sent: i64,
    pub failed: i64,
}

/// How many messages are waiting (the worker's gauge; [`counts`] for the admin page).
pub async fn queued(pool: &DbPool) -> Result<i64, DbError> {
    crate::read_conn!(pool, |conn| {
        Ok(outbox::table
            .filter(outbox::sent_at.is_null())
            .filter(outbox::failed_at.is_null())
            .count()
            .get_result(conn)
            .await?)
    })
}

pub async fn counts(pool: &DbPool) -> Result<Counts, DbError> {
    let queued = queued(pool).await?;
    crate::read_conn!(pool, |conn| {
        let sent: i64 = outbox::table
            .filter(outbox::sent_at.is_not_null())
            .count()
            .get_result(conn)
            .await?;
        let failed: i64 = outbox::table
            .filter(outbox::failed_at.is_not_null())
            .filter(outbox::sent_at.is_null())
            .count()
            .get_result(conn)
            .await?;
        Ok(Counts {
            queued,
            sent,
            failed,
        })
    })
}

/// The newest failed messages (admin view), and the queued ones that have failed at
/// least once, newest first.
pub async fn troubled(pool: &DbPool, limit: i64) -> Result<Vec<Queued>, DbError> {
    crate::read_conn!(pool, |conn| {
        Ok(outbox::table
            .filter(outbox::sent_at.is_null())
            .filter(outbox::failed_at.is_not_null().or(outbox::attempts.gt(0)))
            .order(outbox::id.desc())
            .limit(limit)
            .select(Queued::as_select())
            .load(conn)
            .await?)
    })
}

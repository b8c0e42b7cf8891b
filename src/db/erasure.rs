//! What deleting an account erases, counted from the database before an admin confirms
//! it (`users::delete` does the erasing). Counts only; no content leaves this module
//! beyond the response row the page already shows the status of.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::responses::Response;
use super::schema::{consents, email_tokens, outbox, responses, staff_totp, user_identities};
use super::users::User;
use super::{DbError, DbPool};
use crate::read_conn;

/// The rows that go with an account.
#[derive(Debug, Clone)]
pub struct Erasure {
    /// Its questionnaire response, if it started one.
    pub response: Option<Response>,
    pub consents: i64,
    /// Links to outside identity providers.
    pub identities: i64,
    /// Verification, reset and sign-in links and codes, used or not.
    pub email_tokens: i64,
    /// A two-step verification enrolment (staff).
    pub second_factor: bool,
    /// Messages to the account's address not sent yet (queued or failed); deleting the
    /// account cancels them.
    pub pending_mail: i64,
}

/// Count what deleting `user` would erase.
pub async fn preview(pool: &DbPool, user: &User) -> Result<Erasure, DbError> {
    let id = user.id;
    read_conn!(pool, |conn| {
        let response = responses::table
            .filter(responses::user_id.eq(Some(id)))
            .select(Response::as_select())
            .first(conn)
            .await
            .optional()?;
        let consents: i64 = consents::table
            .filter(consents::user_id.eq(id))
            .count()
            .get_result(conn)
            .await?;
        let identities: i64 = user_identities::table
            .filter(user_identities::user_id.eq(id))
            .count()
            .get_result(conn)
            .await?;
        let email_tokens: i64 = email_tokens::table
            .filter(email_tokens::user_id.eq(id))
            .count()
            .get_result(conn)
            .await?;
        let second_factor: i64 = staff_totp::table
            .filter(staff_totp::user_id.eq(id))
            .count()
            .get_result(conn)
            .await?;
        let pending_mail: i64 = outbox::table
            .filter(outbox::recipient.eq(&user.email))
            .filter(outbox::sent_at.is_null())
            .count()
            .get_result(conn)
            .await?;
        Ok::<_, DbError>(Erasure {
            response,
            consents,
            identities,
            email_tokens,
            second_factor: second_factor > 0,
            pending_mail,
        })
    })
}

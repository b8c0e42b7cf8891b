//! The admin's list of accounts: search, filters by role, bairro and questionnaire
//! status, one page at a time, each account with the status of its response.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::schema::{responses, users};
use super::users::{User, like_pattern};
use super::{DbError, DbPool};
use crate::accounts::Role;
use crate::read_conn;

/// Where a respondent is with the questionnaire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseStatus {
    /// No answer saved yet.
    NotStarted,
    /// Saved at least one page, not submitted.
    InProgress,
    /// Submitted.
    Completed,
    /// A screen-out rule ended the questionnaire (whether or not it was submitted): the
    /// person is outside the study's population, as the report counts them.
    ScreenedOut,
}

impl ResponseStatus {
    pub const ALL: [ResponseStatus; 4] = [
        ResponseStatus::NotStarted,
        ResponseStatus::InProgress,
        ResponseStatus::Completed,
        ResponseStatus::ScreenedOut,
    ];

    /// The status of a stored response (`None`: the person has none).
    pub fn of(response: Option<&super::responses::Response>) -> ResponseStatus {
        match response {
            None => ResponseStatus::NotStarted,
            Some(r) => Self::from_parts(true, r.submitted_at.is_some(), r.screened_out.is_some()),
        }
    }

    /// The one rule: screened out wins over submitted, submitted over merely saved.
    pub fn from_parts(exists: bool, submitted: bool, screened_out: bool) -> ResponseStatus {
        match (exists, submitted, screened_out) {
            (false, _, _) => ResponseStatus::NotStarted,
            (true, _, true) => ResponseStatus::ScreenedOut,
            (true, true, false) => ResponseStatus::Completed,
            (true, false, false) => ResponseStatus::InProgress,
        }
    }

    /// Its name in URLs (`?status=`).
    pub fn key(self) -> &'static str {
        match self {
            ResponseStatus::NotStarted => "not_started",
            ResponseStatus::InProgress => "in_progress",
            ResponseStatus::Completed => "completed",
            ResponseStatus::ScreenedOut => "screened_out",
        }
    }

    pub fn parse(key: &str) -> Option<ResponseStatus> {
        Self::ALL.into_iter().find(|s| s.key() == key)
    }
}

/// What the list is narrowed to; `None` and an empty query match everything.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Part of the e-mail, name or surname.
    pub query: String,
    pub role: Option<Role>,
    pub bairro: Option<String>,
    pub status: Option<ResponseStatus>,
}

/// One account of the list, with its response's status and last save.
#[derive(Debug, Clone)]
pub struct Listed {
    pub user: User,
    pub status: ResponseStatus,
    pub saved_at: Option<NaiveDateTime>,
}

type Row = (
    User,
    Option<i64>,
    Option<NaiveDateTime>,
    Option<String>,
    Option<NaiveDateTime>,
);

/// The accounts matching `$f`, each joined with its response (at most one: a unique
/// constraint), as a boxed query. A macro because it runs inside [`read_conn!`]'s body,
/// once per backend.
macro_rules! matching {
    ($f:expr, $pattern:expr) => {{
        let f: &ListFilter = $f;
        let pattern: &str = $pattern;
        let mut q = users::table
            .left_join(responses::table.on(responses::user_id.eq(users::id.nullable())))
            .into_boxed();
        if !f.query.trim().is_empty() {
            q = q.filter(
                users::email
                    .like(pattern.to_string())
                    .escape('\\')
                    .or(users::nome.like(pattern.to_string()).escape('\\'))
                    .or(users::sobrenome.like(pattern.to_string()).escape('\\')),
            );
        }
        if let Some(role) = f.role {
            q = q.filter(users::role.eq(role.as_str()));
        }
        if let Some(bairro) = &f.bairro {
            q = q.filter(users::bairro.eq(bairro.clone()));
        }
        match f.status {
            None => {}
            Some(ResponseStatus::NotStarted) => q = q.filter(responses::id.nullable().is_null()),
            Some(ResponseStatus::InProgress) => {
                q = q.filter(
                    responses::id
                        .nullable()
                        .is_not_null()
                        .and(responses::submitted_at.is_null())
                        .and(responses::screened_out.is_null()),
                )
            }
            Some(ResponseStatus::Completed) => {
                q = q.filter(
                    responses::submitted_at
                        .is_not_null()
                        .and(responses::screened_out.is_null()),
                )
            }
            Some(ResponseStatus::ScreenedOut) => {
                q = q.filter(responses::screened_out.is_not_null())
            }
        }
        q
    }};
}

/// One page of the accounts matching `f`, newest first, and how many match in all.
pub async fn search(
    pool: &DbPool,
    f: &ListFilter,
    page: i64,
    per_page: i64,
) -> Result<(Vec<Listed>, i64), DbError> {
    let pattern = like_pattern(f.query.trim());
    let offset = (page.max(1) - 1) * per_page;
    let (rows, total): (Vec<Row>, i64) = read_conn!(pool, |conn| {
        let total: i64 = matching!(f, &pattern).count().get_result(conn).await?;
        let rows: Vec<Row> = matching!(f, &pattern)
            .order(users::id.desc())
            .limit(per_page)
            .offset(offset)
            .select((
                User::as_select(),
                responses::id.nullable(),
                responses::submitted_at.nullable(),
                responses::screened_out.nullable(),
                responses::updated_at.nullable(),
            ))
            .load(conn)
            .await?;
        Ok::<_, DbError>((rows, total))
    })?;
    let listed = rows
        .into_iter()
        .map(|(user, id, submitted, screened, saved_at)| Listed {
            user,
            status: ResponseStatus::from_parts(
                id.is_some(),
                submitted.is_some(),
                screened.is_some(),
            ),
            saved_at,
        })
        .collect();
    Ok((listed, total))
}

/// The bairros stored on accounts, for the filter beside the configured ones.
pub async fn stored_bairros(pool: &DbPool) -> Result<Vec<String>, DbError> {
    read_conn!(pool, |conn| {
        Ok(users::table
            .select(users::bairro)
            .filter(users::bairro.ne(""))
            .distinct()
            .order(users::bairro)
            .load(conn)
            .await?)
    })
}

#[cfg(test)]
mod tests {
    use super::ResponseStatus as S;

    #[test]
    fn screened_out_wins_then_submitted_then_saved() {
        assert_eq!(S::from_parts(false, false, false), S::NotStarted);
        assert_eq!(S::from_parts(true, false, false), S::InProgress);
        assert_eq!(S::from_parts(true, true, false), S::Completed);
        assert_eq!(S::from_parts(true, true, true), S::ScreenedOut);
        assert_eq!(S::from_parts(true, false, true), S::ScreenedOut);
        for s in S::ALL {
            assert_eq!(S::parse(s.key()), Some(s));
        }
        assert_eq!(S::parse("x"), None);
    }
}

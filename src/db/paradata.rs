//! Paradata (`page_visits`): when each respondent first viewed each questionnaire page,
//! first and last saved it, and how many times, on the server's clock. One row per
//! respondent and page, written by one small statement per GET or save, so the table
//! grows with the questionnaire, not with the traffic. Both statements stay prepared on
//! their connection ([`Prepared`]): they run on every page view or save.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Timestamp};
use diesel_async::RunQueryDsl;

use super::prepared::Prepared;
use super::schema::page_visits;
use super::users::now;
use super::{DbError, DbPool};
use crate::{read_conn, with_conn};

/// One page's stamps.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = page_visits)]
pub struct PageVisit {
    pub user_id: i64,
    /// 0-based, as the questionnaire numbers its pages inside.
    pub page: i32,
    pub first_viewed_at: NaiveDateTime,
    pub first_saved_at: Option<NaiveDateTime>,
    pub last_saved_at: Option<NaiveDateTime>,
    pub saves: i32,
}

#[diesel::declare_sql_function]
extern "SQL" {
    /// SQL `COALESCE` of two timestamps.
    fn coalesce(x: Nullable<Timestamp>, y: Nullable<Timestamp>) -> Nullable<Timestamp>;
}

pub(crate) fn page_no(page: usize) -> i32 {
    i32::try_from(page).unwrap_or(i32::MAX)
}

/// Stamp the first view of `page` (a later view changes nothing: the insert is ignored
/// when the row exists).
pub async fn viewed(pool: &DbPool, user_id: i64, page: usize) -> Result<(), DbError> {
    let at = now();
    with_conn!(pool, |conn| {
        Prepared(diesel::insert_or_ignore_into(page_visits::table).values((
            page_visits::user_id.eq(user_id),
            page_visits::page.eq(page_no(page)),
            page_visits::first_viewed_at.eq(at),
            page_visits::saves.eq(0),
        )))
        .execute(conn)
        .await?;
        Ok(())
    })
}

/// Stamp an accepted save of `page`: the first save time is kept, the last one moves,
/// the count goes up. A page saved without a recorded view (a form posted from a page
/// served before paradata existed) gets its first view at the save.
pub async fn saved(pool: &DbPool, user_id: i64, page: usize) -> Result<(), DbError> {
    let at = now();
    let page = page_no(page);
    with_conn!(pool, |conn| {
        let n = Prepared(
            diesel::update(
                page_visits::table
                    .filter(page_visits::user_id.eq(user_id))
                    .filter(page_visits::page.eq(page)),
            )
            .set((
                page_visits::first_saved_at.eq(coalesce(page_visits::first_saved_at, Some(at))),
                page_visits::last_saved_at.eq(Some(at)),
                page_visits::saves.eq(page_visits::saves + 1),
            )),
        )
        .execute(conn)
        .await?;
        if n == 0 {
            diesel::insert_or_ignore_into(page_visits::table)
                .values((
                    page_visits::user_id.eq(user_id),
                    page_visits::page.eq(page),
                    page_visits::first_viewed_at.eq(at),
                    page_visits::first_saved_at.eq(Some(at)),
                    page_visits::last_saved_at.eq(Some(at)),
                    page_visits::saves.eq(1),
                ))
                .execute(conn)
                .await?;
        }
        Ok(())
    })
}

/// The stamps of one respondent, by page.
pub async fn for_user(pool: &DbPool, user_id: i64) -> Result<Vec<PageVisit>, DbError> {
    read_conn!(pool, |conn| {
        Ok(page_visits::table
            .filter(page_visits::user_id.eq(user_id))
            .order(page_visits::page.asc())
            .select(PageVisit::as_select())
            .load(conn)
            .await?)
    })
}

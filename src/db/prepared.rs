//! [`Prepared`]: a statement kept prepared on its connection although diesel would
//! prepare it anew on every run.
//!
//! Diesel marks every `UPDATE` (and every `INSERT` of single values on MariaDB) as unsafe
//! to cache, because a changeset struct with `Option` fields can leave columns out, so
//! one Rust type may stand for several SQL texts. Such a statement is then prepared and
//! closed on each run: two extra round trips and a good share of a page save's work. A
//! statement whose text is fixed by the code (a tuple of `.eq(…)`, every column always
//! set) is as safe to cache as a `SELECT`, and the cache keys a statement without a
//! static query id by its SQL text and bind types, so even a differing text would get
//! its own entry.

use diesel::backend::Backend;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::result::QueryResult;

/// A statement of fixed text that the connection's statement cache may keep; wrap only
/// statements built from a fixed set of columns (see the module's documentation).
#[derive(Debug, Clone, Copy)]
pub struct Prepared<Q>(pub Q);

impl<Q, DB> QueryFragment<DB> for Prepared<Q>
where
    Q: QueryFragment<DB>,
    DB: Backend,
{
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &DB) -> QueryResult<bool> {
        Ok(true)
    }
}

/// No static id: the cache then keys the statement by its SQL text, never by type.
impl<Q> QueryId for Prepared<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

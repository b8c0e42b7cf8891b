//! The batched reads behind the export and the report: the responses matching a filter,
//! by ascending id (keyset pagination, so memory stays flat), and the personal data of
//! their respondents when an export asks for it, all in one consistent snapshot, so that
//! what is saved meanwhile neither shifts the count nor shows in only some of the rows.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::{
    AnsiTransactionManager, AsyncConnection, RunQueryDsl, SimpleAsyncConnection, TransactionManager,
};
use serde::Serialize;

use super::responses::Response;
use super::schema::{responses, users};
use super::{DbError, DbPool};
use crate::with_conn;

/// Rows read per query.
pub const BATCH_SIZE: i64 = 1000;

/// A respondent's personal data, only with `--include-personal-data`.
#[derive(Debug, Clone, Default)]
pub struct Person {
    pub nome: String,
    pub sobrenome: String,
    pub email: String,
    pub telefone: Option<String>,
}

/// Which responses to export. Times are UTC, compared with `updated_at`; both bounds
/// are inclusive.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Filters {
    #[serde(serialize_with = "opt_time")]
    pub since: Option<NaiveDateTime>,
    #[serde(serialize_with = "opt_time")]
    pub until: Option<NaiveDateTime>,
    pub bairro: Option<String>,
    pub complete_only: bool,
    /// Only responses whose respondent verified the e-mail address (`accounts.
    /// require_verified_email`); responses kept without a person (an anonymized deletion)
    /// still count.
    pub verified_only: bool,
    /// Leave out completed responses carrying a data-quality flag (`--exclude-flagged`).
    /// The ids are in `excluded`, filled in by [`crate::db::quality::exclude_flagged`].
    pub exclude_flagged: bool,
    #[serde(skip)]
    pub excluded: Excluded,
}

/// Response ids a read leaves out: the flagged ones when `exclude_flagged` is set. Flags
/// are computed in Rust (a median, fingerprint groups), not in SQL, so the rows are
/// dropped as each batch arrives rather than by the query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Excluded(pub Option<std::sync::Arc<std::collections::HashSet<i64>>>);

impl Excluded {
    pub fn contains(&self, id: i64) -> bool {
        self.0.as_ref().is_some_and(|s| s.contains(&id))
    }

    pub fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |s| s.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The ids in ascending order.
    pub fn sorted(&self) -> Vec<i64> {
        let mut ids: Vec<i64> = self.0.iter().flat_map(|s| s.iter().copied()).collect();
        ids.sort_unstable();
        ids
    }
}

/// Excluded ids bound per counting query: under SQLite's oldest limit of 999 variables,
/// with room for the filters' own.
const EXCLUDED_PER_QUERY: usize = 900;

fn opt_time<S: serde::Serializer>(t: &Option<NaiveDateTime>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&crate::survey::format::timestamp(*t)),
        None => s.serialize_none(),
    }
}

macro_rules! filtered {
    ($filters:expr, $max_id:expr) => {{
        let f: &Filters = $filters;
        let mut q = responses::table
            .filter(responses::id.le($max_id))
            .into_boxed();
        if let Some(since) = f.since {
            q = q.filter(responses::updated_at.ge(since));
        }
        if let Some(until) = f.until {
            q = q.filter(responses::updated_at.le(until));
        }
        if let Some(bairro) = &f.bairro {
            q = q.filter(responses::bairro.eq(bairro.clone()));
        }
        if f.complete_only {
            q = q.filter(responses::submitted_at.is_not_null());
        }
        if f.verified_only {
            q = q.filter(
                responses::user_id.is_null().or(responses::user_id.eq_any(
                    users::table
                        .filter(users::email_verified_at.is_not_null())
                        .select(users::id.nullable()),
                )),
            );
        }
        q
    }};
}

type PersonRow = (i64, String, String, String, Option<String>);

/// The respondents `$ids` (a `&[i64]`) on the connection `$conn`, by user id. A macro,
/// not a function, because it runs inside [`with_conn!`]'s body, once per backend.
macro_rules! people_on {
    ($conn:expr, $ids:expr) => {{
        let ids: &[i64] = $ids;
        if ids.is_empty() {
            HashMap::new()
        } else {
            let rows: Vec<PersonRow> = users::table
                .filter(users::id.eq_any(ids))
                .select((
                    users::id,
                    users::nome,
                    users::sobrenome,
                    users::email,
                    users::telefone,
                ))
                .load($conn)
                .await?;
            rows.into_iter()
                .map(|(id, nome, sobrenome, email, telefone)| {
                    let person = Person {
                        nome,
                        sobrenome,
                        email,
                        telefone,
                    };
                    (id, person)
                })
                .collect::<HashMap<i64, Person>>()
        }
    }};
}

/// One batch of responses, with the personal data of their respondents when asked.
#[derive(Debug, Default)]
pub struct Batch {
    pub rows: Vec<Response>,
    /// By user id; empty unless the batches were opened with `personal`.
    pub people: HashMap<i64, Person>,
}

/// What the reader task sends: a batch, or the end. A channel that closes without
/// [`Message::End`] means the reader failed to finish (it panicked), never "no more rows".
enum Message {
    Batch(Batch),
    End,
}

/// The responses matching `filters`, in id order, one batch at a time (keyset pagination:
/// memory stays flat whatever the number of rows), all read in one consistent snapshot.
///
/// One task holds one connection and one read-only transaction for the whole read:
/// `START TRANSACTION WITH CONSISTENT SNAPSHOT` at REPEATABLE READ on MariaDB, one read
/// transaction on SQLite (WAL: the snapshot of the first read lasts until the end). So a
/// transaction committed during an export shows in all of its rows or in none; batches on
/// separate connections would each see the latest commit.
///
/// While the caller works on one batch, the task already reads the next, so the database
/// round trip overlaps the formatting instead of adding to it. At most two batches are in
/// memory: the task reserves the channel's one slot before reading.
pub struct Batches {
    rx: tokio::sync::mpsc::Receiver<Result<Message, DbError>>,
    max_id: i64,
    count: Option<i64>,
    ended: bool,
}

impl Batches {
    /// Opens the snapshot and reads the highest id in it (rows are read up to it). With
    /// `personal`, also counts the matching rows ([`count`](Self::count)) and reads each
    /// batch's respondents ([`Batch::people`]) in the same snapshot.
    pub async fn open(
        pool: &DbPool,
        filters: &Filters,
        size: i64,
        personal: bool,
    ) -> Result<Batches, DbError> {
        let (start_tx, start_rx) = tokio::sync::oneshot::channel();
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        let reader = Reader {
            filters: filters.clone(),
            size: size.max(1),
            personal,
        };
        tokio::spawn(reader.run(pool.clone(), start_tx, tx));
        let (max_id, count) = start_rx.await.map_err(|_| stopped())??;
        Ok(Batches {
            rx,
            max_id,
            count,
            ended: false,
        })
    }

    /// The highest response id in the snapshot.
    pub fn max_id(&self) -> i64 {
        self.max_id
    }

    /// The number of rows the batches will hold, the excluded ones left out (opened with
    /// `personal` only).
    pub fn count(&self) -> Option<i64> {
        self.count
    }

    /// The next batch, `None` after the last.
    pub async fn next(&mut self) -> Result<Option<Batch>, DbError> {
        if self.ended {
            return Ok(None);
        }
        match self.rx.recv().await {
            Some(Ok(Message::Batch(batch))) => Ok(Some(batch)),
            Some(Ok(Message::End)) => {
                self.ended = true;
                Ok(None)
            }
            Some(Err(e)) => Err(e),
            None => Err(stopped()),
        }
    }
}

fn stopped() -> DbError {
    DbError::Unavailable("the batch reader stopped before the end".into())
}

/// The task behind [`Batches`].
struct Reader {
    filters: Filters,
    size: i64,
    personal: bool,
}

type Start = tokio::sync::oneshot::Sender<Result<(i64, Option<i64>), DbError>>;
type Sender = tokio::sync::mpsc::Sender<Result<Message, DbError>>;

impl Reader {
    /// Reads everything in one snapshot and sends it batch by batch. Stops early, ending
    /// the transaction, when the receiver is gone (an export that failed or a download
    /// whose client left): the connection goes back to the pool clean.
    async fn run(self, pool: DbPool, start: Start, tx: Sender) {
        let mut start = Some(start);
        // In a block of its own: `with_conn!` returns its connection errors with `?`.
        let result: Result<(), DbError> = async {
            with_conn!(&pool, |conn| {
                conn.begin_snapshot().await?;
                let read = async {
                    let max_id: i64 = responses::table
                        .select(diesel::dsl::max(responses::id))
                        .first::<Option<i64>>(conn)
                        .await?
                        .unwrap_or(0);
                    let count = match self.personal {
                        true => {
                            let all = filtered!(&self.filters, max_id)
                                .count()
                                .get_result::<i64>(conn)
                                .await?;
                            // The rows the batches will leave out (`--exclude-flagged`)
                            // are not exported, so they are not counted either.
                            let mut left_out = 0;
                            for chunk in self.filters.excluded.sorted().chunks(EXCLUDED_PER_QUERY) {
                                left_out += filtered!(&self.filters, max_id)
                                    .filter(responses::id.eq_any(chunk.to_vec()))
                                    .count()
                                    .get_result::<i64>(conn)
                                    .await?;
                            }
                            Some(all - left_out)
                        }
                        false => None,
                    };
                    let opened = start.take().map(|s| s.send(Ok((max_id, count))));
                    if !matches!(opened, Some(Ok(()))) {
                        return Ok::<(), DbError>(());
                    }
                    let mut after = 0;
                    loop {
                        // The slot first: no batch is read that could not be handed over.
                        let Ok(slot) = tx.reserve().await else {
                            return Ok(());
                        };
                        let rows: Vec<Response> = filtered!(&self.filters, max_id)
                            .filter(responses::id.gt(after))
                            .order(responses::id.asc())
                            .limit(self.size)
                            .select(Response::as_select())
                            .load(conn)
                            .await?;
                        let Some(last) = rows.last() else {
                            slot.send(Ok(Message::End));
                            return Ok(());
                        };
                        after = last.id;
                        let short = (rows.len() as i64) < self.size;
                        let mut rows = rows;
                        if !self.filters.excluded.is_empty() {
                            rows.retain(|r| !self.filters.excluded.contains(r.id));
                        }
                        let people = match self.personal {
                            true => {
                                let ids: Vec<i64> = rows.iter().filter_map(|r| r.user_id).collect();
                                people_on!(conn, &ids)
                            }
                            false => HashMap::new(),
                        };
                        slot.send(Ok(Message::Batch(Batch { rows, people })));
                        if short {
                            // A short batch is the last: no query to learn that nothing follows.
                            let _ = tx.send(Ok(Message::End)).await;
                            return Ok(());
                        }
                    }
                }
                .await;
                // Read-only: ending it commits nothing. An error ending it after a failed read
                // is secondary; the read's error is the one to report.
                let ended = conn.end_snapshot().await.map_err(DbError::from);
                read.and(ended)
            })
        }
        .await;
        if let Err(e) = result {
            match start.take() {
                Some(start) => {
                    let _ = start.send(Err(e));
                }
                None => {
                    let _ = tx.send(Err(e)).await;
                }
            }
        }
    }
}

/// Opening and ending the read-only snapshot transaction, per backend. Through diesel's
/// transaction manager, so that a connection given back with the transaction still open
/// (its task aborted) counts as broken and the pool closes it.
trait SnapshotConnection {
    fn begin_snapshot(&mut self) -> impl Future<Output = QueryResult<()>> + Send;
    fn end_snapshot(&mut self) -> impl Future<Output = QueryResult<()>> + Send;
}

impl SnapshotConnection for diesel_async::AsyncMysqlConnection {
    async fn begin_snapshot(&mut self) -> QueryResult<()> {
        // Explicit: a server or session default of READ COMMITTED would make the
        // snapshot per statement, not per transaction. Applies to the next transaction.
        self.batch_execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            .await?;
        AnsiTransactionManager::begin_transaction_sql(
            self,
            "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY",
        )
        .await
    }
    async fn end_snapshot(&mut self) -> QueryResult<()> {
        AnsiTransactionManager::commit_transaction(self).await
    }
}

impl SnapshotConnection for super::SqliteConn {
    async fn begin_snapshot(&mut self) -> QueryResult<()> {
        // A deferred BEGIN: the read snapshot is taken at the first SELECT (max id).
        <Self as AsyncConnection>::TransactionManager::begin_transaction(self).await
    }
    async fn end_snapshot(&mut self) -> QueryResult<()> {
        <Self as AsyncConnection>::TransactionManager::commit_transaction(self).await
    }
}

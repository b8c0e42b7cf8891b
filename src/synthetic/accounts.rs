//! What real respondents leave besides their answers, for synthetic households
//! (`dev generate-responses --with-accounts`): an account, a page visit per page seen
//! (paradata) and the duplicate fingerprints. Without them a benchmark of the report or
//! the dashboard skips the data-quality rules' biggest reads (first views per account,
//! fingerprints), so it measures less than a study of the same size costs.
//!
//! Accounts cannot log in (the password hash is not an argon2 string) and use the
//! reserved `.invalid` domain; surnames are numbered so that no two people share a name.
//! A small share of households reuses an earlier household's
//! phone, as a person signing up twice would, so the duplicate rule has something to find.

use std::collections::HashMap;

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use rand::Rng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;

use super::{Household, NewRow};
use crate::db::schema::{page_visits, respondent_fingerprints as fp, responses, users};
use crate::db::{DbError, DbPool};
use crate::quality::fingerprint::fingerprints;
use crate::survey::Definition;

/// Share of households that sign up with a phone already used by an earlier one.
const REPEATED_PHONE_SHARE: f64 = 0.01;
/// Phones kept to be repeated (the most recent ones).
const RECENT_PHONES: usize = 1_000;
/// Stored instead of a password hash: no argon2 string, so no password matches it.
const NO_PASSWORD: &str = "!sintetico";

const NAMES: [&str; 12] = [
    "Ana",
    "Maria",
    "Juliana",
    "Fernanda",
    "Patrícia",
    "Aline",
    "José",
    "João",
    "Carlos",
    "Paulo",
    "Lucas",
    "Rafael",
];
const SURNAMES: [&str; 10] = [
    "Silva",
    "Santos",
    "Oliveira",
    "Souza",
    "Rodrigues",
    "Ferreira",
    "Alves",
    "Pereira",
    "Lima",
    "Gomes",
];

/// The state carried from one batch of households to the next.
pub struct Accounts {
    /// Key of the fingerprints (the configured session secret, as `serve` uses).
    key: Vec<u8>,
    /// Number of the next account (its e-mail address).
    next: u64,
    recent_phones: Vec<String>,
}

impl Accounts {
    /// Accounts numbered from `first` (the responses already in the database, so that
    /// `--append` makes new addresses).
    pub fn new(key: Vec<u8>, first: u64) -> Accounts {
        Accounts {
            key,
            next: first,
            recent_phones: Vec::new(),
        }
    }

    fn phone(&mut self, rng: &mut ChaCha8Rng) -> String {
        if rng.random_bool(REPEATED_PHONE_SHARE)
            && let Some(p) = self.recent_phones.choose(rng)
        {
            return p.clone();
        }
        // Stored as the sign-up form keeps it: area code and number, digits only.
        let p = format!(
            "129{:04}{:04}",
            rng.random_range(0..10_000),
            rng.random_range(0..10_000)
        );
        if self.recent_phones.len() < RECENT_PHONES {
            self.recent_phones.push(p.clone());
        } else {
            let i = rng.random_range(0..RECENT_PHONES);
            self.recent_phones[i] = p.clone();
        }
        p
    }
}

#[derive(Insertable)]
#[diesel(table_name = users, treat_none_as_default_value = false)]
struct NewAccount {
    email: String,
    password_hash: &'static str,
    role: &'static str,
    nome: &'static str,
    sobrenome: String,
    telefone: Option<String>,
    bairro: String,
    adult_declared_at: Option<NaiveDateTime>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    email_verified_at: Option<NaiveDateTime>,
}

#[derive(Insertable)]
#[diesel(table_name = page_visits, treat_none_as_default_value = false)]
struct NewVisit {
    user_id: i64,
    page: i32,
    first_viewed_at: NaiveDateTime,
    first_saved_at: Option<NaiveDateTime>,
    last_saved_at: Option<NaiveDateTime>,
    saves: i32,
}

#[derive(Insertable)]
#[diesel(table_name = fp, treat_none_as_default_value = false)]
struct NewPrint {
    user_id: i64,
    phone: Option<String>,
    name_bairro: String,
    updated_at: NaiveDateTime,
}

/// The page visits of a household: each page it reached viewed and saved in turn,
/// evenly over the time from its creation to its last save.
fn visits(user_id: i64, h: &Household) -> Vec<NewVisit> {
    let pages = h.current_page.max(1);
    let step = (h.updated_at - h.created_at) / i32::try_from(pages).unwrap_or(i32::MAX);
    (0..pages)
        .map(|p| {
            let viewed = h.created_at + step * i32::try_from(p).unwrap_or(0);
            let saved = (p < h.current_page).then(|| viewed + step / 2);
            NewVisit {
                user_id,
                page: i32::try_from(p).unwrap_or(i32::MAX),
                first_viewed_at: viewed,
                first_saved_at: saved,
                last_saved_at: saved,
                saves: i32::from(saved.is_some()),
            }
        })
        .collect()
}

/// Stores `households` with an account each, their page visits and fingerprints, in one
/// transaction.
pub async fn insert(
    pool: &DbPool,
    def: &Definition,
    households: Vec<Household>,
    state: &mut Accounts,
    rng: &mut ChaCha8Rng,
) -> Result<(), DbError> {
    let version = i32::try_from(def.version()).unwrap_or(i32::MAX);
    let accounts: Vec<NewAccount> = households
        .iter()
        .map(|h| {
            let n = state.next;
            state.next += 1;
            NewAccount {
                email: format!("sintetico-{n}@exemplo.invalid"),
                password_hash: NO_PASSWORD,
                role: crate::accounts::Role::Respondent.as_str(),
                nome: NAMES.choose(rng).copied().unwrap_or("Ana"),
                // Numbered, so that name and bairro repeat only with the phone.
                sobrenome: format!("{} {n}", SURNAMES.choose(rng).copied().unwrap_or("Silva")),
                telefone: Some(state.phone(rng)),
                bairro: h.bairro.clone(),
                adult_declared_at: Some(h.created_at),
                created_at: h.created_at - TimeDelta::seconds(60),
                updated_at: h.created_at,
                email_verified_at: Some(h.created_at),
            }
        })
        .collect();
    let emails: Vec<&str> = accounts.iter().map(|a| a.email.as_str()).collect();
    let key = state.key.clone();
    let dependents = |ids: Vec<(String, i64)>| {
        let ids: HashMap<String, i64> = ids.into_iter().collect();
        let id_of = |a: &NewAccount| ids.get(&a.email).copied();
        let pairs = || households.iter().zip(&accounts);
        let rows: Vec<NewRow> = pairs()
            .map(|(h, a)| NewRow {
                user_id: id_of(a),
                ..NewRow::of(def, version, h)
            })
            .collect();
        let visits: Vec<NewVisit> = pairs()
            .filter_map(|(h, a)| Some(visits(id_of(a)?, h)))
            .flatten()
            .collect();
        let prints: Vec<NewPrint> = accounts
            .iter()
            .filter_map(|a| {
                let (phone, name_bairro) =
                    fingerprints(&key, a.nome, &a.sobrenome, &a.bairro, a.telefone.as_deref());
                Some(NewPrint {
                    user_id: id_of(a)?,
                    phone,
                    name_bairro,
                    updated_at: a.updated_at,
                })
            })
            .collect();
        (rows, visits, prints)
    };
    // MariaDB takes multi-row INSERTs; diesel-async's SQLite wrapper has none, so there
    // each row is its own INSERT (cheap inside one transaction).
    macro_rules! store {
        ($conn:ident, $insert:ident) => {
            $conn
                .transaction(async |$conn| {
                    $insert!($conn, users::table, accounts);
                    let ids = users::table
                        .filter(users::email.eq_any(&emails))
                        .select((users::email, users::id))
                        .load::<(String, i64)>($conn)
                        .await?;
                    let (rows, visits, prints) = dependents(ids);
                    $insert!($conn, responses::table, rows);
                    $insert!($conn, page_visits::table, visits);
                    $insert!($conn, fp::table, prints);
                    Ok::<_, DbError>(())
                })
                .await
        };
    }
    macro_rules! batched {
        ($conn:ident, $table:expr, $rows:expr) => {
            for chunk in $rows.chunks(500) {
                diesel::insert_into($table)
                    .values(chunk)
                    .execute($conn)
                    .await?;
            }
        };
    }
    macro_rules! row_by_row {
        ($conn:ident, $table:expr, $rows:expr) => {
            for row in &$rows {
                diesel::insert_into($table)
                    .values(row)
                    .execute($conn)
                    .await?;
            }
        };
    }
    match pool {
        DbPool::Mysql(p) => {
            let mut pooled = p.get().await.map_err(DbError::from)?;
            let conn = &mut pooled.conn;
            let done = store!(conn, batched);
            pooled.record(done)
        }
        DbPool::Sqlite(p) => {
            let mut pooled = p.get().await.map_err(DbError::from)?;
            let conn = &mut *pooled;
            store!(conn, row_by_row)
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn a_household_views_each_page_it_reached_in_order() {
        let at = chrono::DateTime::from_timestamp(1_790_000_000, 0)
            .expect("time")
            .naive_utc();
        let h = Household {
            answers: Default::default(),
            bairro: "Centro".into(),
            current_page: 4,
            created_at: at,
            updated_at: at + TimeDelta::seconds(400),
            submitted_at: Some(at + TimeDelta::seconds(400)),
            screened_out: None,
        };
        let v = visits(7, &h);
        assert_eq!(v.len(), 4);
        assert_eq!(v[0].first_viewed_at, at);
        assert_eq!(v[3].first_viewed_at, at + TimeDelta::seconds(300));
        assert!(v.iter().all(|p| p.saves == 1 && p.user_id == 7));
    }

    #[test]
    fn some_phones_repeat() {
        let mut state = Accounts::new(b"k".to_vec(), 0);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let phones: Vec<String> = (0..5_000).map(|_| state.phone(&mut rng)).collect();
        let distinct: std::collections::HashSet<&String> = phones.iter().collect();
        let repeated = phones.len() - distinct.len();
        assert!((20..120).contains(&repeated), "repeated phones: {repeated}");
    }
}

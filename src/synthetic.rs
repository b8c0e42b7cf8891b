//! Synthetic responses for load tests, benchmarks and report demos: plausible
//! households generated from the questionnaire definition itself, so a changed
//! definition still gives valid answers.
//!
//! Each household draws one latent "affluence" in 0..1; every single-choice question
//! whose options carry numeric bands (income, spend, trips, intent…) picks an option
//! near that position, with noise. That gives the correlations the report looks for
//! (income class against spend and frequency) without modelling each question by
//! name. Everything comes from one seeded generator: the same seed and definition give
//! the same data set.

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use rand::Rng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand_chacha::ChaCha8Rng;

use crate::db::schema::responses;
use crate::db::{DbError, DbPool};
use crate::survey::{AnswerValue, Answers, Definition, QuestionKind};

/// Share of generated households that submitted; the others stopped part-way.
const COMPLETE_SHARE: f64 = 0.85;
/// Share of "prefiro não informar"-style answers where the question offers one.
const EXCLUDED_SHARE: f64 = 0.04;
/// Share of optional questions left blank.
const BLANK_OPTIONAL_SHARE: f64 = 0.5;
/// Names typed in free-text questions (the way people type them).
const TEXTS: [&str; 8] = [
    "Carrefour",
    "Pão de Açúcar",
    "Assaí",
    "Atacadão",
    "Extra",
    "mercado do bairro",
    "Tenda",
    "Dia",
];

/// One generated household.
#[derive(Debug, Clone, PartialEq)]
pub struct Household {
    pub answers: Answers,
    pub bairro: String,
    /// Index of the first page without answers (the stored bookmark).
    pub current_page: usize,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub submitted_at: Option<NaiveDateTime>,
}

/// Draws households for `def` living in `bairros`, answered in the `days` before `end`.
pub struct Generator<'a> {
    def: &'a Definition,
    bairros: &'a [String],
    /// Cumulative Zipf-like weights, so a few bairros are rare (small cells for the
    /// report's suppression) and a few are large.
    bairro_cdf: Vec<f64>,
    end: NaiveDateTime,
    days: i64,
}

impl<'a> Generator<'a> {
    pub fn new(
        def: &'a Definition,
        bairros: &'a [String],
        end: NaiveDateTime,
        days: i64,
    ) -> Generator<'a> {
        let weights: Vec<f64> = (1..=bairros.len()).map(|i| 1.0 / i as f64).collect();
        let total: f64 = weights.iter().sum();
        let mut acc = 0.0;
        let bairro_cdf = weights
            .iter()
            .map(|w| {
                acc += w / total;
                acc
            })
            .collect();
        Generator {
            def,
            bairros,
            bairro_cdf,
            end,
            days: days.max(1),
        }
    }

    fn bairro(&self, rng: &mut ChaCha8Rng) -> String {
        let u: f64 = rng.random();
        let i = self.bairro_cdf.partition_point(|&c| c < u);
        self.bairros
            .get(i.min(self.bairros.len().saturating_sub(1)))
            .cloned()
            .unwrap_or_default()
    }

    /// One household.
    pub fn household(&self, rng: &mut ChaCha8Rng) -> Household {
        let affluence: f64 = rng.random();
        let complete = rng.random_bool(COMPLETE_SHARE);
        let pages = self.def.pages().len();
        let answered_pages = if complete || pages < 2 {
            pages
        } else {
            rng.random_range(1..pages)
        };
        let mut answers = Answers::new();
        for page in self.def.pages().iter().take(answered_pages) {
            for q in &page.questions {
                if let Some(v) = answer(&q.kind, q.required, affluence, rng) {
                    answers.insert(q.key.clone(), v);
                }
            }
        }
        let span = self.days * 24 * 3600;
        let created_at = self.end - TimeDelta::seconds(rng.random_range(0..span));
        let updated_at = created_at + TimeDelta::seconds(rng.random_range(30..900));
        Household {
            answers,
            bairro: self.bairro(rng),
            current_page: answered_pages,
            created_at,
            updated_at,
            submitted_at: complete.then_some(updated_at),
        }
    }
}

/// An answer to one question, or `None` for a blank optional one.
fn answer(
    kind: &QuestionKind,
    required: bool,
    affluence: f64,
    rng: &mut ChaCha8Rng,
) -> Option<AnswerValue> {
    if !required && rng.random_bool(BLANK_OPTIONAL_SHARE) {
        return None;
    }
    Some(match kind {
        QuestionKind::Integer { min, max } => {
            // Small numbers are the common ones (household size, age skew).
            let span = (max - min).min(60) as f64;
            let x: f64 = rng.random::<f64>() * rng.random::<f64>();
            AnswerValue::Integer(min + (x * span).round() as i64)
        }
        QuestionKind::Single { options } => {
            let excluded: Vec<_> = options.iter().filter(|o| o.excluded).collect();
            let banded: Vec<_> = options.iter().filter(|o| !o.excluded).collect();
            if !excluded.is_empty() && rng.random_bool(EXCLUDED_SHARE) {
                let o = excluded.choose(rng)?;
                return Some(AnswerValue::Single(o.value.clone()));
            }
            let ordered = banded
                .iter()
                .any(|o| o.lower.is_some() || o.upper.is_some());
            let o = if ordered {
                // Near the household's position, noise of about one option either way.
                let n = banded.len() as f64;
                let noisy = affluence * n + (rng.random::<f64>() - 0.5) * 2.5;
                let i = noisy.floor().clamp(0.0, n - 1.0) as usize;
                banded.get(i).copied()
            } else {
                banded.choose(rng).copied()
            }?;
            AnswerValue::Single(o.value.clone())
        }
        QuestionKind::Multi { options, min, max } => {
            let k = rng.random_range(*min.max(&1)..=*max.max(min).max(&1));
            let mut idx: Vec<usize> = (0..options.len()).collect();
            idx.shuffle(rng);
            idx.truncate(k);
            idx.sort_unstable();
            AnswerValue::Multi(
                idx.iter()
                    .filter_map(|&i| options.get(i))
                    .map(|o| o.value.clone())
                    .collect(),
            )
        }
        QuestionKind::Text { max_length } => {
            let t = TEXTS.choose(rng)?;
            AnswerValue::Text(t.chars().take(*max_length).collect())
        }
    })
}

#[derive(Insertable)]
// NULL rather than DEFAULT for None: SQLite's multi-row INSERT has no DEFAULT keyword.
#[diesel(table_name = responses, treat_none_as_default_value = false)]
struct NewRow {
    user_id: Option<i64>,
    definition_id: String,
    definition_version: i32,
    answers: String,
    bairro: String,
    current_page: i32,
    revision: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    submitted_at: Option<NaiveDateTime>,
}

/// Stores `households` as responses without accounts: one multi-row INSERT on MariaDB; on SQLite (whose async wrapper has no batch
/// insert in diesel) one INSERT per row, all in one transaction.
pub async fn insert(
    pool: &DbPool,
    def: &Definition,
    households: Vec<Household>,
) -> Result<(), DbError> {
    let version = i32::try_from(def.version()).unwrap_or(i32::MAX);
    let rows: Vec<NewRow> = households
        .into_iter()
        .map(|h| NewRow {
            user_id: None,
            definition_id: def.id().to_string(),
            definition_version: version,
            answers: serde_json::to_string(&h.answers).unwrap_or_default(),
            bairro: h.bairro,
            current_page: i32::try_from(h.current_page).unwrap_or(0),
            revision: 1,
            created_at: h.created_at,
            updated_at: h.updated_at,
            submitted_at: h.submitted_at,
        })
        .collect();
    match pool {
        DbPool::Mysql(p) => {
            let mut conn = p.get().await.map_err(DbError::from)?;
            let done = diesel::insert_into(responses::table)
                .values(rows)
                .execute(&mut conn.conn)
                .await;
            conn.record(done)?;
        }
        DbPool::Sqlite(p) => {
            let mut conn = p.get().await.map_err(DbError::from)?;
            conn.transaction(async |conn| {
                for row in &rows {
                    diesel::insert_into(responses::table)
                        .values(row)
                        .execute(conn)
                        .await?;
                }
                Ok::<_, DbError>(())
            })
            .await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;
    use crate::survey::{default_definition, validate_complete};

    fn at() -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_790_000_000, 0)
            .expect("time")
            .naive_utc()
    }

    #[test]
    fn complete_households_pass_validation_and_seed_repeats() {
        let def = default_definition().expect("definition");
        let bairros = vec!["Vila Industrial".to_string(), "Jardim Uirá".to_string()];
        let g = Generator::new(&def, &bairros, at(), 30);
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut complete = 0;
        for _ in 0..500 {
            let h = g.household(&mut rng);
            assert!(bairros.contains(&h.bairro));
            if h.submitted_at.is_some() {
                complete += 1;
                assert!(
                    validate_complete(&def, &h.answers).is_ok(),
                    "{:?}",
                    h.answers
                );
            }
            assert!(h.updated_at > h.created_at && h.created_at <= at());
        }
        assert!((380..=470).contains(&complete), "{complete}");
        let again = Generator::new(&def, &bairros, at(), 30);
        let a = again.household(&mut ChaCha8Rng::seed_from_u64(7));
        let b = g.household(&mut ChaCha8Rng::seed_from_u64(7));
        assert_eq!(a, b);
    }
}

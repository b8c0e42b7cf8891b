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
use crate::survey::flow::{Flow, settle};
use crate::survey::{AnswerValue, Answers, Definition, QuestionKind};

/// Share of generated households that submitted; the others stopped part-way.
const COMPLETE_SHARE: f64 = 0.85;
/// Share of "prefiro não informar"-style answers where the question offers one.
const EXCLUDED_SHARE: f64 = 0.04;
/// Share of households a screen-out rule would end that are drawn again: most people
/// reached by the survey are in its target population.
const REDRAW_SCREENED_SHARE: f64 = 0.9;
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
    /// The screen-out rule that ended the questionnaire, if any.
    pub screened_out: Option<String>,
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
        // Page by page through the flow, as a respondent would: only the questions the
        // earlier answers show are answered, and a screen-out ends the walk.
        let mut answers = Answers::new();
        let mut screened_out = None;
        for i in 0..answered_pages {
            let shown = Flow::new(self.def, &answers).shown_questions(i);
            for attempt in 0.. {
                let mut trial = answers.clone();
                for q in &shown {
                    if let Some(v) = answer(&q.kind, q.required, affluence, rng) {
                        trial.insert(q.key.clone(), v);
                    }
                }
                let screened = Flow::new(self.def, &trial)
                    .screened_out()
                    .map(|r| r.key.clone());
                if screened.is_none() || attempt >= 5 || !rng.random_bool(REDRAW_SCREENED_SHARE) {
                    answers = trial;
                    screened_out = screened;
                    break;
                }
            }
            if screened_out.is_some() {
                break;
            }
        }
        settle(self.def, &mut answers);
        let complete = complete && screened_out.is_none();
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
            screened_out,
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
    screened_out: Option<String>,
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
            screened_out: h.screened_out,
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
    use crate::survey::default_definition;

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
        let (mut complete, mut screened, mut non_shoppers) = (0, 0, 0);
        for _ in 0..500 {
            let h = g.household(&mut rng);
            assert!(bairros.contains(&h.bairro));
            let flow = Flow::new(&def, &h.answers);
            // Nothing answered that the flow does not ask.
            for (k, _) in h.answers.iter() {
                assert!(flow.is_shown(k), "{k} answered but hidden: {:?}", h.answers);
            }
            assert_eq!(flow.screened_out().map(|r| r.key.clone()), h.screened_out);
            if h.screened_out.is_some() {
                screened += 1;
                assert!(h.submitted_at.is_none());
            }
            if h.answers.get("frequencia_supermercado")
                == Some(&AnswerValue::Single("nao_compro".into()))
            {
                non_shoppers += 1;
                assert_eq!(h.answers.get("valor_compra"), None);
            }
            if h.submitted_at.is_some() {
                complete += 1;
                assert!(
                    flow.validate_complete(&h.answers).is_ok(),
                    "{:?}",
                    h.answers
                );
            }
            assert!(h.updated_at > h.created_at && h.created_at <= at());
        }
        assert!((330..=460).contains(&complete), "{complete}");
        assert!((5..=60).contains(&screened), "{screened}");
        assert!(non_shoppers > 0);
        let again = Generator::new(&def, &bairros, at(), 30);
        let a = again.household(&mut ChaCha8Rng::seed_from_u64(7));
        let b = g.household(&mut ChaCha8Rng::seed_from_u64(7));
        assert_eq!(a, b);
    }
}

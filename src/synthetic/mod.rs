//! Synthetic responses for load tests, benchmarks and report demos: believable
//! households generated from the questionnaire definition itself, so a changed
//! definition still gives valid answers.
//!
//! Each household is drawn first as a [`Profile`]: its bairro, its size (IBGE Censo
//! 2022: 2.79 persons per household), an affluence that shifts with the bairro, an
//! income growing with affluence and size, a monthly supermarket spend growing with size
//! and income, trips per month, the spend per trip that follows from them, the distance
//! to the nearest supermarket, and a purchase intent that differs between bairros. The
//! answers are then read off the profile by the questions' roles (the band holding the
//! value), the Critério Brasil items from the affluence, and the other questions drawn
//! plainly. Questions are answered page by page through the questionnaire's own flow, so
//! a hidden question is never answered, a screen-out ends the walk, and the soft checks
//! hold by construction (spend per trip × trips = monthly spend). Everything comes from
//! one seeded generator: the same seed and definition give the same data set.

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use rand::Rng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

pub mod accounts;

use crate::db::schema::responses;
use crate::db::{DbError, DbPool};
use crate::survey::flow::{Flow, settle};
use crate::survey::{AnswerValue, Answers, Choice, Definition, Question, QuestionKind, Role};

/// Share of generated households that submitted; the others stopped part-way.
const COMPLETE_SHARE: f64 = 0.85;
/// Share of "prefiro não informar"-style answers where the question offers one.
const EXCLUDED_SHARE: f64 = 0.04;
/// Share of households a screen-out rule would end that are drawn again: most people
/// reached by the survey are in its target population.
const REDRAW_SCREENED_SHARE: f64 = 0.9;
/// Share of households that give every item of a grid the same point (straight-lining),
/// so that a data-quality rule has something to find.
const STRAIGHT_LINER_SHARE: f64 = 0.03;
/// Share of "não sei"-style answers to a scale or a grid item that offers one.
const DONT_KNOW_SHARE: f64 = 0.02;
/// Share of households choosing an `exclusive` option ("Nenhum destes") where offered.
const EXCLUSIVE_SHARE: f64 = 0.05;
/// Share of optional questions left blank.
const BLANK_OPTIONAL_SHARE: f64 = 0.5;
/// Share of households that do not shop at supermarkets (a one-person household twice
/// as often).
const NON_SHOPPER_SHARE: f64 = 0.04;
/// Persons per household 1 to 7 (7: seven or eight), shaped on the Censo 2022
/// distribution; the mean is about 2.8.
const SIZE_WEIGHTS: [f64; 7] = [0.19, 0.28, 0.24, 0.18, 0.07, 0.025, 0.015];
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

/// What a household is, before it answers: the values its answers are read from.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// Affluence in standard deviations (bairro shift included).
    pub affluence: f64,
    pub size: i64,
    pub age: i64,
    /// Household income in minimum wages.
    pub income_sm: f64,
    pub shopper: bool,
    /// Supermarket trips per month (0 for a non-shopper).
    pub trips: f64,
    /// Monthly supermarket spend in reais.
    pub monthly_spend: f64,
    /// Spend per trip in reais (monthly spend / trips).
    pub spend_per_trip: f64,
    /// Monthly spend in neighbourhood shops in reais.
    pub local_spend: f64,
    pub distance_km: f64,
    /// Purchase intent on the 1–5 scale.
    pub intent: f64,
}

/// A number in [-0.5, 0.5) fixed by a bairro's name and a salt: the bairro's shift of
/// affluence, distance or intent, the same whatever the order of the list.
fn bairro_shift(name: &str, salt: u64) -> f64 {
    // FNV-1a: stable across runs and platforms, unlike the standard hasher.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ salt;
    for b in name.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h >> 11) as f64 / (1u64 << 53) as f64 - 0.5
}

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    StandardNormal.sample(rng)
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
    cceb: std::sync::Arc<crate::survey::CcebTable>,
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
            cceb: crate::survey::CcebTable::embedded(),
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

    /// The household behind the answers, living in `bairro`.
    pub fn profile(bairro: &str, rng: &mut ChaCha8Rng) -> Profile {
        let u: f64 = rng.random();
        let mut acc = 0.0;
        let mut size = SIZE_WEIGHTS.len() as i64;
        for (i, w) in SIZE_WEIGHTS.iter().enumerate() {
            acc += w;
            if u < acc {
                size = i as i64 + 1;
                break;
            }
        }
        if size == 7 && rng.random_bool(0.3) {
            size = 8;
        }
        let affluence = normal(rng) + 1.2 * bairro_shift(bairro, 1);
        // Median about 3 minimum wages for three persons; more earners in larger homes.
        let income_sm = 1.9 * (0.8 * affluence).exp() * (size as f64).powf(0.45);
        let age = (45.0 + 15.0 * normal(rng)).round().clamp(18.0, 90.0) as i64;
        let non_shopper = NON_SHOPPER_SHARE * if size == 1 { 2.0 } else { 1.0 };
        let shopper = !rng.random_bool(non_shopper);
        let trips = if shopper {
            (3.0 * (0.45 * normal(rng)).exp() * (size as f64 / 2.8).powf(0.2))
                .round()
                .max(1.0)
        } else {
            0.0
        };
        let monthly_spend = if shopper {
            300.0 * (size as f64).powf(0.55) * income_sm.powf(0.35) * (0.3 * normal(rng)).exp()
        } else {
            0.0
        };
        let spend_per_trip = if shopper { monthly_spend / trips } else { 0.0 };
        let local_spend = 0.18 * (monthly_spend + 300.0) * (0.5 * normal(rng)).exp();
        let distance_km = 0.9 * (0.6 * normal(rng) + 1.2 * bairro_shift(bairro, 2)).exp();
        // Interest in a new store: higher where the nearest one is far, and by bairro.
        let intent =
            (3.1 + 1.6 * bairro_shift(bairro, 3) + 0.4 * distance_km.ln() + 0.9 * normal(rng))
                .round()
                .clamp(1.0, 5.0);
        Profile {
            affluence,
            size,
            age,
            income_sm,
            shopper,
            trips,
            monthly_spend,
            spend_per_trip,
            local_spend,
            distance_km,
            intent,
        }
    }

    /// One household.
    pub fn household(&self, rng: &mut ChaCha8Rng) -> Household {
        let bairro = self.bairro(rng);
        let profile = Self::profile(&bairro, rng);
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
        let straight = rng.random_bool(STRAIGHT_LINER_SHARE);
        for i in 0..answered_pages {
            let shown = Flow::new(self.def, &answers).shown_questions(i);
            for attempt in 0.. {
                let mut trial = answers.clone();
                for q in &shown {
                    if let Some(v) = self.answer(q, &profile, straight, rng) {
                        if let Some(key) = other_text_key(q, &v) {
                            let t = OTHER_TEXTS.choose(rng).copied().unwrap_or("outro");
                            trial.insert(key, AnswerValue::Text(t.to_owned()));
                        }
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
            bairro,
            current_page: answered_pages,
            created_at,
            updated_at,
            submitted_at: complete.then_some(updated_at),
            screened_out,
        }
    }

    /// The answer of `profile` to `q`, or `None` for a blank optional one.
    fn answer(
        &self,
        q: &Question,
        p: &Profile,
        straight: bool,
        rng: &mut ChaCha8Rng,
    ) -> Option<AnswerValue> {
        if !q.required && rng.random_bool(BLANK_OPTIONAL_SHARE) {
            return None;
        }
        if let QuestionKind::Grid { items, points } = &q.kind {
            return grid_answer(items, points, straight, rng);
        }
        let value = match (q.role, &q.kind) {
            (Some(Role::Age), QuestionKind::Integer { min, max }) => {
                return Some(AnswerValue::Integer(p.age.clamp(*min, (*max).max(*min))));
            }
            (Some(Role::HouseholdSize), QuestionKind::Integer { min, max }) => {
                return Some(AnswerValue::Integer(p.size.clamp(*min, (*max).max(*min))));
            }
            (Some(Role::HouseholdIncome), _) => Some(p.income_sm),
            (Some(Role::TripsPerMonth), _) => Some(p.trips),
            (Some(Role::SpendPerTrip), _) => Some(p.spend_per_trip),
            (Some(Role::MonthlySpend), _) => Some(p.monthly_spend),
            (Some(Role::LocalShopsSpend), _) => Some(p.local_spend),
            (Some(Role::Distance), _) => Some(p.distance_km),
            (Some(Role::PurchaseIntent), _) => Some(p.intent),
            _ => None,
        };
        if let (Some(x), QuestionKind::Single { options }) = (value, &q.kind) {
            let excluded: Vec<&Choice> = options.iter().filter(|o| o.excluded).collect();
            if !excluded.is_empty() && rng.random_bool(EXCLUDED_SHARE) {
                return excluded
                    .choose(rng)
                    .map(|o| AnswerValue::Single(o.value.clone()));
            }
            if let Some(o) = band_of(options, x) {
                return Some(AnswerValue::Single(o.value.clone()));
            }
        }
        if let QuestionKind::Single { options } = &q.kind
            && self.cceb.item(&q.key).is_some()
            && let Some(o) = cceb_answer(&q.key, options, p.affluence, rng)
        {
            return Some(AnswerValue::Single(o.value.clone()));
        }
        plain_answer(&q.kind, rng)
    }
}

/// Texts typed after "Outro:".
const OTHER_TEXTS: [&str; 6] = [
    "feira livre",
    "sacolão",
    "atacarejo",
    "mercadinho da esquina",
    "compra pela internet",
    "hortifruti",
];

/// Where the "other" text of `v` goes, when `v` chose the option that asks for one.
fn other_text_key(q: &Question, v: &AnswerValue) -> Option<String> {
    let other = q.other_option()?;
    let chosen = match v {
        AnswerValue::Single(s) => *s == other.value,
        AnswerValue::Multi(list) => list.contains(&other.value),
        _ => false,
    };
    chosen.then(|| q.other_key()).flatten()
}

/// A point near `mean` on a scale's points (not the missing ones).
fn point_near<'p>(points: &[&'p Choice], mean: f64, rng: &mut ChaCha8Rng) -> Option<&'p Choice> {
    let last = points.len().checked_sub(1)? as f64;
    let i = (mean + 0.9 * normal(rng)).round().clamp(0.0, last) as usize;
    points.get(i).copied()
}

/// A grid answered item by item around the household's own level (some people rate
/// everything higher), price and quality mattering most; a straight-liner gives every
/// item the same point.
fn grid_answer(
    items: &[crate::survey::GridItem],
    points: &[Choice],
    straight: bool,
    rng: &mut ChaCha8Rng,
) -> Option<AnswerValue> {
    let scale: Vec<&Choice> = points.iter().filter(|p| !p.excluded).collect();
    let missing: Vec<&Choice> = points.iter().filter(|p| p.excluded).collect();
    let top = scale.len().checked_sub(1)? as f64;
    let level = 0.65 * top + 0.5 * normal(rng);
    let same = point_near(&scale, level, rng)?;
    let mut map = std::collections::BTreeMap::new();
    for item in items {
        let o = if straight {
            same
        } else if !missing.is_empty() && rng.random_bool(DONT_KNOW_SHARE) {
            missing.choose(rng).copied()?
        } else {
            let lift = match item.key.as_str() {
                "preco" | "qualidade" => 0.2 * top,
                "atendimento" | "variedade" => -0.05 * top,
                _ => 0.0,
            };
            point_near(&scale, level + lift, rng)?
        };
        map.insert(item.key.clone(), o.value.clone());
    }
    Some(AnswerValue::Grid(map))
}

/// The option whose band holds `x` (bounds inclusive, options in their order), among
/// those with bounds and not excluded from analysis.
fn band_of(options: &[Choice], x: f64) -> Option<&Choice> {
    let banded: Vec<&Choice> = options
        .iter()
        .filter(|o| !o.excluded && (o.lower.is_some() || o.upper.is_some()))
        .collect();
    banded
        .iter()
        .find(|o| o.upper.is_none_or(|u| x <= u))
        .or(banded.last())
        .copied()
}

/// Expected count of a Critério Brasil item for a household of this affluence (about
/// the ABEP averages of a middle-class district at 0). The counted items of CCEB 2026
/// (bathrooms, cars, computers, fridges) and those only the 2015 table counts, for a
/// study that runs the version 2 questionnaire with `assets/cceb/cceb-2015.toml`.
fn cceb_mean(key: &str, z: f64) -> Option<f64> {
    Some(match key {
        "cceb_banheiros" => 1.3 + 0.5 * z,
        "cceb_empregados" => 0.04 * (1.5 * z).exp(),
        "cceb_automoveis" => 0.7 + 0.5 * z,
        "cceb_microcomputador" => 0.8 + 0.5 * z,
        "cceb_lava_loucas" => 0.1 * (1.2 * z).exp(),
        "cceb_geladeira" => 1.0 + 0.1 * z,
        "cceb_freezer" => 0.3 + 0.2 * z,
        "cceb_lava_roupas" => 0.8 + 0.2 * z,
        "cceb_dvd" => 0.3 + 0.1 * z,
        "cceb_micro_ondas" => 0.6 + 0.3 * z,
        "cceb_motocicleta" => 0.25,
        "cceb_secadora" => 0.1 * (1.2 * z).exp(),
        _ => return None,
    })
}

/// Chance that a household of this affluence has a yes/no item of CCEB 2026 (a
/// logistic curve: about the national shares at 0, rising with affluence).
fn cceb_has(key: &str, z: f64) -> Option<f64> {
    let (at_zero, slope): (f64, f64) = match key {
        // Dishwashers and paid domestic service are the marks of the top classes.
        "cceb_tem_lava_loucas" => (0.10, 1.5),
        "cceb_servico_domestico" => (0.07, 1.4),
        "cceb_tem_lava_roupas" => (0.72, 1.1),
        "cceb_tem_micro_ondas" => (0.62, 1.1),
        "cceb_agua_encanada" => (0.97, 0.6),
        _ => return None,
    };
    let logit = (at_zero / (1.0 - at_zero)).ln() + slope * z;
    Some(1.0 / (1.0 + (-logit).exp()))
}

/// A Critério Brasil item answered from the household's affluence: counts of goods,
/// yes/no items, the head's schooling, a paved street (2015).
fn cceb_answer<'o>(
    key: &str,
    options: &'o [Choice],
    z: f64,
    rng: &mut ChaCha8Rng,
) -> Option<&'o Choice> {
    let by_value = |v: &str| options.iter().find(|o| o.value == v);
    if let Some(mean) = cceb_mean(key, z) {
        let n = (mean + 0.5 * normal(rng)).round().clamp(0.0, 4.0) as u8;
        return by_value(&n.to_string());
    }
    if let Some(p) = cceb_has(key, z) {
        return by_value(if rng.random_bool(p.clamp(0.0, 1.0)) {
            "sim"
        } else {
            "nao"
        });
    }
    match key {
        // Five levels, from "analfabeto" up (2015).
        "cceb_instrucao_chefe" => {
            let last = options.len().checked_sub(1)? as f64;
            let i = (1.8 + 1.0 * z + 0.8 * normal(rng)).round().clamp(0.0, last) as usize;
            options.get(i)
        }
        // Seven levels, "sem instrução" up (2026): at 0 about Médio incompleto.
        "cceb_instrucao_chefe_2026" => {
            let last = options.len().checked_sub(1)? as f64;
            let i = (2.8 + 1.4 * z + 1.0 * normal(rng)).round().clamp(0.0, last) as usize;
            options.get(i)
        }
        "cceb_rua_pavimentada" => {
            let p = (0.88 + 0.05 * z).clamp(0.0, 1.0);
            by_value(if rng.random_bool(p) { "sim" } else { "nao" })
        }
        _ => None,
    }
}

/// An answer to a question the profile says nothing about: plain draws within its
/// limits (sex weighted as the population is when the options name it).
fn plain_answer(kind: &QuestionKind, rng: &mut ChaCha8Rng) -> Option<AnswerValue> {
    Some(match kind {
        QuestionKind::Integer { min, max } => {
            // Small numbers are the common ones.
            let span = (max - min).min(60) as f64;
            let x: f64 = rng.random::<f64>() * rng.random::<f64>();
            AnswerValue::Integer(min + (x * span).round() as i64)
        }
        QuestionKind::Single { options } => {
            let excluded: Vec<_> = options.iter().filter(|o| o.excluded).collect();
            let kept: Vec<_> = options.iter().filter(|o| !o.excluded).collect();
            if !excluded.is_empty() && rng.random_bool(EXCLUDED_SHARE / 2.0) {
                let o = excluded.choose(rng)?;
                return Some(AnswerValue::Single(o.value.clone()));
            }
            let weight = |o: &&Choice| match o.value.as_str() {
                "feminino" => 54.0,
                "masculino" => 45.0,
                _ if kept.iter().any(|k| k.value == "feminino") => 1.0,
                _ => 10.0,
            };
            let o = kept.choose_weighted(rng, weight).ok()?;
            AnswerValue::Single(o.value.clone())
        }
        QuestionKind::Multi { options, min, max } => {
            let exclusive: Vec<&Choice> = options.iter().filter(|o| o.exclusive).collect();
            if !exclusive.is_empty() && rng.random_bool(EXCLUSIVE_SHARE) {
                let o = exclusive.choose(rng)?;
                return Some(AnswerValue::Multi(vec![o.value.clone()]));
            }
            let k = rng.random_range(*min.max(&1)..=*max.max(min).max(&1));
            let mut idx: Vec<usize> = (0..options.len())
                .filter(|&i| !options[i].exclusive)
                .collect();
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
        QuestionKind::Scale { points } => {
            let missing: Vec<&Choice> = points.iter().filter(|p| p.excluded).collect();
            if !missing.is_empty() && rng.random_bool(DONT_KNOW_SHARE) {
                return Some(AnswerValue::Single(missing.choose(rng)?.value.clone()));
            }
            let scale: Vec<&Choice> = points.iter().filter(|p| !p.excluded).collect();
            let top = scale.len().checked_sub(1)? as f64;
            AnswerValue::Single(point_near(&scale, 0.6 * top, rng)?.value.clone())
        }
        QuestionKind::Grid { items, points } => return grid_answer(items, points, false, rng),
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

impl NewRow {
    /// The response of `h`, without an account.
    fn of(def: &Definition, version: i32, h: &Household) -> NewRow {
        NewRow {
            user_id: None,
            definition_id: def.id().to_string(),
            definition_version: version,
            answers: serde_json::to_string(&h.answers).unwrap_or_default(),
            bairro: h.bairro.clone(),
            current_page: i32::try_from(h.current_page).unwrap_or(0),
            revision: 1,
            created_at: h.created_at,
            updated_at: h.updated_at,
            submitted_at: h.submitted_at,
            screened_out: h.screened_out.clone(),
        }
    }
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
        .iter()
        .map(|h| NewRow::of(def, version, h))
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
    use std::collections::BTreeMap;

    use rand::SeedableRng;

    use super::*;
    use crate::survey::answers::check_stored;
    use crate::survey::default_definition;

    fn at() -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_790_000_000, 0)
            .expect("time")
            .naive_utc()
    }

    fn single<'h>(h: &'h Household, key: &str) -> Option<&'h str> {
        match h.answers.get(key) {
            Some(AnswerValue::Single(v)) => Some(v),
            _ => None,
        }
    }

    /// The midpoint of the band answered to `key` (open top: 1.5 × its lower bound).
    fn midpoint(def: &Definition, h: &Household, key: &str) -> Option<f64> {
        let o = def.question(key)?.option(single(h, key)?)?;
        match (o.lower, o.upper) {
            (_, _) if o.excluded => None,
            (Some(l), Some(u)) => Some((l + u) / 2.0),
            (Some(l), None) => Some(l * 1.5),
            _ => None,
        }
    }

    fn pearson(pairs: &[(f64, f64)]) -> f64 {
        let n = pairs.len() as f64;
        let (mx, my) = (
            pairs.iter().map(|p| p.0).sum::<f64>() / n,
            pairs.iter().map(|p| p.1).sum::<f64>() / n,
        );
        let cov: f64 = pairs.iter().map(|(x, y)| (x - mx) * (y - my)).sum();
        let vx: f64 = pairs.iter().map(|(x, _)| (x - mx).powi(2)).sum();
        let vy: f64 = pairs.iter().map(|(_, y)| (y - my).powi(2)).sum();
        cov / (vx * vy).sqrt()
    }

    fn sample(n: usize, seed: u64) -> (Definition, Vec<String>, Vec<Household>) {
        let def = default_definition().expect("definition");
        let bairros = crate::accounts::fields::Bairros::embedded().all().to_vec();
        let households = {
            let g = Generator::new(&def, &bairros, at(), 30);
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            (0..n).map(|_| g.household(&mut rng)).collect()
        };
        (def, bairros, households)
    }

    #[test]
    fn a_few_households_straight_line_the_grid_and_others_use_other_and_none() {
        let (def, _, households) = sample(3000, 11);
        let grids: Vec<Vec<i64>> = households
            .iter()
            .flat_map(|h| def.grid_values(&h.answers))
            .filter(|(_, v)| v.len() >= 4)
            .map(|(_, v)| v)
            .collect();
        let flat = grids
            .iter()
            .filter(|v| v.windows(2).all(|w| w[0] == w[1]))
            .count();
        let share = flat as f64 / grids.len() as f64;
        assert!(grids.len() > 1000, "{}", grids.len());
        assert!((0.02..0.08).contains(&share), "straight-liners: {share}");
        // "Outro" comes with its text; "Nenhum destes" alone.
        let mut others = 0;
        for h in &households {
            if let Some(AnswerValue::Multi(v)) = h.answers.get("fatores_escolha") {
                if v.contains(&"nenhum".to_string()) {
                    assert_eq!(v.len(), 1, "{v:?}");
                }
                let text = h.answers.get("fatores_escolha__outro").is_some();
                assert_eq!(v.contains(&"outros".to_string()), text, "{:?}", h.answers);
                others += usize::from(text);
            }
        }
        assert!(others > 10, "{others}");
    }

    #[test]
    fn every_household_obeys_the_questionnaire_and_the_seed_repeats() {
        let (def, bairros, households) = sample(3000, 7);
        let (mut complete, mut screened, mut non_shoppers) = (0, 0, 0);
        for h in &households {
            assert!(bairros.contains(&h.bairro));
            let flow = Flow::new(&def, &h.answers);
            // Nothing answered that the flow does not ask, and every answer valid.
            for (k, _) in h.answers.iter() {
                // An "other" text belongs to its question.
                let q = def.answer_owner(k).expect("known question");
                assert!(
                    flow.is_shown(&q.key),
                    "{k} answered but hidden: {:?}",
                    h.answers
                );
                assert_eq!(check_stored(q, &h.answers), None, "{k}: {:?}", h.answers);
            }
            // No soft check fires: trips × spend per trip fits the monthly spend.
            assert!(
                flow.all_fired_checks(&h.answers).is_empty(),
                "{:?}",
                h.answers
            );
            assert_eq!(flow.screened_out().map(|r| r.key.clone()), h.screened_out);
            if h.screened_out.is_some() {
                screened += 1;
                assert!(h.submitted_at.is_none());
            }
            if single(h, "frequencia_supermercado") == Some("nao_compro") {
                non_shoppers += 1;
                assert_eq!(h.answers.get("valor_compra"), None);
                assert_eq!(h.answers.get("gasto_mensal"), None);
                assert_eq!(h.answers.get("distancia_supermercado"), None);
            }
            if h.submitted_at.is_some() {
                complete += 1;
                assert!(
                    flow.validate_complete(&h.answers).is_ok(),
                    "{:?}",
                    h.answers
                );
                // The Critério Brasil block is answered in full, so it scores.
                assert!(
                    crate::survey::CcebTable::embedded()
                        .score(&h.answers)
                        .is_some(),
                    "{:?}",
                    h.answers
                );
            }
            assert!(h.updated_at > h.created_at && h.created_at <= at());
        }
        let n = households.len() as f64;
        let share = |k: usize| k as f64 / n;
        assert!((0.70..=0.90).contains(&share(complete)), "{complete}");
        assert!((0.02..=0.10).contains(&share(screened)), "{screened}");
        assert!(
            (0.02..=0.09).contains(&share(non_shoppers)),
            "{non_shoppers}"
        );
        let (_, _, again) = sample(50, 7);
        assert_eq!(again[..], households[..50]);
        let (_, _, other) = sample(50, 8);
        assert_ne!(other[..], households[..50]);
    }

    #[test]
    fn households_are_believable_and_correlated() {
        let (def, bairros, households) = sample(20_000, 11);
        let answered: Vec<&Household> = households
            .iter()
            .filter(|h| h.screened_out.is_none())
            .collect();
        let size = |h: &Household| match h.answers.get("moradores") {
            Some(AnswerValue::Integer(n)) => Some(*n as f64),
            _ => None,
        };
        let sizes: Vec<f64> = answered.iter().filter_map(|h| size(h)).collect();
        let mean = sizes.iter().sum::<f64>() / sizes.len() as f64;
        // IBGE Censo 2022: 2.79 persons per household.
        assert!((2.65..=2.95).contains(&mean), "mean household size {mean}");
        let ones = sizes.iter().filter(|&&s| s == 1.0).count() as f64 / sizes.len() as f64;
        assert!((0.14..=0.24).contains(&ones), "one-person share {ones}");

        let pairs = |x: &dyn Fn(&Household) -> Option<f64>,
                     y: &dyn Fn(&Household) -> Option<f64>| {
            answered
                .iter()
                .filter_map(|h| Some((x(h)?, y(h)?)))
                .collect::<Vec<_>>()
        };
        let income = |h: &Household| midpoint(&def, h, "renda_familiar");
        let spend = |h: &Household| midpoint(&def, h, "gasto_mensal");
        let per_trip = |h: &Household| midpoint(&def, h, "valor_compra");
        let trips = |h: &Household| midpoint(&def, h, "frequencia_supermercado");
        let r_size_spend = pearson(&pairs(&size, &spend));
        let r_income_spend = pearson(&pairs(&income, &spend));
        let r_size_income = pearson(&pairs(&size, &income));
        let r_spend_trip = pearson(&pairs(&spend, &per_trip));
        assert!(r_size_spend > 0.15, "size × spend {r_size_spend}");
        assert!(r_income_spend > 0.15, "income × spend {r_income_spend}");
        assert!(r_size_income > 0.05, "size × income {r_size_income}");
        assert!(r_spend_trip > 0.2, "monthly × per trip {r_spend_trip}");
        // Critério Brasil points rise with income.
        let table = crate::survey::CcebTable::embedded();
        let points = |h: &Household| table.score(&h.answers).map(|s| f64::from(s.points));
        let r_points = pearson(&pairs(&income, &points));
        assert!(r_points > 0.2, "income × CCEB points {r_points}");
        // Every CCEB 2026 class is there, none swamps the others (ABEP's national
        // distribution runs from about 4% in A to about 28% in C2).
        let mut by_class: BTreeMap<String, usize> = BTreeMap::new();
        for h in &answered {
            if let Some(s) = table.score(&h.answers) {
                *by_class.entry(s.class).or_default() += 1;
            }
        }
        let scored: usize = by_class.values().sum();
        assert!(scored * 2 > answered.len(), "{scored} scored");
        for c in table.classes() {
            let share = by_class.get(&c.class).copied().unwrap_or(0) as f64 / scored as f64;
            assert!(
                (0.02..=0.40).contains(&share),
                "{}: {share} {by_class:?}",
                c.class
            );
        }

        // Trips per month: most shop two to four times; a minority once.
        let t: Vec<f64> = answered.iter().filter_map(|h| trips(h)).collect();
        let once = t.iter().filter(|&&x| x == 1.0).count() as f64 / t.len() as f64;
        let often = t.iter().filter(|&&x| x >= 4.0).count() as f64 / t.len() as f64;
        assert!((0.03..=0.25).contains(&once), "once a month {once}");
        assert!((0.2..=0.7).contains(&often), "4+ a month {often}");
        let mean_spend = pairs(&spend, &spend).iter().map(|p| p.0).sum::<f64>()
            / pairs(&spend, &spend).len() as f64;
        assert!(
            (500.0..=1500.0).contains(&mean_spend),
            "mean spend {mean_spend}"
        );

        // Purchase intent differs by bairro: top-two share of the largest bairros.
        let mut by_bairro: BTreeMap<&str, (u32, u32)> = BTreeMap::new();
        for h in &answered {
            if let Some(v) = single(h, "interesse_novo") {
                let e = by_bairro.entry(h.bairro.as_str()).or_default();
                e.0 += 1;
                e.1 += u32::from(v == "certamente_sim" || v == "provavelmente_sim");
            }
        }
        let shares: Vec<f64> = by_bairro
            .values()
            .filter(|(n, _)| *n >= 300)
            .map(|(n, k)| f64::from(*k) / f64::from(*n))
            .collect();
        assert!(shares.len() >= 3, "{} large bairros", shares.len());
        let spread = shares.iter().cloned().fold(f64::MIN, f64::max)
            - shares.iter().cloned().fold(f64::MAX, f64::min);
        assert!(spread > 0.10, "intent spread between bairros {spread}");
        assert!(bairros.len() > 3);
    }
}

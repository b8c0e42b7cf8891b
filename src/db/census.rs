//! The stored census margins (`census_import`, `census_households`, `census_adults`):
//! one import at a time, written by `pesquisa census import` and read by the report, the
//! export and `/admin/results`, and the raking weights of the responses to them
//! ([`weights`]).

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde::Serialize;

use super::batches::{BATCH_SIZE, Batches, Filters};
use super::responses::Response;
use super::schema::{census_adults, census_households, census_import};
use super::{DbError, DbPool};
use crate::census::weighting::{Unit, WeightPlan, Weighting, failure_text, weight, weight_cells};
use crate::census::{BairroMargins, Margins};
use crate::i18n::Lang;
use crate::survey::{AnswerValue, Definition, Role};
use crate::{read_conn, with_conn};

/// Key of the questionnaire's sex question (`feminino`, `masculino`, other values not
/// placed by the census).
pub const SEX_KEY: &str = "sexo";

/// Where the stored margins came from.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = census_import)]
pub struct ImportInfo {
    /// UTC.
    #[serde(serialize_with = "time")]
    pub imported_at: NaiveDateTime,
    pub basico_file: String,
    pub demografia_file: String,
    pub mapping_file: String,
    /// The invented files shipped in the binary: never rake a real study to them.
    pub illustrative: bool,
    /// Mapped setores summed into the margins.
    pub setores: i32,
    /// Setores of the census files the mapping does not name.
    pub unmapped: i32,
    /// Mapped setores IBGE suppressed, left out.
    pub suppressed: i32,
}

fn time<S: serde::Serializer>(t: &NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::survey::format::timestamp(*t))
}

/// The stored import: its source and the margins per bairro.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stored {
    pub info: ImportInfo,
    pub margins: Margins,
}

impl Stored {
    /// Occupied households per bairro.
    pub fn households(&self) -> BTreeMap<String, u64> {
        self.margins
            .bairros
            .iter()
            .map(|(b, m)| (b.clone(), m.households))
            .collect()
    }
}

#[derive(Insertable)]
#[diesel(table_name = census_households)]
struct NewHouseholds<'a> {
    bairro: &'a str,
    households: i64,
}

#[derive(Insertable)]
#[diesel(table_name = census_adults)]
struct NewAdults<'a> {
    bairro: &'a str,
    sexo: &'a str,
    faixa: &'a str,
    persons: f64,
}

/// Replaces whatever was stored by `margins`, in one transaction: a failure leaves the
/// previous import as it was.
pub async fn replace(pool: &DbPool, info: &ImportInfo, margins: &Margins) -> Result<(), DbError> {
    let households: Vec<NewHouseholds<'_>> = margins
        .bairros
        .iter()
        .map(|(b, m)| NewHouseholds {
            bairro: b,
            households: i64::try_from(m.households).unwrap_or(i64::MAX),
        })
        .collect();
    let adults: Vec<NewAdults<'_>> = margins
        .bairros
        .iter()
        .flat_map(|(b, m)| {
            m.adults
                .iter()
                .map(move |(sexo, faixa, persons)| NewAdults {
                    bairro: b,
                    sexo,
                    faixa,
                    persons: *persons,
                })
        })
        .collect();
    with_conn!(pool, |conn| {
        conn.transaction(async |conn| {
            diesel::delete(census_adults::table).execute(conn).await?;
            diesel::delete(census_households::table)
                .execute(conn)
                .await?;
            diesel::delete(census_import::table).execute(conn).await?;
            diesel::insert_into(census_import::table)
                .values(info)
                .execute(conn)
                .await?;
            // Row by row: SQLite's async wrapper has no multi-row insert in diesel, and a
            // study has tens of bairros.
            for row in &households {
                diesel::insert_into(census_households::table)
                    .values(row)
                    .execute(conn)
                    .await?;
            }
            for row in &adults {
                diesel::insert_into(census_adults::table)
                    .values(row)
                    .execute(conn)
                    .await?;
            }
            Ok::<_, DbError>(())
        })
        .await
    })
}

/// The stored import, if any.
pub async fn load(pool: &DbPool) -> Result<Option<Stored>, DbError> {
    type AdultRow = (String, String, String, f64);
    let (info, households, adults) = read_conn!(pool, |conn| {
        let info: Option<ImportInfo> = census_import::table
            .order(census_import::id.desc())
            .select(ImportInfo::as_select())
            .first(conn)
            .await
            .optional()?;
        let households: Vec<(String, i64)> = census_households::table
            .select((census_households::bairro, census_households::households))
            .load(conn)
            .await?;
        let adults: Vec<AdultRow> = census_adults::table
            .order(census_adults::id)
            .select((
                census_adults::bairro,
                census_adults::sexo,
                census_adults::faixa,
                census_adults::persons,
            ))
            .load(conn)
            .await?;
        Ok((info, households, adults))
    })?;
    let Some(info) = info else {
        return Ok(None);
    };
    let mut bairros: BTreeMap<String, BairroMargins> = households
        .into_iter()
        .map(|(b, h)| {
            (
                b,
                BairroMargins {
                    households: u64::try_from(h).unwrap_or(0),
                    adults: Vec::new(),
                },
            )
        })
        .collect();
    for (bairro, sexo, faixa, persons) in adults {
        if let Some(m) = bairros.get_mut(&bairro) {
            m.adults.push((sexo, faixa, persons));
        }
    }
    Ok(Some(Stored {
        info,
        margins: Margins {
            bairros,
            unmapped: Vec::new(),
            suppressed: Vec::new(),
            missing: Vec::new(),
        },
    }))
}

/// Raking weights of the responses matching a filter, or why there are none.
#[derive(Debug, Clone)]
pub enum CensusWeights {
    /// No census margins are stored: nothing to weight to.
    NoCensus,
    /// Margins are stored but raking could not meet them: the reason, in English and
    /// Portuguese.
    Failed {
        stored: Stored,
        reason: String,
        reason_pt: String,
    },
    /// Weights of the complete, not screened-out responses in the census bairros, by
    /// response id; other responses have none.
    Raked {
        stored: Stored,
        weighting: Box<Weighting>,
        by_id: HashMap<i64, f64>,
    },
}

impl CensusWeights {
    /// The stored census, when there is one.
    pub fn stored(&self) -> Option<&Stored> {
        match self {
            CensusWeights::NoCensus => None,
            CensusWeights::Failed { stored, .. } | CensusWeights::Raked { stored, .. } => {
                Some(stored)
            }
        }
    }
}

/// Whether a response is weighted at all: complete and not screened out (a draft or a
/// screened-out respondent is outside the population the estimates describe).
pub fn weighable(r: &Response) -> bool {
    r.submitted_at.is_some() && r.screened_out.is_none()
}

/// Reads the responses matching `filters` (one snapshot, in batches) and rakes the
/// [`weighable`] ones to the stored margins of `plan` ([`crate::census::weighting`]).
pub async fn weights(
    pool: &DbPool,
    def: &Definition,
    filters: &Filters,
    plan: &WeightPlan,
) -> Result<CensusWeights, DbError> {
    let Some(stored) = load(pool).await? else {
        return Ok(CensusWeights::NoCensus);
    };
    let age_key = def.by_role(Role::Age).map(|q| q.key.clone());
    let mut ids = Vec::new();
    let mut rows: Vec<(String, Option<String>, Option<i64>)> = Vec::new();
    let mut batches = Batches::open(pool, filters, BATCH_SIZE, false).await?;
    while let Some(batch) = batches.next().await? {
        for r in batch.rows.iter().filter(|r| weighable(r)) {
            let answers = r.answers();
            let sexo = match answers.get(SEX_KEY) {
                Some(AnswerValue::Single(v)) => Some(v.clone()),
                _ => None,
            };
            let idade = match age_key.as_deref().and_then(|k| answers.get(k)) {
                Some(AnswerValue::Integer(n)) => Some(*n),
                _ => None,
            };
            ids.push(r.id);
            rows.push((r.bairro.clone(), sexo, idade));
        }
    }
    let units: Vec<Unit<'_>> = rows
        .iter()
        .map(|(bairro, sexo, idade)| Unit {
            bairro,
            sexo: sexo.as_deref(),
            idade: *idade,
        })
        .collect();
    Ok(rake_units(stored, &units, &ids, plan))
}

/// Rakes `units`, read by the caller, to the stored margins of `plan`. `ids` are the
/// units' response ids for [`CensusWeights::Raked`]'s `by_id`.
pub fn rake_units(
    stored: Stored,
    units: &[Unit<'_>],
    ids: &[i64],
    plan: &WeightPlan,
) -> CensusWeights {
    let result = weight(&stored.margins, units, &plan.margins, &plan.options);
    let by_id = match &result {
        Ok(w) => ids
            .iter()
            .zip(&w.weights)
            .filter_map(|(id, w)| w.map(|w| (*id, w)))
            .collect(),
        Err(_) => HashMap::new(),
    };
    census_weights(stored, result, by_id)
}

/// Rakes responses the caller grouped in cells (see [`weight_cells`]): the weights of
/// [`CensusWeights::Raked`] are then one per cell, and `by_id` is empty (the report keeps
/// its own order of the responses).
pub fn rake_cells(
    stored: Stored,
    cells: &[Unit<'_>],
    members: &[u32],
    plan: &WeightPlan,
) -> CensusWeights {
    let result = weight_cells(
        &stored.margins,
        cells,
        members,
        &plan.margins,
        &plan.options,
    );
    census_weights(stored, result, HashMap::new())
}

fn census_weights(
    stored: Stored,
    result: Result<Weighting, crate::stats::RakeError>,
    by_id: HashMap<i64, f64>,
) -> CensusWeights {
    match result {
        Ok(weighting) => CensusWeights::Raked {
            stored,
            weighting: Box::new(weighting),
            by_id,
        },
        Err(e) => CensusWeights::Failed {
            stored,
            reason: failure_text(&e, Lang::En),
            reason_pt: failure_text(&e, Lang::Pt),
        },
    }
}

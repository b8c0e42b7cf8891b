//! The filters and households an analyst chooses on `/admin/results`, parsed from the
//! page's query string into the report's [`Filters`] and [`Households`]: dates are days
//! of the study's time zone, the bairro one of the configured list, households a whole
//! number or `bairro;households` lines. The same parsed choice drives the page and every
//! download, so a file holds what the page shows.

use chrono::{NaiveDate, NaiveTime, TimeDelta};

use super::{HouseholdsError, parse_households};
use crate::db::batches::Filters;
use crate::locale::Zone;
use crate::stats::Households;

/// Most characters of the per-bairro households text (a few dozen bairros).
pub const MAX_HOUSEHOLDS_TEXT: usize = 8_000;

/// The fields as typed (kept to show the form again).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawQuery {
    pub from: String,
    pub to: String,
    pub bairro: String,
    pub complete_only: bool,
    /// Leave out responses with a data-quality flag.
    pub exclude_flagged: bool,
    pub households: String,
    pub households_per_bairro: String,
}

/// Names of the query parameters (the form's fields).
pub mod field {
    pub const FROM: &str = "de";
    pub const TO: &str = "ate";
    pub const BAIRRO: &str = "bairro";
    pub const COMPLETE_ONLY: &str = "completos";
    pub const EXCLUDE_FLAGGED: &str = "sem_alertas";
    pub const HOUSEHOLDS: &str = "domicilios";
    pub const HOUSEHOLDS_PER_BAIRRO: &str = "domicilios_bairro";
}

/// Why a field was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryError {
    /// Not a date.
    Date,
    /// The end date is before the start date.
    Range,
    /// A bairro not in the list.
    Bairro,
    /// Not a whole number of households above zero.
    Households,
    /// A line of the per-bairro text is wrong (its 1-based number).
    HouseholdsLine(usize),
    HouseholdsTwice(usize),
    HouseholdsUnknownBairro(usize),
    HouseholdsEmpty,
    /// Both the total and the per-bairro text.
    HouseholdsBoth,
}

/// A valid choice: what the report and the exports filter on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResultsQuery {
    /// Days as chosen (local), kept for the page's summary.
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// Times in UTC, as the database compares them; `verified_only` is left to the caller.
    pub filters: Filters,
    /// `None`: the configured default.
    pub households: Option<Households>,
}

impl ResultsQuery {
    /// Whether nothing was chosen (the page's default report).
    pub fn is_default(&self) -> bool {
        *self == ResultsQuery::default()
    }

    /// A stable text of the choice: the key of the cached report, and the filter part
    /// of an audit entry (no personal data: dates, a bairro name, counts).
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(d) = self.from {
            parts.push(format!("de={d}"));
        }
        if let Some(d) = self.to {
            parts.push(format!("ate={d}"));
        }
        if let Some(b) = &self.filters.bairro {
            parts.push(format!("bairro={b}"));
        }
        if self.filters.complete_only {
            parts.push("completos".into());
        }
        if self.filters.exclude_flagged {
            parts.push("sem_alertas".into());
        }
        match &self.households {
            Some(Households::Total(n)) => parts.push(format!("domicilios={n}")),
            Some(Households::PerBairro(map)) => {
                let list = map
                    .iter()
                    .map(|(b, n)| format!("{b}:{n}"))
                    .collect::<Vec<_>>()
                    .join(",");
                parts.push(format!("domicilios_bairro={list}"));
            }
            None => {}
        }
        if parts.is_empty() {
            "sem filtros".into()
        } else {
            parts.join(" ")
        }
    }
}

/// A day typed as `2026-11-30` (the date input) or `30/11/2026` (typed by hand).
fn parse_day(s: &str) -> Result<Option<NaiveDate>, QueryError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(s, "%d/%m/%Y"))
        .ok()
        // Four-digit years only: chrono reads "0002-01-01" too.
        .filter(|d| (2000..=9999).contains(&chrono::Datelike::year(d)))
        .map(Some)
        .ok_or(QueryError::Date)
}

/// A whole number of households: digits with optional `.`, space or `_` grouping.
fn parse_count(s: &str) -> Result<Option<u64>, QueryError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let digits = s.replace(['.', '_', ' ', '\u{a0}'], "");
    match digits.parse::<u64>() {
        Ok(n) if n > 0 && digits.bytes().all(|b| b.is_ascii_digit()) => Ok(Some(n)),
        _ => Err(QueryError::Households),
    }
}

fn parse_per_bairro(text: &str, bairros: &[String]) -> Result<Option<Households>, QueryError> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    if text.chars().count() > MAX_HOUSEHOLDS_TEXT {
        return Err(QueryError::HouseholdsLine(1));
    }
    let parsed = parse_households(text).map_err(|e| match e {
        HouseholdsError::NoSeparator(n)
        | HouseholdsError::EmptyName(n)
        | HouseholdsError::NotANumber(n, _) => QueryError::HouseholdsLine(n),
        HouseholdsError::Twice(n, _) => QueryError::HouseholdsTwice(n),
        HouseholdsError::Empty => QueryError::HouseholdsEmpty,
    })?;
    // Lines are checked against the list, in order, so the error names the first wrong one.
    let mut seen = 0usize;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim().trim_start_matches('\u{feff}');
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let name = line
            .rsplit_once([';', '\t', ','])
            .map_or("", |(n, _)| n.trim());
        let count = line.rsplit_once([';', '\t', ',']).map_or("", |(_, c)| c);
        if !bairros.iter().any(|b| b == name) {
            return Err(QueryError::HouseholdsUnknownBairro(i + 1));
        }
        if !matches!(parse_count(count), Ok(Some(_))) {
            return Err(QueryError::HouseholdsLine(i + 1));
        }
        seen += 1;
    }
    if seen == 0 {
        return Err(QueryError::HouseholdsEmpty);
    }
    Ok(Some(parsed))
}

/// Parses the page's query: the valid choice, or every wrong field with its error (in
/// the form's order). `bairros` is the configured list; `zone` turns the chosen days
/// into the UTC times the database compares (`to` takes its whole day).
pub fn parse(
    raw: &RawQuery,
    bairros: &[String],
    zone: Zone,
) -> Result<ResultsQuery, Vec<(&'static str, QueryError)>> {
    let mut errors = Vec::new();
    let from = parse_day(&raw.from).unwrap_or_else(|e| {
        errors.push((field::FROM, e));
        None
    });
    let to = parse_day(&raw.to).unwrap_or_else(|e| {
        errors.push((field::TO, e));
        None
    });
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        errors.push((field::TO, QueryError::Range));
    }
    let bairro = raw.bairro.trim();
    let bairro = if bairro.is_empty() {
        None
    } else if let Some(b) = bairros.iter().find(|b| b.as_str() == bairro) {
        Some(b.clone())
    } else {
        errors.push((field::BAIRRO, QueryError::Bairro));
        None
    };
    let total = parse_count(&raw.households).unwrap_or_else(|e| {
        errors.push((field::HOUSEHOLDS, e));
        None
    });
    let per_bairro = parse_per_bairro(&raw.households_per_bairro, bairros).unwrap_or_else(|e| {
        errors.push((field::HOUSEHOLDS_PER_BAIRRO, e));
        None
    });
    let households = match (total, per_bairro) {
        (Some(_), Some(_)) => {
            errors.push((field::HOUSEHOLDS_PER_BAIRRO, QueryError::HouseholdsBoth));
            None
        }
        (Some(n), None) => Some(Households::Total(n)),
        (None, per) => per,
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    let midnight = |d: NaiveDate| zone.local_to_utc(d.and_time(NaiveTime::MIN));
    Ok(ResultsQuery {
        from,
        to,
        filters: Filters {
            since: from.map(midnight),
            until: to.map(|d| midnight(d) + TimeDelta::days(1) - TimeDelta::microseconds(1)),
            bairro,
            complete_only: raw.complete_only,
            verified_only: false,
            exclude_flagged: raw.exclude_flagged,
            ..Filters::default()
        },
        households,
    })
}

/// The query string of a choice (for the download links): the raw fields that were
/// valid, so each link repeats exactly the page's filters.
pub fn to_query_string(raw: &RawQuery) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in [
        (field::FROM, raw.from.trim()),
        (field::TO, raw.to.trim()),
        (field::BAIRRO, raw.bairro.trim()),
        (field::HOUSEHOLDS, raw.households.trim()),
        (
            field::HOUSEHOLDS_PER_BAIRRO,
            raw.households_per_bairro.trim(),
        ),
    ] {
        if !value.is_empty() {
            q.append_pair(name, value);
        }
    }
    if raw.complete_only {
        q.append_pair(field::COMPLETE_ONLY, "1");
    }
    if raw.exclude_flagged {
        q.append_pair(field::EXCLUDE_FLAGGED, "1");
    }
    q.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bairros() -> Vec<String> {
        vec!["VILA INDUSTRIAL".into(), "JARDIM SÃO JOSÉ".into()]
    }

    fn raw() -> RawQuery {
        RawQuery::default()
    }

    #[test]
    fn days_are_the_study_zone_and_to_takes_the_whole_day() {
        let zone = Zone::parse("America/Sao_Paulo").expect("zone");
        let q = parse(
            &RawQuery {
                from: "2026-11-01".into(),
                to: "30/11/2026".into(),
                bairro: "JARDIM SÃO JOSÉ".into(),
                complete_only: true,
                households: "12.000".into(),
                ..raw()
            },
            &bairros(),
            zone,
        )
        .expect("valid");
        assert_eq!(
            q.filters.since.map(|t| t.to_string()).as_deref(),
            Some("2026-11-01 03:00:00")
        );
        assert_eq!(
            q.filters.until.map(|t| t.to_string()).as_deref(),
            Some("2026-12-01 02:59:59.999999")
        );
        assert_eq!(q.filters.bairro.as_deref(), Some("JARDIM SÃO JOSÉ"));
        assert!(q.filters.complete_only);
        assert_eq!(q.households, Some(Households::Total(12_000)));
        assert_eq!(
            q.describe(),
            "de=2026-11-01 ate=2026-11-30 bairro=JARDIM SÃO JOSÉ completos domicilios=12000"
        );
        assert!(parse(&raw(), &bairros(), zone).expect("empty").is_default());
    }

    #[test]
    fn each_wrong_field_is_named() {
        let zone = Zone::default();
        let errors = parse(
            &RawQuery {
                from: "ontem".into(),
                to: "2026-02-30".into(),
                bairro: "MOOCA".into(),
                households: "-5".into(),
                ..raw()
            },
            &bairros(),
            zone,
        )
        .expect_err("invalid");
        assert_eq!(
            errors,
            vec![
                (field::FROM, QueryError::Date),
                (field::TO, QueryError::Date),
                (field::BAIRRO, QueryError::Bairro),
                (field::HOUSEHOLDS, QueryError::Households),
            ]
        );
        let range = RawQuery {
            from: "2026-12-01".into(),
            to: "2026-11-01".into(),
            ..raw()
        };
        assert_eq!(
            parse(&range, &bairros(), zone).expect_err("range"),
            vec![(field::TO, QueryError::Range)]
        );
        for (text, want) in [
            (
                "VILA INDUSTRIAL;100\nMOOCA;5",
                QueryError::HouseholdsUnknownBairro(2),
            ),
            ("VILA INDUSTRIAL;muitos", QueryError::HouseholdsLine(1)),
            ("VILA INDUSTRIAL;0", QueryError::HouseholdsLine(1)),
            (
                "VILA INDUSTRIAL;1\nVILA INDUSTRIAL;2",
                QueryError::HouseholdsTwice(2),
            ),
            ("# só comentário", QueryError::HouseholdsEmpty),
        ] {
            let q = RawQuery {
                households_per_bairro: text.into(),
                ..raw()
            };
            assert_eq!(
                parse(&q, &bairros(), zone).expect_err(text),
                vec![(field::HOUSEHOLDS_PER_BAIRRO, want)]
            );
        }
        let both = RawQuery {
            households: "10".into(),
            households_per_bairro: "VILA INDUSTRIAL;10".into(),
            ..raw()
        };
        assert_eq!(
            parse(&both, &bairros(), zone).expect_err("both"),
            vec![(field::HOUSEHOLDS_PER_BAIRRO, QueryError::HouseholdsBoth)]
        );
        let per = RawQuery {
            households_per_bairro: "VILA INDUSTRIAL; 1.200\nJARDIM SÃO JOSÉ;300".into(),
            ..raw()
        };
        let Some(Households::PerBairro(map)) =
            parse(&per, &bairros(), zone).expect("valid").households
        else {
            panic!("per bairro")
        };
        assert_eq!(map.get("VILA INDUSTRIAL"), Some(&1200));
    }

    #[test]
    fn query_string_repeats_the_fields() {
        let q = RawQuery {
            from: "2026-11-01".into(),
            bairro: "JARDIM SÃO JOSÉ".into(),
            complete_only: true,
            ..raw()
        };
        assert_eq!(
            to_query_string(&q),
            "de=2026-11-01&bairro=JARDIM+S%C3%83O+JOS%C3%89&completos=1"
        );
    }
}

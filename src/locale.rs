//! Numbers and times as the reader writes them: decimal comma and thousands dot in
//! Portuguese (`R$ 3.750,00`, `25,4 %`), the English forms otherwise, and local times in
//! the study's time zone. The one place the report and the pages format figures, so a
//! table and its summary never disagree on a separator.
//!
//! Time zones: only the Brazilian IANA zones (and UTC) are known. None of them has kept
//! daylight-saving time since 2019, so each is a fixed offset for the survey's dates;
//! this avoids embedding the whole time-zone database (chrono-tz) in the binary.

use chrono::{FixedOffset, NaiveDateTime, Offset, TimeZone, Utc};

/// The zone used when none is configured.
pub const DEFAULT_TIMEZONE: &str = "America/Sao_Paulo";

/// Known zones and their offsets from UTC in hours (no daylight-saving time since 2019).
const ZONES: [(&str, i32); 17] = [
    ("America/Sao_Paulo", -3),
    ("America/Bahia", -3),
    ("America/Fortaleza", -3),
    ("America/Recife", -3),
    ("America/Maceio", -3),
    ("America/Araguaina", -3),
    ("America/Belem", -3),
    ("America/Santarem", -3),
    ("America/Manaus", -4),
    ("America/Cuiaba", -4),
    ("America/Campo_Grande", -4),
    ("America/Porto_Velho", -4),
    ("America/Boa_Vista", -4),
    ("America/Rio_Branco", -5),
    ("America/Eirunepe", -5),
    ("America/Noronha", -2),
    ("UTC", 0),
];

/// A configured time zone: its IANA name and offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Zone {
    name: &'static str,
    offset: FixedOffset,
}

impl Default for Zone {
    fn default() -> Self {
        Zone {
            name: DEFAULT_TIMEZONE,
            offset: hours(-3),
        }
    }
}

fn hours(h: i32) -> FixedOffset {
    // Offsets of the table are whole hours well inside ±24 h.
    FixedOffset::east_opt(h * 3600).unwrap_or(Utc.fix())
}

impl Zone {
    /// Parses an IANA name of [`ZONES`]; the error lists the accepted names.
    pub fn parse(name: &str) -> Result<Zone, String> {
        ZONES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.trim()))
            .map(|&(name, h)| Zone {
                name,
                offset: hours(h),
            })
            .ok_or_else(|| {
                format!(
                    "unknown time zone `{name}`; expected one of {}",
                    ZONES.map(|(n, _)| n).join(", ")
                )
            })
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    /// A UTC time (as stored) shown in this zone: `06/12/2026 16:41` in Portuguese,
    /// `2026-12-06 16:41` in English, followed by the offset (`UTC−03:00`).
    pub fn datetime(&self, utc: NaiveDateTime, english: bool) -> String {
        let local = self.offset.from_utc_datetime(&utc);
        let fmt = if english {
            "%Y-%m-%d %H:%M"
        } else {
            "%d/%m/%Y %H:%M"
        };
        format!("{} ({})", local.format(fmt), self.offset_label())
    }

    /// A stored UTC time as the wall-clock time of this zone (for calendar days).
    pub fn local(&self, utc: NaiveDateTime) -> NaiveDateTime {
        utc + self.offset
    }

    /// Midnight of a local date, as the UTC time the database compares with.
    pub fn local_to_utc(&self, local: NaiveDateTime) -> NaiveDateTime {
        local - self.offset
    }

    fn offset_label(&self) -> String {
        let secs = self.offset.local_minus_utc();
        if secs == 0 {
            return "UTC".into();
        }
        let sign = if secs < 0 { '\u{2212}' } else { '+' };
        let m = secs.unsigned_abs() / 60;
        format!("UTC{sign}{:02}:{:02}", m / 60, m % 60)
    }
}

/// A calendar date as people type it: `2026-12-31` (what a date field sends) or
/// `31/12/2026`; `None` for anything else.
pub fn parse_date(s: &str) -> Option<chrono::NaiveDate> {
    let s = s.trim();
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .or_else(|_| chrono::NaiveDate::parse_from_str(s, "%d/%m/%Y"))
        .ok()
}

/// Writes `n` with `sep` between groups of three digits.
fn group(n: u64, sep: char) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(sep);
        }
        out.push(c);
    }
    out
}

/// A count: `1.234.567` (pt) or `1,234,567` (en).
pub fn int(n: u64, english: bool) -> String {
    group(n, if english { ',' } else { '.' })
}

/// A decimal number with `decimals` places and grouped thousands: `3.750,5` (pt),
/// `3,750.5` (en). Non-finite values show as `–`.
pub fn decimal(x: f64, decimals: usize, english: bool) -> String {
    if !x.is_finite() {
        return "–".into();
    }
    let s = format!("{:.decimals$}", x.abs());
    let (whole, frac) = s.split_once('.').unwrap_or((&s, ""));
    let (thousands, point) = if english { (',', '.') } else { ('.', ',') };
    let whole: u64 = whole.parse().unwrap_or(u64::MAX);
    let negative = x < 0.0 && s.chars().any(|c| c.is_ascii_digit() && c != '0');
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    out.push_str(&group(whole, thousands));
    if !frac.is_empty() {
        out.push(point);
        out.push_str(frac);
    }
    out
}

/// A percentage (`x` already in percent): `25,4 %` (pt, with a no-break space, as the
/// ABNT writes it) or `25.4%` (en).
pub fn percent(x: f64, decimals: usize, english: bool) -> String {
    let n = decimal(x, decimals, english);
    if english {
        format!("{n}%")
    } else {
        format!("{n}\u{a0}%")
    }
}

/// An amount in reais with cents: `R$ 3.750,00` (pt) or `R$ 3,750.00` (en), with a
/// no-break space after the symbol.
pub fn reais(x: f64, english: bool) -> String {
    format!("R$\u{a0}{}", decimal(x, 2, english))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_both_languages() {
        assert_eq!(int(1_234_567, false), "1.234.567");
        assert_eq!(int(1_234_567, true), "1,234,567");
        assert_eq!(int(999, false), "999");
        assert_eq!(decimal(3750.456, 1, false), "3.750,5");
        assert_eq!(decimal(3750.456, 1, true), "3,750.5");
        assert_eq!(decimal(-0.04, 1, false), "0,0");
        assert_eq!(decimal(-12.5, 1, false), "-12,5");
        assert_eq!(decimal(f64::NAN, 1, false), "–");
        assert_eq!(percent(25.44, 1, false), "25,4\u{a0}%");
        assert_eq!(percent(25.44, 1, true), "25.4%");
        assert_eq!(reais(3750.0, false), "R$\u{a0}3.750,00");
        assert_eq!(reais(1_234_567.891, true), "R$\u{a0}1,234,567.89");
    }

    #[test]
    fn dates_in_both_ways_people_type_them() {
        let d = chrono::NaiveDate::from_ymd_opt(2026, 12, 31);
        assert_eq!(parse_date("2026-12-31"), d);
        assert_eq!(parse_date(" 31/12/2026 "), d);
        assert_eq!(parse_date("31/13/2026"), None);
        assert_eq!(parse_date("ontem"), None);
        assert_eq!(parse_date(""), None);
    }

    #[test]
    fn zones_are_parsed_and_applied() {
        let z = Zone::parse("america/sao_paulo").expect("known");
        assert_eq!(z.name(), "America/Sao_Paulo");
        let utc = NaiveDateTime::parse_from_str("2026-12-06 02:30:00", "%Y-%m-%d %H:%M:%S")
            .expect("time");
        assert_eq!(
            z.datetime(utc, false),
            "05/12/2026 23:30 (UTC\u{2212}03:00)"
        );
        assert_eq!(
            Zone::parse("America/Manaus")
                .expect("known")
                .datetime(utc, true),
            "2026-12-05 22:30 (UTC\u{2212}04:00)"
        );
        assert_eq!(
            Zone::parse("UTC").expect("known").datetime(utc, true),
            "2026-12-06 02:30 (UTC)"
        );
        let local = NaiveDateTime::parse_from_str("2026-12-01 00:00:00", "%Y-%m-%d %H:%M:%S")
            .expect("time");
        assert_eq!(z.local_to_utc(local).to_string(), "2026-12-01 03:00:00");
        let err = Zone::parse("Europe/Lisbon").unwrap_err();
        assert!(
            err.contains("Europe/Lisbon") && err.contains("America/Sao_Paulo"),
            "{err}"
        );
        assert_eq!(
            Zone::default(),
            Zone::parse(DEFAULT_TIMEZONE).expect("known")
        );
    }
}

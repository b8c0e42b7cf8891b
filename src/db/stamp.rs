//! Timestamps of the responses read without chrono's format parser: SQLite stores them
//! as text (`2026-11-09 20:46:37.287394058`), and diesel reads that text by trying its
//! format strings with `NaiveDateTime::parse_from_str`, which interprets the format on
//! every call. Reading every response (export, report) spent a fifth of the reading
//! thread there (bench/findings.md, session 17). [`Stamp`] reads the one layout diesel
//! writes by hand and hands anything else to diesel; MariaDB's binary timestamps go to
//! diesel unchanged.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::mysql::Mysql;
use diesel::sql_types::{Nullable, Timestamp};
use diesel::sqlite::Sqlite;

/// A `Timestamp` column, for `#[diesel(deserialize_as = Stamp)]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromSqlRow)]
pub struct Stamp(pub NaiveDateTime);

/// A `Nullable<Timestamp>` column, for `#[diesel(deserialize_as = MaybeStamp)]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromSqlRow)]
pub struct MaybeStamp(pub Option<NaiveDateTime>);

impl From<Stamp> for NaiveDateTime {
    fn from(s: Stamp) -> NaiveDateTime {
        s.0
    }
}

impl From<MaybeStamp> for Option<NaiveDateTime> {
    fn from(s: MaybeStamp) -> Option<NaiveDateTime> {
        s.0
    }
}

/// `digits` as a number, when every byte is an ASCII digit.
fn number(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0u32, |n, &b| {
        b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0'))
    })
}

/// `YYYY-MM-DD HH:MM:SS` with an optional `.` and one to nine digits of fraction: what
/// diesel writes (`%F %T%.f`). `None` for anything else, a leap second included.
fn parse(text: &str) -> Option<NaiveDateTime> {
    let b = text.as_bytes();
    let (head, fraction) = (b.get(..19)?, b.get(19..)?);
    if head[4] != b'-'
        || head[7] != b'-'
        || head[10] != b' '
        || head[13] != b':'
        || head[16] != b':'
    {
        return None;
    }
    let year = i32::try_from(number(&head[0..4])?).ok()?;
    let date = NaiveDate::from_ymd_opt(year, number(&head[5..7])?, number(&head[8..10])?)?;
    let nanos = match fraction {
        [] => 0,
        [b'.', digits @ ..] if (1..=9).contains(&digits.len()) => {
            number(digits)? * 10u32.pow(9 - digits.len() as u32)
        }
        _ => return None,
    };
    let (hour, minute, second) = (
        number(&head[11..13])?,
        number(&head[14..16])?,
        number(&head[17..19])?,
    );
    if second > 59 {
        return None;
    }
    Some(date.and_time(NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)?))
}

impl FromSql<Timestamp, Sqlite> for Stamp {
    fn from_sql(mut value: <Sqlite as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        if let Some(t) = parse(value.read_text()) {
            return Ok(Stamp(t));
        }
        <NaiveDateTime as FromSql<Timestamp, Sqlite>>::from_sql(value).map(Stamp)
    }
}

impl FromSql<Timestamp, Mysql> for Stamp {
    fn from_sql(value: <Mysql as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        <NaiveDateTime as FromSql<Timestamp, Mysql>>::from_sql(value).map(Stamp)
    }
}

impl<DB: Backend> FromSql<Nullable<Timestamp>, DB> for MaybeStamp
where
    Stamp: FromSql<Timestamp, DB>,
{
    fn from_sql(value: DB::RawValue<'_>) -> deserialize::Result<Self> {
        Stamp::from_sql(value).map(|s| MaybeStamp(Some(s.0)))
    }

    fn from_nullable_sql(value: Option<DB::RawValue<'_>>) -> deserialize::Result<Self> {
        match value {
            Some(v) => Self::from_sql(v),
            None => Ok(MaybeStamp(None)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What chrono reads with diesel's first format, the reference.
    fn chrono(text: &str) -> Option<NaiveDateTime> {
        NaiveDateTime::parse_from_str(text, "%F %T%.f").ok()
    }

    #[test]
    fn reads_what_diesel_writes_as_chrono_does() {
        for text in [
            "2026-11-09 20:46:37.287394058",
            "2026-11-09 20:46:37.2873",
            "2026-11-09 20:46:37.2",
            "2026-11-09 20:46:37",
            "2000-02-29 00:00:00.000000001",
            "9999-12-31 23:59:59.999999999",
            "0001-01-01 00:00:00",
        ] {
            assert_eq!(parse(text), chrono(text), "{text}");
            assert!(parse(text).is_some(), "{text}");
            let written = parse(text).expect("parsed").format("%F %T%.f").to_string();
            assert_eq!(parse(&written), parse(text), "round trip of {text}");
        }
    }

    #[test]
    fn leaves_every_other_layout_to_diesel() {
        for text in [
            "2026-02-30 10:00:00",            // no such day
            "2026-11-09 24:00:00",            // no such hour
            "2026-11-09 23:59:60",            // a leap second: chrono's own rules
            "2026-11-09T20:46:37",            // ISO 8601 'T'
            "2026-11-09 20:46:37Z",           // a zone
            "2026-11-09 20:46:37+02:00",      // an offset
            "2026-11-09 20:46:37.",           // a dot without digits
            "2026-11-09 20:46:37.1234567891", // ten digits
            "2026-11-09 20:46",               // no seconds
            "+2026-11-09 20:46:37",
            "2026-1-09 20:46:37.5",
            "2461353.5", // a Julian day
            "",
        ] {
            assert_eq!(parse(text), None, "{text}");
        }
    }

    /// Through diesel on SQLite: the layout diesel writes is read here, others by
    /// diesel, NULL as none.
    #[test]
    fn sqlite_columns_read_through_diesel() {
        use diesel::dsl::sql;
        use diesel::prelude::*;
        let mut conn = SqliteConnection::establish(":memory:").expect("sqlite");
        let mut read = |text: &str| {
            diesel::select(sql::<Timestamp>(&format!("'{text}'")))
                .get_result::<Stamp>(&mut conn)
                .map(|s| s.0)
        };
        let expected = chrono("2026-11-09 20:46:37.5");
        assert_eq!(read("2026-11-09 20:46:37.5").ok(), expected);
        // ISO 8601 with 'T', not the fast layout: diesel's formats read it.
        assert_eq!(read("2026-11-09T20:46:37.5").ok(), expected);
        assert!(read("yesterday").is_err());
        let none = diesel::select(sql::<Nullable<Timestamp>>("NULL"))
            .get_result::<MaybeStamp>(&mut conn)
            .expect("null");
        assert_eq!(none, MaybeStamp(None));
        let some = diesel::select(sql::<Nullable<Timestamp>>("'2026-11-09 20:46:37.5'"))
            .get_result::<MaybeStamp>(&mut conn)
            .expect("some");
        assert_eq!(some, MaybeStamp(expected));
    }
}

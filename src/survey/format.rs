//! Money and time formatting for labels, reports and exports.
//!
//! Brazilian Portuguese writes `R$ 1.234,50` (thousands with `.`, decimals with
//! `,`); the English pages keep the `R$` symbol, because the amounts are still
//! Brazilian reais, but use the English separators: `R$ 1,234.50`.

use std::fmt::Write as _;

use chrono::NaiveDateTime;

/// Formats an amount of reais, e.g. `R$ 3.242` / `R$ 1.234,50` (Portuguese) or
/// `R$ 3,242` / `R$ 1,234.50` (English).
///
/// The amount is rounded to cents; the cents are shown only when they are not
/// zero, because the survey's bands are whole amounts and `R$ 3.242,00` reads
/// as noise. Negative amounts are written `-R$ 5`. A non-finite value (which a
/// parsed definition never contains) gives `R$ ?` rather than a panic.
pub fn format_reais(value: f64, english: bool) -> String {
    if !value.is_finite() {
        return String::from("R$\u{a0}?");
    }
    // `as` saturates on absurdly large values instead of panicking.
    let cents = (value * 100.0).round() as i64;
    let abs = cents.unsigned_abs();
    let (whole, frac) = (abs / 100, abs % 100);
    let (thousands, decimal) = if english { (',', '.') } else { ('.', ',') };

    let mut out = String::new();
    if cents < 0 {
        out.push('-');
    }
    // A no-break space keeps "R$" on the same line as its amount.
    out.push_str("R$\u{a0}");
    out.push_str(&group_thousands(whole, thousands));
    if frac != 0 {
        out.push(decimal);
        out.push_str(&format!("{frac:02}"));
    }
    out
}

/// Writes `n` with `sep` between groups of three digits.
fn group_thousands(n: u64, sep: char) -> String {
    let digits = n.to_string();
    // Digits before the first separator: 1 to 3.
    let head = match digits.len() % 3 {
        0 => 3,
        r => r,
    };
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i >= head && (i - head) % 3 == 0 {
            out.push(sep);
        }
        out.push(c);
    }
    out
}

/// UTC ISO 8601 to the second: `2026-11-27T21:05:00Z`.
pub fn timestamp(t: NaiveDateTime) -> String {
    let mut s = String::with_capacity(20);
    write_timestamp(&mut s, t);
    s
}

/// [`timestamp`] appended to `out`.
pub fn write_timestamp(out: &mut String, t: NaiveDateTime) {
    use chrono::{Datelike, Timelike};
    // Digit by digit, not through chrono's `format` (which parses its pattern on every
    // call) nor `write!`: this runs twice per exported row (bench/findings.md).
    if let Ok(year @ 0..=9999) = u32::try_from(t.year()) {
        let digits = |out: &mut String, n: u32, width: u32| {
            for p in (0..width).rev() {
                out.push(char::from(b'0' + (n / 10u32.pow(p) % 10) as u8));
            }
        };
        digits(out, year, 4);
        for (sep, n) in [('-', t.month()), ('-', t.day()), ('T', t.hour())] {
            out.push(sep);
            digits(out, n, 2);
        }
        for n in [t.minute(), t.second()] {
            out.push(':');
            digits(out, n, 2);
        }
        out.push('Z');
        return;
    }
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn portuguese_separators() {
        assert_eq!(format_reais(0.0, false), "R$\u{a0}0");
        assert_eq!(format_reais(100.0, false), "R$\u{a0}100");
        assert_eq!(format_reais(1000.0, false), "R$\u{a0}1.000");
        assert_eq!(format_reais(3242.0, false), "R$\u{a0}3.242");
        assert_eq!(format_reais(1234.5, false), "R$\u{a0}1.234,50");
        assert_eq!(format_reais(0.05, false), "R$\u{a0}0,05");
        assert_eq!(format_reais(1_234_567.891, false), "R$\u{a0}1.234.567,89");
    }

    #[test]
    fn english_separators() {
        assert_eq!(format_reais(3242.0, true), "R$\u{a0}3,242");
        assert_eq!(format_reais(1234.5, true), "R$\u{a0}1,234.50");
        assert_eq!(format_reais(999.0, true), "R$\u{a0}999");
        assert_eq!(format_reais(1_000_000.0, true), "R$\u{a0}1,000,000");
    }

    #[test]
    fn negative_and_odd_values_do_not_panic() {
        assert_eq!(format_reais(-5.0, false), "-R$\u{a0}5");
        assert_eq!(format_reais(-1234.5, false), "-R$\u{a0}1.234,50");
        assert_eq!(format_reais(f64::NAN, false), "R$\u{a0}?");
        assert_eq!(format_reais(f64::INFINITY, true), "R$\u{a0}?");
        // Saturates instead of overflowing.
        assert!(format_reais(1e300, false).starts_with("R$\u{a0}92.233.720"));
        assert!(format_reais(-1e300, false).starts_with("-R$\u{a0}92.233.720"));
    }

    #[test]
    fn timestamps_match_chronos_format() {
        for (y, mo, d, h, mi, se) in [
            (2026, 11, 27, 21, 5, 0),
            (999, 1, 2, 3, 4, 5),
            (2000, 12, 31, 23, 59, 59),
            (0, 6, 15, 12, 30, 7),
        ] {
            let t = chrono::NaiveDate::from_ymd_opt(y, mo, d)
                .and_then(|d| d.and_hms_opt(h, mi, se))
                .expect("valid");
            let want = t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
            assert_eq!(timestamp(t), want, "{y}");
        }
        // Years of five digits (never stored, but representable) are written whole.
        let far = chrono::NaiveDate::from_ymd_opt(10000, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .expect("valid");
        assert_eq!(timestamp(far), "10000-01-01T00:00:00Z");
    }
}

//! Money formatting for labels and reports.
//!
//! Brazilian Portuguese writes `R$ 1.234,50` (thousands with `.`, decimals with
//! `,`); the English pages keep the `R$` symbol, because the amounts are still
//! Brazilian reais, but use the English separators: `R$ 1,234.50`.

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
}

//! The CSV encoder: RFC 4180 quoting, the two profiles' delimiters, decimal marks and
//! byte-order mark, and formula defusing.

use std::io::{self, Write};

use super::super::CsvProfile;
use super::super::columns::Cell;
use crate::survey::format::write_timestamp;

/// Whether a spreadsheet would read this text as a formula.
pub(super) fn is_formula_like(s: &str) -> bool {
    s.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

/// Free text that a spreadsheet would read as a formula gets a leading `'`.
pub fn defuse(s: &str) -> String {
    if is_formula_like(s) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

/// A CSV writer for `profile`; the excel-br BOM is written first.
pub fn csv_writer<W: Write>(profile: CsvProfile, mut out: W) -> io::Result<csv::Writer<W>> {
    let delimiter = match profile {
        CsvProfile::Rfc4180 => b',',
        CsvProfile::ExcelBr => {
            out.write_all("\u{feff}".as_bytes())?;
            b';'
        }
    };
    Ok(csv::WriterBuilder::new()
        .delimiter(delimiter)
        .terminator(csv::Terminator::CRLF)
        .quote_style(csv::QuoteStyle::Necessary)
        .from_writer(out))
}

#[cfg(test)]
pub(super) fn number(x: f64, profile: CsvProfile) -> String {
    let mut s = String::new();
    push_number(&mut s, x, profile);
    s
}

/// A decimal as the profile writes it (decimal comma for excel-br).
pub(super) fn push_number(out: &mut String, x: f64, profile: CsvProfile) {
    use std::fmt::Write as _;
    let start = out.len();
    let _ = write!(out, "{x}");
    if profile == CsvProfile::ExcelBr
        && let Some(dot) = out[start..].find('.')
    {
        out.replace_range(start + dot..start + dot + 1, ",");
    }
}

/// Distinct decimals [`CsvSink`] keeps written out: the decimal columns are band
/// midpoints, a few dozen values at most.
pub(super) const KEPT_NUMBERS: usize = 64;

/// [`CsvSink`] passes its output on in pieces of at least this size (as the csv crate's
/// writer does by default).
const CSV_CHUNK: usize = 8 * 1024;

/// A CSV encoder (RFC 4180: a field is quoted only when it holds the delimiter, a quote,
/// CR or LF, and quotes inside are doubled; CRLF after each record), writing each cell
/// straight into one output buffer.
///
/// It copies bytes in its own loops and formats numbers without `core::fmt` (integers
/// through `itoa`, decimals once per distinct value). Every `memcpy` call costs the
/// static build dearly: musl's `memcpy` starts slowly, and an export made tens of
/// millions of small copies (one per field in the csv crate, several per number in
/// `fmt`); the profile is in bench/findings.md.
pub struct CsvSink<W: Write> {
    pub(super) out: W,
    delimiter: u8,
    pub(super) profile: CsvProfile,
    /// Encoded records not yet passed on to `out`.
    buf: Vec<u8>,
    /// Decimals already written out (bits of the f64, text in this profile).
    numbers: Vec<(u64, Box<str>)>,
    /// A defused text or a time before it is encoded (reused: no allocation per cell).
    scratch: String,
}

impl<W: Write> CsvSink<W> {
    pub(super) fn new(profile: CsvProfile, mut out: W) -> io::Result<Self> {
        let delimiter = match profile {
            CsvProfile::Rfc4180 => b',',
            CsvProfile::ExcelBr => {
                out.write_all("\u{feff}".as_bytes())?;
                b';'
            }
        };
        Ok(CsvSink {
            out,
            delimiter,
            profile,
            buf: Vec::with_capacity(2 * CSV_CHUNK),
            numbers: Vec::new(),
            scratch: String::new(),
        })
    }

    pub(super) fn field(&mut self, cell: Cell<'_>) {
        let (buf, delimiter, scratch) = (&mut self.buf, self.delimiter, &mut self.scratch);
        scratch.clear();
        match cell {
            Cell::Empty => {}
            Cell::Text(s) if is_formula_like(&s) => {
                // The quote mark is part of the field: inside the quotes when it needs them.
                scratch.push('\'');
                scratch.push_str(&s);
                push_field(buf, delimiter, scratch.as_bytes());
            }
            Cell::Text(s) => push_field(buf, delimiter, s.as_bytes()),
            Cell::Int(n) => push_field(buf, delimiter, itoa::Buffer::new().format(n).as_bytes()),
            Cell::Num(x) => {
                let bits = x.to_bits();
                match self.numbers.iter().find(|(b, _)| *b == bits) {
                    Some((_, text)) => push_field(buf, delimiter, text.as_bytes()),
                    None => {
                        let mut text = String::new();
                        push_number(&mut text, x, self.profile);
                        push_field(buf, delimiter, text.as_bytes());
                        if self.numbers.len() < KEPT_NUMBERS {
                            self.numbers.push((bits, text.into()));
                        }
                    }
                }
            }
            Cell::Time(t) => {
                write_timestamp(scratch, t);
                push_field(buf, delimiter, scratch.as_bytes());
            }
        }
    }

    /// The header: the column names as they are.
    pub(super) fn header(
        &mut self,
        names: impl Iterator<Item = impl AsRef<str>>,
    ) -> io::Result<()> {
        for (i, name) in names.enumerate() {
            if i > 0 {
                self.buf.push(self.delimiter);
            }
            push_field(&mut self.buf, self.delimiter, name.as_ref().as_bytes());
        }
        self.end_record()
    }

    pub(super) fn record<'c>(&mut self, cells: impl Iterator<Item = Cell<'c>>) -> io::Result<()> {
        for (i, cell) in cells.enumerate() {
            if i > 0 {
                self.buf.push(self.delimiter);
            }
            self.field(cell);
        }
        self.end_record()
    }

    pub(super) fn end_record(&mut self) -> io::Result<()> {
        self.buf.extend_from_slice(b"\r\n");
        if self.buf.len() >= CSV_CHUNK {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    pub(super) fn finish(mut self) -> io::Result<W> {
        self.out.write_all(&self.buf)?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Append one CSV field, quoted if it holds the delimiter, a quote, CR or LF.
///
/// Byte by byte on purpose: `extend_from_slice` would be a `memcpy` call per field (see
/// [`CsvSink`]), and fields are a few bytes long.
pub(super) fn push_field(buf: &mut Vec<u8>, delimiter: u8, field: &[u8]) {
    let start = buf.len();
    buf.reserve(field.len());
    let mut special = false;
    for &b in field {
        special |= b == delimiter || matches!(b, b'"' | b'\r' | b'\n');
        buf.push(b);
    }
    if special {
        buf.truncate(start);
        buf.push(b'"');
        for &b in field {
            if b == b'"' {
                buf.push(b'"');
            }
            buf.push(b);
        }
        buf.push(b'"');
    }
}

//! Output: CSV and JSON Lines encoders over a writer that hashes what it writes, and
//! files that appear under their final name only when complete.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::columns::{Cell, Column};
use super::{CsvProfile, Format};
use crate::survey::format::{timestamp, write_timestamp};

/// Passes bytes through to `inner`, counting them and hashing them with SHA-256.
pub struct HashingWriter<W: Write> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> HashingWriter<W> {
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    /// The inner writer, the byte count and the hex SHA-256 of everything written.
    pub fn finish(mut self) -> io::Result<(W, u64, String)> {
        self.inner.flush()?;
        Ok((self.inner, self.bytes, hex::encode(self.hasher.finalize())))
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Whether a spreadsheet would read this text as a formula.
fn is_formula_like(s: &str) -> bool {
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
fn number(x: f64, profile: CsvProfile) -> String {
    let mut s = String::new();
    push_number(&mut s, x, profile);
    s
}

/// A decimal as the profile writes it (decimal comma for excel-br).
fn push_number(out: &mut String, x: f64, profile: CsvProfile) {
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
const KEPT_NUMBERS: usize = 64;

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
/// `fmt`); in a profile of that build `memcpy` was over a third of an export's time.
pub struct CsvSink<W: Write> {
    out: W,
    delimiter: u8,
    profile: CsvProfile,
    /// Encoded records not yet passed on to `out`.
    buf: Vec<u8>,
    /// Decimals already written out (bits of the f64, text in this profile).
    numbers: Vec<(u64, Box<str>)>,
    /// A defused text or a time before it is encoded (reused: no allocation per cell).
    scratch: String,
}

impl<W: Write> CsvSink<W> {
    fn new(profile: CsvProfile, mut out: W) -> io::Result<Self> {
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

    fn field(&mut self, cell: Cell<'_>) {
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
    fn header(&mut self, names: impl Iterator<Item = impl AsRef<str>>) -> io::Result<()> {
        for (i, name) in names.enumerate() {
            if i > 0 {
                self.buf.push(self.delimiter);
            }
            push_field(&mut self.buf, self.delimiter, name.as_ref().as_bytes());
        }
        self.end_record()
    }

    fn record<'c>(&mut self, cells: impl Iterator<Item = Cell<'c>>) -> io::Result<()> {
        for (i, cell) in cells.enumerate() {
            if i > 0 {
                self.buf.push(self.delimiter);
            }
            self.field(cell);
        }
        self.end_record()
    }

    fn end_record(&mut self) -> io::Result<()> {
        self.buf.extend_from_slice(b"\r\n");
        if self.buf.len() >= CSV_CHUNK {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    fn finish(mut self) -> io::Result<W> {
        self.out.write_all(&self.buf)?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Append one CSV field, quoted if it holds the delimiter, a quote, CR or LF.
///
/// Byte by byte on purpose: `extend_from_slice` would be a `memcpy` call per field (see
/// [`CsvSink`]), and fields are a few bytes long.
fn push_field(buf: &mut Vec<u8>, delimiter: u8, field: &[u8]) {
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

/// Most data rows of one worksheet (Excel's 1,048,576 rows less the header).
pub const XLSX_MAX_ROWS: u32 = 1_048_575;

/// An XLSX workbook being filled row by row. The worksheet runs in rust_xlsxwriter's
/// constant-memory mode: each finished row goes to a temporary file, so memory stays
/// flat; the zipped workbook is assembled by [`Sink::finish`].
pub struct Xlsx {
    book: rust_xlsxwriter::Workbook,
    next_row: u32,
}

fn xlsx_err(e: rust_xlsxwriter::XlsxError) -> io::Error {
    io::Error::other(format!("xlsx: {e}"))
}

impl Xlsx {
    fn new() -> io::Result<Xlsx> {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet_with_constant_memory();
        sheet.set_name("respostas").map_err(xlsx_err)?;
        Ok(Xlsx { book, next_row: 0 })
    }

    fn sheet(&mut self) -> io::Result<&mut rust_xlsxwriter::Worksheet> {
        self.book.worksheet_from_index(0).map_err(xlsx_err)
    }

    fn write_row<'c>(&mut self, cells: impl Iterator<Item = Cell<'c>>) -> io::Result<()> {
        if self.next_row > XLSX_MAX_ROWS {
            return Err(io::Error::other(format!(
                "xlsx holds at most {XLSX_MAX_ROWS} rows per sheet; export as csv or use filters"
            )));
        }
        let row = self.next_row;
        let sheet = self.sheet()?;
        for (col, cell) in cells.enumerate() {
            let col = u16::try_from(col).map_err(|_| io::Error::other("xlsx: too many columns"))?;
            match cell {
                Cell::Empty => {}
                Cell::Int(n) => {
                    sheet.write_number(row, col, n as f64).map_err(xlsx_err)?;
                }
                Cell::Num(x) => {
                    sheet.write_number(row, col, x).map_err(xlsx_err)?;
                }
                // A string cell is never evaluated as a formula: no defusing needed.
                Cell::Text(s) => {
                    sheet.write_string(row, col, s.as_ref()).map_err(xlsx_err)?;
                }
                Cell::Time(t) => {
                    sheet
                        .write_string(row, col, timestamp(t))
                        .map_err(xlsx_err)?;
                }
            }
        }
        self.next_row += 1;
        Ok(())
    }
}

/// Encodes rows in the chosen format.
pub enum Sink<W: Write> {
    Csv(Box<CsvSink<W>>),
    Jsonl(W, Vec<String>),
    Xlsx(Box<Xlsx>, W),
}

impl<W: Write> Sink<W> {
    pub fn new(format: Format, profile: CsvProfile, out: W) -> io::Result<Self> {
        Ok(match format {
            Format::Csv => Sink::Csv(Box::new(CsvSink::new(profile, out)?)),
            Format::Jsonl => Sink::Jsonl(out, Vec::new()),
            Format::Xlsx => Sink::Xlsx(Box::new(Xlsx::new()?), out),
        })
    }

    pub fn header(&mut self, cols: &[Column<'_>]) -> io::Result<()> {
        match self {
            Sink::Csv(w) => w.header(cols.iter().map(|c| c.name.as_str())),
            Sink::Jsonl(_, keys) => {
                *keys = cols
                    .iter()
                    .map(|c| serde_json::to_string(&c.name).unwrap_or_default())
                    .collect();
                Ok(())
            }
            Sink::Xlsx(x, _) => {
                x.write_row(cols.iter().map(|c| Cell::Text(c.name.as_str().into())))?;
                x.sheet()?.set_freeze_panes(1, 0).map_err(xlsx_err)?;
                Ok(())
            }
        }
    }

    pub fn row<'c>(&mut self, cells: impl Iterator<Item = Cell<'c>>) -> io::Result<()> {
        match self {
            Sink::Csv(w) => w.record(cells),
            Sink::Jsonl(w, keys) => {
                let mut line = String::from("{");
                for (i, (key, cell)) in keys.iter().zip(cells).enumerate() {
                    if i > 0 {
                        line.push(',');
                    }
                    line.push_str(key);
                    line.push(':');
                    match cell {
                        Cell::Empty => line.push_str("null"),
                        Cell::Int(n) => line.push_str(&n.to_string()),
                        Cell::Num(x) => line.push_str(&json_number(x)),
                        Cell::Text(s) => {
                            line.push_str(&serde_json::to_string(&s).map_err(io::Error::other)?)
                        }
                        Cell::Time(t) => {
                            line.push('"');
                            write_timestamp(&mut line, t);
                            line.push('"');
                        }
                    }
                }
                line.push_str("}\n");
                w.write_all(line.as_bytes())
            }
            Sink::Xlsx(x, _) => x.write_row(cells),
        }
    }

    /// Flush and give back the writer.
    pub fn finish(self) -> io::Result<W> {
        match self {
            Sink::Csv(w) => w.finish(),
            Sink::Jsonl(mut w, _) => {
                w.flush()?;
                Ok(w)
            }
            Sink::Xlsx(mut x, mut w) => {
                let bytes = x.book.save_to_buffer().map_err(xlsx_err)?;
                w.write_all(&bytes)?;
                w.flush()?;
                Ok(w)
            }
        }
    }
}

/// A decimal as JSON: whole values without a fraction (`3`, not `3.0`); Rust's
/// `Display` for `f64` never uses an exponent.
fn json_number(x: f64) -> String {
    if !x.is_finite() {
        return "null".into();
    }
    x.to_string()
}

/// A file written under a temporary name in the target's directory and renamed into
/// place by [`AtomicFile::commit`]; dropped without commit, it removes itself, so a
/// failed export never leaves a partial file under the output name.
pub struct AtomicFile {
    file: Option<std::io::BufWriter<std::fs::File>>,
    temp: PathBuf,
    target: PathBuf,
}

impl AtomicFile {
    pub fn create(target: &Path) -> anyhow::Result<AtomicFile> {
        let name = target
            .file_name()
            .ok_or_else(|| anyhow::anyhow!("{}: not a file name", target.display()))?;
        let dir = target.parent().filter(|d| !d.as_os_str().is_empty());
        let temp_name = format!(
            ".{}.{}-{:08x}.tmp",
            name.to_string_lossy(),
            std::process::id(),
            rand::random::<u32>()
        );
        let temp = dir.map_or_else(|| PathBuf::from(&temp_name), |d| d.join(&temp_name));
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", target.display()))?;
        Ok(AtomicFile {
            file: Some(std::io::BufWriter::new(file)),
            temp,
            target: target.to_path_buf(),
        })
    }

    /// Flush, sync and rename into place.
    pub fn commit(mut self) -> anyhow::Result<()> {
        let target = self.target.clone();
        let fail = |e: std::io::Error| anyhow::anyhow!("cannot write {}: {e}", target.display());
        if let Some(buf) = self.file.take() {
            let file = buf.into_inner().map_err(|e| fail(e.into_error()))?;
            file.sync_all().map_err(fail)?;
        }
        std::fs::rename(&self.temp, &self.target).map_err(fail)?;
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.file {
            Some(f) => f.write(buf),
            None => Err(io::Error::other("file already committed")),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match &mut self.file {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// Write `bytes` to `path` through an [`AtomicFile`].
pub fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut f = AtomicFile::create(path)?;
    f.write_all(bytes)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    f.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_defused() {
        for s in ["=1+1", "+55 12", "-3", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(defuse(s), format!("'{s}"));
        }
        assert_eq!(defuse("Mercadão"), "Mercadão");
        assert_eq!(defuse(""), "");
    }

    #[test]
    fn numbers() {
        assert_eq!(number(300.5, CsvProfile::ExcelBr), "300,5");
        assert_eq!(number(3000.0, CsvProfile::Rfc4180), "3000");
        assert_eq!(json_number(30.0), "30");
        assert_eq!(json_number(1.5), "1.5");
    }

    /// The CSV bytes of rows of cells.
    fn csv_rows(profile: CsvProfile, rows: &[Vec<Cell<'_>>]) -> String {
        let mut sink = Sink::new(Format::Csv, profile, Vec::new()).expect("sink");
        for row in rows {
            sink.row(row.iter().cloned()).expect("row");
        }
        String::from_utf8(sink.finish().expect("finish")).expect("utf-8")
    }

    #[test]
    fn csv_cells_are_written_as_fmt_would() {
        let t = chrono::NaiveDate::from_ymd_opt(2026, 3, 9)
            .and_then(|d| d.and_hms_opt(7, 5, 0))
            .expect("time");
        let row = |x: f64| {
            vec![
                Cell::Int(0),
                Cell::Int(-42),
                Cell::Int(i64::MIN),
                Cell::Num(x),
                Cell::Num(1.5),
                Cell::Time(t),
                Cell::Text("=1+1".into()),
                Cell::Text("=HYPERLINK(\"x\")".into()),
                Cell::Empty,
            ]
        };
        // More distinct decimals than are kept written out, each twice: the kept ones
        // and the ones formatted every time read the same.
        let values: Vec<f64> = (0..2 * KEPT_NUMBERS).map(|i| i as f64 * 0.25).collect();
        let rows: Vec<_> = values.iter().chain(&values).map(|&x| row(x)).collect();
        for (profile, sep, point) in [
            (CsvProfile::Rfc4180, ",", "."),
            (CsvProfile::ExcelBr, ";", ","),
        ] {
            let want: String = values
                .iter()
                .chain(&values)
                .map(|x| {
                    let x = format!("{x}").replace('.', point);
                    let cells = [
                        "0",
                        "-42",
                        "-9223372036854775808",
                        &x,
                        &format!("1{point}5"),
                        "2026-03-09T07:05:00Z",
                        "'=1+1",
                        "\"'=HYPERLINK(\"\"x\"\")\"",
                        "",
                    ];
                    cells.join(sep) + "\r\n"
                })
                .collect();
            let bom = if profile == CsvProfile::ExcelBr {
                "\u{feff}"
            } else {
                ""
            };
            assert_eq!(
                csv_rows(profile, &rows),
                format!("{bom}{want}"),
                "{profile:?}"
            );
        }
    }

    #[test]
    fn csv_fields_are_quoted_as_the_csv_crate_quotes_them() {
        let texts = [
            "plain",
            "a,b",
            "a;b",
            "diz \"oi\"",
            "\"",
            "linha\nnova",
            "cr\rlf",
            "Pão de Açúcar",
            " espaço ",
            "#comentário",
            "'já citado",
            "\\barra",
        ];
        for profile in [CsvProfile::Rfc4180, CsvProfile::ExcelBr] {
            let mut want = csv_writer(profile, Vec::new()).expect("csv");
            want.write_record(texts).expect("record");
            want.write_record(texts.iter().rev()).expect("record");
            let want = String::from_utf8(want.into_inner().expect("inner")).expect("utf-8");
            let rows: Vec<Vec<Cell<'_>>> = [texts.to_vec(), texts.iter().rev().copied().collect()]
                .into_iter()
                .map(|r| r.into_iter().map(|t| Cell::Text(t.into())).collect())
                .collect();
            assert_eq!(csv_rows(profile, &rows), want, "{profile:?}");
        }
    }

    #[test]
    fn uncommitted_file_disappears() {
        let dir = std::env::temp_dir().join(format!("pesquisa-atomic-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let target = dir.join("out.csv");
        {
            let mut f = AtomicFile::create(&target).expect("create");
            f.write_all(b"partial").expect("write");
        }
        assert_eq!(std::fs::read_dir(&dir).expect("ls").count(), 0);
        write_file(&target, b"done").expect("write");
        assert_eq!(std::fs::read(&target).expect("read"), b"done");
        assert_eq!(std::fs::read_dir(&dir).expect("ls").count(), 1);
        std::fs::remove_dir_all(&dir).ok();
    }
}

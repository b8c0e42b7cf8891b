//! Output: one [`Sink`] over the three encoders (CSV in [`delimited`], JSON Lines here,
//! XLSX in [`workbook`]), and the [`files`] they are written to.

pub mod delimited;
pub mod files;
pub mod workbook;

use std::io::{self, Write};

use super::columns::{Cell, Column};
use super::{CsvProfile, Format};
use crate::survey::format::write_timestamp;
pub use delimited::{CsvSink, csv_writer, defuse};
pub use files::{AtomicFile, HashingWriter, write_file};
use workbook::xlsx_err;
pub use workbook::{XLSX_MAX_ROWS, Xlsx};

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
            // The statistics packages' scripts read RFC 4180.
            Format::Spss | Format::Stata | Format::R => {
                Sink::Csv(Box::new(CsvSink::new(CsvProfile::Rfc4180, out)?))
            }
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

#[cfg(test)]
mod tests {
    use super::delimited::{KEPT_NUMBERS, number};
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

//! The XLSX encoder: the sheet `respostas` written in rust_xlsxwriter's constant-memory
//! mode, with its header frozen and filtered and its times as Excel dates in the study's
//! time zone, and the sheet `dicionario`, the codebook of its columns.

use std::io::{self, Seek, Write};

use chrono::NaiveDateTime;
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, Worksheet};

use super::super::columns::{Cell, Column};
use crate::locale::Zone;

/// Most data rows of one worksheet (Excel's 1,048,576 rows less the header).
pub const XLSX_MAX_ROWS: u32 = 1_048_575;

/// Number format of the time cells: a date and time as a Brazilian reader writes them.
const DATE_FORMAT: &str = "dd/mm/yyyy hh:mm";

/// An XLSX workbook being filled row by row. The data sheet runs in rust_xlsxwriter's
/// constant-memory mode: each finished row goes to a temporary file, so memory stays
/// flat; [`Xlsx::finish`] zips the workbook into another temporary file and copies it
/// out, so no whole workbook is ever held in memory either.
pub struct Xlsx {
    book: Workbook,
    next_row: u32,
    columns: u16,
    zone: Zone,
    date: Format,
}

pub(super) fn xlsx_err(e: rust_xlsxwriter::XlsxError) -> io::Error {
    io::Error::other(format!("xlsx: {e}"))
}

/// Names of the two sheets.
pub const DATA_SHEET: &str = "respostas";
pub const CODEBOOK_SHEET: &str = "dicionario";

impl Xlsx {
    pub(super) fn new(zone: Zone) -> io::Result<Xlsx> {
        let mut book = Workbook::new();
        let sheet = book.add_worksheet_with_constant_memory();
        sheet.set_name(DATA_SHEET).map_err(xlsx_err)?;
        Ok(Xlsx {
            book,
            next_row: 0,
            columns: 0,
            zone,
            date: Format::new().set_num_format(DATE_FORMAT),
        })
    }

    fn data(&mut self) -> io::Result<&mut Worksheet> {
        self.book.worksheet_from_index(0).map_err(xlsx_err)
    }

    /// The header row (frozen below it) and the `dicionario` sheet describing `cols`.
    pub(super) fn header(&mut self, cols: &[Column<'_>]) -> io::Result<()> {
        self.write_row(cols.iter().map(|c| Cell::Text(c.name.as_str().into())))?;
        self.columns = u16::try_from(cols.len()).map_err(|_| too_many())?;
        self.data()?.set_freeze_panes(1, 0).map_err(xlsx_err)?;
        let note = format!(
            "datas e horas: no fuso do estudo ({}), formato de data do Excel",
            self.zone.name()
        );
        codebook(self.book.add_worksheet(), cols, &note)
    }

    pub(super) fn write_row<'c>(
        &mut self,
        cells: impl Iterator<Item = Cell<'c>>,
    ) -> io::Result<()> {
        if self.next_row > XLSX_MAX_ROWS {
            return Err(io::Error::other(format!(
                "xlsx holds at most {XLSX_MAX_ROWS} rows per sheet; export as csv or use filters"
            )));
        }
        let row = self.next_row;
        let (zone, date) = (self.zone, self.date.clone());
        let sheet = self.data()?;
        for (col, cell) in cells.enumerate() {
            let col = u16::try_from(col).map_err(|_| too_many())?;
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
                        .write_datetime_with_format(row, col, excel_time(zone, t)?, &date)
                        .map_err(xlsx_err)?;
                }
            }
        }
        self.next_row += 1;
        Ok(())
    }

    /// The autofilter over the header and every row, then the zipped workbook copied to
    /// `out` through a temporary file.
    pub(super) fn finish(&mut self, out: &mut impl Write) -> io::Result<()> {
        let last_row = self.next_row.saturating_sub(1);
        let last_col = self.columns.saturating_sub(1);
        if self.columns > 0 {
            self.data()?
                .autofilter(0, 0, last_row, last_col)
                .map_err(xlsx_err)?;
        }
        let mut zipped = tempfile::tempfile()?;
        self.book.save_to_writer(&mut zipped).map_err(xlsx_err)?;
        zipped.rewind()?;
        io::copy(&mut zipped, out)?;
        Ok(())
    }
}

fn too_many() -> io::Error {
    io::Error::other("xlsx: too many columns")
}

/// A stored UTC time as an Excel date (a serial number of days) of the zone's wall
/// clock: Excel has no time zones, so the reader sees the study's local time.
fn excel_time(zone: Zone, utc: NaiveDateTime) -> io::Result<ExcelDateTime> {
    let local = zone.local(utc).and_utc();
    let whole = ExcelDateTime::from_timestamp(local.timestamp()).map_err(xlsx_err)?;
    // Keep the milliseconds a stored time may have (Excel holds them).
    let millis = f64::from(local.timestamp_subsec_millis()) / 86_400_000.0;
    ExcelDateTime::from_serial_datetime(whole.to_excel() + millis).map_err(xlsx_err)
}

/// The `dicionario` sheet: one row per column (name, type, question, notes), then one
/// row per code of a coded column (its code and label), the column named on each row so
/// that filtering by column keeps its codes.
fn codebook(sheet: &mut Worksheet, cols: &[Column<'_>], note: &str) -> io::Result<()> {
    sheet.set_name(CODEBOOK_SHEET).map_err(xlsx_err)?;
    let bold = Format::new().set_bold();
    let header = ["coluna", "tipo", "pergunta", "código", "rótulo", "notas"];
    for (i, h) in header.iter().enumerate() {
        let col = u16::try_from(i).map_err(|_| too_many())?;
        sheet
            .write_string_with_format(0, col, *h, &bold)
            .map_err(xlsx_err)?;
    }
    let mut row = 1u32;
    for c in cols {
        let [kind, question, _, notes] = c.describe();
        // The CSV codebook's "UTC, ISO 8601" is not what this workbook holds.
        let notes = notes.replace("UTC, ISO 8601", note);
        for (col, text) in [
            (0, c.name.as_str()),
            (1, &kind),
            (2, &question),
            (5, &notes),
        ] {
            sheet.write_string(row, col, text).map_err(xlsx_err)?;
        }
        row += 1;
        for (code, label) in c.codes() {
            sheet
                .write_string(row, 0, c.name.as_str())
                .map_err(xlsx_err)?;
            sheet.write_string(row, 3, code).map_err(xlsx_err)?;
            sheet.write_string(row, 4, label).map_err(xlsx_err)?;
            row += 1;
        }
    }
    sheet.set_freeze_panes(1, 0).map_err(xlsx_err)?;
    sheet
        .autofilter(0, 0, row.saturating_sub(1), 5)
        .map_err(xlsx_err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use calamine::{Data, Reader};

    use super::super::Sink;
    use super::*;
    use crate::db::responses::Response;
    use crate::export::columns::{AnswerSlots, Row, plan};
    use crate::export::{CsvProfile, Format};

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").expect("time")
    }

    /// One member of a zip archive, read with the system's `unzip`.
    fn member(xlsx: &[u8], name: &str) -> String {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("b.xlsx");
        std::fs::write(&path, xlsx).expect("write");
        let out = Command::new("unzip")
            .arg("-p")
            .arg(&path)
            .arg(name)
            .output()
            .expect("unzip on PATH");
        String::from_utf8(out.stdout).expect("utf-8")
    }

    #[test]
    fn workbook_has_dates_filter_frozen_header_and_codebook() {
        let def = crate::survey::default_definition().expect("definition");
        let cols = plan(&def, false);
        let slots = AnswerSlots::new(&def);
        let response = Response {
            id: 1,
            user_id: None,
            definition_id: def.id().into(),
            definition_version: 2,
            answers: r#"{"renda_familiar":{"single":"2a4sm"},"moradores":{"integer":3}}"#.into(),
            bairro: "CENTRO".into(),
            current_page: 0,
            revision: 1,
            created_at: at("2026-12-01 02:30:00"),
            updated_at: at("2026-12-01 02:30:00"),
            submitted_at: Some(at("2026-12-01 02:30:00")),
            screened_out: None,
            confirmed_checks: String::new(),
        };
        let zone = Zone::parse("America/Manaus").expect("zone");
        let mut sink =
            Sink::new(Format::Xlsx, CsvProfile::Rfc4180, zone, Vec::new()).expect("sink");
        sink.header(&cols).expect("header");
        for _ in 0..3 {
            let row = Row {
                response: &response,
                answers: slots.parse(&response.answers),
                pseudonym: "p".into(),
                asked: None,
                person: None,
            };
            sink.row(cols.iter().map(|c| c.cell(&row))).expect("row");
        }
        let bytes = sink.finish().expect("finish");

        let mut book: calamine::Xlsx<_> =
            calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.clone())).expect("xlsx");
        assert_eq!(book.sheet_names(), [DATA_SHEET, CODEBOOK_SHEET]);
        let data = book.worksheet_range(DATA_SHEET).expect("data");
        let at_col = |name: &str| cols.iter().position(|c| c.name == name).expect(name);
        // 02:30 UTC is 22:30 of the day before in Manaus (UTC−4): Excel serial 46356.9375.
        match &data[(1, at_col("submitted_at"))] {
            Data::DateTime(d) => assert!((d.as_f64() - 46_356.937_5).abs() < 1e-9, "{d:?}"),
            other => panic!("not a date: {other:?}"),
        }
        assert_eq!(data[(1, at_col("moradores"))], Data::Float(3.0));
        assert_eq!(data.height(), 4);

        let sheet1 = member(&bytes, "xl/worksheets/sheet1.xml");
        let last = rust_xlsxwriter::utility::column_number_to_name(
            u16::try_from(cols.len() - 1).expect("cols"),
        );
        assert!(
            sheet1.contains(&format!("<autoFilter ref=\"A1:{last}4\"/>")),
            "{sheet1}"
        );
        assert!(sheet1.contains("ySplit=\"1\""), "frozen header");
        let styles = member(&bytes, "xl/styles.xml");
        assert!(styles.contains("dd/mm/yyyy hh:mm"), "{styles}");

        // The codebook: every column, and every option of a coded one with its label.
        let dict = book.worksheet_range(CODEBOOK_SHEET).expect("dicionario");
        let rows: Vec<Vec<String>> = dict
            .rows()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect();
        assert_eq!(
            rows[0],
            ["coluna", "tipo", "pergunta", "código", "rótulo", "notas"]
        );
        for c in &cols {
            assert!(
                rows.iter().any(|r| r[0] == c.name && !r[1].is_empty()),
                "{}",
                c.name
            );
        }
        let renda = def.question("renda_familiar").expect("renda");
        for o in renda.options() {
            assert!(
                rows.iter()
                    .any(|r| r[0] == "renda_familiar" && r[3] == o.value && r[4] == o.label.pt),
                "{}",
                o.value
            );
        }
        assert!(
            rows.iter()
                .any(|r| r[0] == "classe_renda" && r[3] == "2a4sm" && r[4] == "D")
        );
        assert!(
            rows.iter()
                .any(|r| r[0] == "fatores_escolha__preco" && r[3] == "1")
        );
        let submitted = rows.iter().find(|r| r[0] == "submitted_at").expect("row");
        assert!(submitted[5].contains("America/Manaus"), "{submitted:?}");
    }
}

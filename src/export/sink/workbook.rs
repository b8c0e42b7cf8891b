//! The XLSX encoder: one worksheet written in rust_xlsxwriter's constant-memory mode.

use std::io;

use super::super::columns::Cell;
use crate::survey::format::timestamp;

/// Most data rows of one worksheet (Excel's 1,048,576 rows less the header).
pub const XLSX_MAX_ROWS: u32 = 1_048_575;

/// An XLSX workbook being filled row by row. The worksheet runs in rust_xlsxwriter's
/// constant-memory mode: each finished row goes to a temporary file, so memory stays
/// flat; the zipped workbook is assembled by [`Sink::finish`].
pub struct Xlsx {
    pub(super) book: rust_xlsxwriter::Workbook,
    pub(super) next_row: u32,
}

pub(super) fn xlsx_err(e: rust_xlsxwriter::XlsxError) -> io::Error {
    io::Error::other(format!("xlsx: {e}"))
}

impl Xlsx {
    pub(super) fn new() -> io::Result<Xlsx> {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet_with_constant_memory();
        sheet.set_name("respostas").map_err(xlsx_err)?;
        Ok(Xlsx { book, next_row: 0 })
    }

    pub(super) fn sheet(&mut self) -> io::Result<&mut rust_xlsxwriter::Worksheet> {
        self.book.worksheet_from_index(0).map_err(xlsx_err)
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

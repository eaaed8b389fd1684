//! Table exports as CSV and XLSX: one sheet type for every table view (poll results,
//! analytics), cells that a spreadsheet never runs as formulas, and the download answer.

use axum::response::IntoResponse;

use crate::error::AppError;

/// A cell of an exported table.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Number(f64),
    Empty,
}

impl Cell {
    pub fn text(value: impl Into<String>) -> Cell {
        Cell::Text(value.into())
    }

    /// A count.
    pub fn count(value: i64) -> Cell {
        Cell::Number(value as f64)
    }

    /// A number, or empty when there is none (no data, or withheld).
    pub fn maybe(value: Option<f64>) -> Cell {
        value
            .filter(|v| v.is_finite())
            .map_or(Cell::Empty, Cell::Number)
    }
}

/// A table: a title (the sheet's first line), a header row and rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Sheet {
    pub title: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

/// A text cell a spreadsheet would not run as a formula: one that starts with `=`, `+`,
/// `-`, `@`, a tab or a carriage return gets a leading apostrophe (OWASP's CSV injection
/// advice). Names and titles are written by people, so they are not trusted.
pub fn inert(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell.to_owned()
    }
}

fn csv_field(cell: &str) -> String {
    let cell = inert(cell);
    if cell.contains([',', '"', '\n', '\r', ';']) {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell
    }
}

/// A number as CSV writes it: a dot, at most three decimals, no thousands separator.
fn csv_number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        let text = format!("{value:.3}");
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

/// One CSV line (CRLF-terminated) of cells.
pub fn csv_line(cells: &[Cell]) -> String {
    let mut line = cells
        .iter()
        .map(|cell| match cell {
            Cell::Text(text) => csv_field(text),
            Cell::Number(n) => csv_number(*n),
            Cell::Empty => String::new(),
        })
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

/// The CSV file: a byte-order mark (spreadsheet programs then read the Cyrillic as UTF-8),
/// the header, the rows.
pub fn to_csv(sheet: &Sheet) -> String {
    let mut out = String::from("\u{feff}");
    let header: Vec<Cell> = sheet.header.iter().map(Cell::text).collect();
    out.push_str(&csv_line(&header));
    for row in &sheet.rows {
        out.push_str(&csv_line(row));
    }
    out
}

/// The XLSX workbook: the title in bold, the header, the rows; strings are written as
/// strings, so a spreadsheet never evaluates them.
pub fn to_xlsx(sheet: &Sheet) -> Result<Vec<u8>, AppError> {
    use rust_xlsxwriter::{Format, Workbook};
    let failed = |e: rust_xlsxwriter::XlsxError| {
        tracing::error!(error = %e, "xlsx export failed");
        AppError::internal()
    };
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let ws = workbook.add_worksheet();
    ws.write_string_with_format(0, 0, &sheet.title, &bold)
        .map_err(failed)?;
    for (col, heading) in (0u16..).zip(&sheet.header) {
        ws.write_string_with_format(2, col, heading, &bold)
            .map_err(failed)?;
        ws.set_column_width(col, if col == 0 { 40 } else { 16 })
            .map_err(failed)?;
    }
    for (r, row) in (3u32..).zip(&sheet.rows) {
        for (c, cell) in (0u16..).zip(row) {
            match cell {
                Cell::Text(text) => ws.write_string(r, c, text).map(|_| ()),
                Cell::Number(n) => ws.write_number(r, c, *n).map(|_| ()),
                Cell::Empty => Ok(()),
            }
            .map_err(failed)?;
        }
    }
    workbook.save_to_buffer().map_err(failed)
}

pub const CSV: &str = "text/csv; charset=utf-8";
pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// A file to download under `name` (ASCII: it is ours, never a person's text).
pub fn download(
    body: impl Into<axum::body::Body>,
    media_type: &'static str,
    name: &str,
) -> axum::response::Response {
    (
        [
            (axum::http::header::CONTENT_TYPE, media_type.to_owned()),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body.into(),
    )
        .into_response()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn exported_cells_never_run_as_formulas() {
        let sheet = Sheet {
            title: "=Опрос".to_owned(),
            header: vec![
                "Раздел".into(),
                "Вопрос".into(),
                "Число".into(),
                "Доля".into(),
            ],
            rows: vec![
                vec![
                    Cell::text("Ответы"),
                    Cell::text("=HYPERLINK(\"http://x\")"),
                    Cell::count(3),
                    Cell::Number(12.5),
                ],
                vec![
                    Cell::text("-1, или \"нет\""),
                    Cell::Empty,
                    Cell::count(-2),
                    Cell::maybe(Some(f64::NAN)),
                ],
            ],
        };
        let csv = to_csv(&sheet);
        assert!(csv.starts_with('\u{feff}'));
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[1], "Ответы,\"'=HYPERLINK(\"\"http://x\"\")\",3,12.5");
        assert_eq!(lines[2], "\"'-1, или \"\"нет\"\"\",,-2,");
        assert_eq!(inert("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(inert("Сквер"), "Сквер");
        assert_eq!(csv_number(0.1 + 0.2), "0.3");
        let xlsx = to_xlsx(&sheet).unwrap();
        assert!(xlsx.starts_with(b"PK"), "a zip container");
    }
}

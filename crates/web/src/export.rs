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
    csv_pieces(std::slice::from_ref(sheet), false)
        .map(|piece| piece.text)
        .collect()
}

/// A piece of a CSV file as [`csv_pieces`] gives it.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvPiece {
    pub text: String,
    /// Whether it is a row of a table (not the byte-order mark, a title, a header or the
    /// blank line between tables): what progress counts.
    pub row: bool,
}

/// A CSV file of tables, piece by piece, so that a writer holds one line at a time: a
/// byte-order mark, then each table's header and rows. With `titled`, each table starts
/// with its title on a line of its own, and a blank line separates the tables (the
/// whole analytics report in one file); one table without it is exactly [`to_csv`].
pub fn csv_pieces(sheets: &[Sheet], titled: bool) -> impl Iterator<Item = CsvPiece> + '_ {
    let piece = |text: String| CsvPiece { text, row: false };
    std::iter::once(piece("\u{feff}".to_owned())).chain(sheets.iter().enumerate().flat_map(
        move |(i, sheet)| {
            let header: Vec<Cell> = sheet.header.iter().map(Cell::text).collect();
            let blank = (titled && i > 0).then(|| piece("\r\n".to_owned()));
            let title = titled.then(|| piece(csv_line(&[Cell::text(&sheet.title)])));
            blank
                .into_iter()
                .chain(title)
                .chain(std::iter::once(piece(csv_line(&header))))
                .chain(sheet.rows.iter().map(|row| CsvPiece {
                    text: csv_line(row),
                    row: true,
                }))
        },
    ))
}

fn xlsx_failed(e: rust_xlsxwriter::XlsxError) -> AppError {
    tracing::error!(error = %e, "xlsx export failed");
    AppError::internal()
}

/// Rows of a worksheet before a table's data: its title, a blank row, the header.
const XLSX_DATA_FROM: u32 = 3;
/// Rows written between two reports of progress.
const XLSX_PROGRESS_EVERY: u64 = 5_000;

/// Writes a table into a worksheet: the title in bold, the header, the rows; strings are
/// written as strings, so a spreadsheet never evaluates them. Row by row, in order (what
/// constant-memory worksheets need); `progress` hears every few thousand rows.
fn write_sheet(
    ws: &mut rust_xlsxwriter::Worksheet,
    sheet: &Sheet,
    mut progress: impl FnMut(u64),
) -> Result<(), AppError> {
    let bold = rust_xlsxwriter::Format::new().set_bold();
    for (col, _) in (0u16..).zip(&sheet.header) {
        ws.set_column_width(col, if col == 0 { 40 } else { 16 })
            .map_err(xlsx_failed)?;
    }
    ws.write_string_with_format(0, 0, &sheet.title, &bold)
        .map_err(xlsx_failed)?;
    for (col, heading) in (0u16..).zip(&sheet.header) {
        ws.write_string_with_format(2, col, heading, &bold)
            .map_err(xlsx_failed)?;
    }
    let mut written = 0u64;
    for (r, row) in (XLSX_DATA_FROM..).zip(&sheet.rows) {
        for (c, cell) in (0u16..).zip(row) {
            match cell {
                Cell::Text(text) => ws.write_string(r, c, text).map(|_| ()),
                Cell::Number(n) => ws.write_number(r, c, *n).map(|_| ()),
                Cell::Empty => Ok(()),
            }
            .map_err(xlsx_failed)?;
        }
        written += 1;
        if written.is_multiple_of(XLSX_PROGRESS_EVERY) {
            progress(written);
        }
    }
    Ok(())
}

/// The XLSX workbook of one table (see [`write_sheet`]).
pub fn to_xlsx(sheet: &Sheet) -> Result<Vec<u8>, AppError> {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    write_sheet(workbook.add_worksheet(), sheet, |_| {})?;
    workbook.save_to_buffer().map_err(xlsx_failed)
}

/// The most data rows a worksheet holds (the format's 1 048 576 rows, less the title, the
/// blank row and the header).
const XLSX_MAX_ROWS: usize = 1_048_576 - XLSX_DATA_FROM as usize;

/// Writes tables to an XLSX file at `path`, one worksheet each (named by `names`, made
/// valid and unique), laid out as [`to_xlsx`] lays out its one, in constant memory: rows
/// go to the worksheets' temporary files as they are written. `progress` hears the data
/// rows written so far every few thousand rows and after each table; the count of all is
/// returned. A table longer than a worksheet holds is refused (`export_too_large`).
pub fn write_xlsx_file(
    sheets: &[(String, Sheet)],
    path: &std::path::Path,
    mut progress: impl FnMut(u64),
) -> Result<u64, AppError> {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    workbook
        .set_tempdir(std::env::temp_dir())
        .map_err(xlsx_failed)?;
    let mut used: Vec<String> = Vec::new();
    let mut done = 0u64;
    for (name, sheet) in sheets {
        if sheet.rows.len() > XLSX_MAX_ROWS {
            return Err(AppError::new(
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                "export_too_large",
            ));
        }
        let ws = workbook
            .add_worksheet_with_constant_memory()
            .map_err(xlsx_failed)?
            .set_name(sheet_name(name, &used))
            .map_err(xlsx_failed)?;
        used.push(ws.name());
        write_sheet(ws, sheet, |rows| progress(done + rows))?;
        done += sheet.rows.len() as u64;
        progress(done);
    }
    workbook.save(path).map_err(xlsx_failed)?;
    Ok(done)
}

/// A worksheet's name from a title: at most 31 characters, none of `[]:*?/\\`, not
/// starting or ending with an apostrophe, and not one of `used` (Excel compares names
/// without case).
fn sheet_name(title: &str, used: &[String]) -> String {
    let clean: String = title
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { ' ' } else { c })
        .collect();
    let clean = clean.trim().trim_matches('\'').trim();
    let base: String = clean.chars().take(31).collect();
    let base = if base.trim().is_empty() {
        "Таблица".to_owned()
    } else {
        base.trim().to_owned()
    };
    let taken = |name: &str| used.iter().any(|u| u.to_lowercase() == name.to_lowercase());
    if !taken(&base) {
        return base;
    }
    (2..)
        .map(|n| {
            let suffix = format!(" {n}");
            let keep = 31 - suffix.chars().count();
            let stem: String = base.chars().take(keep).collect();
            format!("{}{suffix}", stem.trim_end())
        })
        .find(|name| !taken(name))
        .unwrap_or(base)
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

    #[test]
    fn tables_in_pieces_make_the_same_file_and_titled_reports() {
        let sheet = |title: &str, rows: usize| Sheet {
            title: title.to_owned(),
            header: vec!["Группа".into(), "Число".into()],
            rows: (0..rows)
                .map(|i| vec![Cell::text(format!("Группа {i}")), Cell::count(i as i64)])
                .collect(),
        };
        let one = sheet("Рейтинг", 3);
        let pieces: Vec<CsvPiece> = csv_pieces(std::slice::from_ref(&one), false).collect();
        assert_eq!(pieces.iter().filter(|p| p.row).count(), 3);
        assert_eq!(
            pieces.iter().map(|p| p.text.as_str()).collect::<String>(),
            to_csv(&one)
        );
        let two = [sheet("Первая", 1), sheet("Вторая", 2)];
        let report: String = csv_pieces(&two, true).map(|p| p.text).collect();
        assert_eq!(
            report,
            "\u{feff}Первая\r\nГруппа,Число\r\nГруппа 0,0\r\n\r\n\
             Вторая\r\nГруппа,Число\r\nГруппа 0,0\r\nГруппа 1,1\r\n"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.xlsx");
        let mut heard = Vec::new();
        let named: Vec<(String, Sheet)> = two
            .iter()
            .map(|s| ("Инциденты: по [видам]?".to_owned(), s.clone()))
            .collect();
        assert_eq!(
            write_xlsx_file(&named, &path, |n| heard.push(n)).unwrap(),
            3
        );
        assert_eq!(heard, [1, 3]);
        assert!(std::fs::read(&path).unwrap().starts_with(b"PK"));
    }

    #[test]
    fn worksheet_names_are_valid_and_unique() {
        let long = "Инциденты в социальных сетях по организациям";
        let first = sheet_name(long, &[]);
        assert_eq!(first.chars().count(), 31);
        let second = sheet_name(long, std::slice::from_ref(&first));
        assert!(
            second.ends_with(" 2") && second.chars().count() <= 31,
            "{second}"
        );
        assert_eq!(sheet_name("'Отказы: [все]'", &[]), "Отказы   все");
        assert_eq!(sheet_name("", &[]), "Таблица");
    }
}

//! Lists of submissions as files (`/submissions/export.csv`, `/submissions/export.xlsx`):
//! the list the person may read (a citizen's own, an organisation's inbox, a region's
//! queue, everything for the operator) with the list page's filters. CSV is streamed in
//! chunks read by keyset, so a list of any length costs bounded memory; XLSX is written
//! in constant memory to a temporary file and then streamed. No texts and no authors:
//! an export carries no personal data.

use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use otklik_domain::SubmissionId;
use otklik_store::{ListQuery, Scope, Store, SubmissionCard};
use std::collections::BTreeMap;
use std::sync::Arc;
use time::OffsetDateTime;

use super::PageError;
use crate::auth::{self, Ctx};
use crate::error::AppError;
use crate::export::{self, Cell};
use crate::messages;
use crate::usecases::{self, ListFilters};
use crate::AppState;

/// Rows read per query.
const CHUNK: u32 = 2_000;
/// Data rows per XLSX sheet (the format's limit is 1 048 576 rows with the header).
const SHEET_ROWS: u32 = 1_000_000;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/submissions/export.csv", get(csv))
        .route("/submissions/export.xlsx", get(xlsx))
}

pub(crate) const HEADER: [&str; 12] = [
    "Номер",
    "Вид",
    "Статус",
    "Категория",
    "Подкатегория",
    "Организация",
    "Регион",
    "Канал",
    "Зарегистрировано (МСК)",
    "Срок ответа (МСК)",
    "Изменено (МСК)",
    "Просрочено",
];

/// Whose list and which filters, checked before anything is sent: the list's chunks and
/// the regions' names.
async fn list_of(
    state: &AppState,
    ctx: &Ctx,
    filters: Result<Query<ListFilters>, QueryRejection>,
) -> Result<(Chunks, Arc<BTreeMap<i64, String>>), AppError> {
    let user = ctx.require_user()?;
    let Query(filters) = filters.map_err(|_| AppError::bad_request("invalid_query"))?;
    chunks_for(&state.store, user, &filters).await
}

/// The list `user` may read with `filters`, in chunks, and the regions' names.
pub(crate) async fn chunks_for(
    store: &Arc<dyn Store>,
    user: &otklik_store::UserRecord,
    filters: &ListFilters,
) -> Result<(Chunks, Arc<BTreeMap<i64, String>>), AppError> {
    let scope = usecases::scope_of(&auth::principal_of(user, None))?;
    let query = usecases::parse_filters(filters, OffsetDateTime::now_utc())?;
    let regions = store
        .regions()
        .await?
        .into_iter()
        .map(|r| (r.id.0, r.name))
        .collect();
    let chunks = Chunks {
        store: store.clone(),
        scope,
        query,
        before: None,
        done: false,
    };
    Ok((chunks, Arc::new(regions)))
}

/// Moscow time, `YYYY-MM-DD HH:MM`, which spreadsheets read as a date and time.
fn moscow(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::from_hms(3, 0, 0).unwrap_or(time::UtcOffset::UTC));
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute()
    )
}

pub(crate) fn cells(
    card: &SubmissionCard,
    regions: &BTreeMap<i64, String>,
    now: OffsetDateTime,
) -> Vec<Cell> {
    let overdue = card.status.is_open() && card.deadline_at < now;
    vec![
        Cell::text(card.number.to_string()),
        Cell::text(messages::kind(card.kind)),
        Cell::text(messages::status(card.status)),
        Cell::text(&card.category_name),
        Cell::text(&card.subcategory_name),
        Cell::text(&card.org_name),
        Cell::text(regions.get(&card.region.0).cloned().unwrap_or_default()),
        Cell::text(messages::channel(card.channel)),
        Cell::text(moscow(card.created_at)),
        Cell::text(moscow(card.deadline_at)),
        Cell::text(moscow(card.updated_at)),
        Cell::text(if overdue { "да" } else { "нет" }),
    ]
}

/// The CSV file's start: a byte-order mark and the header.
pub(crate) fn csv_start() -> String {
    let header: Vec<Cell> = HEADER.iter().map(|h| Cell::text(*h)).collect();
    format!("\u{feff}{}", export::csv_line(&header))
}

/// CSV lines of a chunk.
pub(crate) fn csv_rows(
    chunk: &[SubmissionCard],
    regions: &BTreeMap<i64, String>,
    now: OffsetDateTime,
) -> String {
    let mut out = String::with_capacity(chunk.len() * 200);
    for card in chunk {
        out.push_str(&export::csv_line(&cells(card, regions, now)));
    }
    out
}

/// The list in chunks, newest first, until it ends.
pub(crate) struct Chunks {
    store: Arc<dyn Store>,
    scope: Scope,
    pub(crate) query: ListQuery,
    before: Option<SubmissionId>,
    done: bool,
}

impl Chunks {
    pub(crate) async fn next(&mut self) -> Result<Vec<SubmissionCard>, otklik_store::StoreError> {
        if self.done {
            return Ok(Vec::new());
        }
        let chunk = self
            .store
            .list_chunk(self.scope, &self.query, self.before, CHUNK)
            .await?;
        self.done = chunk.len() < CHUNK as usize;
        self.before = chunk.last().map(|c| c.id);
        Ok(chunk)
    }
}

async fn csv(
    State(state): State<AppState>,
    ctx: Ctx,
    filters: Result<Query<ListFilters>, QueryRejection>,
) -> Result<Response, PageError> {
    let (chunks, regions) = list_of(&state, &ctx, filters).await?;
    let now = chunks.query.now;
    let first = Bytes::from(csv_start());
    let body = futures_util::stream::unfold((Some(first), chunks), move |(first, mut chunks)| {
        let regions = regions.clone();
        async move {
            if let Some(first) = first {
                return Some((Ok::<_, std::io::Error>(first), (None, chunks)));
            }
            match chunks.next().await {
                Ok(chunk) if chunk.is_empty() => None,
                Ok(chunk) => Some((
                    Ok(Bytes::from(csv_rows(&chunk, &regions, now))),
                    (None, chunks),
                )),
                Err(e) => {
                    // The answer has begun: all that is left is to cut it short.
                    tracing::error!(code = e.code(), "list export stopped: {e}");
                    Some((Err(std::io::Error::other("export failed")), (None, chunks)))
                }
            }
        }
    });
    Ok(export::download(
        Body::from_stream(body),
        export::CSV,
        "otklik-submissions.csv",
    ))
}

async fn xlsx(
    State(state): State<AppState>,
    ctx: Ctx,
    filters: Result<Query<ListFilters>, QueryRejection>,
) -> Result<Response, PageError> {
    let (mut chunks, regions) = list_of(&state, &ctx, filters).await?;
    let now = chunks.query.now;
    let file = tempfile::NamedTempFile::new().map_err(|e| {
        tracing::error!(error = %e, "no temporary file for an export");
        AppError::internal()
    })?;
    let path = file.path().to_owned();
    let runtime = tokio::runtime::Handle::current();
    let written = tokio::task::spawn_blocking(move || {
        write_xlsx(&runtime, &mut chunks, &regions, now, &path, |_| {})
    })
    .await
    .map_err(|_| AppError::internal())?;
    written.map(|_| ())?;
    let reader = tokio::fs::File::open(file.path()).await.map_err(|e| {
        tracing::error!(error = %e, "the export's file is gone");
        AppError::internal()
    })?;
    // The temporary file is removed when the stream (which owns it) ends.
    let body = futures_util::stream::unfold((reader, file), |(mut reader, file)| async move {
        use tokio::io::AsyncReadExt;
        let mut buffer = vec![0u8; 64 * 1024];
        match reader.read(&mut buffer).await {
            Ok(0) => None,
            Ok(n) => {
                buffer.truncate(n);
                Some((Ok::<_, std::io::Error>(Bytes::from(buffer)), (reader, file)))
            }
            Err(e) => Some((Err(e), (reader, file))),
        }
    });
    Ok(export::download(
        Body::from_stream(body),
        export::XLSX,
        "otklik-submissions.xlsx",
    ))
}

/// Writes the list as XLSX to `path` on a blocking thread: it reads the chunks through
/// the runtime's handle, one at a time, so memory holds one chunk and the sheet's buffer;
/// `progress` hears the rows written after each chunk.
pub(crate) fn write_xlsx(
    runtime: &tokio::runtime::Handle,
    chunks: &mut Chunks,
    regions: &BTreeMap<i64, String>,
    now: OffsetDateTime,
    path: &std::path::Path,
    mut progress: impl FnMut(u64),
) -> Result<u64, AppError> {
    use rust_xlsxwriter::{Format, Workbook};
    let failed = |e: rust_xlsxwriter::XlsxError| {
        tracing::error!(error = %e, "xlsx list export failed");
        AppError::internal()
    };
    let mut workbook = Workbook::new();
    workbook.set_tempdir(std::env::temp_dir()).map_err(failed)?;
    let bold = Format::new().set_bold();
    // A sheet with its header; a list longer than a sheet holds goes on in the next.
    let add_sheet = |workbook: &mut Workbook, n: u16| -> Result<(), AppError> {
        let ws = workbook
            .add_worksheet_with_constant_memory()
            .map_err(failed)?;
        ws.set_name(format!("Обращения {n}")).map_err(failed)?;
        for (col, heading) in (0u16..).zip(HEADER) {
            ws.write_string_with_format(0, col, heading, &bold)
                .map_err(failed)?;
            ws.set_column_width(col, if col < 3 { 16 } else { 24 })
                .map_err(failed)?;
        }
        Ok(())
    };
    let mut sheets: u16 = 1;
    add_sheet(&mut workbook, sheets)?;
    let (mut row, mut rows): (u32, u64) = (0, 0);
    loop {
        let chunk = runtime.block_on(chunks.next())?;
        if chunk.is_empty() {
            break;
        }
        for card in &chunk {
            if row == SHEET_ROWS {
                sheets += 1;
                add_sheet(&mut workbook, sheets)?;
                row = 0;
            }
            row += 1;
            let ws = workbook
                .worksheet_from_index(usize::from(sheets - 1))
                .map_err(failed)?;
            for (col, cell) in (0u16..).zip(cells(card, regions, now)) {
                if let Cell::Text(text) = cell {
                    ws.write_string(row, col, text).map_err(failed)?;
                }
            }
        }
        rows += chunk.len() as u64;
        progress(rows);
    }
    workbook.save(path).map_err(failed)?;
    Ok(rows)
}

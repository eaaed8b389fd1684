//! Keeps the embedded search index in step with the database: every node tails the
//! transparency log (`SearchFeed`) from the cursor stored in the index's own commits,
//! so a restart neither loses nor repeats a change, and every node — on SQLite or on a
//! shared PostgreSQL — builds the same index from the same ordered stream.
//! `otklik search reindex` empties the index and feeds it again from the start.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use otklik_domain::lifecycle::IncidentKind;
use otklik_search::{DocKind, IndexedDoc, SearchIndex};
use otklik_store::{
    SearchChanges, SearchIncident, SearchPost, SearchSocialIncident, SearchSubmission, Store,
};

use crate::AppError;

/// Log leaves read per pass.
const BATCH: u32 = 2_000;

/// The index in `data_dir/search` (created when missing).
pub fn open_index(data_dir: &Path) -> Result<Arc<SearchIndex>, AppError> {
    let dir = data_dir.join("search");
    std::fs::create_dir_all(&dir).map_err(|source| AppError::DataDir {
        path: dir.clone(),
        source,
    })?;
    SearchIndex::open(&dir)
        .map(Arc::new)
        .map_err(|e| AppError::Search(e.to_string()))
}

/// Opens the index, waiting up to five seconds for a writer that is still letting go of
/// it: a restart in the same process, or the previous process's last merge.
pub async fn open_index_waiting(data_dir: &Path) -> Result<Arc<SearchIndex>, AppError> {
    let mut tries = 0;
    loop {
        match open_index(data_dir) {
            Err(AppError::Search(message)) if message.contains("locked") && tries < 50 => {
                tries += 1;
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            outcome => return outcome,
        }
    }
}

/// What the index holds for one submission: the submission and each of its answers,
/// all with the submission's current status, territory and organisation (what decides
/// who may find them).
pub fn documents_of(submission: &SearchSubmission) -> Vec<IndexedDoc> {
    let base = |key: String, kind: DocKind, title: String, text: String, at: i64| IndexedDoc {
        key,
        kind,
        submission: Some(submission.id),
        title,
        text,
        status: Some(submission.status.clone()),
        category: Some(submission.category),
        subcategory: Some(submission.subcategory),
        region: Some(submission.region),
        municipality: submission.municipality,
        org: Some(submission.org),
        channel: Some(submission.channel.clone()),
        author: Some(submission.author),
        created_at: at,
        public: submission.public,
        parent: None,
    };
    let mut docs = vec![base(
        format!("submission:{}", submission.id),
        DocKind::Submission,
        format!("{} · {}", submission.number, submission.subcategory_name),
        submission.text.clone(),
        submission.created_at,
    )];
    for answer in &submission.answers {
        let title = if answer.kind == "answered" {
            format!("Ответ на обращение № {}", submission.number)
        } else {
            format!("Промежуточный ответ на обращение № {}", submission.number)
        };
        docs.push(base(
            format!("answer:{}", answer.event),
            DocKind::Answer,
            title,
            answer.body.clone(),
            answer.at,
        ));
    }
    docs
}

/// A row of the procedure incident register: its kind's label, and the submission (number
/// and subcategory) or the social incident (title) it is about; open or resolved. Filed
/// under the organisation and region of the row, so an official finds their
/// organisation's, a coordinator their region's; it has no author, so a citizen never does.
pub fn incident_document(incident: &SearchIncident) -> IndexedDoc {
    let label: &str = match IncidentKind::parse(&incident.kind) {
        Ok(kind) => otklik_web::messages::incident(kind),
        Err(_) => &incident.kind,
    };
    let mut text = label.to_owned();
    if let Some(number) = &incident.submission_number {
        text.push_str(&format!(" · обращение № {number}"));
    }
    if let Some(name) = &incident.subcategory_name {
        text.push_str(&format!(" · {name}"));
    }
    if let Some(title) = &incident.social_title {
        text.push_str(&format!(" · соцсети: {title}"));
    }
    IndexedDoc {
        key: format!("incident:{}", incident.id),
        kind: DocKind::Incident,
        submission: incident.submission,
        title: format!("Инцидент № {} · {label}", incident.id),
        text,
        status: Some(
            if incident.resolved {
                "resolved"
            } else {
                "open"
            }
            .to_owned(),
        ),
        category: incident.category,
        subcategory: incident.subcategory,
        region: incident.region,
        municipality: None,
        org: incident.org,
        channel: None,
        author: None,
        created_at: incident.detected_at,
        public: false,
        parent: incident.social_incident,
    }
}

/// A social-media incident: its title, place and public answer, under its route.
pub fn social_document(incident: &SearchSocialIncident) -> IndexedDoc {
    let text = [
        Some(incident.title.as_str()),
        incident.place.as_deref(),
        incident.answer.as_deref(),
    ]
    .into_iter()
    .flatten()
    .filter(|t| !t.is_empty())
    .collect::<Vec<_>>()
    .join("\n");
    IndexedDoc {
        key: format!("social:{}", incident.id),
        kind: DocKind::Social,
        submission: None,
        title: incident.title.clone(),
        text,
        status: Some(incident.status.clone()),
        category: incident.category,
        subcategory: incident.subcategory,
        region: incident.region,
        municipality: None,
        org: incident.org,
        channel: Some("social".to_owned()),
        author: None,
        created_at: incident.created_at,
        public: false,
        parent: None,
    }
}

/// A relevant post, where its incident is (its hit links to that incident).
pub fn post_document(post: &SearchPost) -> IndexedDoc {
    IndexedDoc {
        key: format!("post:{}", post.id),
        kind: DocKind::Post,
        submission: None,
        title: format!("Пост · {}", post.platform),
        text: post.text.clone(),
        status: None,
        category: post.category,
        subcategory: post.subcategory,
        region: post.region,
        municipality: None,
        org: post.org,
        channel: Some(post.platform.clone()),
        author: None,
        created_at: post.published_at,
        public: false,
        parent: post.incident,
    }
}

/// Every document a batch of changes makes.
pub fn documents_of_changes(changes: &SearchChanges) -> Vec<IndexedDoc> {
    let mut docs: Vec<IndexedDoc> = changes.submissions.iter().flat_map(documents_of).collect();
    docs.extend(changes.incidents.iter().map(incident_document));
    docs.extend(changes.social_incidents.iter().map(social_document));
    docs.extend(changes.posts.iter().map(post_document));
    docs
}

/// Feeds the index once from its cursor; returns how many log leaves were read.
pub async fn catch_up(store: &dyn Store, index: &Arc<SearchIndex>) -> Result<u64, AppError> {
    let changes = store.search_changes(index.cursor(), BATCH).await?;
    if changes.leaves == 0 {
        return Ok(0);
    }
    let docs = documents_of_changes(&changes);
    let index = index.clone();
    let cursor = changes.cursor;
    tokio::task::spawn_blocking(move || index.apply(&docs, &[], cursor))
        .await
        .map_err(|e| AppError::Search(e.to_string()))?
        .map_err(|e| AppError::Search(e.to_string()))?;
    Ok(changes.leaves)
}

/// Tails the log for ever: at once while there is a backlog, then every `interval`.
pub fn spawn_indexer(
    store: Arc<dyn Store>,
    index: Arc<SearchIndex>,
    interval: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match catch_up(store.as_ref(), &index).await {
                Ok(read) if u64::from(BATCH) <= read => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!("search index not updated: {e}"),
            }
            tokio::time::sleep(interval).await;
        }
    })
}

/// Empties the index and feeds it from the start of the log, showing progress.
pub async fn reindex(store: &dyn Store, index: &Arc<SearchIndex>) -> Result<u64, AppError> {
    let total = store.log_info().await?.size;
    index.clear().map_err(|e| AppError::Search(e.to_string()))?;
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} log entries ({per_sec}, {eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    loop {
        let read = catch_up(store, index).await?;
        bar.inc(read);
        if read == 0 {
            break;
        }
    }
    bar.finish();
    Ok(index.count())
}

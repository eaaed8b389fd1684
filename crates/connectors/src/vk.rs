//! VK (<https://dev.vk.com/method>): community walls through `wall.get`, the comments under
//! their recent posts through `wall.getComments`, keyword searches through
//! `newsfeed.search`; answers are published with `wall.createComment`.
//!
//! Every method is POSTed as a form (`access_token` and `v` in the body, not in the URL, so
//! the token stays out of proxies' logs) and answers `{"response": …}` or
//! `{"error": {"error_code", "error_msg"}}`.
//!
//! ## The cursor
//!
//! Compact JSON, bounded by the configuration (one entry per watched wall and query, at
//! most `comment_posts` followed posts, at most [`SEEN_CAP`] ids per query):
//!
//! ```json
//! {"v":1,
//!  "w":{"-123":{"l":456,"s":{"h":460,"lo":458,"o":2,"b":null,"p":null}}},
//!  "c":[[-123,456,789,1700000000]],
//!  "q":{"яма":{"t":1700000000,"e":[["-5_77",1700000000]],"s":{"st":…,"a":…,"n":"…","b":null}}},
//!  "r":2}
//! ```
//!
//! - `w`: per wall, `l` the highest post id taken; `s` an unfinished sweep (the wall is read
//!   newest first from offset 0 down to `l`; `h` the highest id seen in it, `lo` the lowest
//!   taken so far — on the next page only ids below it are new, whatever the offsets did
//!   meanwhile —, `o` the next offset, `b` the pages left of a first read, `p` the pinned
//!   post taken in this sweep). The first read of a wall takes `backfill_pages` pages.
//! - `c`: followed posts `[owner_id, post_id, last comment id taken, post date]`, newest
//!   first; posts older than three days are let go.
//! - `q`: per query, `t` the newest post date seen (the next search starts 10 minutes before
//!   it, for VK's indexing lag), `e` the ids seen since then (so the overlap repeats
//!   nothing), `s` an unfinished search (`st` its start_time, `a` when it began, `n` VK's
//!   `next_from`, `b` pages left of a first search, which looks back a day).
//!
//! - `r`: the task (walls in order, then the comments, then the queries) the next poll
//!   starts with, the one the last poll left unfinished.
//!
//! A poll spends at most `max_requests` requests; what is left is marked `more`. A rate
//! limit or a network failure after some requests succeeded ends the poll early with what
//! was read (and its cursor) instead of an error; before any, it is the error.

use crate::common::{self, check_text, now_unix, Answer, TextVerdict};
use crate::source::{Source, SourceError, VkSource};
use crate::{Batch, ConnectorError, Poller, Publisher};
use async_trait::async_trait;
use otklik_social::{Platform, Quarantined, RawPost, ReplyTarget};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

pub const DEFAULT_API_BASE: &str = "https://api.vk.com/method/";
pub const API_VERSION: &str = "5.199";

/// Ids remembered per search query (the overlap window's posts).
pub const SEEN_CAP: usize = 300;
/// How far before the newest post seen a search starts again.
const SEARCH_OVERLAP: i64 = 600;
/// How far back the first search of a query looks.
const SEARCH_BACKFILL: i64 = 24 * 3600;
/// How long a wall post's comments are followed.
const COMMENT_WINDOW: i64 = 3 * 24 * 3600;

/// Error codes (https://dev.vk.com/reference/errors).
const ERR_TOO_MANY_PER_SECOND: i64 = 6;
const ERR_FLOOD: i64 = 9;
const ERR_RATE_LIMIT: i64 = 29;

/// A VK source: its poller and its publisher.
pub struct Vk {
    source: String,
    api_base: reqwest::Url,
    token: String,
    owner_ids: Vec<i64>,
    queries: Vec<String>,
    from_group: Option<u64>,
    page_size: u32,
    max_requests: u32,
    backfill_pages: u32,
    comment_posts: usize,
    min_interval: Duration,
    client: reqwest::Client,
    last_request: tokio::sync::Mutex<Option<tokio::time::Instant>>,
}

impl Vk {
    pub fn new(cfg: &VkSource, client: reqwest::Client) -> Result<Vk, SourceError> {
        Source::Vk(cfg.clone()).validate()?;
        let base = cfg.api_base.as_deref().unwrap_or(DEFAULT_API_BASE);
        let api_base = base_url(base).ok_or_else(|| SourceError {
            key: cfg.key.clone(),
            message: "api_base: an http(s) address".into(),
        })?;
        Ok(Vk {
            source: cfg.key.clone(),
            api_base,
            token: cfg.token.clone(),
            owner_ids: cfg.owner_ids.clone(),
            queries: cfg.queries.clone(),
            from_group: cfg.from_group,
            page_size: cfg.page_size.unwrap_or(100).clamp(1, 100),
            max_requests: cfg.max_requests.unwrap_or(20).max(1),
            backfill_pages: cfg.backfill_pages.unwrap_or(1).max(1),
            comment_posts: cfg.comment_posts.unwrap_or(10) as usize,
            min_interval: Duration::from_millis(cfg.min_interval_ms.unwrap_or(350)),
            client,
            last_request: tokio::sync::Mutex::new(None),
        })
    }

    /// Calls a method; `Err(Api)` keeps VK's error code for the caller to judge.
    async fn call(&self, method: &str, params: &[(&str, String)]) -> Result<Value, CallError> {
        let url = self
            .api_base
            .join(method)
            .map_err(|e| CallError::Other(ConnectorError::Transport(e.to_string())))?;
        let mut form: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        form.push(("access_token", &self.token));
        form.push(("v", API_VERSION));
        {
            let mut last = self.last_request.lock().await;
            if let Some(at) = *last {
                tokio::time::sleep_until(at + self.min_interval).await;
            }
            *last = Some(tokio::time::Instant::now());
        }
        let answer = common::send(self.client.post(url).form(&form))
            .await
            .map_err(CallError::Other)?;
        read_answer(&answer)
    }

    fn post(&self, wire: &WirePost) -> Result<RawPost, TextVerdict> {
        let mut text = wire.text.as_str();
        if text.trim().is_empty() {
            // A repost without a word of its own: the reposted text is what was said.
            if let Some(original) = wire.copy_history.first() {
                text = &original.text;
            }
        }
        let text = check_text(text)?;
        Ok(RawPost {
            source: self.source.clone(),
            platform: Platform::Vk,
            external_id: post_id(wire.owner_id, wire.id),
            url: Some(format!("https://vk.com/wall{}_{}", wire.owner_id, wire.id)),
            text,
            published_at: date_or_now(wire.date),
            reply: ReplyTarget::VkWall {
                owner_id: wire.owner_id,
                post_id: wire.id,
            },
        })
    }
}

fn base_url(base: &str) -> Option<reqwest::Url> {
    let with_slash = if base.ends_with('/') {
        base.to_owned()
    } else {
        format!("{base}/")
    };
    common::http_url(&with_slash)
}

fn date_or_now(date: i64) -> i64 {
    if date > 0 {
        date
    } else {
        now_unix()
    }
}

/// `-123_456`: a post's id as VK writes it.
pub fn post_id(owner_id: i64, post_id: i64) -> String {
    format!("{owner_id}_{post_id}")
}

/// `-123_456_c789`: a comment's id.
pub fn comment_id(owner_id: i64, post_id: i64, comment_id: i64) -> String {
    format!("{owner_id}_{post_id}_c{comment_id}")
}

enum CallError {
    /// VK's own error object.
    Api {
        code: i64,
        message: String,
    },
    Other(ConnectorError),
}

impl From<CallError> for ConnectorError {
    fn from(e: CallError) -> ConnectorError {
        match e {
            CallError::Api { code, message } => api_error(code, message),
            CallError::Other(e) => e,
        }
    }
}

/// VK's error code as the error the caller acts on.
pub(crate) fn api_error(code: i64, message: String) -> ConnectorError {
    let rate = |secs| ConnectorError::RateLimited {
        retry_after: Duration::from_secs(secs),
    };
    match code {
        // "Too many requests per second": the limit is per second.
        ERR_TOO_MANY_PER_SECOND => rate(1),
        // "Flood control": too many similar actions; a minute is VK's usual pause.
        ERR_FLOOD => rate(60),
        // "Rate limit reached": the method's daily quota.
        ERR_RATE_LIMIT => rate(3600),
        // Unknown and internal errors: worth trying again.
        1 | 10 => ConnectorError::Transport(format!("vk {code}: {message}")),
        // 5 authorization failed, 15 access denied, 18 deleted or banned, 30 private
        // profile, and every other refusal.
        _ => ConnectorError::Refused {
            code: format!("vk_{code}"),
            message,
        },
    }
}

/// Codes that concern one object (a post gone, comments closed), not the token.
fn is_object_error(code: i64) -> bool {
    matches!(code, 15 | 18 | 30 | 100 | 104 | 211 | 212 | 213)
}

fn read_answer(answer: &Answer) -> Result<Value, CallError> {
    if !answer.status.is_success() {
        return Err(CallError::Other(common::status_error(answer)));
    }
    let mut value = serde_json::from_slice::<Value>(&answer.body)
        .map_err(|e| CallError::Other(ConnectorError::Malformed(format!("not JSON: {e}"))))?;
    if let Some(error) = value.get("error") {
        let code = error.get("error_code").and_then(Value::as_i64).unwrap_or(0);
        let message = error
            .get("error_msg")
            .and_then(Value::as_str)
            .unwrap_or("")
            .chars()
            .take(300)
            .collect();
        return Err(CallError::Api { code, message });
    }
    match value.get_mut("response") {
        Some(response) => Ok(response.take()),
        None => Err(CallError::Other(ConnectorError::Malformed(
            "neither response nor error".into(),
        ))),
    }
}

// ---- wire ----

#[derive(Debug, Deserialize)]
struct WirePost {
    id: i64,
    owner_id: i64,
    #[serde(default)]
    date: i64,
    #[serde(default)]
    text: String,
    #[serde(default)]
    is_pinned: Option<Value>,
    #[serde(default)]
    copy_history: Vec<WireCopy>,
}

#[derive(Debug, Deserialize)]
struct WireCopy {
    #[serde(default)]
    text: String,
}

#[derive(Debug, Deserialize)]
struct WireComment {
    id: i64,
    #[serde(default)]
    date: i64,
    #[serde(default)]
    text: String,
    #[serde(default)]
    deleted: Option<Value>,
    /// The first replies to a top-level comment (`thread_items_count`).
    #[serde(default)]
    thread: Option<WireThread>,
}

#[derive(Debug, Deserialize)]
struct WireThread {
    /// All replies in the thread.
    #[serde(default)]
    count: usize,
    #[serde(default)]
    items: Vec<Value>,
}

/// How many replies of a thread `wall.getComments` returns with each comment (its maximum).
const THREAD_ITEMS: u32 = 10;

/// How many of a followed post's latest comments have their threads watched for replies.
const THREADS_WATCHED: usize = 20;

fn truthy(v: &Option<Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_i64().is_some_and(|n| n != 0),
        _ => false,
    }
}

/// The `items` of a list answer (`{"count": …, "items": […]}`).
fn items(response: &Value) -> Result<&Vec<Value>, ConnectorError> {
    response
        .get("items")
        .and_then(Value::as_array)
        .ok_or_else(|| ConnectorError::Malformed("no items in the answer".into()))
}

// ---- cursor ----

#[derive(Debug, Default, Serialize, Deserialize)]
struct Cursor {
    #[serde(default)]
    v: u32,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    w: BTreeMap<String, WallState>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    c: Vec<Followed>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    q: BTreeMap<String, SearchState>,
    /// The task the next poll starts with.
    #[serde(default, skip_serializing_if = "is_zero")]
    r: usize,
    /// Watched threads by followed post (`"owner_post"`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    t: BTreeMap<String, Vec<Watched>>,
}

/// The key of a followed post's watched threads in [`Cursor::t`].
fn thread_key(owner: i64, post: i64) -> String {
    format!("{owner}_{post}")
}

/// A watched thread: its top-level comment's id and the newest reply id taken.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct Watched(i64, i64);

fn is_zero(n: &usize) -> bool {
    *n == 0
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct WallState {
    /// Highest post id taken.
    l: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    s: Option<WallSweep>,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct WallSweep {
    h: i64,
    #[serde(default)]
    lo: Option<i64>,
    o: u32,
    #[serde(default)]
    b: Option<u32>,
    #[serde(default)]
    p: Option<i64>,
}

/// `[owner_id, post_id, last comment id, post date]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Followed(i64, i64, i64, i64);

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct SearchState {
    t: i64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    e: Vec<(String, i64)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    s: Option<SearchSweep>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct SearchSweep {
    st: i64,
    a: i64,
    #[serde(default)]
    n: Option<String>,
    #[serde(default)]
    b: Option<u32>,
}

fn read_cursor(cursor: Option<&str>) -> Result<Cursor, ConnectorError> {
    match cursor {
        None => Ok(Cursor::default()),
        Some(c) => serde_json::from_str(c)
            .map_err(|e| ConnectorError::Malformed(format!("stored cursor: {e}"))),
    }
}

/// The fuzz targets' entry (`fuzz/`, `crates/fuzzing`): an answer of `wall.get`,
/// `wall.getComments` or `newsfeed.search` read as the poller reads it — VK's error or
/// its `response`, its `items`, each item as a wall post or else as a comment with its
/// thread's replies — and a stored `cursor` read and written back. Not an API.
#[doc(hidden)]
pub fn fuzz_answer(body: &[u8], cursor: Option<&str>) -> Result<Batch, ConnectorError> {
    // One poller for every input: a client is costly to build.
    static VK: std::sync::OnceLock<Option<Vk>> = std::sync::OnceLock::new();
    let source = VkSource {
        key: "fuzz".into(),
        api_base: None,
        token: "fuzz".into(),
        owner_ids: vec![-1],
        queries: vec![],
        region: None,
        from_group: None,
        page_size: None,
        max_requests: None,
        backfill_pages: None,
        comment_posts: None,
        min_interval_ms: None,
    };
    let Some(vk) = VK
        .get_or_init(|| Vk::new(&source, reqwest::Client::new()).ok())
        .as_ref()
    else {
        return Err(ConnectorError::Transport("no poller".into()));
    };
    let state = read_cursor(cursor)?;
    serde_json::to_string(&state).map_err(|e| ConnectorError::Malformed(e.to_string()))?;
    let answer = Answer {
        status: reqwest::StatusCode::OK,
        headers: reqwest::header::HeaderMap::new(),
        body: body.to_vec(),
    };
    let response = read_answer(&answer)?;
    let mut run = Run {
        budget: 0,
        progress: false,
        batch: Batch::default(),
        taken: HashSet::new(),
        new_posts: Vec::new(),
        at: 0,
    };
    for item in items(&response)? {
        if let Ok(wire) = WirePost::deserialize(item) {
            vk.take_wall_post(&wire, &mut run, item);
            continue;
        }
        match WireComment::deserialize(item) {
            Ok(comment) => {
                vk.emit_comment(-1, 1, &comment, item, None, &mut run);
                for reply in comment.thread.iter().flat_map(|t| &t.items) {
                    if let Ok(wire) = WireComment::deserialize(reply) {
                        vk.emit_comment(-1, 1, &wire, reply, Some(comment.id), &mut run);
                    }
                }
            }
            Err(_) => run.quarantine(&vk.source, None, "bad_shape", item),
        }
    }
    Ok(run.batch)
}

// ---- one poll ----

/// What a poll has done so far.
struct Run {
    budget: u32,
    /// At least one request succeeded (and its result is in the state).
    progress: bool,
    batch: Batch,
    taken: HashSet<String>,
    /// Wall posts taken in this poll, to follow their comments.
    new_posts: Vec<Followed>,
    /// The task under way.
    at: usize,
}

impl Run {
    fn take_request(&mut self) -> bool {
        if self.budget == 0 {
            self.batch.more = true;
            return false;
        }
        self.budget -= 1;
        true
    }

    fn emit(&mut self, post: RawPost) {
        if self.taken.insert(post.external_id.clone()) {
            self.batch.posts.push(post);
        }
    }

    fn quarantine(&mut self, source: &str, id: Option<String>, reason: &str, raw: &Value) {
        let bytes = serde_json::to_vec(raw).unwrap_or_default();
        self.batch
            .quarantined
            .push(Quarantined::new(source, id, reason, &bytes));
    }
}

/// How a task ended: done, or out of budget (the cursor says where to go on).
enum Step {
    Done,
    OutOfBudget,
}

impl Vk {
    /// The poll's tasks — each wall, the comments, each query — in turn, starting with the
    /// one the previous poll did not finish (`r`), so a budget smaller than the work never
    /// starves the tasks at the end of the list.
    async fn run(&self, state: &mut Cursor, run: &mut Run) -> Result<Step, ConnectorError> {
        let walls = self.owner_ids.len();
        let tasks = walls + 1 + self.queries.len();
        let start = if state.r < tasks { state.r } else { 0 };
        for k in (start..tasks).chain(0..start) {
            run.at = k;
            let step = if k < walls {
                self.wall(self.owner_ids[k], state, run).await?
            } else if k == walls {
                self.follow_new_posts(state, run);
                self.comments(state, run).await?
            } else {
                self.search(&self.queries[k - walls - 1], state, run)
                    .await?
            };
            if let Step::OutOfBudget = step {
                return Ok(Step::OutOfBudget);
            }
        }
        Ok(Step::Done)
    }

    /// Reads one wall from the newest post down to the last one taken.
    async fn wall(
        &self,
        owner: i64,
        state: &mut Cursor,
        run: &mut Run,
    ) -> Result<Step, ConnectorError> {
        let key = owner.to_string();
        let first_read = !state.w.contains_key(&key);
        let wall = state.w.entry(key).or_default();
        if wall.s.is_none() {
            wall.s = Some(WallSweep {
                h: wall.l,
                b: first_read.then_some(self.backfill_pages),
                ..WallSweep::default()
            });
        }
        loop {
            let Some(sweep) = wall.s.clone() else {
                return Ok(Step::Done);
            };
            if !run.take_request() {
                return Ok(Step::OutOfBudget);
            }
            let response = self
                .call(
                    "wall.get",
                    &[
                        ("owner_id", owner.to_string()),
                        ("offset", sweep.o.to_string()),
                        ("count", self.page_size.to_string()),
                        ("filter", "all".into()),
                    ],
                )
                .await
                .map_err(|e| match e {
                    CallError::Api { code, message } => {
                        api_error(code, format!("{message} (wall {owner})"))
                    }
                    CallError::Other(e) => e,
                })?;
            let list = items(&response)?;
            let total = response.get("count").and_then(Value::as_u64).unwrap_or(0);
            run.progress = true;

            let mut sweep = sweep;
            let mut reached = false;
            for item in list {
                let wire = match WirePost::deserialize(item) {
                    Ok(w) => w,
                    Err(_) => {
                        let id = item.get("id").and_then(Value::as_i64);
                        let pinned = truthy(&item.get("is_pinned").cloned());
                        if let Some(id) = id.filter(|_| !pinned) {
                            // Its place in the order still counts.
                            if id <= wall.l {
                                reached = true;
                                break;
                            }
                            if sweep.lo.is_some_and(|lo| id >= lo) {
                                continue;
                            }
                            sweep.lo = Some(id);
                            sweep.h = sweep.h.max(id);
                        }
                        let id = id.map(|id| post_id(owner, id));
                        run.quarantine(&self.source, id, "bad_shape", item);
                        continue;
                    }
                };
                if truthy(&wire.is_pinned) {
                    // The pinned post heads the first page whatever its age.
                    if wire.id > wall.l && sweep.p != Some(wire.id) {
                        sweep.p = Some(wire.id);
                        sweep.h = sweep.h.max(wire.id);
                        self.take_wall_post(&wire, run, item);
                    }
                    continue;
                }
                if wire.id <= wall.l {
                    reached = true;
                    break;
                }
                if sweep.lo.is_some_and(|lo| wire.id >= lo) || sweep.p == Some(wire.id) {
                    continue; // already taken in this sweep (the offsets moved)
                }
                sweep.lo = Some(wire.id);
                sweep.h = sweep.h.max(wire.id);
                self.take_wall_post(&wire, run, item);
            }
            let read = list.len() as u32;
            let next_offset = sweep.o.saturating_add(read);
            let mut finished =
                reached || read == 0 || read < self.page_size || u64::from(next_offset) >= total;
            if let Some(left) = sweep.b {
                let left = left.saturating_sub(1);
                sweep.b = Some(left);
                finished |= left == 0;
            }
            if finished {
                wall.l = wall.l.max(sweep.h);
                wall.s = None;
                return Ok(Step::Done);
            }
            // New posts push the list down: step back a little, the ids sort it out.
            let margin = (read / 10).min(5);
            sweep.o = next_offset - margin;
            wall.s = Some(sweep);
        }
    }

    fn take_wall_post(&self, wire: &WirePost, run: &mut Run, raw: &Value) {
        match self.post(wire) {
            Ok(post) => {
                run.new_posts
                    .push(Followed(wire.owner_id, wire.id, 0, post.published_at));
                run.emit(post);
            }
            Err(TextVerdict::Empty) => {
                // A photo without words: nothing to read, but people may comment on it.
                run.new_posts
                    .push(Followed(wire.owner_id, wire.id, 0, date_or_now(wire.date)));
            }
            Err(verdict) => run.quarantine(
                &self.source,
                Some(post_id(wire.owner_id, wire.id)),
                verdict.reason(),
                raw,
            ),
        }
    }

    /// Adds this poll's new wall posts to the followed ones; keeps the newest, recent ones.
    fn follow_new_posts(&self, state: &mut Cursor, run: &mut Run) {
        let horizon = now_unix() - COMMENT_WINDOW;
        let watched: HashSet<i64> = self.owner_ids.iter().copied().collect();
        let mut all: Vec<Followed> = std::mem::take(&mut state.c);
        for f in run.new_posts.drain(..) {
            if !all.iter().any(|g| g.0 == f.0 && g.1 == f.1) {
                all.push(f);
            }
        }
        all.retain(|f| f.3 >= horizon && watched.contains(&f.0));
        all.sort_by_key(|f| std::cmp::Reverse((f.3, f.1)));
        all.truncate(self.comment_posts);
        state.c = all;
    }

    /// A comment (or a reply in the thread of comment `thread`) as a post, unless deleted
    /// or empty; unreadable text is quarantined.
    fn emit_comment(
        &self,
        owner: i64,
        post: i64,
        wire: &WireComment,
        item: &Value,
        thread: Option<i64>,
        run: &mut Run,
    ) {
        if truthy(&wire.deleted) {
            return;
        }
        let external_id = comment_id(owner, post, wire.id);
        let url = match thread {
            None => format!("https://vk.com/wall{owner}_{post}?reply={}", wire.id),
            Some(t) => format!(
                "https://vk.com/wall{owner}_{post}?reply={}&thread={t}",
                wire.id
            ),
        };
        match check_text(&wire.text) {
            Ok(text) => run.emit(RawPost {
                source: self.source.clone(),
                platform: Platform::Vk,
                url: Some(url),
                external_id,
                text,
                published_at: date_or_now(wire.date),
                reply: ReplyTarget::VkWall {
                    owner_id: owner,
                    post_id: post,
                },
            }),
            Err(TextVerdict::Empty) => {}
            Err(verdict) => run.quarantine(&self.source, Some(external_id), verdict.reason(), item),
        }
    }

    /// New comments under the followed posts, oldest first, and new replies in the
    /// threads of their latest [`THREADS_WATCHED`] comments. Each page starts at the oldest
    /// watched comment, so one `wall.getComments` call both brings the new comments and
    /// shows each watched thread's first replies and count; a thread longer than
    /// [`THREAD_ITEMS`] is read further with `comment_id`.
    async fn comments(&self, state: &mut Cursor, run: &mut Run) -> Result<Step, ConnectorError> {
        let mut gone: Vec<(i64, i64)> = Vec::new();
        let mut step = Step::Done;
        'posts: for i in 0..state.c.len() {
            let Followed(owner, post, _, _) = state.c[i];
            let key = thread_key(owner, post);
            let mut watched = state.t.remove(&key).unwrap_or_default();
            let mut from = watched
                .iter()
                .map(|w: &Watched| w.0)
                .min()
                .map_or(state.c[i].2, |oldest| oldest.min(state.c[i].2));
            loop {
                let last = state.c[i].2;
                if !run.take_request() {
                    step = Step::OutOfBudget;
                    state.t.insert(key, watched);
                    break 'posts;
                }
                let mut params = vec![
                    ("owner_id", owner.to_string()),
                    ("post_id", post.to_string()),
                    ("count", self.page_size.to_string()),
                    ("sort", "asc".into()),
                    ("preview_length", "0".into()),
                    ("thread_items_count", THREAD_ITEMS.to_string()),
                ];
                if from > 0 {
                    // From this comment on (or the nearest earlier one, if it was deleted).
                    params.push(("start_comment_id", from.to_string()));
                }
                let response = match self.call("wall.getComments", &params).await {
                    Ok(r) => r,
                    Err(CallError::Api { code, .. }) if is_object_error(code) => {
                        run.progress = true;
                        gone.push((owner, post));
                        continue 'posts;
                    }
                    Err(e) => return Err(e.into()),
                };
                let list = items(&response)?;
                run.progress = true;
                let mut newest = last;
                let mut page_end = from;
                for item in list {
                    let wire = match WireComment::deserialize(item) {
                        Ok(w) => w,
                        Err(_) => {
                            // Pages read again for watched threads quarantine nothing twice
                            // (an item without a readable id: only on a page of new ones).
                            self.quarantine_unread(owner, post, item, last, from >= last, run);
                            continue;
                        }
                    };
                    page_end = page_end.max(wire.id);
                    let seen = if wire.id > last {
                        newest = newest.max(wire.id);
                        self.emit_comment(owner, post, &wire, item, None, run);
                        watched.push(Watched(wire.id, 0));
                        watched.len() - 1
                    } else if let Some(w) = watched.iter().position(|w| w.0 == wire.id) {
                        w
                    } else {
                        continue;
                    };
                    let replies = wire.thread.as_ref().map_or(&[][..], |t| &t.items[..]);
                    let from_reply = watched[seen].1;
                    watched[seen].1 =
                        self.emit_replies(owner, post, wire.id, replies, from_reply, run);
                    let longer = wire
                        .thread
                        .as_ref()
                        .is_some_and(|t| t.count > replies.len());
                    if longer {
                        let after = watched[seen].1;
                        watched[seen].1 =
                            self.read_thread(owner, post, wire.id, after, run).await?;
                    }
                }
                state.c[i].2 = newest;
                if (list.len() as u32) < self.page_size || page_end == from {
                    break;
                }
                from = page_end;
            }
            // The latest comments' threads stay watched.
            watched.sort_unstable_by_key(|w| std::cmp::Reverse(w.0));
            watched.truncate(THREADS_WATCHED);
            if !watched.is_empty() {
                state.t.insert(key, watched);
            }
        }
        state.c.retain(|f| !gone.contains(&(f.0, f.1)));
        let followed: HashSet<String> = state.c.iter().map(|f| thread_key(f.0, f.1)).collect();
        state.t.retain(|key, _| followed.contains(key));
        Ok(step)
    }

    /// Quarantines a comment or reply of an unexpected shape unless it was read before:
    /// its id is at most `after`, or (without a readable id) `fresh` is false.
    fn quarantine_unread(
        &self,
        owner: i64,
        post: i64,
        item: &Value,
        after: i64,
        fresh: bool,
        run: &mut Run,
    ) {
        let id = item.get("id").and_then(Value::as_i64);
        if id.map_or(fresh, |id| id > after) {
            let id = id.map(|c| comment_id(owner, post, c));
            run.quarantine(&self.source, id, "bad_shape", item);
        }
    }

    /// Emits the replies of thread `thread` newer than `after`; returns the newest id seen.
    fn emit_replies(
        &self,
        owner: i64,
        post: i64,
        thread: i64,
        replies: &[Value],
        after: i64,
        run: &mut Run,
    ) -> i64 {
        let mut newest = after;
        for reply in replies {
            match WireComment::deserialize(reply) {
                Ok(r) if r.id > after => {
                    newest = newest.max(r.id);
                    self.emit_comment(owner, post, &r, reply, Some(thread), run);
                }
                Ok(_) => {}
                Err(_) => self.quarantine_unread(owner, post, reply, after, after == 0, run),
            }
        }
        newest
    }

    /// Reads a thread beyond the replies that came with its comment, from reply `after`
    /// on, within the poll's request budget; returns the newest reply id seen.
    async fn read_thread(
        &self,
        owner: i64,
        post: i64,
        thread: i64,
        mut after: i64,
        run: &mut Run,
    ) -> Result<i64, ConnectorError> {
        loop {
            if !run.take_request() {
                return Ok(after);
            }
            let mut params = vec![
                ("owner_id", owner.to_string()),
                ("post_id", post.to_string()),
                ("comment_id", thread.to_string()),
                ("count", self.page_size.to_string()),
                ("sort", "asc".into()),
                ("preview_length", "0".into()),
            ];
            if after > 0 {
                params.push(("start_comment_id", after.to_string()));
            }
            let response = match self.call("wall.getComments", &params).await {
                Ok(r) => r,
                // The comment was deleted: nothing more to read in its thread.
                Err(CallError::Api { code, .. }) if is_object_error(code) => return Ok(after),
                Err(e) => return Err(e.into()),
            };
            let list = items(&response)?;
            let newest = self.emit_replies(owner, post, thread, list, after, run);
            if (list.len() as u32) < self.page_size || newest == after {
                return Ok(newest);
            }
            after = newest;
        }
    }

    /// One query's new posts, newest first.
    async fn search(
        &self,
        query: &str,
        state: &mut Cursor,
        run: &mut Run,
    ) -> Result<Step, ConnectorError> {
        let first = !state.q.contains_key(query);
        let entry = state.q.entry(query.to_owned()).or_default();
        if entry.s.is_none() {
            let now = now_unix();
            entry.s = Some(if first || entry.t == 0 {
                SearchSweep {
                    st: now - SEARCH_BACKFILL,
                    a: now,
                    n: None,
                    b: Some(self.backfill_pages),
                }
            } else {
                SearchSweep {
                    st: entry.t - SEARCH_OVERLAP,
                    a: now,
                    n: None,
                    b: None,
                }
            });
        }
        loop {
            let Some(mut sweep) = entry.s.clone() else {
                return Ok(Step::Done);
            };
            if !run.take_request() {
                return Ok(Step::OutOfBudget);
            }
            let mut params = vec![
                ("q", query.to_owned()),
                ("count", self.page_size.to_string()),
                ("start_time", sweep.st.to_string()),
                ("extended", "0".into()),
            ];
            if let Some(next) = &sweep.n {
                params.push(("start_from", next.clone()));
            }
            let response = self.call("newsfeed.search", &params).await?;
            let list = items(&response)?;
            run.progress = true;
            for item in list {
                let wire = match WirePost::deserialize(item) {
                    Ok(w) => w,
                    Err(_) => {
                        let id = match (
                            item.get("owner_id").and_then(Value::as_i64),
                            item.get("id").and_then(Value::as_i64),
                        ) {
                            (Some(o), Some(p)) => Some(post_id(o, p)),
                            _ => None,
                        };
                        run.quarantine(&self.source, id, "bad_shape", item);
                        continue;
                    }
                };
                let id = post_id(wire.owner_id, wire.id);
                if entry.e.iter().any(|(seen, _)| *seen == id) {
                    continue;
                }
                let date = date_or_now(wire.date);
                entry.e.push((id.clone(), date));
                entry.t = entry.t.max(date);
                match self.post(&wire) {
                    Ok(post) => run.emit(post),
                    Err(TextVerdict::Empty) => {}
                    Err(verdict) => run.quarantine(&self.source, Some(id), verdict.reason(), item),
                }
            }
            let next = response
                .get("next_from")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty() && n.len() <= 256)
                .map(str::to_owned);
            let mut finished = next.is_none() || list.is_empty();
            if let Some(left) = sweep.b {
                let left = left.saturating_sub(1);
                sweep.b = Some(left);
                finished |= left == 0;
            }
            if finished {
                entry.t = entry.t.max(sweep.a);
                let horizon = entry.t - SEARCH_OVERLAP;
                entry.e.retain(|(_, d)| *d >= horizon);
                if entry.e.len() > SEEN_CAP {
                    entry.e.sort_by_key(|e| std::cmp::Reverse(e.1));
                    entry.e.truncate(SEEN_CAP);
                }
                entry.s = None;
                return Ok(Step::Done);
            }
            sweep.n = next;
            entry.s = Some(sweep);
        }
    }
}

#[async_trait]
impl Poller for Vk {
    async fn poll(&self, cursor: Option<&str>) -> Result<Batch, ConnectorError> {
        let mut state = read_cursor(cursor)?;
        // Forget what is no longer configured.
        state
            .w
            .retain(|k, _| self.owner_ids.iter().any(|o| o.to_string() == *k));
        state.q.retain(|k, _| self.queries.iter().any(|q| q == k));
        state.v = 1;
        let mut run = Run {
            budget: self.max_requests,
            progress: false,
            batch: Batch::default(),
            taken: HashSet::new(),
            new_posts: Vec::new(),
            at: 0,
        };
        match self.run(&mut state, &mut run).await {
            Ok(Step::Done) => state.r = 0,
            Ok(Step::OutOfBudget) => state.r = run.at,
            Err(e @ (ConnectorError::RateLimited { .. } | ConnectorError::Transport(_))) => {
                if !run.progress {
                    return Err(e);
                }
                // Keep what was read; the next poll goes on from there.
                run.batch.more = false;
                state.r = run.at;
            }
            Err(e) => return Err(e),
        }
        // Posts taken before an early end still get their comments followed.
        if !run.new_posts.is_empty() {
            self.follow_new_posts(&mut state, &mut run);
        }
        let cursor = serde_json::to_string(&state)
            .map_err(|e| ConnectorError::Malformed(format!("cursor: {e}")))?;
        run.batch.cursor = Some(cursor);
        Ok(run.batch)
    }
}

#[async_trait]
impl Publisher for Vk {
    async fn publish(&self, target: &ReplyTarget, text: &str) -> Result<String, ConnectorError> {
        let ReplyTarget::VkWall { owner_id, post_id } = target else {
            return Err(ConnectorError::Refused {
                code: "wrong_target".into(),
                message: "not a VK wall post".into(),
            });
        };
        let mut params = vec![
            ("owner_id", owner_id.to_string()),
            ("post_id", post_id.to_string()),
            ("message", text.to_owned()),
        ];
        if let Some(group) = self.from_group {
            params.push(("from_group", group.to_string()));
        }
        let response = self.call("wall.createComment", &params).await?;
        match response.get("comment_id").and_then(Value::as_i64) {
            Some(id) => Ok(id.to_string()),
            None => Err(ConnectorError::Malformed("no comment_id".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use reqwest::StatusCode;

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status: StatusCode::from_u16(status).unwrap(),
            headers: Default::default(),
            body: body.as_bytes().to_vec(),
        }
    }

    fn connector_error(a: &Answer) -> ConnectorError {
        match read_answer(a) {
            Ok(v) => panic!("no error: {v}"),
            Err(e) => e.into(),
        }
    }

    #[test]
    fn errors_map_to_what_the_caller_does() {
        let e = connector_error(&answer(
            200,
            r#"{"error":{"error_code":6,"error_msg":"Too many requests per second","request_params":[]}}"#,
        ));
        assert!(
            matches!(e, ConnectorError::RateLimited { retry_after } if retry_after == Duration::from_secs(1))
        );
        for code in [9, 29] {
            let e = connector_error(&answer(
                200,
                &format!(r#"{{"error":{{"error_code":{code},"error_msg":"x"}}}}"#),
            ));
            assert_eq!(e.code(), "rate_limited");
        }
        for code in [5, 15, 18, 30] {
            let e = connector_error(&answer(
                200,
                &format!(r#"{{"error":{{"error_code":{code},"error_msg":"no"}}}}"#),
            ));
            assert!(
                matches!(&e, ConnectorError::Refused { code: c, .. } if *c == format!("vk_{code}")),
                "{e:?}"
            );
        }
        let e = connector_error(&answer(
            200,
            r#"{"error":{"error_code":10,"error_msg":"Internal"}}"#,
        ));
        assert_eq!(e.code(), "transport");
        assert_eq!(connector_error(&answer(200, "<html>")).code(), "malformed");
        assert_eq!(
            connector_error(&answer(200, r#"{"ok":1}"#)).code(),
            "malformed"
        );
        assert_eq!(
            connector_error(&answer(502, "bad gateway")).code(),
            "transport"
        );
        assert_eq!(connector_error(&answer(429, "")).code(), "rate_limited");
        assert!(read_answer(&answer(200, r#"{"response":{"count":0,"items":[]}}"#)).is_ok());
    }

    #[test]
    fn ids_and_posts() {
        assert_eq!(post_id(-123, 456), "-123_456");
        assert_eq!(comment_id(-123, 456, 789), "-123_456_c789");
        let vk = Vk::new(
            &VkSource {
                key: "vk".into(),
                api_base: Some("http://127.0.0.1:1/method".into()),
                token: "t".into(),
                owner_ids: vec![-123],
                queries: vec![],
                region: None,
                from_group: None,
                page_size: None,
                max_requests: None,
                backfill_pages: None,
                comment_posts: None,
                min_interval_ms: Some(0),
            },
            reqwest::Client::new(),
        )
        .unwrap();
        assert_eq!(vk.api_base.as_str(), "http://127.0.0.1:1/method/");
        let wire: WirePost = serde_json::from_str(
            r#"{"id":456,"owner_id":-123,"from_id":-123,"date":1700000000,"text":"","post_type":"post",
                "copy_history":[{"id":1,"owner_id":-9,"text":"Репост: нет света"}]}"#,
        )
        .unwrap();
        let post = vk.post(&wire).unwrap();
        assert_eq!(post.external_id, "-123_456");
        assert_eq!(post.url.as_deref(), Some("https://vk.com/wall-123_456"));
        assert_eq!(post.text, "Репост: нет света");
        assert_eq!(post.published_at, 1_700_000_000);
        assert_eq!(
            post.reply,
            ReplyTarget::VkWall {
                owner_id: -123,
                post_id: 456
            }
        );
        assert!(serde_json::from_str::<WirePost>(r#"{"id":1,"owner_id":-1,"text":5}"#).is_err());
        assert!(truthy(&Some(serde_json::json!(1))));
        assert!(!truthy(&Some(serde_json::json!(0))));
        assert!(!truthy(&None));
    }

    #[test]
    fn cursor_reads_back_and_refuses_garbage() {
        let mut c = Cursor::default();
        c.w.insert("-1".into(), WallState { l: 5, s: None });
        c.c.push(Followed(-1, 5, 7, 1_700_000_000));
        c.q.insert(
            "яма".into(),
            SearchState {
                t: 10,
                e: vec![("-1_5".into(), 10)],
                s: None,
            },
        );
        let s = serde_json::to_string(&c).unwrap();
        assert_eq!(
            s,
            r#"{"v":0,"w":{"-1":{"l":5}},"c":[[-1,5,7,1700000000]],"q":{"яма":{"t":10,"e":[["-1_5",10]]}}}"#
        );
        let back = read_cursor(Some(&s)).unwrap();
        assert_eq!(back.w["-1"].l, 5);
        assert!(matches!(
            read_cursor(Some("42")),
            Err(ConnectorError::Malformed(_))
        ));
        assert!(read_cursor(None).unwrap().w.is_empty());
    }
}

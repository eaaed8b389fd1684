//! Each connector against a local fake of its platform that speaks the platform's wire
//! format: pagination, the cursor's round trip, rate limits, refusals, hostile items,
//! unreadable answers, and publishing back (checked on the fake's side).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use otklik_connectors::{
    build_poller, build_publisher, http_client, Batch, ConnectorError, Poller, Publisher, Source,
    MAX_TEXT_BYTES,
};
use otklik_social::{Platform, ReplyTarget};
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    format!("http://{addr}")
}

fn source(v: Value) -> Source {
    serde_json::from_value(v).unwrap()
}

fn poller(s: &Source) -> Box<dyn Poller> {
    build_poller(s, &http_client().unwrap()).unwrap().unwrap()
}

fn publisher(s: &Source) -> Box<dyn Publisher> {
    build_publisher(s, &http_client().unwrap())
        .unwrap()
        .unwrap()
}

fn ids(batch: &Batch) -> Vec<&str> {
    batch.posts.iter().map(|p| p.external_id.as_str()).collect()
}

fn reasons(batch: &Batch) -> Vec<(Option<&str>, &str)> {
    batch
        .quarantined
        .iter()
        .map(|q| (q.external_id.as_deref(), q.reason.as_str()))
        .collect()
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn rate_limited(r: Result<Batch, ConnectorError>) -> Duration {
    match r {
        Err(ConnectorError::RateLimited { retry_after }) => retry_after,
        other => panic!("expected RateLimited, got {other:?}"),
    }
}

fn refused_code(r: Result<Batch, ConnectorError>) -> String {
    match r {
        Err(ConnectorError::Refused { code, .. }) => code,
        other => panic!("expected Refused, got {other:?}"),
    }
}

// ======================================================================== VK

/// What the fake VK answers instead of the real thing, once.
#[derive(Debug, Clone)]
enum VkFault {
    Error(i64),
    /// An error only for this wall's `wall.get`.
    WallError(i64, i64),
    /// An error only for this method.
    Method(&'static str, i64),
    Http429(u64),
    NotJson,
}

#[derive(Default)]
struct VkFake {
    /// owner → posts, newest first.
    walls: HashMap<i64, Vec<Value>>,
    /// (owner, post) → comments, oldest first.
    comments: HashMap<(i64, i64), Vec<Value>>,
    /// (owner, comment) → the replies in its thread, oldest first.
    threads: HashMap<(i64, i64), Vec<Value>>,
    /// Search results, newest first.
    found: Vec<Value>,
    faults: VecDeque<VkFault>,
    calls: Vec<(String, HashMap<String, String>)>,
}

type VkState = Arc<Mutex<VkFake>>;

fn vk_post(owner: i64, id: i64, date: i64, text: &str) -> Value {
    json!({"id": id, "owner_id": owner, "from_id": owner, "date": date, "post_type": "post",
           "text": text, "comments": {"count": 0, "can_post": 1}, "likes": {"count": 0}})
}

fn vk_comment(owner: i64, post: i64, id: i64, text: &str) -> Value {
    json!({"id": id, "from_id": 77, "post_id": post, "owner_id": owner, "parents_stack": [],
           "date": 1_700_000_000 + id, "text": text, "thread": {"count": 0, "items": []}})
}

fn vk_error(code: i64, msg: &str) -> Response {
    Json(json!({"error": {"error_code": code, "error_msg": msg, "request_params": []}}))
        .into_response()
}

fn param<T: std::str::FromStr>(p: &HashMap<String, String>, k: &str) -> Option<T> {
    p.get(k).and_then(|v| v.parse().ok())
}

async fn vk_method(
    State(state): State<VkState>,
    Path(method): Path<String>,
    Form(p): Form<HashMap<String, String>>,
) -> Response {
    let mut fake = state.lock().unwrap();
    fake.calls.push((method.clone(), p.clone()));
    if p.get("access_token").map(String::as_str) != Some("vk-token") {
        return vk_error(5, "User authorization failed: invalid access_token (4).");
    }
    assert_eq!(p.get("v").map(String::as_str), Some("5.199"));
    let owner: i64 = param(&p, "owner_id").unwrap_or(0);
    match fake.faults.front().cloned() {
        Some(VkFault::Error(code)) => {
            fake.faults.pop_front();
            return vk_error(code, "injected");
        }
        Some(VkFault::WallError(o, code)) if method == "wall.get" && o == owner => {
            fake.faults.pop_front();
            return vk_error(code, "injected");
        }
        Some(VkFault::Method(m, code)) if m == method => {
            fake.faults.pop_front();
            return vk_error(code, "injected");
        }
        Some(VkFault::Http429(secs)) => {
            fake.faults.pop_front();
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", secs.to_string())],
                "slow down",
            )
                .into_response();
        }
        Some(VkFault::NotJson) => {
            fake.faults.pop_front();
            return (StatusCode::OK, "<html><body>502 Bad Gateway</body></html>").into_response();
        }
        _ => {}
    }
    let count: usize = param(&p, "count").unwrap_or(20);
    assert!(count <= 100, "count {count}");
    match method.as_str() {
        "wall.get" => {
            let offset: usize = param(&p, "offset").unwrap_or(0);
            let posts = fake.walls.get(&owner).cloned().unwrap_or_default();
            let items: Vec<Value> = posts.iter().skip(offset).take(count).cloned().collect();
            Json(json!({"response": {"count": posts.len(), "items": items}})).into_response()
        }
        "wall.getComments" => {
            assert_eq!(p.get("sort").map(String::as_str), Some("asc"));
            let post_id: i64 = param(&p, "post_id").unwrap();
            let all = match param::<i64>(&p, "comment_id") {
                // One thread's replies.
                Some(comment) => fake
                    .threads
                    .get(&(owner, comment))
                    .cloned()
                    .unwrap_or_default(),
                // Top-level comments, each with the first replies of its thread.
                None => {
                    let first: usize = param(&p, "thread_items_count").unwrap_or(0);
                    let mut all = fake
                        .comments
                        .get(&(owner, post_id))
                        .cloned()
                        .unwrap_or_default();
                    for c in &mut all {
                        let Some(id) = c["id"].as_i64() else { continue };
                        if let Some(replies) = fake.threads.get(&(owner, id)) {
                            let items: Vec<Value> = replies.iter().take(first).cloned().collect();
                            c["thread"] = json!({"count": replies.len(), "items": items});
                        }
                    }
                    all
                }
            };
            // From start_comment_id, or the nearest earlier comment, on.
            let start = match param::<i64>(&p, "start_comment_id") {
                None => 0,
                Some(s) => all
                    .iter()
                    .rposition(|c| c["id"].as_i64().unwrap() <= s)
                    .unwrap_or(0),
            };
            let offset: usize = param(&p, "offset").unwrap_or(0);
            let items: Vec<Value> = all
                .iter()
                .skip(start + offset)
                .take(count)
                .cloned()
                .collect();
            Json(
                json!({"response": {"count": all.len(), "current_level_count": all.len(),
                                     "can_post": true, "items": items}}),
            )
            .into_response()
        }
        "newsfeed.search" => {
            let start_time: i64 = param(&p, "start_time").unwrap_or(0);
            let q = p.get("q").cloned().unwrap_or_default();
            let matching: Vec<Value> = fake
                .found
                .iter()
                .filter(|v| v["date"].as_i64().unwrap() >= start_time)
                .filter(|v| v["text"].as_str().is_none_or(|t| t.contains(&q)))
                .cloned()
                .collect();
            let from: usize = p
                .get("start_from")
                .and_then(|s| s.strip_prefix("n:"))
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let items: Vec<Value> = matching.iter().skip(from).take(count).cloned().collect();
            let mut response =
                json!({"items": items, "count": items.len(), "total_count": matching.len()});
            if from + count < matching.len() {
                response["next_from"] = json!(format!("n:{}", from + count));
            }
            Json(json!({ "response": response })).into_response()
        }
        "wall.createComment" => {
            let id = 9000 + fake.calls.len() as i64;
            Json(json!({"response": {"comment_id": id, "parents_stack": []}})).into_response()
        }
        _ => vk_error(3, "Unknown method passed"),
    }
}

async fn vk_fake() -> (VkState, String) {
    let state: VkState = Arc::default();
    let router = Router::new()
        .route("/method/{method}", post(vk_method))
        .with_state(state.clone());
    let base = serve(router).await;
    (state, format!("{base}/method/"))
}

fn vk_source(api_base: &str, extra: Value) -> Source {
    let mut v = json!({"kind": "vk", "key": "vk-test", "api_base": api_base, "token": "vk-token",
                       "owner_ids": [-1], "min_interval_ms": 0, "comment_posts": 0});
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    source(v)
}

/// Puts posts on a wall, newest first, ids `from..=to`.
fn fill_wall(fake: &VkState, owner: i64, ids: std::ops::RangeInclusive<i64>) {
    let mut f = fake.lock().unwrap();
    let wall = f.walls.entry(owner).or_default();
    for id in ids {
        let pinned_at = wall
            .iter()
            .position(|p| p.get("is_pinned").is_none())
            .unwrap_or(wall.len());
        wall.insert(
            pinned_at,
            vk_post(owner, id, now() - 1000 + id, &format!("Пост {id}")),
        );
    }
}

#[tokio::test]
async fn vk_walls_paginate_and_the_cursor_round_trips() {
    let (fake, base) = vk_fake().await;
    // An old post pinned on top.
    {
        let mut f = fake.lock().unwrap();
        let mut pinned = vk_post(-1, 1, now() - 5000, "Закреплённый пост");
        pinned["is_pinned"] = json!(1);
        f.walls.insert(-1, vec![pinned]);
    }
    fill_wall(&fake, -1, 2..=6);
    let src = vk_source(&base, json!({"page_size": 2, "backfill_pages": 5}));
    let vk = poller(&src);

    let first = vk.poll(None).await.unwrap();
    let mut got = ids(&first);
    got.sort();
    assert_eq!(got, ["-1_1", "-1_2", "-1_3", "-1_4", "-1_5", "-1_6"]);
    assert!(!first.more);
    let post = first
        .posts
        .iter()
        .find(|p| p.external_id == "-1_6")
        .unwrap();
    assert_eq!(post.url.as_deref(), Some("https://vk.com/wall-1_6"));
    assert_eq!(post.text, "Пост 6");
    assert_eq!(post.platform, Platform::Vk);
    assert_eq!(post.source, "vk-test");
    assert_eq!(
        post.reply,
        ReplyTarget::VkWall {
            owner_id: -1,
            post_id: 6
        }
    );
    let walls: Vec<_> = fake
        .lock()
        .unwrap()
        .calls
        .iter()
        .map(|(m, p)| (m.clone(), p["offset"].clone()))
        .collect();
    assert_eq!(walls.len(), 3, "three pages of two: {walls:?}");
    let cursor = first.cursor.clone().unwrap();
    assert!(cursor.len() < 200, "{cursor}");

    // Nothing new: one request, nothing repeated (not even the pinned post).
    fake.lock().unwrap().calls.clear();
    let again = vk.poll(Some(&cursor)).await.unwrap();
    assert!(again.posts.is_empty(), "{:?}", ids(&again));
    assert_eq!(fake.lock().unwrap().calls.len(), 1);
    let cursor = again.cursor.unwrap();

    // Three new posts: two pages, stopping at the last one taken.
    fill_wall(&fake, -1, 7..=9);
    let third = vk.poll(Some(&cursor)).await.unwrap();
    assert_eq!(ids(&third), ["-1_9", "-1_8", "-1_7"]);
    let cursor = third.cursor.unwrap();
    assert!(vk.poll(Some(&cursor)).await.unwrap().posts.is_empty());
}

#[tokio::test]
async fn vk_a_long_backlog_spreads_over_polls_without_repeats() {
    let (fake, base) = vk_fake().await;
    fill_wall(&fake, -1, 1..=3);
    let src = vk_source(
        &base,
        json!({"page_size": 2, "max_requests": 1, "backfill_pages": 1}),
    );
    let vk = poller(&src);
    // First read: one page (backfill_pages = 1).
    let first = vk.poll(None).await.unwrap();
    assert_eq!(ids(&first), ["-1_3", "-1_2"]);
    let mut cursor = first.cursor.unwrap();

    // Seven new posts, one request per poll: the sweep goes on across polls, and a post
    // arriving in the middle moves the offsets without making anything repeat.
    fill_wall(&fake, -1, 4..=10);
    let mut seen: Vec<String> = Vec::new();
    let mut polls = 0;
    loop {
        polls += 1;
        assert!(polls < 20);
        let batch = vk.poll(Some(&cursor)).await.unwrap();
        seen.extend(batch.posts.iter().map(|p| p.external_id.clone()));
        cursor = batch.cursor.unwrap();
        if polls == 2 {
            fill_wall(&fake, -1, 11..=11);
        }
        if !batch.more {
            break;
        }
    }
    let batch = vk.poll(Some(&cursor)).await.unwrap();
    seen.extend(batch.posts.iter().map(|p| p.external_id.clone()));
    let mut sorted = seen.clone();
    sorted.sort_by_key(|s| s[3..].parse::<i64>().unwrap());
    sorted.dedup();
    assert_eq!(sorted.len(), seen.len(), "repeated: {seen:?}");
    let expected: Vec<String> = (4..=11).map(|i| format!("-1_{i}")).collect();
    assert_eq!(sorted, expected);
}

#[tokio::test]
async fn vk_a_small_budget_takes_every_wall_in_turn() {
    let (fake, base) = vk_fake().await;
    for owner in [-1, -2, -3] {
        fill_wall(&fake, owner, 1..=1);
    }
    let vk = poller(&vk_source(
        &base,
        json!({"owner_ids": [-1, -2, -3], "max_requests": 1}),
    ));
    let mut cursor: Option<String> = None;
    let mut seen = Vec::new();
    for _ in 0..3 {
        let batch = vk.poll(cursor.as_deref()).await.unwrap();
        assert!(batch.more);
        seen.extend(batch.posts.iter().map(|p| p.external_id.clone()));
        cursor = batch.cursor;
    }
    assert_eq!(seen, ["-1_1", "-2_1", "-3_1"]);
    // New posts on the first and the last wall: both come, in turn.
    fill_wall(&fake, -3, 2..=2);
    fill_wall(&fake, -1, 2..=2);
    let mut more = Vec::new();
    for _ in 0..3 {
        let batch = vk.poll(cursor.as_deref()).await.unwrap();
        more.extend(batch.posts.iter().map(|p| p.external_id.clone()));
        cursor = batch.cursor;
    }
    more.sort();
    assert_eq!(more, ["-1_2", "-3_2"]);
}

#[tokio::test]
async fn vk_comments_of_recent_posts() {
    let (fake, base) = vk_fake().await;
    fill_wall(&fake, -1, 10..=10);
    {
        let mut f = fake.lock().unwrap();
        let mut comments = vec![
            vk_comment(-1, 10, 1, "Когда починят?"),
            vk_comment(-1, 10, 2, ""),
            vk_comment(-1, 10, 3, "Третий день без воды"),
        ];
        comments[1] = json!({"id": 2, "deleted": true});
        f.comments.insert((-1, 10), comments);
        // Replies in the thread of comment 3 come with it: one readable, one of a shape
        // nobody expects (quarantined), one deleted.
        f.threads.insert(
            (-1, 3),
            vec![
                vk_comment(-1, 10, 6, "И у нас в подъезде тоже нет воды"),
                json!({"id": "seven", "text": []}),
                json!({"id": 8, "deleted": 1}),
            ],
        );
    }
    let src = vk_source(&base, json!({"comment_posts": 5, "page_size": 2}));
    let vk = poller(&src);
    let first = vk.poll(None).await.unwrap();
    assert_eq!(ids(&first), ["-1_10", "-1_10_c1", "-1_10_c3", "-1_10_c6"]);
    assert_eq!(
        first.posts[3].url.as_deref(),
        Some("https://vk.com/wall-1_10?reply=6&thread=3")
    );
    assert_eq!(first.quarantined.len(), 1, "{:?}", first.quarantined);
    assert!(fake
        .lock()
        .unwrap()
        .calls
        .iter()
        .filter(|(m, _)| m == "wall.getComments")
        .all(|(_, p)| p.get("thread_items_count").map(String::as_str) == Some("10")));
    let c = &first.posts[1];
    assert_eq!(c.url.as_deref(), Some("https://vk.com/wall-1_10?reply=1"));
    assert_eq!(
        c.reply,
        ReplyTarget::VkWall {
            owner_id: -1,
            post_id: 10
        }
    );
    assert_eq!(c.published_at, 1_700_000_001);
    let cursor = first.cursor.unwrap();

    {
        let mut f = fake.lock().unwrap();
        let list = f.comments.get_mut(&(-1, 10)).unwrap();
        list.push(vk_comment(-1, 10, 4, "Четвёртый"));
        list.push(vk_comment(-1, 10, 5, "Пятый"));
        f.calls.clear();
    }
    let second = vk.poll(Some(&cursor)).await.unwrap();
    assert_eq!(ids(&second), ["-1_10_c4", "-1_10_c5"]);
    let calls = fake.lock().unwrap().calls.clone();
    let comment_calls: Vec<_> = calls
        .iter()
        .filter(|(m, _)| m == "wall.getComments")
        .collect();
    // From the oldest watched comment, so its thread's replies are seen again.
    assert_eq!(
        comment_calls[0]
            .1
            .get("start_comment_id")
            .map(String::as_str),
        Some("1")
    );
    let cursor = second.cursor.unwrap();
    let quiet = vk.poll(Some(&cursor)).await.unwrap();
    assert!(quiet.posts.is_empty() && quiet.quarantined.is_empty());
    let cursor = quiet.cursor.unwrap();

    // Late replies: one in comment 1's short thread; comment 3's thread grows to 13, past
    // the 10 that come with the comment, so the rest is read with `comment_id`.
    {
        let mut f = fake.lock().unwrap();
        f.threads.insert(
            (-1, 1),
            vec![vk_comment(-1, 10, 9, "Уже третью неделю так")],
        );
        let thread = f.threads.get_mut(&(-1, 3)).unwrap();
        for id in 11..=20 {
            thread.push(vk_comment(-1, 10, id, &format!("Ответ {id}")));
        }
        f.calls.clear();
    }
    let late = vk.poll(Some(&cursor)).await.unwrap();
    let mut got = ids(&late);
    got.sort();
    let mut want: Vec<String> = [9, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]
        .iter()
        .map(|id| format!("-1_10_c{id}"))
        .collect();
    want.sort();
    assert_eq!(got, want);
    assert!(late.quarantined.is_empty());
    let calls = fake.lock().unwrap().calls.clone();
    assert!(
        calls
            .iter()
            .any(|(_, p)| p.get("comment_id").map(String::as_str) == Some("3")),
        "{calls:?}"
    );
    let cursor = late.cursor.unwrap();
    assert!(vk.poll(Some(&cursor)).await.unwrap().posts.is_empty());

    // Comments closed (error 212): the post is let go, the poll goes on.
    fake.lock()
        .unwrap()
        .faults
        .push_back(VkFault::Method("wall.getComments", 212));
    let closed = vk.poll(Some(&cursor)).await.unwrap();
    assert!(closed.posts.is_empty());
    fake.lock().unwrap().calls.clear();
    let after = vk.poll(closed.cursor.as_deref()).await.unwrap();
    assert!(after.posts.is_empty());
    let calls = fake.lock().unwrap().calls.clone();
    assert!(
        calls.iter().all(|(m, _)| m != "wall.getComments"),
        "{calls:?}"
    );
}

#[tokio::test]
async fn vk_keyword_search_with_next_from() {
    let (fake, base) = vk_fake().await;
    let t = now();
    {
        let mut f = fake.lock().unwrap();
        for (i, owner) in [(5, 100), (4, -7), (3, 101), (2, 102), (1, -8)] {
            f.found.push(vk_post(
                owner,
                i,
                t - 600 + i,
                &format!("яма на дороге {i}"),
            ));
        }
    }
    let src = vk_source(
        &base,
        json!({"owner_ids": [], "queries": ["яма"], "page_size": 2, "backfill_pages": 5}),
    );
    let vk = poller(&src);
    let first = vk.poll(None).await.unwrap();
    assert_eq!(ids(&first), ["100_5", "-7_4", "101_3", "102_2", "-8_1"]);
    assert_eq!(
        first.posts[0].url.as_deref(),
        Some("https://vk.com/wall100_5")
    );
    let calls = fake.lock().unwrap().calls.clone();
    assert_eq!(calls.len(), 3);
    assert_eq!(
        calls[1].1.get("start_from").map(String::as_str),
        Some("n:2")
    );
    let start_time: i64 = calls[0].1["start_time"].parse().unwrap();
    assert!(start_time <= t - 600 && start_time >= t - 25 * 3600);
    let cursor = first.cursor.unwrap();

    // The overlap brings the same posts back; none is repeated.
    let again = vk.poll(Some(&cursor)).await.unwrap();
    assert!(again.posts.is_empty(), "{:?}", ids(&again));
    let cursor = again.cursor.unwrap();

    fake.lock()
        .unwrap()
        .found
        .insert(0, vk_post(103, 6, t, "новая яма"));
    let third = vk.poll(Some(&cursor)).await.unwrap();
    assert_eq!(ids(&third), ["103_6"]);
}

#[tokio::test]
async fn vk_rate_limits_refusals_and_garbage() {
    let (fake, base) = vk_fake().await;
    fill_wall(&fake, -1, 1..=2);
    let vk = poller(&vk_source(&base, json!({})));

    fake.lock().unwrap().faults.push_back(VkFault::Error(6));
    assert_eq!(rate_limited(vk.poll(None).await), Duration::from_secs(1));
    fake.lock().unwrap().faults.push_back(VkFault::Error(9));
    assert_eq!(rate_limited(vk.poll(None).await), Duration::from_secs(60));
    fake.lock().unwrap().faults.push_back(VkFault::Error(29));
    assert_eq!(rate_limited(vk.poll(None).await), Duration::from_secs(3600));
    fake.lock().unwrap().faults.push_back(VkFault::Http429(7));
    assert_eq!(rate_limited(vk.poll(None).await), Duration::from_secs(7));

    for code in [15, 18, 30] {
        fake.lock().unwrap().faults.push_back(VkFault::Error(code));
        assert_eq!(refused_code(vk.poll(None).await), format!("vk_{code}"));
    }
    let bad_token = poller(&source(
        json!({"kind": "vk", "key": "vk-test", "api_base": base,
        "token": "wrong", "owner_ids": [-1], "min_interval_ms": 0}),
    ));
    assert_eq!(refused_code(bad_token.poll(None).await), "vk_5");

    fake.lock().unwrap().faults.push_back(VkFault::NotJson);
    assert!(matches!(
        vk.poll(None).await,
        Err(ConnectorError::Malformed(_))
    ));
    assert!(matches!(
        vk.poll(Some("not a cursor")).await,
        Err(ConnectorError::Malformed(_))
    ));
    // And after all that, it reads.
    assert_eq!(ids(&vk.poll(None).await.unwrap()), ["-1_2", "-1_1"]);
}

#[tokio::test]
async fn vk_a_rate_limit_midway_keeps_what_was_read() {
    let (fake, base) = vk_fake().await;
    fill_wall(&fake, -1, 1..=2);
    fill_wall(&fake, -2, 1..=3);
    let vk = poller(&vk_source(&base, json!({"owner_ids": [-1, -2]})));
    fake.lock()
        .unwrap()
        .faults
        .push_back(VkFault::WallError(-2, 6));
    let partial = vk.poll(None).await.unwrap();
    assert_eq!(ids(&partial), ["-1_2", "-1_1"]);
    let rest = vk.poll(partial.cursor.as_deref()).await.unwrap();
    assert_eq!(ids(&rest), ["-2_3", "-2_2", "-2_1"]);
    assert!(vk
        .poll(rest.cursor.as_deref())
        .await
        .unwrap()
        .posts
        .is_empty());
}

#[tokio::test]
async fn vk_hostile_posts_are_quarantined_one_by_one() {
    let (fake, base) = vk_fake().await;
    {
        let mut f = fake.lock().unwrap();
        let t = now();
        f.walls.insert(
            -1,
            vec![
                vk_post(-1, 6, t, "Нормальный пост"),
                json!({"id": 5, "owner_id": -1, "date": t, "text": 12345}),
                vk_post(-1, 4, t, &"я".repeat(MAX_TEXT_BYTES)),
                vk_post(-1, 3, t, "\u{0}\u{0}\u{0}\u{0}\u{1}\u{2}"),
                json!({"owner_id": -1, "text": "без id"}),
                json!([[[["вложенный мусор"]]]]),
                vk_post(-1, 1, t, "Тоже нормальный"),
            ],
        );
    }
    let vk = poller(&vk_source(&base, json!({})));
    let batch = vk.poll(None).await.unwrap();
    assert_eq!(ids(&batch), ["-1_6", "-1_1"]);
    assert_eq!(
        reasons(&batch),
        [
            (Some("-1_5"), "bad_shape"),
            (Some("-1_4"), "too_large"),
            (Some("-1_3"), "not_text"),
            (None, "bad_shape"),
            (None, "bad_shape"),
        ]
    );
    assert!(batch
        .quarantined
        .iter()
        .all(|q| q.excerpt.len() <= 2048 && q.source == "vk-test"));
}

#[tokio::test]
async fn vk_publishes_a_comment() {
    let (fake, base) = vk_fake().await;
    let vk = publisher(&vk_source(&base, json!({"from_group": 1})));
    let id = vk
        .publish(
            &ReplyTarget::VkWall {
                owner_id: -1,
                post_id: 10,
            },
            "Заявка передана в управу",
        )
        .await
        .unwrap();
    let calls = fake.lock().unwrap().calls.clone();
    let (method, p) = calls.last().unwrap();
    assert_eq!(method, "wall.createComment");
    assert_eq!(p["owner_id"], "-1");
    assert_eq!(p["post_id"], "10");
    assert_eq!(p["message"], "Заявка передана в управу");
    assert_eq!(p["from_group"], "1");
    assert_eq!(p["access_token"], "vk-token");
    assert_eq!(id, format!("{}", 9000 + calls.len()));
    let wrong = vk
        .publish(
            &ReplyTarget::Telegram {
                chat_id: 1,
                message_id: 2,
            },
            "x",
        )
        .await;
    assert!(matches!(wrong, Err(ConnectorError::Refused { .. })));
    fake.lock().unwrap().faults.push_back(VkFault::Error(15));
    let refused = vk
        .publish(
            &ReplyTarget::VkWall {
                owner_id: -1,
                post_id: 10,
            },
            "x",
        )
        .await;
    assert!(matches!(refused, Err(ConnectorError::Refused { code, .. }) if code == "vk_15"));
}

// ================================================================== Telegram

#[derive(Default)]
struct TgFake {
    updates: Vec<Value>,
    /// An error answer (status, body) given once.
    fault: Option<(StatusCode, String)>,
    requests: Vec<(String, Value)>,
}

type TgState = Arc<Mutex<TgFake>>;

const TG_TOKEN: &str = "123456:ABC-def";

async fn tg_method(
    State(state): State<TgState>,
    Path((bot, method)): Path<(String, String)>,
    Json(body): Json<Value>,
) -> Response {
    let mut fake = state.lock().unwrap();
    fake.requests.push((method.clone(), body.clone()));
    if bot != format!("bot{TG_TOKEN}") {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"ok": false, "error_code": 401, "description": "Unauthorized"})),
        )
            .into_response();
    }
    if let Some((status, text)) = fake.fault.take() {
        return (status, text).into_response();
    }
    match method.as_str() {
        "getUpdates" => {
            assert_eq!(body["timeout"], 0);
            assert_eq!(
                body["allowed_updates"],
                json!([
                    "message",
                    "channel_post",
                    "edited_message",
                    "edited_channel_post"
                ])
            );
            // Asking with an offset confirms everything before it.
            if let Some(offset) = body["offset"].as_i64() {
                fake.updates
                    .retain(|u| u["update_id"].as_i64().is_none_or(|id| id >= offset));
            }
            let limit = body["limit"].as_u64().unwrap_or(100) as usize;
            let result: Vec<Value> = fake.updates.iter().take(limit).cloned().collect();
            Json(json!({"ok": true, "result": result})).into_response()
        }
        "sendMessage" => Json(json!({"ok": true, "result": {
            "message_id": 777, "date": 1_700_000_000,
            "chat": {"id": body["chat_id"], "type": "supergroup"}, "text": body["text"]}}))
        .into_response(),
        _ => (
            StatusCode::NOT_FOUND,
            Json(json!({"ok": false, "error_code": 404, "description": "Not Found"})),
        )
            .into_response(),
    }
}

async fn tg_fake() -> (TgState, String) {
    let state: TgState = Arc::default();
    let router = Router::new()
        .route("/{bot}/{method}", post(tg_method))
        .with_state(state.clone());
    (state, serve(router).await)
}

fn tg_source(api_base: &str, limit: u32) -> Source {
    source(
        json!({"kind": "telegram", "key": "tg-test", "api_base": api_base, "token": TG_TOKEN,
                  "limit": limit}),
    )
}

fn tg_message(update_id: i64, message_id: i64, text: Value) -> Value {
    json!({"update_id": update_id, "channel_post": {
        "message_id": message_id, "date": 1_700_000_000 + message_id,
        "chat": {"id": -1001, "type": "channel", "title": "Город", "username": "gorod_news"},
        "text": text}})
}

#[tokio::test]
async fn telegram_pages_and_offsets() {
    let (fake, base) = tg_fake().await;
    {
        let mut f = fake.lock().unwrap();
        for i in 1..=4 {
            f.updates
                .push(tg_message(100 + i, i, json!(format!("Сообщение {i}"))));
        }
        // A sticker: no text, but its update is confirmed all the same.
        f.updates.push(
            json!({"update_id": 105, "message": {"message_id": 9, "date": 1,
            "chat": {"id": 5, "type": "private"}, "sticker": {"file_id": "x"}}}),
        );
    }
    let tg = poller(&tg_source(&base, 2));

    let first = tg.poll(None).await.unwrap();
    assert_eq!(ids(&first), ["-1001:1", "-1001:2"]);
    assert!(first.more);
    assert_eq!(first.cursor.as_deref(), Some("103"));
    let post = &first.posts[0];
    assert_eq!(post.url.as_deref(), Some("https://t.me/gorod_news/1"));
    assert_eq!(post.published_at, 1_700_000_001);
    assert_eq!(
        post.reply,
        ReplyTarget::Telegram {
            chat_id: -1001,
            message_id: 1
        }
    );
    assert!(fake.lock().unwrap().requests[0].1.get("offset").is_none());

    let second = tg.poll(first.cursor.as_deref()).await.unwrap();
    assert_eq!(ids(&second), ["-1001:3", "-1001:4"]);
    assert_eq!(fake.lock().unwrap().requests[1].1["offset"], 103);
    let third = tg.poll(second.cursor.as_deref()).await.unwrap();
    assert!(third.posts.is_empty());
    assert_eq!(third.cursor.as_deref(), Some("106"));
    assert!(!third.more);

    // Nothing new: the cursor stays.
    let idle = tg.poll(third.cursor.as_deref()).await.unwrap();
    assert!(idle.posts.is_empty());
    assert_eq!(idle.cursor, None);

    fake.lock()
        .unwrap()
        .updates
        .push(tg_message(106, 10, json!("Новое")));
    let fresh = tg.poll(third.cursor.as_deref()).await.unwrap();
    assert_eq!(ids(&fresh), ["-1001:10"]);
    assert_eq!(fresh.cursor.as_deref(), Some("107"));
}

#[tokio::test]
async fn telegram_rate_limits_refusals_and_garbage() {
    let (fake, base) = tg_fake().await;
    let tg = poller(&tg_source(&base, 100));
    fake.lock().unwrap().fault = Some((
        StatusCode::TOO_MANY_REQUESTS,
        r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 13","parameters":{"retry_after":13}}"#.into(),
    ));
    assert_eq!(rate_limited(tg.poll(None).await), Duration::from_secs(13));

    fake.lock().unwrap().fault = Some((
        StatusCode::FORBIDDEN,
        r#"{"ok":false,"error_code":403,"description":"Forbidden: bot was kicked"}"#.into(),
    ));
    assert_eq!(refused_code(tg.poll(None).await), "telegram_403");
    fake.lock().unwrap().fault = Some((
        StatusCode::CONFLICT,
        r#"{"ok":false,"error_code":409,"description":"Conflict: can't use getUpdates method while webhook is active"}"#.into(),
    ));
    assert_eq!(refused_code(tg.poll(None).await), "telegram_409");
    let wrong = poller(&source(
        json!({"kind": "telegram", "key": "tg", "api_base": base, "token": "1:wrong"}),
    ));
    assert_eq!(refused_code(wrong.poll(None).await), "telegram_401");

    fake.lock().unwrap().fault = Some((StatusCode::OK, "<html>captive portal</html>".into()));
    assert!(matches!(
        tg.poll(None).await,
        Err(ConnectorError::Malformed(_))
    ));
    fake.lock().unwrap().fault = Some((
        StatusCode::OK,
        r#"{"ok":true,"result":{"not":"a list"}}"#.into(),
    ));
    assert!(matches!(
        tg.poll(None).await,
        Err(ConnectorError::Malformed(_))
    ));
    fake.lock().unwrap().fault = Some((StatusCode::BAD_GATEWAY, "<html>502</html>".into()));
    assert!(matches!(
        tg.poll(None).await,
        Err(ConnectorError::Transport(_))
    ));
    assert!(matches!(
        tg.poll(Some("{}")).await,
        Err(ConnectorError::Malformed(_))
    ));
}

#[tokio::test]
async fn telegram_hostile_updates_are_quarantined_and_passed() {
    let (fake, base) = tg_fake().await;
    {
        let mut f = fake.lock().unwrap();
        f.updates = vec![
            tg_message(1, 1, json!("Хорошее")),
            tg_message(2, 2, json!(42)),
            tg_message(3, 3, json!("ы".repeat(MAX_TEXT_BYTES / 2 + 1))),
            tg_message(4, 4, json!("\u{0}\u{0}\u{FFFD}\u{FFFD}")),
            json!({"update_id": 5, "channel_post": {"chat": "garbage"}}),
            json!({"no_update_id": true}),
            tg_message(7, 7, json!("Тоже хорошее")),
        ];
    }
    let tg = poller(&tg_source(&base, 100));
    let batch = tg.poll(None).await.unwrap();
    assert_eq!(ids(&batch), ["-1001:1", "-1001:7"]);
    assert_eq!(
        reasons(&batch),
        [
            (Some("-1001:2"), "bad_shape"),
            (Some("-1001:3"), "too_large"),
            (Some("-1001:4"), "not_text"),
            (None, "bad_shape"),
            (None, "bad_shape"),
        ]
    );
    // Past all of them.
    assert_eq!(batch.cursor.as_deref(), Some("8"));
    assert!(tg
        .poll(batch.cursor.as_deref())
        .await
        .unwrap()
        .posts
        .is_empty());
}

#[tokio::test]
async fn telegram_publishes_a_reply() {
    let (fake, base) = tg_fake().await;
    let tg = publisher(&tg_source(&base, 100));
    let id = tg
        .publish(
            &ReplyTarget::Telegram {
                chat_id: -1001,
                message_id: 5,
            },
            "Ответ: бригада выехала",
        )
        .await
        .unwrap();
    assert_eq!(id, "777");
    let (method, body) = fake.lock().unwrap().requests.last().cloned().unwrap();
    assert_eq!(method, "sendMessage");
    assert_eq!(body["chat_id"], -1001);
    assert_eq!(body["text"], "Ответ: бригада выехала");
    assert_eq!(body["reply_parameters"]["message_id"], 5);
    let too_long = tg
        .publish(
            &ReplyTarget::Telegram {
                chat_id: 1,
                message_id: 1,
            },
            &"x".repeat(5000),
        )
        .await;
    assert!(matches!(too_long, Err(ConnectorError::Refused { .. })));
    fake.lock().unwrap().fault = Some((
        StatusCode::TOO_MANY_REQUESTS,
        r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 3","parameters":{"retry_after":3}}"#.into(),
    ));
    let limited = tg
        .publish(
            &ReplyTarget::Telegram {
                chat_id: 1,
                message_id: 1,
            },
            "x",
        )
        .await;
    assert!(
        matches!(limited, Err(ConnectorError::RateLimited { retry_after }) if retry_after == Duration::from_secs(3))
    );
}

#[tokio::test]
async fn telegram_webhook_mode_has_no_poller() {
    let src = source(
        json!({"kind": "telegram", "key": "tg", "token": TG_TOKEN, "mode": "webhook",
                            "secret": "s3cret_s3cret_s3cret"}),
    );
    assert!(build_poller(&src, &http_client().unwrap())
        .unwrap()
        .is_none());
    assert!(build_publisher(&src, &http_client().unwrap())
        .unwrap()
        .is_some());
    let body = serde_json::to_vec(&tg_message(1, 2, json!("Из вебхука"))).unwrap();
    assert!(otklik_connectors::telegram::verify_webhook_secret(
        "s3cret_s3cret_s3cret",
        Some("s3cret_s3cret_s3cret")
    ));
    let post = otklik_connectors::telegram::parse_webhook_update("tg", &body)
        .unwrap()
        .unwrap();
    assert_eq!(post.external_id, "-1001:2");
}

// ======================================================================= RSS

#[derive(Default)]
struct FeedFake {
    body: String,
    content_type: String,
    etag: Option<String>,
    last_modified: Option<String>,
    fault: Option<FeedFault>,
    requests: Vec<HeaderMap>,
}

type FeedState = Arc<Mutex<FeedFake>>;

/// An answer given once instead of the feed: status, headers, body.
type FeedFault = (StatusCode, Vec<(String, String)>, String);

async fn feed_handler(State(state): State<FeedState>, headers: HeaderMap) -> Response {
    let mut fake = state.lock().unwrap();
    fake.requests.push(headers.clone());
    if let Some((status, hs, body)) = fake.fault.take() {
        let mut r = (status, body).into_response();
        for (k, v) in hs {
            r.headers_mut().insert(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        return r;
    }
    let inm = headers.get("if-none-match").and_then(|v| v.to_str().ok());
    let ims = headers
        .get("if-modified-since")
        .and_then(|v| v.to_str().ok());
    let fresh = match (&fake.etag, inm, &fake.last_modified, ims) {
        (Some(e), Some(i), _, _) => e == i,
        (None, None, Some(l), Some(i)) => l == i,
        _ => false,
    };
    let mut r = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            StatusCode::OK,
            [("content-type", fake.content_type.clone())],
            fake.body.clone(),
        )
            .into_response()
    };
    if let Some(e) = &fake.etag {
        r.headers_mut().insert("etag", e.parse().unwrap());
    }
    if let Some(l) = &fake.last_modified {
        r.headers_mut().insert("last-modified", l.parse().unwrap());
    }
    r
}

async fn feed_fake() -> (FeedState, String) {
    let state: FeedState = Arc::default();
    let router = Router::new()
        .route("/feed", get(feed_handler))
        .with_state(state.clone());
    let base = serve(router).await;
    (state, format!("{base}/feed"))
}

fn rss_doc(items: &[(&str, &str, &str)]) -> String {
    let items: String = items
        .iter()
        .map(|(guid, title, description)| {
            format!(
                "<item><title>{title}</title><link>https://news.example/{guid}</link>\
                 <guid isPermaLink=\"false\">{guid}</guid><description>{description}</description>\
                 <pubDate>Mon, 15 Jan 2024 10:00:00 GMT</pubDate></item>"
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel><title>Новости</title>\
         <link>https://news.example/</link>{items}</channel></rss>"
    )
}

fn atom_doc(entries: &[(&str, &str, &str)]) -> String {
    let entries: String = entries
        .iter()
        .map(|(id, title, summary)| {
            format!(
                "<entry><id>{id}</id><title type=\"html\">{title}</title>\
                 <link rel=\"alternate\" href=\"https://atom.example/{id}\"/>\
                 <summary type=\"html\">{summary}</summary><updated>2024-01-15T10:00:00Z</updated></entry>"
            )
        })
        .collect();
    format!("<?xml version=\"1.0\" encoding=\"utf-8\"?><feed xmlns=\"http://www.w3.org/2005/Atom\"><title>Лента</title>{entries}</feed>")
}

fn rss_source(url: &str) -> Source {
    source(json!({"kind": "rss", "key": "news", "url": url, "region": "RU-SVE"}))
}

#[tokio::test]
async fn rss_conditional_requests_and_no_repeats() {
    let (fake, url) = feed_fake().await;
    {
        let mut f = fake.lock().unwrap();
        f.body = rss_doc(&[
            (
                "n2",
                "Второе",
                "&lt;p&gt;Текст &amp;amp; ещё &amp;#8212; всё&lt;/p&gt;",
            ),
            ("n1", "Первое", "<![CDATA[<b>Жирно</b> &laquo;так&raquo;]]>"),
        ]);
        f.content_type = "application/rss+xml; charset=utf-8".into();
        f.etag = Some("\"v1\"".into());
    }
    let feed = poller(&rss_source(&url));
    let first = feed.poll(None).await.unwrap();
    assert_eq!(ids(&first), ["n2", "n1"]);
    assert_eq!(first.posts[0].text, "Второе\n\nТекст & ещё — всё");
    assert_eq!(first.posts[1].text, "Первое\n\nЖирно «так»");
    assert_eq!(
        first.posts[0].url.as_deref(),
        Some("https://news.example/n2")
    );
    assert_eq!(first.posts[0].published_at, 1_705_312_800);
    assert_eq!(first.posts[0].reply, ReplyTarget::None);
    assert_eq!(first.posts[0].platform, Platform::Rss);
    let cursor = first.cursor.unwrap();
    assert!(cursor.contains("\\\"v1\\\""), "{cursor}");

    // Unchanged: 304, an empty batch with the same cursor.
    let same = feed.poll(Some(&cursor)).await.unwrap();
    assert!(same.posts.is_empty());
    assert_eq!(same.cursor.as_deref(), Some(cursor.as_str()));
    assert_eq!(fake.lock().unwrap().requests[1]["if-none-match"], "\"v1\"");

    // One new item on top: only it.
    {
        let mut f = fake.lock().unwrap();
        f.body = rss_doc(&[
            ("n3", "Третье", "Новое"),
            ("n2", "Второе", "Текст"),
            ("n1", "Первое", "Текст"),
        ]);
        f.etag = Some("\"v2\"".into());
    }
    let third = feed.poll(Some(&cursor)).await.unwrap();
    assert_eq!(ids(&third), ["n3"]);
    // A server that lost its ETag and answers in full: still nothing repeated.
    fake.lock().unwrap().etag = None;
    let fourth = feed.poll(third.cursor.as_deref()).await.unwrap();
    assert!(fourth.posts.is_empty());
}

#[tokio::test]
async fn rss_last_modified_validator() {
    let (fake, url) = feed_fake().await;
    {
        let mut f = fake.lock().unwrap();
        f.body = rss_doc(&[("a", "A", "a")]);
        f.content_type = "text/xml".into();
        f.last_modified = Some("Mon, 15 Jan 2024 10:00:00 GMT".into());
    }
    let feed = poller(&rss_source(&url));
    let first = feed.poll(None).await.unwrap();
    assert_eq!(ids(&first), ["a"]);
    let cursor = first.cursor.unwrap();
    let second = feed.poll(Some(&cursor)).await.unwrap();
    assert_eq!(second.cursor.as_deref(), Some(cursor.as_str()));
    assert_eq!(
        fake.lock().unwrap().requests[1]["if-modified-since"],
        "Mon, 15 Jan 2024 10:00:00 GMT"
    );
}

#[tokio::test]
async fn atom_feed_round_trip() {
    let (fake, url) = feed_fake().await;
    {
        let mut f = fake.lock().unwrap();
        f.body = atom_doc(&[
            ("urn:2", "&lt;b&gt;Снег&lt;/b&gt;", "Двор &amp;amp; улица"),
            ("urn:1", "Фонари", "Не горят"),
        ]);
        f.content_type = "application/atom+xml".into();
        f.etag = Some("W/\"a1\"".into());
    }
    let feed = poller(&rss_source(&url));
    let first = feed.poll(None).await.unwrap();
    assert_eq!(ids(&first), ["urn:2", "urn:1"]);
    assert_eq!(first.posts[0].text, "Снег\n\nДвор & улица");
    assert_eq!(
        first.posts[0].url.as_deref(),
        Some("https://atom.example/urn:2")
    );
    assert_eq!(first.posts[0].published_at, 1_705_312_800);
    let same = feed.poll(first.cursor.as_deref()).await.unwrap();
    assert!(same.posts.is_empty());
    {
        let mut f = fake.lock().unwrap();
        f.body = atom_doc(&[("urn:3", "Новое", "x"), ("urn:2", "Снег", "y")]);
        f.etag = Some("W/\"a2\"".into());
    }
    let next = feed.poll(first.cursor.as_deref()).await.unwrap();
    assert_eq!(ids(&next), ["urn:3"]);
}

#[tokio::test]
async fn rss_hostile_items_and_unreadable_answers() {
    let (fake, url) = feed_fake().await;
    let huge = "Очень длинно. ".repeat(MAX_TEXT_BYTES / 10);
    {
        let mut f = fake.lock().unwrap();
        f.body = rss_doc(&[
            ("ok1", "Хорошо", "Текст"),
            ("big", "Огромное", &huge),
            ("nul", "&#0;&#0;&#0;&#0;&#0;", "&#0;&#0;&#0;"),
            ("ok2", "Тоже хорошо", "Текст"),
        ]);
        f.content_type = "application/rss+xml".into();
    }
    let feed = poller(&rss_source(&url));
    let batch = feed.poll(None).await.unwrap();
    assert_eq!(ids(&batch), ["ok1", "ok2"]);
    assert_eq!(
        reasons(&batch),
        [(Some("big"), "too_large"), (Some("nul"), "not_text")]
    );
    // Quarantined once, not at every poll.
    let again = feed.poll(batch.cursor.as_deref()).await.unwrap();
    assert!(again.posts.is_empty() && again.quarantined.is_empty());

    fake.lock().unwrap().fault = Some((
        StatusCode::OK,
        vec![("content-type".into(), "text/html".into())],
        "<!DOCTYPE html><html><body>Вход</body></html>".into(),
    ));
    assert!(matches!(
        feed.poll(None).await,
        Err(ConnectorError::Malformed(_))
    ));
    fake.lock().unwrap().fault = Some((StatusCode::OK, vec![], "{\"json\": true}".into()));
    assert!(matches!(
        feed.poll(None).await,
        Err(ConnectorError::Malformed(_))
    ));
    fake.lock().unwrap().fault = Some((
        StatusCode::TOO_MANY_REQUESTS,
        vec![("retry-after".into(), "120".into())],
        String::new(),
    ));
    assert_eq!(
        rate_limited(feed.poll(None).await),
        Duration::from_secs(120)
    );
    fake.lock().unwrap().fault = Some((StatusCode::FORBIDDEN, vec![], "no".into()));
    assert_eq!(refused_code(feed.poll(None).await), "http_403");
    fake.lock().unwrap().fault = Some((StatusCode::INTERNAL_SERVER_ERROR, vec![], String::new()));
    assert!(matches!(
        feed.poll(None).await,
        Err(ConnectorError::Transport(_))
    ));
}

#[tokio::test]
async fn rss_answers_too_large_are_not_read() {
    let (fake, url) = feed_fake().await;
    {
        let mut f = fake.lock().unwrap();
        f.body = format!(
            "<rss><channel>{}</channel></rss>",
            "x".repeat(otklik_connectors::MAX_BODY_BYTES)
        );
        f.content_type = "application/rss+xml".into();
    }
    let feed = poller(&rss_source(&url));
    assert!(matches!(
        feed.poll(None).await,
        Err(ConnectorError::Malformed(_))
    ));
}

// =================================================================== webhook

#[derive(Default)]
struct Receiver {
    bodies: Vec<Value>,
    status: Option<StatusCode>,
}

type ReceiverState = Arc<Mutex<Receiver>>;

async fn receive(State(state): State<ReceiverState>, Json(body): Json<Value>) -> Response {
    let mut r = state.lock().unwrap();
    r.bodies.push(body);
    if let Some(status) = r.status.take() {
        return (status, [("retry-after", "9")], "").into_response();
    }
    Json(json!({"id": format!("answer-{}", r.bodies.len())})).into_response()
}

#[tokio::test]
async fn webhook_in_and_answer_out() {
    let state: ReceiverState = Arc::default();
    let router = Router::new()
        .route("/answers", post(receive))
        .route(
            "/elsewhere",
            post(|| async { (StatusCode::FOUND, [("location", "http://10.0.0.1/")]) }),
        )
        .with_state(state.clone());
    let base = serve(router).await;

    let body = json!([
        {"id": 42, "text": "Нет света на Ленина, 5", "url": "https://partner.example/p/42",
         "published_at": 1_700_000_000, "reply_url": format!("{base}/answers")},
        {"id": "x-1", "text": {"nested": "garbage"}},
        {"id": "x-2", "text": "Без обратного адреса", "published_at": "2024-01-15T10:00:00Z"},
    ]);
    let batch =
        otklik_connectors::webhook::parse_webhook("partner", &serde_json::to_vec(&body).unwrap())
            .unwrap();
    assert_eq!(ids(&batch), ["42", "x-2"]);
    assert_eq!(reasons(&batch), [(Some("x-1"), "bad_shape")]);
    assert_eq!(batch.posts[1].published_at, 1_705_312_800);
    assert_eq!(batch.posts[1].reply, ReplyTarget::None);

    let src = source(
        json!({"kind": "webhook", "key": "partner", "secret": "0123456789abcdef",
                            "reply_hosts": ["127.0.0.1"]}),
    );
    let out = publisher(&src);
    let id = out
        .publish(&batch.posts[0].reply, "Передано в энергосбыт")
        .await
        .unwrap();
    assert_eq!(id, "answer-1");
    let got = state.lock().unwrap().bodies.last().cloned().unwrap();
    assert_eq!(
        got,
        json!({"in_reply_to": "42", "text": "Передано в энергосбыт"})
    );

    state.lock().unwrap().status = Some(StatusCode::TOO_MANY_REQUESTS);
    let limited = out.publish(&batch.posts[0].reply, "x").await;
    assert!(
        matches!(limited, Err(ConnectorError::RateLimited { retry_after }) if retry_after == Duration::from_secs(9))
    );

    // Only the allowed hosts, and no redirects elsewhere.
    let other = ReplyTarget::Webhook {
        reply_url: "http://localhost:1/answers#in_reply_to=42".into(),
    };
    assert!(matches!(out.publish(&other, "x").await,
        Err(ConnectorError::Refused { code, .. }) if code == "reply_host_not_allowed"));
    let redirect = ReplyTarget::Webhook {
        reply_url: format!("{base}/elsewhere"),
    };
    assert!(out.publish(&redirect, "x").await.is_err());
    assert!(build_poller(&src, &http_client().unwrap())
        .unwrap()
        .is_none());

    assert!(matches!(
        otklik_connectors::webhook::parse_webhook("partner", b"<xml/>"),
        Err(ConnectorError::Malformed(_))
    ));
}

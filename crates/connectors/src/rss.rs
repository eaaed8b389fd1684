//! RSS 2.0 (and 1.0) and Atom feeds over HTTP GET, asked conditionally (`If-None-Match`,
//! `If-Modified-Since`): a 304 is an empty batch with the same cursor.
//!
//! A post's text is the item's title and its content (`content:encoded` or Atom `content`,
//! else `description` / `summary`), HTML tags stripped and character references decoded.
//! There is no way back: `ReplyTarget::None`.
//!
//! ## The cursor
//!
//! ```json
//! {"v":1,"etag":"\"5f3a\"","lm":"Mon, 15 Jan 2024 10:00:00 GMT","seen":["9f86d081884c7d65",…]}
//! ```
//!
//! The validators of the last full answer and the FNV-64 hashes of the ids (`guid`, Atom
//! `id`, else the link) of the newest [`SEEN_CAP`] items, so an item is taken once
//! however the feed reorders; a feed is read up to [`MAX_FEED_ITEMS`] items.

use crate::common::{self, check_text, fnv64, now_unix, TextVerdict};
use crate::html;
use crate::source::{RssSource, Source, SourceError};
use crate::{Batch, ConnectorError, Poller};
use async_trait::async_trait;
use otklik_social::{Platform, Quarantined, RawPost, ReplyTarget};
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use reqwest::header::{
    ACCEPT, CONTENT_TYPE, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED,
};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// Items read from one answer (feeds put the newest first).
pub const MAX_FEED_ITEMS: usize = 256;
/// Item ids remembered.
pub const SEEN_CAP: usize = 256;
/// An id longer than this becomes its hash (`h:…`) as the post's external id.
const MAX_ID_BYTES: usize = 512;
/// Longest validator kept.
const MAX_VALIDATOR_BYTES: usize = 256;

/// A feed: its poller.
pub struct Feed {
    source: String,
    url: reqwest::Url,
    client: reqwest::Client,
}

impl Feed {
    pub fn new(cfg: &RssSource, client: reqwest::Client) -> Result<Feed, SourceError> {
        Source::Rss(cfg.clone()).validate()?;
        let url = common::http_url(&cfg.url).ok_or_else(|| SourceError {
            key: cfg.key.clone(),
            message: "url: an http(s) address".into(),
        })?;
        Ok(Feed {
            source: cfg.key.clone(),
            url,
            client,
        })
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Cursor {
    #[serde(default)]
    v: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    lm: Option<String>,
    #[serde(default)]
    seen: Vec<String>,
}

fn validator(
    headers: &reqwest::header::HeaderMap,
    name: reqwest::header::HeaderName,
) -> Option<String> {
    let v = headers.get(name)?.to_str().ok()?;
    (!v.is_empty() && v.len() <= MAX_VALIDATOR_BYTES).then(|| v.to_owned())
}

#[async_trait]
impl Poller for Feed {
    async fn poll(&self, cursor: Option<&str>) -> Result<Batch, ConnectorError> {
        let state: Cursor = match cursor {
            None => Cursor::default(),
            Some(c) => serde_json::from_str(c)
                .map_err(|e| ConnectorError::Malformed(format!("stored cursor: {e}")))?,
        };
        let mut request = self.client.get(self.url.clone()).header(
            ACCEPT,
            "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1",
        );
        if let Some(etag) = &state.etag {
            request = request.header(IF_NONE_MATCH, etag);
        }
        if let Some(lm) = &state.lm {
            request = request.header(IF_MODIFIED_SINCE, lm);
        }
        let answer = common::send(request).await?;
        if answer.status == StatusCode::NOT_MODIFIED {
            return Ok(Batch {
                cursor: cursor.map(str::to_owned),
                ..Batch::default()
            });
        }
        if !answer.status.is_success() {
            return Err(common::status_error(&answer));
        }
        let content_type = answer
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        let xml = decode(&answer.body, content_type)?;
        let parsed = parse_feed(&xml)?;

        let mut batch = Batch::default();
        let old: HashSet<&str> = state.seen.iter().map(String::as_str).collect();
        let mut now_seen: Vec<String> = Vec::new();
        let mut taken: HashSet<String> = HashSet::new();
        for entry in &parsed.entries {
            let id = entry.id();
            let hash = format!("{:016x}", fnv64(&[id.as_bytes()]));
            if now_seen.contains(&hash) {
                continue; // the same item twice in one feed
            }
            now_seen.push(hash.clone());
            if old.contains(hash.as_str()) {
                continue;
            }
            match self.post(entry, &id) {
                Ok(post) => {
                    if taken.insert(post.external_id.clone()) {
                        batch.posts.push(post);
                    }
                }
                Err(TextVerdict::Empty) => {}
                Err(v) => batch.quarantined.push(Quarantined::new(
                    &self.source,
                    Some(external_id(&id)),
                    v.reason(),
                    entry.raw.as_bytes(),
                )),
            }
        }
        if let Some((at, tail)) = &parsed.broken_tail {
            // The rest of the answer was not XML: kept once, by its own hash.
            let hash = format!("{:016x}", fnv64(&[b"tail", tail.as_bytes()]));
            if !old.contains(hash.as_str()) {
                batch.quarantined.push(Quarantined::new(
                    &self.source,
                    None,
                    "bad_shape",
                    format!("at byte {at}: {tail}").as_bytes(),
                ));
            }
            now_seen.push(hash);
        }
        let mut seen = now_seen;
        for old_hash in state.seen {
            if seen.len() >= SEEN_CAP {
                break;
            }
            if !seen.contains(&old_hash) {
                seen.push(old_hash);
            }
        }
        seen.truncate(SEEN_CAP.max(MAX_FEED_ITEMS + 1));
        let next = Cursor {
            v: 1,
            etag: validator(&answer.headers, ETAG),
            lm: validator(&answer.headers, LAST_MODIFIED),
            seen,
        };
        batch.cursor = Some(
            serde_json::to_string(&next)
                .map_err(|e| ConnectorError::Malformed(format!("cursor: {e}")))?,
        );
        Ok(batch)
    }
}

impl Feed {
    fn post(&self, entry: &Entry, id: &str) -> Result<RawPost, TextVerdict> {
        let title = entry.title.render();
        let body = if entry.content.text.trim().is_empty() {
            entry.summary.render()
        } else {
            entry.content.render()
        };
        let text = match (title.is_empty(), body.is_empty()) {
            (false, false) if body.starts_with(&title) => body,
            (false, false) => format!("{title}\n\n{body}"),
            (false, true) => title,
            _ => body,
        };
        let text = check_text(&text)?;
        let url = entry
            .link
            .as_deref()
            .and_then(common::http_url)
            .map(String::from);
        Ok(RawPost {
            source: self.source.clone(),
            platform: Platform::Rss,
            external_id: external_id(id),
            url,
            text,
            published_at: entry.published_at(),
            reply: ReplyTarget::None,
        })
    }
}

/// The fuzz targets' entry (`fuzz/`, `crates/fuzzing`): an answer's body and its
/// `Content-Type` read as the poller reads them — decoded, parsed, each entry a post,
/// nothing or quarantined. Not an API.
#[doc(hidden)]
pub fn fuzz_feed(body: &[u8], content_type: Option<&str>) -> Result<Batch, ConnectorError> {
    // One feed for every input: a client is costly to build.
    static FEED: std::sync::OnceLock<Option<Feed>> = std::sync::OnceLock::new();
    let source = RssSource {
        key: "fuzz".into(),
        url: "https://example.org/feed.xml".into(),
        region: None,
    };
    let Some(feed) = FEED
        .get_or_init(|| Feed::new(&source, reqwest::Client::new()).ok())
        .as_ref()
    else {
        return Err(ConnectorError::Transport("no feed".into()));
    };
    let parsed = parse_feed(&decode(body, content_type)?)?;
    let mut batch = Batch::default();
    for entry in &parsed.entries {
        let id = entry.id();
        match feed.post(entry, &id) {
            Ok(post) => batch.posts.push(post),
            Err(TextVerdict::Empty) => {}
            Err(v) => batch.quarantined.push(Quarantined::new(
                &feed.source,
                Some(external_id(&id)),
                v.reason(),
                entry.raw.as_bytes(),
            )),
        }
    }
    Ok(batch)
}

fn external_id(id: &str) -> String {
    if id.len() <= MAX_ID_BYTES {
        id.to_owned()
    } else {
        format!("h:{:016x}", fnv64(&[id.as_bytes()]))
    }
}

// ---- encodings ----

/// The answer as text: a BOM, else the Content-Type's charset, else the XML declaration's
/// encoding, decoded by `encoding_rs` (the WHATWG labels: UTF-8, UTF-16, Windows-1251,
/// KOI8-R, KOI8-U, ISO-8859-5, …). A label `encoding_rs` does not know is refused
/// (`Malformed`); a body that is not valid in its declared UTF-8 is tried against the
/// next declaration (a server's default charset on a file in another encoding).
fn decode(body: &[u8], content_type: Option<&str>) -> Result<String, ConnectorError> {
    if let Some((encoding, bom)) = encoding_rs::Encoding::for_bom(body) {
        let (text, _) = encoding.decode_without_bom_handling(&body[bom..]);
        return Ok(text.into_owned());
    }
    let from_header = content_type.and_then(charset_param);
    let from_decl = declared_encoding(body);
    for label in [from_header, from_decl].iter().flatten() {
        let Some(encoding) = encoding_rs::Encoding::for_label(label.as_bytes()) else {
            return Err(ConnectorError::Malformed(format!(
                "unsupported encoding {label:.40}"
            )));
        };
        if encoding == encoding_rs::UTF_8 {
            if let Ok(s) = std::str::from_utf8(body) {
                return Ok(s.to_owned());
            }
            continue;
        }
        let (text, _) = encoding.decode_without_bom_handling(body);
        return Ok(text.into_owned());
    }
    Ok(String::from_utf8_lossy(body).into_owned())
}

fn charset_param(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches('"').to_ascii_lowercase())
    })
}

/// `<?xml … encoding="…"?>` within the first bytes.
fn declared_encoding(body: &[u8]) -> Option<String> {
    let head = &body[..body.len().min(256)];
    let head = String::from_utf8_lossy(head);
    let decl = head.strip_prefix("<?xml")?;
    let decl = &decl[..decl.find("?>")?];
    let at = decl.find("encoding")?;
    let rest = decl[at + "encoding".len()..]
        .trim_start()
        .strip_prefix('=')?
        .trim_start();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = &rest[1..];
    Some(value[..value.find(quote)?].to_ascii_lowercase())
}

// ---- the feed ----

#[derive(Debug, Default, Clone, PartialEq)]
struct Field {
    text: String,
    /// The text is HTML (RSS descriptions, Atom `type="html"`).
    html: bool,
}

impl Field {
    fn render(&self) -> String {
        if self.html {
            html::to_text(&self.text)
        } else {
            html::collapse_whitespace(&self.text)
        }
    }
}

#[derive(Debug, Default, Clone, PartialEq)]
struct Entry {
    guid: Option<String>,
    link: Option<String>,
    title: Field,
    summary: Field,
    content: Field,
    published: Option<String>,
    updated: Option<String>,
    /// What the item's text looked like, for a quarantined item.
    raw: String,
}

impl Entry {
    /// The item's identity: guid / Atom id, else the link, else a hash of what it says.
    fn id(&self) -> String {
        let non_empty = |s: &Option<String>| {
            s.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        non_empty(&self.guid)
            .or_else(|| non_empty(&self.link))
            .unwrap_or_else(|| {
                format!(
                    "h:{:016x}",
                    fnv64(&[
                        self.title.text.as_bytes(),
                        self.summary.text.as_bytes(),
                        self.content.text.as_bytes()
                    ])
                )
            })
    }

    fn published_at(&self) -> i64 {
        [&self.published, &self.updated]
            .into_iter()
            .flatten()
            .find_map(|d| common::parse_rfc2822(d).or_else(|| common::parse_rfc3339(d)))
            .unwrap_or_else(now_unix)
    }
}

#[derive(Debug)]
struct Parsed {
    entries: Vec<Entry>,
    /// Where the XML broke after the entries were read, and what followed (≤ 2 KiB).
    broken_tail: Option<(u64, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Slot {
    Guid,
    Link,
    Title,
    Summary,
    Content,
    Published,
    Updated,
}

fn slot(local: &[u8]) -> Option<Slot> {
    Some(match local {
        b"guid" | b"id" => Slot::Guid,
        b"link" => Slot::Link,
        b"title" => Slot::Title,
        b"description" | b"summary" => Slot::Summary,
        // content:encoded (RSS) and Atom's content
        b"encoded" | b"content" => Slot::Content,
        b"pubDate" | b"published" | b"issued" => Slot::Published,
        // dc:date, Atom's updated
        b"date" | b"updated" | b"modified" => Slot::Updated,
        _ => return None,
    })
}

fn attr(e: &BytesStart<'_>, name: &[u8]) -> Option<String> {
    e.attributes().flatten().find_map(|a| {
        (a.key.local_name().as_ref() == name)
            .then(|| String::from_utf8_lossy(&a.value).into_owned())
    })
}

fn decode_attr_entities(s: String) -> String {
    if s.contains('&') {
        html::decode_entities(&s)
    } else {
        s
    }
}

/// Atom's `<link>`: the alternate (or unnamed) one's `href`.
fn atom_link(e: &BytesStart<'_>, entry: &mut Entry) {
    let rel = attr(e, b"rel");
    if rel.as_deref().is_none_or(|r| r == "alternate") && entry.link.is_none() {
        if let Some(href) = attr(e, b"href") {
            entry.link = Some(decode_attr_entities(href));
        }
    }
}

/// Reads the items of an RSS or Atom document.
fn parse_feed(xml: &str) -> Result<Parsed, ConnectorError> {
    let mut reader = Reader::from_str(xml);
    let mut depth = 0usize;
    let mut atom = None::<bool>;
    let mut item: Option<(usize, usize)> = None; // (depth, byte offset of its start)
    let mut current = Entry::default();
    let mut open: Option<(Slot, usize)> = None;
    let mut entries = Vec::new();
    let mut broken_tail = None;

    loop {
        let before = reader.buffer_position();
        let event = match reader.read_event() {
            Ok(e) => e,
            Err(e) => {
                let at = reader.error_position();
                if atom.is_none() || entries.is_empty() {
                    return Err(ConnectorError::Malformed(format!("not a feed: {e}")));
                }
                let from = usize::try_from(item.map_or(at, |(_, start)| start as u64))
                    .unwrap_or(0)
                    .min(xml.len());
                let tail = common::excerpt_str(&xml.as_bytes()[from..], 1024);
                broken_tail = Some((at, format!("{e}: {tail}")));
                break;
            }
        };
        match event {
            Event::Start(e) => {
                depth += 1;
                let local = e.local_name();
                let local = local.as_ref();
                if atom.is_none() {
                    atom = Some(match local {
                        b"rss" | b"RDF" => false,
                        b"feed" => true,
                        _ => {
                            return Err(ConnectorError::Malformed(format!(
                                "not a feed: the root is <{}>",
                                String::from_utf8_lossy(local)
                                    .chars()
                                    .take(40)
                                    .collect::<String>()
                            )))
                        }
                    });
                    continue;
                }
                match item {
                    None => {
                        if local == b"item" || local == b"entry" {
                            if entries.len() >= MAX_FEED_ITEMS {
                                break;
                            }
                            item = Some((depth, before as usize));
                            current = Entry::default();
                        }
                    }
                    Some((d, _)) if depth == d + 1 && open.is_none() => {
                        if let Some(s) = slot(local) {
                            if s == Slot::Link && atom == Some(true) {
                                atom_link(&e, &mut current);
                            }
                            let kind = attr(&e, b"type");
                            let html = match (atom, s) {
                                (Some(true), _) => kind
                                    .as_deref()
                                    .is_some_and(|t| t == "html" || t == "text/html"),
                                (_, Slot::Title | Slot::Summary | Slot::Content) => true,
                                _ => false,
                            };
                            let field = match s {
                                Slot::Title => Some(&mut current.title),
                                Slot::Summary => Some(&mut current.summary),
                                Slot::Content => Some(&mut current.content),
                                _ => None,
                            };
                            if let Some(f) = field {
                                f.html = html;
                            }
                            open = Some((s, depth));
                        }
                    }
                    Some(_) => {
                        // Inside a field: an XHTML element; keep block breaks.
                        if open.is_some() && is_block_name(local) {
                            push(&mut current, open, "\n");
                        }
                    }
                }
            }
            Event::Empty(e) => {
                if let Some((d, _)) = item {
                    let local = e.local_name();
                    if depth == d && local.as_ref() == b"link" {
                        atom_link(&e, &mut current);
                    } else if open.is_some() && is_block_name(local.as_ref()) {
                        push(&mut current, open, "\n");
                    }
                }
            }
            Event::End(e) => {
                if let Some((_, d)) = open {
                    if depth == d {
                        open = None;
                    } else if depth > d && is_block_name(e.local_name().as_ref()) {
                        push(&mut current, open, "\n");
                    }
                }
                if let Some((d, start)) = item {
                    if depth == d {
                        let end = (reader.buffer_position() as usize).min(xml.len());
                        let mut raw_end = end.min(start + otklik_social::post::EXCERPT_BYTES);
                        while !xml.is_char_boundary(raw_end) {
                            raw_end -= 1;
                        }
                        current.raw = xml
                            .get(start..raw_end)
                            .map(str::to_owned)
                            .unwrap_or_default();
                        entries.push(std::mem::take(&mut current));
                        item = None;
                    }
                }
                depth = depth.saturating_sub(1);
            }
            Event::Text(t) if open.is_some() => {
                let text = t
                    .xml10_content()
                    .map_err(|e| ConnectorError::Malformed(e.to_string()))?;
                push(&mut current, open, &text);
            }
            Event::CData(t) if open.is_some() => {
                let text = t
                    .xml10_content()
                    .map_err(|e| ConnectorError::Malformed(e.to_string()))?;
                push(&mut current, open, &text);
            }
            Event::GeneralRef(r) if open.is_some() => {
                let name = r
                    .decode()
                    .map_err(|e| ConnectorError::Malformed(e.to_string()))?;
                let c = match quick_xml::escape::resolve_predefined_entity(&name) {
                    Some(s) => s.to_owned(),
                    None => match html::decode_reference(&name) {
                        Some(c) => c.to_string(),
                        None => format!("&{name};"),
                    },
                };
                push(&mut current, open, &c);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if atom.is_none() {
        return Err(ConnectorError::Malformed("not a feed: empty".into()));
    }
    Ok(Parsed {
        entries,
        broken_tail,
    })
}

fn is_block_name(local: &[u8]) -> bool {
    matches!(
        local,
        b"p" | b"br" | b"div" | b"li" | b"tr" | b"h1" | b"h2" | b"h3" | b"h4" | b"blockquote"
    )
}

fn push(entry: &mut Entry, open: Option<(Slot, usize)>, text: &str) {
    let Some((slot, _)) = open else { return };
    let target: &mut String = match slot {
        Slot::Title => &mut entry.title.text,
        Slot::Summary => &mut entry.summary.text,
        Slot::Content => &mut entry.content.text,
        Slot::Guid => entry.guid.get_or_insert_with(String::new),
        Slot::Link => entry.link.get_or_insert_with(String::new),
        Slot::Published => entry.published.get_or_insert_with(String::new),
        Slot::Updated => entry.updated.get_or_insert_with(String::new),
    };
    // Identity and dates are short; a huge one is garbage, not worth keeping whole.
    let cap = match slot {
        Slot::Title | Slot::Summary | Slot::Content => usize::MAX,
        _ => 4096,
    };
    if target.len() < cap {
        target.push_str(text);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const RSS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel><title>Новости</title><link>https://news.example/</link>
<item>
  <title>Авария &amp; отключение</title>
  <link>https://news.example/a/1</link>
  <guid isPermaLink="false">news-1</guid>
  <description>&lt;p&gt;Нет воды &amp;mdash; ул. Ленина&lt;/p&gt;</description>
  <pubDate>Mon, 15 Jan 2024 13:00:00 +0300</pubDate>
</item>
<item>
  <title>Второе</title>
  <link>https://news.example/a/2</link>
  <description><![CDATA[<b>Жирный</b> &laquo;текст&raquo; &#8212; ok]]></description>
  <content:encoded><![CDATA[<p>Полный</p><p>текст &amp; всё</p>]]></content:encoded>
  <dc:date>2024-01-15T10:00:00Z</dc:date>
</item>
</channel></rss>"#;

    const ATOM: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Лента</title>
  <entry>
    <id>urn:uuid:1</id>
    <title type="html">&lt;b&gt;Снег&lt;/b&gt; не убран</title>
    <link rel="self" href="https://atom.example/self/1"/>
    <link rel="alternate" href="https://atom.example/e/1?a=1&amp;b=2"/>
    <summary>Двор &lt;дом 3&gt;</summary>
    <updated>2024-01-15T10:00:00Z</updated>
    <published>2024-01-15T09:00:00Z</published>
  </entry>
  <entry>
    <id>urn:uuid:2</id>
    <title>Фонари</title>
    <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>Не горят</p><p>третий день</p></div></content>
    <updated>2024-01-15T11:00:00Z</updated>
  </entry>
</feed>"#;

    fn feed() -> Feed {
        Feed::new(
            &RssSource {
                key: "news".into(),
                url: "http://127.0.0.1:1/feed".into(),
                region: None,
            },
            reqwest::Client::new(),
        )
        .unwrap()
    }

    #[test]
    fn rss_items() {
        let parsed = parse_feed(RSS).unwrap();
        assert_eq!(parsed.entries.len(), 2);
        assert!(parsed.broken_tail.is_none());
        let f = feed();
        let a = &parsed.entries[0];
        let post = f.post(a, &a.id()).unwrap();
        assert_eq!(post.external_id, "news-1");
        assert_eq!(post.text, "Авария & отключение\n\nНет воды — ул. Ленина");
        assert_eq!(post.url.as_deref(), Some("https://news.example/a/1"));
        assert_eq!(post.published_at, 1_705_312_800);
        assert_eq!(post.reply, ReplyTarget::None);
        let b = &parsed.entries[1];
        let post = f.post(b, &b.id()).unwrap();
        assert_eq!(post.external_id, "https://news.example/a/2");
        assert_eq!(post.text, "Второе\n\nПолный\n\nтекст & всё");
        assert_eq!(post.published_at, 1_705_312_800);
    }

    #[test]
    fn atom_entries() {
        let parsed = parse_feed(ATOM).unwrap();
        assert_eq!(parsed.entries.len(), 2);
        let f = feed();
        let a = &parsed.entries[0];
        let post = f.post(a, &a.id()).unwrap();
        assert_eq!(post.external_id, "urn:uuid:1");
        assert_eq!(post.text, "Снег не убран\n\nДвор <дом 3>");
        assert_eq!(
            post.url.as_deref(),
            Some("https://atom.example/e/1?a=1&b=2")
        );
        assert_eq!(post.published_at, 1_705_309_200);
        let b = &parsed.entries[1];
        let post = f.post(b, &b.id()).unwrap();
        assert_eq!(post.text, "Фонари\n\nНе горят\n\nтретий день");
        assert_eq!(post.published_at, 1_705_316_400);
    }

    #[test]
    fn not_feeds() {
        assert!(matches!(
            parse_feed("{\"json\": true}"),
            Err(ConnectorError::Malformed(_))
        ));
        assert!(matches!(
            parse_feed("<html><body>login</body></html>"),
            Err(ConnectorError::Malformed(_))
        ));
        assert!(matches!(parse_feed(""), Err(ConnectorError::Malformed(_))));
        assert!(matches!(
            parse_feed("<rss><channel><item><title>x</titl"),
            Err(ConnectorError::Malformed(_))
        ));
        // Broken after a good item: the item is kept, the rest reported.
        let broken = "<rss><channel><item><guid>1</guid><title>ok</title></item><item><title>bad</oops></item></channel></rss>";
        let parsed = parse_feed(broken).unwrap();
        assert_eq!(parsed.entries.len(), 1);
        assert!(parsed.broken_tail.is_some());
    }

    #[test]
    fn entity_bombs_are_not_expanded() {
        let bomb = r#"<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
<rss><channel><item><guid>1</guid><title>&b;&b;&b;</title></item></channel></rss>"#;
        let parsed = parse_feed(bomb).unwrap();
        assert_eq!(parsed.entries[0].title.text, "&b;&b;&b;");
    }

    #[test]
    fn encodings() {
        let mut body = b"<?xml version=\"1.0\" encoding=\"windows-1251\"?><rss><channel><item><guid>1</guid><title>".to_vec();
        body.extend_from_slice(&[
            0xCF, 0xF0, 0xE8, 0xE2, 0xE5, 0xF2, 0x20, 0xA8, 0xB8, 0xB9, 0x97, 0xAB, 0xBB,
        ]);
        body.extend_from_slice(b"</title></item></channel></rss>");
        let xml = decode(&body, Some("text/xml")).unwrap();
        assert!(xml.contains("Привет Ёё№—«»"), "{xml}");
        // A server that says UTF-8 about a Windows-1251 file.
        let xml = decode(&body, Some("text/xml; charset=UTF-8")).unwrap();
        assert!(xml.contains("Привет"), "{xml}");
        let xml = decode(
            "<rss/>".as_bytes(),
            Some("application/rss+xml; charset=\"utf-8\""),
        )
        .unwrap();
        assert_eq!(xml, "<rss/>");
        // KOI8-R: «Привет» is F0 D2 C9 D7 C5 D4.
        let mut koi = b"<?xml version=\"1.0\" encoding=\"koi8-r\"?><rss><title>".to_vec();
        koi.extend_from_slice(&[0xF0, 0xD2, 0xC9, 0xD7, 0xC5, 0xD4]);
        koi.extend_from_slice(b"</title></rss>");
        assert!(decode(&koi, None)
            .unwrap()
            .contains("<title>Привет</title>"));
        assert!(decode(
            b"<?xml version=\"1.0\" encoding=\"x-martian\"?><rss/>",
            None
        )
        .is_err());
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("<rss/>".encode_utf16().flat_map(|u| u.to_le_bytes()))
            .collect();
        assert_eq!(decode(&utf16, None).unwrap(), "<rss/>");
        assert_eq!(decode(b"\xEF\xBB\xBF<feed/>", None).unwrap(), "<feed/>");
    }

    #[test]
    fn ids() {
        let e = Entry {
            link: Some(" https://x.example/1 ".into()),
            ..Entry::default()
        };
        assert_eq!(e.id(), "https://x.example/1");
        let e = Entry {
            title: Field {
                text: "t".into(),
                html: false,
            },
            ..Entry::default()
        };
        assert!(e.id().starts_with("h:"));
        assert_eq!(external_id(&"x".repeat(600)).len(), 18);
    }
}

//! The search index end to end: analysis, query syntax, filters, scopes, facets, paging,
//! snippets, persistence.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use otklik_search::{
    DocKind, Filters, IndexedDoc, Scope, SearchIndex, SearchQuery, SearchResults, SimilarQuery,
    Sort,
};
use proptest::prelude::*;

fn doc(key: &str, title: &str, text: &str) -> IndexedDoc {
    let (kind, id) = key.split_once(':').unwrap();
    let id: i64 = id.parse().unwrap();
    IndexedDoc {
        key: key.to_string(),
        kind: DocKind::parse(kind).unwrap(),
        submission: Some(id),
        title: title.to_string(),
        text: text.to_string(),
        status: Some("registered".to_string()),
        category: Some(1),
        subcategory: Some(10),
        region: Some(77),
        municipality: Some(7701),
        org: Some(100),
        channel: Some("portal".to_string()),
        author: Some(1000),
        created_at: 1_700_000_000 + id,
        public: false,
        parent: None,
    }
}

fn index(docs: &[IndexedDoc]) -> SearchIndex {
    let index = SearchIndex::in_memory().unwrap();
    index.apply(docs, &[], 1).unwrap();
    index
}

fn query(text: &str) -> SearchQuery {
    SearchQuery {
        text: text.to_string(),
        filters: Filters::default(),
        scope: Scope::All,
        sort: Sort::Relevance,
        limit: 20,
        offset: 0,
    }
}

fn search(index: &SearchIndex, text: &str) -> SearchResults {
    index.search(&query(text)).unwrap()
}

fn keys(results: &SearchResults) -> Vec<&str> {
    results.hits.iter().map(|h| h.key.as_str()).collect()
}

fn sorted_keys(results: &SearchResults) -> Vec<&str> {
    let mut k = keys(results);
    k.sort_unstable();
    k
}

#[test]
fn russian_stemming_finds_other_forms_of_the_words() {
    let idx = index(&[
        doc("submission:1", "Яма", "Глубокая яма на дороге у школы"),
        doc("submission:2", "Освещение", "Не горят фонари во дворе"),
    ]);
    for q in [
        "ямы на дорогах",
        "ЯМУ дороги",
        "ямами",
        "дорожная яма школа",
    ] {
        let r = search(&idx, q);
        if q == "дорожная яма школа" {
            // «дорожная» is another word than «дорога» for the stemmer.
            assert_eq!(r.total, 0, "{q}");
            continue;
        }
        assert_eq!(keys(&r), ["submission:1"], "{q}");
    }
    assert_eq!(keys(&search(&idx, "фонарь во дворах")), ["submission:2"]);
}

#[test]
fn yo_and_ye_are_one_letter() {
    let idx = index(&[
        doc("submission:1", "Ёлка", "Упавшая ёлка ещё лежит"),
        doc("submission:2", "Елка", "Новогодняя елка не убрана"),
    ]);
    assert_eq!(
        sorted_keys(&search(&idx, "елка")),
        ["submission:1", "submission:2"]
    );
    assert_eq!(
        sorted_keys(&search(&idx, "ЁЛКИ")),
        ["submission:1", "submission:2"]
    );
    assert_eq!(keys(&search(&idx, "ещё лежит")), ["submission:1"]);
    assert_eq!(keys(&search(&idx, "еще лежит")), ["submission:1"]);
    assert_eq!(keys(&search(&idx, "\"упавшая елка\"")), ["submission:1"]);
}

#[test]
fn stop_words_are_not_required() {
    let idx = index(&[doc("submission:1", "Яма", "яма дорога")]);
    // «и», «на», «в» are not in the text, and are not looked for.
    assert_eq!(keys(&search(&idx, "яма и на дорога в")), ["submission:1"]);
    // Only stop words (or only punctuation): nothing to look for, no error.
    let r = search(&idx, "и на в");
    assert_eq!((r.total, r.hits.len()), (0, 0));
    let r = search(&idx, "!!! ... ,,, ***");
    assert_eq!((r.total, r.hits.len()), (0, 0));
}

#[test]
fn quoted_phrases_keep_the_order() {
    let idx = index(&[
        doc("submission:1", "Первое", "Большая яма на дороге во дворе"),
        doc("submission:2", "Второе", "Дорога разбита, яма глубокая"),
    ]);
    assert_eq!(
        sorted_keys(&search(&idx, "яма дорога")),
        ["submission:1", "submission:2"]
    );
    assert_eq!(keys(&search(&idx, "\"ямы на дорогах\"")), ["submission:1"]);
    assert_eq!(keys(&search(&idx, "«дорога разбитая»")), ["submission:2"]);
    assert_eq!(search(&idx, "\"дорога яма\"").total, 0);
    // Where the query has a stop word, the text may have another stop word, not any word.
    let idx2 = index(&[
        doc("submission:3", "Третье", "яма в дороге"),
        doc("submission:4", "Четвёртое", "яма возле дороги"),
    ]);
    assert_eq!(keys(&search(&idx2, "\"яма на дороге\"")), ["submission:3"]);
    // A phrase and a word together; an unclosed quote runs to the end.
    assert_eq!(keys(&search(&idx, "двор \"большая яма")), ["submission:1"]);
}

#[test]
fn prefixes_match_the_words_as_written() {
    let idx = index(&[
        doc("submission:1", "Фонари", "Не работает уличное освещение"),
        doc("submission:2", "Свет", "Фонарный столб упал"),
        doc("submission:3", "Дорога", "Выбоины"),
    ]);
    assert_eq!(
        sorted_keys(&search(&idx, "фонар*")),
        ["submission:1", "submission:2"]
    );
    assert_eq!(keys(&search(&idx, "ОСВЕЩ*")), ["submission:1"]);
    assert_eq!(keys(&search(&idx, "фонар* столб")), ["submission:2"]);
    // The prefix is of the word as written, not of its stem («фонар»).
    assert_eq!(keys(&search(&idx, "фонари*")), ["submission:1"]);
    assert_eq!(keys(&search(&idx, "освещ* уличн*")), ["submission:1"]);
    let err = idx.search(&query("фо*")).unwrap_err();
    assert_eq!(err.code(), "invalid_query");
}

#[test]
fn a_query_without_hits_is_retried_allowing_typos() {
    let idx = index(&[
        doc(
            "submission:1",
            "Освещение",
            "Во дворе не работает освещение",
        ),
        doc("submission:2", "Дорога", "Провалился асфальт у остановки"),
    ]);
    let exact = search(&idx, "освещение");
    assert!(!exact.fuzzy);
    assert_eq!(keys(&exact), ["submission:1"]);

    let typo = search(&idx, "освешение");
    assert!(typo.fuzzy);
    assert_eq!(keys(&typo), ["submission:1"]);
    assert!(typo.hits[0].snippet_html.contains("<mark>освещение</mark>"));

    // One typo in a word of 5+ letters, two in one of 9+.
    assert_eq!(keys(&search(&idx, "асвальт остоновки")), ["submission:2"]);
    // Every word is still required, and a wrong first letter is not forgiven.
    assert_eq!(search(&idx, "асвальт астановки").total, 0);
    assert_eq!(keys(&search(&idx, "освищенее")), ["submission:1"]);
    // The first letter is kept: «асвещение» is not «освещение».
    assert_eq!(search(&idx, "асвещение").total, 0);
    // Short words are not fuzzed.
    assert_eq!(search(&idx, "двор ам").total, 0);
}

fn varied() -> Vec<IndexedDoc> {
    let mut a = doc("submission:1", "Яма", "яма у дома");
    a.status = Some("registered".into());
    let mut b = doc("answer:2", "Ответ", "яма будет заделана");
    b.status = Some("answered".into());
    b.category = Some(2);
    b.subcategory = Some(20);
    b.channel = Some("api".into());
    b.region = Some(50);
    b.org = Some(200);
    b.author = Some(2000);
    let mut c = doc("incident:3", "Инцидент", "яма не заделана в срок");
    c.status = None;
    c.category = Some(2);
    c.subcategory = Some(21);
    c.channel = Some("widget".into());
    c.region = Some(50);
    c.org = Some(300);
    c.author = None;
    vec![a, b, c]
}

#[test]
fn every_filter_restricts_the_matches() {
    let idx = index(&varied());
    let run = |filters: Filters| {
        let mut q = query("яма");
        q.filters = filters;
        let r = idx.search(&q).unwrap();
        sorted_keys(&r)
            .into_iter()
            .map(String::from)
            .collect::<Vec<_>>()
    };
    assert_eq!(run(Filters::default()).len(), 3);
    let cases: Vec<(Filters, Vec<&str>)> = vec![
        (
            Filters {
                kinds: vec![DocKind::Answer, DocKind::Incident],
                ..Default::default()
            },
            vec!["answer:2", "incident:3"],
        ),
        (
            Filters {
                status: Some("answered".into()),
                ..Default::default()
            },
            vec!["answer:2"],
        ),
        (
            Filters {
                category: Some(2),
                ..Default::default()
            },
            vec!["answer:2", "incident:3"],
        ),
        (
            Filters {
                subcategory: Some(21),
                ..Default::default()
            },
            vec!["incident:3"],
        ),
        (
            Filters {
                region: Some(77),
                ..Default::default()
            },
            vec!["submission:1"],
        ),
        (
            Filters {
                org: Some(300),
                ..Default::default()
            },
            vec!["incident:3"],
        ),
        (
            Filters {
                channel: Some("api".into()),
                ..Default::default()
            },
            vec!["answer:2"],
        ),
        (
            Filters {
                from: Some(1_700_000_002),
                ..Default::default()
            },
            vec!["answer:2", "incident:3"],
        ),
        (
            Filters {
                to: Some(1_700_000_002),
                ..Default::default()
            },
            vec!["submission:1"],
        ),
        (
            Filters {
                from: Some(1_700_000_002),
                to: Some(1_700_000_003),
                ..Default::default()
            },
            vec!["answer:2"],
        ),
        (
            Filters {
                category: Some(2),
                channel: Some("widget".into()),
                ..Default::default()
            },
            vec!["incident:3"],
        ),
        (
            Filters {
                status: Some("nonexistent".into()),
                ..Default::default()
            },
            vec![],
        ),
    ];
    for (filters, expected) in cases {
        assert_eq!(run(filters.clone()), expected, "{filters:?}");
    }
}

#[test]
fn a_document_outside_the_scope_never_appears_even_when_it_matches_best() {
    // The best match (the words in its title, many times) is someone else's, another
    // organisation's and another region's.
    let mut best = doc(
        "submission:1",
        "Яма яма яма на дороге",
        "яма яма яма дорога дорога",
    );
    best.author = Some(1);
    best.org = Some(11);
    best.region = Some(21);
    let mut mine = doc(
        "submission:2",
        "Вопрос",
        "небольшая яма и много другого текста возле дороги",
    );
    mine.author = Some(2);
    mine.org = Some(12);
    mine.region = Some(22);
    let idx = index(&[best, mine]);

    let all = search(&idx, "яма дорога");
    assert_eq!(keys(&all), ["submission:1", "submission:2"]);

    for scope in [
        Scope::Author(2),
        Scope::Orgs(vec![12, 13]),
        Scope::Regions(vec![22]),
    ] {
        for text in ["яма дорога", "", "дор*", "\"яма на дороге\"", "дарога"]
        {
            for sort in [Sort::Relevance, Sort::Newest] {
                let mut q = query(text);
                q.scope = scope.clone();
                q.sort = sort;
                let r = idx.search(&q).unwrap();
                let ks = keys(&r);
                assert!(!ks.contains(&"submission:1"), "{scope:?} {text:?}: {ks:?}");
                assert!(r.total <= 1, "{scope:?} {text:?}");
                assert!(r.facets.org.iter().all(|(o, _)| *o == 12));
                assert!(r.facets.region.iter().all(|(o, _)| *o == 22));
            }
        }
    }
    // Nothing of the scope's matches the phrase: nothing at all, not the other's document.
    let mut q = query("\"яма на дороге\"");
    q.scope = Scope::Author(2);
    assert_eq!(idx.search(&q).unwrap().total, 0);
    // An empty list of organisations or regions is nothing.
    for scope in [
        Scope::Orgs(vec![]),
        Scope::Regions(vec![]),
        Scope::Author(3),
    ] {
        let mut q = query("яма");
        q.scope = scope;
        assert_eq!(idx.search(&q).unwrap().total, 0);
    }
}

#[test]
fn facets_count_every_match_not_just_the_page() {
    let mut docs = Vec::new();
    for i in 0..30 {
        let mut d = doc(&format!("submission:{i}"), "Яма", "яма на дороге");
        d.status = Some(if i % 3 == 0 { "answered" } else { "registered" }.to_string());
        d.region = Some(if i < 20 { 77 } else { 50 });
        d.category = Some(i % 2);
        d.org = Some(100 + i % 5);
        d.channel = Some(if i < 25 { "portal" } else { "api" }.into());
        docs.push(d);
    }
    docs.push(doc("answer:100", "Ответ", "фонарь заменён"));
    let idx = index(&docs);
    let mut q = query("ямы");
    q.limit = 5;
    let r = idx.search(&q).unwrap();
    assert_eq!((r.total, r.hits.len()), (30, 5));
    let f = &r.facets;
    assert_eq!(
        f.status,
        [("registered".to_string(), 20), ("answered".to_string(), 10)]
    );
    assert_eq!(f.region, [(77, 20), (50, 10)]);
    assert_eq!(f.category, [(0, 15), (1, 15)]);
    assert_eq!(f.org.iter().map(|x| x.1).sum::<u64>(), 30);
    assert_eq!(f.org.len(), 5);
    assert_eq!(
        f.channel,
        [("portal".to_string(), 25), ("api".to_string(), 5)]
    );
    assert_eq!(f.kind, [("submission".to_string(), 30)]);

    // With limit 0: the counts only.
    q.limit = 0;
    let r = idx.search(&q).unwrap();
    assert_eq!((r.total, r.hits.len(), r.facets.kind.len()), (30, 0, 1));

    // A filter narrows the counts too.
    q.filters.region = Some(50);
    let r = idx.search(&q).unwrap();
    assert_eq!(r.total, 10);
    assert_eq!(r.facets.region, [(50, 10)]);
}

#[test]
fn facets_leave_out_the_values_a_document_does_not_have() {
    let mut docs = varied();
    let mut bare = doc("incident:4", "Яма", "яма");
    (
        bare.status,
        bare.category,
        bare.region,
        bare.org,
        bare.channel,
    ) = (None, None, None, None, None);
    docs.push(bare);
    let idx = index(&docs);
    let r = search(&idx, "яма");
    assert_eq!(r.total, 4);
    let f = &r.facets;
    assert_eq!(
        f.status,
        [("answered".to_string(), 1), ("registered".to_string(), 1)]
    );
    assert_eq!(f.category, [(2, 2), (1, 1)]);
    assert_eq!(f.region, [(50, 2), (77, 1)]);
    assert_eq!(f.org, [(100, 1), (200, 1), (300, 1)]);
    assert_eq!(
        f.kind,
        [
            ("incident".to_string(), 2),
            ("answer".to_string(), 1),
            ("submission".to_string(), 1)
        ]
    );
}

#[test]
fn an_upsert_replaces_the_document_with_its_key_and_deletes_remove() {
    let idx = SearchIndex::in_memory().unwrap();
    idx.apply(&[doc("submission:1", "Яма", "яма на дороге")], &[], 1)
        .unwrap();
    idx.apply(&[doc("submission:1", "Фонарь", "не горит фонарь")], &[], 2)
        .unwrap();
    assert_eq!(idx.count(), 1);
    assert_eq!(search(&idx, "яма").total, 0);
    assert_eq!(keys(&search(&idx, "фонарь")), ["submission:1"]);
    assert_eq!(idx.cursor(), 2);

    // The same key twice in one batch: the last wins.
    idx.apply(
        &[
            doc("answer:2", "Первый", "первый вариант"),
            doc("answer:2", "Второй", "второй вариант"),
        ],
        &[],
        3,
    )
    .unwrap();
    assert_eq!(idx.count(), 2);
    assert_eq!(keys(&search(&idx, "вариант")), ["answer:2"]);
    assert_eq!(search(&idx, "вариант").hits[0].title, "Второй");

    idx.apply(
        &[],
        &["submission:1".to_string(), "nothing:9".to_string()],
        4,
    )
    .unwrap();
    assert_eq!(idx.count(), 1);
    assert_eq!(search(&idx, "фонарь").total, 0);
    assert_eq!(idx.cursor(), 4);

    idx.clear().unwrap();
    assert_eq!((idx.count(), idx.cursor()), (0, 0));
}

#[test]
fn the_cursor_survives_reopening_and_a_new_schema_version_wipes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("search");
    {
        let idx = SearchIndex::open(&path).unwrap();
        assert_eq!((idx.count(), idx.cursor()), (0, 0));
        idx.apply(&[doc("submission:1", "Яма", "яма на дороге")], &[], 41)
            .unwrap();
        idx.apply(&[doc("submission:2", "Свет", "фонарь")], &[], 42)
            .unwrap();
    }
    {
        let idx = SearchIndex::open(&path).unwrap();
        assert_eq!((idx.count(), idx.cursor()), (2, 42));
        assert_eq!(keys(&search(&idx, "дороги")), ["submission:1"]);
        // A second writer of the same directory is refused while this one is open.
        let err = SearchIndex::open(&path).unwrap_err();
        assert_eq!(err.code(), "index_failed", "{err}");
        // Nor is it wiped under this one by a build with another schema version.
        std::fs::write(path.join("otklik-search.version"), "0\n").unwrap();
        let err = SearchIndex::open(&path).unwrap_err();
        assert_eq!(err.code(), "index_failed", "{err}");
        let err = SearchIndex::recreate(&path).unwrap_err();
        assert_eq!(err.code(), "index_failed", "{err}");
        idx.apply(&[], &[], 43).unwrap();
        assert_eq!((idx.count(), idx.cursor()), (2, 43));
    }
    // Another build's schema version: wiped, cursor 0.
    std::fs::write(path.join("otklik-search.version"), "0\n").unwrap();
    {
        let idx = SearchIndex::open(&path).unwrap();
        assert_eq!((idx.count(), idx.cursor()), (0, 0));
        idx.apply(&[doc("submission:3", "Двор", "двор")], &[], 7)
            .unwrap();
    }
    let idx = SearchIndex::open(&path).unwrap();
    assert_eq!((idx.count(), idx.cursor()), (1, 7));
    drop(idx);
    // An index whose files are unreadable is `index_corrupt`; `recreate` starts again.
    std::fs::write(path.join("meta.json"), "{ not json").unwrap();
    let err = SearchIndex::open(&path).unwrap_err();
    assert_eq!(err.code(), "index_corrupt", "{err}");
    let idx = SearchIndex::recreate(&path).unwrap();
    assert_eq!((idx.count(), idx.cursor()), (0, 0));
}

#[test]
fn pages_and_sorting() {
    let mut docs: Vec<IndexedDoc> = (1..=25)
        .map(|i| doc(&format!("submission:{i}"), "Заявка", "мусор во дворе"))
        .collect();
    // The word in the title counts twice.
    docs.push(doc("submission:26", "Мусор", "не вывозят"));
    docs[0].created_at = 1_800_000_000; // the oldest id, the newest date
    let idx = index(&docs);

    let mut q = query("мусор");
    let r = idx.search(&q).unwrap();
    assert_eq!(r.total, 26);
    assert_eq!(
        r.hits[0].key, "submission:26",
        "the title match ranks first"
    );
    assert!(r.hits.windows(2).all(|w| w[0].score >= w[1].score));

    q.sort = Sort::Newest;
    q.limit = 10;
    let mut seen = Vec::new();
    for page in 0..3 {
        q.offset = page * 10;
        let r = idx.search(&q).unwrap();
        assert!(r
            .hits
            .windows(2)
            .all(|w| w[0].created_at >= w[1].created_at));
        seen.extend(r.hits.into_iter().map(|h| (h.created_at, h.key)));
    }
    assert_eq!(seen.len(), 26);
    assert_eq!(seen[0].1, "submission:1");
    assert_eq!(seen[1].1, "submission:26");
    assert!(seen.windows(2).all(|w| w[0].0 >= w[1].0));
    let mut ks: Vec<_> = seen.iter().map(|s| s.1.clone()).collect();
    ks.sort();
    ks.dedup();
    assert_eq!(ks.len(), 26, "no document on two pages");

    // Beyond the end: empty, the total still known.
    q.offset = 100;
    let r = idx.search(&q).unwrap();
    assert_eq!((r.total, r.hits.len()), (26, 0));
    // Limits.
    q.offset = 10_001;
    assert_eq!(idx.search(&q).unwrap_err().code(), "invalid_query");
    q.offset = 0;
    q.limit = 1_000;
    assert_eq!(idx.search(&q).unwrap().hits.len(), 26);
}

#[test]
fn blank_text_lists_everything_in_scope_newest_first() {
    let mut docs = varied();
    docs.push(doc("submission:9", "Другое", "совсем другое"));
    let idx = index(&docs);
    let r = search(&idx, "  ");
    assert_eq!(r.total, 4);
    assert_eq!(
        keys(&r),
        ["submission:9", "incident:3", "answer:2", "submission:1"]
    );
    let mut q = query("");
    q.filters.category = Some(2);
    q.scope = Scope::Orgs(vec![300]);
    assert_eq!(keys(&idx.search(&q).unwrap()), ["incident:3"]);
}

#[test]
fn snippets_mark_the_matches_and_escape_html() {
    let idx = index(&[doc(
        "submission:1",
        "<b>Яма</b>",
        "<script>alert('яма')</script> Яма & выбоины на дорогах \"у школы\"",
    )]);
    let r = search(&idx, "ямы дорога");
    let hit = &r.hits[0];
    assert_eq!(
        hit.title, "<b>Яма</b>",
        "the title is raw text; the caller escapes it"
    );
    assert_eq!(
        hit.snippet_html,
        "&lt;script&gt;alert(&#39;<mark>яма</mark>&#39;)&lt;/script&gt; <mark>Яма</mark> \
         &amp; выбоины на <mark>дорогах</mark> &quot;у школы&quot;"
    );
    assert_eq!(hit.kind, DocKind::Submission);
    assert_eq!(hit.submission, Some(1));
    assert!(hit.score > 0.0);
    // Prefix matches are marked as well.
    let r = search(&idx, "выбо*");
    assert!(r.hits[0].snippet_html.contains("<mark>выбоины</mark>"));
}

#[test]
fn garbage_is_no_hits_or_an_invalid_query() {
    let idx = garbage_index();
    let cases: Vec<(String, &str)> = vec![
        ("\0\u{1}\u{7f}\u{1b}[31m".into(), "ok"),
        ("!@#$%^&*()_+-=[]{};':\",./<>?\\|`~".into(), "ok"),
        ("*".repeat(999), "ok"),
        ("\"".repeat(999), "ok"),
        ("а".repeat(999), "ok"),
        ("а".repeat(10_000), "invalid_query"),
        (
            (0..40).map(|i| format!("слово{i} ")).collect(),
            "invalid_query",
        ),
        ("яма ".repeat(40), "ok"),
        ("ab* cd*".into(), "invalid_query"),
        (
            "AND OR NOT title:яма field:[a TO b] ~2 ^3 /regex/".into(),
            "ok",
        ),
        ("\u{feff}\u{200b}\u{301}яма\u{fffd}".into(), "ok"),
    ];
    for (text, expected) in cases {
        match idx.search(&query(&text)) {
            Ok(_) => assert_eq!(expected, "ok", "{text:?}"),
            Err(e) => assert_eq!(e.code(), expected, "{text:?}: {e}"),
        }
    }
}

fn garbage_index() -> SearchIndex {
    index(&[
        doc(
            "submission:1",
            "Яма",
            "яма на дороге <script> & \"кавычки\" ё Ё * ** \\",
        ),
        doc(
            "answer:2",
            "Ответ",
            "ответ: яма заделана; (скобки) [квадратные] {фигурные} ~^",
        ),
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn no_input_makes_it_panic(
        text in prop_oneof![
            any::<String>(),
            "[\\x00-\\x1f\"*:~^()\\[\\]{}!+\\-\\\\/ ]{0,64}",
            "[а-яё\"* ]{0,200}",
            proptest::collection::vec(any::<char>(), 9_000..10_000)
                .prop_map(|c| c.into_iter().collect::<String>()),
            "(\\PC{1,8}[ *\"]){1,2000}",
        ],
        limit in 0usize..200,
        offset in 0usize..12_000,
        newest in any::<bool>(),
    ) {
        thread_local! { static INDEX: SearchIndex = garbage_index(); }
        let mut q = query(&text);
        q.limit = limit;
        q.offset = offset;
        q.sort = if newest { Sort::Newest } else { Sort::Relevance };
        let outcome = INDEX.with(|idx| idx.search(&q));
        match outcome {
            Ok(r) => prop_assert!(r.hits.len() <= limit.min(100)),
            Err(e) => prop_assert_eq!(e.code(), "invalid_query", "{}", e),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn no_input_makes_similar_panic(
        text in prop_oneof![
            any::<String>(),
            "[\\x00-\\x1f\"*:~^()\\[\\]{}!+\\-\\\\/ ]{0,64}",
            "[а-яё\"* ]{0,400}",
            proptest::collection::vec(any::<char>(), 9_000..10_000)
                .prop_map(|c| c.into_iter().collect::<String>()),
            "(\\PC{1,8}[ *\"]){1,2000}",
        ],
        limit in 0usize..200,
        subcategory in proptest::option::of(any::<i64>()),
        exclude in proptest::option::of(any::<i64>()),
        public_only in any::<bool>(),
        open_only in any::<bool>(),
    ) {
        thread_local! { static INDEX: SearchIndex = garbage_index(); }
        let q = SimilarQuery {
            text,
            subcategory,
            region: None,
            municipality: None,
            public_only,
            open_only,
            exclude,
            scope: Scope::All,
            limit,
        };
        let hits = INDEX.with(|idx| idx.similar(&q)).unwrap();
        prop_assert!(hits.len() <= limit.min(20));
        prop_assert!(hits.iter().all(|h| h.kind == DocKind::Submission));
    }
}

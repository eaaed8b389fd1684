//! "More like this" (`SearchIndex::similar`), and the kinds of documents besides
//! submissions and answers: register incidents, social-media incidents and posts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use otklik_search::{
    DocKind, Filters, IndexedDoc, Scope, SearchIndex, SearchQuery, SimilarQuery, Sort,
};

fn submission(id: i64, text: &str) -> IndexedDoc {
    IndexedDoc {
        key: format!("submission:{id}"),
        kind: DocKind::Submission,
        submission: Some(id),
        title: format!("2026-{id:07} · Ямы и выбоины"),
        text: text.to_string(),
        status: Some("registered".to_string()),
        category: Some(1),
        subcategory: Some(10),
        region: Some(77),
        municipality: Some(7701),
        org: Some(100),
        channel: Some("portal".to_string()),
        author: Some(1000 + id),
        created_at: 1_700_000_000 + id,
        public: true,
        parent: None,
    }
}

fn like(text: &str) -> SimilarQuery {
    SimilarQuery {
        text: text.to_string(),
        subcategory: Some(10),
        region: Some(77),
        municipality: None,
        public_only: false,
        open_only: false,
        exclude: None,
        scope: Scope::All,
        limit: 10,
    }
}

fn keys(hits: &[otklik_search::Hit]) -> Vec<&str> {
    hits.iter().map(|h| h.key.as_str()).collect()
}

const TYPED: &str = "Яма на дороге у дома 5 по улице Ленина";

fn corpus() -> SearchIndex {
    let index = SearchIndex::in_memory().unwrap();
    let mut docs = vec![
        submission(1, "Огромная яма на улице Ленина возле дома 5"),
        submission(2, "Яма на улице Гагарина, машины бьют колёса"),
        submission(3, "Не вывозят мусор во дворе дома 12"),
        submission(4, "Сломан светофор на перекрёстке"),
    ];
    // Another subcategory, another region: the same words, never suggested.
    let mut other = submission(5, "Огромная яма на улице Ленина возле дома 5");
    other.subcategory = Some(11);
    docs.push(other);
    let mut far = submission(6, "Огромная яма на улице Ленина возле дома 5");
    far.region = Some(50);
    docs.push(far);
    // An answer with the same words is not a submission.
    let mut answer = submission(7, "Яма на улице Ленина у дома 5 заделана");
    answer.key = "answer:70".to_string();
    answer.kind = DocKind::Answer;
    answer.submission = Some(1);
    docs.push(answer);
    index.apply(&docs, &[], 1).unwrap();
    index
}

#[test]
fn a_reworded_duplicate_is_found_first() {
    let index = corpus();
    let hits = index.similar(&like(TYPED)).unwrap();
    assert_eq!(keys(&hits).first(), Some(&"submission:1"), "{hits:?}");
    assert!(hits.iter().all(|h| h.kind == DocKind::Submission));
    // The closer text ranks above one sharing fewer words.
    let at = |key: &str| keys(&hits).iter().position(|k| *k == key);
    if let Some(two) = at("submission:2") {
        assert!(at("submission:1").unwrap() < two);
        assert!(hits[0].score > hits[two].score);
    }
    // Unrelated texts do not come.
    assert!(
        at("submission:3").is_none() && at("submission:4").is_none(),
        "{hits:?}"
    );
    assert!(
        hits[0].snippet_html.contains("<mark>"),
        "{}",
        hits[0].snippet_html
    );
}

#[test]
fn other_subcategories_and_regions_are_not_suggested() {
    let index = corpus();
    let found = keys(&index.similar(&like(TYPED)).unwrap())
        .into_iter()
        .map(str::to_owned)
        .collect::<Vec<_>>();
    assert!(!found.contains(&"submission:5".to_owned()));
    assert!(!found.contains(&"submission:6".to_owned()));
    // Without those filters they are found.
    let mut q = like(TYPED);
    q.subcategory = None;
    q.region = None;
    let all = index.similar(&q).unwrap();
    for key in ["submission:1", "submission:5", "submission:6"] {
        assert!(keys(&all).contains(&key), "{key}: {all:?}");
    }
    // The municipality filters too.
    q.municipality = Some(9999);
    assert!(index.similar(&q).unwrap().is_empty());
}

#[test]
fn public_open_exclude_and_scope_are_respected() {
    let index = SearchIndex::in_memory().unwrap();
    let mut private = submission(1, "Огромная яма на улице Ленина возле дома 5");
    private.public = false;
    let mut answered = submission(2, "Глубокая яма на улице Ленина у дома 5");
    answered.status = Some("answered".to_string());
    let mut rejected = submission(3, "Яма на улице Ленина у дома 5, опять яма");
    rejected.status = Some("rejected".to_string());
    let mut elsewhere = submission(4, "Яма на улице Ленина около дома 5");
    elsewhere.org = Some(200);
    index
        .apply(&[private, answered, rejected, elsewhere], &[], 1)
        .unwrap();
    let found = |q: &SimilarQuery| {
        let mut k: Vec<String> = index
            .similar(q)
            .unwrap()
            .into_iter()
            .map(|h| h.key)
            .collect();
        k.sort();
        k
    };
    let q = like(TYPED);
    // A rejected submission is never suggested.
    assert_eq!(found(&q), ["submission:1", "submission:2", "submission:4"]);
    assert_eq!(
        found(&SimilarQuery {
            public_only: true,
            ..q.clone()
        }),
        ["submission:2", "submission:4"]
    );
    assert_eq!(
        found(&SimilarQuery {
            open_only: true,
            ..q.clone()
        }),
        ["submission:1", "submission:4"]
    );
    assert_eq!(
        found(&SimilarQuery {
            exclude: Some(1),
            ..q.clone()
        }),
        ["submission:2", "submission:4"]
    );
    assert_eq!(
        found(&SimilarQuery {
            scope: Scope::Orgs(vec![200]),
            ..q.clone()
        }),
        ["submission:4"]
    );
    assert_eq!(
        found(&SimilarQuery {
            scope: Scope::Author(1002),
            ..q.clone()
        }),
        ["submission:2"]
    );
    assert!(found(&SimilarQuery {
        scope: Scope::Regions(vec![]),
        ..q.clone()
    })
    .is_empty());
    assert_eq!(
        index
            .similar(&SimilarQuery {
                limit: 1,
                ..q.clone()
            })
            .unwrap()
            .len(),
        1
    );
    assert!(index
        .similar(&SimilarQuery { limit: 0, ..q })
        .unwrap()
        .is_empty());
}

#[test]
fn enough_words_must_match() {
    let index = corpus();
    // One content word: that word is enough.
    assert!(!index.similar(&like("яма")).unwrap().is_empty());
    // Two words: both are needed; «светофор» alone in doc 4 is not similar to «яма светофор».
    let hits = index.similar(&like("светофор яма")).unwrap();
    assert!(hits.is_empty(), "{hits:?}");
    // Nothing to look for: nothing found, no error.
    for text in ["", "   \t\n", "и на в по у", "!!! ... ***", "\"«»", "Ё"] {
        assert!(index.similar(&like(text)).unwrap().is_empty(), "{text:?}");
    }
    // A long text (more than 5 000 characters) is read up to its limit.
    let long = format!("{TYPED} {}", "слово ".repeat(2_000));
    let hits = index.similar(&like(&long)).unwrap();
    assert_eq!(keys(&hits).first(), Some(&"submission:1"));
}

fn other_kind(key: &str, kind: DocKind, title: &str, text: &str) -> IndexedDoc {
    IndexedDoc {
        key: key.to_string(),
        kind,
        submission: None,
        title: title.to_string(),
        text: text.to_string(),
        status: Some("open".to_string()),
        category: Some(1),
        subcategory: Some(10),
        region: Some(77),
        municipality: None,
        org: Some(100),
        channel: Some("vk".to_string()),
        author: None,
        created_at: 1_700_000_000,
        public: false,
        parent: Some(7),
    }
}

#[test]
fn incidents_social_incidents_and_posts_round_trip() {
    let index = SearchIndex::in_memory().unwrap();
    let docs = [
        other_kind(
            "incident:3",
            DocKind::Incident,
            "Инцидент № 3 · Нарушен срок ответа",
            "Нарушен срок ответа 2026-0000012 Ямы и выбоины",
        ),
        other_kind(
            "social:7",
            DocKind::Social,
            "Прорвало трубу на Садовой",
            "Прорвало трубу на Садовой Казань",
        ),
        other_kind(
            "post:9",
            DocKind::Post,
            "Пост · vk",
            "Кипяток хлещет из трубы на Садовой",
        ),
        submission(1, "Прорвало трубу во дворе"),
    ];
    index.apply(&docs, &[], 1).unwrap();
    let q = |text: &str, kinds: Vec<DocKind>, scope: Scope| SearchQuery {
        text: text.to_string(),
        filters: Filters {
            kinds,
            ..Filters::default()
        },
        scope,
        sort: Sort::Relevance,
        limit: 20,
        offset: 0,
    };
    let post = index.search(&q("кипяток", vec![], Scope::All)).unwrap();
    assert_eq!(post.hits.len(), 1);
    let hit = &post.hits[0];
    assert_eq!(
        (hit.key.as_str(), hit.kind, hit.parent, hit.submission),
        ("post:9", DocKind::Post, Some(7), None)
    );
    let trubu = index.search(&q("трубу", vec![], Scope::All)).unwrap();
    let mut kinds: Vec<(String, u64)> = trubu.facets.kind.clone();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            ("post".to_string(), 1),
            ("social".to_string(), 1),
            ("submission".to_string(), 1)
        ]
    );
    let only = index
        .search(&q("трубу", vec![DocKind::Social], Scope::All))
        .unwrap();
    assert_eq!(only.hits[0].key, "social:7");
    let incident = index
        .search(&q("срок", vec![DocKind::Incident], Scope::Orgs(vec![100])))
        .unwrap();
    assert_eq!(incident.hits[0].key, "incident:3");
    // A citizen's scope never holds them: they have no author.
    let mine = index.search(&q("", vec![], Scope::Author(1001))).unwrap();
    assert_eq!(
        mine.hits.iter().map(|h| h.key.as_str()).collect::<Vec<_>>(),
        ["submission:1"]
    );
    // Nor does "more like this": submissions only.
    let mut like_pipe = like("прорвало трубу Садовой");
    like_pipe.subcategory = None;
    assert_eq!(keys(&index.similar(&like_pipe).unwrap()), ["submission:1"]);
    for kind in DocKind::ALL {
        assert_eq!(DocKind::parse(kind.as_str()), Some(kind));
    }
}

//! Indexing and query throughput of the search index over synthetic Russian documents.
//!
//!     N=1000000 Q=1000 cargo run --release -p otklik-search --example bench_search
//!
//! `N` documents (default 100 000) of 20–80 words about roads, lighting, transport, housing and
//! ecology are indexed in batches of 10 000 through `apply` into an index in a temporary
//! directory (`BENCH_DIR` to choose where; it is deleted at the end), then `Q` queries
//! (default 1000: words, phrases, prefixes, typos, filters and scopes) are timed one by one,
//! then `SIMILAR` (default `Q`) duplicate lookups: a new text of 15–40 words against the
//! public messages of its subcategory and region (as the submission form asks), or
//! against one organisation's open submissions (as an official's card asks).

use std::path::Path;
use std::time::Instant;

use otklik_search::{
    DocKind, Filters, IndexedDoc, Scope, SearchIndex, SearchQuery, SimilarQuery, Sort,
};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

const BATCH: usize = 10_000;

const ROADS: &str =
    "яма ямы ям ямой ямах дорога дороги дороге дорогу дорогой дорог дорожное асфальт асфальта \
     асфальтом выбоина выбоины выбоин тротуар тротуара тротуаре тротуары ремонт ремонта \
     ремонтом ремонте покрытие покрытия разметка разметки обочина обочине бордюр бордюра люк \
     люка люки колея колеи трещина трещины лужа лужи луж водосток водостока перекрёсток \
     перекрёстке светофор светофора светофоры знак знака знаки пешеходный переход перехода \
     улица улицы улице улиц проспект проспекта переулок переулке шоссе мост моста развязка \
     щебень грейдер проезжая часть заплатка заплатки";

const LIGHTING: &str =
    "фонарь фонари фонаря фонарей фонарном освещение освещения освещением свет света лампа \
     лампы ламп столб столба столбы темно темнота тёмный тёмном горит горят мигает уличное \
     уличного подсветка подсветки опора опоры провод провода проводов электричество \
     отключение отключения напряжение щиток щитка кабель кабеля прожектор светильник \
     светильники светильников включают выключают";

const TRANSPORT: &str =
    "автобус автобуса автобусы автобусов маршрут маршрута маршруте маршрутка маршрутки \
     остановка остановки остановке остановок троллейбус троллейбуса трамвай трамвая трамваи \
     расписание расписания расписанию интервал интервалы водитель водителя водители проезд \
     проезда парковка парковки парковке стоянка стоянки метро электричка электрички пассажиры \
     пассажиров билет билета такси павильон павильона опаздывает переполнен кондуктор пробки \
     пробка";

const HOUSING: &str =
    "подъезд подъезда подъезде подъездах крыша крыши кровля кровли протекает протекла лифт \
     лифта лифте отопление отопления батареи батарея горячая горячей холодная вода воды воду \
     труба трубы трубу канализация канализации управляющая компания компании двор двора дворе \
     дворы детская площадка площадки площадке капитальный капремонт капремонта квартира \
     квартиры квартире дом дома домов доме фасад фасада мусоропровод счётчик счётчика плесень \
     подвал подвала подвале затопило тепло штукатурка окна окно домофон";

const ECOLOGY: &str =
    "мусор мусора свалка свалки свалку контейнер контейнеры контейнеров вывоз вывоза дерево \
     деревья деревьев вырубка вырубки парк парка парке сквер сквера газон газона газоне река \
     реки реке загрязнение загрязнения выбросы выбросов запах запаха дым дыма завод завода \
     отходы отходов снег снега уборка уборки наледь сосульки гололёд гололёда озеленение \
     трава траву листья ёлка ёлки берёза берёзы пруд пруда пляж собаки бродячие";

const COMMON: &str =
    "жители жителей администрация администрации просим прошу срочно давно месяц месяца неделю \
     недели год года несколько опасно дети детей пожилые школа школы школе больница больницы \
     магазин магазина утром вечером ночью постоянно сломан сломана сломались разбит разбита \
     отсутствует требуется необходимо установить заменить отремонтировать убрать проверить \
     принять меры возле около рядом напротив у на в и по с не уже очень нет после зимой летом \
     весной осенью ещё всё её обращение обращения жалоба ответ ответа вопрос проблема \
     проблемы ситуация никто ничего делает сделано выполнены работы работ подрядчик \
     подрядчика срок сроки район района микрорайон посёлок посёлка город города центр";

/// The word lists, split.
struct Words {
    topics: Vec<Vec<&'static str>>,
    common: Vec<&'static str>,
}

impl Words {
    fn new() -> Self {
        let split = |s: &'static str| s.split_whitespace().collect::<Vec<_>>();
        Words {
            topics: [ROADS, LIGHTING, TRANSPORT, HOUSING, ECOLOGY]
                .into_iter()
                .map(split)
                .collect(),
            common: split(COMMON),
        }
    }

    fn topic(&self, rng: &mut StdRng) -> &[&'static str] {
        &self.topics[rng.gen_range(0..self.topics.len())]
    }
}
const STATUSES: &[&str] = &[
    "registered",
    "in_work",
    "answered",
    "closed",
    "rejected",
    "redirected",
    "awaiting_clarification",
];
const CHANNELS: &[&str] = &["portal", "widget", "api", "open311", "mobile"];
const REGIONS: i64 = 89;
const ORGS: i64 = 3_000;
const CATEGORIES: i64 = 30;
const FROM: i64 = 1_704_067_200; // 2024-01-01
const TO: i64 = 1_798_761_600; // 2027-01-01

/// A word of the topic (skewed towards the start of its list, like real frequencies) or,
/// one time in three, a common word.
fn word(rng: &mut StdRng, words: &Words, topic: &[&'static str]) -> &'static str {
    let list = if rng.gen_bool(0.33) {
        &words.common[..]
    } else {
        topic
    };
    let u: f64 = rng.gen();
    let i = ((u * u) * list.len() as f64) as usize;
    list[i.min(list.len() - 1)]
}

fn sentence(rng: &mut StdRng, w: &Words, topic: &[&'static str], words: usize) -> String {
    let mut s = String::with_capacity(words * 9);
    for i in 0..words {
        if i > 0 {
            s.push(if rng.gen_ratio(1, 12) { ',' } else { ' ' });
            if s.ends_with(',') {
                s.push(' ');
            }
        }
        s.push_str(word(rng, w, topic));
    }
    s.push('.');
    s
}

fn document(rng: &mut StdRng, w: &Words, i: u64, n: u64) -> IndexedDoc {
    let topic = w.topic(rng);
    let kind = match rng.gen_range(0..100) {
        0..=69 => DocKind::Submission,
        70..=94 => DocKind::Answer,
        _ => DocKind::Incident,
    };
    let submission = i as i64 + 1;
    let title_words = rng.gen_range(3..7);
    let title = format!(
        "2026-{submission:07} · {}",
        sentence(rng, w, topic, title_words)
    );
    let text_words = rng.gen_range(20..=80);
    let text = sentence(rng, w, topic, text_words);
    let category = rng.gen_range(1..=CATEGORIES);
    IndexedDoc {
        key: format!("{}:{submission}", kind.as_str()),
        kind,
        submission: Some(submission),
        title,
        text,
        status: Some(STATUSES[rng.gen_range(0..STATUSES.len())].to_string()),
        category: Some(category),
        subcategory: Some(category * 10 + rng.gen_range(1..=5)),
        region: Some(rng.gen_range(1..=REGIONS)),
        municipality: Some(rng.gen_range(1..=20_000)),
        org: Some(rng.gen_range(1..=ORGS)),
        channel: Some(CHANNELS[rng.gen_range(0..CHANNELS.len())].to_string()),
        author: Some(rng.gen_range(1..=(n / 5).max(1) as i64)),
        created_at: rng.gen_range(FROM..TO),
        // Half the messages are public (duplicate suggestions look at those).
        public: rng.gen_bool(0.5),
        parent: None,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Shape {
    Words,
    Phrase,
    Prefix,
    Typo,
    Filtered,
    Scoped,
    Newest,
}

fn random_query(rng: &mut StdRng, w: &Words, n: u64) -> (Shape, SearchQuery) {
    let topic = w.topic(rng);
    let words = |rng: &mut StdRng, k: usize| {
        let mut v: Vec<&str> = Vec::new();
        while v.len() < k {
            // Queries use the topic words, uniformly (people search for the specific ones).
            let pick = *topic.choose(rng).unwrap_or(&"яма");
            if !v.contains(&pick) {
                v.push(pick);
            }
        }
        v.join(" ")
    };
    let shape = match rng.gen_range(0..100) {
        0..=34 => Shape::Words,
        35..=49 => Shape::Phrase,
        50..=59 => Shape::Prefix,
        60..=64 => Shape::Typo,
        65..=79 => Shape::Filtered,
        80..=92 => Shape::Scoped,
        _ => Shape::Newest,
    };
    let mut q = SearchQuery {
        text: String::new(),
        filters: Filters::default(),
        scope: Scope::All,
        sort: Sort::Relevance,
        limit: 20,
        offset: 0,
    };
    let k = rng.gen_range(1..=3);
    q.text = match shape {
        Shape::Words | Shape::Filtered | Shape::Scoped | Shape::Newest => words(rng, k),
        Shape::Phrase => {
            // Two words next to each other in some document.
            let s = sentence(rng, w, topic, 12);
            let ws: Vec<&str> = s
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| w.chars().count() > 3)
                .collect();
            let i = rng.gen_range(0..ws.len().saturating_sub(1).max(1));
            format!("\"{}\"", ws[i..(i + 2).min(ws.len())].join(" "))
        }
        Shape::Prefix => {
            let long: Vec<&str> = topic
                .iter()
                .copied()
                .filter(|w| w.chars().count() >= 6)
                .collect();
            let pick = long.choose(rng).copied().unwrap_or("освещение");
            let cut = rng.gen_range(4..=5);
            format!("{}*", pick.chars().take(cut).collect::<String>())
        }
        Shape::Typo => {
            let long: Vec<&str> = topic
                .iter()
                .copied()
                .filter(|w| w.chars().count() >= 6)
                .collect();
            let pick = long.choose(rng).copied().unwrap_or("освещение");
            let mut chars: Vec<char> = pick.chars().collect();
            let at = rng.gen_range(1..chars.len());
            chars[at] = if chars[at] == 'о' { 'а' } else { 'о' };
            chars.into_iter().collect()
        }
    };
    match shape {
        Shape::Filtered => match rng.gen_range(0..4) {
            0 => q.filters.region = Some(rng.gen_range(1..=REGIONS)),
            1 => q.filters.status = Some(STATUSES[rng.gen_range(0..STATUSES.len())].into()),
            2 => {
                q.filters.category = Some(rng.gen_range(1..=CATEGORIES));
                q.filters.kinds = vec![DocKind::Submission];
            }
            _ => {
                let from = rng.gen_range(FROM..TO - 90 * 86_400);
                q.filters.from = Some(from);
                q.filters.to = Some(from + 90 * 86_400);
            }
        },
        Shape::Scoped => {
            q.scope = match rng.gen_range(0..3) {
                0 => Scope::Author(rng.gen_range(1..=(n / 5).max(1) as i64)),
                1 => Scope::Orgs(
                    (0..rng.gen_range(1..=3))
                        .map(|_| rng.gen_range(1..=ORGS))
                        .collect(),
                ),
                _ => Scope::Regions(vec![rng.gen_range(1..=REGIONS)]),
            }
        }
        Shape::Newest => q.sort = Sort::Newest,
        _ => {}
    }
    (shape, q)
}

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

fn dir_size(path: &Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_size(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

/// The CPU seconds this process used so far (Linux; 0 elsewhere): the machine may be shared, so
/// documents per CPU second are reported beside documents per second.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // The fields after the command name (in parentheses, which may hold spaces).
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are the 14th and 15th fields of the line, in clock ticks (100 a second).
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n = env("N", 100_000);
    let queries = env("Q", 1_000);
    let parent =
        std::env::var("BENCH_DIR").unwrap_or_else(|_| std::env::temp_dir().display().to_string());
    let dir = tempfile::Builder::new()
        .prefix("otklik-search-bench")
        .tempdir_in(parent)?;
    // `BENCH_INDEX`: an index directory kept between runs (indexed only if its cursor is not N).
    let kept = std::env::var_os("BENCH_INDEX").map(std::path::PathBuf::from);
    let path = kept.clone().unwrap_or_else(|| dir.path().join("index"));
    println!(
        "documents: {n}, queries: {queries}, cores: {}, index: {}",
        std::thread::available_parallelism().map_or(1, |c| c.get()),
        path.display()
    );
    let opening = Instant::now();
    let mut index = SearchIndex::open(&path)?;
    println!(
        "opened in {:.2} s (facet codes: {:.0} MB)",
        opening.elapsed().as_secs_f64(),
        index.facet_codes_bytes() as f64 / 1e6
    );
    if kept.is_some() && index.cursor() != n {
        drop(index);
        index = SearchIndex::recreate(&path)?;
    }

    let words = Words::new();
    let mut rng = StdRng::seed_from_u64(20_260_101);
    let started = Instant::now();
    let cpu_started = cpu_seconds();
    let mut generating = 0.0;
    let mut indexed = 0u64;
    let mut bytes = 0u64;
    let mut next_report = 1_000_000;
    let reused = index.cursor() == n;
    if reused {
        println!("reusing the index in {}", path.display());
        indexed = n;
    }
    while indexed < n {
        let t = Instant::now();
        let size = BATCH.min((n - indexed) as usize);
        let batch: Vec<IndexedDoc> = (0..size)
            .map(|j| document(&mut rng, &words, indexed + j as u64, n))
            .collect();
        bytes += batch
            .iter()
            .map(|d| (d.title.len() + d.text.len()) as u64)
            .sum::<u64>();
        generating += t.elapsed().as_secs_f64();
        indexed += size as u64;
        index.apply(&batch, &[], indexed)?;
        if indexed >= next_report {
            next_report += 1_000_000;
            let s = started.elapsed().as_secs_f64() - generating;
            println!("  {indexed} indexed, {:.0} documents/s", indexed as f64 / s);
        }
    }
    let total = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_started;
    let indexing = total - generating;
    if !reused {
        println!(
        "indexed {n} documents ({:.0} MB of text) in {indexing:.1} s (+{generating:.1} s generating): {:.0} documents/s; {:.0} documents per CPU second (all threads, generating included)",
            bytes as f64 / 1e6,
            n as f64 / indexing,
            n as f64 / cpu.max(1e-9)
        );
    }
    let t = Instant::now();
    let cpu_merging = cpu_seconds();
    let before = index.segments();
    index.wait_merging()?;
    println!(
        "background merges finished {:.1} s ({:.1} CPU s) after the last commit: {} segments → {}",
        t.elapsed().as_secs_f64(),
        cpu_seconds() - cpu_merging,
        before,
        index.segments()
    );
    println!(
        "index: {} documents, cursor {}, {:.0} MB on disk, facet codes {:.0} MB in memory",
        index.count(),
        index.cursor(),
        dir_size(&path) as f64 / 1e6,
        index.facet_codes_bytes() as f64 / 1e6
    );

    // Warm the caches (page cache, term dictionaries) a little first, as a server would be.
    let mut qrng = StdRng::seed_from_u64(7);
    for _ in 0..50 {
        let (_, q) = random_query(&mut qrng, &words, n);
        index.search(&q)?;
    }
    let cpu_querying = cpu_seconds();
    let querying = Instant::now();
    let mut times = Vec::with_capacity(queries as usize);
    let mut by_shape: std::collections::BTreeMap<Shape, Vec<f64>> = Default::default();
    // CPU seconds per kind of query (both search threads): the machine is shared, and the CPU a
    // query takes moves less with the load than its wall time.
    let mut cpu_by_shape: std::collections::BTreeMap<Shape, f64> = Default::default();
    let (mut hits, mut fuzzy, mut empty) = (0u64, 0u64, 0u64);
    // `BENCH_LOG`: a file to write each query to (kind, ms, matches, query), to see which are slow.
    let mut log = match std::env::var_os("BENCH_LOG") {
        Some(p) => Some(std::io::BufWriter::new(std::fs::File::create(p)?)),
        None => None,
    };
    for _ in 0..queries {
        let (shape, q) = random_query(&mut qrng, &words, n);
        let cpu = cpu_seconds();
        let t = Instant::now();
        let r = index.search(&q)?;
        let ms = t.elapsed().as_secs_f64() * 1e3;
        *cpu_by_shape.entry(shape).or_default() += cpu_seconds() - cpu;
        times.push(ms);
        by_shape.entry(shape).or_default().push(ms);
        if let Some(log) = log.as_mut() {
            use std::io::Write;
            writeln!(
                log,
                "{shape:?}\t{ms:.2}\t{}\t{:?} {:?} {:?} {:?}",
                r.total, q.text, q.filters, q.scope, q.sort
            )?;
        }
        hits += r.total;
        fuzzy += u64::from(r.fuzzy);
        empty += u64::from(r.total == 0);
    }
    println!(
        "querying: {:.1} s, {:.1} CPU s (CPU/wall {:.2})",
        querying.elapsed().as_secs_f64(),
        cpu_seconds() - cpu_querying,
        (cpu_seconds() - cpu_querying) / querying.elapsed().as_secs_f64().max(1e-9)
    );
    times.sort_by(f64::total_cmp);
    let mean = times.iter().sum::<f64>() / times.len().max(1) as f64;
    println!(
        "{} queries: p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms, mean {mean:.2} ms; mean hits {:.0}, no hits {empty}, typo fallback {fuzzy}",
        times.len(),
        percentile(&times, 0.5),
        percentile(&times, 0.95),
        percentile(&times, 0.99),
        times.last().copied().unwrap_or(0.0),
        hits as f64 / times.len().max(1) as f64,
    );
    for (shape, mut t) in by_shape {
        t.sort_by(f64::total_cmp);
        let cpu = cpu_by_shape.get(&shape).copied().unwrap_or(0.0);
        println!(
            "  {shape:?}: {} queries, p50 {:.2} ms, p95 {:.2} ms, mean CPU {:.1} ms",
            t.len(),
            percentile(&t, 0.5),
            percentile(&t, 0.95),
            cpu * 1e3 / t.len().max(1) as f64
        );
    }
    similar_phase(&index, &words, env("SIMILAR", queries))?;
    drop(index);
    dir.close()?;
    Ok(())
}

/// Times `count` duplicate lookups (`SearchIndex::similar`) one by one.
fn similar_phase(
    index: &SearchIndex,
    words: &Words,
    count: u64,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut rng = StdRng::seed_from_u64(11);
    let mut times = Vec::with_capacity(count as usize);
    let mut found = 0usize;
    for _ in 0..count {
        let topic = words.topic(&mut rng);
        let length = rng.gen_range(15..=40);
        let text = sentence(&mut rng, words, topic, length);
        let category = rng.gen_range(1..=CATEGORIES);
        let public_only = rng.gen_bool(0.5);
        let q = SimilarQuery {
            text,
            subcategory: Some(category * 10 + rng.gen_range(1..=5)),
            region: Some(rng.gen_range(1..=REGIONS)),
            municipality: None,
            public_only,
            open_only: !public_only,
            exclude: None,
            scope: if public_only {
                Scope::All
            } else {
                Scope::Orgs(vec![rng.gen_range(1..=ORGS)])
            },
            limit: 5,
        };
        let t = Instant::now();
        found += index.similar(&q)?.len();
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "{} duplicate lookups: p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms; mean found {:.1}",
        times.len(),
        percentile(&times, 0.5),
        percentile(&times, 0.95),
        percentile(&times, 0.99),
        found as f64 / times.len().max(1) as f64,
    );
    Ok(())
}

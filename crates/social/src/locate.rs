//! Where a post is about: the gazetteer of Russian places (`data/gazetteer.tsv`) and the
//! locator that finds the best place named in a text.
//!
//! # How names are matched
//!
//! Russian declines place names ("Казань", "в Казани", "Казанью") and derives adjectives
//! from them ("по Казанской улице") that must *not* count as the place. Stemming every word
//! of every post does not separate the two reliably (the Snowball stemmer gives "омск"
//! for both "Омск" and "омский"), and costs more. So the gazetteer works the other way round: once, when it is parsed, it generates the
//! case forms of every word of every name from the word's ending (the noun declensions,
//! and the adjective declensions for names such as "Нижний Новгород" or "Ленинский
//! район") and keeps them in one hash map. Adjectives derived from a name are never
//! generated, so they never match; forms are generated generously otherwise (a non-word
//! such as "казаня" costs a map entry and nothing else).
//!
//! Locating is then: split the text into words once (hyphens split too, so
//! "Ростове-на-Дону" is three words), look each lower-cased word up once, and compare a
//! name's further words with the following tokens. The longest name starting at a token
//! wins ("Нижний Новгород" over "Нижний").
//!
//! # Ambiguous names and confidence
//!
//! A name marked ambiguous is also a common word, a first name or a surname ("Орёл",
//! "Мирный", "Пушкин", "Владимир"). It counts only when written with a capital letter that
//! is not just the start of a sentence and not part of a person's name (after a common
//! first name, "Александр Пушкин", or before a capitalised word that is no place,
//! "Владимир Путин"), or after a preposition of place or "город", "г.", "пгт"; with
//! a preposition alone ("живу в орле") only when the source's region agrees. Nothing
//! counts right after "улица", "проспект", "имени" ("ул. Кирова" is a street).
//!
//! A name shared by several subjects ("Ленинский район", "Железногорск") is settled by
//! the other places in the text or by the source's region; a shared district that nothing
//! settles is dropped, a shared city or region falls back on the first line of the file
//! with a lower confidence.

use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// The gazetteer compiled into the crate.
const EMBEDDED_TSV: &str = include_str!("../data/gazetteer.tsv");

/// The header line the file may start with (after comments).
const HEADER: &str = "name\tkind\tregion\tambiguous";

/// The ISO 3166-2 codes of the federal subjects, in the order of
/// `crates/domain/data/ru-subjects.csv` (a test keeps the two in step).
const SUBJECTS: [&str; 89] = [
    "RU-AD", "RU-AL", "RU-BA", "RU-BU", "RU-DA", "RU-DPR", "RU-IN", "RU-KB", "RU-KL", "RU-KC",
    "RU-KR", "RU-KO", "RU-CR", "RU-ME", "RU-MO", "RU-SA", "RU-SE", "RU-TA", "RU-TY", "RU-UD",
    "RU-KK", "RU-CE", "RU-CU", "RU-LPR", "RU-ALT", "RU-ZAB", "RU-KAM", "RU-KDA", "RU-KYA",
    "RU-PER", "RU-PRI", "RU-STA", "RU-KHA", "RU-AMU", "RU-ARK", "RU-AST", "RU-BEL", "RU-BRY",
    "RU-VLA", "RU-VGG", "RU-VLG", "RU-VOR", "RU-ZAP", "RU-IVA", "RU-IRK", "RU-KGD", "RU-KLU",
    "RU-KEM", "RU-KIR", "RU-KOS", "RU-KGN", "RU-KRS", "RU-LEN", "RU-LIP", "RU-MAG", "RU-MOS",
    "RU-MUR", "RU-NIZ", "RU-NGR", "RU-NVS", "RU-OMS", "RU-ORE", "RU-ORL", "RU-PNZ", "RU-PSK",
    "RU-ROS", "RU-RYA", "RU-SAM", "RU-SAR", "RU-SAK", "RU-SVE", "RU-SMO", "RU-TAM", "RU-TVE",
    "RU-TOM", "RU-TUL", "RU-TYU", "RU-ULY", "RU-KHE", "RU-CHE", "RU-YAR", "RU-MOW", "RU-SPE",
    "RU-SEV", "RU-YEV", "RU-NEN", "RU-KHM", "RU-CHU", "RU-YAN",
];

// Confidence arithmetic (see `Gazetteer::score` and `choose`).
const MULTI_WORD_BONUS: f32 = 0.05;
const CONTEXT_BONUS: f32 = 0.1;
/// Per further mention of the same subject, at most two counted.
const AGREEMENT_BONUS: f32 = 0.05;
const HINT_AGREES_BONUS: f32 = 0.05;
/// The text names one subject, the source is configured for another.
const HINT_DISAGREES: f32 = 0.9;
/// The text names several subjects and the source's region picks one of them.
const HINT_SETTLES: f32 = 0.9;
/// The text names several subjects and nothing picks one.
const CONFLICT: f32 = 0.7;
/// A name shared by several subjects that nothing settles.
const SHARED_UNSETTLED: f32 = 0.6;
/// No place in the text: the source's configured region.
const HINT_ONLY: f32 = 0.4;
const MAX_CONFIDENCE: f32 = 0.99;

/// Words that make the next word more likely a place: prepositions of place (not "к",
/// "с", "о", "про", which take people as often: "вопрос к Энгельсу") and settlement words.
#[rustfmt::skip]
const CONTEXT_WORDS: &[&str] = &[
    "в", "во", "из", "изо", "по", "под", "подо", "на", "у", "до", "от", "около", "возле",
    "близ", "над", "через", "г", "гор", "город", "города", "городе", "городу", "городом", "пгт",
    "пос", "поселок", "поселке", "поселка", "село", "селе", "села", "деревня", "деревне",
    "деревни", "станица", "станице", "станицы", "мкр", "микрорайон", "микрорайоне",
    "микрорайона", "район", "районе", "района", "столица", "столице", "столицы",
];

/// Words after which a name is a street's or an institution's, not a place.
#[rustfmt::skip]
const STREET_WORDS: &[&str] = &[
    "ул", "улица", "улице", "улицу", "улицы", "улицей", "пр", "просп", "проспект", "проспекте",
    "проспекта", "пл", "площадь", "площади", "пер", "переулок", "переулке", "переулка",
    "бульвар", "бульваре", "бульвара", "наб", "набережная", "набережной", "шоссе", "им",
    "имени", "тупик", "проезд", "проезде", "аллея", "аллее",
];

/// Short words written with a full stop that does not end the sentence ("г. Орёл").
#[rustfmt::skip]
const ABBREVIATIONS: &[&str] = &[
    "г", "гор", "пгт", "пос", "мкр", "обл", "респ", "р", "д", "с", "ст", "ул", "пр", "просп",
    "пл", "пер", "наб", "им",
];

/// Common first names (declined when the gazetteer is built): a capitalised ambiguous
/// name after one is a surname ("Александр Пушкин", "Антон Чехов"), not a place.
#[rustfmt::skip]
const GIVEN_NAMES: &[&str] = &[
    "александр", "алексей", "анатолий", "андрей", "антон", "аркадий", "артем", "артур", "борис",
    "вадим", "валентин", "валерий", "василий", "виктор", "виталий", "владимир", "владислав",
    "вячеслав", "геннадий", "георгий", "глеб", "григорий", "даниил", "денис", "дмитрий",
    "евгений", "егор", "иван", "игорь", "илья", "кирилл", "константин", "лев", "леонид",
    "максим", "марат", "михаил", "никита", "николай", "олег", "павел", "петр", "роман",
    "руслан", "сергей", "станислав", "степан", "тимур", "федор", "юрий", "ярослав",
    "александра", "алена", "алина", "алла", "анастасия", "анна", "валентина", "валерия", "вера",
    "виктория", "галина", "дарья", "диана", "екатерина", "елена", "елизавета", "ирина",
    "карина", "кристина", "ксения", "любовь", "людмила", "маргарита", "марина", "мария",
    "надежда", "наталья", "нина", "оксана", "ольга", "полина", "светлана", "софья", "татьяна",
    "юлия",
];

/// Words that fix the case of the rest of a name: "Ростов-на-Дону" declines "Ростов" only.
const FIXING_WORDS: &[&str] = &["на", "под", "в", "у"];

/// What a place is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PlaceKind {
    /// A federal subject, by its official or colloquial name.
    Region,
    /// A city or town.
    City,
    /// A district or neighbourhood of a city, or a municipal district.
    District,
}

impl PlaceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PlaceKind::Region => "region",
            PlaceKind::City => "city",
            PlaceKind::District => "district",
        }
    }

    fn from_code(code: &str) -> Option<PlaceKind> {
        match code {
            "region" => Some(PlaceKind::Region),
            "city" => Some(PlaceKind::City),
            "district" => Some(PlaceKind::District),
            _ => None,
        }
    }

    /// More specific places win over less specific ones of the same subject.
    fn specificity(self) -> u8 {
        match self {
            PlaceKind::Region => 0,
            PlaceKind::City => 1,
            PlaceKind::District => 2,
        }
    }

    /// A district's name is the likeliest to be something else ("Центральный район").
    fn base_confidence(self) -> f32 {
        match self {
            PlaceKind::Region => 0.8,
            PlaceKind::City => 0.85,
            PlaceKind::District => 0.7,
        }
    }
}

/// The place a text is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Location {
    /// The federal subject's ISO 3166-2 code (`RU-TA`).
    pub region: String,
    /// The place's name as the gazetteer spells it ("Набережные Челны", "Подмосковье").
    pub place: String,
    pub kind: PlaceKind,
    /// 0..=1: how sure the locator is.
    pub confidence: f32,
}

/// A line of a gazetteer that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("gazetteer line {line}: {kind}")]
pub struct GazetteerError {
    /// 1-based.
    pub line: usize,
    pub kind: GazetteerErrorKind,
}

impl GazetteerError {
    /// A stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }
}

/// What is wrong with a gazetteer line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GazetteerErrorKind {
    #[error("expected 4 tab-separated columns, found {0}")]
    Columns(usize),
    #[error("the name has no letters")]
    EmptyName,
    #[error("unknown kind {0:?} (region, city or district)")]
    Kind(String),
    #[error("unknown region code {0:?}")]
    Region(String),
    #[error("ambiguous must be 0 or 1, found {0:?}")]
    Ambiguous(String),
    #[error("the same name, kind and region as line {0}")]
    Duplicate(usize),
}

impl GazetteerErrorKind {
    pub fn code(&self) -> &'static str {
        match self {
            GazetteerErrorKind::Columns(_) => "columns",
            GazetteerErrorKind::EmptyName => "empty_name",
            GazetteerErrorKind::Kind(_) => "kind",
            GazetteerErrorKind::Region(_) => "region",
            GazetteerErrorKind::Ambiguous(_) => "ambiguous",
            GazetteerErrorKind::Duplicate(_) => "duplicate",
        }
    }
}

/// One line of the gazetteer.
struct Entry {
    name: String,
    kind: PlaceKind,
    /// Index into `SUBJECTS`.
    region: u8,
    ambiguous: bool,
}

/// A distinct sequence of words, and the lines that spell it.
struct Name {
    words: Box<[u32]>,
    entries: Vec<u32>,
}

/// What a word does to the word after it.
#[derive(Debug, Clone, Copy, Default)]
struct Role {
    context: bool,
    street: bool,
    given_name: bool,
}

/// Everything known about one lower-cased word form.
#[derive(Default)]
struct Lexeme {
    /// The names' words this is a form of.
    words: Vec<u32>,
    role: Role,
}

/// Place names, their forms, and the lookups that find them in a text.
pub struct Gazetteer {
    entries: Vec<Entry>,
    names: Vec<Name>,
    /// Word id → the names starting with that word.
    by_first_word: Vec<Vec<u32>>,
    /// Lower-cased word form (ё read as е) → what it is.
    lexicon: HashMap<String, Lexeme>,
    /// Subject → its first `region` line, the subject's name.
    subject_names: Vec<Option<u32>>,
}

impl fmt::Debug for Gazetteer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gazetteer")
            .field("entries", &self.entries.len())
            .field("forms", &self.lexicon.len())
            .finish_non_exhaustive()
    }
}

impl Gazetteer {
    /// The gazetteer compiled into the crate, parsed on first use.
    pub fn embedded() -> &'static Gazetteer {
        static EMBEDDED: OnceLock<Gazetteer> = OnceLock::new();
        EMBEDDED.get_or_init(|| match Gazetteer::parse(EMBEDDED_TSV) {
            Ok(gazetteer) => gazetteer,
            // The file is compiled in and parsed by the tests: this is a build defect.
            Err(e) => panic!("the embedded gazetteer is invalid: {e}"),
        })
    }

    /// Reads `name<TAB>kind<TAB>region<TAB>ambiguous` lines; blank lines, lines starting
    /// with `#` and the header line are skipped.
    pub fn parse(tsv: &str) -> Result<Gazetteer, GazetteerError> {
        let mut builder = Builder::new();
        let mut header_allowed = true;
        for (index, raw) in tsv.lines().enumerate() {
            let text = raw.trim_end_matches('\r');
            if text.trim().is_empty() || text.starts_with('#') {
                continue;
            }
            if std::mem::take(&mut header_allowed) && text == HEADER {
                continue;
            }
            let line = index + 1;
            let error = |kind| GazetteerError { line, kind };
            let row = Row::parse(text).map_err(error)?;
            builder.add(&row, line).map_err(error)?;
        }
        Ok(builder.gazetteer)
    }

    /// Best place named in `text`; `hint` is the source's configured region (ISO) if any.
    /// With no place in the text, the hint's subject with a low confidence.
    pub fn locate(&self, text: &str, hint: Option<&str>) -> Option<Location> {
        let hint = hint.and_then(subject_index);
        let tokens = self.tokenize(text);
        let mentions = self.mentions(&tokens);
        let candidates = self.candidates(&tokens, &mentions, hint);
        match choose(&candidates, hint) {
            Some((best, confidence)) => Some(self.location(best.entry, confidence)),
            None => self.hint_only(hint),
        }
    }

    fn location(&self, entry: u32, confidence: f32) -> Location {
        let entry = &self.entries[entry as usize];
        Location {
            region: SUBJECTS[usize::from(entry.region)].to_owned(),
            place: entry.name.clone(),
            kind: entry.kind,
            confidence,
        }
    }

    fn hint_only(&self, hint: Option<u8>) -> Option<Location> {
        let entry = self.subject_names[usize::from(hint?)]?;
        Some(self.location(entry, HINT_ONLY))
    }

    fn tokenize(&self, text: &str) -> Vec<Token<'_>> {
        let mut tokens = Vec::with_capacity(text.len() / 8);
        let mut buf = String::with_capacity(32);
        let mut from = 0;
        let mut previous: Option<&str> = None;
        while let Some((start, end)) = next_word(text, from) {
            let gap = classify_gap(&text[from..start], previous);
            let word = &text[start..end];
            self.push_word(word, gap, &mut buf, &mut tokens);
            previous = Some(word);
            from = end;
        }
        tokens
    }

    /// One word of the text, split at its hyphens.
    fn push_word<'g>(&'g self, word: &str, gap: Gap, buf: &mut String, out: &mut Vec<Token<'g>>) {
        // "р-н", "р-не", "р-на": the one hyphenated abbreviation worth reading.
        if word.len() <= 10 && word.contains(is_hyphen) {
            lowercase(word, buf);
            if let Some(ending) = buf.strip_prefix("р-н") {
                *buf = format!("район{ending}");
                out.push(Token {
                    lexeme: self.lexicon.get(buf.as_str()),
                    upper: false,
                    gap,
                });
                return;
            }
        }
        for (i, part) in word.split(is_hyphen).enumerate() {
            lowercase(part, buf);
            expand_abbreviation(buf);
            out.push(Token {
                lexeme: self.lexicon.get(buf.as_str()),
                upper: part.chars().next().is_some_and(is_upper),
                gap: if i == 0 { gap } else { Gap::Space },
            });
        }
    }

    /// Names found in the text, left to right, the longest at each position.
    fn mentions(&self, tokens: &[Token<'_>]) -> Vec<Mention> {
        let mut found = Vec::new();
        let mut i = 0;
        while i < tokens.len() {
            match self.longest_at(tokens, i) {
                Some(mention) => {
                    i += mention.len;
                    found.push(mention);
                }
                None => i += 1,
            }
        }
        found
    }

    fn longest_at(&self, tokens: &[Token<'_>], start: usize) -> Option<Mention> {
        let lexeme = tokens[start].lexeme?;
        let mut best: Option<Mention> = None;
        for &word in &lexeme.words {
            for &name_id in &self.by_first_word[word as usize] {
                let name = &self.names[name_id as usize];
                if !name_continues(name, tokens, start) {
                    continue;
                }
                let len = name.words.len();
                match &mut best {
                    Some(b) if b.len > len => {}
                    Some(b) if b.len == len => b.entries.extend_from_slice(&name.entries),
                    _ => {
                        best = Some(Mention {
                            start,
                            len,
                            entries: name.entries.clone(),
                        })
                    }
                }
            }
        }
        best
    }

    /// Each mention's entries scored; a mention of one subject gives a candidate at once,
    /// a shared name waits for the others to settle it.
    fn candidates(
        &self,
        tokens: &[Token<'_>],
        mentions: &[Mention],
        hint: Option<u8>,
    ) -> Vec<Candidate> {
        let mut settled = Vec::new();
        let mut shared = Vec::new();
        for (order, mention) in mentions.iter().enumerate() {
            let evidence = Evidence::of(tokens, mention);
            let scored: Vec<(u32, f32)> = mention
                .entries
                .iter()
                .filter_map(|&e| Some((e, self.score(e, &evidence, mention.len, hint)?)))
                .collect();
            if scored.is_empty() {
                continue;
            }
            if self.one_subject(&scored) {
                settled.extend(self.most_specific(&scored, order));
            } else {
                shared.push((order, scored));
            }
        }
        let support: Vec<u8> = settled.iter().map(|c| c.region).chain(hint).collect();
        for (order, scored) in shared {
            settled.extend(self.settle(&scored, &support, order));
        }
        settled
    }

    /// How likely this line is what the mention means; `None` when it is not a place here.
    fn score(
        &self,
        entry: u32,
        evidence: &Evidence,
        words: usize,
        hint: Option<u8>,
    ) -> Option<f32> {
        if evidence.street {
            return None;
        }
        let entry = &self.entries[entry as usize];
        let mut base = entry.kind.base_confidence();
        if words > 1 {
            base += MULTI_WORD_BONUS;
        }
        if !entry.ambiguous {
            return Some(base + if evidence.context { CONTEXT_BONUS } else { 0.0 });
        }
        let penalty = match (evidence.capital, evidence.context) {
            (true, true) => 0.1,
            // Capitalised, but beside another capitalised word: "в Орле Сбербанк".
            (false, true) if evidence.upper => 0.25,
            (true, false) => 0.4,
            // "живу в орле": only where the source is.
            (false, true) if hint == Some(entry.region) => 0.35,
            _ => return None,
        };
        Some(base - penalty)
    }

    fn one_subject(&self, scored: &[(u32, f32)]) -> bool {
        let region = |&(e, _): &(u32, f32)| self.entries[e as usize].region;
        scored
            .iter()
            .map(region)
            .all(|r| Some(r) == scored.first().map(region))
    }

    fn most_specific(&self, scored: &[(u32, f32)], order: usize) -> Option<Candidate> {
        let specificity = |e: u32| self.entries[e as usize].kind.specificity();
        let best = scored.iter().copied().max_by(|a, b| {
            specificity(a.0)
                .cmp(&specificity(b.0))
                .then(a.1.total_cmp(&b.1))
        })?;
        Some(self.candidate(best, order))
    }

    /// A name shared by several subjects: the one the text or the hint supports, else
    /// the first line (districts are dropped: "Ленинский район" alone says nothing).
    fn settle(&self, scored: &[(u32, f32)], support: &[u8], order: usize) -> Option<Candidate> {
        let supported: Vec<(u32, f32)> = scored
            .iter()
            .copied()
            .filter(|&(e, _)| support.contains(&self.entries[e as usize].region))
            .collect();
        if !supported.is_empty() && self.one_subject(&supported) {
            return self.most_specific(&supported, order);
        }
        let pool = if supported.is_empty() {
            scored
        } else {
            &supported
        };
        let (entry, confidence) = pool
            .iter()
            .copied()
            .filter(|&(e, _)| self.entries[e as usize].kind != PlaceKind::District)
            .min_by_key(|&(e, _)| e)?;
        Some(self.candidate((entry, confidence * SHARED_UNSETTLED), order))
    }

    fn candidate(&self, (entry, confidence): (u32, f32), order: usize) -> Candidate {
        let line = &self.entries[entry as usize];
        Candidate {
            entry,
            region: line.region,
            kind: line.kind,
            confidence,
            order,
        }
    }
}

/// The best candidate and its final confidence: the subject the hint picks among several,
/// else the best-scored one; within the subject, the most specific place.
fn choose(candidates: &[Candidate], hint: Option<u8>) -> Option<(Candidate, f32)> {
    let rank = |c: &Candidate| c.confidence + 0.05 * f32::from(c.kind.specificity());
    let top = candidates
        .iter()
        .max_by(|a, b| rank(a).total_cmp(&rank(b)).then(b.order.cmp(&a.order)))?;
    let several = candidates.iter().any(|c| c.region != top.region);
    let region = match hint {
        Some(h) if several && candidates.iter().any(|c| c.region == h) => h,
        _ => top.region,
    };
    let in_region = || candidates.iter().filter(move |c| c.region == region);
    let best = in_region().max_by(|a, b| {
        (a.kind.specificity().cmp(&b.kind.specificity()))
            .then(a.confidence.total_cmp(&b.confidence))
            .then(b.order.cmp(&a.order))
    })?;
    let further = in_region().count().saturating_sub(1).min(2);
    let mut confidence = best.confidence + AGREEMENT_BONUS * further as f32;
    match hint {
        Some(h) if h == region => confidence += HINT_AGREES_BONUS,
        Some(_) => confidence *= HINT_DISAGREES,
        None => {}
    }
    if several {
        confidence *= if Some(region) == hint {
            HINT_SETTLES
        } else {
            CONFLICT
        };
    }
    Some((*best, confidence.clamp(0.0, MAX_CONFIDENCE)))
}

fn subject_index(code: &str) -> Option<u8> {
    let code = code.trim();
    let index = SUBJECTS.iter().position(|s| s.eq_ignore_ascii_case(code))?;
    u8::try_from(index).ok()
}

/// What separates a token from the one before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gap {
    /// The first token, or after `.`, `!`, `?`, `…` or a line break.
    Sentence,
    /// Other punctuation: a comma, a colon, quotes, brackets, `г.`.
    Punct,
    /// Spaces and dashes only.
    Space,
}

/// One word of the text (a hyphenated word gives several).
struct Token<'g> {
    lexeme: Option<&'g Lexeme>,
    /// Starts with a capital letter.
    upper: bool,
    gap: Gap,
}

/// A name found at `start`, `len` tokens long, and every line spelling it.
struct Mention {
    start: usize,
    len: usize,
    entries: Vec<u32>,
}

/// What the words around a mention say.
struct Evidence {
    /// After a preposition or a settlement word.
    context: bool,
    /// After "улица", "имени" and the like.
    street: bool,
    /// Written with a capital letter.
    upper: bool,
    /// Written with a capital letter that says something: not a sentence's first
    /// letter, not beside another capitalised word (a person's name).
    capital: bool,
}

impl Evidence {
    fn of(tokens: &[Token<'_>], mention: &Mention) -> Evidence {
        let first = &tokens[mention.start];
        let previous = match first.gap {
            Gap::Sentence => None,
            _ => mention.start.checked_sub(1).map(|i| &tokens[i]),
        };
        let role = previous
            .and_then(|t| t.lexeme)
            .map(|l| l.role)
            .unwrap_or_default();
        let next = tokens
            .get(mention.start + mention.len)
            .filter(|t| t.gap == Gap::Space);
        // A first name before ("Александр Пушкин"), a capitalised word that is no place
        // after ("Владимир Путин", "Королёв Сергей").
        let beside_name = (first.gap == Gap::Space && role.given_name)
            || next.is_some_and(|n| n.upper && n.lexeme.is_none_or(|l| l.words.is_empty()));
        Evidence {
            context: role.context,
            street: role.street,
            upper: first.upper,
            capital: first.upper && first.gap != Gap::Sentence && !beside_name,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Candidate {
    entry: u32,
    region: u8,
    kind: PlaceKind,
    confidence: f32,
    /// The mention's position among the text's mentions: earlier wins ties.
    order: usize,
}

/// Does the rest of `name` follow the token at `start`, within one sentence?
fn name_continues(name: &Name, tokens: &[Token<'_>], start: usize) -> bool {
    name.words.iter().enumerate().skip(1).all(|(k, word)| {
        tokens.get(start + k).is_some_and(|t| {
            t.gap == Gap::Space && t.lexeme.is_some_and(|l| l.words.contains(word))
        })
    })
}

/// The next word at or after byte `from`: letters and digits, with inner hyphens.
fn next_word(text: &str, from: usize) -> Option<(usize, usize)> {
    let begin = from + text[from..].find(is_word_char)?;
    let mut end = begin;
    let mut chars = text[begin..].char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if is_word_char(c) {
            end = begin + i + c.len_utf8();
        } else if !(is_hyphen(c) && chars.peek().is_some_and(|&(_, n)| is_word_char(n))) {
            break;
        }
    }
    Some((begin, end))
}

/// A letter or a digit; Cyrillic and ASCII without the general Unicode tables, which
/// took two thirds of the locator's time.
fn is_word_char(c: char) -> bool {
    match c {
        'а'..='я' | 'А'..='Я' | 'ё' | 'Ё' | 'a'..='z' | 'A'..='Z' | '0'..='9' => true,
        _ if c.is_ascii() => false,
        _ => c.is_alphanumeric(),
    }
}

fn is_upper(c: char) -> bool {
    match c {
        'А'..='Я' | 'Ё' | 'A'..='Z' => true,
        'а'..='я' | 'ё' | 'a'..='z' => false,
        _ => c.is_uppercase(),
    }
}

fn is_hyphen(c: char) -> bool {
    matches!(c, '-' | '\u{2010}' | '\u{2011}')
}

fn classify_gap(gap: &str, previous: Option<&str>) -> Gap {
    let Some(previous) = previous else {
        return Gap::Sentence;
    };
    if gap.contains(['\n', '!', '?', '…']) {
        return Gap::Sentence;
    }
    if gap.contains('.') {
        return if !gap.contains("..") && is_abbreviation(previous) {
            Gap::Punct
        } else {
            Gap::Sentence
        };
    }
    if gap
        .chars()
        .all(|c| c.is_whitespace() || matches!(c, '-' | '–' | '—'))
    {
        Gap::Space
    } else {
        Gap::Punct
    }
}

/// Only asked when a full stop follows a word, so the allocation is rare.
fn is_abbreviation(word: &str) -> bool {
    if word.chars().count() > 5 {
        return false;
    }
    let mut lower = String::new();
    lowercase(word, &mut lower);
    ABBREVIATIONS.contains(&lower.as_str())
}

/// Lower case with «ё» read as «е», into `buf`.
fn lowercase(word: &str, buf: &mut String) {
    buf.clear();
    for c in word.chars() {
        match c {
            // The common letters directly: the general mapping is a table search.
            'а'..='я' | 'a'..='z' | '0'..='9' => buf.push(c),
            'А'..='Я' => buf.push(char::from_u32(u32::from(c) + 0x20).unwrap_or(c)),
            'A'..='Z' => buf.push(c.to_ascii_lowercase()),
            'ё' | 'Ё' => buf.push('е'),
            _ => buf.extend(c.to_lowercase().map(|l| if l == 'ё' { 'е' } else { l })),
        }
    }
}

/// Abbreviations read as the word: "Свердловская обл." is "Свердловская область".
fn expand_abbreviation(buf: &mut String) {
    let full = match buf.as_str() {
        "обл" => "область",
        "респ" => "республика",
        _ => return,
    };
    buf.clear();
    buf.push_str(full);
}

/// One parsed line.
struct Row<'a> {
    name: &'a str,
    kind: PlaceKind,
    region: u8,
    ambiguous: bool,
}

impl<'a> Row<'a> {
    fn parse(text: &'a str) -> Result<Row<'a>, GazetteerErrorKind> {
        let columns: Vec<&str> = text.split('\t').map(str::trim).collect();
        let &[name, kind, region, ambiguous] = columns.as_slice() else {
            return Err(GazetteerErrorKind::Columns(columns.len()));
        };
        Ok(Row {
            name,
            kind: PlaceKind::from_code(kind)
                .ok_or_else(|| GazetteerErrorKind::Kind(kind.to_owned()))?,
            region: subject_code(region)
                .ok_or_else(|| GazetteerErrorKind::Region(region.to_owned()))?,
            ambiguous: match ambiguous {
                "0" => false,
                "1" => true,
                other => return Err(GazetteerErrorKind::Ambiguous(other.to_owned())),
            },
        })
    }
}

/// Exact (upper-case) codes only in the file, unlike hints.
fn subject_code(code: &str) -> Option<u8> {
    let index = SUBJECTS.iter().position(|s| *s == code)?;
    u8::try_from(index).ok()
}

/// Builds a gazetteer line by line: interns words, generates their forms.
struct Builder {
    gazetteer: Gazetteer,
    /// (lower-cased word, fixed) → word id.
    words: HashMap<(String, bool), u32>,
    name_ids: HashMap<Box<[u32]>, u32>,
    /// (name, region, kind) → the line that gave it.
    lines: HashMap<(u32, u8, PlaceKind), usize>,
}

impl Builder {
    fn new() -> Builder {
        let mut lexicon: HashMap<String, Lexeme> = HashMap::new();
        for word in CONTEXT_WORDS {
            lexicon.entry((*word).to_owned()).or_default().role.context = true;
        }
        for word in STREET_WORDS {
            lexicon.entry((*word).to_owned()).or_default().role.street = true;
        }
        for form in GIVEN_NAMES.iter().flat_map(|name| inflect(name)) {
            lexicon.entry(form).or_default().role.given_name = true;
        }
        Builder {
            gazetteer: Gazetteer {
                entries: Vec::new(),
                names: Vec::new(),
                by_first_word: Vec::new(),
                lexicon,
                subject_names: vec![None; SUBJECTS.len()],
            },
            words: HashMap::new(),
            name_ids: HashMap::new(),
            lines: HashMap::new(),
        }
    }

    fn add(&mut self, row: &Row<'_>, line: usize) -> Result<(), GazetteerErrorKind> {
        let words = self.name_words(row.name);
        if words.is_empty() {
            return Err(GazetteerErrorKind::EmptyName);
        }
        let name_id = self.name_id(words);
        if let Some(&first) = self.lines.get(&(name_id, row.region, row.kind)) {
            return Err(GazetteerErrorKind::Duplicate(first));
        }
        self.lines.insert((name_id, row.region, row.kind), line);
        let g = &mut self.gazetteer;
        let entry = u32::try_from(g.entries.len()).unwrap_or(u32::MAX);
        g.entries.push(Entry {
            name: row.name.to_owned(),
            kind: row.kind,
            region: row.region,
            ambiguous: row.ambiguous,
        });
        g.names[name_id as usize].entries.push(entry);
        let subject_name = &mut g.subject_names[usize::from(row.region)];
        if row.kind == PlaceKind::Region && subject_name.is_none() {
            *subject_name = Some(entry);
        }
        Ok(())
    }

    fn name_id(&mut self, words: Vec<u32>) -> u32 {
        let g = &mut self.gazetteer;
        *self
            .name_ids
            .entry(words.clone().into_boxed_slice())
            .or_insert_with(|| {
                let id = u32::try_from(g.names.len()).unwrap_or(u32::MAX);
                g.by_first_word[words[0] as usize].push(id);
                g.names.push(Name {
                    words: words.into_boxed_slice(),
                    entries: Vec::new(),
                });
                id
            })
    }

    /// A name's words, split as a text's are; the words after "на" ("Ростов-на-Дону")
    /// and abbreviations ("ХМАО", "СПб") keep their one form.
    fn name_words(&mut self, name: &str) -> Vec<u32> {
        let mut ids = Vec::new();
        let mut fixed = false;
        let mut buf = String::new();
        let mut from = 0;
        while let Some((start, end)) = next_word(name, from) {
            for part in name[start..end].split(is_hyphen) {
                lowercase(part, &mut buf);
                expand_abbreviation(&mut buf);
                fixed |= !ids.is_empty() && FIXING_WORDS.contains(&buf.as_str());
                let abbreviation = is_abbreviated_name(part);
                ids.push(self.word_id(&buf, fixed || abbreviation));
            }
            from = end;
        }
        ids
    }

    fn word_id(&mut self, word: &str, fixed: bool) -> u32 {
        if let Some(&id) = self.words.get(&(word.to_owned(), fixed)) {
            return id;
        }
        let g = &mut self.gazetteer;
        let id = u32::try_from(g.by_first_word.len()).unwrap_or(u32::MAX);
        g.by_first_word.push(Vec::new());
        let forms = if fixed {
            vec![word.to_owned()]
        } else {
            inflect(word)
        };
        for form in forms {
            let lexeme = g.lexicon.entry(form).or_default();
            if !lexeme.words.contains(&id) {
                lexeme.words.push(id);
            }
        }
        self.words.insert((word.to_owned(), fixed), id);
        id
    }
}

/// "ХМАО", "СПб", "ЗелАО": short, with several capitals; never declined in writing.
fn is_abbreviated_name(word: &str) -> bool {
    word.chars().count() <= 5 && word.chars().filter(|c| c.is_uppercase()).count() > 1
}

// Case endings by declension, added to the stem (the word less its ending).
const ADJ_MASC: &[&str] = &[
    "ый", "ий", "ой", "ого", "его", "ому", "ему", "ым", "им", "ом", "ем",
];
const ADJ_FEM: &[&str] = &["ая", "яя", "ой", "ей", "ую", "юю", "ою", "ею"];
const ADJ_NEUT: &[&str] = &[
    "ое", "ее", "ого", "его", "ому", "ему", "ым", "им", "ом", "ем",
];
const ADJ_PLURAL: &[&str] = &["ые", "ие", "ых", "их", "ым", "им", "ыми", "ими"];
/// Омск: Омска, Омску, Омском, Омске (and -ем after ж, ш, ч, щ, ц).
const HARD: &[&str] = &["а", "у", "ом", "ем", "е"];
/// Казань (feminine) and Ярославль (masculine) alike.
const SOFT_SIGN: &[&str] = &["и", "ью", "я", "ю", "ем", "е"];
/// Край, Уренгой.
const SHORT_I: &[&str] = &["я", "ю", "ем", "е", "и"];
const FEM_A: &[&str] = &["ы", "и", "е", "у", "ой", "ою", "ей", "ею"];
const FEM_YA: &[&str] = &["и", "е", "ю", "ей", "ею"];
/// Иваново, Бутово: declined (в Иванове) or not (в Иваново).
const NEUT_O: &[&str] = &["а", "у", "ом", "е"];
/// Подмосковье (stem "подмосковь").
const NEUT_YE: &[&str] = &["я", "ю", "ем", "и"];
/// Челны, Мытищи, Чебоксары: the bare stem is the genitive of many (Чебоксар, Мытищ).
const PLURAL: &[&str] = &["", "ов", "ев", "ей", "ам", "ям", "ами", "ями", "ах", "ях"];

/// The case forms of one (lower-case) word of a place name, from its ending. Never the
/// adjectives derived from a noun: those are other words.
fn inflect(word: &str) -> Vec<String> {
    let mut forms = vec![word.to_owned()];
    let chars: Vec<char> = word.chars().collect();
    let n = chars.len();
    if n < 2 {
        return forms;
    }
    let stem = |cut: usize| chars[..n - cut].iter().collect::<String>();
    let ending2: String = chars[n - 2..].iter().collect();
    match ending2.as_str() {
        "ый" | "ий" => add(&mut forms, &stem(2), ADJ_MASC),
        // Полевской (an adjective) and Уренгой (a noun).
        "ой" => {
            add(&mut forms, &stem(2), ADJ_MASC);
            add(&mut forms, &stem(1), SHORT_I);
        }
        "ая" | "яя" => add(&mut forms, &stem(2), ADJ_FEM),
        "ое" | "ее" => add(&mut forms, &stem(2), ADJ_NEUT),
        "ые" | "ие" => add(&mut forms, &stem(2), ADJ_PLURAL),
        "ье" => add(&mut forms, &stem(1), NEUT_YE),
        _ => inflect_noun(&mut forms, &chars),
    }
    forms
}

fn inflect_noun(forms: &mut Vec<String>, chars: &[char]) {
    let n = chars.len();
    let stem: String = chars[..n - 1].iter().collect();
    match chars[n - 1] {
        'ь' => add(forms, &stem, SOFT_SIGN),
        'й' => add(forms, &stem, SHORT_I),
        'а' => add(forms, &stem, FEM_A),
        'я' => add(forms, &stem, FEM_YA),
        'о' => add(forms, &stem, NEUT_O),
        'ы' | 'и' => {
            add(forms, &stem, PLURAL);
            forms.extend(plural_fleeting(&chars[..n - 1]));
        }
        c if is_consonant(c) => {
            let word: String = chars.iter().collect();
            add(forms, &word, HARD);
            if let Some(short) = singular_fleeting(chars) {
                add(forms, &short, HARD);
            }
        }
        // Улан-Удэ, Туапсе, Баку: not declined.
        _ => {}
    }
}

fn add(forms: &mut Vec<String>, stem: &str, endings: &[&str]) {
    forms.extend(endings.iter().map(|e| format!("{stem}{e}")));
}

fn is_consonant(c: char) -> bool {
    "бвгджзклмнпрстфхцчшщ".contains(c)
}

/// The vowel that drops in the oblique cases: Орёл → Орла, Торжок → Торжка,
/// Вышний Волочёк → Волочка, Елец → Ельца.
fn singular_fleeting(chars: &[char]) -> Option<String> {
    let n = chars.len();
    if n < 4 || !matches!(&chars[n - 2..], ['о' | 'е', 'к'] | ['е', 'л' | 'ц']) {
        return None;
    }
    let mut short: String = chars[..n - 2].iter().collect();
    if chars[n - 1] == 'ц' && chars[n - 3] == 'л' {
        short.push('ь');
    }
    short.push(chars[n - 1]);
    Some(short)
}

/// The genitive plural with an inserted vowel: Химки → Химок, Люберцы → Люберец,
/// Черёмушки → Черёмушек, Ровеньки → Ровенек.
fn plural_fleeting(stem: &[char]) -> Vec<String> {
    let n = stem.len();
    if n < 3 || !matches!(stem[n - 1], 'к' | 'ц') {
        return Vec::new();
    }
    let last = stem[n - 1];
    let before = stem[n - 2];
    if matches!(before, 'ь' | 'й') {
        let head: String = stem[..n - 2].iter().collect();
        return vec![format!("{head}е{last}")];
    }
    if !is_consonant(before) {
        return Vec::new();
    }
    let head: String = stem[..n - 1].iter().collect();
    vec![format!("{head}о{last}"), format!("{head}е{last}")]
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    const SUBJECTS_CSV: &str = include_str!("../../domain/data/ru-subjects.csv");

    fn at(text: &str) -> Option<Location> {
        Gazetteer::embedded().locate(text, None)
    }

    fn hinted(text: &str, hint: &str) -> Option<Location> {
        Gazetteer::embedded().locate(text, Some(hint))
    }

    /// (region, place, kind) of the best location, for terse assertions.
    fn place(text: &str) -> Option<(String, String, PlaceKind)> {
        at(text).map(|l| (l.region, l.place, l.kind))
    }

    fn is(text: &str, region: &str, name: &str, kind: PlaceKind) {
        assert_eq!(
            place(text),
            Some((region.to_owned(), name.to_owned(), kind)),
            "{text}"
        );
    }

    fn city(text: &str, region: &str, name: &str) {
        is(text, region, name, PlaceKind::City);
    }

    fn region(text: &str, region: &str, name: &str) {
        is(text, region, name, PlaceKind::Region);
    }

    fn district(text: &str, region: &str, name: &str) {
        is(text, region, name, PlaceKind::District);
    }

    fn nowhere(text: &str) {
        assert_eq!(place(text), None, "{text}");
    }

    #[test]
    fn a_city_in_every_case() {
        for text in [
            "Казань",
            "Прорвало трубу в Казани",
            "Горжусь Казанью",
            "дороги казани",
            "Еду к Казани",
        ] {
            city(text, "RU-TA", "Казань");
        }
    }

    #[test]
    fn adjective_and_noun_names_decline_together() {
        city(
            "Еду из Нижнего Новгорода домой",
            "RU-NIZ",
            "Нижний Новгород",
        );
        city("В Нижнем Новгороде сносят дом", "RU-NIZ", "Нижний Новгород");
        city("пробки в Великом Новгороде", "RU-NGR", "Великий Новгород");
        city("Ямы в Старом Осколе", "RU-BEL", "Старый Оскол");
        city("в Новом Уренгое мороз", "RU-YAN", "Новый Уренгой");
        city(
            "Жители Набережных Челнов жалуются",
            "RU-TA",
            "Набережные Челны",
        );
        city("в Набережных Челнах нет воды", "RU-TA", "Набережные Челны");
        city(
            "аварийный дом в Сергиевом Посаде",
            "RU-MOS",
            "Сергиев Посад",
        );
    }

    #[test]
    fn hyphenated_names() {
        city("в Ростове-на-Дону снег", "RU-ROS", "Ростов-на-Дону");
        city(
            "Петропавловске-Камчатском",
            "RU-KAM",
            "Петропавловск-Камчатский",
        );
        city("в Йошкар-Оле", "RU-ME", "Йошкар-Ола");
        city("Улан-Удэ", "RU-BU", "Улан-Удэ");
        city("из Комсомольска-на-Амуре", "RU-KHA", "Комсомольск-на-Амуре");
        city("в Ханты-Мансийске", "RU-KHM", "Ханты-Мансийск");
        city("Гуся-Хрустального", "RU-VLA", "Гусь-Хрустальный");
    }

    #[test]
    fn names_spelt_with_a_space_or_a_dash() {
        city("в Санкт-Петербурге", "RU-SPE", "Санкт-Петербург");
        city("в Санкт Петербурге", "RU-SPE", "Санкт-Петербург");
        region(
            "Северная Осетия — Алания",
            "RU-SE",
            "Северная Осетия — Алания",
        );
    }

    #[test]
    fn cities_with_fleeting_vowels_and_plurals() {
        city("Я из Орла", "RU-ORL", "Орёл");
        city("в Торжке", "RU-TVE", "Торжок");
        city("в Вышнем Волочке", "RU-TVE", "Вышний Волочёк");
        city("из Ельца", "RU-LIP", "Елец");
        city("в Химках", "RU-MOS", "Химки");
        city("из Химок", "RU-MOS", "Химки");
        city("из Люберец", "RU-MOS", "Люберцы");
        city("из Чебоксар", "RU-CU", "Чебоксары");
        city("в Мытищах", "RU-MOS", "Мытищи");
        city("в Ессентуках", "RU-STA", "Ессентуки");
    }

    #[test]
    fn regions_by_official_and_colloquial_names() {
        region("в Подмосковье", "RU-MOS", "Подмосковье");
        region("по Кузбассу", "RU-KEM", "Кузбасс");
        region("Татарстан", "RU-TA", "Татарстан");
        region("в Башкирии", "RU-BA", "Башкирия");
        region("в Югре", "RU-KHM", "Югра");
        region("на Ямале", "RU-YAN", "Ямал");
        region("на Кубани", "RU-KDA", "Кубань");
        region("в Приморье", "RU-PRI", "Приморье");
        region("Ставрополья", "RU-STA", "Ставрополье");
        region("в Забайкалье", "RU-ZAB", "Забайкалье");
        region("Прикамье", "RU-PER", "Прикамье");
        region("в Карелии", "RU-KR", "Карелия");
        region("Якутией", "RU-SA", "Якутия");
        region("Чувашии", "RU-CU", "Чувашия");
        region("в Удмуртии", "RU-UD", "Удмуртия");
        region("в Ленобласти", "RU-LEN", "Ленобласть");
        region("в Крыму", "RU-CR", "Крым");
        region("в Краснодарском крае", "RU-KDA", "Краснодарский край");
        region("Республики Татарстан", "RU-TA", "Республика Татарстан");
        region("в ХМАО", "RU-KHM", "ХМАО");
    }

    #[test]
    fn region_abbreviations_are_read_in_full() {
        region("Свердловская обл.", "RU-SVE", "Свердловская область");
        region(
            "в Свердловской обл. отключат свет",
            "RU-SVE",
            "Свердловская область",
        );
        region("Свердловской области", "RU-SVE", "Свердловская область");
    }

    #[test]
    fn informal_city_names() {
        city("Питер", "RU-SPE", "Питер");
        city("в Питере дождь", "RU-SPE", "Питер");
        city("в Екб", "RU-SVE", "Екб");
        city("в Челнах", "RU-TA", "Челны");
        city("Екатеринбурге", "RU-SVE", "Екатеринбург");
    }

    #[test]
    fn adjectives_derived_from_a_name_are_not_the_place() {
        nowhere("по Казанской улице");
        nowhere("московский транспорт");
        nowhere("тверские дороги");
        nowhere("Омский театр драмы");
        nowhere("курские соловьи");
    }

    #[test]
    fn a_region_named_by_its_adjective_is_the_region_not_the_city() {
        region("Новосибирская область", "RU-NVS", "Новосибирская область");
        region("в Новосибирской области", "RU-NVS", "Новосибирская область");
        region("Омская область", "RU-OMS", "Омская область");
    }

    #[test]
    fn ambiguous_words_need_a_capital_or_a_preposition() {
        nowhere("орёл в небе");
        nowhere("Орёл в небе парил");
        nowhere("мирный протест");
        nowhere("Мирный протест прошёл спокойно");
        nowhere("купить читы");
        nowhere("находка века");
        city("Вчера в Орле открыли сквер", "RU-ORL", "Орёл");
        city("Открыли сквер, Орёл празднует", "RU-ORL", "Орёл");
        nowhere("Александр Пушкин родился в 1799 году");
        city("г. Королёв, ремонт дорог", "RU-MOS", "Королёв");
        city("в Находке", "RU-PRI", "Находка");
        // A capital alone is weaker evidence than a preposition.
        let capital_only = at("Жители Читы жалуются на смог").unwrap();
        assert_eq!(capital_only.place, "Чита");
        assert!(capital_only.confidence < at("в Чите смог").unwrap().confidence);
    }

    #[test]
    fn ambiguous_lowercase_after_a_preposition_needs_the_hint() {
        nowhere("живу в орле");
        let found = hinted("живу в орле", "RU-ORL").unwrap();
        assert_eq!(
            (found.place.as_str(), found.kind),
            ("Орёл", PlaceKind::City)
        );
        assert!(found.confidence > HINT_ONLY);
    }

    #[test]
    fn people_and_streets_are_not_places() {
        nowhere("Александр Пушкин написал");
        nowhere("Владимир Путин заявил");
        nowhere("на улице Пушкина");
        nowhere("ул. Кирова, дом 5");
        nowhere("Антон Чехов");
        nowhere("Вчера Королёв Сергей Павлович");
        nowhere("Вопрос к Энгельсу Фридриху");
        city("Поехали в Пушкин на выходные", "RU-SPE", "Пушкин");
    }

    #[test]
    fn mining_is_not_the_city_of_shakhty() {
        region("Авария в шахтах Кузбасса", "RU-KEM", "Кузбасс");
        city("в Шахтах прорвало трубу", "RU-ROS", "Шахты");
    }

    #[test]
    fn case_does_not_matter_for_plain_names() {
        city("КАЗАНЬ", "RU-TA", "Казань");
        city("#казань #пробки", "RU-TA", "Казань");
        city("ЕКАТЕРИНБУРГ", "RU-SVE", "Екатеринбург");
    }

    #[test]
    fn the_city_of_moscow_over_the_subject() {
        city("в Москве", "RU-MOW", "Москва");
        city("Севастополь", "RU-SEV", "Севастополь");
    }

    #[test]
    fn districts() {
        district("на Уралмаше прорыв", "RU-SVE", "Уралмаш");
        district("Уралмаш", "RU-SVE", "Уралмаш");
        district("Эльмаш", "RU-SVE", "Эльмаш");
        district("в Азино пробки", "RU-TA", "Азино");
        district("в Южном Бутове", "RU-MOW", "Южное Бутово");
        district("Бутово", "RU-MOW", "Бутово");
        district("в Марьино", "RU-MOW", "Марьино");
        district("в Марьиной Роще", "RU-MOW", "Марьина Роща");
        district("Заволжский район", "RU-TVE", "Заволжский район");
        district("в Заволжском р-не", "RU-TVE", "Заволжский район");
        district("в Академгородке", "RU-NVS", "Академгородок");
        district("Купчино", "RU-SPE", "Купчино");
    }

    #[test]
    fn a_shared_district_counts_only_when_something_settles_it() {
        nowhere("в Ленинском районе прорвало трубу");
        let hinted_nvs = hinted("в Ленинском районе прорвало трубу", "RU-NVS").unwrap();
        assert_eq!(
            (hinted_nvs.region.as_str(), hinted_nvs.kind),
            ("RU-NVS", PlaceKind::District)
        );
        district("Новосибирск, Ленинский район", "RU-NVS", "Ленинский район");
        district(
            "Екатеринбург, в Ленинском районе",
            "RU-SVE",
            "Ленинский район",
        );
        district("Казань, Московский район", "RU-TA", "Московский район");
    }

    #[test]
    fn a_shared_city_falls_back_on_the_first_line_with_less_confidence() {
        let alone = at("Железногорск").unwrap();
        assert_eq!(alone.kind, PlaceKind::City);
        assert!(alone.confidence < 0.6, "{alone:?}");
        city("Курская область, Железногорск", "RU-KRS", "Железногорск");
        city("Железногорск Красноярского края", "RU-KYA", "Железногорск");
    }

    #[test]
    fn the_most_specific_consistent_place_wins() {
        city(
            "Свердловская область, Екатеринбург",
            "RU-SVE",
            "Екатеринбург",
        );
        city("Новосибирская область, Бердск", "RU-NVS", "Бердск");
        district("Уралмаш, Екатеринбург", "RU-SVE", "Уралмаш");
        let both = at("Уралмаш, Екатеринбург").unwrap();
        let alone = at("Уралмаш").unwrap();
        assert!(both.confidence > alone.confidence);
    }

    #[test]
    fn two_regions_in_one_text() {
        let single = at("Из Казани").unwrap();
        let two = at("Из Казани в Екатеринбург").unwrap();
        assert!(two.confidence < single.confidence, "{two:?}");
        let settled = hinted("Из Казани в Екатеринбург", "RU-SVE").unwrap();
        assert_eq!(settled.place, "Екатеринбург");
        let other = hinted("Из Казани в Екатеринбург", "RU-TA").unwrap();
        assert_eq!(other.place, "Казань");
    }

    #[test]
    fn two_regions_without_a_hint_prefer_the_more_specific() {
        city("Жители Подмосковья едут в Казань", "RU-TA", "Казань");
    }

    #[test]
    fn the_hint_alone() {
        let found = hinted("Когда починят дорогу?", "RU-TA").unwrap();
        assert_eq!(found.region, "RU-TA");
        assert_eq!(found.place, "Республика Татарстан");
        assert_eq!(found.kind, PlaceKind::Region);
        assert!((found.confidence - 0.4).abs() < f32::EPSILON);
        assert_eq!(at("Когда починят дорогу?"), None);
        assert_eq!(hinted("Когда починят дорогу?", "RU-XX"), None);
        assert_eq!(
            hinted("", "ru-mow").map(|l| l.place),
            Some("Москва".to_owned())
        );
    }

    #[test]
    fn the_hint_raises_a_consistent_place_and_lowers_a_distant_one() {
        let plain = at("в Казани").unwrap().confidence;
        assert!(hinted("в Казани", "RU-TA").unwrap().confidence > plain);
        let elsewhere = hinted("в Казани", "RU-SVE").unwrap();
        assert_eq!(elsewhere.region, "RU-TA");
        assert!(elsewhere.confidence < plain);
    }

    #[test]
    fn confidence_stays_within_bounds() {
        let texts = [
            "Казань, Казань, в Казани, Вахитовский район, Татарстан",
            "Из Москвы в Питер через Тверь",
            "",
            "!!!",
            "в в в в",
        ];
        for text in texts {
            for hint in [None, Some("RU-TA"), Some("RU-MOW")] {
                if let Some(found) = Gazetteer::embedded().locate(text, hint) {
                    assert!((0.0..=1.0).contains(&found.confidence), "{text}: {found:?}");
                }
            }
        }
    }

    #[test]
    fn an_unknown_hint_is_ignored() {
        assert_eq!(hinted("в Казани", "RU-XX"), at("в Казани"));
        assert_eq!(hinted("ничего", "RU-XX"), None);
        // Hints are read whatever their case and spacing.
        assert_eq!(
            hinted("ничего", " ru-ta ").map(|l| l.region),
            Some("RU-TA".to_owned())
        );
    }

    #[test]
    fn names_do_not_span_sentences() {
        let found = at("Живу в городе Нижний. Новгород далеко");
        assert_ne!(found.map(|l| l.place), Some("Нижний Новгород".to_owned()));
        city("Живу в городе Нижний Новгород", "RU-NIZ", "Нижний Новгород");
    }

    #[test]
    fn more_districts_of_both_capitals() {
        district("на Васильевском острове", "RU-SPE", "Васильевский остров");
        district("в Тёплом Стане", "RU-MOW", "Тёплый Стан");
        district("в Выхино-Жулебино", "RU-MOW", "Выхино-Жулебино");
        district("На Таганке пробки", "RU-MOW", "Таганка");
        district("Невский район", "RU-SPE", "Невский район");
        nowhere("черёмушки цветут");
    }

    #[test]
    fn the_embedded_gazetteer_is_parsed_once() {
        assert!(std::ptr::eq(Gazetteer::embedded(), Gazetteer::embedded()));
    }

    #[test]
    fn a_location_serialises_with_its_kind_in_lower_case() {
        let json = serde_json::to_value(at("Уралмаш").unwrap()).unwrap();
        assert_eq!(json["kind"], "district");
        assert_eq!(json["region"], "RU-SVE");
    }

    /// Parses `tsv`, which must fail, and returns the error.
    fn parse_error(tsv: &str) -> GazetteerError {
        Gazetteer::parse(tsv).expect_err(tsv)
    }

    #[test]
    fn parse_error_wrong_column_count() {
        let error = parse_error("Казань\tcity\tRU-TA\n");
        assert_eq!((error.line, error.code()), (1, "columns"));
        assert_eq!(error.kind, GazetteerErrorKind::Columns(3));
        let error = parse_error("Казань\tcity\tRU-TA\t0\nУфа\tcity\tRU-BA\t0\textra\n");
        assert_eq!(
            (error.line, error.kind.clone()),
            (2, GazetteerErrorKind::Columns(5))
        );
    }

    #[test]
    fn parse_error_bad_kind() {
        let error = parse_error("Казань\ttown\tRU-TA\t0\n");
        assert_eq!((error.line, error.code()), (1, "kind"));
        assert_eq!(
            error.to_string(),
            "gazetteer line 1: unknown kind \"town\" (region, city or district)"
        );
    }

    #[test]
    fn parse_error_unknown_region_code_counts_comments_and_blank_lines() {
        let error = parse_error("# comment\n\nКазань\tcity\tRU-XX\t0\n");
        assert_eq!((error.line, error.code()), (3, "region"));
        // Codes are exact in the file.
        assert_eq!(parse_error("Казань\tcity\tru-ta\t0\n").code(), "region");
    }

    #[test]
    fn parse_error_bad_ambiguous_flag_after_the_header() {
        let error = parse_error("name\tkind\tregion\tambiguous\nКазань\tcity\tRU-TA\tyes\n");
        assert_eq!((error.line, error.code()), (2, "ambiguous"));
    }

    #[test]
    fn parse_error_name_without_letters() {
        let error = parse_error("Казань\tcity\tRU-TA\t0\n-\tcity\tRU-TA\t0\n");
        assert_eq!((error.line, error.code()), (2, "empty_name"));
    }

    #[test]
    fn parse_error_duplicate_names_the_first_line() {
        let error = parse_error("Казань\tcity\tRU-TA\t0\n\nКАЗАНЬ\tcity\tRU-TA\t0\n");
        assert_eq!(
            (error.line, error.kind.clone()),
            (3, GazetteerErrorKind::Duplicate(1))
        );
        assert_eq!(error.code(), "duplicate");
        assert_eq!(
            error.to_string(),
            "gazetteer line 3: the same name, kind and region as line 1"
        );
        // The same name as another kind, or in another subject, is not a duplicate.
        let tsv = "Москва\tregion\tRU-MOW\t0\nМосква\tcity\tRU-MOW\t0\nМосква\tcity\tRU-MOS\t0\n";
        assert!(Gazetteer::parse(tsv).is_ok());
    }

    #[test]
    fn a_small_gazetteer_parses_and_locates() {
        let tsv = "# test\nname\tkind\tregion\tambiguous\r\nКазань\tcity\tRU-TA\t0\r\n";
        let g = Gazetteer::parse(tsv).unwrap();
        assert_eq!(
            g.locate("в Казани", None).map(|l| l.place),
            Some("Казань".to_owned())
        );
        // No region line: the hint alone gives nothing to name.
        assert_eq!(g.locate("ничего", Some("RU-TA")), None);
    }

    fn csv_subjects() -> Vec<(String, String, String)> {
        SUBJECTS_CSV
            .lines()
            .skip(1)
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let cols: Vec<&str> = l.split(',').collect();
                (cols[0].to_owned(), cols[2].to_owned(), cols[5].to_owned())
            })
            .collect()
    }

    #[test]
    fn the_subject_codes_are_those_of_the_domain() {
        let codes: Vec<String> = csv_subjects().into_iter().map(|(iso, _, _)| iso).collect();
        assert_eq!(codes, SUBJECTS.to_vec());
        // Every region column of the file is one of them (or parsing would have failed).
        for line in EMBEDDED_TSV
            .lines()
            .filter(|l| !l.starts_with('#') && l.contains('\t'))
            .skip(1)
        {
            let region = line.split('\t').nth(2).unwrap();
            assert!(codes.iter().any(|c| c == region), "{line}");
        }
    }

    #[test]
    fn every_subject_has_its_official_name_first_and_its_capital() {
        let g = Gazetteer::embedded();
        for (index, (iso, official, capital)) in csv_subjects().into_iter().enumerate() {
            let first = g.subject_names[index].map(|e| g.entries[e as usize].name.as_str());
            let official = official.split(" (").next().unwrap();
            assert_eq!(first, Some(official), "{iso}");
            let found = g.locate(&format!("Новости: в городе {capital} открыли парк"), None);
            let found = found.unwrap_or_else(|| panic!("{iso}: {capital} not found"));
            assert_eq!(
                (found.region.as_str(), found.kind),
                (iso.as_str(), PlaceKind::City),
                "{capital}"
            );
            assert_eq!(found.place.replace('ё', "е"), capital.replace('ё', "е"));
        }
    }

    #[test]
    fn every_entry_is_found_by_its_own_name() {
        let g = Gazetteer::embedded();
        for entry in &g.entries {
            let found = g.locate(
                &format!("Сегодня в городе {} новости", entry.name),
                Some(SUBJECTS[usize::from(entry.region)]),
            );
            let found = found.unwrap_or_else(|| panic!("{} not found", entry.name));
            assert_eq!(
                found.region,
                SUBJECTS[usize::from(entry.region)],
                "{}",
                entry.name
            );
            assert_ne!(
                found.confidence, HINT_ONLY,
                "{} fell back on the hint",
                entry.name
            );
        }
    }

    #[test]
    fn the_embedded_file_has_every_kind() {
        let g = Gazetteer::embedded();
        let count = |kind| g.entries.iter().filter(|e| e.kind == kind).count();
        assert!(count(PlaceKind::Region) >= 89);
        assert!(count(PlaceKind::City) >= 300);
        assert!(count(PlaceKind::District) >= 200);
        for code in ["RU-TVE", "RU-NVS", "RU-TA", "RU-SVE", "RU-MOW", "RU-SPE"] {
            let region = subject_code(code).unwrap();
            assert!(
                g.entries
                    .iter()
                    .any(|e| e.region == region && e.kind == PlaceKind::District),
                "{code}"
            );
        }
    }

    #[test]
    fn inflection_of_each_declension() {
        let has = |word: &str, form: &str| inflect(word).iter().any(|f| f == form);
        assert!(has("казань", "казанью"));
        assert!(has("омск", "омске"));
        assert!(!has("омск", "омский"));
        assert!(has("москва", "москвой"));
        assert!(has("якутия", "якутии"));
        assert!(has("подмосковье", "подмосковья"));
        assert!(has("иваново", "иванове"));
        assert!(has("нижний", "нижнего"));
        assert!(has("свердловская", "свердловской"));
        assert!(has("набережные", "набережных"));
        assert!(has("край", "крае"));
        assert!(has("уренгой", "уренгое"));
        assert!(has("орел", "орле"));
        assert!(has("кимры", "кимр"));
    }
}

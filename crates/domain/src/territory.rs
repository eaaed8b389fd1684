//! The territory of the Russian Federation as data: the eight federal districts, the 89
//! federal subjects (`data/ru-subjects.csv`, documented in `data/README.md`) and the
//! checks for municipality codes (OKTMO) that an import of municipalities needs.
//!
//! The CSV files are compiled in and parsed without a CSV library: the format is
//! deliberately simple (one header line, comma-separated, no quoting, no commas inside
//! fields), so a plain split is exact.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use time::UtcOffset;

const SUBJECTS_CSV: &str = include_str!("../data/ru-subjects.csv");
const DISTRICTS_CSV: &str = include_str!("../data/federal-districts.csv");

const SUBJECT_COLUMNS: [&str; 6] = [
    "iso",
    "okato",
    "name_ru",
    "federal_district",
    "utc_offset_minutes",
    "capital_ru",
];
const DISTRICT_COLUMNS: [&str; 3] = ["code", "name_ru", "centre"];

/// Codes in the `iso` column that ISO 3166-2:RU does not contain; Russian sources use
/// them in the same style.
const NON_ISO_CODES: [&str; 6] = ["RU-CR", "RU-SEV", "RU-DPR", "RU-LPR", "RU-ZAP", "RU-KHE"];

/// Russia's time zones run from Kaliningrad (+2) to Kamchatka (+12), in whole hours.
const MIN_OFFSET_MINUTES: i32 = 120;
const MAX_OFFSET_MINUTES: i32 = 720;

/// The level of a territory an organisation or a submission belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TerritoryLevel {
    Country,
    FederalDistrict,
    Region,
    Municipality,
}

impl TerritoryLevel {
    pub const ALL: &'static [TerritoryLevel] = &[
        Self::Country,
        Self::FederalDistrict,
        Self::Region,
        Self::Municipality,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Country => "country",
            Self::FederalDistrict => "federal_district",
            Self::Region => "region",
            Self::Municipality => "municipality",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        Self::ALL
            .iter()
            .copied()
            .find(|level| level.as_str() == raw)
            .ok_or("unknown_value")
    }
}

impl std::fmt::Display for TerritoryLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A line of territory data that does not parse: the 1-based line, a stable code and
/// the offending text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {code}: {text:?}")]
pub struct TerritoryParseError {
    pub line: usize,
    pub code: &'static str,
    pub text: String,
}

impl TerritoryParseError {
    fn new(line: usize, code: &'static str, text: &str) -> Self {
        Self {
            line,
            code,
            text: text.to_owned(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FederalDistrict {
    /// `CFD`, `NWFD`, `SFD`, `NCFD`, `VFD`, `UFD`, `SibFD`, `FEFD`.
    pub code: String,
    pub name_ru: String,
    pub centre_ru: String,
}

/// A subject of the Russian Federation (республика, край, область, город федерального
/// значения, автономная область, автономный округ).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FederalSubject {
    /// ISO 3166-2:RU code, or a code in the same style where ISO has none (see
    /// [`FederalSubject::has_iso_3166_code`]).
    pub iso: String,
    /// The 2-digit first-level OKATO code, also the first two digits of the subject's
    /// OKTMO codes. Autonomous okrugs share their oblast's code (11, 71).
    pub okato: String,
    pub name_ru: String,
    /// `None` for the subjects no presidential decree has assigned to a district.
    pub federal_district: Option<String>,
    /// The offset of the capital's time zone.
    pub utc_offset_minutes: i32,
    pub capital_ru: String,
}

impl FederalSubject {
    pub fn utc_offset(&self) -> UtcOffset {
        offset_from_minutes(self.utc_offset_minutes)
    }

    /// False for the codes ISO 3166-2:RU does not list (Crimea, Sevastopol and the
    /// subjects admitted in 2022).
    pub fn has_iso_3166_code(&self) -> bool {
        !NON_ISO_CODES.contains(&self.iso.as_str())
    }
}

fn offset_from_minutes(minutes: i32) -> UtcOffset {
    // Offsets are validated to whole hours within Russia's range when parsed.
    i8::try_from(minutes / 60)
        .ok()
        .and_then(|hours| UtcOffset::from_hms(hours, 0, 0).ok())
        .unwrap_or(UtcOffset::UTC)
}

fn parse_offset(raw: &str) -> Result<i32, &'static str> {
    raw.parse::<i32>()
        .ok()
        .filter(|minutes| {
            (MIN_OFFSET_MINUTES..=MAX_OFFSET_MINUTES).contains(minutes) && minutes % 60 == 0
        })
        .ok_or("bad_utc_offset")
}

/// The data lines of a headed CSV text: `(line number, fields)`. Blank lines are
/// skipped; the first line must be exactly `columns`.
fn csv_rows<'a>(
    text: &'a str,
    columns: &[&str],
) -> Result<Vec<(usize, Vec<&'a str>)>, TerritoryParseError> {
    let mut lines = text
        .trim_start_matches('\u{feff}')
        .lines()
        .enumerate()
        .map(|(index, line)| (index + 1, line))
        .filter(|(_, line)| !line.trim().is_empty());
    let (header_line, header) = lines
        .next()
        .ok_or_else(|| TerritoryParseError::new(1, "empty_file", ""))?;
    if header.split(',').map(str::trim).ne(columns.iter().copied()) {
        return Err(TerritoryParseError::new(header_line, "bad_header", header));
    }
    lines
        .map(|(line, raw)| {
            let fields: Vec<&str> = raw.split(',').map(str::trim).collect();
            if fields.len() == columns.len() {
                Ok((line, fields))
            } else {
                Err(TerritoryParseError::new(line, "wrong_field_count", raw))
            }
        })
        .collect()
}

/// Parses `federal-districts.csv` (`code,name_ru,centre`).
/// Codes: `bad_header`, `wrong_field_count`, `empty_field`, `duplicate_code`.
pub fn parse_federal_districts(text: &str) -> Result<Vec<FederalDistrict>, TerritoryParseError> {
    let mut seen = HashSet::new();
    csv_rows(text, &DISTRICT_COLUMNS)?
        .into_iter()
        .map(|(line, fields)| {
            if let Some(empty) = fields.iter().position(|field| field.is_empty()) {
                return Err(TerritoryParseError::new(
                    line,
                    "empty_field",
                    DISTRICT_COLUMNS[empty],
                ));
            }
            let [code, name_ru, centre_ru] = [fields[0], fields[1], fields[2]];
            if !seen.insert(code) {
                return Err(TerritoryParseError::new(line, "duplicate_code", code));
            }
            Ok(FederalDistrict {
                code: code.to_owned(),
                name_ru: name_ru.to_owned(),
                centre_ru: centre_ru.to_owned(),
            })
        })
        .collect()
}

/// Parses `ru-subjects.csv` against the known districts.
/// Codes: `bad_header`, `wrong_field_count`, `bad_iso`, `duplicate_iso`, `bad_okato`,
/// `empty_field`, `unknown_district`, `bad_utc_offset`.
pub fn parse_federal_subjects(
    text: &str,
    districts: &[FederalDistrict],
) -> Result<Vec<FederalSubject>, TerritoryParseError> {
    let mut seen = HashSet::new();
    csv_rows(text, &SUBJECT_COLUMNS)?
        .into_iter()
        .map(|(line, fields)| {
            let error = |code, text: &str| TerritoryParseError::new(line, code, text);
            let [iso, okato, name_ru, district, offset, capital_ru] = [
                fields[0], fields[1], fields[2], fields[3], fields[4], fields[5],
            ];
            if !is_subject_code(iso) {
                return Err(error("bad_iso", iso));
            }
            if !seen.insert(iso) {
                return Err(error("duplicate_iso", iso));
            }
            if okato.len() != 2 || !okato.bytes().all(|b| b.is_ascii_digit()) {
                return Err(error("bad_okato", okato));
            }
            if name_ru.is_empty() {
                return Err(error("empty_field", "name_ru"));
            }
            if capital_ru.is_empty() {
                return Err(error("empty_field", "capital_ru"));
            }
            let federal_district = match district {
                "" => None,
                code if districts.iter().any(|d| d.code == code) => Some(code.to_owned()),
                code => return Err(error("unknown_district", code)),
            };
            let utc_offset_minutes = parse_offset(offset).map_err(|code| error(code, offset))?;
            Ok(FederalSubject {
                iso: iso.to_owned(),
                okato: okato.to_owned(),
                name_ru: name_ru.to_owned(),
                federal_district,
                utc_offset_minutes,
                capital_ru: capital_ru.to_owned(),
            })
        })
        .collect()
}

/// `RU-` followed by two or three capital Latin letters.
fn is_subject_code(raw: &str) -> bool {
    raw.strip_prefix("RU-").is_some_and(|rest| {
        (2..=3).contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_uppercase())
    })
}

type Shipped = Result<(Vec<FederalDistrict>, Vec<FederalSubject>), TerritoryParseError>;

/// The shipped data, parsed once.
fn shipped() -> &'static Shipped {
    static SHIPPED: OnceLock<Shipped> = OnceLock::new();
    SHIPPED.get_or_init(|| {
        let districts = parse_federal_districts(DISTRICTS_CSV)?;
        let subjects = parse_federal_subjects(SUBJECTS_CSV, &districts)?;
        Ok((districts, subjects))
    })
}

/// The eight federal districts.
pub fn federal_districts() -> Result<Vec<FederalDistrict>, TerritoryParseError> {
    shipped().clone().map(|(districts, _)| districts)
}

/// The 89 federal subjects, in the order of art. 65 of the Constitution.
pub fn federal_subjects() -> Result<Vec<FederalSubject>, TerritoryParseError> {
    shipped().clone().map(|(_, subjects)| subjects)
}

/// The subject with this `iso` code.
pub fn federal_subject(iso: &str) -> Option<FederalSubject> {
    shipped()
        .as_ref()
        .ok()
        .and_then(|(_, subjects)| subjects.iter().find(|s| s.iso == iso).cloned())
}

/// A municipality code of the OKTMO classifier: 8 digits for a municipal formation,
/// 11 for a settlement; the first two digits are a federal subject's OKATO code.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Oktmo(String);

impl Oktmo {
    /// Checks against the shipped subjects.
    /// Codes: `oktmo_not_digits`, `oktmo_bad_length`, `oktmo_unknown_region`.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        match shipped() {
            Ok((_, subjects)) => Self::parse_with(raw, subjects),
            Err(_) => Err("oktmo_unknown_region"),
        }
    }

    /// Checks against the given subjects.
    pub fn parse_with(raw: &str, subjects: &[FederalSubject]) -> Result<Self, &'static str> {
        if !raw.bytes().all(|b| b.is_ascii_digit()) {
            return Err("oktmo_not_digits");
        }
        if raw.len() != 8 && raw.len() != 11 {
            return Err("oktmo_bad_length");
        }
        let region = &raw[..2];
        if !subjects.iter().any(|subject| subject.okato == region) {
            return Err("oktmo_unknown_region");
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first two digits: the subject's OKATO code.
    pub fn region_code(&self) -> &str {
        self.0.get(..2).unwrap_or_default()
    }

    /// An 11-digit code names a settlement rather than a municipal formation.
    pub fn is_settlement(&self) -> bool {
        self.0.len() == 11
    }
}

impl std::fmt::Display for Oktmo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A row of a municipality import: `oktmo,name_ru,region_iso[,utc_offset_minutes]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedMunicipality {
    pub oktmo: Oktmo,
    pub name_ru: String,
    pub region_iso: String,
    /// Given in the row, or the region's.
    pub utc_offset_minutes: i32,
}

impl ImportedMunicipality {
    /// Parses one data line (`line` is its 1-based number, for the error).
    /// Codes: `wrong_field_count`, the [`Oktmo`] codes, `empty_name`, `unknown_region`,
    /// `oktmo_region_mismatch` (the code's first digits are another subject's),
    /// `bad_utc_offset` (not whole hours from +120 to +720 minutes).
    pub fn parse_line(
        line: usize,
        raw: &str,
        subjects: &[FederalSubject],
    ) -> Result<Self, TerritoryParseError> {
        let error = |code, text: &str| TerritoryParseError::new(line, code, text);
        let fields: Vec<&str> = raw.split(',').map(str::trim).collect();
        let (oktmo, name_ru, region_iso, offset) = match fields.as_slice() {
            [oktmo, name, region] => (*oktmo, *name, *region, ""),
            [oktmo, name, region, offset] => (*oktmo, *name, *region, *offset),
            _ => return Err(error("wrong_field_count", raw)),
        };
        let code = Oktmo::parse_with(oktmo, subjects).map_err(|code| error(code, oktmo))?;
        if name_ru.is_empty() {
            return Err(error("empty_name", raw));
        }
        let region = subjects
            .iter()
            .find(|subject| subject.iso == region_iso)
            .ok_or_else(|| error("unknown_region", region_iso))?;
        if code.region_code() != region.okato {
            return Err(error("oktmo_region_mismatch", oktmo));
        }
        let utc_offset_minutes = if offset.is_empty() {
            region.utc_offset_minutes
        } else {
            parse_offset(offset).map_err(|code| error(code, offset))?
        };
        Ok(Self {
            oktmo: code,
            name_ru: name_ru.to_owned(),
            region_iso: region_iso.to_owned(),
            utc_offset_minutes,
        })
    }

    pub fn utc_offset(&self) -> UtcOffset {
        offset_from_minutes(self.utc_offset_minutes)
    }
}

/// Parses a whole municipality import, reporting every bad line rather than the first.
/// Blank lines and `#` comments are skipped, and so is a first line starting with
/// `oktmo,` (a header). A code listed twice is `duplicate_oktmo`.
pub fn parse_municipalities(
    text: &str,
    subjects: &[FederalSubject],
) -> Result<Vec<ImportedMunicipality>, Vec<TerritoryParseError>> {
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    let mut first_lines: HashMap<String, usize> = HashMap::new();
    let mut header_allowed = true;
    for (index, raw) in text.trim_start_matches('\u{feff}').lines().enumerate() {
        let line = index + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if std::mem::take(&mut header_allowed) && trimmed.starts_with("oktmo,") {
            continue;
        }
        match ImportedMunicipality::parse_line(line, trimmed, subjects) {
            Ok(row) => {
                if first_lines.insert(row.oktmo.0.clone(), line).is_some() {
                    errors.push(TerritoryParseError::new(
                        line,
                        "duplicate_oktmo",
                        row.oktmo.as_str(),
                    ));
                } else {
                    rows.push(row);
                }
            }
            Err(error) => errors.push(error),
        }
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use std::collections::{BTreeMap, BTreeSet};

    fn subjects() -> Vec<FederalSubject> {
        federal_subjects().unwrap()
    }

    #[test]
    fn there_are_89_subjects_with_unique_codes_and_names() {
        let subjects = subjects();
        assert_eq!(subjects.len(), 89);
        let isos: HashSet<_> = subjects.iter().map(|s| s.iso.as_str()).collect();
        assert_eq!(isos.len(), 89);
        let names: HashSet<_> = subjects.iter().map(|s| s.name_ru.as_str()).collect();
        assert_eq!(names.len(), 89);
        let non_iso: Vec<_> = subjects
            .iter()
            .filter(|s| !s.has_iso_3166_code())
            .map(|s| s.iso.as_str())
            .collect();
        assert_eq!(
            non_iso,
            ["RU-DPR", "RU-CR", "RU-LPR", "RU-ZAP", "RU-KHE", "RU-SEV"]
        );
    }

    #[test]
    fn okato_codes_are_unique_except_the_autonomous_okrugs() {
        let mut by_code: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        let subjects = subjects();
        for subject in &subjects {
            by_code
                .entry(subject.okato.as_str())
                .or_default()
                .push(subject.iso.as_str());
        }
        let shared: BTreeMap<_, _> = by_code.into_iter().filter(|(_, v)| v.len() > 1).collect();
        assert_eq!(
            shared,
            BTreeMap::from([
                ("11", vec!["RU-ARK", "RU-NEN"]),
                ("71", vec!["RU-TYU", "RU-KHM", "RU-YAN"]),
            ])
        );
    }

    #[test]
    fn districts_exist_and_hold_85_subjects() {
        let districts = federal_districts().unwrap();
        assert_eq!(districts.len(), 8);
        let subjects = subjects();
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for subject in &subjects {
            if let Some(code) = &subject.federal_district {
                assert!(districts.iter().any(|d| &d.code == code), "{code}");
                *counts.entry(code.as_str()).or_default() += 1;
            }
        }
        assert_eq!(
            counts,
            BTreeMap::from([
                ("CFD", 18),
                ("FEFD", 11),
                ("NCFD", 7),
                ("NWFD", 11),
                ("SFD", 8),
                ("SibFD", 10),
                ("UFD", 6),
                ("VFD", 14),
            ])
        );
        let unassigned: Vec<_> = subjects
            .iter()
            .filter(|s| s.federal_district.is_none())
            .map(|s| s.iso.as_str())
            .collect();
        assert_eq!(unassigned, ["RU-DPR", "RU-LPR", "RU-ZAP", "RU-KHE"]);
    }

    #[test]
    fn all_eleven_time_zones_are_present() {
        let zones: BTreeSet<i32> = subjects().iter().map(|s| s.utc_offset_minutes).collect();
        assert_eq!(zones.len(), 11);
        assert_eq!(zones, (2..=12).map(|h| h * 60).collect());
    }

    #[test]
    fn spot_checks() {
        for (iso, okato, offset) in [
            ("RU-MOW", "45", 180),
            ("RU-TVE", "28", 180),
            ("RU-NVS", "50", 420),
            ("RU-KGD", "27", 120),
            ("RU-KAM", "30", 720),
            ("RU-SAM", "36", 240),
            ("RU-AST", "12", 240),
            ("RU-SAR", "63", 240),
            ("RU-ULY", "73", 240),
            ("RU-UD", "94", 240),
            ("RU-VGG", "18", 180),
            ("RU-TOM", "69", 420),
            ("RU-AL", "84", 420),
            ("RU-KEM", "32", 420),
            ("RU-OMS", "52", 360),
            ("RU-SA", "98", 540),
            ("RU-SAK", "64", 660),
            ("RU-CHU", "77", 720),
            ("RU-DPR", "21", 180),
        ] {
            let subject = federal_subject(iso).unwrap();
            assert_eq!(
                (subject.okato.as_str(), subject.utc_offset_minutes),
                (okato, offset),
                "{iso}"
            );
        }
        let moscow = federal_subject("RU-MOW").unwrap();
        assert_eq!(moscow.name_ru, "Москва");
        assert_eq!(moscow.federal_district.as_deref(), Some("CFD"));
        assert_eq!(moscow.utc_offset(), UtcOffset::from_hms(3, 0, 0).unwrap());
        assert_eq!(federal_subject("RU-XXX"), None);
    }

    #[test]
    fn territory_level_names_round_trip() {
        for level in TerritoryLevel::ALL {
            assert_eq!(TerritoryLevel::parse(level.as_str()), Ok(*level));
        }
        assert_eq!(TerritoryLevel::parse("oblast"), Err("unknown_value"));
        assert_eq!(
            TerritoryLevel::FederalDistrict.to_string(),
            "federal_district"
        );
    }

    #[test]
    fn oktmo_codes_are_checked() {
        let moscow = Oktmo::parse("45381000").unwrap();
        assert_eq!(moscow.region_code(), "45");
        assert!(!moscow.is_settlement());
        assert!(Oktmo::parse("71871000001").unwrap().is_settlement());
        assert_eq!(Oktmo::parse("4538100"), Err("oktmo_bad_length"));
        assert_eq!(Oktmo::parse("453810000"), Err("oktmo_bad_length"));
        assert_eq!(Oktmo::parse("4538100O"), Err("oktmo_not_digits"));
        assert_eq!(Oktmo::parse(""), Err("oktmo_bad_length"));
        assert_eq!(Oktmo::parse("02000000"), Err("oktmo_unknown_region"));
    }

    #[test]
    fn municipality_rows_parse_with_line_numbered_errors() {
        let subjects = subjects();
        let row =
            ImportedMunicipality::parse_line(1, "28701000, Тверь ,RU-TVE", &subjects).unwrap();
        assert_eq!(row.name_ru, "Тверь");
        assert_eq!(row.utc_offset_minutes, 180);
        let row =
            ImportedMunicipality::parse_line(1, "98626000,Оймяконский район,RU-SA,600", &subjects)
                .unwrap();
        assert_eq!(row.utc_offset(), UtcOffset::from_hms(10, 0, 0).unwrap());
        assert!(
            ImportedMunicipality::parse_line(1, "71871000,Ханты-Мансийск,RU-KHM,", &subjects)
                .is_ok()
        );

        let text = "\u{feff}oktmo,name_ru,region_iso,utc_offset_minutes
45381000,Хамовники,RU-MOW
# a comment

45381000,Хамовники again,RU-MOW
28701000,Тверь,RU-MOW
28701000,,RU-TVE
50701000,Новосибирск,RU-NVZ
50701000,Новосибирск,RU-NVS,390
50701000
2870100X,Тверь,RU-TVE
50701000,Новосибирск,RU-NVS,420
";
        let errors = parse_municipalities(text, &subjects).unwrap_err();
        let found: Vec<_> = errors.iter().map(|e| (e.line, e.code)).collect();
        assert_eq!(
            found,
            [
                (5, "duplicate_oktmo"),
                (6, "oktmo_region_mismatch"),
                (7, "empty_name"),
                (8, "unknown_region"),
                (9, "bad_utc_offset"),
                (10, "wrong_field_count"),
                (11, "oktmo_not_digits"),
            ]
        );
        assert_eq!(errors[3].text, "RU-NVZ");
        let good = parse_municipalities(
            "45381000,Хамовники,RU-MOW\n50701000,Новосибирск,RU-NVS\n",
            &subjects,
        )
        .unwrap();
        assert_eq!(good.len(), 2);
        assert_eq!(good[1].utc_offset_minutes, 420);
    }

    #[test]
    fn bad_subject_data_reports_the_line() {
        let districts = federal_districts().unwrap();
        let header = SUBJECT_COLUMNS.join(",");
        let check = |body: &str, line: usize, code: &str| {
            let error =
                parse_federal_subjects(&format!("{header}\n{body}"), &districts).unwrap_err();
            assert_eq!((error.line, error.code), (line, code), "{body}");
        };
        check(
            "RU-MOW,45,Москва,CFD,180,Москва\nRU-MOW,45,Москва,CFD,180,Москва",
            3,
            "duplicate_iso",
        );
        check("RU-mow,45,Москва,CFD,180,Москва", 2, "bad_iso");
        check("RU-MOW,450,Москва,CFD,180,Москва", 2, "bad_okato");
        check("RU-MOW,45,Москва,XFD,180,Москва", 2, "unknown_district");
        check("RU-MOW,45,Москва,CFD,210,Москва", 2, "bad_utc_offset");
        check("RU-MOW,45,Москва,CFD,180", 2, "wrong_field_count");
        check("RU-MOW,45,,CFD,180,Москва", 2, "empty_field");
        let error = parse_federal_subjects("iso,okato\n", &districts).unwrap_err();
        assert_eq!((error.line, error.code), (1, "bad_header"));
        assert!(parse_federal_districts("code,name_ru,centre\nCFD,X,Y\nCFD,Z,W").is_err());
    }
}

//! The bodies of the fuzz targets in `fuzz/`: one function per family of parsers of
//! outside input, each taking the fuzzer's bytes. The cargo-fuzz targets call them, and
//! so does this crate's test (`tests/corpora.rs`), which replays every file of
//! `fuzz/corpus/<target>/` and `fuzz/regressions/<target>/` in the ordinary
//! `cargo test --workspace`: no fuzzer, no nightly.
//!
//! A body must not panic on any input. Where it is cheap, it also checks that what a
//! parser accepts is whole: a value parsed again is the same value, a wire form read
//! back is the same wire form. Those checks are `assert!`s: a failed one is a finding,
//! like any other panic. See `docs/FUZZING.md`.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use otklik_domain::attachment;
use otklik_domain::calendar::{self, CalendarEntry, ProductionCalendar};
use otklik_domain::form::{FieldKind, FieldSpec, FormSpec};
use otklik_domain::lifecycle::{Role, SubmissionKind};
use otklik_domain::poll::{Condition, OptionSpec, PollKind, PollSpec, Question, QuestionKind};
use otklik_domain::territory;
use otklik_domain::text::{Email, NewPassword, PersonName, SubmissionText};
use otklik_domain::OrgId;
use otklik_log::{HashAlg, Receipt, SignedTreeHead};
use otklik_store::ledger::{verify_citizen_receipt, CitizenReceipt, LeafV1};
use otklik_web::api::{self, FileUpload};
use otklik_web::error::AppError;
use otklik_web::usecases::{self, ActInput};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A fuzz target's body.
pub type Body = fn(&[u8]);

/// Every target: its name (of `fuzz/fuzz_targets/<name>.rs` and of its corpus and
/// regression directories) and its body.
pub const TARGETS: &[(&str, Body)] = &[
    ("api_json", api_json),
    ("form", form),
    ("multipart", multipart),
    ("open311", open311),
    ("connector_vk", connector_vk),
    ("connector_telegram", connector_telegram),
    ("rss", rss),
    ("cms_der", cms_der),
    ("x509_der", x509_der),
    ("log_proof", log_proof),
    ("receipt", receipt),
    ("csv_import", csv_import),
    ("calendar_file", calendar_file),
    ("calendar_upload", calendar_upload),
    ("poll_ballot", poll_ballot),
    ("org_client_form", org_client_form),
    ("api_json_modules", api_json_modules),
];

/// Every action the pages and the API name, as `usecases::parse_action` knows them.
const ACTIONS: &[&str] = &[
    "take_into_work",
    "intermediate_answer",
    "answer",
    "redirect",
    "reject",
    "rate",
    "send_back",
    "request_clarification",
    "clarify",
    "extend",
    "return_answer",
    "recategorise",
];

/// The instant certificates and signatures are judged at (2027-01-15, inside the
/// validity of the corpus's certificates).
const NOW: i64 = 1_800_000_000;

// --- shared checks ------------------------------------------------------------------------

/// A subcategory's form with a field of every kind, for the checks of submitted values.
fn sample_form() -> &'static FormSpec {
    static FORM: OnceLock<FormSpec> = OnceLock::new();
    FORM.get_or_init(|| {
        let field = |key: &str, kind, required, options: &[&str]| FieldSpec {
            key: key.to_owned(),
            label: key.to_owned(),
            kind,
            required,
            hint: None,
            options: options.iter().map(|o| (*o).to_owned()).collect(),
        };
        FormSpec {
            fields: vec![
                field("address", FieldKind::Address, true, &[]),
                field("flat", FieldKind::Number, false, &[]),
                field("noticed", FieldKind::Date, false, &[]),
                field("defect", FieldKind::Select, true, &["яма", "открытый люк"]),
                field(
                    "extras",
                    FieldKind::MultiSelect,
                    false,
                    &["знак", "разметка"],
                ),
                field("note", FieldKind::Text, false, &[]),
            ],
            photo_required: false,
        }
    })
}

/// A submission's values checked as `usecases::submit` checks them before the store is
/// asked anything: kind, text, the form's fields, the attachments.
fn check_submission(
    kind: &str,
    text: &str,
    fields: &BTreeMap<String, String>,
    files: Vec<(String, Vec<u8>)>,
) {
    if let Ok(kind) = SubmissionKind::parse(kind.trim()) {
        assert_eq!(SubmissionKind::parse(kind.as_str()), Ok(kind));
    }
    if let Ok(text) = SubmissionText::parse(text) {
        assert_eq!(SubmissionText::parse(text.as_str()), Ok(text));
    }
    if let Ok(values) = sample_form().validate(fields) {
        // What the form accepted is only its own keys.
        for key in values.as_map().keys() {
            assert!(sample_form().fields.iter().any(|f| &f.key == key));
        }
    }
    check_files(files);
}

/// Uploads checked as every form and the API check them: refused whole or kept whole.
fn check_files(files: Vec<(String, Vec<u8>)>) {
    let count = files.len();
    if let Ok(parsed) = attachment::parse_all("attachments", files) {
        assert_eq!(parsed.len(), count);
    }
}

/// An action's input checked under every action name.
fn check_actions(input: &ActInput) {
    for name in ACTIONS {
        let _ = usecases::parse_action(name, input);
    }
}

/// A wire value deserialised, written and read again gives the same wire value.
fn round_trip<T: DeserializeOwned + Serialize>(data: &[u8]) -> Option<T> {
    let value: T = serde_json::from_slice(data).ok()?;
    let written = serde_json::to_value(&value).ok()?;
    let again: T = match serde_json::from_value(written.clone()) {
        Ok(again) => again,
        Err(e) => panic!("{written} does not read back: {e}"),
    };
    assert_eq!(serde_json::to_value(&again).ok(), Some(written));
    Some(value)
}

fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// One current-thread runtime for the bodies that drive async extractors.
fn block_on<F: std::future::Future>(future: F) -> Option<F::Output> {
    static RUNTIME: OnceLock<Option<tokio::runtime::Runtime>> = OnceLock::new();
    let runtime = RUNTIME
        .get_or_init(|| tokio::runtime::Builder::new_current_thread().build().ok())
        .as_ref()?;
    Some(runtime.block_on(future))
}

// --- HTTP bodies --------------------------------------------------------------------------

/// `/api/v1` JSON request bodies: deserialised into the real request types (unknown
/// fields refused, whole numbers only), written back and read again, then turned into
/// domain values as the handlers turn them.
pub fn api_json(data: &[u8]) {
    if let Some(body) = round_trip::<api::RegisterRequest>(data) {
        let _ = Email::parse(&body.email);
        let _ = PersonName::parse(&body.full_name);
        if let Ok(password) = NewPassword::parse(&body.password) {
            let _ = usecases::password_rules(password, &body.email);
        }
    }
    let _ = round_trip::<api::TokenRequest>(data);
    if let Some(body) = round_trip::<api::SubmitRequest>(data) {
        let files = api::fuzzing::decode_files(body.attachments).unwrap_or_default();
        check_submission(&body.kind, &body.text, &body.fields, files);
    }
    if let Some(body) = round_trip::<api::AnswerRequest>(data) {
        let files = api::fuzzing::decode_files(body.attachments).unwrap_or_default();
        check_actions(&ActInput {
            text: body.text,
            files,
            ..ActInput::default()
        });
    }
    let number = |n: Option<i64>| n.map(|n| n.to_string()).unwrap_or_default();
    if let Some(body) = round_trip::<api::RedirectRequest>(data) {
        check_actions(&ActInput {
            to_org: number(body.organisation_id),
            reason: body.reason,
            ..ActInput::default()
        });
    }
    if let Some(body) = round_trip::<api::RejectRequest>(data) {
        check_actions(&ActInput {
            ground: body.ground,
            comment: body.comment,
            ..ActInput::default()
        });
    }
    if let Some(body) = round_trip::<api::RateRequest>(data) {
        check_actions(&ActInput {
            score: number(body.score),
            comment: body.comment,
            ..ActInput::default()
        });
    }
    if let Some(body) = round_trip::<api::ExtendRequest>(data) {
        check_actions(&ActInput {
            days: number(body.days),
            reason: body.reason,
            ..ActInput::default()
        });
    }
    if let Some(body) = round_trip::<api::RecategoriseRequest>(data) {
        check_actions(&ActInput {
            subcategory: number(body.subcategory_id),
            reason: body.reason,
            ..ActInput::default()
        });
    }
    if let Some(body) = round_trip::<api::ReasonRequest>(data) {
        check_actions(&ActInput {
            reason: body.reason,
            ..ActInput::default()
        });
    }
    let _ = round_trip::<api::ClarifyRequest>(data);
    let _ = round_trip::<api::SendBackRequest>(data);
    let _ = round_trip::<FileUpload>(data);
}

/// Page forms sent `application/x-www-form-urlencoded`, decoded into pairs as the
/// handlers decode them, then read by the parsers those pages call: the social
/// incident's actions, the notification settings, the registration's checks.
pub fn form(data: &[u8]) {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(data).into_owned().collect();
    let first = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let posts: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == "posts")
        .map(|(_, v)| v.clone())
        .collect();
    let action = first("action").unwrap_or("answer");
    let _ = otklik_web::social::command(
        action,
        first("text"),
        first("reason"),
        first("organisation"),
        first("into"),
        &posts,
    );
    for role in [Role::Citizen, Role::Official(OrgId(1))] {
        let _ = otklik_web::pages::fuzzing::notification_settings(&pairs, role);
    }
    let email = first("email").unwrap_or_default();
    if let Ok(parsed) = Email::parse(email) {
        assert_eq!(Email::parse(parsed.as_str()), Ok(parsed));
    }
    let _ = PersonName::parse(first("full_name").unwrap_or_default());
    if let Ok(password) = NewPassword::parse(first("password").unwrap_or_default()) {
        let _ = usecases::password_rules(password, email);
    }
}

/// Multipart bodies (the submission, action, widget and document forms) read through
/// axum's `Multipart` extractor and the pages' `read_multipart`, then checked as the
/// submission and action handlers check them. The body is the fuzzer's input; the
/// boundary is the one the corpus uses.
pub fn multipart(data: &[u8]) {
    const CONTENT_TYPE: &str = "multipart/form-data; boundary=otklik-fuzz";
    let read = block_on(otklik_web::pages::fuzzing::read_multipart_body(
        CONTENT_TYPE,
        data.to_vec(),
    ));
    let Some(Ok(form)) = read else {
        return;
    };
    let fields = form.prefixed(otklik_domain::form::FIELD_PREFIX);
    check_submission(
        form.text("kind"),
        form.text("text"),
        &fields,
        form.files.clone(),
    );
    check_actions(&ActInput {
        text: form.text("text").to_owned(),
        to_org: form.text("to_org").to_owned(),
        reason: form.text("reason").to_owned(),
        ground: form.text("ground").to_owned(),
        score: form.text("score").to_owned(),
        comment: form.text("comment").to_owned(),
        days: form.text("days").to_owned(),
        subcategory: form.text("subcategory").to_owned(),
        files: form.files,
    });
    for files in form.named_files.into_values() {
        check_files(files);
    }
}

/// Open311 `POST /requests` form bodies, checked against a form as the endpoint checks
/// them; an accepted body's text and values then go through the submission's checks.
pub fn open311(data: &[u8]) {
    if let Ok((text, fields)) = otklik_web::open311::parse_request_body(data, sample_form()) {
        check_submission("message", &text, &fields, Vec::new());
    }
}

// --- connectors ---------------------------------------------------------------------------

/// The connectors' posts are whole: an id, text that passed the checks.
fn check_batch(batch: &otklik_connectors::Batch) {
    for post in &batch.posts {
        assert!(!post.external_id.is_empty());
        assert!(!post.text.trim().is_empty());
        assert!(post.text.len() <= otklik_connectors::MAX_TEXT_BYTES);
    }
}

/// Splits the input at the first newline: a header line and the rest.
fn header_and_body(data: &[u8]) -> (Option<&str>, &[u8]) {
    match data.iter().position(|b| *b == b'\n') {
        Some(at) => (
            text(&data[..at]).map(str::trim).filter(|h| !h.is_empty()),
            &data[at + 1..],
        ),
        None => (None, data),
    }
}

/// VK API answers (`wall.get`, `wall.getComments`, `newsfeed.search`): the input's
/// first line is the stored cursor (empty: none), the rest the answer.
pub fn connector_vk(data: &[u8]) {
    let (cursor, body) = header_and_body(data);
    if let Ok(batch) = otklik_connectors::vk::fuzz_answer(body, cursor) {
        check_batch(&batch);
    }
}

/// Telegram: the body as a webhook update, and as a `getUpdates` answer polled with
/// the cursor of the first line.
pub fn connector_telegram(data: &[u8]) {
    if let Ok(Some(post)) = otklik_connectors::telegram::parse_webhook_update("fuzz", data) {
        check_batch(&otklik_connectors::Batch {
            posts: vec![post],
            ..otklik_connectors::Batch::default()
        });
    }
    let (cursor, body) = header_and_body(data);
    if let Ok(batch) = otklik_connectors::telegram::fuzz_get_updates(body, cursor) {
        check_batch(&batch);
        if let (Some(next), Some(asked)) = (&batch.cursor, cursor) {
            // The offset only moves forward.
            if let (Ok(next), Ok(asked)) = (next.parse::<i64>(), asked.parse::<i64>()) {
                assert!(next > asked);
            }
        }
    }
    let _ = otklik_connectors::webhook::parse_webhook("fuzz", data).map(|b| check_batch(&b));
}

/// RSS and Atom answers: the first line is the `Content-Type` (empty: none), the rest
/// the body, decoded by its charset and parsed as the poller parses it.
pub fn rss(data: &[u8]) {
    let (content_type, body) = header_and_body(data);
    if let Ok(batch) = otklik_connectors::rss::fuzz_feed(body, content_type) {
        check_batch(&batch);
    }
}

// --- signatures ---------------------------------------------------------------------------

/// The corpus's authority (ECDSA P-256), which issued the signer of its signatures.
const FIXTURE_CA: &[u8] = include_bytes!("../fixtures/ca.pem");
/// What the corpus's signatures sign.
const FIXTURE_CONTENT: &[u8] = include_bytes!("../fixtures/content.txt");

fn trust() -> &'static otklik_sign::TrustStore {
    static TRUST: OnceLock<otklik_sign::TrustStore> = OnceLock::new();
    TRUST.get_or_init(|| {
        let mut trust = otklik_sign::TrustStore::new();
        // Without it every chain fails early; the fuzzer still runs, less deep.
        let _ = trust.add_ca(FIXTURE_CA);
        trust
    })
}

/// CMS SignedData, DER or PEM, verified against the fixture's content and authority: a
/// report with precise problems, or `malformed_signature`; never a panic.
pub fn cms_der(data: &[u8]) {
    if let Ok(report) = otklik_sign::verify(FIXTURE_CONTENT, data, trust(), NOW) {
        // Valid means every signer and nothing else wrong.
        if report.valid {
            assert!(!report.signers.is_empty());
            assert!(report.problems.is_empty());
        }
    }
    let _ = otklik_sign::to_der(data);
}

/// X.509 certificates and CRLs, DER or PEM: read for their details, checked against the
/// fixture's authority, added to a trust store.
pub fn x509_der(data: &[u8]) {
    if let Ok(info) = otklik_sign::certificate_info(data) {
        // The DER it reports reads back as the same certificate.
        if let Ok(again) = otklik_sign::certificate_info(&info.der) {
            assert_eq!(again.sha256, info.sha256);
            assert_eq!(again.serial, info.serial);
        }
    }
    let _ = trust().check_certificate(data, NOW);
    let mut store = otklik_sign::TrustStore::new();
    let _ = store.add_ca(data);
    let _ = store.add_crl(data);
}

// --- the transparency log -----------------------------------------------------------------

/// What `otklik log verify-inclusion` / `verify-consistency` are given, and the tree
/// head they read, as one JSON object (absent fields are not checked).
#[derive(Deserialize)]
struct ProofQuestion {
    #[serde(default)]
    alg: String,
    #[serde(default)]
    leaf_hash: String,
    #[serde(default)]
    index: u64,
    #[serde(default)]
    size: u64,
    #[serde(default)]
    root: String,
    #[serde(default)]
    proof: String,
    #[serde(default)]
    size2: Option<u64>,
    #[serde(default)]
    root2: String,
    #[serde(default)]
    tree_head: Option<serde_json::Value>,
}

/// Inclusion and consistency proofs and signed tree heads, decoded from their wire forms
/// and verified; a head that reads reads back the same.
pub fn log_proof(data: &[u8]) {
    let Ok(question) = serde_json::from_slice::<ProofQuestion>(data) else {
        return;
    };
    let alg = HashAlg::parse(&question.alg).unwrap_or_default();
    let proof = otklik_log::decode_proof(&question.proof).unwrap_or_default();
    if let (Ok(leaf), Ok(root)) = (
        otklik_log::decode_hash(&question.leaf_hash),
        otklik_log::decode_hash(&question.root),
    ) {
        let _ =
            otklik_log::verify_inclusion(alg, &leaf, question.index, question.size, &proof, &root);
    }
    if let (Some(size2), Ok(root1), Ok(root2)) = (
        question.size2,
        otklik_log::decode_hash(&question.root),
        otklik_log::decode_hash(&question.root2),
    ) {
        let _ = otklik_log::verify_consistency(alg, question.size, size2, &proof, &root1, &root2);
    }
    if let Some(head) = question.tree_head {
        if let Ok(head) = SignedTreeHead::from_json(&head.to_string()) {
            assert_eq!(
                SignedTreeHead::from_json(&head.to_json()).ok(),
                Some(head.clone())
            );
            let _ = head.verify(None);
        }
    }
}

/// Receipts as citizens download them and as the log issues them: read, read back the
/// same, verified against their own head, the leaf decoded.
pub fn receipt(data: &[u8]) {
    let Some(json) = text(data) else {
        return;
    };
    if let Ok(receipt) = Receipt::from_json(json) {
        assert_eq!(
            Receipt::from_json(&receipt.to_json()).ok(),
            Some(receipt.clone())
        );
        let _ = otklik_log::verify_receipt(&receipt, &receipt.tree_head, None);
    }
    if let Ok(citizen) = serde_json::from_str::<CitizenReceipt>(json) {
        let _ = verify_citizen_receipt(&citizen, &citizen.receipt.tree_head, None);
        let _ = LeafV1::decode(&citizen.receipt.leaf_data);
    }
    let _ = LeafV1::decode(data);
}

// --- imports ------------------------------------------------------------------------------

/// The municipality import (`otklik territory import-municipalities`), and the federal
/// subjects' and districts' CSV formats the same parser family reads.
pub fn csv_import(data: &[u8]) {
    let Some(csv) = text(data) else {
        return;
    };
    static SUBJECTS: OnceLock<Vec<territory::FederalSubject>> = OnceLock::new();
    let subjects = SUBJECTS.get_or_init(|| territory::federal_subjects().unwrap_or_default());
    if let Ok(rows) = territory::parse_municipalities(csv, subjects) {
        for row in rows {
            // An accepted row names a known subject, and its code is that subject's.
            assert!(subjects
                .iter()
                .any(|s| s.iso == row.region_iso && row.oktmo.region_code() == s.okato));
            let _ = row.utc_offset();
        }
    }
    if let Ok(districts) = territory::parse_federal_districts(csv) {
        let _ = territory::parse_federal_subjects(csv, &districts);
    }
    static DISTRICTS: OnceLock<Vec<territory::FederalDistrict>> = OnceLock::new();
    let districts = DISTRICTS.get_or_init(|| territory::federal_districts().unwrap_or_default());
    let _ = territory::parse_federal_subjects(csv, districts);
}

/// Production calendar files (`otklik calendar check`, `--calendar`, the console's
/// upload): parsed, layered over the statutory calendar, counted and walked as
/// `otklik calendar check` and `add-working-days` do.
pub fn calendar_file(data: &[u8]) {
    let Some(file) = text(data) else {
        return;
    };
    let Ok(entries) = calendar::parse_calendar(file) else {
        return;
    };
    let cal = ProductionCalendar::statutory().with_entries(entries.iter().copied());
    let regional = ProductionCalendar::statutory().with_region_overrides(entries.iter().copied());
    for entry in entries.iter().take(8) {
        let year = entry.date.year();
        let _ = cal.working_days_in_year(year);
        let _ = cal.non_working_days(year);
        let before = entry.date.previous_day().unwrap_or(entry.date);
        for n in [0, 1, 10] {
            let later = calendar::add_working_days(&cal, before, n);
            assert!(later >= before);
            let _ = calendar::add_working_days(&regional, before, n);
        }
    }
}

// --- the console's calendar upload ---------------------------------------------------------

/// The boundary of the multipart seeds (`multipart`, `calendar_upload`).
const MULTIPART: &str = "multipart/form-data; boundary=otklik-fuzz";

/// Days written back in the calendar file format.
fn calendar_text(entries: &[CalendarEntry]) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    entries
        .iter()
        .map(|e| {
            format!(
                "{} {}\n",
                e.date.format(&format).unwrap_or_default(),
                e.kind.as_str()
            )
        })
        .collect()
}

/// The console's calendar upload (`/console/calendars/{layer}/upload`), a multipart body
/// (boundary `otklik-fuzz`): read by axum's `Multipart` and the page's `read_upload`, then
/// checked as the handler checks it before the store is touched (`check_upload`: a file,
/// UTF-8 without its byte-order mark, `parse_import` for the federal layer and a region's,
/// the refusal worded with its line). ✓ The federal layer accepts only what a region's
/// does, the same days; accepted days written back read back the same.
pub fn calendar_upload(data: &[u8]) {
    let read = block_on(otklik_web::pages::fuzzing::read_calendar_upload(
        MULTIPART,
        data.to_vec(),
    ));
    let Some(Ok((_csrf, file))) = read else {
        return;
    };
    let federal = otklik_web::pages::fuzzing::check_calendar_upload(true, file.clone());
    let regional = otklik_web::pages::fuzzing::check_calendar_upload(false, file);
    match &regional {
        Ok(entries) => {
            assert!(!entries.is_empty());
            assert_eq!(
                calendar::parse_calendar(&calendar_text(entries))
                    .ok()
                    .as_ref(),
                Some(entries)
            );
        }
        Err(message) => assert!(!message.is_empty()),
    }
    match federal {
        Ok(entries) => assert_eq!(Some(&entries), regional.as_ref().ok()),
        Err(message) => assert!(!message.is_empty()),
    }
}

// --- polls ----------------------------------------------------------------------------------

fn options(titles: &[&str]) -> Vec<OptionSpec> {
    titles
        .iter()
        .map(|t| OptionSpec {
            title: (*t).to_owned(),
            description: String::new(),
            location: None,
        })
        .collect()
}

fn question(
    text: &str,
    kind: QuestionKind,
    required: bool,
    shown_if: Option<(u16, u16)>,
) -> Question {
    Question {
        text: text.to_owned(),
        kind,
        required,
        shown_if: shown_if.map(|(question, option)| Condition { question, option }),
    }
}

/// The polls ballots are checked against: one of each question type, a conditional
/// survey, a survey of every type, and votes (choose one, choose up to 3 of 5).
pub fn poll_specs() -> &'static [PollSpec] {
    static SPECS: OnceLock<Vec<PollSpec>> = OnceLock::new();
    SPECS.get_or_init(|| {
        let single = || QuestionKind::Single {
            options: options(&["Каждый день", "Раз в неделю", "Реже"]),
        };
        let multiple = || QuestionKind::Multiple {
            options: options(&["Освещение", "Дорожки", "Скамейки", "Туалеты"]),
            max: 2,
        };
        let scale = || QuestionKind::Scale { min: 1, max: 5 };
        let ranking = || QuestionKind::Ranking {
            options: options(&["Сквер", "Парк", "Набережная"]),
        };
        let free = || QuestionKind::FreeText { max_chars: 200 };
        let survey = |questions| PollSpec::new(PollKind::Survey, questions);
        [
            survey(vec![question(
                "Как часто вы бываете в парке?",
                single(),
                true,
                None,
            )]),
            survey(vec![question("Что улучшить?", multiple(), false, None)]),
            survey(vec![question("Оцените уборку", scale(), true, None)]),
            survey(vec![question(
                "Расставьте по порядку",
                ranking(),
                true,
                None,
            )]),
            survey(vec![question("Ваши предложения", free(), false, None)]),
            survey(vec![
                question(
                    "Вы бываете в парке?",
                    QuestionKind::Single {
                        options: options(&["Да", "Нет"]),
                    },
                    true,
                    None,
                ),
                question("Что вам нравится?", free(), true, Some((0, 0))),
                question("Что мешает?", multiple(), true, Some((0, 1))),
            ]),
            survey(vec![
                question("Как часто?", single(), true, None),
                question("Что улучшить?", multiple(), false, None),
                question("Оценка", scale(), false, Some((0, 0))),
                question("Порядок", ranking(), false, Some((1, 2))),
                question("Комментарий", free(), false, None),
            ]),
            PollSpec::new(
                PollKind::Vote,
                vec![question(
                    "Какой проект реализовать?",
                    QuestionKind::Single {
                        options: options(&["Сквер", "Фонтан"]),
                    },
                    true,
                    None,
                )],
            ),
            PollSpec::new(
                PollKind::Vote,
                vec![question(
                    "Выберите до трёх проектов",
                    QuestionKind::Multiple {
                        options: options(&["Сквер", "Фонтан", "Площадка", "Аллея", "Мост"]),
                        max: 3,
                    },
                    true,
                    None,
                )],
            ),
        ]
        .into_iter()
        .filter_map(Result::ok)
        .collect()
    })
}

/// A ballot's check is whole: an accepted ballot answers every question, its free texts
/// fit their questions, and it reads back as a published ballot; a refusal names one
/// answer.
fn check_ballot_result(
    spec: &PollSpec,
    result: Result<otklik_domain::poll::CheckedBallot, AppError>,
) {
    let questions = spec.questions();
    match result {
        Ok(checked) => {
            assert_eq!(checked.ballot.answers().len(), questions.len());
            assert_eq!(spec.check_published(&checked.ballot), Ok(()));
            for (i, text) in &checked.texts {
                let max = match questions.get(usize::from(*i)).map(|q| &q.kind) {
                    Some(QuestionKind::FreeText { max_chars }) => usize::from(*max_chars),
                    other => panic!("text for {other:?}"),
                };
                assert!(!text.is_empty() && text.chars().count() <= max);
            }
        }
        Err(e) => {
            assert_eq!(e.fields.len(), 1, "{e:?}");
            let field = &e.fields[0].field;
            let index = field
                .strip_prefix("answers[")
                .and_then(|r| r.strip_suffix(']'))
                .and_then(|i| i.parse::<usize>().ok());
            assert!(index.is_some_and(|i| i <= questions.len()), "{field}");
        }
    }
}

/// A poll page's ballot form (`application/x-www-form-urlencoded`: `q{i}` values,
/// `q{i}_o{j}` places of a ranking), read as `vote_post` and the widget read it
/// (`form_answers`) and checked (`polls::check_answers`) against every poll of
/// [`poll_specs`]. ✓ What is accepted is whole (`check_ballot_result`).
pub fn poll_ballot(data: &[u8]) {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(data).into_owned().collect();
    for spec in poll_specs() {
        check_ballot_result(spec, otklik_web::pages::fuzzing::ballot_form(spec, &pairs));
    }
}

// --- an organisation's administration ----------------------------------------------------------

/// The push secret a stored integration would have.
const KEPT_SECRET: &str = "kept-secret-kept-secret-kept-secret";

/// An organisation's client and delivery settings forms (`/org/{id}/clients`,
/// `/org/{id}/integration`; `application/x-www-form-urlencoded`): the client read and
/// checked as `add_client` does (`pages::fuzzing::client_form`: ✓ the id reads back the
/// same, scopes are never empty); the settings read by axum's `Form` and the page's
/// `integration_input`, then checked by `orgadmin::integration_settings` with and without
/// private targets (✓ allowing them never refuses more).
pub fn org_client_form(data: &[u8]) {
    if let Ok((client_id, name, scopes)) = otklik_web::pages::fuzzing::client_form(data) {
        assert_eq!(
            otklik_domain::text::ClientId::parse(client_id.as_str()).ok(),
            Some(client_id)
        );
        assert_eq!(PersonName::parse(name.as_str()).ok(), Some(name));
        assert!(!scopes.is_empty());
    }
    if let Some(Ok(input)) = block_on(otklik_web::pages::fuzzing::integration_form(data.to_vec())) {
        check_integration(&input);
    }
}

fn check_integration(input: &otklik_web::orgadmin::IntegrationInput) {
    use otklik_web::orgadmin::integration_settings;
    let public = integration_settings(input, false, KEPT_SECRET.to_owned());
    let private = integration_settings(input, true, KEPT_SECRET.to_owned());
    if public.is_ok() {
        assert_eq!(public.ok(), private.ok());
    }
}

// --- the API's other request bodies ---------------------------------------------------------------

/// A JSON body read as `ApiJson` reads it (serde_json, the whole input).
fn json<T: DeserializeOwned>(data: &[u8]) -> Option<T> {
    serde_json::from_slice(data).ok()
}

/// A parser that accepts its own output: parsing what it accepted gives the same value.
fn idempotent<T: PartialEq + std::fmt::Debug>(
    parse: impl Fn(&str) -> Result<T, &'static str>,
    raw: &str,
    show: impl Fn(&T) -> String,
) {
    if let Ok(value) = parse(raw) {
        assert_eq!(parse(&show(&value)).as_ref(), Ok(&value));
    }
}

/// The `/api/v1` request bodies outside `api/types.rs` — polls, discussions, social
/// media, duplicates and visibility, answer and notification templates, campaigns,
/// incidents, notification settings, organisations' staff, clients, sites and delivery
/// settings, documents and certificates, and the console's routes, organisations,
/// catalogue, policies and calendars — each deserialised into its real type (unknown
/// fields refused, whole numbers), the console's and the incidents' written back and read
/// again (✓ round trip), then converted and checked as the handlers do before the store is
/// asked: ballots against every poll of [`poll_specs`], poll definitions (✓ the text form
/// from the text form reads back the same), templates (MiniJinja syntax, placeholders, a trial rendering),
/// social commands, delivery settings, forms, policies, calendar days and files, base64
/// files and documents.
pub fn api_json_modules(data: &[u8]) {
    use otklik_web::api::fuzzing as hook;
    use otklik_web::api::{
        campaigns, console, discussions, documents, duplicates, integration, monitoring,
        notifications, organisation, polls, social, templates,
    };

    // Polls.
    if let Some(request) = json::<polls::PollRequest>(data) {
        if let Ok(input) = hook::poll_input(&request) {
            let mut errors = otklik_domain::ValidationErrors::default();
            let definition = otklik_web::polls::check_definition(&input, &mut errors);
            // The text form round-trips what it reads (JSON questions may hold what it
            // cannot write, such as a line break in a question).
            if let (Some(spec), None) = (definition.spec, &input.questions) {
                let text = otklik_domain::poll::to_text(&spec);
                assert_eq!(
                    otklik_domain::poll::parse_text(spec.kind(), &text).as_ref(),
                    Ok(&spec),
                    "{text}"
                );
            }
        }
    }
    if let Some(request) = json::<polls::BallotRequest>(data) {
        if let Ok(answers) = hook::ballot_answers(&request) {
            for spec in poll_specs() {
                check_ballot_result(spec, otklik_web::polls::check_answers(spec, &answers));
            }
        }
    }
    if let Some(request) = json::<polls::PhotoRequest>(data) {
        if let Ok((name, bytes)) = hook::photo_file(request) {
            let _ = attachment::Attachment::parse_image(&name, bytes);
        }
    }

    // Discussions.
    let _ = json::<discussions::DiscussionRequest>(data);
    if let Some(request) = json::<discussions::CommentRequest>(data) {
        idempotent(
            otklik_domain::discussion::parse_comment,
            &request.body,
            String::clone,
        );
    }
    if let Some(request) = json::<discussions::ModerationRequest>(data) {
        let _ = otklik_web::discussions::parse_moderation(
            &request.action,
            request.reason.as_deref().unwrap_or(""),
        );
    }
    if let Some(request) = json::<discussions::SupportRequest>(data) {
        let _ = otklik_domain::discussion::Stance::parse(request.stance.trim());
    }

    // Duplicates and visibility.
    let _ = json::<duplicates::SimilarRequest>(data);
    let _ = json::<duplicates::VisibilityRequest>(data);
    let _ = json::<duplicates::MergeRequest>(data);

    // Answer templates.
    if let Some(request) = json::<templates::TemplateRequest>(data) {
        let input = hook::answer_template_input(&request);
        let _ = otklik_domain::answer_template::parse_title(&input.title);
        let _ = otklik_domain::answer_template::TemplateBody::parse(&input.body);
    }

    // Notification templates and campaigns.
    if let Some(request) = json::<campaigns::TemplateRequest>(data) {
        let keys = hook::notification_template_keys();
        if let Some(key) = keys.get(data.len() % keys.len().max(1)) {
            let _ = hook::notification_template(&request, key);
        }
    }
    let _ = json::<campaigns::AudienceView>(data);
    if let Some(request) = json::<campaigns::CampaignRequest>(data) {
        let _ = hook::campaign(&request);
    }

    // Incidents and social media.
    if let Some(request) = round_trip::<monitoring::ResolveRequest>(data) {
        let _ = otklik_domain::text::Reason::parse(&request.resolution);
    }
    if let Some(request) = json::<social::ActionRequest>(data) {
        let _ = hook::social_command(&request);
    }

    // Notification settings.
    let _ = json::<notifications::ReadRequest>(data);
    if let Some(request) = json::<notifications::SettingsRequest>(data) {
        let current = otklik_store::NotificationSettings {
            choices: Vec::new(),
            phone: None,
            email_deliverable: true,
            campaigns_opted_out: false,
            home_region: None,
            home_municipality: None,
        };
        let _ = hook::notification_settings(current, &request);
    }

    // An organisation's administration.
    if let Some(request) = json::<organisation::NewStaffRequest>(data) {
        let _ = otklik_web::orgadmin::check_staff(
            OrgId(1),
            &request.email,
            &request.full_name,
            &request.role,
        );
    }
    if let Some(request) = json::<organisation::NewClientRequest>(data) {
        let _ =
            otklik_web::orgadmin::check_client(&request.client_id, &request.name, &request.scopes);
    }
    if let Some(request) = json::<organisation::SiteRequest>(data) {
        idempotent(
            otklik_domain::text::WidgetOrigin::parse,
            &request.origin,
            |o| o.as_str().to_owned(),
        );
    }
    if let Some(request) = json::<integration::IntegrationRequest>(data) {
        if let Ok(input) = hook::integration_input(request) {
            check_integration(&input);
        }
    }

    // Documents and certificates.
    if let Some(request) = json::<documents::NewDocumentRequest>(data) {
        let now = time::OffsetDateTime::from_unix_timestamp(NOW)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        let _ = hook::new_document(request, now);
    }
    if let Some(request) = json::<documents::SignRequest>(data) {
        if let Some(raw) = &request.signature_base64 {
            let _ = hook::decode_base64("signature_base64", raw);
        }
    }
    if let Some(request) = json::<documents::DeclineRequest>(data) {
        let _ = otklik_domain::text::Reason::parse(&request.reason);
    }
    if let Some(request) = json::<documents::VerifyRequest>(data) {
        let _ = hook::decode_base64("content_base64", &request.content_base64);
        for raw in request.signatures_base64.iter().take(20) {
            let _ = hook::decode_base64("signatures_base64", raw);
        }
    }
    if let Some(request) = json::<documents::IssueRequest>(data) {
        let _ = request.algorithm.parse::<otklik_sign::Algorithm>();
        let _ = NewPassword::parse(&request.password);
    }
    if let Some(request) = json::<documents::RegisterRequest>(data) {
        let _ = hook::decode_base64("certificate_base64", &request.certificate_base64);
    }

    // The console.
    let _ = round_trip::<console::RouteRequest>(data);
    let _ = round_trip::<console::ConsoleOrganisationRequest>(data);
    if let Some(request) = round_trip::<console::CategoryRequest>(data) {
        if let Ok(name) = hook::category_name(&request.name) {
            assert_eq!(hook::category_name(&name).ok(), Some(name));
        }
    }
    if let Some(request) = round_trip::<console::SubcategoryRequest>(data) {
        if let Ok(form) = hook::subcategory_form(request.form) {
            // A form the console accepts is one the domain accepts as new.
            assert!(form.check_new().is_ok());
        }
    }
    if let Some(request) = round_trip::<console::PolicyRequest>(data) {
        let _ = hook::policy(request);
    }
    if let Some(request) = round_trip::<console::CalendarDayRequest>(data) {
        let _ = hook::calendar_day(&request);
    }
    if let Some(request) = round_trip::<console::CalendarImportRequest>(data) {
        let federal = hook::calendar_import(true, &request.text);
        let regional = hook::calendar_import(false, &request.text);
        if let Ok(entries) = federal {
            assert_eq!(Some(entries), regional.ok());
        }
    }
}

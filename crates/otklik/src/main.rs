//! `otklik`: the command line. Parses arguments and calls the library; nothing else.

use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use otklik::{Database, ServeConfig};
use otklik_domain::lifecycle::Role;
use otklik_domain::text::{Email, NewPassword, PersonName};
use otklik_domain::OrgId;

mod sign_cli;

/// jemalloc, whose background thread returns freed memory to the system within seconds:
/// with glibc's malloc the server stayed at ~220 MB after the search index's catch-up of a
/// million submissions, 21 MB of it in use (docs/BENCHMARKS.md, 2026-12-06).
#[cfg(target_os = "linux")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(
    name = "otklik",
    version,
    about = "Otklik: citizens' feedback platform for public bodies"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the platform (the default when no command is given).
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate(DbArgs),
    /// Load the demo data set into an empty database and print the demo accounts.
    DemoData(DbArgs),
    /// Administration.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// The transparency log: verify proofs and receipts offline, audit a database.
    #[command(subcommand)]
    Log(LogCommand),
    /// Deadlines: recompute them, list what is overdue or soon due.
    #[command(subcommand)]
    Sla(SlaCommand),
    /// Territories: import municipalities.
    #[command(subcommand)]
    Territory(TerritoryCommand),
    /// The Russian production calendar: non-working days and working-day arithmetic.
    #[command(subcommand)]
    Calendar(CalendarCommand),
    /// Electronic signatures (GOST R 34.10-2012, ECDSA): create and verify CMS signatures.
    #[command(subcommand)]
    Sign(sign_cli::SignCommand),
    /// Full-text search: rebuild the node's index from the database.
    #[command(subcommand)]
    Search(SearchCommand),
    /// Polls and votes: recount from the published ballots, verify a ballot's receipt.
    #[command(subcommand)]
    Poll(otklik::poll_cli::PollCommand),
    /// Analytics: recompute the figures from the events.
    #[command(subcommand)]
    Analytics(AnalyticsCommand),
    /// The social-media classifier: train, evaluate on the held-out split, classify stdin.
    #[command(subcommand)]
    Classify(otklik::classify_cli::ClassifyCommand),
    /// Social-media monitoring: a worker process of the scale mode.
    #[command(subcommand)]
    Social(SocialCommand),
    /// Take an online, consistent backup into DIR (new or empty): the database (SQLite:
    /// a snapshot; PostgreSQL: pg_dump), the log's signing key and a manifest of digests.
    /// The server may keep running.
    Backup(BackupArgs),
    /// Restore a backup taken by `otklik backup` into an empty data directory or an empty
    /// PostgreSQL database, after checking its digests. Then run `otklik log audit`.
    Restore(BackupArgs),
}

#[derive(Args)]
struct BackupArgs {
    /// The backup directory.
    dir: PathBuf,
    #[command(flatten)]
    db: DbArgs,
    /// The transparency log's signing key file. Default: log-signing.key in the data
    /// directory.
    #[arg(long, env = "OTKLIK_LOG_KEY")]
    log_key: Option<PathBuf>,
}

impl BackupArgs {
    fn key_file(&self) -> PathBuf {
        self.log_key
            .clone()
            .unwrap_or_else(|| self.db.database().default_key_file())
    }
}

#[derive(Subcommand)]
enum SocialCommand {
    /// Consume posts from NATS JetStream (the settings' [social] nats_url) as one of the
    /// pipeline's durable consumer group, until interrupted.
    Worker {
        #[command(flatten)]
        db: DbArgs,
        /// The settings file with the [social] table.
        #[arg(long, env = "OTKLIK_CONFIG")]
        config: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum AnalyticsCommand {
    /// Empty the analytics figures and count every event and incident of the
    /// transparency log again, with a progress bar (the result equals what was kept
    /// incrementally).
    Rebuild(DbArgs),
}

#[derive(Subcommand)]
enum SearchCommand {
    /// Empty this node's search index (in the data directory) and build it again from
    /// the transparency log, with a progress bar.
    Reindex(DbArgs),
}

#[derive(Subcommand)]
enum CalendarCommand {
    /// Print every non-working date of YEAR (weekends, holidays, transferred days off),
    /// one YYYY-MM-DD per line.
    NonWorkingDays {
        /// A year from 1900 to 2200.
        year: String,
        #[command(flatten)]
        layers: CalendarLayers,
    },
    /// Print the N-th working day after DATE (YYYY-MM-DD; N = 0 prints DATE).
    AddWorkingDays {
        /// The start date, YYYY-MM-DD; it is not counted.
        date: String,
        /// How many working days to add, 0 to 100000.
        n: String,
        #[command(flatten)]
        layers: CalendarLayers,
    },
    /// Check a calendar file and print each year's totals, or its first error as
    /// FILE:LINE: CODE: text (exit 2).
    Check {
        /// Lines of `YYYY-MM-DD holiday|day-off|working|short [# comment]`.
        file: PathBuf,
    },
    /// Load a calendar file into the installation: a later year's decree (whole years,
    /// replacing those years) or, with --region, that region's own days. Open deadlines
    /// are recomputed.
    Import {
        file: PathBuf,
        /// The federal subject (e.g. RU-TA) whose own days these are.
        #[arg(long, value_name = "CODE")]
        region: Option<String>,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Subcommand)]
enum SlaCommand {
    /// Recompute every open deadline from its policy, calendar, pauses and extension
    /// (also done automatically when a policy or calendar changes).
    Recompute {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Print the first overdue and soon-due submissions and how long finding them took.
    Due {
        #[arg(long, default_value_t = 25)]
        limit: u32,
        /// Soon due: within this many working days.
        #[arg(long, default_value_t = 1)]
        within: u32,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Subcommand)]
enum TerritoryCommand {
    /// Import municipalities from CSV lines `oktmo,name,region_iso[,utc_offset_minutes]`.
    ImportMunicipalities {
        file: PathBuf,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Args)]
struct CalendarLayers {
    /// A calendar file layered over the shipped data, replacing the years it lists
    /// (repeatable; a later file wins).
    #[arg(long = "file", value_name = "FILE")]
    files: Vec<PathBuf>,
    /// The federal subject (ISO 3166-2 code, e.g. RU-TA) whose own days apply.
    #[arg(long, value_name = "CODE")]
    region: Option<String>,
    /// The region's own days, in the calendar file format (repeatable; needs --region).
    #[arg(long = "region-file", value_name = "FILE", requires = "region")]
    region_files: Vec<PathBuf>,
    /// Start from the installation's calendar (its imported years and, with --region, the
    /// region's stored days) instead of the shipped data alone.
    #[arg(long)]
    installation: bool,
    #[command(flatten)]
    db: DbArgs,
}

impl CalendarLayers {
    fn layers(self) -> otklik::calendar_cli::Layers {
        otklik::calendar_cli::Layers {
            files: self.files,
            region: self.region,
            region_files: self.region_files,
        }
    }
}

#[derive(Subcommand)]
enum LogCommand {
    /// Check that a leaf hash is included in a tree (RFC 9162 §2.1.3.2).
    VerifyInclusion {
        #[arg(long)]
        leaf_hash: String,
        #[arg(long)]
        index: u64,
        #[arg(long)]
        size: u64,
        #[arg(long)]
        root: String,
        /// Comma-separated base64 hashes; empty for a one-leaf tree.
        #[arg(long, default_value = "")]
        proof: String,
        #[arg(long, default_value = "sha256")]
        alg: String,
    },
    /// Check that a tree of size1 is a prefix of a tree of size2 (RFC 9162 §2.1.4.2).
    VerifyConsistency {
        #[arg(long)]
        size1: u64,
        #[arg(long)]
        size2: u64,
        #[arg(long)]
        root1: String,
        #[arg(long)]
        root2: String,
        #[arg(long, default_value = "")]
        proof: String,
        #[arg(long, default_value = "sha256")]
        alg: String,
    },
    /// Check a receipt downloaded from the personal account against a signed tree head
    /// fetched independently (GET /api/v1/log/tree-head/{size}).
    VerifyReceipt {
        file: PathBuf,
        #[arg(long)]
        tree_head: PathBuf,
        /// The platform's public key (base64) to pin; otherwise the heads' own key.
        #[arg(long)]
        public_key: Option<String>,
    },
    /// Recompute the whole log from the stored leaves, check every signed tree head, and
    /// check that the events and submissions match the log. Reports the first divergence.
    Audit {
        /// Start from this size, trusting the signed tree head of exactly this size.
        #[arg(long, default_value_t = 0)]
        from_size: u64,
        /// Public keys (base64) to trust for tree heads; default: each head's own key.
        #[arg(long)]
        public_key: Vec<String>,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Args, Clone)]
struct DbArgs {
    /// Directory of the embedded SQLite database.
    #[arg(long, default_value = "./otklik-data", env = "OTKLIK_DATA_DIR")]
    data_dir: PathBuf,
    /// `postgres://…` to use PostgreSQL instead of the embedded SQLite.
    #[arg(long, env = "OTKLIK_DATABASE_URL")]
    database_url: Option<String>,
}

impl DbArgs {
    fn database(&self) -> Database {
        Database {
            data_dir: self.data_dir.clone(),
            url: self.database_url.clone(),
        }
    }
}

#[derive(Args, Clone)]
struct ServeArgs {
    #[arg(long, default_value = "127.0.0.1:8080", env = "OTKLIK_LISTEN")]
    listen: SocketAddr,
    #[command(flatten)]
    db: DbArgs,
    /// Do not load the demo data set on first start (of the embedded SQLite database).
    #[arg(long, conflicts_with = "demo")]
    no_demo: bool,
    /// Load the demo data set on first start even with --database-url (never by default
    /// into a server database: its staff passwords are printed).
    #[arg(long)]
    demo: bool,
    /// The password of every demo account, instead of generated ones (development and
    /// tests).
    #[arg(long, env = "OTKLIK_DEMO_PASSWORD", hide = true)]
    demo_password: Option<String>,
    /// Mark cookies Secure and send HSTS (served behind HTTPS); the same as `tls = true`
    /// in the settings file's [security]. Accepts 1/0, true/false, yes/no.
    #[arg(long, env = "OTKLIK_SECURE_COOKIES", value_parser = clap::builder::FalseyValueParser::new())]
    secure_cookies: bool,
    /// The settings file (TOML): [security], [identity], [rate_limits], [oidc]. See
    /// docs/IDENTITY.md. Unknown keys are refused.
    #[arg(long, env = "OTKLIK_CONFIG")]
    config: Option<PathBuf>,
    /// The transparency log's Ed25519 signing key file (created when missing).
    /// Default: log-signing.key in the data directory.
    #[arg(long, env = "OTKLIK_LOG_KEY")]
    log_key: Option<PathBuf>,
    /// The log's hash: sha256 or streebog256 (GOST R 34.11-2012); fixed at the first leaf.
    #[arg(long, env = "OTKLIK_LOG_HASH", default_value = "sha256")]
    log_hash: String,
    /// Seconds between signed tree heads while the log grows.
    #[arg(long, env = "OTKLIK_TREE_HEAD_INTERVAL", default_value_t = 10)]
    tree_head_interval: u64,
    /// Seconds between passes of the deadline monitor.
    #[arg(long, env = "OTKLIK_MONITOR_INTERVAL", default_value_t = 60)]
    monitor_interval: u64,
    /// Warn this many working days before a deadline.
    #[arg(long, env = "OTKLIK_WARN_WORKING_DAYS", default_value_t = 1)]
    warn_working_days: u32,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an account. The password is read from OTKLIK_PASSWORD, or generated and printed.
    CreateUser {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// citizen, official, org_admin, operator or analyst.
        #[arg(long, default_value = "citizen")]
        role: String,
        /// The organisation id of an official.
        #[arg(long)]
        org: Option<i64>,
        #[command(flatten)]
        db: DbArgs,
    },
}

fn main() -> ExitCode {
    init_logging();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Log lines go to standard error: human-readable by default, one JSON object per line
/// with `OTKLIK_LOG_FORMAT=json` (each carrying its request's span, hence its id).
/// `OTKLIK_LOG` filters them (default `info,sqlx=warn`).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("OTKLIK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr);
    if std::env::var("OTKLIK_LOG_FORMAT").is_ok_and(|f| f == "json") {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .init();
    } else {
        builder.init();
    }
}

async fn run(cli: Cli) -> Result<ExitCode, otklik::AppError> {
    let Some(command) = command_or_serve(cli) else {
        return Err(otklik::AppError::Usage("no command".into()));
    };
    match command {
        Command::Log(command) => return log_command(command).await,
        Command::Sign(command) => return Ok(sign_cli::run(command)),
        Command::Poll(command) => return Ok(otklik::poll_cli::run(command)),
        Command::Classify(command) => {
            return otklik::classify_cli::run(command).map_err(otklik::AppError::Usage)
        }
        Command::Social(SocialCommand::Worker { db, config }) => {
            let settings = match &config {
                Some(path) => {
                    otklik::settings::Settings::load(path).map_err(otklik::AppError::Usage)?
                }
                None => otklik::settings::Settings::default(),
            };
            let database = db.database();
            let store = database.open().await?;
            otklik::social::run_worker(&settings.social, store)
                .await
                .map_err(otklik::AppError::Usage)?;
        }
        Command::Backup(args) => {
            let report =
                otklik::backup_cli::backup(&args.db.database(), &args.key_file(), &args.dir)
                    .await?;
            println!("{report}");
        }
        Command::Restore(args) => {
            let report =
                otklik::backup_cli::restore(&args.db.database(), &args.key_file(), &args.dir)
                    .await?;
            println!("{report}");
        }
        Command::Search(SearchCommand::Reindex(db)) => {
            let database = db.database();
            let store = database.open().await?;
            let index = otklik::search::open_index(&database.data_dir)?;
            let documents = otklik::search::reindex(store.as_ref(), &index).await?;
            println!("{documents} documents indexed");
        }
        Command::Analytics(AnalyticsCommand::Rebuild(db)) => {
            let store = db.database().open().await?;
            let counted = otklik::analytics::rebuild(store.as_ref()).await?;
            println!("{counted} events and incidents counted");
        }
        Command::Calendar(CalendarCommand::Import { file, region, db }) => {
            let store = db.database().open().await?;
            otklik::load_federal_subjects(store.as_ref()).await?;
            let report =
                otklik::admin_cli::import_calendar(store.as_ref(), &file, region.as_deref())
                    .await?;
            println!("{report}");
        }
        Command::Calendar(command) => return Ok(calendar_command(command).await),
        Command::Sla(SlaCommand::Recompute { db }) => {
            let store = db.database().open().await?;
            println!("{}", otklik::admin_cli::recompute(store.as_ref()).await?);
        }
        Command::Sla(SlaCommand::Due { limit, within, db }) => {
            let store = db.database().open().await?;
            print!(
                "{}",
                otklik::admin_cli::due(store.as_ref(), limit, within).await?
            );
        }
        Command::Territory(TerritoryCommand::ImportMunicipalities { file, db }) => {
            let store = db.database().open().await?;
            otklik::load_federal_subjects(store.as_ref()).await?;
            println!(
                "{}",
                otklik::admin_cli::import_municipalities(store.as_ref(), &file).await?
            );
        }
        other => run_other(other).await?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Verdicts exit 0 (`valid`) or 1 (`invalid: …`); unreadable input exits 2.
async fn log_command(command: LogCommand) -> Result<ExitCode, otklik::AppError> {
    use otklik::log_cli::{self, Verdict};
    let read = |path: &PathBuf| {
        std::fs::read_to_string(path)
            .map_err(|e| log_cli::Usage(format!("{}: {e}", path.display())))
    };
    let verdict = match command {
        LogCommand::VerifyInclusion {
            leaf_hash,
            index,
            size,
            root,
            proof,
            alg,
        } => log_cli::verify_inclusion(&alg, &leaf_hash, index, size, &root, &proof),
        LogCommand::VerifyConsistency {
            size1,
            size2,
            root1,
            root2,
            proof,
            alg,
        } => log_cli::verify_consistency(&alg, size1, size2, &root1, &root2, &proof),
        LogCommand::VerifyReceipt {
            file,
            tree_head,
            public_key,
        } => read(&file)
            .and_then(|receipt| Ok((receipt, read(&tree_head)?)))
            .and_then(|(receipt, head)| {
                log_cli::verify_receipt(&receipt, &head, public_key.as_deref())
            }),
        LogCommand::Audit {
            from_size,
            public_key,
            db,
        } => {
            let store = db.database().open().await?;
            let report = log_cli::audit_waiting(store.as_ref(), from_size, &public_key).await?;
            println!("{}", log_cli::format_report(&report));
            return Ok(if report.divergence.is_none() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            });
        }
    };
    match verdict {
        Ok(verdict) => {
            println!("{verdict}");
            Ok(if verdict == Verdict::Valid {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Err(usage) => {
            eprintln!("error: {usage}");
            Ok(ExitCode::from(2))
        }
    }
}

/// Answers on stdout, warnings on stderr; bad input exits 2.
/// The installation's calendar for the command's region (shipped data, imported years,
/// the region's stored days).
async fn installation_calendar(
    layers: &CalendarLayers,
) -> Result<otklik_domain::calendar::ProductionCalendar, otklik::AppError> {
    let store = layers.db.database().open().await?;
    Ok((*store.calendar(layers.region.as_deref()).await?).clone())
}

async fn calendar_command(command: CalendarCommand) -> ExitCode {
    use otklik::calendar_cli::{self as cli, CalendarError};
    use otklik_domain::calendar::ProductionCalendar;
    let layers = match &command {
        CalendarCommand::NonWorkingDays { layers, .. }
        | CalendarCommand::AddWorkingDays { layers, .. } => Some(layers),
        _ => None,
    };
    let russia = match layers.filter(|l| l.installation) {
        None => ProductionCalendar::russia(),
        Some(layers) => match installation_calendar(layers).await {
            Ok(calendar) => calendar,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        },
    };
    let result = match command {
        CalendarCommand::NonWorkingDays { year, layers } => {
            cli::non_working_days_command(&russia, &year, &layers.layers())
        }
        CalendarCommand::AddWorkingDays { date, n, layers } => {
            cli::add_working_days_command(&russia, &date, &n, &layers.layers())
        }
        CalendarCommand::Check { file } => cli::check_file(&file),
        CalendarCommand::Import { .. } => return ExitCode::SUCCESS,
    };
    match result {
        Ok(report) => {
            for warning in &report.warnings {
                eprintln!("warning: {warning}");
            }
            // Not `println!`: a closed pipe (`| head`) must not panic.
            let text: String = report
                .lines
                .iter()
                .map(|line| format!("{line}\n"))
                .collect();
            match std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(_) => ExitCode::FAILURE,
            }
        }
        // A file's first error, as `FILE:LINE: CODE: text`.
        Err(error @ CalendarError::Parse { .. }) => {
            eprintln!("{error}");
            ExitCode::from(2)
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(2)
        }
    }
}

async fn run_other(command: Command) -> Result<(), otklik::AppError> {
    match command {
        Command::Log(_)
        | Command::Calendar(_)
        | Command::Sla(_)
        | Command::Territory(_)
        | Command::Sign(_)
        | Command::Poll(_)
        | Command::Analytics(_)
        | Command::Classify(_)
        | Command::Social(_)
        | Command::Search(_)
        | Command::Backup(_)
        | Command::Restore(_) => Ok(()),
        Command::Serve(args) => serve(args).await,
        Command::Migrate(db) => {
            let store = db.database().open().await?;
            otklik::load_federal_subjects(store.as_ref()).await?;
            println!("migrations applied ({})", store.backend());
            Ok(())
        }
        Command::DemoData(db) => {
            let store = db.database().open().await?;
            if store.has_users().await? {
                return Err(otklik::AppError::Usage(
                    "the database already has accounts; demo data goes into an empty database only"
                        .into(),
                ));
            }
            otklik::load_federal_subjects(store.as_ref()).await?;
            let accounts = otklik::load_demo(store.as_ref(), None).await?;
            println!("{}", otklik::demo::format_accounts(&accounts));
            Ok(())
        }
        Command::Admin(AdminCommand::CreateUser {
            email,
            name,
            role,
            org,
            db,
        }) => create_user(&db, &email, &name, &role, org).await,
    }
}

/// No command means `serve`, with its defaults and environment variables.
fn command_or_serve(cli: Cli) -> Option<Command> {
    cli.command
        .or_else(|| Cli::parse_from(["otklik", "serve"]).command)
}

async fn serve(args: ServeArgs) -> Result<(), otklik::AppError> {
    let database = args.db.database();
    let alg = otklik_log::HashAlg::parse(&args.log_hash).map_err(|_| {
        otklik::AppError::Usage(format!(
            "--log-hash: unknown hash `{}` (sha256, streebog256)",
            args.log_hash
        ))
    })?;
    if args.tree_head_interval == 0 {
        return Err(otklik::AppError::Usage(
            "--tree-head-interval: at least 1 second".into(),
        ));
    }
    let settings = match &args.config {
        Some(path) => otklik::settings::Settings::load(path).map_err(otklik::AppError::Usage)?,
        None => otklik::settings::Settings::from_env(),
    };
    let mut security = settings.security;
    security.tls |= args.secure_cookies;
    let running = otklik::start(ServeConfig {
        listen: args.listen,
        demo: args.demo || (!args.no_demo && args.db.database_url.is_none()),
        demo_password: args.demo_password.clone(),
        web: otklik_web::WebConfig {
            security,
            identity: settings.identity,
            rate_limits: settings.rate_limits,
            oidc: settings.oidc,
            delivery: settings.delivery,
            signing: settings.signing,
            analytics: settings.analytics,
            polls: settings.polls,
            exports: settings.exports,
            quality_feed: settings.quality_feed,
            limits: settings.limits,
            metrics: settings.metrics,
        },
        log: otklik::LogConfig {
            key_file: args
                .log_key
                .clone()
                .unwrap_or_else(|| database.default_key_file()),
            alg,
            tree_head_interval: std::time::Duration::from_secs(args.tree_head_interval),
        },
        monitor: otklik::MonitorConfig {
            interval: std::time::Duration::from_secs(args.monitor_interval.max(1)),
            warn_working_days: args.warn_working_days,
        },
        notifications: settings.notifications,
        social: settings.social,
        database,
    })
    .await?;
    if !running.demo_accounts.is_empty() {
        println!("{}", otklik::demo::format_accounts(&running.demo_accounts));
        // A quarter of history for the analytics pages (the tests start without it).
        let now = time::OffsetDateTime::now_utc();
        match otklik::demo::load_history(running.store.as_ref(), now).await {
            Ok(made) => tracing::info!(submissions = made, "demo history loaded"),
            Err(e) => tracing::warn!(code = e.code(), "demo history not loaded: {e}"),
        }
    }
    println!("Отклик работает: http://{}/", running.addr);
    running.until_signal().await;
    Ok(())
}

async fn create_user(
    db: &DbArgs,
    email: &str,
    name: &str,
    role: &str,
    org: Option<i64>,
) -> Result<(), otklik::AppError> {
    let usage = |m: &str| otklik::AppError::Usage(m.to_owned());
    let email = Email::parse(email).map_err(|c| usage(&format!("--email: {c}")))?;
    let full_name = PersonName::parse(name).map_err(|c| usage(&format!("--name: {c}")))?;
    let role = match (role, org) {
        ("citizen", None) => Role::Citizen,
        ("operator", None) => Role::Operator,
        ("analyst", None) => Role::Analyst,
        ("official", Some(org)) => Role::Official(OrgId(org)),
        ("org_admin", Some(org)) => Role::OrgAdmin(OrgId(org)),
        ("official" | "org_admin", None) => {
            return Err(usage("an official or org_admin needs --org ID"))
        }
        (_, Some(_)) => return Err(usage("--org is for officials and org_admin only")),
        _ => {
            return Err(usage(
                "--role is citizen, official, org_admin, operator or analyst",
            ))
        }
    };
    let (password, generated) = match std::env::var("OTKLIK_PASSWORD") {
        Ok(p) => (p, false),
        Err(_) => (otklik_web::auth::new_token()[..16].to_owned() + "-1", true),
    };
    NewPassword::parse(&password).map_err(|c| usage(&format!("OTKLIK_PASSWORD: {c}")))?;
    let store = db.database().open().await?;
    if let Some(org) = role.organisation() {
        store
            .organisation(org)
            .await
            .map_err(|_| usage("--org: no such organisation"))?;
    }
    let password_hash =
        otklik_web::auth::hash_password(&password).map_err(|_| usage("password hashing failed"))?;
    let id = store
        .create_user(otklik_store::NewUser {
            email,
            password_hash,
            full_name,
            role,
            // Accounts made here are vouched for by the administrator who runs this;
            // a citizen's level comes from an identity provider.
            verification: if role == Role::Citizen {
                otklik_domain::access::Verification::Unverified
            } else {
                otklik_domain::access::Verification::Verified
            },
        })
        .await?;
    println!("created user {id}");
    if generated {
        println!("password: {password}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve_args(argv: &[&str]) -> Option<(SocketAddr, bool)> {
        match command_or_serve(Cli::try_parse_from(argv).ok()?)? {
            Command::Serve(args) => Some((args.listen, args.secure_cookies)),
            _ => None,
        }
    }

    /// One test, because it changes the process environment.
    #[test]
    fn the_bare_command_serves_with_the_environment() {
        std::env::remove_var("OTKLIK_SECURE_COOKIES");
        std::env::remove_var("OTKLIK_LISTEN");
        let default = SocketAddr::from(([127, 0, 0, 1], 8080));
        assert_eq!(serve_args(&["otklik"]), Some((default, false)));
        std::env::set_var("OTKLIK_LISTEN", "127.0.0.1:18099");
        for (value, secure) in [
            ("1", true),
            ("yes", true),
            ("true", true),
            ("0", false),
            ("false", false),
        ] {
            std::env::set_var("OTKLIK_SECURE_COOKIES", value);
            let listen = SocketAddr::from(([127, 0, 0, 1], 18099));
            assert_eq!(serve_args(&["otklik"]), Some((listen, secure)), "{value}");
            assert_eq!(
                serve_args(&["otklik", "serve"]),
                Some((listen, secure)),
                "{value}"
            );
        }
        std::env::remove_var("OTKLIK_SECURE_COOKIES");
        std::env::remove_var("OTKLIK_LISTEN");
    }
}

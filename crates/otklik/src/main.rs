//! `otklik`: the command line. Parses arguments and calls the library; nothing else.

use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use otklik::{Database, ServeConfig};
use otklik_domain::lifecycle::Role;
use otklik_domain::text::{Email, NewPassword, PersonName};
use otklik_domain::OrgId;

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
    /// Mark cookies Secure (serve behind HTTPS). Accepts 1/0, true/false, yes/no.
    #[arg(long, env = "OTKLIK_SECURE_COOKIES", value_parser = clap::builder::FalseyValueParser::new())]
    secure_cookies: bool,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an account. The password is read from OTKLIK_PASSWORD, or generated and printed.
    CreateUser {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// citizen, official or operator.
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
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("OTKLIK_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn")),
        )
        .with_target(false)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), otklik::AppError> {
    let Some(command) = command_or_serve(cli) else {
        return Err(otklik::AppError::Usage("no command".into()));
    };
    match command {
        Command::Serve(args) => serve(args).await,
        Command::Migrate(db) => {
            let store = db.database().open().await?;
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
    let running = otklik::start(ServeConfig {
        listen: args.listen,
        database: args.db.database(),
        demo: args.demo || (!args.no_demo && args.db.database_url.is_none()),
        demo_password: None,
        secure_cookies: args.secure_cookies,
    })
    .await?;
    if !running.demo_accounts.is_empty() {
        println!("{}", otklik::demo::format_accounts(&running.demo_accounts));
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
        ("official", Some(org)) => Role::Official(OrgId(org)),
        ("official", None) => return Err(usage("an official needs --org ID")),
        (_, Some(_)) => return Err(usage("--org is for officials only")),
        _ => return Err(usage("--role is citizen, official or operator")),
    };
    let (password, generated) = match std::env::var("OTKLIK_PASSWORD") {
        Ok(p) => (p, false),
        Err(_) => (otklik_web::auth::new_token()[..16].to_owned() + "-1", true),
    };
    NewPassword::parse(&password).map_err(|c| usage(&format!("OTKLIK_PASSWORD: {c}")))?;
    let store = db.database().open().await?;
    if let Role::Official(org) = role {
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

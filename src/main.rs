use clap::Parser;
use color_eyre::eyre::{Result, bail, eyre};
use std::io::BufRead;
use std::process::ExitCode;
use tickets::cli::{AdminDb, Cli, Command, ConnectArgs, UserCommand};
use tickets::config::{self, FileConfig};
use tickets::db::{self, migrate};
use tickets::people;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tickets: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One clear line, as every command-line tool prints its errors.
            eprintln!("tickets: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<()> {
    let file = config::load(cli.config.as_deref())?;
    match cli.command {
        None => tui(cli.connect, cli.theme, &file).await,
        Some(Command::Migrate(db)) => {
            let mut client = admin_client(&db, &file).await?;
            let report = migrate::migrate(&mut client).await?;
            if report.applied.is_empty() {
                println!("database is up to date ({} migrations)", report.already);
            } else {
                for name in &report.applied {
                    println!("applied {name}");
                }
            }
            Ok(())
        }
        Some(Command::User(cmd)) => user(cmd, &file).await,
    }
}

async fn user(cmd: UserCommand, file: &FileConfig) -> Result<()> {
    match cmd {
        UserCommand::Add {
            login,
            role,
            name,
            email,
            password_stdin,
            db,
        } => {
            let password = if password_stdin {
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line)?;
                line.trim_end_matches(['\n', '\r']).to_owned()
            } else {
                let first = rpassword::prompt_password(format!("Password for {login}: "))?;
                let again = rpassword::prompt_password("Again: ")?;
                if first != again {
                    bail!("the passwords do not match; nothing was created");
                }
                first
            };
            if password.is_empty() {
                bail!("the password must not be empty; nothing was created");
            }
            let client = ready_client(&db, file).await?;
            let id = people::add(&client, &login, role.as_str(), &name, &email, &password).await?;
            println!("created {} {login} ({id})", role.as_str());
            Ok(())
        }
        UserCommand::List { db } => {
            let client = ready_client(&db, file).await?;
            print!("{}", people::format_table(&people::list(&client).await?));
            Ok(())
        }
        UserCommand::Disable { login, db } => {
            let client = ready_client(&db, file).await?;
            people::disable(&client, &login).await?;
            println!("disabled {login}: they can no longer log in; their history stays");
            Ok(())
        }
        UserCommand::Enable { login, db } => {
            let client = ready_client(&db, file).await?;
            people::enable(&client, &login).await?;
            println!("enabled {login}");
            Ok(())
        }
    }
}

async fn admin_client(db: &AdminDb, file: &FileConfig) -> Result<tokio_postgres::Client> {
    let url = config::admin_database_url(db.database_url.as_deref(), file)?;
    Ok(db::connect(&url, "tickets-admin").await?)
}

/// An admin connection to a database whose schema is current.
async fn ready_client(db: &AdminDb, file: &FileConfig) -> Result<tokio_postgres::Client> {
    let client = admin_client(db, file).await?;
    if migrate::pending(&client).await? > 0 {
        return Err(eyre!(
            "the database schema is not current: run `tickets migrate` first"
        ));
    }
    Ok(client)
}

async fn tui(_a: ConnectArgs, _t: Option<String>, _f: &FileConfig) -> Result<()> {
    bail!("wip")
}

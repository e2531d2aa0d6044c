use clap::Parser;
use eyre::{Result, eyre};
use std::process::ExitCode;
use tickets::app::{App, keymap::Keymap};
use tickets::cli::{AdminDb, Cli, Command, ConnectArgs, UserCommand};
use tickets::config::{self, ConnectionConfig, FileConfig};
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
            // One clear line, as every command-line tool prints its errors; psql's exit codes:
            // 2 when no connection could be made (unreachable, or the login refused), 1 for
            // any other failure (the server refused what was asked, bad input).
            eprintln!("tickets: {e:#}");
            let no_connection = |c: &(dyn std::error::Error + 'static)| {
                matches!(
                    c.downcast_ref::<db::DbError>(),
                    Some(db::DbError::Unreachable(_) | db::DbError::LoginRefused(_))
                )
            };
            if e.chain().any(no_connection) {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

async fn run(cli: Cli) -> Result<()> {
    let file = config::load(cli.config.as_deref())?;
    let theme = cli.theme.map(|t| t.as_str().to_owned());
    match cli.command {
        None => tui(cli.connect, theme, &file).await,
        Some(Command::Passwd { password_stdin }) => {
            let (target, login) = connection(cli.connect, &file)?;
            let login = login
                .or_else(|| std::env::var("USER").ok().filter(|u| !u.is_empty()))
                .ok_or_else(|| eyre!("whose password? give --login or set PGUSER"))?;
            tickets::passwd::change(&target, &login, password_stdin).await?;
            println!("changed the password of {login}");
            Ok(())
        }
        Some(Command::Completions { shell }) => {
            use clap::CommandFactory;
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "tickets", &mut std::io::stdout());
            Ok(())
        }
        Some(Command::Man) => {
            use clap::CommandFactory;
            clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())?;
            Ok(())
        }
        Some(Command::Migrate(args)) => {
            let mut client = admin_client(&args.db, &file).await?;
            let report = migrate::migrate(&mut client).await?;
            if report.applied.is_empty() {
                println!("database is up to date ({} migrations)", report.already);
            } else {
                for name in &report.applied {
                    println!("applied {name}");
                }
            }
            if args.lock_maintenance_db {
                let closed = migrate::lock_maintenance_databases(&client).await?;
                if closed.is_empty() {
                    println!(
                        "the maintenance databases were already closed to PUBLIC (postgres, template1)"
                    );
                }
                for name in closed {
                    println!(
                        "closed database {name} to PUBLIC (REVOKE CONNECT, TEMPORARY); undo: GRANT CONNECT, TEMPORARY ON DATABASE {name} TO PUBLIC"
                    );
                }
            }
            Ok(())
        }
        Some(Command::User(cmd)) => user(cmd, &file).await,
        Some(Command::Notifier(db)) => {
            let url = config::admin_database_url(db.database_url.as_deref(), &file)?;
            let mut pg = <tokio_postgres::Config as std::str::FromStr>::from_str(&url)
                .map_err(|e| eyre!("the database URL is not valid: {e}"))?;
            pg.application_name("tickets-notifier");
            db::notifier::check(&pg).await.map_err(|e| eyre!(e))?;
            let _log = tickets::logging::init()?;
            let stop = tokio_util::sync::CancellationToken::new();
            // The watchdog (issue 14 item 5) runs beside it, on its own connection.
            let watchdog = tokio::spawn(db::watchdog::run(
                pg.clone(),
                db::watchdog::Limits::default(),
                stop.clone(),
            ));
            let task = tokio::spawn(db::notifier::run(pg, stop.clone()));
            println!(
                "announcing changes on tickets_changed, and ending people's over-long statements; Ctrl-C stops"
            );
            tokio::signal::ctrl_c().await?;
            stop.cancel();
            let _ = tokio::join!(task, watchdog);
            Ok(())
        }
        Some(Command::Demo { reset }) => demo(reset, theme, &file).await,
        Some(Command::Bench {
            prefix,
            password,
            iterations,
            live_changes,
            listeners,
            raw_listen,
            crowd,
            crowd_seconds,
            crowd_rate,
            only,
            db,
        }) => {
            let database_url = config::admin_database_url(db.database_url.as_deref(), &file)?;
            if listeners > 0 {
                return tickets::bench::hold_listeners(
                    &database_url,
                    &prefix,
                    &password,
                    listeners,
                    raw_listen,
                )
                .await;
            }
            let args = tickets::bench::BenchArgs {
                database_url,
                prefix,
                password,
                iterations: iterations.max(1),
                live_changes,
                only,
            };
            if crowd > 0 {
                let crowd = tickets::bench::crowd::CrowdArgs {
                    clients: crowd,
                    seconds: crowd_seconds.max(1),
                    rate: crowd_rate.max(1),
                };
                print!("{}", tickets::bench::crowd(&args, &crowd).await?);
                return Ok(());
            }
            print!("{}", tickets::bench::run(&args).await?);
            Ok(())
        }
        Some(Command::Seed(args)) => {
            let mut client = ready_client(&args.db, &file).await?;
            let plan = tickets::seed::SeedPlan {
                tickets: args.tickets,
                customers: args.customers.max(1),
                agents: args.agents.max(1),
                admins: args.admins.max(1),
                customer_logins: args.customer_logins,
                prefix: args.prefix,
                password: args.password,
            };
            let report = tickets::seed::seed(&mut client, &plan).await?;
            println!(
                "seeded {} tickets, {} history rows, {} messages, {} people in {:.1?}",
                report.tickets, report.history, report.messages, report.people, report.took
            );
            println!(
                "logins (password \"{}\"): {}, {} .. {}, {} .. {}",
                plan.password,
                plan.admin_login(1),
                plan.agent_login(1),
                plan.agent_login(plan.agents),
                plan.customer_login(1),
                plan.customer_login(plan.customer_logins.min(plan.customers).max(1)),
            );
            Ok(())
        }
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
            // The role is checked by clap, and who may manage people here, before the prompt,
            // so neither costs any typing.
            let client = ready_client(&db, file).await?;
            let password =
                tickets::passwd::read_new_password(&login, password_stdin, "nothing was created")?;
            let id = people::add(&client, &login, role.as_sql(), &name, &email, &password).await?;
            println!("created {} {login} ({id})", role.as_sql());
            Ok(())
        }
        UserCommand::List { db } => {
            let client = ready_client(&db, file).await?;
            print!("{}", people::format_table(&people::list(&client).await?));
            Ok(())
        }
        UserCommand::Disable { login, hand_to, db } => {
            let client = ready_client(&db, file).await?;
            let handed = people::disable(&client, &login, hand_to.as_deref()).await?;
            println!(
                "{}",
                people::disabled_sentence(&login, hand_to.as_deref(), handed)
            );
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
    people::may_manage(&client)
        .await?
        .map_err(|why| eyre!(why))?;
    if migrate::pending(&client).await? > 0 {
        return Err(eyre!(
            "the database schema is not current: run `tickets migrate` first"
        ));
    }
    Ok(client)
}

/// The terminal client: connection settings from file < environment < service < flags.
async fn tui(args: ConnectArgs, theme: Option<String>, file: &FileConfig) -> Result<()> {
    let (target, login) = connection(args, file)?;
    let hint = (!target.warnings.is_empty()).then(|| target.warnings.join(" "));
    run_client(target, login, hint, theme, file).await
}

/// The client's connection settings (file < environment < service < flags) and its login.
fn connection(args: ConnectArgs, file: &FileConfig) -> Result<(db::Target, Option<String>)> {
    let flags = ConnectionConfig {
        url: args.url,
        service: args.service,
        host: args.host,
        port: args.port,
        dbname: args.dbname,
        sslmode: args.sslmode.map(|m| m.as_str().to_owned()),
        sslrootcert: args.sslrootcert,
        sslcert: args.sslcert,
        sslkey: args.sslkey,
        login: args.login,
    };
    let (target, login) =
        config::resolve_target(&file.connection, &flags, |k| std::env::var(k).ok())
            .map_err(|e| eyre!(e))?;
    for warning in &target.warnings {
        eprintln!("{warning}");
    }
    Ok((target, login))
}

/// `tickets demo`: the private demo server, then the client at its login form.
async fn demo(reset: bool, theme: Option<String>, file: &FileConfig) -> Result<()> {
    let dir = tickets::demo::default_dir()?;
    let demo = tickets::demo::prepare(&dir, reset).await?;
    let plan = tickets::demo::plan();
    let logins = tickets::demo::logins_line(&plan);
    let second = tickets::demo::second_client_command(&demo);
    println!(
        "demo ready in {}; log in as:\n{}\n\nSee live refresh: while this demo runs, open a second client in another terminal:\n  {second}",
        dir.display(),
        tickets::demo::logins_table(&plan)
    );
    let stop_notifier = tokio_util::sync::CancellationToken::new();
    tokio::spawn(db::notifier::run(
        demo.notifier_config(),
        stop_notifier.clone(),
    ));
    // As `tickets notifier` does: the demo's people are bounded by the watchdog too.
    tokio::spawn(db::watchdog::run(
        demo.notifier_config(),
        db::watchdog::Limits::default(),
        stop_notifier.clone(),
    ));
    let result = run_client(demo.pg_config().into(), None, Some(logins), theme, file).await;
    stop_notifier.cancel();
    demo.stop();
    println!(
        "demo stopped. Next time, run `tickets demo` and, while it runs, a second client in another terminal:\n  {second}"
    );
    result
}

/// Opens the terminal client against `pg` and runs it until the person quits.
async fn run_client(
    pg: db::Target,
    login: Option<String>,
    login_hint: Option<String>,
    theme: Option<String>,
    file: &FileConfig,
) -> Result<()> {
    let keymap =
        Keymap::with_overrides(&file.key_overrides()).map_err(|e| eyre!("config file: {e}"))?;
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    if no_color {
        // crossterm turns every colour code into a bare reset under NO_COLOR, which would also
        // wipe the reverse/bold marks the no-color theme relies on; it uses no colours anyway.
        ratatui::crossterm::style::force_color_output(true);
    }
    let theme_name = theme
        .or_else(|| file.theme.clone())
        .unwrap_or_else(|| "dark".into());
    let theme =
        tickets::ui::theme::Theme::from_config(&theme_name, no_color).map_err(|e| eyre!(e))?;
    let _log = tickets::logging::init()?;

    let server = pg.describe();
    let runtime = tickets::runtime::Runtime::start(
        pg,
        server.clone(),
        tickets::drafts::DraftStore::default_location(),
    );
    let app = App::new(keymap, server, login).with_login_hint(login_hint);
    tickets::terminal::run(app, theme, runtime).await?;
    Ok(())
}

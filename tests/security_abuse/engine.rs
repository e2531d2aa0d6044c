#![allow(dead_code)]
//! The world the abuse attacks start from, and the checks they make.

use crate::common::{self, TestDb, TestPerson};
use tokio_postgres::{AsyncMessage, Client, Error, NoTls};
use uuid::Uuid;

pub type Check = Result<(), String>;

/// Customers alice and bob, agents al and bo, admin ada, and three tickets: `pool` (alice's,
/// open, unassigned), `als` (alice's, claimed by al) and `bos` (bob's, claimed by bo).
pub struct World {
    pub db: TestDb,
    pub su: Client,
    pub alice: TestPerson,
    pub bob: TestPerson,
    pub al: TestPerson,
    pub bo: TestPerson,
    pub ada: TestPerson,
    pub pool: Uuid,
    pub als: Uuid,
    pub bos: Uuid,
    /// Databases made by an attack, dropped with the world.
    pub others: std::sync::Mutex<Vec<TestDb>>,
}

impl World {
    pub async fn new() -> World {
        let db = TestDb::new().await;
        let cast = db.cast().await;
        let (alice, bob, al, bo) = tokio::join!(
            db.login(&cast.alice),
            db.login(&cast.bob),
            db.login(&cast.al),
            db.login(&cast.bo)
        );
        let pool = file(&alice, "in the pool").await;
        let als = file(&alice, "for al").await;
        let bos = file(&bob, "for bo").await;
        for (agent, ticket) in [(&al, als), (&bo, bos)] {
            agent
                .execute("SELECT claim_ticket($1)", &[&ticket])
                .await
                .unwrap();
        }
        World {
            su: db.admin().await,
            db,
            alice: cast.alice,
            bob: cast.bob,
            al: cast.al,
            bo: cast.bo,
            ada: cast.ada,
            pool,
            als,
            bos,
            others: std::sync::Mutex::new(Vec::new()),
        }
    }

    pub async fn login(&self, p: &TestPerson) -> Client {
        self.db.login(p).await
    }

    /// A second tickets database in the same cluster, kept until the world is dropped.
    pub async fn other_database(&self) -> String {
        let other = TestDb::new().await;
        let name = other.name.clone();
        self.others.lock().unwrap().push(other);
        name
    }

    /// Runs `sql` as superuser and returns the first column of the first row as text.
    pub async fn su_text(&self, sql: &str) -> String {
        self.su
            .query_one(&format!("SELECT ({sql})::text"), &[])
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .get::<_, Option<String>>(0)
            .unwrap_or_default()
    }
}

pub async fn file(c: &Client, subject: &str) -> Uuid {
    c.query_one(
        "INSERT INTO tickets (subject) VALUES ($1) RETURNING id",
        &[&subject],
    )
    .await
    .unwrap()
    .get(0)
}

/// The statement must succeed with exactly `n` rows (0 for SET and the like).
pub async fn rows(c: &Client, sql: &str, n: u64) -> Check {
    match c.execute(sql, &[]).await {
        Ok(got) if got == n => Ok(()),
        Ok(got) => Err(format!("`{sql}`: {got} rows, expected {n}")),
        Err(e) => Err(format!("`{sql}`: expected {n} rows, got {}", describe(&e))),
    }
}

/// The statement must fail with `code`, and the message must name the rule (`says`).
pub async fn refused(c: &Client, sql: &str, code: &str, says: &str) -> Check {
    refused_with(sql, c.execute(sql, &[]).await, code, says)
}

pub fn refused_with<T: std::fmt::Debug>(
    what: &str,
    r: Result<T, Error>,
    code: &str,
    says: &str,
) -> Check {
    match r {
        Ok(v) => Err(format!(
            "`{what}`: succeeded ({v:?}), expected {code} \"{says}\""
        )),
        Err(e) => match e.as_db_error() {
            Some(db) if db.code().code() == code && db.message().contains(says) => Ok(()),
            _ => Err(format!(
                "`{what}`: expected {code} \"{says}\", got {}",
                describe(&e)
            )),
        },
    }
}

pub fn describe(e: &Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} \"{}\"", db.code().code(), db.message()),
        None => e.to_string(),
    }
}

/// Everything a refusal tells: SQLSTATE, message, detail, hint (for comparing two refusals).
pub fn refusal(r: Result<u64, Error>) -> String {
    match r {
        Ok(n) => format!("succeeded ({n} rows)"),
        Err(e) => match e.as_db_error() {
            Some(db) => format!(
                "{} {:?} detail={:?} hint={:?}",
                db.code().code(),
                db.message(),
                db.detail(),
                db.hint()
            ),
            None => e.to_string(),
        },
    }
}

/// A login whose connection is driven here, so notifications are seen.
pub async fn watched_login(
    config: tokio_postgres::Config,
) -> Result<(Client, tokio::sync::mpsc::UnboundedReceiver<AsyncMessage>), Error> {
    let (client, mut connection) = config.connect(NoTls).await?;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(Ok(message)) =
            futures_util::future::poll_fn(|cx| connection.poll_message(cx)).await
        {
            let _ = tx.send(message);
        }
    });
    Ok((client, rx))
}

/// A config for `login` with `password` on database `dbname` of the test cluster.
pub fn config_for(login: &str, password: &str, dbname: &str) -> tokio_postgres::Config {
    common::config_for(login, Some(password), dbname)
}

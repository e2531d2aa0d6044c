//! The world the abuse attacks start from (on the common attack engine), and their own checks.
#![allow(dead_code)]

use crate::common::TestDb;
pub use crate::common::attack::{Check, World, describe, refused, rows};
use tokio_postgres::{AsyncMessage, Client, Error, NoTls};
use uuid::Uuid;

/// Customers alice and bob, agents al and bo, admin ada, and three tickets: `pool` (alice's,
/// open, unassigned), `als` (alice's, claimed by al) and `bos` (bob's, claimed by bo).
pub async fn world() -> World {
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
    let mut w = World::new(db).await;
    w.add_person("alice", cast.alice);
    w.add_person("bob", cast.bob);
    w.add_person("al", cast.al);
    w.add_person("bo", cast.bo);
    w.add_person("ada", cast.ada);
    w.add_ticket("pool", pool);
    w.add_ticket("als", als);
    w.add_ticket("bos", bos);
    w
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

/// Runs `sql` as superuser and returns the first column of the first row as text.
pub async fn su_text(w: &World, sql: &str) -> String {
    w.su.query_one(&format!("SELECT ({sql})::text"), &[])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get::<_, Option<String>>(0)
        .unwrap_or_default()
}

/// A second tickets database in the same cluster, kept until the world is dropped.
pub async fn other_database(w: &World) -> &'static str {
    let other = TestDb::new().await;
    let name: &'static str = Box::leak(other.name.clone().into_boxed_str());
    w.others.lock().unwrap().push(other);
    name
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

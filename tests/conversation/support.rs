//! The scene and helpers of tests/conversation.rs.

use super::common::{Cast, TestDb};
use tickets::db::{DbError, repo};
use tickets::model::*;
use tokio_postgres::Client;
use uuid::Uuid;

pub async fn file(c: &Client, subject: &str) -> Uuid {
    c.query_one(
        "INSERT INTO tickets (subject, description) VALUES ($1, 'details') RETURNING id",
        &[&subject],
    )
    .await
    .unwrap()
    .get(0)
}

pub async fn n(c: &Client, sql: String) -> i64 {
    c.query_one(&sql, &[]).await.unwrap().get(0)
}

pub async fn found(c: &Client, q: &str) -> Vec<Uuid> {
    c.query("SELECT id FROM search_tickets($1)", &[&q])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

pub async fn me(c: &Client) -> Me {
    repo::whoami(c).await.unwrap()
}

pub async fn status(su: &Client, ticket: Uuid) -> String {
    su.query_one("SELECT status::text FROM tickets WHERE id = $1", &[&ticket])
        .await
        .unwrap()
        .get(0)
}

pub fn refusal(r: Result<impl std::fmt::Debug, DbError>) -> (String, String) {
    match r {
        Err(DbError::Refused { code, message }) => (code, message),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

pub struct Scene {
    pub db: TestDb,
    pub cast: Cast,
    pub alice: Client,
    pub bob: Client,
    pub al: Client,
    pub bo: Client,
    pub ada: Client,
    pub su: Client,
    /// alice's ticket, claimed by al and in progress.
    pub ticket: Uuid,
}

pub async fn scene() -> Scene {
    let db = TestDb::new().await;
    let cast = db.cast().await;
    let (alice, bob, al, bo, ada) = tokio::join!(
        db.login(&cast.alice),
        db.login(&cast.bob),
        db.login(&cast.al),
        db.login(&cast.bo),
        db.login(&cast.ada)
    );
    let ticket = file(&alice, "printer on fire").await;
    al.batch_execute(&format!(
        "SELECT claim_ticket('{ticket}'); UPDATE tickets SET status = 'in_progress' WHERE id = '{ticket}'"
    ))
    .await
    .unwrap();
    let su = db.admin().await;
    Scene {
        db,
        cast,
        alice,
        bob,
        al,
        bo,
        ada,
        su,
        ticket,
    }
}

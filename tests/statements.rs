//! The client's prepared statements (`db::statements::Conn`) on a real PostgreSQL: each
//! distinct query text is prepared once per connection and reused, a migration that changes
//! what a prepared query returns costs one retry (not an error on screen), and a new connection
//! starts with nothing prepared.

mod common;

use common::TestDb;
use std::sync::Arc;
use tickets::db::repo;
use tickets::db::statements::{Conn, Query};

/// How many statements the server holds prepared for this session.
async fn held(conn: &Conn) -> i64 {
    conn.client()
        .simple_query("SELECT count(*) FROM pg_prepared_statements")
        .await
        .unwrap()
        .into_iter()
        .find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(|v| v.parse().unwrap()),
            _ => None,
        })
        .unwrap()
}

#[tokio::test]
async fn each_query_is_prepared_once_per_connection() {
    let db = TestDb::new().await;
    let cast = db.cast().await;
    let conn = Conn::new(Arc::new(db.login(&cast.al).await));
    let me = repo::whoami(&conn).await.unwrap();
    let before = held(&conn).await;
    for _ in 0..5 {
        repo::counts(&conn, &me).await.unwrap();
        repo::list(&conn, &me, tickets::model::Queue::Unassigned, "", None, 50)
            .await
            .unwrap();
    }
    // Two texts, five times each: two statements on the server, not ten (or none).
    assert_eq!(held(&conn).await - before, 2);
    assert_eq!(conn.prepared() as i64, held(&conn).await);

    // Another connection of the same person starts with nothing prepared.
    let other = Conn::new(Arc::new(db.login(&cast.al).await));
    assert_eq!(held(&other).await, 0);
    repo::counts(&other, &me).await.unwrap();
    assert_eq!(held(&other).await, 1);
}

#[tokio::test]
async fn a_statement_made_stale_by_a_migration_is_prepared_again() {
    let db = TestDb::new().await;
    let cast = db.cast().await;
    let admin = db.admin().await;
    admin
        .batch_execute(
            "CREATE TABLE public.stale_probe (a int); INSERT INTO public.stale_probe VALUES (1); \
             GRANT SELECT ON public.stale_probe TO tickets_agent",
        )
        .await
        .unwrap();
    let conn = Conn::new(Arc::new(db.login(&cast.al).await));
    let sql = "SELECT * FROM public.stale_probe";
    assert_eq!(conn.query(sql, &[]).await.unwrap()[0].len(), 1);
    // What the prepared statement returns changes under it.
    admin
        .batch_execute("ALTER TABLE public.stale_probe ADD COLUMN b int DEFAULT 2")
        .await
        .unwrap();
    let bare = conn.client().prepare(sql).await.unwrap();
    admin
        .batch_execute("ALTER TABLE public.stale_probe ADD COLUMN c int DEFAULT 3")
        .await
        .unwrap();
    // A bare prepared statement fails after such a change: that is what Conn handles.
    let e = conn.client().query(&bare, &[]).await.unwrap_err();
    assert!(
        e.as_db_error().is_some_and(|d| d
            .message()
            .contains("cached plan must not change result type")),
        "{e:?}"
    );
    let rows = conn.query(sql, &[]).await.expect("prepared again");
    assert_eq!(rows[0].len(), 3);
    assert_eq!(rows[0].get::<_, i32>(2), 3);
}

#[tokio::test]
async fn requests_go_out_in_the_order_of_the_calls() {
    let db = TestDb::new().await;
    let cast = db.cast().await;
    let admin = db.admin().await;
    admin
        .batch_execute(
            "CREATE SEQUENCE public.order_probe; \
             GRANT USAGE ON SEQUENCE public.order_probe TO tickets_agent",
        )
        .await
        .unwrap();
    let conn = Conn::new(Arc::new(db.login(&cast.al).await));
    let cached = "SELECT nextval('public.order_probe') /* cached */";
    conn.query_one(cached, &[]).await.unwrap();
    // The first call must prepare its statement (a round trip) before it can send; the second
    // is prepared already. Answers come in the order the requests were sent.
    let first = conn.query_one("SELECT nextval('public.order_probe') /* new */", &[]);
    let second = conn.query_one(cached, &[]);
    let (first, second) = futures_util::join!(first, second);
    let (first, second): (i64, i64) = (first.unwrap().get(0), second.unwrap().get(0));
    assert!(
        first < second,
        "the second call overtook the first: {first} vs {second}"
    );
}

/// Every session the client opens runs without JIT unless its connection settings set `jit`
/// themselves: PostgreSQL compiles a statement with LLVM when its *estimated* cost is high,
/// and the client's statements are short whatever the planner guesses (a read of a long
/// timeline spent 290 ms compiling a statement that then ran in 3).
#[tokio::test]
async fn sessions_run_without_jit_unless_told_otherwise() {
    let db = TestDb::new().await;
    let cast = db.cast().await;
    let jit = async |config: &tokio_postgres::Config| -> String {
        tickets::db::connect_config(config)
            .await
            .unwrap()
            .query_one("SELECT current_setting('jit')", &[])
            .await
            .unwrap()
            .get(0)
    };
    let mut config = db.login_config(&cast.al);
    assert_eq!(jit(&config).await, "off");
    config.options("-c statement_timeout=5s");
    assert_eq!(jit(&config).await, "off", "beside other options");
    config.options("-c jit=on");
    assert_eq!(
        jit(&config).await,
        "on",
        "the connection's own choice stands"
    );
}

//! search_tickets() runs as the owner to use its index: it must never return a row the caller
//! could not read through RLS, for any role.

mod common;

use common::TestDb;
use std::collections::BTreeSet;
use uuid::Uuid;

#[tokio::test]
async fn search_returns_exactly_what_rls_lets_each_role_read() {
    let db = TestDb::new().await;
    let (alice, bob) = (
        db.person("customer", "alice").await,
        db.person("customer", "bob").await,
    );
    let (al, bo) = (
        db.person("agent", "al").await,
        db.person("agent", "bo").await,
    );
    let ada = db.person("admin", "ada").await;
    for who in [&alice, &bob] {
        let c = db.login(who).await;
        for n in 0..6 {
            c.execute(
                "INSERT INTO tickets (subject, description) VALUES ($1, 'the router is broken')",
                &[&format!("router {n}")],
            )
            .await
            .unwrap();
        }
    }
    // Spread them: some claimed by al, some by bo, some handed on and closed.
    let al_c = db.login(&al).await;
    let bo_c = db.login(&bo).await;
    al_c.batch_execute(
        "SELECT claim_ticket(id) FROM (SELECT id FROM tickets ORDER BY subject LIMIT 4) x",
    )
    .await
    .unwrap();
    bo_c.batch_execute("SELECT claim_ticket(id) FROM (SELECT id FROM tickets WHERE agent_id IS NULL ORDER BY subject LIMIT 3) x").await.unwrap();
    bo_c.batch_execute("UPDATE tickets SET status = 'closed' WHERE id IN (SELECT id FROM tickets WHERE agent_id IS NOT NULL LIMIT 1)").await.unwrap();

    for person in [&alice, &bob, &al, &bo, &ada] {
        let c = db.login(person).await;
        let ids = |rows: Vec<tokio_postgres::Row>| {
            rows.iter()
                .map(|r| r.get::<_, Uuid>(0))
                .collect::<BTreeSet<_>>()
        };
        let searched = ids(c
            .query("SELECT id FROM search_tickets('router', 1000)", &[])
            .await
            .unwrap());
        let readable = ids(c
            .query(
                "SELECT id FROM tickets WHERE search @@ websearch_to_tsquery('english', 'router')",
                &[],
            )
            .await
            .unwrap());
        assert_eq!(searched, readable, "{} ({})", person.login, person.role);
        assert!(
            !searched.is_empty() || person.role == "agent",
            "{} found nothing",
            person.login
        );
    }
    // A forged mirror is refused here too, as everywhere.
    let c = db.login(&alice).await;
    c.batch_execute("SET app.role = 'admin'").await.unwrap();
    let err = c
        .query("SELECT id FROM search_tickets('router', 1000)", &[])
        .await
        .unwrap_err();
    assert_eq!(err.code().unwrap().code(), "42501");
}

#[tokio::test]
async fn the_suite_would_notice_a_search_that_ignores_visibility() {
    // Mutation check: weaken the function and watch the comparison above catch it.
    let db = TestDb::new().await;
    let (alice, bob) = (
        db.person("customer", "alice").await,
        db.person("customer", "bob").await,
    );
    for who in [&alice, &bob] {
        db.login(who)
            .await
            .execute("INSERT INTO tickets (subject) VALUES ('router')", &[])
            .await
            .unwrap();
    }
    db.admin()
        .await
        .batch_execute(
            "CREATE OR REPLACE FUNCTION public.search_tickets(query text, max_rows integer DEFAULT 100)
             RETURNS SETOF public.tickets LANGUAGE sql STABLE SECURITY DEFINER
             SET search_path = pg_catalog, pg_temp
             AS $$ SELECT t.* FROM public.tickets t WHERE t.search @@ websearch_to_tsquery('english', query) $$;
             ALTER FUNCTION public.search_tickets(text, integer) OWNER TO tickets_owner;",
        )
        .await
        .unwrap();
    let c = db.login(&alice).await;
    let searched: i64 = c
        .query_one("SELECT count(*) FROM search_tickets('router', 1000)", &[])
        .await
        .unwrap()
        .get(0);
    let readable: i64 = c
        .query_one("SELECT count(*) FROM tickets", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        (searched, readable),
        (2, 1),
        "the weakened search leaks bob's ticket, and the comparison sees it"
    );
}

//! The SECURITY DEFINER read functions (search_tickets, agent_queue, person_names_of) run as the
//! owner to use their indexes: each must return exactly what RLS would let the caller read.

mod common;

use common::{Cast, TestDb, TestPerson};
use std::collections::BTreeSet;
use uuid::Uuid;

#[tokio::test]
async fn search_returns_exactly_what_rls_lets_each_role_read() {
    let db = TestDb::new().await;
    let Cast {
        alice,
        bob,
        al,
        bo,
        ada,
    } = db.cast().await;
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

#[tokio::test]
async fn agent_queue_returns_exactly_the_agents_rls_view_and_only_to_agents() {
    let db = TestDb::new().await;
    let alice = db.person("customer", "alice").await;
    let (al, bo) = (
        db.person("agent", "al").await,
        db.person("agent", "bo").await,
    );
    let ada = db.person("admin", "ada").await;
    let c = db.login(&alice).await;
    for n in 0..12i32 {
        c.execute("INSERT INTO tickets (subject, priority) VALUES ($1, (ARRAY['low','normal','high','urgent'])[1 + $2 % 4]::ticket_priority)", &[&format!("t{n}"), &n])
            .await
            .unwrap();
    }
    let (al_c, bo_c) = (db.login(&al).await, db.login(&bo).await);
    al_c.batch_execute(
        "SELECT claim_ticket(id) FROM (SELECT id FROM tickets ORDER BY subject LIMIT 4) x",
    )
    .await
    .unwrap();
    bo_c.batch_execute("SELECT claim_ticket(id) FROM (SELECT id FROM tickets WHERE agent_id IS NULL ORDER BY subject LIMIT 3) x").await.unwrap();
    al_c.batch_execute("UPDATE tickets SET status = 'closed' WHERE id = (SELECT id FROM tickets WHERE agent_id = app.uid() LIMIT 1)").await.unwrap();

    for (agent, client) in [(&al, &al_c), (&bo, &bo_c)] {
        let ids = |rows: Vec<tokio_postgres::Row>| {
            rows.iter().map(|r| r.get::<_, Uuid>(0)).collect::<Vec<_>>()
        };
        let mine = ids(client
            .query("SELECT id FROM agent_queue('mine', 1000)", &[])
            .await
            .unwrap());
        let mine_rls = ids(client
            .query("SELECT id FROM tickets WHERE agent_id = app.uid() AND status IN ('open','in_progress','waiting_on_customer') ORDER BY priority DESC, created_at, id", &[])
            .await
            .unwrap());
        assert_eq!(mine, mine_rls, "{}", agent.login);
        let pool = ids(client
            .query("SELECT id FROM agent_queue('unassigned', 1000)", &[])
            .await
            .unwrap());
        let pool_rls = ids(client
            .query("SELECT id FROM tickets WHERE agent_id IS NULL AND status = 'open' ORDER BY priority DESC, created_at, id", &[])
            .await
            .unwrap());
        assert_eq!(pool, pool_rls, "{}", agent.login);
        assert_eq!(pool.len(), 5);
    }
    // Keyset paging through the function walks the same order without repeats or gaps.
    let all: Vec<Uuid> = al_c
        .query("SELECT id FROM agent_queue('unassigned', 1000)", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let first = al_c
        .query(
            "SELECT id, priority::text, created_at FROM agent_queue('unassigned', 2)",
            &[],
        )
        .await
        .unwrap();
    let last = &first[1];
    let rest: Vec<Uuid> = al_c
        .query(
            "SELECT id FROM agent_queue('unassigned', 1000, $1::text::ticket_priority, $2, $3)",
            &[
                &last.get::<_, String>(1),
                &last.get::<_, chrono::DateTime<chrono::Utc>>(2),
                &last.get::<_, Uuid>(0),
            ],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let paged: Vec<Uuid> = first
        .iter()
        .map(|r| r.get::<_, Uuid>(0))
        .chain(rest)
        .collect();
    assert_eq!(paged, all);

    for other in [&alice, &ada] {
        let err = db
            .login(other)
            .await
            .query("SELECT * FROM agent_queue('mine')", &[])
            .await
            .unwrap_err();
        let code = err.code().unwrap().code().to_owned();
        // Customers have no EXECUTE; an admin is refused by the function itself.
        assert_eq!(code, "42501", "{}", other.login);
    }
    // A queue that is not named, unknown or NULL, is refused, not read as some queue.
    for queue in ["'everything'", "NULL"] {
        let err = al_c
            .query(&format!("SELECT * FROM agent_queue({queue})"), &[])
            .await
            .expect_err(queue);
        assert_eq!(err.code().unwrap().code(), "22023", "{queue}");
    }
}

#[tokio::test]
async fn person_names_of_never_names_another_customer() {
    let db = TestDb::new().await;
    let Cast {
        alice, bob, al, bo, ..
    } = db.cast().await;
    db.login(&alice)
        .await
        .execute("INSERT INTO tickets (subject) VALUES ('mine')", &[])
        .await
        .unwrap();
    db.login(&al)
        .await
        .batch_execute("SELECT claim_ticket(id) FROM tickets")
        .await
        .unwrap();
    let everyone = vec![alice.id, bob.id, al.id, bo.id];
    let c = db.login(&alice).await;
    let mut named: Vec<Uuid> = c
        .query("SELECT id FROM person_names_of($1)", &[&everyone])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    named.sort();
    let mut expected = vec![alice.id, al.id];
    expected.sort();
    assert_eq!(
        named, expected,
        "herself and the agent on her ticket; not bob, not an uninvolved agent"
    );
    let staff: i64 = db
        .login(&bo)
        .await
        .query_one("SELECT count(*) FROM person_names_of($1)", &[&everyone])
        .await
        .unwrap()
        .get(0);
    assert_eq!(staff, 4, "staff may name everyone");
}

#[tokio::test]
async fn ticket_counts_match_what_each_role_can_count_through_rls() {
    let db = TestDb::new().await;
    let Cast {
        alice,
        bob,
        al,
        bo,
        ada,
    } = db.cast().await;
    for (who, n) in [(&alice, 5), (&bob, 3)] {
        let c = db.login(who).await;
        for i in 0..n {
            c.execute(
                "INSERT INTO tickets (subject) VALUES ($1)",
                &[&format!("t{i}")],
            )
            .await
            .unwrap();
        }
    }
    db.login(&al).await.batch_execute("SELECT claim_ticket(id) FROM (SELECT id FROM tickets LIMIT 3) x; UPDATE tickets SET status = 'closed' WHERE id = (SELECT id FROM tickets WHERE agent_id = app.uid() LIMIT 1)").await.unwrap();
    db.login(&bo).await.batch_execute("SELECT claim_ticket(id) FROM (SELECT id FROM tickets WHERE agent_id IS NULL LIMIT 2) x").await.unwrap();
    let people = [&alice, &bob, &al, &bo, &ada];
    // The maintained totals (valid since the migration rebuilt them) plus unfolded deltas.
    counts_match(&db, &people, "with the deltas unfolded").await;
    let su = db.admin().await;
    su.batch_execute("SELECT announce_ticket_changes()")
        .await
        .unwrap();
    counts_match(&db, &people, "after the notifier folded them").await;
    // More moves in and out of the agents' active queues: resolved, reopened by the
    // customer's reply, reassigned by the admin, released to the pool, handed off.
    let al_c = db.login(&al).await;
    al_c.batch_execute(
        "UPDATE tickets SET status = 'in_progress' WHERE agent_id = app.uid() AND status = 'open';
         UPDATE tickets SET status = 'resolved' WHERE id = (SELECT id FROM tickets WHERE agent_id = app.uid() AND status = 'in_progress' ORDER BY id LIMIT 1)",
    )
    .await
    .unwrap();
    let resolved: Uuid = su
        .query_one("SELECT id FROM tickets WHERE status = 'resolved'", &[])
        .await
        .unwrap()
        .get(0);
    let owner = su
        .query_one(
            "SELECT u.login FROM tickets t JOIN users u ON u.id = t.customer_id WHERE t.id = $1",
            &[&resolved],
        )
        .await
        .unwrap()
        .get::<_, String>(0);
    let customer = if owner == alice.login { &alice } else { &bob };
    db.login(customer)
        .await
        .execute(
            "INSERT INTO ticket_messages (ticket_id, body) VALUES ($1, 'still broken')",
            &[&resolved],
        )
        .await
        .unwrap();
    let moved = db
        .login(&ada)
        .await
        .execute(
            "UPDATE tickets SET agent_id = (SELECT id FROM users WHERE login = $1) WHERE id = (SELECT id FROM tickets WHERE status = 'in_progress' ORDER BY id LIMIT 1)",
            &[&bo.login],
        )
        .await
        .unwrap();
    assert_eq!(moved, 1, "the admin reassigned one of al's");
    let bo_c = db.login(&bo).await;
    bo_c.batch_execute("SELECT release_ticket(id) FROM (SELECT id FROM tickets WHERE agent_id = app.uid() ORDER BY id LIMIT 1) x")
        .await
        .unwrap();
    bo_c.execute(
        "SELECT hand_off_ticket(id, (SELECT id FROM users WHERE login = $1)) FROM (SELECT id FROM tickets WHERE agent_id = app.uid() ORDER BY id LIMIT 1) x",
        &[&al.login],
    )
    .await
    .unwrap();
    counts_match(&db, &people, "after more moves, unfolded").await;
    su.batch_execute("SELECT announce_ticket_changes()")
        .await
        .unwrap();
    counts_match(&db, &people, "after more moves, folded").await;
    // Without valid totals (a crash emptied them) it counts, and the notifier rebuilds them.
    su.batch_execute("DELETE FROM app.ticket_counters")
        .await
        .unwrap();
    counts_match(&db, &people, "counting").await;
    su.batch_execute("SELECT announce_ticket_changes()")
        .await
        .unwrap();
    counts_match(&db, &people, "rebuilt").await;
}

/// Each person's ticket_counts() against what they can count themselves through RLS.
async fn counts_match(db: &TestDb, people: &[&TestPerson], stage: &str) {
    for person in people {
        let c = db.login(person).await;
        let row = c
            .query_one("SELECT mine, unassigned, visible FROM ticket_counts()", &[])
            .await
            .unwrap();
        let (mine, pool, visible): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
        let count = |sql: &'static str| {
            let c = &c;
            async move { c.query_one(sql, &[]).await.unwrap().get::<_, i64>(0) }
        };
        assert_eq!(
            visible,
            count("SELECT count(*) FROM tickets").await,
            "{} visible, {stage}",
            person.login
        );
        match person.role {
            "customer" => assert_eq!(mine, visible),
            "agent" => {
                assert_eq!(
                    mine,
                    count("SELECT count(*) FROM tickets WHERE agent_id = app.uid() AND status IN ('open','in_progress','waiting_on_customer')").await,
                    "{} mine, {stage}",
                    person.login
                );
                assert_eq!(
                    pool,
                    count(
                        "SELECT count(*) FROM tickets WHERE agent_id IS NULL AND status = 'open'"
                    )
                    .await,
                    "{} pool, {stage}",
                    person.login
                );
            }
            _ => assert_eq!(
                pool,
                count("SELECT count(*) FROM tickets WHERE agent_id IS NULL AND status = 'open'")
                    .await,
                "the pool, {stage}"
            ),
        }
    }
}

#[tokio::test]
async fn names_on_tickets_names_only_the_people_on_the_callers_own_tickets() {
    let db = TestDb::new().await;
    let Cast {
        alice, bob, al, bo, ..
    } = db.cast().await;
    let mine: Uuid = db
        .login(&alice)
        .await
        .query_one(
            "INSERT INTO tickets (subject) VALUES ('a') RETURNING id",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let theirs: Uuid = db
        .login(&bob)
        .await
        .query_one(
            "INSERT INTO tickets (subject) VALUES ('b') RETURNING id",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    db.login(&al)
        .await
        .execute("SELECT claim_ticket($1)", &[&mine])
        .await
        .unwrap();
    let al_c = db.login(&al).await;
    al_c.execute("SELECT hand_off_ticket($1, $2)", &[&mine, &bo.id])
        .await
        .unwrap();
    db.login(&bo)
        .await
        .execute("SELECT claim_ticket($1)", &[&theirs])
        .await
        .unwrap();
    let c = db.login(&alice).await;
    let names = |with_history: bool, tickets: Vec<Uuid>| {
        let c = &c;
        async move {
            let mut ids: Vec<Uuid> = c
                .query(
                    "SELECT id FROM names_on_tickets($1, $2)",
                    &[&tickets, &with_history],
                )
                .await
                .unwrap()
                .iter()
                .map(|r| r.get(0))
                .collect();
            ids.sort();
            ids
        }
    };
    let sorted = |mut v: Vec<Uuid>| {
        v.sort();
        v
    };
    assert_eq!(
        names(false, vec![mine]).await,
        sorted(vec![alice.id, bo.id]),
        "her ticket's customer and agent"
    );
    assert_eq!(
        names(true, vec![mine]).await,
        sorted(vec![alice.id, al.id, bo.id]),
        "and who is in its history"
    );
    assert!(
        names(true, vec![theirs]).await.is_empty(),
        "bob's ticket names nobody to alice"
    );
    assert_eq!(
        names(true, vec![mine, theirs]).await,
        sorted(vec![alice.id, al.id, bo.id]),
        "bob never appears"
    );
}

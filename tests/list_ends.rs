//! `G` goes to the real end of the ticket list and of the audit, not to the last row loaded
//! (issue 11: 15 presses to reach the end of the audit): the last page is read from the other
//! side (`repo::list_tail`, `repo::audit_tail`: the reversed keyset order, answered in the
//! list's order), scrolling up from there reads the pages above, and `g` reads the top again.
//! Lists of 250 tickets, longer than a page (100), against a real database.

mod common;

use common::client::Client;
use common::{TestDb, TestPerson};
use ratatui::crossterm::event::KeyCode;
use tickets::app::View;
use tickets::db::repo;
use tickets::model::*;
use uuid::Uuid;

const TICKETS: usize = 250;

struct Scene {
    db: TestDb,
    cy: TestPerson,
    al: TestPerson,
    ada: TestPerson,
}

/// 250 tickets of a customer, in every priority, unassigned (the agent's pool).
async fn scene() -> Scene {
    let db = TestDb::new().await;
    let cy = db.person("customer", "cy").await;
    let al = db.person("agent", "al").await;
    let ada = db.person("admin", "ada").await;
    db.admin()
        .await
        .execute("UPDATE app.limits SET tickets_per_hour = 10000", &[])
        .await
        .unwrap();
    db.login(&cy)
        .await
        .execute(
            "INSERT INTO tickets (subject, description, priority)
             SELECT format('T%s', g), 'the printer broke',
                    (ARRAY['low', 'normal', 'high', 'urgent'])[1 + g % 4]::ticket_priority
             FROM generate_series(1, $1::int) g",
            &[&(TICKETS as i32)],
        )
        .await
        .unwrap();
    Scene { db, cy, al, ada }
}

/// The whole queue, page after page from the top, as the client reads it.
async fn whole(c: &tokio_postgres::Client, me: &Me, queue: Queue, search: &str) -> Vec<Uuid> {
    let mut rows: Vec<TicketRow> = Vec::new();
    loop {
        let after = rows.last().map(Cursor::from);
        let page = repo::list(c, me, queue, search, after.as_ref(), repo::PAGE)
            .await
            .unwrap();
        let short = page.len() < repo::PAGE as usize;
        rows.extend(page);
        if short {
            return rows.iter().map(|r| r.id).collect();
        }
    }
}

fn ids(rows: &[TicketRow]) -> Vec<Uuid> {
    rows.iter().map(|r| r.id).collect()
}

#[tokio::test]
async fn the_tail_of_every_queue_is_its_real_end_in_its_own_order() {
    let s = scene().await;
    let cases = [
        (&s.cy, Queue::Mine, ""),
        (&s.al, Queue::Unassigned, ""),
        (&s.al, Queue::All, ""),
        (&s.ada, Queue::All, ""),
        (&s.ada, Queue::Unassigned, ""),
        (&s.ada, Queue::All, "printer"),
        (&s.cy, Queue::Mine, "printer"),
    ];
    for (who, queue, search) in cases {
        let c = s.db.login(who).await;
        let me = repo::whoami(&c).await.unwrap();
        let all = whole(&c, &me, queue, search).await;
        assert_eq!(all.len(), TICKETS, "{} {queue:?} {search:?}", who.login);
        let tail = repo::list_tail(&c, &me, queue, search, None, repo::PAGE)
            .await
            .unwrap();
        let n = all.len();
        assert_eq!(
            ids(&tail),
            all[n - 100..],
            "{} {queue:?} {search:?}: the last page",
            who.login
        );
        let above = repo::list_tail(
            &c,
            &me,
            queue,
            search,
            Some(&Cursor::from(&tail[0])),
            repo::PAGE,
        )
        .await
        .unwrap();
        assert_eq!(ids(&above), all[n - 200..n - 100], "the page above it");
        let top = repo::list_tail(
            &c,
            &me,
            queue,
            search,
            Some(&Cursor::from(&above[0])),
            repo::PAGE,
        )
        .await
        .unwrap();
        assert_eq!(ids(&top), all[..n - 200], "and the first rows, short");
    }
}

/// The whole audit, page after page from the newest change.
async fn whole_audit(c: &tokio_postgres::Client) -> Vec<Uuid> {
    let filter = AuditFilter::default();
    let mut all: Vec<HistoryEntry> = Vec::new();
    loop {
        let after = all.last().map(|h| AuditCursor {
            changed_at: h.changed_at,
            id: h.id,
        });
        let page = repo::audit(c, &filter, after.as_ref(), repo::PAGE)
            .await
            .unwrap();
        let short = page.len() < repo::PAGE as usize;
        all.extend(page);
        if short {
            return all.iter().map(|h| h.id).collect();
        }
    }
}

#[tokio::test]
async fn the_tail_of_the_audit_is_its_oldest_changes() {
    let s = scene().await;
    let c = s.db.login(&s.ada).await;
    let filter = AuditFilter::default();
    let all = whole_audit(&c).await;
    let n = all.len();
    assert_eq!(n, TICKETS, "one created row per ticket");
    let tail = repo::audit_tail(&c, &filter, None, repo::PAGE)
        .await
        .unwrap();
    assert_eq!(
        tail.iter().map(|h| h.id).collect::<Vec<_>>(),
        all[n - 100..]
    );
    let before = AuditCursor {
        changed_at: tail[0].changed_at,
        id: tail[0].id,
    };
    let above = repo::audit_tail(&c, &filter, Some(&before), repo::PAGE)
        .await
        .unwrap();
    assert_eq!(
        above.iter().map(|h| h.id).collect::<Vec<_>>(),
        all[n - 200..n - 100]
    );
}

/// In the client: `G` lands on the queue's last ticket with one page read, not three; moving up
/// from there reads the page above before the cursor gets to it; `g` lands on the first again.
#[tokio::test]
async fn g_and_shift_g_go_to_the_real_top_and_end_of_the_list() {
    let s = scene().await;
    let c = s.db.login(&s.cy).await;
    let me = repo::whoami(&c).await.unwrap();
    let all = whole(&c, &me, Queue::Mine, "").await;
    let mut client = Client::start(&s.db, &s.cy);
    client.login(&s.cy).await;
    assert_eq!(client.main().list.rows.len(), 100);
    let selected = |client: &Client| client.main().selected().map(|r| r.id);

    client.key(KeyCode::Char('G'));
    client.settle().await;
    assert_eq!(selected(&client), all.last().copied(), "the real end");
    assert_eq!(
        client.main().list.rows.len(),
        100,
        "one page read, from the end"
    );
    assert!(client.main().list.head_missing);

    for _ in 0..85 {
        client.key(KeyCode::Char('k'));
    }
    client.settle().await;
    assert_eq!(selected(&client), Some(all[TICKETS - 86]));
    assert_eq!(
        ids(&client.main().list.rows),
        all[TICKETS - 200..],
        "the page above was read as the cursor neared it"
    );

    client.key(KeyCode::Char('g'));
    client.settle().await;
    assert_eq!(selected(&client), Some(all[0]), "the real top");
    assert_eq!(ids(&client.main().list.rows), all[..100]);
    assert!(!client.main().list.head_missing);
}

#[tokio::test]
async fn shift_g_goes_to_the_oldest_change_of_the_audit() {
    let s = scene().await;
    let all = whole_audit(&s.db.login(&s.ada).await).await;
    let mut client = Client::start(&s.db, &s.ada);
    client.login(&s.ada).await;
    client.key(KeyCode::Char('A'));
    client.settle().await;
    assert_eq!(client.main().view, View::Audit);
    assert_eq!(client.main().audit.rows.len(), 100);
    let selected = |client: &Client| {
        let audit = &client.main().audit;
        audit.rows.get(audit.selected).map(|h| h.id)
    };
    client.key(KeyCode::Char('G'));
    client.settle().await;
    assert_eq!(selected(&client), all.last().copied(), "the oldest change");
    assert_eq!(
        client.main().audit.rows.len(),
        100,
        "one page read, from the end"
    );
    for _ in 0..85 {
        client.key(KeyCode::Char('k'));
    }
    client.settle().await;
    assert_eq!(selected(&client), Some(all[TICKETS - 86]));
    assert_eq!(client.main().audit.rows.len(), 200);
    client.key(KeyCode::Char('g'));
    client.settle().await;
    assert_eq!(selected(&client), Some(all[0]), "the newest change");
    assert_eq!(client.main().audit.rows.len(), 100);
}

/// A customer's list names each row's agent, whoever of several holds it, and no one on the
/// unassigned rows (the list proves each name from one ticket per agent).
#[tokio::test]
async fn a_customers_list_names_every_rows_agent() {
    let s = scene().await;
    let bo = s.db.person("agent", "bo").await;
    let (al, bo_c) = (s.db.login(&s.al).await, s.db.login(&bo).await);
    al.batch_execute("SELECT claim_ticket(id) FROM (SELECT id FROM tickets ORDER BY id LIMIT 7) t")
        .await
        .unwrap();
    bo_c.batch_execute(
        "SELECT claim_ticket(id) FROM (SELECT id FROM tickets WHERE agent_id IS NULL ORDER BY id DESC LIMIT 5) t",
    )
    .await
    .unwrap();
    let c = s.db.login(&s.cy).await;
    let me = repo::whoami(&c).await.unwrap();
    let mut seen = (0, 0, 0);
    let mut after: Option<Cursor> = None;
    loop {
        let page = repo::list(&c, &me, Queue::Mine, "", after.as_ref(), repo::PAGE)
            .await
            .unwrap();
        for r in &page {
            match (r.agent_id, r.agent_name.as_deref()) {
                (Some(a), Some("al agent")) if a == s.al.id => seen.0 += 1,
                (Some(a), Some("bo agent")) if a == bo.id => seen.1 += 1,
                (None, None) => seen.2 += 1,
                other => panic!("row {} shows {other:?}", r.id),
            }
        }
        if page.len() < repo::PAGE as usize {
            break;
        }
        after = page.last().map(Cursor::from);
    }
    assert_eq!(seen, (7, 5, TICKETS - 12));
}

/// Most urgent first, after a cursor: agent_queue() reads an agent's pages from the top as two
/// ranges (the rest of the cursor's priority, then the lower ones, 0043); the admin's pages
/// and every page read from the end go through the table with one condition. Tickets share
/// their `created_at` in groups, so the id decides ties. Walked one row and seven rows at a
/// time from either end, so that cursors fall inside each priority, on its last row, and
/// between tied rows: every queue ordered by urgency gives exactly the rows, in the order,
/// that a psql query gives the same person.
#[tokio::test]
async fn urgent_first_pages_walk_every_priority_boundary_from_either_end() {
    let s = scene().await;
    // Some of the pool becomes the agent's own, in every priority.
    let al_c = s.db.login(&s.al).await;
    al_c.batch_execute(
        "SELECT claim_ticket(id) FROM (SELECT id FROM tickets ORDER BY subject LIMIT 37) x",
    )
    .await
    .unwrap();
    // Filing stamps every ticket with its own clock time; the superuser makes groups of five
    // share one (the rule triggers, which refuse changing created_at, are skipped for it).
    s.db.admin()
        .await
        .batch_execute(
            "SET session_replication_role = replica;
             UPDATE tickets SET created_at = timestamptz '2026-01-01' + (number / 5) * interval '1 minute';
             RESET session_replication_role;",
        )
        .await
        .unwrap();
    let cases = [
        (
            &s.al,
            Queue::Mine,
            "agent_id = app.uid() AND status IN ('open', 'in_progress', 'waiting_on_customer')",
        ),
        (
            &s.al,
            Queue::Unassigned,
            "agent_id IS NULL AND status = 'open'",
        ),
        (
            &s.ada,
            Queue::Unassigned,
            "agent_id IS NULL AND status = 'open'",
        ),
    ];
    for (step, (who, queue, filter)) in [1, 7].into_iter().flat_map(|n| cases.map(|c| (n, c))) {
        let c = s.db.login(who).await;
        let me = repo::whoami(&c).await.unwrap();
        let expected: Vec<Uuid> = c
            .query(
                &format!(
                    "SELECT id FROM tickets WHERE {filter} ORDER BY priority DESC, created_at, id"
                ),
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        let priorities: i64 = c
            .query_one(
                &format!("SELECT count(DISTINCT priority) FROM tickets WHERE {filter}"),
                &[],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(priorities, 4, "{} {queue:?}: every priority", who.login);
        let tied: i64 = c
            .query_one(
                &format!(
                    "SELECT count(*) FROM (SELECT 1 FROM tickets WHERE {filter}
                     GROUP BY priority, created_at HAVING count(*) > 1) x"
                ),
                &[],
            )
            .await
            .unwrap()
            .get(0);
        assert!(tied > 0, "{} {queue:?}: rows tied on created_at", who.login);
        let mut forward: Vec<TicketRow> = Vec::new();
        loop {
            let after = forward.last().map(Cursor::from);
            let page = repo::list(&c, &me, queue, "", after.as_ref(), step)
                .await
                .unwrap();
            let short = page.len() < step as usize;
            forward.extend(page);
            if short || forward.len() > expected.len() {
                break;
            }
        }
        assert_eq!(
            ids(&forward),
            expected,
            "{} {queue:?} by {step}: from the top",
            who.login
        );
        let mut backward: Vec<TicketRow> = Vec::new();
        loop {
            let before = backward.first().map(Cursor::from);
            let page = repo::list_tail(&c, &me, queue, "", before.as_ref(), step)
                .await
                .unwrap();
            let short = page.len() < step as usize;
            backward.splice(0..0, page);
            if short || backward.len() > expected.len() {
                break;
            }
        }
        assert_eq!(
            ids(&backward),
            expected,
            "{} {queue:?} by {step}: from the end",
            who.login
        );
    }
}

/// Al claims 40 of the pool's tickets and a second agent, bo, 30 others: each agent's own
/// tickets beside the open pool. Their sessions, al's first.
async fn al_and_bo_claim(s: &Scene) -> (tokio_postgres::Client, tokio_postgres::Client) {
    let bo = s.db.person("agent", "bo").await;
    let (al, bo) = (s.db.login(&s.al).await, s.db.login(&bo).await);
    al.batch_execute(
        "SELECT claim_ticket(id) FROM (SELECT id FROM tickets ORDER BY subject LIMIT 40) t",
    )
    .await
    .unwrap();
    bo.batch_execute(
        "SELECT claim_ticket(id) FROM (SELECT id FROM tickets WHERE agent_id IS NULL
                                       ORDER BY subject DESC LIMIT 30) t",
    )
    .await
    .unwrap();
    (al, bo)
}

/// An agent's "All I can see" is their own tickets (whatever their status) and the open pool,
/// newest first: the client reads the two as separate index ranges and merges them, instead of
/// passing over every other agent's newest tickets. Walked whole from the top, seven rows at a
/// time (cursors fall on either range's rows), and from the end, against the superuser's plain
/// query for the same person.
#[tokio::test]
async fn an_agents_everything_is_their_own_and_the_open_pool_newest_first() {
    let s = scene().await;
    let (al, _bo) = al_and_bo_claim(&s).await;
    let ada = s.db.login(&s.ada).await;
    al.batch_execute(
        "UPDATE tickets SET status = 'resolved'
          WHERE id IN (SELECT id FROM tickets WHERE agent_id IN (SELECT app.uid())
                       ORDER BY id LIMIT 10)",
    )
    .await
    .unwrap();
    // Unassigned but closed: no agent's. Then some of the pool and some of bo's become the
    // newest, between al's.
    ada.batch_execute(
        "UPDATE tickets SET status = 'closed'
          WHERE id IN (SELECT id FROM tickets WHERE agent_id IS NULL ORDER BY id LIMIT 5);
         UPDATE tickets SET priority = 'urgent'
          WHERE id IN (SELECT id FROM tickets WHERE status <> 'closed' ORDER BY id DESC LIMIT 60)",
    )
    .await
    .unwrap();
    let expected: Vec<Uuid> = s
        .db
        .admin()
        .await
        .query(
            "SELECT id FROM tickets WHERE agent_id = $1 OR (agent_id IS NULL AND status = 'open')
              ORDER BY updated_at DESC, id DESC",
            &[&s.al.id],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        expected.len(),
        TICKETS - 30 - 5,
        "al's 40 and the open pool"
    );

    let me = repo::whoami(&al).await.unwrap();
    assert_eq!(
        whole(&al, &me, Queue::All, "").await,
        expected,
        "page by page"
    );
    let mut walked: Vec<TicketRow> = Vec::new();
    loop {
        let after = walked.last().map(Cursor::from);
        let page = repo::list(&al, &me, Queue::All, "", after.as_ref(), 7)
            .await
            .unwrap();
        let short = page.len() < 7;
        walked.extend(page);
        if short {
            break;
        }
    }
    assert_eq!(ids(&walked), expected, "seven rows at a time");
    let n = expected.len();
    let tail = repo::list_tail(&al, &me, Queue::All, "", None, repo::PAGE)
        .await
        .unwrap();
    assert_eq!(ids(&tail), expected[n - 100..], "the last page");
    let above = repo::list_tail(
        &al,
        &me,
        Queue::All,
        "",
        Some(&Cursor::from(&tail[0])),
        repo::PAGE,
    )
    .await
    .unwrap();
    assert_eq!(ids(&above), expected[n - 200..n - 100], "the page above it");
}

/// An agent's `SELECT count(*) FROM tickets` in psql can be read as the floor reads it: a
/// BitmapOr of their own tickets' index and the pool's (0050). The policy's "mine" is a value
/// computed once (`= ANY (ARRAY(SELECT app.uid()))`); written `IN (SELECT app.uid())` inside
/// the policy's OR, it was a subplan checked row by row over every ticket (a Seq Scan; with
/// sequential scans discouraged, a bitmap of one index read whole). The plan's node types
/// show which the policy allows.
#[tokio::test]
async fn an_agents_count_of_everything_combines_two_index_ranges() {
    let s = scene().await;
    let (al, _bo) = al_and_bo_claim(&s).await;
    al.batch_execute("SET enable_seqscan = off").await.unwrap();
    let plan: serde_json::Value = al
        .query_one("EXPLAIN (FORMAT JSON) SELECT count(*) FROM tickets", &[])
        .await
        .unwrap()
        .get(0);
    let mut nodes = Vec::new();
    node_types(&plan, &mut nodes);
    assert!(
        nodes.iter().any(|n| n == "BitmapOr") && !nodes.iter().any(|n| n == "Seq Scan"),
        "an agent's count(*) should combine their index range and the pool's: {nodes:?}"
    );
    let seen: i64 = al
        .query_one("SELECT count(*) FROM tickets", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(seen, (TICKETS - 30) as i64, "al's 40 and the open pool");
}

/// Every "Node Type" of an EXPLAIN (FORMAT JSON) plan, outermost first.
fn node_types(plan: &serde_json::Value, into: &mut Vec<String>) {
    match plan {
        serde_json::Value::Object(o) => {
            if let Some(serde_json::Value::String(t)) = o.get("Node Type") {
                into.push(t.clone());
            }
            o.values().for_each(|v| node_types(v, into));
        }
        serde_json::Value::Array(a) => a.iter().for_each(|v| node_types(v, into)),
        _ => {}
    }
}

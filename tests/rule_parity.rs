//! Rule parity: the client offers exactly what the database allows. For every role, every
//! status and every way a ticket can be assigned, each action the client offers or refuses is
//! tried for real (in a transaction rolled back) and the database's answer compared.

mod common;

use common::{Cast, TestDb, TestPerson};
use tickets::app::Main;
use tickets::db::repo;
use tickets::model::*;
use tokio_postgres::Client;
use uuid::Uuid;

/// What one person may do to one ticket, as the client or the database sees it.
#[derive(Debug, Clone, PartialEq)]
struct Allowed {
    claim: bool,
    release: bool,
    hand_off: bool,
    priority: bool,
    statuses: Vec<Status>,
    /// Writing a public reply to the ticket's conversation.
    post: bool,
}

/// What the client would offer: the same predicates the keys go through.
fn offered(main: &Main, row: &TicketRow) -> Allowed {
    Allowed {
        claim: main.can_claim(row),
        release: main.can_release(row),
        hand_off: main.can_hand_off(row),
        priority: main.can_change_priority(row),
        statuses: main.status_options(row),
        post: main.can_post(row),
    }
}

/// Runs `sql` in a transaction that is rolled back; true when the database did it.
async fn tried(
    c: &mut Client,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> bool {
    let tx = c.transaction().await.expect("begin");
    let done = match tx.execute(sql, params).await {
        Ok(n) => n > 0,
        Err(_) => false,
    };
    tx.rollback().await.expect("rollback");
    done
}

/// What the database allows: every action tried for real.
async fn accepted(c: &mut Client, row: &TicketRow, other_agent: Uuid) -> Allowed {
    let id = row.id;
    let claim = tried(c, "SELECT public.claim_ticket($1)", &[&id]).await;
    let release = tried(c, "SELECT public.release_ticket($1)", &[&id]).await;
    let hand_off = tried(
        c,
        "SELECT public.hand_off_ticket($1, $2)",
        &[&id, &other_agent],
    )
    .await;
    let other_priority = if row.priority == Priority::Urgent {
        "low"
    } else {
        "urgent"
    };
    let priority = tried(
        c,
        "UPDATE public.tickets SET priority = $1::text::public.ticket_priority WHERE id = $2",
        &[&other_priority, &id],
    )
    .await;
    let mut statuses = Vec::new();
    for &to in Status::ALL.iter().filter(|s| **s != row.status) {
        if tried(
            c,
            "UPDATE public.tickets SET status = $1::text::public.ticket_status WHERE id = $2",
            &[&to.as_sql(), &id],
        )
        .await
        {
            statuses.push(to);
        }
    }
    let post = tried(
        c,
        "INSERT INTO public.ticket_messages (ticket_id, body) VALUES ($1, 'parity')",
        &[&id],
    )
    .await;
    Allowed {
        claim,
        release,
        hand_off,
        priority,
        statuses,
        post,
    }
}

#[tokio::test]
async fn the_client_offers_exactly_what_the_database_allows() {
    let db = TestDb::new().await;
    let Cast {
        alice, al, bo, ada, ..
    } = db.cast().await;
    let admin = db.admin().await;
    let customer = db.login(&alice).await;

    // One ticket per (status, assignment), set up by the superuser past the move rules.
    let mut tickets = Vec::new();
    for &status in Status::ALL {
        for assignee in [None, Some(&al), Some(&bo)] {
            let id: Uuid = customer
                .query_one(
                    "INSERT INTO tickets (subject, description) VALUES ($1, '') RETURNING id",
                    &[&format!("{status} / {:?}", assignee.map(|p| &p.login))],
                )
                .await
                .unwrap()
                .get(0);
            admin
                .batch_execute("SET session_replication_role = replica")
                .await
                .unwrap();
            admin
                .execute(
                    "UPDATE tickets SET status = $1::text::ticket_status, agent_id = $2 WHERE id = $3",
                    &[&status.as_sql(), &assignee.map(|p| p.id), &id],
                )
                .await
                .unwrap();
            admin
                .batch_execute("SET session_replication_role = origin")
                .await
                .unwrap();
            tickets.push(id);
        }
    }

    let mut checked = 0;
    let mut disagreements = Vec::new();
    for person in [&alice, &al, &ada] {
        let mut c = db.login(person).await;
        let me = repo::whoami(&c).await.unwrap();
        let moves = repo::moves(&c, me.role).await.unwrap();
        let agents = repo::agents(&c, &me).await.unwrap();
        let main = Main::new(me.clone(), moves, agents);
        for &id in &tickets {
            // The client can only act on what it can read.
            let Some(row) = repo::row(&c, &me, id).await.unwrap() else {
                continue;
            };
            let other: &TestPerson = if row.agent_id == Some(al.id) {
                &bo
            } else {
                &al
            };
            let client = offered(&main, &row);
            let database = accepted(&mut c, &row, other.id).await;
            checked += 1;
            if client != database {
                disagreements.push(format!(
                    "{} on {} (agent {:?}):\n  client   {client:?}\n  database {database:?}",
                    me.role,
                    row.status,
                    row.agent_id.map(|a| if a == al.id { "al" } else { "bo" }),
                ));
            }
        }
    }
    // Customers see their 15, the agent their own 5 and the open pool's 1, admins all 15.
    assert_eq!(checked, 15 + 6 + 15, "tickets walked");
    assert!(
        disagreements.is_empty(),
        "the client and the database disagree:\n{}",
        disagreements.join("\n")
    );
}

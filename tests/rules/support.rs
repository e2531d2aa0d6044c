//! The cast and helpers of tests/rules.rs: people logged in, tickets filed, history read.

use super::common::{TestDb, TestPerson};

use tokio_postgres::Client;
use uuid::Uuid;

/// One history row as (kind, old, new, changed_by): old/new are statuses, agents or priorities
/// depending on the kind.
pub type Change = (String, Option<String>, Option<String>, Uuid);

pub fn change(kind: &str, old: Option<&str>, new: Option<&str>, by: &TestPerson) -> Change {
    (kind.into(), old.map(Into::into), new.map(Into::into), by.id)
}

pub fn agent(p: &TestPerson) -> String {
    p.id.to_string()
}

/// A customer, two agents and an admin, each logged in.
pub struct Cast {
    pub db: TestDb,
    pub su: Client,
    pub customer: TestPerson,
    pub a1: TestPerson,
    pub a2: TestPerson,
    pub admin: TestPerson,
    pub c: Client,
    pub l1: Client,
    pub l2: Client,
    pub ad: Client,
}

impl Cast {
    pub async fn new() -> Cast {
        let db = TestDb::new().await;
        let (customer, a1, a2, admin) = tokio::join!(
            db.person("customer", "carla"),
            db.person("agent", "al"),
            db.person("agent", "bea"),
            db.person("admin", "ada"),
        );
        let (c, l1, l2, ad) = tokio::join!(
            db.login(&customer),
            db.login(&a1),
            db.login(&a2),
            db.login(&admin)
        );
        let su = db.admin().await;
        Cast {
            db,
            su,
            customer,
            a1,
            a2,
            admin,
            c,
            l1,
            l2,
            ad,
        }
    }

    pub async fn file(&self, subject: &str) -> Uuid {
        self.c
            .query_one(
                "INSERT INTO tickets (subject, description, priority)
                 VALUES ($1, 'it broke', 'normal') RETURNING id",
                &[&subject],
            )
            .await
            .unwrap()
            .get(0)
    }

    /// A ticket's history as `reader` sees it, checking its seq numbers run 1..n.
    pub async fn history(&self, reader: &Client, ticket: Uuid) -> Vec<Change> {
        let rows = reader
            .query(
                "SELECT seq, kind::text,
                    CASE kind WHEN 'assignment' THEN old_agent_id::text
                              WHEN 'priority' THEN old_priority::text ELSE old_status::text END,
                    CASE kind WHEN 'assignment' THEN new_agent_id::text
                              WHEN 'priority' THEN new_priority::text ELSE new_status::text END,
                    changed_by
                 FROM ticket_status_history WHERE ticket_id = $1 ORDER BY seq",
                &[&ticket],
            )
            .await
            .unwrap();
        let seqs: Vec<i32> = rows.iter().map(|r| r.get(0)).collect();
        assert_eq!(seqs, (1..=rows.len() as i32).collect::<Vec<_>>(), "gaps");
        rows.iter()
            .map(|r| (r.get(1), r.get(2), r.get(3), r.get(4)))
            .collect()
    }

    /// The last history row of a ticket, as the superuser sees it.
    pub async fn last_change(&self, ticket: Uuid) -> Change {
        self.history(&self.su, ticket).await.pop().unwrap()
    }

    /// (status, agent) of a ticket as the superuser sees it.
    pub async fn ticket(&self, ticket: Uuid) -> (String, Option<Uuid>) {
        let row = self
            .su
            .query_one(
                "SELECT status::text, agent_id FROM tickets WHERE id = $1",
                &[&ticket],
            )
            .await
            .unwrap();
        (row.get(0), row.get(1))
    }

    /// Every ticket's history numbered 1..n with no gaps.
    pub async fn assert_no_gaps(&self) {
        let broken: i64 = self
            .su
            .query_one(
                "SELECT count(*) FROM (SELECT ticket_id, max(seq) = count(*) AND min(seq) = 1 AS ok
                 FROM ticket_status_history GROUP BY ticket_id) s WHERE NOT ok",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(broken, 0, "a ticket's history has gaps");
    }
}

pub async fn visible(c: &Client, ticket: Uuid) -> bool {
    c.query_opt("SELECT 1 FROM tickets WHERE id = $1", &[&ticket])
        .await
        .unwrap()
        .is_some()
}

pub async fn set_status(c: &Client, ticket: Uuid, status: &str) {
    let n = c
        .execute(
            "UPDATE tickets SET status = $2::text::ticket_status WHERE id = $1",
            &[&ticket, &status],
        )
        .await
        .unwrap_or_else(|e| panic!("move to {status}: {e}"));
    assert_eq!(n, 1, "move to {status}");
}

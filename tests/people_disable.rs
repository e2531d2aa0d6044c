//! Disabling a person who holds tickets (issue 11 item 6, the database half): `disable_person`
//! and `tickets user disable LOGIN [--hand-to LOGIN]` release the person's active tickets to the
//! pool or hand them to a named active agent, recorded in the history in the disabling admin's
//! name as a release or hand-off by hand would be, and say how many. A refusal (an heir who is no
//! active agent, the person themselves, an unknown login, a superuser who is nobody here) says
//! why and changes nothing: the person is still active and still holds their tickets.

mod common;

use common::{TestDb, TestPerson};
use tokio_postgres::{Client, NoTls};
use uuid::Uuid;

struct Outcome {
    ok: bool,
    stdout: String,
    stderr: String,
}

/// Runs `tickets ARGS` with DATABASE_URL `url`, away from the machine's config and terminal.
async fn tickets(url: &str, args: &[&str]) -> Outcome {
    let home = tempfile::tempdir().unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_tickets"))
        .args(args)
        .env("DATABASE_URL", url)
        .envs(common::private_home_env(home.path()))
        .env_remove("TICKETS_CONFIG")
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .expect("run tickets");
    Outcome {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// An admin, two agents (al holds tickets, bo holds one of his own), a customer, a disabled
/// agent, and al's tickets in every status.
struct World {
    db: TestDb,
    admin: TestPerson,
    al: TestPerson,
    bo: TestPerson,
    cy: TestPerson,
    dee: TestPerson,
    /// al's open, in-progress and waiting tickets: the active ones.
    active: Vec<Uuid>,
    /// al's resolved and closed tickets: not his to hand on.
    done: Vec<Uuid>,
    /// bo's own ticket: not touched.
    bos: Uuid,
}

impl World {
    async fn new() -> World {
        let db = TestDb::new().await;
        let admin = db.person("admin", "ada").await;
        let al = db.person("agent", "al").await;
        let bo = db.person("agent", "bo").await;
        let cy = db.person("customer", "cy").await;
        let dee = db.person("agent", "dee").await;
        let su = db.admin().await;
        su.execute("SELECT disable_person($1)", &[&dee.login])
            .await
            .unwrap();
        let (c, a, b) = (
            db.login(&cy).await,
            db.login(&al).await,
            db.login(&bo).await,
        );
        let file = async |subject: &str| -> Uuid {
            c.query_one(
                "INSERT INTO tickets (subject) VALUES ($1) RETURNING id",
                &[&subject],
            )
            .await
            .unwrap()
            .get(0)
        };
        let mut active = Vec::new();
        let mut done = Vec::new();
        for status in [
            "open",
            "in_progress",
            "waiting_on_customer",
            "resolved",
            "closed",
        ] {
            let id = file(&format!("al's {status} ticket")).await;
            a.execute("SELECT claim_ticket($1)", &[&id]).await.unwrap();
            if status != "open" {
                a.execute(
                    "UPDATE tickets SET status = $2::text::ticket_status WHERE id = $1",
                    &[&id, &status],
                )
                .await
                .unwrap();
            }
            if matches!(status, "resolved" | "closed") {
                done.push(id);
            } else {
                active.push(id);
            }
        }
        let bos = file("bo's ticket").await;
        b.execute("SELECT claim_ticket($1)", &[&bos]).await.unwrap();
        World {
            db,
            admin,
            al,
            bo,
            cy,
            dee,
            active,
            done,
            bos,
        }
    }

    fn admin_url(&self) -> String {
        common::conninfo(&self.db.login_config(&self.admin))
    }

    /// (agent login, status) of a ticket, read as superuser.
    async fn ticket(&self, id: Uuid) -> (Option<String>, String) {
        let row = self
            .db
            .admin()
            .await
            .query_one(
                "SELECT u.login, t.status::text FROM tickets t
                 LEFT JOIN users u ON u.id = t.agent_id WHERE t.id = $1",
                &[&id],
            )
            .await
            .unwrap();
        (row.get(0), row.get(1))
    }

    /// The history rows written after seq `after`: (kind, old, new, changed_by login).
    async fn history_since(&self, id: Uuid, after: i32) -> Vec<(String, String, String, String)> {
        self.db
            .admin()
            .await
            .query(
                "SELECT h.kind::text,
                        coalesce(h.old_status::text, o.login, '-'),
                        coalesce(h.new_status::text, n.login, '-'),
                        b.login
                 FROM ticket_status_history h
                 JOIN users b ON b.id = h.changed_by
                 LEFT JOIN users o ON o.id = h.old_agent_id
                 LEFT JOIN users n ON n.id = h.new_agent_id
                 WHERE h.ticket_id = $1 AND h.seq > $2 ORDER BY h.seq",
                &[&id, &after],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
            .collect()
    }

    async fn last_seq(&self, id: Uuid) -> i32 {
        self.db
            .admin()
            .await
            .query_one(
                "SELECT max(seq) FROM ticket_status_history WHERE ticket_id = $1",
                &[&id],
            )
            .await
            .unwrap()
            .get(0)
    }

    /// Nothing changed: al is active and can log in, and every ticket is as it was.
    async fn unchanged(&self) {
        let c = self.db.login(&self.al).await;
        let active: bool = c
            .query_one(
                "SELECT disabled_at IS NULL FROM users WHERE id = app.uid()",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        assert!(active, "al was disabled after all");
        for (id, status) in self
            .active
            .iter()
            .zip(["open", "in_progress", "waiting_on_customer"])
        {
            assert_eq!(
                self.ticket(*id).await,
                (Some(self.al.login.clone()), status.into())
            );
        }
        assert_eq!(self.ticket(self.bos).await.0, Some(self.bo.login.clone()));
    }
}

fn row(kind: &str, old: &str, new: &str, by: &str) -> (String, String, String, String) {
    (kind.into(), old.into(), new.into(), by.into())
}

/// The command failed with one line on stderr that says `what`.
fn refused(out: &Outcome, what: &str) {
    assert!(!out.ok, "expected a failure, got success: {}", out.stdout);
    let lines: Vec<&str> = out.stderr.trim_end().lines().collect();
    assert_eq!(lines.len(), 1, "stderr is not one line:\n{}", out.stderr);
    assert!(
        lines[0].starts_with("tickets: ") && lines[0].contains(what),
        "stderr does not say {what:?}: {}",
        lines[0]
    );
}

#[tokio::test]
async fn disabling_an_agent_releases_their_active_tickets_to_the_pool_in_the_admins_name() {
    let w = World::new().await;
    let before: Vec<i32> =
        futures_util::future::join_all(w.active.iter().map(|id| w.last_seq(*id))).await;
    let out = tickets(&w.admin_url(), &["user", "disable", &w.al.login]).await;
    assert!(out.ok, "{}", out.stderr);
    assert_eq!(
        out.stdout.trim_end(),
        format!(
            "disabled {}: they can no longer log in, and their history stays; released 3 active tickets to the pool",
            w.al.login
        )
    );
    let (al, ada) = (w.al.login.as_str(), w.admin.login.as_str());
    for id in &w.active {
        assert_eq!(
            w.ticket(*id).await,
            (None, "open".into()),
            "back in the pool"
        );
    }
    // As release_ticket records it: the status back to open (when it was not), then the agent.
    assert_eq!(
        w.history_since(w.active[0], before[0]).await,
        [row("assignment", al, "-", ada)]
    );
    assert_eq!(
        w.history_since(w.active[1], before[1]).await,
        [
            row("status", "in_progress", "open", ada),
            row("assignment", al, "-", ada)
        ]
    );
    assert_eq!(
        w.history_since(w.active[2], before[2]).await,
        [
            row("status", "waiting_on_customer", "open", ada),
            row("assignment", al, "-", ada)
        ]
    );
    // Resolved and closed tickets keep their agent (nothing to work on), bo's are untouched.
    for (id, status) in w.done.iter().zip(["resolved", "closed"]) {
        assert_eq!(
            w.ticket(*id).await,
            (Some(w.al.login.clone()), status.into())
        );
    }
    assert_eq!(w.ticket(w.bos).await.0, Some(w.bo.login.clone()));
    let refused = w.db.login_config(&w.al).connect(NoTls).await;
    assert_eq!(common::sqlstate(refused.map(|_| ())), "28000");
    // The pool is bo's to claim now.
    let b = w.db.login(&w.bo).await;
    b.execute("SELECT claim_ticket($1)", &[&w.active[1]])
        .await
        .unwrap();
}

#[tokio::test]
async fn disabling_an_agent_hands_their_active_tickets_to_a_named_agent() {
    let w = World::new().await;
    let before = w.last_seq(w.active[1]).await;
    let out = tickets(
        &w.admin_url(),
        &["user", "disable", &w.al.login, "--hand-to", &w.bo.login],
    )
    .await;
    assert!(out.ok, "{}", out.stderr);
    assert!(
        out.stdout
            .trim_end()
            .ends_with(&format!("; handed 3 active tickets to {}", w.bo.login)),
        "{}",
        out.stdout
    );
    for (id, status) in w
        .active
        .iter()
        .zip(["open", "in_progress", "waiting_on_customer"])
    {
        assert_eq!(
            w.ticket(*id).await,
            (Some(w.bo.login.clone()), status.into())
        );
    }
    assert_eq!(
        w.history_since(w.active[1], before).await,
        [row("assignment", &w.al.login, &w.bo.login, &w.admin.login)]
    );
    for id in &w.done {
        assert_eq!(w.ticket(*id).await.0, Some(w.al.login.clone()));
    }
}

#[tokio::test]
async fn a_hand_to_that_is_no_active_agent_is_refused_with_the_reason_and_changes_nothing() {
    let w = World::new().await;
    let al = w.al.login.as_str();
    let cases = [
        (
            w.cy.login.clone(),
            format!(
                "cannot hand tickets to {0}: {0} is a customer, and tickets go only to an active agent",
                w.cy.login
            ),
        ),
        (
            w.admin.login.clone(),
            format!(
                "{} is an admin, and tickets go only to an active agent",
                w.admin.login
            ),
        ),
        (
            w.dee.login.clone(),
            format!(
                "{} is disabled, and tickets go only to an active agent",
                w.dee.login
            ),
        ),
        (
            al.to_owned(),
            format!("cannot hand {al}'s tickets to {al}: that is the person being disabled"),
        ),
        (
            "nobody_here".to_owned(),
            "cannot hand tickets to \"nobody_here\": no person has that login".to_owned(),
        ),
    ];
    for (heir, says) in &cases {
        let out = tickets(&w.admin_url(), &["user", "disable", al, "--hand-to", heir]).await;
        refused(&out, says);
        w.unchanged().await;
    }
    // An unknown person to disable is named as such.
    let out = tickets(&w.admin_url(), &["user", "disable", "nobody_here"]).await;
    refused(&out, "no person has the login \"nobody_here\"");
}

/// A superuser is nobody in the history: it may disable someone with nothing to hand on, but
/// not an agent whose tickets would move in nobody's name. It is told to use an admin's login,
/// before any session ends.
#[tokio::test]
async fn a_superuser_is_told_to_disable_an_agent_with_tickets_as_an_admin() {
    let w = World::new().await;
    let session = w.db.login(&w.al).await;
    let out = tickets(&w.db.admin_conninfo(), &["user", "disable", &w.al.login]).await;
    refused(
        &out,
        &format!(
            "{} holds 3 active tickets, and handing them on is recorded in the history in a person's name",
            w.al.login
        ),
    );
    assert!(
        out.stderr.contains("with an admin's login"),
        "{}",
        out.stderr
    );
    w.unchanged().await;
    session
        .query_one("SELECT 1", &[])
        .await
        .expect("al's open session did not end");
    let out = tickets(&w.db.admin_conninfo(), &["user", "disable", &w.cy.login]).await;
    assert!(out.ok, "{}", out.stderr);
    assert!(
        out.stdout.ends_with("they held no active tickets\n"),
        "{}",
        out.stdout
    );
}

/// From psql: `SELECT disable_person(login[, hand_to])` returns how many tickets it handed on.
#[tokio::test]
async fn disable_person_in_sql_returns_how_many_tickets_it_handed_on() {
    let w = World::new().await;
    let ada: Client = w.db.login(&w.admin).await;
    let n: i32 = ada
        .query_one("SELECT disable_person($1, $2)", &[&w.al.login, &w.bo.login])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 3);
    // Again (already disabled, nothing left): 0, and bo keeps them.
    let n: i32 = ada
        .query_one("SELECT disable_person($1)", &[&w.al.login])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 0);
    assert_eq!(w.ticket(w.active[0]).await.0, Some(w.bo.login.clone()));
}

/// A resolved ticket stays with its disabled agent (it is not released), but the customer's
/// reply that reopens it returns it to the pool, where another agent can see and claim it,
/// instead of reopening it to nobody who can work it.
#[tokio::test]
async fn a_customers_reply_reopens_a_disabled_agents_ticket_into_the_pool() {
    let w = World::new().await;
    let ada: Client = w.db.login(&w.admin).await;
    ada.query_one("SELECT disable_person($1)", &[&w.al.login])
        .await
        .unwrap();
    let resolved = w.done[0];
    assert_eq!(
        w.ticket(resolved).await,
        (Some(w.al.login.clone()), "resolved".to_owned()),
        "resolved tickets are not released"
    );
    w.db.login(&w.cy)
        .await
        .execute(
            "INSERT INTO ticket_messages (ticket_id, body) VALUES ($1, 'It broke again')",
            &[&resolved],
        )
        .await
        .unwrap();
    assert_eq!(w.ticket(resolved).await, (None, "open".to_owned()));
    // Another agent sees it in the pool and claims it.
    let bo = w.db.login(&w.bo).await;
    let seen: i64 = bo
        .query_one(
            "SELECT count(*) FROM tickets WHERE id = $1 AND agent_id IS NULL AND status = 'open'",
            &[&resolved],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(seen, 1, "bo sees it in the pool");
    bo.execute("SELECT claim_ticket($1)", &[&resolved])
        .await
        .unwrap();
    assert_eq!(w.ticket(resolved).await.0, Some(w.bo.login.clone()));
    // With an active agent the reply reopens it to them, as before.
    let (c, b) = (w.db.login(&w.cy).await, &bo);
    b.execute(
        "UPDATE tickets SET status = 'resolved' WHERE id = $1",
        &[&resolved],
    )
    .await
    .unwrap();
    c.execute(
        "INSERT INTO ticket_messages (ticket_id, body) VALUES ($1, 'And again')",
        &[&resolved],
    )
    .await
    .unwrap();
    assert_eq!(
        w.ticket(resolved).await,
        (Some(w.bo.login.clone()), "in_progress".to_owned())
    );
}

//! An audit that names people (issue 11 item 4): display names repeat across people (the
//! demo's admin and an agent were both "Hana Quist"), so wherever staff read who changed a
//! ticket (the audit, a ticket's conversation and the history events in it) a person is "Name (login)", and the
//! audit's person filter picks exactly one person or says whom it could mean. A customer is
//! never shown logins. Real logins against a real database.

mod common;

use common::{TestDb, TestPerson};
use tickets::db::{DbError, repo, thread};
use tickets::model::*;
use tokio_postgres::Client;
use uuid::Uuid;

/// A person with the display name `name`, through the real create_person.
async fn named(db: &TestDb, role: &'static str, base: &str, name: &str) -> TestPerson {
    let login = db.unique_login(base);
    let password = format!("pw-{login}");
    let id = tickets::people::add(
        &db.admin().await,
        &login,
        role,
        name,
        &format!("{login}@example.test"),
        &password,
    )
    .await
    .unwrap();
    TestPerson {
        id,
        login,
        password,
        role,
    }
}

struct Scene {
    /// Two people called "Hana Quist": an admin and an agent.
    hana_admin: TestPerson,
    hana_agent: TestPerson,
    admin: Client,
    agent: Client,
    customer: Client,
    /// Filed by the customer, claimed and started by the agent, made urgent by the admin.
    ticket: Uuid,
    _db: TestDb,
}

async fn scene() -> Scene {
    let db = TestDb::new().await;
    let hana_admin = named(&db, "admin", "hq_admin", "Hana Quist").await;
    let hana_agent = named(&db, "agent", "hq_agent", "Hana Quist").await;
    let cy = db.person("customer", "cy").await;
    let (admin, agent, customer) = (
        db.login(&hana_admin).await,
        db.login(&hana_agent).await,
        db.login(&cy).await,
    );
    let ticket: Uuid = customer
        .query_one(
            "INSERT INTO tickets (subject) VALUES ('Printer on fire') RETURNING id",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    agent
        .batch_execute(&format!(
            "SELECT claim_ticket('{ticket}');
             UPDATE tickets SET status = 'in_progress' WHERE id = '{ticket}'"
        ))
        .await
        .unwrap();
    admin
        .execute(
            "UPDATE tickets SET priority = 'urgent' WHERE id = $1",
            &[&ticket],
        )
        .await
        .unwrap();
    Scene {
        hana_admin,
        hana_agent,
        admin,
        agent,
        customer,
        ticket,
        _db: db,
    }
}

fn label(p: &TestPerson) -> String {
    format!("Hana Quist ({})", p.login)
}

async fn audit_by(s: &Scene, who: &str) -> Result<Vec<HistoryEntry>, DbError> {
    let filter = AuditFilter {
        person: who.into(),
        ..AuditFilter::default()
    };
    repo::audit(&s.admin, &filter, None, 100).await
}

#[tokio::test]
async fn staff_read_who_changed_a_ticket_as_name_plus_login() {
    let s = scene().await;
    let feed = audit_by(&s, "").await.unwrap();
    let who: Vec<(String, Option<String>, String)> = feed
        .iter()
        .rev()
        .map(|h| {
            (
                h.changed_by_name.clone(),
                h.changed_by_login.clone(),
                h.describe(),
            )
        })
        .collect();
    let (admin, agent) = (&s.hana_admin, &s.hana_agent);
    assert_eq!(
        who[1..],
        [
            (
                label(agent),
                Some(agent.login.clone()),
                format!("assigned to {}", label(agent))
            ),
            (
                label(agent),
                Some(agent.login.clone()),
                "open → in progress".into()
            ),
            (
                label(admin),
                Some(admin.login.clone()),
                "priority normal → urgent".into()
            ),
        ]
    );
    // The agent's view of the ticket, its conversation (with the history's events), says the
    // same.
    let me = repo::whoami(&s.agent).await.unwrap();
    let conversation = thread::page(&s.agent, &me, s.ticket, None, 100)
        .await
        .unwrap();
    let names: Vec<String> = conversation
        .iter()
        .skip(1)
        .filter_map(|e| e.person_name.clone())
        .collect();
    assert_eq!(names, [label(agent), label(agent), label(admin)]);
}

/// A customer reads the names of the people on their ticket, never their logins.
#[tokio::test]
async fn a_customer_is_never_shown_logins() {
    let s = scene().await;
    let me = repo::whoami(&s.customer).await.unwrap();
    let conversation = thread::page(&s.customer, &me, s.ticket, None, 100)
        .await
        .unwrap();
    let shown: Vec<String> = conversation
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e.person_name.clone().unwrap_or_default(),
                e.describe().unwrap_or_default()
            )
        })
        .collect();
    for text in &shown {
        for login in [&s.hana_admin.login, &s.hana_agent.login] {
            assert!(!text.contains(login.as_str()), "{text:?} shows {login}");
        }
    }
    assert!(
        shown.iter().any(|t| t.starts_with("Hana Quist ")),
        "{shown:?}"
    );
}

/// The filter picks exactly one person: by login, or a name or part only one person has; a
/// name that two people share is refused with both logins, never merged.
#[tokio::test]
async fn the_audit_filter_picks_exactly_one_person_or_says_whom_it_could_mean() {
    let s = scene().await;
    let (admin, agent) = (&s.hana_admin, &s.hana_agent);
    for who in [agent.login.clone(), agent.login.to_uppercase()] {
        let feed = audit_by(&s, &who).await.unwrap();
        assert_eq!(feed.len(), 2, "the agent's claim and status change");
        assert!(feed.iter().all(|h| h.changed_by == agent.id), "{feed:?}");
    }
    let feed = audit_by(&s, &admin.login).await.unwrap();
    assert_eq!(feed.len(), 1);
    assert_eq!(feed[0].changed_by, admin.id);

    for who in ["Hana Quist", "hana quist", "hana", "hq_"] {
        match audit_by(&s, who).await {
            Err(DbError::Refused { message, .. }) => {
                assert!(
                    message.contains("fits 2 people")
                        && message.contains(&label(admin))
                        && message.contains(&label(agent)),
                    "{who:?}: {message}"
                );
            }
            other => panic!("{who:?} was not refused: {other:?}"),
        }
    }
    // A part of a name that one person has picks them ("cy" is the customer, who changed
    // nothing but filing).
    let feed = audit_by(&s, "cy custom").await.unwrap();
    assert_eq!(feed.len(), 1);
    assert_eq!(feed[0].describe(), "created (open)");
    match audit_by(&s, "nobody at all").await {
        Err(DbError::Refused { message, .. }) => {
            assert_eq!(message, "no one has the login or name \"nobody at all\"")
        }
        other => panic!("not refused: {other:?}"),
    }
}

//! `tickets seed` makes data the rules would have made: checked against a real database.

mod common;

use common::TestDb;
use tickets::seed::{SeedPlan, seed};

fn plan(prefix: &str) -> SeedPlan {
    SeedPlan {
        tickets: 3000,
        customers: 200,
        agents: 6,
        admins: 2,
        customer_logins: 3,
        prefix: prefix.into(),
        password: "demo-pw".into(),
    }
}

#[tokio::test]
async fn seeded_data_obeys_every_rule_and_the_logins_work() {
    let db = TestDb::new().await;
    let prefix = db.unique_login("s");
    let plan = plan(&prefix);
    for n in 1..=2 {
        db.unique_login(&format!("{prefix}_admin{n}"));
    }
    let mut admin = db.admin().await;
    let report = seed(&mut admin, &plan).await.expect("seed");
    // The logins made by the seed are dropped with the test database.
    for (login, _) in &report.logins {
        db.unique_login(login);
    }
    assert_eq!(report.tickets, 3000);
    assert!(
        report.history > 3 * 3000,
        "about 4-5 history rows per ticket: {}",
        report.history
    );
    assert_eq!(report.logins.len(), 2 + 6 + 3);

    let check = |sql: &'static str| {
        let admin = &admin;
        async move { admin.query_one(sql, &[]).await.unwrap().get::<_, i64>(0) }
    };
    // No two people share a display name (the demo's admin and an agent were both "Hana Quist").
    assert_eq!(
        check(
            "SELECT count(*) FROM (SELECT display_name FROM users GROUP BY 1 HAVING count(*) > 1) d"
        )
        .await,
        0
    );
    // Timelines are 1..n without gaps, start with 'created', and end at updated_at.
    assert_eq!(check("SELECT count(*) FROM (SELECT ticket_id FROM ticket_status_history GROUP BY ticket_id HAVING count(*) <> max(seq) OR min(seq) <> 1) x").await, 0);
    assert_eq!(
        check("SELECT count(*) FROM ticket_status_history WHERE seq = 1 AND kind <> 'created'")
            .await,
        0
    );
    // updated_at is the last change or public message (a public message is activity).
    assert_eq!(check("SELECT count(*) FROM tickets t WHERE updated_at <> greatest((SELECT max(changed_at) FROM ticket_status_history h WHERE h.ticket_id = t.id), (SELECT max(created_at) FROM ticket_messages m WHERE m.ticket_id = t.id AND NOT m.internal))").await, 0);
    // Numbers: 1..n in filing order, and the next filing continues after them.
    assert_eq!(check("SELECT count(*) FROM (SELECT number, row_number() OVER (ORDER BY created_at, id) AS n FROM tickets) x WHERE number <> n").await, 0);
    // Messages: about three per ticket, skewed, one busy thread, notes among them.
    let messages = check("SELECT count(*) FROM ticket_messages").await;
    assert!(
        (2 * 3000..4 * 3000).contains(&messages),
        "{messages} messages"
    );
    assert_eq!(report.messages, messages);
    assert!(
        check("SELECT max(c) FROM (SELECT count(*) c FROM ticket_messages GROUP BY ticket_id) x")
            .await
            >= 600
    );
    assert!(check("SELECT count(*) FROM (SELECT ticket_id FROM ticket_messages GROUP BY ticket_id HAVING count(*) >= 10) x").await > 10);
    assert!(check("SELECT count(*) FROM ticket_messages WHERE internal").await > messages / 10);
    // Every message obeys the posting rules at its time: the customer on their own ticket, not
    // internal, never after it closed; staff who could see the ticket then (its agent, or any
    // agent while it sat open in the pool); nothing before the ticket existed.
    assert_eq!(check("SELECT count(*) FROM ticket_messages m JOIN tickets t ON t.id = m.ticket_id JOIN users u ON u.id = m.author_id
        WHERE m.customer_id <> t.customer_id OR m.created_at < t.created_at OR m.created_at > now()
           OR (u.role = 'customer' AND (m.author_id <> t.customer_id OR m.internal
               OR EXISTS (SELECT 1 FROM ticket_status_history h WHERE h.ticket_id = t.id AND h.new_status = 'closed' AND h.changed_at < m.created_at)))
           OR (u.role = 'agent' AND m.author_id IS DISTINCT FROM (SELECT coalesce(
                   (SELECT h.new_agent_id FROM ticket_status_history h WHERE h.ticket_id = t.id AND h.kind = 'assignment' AND h.changed_at < m.created_at ORDER BY h.seq DESC LIMIT 1),
                   CASE WHEN (SELECT h.new_status FROM ticket_status_history h WHERE h.ticket_id = t.id AND h.new_status IS NOT NULL AND h.changed_at < m.created_at ORDER BY h.seq DESC LIMIT 1) = 'open' THEN m.author_id END)))
           OR body !~ '[^[:space:]]' OR octet_length(body) > 65536").await, 0);
    // Each message's copy of its ticket's access (0026) is the ticket's, as the triggers keep it.
    assert_eq!(
        check(
            "SELECT count(*) FROM ticket_messages m JOIN tickets t ON t.id = m.ticket_id
        WHERE m.ticket_agent_id IS DISTINCT FROM t.agent_id
           OR m.ticket_pool <> (t.agent_id IS NULL AND t.status = 'open')"
        )
        .await,
        0
    );
    // Replaying each ticket's status rows gives its current status, through legal moves only.
    assert_eq!(check("SELECT count(*) FROM tickets t WHERE status <> (SELECT new_status FROM ticket_status_history h WHERE h.ticket_id = t.id AND new_status IS NOT NULL ORDER BY seq DESC LIMIT 1)").await, 0);
    assert_eq!(check("SELECT count(*) FROM ticket_status_history h JOIN users u ON u.id = h.changed_by WHERE h.kind = 'status' AND NOT EXISTS (SELECT 1 FROM ticket_status_moves m WHERE m.role = u.role AND m.from_status = h.old_status AND m.to_status = h.new_status)").await, 0);
    // The same for assignments: the last one names the current agent.
    assert_eq!(check("SELECT count(*) FROM tickets t WHERE agent_id IS DISTINCT FROM coalesce((SELECT new_agent_id FROM ticket_status_history h WHERE h.ticket_id = t.id AND kind = 'assignment' ORDER BY seq DESC LIMIT 1), NULL) AND EXISTS (SELECT 1 FROM ticket_status_history h WHERE h.ticket_id = t.id AND kind = 'assignment')").await, 0);
    // Every status and priority occurs; the first customer is the busiest.
    assert_eq!(check("SELECT count(DISTINCT status) FROM tickets").await, 5);
    assert_eq!(
        check("SELECT count(DISTINCT priority) FROM tickets").await,
        4
    );
    assert!(
        check("SELECT count(*) FROM tickets WHERE agent_id IS NULL AND status = 'open'").await > 0
    );
    let busiest: String = admin
        .query_one("SELECT u.login FROM tickets t JOIN users u ON u.id = t.customer_id GROUP BY u.login ORDER BY count(*) DESC LIMIT 1", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(busiest, plan.customer_login(1));

    // The real logins log in and see their own share through RLS; the rules keep working.
    let person = |login: String, role: &'static str| common::TestPerson {
        id: uuid::Uuid::nil(),
        login,
        password: "demo-pw".into(),
        role,
    };
    let customer = db.login(&person(plan.customer_login(1), "customer")).await;
    let own: i64 = customer
        .query_one("SELECT count(*) FROM tickets", &[])
        .await
        .unwrap()
        .get(0);
    let total: i64 = admin.query_one("SELECT count(*) FROM tickets t JOIN users u ON u.id = t.customer_id WHERE u.login = $1", &[&plan.customer_login(1)]).await.unwrap().get(0);
    assert_eq!(own, total);
    let agent = db.login(&person(plan.agent_login(1), "agent")).await;
    let moved = agent
        .execute("UPDATE tickets SET status = 'waiting_on_customer' WHERE id = (SELECT id FROM tickets WHERE status = 'in_progress' AND agent_id = app.uid() LIMIT 1)", &[])
        .await
        .unwrap();
    assert_eq!(moved, 1);
    assert_eq!(check("SELECT count(*) FROM (SELECT ticket_id FROM ticket_status_history GROUP BY ticket_id HAVING count(*) <> max(seq)) x").await, 0, "the trigger continues the seq");
    admin.batch_execute("SELECT 1").await.unwrap();
}

//! Over SSH on a thin link (issue 15), with the real state machine, the real worker and a real
//! seeded database: one frame per key on the paths people scroll, bytes per key within the
//! budget at 80x24 and 200x60, and a live refresh that keeps the reader's place.

mod common;

use common::TestDb;
use common::client::Client;
use ratatui::crossterm::event::KeyCode;
use ratatui::layout::Size;
use std::time::Duration;
use tickets::bench::wire::{Output, WireSession};
use tickets::headless::Headless;
use tickets::model::Priority;
use tickets::seed::{SeedPlan, seed};
use tickets::wire::pace::Pacer;

async fn seeded(db: &TestDb) -> SeedPlan {
    let prefix = db.unique_login("tl");
    let plan = SeedPlan {
        tickets: 400,
        customers: 30,
        agents: 3,
        admins: 1,
        customer_logins: 1,
        prefix,
        password: "thin-pw".into(),
    };
    let mut admin = db.admin().await;
    let report = seed(&mut admin, &plan).await.expect("seed");
    for (login, _) in &report.logins {
        db.unique_login(login); // dropped with the test database
    }
    plan
}

fn server_of(db: &TestDb) -> tokio_postgres::Config {
    let mut c = common::config_for("", None, &db.name);
    c.user("");
    c
}

async fn session(db: &TestDb, plan: &SeedPlan, size: Size, pacer: Pacer) -> WireSession {
    let mut client = Headless::start(server_of(db), None);
    client
        .log_in(&plan.admin_login(1), &plan.password)
        .await
        .expect("admin logs in");
    let mut s = WireSession::new(client, Output::wire(size).unwrap(), pacer);
    s.settle().await.unwrap();
    s
}

/// Frames of each of `n` presses of `code`.
async fn frames(s: &mut WireSession, code: KeyCode, n: usize) -> Vec<u64> {
    let mut v = Vec::new();
    for _ in 0..n {
        v.push(s.press(code).await.unwrap().frames);
    }
    v
}

#[tokio::test]
async fn one_frame_per_key_while_the_replies_arrive_in_time() {
    let db = TestDb::new().await;
    let plan = seeded(&db).await;
    let size = Size {
        width: 200,
        height: 60,
    };
    // Held long enough for a loaded test machine: what is checked is that the frame waits for
    // the replies and goes out once, not how fast the database is.
    let mut s = session(&db, &plan, size, Pacer::with_hold(Duration::from_secs(5))).await;
    let j = KeyCode::Char('j');
    assert_eq!(frames(&mut s, j, 40).await, vec![1; 40], "the list");
    s.press(KeyCode::Tab).await.unwrap();
    s.press(KeyCode::Tab).await.unwrap();
    assert!(
        frames(&mut s, KeyCode::Char('k'), 2)
            .await
            .iter()
            .all(|&f| f <= 1),
        "history"
    );
    s.press(KeyCode::Tab).await.unwrap();
    s.press(KeyCode::Char('A')).await.unwrap();
    assert_eq!(frames(&mut s, j, 40).await, vec![1; 40], "the audit view");

    // The control: drawing as soon as the state changes (the client before issue 15) sends a
    // "loading…" frame and then the settled one, so this test tells the two apart.
    let mut eager = session(&db, &plan, size, Pacer::with_hold(Duration::ZERO)).await;
    let twice = frames(&mut eager, j, 10).await;
    assert!(
        twice.contains(&2),
        "drawing at once costs two frames: {twice:?}"
    );
}

#[tokio::test]
async fn a_key_costs_bytes_within_the_budget_on_real_data() {
    let db = TestDb::new().await;
    let plan = seeded(&db).await;
    for (w, h, budget) in [(80u16, 24u16, 2000u64), (200, 60, 4000)] {
        let size = Size {
            width: w,
            height: h,
        };
        let mut s = session(&db, &plan, size, Pacer::with_hold(Duration::from_secs(5))).await;
        let j = KeyCode::Char('j');
        let per_key = |name: &str, costs: Vec<u64>| {
            let mean = costs.iter().sum::<u64>() / costs.len() as u64;
            println!(
                "{w}x{h} {name}: {mean} B per j, max {}",
                costs.iter().max().unwrap()
            );
            assert!(
                mean <= budget,
                "{w}x{h} {name}: {mean} B per j (budget {budget})"
            );
        };
        for _ in 0..h {
            s.press(j).await.unwrap();
        }
        let mut list = Vec::new();
        for _ in 0..30 {
            list.push(s.press(j).await.unwrap().bytes);
        }
        per_key("list", list);
        s.press(KeyCode::Char('A')).await.unwrap();
        for _ in 0..h {
            s.press(j).await.unwrap();
        }
        let mut audit = Vec::new();
        for _ in 0..30 {
            audit.push(s.press(j).await.unwrap().bytes);
        }
        per_key("audit", audit);
    }
}

#[tokio::test]
async fn a_live_refresh_keeps_the_readers_place() {
    let db = TestDb::new().await;
    let cast = db.cast().await;
    // A ticket with a long description and a few changes, open in the admin's client.
    let alice = db.login(&cast.alice).await;
    let long: String = (1..=80)
        .map(|i| format!("Line {i} of the description.\n"))
        .collect();
    let id: uuid::Uuid = alice
        .query_one(
            "INSERT INTO tickets (subject, description) VALUES ('Long read', $1) RETURNING id",
            &[&long],
        )
        .await
        .unwrap()
        .get(0);
    let admin_sql = db.login(&cast.ada).await;
    for p in ["high", "low", "urgent", "normal"] {
        admin_sql
            .execute(
                "UPDATE tickets SET priority = $1::text::ticket_priority WHERE id = $2",
                &[&p, &id],
            )
            .await
            .unwrap();
    }
    let mut c = Client::start(&db, &cast.ada);
    c.login(&cast.ada).await;
    c.settle().await;
    assert_eq!(c.main().detail.as_ref().unwrap().row.id, id);
    // The reader scrolls into the conversation.
    c.key(KeyCode::Tab);
    c.settle().await;
    for _ in 0..7 {
        c.key(KeyCode::Char('j'));
    }
    let detail_at = c.main().detail_scroll;
    assert_eq!(detail_at, 7);

    // Someone changes the ticket: the client refreshes it live.
    admin_sql
        .execute(
            "UPDATE tickets SET priority = 'urgent' WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap();
    c.wait_until(10, "the live refresh", |app| {
        let m = app.main().unwrap();
        m.detail
            .as_ref()
            .is_some_and(|d| d.row.priority == Priority::Urgent)
            && m.thread_req.is_none()
            && m.thread.len() == 6
    })
    .await;
    let m = c.main();
    assert_eq!(m.detail.as_ref().unwrap().row.id, id, "the same ticket");
    assert_eq!(m.list.selected_row().unwrap().id, id, "the same selection");
    assert_eq!(m.detail_scroll, detail_at, "the conversation's place");
}

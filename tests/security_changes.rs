//! The adversarial suite, part 3: the live path (migration 0020). Writers queue their
//! changes, one trusted notifier numbers them into `ticket_changes` and announces the head on
//! `tickets_changed` and on the private channels of the change's audiences (0022), and each
//! client reads what changed through RLS. Attacks: reading other
//! people's changes (customers, agents, strangers, internal notes), the columns that say whose
//! they are, writing or truncating the log, announcing or forging announcements, and a writer
//! that still notifies in its own transaction. Each runs over real password logins.
//!
//! As in parts 1 and 2, an attack returns `Ok(())` when the database refused exactly as it
//! should (SQLSTATE and the words of the rule, or the exact rows) or `Err(what got through)`;
//! `weakened_rules_are_detected` breaks each rule once and expects its attack to notice.

mod common;

use common::{TestDb, TestPerson};
use futures_util::StreamExt;
use std::time::Duration;
use tickets::db::listen::{self, ListenEvent};
use tokio_postgres::{AsyncMessage, Client, Error, NoTls};
use uuid::Uuid;

type Check = Result<(), String>;

macro_rules! attacks {
    ($($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                let w = World::new().await;
                if let Err(breach) = attack::$name(&w).await {
                    panic!("BREACH in {}: {breach}", stringify!($name));
                }
            }
        )*
        const ATTACKS: &[&str] = &[$(stringify!($name)),*];
        async fn run(w: &World, name: &str) -> Check {
            match name {
                $(stringify!($name) => attack::$name(w).await,)*
                _ => panic!("no attack {name}"),
            }
        }
    };
}

attacks!(
    customer_reads_other_customers_changes,
    customer_reads_internal_note_changes,
    agent_reads_other_agents_changes,
    stranger_reads_pool_changes,
    stranger_reads_the_pool,
    client_reads_whose_change_it_is,
    client_writes_or_empties_the_change_log,
    client_announces_changes,
    writers_do_not_notify,
    foreign_change_reaches_no_client,
    forged_announcement_skips_nothing,
    foreign_change_wakes_no_channel,
    internal_note_wakes_no_customer,
    channel_names_are_secret,
);

/// For each attack, the SQL that breaks the rule it tests.
const WEAKENINGS: &str = r#"
customer_reads_other_customers_changes | ALTER POLICY changes_customer_read ON ticket_changes USING (NOT internal)
customer_reads_internal_note_changes | ALTER POLICY changes_customer_read ON ticket_changes USING (customer_id = (SELECT app.uid()))
agent_reads_other_agents_changes | ALTER POLICY changes_agent_read ON ticket_changes USING (true)
stranger_reads_pool_changes | ALTER POLICY changes_agent_read ON ticket_changes USING (agent_id = (SELECT app.uid()) OR old_agent_id = (SELECT app.uid()) OR pool)
stranger_reads_the_pool | ALTER POLICY tickets_agent_read ON tickets USING (agent_id IN (SELECT app.uid()) OR (agent_id IS NULL AND status = 'open'))
client_reads_whose_change_it_is | GRANT SELECT ON ticket_changes TO tickets_customer
client_writes_or_empties_the_change_log | GRANT INSERT, DELETE ON ticket_changes TO tickets_customer; CREATE POLICY weak ON ticket_changes FOR ALL TO tickets_customer USING (true) WITH CHECK (true)
client_announces_changes | GRANT EXECUTE ON FUNCTION announce_ticket_changes() TO tickets_customer
writers_do_not_notify | CREATE FUNCTION app.noisy() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_notify('tickets_changed', NEW.id::text); RETURN NULL; END $$; CREATE TRIGGER noisy AFTER UPDATE ON tickets FOR EACH ROW EXECUTE FUNCTION app.noisy()
foreign_change_reaches_no_client | ALTER POLICY changes_customer_read ON ticket_changes USING (NOT internal); CREATE OR REPLACE FUNCTION app.change_channel(audience text) RETURNS text LANGUAGE sql STABLE AS $$ SELECT 'tickets_everyone'::text $$
forged_announcement_skips_nothing | CREATE OR REPLACE FUNCTION public.ticket_changes_head() RETURNS bigint LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$ SELECT 1000000::bigint $$
foreign_change_wakes_no_channel | CREATE OR REPLACE FUNCTION app.change_channel(audience text) RETURNS text LANGUAGE sql STABLE AS $$ SELECT 'tickets_everyone'::text $$
internal_note_wakes_no_customer | CREATE FUNCTION app.public_notes() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.internal := false; RETURN NEW; END $$; CREATE TRIGGER public_notes BEFORE INSERT ON app.ticket_change_queue FOR EACH ROW EXECUTE FUNCTION app.public_notes()
channel_names_are_secret | GRANT EXECUTE ON FUNCTION app.change_channel(text) TO tickets_customer
"#;

fn weakenings() -> Vec<(&'static str, &'static str)> {
    WEAKENINGS
        .lines()
        .filter_map(|l| l.split_once(" | "))
        .collect()
}

#[test]
fn every_weakening_names_an_attack() {
    let named: Vec<&str> = weakenings().into_iter().map(|(n, _)| n).collect();
    assert_eq!(named, ATTACKS, "one weakening per attack, in order");
}

/// The suite can fail: with each rule broken, the attack on it reports the breach.
#[tokio::test]
async fn weakened_rules_are_detected() {
    let results: Vec<(&str, Check, World)> = futures_util::stream::iter(weakenings())
        .map(|(name, sql)| async move {
            let w = World::new().await;
            w.su.batch_execute(sql).await.unwrap();
            let outcome = run(&w, name).await;
            (name, outcome, w)
        })
        .buffer_unordered(3)
        .collect()
        .await;
    let mut unnoticed = Vec::new();
    for (name, outcome, _) in &results {
        match outcome {
            Err(breach) => eprintln!("weakened {name}: {}", breach.lines().next().unwrap()),
            Ok(()) => unnoticed.push(*name),
        }
    }
    assert!(
        unnoticed.is_empty(),
        "weakened rules went unnoticed: {unnoticed:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// The attacks.
#[path = "security_changes/attack.rs"]
mod attack;

// ---------------------------------------------------------------------------------------------
// The world: c1 and c2 (customers), a1 and a2 (agents), an admin. c1's ticket is in the pool;
// c2's was claimed by a2. No notifier runs: attacks announce by hand, as the superuser.

struct World {
    db: TestDb,
    su: Client,
    c1: TestPerson,
    c2: TestPerson,
    a1: TestPerson,
    a2: TestPerson,
    admin: TestPerson,
    c1_ticket: Uuid,
    c2_ticket: Uuid,
}

impl World {
    async fn new() -> World {
        let db = TestDb::new().await;
        let (c1, c2, a1, a2, admin) = tokio::join!(
            db.person("customer", "c1"),
            db.person("customer", "c2"),
            db.person("agent", "a1"),
            db.person("agent", "a2"),
            db.person("admin", "boss"),
        );
        let (l1, l2, la2) = tokio::join!(db.login(&c1), db.login(&c2), db.login(&a2));
        let c1_ticket = file(&l1, "c1's").await;
        let c2_ticket = file(&l2, "c2's").await;
        la2.execute("SELECT claim_ticket($1)", &[&c2_ticket])
            .await
            .unwrap();
        let su = db.admin().await;
        World {
            db,
            su,
            c1,
            c2,
            a1,
            a2,
            admin,
            c1_ticket,
            c2_ticket,
        }
    }

    /// What the notifier does, once: returns the head.
    async fn announce(&self) -> i64 {
        self.su
            .query_one("SELECT announce_ticket_changes()", &[])
            .await
            .unwrap();
        self.su
            .query_one("SELECT ticket_changes_head()", &[])
            .await
            .unwrap()
            .get(0)
    }

    /// The whole log, as the superuser.
    async fn log(&self) -> String {
        self.su
            .query_one(
                "SELECT coalesce(string_agg(c::text, E'\\n' ORDER BY seq), '') FROM ticket_changes c",
                &[],
            )
            .await
            .unwrap()
            .get(0)
    }
}

async fn file(c: &Client, subject: &str) -> Uuid {
    c.query_one(
        "INSERT INTO tickets (subject) VALUES ($1) RETURNING id",
        &[&subject],
    )
    .await
    .unwrap()
    .get(0)
}

async fn head(c: &Client) -> i64 {
    c.query_one("SELECT ticket_changes_head()", &[])
        .await
        .unwrap()
        .get(0)
}

/// The ticket ids `sql` returns, in order, must be exactly `want`.
async fn expect_ids(c: &Client, sql: &str, want: &[Uuid]) -> Check {
    let ordered = format!("SELECT ticket_id FROM ({sql}) q");
    match c.query(&ordered, &[]).await {
        Ok(rows) => {
            let got: Vec<Uuid> = rows.iter().map(|r| r.get(0)).collect();
            let mut got_sorted = got.clone();
            let mut want_sorted = want.to_vec();
            got_sorted.sort();
            want_sorted.sort();
            if got_sorted == want_sorted {
                Ok(())
            } else {
                Err(format!("`{sql}` gave {got:?}, expected {want:?}"))
            }
        }
        Err(e) => Err(format!("`{sql}`: {}", describe(&e))),
    }
}

/// The statement must fail with `code`, and the message must name the rule (`says`).
async fn refused(c: &Client, sql: &str, code: &str, says: &str) -> Check {
    match c.execute(sql, &[]).await {
        Ok(n) => Err(format!(
            "`{sql}`: succeeded ({n} rows), expected {code} \"{says}\""
        )),
        Err(e) => match e.as_db_error() {
            Some(db) if db.code().code() == code && db.message().contains(says) => Ok(()),
            _ => Err(format!(
                "`{sql}`: expected {code} \"{says}\", got {}",
                describe(&e)
            )),
        },
    }
}

fn describe(e: &Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} \"{}\"", db.code().code(), db.message()),
        None => e.to_string(),
    }
}

/// The client's own listener (tickets::db::listen) for a person, once it is online.
async fn listener(
    w: &World,
    p: &TestPerson,
) -> (
    tokio::sync::mpsc::UnboundedReceiver<ListenEvent>,
    tokio_util::sync::CancellationToken,
) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let stop = tokio_util::sync::CancellationToken::new();
    tokio::spawn(listen::run(
        listen::Link::standalone(w.db.login_config(p).into()),
        tx,
        stop.clone(),
    ));
    match tokio::time::timeout(Duration::from_secs(5), rx.recv()).await {
        Ok(Some(ListenEvent::Online)) => {}
        other => panic!("the listener did not come online: {other:?}"),
    }
    (rx, stop)
}

/// The next `Changed` event within `wait`, if any.
async fn changed(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<ListenEvent>,
    wait: Duration,
) -> Option<Vec<Uuid>> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(ListenEvent::Changed { ids, .. })) => return Some(ids),
            Ok(Some(_)) => continue,
            Ok(None) | Err(_) => return None,
        }
    }
}

/// A login whose connection is driven here, so its notifications are seen.
async fn watched_login(
    config: tokio_postgres::Config,
) -> Result<(Client, tokio::sync::mpsc::UnboundedReceiver<AsyncMessage>), Error> {
    let (client, mut connection) = config.connect(NoTls).await?;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(Ok(message)) =
            futures_util::future::poll_fn(|cx| connection.poll_message(cx)).await
        {
            let _ = tx.send(message);
        }
    });
    Ok((client, rx))
}

/// The person's private channels (as that person).
async fn own_channels(c: &Client) -> Vec<String> {
    c.query_one("SELECT my_change_channels()", &[])
        .await
        .unwrap()
        .get(0)
}

/// LISTENs on the person's own channels, as the client does.
async fn listen_on_own(c: &Client) {
    for channel in own_channels(c).await {
        c.batch_execute(&format!("LISTEN {channel}")).await.unwrap();
    }
}

async fn next_notification(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<AsyncMessage>,
    wait: Duration,
) -> Option<tokio_postgres::Notification> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(AsyncMessage::Notification(n))) => return Some(n),
            Ok(Some(_)) => continue,
            Ok(None) | Err(_) => return None,
        }
    }
}

//! The adversarial suite, part 3: the live path (migration 0020). Writers queue their
//! changes, one trusted notifier numbers them into `ticket_changes` and announces the head on
//! `tickets_changed`, and each client reads what changed through RLS. Attacks: reading other
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
foreign_change_reaches_no_client | ALTER POLICY changes_customer_read ON ticket_changes USING (NOT internal)
forged_announcement_skips_nothing | CREATE OR REPLACE FUNCTION public.ticket_changes_head() RETURNS bigint LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$ SELECT 1000000::bigint $$
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
mod attack {
    use super::*;

    /// c2's ticket changes (filed, then worked by a2): c1 reads none of it, c2 all of it.
    pub async fn customer_reads_other_customers_changes(w: &World) -> Check {
        w.announce().await;
        let c1 = w.db.login(&w.c1).await;
        expect_ids(&c1, "SELECT ticket_id FROM ticket_changes", &[w.c1_ticket]).await?;
        expect_ids(
            &c1,
            &format!(
                "SELECT ticket_id FROM ticket_changes WHERE ticket_id = '{}'",
                w.c2_ticket
            ),
            &[],
        )
        .await?;
        // Filed, then claimed.
        let c2 = w.db.login(&w.c2).await;
        expect_ids(
            &c2,
            "SELECT ticket_id FROM ticket_changes",
            &[w.c2_ticket, w.c2_ticket],
        )
        .await
    }

    /// An internal note on c1's own ticket is staff's business: its change row is not c1's to see.
    pub async fn customer_reads_internal_note_changes(w: &World) -> Check {
        // What a note's trigger queues (ticket_messages arrives with the conversation work): the
        // ticket's visibility, marked internal.
        w.su.execute(
            "INSERT INTO app.ticket_change_queue (ticket_id, kind, customer_id, agent_id, old_agent_id, pool, internal)
             SELECT id, 'message', customer_id, agent_id, agent_id, false, true FROM tickets WHERE id = $1",
            &[&w.c1_ticket],
        )
        .await
        .unwrap();
        let head = w.announce().await;
        let c1 = w.db.login(&w.c1).await;
        let sql = format!("SELECT ticket_id FROM ticket_changes WHERE seq = {head}");
        expect_ids(&c1, &sql, &[]).await?;
        // Staff who may read the ticket do see it.
        let admin = w.db.login(&w.admin).await;
        expect_ids(&admin, &sql, &[w.c1_ticket]).await
    }

    /// a2's ticket (c2's) is not a1's: a1 sees the pool's changes, then nothing once a2 has it.
    /// A hand-off from a1 to a2 shows to a1 (they had it) and to a2, later changes to a2 only.
    pub async fn agent_reads_other_agents_changes(w: &World) -> Check {
        w.announce().await;
        let a1 = w.db.login(&w.a1).await;
        let before = head(&a1).await;
        let a2 = w.db.login(&w.a2).await;
        // a2 works their ticket: nothing of it for a1.
        a2.execute(
            "UPDATE tickets SET priority = 'urgent' WHERE id = $1",
            &[&w.c2_ticket],
        )
        .await
        .unwrap();
        w.announce().await;
        let since = format!("SELECT ticket_id FROM ticket_changes WHERE seq > {before}");
        expect_ids(&a1, &since, &[]).await?;
        expect_ids(&a2, &since, &[w.c2_ticket]).await?;
        // a1 claims c1's ticket from the pool and hands it to a2: a1 saw both changes.
        a1.batch_execute(&format!(
            "SELECT claim_ticket('{t}'); SELECT hand_off_ticket('{t}', '{a2}')",
            t = w.c1_ticket,
            a2 = w.a2.id
        ))
        .await
        .unwrap();
        w.announce().await;
        let mid = head(&a1).await;
        expect_ids(&a1, &since, &[w.c1_ticket, w.c1_ticket]).await?;
        a2.execute(
            "UPDATE tickets SET status = 'in_progress' WHERE id = $1",
            &[&w.c1_ticket],
        )
        .await
        .unwrap();
        w.announce().await;
        let after = format!("SELECT ticket_id FROM ticket_changes WHERE seq > {mid}");
        expect_ids(&a1, &after, &[]).await?;
        expect_ids(&a2, &after, &[w.c1_ticket]).await
    }

    /// A person of another tickets database in this cluster: refused at connect (0021: CONNECT
    /// belongs to this database's own login group); should CONNECT be granted by mistake, the
    /// session is returned so the policies' own layer can be attacked too.
    async fn stranger_session(
        w: &World,
        stranger: &common::TestPerson,
    ) -> Result<tokio_postgres::Client, String> {
        let config = common::config_for(&stranger.login, Some(&stranger.password), &w.db.name);
        if tickets::db::connect_config(&config).await.is_ok() {
            return Err("a person of another database connected to this one".into());
        }
        w.db.admin()
            .await
            .batch_execute(&format!(
                "GRANT CONNECT ON DATABASE {} TO \"{}\"",
                w.db.name, stranger.login
            ))
            .await
            .map_err(|e| format!("grant connect: {e}"))?;
        tickets::db::connect_config(&config)
            .await
            .map_err(|e| format!("connect once granted: {e}"))
    }

    /// A login that is nobody in this database (a person of another tickets database in the
    /// cluster shares the group role) reads no pool changes, though every agent here may.
    pub async fn stranger_reads_pool_changes(w: &World) -> Check {
        w.announce().await;
        let other = TestDb::new().await;
        let stranger = other.person("agent", "stranger").await;
        let c = stranger_session(w, &stranger).await?;
        let outcome = expect_ids(&c, "SELECT ticket_id FROM ticket_changes", &[]).await;
        drop(c);
        drop(other);
        outcome?;
        // An agent here sees both tickets filed into the pool, and c2's leaving it.
        let a1 = w.db.login(&w.a1).await;
        expect_ids(
            &a1,
            "SELECT ticket_id FROM ticket_changes",
            &[w.c1_ticket, w.c2_ticket, w.c2_ticket],
        )
        .await
    }

    /// The same stranger reads no ticket of the pool either (the agent policy's pool branch
    /// checks that the login is a person here, since 0019).
    pub async fn stranger_reads_the_pool(w: &World) -> Check {
        let other = TestDb::new().await;
        let stranger = other.person("agent", "stranger").await;
        let c = stranger_session(w, &stranger).await?;
        let outcome = expect_ids(&c, "SELECT id AS ticket_id FROM tickets", &[]).await;
        drop(c);
        drop(other);
        outcome?;
        let a1 = w.db.login(&w.a1).await;
        expect_ids(&a1, "SELECT id AS ticket_id FROM tickets", &[w.c1_ticket]).await
    }

    /// The columns that say whose a change is stay the policies' business.
    pub async fn client_reads_whose_change_it_is(w: &World) -> Check {
        w.announce().await;
        let c1 = w.db.login(&w.c1).await;
        for sql in [
            "SELECT customer_id FROM ticket_changes",
            "SELECT agent_id, old_agent_id FROM ticket_changes",
            "SELECT * FROM ticket_changes",
        ] {
            refused(
                &c1,
                sql,
                "42501",
                "permission denied for table ticket_changes",
            )
            .await?;
        }
        Ok(())
    }

    /// The log is written by the notifier alone: no person inserts, rewrites, deletes or
    /// truncates it, nor touches the queue behind it.
    pub async fn client_writes_or_empties_the_change_log(w: &World) -> Check {
        w.announce().await;
        let before = w.log().await;
        let c1 = w.db.login(&w.c1).await;
        let denied = "permission denied for table ticket_changes";
        let steps = [
            (
                format!(
                    "INSERT INTO ticket_changes (seq, ticket_id, kind, customer_id, pool, internal, queued_at) VALUES (999, '{}', 'ticket', '{}', false, false, now())",
                    w.c2_ticket, w.c1.id
                ),
                denied,
            ),
            ("UPDATE ticket_changes SET ticket_id = ticket_id".to_owned(), denied),
            ("DELETE FROM ticket_changes".to_owned(), denied),
            ("TRUNCATE ticket_changes".to_owned(), denied),
            (
                "INSERT INTO app.ticket_change_queue (ticket_id, kind, customer_id, pool) SELECT ticket_id, 'ticket', ticket_id, true FROM ticket_changes".to_owned(),
                "permission denied for table ticket_change_queue",
            ),
            (
                "DELETE FROM app.ticket_change_queue".to_owned(),
                "permission denied for table ticket_change_queue",
            ),
        ];
        for (sql, says) in steps {
            refused(&c1, &sql, "42501", says).await?;
        }
        let after = w.log().await;
        if after != before {
            return Err(format!("the log changed:\n{before}\n---\n{after}"));
        }
        Ok(())
    }

    /// Announcing is for the trusted notifier: a person who could would decide when everyone
    /// hears of a change (and could hold it back inside an open transaction).
    pub async fn client_announces_changes(w: &World) -> Check {
        for p in [&w.c1, &w.a1, &w.admin] {
            let c = w.db.login(p).await;
            refused(
                &c,
                "SELECT announce_ticket_changes()",
                "42501",
                "permission denied for function announce_ticket_changes",
            )
            .await?;
        }
        Ok(())
    }

    /// A ticket write commits without NOTIFY (so writers never queue on its cluster-wide lock):
    /// with no notifier running, a listener hears nothing; the notifier's announcement is a number.
    pub async fn writers_do_not_notify(w: &World) -> Check {
        let (listener, mut messages) = watched_login(w.db.login_config(&w.c1))
            .await
            .map_err(|e| describe(&e))?;
        listener
            .batch_execute("LISTEN tickets_changed")
            .await
            .unwrap();
        let a2 = w.db.login(&w.a2).await;
        a2.execute(
            "UPDATE tickets SET priority = 'high' WHERE id = $1",
            &[&w.c2_ticket],
        )
        .await
        .unwrap();
        let admin = w.db.login(&w.admin).await;
        admin
            .execute(
                "UPDATE tickets SET priority = 'urgent' WHERE id = $1",
                &[&w.c1_ticket],
            )
            .await
            .unwrap();
        if let Some(n) = next_notification(&mut messages, Duration::from_millis(500)).await {
            return Err(format!("a writer notified: {:?}", n.payload()));
        }
        let head = w.announce().await;
        match next_notification(&mut messages, Duration::from_secs(5)).await {
            Some(n) if n.payload() == head.to_string() => Ok(()),
            Some(n) => Err(format!(
                "the announcement carried {:?}, expected the head {head}",
                n.payload()
            )),
            None => Err("the notifier's announcement never arrived".into()),
        }
    }

    /// A client's listener turns a change it may not read into nothing at all (no event, so no
    /// query of its panes), and a change it may read into that ticket's id.
    pub async fn foreign_change_reaches_no_client(w: &World) -> Check {
        w.announce().await;
        let (c1_events, c1_stop) = listener(w, &w.c1).await;
        let (c2_events, c2_stop) = listener(w, &w.c2).await;
        let mut c1_events = c1_events;
        let mut c2_events = c2_events;
        let a2 = w.db.login(&w.a2).await;
        a2.execute(
            "UPDATE tickets SET priority = 'low' WHERE id = $1",
            &[&w.c2_ticket],
        )
        .await
        .unwrap();
        w.announce().await;
        let c2_heard = changed(&mut c2_events, Duration::from_secs(5)).await;
        let c1_heard = changed(&mut c1_events, Duration::from_millis(700)).await;
        c1_stop.cancel();
        c2_stop.cancel();
        if c2_heard != Some(vec![w.c2_ticket]) {
            return Err(format!(
                "c2's listener heard {c2_heard:?} of their own ticket"
            ));
        }
        match c1_heard {
            None => Ok(()),
            Some(ids) => Err(format!("c1's listener was told of {ids:?}")),
        }
    }

    /// Anyone may NOTIFY: a forged, far-ahead number must not make a client skip the real
    /// changes that follow (reads are bounded by the database's head, not the payload).
    pub async fn forged_announcement_skips_nothing(w: &World) -> Check {
        w.announce().await;
        let (events, stop) = listener(w, &w.c1).await;
        let mut events = events;
        let c2 = w.db.login(&w.c2).await;
        c2.batch_execute(
            "NOTIFY tickets_changed, '999999'; NOTIFY tickets_changed, 'not a number'",
        )
        .await
        .unwrap();
        let forged = changed(&mut events, Duration::from_millis(500)).await;
        let a1 = w.db.login(&w.a1).await;
        a1.execute("SELECT claim_ticket($1)", &[&w.c1_ticket])
            .await
            .unwrap();
        w.announce().await;
        let real = changed(&mut events, Duration::from_secs(5)).await;
        stop.cancel();
        if forged.is_some() {
            return Err(format!("a forged announcement produced {forged:?}"));
        }
        match real {
            Some(ids) if ids == vec![w.c1_ticket] => Ok(()),
            other => Err(format!(
                "after a forged head, the real claim of c1's ticket gave {other:?}"
            )),
        }
    }
}

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
    tokio::spawn(listen::run(w.db.login_config(p).into(), tx, stop.clone()));
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
            Ok(Some(ListenEvent::Changed(ids))) => return Some(ids),
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

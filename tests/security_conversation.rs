//! The adversarial suite, part 3: attacks on the conversation (issue 10): reading internal
//! notes by every path (the table, the thread view, search, names, counts, the ticket's own
//! columns, the notification), forging a message's author, id, time or flag, rewriting or
//! deleting messages as every role and the owner, posting where it is not allowed, replies that
//! move a ticket they should not, a customer changing anything but the close, ticket numbers
//! that cannot be forged or reused, and other people's last-seen marks.
//!
//! Same engine as part 1 (security.rs): steps `who | expect | sql`, each made over the person's
//! own password-authenticated login; `rows N` must change nothing, `same N` may change the
//! tickets but not the history or the messages, `posted N` may add messages (and the poster's
//! last-seen mark) but change no ticket, person or history; a refusal needs its SQLSTATE and
//! the words of the rule. Every attack has a weakening (tests/security_conversation/) that
//! breaks its rule; `-- --ignored` proves each attack then reports the breach.

mod common;

use common::{TestDb, TestPerson};
use futures_util::StreamExt;
use std::collections::HashMap;
use std::time::Duration;
use tokio_postgres::{AsyncMessage, Client, Error, NoTls};
use uuid::Uuid;

const ATTACKS: &str = include_str!("security_conversation/attacks.txt");
const WEAKENINGS: &str = include_str!("security_conversation/weakenings.txt");

/// The insert check reduced to filling in the customer: every refusal it gave is gone.
const NO_CHECK: &str = "CREATE OR REPLACE FUNCTION app.check_message() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$ BEGIN NEW.customer_id := (SELECT t.customer_id FROM public.tickets t WHERE t.id = NEW.ticket_id); RETURN NEW; END $$";
/// A message no longer touches its ticket.
const NO_EFFECTS: &str = "CREATE OR REPLACE FUNCTION app.apply_message() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$ BEGIN RETURN NULL; END $$";

macro_rules! attacks {
    ($($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                let w = World::new().await;
                if let Err(breach) = run(&w, stringify!($name)).await {
                    panic!("BREACH in {}: {breach}", stringify!($name));
                }
            }
        )*
        const TESTED: &[&str] = &[$(stringify!($name)),*];
    };
}

attacks!(
    customer_reads_notes_in_the_table,
    customer_reads_notes_in_the_thread,
    customer_finds_notes_by_search,
    customer_names_a_notes_author,
    customer_learns_of_a_note_from_the_ticket_or_counts,
    agent_reads_messages_of_a_ticket_they_cannot_see,
    customer_posts_an_internal_note,
    anyone_forges_a_messages_author,
    anyone_forges_a_messages_id_time_or_customer,
    nobody_posts_without_being_a_person,
    customer_rewrites_messages,
    agent_rewrites_messages,
    admin_rewrites_messages,
    superuser_rewrites_messages,
    owner_rewrites_messages,
    customer_posts_on_another_customers_ticket,
    agent_posts_on_a_ticket_they_cannot_see,
    customer_posts_on_a_closed_ticket,
    customer_sends_terminal_escapes_or_blank_messages,
    a_staff_reply_moves_nothing,
    customer_moves_own_ticket_other_than_closing,
    customer_changes_more_than_the_status,
    customer_closes_another_customers_ticket,
    admin_forges_or_changes_a_ticket_number,
    customer_takes_or_resets_ticket_numbers,
    customer_reads_or_writes_anothers_last_seen,
);

#[test]
fn every_scripted_attack_has_a_test_and_a_weakening() {
    let scripted: Vec<String> = parse(ATTACKS).into_iter().map(|a| a.name).collect();
    assert_eq!(scripted, TESTED, "attacks.txt and the attacks! list differ");
    let weakened: Vec<&str> = weakenings().into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        weakened, TESTED,
        "every attack needs exactly one weakening, in order"
    );
}

/// A few representative rules broken (a read policy, the append-only trigger, the insert
/// check, the customer's close); `every_weakened_rule_is_detected` does all of them.
#[tokio::test]
async fn weakened_rules_are_detected() {
    let chosen = [
        "customer_reads_notes_in_the_table",
        "superuser_rewrites_messages",
        "customer_posts_on_a_closed_ticket",
        "customer_moves_own_ticket_other_than_closing",
    ];
    let weakenings = weakenings().into_iter().filter(|(n, _)| chosen.contains(n));
    assert_weakenings_detected(weakenings.collect()).await;
}

#[tokio::test]
#[ignore = "slow (a database per rule); run by hand: cargo test --test security_conversation -- --ignored"]
async fn every_weakened_rule_is_detected() {
    assert_weakenings_detected(weakenings()).await;
}

async fn assert_weakenings_detected(weakenings: Vec<(&'static str, String)>) {
    let results: Vec<(_, _, World)> = futures_util::stream::iter(weakenings)
        .map(|(name, sql)| async move {
            let w = World::new().await;
            w.su.batch_execute(&w.render(&sql)).await.unwrap();
            w.logged_in.lock().unwrap().clear();
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

/// NOTIFY bypasses RLS and anyone may LISTEN: a note is announced as any change is, by the
/// ticket's id alone, never its text or its being a note.
#[tokio::test]
async fn a_notes_notification_carries_only_the_ticket_id() {
    let w = World::new().await;
    notification_is_only_the_id(&w).await.unwrap();
}

#[tokio::test]
async fn a_notification_with_content_is_detected() {
    let w = World::new().await;
    w.su.batch_execute(
        "CREATE OR REPLACE FUNCTION app.notify_message_posted() RETURNS trigger LANGUAGE plpgsql \
         SET search_path = pg_catalog, pg_temp AS $$ BEGIN \
         PERFORM pg_catalog.pg_notify('tickets_changed', NEW.ticket_id::text || ' ' || NEW.body); \
         RETURN NULL; END $$",
    )
    .await
    .unwrap();
    assert!(notification_is_only_the_id(&w).await.is_err());
}

async fn notification_is_only_the_id(w: &World) -> Result<(), String> {
    let (c1, mut messages) = {
        let (client, mut connection) =
            w.db.login_config(&w.c1)
                .connect(NoTls)
                .await
                .map_err(|e| describe(&e))?;
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(Ok(m)) =
                futures_util::future::poll_fn(|cx| connection.poll_message(cx)).await
            {
                let _ = tx.send(m);
            }
        });
        (client, rx)
    };
    c1.batch_execute("LISTEN tickets_changed").await.unwrap();
    let a1 = w.db.login(&w.a1).await;
    a1.execute(
        "INSERT INTO ticket_messages (ticket_id, body, internal) VALUES ($1, 'TOPSECRET plan', true)",
        &[&w.ticket("a1s")],
    )
    .await
    .map_err(|e| describe(&e))?;
    let got = tokio::time::timeout(Duration::from_secs(5), async {
        let mut payloads = Vec::new();
        while let Some(m) = messages.recv().await {
            if let AsyncMessage::Notification(n) = m {
                payloads.push(n.payload().to_owned());
                break;
            }
        }
        payloads
    })
    .await
    .map_err(|_| "no notification within 5 s".to_owned())?;
    match got.as_slice() {
        [p] if *p == w.ticket("a1s").to_string() => Ok(()),
        other => Err(format!("notification payloads {other:?}")),
    }
}

// ---------------------------------------------------------------------------------------------
// The world every attack starts from.

/// c1 has `pool` (open, unassigned, with an admin's internal note), `a1s` (claimed by a1, in
/// progress: c1's message, a1's reply and a1's internal note `note`) and `done` (closed by c1);
/// c2 has `a2s` (claimed by a2, in progress, c2's message). `gone` is a disabled agent.
struct World {
    db: TestDb,
    su: Client,
    c1: TestPerson,
    c2: TestPerson,
    a1: TestPerson,
    a2: TestPerson,
    gone: TestPerson,
    admin: TestPerson,
    ids: Vec<(&'static str, Uuid)>,
    logged_in: std::sync::Mutex<HashMap<String, Client>>,
}

impl World {
    async fn new() -> World {
        let db = TestDb::new().await;
        let (c1, c2, a1, a2, gone, admin) = tokio::join!(
            db.person("customer", "c1"),
            db.person("customer", "c2"),
            db.person("agent", "a1"),
            db.person("agent", "a2"),
            db.person("agent", "gone"),
            db.person("admin", "boss"),
        );
        let (l1, l2, la1, la2, ladmin) = tokio::join!(
            db.login(&c1),
            db.login(&c2),
            db.login(&a1),
            db.login(&a2),
            db.login(&admin)
        );
        let pool = file(&l1, "in the pool").await;
        let a1s = file(&l1, "for a1").await;
        let done = file(&l1, "done").await;
        let a2s = file(&l2, "for a2").await;
        for (agent, ticket) in [(&la1, a1s), (&la2, a2s)] {
            agent
                .batch_execute(&format!(
                    "SELECT claim_ticket('{ticket}');
                     UPDATE tickets SET status = 'in_progress' WHERE id = '{ticket}'"
                ))
                .await
                .unwrap();
        }
        l1.execute(
            "UPDATE tickets SET status = 'closed' WHERE id = $1",
            &[&done],
        )
        .await
        .unwrap();
        post(&l1, a1s, "my printer smokes", false).await;
        post(&la1, a1s, "please unplug it", false).await;
        let note = post(&la1, a1s, "suspect counterfeit toner", true).await;
        post(&ladmin, pool, "confidential admin remark", true).await;
        post(&l2, a2s, "c2 question", false).await;
        let su = db.admin().await;
        su.execute("SELECT disable_person($1)", &[&gone.login])
            .await
            .unwrap();
        World {
            db,
            su,
            c1,
            c2,
            a1,
            a2,
            gone,
            admin,
            ids: vec![
                ("pool", pool),
                ("a1s", a1s),
                ("a2s", a2s),
                ("done", done),
                ("note", note),
            ],
            logged_in: std::sync::Mutex::new(HashMap::from([
                ("c1".to_owned(), l1),
                ("c2".to_owned(), l2),
                ("a1".to_owned(), la1),
                ("a2".to_owned(), la2),
                ("admin".to_owned(), ladmin),
            ])),
        }
    }

    fn ticket(&self, name: &str) -> Uuid {
        self.ids.iter().find(|(n, _)| *n == name).unwrap().1
    }

    fn person(&self, who: &str) -> &TestPerson {
        match who {
            "c1" => &self.c1,
            "c2" => &self.c2,
            "a1" => &self.a1,
            "a2" => &self.a2,
            "gone" => &self.gone,
            "admin" => &self.admin,
            _ => panic!("no person called {who}"),
        }
    }

    async fn session(&self, who: &str) -> Client {
        match who {
            "su" => self.db.admin().await,
            "owner" => {
                let c = self.db.admin().await;
                c.batch_execute("SET ROLE tickets_owner").await.unwrap();
                c
            }
            _ => self.db.login(self.person(who)).await,
        }
    }

    /// Fills in {pool} {a1s} {a2s} {done} {note}, {c1} etc. (quoted ids), {c1.login} and {db},
    /// and the named weakenings @NO_CHECK and @NO_EFFECTS.
    fn render(&self, sql: &str) -> String {
        let mut out = sql
            .replace("@NO_CHECK", NO_CHECK)
            .replace("@NO_EFFECTS", NO_EFFECTS)
            .replace("{db}", &self.db.name);
        for (name, id) in &self.ids {
            out = out.replace(&format!("{{{name}}}"), &format!("'{id}'"));
        }
        for who in ["c1", "c2", "a1", "a2", "gone", "admin"] {
            let p = self.person(who);
            out = out
                .replace(&format!("{{{who}}}"), &format!("'{}'", p.id))
                .replace(&format!("{{{who}.login}}"), &p.login);
        }
        assert!(!out.contains('{'), "unknown placeholder in {out}");
        out
    }

    /// Everything an attack could change, read as superuser: [tickets, people, legal moves],
    /// [history], [messages and last-seen marks].
    async fn state(&self) -> [String; 3] {
        let row = self
            .su
            .query_one(
                "SELECT concat_ws(E'\\n',
                    (SELECT string_agg(t::text, E'\\n' ORDER BY t.id) FROM tickets t),
                    (SELECT string_agg(u::text, E'\\n' ORDER BY u.id) FROM users u),
                    (SELECT string_agg(m::text, ' ' ORDER BY m::text) FROM ticket_status_moves m),
                    (SELECT last_value::text FROM ticket_number_seq)),
                  (SELECT string_agg(h::text, E'\\n' ORDER BY h.ticket_id, h.seq)
                   FROM ticket_status_history h),
                  concat_ws(E'\\n',
                    (SELECT string_agg(m::text, E'\\n' ORDER BY m.id) FROM ticket_messages m),
                    (SELECT string_agg(s::text, E'\\n' ORDER BY s.person_id, s.ticket_id) FROM ticket_seen s))",
                &[],
            )
            .await
            .unwrap();
        [
            row.get::<_, Option<String>>(0).unwrap_or_default(),
            row.get::<_, Option<String>>(1).unwrap_or_default(),
            row.get::<_, Option<String>>(2).unwrap_or_default(),
        ]
    }
}

async fn file(c: &Client, subject: &str) -> Uuid {
    c.query_one(
        "INSERT INTO tickets (subject, description) VALUES ($1, 'details') RETURNING id",
        &[&subject],
    )
    .await
    .unwrap()
    .get(0)
}

async fn post(c: &Client, ticket: Uuid, body: &str, internal: bool) -> Uuid {
    c.query_one(
        "INSERT INTO ticket_messages (ticket_id, body, internal) VALUES ($1, $2, $3) RETURNING id",
        &[&ticket, &body, &internal],
    )
    .await
    .unwrap()
    .get(0)
}

// ---------------------------------------------------------------------------------------------
// The script and how it runs.

enum Expect {
    Refused {
        code: String,
        says: String,
    },
    /// Nothing may change.
    Rows(u64),
    /// The tickets may change; history and messages may not.
    RowsSameHistory(u64),
    /// Messages (and the poster's mark) may be added; tickets, people, history may not change.
    Posted(u64),
    Setup,
}

struct Step {
    who: String,
    expect: Expect,
    sql: String,
}

struct Attack {
    name: String,
    steps: Vec<Step>,
}

fn parse(script: &str) -> Vec<Attack> {
    let mut attacks: Vec<Attack> = Vec::new();
    for line in script.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(name) = line.strip_prefix("## ") {
            attacks.push(Attack {
                name: name.to_owned(),
                steps: Vec::new(),
            });
            continue;
        }
        let mut parts = line.splitn(3, " | ");
        let (who, expect, sql) = match (parts.next(), parts.next(), parts.next()) {
            (Some(w), Some(e), Some(s)) => (w, e, s),
            _ => panic!("not a step: {line}"),
        };
        let count = |s: &str| {
            s.parse::<u64>()
                .unwrap_or_else(|_| panic!("bad count: {line}"))
        };
        let expect = match expect.split_once(' ') {
            _ if expect == "ok" => Expect::Setup,
            Some(("rows", n)) => Expect::Rows(count(n)),
            Some(("same", n)) => Expect::RowsSameHistory(count(n)),
            Some(("posted", n)) => Expect::Posted(count(n)),
            Some((code, says)) if code.len() == 5 => Expect::Refused {
                code: code.to_owned(),
                says: says.to_owned(),
            },
            _ => panic!("bad expectation: {line}"),
        };
        let attack = attacks.last_mut().expect("a step before any ## attack");
        attack.steps.push(Step {
            who: who.to_owned(),
            expect,
            sql: sql.to_owned(),
        });
    }
    attacks
}

fn weakenings() -> Vec<(&'static str, String)> {
    WEAKENINGS
        .lines()
        .filter_map(|l| l.split_once(" | "))
        .map(|(n, sql)| (n, sql.to_owned()))
        .collect()
}

async fn run(w: &World, name: &str) -> Result<(), String> {
    let attack = parse(ATTACKS)
        .into_iter()
        .find(|a| a.name == name)
        .unwrap_or_else(|| panic!("no scripted attack {name}"));
    let mut sessions = std::mem::take(&mut *w.logged_in.lock().unwrap());
    let mut before = w.state().await;
    for step in &attack.steps {
        if !sessions.contains_key(&step.who) {
            sessions.insert(step.who.clone(), w.session(&step.who).await);
        }
        let sql = w.render(&step.sql);
        let result = sessions[&step.who].execute(sql.as_str(), &[]).await;
        let what = format!("{} ran `{sql}`", step.who);
        match &step.expect {
            Expect::Setup => {
                result.map_err(|e| format!("{what}: the setup step failed: {e}"))?;
                before = w.state().await;
                continue;
            }
            Expect::Refused { code, says } => refused(&what, result, code, &w.render(says))?,
            Expect::Rows(n) | Expect::RowsSameHistory(n) | Expect::Posted(n) => match result {
                Ok(got) if got == *n => {}
                Ok(got) => return Err(format!("{what}: {got} rows, expected {n}")),
                Err(e) => return Err(format!("{what}: expected {n} rows, got {}", describe(&e))),
            },
        }
        let after = w.state().await;
        let changed = match step.expect {
            Expect::RowsSameHistory(_) => after[1..] != before[1..],
            Expect::Posted(_) => after[..2] != before[..2],
            _ => after != before,
        };
        if changed {
            return Err(format!(
                "{what}: the data changed\nbefore:\n{}\nafter:\n{}",
                before.join("\n"),
                after.join("\n")
            ));
        }
        before = after;
    }
    Ok(())
}

fn refused(what: &str, r: Result<u64, Error>, code: &str, says: &str) -> Result<(), String> {
    match r {
        Ok(n) => Err(format!(
            "{what}: succeeded ({n} rows), expected {code} \"{says}\""
        )),
        Err(e) => match e.as_db_error() {
            Some(db) if db.code().code() == code && db.message().contains(says) => Ok(()),
            _ => Err(format!(
                "{what}: expected {code} \"{says}\", got {}",
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

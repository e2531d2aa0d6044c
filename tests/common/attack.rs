//! The attack engine of the security suites (security.rs, security_more.rs and any new one).
//!
//! # The mini-language
//!
//! A script is a list of attacks. `## name` starts one; each following non-empty line is a step
//!
//! ```text
//! who | expect | sql
//! ```
//!
//! run over `who`'s own session, in order:
//!
//! - `who`: a person of the world (`c1`, `a1`, `admin`… as the suite named them), `su` (a
//!   superuser) or `owner` (a superuser acting as the NOLOGIN `tickets_owner`). A person's
//!   session is their own password-authenticated login, kept for the whole attack.
//! - `expect`:
//!   - `SQLSTATE words`: the statement must fail with that 5-character SQLSTATE and a message
//!     containing the words (the rule that refused), e.g. `42501 permission denied for table tickets`;
//!   - `rows N`: it must succeed with exactly N rows (0 for SET and the like);
//!   - `same N`: as `rows N`, but the tickets, people and moves may change, the history and
//!     the messages may not;
//!   - `posted N`: as `rows N`, but messages (and the poster's last-seen mark) may be added;
//!     the tickets, people, moves and history may not change;
//!   - `ok`: a legitimate step that sets the scene; it must succeed, and the world's state after
//!     it is the new "before".
//! - `sql`: one statement. Placeholders: `{name}` is a person's id or a ticket's id (quoted),
//!   `{name.login}` a person's login, `{db}` the database. An unknown placeholder is a test bug.
//!
//! After every step but `ok`, the state (tickets, people, legal moves, the people's role
//! settings, the ticket number sequence and, apart, the history and the messages with the
//! last-seen marks) is re-read as superuser and must be unchanged.
//!
//! An attack too rich for steps is an `async fn(&World) -> Check` using the same pieces
//! ([`World::steps`], [`World::state`], [`rows`], [`refused`]).
//!
//! # Weakenings
//!
//! Each attack has a weakening: SQL, run as superuser on a fresh world, that breaks the rule the
//! attack tests. The attack must then report a breach (`Err`), which proves it can fail. The
//! format is `name | sql` per line (the same placeholders; `@NAME` stands for a longer SQL text
//! the suite names). [`assert_weakenings_detected`] runs them.
//!
//! # Adding an attack file
//!
//! A new suite `tests/security_x.rs`: `mod common;`, a `fn world()` building the cast (see
//! [`World::new`], [`World::add_person`], [`World::add_ticket`]), a [`Suite`], the script and
//! weakenings (e.g. `include_str!("security_x/attacks.txt")`), then
//! `common::attack::attack_tests!(SUITE; name, …)` for one test per attack, a test calling
//! [`check_listing`], and tests calling [`assert_weakenings_detected`].

use super::{TestDb, TestPerson};
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use std::collections::HashMap;
use std::sync::Mutex;
use tokio_postgres::{Client, Error};
use uuid::Uuid;

/// `Ok(())` when the database refused exactly as it should and nothing changed, or
/// `Err(what got through)`.
pub type Check = Result<(), String>;

/// A suite: how to build its world and run one of its attacks by name, and the SQL that takes
/// back cluster-wide changes a weakening made (run after each weakened attack; may be empty).
pub struct Suite {
    pub world: fn() -> BoxFuture<'static, World>,
    pub run: for<'a> fn(&'a World, &'static str) -> BoxFuture<'a, Check>,
    pub undo: &'static str,
}

/// One test per attack: `attack_tests!(SUITE; name, …)`; also defines `TESTED`, the names.
#[allow(unused_macros)]
macro_rules! attack_tests {
    ($suite:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                $crate::common::attack::expect_held(&$suite, stringify!($name)).await;
            }
        )*
        const TESTED: &[&str] = &[$(stringify!($name)),*];
    };
}
#[allow(unused_imports)]
pub(crate) use attack_tests;

/// Builds the suite's world and runs the attack; panics with the breach if one got through.
pub async fn expect_held(suite: &Suite, name: &'static str) {
    let w = (suite.world)().await;
    if let Err(breach) = (suite.run)(&w, name).await {
        panic!("BREACH in {name}: {breach}");
    }
}

/// Every scripted attack has a test (`tested`, in the script's order) and every weakening
/// names a tested attack.
pub fn check_listing(script: Option<&str>, tested: &[&str], weakenings: &[(&str, String)]) {
    if let Some(script) = script {
        let scripted: Vec<String> = parse(script).into_iter().map(|a| a.name).collect();
        assert_eq!(
            scripted, tested,
            "the script and the attack_tests! list differ"
        );
    }
    for (name, _) in weakenings {
        assert!(tested.contains(name), "weakening for unknown attack {name}");
    }
}

/// The `name | sql` lines of a weakenings text, `@NAME` replaced from `named`.
pub fn weakenings(text: &'static str, named: &[(&str, &str)]) -> Vec<(&'static str, String)> {
    text.lines()
        .filter_map(|l| l.split_once(" | "))
        .map(|(name, sql)| {
            let sql = match sql.strip_prefix('@') {
                Some(key) => {
                    named
                        .iter()
                        .find(|(k, _)| *k == key)
                        .unwrap_or_else(|| panic!("no weakening called @{key}"))
                        .1
                }
                None => sql,
            };
            (name, sql.to_owned())
        })
        .collect()
}

/// With each rule broken on its own world, the attack on it must report the breach.
pub async fn assert_weakenings_detected(suite: &Suite, weakenings: Vec<(&'static str, String)>) {
    // The worlds are dropped only at the end: dropping one blocks this thread until its
    // DROP DATABASE is done, which (PostgreSQL 15) waits for every backend to absorb a
    // barrier, and a backend in the middle of another world's SCRAM login never does.
    let results: Vec<(_, _, World)> = futures_util::stream::iter(weakenings)
        .map(|(name, sql)| async move {
            let w = (suite.world)().await;
            w.su.batch_execute(&w.render(&sql)).await.unwrap();
            // Fresh logins, so weakened role settings take effect too.
            w.spare.lock().unwrap().clear();
            let outcome = (suite.run)(&w, name).await;
            if !suite.undo.is_empty() {
                w.su.batch_execute(&w.render(suite.undo)).await.unwrap();
            }
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
// The world an attack runs in.

/// A database with named people and tickets, a superuser session, and sessions that set the
/// scene, lent to the first step that needs them (a login costs a SCRAM exchange).
pub struct World {
    pub db: TestDb,
    pub su: Client,
    people: Vec<(&'static str, TestPerson)>,
    tickets: Vec<(&'static str, Uuid)>,
    spare: Mutex<HashMap<String, Client>>,
    /// Databases made by an attack, dropped with the world (see assert_weakenings_detected).
    pub others: Mutex<Vec<TestDb>>,
}

/// What an attack could change, read as superuser: the tickets, people, legal moves, the
/// people's role settings and the ticket number sequence; and apart from them the history, and
/// the messages with the last-seen marks.
#[derive(Debug, PartialEq, Eq)]
pub struct State {
    pub rows: String,
    pub history: String,
    pub messages: String,
}

impl World {
    pub async fn new(db: TestDb) -> World {
        let su = db.admin().await;
        World {
            db,
            su,
            people: Vec::new(),
            tickets: Vec::new(),
            spare: Mutex::new(HashMap::new()),
            others: Mutex::new(Vec::new()),
        }
    }

    pub fn add_person(&mut self, name: &'static str, p: TestPerson) {
        self.people.push((name, p));
    }

    pub fn add_ticket(&mut self, name: &'static str, id: Uuid) {
        self.tickets.push((name, id));
    }

    /// Keeps `who`'s session for the first step that needs it.
    pub fn lend(&mut self, who: &str, c: Client) {
        self.spare.get_mut().unwrap().insert(who.to_owned(), c);
    }

    pub fn person(&self, who: &str) -> &TestPerson {
        self.people
            .iter()
            .find(|(n, _)| *n == who)
            .map(|(_, p)| p)
            .unwrap_or_else(|| panic!("no person called {who}"))
    }

    pub fn ticket(&self, name: &str) -> Uuid {
        self.tickets
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, id)| *id)
            .unwrap_or_else(|| panic!("no ticket called {name}"))
    }

    /// A session for `who`: a lent one, else a new login; `su` the superuser; `owner` the
    /// superuser acting as the NOLOGIN owner of every table.
    pub async fn session(&self, who: &str) -> Client {
        if let Some(c) = self.spare.lock().unwrap().remove(who) {
            return c;
        }
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

    /// Fills in {db}, {ticket}, {person} (quoted ids) and {person.login}.
    pub fn render(&self, sql: &str) -> String {
        let mut out = sql.replace("{db}", &self.db.name);
        for (name, id) in &self.tickets {
            out = out.replace(&format!("{{{name}}}"), &format!("'{id}'"));
        }
        for (name, p) in &self.people {
            out = out
                .replace(&format!("{{{name}}}"), &format!("'{}'", p.id))
                .replace(&format!("{{{name}.login}}"), &p.login);
        }
        if let Some(start) = out.find('{') {
            let rest = &out[start + 1..];
            let end = rest.find('}').unwrap_or(rest.len());
            let word = &rest[..end];
            let placeholder = !word.is_empty()
                && word
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '.');
            assert!(!placeholder, "unknown placeholder {{{word}}} in {out}");
        }
        out
    }

    pub async fn state(&self) -> State {
        let row = self
            .su
            .query_one(
                "SELECT concat_ws(E'\\n',
                    (SELECT string_agg(t::text, E'\\n' ORDER BY t.id) FROM tickets t),
                    (SELECT string_agg(u::text, E'\\n' ORDER BY u.id) FROM users u),
                    (SELECT string_agg(m::text, ' ' ORDER BY m::text) FROM ticket_status_moves m),
                    (SELECT string_agg(r.rolname || ' ' || r.rolcanlogin || ' ' || r.rolsuper
                                       || ' ' || coalesce(s.setconfig::text, ''),
                                       E'\\n' ORDER BY r.rolname)
                     FROM users u JOIN pg_roles r ON r.rolname = u.login
                     LEFT JOIN pg_db_role_setting s ON s.setrole = r.oid
                          AND s.setdatabase = (SELECT oid FROM pg_database
                                               WHERE datname = current_database())),
                    (SELECT last_value::text || ' ' || is_called FROM ticket_number_seq)),
                  coalesce((SELECT string_agg(h::text, E'\\n' ORDER BY h.ticket_id, h.seq)
                            FROM ticket_status_history h), ''),
                  concat_ws(E'\\n',
                    (SELECT string_agg(m::text, E'\\n' ORDER BY m.id) FROM ticket_messages m),
                    (SELECT string_agg(s::text, E'\\n' ORDER BY s.person_id, s.ticket_id)
                     FROM ticket_seen s))",
                &[],
            )
            .await
            .unwrap();
        State {
            rows: row.get(0),
            history: row.get(1),
            messages: row.get(2),
        }
    }

    /// `Err` naming the difference when the state is not `before`.
    pub async fn unchanged(&self, before: &State) -> Check {
        let after = self.state().await;
        if after == *before {
            return Ok(());
        }
        Err(changed(before, &after))
    }

    /// Runs the scripted attack `name` of `script`.
    pub async fn run_named(&self, script: &str, name: &str) -> Check {
        let attack = parse(script)
            .into_iter()
            .find(|a| a.name == name)
            .unwrap_or_else(|| panic!("no scripted attack {name}"));
        self.run(&attack).await
    }

    /// Runs steps without a `## name` line (one attack).
    pub async fn steps(&self, steps: &str) -> Check {
        let attack = parse(&format!("## steps\n{steps}")).remove(0);
        self.run(&attack).await
    }

    pub async fn run(&self, attack: &Attack) -> Check {
        let mut sessions: HashMap<&str, Client> = HashMap::new();
        let mut before = self.state().await;
        for step in &attack.steps {
            if !sessions.contains_key(step.who.as_str()) {
                sessions.insert(&step.who, self.session(&step.who).await);
            }
            let sql = self.render(&step.sql);
            let result = sessions[step.who.as_str()].execute(sql.as_str(), &[]).await;
            let what = format!("{} ran `{sql}`", step.who);
            match &step.expect {
                Expect::Setup => {
                    result.map_err(|e| format!("{what}: the setup step failed: {e}"))?;
                    before = self.state().await;
                    continue;
                }
                Expect::Refused { code, says } => {
                    refused_with(&what, result, code, &self.render(says))?
                }
                Expect::Rows(n) | Expect::RowsSameHistory(n) | Expect::Posted(n) => match result {
                    Ok(got) if got == *n => {}
                    Ok(got) => return Err(format!("{what}: {got} rows, expected {n}")),
                    Err(e) => {
                        return Err(format!("{what}: expected {n} rows, got {}", describe(&e)));
                    }
                },
            }
            let after = self.state().await;
            let same = match step.expect {
                Expect::RowsSameHistory(_) => {
                    after.history == before.history && after.messages == before.messages
                }
                Expect::Posted(_) => after.rows == before.rows && after.history == before.history,
                _ => after == before,
            };
            if !same {
                return Err(format!("{what}: {}", changed(&before, &after)));
            }
            before = after;
        }
        Ok(())
    }
}

fn changed(before: &State, after: &State) -> String {
    format!(
        "the data changed\nbefore:\n{}\n{}\n{}\nafter:\n{}\n{}\n{}",
        before.rows, before.history, before.messages, after.rows, after.history, after.messages
    )
}

// ---------------------------------------------------------------------------------------------
// The script.

pub enum Expect {
    Refused { code: String, says: String },
    Rows(u64),
    RowsSameHistory(u64),
    Posted(u64),
    Setup,
}

pub struct Step {
    pub who: String,
    pub expect: Expect,
    pub sql: String,
}

pub struct Attack {
    pub name: String,
    pub steps: Vec<Step>,
}

/// Parses a script (see the module docs); a malformed line is a test bug and panics.
pub fn parse(script: &str) -> Vec<Attack> {
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

// ---------------------------------------------------------------------------------------------
// Checks for attacks written in Rust.

/// The statement must succeed with exactly `n` rows (0 for SET and the like).
pub async fn rows(c: &Client, sql: &str, n: u64) -> Check {
    match c.execute(sql, &[]).await {
        Ok(got) if got == n => Ok(()),
        Ok(got) => Err(format!("`{sql}`: {got} rows, expected {n}")),
        Err(e) => Err(format!("`{sql}`: expected {n} rows, got {}", describe(&e))),
    }
}

/// The statement must fail with `code`, and the message must name the rule (`says`).
pub async fn refused(c: &Client, sql: &str, code: &str, says: &str) -> Check {
    refused_with(&format!("`{sql}`"), c.execute(sql, &[]).await, code, says)
}

/// `r` must be an error with `code` whose message contains `says`; `what` names the attempt.
pub fn refused_with<T: std::fmt::Debug>(
    what: &str,
    r: Result<T, Error>,
    code: &str,
    says: &str,
) -> Check {
    match r {
        Ok(v) => Err(format!(
            "{what}: succeeded ({v:?}), expected {code} \"{says}\""
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

/// SQLSTATE and message of a database error, or the error itself.
pub fn describe(e: &Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} \"{}\"", db.code().code(), db.message()),
        None => e.to_string(),
    }
}

//! Prepared statements kept per connection. A statement sent as text is parsed, analysed,
//! rewritten (the row-level policies expanded) and planned each time, and costs a second round
//! trip to learn its parameter types. Prepared once per connection and reused, it is sent in one
//! round trip, and PostgreSQL's plan cache may keep its plan. In the 200-client crowd bench,
//! planning alone was 18 % of the clients' statement time, and the re-read of changed rows spent
//! 43 % of its time in the planner.
//!
//! The queries in `repo`, `thread` and `history` take any [`Query`]: a bare `tokio_postgres`
//! client (tests, one-off tools) sends text as before; a [`Conn`] prepares each distinct text
//! once.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Error, Row, SimpleQueryMessage, Statement};

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// Distinct statement texts kept per connection; past this the cache starts over (the
/// client's texts are a few dozen, so this only bounds a mistake).
const MOST_STATEMENTS: usize = 256;

/// What the queries need of a connection.
pub trait Query: Sync {
    fn query<'a>(
        &'a self,
        sql: &'a str,
        params: Params<'a>,
    ) -> impl Future<Output = Result<Vec<Row>, Error>> + Send + 'a;
    fn query_one<'a>(
        &'a self,
        sql: &'a str,
        params: Params<'a>,
    ) -> impl Future<Output = Result<Row, Error>> + Send + 'a;
    fn query_opt<'a>(
        &'a self,
        sql: &'a str,
        params: Params<'a>,
    ) -> impl Future<Output = Result<Option<Row>, Error>> + Send + 'a;
    fn execute<'a>(
        &'a self,
        sql: &'a str,
        params: Params<'a>,
    ) -> impl Future<Output = Result<u64, Error>> + Send + 'a;
    /// Several statements in one string (simple protocol: never prepared).
    fn simple_query<'a>(
        &'a self,
        sql: &'a str,
    ) -> impl Future<Output = Result<Vec<SimpleQueryMessage>, Error>> + Send + 'a;
}

impl Query for Client {
    fn query<'a>(
        &'a self,
        sql: &'a str,
        params: Params<'a>,
    ) -> impl Future<Output = Result<Vec<Row>, Error>> + Send + 'a {
        Client::query(self, sql, params)
    }
    fn query_one<'a>(
        &'a self,
        sql: &'a str,
        params: Params<'a>,
    ) -> impl Future<Output = Result<Row, Error>> + Send + 'a {
        Client::query_one(self, sql, params)
    }
    fn query_opt<'a>(
        &'a self,
        sql: &'a str,
        params: Params<'a>,
    ) -> impl Future<Output = Result<Option<Row>, Error>> + Send + 'a {
        Client::query_opt(self, sql, params)
    }
    fn execute<'a>(
        &'a self,
        sql: &'a str,
        params: Params<'a>,
    ) -> impl Future<Output = Result<u64, Error>> + Send + 'a {
        Client::execute(self, sql, params)
    }
    fn simple_query<'a>(
        &'a self,
        sql: &'a str,
    ) -> impl Future<Output = Result<Vec<SimpleQueryMessage>, Error>> + Send + 'a {
        Client::simple_query(self, sql)
    }
}

/// A connection and the statements prepared on it. Cheap to clone (the clones share both);
/// a new connection (after a reconnect) starts with none.
#[derive(Clone)]
pub struct Conn {
    client: Arc<Client>,
    prepared: Arc<Mutex<HashMap<String, Statement>>>,
    /// Taken from a call's start until its request is sent: requests go out in the order the
    /// calls were made, as they did when every query was prepared anew. Without it a query
    /// whose statement is already prepared would overtake one that must be prepared first,
    /// and its answer would arrive first (a header count ahead of the list it counts).
    sending: Arc<tokio::sync::Mutex<()>>,
}

impl Conn {
    pub fn new(client: Arc<Client>) -> Conn {
        Conn {
            client,
            prepared: Arc::new(Mutex::new(HashMap::new())),
            sending: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    /// The connection itself (for what is not a query: closing, password changes).
    pub fn client(&self) -> &Arc<Client> {
        &self.client
    }

    /// Whether this is `client`'s connection.
    pub fn is(&self, client: &Arc<Client>) -> bool {
        Arc::ptr_eq(&self.client, client)
    }

    /// How many statements are prepared on the connection.
    pub fn prepared(&self) -> usize {
        self.prepared.lock().map_or(0, |p| p.len())
    }

    async fn statement(&self, sql: &str) -> Result<Statement, Error> {
        if let Some(s) = self.prepared.lock().ok().and_then(|p| p.get(sql).cloned()) {
            return Ok(s);
        }
        let s = self.client.prepare(sql).await?;
        if let Ok(mut p) = self.prepared.lock() {
            if p.len() >= MOST_STATEMENTS {
                p.clear();
            }
            p.insert(sql.to_owned(), s.clone());
        }
        Ok(s)
    }

    /// A statement prepared before a migration changed what it returns fails once with
    /// SQLSTATE 0A000 ("cached plan must not change result type"): it is prepared again.
    fn forget_if_stale(&self, sql: &str, e: &Error) -> bool {
        // By the routine that raises it, not only by its words (the server may speak another
        // language).
        let stale = e.code() == Some(&tokio_postgres::error::SqlState::FEATURE_NOT_SUPPORTED)
            && e.as_db_error().is_some_and(|d| {
                d.routine() == Some("RevalidateCachedQuery")
                    || d.message()
                        .contains("cached plan must not change result type")
            });
        if stale && let Ok(mut p) = self.prepared.lock() {
            p.remove(sql);
        }
        stale
    }
}

/// Runs `$call` on the statement prepared for `$sql`, preparing it again once if a migration
/// made the prepared one stale.
macro_rules! prepared {
    ($conn:expr, $sql:expr, $call:ident, $params:expr) => {{
        let sending = $conn.sending.lock().await;
        let s = $conn.statement($sql).await?;
        // The first poll of a tokio-postgres query sends its request; then the next call may.
        let mut call = std::pin::pin!($conn.client.$call(&s, $params));
        let first = futures_util::poll!(call.as_mut());
        drop(sending);
        let result = match first {
            std::task::Poll::Ready(r) => r,
            std::task::Poll::Pending => call.await,
        };
        match result {
            Err(e) if $conn.forget_if_stale($sql, &e) => {
                let s = $conn.statement($sql).await?;
                $conn.client.$call(&s, $params).await
            }
            other => other,
        }
    }};
}

impl Query for Conn {
    async fn query<'a>(&'a self, sql: &'a str, params: Params<'a>) -> Result<Vec<Row>, Error> {
        prepared!(self, sql, query, params)
    }
    async fn query_one<'a>(&'a self, sql: &'a str, params: Params<'a>) -> Result<Row, Error> {
        prepared!(self, sql, query_one, params)
    }
    async fn query_opt<'a>(
        &'a self,
        sql: &'a str,
        params: Params<'a>,
    ) -> Result<Option<Row>, Error> {
        prepared!(self, sql, query_opt, params)
    }
    async fn execute<'a>(&'a self, sql: &'a str, params: Params<'a>) -> Result<u64, Error> {
        prepared!(self, sql, execute, params)
    }
    fn simple_query<'a>(
        &'a self,
        sql: &'a str,
    ) -> impl Future<Output = Result<Vec<SimpleQueryMessage>, Error>> + Send + 'a {
        self.client.simple_query(sql)
    }
}

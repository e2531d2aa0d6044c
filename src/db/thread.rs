//! The conversation of a ticket: its thread (messages, notes and history in time order, read
//! through `ticket_thread` and so through the person's own policies), posting, and what the
//! person has seen. Every query runs in the person's session: RLS decides what comes back.

use super::error::DbError;
use super::statements::Query;
use crate::model::*;
use tokio_postgres::Row;
use uuid::Uuid;

/// The columns of a thread entry; the query joins the names source as `p`, `oa`, `na`. Staff
/// read people as "Name (login)" (names repeat across people); a customer gets no logins.
const ENTRY_COLUMNS: &str = "e.id, e.ticket_id, e.at, e.kind, e.person_id, p.display_name, e.body, \
     e.old_status::text, e.new_status::text, oa.display_name, na.display_name, \
     e.old_priority::text, e.new_priority::text, p.login, oa.login, na.login";

fn entry(r: &Row) -> ThreadEntry {
    let kind: &str = r.get(3);
    let kind = match kind {
        "message" => ThreadKind::Message,
        "note" => ThreadKind::Note,
        other => ThreadKind::Change(ChangeKind::from_sql(other).unwrap_or(ChangeKind::Status)),
    };
    ThreadEntry {
        id: r.get(0),
        ticket_id: r.get(1),
        at: r.get(2),
        kind,
        person_id: r.get(4),
        person_name: person_label(r.get(5), r.get(13)),
        body: r.get(6),
        old_status: r.get::<_, Option<&str>>(7).and_then(Status::from_sql),
        new_status: r.get::<_, Option<&str>>(8).and_then(Status::from_sql),
        old_agent: person_label(r.get(9), r.get(14)),
        new_agent: person_label(r.get(10), r.get(15)),
        old_priority: r.get::<_, Option<&str>>(11).and_then(Priority::from_sql),
        new_priority: r.get::<_, Option<&str>>(12).and_then(Priority::from_sql),
    }
}

/// The query a page of a thread runs: `$1` ticket, `$2`/`$3` the cursor (NULL for the first
/// page), `$4` the page size. Public so the benchmark times exactly the client's query.
pub fn page_sql(role: Role) -> String {
    // Names of the people on the page only: staff read users; a customer asks names_in_thread,
    // which names only people on this ticket they may know of (never a note's author) and
    // never gives an e-mail.
    const ON_PAGE: &str = "SELECT person_id FROM page UNION SELECT old_agent_id FROM page \
                           UNION SELECT new_agent_id FROM page";
    let people = match role {
        Role::Customer => {
            format!(
                "SELECT n.id, n.display_name, NULL::text AS login \
                 FROM public.names_in_thread($1, ARRAY({ON_PAGE})) n"
            )
        }
        Role::Agent | Role::Admin => {
            format!(
                "SELECT n.id, n.display_name, n.login FROM public.users n WHERE n.id IN ({ON_PAGE})"
            )
        }
    };
    format!(
        "WITH page AS MATERIALIZED ( \
             SELECT * FROM public.ticket_thread \
             WHERE ticket_id = $1 AND ($2::timestamptz IS NULL OR (at, id) > ($2, $3::uuid)) \
             ORDER BY at, id LIMIT $4), \
         people AS MATERIALIZED ({people}) \
         SELECT {ENTRY_COLUMNS} FROM page e \
         LEFT JOIN people p ON p.id = e.person_id \
         LEFT JOIN people oa ON oa.id = e.old_agent_id \
         LEFT JOIN people na ON na.id = e.new_agent_id \
         ORDER BY e.at, e.id"
    )
}

/// One page of a ticket's thread, oldest first, after `after` (None: from the start).
pub async fn page(
    client: &impl Query,
    me: &Me,
    ticket: Uuid,
    after: Option<ThreadCursor>,
    limit: i64,
) -> Result<Vec<ThreadEntry>, DbError> {
    let rows = client
        .query(
            &page_sql(me.role),
            &[&ticket, &after.map(|c| c.at), &after.map(|c| c.id), &limit],
        )
        .await?;
    Ok(rows.iter().map(entry).collect())
}

/// The newest `limit` entries of a thread, oldest first (for "jump to the end").
pub async fn last_page(
    client: &impl Query,
    me: &Me,
    ticket: Uuid,
    limit: i64,
) -> Result<Vec<ThreadEntry>, DbError> {
    let start = client
        .query_opt(
            "SELECT at, id FROM (SELECT at, id FROM public.ticket_thread WHERE ticket_id = $1 \
             ORDER BY at DESC, id DESC LIMIT $2) x ORDER BY at, id LIMIT 1",
            &[&ticket, &limit],
        )
        .await?;
    let Some(start) = start else {
        return Ok(Vec::new());
    };
    let first: ThreadCursor = ThreadCursor {
        at: start.get(0),
        id: start.get(1),
    };
    // The page *from* the first of the last `limit` entries: read it inclusively.
    let rows = client
        .query(
            &page_sql(me.role).replace("(at, id) > ($2, $3::uuid)", "(at, id) >= ($2, $3::uuid)"),
            &[&ticket, &Some(first.at), &Some(first.id), &limit],
        )
        .await?;
    Ok(rows.iter().map(entry).collect())
}

/// Posts a reply (or, for staff, an internal note). The database checks everything: who may
/// post where, the text, a ticket closed meanwhile; the refusal says why.
pub async fn post(
    client: &impl Query,
    ticket: Uuid,
    body: &str,
    internal: bool,
) -> Result<Uuid, DbError> {
    let row = client
        .query_one(
            "INSERT INTO public.ticket_messages (ticket_id, body, internal) VALUES ($1, $2, $3) RETURNING id",
            &[&ticket, &body, &internal],
        )
        .await?;
    Ok(row.get(0))
}

/// A customer closes their own ticket (withdraws it, or confirms the resolution).
pub async fn close(client: &impl Query, ticket: Uuid) -> Result<(), DbError> {
    let n = client
        .execute(
            "UPDATE public.tickets SET status = 'closed' WHERE id = $1",
            &[&ticket],
        )
        .await?;
    if n == 0 {
        return Err(DbError::Refused {
            code: "P0002".into(),
            message: format!("ticket {ticket} does not exist or is not visible to you"),
        });
    }
    Ok(())
}

/// Records that the person has seen the ticket as it is now.
pub async fn mark_seen(client: &impl Query, ticket: Uuid) -> Result<(), DbError> {
    client
        .execute("SELECT public.mark_ticket_seen($1)", &[&ticket])
        .await?;
    Ok(())
}

/// Of `tickets`, those with news for the person since they last opened them.
pub async fn unseen(client: &impl Query, tickets: &[Uuid]) -> Result<Vec<Uuid>, DbError> {
    let rows = client
        .query("SELECT public.unseen_tickets($1)", &[&tickets])
        .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// How many of the person's tickets have news (the header count).
/// How many of the person's tickets have news, counting no further than `UNSEEN_SHOWN + 1`
/// (the header says "99+" past that): a live client asks after every change it sees.
pub async fn unseen_count(client: &impl Query) -> Result<i64, DbError> {
    Ok(client
        .query_one(
            "SELECT public.unseen_count($1)",
            &[&crate::model::UNSEEN_SHOWN],
        )
        .await?
        .get(0))
}

/// A ticket's id from the number people say (`#1234`), if the person may see it.
pub async fn by_number(client: &impl Query, number: i64) -> Result<Option<Uuid>, DbError> {
    Ok(client
        .query_opt(
            "SELECT id FROM public.tickets WHERE number = $1",
            &[&number],
        )
        .await?
        .map(|r| r.get(0)))
}

/// A message and a status change in one transaction ("reply and wait on customer"): sent as
/// one simple query, which PostgreSQL runs as a single implicit transaction, so either both
/// happen or neither; and no other request on the shared connection runs in between. Answers
/// whether the status changed (false: the message is posted, the ticket was no longer the
/// person's to move).
pub async fn post_with_status(
    client: &impl Query,
    ticket: Uuid,
    body: &str,
    internal: bool,
    status: Status,
) -> Result<bool, DbError> {
    // Values are spliced as literals: a UUID and an enum from this program, and the body as an
    // escape string (E'...', backslashes and quotes doubled), which reads the same whatever the
    // session's standard_conforming_strings says.
    let literal = |s: &str| format!("E'{}'", s.replace('\\', "\\\\").replace('\'', "''"));
    let sql = format!(
        "INSERT INTO public.ticket_messages (ticket_id, body, internal) VALUES ('{ticket}', {body}, {internal}); \
         UPDATE public.tickets SET status = '{status}' WHERE id = '{ticket}'",
        body = literal(body),
        status = status.as_sql(),
    );
    let messages = client.simple_query(&sql).await?;
    let updated = messages
        .iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::CommandComplete(n) => Some(*n),
            _ => None,
        })
        .next_back()
        .unwrap_or(0);
    Ok(updated > 0)
}

//! Typed queries: what each pane asks the database, always through the person's own session,
//! so RLS decides what comes back. Lists page with keyset cursors, never OFFSET.

use super::error::DbError;
use super::statements::Query;
use crate::model::*;
use chrono::{DateTime, Utc};
use tokio_postgres::Row;
use uuid::Uuid;

pub const PAGE: i64 = 100;

pub use super::history::{audit, audit_tail};

/// What a list page reads of a ticket: not the description nor the search vector, which would
/// only be fetched (and detoasted) to be thrown away.
const PAGE_COLUMNS: &str = "t.id, t.subject, t.status, t.priority, t.customer_id, t.agent_id, t.created_at, t.updated_at, t.number";

/// The columns of a list row; the query joins the agent's name as `a`. `unseen` is a column
/// only the list computes (false elsewhere: an opened ticket is seen).
const ROW_COLUMNS: &str = "t.id, t.subject, t.status::text, t.priority::text, t.customer_id, t.agent_id, a.display_name, t.created_at, t.updated_at, t.number";

/// The person's own marker for each row (`$1` is the person; ticket_seen shows each person only
/// their own rows anyway), and whether the ticket has news since: changed, or a message the
/// person may read posted, after they last opened it (as `unseen_tickets()` says, computed on
/// the page's rows instead of looking the tickets up again by id).
const SEEN_JOIN: &str = "LEFT JOIN public.ticket_seen s ON s.ticket_id = t.id AND s.person_id = $1";
/// Only tickets `unseen_count()` counts are marked, so the rows and the header's "N new"
/// agree: a customer's not closed, an agent's own active ones, those an admin opened before.
/// Never NULL (an unassigned ticket's `agent_id = $1` is).
fn unseen(role: Role) -> String {
    let scope = match role {
        Role::Customer => "t.status <> 'closed'",
        Role::Agent => {
            "t.agent_id = $1 AND t.status IN ('open', 'in_progress', 'waiting_on_customer')"
        }
        Role::Admin => "s.seen_at IS NOT NULL AND t.status <> 'closed'",
    };
    format!(
        "coalesce({scope} AND (s.seen_at IS NULL OR t.updated_at > s.seen_at OR EXISTS (SELECT 1 FROM public.ticket_messages m WHERE m.ticket_id = t.id AND m.created_at > s.seen_at)), false)"
    )
}

/// The join naming a row's customer as `c`: staff read `users`; a customer's list never
/// shows the customer (themselves), so it joins nothing.
fn customer_join(role: Role) -> &'static str {
    match role {
        Role::Customer => {
            "LEFT JOIN (SELECT NULL::uuid AS id, NULL::text AS display_name) c ON false"
        }
        Role::Agent | Role::Admin => "LEFT JOIN public.users c ON c.id = t.customer_id",
    }
}

fn ticket_row(r: &Row) -> TicketRow {
    TicketRow {
        id: r.get(0),
        subject: r.get(1),
        status: Status::from_sql(r.get(2)).unwrap_or(Status::Open),
        priority: Priority::from_sql(r.get(3)).unwrap_or(Priority::Normal),
        customer_id: r.get(4),
        agent_id: r.get(5),
        agent_name: r.get(6),
        created_at: r.get(7),
        updated_at: r.get(8),
        number: r.get(9),
        unseen: false,
        customer_name: None,
    }
}

pub async fn whoami(client: &impl Query) -> Result<Me, DbError> {
    let row = client
        .query_opt("SELECT p.id, p.login, p.display_name, p.role::text FROM app.current_person() p WHERE p.id IS NOT NULL", &[])
        .await?;
    let row = row.ok_or_else(|| DbError::Refused {
        code: "42501".into(),
        message: "this login is not an active tickets person".into(),
    })?;
    Ok(Me {
        id: row.get(0),
        login: row.get(1),
        display_name: row.get(2),
        role: Role::from_sql(row.get(3)).unwrap_or(Role::Customer),
    })
}

/// The status moves the database allows this role (admins: any).
pub async fn moves(client: &impl Query, role: Role) -> Result<Vec<Move>, DbError> {
    let rows = client
        .query(
            "SELECT from_status::text, to_status::text FROM public.ticket_status_moves WHERE role::text = $1",
            &[&role.as_sql()],
        )
        .await?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            Some(Move {
                from: Status::from_sql(r.get(0))?,
                to: Status::from_sql(r.get(1))?,
            })
        })
        .collect())
}

/// Where the names of the people on some tickets come from: staff may read `users`; a customer
/// gets the names of the customer and agent of their own tickets (`tickets_sql`, a query of
/// ticket ids), and no e-mails.
fn names_of(role: Role, tickets_sql: &str) -> String {
    match role {
        Role::Customer => format!("public.names_on_tickets(ARRAY({tickets_sql}), false)"),
        Role::Agent | Role::Admin => "public.users".to_owned(),
    }
}

/// One page of a queue. A non-empty `search` narrows it to full-text matches of subject and
/// description (through `search_tickets`, which can use the index under RLS).
pub async fn list(
    client: &impl Query,
    me: &Me,
    queue: Queue,
    search: &str,
    after: Option<&Cursor>,
    limit: i64,
) -> Result<Vec<TicketRow>, DbError> {
    list_page(client, me, queue, search, after, limit, false).await
}

/// The page of a queue just before `before`, or its last page (None): the real end of the
/// list, not of what is loaded. The keyset query from the other side (the reversed order, so
/// it reads `limit` rows however long the queue), answered in the list's order.
pub async fn list_tail(
    client: &impl Query,
    me: &Me,
    queue: Queue,
    search: &str,
    before: Option<&Cursor>,
    limit: i64,
) -> Result<Vec<TicketRow>, DbError> {
    let mut rows = list_page(client, me, queue, search, before, limit, true).await?;
    rows.reverse();
    Ok(rows)
}

async fn list_page(
    client: &impl Query,
    me: &Me,
    queue: Queue,
    search: &str,
    after: Option<&Cursor>,
    limit: i64,
    reverse: bool,
) -> Result<Vec<TicketRow>, DbError> {
    // Parameters: $1 me, $2 limit, $3 cursor time, $4 cursor priority, $5 cursor id, $6 search,
    // $7 how many matches search_tickets may return.
    let search = search.trim();
    let urgency = matches!(
        (queue, me.role),
        (Queue::Mine | Queue::Unassigned, Role::Agent | Role::Admin)
    );
    // The explicit filters repeat what RLS enforces anyway, so the planner can pick the
    // matching index. An agent's own queues come from agent_queue(), which reads them in
    // index order (RLS alone makes the planner read and sort the whole queue).
    // search_tickets returns the newest matches the caller may read. When the queue narrows
    // them no further (everything visible; a customer's own) and this is the first page from
    // the top, a page's worth is enough; otherwise (read from the end too) take up to its cap
    // of 1,000.
    let narrows = matches!(
        (queue, me.role),
        (Queue::Mine | Queue::Unassigned, Role::Agent | Role::Admin)
    );
    let search_cap: i32 = if narrows || after.is_some() || reverse {
        1000
    } else {
        limit.clamp(1, 1000) as i32
    };
    let (keyset, order) = match (urgency, reverse) {
        (true, false) => (
            "($3::timestamptz IS NULL OR t.priority < $4::text::public.ticket_priority \
              OR (t.priority = $4::text::public.ticket_priority AND (t.created_at, t.id) > ($3, $5)))",
            "t.priority DESC, t.created_at, t.id",
        ),
        (true, true) => (
            "($3::timestamptz IS NULL OR t.priority > $4::text::public.ticket_priority \
              OR (t.priority = $4::text::public.ticket_priority AND (t.created_at, t.id) < ($3, $5)))",
            "t.priority, t.created_at DESC, t.id DESC",
        ),
        // $4 is not needed here, but every parameter must have a type.
        (false, false) => (
            "($3::timestamptz IS NULL OR (t.updated_at, t.id) < ($3, $5)) AND $4::text IS NOT NULL",
            "t.updated_at DESC, t.id DESC",
        ),
        (false, true) => (
            "($3::timestamptz IS NULL OR (t.updated_at, t.id) > ($3, $5)) AND $4::text IS NOT NULL",
            "t.updated_at, t.id",
        ),
    };
    // agent_queue() reads forward only; from the other side, the table under RLS.
    let (source, filter) = match (queue, me.role, search.is_empty()) {
        (Queue::Mine, Role::Agent, true) if !reverse => (
            "public.agent_queue('mine', $2::bigint::int, $4::text::public.ticket_priority, $3, $5) t".to_owned(),
            "$1::uuid IS NOT NULL",
        ),
        (Queue::Unassigned, Role::Agent, true) if !reverse => (
            "public.agent_queue('unassigned', $2::bigint::int, $4::text::public.ticket_priority, $3, $5) t".to_owned(),
            "$1::uuid IS NOT NULL",
        ),
        // Everything an agent may see is two index ranges, their own tickets and the open pool,
        // each read in the list's order and merged. Read as one table under RLS, the newest
        // tickets of every other agent are passed over one by one, each fetched from the heap:
        // in a busy helpdesk most of the newest tickets are someone else's.
        (Queue::All, Role::Agent, true) => (
            format!(
                "((SELECT {PAGE_COLUMNS} FROM public.tickets t WHERE t.agent_id = $1 AND {keyset} \
                   ORDER BY {order} LIMIT $2) \
                  UNION ALL \
                  (SELECT {PAGE_COLUMNS} FROM public.tickets t \
                   WHERE t.agent_id IS NULL AND t.status = 'open' AND {keyset} \
                   ORDER BY {order} LIMIT $2)) t"
            ),
            "$1::uuid IS NOT NULL",
        ),
        (q, role, plain) => {
            let source = if plain {
                "public.tickets t".to_owned()
            } else {
                // The cap is a parameter: as text it would make a new prepared statement
                // for every length of list reloaded.
                "public.search_tickets($6, $7) t".to_owned()
            };
            (source, queue_filter(q, role))
        }
    };
    let sql = rows_of_page(
        me.role,
        &format!(
            "SELECT {PAGE_COLUMNS} FROM {source} WHERE {filter} AND {keyset} ORDER BY {order} LIMIT $2"
        ),
        &format!("ORDER BY {order}"),
    );
    let at = after.map(|c| if urgency { c.created_at } else { c.updated_at });
    let prio = after.map_or("normal", |c| c.priority.as_sql());
    let id = after.map(|c| c.id);
    let rows = if search.is_empty() {
        client
            .query(&sql, &[&me.id, &limit, &at, &prio, &id])
            .await?
    } else {
        client
            .query(
                &sql,
                &[&me.id, &limit, &at, &prio, &id, &search, &search_cap],
            )
            .await?
    };
    Ok(rows.iter().map(list_row).collect())
}

/// A list's rows from the tickets `page_sql` selects (`$1` is the person): with the agent's
/// and customer's names and whether the ticket has news for the person, in `order`.
fn rows_of_page(role: Role, page_sql: &str, order: &str) -> String {
    format!(
        "WITH page AS MATERIALIZED ({page_sql}) \
         SELECT {ROW_COLUMNS}, {unseen}, c.display_name FROM page t {SEEN_JOIN} LEFT JOIN {names} a ON a.id = t.agent_id {customers} {order}",
        // The list shows each row's agent: one ticket per agent proves the name may be shown
        // (a customer's page of 100 tickets has a handful of agents; each id given is checked).
        names = names_of(
            role,
            "SELECT DISTINCT ON (agent_id) id FROM page WHERE agent_id IS NOT NULL"
        ),
        customers = customer_join(role),
        unseen = unseen(role)
    )
}

/// A row of `rows_of_page`.
fn list_row(r: &Row) -> TicketRow {
    TicketRow {
        unseen: r.get(10),
        customer_name: r.get(11),
        ..ticket_row(r)
    }
}

/// Which tickets a queue holds (`$1` is the person): repeats what RLS enforces, so the planner
/// can pick the matching index.
fn queue_filter(queue: Queue, role: Role) -> &'static str {
    match (queue, role) {
        (Queue::Mine, Role::Customer) => "t.customer_id = $1",
        (Queue::Mine, _) => {
            "t.agent_id = $1 AND t.status IN ('open', 'in_progress', 'waiting_on_customer')"
        }
        (Queue::Unassigned, _) => {
            "t.agent_id IS NULL AND t.status = 'open' AND $1::uuid IS NOT NULL"
        }
        (Queue::All, _) => "$1::uuid IS NOT NULL",
    }
}

/// The rows among `ids` that are in `queue` now, as `list` reads them (unseen marker and
/// names included): what a live change re-reads, by id, instead of the whole list. Ids the
/// person may not read, or that left the queue, are simply absent.
pub async fn queue_rows(
    client: &impl Query,
    me: &Me,
    queue: Queue,
    ids: &[Uuid],
) -> Result<Vec<TicketRow>, DbError> {
    // Each id is probed on its own (LATERAL with LIMIT 1 stays a probe of tickets_pkey). With
    // `t.id = ANY($2)` beside the queue's condition, the plan the connection keeps for this
    // statement (made without the values) read the busiest customer's every ticket through
    // tickets_customer_list: 294 buffers for two rows.
    let sql = rows_of_page(
        me.role,
        &format!(
            "SELECT t.* FROM (SELECT DISTINCT unnest($2::uuid[]) AS id) w \
             CROSS JOIN LATERAL (SELECT {PAGE_COLUMNS} FROM public.tickets t \
                                 WHERE t.id = w.id AND {filter} LIMIT 1) t",
            filter = queue_filter(queue, me.role)
        ),
        "",
    );
    let rows = client.query(&sql, &[&me.id, &ids]).await?;
    Ok(rows.iter().map(list_row).collect())
}

/// How many tickets each of the person's queues holds (what the tabs show), and how many of
/// theirs have news since they last opened them.
pub async fn counts(client: &impl Query, me: &Me) -> Result<(Vec<(Queue, i64)>, i64), DbError> {
    // ticket_counts(): maintained totals for the large ones (0020), an index for the rest; the
    // news count beside them, in the same statement (one round trip, one snapshot).
    let row = client
        .query_one(
            "SELECT c.mine, c.unassigned, c.visible, public.unseen_count($1) \
             FROM public.ticket_counts() c",
            &[&crate::model::UNSEEN_SHOWN],
        )
        .await?;
    let (mine, unassigned, visible): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
    let queues = Queue::for_role(me.role)
        .iter()
        .map(|&q| {
            let n = match (q, me.role) {
                (Queue::Mine, _) => mine,
                (Queue::Unassigned, _) => unassigned,
                (Queue::All, _) => visible,
            };
            (q, n)
        })
        .collect();
    Ok((queues, row.get(3)))
}

pub async fn ticket(
    client: &impl Query,
    me: &Me,
    id: Uuid,
) -> Result<Option<TicketDetail>, DbError> {
    // users' own policy decides whose e-mail shows: staff see it, a customer only their own.
    let sql = format!(
        "WITH page AS MATERIALIZED (SELECT t.* FROM public.tickets t WHERE t.id = $1), \
              names AS MATERIALIZED (SELECT * FROM {names} n \
                  WHERE n.id IN (SELECT agent_id FROM page UNION ALL SELECT customer_id FROM page)) \
         SELECT {ROW_COLUMNS}, t.description, c.display_name, \
                (SELECT u.email FROM public.users u WHERE u.id = t.customer_id) \
         FROM page t LEFT JOIN names a ON a.id = t.agent_id LEFT JOIN names c ON c.id = t.customer_id",
        names = names_of(me.role, "SELECT id FROM page")
    );
    let row = client.query_opt(&sql, &[&id]).await?;
    Ok(row.map(|r| TicketDetail {
        row: TicketRow {
            customer_name: r.get(11),
            ..ticket_row(&r)
        },
        description: r.get(10),
        customer_name: r.get(11),
        customer_email: r.get(12),
    }))
}

/// Active agents, for the hand-off picker.
pub async fn agents(client: &impl Query, me: &Me) -> Result<Vec<PersonName>, DbError> {
    if me.role == Role::Customer {
        return Ok(Vec::new()); // customers hand nothing off
    }
    let rows = client
        .query(
            "SELECT id, display_name FROM public.users \
             WHERE role = 'agent' AND disabled_at IS NULL ORDER BY display_name, id",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| PersonName {
            id: r.get(0),
            display_name: r.get(1),
            role: Role::Agent,
            active: true,
        })
        .collect())
}

pub async fn create_ticket(client: &impl Query, t: &NewTicket) -> Result<Uuid, DbError> {
    let row = match &t.customer {
        None => {
            client
                .query_one(
                    "INSERT INTO public.tickets (subject, description, priority) \
                     VALUES ($1, $2, $3::text::public.ticket_priority) RETURNING id",
                    &[&t.subject.trim(), &t.description, &t.priority],
                )
                .await?
        }
        Some(c) => {
            client
                .query_one(
                    "INSERT INTO public.tickets (customer_id, subject, description, priority) \
                     VALUES ($4, $1, $2, $3::text::public.ticket_priority) RETURNING id",
                    &[&t.subject.trim(), &t.description, &t.priority, &c.id],
                )
                .await?
        }
    };
    Ok(row.get(0))
}

/// Active customers whose login or e-mail is `who`, or whose name is (staff filing a ticket
/// for them); at most a few, so the caller can tell "none" and "which one?".
pub async fn find_customers(client: &impl Query, who: &str) -> Result<Vec<CustomerRef>, DbError> {
    let rows = client
        .query(
            "SELECT id, display_name || coalesce(' <' || email || '>', '') FROM public.users \
             WHERE role = 'customer' AND disabled_at IS NULL \
               AND (lower(login) = lower($1) OR lower(email) = lower($1) OR lower(display_name) = lower($1)) \
             ORDER BY display_name, id LIMIT 5",
            &[&who.trim()],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| CustomerRef {
            id: r.get(0),
            label: r.get(1),
        })
        .collect())
}

/// One list row by id, as the person may see it now (None when it is not theirs to see).
pub async fn row(client: &impl Query, me: &Me, id: Uuid) -> Result<Option<TicketRow>, DbError> {
    let sql = format!(
        "WITH page AS MATERIALIZED (SELECT {PAGE_COLUMNS} FROM public.tickets t WHERE t.id = $1) \
         SELECT {ROW_COLUMNS}, c.display_name FROM page t LEFT JOIN {names} a ON a.id = t.agent_id {customers}",
        names = names_of(me.role, "SELECT id FROM page"),
        customers = customer_join(me.role)
    );
    Ok(client
        .query_opt(&sql, &[&id])
        .await?
        .as_ref()
        .map(|r| TicketRow {
            customer_name: r.get(10),
            ..ticket_row(r)
        }))
}

/// Performs one action on a ticket; the database re-checks every rule and refuses with its
/// reason. Answers the changed row as the person may now see it (None once it left their view,
/// as after a hand-off).
pub async fn act(
    client: &impl Query,
    me: &Me,
    ticket: Uuid,
    action: &TicketAction,
) -> Result<Option<TicketRow>, DbError> {
    match action {
        TicketAction::Claim => {
            client
                .execute("SELECT public.claim_ticket($1)", &[&ticket])
                .await?;
        }
        TicketAction::Release => {
            client
                .execute("SELECT public.release_ticket($1)", &[&ticket])
                .await?;
        }
        TicketAction::HandOff { to } => {
            client
                .execute("SELECT public.hand_off_ticket($1, $2)", &[&ticket, to])
                .await?;
        }
        TicketAction::Change { seen_at, change } => {
            self::change(client, ticket, *seen_at, change).await?;
        }
    }
    row(client, me, ticket).await
}

async fn change(
    client: &impl Query,
    ticket: Uuid,
    seen_at: DateTime<Utc>,
    change: &Change,
) -> Result<(), DbError> {
    let (sql, value) = match change {
        Change::Status(s) => (
            "UPDATE public.tickets SET status = $1::text::public.ticket_status WHERE id = $2 AND updated_at = $3",
            s.as_sql(),
        ),
        Change::Priority(p) => (
            "UPDATE public.tickets SET priority = $1::text::public.ticket_priority WHERE id = $2 AND updated_at = $3",
            p.as_sql(),
        ),
    };
    let n = client.execute(sql, &[&value, &ticket, &seen_at]).await?;
    if n == 0 {
        return Err(DbError::Refused {
            code: STALE_WRITE.into(),
            message:
                "the ticket changed since you saw it (or is no longer yours); it has been reloaded"
                    .into(),
        });
    }
    Ok(())
}

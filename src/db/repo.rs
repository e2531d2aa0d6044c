//! Typed queries: what each pane asks the database, always through the person's own session,
//! so RLS decides what comes back. Lists page with keyset cursors, never OFFSET.

use super::error::DbError;
use crate::model::*;
use chrono::{DateTime, Utc};
use tokio_postgres::{Client, Row};
use uuid::Uuid;

pub const PAGE: i64 = 100;

/// What a list page reads of a ticket: not the description nor the search vector, which would
/// only be fetched (and detoasted) to be thrown away.
const PAGE_COLUMNS: &str = "t.id, t.subject, t.status, t.priority, t.customer_id, t.agent_id, t.created_at, t.updated_at, t.number";

/// The columns of a list row; the query joins the agent's name as `a`. `unseen` is a column
/// only the list computes (false elsewhere: an opened ticket is seen).
const ROW_COLUMNS: &str = "t.id, t.subject, t.status::text, t.priority::text, t.customer_id, t.agent_id, a.display_name, t.created_at, t.updated_at, t.number";

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

pub async fn whoami(client: &Client) -> Result<Me, DbError> {
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
pub async fn moves(client: &Client, role: Role) -> Result<Vec<Move>, DbError> {
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
/// gets the names of the people on their own tickets (`tickets_sql`, a query of ticket ids),
/// and no e-mails. `with_history` adds everyone in those tickets' history.
fn names_of(role: Role, tickets_sql: &str, with_history: bool) -> String {
    match role {
        Role::Customer => format!("public.names_on_tickets(ARRAY({tickets_sql}), {with_history})"),
        Role::Agent | Role::Admin => "public.users".to_owned(),
    }
}

/// Like `names_of`, with each person's `login` where changes are attributed: staff read it
/// (display names repeat across people); a customer is never shown logins (NULL).
fn labels_of(role: Role, tickets_sql: &str, with_history: bool) -> String {
    match role {
        Role::Customer => format!(
            "(SELECT n.id, n.display_name, NULL::text AS login FROM {} n)",
            names_of(role, tickets_sql, with_history)
        ),
        Role::Agent | Role::Admin => "public.users".to_owned(),
    }
}

/// One page of a queue. A non-empty `search` narrows it to full-text matches of subject and
/// description (through `search_tickets`, which can use the index under RLS).
pub async fn list(
    client: &Client,
    me: &Me,
    queue: Queue,
    search: &str,
    after: Option<&Cursor>,
    limit: i64,
) -> Result<Vec<TicketRow>, DbError> {
    // Parameters: $1 me, $2 limit, $3 cursor time, $4 cursor priority, $5 cursor id, $6 search.
    let search = search.trim();
    let urgency = matches!(
        (queue, me.role),
        (Queue::Mine | Queue::Unassigned, Role::Agent | Role::Admin)
    );
    // The explicit filters repeat what RLS enforces anyway, so the planner can pick the
    // matching index. An agent's own queues come from agent_queue(), which reads them in
    // index order (RLS alone makes the planner read and sort the whole queue).
    let (source, filter) = match (queue, me.role, search.is_empty()) {
        (Queue::Mine, Role::Agent, true) => (
            "public.agent_queue('mine', $2::bigint::int, $4::text::public.ticket_priority, $3, $5) t".to_owned(),
            "$1::uuid IS NOT NULL",
        ),
        (Queue::Unassigned, Role::Agent, true) => (
            "public.agent_queue('unassigned', $2::bigint::int, $4::text::public.ticket_priority, $3, $5) t".to_owned(),
            "$1::uuid IS NOT NULL",
        ),
        (q, role, plain) => {
            // search_tickets returns the newest matches the caller may read. When the queue
            // narrows them no further (everything visible; a customer's own) and this is the
            // first page, a page's worth is enough; otherwise take up to its cap of 1,000.
            let narrows = matches!((q, role), (Queue::Mine | Queue::Unassigned, Role::Agent | Role::Admin));
            let cap = if narrows || after.is_some() { 1000 } else { limit.clamp(1, 1000) };
            let source = if plain {
                "public.tickets t".to_owned()
            } else {
                format!("public.search_tickets($6, {cap}) t")
            };
            (source, queue_filter(q, role))
        }
    };
    let (keyset, order) = if urgency {
        (
            "($3::timestamptz IS NULL OR t.priority < $4::text::public.ticket_priority \
              OR (t.priority = $4::text::public.ticket_priority AND (t.created_at, t.id) > ($3, $5)))",
            "t.priority DESC, t.created_at, t.id",
        )
    } else {
        // $4 is not needed here, but every parameter must have a type.
        (
            "($3::timestamptz IS NULL OR (t.updated_at, t.id) < ($3, $5)) AND $4::text IS NOT NULL",
            "t.updated_at DESC, t.id DESC",
        )
    };
    // Which of the page's tickets have news for the person since they last opened them.
    let sql = format!(
        "WITH page AS MATERIALIZED (SELECT {PAGE_COLUMNS} FROM {source} WHERE {filter} AND {keyset} ORDER BY {order} LIMIT $2), \
              unseen AS MATERIALIZED (SELECT public.unseen_tickets(ARRAY(SELECT id FROM page)) AS id) \
         SELECT {ROW_COLUMNS}, (t.id IN (SELECT id FROM unseen)), c.display_name FROM page t LEFT JOIN {names} a ON a.id = t.agent_id {customers} ORDER BY {order}",
        names = names_of(me.role, "SELECT id FROM page", false),
        customers = customer_join(me.role)
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
            .query(&sql, &[&me.id, &limit, &at, &prio, &id, &search])
            .await?
    };
    Ok(rows
        .iter()
        .map(|r| TicketRow {
            unseen: r.get(10),
            customer_name: r.get(11),
            ..ticket_row(r)
        })
        .collect())
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
    client: &Client,
    me: &Me,
    queue: Queue,
    ids: &[Uuid],
) -> Result<Vec<TicketRow>, DbError> {
    let sql = format!(
        "WITH page AS MATERIALIZED (SELECT {PAGE_COLUMNS} FROM public.tickets t WHERE t.id = ANY($2) AND {filter}), \
              unseen AS MATERIALIZED (SELECT public.unseen_tickets(ARRAY(SELECT id FROM page)) AS id) \
         SELECT {ROW_COLUMNS}, (t.id IN (SELECT id FROM unseen)), c.display_name FROM page t LEFT JOIN {names} a ON a.id = t.agent_id {customers}",
        filter = queue_filter(queue, me.role),
        names = names_of(me.role, "SELECT id FROM page", false),
        customers = customer_join(me.role)
    );
    let rows = client.query(&sql, &[&me.id, &ids]).await?;
    Ok(rows
        .iter()
        .map(|r| TicketRow {
            unseen: r.get(10),
            customer_name: r.get(11),
            ..ticket_row(r)
        })
        .collect())
}

/// `%text%` for ILIKE with the text's own `%`, `_` and `\` taken literally; empty stays empty.
fn like_pattern(text: &str) -> String {
    let text = text.trim();
    if text.is_empty() {
        return String::new();
    }
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// How many tickets each of the person's queues holds (what the tabs show), and how many of
/// theirs have news since they last opened them.
pub async fn counts(client: &Client, me: &Me) -> Result<(Vec<(Queue, i64)>, i64), DbError> {
    let unseen = super::thread::unseen_count(client).await?;
    Ok((queue_counts(client, me).await?, unseen))
}

async fn queue_counts(client: &Client, me: &Me) -> Result<Vec<(Queue, i64)>, DbError> {
    // ticket_counts(): maintained totals for the large ones (0020), an index for the rest.
    let row = client
        .query_one(
            "SELECT mine, unassigned, visible FROM public.ticket_counts()",
            &[],
        )
        .await?;
    let (mine, unassigned, visible): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
    Ok(Queue::for_role(me.role)
        .iter()
        .map(|&q| {
            let n = match (q, me.role) {
                (Queue::Mine, _) => mine,
                (Queue::Unassigned, _) => unassigned,
                (Queue::All, _) => visible,
            };
            (q, n)
        })
        .collect())
}

pub async fn ticket(client: &Client, me: &Me, id: Uuid) -> Result<Option<TicketDetail>, DbError> {
    // users' own policy decides whose e-mail shows: staff see it, a customer only their own.
    let sql = format!(
        "WITH page AS MATERIALIZED (SELECT t.* FROM public.tickets t WHERE t.id = $1), \
              names AS MATERIALIZED (SELECT * FROM {names} n \
                  WHERE n.id IN (SELECT agent_id FROM page UNION ALL SELECT customer_id FROM page)) \
         SELECT {ROW_COLUMNS}, t.description, c.display_name, \
                (SELECT u.email FROM public.users u WHERE u.id = t.customer_id) \
         FROM page t LEFT JOIN names a ON a.id = t.agent_id LEFT JOIN names c ON c.id = t.customer_id",
        names = names_of(me.role, "SELECT id FROM page", false)
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

const HISTORY_COLUMNS: &str = "h.id, h.ticket_id, h.seq, h.kind::text, h.old_status::text, h.new_status::text, \
     oa.display_name, na.display_name, h.old_priority::text, h.new_priority::text, h.changed_by, \
     coalesce(cb.display_name, 'someone'), h.changed_at, oa.login, na.login, cb.login";
/// The joins that name the people of history rows `h` from the relation `n` (id,
/// display_name, login).
fn history_joins(n: &str) -> String {
    format!(
        "LEFT JOIN {n} oa ON oa.id = h.old_agent_id LEFT JOIN {n} na ON na.id = h.new_agent_id \
         LEFT JOIN {n} cb ON cb.id = h.changed_by"
    )
}

fn history_entry(r: &Row, subject: Option<String>) -> HistoryEntry {
    HistoryEntry {
        id: r.get(0),
        ticket_id: r.get(1),
        ticket_subject: subject,
        ticket_number: None,
        seq: r.get(2),
        kind: ChangeKind::from_sql(r.get(3)).unwrap_or(ChangeKind::Status),
        old_status: r.get::<_, Option<&str>>(4).and_then(Status::from_sql),
        new_status: r.get::<_, Option<&str>>(5).and_then(Status::from_sql),
        old_agent: person_label(r.get(6), r.get(13)),
        new_agent: person_label(r.get(7), r.get(14)),
        old_priority: r.get::<_, Option<&str>>(8).and_then(Priority::from_sql),
        new_priority: r.get::<_, Option<&str>>(9).and_then(Priority::from_sql),
        changed_by: r.get(10),
        changed_by_name: person_label(r.get(11), r.get(15)).unwrap_or_default(),
        changed_by_login: r.get(15),
        changed_at: r.get(12),
    }
}

const PAGE_PEOPLE: &str = "SELECT old_agent_id FROM page UNION SELECT new_agent_id FROM page UNION SELECT changed_by FROM page";

/// One ticket's timeline, oldest first.
pub async fn history(client: &Client, me: &Me, ticket: Uuid) -> Result<Vec<HistoryEntry>, DbError> {
    let sql = format!(
        "WITH page AS MATERIALIZED (SELECT * FROM public.ticket_status_history WHERE ticket_id = $1), \
              people AS MATERIALIZED (SELECT n.id, n.display_name, n.login FROM {names} n WHERE n.id IN ({ids})) \
         SELECT {HISTORY_COLUMNS} FROM page h {joins} ORDER BY h.seq",
        // One look-up of the few people on the page, not one per column.
        names = labels_of(me.role, "SELECT $1::uuid", true),
        ids = PAGE_PEOPLE,
        joins = history_joins("people")
    );
    let rows = client.query(&sql, &[&ticket]).await?;
    Ok(rows.iter().map(|r| history_entry(r, None)).collect())
}

/// One page of the audit feed across all tickets, newest first (admins).
pub async fn audit(
    client: &Client,
    filter: &AuditFilter,
    after: Option<&AuditCursor>,
    limit: i64,
) -> Result<Vec<HistoryEntry>, DbError> {
    let sql = format!(
        "SELECT {HISTORY_COLUMNS}, t.subject, t.number FROM public.ticket_status_history h \
         JOIN public.tickets t ON t.id = h.ticket_id {joins} \
         WHERE ($1::timestamptz IS NULL OR (h.changed_at, h.id) < ($1, $2)) \
           AND ($3::uuid[] IS NULL OR h.changed_by = ANY ($3)) \
           AND ($4 = '' OR t.id::text LIKE ltrim($4, '%') OR t.subject ILIKE $4) \
           AND ($5 = '' OR h.kind::text = $5) \
           AND ($6::timestamptz IS NULL OR h.changed_at >= $6) \
           AND ($7::timestamptz IS NULL OR h.changed_at < $7) \
         ORDER BY h.changed_at DESC, h.id DESC LIMIT $8",
        joins = history_joins("public.users")
    );
    // The person first, so the feed can be read through history_changed_by instead of testing
    // every history row against a name pattern.
    let people: Option<Vec<Uuid>> = if filter.person.trim().is_empty() {
        None
    } else {
        Some(vec![audit_person(client, &filter.person).await?])
    };
    let kind = filter.kind.map(ChangeKind::as_sql).unwrap_or("");
    let rows = client
        .query(
            &sql,
            &[
                &after.map(|c| c.changed_at),
                &after.map(|c| c.id),
                &people,
                &like_pattern(&filter.ticket),
                &kind,
                &filter.since,
                &filter.until,
                &limit,
            ],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| HistoryEntry {
            ticket_number: r.get(17),
            ..history_entry(r, r.get(16))
        })
        .collect())
}

/// The one person the audit filter names: their login, else the one person whose display
/// name it is, else the one person whose name or login contains it. Names repeat across
/// people, so anything that fits several is refused with their logins, never merged.
async fn audit_person(client: &Client, who: &str) -> Result<Uuid, DbError> {
    let who = who.trim();
    let rows = client
        .query(
            "WITH by_login AS (SELECT id, display_name, login FROM public.users WHERE login = lower($1)), \
                  by_name AS (SELECT id, display_name, login FROM public.users \
                              WHERE lower(display_name) = lower($1) AND NOT EXISTS (SELECT FROM by_login)), \
                  by_part AS (SELECT id, display_name, login FROM public.users \
                              WHERE (display_name ILIKE $2 OR login ILIKE $2) \
                                AND NOT EXISTS (SELECT FROM by_login) AND NOT EXISTS (SELECT FROM by_name)) \
             SELECT * FROM (SELECT * FROM by_login UNION ALL SELECT * FROM by_name \
                            UNION ALL SELECT * FROM by_part) p ORDER BY login LIMIT 6",
            &[&who, &like_pattern(who)],
        )
        .await?;
    let label = |r: &Row| format!("{} ({})", r.get::<_, String>(1), r.get::<_, String>(2));
    match rows.as_slice() {
        [one] => Ok(one.get(0)),
        [] => Err(DbError::Refused {
            code: "P0002".into(),
            message: format!("no one has the login or name \"{who}\""),
        }),
        many if many.len() > 5 => Err(DbError::Refused {
            code: "21000".into(),
            message: format!(
                "more than 5 people match \"{who}\": filter by one login (e.g. {})",
                many.iter()
                    .take(3)
                    .map(label)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }),
        many => Err(DbError::Refused {
            code: "21000".into(),
            message: format!(
                "\"{who}\" fits {} people: filter by one login ({})",
                many.len(),
                many.iter().map(label).collect::<Vec<_>>().join(", ")
            ),
        }),
    }
}

/// Active agents, for the hand-off picker.
pub async fn agents(client: &Client, me: &Me) -> Result<Vec<PersonName>, DbError> {
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

pub async fn create_ticket(client: &Client, t: &NewTicket) -> Result<Uuid, DbError> {
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
pub async fn find_customers(client: &Client, who: &str) -> Result<Vec<CustomerRef>, DbError> {
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
pub async fn row(client: &Client, me: &Me, id: Uuid) -> Result<Option<TicketRow>, DbError> {
    let sql = format!(
        "WITH page AS MATERIALIZED (SELECT {PAGE_COLUMNS} FROM public.tickets t WHERE t.id = $1) \
         SELECT {ROW_COLUMNS}, c.display_name FROM page t LEFT JOIN {names} a ON a.id = t.agent_id {customers}",
        names = names_of(me.role, "SELECT id FROM page", false),
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
    client: &Client,
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
    client: &Client,
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

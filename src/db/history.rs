//! The admins' audit feed across all tickets: who changed what, each person as "Name
//! (login)", paged with keyset cursors from either end. A ticket's own timeline is read with
//! its conversation, a page at a time, through `ticket_thread` (`db::thread`).

use super::error::DbError;
use super::statements::Query;
use crate::model::*;
use tokio_postgres::Row;
use uuid::Uuid;

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

/// One page of the audit feed across all tickets, newest first (admins).
pub async fn audit(
    client: &impl Query,
    filter: &AuditFilter,
    after: Option<&AuditCursor>,
    limit: i64,
) -> Result<Vec<HistoryEntry>, DbError> {
    audit_page(client, filter, after, limit, false).await
}

/// The page of the audit feed just before `before` (newer than it), or its last page, the
/// oldest changes (None): read from the other side, answered newest first.
pub async fn audit_tail(
    client: &impl Query,
    filter: &AuditFilter,
    before: Option<&AuditCursor>,
    limit: i64,
) -> Result<Vec<HistoryEntry>, DbError> {
    let mut rows = audit_page(client, filter, before, limit, true).await?;
    rows.reverse();
    Ok(rows)
}

async fn audit_page(
    client: &impl Query,
    filter: &AuditFilter,
    after: Option<&AuditCursor>,
    limit: i64,
    reverse: bool,
) -> Result<Vec<HistoryEntry>, DbError> {
    let (keyset, order) = if reverse {
        (">", "h.changed_at, h.id")
    } else {
        ("<", "h.changed_at DESC, h.id DESC")
    };
    let sql = format!(
        "SELECT {HISTORY_COLUMNS}, t.subject, t.number FROM public.ticket_status_history h \
         JOIN public.tickets t ON t.id = h.ticket_id {joins} \
         WHERE ($1::timestamptz IS NULL OR (h.changed_at, h.id) {keyset} ($1, $2)) \
           AND ($3::uuid[] IS NULL OR h.changed_by = ANY ($3)) \
           AND ($4 = '' OR t.id::text LIKE ltrim($4, '%') OR t.subject ILIKE $4) \
           AND ($5 = '' OR h.kind::text = $5) \
           AND ($6::timestamptz IS NULL OR h.changed_at >= $6) \
           AND ($7::timestamptz IS NULL OR h.changed_at < $7) \
         ORDER BY {order} LIMIT $8",
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
async fn audit_person(client: &impl Query, who: &str) -> Result<Uuid, DbError> {
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

//! People: the CLI side of `create_person`, `disable_person` and `enable_person`. The SQL
//! functions do the checking, in one transaction, so psql and this CLI obey the same rules.

use crate::db::DbError;
use crate::ui::text::{one_line, width};
use chrono::{DateTime, Utc};
use tokio_postgres::Client;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct Person {
    pub id: Uuid,
    pub login: String,
    pub display_name: String,
    pub email: String,
    pub role: String,
    pub disabled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// Creates a person. The server receives a SCRAM-SHA-256 verifier computed here, never the
/// password: a statement log (`log_statement = 'all'`) or a monitoring view shows only the
/// verifier, as with psql's `\password`. PostgreSQL stores a verifier given as the password as is.
pub async fn add(
    client: &Client,
    login: &str,
    role: &str,
    name: &str,
    email: &str,
    password: &str,
) -> Result<Uuid, DbError> {
    let verifier = verifier(password);
    let row = client
        .query_one(
            "SELECT public.create_person($1, $2::text::public.user_role, $3, $4, $5)",
            &[&login, &role, &name, &email, &verifier],
        )
        .await?;
    Ok(row.get(0))
}

/// The SCRAM-SHA-256 verifier of `password` (a fresh salt, 4,096 iterations: the server's
/// own defaults), in the form `CREATE ROLE ... PASSWORD` recognises.
pub fn verifier(password: &str) -> String {
    postgres_protocol::password::scram_sha_256(password.as_bytes())
}

/// Changes the session user's own password (any login may change its own), sending only the
/// verifier. ALTER ROLE takes no parameters, so the verifier is inlined; it is base64 and
/// `$:` only, checked here, so it cannot break out of its quotes.
pub async fn change_own_password(client: &Client, password: &str) -> Result<(), DbError> {
    let verifier = verifier(password);
    if !verifier
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "$:+/=-".contains(c))
    {
        return Err(DbError::Refused {
            code: "22023".into(),
            message: "the password verifier has unexpected characters".into(),
        });
    }
    client
        .batch_execute(&format!("ALTER ROLE CURRENT_USER PASSWORD '{verifier}'"))
        .await?;
    Ok(())
}

/// Disables a person and hands on their active tickets: released to the pool, or handed to
/// the active agent `hand_to`. Returns how many tickets were handed on.
pub async fn disable(client: &Client, login: &str, hand_to: Option<&str>) -> Result<i32, DbError> {
    let row = client
        .query_one("SELECT public.disable_person($1, $2)", &[&login, &hand_to])
        .await?;
    Ok(row.get(0))
}

/// What `tickets user disable` prints: who, and what became of their active tickets.
pub fn disabled_sentence(login: &str, hand_to: Option<&str>, handed: i32) -> String {
    let tickets = match handed {
        1 => "1 active ticket".to_owned(),
        n => format!("{n} active tickets"),
    };
    let what = match (handed, hand_to) {
        (0, _) => "they held no active tickets".to_owned(),
        (_, None) => format!("released {tickets} to the pool"),
        (_, Some(heir)) => format!("handed {tickets} to {heir}"),
    };
    format!("disabled {login}: they can no longer log in, and their history stays; {what}")
}

pub async fn enable(client: &Client, login: &str) -> Result<(), DbError> {
    client
        .execute("SELECT public.enable_person($1)", &[&login])
        .await?;
    Ok(())
}

pub async fn list(client: &Client) -> Result<Vec<Person>, DbError> {
    let rows = client
        .query(
            "SELECT id, login, display_name, email, role::text, disabled_at, created_at
             FROM public.users ORDER BY role, login",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| Person {
            id: r.get(0),
            login: r.get(1),
            display_name: r.get(2),
            email: r.get(3),
            role: r.get(4),
            disabled_at: r.get(5),
            created_at: r.get(6),
        })
        .collect())
}

/// A plain table for `tickets user list`.
pub fn format_table(people: &[Person]) -> String {
    let headers = ["LOGIN", "ROLE", "NAME", "EMAIL", "STATUS", "CREATED"];
    let rows: Vec<[String; 6]> = people
        .iter()
        .map(|p| {
            [
                p.login.clone(),
                p.role.clone(),
                // Anyone with psql may have typed these: no escape reaches the DBA's terminal.
                one_line(&p.display_name).into_owned(),
                one_line(&p.email).into_owned(),
                match p.disabled_at {
                    Some(at) => format!("disabled {}", at.format("%Y-%m-%d")),
                    None => "active".into(),
                },
                p.created_at.format("%Y-%m-%d %H:%M").to_string(),
            ]
        })
        .collect();
    let mut widths = headers.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(width(cell));
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[String]| {
        let parts: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| {
                let pad = w.saturating_sub(width(c));
                format!("{c}{}", " ".repeat(pad))
            })
            .collect();
        out.push_str(parts.join("  ").trim_end());
        out.push('\n');
    };
    line(&headers.map(String::from));
    for row in &rows {
        line(row);
    }
    out
}

/// Whether this connection may manage people (a superuser, or an active admin of this
/// database); otherwise `Err` with the one sentence that says why not.
pub async fn may_manage(client: &Client) -> Result<Result<(), String>, DbError> {
    let row = client
        .query_one(
            "SELECT session_user::text, r.rolsuper,
                    EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members m
                            JOIN pg_catalog.pg_roles g ON g.oid = m.roleid
                            WHERE m.member = r.oid
                              AND g.rolname IN ('tickets_customer', 'tickets_agent', 'tickets_admin'))
             FROM pg_catalog.pg_roles r WHERE r.rolname = session_user",
            &[],
        )
        .await?;
    let (login, superuser, in_a_group): (String, bool, bool) = (row.get(0), row.get(1), row.get(2));
    let instead = "use an admin's login or a superuser's (--database-url URL or DATABASE_URL)";
    if superuser {
        return Ok(Ok(()));
    }
    let role: Option<String> = if in_a_group {
        client
            .query_one("SELECT (app.current_person()).role::text", &[])
            .await?
            .get(0)
    } else {
        None
    };
    Ok(match role.as_deref() {
        Some("admin") => Ok(()),
        Some(role) => Err(format!(
            "only admins manage people, and {login} is {} {role}: {instead}",
            if role == "agent" { "an" } else { "a" }
        )),
        None => Err(format!(
            "{login} can log in to PostgreSQL but is not an active person of this tickets database, so cannot manage people: {instead}"
        )),
    })
}

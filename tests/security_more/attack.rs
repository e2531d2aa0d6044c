//! The session and login attacks of security_more.rs, one function each.

use super::*;
use common::attack::{describe, refused, refused_with, rows};
use futures_util::{SinkExt, TryStreamExt};
use std::time::Duration;

pub async fn forged_user_id_mirror(w: &World) -> Check {
    w.steps(
        r"
        c1 | rows 0 | SET app.user_id = {c2}
        c1 | 42501 app.user_id is set to | SELECT id FROM tickets
        c1 | 42501 app.user_id is set to | SELECT email FROM users
        c1 | 42501 app.user_id is set to | INSERT INTO tickets (subject) VALUES ('as c2')
        c1 | 42501 app.user_id is set to | SELECT id FROM search_tickets('one')
        a1 | rows 0 | SET app.user_id = {admin}
        a1 | 42501 app.user_id is set to | SELECT claim_ticket({c2_ticket})
        c1 | rows 0 | RESET app.user_id
        c1 | rows 2 | SELECT id FROM tickets
    ",
    )
    .await
}

pub async fn forged_role_mirror(w: &World) -> Check {
    w.steps(
        r"
        c1 | rows 0 | SET app.role = 'admin'
        c1 | 42501 app.role is set to admin | SELECT id FROM tickets
        c1 | 42501 app.role is set to admin | SELECT id FROM ticket_status_history
        a1 | rows 0 | SET app.role = 'admin'
        a1 | 42501 app.role is set to admin | SELECT id FROM tickets
        a1 | 42501 app.role is set to admin | SELECT hand_off_ticket({c2_ticket}, {a2})
        a1 | rows 0 | SET app.role = ''
        a1 | rows 3 | SELECT id FROM tickets
    ",
    )
    .await
}

/// set_config() inside the statement runs after the policy has taken the identity.
/// Setting a mirror inside the statement gains nothing: the identity was read before it
/// (the customer's rows come back, and the next statement is refused), or is read after it
/// and refuses at once, undoing the setting with the statement (the agent policy checks who
/// is asking as it meets the first row, since 0019).
pub async fn forged_mirror_within_the_statement(w: &World) -> Check {
    w.steps(r"
        c1 | rows 2 | SELECT set_config('app.role', 'admin', false), id FROM tickets
        c1 | 42501 app.role is set to admin | SELECT id FROM tickets
        a1 | 42501 app.user_id is set to | SELECT id FROM tickets WHERE set_config('app.user_id', {admin}::text, false) IS NOT NULL
        a1 | rows 3 | SELECT id FROM tickets
    ").await
}

pub async fn reset_all_keeps_the_identity(w: &World) -> Check {
    w.steps(
        r"
        c1 | rows 0 | SET app.user_id = {c2}
        c1 | rows 0 | RESET ALL
        c1 | rows 2 | SELECT id FROM tickets
        c1 | rows 0 | SELECT id FROM tickets WHERE customer_id <> {c1}
        c1 | rows 1 | SELECT 1 WHERE current_setting('app.user_id') = {c1}::text
    ",
    )
    .await
}

pub async fn discard_all_keeps_the_identity(w: &World) -> Check {
    w.steps(r"
        c1 | rows 0 | SET ROLE tickets_customer
        c1 | rows 0 | SET app.role = 'admin'
        c1 | rows 0 | DISCARD ALL
        c1 | rows 2 | SELECT id FROM tickets
        c1 | rows 1 | SELECT 1 WHERE current_user = '{c1.login}' AND current_setting('app.role') = 'customer'
    ").await
}

pub async fn set_role_to_a_group_or_another_person(w: &World) -> Check {
    w.steps(r#"
        c1 | 42501 permission denied to set role "tickets_admin" | SET ROLE tickets_admin
        c1 | 42501 permission denied to set role "tickets_agent" | SET ROLE tickets_agent
        c1 | 42501 permission denied to set role "{c2.login}" | SET ROLE {c2.login}
        c1 | 42501 permission denied to set role "tickets_admin" | SELECT set_config('role', 'tickets_admin', false)
        a1 | 42501 permission denied to set role "tickets_admin" | SET ROLE tickets_admin
        a1 | 42501 permission denied to set role "{a2.login}" | SET ROLE {a2.login}
        admin | 42501 permission denied to set role "tickets_owner" | SET ROLE tickets_owner
        admin | 42501 permission denied to set role "tickets_provisioner" | SET ROLE tickets_provisioner
        admin | 42501 permission denied to set role "{c1.login}" | SET ROLE {c1.login}
    "#).await
}

pub async fn set_session_authorization(w: &World) -> Check {
    w.steps(r"
        c1 | 42501 permission denied to set session authorization | SET SESSION AUTHORIZATION {c2.login}
        admin | 42501 permission denied to set session authorization | SET SESSION AUTHORIZATION {a1.login}
    ").await
}

pub async fn set_role_to_own_group_gains_nothing(w: &World) -> Check {
    w.steps(
        r"
        c1 | rows 0 | SET ROLE tickets_customer
        c1 | rows 2 | SELECT id FROM tickets
        c1 | rows 1 | SELECT email FROM users
        c1 | 42501 permission denied for table tickets | UPDATE tickets SET subject = 'as the group'
    ",
    )
    .await
}

pub async fn row_security_off(w: &World) -> Check {
    w.steps(r#"
        c1 | rows 0 | SET row_security = off
        c1 | 42501 query would be affected by row-level security policy for table "tickets" | SELECT id FROM tickets
        a1 | rows 0 | SET row_security = off
        a1 | 42501 query would be affected by row-level security policy for table "users" | SELECT email FROM users
    "#).await
}

/// `replica` would switch off every trigger: the rules and the audit trail.
pub async fn session_replication_role_to_skip_triggers(w: &World) -> Check {
    w.steps(r#"
        c1 | 42501 permission denied to set parameter "session_replication_role" | SET session_replication_role = replica
        a1 | 42501 permission denied to set parameter "session_replication_role" | SET session_replication_role = replica
        admin | 42501 permission denied to set parameter "session_replication_role" | SET session_replication_role = replica
    "#).await
}

/// A pg_temp object named like ours is the classic hijack of an unpinned definer function.
pub async fn temporary_objects_to_hijack_names(w: &World) -> Check {
    w.steps(r"
        c1 | 42501 permission denied to create temporary tables | CREATE TEMP TABLE users (id uuid)
        a1 | 42501 permission denied to create temporary tables | CREATE FUNCTION pg_temp.uid() RETURNS uuid LANGUAGE sql AS 'SELECT NULL::uuid'
        admin | 42501 permission denied to create temporary tables | CREATE TEMP VIEW tickets AS SELECT * FROM public.tickets
        c1 | rows 0 | SET search_path = pg_temp, public
        c1 | rows 2 | SELECT id FROM tickets
    ").await
}

pub async fn objects_in_shared_schemas(w: &World) -> Check {
    w.steps(r"
        c1 | 42501 permission denied for schema public | CREATE TABLE public.evil (id int)
        a1 | 42501 permission denied for schema app | CREATE TABLE app.evil (id int)
        a1 | 42501 permission denied for schema public | CREATE FUNCTION public.uid() RETURNS uuid LANGUAGE sql AS 'SELECT NULL::uuid'
        admin | 42501 permission denied for schema public | CREATE VIEW public.everything AS SELECT * FROM tickets
        admin | 42501 permission denied for database | CREATE SCHEMA evil
    ").await
}

/// The mirrors and the role's rights are the provisioner's to set; a reset clears only
/// what the person could set themselves, which excludes the mirrors.
pub async fn alter_own_role(w: &World) -> Check {
    w.steps(r#"
        c1 | 42501 permission denied to set parameter "app.role" | ALTER ROLE {c1.login} IN DATABASE {db} SET app.role = 'admin'
        c1 | 42501 permission denied to set parameter "app.user_id" | ALTER ROLE {c1.login} SET app.user_id = {c2}
        c1 | 42501 must be superuser to change bypassrls attribute | ALTER ROLE {c1.login} BYPASSRLS
        c1 | 42501 must have admin option on role "tickets_admin" | GRANT tickets_admin TO {c1.login}
        a1 | 42501 permission denied | ALTER ROLE {a1.login} CREATEROLE
        admin | 42501 permission denied | ALTER ROLE {a1.login} NOLOGIN
        c1 | rows 0 | ALTER ROLE {c1.login} IN DATABASE {db} RESET ALL
    "#).await
}

pub async fn people_functions_for_non_admins(w: &World) -> Check {
    w.steps(r"
        a1 | 42501 permission denied for function create_person | SELECT create_person('mole', 'admin', 'Mole', 'mole@example.test', 'pw')
        c1 | 42501 permission denied for function disable_person | SELECT disable_person('{a1.login}')
        a1 | 42501 permission denied for function enable_person | SELECT enable_person('{a2.login}')
        a1 | 42501 permission denied for function require_people_manager | SELECT app.require_people_manager()
        a1 | 42501 permission denied for function hand_on_tickets_of | SELECT app.hand_on_tickets_of({a2}, {a1})
        c1 | 42501 permission denied for function hand_on_tickets_of | SELECT app.hand_on_tickets_of({a1}, NULL)
    ").await
}

pub async fn admin_takes_a_reserved_or_taken_login(w: &World) -> Check {
    w.steps(r#"
        admin | 22023 login "postgres" is reserved | SELECT create_person('postgres', 'admin', 'x', 'x@example.test', 'pw')
        admin | 22023 login "tickets_owner" is reserved | SELECT create_person('tickets_owner', 'admin', 'x', 'x@example.test', 'pw')
        admin | 22023 login "pg_monitor" is reserved | SELECT create_person('pg_monitor', 'admin', 'x', 'x@example.test', 'pw')
        admin | 22023 login "public" is reserved | SELECT create_person('public', 'admin', 'x', 'x@example.test', 'pw')
        admin | 42710 is already taken | SELECT create_person('{a1.login}', 'admin', 'x', 'x@example.test', 'pw')
        admin | 42501 you cannot disable yourself | SELECT disable_person('{admin.login}')
    "#).await
}

/// COPY FROM would skip the insert policy; COPY TO must be filtered like a SELECT.
pub async fn copy_tickets_in_and_out(w: &World) -> Check {
    let before = w.state().await;
    let c1 = w.session("c1").await;
    for (sql, want) in [
        ("COPY tickets TO STDOUT", 2),
        ("COPY users TO STDOUT", 1),
        ("COPY ticket_status_history TO STDOUT", 2),
    ] {
        let stream = c1.copy_out(sql).await.map_err(|e| describe(&e))?;
        let chunks: Vec<_> = stream.try_collect().await.map_err(|e| describe(&e))?;
        let lines = chunks
            .iter()
            .map(|c| c.iter().filter(|b| **b == b'\n').count());
        let got: usize = lines.sum();
        if got != want {
            return Err(format!("`{sql}`: {got} lines, expected {want}"));
        }
    }
    // Last: a refused copy_in leaves tokio-postgres's connection unusable.
    let sql = "COPY tickets (subject) FROM STDIN";
    let copy_in = async {
        let sink = c1.copy_in::<_, &'static [u8]>(sql).await?;
        futures_util::pin_mut!(sink);
        sink.send(&b"copied in\n"[..]).await?;
        sink.as_mut().finish().await
    };
    let not_supported = "COPY FROM not supported with row-level security";
    refused_with(sql, copy_in.await, "0A000", not_supported)?;
    w.unchanged(&before).await
}

pub async fn terminate_or_cancel_another_session(w: &World) -> Check {
    let victim = w.session("c2").await;
    let pid: i32 = victim
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    for who in ["c1", "a1", "admin"] {
        let c = w.session(who).await;
        let sql = format!("SELECT pg_terminate_backend({pid})");
        let denied = "permission denied for function pg_terminate_backend";
        refused(&c, &sql, "42501", denied).await?;
        let sql = format!("SELECT pg_cancel_backend({pid})");
        let denied = "permission denied for function pg_cancel_backend";
        refused(&c, &sql, "42501", denied).await?;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    rows(&victim, "SELECT 1", 1)
        .await
        .map_err(|e| format!("the victim's session was ended: {e}"))
}

pub async fn read_another_sessions_query_text(w: &World) -> Check {
    let victim = w.session("c2").await;
    let pid: i32 = victim
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    victim
        .batch_execute("SELECT 'the secret the victim typed'")
        .await
        .unwrap();
    for who in ["c1", "a1", "admin"] {
        let c = w.session(who).await;
        let sql = "SELECT query FROM pg_stat_activity WHERE pid = $1";
        // Customers and agents may not read pg_stat_activity at all (security_abuse.rs).
        if who != "admin" {
            let denied = "permission denied for view pg_stat_activity";
            refused_with(sql, c.query_one(sql, &[&pid]).await, "42501", denied)?;
            continue;
        }
        let row = c.query_one(sql, &[&pid]).await.map_err(|e| describe(&e))?;
        let query: Option<String> = row.get(0);
        if query.as_deref() != Some("<insufficient privilege>") {
            return Err(format!(
                "{} read another session's query: {query:?}",
                w.person(who).login
            ));
        }
    }
    Ok(())
}

pub async fn disabled_person_cannot_log_in(w: &World) -> Check {
    let admin = w.session("admin").await;
    let sql = format!("SELECT disable_person('{}')", w.person("c2").login);
    admin
        .execute(sql.as_str(), &[])
        .await
        .map_err(|e| describe(&e))?;
    let attempt = w.db.login_config(w.person("c2")).connect(NoTls).await;
    refused_with(
        "log in as a disabled person",
        attempt.map(|_| ()),
        "28000",
        "is not permitted to log in",
    )
}

pub async fn disabled_agents_open_session_ends(w: &World) -> Check {
    let (a1, mut messages) = watched_login(w.db.login_config(w.person("a1")))
        .await
        .map_err(|e| describe(&e))?;
    rows(&a1, "SELECT id FROM tickets", 3).await?;
    let admin = w.session("admin").await;
    let sql = format!("SELECT disable_person('{}')", w.person("a1").login);
    admin
        .execute(sql.as_str(), &[])
        .await
        .map_err(|e| describe(&e))?;
    // The connection ends: its message channel closes within a few seconds.
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        while messages.recv().await.is_some() {}
    });
    if ended.await.is_err() {
        return Err("the disabled agent's session is still open after 5 s".into());
    }
    match a1.execute("SELECT 1", &[]).await {
        Err(e) if e.is_closed() => {}
        other => return Err(format!("the disabled agent's session answered: {other:?}")),
    }
    let left =
        w.su.query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE usename = $1",
            &[&w.person("a1").login],
        )
        .await
        .unwrap();
    match left.get::<_, i64>(0) {
        0 => Ok(()),
        n => Err(format!("{n} sessions of the disabled agent remain")),
    }
}

/// NOTIFY bypasses RLS, so the payload is an id only, and reading it gives nothing.
pub async fn notification_reveals_only_an_id(w: &World) -> Check {
    let (c1, mut messages) = watched_login(w.db.login_config(w.person("c1")))
        .await
        .map_err(|e| describe(&e))?;
    c1.batch_execute("LISTEN tickets_changed").await.unwrap();
    let c2 = w.session("c2").await;
    let theirs = file(&c2, "private matter").await;
    // Writers only queue the change (0020); the notifier announces it. Its part, here:
    w.su.execute("SELECT announce_ticket_changes()", &[])
        .await
        .unwrap();
    let notification = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match messages.recv().await {
                Some(AsyncMessage::Notification(n)) => break Some(n),
                Some(_) => continue,
                None => break None,
            }
        }
    });
    let n = match notification.await {
        Ok(Some(n)) => n,
        _ => return Err("no notification arrived within 5 s".into()),
    };
    // The announcement is a sequence number only: not the ticket's id, nor anything else.
    if n.channel() != "tickets_changed" || n.payload().parse::<i64>().is_err() {
        return Err(format!("notification {:?} on {}", n.payload(), n.channel()));
    }
    let changes = c1
        .query(
            "SELECT ticket_id FROM ticket_changes WHERE ticket_id = $1",
            &[&theirs],
        )
        .await
        .map_err(|e| describe(&e))?;
    if !changes.is_empty() {
        return Err(format!(
            "c1 read {} change rows of c2's ticket",
            changes.len()
        ));
    }
    let read = c1
        .query("SELECT subject FROM tickets WHERE id = $1", &[&theirs])
        .await;
    match read.map_err(|e| describe(&e))?.len() {
        0 => Ok(()),
        n => Err(format!("c1 read {n} rows of c2's announced ticket")),
    }
}

/// Every tickets database in a cluster grants CONNECT to the same group roles, so a person
/// of another database can connect here: they must be nobody, mirror or not.
pub async fn login_from_another_database_is_nobody(w: &World) -> Check {
    let other = TestDb::new().await;
    let stranger = other.person("admin", "stranger").await;
    w.others.lock().unwrap().push(other);
    let config = common::config_for(&stranger.login, Some(&stranger.password), &w.db.name);
    // Only this database's people may connect (security_abuse.rs)...
    let attempt = tickets::db::connect_config(&config).await;
    if attempt.is_ok() {
        return Err("a login of another tickets database connected".into());
    }
    // ...and one let in by mistake is still nobody.
    w.su.batch_execute(&format!(
        "GRANT CONNECT ON DATABASE {} TO {}",
        w.db.name, stranger.login
    ))
    .await
    .unwrap();
    let c = tickets::db::connect_config(&config)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    rows(&c, &format!("SET app.user_id = '{}'", w.person("c1").id), 0).await?;
    for sql in [
        "SELECT id FROM tickets",
        "SELECT id FROM users",
        "SELECT id FROM ticket_status_history",
        "SELECT id FROM person_names()",
    ] {
        rows(&c, sql, 0).await?;
    }
    let create = "SELECT create_person('mole', 'admin', 'Mole', 'mole@example.test', 'pw')";
    refused(&c, create, "42501", "only admins manage people").await?;
    let sql = format!(
        "SELECT hand_off_ticket('{}', '{}')",
        w.ticket("c2_ticket"),
        w.person("a1").id
    );
    refused(&c, &sql, "42501", "is not an active tickets person").await
}

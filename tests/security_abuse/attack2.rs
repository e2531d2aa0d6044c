//! The abuse attacks on identity across databases, limits per login, flooding and catalogs.

use super::engine::*;
use crate::common::{self, TestDb};

/// Item 3: a login of another tickets database in the same cluster cannot connect here.
pub async fn login_of_another_database_cannot_connect(w: &World) -> Check {
    let other = TestDb::new().await;
    let stranger = other.person("admin", "stranger").await;
    w.others.lock().unwrap().push(other);
    let config = common::config_for(&stranger.login, Some(&stranger.password), &w.db.name);
    let attempt = tickets::db::connect_config(&config).await;
    match attempt {
        Ok(_) => Err(format!(
            "{} of another database connected here",
            stranger.login
        )),
        Err(e) if e.to_string().contains("permission denied for database") => Ok(()),
        Err(e) => Err(format!("refused for another reason: {e}")),
    }
}

/// Item 3: a role of the same name as one of this database's people (made by another
/// database, or left over after a restore lost the original) is nobody here, even if it is
/// let in: identity needs this database's group, not just the name.
pub async fn same_name_from_elsewhere_is_nobody(w: &World) -> Check {
    let login = w.db.unique_login("twin");
    // This database knows a customer `login` whose role is gone (a restore without roles)...
    w.su.batch_execute(&format!(
        "INSERT INTO users (login, display_name, email, role)
         VALUES ('{login}', 'Twin', '{login}@example.test', 'customer');
         SET ROLE tickets_owner;
         RESET ROLE;"
    ))
    .await
    .unwrap();
    // ...and someone else makes a role of that name (another database's admin could), which
    // the DBA then lets connect.
    w.su.batch_execute(&format!(
        "CREATE ROLE {login} LOGIN PASSWORD 'pw-twin' IN ROLE tickets_customer;
         GRANT CONNECT ON DATABASE {} TO {login}",
        w.db.name
    ))
    .await
    .unwrap();
    let config = common::config_for(&login, Some("pw-twin"), &w.db.name);
    let c = tickets::db::connect_config(&config)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    rows(&c, "SELECT 1 FROM users", 0).await?;
    refused(
        &c,
        "INSERT INTO tickets (subject) VALUES ('as the twin')",
        "42501",
        "is not an active tickets person",
    )
    .await
}

/// Item 2: one customer cannot take every connection: past their limit they are refused,
/// and an admin still gets in.
pub async fn one_customer_takes_every_connection(w: &World) -> Check {
    let config = w.db.login_config(w.person("alice"));
    let mut held = Vec::new();
    for n in 0..8 {
        match tickets::db::connect_config(&config).await {
            Ok(c) => held.push(c),
            Err(e) if e.to_string().contains("too many connections for role") => {
                if n > 4 {
                    return Err(format!("{n} connections before the limit"));
                }
                let _admin = w.session("ada").await;
                return rows(&_admin, "SELECT 1", 1).await;
            }
            Err(e) => return Err(format!("connection {n}: {e}")),
        }
    }
    Err(format!("one customer holds {} connections", held.len()))
}

/// Item 5: every login carries the database's limits, and the one a person cannot lower for
/// themselves (temp files) holds against SET.
pub async fn limits_are_set_on_every_login(w: &World) -> Check {
    let alice = w.session("alice").await;
    for (setting, want) in [
        ("statement_timeout", "1min"),
        ("idle_in_transaction_session_timeout", "1min"),
        ("lock_timeout", "10s"),
        ("temp_file_limit", "100MB"),
    ] {
        let got: String = alice
            .query_one(&format!("SHOW {setting}"), &[])
            .await
            .map_err(|e| describe(&e))?
            .get(0);
        if got != want {
            return Err(format!("{setting} is {got}, expected {want}"));
        }
    }
    refused(
        &alice,
        "SET temp_file_limit = -1",
        "42501",
        "permission denied to set parameter",
    )
    .await
}

/// Item 7: one statement cannot file hundreds of tickets.
pub async fn customer_floods_the_queue(w: &World) -> Check {
    let alice = w.session("alice").await;
    let before = su_text(w, "(SELECT count(*) FROM tickets)").await;
    refused(
        &alice,
        "INSERT INTO tickets (subject) SELECT 'flood ' || g FROM generate_series(1, 300) g",
        "53400",
        "tickets in the last hour, the most one customer may",
    )
    .await?;
    let after = su_text(w, "(SELECT count(*) FROM tickets)").await;
    match after == before {
        true => Ok(()),
        false => Err(format!("{before} tickets became {after}")),
    }
}

/// Item 7: a megabyte of search query is refused before it is parsed.
pub async fn search_query_of_a_megabyte(w: &World) -> Check {
    let alice = w.session("alice").await;
    refused(
        &alice,
        "SELECT id FROM search_tickets(repeat('order ', 200000))",
        "54000",
        "a search is limited to",
    )
    .await
}

/// Item 7 (and 13): a subject, name or e-mail cannot carry control or text-direction
/// characters.
pub async fn control_characters_in_stored_text(w: &World) -> Check {
    let alice = w.session("alice").await;
    refused(
        &alice,
        "INSERT INTO tickets (subject) VALUES ('pay ' || chr(8238) || 'gpj.exe')",
        "22023",
        "no control or text-direction characters",
    )
    .await?;
    refused(
        &alice,
        "INSERT INTO tickets (subject, description) VALUES ('x', chr(27) || '[2J')",
        "22023",
        "cannot contain control or text-direction characters",
    )
    .await?;
    let ada = w.session("ada").await;
    refused(
        &ada,
        "SELECT create_person('esc', 'customer', 'Eve' || chr(27) || ']0;x' || chr(7), 'esc@example.test', 'pw')",
        "22023",
        "cannot contain control or text-direction characters",
    )
    .await
}

/// Item 6: a customer or agent reads no directory of logins with their ids and roles, and
/// not who is online.
pub async fn catalogs_list_who_is_who(w: &World) -> Check {
    for who in ["alice", "al"] {
        let c = w.session(who).await;
        for (sql, says) in [
            (
                "SELECT setrole, setconfig FROM pg_db_role_setting",
                "permission denied for table pg_db_role_setting",
            ),
            (
                "SELECT usename FROM pg_stat_activity",
                "permission denied for view pg_stat_activity",
            ),
            (
                "SELECT * FROM pg_stat_get_activity(NULL)",
                "permission denied for function pg_stat_get_activity",
            ),
            (
                "SELECT pg_stat_get_backend_userid(1)",
                "permission denied for function pg_stat_get_backend_userid",
            ),
        ] {
            refused(&c, sql, "42501", says)
                .await
                .map_err(|e| format!("{who}: {e}"))?;
        }
        // Their own mirror stays readable.
        rows(&c, "SELECT current_setting('app.user_id')", 1).await?;
    }
    Ok(())
}

/// Item 10: clients store no large objects.
pub async fn large_objects_for_clients(w: &World) -> Check {
    let alice = w.session("alice").await;
    for (sql, f) in [
        ("SELECT lo_from_bytea(0, 'x')", "lo_from_bytea"),
        ("SELECT lo_creat(-1)", "lo_creat"),
        ("SELECT lo_create(0)", "lo_create"),
    ] {
        refused(
            &alice,
            sql,
            "42501",
            &format!("permission denied for function {f}"),
        )
        .await?;
    }
    Ok(())
}

/// Item 1: a full NOTIFY queue cannot fail a ticket write: no trigger of the tickets, history
/// or messages calls pg_notify (writers queue changes; one notifier announces, issue 13).
pub async fn ticket_writes_notify_in_their_own_transaction(w: &World) -> Check {
    let notifying = su_text(
        w,
        "(SELECT string_agg(t.tgname || ' on ' || t.tgrelid::regclass, ', ')
          FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
          WHERE t.tgrelid IN ('tickets'::regclass, 'ticket_status_history'::regclass,
                              'ticket_messages'::regclass)
            AND p.prosrc ~* 'notify')",
    )
    .await;
    match notifying.as_str() {
        "" => Ok(()),
        some => Err(format!(
            "triggers that notify in the writer's transaction: {some}"
        )),
    }
}

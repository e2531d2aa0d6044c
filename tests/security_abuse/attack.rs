//! The abuse attacks, one function each (see security_abuse.rs).

use super::engine::*;
use std::time::Duration;
use uuid::Uuid;

/// Item 12: claim, release and hand-off refuse a ticket the agent cannot read with exactly the
/// refusal they give for an id that does not exist: nothing about its holder or status.
pub async fn assignment_functions_leak_nothing_about_invisible_tickets(w: &World) -> Check {
    let ada = w.session("ada").await;
    // An unassigned but closed ticket: readable by no agent.
    let closed = file(&w.session("alice").await, "closed unassigned").await;
    ada.execute(
        "UPDATE tickets SET status = 'closed' WHERE id = $1",
        &[&closed],
    )
    .await
    .map_err(|e| describe(&e))?;
    let al = w.session("al").await;
    let random = Uuid::new_v4();
    let calls = [
        "SELECT claim_ticket('{t}')",
        "SELECT release_ticket('{t}')",
        "SELECT hand_off_ticket('{t}', '{al}')",
    ];
    for call in calls {
        let call = call.replace("{al}", &w.person("al").id.to_string());
        let sql = |t: Uuid| call.replace("{t}", &t.to_string());
        let unknown = refusal(al.execute(sql(random).as_str(), &[]).await)
            .replace(&random.to_string(), "<id>");
        if !unknown.starts_with("P0002") {
            return Err(format!("`{}`: {unknown}", sql(random)));
        }
        for invisible in [w.ticket("bos"), closed] {
            let got = refusal(al.execute(sql(invisible).as_str(), &[]).await)
                .replace(&invisible.to_string(), "<id>");
            if got != unknown {
                return Err(format!(
                    "`{}` answered {got}, but for an unknown id {unknown}",
                    sql(invisible)
                ));
            }
        }
    }
    Ok(())
}

/// Item 4: an update made late in a transaction opened early is stamped when it happens, so a
/// ticket's history never goes back in time.
pub async fn slow_transaction_back_dates_the_history(w: &World) -> Check {
    let al = w.session("al").await;
    let ada = w.session("ada").await;
    al.batch_execute("BEGIN; SELECT 1").await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    ada.execute(
        "UPDATE tickets SET priority = 'high' WHERE id = $1",
        &[&w.ticket("als")],
    )
    .await
    .map_err(|e| describe(&e))?;
    al.execute(
        "UPDATE tickets SET status = 'in_progress' WHERE id = $1",
        &[&w.ticket("als")],
    )
    .await
    .map_err(|e| describe(&e))?;
    al.batch_execute("COMMIT").await.unwrap();
    let timeline =
        w.su.query(
            "SELECT seq, kind::text, changed_at FROM ticket_status_history
             WHERE ticket_id = $1 ORDER BY seq",
            &[&w.ticket("als")],
        )
        .await
        .unwrap();
    let mut last: Option<(i32, chrono::DateTime<chrono::Utc>)> = None;
    for r in &timeline {
        let (seq, at): (i32, chrono::DateTime<chrono::Utc>) = (r.get(0), r.get(2));
        if let Some((prev_seq, prev_at)) = last
            && (seq != prev_seq + 1 || at < prev_at)
        {
            return Err(format!(
                "history goes back: seq {prev_seq} at {prev_at}, then seq {seq} ({}) at {at}",
                r.get::<_, String>(1)
            ));
        }
        last = Some((seq, at));
    }
    match timeline.len() {
        4 => Ok(()),
        n => Err(format!("{n} history rows, expected 4")),
    }
}

/// Item 4: a customer who opens a transaction, waits and then files cannot give the ticket
/// (or its creation in the history) the earlier time.
pub async fn slow_transaction_back_dates_a_new_ticket(w: &World) -> Check {
    let alice = w.session("alice").await;
    alice.batch_execute("BEGIN; SELECT 1").await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before: chrono::DateTime<chrono::Utc> = alice
        .query_one("SELECT clock_timestamp()", &[])
        .await
        .unwrap()
        .get(0);
    let row = alice
        .query_one(
            "INSERT INTO tickets (subject) VALUES ('late') RETURNING id, created_at",
            &[],
        )
        .await
        .map_err(|e| describe(&e))?;
    alice.batch_execute("COMMIT").await.unwrap();
    let (id, created): (Uuid, chrono::DateTime<chrono::Utc>) = (row.get(0), row.get(1));
    if created < before {
        return Err(format!(
            "created_at {created} is before the insert ({before})"
        ));
    }
    let logged: chrono::DateTime<chrono::Utc> =
        w.su.query_one(
            "SELECT changed_at FROM ticket_status_history WHERE ticket_id = $1 AND seq = 1",
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    if logged < before {
        return Err(format!(
            "the creation is logged at {logged}, before {before}"
        ));
    }
    Ok(())
}

/// An admin may correct a ticket's subject and description, but not silently: the history
/// keeps who, when and the text before.
pub async fn admin_rewrites_a_ticket_without_a_trace(w: &World) -> Check {
    let ada = w.session("ada").await;
    ada.execute(
        "UPDATE tickets SET subject = 'rewritten', description = 'new words' WHERE id = $1",
        &[&w.ticket("pool")],
    )
    .await
    .map_err(|e| describe(&e))?;
    let trace =
        w.su.query(
            "SELECT old_subject, old_description, changed_by FROM ticket_status_history
             WHERE ticket_id = $1 AND kind = 'edited'",
            &[&w.ticket("pool")],
        )
        .await
        .map_err(|e| describe(&e))?;
    let [row] = trace.as_slice() else {
        return Err(format!("{} 'edited' history rows, expected 1", trace.len()));
    };
    let got: (Option<String>, Option<String>, Uuid) = (row.get(0), row.get(1), row.get(2));
    let want = (
        Some("in the pool".to_owned()),
        Some(String::new()),
        w.person("ada").id,
    );
    if got != want {
        return Err(format!("the trace is {got:?}, expected {want:?}"));
    }
    // The customer sees that their ticket was edited.
    let alice = w.session("alice").await;
    let sql = format!(
        "SELECT 1 FROM ticket_status_history WHERE ticket_id = '{}' AND kind = 'edited'",
        w.ticket("pool")
    );
    rows(&alice, &sql, 1).await
}

/// create_person refuses logins that SQL reads as something else (GRANT ... TO current_user).
pub async fn reserved_words_as_logins(w: &World) -> Check {
    let ada = w.session("ada").await;
    for login in [
        "current_user",
        "session_user",
        "current_role",
        "all",
        "user",
        "select",
        "none",
        "public",
    ] {
        let sql = format!(
            "SELECT create_person('{login}', 'customer', 'X', '{login}@example.test', 'pw')"
        );
        if let Err(e) = refused(&ada, &sql, "22023", "is reserved").await {
            let _ =
                w.su.batch_execute(&format!("DROP ROLE IF EXISTS \"{login}\""))
                    .await;
            return Err(e);
        }
    }
    Ok(())
}

/// Item 15: when creating a login fails (here: a lock timeout), the server log must not carry
/// the password. The CLI sends a SCRAM verifier, never the password; a script that passes a
/// plaintext password as a bind parameter (which the log leaves out) must not find it in the
/// log either: the statement that failed inside create_person must not carry it.
pub async fn password_reaches_the_server_log(w: &World) -> Check {
    let log = su_text(w, "current_setting('data_directory') || '/../server.log'").await;
    let exists = su_text(
        w,
        &format!("(pg_stat_file('{log}', true)).size IS NOT NULL"),
    )
    .await;
    if exists != "true" {
        eprintln!("skipped: the server log is not at {log} (not the harness's cluster)");
        return Ok(());
    }
    let secret = format!("secret-{}", Uuid::new_v4());
    let login = w.db.unique_login("leaky");
    let holder = w.db.admin().await;
    holder
        .batch_execute("BEGIN; LOCK TABLE pg_catalog.pg_authid IN SHARE MODE")
        .await
        .unwrap();
    let ada = w.session("ada").await;
    ada.batch_execute("SET lock_timeout = '300ms'")
        .await
        .unwrap();
    let cli = tickets::people::add(
        &ada,
        &login,
        "customer",
        "Leaky",
        "leaky@example.test",
        &secret,
    )
    .await;
    let script = ada
        .execute(
            "SELECT create_person($1, 'customer', 'Leaky', 'leaky@example.test', $2)",
            &[&login, &secret],
        )
        .await;
    let made = cli.is_ok() || script.is_ok();
    holder.batch_execute("ROLLBACK").await.unwrap();
    if made {
        return Err("create_person succeeded while pg_authid was locked".into());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let text = su_text(w, &format!("pg_read_file('{log}')")).await;
    if !text.contains("due to lock timeout") {
        return Err("the failure was not logged: the test cannot tell".into());
    }
    match text.lines().find(|l| l.contains(&secret)) {
        Some(line) => Err(format!("the server log holds the password: {line}")),
        None => Ok(()),
    }
}

/// The provisioner (CREATEROLE) switches on only plain tickets logins: a users row naming a
/// role with other memberships (pg_execute_server_program) is refused, not given LOGIN.
pub async fn provisioner_switches_on_a_privileged_role(w: &World) -> Check {
    let evil = w.db.unique_login("evil");
    w.su.batch_execute(&format!(
        "CREATE ROLE {evil} NOLOGIN IN ROLE pg_execute_server_program;
         INSERT INTO users (login, display_name, email, role, disabled_at)
         VALUES ('{evil}', 'Evil', '{evil}@example.test', 'admin', now())"
    ))
    .await
    .unwrap();
    let ada = w.session("ada").await;
    let says = "has privileges beyond a tickets login";
    let sql = format!("SELECT enable_person('{evil}')");
    let outcome = refused(&ada, &sql, "42501", says).await;
    let can_login = su_text(
        w,
        &format!("(SELECT rolcanlogin FROM pg_roles WHERE rolname = '{evil}')"),
    )
    .await;
    outcome?;
    match can_login.as_str() {
        "false" => Ok(()),
        other => Err(format!("{evil} can log in: {other}")),
    }
}

/// Every function the provisioner owns is one of the reviewed ones, SECURITY DEFINER with a
/// pinned search_path: a new path to CREATEROLE must be added here, deliberately.
pub async fn provisioner_functions_are_the_known_ones(w: &World) -> Check {
    let known = [
        "create_person(text,user_role,text,text,text)",
        "disable_person(text,text)",
        "enable_person(text)",
        "app.apply_login_limits(text,user_role)",
    ];
    let owned =
        w.su.query(
            "SELECT p.oid::regprocedure::text, p.prosecdef,
                    coalesce('search_path=pg_catalog, pg_temp' = ANY (p.proconfig), false)
             FROM pg_proc p WHERE p.proowner = 'tickets_provisioner'::regrole ORDER BY 1",
            &[],
        )
        .await
        .unwrap();
    for r in &owned {
        let (name, definer, pinned): (String, bool, bool) = (r.get(0), r.get(1), r.get(2));
        let plain = name.replace(' ', "").replace("public.", "");
        if !known.contains(&plain.as_str()) {
            return Err(format!(
                "the provisioner owns an unreviewed function {name}"
            ));
        }
        if !definer || !pinned {
            return Err(format!(
                "{name}: definer {definer}, pinned search_path {pinned}"
            ));
        }
    }
    match owned.len() {
        n if n == known.len() => Ok(()),
        n => Err(format!(
            "the provisioner owns {n} functions, expected {}",
            known.len()
        )),
    }
}

//! The attacks on the change log, one function each (see the file that includes this).

use super::*;

/// c2's ticket changes (filed, then worked by a2): c1 reads none of it, c2 all of it.
pub async fn customer_reads_other_customers_changes(w: &World) -> Check {
    w.announce().await;
    let c1 = w.db.login(&w.c1).await;
    expect_ids(&c1, "SELECT ticket_id FROM ticket_changes", &[w.c1_ticket]).await?;
    expect_ids(
        &c1,
        &format!(
            "SELECT ticket_id FROM ticket_changes WHERE ticket_id = '{}'",
            w.c2_ticket
        ),
        &[],
    )
    .await?;
    // Filed, then claimed.
    let c2 = w.db.login(&w.c2).await;
    expect_ids(
        &c2,
        "SELECT ticket_id FROM ticket_changes",
        &[w.c2_ticket, w.c2_ticket],
    )
    .await
}

/// An internal note on c1's own ticket is staff's business: its change row is not c1's to see.
pub async fn customer_reads_internal_note_changes(w: &World) -> Check {
    // What a note's trigger queues (ticket_messages arrives with the conversation work): the
    // ticket's visibility, marked internal.
    w.su.execute(
        "INSERT INTO app.ticket_change_queue (ticket_id, kind, customer_id, agent_id, old_agent_id, pool, internal)
         SELECT id, 'message', customer_id, agent_id, agent_id, false, true FROM tickets WHERE id = $1",
        &[&w.c1_ticket],
    )
    .await
    .unwrap();
    let head = w.announce().await;
    let c1 = w.db.login(&w.c1).await;
    let sql = format!("SELECT ticket_id FROM ticket_changes WHERE seq = {head}");
    expect_ids(&c1, &sql, &[]).await?;
    // Staff who may read the ticket do see it.
    let admin = w.db.login(&w.admin).await;
    expect_ids(&admin, &sql, &[w.c1_ticket]).await
}

/// a2's ticket (c2's) is not a1's: a1 sees the pool's changes, then nothing once a2 has it.
/// A hand-off from a1 to a2 shows to a1 (they had it) and to a2, later changes to a2 only.
pub async fn agent_reads_other_agents_changes(w: &World) -> Check {
    w.announce().await;
    let a1 = w.db.login(&w.a1).await;
    let before = head(&a1).await;
    let a2 = w.db.login(&w.a2).await;
    // a2 works their ticket: nothing of it for a1.
    a2.execute(
        "UPDATE tickets SET priority = 'urgent' WHERE id = $1",
        &[&w.c2_ticket],
    )
    .await
    .unwrap();
    w.announce().await;
    let since = format!("SELECT ticket_id FROM ticket_changes WHERE seq > {before}");
    expect_ids(&a1, &since, &[]).await?;
    expect_ids(&a2, &since, &[w.c2_ticket]).await?;
    // a1 claims c1's ticket from the pool and hands it to a2: a1 saw both changes.
    a1.batch_execute(&format!(
        "SELECT claim_ticket('{t}'); SELECT hand_off_ticket('{t}', '{a2}')",
        t = w.c1_ticket,
        a2 = w.a2.id
    ))
    .await
    .unwrap();
    w.announce().await;
    let mid = head(&a1).await;
    expect_ids(&a1, &since, &[w.c1_ticket, w.c1_ticket]).await?;
    a2.execute(
        "UPDATE tickets SET status = 'in_progress' WHERE id = $1",
        &[&w.c1_ticket],
    )
    .await
    .unwrap();
    w.announce().await;
    let after = format!("SELECT ticket_id FROM ticket_changes WHERE seq > {mid}");
    expect_ids(&a1, &after, &[]).await?;
    expect_ids(&a2, &after, &[w.c1_ticket]).await
}

/// A person of another tickets database in this cluster: refused at connect (0021: CONNECT
/// belongs to this database's own login group); should CONNECT be granted by mistake, the
/// session is returned so the policies' own layer can be attacked too.
async fn stranger_session(
    w: &World,
    stranger: &common::TestPerson,
) -> Result<tokio_postgres::Client, String> {
    let config = common::config_for(&stranger.login, Some(&stranger.password), &w.db.name);
    if tickets::db::connect_config(&config).await.is_ok() {
        return Err("a person of another database connected to this one".into());
    }
    w.db.admin()
        .await
        .batch_execute(&format!(
            "GRANT CONNECT ON DATABASE {} TO \"{}\"",
            w.db.name, stranger.login
        ))
        .await
        .map_err(|e| format!("grant connect: {e}"))?;
    tickets::db::connect_config(&config)
        .await
        .map_err(|e| format!("connect once granted: {e}"))
}

/// A login that is nobody in this database (a person of another tickets database in the
/// cluster shares the group role) reads no pool changes, though every agent here may.
pub async fn stranger_reads_pool_changes(w: &World) -> Check {
    w.announce().await;
    let other = TestDb::new().await;
    let stranger = other.person("agent", "stranger").await;
    let c = stranger_session(w, &stranger).await?;
    let outcome = expect_ids(&c, "SELECT ticket_id FROM ticket_changes", &[]).await;
    drop(c);
    drop(other);
    outcome?;
    // An agent here sees both tickets filed into the pool, and c2's leaving it.
    let a1 = w.db.login(&w.a1).await;
    expect_ids(
        &a1,
        "SELECT ticket_id FROM ticket_changes",
        &[w.c1_ticket, w.c2_ticket, w.c2_ticket],
    )
    .await
}

/// The same stranger reads no ticket of the pool either (the agent policy's pool branch
/// checks that the login is a person here, since 0019).
pub async fn stranger_reads_the_pool(w: &World) -> Check {
    let other = TestDb::new().await;
    let stranger = other.person("agent", "stranger").await;
    let c = stranger_session(w, &stranger).await?;
    let outcome = expect_ids(&c, "SELECT id AS ticket_id FROM tickets", &[]).await;
    drop(c);
    drop(other);
    outcome?;
    let a1 = w.db.login(&w.a1).await;
    expect_ids(&a1, "SELECT id AS ticket_id FROM tickets", &[w.c1_ticket]).await
}

/// The columns that say whose a change is stay the policies' business.
pub async fn client_reads_whose_change_it_is(w: &World) -> Check {
    w.announce().await;
    let c1 = w.db.login(&w.c1).await;
    for sql in [
        "SELECT customer_id FROM ticket_changes",
        "SELECT agent_id, old_agent_id FROM ticket_changes",
        "SELECT * FROM ticket_changes",
    ] {
        refused(
            &c1,
            sql,
            "42501",
            "permission denied for table ticket_changes",
        )
        .await?;
    }
    Ok(())
}

/// The log is written by the notifier alone: no person inserts, rewrites, deletes or
/// truncates it, nor touches the queue behind it.
pub async fn client_writes_or_empties_the_change_log(w: &World) -> Check {
    w.announce().await;
    let before = w.log().await;
    let c1 = w.db.login(&w.c1).await;
    let denied = "permission denied for table ticket_changes";
    let steps = [
        (
            format!(
                "INSERT INTO ticket_changes (seq, ticket_id, kind, customer_id, pool, internal, queued_at) VALUES (999, '{}', 'ticket', '{}', false, false, now())",
                w.c2_ticket, w.c1.id
            ),
            denied,
        ),
        ("UPDATE ticket_changes SET ticket_id = ticket_id".to_owned(), denied),
        ("DELETE FROM ticket_changes".to_owned(), denied),
        ("TRUNCATE ticket_changes".to_owned(), denied),
        (
            "INSERT INTO app.ticket_change_queue (ticket_id, kind, customer_id, pool) SELECT ticket_id, 'ticket', ticket_id, true FROM ticket_changes".to_owned(),
            "permission denied for table ticket_change_queue",
        ),
        (
            "DELETE FROM app.ticket_change_queue".to_owned(),
            "permission denied for table ticket_change_queue",
        ),
    ];
    for (sql, says) in steps {
        refused(&c1, &sql, "42501", says).await?;
    }
    let after = w.log().await;
    if after != before {
        return Err(format!("the log changed:\n{before}\n---\n{after}"));
    }
    Ok(())
}

/// Announcing is for the trusted notifier: a person who could would decide when everyone
/// hears of a change (and could hold it back inside an open transaction).
pub async fn client_announces_changes(w: &World) -> Check {
    for p in [&w.c1, &w.a1, &w.admin] {
        let c = w.db.login(p).await;
        refused(
            &c,
            "SELECT announce_ticket_changes()",
            "42501",
            "permission denied for function announce_ticket_changes",
        )
        .await?;
    }
    Ok(())
}

/// A ticket write commits without NOTIFY (so writers never queue on its cluster-wide lock):
/// with no notifier running, a listener hears nothing; the notifier's announcement is a number.
pub async fn writers_do_not_notify(w: &World) -> Check {
    let (listener, mut messages) = watched_login(w.db.login_config(&w.c1))
        .await
        .map_err(|e| describe(&e))?;
    listener
        .batch_execute("LISTEN tickets_changed")
        .await
        .unwrap();
    let a2 = w.db.login(&w.a2).await;
    a2.execute(
        "UPDATE tickets SET priority = 'high' WHERE id = $1",
        &[&w.c2_ticket],
    )
    .await
    .unwrap();
    let admin = w.db.login(&w.admin).await;
    admin
        .execute(
            "UPDATE tickets SET priority = 'urgent' WHERE id = $1",
            &[&w.c1_ticket],
        )
        .await
        .unwrap();
    if let Some(n) = next_notification(&mut messages, Duration::from_millis(500)).await {
        return Err(format!("a writer notified: {:?}", n.payload()));
    }
    let head = w.announce().await;
    match next_notification(&mut messages, Duration::from_secs(5)).await {
        Some(n) if n.payload() == head.to_string() => Ok(()),
        Some(n) => Err(format!(
            "the announcement carried {:?}, expected the head {head}",
            n.payload()
        )),
        None => Err("the notifier's announcement never arrived".into()),
    }
}

/// A client's listener turns a change it may not read into nothing at all (no event, so no
/// query of its panes), and a change it may read into that ticket's id.
pub async fn foreign_change_reaches_no_client(w: &World) -> Check {
    w.announce().await;
    let (c1_events, c1_stop) = listener(w, &w.c1).await;
    let (c2_events, c2_stop) = listener(w, &w.c2).await;
    let mut c1_events = c1_events;
    let mut c2_events = c2_events;
    let a2 = w.db.login(&w.a2).await;
    a2.execute(
        "UPDATE tickets SET priority = 'low' WHERE id = $1",
        &[&w.c2_ticket],
    )
    .await
    .unwrap();
    w.announce().await;
    let c2_heard = changed(&mut c2_events, Duration::from_secs(5)).await;
    let c1_heard = changed(&mut c1_events, Duration::from_millis(700)).await;
    c1_stop.cancel();
    c2_stop.cancel();
    if c2_heard != Some(vec![w.c2_ticket]) {
        return Err(format!(
            "c2's listener heard {c2_heard:?} of their own ticket"
        ));
    }
    match c1_heard {
        None => Ok(()),
        Some(ids) => Err(format!("c1's listener was told of {ids:?}")),
    }
}

/// Anyone may NOTIFY on a channel they know: an agent knows the pool's. A forged, far-ahead
/// number (and noise) sent there by a2 must make a1's client neither read anything nor skip
/// the real changes that follow (reads are bounded by the database's head, not the payload).
pub async fn forged_announcement_skips_nothing(w: &World) -> Check {
    w.announce().await;
    let (events, stop) = listener(w, &w.a1).await;
    let mut events = events;
    let a2 = w.db.login(&w.a2).await;
    for channel in own_channels(&a2).await {
        a2.batch_execute(&format!(
            "NOTIFY {channel}, '999999'; NOTIFY {channel}, 'not a number'"
        ))
        .await
        .unwrap();
    }
    a2.batch_execute("NOTIFY tickets_changed, '999999'")
        .await
        .unwrap();
    let forged = changed(&mut events, Duration::from_millis(500)).await;
    let admin = w.db.login(&w.admin).await;
    admin
        .execute(
            "UPDATE tickets SET priority = 'high' WHERE id = $1",
            &[&w.c1_ticket],
        )
        .await
        .unwrap();
    w.announce().await;
    let real = changed(&mut events, Duration::from_secs(5)).await;
    stop.cancel();
    if forged.is_some() {
        return Err(format!("a forged announcement produced {forged:?}"));
    }
    match real {
        Some(ids) if ids == vec![w.c1_ticket] => Ok(()),
        other => Err(format!(
            "after a forged head, the real change of the pool's ticket gave {other:?}"
        )),
    }
}

/// The notifier wakes only the audiences of a change (0022): a2's change of c2's ticket is
/// announced on c2's private channel, and on none of c1's.
pub async fn foreign_change_wakes_no_channel(w: &World) -> Check {
    w.announce().await;
    let (c1, mut c1_notes) = watched_login(w.db.login_config(&w.c1))
        .await
        .map_err(|e| describe(&e))?;
    let (c2, mut c2_notes) = watched_login(w.db.login_config(&w.c2))
        .await
        .map_err(|e| describe(&e))?;
    listen_on_own(&c1).await;
    listen_on_own(&c2).await;
    let a2 = w.db.login(&w.a2).await;
    a2.execute(
        "UPDATE tickets SET priority = 'low' WHERE id = $1",
        &[&w.c2_ticket],
    )
    .await
    .unwrap();
    let head = w.announce().await;
    match next_notification(&mut c2_notes, Duration::from_secs(5)).await {
        Some(n) if n.payload() == head.to_string() => {}
        other => return Err(format!("c2's channel heard {other:?}, expected {head}")),
    }
    match next_notification(&mut c1_notes, Duration::from_millis(700)).await {
        None => Ok(()),
        Some(n) => Err(format!(
            "c1's channel {} was woken by c2's change",
            n.channel()
        )),
    }
}

/// An internal note wakes the staff who may read it and not the ticket's customer, whose
/// client would learn at least that something was written about them.
pub async fn internal_note_wakes_no_customer(w: &World) -> Check {
    w.announce().await;
    let (c2, mut c2_notes) = watched_login(w.db.login_config(&w.c2))
        .await
        .map_err(|e| describe(&e))?;
    let (a2, mut a2_notes) = watched_login(w.db.login_config(&w.a2))
        .await
        .map_err(|e| describe(&e))?;
    listen_on_own(&c2).await;
    listen_on_own(&a2).await;
    a2.execute(
        "INSERT INTO ticket_messages (ticket_id, body, internal) VALUES ($1, 'they are stalling', true)",
        &[&w.c2_ticket],
    )
    .await
    .map_err(|e| describe(&e))?;
    let head = w.announce().await;
    match next_notification(&mut a2_notes, Duration::from_secs(5)).await {
        Some(n) if n.payload() == head.to_string() => {}
        other => return Err(format!("a2's channel heard {other:?}, expected {head}")),
    }
    match next_notification(&mut c2_notes, Duration::from_millis(700)).await {
        None => Ok(()),
        Some(n) => Err(format!(
            "c2's channel {} was woken by an internal note",
            n.channel()
        )),
    }
}

/// Channel names are keyed hashes: nobody learns another person's channel (to listen to it,
/// or to send on it), neither by the naming function nor by reading the key.
pub async fn channel_names_are_secret(w: &World) -> Check {
    let c1 = w.db.login(&w.c1).await;
    let c2_id: Uuid =
        w.su.query_one("SELECT id FROM users WHERE login = $1", &[&w.c2.login])
            .await
            .unwrap()
            .get(0);
    refused(
        &c1,
        &format!("SELECT app.change_channel('customer:{c2_id}')"),
        "42501",
        "permission denied for function change_channel",
    )
    .await?;
    refused(
        &c1,
        "SELECT key FROM app.change_channel_key",
        "42501",
        "permission denied for table change_channel_key",
    )
    .await?;
    let c2 = w.db.login(&w.c2).await;
    let (mine, theirs) = (own_channels(&c1).await, own_channels(&c2).await);
    if mine.iter().any(|c| theirs.contains(c)) {
        return Err(format!("c1 and c2 share a channel: {mine:?} / {theirs:?}"));
    }
    Ok(())
}

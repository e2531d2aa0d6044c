//! Snapshots of the conversation: the thread in the detail at its end, the composer as a reply
//! (with a status) and as an internal note, and the note's marks without colour.

use ratatui::style::Modifier;
use tickets::app::*;
use tickets::model::*;
use tickets::ui::Theme;

#[allow(dead_code)]
#[path = "ui_snapshots/fixtures.rs"]
mod fixtures;
use fixtures::*;

fn snap(name: &str, app: &App) {
    for (w, h) in [(80, 24), (120, 40)] {
        let terminal = draw_with(app, &Theme::dark(), w, h);
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), terminal.backend());
    }
}

// ---------------------------------------------------------------------------------------------
// The conversation

fn composing(internal: bool) -> App {
    let mut app = agent();
    let m = main_mut(&mut app);
    let row = m.list.rows[1].clone();
    let mut c = tickets::app::composer::Composer::new(
        row.id,
        row.name(),
        Some(&ReplyDraft {
            body: "Facilities has a spare fuser.\nI will bring it at 3pm.".into(),
            internal,
        }),
        true,
        vec![Status::WaitingOnCustomer, Status::Resolved],
    );
    if !internal {
        c.cycle_status();
    }
    m.composer = Some(c);
    app
}

#[test]
fn composer_reply_and_note() {
    snap("composer_reply", &composing(false));
    snap("composer_note", &composing(true));
}

#[test]
fn conversation_at_its_end() {
    let mut app = agent();
    let m = main_mut(&mut app);
    m.focus = Pane::Detail;
    m.detail_scroll = u16::MAX;
    snap("conversation_end", &app);
}

#[test]
fn an_internal_note_is_marked_without_colour_too() {
    let mut app = agent();
    main_mut(&mut app).focus = Pane::Detail;
    main_mut(&mut app).detail_scroll = u16::MAX;
    let terminal = draw_with(&app, &Theme::no_color(), 120, 40);
    let text = screen_text(&terminal);
    let buf = terminal.backend().buffer();
    let (y, line) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains("INTERNAL NOTE"))
        .expect("the note is labelled in words");
    let x = line.find("INTERNAL").unwrap();
    let x = line[..x].chars().count() as u16;
    assert!(
        buf[(x, y as u16)].modifier.contains(Modifier::ITALIC),
        "and styled by a modifier, not only a colour"
    );
    let body = text
        .lines()
        .find(|l| l.contains("Facilities says"))
        .expect("the note's text");
    assert!(
        body.contains("▍ Facilities"),
        "its text stays marked: {body}"
    );
    // The customer's copy of the same ticket: a reply is never marked as a note.
    let reply = text
        .lines()
        .find(|l| l.contains("On my way"))
        .expect("a reply");
    assert!(!reply.contains('▍'), "{reply}");
}

#[test]
fn the_conversation_shows_local_time_with_the_year_when_not_this_year() {
    let mut app = agent();
    let m = main_mut(&mut app);
    // The oldest fixture ticket: created more than a year before `now()`.
    let old = m
        .list
        .rows
        .iter()
        .position(|r| r.status == Status::Closed)
        .unwrap();
    m.list.selected = old;
    let row = m.list.rows[old].clone();
    m.detail = Some(detail_of(&row));
    m.thread = thread_of(&row);
    for e in &mut m.thread {
        e.at -= chrono::Duration::days(400);
    }
    m.thread_for = Some(row.id);
    let zone = chrono::FixedOffset::east_opt(2 * 3600).unwrap();
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 40)).unwrap();
    terminal
        .draw(|f| tickets::ui::render_in(&app, &Theme::dark(), f, now(), zone))
        .unwrap();
    let text = screen_text(&terminal);
    assert!(text.contains("UTC+02:00"), "the zone is named:\n{text}");
    let created = text
        .lines()
        .find(|l| l.contains("created (open)"))
        .expect("the creation event");
    let year = (now() - chrono::Duration::days(398))
        .format("%Y")
        .to_string();
    assert!(
        created.contains(&year),
        "a year that is not this one is shown: {created}"
    );
}

/// The header counts tickets with news exactly up to 99, then says "99+" (the database stops
/// counting there: unseen_count(99)).
#[test]
fn the_news_count_says_99_plus_past_99() {
    for (unseen, says) in [(7, "● 7 new"), (99, "● 99 new"), (100, "● 99+ new")] {
        let mut app = agent();
        main_mut(&mut app).unseen = unseen;
        let text = screen_text(&draw_with(&app, &Theme::dark(), 120, 40));
        assert!(text.contains(says), "{unseen}: {text}");
    }
}

/// A customer's reply goes to the support team, and the composer says so (not "the customer
/// reads it", which is the staff's reply).
#[test]
fn a_customers_composer_says_who_reads_the_reply() {
    let mut app = customer();
    let m = main_mut(&mut app);
    let row = m.list.rows[0].clone();
    m.composer = Some(tickets::app::composer::Composer::new(
        row.id,
        row.name(),
        None,
        false,
        Vec::new(),
    ));
    let text = screen_text(&draw_with(&app, &Theme::dark(), 80, 24));
    assert!(text.contains("REPLY  the support team reads it"), "{text}");
    assert!(!text.contains("the customer reads it"), "{text}");
}

/// The audit names each ticket by the number people say, before its subject.
#[test]
fn the_audit_shows_ticket_numbers() {
    let mut app = admin_audit();
    let m = main_mut(&mut app);
    m.audit.rows[0].ticket_number = Some(1234);
    let subject = m.audit.rows[0].ticket_subject.clone().unwrap();
    let text = screen_text(&draw_with(&app, &Theme::dark(), 200, 60));
    let short: String = subject.chars().take(10).collect();
    assert!(text.contains(&format!("#1234 {short}")), "{text}");
}

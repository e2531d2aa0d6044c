//! Snapshots of every screen at 80x24 (what users see over SSH) and 120x40, drawn from fixture
//! state at a fixed time, plus a few targeted checks that a text snapshot cannot make: styles
//! without colour, the masked password, the keymap-driven help, and no panic at tiny sizes.

use ratatui::style::Modifier;
use std::collections::BTreeMap;
use tickets::app::form::{FormField, TicketForm};
use tickets::app::keymap::Keymap;
use tickets::app::*;
use tickets::model::*;
use tickets::ui::Theme;
use tui_input::Input;

#[path = "ui_snapshots/fixtures.rs"]
mod fixtures;
use fixtures::*;

// The snapshot helpers live here: insta files snapshots next to the file that asserts.
fn snap(name: &str, app: &App) {
    snap_at(name, app, &[(80, 24), (120, 40)]);
}

fn snap_at(name: &str, app: &App, sizes: &[(u16, u16)]) {
    for &(w, h) in sizes {
        let terminal = draw_with(app, &Theme::dark(), w, h);
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), terminal.backend());
    }
}

// ---------------------------------------------------------------------------------------------
// Snapshots

#[test]
fn login_empty() {
    snap("login_empty", &login(|_| {}));
}

/// The demo's form lists every demo login.
#[test]
fn login_demo() {
    let hint = tickets::demo::logins_line(&tickets::demo::plan());
    snap("login_demo", &login(|_| {}).with_login_hint(Some(hint)));
}

#[test]
fn login_with_error() {
    snap(
        "login_error",
        &login(|f| {
            f.login = Input::new("bo".into());
            f.password = Input::new("hunter2".into());
            f.focus = LoginField::Password;
            f.error = Some("password authentication failed for user \"bo\"".into());
        }),
    );
}

#[test]
fn login_asks_for_the_password() {
    let app = login(|f| {
        f.login = Input::new("bo".into());
        f.focus = LoginField::Password;
        f.ask = Some("Type your password.".into());
    });
    snap_at("login_ask", &app, &[(80, 24)]);
    let text = screen_text(&draw_with(&app, &Theme::dark(), 80, 24));
    assert!(text.contains("› Type your password."), "{text}");
    assert!(!text.contains('✖'), "a prompt, not an error:\n{text}");
}

#[test]
fn login_busy() {
    snap(
        "login_busy",
        &login(|f| {
            f.login = Input::new("bo".into());
            f.password = Input::new("hunter2".into());
            f.focus = LoginField::Password;
            f.busy = true;
        }),
    );
}

#[test]
fn customer_list_detail_history() {
    let mut app = customer();
    app.notice = Some(Notice {
        text: "Logged in as Cara Customer (customer).".into(),
        error: false,
    });
    snap("customer_main", &app);
}

#[test]
fn agent_list_detail_history() {
    snap_at("agent_main", &agent(), &[(80, 24), (120, 40), (200, 60)]);
}

#[test]
fn agent_on_an_unassigned_ticket_sees_claim() {
    let mut app = agent();
    let m = main_mut(&mut app);
    m.list.selected = 0;
    m.detail = Some(detail_of(&m.list.rows[0]));
    m.thread = Vec::new();
    m.thread_for = None;
    m.thread_req = Some(7);
    snap("agent_unassigned_loading", &app);
}

#[test]
fn agent_status_picker() {
    let mut app = agent();
    let m = main_mut(&mut app);
    let row = m.list.rows[1].clone();
    let options = m.status_options(&row);
    assert_eq!(options, [Status::WaitingOnCustomer, Status::Resolved]);
    m.picker = Some(Picker::Status {
        ticket: row.id,
        options,
        selected: 1,
    });
    snap("agent_status_picker", &app);
}

#[test]
fn agent_hand_off_picker() {
    let mut app = agent();
    let m = main_mut(&mut app);
    let row = m.list.rows[1].clone();
    let options = m
        .agents
        .iter()
        .filter(|a| a.id != id(BO))
        .cloned()
        .collect();
    m.picker = Some(Picker::Agent {
        ticket: row.id,
        options,
        selected: 0,
    });
    snap("agent_hand_off_picker", &app);
}

#[test]
fn search_prompt() {
    let mut app = agent();
    main_mut(&mut app).prompt = Some(Prompt::new(PromptKind::Search, "printer".into()));
    snap("prompt_search", &app);
}

#[test]
fn audit_date_prompt_with_error() {
    let mut app = admin_audit();
    let m = main_mut(&mut app);
    m.prompt = Some(Prompt {
        kind: PromptKind::AuditSince,
        input: Input::new("last tuesday".into()),
        selected: false,
    });
    m.prompt_error = Some("\"last tuesday\" is not a date like 2026-11-25".into());
    snap("prompt_date_error", &app);
}

#[test]
fn new_ticket_form_empty_with_error() {
    let mut app = customer();
    let mut form = TicketForm::new(None);
    assert!(!form.validate());
    main_mut(&mut app).form = Some(form);
    snap("form_empty_error", &app);
}

#[test]
fn new_ticket_form_filled() {
    let mut app = customer();
    let draft = NewTicket {
        subject: "Printer on fire in the third-floor copy room".into(),
        description: "Smoke is coming out of the big printer.\n\nPlease hurry.".into(),
        priority: "high".into(),
        customer: None,
    };
    let mut form = TicketForm::new(Some(&draft));
    form.focus = FormField::Priority;
    form.error = Some("could not reach the server.".into());
    main_mut(&mut app).form = Some(form);
    snap("form_filled", &app);
}

#[test]
fn help_overlay() {
    let mut app = agent();
    app.help_open = true;
    snap("help", &app);
}

#[test]
fn admin_audit_view() {
    snap("admin_audit", &admin_audit());
}

#[test]
fn list_with_filter_typed() {
    let mut app = agent();
    let m = main_mut(&mut app);
    m.list.filter = "upd".into();
    m.list.filtering = true;
    m.list.selected = 0;
    snap("list_filter", &app);
    let m = main_mut(&mut app);
    m.list.filter = "zzzz".into();
    snap("list_filter_nothing", &app);
}

#[test]
fn narrow_detail_layout() {
    let mut app = agent();
    let m = main_mut(&mut app);
    m.focus = Pane::Detail;
    m.detail_scroll = 2;
    snap("detail_focused", &app);
}

#[test]
fn empty_queue_and_error_notice() {
    let mut app = agent();
    let m = main_mut(&mut app);
    m.queue = Queue::Unassigned;
    m.list.rows.clear();
    m.detail = None;
    m.thread.clear();
    app.notice = Some(Notice {
        text: "Only open, unassigned tickets can be claimed.".into(),
        error: true,
    });
    snap("empty_queue_error", &app);
}

// ---------------------------------------------------------------------------------------------
// Checks a text snapshot cannot make

#[test]
fn the_filter_underlines_the_words_it_matched() {
    let mut app = agent();
    main_mut(&mut app).list.filter = "fire".into();
    let terminal = draw_with(&app, &Theme::no_color(), 80, 24);
    let buf = terminal.backend().buffer();
    let text = screen_text(&terminal);
    let (y, line) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains("Printer on fire"))
        .expect("the matching row");
    let x = line.find("fire").unwrap();
    let x = line[..x].chars().count() as u16;
    let y = y as u16;
    for dx in 0..4 {
        assert!(
            buf[(x + dx, y)].modifier.contains(Modifier::UNDERLINED),
            "\"fire\" is marked"
        );
    }
    assert!(
        !buf[(x - 2, y)].modifier.contains(Modifier::UNDERLINED),
        "\"on\" is not"
    );
}

#[test]
fn no_color_theme_still_marks_the_selected_row() {
    let app = agent();
    let terminal = draw_with(&app, &Theme::no_color(), 80, 24);
    let buf = terminal.backend().buffer();
    let text = screen_text(&terminal);
    let y = text
        .lines()
        .position(|l| l.contains("Printer on fire"))
        .expect("selected row on screen") as u16;
    for x in 2..60 {
        let cell = &buf[(x, y)];
        assert!(
            cell.modifier.contains(Modifier::REVERSED),
            "cell ({x},{y}) {:?} is not reversed",
            cell.symbol()
        );
        assert_eq!((cell.fg, cell.bg), (Default::default(), Default::default()));
    }
    // The rows around it are not.
    assert!(!buf[(10, y + 1)].modifier.contains(Modifier::REVERSED));
}

#[test]
fn the_password_is_masked() {
    let app = login(|f| {
        f.login = Input::new("bo".into());
        f.password = Input::new("s3cr3t-pässword".into());
        f.focus = LoginField::Password;
    });
    for (w, h) in [(80, 24), (30, 8), (200, 60)] {
        let terminal = draw_with(&app, &Theme::dark(), w, h);
        let text = screen_text(&terminal);
        assert!(!text.contains("s3cr3t"), "{text}");
        assert!(!text.contains("pässword"), "{text}");
        if w >= 80 {
            assert!(text.contains(&"*".repeat(15)), "{text}");
        }
    }
    // The cursor sits after the last '*'.
    let mut terminal = draw_with(&app, &Theme::dark(), 80, 24);
    let text = screen_text(&terminal);
    let (y, line) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains("Password"))
        .unwrap();
    let stars = line.chars().position(|c| c == '*').unwrap() as u16;
    terminal
        .backend_mut()
        .assert_cursor_position((stars + 15, y as u16));
}

#[test]
fn help_follows_the_live_keymap() {
    let mut overrides = BTreeMap::new();
    overrides.insert("claim".to_owned(), vec!["ctrl-t".to_owned()]);
    overrides.insert("search".to_owned(), vec![]);
    let mut app = agent();
    app.keymap = Keymap::with_overrides(&overrides).unwrap();
    app.help_open = true;
    let text = screen_text(&draw_with(&app, &Theme::dark(), 120, 40));
    let claim = text
        .lines()
        .find(|l| l.contains("claim"))
        .expect("claim listed");
    assert!(claim.contains("ctrl-t"), "{claim}");
    assert!(!text.contains("search on server"), "{text}");
    // The status line's hints follow it too.
    main_mut(&mut app).list.selected = 0;
    app.help_open = false;
    let text = screen_text(&draw_with(&app, &Theme::dark(), 120, 40));
    let status = text.lines().last().unwrap();
    assert!(status.contains("ctrl-t claim"), "{status}");
    assert!(!status.contains("search"), "{status}");
}

#[test]
fn the_typed_filter_has_the_cursor() {
    let mut app = agent();
    let m = main_mut(&mut app);
    m.list.filter = "upd".into();
    m.list.filtering = true;
    let mut terminal = draw_with(&app, &Theme::dark(), 80, 24);
    let text = screen_text(&terminal);
    let (y, line) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains("Filter: upd"))
        .unwrap();
    let x = line.chars().take_while(|c| *c != 'F').count() + "Filter: upd".len();
    terminal
        .backend_mut()
        .assert_cursor_position((x as u16, y as u16));
}

#[test]
fn nothing_panics_at_any_size() {
    let mut apps = vec![
        login(|_| {}),
        login(|f| f.error = Some("x".repeat(300))),
        customer(),
        agent(),
        admin_audit(),
    ];
    let mut with_help = agent();
    with_help.help_open = true;
    apps.push(with_help);
    for focus in [
        FormField::Subject,
        FormField::Description,
        FormField::Priority,
    ] {
        let mut app = customer();
        let draft = NewTicket {
            subject: "s".repeat(300),
            description: "line\n".repeat(50) + &"w".repeat(500),
            priority: "urgent".into(),
            customer: None,
        };
        let mut form = TicketForm::new(Some(&draft));
        form.focus = focus;
        form.validate();
        form.error = Some("e".repeat(200));
        main_mut(&mut app).form = Some(form);
        apps.push(app);
    }
    let mut status = agent();
    let row = main_mut(&mut status).list.rows[1].clone();
    main_mut(&mut status).picker = Some(Picker::Status {
        ticket: row.id,
        options: Status::ALL.to_vec(),
        selected: 3,
    });
    apps.push(status);
    let mut audit = admin_audit();
    main_mut(&mut audit).focus = Pane::Detail;
    apps.push(audit);
    let mut picker = agent();
    main_mut(&mut picker).picker = Some(Picker::AuditField { selected: 9 });
    apps.push(picker);
    let mut prompt = agent();
    main_mut(&mut prompt).prompt = Some(Prompt {
        kind: PromptKind::Search,
        input: Input::new("界".repeat(100)),
        selected: false,
    });
    apps.push(prompt);
    let mut detail = agent();
    main_mut(&mut detail).focus = Pane::Detail;
    main_mut(&mut detail).detail_scroll = u16::MAX;
    main_mut(&mut detail).list.selected = usize::MAX;
    apps.push(detail);
    for app in &apps {
        for w in [1, 2, 5, 10, 20, 33, 60, 79, 99, 100, 101, 200] {
            for h in [1, 2, 3, 5, 8, 12, 24, 60] {
                for theme in [Theme::dark(), Theme::no_color()] {
                    draw_with(app, &theme, w, h);
                }
            }
        }
    }
}

#[test]
fn a_long_list_builds_only_the_visible_rows_and_keeps_the_selection_in_view() {
    let mut app = agent();
    let m = main_mut(&mut app);
    let template = m.list.rows[0].clone();
    m.list.rows = (0..5000)
        .map(|i| TicketRow {
            id: id(0x9000 + i),
            subject: format!("Ticket number {i}"),
            ..template.clone()
        })
        .collect();
    m.list.selected = 4321;
    m.list.exhausted = false;
    let text = screen_text(&draw_with(&app, &Theme::dark(), 80, 24));
    let row = text
        .lines()
        .find(|l| l.contains("Ticket number 4321"))
        .expect("selection in view");
    assert!(row.contains("▶"), "{row}");
    assert!(text.contains("4322/5000+"), "{text}");
}

#[test]
fn help_lists_only_what_this_person_can_do() {
    let help = |mut app: App| {
        app.help_open = true;
        screen_text(&draw_with(&app, &Theme::dark(), 120, 40))
    };
    let c = help(customer());
    for not in [
        "claim",
        "hand off",
        "change priority",
        "audit",
        "next queue",
    ] {
        assert!(!c.contains(not), "a customer is shown {not:?}:\n{c}");
    }
    assert!(
        c.contains("new ticket") && c.contains("send the new ticket"),
        "{c}"
    );
    let a = help(agent());
    assert!(a.contains("claim") && a.contains("next queue"), "{a}");
    for not in ["audit view", "filter audit"] {
        assert!(!a.contains(not), "an agent is shown {not:?}:\n{a}");
    }
    assert!(a.contains("new ticket"), "agents file for customers: {a}");
    let m = help(admin_audit());
    assert!(m.contains("audit view") && m.contains("hand off"), "{m}");
    assert!(!m.contains("claim"), "{m}");
}

#[test]
fn the_list_columns_follow_the_role_and_queue_and_use_the_width() {
    let header = |app: &App, w: u16, h: u16| {
        let text = screen_text(&draw_with(app, &Theme::dark(), w, h));
        text.lines()
            .find(|l| l.contains("Subject"))
            .expect("the list header")
            .to_owned()
    };
    let c = header(&customer(), 200, 60);
    assert!(c.contains("Agent") && !c.contains("Customer"), "{c}");
    let mut a = agent();
    main_mut(&mut a).queue = Queue::All;
    let all = header(&a, 200, 60);
    assert!(all.contains("Customer") && all.contains("Agent"), "{all}");
    main_mut(&mut a).queue = Queue::Mine;
    let mine = header(&a, 200, 60);
    assert!(
        mine.contains("Customer") && !mine.contains("Agent"),
        "{mine}"
    );
    main_mut(&mut a).queue = Queue::Unassigned;
    let pool = header(&a, 200, 60);
    assert!(
        pool.contains("Customer") && !pool.contains("Agent"),
        "{pool}"
    );
    // At 200 columns the list takes what the detail does not need.
    let text = screen_text(&draw_with(&agent(), &Theme::dark(), 200, 60));
    let top = text.lines().nth(1).unwrap();
    let first_corner = top.chars().skip(1).position(|c| c == '┓' || c == '┐');
    assert!(
        first_corner.is_some_and(|x| x >= 105),
        "the list is wider than half of 200 columns: {top}"
    );
}

#[test]
fn an_unfocused_description_is_shown_wrapped_whole() {
    let mut app = customer();
    let draft = NewTicket {
        subject: "Printer".into(),
        description: "Smoke is coming out of the big printer next to the kitchen and the \
                      paper tray is still warm, ENDWORD"
            .into(),
        priority: "high".into(),
        customer: None,
    };
    let mut form = TicketForm::new(Some(&draft));
    form.focus = FormField::Subject;
    main_mut(&mut app).form = Some(form);
    let text = screen_text(&draw_with(&app, &Theme::dark(), 80, 24));
    assert!(
        text.contains("ENDWORD"),
        "the end of the long line shows:\n{text}"
    );
}

#[test]
fn audit_times_carry_the_year_when_not_this_year_and_name_their_zone() {
    use chrono::{FixedOffset, TimeZone, Utc};
    let mut app = admin_audit();
    let m = main_mut(&mut app);
    m.audit.selected = 0;
    m.audit.rows[0].changed_at = Utc.with_ymd_and_hms(2024, 12, 1, 13, 41, 0).unwrap();
    m.audit.rows[1].changed_at = now() - chrono::Duration::hours(1);
    let draw = |zone: FixedOffset| {
        let mut terminal =
            ratatui::Terminal::new(ratatui::backend::TestBackend::new(80, 24)).unwrap();
        terminal
            .draw(|f| tickets::ui::render_in(&app, &Theme::dark(), f, now(), zone))
            .unwrap();
        screen_text(&terminal)
    };
    let utc = draw(FixedOffset::east_opt(0).unwrap());
    assert!(utc.contains("2024-12-01"), "another year shows it:\n{utc}");
    assert!(utc.contains("UTC"), "the zone is named:\n{utc}");
    let this_year = (now() - chrono::Duration::hours(1))
        .format("%m-%d %H:%M")
        .to_string();
    assert!(utc.contains(&this_year), "this year's stays short:\n{utc}");
    let plus_two = draw(FixedOffset::east_opt(2 * 3600).unwrap());
    let local = (now() + chrono::Duration::hours(1))
        .format("%m-%d %H:%M")
        .to_string();
    assert!(plus_two.contains("UTC+02:00"), "{plus_two}");
    assert!(
        plus_two.contains(&local),
        "times in the zone given:\n{plus_two}"
    );
}

#[test]
fn a_long_login_error_is_shown_whole() {
    let app = login(|f| {
        f.login = Input::new("bo".into());
        f.error = Some(
            "error connecting to server: tls handshake failed: invalid peer certificate: \
             certificate expired: verification time is after notAfter CAUSE-AT-THE-END"
                .into(),
        );
    });
    let text = screen_text(&draw_with(&app, &Theme::dark(), 80, 24));
    assert!(
        text.contains("CAUSE-AT-THE-END"),
        "wrapped, not cut:\n{text}"
    );
}

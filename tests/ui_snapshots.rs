//! Snapshots of every screen at 80x24 (what users see over SSH) and 120x40, drawn from fixture
//! state at a fixed time, plus a few targeted checks that a text snapshot cannot make: styles
//! without colour, the masked password, the keymap-driven help, and no panic at tiny sizes.

use chrono::{DateTime, Duration, TimeZone, Utc};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Modifier;
use std::collections::BTreeMap;
use tickets::app::form::{FormField, TicketForm};
use tickets::app::keymap::Keymap;
use tickets::app::*;
use tickets::model::*;
use tickets::ui::{Theme, render_at};
use tui_input::Input;
use uuid::Uuid;

const SERVER: &str = "localhost:5432/tickets";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 3, 12, 0, 0).unwrap()
}

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

/// Ticket ids that differ in their first eight hex digits, as the detail title shows them.
fn ticket_id(i: u128) -> Uuid {
    Uuid::from_u128(((0x7c3e_9a10 + i * 0x1111) << 96) | 0x4a1b_8000_0000_0000_0000_1234)
}

const CARA: u128 = 0xc0ffee00_0000_4000_8000_00000000c1c1;
const BO: u128 = 0xb0b0b0b0_0000_4000_8000_00000000a1a1;
const DEE: u128 = 0xdeedee00_0000_4000_8000_00000000a2a2;
const ANA: u128 = 0xa2a2a2a2_0000_4000_8000_00000000adad;

fn person(n: u128, name: &str, role: Role) -> PersonName {
    PersonName {
        id: id(n),
        display_name: name.into(),
        role,
        active: true,
    }
}

fn me(n: u128, login: &str, name: &str, role: Role) -> Me {
    Me {
        id: id(n),
        login: login.into(),
        display_name: name.into(),
        role,
    }
}

fn agents() -> Vec<PersonName> {
    vec![
        person(BO, "Bo Berg", Role::Agent),
        person(DEE, "Dee Diaz", Role::Agent),
        person(0xe1, "Eli Okafor-Lindqvist", Role::Agent),
    ]
}

fn moves() -> Vec<Move> {
    use Status::*;
    [
        (Open, InProgress),
        (Open, WaitingOnCustomer),
        (InProgress, WaitingOnCustomer),
        (InProgress, Resolved),
        (WaitingOnCustomer, InProgress),
        (Resolved, Closed),
        (Resolved, InProgress),
    ]
    .into_iter()
    .map(|(from, to)| Move { from, to })
    .collect()
}

fn ago(mins: i64) -> DateTime<Utc> {
    now() - Duration::minutes(mins)
}

/// subject, status, priority, agent, created and updated (minutes ago).
type Fixture<'a> = (&'a str, Status, Priority, Option<(u128, &'a str)>, i64, i64);

/// The fixture tickets, in the list's order.
fn rows() -> Vec<TicketRow> {
    use Priority::*;
    use Status::*;
    let bo = Some((BO, "Bo Berg"));
    let dee = Some((DEE, "Dee Diaz"));
    let data: [Fixture; 8] = [
        (
            "Laptop will not boot after the BIOS update",
            Open,
            Urgent,
            None,
            3,
            2,
        ),
        (
            "Printer on fire in the third-floor copy room",
            InProgress,
            Urgent,
            bo,
            2 * 1440,
            5,
        ),
        (
            "VPN drops every 20 minutes since Monday's update",
            WaitingOnCustomer,
            High,
            bo,
            3 * 1440,
            180,
        ),
        (
            "Invoice 2291 charged twice",
            InProgress,
            High,
            bo,
            4 * 1440,
            2 * 1440,
        ),
        ("Cannot reset my password", Open, Normal, None, 60, 40),
        (
            "Mailbox quota exceeded",
            Resolved,
            Normal,
            dee,
            6 * 1440,
            1440,
        ),
        (
            "Feature request: dark mode for the customer portal",
            Open,
            Low,
            None,
            12 * 1440,
            12 * 1440,
        ),
        (
            "Old question about the fax machine",
            Closed,
            Low,
            dee,
            400 * 1440,
            399 * 1440,
        ),
    ];
    data.iter()
        .enumerate()
        .map(
            |(i, (subject, status, priority, agent, created, updated))| TicketRow {
                id: ticket_id(i as u128),
                subject: (*subject).into(),
                status: *status,
                priority: *priority,
                customer_id: id(CARA),
                agent_id: agent.map(|a| id(a.0)),
                agent_name: agent.map(|a| a.1.to_owned()),
                created_at: ago(*created),
                updated_at: ago(*updated),
            },
        )
        .collect()
}

fn detail_of(row: &TicketRow) -> TicketDetail {
    TicketDetail {
        row: row.clone(),
        description: "Smoke is coming out of the big printer next to the kitchen. Someone \
            pulled the plug, but the paper tray is still warm.\n\nSteps so far:\n- unplugged it\n\
            - opened the window\n- told facilities (no answer yet)\n\nPlease send someone who \
            knows this model (HP LaserJet 9050) before Thursday's board meeting, when we need \
            to print 40 copies of the annual report."
            .into(),
        customer_name: Some("Cara Customer".into()),
        customer_email: Some("cara@example.com".into()),
    }
}

fn entry(
    ticket: &TicketRow,
    seq: i32,
    kind: ChangeKind,
    by: (u128, &str),
    mins: i64,
) -> HistoryEntry {
    HistoryEntry {
        id: id(0x2000 + (ticket.id.as_u128() & 0xff) * 16 + seq as u128),
        ticket_id: ticket.id,
        ticket_subject: Some(ticket.subject.clone()),
        seq,
        kind,
        old_status: None,
        new_status: None,
        old_agent: None,
        new_agent: None,
        old_priority: None,
        new_priority: None,
        changed_by: id(by.0),
        changed_by_name: by.1.into(),
        changed_at: ago(mins),
    }
}

fn history_of(t: &TicketRow) -> Vec<HistoryEntry> {
    let cara = (CARA, "Cara Customer");
    let bo = (BO, "Bo Berg");
    let mut created = entry(t, 1, ChangeKind::Created, cara, 2 * 1440);
    created.new_status = Some(Status::Open);
    let mut assigned = entry(t, 2, ChangeKind::Assignment, bo, 2 * 1440 - 29);
    assigned.new_agent = Some("Bo Berg".into());
    let mut started = entry(t, 3, ChangeKind::Status, bo, 2 * 1440 - 31);
    started.old_status = Some(Status::Open);
    started.new_status = Some(Status::InProgress);
    let mut urgent = entry(t, 4, ChangeKind::Priority, bo, 5);
    urgent.old_priority = Some(Priority::Normal);
    urgent.new_priority = Some(Priority::Urgent);
    vec![created, assigned, started, urgent]
}

fn app_with(main: Main) -> App {
    let mut app = App::new(Keymap::default(), SERVER.into(), None);
    app.screen = Screen::Main(Box::new(main));
    app
}

fn main_mut(app: &mut App) -> &mut Main {
    match &mut app.screen {
        Screen::Main(m) => m,
        Screen::Login(_) => panic!("not logged in"),
    }
}

/// A main screen with the list loaded and `selected` shown in detail and history.
fn logged_in(who: Me, rows: Vec<TicketRow>, selected: usize) -> Main {
    let mut m = Main::new(who, moves(), agents());
    m.list.rows = rows;
    m.list.selected = selected;
    m.list.exhausted = true;
    if let Some(r) = m.list.rows.get(selected) {
        m.detail = Some(detail_of(r));
        m.history = history_of(r);
        m.history_scroll = m.history.len() - 1;
    }
    m
}

fn customer() -> App {
    let mut m = logged_in(me(CARA, "cara", "Cara Customer", Role::Customer), rows(), 1);
    m.counts.insert(Queue::Mine, 8);
    app_with(m)
}

fn agent() -> App {
    let mut m = logged_in(me(BO, "bo", "Bo Berg", Role::Agent), rows(), 1);
    m.counts = [(Queue::Mine, 12), (Queue::Unassigned, 40), (Queue::All, 97)].into();
    m.queue = Queue::All;
    let mut app = app_with(m);
    app.notice = None;
    app
}

fn admin_audit() -> App {
    let mut m = logged_in(me(ANA, "ana", "Ana Admin", Role::Admin), rows(), 1);
    m.counts = [(Queue::All, 97), (Queue::Unassigned, 40)].into();
    m.view = View::Audit;
    let all = rows();
    let mut feed: Vec<HistoryEntry> = all
        .iter()
        .take(6)
        .flat_map(history_of)
        .filter(|h| h.changed_by == id(BO))
        .collect();
    for (i, h) in feed.iter_mut().enumerate() {
        h.changed_at = ago(7 * i as i64 + 3);
    }
    m.audit.rows = feed;
    m.audit.selected = 4;
    assert_eq!(m.audit.rows[4].ticket_id, all[1].id);
    m.audit.filter.person = "bo".into();
    m.audit.filter.since = Some(Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap());
    let t = &all[1];
    m.detail = Some(detail_of(t));
    m.history = history_of(t);
    app_with(m)
}

fn login(f: impl FnOnce(&mut LoginForm)) -> App {
    let mut app = App::new(Keymap::default(), SERVER.into(), None);
    if let Screen::Login(form) = &mut app.screen {
        f(form);
    }
    app
}

fn draw_with(app: &App, theme: &Theme, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal
        .draw(|frame| render_at(app, theme, frame, now()))
        .unwrap();
    terminal
}

fn snap(name: &str, app: &App) {
    snap_at(name, app, &[(80, 24), (120, 40)]);
}

fn snap_at(name: &str, app: &App, sizes: &[(u16, u16)]) {
    for &(w, h) in sizes {
        let terminal = draw_with(app, &Theme::dark(), w, h);
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), terminal.backend());
    }
}

fn screen_text(terminal: &Terminal<TestBackend>) -> String {
    let buf = terminal.backend().buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Snapshots

#[test]
fn login_empty() {
    snap("login_empty", &login(|_| {}));
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
    m.history = Vec::new();
    m.history_req = Some(7);
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
    main_mut(&mut app).prompt = Some(Prompt {
        kind: PromptKind::Search,
        input: Input::new("printer".into()),
    });
    snap("prompt_search", &app);
}

#[test]
fn audit_date_prompt_with_error() {
    let mut app = admin_audit();
    let m = main_mut(&mut app);
    m.prompt = Some(Prompt {
        kind: PromptKind::AuditSince,
        input: Input::new("last tuesday".into()),
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
    m.history.clear();
    app.notice = Some(Notice {
        text: "Only open, unassigned tickets can be claimed.".into(),
        error: true,
    });
    snap("empty_queue_error", &app);
}

// ---------------------------------------------------------------------------------------------
// Checks a text snapshot cannot make

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
    main_mut(&mut audit).focus = Pane::History;
    apps.push(audit);
    let mut picker = agent();
    main_mut(&mut picker).picker = Some(Picker::AuditField { selected: 9 });
    apps.push(picker);
    let mut prompt = agent();
    main_mut(&mut prompt).prompt = Some(Prompt {
        kind: PromptKind::Search,
        input: Input::new("界".repeat(100)),
    });
    apps.push(prompt);
    let mut detail = agent();
    main_mut(&mut detail).focus = Pane::History;
    main_mut(&mut detail).detail_scroll = u16::MAX;
    main_mut(&mut detail).history_scroll = usize::MAX;
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

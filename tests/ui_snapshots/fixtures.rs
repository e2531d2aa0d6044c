//! Fixtures for the snapshots: people, tickets, history and app states at a fixed time.

use chrono::{DateTime, Duration, TimeZone, Utc};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tickets::app::keymap::Keymap;
use tickets::app::*;
use tickets::model::*;
use tickets::ui::{Theme, render_at};
use uuid::Uuid;

pub const SERVER: &str = "localhost:5432/tickets";

pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 3, 12, 0, 0).unwrap()
}

pub fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

/// Ticket ids that differ in their first eight hex digits, as the detail title shows them.
pub fn ticket_id(i: u128) -> Uuid {
    Uuid::from_u128(((0x7c3e_9a10 + i * 0x1111) << 96) | 0x4a1b_8000_0000_0000_0000_1234)
}

pub const CARA: u128 = 0xc0ffee00_0000_4000_8000_00000000c1c1;
pub const BO: u128 = 0xb0b0b0b0_0000_4000_8000_00000000a1a1;
pub const DEE: u128 = 0xdeedee00_0000_4000_8000_00000000a2a2;
pub const ANA: u128 = 0xa2a2a2a2_0000_4000_8000_00000000adad;

pub fn person(n: u128, name: &str, role: Role) -> PersonName {
    PersonName {
        id: id(n),
        display_name: name.into(),
        role,
        active: true,
    }
}

pub fn me(n: u128, login: &str, name: &str, role: Role) -> Me {
    Me {
        id: id(n),
        login: login.into(),
        display_name: name.into(),
        role,
    }
}

pub fn agents() -> Vec<PersonName> {
    vec![
        person(BO, "Bo Berg", Role::Agent),
        person(DEE, "Dee Diaz", Role::Agent),
        person(0xe1, "Eli Okafor-Lindqvist", Role::Agent),
    ]
}

pub fn moves() -> Vec<Move> {
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

pub fn ago(mins: i64) -> DateTime<Utc> {
    now() - Duration::minutes(mins)
}

/// subject, status, priority, agent, created and updated (minutes ago).
type Fixture<'a> = (&'a str, Status, Priority, Option<(u128, &'a str)>, i64, i64);

/// The fixture tickets, in the list's order.
pub fn rows() -> Vec<TicketRow> {
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
                number: 1040 + i as i64,
                subject: (*subject).into(),
                status: *status,
                priority: *priority,
                customer_id: id(CARA),
                agent_id: agent.map(|a| id(a.0)),
                agent_name: agent.map(|a| a.1.to_owned()),
                customer_name: Some("Cara Customer".into()),
                created_at: ago(*created),
                updated_at: ago(*updated),
                // One ticket with news since the person last opened it.
                unseen: i == 3,
            },
        )
        .collect()
}

pub fn detail_of(row: &TicketRow) -> TicketDetail {
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

pub fn entry(
    ticket: &TicketRow,
    seq: i32,
    kind: ChangeKind,
    by: (u128, &str),
    mins: i64,
) -> HistoryEntry {
    HistoryEntry {
        id: id(0x2000 + (ticket.id.as_u128() & 0xff) * 16 + seq as u128),
        ticket_id: ticket.id,
        ticket_number: None,
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
        changed_by_login: None,
        changed_at: ago(mins),
    }
}

pub fn history_of(t: &TicketRow) -> Vec<HistoryEntry> {
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

/// The conversation of `t`: its history's events with a reply, an internal note and the
/// customer's answer in between, in time order.
pub fn thread_of(t: &TicketRow) -> Vec<ThreadEntry> {
    let event = |h: HistoryEntry| ThreadEntry {
        id: h.id,
        ticket_id: h.ticket_id,
        at: h.changed_at,
        kind: ThreadKind::Change(h.kind),
        person_id: h.changed_by,
        person_name: Some(h.changed_by_name.clone()),
        body: None,
        old_status: h.old_status,
        new_status: h.new_status,
        old_agent: h.old_agent.clone(),
        new_agent: h.new_agent.clone(),
        old_priority: h.old_priority,
        new_priority: h.new_priority,
    };
    let message =
        |n: u128, kind: ThreadKind, by: (u128, &str), mins: i64, body: &str| ThreadEntry {
            id: id(0x3000 + n),
            ticket_id: t.id,
            at: ago(mins),
            kind,
            person_id: id(by.0),
            person_name: Some(by.1.into()),
            body: Some(body.into()),
            old_status: None,
            new_status: None,
            old_agent: None,
            new_agent: None,
            old_priority: None,
            new_priority: None,
        };
    let mut h = history_of(t).into_iter().map(event);
    let mut v = vec![h.next().unwrap(), h.next().unwrap(), h.next().unwrap()];
    v.push(message(
        1,
        ThreadKind::Message,
        (BO, "Bo Berg"),
        2 * 1440 - 35,
        "On my way with a fire extinguisher. Please keep the door closed.",
    ));
    v.push(message(
        2,
        ThreadKind::Note,
        (BO, "Bo Berg"),
        2 * 1440 - 40,
        "Facilities says the fuser was replaced last week: ask them for the invoice.",
    ));
    v.push(message(
        3,
        ThreadKind::Message,
        (CARA, "Cara Customer"),
        60,
        "Thanks! It still smells a bit.",
    ));
    v.extend(h);
    v
}

pub fn app_with(main: Main) -> App {
    let mut app = App::new(Keymap::default(), SERVER.into(), None);
    app.screen = Screen::Main(Box::new(main));
    app
}

pub fn main_mut(app: &mut App) -> &mut Main {
    match &mut app.screen {
        Screen::Main(m) => m,
        Screen::Login(_) => panic!("not logged in"),
    }
}

/// A main screen with the list loaded and `selected` shown in detail and history.
pub fn logged_in(who: Me, rows: Vec<TicketRow>, selected: usize) -> Main {
    let mut m = Main::new(who, moves(), agents());
    m.list.rows = rows;
    m.list.selected = selected;
    m.list.exhausted = true;
    if let Some(r) = m.list.rows.get(selected) {
        m.detail = Some(detail_of(r));
        m.thread = thread_of(r);
        m.thread_for = Some(r.id);
    }
    m
}

pub fn customer() -> App {
    let mut m = logged_in(me(CARA, "cara", "Cara Customer", Role::Customer), rows(), 1);
    m.counts.insert(Queue::Mine, 8);
    app_with(m)
}

pub fn agent() -> App {
    let mut m = logged_in(me(BO, "bo", "Bo Berg", Role::Agent), rows(), 1);
    m.counts = [(Queue::Mine, 12), (Queue::Unassigned, 40), (Queue::All, 97)].into();
    m.queue = Queue::All;
    let mut app = app_with(m);
    app.notice = None;
    app
}

pub fn admin_audit() -> App {
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
        // As staff read them: name plus login (names repeat across people).
        h.changed_by_name = "Bo Berg (bo_berg)".into();
        h.changed_by_login = Some("bo_berg".into());
        if h.new_agent.is_some() {
            h.new_agent = Some("Bo Berg (bo_berg)".into());
        }
    }
    m.audit.rows = feed;
    m.audit.selected = 4;
    assert_eq!(m.audit.rows[4].ticket_id, all[1].id);
    m.audit.filter.person = "bo".into();
    m.audit.filter.since = Some(Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap());
    let t = &all[1];
    m.detail = Some(detail_of(t));
    m.thread = thread_of(t);
    m.thread_for = Some(t.id);
    app_with(m)
}

pub fn login(f: impl FnOnce(&mut LoginForm)) -> App {
    let mut app = App::new(Keymap::default(), SERVER.into(), None);
    if let Screen::Login(form) = &mut app.screen {
        f(form);
    }
    app
}

pub fn draw_with(app: &App, theme: &Theme, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal
        .draw(|frame| render_at(app, theme, frame, now()))
        .unwrap();
    terminal
}

pub fn screen_text(terminal: &Terminal<TestBackend>) -> String {
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

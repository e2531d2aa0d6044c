//! The `/` filter matches words and ranks by score (issue 11 item 7): letters scattered over a
//! subject, its status and its priority no longer match, and the best match comes first.

mod app_support;

use app_support::*;
use tickets::app::filter::{matched_words, rank};
use tickets::app::update;
use tickets::model::*;

fn rows(subjects: &[(&str, Status)]) -> Vec<TicketRow> {
    subjects
        .iter()
        .enumerate()
        .map(|(n, (s, status))| {
            let mut r = row(n as u128 + 1, None, *status);
            r.subject = (*s).into();
            r
        })
        .collect()
}

/// What the list shows after typing `/` and `filter` (the state's own ranking, as drawn).
fn subjects(rows: &[TicketRow], filter: &str) -> Vec<String> {
    let mut app = logged_in(Role::Agent, rows.to_vec());
    update(&mut app, ch('/'));
    typed(&mut app, filter);
    let list = &main_of(&app).list;
    let shown: Vec<String> = list
        .visible()
        .into_iter()
        .map(|i| list.rows[i].subject.clone())
        .collect();
    assert_eq!(
        rank(rows, filter).len(),
        shown.len(),
        "the list shows what rank() says"
    );
    assert_eq!(
        main_of(&app).selected().map(|r| r.subject.clone()),
        shown.first().cloned(),
        "the best match is selected"
    );
    shown
}

#[test]
fn scattered_letters_do_not_match_and_whole_words_rank_first() {
    let rows = rows(&[
        ("Export to CSV times out", Status::Open),
        ("Printer offline after VPN update", Status::Open),
        ("VPN drops every hour", Status::Open),
        ("Slow VPNs on Mondays", Status::Open),
    ]);
    assert_eq!(
        subjects(&rows, "vpn"),
        vec![
            "Printer offline after VPN update",
            "VPN drops every hour",
            "Slow VPNs on Mondays",
        ],
        "the exact word first (in list order), then the word that starts with it; never Export"
    );
    assert_eq!(
        subjects(&rows, "vpn drops"),
        vec!["VPN drops every hour"],
        "every typed word must match"
    );
    assert_eq!(
        subjects(&rows, "printr"),
        vec!["Printer offline after VPN update"],
        "a slip inside one word still finds it"
    );
}

#[test]
fn a_status_word_matches_that_status_only() {
    let rows = rows(&[
        ("Mail bounces", Status::Closed),
        ("Mail is slow", Status::Open),
        ("Door will not open", Status::Resolved),
        ("Keyboard sticky", Status::WaitingOnCustomer),
    ]);
    assert_eq!(
        subjects(&rows, "open"),
        vec!["Door will not open", "Mail is slow"],
        "the word in the subject first, then the open ticket; never the closed one"
    );
    assert_eq!(subjects(&rows, "waiting"), vec!["Keyboard sticky"]);
    assert_eq!(subjects(&rows, "mail closed"), vec!["Mail bounces"]);
}

#[test]
fn the_matched_words_are_named_for_highlighting() {
    let s = "Printer offline after VPN update";
    let ranges = matched_words(s, "vpn print");
    let words: Vec<&str> = ranges.iter().map(|&(a, b)| &s[a..b]).collect();
    assert_eq!(words, vec!["Printer", "VPN"]);
}

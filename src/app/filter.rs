//! The `/` filter over the loaded rows of a list: it matches words, ranks by how well they
//! match, and says which words of the subject matched, so the list can show why a row is there.
//!
//! Each typed word must match one word of the subject (whole word best, then the start of a
//! word, then inside a word, then its letters in order within one word: "printr" finds
//! "printer"), or name the ticket's status or priority ("open", "urgent", "waiting"). Letters
//! scattered over several words do not match: "vpn" does not find "Export to CSV times out".

use crate::model::TicketRow;

/// How well one typed word matches one word of the text (0: not at all).
fn word_score(query: &str, word: &str) -> u32 {
    if query.is_empty() || word.is_empty() {
        return 0;
    }
    if word == query {
        return 100;
    }
    if word.starts_with(query) {
        // A longer part of the word typed ranks higher: "print" over "pr" for "printer".
        let typed = query.chars().count() as u32;
        let total = word.chars().count() as u32;
        return 60 + 30 * typed / total.max(1);
    }
    if query.chars().count() >= 2 && word.contains(query) {
        return 40;
    }
    // A slip of the keyboard: the letters in order, starting with the word's first letter.
    if query.chars().count() >= 3 && query.chars().next() == word.chars().next() {
        let mut letters = word.chars();
        if query.chars().all(|q| letters.any(|w| w == q)) {
            return 20;
        }
    }
    0
}

/// The words of `text` with their byte ranges: runs of letters and digits.
fn words(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_alphanumeric(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, text.len()));
    }
    out
}

fn query_words(filter: &str) -> Vec<String> {
    words(filter)
        .into_iter()
        .map(|(a, b)| filter[a..b].to_lowercase())
        .collect()
}

/// The score of a row for the typed words, or None when one of them matches nothing.
fn row_score(row: &TicketRow, query: &[String]) -> Option<u32> {
    let subject = row.subject.to_lowercase();
    let subject_words: Vec<&str> = words(&subject)
        .into_iter()
        .map(|(a, b)| &subject[a..b])
        .collect();
    // Status and priority match by the start of their words ("wait", "progress", "urg").
    let named = format!("{} {}", row.status, row.priority);
    let mut total = 0;
    for q in query {
        let in_subject = subject_words
            .iter()
            .map(|w| word_score(q, w))
            .max()
            .unwrap_or(0);
        let in_state =
            if q.chars().count() >= 2 && named.split(' ').any(|w| w.starts_with(q.as_str())) {
                50
            } else {
                0
            };
        let best = in_subject.max(in_state);
        if best == 0 {
            return None;
        }
        total += best;
    }
    Some(total)
}

/// Indices of the rows that match `filter`, best match first (ties keep the list's order).
pub fn rank(rows: &[TicketRow], filter: &str) -> Vec<usize> {
    let query = query_words(filter);
    if query.is_empty() {
        return (0..rows.len()).collect();
    }
    let mut scored: Vec<(u32, usize)> = rows
        .iter()
        .enumerate()
        .filter_map(|(i, r)| row_score(r, &query).map(|s| (s, i)))
        .collect();
    scored.sort_by_key(|&(score, i)| (std::cmp::Reverse(score), i));
    scored.into_iter().map(|(_, i)| i).collect()
}

/// The byte ranges of the subject's words that a typed word matched, for highlighting.
pub fn matched_words(subject: &str, filter: &str) -> Vec<(usize, usize)> {
    let query = query_words(filter);
    if query.is_empty() {
        return Vec::new();
    }
    words(subject)
        .into_iter()
        .filter(|&(a, b)| {
            let word = subject[a..b].to_lowercase();
            query.iter().any(|q| word_score(q, &word) > 0)
        })
        .collect()
}

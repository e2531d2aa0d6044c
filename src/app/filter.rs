//! The `/` filter over the loaded rows of a list.

use crate::model::TicketRow;
use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher, Utf32Str};

/// Indices of the rows whose subject fuzzy-matches `filter`, in list order.
pub fn fuzzy_filter(rows: &[TicketRow], filter: &str) -> Vec<usize> {
    let pattern = Pattern::parse(filter, CaseMatching::Smart, Normalization::Smart);
    let mut matcher = Matcher::new(Config::DEFAULT);
    let mut buf = Vec::new();
    rows.iter()
        .enumerate()
        .filter(|(_, r)| {
            let haystack = format!("{} {} {}", r.subject, r.status, r.priority);
            pattern
                .score(Utf32Str::new(&haystack, &mut buf), &mut matcher)
                .is_some()
        })
        .map(|(i, _)| i)
        .collect()
}

//! The help overlay, generated from the live keymap: a remapped key shows its new binding and an
//! unbound action is left out, so the help never lies.

use super::Ctx;
use super::text::{centered, fit, pad, width};
use crate::app::keymap::Action;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Padding, Paragraph};

/// The section an action is listed under. Exhaustive on purpose: a new action must be placed.
fn group(a: Action) -> usize {
    match a {
        Action::Up
        | Action::Down
        | Action::PageUp
        | Action::PageDown
        | Action::Top
        | Action::Bottom
        | Action::NextPane
        | Action::PrevPane
        | Action::Open
        | Action::Back => 0,
        Action::Filter
        | Action::Search
        | Action::NextQueue
        | Action::PrevQueue
        | Action::Refresh
        | Action::Jump
        | Action::NewTicket => 1,
        Action::Reply
        | Action::Claim
        | Action::Release
        | Action::HandOff
        | Action::SetStatus
        | Action::SetPriority => 2,
        Action::Audit | Action::EditAuditFilter => 3,
        Action::Help | Action::ChangePassword | Action::Quit => 4,
    }
}

const GROUPS: [&str; 5] = [
    "Move around",
    "Lists",
    "Act on the ticket",
    "Admin",
    "General",
];

/// Keys fixed in forms and prompts (not remappable, so written out); the last two are the
/// new-ticket form's, shown to customers only.
const TYPING: [(&str, &str); 4] = [
    ("tab/shift-tab", "next / previous field"),
    ("enter", "apply, log in"),
    ("ctrl-s", "send the new ticket"),
    ("esc", "close; draft kept"),
];

type Section = (&'static str, Vec<(String, &'static str)>);

fn sections(cx: &Ctx) -> Vec<Section> {
    // Only what this person can do: a customer is not shown claim or the audit view.
    let role = cx.app.main().map(|m| m.me.role);
    let offered = |a: Action| role.is_none_or(|r| a.offered_to(r));
    let mut out: Vec<Section> = GROUPS.iter().map(|g| (*g, Vec::new())).collect();
    for &a in Action::ALL {
        if let Some(label) = cx.app.keymap.label(a).filter(|_| offered(a)) {
            out[group(a)].1.push((label, a.help()));
        }
    }
    let typing = if offered(Action::NewTicket) { 4 } else { 2 };
    out.push((
        "While typing",
        TYPING[..typing]
            .iter()
            .map(|(k, h)| ((*k).to_owned(), *h))
            .collect(),
    ));
    out.retain(|(_, entries)| !entries.is_empty());
    out
}

fn lines(cx: &Ctx, sections: &[Section], cols: usize) -> Vec<Line<'static>> {
    let t = cx.theme;
    let key_w = sections
        .iter()
        .flat_map(|(_, e)| e.iter().map(|(k, _)| width(k)))
        .max()
        .unwrap_or(0)
        .min(16);
    let mut out = Vec::new();
    for (i, (name, entries)) in sections.iter().enumerate() {
        if i > 0 {
            out.push(Line::raw(""));
        }
        out.push(Line::styled(name.to_string(), t.focused_title));
        for (key, help) in entries {
            let room = cols.saturating_sub(key_w + 3);
            out.push(Line::from(vec![
                Span::raw(" "),
                Span::styled(pad(key, key_w), t.key_hint),
                Span::raw("  "),
                Span::raw(fit(help, room)),
            ]));
        }
    }
    out
}

fn height(sections: &[Section]) -> usize {
    sections
        .iter()
        .map(|(_, e)| e.len() + 2)
        .sum::<usize>()
        .saturating_sub(1)
}

pub(super) fn render(cx: &Ctx, frame: &mut Frame, area: Rect) {
    let t = cx.theme;
    let all = sections(cx);
    // Two columns when there is room: movement, general and typing keys left, the rest right.
    let two = area.width >= 64;
    let (mut left, mut right) = (Vec::new(), Vec::new());
    for s in all {
        if !two || matches!(s.0, "Move around" | "General" | "While typing") {
            left.push(s);
        } else {
            right.push(s);
        }
    }
    let rows = height(&left).max(height(&right));
    let w = if two { 82 } else { 46 };
    let popup = centered(area, w, u16::try_from(rows + 2).unwrap_or(u16::MAX));
    let close = [Action::Back, Action::Help]
        .iter()
        .filter_map(|a| cx.key(*a))
        .collect::<Vec<_>>()
        .join("/");
    let block = Block::bordered()
        .border_type(BorderType::Thick)
        .border_style(t.focused_border)
        .padding(Padding::horizontal(1))
        .title(Line::styled(" Keys ", t.focused_title))
        .title_bottom(Line::from(format!(" {close} close ")).right_aligned());
    let inner = block.inner(popup);
    frame.render_widget(Clear, popup);
    frame.render_widget(block, popup);
    if inner.is_empty() {
        return;
    }
    if two {
        let [l, _, r] = Layout::horizontal([
            Constraint::Fill(1),
            Constraint::Length(2),
            Constraint::Fill(1),
        ])
        .areas(inner);
        frame.render_widget(Paragraph::new(lines(cx, &left, l.width.into())), l);
        frame.render_widget(Paragraph::new(lines(cx, &right, r.width.into())), r);
    } else {
        let text = lines(cx, &left, inner.width.into());
        frame.render_widget(Paragraph::new(text), inner);
    }
}

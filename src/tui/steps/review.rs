//! Review & save: the exact lines that will change in pds.env (secrets masked), answers
//! that could not be applied, and the save result.

use crate::envfile::catalogue;
use crate::envfile::display::DiffTag;
use crate::finding::Level;
use crate::tui::app::App;
use crate::tui::theme::Theme;
use crate::tui::widgets::{finding_line, level_style};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let mut lines: Vec<Line> = Vec::new();
    let diff = &app.pending_diff;
    let changed: Vec<_> = diff
        .iter()
        .filter(|(t, _, _)| *t != DiffTag::Same)
        .collect();
    if changed.is_empty() {
        lines.push(Line::from(Span::styled(
            "No changes: the file on disk already says all of this.".to_string(),
            theme.dim,
        )));
    } else {
        // The title bar shows the full path; here, only what the signs mean.
        lines.push(Line::from("Changes (- now, + after saving):"));
        // Show each change with one line of context, like a compact diff.
        let keep: Vec<bool> = (0..diff.len())
            .map(|i| {
                (i.saturating_sub(1)..=(i + 1).min(diff.len() - 1))
                    .any(|j| diff[j].0 != DiffTag::Same)
            })
            .collect();
        let mut skipped = false;
        for (i, (tag, n, text)) in diff.iter().enumerate() {
            if !keep[i] {
                if !skipped {
                    lines.push(Line::from(Span::styled("   …", theme.dim)));
                }
                skipped = true;
                continue;
            }
            skipped = false;
            let (sign, style) = match tag {
                DiffTag::Added => ("+", theme.added),
                DiffTag::Removed => ("-", theme.removed),
                DiffTag::Same => (" ", theme.dim),
            };
            // Cut at the edge with "…", never wrapped: a wrapped line reads like two lines.
            lines.push(crate::tui::widgets::ellipsize(
                Line::from(Span::styled(format!("{sign}{n:>4} {text}"), style)),
                usize::from(area.width),
            ));
        }
    }
    let mut notes: Vec<Line> = Vec::new();
    let rejected = app.rejected();
    if !rejected.is_empty() {
        notes.push(Line::from(""));
        notes.push(Line::from(Span::styled(
            "Not applied (fix them first):",
            theme.fail,
        )));
        for (k, why) in rejected {
            // The reason may name its key already (the env reader's errors do).
            let line = match why.starts_with(&format!("{k}:")) {
                true => format!("  {why}"),
                false => format!("  {k}: {why}"),
            };
            notes.push(Line::from(Span::styled(line, theme.fail)));
        }
    }
    let findings = &app.working_findings;
    let fails = findings.iter().filter(|f| f.level == Level::Fail).count();
    let warns = findings.iter().filter(|f| f.level == Level::Warn).count();
    notes.push(Line::from(""));
    notes.push(Line::from(Span::styled(
        format!("pds.env as it will be: {fails} failure(s), {warns} warning(s) (details: pds-wizard env check)."),
        if fails > 0 { theme.fail } else if warns > 0 { theme.warn } else { theme.pass },
    )));
    for f in findings.iter().filter(|f| f.level == Level::Fail).take(3) {
        let mut f = f.clone();
        if let Some(s) = &f.subject {
            f.what = format!("{s}: {}", f.what);
        }
        notes.push(finding_line(&f, theme));
    }
    let unknown: Vec<String> = app
        .working
        .entries()
        .into_iter()
        .map(|(key, _, _)| key)
        .filter(|k| matches!(catalogue::status(k), catalogue::KeyStatus::Unread))
        .collect();
    if !unknown.is_empty() {
        notes.push(Line::from(Span::styled(
            format!(
                "Kept as they are (the PDS does not read them): {}",
                unknown.join(", ")
            ),
            theme.dim,
        )));
    }
    if let Some((level, msg)) = &app.save_result {
        notes.push(Line::from(""));
        notes.push(Line::from(Span::styled(
            msg.clone(),
            level_style(*level, theme),
        )));
    } else if !changed.is_empty() {
        notes.push(Line::from(""));
        notes.push(Line::from(Span::styled(
            "Enter writes the file (a backup of the current one is kept).",
            theme.key_hint,
        )));
    }
    let notes_height = notes
        .iter()
        .map(|l| (l.width() as u16).div_ceil(area.width.max(1)).max(1))
        .sum::<u16>()
        .min(area.height / 2 + 2);
    let [top, bottom] = ratatui::layout::Layout::vertical([
        ratatui::layout::Constraint::Min(0),
        ratatui::layout::Constraint::Length(notes_height),
    ])
    .areas(area);
    frame.render_widget(Paragraph::new(lines), top);
    frame.render_widget(Paragraph::new(notes).wrap(Wrap { trim: false }), bottom);
}

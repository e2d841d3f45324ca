//! Small pieces shared by screens.

use super::theme::Theme;
use crate::finding::{Finding, Level};
use crate::secret::scrub;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};

pub fn level_icon(level: Level) -> &'static str {
    match level {
        Level::Pass => "✓",
        Level::Warn => "!",
        Level::Fail => "✗",
        Level::Info => "·",
    }
}

pub fn level_style(level: Level, theme: &Theme) -> ratatui::style::Style {
    match level {
        Level::Pass => theme.pass,
        Level::Warn => theme.warn,
        Level::Fail => theme.fail,
        Level::Info => theme.dim,
    }
}

/// One finding on one line: icon, what, and the fix when there is room. Finding text
/// passes `secret::scrub` here, the edge where the wizard shows it, as the CLI's does.
pub fn finding_line<'a>(f: &Finding, theme: &Theme) -> Line<'a> {
    let mut line = finding_head(f, theme);
    if !f.fix.is_empty() && f.level >= Level::Warn {
        line.spans
            .push(Span::styled(format!(" — {}", scrub(&f.fix)), theme.dim));
    }
    line
}

/// Icon and what, without the fix (a block gives the fix its own line).
fn finding_head<'a>(f: &Finding, theme: &Theme) -> Line<'a> {
    let style = level_style(f.level, theme);
    Line::from(vec![
        Span::styled(format!("{} ", level_icon(f.level)), style),
        Span::styled(scrub(&f.what), style),
    ])
}

/// A centred rectangle for pop-ups, clamped to the screen.
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let [v] = Layout::vertical([Constraint::Length(height.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [h] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(v);
    h
}

const SPINNER: [&str; 8] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧"];

/// The spinner frame for tick `n`.
pub fn spinner(n: usize) -> &'static str {
    SPINNER[n % SPINNER.len()]
}

/// A result in full: the finding, its why and fix, then any notes.
pub fn finding_block<'a>(f: &Finding, notes: &[Finding], theme: &Theme) -> Vec<Line<'a>> {
    let mut lines = vec![finding_head(f, theme)];
    if !f.why.is_empty() {
        lines.push(Line::from(Span::styled(scrub(&f.why), theme.dim)));
    }
    if !f.fix.is_empty() {
        lines.push(Line::from(Span::styled(
            format!("Fix: {}", scrub(&f.fix)),
            theme.dim,
        )));
    }
    lines.extend(notes.iter().map(|n| finding_line(n, theme)));
    lines
}

/// Wrapped lines from row `y` of `area` down (under a form).
pub fn draw_below(frame: &mut ratatui::Frame, area: Rect, y: u16, lines: Vec<Line>) {
    if y < area.bottom() {
        frame.render_widget(
            ratatui::widgets::Paragraph::new(lines).wrap(ratatui::widgets::Wrap { trim: true }),
            Rect::new(area.x, y, area.width, area.bottom() - y),
        );
    }
}

/// `line` in at most `width` columns: as it is when it fits, else cut one column short
/// with "…" at the end.
pub fn ellipsize(line: Line<'_>, width: usize) -> Line<'_> {
    if line.width() <= width || width == 0 {
        return line;
    }
    let mut left = width - 1;
    let mut spans = Vec::new();
    for span in line.spans {
        if left == 0 {
            break;
        }
        let text: String = span.content.chars().take(left).collect();
        left -= text.chars().count();
        spans.push(ratatui::text::Span::styled(text, span.style));
    }
    spans.push(ratatui::text::Span::raw("…"));
    Line::from(spans)
}

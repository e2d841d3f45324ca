//! Small pieces shared by screens.

use super::theme::Theme;
use crate::finding::{Finding, Level};
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

/// One finding on one line: icon, what, and the fix when there is room.
pub fn finding_line<'a>(f: &Finding, theme: &Theme) -> Line<'a> {
    let style = level_style(f.level, theme);
    let mut spans = vec![
        Span::styled(format!("{} ", level_icon(f.level)), style),
        Span::styled(f.what.clone(), style),
    ];
    if !f.fix.is_empty() && f.level >= Level::Warn {
        spans.push(Span::styled(format!(" — {}", f.fix), theme.dim));
    }
    Line::from(spans)
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

//! Styles. With NO_COLOR set (https://no-color.org) only bold/reverse/underline remain.

use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone)]
pub struct Theme {
    pub title: Style,
    pub border: Style,
    pub border_focused: Style,
    pub selected: Style,
    pub dim: Style,
    pub pass: Style,
    pub warn: Style,
    pub fail: Style,
    pub added: Style,
    pub removed: Style,
    pub key_hint: Style,
}

impl Theme {
    pub fn from_env() -> Theme {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Theme::new(!no_color)
    }

    pub fn new(color: bool) -> Theme {
        let c = |style: Style, fg: Color| if color { style.fg(fg) } else { style };
        let plain = Style::default();
        Theme {
            title: c(plain.add_modifier(Modifier::BOLD), Color::Cyan),
            border: c(plain, Color::DarkGray),
            border_focused: c(plain.add_modifier(Modifier::BOLD), Color::Cyan),
            selected: plain.add_modifier(Modifier::REVERSED),
            dim: c(plain, Color::DarkGray),
            pass: c(plain, Color::Green),
            warn: c(plain.add_modifier(Modifier::BOLD), Color::Yellow),
            fail: c(plain.add_modifier(Modifier::BOLD), Color::Red),
            added: c(plain, Color::Green),
            removed: c(plain, Color::Red),
            key_hint: c(plain.add_modifier(Modifier::BOLD), Color::Cyan),
        }
    }
}

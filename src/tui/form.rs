//! A form: labelled one-line fields (text, secret, choice), each with its findings, and a
//! focus moved by Tab/↑↓. Shared by the screens that edit settings.

use super::theme::Theme;
use super::widgets::{finding_line, level_style};
use crate::finding::{worst, Finding, Level};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;
use ratatui_textarea::TextArea;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldKind {
    Text,
    /// Masked unless revealed with Ctrl-R.
    Secret,
    /// `true`/`false`, shown as a check box; Space switches.
    Toggle,
    /// One of these values; Space/→ next, ← previous.
    Choice(Vec<String>),
}

pub struct Field {
    /// The pds.env key it edits, or a screen-local name.
    pub key: &'static str,
    pub label: &'static str,
    pub kind: FieldKind,
    pub input: TextArea<'static>,
    pub revealed: bool,
    pub findings: Vec<Finding>,
    /// The longest text it takes, in characters: a stray paste of a log file stops here
    /// instead of being validated and drafted character by character.
    pub max_len: usize,
}

const MASK_CHAR: char = '•';

/// No pds.env value the wizard edits comes near this (a DNS name is at most 253, an SMTP
/// URL with a long password a few hundred).
pub const MAX_FIELD_LEN: usize = 2048;

/// The key event that applies a paste staged with `Form::stage_paste`: a paste then takes
/// the same path through each screen as a typed key, so every screen reacts to it as to
/// typing. Terminals never send KeyCode::Null themselves.
pub const PASTE_KEY: KeyEvent = KeyEvent::new(KeyCode::Null, KeyModifiers::NONE);

fn text_area(value: &str) -> TextArea<'static> {
    let mut t = TextArea::new(vec![value.to_string()]);
    t.move_cursor(ratatui_textarea::CursorMove::End);
    t.set_cursor_line_style(Style::default());
    t
}

impl Field {
    pub fn new(key: &'static str, label: &'static str, kind: FieldKind, value: &str) -> Field {
        let mut f = Field {
            key,
            label,
            kind,
            input: text_area(value),
            revealed: false,
            findings: vec![],
            max_len: MAX_FIELD_LEN,
        };
        f.apply_mask();
        f
    }

    /// Cap the text at `n` characters (a natural limit: 253 for a DNS name, 5 for a port).
    pub fn limit(mut self, n: usize) -> Field {
        self.max_len = n;
        self
    }

    /// Insert pasted text at the cursor as one edit: its first line (a field is one line;
    /// a copied value often ends in a line break), cut at the field's limit. Returns
    /// whether the text changed.
    pub fn paste(&mut self, text: &str) -> bool {
        if !matches!(self.kind, FieldKind::Text | FieldKind::Secret) {
            return false;
        }
        // Terminals send a pasted line break as CR (tmux, most emulators) or LF.
        let line = text.split(['\r', '\n']).next().unwrap_or("");
        let room = self.max_len.saturating_sub(self.text().chars().count());
        let piece: String = line
            .chars()
            .filter(|c| !c.is_control() || *c == '\t')
            .take(room)
            .collect();
        if piece.is_empty() {
            return false;
        }
        self.input.insert_str(&piece);
        true
    }

    pub fn text(&self) -> String {
        self.input.lines().first().cloned().unwrap_or_default()
    }

    pub fn worst(&self) -> Level {
        worst(&self.findings)
    }

    pub fn set_text(&mut self, value: &str) {
        let cursor = self.input.cursor_style();
        self.input = text_area(value);
        self.input.set_cursor_style(cursor);
        self.apply_mask();
    }

    fn apply_mask(&mut self) {
        if self.kind == FieldKind::Secret && !self.revealed {
            self.input.set_mask_char(MASK_CHAR);
        } else {
            self.input.clear_mask_char();
        }
    }

    fn set_focus(&mut self, focused: bool) {
        self.input.set_cursor_style(if focused {
            Style::default().add_modifier(Modifier::REVERSED)
        } else {
            Style::default()
        });
    }

    /// Apply an editing key; returns whether the text changed.
    pub fn edit(&mut self, k: KeyEvent) -> bool {
        let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
        let before = self.text();
        match (&self.kind, k.code) {
            (FieldKind::Secret, KeyCode::Char('r')) if ctrl => {
                self.revealed = !self.revealed;
                self.apply_mask();
                return false;
            }
            (FieldKind::Toggle, KeyCode::Char(' ')) => {
                self.set_text(if before == "true" { "false" } else { "true" });
            }
            (FieldKind::Choice(options), KeyCode::Char(' ') | KeyCode::Right | KeyCode::Left)
                if !options.is_empty() =>
            {
                let i = options.iter().position(|o| *o == before);
                let n = options.len();
                let next = match (i, k.code) {
                    (None, _) => 0,
                    (Some(i), KeyCode::Left) => (i + n - 1) % n,
                    (Some(i), _) => (i + 1) % n,
                };
                let value = options[next].clone();
                self.set_text(&value);
            }
            (FieldKind::Toggle | FieldKind::Choice(_), _) => return false,
            (_, KeyCode::Char('u')) if ctrl => self.set_text(""),
            _ => {
                self.input.input(k);
                // A field is one line: never let an editing shortcut split it.
                if self.input.lines().len() > 1 {
                    let joined = self.input.lines().concat();
                    self.set_text(&joined);
                }
                if self.text().chars().count() > self.max_len {
                    // Full: the key is dropped (a flood of keys stops costing anything).
                    self.set_text(&before);
                }
            }
        }
        self.text() != before
    }
}

pub struct Form {
    pub fields: Vec<Field>,
    pub focused: usize,
    /// A paste waiting for `PASTE_KEY`.
    staged_paste: Option<String>,
}

impl Form {
    pub fn new(fields: Vec<Field>) -> Form {
        let mut f = Form {
            fields,
            focused: 0,
            staged_paste: None,
        };
        f.apply_focus();
        f
    }

    /// Keep `text` for the focused field until `PASTE_KEY` comes through `on_key`.
    pub fn stage_paste(&mut self, text: String) {
        self.staged_paste = Some(text);
    }

    pub fn focused_field(&self) -> &Field {
        &self.fields[self.focused]
    }

    /// Put the cursor on the field `key`; false when the form has no such field.
    pub fn focus_key(&mut self, key: &str) -> bool {
        match self.fields.iter().position(|f| f.key == key) {
            Some(i) => {
                self.focused = i;
                true
            }
            None => false,
        }
    }

    pub fn field(&self, key: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.key == key)
    }

    pub fn field_mut(&mut self, key: &str) -> Option<&mut Field> {
        self.fields.iter_mut().find(|f| f.key == key)
    }

    pub fn text(&self, key: &str) -> String {
        self.field(key).map(Field::text).unwrap_or_default()
    }

    fn apply_focus(&mut self) {
        let focused = self.focused;
        for (i, f) in self.fields.iter_mut().enumerate() {
            f.set_focus(i == focused);
        }
    }

    /// Navigation, then editing of the focused field; returns its key when it changed.
    pub fn on_key(&mut self, k: KeyEvent) -> Option<&'static str> {
        let n = self.fields.len();
        match k.code {
            KeyCode::Tab | KeyCode::Down | KeyCode::Enter => {
                self.focused = (self.focused + 1) % n;
                self.apply_focus();
                None
            }
            KeyCode::BackTab | KeyCode::Up => {
                self.focused = (self.focused + n - 1) % n;
                self.apply_focus();
                None
            }
            KeyCode::Null => {
                let text = self.staged_paste.take()?;
                let f = &mut self.fields[self.focused];
                f.paste(&text).then_some(f.key)
            }
            _ => {
                let f = &mut self.fields[self.focused];
                f.edit(k).then_some(f.key)
            }
        }
    }

    /// Two rows per field (label and input, then its worst finding). `edited` marks fields
    /// with unsaved answers. When not every field fits, the form scrolls so the focused
    /// one is in view. Returns the first row below the form.
    pub fn draw(
        &self,
        frame: &mut Frame,
        area: Rect,
        theme: &Theme,
        focused: bool,
        edited: &dyn Fn(&str) -> bool,
    ) -> u16 {
        let label_w = 17u16;
        let mut y = area.y;
        // The focused field's hint wraps (up to 3 rows): a cut hint loses its last rule.
        let hint_w = area.width.saturating_sub(2).max(1);
        let hint_rows = |i: usize| -> u16 {
            let Some(f) = self.fields.get(i) else {
                return 1;
            };
            if !(focused && i == self.focused) {
                return 1;
            }
            f.findings.iter().max_by_key(|x| x.level).map_or(1, |x| {
                let w = finding_line(x, theme).width() as u16;
                w.div_ceil(hint_w).clamp(1, 3)
            })
        };
        let extra = hint_rows(self.focused) - 1;
        let fit = usize::from(area.height.saturating_sub(extra) / 2).max(1);
        let n = self.fields.len();
        let first = if n > fit {
            self.focused.saturating_sub(fit / 2).min(n - fit)
        } else {
            0
        };
        for (i, f) in self.fields.iter().enumerate().skip(first) {
            if y + 1 >= area.bottom() {
                break;
            }
            let is_focus = focused && i == self.focused;
            let label_style = if is_focus {
                theme.selected
            } else {
                Style::default()
            };
            frame.render_widget(
                Paragraph::new(Line::from(vec![
                    Span::styled(
                        format!("{:<w$}", f.label, w = label_w as usize - 2),
                        label_style,
                    ),
                    Span::styled(if edited(f.key) { "*" } else { " " }, theme.warn),
                ])),
                Rect::new(area.x, y, label_w, 1),
            );
            let input_area = Rect::new(area.x + label_w, y, area.width.saturating_sub(label_w), 1);
            let style = if is_focus {
                theme.selected
            } else {
                Style::default()
            };
            match &f.kind {
                FieldKind::Toggle => {
                    let on = f.text() == "true";
                    let text = format!(
                        "[{}] {}  (Space switches)",
                        if on { "x" } else { " " },
                        if on { "yes" } else { "no" }
                    );
                    frame.render_widget(Paragraph::new(Span::styled(text, style)), input_area);
                }
                FieldKind::Choice(_) => {
                    let text = format!("‹ {} ›  (← → choose)", f.text());
                    frame.render_widget(Paragraph::new(Span::styled(text, style)), input_area);
                }
                // A fixed mask, whatever the length: bullets per character would tell it.
                FieldKind::Secret if !f.revealed && !f.text().is_empty() => {
                    let text = if is_focus {
                        format!("{}  (typing hidden; Ctrl-R shows)", crate::secret::MASK)
                    } else {
                        crate::secret::MASK.to_string()
                    };
                    frame.render_widget(Paragraph::new(Span::styled(text, style)), input_area);
                }
                _ if f.text().is_empty() && !is_focus => {
                    frame.render_widget(
                        Paragraph::new(Span::styled("(not set)", theme.dim)),
                        input_area,
                    );
                }
                _ => frame.render_widget(&f.input, input_area),
            }
            y += 1;
            let rows = hint_rows(i).min(area.bottom().saturating_sub(y)).max(1);
            if let Some(first) = f.findings.iter().max_by_key(|x| x.level) {
                let line = finding_line(first, theme);
                let p = if rows > 1 {
                    Paragraph::new(line).wrap(ratatui::widgets::Wrap { trim: true })
                } else {
                    // One row: a hint that does not fit ends in "…" (the field, focused,
                    // shows it whole), not cut mid-word as if that were all of it.
                    Paragraph::new(crate::tui::widgets::ellipsize(
                        line,
                        usize::from(area.width.saturating_sub(2)),
                    ))
                };
                frame.render_widget(
                    p,
                    Rect::new(area.x + 2, y, area.width.saturating_sub(2), rows),
                );
            }
            y += rows;
        }
        y
    }

    /// `draw_details` in the rows of `area` from the row after `y` (where `draw` ended).
    pub fn draw_details_below(
        &self,
        frame: &mut Frame,
        area: Rect,
        y: u16,
        theme: &Theme,
        intro: Option<String>,
    ) {
        if y + 1 < area.bottom() {
            let rest = Rect::new(area.x, y + 1, area.width, area.bottom() - (y + 1));
            self.draw_details(frame, rest, theme, intro);
        }
    }

    /// The focused field in full: `intro`, then every warning or failure with why and fix.
    pub fn draw_details(
        &self,
        frame: &mut Frame,
        area: Rect,
        theme: &Theme,
        intro: Option<String>,
    ) {
        let field = self.focused_field();
        let mut lines: Vec<Line> = Vec::new();
        if let Some(i) = intro {
            lines.push(Line::from(Span::styled(i, theme.dim)));
        }
        for f in field.findings.iter().filter(|f| f.level >= Level::Warn) {
            let mut text = f.what.clone();
            if !f.why.is_empty() {
                text.push_str(&format!(". {}", f.why));
            }
            if !f.fix.is_empty() {
                text.push_str(&format!(" Fix: {}", f.fix));
            }
            let text = crate::secret::scrub(&text);
            lines.push(Line::from(Span::styled(text, level_style(f.level, theme))));
        }
        frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), area);
    }
}

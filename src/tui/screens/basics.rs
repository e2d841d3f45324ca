//! Basics: hostname, admin email and password, invites, upload limit, handle domains,
//! crawlers — each validated by the catalogue as you type.

use crate::envfile::{catalogue, Document};
use crate::finding::{worst, Finding, Level};
use crate::tui::theme::Theme;
use crate::tui::widgets::finding_line;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;
use ratatui_textarea::TextArea;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Text,
    Secret,
    Toggle,
}

pub struct Field {
    pub key: &'static str,
    pub label: &'static str,
    pub kind: FieldKind,
    pub input: TextArea<'static>,
    pub revealed: bool,
    pub findings: Vec<Finding>,
}

impl Field {
    pub fn text(&self) -> String {
        self.input.lines().first().cloned().unwrap_or_default()
    }
    pub fn worst(&self) -> Level {
        worst(&self.findings)
    }
}

pub const FIELDS: &[(&str, &str, FieldKind)] = &[
    ("PDS_HOSTNAME", "Hostname", FieldKind::Text),
    ("PDS_CONTACT_EMAIL_ADDRESS", "Admin email", FieldKind::Text),
    ("PDS_ADMIN_PASSWORD", "Admin password", FieldKind::Secret),
    ("PDS_INVITE_REQUIRED", "Invite required", FieldKind::Toggle),
    ("PDS_BLOB_UPLOAD_LIMIT", "Upload limit", FieldKind::Text),
    (
        "PDS_SERVICE_HANDLE_DOMAINS",
        "Handle domains",
        FieldKind::Text,
    ),
    ("PDS_CRAWLERS", "Crawlers", FieldKind::Text),
];

const MASK_CHAR: char = '•';

pub struct Basics {
    pub fields: Vec<Field>,
    pub focused: usize,
}

fn text_area(value: &str) -> TextArea<'static> {
    let mut t = TextArea::new(vec![value.to_string()]);
    t.move_cursor(ratatui_textarea::CursorMove::End);
    t.set_cursor_line_style(Style::default());
    t
}

impl Basics {
    pub fn new(doc: &Document) -> Basics {
        let fields = FIELDS
            .iter()
            .map(|&(key, label, kind)| {
                let mut input = text_area(&doc.get(key).unwrap_or_default());
                if kind == FieldKind::Secret {
                    input.set_mask_char(MASK_CHAR);
                }
                Field {
                    key,
                    label,
                    kind,
                    input,
                    revealed: false,
                    findings: vec![],
                }
            })
            .collect();
        let mut b = Basics { fields, focused: 0 };
        b.apply_focus_styles();
        b
    }

    pub fn focused_field(&self) -> &Field {
        &self.fields[self.focused]
    }

    /// Replace a field's text (draft restore).
    pub fn set_text(&mut self, key: &str, value: &str) {
        if let Some(f) = self.fields.iter_mut().find(|f| f.key == key) {
            let mask = f.input.mask_char();
            f.input = text_area(value);
            if let Some(m) = mask {
                f.input.set_mask_char(m);
            }
        }
        self.apply_focus_styles();
    }

    /// Only the focused field shows a cursor.
    fn apply_focus_styles(&mut self) {
        for (i, f) in self.fields.iter_mut().enumerate() {
            let style = if i == self.focused {
                Style::default().add_modifier(ratatui::style::Modifier::REVERSED)
            } else {
                Style::default()
            };
            f.input.set_cursor_style(style);
        }
    }

    /// Handle a key; returns the field's new text when it changed.
    pub fn on_key(&mut self, k: KeyEvent) -> Option<(&'static str, String)> {
        let n = self.fields.len();
        let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
        match k.code {
            KeyCode::Tab | KeyCode::Down | KeyCode::Enter => {
                self.focused = (self.focused + 1) % n;
                self.apply_focus_styles();
                return None;
            }
            KeyCode::BackTab | KeyCode::Up => {
                self.focused = (self.focused + n - 1) % n;
                self.apply_focus_styles();
                return None;
            }
            _ => {}
        }
        let field = &mut self.fields[self.focused];
        let before = field.text();
        match (field.kind, k.code) {
            (FieldKind::Secret, KeyCode::Char('r')) if ctrl => {
                field.revealed = !field.revealed;
                if field.revealed {
                    field.input.clear_mask_char();
                } else {
                    field.input.set_mask_char(MASK_CHAR);
                }
                return None;
            }
            (FieldKind::Toggle, KeyCode::Char(' ')) => {
                let next = if before == "true" { "false" } else { "true" };
                field.input = text_area(next);
                self.apply_focus_styles();
                return Some((self.fields[self.focused].key, next.to_string()));
            }
            (FieldKind::Toggle, _) => return None,
            (_, KeyCode::Char('u')) if ctrl => {
                field.input = text_area("");
                if field.kind == FieldKind::Secret && !field.revealed {
                    field.input.set_mask_char(MASK_CHAR);
                }
            }
            _ => {
                field.input.input(k);
            }
        }
        // A field is one line: never let an editing shortcut split it.
        if field.input.lines().len() > 1 {
            let joined = field.input.lines().concat();
            let mask = field.input.mask_char();
            field.input = text_area(&joined);
            if let Some(m) = mask {
                field.input.set_mask_char(m);
            }
        }
        self.apply_focus_styles();
        let after = self.fields[self.focused].text();
        (after != before).then(|| (self.fields[self.focused].key, after))
    }

    /// Findings for every field from the catalogue, plus errors from applying answers.
    pub fn refresh_findings(&mut self, base: &Document, errors: &BTreeMap<String, String>) {
        let hostname = self
            .fields
            .iter()
            .find(|f| f.key == "PDS_HOSTNAME")
            .map(|f| f.text())
            .or_else(|| base.get("PDS_HOSTNAME"))
            .unwrap_or_default();
        for f in &mut self.fields {
            let value = f.text();
            let mut found = catalogue::lookup(f.key)
                .map(|info| catalogue::validate(info, &value))
                .unwrap_or_default();
            if let Some(e) = errors.get(f.key) {
                if !found.iter().any(|x| x.level == Level::Fail) {
                    found.push(Finding::fail(e.clone()));
                }
            }
            if found.is_empty() {
                found.push(match (f.key, value.is_empty()) {
                    ("PDS_SERVICE_HANDLE_DOMAINS", true) => {
                        Finding::info(format!("not set: handles end in .{hostname}"))
                    }
                    ("PDS_CONTACT_EMAIL_ADDRESS", true) => {
                        Finding::info("optional: shown to users as the contact address")
                    }
                    ("PDS_CRAWLERS", true) => {
                        Finding::warn("no relays: your posts will not reach Bluesky")
                            .fix("Use https://bsky.network")
                    }
                    ("PDS_BLOB_UPLOAD_LIMIT", true) => {
                        Finding::info("not set: the PDS allows 5 MiB")
                    }
                    ("PDS_INVITE_REQUIRED", true) => Finding::info("not set: invites are required"),
                    ("PDS_BLOB_UPLOAD_LIMIT", false) => Finding::pass(human_bytes(&value)),
                    ("PDS_INVITE_REQUIRED", false) if value == "true" => {
                        Finding::pass("new accounts need an invite code")
                    }
                    ("PDS_INVITE_REQUIRED", false) => Finding::pass("anyone can create an account"),
                    _ => Finding::pass("ok"),
                });
            }
            f.findings = found;
        }
    }

    pub fn draw(
        &self,
        frame: &mut Frame,
        area: Rect,
        theme: &Theme,
        focused: bool,
        answers: &BTreeMap<String, String>,
    ) {
        let label_w = 17u16;
        let mut y = area.y;
        for (i, f) in self.fields.iter().enumerate() {
            if y + 1 >= area.bottom() {
                break;
            }
            let is_focus = focused && i == self.focused;
            let marker = if answers.contains_key(f.key) {
                "*"
            } else {
                " "
            };
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
                    Span::styled(marker, theme.warn),
                ])),
                Rect::new(area.x, y, label_w, 1),
            );
            let input_area = Rect::new(area.x + label_w, y, area.width.saturating_sub(label_w), 1);
            match f.kind {
                FieldKind::Toggle => {
                    let on = f.text() == "true";
                    let text = format!(
                        "[{}] {}  (Space switches)",
                        if on { "x" } else { " " },
                        if on { "yes" } else { "no" }
                    );
                    let style = if is_focus {
                        theme.selected
                    } else {
                        Style::default()
                    };
                    frame.render_widget(Paragraph::new(Span::styled(text, style)), input_area);
                }
                _ => {
                    if f.text().is_empty() && !is_focus {
                        frame.render_widget(
                            Paragraph::new(Span::styled("(not set)", theme.dim)),
                            input_area,
                        );
                    } else {
                        frame.render_widget(&f.input, input_area);
                    }
                }
            }
            y += 1;
            if let Some(first) = f.findings.iter().max_by_key(|x| x.level) {
                frame.render_widget(
                    Paragraph::new(finding_line(first, theme)),
                    Rect::new(area.x + 2, y, area.width.saturating_sub(2), 1),
                );
            }
            y += 1;
        }
        // The focused field in full: what it means, and every problem with its fix.
        if focused && y + 1 < area.bottom() {
            let field = self.focused_field();
            let mut lines: Vec<Line> = Vec::new();
            if let Some(info) = catalogue::lookup(field.key) {
                let reveal = if field.kind == FieldKind::Secret {
                    " (Ctrl-R shows it)"
                } else {
                    ""
                };
                lines.push(Line::from(Span::styled(
                    format!("{} — {}{reveal}", info.name, info.meaning),
                    theme.dim,
                )));
            }
            for f in field.findings.iter().filter(|f| f.level >= Level::Warn) {
                let mut text = f.what.clone();
                if !f.why.is_empty() {
                    text.push_str(&format!(". {}", f.why));
                }
                if !f.fix.is_empty() {
                    text.push_str(&format!(" Fix: {}", f.fix));
                }
                lines.push(Line::from(Span::styled(
                    text,
                    crate::tui::widgets::level_style(f.level, theme),
                )));
            }
            frame.render_widget(
                Paragraph::new(lines).wrap(ratatui::widgets::Wrap { trim: true }),
                Rect::new(
                    area.x,
                    y + 1,
                    area.width,
                    area.bottom().saturating_sub(y + 1),
                ),
            );
        }
    }
}

fn human_bytes(v: &str) -> String {
    match v.parse::<u64>() {
        Ok(n) if n >= 1 << 20 => format!("{:.0} MiB per upload", n as f64 / (1u64 << 20) as f64),
        Ok(n) => format!("{n} bytes per upload"),
        Err(_) => "ok".into(),
    }
}

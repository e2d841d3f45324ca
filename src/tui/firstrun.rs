//! The first run: no pds.env yet. Instead of an error, a screen asks what the official
//! installer asks (the public name and an admin email, each judged as it is typed), then
//! writes pds.env as `env init` does, and the wizard opens on it.

use super::form::{Field, FieldKind, Form};
use super::theme::Theme;
use crate::envfile::{catalogue, init_file, Document};
use crate::finding::{Finding, Level};
use crossterm::event::{Event, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::Frame;
use std::path::{Path, PathBuf};

const HOSTNAME: &str = "hostname";
const EMAIL: &str = "email";
const DATA_DIR: &str = "data_dir";

pub struct FirstRun {
    pub env_path: PathBuf,
    pub form: Form,
    /// Why writing failed, when it did.
    pub error: Option<String>,
    /// A write was asked for: an empty answer is now a failure, not a hint.
    pub tried: bool,
}

impl FirstRun {
    pub fn new(env_path: &Path) -> FirstRun {
        // The installer's data directory is where pds.env lives.
        let dir = env_path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf()))
            .unwrap_or_else(|| PathBuf::from("/pds"));
        let mut s = FirstRun {
            env_path: env_path.to_path_buf(),
            form: Form::new(vec![
                Field::new(HOSTNAME, "Public name", FieldKind::Text, "").limit(253),
                Field::new(EMAIL, "Admin email", FieldKind::Text, "").limit(254),
                Field::new(
                    DATA_DIR,
                    "Data directory",
                    FieldKind::Text,
                    &dir.display().to_string(),
                ),
            ]),
            error: None,
            tried: false,
        };
        s.judge();
        s
    }

    /// Each field's verdict, as typed (the same rules `env init` applies).
    fn judge(&mut self) {
        for f in &mut self.form.fields {
            let v = f.text();
            let verdict = match f.key {
                HOSTNAME if v.is_empty() => Err("the name the PDS is reached by, e.g. pds.example.com (not an IP address); its A records come next".to_string()),
                HOSTNAME => catalogue::check_hostname(&v),
                EMAIL if v.is_empty() => Err("where certificate authorities write about this server's certificates".to_string()),
                EMAIL => catalogue::check_email(&v),
                _ if !v.starts_with('/') => Err(format!("{v:?} is not an absolute path")),
                _ => Ok(()),
            };
            f.findings = vec![match verdict {
                Ok(()) => Finding::pass("ok"),
                Err(e) if v.is_empty() && !self.tried => Finding::info(e),
                Err(e) if v.is_empty() => Finding::fail(format!("{} is needed: {e}", f.label)),
                Err(e) => Finding::fail(e),
            }];
        }
    }

    fn ready(&self) -> bool {
        self.form.fields.iter().all(|f| f.worst() == Level::Pass)
    }

    /// Write pds.env as `env init` does; the document on success.
    fn write(&mut self) -> Option<Document> {
        match init_file(
            &self.env_path,
            &self.form.text(HOSTNAME),
            &self.form.text(EMAIL),
            &self.form.text(DATA_DIR),
        ) {
            Ok(doc) => Some(doc),
            Err(e) => {
                self.error = Some(e.to_string());
                None
            }
        }
    }

    pub fn draw(&self, frame: &mut Frame, theme: &Theme) {
        let area = frame.area();
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.border_focused)
            .title(" First setup: a new pds.env ");
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let [intro, form, hints] = Layout::vertical([
            Constraint::Length(5),
            Constraint::Min(0),
            Constraint::Length(1),
        ])
        .areas(inner);
        let text = format!(
            "{} does not exist yet. Answer two questions and the wizard writes it as the official installer does (fresh secrets, mode 0600), then opens on it: next come this server's address records, the PDS itself and the first account.",
            self.env_path.display()
        );
        frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), intro);
        let y = self.form.draw(frame, form, theme, true, &|_| false);
        let mut lines: Vec<Line> = Vec::new();
        if let Some(e) = &self.error {
            lines.push(Line::from(Span::styled(
                format!("Not written: {e}"),
                theme.fail,
            )));
        }
        if y + 1 < form.bottom() {
            let rest = Rect::new(form.x, y + 1, form.width, form.bottom() - (y + 1));
            if lines.is_empty() {
                self.form.draw_details(frame, rest, theme, None);
            } else {
                frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), rest);
            }
        }
        let hint = if self.ready() {
            "Tab/↑↓ field  ^S write pds.env  Esc quit"
        } else {
            "Tab/↑↓ field  Enter next  Esc quit (nothing written)"
        };
        frame.render_widget(Paragraph::new(Span::styled(hint, theme.key_hint)), hints);
    }
}

/// Ask, write, and return pds.env; None when the operator leaves (nothing is written).
pub fn run(env_path: &Path, theme: &Theme) -> anyhow::Result<Option<Document>> {
    let mut terminal = ratatui::try_init()?;
    let mut screen = FirstRun::new(env_path);
    let result = loop {
        super::draw_whole(&mut terminal, |f| screen.draw(f, theme))?;
        let k = match crossterm::event::read() {
            Ok(Event::Key(k)) if k.kind != KeyEventKind::Release => k,
            Ok(Event::Paste(text)) => {
                screen.form.stage_paste(text);
                super::form::PASTE_KEY
            }
            Ok(_) => continue,
            Err(_) => break None,
        };
        let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
        match k.code {
            KeyCode::Esc => break None,
            KeyCode::Char('c') | KeyCode::Char('q') if ctrl => break None,
            KeyCode::Char('s') if ctrl => {
                if let Some(doc) = screen.write_if_ready() {
                    break Some(doc);
                }
            }
            // Enter on the last field writes, as a form's "submit" would.
            KeyCode::Enter if screen.form.focused + 1 == screen.form.fields.len() => {
                if let Some(doc) = screen.write_if_ready() {
                    break Some(doc);
                }
            }
            _ => {
                if screen.form.on_key(k).is_some() {
                    screen.error = None;
                    screen.judge();
                }
            }
        }
    };
    ratatui::try_restore()?;
    Ok(result)
}

impl FirstRun {
    fn write_if_ready(&mut self) -> Option<Document> {
        self.tried = true;
        self.judge();
        if !self.ready() {
            // Land on the first field that is not right, with its reason shown.
            if let Some(i) = self
                .form
                .fields
                .iter()
                .position(|f| f.worst() != Level::Pass)
            {
                let key = self.form.fields[i].key;
                self.form.focus_key(key);
            }
            return None;
        }
        self.write()
    }
}

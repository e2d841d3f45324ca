//! Basics: hostname, admin email and password, invites, upload limit, handle domains,
//! crawlers — each validated by the catalogue as you type.

use crate::envfile::{catalogue, Document};
use crate::finding::{Finding, Level};
use crate::tui::form::{Field, FieldKind, Form};
use crate::tui::steps::{form_mark, Drawn, Env, Mark, View};
use crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::Frame;
use std::collections::BTreeMap;

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

pub struct Basics {
    pub form: Form,
}

impl Basics {
    pub fn new(doc: &Document) -> Basics {
        let fields = FIELDS
            .iter()
            .map(|(key, label, kind)| {
                let f = Field::new(key, label, kind.clone(), &doc.get(key).unwrap_or_default());
                match *key {
                    // A DNS name is at most 253 characters.
                    "PDS_HOSTNAME" => f.limit(253),
                    _ => f,
                }
            })
            .collect();
        Basics {
            form: Form::new(fields),
        }
    }

    /// The keys this screen edits.
    pub fn keys() -> impl Iterator<Item = &'static str> {
        FIELDS.iter().map(|(k, _, _)| *k)
    }

    /// Handle a key; returns the field's new text when it changed.
    pub fn on_key(&mut self, k: KeyEvent) -> Option<(&'static str, String)> {
        let key = self.form.on_key(k)?;
        Some((key, self.form.text(key)))
    }

    /// Findings for every field from the catalogue, plus errors from applying edits.
    pub fn refresh_findings(&mut self, base: &Document, errors: &BTreeMap<String, String>) {
        let hostname = Some(self.form.text("PDS_HOSTNAME"))
            .filter(|h| !h.is_empty())
            .or_else(|| base.get("PDS_HOSTNAME"))
            .unwrap_or_default();
        for f in &mut self.form.fields {
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
                    ("PDS_BLOB_UPLOAD_LIMIT", false) => {
                        Finding::pass(value.parse::<u64>().map_or("ok".into(), |n| {
                            format!("{} per upload", catalogue::human_bytes(n))
                        }))
                    }
                    ("PDS_INVITE_REQUIRED", false) if !catalogue::signup_open(Some(&value)) => {
                        Finding::pass("new accounts need an invite code")
                    }
                    ("PDS_INVITE_REQUIRED", false) => {
                        catalogue::open_registration(Some(&value), base).unwrap_or_else(|| {
                            Finding::pass("anyone can create an account (a captcha guards sign-up)")
                        })
                    }
                    _ => Finding::pass("ok"),
                });
            }
            f.findings = found;
        }
    }
}

impl Drawn for Basics {
    fn busy(&self) -> bool {
        false
    }

    fn mark(&self, env: &Env) -> Mark {
        let rest = Mark::Done;
        form_mark(&self.form, env, rest)
    }

    fn draw(&self, frame: &mut Frame, area: Rect, view: &View) {
        let (theme, focused, edits) = (view.theme, view.focused, view.edits);
        let y = self
            .form
            .draw(frame, area, theme, focused, &|k| edits.contains_key(k));
        if focused {
            let field = self.form.focused_field();
            let intro = catalogue::lookup(field.key).map(|info| {
                let reveal = if field.kind == FieldKind::Secret {
                    " (Ctrl-R shows it)"
                } else {
                    ""
                };
                format!("{} — {}{reveal}", info.name, info.meaning)
            });
            self.form.draw_details_below(frame, area, y, theme, intro);
        }
    }
}

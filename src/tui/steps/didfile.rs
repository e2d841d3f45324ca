//! atproto-did: write the DID into a web root's `.well-known/atproto-did`, and check over
//! HTTPS that the site really serves it.

use crate::finding::{Finding, Level};
use crate::identity::didfile::{did_file_path, DidFileCheck};
use crate::identity::{Did, Handle};
use crate::tui::form::{Field, FieldKind, Form};
use crate::tui::jobs::{is_current, Pending, Task, Ticket};
use crate::tui::keys::Command;
use crate::tui::outcome::{Ctx, Outcome};
use crate::tui::steps::{Drawn, Env, Mark, Room, Said, View};
use crate::tui::widgets::{draw_below, finding_block, finding_line, spinner};
use crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::Frame;
use std::path::PathBuf;

pub const HANDLE: &str = "handle";
pub const DID: &str = "did";
pub const WEBROOT: &str = "webroot";

/// What the step asks for in the background.
#[derive(Debug, Clone)]
pub enum Job {
    /// Write the DID into the web root's `.well-known/atproto-did`.
    Write { webroot: PathBuf, did: Did },
    /// Fetch https://<handle>/.well-known/atproto-did and compare.
    Check { handle: Handle, did: Option<Did> },
}

#[derive(Debug)]
pub enum Done {
    /// What was written (the path, with its backup), or why not.
    Written(Result<String, String>),
    Checked(Box<DidFileCheck>),
}

pub struct DidFileScreen {
    pub form: Form,
    /// Writing the file (quick and local, but a result like any other).
    pub writing: Option<Ticket>,
    pub written: Option<Finding>,
    pub pending: Option<Pending>,
    pub check: Option<Box<DidFileCheck>>,
    /// What `prefill` last put in each field: a field still holding it follows the Handle
    /// step; one the operator edited keeps what they typed.
    followed: std::collections::HashMap<&'static str, String>,
}

impl Default for DidFileScreen {
    fn default() -> Self {
        Self::new()
    }
}

impl DidFileScreen {
    pub fn new() -> DidFileScreen {
        let fields = vec![
            Field::new(HANDLE, "Handle", FieldKind::Text, ""),
            Field::new(DID, "DID", FieldKind::Text, ""),
            Field::new(WEBROOT, "Web root", FieldKind::Text, ""),
        ];
        let mut s = DidFileScreen {
            form: Form::new(fields),
            writing: None,
            written: None,
            pending: None,
            check: None,
            followed: Default::default(),
        };
        s.refresh_findings();
        s
    }

    /// Fill in what the Handle step knows: an empty field, or one still holding what was
    /// filled in before (it follows its source until the operator edits it here).
    pub fn prefill(&mut self, handle: &str, did: &str) {
        for (key, value) in [(HANDLE, handle), (DID, did)] {
            let Some(f) = self.form.field_mut(key) else {
                continue;
            };
            let following =
                f.text().is_empty() || self.followed.get(key).is_some_and(|v| *v == f.text());
            if following && !value.is_empty() && f.text() != value {
                f.set_text(value);
                self.followed.insert(key, value.to_string());
                // A check or write under way was for the old value.
                self.written = None;
                self.check = None;
                self.pending = None;
            }
        }
        self.refresh_findings();
    }

    pub fn handle(&self) -> Result<Handle, String> {
        Handle::parse_usable(&self.form.text(HANDLE)).map_err(|e| e.to_string())
    }

    pub fn did(&self) -> Result<Did, String> {
        Did::parse_usable(&self.form.text(DID)).map_err(|e| e.to_string())
    }

    pub fn webroot(&self) -> Result<PathBuf, String> {
        let w = self.form.text(WEBROOT);
        if w.is_empty() {
            return Err(
                "give the web root of the site that serves the handle (e.g. /var/www/example.com)"
                    .into(),
            );
        }
        Ok(PathBuf::from(w))
    }

    pub fn on_key(&mut self, k: KeyEvent) {
        if self.form.on_key(k).is_some() {
            // A check under way is for what the form said before: its result will not count.
            self.pending = None;
            self.check = None;
            self.written = None;
            self.refresh_findings();
        }
    }

    pub fn refresh_findings(&mut self) {
        for f in &mut self.form.fields {
            let v = f.text();
            f.findings = match f.key {
                HANDLE if v.is_empty() => {
                    vec![Finding::info("the handle whose site serves the file")]
                }
                HANDLE => vec![Handle::parse_usable(&v)
                    .map(|_| Finding::pass("ok"))
                    .unwrap_or_else(|e| Finding::fail(e.to_string()))],
                DID if v.is_empty() => {
                    vec![Finding::info("did:plc:… (filled in from the Handle step)")]
                }
                DID => vec![Did::parse_usable(&v)
                    .map(|_| Finding::pass("ok"))
                    .unwrap_or_else(|e| Finding::fail(e.to_string()))],
                WEBROOT if v.is_empty() => vec![Finding::info(
                    "where the site's files live, e.g. /var/www/example.com",
                )],
                // No file-system look-up here (screens do no I/O): the write reports a
                // missing directory.
                WEBROOT => vec![Finding::info(format!(
                    "Ctrl-W writes {}",
                    did_file_path(&PathBuf::from(&v)).display()
                ))],
                _ => vec![],
            };
        }
    }

    pub fn load_answers(&mut self, d: &crate::answers::DidFileAnswers) {
        let webroot = d.webroot.as_ref().map(|w| w.display().to_string());
        for (k, v) in [
            (HANDLE, Some(d.handle.clone())),
            (DID, d.did.clone()),
            (WEBROOT, webroot),
        ] {
            if let (Some(v), Some(f)) = (v, self.form.field_mut(k)) {
                f.set_text(&v);
            }
        }
        self.refresh_findings();
    }

    pub fn to_answers(&self) -> Option<crate::answers::DidFileAnswers> {
        let text = |k| Some(self.form.text(k)).filter(|s: &String| !s.trim().is_empty());
        Some(crate::answers::DidFileAnswers {
            handle: text(HANDLE)?,
            did: text(DID),
            webroot: text(WEBROOT).map(PathBuf::from),
        })
    }

    pub fn worst(&self) -> Level {
        match &self.check {
            Some(c) => c.finding.level,
            None => Level::Info,
        }
    }
}

impl Room for DidFileScreen {
    type Job = Job;
    type Done = Done;

    /// The step's keys: write the file, check it over HTTPS, or the form's.
    fn on_command(&mut self, command: Option<Command>, k: KeyEvent, ctx: &mut Ctx) -> Said<Self> {
        match command {
            Some(Command::WriteFile) => match (self.webroot(), self.did()) {
                (Ok(webroot), Ok(did)) => {
                    let job = ctx.jobs.start();
                    self.writing = Some(job.ticket);
                    Outcome::effect(job.ticket, Job::Write { webroot, did })
                }
                (Err(e), _) | (_, Err(e)) => Outcome::fail(e),
            },
            Some(Command::CheckNow) => match self.handle() {
                Ok(handle) if self.pending.is_none() => {
                    let job = ctx.jobs.start();
                    self.pending = Some(job);
                    let did = self.did().ok();
                    Outcome::effect(job.ticket, Job::Check { handle, did })
                }
                Ok(_) => Outcome::Nothing,
                Err(e) => Outcome::fail(e),
            },
            _ => {
                self.on_key(k);
                Outcome::Nothing
            }
        }
    }

    fn awaits(&self, ticket: Ticket, done: &Done) -> bool {
        match done {
            Done::Written(_) => self.writing == Some(ticket),
            Done::Checked(_) => is_current(&self.pending, ticket),
        }
    }

    fn on_result(&mut self, done: Done, _ctx: &mut Ctx) -> Said<Self> {
        match done {
            Done::Written(result) => {
                self.writing = None;
                self.written = Some(match result {
                    Ok(path) => Finding::pass(format!("wrote {path}")),
                    Err(e) => Finding::fail(e),
                });
                Outcome::Nothing
            }
            Done::Checked(check) => {
                self.pending = None;
                let said = Outcome::Status(check.finding.level, check.finding.what.clone());
                self.check = Some(check);
                said
            }
        }
    }

    fn run(job: Job, ctx: &Ctx) -> Task<Done> {
        match job {
            Job::Write { webroot, did } => {
                let flags = &ctx.settings.flags;
                let webroot = flags.place(&webroot);
                // The demo's web root is a sandbox copy of the one typed: made on demand.
                let made = match flags.sandbox.is_some() && !webroot.is_dir() {
                    true => crate::fsutil::check_confined(&webroot)
                        .map_err(|e| e.to_string())
                        .and_then(|()| {
                            std::fs::create_dir_all(&webroot)
                                .map_err(|e| format!("cannot create {}: {e}", webroot.display()))
                        }),
                    false => Ok(()),
                };
                Task::Now(Done::Written(
                    made.and_then(|()| crate::identity::didfile::write_did_file(&webroot, &did))
                        .map(|report| report.describe()),
                ))
            }
            Job::Check { handle, did } => {
                let options = ctx.settings.http.clone();
                Task::future(async move {
                    Done::Checked(Box::new(
                        crate::identity::didfile::check_did_file(&handle, did.as_ref(), &options)
                            .await,
                    ))
                })
            }
        }
    }
}

impl Drawn for DidFileScreen {
    fn draw(&self, frame: &mut Frame, area: Rect, view: &View) {
        let (theme, spin, focused) = (view.theme, view.spinner, view.focused);
        let y = self.form.draw(frame, area, theme, focused, &|_| false);
        let mut lines: Vec<Line> = vec![Line::from(Span::styled(
            "Ctrl-W writes the file (atomically, with a backup); Ctrl-T checks https://<handle>/.well-known/atproto-did.",
            theme.key_hint,
        ))];
        lines.push(Line::from(Span::styled(
            "Or let the reverse proxy send /.well-known/atproto-did to the PDS, which answers for handles under its own domain.",
            theme.dim,
        )));
        if let Some(w) = &self.written {
            lines.push(finding_line(w, theme));
        }
        if let Some(Pending { since: started, .. }) = self.pending {
            lines.push(Line::from(Span::styled(
                format!(
                    "{} checking over HTTPS… {:.1} s",
                    spinner(spin),
                    started.elapsed().as_secs_f64()
                ),
                theme.warn,
            )));
        }
        if let Some(c) = &self.check {
            lines.extend(finding_block(&c.finding, &c.notes, theme));
        }
        draw_below(frame, area, y, lines);
    }

    fn mark(&self, _env: &Env) -> Mark {
        match self.worst() {
            Level::Pass => Mark::Done,
            Level::Fail => Mark::Attention,
            _ => Mark::Open,
        }
    }

    fn busy(&self) -> bool {
        self.pending.is_some()
    }
}

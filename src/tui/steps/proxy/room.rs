//! The Reverse proxy step's work: what it asks for in the background (the server's check,
//! the write, linking an nginx site, the reload), what it makes of each result, and the
//! questions between them (write these files? link the site? reload?).

use super::ProxyScreen;
use crate::finding::{Finding, Level};
use crate::proxy::install::Placement;
use crate::proxy::render::RenderedFile;
use crate::proxy::validate::Validation;
use crate::proxy::{ProxyPlan, Server};
use crate::tui::jobs::{is_current, Task, Ticket};
use crate::tui::keys::Command;
use crate::tui::outcome::{Ctx, Outcome};
use crate::tui::steps::{ask, Room, Said};
use crate::tui::strings;
use crossterm::event::KeyEvent;
use std::path::PathBuf;

/// What the step asks for in the background.
#[derive(Debug, Clone)]
pub enum Job {
    /// Have the proxy server check the rendered config (in a scratch directory).
    Validate {
        plan: Box<ProxyPlan>,
        files: Vec<RenderedFile>,
    },
    /// Write the files the operator saw the diff of.
    Write {
        files: Vec<RenderedFile>,
        placements: Vec<Placement>,
    },
    /// Link an nginx site into sites-enabled.
    Link { link: PathBuf, target: PathBuf },
    /// Run the reload command the operator confirmed.
    Reload(Vec<String>),
}

#[derive(Debug)]
pub enum Done {
    Validated(Box<Validation>),
    /// What was written (one line per file, with its backup), or why not.
    Written(Result<Vec<String>, String>),
    Linked(Result<(), String>),
    Reloaded(Result<(), String>),
}

/// What the step asks the operator.
#[derive(Debug, Clone)]
pub enum Question {
    /// Write these (their diffs shown)?
    Write(Vec<Placement>),
    /// nginx reads sites-enabled only: link the new site there, then offer `reload`?
    Enable {
        link: PathBuf,
        target: PathBuf,
        reload: Vec<String>,
    },
    /// Run the server's reload command?
    Reload(Vec<String>),
}

impl ProxyScreen {
    /// Have the server check the plan (unless a check is under way).
    pub fn validate(&mut self, ctx: &mut Ctx) -> Said<Self> {
        if self.pending.is_some() {
            return Outcome::Nothing;
        }
        match &self.plan {
            Some(plan) => {
                let job = ctx.jobs.start();
                self.pending = Some(job);
                Outcome::effect(
                    job.ticket,
                    Job::Validate {
                        plan: Box::new(plan.clone()),
                        files: self.files.clone(),
                    },
                )
            }
            None => {
                self.write_after_check = false;
                Outcome::fail("correct the answers marked ✗ first")
            }
        }
    }

    /// The write dialog (the diff of every file), or why there is nothing to write.
    pub fn open_write(&mut self) -> Said<Self> {
        match self.placements() {
            Ok(p) if !p.iter().any(|p| p.changed()) => Outcome::Status(
                Level::Info,
                "Nothing to write: the files already say this.".into(),
            ),
            Ok(p) => {
                // Every line of every diff: the pop-up shows what fits.
                let body = strings::proxy_write_body(&p, usize::MAX);
                ask(
                    &mut self.asking,
                    Question::Write(p),
                    " Write the proxy config? ",
                    body,
                    true,
                )
            }
            Err(e) => Outcome::fail(e),
        }
    }

    fn ask_reload(&mut self, cmd: Vec<String>) -> Said<Self> {
        let hint = crate::proxy::install::reload_hint_for(self.server(), &self.out_path());
        let body = strings::reload_offer(&hint);
        ask(
            &mut self.asking,
            Question::Reload(cmd),
            " Reload the proxy? ",
            body,
            false,
        )
    }

    fn start(&mut self, ctx: &mut Ctx, job: Job) -> Said<Self> {
        let p = ctx.jobs.start();
        self.doing = Some(p.ticket);
        Outcome::effect(p.ticket, job)
    }

    /// Written: said, then the reload offered (after linking a new nginx site, asked).
    fn written(&mut self, lines: Vec<String>, demo: bool) -> Said<Self> {
        let server = self.server();
        let what = if lines.is_empty() {
            "Nothing to write: the files already say this.".to_string()
        } else {
            lines.join("; ")
        };
        self.written = Some(Finding::pass(what.clone()));
        let said = Outcome::Status(Level::Pass, what.clone());
        let out = self.out_path();
        match crate::proxy::install::reload_command_for(server, &out) {
            Some(_) if demo => {
                Outcome::Status(Level::Pass, format!("{what} (demo: no server is reloaded)"))
            }
            Some(cmd) if !lines.is_empty() => match crate::proxy::install::site_link(&out) {
                // nginx reads sites-enabled only: a new site there is linked first
                // (asked), then the reload is offered.
                Some((link, target)) if server == Server::Nginx => {
                    let body = format!(
                        "nginx reads only the sites linked from sites-enabled. Link\n\n  {} → {}\n\nthen offer the reload?\n\ny: link   n: not now",
                        link.display(),
                        target.display()
                    );
                    let q = Question::Enable {
                        link,
                        target,
                        reload: cmd,
                    };
                    said.and(ask(&mut self.asking, q, " Enable the site? ", body, true))
                }
                _ => said.and(self.ask_reload(cmd)),
            },
            _ => said,
        }
    }
}

impl Room for ProxyScreen {
    type Job = Job;
    type Done = Done;

    /// The step's keys: the config preview, the server's check, writing, or the form's.
    fn on_command(&mut self, command: Option<Command>, k: KeyEvent, ctx: &mut Ctx) -> Said<Self> {
        match command {
            Some(Command::ToggleConfig) => {
                self.preview = !self.preview;
                Outcome::Nothing
            }
            Some(Command::ValidateConfig) => self.validate(ctx),
            // Written only after the server's own check passed for exactly this plan.
            Some(Command::WriteConfig) => match &self.validation {
                Some(v) if v.finding.level == Level::Fail => {
                    Outcome::fail(format!("not written: {}", v.finding.what))
                }
                Some(_) => self.open_write(),
                None => {
                    self.write_after_check = true;
                    self.validate(ctx)
                }
            },
            _ => {
                self.on_key(k, ctx.working);
                Outcome::Nothing
            }
        }
    }

    fn awaits(&self, ticket: Ticket, done: &Done) -> bool {
        match done {
            Done::Validated(_) => is_current(&self.pending, ticket),
            Done::Written(_) | Done::Linked(_) | Done::Reloaded(_) => self.doing == Some(ticket),
        }
    }

    fn on_result(&mut self, done: Done, ctx: &mut Ctx) -> Said<Self> {
        match done {
            Done::Validated(v) => {
                self.pending = None;
                let said = Outcome::Status(v.finding.level, v.finding.what.clone());
                let ok = v.finding.level != Level::Fail;
                self.validation = Some(*v);
                match std::mem::take(&mut self.write_after_check) && ok {
                    true => said.and(self.open_write()),
                    false => said,
                }
            }
            Done::Written(r) => {
                self.doing = None;
                match r {
                    Ok(lines) => self.written(lines, ctx.demo),
                    Err(e) => {
                        self.written = Some(Finding::fail(e.clone()));
                        Outcome::Status(Level::Fail, e)
                    }
                }
            }
            Done::Linked(r) => {
                self.doing = None;
                let Some(Question::Enable {
                    link,
                    target,
                    reload,
                }) = self.asking.take()
                else {
                    return Outcome::Nothing;
                };
                match r {
                    Ok(()) => Outcome::Status(
                        Level::Pass,
                        format!("Linked {} → {}.", link.display(), target.display()),
                    )
                    .and(self.ask_reload(reload)),
                    Err(e) => Outcome::Status(Level::Fail, e),
                }
            }
            Done::Reloaded(r) => {
                self.doing = None;
                match r {
                    Ok(()) => Outcome::Status(
                        Level::Pass,
                        format!("{} reloaded the new config.", self.server()),
                    ),
                    Err(e) => Outcome::Status(Level::Fail, e),
                }
            }
        }
    }

    fn on_answer(&mut self, yes: bool, ctx: &mut Ctx) -> Said<Self> {
        let Some(q) = self.asking.take() else {
            return Outcome::Nothing;
        };
        match (q, yes) {
            (Question::Write(placements), true) => {
                let files = self.files.clone();
                self.start(ctx, Job::Write { files, placements })
            }
            (Question::Write(_), false) => Outcome::Status(Level::Info, "Nothing written.".into()),
            (q @ Question::Enable { .. }, true) => {
                let Question::Enable { link, target, .. } = &q else {
                    unreachable!()
                };
                let job = Job::Link {
                    link: link.clone(),
                    target: target.clone(),
                };
                // Kept until the link is made: its reload is offered next.
                self.asking = Some(q);
                self.start(ctx, job)
            }
            (Question::Enable { .. }, false) => {
                Outcome::Status(Level::Info, "Nothing done.".into())
            }
            (Question::Reload(cmd), true) => self.start(ctx, Job::Reload(cmd)),
            (Question::Reload(_), false) => Outcome::Status(
                Level::Info,
                format!(
                    "Not reloaded. When ready: {}",
                    crate::proxy::install::reload_hint_for(self.server(), &self.out_path())
                ),
            ),
        }
    }

    fn run(job: Job, ctx: &Ctx) -> Task<Done> {
        match job {
            Job::Validate { plan, files } => {
                let timeout = crate::proxy::validate::limit(ctx.settings.http.timeout);
                Task::future(async move {
                    Done::Validated(Box::new(
                        crate::proxy::validate::validate_plan(&plan, &files, timeout).await,
                    ))
                })
            }
            Job::Write { files, placements } => Task::Now(Done::Written(
                crate::proxy::install::write(&files, &placements).map(|done| {
                    done.iter()
                        .map(|report| format!("wrote {}", report.describe()))
                        .collect()
                }),
            )),
            Job::Link { link, target } => Task::Now(Done::Linked(
                crate::proxy::install::enable_site(&link, &target),
            )),
            Job::Reload(cmd) => Task::blocking(move || Done::Reloaded(crate::pds::restart(&cmd))),
        }
    }
}

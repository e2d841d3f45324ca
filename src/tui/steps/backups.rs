//! Backups: where they go (the installed schedule's directory, else /var/backups/pds),
//! each one with its state; `b` makes one now, `v` verifies the chosen one, Enter restores
//! it (the PDS stopped first, started and checked after), `m` shows the move to a new
//! server. Every operation is the core's (`backup::run`), as `pds-wizard backup` runs it.

use crate::backup::{self, moving, run::Made, schedule, verify::Verdict, Listed};
use crate::finding::{Finding, Level};
use crate::tui::jobs::{is_current, Pending, Task, Ticket};
use crate::tui::keys::Command;
use crate::tui::outcome::{Ctx, Outcome};
use crate::tui::steps::{ask, Drawn, Env, Mark, Room, Said, View};
use crate::tui::widgets::{draw_below, finding_line, level_style, spinner};
use crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::Frame;
use std::path::PathBuf;
use std::time::Duration;

/// Where backups go when no schedule says.
pub const DEFAULT_DEST: &str = "/var/backups/pds";

#[derive(Debug, Clone)]
pub enum Job {
    /// Read the schedule and the backups there.
    Look,
    Create(PathBuf),
    Verify(PathBuf),
    Restore(PathBuf),
}

/// What the step found in DEST.
#[derive(Debug, Clone)]
pub struct Looked {
    pub dest: PathBuf,
    pub schedule: Option<schedule::Every>,
    pub backups: Vec<Listed>,
    /// The move guide for this PDS, through DEST.
    pub guide: Vec<moving::MoveStep>,
}

#[derive(Debug)]
pub enum Done {
    Looked(Box<Looked>),
    /// How far a backup is.
    Progress(String),
    Created(Result<Box<Made>, String>),
    Verified(Box<Verdict>),
    /// One step of a restore, as it ran.
    Step(Finding),
    Restored(Result<(), String>),
}

/// What the step asked.
#[derive(Debug, Clone)]
pub enum Question {
    Create,
    Restore(PathBuf),
}

#[derive(Default)]
pub struct BackupsScreen {
    pub looking: Option<Pending>,
    pub looked: Option<Box<Looked>>,
    pub chosen: usize,
    /// A backup, verification or restore running.
    pub working: Option<Pending>,
    pub progress: Option<String>,
    pub verdict: Option<Box<Verdict>>,
    /// The restore's steps as they ran.
    pub ran: Vec<Finding>,
    pub asking: Option<Question>,
}

impl BackupsScreen {
    fn look(&mut self, ctx: &mut Ctx) -> Said<Self> {
        let job = ctx.jobs.start();
        self.looking = Some(job);
        Outcome::Effects(vec![(job.ticket, Job::Look)])
    }

    fn chosen(&self) -> Option<&Listed> {
        self.looked.as_ref()?.backups.get(self.chosen)
    }

    fn start(&mut self, ctx: &mut Ctx, job: Job, said: &str) -> Said<Self> {
        let p = ctx.jobs.start();
        self.working = Some(p);
        self.progress = None;
        Outcome::Working(said.into(), vec![(p.ticket, job)])
    }
}

/// Units in PDS_WIZARD_UNIT_DIR (the Server step's variable), else systemd's; the demo's
/// in its sandbox.
fn unit_dir(ctx: &Ctx) -> PathBuf {
    let dir = std::env::var_os("PDS_WIZARD_UNIT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/etc/systemd/system".into());
    ctx.settings.flags.place(&dir)
}

fn data_dir(ctx: &Ctx) -> PathBuf {
    ctx.data_dir.cloned().unwrap_or_else(|| {
        ctx.settings
            .flags
            .place(&crate::pds::data::data_dir(ctx.working))
    })
}

impl Room for BackupsScreen {
    type Job = Job;
    type Done = Done;

    fn on_open(&mut self, ctx: &mut Ctx) -> Said<Self> {
        match self.looked.is_none() && self.looking.is_none() {
            true => self.look(ctx),
            false => Outcome::Nothing,
        }
    }

    fn on_command(&mut self, command: Option<Command>, _k: KeyEvent, ctx: &mut Ctx) -> Said<Self> {
        let n = self.looked.as_ref().map_or(0, |l| l.backups.len());
        let idle = self.working.is_none() && self.looking.is_none();
        match command {
            Some(Command::CheckUp) if n > 0 => self.chosen = (self.chosen + n - 1) % n,
            Some(Command::CheckDown) if n > 0 => self.chosen = (self.chosen + 1) % n,
            Some(Command::RerunAll) if idle => return self.look(ctx),
            Some(Command::MoveGuide) => {
                if let Some(l) = &self.looked {
                    let mut body = String::from(
                        "Each step with the machine it runs on and its command (pds-wizard backup move-guide --to USER@NEW prints it with the new server's name).\n\n",
                    );
                    for (i, s) in l.guide.iter().enumerate() {
                        body.push_str(&format!("{}. [{}] {}\n", i + 1, s.on.label(), s.what));
                        if let Some(c) = &s.command {
                            body.push_str(&format!("   {c}\n"));
                        }
                    }
                    return Outcome::Open(crate::tui::modal::Modal::Details {
                        title: "Moving to a new server, same hostname".into(),
                        body,
                        scroll: 0,
                    });
                }
            }
            Some(Command::BackupNow) if idle => {
                let Some(l) = &self.looked else {
                    return Outcome::Nothing;
                };
                let body = format!(
                    "y: back up   n: not now\n\nA new directory in {}: the databases (SQLite's backup API, while the PDS runs), each account's repo and signing key, the blobs (those the last backup holds are linked, not copied), pds.env, compose.yaml and caddy/. It is verified before it gets its name.\n\nIt holds pds.env's secrets: encrypt it before it leaves this machine.",
                    l.dest.display()
                );
                return ask(
                    &mut self.asking,
                    Question::Create,
                    " Back up now? ",
                    body,
                    true,
                );
            }
            Some(Command::VerifyBackup) if idle => {
                if let Some(b) = self.chosen() {
                    let path = b.path.clone();
                    self.verdict = None;
                    return self.start(ctx, Job::Verify(path), "Verifying the backup…");
                }
            }
            Some(Command::RestoreBackup) if idle => {
                let Some(b) = self.chosen() else {
                    return Outcome::Nothing;
                };
                let to = data_dir(ctx);
                // One directory listing (the running PDS is found by the job, in /proc).
                let present = backup::restore::present(&to);
                let there = match present.is_empty() {
                    true => "nothing of a PDS".to_string(),
                    false => present.join(", "),
                };
                let body = format!(
                    "y: restore   n: not now\n\n{} into {}.\n\nA running PDS is stopped first. {} holds {there}: that is moved into before-restore-… inside it, never deleted. The backup is verified first; the PDS is then started (through the relay repair when a relay is past the restored events) and checked: health, each account's repo, each relay.",
                    b.name,
                    to.display(),
                    to.display()
                );
                let path = b.path.clone();
                return ask(
                    &mut self.asking,
                    Question::Restore(path),
                    " Restore this backup? ",
                    body,
                    true,
                );
            }
            _ => {}
        }
        Outcome::Nothing
    }

    fn awaits(&self, ticket: Ticket, done: &Done) -> bool {
        match done {
            Done::Looked(_) => is_current(&self.looking, ticket),
            _ => is_current(&self.working, ticket),
        }
    }

    fn on_result(&mut self, done: Done, ctx: &mut Ctx) -> Said<Self> {
        match done {
            Done::Looked(l) => {
                self.looking = None;
                self.chosen = self.chosen.min(l.backups.len().saturating_sub(1));
                self.looked = Some(l);
                Outcome::Nothing
            }
            Done::Progress(p) => {
                self.progress = Some(p);
                Outcome::Nothing
            }
            Done::Created(r) => {
                self.working = None;
                self.progress = None;
                let said = match r {
                    Ok(m) if m.complete => Outcome::Status(
                        Level::Pass,
                        format!(
                            "Backed up and verified: {} ({} account(s), {} blob(s), {:.1} s).",
                            m.path.file_name().unwrap_or_default().to_string_lossy(),
                            m.manifest.accounts.len(),
                            m.verdict.blobs,
                            m.seconds
                        ),
                    ),
                    Ok(m) => {
                        let s = Outcome::Status(
                            Level::Fail,
                            format!(
                                "The backup is not sound: {} problem(s), below.",
                                m.verdict.problems.len()
                            ),
                        );
                        self.verdict = Some(Box::new(m.verdict));
                        s
                    }
                    Err(e) => Outcome::Status(Level::Fail, format!("No backup made: {e}")),
                };
                self.chosen = 0;
                said.and(self.look(ctx))
            }
            Done::Verified(v) => {
                self.working = None;
                let said = match v.sound() {
                    true => Outcome::Status(
                        Level::Pass,
                        format!(
                            "Sound: {} account(s), {} blob(s), {} key(s) matching their DID documents.",
                            v.accounts, v.blobs, v.keys_checked
                        ),
                    ),
                    false => Outcome::Status(
                        Level::Fail,
                        format!("Not sound: {} problem(s), below.", v.problems.len()),
                    ),
                };
                self.verdict = Some(v);
                said
            }
            Done::Step(f) => {
                let said = Outcome::Status(f.level, f.what.clone());
                self.ran.push(f);
                said
            }
            Done::Restored(r) => {
                self.working = None;
                match r {
                    Ok(()) if crate::finding::worst(&self.ran) != Level::Fail => {
                        Outcome::Status(Level::Pass, "Restored, started and checked.".into())
                    }
                    Ok(()) => Outcome::Status(
                        Level::Fail,
                        "Restored; a check after it failed (below).".into(),
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
        if !yes {
            return Outcome::Status(Level::Info, "Nothing changed.".into());
        }
        match q {
            Question::Create => {
                let Some(dest) = self.looked.as_ref().map(|l| l.dest.clone()) else {
                    return Outcome::Nothing;
                };
                self.verdict = None;
                self.start(ctx, Job::Create(dest), "Backing up…")
            }
            Question::Restore(path) => {
                self.ran.clear();
                self.start(ctx, Job::Restore(path), "Restoring…")
            }
        }
    }

    fn run(job: Job, ctx: &Ctx) -> Task<Done> {
        let settings = ctx.settings.clone();
        let doc = ctx.working.clone();
        match job {
            Job::Look => {
                let units = unit_dir(ctx);
                let default = ctx.settings.flags.place(std::path::Path::new(DEFAULT_DEST));
                let data = data_dir(ctx);
                Task::blocking(move || {
                    let installed = schedule::installed(&units);
                    let dest = installed
                        .as_ref()
                        .map(|(d, _)| d.clone())
                        .unwrap_or(default);
                    let host = settings
                        .hostname
                        .clone()
                        .unwrap_or_else(|| "PDS_HOSTNAME".into());
                    let guide =
                        moving::guide(&host, &settings.env_file, &data, &dest, "root@NEW-SERVER");
                    Done::Looked(Box::new(Looked {
                        backups: backup::list(&dest),
                        schedule: installed.map(|(_, e)| e),
                        dest,
                        guide,
                    }))
                })
            }
            Job::Create(dest) => {
                // The demo's PDS stand-in keeps its data apart from pds.env's /pds.
                let layout = match ctx.data_dir {
                    Some(d) => backup::Layout::at(d, &settings.env_file),
                    None => backup::Layout::of(&doc, &settings.env_file),
                };
                Task::Stream(Box::new(move |each| {
                    Box::pin(async move {
                        let progress = move |p: &backup::create::Progress| {
                            each(Done::Progress(format!(
                                "{} {}/{}",
                                p.phase, p.done, p.total
                            )))
                        };
                        let made = backup::run::create_verified(
                            &settings,
                            &doc,
                            layout,
                            &dest,
                            None,
                            &[],
                            progress,
                        )
                        .await;
                        Done::Created(made.map(Box::new))
                    })
                }))
            }
            Job::Verify(dir) => Task::future(async move {
                Done::Verified(Box::new(
                    backup::run::verify_dir(&settings, &dir, true).await,
                ))
            }),
            Job::Restore(dir) => {
                let to = data_dir(ctx);
                Task::Stream(Box::new(move |each| {
                    Box::pin(async move { restore(&settings, &doc, &dir, &to, each).await })
                }))
            }
        }
    }
}

/// Stop the PDS, restore, then start and check it (`backup::run::after_restore`).
async fn restore(
    settings: &crate::settings::Resolved,
    doc: &crate::envfile::Document,
    dir: &std::path::Path,
    to: &std::path::Path,
    each: crate::tui::jobs::Sink<Done>,
) -> Done {
    let v = backup::run::verify_dir(settings, dir, true).await;
    if !v.sound() {
        return Done::Restored(Err(format!(
            "{} is not sound ({} problem(s)): nothing restored. v shows them.",
            dir.display(),
            v.problems.len()
        )));
    }
    // Stopped first when it runs on the data directory (its unit or compose file); a PDS
    // already stopped is restored as it is.
    if !backup::restore::holders(to).is_empty() {
        let stop = match crate::repair::control(&settings.flags) {
            Some(crate::repair::Control::StopStart { stop, .. }) => stop,
            _ => {
                return Done::Restored(Err(
                    "the PDS runs and cannot be stopped from here (only a restart command is known): stop it, then Enter again"
                        .into(),
                ))
            }
        };
        let cmd = stop.clone();
        if let Err(e) = tokio::task::spawn_blocking(move || crate::pds::restart(&cmd))
            .await
            .unwrap_or_else(|e| Err(e.to_string()))
        {
            return Done::Restored(Err(format!("could not stop the PDS: {e}")));
        }
        each(Done::Step(Finding::pass(format!(
            "stopped the PDS ({})",
            crate::pds::shown(&stop)
        ))));
    }
    let manifest: Option<backup::Manifest> = std::fs::read(dir.join(backup::MANIFEST))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let (d, t) = (dir.to_path_buf(), to.to_path_buf());
    let restored = tokio::task::spawn_blocking(move || backup::restore::restore(&d, &t))
        .await
        .unwrap_or_else(|e| Err(e.to_string()));
    let said = match &restored {
        Ok(r) => Finding::pass(format!(
            "restored {} file(s) into {}{}",
            r.files,
            r.to.display(),
            r.moved_aside
                .as_ref()
                .map(|a| format!("; what was there is in {}", a.display()))
                .unwrap_or_default()
        )),
        Err(e) => Finding::fail(e.clone()),
    };
    each(Done::Step(said));
    // Started again whatever happened: restored, or the data as it was.
    if let Some(m) = manifest.filter(|_| restored.is_ok()) {
        let watch = Duration::from_secs(60);
        backup::run::after_restore(settings, doc, &m, to, &[], watch, |f| {
            each(Done::Step(f.clone()))
        })
        .await;
        Done::Restored(Ok(()))
    } else {
        let start = match crate::repair::control(&settings.flags) {
            Some(crate::repair::Control::StopStart { start, .. }) => Some(start),
            Some(crate::repair::Control::Restart(c)) => Some(c),
            None => None,
        };
        if let Some(start) = start {
            let _ = tokio::task::spawn_blocking(move || crate::pds::restart(&start)).await;
        }
        Done::Restored(restored.map(|_| ()))
    }
}

impl Drawn for BackupsScreen {
    fn draw(&self, frame: &mut Frame, area: Rect, view: &View) {
        let (theme, tick) = (view.theme, view.spinner);
        let mut lines: Vec<Line> = Vec::new();
        if self.looking.is_some() {
            lines.push(Line::from(Span::styled(
                format!("{} reading the backups…", spinner(tick)),
                theme.warn,
            )));
        }
        if let Some(l) = &self.looked {
            lines.push(Line::from(vec![
                Span::styled("Backups in ", theme.dim),
                Span::raw(l.dest.display().to_string()),
                Span::styled(
                    match l.schedule {
                        Some(schedule::Every::Day) => "  · scheduled every day",
                        Some(schedule::Every::Hour) => "  · scheduled every hour",
                        None => "  · no schedule (pds-wizard backup schedule)",
                    },
                    theme.dim,
                ),
            ]));
            if l.backups.is_empty() {
                lines.push(Line::from(Span::styled(
                    "No backup yet: b makes one now.",
                    theme.warn,
                )));
            }
            for (i, b) in l.backups.iter().enumerate() {
                let accounts = b.manifest.as_ref().map_or(0, |m| m.accounts.len());
                let (mark, style) = match &b.verified {
                    Some(_) => ("✓", theme.pass),
                    None => ("·", theme.dim),
                };
                let age = b
                    .verified
                    .as_ref()
                    .and_then(|v| backup::age_secs(&v.at))
                    .map(|s| format!("{} ago", crate::pds::data::age_text(s.max(0))))
                    .unwrap_or_else(|| "not verified".into());
                lines.push(Line::from(vec![
                    Span::raw(if i == self.chosen { "› " } else { "  " }),
                    Span::styled(format!("{mark} "), style),
                    Span::raw(format!(
                        "{}  {accounts} accounts  {:.1} MB  {age}",
                        b.name,
                        b.size as f64 / (1u64 << 20) as f64
                    )),
                ]));
            }
        }
        if let Some(p) = &self.working {
            lines.push(Line::from(Span::styled(
                format!(
                    "{} working… {:.0} s {}",
                    spinner(tick),
                    p.since.elapsed().as_secs_f64(),
                    self.progress.as_deref().unwrap_or("")
                ),
                theme.warn,
            )));
        }
        if let Some(v) = &self.verdict {
            lines.push(Line::from(Span::styled(
                match v.sound() {
                    true => format!(
                        "✓ sound: {} account(s), {} blob(s), {} file(s), {} key(s) matching",
                        v.accounts, v.blobs, v.files, v.keys_checked
                    ),
                    false => format!("✗ not sound: {} problem(s)", v.problems.len()),
                },
                level_style(if v.sound() { Level::Pass } else { Level::Fail }, theme),
            )));
            for p in &v.problems {
                lines.push(finding_line(&Finding::fail(p.detail.clone()), theme));
            }
            // What was not checked (a key whose DID document did not answer), dim.
            for n in &v.notes {
                lines.push(Line::from(Span::styled(format!("  {n}"), theme.dim)));
            }
        }
        lines.extend(self.ran.iter().map(|f| finding_line(f, theme)));
        draw_below(frame, area, area.y, lines);
    }

    fn busy(&self) -> bool {
        self.looking.is_some() || self.working.is_some()
    }

    fn mark(&self, _env: &Env) -> Mark {
        match &self.looked {
            None => Mark::Open,
            Some(l) => match l.backups.iter().find(|b| b.verified.is_some()) {
                Some(_) if l.schedule.is_some() => Mark::Done,
                _ => Mark::Attention,
            },
        }
    }
}

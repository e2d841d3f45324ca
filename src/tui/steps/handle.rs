//! Handle & DNS: pick an account (or type a handle and DID), see the exact record to
//! create, check every verification method in the background, optionally again every N
//! seconds while you edit DNS elsewhere.

use crate::finding::{Finding, Level};
use crate::identity::{Did, Handle, HandleReport, VerifyOptions};
use crate::pds::accounts::Account;
use crate::pds::refresh::RefreshReport;
use crate::tui::form::{Field, FieldKind, Form};
use crate::tui::jobs::{is_current, Pending, Task, Ticket};
use crate::tui::keys::Command;
use crate::tui::outcome::{Ctx, Outcome};
use crate::tui::steps::{ask, Drawn, Env, Mark, Room, Said, View};
use crate::tui::theme::Theme;
use crate::tui::widgets::{draw_below, finding_line, level_icon, level_style, spinner};
use crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::Frame;
use std::time::Duration;

pub const ACCOUNT: &str = "account";
pub const HANDLE: &str = "handle";
pub const DID: &str = "did";
pub const AUTO: &str = "auto";
const TYPED: &str = "(typed below)";
pub const AUTO_CHOICES: [&str; 3] = ["off", "every 30 s", "every 60 s"];

/// What the step asks for in the background.
#[derive(Debug, Clone)]
pub enum Job {
    /// The PDS's accounts, to pick one.
    Accounts,
    /// Check a handle every way.
    Verify {
        handle: Handle,
        did: Did,
        options: Box<VerifyOptions>,
    },
    /// Announce a handle again (see `pds::refresh`).
    Announce(Handle),
    /// Re-checking is on: check again after this long.
    Wait(Duration),
}

#[derive(Debug)]
pub enum Done {
    Accounts(Result<Vec<Account>, Finding>),
    Verified(Box<HandleReport>),
    /// The handle announced again (identity event, crawl requests, the AppView's view).
    Announced(Box<RefreshReport>),
    /// Time to check again.
    Due,
}

pub enum Accounts {
    NotLoaded,
    /// Asked for by this request.
    Loading(Ticket),
    Loaded(Vec<Account>),
    Failed(Finding),
}

pub struct HandleScreen {
    pub form: Form,
    pub accounts: Accounts,
    pub pending: Option<Pending>,
    pub report: Option<Box<HandleReport>>,
    /// A handle to pick and check once the accounts are loaded (the doctor sent us here).
    pub wanted: Option<String>,
    /// The handle on the form failed a check (or the doctor's): when it verifies, apps
    /// still show "Invalid Handle" until it is announced again, so that is offered.
    pub failed_before: bool,
    /// Announcing it again: under way, or how it went.
    pub refresh: Option<Refresh>,
    /// The re-check timer running (re-checking on).
    pub recheck: Option<Ticket>,
    /// The handle it offered to announce, while the question is open.
    pub asking: Option<Handle>,
    /// The PDS's own handle domains (pds.env as it will be saved): a handle under one needs
    /// no record, the PDS answers for it.
    pub own_domains: Vec<String>,
}

pub enum Refresh {
    Pending(Pending),
    Done(Box<RefreshReport>),
}

impl Default for HandleScreen {
    fn default() -> Self {
        Self::new()
    }
}

impl HandleScreen {
    pub fn new() -> HandleScreen {
        let fields = vec![
            Field::new(
                ACCOUNT,
                "Account",
                FieldKind::Choice(vec![TYPED.to_string()]),
                TYPED,
            ),
            Field::new(HANDLE, "Handle", FieldKind::Text, "").limit(253),
            Field::new(DID, "DID", FieldKind::Text, ""),
            Field::new(
                AUTO,
                "Re-check",
                FieldKind::Choice(AUTO_CHOICES.iter().map(|s| s.to_string()).collect()),
                "off",
            ),
        ];
        let mut s = HandleScreen {
            form: Form::new(fields),
            accounts: Accounts::NotLoaded,
            pending: None,
            report: None,
            wanted: None,
            failed_before: false,
            refresh: None,
            recheck: None,
            asking: None,
            own_domains: Vec::new(),
        };
        s.refresh_findings();
        s
    }

    pub fn set_accounts(&mut self, result: Result<Vec<Account>, Finding>) {
        match result {
            Ok(list) => {
                let mut choices = vec![TYPED.to_string()];
                choices.extend(list.iter().map(|a| a.handle.clone()));
                if let Some(f) = self.form.field_mut(ACCOUNT) {
                    f.kind = FieldKind::Choice(choices);
                }
                self.accounts = Accounts::Loaded(list);
            }
            Err(f) => self.accounts = Accounts::Failed(f),
        }
        self.refresh_findings();
    }

    /// The handle and DID as typed, when both are valid.
    pub fn target(&self) -> Result<(Handle, Did), String> {
        let h = Handle::parse_usable(&self.form.text(HANDLE)).map_err(|e| e.to_string())?;
        let d = Did::parse_usable(&self.form.text(DID)).map_err(|e| e.to_string())?;
        Ok((h, d))
    }

    /// The PDS's own handle domain `h` is under, if any.
    fn own_domain(&self, h: &Handle) -> Option<String> {
        self.own_domains
            .iter()
            .find(|d| h.as_str().ends_with(d.as_str()))
            .cloned()
    }

    pub fn auto_interval(&self) -> Option<Duration> {
        match self.form.text(AUTO).as_str() {
            "every 30 s" => Some(Duration::from_secs(30)),
            "every 60 s" => Some(Duration::from_secs(60)),
            _ => None,
        }
    }

    /// Load the PDS's accounts (the step opened for the first time).
    pub fn load(&mut self, ctx: &mut Ctx) -> Said<Self> {
        let job = ctx.jobs.start();
        self.accounts = Accounts::Loading(job.ticket);
        self.refresh_findings();
        Outcome::effect(job.ticket, Job::Accounts)
    }

    /// Check the handle now (unless a check is under way).
    pub fn check(&mut self, ctx: &mut Ctx) -> Said<Self> {
        if self.pending.is_some() {
            return Outcome::Nothing;
        }
        self.verify(ctx).unwrap_or_else(|e| {
            Outcome::Status(
                Level::Warn,
                format!("Pick an account or type a valid handle and DID first: {e}"),
            )
        })
    }

    /// The check of the handle and DID on the form, as a job.
    fn verify(&mut self, ctx: &mut Ctx) -> Result<Said<Self>, String> {
        let (handle, did) = self.target()?;
        let job = ctx.jobs.start();
        self.pending = Some(job);
        self.report = None;
        Ok(Outcome::effect(
            job.ticket,
            Job::Verify {
                handle,
                did,
                options: Box::new(ctx.settings.verify_options()),
            },
        ))
    }

    /// Pick the account with `handle` and check it again; with the accounts still loading,
    /// show the handle now and do the rest when they come (`wanted`).
    pub fn want(&mut self, handle: &str, ctx: &mut Ctx) -> Said<Self> {
        let found = match &self.accounts {
            Accounts::Loaded(list) => list
                .iter()
                .find(|a| a.handle.eq_ignore_ascii_case(handle))
                .cloned(),
            Accounts::NotLoaded | Accounts::Loading(_) => {
                self.set(HANDLE, handle);
                self.set(DID, "");
                self.wanted = Some(handle.to_string());
                self.refresh_findings();
                return Outcome::Nothing;
            }
            Accounts::Failed(_) => None,
        };
        // The doctor found it failing: a pass from here on is a fix worth announcing.
        self.failed_before = true;
        let Some(a) = found else {
            self.set(HANDLE, handle);
            self.refresh_findings();
            return Outcome::Nothing;
        };
        self.set(ACCOUNT, &a.handle);
        self.set(HANDLE, &a.handle);
        self.set(DID, &a.did);
        self.refresh_findings();
        self.pending = None;
        self.verify(ctx).unwrap_or(Outcome::Nothing)
    }

    /// A check's report: said, kept, and when it fixed a failing handle, the offer to
    /// announce it (apps show "Invalid Handle" until the network hears of it again).
    fn verified(&mut self, report: Box<HandleReport>, ctx: &mut Ctx) -> Said<Self> {
        self.pending = None;
        let mut said = Outcome::Status(
            if report.verified {
                Level::Pass
            } else {
                Level::Fail
            },
            report.verdict(),
        );
        if report.verified && self.failed_before {
            self.failed_before = false;
            said = said.and(self.ask_announce(report.handle.clone()));
        } else if !report.verified {
            self.failed_before = true;
        }
        self.report = Some(report);
        if let Some(every) = self.auto_interval() {
            let job = ctx.jobs.start();
            self.recheck = Some(job.ticket);
            said = said.and(Outcome::effect(job.ticket, Job::Wait(every)));
        }
        said
    }

    fn ask_announce(&mut self, handle: Handle) -> Said<Self> {
        let body = format!("y: announce it   n: not now\n\n{handle} verifies now. Apps keep showing \"Invalid Handle\" until the network hears of it again: the PDS announces it (an identity event on its firehose), the relays in PDS_CRAWLERS are asked to crawl, and the AppView's view of it is read back.");
        ask(
            &mut self.asking,
            handle,
            " Announce the handle? ",
            body,
            false,
        )
    }

    /// How announcing it went, on the status line (the steps are drawn below the form).
    fn announced(&mut self, r: Box<RefreshReport>) -> Said<Self> {
        let line = match (r.level, r.steps.iter().find(|f| f.level == r.level)) {
            (Level::Fail, Some(f)) => format!("The handle was not announced: {}", f.what),
            (Level::Warn, Some(f)) => format!("{} announced again, but: {}", r.handle, f.what),
            _ => format!("{} announced again: apps show it once the AppView re-checks it (usually within minutes).", r.handle),
        };
        let level = r.level;
        self.refresh = Some(Refresh::Done(r));
        Outcome::Status(level, line)
    }

    pub fn on_key(&mut self, k: KeyEvent) -> bool {
        let Some(key) = self.form.on_key(k) else {
            return false;
        };
        if key == ACCOUNT {
            let chosen = self.form.text(ACCOUNT);
            if let Accounts::Loaded(list) = &self.accounts {
                if let Some(a) = list.iter().find(|a| a.handle == chosen).cloned() {
                    self.set(HANDLE, &a.handle);
                    self.set(DID, &a.did);
                }
            }
        }
        self.refresh_findings();
        if matches!(key, HANDLE | DID | ACCOUNT) {
            // A check under way is for the old handle: its report will not count.
            self.report = None;
            self.pending = None;
            self.failed_before = false;
            self.refresh = None;
            return true;
        }
        false
    }

    /// Prefill the handle (from the answers file); its DID comes from the accounts.
    pub fn set_handle(&mut self, handle: &str) {
        self.set(HANDLE, handle);
        self.refresh_findings();
    }

    fn set(&mut self, key: &str, value: &str) {
        if let Some(f) = self.form.field_mut(key) {
            f.set_text(value);
        }
    }

    pub fn refresh_findings(&mut self) {
        let accounts_note = match &self.accounts {
            Accounts::NotLoaded | Accounts::Loading(_) => {
                Finding::info("loading accounts from the PDS…")
            }
            Accounts::Loaded(l) if l.is_empty() => Finding::info("the PDS has no accounts yet"),
            Accounts::Loaded(l) => Finding::info(format!(
                "{} account(s) on this PDS: ← → to pick one",
                l.len()
            )),
            Accounts::Failed(f) => f.clone(),
        };
        for f in &mut self.form.fields {
            let v = f.text();
            f.findings = match f.key {
                ACCOUNT => vec![accounts_note.clone()],
                HANDLE if v.is_empty() => vec![Finding::info(
                    "e.g. alice.example.com, or example.com itself",
                )],
                HANDLE => match Handle::parse_usable(&v) {
                    Ok(_) => vec![Finding::pass("ok")],
                    Err(e) => vec![Finding::fail(e.to_string())],
                },
                DID if v.is_empty() => {
                    vec![Finding::info("did:plc:… (pick an account to fill it in)")]
                }
                DID => match Did::parse_usable(&v) {
                    Ok(_) => vec![Finding::pass("ok")],
                    Err(e) => vec![Finding::fail(e.to_string())],
                },
                AUTO => vec![Finding::info(
                    "checks again on its own while you change DNS elsewhere",
                )],
                _ => vec![],
            };
        }
    }

    pub fn worst(&self) -> Level {
        let form = self
            .form
            .fields
            .iter()
            .filter(|f| f.key != ACCOUNT)
            .flat_map(|f| f.findings.iter())
            .map(|f| f.level)
            .max();
        let report = self
            .report
            .as_ref()
            .map(|r| if r.verified { Level::Pass } else { Level::Fail });
        form.into_iter().chain(report).max().unwrap_or(Level::Info)
    }
}

fn prefixed<'a>(prefix: &str, f: &Finding, theme: &Theme) -> Line<'a> {
    let mut l = finding_line(f, theme);
    l.spans.insert(1, Span::raw(prefix.to_string()));
    l
}

impl Room for HandleScreen {
    type Job = Job;
    type Done = Done;

    /// The accounts, loaded the first time it is opened (to pick one).
    fn on_open(&mut self, ctx: &mut Ctx) -> Said<Self> {
        match self.accounts {
            Accounts::NotLoaded => self.load(ctx),
            _ => Outcome::Nothing,
        }
    }

    /// The step's keys: `CheckNow`, or the form's.
    fn on_command(&mut self, command: Option<Command>, k: KeyEvent, ctx: &mut Ctx) -> Said<Self> {
        match command {
            Some(Command::CheckNow) => self.check(ctx),
            _ => {
                let (auto_before, account_before) = (self.auto_interval(), self.form.text(ACCOUNT));
                let edited = self.on_key(k);
                let every = self.auto_interval();
                let turned_on = every.is_some() && every != auto_before;
                let picked = every.is_some() && self.form.text(ACCOUNT) != account_before;
                // Re-checking starts at once: the first check now, each result schedules
                // the next (the hint promises checks while DNS is changed elsewhere).
                if (turned_on || picked) && self.pending.is_none() {
                    return match self.check(ctx) {
                        Outcome::Status(..) => Outcome::Status(
                            Level::Info,
                            "Re-checks start once an account is picked, or a handle and DID typed (then Ctrl-T).".into(),
                        ),
                        started => started,
                    };
                }
                if edited {
                    Outcome::Edited
                } else {
                    Outcome::Nothing
                }
            }
        }
    }

    fn awaits(&self, ticket: Ticket, done: &Done) -> bool {
        match done {
            Done::Accounts(_) => matches!(self.accounts, Accounts::Loading(l) if l == ticket),
            Done::Verified(_) => is_current(&self.pending, ticket),
            Done::Announced(_) => {
                matches!(&self.refresh, Some(Refresh::Pending(job)) if job.is_for(ticket))
            }
            Done::Due => self.recheck == Some(ticket),
        }
    }

    fn on_result(&mut self, done: Done, ctx: &mut Ctx) -> Said<Self> {
        match done {
            Done::Accounts(result) => {
                self.set_accounts(result);
                // A handle the doctor sent us to: picked and checked now that it can be.
                match self.wanted.take() {
                    Some(h) => self.want(&h, ctx),
                    None => Outcome::Nothing,
                }
            }
            Done::Verified(report) => self.verified(report, ctx),
            Done::Announced(r) => self.announced(r),
            Done::Due => {
                self.recheck = None;
                match self.auto_interval().is_some() && self.pending.is_none() {
                    true => self.check(ctx),
                    false => Outcome::Nothing,
                }
            }
        }
    }

    /// Announce the handle that verifies now?
    fn on_answer(&mut self, yes: bool, ctx: &mut Ctx) -> Said<Self> {
        let Some(handle) = self.asking.take() else {
            return Outcome::Nothing;
        };
        if !yes {
            return Outcome::Status(
                Level::Info,
                format!("Not announced. Later: pds-wizard handle refresh {handle}"),
            );
        }
        let job = ctx.jobs.start();
        self.refresh = Some(Refresh::Pending(job));
        Outcome::effect(job.ticket, Job::Announce(handle))
    }

    fn run(job: Job, ctx: &Ctx) -> Task<Done> {
        match job {
            Job::Accounts => {
                let admin = ctx.settings.admin();
                Task::future(async move { Done::Accounts(admin.accounts().await) })
            }
            Job::Verify {
                handle,
                did,
                options,
            } => Task::future(async move {
                Done::Verified(Box::new(
                    crate::identity::verify(&handle, &did, &options).await,
                ))
            }),
            Job::Announce(handle) => {
                let to = ctx.settings.announce(Some(ctx.working));
                Task::future(async move {
                    Done::Announced(Box::new(crate::pds::refresh::refresh(&handle, &to).await))
                })
            }
            Job::Wait(after) => Task::future(async move {
                tokio::time::sleep(after).await;
                Done::Due
            }),
        }
    }
}

impl Drawn for HandleScreen {
    fn draw(&self, frame: &mut Frame, area: Rect, view: &View) {
        let (theme, spin, focused) = (view.theme, view.spinner, view.focused);
        let y = self.form.draw(frame, area, theme, focused, &|_| false);
        let mut lines: Vec<Line> = Vec::new();
        match (&self.pending, &self.report, self.target()) {
            (Some(Pending { since: started, .. }), _, _) => {
                lines.push(Line::from(Span::styled(
                    format!(
                        "{} checking DNS, HTTPS and the DID document… {:.1} s",
                        spinner(spin),
                        started.elapsed().as_secs_f64()
                    ),
                    theme.warn,
                )));
            }
            (None, None, Ok((h, _))) if self.own_domain(&h).is_some() => {
                lines.push(Line::from(Span::styled(
                    format!(
                        "{h} is under the PDS's own domain {}: the PDS answers for it itself (/.well-known/atproto-did, through the wildcard), so no DNS record is needed.",
                        self.own_domain(&h).unwrap_or_default()
                    ),
                    theme.dim,
                )));
                lines.push(Line::from(Span::styled(
                    "Ctrl-T checks now.",
                    theme.key_hint,
                )));
            }
            (None, None, Ok((h, d))) => {
                lines.push(Line::from(Span::styled(
                    format!("Create a TXT record named _atproto.{h} with the value did={d}"),
                    theme.dim,
                )));
                lines.push(Line::from(Span::styled(
                    "Ctrl-T checks now (and shows the name relative to your DNS zone).",
                    theme.key_hint,
                )));
            }
            (None, None, Err(_)) => lines.push(Line::from(Span::styled(
                "Pick an account, or type a handle and its DID.",
                theme.dim,
            ))),
            _ => {}
        }
        match &self.refresh {
            Some(Refresh::Pending(job)) => lines.push(Line::from(Span::styled(
                format!(
                    "{} announcing the handle again… {:.1} s",
                    spinner(spin),
                    job.since.elapsed().as_secs_f64()
                ),
                theme.warn,
            ))),
            Some(Refresh::Done(r)) => {
                lines.extend(r.steps.iter().map(|f| finding_line(f, theme)));
            }
            None => {}
        }
        if let Some(r) = &self.report {
            let rec = &r.record;
            // Under the PDS's own domain no record is made: the PDS answers over HTTPS.
            if self
                .target()
                .ok()
                .and_then(|(h, _)| self.own_domain(&h))
                .is_none()
            {
                lines.push(Line::from(vec![
                    Span::styled("Record ", theme.dim),
                    Span::raw(format!(
                        "TXT  {}  (zone {})  {}",
                        rec.relative_name, rec.zone, rec.value
                    )),
                ]));
            }
            for s in &r.dns.results {
                let who = format!("DNS {}: ", s.server);
                lines.push(Line::from(vec![
                    Span::styled(
                        format!("{} ", level_icon(s.finding.level)),
                        level_style(s.finding.level, theme),
                    ),
                    Span::raw(who),
                    Span::styled(s.finding.what.clone(), level_style(s.finding.level, theme)),
                ]));
            }
            lines.push(prefixed("HTTPS ", &r.https.finding, theme));
            // What else the HTTPS side found (a redirect, a missing wildcard record).
            lines.extend(
                r.https
                    .notes
                    .iter()
                    .filter(|n| n.level >= Level::Warn)
                    .map(|n| prefixed("HTTPS ", n, theme)),
            );
            if let Some(a) = &r.did_document {
                for f in &a.findings {
                    lines.push(prefixed("DID doc ", f, theme));
                }
            }
            if let Some(f) = &r.did_document_error {
                lines.push(prefixed("DID doc ", f, theme));
            }
            let verdict = r.verdict();
            lines.push(Line::from(Span::styled(
                verdict,
                if r.verified { theme.pass } else { theme.fail },
            )));
        }
        draw_below(frame, area, y, lines);
    }

    fn mark(&self, _env: &Env) -> Mark {
        match &self.report {
            Some(r) if r.verified => Mark::Done,
            Some(_) => Mark::Attention,
            None => Mark::Open,
        }
    }

    fn busy(&self) -> bool {
        matches!(self.accounts, Accounts::Loading(_))
            || self.pending.is_some()
            || matches!(self.refresh, Some(Refresh::Pending(_)))
    }
}

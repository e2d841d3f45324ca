//! Handle & DNS: pick an account (or type a handle and DID), see the exact record to
//! create, check every verification method in the background, optionally again every N
//! seconds while you edit DNS elsewhere.

use crate::finding::{Finding, Level};
use crate::identity::{Did, Handle, HandleReport};
use crate::pds::accounts::Account;
use crate::settings::Resolved;
use crate::tui::form::{Field, FieldKind, Form};
use crate::tui::jobs::{Pending, Ticket, Tickets};
use crate::tui::keys::Command;
use crate::tui::msg::Effect;
use crate::tui::outcome::{Ctx, Outcome};
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
    /// The PDS's own handle domains (pds.env as it will be saved): a handle under one needs
    /// no record, the PDS answers for it.
    pub own_domains: Vec<String>,
}

pub enum Refresh {
    Pending(Pending),
    Done(Box<crate::pds::refresh::RefreshReport>),
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

    /// Check the handle now (unless a check is under way).
    pub fn check(&mut self, ctx: &mut Ctx) -> Outcome {
        if self.pending.is_some() {
            return Outcome::Nothing;
        }
        match self.verify(ctx.jobs, ctx.settings) {
            Ok(e) => Outcome::effect(e),
            Err(e) => Outcome::Status(
                Level::Warn,
                format!("Pick an account or type a valid handle and DID first: {e}"),
            ),
        }
    }

    /// The check of the handle and DID on the form, as a job.
    fn verify(&mut self, jobs: &mut Tickets, settings: &Resolved) -> Result<Effect, String> {
        let (handle, did) = self.target()?;
        let job = jobs.start();
        self.pending = Some(job);
        self.report = None;
        Ok(Effect::VerifyHandle {
            ticket: job.ticket,
            handle,
            did,
            options: Box::new(settings.verify_options()),
        })
    }

    /// Pick the account with `handle` and check it again; with the accounts still loading,
    /// show the handle now and do the rest when they come (`wanted`).
    pub fn want(&mut self, handle: &str, jobs: &mut Tickets, settings: &Resolved) -> Vec<Effect> {
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
                return vec![];
            }
            Accounts::Failed(_) => None,
        };
        // The doctor found it failing: a pass from here on is a fix worth announcing.
        self.failed_before = true;
        let Some(a) = found else {
            self.set(HANDLE, handle);
            self.refresh_findings();
            return vec![];
        };
        self.set(ACCOUNT, &a.handle);
        self.set(HANDLE, &a.handle);
        self.set(DID, &a.did);
        self.refresh_findings();
        self.pending = None;
        self.verify(jobs, settings).into_iter().collect()
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

impl crate::tui::steps::Room for HandleScreen {
    /// The step's keys: `CheckNow`, or the form's.
    fn on_command(
        &mut self,
        command: Option<crate::tui::keys::Command>,
        k: crossterm::event::KeyEvent,
        ctx: &mut crate::tui::outcome::Ctx,
    ) -> crate::tui::outcome::Outcome {
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

    fn draw(&self, frame: &mut Frame, area: Rect, view: &crate::tui::steps::View) {
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

    fn busy(&self) -> bool {
        matches!(self.accounts, Accounts::Loading(_))
            || self.pending.is_some()
            || matches!(self.refresh, Some(Refresh::Pending(_)))
    }
}

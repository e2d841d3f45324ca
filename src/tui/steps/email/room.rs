//! The Email step as a room: what its commands do, the jobs it asks for (the test mail,
//! the PDS's pending codes, the PDS's own send) and what it makes of their results, its
//! questions (repair the URL? save what worked? have the PDS mail this account?), and how
//! it is drawn (the misreading of pds.env's URL on top, the form, the test's verdict and
//! the PDS's own send below).

use super::*;
use crate::email::send::SendOptions;
use crate::email::via_pds;
use crate::pds::accounts::Account;
use crate::tui::jobs::{is_current, Task, Ticket};
use crate::tui::keys;
use crate::tui::steps::{ask, Drawn, Env, Mark, Room, View};
use std::path::PathBuf;
use std::time::Duration;

/// What the step asks for in the background.
#[derive(Debug, Clone)]
pub enum Job {
    /// Send a test mail as the PDS's nodemailer will.
    Test {
        settings: Box<SmtpSettings>,
        to: String,
        options: SendOptions,
    },
    /// Read the pending email codes from the PDS's data directory (read-only).
    Codes(PathBuf),
    /// Wait (at most this long) for the PDS to answer, then list its accounts.
    Ready(Duration),
    /// Have the running PDS mail this account (DID) a password-reset code.
    PdsSend(String),
}

#[derive(Debug)]
pub enum Done {
    Tested(Box<SendReport>),
    Codes(Result<Vec<crate::pds::data::PendingCode>, String>),
    /// The PDS answers (after a restart): its accounts, to pick one for it to mail.
    Ready(Result<Vec<Account>, Finding>),
    /// The PDS's own send.
    PdsSent(Box<PdsSend>),
}

/// What the step asks the operator.
#[derive(Debug, Clone)]
pub enum Question {
    /// pds.env's SMTP URL is misread: fill the form with what it meant?
    Repair,
    /// The test mail went through: save the email settings now?
    Save,
    /// Have the PDS mail this account (Tab: the next one with an address)?
    PdsSend {
        accounts: Vec<Account>,
        index: usize,
    },
}

impl EmailScreen {
    /// The lines above the form: pds.env's line as the PDS misreads it, what the PDS will
    /// do, and the repair; once repaired, a line saying it is not saved yet.
    pub fn banner<'a>(&self, theme: &Theme) -> Vec<Line<'a>> {
        let Some(m) = &self.misread else {
            return Vec::new();
        };
        if m.state == MisreadState::Repaired {
            return vec![Line::from(Span::styled(
                "✓ New settings on screen, not saved yet: the URL below is what will be written. ^T tests it as the PDS will.",
                theme.pass,
            ))];
        }
        let mut lines = Vec::new();
        let first = m.findings.first();
        let level = first.map_or(Level::Warn, |f| f.level);
        let style = crate::tui::widgets::level_style(level, theme);
        let head = first.map_or_else(
            || "pds.env's email settings are not what they seem".to_string(),
            |f| f.what.clone(),
        );
        lines.push(Line::from(Span::styled(
            format!(
                "{} In pds.env: {}",
                crate::tui::widgets::level_icon(level),
                scrub(&head)
            ),
            style,
        )));
        lines.push(Line::from(Span::styled(scrub(&m.line), theme.dim)));
        if let Some(f) = first.filter(|f| !f.why.is_empty()) {
            lines.push(Line::from(scrub(&f.why)));
        }
        for f in m.findings.iter().skip(1).take(2) {
            lines.push(finding_line(f, theme));
        }
        match m.offer() {
            Some(r) => {
                lines.push(Line::from(Span::styled(
                    format!("You probably meant {}.", scrub(&r.describe())),
                    theme.pass,
                )));
                // On a line of its own: never cut, however long the rest.
                lines.push(Line::from(Span::styled(
                    "^E: repair it (nothing is saved yet)",
                    theme.key_hint,
                )));
            }
            None => {
                if let Some(f) = first.filter(|f| !f.fix.is_empty()) {
                    lines.push(Line::from(Span::styled(
                        format!("Fix: {}", scrub(&f.fix)),
                        theme.dim,
                    )));
                }
            }
        }
        lines
    }
}

/// Rows `lines` take wrapped at `width` (a word may push a row further: one spare row).
fn wrapped_rows(lines: &[Line], width: u16) -> u16 {
    if lines.is_empty() {
        return 0;
    }
    let w = width.max(1) as usize;
    let rows: usize = lines.iter().map(|l| l.width().max(1).div_ceil(w)).sum();
    rows as u16 + u16::from(lines.iter().any(|l| l.width() > w))
}

impl EmailScreen {
    /// Offer the repair of a misread URL (the step opened with one still to do).
    pub fn offer_repair(&mut self) -> Said<Self> {
        let Some((line, r)) = self
            .misread
            .as_ref()
            .and_then(|m| Some((&m.line, m.offer()?)))
        else {
            return Outcome::Nothing;
        };
        let body = crate::tui::strings::repair_offer(line, &r.describe(), &r.notes());
        ask(
            &mut self.asking,
            Question::Repair,
            " Repair the SMTP URL? ",
            body,
            false,
        )
    }

    /// The question of which account the PDS mails, for the one at `index`.
    fn pds_send_body(accounts: &[Account], index: usize) -> String {
        let Some(a) = accounts.get(index) else {
            return String::new();
        };
        let others = accounts
            .iter()
            .filter(|x| x.email.as_deref().is_some_and(|e| !e.is_empty()))
            .count()
            .saturating_sub(1);
        crate::tui::strings::pds_send_offer(&a.handle, a.email.as_deref().unwrap_or(""), others)
    }

    /// A test mail's verdict (one still awaited).
    fn tested(&mut self, mut report: Box<SendReport>, ctx: &mut Ctx) -> Said<Self> {
        // Tested while the form shows pds.env's URL as the PDS misreads it (the repair
        // put off): the misreading is the cause, not the spelling of the host it made.
        if report.finding.level == Level::Fail {
            if let Some(m) = self
                .misread
                .as_ref()
                .filter(|m| m.state != MisreadState::Repaired)
            {
                let meant = m
                    .repair
                    .as_ref()
                    .map(|r| format!(" (you meant {})", r.settings.host))
                    .unwrap_or_default();
                report.finding.fix = format!(
                    "These are pds.env's settings as the PDS misreads them: the URL is not encoded, so the host and login tested are not the ones you wrote{meant}. {} repairs it (or: pds-wizard email repair); then test again.",
                    keys::label(keys::Screen::Email, Command::Repair)
                );
            }
        }
        let said = Outcome::Status(report.finding.level, report.finding.what.clone());
        let passed = report.finding.level == Level::Pass;
        self.test = TestState::Done(report);
        // Settings that work are worth keeping: offer to save them at once.
        if passed
            && [URL_KEY, FROM_KEY]
                .iter()
                .any(|k| ctx.edits.contains_key(*k))
        {
            return said.and(ask(
                &mut self.asking,
                Question::Save,
                " Save the email settings? ",
                crate::tui::strings::SAVE_EMAIL_OFFER.into(),
                false,
            ));
        }
        said
    }

    /// The PDS answers (or not): then pick the account it mails.
    fn ready(&mut self, r: Result<Vec<Account>, Finding>) -> Said<Self> {
        let accounts = match r {
            Ok(accounts) => accounts,
            Err(finding) => {
                let said = Outcome::Status(finding.level, finding.what.clone());
                self.pds_test = PdsTest::Done(Box::new(PdsSend {
                    outcome: via_pds::Outcome::Unreachable,
                    finding,
                    account: None,
                    log: Vec::new(),
                    elapsed_ms: 0,
                    settings: via_pds::Settings::NotCompared,
                }));
                return said;
            }
        };
        self.pds_test = PdsTest::Idle;
        let said = Outcome::Status(Level::Pass, "The PDS answers.".into());
        match via_pds::pick(&accounts, "", &self.recipient()) {
            Some(a) => {
                let index = accounts.iter().position(|x| x.did == a.did).unwrap_or(0);
                let body = Self::pds_send_body(&accounts, index);
                said.and(ask(
                    &mut self.asking,
                    Question::PdsSend { accounts, index },
                    " Have the PDS send a mail? ",
                    body,
                    false,
                ))
            }
            None => {
                self.pds_test = PdsTest::Done(Box::new(PdsSend {
                    outcome: via_pds::Outcome::NoAccount,
                    finding: Finding::warn("no account on this PDS has an email address, so the PDS has no one to mail")
                        .fix("Create the first account, then Ctrl-P here."),
                    account: None,
                    log: Vec::new(),
                    elapsed_ms: 0,
                    settings: via_pds::Settings::NotCompared,
                }));
                said
            }
        }
    }
}

impl Room for EmailScreen {
    type Job = Job;
    type Done = Done;

    /// pds.env's URL misread, its repair not offered yet: offered now.
    fn on_open(&mut self, _ctx: &mut Ctx) -> Said<Self> {
        match &self.misread {
            Some(m) if m.state == MisreadState::Open => self.offer_repair(),
            _ => Outcome::Nothing,
        }
    }

    /// The step's keys: the test mail, its transcript, the PDS's pending codes, or the form's.
    fn on_command(&mut self, command: Option<Command>, k: KeyEvent, ctx: &mut Ctx) -> Said<Self> {
        match command {
            Some(Command::TestMail) => self.send_test(ctx),
            Some(Command::Repair) => self.apply_repair(),
            Some(Command::PdsMail) => {
                if matches!(self.pds_test, PdsTest::Waiting(_) | PdsTest::Sending(..)) {
                    return Outcome::Nothing;
                }
                let Outcome::Effects(jobs) = self.ask_pds(ctx, ctx.settings.flags.timeout) else {
                    return Outcome::Nothing;
                };
                Outcome::Working(crate::tui::strings::ASKING_PDS.into(), jobs)
            }
            Some(Command::Transcript) => match self.test_details() {
                Some(lines) => Outcome::Open(Modal::Transcript(lines)),
                None => Outcome::Nothing,
            },
            Some(Command::Codes) => {
                let dir = ctx
                    .data_dir
                    .cloned()
                    .unwrap_or_else(|| crate::pds::data::data_dir(ctx.working));
                let job = ctx.jobs.start();
                self.codes = Some(job);
                Outcome::Working(
                    crate::tui::strings::READING_CODES.into(),
                    vec![(job.ticket, Job::Codes(dir))],
                )
            }
            _ if self.on_key(k) => Outcome::Edited,
            _ => Outcome::Nothing,
        }
    }

    fn awaits(&self, ticket: Ticket, done: &Done) -> bool {
        match done {
            Done::Tested(_) => {
                matches!(&self.test, TestState::Pending { job, .. } if job.is_for(ticket))
            }
            Done::Codes(_) => is_current(&self.codes, ticket),
            Done::Ready(_) => matches!(&self.pds_test, PdsTest::Waiting(job) if job.is_for(ticket)),
            Done::PdsSent(_) => {
                matches!(&self.pds_test, PdsTest::Sending(job, _) if job.is_for(ticket))
            }
        }
    }

    fn on_result(&mut self, done: Done, ctx: &mut Ctx) -> Said<Self> {
        match done {
            Done::Tested(report) => self.tested(report, ctx),
            Done::Codes(r) => {
                self.codes = None;
                Outcome::Unsay.and(Outcome::Open(Modal::Codes(
                    crate::tui::strings::pending_codes(r),
                )))
            }
            Done::Ready(r) => self.ready(r),
            Done::PdsSent(r) => {
                let said = Outcome::Status(r.finding.level, r.finding.what.clone());
                if r.outcome == via_pds::Outcome::Sent {
                    self.verify_after_restart = false;
                }
                self.pds_test = PdsTest::Done(r);
                said
            }
        }
    }

    /// Tab (or ↓) on "have the PDS mail this account?": the next account with an address.
    fn on_question_key(&mut self, k: KeyEvent) -> Option<String> {
        let Some(Question::PdsSend { accounts, index }) = self.asking.as_mut() else {
            return None;
        };
        if !matches!(k.code, KeyCode::Tab | KeyCode::Down) {
            return None;
        }
        *index = (1..=accounts.len())
            .map(|i| (*index + i) % accounts.len())
            .find(|&i| accounts[i].email.as_deref().is_some_and(|e| !e.is_empty()))
            .unwrap_or(*index);
        Some(Self::pds_send_body(accounts, *index))
    }

    fn on_answer(&mut self, yes: bool, ctx: &mut Ctx) -> Said<Self> {
        let Some(q) = self.asking.take() else {
            return Outcome::Nothing;
        };
        match (q, yes) {
            (Question::Repair, true) => self.apply_repair(),
            (Question::Repair, false) => {
                if let Some(m) = self.misread.as_mut() {
                    m.state = MisreadState::Declined;
                }
                Outcome::Status(Level::Info, "Not repaired. ^E repairs it.".into())
            }
            (Question::Save, true) => Outcome::Save,
            (Question::Save, false) => Outcome::Status(
                Level::Info,
                "Not saved yet: Ctrl-S saves (Review & save shows the change).".into(),
            ),
            (Question::PdsSend { accounts, index }, true) => {
                let Some(a) = accounts.get(index) else {
                    return Outcome::Nothing;
                };
                let job = ctx.jobs.start();
                self.pds_test = PdsTest::Sending(job, a.handle.clone());
                Outcome::effect(job.ticket, Job::PdsSend(a.did.clone()))
            }
            (Question::PdsSend { .. }, false) => {
                self.pds_test = PdsTest::Idle;
                Outcome::Status(
                    Level::Info,
                    "Not sent. Ctrl-P in the Email step has the PDS send when you are ready."
                        .into(),
                )
            }
        }
    }

    fn run(job: Job, ctx: &Ctx) -> Task<Done> {
        match job {
            Job::Test {
                settings,
                to,
                options,
            } => Task::future(async move {
                Done::Tested(Box::new(
                    crate::email::send::test_send(&settings, &to, &options).await,
                ))
            }),
            Job::Codes(dir) => Task::blocking(move || {
                Done::Codes(
                    crate::pds::data::pending_codes(&dir).map_err(|e| format!("{e} — {}", e.fix())),
                )
            }),
            Job::Ready(wait) => {
                let (http, admin) = (ctx.settings.http.clone(), ctx.settings.admin());
                Task::future(async move {
                    let pds_url = admin.pds_url.clone();
                    if via_pds::wait_for_pds(&pds_url, &http, wait).await {
                        return Done::Ready(admin.accounts().await);
                    }
                    Done::Ready(Err(Finding::fail(format!(
                        "the PDS did not answer at {pds_url} within {} s",
                        wait.as_secs()
                    ))
                    .why("It may still be starting, or it refused to start with the settings in pds.env.")
                    .fix("Look at its log (sudo journalctl -u pds -n 50, or docker logs pds), then Ctrl-P to try again.")))
                })
            }
            Job::PdsSend(did) => {
                let settings = ctx.settings;
                let (http, flags) = (settings.http.clone(), settings.flags.clone());
                let (pds_url, password) =
                    (settings.local_url.clone(), settings.admin_password.clone());
                let env_file = flags.env_file.clone();
                let restart = crate::pds::restart_hint(&flags);
                Task::future(async move {
                    // Finding the log runs systemctl and docker: off the runtime's workers.
                    let log =
                        tokio::task::spawn_blocking(move || crate::pds::LogSource::find(&flags))
                            .await
                            .ok()
                            .flatten();
                    let r =
                        via_pds::send_via_pds(&pds_url, &password, &did, "", &http, log.as_ref())
                            .await;
                    // Against pds.env as saved: what the PDS reads when it next starts.
                    let sent = r.clone();
                    let r = tokio::task::spawn_blocking(move || {
                        via_pds::against_file_here(r, &env_file, &pds_url, &restart)
                    })
                    .await
                    .unwrap_or(sent);
                    Done::PdsSent(Box::new(r))
                })
            }
        }
    }
}

impl Drawn for EmailScreen {
    fn draw(&self, frame: &mut Frame, area: Rect, view: &View) {
        let (theme, spin, focused) = (view.theme, view.spinner, view.focused);
        let edited = view.edits.contains_key(crate::email::URL_KEY)
            || view.edits.contains_key(crate::email::FROM_KEY);
        // What the PDS misreads comes first, above the form.
        let banner = self.banner(theme);
        let rows = wrapped_rows(&banner, area.width).min(area.height / 2);
        if rows > 0 {
            frame.render_widget(
                Paragraph::new(banner).wrap(Wrap { trim: false }),
                Rect::new(area.x, area.y, area.width, rows),
            );
        }
        let area = Rect::new(
            area.x,
            area.y + rows,
            area.width,
            area.height.saturating_sub(rows),
        );
        let y = self.form.draw(frame, area, theme, focused, &|k| {
            edited && k != TEST_TO && k != PRESET
        });
        let mut y = y;
        // The URL whole, on lines of its own (a URL cut at the edge would mislead).
        if let (Ok(s), false) = (self.settings(), self.is_blank()) {
            if let Ok(url) = email::compose(&s) {
                let text = format!("URL {}", mask_url(&url));
                let rows = (text.chars().count() as u16).div_ceil(area.width.max(1));
                let rows = rows.min(area.bottom().saturating_sub(y));
                let line = Line::from(vec![
                    Span::styled("URL ", theme.dim),
                    Span::raw(mask_url(&url)),
                ]);
                frame.render_widget(
                    Paragraph::new(line).wrap(Wrap { trim: false }),
                    Rect::new(area.x, y, area.width, rows),
                );
                y += rows;
            }
        }
        let mut lines: Vec<Line> = Vec::new();
        // With nothing typed the form itself says what is needed (the "not set" finding
        // would send the operator to the step they are on).
        for f in self
            .url_findings
            .iter()
            .filter(|f| f.level >= Level::Warn && !self.is_blank())
            .take(1)
        {
            lines.push(finding_line(f, theme));
        }
        match &self.test {
            TestState::Idle => lines.push(Line::from(Span::styled(
                "Ctrl-T sends a test mail to the test recipient.",
                theme.key_hint,
            ))),
            TestState::Pending {
                job: Pending { since: started, .. },
                to,
            } => {
                lines.push(Line::from(Span::styled(
                    format!(
                        "{} sending a test mail to {to}… {:.1} s (keys still work)",
                        spinner(spin),
                        started.elapsed().as_secs_f64()
                    ),
                    theme.warn,
                )));
            }
            TestState::Done(r) => {
                lines.push(finding_line(&r.finding, theme));
                lines.push(Line::from(Span::styled(
                    if r.finding.level == Level::Pass {
                        "Ctrl-L: the SMTP conversation. Ctrl-T sends again. Ctrl-P: the running PDS sends one."
                    } else {
                        "Ctrl-L: why, how to fix it, and the SMTP conversation. Ctrl-T sends again."
                    },
                    theme.key_hint,
                )));
                lines.extend(
                    finding_block(&r.finding, &r.notes, theme)
                        .into_iter()
                        .skip(1),
                );
            }
        }
        // The PDS's own send comes first once there is one: it is the proof that counts.
        let mut pds_lines: Vec<Line> = Vec::new();
        match &self.pds_test {
            PdsTest::Idle => {}
            PdsTest::Waiting(job) => pds_lines.push(Line::from(Span::styled(
                format!(
                    "{} waiting for the PDS to answer… {:.1} s",
                    spinner(spin),
                    job.since.elapsed().as_secs_f64()
                ),
                theme.warn,
            ))),
            PdsTest::Sending(job, handle) => pds_lines.push(Line::from(Span::styled(
                format!(
                    "{} the PDS is mailing {handle}… {:.1} s",
                    spinner(spin),
                    job.since.elapsed().as_secs_f64()
                ),
                theme.warn,
            ))),
            PdsTest::Done(r) => {
                pds_lines.extend(finding_block(&r.finding, &[], theme));
                pds_lines.extend(
                    r.log.iter().map(|l| {
                        Line::from(Span::styled(format!("  log: {}", scrub(l)), theme.dim))
                    }),
                );
            }
        }
        if !pds_lines.is_empty() {
            pds_lines.extend(lines.into_iter().take(1));
            lines = pds_lines;
        }
        draw_below(frame, area, y, lines);
    }

    fn mark(&self, env: &Env) -> Mark {
        let edited = (env.edited)(URL_KEY) || (env.edited)(FROM_KEY);
        // pds.env as it stands makes the PDS fail, and nothing on screen replaces it.
        let misread = self.misread.as_ref().is_some_and(|m| m.fails()) && !edited;
        if self.worst() == Level::Fail || misread {
            Mark::Attention
        } else if edited {
            Mark::Edited
        } else if env.base.get(URL_KEY).is_some_and(|u| !u.is_empty()) {
            Mark::Done
        } else {
            Mark::Open
        }
    }

    fn busy(&self) -> bool {
        matches!(self.test, TestState::Pending { .. })
            || self.codes.is_some()
            || matches!(self.pds_test, PdsTest::Waiting(_) | PdsTest::Sending(..))
    }
}

//! Doctor: every check appears at once as pending and fills in as it finishes. The selected
//! check shows its findings with cause and fix; Enter jumps to the step that fixes it.

use crate::doctor::{CheckId, CheckResult, CHECKS};
use crate::finding::Level;
use crate::tui::jobs::{is_current, Pending, Task, Ticket};
use crate::tui::keys::{self, Command};
use crate::tui::modal::Modal;
use crate::tui::outcome::{Ctx, Outcome};
use crate::tui::steps::{Drawn, Env, Mark, Room, Said, View};
use crate::tui::widgets::{finding_block, level_icon, level_style, spinner};
use crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;
use std::cell::Cell;
use std::time::Instant;

/// What the step asks for in the background.
#[derive(Debug, Clone)]
pub enum Job {
    /// Run these checks concurrently (on pds.env as it will be saved); each result comes
    /// back as it finishes, then the run's end.
    Run { checks: Vec<CheckId>, unsaved: bool },
    /// Run the crawlers check, asking each relay to crawl this PDS (confirmed).
    Crawl,
    /// Write the report of these results beside pds.env.
    Report {
        results: Vec<CheckResult>,
        unsaved: bool,
    },
}

#[derive(Debug)]
pub enum Done {
    /// One check finished.
    Checked(Box<CheckResult>),
    /// Every check of a run finished.
    Ran,
    /// The report, written (where) or not (why).
    Reported(Result<std::path::PathBuf, String>),
}

#[derive(Debug, Clone)]
pub enum RowState {
    Idle,
    /// Waiting for the result of this request.
    Running(Pending),
    Done(Box<CheckResult>),
}

pub struct DoctorScreen {
    /// One row per check of the catalogue, in its order.
    pub rows: Vec<RowState>,
    pub selected: usize,
    /// When the current run started (None: never run).
    pub started: Option<Instant>,
    /// The current full run.
    pub run: Option<Pending>,
    /// The last run checked answers not saved yet (pds.env as it will be saved).
    pub unsaved: bool,
    /// The report being written (`w`).
    pub report: Option<Pending>,
    /// Asking whether the relays should be asked to crawl.
    pub asking: bool,
    /// How far the chosen check's findings are scrolled (PgDn / PgUp), in rows.
    pub scroll: u16,
    /// What the last frame could show of them: a page, and the furthest scroll (drawing
    /// measures; the keys that come next use it).
    page: Cell<(u16, u16)>,
    /// The rows in the order shown (indexes into CHECKS): the catalogue's, until a full
    /// run ends; then its failures first, then its warnings, so they are in view at 80x24.
    /// Fixed until the next full run ends: a re-run of one check does not move rows.
    pub order: Vec<usize>,
    /// The full run `order` was made for (its start).
    ordered_for: Option<Instant>,
}

impl Default for DoctorScreen {
    fn default() -> Self {
        Self::new()
    }
}

/// "45 s", "3 min", "2 h".
fn age_words(secs: u64) -> String {
    match secs {
        0..=89 => format!("{secs} s"),
        90..=5399 => format!("{} min", (secs + 30) / 60),
        _ => format!("{} h", (secs + 1800) / 3600),
    }
}

impl DoctorScreen {
    pub fn new() -> DoctorScreen {
        DoctorScreen {
            rows: vec![RowState::Idle; CHECKS.len()],
            selected: 0,
            started: None,
            run: None,
            unsaved: false,
            report: None,
            asking: false,
            scroll: 0,
            page: Cell::new((1, 0)),
            order: (0..CHECKS.len()).collect(),
            ordered_for: None,
        }
    }

    /// Mark `checks` as running under `job`; a full run also becomes the current run.
    pub fn start(&mut self, checks: &[CheckId], job: Pending) {
        if checks.len() == CHECKS.len() {
            self.started = Some(job.since);
            self.run = Some(job);
        }
        for (i, c) in CHECKS.iter().enumerate() {
            if checks.contains(&c.id) {
                self.rows[i] = RowState::Running(job);
            }
        }
    }

    /// Start `checks` as one job, on pds.env as it will be saved (its title says so when
    /// that differs from the file).
    pub fn run_checks(&mut self, checks: Vec<CheckId>, ctx: &mut Ctx) -> Said<Self> {
        let job = ctx.jobs.start();
        self.start(&checks, job);
        self.unsaved = ctx.working.is_modified();
        let unsaved = self.unsaved;
        Outcome::effect(job.ticket, Job::Run { checks, unsaved })
    }

    /// Where the chosen check is in the order shown.
    fn position(&self) -> usize {
        self.order
            .iter()
            .position(|&i| i == self.selected)
            .unwrap_or(0)
    }

    /// Once a full run has ended: its failures first, then its warnings, the rest in the
    /// catalogue's order (checks not run, which name their cause, stay with the rest).
    fn reorder(&mut self) {
        if self.started.is_none() || self.ordered_for == self.started || !self.all_done() {
            return;
        }
        let rank = |i: &usize| match self.result(*i) {
            Some(r) if r.not_checked.is_none() && r.level == Level::Fail => 0,
            Some(r) if r.not_checked.is_none() && r.level == Level::Warn => 1,
            _ => 2,
        };
        let mut order: Vec<usize> = (0..CHECKS.len()).collect();
        order.sort_by_key(rank);
        self.order = order;
        self.ordered_for = self.started;
    }

    /// Choose check `i`: its findings show from their top.
    pub fn choose(&mut self, i: usize) {
        self.selected = i;
        self.scroll = 0;
    }

    pub fn running(&self) -> bool {
        self.rows.iter().any(|r| matches!(r, RowState::Running(_)))
    }

    /// Fold in a result (one awaited: its row runs under the ticket it came with).
    fn finish(&mut self, result: CheckResult) {
        if let Some(i) = CHECKS.iter().position(|c| c.id == result.id) {
            self.rows[i] = RowState::Done(Box::new(result));
            // New findings for the chosen check: read from their top.
            if i == self.selected {
                self.scroll = 0;
            }
        }
        self.reorder();
    }

    pub fn result(&self, i: usize) -> Option<&CheckResult> {
        match self.rows.get(i) {
            Some(RowState::Done(r)) => Some(r),
            _ => None,
        }
    }

    /// The worst finished result (Info when nothing has finished).
    pub fn worst(&self) -> Level {
        (0..self.rows.len())
            .filter_map(|i| self.result(i).map(|r| r.level))
            .max()
            .unwrap_or(Level::Info)
    }

    pub fn all_done(&self) -> bool {
        self.rows.iter().all(|r| matches!(r, RowState::Done(_)))
    }
}

/// Every finding of `r` in full, worst first, each error with its whole chain: the text of
/// the "details" pop-up (secrets pass the one masking rule).
pub fn details_text(r: &CheckResult) -> String {
    let mut findings: Vec<_> = r.findings.iter().collect();
    findings.sort_by_key(|f| std::cmp::Reverse(f.level));
    let mut out = String::new();
    for f in findings {
        if !out.is_empty() {
            out.push('\n');
        }
        let subject = f
            .subject
            .as_deref()
            .filter(|s| !f.what.contains(*s))
            .map(|s| format!("{s}: "))
            .unwrap_or_default();
        out.push_str(&format!("{} {subject}{}\n", level_icon(f.level), f.what));
        let detail = f.detail.as_deref().map_or("", String::as_str);
        for (label, text) in [("Why", f.why.as_str()), ("Fix", &f.fix), ("Error", detail)] {
            if !text.is_empty() {
                out.push_str(&format!("  {label}: {text}\n"));
            }
        }
    }
    crate::secret::scrub(&out)
}

impl Room for DoctorScreen {
    type Job = Job;
    type Done = Done;

    /// Every check run, the first time it is opened.
    fn on_open(&mut self, ctx: &mut Ctx) -> Said<Self> {
        match self.started.is_none() && !self.running() {
            true => self.run_checks(CHECKS.iter().map(|c| c.id).collect(), ctx),
            false => Outcome::Nothing,
        }
    }

    /// The doctor's keys.
    fn on_command(&mut self, command: Option<Command>, _k: KeyEvent, ctx: &mut Ctx) -> Said<Self> {
        let n = CHECKS.len();
        match command {
            Some(Command::CheckUp) => self.choose(self.order[(self.position() + n - 1) % n]),
            Some(Command::CheckDown) => self.choose(self.order[(self.position() + 1) % n]),
            Some(Command::DetailsDown) => {
                let (page, max) = self.page.get();
                self.scroll = (self.scroll + page.max(1)).min(max);
            }
            Some(Command::DetailsUp) => {
                self.scroll = self.scroll.saturating_sub(self.page.get().0.max(1))
            }
            Some(Command::Details) => {
                if let Some(r) = self.result(self.selected) {
                    return Outcome::Open(Modal::Details {
                        title: CHECKS[self.selected].title.to_string(),
                        body: details_text(r),
                        scroll: 0,
                    });
                }
            }
            Some(Command::RerunAll) if !self.running() => {
                let all = CHECKS.iter().map(|c| c.id).collect();
                return self.run_checks(all, ctx);
            }
            Some(Command::RerunOne)
                if !matches!(self.rows[self.selected], RowState::Running(_)) =>
            {
                let one = vec![CHECKS[self.selected].id];
                return self.run_checks(one, ctx);
            }
            Some(Command::GoFix) => {
                // Not checked: Enter goes to the check that says why (the root cause).
                if let Some(root) = self.result(self.selected).and_then(|r| r.not_checked) {
                    if let Some(i) = CHECKS.iter().position(|c| c.id == root) {
                        self.choose(i);
                    }
                    return Outcome::Nothing;
                }
                let Some(r) = self
                    .result(self.selected)
                    .filter(|r| r.level >= Level::Warn)
                else {
                    return Outcome::Nothing;
                };
                // The worst finding says which field or account, and where it is fixed.
                let (subject, fix) = (r.subject(), r.target());
                return match fix {
                    Some(target) => {
                        // The step opens saying what the doctor found, and its fix.
                        let said = r.findings.iter().find(|f| f.level == r.level).map(|f| {
                            let mut s = match &f.subject {
                                Some(k) if !f.what.contains(k.as_str()) => {
                                    format!("Doctor: {k}: {}", f.what)
                                }
                                _ => format!("Doctor: {}", f.what),
                            };
                            if !f.fix.is_empty() {
                                s.push_str(&format!(" — Fix: {}", f.fix));
                            }
                            (r.level, s)
                        });
                        Outcome::GoTo {
                            target,
                            subject,
                            said,
                        }
                    }
                    // No step edits it: the fix is a command to copy, said where it is seen.
                    None => {
                        let fix = r
                            .findings
                            .iter()
                            .find(|f| f.level == r.level && !f.fix.is_empty())
                            .map(|f| f.fix.clone())
                            .unwrap_or_default();
                        Outcome::Status(
                            Level::Info,
                            if fix.is_empty() {
                                "No step of the wizard fixes this; its details say what to do."
                                    .into()
                            } else {
                                format!("No step of the wizard fixes this. Fix: {fix}")
                            },
                        )
                    }
                };
            }
            Some(Command::WriteReport) if self.started.is_some() && !self.running() => {
                let job = ctx.jobs.start();
                self.report = Some(job);
                let results = (0..self.rows.len())
                    .filter_map(|i| self.result(i).cloned())
                    .collect();
                let unsaved = self.unsaved;
                return Outcome::effect(job.ticket, Job::Report { results, unsaved });
            }
            Some(Command::WriteReport) => {
                return Outcome::Status(
                    Level::Info,
                    "The report is written once every check has finished.".into(),
                )
            }
            Some(Command::RequestCrawl) if !self.running() => {
                self.asking = true;
                return Outcome::Ask {
                    title: " Ask the relays to crawl? ".into(),
                    body: crate::tui::strings::REQUEST_CRAWL.into(),
                    wide: false,
                };
            }
            _ => {}
        }
        Outcome::Nothing
    }

    fn awaits(&self, ticket: Ticket, done: &Done) -> bool {
        match done {
            // Its check's row runs under it (a full run, or that check run again); a
            // result of a run since overtaken on that row is not.
            Done::Checked(r) => CHECKS
                .iter()
                .position(|c| c.id == r.id)
                .is_some_and(|i| matches!(self.rows[i], RowState::Running(p) if p.is_for(ticket))),
            Done::Ran => is_current(&self.run, ticket),
            Done::Reported(_) => is_current(&self.report, ticket),
        }
    }

    fn on_result(&mut self, done: Done, _ctx: &mut Ctx) -> Said<Self> {
        match done {
            Done::Checked(r) => {
                self.finish(*r);
                Outcome::Nothing
            }
            Done::Ran => {
                let w = self.worst();
                Outcome::Status(
                    w,
                    match w {
                        Level::Fail => {
                            "The doctor found problems: pick one to see its cause and fix."
                        }
                        Level::Warn => "The doctor found warnings only.",
                        _ => "Every doctor check passed.",
                    }
                    .into(),
                )
            }
            Done::Reported(written) => {
                self.report = None;
                match written {
                    Ok(path) => Outcome::Status(
                        Level::Pass,
                        format!(
                            "Report written to {} (secrets masked): paste it into a support thread.",
                            path.display()
                        ),
                    ),
                    Err(e) => Outcome::Status(Level::Fail, e),
                }
            }
        }
    }

    /// Ask the relays to crawl?
    fn on_answer(&mut self, yes: bool, ctx: &mut Ctx) -> Said<Self> {
        if !std::mem::take(&mut self.asking) || !yes {
            return Outcome::Nothing;
        }
        let job = ctx.jobs.start();
        self.start(&[CheckId::Crawlers], job);
        Outcome::effect(job.ticket, Job::Crawl)
    }

    fn run(job: Job, ctx: &Ctx) -> Task<Done> {
        use std::sync::Arc;
        // The doctor checks pds.env as it will be saved: read afresh, with the answers on
        // screen applied when there are any.
        let inputs = |unsaved: bool| {
            let inputs = crate::doctor::Inputs::load(&ctx.settings.flags, vec![]);
            match unsaved {
                true => inputs.with_doc(ctx.working.clone()),
                false => inputs,
            }
        };
        match job {
            Job::Run { checks, unsaved } => {
                let inputs = Arc::new(inputs(unsaved));
                let checks: Vec<&'static crate::doctor::Check> =
                    checks.iter().map(|id| id.check()).collect();
                Task::Stream(Box::new(move |each| {
                    Box::pin(async move {
                        let each = &each;
                        futures::future::join_all(checks.into_iter().map(|c| {
                            let inputs = inputs.clone();
                            async move {
                                each(Done::Checked(Box::new(
                                    crate::doctor::run_one(c, inputs).await,
                                )))
                            }
                        }))
                        .await;
                        Done::Ran
                    })
                }))
            }
            Job::Crawl => {
                let mut inputs = crate::doctor::Inputs::load(&ctx.settings.flags, vec![]);
                inputs.request_crawl = true;
                let check = CheckId::Crawlers.check();
                Task::future(async move {
                    Done::Checked(Box::new(
                        crate::doctor::run_one(check, Arc::new(inputs)).await,
                    ))
                })
            }
            Job::Report { results, unsaved } => {
                // Made as the run was: the answers on screen when it checked those.
                let inputs = inputs(unsaved);
                let path = crate::doctor::report::default_path(&ctx.settings.flags.env_file);
                Task::future(async move {
                    // The run was concurrent: its wall time is its slowest check's.
                    let elapsed = results.iter().map(|r| r.elapsed_ms).max().unwrap_or(0);
                    let text =
                        crate::doctor::report::for_inputs(&results, &inputs, unsaved, elapsed)
                            .await;
                    Done::Reported(crate::doctor::report::write(&path, &text))
                })
            }
        }
    }
}

impl Drawn for DoctorScreen {
    fn draw(&self, frame: &mut Frame, area: Rect, view: &View) {
        let (theme, spin, focused) = (view.theme, view.spinner, view.focused);
        let summary = match (self.started, self.running()) {
            (None, false) => format!(
                "Not run yet: {} runs every check.",
                keys::label(keys::Screen::Doctor, keys::Command::RerunAll)
            ),
            (Some(t), true) => format!(
                "{} running… {:.1} s",
                spinner(spin),
                t.elapsed().as_secs_f64()
            ),
            (started, _) => {
                let tally = crate::doctor::tally(
                    &(0..self.rows.len())
                        .filter_map(|i| self.result(i))
                        .collect::<Vec<_>>(),
                );
                // Results seen again later (the step reopened) say how old they are.
                match started.map(|t| t.elapsed().as_secs()) {
                    Some(age) if age >= 30 => format!(
                        "{tally} · as of {} ago: {} checks again",
                        age_words(age),
                        keys::label(keys::Screen::Doctor, keys::Command::RerunAll)
                    ),
                    _ => tally,
                }
            }
        };
        // The root causes, each once (checks that could not run name theirs).
        let results: Vec<&CheckResult> = (0..self.rows.len())
            .filter_map(|i| self.result(i))
            .collect();
        // At most two rows of them: the chosen check's fix needs the room more.
        let most = usize::from(area.width).saturating_mul(2).saturating_sub(2);
        let problems_line = (!self.running())
            .then(|| crate::doctor::problems(&results))
            .flatten()
            .map(|p| {
                if p.chars().count() > most {
                    let cut: String = p.chars().take(most.saturating_sub(1)).collect();
                    format!("{cut}…")
                } else {
                    p
                }
            })
            .map(|p| Line::from(Span::styled(p, theme.fail)));
        // What was checked: the file on disk, or the answers on screen (not saved yet).
        let unsaved_line = (self.unsaved && self.started.is_some()).then(|| {
            Line::from(Span::styled(
                "Checked with your unsaved answers: pds.env as it will be saved.",
                theme.warn,
            ))
        });
        // The chosen check's findings, worst first. They scroll (PgDn / PgUp); the worst
        // one's fix and where Enter leads stay pinned at the bottom, whatever the size.
        let mut details: Vec<Line> = Vec::new();
        let mut fix_line: Option<Line> = None;
        // Where the pinned fix's own block ends among the details (lines).
        let mut fix_block_end = 0;
        let mut hints: Vec<String> = Vec::new();
        if let Some(r) = self.result(self.selected) {
            let mut findings: Vec<_> = r.findings.iter().collect();
            findings.sort_by_key(|f| std::cmp::Reverse(f.level));
            let worst_fix = findings
                .iter()
                .position(|f| f.level == r.level && f.level >= Level::Warn && !f.fix.is_empty());
            for (n, f) in findings.iter().enumerate() {
                // Its subject (a handle, a key) leads, as on the command line.
                let named = match &f.subject {
                    Some(s) if !f.what.contains(s.as_str()) => {
                        let mut named = (*f).clone();
                        named.what = format!("{s}: {}", f.what);
                        std::borrow::Cow::Owned(named)
                    }
                    _ => std::borrow::Cow::Borrowed(*f),
                };
                details.extend(finding_block(&named, &[], theme));
                if Some(n) == worst_fix {
                    fix_block_end = details.len();
                }
            }
            fix_line = worst_fix.map(|n| findings[n]).map(|f| {
                Line::from(Span::styled(
                    format!("Fix: {}", crate::secret::scrub(&f.fix)),
                    theme.key_hint,
                ))
            });
            if let (Some(target), true) = (r.fix, r.level >= Level::Warn) {
                let subject = r
                    .findings
                    .iter()
                    .filter(|f| f.level == r.level)
                    .find_map(|f| f.subject.as_deref());
                hints.push(format!(
                    "Enter: fix it in {}",
                    crate::tui::route::landing(target, subject).title()
                ));
            }
            if r.findings.iter().any(|f| f.detail.is_some()) {
                hints.push("d: details".into());
            }
        }
        let rows_of = |lines: &[Line]| -> u16 {
            let n = Paragraph::new(lines.to_vec())
                .wrap(Wrap { trim: false })
                .line_count(area.width.max(1));
            u16::try_from(n).unwrap_or(u16::MAX)
        };
        let details_height = rows_of(&details);
        let n = CHECKS.len();
        // Summary, then the problems and what was checked.
        let mut head = vec![Line::from(Span::styled(summary, theme.dim))];
        head.extend(problems_line);
        head.extend(unsaved_line);
        let head_height = rows_of(&head);
        // The hint line at the bottom, when there is something to say (with room for the
        // "PgDn: more" that may join it).
        let hint_height = if hints.is_empty() && fix_line.is_none() {
            0
        } else {
            let longest = hints.join(" · ").chars().count() + " · PgUp/PgDn: more".len();
            u16::try_from(longest.div_ceil(usize::from(area.width.max(1)))).unwrap_or(1)
        };
        // The list, a blank line, and the findings share the rest; the list keeps at least
        // 5 rows and gives up the others before the findings are cut.
        let rest = area.height.saturating_sub(head_height + hint_height);
        let list_rows = usize::from(rest.saturating_sub(1 + details_height)).clamp(5.min(n), n);
        let region = rest.saturating_sub(list_rows as u16 + 1);
        let overflow = details_height > region;
        // Cut: the fix is pinned above the hint line.
        // Pinned only when its own line is out of view (scrolled past, or below).
        let fix_end = rows_of(&details[..fix_block_end]);
        let in_view = self.scroll < fix_end && fix_end <= self.scroll + region;
        let pinned = match (&fix_line, overflow && !in_view) {
            (Some(l), true) => rows_of(std::slice::from_ref(l)).min(region.saturating_sub(1)),
            _ => 0,
        };
        let page = region.saturating_sub(pinned).max(1);
        let max_scroll = details_height.saturating_sub(page);
        self.page.set((page, max_scroll));
        let scroll = self.scroll.min(max_scroll);
        if overflow {
            let mut more = Vec::new();
            if scroll > 0 {
                more.push("PgUp");
            }
            if scroll < max_scroll {
                more.push("PgDn");
            }
            if !more.is_empty() {
                hints.push(format!("{}: more", more.join("/")));
            }
        }

        let first = self
            .position()
            .saturating_sub(list_rows / 2)
            .min(n - list_rows);
        if list_rows < n {
            if let Some(Line { spans, .. }) = head.first_mut() {
                spans.push(Span::styled(
                    format!(" · checks {}–{} of {n}", first + 1, first + list_rows),
                    theme.dim,
                ));
            }
        }
        let mut lines = head;
        for &i in self.order.iter().skip(first).take(list_rows) {
            let (c, row) = (&CHECKS[i], &self.rows[i]);
            let (icon, style, time) = match row {
                RowState::Idle => ("·".to_string(), theme.dim, String::new()),
                RowState::Running(Pending { since: t, .. }) => (
                    spinner(spin).to_string(),
                    theme.warn,
                    format!(" {:.1} s", t.elapsed().as_secs_f64()),
                ),
                RowState::Done(r) => (
                    level_icon(r.level).to_string(),
                    level_style(r.level, theme),
                    format!(" {} ms", r.elapsed_ms),
                ),
            };
            let marker = if i == self.selected { "›" } else { " " };
            let title_style = if i == self.selected && focused {
                theme.selected
            } else {
                ratatui::style::Style::default()
            };
            lines.push(Line::from(vec![
                Span::raw(marker),
                Span::styled(format!("{icon} "), style),
                Span::styled(c.title.to_string(), title_style),
                Span::styled(time, theme.dim),
            ]));
        }
        lines.push(Line::from(""));
        let top = area.height.saturating_sub(region + hint_height);
        frame.render_widget(
            Paragraph::new(lines).wrap(Wrap { trim: false }),
            Rect {
                height: top,
                ..area
            },
        );
        let body = Rect {
            y: area.y + top,
            height: region.saturating_sub(pinned),
            ..area
        };
        frame.render_widget(
            Paragraph::new(details)
                .wrap(Wrap { trim: false })
                .scroll((scroll, 0)),
            body,
        );
        let mut bottom: Vec<Line> = Vec::new();
        if pinned > 0 {
            bottom.extend(fix_line);
        }
        if !hints.is_empty() {
            bottom.push(Line::from(Span::styled(hints.join(" · "), theme.key_hint)));
        }
        frame.render_widget(
            Paragraph::new(bottom).wrap(Wrap { trim: false }),
            Rect {
                y: body.bottom(),
                height: area.bottom().saturating_sub(body.bottom()),
                ..area
            },
        );
    }

    fn mark(&self, _env: &Env) -> Mark {
        match self.worst() {
            Level::Fail => Mark::Attention,
            Level::Pass if self.all_done() => Mark::Done,
            _ => Mark::Open,
        }
    }

    fn busy(&self) -> bool {
        self.running()
    }
}

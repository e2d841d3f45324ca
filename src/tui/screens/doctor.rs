//! Doctor: every check appears at once as pending and fills in as it finishes. The selected
//! check shows its findings with cause and fix; Enter jumps to the step that fixes it.

use crate::doctor::{CheckId, CheckResult, CHECKS};
use crate::finding::Level;
use crate::tui::app::Effect;
use crate::tui::jobs::Tickets;
use crate::tui::jobs::{Pending, Ticket};
use crate::tui::keys::{self, Command};
use crate::tui::modal::Modal;
use crate::tui::outcome::{Ctx, Outcome};
use crate::tui::theme::Theme;
use crate::tui::widgets::{finding_block, level_icon, level_style, spinner};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;
use std::time::Instant;

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
}

impl Default for DoctorScreen {
    fn default() -> Self {
        Self::new()
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

    /// Start `checks` as one job; the effect that runs them.
    pub fn run(&mut self, checks: Vec<CheckId>, jobs: &mut Tickets) -> Effect {
        let job = jobs.start();
        self.start(&checks, job);
        Effect::RunDoctor {
            ticket: job.ticket,
            checks,
        }
    }

    /// The doctor's keys.
    pub fn on_command(&mut self, command: Option<Command>, ctx: &mut Ctx) -> Outcome {
        let n = CHECKS.len();
        match command {
            Some(Command::CheckUp) => self.selected = (self.selected + n - 1) % n,
            Some(Command::CheckDown) => self.selected = (self.selected + 1) % n,
            Some(Command::RerunAll) if !self.running() => {
                let all = CHECKS.iter().map(|c| c.id).collect();
                return Outcome::effect(self.run(all, ctx.jobs));
            }
            Some(Command::RerunOne)
                if !matches!(self.rows[self.selected], RowState::Running(_)) =>
            {
                let one = vec![CHECKS[self.selected].id];
                return Outcome::effect(self.run(one, ctx.jobs));
            }
            Some(Command::GoFix) => {
                // Not checked: Enter goes to the check that says why (the root cause).
                if let Some(root) = self.result(self.selected).and_then(|r| r.not_checked) {
                    if let Some(i) = CHECKS.iter().position(|c| c.id == root) {
                        self.selected = i;
                    }
                    return Outcome::Nothing;
                }
                let Some(r) = self
                    .result(self.selected)
                    .filter(|r| r.level >= Level::Warn)
                else {
                    return Outcome::Nothing;
                };
                // The worst finding says which field or account (its subject).
                let subject = r
                    .findings
                    .iter()
                    .filter(|f| f.level == r.level)
                    .find_map(|f| f.subject.clone());
                return match r.fix {
                    Some(target) => Outcome::GoTo(target, subject),
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
            Some(Command::RequestCrawl) if !self.running() => {
                return Outcome::Open(Modal::RequestCrawl)
            }
            _ => {}
        }
        Outcome::Nothing
    }

    pub fn running(&self) -> bool {
        self.rows.iter().any(|r| matches!(r, RowState::Running(_)))
    }

    /// Fold in a result, if its row still waits for exactly that request (a result of an
    /// earlier run, overtaken by `r` on that row, is dropped).
    pub fn finish(&mut self, ticket: Ticket, result: CheckResult) {
        if let Some(i) = CHECKS.iter().position(|c| c.id == result.id) {
            if matches!(self.rows[i], RowState::Running(p) if p.is_for(ticket)) {
                self.rows[i] = RowState::Done(Box::new(result));
            }
        }
    }

    /// Whether `ticket` is the current full run's (its end is worth announcing).
    pub fn is_current_run(&self, ticket: Ticket) -> bool {
        crate::tui::jobs::is_current(&self.run, ticket)
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

    pub fn draw(&self, frame: &mut Frame, area: Rect, theme: &Theme, spin: usize, focused: bool) {
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
            _ => crate::doctor::tally(
                &(0..self.rows.len())
                    .filter_map(|i| self.result(i))
                    .collect::<Vec<_>>(),
            ),
        };
        // The root causes, each once (checks that could not run name theirs).
        let results: Vec<&CheckResult> = (0..self.rows.len())
            .filter_map(|i| self.result(i))
            .collect();
        let problems_line = (!self.running())
            .then(|| crate::doctor::problems(&results))
            .flatten()
            .map(|p| Line::from(Span::styled(p, theme.fail)));
        // What was checked: the file on disk, or the answers on screen (not saved yet).
        let unsaved_line = (self.unsaved && self.started.is_some()).then(|| {
            Line::from(Span::styled(
                "Checked with your unsaved answers: pds.env as it will be saved.",
                theme.warn,
            ))
        });
        // The selected check's findings and fix first: the list gives up rows (scrolling
        // with the selection) before the fix is cut off at small sizes.
        let mut details: Vec<Line> = Vec::new();
        if let Some(r) = self.result(self.selected) {
            let mut findings: Vec<_> = r.findings.iter().collect();
            findings.sort_by_key(|f| std::cmp::Reverse(f.level));
            for f in findings {
                // Its subject (a handle, a key) leads, as on the command line.
                let named = match &f.subject {
                    Some(s) if !f.what.contains(s.as_str()) => {
                        let mut named = f.clone();
                        named.what = format!("{s}: {}", f.what);
                        std::borrow::Cow::Owned(named)
                    }
                    _ => std::borrow::Cow::Borrowed(f),
                };
                details.extend(finding_block(&named, &[], theme));
            }
            if let (Some(target), true) = (r.fix, r.level >= Level::Warn) {
                let subject = r
                    .findings
                    .iter()
                    .filter(|f| f.level == r.level)
                    .find_map(|f| f.subject.as_deref());
                details.push(Line::from(Span::styled(
                    format!(
                        "Enter: go to the {} step to fix it",
                        crate::tui::app::landing(target, subject).title()
                    ),
                    theme.key_hint,
                )));
            }
        }
        let width = usize::from(area.width.max(1));
        let details_height: usize = details
            .iter()
            .map(|l| l.width().div_ceil(width).max(1))
            .sum();
        let n = CHECKS.len();
        // Summary and blank line, then at least 5 rows of the list.
        let problems_height = problems_line
            .as_ref()
            .map_or(0, |l| l.width().div_ceil(width).max(1));
        let rows = usize::from(area.height)
            .saturating_sub(
                2 + usize::from(unsaved_line.is_some()) + problems_height + details_height,
            )
            .clamp(5.min(n), n);
        let first = self.selected.saturating_sub(rows / 2).min(n - rows);
        let mut summary = summary;
        if rows < n {
            summary.push_str(&format!(" · checks {}–{} of {n}", first + 1, first + rows));
        }
        let mut lines = vec![Line::from(Span::styled(summary, theme.dim))];
        lines.extend(problems_line);
        lines.extend(unsaved_line);
        for (i, (c, row)) in CHECKS
            .iter()
            .zip(&self.rows)
            .enumerate()
            .skip(first)
            .take(rows)
        {
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
        lines.extend(details);
        frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
    }
}

//! Relays: "my posts don't show". Each relay in PDS_CRAWLERS, how it sees this PDS and the
//! one cause that explains it (`repair::cause`); Enter shows the repair for it, step by
//! step, and runs it on y — each step said as it runs, until every relay it repaired
//! follows this PDS again (`repair::execute`, as `pds-wizard relay repair` does).

use crate::finding::{Finding, Level};
use crate::repair::{self, Cause, Plan, RelayView};
use crate::tui::jobs::{is_current, Pending, Task, Ticket};
use crate::tui::keys::Command;
use crate::tui::outcome::{Ctx, Outcome};
use crate::tui::steps::{ask, Drawn, Env, Mark, Room, Said, View};
use crate::tui::widgets::{draw_below, finding_line, level_style, spinner};
use crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::Frame;
use std::time::Duration;

/// How long each relay is watched after the repair before it is said not to follow.
const WATCH: Duration = Duration::from_secs(60);

/// What the step asks for in the background.
#[derive(Debug, Clone)]
pub enum Job {
    /// Ask every relay how it sees this PDS, and work out the repair.
    Look,
    /// Carry this repair out.
    Repair(Box<Plan>),
}

#[derive(Debug)]
pub enum Done {
    Looked(Box<Plan>),
    /// One step of the repair, as it ran.
    Step(Finding),
    Repaired(Box<repair::Outcome>),
}

#[derive(Default)]
pub struct RelaysScreen {
    pub looking: Option<Pending>,
    pub plan: Option<Box<Plan>>,
    pub chosen: usize,
    pub repairing: Option<Pending>,
    /// The repair's steps as they ran.
    pub ran: Vec<Finding>,
    pub outcome: Option<Box<repair::Outcome>>,
    /// The repair offered (its plan is `plan`).
    pub asking: Option<()>,
}

impl RelaysScreen {
    fn look(&mut self, ctx: &mut Ctx) -> Said<Self> {
        let job = ctx.jobs.start();
        self.looking = Some(job);
        Outcome::Working(
            "Asking each relay how it sees this PDS…".into(),
            vec![(job.ticket, Job::Look)],
        )
    }

    fn chosen(&self) -> Option<&RelayView> {
        self.plan.as_ref()?.relays.get(self.chosen)
    }

    /// The repair, said before anything runs.
    fn offer(&mut self) -> Said<Self> {
        let Some(plan) = &self.plan else {
            return Outcome::Nothing;
        };
        if !plan.needed() {
            let why = match self.chosen() {
                Some(v) if !matches!(v.cause, Cause::InStep { .. }) => {
                    let f = v.cause.said(&v.relay, &plan.host);
                    format!("Nothing the repair can change here. {}", f.fix)
                }
                _ => "Nothing to repair: every relay follows this PDS.".into(),
            };
            return Outcome::Status(Level::Info, why);
        }
        let mut body = String::from("y: repair   n: not now\n\n");
        for (i, s) in plan.steps.iter().enumerate() {
            body.push_str(&format!("{}. {}\n", i + 1, s.said()));
        }
        body.push_str("\nEach step is said as it runs; one that fails stops the repair, and a PDS stopped here is always started again.");
        ask(&mut self.asking, (), " Repair the relays? ", body, true)
    }
}

impl Room for RelaysScreen {
    type Job = Job;
    type Done = Done;

    fn on_open(&mut self, ctx: &mut Ctx) -> Said<Self> {
        match self.plan.is_none() && self.looking.is_none() && self.repairing.is_none() {
            true => self.look(ctx),
            false => Outcome::Nothing,
        }
    }

    fn on_command(&mut self, command: Option<Command>, _k: KeyEvent, ctx: &mut Ctx) -> Said<Self> {
        let n = self.plan.as_ref().map_or(0, |p| p.relays.len());
        match command {
            Some(Command::CheckUp) if n > 0 => self.chosen = (self.chosen + n - 1) % n,
            Some(Command::CheckDown) if n > 0 => self.chosen = (self.chosen + 1) % n,
            Some(Command::RerunAll) if self.looking.is_none() && self.repairing.is_none() => {
                return self.look(ctx)
            }
            Some(Command::GoFix) if self.repairing.is_none() => return self.offer(),
            _ => {}
        }
        Outcome::Nothing
    }

    fn awaits(&self, ticket: Ticket, done: &Done) -> bool {
        match done {
            Done::Looked(_) => is_current(&self.looking, ticket),
            Done::Step(_) | Done::Repaired(_) => is_current(&self.repairing, ticket),
        }
    }

    fn on_result(&mut self, done: Done, ctx: &mut Ctx) -> Said<Self> {
        match done {
            Done::Looked(plan) => {
                self.looking = None;
                // The first relay that needs something is the one chosen.
                self.chosen = plan
                    .relays
                    .iter()
                    .position(|v| !matches!(v.cause, Cause::InStep { .. }))
                    .unwrap_or(0);
                let said = match plan.relays.iter().filter(|v| v.cause.repairable()).count() {
                    0 => Outcome::Unsay,
                    n => Outcome::Status(
                        Level::Warn,
                        format!("{n} relay(s) do not follow this PDS: Enter shows the repair."),
                    ),
                };
                self.plan = Some(plan);
                said
            }
            Done::Step(f) => {
                let said = Outcome::Status(f.level, f.what.clone());
                self.ran.push(f);
                said
            }
            Done::Repaired(outcome) => {
                self.repairing = None;
                let said = match outcome.repaired {
                    true => Outcome::Status(
                        Level::Pass,
                        "Repaired: every relay repaired follows this PDS again.".into(),
                    ),
                    false => Outcome::Status(
                        Level::Fail,
                        "Not repaired: the step that failed says why.".into(),
                    ),
                };
                self.outcome = Some(outcome);
                // How the relays see it now.
                said.and(self.look(ctx))
            }
        }
    }

    fn on_answer(&mut self, yes: bool, ctx: &mut Ctx) -> Said<Self> {
        if self.asking.take().is_none() {
            return Outcome::Nothing;
        }
        let Some(plan) = self.plan.clone().filter(|_| yes) else {
            return Outcome::Status(
                Level::Info,
                "Nothing changed. Later: pds-wizard relay repair".into(),
            );
        };
        let job = ctx.jobs.start();
        self.repairing = Some(job);
        self.ran.clear();
        self.outcome = None;
        Outcome::Working("Repairing…".into(), vec![(job.ticket, Job::Repair(plan))])
    }

    fn run(job: Job, ctx: &Ctx) -> Task<Done> {
        let settings = ctx.settings.clone();
        match job {
            Job::Look => {
                let doc = ctx.working.clone();
                // The demo's PDS stand-in keeps its own; elsewhere in the demo, /pds is the
                // sandbox's (never this machine's).
                let data = ctx
                    .data_dir
                    .cloned()
                    .unwrap_or_else(|| settings.flags.place(&crate::pds::data::data_dir(&doc)));
                Task::future(async move {
                    let accounts = settings.admin().accounts().await.unwrap_or_default();
                    let plan = repair::plan(&settings, &doc, &[], &accounts, &data).await;
                    Done::Looked(Box::new(plan))
                })
            }
            Job::Repair(plan) => Task::Stream(Box::new(move |each| {
                Box::pin(async move {
                    let outcome =
                        repair::execute(&plan, &settings, WATCH, |f| each(Done::Step(f.clone())))
                            .await;
                    Done::Repaired(Box::new(outcome))
                })
            })),
        }
    }
}

impl Drawn for RelaysScreen {
    fn draw(&self, frame: &mut Frame, area: Rect, view: &View) {
        let (theme, tick) = (view.theme, view.spinner);
        let mut lines: Vec<Line> = Vec::new();
        if let Some(p) = &self.looking {
            lines.push(Line::from(Span::styled(
                format!(
                    "{} asking each relay how it sees this PDS… {:.1} s",
                    spinner(tick),
                    p.since.elapsed().as_secs_f64()
                ),
                theme.warn,
            )));
        }
        if let Some(plan) = &self.plan {
            if let Some(s) = plan.sequence {
                lines.push(Line::from(Span::styled(
                    format!(
                        "This PDS ({}): newest event #{}",
                        plan.host,
                        s.newest.unwrap_or(0)
                    ),
                    theme.dim,
                )));
            }
            for (i, v) in plan.relays.iter().enumerate() {
                // What it is, one line each; the chosen one's view, why and fix below.
                let f = v.cause.said(&v.relay, &plan.host);
                let mut l = finding_line(&Finding::new(f.level, f.what), theme);
                l.spans
                    .insert(0, Span::raw(if i == self.chosen { "› " } else { "  " }));
                lines.push(l);
            }
            if let Some(v) = self.chosen() {
                let f = v.cause.said(&v.relay, &plan.host);
                let seen = v.summary(plan.sequence.map(|s| s.newest.unwrap_or(0)));
                for (label, text) in [("Sees: ", &seen), ("Why: ", &f.why), ("Fix: ", &f.fix)] {
                    if !text.is_empty() {
                        lines.push(Line::from(vec![
                            Span::styled(label, theme.dim),
                            Span::raw(text.clone()),
                        ]));
                    }
                }
            }
            lines.extend(plan.notes.iter().map(|f| finding_line(f, theme)));
        }
        if !self.ran.is_empty() {
            lines.push(Line::from(Span::styled("The repair:", theme.dim)));
            lines.extend(self.ran.iter().map(|f| finding_line(f, theme)));
        }
        if let Some(p) = &self.repairing {
            lines.push(Line::from(Span::styled(
                format!(
                    "{} repairing… {:.0} s",
                    spinner(tick),
                    p.since.elapsed().as_secs_f64()
                ),
                theme.warn,
            )));
        }
        if let Some(o) = &self.outcome {
            lines.push(Line::from(Span::styled(
                match o.repaired {
                    true => "Repaired: every relay repaired follows this PDS again.",
                    false => "Not repaired: the step that failed says why.",
                },
                level_style(o.level, theme),
            )));
        }
        draw_below(frame, area, area.y, lines);
    }

    fn busy(&self) -> bool {
        self.looking.is_some() || self.repairing.is_some()
    }

    fn mark(&self, _env: &Env) -> Mark {
        match &self.plan {
            None => Mark::Open,
            Some(p) if p.relays.iter().any(|v| v.cause.repairable()) => Mark::Attention,
            Some(p)
                if p.relays
                    .iter()
                    .all(|v| matches!(v.cause, Cause::InStep { .. })) =>
            {
                Mark::Done
            }
            Some(_) => Mark::Attention,
        }
    }
}

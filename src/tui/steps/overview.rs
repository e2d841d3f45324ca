//! Overview: every milestone of a setup, checked live; Enter goes to the step that gets
//! it done.

use crate::finding::Level;
use crate::setup::{Milestone, Overview, State};
use crate::tui::jobs::{is_current, Pending, Task, Ticket};
use crate::tui::keys::Command;
use crate::tui::outcome::{Ctx, Outcome};
use crate::tui::steps::{Drawn, Env, Mark, Room, Said, View};
use crate::tui::widgets::{level_style, spinner};
use crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

/// What the step asks for in the background: every milestone, checked.
#[derive(Debug, Clone)]
pub enum Job {
    Check,
}

#[derive(Debug)]
pub enum Done {
    Checked(Box<Overview>),
}

#[derive(Default)]
pub struct OverviewScreen {
    pub pending: Option<Pending>,
    pub overview: Option<Box<Overview>>,
    pub chosen: usize,
}

fn mark(state: State) -> (&'static str, Level) {
    match state {
        State::Done => ("✓", Level::Pass),
        State::DoneWithWarnings => ("!", Level::Warn),
        State::Todo => ("✗", Level::Fail),
        State::Waiting => ("·", Level::Info),
    }
}

impl OverviewScreen {
    pub fn start(&mut self, ctx: &mut Ctx) -> Said<Self> {
        let job = ctx.jobs.start();
        self.pending = Some(job);
        Outcome::effect(job.ticket, Job::Check)
    }

    fn done(&mut self, o: Box<Overview>) {
        self.pending = None;
        // The first milestone not reached is where the operator goes next.
        self.chosen = o.milestones.iter().position(|m| !m.done()).unwrap_or(0);
        self.overview = Some(o);
    }

    fn chosen(&self) -> Option<&Milestone> {
        self.overview.as_ref()?.milestones.get(self.chosen)
    }

    pub fn all_done(&self) -> bool {
        self.overview.as_ref().is_some_and(|o| o.all_done())
    }

    pub fn worst(&self) -> Option<State> {
        let o = self.overview.as_ref()?;
        Some(if o.all_done() {
            State::Done
        } else if o.milestones.iter().any(|m| m.state == State::Todo) {
            State::Todo
        } else {
            State::Waiting
        })
    }
}

impl Room for OverviewScreen {
    type Job = Job;
    type Done = Done;

    /// Checked afresh each time it is opened: it is where the operator comes back to.
    fn on_open(&mut self, ctx: &mut Ctx) -> Said<Self> {
        match self.pending {
            None => self.start(ctx),
            Some(_) => Outcome::Nothing,
        }
    }

    fn on_command(&mut self, command: Option<Command>, _k: KeyEvent, ctx: &mut Ctx) -> Said<Self> {
        let n = self.overview.as_ref().map_or(0, |o| o.milestones.len());
        match command {
            Some(Command::CheckUp) if n > 0 => self.chosen = (self.chosen + n - 1) % n,
            Some(Command::CheckDown) if n > 0 => self.chosen = (self.chosen + 1) % n,
            Some(Command::RerunAll) if self.pending.is_none() => {
                let Outcome::Effects(jobs) = self.start(ctx) else {
                    return Outcome::Nothing;
                };
                return Outcome::Working("Checking every milestone…".into(), jobs);
            }
            Some(Command::GoFix) => {
                let Some(m) = self.chosen() else {
                    return Outcome::Nothing;
                };
                let Some(target) = m.target else {
                    return Outcome::Status(
                        Level::Info,
                        m.fix.clone().unwrap_or_else(|| m.said.clone()),
                    );
                };
                let said = match (&m.fix, m.done()) {
                    (_, true) => None,
                    (Some(f), false) => {
                        Some((Level::Warn, format!("{}: {} — Fix: {f}", m.title, m.said)))
                    }
                    (None, false) => Some((Level::Warn, format!("{}: {}", m.title, m.said))),
                };
                return Outcome::GoTo {
                    target,
                    subject: m.subject.clone(),
                    said,
                };
            }
            _ => {}
        }
        Outcome::Nothing
    }

    fn awaits(&self, ticket: Ticket, _done: &Done) -> bool {
        is_current(&self.pending, ticket)
    }

    fn on_result(&mut self, done: Done, _ctx: &mut Ctx) -> Said<Self> {
        let Done::Checked(o) = done;
        self.done(o);
        Outcome::Nothing
    }

    fn run(job: Job, ctx: &Ctx) -> Task<Done> {
        let Job::Check = job;
        // As the doctor does: pds.env as it will be saved.
        let mut inputs = crate::doctor::Inputs::load(&ctx.settings.flags, vec![]);
        if ctx.working.is_modified() {
            inputs = inputs.with_doc(ctx.working.clone());
        }
        let echo = ctx.settings.flags.ip_echo.clone();
        Task::future(async move {
            let o = crate::setup::overview_of(std::sync::Arc::new(inputs), echo.as_deref()).await;
            Done::Checked(Box::new(o))
        })
    }
}

impl Drawn for OverviewScreen {
    fn draw(&self, frame: &mut Frame, area: Rect, view: &View) {
        let (theme, tick, focused) = (view.theme, view.spinner, view.focused);
        // Nothing looked at yet: what the Overview is for.
        if self.overview.is_none() && self.pending.is_none() {
            let intro = Paragraph::new(crate::tui::strings::OVERVIEW_INTRO);
            frame.render_widget(intro.wrap(Wrap { trim: true }), area);
            return;
        }
        let mut lines: Vec<Line> = Vec::new();
        match (&self.overview, &self.pending) {
            (None, _) => lines.push(Line::from(format!(
                "{} checking every milestone…",
                spinner(tick)
            ))),
            (Some(o), pending) => {
                if pending.is_some() {
                    lines.push(Line::from(Span::styled(
                        format!("{} checking again…", spinner(tick)),
                        theme.dim,
                    )));
                }
                for (i, m) in o.milestones.iter().enumerate() {
                    let (icon, level) = mark(m.state);
                    let pointer = if focused && i == self.chosen {
                        "›"
                    } else {
                        " "
                    };
                    lines.push(Line::from(vec![
                        Span::raw(pointer),
                        Span::styled(format!("{icon} "), level_style(level, theme)),
                        Span::styled(
                            m.title.clone(),
                            if focused && i == self.chosen {
                                theme.selected
                            } else {
                                level_style(level, theme)
                            },
                        ),
                    ]));
                }
                lines.push(Line::from(""));
                if let Some(m) = self.chosen() {
                    let (_, level) = mark(m.state);
                    lines.push(Line::from(Span::styled(
                        crate::secret::scrub(&m.said),
                        level_style(level, theme),
                    )));
                    if let (Some(f), false) = (&m.fix, m.done()) {
                        lines.push(Line::from(Span::styled(
                            format!("Fix: {}", crate::secret::scrub(f)),
                            theme.dim,
                        )));
                    }
                    lines.push(Line::from(""));
                }
                let style = if o.all_done() {
                    theme.pass
                } else {
                    theme.title
                };
                lines.push(Line::from(Span::styled(o.next(), style)));
            }
        }
        frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), area);
    }

    fn mark(&self, _env: &Env) -> Mark {
        match self.worst() {
            Some(State::Done) => Mark::Done,
            Some(State::Todo) => Mark::Attention,
            _ => Mark::Open,
        }
    }

    fn busy(&self) -> bool {
        self.pending.is_some()
    }
}

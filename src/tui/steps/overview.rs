//! Overview: every milestone of a setup, checked live; Enter goes to the step that gets
//! it done.

use crate::finding::Level;
use crate::setup::{Milestone, Overview, State};
use crate::tui::jobs::Pending;
use crate::tui::keys::Command;
use crate::tui::msg::{Effect, Job};
use crate::tui::outcome::{Ctx, Outcome};
use crate::tui::widgets::{level_style, spinner};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

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
    pub fn start(&mut self, ctx: &mut Ctx) -> Effect {
        let job = ctx.jobs.start();
        self.pending = Some(job);
        Effect::Setup(job.ticket, Job::Overview)
    }

    pub fn done(&mut self, o: Box<Overview>) {
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

impl OverviewScreen {
    pub fn on_command(
        &mut self,
        command: Option<crate::tui::keys::Command>,
        _k: crossterm::event::KeyEvent,
        ctx: &mut crate::tui::outcome::Ctx,
    ) -> crate::tui::outcome::Outcome<crate::tui::msg::Effect> {
        let n = self.overview.as_ref().map_or(0, |o| o.milestones.len());
        match command {
            Some(Command::CheckUp) if n > 0 => self.chosen = (self.chosen + n - 1) % n,
            Some(Command::CheckDown) if n > 0 => self.chosen = (self.chosen + 1) % n,
            Some(Command::RerunAll) if self.pending.is_none() => {
                return Outcome::legacy_working(
                    "Checking every milestone…".into(),
                    vec![self.start(ctx)],
                )
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
}

impl crate::tui::steps::Drawn for OverviewScreen {
    fn draw(&self, frame: &mut Frame, area: Rect, view: &crate::tui::steps::View) {
        let (theme, tick, focused) = (view.theme, view.spinner, view.focused);
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

    fn busy(&self) -> bool {
        self.pending.is_some()
    }
}

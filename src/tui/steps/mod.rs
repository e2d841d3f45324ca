//! The steps, each one room: its state, what its keys do, what it asks for in the
//! background, and how it is drawn. Steps import the messages and the leaves, never the
//! app or the frame.

pub mod accounts;
pub mod backups;
pub mod basics;
pub mod didfile;
pub mod doctor;
pub mod email;
pub mod handle;
pub mod overview;
pub mod proxy;
pub mod relays;
pub mod review;
pub mod server;
pub mod settings;

use crate::tui::jobs::{Task, Ticket};
use crate::tui::keys::Command;
use crate::tui::outcome::{Ctx, Outcome};
use crate::tui::theme::Theme;
use crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::Frame;
use std::collections::BTreeMap;

/// What the frame gives every step to draw with.
pub struct View<'a> {
    pub theme: &'a Theme,
    /// The one spinner's frame (it turns while anything is busy).
    pub spinner: usize,
    /// The step has the keys (not the step list).
    pub focused: bool,
    /// pds.env answers typed and not saved yet, by key.
    pub edits: &'a BTreeMap<String, String>,
}

/// A step that works in the background: one room with its state, what its commands do,
/// the jobs it asks for and what it makes of their results, the questions it asks and
/// what their answers do, and how it is drawn. The app routes a key, a result or an answer
/// to the room it belongs to, the runner carries out its jobs (`run`), the frame draws it,
/// the sidebar turns the spinner while it is `busy`; none of them looks inside.
/// (Basics and More settings are forms of pds.env keys, and Review shows the whole change:
/// the app edits and saves those itself.)
pub trait Room: Drawn {
    /// What it asks for in the background; each goes out with a fresh ticket.
    type Job: std::fmt::Debug + Send + 'static;
    /// What comes back, with the ticket of the job that asked.
    type Done: std::fmt::Debug + Send + 'static;

    /// The step opened (from the sidebar, or led here): what it starts, if anything.
    fn on_open(&mut self, _ctx: &mut Ctx) -> Said<Self> {
        Outcome::Nothing
    }
    /// A key on this step: its command in the step's key table (None: typing into its
    /// form), with what the step may use of the app.
    fn on_command(&mut self, command: Option<Command>, k: KeyEvent, ctx: &mut Ctx) -> Said<Self>;
    /// Whether a result carrying `ticket` answers a request this room still waits for.
    /// Anything else is dropped before `on_result` (or anything else) sees it.
    fn awaits(&self, ticket: Ticket, done: &Self::Done) -> bool;
    /// A result it awaits.
    fn on_result(&mut self, done: Self::Done, ctx: &mut Ctx) -> Said<Self>;
    /// A key on its open question that is not an answer (Tab among choices): the
    /// question's new text, when the key changed it.
    fn on_question_key(&mut self, _k: KeyEvent) -> Option<String> {
        None
    }
    /// The operator's answer to the question it asked (`Outcome::Ask`).
    fn on_answer(&mut self, _yes: bool, _ctx: &mut Ctx) -> Said<Self> {
        Outcome::Nothing
    }
    /// How a job is carried out (with the app's settings and pds.env as it will be saved).
    fn run(job: Self::Job, ctx: &Ctx) -> Task<Self::Done>
    where
        Self: Sized;
}

/// A room as the frame and the sidebar see it, whichever its jobs are.
pub trait Drawn {
    fn draw(&self, frame: &mut Frame, area: Rect, view: &View);
    /// Whether it waits for a background result.
    fn busy(&self) -> bool;
    /// Its mark in the sidebar.
    fn mark(&self, env: &Env) -> Mark;
}

/// How a step looks in the sidebar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    Done,
    Attention,
    Edited,
    Open,
}

/// What a step's mark may look at beside the step: pds.env as saved, and which keys have
/// answers not saved yet (typed, or typed and refused).
pub struct Env<'a> {
    pub base: &'a crate::envfile::Document,
    pub edited: &'a dyn Fn(&str) -> bool,
}

/// What a room's key, result or answer asks of the app: its own jobs, with their tickets.
pub type Said<R> = Outcome<<R as Room>::Job>;

/// Ask the operator `question` in these words: the room keeps it in `asking` until the
/// answer comes back to its `on_answer`.
pub fn ask<Q, J>(
    asking: &mut Option<Q>,
    question: Q,
    title: &str,
    body: String,
    wide: bool,
) -> Outcome<J> {
    *asking = Some(question);
    Outcome::Ask {
        title: title.into(),
        body,
        wide,
    }
}

/// The mark of a form of pds.env keys: a failing field first, then unsaved answers, then
/// `rest`.
pub fn form_mark(form: &crate::tui::form::Form, env: &Env, rest: Mark) -> Mark {
    if form
        .fields
        .iter()
        .any(|f| f.worst() == crate::finding::Level::Fail)
    {
        Mark::Attention
    } else if form.fields.iter().any(|f| (env.edited)(f.key)) {
        Mark::Edited
    } else {
        rest
    }
}

//! What a step asks of the app. A step handles its own commands (see `keys`), results and
//! answers with what it needs of the app in a `Ctx`, and answers with an `Outcome` of its
//! own jobs (`J`); `app` carries it out. A leaf: it knows no step's jobs.

use super::jobs::{Ticket, Tickets};
use super::modal::Modal;
use crate::envfile::Document;
use crate::finding::Level;
use crate::settings::Resolved;
use crate::target::Target;
use std::path::PathBuf;

/// What a screen may use of the app's state while it handles a key.
pub struct Ctx<'a> {
    /// For a background job's ticket.
    pub jobs: &'a mut Tickets,
    pub settings: &'a Resolved,
    /// pds.env as it will be saved.
    pub working: &'a Document,
    /// Where the PDS keeps its databases, when not PDS_DATA_DIRECTORY (the demo's stand-in).
    pub data_dir: Option<&'a PathBuf>,
    /// --demo: nothing outside the sandbox is touched (no server reloads).
    pub demo: bool,
    /// pds.env answers typed and not saved yet, by key.
    pub edits: &'a std::collections::BTreeMap<String, String>,
}

#[derive(Debug)]
pub enum Outcome<J> {
    Nothing,
    /// Jobs for the runner, each with the ticket its result will carry.
    Effects(Vec<(Ticket, J)>),
    /// A line for the status bar.
    Status(Level, String),
    Open(Modal),
    /// Ask the operator a yes/no question; the step keeps what it asked, and its answer
    /// comes back to the step (`Room::on_answer`). `wide` fits a long body (a diff, a plan).
    Ask {
        title: String,
        body: String,
        wide: bool,
    },
    /// Open the step (and field) that fixes this; the subject (a pds.env key, a handle)
    /// says which field or which account, when the finding names one; `said` goes to the
    /// status line there (what was found and its fix, so the step says why you are there).
    GoTo {
        target: Target,
        subject: Option<String>,
        said: Option<(Level, String)>,
    },
    /// A job started that takes a moment: jobs, and a line saying so.
    Working(String, Vec<(Ticket, J)>),
    /// The screen's form changed: the app reads it again.
    Edited,
    /// Save pds.env now (the operator said yes to it).
    Save,
    /// The status line's word is over (the job it announced has answered).
    Unsay,
    /// Several of these, in order (a result that says how it went and asks the next thing).
    All(Vec<Outcome<J>>),
}

impl<J> Outcome<J> {
    pub fn effect(ticket: Ticket, job: J) -> Outcome<J> {
        Outcome::Effects(vec![(ticket, job)])
    }

    pub fn fail(message: impl Into<String>) -> Outcome<J> {
        Outcome::Status(Level::Fail, message.into())
    }

    pub fn status(level: Level, message: impl Into<String>) -> Outcome<J> {
        Outcome::Status(level, message.into())
    }

    /// This, then `next`.
    pub fn and(self, next: Outcome<J>) -> Outcome<J> {
        match (self, next) {
            (Outcome::Nothing, n) => n,
            (o, Outcome::Nothing) => o,
            (Outcome::All(mut v), n) => {
                v.push(n);
                Outcome::All(v)
            }
            (o, n) => Outcome::All(vec![o, n]),
        }
    }

    /// The same, with each job made another kind (a step's jobs into the app's effects).
    pub fn map<K>(self, f: &impl Fn(Ticket, J) -> K) -> Outcome<K> {
        let jobs = |v: Vec<(Ticket, J)>| v.into_iter().map(|(t, j)| (t, f(t, j))).collect();
        match self {
            Outcome::Nothing => Outcome::Nothing,
            Outcome::Effects(v) => Outcome::Effects(jobs(v)),
            Outcome::Status(l, s) => Outcome::Status(l, s),
            Outcome::Open(m) => Outcome::Open(m),
            Outcome::Ask { title, body, wide } => Outcome::Ask { title, body, wide },
            Outcome::GoTo {
                target,
                subject,
                said,
            } => Outcome::GoTo {
                target,
                subject,
                said,
            },
            Outcome::Working(line, v) => Outcome::Working(line, jobs(v)),
            Outcome::Edited => Outcome::Edited,
            Outcome::Save => Outcome::Save,
            Outcome::Unsay => Outcome::Unsay,
            Outcome::All(v) => Outcome::All(v.into_iter().map(|o| o.map(f)).collect()),
        }
    }
}

//! What a screen's key asks of the app. A screen handles its own commands (see `keys`) with
//! what it needs of the app in a `Ctx`, and answers with an `Outcome`; `app` carries it out.

use super::jobs::Tickets;
use super::modal::Modal;
use super::msg::Effect;
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
}

#[derive(Debug)]
pub enum Outcome {
    Nothing,
    /// Work for the effects runner.
    Effects(Vec<Effect>),
    /// A line for the status bar.
    Status(Level, String),
    Open(Modal),
    /// Open the step (and field) that fixes this; the subject (a pds.env key, a handle)
    /// says which field or which account, when the finding names one; `said` goes to the
    /// status line there (what was found and its fix, so the step says why you are there).
    GoTo {
        target: Target,
        subject: Option<String>,
        said: Option<(Level, String)>,
    },
    /// A job started that takes a moment: effects, and a line saying so.
    Working(String, Vec<Effect>),
    /// The screen's form changed: the app reads it again.
    Edited,
}

impl Outcome {
    pub fn effect(e: Effect) -> Outcome {
        Outcome::Effects(vec![e])
    }

    pub fn fail(message: impl Into<String>) -> Outcome {
        Outcome::Status(Level::Fail, message.into())
    }
}

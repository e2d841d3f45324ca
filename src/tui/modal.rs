//! Pop-ups: what each is, and the one key rule of every question. A step's question is
//! `Ask` (its words from the step; the answer goes back to the step); the rest are the
//! app's own. What a key does while one is open is `app/popups.rs`; the drawing, `frame.rs`.

use super::draft::Draft;
use crossterm::event::{KeyCode, KeyEvent};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Modal {
    Help,
    ConfirmQuit,
    /// Nothing unsaved, but results on screen (the doctor's) that quitting loses.
    ConfirmQuitResults,
    RestoreDraft(Draft),
    /// The last test send: diagnosis, then the SMTP conversation (password removed).
    Transcript(Vec<String>),
    /// A doctor check's findings in full, each error with its whole chain; scrolls.
    Details {
        title: String,
        body: String,
        scroll: u16,
    },
    /// The codes the PDS meant to mail (email codes), read from its database.
    Codes(Vec<String>),
    /// Offer to run this restart command (shown first, run only on "y").
    Restart(Vec<String>),
    /// A step's yes/no question (`Outcome::Ask`): the answer goes back to that step.
    Ask {
        step: super::step::Step,
        title: String,
        body: String,
        wide: bool,
    },
    /// The app's own question (a rename), said in full first; "y" carries it out.
    Confirm {
        title: String,
        body: String,
        then: Confirmed,
    },
}

/// What a `Modal::Confirm` (a question of the app's own) does on "y".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmed {
    /// Save pds.env with this new PDS_HOSTNAME although the PDS hosts accounts.
    Rename(String),
}

/// The one key rule of every yes/no question: y or Enter says yes, n or Esc says no;
/// any other key is not an answer (the question stays).
pub fn answer(k: &KeyEvent) -> Option<bool> {
    match k.code {
        KeyCode::Char('y') | KeyCode::Char('Y') | KeyCode::Enter => Some(true),
        KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => Some(false),
        _ => None,
    }
}

//! The wizard's messages: what happened (`Action`: a key, a signal, a background result
//! with its request's ticket), and what is to be done off the drawing path (`Effect`). Each step's own jobs and results are its own types (`Job`,
//! `Done` in its file), carried here with their tickets; steps never import this.

use super::draft::Draft;
pub use super::jobs::{Pending, Ticket, Tickets};
use super::steps::{
    accounts, backups, didfile, doctor, email, handle, overview, proxy, relays, server,
};
use crate::envfile::Document;
use crate::fsutil::SaveReport;
use crossterm::event::KeyEvent;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalKind {
    /// SIGHUP, or the terminal gone (end of file, an error reading it).
    Hangup,
    /// SIGTERM.
    Terminate,
    /// SIGINT (Ctrl-C itself arrives as a key: the terminal is raw).
    Interrupt,
    /// SIGQUIT.
    Quit,
}

impl SignalKind {
    /// The signal's number, for the exit status 128+N that tells a wrapper what ended us.
    pub fn number(self) -> u8 {
        match self {
            SignalKind::Hangup => 1,
            SignalKind::Interrupt => 2,
            SignalKind::Quit => 3,
            SignalKind::Terminate => 15,
        }
    }
}

#[derive(Debug)]
pub enum Action {
    Key(KeyEvent),
    /// A bracketed paste: inserted into the focused field as one edit.
    Paste(String),
    Resize,
    Signal(SignalKind),
    Saved(Result<(SaveReport, Document), String>),
    Reloaded(Result<Document, String>),
    /// A spinner frame: the event loop makes one when nothing else came for a frame's
    /// time while `App::busy`.
    Tick,
    // Each result carries the ticket of the request that asked for it (see `jobs`).
    /// The restart command found on this machine, if any.
    RestartCommand(Option<Vec<String>>),
    Restarted(Result<(), String>),
    /// The Email step's job answered.
    Email(Ticket, email::Done),
    /// The Handle step's job answered.
    Handle(Ticket, handle::Done),
    /// The atproto-did step's job answered.
    DidFile(Ticket, didfile::Done),
    /// The Reverse proxy step's job answered.
    Proxy(Ticket, proxy::Done),
    /// The Doctor's job answered.
    Doctor(Ticket, doctor::Done),
    /// The Relays step's job answered.
    Relays(Ticket, relays::Done),
    /// The Backups step's job answered.
    Backups(Ticket, backups::Done),
    /// The Overview's job answered.
    Overview(Ticket, overview::Done),
    /// The Server step's job answered.
    Server(Ticket, server::Done),
    /// The Accounts step's job answered.
    Accounts(Ticket, accounts::Done),
    /// The accounts a new PDS_HOSTNAME affects (None: it could not be told).
    Renamed(Ticket, Option<Box<crate::setup::rename::Rename>>),
}

impl Action {
    /// The ticket of the request a background result answers; None for anything else.
    pub fn ticket(&self) -> Option<Ticket> {
        match self {
            Action::Email(t, _)
            | Action::Handle(t, _)
            | Action::DidFile(t, _)
            | Action::Proxy(t, _)
            | Action::Doctor(t, _)
            | Action::Relays(t, _)
            | Action::Backups(t, _)
            | Action::Overview(t, _)
            | Action::Server(t, _)
            | Action::Accounts(t, _)
            | Action::Renamed(t, _) => Some(*t),
            Action::Key(_)
            | Action::Paste(_)
            | Action::Resize
            | Action::Signal(_)
            | Action::Saved(_)
            | Action::Reloaded(_)
            | Action::Tick
            | Action::RestartCommand(_)
            | Action::Restarted(_) => None,
        }
    }
}

#[derive(Debug, Clone)]
pub enum Effect {
    /// Write this document to its path (refuses if the file changed on disk).
    Save(Box<Document>),
    /// Re-read pds.env from disk.
    Reload(PathBuf),
    WriteDraft(Draft),
    DeleteDraft(PathBuf),
    /// Look for the PDS's restart command (systemd unit or compose file).
    FindRestart,
    /// Run the restart command the operator confirmed.
    Restart(Vec<String>),
    /// An Email step's job.
    Email(Ticket, email::Job),
    /// A Doctor's job.
    Doctor(Ticket, doctor::Job),
    /// A Reverse proxy step's job.
    Proxy(Ticket, proxy::Job),
    /// A Handle step's job.
    Handle(Ticket, handle::Job),
    /// An atproto-did step's job.
    DidFile(Ticket, didfile::Job),
    /// A Relays step's job.
    Relays(Ticket, relays::Job),
    /// A Backups step's job.
    Backups(Ticket, backups::Job),
    /// The Overview's job.
    Overview(Ticket, overview::Job),
    /// A Server step's job.
    Server(Ticket, server::Job),
    /// An Accounts step's job.
    Accounts(Ticket, accounts::Job),
    /// Before saving a new PDS_HOSTNAME: the accounts a rename affects (pds.env as saved).
    CheckRename {
        ticket: Ticket,
        saved: Box<crate::envfile::Document>,
        to: String,
    },
    Quit,
}

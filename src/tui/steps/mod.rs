//! The steps, each one room: its state, what its keys do, what it asks for in the
//! background, and how it is drawn. Steps import the messages and the leaves, never the
//! app or the frame.

pub mod accounts;
pub mod basics;
pub mod didfile;
pub mod doctor;
pub mod email;
pub mod handle;
pub mod overview;
pub mod proxy;
pub mod review;
pub mod server;
pub mod settings;

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

/// A step that works in the background: one room with its state, what its commands do and
/// how it is drawn. The app routes a key to the step in front (`on_command`), the frame
/// draws it, the sidebar turns the spinner while it is `busy`; neither looks inside.
/// (Basics and More settings are forms of pds.env keys, and Review shows the whole change:
/// the app edits and saves those itself.)
pub trait Room {
    /// A key on this step: its command in the step's key table (None: typing into its
    /// form), with what the step may use of the app.
    fn on_command(&mut self, command: Option<Command>, k: KeyEvent, ctx: &mut Ctx) -> Outcome;
    fn draw(&self, frame: &mut Frame, area: Rect, view: &View);
    /// Whether it waits for a background result.
    fn busy(&self) -> bool;
}

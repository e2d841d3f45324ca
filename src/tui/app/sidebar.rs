//! How each step looks in the sidebar (its mark), and what a step cannot do in the demo.

use super::*;

pub use crate::tui::steps::Mark;

impl App {
    pub fn mark(&self, step: Step) -> Mark {
        let edited = |k: &str| self.edits.contains_key(k) || self.blocked.contains_key(k);
        match self.room(step) {
            Some(room) => room.mark(&crate::tui::steps::Env {
                base: &self.base,
                edited: &edited,
            }),
            None if self.working.is_modified() => Mark::Edited,
            None => Mark::Open,
        }
    }

    /// In the demo, what a step cannot do here for want of a stand-in, and what it would
    /// do on a real server.
    pub fn demo_note(&self, step: Step) -> Option<String> {
        use crate::demo::Kind;
        let standins = self.demo_standins.as_ref()?;
        let needs: &[Kind] = match step {
            Step::Email => &[Kind::Smtp],
            Step::Handle => &[Kind::Pds, Kind::Dns, Kind::Https],
            Step::DidFile => &[Kind::Https],
            Step::Doctor | Step::Overview => &[Kind::Pds, Kind::Smtp, Kind::Dns, Kind::Https],
            Step::Server => &[Kind::Dns],
            Step::Accounts => &[Kind::Pds],
            Step::Relays => &[Kind::Pds, Kind::Relay],
            Step::Backups => &[Kind::Pds],
            _ => &[],
        };
        let missing: Vec<Kind> = needs
            .iter()
            .copied()
            .filter(|k| !standins.iter().any(|s| s.kind == *k && s.live))
            .collect();
        let first = missing.first()?;
        let mut note = format!("Demo: {}", first.without());
        if missing.len() > 1 {
            let rest: Vec<&str> = missing[1..].iter().map(|k| k.label()).collect();
            note.push_str(&format!(" (nor {})", rest.join(", ")));
        }
        note.push('.');
        Some(note)
    }
}

//! How each step looks in the sidebar (its mark), and what a step cannot do in the demo.

use super::*;

pub use crate::tui::steps::Mark;

impl App {
    pub fn mark(&self, step: Step) -> Mark {
        let edited = |keys: &[&str]| {
            keys.iter()
                .any(|k| self.edits.contains_key(*k) || self.blocked.contains_key(*k))
        };
        // A form of pds.env keys: a failing field first, then unsaved answers, then `rest`.
        let form_mark = |form: &crate::tui::form::Form, rest: Mark| {
            let keys: Vec<&str> = form.fields.iter().map(|f| f.key).collect();
            if form.fields.iter().any(|f| f.worst() == Level::Fail) {
                Mark::Attention
            } else if edited(&keys) {
                Mark::Edited
            } else {
                rest
            }
        };
        if let Some(room) = self.room(step) {
            let is_edited = |k: &str| edited(&[k]);
            return room.mark(&crate::tui::steps::Env {
                base: &self.base,
                edited: &is_edited,
            });
        }
        match step {
            Step::Basics => form_mark(&self.basics.form, Mark::Done),
            // Nothing here is required: done once something is set (and valid).
            Step::More => form_mark(
                &self.more.form,
                if self.more.any_set() {
                    Mark::Done
                } else {
                    Mark::Open
                },
            ),
            Step::Review if self.working.is_modified() => Mark::Edited,
            Step::Review => Mark::Open,
            // The rooms mark themselves (above).
            Step::Overview
            | Step::Server
            | Step::Accounts
            | Step::Email
            | Step::Handle
            | Step::DidFile
            | Step::Proxy
            | Step::Doctor => Mark::Open,
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

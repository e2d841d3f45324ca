//! How each step looks in the sidebar (its mark), and what a step cannot do in the demo.

use super::*;

/// How a step looks in the sidebar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    Done,
    Attention,
    Edited,
    Open,
}

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
        match step {
            Step::Basics => form_mark(&self.basics.form, Mark::Done),
            Step::Email => {
                // pds.env as it stands makes the PDS fail, and nothing on screen replaces it.
                let misread = self.email.misread.as_ref().is_some_and(|m| m.fails())
                    && !edited(&[URL_KEY, FROM_KEY]);
                if self.email.worst() == Level::Fail || misread {
                    Mark::Attention
                } else if edited(&[URL_KEY, FROM_KEY]) {
                    Mark::Edited
                } else if self.base.get(URL_KEY).is_some_and(|u| !u.is_empty()) {
                    Mark::Done
                } else {
                    Mark::Open
                }
            }
            Step::Handle => match &self.handle.report {
                Some(r) if r.verified => Mark::Done,
                Some(_) => Mark::Attention,
                None => Mark::Open,
            },
            Step::DidFile => match self.didfile.worst() {
                Level::Pass => Mark::Done,
                Level::Fail => Mark::Attention,
                _ => Mark::Open,
            },
            Step::Proxy => match (self.proxy.worst(), &self.proxy.validation) {
                (Level::Fail, _) => Mark::Attention,
                (_, Some(v)) if v.validated() && self.proxy.written.is_some() => Mark::Done,
                _ => Mark::Open,
            },
            Step::Doctor => match self.doctor.worst() {
                Level::Fail => Mark::Attention,
                Level::Pass if self.doctor.all_done() => Mark::Done,
                _ => Mark::Open,
            },
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
            Step::Overview => match self.overview.worst() {
                Some(crate::setup::State::Done) => Mark::Done,
                Some(crate::setup::State::Todo) => Mark::Attention,
                _ => Mark::Open,
            },
            Step::Server => match (&self.server.plan, &self.server.running) {
                (Some(p), Some(r)) if p.ready() && r.is_up() => Mark::Done,
                (Some(p), _) if !p.ready() => Mark::Attention,
                _ => Mark::Open,
            },
            Step::Accounts if !self.accounts.accounts().is_empty() => Mark::Done,
            Step::Accounts => Mark::Open,
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

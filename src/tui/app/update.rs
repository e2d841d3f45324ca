//! Results folded into the state: `update` takes every `Action`; a background result lands
//! only when `App::awaits` it (the one place a stale one is dropped).

use super::*;
use crate::tui::steps::{accounts, server};

pub fn update(app: &mut App, action: Action) -> Vec<Effect> {
    // The one place a stale result is dropped: nothing below, the answers file included,
    // sees an answer to a request that was overtaken or given up.
    if !app.awaits(&action) {
        return vec![];
    }
    note_answered(app, &action);
    match action {
        Action::Resize => vec![],
        Action::Signal(kind) => {
            // The terminal may be gone (SSH dropped): keep the edits and leave.
            app.quit = true;
            app.ended_by = Some(kind);
            let mut v = Vec::new();
            if app.has_unsaved() {
                v.push(Effect::WriteDraft(app.draft()));
            }
            v.push(Effect::Quit);
            v
        }
        Action::Saved(Ok((report, doc))) => {
            let rejected: Vec<String> = app.rejected().into_iter().map(|(k, _)| k).collect();
            let email_changed = [URL_KEY, FROM_KEY]
                .iter()
                .any(|k| app.base.get(k) != doc.get(k));
            app.edits.retain(|k, _| rejected.contains(k));
            app.set_base(doc);
            let mut msg = format!("Saved {}.", report.describe());
            // Which command restarts it is found off this thread (FindRestart, below).
            msg.push_str(" The PDS reads pds.env when it starts: restart it to apply.");
            app.save_result = Some((Level::Pass, msg.clone()));
            app.status = Some((Level::Pass, msg));
            let mut effects = vec![app.draft_effect()];
            if email_changed {
                // The PDS reads email settings only at start: offer (never force) a restart.
                app.email.verify_after_restart = true;
                effects.push(Effect::FindRestart);
            }
            effects
        }
        Action::Saved(Err(e)) => {
            app.save_result = Some((Level::Fail, e.clone()));
            app.status = Some((Level::Fail, e));
            vec![]
        }
        Action::Reloaded(Ok(doc)) => {
            app.set_base(doc);
            app.save_result = Some((
                Level::Info,
                "Reloaded pds.env from disk; your answers are applied on top. Review, then save."
                    .into(),
            ));
            vec![]
        }
        Action::Reloaded(Err(e)) => {
            app.status = Some((Level::Fail, e));
            vec![]
        }
        Action::Key(k) => on_key(app, k),
        Action::Paste(text) => on_paste(app, text),
        Action::Tick => {
            app.spinner = app.spinner.wrapping_add(1);
            vec![]
        }
        Action::Handle(_, done) => {
            let o = app.handle.on_result(done, &mut screen_ctx!(app));
            said(app, Step::Handle, o, Effect::Handle)
        }
        Action::DidFile(_, done) => {
            let o = app.didfile.on_result(done, &mut screen_ctx!(app));
            said(app, Step::DidFile, o, Effect::DidFile)
        }
        Action::Proxy(_, done) => {
            let o = app.proxy.on_result(done, &mut screen_ctx!(app));
            said(app, Step::Proxy, o, Effect::Proxy)
        }
        Action::Doctor(_, done) => {
            let o = app.doctor.on_result(done, &mut screen_ctx!(app));
            said(app, Step::Doctor, o, Effect::Doctor)
        }
        Action::Email(_, done) => {
            let o = app.email.on_result(done, &mut screen_ctx!(app));
            said(app, Step::Email, o, Effect::Email)
        }
        Action::RestartCommand(Some(cmd)) => {
            app.modal = Some(Modal::Restart(cmd));
            vec![]
        }
        Action::RestartCommand(None) => {
            app.status = Some((Level::Info, "Restart the PDS so it uses the new email settings (no systemd unit or compose file here; --restart-command names yours), then Ctrl-P in the Email step has the PDS send.".into()));
            vec![]
        }
        Action::Restarted(Ok(())) => {
            app.status = Some((
                Level::Pass,
                "The PDS was restarted with the new settings.".into(),
            ));
            if app.email.verify_after_restart {
                // "Email works" means the PDS sent mail: once it answers again, offer that.
                app.email.verify_after_restart = false;
                let wait = app.settings.flags.timeout * 2;
                let o = app.email.ask_pds(&mut screen_ctx!(app), wait);
                app.status = Some((
                    Level::Info,
                    "The PDS was restarted; waiting for it to answer…".into(),
                ));
                return said(app, Step::Email, o, Effect::Email);
            }
            vec![]
        }
        Action::Restarted(Err(e)) => {
            app.status = Some((Level::Fail, e));
            vec![]
        }
        Action::Relays(_, done) => {
            let o = app.relays.on_result(done, &mut screen_ctx!(app));
            said(app, Step::Relays, o, Effect::Relays)
        }
        Action::Backups(_, done) => {
            let o = app.backups.on_result(done, &mut screen_ctx!(app));
            said(app, Step::Backups, o, Effect::Backups)
        }
        Action::Overview(_, done) => {
            let o = app.overview.on_result(done, &mut screen_ctx!(app));
            said(app, Step::Overview, o, Effect::Overview)
        }
        Action::Server(_, done) => {
            if matches!(done, server::Done::Written(_)) {
                // compose.yaml may now run the installer's Caddy: the proxy step starts
                // from it.
                app.look_at_front();
            }
            let o = app.server.on_result(done, &mut screen_ctx!(app));
            said(app, Step::Server, o, Effect::Server)
        }
        Action::Accounts(_, done) => {
            if matches!(&done, accounts::Done::Moved(m) if m.moved) {
                // Other steps list accounts too: they load again when opened.
                app.handle.accounts = Accounts::NotLoaded;
            }
            let o = app.accounts.on_result(done, &mut screen_ctx!(app));
            said(app, Step::Accounts, o, Effect::Accounts)
        }
        Action::Renamed(_, r) => {
            app.rename_check = None;
            match r.filter(|r| r.needs_confirmation()) {
                Some(r) => {
                    app.save_result = None;
                    app.modal = Some(Modal::Confirm {
                        title: " Rename the PDS? ".into(),
                        body: format!(
                            "{}\n\ny: save the new name anyway   n: keep {}",
                            r.explain(),
                            r.from
                        ),
                        then: crate::tui::modal::Confirmed::Rename(r.to.clone()),
                    });
                    vec![]
                }
                None => {
                    let to = app
                        .working
                        .get("PDS_HOSTNAME")
                        .map(|h| h.trim().to_ascii_lowercase());
                    app.rename_confirmed = to;
                    save(app)
                }
            }
        }
    }
}

/// Record which results make a step's choices worth keeping in the answers file (a stale
/// result never gets here: `update` drops it first).
fn note_answered(app: &mut App, action: &Action) {
    let due = match action {
        Action::Proxy(_, crate::tui::steps::proxy::Done::Written(Ok(_))) => {
            app.answered.proxy = true;
            true
        }
        Action::DidFile(_, crate::tui::steps::didfile::Done::Written(Ok(_))) => {
            app.answered.did_file = true;
            true
        }
        Action::Email(_, crate::tui::steps::email::Done::Tested(_)) => {
            app.answered.recipient = true;
            true
        }
        Action::Handle(_, crate::tui::steps::handle::Done::Verified(r)) => {
            let h = r.handle.as_str().to_string();
            app.answered.handles.retain(|x| *x != h);
            app.answered.handles.push(h);
            // A short list: the handles this operator looks after, not every one ever typed.
            if app.answered.handles.len() > 10 {
                app.answered.handles.remove(0);
            }
            true
        }
        Action::Saved(Ok(_)) => true,
        _ => false,
    };
    app.answers_due |= due;
}

impl App {
    /// Whether any background job is pending (the event loop then ticks the spinner).
    /// Whether `action` is still awaited: a background result whose request is the one its
    /// step waits for (a result that comes after the operator changed the question — edited
    /// the plan, the handle, the mail settings — or started it again answers a question
    /// nobody asks any more), or anything that is not a background result.
    pub fn awaits(&self, action: &Action) -> bool {
        let Some(t) = action.ticket() else {
            return true;
        };
        let is = |p: &Option<jobs::Pending>| jobs::is_current(p, t);
        match action {
            Action::Email(_, done) => self.email.awaits(t, done),
            Action::Handle(_, done) => self.handle.awaits(t, done),
            Action::DidFile(_, done) => self.didfile.awaits(t, done),
            Action::Proxy(_, done) => self.proxy.awaits(t, done),
            Action::Doctor(_, done) => self.doctor.awaits(t, done),
            Action::Relays(_, done) => self.relays.awaits(t, done),
            Action::Backups(_, done) => self.backups.awaits(t, done),
            Action::Overview(_, done) => self.overview.awaits(t, done),
            Action::Server(_, done) => self.server.awaits(t, done),
            Action::Accounts(_, done) => self.accounts.awaits(t, done),
            Action::Renamed(..) => is(&self.rename_check),
            // A result kind not named above is never taken: a new one shows at once in
            // its own test (and stale_results.rs names every kind, exhaustively).
            _ => false,
        }
    }
}

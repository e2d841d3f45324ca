//! The rooms: a key, a background result or the answer to a question goes to the step it
//! belongs to, and what the step says back is carried out, its jobs made the app's effects
//! (`Effect::Handle(ticket, job)`…). The app never looks inside a room's jobs or results.

use super::*;

/// A key on a step that is a room, with what it may use of the app.
pub(super) fn on_key(app: &mut App, command: Option<Command>, k: KeyEvent) -> Vec<Effect> {
    let mut ctx = screen_ctx!(app);
    let step = app.step;
    match step {
        Step::Handle => {
            let o = app.handle.on_command(command, k, &mut ctx);
            said(app, step, o, Effect::Handle)
        }
        Step::DidFile => {
            let o = app.didfile.on_command(command, k, &mut ctx);
            said(app, step, o, Effect::DidFile)
        }
        Step::Proxy => {
            let o = app.proxy.on_command(command, k, &mut ctx);
            said(app, step, o, Effect::Proxy)
        }
        Step::Email => {
            let o = app.email.on_command(command, k, &mut ctx);
            said(app, step, o, Effect::Email)
        }
        Step::Doctor => {
            let o = app.doctor.on_command(command, k, &mut ctx);
            said(app, step, o, Effect::Doctor)
        }
        _ => {
            let o = match step {
                Step::Overview => app.overview.on_command(command, k, &mut ctx),
                Step::Server => app.server.on_command(command, k, &mut ctx),
                Step::Accounts => app.accounts.on_command(command, k, &mut ctx),
                _ => return vec![],
            };
            said(app, step, o, |_, e| e)
        }
    }
}

/// A step's own question answered: the answer goes back to the step that asked.
pub(super) fn answered(app: &mut App, step: Step, yes: bool) -> Vec<Effect> {
    let mut ctx = screen_ctx!(app);
    match step {
        Step::Handle => {
            let o = app.handle.on_answer(yes, &mut ctx);
            said(app, step, o, Effect::Handle)
        }
        Step::Proxy => {
            let o = app.proxy.on_answer(yes, &mut ctx);
            said(app, step, o, Effect::Proxy)
        }
        Step::Email => {
            let o = app.email.on_answer(yes, &mut ctx);
            said(app, step, o, Effect::Email)
        }
        Step::Doctor => {
            let o = app.doctor.on_answer(yes, &mut ctx);
            said(app, step, o, Effect::Doctor)
        }
        _ => vec![],
    }
}

/// A key on a step's open question that is not an answer: the question's new text, if
/// the step changed it.
pub(super) fn question_key(app: &mut App, step: Step, k: KeyEvent) -> Option<String> {
    match step {
        Step::Email => app.email.on_question_key(k),
        Step::Handle => app.handle.on_question_key(k),
        Step::DidFile => app.didfile.on_question_key(k),
        Step::Proxy => app.proxy.on_question_key(k),
        Step::Doctor => app.doctor.on_question_key(k),
        _ => None,
    }
}

/// A room's outcome carried out, its jobs made the app's effects.
pub(super) fn said<J>(
    app: &mut App,
    step: Step,
    outcome: Outcome<J>,
    wrap: fn(Ticket, J) -> Effect,
) -> Vec<Effect> {
    apply(app, step, outcome.map(&wrap))
}

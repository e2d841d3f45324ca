//! The rooms: a key, the answer to a question or a key on an open question goes to the
//! step it belongs to, and what the step says back is carried out, its jobs made the app's
//! effects (`Effect::Handle(ticket, job)`…). The app never looks inside a room's jobs or
//! results; `room!` names every room once, so none can be forgotten in one of the routes.

use super::*;

/// Run `$body` with `$room` bound to the room of `$step`, `$ctx` to what it may use of
/// the app, and `$wrap` to the effect that carries its jobs; `$none` for the steps that
/// are the app's own forms (Basics, More settings, Review).
macro_rules! room {
    ($app:ident, $step:expr, |$room:ident, $ctx:ident, $wrap:ident| $body:expr, $none:expr) => {
        match $step {
            Step::Overview => room!(@ $app, overview, Overview, $room, $ctx, $wrap, $body),
            Step::Server => room!(@ $app, server, Server, $room, $ctx, $wrap, $body),
            Step::Accounts => room!(@ $app, accounts, Accounts, $room, $ctx, $wrap, $body),
            Step::Email => room!(@ $app, email, Email, $room, $ctx, $wrap, $body),
            Step::Handle => room!(@ $app, handle, Handle, $room, $ctx, $wrap, $body),
            Step::DidFile => room!(@ $app, didfile, DidFile, $room, $ctx, $wrap, $body),
            Step::Proxy => room!(@ $app, proxy, Proxy, $room, $ctx, $wrap, $body),
            Step::Doctor => room!(@ $app, doctor, Doctor, $room, $ctx, $wrap, $body),
            Step::Relays => room!(@ $app, relays, Relays, $room, $ctx, $wrap, $body),
            Step::Backups => room!(@ $app, backups, Backups, $room, $ctx, $wrap, $body),
            Step::Basics | Step::More | Step::Review => $none,
        }
    };
    (@ $app:ident, $field:ident, $variant:ident, $room:ident, $ctx:ident, $wrap:ident, $body:expr) => {{
        let $room = &mut $app.$field;
        #[allow(unused_mut, unused_variables)]
        let mut $ctx = screen_ctx!($app);
        #[allow(unused_variables)]
        let $wrap = Effect::$variant;
        $body
    }};
}

/// A key on a step that is a room.
pub(super) fn on_key(app: &mut App, command: Option<Command>, k: KeyEvent) -> Vec<Effect> {
    let step = app.step;
    room!(
        app,
        step,
        |room, ctx, wrap| {
            let o = room.on_command(command, k, &mut ctx);
            said(app, step, o, wrap)
        },
        vec![]
    )
}

/// A step opened: what it starts (its first look, a list to load, an offer to make).
pub(super) fn opened(app: &mut App, step: Step) -> Vec<Effect> {
    room!(
        app,
        step,
        |room, ctx, wrap| {
            let o = room.on_open(&mut ctx);
            said(app, step, o, wrap)
        },
        vec![]
    )
}

/// A step's own question answered: the answer goes back to the step that asked.
pub(super) fn answered(app: &mut App, step: Step, yes: bool) -> Vec<Effect> {
    room!(
        app,
        step,
        |room, ctx, wrap| {
            let o = room.on_answer(yes, &mut ctx);
            said(app, step, o, wrap)
        },
        vec![]
    )
}

/// A key on a step's open question that is not an answer: the question's new text, if
/// the step changed it.
pub(super) fn question_key(app: &mut App, step: Step, k: KeyEvent) -> Option<String> {
    room!(app, step, |room, _ctx, _wrap| room.on_question_key(k), None)
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

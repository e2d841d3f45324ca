//! Effects: the I/O that `update` asks for (writes, checks, sends), as data, and the runner
//! that carries them out — quick local work at once, network work on the runtime, each
//! result sent back to the loop as an `Action` carrying its request's ticket.

use crate::envfile::Document;
use crate::tui::app::{update, App};
use crate::tui::draft::{self};
use crate::tui::jobs::{Sink, Task};
use crate::tui::msg::Action;
pub use crate::tui::msg::Effect;
use crate::tui::steps::accounts::AccountsScreen;
use crate::tui::steps::backups::BackupsScreen;
use crate::tui::steps::didfile::DidFileScreen;
use crate::tui::steps::doctor::DoctorScreen;
use crate::tui::steps::email::EmailScreen;
use crate::tui::steps::handle::HandleScreen;
use crate::tui::steps::overview::OverviewScreen;
use crate::tui::steps::proxy::ProxyScreen;
use crate::tui::steps::relays::RelaysScreen;
use crate::tui::steps::server::ServerScreen;
use crate::tui::steps::Room;
use std::sync::mpsc;

/// What effects need to do their work: the channel back to the loop, and a runtime for
/// network checks (so the screen keeps answering keys while they run).
pub(crate) struct Runner {
    pub(crate) tx: mpsc::Sender<Action>,
    pub(crate) runtime: tokio::runtime::Runtime,
}

/// Run `work` on `runtime` and send its result; the loop keeps handling keys meanwhile.
pub fn spawn_job<F>(runtime: &tokio::runtime::Handle, tx: mpsc::Sender<Action>, work: F)
where
    F: std::future::Future<Output = Action> + Send + 'static,
{
    runtime.spawn(async move {
        let _ = tx.send(work.await);
    });
}

/// Run effects; their results go back through `update` at once (they are quick, local I/O).
pub(crate) fn run_effects(app: &mut App, effects: Vec<Effect>, runner: &Runner) {
    let mut queue: std::collections::VecDeque<Effect> = effects.into();
    while let Some(e) = queue.pop_front() {
        let follow_up = match e {
            Effect::Save(mut doc) => {
                let r = doc
                    .save()
                    .map(|report| (report, *doc))
                    .map_err(|e| e.to_string());
                update(app, Action::Saved(r))
            }
            Effect::Reload(path) => {
                let r = Document::load(&path).map_err(|e| e.to_string());
                update(app, Action::Reloaded(r))
            }
            Effect::WriteDraft(d) => {
                if let Err(e) = draft::save(&d) {
                    app.status = Some((
                        crate::finding::Level::Warn,
                        format!("could not write the draft: {e}"),
                    ));
                }
                vec![]
            }
            Effect::DeleteDraft(p) => {
                draft::delete(&p);
                vec![]
            }
            Effect::FindRestart => {
                let cmd = crate::pds::restart_command(&app.settings.flags);
                update(app, Action::RestartCommand(cmd))
            }
            Effect::Restart(cmd) => {
                run_command(runner, cmd, Action::Restarted);
                vec![]
            }
            Effect::DidFile(t, job) => {
                let task = DidFileScreen::run(job, &app.ctx());
                start(app, runner, task, move |d| Action::DidFile(t, d))
            }
            Effect::Email(t, job) => {
                let task = EmailScreen::run(job, &app.ctx());
                start(app, runner, task, move |d| Action::Email(t, d))
            }
            Effect::Doctor(t, job) => {
                let task = DoctorScreen::run(job, &app.ctx());
                start(app, runner, task, move |d| Action::Doctor(t, d))
            }
            Effect::Proxy(t, job) => {
                let task = ProxyScreen::run(job, &app.ctx());
                start(app, runner, task, move |d| Action::Proxy(t, d))
            }
            Effect::Handle(t, job) => {
                let task = HandleScreen::run(job, &app.ctx());
                start(app, runner, task, move |d| Action::Handle(t, d))
            }
            Effect::Relays(t, job) => {
                let task = RelaysScreen::run(job, &app.ctx());
                start(app, runner, task, move |d| Action::Relays(t, d))
            }
            Effect::Backups(t, job) => {
                let task = BackupsScreen::run(job, &app.ctx());
                start(app, runner, task, move |d| Action::Backups(t, d))
            }
            Effect::Overview(t, job) => {
                let task = OverviewScreen::run(job, &app.ctx());
                start(app, runner, task, move |d| Action::Overview(t, d))
            }
            Effect::Server(t, job) => {
                let task = ServerScreen::run(job, &app.ctx());
                start(app, runner, task, move |d| Action::Server(t, d))
            }
            Effect::Accounts(t, job) => {
                let task = AccountsScreen::run(job, &app.ctx());
                start(app, runner, task, move |d| Action::Accounts(t, d))
            }
            Effect::CheckRename { ticket, saved, to } => {
                let settings = app.settings.clone();
                let task = Task::future(async move {
                    crate::setup::rename::impact(&saved, &to, &settings)
                        .await
                        .map(Box::new)
                });
                start(app, runner, task, move |r| Action::Renamed(ticket, r))
            }
            Effect::Quit => {
                app.quit = true;
                vec![]
            }
        };
        queue.extend(follow_up);
    }
}

/// Start a step's task: one done at once lands now, through `update` like any result;
/// the others send theirs back to the loop (a streaming one, each as it comes).
fn start<D: Send + 'static>(
    app: &mut App,
    runner: &Runner,
    task: Task<D>,
    done: impl Fn(D) -> Action + Send + Sync + 'static,
) -> Vec<Effect> {
    match spawn_task(runner.runtime.handle(), runner.tx.clone(), task, done) {
        Some(now) => update(app, now),
        None => vec![],
    }
}

/// Carry out a step's task off the loop, each result sent back as `done(result)`; a task
/// done at once is returned instead, for the caller to fold in.
pub fn spawn_task<D: Send + 'static>(
    runtime: &tokio::runtime::Handle,
    tx: mpsc::Sender<Action>,
    task: Task<D>,
    done: impl Fn(D) -> Action + Send + Sync + 'static,
) -> Option<Action> {
    match task {
        Task::Now(d) => return Some(done(d)),
        Task::Async(work) => {
            runtime.spawn(async move {
                let _ = tx.send(done(work.await));
            });
        }
        Task::Blocking(work) => {
            runtime.spawn_blocking(move || {
                let _ = tx.send(done(work()));
            });
        }
        Task::Stream(work) => {
            let done = std::sync::Arc::new(done);
            let (each, each_tx) = (done.clone(), tx.clone());
            let sink: Sink<D> = Box::new(move |d| {
                let _ = each_tx.send(each(d));
            });
            runtime.spawn(async move {
                let last = work(sink).await;
                let _ = tx.send(done(last));
            });
        }
    }
    None
}

/// Run a command the operator confirmed (a restart, a reload) off the loop; its outcome
/// comes back as `done(result)`.
fn run_command(runner: &Runner, cmd: Vec<String>, done: fn(Result<(), String>) -> Action) {
    let tx = runner.tx.clone();
    runner.runtime.spawn_blocking(move || {
        let _ = tx.send(done(crate::pds::restart(&cmd)));
    });
}

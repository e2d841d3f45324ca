//! The interactive wizard. `run` owns the terminal; everything else is state and drawing.

pub mod app;
pub mod draft;
pub mod form;
pub mod jobs;
pub mod screens;
pub mod strings;
pub mod theme;
pub mod widgets;

use crate::context::Context;
use crate::envfile::Document;
use anyhow::{Context as _, Result};
use app::{update, Action, App, Effect, SignalKind};
use crossterm::event::{Event, KeyEventKind};
use std::sync::mpsc;

fn load(path: &std::path::Path) -> Result<Document> {
    if !path.exists() {
        anyhow::bail!(
            "{} does not exist.\n  Try the wizard without a PDS:  pds-wizard --demo\n  Start a new install:          pds-wizard env init --hostname pds.example.com --admin-email you@example.com\n  Point at another file:        pds-wizard --env-file PATH",
            path.display()
        );
    }
    Ok(Document::load(path)?)
}

/// What effects need to do their work: the channel back to the loop, and a runtime for
/// network checks (so the screen keeps answering keys while they run).
struct Runner {
    tx: mpsc::Sender<Action>,
    runtime: tokio::runtime::Runtime,
}

/// How the wizard opens: on the env file, or on the demo sandbox with or without stand-ins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Normal,
    Demo { stand_ins: bool },
}

/// Run the wizard. `Ok(Some(signal))` when a signal or a lost terminal ended it (the caller
/// exits with 128 + its number, so a wrapper can tell).
pub fn run(ctx: &Context, mode: Mode) -> Result<Option<SignalKind>> {
    let demo = mode != Mode::Normal;
    let env_path = if demo {
        crate::demo::prepare_sandbox()?
    } else {
        ctx.env_file.clone()
    };
    let mut ctx = Context {
        env_file: env_path.clone(),
        ..ctx.clone()
    };
    // Stand-ins start before the terminal is taken over, so their progress is plain text.
    let lab = match mode {
        Mode::Demo { stand_ins: true } => Some(start_lab(&env_path, &mut ctx)?),
        _ => None,
    };
    let doc = load(&env_path)?;
    if demo {
        // The demo writes proxy configs into its sandbox, never into /etc.
        if let Some(sandbox) = env_path.parent() {
            for d in [
                "etc/nginx/sites-available",
                "etc/caddy",
                "etc/traefik/dynamic",
            ] {
                std::fs::create_dir_all(sandbox.join(d))
                    .with_context(|| format!("cannot create {}", sandbox.join(d).display()))?;
            }
        }
    }
    let settings = crate::settings::Resolved::new(&ctx, Some(&doc));
    let mut app = App::new(doc, settings, mode);
    if let Some(d) = draft::load(&env_path) {
        app.offer_draft(d);
    }
    // Filled in below, once the proxy form has its root (setting the root resets it).
    let saved = match crate::answers::load(&crate::answers::path_for(&env_path)) {
        Ok(a) => a,
        Err(e) => {
            app.status = Some((
                crate::finding::Level::Warn,
                format!("{e} (starting without it)"),
            ));
            None
        }
    };
    if demo {
        app.demo_standins = Some(lab.as_ref().map(|l| l.standins.clone()).unwrap_or_default());
    }
    if let Some(lab) = &lab {
        app.data_dir = lab.pds_data_dir();
    }
    if let Some(a) = &saved {
        app.load_answers(a);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let theme = theme::Theme::from_env();

    let (tx, rx) = mpsc::channel::<Action>();
    // Signals before the terminal changes: a SIGHUP from a dropped SSH session or a
    // SIGTERM must restore the terminal and keep the answers, not kill us mid-frame.
    // SIGQUIT too: its default would leave the terminal raw.
    let mut signals = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGQUIT,
    ])
    .context("cannot install signal handlers")?;
    let sig_tx = tx.clone();
    std::thread::spawn(move || {
        for s in signals.forever() {
            let kind = match s {
                signal_hook::consts::SIGHUP => SignalKind::Hangup,
                signal_hook::consts::SIGINT => SignalKind::Interrupt,
                signal_hook::consts::SIGQUIT => SignalKind::Quit,
                _ => SignalKind::Terminate,
            };
            // Flagged first, so the loop sees it ahead of any input already queued (a
            // large paste), then sent to wake a loop that is waiting.
            PENDING_SIGNAL.store(kind.number(), std::sync::atomic::Ordering::SeqCst);
            if sig_tx.send(Action::Signal(kind)).is_err() {
                break;
            }
        }
    });

    let mut terminal = ratatui::try_init()
        .context("cannot set up the terminal (is this an interactive terminal?)")?;
    // A paste arrives as one event (inserted as one edit), not as thousands of keys.
    let _ = crossterm::execute!(std::io::stdout(), crossterm::event::EnableBracketedPaste);
    let input_tx = tx.clone();
    std::thread::spawn(move || loop {
        let action = match crossterm::event::read() {
            Ok(Event::Key(k)) if k.kind != KeyEventKind::Release => Action::Key(k),
            Ok(Event::Paste(text)) => Action::Paste(text),
            Ok(Event::Resize(..)) => Action::Resize,
            Ok(_) => continue,
            // The terminal is gone (end of file, an error): treat it like a hang-up.
            Err(_) => {
                PENDING_SIGNAL.store(
                    SignalKind::Hangup.number(),
                    std::sync::atomic::Ordering::SeqCst,
                );
                Action::Signal(SignalKind::Hangup)
            }
        };
        let stop = matches!(action, Action::Signal(_));
        if input_tx.send(action).is_err() || stop {
            break;
        }
    });

    watch_for_hang_up(tx.clone());
    let runner = Runner { tx, runtime };
    let result = event_loop(&mut terminal, &mut app, &theme, &rx, &runner);
    let _ = crossterm::execute!(std::io::stdout(), crossterm::event::DisableBracketedPaste);
    // try_restore, not restore: after a hang-up the terminal is gone, and restore's
    // eprintln! of that failure would panic on the dead stderr (and abort the process).
    if let Err(e) = ratatui::try_restore() {
        if app.ended_by != Some(SignalKind::Hangup) {
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "could not restore the terminal: {e}");
        }
    }
    if app.ended_by == Some(SignalKind::Hangup) {
        // Dropping it would show the cursor on the dead terminal and eprintln! the failure,
        // which panics on a dead stderr: the process would abort instead of exiting 129.
        std::mem::forget(terminal);
    }
    if demo && result.is_ok() {
        println!(
            "Demo sandbox: {} (delete it to start the demo afresh)",
            env_path.display()
        );
        if let Some(lab) = &lab {
            if let Some(dir) = &lab.mail_dir {
                println!(
                    "Test mails the SMTP stand-in received: {} (in {})",
                    lab.mails(),
                    dir.display()
                );
            }
        }
    }
    // Dropping the lab stops the stand-ins.
    drop(lab);
    result.map(|()| app.ended_by)
}

fn start_lab(env_path: &std::path::Path, ctx: &mut Context) -> Result<crate::demo::Lab> {
    let sandbox = env_path.parent().unwrap_or(std::path::Path::new("."));
    let doc = load(env_path)?;
    eprintln!(
        "pds-wizard demo: starting local stand-ins (127.0.0.1 only; --no-stand-ins skips this)"
    );
    let lab = crate::demo::Lab::start(sandbox, &doc, &mut |line| eprintln!("  {line}"));
    for s in &lab.standins {
        let mark = if s.live { "✓" } else { "✗ no" };
        eprintln!("  {mark} {}: {}", s.kind.label(), s.detail);
    }
    match lab.fill_email(env_path) {
        Ok(true) => eprintln!("  the sandbox pds.env now sends mail through the SMTP stand-in"),
        Ok(false) => {}
        Err(e) => eprintln!("  could not set the SMTP stand-in in the sandbox: {e}"),
    }
    lab.apply(ctx);
    Ok(lab)
}

fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    app: &mut App,
    theme: &theme::Theme,
    rx: &mpsc::Receiver<Action>,
    runner: &Runner,
) -> Result<()> {
    loop {
        // Draw only after something changed; an idle wizard writes nothing to the terminal.
        if terminal.draw(|f| screens::draw(f, app, theme)).is_err() {
            // The terminal went away mid-draw (dropped connection): keep the answers.
            let effects = update(app, Action::Signal(SignalKind::Hangup));
            run_effects(app, effects, runner);
            return Ok(());
        }
        let Some(first) = next_action(app, rx) else {
            return Ok(());
        };
        let mut effects = Vec::new();
        let started = std::time::Instant::now();
        let mut next = Some(first);
        // Fold a burst of input into one frame, for at most a frame's time, and let a
        // signal (a hang-up, SIGTERM) overtake whatever input is still queued.
        while let Some(action) = next.take() {
            if let Some(kind) = take_pending_signal() {
                fold(&mut effects, update(app, Action::Signal(kind)));
                break;
            }
            fold(&mut effects, update(app, action));
            if app.quit || started.elapsed() > FRAME_BUDGET {
                break;
            }
            next = rx.try_recv().ok();
        }
        run_effects(app, effects, runner);
        if app.answers_due {
            save_answers(app);
        }
        if app.quit {
            return Ok(());
        }
    }
}

/// A terminal can go away without a SIGHUP reaching us (we are not its session leader, a
/// wrapper swallowed it); reading it then returns end-of-file forever, which crossterm
/// retries in a busy loop. So a thread waits in poll(2) on the terminal for POLLHUP alone,
/// asleep until it comes (no wake-ups while idle), and turns it into a hang-up.
fn watch_for_hang_up(tx: mpsc::Sender<Action>) {
    use std::os::fd::AsRawFd;
    let Ok(tty) = std::fs::File::open("/dev/tty") else {
        return;
    };
    std::thread::spawn(move || loop {
        // events = 0: POLLHUP and POLLERR are always reported, and nothing else is asked.
        let mut fds = [libc::pollfd {
            fd: tty.as_raw_fd(),
            events: 0,
            revents: 0,
        }];
        // SAFETY: one valid pollfd, owned by this frame, for the duration of the call.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), 1, -1) };
        if n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
            continue;
        }
        if n > 0 && fds[0].revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) == 0 {
            continue;
        }
        PENDING_SIGNAL.store(
            SignalKind::Hangup.number(),
            std::sync::atomic::Ordering::SeqCst,
        );
        let _ = tx.send(Action::Signal(SignalKind::Hangup));
        return;
    });
}

/// A signal the loop has not acted on yet (its number), set by the signal thread.
static PENDING_SIGNAL: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

/// How long one burst of input may be folded before a frame is drawn.
const FRAME_BUDGET: std::time::Duration = std::time::Duration::from_millis(30);

fn take_pending_signal() -> Option<SignalKind> {
    match PENDING_SIGNAL.swap(0, std::sync::atomic::Ordering::SeqCst) {
        0 => None,
        1 => Some(SignalKind::Hangup),
        2 => Some(SignalKind::Interrupt),
        3 => Some(SignalKind::Quit),
        _ => Some(SignalKind::Terminate),
    }
}

/// Add `more` effects to a frame's `effects`, keeping only the newest draft write: one
/// draft per frame however many keys it holds (a snapshot per key made a paste crawl).
fn fold(effects: &mut Vec<Effect>, more: Vec<Effect>) {
    for e in more {
        if matches!(e, Effect::WriteDraft(_) | Effect::DeleteDraft(_)) {
            effects.retain(|x| !matches!(x, Effect::WriteDraft(_) | Effect::DeleteDraft(_)));
        }
        effects.push(e);
    }
}

/// Write the answers file beside pds.env when the answers changed (never a secret in it).
fn save_answers(app: &mut App) {
    app.answers_due = false;
    let answers = app.current_answers();
    if answers == app.saved_answers {
        return;
    }
    let path = crate::answers::path_for(&app.env_path);
    match crate::answers::save(&path, &answers) {
        Ok(_) => app.saved_answers = answers,
        Err(e) => {
            app.status = Some((
                crate::finding::Level::Warn,
                format!("answers not kept: {e}"),
            ))
        }
    }
}

/// How often the spinner turns while work is pending.
pub const SPIN: std::time::Duration = std::time::Duration::from_millis(120);

/// The next action for the loop: what arrives, or — while the app is busy and nothing came
/// for `SPIN` — a `Tick`, so one spinner turns however many jobs run, and an idle wizard
/// waits without waking. None when every sender is gone.
pub fn next_action(app: &App, rx: &mpsc::Receiver<Action>) -> Option<Action> {
    if !app.busy() {
        return rx.recv().ok();
    }
    match rx.recv_timeout(SPIN) {
        Ok(a) => Some(a),
        Err(mpsc::RecvTimeoutError::Timeout) => Some(Action::Tick),
        Err(mpsc::RecvTimeoutError::Disconnected) => None,
    }
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

/// Send a test mail in the background (see `spawn_job`).
pub fn spawn_test_send(
    runtime: &tokio::runtime::Handle,
    tx: mpsc::Sender<Action>,
    ticket: app::Ticket,
    settings: crate::email::SmtpSettings,
    to: String,
    options: crate::email::send::SendOptions,
) {
    spawn_job(runtime, tx, async move {
        Action::TestMailDone(
            ticket,
            Box::new(crate::email::send::test_send(&settings, &to, &options).await),
        )
    });
}

/// Run effects; their results go back through `update` at once (they are quick, local I/O).
fn run_effects(app: &mut App, effects: Vec<Effect>, runner: &Runner) {
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
            Effect::SendTestMail {
                ticket,
                settings,
                to,
                options,
            } => {
                spawn_test_send(
                    runner.runtime.handle(),
                    runner.tx.clone(),
                    ticket,
                    *settings,
                    to,
                    options,
                );
                vec![]
            }
            Effect::LoadCodes { ticket, dir } => {
                let tx = runner.tx.clone();
                runner.runtime.spawn_blocking(move || {
                    let r = crate::pds::data::pending_codes(&dir)
                        .map_err(|e| format!("{e} — {}", e.fix()));
                    let _ = tx.send(Action::CodesLoaded(ticket, r));
                });
                vec![]
            }
            Effect::FindRestart => {
                let cmd = crate::pds::restart_command(&app.env_path);
                update(app, Action::RestartCommand(cmd))
            }
            Effect::Restart(cmd) => {
                let tx = runner.tx.clone();
                runner.runtime.spawn_blocking(move || {
                    let _ = tx.send(Action::Restarted(crate::pds::restart(&cmd)));
                });
                vec![]
            }
            Effect::LoadAccounts {
                ticket,
                pds_url,
                admin_password,
            } => {
                let http = app.settings.http.clone();
                let tx = runner.tx.clone();
                runner.runtime.spawn(async move {
                    let r =
                        crate::pds::accounts::list_accounts(&pds_url, &admin_password, &http).await;
                    let _ = tx.send(Action::AccountsLoaded(ticket, r));
                });
                vec![]
            }
            Effect::VerifyHandle {
                ticket,
                handle,
                did,
                options,
            } => {
                spawn_job(runner.runtime.handle(), runner.tx.clone(), async move {
                    Action::HandleVerified(
                        ticket,
                        Box::new(crate::identity::verify(&handle, &did, &options).await),
                    )
                });
                vec![]
            }
            Effect::ScheduleRecheck(after) => {
                let tx = runner.tx.clone();
                runner.runtime.spawn(async move {
                    tokio::time::sleep(after).await;
                    let _ = tx.send(Action::AutoRecheck);
                });
                vec![]
            }
            Effect::WriteDidFile { webroot, did } => {
                let r = crate::identity::didfile::write_did_file(&webroot, &did).map(|_| {
                    crate::identity::didfile::did_file_path(&webroot)
                        .display()
                        .to_string()
                });
                update(app, Action::DidFileWritten(r))
            }
            Effect::CheckDidFile {
                ticket,
                handle,
                did,
                options,
            } => {
                spawn_job(runner.runtime.handle(), runner.tx.clone(), async move {
                    Action::DidFileChecked(
                        ticket,
                        Box::new(
                            crate::identity::didfile::check_did_file(
                                &handle,
                                did.as_ref(),
                                &options,
                            )
                            .await,
                        ),
                    )
                });
                vec![]
            }
            Effect::ValidateProxy {
                ticket,
                plan,
                files,
            } => {
                // The server's own check can be slow (Traefik starts up): a floor of 10 s.
                let timeout = app
                    .settings
                    .http
                    .timeout
                    .max(std::time::Duration::from_secs(10));
                spawn_job(runner.runtime.handle(), runner.tx.clone(), async move {
                    Action::ProxyValidated(
                        ticket,
                        Box::new(
                            crate::proxy::validate::validate_plan(&plan, &files, timeout).await,
                        ),
                    )
                });
                vec![]
            }
            Effect::WriteProxy { files, placements } => {
                let r = crate::proxy::install::write(&files, &placements).map(|done| {
                    done.iter()
                        .map(|(path, report)| format!("wrote {}", report.describe(path)))
                        .collect()
                });
                update(app, Action::ProxyWritten(r))
            }
            Effect::ReloadProxy(cmd) => {
                let tx = runner.tx.clone();
                runner.runtime.spawn_blocking(move || {
                    let _ = tx.send(Action::ProxyReloaded(crate::pds::restart(&cmd)));
                });
                vec![]
            }
            Effect::RequestCrawl { ticket } => {
                let mut inputs = crate::doctor::Inputs::load(&app.settings.flags, vec![]);
                inputs.request_crawl = true;
                let check = crate::doctor::CheckId::Crawlers.check();
                spawn_job(runner.runtime.handle(), runner.tx.clone(), async move {
                    let r = crate::doctor::run_one(check, std::sync::Arc::new(inputs)).await;
                    Action::DoctorResult(ticket, Box::new(r))
                });
                vec![]
            }
            Effect::RunDoctor { ticket, checks } => {
                // Read pds.env afresh: the doctor checks the file as it is on disk.
                let inputs =
                    std::sync::Arc::new(crate::doctor::Inputs::load(&app.settings.flags, vec![]));
                let checks: Vec<&'static crate::doctor::Check> =
                    checks.iter().map(|id| id.check()).collect();
                let tx = runner.tx.clone();
                spawn_job(runner.runtime.handle(), runner.tx.clone(), async move {
                    futures::future::join_all(checks.into_iter().map(|c| {
                        let inputs = inputs.clone();
                        let tx = tx.clone();
                        async move {
                            let r = crate::doctor::run_one(c, inputs).await;
                            let _ = tx.send(Action::DoctorResult(ticket, Box::new(r)));
                        }
                    }))
                    .await;
                    Action::DoctorDone(ticket)
                });
                vec![]
            }
            Effect::Quit => {
                app.quit = true;
                vec![]
            }
        };
        queue.extend(follow_up);
    }
}

#[cfg(test)]
mod tests;

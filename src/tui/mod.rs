//! The interactive wizard. `run` owns the terminal; everything else is state and drawing.

pub mod app;
pub mod draft;
pub mod effects;
pub mod firstrun;
pub mod form;
pub mod frame;
pub mod jobs;
pub mod keys;
pub mod modal;
pub mod msg;
pub mod outcome;
pub mod route;
pub mod step;
pub mod steps;
pub mod strings;
pub mod theme;
pub mod widgets;

use crate::context::Context;
use crate::envfile::Document;
use anyhow::{Context as _, Result};
use app::{update, Action, App, Effect, SignalKind};
use crossterm::event::{Event, KeyEventKind};
use effects::{run_effects, Runner};
pub use effects::{spawn_job, spawn_task};
use std::path::Path;
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
        // The demo's one root: every path a step writes is placed under it, and nothing
        // outside pds-wizard's own state directory is written, started or reloaded.
        sandbox: demo
            .then(|| env_path.parent().map(Path::to_path_buf))
            .flatten(),
        ..ctx.clone()
    };
    if demo {
        crate::fsutil::confine_writes(&crate::fsutil::state_dir());
        crate::run::forbid_machine_changes();
    }
    // Stand-ins start before the terminal is taken over, so their progress is plain text.
    let lab = match mode {
        Mode::Demo { stand_ins: true } => Some(start_lab(&env_path, &mut ctx)?),
        _ => None,
    };
    // No pds.env on a terminal: the first-run screen asks and writes it (elsewhere, `load`
    // says how to start).
    use std::io::IsTerminal;
    let mut first_written = false;
    if !demo && !env_path.exists() && std::io::stdin().is_terminal() {
        match firstrun::run(&env_path, &theme::Theme::from_env())? {
            Some(_) => first_written = true,
            None => {
                println!(
                    "Nothing written. Run pds-wizard again to set up, or: pds-wizard env init"
                );
                return Ok(None);
            }
        }
    }
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
    if first_written {
        // Said where it is seen: the file exists now, and holds secrets worth a backup.
        app.status = Some((
            crate::finding::Level::Pass,
            format!(
                "Wrote {} (mode 0600) with new secrets: keep a copy somewhere safe. Enter checks every milestone.",
                env_path.display()
            ),
        ));
    }
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
    // Work still under way does not hold the exit (the start command may run for minutes
    // while the terminal sits blank): a moment for a save to finish, then it is left to
    // itself. A start command already running goes on in its own process.
    let starting = app.server.starting.is_some();
    runner
        .runtime
        .shutdown_timeout(std::time::Duration::from_secs(2));
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
    if starting && app.ended_by != Some(SignalKind::Hangup) {
        println!("Left while the PDS was starting: its start command goes on by itself. Check it with: pds-wizard service status");
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
    lab.apply(ctx);
    match lab.write_cli_flags(env_path) {
        Ok(p) => eprintln!(
            "  the command line against them, from another terminal: pds-wizard $(cat {}) doctor",
            p.display()
        ),
        Err(e) => eprintln!("  {e}"),
    }
    Ok(lab)
}

/// One frame, as a synchronized update (DEC private mode 2026): a terminal that knows the
/// mode shows the frame whole, never half-written — over a slow SSH link, and to the tests'
/// screen reader, which would otherwise judge a frame torn between two reads.
pub(crate) fn draw_whole(
    terminal: &mut ratatui::DefaultTerminal,
    draw: impl FnOnce(&mut ratatui::Frame),
) -> std::io::Result<()> {
    use crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
    crossterm::queue!(terminal.backend_mut(), BeginSynchronizedUpdate)?;
    let drawn = terminal.draw(draw).map(|_| ());
    // Ended even when the draw failed: a terminal left inside the mode stops showing output.
    let ended = crossterm::execute!(terminal.backend_mut(), EndSynchronizedUpdate);
    drawn.and(ended)
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
        if draw_whole(terminal, |f| frame::draw(f, app, theme)).is_err() {
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

#[cfg(test)]
mod tests;

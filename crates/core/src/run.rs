//! One bounded way to run a program (a service command, a reload, `nft`, `ufw`, `caddy
//! adapt`, a log reader): both pipes drained as they fill, killed at its limit. A leaf:
//! every module that runs a program uses it, and it uses none of them.

use std::process::Command;

/// --demo: nothing that changes this machine (a start, a restart, a reload, a firewall
/// rule) may run. Set once, at the demo's start.
static NO_MACHINE_CHANGES: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// The demo's own commands that may still run (restarting its PDS stand-in).
static PERMITTED: std::sync::Mutex<Vec<Vec<String>>> = std::sync::Mutex::new(Vec::new());

/// From now on, `may_change_machine` refuses every command but the `permit`ted.
pub fn forbid_machine_changes() {
    NO_MACHINE_CHANGES.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// Let exactly `argv` run under `forbid_machine_changes` (a command of the demo's own,
/// acting on its sandbox only).
pub fn permit(argv: Vec<String>) {
    PERMITTED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(argv);
}

/// Whether `argv` may run now: always, unless the demo forbade machine changes and did
/// not permit exactly this command.
pub fn may_change_machine<S: AsRef<str>>(argv: &[S]) -> Result<(), String> {
    if !NO_MACHINE_CHANGES.load(std::sync::atomic::Ordering::SeqCst) {
        return Ok(());
    }
    let argv: Vec<&str> = argv.iter().map(AsRef::as_ref).collect();
    let permitted = PERMITTED.lock().unwrap_or_else(|e| e.into_inner());
    if permitted
        .iter()
        .any(|p| p.iter().map(String::as_str).eq(argv.iter().copied()))
    {
        return Ok(());
    }
    Err(format!(
        "this is the demo: it does not run `{}` on this machine (on a server, run pds-wizard without --demo)",
        argv.join(" ")
    ))
}

/// How a bounded command went.
pub enum Ran {
    /// It exited: whether it succeeded, and what it printed (stdout, then stderr).
    Done {
        ok: bool,
        text: String,
    },
    CannotRun(String),
    /// Killed at the limit.
    TimedOut,
}

/// Run `prog` for at most `limit`, reading both pipes as they fill: a long log or an image
/// pull's progress would otherwise block the program on a full pipe and never finish.
pub fn run_bounded(prog: &str, args: &[&str], limit: std::time::Duration) -> Ran {
    match run_bounded_apart(prog, args, limit) {
        RanApart::Done { ok, stdout, stderr } => Ran::Done {
            ok,
            text: stdout + &stderr,
        },
        RanApart::CannotRun(e) => Ran::CannotRun(e),
        RanApart::TimedOut => Ran::TimedOut,
    }
}

/// `run_bounded`, with what the program wrote to each pipe kept apart (a JSON answer on
/// stdout, its warnings on stderr).
pub enum RanApart {
    Done {
        ok: bool,
        stdout: String,
        stderr: String,
    },
    CannotRun(String),
    TimedOut,
}

pub fn run_bounded_apart(prog: &str, args: &[&str], limit: std::time::Duration) -> RanApart {
    let mut cmd = Command::new(prog);
    cmd.args(args);
    run_command_apart(cmd, limit)
}

/// The same bound on the async runtime: the program runs at most `limit` and is killed
/// then (or when the future is dropped); its pipes are read as they fill.
pub async fn run_async(cmd: &mut tokio::process::Command, limit: std::time::Duration) -> RanApart {
    use std::process::Stdio;
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return RanApart::CannotRun(e.to_string()),
    };
    match tokio::time::timeout(limit, child.wait_with_output()).await {
        Err(_) => RanApart::TimedOut,
        Ok(Err(e)) => RanApart::CannotRun(e.to_string()),
        Ok(Ok(out)) => RanApart::Done {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        },
    }
}

/// `run_bounded_apart` for a command already set up (its environment, say).
pub fn run_command_apart(mut cmd: Command, limit: std::time::Duration) -> RanApart {
    use std::io::Read;
    use std::process::Stdio;
    use std::time::{Duration, Instant};
    let mut child = match cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => return RanApart::CannotRun(e.to_string()),
    };
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break st,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return RanApart::TimedOut;
            }
        }
    };
    // A grandchild that keeps the pipes open must not hold us past the limit.
    let until = deadline.max(Instant::now()) + Duration::from_millis(200);
    let collect = |h: std::thread::JoinHandle<Vec<u8>>| {
        while !h.is_finished() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(10));
        }
        match h.is_finished() {
            true => String::from_utf8_lossy(&h.join().unwrap_or_default()).into_owned(),
            false => String::new(),
        }
    };
    RanApart::Done {
        ok: status.success(),
        stdout: collect(out),
        stderr: collect(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn both_runners_bound_a_program_and_keep_its_pipes_apart() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let said = "echo out; echo err >&2; exit 3";
        match run_bounded_apart("sh", &["-c", said], Duration::from_secs(5)) {
            RanApart::Done { ok, stdout, stderr } => {
                assert!(!ok);
                assert_eq!((stdout.as_str(), stderr.as_str()), ("out\n", "err\n"));
            }
            _ => panic!("sh did not run"),
        }
        let mut cmd = tokio::process::Command::new("sh");
        cmd.args(["-c", said]);
        match rt.block_on(run_async(&mut cmd, Duration::from_secs(5))) {
            RanApart::Done { ok, stdout, stderr } => {
                assert!(!ok);
                assert_eq!((stdout.as_str(), stderr.as_str()), ("out\n", "err\n"));
            }
            _ => panic!("sh did not run"),
        }
        // A program that does not finish is stopped at the limit, not waited for.
        let started = Instant::now();
        assert!(matches!(
            run_bounded("sleep", &["30"], Duration::from_millis(300)),
            Ran::TimedOut
        ));
        let mut cmd = tokio::process::Command::new("sleep");
        cmd.arg("30");
        assert!(matches!(
            rt.block_on(run_async(&mut cmd, Duration::from_millis(300))),
            RanApart::TimedOut
        ));
        assert!(started.elapsed() < Duration::from_secs(10));
        let mut cmd = tokio::process::Command::new("/nonexistent/program");
        assert!(matches!(
            rt.block_on(run_async(&mut cmd, Duration::from_secs(1))),
            RanApart::CannotRun(_)
        ));
    }
}

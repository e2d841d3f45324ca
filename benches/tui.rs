//! The wizard as a terminal program, measured on the release binary in a pseudo-terminal at
//! 80x24 (--demo): start to first frame, bytes sent per keystroke, wake-ups per second
//! while idle, and peak memory. Run with scripts/bench (RUNS sets the repetitions; the
//! median is reported).

use portable_pty::CommandBuilder;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_pds-wizard");

#[path = "../tests/common/pty.rs"]
mod pty;
mod support;

use support::median;

use pty::Session;

fn start(state: &std::path::Path) -> Session {
    let mut cmd = CommandBuilder::new(BIN);
    cmd.args(["--demo", "--no-stand-ins"]);
    cmd.env("TERM", "xterm-256color");
    cmd.env("XDG_STATE_HOME", state);
    Session::start(cmd, 24, 80)
}

/// Wait until nothing new has arrived for `quiet`.
fn settle(s: &Session, quiet: Duration) {
    let mut last = s.len();
    let mut since = Instant::now();
    while since.elapsed() < quiet {
        std::thread::sleep(Duration::from_millis(5));
        let n = s.len();
        if n != last {
            last = n;
            since = Instant::now();
        }
    }
}

/// A field of /proc/PID/status for the main thread (e.g. VmHWM).
fn proc_status(s: &Session, field: &str) -> u64 {
    let pid = s.child.process_id().unwrap();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Median time from a keystroke to its character arriving on the terminal (10 keys).
fn key_latency(s: &mut Session) -> Duration {
    let mut times = Vec::new();
    for c in ['Q', 'X', 'Z', 'J', 'K', 'Q', 'X', 'Z', 'J', 'K'] {
        let from = s.len();
        let t = Instant::now();
        s.send(&c.to_string());
        loop {
            let seen = s.raw.lock().unwrap()[from..].contains(&(c as u8));
            if seen {
                break;
            }
            assert!(t.elapsed() < Duration::from_secs(5), "{c} never appeared");
            std::thread::sleep(Duration::from_micros(200));
        }
        times.push(t.elapsed());
        std::thread::sleep(Duration::from_millis(30));
    }
    median(times)
}

fn main() {
    let runs = support::runs(5);
    let (mut first_frame, mut per_key, mut wakeups, mut rss, mut idle_bytes, mut full) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    let (mut idle_latency, mut busy_latency) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let state = tempfile::tempdir().unwrap();
        let t = Instant::now();
        let mut s = start(state.path());
        s.wait_text("Steps");
        settle(&s, Duration::from_millis(300));
        first_frame.push(t.elapsed().saturating_sub(Duration::from_millis(300)));
        // The first frame draws the whole screen: the peer for a keystroke's bytes.
        full.push(s.len());

        // Into Basics (the wizard opens on the Overview, Basics is next), then type into
        // the hostname field: bytes per keystroke.
        s.send("\x1b[B");
        std::thread::sleep(Duration::from_millis(50));
        s.send("\r");
        s.wait_text("Tab/");
        settle(&s, Duration::from_millis(200));
        let keys = "abcdefghij";
        let before = s.len();
        for c in keys.chars() {
            s.send(&c.to_string());
            settle(&s, Duration::from_millis(60));
        }
        per_key.push((s.len() - before) / keys.len());

        // Idle: what the process does with nobody typing.
        // Every thread's context switches (input, signals, the async runtime), not just main's.
        let sw = |s: &Session| -> u64 {
            let pid = s.child.process_id().unwrap();
            std::fs::read_dir(format!("/proc/{pid}/task"))
                .unwrap()
                .flatten()
                .map(|t| {
                    let st = std::fs::read_to_string(t.path().join("status")).unwrap_or_default();
                    st.lines()
                        .filter(|l| l.contains("ctxt_switches:"))
                        .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
                        .sum::<u64>()
                })
                .sum()
        };
        let (c0, b0) = (sw(&s), s.len());
        std::thread::sleep(Duration::from_secs(3));
        wakeups.push(((sw(&s) - c0) as f64 / 3.0 * 10.0).round() as u64);
        idle_bytes.push(s.len() - b0);
        // Key-to-screen latency in a form, then again while a test mail waits on a server
        // that accepts and never answers (the spinner ticking meanwhile).
        s.send("\x1b");
        // A lone Esc, not the start of the next key's escape sequence.
        std::thread::sleep(Duration::from_millis(150));
        // Email: past Server.
        for _ in 0..2 {
            s.send("\x1b[B");
            std::thread::sleep(Duration::from_millis(50));
        }
        s.send("\r");
        s.wait_text("Provider");
        s.send("\x1b[C");
        s.wait_text("smtp.gmail.com");
        let hole = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let hole_port = hole.local_addr().unwrap().port();
        s.send(&format!(
            "\t\x15127.0.0.1\t\x15{hole_port}\t\talice@example.com\tpw\tnoreply@example.com"
        ));
        s.wait_text("noreply@example.com");
        settle(&s, Duration::from_millis(200));
        idle_latency.push(key_latency(&mut s));
        s.send("\x14"); // Ctrl-T
        s.wait_text("sending a test mail");
        std::thread::sleep(Duration::from_millis(300));
        busy_latency.push(key_latency(&mut s));
        drop(hole);
        rss.push(proc_status(&s, "VmHWM:"));
        let _ = s.child.kill();
        let _ = s.child.wait();
    }
    println!(
        "wizard benchmark: release binary, --demo --no-stand-ins, 80x24 pseudo-terminal, median of {runs} runs"
    );
    println!(
        "  start to first frame        {:>7.1} ms",
        median(first_frame).as_secs_f64() * 1000.0
    );
    let (k, f) = (median(per_key), median(full));
    println!(
        "  bytes per keystroke         {:>7} B   (the first, full frame: {f} B; {:.1} %)",
        k,
        k as f64 / f as f64 * 100.0
    );
    println!(
        "  wake-ups per second, idle   {:>7.1}",
        median(wakeups) as f64 / 10.0
    );
    println!("  bytes sent while idle (3 s) {:>7} B", median(idle_bytes));
    let (il, bl) = (median(idle_latency), median(busy_latency));
    println!(
        "  key to screen, idle         {:>7.2} ms",
        il.as_secs_f64() * 1000.0
    );
    println!(
        "  key to screen, mail pending {:>7.2} ms  ({:.2}x the idle figure)",
        bl.as_secs_f64() * 1000.0,
        bl.as_secs_f64() / il.as_secs_f64()
    );
    println!("  peak memory (VmHWM)         {:>7} KiB", median(rss));
}

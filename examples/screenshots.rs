//! Screenshots of the real binary as SVG: runs `pds-wizard --demo` in a 100x30
//! pseudo-terminal, walks the screens like a person would, and draws each screen, colours
//! included, from a vt100 parser of what the program wrote. scripts/screenshots runs it.
//!
//! usage: screenshots BINARY OUT_DIR

use portable_pty::CommandBuilder;
use std::time::Duration;

const ROWS: u16 = 30;
const COLS: u16 = 100;

#[path = "../tests/common/pty.rs"]
mod pty;

use pty::Session;

fn start(bin: &str, state: &std::path::Path) -> Session {
    let mut cmd = CommandBuilder::new(bin);
    cmd.arg("--demo");
    cmd.env("TERM", "xterm-256color");
    cmd.env("XDG_STATE_HOME", state);
    Session::start(cmd, ROWS, COLS)
}

/// Wait for `text` on the screen, then let the frame finish.
fn wait(s: &Session, text: &str) {
    s.wait_text(text);
    std::thread::sleep(Duration::from_millis(150));
}

/// A key, then a moment for the program to draw.
fn key(s: &mut Session, keys: &str) {
    s.send(keys);
    std::thread::sleep(Duration::from_millis(120));
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(bin), Some(out)) = (args.next(), args.next()) else {
        eprintln!("usage: screenshots BINARY OUT_DIR");
        std::process::exit(2);
    };
    // The pty spawner looks programs up on PATH: give it the full path.
    let bin = std::fs::canonicalize(&bin)
        .unwrap_or_else(|e| panic!("{bin}: {e}"))
        .display()
        .to_string();
    let out = std::path::PathBuf::from(out);
    std::fs::create_dir_all(&out).unwrap();
    // A fixed path, so the title bar reads the same on every run.
    let state = std::env::temp_dir().join("pds-wizard-screenshots-svg");
    let _ = std::fs::remove_dir_all(&state);
    let mut s = start(&bin, &state);
    let shot = |s: &Session, name: &str| {
        let parser = s.parser.lock().unwrap();
        let path = out.join(format!("{name}.svg"));
        std::fs::write(&path, pty::svg(parser.screen(), ROWS, COLS)).unwrap();
        println!("{}", path.display());
    };
    // The same walk as the text captures: Basics, Email, Accounts, Handle, Reverse proxy,
    // More settings, Review, Doctor, help. The wizard opens on the Overview.
    wait(&s, "┌ Steps");
    key(&mut s, "\x1b[B");
    key(&mut s, "\r");
    wait(&s, "Tab/");
    shot(&s, "basics");
    key(&mut s, "\x1b");
    key(&mut s, "\x1b[B\x1b[B");
    key(&mut s, "\r");
    wait(&s, "Provider");
    // The demo filled in its SMTP stand-in: a real test send.
    key(&mut s, "\x14"); // Ctrl-T
    wait(&s, "test mail accepted");
    shot(&s, "email");
    key(&mut s, "\x1b");
    key(&mut s, "\x1b[B");
    key(&mut s, "\r");
    wait(&s, "3 accounts;");
    shot(&s, "accounts");
    key(&mut s, "\x1b");
    key(&mut s, "\x1b[B");
    key(&mut s, "\r");
    wait(&s, "account(s) on this PDS");
    key(&mut s, "\x1b[C\x1b[C\x1b[C");
    wait(&s, "carol.example.com ›");
    key(&mut s, "\x14");
    wait(&s, "Not verified");
    shot(&s, "handle");
    key(&mut s, "\x1b");
    key(&mut s, "\x1b[B\x1b[B");
    key(&mut s, "\r");
    wait(&s, "Site on hostname");
    shot(&s, "proxy");
    key(&mut s, "\x10"); // Ctrl-P
    wait(&s, "── pds.conf");
    shot(&s, "proxy-config");
    key(&mut s, "\x1b");
    key(&mut s, "\x1b");
    // Past Relays and Backups.
    key(&mut s, "\x1b[B\x1b[B\x1b[B");
    key(&mut s, "\r");
    wait(&s, "Disk location");
    shot(&s, "more-settings");
    key(&mut s, "\x1b");
    key(&mut s, "\x1b[B");
    key(&mut s, "\r");
    wait(&s, "┌ Review & save");
    shot(&s, "review");
    key(&mut s, "\x1b");
    key(&mut s, "\x1b[B");
    key(&mut s, "\r");
    wait(&s, " passed, ");
    std::thread::sleep(Duration::from_millis(500));
    shot(&s, "doctor");
    key(&mut s, "\x1b");
    // Down wraps to the Overview: every milestone, checked live against the stand-ins.
    key(&mut s, "\x1b[B");
    key(&mut s, "\r");
    s.wait_for_within("the overview", Duration::from_secs(60), |s| {
        let t = s.screen();
        t.contains("Next:") || t.contains("All done")
    });
    shot(&s, "overview");
    key(&mut s, "\x1b");
    key(&mut s, "?");
    wait(&s, "Keys (Esc closes)");
    shot(&s, "help");
    let _ = s.child.kill();
    let _ = s.child.wait();
    let _ = std::fs::remove_dir_all(&state);
}

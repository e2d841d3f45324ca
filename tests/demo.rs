//! `--demo` end to end: the real binary in a pseudo-terminal starts its stand-ins (SMTP,
//! the real PDS with PLC, NSD, nginx running the wizard's own config), and every step
//! that talks to a server gets a live answer from them; with --no-stand-ins each step says
//! what it would do. The stand-ins never outlive the wizard, even when it is killed.

mod common;

use common::pty::Session;
use portable_pty::CommandBuilder;
use std::path::Path;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_pds-wizard");
const DOWN: &str = "\x1b[B";
const UP: &str = "\x1b[A";
const RIGHT: &str = "\x1b[C";

fn demo(state: &Path, extra: &[&str]) -> Session {
    let mut cmd = CommandBuilder::new(BIN);
    cmd.arg("--demo");
    cmd.args(extra);
    cmd.env("TERM", "xterm-256color");
    cmd.env("XDG_STATE_HOME", state);
    Session::start(cmd, 30, 100)
}

/// A key, then a moment for the wizard to act on it (an Esc followed at once by another
/// escape sequence would read as Alt+key).
fn key(s: &mut Session, k: &str) {
    s.send(k);
    std::thread::sleep(Duration::from_millis(80));
}

/// Processes whose command line names the sandbox's lab directory.
fn lab_processes(lab: &Path) -> Vec<String> {
    let out = std::process::Command::new("pgrep")
        .args(["-a", "-f"])
        .arg(lab)
        .output()
        .expect("pgrep (procps) runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

fn wait_until_no_lab_processes(lab: &Path) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = lab_processes(lab);
        if left.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "stand-ins outlived the wizard: {left:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn wait_for_standins(s: &Session) {
    // The PDS takes a few seconds to come up; more on a busy 2-core machine.
    s.wait_for_within("the stand-ins", Duration::from_secs(90), |s| {
        s.screen().contains("Demo stand-ins") && s.screen().contains("HTTPS")
    });
}

#[test]
fn every_step_gets_live_answers_from_the_stand_ins() {
    if std::env::var_os("PDS_WIZARD_TEST_PDS_MODULES").is_none() {
        panic!("PDS_WIZARD_TEST_PDS_MODULES is unset: run scripts/test, which installs the PDS");
    }
    let state = tempfile::tempdir().unwrap();
    let sandbox = state.path().join("pds-wizard/demo");
    let lab = sandbox.join("lab");
    let mut s = demo(state.path(), &[]);
    wait_for_standins(&s);
    let screen = s.screen();
    for kind in ["SMTP", "PDS", "relay", "DNS", "HTTPS"] {
        assert!(
            screen.contains(&format!("✓ {kind}")),
            "{kind} stand-in not running:\n{screen}"
        );
    }
    // Every stand-in listens on loopback only.
    let ss = std::process::Command::new("ss")
        .args(["-Hltnup"])
        .output()
        .expect("ss (iproute2) runs: scripts/test installs it");
    let pids: Vec<String> = lab_processes(&lab)
        .iter()
        .filter_map(|p| p.split_whitespace().next().map(|p| format!("pid={p},")))
        .collect();
    let sockets: Vec<String> = String::from_utf8_lossy(&ss.stdout)
        .lines()
        .filter(|l| pids.iter().any(|p| l.contains(p.as_str())))
        .map(str::to_string)
        .collect();
    // SMTP x2, PDS, PLC, DNS (udp and tcp), nginx.
    assert!(sockets.len() >= 7, "stand-in sockets: {sockets:#?}");
    for line in &sockets {
        assert!(
            line.contains("127.0.0.1:") || line.contains("[::1]:"),
            "a stand-in listens beyond loopback: {line}"
        );
    }

    // The sandbox pds.env was given the SMTP stand-in's URL, password percent-encoded.
    let env = std::fs::read_to_string(sandbox.join("pds.env")).unwrap();
    assert!(
        env.contains("PDS_EMAIL_SMTP_URL=smtps://pds%40example.com:d3mo%2Fp%40ss%231@localhost:"),
        "{env}"
    );

    // Email: a test send reaches the stand-in. (The wizard opens on the Overview; Email
    // is three steps down.)
    for _ in 0..3 {
        key(&mut s, DOWN);
    }
    key(&mut s, "\r");
    s.wait_text("Ctrl-T sends a test mail");
    key(&mut s, "\x14");
    s.wait_text("test mail accepted by localhost");
    let mails: Vec<_> = std::fs::read_dir(lab.join("mail"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
        .collect();
    assert_eq!(mails.len(), 1, "one mail in the stand-in's spool");
    let mail: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(mails[0].path()).unwrap()).unwrap();
    assert_eq!(mail["login"], "pds@example.com");
    assert_eq!(mail["rcpt_tos"][0], "admin@example.com");

    // Handle & DNS: the accounts come from the real PDS; carol's TXT record was pasted
    // from bob's, which the live check catches at the resolver and at ns1.
    key(&mut s, "\x1b");
    key(&mut s, DOWN);
    key(&mut s, DOWN);
    key(&mut s, "\r");
    s.wait_text("3 account(s) on this PDS");
    for _ in 0..3 {
        key(&mut s, RIGHT);
    }
    s.wait_text("‹ carol.example.com ›");
    key(&mut s, "\x14");
    s.wait_text("Not verified");
    let screen = s.screen();
    assert!(screen.contains("DNS ns1.example.com"), "{screen}");
    assert!(
        screen.contains("HTTPS https://carol.example.com/.well-known/atproto-did"),
        "{screen}"
    );
    // bob's record is right.
    key(&mut s, "\x1b[D");
    s.wait_text("‹ bob.example.com ›");
    key(&mut s, "\x14");
    s.wait_text("Verified");

    // Doctor: the PDS, HTTPS through nginx, OAuth paths, the firehose and SMTP all pass;
    // pds.env's deliberate mistake and carol's record fail.
    // The Doctor is the last step (after Review & save): Up wraps to it.
    key(&mut s, "\x1b");
    for _ in 0..6 {
        key(&mut s, UP);
    }
    key(&mut s, "\r");
    s.wait_for_within("the doctor", Duration::from_secs(60), |s| {
        s.screen().contains(" passed, ")
    });
    // The list scrolls with the choice to keep its fix in view: see every row.
    let mut screen = s.screen();
    for _ in 0..pds_wizard::doctor::CHECKS.len() {
        key(&mut s, DOWN);
        screen.push_str(&s.screen());
    }
    for check in [
        "✓ the PDS answers locally",
        "✓ HTTPS and its certificate",
        "✓ OAuth paths reach the PDS",
        "✓ firehose websocket",
        "✓ SMTP: URL, server, TLS, login",
        "✓ DNS: hostname and handle wildcard",
        "✗ handles and DID documents",
        "✗ pds.env: keys, values, readers, mode",
    ] {
        assert!(screen.contains(check), "missing {check:?}:\n{screen}");
    }

    // The Overview: Enter on "every handle verifies" opens Handle & DNS on carol, the
    // account that fails, as the Doctor's Enter does.
    go(&mut s, "Overview");
    s.wait_for_within("the milestones", Duration::from_secs(60), |s| {
        s.screen().contains("Next:")
    });
    for _ in 0..9 {
        if s.screen()
            .lines()
            .any(|l| l.contains('›') && l.contains("every handle verifies"))
        {
            break;
        }
        key(&mut s, DOWN);
    }
    key(&mut s, "\r");
    s.wait_text("┌ Handle & DNS ─");
    s.wait_text("‹ carol.example.com ›");

    // The book's recipe (docs/src/demo.md), run as it is written there, from "a second
    // terminal": the command line against the stand-ins finds carol's record wrong, fixes it
    // in the zone, and carol verifies.
    let page =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/src/demo.md")).unwrap();
    let recipe: String = page
        .split("<!-- demo-cli-recipe -->")
        .nth(1)
        .expect("docs/src/demo.md has the demo recipe")
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("```sh"))
        .skip(1)
        .take_while(|l| l.trim() != "```")
        .map(|l| format!("{}\n", l.strip_prefix("  ").unwrap_or(l)))
        .collect();
    let bin_dir = Path::new(BIN).parent().unwrap();
    let ran = std::process::Command::new("sh")
        .args(["-ec", &recipe])
        .env("XDG_STATE_HOME", state.path())
        .env(
            "PATH",
            format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap()),
        )
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&ran.stdout),
        String::from_utf8_lossy(&ran.stderr)
    );
    assert!(
        ran.status.success()
            && said.contains("carol: not verified")
            && said.contains("carol: verified"),
        "{recipe}\n{said}"
    );
    // The wizard sees it too: Ctrl-T on carol, now verified.
    key(&mut s, "\x14");
    s.wait_for_within("carol verified", Duration::from_secs(30), |s| {
        s.screen().contains("Verified")
    });
    // A handle that failed and verifies now is offered to be announced: not this time.
    s.wait_text("y: announce it");
    key(&mut s, "n");
    s.wait_text("Not announced");

    // Quit: the stand-ins stop with the wizard. Nothing unsaved, but the doctor's results
    // would be lost: q asks first, and q again quits.
    key(&mut s, "\x1b");
    key(&mut s, UP);
    key(&mut s, "q");
    s.wait_text("The doctor's results go with the wizard");
    key(&mut s, "q");
    let _ = s.child.wait();
    assert!(
        s.raw_text()
            .contains("Test mails the SMTP stand-in received: 1"),
        "{}",
        s.raw_text()
    );
    wait_until_no_lab_processes(&lab);
}

/// "My posts don't show", offline: the demo's relay follows its PDS with a cursor the PDS
/// has not reached (as after a wiped /pds); the Relays step names it, and its repair, run
/// on the demo's own PDS stand-in, makes the relay follow again.
#[test]
fn the_demo_relay_is_repaired_offline() {
    let state = tempfile::tempdir().unwrap();
    let mut s = demo(state.path(), &[]);
    wait_for_standins(&s);
    assert!(s.screen().contains("✓ relay"), "{}", s.screen());
    go(&mut s, "Relays");
    s.wait_for_within("the relay's cause", Duration::from_secs(30), |s| {
        s.screen().contains("last saw event #2480311")
    });
    key(&mut s, "\r");
    s.wait_text("Repair the relays?");
    assert!(
        s.screen().contains("lab/pds-data/sequencer.sqlite"),
        "{}",
        s.screen()
    );
    key(&mut s, "y");
    s.wait_for_within("the repair", Duration::from_secs(90), |s| {
        s.screen()
            .contains("Repaired: every relay repaired follows")
    });
    // Looked at again: the relay follows, and the step is done.
    s.wait_text("✓ Relays");
    key(&mut s, "q");
}

#[test]
fn stand_ins_die_with_a_killed_wizard() {
    if std::env::var_os("PDS_WIZARD_TEST_PDS_MODULES").is_none() {
        panic!("PDS_WIZARD_TEST_PDS_MODULES is unset: run scripts/test, which installs the PDS");
    }
    let state = tempfile::tempdir().unwrap();
    let lab = state.path().join("pds-wizard/demo/lab");
    let mut s = demo(state.path(), &[]);
    wait_for_standins(&s);
    assert!(lab_processes(&lab).len() >= 4, "{:?}", lab_processes(&lab));
    // SIGKILL: no chance to clean up; the kernel tells each stand-in (PR_SET_PDEATHSIG).
    // (portable-pty's kill() sends SIGHUP first, which the wizard handles; this is KILL.)
    let pid = s.child.process_id().expect("the wizard's pid");
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let _ = s.child.wait();
    wait_until_no_lab_processes(&lab);
}

#[test]
fn without_stand_ins_each_step_says_what_it_would_do() {
    let state = tempfile::tempdir().unwrap();
    let mut s = demo(state.path(), &["--no-stand-ins"]);
    s.wait_text("(--no-stand-ins)");
    assert!(!state.path().join("pds-wizard/demo/lab").exists());
    for _ in 0..3 {
        key(&mut s, DOWN);
    }
    key(&mut s, "\r");
    s.wait_text("Demo: no SMTP");
    key(&mut s, "\x1b");
    key(&mut s, DOWN);
    key(&mut s, "\r");
    // Accounts: the PDS is what it would ask.
    s.wait_text("Demo: no PDS");
    key(&mut s, "\x1b");
    key(&mut s, DOWN);
    key(&mut s, "\r");
    s.wait_text("Demo: no PDS");
    key(&mut s, "\x1b");
    key(&mut s, DOWN);
    key(&mut s, "\r");
    s.wait_text("Demo: no HTTPS");
    key(&mut s, "\x1b");
    key(&mut s, DOWN);
    key(&mut s, "\r");
    // The Reverse proxy step needs no server: no note.
    s.wait_text("Site on hostname");
    assert!(!s.screen().contains("Demo: no"), "{}", s.screen());
    key(&mut s, "\x1b");
    // Nothing unsaved: q quits at once.
    key(&mut s, "q");
    let _ = s.child.wait();
}

#[test]
fn the_next_run_starts_where_the_last_one_stopped() {
    use std::os::unix::fs::PermissionsExt;
    let state = tempfile::tempdir().unwrap();
    let answers = state.path().join("pds-wizard/demo/pds-wizard.toml");
    let open_proxy = |s: &mut Session| {
        s.wait_text("(--no-stand-ins)");
        for _ in 0..7 {
            key(s, DOWN);
        }
        key(s, "\r");
        s.wait_text("Site on hostname");
    };
    let mut s = demo(state.path(), &["--no-stand-ins"]);
    open_proxy(&mut s);
    key(&mut s, "\t");
    s.send("127.0.0.1:2583");
    s.wait_text("127.0.0.1:2583");
    // Ctrl-W: the server's check, the diff, y writes (into the sandbox).
    key(&mut s, "\x17");
    s.wait_for_within("the write dialog", Duration::from_secs(30), |s| {
        s.screen().contains("Write the proxy config?")
    });
    key(&mut s, "y");
    s.wait_text("wrote");
    let text = std::fs::read_to_string(&answers).expect("the answers file is written");
    assert!(text.contains("[proxy]"), "{text}");
    assert!(text.contains("upstream = \"127.0.0.1:2583\""), "{text}");
    assert!(
        !text.contains("PDS_JWT_SECRET") && !text.contains("8c3e1f0a"),
        "{text}"
    );
    let mode = std::fs::metadata(&answers).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    key(&mut s, "\x1b");
    key(&mut s, "\x1b");
    key(&mut s, "q");
    let _ = s.child.wait();

    // Again: the proxy step holds the answer.
    let mut s = demo(state.path(), &["--no-stand-ins"]);
    open_proxy(&mut s);
    assert!(s.screen().contains("127.0.0.1:2583"), "{}", s.screen());
    key(&mut s, "\x1b");
    key(&mut s, "q");
    let _ = s.child.wait();
}

const SANDBOX_INSIDE: &str = "PDS_WIZARD_DEMO_SANDBOX_INSIDE";

/// Issue 31 #1 and #5: the demo driven through every key that writes or starts something —
/// Server ^W and ^G, Email save and the restart, atproto-did ^W, Reverse proxy ^W, the
/// Doctor's report — on a root whose /pds, /etc/systemd, /etc/nginx and /etc/caddy are
/// empty tmpfs, with systemctl, docker, ufw and nft replaced by scripts that only log: the
/// four stay empty, and nothing that changes a machine was run. On the way, the Email step
/// shows a PDS that sends with the settings it started with (pds.env saved, not yet
/// restarted) as not fixed, then the restart and the PDS sending with pds.env's.
#[test]
fn the_demo_writes_and_starts_nothing_outside_its_sandbox() {
    if std::env::var_os(SANDBOX_INSIDE).is_some() {
        return sandbox_walk();
    }
    if std::env::var_os("PDS_WIZARD_TEST_PDS_MODULES").is_none() {
        panic!("PDS_WIZARD_TEST_PDS_MODULES is unset: run scripts/test, which installs the PDS");
    }
    common::in_namespaces(
        "the_demo_writes_and_starts_nothing_outside_its_sandbox",
        SANDBOX_INSIDE,
    );
}

/// Tools that change a machine: each is replaced (in the private root) by a script that
/// logs how it was called and succeeds, so the walk goes on and the log tells.
const SHIMMED: [&str; 8] = [
    "systemctl",
    "docker",
    "docker-compose",
    "ufw",
    "nft",
    "service",
    "certbot",
    "iptables",
];

fn sh(program: &str, args: &[&str]) {
    let st = std::process::Command::new(program)
        .args(args)
        .status()
        .unwrap();
    assert!(st.success(), "{program} {args:?}: {st}");
}

/// The directories right under /tmp that the walk needs: the checkout, the binary, and
/// every path the lab was given (PDS_WIZARD_* variables).
fn under_tmp() -> Vec<String> {
    let mut paths = vec![env!("CARGO_MANIFEST_DIR").to_string(), BIN.to_string()];
    paths.extend(
        std::env::vars()
            .filter(|(k, _)| k.starts_with("PDS_WIZARD_"))
            .map(|(_, v)| v),
    );
    let mut tops: Vec<String> = paths
        .iter()
        .filter_map(|p| Path::new(p).strip_prefix("/tmp").ok())
        .filter_map(|rest| rest.components().next())
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    tops.sort();
    tops.dedup();
    tops
}

/// A root for the wizard made of this machine's own directories (bind mounts), with empty
/// tmpfs at the places the demo must not write, in this test's private mount namespace.
/// Nothing here is ever removed recursively: the binds lead to the real directories.
fn private_root() -> std::path::PathBuf {
    sh("mount", &["--make-rprivate", "/"]);
    // The checkout, the binary and the lab's caches may live under /tmp (CI clones there):
    // they are bound back in below, through a handle on the /tmp the tmpfs hides.
    let under_tmp = under_tmp();
    let old_tmp = std::fs::File::open("/tmp").unwrap();
    // Our own /tmp first, so nothing made below is left on the machine.
    sh("mount", &["-t", "tmpfs", "tmpfs", "/tmp"]);
    let root = Path::new("/tmp/root");
    std::fs::create_dir(root).unwrap();
    sh("mount", &["-t", "tmpfs", "tmpfs", "/tmp/root"]);
    for entry in std::fs::read_dir("/").unwrap().flatten() {
        let name = entry.file_name();
        let at = root.join(&name);
        let meta = std::fs::symlink_metadata(entry.path()).unwrap();
        if meta.file_type().is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(entry.path()).unwrap(), &at).unwrap();
            continue;
        }
        if !meta.is_dir() {
            continue;
        }
        std::fs::create_dir(&at).unwrap();
        match name.to_str().unwrap() {
            // Empty and private: a restart could not reach the host's systemd or Docker.
            "run" | "tmp" | "pds" => sh("mount", &["-t", "tmpfs", "tmpfs", at.to_str().unwrap()]),
            _ => sh(
                "mount",
                &[
                    "--rbind",
                    entry.path().to_str().unwrap(),
                    at.to_str().unwrap(),
                ],
            ),
        }
    }
    for top in &under_tmp {
        use std::os::fd::AsRawFd;
        let from = format!(
            "/proc/{}/fd/{}/{top}",
            std::process::id(),
            old_tmp.as_raw_fd()
        );
        let at = root.join("tmp").join(top);
        std::fs::create_dir(&at).unwrap();
        sh("mount", &["--rbind", &from, at.to_str().unwrap()]);
    }
    for d in ["pds", "www", "state", "shim"] {
        let _ = std::fs::create_dir(root.join(d));
    }
    sh("mount", &["-t", "tmpfs", "tmpfs", "/tmp/root/pds"]);
    for d in ["etc/systemd", "etc/nginx", "etc/caddy"] {
        let at = root.join(d);
        assert!(
            at.is_dir(),
            "/{d} does not exist on this machine: the test mounts an empty tmpfs over it"
        );
        sh("mount", &["-t", "tmpfs", "tmpfs", at.to_str().unwrap()]);
    }
    let shim = root.join("shim/log-only");
    std::fs::write(
        &shim,
        "#!/bin/sh\necho \"$(basename \"$0\") $*\" >> /ran.log\nexit 0\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).unwrap();
    for tool in SHIMMED {
        for dir in [
            "usr/bin",
            "usr/sbin",
            "usr/local/bin",
            "usr/local/sbin",
            "bin",
            "sbin",
        ] {
            let at = root.join(dir).join(tool);
            // (bin and sbin are links into usr on merged-/usr systems: once is enough.)
            if at.is_file()
                && !std::fs::symlink_metadata(root.join(dir))
                    .unwrap()
                    .is_symlink()
            {
                sh(
                    "mount",
                    &["--bind", shim.to_str().unwrap(), at.to_str().unwrap()],
                );
            }
        }
    }
    root.to_path_buf()
}

/// Whether a logged call changes the machine (read-only calls — versions, status,
/// `compose config` — are fine).
fn changes_machine(line: &str) -> bool {
    let words: Vec<&str> = line.split_whitespace().collect();
    let verbs = [
        "start",
        "restart",
        "reload",
        "enable",
        "stop",
        "daemon-reload",
        "up",
        "run",
        "pull",
        "kill",
        "rm",
        "create",
        "allow",
        "deny",
        "limit",
        "insert",
        "add",
        "delete",
        "certonly",
        "reload-or-restart",
        "try-restart",
        "disable",
        "mask",
        "--now",
        "-A",
        "-I",
    ];
    match words.first() {
        Some(&"nft") => words.get(1) != Some(&"list"),
        Some(_) => words[1..].iter().any(|w| verbs.contains(w)),
        None => false,
    }
}

/// Everything under `dir`, for the message when it is not empty.
fn listing(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            out.push(e.path().display().to_string());
            if e.path().is_dir() {
                out.extend(listing(&e.path()));
            }
        }
    }
    out
}

/// Back to the step list, up it to `title` (the right pane names the step the list is
/// on), and into it.
fn go(s: &mut Session, title: &str) {
    key(s, "\x1b");
    let pane = format!("┌ {title} ─");
    // Once round the whole list at most.
    for _ in 0..=pds_wizard::tui::step::Step::ALL.len() {
        if s.screen().contains(&pane) {
            key(s, "\r");
            return s.wait_text(&pane);
        }
        key(s, UP);
    }
    panic!("no step {title}:\n{}", s.screen());
}

fn sandbox_walk() {
    sh("ip", &["link", "set", "lo", "up"]);
    let root = private_root();
    let mut cmd = CommandBuilder::new("chroot");
    cmd.arg(&root);
    cmd.arg(BIN);
    cmd.arg("--demo");
    cmd.env("TERM", "xterm-256color");
    cmd.env("XDG_STATE_HOME", "/state");
    cmd.env("HOME", "/root");
    let mut s = Session::start(cmd, 30, 100);
    wait_for_standins(&s);

    // Server: the demo says so; ^W writes, ^G starts — in the sandbox, and nothing at all.
    key(&mut s, DOWN);
    key(&mut s, DOWN);
    key(&mut s, "\r");
    s.wait_text("Demo: files go under /state/pds-wizard/demo");
    key(&mut s, "\x17");
    s.wait_text("Write the service files?");
    assert!(
        s.screen()
            .contains("/state/pds-wizard/demo/pds/compose.yaml"),
        "{}",
        s.screen()
    );
    key(&mut s, "y");
    s.wait_text("Wrote /state/pds-wizard/demo/pds/compose.yaml");
    key(&mut s, "\x07");
    s.wait_text("This is the demo: nothing is started on this machine");
    key(&mut s, "y");
    s.wait_text("Demo: nothing was started");

    // Email: a change saved but the restart declined; the PDS still sends, with what it
    // started with — not called fixed. Then saved again and restarted: it sends with pds.env's.
    key(&mut s, "\x1b");
    key(&mut s, DOWN);
    key(&mut s, "\r");
    s.wait_text("Ctrl-T sends a test mail");
    for _ in 0..6 {
        key(&mut s, "\t");
    }
    key(&mut s, "\x1b[F"); // End
    key(&mut s, "\x7f");
    key(&mut s, "g");
    key(&mut s, "\x13");
    key(&mut s, "\r");
    s.wait_text("Restart the PDS?");
    key(&mut s, "n");
    s.wait_text("Not restarted. When ready:");
    go(&mut s, "Email");
    key(&mut s, "\x10");
    s.wait_text("Have the PDS send a mail?");
    key(&mut s, "y");
    s.wait_for_within("the stale send", Duration::from_secs(30), |s| {
        s.screen().contains("not pds.env's")
    });
    assert!(!s.screen().contains("Nothing to fix"), "{}", s.screen());
    // (The step kept its focus on From address.)
    key(&mut s, "\x1b[F");
    key(&mut s, "\x7f");
    key(&mut s, "m");
    key(&mut s, "\x13");
    key(&mut s, "\r");
    s.wait_text("Restart the PDS?");
    assert!(
        s.screen()
            .contains("/state/pds-wizard/demo/lab/restart-pds"),
        "{}",
        s.screen()
    );
    key(&mut s, "y");
    s.wait_for_within("the PDS back", Duration::from_secs(60), |s| {
        s.screen().contains("Have the PDS send a mail?")
    });
    key(&mut s, "y");
    s.wait_for_within("the fresh send", Duration::from_secs(30), |s| {
        s.screen().contains("✓ the PDS sent a mail")
    });
    assert!(!s.screen().contains("not pds.env's"), "{}", s.screen());

    // atproto-did: the web root typed is placed in the sandbox.
    go(&mut s, "atproto-did");
    key(&mut s, "\t");
    s.send("did:plc:ewvi7nxzyoun6zhxrhs64oiz");
    key(&mut s, "\t");
    s.send("/www/example.com");
    key(&mut s, "\x17");
    s.wait_text("/state/pds-wizard/demo/www/example.com/.well-known/atproto-d");

    // Reverse proxy: it starts from the compose.yaml just written, whose Caddy reads the
    // sandbox's Caddyfile; written in the sandbox, nothing reloaded.
    go(&mut s, "Reverse proxy");
    s.wait_text("/state/pds-wizard/demo/pds/caddy/etc/caddy/Caddyfile");
    key(&mut s, "\x17");
    s.wait_text("Write the proxy config?");
    key(&mut s, "y");
    s.wait_text("(demo: no server is");

    // Doctor: its report goes beside the sandbox pds.env.
    go(&mut s, "Doctor");
    s.wait_for_within("the doctor", Duration::from_secs(60), |s| {
        s.screen().contains(" passed, ")
    });
    key(&mut s, "w");
    s.wait_for_within("the report", Duration::from_secs(60), |s| {
        s.screen()
            .contains("Report written to /state/pds-wizard/demo")
    });
    key(&mut s, "\x1b");
    key(&mut s, "q");
    key(&mut s, "q");
    let _ = s.child.wait();

    for d in ["pds", "etc/systemd", "etc/nginx", "etc/caddy", "www"] {
        let left = listing(&root.join(d));
        assert!(
            left.is_empty(),
            "the demo wrote outside its sandbox: {left:#?}"
        );
    }
    let ran = std::fs::read_to_string(root.join("ran.log")).unwrap_or_default();
    let changed: Vec<&str> = ran.lines().filter(|l| changes_machine(l)).collect();
    assert!(
        changed.is_empty(),
        "the demo ran commands that change the machine: {changed:#?}\n(all: {ran})"
    );
    assert!(
        root.join("state/pds-wizard/demo/pds/compose.yaml")
            .is_file()
            && root
                .join("state/pds-wizard/demo/etc/systemd/system/pds.service")
                .is_file(),
        "{:#?}",
        listing(&root.join("state"))
    );
    let caddyfile =
        std::fs::read_to_string(root.join("state/pds-wizard/demo/pds/caddy/etc/caddy/Caddyfile"))
            .unwrap();
    assert!(
        caddyfile.contains("docker exec caddy caddy reload"),
        "{caddyfile}"
    );
}

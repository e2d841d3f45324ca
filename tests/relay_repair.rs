//! "My posts don't show": a relay out of step with this PDS, as indigo's relay behaves
//! (the stand-in in assets/lab/relay.py follows the real PDS's firehose), diagnosed and
//! repaired. Each test shows the broken state first.

mod common;

use common::{PdsLab, Relay};

/// A wiped /pds (a fresh sequencer, no `repo_seq` row) behind a relay that remembers
/// event #2480311: the PDS refuses the relay's cursor as "in the future", and the relay
/// marks the host idle and keeps asking with the same cursor.
#[test]
fn a_relay_ahead_of_a_fresh_pds_is_refused_and_idles() {
    let pds = PdsLab::start();
    let relay = Relay::following("localhost", 2480311, pds.pds_port, &[]);
    let s = relay.wait_for(20, |s| s["status"] == "idle");
    assert_eq!(s["status"], "idle", "{s}");
    assert_eq!(s["lastError"], "FutureCursor", "{s}");
    assert_eq!(s["cursor"], 2480311, "{s}");
    // It keeps the cursor and its word: still refused a moment later.
    std::thread::sleep(std::time::Duration::from_millis(500));
    let s = relay.state();
    assert_eq!(
        (&s["status"], &s["cursor"]),
        (&"idle".into(), &2480311.into()),
        "{s}"
    );
}

use common::{output_text, restart_script, run_cli, PDS_ADMIN};
use std::path::Path;

/// pds.env for the lab's PDS as the wizard reads it, with `relay` as its only crawler.
fn env_file(dir: &Path, pds: &PdsLab, relay: &Relay) -> std::path::PathBuf {
    let env = dir.join("pds.env");
    std::fs::write(
        &env,
        format!(
            "PDS_HOSTNAME=localhost\nPDS_PORT={}\nPDS_ADMIN_PASSWORD={PDS_ADMIN}\nPDS_DATA_DIRECTORY={}\nPDS_CRAWLERS={}\n",
            pds.pds_port,
            pds.data_dir().display(),
            relay.url
        ),
    )
    .unwrap();
    env
}

/// The lab PDS's sequencer wiped (a /pds restored without it): restarted, the PDS starts a
/// fresh one, with no `repo_seq` row. Returns the restart script.
fn wipe_the_sequencer(pds: &PdsLab, dir: &Path) -> std::path::PathBuf {
    for f in [
        "sequencer.sqlite",
        "sequencer.sqlite-wal",
        "sequencer.sqlite-shm",
    ] {
        let _ = std::fs::remove_file(pds.data_dir().join(f));
    }
    let restart = restart_script(dir, pds);
    assert!(std::process::Command::new(&restart)
        .status()
        .unwrap()
        .success());
    restart
}

/// A relay in step with the PDS that throttles its new account `handle`; the sequencer
/// as it was then.
fn throttling(handle: &str, pds: &PdsLab) -> (Relay, pds_wizard::pds::data::Sequence) {
    let did = pds.create_account(handle);
    let s = sequence(pds);
    let repos = serde_json::json!({ did: "throttled" }).to_string();
    let relay = Relay::start_with(
        "localhost",
        s.newest.unwrap_or(0),
        "active",
        &[("RELAY_REPOS", repos)],
    );
    (relay, s)
}

/// A relay that followed the PDS, then gave up during downtime (the PDS restarted while it
/// dialed: 5 failed dials, 50 ms apart, make it `offline`). Returns it and the restart.
fn gave_up(pds: &PdsLab, dir: &Path) -> (Relay, std::path::PathBuf) {
    let relay = Relay::following(
        "localhost",
        0,
        pds.pds_port,
        &[
            ("RELAY_MAX_FAILURES", "5".into()),
            ("RELAY_RETRY_MS", "50".into()),
        ],
    );
    let s = relay.wait_for(20, |s| {
        s["status"] == "active" && s["cursor"].as_i64() > Some(0)
    });
    assert_eq!(s["status"], "active", "{s}");
    let restart = restart_script(dir, pds);
    assert!(std::process::Command::new(&restart)
        .status()
        .unwrap()
        .success());
    let s = relay.wait_for(10, |s| s["status"] == "offline");
    assert_eq!(s["status"], "offline", "{s}");
    (relay, restart)
}

/// The counter and newest event of the lab's sequencer.
fn sequence(pds: &PdsLab) -> pds_wizard::pds::data::Sequence {
    pds_wizard::pds::data::sequence(pds.data_dir()).unwrap()
}

/// A post by the account `session`, written through the PDS (a commit on its firehose).
fn post(pds: &PdsLab, session: &serde_json::Value, text: &str) {
    let (status, v) = pds.xrpc_post(
        "com.atproto.repo.createRecord",
        &serde_json::json!({
            "repo": session["did"],
            "collection": "app.bsky.feed.post",
            "record": {"$type": "app.bsky.feed.post", "text": text, "createdAt": "2026-12-07T12:00:00.000Z"},
        }),
        session["accessJwt"].as_str(),
    );
    assert_eq!(status, 200, "createRecord: {v}");
}

/// The relay's cursor is ahead of the PDS: refused as "in the future" (idle), then after
/// `relay repair --yes` active, with a new event past its cursor and a later post received.
fn repaired_past(pds: &PdsLab, session: &serde_json::Value, dir: &Path, name_the_relay: bool) {
    let relay = Relay::following("localhost", 2480311, pds.pds_port, &[]);
    let s = relay.wait_for(20, |s| s["lastError"] == "FutureCursor");
    assert_eq!(
        (&s["status"], &s["lastError"]),
        (&"idle".into(), &"FutureCursor".into()),
        "{s}"
    );
    let env = env_file(dir, pds, &relay);
    let restart = restart_script(dir, pds);
    let restart = restart.to_str().unwrap();
    // Off a terminal without --yes: the cause and the plan, nothing changed, exit 2.
    let before = sequence(pds);
    let o = run_cli(&env, &["--restart-command", restart, "relay", "repair"], "");
    let text = output_text(&o);
    assert_eq!(o.status.code(), Some(2), "{text}");
    assert!(text.contains("last saw event #2480311"), "{text}");
    // The account's events never reached it: said per relay.
    assert!(text.contains("1 never seen"), "{text}");
    assert!(
        text.contains("move the PDS's event counter to #2481311"),
        "{text}"
    );
    assert!(text.contains("give --yes"), "{text}");
    assert_eq!(sequence(pds), before, "nothing was changed");
    // The doctor names the same cause, as data for scripts, and the repair.
    let o = run_cli(&env, &["--json", "doctor", "--only", "relay-sync"], "");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
    let f = &v["checks"][0]["findings"][0];
    assert_eq!(f["data"]["cause"]["cause"], "cursor-ahead", "{v}");
    assert_eq!(f["data"]["cause"]["cursor"], 2480311, "{v}");
    assert!(
        f["fix"]
            .as_str()
            .unwrap_or("")
            .starts_with("pds-wizard relay repair"),
        "{f}"
    );
    // With --yes: repaired and proven.
    let mut args = vec![
        "--restart-command",
        restart,
        "relay",
        "repair",
        "--yes",
        "--watch",
        "30",
    ];
    if name_the_relay {
        args.extend(["--relay", relay.url.as_str()]);
    }
    let o = run_cli(&env, &args, "");
    let text = output_text(&o);
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert!(text.contains("backed up the sequencer to"), "{text}");
    assert!(text.contains("moved the event counter"), "{text}");
    assert!(text.contains("follows localhost again"), "{text}");
    let s = relay.state();
    assert_eq!(s["status"], "active", "{s}");
    let first = s["events"][0]["seq"].as_i64().unwrap_or(0);
    assert!(
        first > 2480311,
        "the first event it took is past its old cursor: {s}"
    );
    // A post made afterwards reaches it.
    post(pds, session, "after the repair");
    let s = relay.wait_for(10, |s| {
        s["events"].as_array().is_some_and(|e| {
            e.iter()
                .any(|e| e["type"] == "#commit" && e["seq"].as_i64() > Some(first))
        })
    });
    assert!(
        s["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["type"] == "#commit"),
        "the post did not reach the relay: {s}"
    );
    // The backup is beside the sequencer.
    let backups = std::fs::read_dir(pds.data_dir())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("sequencer.sqlite.before-relay-repair-")
        })
        .count();
    assert_eq!(backups, 1);
}

/// A wiped /pds's sequencer (a fresh one: no `repo_seq` row, where the README's UPDATE
/// does nothing) behind a relay whose cursor is 2480311.
#[test]
fn a_fresh_sequencer_behind_a_relay_is_repaired() {
    let dir = tempfile::tempdir().unwrap();
    let pds = PdsLab::start();
    let session = pds.create_session("alice.test");
    wipe_the_sequencer(&pds, dir.path());
    let s = sequence(&pds);
    assert_eq!(
        (s.newest, s.counter),
        (None, None),
        "a fresh sequencer: {s:?}"
    );
    repaired_past(&pds, &session, dir.path(), false);
}

/// The README's case: a sequencer with rows, behind a relay that remembers more.
#[test]
fn a_sequencer_with_rows_behind_a_relay_is_repaired() {
    let dir = tempfile::tempdir().unwrap();
    let pds = PdsLab::start();
    let session = pds.create_session("bob.test");
    let s = sequence(&pds);
    assert!(s.newest.is_some_and(|n| n < 2480311), "{s:?}");
    repaired_past(&pds, &session, dir.path(), true);
}

/// Down long enough for the relay to give up (`offline`: it stops dialing, as indigo does
/// after 15 failed dials; here 5, 50 ms apart): after the PDS is back, the relay still does
/// not follow it until the repair asks it to crawl.
#[test]
fn a_relay_that_gave_up_after_downtime_follows_again() {
    let dir = tempfile::tempdir().unwrap();
    let pds = PdsLab::start();
    pds.create_session("carol.test");
    let (relay, _) = gave_up(&pds, dir.path());
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(
        relay.state()["status"],
        "offline",
        "it does not come back by itself"
    );
    let env = env_file(dir.path(), &pds, &relay);
    let o = run_cli(&env, &["relay", "repair", "--yes", "--watch", "30"], "");
    let text = output_text(&o);
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert!(text.contains("sees localhost as offline"), "{text}");
    assert!(text.contains("accepted the crawl request"), "{text}");
    assert!(!text.contains("moved the event counter"), "{text}");
    assert_eq!(relay.state()["status"], "active");
}

/// Accounts past the relay's limit: named, the request to its operators shown with the
/// numbers, and nothing changed (exit 1).
#[test]
fn throttled_accounts_are_named_and_nothing_is_changed() {
    let dir = tempfile::tempdir().unwrap();
    let pds = PdsLab::start();
    let (relay, s) = throttling("dave.test", &pds);
    let env = env_file(dir.path(), &pds, &relay);
    let o = run_cli(&env, &["relay", "repair", "--yes"], "");
    let text = output_text(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(
        text.contains("throttles 1 account(s) of localhost: dave.test"),
        "{text}"
    );
    assert!(
        text.contains("Please raise the account limit for localhost"),
        "{text}"
    );
    assert!(
        text.contains("Nothing the repair can change here"),
        "{text}"
    );
    assert_eq!(sequence(&pds), s, "nothing was changed");
    assert!(
        relay.log().is_empty(),
        "no crawl was asked: {}",
        relay.log()
    );
    // As data: the relay's view, its cause and the accounts.
    let o = run_cli(&env, &["--json", "relay", "repair"], "");
    assert_eq!(o.status.code(), Some(1), "{}", output_text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let view = &v["plan"]["relays"][0];
    assert_eq!(view["seen"]["status"], "active", "{v}");
    assert_eq!(view["throttled"][0], "dave.test", "{v}");
    assert_eq!(view["cause"]["cause"], "throttled", "{v}");
    assert_eq!(view["cause"]["accounts"][0], "dave.test", "{v}");
    assert!(v["plan"]["steps"].as_array().unwrap().is_empty(), "{v}");
}

/// A relay that has never seen this host and takes no new ones: the crawl request's
/// refusal is said, with the relay's reason (exit 1).
#[test]
fn a_relay_that_refuses_new_hosts_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let pds = PdsLab::start();
    pds.create_account("erin.test");
    let relay = Relay::start_with(
        "localhost",
        0,
        "unknown",
        &[("RELAY_REFUSE_NEW", "1".into())],
    );
    let env = env_file(dir.path(), &pds, &relay);
    let o = run_cli(&env, &["relay", "repair", "--yes", "--watch", "2"], "");
    let text = output_text(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(text.contains("does not know localhost yet"), "{text}");
    assert!(
        text.contains("new host subscriptions temporarily disabled"),
        "{text}"
    );
}

/// The wizard on `env`, in a pseudo-terminal at 80x24, opened on the Relays step (from the
/// step list: ↓ until its pane shows, Enter); the keys pressed so far.
fn wizard_on_relays(env: &Path, restart: &Path, dir: &Path) -> (common::pty::Session, u32) {
    use common::pty::Session;
    use portable_pty::CommandBuilder;
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_pds-wizard"));
    cmd.args([
        "--env-file",
        &env.display().to_string(),
        "--restart-command",
        &restart.display().to_string(),
        "--timeout",
        "5",
    ]);
    cmd.cwd(dir);
    cmd.env("TERM", "xterm-256color");
    cmd.env("XDG_STATE_HOME", dir.join("state"));
    let mut s = Session::start(cmd, 24, 80);
    s.wait_text("Overview");
    let keys = s.open_step("Relays");
    (s, keys)
}

/// In the wizard: the cause is the first thing seen (`cause`), Enter shows the repair
/// (holding `step`), y runs it, each step said as it runs, until the relay follows again;
/// the keys from the step list.
fn repaired_in_the_wizard(env: &Path, restart: &Path, dir: &Path, cause: &str, step: &str) -> u32 {
    let started = std::time::Instant::now();
    let (mut s, mut keys) = wizard_on_relays(env, restart, dir);
    s.wait_text(cause);
    assert!(s.screen().contains("✗ Relays"), "{}", s.screen());
    assert!(
        s.screen().contains("Enter shows the repair"),
        "{}",
        s.screen()
    );
    s.send("\r");
    s.wait_text("Repair the relays?");
    assert!(s.screen().contains(step), "{}", s.screen());
    assert!(s.screen().contains("y: repair"), "{}", s.screen());
    s.send("y");
    keys += 2;
    s.wait_for_within(
        "the repair's end",
        std::time::Duration::from_secs(90),
        |s| {
            s.screen()
                .contains("Repaired: every relay repaired follows")
        },
    );
    eprintln!(
        "from opening the wizard to a relay that follows again: {keys} keys, {:.1} s",
        started.elapsed().as_secs_f64()
    );
    s.send("q");
    keys
}

/// The fourth journey, in the wizard: "my posts don't show", a wiped sequencer behind a
/// relay whose cursor is 2480311. From the step list to the Relays step, where the cause is
/// the first thing seen; Enter shows the repair, y runs it, each step said as it runs, until
/// the relay follows this PDS again — keystroke by keystroke in a pseudo-terminal, against
/// the real PDS and the indigo-like relay.
#[test]
fn the_wizard_leads_from_my_posts_dont_show_to_a_relay_that_follows_again() {
    let dir = tempfile::tempdir().unwrap();
    let pds = PdsLab::start();
    let session = pds.create_session("fran.test");
    let restart = wipe_the_sequencer(&pds, dir.path());
    let relay = Relay::following("localhost", 2480311, pds.pds_port, &[]);
    let s = relay.wait_for(20, |s| s["lastError"] == "FutureCursor");
    assert_eq!(s["status"], "idle", "{s}");
    let env = env_file(dir.path(), &pds, &relay);
    let keys = repaired_in_the_wizard(
        &env,
        &restart,
        dir.path(),
        "last saw event #2480311",
        "move the PDS's event counter to #2481311",
    );
    assert_eq!(keys, 11, "↓ ×8, Enter, Enter, y");
    assert_eq!(relay.state()["status"], "active");
    // A post made afterwards reaches it.
    post(&pds, &session, "seen again");
    let st = relay.wait_for(10, |st| {
        st["events"]
            .as_array()
            .is_some_and(|e| e.iter().any(|e| e["type"] == "#commit"))
    });
    assert!(
        st["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["type"] == "#commit"),
        "{st}"
    );
}

/// The README's case in the wizard: a sequencer with rows behind the relay.
#[test]
fn the_wizard_repairs_a_sequencer_with_rows() {
    let dir = tempfile::tempdir().unwrap();
    let pds = PdsLab::start();
    pds.create_account("gail.test");
    let restart = restart_script(dir.path(), &pds);
    let relay = Relay::following("localhost", 2480311, pds.pds_port, &[]);
    let s = relay.wait_for(20, |s| s["lastError"] == "FutureCursor");
    assert_eq!(s["status"], "idle", "{s}");
    let env = env_file(dir.path(), &pds, &relay);
    repaired_in_the_wizard(
        &env,
        &restart,
        dir.path(),
        "last saw event #2480311",
        "move the PDS's event counter to #2481311",
    );
    assert_eq!(relay.state()["status"], "active");
}

/// After downtime, in the wizard: a relay that gave up (offline) is asked to crawl and
/// follows again; nothing of the PDS's numbering moves.
#[test]
fn the_wizard_brings_back_a_relay_that_gave_up() {
    let dir = tempfile::tempdir().unwrap();
    let pds = PdsLab::start();
    pds.create_account("hana.test");
    let (relay, restart) = gave_up(&pds, dir.path());
    let env = env_file(dir.path(), &pds, &relay);
    let before = sequence(&pds).counter;
    repaired_in_the_wizard(
        &env,
        &restart,
        dir.path(),
        "sees localhost as offline",
        "to crawl this PDS",
    );
    assert_eq!(relay.state()["status"], "active");
    assert!(sequence(&pds).counter >= before);
    assert!(
        sequence(&pds).counter < Some(1000),
        "the numbering was not moved"
    );
}

/// Throttled accounts, in the wizard: named, with the request to the relay's operators;
/// Enter says there is nothing the repair can change, and nothing is.
#[test]
fn the_wizard_names_throttled_accounts_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let pds = PdsLab::start();
    let (relay, s) = throttling("ivan.test", &pds);
    let env = env_file(dir.path(), &pds, &relay);
    let restart = restart_script(dir.path(), &pds);
    let (mut w, _) = wizard_on_relays(&env, &restart, dir.path());
    // (Wrapped at 80 columns: each needle on a line of its own.)
    w.wait_text("throttles 1 account(s) of");
    for needle in ["localhost: ivan.test", "Hello, I run the PDS"] {
        assert!(w.screen().contains(needle), "{needle}: {}", w.screen());
    }
    w.send("\r");
    w.wait_text("Nothing the repair can change here");
    assert!(!w.screen().contains("Repair the relays?"), "{}", w.screen());
    w.send("q");
    assert_eq!(sequence(&pds), s, "nothing was changed");
    assert!(
        relay.log().is_empty(),
        "no crawl was asked: {}",
        relay.log()
    );
}

/// A step that fails stops the repair, and a PDS the repair stopped is started again:
/// here the backup fails (no sequencer where the plan says), after the stop.
#[test]
fn a_failed_step_stops_the_repair_and_the_pds_is_started_again() {
    use pds_wizard::repair::{execute, Plan, Step};
    let dir = tempfile::tempdir().unwrap();
    let pds = PdsLab::start();
    let relay = Relay::start("localhost", 0, "active");
    let env = env_file(dir.path(), &pds, &relay);
    let doc = pds_wizard::envfile::Document::load(&env).unwrap();
    let ctx = pds_wizard::context::Context {
        env_file: env.clone(),
        ..Default::default()
    };
    let settings = pds_wizard::settings::Resolved::new(&ctx, Some(&doc));
    // Stopped "by hand" (the stop command only marks it), started by the lab's restart.
    let marker = dir.path().join("stopped");
    let stop = vec!["touch".to_string(), marker.display().to_string()];
    let start = vec![restart_script(dir.path(), &pds).display().to_string()];
    let plan = Plan {
        host: "localhost".into(),
        relays: vec![],
        sequence: None,
        steps: vec![
            Step::StopPds { command: stop },
            Step::Backup {
                db: dir.path().join("no-such/sequencer.sqlite"),
            },
            Step::MoveCounter {
                db: dir.path().join("no-such/sequencer.sqlite"),
                to: 5000,
            },
            Step::StartPds {
                command: start.clone(),
            },
        ],
        notes: vec![],
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let restarts = || {
        std::fs::read_to_string(pds.lab_log())
            .unwrap_or_default()
            .matches("pds_lab: restarted")
            .count()
    };
    let before = restarts();
    let out = rt.block_on(execute(
        &plan,
        &settings,
        std::time::Duration::from_secs(5),
        |_| {},
    ));
    let said: Vec<&str> = out.steps.iter().map(|f| f.what.as_str()).collect();
    assert!(marker.exists(), "the stop ran: {said:?}");
    assert!(!out.repaired, "{said:?}");
    assert_eq!(
        said.len(),
        3,
        "stop, the failed backup, the start again: {said:?}"
    );
    assert!(said[1].contains("cannot open"), "{said:?}");
    assert!(said[2].contains("the PDS answers again"), "{said:?}");
    assert!(
        !said.iter().any(|s| s.contains("moved the event counter")),
        "{said:?}"
    );
    assert_eq!(restarts(), before + 1, "started again once");
}

//! The PDS's own databases, read-only, against files the real PDS wrote: pending email
//! codes (`email codes`) while no mail can be sent.

mod common;

use common::{run_cli, PdsLab};

fn env_file(dir: &std::path::Path, data_dir: &std::path::Path) -> std::path::PathBuf {
    let p = dir.join("pds.env");
    std::fs::write(
        &p,
        format!(
            "PDS_HOSTNAME=localhost\nPDS_DATA_DIRECTORY={}\n",
            data_dir.display()
        ),
    )
    .unwrap();
    p
}

fn digest(path: &std::path::Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_default()
}

#[test]
fn codes_the_pds_meant_to_mail_can_be_read_and_used() {
    // No SMTP configured: the PDS "sends" into nothing, as when email is broken.
    let lab = PdsLab::start();
    let alice = lab.create_session("alice.test");
    let bob = lab.create_session("bob.test");
    let alice_did = alice["did"].as_str().unwrap();
    let (status, answer) = lab.xrpc_post(
        "com.atproto.server.requestEmailConfirmation",
        &serde_json::Value::Null,
        alice["accessJwt"].as_str(),
    );
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = lab.xrpc_post(
        "com.atproto.server.requestPasswordReset",
        &serde_json::json!({"email": "bob-test@example.test"}),
        None,
    );
    assert_eq!(status, 200, "{answer}");

    let dir = tempfile::tempdir().unwrap();
    let env = env_file(dir.path(), lab.data_dir());
    let db = lab.data_dir().join("account.sqlite");
    let before = (digest(&db), digest(&db.with_extension("sqlite-wal")));

    let out = run_cli(&env, &["--json", "email", "codes"], "");
    assert!(out.status.success(), "{}", common::output_text(&out));
    let codes: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let codes = codes.as_array().unwrap();
    assert_eq!(codes.len(), 2, "{codes:?}");
    let confirm = codes
        .iter()
        .find(|c| c["purpose"] == "confirm_email")
        .expect("alice's confirmation code");
    assert_eq!(confirm["did"], alice_did);
    assert_eq!(confirm["handle"], "alice.test");
    assert_eq!(confirm["email"], "alice-test@example.test");
    assert_eq!(confirm["expired"], false);
    assert!(confirm["age_seconds"].as_i64().unwrap() < 120);
    let reset = codes
        .iter()
        .find(|c| c["purpose"] == "reset_password")
        .expect("bob's reset code");
    assert_eq!(reset["did"], bob["did"]);

    // Reading changed neither the database nor its WAL.
    assert_eq!(
        before,
        (digest(&db), digest(&db.with_extension("sqlite-wal")))
    );

    // The text form, filtered to one account, names the purpose and the code.
    let out = run_cli(&env, &["email", "codes", "--account", "bob.test"], "");
    let text = common::output_text(&out);
    assert!(text.contains("reset the password"), "{text}");
    assert!(text.contains(reset["code"].as_str().unwrap()), "{text}");
    assert!(!text.contains("alice.test"), "{text}");

    // The code is the real one: the PDS accepts it.
    let (status, answer) = lab.xrpc_post(
        "com.atproto.server.confirmEmail",
        &serde_json::json!({"email": "alice-test@example.test", "token": confirm["code"]}),
        alice["accessJwt"].as_str(),
    );
    assert_eq!(status, 200, "{answer}");
    // Used codes are gone.
    let out = run_cli(
        &env,
        &["--json", "email", "codes", "--account", alice_did],
        "",
    );
    let left: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(left, serde_json::json!([]));
}

#[test]
fn a_wrong_data_directory_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let env = env_file(dir.path(), &dir.path().join("nowhere"));
    let out = run_cli(&env, &["email", "codes"], "");
    assert_eq!(out.status.code(), Some(2));
    let text = common::output_text(&out);
    assert!(text.contains("PDS_DATA_DIRECTORY"), "{text}");
}

/// The PDS's newest sequence number as the PDS's own SQLite library reads it (an
/// independent reader, to check ours against).
fn seq_by_node(data_dir: &std::path::Path) -> i64 {
    // The PDS's own Node: its better-sqlite3 is built for that Node's ABI.
    let modules = std::env::var("PDS_WIZARD_TEST_PDS_MODULES").unwrap();
    let node = std::env::var("PDS_WIZARD_TEST_PDS_NODE").unwrap_or_else(|_| "node".into());
    let out = std::process::Command::new(node)
        .args([
            "-e",
            "const D = require('better-sqlite3'); const d = new D(process.argv[1], { readonly: true }); console.log(d.prepare('SELECT max(seq) AS m FROM repo_seq').get().m)",
        ])
        .arg(data_dir.join("sequencer.sqlite"))
        .env("NODE_PATH", modules)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)))
}

fn finding_with<'a>(findings: &'a [serde_json::Value], text: &str) -> &'a serde_json::Value {
    findings
        .iter()
        .find(|f| f["what"].as_str().unwrap_or_default().contains(text))
        .unwrap_or_else(|| panic!("no finding with {text:?} in {findings:#?}"))
}

#[test]
fn a_relay_ahead_of_the_pds_is_a_desync_with_the_fix_spelled_out() {
    let host = "pds.example.test";
    let lab = PdsLab::start();
    lab.create_account("alice.test");
    lab.create_account("bob.test");
    let ours = seq_by_node(lab.data_dir());
    assert!(ours > 0);

    // After a reinstall: this relay saw far more from the host than the new PDS has made.
    let ahead = common::Relay::start(host, ours + 500, "active");
    let behind = common::Relay::start(host, ours - 1, "active");
    let stranger = common::Relay::start("other.example.test", 5, "active");
    let banned = common::Relay::start(host, 1, "banned");
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join("pds.env");
    std::fs::write(
        &env,
        format!(
            "PDS_HOSTNAME={host}\nPDS_DATA_DIRECTORY={}\nPDS_CRAWLERS={},{},{},{}\n",
            lab.data_dir().display(),
            ahead.url,
            behind.url,
            stranger.url,
            banned.url
        ),
    )
    .unwrap();

    let out = run_cli(&env, &["--json", "doctor", "--only", "relay-sync"], "");
    assert_eq!(out.status.code(), Some(2), "{}", common::output_text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = v["checks"][0]["findings"].as_array().unwrap();

    let desync = finding_with(findings, &format!("last saw event #{}", ours + 500));
    assert_eq!(desync["level"], "fail");
    assert!(
        desync["what"]
            .as_str()
            .unwrap()
            .contains(&format!("only at #{ours}")),
        "{desync}"
    );
    let fix = desync["fix"].as_str().unwrap();
    for step in [
        "systemctl stop pds",
        &format!(
            "UPDATE sqlite_sequence SET seq = {} WHERE name = 'repo_seq'",
            ours + 1500
        ),
        &lab.data_dir()
            .join("sequencer.sqlite")
            .display()
            .to_string(),
        "systemctl start pds",
        "--request-crawl",
    ] {
        assert!(fix.contains(step), "fix lacks {step:?}: {fix}");
    }
    let fine = finding_with(
        findings,
        &format!("last event #{}; this PDS is at #{ours}", ours - 1),
    );
    assert_eq!(fine["level"], "pass");
    assert_eq!(
        finding_with(findings, "does not know pds.example.test")["level"],
        "warn"
    );
    assert_eq!(finding_with(findings, "has banned")["level"], "fail");

    // Shown, never run: the PDS's numbering is untouched.
    assert_eq!(seq_by_node(lab.data_dir()), ours);
}

/// A wiped or reinstalled /pds: the sequencer holds no event at all while a relay
/// remembers #500 from the host — the worst desync, not a pass. Then the counter moved past
/// by hand without a new event: still a desync, whose fix is one event and a crawl.
#[test]
fn an_empty_sequencer_behind_a_relay_that_remembers_is_a_desync() {
    let host = "pds.example.test";
    let lab = PdsLab::start();
    let db = lab.data_dir().join("sequencer.sqlite");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let rows: i64 = conn
        .query_row("SELECT count(*) FROM repo_seq", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 0, "a fresh PDS has sequenced nothing");
    let relay = common::Relay::start(host, 500, "active");
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join("pds.env");
    std::fs::write(
        &env,
        format!(
            "PDS_HOSTNAME={host}\nPDS_DATA_DIRECTORY={}\nPDS_CRAWLERS={}\n",
            lab.data_dir().display(),
            relay.url
        ),
    )
    .unwrap();
    let findings = || {
        let out = run_cli(&env, &["--json", "doctor", "--only", "relay-sync"], "");
        assert_eq!(out.status.code(), Some(2), "{}", common::output_text(&out));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["checks"][0]["findings"].as_array().unwrap().clone()
    };
    let f = findings();
    let desync = finding_with(&f, "last saw event #500");
    assert_eq!(desync["level"], "fail");
    assert!(
        desync["what"]
            .as_str()
            .unwrap()
            .contains("has no events at all"),
        "{desync}"
    );
    let fix = desync["fix"].as_str().unwrap();
    assert!(
        fix.contains("SET seq = 1500")
            && fix.contains("WHERE NOT EXISTS")
            && fix.contains("handle refresh"),
        "{fix}"
    );

    // The counter moved past #500 (the fix's step 2), no event since: still "in the future".
    conn.execute(
        "INSERT INTO sqlite_sequence (name, seq) SELECT 'repo_seq', 1500 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'repo_seq')",
        [],
    )
    .unwrap();
    let f = findings();
    let stuck = finding_with(&f, "numbering is past it, but its newest event is still #0");
    assert_eq!(stuck["level"], "fail");
    assert!(
        stuck["fix"].as_str().unwrap().contains("handle refresh")
            && !stuck["fix"].as_str().unwrap().contains("sqlite3"),
        "{stuck}"
    );
}

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

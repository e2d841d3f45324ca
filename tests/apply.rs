//! `pds-wizard apply`: an answers file replayed without questions, through the same safe
//! writes as the wizard, each change shown; then the doctor, whose code it exits with.

mod common;

use common::{make_ca, output_text, run_cli};
use std::path::Path;

fn answers(dir: &Path, ca: &common::TestCa) -> String {
    format!(
        r#"# as a fleet tool would template it
[env]
PDS_HOSTNAME = "pds.example.test"
PDS_EMAIL_FROM_ADDRESS = "noreply@example.test"

[email]
test_recipient = "admin@example.test"

[proxy]
server = "nginx"
out = "{out}"
upstream = "127.0.0.1:3000"
tls = "files"
cert = "{cert}"
key = "{key}"
listen = "127.0.0.1"
https_port = 8443
http_port = "off"

[did_file]
handle = "alice.example.test"
did = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"
webroot = "{www}"

[doctor]
handles = ["alice.example.test"]
"#,
        out = dir.join("sites-available/pds.conf").display(),
        cert = ca.cert.display(),
        key = ca.key.display(),
        www = dir.join("www").display(),
    )
}

fn setup() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let ca = make_ca(dir.path());
    std::fs::create_dir_all(dir.path().join("sites-available")).unwrap();
    std::fs::create_dir_all(dir.path().join("www")).unwrap();
    let env = dir.path().join("pds.env");
    std::fs::write(&env, pds_wizard::demo::DEMO_ENV).unwrap();
    let file = dir.path().join("pds-wizard.toml");
    std::fs::write(&file, answers(dir.path(), &ca)).unwrap();
    (dir, env, file)
}

const QUICK: [&str; 2] = ["--timeout", "2"];

#[test]
fn dry_run_shows_every_change_and_writes_nothing() {
    let (dir, env, file) = setup();
    let before = std::fs::read(&env).unwrap();
    let mut args = QUICK.to_vec();
    args.extend(["apply", "--answers", file.to_str().unwrap(), "--dry-run"]);
    let out = run_cli(&env, &args, "");
    let text = output_text(&out);
    assert!(text.contains("dry run: nothing is written"), "{text}");
    assert!(
        text.contains("-   3 PDS_HOSTNAME=pds.example.com"),
        "{text}"
    );
    assert!(
        text.contains("+   3 PDS_HOSTNAME=pds.example.test"),
        "{text}"
    );
    assert!(text.contains("pds.conf (new file)"), "{text}");
    assert!(
        text.contains("would write did:plc:ewvi7nxzyoun6zhxrhs64oiz"),
        "{text}"
    );
    assert_eq!(std::fs::read(&env).unwrap(), before);
    assert!(!dir.path().join("sites-available/pds.conf").exists());
    assert!(!dir.path().join("www/.well-known/atproto-did").exists());
    // The doctor ran (on what is there now) and gave the exit code.
    assert!(text.contains("The PDS process"), "{text}");
    assert!(out.status.code().is_some_and(|c| c <= 2), "{text}");
}

/// A misspelt key would be written as a new key nothing reads: the whole file is refused
/// before anything is written, with the key it was meant to be.
#[test]
fn a_misspelt_key_stops_apply_before_anything_is_written() {
    let (dir, env, file) = setup();
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replace("[env]\n", "[env]\nPDS_CRAWLER = \"https://bsky.network\"\n");
    std::fs::write(&file, text).unwrap();
    let before = std::fs::read(&env).unwrap();
    let mut args = QUICK.to_vec();
    args.extend(["apply", "--answers", file.to_str().unwrap()]);
    let out = run_cli(&env, &args, "");
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(
        text.contains("PDS_CRAWLER is not a key the PDS reads; did you mean PDS_CRAWLERS?"),
        "{text}"
    );
    assert_eq!(std::fs::read(&env).unwrap(), before);
    assert!(!dir.path().join("sites-available/pds.conf").exists());
}

#[test]
fn apply_writes_safely_then_exits_with_the_doctors_code() {
    let (dir, env, file) = setup();
    let mut args = QUICK.to_vec();
    args.extend(["apply", "--answers", file.to_str().unwrap()]);
    let out = run_cli(&env, &args, "");
    let text = output_text(&out);
    // pds.env: the two values changed, everything else byte for byte, a backup kept.
    let now = std::fs::read_to_string(&env).unwrap();
    assert!(now.contains("PDS_HOSTNAME=pds.example.test\n"), "{now}");
    assert!(
        now.contains("PDS_EMAIL_FROM_ADDRESS=noreply@example.test\n"),
        "{now}"
    );
    assert_eq!(
        now.lines()
            .filter(|l| !pds_wizard::demo::DEMO_ENV.contains(l))
            .count(),
        2,
        "{now}"
    );
    assert!(text.contains("previous version kept as"), "{text}");
    // The proxy config is what `proxy render` makes from the same answers, checked by nginx.
    let conf = std::fs::read_to_string(dir.path().join("sites-available/pds.conf")).unwrap();
    assert!(conf.contains("server_name pds.example.test"), "{conf}");
    assert!(conf.contains("listen 127.0.0.1:8443 ssl"), "{conf}");
    assert!(text.contains("nginx accepts the configuration"), "{text}");
    let did = std::fs::read_to_string(dir.path().join("www/.well-known/atproto-did")).unwrap();
    assert_eq!(did.trim(), "did:plc:ewvi7nxzyoun6zhxrhs64oiz");

    // The exit code is the doctor's on the result.
    let mut doctor = QUICK.to_vec();
    doctor.extend(["doctor", "--handle", "alice.example.test"]);
    let alone = run_cli(&env, &doctor, "");
    assert_eq!(out.status.code(), alone.status.code(), "{text}");

    // Again: nothing left to change, nothing rewritten.
    let out = run_cli(&env, &args, "");
    let text = output_text(&out);
    assert!(
        text.contains(&format!("{}: no change", env.display())),
        "{text}"
    );
    assert!(text.contains("pds.conf: no change"), "{text}");
    assert!(text.contains("atproto-did: no change"), "{text}");
}

#[test]
fn a_secret_in_the_answers_file_is_refused_before_anything_is_written() {
    let (dir, env, file) = setup();
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replace("[env]\n", "[env]\nPDS_ADMIN_PASSWORD = \"hunter2\"\n");
    std::fs::write(&file, text).unwrap();
    let before = std::fs::read(&env).unwrap();
    let out = run_cli(&env, &["apply", "--answers", file.to_str().unwrap()], "");
    let said = output_text(&out);
    assert_eq!(out.status.code(), Some(3), "{said}");
    assert!(said.contains("PDS_ADMIN_PASSWORD is a secret"), "{said}");
    assert!(!said.contains("hunter2"), "{said}");
    assert_eq!(std::fs::read(&env).unwrap(), before);
    assert!(!dir.path().join("sites-available/pds.conf").exists());
}

#[test]
fn answers_that_cannot_be_applied_stop_before_the_first_write() {
    let (dir, env, file) = setup();
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replace("server = \"nginx\"", "server = \"apache\"");
    std::fs::write(&file, text).unwrap();
    let before = std::fs::read(&env).unwrap();
    let out = run_cli(&env, &["apply", "--answers", file.to_str().unwrap()], "");
    let said = output_text(&out);
    assert_eq!(out.status.code(), Some(3), "{said}");
    assert!(said.contains("proxy.server"), "{said}");
    assert_eq!(std::fs::read(&env).unwrap(), before, "pds.env was written");
    assert!(!dir.path().join("www/.well-known/atproto-did").exists());
}

/// A step that cannot be applied (here: the atproto-did file, its web root missing) exits
/// 3, not the doctor's 2, while the rest is still applied.
#[test]
fn a_failed_step_exits_3_and_the_rest_is_applied() {
    let (dir, env, file) = setup();
    let www = dir.path().join("www");
    let gone = dir.path().join("no-such-www");
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replace(&www.display().to_string(), &gone.display().to_string());
    std::fs::write(&file, text).unwrap();
    let mut args = QUICK.to_vec();
    args.extend(["apply", "--answers", file.to_str().unwrap()]);
    let out = run_cli(&env, &args, "");
    let said = output_text(&out);
    assert_eq!(out.status.code(), Some(3), "{said}");
    assert!(said.contains("is not a directory"), "{said}");
    // pds.env and the proxy config were still applied; the doctor still ran.
    let now = std::fs::read_to_string(&env).unwrap();
    assert!(now.contains("PDS_HOSTNAME=pds.example.test\n"), "{now}");
    assert!(dir.path().join("sites-available/pds.conf").exists());
    assert!(said.contains("The PDS process"), "{said}");
}

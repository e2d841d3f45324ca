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

/// Outputs an answers file names are checked before anything is written: never onto
/// pds.env (its secrets would be gone), never into a system place or elsewhere under /etc,
/// never over a file of another kind; the Caddyfile [pds_side] edits must be there.
#[test]
fn answers_files_cannot_aim_outputs_at_pds_env_or_system_files() {
    let (dir, env, file) = setup();
    let original = std::fs::read_to_string(&file).unwrap();
    let out_path = dir
        .path()
        .join("sites-available/pds.conf")
        .display()
        .to_string();
    let passwd = dir.path().join("passwd");
    std::fs::write(&passwd, "root:x:0:0:root:/root:/bin/bash\n").unwrap();
    let before = std::fs::read(&env).unwrap();
    for (out, says) in [
        (env.display().to_string(), "is pds.env's own"),
        (
            format!(
                "{}/../pds.env",
                dir.path().join("sites-available").display()
            ),
            "is pds.env's own",
        ),
        (
            "/etc/passwd".to_string(),
            "is under /etc, outside /etc/nginx",
        ),
        ("/usr/local/bin/pds".to_string(), "is a system place"),
        (passwd.display().to_string(), "is not a nginx configuration"),
        (file.display().to_string(), "is the answers file itself"),
    ] {
        std::fs::write(&file, original.replace(&out_path, &out)).unwrap();
        let o = run_cli(&env, &["apply", "--answers", file.to_str().unwrap()], "");
        let said = output_text(&o);
        assert_eq!(o.status.code(), Some(3), "{out}: {said}");
        assert!(
            said.contains("[proxy] out") && said.contains(says),
            "{out}: {said}"
        );
        assert!(said.contains("Nothing was applied"), "{said}");
        assert_eq!(
            std::fs::read(&env).unwrap(),
            before,
            "{out}: pds.env was written"
        );
        assert_eq!(
            std::fs::read_to_string(&passwd).unwrap(),
            "root:x:0:0:root:/root:/bin/bash\n"
        );
    }
    // [pds_side]: an nft_file onto pds.env, and a Caddyfile that is not there, are found
    // before [env] is written.
    std::fs::write(
        &file,
        format!(
            "{original}\n[pds_side]\nfront_address = \"100.64.0.1\"\npds_address = \"100.101.102.103\"\nvia = \"caddy\"\ncaddyfile = \"{}\"\nnft_file = \"{}\"\n",
            dir.path().join("no-such-Caddyfile").display(),
            env.display()
        ),
    )
    .unwrap();
    let o = run_cli(&env, &["apply", "--answers", file.to_str().unwrap()], "");
    let said = output_text(&o);
    assert_eq!(o.status.code(), Some(3), "{said}");
    assert!(
        said.contains("[pds_side] caddyfile") && said.contains("does not exist"),
        "{said}"
    );
    assert!(
        said.contains("[pds_side] nft_file") && said.contains("is pds.env's own"),
        "{said}"
    );
    assert_eq!(std::fs::read(&env).unwrap(), before, "pds.env was written");
}

/// A value no program could be started with (over Linux's 128 KiB per variable) is refused
/// with the reason, from the answers file and from env set; nothing is written.
#[test]
fn a_value_over_128_kib_is_refused_everywhere() {
    let (_dir, env, file) = setup();
    let before = std::fs::read(&env).unwrap();
    let big = "x".repeat(1 << 20);
    let text = std::fs::read_to_string(&file).unwrap().replace(
        "[env]\n",
        &format!("[env]\nPDS_REPORT_SERVICE_DID = \"{big}\"\n"),
    );
    std::fs::write(&file, text).unwrap();
    let o = run_cli(&env, &["apply", "--answers", file.to_str().unwrap()], "");
    let said = output_text(&o);
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        &said[..said.len().min(2000)]
    );
    assert!(
        said.contains("Linux takes no variable over 128 KiB (E2BIG)"),
        "{}",
        &said[..said.len().min(2000)]
    );
    assert!(said.len() < 4000, "the message quotes the value");
    let o = run_cli(
        &env,
        &["env", "set", "PDS_REPORT_SERVICE_DID=-"],
        &format!("{}\n", &big[..200_000]),
    );
    assert!(!o.status.success());
    assert!(
        output_text(&o).contains("E2BIG"),
        "{}",
        &output_text(&o)[..2000.min(output_text(&o).len())]
    );
    assert_eq!(std::fs::read(&env).unwrap(), before);
    // apply's help says its exit codes as they are.
    let o = run_cli(&env, &["apply", "--help"], "");
    assert!(
        output_text(&o).contains("or 3 when the answers could not be applied"),
        "{}",
        output_text(&o)
    );
}

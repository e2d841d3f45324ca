//! The command line, run as a user would: the real binary on temp files.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

const JWT: &str = "8c3e1f0a9b2d4c6e8f0a1b2c3d4e5f60";
const ADMIN: &str = "5d41402abc4b2a76b9719d911017c592";

fn sample(dir: &Path) -> PathBuf {
    let p = dir.join("pds.env");
    let text = format!(
        "# my pds\nPDS_HOSTNAME=pds.example.com\nPDS_JWT_SECRET={JWT}\nPDS_ADMIN_PASSWORD={ADMIN}\n\
         PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX={}\nPDS_DATA_DIRECTORY=/pds\nPDS_BLOBSTORE_DISK_LOCATION=/pds/blocks\n\
         PDS_CRAWLERS=https://bsky.network\nMY_NOTE=kept\n",
        "11".repeat(32)
    );
    std::fs::write(&p, text).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    p
}

fn run(env: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    common::run_cli(env, args, stdin.unwrap_or(""))
}

fn out(o: &Output) -> String {
    common::output_text(o)
}

#[test]
fn show_masks_secrets_and_marks_unknown_keys() {
    let d = tempfile::tempdir().unwrap();
    let env = sample(d.path());
    for args in [&["env", "show"][..], &["env", "show", "--json"][..]] {
        let o = run(&env, args, None);
        assert!(o.status.success(), "{}", out(&o));
        let text = out(&o);
        assert!(text.contains("pds.example.com"));
        assert!(
            !text.contains(JWT) && !text.contains(ADMIN) && !text.contains(&"11".repeat(32)),
            "{text}"
        );
        assert!(text.contains("MY_NOTE"));
    }
    let o = run(&env, &["env", "show", "--json"], None);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let note = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["key"] == "MY_NOTE")
        .unwrap();
    assert_eq!(note["known"], false);
    let jwt = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["key"] == "PDS_JWT_SECRET")
        .unwrap();
    assert_eq!(jwt["secret"], true);
}

#[test]
fn get_prints_values_and_secrets_only_when_asked() {
    let d = tempfile::tempdir().unwrap();
    let env = sample(d.path());
    let o = run(&env, &["env", "get", "PDS_HOSTNAME"], None);
    assert_eq!(String::from_utf8_lossy(&o.stdout), "pds.example.com\n");
    let o = run(&env, &["env", "get", "PDS_ADMIN_PASSWORD"], None);
    assert!(!out(&o).contains(ADMIN));
    let o = run(
        &env,
        &["env", "get", "PDS_ADMIN_PASSWORD", "--reveal"],
        None,
    );
    assert_eq!(String::from_utf8_lossy(&o.stdout), format!("{ADMIN}\n"));
    let o = run(&env, &["env", "get", "PDS_PORT"], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(out(&o).contains("not set"));
}

#[test]
fn set_validates_and_writes_nothing_on_error() {
    let d = tempfile::tempdir().unwrap();
    let env = sample(d.path());
    let before = std::fs::read(&env).unwrap();
    for (args, needle) in [
        (&["env", "set", "PDS_HOSTNAME=1.2.3.4"][..], "IP address"),
        (&["env", "set", "PDS_HOSTNAME"][..], "KEY=VALUE"),
        (&["env", "set", "9BAD=x"][..], "not a valid variable name"),
        (
            &["env", "set", "PDS_ADMIN_PASSWORD=hunter2hunter2xx"][..],
            "standard input",
        ),
        (&["env", "set", "MY_NOTE=it's $x"][..], "no quoting"),
        (
            &[
                "env",
                "set",
                "PDS_CRAWLERS=https://a.example, https://b.example",
            ][..],
            "spaces",
        ),
    ] {
        let o = run(&env, args, None);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", out(&o));
        assert!(out(&o).contains(needle), "{args:?}: {}", out(&o));
        assert_eq!(
            std::fs::read(&env).unwrap(),
            before,
            "{args:?} wrote the file"
        );
    }
    assert!(pds_wizard::fsutil::list_backups(d.path(), "pds.env").is_empty());
}

#[test]
fn set_writes_one_line_with_a_backup_and_quotes_for_bash() {
    let d = tempfile::tempdir().unwrap();
    let env = sample(d.path());
    let before = std::fs::read_to_string(&env).unwrap();
    let o = run(
        &env,
        &[
            "env",
            "set",
            "PDS_EMAIL_FROM_ADDRESS=My PDS <noreply@example.com>",
        ],
        None,
    );
    assert!(o.status.success(), "{}", out(&o));
    assert!(out(&o).contains("+"), "shows the change: {}", out(&o));
    let after = std::fs::read_to_string(&env).unwrap();
    assert!(
        after.contains("PDS_EMAIL_FROM_ADDRESS='My PDS <noreply@example.com>'\n"),
        "{after}"
    );
    assert_eq!(after.lines().count(), before.lines().count() + 1);
    // Everything else is byte for byte the same.
    let without: String = after
        .lines()
        .filter(|l| !l.starts_with("PDS_EMAIL_FROM"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(without, before);
    assert_eq!(
        pds_wizard::fsutil::list_backups(d.path(), "pds.env").len(),
        1
    );

    // Same value again: no write, no new backup.
    let o = run(
        &env,
        &[
            "env",
            "set",
            "PDS_EMAIL_FROM_ADDRESS=My PDS <noreply@example.com>",
        ],
        None,
    );
    assert!(out(&o).contains("No change"));
    assert_eq!(
        pds_wizard::fsutil::list_backups(d.path(), "pds.env").len(),
        1
    );

    // Dry run: shows, does not write.
    let o = run(
        &env,
        &["env", "set", "PDS_HOSTNAME=other.example.com", "--dry-run"],
        None,
    );
    assert!(out(&o).contains("dry run"));
    assert_eq!(std::fs::read_to_string(&env).unwrap(), after);
}

#[test]
fn secrets_come_from_stdin_and_never_reach_output() {
    let d = tempfile::tempdir().unwrap();
    let env = sample(d.path());
    let o = run(
        &env,
        &["env", "set", "PDS_ADMIN_PASSWORD=-"],
        Some("newpassword0123456789\n"),
    );
    assert!(o.status.success(), "{}", out(&o));
    assert!(
        !out(&o).contains("newpassword") && !out(&o).contains(ADMIN),
        "{}",
        out(&o)
    );
    let text = std::fs::read_to_string(&env).unwrap();
    assert!(text.contains("\nPDS_ADMIN_PASSWORD=newpassword0123456789\n"));

    let smtp = "smtps://user%40example.com:p%40ss@smtp.example.com:465";
    let o = run(&env, &["env", "set", "PDS_EMAIL_SMTP_URL=-"], Some(smtp));
    assert!(o.status.success(), "{}", out(&o));
    assert!(!out(&o).contains("p%40ss"), "{}", out(&o));
    assert!(std::fs::read_to_string(&env).unwrap().contains(smtp));
}

#[test]
fn identity_keys_are_not_replaced_without_force() {
    let d = tempfile::tempdir().unwrap();
    let env = sample(d.path());
    let before = std::fs::read(&env).unwrap();
    let key = "22".repeat(32);
    let set_key = ["env", "set", "PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX=-"];
    let o = run(&env, &set_key, Some(&key));
    assert_eq!(o.status.code(), Some(2));
    assert!(
        out(&o).contains("--force") && out(&o).contains("did:plc"),
        "{}",
        out(&o)
    );
    assert_eq!(std::fs::read(&env).unwrap(), before);
    let forced = [&set_key[..], &["--force"]].concat();
    let o = run(&env, &forced, Some(&key));
    assert!(o.status.success(), "{}", out(&o));
    assert!(std::fs::read_to_string(&env).unwrap().contains(&key));
    // An invalid key is refused even with --force.
    let o = run(&env, &forced, Some(&"00".repeat(32)));
    assert_eq!(o.status.code(), Some(2));
    assert!(out(&o).contains("not a valid secp256k1"), "{}", out(&o));
}

#[test]
fn unset_removes_and_protects_required_keys() {
    let d = tempfile::tempdir().unwrap();
    let env = sample(d.path());
    let o = run(&env, &["env", "unset", "MY_NOTE"], None);
    assert!(o.status.success());
    assert!(!std::fs::read_to_string(&env).unwrap().contains("MY_NOTE"));
    let o = run(&env, &["env", "unset", "PDS_HOSTNAME"], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(std::fs::read_to_string(&env)
        .unwrap()
        .contains("PDS_HOSTNAME"));
    let o = run(&env, &["env", "unset", "PDS_HOSTNAME", "--force"], None);
    assert!(o.status.success());
}

#[test]
fn check_reports_problems_with_exit_codes_and_json() {
    let d = tempfile::tempdir().unwrap();
    let env = sample(d.path());
    // A good file: no failures (the missing email is a warning).
    let o = run(&env, &["env", "check"], None);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));

    let bad = d.path().join("bad.env");
    std::fs::write(&bad, "PDS_HOSTNAME=pds.example.com\nPDS_HOSTNAM=typo.example.com\nPDS_EMAIL_FROM_ADDRESS=a b@example.com & co\nPDS_CRAWLERS=https://a.example, https://b.example\nexport PDS_ADMIN_PASSWORD='x'\n").unwrap();
    let o = run(&bad, &["env", "check"], None);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    let text = out(&o);
    for needle in [
        "did you mean PDS_HOSTNAME",
        "disagree",
        "spaces",
        "goat",
        "PDS_JWT_SECRET",
        "mode 0644",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    let o = run(&bad, &["env", "check", "--json"], None);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["worst"], "fail");
    assert!(v["findings"].as_array().unwrap().len() >= 6);
}

const INIT: &[&str] = &[
    "env",
    "init",
    "--hostname",
    "pds.example.com",
    "--admin-email",
    "me@example.com",
];

#[test]
fn init_creates_once_and_bad_input_is_explained() {
    let d = tempfile::tempdir().unwrap();
    let env = d.path().join("new/pds.env");
    let o = run(&env, INIT, None);
    assert!(o.status.success(), "{}", out(&o));
    let text = std::fs::read_to_string(&env).unwrap();
    assert!(text.starts_with("PDS_HOSTNAME=pds.example.com\nPDS_JWT_SECRET="));
    // No secret is printed.
    for line in text.lines() {
        let v = line.split_once('=').unwrap().1;
        if v.len() >= 32 {
            assert!(!out(&o).contains(v));
        }
    }
    let o = run(&env, INIT, None);
    assert_eq!(o.status.code(), Some(2));
    assert!(out(&o).contains("already exists"));

    // The next command names the file in use (it is not the default /pds/pds.env).
    assert!(
        out(&run(&d.path().join("other/pds.env"), INIT, None)).contains(&format!(
            "pds-wizard --env-file {}",
            d.path().join("other/pds.env").display()
        )),
    );
    // Without the flags and without a terminal to ask on: said, nothing written.
    let bare = d.path().join("bare/pds.env");
    let o = run(&bare, &["env", "init"], None);
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    assert!(out(&o).contains("give --hostname"), "{}", out(&o));
    assert!(!bare.exists());
    // An mDNS name never resolves outside the network.
    let o = run(
        &bare,
        &[
            "env",
            "init",
            "--hostname",
            "pds.local",
            "--admin-email",
            "me@example.com",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    assert!(out(&o).contains("mDNS name (.local)"), "{}", out(&o));

    let missing = d.path().join("nope/pds.env");
    let o = run(&missing, &["env", "show"], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(out(&o).contains("env init"), "{}", out(&o));
    let o = run(&missing, &["--timeout", "0", "env", "show"], None);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn completions_and_man_pages_come_from_the_real_definitions() {
    let d = tempfile::tempdir().unwrap();
    let env = sample(d.path());
    for (shell, marker) in [
        ("bash", "_pds__wizard()"),
        ("zsh", "#compdef pds-wizard"),
        ("fish", "complete -c pds-wizard"),
    ] {
        let o = run(&env, &["completions", shell], None);
        let t = out(&o);
        assert!(o.status.success() && t.contains(marker), "{shell}: {t}");
        // Every subcommand is offered, the newest ones included.
        for sub in ["env", "email", "handle", "did-file", "proxy", "doctor"] {
            assert!(t.contains(sub), "{shell} completions lack {sub}");
        }
    }
    let o = run(&env, &["man"], None);
    let page = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        o.status.success() && page.contains(".TH pds-wizard 1") && page.contains("doctor"),
        "{page}"
    );
    let dir = d.path().join("man");
    let o = run(&env, &["man", "--out-dir", dir.to_str().unwrap()], None);
    assert!(o.status.success(), "{}", out(&o));
    for page in [
        "pds-wizard.1",
        "pds-wizard-doctor.1",
        "pds-wizard-proxy-render.1",
        "pds-wizard-env-set.1",
    ] {
        let text =
            std::fs::read_to_string(dir.join(page)).unwrap_or_else(|_| panic!("{page} missing"));
        assert!(text.starts_with(".ie") || text.contains(".TH"), "{page}");
    }
    // The --request-crawl flag is documented on the doctor's page.
    assert!(std::fs::read_to_string(dir.join("pds-wizard-doctor.1"))
        .unwrap()
        .contains("request\\-crawl"));
}

#[test]
fn no_secret_in_any_report_or_json() {
    let d = tempfile::tempdir().unwrap();
    let env = sample(d.path());
    let mut text = std::fs::read_to_string(&env).unwrap();
    text.push_str("PDS_EMAIL_SMTP_URL=smtps://mailer%40example.com:Zq7-smtp-pw%2Bsecret@127.0.0.1:1\nPDS_EMAIL_FROM_ADDRESS=noreply@example.com\n");
    std::fs::write(&env, text).unwrap();
    let secrets = [
        JWT,
        ADMIN,
        &"11".repeat(32),
        "Zq7-smtp-pw+secret",
        "Zq7-smtp-pw%2Bsecret",
    ];
    let runs: [&[&str]; 8] = [
        &["env", "show"],
        &["--json", "env", "show"],
        &["--json", "env", "check"],
        &["email", "show"],
        &["--json", "email", "test", "--to", "x@example.com"],
        &["--json", "--timeout", "1", "doctor"],
        &["--timeout", "1", "doctor"],
        &["--json", "proxy", "render", "caddy", "--no-validate"],
    ];
    for args in runs {
        let o = run(&env, args, None);
        let t = out(&o);
        assert!(!t.trim().is_empty(), "{args:?} printed nothing");
        for s in secrets {
            assert!(!t.contains(s), "{args:?} printed a secret ({s}):\n{t}");
        }
    }
}

#[test]
fn every_secret_the_pds_reads_is_masked_and_kept_off_the_command_line() {
    let d = tempfile::tempdir().unwrap();
    let env = sample(d.path());
    let mut text = std::fs::read_to_string(&env).unwrap();
    text.push_str(
        "PDS_BLOBSTORE_S3_SECRET_ACCESS_KEY=wJalrXUtnFEMI-K7MDENG\nPDS_HCAPTCHA_TOKEN_SALT=Salt-Of-The-Earth-9\nMY_BACKUP_TOKEN=Backup-Token-Qz81\n",
    );
    std::fs::write(&env, text).unwrap();
    let o = run(&env, &["env", "show"], None);
    let shown = out(&o);
    for s in ["wJalrXUtnFEMI", "Salt-Of-The-Earth", "Backup-Token"] {
        assert!(!shown.contains(s), "{shown}");
    }
    // Keys the PDS reads are not called unknown; an unknown one still is.
    let line = |k: &str| {
        shown
            .lines()
            .find(|l| l.starts_with(k))
            .unwrap()
            .to_string()
    };
    assert!(
        !line("PDS_BLOBSTORE_S3_SECRET_ACCESS_KEY").contains("not read by the PDS"),
        "{shown}"
    );
    assert!(
        line("MY_BACKUP_TOKEN").contains("not read by the PDS"),
        "{shown}"
    );
    let v: serde_json::Value =
        serde_json::from_slice(&run(&env, &["--json", "env", "show"], None).stdout).unwrap();
    let entry = |k: &str| {
        v["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["key"] == k)
            .unwrap()
            .clone()
    };
    assert_eq!(entry("PDS_HCAPTCHA_TOKEN_SALT")["secret"], true);
    assert_eq!(entry("MY_BACKUP_TOKEN")["secret"], true);
    assert_eq!(entry("MY_NOTE")["secret"], false);

    // On the command line (where `ps` shows it) every secret is refused, and not echoed.
    for arg in [
        "PDS_HCAPTCHA_SECRET_KEY=Cmdline-Secret-1",
        "PDS_ENTRYWAY_ADMIN_TOKEN=Cmdline-Secret-1",
        "MY_API_TOKEN=Cmdline-Secret-1",
        "PDS_MODERATION_EMAIL_SMTP_URL=smtps://u:Cmdline-Secret-1@smtp.example.com",
        "MY_BACKUP_URL=https://u:Cmdline-Secret-1@backup.example.com",
    ] {
        let o = run(&env, &["env", "set", arg], None);
        assert_eq!(o.status.code(), Some(2), "{arg}: {}", out(&o));
        assert!(out(&o).contains("standard input"), "{}", out(&o));
        assert!(!out(&o).contains("Cmdline-Secret"), "{}", out(&o));
    }
    // From standard input it is taken, and only a mask is printed.
    let o = run(
        &env,
        &["env", "set", "PDS_HCAPTCHA_SECRET_KEY=-"],
        Some("Stdin-Secret-22\n"),
    );
    assert!(o.status.success(), "{}", out(&o));
    assert!(!out(&o).contains("Stdin-Secret"), "{}", out(&o));
    assert!(std::fs::read_to_string(&env)
        .unwrap()
        .contains("PDS_HCAPTCHA_SECRET_KEY=Stdin-Secret-22"));
    // `--reveal` is the one way to see it.
    let o = run(
        &env,
        &["env", "get", "PDS_HCAPTCHA_SECRET_KEY", "--reveal"],
        None,
    );
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "Stdin-Secret-22");
    let o = run(&env, &["env", "set", "Stdin-Secret-22"], None);
    assert!(!out(&o).contains("Stdin-Secret"), "{}", out(&o));
}

/// A lowercase or misspelt key would be written as a new, dead key (with "Restart the PDS
/// for it to take effect"): refused with the key it was meant to be, unless --force.
#[test]
fn misspelt_keys_are_refused_unless_forced() {
    let d = tempfile::tempdir().unwrap();
    let env = sample(d.path());
    let before = std::fs::read(&env).unwrap();
    for (arg, near) in [
        ("pds_hostname=x.example.com", "PDS_HOSTNAME"),
        ("PDS_HOSTNAM=x.example.com", "PDS_HOSTNAME"),
        ("PDS_INVITE_REQUIRD=false", "PDS_INVITE_REQUIRED"),
    ] {
        let o = run(&env, &["env", "set", arg], None);
        assert_eq!(o.status.code(), Some(2), "{arg}: {}", out(&o));
        assert!(
            out(&o).contains(&format!("did you mean {near}?")),
            "{}",
            out(&o)
        );
        assert_eq!(std::fs::read(&env).unwrap(), before);
    }
    // The admin password's misspelling is refused before the value is even asked for.
    let o = run(&env, &["env", "set", "PDS_ADMIN_PASSWRD=-"], Some("x\n"));
    assert!(
        out(&o).contains("did you mean PDS_ADMIN_PASSWORD?"),
        "{}",
        out(&o)
    );
    // Keys the PDS reads that the wizard does not describe are not typos.
    let o = run(&env, &["env", "set", "PDS_SERVICE_NAME=My PDS"], None);
    assert!(o.status.success(), "{}", out(&o));
    let o = run(
        &env,
        &["env", "set", "pds_hostname=x.example.com", "--force"],
        None,
    );
    assert!(o.status.success(), "{}", out(&o));
}

/// A line inside a multi-line quoted value is not a key: `get` does not read it and `set`
/// and `unset` refuse to edit it (bash and compose read it as part of the value).
#[test]
fn a_line_inside_a_multi_line_value_is_never_edited() {
    let d = tempfile::tempdir().unwrap();
    let env = d.path().join("pds.env");
    let text = "PDS_HOSTNAME=real.example.com\nMY_NOTE=\"first line\nPDS_HOSTNAME=evil.example\"\n";
    std::fs::write(&env, text).unwrap();
    let o = run(&env, &["env", "get", "PDS_HOSTNAME"], None);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        "real.example.com"
    );
    for args in [
        &["env", "set", "PDS_HOSTNAME=new.example.com"][..],
        &["env", "unset", "PDS_HOSTNAME", "--force"][..],
    ] {
        let o = run(&env, args, None);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", out(&o));
        assert!(
            out(&o).contains("inside the multi-line value that starts on line 2"),
            "{}",
            out(&o)
        );
        assert_eq!(std::fs::read_to_string(&env).unwrap(), text);
    }
    let o = run(&env, &["env", "check"], None);
    assert!(
        out(&o).contains("line 3 looks like an assignment but is inside the value"),
        "{}",
        out(&o)
    );
}

/// The service check decides by the container's state, not by the words of its status.
#[test]
fn doctor_reads_the_container_state() {
    use std::os::unix::fs::PermissionsExt;
    let d = tempfile::tempdir().unwrap();
    let env = sample(d.path());
    let bin = d.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    // No pds systemd unit here; docker stands in with a fixed answer.
    let script = |name: &str, body: &str| {
        let p = bin.join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    };
    script("systemctl", "exit 1");
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    for (state, status, level) in [
        ("running", "Up 3 hours", "pass"),
        // A status that reads like "Up" but a state that is not running.
        ("restarting", "Up Less than a second", "fail"),
        ("exited", "Exited (1) 2 hours ago", "fail"),
    ] {
        script(
            "docker",
            &format!("printf '%s\\t%s\\n' '{state}' '{status}'"),
        );
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_pds-wizard"))
            .env("PATH", &path)
            .arg("--env-file")
            .arg(&env)
            .args(["doctor", "--only", "service", "--json"])
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let c = &v["checks"][0];
        assert_eq!(c["level"], level, "{state}: {c}");
        assert!(
            c["findings"][0]["what"].as_str().unwrap().contains(status),
            "{c}"
        );
    }
}

/// A subcommand's help lists its own options first; the global flags follow under their own
/// heading (not mixed in between, as `--env-file` once sat between `--host` and `--ca-file`).
#[test]
fn global_flags_have_their_own_heading_in_help() {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_pds-wizard"))
        .args(["proxy", "render", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&o.stdout);
    let global = help.find("Global options:").expect("a heading");
    for own in ["--host", "--out"] {
        let at = help.find(own).unwrap_or_else(|| panic!("{own}: {help}"));
        assert!(at < global, "{own} after the global heading: {help}");
    }
    for flag in [
        "--env-file",
        "--timeout",
        "--restart-command",
        "--pds-log",
        "--json",
    ] {
        let at = help.find(flag).unwrap_or_else(|| panic!("{flag}: {help}"));
        assert!(
            at > global,
            "{flag} among the subcommand's own options: {help}"
        );
    }
}

/// On a bare machine the doctor names the missing pds.env once, with how to create it, and
/// the checks that read it are "not checked" (the SMTP check no longer passes).
#[test]
fn doctor_without_pds_env_names_one_root_cause() {
    let d = tempfile::tempdir().unwrap();
    let env = d.path().join("pds.env");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_pds-wizard"))
        .arg("--env-file")
        .arg(&env)
        .args([
            "--json", "doctor", "--only", "env", "--only", "email", "--only", "handles",
        ])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(o.status.code(), Some(2), "{v:#}");
    let by = |name: &str| {
        v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap()
            .clone()
    };
    let env_check = by("env");
    let what = env_check["findings"][0]["what"].as_str().unwrap();
    assert_eq!(what, format!("{} does not exist", env.display()));
    assert!(env_check["findings"][0]["fix"]
        .as_str()
        .unwrap()
        .contains("pds-wizard env init"));
    for name in ["email", "handles"] {
        let c = by(name);
        assert_eq!(
            (c["level"].as_str(), c["not_checked"].as_str()),
            (Some("info"), Some("env")),
            "{c:#}"
        );
    }
    assert_eq!(
        v["problems"].as_str().unwrap(),
        format!("1 problem: {} does not exist", env.display())
    );
}

/// Every command's --help ends with an example, and every example parses as written (the
/// same definitions the binary uses); every positional argument and every option says
/// what it is.
#[test]
fn every_command_has_an_example_that_parses_and_every_argument_a_description() {
    use clap::{CommandFactory, Parser};
    use pds_wizard::cli::Cli;
    fn walk(cmd: &clap::Command, path: Vec<String>, out: &mut Vec<(Vec<String>, clap::Command)>) {
        let subs: Vec<&clap::Command> = cmd
            .get_subcommands()
            .filter(|s| s.get_name() != "help")
            .collect();
        if subs.is_empty() {
            out.push((path, cmd.clone()));
            return;
        }
        for s in subs {
            let mut p = path.clone();
            p.push(s.get_name().to_string());
            walk(s, p, out);
        }
    }
    let root = Cli::command();
    let mut leaves = Vec::new();
    walk(&root, vec![], &mut leaves);
    assert!(leaves.len() >= 25, "{}", leaves.len());
    let mut missing = Vec::new();
    for (path, cmd) in &leaves {
        let name = path.join(" ");
        let after = cmd
            .get_after_help()
            .map(|h| h.to_string())
            .unwrap_or_default();
        let examples: Vec<&str> = after
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with("pds-wizard ") || l.starts_with("sudo pds-wizard "))
            .collect();
        if !after.starts_with("Example") || examples.is_empty() {
            missing.push(format!("{name}: no example"));
        }
        for ex in examples {
            // A pipeline's or a chain's first command is the one shown for this page.
            // Each command of a chain or a pipe, without its redirection.
            for part in ex.split(" && ").flat_map(|p| p.split(" | ")) {
                let part = part.split(" > ").next().unwrap_or(part).trim();
                let Some(part) = part.strip_prefix("sudo ").or(Some(part)) else {
                    continue;
                };
                if !part.starts_with("pds-wizard ") {
                    continue;
                }
                let words = shell_words(part);
                if let Err(e) = Cli::try_parse_from(&words) {
                    missing.push(format!("{name}: `{part}` does not parse: {e}"));
                }
            }
        }
        for a in cmd.get_arguments() {
            let id = a.get_id().as_str();
            if ["help", "version"].contains(&id) || a.is_global_set() {
                continue;
            }
            if a.get_help().is_none() {
                missing.push(format!("{name}: {id} has no description"));
            }
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
    // man --out-dir is described too.
    let man = leaves.iter().find(|(p, _)| p == &["man"]).unwrap();
    assert!(man
        .1
        .get_arguments()
        .any(|a| a.get_id() == "out_dir" && a.get_help().is_some()));
}

/// Words as a shell splits them (quotes kept together), enough for the examples.
fn shell_words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    for c in s.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => quote = Some(c),
            (None, ' ') => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            (None, c) => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// `--version` says the version, the target it was built for, the commit and the build date
/// (fixed at build time: nothing is looked up); `-V` the version alone.
#[test]
fn version_names_target_commit_and_build_date() {
    let bin = env!("CARGO_BIN_EXE_pds-wizard");
    let long = std::process::Command::new(bin)
        .arg("--version")
        .output()
        .unwrap();
    let long = String::from_utf8_lossy(&long.stdout).trim().to_string();
    let short = std::process::Command::new(bin).arg("-V").output().unwrap();
    let short = String::from_utf8_lossy(&short.stdout).trim().to_string();
    assert_eq!(short, format!("pds-wizard {}", env!("CARGO_PKG_VERSION")));
    assert!(long.starts_with(&format!("{short} (")), "{long}");
    assert!(
        long.contains(&format!("{}-", std::env::consts::ARCH)) && long.contains("-linux-"),
        "{long}"
    );
    let head = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    if let Some(commit) = head {
        assert!(long.contains(&format!("commit {commit}")), "{long}");
    }
    let date = long.rsplit("built ").next().unwrap().trim_end_matches(')');
    assert!(
        date.len() == 10 && date.as_bytes()[4] == b'-' && date.as_bytes()[7] == b'-',
        "{long}"
    );
}

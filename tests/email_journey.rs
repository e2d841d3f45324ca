//! The journey "my PDS stopped sending email", keystroke by keystroke: the real binary in a
//! pseudo-terminal opens on a pds.env whose SMTP URL the PDS misreads, and the operator
//! repairs it, tests it, saves, restarts the PDS and has the PDS itself send — against the
//! lab's SMTP server (TLS + AUTH, on 465 and 587 as providers run it) and the real PDS,
//! which reads that pds.env at each restart.
//!
//! As root the test runs in a network namespace of its own (only loopback: nothing leaves
//! the machine, and the SMTP server can take ports 465 and 587); otherwise on free ports,
//! without the one form that needs port 465.

mod common;

use common::pty::Session;
use common::{PdsLab, SmtpServers, PDS_ADMIN};
use portable_pty::CommandBuilder;
use std::path::Path;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_pds-wizard");
const USER: &str = "pds@example.test";
/// A password with each character a hand-written URL breaks on.
const PASSWORD: &str = "Zq/9#x%y";
const ENCODED: &str = "Zq%2F9%23x%25y";
const FROM: &str = "pds@example.test";
const RECIPIENT: &str = "admin@example.test";

fn write_env(path: &Path, url: &str, from: Option<&str>) {
    let mut text = format!(
        "PDS_HOSTNAME=localhost\nPDS_ADMIN_PASSWORD={PDS_ADMIN}\nPDS_CONTACT_EMAIL_ADDRESS={RECIPIENT}\nPDS_EMAIL_SMTP_URL={url}\n"
    );
    if let Some(f) = from {
        text.push_str(&format!("PDS_EMAIL_FROM_ADDRESS={f}\n"));
    }
    std::fs::write(path, text).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// Every mail the SMTP server has taken, by recipient, with the login it came with.
fn mails(srv: &SmtpServers) -> Vec<(String, String)> {
    std::fs::read_dir(&srv.outdir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
        .map(|e| {
            let v: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(e.path()).unwrap()).unwrap();
            (
                v["rcpt_tos"][0].as_str().unwrap_or("").to_string(),
                v["login"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

struct Form {
    name: &'static str,
    url: String,
    from: Option<&'static str>,
    /// What the first line of the Email step says.
    headline: &'static str,
    /// The sidebar's mark for Email before the repair.
    mark: &'static str,
}

#[test]
fn each_broken_smtp_url_is_repaired_tested_saved_and_sent_by_the_pds() {
    let namespaced = common::private_network();
    let ports = namespaced.then_some((465, 587));
    let srv = SmtpServers::start_as(USER, PASSWORD, ports);
    let implicit = srv.implicit;
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join("pds.env");
    let good = format!("smtps://pds%40example.test:{ENCODED}@localhost:{implicit}");
    write_env(&env, &good, Some(FROM));
    let lab = PdsLab::start_on_env_file(&env, &srv.ca, &["alice.test".to_string()]);
    let restart = common::restart_script(dir.path(), &lab);
    let pds_mail = "alice-test@example.com";

    let mut forms = vec![
        Form {
            name: "unencoded /",
            url: format!("smtps://pds%40example.test:Zq/9%23x%25y@localhost:{implicit}"),
            from: Some(FROM),
            headline: "✗ In pds.env: the '/' in the password splits the URL",
            mark: "✗ Email",
        },
        Form {
            name: "unencoded #",
            url: format!("smtps://pds%40example.test:Zq%2F9#x%25y@localhost:{implicit}"),
            from: Some(FROM),
            headline: "✗ In pds.env: the '#' in the password splits the URL",
            mark: "✗ Email",
        },
        Form {
            name: "@ in the user name",
            url: format!("smtps://pds@example.test:{ENCODED}@localhost:{implicit}"),
            from: Some(FROM),
            headline: "! In pds.env: the user name holds an unencoded @",
            mark: "✓ Email",
        },
        Form {
            name: "bare %",
            url: format!("smtps://pds%40example.test:Zq%2F9%23x%y@localhost:{implicit}"),
            from: Some(FROM),
            headline: "✗ In pds.env: the user name or password holds a %",
            mark: "✗ Email",
        },
        Form {
            name: "no From",
            url: good.clone(),
            from: None,
            headline: "✗ In pds.env: PDS_EMAIL_FROM_ADDRESS is not set",
            mark: "✗ Email",
        },
    ];
    if namespaced {
        forms.push(Form {
            name: "smtp:// on 465",
            url: "smtp://pds%40example.test:Zq%2F9%23x%25y@localhost:465".to_string(),
            from: Some(FROM),
            headline: "✗ In pds.env: smtp:// on port 465",
            mark: "✗ Email",
        });
    } else {
        eprintln!("not root: the smtp:// on 465 form needs a private network namespace; skipped");
    }

    for form in &forms {
        // pds.env breaks, and the PDS restarts on it (and fails to send, or to start).
        write_env(&env, &form.url, form.from);
        let ok = std::process::Command::new(&restart).status().unwrap();
        assert!(ok.success(), "{}: the lab did not restart", form.name);
        let before = mails(&srv).len();

        let mut cmd = CommandBuilder::new(BIN);
        cmd.args([
            "--env-file",
            &env.display().to_string(),
            "--pds-url",
            &lab.pds_url,
            "--ca-file",
            &srv.ca.display().to_string(),
            "--restart-command",
            &restart.display().to_string(),
            "--pds-log",
            &lab.pds_log().display().to_string(),
            "--timeout",
            "5",
        ]);
        cmd.cwd(dir.path());
        cmd.env("TERM", "xterm-256color");
        cmd.env("XDG_STATE_HOME", dir.path().join("state"));
        let mut s = Session::start(cmd, 24, 80);
        let mut keys = 0;
        let mut press = |s: &mut Session, k: &str| {
            keys += 1;
            s.send(k);
        };

        // The problem is the first thing seen: the step, its mark, the line, masked.
        s.wait_text(form.headline);
        // The whole step is drawn (the offer is its last line).
        s.wait_text("^E: repair it");
        let screen = s.screen();
        assert!(screen.contains(form.mark), "{}:\n{screen}", form.name);
        assert!(
            screen.contains("PDS_EMAIL_SMTP_URL=smtp"),
            "{}:\n{screen}",
            form.name
        );
        assert!(
            !screen.contains("Zq") && !screen.contains("9%23") && !screen.contains("9#x"),
            "{}: a piece of the password is shown:\n{screen}",
            form.name
        );
        assert!(
            screen.contains("You probably meant"),
            "{}:\n{screen}",
            form.name
        );

        // JOURNEY_SCREENS=1 prints each stage's screen; JOURNEY_RECORD=FILE keeps the first
        // form's stages as an animated SVG (scripts/screenshots makes the README's so).
        let record = std::env::var_os("JOURNEY_RECORD").filter(|_| form.name == forms[0].name);
        let mut frames: Vec<String> = Vec::new();
        let mut show = |s: &Session, at: &str| {
            if std::env::var_os("JOURNEY_SCREENS").is_some() {
                eprintln!("--- {} / {at}\n{}", form.name, s.screen());
            }
            if record.is_some() {
                // Let the frame finish before it is kept.
                std::thread::sleep(Duration::from_millis(150));
                frames.push(common::pty::svg_cells(&s.shown(), 24, 80));
            }
        };
        show(&s, "opened");
        press(&mut s, "\r");
        s.wait_text("Repair the SMTP URL?");
        show(&s, "repair offer");
        press(&mut s, "y");
        s.wait_text("New settings on screen, not saved yet");
        show(&s, "repaired");
        press(&mut s, "\x14"); // Ctrl-T: the test mail, as the PDS will send it
        s.wait_for_within("the offer to save", Duration::from_secs(20), |s| {
            s.screen().contains("Save the email settings?")
        });
        show(&s, "tested");
        press(&mut s, "y");
        s.wait_text("Restart the PDS?");
        press(&mut s, "y");
        s.wait_for_within("the offer to send", Duration::from_secs(30), |s| {
            s.screen().contains("Have the PDS send a mail?")
        });
        assert!(s.screen().contains("alice.test"), "{}", s.screen());
        show(&s, "send offer");
        press(&mut s, "y");
        s.wait_for_within("the PDS's mail", Duration::from_secs(20), |s| {
            s.screen().contains("the PDS sent a mail to")
        });
        show(&s, "sent");
        if let Some(path) = &record {
            std::fs::write(path, common::pty::animated_svg(&frames, 24, 80, 2.5)).unwrap();
        }
        let _ = s.child.kill();
        let _ = s.child.wait();
        eprintln!(
            "{}: {keys} keys from opening to \"the PDS sent mail\"",
            form.name
        );
        assert_eq!(keys, 6, "{}", form.name);

        // The SMTP server took both: the wizard's test and the PDS's own mail, each with
        // the login as meant (the server refuses mail without it).
        let got = mails(&srv);
        let new: Vec<_> = got.iter().skip(before).collect();
        let all: Vec<_> = got.iter().collect();
        assert!(
            all.iter()
                .any(|(to, login)| to == RECIPIENT && login == USER),
            "{}: no test mail in {all:?}",
            form.name
        );
        assert!(
            all.iter()
                .any(|(to, login)| to == pds_mail && login == USER),
            "{}: no mail from the PDS in {all:?}",
            form.name
        );
        assert_eq!(new.len(), 2, "{}: {new:?}", form.name);
        for f in std::fs::read_dir(&srv.outdir).unwrap().flatten() {
            std::fs::remove_file(f.path()).unwrap();
        }

        // What was saved is what was meant, and the PDS reads it so.
        let text = std::fs::read_to_string(&env).unwrap();
        assert!(
            text.contains(&format!(
                "PDS_EMAIL_SMTP_URL=smtps://pds%40example.test:{ENCODED}@localhost:{implicit}\n"
            )),
            "{}: {text}",
            form.name
        );
        assert!(
            text.contains(&format!("PDS_EMAIL_FROM_ADDRESS={FROM}")),
            "{text}"
        );
    }
}

/// When the PDS still cannot send (here: its SMTP server refuses the login), `email test
/// --via-pds` says so and shows the reason from the PDS's log.
#[test]
fn the_pds_own_failure_is_read_from_its_log() {
    let srv = SmtpServers::start_as(USER, PASSWORD, None);
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join("pds.env");
    let wrong = format!(
        "smtps://pds%40example.test:wrong-password@localhost:{}",
        srv.implicit
    );
    write_env(&env, &wrong, Some(FROM));
    let lab = PdsLab::start_on_env_file(&env, &srv.ca, &["alice.test".to_string()]);
    let o = common::run_cli(
        &env,
        &[
            "--pds-url",
            &lab.pds_url,
            "--pds-log",
            &lab.pds_log().display().to_string(),
            "email",
            "test",
            "--via-pds",
            "alice.test",
        ],
        "",
    );
    let text = common::output_text(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(
        text.contains("the PDS could not send mail to alice-test@example.com"),
        "{text}"
    );
    assert!(text.contains("The PDS's log about mail"), "{text}");
    assert!(text.contains("535"), "{text}");
    // Right settings, restarted: the same command proves the PDS sends.
    let good = format!(
        "smtps://pds%40example.test:{ENCODED}@localhost:{}",
        srv.implicit
    );
    write_env(&env, &good, Some(FROM));
    let restart = common::restart_script(dir.path(), &lab);
    assert!(std::process::Command::new(&restart)
        .status()
        .unwrap()
        .success());
    let o = common::run_cli(
        &env,
        &[
            "--pds-url",
            &lab.pds_url,
            "email",
            "test",
            "--via-pds",
            "alice-test@example.com",
            "--json",
        ],
        "",
    );
    let text = common::output_text(&o);
    assert_eq!(o.status.code(), Some(0), "{text}");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["outcome"], "sent", "{text}");
    // The PDS's process started with pds.env's values (read from /proc, as root).
    if unsafe { libc::geteuid() } == 0 {
        assert_eq!(v["settings"], "same", "{text}");
    }
    let m = srv.wait_for_mail(Duration::from_secs(10));
    assert_eq!(m["rcpt_tos"][0], "alice-test@example.com");
    assert!(m["data"].as_str().unwrap().contains("Reset"), "{m}");

    // pds.env broken by hand (the password unencoded), the PDS not restarted: it still
    // sends with what it started with, and that is not called fixed.
    let raw = format!(
        "smtps://pds@example.test:{PASSWORD}@localhost:{}",
        srv.implicit
    );
    write_env(&env, &raw, Some(FROM));
    let o = common::run_cli(
        &env,
        &[
            "--pds-url",
            &lab.pds_url,
            "email",
            "test",
            "--via-pds",
            "alice.test",
        ],
        "",
    );
    let text = common::output_text(&o);
    assert_ne!(o.status.code(), Some(0), "{text}");
    assert!(
        text.contains("with the settings it started with, not pds.env's")
            || text.contains("but pds.env's email settings fail the check"),
        "{text}"
    );
    assert!(!text.contains("Nothing to fix"), "{text}");
    if unsafe { libc::geteuid() } == 0 {
        assert!(
            text.contains(
                "pds.env's PDS_EMAIL_SMTP_URL differs from what the running PDS started with"
            ),
            "{text}"
        );
        assert!(text.contains("fails the check"), "{text}");
    }
}

/// A provider's server name that does not resolve is this machine's DNS at fault, not a typo
/// (the name came from the preset). Run where no DNS answers: a private network namespace.
#[test]
fn a_provider_host_that_does_not_resolve_blames_dns_not_spelling() {
    if !common::private_network() {
        eprintln!("not root: needs a network namespace where DNS cannot answer; skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join("pds.env");
    for (url, says) in [
        (
            "smtps://me%40gmail.com:pw@smtp.gmail.com:465",
            "smtp.gmail.com is the provider's own server: this machine's DNS",
        ),
        (
            "smtps://me%40example.com:pw@smtp.exampel.com:465",
            "Check the spelling of the host",
        ),
    ] {
        write_env(&env, url, Some(FROM));
        let o = common::run_cli(
            &env,
            &["--timeout", "2", "email", "test", "--to", RECIPIENT],
            "",
        );
        let text = common::output_text(&o);
        assert_eq!(o.status.code(), Some(1), "{text}");
        assert!(text.contains(says), "{url}: {text}");
    }
}

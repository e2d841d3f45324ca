//! The local sendmail transport (`smtp:///?sendmail=true`) end to end: `email set
//! --sendmail` writes the URL, and `email test` hands a mail to a real sendmail-compatible
//! MTA from Debian (msmtp, relaying to the lab's SMTP server, which keeps it in its
//! spool). A missing program and a mail system that refuses the sender are explained.

mod common;

use common::{output_text, run_cli, SmtpServers, PASSWORD, REJECTED_SENDER, USER};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A `sendmail` for the PDS to run: msmtp with its own config (the relay's address, login
/// and CA), as a local MTA would be set up.
fn msmtp_sendmail(dir: &Path, smtp: &SmtpServers) -> PathBuf {
    let msmtp = ["/usr/bin/msmtp", "/bin/msmtp"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("msmtp: run scripts/test, which installs it");
    let pw = dir.join("relay-password");
    std::fs::write(&pw, PASSWORD).unwrap();
    let conf = dir.join("msmtprc");
    std::fs::write(
        &conf,
        format!(
            "defaults\ntls on\ntls_starttls on\ntls_trust_file {}\nlogfile {}\naccount relay\nhost 127.0.0.1\nport {}\nauth on\nuser {USER}\npasswordeval cat {}\naccount default : relay\n",
            smtp.ca.display(),
            dir.join("msmtp.log").display(),
            smtp.starttls,
            pw.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o600)).unwrap();
    let wrapper = dir.join("sendmail");
    std::fs::write(
        &wrapper,
        format!("#!/bin/sh\nexec {msmtp} -C {} \"$@\"\n", conf.display()),
    )
    .unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    wrapper
}

fn env_file(dir: &Path) -> PathBuf {
    let p = dir.join("pds.env");
    std::fs::write(&p, "PDS_HOSTNAME=pds.example.test\n").unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    p
}

#[test]
fn a_test_mail_goes_through_the_local_sendmail() {
    let smtp = SmtpServers::start();
    let dir = tempfile::tempdir().unwrap();
    let sendmail = msmtp_sendmail(dir.path(), &smtp);
    let env = env_file(dir.path());

    let out = run_cli(
        &env,
        &[
            "email",
            "set",
            "--sendmail",
            "--sendmail-path",
            sendmail.to_str().unwrap(),
            "--from",
            USER,
        ],
        "",
    );
    assert!(out.status.success(), "{}", output_text(&out));
    let text = std::fs::read_to_string(&env).unwrap();
    assert!(
        text.contains(&format!(
            // Quoted: a bare & would end the value for bash.
            "PDS_EMAIL_SMTP_URL='smtp:///?sendmail=true&path={}'",
            sendmail.display()
        )),
        "{text}"
    );

    let out = run_cli(&env, &["email", "show"], "");
    let shown = output_text(&out);
    assert!(shown.contains("local sendmail"), "{shown}");

    let out = run_cli(
        &env,
        &["email", "test", "--to", "bob@example.test", "--transcript"],
        "",
    );
    let said = output_text(&out);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("accepted the test mail for bob@example.test"),
        "{said}"
    );
    assert!(
        said.contains("-i -f alice@example.test -- bob@example.test"),
        "{said}"
    );
    let mail = smtp.wait_for_mail(Duration::from_secs(10));
    assert_eq!(mail["mail_from"], USER);
    assert_eq!(mail["rcpt_tos"][0], "bob@example.test");
    assert_eq!(mail["login"], USER);
    assert!(mail["data"]
        .as_str()
        .unwrap()
        .contains("pds-wizard test mail"));

    // The doctor's email check finds the program without sending anything.
    let out = run_cli(&env, &["--json", "doctor", "--only", "email"], "");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["checks"][0]["level"], "pass", "{v}");
    assert_eq!(smtp.mail_count(), 0, "the doctor sent a mail");
}

/// `env set KEY=-` with the value on stdin (the SMTP URL counts as a secret).
fn set(env: &Path, key: &str, value: &str) {
    let out = run_cli(
        env,
        &["env", "set", &format!("{key}=-")],
        &format!("{value}\n"),
    );
    assert!(out.status.success(), "{}", output_text(&out));
}

#[test]
fn a_refusing_mail_system_and_a_missing_program_are_explained() {
    let smtp = SmtpServers::start();
    let dir = tempfile::tempdir().unwrap();
    let sendmail = msmtp_sendmail(dir.path(), &smtp);
    let env = env_file(dir.path());

    // The relay refuses this sender at MAIL FROM; msmtp exits non-zero and says so.
    let url = format!("smtp:///?sendmail=true&path={}", sendmail.display());
    set(&env, "PDS_EMAIL_SMTP_URL", &url);
    set(&env, "PDS_EMAIL_FROM_ADDRESS", REJECTED_SENDER);
    let out = run_cli(&env, &["email", "test", "--to", "bob@example.test"], "");
    let said = output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("refused the test mail"), "{said}");
    assert!(
        said.contains(&format!("would not take {REJECTED_SENDER} as the sender")),
        "{said}"
    );
    assert_eq!(smtp.mail_count(), 0);

    // No such program.
    set(
        &env,
        "PDS_EMAIL_SMTP_URL",
        "smtp:///?sendmail=true&path=/nonexistent/sbin/sendmail",
    );
    set(&env, "PDS_EMAIL_FROM_ADDRESS", "noreply@example.test");
    let out = run_cli(&env, &["email", "test", "--to", "bob@example.test"], "");
    let said = output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("no sendmail program at /nonexistent/sbin/sendmail"),
        "{said}"
    );
    assert!(said.contains("apt install postfix"), "{said}");
    let out = run_cli(&env, &["--json", "doctor", "--only", "email"], "");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["checks"][0]["level"], "fail", "{v}");
}

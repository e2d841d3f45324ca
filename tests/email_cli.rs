//! `pds-wizard email …` through the real binary, against real SMTP servers.

mod common;

use common::{SmtpServers, PASSWORD, USER};
use std::path::Path;
use std::time::{Duration, Instant};

use common::{output_text as out, run_cli as run};

fn env_file(dir: &Path) -> std::path::PathBuf {
    let p = dir.join("pds.env");
    std::fs::write(&p, pds_wizard::demo::DEMO_ENV).unwrap();
    p
}

#[test]
fn set_show_and_test_against_a_real_server() {
    let srv = SmtpServers::start();
    let d = tempfile::tempdir().unwrap();
    let env = env_file(d.path());
    let port = srv.starttls.to_string();
    let o = run(
        &env,
        &[
            "email",
            "set",
            "--host",
            "127.0.0.1",
            "--port",
            &port,
            "--security",
            "starttls",
            "--username",
            USER,
            "--from",
            "My PDS <pds@example.test>",
            "--password-stdin",
        ],
        &format!("{PASSWORD}\n"),
    );
    assert!(o.status.success(), "{}", out(&o));
    assert!(!out(&o).contains(PASSWORD));
    let text = std::fs::read_to_string(&env).unwrap();
    let url_line = text
        .lines()
        .find(|l| l.starts_with("PDS_EMAIL_SMTP_URL="))
        .unwrap();
    assert!(
        url_line.contains("alice%40example.test:p%40ss%3A%20%2F%3F%23")
            && url_line.contains("requireTLS=true"),
        "{url_line}"
    );
    assert!(
        text.contains("PDS_EMAIL_FROM_ADDRESS='My PDS <pds@example.test>'"),
        "{text}"
    );
    // The demo file's other lines are untouched.
    assert_eq!(
        text.lines().count(),
        pds_wizard::demo::DEMO_ENV.lines().count() + 2
    );

    let o = run(&env, &["email", "show"], "");
    assert!(
        out(&o).contains(&format!("127.0.0.1:{port}")) && out(&o).contains("starttls"),
        "{}",
        out(&o)
    );
    assert!(!out(&o).contains("p%40ss") && !out(&o).contains(PASSWORD));
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    let o = run(&env, &["email", "show", "--json"], "");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["settings"]["username"], USER);
    assert_eq!(v["settings"]["password_set"], true);
    // A URL the PDS misreads (an unencoded / in the password) fails: exit 1, as env check.
    let broken = d.path().join("broken.env");
    std::fs::write(
        &broken,
        "PDS_EMAIL_SMTP_URL=smtps://user:pa/ss@smtp.example.com:465\nPDS_EMAIL_FROM_ADDRESS=noreply@example.com\n",
    )
    .unwrap();
    for args in [&["email", "show"][..], &["email", "show", "--json"][..]] {
        let o = run(&broken, args, "");
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", out(&o));
        assert!(!out(&o).contains("pa/ss"), "{}", out(&o));
    }
    // email test judges the URL first, as the doctor does: no connection to the misread
    // host, no "check the spelling of the host", the encoding named.
    let o = run(&broken, &["email", "test", "--to", "bob@example.test"], "");
    let t = out(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(
        t.contains("Write '/' as %2F")
            && t.contains("no test mail sent")
            && !t.contains("spelling"),
        "{t}"
    );
    let o = run(
        &broken,
        &["email", "test", "--to", "bob@example.test", "--json"],
        "",
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["stage"], "prepare", "{v:#}");

    let ca = srv.ca.to_str().unwrap();
    let o = run(
        &env,
        &[
            "--ca-file",
            ca,
            "email",
            "test",
            "--to",
            "bob@example.test",
            "--transcript",
        ],
        "",
    );
    assert!(o.status.success(), "{}", out(&o));
    assert!(
        out(&o).contains("accepted") && out(&o).contains("C: STARTTLS"),
        "{}",
        out(&o)
    );
    assert!(!out(&o).contains(PASSWORD));
    let mail = srv.wait_for_mail(Duration::from_secs(5));
    assert_eq!(mail["rcpt_tos"][0], "bob@example.test");

    // A wrong password: exit 1, the diagnosis, JSON with the stage.
    let o = run(
        &env,
        &[
            "email",
            "set",
            "--host",
            "127.0.0.1",
            "--port",
            &port,
            "--security",
            "starttls",
            "--username",
            USER,
            "--from",
            "pds@example.test",
            "--password-stdin",
        ],
        "wrong\n",
    );
    assert!(o.status.success());
    let o = run(
        &env,
        &[
            "--ca-file",
            ca,
            "--json",
            "email",
            "test",
            "--to",
            "bob@example.test",
        ],
        "",
    );
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["stage"], "auth");
    assert_eq!(v["finding"]["level"], "fail");
}

#[test]
fn bad_settings_are_refused_and_nothing_is_written() {
    let d = tempfile::tempdir().unwrap();
    let env = env_file(d.path());
    let before = std::fs::read(&env).unwrap();
    for (args, stdin, needle) in [
        (
            vec![
                "email",
                "set",
                "--host",
                "smtp.example.com",
                "--port",
                "465",
                "--security",
                "starttls",
                "--from",
                "a@example.com",
            ],
            "",
            "465",
        ),
        (
            vec![
                "email",
                "set",
                "--host",
                "smtp.example.com",
                "--username",
                "u",
                "--from",
                "a@example.com",
            ],
            "",
            "password",
        ),
        (
            vec![
                "email",
                "set",
                "--host",
                "smtp.example.com",
                "--from",
                "not-an-address",
            ],
            "",
            "not an email",
        ),
        (
            vec![
                "email",
                "set",
                "--host",
                "smtp.example.com",
                "--username",
                "a:b",
                "--from",
                "a@example.com",
                "--password-stdin",
            ],
            "pw\n",
            "':'",
        ),
        (
            vec![
                "email",
                "set",
                "--preset",
                "no-such-provider",
                "--from",
                "a@example.com",
            ],
            "",
            "no preset",
        ),
    ] {
        let o = run(&env, &args, stdin);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", out(&o));
        assert!(out(&o).contains(needle), "{args:?}: {}", out(&o));
        assert_eq!(std::fs::read(&env).unwrap(), before);
    }
    // No URL yet: the test says so and fails.
    let o = run(&env, &["email", "test", "--to", "bob@example.test"], "");
    assert_eq!(o.status.code(), Some(1));
    assert!(out(&o).contains("empty"), "{}", out(&o));
}

#[test]
fn presets_fill_in_the_provider_and_timeout_is_honoured() {
    let d = tempfile::tempdir().unwrap();
    let env = env_file(d.path());
    let o = run(
        &env,
        &[
            "email",
            "set",
            "--preset",
            "sendgrid",
            "--from",
            "pds@example.com",
            "--password-stdin",
        ],
        "SG.key\n",
    );
    assert!(o.status.success(), "{}", out(&o));
    let text = std::fs::read_to_string(&env).unwrap();
    assert!(
        text.contains("PDS_EMAIL_SMTP_URL=smtps://apikey:SG.key@smtp.sendgrid.net:465\n"),
        "{text}"
    );

    // A listener that never speaks: --timeout 1 gives up within a second or so.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port().to_string();
    let o = run(
        &env,
        &[
            "email",
            "set",
            "--host",
            "127.0.0.1",
            "--port",
            &port,
            "--security",
            "starttls",
            "--from",
            "pds@example.com",
        ],
        "",
    );
    assert!(o.status.success(), "{}", out(&o));
    let started = Instant::now();
    let o = run(
        &env,
        &[
            "--timeout",
            "1",
            "email",
            "test",
            "--to",
            "bob@example.test",
        ],
        "",
    );
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(out(&o).contains("said nothing within 1 s"), "{}", out(&o));
    drop(l);
}

/// An SMTP server that answers every line, but only after `delay`: each stage is within
/// its own timeout, and together they would run on for seconds.
fn slow_smtp(delay: Duration) -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in l.incoming().flatten() {
            std::thread::spawn(move || {
                use std::io::{BufRead, BufReader, Write};
                let mut w = conn.try_clone().unwrap();
                let mut r = BufReader::new(conn);
                std::thread::sleep(delay);
                if w.write_all(b"220 slow.example.test ESMTP\r\n").is_err() {
                    return;
                }
                let mut line = String::new();
                while r.read_line(&mut line).is_ok_and(|n| n > 0) {
                    std::thread::sleep(delay);
                    let reply: &[u8] = if line.starts_with("EHLO") {
                        b"250 slow.example.test\r\n"
                    } else if line.starts_with("DATA") {
                        b"354 go on\r\n"
                    } else {
                        b"250 ok\r\n"
                    };
                    if w.write_all(reply).is_err() {
                        return;
                    }
                    line.clear();
                }
            });
        }
    });
    port
}

/// `email test` answers within about twice `--timeout` plus a second, however slowly a
/// server keeps answering stage after stage.
#[test]
fn a_server_slow_at_every_stage_cannot_stretch_the_test() {
    let port = slow_smtp(Duration::from_millis(450));
    let d = tempfile::tempdir().unwrap();
    let env = d.path().join("pds.env");
    std::fs::write(
        &env,
        format!(
            "PDS_EMAIL_SMTP_URL=smtp://127.0.0.1:{port}\nPDS_EMAIL_FROM_ADDRESS=pds@example.test\n"
        ),
    )
    .unwrap();
    let started = Instant::now();
    let o = run(
        &env,
        &[
            "--timeout",
            "1",
            "email",
            "test",
            "--to",
            "bob@example.test",
        ],
        "",
    );
    let took = started.elapsed();
    let t = out(&o);
    assert!(took < Duration::from_secs(3), "took {took:?}:\n{t}");
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(t.contains("no answer within"), "{t}");
}

/// `email repair`: shows what a misread URL meant, writes it only when told, and says what
/// it cannot know.
#[test]
fn repair_shows_then_writes_what_the_url_meant() {
    let d = tempfile::tempdir().unwrap();
    let env = d.path().join("pds.env");
    let broken = "PDS_HOSTNAME=pds.example.com\nPDS_EMAIL_SMTP_URL=smtps://pds%40example.com:S3cr/tP@ss@smtp.example.com:465\nPDS_EMAIL_FROM_ADDRESS=pds@example.com\n";
    std::fs::write(&env, broken).unwrap();
    let o = run(&env, &["email", "repair"], "");
    let text = out(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(
        text.contains(
            "You probably meant: user pds@example.com at smtp.example.com:465 (tls), password kept"
        ),
        "{text}"
    );
    assert!(text.contains("the password: '/' as %2F"), "{text}");
    assert!(text.contains("run again with --yes"), "{text}");
    assert!(!text.contains("S3cr") && !text.contains("tP@ss"), "{text}");
    assert_eq!(std::fs::read_to_string(&env).unwrap(), broken);

    let o = run(
        &env,
        &["email", "repair", "--from", "noreply@example.com", "--yes"],
        "",
    );
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    let now = std::fs::read_to_string(&env).unwrap();
    assert!(
        now.contains(
            "PDS_EMAIL_SMTP_URL=smtps://pds%40example.com:S3cr%2FtP%40ss@smtp.example.com:465\n"
        ),
        "{now}"
    );
    let o = run(&env, &["email", "repair"], "");
    assert_eq!(o.status.code(), Some(0));
    assert!(out(&o).contains("Nothing to repair"), "{}", out(&o));

    // No From address and a login that is not one: asked for, not guessed.
    let no_from = "PDS_EMAIL_SMTP_URL=smtp://apikey:k3y#x@smtp.example.com:465\n";
    std::fs::write(&env, no_from).unwrap();
    let o = run(&env, &["email", "repair", "--yes", "--json"], "");
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["written"], false);
    assert_eq!(v["repair"]["unsure"][0]["unsure"], "from");
    assert_eq!(v["repair"]["changes"][1]["change"], "security");
    assert_eq!(std::fs::read_to_string(&env).unwrap(), no_from);
    let o = run(
        &env,
        &["email", "repair", "--yes", "--from", "noreply@example.com"],
        "",
    );
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    let now = std::fs::read_to_string(&env).unwrap();
    assert!(
        now.contains("PDS_EMAIL_SMTP_URL=smtps://apikey:k3y%23x@smtp.example.com:465\n")
            && now.contains("PDS_EMAIL_FROM_ADDRESS=noreply@example.com"),
        "{now}"
    );

    // Nothing to recover from: said, and exit 2.
    std::fs::write(
        &env,
        "PDS_EMAIL_SMTP_URL=u:p@smtp.example.com\nPDS_EMAIL_FROM_ADDRESS=a@example.com\n",
    )
    .unwrap();
    let o = run(&env, &["email", "repair"], "");
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    assert!(out(&o).contains("cannot be recovered"), "{}", out(&o));

    // `email test` needs a recipient or an account.
    let o = run(&env, &["email", "test"], "");
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    assert!(out(&o).contains("--to <TO>"), "{}", out(&o));
}

/// A URL the PDS misreads (an unencoded '/' in the password): every place that says so
/// leads to `email repair`, the command that fixes it — env set's refusal, env check's fix,
/// the doctor's, and email test's — and `email repair` then does.
#[test]
fn every_finding_about_a_misread_url_leads_to_email_repair() {
    let d = tempfile::tempdir().unwrap();
    let env = env_file(d.path());
    let bad = "smtps://user:pa/ss@smtp.example.com:465";
    let o = run(
        &env,
        &["env", "set", "PDS_EMAIL_SMTP_URL=-"],
        &format!("{bad}\n"),
    );
    let text = out(&o);
    assert!(!o.status.success(), "{text}");
    assert!(
        text.contains("pds-wizard email repair") && text.contains("nothing was written"),
        "{text}"
    );
    let mut file = std::fs::read_to_string(&env).unwrap();
    file = file
        .lines()
        .filter(|l| !l.starts_with("PDS_EMAIL_SMTP_URL="))
        .map(|l| format!("{l}\n"))
        .collect();
    file.push_str(&format!("PDS_EMAIL_SMTP_URL={bad}\n"));
    std::fs::write(&env, file).unwrap();
    for args in [
        &["env", "check"][..],
        &["doctor", "--only", "email"][..],
        &["email", "test", "--to", "admin@example.com"][..],
    ] {
        let text = out(&run(&env, args, ""));
        assert!(text.contains("pds-wizard email repair"), "{args:?}: {text}");
        assert!(
            !text.contains("PDS_EMAIL_SMTP_URL), then write it with `pds-wizard env set`"),
            "{text}"
        );
    }
    let o = run(
        &env,
        &["email", "repair", "--from", "noreply@example.com", "--yes"],
        "",
    );
    assert!(o.status.success(), "{}", out(&o));
    assert!(std::fs::read_to_string(&env)
        .unwrap()
        .contains("PDS_EMAIL_SMTP_URL=smtps://user:pa%2Fss@smtp.example.com:465"));
}

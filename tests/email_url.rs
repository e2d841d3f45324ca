//! SMTP URLs: compose/parse round trip, and a cross-check against nodemailer itself (the
//! mailer inside the PDS), run with Node on the same URLs.

use pds_wizard::email::{compose, parse, Security, SmtpSettings};
use pds_wizard::secret::Secret;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use std::process::Command;

fn security() -> impl Strategy<Value = Security> {
    prop::sample::select(Security::ALL.to_vec())
}

fn settings() -> impl Strategy<Value = SmtpSettings> {
    (
        prop::sample::select(vec![
            "smtp.example.com",
            "127.0.0.1",
            "mail-1.example.org",
            "localhost",
            "::1",
        ]),
        1u16..=65535,
        security(),
        "[^:\u{0}]{0,12}",
        any::<String>().prop_map(|s| {
            s.chars()
                .filter(|c| *c != '\u{0}')
                .take(16)
                .collect::<String>()
        }),
        prop::option::of(prop::sample::select(vec!["false", "true"])),
    )
        .prop_map(
            |(host, port, security, username, password, reject)| SmtpSettings {
                host: host.into(),
                port,
                security,
                username,
                password: Secret::new(password),
                from_address: String::new(),
                options: reject
                    .map(|v| vec![("tls.rejectUnauthorized".to_string(), v.to_string())])
                    .unwrap_or_default(),
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        // scripts/fuzz raises this.
        std::env::var("PDS_WIZARD_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(3000)
    ))]

    #[test]
    fn compose_then_parse_round_trips(s in settings()) {
        let url = compose(&s).unwrap();
        prop_assert_eq!(parse(&url).unwrap(), s);
    }
}

/// nodemailer's own parse of each URL: host, port, secure, user, pass, requireTLS, tls, or
/// the error it throws.
fn nodemailer_parse(urls: &[String]) -> Vec<serde_json::Value> {
    let modules = std::env::var("PDS_WIZARD_TEST_NODE_MODULES").expect(
        "PDS_WIZARD_TEST_NODE_MODULES is unset: run scripts/test, which installs nodemailer",
    );
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("urls.json");
    std::fs::write(&input, serde_json::to_string(urls).unwrap()).unwrap();
    let script = r#"
        const { parseConnectionUrl } = require('nodemailer/lib/shared');
        const urls = JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8'));
        const out = urls.map(u => {
            try {
                const o = parseConnectionUrl(u);
                return { host: o.host, port: o.port, secure: o.secure, user: o.auth && o.auth.user,
                         pass: o.auth && o.auth.pass, requireTLS: o.requireTLS, tls: o.tls,
                         sendmail: Boolean(o.sendmail) && !o.pool, path: o.path };
            } catch (e) { return { error: String(e.message) }; }
        });
        process.stdout.write(JSON.stringify(out));
    "#;
    let out = Command::new("node")
        .args(["-e", script, input.to_str().unwrap()])
        .env("NODE_PATH", &modules)
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "node: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Each URL as we read it and as nodemailer does.
fn both_parse(urls: &[String]) -> Vec<(String, SmtpSettings, serde_json::Value)> {
    let theirs = nodemailer_parse(urls);
    urls.iter()
        .zip(theirs)
        .map(|(u, t)| {
            let ours = parse(u).unwrap_or_else(|e| panic!("{u}: {e}"));
            (u.clone(), ours, t)
        })
        .collect()
}

fn agree(url: &str, ours: &SmtpSettings, theirs: &serde_json::Value) {
    assert_eq!(theirs["host"], ours.host.as_str(), "host of {url}");
    if let Some(p) = theirs["port"].as_u64() {
        assert_eq!(p as u16, ours.port, "port of {url}");
    } else {
        assert_eq!(
            ours.port,
            ours.security.default_port(),
            "default port of {url}"
        );
    }
    assert_eq!(
        theirs["secure"],
        ours.security == Security::ImplicitTls,
        "secure of {url}"
    );
    assert_eq!(
        theirs["user"].as_str().unwrap_or(""),
        ours.username,
        "user of {url}"
    );
    assert_eq!(
        theirs["pass"].as_str().unwrap_or(""),
        ours.password.expose(),
        "pass of {url}"
    );
    assert_eq!(
        theirs["requireTLS"] == true,
        ours.security == Security::StartTls,
        "requireTLS of {url}"
    );
    let reject = theirs["tls"]["rejectUnauthorized"].as_bool();
    assert_eq!(
        reject == Some(false),
        ours.accepts_invalid_certs(),
        "tls of {url}"
    );
}

#[test]
fn nodemailer_reads_composed_urls_as_we_do() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = settings();
    let mut all: Vec<SmtpSettings> = (0..300)
        .map(|_| strategy.new_tree(&mut runner).unwrap().current())
        .collect();
    // The issue's own example, and a password with every troublesome character.
    all.push(SmtpSettings {
        host: "smtp.example.com".into(),
        port: 465,
        security: Security::ImplicitTls,
        username: "user@example.com".into(),
        password: Secret::new("p@ss: /#%?&=+"),
        ..Default::default()
    });
    let urls: Vec<String> = all.iter().map(|s| compose(s).unwrap()).collect();
    let theirs = nodemailer_parse(&urls);
    for ((url, ours), t) in urls.iter().zip(&all).zip(&theirs) {
        assert!(t.get("error").is_none(), "nodemailer threw on {url}: {t}");
        agree(url, ours, t);
    }
}

#[test]
fn hand_written_urls_are_misread_the_same_way() {
    let urls: Vec<String> = [
        "smtps://user%40example.com:p%40ss%3Aw%2Frd@host",
        "smtps://user:pa#ss@smtp.example.com",
        "smtps://user:pa/ss@smtp.example.com:465",
        "smtps://user:pa?ss@smtp.example.com:465",
        "smtps://me@example.com:pw@smtp.example.com",
        "smtp://smtp.example.com",
        "smtp://smtp.example.com:25",
        "smtp://u:p@smtp.example.com:587/?requireTLS=true&tls.rejectUnauthorized=false",
        "SMTPS://U:P@SMTP.Example.COM:465",
        "smtps://only-user@smtp.example.com",
        "smtps://:only-pass@smtp.example.com",
        "smtps://u:a:b:c@smtp.example.com",
        "smtp://u:p@[::1]:2525",
        // The host name ends at its first character outside [A-Za-z0-9.+_-].
        "smtps://pds%40example.com:S3cr/tP@ss@smtp.example.com:465",
        "smtps://a_b+c:S3cr/x@smtp.example.com:465",
        "smtps://pds@example.com:S3cr#x@smtp.example.com:465",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for (url, ours, t) in both_parse(&urls) {
        agree(&url, &ours, &t);
    }
    // A bare % makes both give up (the PDS would not start).
    let t = nodemailer_parse(&["smtps://u:100%@h".to_string()]);
    assert!(
        t[0]["error"].as_str().unwrap().contains("URI malformed"),
        "{t:?}"
    );
    assert!(parse("smtps://u:100%@h").is_err());
}

/// Every broken form the repair knows: what it writes back, nodemailer reads as the repair
/// says it meant (the login whole, the host after the last `@`, the scheme for the port).
#[test]
fn repaired_urls_are_read_by_nodemailer_as_meant() {
    let broken = [
        "smtps://pds%40example.com:S3cr/tP@ss@smtp.example.com:465",
        "smtps://pds%40example.com:S3cr#tP@ss@smtp.example.com:465",
        "smtps://pds%40example.com:S3cr?tP@ss@smtp.example.com:465",
        "smtps://pds@example.com:pw@smtp.example.com:465",
        "smtps://u:100%sure@smtp.example.com",
        "smtp://pds%40example.com:pw@smtp.example.com:465",
        "smtps://u:pw@smtp.example.com:587",
        "smtp://me/x:a#b%c@[::1]:2525",
    ];
    let repairs: Vec<_> = broken
        .iter()
        .map(|u| {
            pds_wizard::email::repair::repair(u, "a@b.example")
                .unwrap_or_else(|| panic!("no repair for {u}"))
        })
        .collect();
    let urls: Vec<String> = repairs.iter().map(|r| r.url()).collect();
    let theirs = nodemailer_parse(&urls);
    for ((url, r), t) in urls.iter().zip(&repairs).zip(&theirs) {
        assert!(t.get("error").is_none(), "nodemailer threw on {url}: {t}");
        agree(url, &r.settings, t);
    }
}

#[test]
fn sendmail_urls_pick_the_transport_nodemailer_picks() {
    let urls: Vec<String> = [
        "smtp:///?sendmail=true",
        "smtp:///?sendmail=1&path=/usr/sbin/sendmail",
        "smtp:///?sendmail=yes",
        "smtp://mail.example.com/?sendmail=true",
        "smtp://mail.example.com/?sendmail=false",
        "smtp://mail.example.com/?sendmail=0",
        "smtp://mail.example.com/?sendmail=",
        "smtp://mail.example.com/?sendmail=%20",
        "smtps://u:p@mail.example.com",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for (url, ours, t) in both_parse(&urls) {
        assert_eq!(t["sendmail"], ours.is_sendmail(), "sendmail of {url}: {t}");
        if ours.is_sendmail() {
            assert_eq!(
                t["path"].as_str().unwrap_or("sendmail"),
                ours.sendmail_path(),
                "path of {url}"
            );
        }
    }
    // What `email set --sendmail` writes is read back as the same transport.
    let built = SmtpSettings::sendmail(Some("/usr/lib/sendmail"), "noreply@example.com");
    let url = compose(&built).unwrap();
    let t = nodemailer_parse(std::slice::from_ref(&url));
    assert_eq!(t[0]["sendmail"], true, "{url}");
    assert_eq!(t[0]["path"], "/usr/lib/sendmail", "{url}");
}

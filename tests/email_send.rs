//! Test sends against real SMTP servers (aiosmtpd, STARTTLS and implicit TLS, AUTH required,
//! a test CA), and each diagnosis produced by a real fault.

mod common;

use common::{SmtpServers, PASSWORD, REJECTED_SENDER, USER};
use pds_wizard::email::send::{test_send, SendOptions, SendReport, Stage};
use pds_wizard::email::{compose, parse, Security, SmtpSettings};
use pds_wizard::finding::Level;
use pds_wizard::secret::Secret;
use std::time::{Duration, Instant};

fn settings(port: u16, security: Security) -> SmtpSettings {
    SmtpSettings {
        host: "127.0.0.1".into(),
        port,
        security,
        username: USER.into(),
        password: Secret::new(PASSWORD),
        from_address: "My PDS <pds@example.test>".into(),
        options: vec![],
    }
}

fn opts(ca: Option<&std::path::Path>, secs: f64) -> SendOptions {
    SendOptions {
        timeout: Duration::from_secs_f64(secs),
        ca_file: ca.map(|p| p.to_path_buf()),
    }
}

fn assert_no_secret(r: &SendReport) {
    let all = format!("{r:?} {}", serde_json::to_string(r).unwrap());
    assert!(!all.contains(PASSWORD), "password leaked: {all}");
}

async fn delivered_through(security: Security) {
    let srv = SmtpServers::start();
    let port = if security == Security::ImplicitTls {
        srv.implicit
    } else {
        srv.starttls
    };
    // Through the URL, as the PDS would read it from pds.env.
    let url = compose(&settings(port, security)).unwrap();
    assert!(
        url.contains("alice%40example.test:p%40ss%3A%20%2F%3F%23"),
        "{url}"
    );
    let mut s = parse(&url).unwrap();
    s.from_address = "My PDS <pds@example.test>".into();
    let r = test_send(&s, "bob@example.test", &opts(Some(&srv.ca), 10.0)).await;
    assert_eq!(r.stage, Stage::Done, "{r:#?}");
    assert_eq!(r.finding.level, Level::Pass);
    assert_no_secret(&r);
    assert!(r
        .transcript
        .iter()
        .any(|l| l.contains("AUTH") && l.contains("credentials removed")));
    let mail = srv.wait_for_mail(Duration::from_secs(5));
    assert_eq!(mail["mail_from"], "pds@example.test");
    assert_eq!(mail["rcpt_tos"][0], "bob@example.test");
    assert_eq!(mail["login"], USER);
    let data = mail["data"].as_str().unwrap();
    assert!(
        data.contains("From: \"My PDS\" <pds@example.test>")
            || data.contains("From: My PDS <pds@example.test>"),
        "{data}"
    );
    assert!(
        data.contains("To: bob@example.test") && data.contains("Subject: pds-wizard test mail"),
        "{data}"
    );
}

#[tokio::test]
async fn delivers_over_starttls_with_special_characters() {
    delivered_through(Security::StartTls).await;
}

#[tokio::test]
async fn delivers_over_implicit_tls_with_special_characters() {
    delivered_through(Security::ImplicitTls).await;
}

#[tokio::test]
async fn opportunistic_upgrades_when_offered() {
    let srv = SmtpServers::start();
    let r = test_send(
        &settings(srv.starttls, Security::StartTlsIfOffered),
        "bob@example.test",
        &opts(Some(&srv.ca), 10.0),
    )
    .await;
    assert_eq!(r.stage, Stage::Done, "{r:#?}");
    assert!(r.transcript.iter().any(|l| l == "C: STARTTLS"));
    srv.wait_for_mail(Duration::from_secs(5));
}

#[tokio::test]
async fn wrong_password_is_an_authentication_failure() {
    let srv = SmtpServers::start();
    let mut s = settings(srv.implicit, Security::ImplicitTls);
    s.password = Secret::new("not-the-password");
    let r = test_send(&s, "bob@example.test", &opts(Some(&srv.ca), 10.0)).await;
    assert_eq!(
        (r.stage, r.finding.level),
        (Stage::Auth, Level::Fail),
        "{r:#?}"
    );
    assert!(
        r.finding.what.contains("refused") && r.finding.what.contains("535"),
        "{}",
        r.finding.what
    );
    assert!(r.finding.fix.contains("app password") && r.finding.fix.contains("%40"));
    assert!(!format!("{r:?}").contains("not-the-password"));
    assert_eq!(srv.mail_count(), 0);
}

/// A URL without user:password against a server that requires a login: 530 at MAIL FROM
/// means "add your login", not the sender's domain (the reply code decides, not its text).
#[tokio::test]
async fn a_missing_login_is_named_as_such() {
    let srv = SmtpServers::start();
    let mut s = settings(srv.implicit, Security::ImplicitTls);
    s.username = String::new();
    s.password = Secret::new("");
    let r = test_send(&s, "bob@example.test", &opts(Some(&srv.ca), 10.0)).await;
    assert_eq!(r.stage, Stage::Sender, "{r:#?}");
    assert!(
        r.finding
            .what
            .starts_with("the server wants a login before it takes mail")
            && r.finding.fix.starts_with("Add your login to the URL")
            && !r.finding.fix.contains("SPF"),
        "{:#?}",
        r.finding
    );
}

#[tokio::test]
async fn rejected_sender_is_explained() {
    let srv = SmtpServers::start();
    let mut s = settings(srv.starttls, Security::StartTls);
    s.from_address = REJECTED_SENDER.into();
    let r = test_send(&s, "bob@example.test", &opts(Some(&srv.ca), 10.0)).await;
    assert_eq!(r.stage, Stage::Sender, "{r:#?}");
    assert!(
        r.finding.what.contains("553") && r.finding.fix.contains("elsewhere.test"),
        "{:#?}",
        r.finding
    );
}

#[tokio::test]
async fn closed_port_is_refused() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let r = test_send(
        &settings(port, Security::ImplicitTls),
        "bob@example.test",
        &opts(None, 5.0),
    )
    .await;
    assert_eq!(r.stage, Stage::Connect, "{r:#?}");
    assert!(r.finding.what.contains("refused"), "{}", r.finding.what);
}

#[tokio::test]
async fn silent_listener_times_out_within_the_setting() {
    // Accepts connections (the kernel does) but never says a word.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let started = Instant::now();
    let r = test_send(
        &settings(port, Security::StartTls),
        "bob@example.test",
        &opts(None, 1.0),
    )
    .await;
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(2),
        "took {took:?}"
    );
    assert_eq!(r.stage, Stage::Greeting, "{r:#?}");
    assert!(
        r.finding.what.contains("said nothing within 1 s")
            && r.finding.why.contains("implicit TLS"),
        "{:#?}",
        r.finding
    );
    drop(l);
}

#[tokio::test]
async fn implicit_tls_against_a_starttls_port() {
    let srv = SmtpServers::start();
    let r = test_send(
        &settings(srv.starttls, Security::ImplicitTls),
        "bob@example.test",
        &opts(Some(&srv.ca), 5.0),
    )
    .await;
    assert_eq!(r.stage, Stage::Greeting, "{r:#?}");
    assert!(
        r.finding.what.contains("plain text") && r.finding.fix.contains("starttls"),
        "{:#?}",
        r.finding
    );
}

#[tokio::test]
async fn starttls_against_an_implicit_tls_port() {
    let srv = SmtpServers::start();
    let started = Instant::now();
    let r = test_send(
        &settings(srv.implicit, Security::StartTls),
        "bob@example.test",
        &opts(Some(&srv.ca), 1.0),
    )
    .await;
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(r.stage, Stage::Greeting, "{r:#?}");
    assert!(
        r.finding.why.contains("implicit TLS") && r.finding.fix.contains("tls"),
        "{:#?}",
        r.finding
    );
}

#[tokio::test]
async fn untrusted_certificate_is_a_certificate_problem() {
    let srv = SmtpServers::start();
    // No --ca-file: the test CA is not trusted.
    let r = test_send(
        &settings(srv.implicit, Security::ImplicitTls),
        "bob@example.test",
        &opts(None, 5.0),
    )
    .await;
    assert_eq!(r.stage, Stage::Greeting, "{r:#?}");
    assert!(r.finding.what.contains("certificate"), "{:#?}", r.finding);
    // tls.rejectUnauthorized=false accepts it, as nodemailer would.
    let mut s = settings(srv.implicit, Security::ImplicitTls);
    s.options
        .push(("tls.rejectUnauthorized".into(), "false".into()));
    let r = test_send(&s, "bob@example.test", &opts(None, 5.0)).await;
    assert_eq!(r.stage, Stage::Done, "{r:#?}");
}

#[tokio::test]
async fn unknown_host_is_a_dns_failure() {
    let mut s = settings(465, Security::ImplicitTls);
    s.host = "no-such-host.invalid".into();
    let r = test_send(&s, "bob@example.test", &opts(None, 5.0)).await;
    assert_eq!(r.stage, Stage::Dns, "{r:#?}");
    assert!(r.finding.what.contains("cannot find"), "{}", r.finding.what);
}

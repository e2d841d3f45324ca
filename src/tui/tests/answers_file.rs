use super::*;
use crate::answers::{Answers, DidFileAnswers, EmailAnswers, ProxyAnswers};

fn saved() -> Answers {
    Answers {
        email: EmailAnswers {
            test_recipient: Some("ops@example.com".into()),
        },
        proxy: Some(ProxyAnswers {
            server: "caddy".into(),
            out: Some("/etc/caddy/Caddyfile".into()),
            upstream: Some("127.0.0.1:2583".into()),
            tls: Some("on-demand".into()),
            acme_email: Some("certs@example.com".into()),
            https_port: Some(8443),
            ..ProxyAnswers::default()
        }),
        did_file: Some(DidFileAnswers {
            handle: "alice.com".into(),
            did: Some("did:plc:ewvi7nxzyoun6zhxrhs64oiz".into()),
            webroot: Some("/var/www/alice.com".into()),
        }),
        doctor: crate::answers::DoctorAnswers {
            handles: vec!["alice.com".into()],
        },
        ..Answers::default()
    }
}

#[test]
fn a_saved_file_fills_the_steps_and_comes_back_unchanged() {
    let mut a = app();
    a.load_answers(&saved());
    assert_eq!(a.email.recipient(), "ops@example.com");
    assert_eq!(a.proxy.server(), crate::proxy::Server::Caddy);
    assert_eq!(a.proxy.form.text("upstream"), "127.0.0.1:2583");
    assert_eq!(a.proxy.form.text("out"), "/etc/caddy/Caddyfile");
    assert_eq!(a.didfile.form.text("webroot"), "/var/www/alice.com");
    assert_eq!(a.handle.form.text("handle"), "alice.com");
    let plan = a
        .proxy
        .plan
        .clone()
        .expect("a plan from the loaded answers");
    assert_eq!(plan.upstream.authority(), "127.0.0.1:2583");
    // What no step shows (the ACME email, the port) survives a save.
    assert_eq!(a.current_answers(), saved());
}

#[test]
fn only_steps_acted_on_are_kept_and_a_write_marks_the_file_due() {
    let mut a = app();
    assert_eq!(a.current_answers(), Answers::default(), "nothing acted on");
    assert!(!a.answers_due);
    proxy_written(&mut a, Ok(vec!["wrote".into()]));
    assert!(a.answers_due);
    let p = a
        .current_answers()
        .proxy
        .expect("the written proxy is kept");
    assert_eq!(p.server, "nginx");
    assert_eq!(p.out.unwrap(), a.proxy.out_path());
    assert!(a.current_answers().did_file.is_none());
}

//! Every yes/no pop-up answers to one key rule: y or Enter is yes, n or Esc is no, and any
//! other key leaves the question open.

use super::*;
use crate::tui::modal::Modal;

/// A step's own question, as the step asks it (the step keeps what it asked).
fn asked(step: Step, ask: Ask) -> Modal {
    let mut a = app();
    ask(&mut a);
    let Some(m @ Modal::Ask { step: s, .. }) = a.modal.take() else {
        panic!("{step:?} asked nothing: {:?}", a.status)
    };
    assert_eq!(s, step);
    m
}

/// A directory that is the same each time a question is set up in this run (what each
/// key does is compared between fresh apps, paths included).
fn same_dir(what: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!(
        "pds-wizard-questions-{}-{what}",
        std::process::id()
    ))
}

/// The Accounts step open, with one account listed.
fn one_account(a: &mut App) {
    a.step = Step::Accounts;
    a.focus = Focus::Content;
    a.accounts.set_list(Ok(vec![crate::pds::accounts::Account {
        handle: "alice.pds.example.com".into(),
        did: "did:plc:aliceaaaaaaaaaaaaaaaaaaa".into(),
        email: Some("alice@example.com".into()),
        active: true,
        status: None,
    }]));
}

/// Each question the wizard asks, on a fresh app (and how a step comes to ask its own).
/// How the app comes to ask it (nothing, for the app's own questions).
type Ask = fn(&mut App);

fn questions() -> Vec<(&'static str, Modal, Ask)> {
    let none: Ask = |_| {};
    // The Email step's three, as it asks them.
    let repair: Ask = |a| {
        // pds.env's URL misread: the step opens on it, and Enter offers the repair.
        *a = super::email_screen::misread_app();
        key(a, KeyCode::Enter);
    };
    let save_email: Ask = |a| {
        a.edits
            .insert("PDS_EMAIL_FROM_ADDRESS".into(), "pds@example.net".into());
        let job = a.jobs.start();
        a.email.test = crate::tui::steps::email::TestState::Pending {
            job,
            to: "you@example.com".into(),
        };
        update(
            a,
            Action::Email(
                job.ticket,
                crate::tui::steps::email::Done::Tested(Box::new(crate::email::send::SendReport {
                    finding: crate::finding::Finding::pass("the server took the test mail"),
                    notes: vec![],
                    stage: crate::email::send::Stage::Done,
                    transcript: vec![],
                    elapsed_ms: 5,
                })),
            ),
        );
    };
    let pds_send: Ask = |a| {
        let job = a.jobs.start();
        a.email.pds_test = crate::tui::steps::email::PdsTest::Waiting(job);
        let alice = crate::pds::accounts::Account {
            handle: "alice.test".into(),
            did: "did:plc:aliceaaaaaaaaaaaaaaaaaaa".into(),
            email: Some("alice@example.com".into()),
            active: true,
            status: None,
        };
        update(
            a,
            Action::Email(
                job.ticket,
                crate::tui::steps::email::Done::Ready(Ok(vec![alice])),
            ),
        );
    };
    // The Server step's two and the Accounts step's two.
    let write_service: Ask = |a| {
        a.step = Step::Server;
        a.focus = Focus::Content;
        ctrl(a, 'w');
    };
    let start_pds: Ask = |a| {
        a.step = Step::Server;
        a.focus = Focus::Content;
        a.server.docker = Some(crate::pds::service::Docker::Ready);
        ctrl(a, 'g');
    };
    let reset_password: Ask = |a| {
        one_account(a);
        ctrl(a, 'p');
    };
    let switch_handle: Ask = |a| {
        one_account(a);
        key(a, KeyCode::Tab);
        // Under the PDS's own domain: no check is needed first.
        type_text(a, "alicia.pds.example.com");
        ctrl(a, 'w');
    };
    // The Relays step's repair, for a plan with steps.
    let repair_relays: Ask = |a| {
        a.step = Step::Relays;
        a.focus = Focus::Content;
        a.relays.plan = Some(Box::new(crate::repair::Plan {
            host: "pds.example.com".into(),
            relays: vec![crate::repair::RelayView {
                relay: "https://relay.example.com".into(),
                seen: None,
                throttled: vec![],
                unseen: vec![],
                cause: crate::repair::Cause::NeverSeen,
            }],
            sequence: None,
            steps: vec![crate::repair::Step::RequestCrawl {
                relay: "https://relay.example.com".into(),
            }],
            notes: vec![],
        }));
        key(a, KeyCode::Enter);
    };
    let crawl: Ask = |a| {
        a.step = Step::Doctor;
        a.focus = Focus::Content;
        key(a, KeyCode::Char('c'));
    };
    let announce: Ask = |a| {
        a.handle.failed_before = true;
        let job = a.jobs.start();
        a.handle.pending = Some(job);
        update(
            a,
            Action::Handle(
                job.ticket,
                crate::tui::steps::handle::Done::Verified(Box::new(
                    super::identity_screens::report(true),
                )),
            ),
        );
    };
    // The proxy step's three, as it asks them: its files written (each question next).
    let write_proxy: Ask = |a| {
        let dir = same_dir("write");
        std::fs::create_dir_all(dir.join("sites-available")).unwrap();
        a.proxy
            .form
            .field_mut(crate::tui::steps::proxy::OUT)
            .unwrap()
            .set_text(dir.join("sites-available/pds").to_str().unwrap());
        a.proxy.refresh(&a.working.clone());
        let job = a.jobs.start();
        a.proxy.pending = Some(job);
        a.proxy.write_after_check = true;
        update(
            a,
            Action::Proxy(
                job.ticket,
                crate::tui::steps::proxy::Done::Validated(super::proxy_screen::validation(
                    Level::Pass,
                )),
            ),
        );
    };
    let link_site: Ask = |a| {
        let dir = same_dir("link");
        std::fs::create_dir_all(dir.join("sites-enabled")).unwrap();
        std::fs::create_dir_all(dir.join("sites-available")).unwrap();
        a.proxy
            .form
            .field_mut(crate::tui::steps::proxy::OUT)
            .unwrap()
            .set_text(dir.join("sites-available/pds").to_str().unwrap());
        a.proxy.refresh(&a.working.clone());
        proxy_written(a, Ok(vec!["wrote".into()]));
    };
    let reload_proxy: Ask = |a| {
        a.proxy
            .form
            .field_mut(crate::tui::steps::proxy::OUT)
            .unwrap()
            .set_text("/etc/nginx/conf.d/pds.conf");
        a.proxy.refresh(&a.working.clone());
        proxy_written(a, Ok(vec!["wrote".into()]));
    };
    vec![
        (
            "write the proxy config",
            asked(Step::Proxy, write_proxy),
            write_proxy,
        ),
        (
            "link the nginx site",
            asked(Step::Proxy, link_site),
            link_site,
        ),
        ("announce a handle", asked(Step::Handle, announce), announce),
        ("ask the relays to crawl", asked(Step::Doctor, crawl), crawl),
        (
            "repair the relays",
            asked(Step::Relays, repair_relays),
            repair_relays,
        ),
        (
            "write the service files",
            asked(Step::Server, write_service),
            write_service,
        ),
        ("start the PDS", asked(Step::Server, start_pds), start_pds),
        (
            "reset a password",
            asked(Step::Accounts, reset_password),
            reset_password,
        ),
        (
            "switch a handle",
            asked(Step::Accounts, switch_handle),
            switch_handle,
        ),
        ("repair the SMTP URL", asked(Step::Email, repair), repair),
        (
            "save the email settings",
            asked(Step::Email, save_email),
            save_email,
        ),
        (
            "have the PDS mail an account",
            asked(Step::Email, pds_send),
            pds_send,
        ),
        (
            "reload the proxy",
            asked(Step::Proxy, reload_proxy),
            reload_proxy,
        ),
        ("restart the PDS", Modal::Restart(vec!["true".into()]), none),
        (
            "rename the PDS",
            Modal::Confirm {
                title: " Rename the PDS? ".into(),
                body: "y: save   n: keep".into(),
                then: crate::tui::modal::Confirmed::Rename("pds.example.com".into()),
            },
            none,
        ),
        (
            "quit with results on screen",
            Modal::ConfirmQuitResults,
            none,
        ),
    ]
}

/// What one key does to a question: the effects, and what is seen after.
fn after(modal: &Modal, ask: Ask, code: KeyCode) -> (String, String) {
    let mut a = app();
    ask(&mut a);
    a.modal = Some(modal.clone());
    let effects = key(&mut a, code);
    // Digits masked, as `seen` does: a draft's time stamp moves between two runs.
    let effects: String = format!("{effects:?}")
        .chars()
        .map(|c| if c.is_ascii_digit() { '#' } else { c })
        .collect();
    (effects, super::stale_results::seen(&mut a))
}

#[test]
fn every_question_takes_y_or_enter_for_yes_and_n_or_esc_for_no() {
    for (what, q, ask) in questions() {
        let open = after(&q, ask, KeyCode::Char('x'));
        let mut a = app();
        ask(&mut a);
        a.modal = Some(q.clone());
        key(&mut a, KeyCode::Char('x'));
        assert_eq!(a.modal.as_ref(), Some(&q), "{what}: x is not an answer");
        let yes = after(&q, ask, KeyCode::Char('y'));
        assert_eq!(after(&q, ask, KeyCode::Enter), yes, "{what}: Enter is y");
        let no = after(&q, ask, KeyCode::Char('n'));
        assert_eq!(after(&q, ask, KeyCode::Esc), no, "{what}: Esc is n");
        assert_ne!(yes, no, "{what}: yes and no do the same");
        assert_ne!(no, open, "{what}: n leaves the question open");
    }
    for what in ["write", "link"] {
        let _ = std::fs::remove_dir_all(same_dir(what));
    }
}

/// A question too long for the screen (a long diff) keeps its y/n line and says how many
/// lines it does not show.
#[test]
fn a_long_question_shows_what_fits_and_how_much_more() {
    let mut a = app();
    let mut body = String::from("y: write   n: not now\n");
    for i in 1..=100 {
        body.push_str(&format!("+ line {i}\n"));
    }
    a.modal = Some(Modal::Ask {
        step: Step::Proxy,
        title: " Write the proxy config? ".into(),
        body,
        wide: true,
    });
    let shown = text(&screen(&a, 80, 24));
    assert!(shown.contains("y: write   n: not now"), "{shown}");
    assert!(shown.contains("+ line 18"), "{shown}");
    assert!(!shown.contains("+ line 19 "), "{shown}");
    assert!(shown.contains("… and 82 more lines"), "{shown}");
}

use super::*;
use crate::email::send::{SendReport, Stage};
use crate::email::{FROM_KEY, URL_KEY};
use crate::finding::Finding;
use crate::tui::steps::email::TestState;
use crate::tui::steps::email::{Done as EDone, Job as EJob, Question as EQuestion};

fn open_email() -> App {
    let mut a = app();
    down_to(&mut a, Step::Email);
    key(&mut a, KeyCode::Enter);
    assert_eq!((a.step, a.focus), (Step::Email, Focus::Content));
    a
}

fn fill(a: &mut App) {
    key(a, KeyCode::Right); // provider: the first preset (Gmail)
    for _ in 0..4 {
        key(a, KeyCode::Tab);
    }
    type_text(a, "alice@example.com");
    key(a, KeyCode::Tab);
    type_text(a, "p@ss#word");
    key(a, KeyCode::Tab);
    type_text(a, "pds@example.com");
}

#[test]
fn preset_and_fields_become_the_two_answers() {
    let mut a = open_email();
    assert_eq!(a.mark(Step::Email), Mark::Open);
    fill(&mut a);
    assert_eq!(
        a.working.get(URL_KEY).as_deref(),
        Some("smtps://alice%40example.com:p%40ss%23word@smtp.gmail.com:465")
    );
    assert_eq!(a.working.get(FROM_KEY).as_deref(), Some("pds@example.com"));
    assert_eq!(a.mark(Step::Email), Mark::Edited);
    // The screen never shows the password.
    let shown = text(&screen(&a, 80, 24));
    assert!(
        !shown.contains("p@ss#word") && !shown.contains("p%40ss"),
        "{shown}"
    );
    let joined: String = shown
        .lines()
        .map(|l| l.trim_matches(|c| c == '"' || c == '│' || c == ' '))
        .collect();
    assert!(
        joined.contains("smtps://alice%40example.com:••••••••@smtp.gmail.com:465"),
        "{shown}"
    );
}

#[test]
fn the_sendmail_preset_writes_the_local_transport_and_back() {
    let mut a = open_email();
    fill(&mut a);
    // Provider ← twice from Gmail: "(custom)", then round to the last preset.
    for _ in 0..6 {
        key(&mut a, KeyCode::BackTab);
    }
    assert_eq!(a.email.form.focused_field().key, "preset");
    key(&mut a, KeyCode::Left);
    key(&mut a, KeyCode::Left);
    assert_eq!(a.email.form.text("preset"), "Local mail system (sendmail)");
    assert_eq!(
        a.working.get(URL_KEY).as_deref(),
        Some("smtp:///?sendmail=true")
    );
    assert_eq!(a.working.get(FROM_KEY).as_deref(), Some("pds@example.com"));
    let shown = text(&screen(&a, 100, 30));
    assert!(
        shown.contains("not used: mail goes to the local sendmail"),
        "{shown}"
    );
    assert!(
        a.email
            .url_findings
            .iter()
            .any(|f| f.what.contains("local sendmail: the PDS runs")),
        "{:?}",
        a.email.url_findings
    );
    // Reopened from the file, the preset is recognised.
    let reread = crate::tui::steps::email::EmailScreen::new(&a.working);
    assert_eq!(reread.form.text("preset"), "Local mail system (sendmail)");
    // → wraps back to "(custom)": a server of one's own again.
    key(&mut a, KeyCode::Right);
    assert_eq!(a.email.form.text("preset"), "(custom)");
    let url = a.working.get(URL_KEY).unwrap_or_default();
    assert!(!url.contains("sendmail"), "{url}");
}

#[test]
fn a_url_the_pds_would_misread_is_not_applied() {
    let mut a = open_email();
    fill(&mut a);
    // Security → starttls, then put the port back to 465: smtp:// on 465 times out.
    for _ in 0..3 {
        key(&mut a, KeyCode::BackTab);
    }
    assert_eq!(a.email.form.focused_field().key, "security");
    key(&mut a, KeyCode::Right);
    assert_eq!(
        a.email.form.text("port"),
        "587",
        "the port follows the mode"
    );
    key(&mut a, KeyCode::BackTab);
    ctrl(&mut a, 'u');
    type_text(&mut a, "465");
    assert!(
        a.working.get(URL_KEY).is_none(),
        "applied: {:?}",
        a.working.get(URL_KEY)
    );
    assert!(
        a.rejected()
            .iter()
            .any(|(k, why)| k == URL_KEY && why.contains("465")),
        "{:?}",
        a.rejected()
    );
    assert_eq!(a.mark(Step::Email), Mark::Attention);
}

#[test]
fn test_send_runs_in_the_background_while_keys_work() {
    let mut a = open_email();
    fill(&mut a);
    let effects = ctrl(&mut a, 't');
    let [Effect::Email(_, EJob::Test { settings, to, .. })] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(
        (settings.host.as_str(), to.as_str()),
        ("smtp.gmail.com", "admin@example.com")
    );
    assert!(matches!(a.email.test, TestState::Pending { .. }));
    // A second Ctrl-T while pending starts nothing.
    assert!(ctrl(&mut a, 't').is_empty());
    // Keys still edit the form while the send is pending.
    key(&mut a, KeyCode::Char('x'));
    assert_eq!(a.email.form.text("from"), "pds@example.comx");
    update(&mut a, Action::Tick);
    update(&mut a, Action::Tick);
    assert_eq!(a.spinner, 2);
    assert!(a.busy());
    let report = SendReport {
        finding: Finding::fail("login as \"alice@example.com\" was refused: 535 bad credentials")
            .fix("app password"),
        notes: vec![],
        stage: Stage::Auth,
        transcript: vec![
            "C: AUTH PLAIN (credentials removed)".into(),
            "S: 535 bad credentials".into(),
        ],
        elapsed_ms: 12,
    };
    let t = match &a.email.test {
        TestState::Pending { job, .. } => job.ticket,
        other => panic!("no test pending: {}", matches!(other, TestState::Idle)),
    };
    update(&mut a, Action::Email(t, EDone::Tested(Box::new(report))));
    assert!(matches!(a.email.test, TestState::Done(_)));
    ctrl(&mut a, 'l');
    assert!(
        matches!(&a.modal, Some(Modal::Transcript(t)) if t.iter().any(|l| l.contains("535")) && t.last().unwrap() == "S: 535 bad credentials")
    );
    insta::assert_snapshot!(screen(&a, 80, 24).backend());
    key(&mut a, KeyCode::Esc);
    assert_eq!(a.modal, None);
    insta::assert_snapshot!(screen(&a, 80, 24).backend());
}

/// pds.env with an SMTP URL whose password holds an unencoded '/'.
pub(super) fn misread_app() -> App {
    app_on(
            &format!(
                "{}PDS_EMAIL_SMTP_URL=smtps://pds%40example.com:S3cr/tP@ss@smtp.example.com:465\nPDS_EMAIL_FROM_ADDRESS=pds@example.com\n",
                crate::demo::DEMO_ENV
                    .lines()
                    .filter(|l| !l.starts_with("PDS_EMAIL"))
                    .map(|l| format!("{l}\n"))
                    .collect::<String>()
            ),
            None,
        )
}

#[test]
fn a_misread_url_is_the_first_thing_seen_and_one_key_repairs_it() {
    let mut a = misread_app();
    // Opens on the Email step, marked ✗, the line and what the PDS does on top.
    assert_eq!(
        (a.step, a.mark(Step::Email)),
        (Step::Email, Mark::Attention)
    );
    let shown = text(&screen(&a, 100, 30));
    assert!(
        shown.contains("In pds.env: the '/' in the password splits the URL"),
        "{shown}"
    );
    assert!(
        shown.contains("PDS_EMAIL_SMTP_URL=smtps://••••••••@smtp.example.com:465"),
        "{shown}"
    );
    assert!(shown.contains("connect to host"), "{shown}");
    assert!(
        !shown.contains("S3cr") && !shown.contains("tP@ss"),
        "{shown}"
    );
    // Enter offers the repair; y fills the form (nothing saved).
    let effects = key(&mut a, KeyCode::Enter);
    assert!(effects.is_empty(), "{effects:?}");
    assert!(
        matches!(a.email.asking, Some(EQuestion::Repair))
            && matches!(
                a.modal,
                Some(Modal::Ask {
                    step: Step::Email,
                    ..
                })
            )
    );
    let popup = text(&screen(&a, 100, 30));
    assert!(
        popup.contains("You probably meant user pds@example.com at smtp.example.com:465"),
        "{popup}"
    );
    key(&mut a, KeyCode::Char('y'));
    assert_eq!(a.modal, None);
    assert_eq!(
        a.working.get(URL_KEY).as_deref(),
        Some("smtps://pds%40example.com:S3cr%2FtP%40ss@smtp.example.com:465")
    );
    assert_eq!(a.mark(Step::Email), Mark::Edited);
    assert!(a.status.as_ref().unwrap().1.contains("not saved yet"));
    assert!(text(&screen(&a, 100, 30)).contains("✓ New settings on screen, not saved yet"));
    // A passing test offers to save; saving clears the misreading and offers a restart.
    a.email.set_recipient("you@example.com");
    ctrl(&mut a, 't');
    let TestState::Pending { job, .. } = &a.email.test else {
        panic!("no test started")
    };
    let ticket = job.ticket;
    let report = SendReport {
        finding: Finding::pass("accepted"),
        notes: vec![],
        transcript: vec![],
        stage: Stage::Done,
        elapsed_ms: 1,
    };
    update(
        &mut a,
        Action::Email(ticket, EDone::Tested(Box::new(report))),
    );
    assert!(
        matches!(a.email.asking, Some(EQuestion::Save))
            && matches!(
                a.modal,
                Some(Modal::Ask {
                    step: Step::Email,
                    ..
                })
            )
    );
    let effects = key(&mut a, KeyCode::Char('y'));
    let [Effect::Save(doc)] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    let saved = Document::parse(&doc.render());
    let effects = update(&mut a, Action::Saved(Ok((Default::default(), saved))));
    assert!(effects.iter().any(|e| matches!(e, Effect::FindRestart)));
    assert!(a.email.misread.is_none());
    // Once restarted, the PDS is asked for its accounts, then offered to mail one.
    let effects = update(&mut a, Action::Restarted(Ok(())));
    let [Effect::Email(ticket, EJob::Ready(_))] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    let accounts = vec![
        crate::pds::accounts::Account {
            handle: "alice.test".into(),
            did: "did:plc:aliceaaaaaaaaaaaaaaaaaaa".into(),
            email: Some("alice@example.com".into()),
            active: true,
            status: None,
        },
        crate::pds::accounts::Account {
            handle: "bob.test".into(),
            did: "did:plc:bobaaaaaaaaaaaaaaaaaaaaa".into(),
            email: Some("you@example.com".into()),
            active: true,
            status: None,
        },
    ];
    update(&mut a, Action::Email(*ticket, EDone::Ready(Ok(accounts))));
    // The account whose address is the test recipient comes first; Tab picks another.
    assert!(matches!(
        a.email.asking,
        Some(EQuestion::PdsSend { index: 1, .. })
    ));
    assert!(text(&screen(&a, 80, 24)).contains("bob.test"));
    key(&mut a, KeyCode::Tab);
    assert!(matches!(
        a.email.asking,
        Some(EQuestion::PdsSend { index: 0, .. })
    ));
    assert!(text(&screen(&a, 80, 24)).contains("alice.test"));
    let effects = key(&mut a, KeyCode::Char('y'));
    assert!(
        matches!(effects.as_slice(), [Effect::Email(_, EJob::PdsSend(did))] if did == "did:plc:aliceaaaaaaaaaaaaaaaaaaa"),
        "{effects:?}"
    );
}

#[test]
fn when_the_pds_cannot_send_its_log_says_why() {
    let mut a = misread_app();
    key(&mut a, KeyCode::Enter);
    key(&mut a, KeyCode::Char('n'));
    ctrl(&mut a, 'p');
    let crate::tui::steps::email::PdsTest::Waiting(job) = &a.email.pds_test else {
        panic!("not waiting")
    };
    let ticket = job.ticket;
    let alice = crate::pds::accounts::Account {
        handle: "alice.test".into(),
        did: "did:plc:aliceaaaaaaaaaaaaaaaaaaa".into(),
        email: Some("alice@example.com".into()),
        active: true,
        status: None,
    };
    update(
        &mut a,
        Action::Email(ticket, EDone::Ready(Ok(vec![alice.clone()]))),
    );
    let effects = key(&mut a, KeyCode::Char('y'));
    let [Effect::Email(ticket, EJob::PdsSend(_))] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    let r = crate::email::via_pds::PdsSend {
        outcome: crate::email::via_pds::Outcome::Failed,
        finding: Finding::fail("the PDS could not send mail to alice@example.com"),
        account: Some(alice),
        log: vec!["mail failed: Invalid login: 535 5.7.8 Authentication failed".into()],
        elapsed_ms: 3,
        settings: crate::email::via_pds::Settings::Same,
    };
    update(&mut a, Action::Email(*ticket, EDone::PdsSent(Box::new(r))));
    let shown = text(&screen(&a, 100, 40));
    assert!(
        shown.contains("✗ the PDS could not send mail to alice@example.com"),
        "{shown}"
    );
    assert!(
        shown.contains("log: mail failed: Invalid login: 535"),
        "{shown}"
    );
    assert_eq!(a.status.as_ref().unwrap().0, Level::Fail);
}

#[test]
fn declining_the_repair_keeps_the_problem_in_view() {
    let mut a = misread_app();
    key(&mut a, KeyCode::Enter);
    key(&mut a, KeyCode::Char('n'));
    assert_eq!(a.modal, None);
    assert_eq!(a.mark(Step::Email), Mark::Attention);
    assert!(text(&screen(&a, 100, 30)).contains("^E: repair it"));
    // A test send now tests the misreading: its failure is blamed on that, not on the
    // spelling of the host the misreading made.
    ctrl(&mut a, 't');
    let t = match &a.email.test {
        TestState::Pending { job, .. } => job.ticket,
        _ => panic!("no test pending"),
    };
    let report = SendReport {
        finding: Finding::fail("cannot find the mail server pds@example.com:S3cr")
            .fix("Check the spelling of the host (dig +short pds@example.com:S3cr)."),
        notes: vec![],
        stage: Stage::Dns,
        transcript: vec![],
        elapsed_ms: 3,
    };
    update(&mut a, Action::Email(t, EDone::Tested(Box::new(report))));
    let TestState::Done(r) = &a.email.test else {
        panic!("no result")
    };
    assert!(
        r.finding.fix.contains("as the PDS misreads them")
            && r.finding.fix.contains("you meant smtp.example.com")
            && r.finding.fix.contains("^E repairs it")
            && !r.finding.fix.contains("spelling"),
        "{}",
        r.finding.fix
    );
    // ^E repairs it later.
    ctrl(&mut a, 'e');
    assert_eq!(a.mark(Step::Email), Mark::Edited);
}

#[test]
fn a_stale_result_of_the_pds_check_is_dropped() {
    let mut a = misread_app();
    key(&mut a, KeyCode::Enter);
    key(&mut a, KeyCode::Char('n'));
    ctrl(&mut a, 'p');
    let first = match &a.email.pds_test {
        crate::tui::steps::email::PdsTest::Waiting(job) => job.ticket,
        _ => panic!("not waiting"),
    };
    // Asked again (after the first gave up): only the second answer counts.
    a.email.pds_test = crate::tui::steps::email::PdsTest::Idle;
    ctrl(&mut a, 'p');
    update(&mut a, Action::Email(first, EDone::Ready(Ok(vec![]))));
    assert!(a.modal.is_none());
    assert!(matches!(
        a.email.pds_test,
        crate::tui::steps::email::PdsTest::Waiting(_)
    ));
}

#[test]
fn switching_provider_leaves_nothing_of_the_old_one() {
    let mut a = open_email();
    // SendGrid fills its literal user name.
    while a.email.form.text("preset") != "SendGrid" {
        key(&mut a, KeyCode::Right);
    }
    assert_eq!(a.email.form.text("username"), "apikey");
    // Gmail's user name is the operator's address: the old "apikey" goes, and an empty
    // user or password is not "ok".
    while !a.email.form.text("preset").starts_with("Gmail") {
        key(&mut a, KeyCode::Left);
    }
    assert_eq!(a.email.form.text("username"), "");
    let user = &a.email.form.field("username").unwrap().findings;
    assert!(
        user.iter()
            .any(|f| f.level == Level::Fail && f.what.contains("your full Gmail")),
        "{user:?}"
    );
    let pass = &a.email.form.field("password").unwrap().findings;
    assert!(pass.iter().any(|f| f.level == Level::Fail), "{pass:?}");
    assert_eq!(a.mark(Step::Email), Mark::Attention);
    // Gmail's login typed, then another provider: the login does not go along (a local
    // relay would be sent it over a connection that may be plain).
    a.email.form.focus_key("username");
    type_text(&mut a, "alice@gmail.com");
    a.email.form.focus_key("password");
    type_text(&mut a, "abcd efgh ijkl mnop");
    assert!(a.email.form.focus_key("preset"));
    for _ in 0..20 {
        if a.email.form.text("preset").starts_with("Local relay") {
            break;
        }
        key(&mut a, KeyCode::Right);
    }
    assert!(a.email.form.text("preset").starts_with("Local relay"));
    assert_eq!(a.email.form.text("username"), "");
    assert_eq!(a.email.form.text("password"), "");
}

#[test]
fn saving_new_email_settings_offers_a_restart() {
    let mut a = open_email();
    fill(&mut a);
    ctrl(&mut a, 's');
    let effects = key(&mut a, KeyCode::Enter);
    let [Effect::Save(doc)] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    let saved = Document::parse(&doc.render());
    let effects = update(&mut a, Action::Saved(Ok((Default::default(), saved))));
    assert!(
        effects.iter().any(|e| matches!(e, Effect::FindRestart)),
        "{effects:?}"
    );
    let cmd = vec!["systemctl".to_string(), "restart".into(), "pds".into()];
    update(&mut a, Action::RestartCommand(Some(cmd.clone())));
    // Shown as it runs: the wizard does not add sudo to what it runs itself.
    let shown = text(&screen(&a, 80, 24));
    assert!(shown.contains("    systemctl restart pds"), "{shown}");
    assert!(!shown.contains("sudo systemctl"), "{shown}");
    // Never forced: "n" only says how.
    assert!(key(&mut a, KeyCode::Char('n')).is_empty());
    assert!(a
        .status
        .as_ref()
        .unwrap()
        .1
        .contains("systemctl restart pds"));
    update(&mut a, Action::RestartCommand(Some(cmd.clone())));
    assert!(
        matches!(key(&mut a, KeyCode::Char('y')).as_slice(), [Effect::Restart(c)] if *c == cmd)
    );
}

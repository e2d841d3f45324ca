//! The Email screen's background test send, run the way the wizard runs it, against real
//! servers: keys keep working while it is pending, and the result comes back.

mod common;

use common::{SmtpServers, PASSWORD, USER};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use pds_wizard::context::Context;
use pds_wizard::envfile::Document;
use pds_wizard::finding::Level;
use pds_wizard::settings::Resolved;
use pds_wizard::tui::app::{update, Action, App, Effect, Step};
use pds_wizard::tui::steps::email::{Done, EmailScreen, Job, TestState};
use pds_wizard::tui::steps::Room;
use pds_wizard::tui::Mode;
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn key(app: &mut App, code: KeyCode, mods: KeyModifiers) -> Vec<Effect> {
    update(app, Action::Key(KeyEvent::new(code, mods)))
}

/// An app on the Email step with these settings already in pds.env.
fn app_with(url: &str, ca: Option<&std::path::Path>, timeout: f64) -> App {
    let text = format!(
        "{}PDS_EMAIL_SMTP_URL={url}\nPDS_EMAIL_FROM_ADDRESS=pds@example.test\n",
        pds_wizard::demo::DEMO_ENV
    );
    let doc = Document::parse(&text);
    let flags = Context {
        env_file: "/tmp/unused/pds.env".into(),
        timeout: Duration::from_secs_f64(timeout),
        ca_file: ca.map(|p| p.to_path_buf()),
        ..Context::default()
    };
    let settings = Resolved::new(&flags, Some(&doc));
    let mut app = App::new(doc, settings, Mode::Normal);
    while app.step != Step::Email {
        key(&mut app, KeyCode::Down, KeyModifiers::NONE);
    }
    key(&mut app, KeyCode::Enter, KeyModifiers::NONE);
    assert_eq!(app.step, Step::Email);
    app
}

/// Start the send the screen asks for, as the wizard's loop does.
fn start(app: &mut App, rt: &tokio::runtime::Runtime, tx: &mpsc::Sender<Action>) {
    let effects = key(app, KeyCode::Char('t'), KeyModifiers::CONTROL);
    let [Effect::Email(ticket, job @ Job::Test { .. })] = effects.as_slice() else {
        panic!("no send: {effects:?} status {:?}", app.status)
    };
    let (ticket, task) = (*ticket, EmailScreen::run(job.clone(), &app.ctx()));
    let now = pds_wizard::tui::spawn_task(rt.handle(), tx.clone(), task, move |d| {
        Action::Email(ticket, d)
    });
    assert!(now.is_none(), "a test mail is sent off the loop");
}

/// Fold actions into the app until the send is done; returns (ticks seen, keys handled).
fn run_until_done(
    app: &mut App,
    rx: &mpsc::Receiver<Action>,
    mut while_pending: impl FnMut(&mut App),
) -> usize {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut ticks = 0;
    loop {
        assert!(Instant::now() < deadline, "the send never finished");
        // As the event loop waits: a Tick for every SPIN that passes with nothing else.
        let action = pds_wizard::tui::next_action(app, rx).expect("the sender is alive");
        let done = matches!(action, Action::Email(_, Done::Tested(_)));
        if matches!(action, Action::Tick) {
            ticks += 1;
            while_pending(app);
        }
        update(app, action);
        if done {
            return ticks;
        }
    }
}

#[test]
fn keys_work_while_a_slow_send_is_pending_and_the_diagnosis_arrives() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (tx, rx) = mpsc::channel();
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let mut app = app_with(
        &format!("smtp://127.0.0.1:{port}/?requireTLS=true"),
        None,
        1.0,
    );
    // The test recipient is the last field: type it.
    for _ in 0..7 {
        key(&mut app, KeyCode::Tab, KeyModifiers::NONE);
    }
    key(&mut app, KeyCode::Char('u'), KeyModifiers::CONTROL);
    for c in "bob@example.test".chars() {
        key(&mut app, KeyCode::Char(c), KeyModifiers::NONE);
    }
    start(&mut app, &rt, &tx);
    assert!(matches!(app.email.test, TestState::Pending { .. }));
    let mut typed = String::new();
    let ticks = run_until_done(&mut app, &rx, |app| {
        // Typing into the recipient field while the send runs.
        if typed.len() < 3 {
            key(app, KeyCode::Char('z'), KeyModifiers::NONE);
            typed.push('z');
        }
    });
    assert!(ticks >= 3, "spinner ticks: {ticks}");
    assert_eq!(app.email.recipient(), "bob@example.testzzz");
    assert!(app.spinner >= 3);
    assert!(!app.busy());
    let TestState::Done(r) = &app.email.test else {
        panic!()
    };
    assert_eq!(r.finding.level, Level::Fail);
    assert!(r.finding.why.contains("implicit TLS"), "{:#?}", r.finding);
    drop(silent);
}

#[test]
fn a_real_server_receives_the_test_mail_from_the_screen() {
    let srv = SmtpServers::start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (tx, rx) = mpsc::channel();
    let s = pds_wizard::email::SmtpSettings {
        host: "127.0.0.1".into(),
        port: srv.implicit,
        security: pds_wizard::email::Security::ImplicitTls,
        username: USER.into(),
        password: pds_wizard::secret::Secret::new(PASSWORD),
        ..Default::default()
    };
    let url = pds_wizard::email::compose(&s).unwrap();
    let mut app = app_with(&url, Some(&srv.ca), 10.0);
    assert_eq!(
        app.email.form.text("password"),
        PASSWORD,
        "the URL was read back into the fields"
    );
    start(&mut app, &rt, &tx);
    run_until_done(&mut app, &rx, |_| {});
    let TestState::Done(r) = &app.email.test else {
        panic!()
    };
    assert_eq!(r.finding.level, Level::Pass, "{:#?}", r);
    let mail = srv.wait_for_mail(Duration::from_secs(5));
    assert_eq!(mail["rcpt_tos"][0], "admin@example.com");
}

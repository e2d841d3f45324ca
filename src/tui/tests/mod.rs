//! The TUI without a terminal: `update()` flows and screens rendered into a TestBackend.

use super::app::{update, Action, App, Effect, Focus, Mark, Modal, SignalKind, Step};
use super::draft::Draft;
use super::frame;
use super::theme::Theme;
use crate::envfile::Document;
use crate::finding::Level;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::path::PathBuf;

/// An app on `text` as /pds/pds.env, with the default flags, offering `draft`.
fn app_on(text: &str, draft: Option<crate::tui::draft::Draft>) -> App {
    let doc = Document::parse(text);
    let flags = crate::context::Context {
        env_file: PathBuf::from("/pds/pds.env"),
        ..Default::default()
    };
    let settings = crate::settings::Resolved::new(&flags, Some(&doc));
    let mut a = App::new(doc, settings, crate::tui::Mode::Normal);
    // The wizard opens on the Overview (sidebar_navigation_wraps_and_enters_steps says
    // so); the tests below start one step down, on Basics, where the forms begin.
    if a.step == Step::Overview {
        a.step = Step::Basics;
    }
    if let Some(d) = draft {
        a.offer_draft(d);
    }
    a
}

fn app() -> App {
    app_on(crate::demo::DEMO_ENV, None)
}

/// Down the step list to `step`, as a person would (no wrap).
fn down_to(a: &mut App, step: Step) {
    while a.step != step {
        key(a, KeyCode::Down);
    }
}

#[test]
fn open_sign_up_is_a_warning_on_basics() {
    let mut a = app();
    key(&mut a, KeyCode::Enter);
    a.basics.form.focus_key("PDS_INVITE_REQUIRED");
    // The demo requires invites; Space opens sign-up.
    key(&mut a, KeyCode::Char(' '));
    assert_eq!(
        a.working.get("PDS_INVITE_REQUIRED").as_deref(),
        Some("false")
    );
    let f = &a.basics.form.field("PDS_INVITE_REQUIRED").unwrap().findings;
    assert!(
        f.iter()
            .any(|x| x.level == Level::Warn && x.what.contains("no captcha guards sign-up")),
        "{f:?}"
    );
    key(&mut a, KeyCode::Char(' '));
    let f = &a.basics.form.field("PDS_INVITE_REQUIRED").unwrap().findings;
    assert!(f.iter().all(|x| x.level == Level::Pass), "{f:?}");
}

#[test]
fn settings_follow_pds_env_as_it_is_on_disk() {
    let mut a = app();
    assert_eq!(a.settings.local_url, "http://localhost:3000");
    let doc = Document::parse(&format!("{}PDS_PORT=2999\n", crate::demo::DEMO_ENV));
    update(&mut a, Action::Reloaded(Ok(doc)));
    assert_eq!(a.settings.local_url, "http://localhost:2999");
    assert_eq!(a.settings.env_file, PathBuf::from("/pds/pds.env"));
}

fn key(app: &mut App, code: KeyCode) -> Vec<Effect> {
    update(app, Action::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn ctrl(app: &mut App, c: char) -> Vec<Effect> {
    update(
        app,
        Action::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)),
    )
}

fn type_text(app: &mut App, s: &str) {
    for c in s.chars() {
        key(app, KeyCode::Char(c));
    }
}

fn screen(app: &App, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| frame::draw(f, app, &Theme::new(true))).unwrap();
    t
}

fn text(t: &Terminal<TestBackend>) -> String {
    t.backend().to_string()
}

/// The ticket a pending job waits for: what its result must carry to count.
fn pending_ticket(p: &Option<crate::tui::jobs::Pending>) -> crate::tui::jobs::Ticket {
    p.expect("a job is pending").ticket
}

/// The ticket the doctor's row for check `name` waits for.
fn doctor_ticket(a: &App, id: crate::doctor::CheckId) -> crate::tui::jobs::Ticket {
    let i = crate::doctor::CHECKS
        .iter()
        .position(|c| c.id == id)
        .unwrap();
    match &a.doctor.rows[i] {
        crate::tui::steps::doctor::RowState::Running(p) => p.ticket,
        _ => panic!("{} is not running", id.name()),
    }
}

/// At 60x16 every form scrolls with its focused field: Tab through each step's fields and
/// the chosen one's label and input are always on screen.
#[test]
fn at_60x16_every_forms_focused_field_is_in_view() {
    // Every step that is a form (Review & save, the Doctor, the Overview and Relays are not).
    for step in Step::ALL.into_iter().filter(|s| {
        !matches!(
            s,
            Step::Review | Step::Doctor | Step::Overview | Step::Relays | Step::Backups
        )
    }) {
        let mut a = app();
        while a.step != step {
            key(&mut a, KeyCode::Down);
        }
        key(&mut a, KeyCode::Enter);
        assert_eq!(a.focus, Focus::Content);
        let form = |a: &App| match step {
            Step::Basics => a.basics.form.focused_field().label,
            Step::Email => a.email.form.focused_field().label,
            Step::Handle => a.handle.form.focused_field().label,
            Step::DidFile => a.didfile.form.focused_field().label,
            Step::Proxy => a.proxy.form.focused_field().label,
            Step::Server => a.server.form.focused_field().label,
            Step::Accounts => a.accounts.form.focused_field().label,
            _ => a.more.form.focused_field().label,
        };
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..60 {
            let label = form(&a);
            let t = text(&screen(&a, 60, 16));
            // The focused label is drawn with the selection style; find it as text.
            assert!(
                t.lines().any(|l| l.contains(label)),
                "{step:?}: {label:?} not in view at 60x16:\n{t}"
            );
            seen.insert(label);
            key(&mut a, KeyCode::Tab);
        }
        assert!(seen.len() >= 2, "{step:?}: {seen:?}");
    }
}

#[test]
fn sidebar_navigation_wraps_and_enters_steps() {
    let doc = Document::parse(crate::demo::DEMO_ENV);
    let settings = crate::settings::Resolved::new(&Default::default(), Some(&doc));
    let mut a = App::new(doc, settings, crate::tui::Mode::Normal);
    // Where the setup stands is the first thing shown.
    assert_eq!((a.step, a.focus), (Step::Overview, Focus::Sidebar));
    key(&mut a, KeyCode::Up);
    assert_eq!(a.step, Step::Doctor);
    key(&mut a, KeyCode::Down);
    assert_eq!(a.step, Step::Overview);
    for want in [Step::Basics, Step::Server, Step::Email] {
        key(&mut a, KeyCode::Down);
        assert_eq!(a.step, want);
    }
    key(&mut a, KeyCode::Enter);
    assert_eq!(a.focus, Focus::Content);
    key(&mut a, KeyCode::Esc);
    assert_eq!(a.focus, Focus::Sidebar);
    // Esc in the step list goes nowhere: it never quits (q does).
    assert!(key(&mut a, KeyCode::Esc).is_empty());
    assert!(!a.quit && a.modal.is_none());
    key(&mut a, KeyCode::Char('?'));
    assert_eq!(a.modal, Some(Modal::Help));
    key(&mut a, KeyCode::Esc);
    assert_eq!(a.modal, None);
}

#[test]
fn typing_validates_live_and_only_valid_answers_reach_the_file() {
    let mut a = app();
    key(&mut a, KeyCode::Enter); // into the Basics form, hostname focused
    ctrl(&mut a, 'u');
    type_text(&mut a, "10.0.0.1");
    let host = &a.basics.form.fields[0];
    assert_eq!(host.worst(), Level::Fail);
    assert!(host.findings[0].what.contains("IP address"));
    assert_eq!(a.mark(Step::Basics), Mark::Attention);
    // Not applied: the working file still has the old hostname.
    assert_eq!(
        a.working.get("PDS_HOSTNAME").as_deref(),
        Some("pds.example.com")
    );
    // Only answers count: the demo's bad handle domains line was not typed here.
    assert_eq!(a.rejected().len(), 1, "{:?}", a.rejected());

    ctrl(&mut a, 'u');
    let effects = {
        type_text(&mut a, "new.example.org");
        key(&mut a, KeyCode::Char('x'))
    };
    assert!(
        matches!(effects.as_slice(), [Effect::WriteDraft(d)] if d.edits["PDS_HOSTNAME"] == "new.example.orgx")
    );
    key(&mut a, KeyCode::Backspace);
    assert_eq!(
        a.working.get("PDS_HOSTNAME").as_deref(),
        Some("new.example.org")
    );
    assert_eq!(a.basics.form.fields[0].worst(), Level::Pass);
}

#[test]
fn toggle_and_secret_fields() {
    let mut a = app();
    key(&mut a, KeyCode::Enter);
    for _ in 0..3 {
        key(&mut a, KeyCode::Tab);
    }
    assert_eq!(a.basics.form.focused_field().key, "PDS_INVITE_REQUIRED");
    type_text(&mut a, "abc"); // ignored on a toggle
    key(&mut a, KeyCode::Char(' '));
    assert_eq!(
        a.working.get("PDS_INVITE_REQUIRED").as_deref(),
        Some("false")
    );
    key(&mut a, KeyCode::BackTab);
    assert_eq!(a.basics.form.focused_field().key, "PDS_ADMIN_PASSWORD");
    let shown = text(&screen(&a, 80, 24));
    assert!(
        !shown.contains("5d41402abc4b2a76"),
        "secret on screen:\n{shown}"
    );
    ctrl(&mut a, 'r');
    assert!(text(&screen(&a, 80, 24)).contains("5d41402abc4b2a76"));
    ctrl(&mut a, 'r');
    assert!(!text(&screen(&a, 80, 24)).contains("5d41402abc4b2a76"));
}

#[test]
fn save_flow_and_conflict() {
    let mut a = app();
    key(&mut a, KeyCode::Enter);
    ctrl(&mut a, 'u');
    type_text(&mut a, "new.example.org");
    ctrl(&mut a, 's');
    assert_eq!((a.step, a.focus), (Step::Review, Focus::Content));
    let diff = &a.pending_diff;
    assert!(diff
        .iter()
        .any(|(t, _, l)| *t == crate::envfile::display::DiffTag::Added
            && l == "PDS_HOSTNAME=new.example.org"));
    // A new name: the accounts a rename affects are looked up first (none here).
    let effects = key(&mut a, KeyCode::Enter);
    let [Effect::CheckRename { ticket, to, .. }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(to, "new.example.org");
    let effects = update(&mut a, Action::Renamed(*ticket, None));
    let [Effect::Save(doc)] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(doc.get("PDS_HOSTNAME").as_deref(), Some("new.example.org"));

    // The file changed on disk meanwhile: the error is shown and the answers are kept.
    update(
        &mut a,
        Action::Saved(Err("pds.env changed on disk since it was loaded".into())),
    );
    assert_eq!(a.save_result.as_ref().unwrap().0, Level::Fail);
    assert!(a.has_unsaved());
    assert!(matches!(
        key(&mut a, KeyCode::Char('r')).as_slice(),
        [Effect::Reload(_)]
    ));

    // A successful save clears the answers that were written, and the draft.
    // What the runner hands back: the document as now on disk.
    let saved = Document::parse(&doc.render());
    let effects = update(&mut a, Action::Saved(Ok((Default::default(), saved))));
    assert_eq!(
        a.base.get("PDS_HOSTNAME").as_deref(),
        Some("new.example.org")
    );
    // The demo's invalid handle domains answer was never given, so nothing stays unsaved.
    assert!(!a.has_unsaved());
    assert!(matches!(effects.as_slice(), [Effect::DeleteDraft(_)]));
    assert!(!a.working.is_modified());
}

#[test]
fn quitting_with_unsaved_answers_asks_and_keeps_a_draft() {
    let mut a = app();
    assert!(matches!(
        key(&mut a, KeyCode::Char('q')).as_slice(),
        [Effect::Quit]
    ));
    let mut a = app();
    key(&mut a, KeyCode::Enter);
    type_text(&mut a, "x");
    key(&mut a, KeyCode::Esc);
    assert!(key(&mut a, KeyCode::Char('q')).is_empty());
    assert_eq!(a.modal, Some(Modal::ConfirmQuit));
    assert!(text(&screen(&a, 80, 24)).contains("d: discard them and quit"));
    let effects = key(&mut a, KeyCode::Char('q'));
    assert!(matches!(
        effects.as_slice(),
        [Effect::WriteDraft(_), Effect::Quit]
    ));
    assert!(a.quit);
    // d discards: no draft written, and an old one removed.
    let mut a = app();
    key(&mut a, KeyCode::Enter);
    type_text(&mut a, "x");
    key(&mut a, KeyCode::Esc);
    key(&mut a, KeyCode::Char('q'));
    let effects = key(&mut a, KeyCode::Char('d'));
    assert!(matches!(
        effects.as_slice(),
        [Effect::DeleteDraft(_), Effect::Quit]
    ));
    assert!(a.quit);
}

#[test]
fn hangup_keeps_the_draft_and_quits() {
    let mut a = app();
    key(&mut a, KeyCode::Enter);
    type_text(&mut a, "x");
    let effects = update(&mut a, Action::Signal(SignalKind::Hangup));
    assert!(
        matches!(effects.as_slice(), [Effect::WriteDraft(d), Effect::Quit] if d.edits.contains_key("PDS_HOSTNAME"))
    );
    assert!(a.quit);
}

#[test]
fn a_draft_is_offered_back_and_restored() {
    let draft = Draft {
        env_file: PathBuf::from("/pds/pds.env"),
        base_fingerprint: "other".into(),
        saved_at: "20261124T060000Z".into(),
        edits: [(
            "PDS_HOSTNAME".to_string(),
            "restored.example.com".to_string(),
        )]
        .into(),
        retype: vec![],
    };
    let mut a = app_on(crate::demo::DEMO_ENV, Some(draft));
    assert!(matches!(a.modal, Some(Modal::RestoreDraft(_))));
    let shown = text(&screen(&a, 80, 24));
    assert!(shown.contains("changed on disk"), "{shown}");
    key(&mut a, KeyCode::Char('y'));
    assert_eq!(a.modal, None);
    assert_eq!(a.basics.form.fields[0].text(), "restored.example.com");
    assert_eq!(
        a.working.get("PDS_HOSTNAME").as_deref(),
        Some("restored.example.com")
    );

    let draft2 = a.draft();
    let mut b = app_on(crate::demo::DEMO_ENV, Some(draft2));
    assert!(matches!(
        key(&mut b, KeyCode::Char('n')).as_slice(),
        [Effect::DeleteDraft(_)]
    ));
    assert!(!b.has_unsaved());
}

#[test]
fn a_draft_never_holds_a_secret_and_says_what_to_type_again() {
    let mut a = app();
    a.set_edit("PDS_HOSTNAME", "new.example.com".into());
    a.set_edit("PDS_ADMIN_PASSWORD", "Typed-Admin-Pw-77".into());
    a.set_edit(
        "PDS_EMAIL_SMTP_URL",
        "smtps://mailer%40example.com:Typed-Smtp-Pw-77@smtp.example.com:465".into(),
    );
    let d = a.draft();
    let written = toml::to_string(&d).unwrap();
    assert!(!written.contains("Typed-"), "{written}");
    assert_eq!(d.edits["PDS_HOSTNAME"], "new.example.com");
    // The SMTP URL is kept without its password; the admin password not at all.
    assert_eq!(
        d.edits["PDS_EMAIL_SMTP_URL"],
        "smtps://mailer%40example.com@smtp.example.com:465"
    );
    assert!(!d.edits.contains_key("PDS_ADMIN_PASSWORD"));
    assert_eq!(d.retype, ["PDS_ADMIN_PASSWORD", "PDS_EMAIL_SMTP_URL"]);
    // A broken URL keeps nothing: any piece of it may be the password.
    a.set_edit(
        "PDS_EMAIL_SMTP_URL",
        "smtps://mailer:Typed/Smtp?Pw@smtp.example.com:465".into(),
    );
    let d = a.draft();
    assert!(!d.edits.contains_key("PDS_EMAIL_SMTP_URL"));

    // Restoring says what must be typed again, in the prompt and after.
    let mut b = app_on(crate::demo::DEMO_ENV, Some(d));
    let shown = text(&screen(&b, 100, 30));
    assert!(shown.contains("type again"), "{shown}");
    assert!(shown.contains("PDS_ADMIN_PASSWORD"), "{shown}");
    assert!(shown.contains("ago"), "{shown}");
    key(&mut b, KeyCode::Char('y'));
    let (level, status) = b.status.clone().unwrap();
    assert_eq!(level, Level::Warn);
    assert!(
        status.contains("Type again") && status.contains("the password in PDS_EMAIL_SMTP_URL"),
        "{status}"
    );
}

#[test]
fn a_paste_is_one_edit_in_the_focused_field_and_nothing_elsewhere() {
    let mut a = app();
    // In the step list a paste is dropped: it must never act as keys.
    let effects = update(&mut a, Action::Paste("q\x03j".into()));
    assert!(effects.is_empty() && !a.quit);
    key(&mut a, KeyCode::Enter);
    ctrl(&mut a, 'u');
    let effects = update(
        &mut a,
        Action::Paste("pasted.example.org\rsecond line".into()),
    );
    // One answer, one draft: the first line only.
    assert!(
        matches!(effects.as_slice(), [Effect::WriteDraft(d)] if d.edits["PDS_HOSTNAME"] == "pasted.example.org"),
        "{effects:?}"
    );
    // A DNS name stops at 253 characters, typed or pasted.
    update(&mut a, Action::Paste("x".repeat(10_000)));
    assert_eq!(a.basics.form.fields[0].text().chars().count(), 253);
    assert!(
        key(&mut a, KeyCode::Char('y')).is_empty(),
        "a full field takes no key"
    );
}

#[test]
fn a_password_field_does_not_show_its_length() {
    let mut a = app();
    a.step = Step::Basics;
    a.focus = Focus::Content;
    let short = text(&screen(&a, 80, 24));
    a.set_edit("PDS_ADMIN_PASSWORD", "x".repeat(40));
    a.basics = crate::tui::steps::basics::Basics::new(&a.working);
    let long = text(&screen(&a, 80, 24));
    let bullets = |t: &str| t.matches('•').count();
    assert_eq!(bullets(&short), bullets(&long), "{short}\n{long}");
    assert!(bullets(&long) > 0, "{long}");
}

#[test]
fn colours_follow_no_color() {
    let a = app();
    let find_fail = |t: &Terminal<TestBackend>| {
        let buf = t.backend().buffer().clone();
        buf.content()
            .iter()
            .find(|c| c.symbol() == "✗")
            .map(|c| c.fg)
    };
    assert_eq!(
        find_fail(&screen(&a, 80, 24)),
        Some(ratatui::style::Color::Red)
    );
    let mut t = Terminal::new(TestBackend::new(80, 24)).unwrap();
    t.draw(|f| frame::draw(f, &a, &Theme::new(false))).unwrap();
    assert_eq!(find_fail(&t), Some(ratatui::style::Color::Reset));
}

#[test]
fn any_size_renders_without_panicking() {
    let a = app();
    for (w, h) in [(1, 1), (20, 5), (59, 15), (60, 16), (80, 24), (200, 60)] {
        let t = screen(&a, w, h);
        if w < 60 {
            assert!(text(&t).contains("too small") || w < 20);
        }
    }
}

mod snapshots;

mod email_screen;

mod identity_screens;

mod proxy_screen;

mod doctor_screen;

mod answers_file;

mod pending_codes;

mod setup_screens;

mod stale_results;

mod questions;

/// On the official install (compose.yaml runs Caddy), the Reverse proxy step writes Caddy's
/// own Caddyfile and reloads it inside its container.
#[test]
fn the_installers_caddy_is_the_caddy_the_proxy_step_writes() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("compose.yaml"),
        "services:\n  caddy:\n    image: caddy:2\n",
    )
    .unwrap();
    let doc = Document::parse(&crate::demo::DEMO_ENV.replace(
        "PDS_DATA_DIRECTORY=/pds",
        &format!("PDS_DATA_DIRECTORY={}", d.path().display()),
    ));
    let flags = crate::context::Context {
        env_file: d.path().join("pds.env"),
        ..Default::default()
    };
    let settings = crate::settings::Resolved::new(&flags, Some(&doc));
    let mut a = App::new(doc, settings, crate::tui::Mode::Normal);
    down_to(&mut a, Step::Proxy);
    key(&mut a, KeyCode::Enter);
    // It opens on the Caddy that runs, not nginx.
    assert_eq!(a.proxy.server(), crate::proxy::Server::Caddy);
    let out = a.proxy.out_path();
    assert_eq!(out, d.path().join("caddy/etc/caddy/Caddyfile"));
    assert_eq!(
        crate::proxy::install::reload_command_for(a.proxy.server(), &out).unwrap()[..3],
        ["docker", "exec", "caddy"]
    );
}

/// The proxy step's write answered (as its job would: with the ticket it went out with).
pub(super) fn proxy_written(a: &mut App, result: Result<Vec<String>, String>) -> Vec<Effect> {
    let job = a.jobs.start();
    a.proxy.doing = Some(job.ticket);
    update(
        a,
        Action::Proxy(job.ticket, crate::tui::steps::proxy::Done::Written(result)),
    )
}

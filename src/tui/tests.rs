//! The TUI without a terminal: `update()` flows and screens rendered into a TestBackend.

use super::app::{update, Action, App, Effect, Focus, Mark, Modal, SignalKind, Step};
use super::draft::Draft;
use super::screens;
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
    t.draw(|f| screens::draw(f, app, &Theme::new(true)))
        .unwrap();
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
        crate::tui::screens::doctor::RowState::Running(p) => p.ticket,
        _ => panic!("{} is not running", id.name()),
    }
}

/// At 60x16 every form scrolls with its focused field: Tab through each step's fields and
/// the chosen one's label and input are always on screen.
#[test]
fn at_60x16_every_forms_focused_field_is_in_view() {
    // Every step that is a form (Review & save and the Doctor are not).
    for step in Step::ALL
        .into_iter()
        .filter(|s| !matches!(s, Step::Review | Step::Doctor | Step::Overview))
    {
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
    let [Effect::Setup(ticket, crate::tui::screens::setup::Job::CheckRename { to, .. })] =
        effects.as_slice()
    else {
        panic!("{effects:?}")
    };
    assert_eq!(to, "new.example.org");
    let effects = update(
        &mut a,
        Action::Setup(
            *ticket,
            Box::new(crate::tui::screens::setup::Done::Rename(None)),
        ),
    );
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
    a.basics = crate::tui::screens::basics::Basics::new(&a.working);
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
    t.draw(|f| screens::draw(f, &a, &Theme::new(false)))
        .unwrap();
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

mod snapshots {
    use super::*;

    #[test]
    fn basics_at_80x24() {
        let mut a = app();
        key(&mut a, KeyCode::Enter);
        insta::assert_snapshot!(screen(&a, 80, 24).backend());
    }

    /// More settings: a bucket beside the installer's disk location fails where it is
    /// typed (the PDS would not start), and the form scrolls to the field in focus.
    #[test]
    fn more_settings_judges_the_blobstore_and_scrolls() {
        let mut a = app();
        while a.step != Step::More {
            key(&mut a, KeyCode::Down);
        }
        key(&mut a, KeyCode::Enter);
        assert_eq!(
            a.more.form.focused_field().key,
            "PDS_BLOBSTORE_DISK_LOCATION"
        );
        key(&mut a, KeyCode::Down);
        type_text(&mut a, "uploads");
        assert_eq!(
            a.edits.get("PDS_BLOBSTORE_S3_BUCKET").map(String::as_str),
            Some("uploads")
        );
        assert_eq!(a.mark(Step::More), Mark::Attention);
        let bucket = a.more.form.focused_field();
        assert!(
            bucket
                .findings
                .iter()
                .any(|f| f.level == Level::Fail && f.why.contains("refuses to start")),
            "{:?}",
            bucket.findings
        );
        insta::assert_snapshot!("more_settings_bucket_and_disk", text(&screen(&a, 80, 24)));
        // The last field, far below the fold: in view once focused.
        while a.more.form.focused_field().key != "PDS_RECOVERY_DID_KEY" {
            key(&mut a, KeyCode::Down);
        }
        type_text(&mut a, "did:key:nope");
        let shown = text(&screen(&a, 80, 24));
        assert!(shown.contains("Recovery key"), "{shown}");
        assert!(shown.contains("is not base58btc"), "{shown}");
    }

    #[test]
    fn basics_with_an_invalid_hostname() {
        let mut a = app();
        key(&mut a, KeyCode::Enter);
        ctrl(&mut a, 'u');
        type_text(&mut a, "https://pds.example.com");
        insta::assert_snapshot!(screen(&a, 80, 24).backend());
    }

    #[test]
    fn review_with_changes() {
        let mut a = app();
        key(&mut a, KeyCode::Enter);
        ctrl(&mut a, 'u');
        type_text(&mut a, "new.example.org");
        for _ in 0..5 {
            key(&mut a, KeyCode::Tab);
        }
        ctrl(&mut a, 'u');
        type_text(&mut a, ".new.example.org");
        ctrl(&mut a, 's');
        insta::assert_snapshot!(screen(&a, 80, 24).backend());
    }

    #[test]
    fn help_overlay() {
        let mut a = app();
        key(&mut a, KeyCode::Char('?'));
        insta::assert_snapshot!(screen(&a, 80, 24).backend());
    }

    /// At 80x24 nothing of the help or of a pop-up's y/n line is cut: a long description
    /// wraps under itself, and a long reload command makes its pop-up taller.
    #[test]
    fn help_and_pop_ups_are_whole_at_80x24() {
        let mut a = app();
        down_to(&mut a, Step::Proxy);
        key(&mut a, KeyCode::Enter);
        key(&mut a, KeyCode::F(1));
        let shown = text(&screen(&a, 80, 24));
        assert!(shown.contains("the server's check passed)"), "{shown}");
        key(&mut a, KeyCode::Esc);
        // Caddy written where the installer's reads it: the longest reload there is.
        key(&mut a, KeyCode::Right);
        a.proxy
            .form
            .field_mut(crate::tui::screens::proxy::OUT)
            .unwrap()
            .set_text("/pds/caddy/etc/caddy/Caddyfile");
        a.modal = Some(Modal::ProxyReload(
            crate::proxy::install::reload_command_for(
                crate::proxy::Server::Caddy,
                std::path::Path::new("/pds/caddy/etc/caddy/Caddyfile"),
            )
            .unwrap(),
        ));
        let shown = text(&screen(&a, 80, 24));
        assert!(
            shown.contains("y: run it   n: not now")
                && shown.contains("docker exec caddy caddy reload --config"),
            "{shown}"
        );
    }

    #[test]
    fn doctor_before_its_first_run() {
        let mut a = app();
        down_to(&mut a, Step::Doctor);
        insta::assert_snapshot!(screen(&a, 80, 24).backend());
    }
}

mod email_screen {
    use super::*;
    use crate::email::send::{SendReport, Stage};
    use crate::email::{FROM_KEY, URL_KEY};
    use crate::finding::Finding;
    use crate::tui::screens::email::TestState;

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
        let reread = crate::tui::screens::email::EmailScreen::new(&a.working);
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
        let [Effect::SendTestMail { settings, to, .. }] = effects.as_slice() else {
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
            finding: Finding::fail(
                "login as \"alice@example.com\" was refused: 535 bad credentials",
            )
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
        update(&mut a, Action::TestMailDone(t, Box::new(report)));
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
    fn misread_app() -> App {
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
        assert_eq!(a.modal, Some(Modal::Repair));
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
        update(&mut a, Action::TestMailDone(ticket, Box::new(report)));
        assert_eq!(a.modal, Some(Modal::SaveEmail));
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
        let [Effect::PdsReady { ticket, .. }] = effects.as_slice() else {
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
        update(&mut a, Action::PdsReady(*ticket, Ok(accounts)));
        // The account whose address is the test recipient comes first; Tab picks another.
        assert!(matches!(a.modal, Some(Modal::PdsSend { index: 1, .. })));
        key(&mut a, KeyCode::Tab);
        assert!(matches!(a.modal, Some(Modal::PdsSend { index: 0, .. })));
        let effects = key(&mut a, KeyCode::Char('y'));
        assert!(
            matches!(effects.as_slice(), [Effect::PdsSend { did, .. }] if did == "did:plc:aliceaaaaaaaaaaaaaaaaaaa"),
            "{effects:?}"
        );
    }

    #[test]
    fn when_the_pds_cannot_send_its_log_says_why() {
        let mut a = misread_app();
        key(&mut a, KeyCode::Enter);
        key(&mut a, KeyCode::Char('n'));
        ctrl(&mut a, 'p');
        let crate::tui::screens::email::PdsTest::Waiting(job) = &a.email.pds_test else {
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
        update(&mut a, Action::PdsReady(ticket, Ok(vec![alice.clone()])));
        let effects = key(&mut a, KeyCode::Char('y'));
        let [Effect::PdsSend { ticket, .. }] = effects.as_slice() else {
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
        update(&mut a, Action::PdsSent(*ticket, Box::new(r)));
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
        update(&mut a, Action::TestMailDone(t, Box::new(report)));
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
            crate::tui::screens::email::PdsTest::Waiting(job) => job.ticket,
            _ => panic!("not waiting"),
        };
        // Asked again (after the first gave up): only the second answer counts.
        a.email.pds_test = crate::tui::screens::email::PdsTest::Idle;
        ctrl(&mut a, 'p');
        update(&mut a, Action::PdsReady(first, Ok(vec![])));
        assert!(a.modal.is_none());
        assert!(matches!(
            a.email.pds_test,
            crate::tui::screens::email::PdsTest::Waiting(_)
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
}

mod identity_screens {
    use super::*;
    use crate::finding::Finding;
    use crate::identity::didfile::DidFileCheck;
    use crate::identity::dns::{DnsCheck, ServerResult, TxtRecord};
    use crate::identity::{Did, Handle, HandleReport};
    use crate::pds::accounts::Account;
    use crate::tui::screens::handle::Accounts;

    const DID: &str = "did:plc:ewvi7nxzyoun6zhxrhs64oiz";

    fn open(step: Step) -> (App, Vec<Effect>) {
        let mut a = app();
        down_to(&mut a, step);
        let effects = key(&mut a, KeyCode::Enter);
        (a, effects)
    }

    pub(super) fn report(verified: bool) -> HandleReport {
        let handle = Handle::parse("alice.example.com").unwrap();
        let did = Did::parse(DID).unwrap();
        let dns_finding = if verified {
            Finding::pass(format!("_atproto.alice.example.com → did={DID}"))
        } else {
            Finding::fail("_atproto.alice.example.com does not exist (NXDOMAIN)")
        };
        HandleReport {
            record: TxtRecord::new(&handle, &did, "example.com"),
            dns: DnsCheck {
                name: "_atproto.alice.example.com".into(),
                zone: Some("example.com".into()),
                results: vec![
                    ServerResult {
                        server: "system resolver".into(),
                        address: None,
                        values: vec![],
                        finding: dns_finding.clone(),
                    },
                    ServerResult {
                        server: "ns1.example.net".into(),
                        address: Some("192.0.2.53:53".into()),
                        values: vec![],
                        finding: dns_finding,
                    },
                ],
                doubled: None,
            },
            https: DidFileCheck {
                url: "https://alice.example.com/.well-known/atproto-did".into(),
                final_url: "https://alice.example.com/.well-known/atproto-did".into(),
                status: Some(404),
                body: None,
                finding: Finding::fail(
                    "https://alice.example.com/.well-known/atproto-did answered HTTP 404",
                ),
                notes: vec![],
            },
            did_document: None,
            did_document_error: None,
            by_dns: verified,
            by_https: false,
            dns_misleads: false,
            proxy_loses_pds: false,
            verified,
            handle,
            did,
        }
    }

    /// A handle that failed and now verifies is offered to be announced again; y asks for
    /// it, and the outcome is shown on the step.
    #[test]
    fn a_handle_fixed_after_failing_is_offered_to_be_announced() {
        let (mut a, _) = open(Step::Handle);
        assert_eq!(a.step, Step::Handle);
        a.handle.set_accounts(Ok(vec![Account {
            handle: "alice.example.com".into(),
            did: DID.into(),
            email: None,
            active: true,
            status: None,
        }]));
        key(&mut a, KeyCode::Right);
        let check = |a: &mut App| {
            let effects = ctrl(a, 't');
            let [Effect::VerifyHandle { ticket, .. }] = effects.as_slice() else {
                panic!("{effects:?}")
            };
            *ticket
        };
        let t = check(&mut a);
        update(&mut a, Action::HandleVerified(t, Box::new(report(false))));
        assert_eq!(a.modal, None);
        // Fixed: the next check passes, and the offer comes.
        let t = check(&mut a);
        update(&mut a, Action::HandleVerified(t, Box::new(report(true))));
        assert_eq!(
            a.modal,
            Some(Modal::RefreshHandle("alice.example.com".into()))
        );
        assert!(text(&screen(&a, 100, 30)).contains("y: announce it   n: not now"));
        let effects = key(&mut a, KeyCode::Char('y'));
        let [Effect::RefreshHandle { ticket, handle }] = effects.as_slice() else {
            panic!("{effects:?}")
        };
        assert_eq!(handle.as_str(), "alice.example.com");
        let r = crate::pds::refresh::RefreshReport {
            handle: "alice.example.com".into(),
            did: Some(DID.into()),
            steps: vec![Finding::pass(
                "the PDS announced alice.example.com again: an identity event",
            )],
            level: Level::Pass,
        };
        update(&mut a, Action::HandleRefreshed(*ticket, Box::new(r)));
        assert!(text(&screen(&a, 100, 30)).contains("the PDS announced alice.example.com again"));
        // A pass that was never a failure is not offered again.
        let t = check(&mut a);
        update(&mut a, Action::HandleVerified(t, Box::new(report(true))));
        assert_eq!(a.modal, None);
    }

    /// A report on a handle the operator has since changed is dropped, and so is a second
    /// answer to an accounts request that was already answered.
    #[test]
    fn a_report_on_an_old_handle_is_dropped() {
        let (mut a, _) = open(Step::Handle);
        let Accounts::Loading(accounts) = a.handle.accounts else {
            panic!("accounts are not loading")
        };
        update(&mut a, Action::AccountsLoaded(accounts, Ok(vec![])));
        key(&mut a, KeyCode::Tab);
        type_text(&mut a, "alice.example.com");
        key(&mut a, KeyCode::Tab);
        type_text(&mut a, DID);
        let effects = ctrl(&mut a, 't');
        let [Effect::VerifyHandle { ticket, .. }] = effects.as_slice() else {
            panic!("{effects:?}")
        };
        let old = *ticket;
        // The DID changes while the check runs: the check is for the old target.
        key(&mut a, KeyCode::Backspace);
        assert!(a.handle.pending.is_none());
        update(&mut a, Action::HandleVerified(old, Box::new(report(true))));
        assert!(
            a.handle.report.is_none(),
            "a verdict for the old DID was kept"
        );
        assert_ne!(a.mark(Step::Handle), Mark::Done);
        // A late second answer to the accounts request changes nothing.
        update(
            &mut a,
            Action::AccountsLoaded(
                accounts,
                Err(Finding::fail(
                    "cannot reach the PDS at http://localhost:3000",
                )),
            ),
        );
        assert!(matches!(a.handle.accounts, Accounts::Loaded(_)));
    }

    /// A result overtaken by a newer request is dropped whole: its handle does not reach
    /// the answers file either (nor does a stale test mail's recipient).
    #[test]
    fn a_stale_result_leaves_no_trace_in_the_answers() {
        let (mut a, _) = open(Step::Handle);
        key(&mut a, KeyCode::Tab); // Account → Handle
        type_text(&mut a, "alice.example.com");
        key(&mut a, KeyCode::Tab);
        type_text(&mut a, DID);
        ctrl(&mut a, 't');
        let first = pending_ticket(&a.handle.pending);
        // The handle changes: the first check no longer counts; a second one runs.
        key(&mut a, KeyCode::BackTab);
        key(&mut a, KeyCode::Backspace);
        type_text(&mut a, "m");
        ctrl(&mut a, 't');
        assert_ne!(pending_ticket(&a.handle.pending), first);
        a.answers_due = false;
        update(
            &mut a,
            Action::HandleVerified(first, Box::new(report(true))),
        );
        assert!(a.answered.handles.is_empty(), "{:?}", a.answered.handles);
        assert!(!a.answers_due);
        assert!(a.handle.report.is_none());
        // A test mail's result for a request that is not the pending one.
        update(
            &mut a,
            Action::TestMailDone(
                first,
                Box::new(crate::email::send::SendReport {
                    finding: Finding::pass("sent"),
                    notes: vec![],
                    stage: crate::email::send::Stage::Done,
                    transcript: vec![],
                    elapsed_ms: 1,
                }),
            ),
        );
        assert!(!a.answered.recipient && !a.answers_due);
    }

    #[test]
    fn handle_screen_loads_accounts_checks_and_rechecks() {
        let (mut a, effects) = open(Step::Handle);
        assert_eq!((a.step, a.focus), (Step::Handle, Focus::Content));
        assert!(
            matches!(effects.as_slice(), [Effect::LoadAccounts { .. }]),
            "{effects:?}"
        );
        let Accounts::Loading(t) = a.handle.accounts else {
            panic!("accounts are not loading")
        };
        update(
            &mut a,
            Action::AccountsLoaded(
                t,
                Ok(vec![Account {
                    handle: "alice.example.com".into(),
                    did: DID.into(),
                    email: None,
                    active: true,
                    status: None,
                }]),
            ),
        );
        // Pick the account: handle and DID are filled in, and the atproto-did step learns them.
        key(&mut a, KeyCode::Right);
        assert_eq!(a.handle.form.text("handle"), "alice.example.com");
        assert_eq!(a.handle.form.text("did"), DID);
        assert_eq!(a.didfile.form.text("did"), DID);
        // Auto re-check every 30 s: turning it on checks at once (no Ctrl-T needed).
        for _ in 0..3 {
            key(&mut a, KeyCode::Tab);
        }
        let effects = key(&mut a, KeyCode::Right);
        assert!(
            matches!(effects.as_slice(), [Effect::VerifyHandle { .. }]),
            "{effects:?}"
        );
        assert!(
            ctrl(&mut a, 't').is_empty(),
            "no second check while one runs"
        );
        key(&mut a, KeyCode::Left); // keys still work while pending
        key(&mut a, KeyCode::Right);
        let t = pending_ticket(&a.handle.pending);
        let effects = update(&mut a, Action::HandleVerified(t, Box::new(report(false))));
        assert!(
            matches!(effects.as_slice(), [Effect::ScheduleRecheck(d)] if d.as_secs() == 30),
            "{effects:?}"
        );
        assert_eq!(a.mark(Step::Handle), Mark::Attention);
        insta::assert_snapshot!(screen(&a, 80, 24).backend());
        // The timer fires: checked again; this time it passes.
        assert!(matches!(
            update(&mut a, Action::AutoRecheck).as_slice(),
            [Effect::VerifyHandle { .. }]
        ));
        let t = pending_ticket(&a.handle.pending);
        update(&mut a, Action::HandleVerified(t, Box::new(report(true))));
        assert_eq!(a.mark(Step::Handle), Mark::Done);
        // Fixed after failing: announcing it is offered (not now).
        assert!(matches!(a.modal, Some(Modal::RefreshHandle(_))));
        key(&mut a, KeyCode::Char('n'));
        assert!(a
            .status
            .as_ref()
            .unwrap()
            .1
            .contains("pds-wizard handle refresh"));
        // Auto off: the timer does nothing.
        key(&mut a, KeyCode::Right);
        key(&mut a, KeyCode::Right);
        assert_eq!(a.handle.form.text("auto"), "off");
        assert!(update(&mut a, Action::AutoRecheck).is_empty());
    }

    #[test]
    fn a_pds_that_cannot_be_reached_is_shown_and_typing_still_works() {
        let (mut a, _) = open(Step::Handle);
        let Accounts::Loading(t) = a.handle.accounts else {
            panic!("accounts are not loading")
        };
        update(
            &mut a,
            Action::AccountsLoaded(
                t,
                Err(Finding::fail(
                    "cannot reach the PDS at http://localhost:3000: connection refused",
                )),
            ),
        );
        key(&mut a, KeyCode::Tab);
        type_text(&mut a, "bob.example.com");
        key(&mut a, KeyCode::Tab);
        type_text(&mut a, "not-a-did");
        assert!(a.handle.target().is_err());
        assert!(ctrl(&mut a, 't').is_empty());
        assert!(text(&screen(&a, 80, 24)).contains("cannot reach the PDS"));
    }

    #[test]
    fn did_file_screen_writes_and_checks() {
        let (mut a, _) = open(Step::DidFile);
        assert_eq!(a.step, Step::DidFile);
        let root = tempfile::tempdir().unwrap();
        type_text(&mut a, "alice.example.com");
        key(&mut a, KeyCode::Tab);
        type_text(&mut a, DID);
        key(&mut a, KeyCode::Tab);
        type_text(&mut a, root.path().to_str().unwrap());
        let effects = ctrl(&mut a, 'w');
        let [Effect::WriteDidFile { webroot, did }] = effects.as_slice() else {
            panic!("{effects:?}")
        };
        assert_eq!((webroot.as_path(), did.as_str()), (root.path(), DID));
        update(
            &mut a,
            Action::DidFileWritten(Ok(format!(
                "{}/.well-known/atproto-did",
                root.path().display()
            ))),
        );
        let effects = ctrl(&mut a, 't');
        assert!(
            matches!(effects.as_slice(), [Effect::CheckDidFile { .. }]),
            "{effects:?}"
        );
        let t = pending_ticket(&a.didfile.pending);
        update(&mut a, Action::DidFileChecked(t, Box::new(DidFileCheck {
            url: "https://alice.example.com/.well-known/atproto-did".into(),
            final_url: "https://alice.example.com/.well-known/atproto-did".into(),
            status: Some(200),
            body: Some("<html>".into()),
            finding: Finding::fail("https://alice.example.com/.well-known/atproto-did answered 200 with an HTML page, not the DID").fix("Make the web server serve the plain file."),
            notes: vec![],
        })));
        assert_eq!(a.mark(Step::DidFile), Mark::Attention);
        // The temp dir differs run to run; the snapshot shows the rest.
        let t = text(&screen(&a, 80, 24)).replace(root.path().to_str().unwrap(), "/srv/www");
        insta::assert_snapshot!(t);
    }
}

mod proxy_screen {
    use super::*;
    use crate::finding::Finding;
    use crate::proxy::validate::Validation;
    use crate::proxy::Server;
    use crate::tui::screens::proxy::DOMAINS;

    /// The Reverse proxy step, writing under a temp dir instead of /etc.
    fn open(root: &std::path::Path) -> App {
        let mut a = app();
        a.set_proxy_root(root);
        down_to(&mut a, Step::Proxy);
        key(&mut a, KeyCode::Enter);
        assert_eq!((a.step, a.focus), (Step::Proxy, Focus::Content));
        a
    }

    #[test]
    fn a_plan_error_shows_on_the_field_it_names() {
        use crate::tui::screens::proxy::{CERT, KEY, TLS};
        let mut a = open(std::path::Path::new("/srv/demo"));
        while a.proxy.form.focused_field().key != TLS {
            key(&mut a, KeyCode::Tab);
        }
        while a.proxy.form.text(TLS) != "files" {
            key(&mut a, KeyCode::Right);
        }
        assert!(a.proxy.plan.is_none());
        let fails = |k: &str| {
            a.proxy
                .form
                .field(k)
                .unwrap()
                .findings
                .iter()
                .filter(|f| f.level == Level::Fail)
                .count()
        };
        assert_eq!((fails(CERT), fails(KEY), fails(TLS)), (1, 1, 0));
        // The TUI names no command-line flag.
        let t = text(&screen(&a, 100, 30));
        assert!(!t.contains("--cert"), "{t}");
    }

    /// A PDS on another machine: the preview shows both machines' files, each saying where
    /// it goes; only the front's are written from here; a range for the front is refused on
    /// its field.
    #[test]
    fn a_pds_elsewhere_shows_both_sides() {
        use crate::tui::screens::proxy::{FRONT, PDS_SIDE, UPSTREAM};
        let dir = tempfile::tempdir().unwrap();
        let mut a = open(dir.path());
        let fill = |a: &mut App, k: &str, v: &str| {
            while a.proxy.form.focused_field().key != k {
                key(a, KeyCode::Tab);
            }
            type_text(a, v);
        };
        fill(&mut a, FRONT, "100.64.0.0/10");
        fill(&mut a, UPSTREAM, "100.101.102.103");
        assert!(a.proxy.plan.is_none());
        let front = a.proxy.form.field(FRONT).unwrap();
        assert!(
            front
                .findings
                .iter()
                .any(|f| f.level == Level::Fail && f.what.contains("not a range")),
            "{:?}",
            front.findings
        );
        // The front's own address, and the installer's Caddy on the PDS machine.
        while a.proxy.form.focused_field().key != FRONT {
            key(&mut a, KeyCode::Tab);
        }
        for _ in 0..3 {
            key(&mut a, KeyCode::Backspace);
        }
        assert_eq!(a.proxy.form.text(FRONT), "100.64.0.0");
        key(&mut a, KeyCode::Backspace);
        type_text(&mut a, "1");
        key(&mut a, KeyCode::Tab);
        assert_eq!(a.proxy.form.focused_field().key, PDS_SIDE);
        key(&mut a, KeyCode::Right);
        assert_eq!(a.proxy.form.text(PDS_SIDE), "caddy");
        let plan = a.proxy.plan.clone().expect("a plan");
        assert_eq!(plan.upstream.authority(), "100.101.102.103:80");
        assert_eq!(a.proxy.files.len(), 1, "the front's file only is written");
        ctrl(&mut a, 'p');
        let t = text(&screen(&a, 160, 400));
        assert!(t.contains("on the PDS machine (100.101.102.103)"), "{t}");
        assert!(t.contains("trusted_proxies 100.64.0.1"), "{t}");
        assert!(t.contains("PDS_RATE_LIMIT_BYPASS_IPS=100.64.0.1"), "{t}");
        assert!(t.contains("server 100.101.102.103:80"), "{t}");
    }

    fn validation(level: Level) -> Box<Validation> {
        Box::new(Validation {
            server: Server::Nginx,
            command: Some("nginx -t".into()),
            finding: Finding::new(level, "nginx says so"),
            output: String::new(),
        })
    }

    /// A verdict that arrives after the plan changed belongs to the old plan: Ctrl-W must
    /// not offer to write the edited plan as if it had been checked.
    #[test]
    fn a_verdict_on_an_old_plan_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = open(dir.path());
        let effects = ctrl(&mut a, 'v');
        let [Effect::ValidateProxy { ticket, .. }] = effects.as_slice() else {
            panic!("{effects:?}")
        };
        let old = *ticket;
        // Edit Upstream while the server checks.
        while a.proxy.form.focused_field().key != crate::tui::screens::proxy::UPSTREAM {
            key(&mut a, KeyCode::Tab);
        }
        type_text(&mut a, "127.0.0.1:3001");
        assert!(
            a.proxy.pending.is_none(),
            "the check in flight is for the old plan"
        );
        update(&mut a, Action::ProxyValidated(old, validation(Level::Pass)));
        assert!(a.proxy.validation.is_none());
        let effects = ctrl(&mut a, 'w');
        assert!(a.modal.is_none(), "{:?}", a.modal);
        // Ctrl-W asks the server about the plan as it is now, instead.
        let [Effect::ValidateProxy { ticket, .. }] = effects.as_slice() else {
            panic!("{effects:?}")
        };
        assert_ne!(*ticket, old);
    }

    #[test]
    fn the_plan_follows_the_form_and_bad_answers_stop_it() {
        // Nothing is written here: a fixed root keeps the snapshot stable.
        let mut a = open(std::path::Path::new("/srv/demo"));
        let plan = a.proxy.plan.clone().expect("the demo env makes a plan");
        insta::assert_snapshot!("proxy_screen_80x24", text(&screen(&a, 80, 24)));
        assert_eq!(plan.host.as_str(), "pds.example.com");
        assert!(a.proxy.files[0]
            .text
            .contains("server_name pds.example.com"));
        // Caddy: the TLS default and the output path follow the server.
        key(&mut a, KeyCode::Right);
        assert_eq!(a.proxy.server(), Server::Caddy);
        assert_eq!(a.proxy.form.text("tls"), "on-demand");
        assert!(a.proxy.out_path().ends_with("etc/caddy/Caddyfile"));
        assert!(a.proxy.files[0].text.contains("on_demand_tls"));
        // A broken handle-domain answer: the field says why and nothing can be written.
        while a.proxy.form.focused_field().key != DOMAINS {
            key(&mut a, KeyCode::Tab);
        }
        type_text(&mut a, "alice.example.net,loud");
        assert!(a.proxy.plan.is_none());
        let f = &a.proxy.form.field(DOMAINS).unwrap().findings;
        assert!(
            f.iter()
                .any(|x| x.level == Level::Fail && x.what.contains("loud")),
            "{f:?}"
        );
        assert!(ctrl(&mut a, 'w').is_empty());
        assert_eq!(a.status.as_ref().unwrap().0, Level::Fail);
        assert_eq!(a.mark(Step::Proxy), Mark::Attention);
        // Preview: Ctrl-P shows the files, Esc returns to the form.
        ctrl(&mut a, 'u');
        type_text(&mut a, "alice.example.net");
        ctrl(&mut a, 'p');
        let t = text(&screen(&a, 100, 30));
        assert!(
            t.contains("── Caddyfile") && t.contains("# Caddyfile for the ATProto PDS"),
            "{t}"
        );
        assert!(a.proxy.files[0].text.contains("alice.example.net {"));
        key(&mut a, KeyCode::Esc);
        assert!(!a.proxy.preview);
        assert_eq!(a.focus, Focus::Content);
    }

    #[test]
    fn write_only_after_the_servers_check_then_offer_the_reload() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("etc/nginx/sites-available")).unwrap();
        let mut a = open(root.path());
        // Not yet checked: Ctrl-W first asks the server.
        let effects = ctrl(&mut a, 'w');
        assert!(
            matches!(effects.as_slice(), [Effect::ValidateProxy { .. }]),
            "{effects:?}"
        );
        assert!(a.proxy.pending.is_some());
        // A refusal: nothing is offered for writing.
        let t = pending_ticket(&a.proxy.pending);
        update(&mut a, Action::ProxyValidated(t, validation(Level::Fail)));
        assert!(a.modal.is_none());
        assert!(ctrl(&mut a, 'w').is_empty());
        assert!(a.status.as_ref().unwrap().1.contains("not written"));
        // Any change to the plan makes the old verdict void.
        key(&mut a, KeyCode::Right);
        key(&mut a, KeyCode::Left);
        assert!(
            a.proxy.validation.is_none(),
            "the plan changed and came back: check again"
        );
        let effects = ctrl(&mut a, 'w');
        assert!(matches!(effects.as_slice(), [Effect::ValidateProxy { .. }]));
        let t = pending_ticket(&a.proxy.pending);
        update(&mut a, Action::ProxyValidated(t, validation(Level::Pass)));
        let Some(Modal::ProxyWrite(places)) = a.modal.clone() else {
            panic!("{:?}", a.modal)
        };
        assert!(!places[0].existed && places[0].changed());
        let t = text(&screen(&a, 80, 24));
        assert!(t.contains("y: write") && t.contains("new file"), "{t}");
        let effects = key(&mut a, KeyCode::Char('y'));
        let [Effect::WriteProxy { files, placements }] = effects.as_slice() else {
            panic!("{effects:?}")
        };
        // The loop's work, done here: the real write.
        let done = crate::proxy::install::write(files, placements).unwrap();
        assert!(placements[0].path.exists());
        update(
            &mut a,
            Action::ProxyWritten(Ok(done
                .iter()
                .map(|r| format!("wrote {}", r.path.display()))
                .collect())),
        );
        assert_eq!(a.mark(Step::Proxy), Mark::Done);
        // The reload is offered, and "n" leaves the command to run later.
        assert!(
            matches!(&a.modal, Some(Modal::ProxyReload(c)) if c.join(" ").contains("systemctl reload nginx"))
        );
        assert!(key(&mut a, KeyCode::Char('n')).is_empty());
        assert!(a
            .status
            .as_ref()
            .unwrap()
            .1
            .contains("nginx -t && systemctl reload nginx"));
        // Writing again with nothing changed: said so, no dialog.
        ctrl(&mut a, 'w');
        assert!(a.modal.is_none());
        assert!(
            a.status.as_ref().unwrap().1.contains("already"),
            "{:?}",
            a.status
        );
    }

    #[test]
    fn the_demo_never_reloads_a_server() {
        let root = tempfile::tempdir().unwrap();
        let mut a = open(root.path());
        a.demo = true;
        update(&mut a, Action::ProxyWritten(Ok(vec!["wrote x".into()])));
        assert!(a.modal.is_none());
        assert!(a.status.as_ref().unwrap().1.contains("demo"));
    }
}

mod doctor_screen {
    use super::*;
    use crate::doctor::{CheckId, CheckResult, CHECKS};
    use crate::finding::Finding;

    fn result(id: CheckId, level: Level, what: &str) -> Box<CheckResult> {
        let c = id.check();
        Box::new(CheckResult {
            id,
            area: c.area,
            title: c.title,
            fix: Some(c.fix),
            step: Some(c.fix.step_title()),
            level,
            findings: vec![Finding::new(level, what).why("because").fix("do this")],
            elapsed_ms: 12,
            not_checked: None,
        })
    }

    /// Every check of the running doctor passes, and the run ends.
    fn all_pass(a: &mut App) {
        for c in CHECKS {
            let t = doctor_ticket(a, c.id);
            update(
                a,
                Action::DoctorResult(t, result(c.id, Level::Pass, "fine")),
            );
        }
        let run = a.doctor.run.unwrap().ticket;
        update(a, Action::DoctorDone(run));
    }

    fn open() -> (App, Vec<Effect>) {
        let mut a = app();
        while a.step != Step::Doctor {
            key(&mut a, KeyCode::Down);
        }
        let effects = key(&mut a, KeyCode::Enter);
        (a, effects)
    }

    #[test]
    fn opening_runs_every_check_and_results_fill_in() {
        let (mut a, effects) = open();
        let [Effect::RunDoctor { checks: names, .. }] = effects.as_slice() else {
            panic!("{effects:?}")
        };
        assert_eq!(names.len(), CHECKS.len());
        assert!(a.doctor.running());
        // Keys still work while the checks run; R does not start a second run.
        key(&mut a, KeyCode::Down);
        assert_eq!(a.doctor.selected, 1);
        assert!(key(&mut a, KeyCode::Char('R')).is_empty());
        for c in CHECKS {
            let level = if c.id == CheckId::Email {
                Level::Fail
            } else {
                Level::Pass
            };
            let t = doctor_ticket(&a, c.id);
            update(
                &mut a,
                Action::DoctorResult(t, result(c.id, level, &format!("{} seen", c.id.name()))),
            );
        }
        let run = a.doctor.run.unwrap().ticket;
        update(&mut a, Action::DoctorDone(run));
        assert!(!a.doctor.running() && a.doctor.all_done());
        assert_eq!(a.mark(Step::Doctor), Mark::Attention);
        assert_eq!(a.status.as_ref().unwrap().0, Level::Fail);
        // The failing check, selected, shows its cause and fix; Enter goes to its step.
        let email = CHECKS.iter().position(|c| c.id == CheckId::Email).unwrap();
        a.doctor.selected = email;
        let t = text(&screen(&a, 80, 30));
        assert!(
            t.contains("email seen")
                && t.contains("Fix: do this")
                && t.contains("Enter: fix it in Email"),
            "{t}"
        );
        // The run over, its failure leads the list (in view at 80x24), and ↑↓ follow the
        // list as shown: down from it is the catalogue's first check.
        assert_eq!(a.doctor.order[0], email);
        insta::assert_snapshot!("doctor_with_a_failure", text(&screen(&a, 80, 24)));
        key(&mut a, KeyCode::Down);
        assert_eq!(a.doctor.selected, 0);
        key(&mut a, KeyCode::Up);
        assert_eq!(a.doctor.selected, email);
        key(&mut a, KeyCode::Enter);
        assert_eq!((a.step, a.focus), (Step::Email, Focus::Content));
    }

    /// The doctor's pane of an 80x24 screen, its rows joined and spaces collapsed: what the
    /// operator can read there, whatever the wrapping.
    fn doctor_pane(a: &App) -> String {
        let t = screen(a, 80, 24);
        let buf = t.backend().buffer();
        let mut out = String::new();
        for y in 1..22 {
            for x in 22..79 {
                out.push_str(buf[(x, y)].symbol());
            }
            out.push(' ');
        }
        out.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    fn squeeze(s: &str) -> String {
        s.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// A check that failed the long way: an error chain, a long why and fix, and more
    /// findings than the pane holds.
    fn long_result(id: CheckId) -> Box<CheckResult> {
        let mut r = result(id, Level::Fail, "x");
        let e = std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "tcp connect error: Connection refused (os error 111)",
        );
        r.findings = vec![Finding::fail(
            "cannot reach https://pds.example.com/xrpc/com.atproto.server.describeServer",
        )
        .caused_by(&e)
        .detail("error sending request for url (https://pds.example.com/xrpc/com.atproto.server.describeServer): client error (Connect): tcp connect error: Connection refused (os error 111)")
        .why("The PDS is down, still starting, or listens on another port than PDS_PORT; nothing else on this list can be checked until it answers.")
        .fix(format!("the fix for {}: sudo systemctl status pds (or docker ps -a); start it, and check PDS_PORT", id.name()))];
        for n in 0..8 {
            r.findings.push(
                Finding::pass(format!(
                    "note {n}: something that was fine and says so at length"
                ))
                .why("a reason that takes a line of its own"),
            );
        }
        r
    }

    /// No dead end: every check, failing, leads by Enter to the step that fixes it.
    #[test]
    fn every_failing_check_leads_to_its_step() {
        for (i, c) in CHECKS.iter().enumerate() {
            let target = c.fix;
            let (mut a, _) = open();
            for (j, d) in CHECKS.iter().enumerate() {
                a.doctor.rows[j] = crate::tui::screens::doctor::RowState::Done(result(
                    d.id,
                    Level::Fail,
                    "broken",
                ));
            }
            a.doctor.run = None;
            a.doctor.choose(i);
            key(&mut a, KeyCode::Enter);
            assert_eq!(
                (a.step, a.focus),
                (crate::tui::app::place(target).0, Focus::Content),
                "{}",
                c.id.name()
            );
            assert_eq!(a.step.title(), target.step_title());
        }
    }

    #[test]
    fn at_80x24_every_checks_fix_stays_in_view_and_the_rest_scrolls() {
        let (mut a, _) = open();
        for (i, c) in CHECKS.iter().enumerate() {
            a.doctor.rows[i] = crate::tui::screens::doctor::RowState::Done(long_result(c.id));
        }
        a.doctor.run = None;
        for (i, c) in CHECKS.iter().enumerate() {
            a.doctor.choose(i);
            let pane = doctor_pane(&a);
            // The headline is the last cause, not the chain; the fix line is pinned.
            assert!(
                pane.contains("erver: tcp connect error: Connection refused"),
                "{pane}"
            );
            assert!(!pane.contains("error sending request"), "{pane}");
            let fix = format!(
                "Fix: the fix for {}: sudo systemctl status pds",
                c.id.name()
            );
            assert!(pane.contains(&fix), "{}: {pane}", c.id.name());
            assert!(
                pane.contains("d: details") && pane.contains("PgDn: more"),
                "{pane}"
            );
            insta::assert_snapshot!(
                format!("doctor_detail_80x24_{}", c.id.name()),
                text(&screen(&a, 80, 24))
            );
        }
        // PgDn shows the findings below; the fix stays; PgUp goes back.
        assert!(!doctor_pane(&a).contains("note 7"));
        for _ in 0..5 {
            key(&mut a, KeyCode::PageDown);
        }
        let pane = doctor_pane(&a);
        assert!(
            pane.contains("note 7") && pane.contains("PgUp: more"),
            "{pane}"
        );
        assert!(!pane.contains("PgDn: more"), "{pane}");
        assert!(pane.contains("Fix: the fix for"), "{pane}");
        key(&mut a, KeyCode::PageUp);
        key(&mut a, KeyCode::PageUp);
        key(&mut a, KeyCode::PageUp);
        key(&mut a, KeyCode::PageUp);
        key(&mut a, KeyCode::PageUp);
        assert!(doctor_pane(&a).contains("Connection refused"));
        // d: everything in full, the whole chain too; Esc closes.
        key(&mut a, KeyCode::Char('d'));
        let t = squeeze(&text(&screen(&a, 80, 24)));
        assert!(
            matches!(a.modal, Some(Modal::Details { .. })),
            "{:?}",
            a.modal
        );
        assert!(t.contains("in full"), "{t}");
        let Some(Modal::Details { body, .. }) = &a.modal else {
            unreachable!()
        };
        assert!(
            body.contains("Error: error sending request for url (https://pds.example.com/"),
            "{body}"
        );
        key(&mut a, KeyCode::Esc);
        assert!(a.modal.is_none());
    }

    #[test]
    fn on_a_bare_machine_every_real_failure_shows_its_fix_at_80x24() {
        // pds.env as the demo has it, but nothing answers: every address is a closed port
        // on loopback (HTTP, DNS, PLC, relays, SMTP).
        let dir = tempfile::tempdir().unwrap();
        let env = dir.path().join("pds.env");
        let text_env = crate::demo::DEMO_ENV
            .lines()
            .filter(|l| !l.starts_with("PDS_CRAWLERS=") && !l.starts_with("PDS_EMAIL_SMTP_URL="))
            .collect::<Vec<_>>()
            .join("\n")
            + "\nPDS_CRAWLERS=http://127.0.0.1:9\nPDS_EMAIL_SMTP_URL=smtps://u:p@127.0.0.1:9\n";
        std::fs::write(&env, &text_env).unwrap();
        let closed: std::net::SocketAddr = "127.0.0.1:9".parse().unwrap();
        let flags = crate::context::Context {
            env_file: env,
            nameserver: Some(closed),
            pds_url: Some("http://127.0.0.1:9".into()),
            plc_url: Some("http://127.0.0.1:9".into()),
            connect_to: Some(closed),
            timeout: std::time::Duration::from_secs(2),
            ..Default::default()
        };
        let inputs = std::sync::Arc::new(crate::doctor::Inputs::load(&flags, vec![]));
        let rt = tokio::runtime::Runtime::new().unwrap();
        let results = rt.block_on(crate::doctor::run_all(CHECKS.iter().collect(), inputs));
        let (mut a, _) = open();
        for (i, r) in results.iter().enumerate() {
            a.doctor.rows[i] = crate::tui::screens::doctor::RowState::Done(Box::new(r.clone()));
        }
        a.doctor.run = None;
        let mut failing = 0;
        for (i, r) in results.iter().enumerate() {
            if r.level < Level::Warn {
                continue;
            }
            failing += 1;
            a.doctor.choose(i);
            let pane = doctor_pane(&a);
            let worst = r
                .findings
                .iter()
                .find(|f| f.level == r.level && !f.fix.is_empty());
            if let Some(f) = worst {
                let fix: String = squeeze(&crate::secret::scrub(&f.fix))
                    .chars()
                    .take(40)
                    .collect();
                assert!(
                    pane.contains(&fix),
                    "{}: {fix:?} not in {pane}",
                    r.id.name()
                );
            }
            // No raw reqwest chain in view.
            assert!(!pane.contains("error sending request for url"), "{pane}");
        }
        assert!(failing >= 3, "{results:#?}");
    }

    #[test]
    fn w_writes_the_report_once_every_check_has_finished() {
        let (mut a, _) = open();
        // Still running: nothing to write yet, and it says so.
        assert!(key(&mut a, KeyCode::Char('w')).is_empty());
        assert!(a.status.as_ref().unwrap().1.contains("once every check"));
        all_pass(&mut a);
        let effects = key(&mut a, KeyCode::Char('w'));
        let [Effect::WriteReport { ticket, results }] = effects.as_slice() else {
            panic!("{effects:?}")
        };
        assert_eq!(results.len(), CHECKS.len());
        let ticket = *ticket;
        // A second w asks again; the first one's answer is then stale and dropped.
        let effects = key(&mut a, KeyCode::Char('w'));
        let [Effect::WriteReport { ticket: second, .. }] = effects.as_slice() else {
            panic!("{effects:?}")
        };
        let second = *second;
        a.status = None;
        update(
            &mut a,
            Action::ReportWritten(ticket, Ok(PathBuf::from("/pds/old.txt"))),
        );
        assert!(a.status.is_none());
        update(
            &mut a,
            Action::ReportWritten(second, Ok(PathBuf::from("/pds/doctor-report.txt"))),
        );
        let (level, said) = a.status.clone().unwrap();
        assert_eq!(level, Level::Pass);
        assert!(
            said.contains("Report written to /pds/doctor-report.txt"),
            "{said}"
        );
    }

    #[test]
    fn every_target_has_a_place_whose_title_the_cli_uses() {
        use crate::target::{ProxyField, Target};
        let mut targets = vec![
            Target::EnvFile,
            Target::Crawlers,
            Target::InviteRequired,
            Target::UploadLimit,
            Target::Email,
            Target::Handle,
            Target::DidFile,
            Target::Hostname,
        ];
        for f in [
            ProxyField::Server,
            ProxyField::Host,
            ProxyField::Upstream,
            ProxyField::Tls,
            ProxyField::Cert,
            ProxyField::Key,
            ProxyField::HandleDomains,
            ProxyField::Email,
            ProxyField::Listen,
            ProxyField::BodyLimit,
            ProxyField::Out,
        ] {
            targets.push(Target::Proxy(f));
        }
        let a = app();
        for t in targets {
            let (step, field) = crate::tui::app::place(t);
            assert_eq!(step.title(), t.step_title(), "{t:?}");
            if let Some(key) = field {
                let form = match step {
                    Step::Basics => &a.basics.form,
                    Step::Proxy => &a.proxy.form,
                    other => panic!("{t:?}: a field on {other:?}"),
                };
                assert!(form.field(key).is_some(), "{t:?}: no field {key}");
            }
        }
    }

    #[test]
    fn enter_on_a_failing_check_puts_the_cursor_on_its_field() {
        let (mut a, _) = open();
        let t = doctor_ticket(&a, CheckId::Crawlers);
        update(
            &mut a,
            Action::DoctorResult(
                t,
                result(CheckId::Crawlers, Level::Fail, "no relay answers"),
            ),
        );
        a.doctor.selected = CHECKS
            .iter()
            .position(|c| c.id == CheckId::Crawlers)
            .unwrap();
        assert!(text(&screen(&a, 80, 30)).contains("Enter: fix it in Basics"));
        key(&mut a, KeyCode::Enter);
        assert_eq!((a.step, a.focus), (Step::Basics, Focus::Content));
        assert_eq!(a.basics.form.focused_field().key, "PDS_CRAWLERS");
    }

    #[test]
    fn enter_on_a_pds_env_finding_lands_on_the_field_that_holds_the_key() {
        let (mut a, _) = open();
        let t = doctor_ticket(&a, CheckId::Env);
        let mut r = result(CheckId::Env, Level::Fail, "holds a space");
        r.findings[0] = Finding::fail("holds a space")
            .about("PDS_SERVICE_HANDLE_DOMAINS")
            .fix("Remove the spaces after the commas.");
        update(&mut a, Action::DoctorResult(t, r));
        a.doctor.selected = CHECKS.iter().position(|c| c.id == CheckId::Env).unwrap();
        // The detail names the key, as the command line does.
        let shown = text(&screen(&a, 100, 40));
        assert!(
            shown.contains("PDS_SERVICE_HANDLE_DOMAINS: holds a space"),
            "{shown}"
        );
        assert!(shown.contains("Enter: fix it in Basics"), "{shown}");
        key(&mut a, KeyCode::Enter);
        assert_eq!((a.step, a.focus), (Step::Basics, Focus::Content));
        assert_eq!(
            a.basics.form.focused_field().key,
            "PDS_SERVICE_HANDLE_DOMAINS"
        );
    }

    #[test]
    fn enter_on_a_failing_handle_opens_that_account_and_checks_it_again() {
        let (mut a, _) = open();
        let t = doctor_ticket(&a, CheckId::Handles);
        let mut r = result(CheckId::Handles, Level::Fail, "DNS: wrong DID");
        r.findings[0] = Finding::fail("DNS: wrong DID").about("carol.example.com");
        update(&mut a, Action::DoctorResult(t, r));
        a.doctor.selected = CHECKS
            .iter()
            .position(|c| c.id == CheckId::Handles)
            .unwrap();
        // The accounts are not loaded yet: they are asked for, the handle shown meanwhile.
        let effects = key(&mut a, KeyCode::Enter);
        assert_eq!(a.step, Step::Handle);
        let Some(Effect::LoadAccounts { ticket, .. }) = effects.first() else {
            panic!("{effects:?}")
        };
        assert_eq!(a.handle.form.text("handle"), "carol.example.com");
        let accounts = vec![
            crate::pds::accounts::Account {
                handle: "alice.example.com".into(),
                did: "did:plc:aliceaaaaaaaaaaaaaaaaaaa".into(),
                email: None,
                active: true,
                status: None,
            },
            crate::pds::accounts::Account {
                handle: "carol.example.com".into(),
                did: "did:plc:carolaaaaaaaaaaaaaaaaaaa".into(),
                email: None,
                active: true,
                status: None,
            },
        ];
        // Once they come: carol picked, her DID filled in, and her check run again.
        let effects = update(&mut a, Action::AccountsLoaded(*ticket, Ok(accounts)));
        assert!(
            matches!(effects.as_slice(), [Effect::VerifyHandle { handle, did, .. }]
                if handle.as_str() == "carol.example.com" && did.as_str() == "did:plc:carolaaaaaaaaaaaaaaaaaaa"),
            "{effects:?}"
        );
        assert_eq!(
            a.handle.form.text("did"),
            "did:plc:carolaaaaaaaaaaaaaaaaaaa"
        );
        assert!(a.handle.pending.is_some());
    }

    #[test]
    fn the_doctor_checks_what_will_be_saved_and_says_so() {
        let mut a = app();
        // An answer typed, not saved: the doctor's run is of pds.env as it will be saved.
        key(&mut a, KeyCode::Enter);
        a.basics.form.focus_key("PDS_HOSTNAME");
        ctrl(&mut a, 'u');
        type_text(&mut a, "next.example.com");
        assert!(a.working.is_modified());
        key(&mut a, KeyCode::Esc);
        while a.step != Step::Doctor {
            key(&mut a, KeyCode::Down);
        }
        let effects = key(&mut a, KeyCode::Enter);
        assert!(matches!(effects.as_slice(), [Effect::RunDoctor { .. }]));
        // What the effect runner records as it builds the run's inputs.
        a.doctor.unsaved = a.working.is_modified();
        let shown = text(&screen(&a, 80, 24));
        assert!(
            shown.contains("Checked with your unsaved answers"),
            "{shown}"
        );
        let inputs =
            crate::doctor::Inputs::load(&a.settings.flags, vec![]).with_doc(a.working.clone());
        assert_eq!(
            inputs.settings.hostname.as_deref(),
            Some("next.example.com")
        );
    }

    #[test]
    fn root_causes_first_and_dependent_checks_not_checked() {
        let (mut a, _) = open();
        for c in CHECKS {
            let t = doctor_ticket(&a, c.id);
            let mut r = result(c.id, Level::Pass, "fine");
            if c.id == CheckId::Health {
                r = result(
                    c.id,
                    Level::Fail,
                    "nothing answers at http://localhost:3000",
                );
            } else if c.needs.contains(&crate::doctor::Need::Pds) {
                r.level = Level::Info;
                r.findings = vec![Finding::info("not checked: the PDS is not running")];
                r.not_checked = Some(CheckId::Health);
            }
            update(&mut a, Action::DoctorResult(t, r));
        }
        let run = a.doctor.run.unwrap().ticket;
        update(&mut a, Action::DoctorDone(run));
        let shown = text(&screen(&a, 100, 40));
        assert!(
            shown.contains("1 problem: nothing answers at http://localhost:3000"),
            "{shown}"
        );
        assert!(shown.contains("1 failed, 5 not checked"), "{shown}");
        // Enter on a check that was not checked goes to the one that says why.
        a.doctor.selected = CHECKS
            .iter()
            .position(|c| c.id == CheckId::Handles)
            .unwrap();
        key(&mut a, KeyCode::Enter);
        assert_eq!(a.step, Step::Doctor);
        assert_eq!(CHECKS[a.doctor.selected].id, CheckId::Health);
    }

    #[test]
    fn quitting_with_the_doctors_results_asks_first() {
        let (mut a, _) = open();
        let t = doctor_ticket(&a, CheckId::Env);
        update(
            &mut a,
            Action::DoctorResult(t, result(CheckId::Env, Level::Fail, "x")),
        );
        key(&mut a, KeyCode::Esc);
        assert!(key(&mut a, KeyCode::Char('q')).is_empty());
        assert_eq!(a.modal, Some(Modal::ConfirmQuitResults));
        assert!(text(&screen(&a, 80, 24)).contains("The doctor's results go with the wizard"));
        key(&mut a, KeyCode::Esc);
        assert!(!a.quit && a.modal.is_none());
        key(&mut a, KeyCode::Char('q'));
        let effects = key(&mut a, KeyCode::Char('q'));
        assert!(a.quit && matches!(effects.as_slice(), [Effect::Quit]));
    }

    #[test]
    fn r_reruns_one_check_and_passing_checks_do_not_jump() {
        let (mut a, _) = open();
        all_pass(&mut a);
        assert_eq!(a.mark(Step::Doctor), Mark::Done);
        // Fresh results say nothing of their age; seen again minutes later, they say so.
        assert!(!doctor_pane(&a).contains(" ago"));
        a.doctor.started =
            std::time::Instant::now().checked_sub(std::time::Duration::from_secs(200));
        let pane = doctor_pane(&a);
        assert!(pane.contains("as of 3 min ago: R checks again"), "{pane}");
        // Enter on a passing check stays here.
        key(&mut a, KeyCode::Enter);
        assert_eq!(a.step, Step::Doctor);
        let effects = key(&mut a, KeyCode::Char('r'));
        assert!(
            matches!(effects.as_slice(), [Effect::RunDoctor { checks: n, .. }] if n == &vec![CHECKS[0].id]),
            "{effects:?}"
        );
        // That one check is running again; pressing r again waits for it.
        assert!(key(&mut a, KeyCode::Char('r')).is_empty());
        let effects = key(&mut a, KeyCode::Char('R'));
        assert!(effects.is_empty(), "a run is in progress: {effects:?}");
        let t = doctor_ticket(&a, CHECKS[0].id);
        update(
            &mut a,
            Action::DoctorResult(t, result(CHECKS[0].id, Level::Pass, "fine")),
        );
        // c asks first; only y sends the crawl request.
        assert!(key(&mut a, KeyCode::Char('c')).is_empty());
        assert_eq!(a.modal, Some(Modal::RequestCrawl));
        assert!(key(&mut a, KeyCode::Char('n')).is_empty());
        key(&mut a, KeyCode::Char('c'));
        let effects = key(&mut a, KeyCode::Char('y'));
        assert!(
            matches!(effects.as_slice(), [Effect::RequestCrawl { .. }]),
            "{effects:?}"
        );
        assert!(a.doctor.running());
    }
}

mod answers_file {
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
        update(&mut a, Action::ProxyWritten(Ok(vec!["wrote".into()])));
        assert!(a.answers_due);
        let p = a
            .current_answers()
            .proxy
            .expect("the written proxy is kept");
        assert_eq!(p.server, "nginx");
        assert_eq!(p.out.unwrap(), a.proxy.out_path());
        assert!(a.current_answers().did_file.is_none());
    }
}

mod pending_codes {
    use super::*;
    use crate::pds::data::PendingCode;

    #[test]
    fn ctrl_o_reads_the_codes_and_shows_them() {
        let mut a = app();
        down_to(&mut a, Step::Email);
        key(&mut a, KeyCode::Enter);
        let effects = ctrl(&mut a, 'o');
        // Read from PDS_DATA_DIRECTORY of pds.env (the demo file says /pds).
        assert!(
            matches!(effects.as_slice(), [Effect::LoadCodes { dir: d, .. }] if d == std::path::Path::new("/pds")),
            "{effects:?}"
        );
        let code = PendingCode {
            did: "did:plc:ewvi7nxzyoun6zhxrhs64oiz".into(),
            handle: Some("alice.example.com".into()),
            email: Some("alice@example.com".into()),
            purpose: "reset_password".into(),
            code: "ABCDE-23456".into(),
            requested_at: "2026-11-24T11:00:00.000Z".into(),
            age_seconds: Some(180),
            expired: false,
        };
        let t = pending_ticket(&a.email.codes);
        update(&mut a, Action::CodesLoaded(t, Ok(vec![code])));
        let shown = text(&screen(&a, 100, 30));
        assert!(
            shown.contains("alice.example.com: ABCDE-23456  — to reset the password, 3 min ago"),
            "{shown}"
        );
        ctrl(&mut a, 'o');
        assert!(a.modal.is_none());
        // An unreadable database says why and what to do.
        ctrl(&mut a, 'o');
        let t = pending_ticket(&a.email.codes);
        update(
            &mut a,
            Action::CodesLoaded(
                t,
                Err("cannot read /pds/account.sqlite — run as root".into()),
            ),
        );
        assert!(text(&screen(&a, 100, 30)).contains("run as root"));
    }
}

mod setup_screens {
    use super::*;
    use crate::pds::service::{Docker, Running};
    use crate::setup::{Milestone, MilestoneId, Overview, State};
    use crate::target::Target;
    use crate::tui::screens::setup::{Done, Job};

    fn setup_ticket(effects: &[Effect]) -> (crate::tui::jobs::Ticket, Job) {
        match effects {
            [Effect::Setup(t, j)] => (*t, j.clone()),
            other => panic!("{other:?}"),
        }
    }

    fn overview(done_until: usize) -> Overview {
        Overview {
            hostname: Some("pds.example.com".into()),
            handle: Some("alice.pds.example.com".into()),
            milestones: MilestoneId::ALL
                .iter()
                .enumerate()
                .map(|(i, &id)| Milestone {
                    id,
                    title: id.title().into(),
                    state: if i < done_until {
                        State::Done
                    } else {
                        State::Todo
                    },
                    said: format!("said about {id:?}"),
                    fix: (i >= done_until).then(|| format!("fix for {id:?}")),
                    target: Some(id.target()),
                    subject: None,
                })
                .collect(),
        }
    }

    /// No dead end: Enter on each milestone not reached opens the step that gets it done.
    #[test]
    fn every_milestone_leads_to_its_step() {
        for (i, id) in MilestoneId::ALL.iter().enumerate() {
            let mut a = app();
            down_to(&mut a, Step::Overview);
            let (ticket, _) = setup_ticket(&key(&mut a, KeyCode::Enter));
            update(
                &mut a,
                Action::Setup(ticket, Box::new(Done::Overview(Box::new(overview(i))))),
            );
            assert_eq!(a.overview.chosen, i);
            key(&mut a, KeyCode::Enter);
            assert_eq!(
                (a.step, a.focus),
                (crate::tui::app::place(id.target()).0, Focus::Content),
                "{id:?}"
            );
        }
        assert_eq!(MilestoneId::PdsRunning.target(), Target::Service);
        assert_eq!(MilestoneId::HandleVerified.target(), Target::Handle);
    }

    /// Opening the Overview checks every milestone; the first one not reached is chosen,
    /// Enter opens the step that gets it done and says why; a stale answer is dropped.
    #[test]
    fn the_overview_leads_to_the_next_milestone() {
        let mut a = app();
        down_to(&mut a, Step::Overview);
        let (ticket, job) = setup_ticket(&key(&mut a, KeyCode::Enter));
        assert!(matches!(job, Job::Overview));
        insta::assert_snapshot!("overview_checking", text(&screen(&a, 80, 24)));
        // r while it runs starts nothing more.
        assert!(key(&mut a, KeyCode::Char('r')).is_empty());
        update(
            &mut a,
            Action::Setup(ticket, Box::new(Done::Overview(Box::new(overview(5))))),
        );
        assert_eq!(a.overview.chosen, 5);
        assert_eq!(a.mark(Step::Overview), Mark::Attention);
        insta::assert_snapshot!("overview_80x24", text(&screen(&a, 80, 24)));
        key(&mut a, KeyCode::Enter);
        assert_eq!((a.step, a.focus), (Step::Accounts, Focus::Content));
        let (level, said) = a.status.clone().unwrap();
        assert_eq!(level, Level::Warn);
        assert!(said.contains("fix for FirstAccount"), "{said}");

        // Opened again, it checks again: an answer to the first request no longer counts.
        key(&mut a, KeyCode::Esc);
        while a.step != Step::Overview {
            key(&mut a, KeyCode::Up);
        }
        let (fresh, _) = setup_ticket(&key(&mut a, KeyCode::Enter));
        update(
            &mut a,
            Action::Setup(ticket, Box::new(Done::Overview(Box::new(overview(0))))),
        );
        assert_eq!(a.overview.chosen, 5, "a stale answer was taken");
        update(
            &mut a,
            Action::Setup(fresh, Box::new(Done::Overview(Box::new(overview(8))))),
        );
        assert_eq!(a.mark(Step::Overview), Mark::Done);
        let shown = text(&screen(&a, 80, 24));
        assert!(shown.contains("All done"), "{shown}");
    }

    #[test]
    fn the_server_step_writes_after_a_diff_and_starts_on_y() {
        let mut a = app();
        down_to(&mut a, Step::Server);
        let (ticket, job) = setup_ticket(&key(&mut a, KeyCode::Enter));
        assert!(matches!(job, Job::Server));
        let plan = crate::addresses::Plan {
            hostname: "pds.example.com".into(),
            machine: vec![crate::addresses::MachineAddress {
                ip: "93.184.216.34".parse().unwrap(),
                interface: "eth0".into(),
                scope: crate::addresses::Scope::Public,
            }],
            echoed: None,
            echo_error: None,
            records: crate::addresses::records(
                "pds.example.com",
                &["93.184.216.34".parse().unwrap()],
            ),
            checks: vec![],
        };
        update(
            &mut a,
            Action::Setup(
                ticket,
                Box::new(Done::Server {
                    plan: Some(Box::new(plan)),
                    running: Running::Nothing,
                    docker: Docker::Missing,
                }),
            ),
        );
        let shown = text(&screen(&a, 80, 24));
        assert!(
            shown.contains("*.pds.example.com A 93.184.216.34"),
            "{shown}"
        );
        assert!(shown.contains("Nothing runs the PDS here yet"), "{shown}");
        assert!(shown.contains("Docker is not installed"), "{shown}");
        insta::assert_snapshot!("server_80x24", shown);
        // ^W: the diff first, in a pop-up; y writes (as a job), n writes nothing.
        assert!(ctrl(&mut a, 'w').is_empty());
        let Some(Modal::Confirm { body, .. }) = &a.modal else {
            panic!("{:?}", a.modal)
        };
        assert!(body.contains("/pds/compose.yaml (new"), "{body}");
        key(&mut a, KeyCode::Char('n'));
        assert!(a.modal.is_none());
        ctrl(&mut a, 'w');
        let (_, job) = setup_ticket(&key(&mut a, KeyCode::Char('y')));
        let Job::WriteService(files) = job else {
            panic!("{job:?}")
        };
        assert!(files
            .iter()
            .any(|f| f.path.ends_with("caddy/etc/caddy/Caddyfile")));
        // Own proxy on a public address: warned where it is typed.
        key(&mut a, KeyCode::Right);
        key(&mut a, KeyCode::Tab);
        ctrl(&mut a, 'u');
        type_text(&mut a, "0.0.0.0");
        assert_eq!(a.server.form.focused_field().worst(), Level::Warn);
        // ^G without Docker and without a start command of its own: how to install it.
        ctrl(&mut a, 'g');
        let Some(Modal::Details { body, .. }) = &a.modal else {
            panic!("{:?}", a.modal)
        };
        assert!(body.contains("docker-compose-plugin"), "{body}");
        key(&mut a, KeyCode::Enter);
        a.server.docker = Some(Docker::Ready);
        // ^G: what will run is said first; y starts, and progress shows while it waits.
        ctrl(&mut a, 'g');
        assert!(matches!(a.modal, Some(Modal::Confirm { .. })));
        let (start, job) = setup_ticket(&key(&mut a, KeyCode::Char('y')));
        assert!(matches!(job, Job::StartService(_)));
        assert!(a.busy());
        update(
            &mut a,
            Action::Setup(
                start,
                Box::new(Done::Progress(
                    "waiting for the PDS: 3 s (Connection refused)".into(),
                )),
            ),
        );
        assert!(text(&screen(&a, 80, 24)).contains("waiting for the PDS: 3 s"));
        let effects = update(
            &mut a,
            Action::Setup(start, Box::new(Done::Started(Ok("The PDS answers".into())))),
        );
        assert!(
            matches!(effects.as_slice(), [Effect::Setup(_, Job::Server)]),
            "{effects:?}"
        );
        assert!(a.server.starting.is_none());

        // Started, but the PDS does not answer: looked at again, and an active unit is not
        // shown as a ✓ beside "did not answer".
        ctrl(&mut a, 'g');
        let (start, _) = setup_ticket(&key(&mut a, KeyCode::Char('y')));
        let effects = update(
            &mut a,
            Action::Setup(
                start,
                Box::new(Done::Started(Err(
                    "The PDS did not answer within 180 s: Connection refused".into(),
                ))),
            ),
        );
        let (check, _) = setup_ticket(&effects);
        update(
            &mut a,
            Action::Setup(
                check,
                Box::new(Done::Server {
                    plan: None,
                    running: Running::Unit {
                        state: "active".into(),
                    },
                    docker: Docker::Ready,
                }),
            ),
        );
        let shown = text(&screen(&a, 100, 30));
        assert!(
            shown.contains("! The pds systemd unit is active. But the PDS does not"),
            "{shown}"
        );
        assert!(!shown.contains("✓ The pds systemd unit"), "{shown}");
    }

    /// Created: the password in a pop-up only (never the status line); the list reloads.
    #[test]
    fn an_account_is_created_and_its_password_shown_once() {
        let mut a = app();
        down_to(&mut a, Step::Accounts);
        let (load, _) = setup_ticket(&key(&mut a, KeyCode::Enter));
        update(
            &mut a,
            Action::Setup(load, Box::new(Done::Accounts(Ok(vec![])))),
        );
        assert!(text(&screen(&a, 80, 24)).contains("No accounts yet"));
        // ^N with a bad email: refused, the email field focused.
        a.accounts
            .form
            .focus_key(crate::tui::screens::setup::CREATE_HANDLE);
        type_text(&mut a, "alice.pds.example.com");
        key(&mut a, KeyCode::Tab);
        type_text(&mut a, "alice-at-example.com");
        assert!(ctrl(&mut a, 'n').is_empty());
        assert_eq!(
            a.accounts.form.focused_field().key,
            crate::tui::screens::setup::CREATE_EMAIL
        );
        ctrl(&mut a, 'u');
        type_text(&mut a, "alice@example.com");
        let (t, job) = setup_ticket(&ctrl(&mut a, 'n'));
        assert!(
            matches!(&job, Job::Create { handle, email } if handle == "alice.pds.example.com" && email == "alice@example.com")
        );
        let password = crate::secret::Secret::new("Kx7mQ2pW9vR4tY8nB3cF6hJd");
        let created = crate::pds::admin::Created {
            did: "did:plc:ewvi7nxzyoun6zhxrhs64oiz".into(),
            handle: "alice.pds.example.com".into(),
            email: "alice@example.com".into(),
            invite: Some("pds-example-com-abcde".into()),
            password: password.clone(),
        };
        let effects = update(
            &mut a,
            Action::Setup(
                t,
                Box::new(Done::Created(Ok(Box::new(
                    crate::setup::accounts::NewAccount::Created(created),
                )))),
            ),
        );
        assert!(
            matches!(effects.as_slice(), [Effect::Setup(_, Job::LoadAccounts)]),
            "{effects:?}"
        );
        let Some(Modal::Details { body, .. }) = &a.modal else {
            panic!("{:?}", a.modal)
        };
        assert!(body.contains(password.expose()), "{body}");
        assert!(!format!("{:?}", a.status).contains(password.expose()));
        assert!(text(&screen(&a, 80, 24)).contains(password.expose()));
        key(&mut a, KeyCode::Enter);
        let shown = text(&screen(&a, 80, 24));
        assert!(!shown.contains(password.expose()), "{shown}");
        assert!(shown.contains("was made and used"), "{shown}");
    }

    /// The PDS did not answer the create in time: the password made here is shown all the
    /// same (in the pop-up only), with why and how to check; a reset likewise.
    #[test]
    fn a_password_is_shown_when_the_pds_does_not_answer_in_time() {
        let mut a = app();
        down_to(&mut a, Step::Accounts);
        let (load, _) = setup_ticket(&key(&mut a, KeyCode::Enter));
        update(
            &mut a,
            Action::Setup(load, Box::new(Done::Accounts(Ok(vec![])))),
        );
        a.accounts
            .form
            .focus_key(crate::tui::screens::setup::CREATE_HANDLE);
        type_text(&mut a, "alice.pds.example.com");
        key(&mut a, KeyCode::Tab);
        type_text(&mut a, "alice@example.com");
        let (t, _) = setup_ticket(&ctrl(&mut a, 'n'));
        let password = crate::secret::Secret::new("Kx7mQ2pW9vR4tY8nB3cF6hJd");
        let why = crate::pds::admin::unknown_outcome(
            "the account",
            "pds-wizard accounts list",
            &crate::finding::Finding::fail("createAccount: the PDS did not answer within 10 s"),
        );
        let made = crate::setup::accounts::NewAccount::Unknown {
            created: crate::pds::admin::Created {
                did: String::new(),
                handle: "alice.pds.example.com".into(),
                email: "alice@example.com".into(),
                invite: None,
                password: password.clone(),
            },
            why,
        };
        update(
            &mut a,
            Action::Setup(t, Box::new(Done::Created(Ok(Box::new(made))))),
        );
        let Some(Modal::Details { body, .. }) = &a.modal else {
            panic!("{:?}", a.modal)
        };
        assert!(body.contains(password.expose()), "{body}");
        assert!(body.contains("may have taken the account"), "{body}");
        assert!(body.contains("accounts list"), "{body}");
        assert!(!format!("{:?}", a.status).contains(password.expose()));
        key(&mut a, KeyCode::Enter);
        let shown = text(&screen(&a, 80, 24));
        assert!(!shown.contains(password.expose()), "{shown}");
        assert!(shown.contains("may have taken the account"), "{shown}");
    }

    /// A custom domain: ^W is refused until ^T verified it; then it asks, and y moves.
    #[test]
    fn a_custom_handle_is_switched_only_once_it_verifies() {
        let mut a = app();
        down_to(&mut a, Step::Accounts);
        let (load, _) = setup_ticket(&key(&mut a, KeyCode::Enter));
        let did = "did:plc:ewvi7nxzyoun6zhxrhs64oiz";
        let acct = crate::pds::accounts::Account {
            handle: "alice.pds.example.com".into(),
            did: did.into(),
            email: None,
            active: true,
            status: None,
        };
        update(
            &mut a,
            Action::Setup(load, Box::new(Done::Accounts(Ok(vec![acct])))),
        );
        key(&mut a, KeyCode::Tab);
        type_text(&mut a, "alice.example.org");
        assert!(ctrl(&mut a, 'w').is_empty());
        assert!(a
            .status
            .as_ref()
            .unwrap()
            .1
            .contains("Check alice.example.org first"));
        let (t, job) = setup_ticket(&ctrl(&mut a, 't'));
        assert!(matches!(job, Job::CheckHandle { .. }));
        // Not yet: the record to create is shown.
        let org = crate::identity::Handle::parse("alice.example.org").unwrap();
        let mut report = super::identity_screens::report(false);
        report.handle = org.clone();
        report.record = crate::identity::dns::TxtRecord::new(&org, &report.did, "example.org");
        update(
            &mut a,
            Action::Setup(t, Box::new(Done::Checked(Box::new(report)))),
        );
        let shown = text(&screen(&a, 80, 24));
        assert!(shown.contains("_atproto.alice.example.org TXT"), "{shown}");
        let (t, _) = setup_ticket(&ctrl(&mut a, 't'));
        let mut report = super::identity_screens::report(true);
        report.handle = org;
        update(
            &mut a,
            Action::Setup(t, Box::new(Done::Checked(Box::new(report)))),
        );
        assert!(text(&screen(&a, 80, 24)).contains("^W switches to it"));
        ctrl(&mut a, 'w');
        assert!(matches!(a.modal, Some(Modal::Confirm { .. })));
        let (_, job) = setup_ticket(&key(&mut a, KeyCode::Char('y')));
        assert!(
            matches!(job, Job::MoveHandle { ref handle, .. } if handle.as_str() == "alice.example.org")
        );
    }
}

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

use super::*;
use crate::doctor::{CheckId, CheckResult, CHECKS};
use crate::finding::Finding;
use crate::tui::steps::doctor::{Done as DoDone, Job as DoJob};
use crate::tui::steps::handle::{Done as HDone, Job as HJob};

pub(super) fn result(id: CheckId, level: Level, what: &str) -> Box<CheckResult> {
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
            Action::Doctor(t, DoDone::Checked(result(c.id, Level::Pass, "fine"))),
        );
    }
    let run = a.doctor.run.unwrap().ticket;
    update(a, Action::Doctor(run, DoDone::Ran));
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
    let [Effect::Doctor(_, DoJob::Run { checks: names, .. })] = effects.as_slice() else {
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
            Action::Doctor(
                t,
                DoDone::Checked(result(c.id, level, &format!("{} seen", c.id.name()))),
            ),
        );
    }
    let run = a.doctor.run.unwrap().ticket;
    update(&mut a, Action::Doctor(run, DoDone::Ran));
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
            a.doctor.rows[j] =
                crate::tui::steps::doctor::RowState::Done(result(d.id, Level::Fail, "broken"));
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
        a.doctor.rows[i] = crate::tui::steps::doctor::RowState::Done(long_result(c.id));
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
        a.doctor.rows[i] = crate::tui::steps::doctor::RowState::Done(Box::new(r.clone()));
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
    let [Effect::Doctor(ticket, DoJob::Report { results, .. })] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(results.len(), CHECKS.len());
    let ticket = *ticket;
    // A second w asks again; the first one's answer is then stale and dropped.
    let effects = key(&mut a, KeyCode::Char('w'));
    let [Effect::Doctor(second, DoJob::Report { .. })] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    let second = *second;
    a.status = None;
    update(
        &mut a,
        Action::Doctor(ticket, DoDone::Reported(Ok(PathBuf::from("/pds/old.txt")))),
    );
    assert!(a.status.is_none());
    update(
        &mut a,
        Action::Doctor(
            second,
            DoDone::Reported(Ok(PathBuf::from("/pds/doctor-report.txt"))),
        ),
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
        Action::Doctor(
            t,
            DoDone::Checked(result(CheckId::Crawlers, Level::Fail, "no relay answers")),
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
    update(&mut a, Action::Doctor(t, DoDone::Checked(r)));
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
    update(&mut a, Action::Doctor(t, DoDone::Checked(r)));
    a.doctor.selected = CHECKS
        .iter()
        .position(|c| c.id == CheckId::Handles)
        .unwrap();
    // The accounts are not loaded yet: they are asked for, the handle shown meanwhile.
    let effects = key(&mut a, KeyCode::Enter);
    assert_eq!(a.step, Step::Handle);
    let Some(Effect::Handle(ticket, HJob::Accounts)) = effects.first() else {
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
    let effects = update(
        &mut a,
        Action::Handle(*ticket, HDone::Accounts(Ok(accounts))),
    );
    assert!(
        matches!(effects.as_slice(), [Effect::Handle(_, HJob::Verify { handle, did, .. })]
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
    assert!(matches!(
        effects.as_slice(),
        [Effect::Doctor(_, DoJob::Run { .. })]
    ));
    // What the effect runner records as it builds the run's inputs.
    a.doctor.unsaved = a.working.is_modified();
    let shown = text(&screen(&a, 80, 24));
    assert!(
        shown.contains("Checked with your unsaved answers"),
        "{shown}"
    );
    let inputs = crate::doctor::Inputs::load(&a.settings.flags, vec![]).with_doc(a.working.clone());
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
        update(&mut a, Action::Doctor(t, DoDone::Checked(r)));
    }
    let run = a.doctor.run.unwrap().ticket;
    update(&mut a, Action::Doctor(run, DoDone::Ran));
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
        Action::Doctor(t, DoDone::Checked(result(CheckId::Env, Level::Fail, "x"))),
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
    a.doctor.started = std::time::Instant::now().checked_sub(std::time::Duration::from_secs(200));
    let pane = doctor_pane(&a);
    assert!(pane.contains("as of 3 min ago: R checks again"), "{pane}");
    // Enter on a passing check stays here.
    key(&mut a, KeyCode::Enter);
    assert_eq!(a.step, Step::Doctor);
    let effects = key(&mut a, KeyCode::Char('r'));
    assert!(
        matches!(effects.as_slice(), [Effect::Doctor(_, DoJob::Run { checks: n, .. })] if n == &vec![CHECKS[0].id]),
        "{effects:?}"
    );
    // That one check is running again; pressing r again waits for it.
    assert!(key(&mut a, KeyCode::Char('r')).is_empty());
    let effects = key(&mut a, KeyCode::Char('R'));
    assert!(effects.is_empty(), "a run is in progress: {effects:?}");
    let t = doctor_ticket(&a, CHECKS[0].id);
    update(
        &mut a,
        Action::Doctor(
            t,
            DoDone::Checked(result(CHECKS[0].id, Level::Pass, "fine")),
        ),
    );
    // c asks first; only y sends the crawl request.
    assert!(key(&mut a, KeyCode::Char('c')).is_empty());
    assert!(matches!(
        a.modal,
        Some(Modal::Ask {
            step: Step::Doctor,
            ..
        })
    ));
    assert!(key(&mut a, KeyCode::Char('n')).is_empty());
    key(&mut a, KeyCode::Char('c'));
    let effects = key(&mut a, KeyCode::Char('y'));
    assert!(
        matches!(effects.as_slice(), [Effect::Doctor(_, DoJob::Crawl)]),
        "{effects:?}"
    );
    assert!(a.doctor.running());
}

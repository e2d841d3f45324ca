use super::*;
use crate::pds::service::{Docker, Running};
use crate::setup::{Milestone, MilestoneId, Overview, State};
use crate::target::Target;
use crate::tui::jobs::Ticket;
use crate::tui::steps::accounts::{Done as AcDone, Job as AcJob};
use crate::tui::steps::overview::{Done as OvDone, Job as OvJob};
use crate::tui::steps::server::{Done as SvDone, Job as SvJob};

/// The one job these effects start, of the step `pick` takes it from.
fn one<J: Clone>(effects: &[Effect], pick: fn(&Effect) -> Option<(Ticket, &J)>) -> (Ticket, J) {
    match effects {
        [e] => match pick(e) {
            Some((t, j)) => (t, j.clone()),
            None => panic!("{e:?}"),
        },
        other => panic!("{other:?}"),
    }
}

fn ov(e: &Effect) -> Option<(Ticket, &OvJob)> {
    match e {
        Effect::Overview(t, j) => Some((*t, j)),
        _ => None,
    }
}

fn sv(e: &Effect) -> Option<(Ticket, &SvJob)> {
    match e {
        Effect::Server(t, j) => Some((*t, j)),
        _ => None,
    }
}

fn ac(e: &Effect) -> Option<(Ticket, &AcJob)> {
    match e {
        Effect::Accounts(t, j) => Some((*t, j)),
        _ => None,
    }
}

pub(super) fn overview(done_until: usize) -> Overview {
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
        let (ticket, _) = one(&key(&mut a, KeyCode::Enter), ov);
        update(
            &mut a,
            Action::Overview(ticket, OvDone::Checked(Box::new(overview(i)))),
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
    let (ticket, job) = one(&key(&mut a, KeyCode::Enter), ov);
    assert!(matches!(job, OvJob::Check));
    insta::assert_snapshot!("overview_checking", text(&screen(&a, 80, 24)));
    // r while it runs starts nothing more.
    assert!(key(&mut a, KeyCode::Char('r')).is_empty());
    update(
        &mut a,
        Action::Overview(ticket, OvDone::Checked(Box::new(overview(5)))),
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
    let (fresh, _) = one(&key(&mut a, KeyCode::Enter), ov);
    update(
        &mut a,
        Action::Overview(ticket, OvDone::Checked(Box::new(overview(0)))),
    );
    assert_eq!(a.overview.chosen, 5, "a stale answer was taken");
    update(
        &mut a,
        Action::Overview(fresh, OvDone::Checked(Box::new(overview(8)))),
    );
    assert_eq!(a.mark(Step::Overview), Mark::Done);
    let shown = text(&screen(&a, 80, 24));
    assert!(shown.contains("All done"), "{shown}");
}

#[test]
fn the_server_step_writes_after_a_diff_and_starts_on_y() {
    let mut a = app();
    down_to(&mut a, Step::Server);
    let (ticket, job) = one(&key(&mut a, KeyCode::Enter), sv);
    assert!(matches!(job, SvJob::Look));
    let plan = crate::addresses::Plan {
        hostname: "pds.example.com".into(),
        machine: vec![crate::addresses::MachineAddress {
            ip: "93.184.216.34".parse().unwrap(),
            interface: "eth0".into(),
            scope: crate::addresses::Scope::Public,
        }],
        echoed: None,
        echo_error: None,
        records: crate::addresses::records("pds.example.com", &["93.184.216.34".parse().unwrap()]),
        checks: vec![],
    };
    update(
        &mut a,
        Action::Server(
            ticket,
            SvDone::Looked {
                plan: Some(Box::new(plan)),
                running: Running::Nothing,
                docker: Docker::Missing,
            },
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
    let Some(Modal::Ask {
        step: Step::Server,
        body,
        ..
    }) = &a.modal
    else {
        panic!("{:?}", a.modal)
    };
    assert!(body.contains("/pds/compose.yaml (new"), "{body}");
    key(&mut a, KeyCode::Char('n'));
    assert!(a.modal.is_none());
    ctrl(&mut a, 'w');
    let (_, job) = one(&key(&mut a, KeyCode::Char('y')), sv);
    let SvJob::Write(files) = job else {
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
    assert!(matches!(a.modal, Some(Modal::Ask { wide: true, .. })));
    let (start, job) = one(&key(&mut a, KeyCode::Char('y')), sv);
    assert!(matches!(job, SvJob::Start(_)));
    assert!(a.busy());
    update(
        &mut a,
        Action::Server(
            start,
            SvDone::Progress("waiting for the PDS: 3 s (Connection refused)".into()),
        ),
    );
    assert!(text(&screen(&a, 80, 24)).contains("waiting for the PDS: 3 s"));
    let effects = update(
        &mut a,
        Action::Server(start, SvDone::Started(Ok("The PDS answers".into()))),
    );
    assert!(
        matches!(effects.as_slice(), [Effect::Server(_, SvJob::Look)]),
        "{effects:?}"
    );
    assert!(a.server.starting.is_none());

    // Started, but the PDS does not answer: looked at again, and an active unit is not
    // shown as a ✓ beside "did not answer".
    ctrl(&mut a, 'g');
    let (start, _) = one(&key(&mut a, KeyCode::Char('y')), sv);
    let effects = update(
        &mut a,
        Action::Server(
            start,
            SvDone::Started(Err(
                "The PDS did not answer within 180 s: Connection refused".into(),
            )),
        ),
    );
    let (check, _) = one(&effects, sv);
    update(
        &mut a,
        Action::Server(
            check,
            SvDone::Looked {
                plan: None,
                running: Running::Unit {
                    state: "active".into(),
                },
                docker: Docker::Ready,
            },
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
    let (load, _) = one(&key(&mut a, KeyCode::Enter), ac);
    update(&mut a, Action::Accounts(load, AcDone::Listed(Ok(vec![]))));
    assert!(text(&screen(&a, 80, 24)).contains("No accounts yet"));
    // ^N with a bad email: refused, the email field focused.
    a.accounts
        .form
        .focus_key(crate::tui::steps::accounts::CREATE_HANDLE);
    type_text(&mut a, "alice.pds.example.com");
    key(&mut a, KeyCode::Tab);
    type_text(&mut a, "alice-at-example.com");
    assert!(ctrl(&mut a, 'n').is_empty());
    assert_eq!(
        a.accounts.form.focused_field().key,
        crate::tui::steps::accounts::CREATE_EMAIL
    );
    ctrl(&mut a, 'u');
    type_text(&mut a, "alice@example.com");
    let (t, job) = one(&ctrl(&mut a, 'n'), ac);
    assert!(
        matches!(&job, AcJob::Create { handle, email } if handle == "alice.pds.example.com" && email == "alice@example.com")
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
        Action::Accounts(
            t,
            AcDone::Created(Ok(Box::new(crate::setup::accounts::NewAccount::Created(
                created,
            )))),
        ),
    );
    assert!(
        matches!(effects.as_slice(), [Effect::Accounts(_, AcJob::List)]),
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
    let (load, _) = one(&key(&mut a, KeyCode::Enter), ac);
    update(&mut a, Action::Accounts(load, AcDone::Listed(Ok(vec![]))));
    a.accounts
        .form
        .focus_key(crate::tui::steps::accounts::CREATE_HANDLE);
    type_text(&mut a, "alice.pds.example.com");
    key(&mut a, KeyCode::Tab);
    type_text(&mut a, "alice@example.com");
    let (t, _) = one(&ctrl(&mut a, 'n'), ac);
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
        Action::Accounts(t, AcDone::Created(Ok(Box::new(made)))),
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
    let (load, _) = one(&key(&mut a, KeyCode::Enter), ac);
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
        Action::Accounts(load, AcDone::Listed(Ok(vec![acct]))),
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
    let (t, job) = one(&ctrl(&mut a, 't'), ac);
    assert!(matches!(job, AcJob::Check { .. }));
    // Not yet: the record to create is shown.
    let org = crate::identity::Handle::parse("alice.example.org").unwrap();
    let mut report = super::identity_screens::report(false);
    report.handle = org.clone();
    report.record = crate::identity::dns::TxtRecord::new(&org, &report.did, "example.org");
    update(
        &mut a,
        Action::Accounts(t, AcDone::Checked(Box::new(report))),
    );
    let shown = text(&screen(&a, 80, 24));
    assert!(shown.contains("_atproto.alice.example.org TXT"), "{shown}");
    let (t, _) = one(&ctrl(&mut a, 't'), ac);
    let mut report = super::identity_screens::report(true);
    report.handle = org;
    update(
        &mut a,
        Action::Accounts(t, AcDone::Checked(Box::new(report))),
    );
    assert!(text(&screen(&a, 80, 24)).contains("^W switches to it"));
    ctrl(&mut a, 'w');
    assert!(matches!(a.modal, Some(Modal::Ask { wide: true, .. })));
    let (_, job) = one(&key(&mut a, KeyCode::Char('y')), ac);
    assert!(
        matches!(job, AcJob::Move { ref handle, .. } if handle.as_str() == "alice.example.org")
    );
}

use super::*;
use crate::finding::Finding;
use crate::identity::didfile::DidFileCheck;
use crate::identity::dns::{DnsCheck, ServerResult, TxtRecord};
use crate::identity::{Did, Handle, HandleReport};
use crate::pds::accounts::Account;
use crate::tui::steps::didfile::{Done as DDone, Job as DJob};
use crate::tui::steps::email::Done as EDone;
use crate::tui::steps::handle::Accounts;
use crate::tui::steps::handle::{Done as HDone, Job as HJob};

pub(super) const DID: &str = "did:plc:ewvi7nxzyoun6zhxrhs64oiz";

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
        let [Effect::Handle(ticket, HJob::Verify { .. })] = effects.as_slice() else {
            panic!("{effects:?}")
        };
        *ticket
    };
    let t = check(&mut a);
    update(
        &mut a,
        Action::Handle(t, HDone::Verified(Box::new(report(false)))),
    );
    assert_eq!(a.modal, None);
    // Fixed: the next check passes, and the offer comes.
    let t = check(&mut a);
    update(
        &mut a,
        Action::Handle(t, HDone::Verified(Box::new(report(true)))),
    );
    assert!(
        matches!(&a.modal, Some(Modal::Ask { step: Step::Handle, title, .. }) if title == " Announce the handle? "),
        "{:?}",
        a.modal
    );
    assert!(text(&screen(&a, 100, 30)).contains("y: announce it   n: not now"));
    let effects = key(&mut a, KeyCode::Char('y'));
    let [Effect::Handle(ticket, HJob::Announce(handle))] = effects.as_slice() else {
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
    update(
        &mut a,
        Action::Handle(*ticket, HDone::Announced(Box::new(r))),
    );
    assert!(text(&screen(&a, 100, 30)).contains("the PDS announced alice.example.com again"));
    // A pass that was never a failure is not offered again.
    let t = check(&mut a);
    update(
        &mut a,
        Action::Handle(t, HDone::Verified(Box::new(report(true)))),
    );
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
    update(
        &mut a,
        Action::Handle(accounts, HDone::Accounts(Ok(vec![]))),
    );
    key(&mut a, KeyCode::Tab);
    type_text(&mut a, "alice.example.com");
    key(&mut a, KeyCode::Tab);
    type_text(&mut a, DID);
    let effects = ctrl(&mut a, 't');
    let [Effect::Handle(ticket, HJob::Verify { .. })] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    let old = *ticket;
    // The DID changes while the check runs: the check is for the old target.
    key(&mut a, KeyCode::Backspace);
    assert!(a.handle.pending.is_none());
    update(
        &mut a,
        Action::Handle(old, HDone::Verified(Box::new(report(true)))),
    );
    assert!(
        a.handle.report.is_none(),
        "a verdict for the old DID was kept"
    );
    assert_ne!(a.mark(Step::Handle), Mark::Done);
    // A late second answer to the accounts request changes nothing.
    update(
        &mut a,
        Action::Handle(
            accounts,
            HDone::Accounts(Err(Finding::fail(
                "cannot reach the PDS at http://localhost:3000",
            ))),
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
        Action::Handle(first, HDone::Verified(Box::new(report(true)))),
    );
    assert!(a.answered.handles.is_empty(), "{:?}", a.answered.handles);
    assert!(!a.answers_due);
    assert!(a.handle.report.is_none());
    // A test mail's result for a request that is not the pending one.
    update(
        &mut a,
        Action::Email(
            first,
            EDone::Tested(Box::new(crate::email::send::SendReport {
                finding: Finding::pass("sent"),
                notes: vec![],
                stage: crate::email::send::Stage::Done,
                transcript: vec![],
                elapsed_ms: 1,
            })),
        ),
    );
    assert!(!a.answered.recipient && !a.answers_due);
}

#[test]
fn handle_screen_loads_accounts_checks_and_rechecks() {
    let (mut a, effects) = open(Step::Handle);
    assert_eq!((a.step, a.focus), (Step::Handle, Focus::Content));
    assert!(
        matches!(effects.as_slice(), [Effect::Handle(_, HJob::Accounts)]),
        "{effects:?}"
    );
    let Accounts::Loading(t) = a.handle.accounts else {
        panic!("accounts are not loading")
    };
    update(
        &mut a,
        Action::Handle(
            t,
            HDone::Accounts(Ok(vec![Account {
                handle: "alice.example.com".into(),
                did: DID.into(),
                email: None,
                active: true,
                status: None,
            }])),
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
        matches!(effects.as_slice(), [Effect::Handle(_, HJob::Verify { .. })]),
        "{effects:?}"
    );
    assert!(
        ctrl(&mut a, 't').is_empty(),
        "no second check while one runs"
    );
    key(&mut a, KeyCode::Left); // keys still work while pending
    key(&mut a, KeyCode::Right);
    let t = pending_ticket(&a.handle.pending);
    let effects = update(
        &mut a,
        Action::Handle(t, HDone::Verified(Box::new(report(false)))),
    );
    assert!(
        matches!(effects.as_slice(), [Effect::Handle(_, HJob::Wait(d))] if d.as_secs() == 30),
        "{effects:?}"
    );
    assert_eq!(a.mark(Step::Handle), Mark::Attention);
    insta::assert_snapshot!(screen(&a, 80, 24).backend());
    // The timer fires: checked again; this time it passes.
    let due = a.handle.recheck.expect("a re-check is scheduled");
    assert!(matches!(
        update(&mut a, Action::Handle(due, HDone::Due)).as_slice(),
        [Effect::Handle(_, HJob::Verify { .. })]
    ));
    let t = pending_ticket(&a.handle.pending);
    update(
        &mut a,
        Action::Handle(t, HDone::Verified(Box::new(report(true)))),
    );
    assert_eq!(a.mark(Step::Handle), Mark::Done);
    // Fixed after failing: announcing it is offered (not now).
    assert!(matches!(
        a.modal,
        Some(Modal::Ask {
            step: Step::Handle,
            ..
        })
    ));
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
    let due = a.handle.recheck.expect("the pass scheduled the next check");
    assert!(update(&mut a, Action::Handle(due, HDone::Due)).is_empty());
}

#[test]
fn a_pds_that_cannot_be_reached_is_shown_and_typing_still_works() {
    let (mut a, _) = open(Step::Handle);
    let Accounts::Loading(t) = a.handle.accounts else {
        panic!("accounts are not loading")
    };
    update(
        &mut a,
        Action::Handle(
            t,
            HDone::Accounts(Err(Finding::fail(
                "cannot reach the PDS at http://localhost:3000: connection refused",
            ))),
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
    let [Effect::DidFile(t, DJob::Write { webroot, did })] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!((webroot.as_path(), did.as_str()), (root.path(), DID));
    update(
        &mut a,
        Action::DidFile(
            *t,
            DDone::Written(Ok(format!(
                "{}/.well-known/atproto-did",
                root.path().display()
            ))),
        ),
    );
    let effects = ctrl(&mut a, 't');
    assert!(
        matches!(effects.as_slice(), [Effect::DidFile(_, DJob::Check { .. })]),
        "{effects:?}"
    );
    let t = pending_ticket(&a.didfile.pending);
    update(&mut a, Action::DidFile(t, DDone::Checked(Box::new(DidFileCheck {
            url: "https://alice.example.com/.well-known/atproto-did".into(),
            final_url: "https://alice.example.com/.well-known/atproto-did".into(),
            status: Some(200),
            body: Some("<html>".into()),
            finding: Finding::fail("https://alice.example.com/.well-known/atproto-did answered 200 with an HTML page, not the DID").fix("Make the web server serve the plain file."),
            notes: vec![],
        }))));
    assert_eq!(a.mark(Step::DidFile), Mark::Attention);
    // The temp dir differs run to run; the snapshot shows the rest.
    let t = text(&screen(&a, 80, 24)).replace(root.path().to_str().unwrap(), "/srv/www");
    insta::assert_snapshot!(t);
}

//! Every background result the wizard waits for, in one table: an answer to a request that
//! was overtaken (started again, or its question changed) is dropped in one place,
//! `App::awaits`, and changes nothing — no step, no status line, no pop-up, no answers
//! file. The same answer with the current ticket does change what is seen, so the table
//! can tell a dropped result from a taken one.

use super::*;
use crate::email::send::{SendReport, Stage};
use crate::finding::Finding;
use crate::identity::didfile::DidFileCheck;
use crate::tui::jobs::Ticket;
use crate::tui::steps::accounts::Done as AcDone;
use crate::tui::steps::accounts::List;
use crate::tui::steps::backups::Done as BkDone;
use crate::tui::steps::didfile::Done as DDone;
use crate::tui::steps::doctor::Done as DoDone;
use crate::tui::steps::email::Done as EDone;
use crate::tui::steps::email::{PdsTest, TestState};
use crate::tui::steps::handle::{Accounts, Done as HDone, Refresh};
use crate::tui::steps::overview::Done as OvDone;
use crate::tui::steps::proxy::{Done as PDone, Question as PQuestion};
use crate::tui::steps::relays::Done as RlDone;
use crate::tui::steps::server::Done as SvDone;

/// The Backups step at work (a backup, a verification or a restore).
fn working(a: &mut App) -> Ticket {
    let job = a.jobs.start();
    a.backups.working = Some(job);
    job.ticket
}

/// One kind of background result: how its step comes to wait for it (returning the
/// ticket), and the result itself.
struct Kind {
    name: &'static str,
    pend: fn(&mut App) -> Ticket,
    answer: fn(Ticket) -> Action,
}

fn failing(what: &str) -> Finding {
    Finding::fail(what).fix("a fix")
}

/// The kind's name as `awaits` tells them apart: every step's `Done` and the app's own
/// ticketed results. Exhaustive, so a new kind does not compile until it is named here (and then the
/// table below must hold it).
fn name_of(a: &Action) -> Option<&'static str> {
    Some(match a {
        Action::Email(_, d) => match d {
            EDone::Tested(_) => "TestMailDone",
            EDone::Ready(_) => "PdsReady",
            EDone::PdsSent(_) => "PdsSent",
            EDone::Codes(_) => "CodesLoaded",
        },
        Action::Handle(_, d) => match d {
            HDone::Accounts(_) => "AccountsLoaded",
            HDone::Verified(_) => "HandleVerified",
            HDone::Announced(_) => "HandleRefreshed",
            HDone::Due => "RecheckDue",
        },
        Action::DidFile(_, d) => match d {
            DDone::Written(_) => "DidFileWritten",
            DDone::Checked(_) => "DidFileChecked",
        },
        Action::Proxy(_, d) => match d {
            PDone::Validated(_) => "ProxyValidated",
            PDone::Written(_) => "ProxyWritten",
            PDone::Linked(_) => "ProxyLinked",
            PDone::Reloaded(_) => "ProxyReloaded",
        },
        Action::Doctor(_, d) => match d {
            DoDone::Reported(_) => "ReportWritten",
            DoDone::Checked(_) => "DoctorResult",
            DoDone::Ran => "DoctorDone",
        },
        Action::Relays(_, d) => match d {
            RlDone::Looked(_) => "RelaysLooked",
            RlDone::Step(_) => "RelayRepairStep",
            RlDone::Repaired(_) => "RelaysRepaired",
        },
        Action::Backups(_, d) => match d {
            BkDone::Looked(_) => "BackupsLooked",
            BkDone::Progress(_) => "BackupProgress",
            BkDone::Created(_) => "BackupCreated",
            BkDone::Verified(_) => "BackupVerified",
            BkDone::Step(_) => "RestoreStep",
            BkDone::Restored(_) => "Restored",
        },
        Action::Overview(_, OvDone::Checked(_)) => "Overview",
        Action::Server(_, d) => match d {
            SvDone::Looked { .. } => "Server",
            SvDone::Written(_) => "Written",
            SvDone::Progress(_) => "Progress",
            SvDone::Started(_) => "Started",
        },
        Action::Accounts(_, d) => match d {
            AcDone::Listed(_) => "Accounts",
            AcDone::Created(_) => "Created",
            AcDone::Invite(_) => "Invite",
            AcDone::Reset(_) => "Reset",
            AcDone::Checked(_) => "Checked",
            AcDone::Moved(_) => "Moved",
            AcDone::MigrateStep(_) => "MigrateStep",
            AcDone::Migrated(_) => "Migrated",
        },
        Action::Renamed(..) => "Rename",
        Action::Key(_)
        | Action::Paste(_)
        | Action::Resize
        | Action::Signal(_)
        | Action::Saved(_)
        | Action::Reloaded(_)
        | Action::Tick
        | Action::RestartCommand(_)
        | Action::Restarted(_) => return None,
    })
}

const EVERY_KIND: &[&str] = &[
    "TestMailDone",
    "AccountsLoaded",
    "PdsReady",
    "PdsSent",
    "HandleVerified",
    "HandleRefreshed",
    "RecheckDue",
    "ReportWritten",
    "CodesLoaded",
    "DidFileWritten",
    "DidFileChecked",
    "ProxyValidated",
    "ProxyWritten",
    "ProxyLinked",
    "ProxyReloaded",
    "DoctorResult",
    "DoctorDone",
    "RelaysLooked",
    "RelayRepairStep",
    "RelaysRepaired",
    "BackupsLooked",
    "BackupProgress",
    "BackupCreated",
    "BackupVerified",
    "RestoreStep",
    "Restored",
    "Overview",
    "Server",
    "Written",
    "Progress",
    "Started",
    "Accounts",
    "Created",
    "Invite",
    "Reset",
    "Checked",
    "Moved",
    "MigrateStep",
    "Migrated",
    "Rename",
];

fn table() -> Vec<Kind> {
    vec![
        Kind {
            name: "TestMailDone",
            pend: |a| {
                let job = a.jobs.start();
                a.email.test = TestState::Pending {
                    job,
                    to: "you@example.com".into(),
                };
                job.ticket
            },
            answer: |t| {
                Action::Email(
                    t,
                    EDone::Tested(Box::new(SendReport {
                        finding: Finding::pass("the server took the test mail"),
                        notes: vec![],
                        stage: Stage::Done,
                        transcript: vec![],
                        elapsed_ms: 5,
                    })),
                )
            },
        },
        Kind {
            name: "AccountsLoaded",
            pend: |a| {
                let job = a.jobs.start();
                a.handle.accounts = Accounts::Loading(job.ticket);
                job.ticket
            },
            answer: |t| {
                Action::Handle(
                    t,
                    HDone::Accounts(Err(failing("the PDS refused the password"))),
                )
            },
        },
        Kind {
            name: "PdsReady",
            pend: |a| {
                let job = a.jobs.start();
                a.email.pds_test = PdsTest::Waiting(job);
                job.ticket
            },
            answer: |t| Action::Email(t, EDone::Ready(Err(failing("the PDS does not answer")))),
        },
        Kind {
            name: "PdsSent",
            pend: |a| {
                let job = a.jobs.start();
                a.email.pds_test = PdsTest::Sending(job, "alice.example.com".into());
                job.ticket
            },
            answer: |t| {
                Action::Email(
                    t,
                    EDone::PdsSent(Box::new(crate::email::via_pds::PdsSend {
                        outcome: crate::email::via_pds::Outcome::Unreachable,
                        finding: failing("the PDS could not be reached"),
                        account: None,
                        log: vec![],
                        elapsed_ms: 3,
                        settings: crate::email::via_pds::Settings::NotCompared,
                    })),
                )
            },
        },
        Kind {
            name: "HandleVerified",
            pend: |a| {
                let job = a.jobs.start();
                a.handle.pending = Some(job);
                job.ticket
            },
            answer: |t| {
                Action::Handle(
                    t,
                    HDone::Verified(Box::new(super::identity_screens::report(true))),
                )
            },
        },
        Kind {
            name: "HandleRefreshed",
            pend: |a| {
                let job = a.jobs.start();
                a.handle.refresh = Some(Refresh::Pending(job));
                job.ticket
            },
            answer: |t| {
                Action::Handle(
                    t,
                    HDone::Announced(Box::new(crate::pds::refresh::RefreshReport {
                        handle: "alice.example.com".into(),
                        did: None,
                        steps: vec![failing("the PDS refused the identity event")],
                        level: Level::Fail,
                    })),
                )
            },
        },
        Kind {
            name: "RecheckDue",
            pend: |a| {
                // Re-checking on, a handle and DID on the form: the timer's end checks.
                for (key, value) in [
                    ("handle", "alice.example.com"),
                    ("did", super::identity_screens::DID),
                    ("auto", "every 30 s"),
                ] {
                    a.handle.form.field_mut(key).unwrap().set_text(value);
                }
                let job = a.jobs.start();
                a.handle.recheck = Some(job.ticket);
                job.ticket
            },
            answer: |t| Action::Handle(t, HDone::Due),
        },
        Kind {
            name: "ReportWritten",
            pend: |a| {
                let job = a.jobs.start();
                a.doctor.report = Some(job);
                job.ticket
            },
            answer: |t| Action::Doctor(t, DoDone::Reported(Err("the disk is full".into()))),
        },
        Kind {
            name: "CodesLoaded",
            pend: |a| {
                let job = a.jobs.start();
                a.email.codes = Some(job);
                job.ticket
            },
            answer: |t| Action::Email(t, EDone::Codes(Err("no account.sqlite here".into()))),
        },
        Kind {
            name: "DidFileWritten",
            pend: |a| {
                let job = a.jobs.start();
                a.didfile.writing = Some(job.ticket);
                job.ticket
            },
            answer: |t| {
                Action::DidFile(
                    t,
                    DDone::Written(Ok("/srv/www/.well-known/atproto-did".into())),
                )
            },
        },
        Kind {
            name: "DidFileChecked",
            pend: |a| {
                let job = a.jobs.start();
                a.didfile.pending = Some(job);
                job.ticket
            },
            answer: |t| {
                Action::DidFile(
                    t,
                    DDone::Checked(Box::new(DidFileCheck {
                        url: "https://alice.example.com/.well-known/atproto-did".into(),
                        final_url: "https://alice.example.com/.well-known/atproto-did".into(),
                        status: Some(404),
                        body: None,
                        finding: failing("the atproto-did file answered 404"),
                        notes: vec![],
                    })),
                )
            },
        },
        Kind {
            name: "ProxyValidated",
            pend: |a| {
                let job = a.jobs.start();
                a.proxy.pending = Some(job);
                job.ticket
            },
            answer: |t| {
                Action::Proxy(
                    t,
                    PDone::Validated(super::proxy_screen::validation(Level::Fail)),
                )
            },
        },
        Kind {
            name: "ProxyWritten",
            pend: |a| {
                let job = a.jobs.start();
                a.proxy.doing = Some(job.ticket);
                job.ticket
            },
            answer: |t| {
                Action::Proxy(
                    t,
                    PDone::Written(Err(failing("/etc/nginx: permission denied").what)),
                )
            },
        },
        Kind {
            name: "ProxyLinked",
            pend: |a| {
                let job = a.jobs.start();
                a.proxy.doing = Some(job.ticket);
                a.proxy.asking = Some(PQuestion::Enable {
                    link: "/etc/nginx/sites-enabled/pds".into(),
                    target: "/etc/nginx/sites-available/pds".into(),
                    reload: vec!["systemctl".into(), "reload".into(), "nginx".into()],
                });
                job.ticket
            },
            answer: |t| Action::Proxy(t, PDone::Linked(Err("sites-enabled/pds exists".into()))),
        },
        Kind {
            name: "ProxyReloaded",
            pend: |a| {
                let job = a.jobs.start();
                a.proxy.doing = Some(job.ticket);
                job.ticket
            },
            answer: |t| {
                Action::Proxy(
                    t,
                    PDone::Reloaded(Err("nginx: configuration test failed".into())),
                )
            },
        },
        Kind {
            name: "DoctorResult",
            pend: |a| {
                let job = a.jobs.start();
                a.doctor.start(&[crate::doctor::CheckId::Disk], job);
                job.ticket
            },
            answer: |t| {
                Action::Doctor(
                    t,
                    DoDone::Checked(super::doctor_screen::result(
                        crate::doctor::CheckId::Disk,
                        Level::Fail,
                        "0.2 GiB free",
                    )),
                )
            },
        },
        Kind {
            name: "DoctorDone",
            pend: |a| {
                let job = a.jobs.start();
                let all: Vec<_> = crate::doctor::CHECKS.iter().map(|c| c.id).collect();
                a.doctor.start(&all, job);
                job.ticket
            },
            answer: |t| Action::Doctor(t, DoDone::Ran),
        },
        Kind {
            name: "RelaysLooked",
            pend: |a| {
                let job = a.jobs.start();
                a.relays.looking = Some(job);
                job.ticket
            },
            answer: |t| {
                Action::Relays(
                    t,
                    RlDone::Looked(Box::new(crate::repair::Plan {
                        host: "pds.example.com".into(),
                        relays: vec![crate::repair::RelayView {
                            relay: "https://relay.example.com".into(),
                            seen: None,
                            throttled: vec![],
                            unseen: vec![],
                            cause: crate::repair::Cause::NeverSeen,
                        }],
                        sequence: None,
                        steps: vec![],
                        notes: vec![],
                    })),
                )
            },
        },
        Kind {
            name: "RelayRepairStep",
            pend: |a| {
                let job = a.jobs.start();
                a.relays.repairing = Some(job);
                job.ticket
            },
            answer: |t| Action::Relays(t, RlDone::Step(failing("could not stop the PDS"))),
        },
        Kind {
            name: "RelaysRepaired",
            pend: |a| {
                let job = a.jobs.start();
                a.relays.repairing = Some(job);
                job.ticket
            },
            answer: |t| {
                Action::Relays(
                    t,
                    RlDone::Repaired(Box::new(crate::repair::Outcome {
                        steps: vec![failing("could not stop the PDS")],
                        repaired: false,
                        level: Level::Fail,
                    })),
                )
            },
        },
        Kind {
            name: "BackupsLooked",
            pend: |a| {
                let job = a.jobs.start();
                a.backups.looking = Some(job);
                job.ticket
            },
            answer: |t| {
                Action::Backups(
                    t,
                    BkDone::Looked(Box::new(crate::tui::steps::backups::Looked {
                        dest: "/var/backups/pds".into(),
                        schedule: None,
                        backups: vec![],
                        guide: vec![],
                    })),
                )
            },
        },
        Kind {
            name: "BackupProgress",
            pend: working,
            answer: |t| Action::Backups(t, BkDone::Progress("blobs 3/10".into())),
        },
        Kind {
            name: "BackupCreated",
            pend: working,
            answer: |t| Action::Backups(t, BkDone::Created(Err("the disk is full".into()))),
        },
        Kind {
            name: "BackupVerified",
            pend: working,
            answer: |t| {
                Action::Backups(
                    t,
                    BkDone::Verified(Box::new(crate::backup::verify::Verdict {
                        dir: "/var/backups/pds/pds-1".into(),
                        accounts: 1,
                        blobs: 0,
                        files: 3,
                        keys_checked: 0,
                        notes: vec![],
                        problems: vec![],
                    })),
                )
            },
        },
        Kind {
            name: "RestoreStep",
            pend: working,
            answer: |t| Action::Backups(t, BkDone::Step(failing("could not stop the PDS"))),
        },
        Kind {
            name: "Restored",
            pend: working,
            answer: |t| Action::Backups(t, BkDone::Restored(Err("a PDS is running".into()))),
        },
        Kind {
            name: "Overview",
            pend: |a| {
                let job = a.jobs.start();
                a.overview.pending = Some(job);
                job.ticket
            },
            answer: |t| {
                Action::Overview(
                    t,
                    OvDone::Checked(Box::new(super::setup_screens::overview(2))),
                )
            },
        },
        Kind {
            name: "Server",
            pend: |a| {
                let job = a.jobs.start();
                a.server.checking = Some(job);
                job.ticket
            },
            answer: |t| {
                Action::Server(
                    t,
                    SvDone::Looked {
                        plan: None,
                        running: crate::pds::service::Running::Nothing,
                        docker: crate::pds::service::Docker::Missing,
                    },
                )
            },
        },
        Kind {
            name: "Written",
            pend: |a| {
                let job = a.jobs.start();
                a.server.writing = Some(job);
                job.ticket
            },
            answer: |t| {
                Action::Server(
                    t,
                    SvDone::Written(Err("Nothing written: compose refuses it".into())),
                )
            },
        },
        Kind {
            name: "Progress",
            pend: |a| {
                let job = a.jobs.start();
                a.server.starting = Some(job);
                job.ticket
            },
            answer: |t| {
                Action::Server(
                    t,
                    SvDone::Progress("waiting for the PDS: 7 s (refused)".into()),
                )
            },
        },
        Kind {
            name: "Started",
            pend: |a| {
                let job = a.jobs.start();
                a.server.starting = Some(job);
                job.ticket
            },
            answer: |t| Action::Server(t, SvDone::Started(Err("docker compose up failed".into()))),
        },
        Kind {
            name: "Accounts",
            pend: |a| {
                let job = a.jobs.start();
                a.accounts.list = List::Loading(job.ticket);
                job.ticket
            },
            answer: |t| {
                Action::Accounts(
                    t,
                    AcDone::Listed(Err(failing("the PDS refused the password"))),
                )
            },
        },
        Kind {
            name: "Created",
            pend: |a| {
                let job = a.jobs.start();
                a.accounts.pending = Some(job);
                job.ticket
            },
            answer: |t| Action::Accounts(t, AcDone::Created(Err(failing("the handle is taken")))),
        },
        Kind {
            name: "Invite",
            pend: |a| {
                let job = a.jobs.start();
                a.accounts.pending = Some(job);
                job.ticket
            },
            answer: |t| Action::Accounts(t, AcDone::Invite(Err(failing("no invite was made")))),
        },
        Kind {
            name: "Reset",
            pend: |a| {
                let job = a.jobs.start();
                a.accounts.pending = Some(job);
                job.ticket
            },
            answer: |t| {
                Action::Accounts(t, AcDone::Reset(Err(failing("the password was not set"))))
            },
        },
        Kind {
            name: "Checked",
            pend: |a| {
                let job = a.jobs.start();
                a.accounts.pending = Some(job);
                job.ticket
            },
            answer: |t| {
                Action::Accounts(
                    t,
                    AcDone::Checked(Box::new(super::identity_screens::report(false))),
                )
            },
        },
        Kind {
            name: "Moved",
            pend: |a| {
                let job = a.jobs.start();
                a.accounts.pending = Some(job);
                job.ticket
            },
            answer: |t| {
                Action::Accounts(
                    t,
                    AcDone::Moved(Box::new(crate::setup::accounts::Moved {
                        did: "did:plc:abc".into(),
                        from: "alice.pds.example.com".into(),
                        handle: "alice.example.com".into(),
                        steps: vec![failing("alice.example.com does not verify yet")],
                        moved: false,
                        record: None,
                    })),
                )
            },
        },
        Kind {
            name: "MigrateStep",
            pend: |a| {
                let job = a.jobs.start();
                a.accounts.pending = Some(job);
                job.ticket
            },
            answer: |t| Action::Accounts(t, AcDone::MigrateStep(failing("the old PDS refused"))),
        },
        Kind {
            name: "Migrated",
            pend: |a| {
                let job = a.jobs.start();
                a.accounts.pending = Some(job);
                job.ticket
            },
            answer: |t| {
                Action::Accounts(
                    t,
                    AcDone::Migrated(Box::new(Err(crate::migrate::Stop::Failed(failing(
                        "the old PDS refused",
                    ))))),
                )
            },
        },
        Kind {
            name: "Rename",
            pend: |a| {
                let job = a.jobs.start();
                a.rename_check = Some(job);
                job.ticket
            },
            answer: |t| Action::Renamed(t, None),
        },
    ]
}

/// What the operator can see and what would be kept: every step drawn (digits masked: a
/// pending job's elapsed seconds tick on their own), the status line, the pop-up, what the
/// answers file would hold, and the state a result could leave without drawing it.
pub(super) fn seen(a: &mut App) -> String {
    let was = a.step;
    let mut out = String::new();
    for s in Step::ALL {
        a.step = s;
        out.push_str(&text(&screen(a, 100, 40)));
    }
    a.step = was;
    out.push_str(&format!(
        "{:?} {:?} {:?} {:?} {} {:?} {:?} {} {:?}",
        a.status,
        a.modal,
        a.current_answers(),
        a.answered,
        a.answers_due,
        a.save_result,
        a.rename_confirmed,
        a.busy(),
        a.edits,
    ));
    out.chars()
        .map(|c| if c.is_ascii_digit() { '#' } else { c })
        .collect()
}

#[test]
fn the_table_holds_every_kind_of_result() {
    let names: Vec<&str> = table().iter().map(|k| k.name).collect();
    assert_eq!(names, EVERY_KIND);
    for k in table() {
        let answer = (k.answer)(Ticket::default());
        assert_eq!(name_of(&answer), Some(k.name));
        assert!(answer.ticket().is_some(), "{}", k.name);
    }
}

#[test]
fn a_stale_result_of_every_kind_changes_nothing() {
    for k in table() {
        // Asked, then asked again: the first answer is stale.
        let mut a = app();
        let overtaken = (k.pend)(&mut a);
        let current = (k.pend)(&mut a);
        assert_ne!(overtaken, current);
        let before = seen(&mut a);
        let effects = update(&mut a, (k.answer)(overtaken));
        assert!(effects.is_empty(), "{}: {effects:?}", k.name);
        assert_eq!(
            seen(&mut a),
            before,
            "{}: a stale result changed the wizard",
            k.name
        );
        // Never asked (a result for no request at all): dropped too.
        let effects = update(&mut a, (k.answer)(Ticket::default()));
        assert!(effects.is_empty(), "{}: {effects:?}", k.name);
        assert_eq!(
            seen(&mut a),
            before,
            "{}: an unasked result changed the wizard",
            k.name
        );
        // The answer to the current request is taken, and is seen: the comparison above
        // would have caught a stale one taken.
        update(&mut a, (k.answer)(current));
        assert_ne!(
            seen(&mut a),
            before,
            "{}: the current result left no trace",
            k.name
        );
    }
}

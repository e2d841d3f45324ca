//! The first-setup steps' background work: each job runs on the runtime with what it needs
//! copied out of the app, and answers `Action::Setup` with its request's ticket.

use super::{spawn_job, Runner};
use crate::pds::service;
use crate::tui::app::App;
use crate::tui::msg::{Action, Done, Job, Ticket};
use std::sync::Arc;

/// A public-address echo service, when the operator configured one (see `records`).
pub(crate) fn spawn(app: &mut App, runner: &Runner, ticket: Ticket, job: Job) {
    let settings = app.settings.clone();
    let working = app.working.clone();
    let modified = working.is_modified();
    let tx = runner.tx.clone();
    let admin = settings.admin();
    let done = move |d: Done| Action::Setup(ticket, Box::new(d));
    let rt = runner.runtime.handle();
    match job {
        Job::CheckRename { saved, to } => spawn_job(rt, tx, async move {
            let r = crate::setup::rename::impact(&saved, &to, &settings).await;
            done(Done::Rename(r.map(Box::new)))
        }),
        Job::Overview => {
            // As the doctor does: pds.env as it will be saved.
            let mut inputs = crate::doctor::Inputs::load(&settings.flags, vec![]);
            if modified {
                inputs = inputs.with_doc(working);
            }
            spawn_job(rt, tx, async move {
                let o =
                    crate::setup::overview_of(Arc::new(inputs), settings.flags.ip_echo.as_deref())
                        .await;
                done(Done::Overview(Box::new(o)))
            });
        }
        Job::Server => {
            let port = service::pds_port(&working);
            spawn_job(rt, tx, async move {
                let timeout = settings.http.timeout;
                let plan = match &settings.hostname {
                    Some(h) => Some(Box::new(
                        crate::addresses::plan(h, settings.flags.ip_echo.as_deref(), &settings.dns)
                            .await,
                    )),
                    None => None,
                };
                let (running, docker) = tokio::task::spawn_blocking(move || {
                    (service::detect(port, timeout), service::docker(timeout))
                })
                .await
                .unwrap_or((service::Running::Nothing, service::Docker::Missing));
                done(Done::Server {
                    plan,
                    running,
                    docker,
                })
            });
        }
        Job::WriteService(files) => {
            let timeout = settings.http.timeout;
            spawn_job(rt, tx, async move {
                let r = tokio::task::spawn_blocking(move || {
                    service::write_validated(&files, timeout).map(|written| {
                        written
                            .iter()
                            .map(|r| format!("Wrote {}", r.describe()))
                            .collect()
                    })
                })
                .await
                .unwrap_or_else(|e| Err(e.to_string()));
                done(Done::Written(r))
            });
        }
        Job::StartService(plan) if settings.flags.sandbox.is_some() => {
            // The demo starts nothing on this machine; its PDS stand-in already runs.
            let commands = service::start_commands(None, &plan);
            spawn_job(rt, tx, async move {
                done(Done::Started(Ok(format!(
                    "Demo: nothing was started (on a server this runs: {}).",
                    commands
                        .iter()
                        .map(|c| c.join(" "))
                        .collect::<Vec<_>>()
                        .join(", then ")
                ))))
            });
        }
        Job::StartService(plan) => {
            let restart = settings.flags.restart_command.clone();
            let local = settings.local_url.clone();
            let timeout = settings.http.timeout;
            spawn_job(rt, tx.clone(), async move {
                let commands = service::start_commands(restart.as_deref(), &plan);
                // The first start pulls the image: the commands get the whole wait.
                let wait = std::time::Duration::from_secs(180);
                let progress_tx = tx.clone();
                let started =
                    service::start_and_wait(&commands, &local, wait, timeout, |elapsed, why| {
                        let _ = progress_tx.send(Action::Setup(
                            ticket,
                            Box::new(Done::Progress(format!(
                                "waiting for the PDS: {} s ({why})",
                                elapsed.as_secs()
                            ))),
                        ));
                    })
                    .await;
                done(Done::Started(match started {
                    service::Started::Failed(e) => Err(e),
                    service::Started::Up { version } => Ok(format!(
                        "The PDS answers at {local} (version {}).",
                        version.as_deref().unwrap_or("not given")
                    )),
                    service::Started::NotYet { reason } => Err(format!(
                        "The PDS did not answer at {local} within {} s: {reason}",
                        wait.as_secs()
                    )),
                }))
            });
        }
        Job::LoadAccounts => spawn_job(rt, tx, async move {
            let r = admin.accounts().await;
            done(Done::Accounts(r))
        }),
        Job::Create { handle, email } => spawn_job(rt, tx, async move {
            let r = match crate::identity::Handle::parse(&handle) {
                Ok(h) => crate::setup::accounts::create_account(
                    &settings,
                    Some(&working),
                    &h,
                    &email,
                    None,
                )
                .await
                .map(Box::new),
                Err(e) => Err(crate::finding::Finding::fail(e.to_string())),
            };
            done(Done::Created(r))
        }),
        Job::Invite => spawn_job(
            rt,
            tx,
            async move { done(Done::Invite(admin.invite(1).await)) },
        ),
        Job::ResetPassword { did, handle } => spawn_job(rt, tx, async move {
            let r = admin.reset_password(&did, None).await.map(|p| (handle, p));
            done(Done::Reset(r))
        }),
        Job::CheckHandle { handle, did } => spawn_job(rt, tx, async move {
            let report = match crate::identity::Did::parse(&did) {
                Ok(d) => crate::identity::verify(&handle, &d, &settings.verify_options()).await,
                Err(e) => {
                    return done(Done::Moved(Box::new(crate::setup::accounts::Moved {
                        did,
                        from: String::new(),
                        handle: handle.as_str().to_string(),
                        steps: vec![crate::finding::Finding::fail(e.to_string())],
                        moved: false,
                        record: None,
                    })))
                }
            };
            done(Done::Checked(Box::new(report)))
        }),
        Job::MoveHandle { did, from, handle } => spawn_job(rt, tx, async move {
            let m = crate::setup::accounts::move_handle(
                &settings,
                Some(&working),
                &did,
                &from,
                &handle,
            )
            .await;
            done(Done::Moved(Box::new(m)))
        }),
    }
}

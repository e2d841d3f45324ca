//! First setup: where the server is and its address records, and the status overview —
//! each milestone from pds.env to the relay, checked live, with the step that gets it done.

pub mod accounts;
pub mod rename;

use crate::addresses;
use crate::context::Context;
use crate::doctor::{self, CheckId, CheckResult, Inputs};
use crate::finding::Level;
use crate::target::Target;
use serde::Serialize;
use std::sync::Arc;

/// The milestones of a first setup, in the order they are reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MilestoneId {
    EnvFile,
    PdsRunning,
    Records,
    Certificate,
    Email,
    FirstAccount,
    HandleVerified,
    RelayCrawled,
}

impl MilestoneId {
    pub const ALL: [MilestoneId; 8] = [
        MilestoneId::EnvFile,
        MilestoneId::PdsRunning,
        MilestoneId::Records,
        MilestoneId::Certificate,
        MilestoneId::Email,
        MilestoneId::FirstAccount,
        MilestoneId::HandleVerified,
        MilestoneId::RelayCrawled,
    ];

    pub fn title(self) -> &'static str {
        match self {
            MilestoneId::EnvFile => "pds.env is valid",
            MilestoneId::PdsRunning => "the PDS is running",
            MilestoneId::Records => "HOST and *.HOST point at this server",
            MilestoneId::Certificate => "HTTPS works, with a valid certificate",
            MilestoneId::Email => "email: the SMTP server takes the PDS's login",
            MilestoneId::FirstAccount => "the first account exists",
            MilestoneId::HandleVerified => "every handle verifies",
            MilestoneId::RelayCrawled => "the relay crawls this PDS",
        }
    }

    /// Where it is got done, when its check names nothing more precise.
    pub fn target(self) -> Target {
        match self.check() {
            Some(c) => c.check().fix,
            None if self == MilestoneId::Records => Target::Records,
            None => Target::Accounts,
        }
    }

    /// The doctor check that decides it (None: decided here).
    fn check(self) -> Option<CheckId> {
        match self {
            MilestoneId::EnvFile => Some(CheckId::Env),
            MilestoneId::PdsRunning => Some(CheckId::Health),
            MilestoneId::Records => None,
            MilestoneId::Certificate => Some(CheckId::Https),
            MilestoneId::Email => Some(CheckId::Email),
            MilestoneId::FirstAccount => None,
            MilestoneId::HandleVerified => Some(CheckId::Handles),
            MilestoneId::RelayCrawled => Some(CheckId::RelaySync),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    Done,
    /// Works, with a warning worth reading.
    DoneWithWarnings,
    Todo,
    /// Cannot be judged until an earlier milestone is reached.
    Waiting,
}

#[derive(Debug, Clone, Serialize)]
pub struct Milestone {
    pub id: MilestoneId,
    pub title: String,
    pub state: State,
    /// What was found, in a line.
    pub said: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// Where the wizard does it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
    /// What its problem is about (the handle that does not verify): the step opens on it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

impl Milestone {
    pub fn done(&self) -> bool {
        matches!(self.state, State::Done | State::DoneWithWarnings)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Overview {
    pub hostname: Option<String>,
    pub milestones: Vec<Milestone>,
    /// A handle that verifies, to log in with, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handle: Option<String>,
}

impl Overview {
    pub fn all_done(&self) -> bool {
        self.milestones.iter().all(Milestone::done)
    }

    /// What to do now, in plain words.
    pub fn next(&self) -> String {
        let host = self.hostname.as_deref().unwrap_or("your PDS");
        match self.milestones.iter().find(|m| !m.done()) {
            None => format!(
                "All done: {host} is ready. Log in at https://bsky.app with {} and its password (choose \"Custom\" hosting provider: https://{host}). Run pds-wizard again any time: it opens on this overview.",
                self.handle.as_deref().unwrap_or("your handle")
            ),
            Some(m) => match &m.fix {
                Some(f) => format!("Next: {} — {f}", m.title),
                None => format!("Next: {}", m.title),
            },
        }
    }
}

fn from_check(id: MilestoneId, r: &CheckResult) -> Milestone {
    let first_bad = r
        .findings
        .iter()
        .filter(|f| f.level > Level::Info)
        .max_by_key(|f| f.level);
    let state = match (r.not_checked, r.level) {
        (Some(_), _) => State::Waiting,
        (None, Level::Fail) => State::Todo,
        (None, Level::Warn) => State::DoneWithWarnings,
        (None, _) => State::Done,
    };
    let said = match (r.not_checked, first_bad) {
        (Some(_), _) => r
            .findings
            .first()
            .map(|f| f.what.clone())
            .unwrap_or_default(),
        (None, Some(f)) => f.what.clone(),
        (None, None) => r
            .findings
            .iter()
            .find(|f| f.level == Level::Pass)
            .or(r.findings.first())
            .map(|f| f.what.clone())
            .unwrap_or_default(),
    };
    Milestone {
        id,
        title: id.title().into(),
        state,
        said,
        fix: first_bad.map(|f| f.fix.clone()).filter(|s| !s.is_empty()),
        target: r.target().or(Some(id.target())),
        subject: r.subject(),
    }
}

/// Check every milestone live: the doctor's checks for those it has, the address records
/// and the account count here. `echo_url`: a public-address echo service, when configured.
pub async fn overview(ctx: &Context, echo_url: Option<&str>) -> Overview {
    let inputs = Arc::new(Inputs::load(ctx, vec![]));
    overview_of(inputs, echo_url).await
}

pub async fn overview_of(inputs: Arc<Inputs>, echo_url: Option<&str>) -> Overview {
    let hostname = inputs.settings.hostname.clone();
    let checks: Vec<&'static doctor::Check> = MilestoneId::ALL
        .iter()
        .filter_map(|m| m.check())
        .map(CheckId::check)
        .collect();
    let dns = inputs.settings.dns.clone();
    let records = async {
        match &hostname {
            Some(h) => Some(addresses::plan(h, echo_url, &dns).await),
            None => None,
        }
    };
    let (results, plan, accounts) = tokio::join!(
        doctor::run_all(checks, inputs.clone()),
        records,
        inputs.accounts()
    );
    let mut handle = None;
    let milestones = MilestoneId::ALL
        .iter()
        .map(|&id| {
            if let Some(check) = id.check() {
                let r = results.iter().find(|r| r.id == check).expect("it was run");
                return from_check(id, r);
            }
            match id {
                MilestoneId::Records => match &plan {
                    None => Milestone {
                        id,
                        title: id.title().into(),
                        state: State::Waiting,
                        said: "PDS_HOSTNAME is not set".into(),
                        fix: None,
                        target: Some(Target::EnvFile),
                        subject: Some("PDS_HOSTNAME".into()),
                    },
                    Some(p) => {
                        let found = addresses::findings(p);
                        let worst = found.iter().map(|f| f.level).max().unwrap_or(Level::Pass);
                        let bad = found.iter().find(|f| f.level == worst);
                        Milestone {
                            id,
                            title: id.title().replace("HOST", &p.hostname),
                            state: match worst {
                                Level::Fail => State::Todo,
                                Level::Warn => State::DoneWithWarnings,
                                _ => State::Done,
                            },
                            said: bad.map(|f| f.what.clone()).unwrap_or_default(),
                            fix: bad.map(|f| f.fix.clone()).filter(|s| !s.is_empty()),
                            target: Some(Target::Records),
                            subject: None,
                        }
                    }
                },
                _ => match accounts {
                    Ok(list) if !list.is_empty() => {
                        handle = list.first().map(|a| a.handle.clone());
                        Milestone {
                            id,
                            title: id.title().into(),
                            state: State::Done,
                            said: format!(
                                "{} account{}: {}",
                                list.len(),
                                if list.len() == 1 { "" } else { "s" },
                                list.iter()
                                    .take(3)
                                    .map(|a| a.handle.as_str())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                            fix: None,
                            target: Some(Target::Accounts),
                        subject: None,
                        }
                    }
                    Ok(_) => Milestone {
                        id,
                        title: id.title().into(),
                        state: State::Todo,
                        said: "no accounts yet".into(),
                        fix: Some("Create one in the Accounts step (or: pds-wizard accounts create HANDLE --email ADDR)".into()),
                        target: Some(Target::Accounts),
                        subject: None,
                    },
                    Err(f) => Milestone {
                        id,
                        title: id.title().into(),
                        state: State::Waiting,
                        said: f.what.clone(),
                        fix: Some(f.fix.clone()).filter(|s| !s.is_empty()),
                        target: Some(Target::Accounts),
                        subject: None,
                    },
                },
            }
        })
        .collect();
    Overview {
        hostname,
        milestones,
        handle,
    }
}

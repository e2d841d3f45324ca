//! The doctor: every check at once, each bounded by a timeout, results streamed as they
//! finish. Each check reuses the one implementation the wizard's steps use (env check,
//! email probe, handle verification, …) and says which step fixes what it finds.

mod checks;
pub mod report;
pub mod tls;

use crate::context::Context;
use crate::envfile::Document;
use crate::finding::{worst, Finding, Level};
use crate::identity::Handle;
use crate::settings::Resolved;
use crate::target::{ProxyField, Target};
use serde::Serialize;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Area {
    Config,
    Service,
    Public,
    Proxy,
    Email,
    Handles,
    Crawlers,
    Host,
}

impl Area {
    pub fn title(self) -> &'static str {
        match self {
            Area::Config => "pds.env",
            Area::Service => "The PDS process",
            Area::Public => "Public name and certificate",
            Area::Proxy => "Reverse proxy",
            Area::Email => "Email",
            Area::Handles => "Handles",
            Area::Crawlers => "Relays (crawlers)",
            Area::Host => "This machine",
        }
    }
}

/// Which check: code dispatches on this, never on a name or a title.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckId {
    Env,
    Service,
    Health,
    Dns,
    Https,
    Oauth,
    Websocket,
    Uploads,
    Signup,
    Email,
    Handles,
    Crawlers,
    RelaySync,
    RelayAccounts,
    Disk,
    Backups,
    Clock,
}

impl CheckId {
    /// The stable name, for `--only`, `--list` and JSON.
    pub fn name(self) -> &'static str {
        match self {
            CheckId::Env => "env",
            CheckId::Service => "service",
            CheckId::Health => "health",
            CheckId::Dns => "dns",
            CheckId::Https => "https",
            CheckId::Oauth => "oauth",
            CheckId::Websocket => "websocket",
            CheckId::Uploads => "uploads",
            CheckId::Signup => "signup",
            CheckId::Email => "email",
            CheckId::Handles => "handles",
            CheckId::Crawlers => "crawlers",
            CheckId::RelaySync => "relay-sync",
            CheckId::RelayAccounts => "relay-accounts",
            CheckId::Disk => "disk",
            CheckId::Backups => "backups",
            CheckId::Clock => "clock",
        }
    }

    pub fn parse(name: &str) -> Option<CheckId> {
        CHECKS.iter().map(|c| c.id).find(|id| id.name() == name)
    }

    pub fn check(self) -> &'static Check {
        CHECKS
            .iter()
            .find(|c| c.id == self)
            .expect("every check id is in the catalogue")
    }
}

/// What a check cannot do without: when it is missing, the check is "not checked" with
/// the root cause, instead of one more failure with the same cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Need {
    /// pds.env could be read (the `env` check).
    EnvFile,
    /// The PDS answers on this machine (the `health` check).
    Pds,
    /// The public name leads somewhere: it resolves, or --connect-to says where it goes
    /// (the `dns` check).
    PublicName,
}

impl Need {
    /// The check whose failure this is.
    pub fn root(self) -> CheckId {
        match self {
            Need::EnvFile => CheckId::Env,
            Need::Pds => CheckId::Health,
            Need::PublicName => CheckId::Dns,
        }
    }
}

/// One entry of the catalogue.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Check {
    #[serde(rename = "name")]
    pub id: CheckId,
    pub area: Area,
    pub title: &'static str,
    /// Where what this check finds is fixed: every check has a step (a test walks them).
    pub fix: Target,
    /// What it cannot be checked without.
    pub needs: &'static [Need],
}

pub const CHECKS: &[Check] = &[
    Check {
        id: CheckId::Env,
        area: Area::Config,
        title: "pds.env: keys, values, readers, mode",
        fix: Target::EnvFile,
        needs: &[],
    },
    Check {
        id: CheckId::Service,
        area: Area::Service,
        title: "service (systemd unit or container)",
        fix: Target::Service,
        needs: &[],
    },
    Check {
        id: CheckId::Health,
        area: Area::Service,
        title: "the PDS answers locally",
        fix: Target::Service,
        needs: &[],
    },
    Check {
        id: CheckId::Dns,
        area: Area::Public,
        title: "DNS: hostname and handle wildcard",
        fix: Target::Records,
        needs: &[Need::EnvFile],
    },
    Check {
        id: CheckId::Https,
        area: Area::Public,
        title: "HTTPS and its certificate",
        fix: Target::Proxy(ProxyField::Server),
        needs: &[Need::EnvFile, Need::PublicName],
    },
    Check {
        id: CheckId::Oauth,
        area: Area::Proxy,
        title: "OAuth paths reach the PDS",
        fix: Target::Proxy(ProxyField::Server),
        needs: &[Need::EnvFile, Need::PublicName, Need::Pds],
    },
    Check {
        id: CheckId::Websocket,
        area: Area::Proxy,
        title: "firehose websocket",
        fix: Target::Proxy(ProxyField::Server),
        needs: &[Need::EnvFile, Need::PublicName, Need::Pds],
    },
    Check {
        id: CheckId::Uploads,
        area: Area::Proxy,
        title: "upload limit: pds.env, PDS, proxy",
        fix: Target::UploadLimit,
        needs: &[Need::EnvFile, Need::Pds],
    },
    Check {
        id: CheckId::Signup,
        area: Area::Service,
        title: "sign-up guarded (invites or captcha)",
        fix: Target::InviteRequired,
        needs: &[Need::EnvFile],
    },
    Check {
        id: CheckId::Email,
        area: Area::Email,
        title: "SMTP: URL, server, TLS, login",
        fix: Target::Email,
        needs: &[Need::EnvFile],
    },
    Check {
        id: CheckId::Handles,
        area: Area::Handles,
        title: "handles and DID documents",
        fix: Target::Handle,
        needs: &[Need::EnvFile, Need::Pds],
    },
    Check {
        id: CheckId::Crawlers,
        area: Area::Crawlers,
        title: "relays (PDS_CRAWLERS) reachable",
        fix: Target::Crawlers,
        needs: &[Need::EnvFile],
    },
    Check {
        id: CheckId::RelaySync,
        area: Area::Crawlers,
        title: "relays in step with this PDS",
        fix: Target::Relays,
        needs: &[Need::EnvFile],
    },
    Check {
        id: CheckId::RelayAccounts,
        area: Area::Crawlers,
        title: "accounts as each relay sees them",
        fix: Target::Accounts,
        needs: &[Need::EnvFile, Need::Pds],
    },
    Check {
        id: CheckId::Disk,
        area: Area::Host,
        title: "free disk space",
        fix: Target::Service,
        needs: &[],
    },
    Check {
        id: CheckId::Backups,
        area: Area::Host,
        title: "last verified backup",
        fix: Target::Backups,
        needs: &[],
    },
    Check {
        id: CheckId::Clock,
        area: Area::Host,
        title: "clock",
        fix: Target::Service,
        needs: &[],
    },
];

/// Everything the checks read, built once from pds.env and the global flags.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// URLs and options, resolved from the flags and this read of pds.env.
    pub settings: Resolved,
    /// None when pds.env cannot be read (the env check says why; others do what they can).
    pub doc: Option<Document>,
    pub doc_error: Option<String>,
    pub file_mode: Option<u32>,
    /// Handles to check instead of every account.
    pub handles: Vec<Handle>,
    /// Bound for each check as a whole (its network calls have their own, shorter, limits).
    pub timeout: Duration,
    /// How long the firehose websocket must stay open when no frame comes.
    pub websocket_hold: Duration,
    /// --watch-firehose: watch the stream this long instead of stopping at its first frame.
    pub websocket_watch: Option<Duration>,
    /// Also ask each reachable crawler to crawl this PDS (com.atproto.sync.requestCrawl):
    /// only when the operator asked for it.
    pub request_crawl: bool,
    /// The PDS's `/xrpc/_health` answer, asked once by whichever check needs it first
    /// (the health check, and those whose advice depends on the version).
    health: tokio::sync::OnceCell<Health>,
    /// The PDS's describeServer answer, asked once likewise (None: no JSON answer).
    describe: tokio::sync::OnceCell<Option<serde_json::Value>>,
    /// The PDS's accounts (listRepos and getAccountInfos), asked once likewise.
    accounts: tokio::sync::OnceCell<Result<Vec<crate::pds::accounts::Account>, Finding>>,
    /// Whether the public name leads somewhere (see `Need::PublicName`).
    public_name: tokio::sync::OnceCell<Result<(), String>>,
}

/// What this machine's PDS answered at `/xrpc/_health`.
#[derive(Debug, Clone)]
pub enum Health {
    /// It answers; the version it reports, as reported.
    Up(Option<String>),
    /// It answered with this HTTP status.
    Status(u16),
    /// Nothing answered: the error chain, and what kind of failure it was.
    Down(String, crate::http::Failure),
}

impl Inputs {
    /// Read pds.env afresh (the doctor checks the file as it is on disk) and resolve the
    /// flags against it.
    pub fn load(flags: &Context, handles: Vec<Handle>) -> Inputs {
        let (settings, doc) = Resolved::load(flags);
        let (doc, doc_error) = match doc {
            Ok(d) => (Some(d), None),
            Err(e) => (None, Some(e.to_string())),
        };
        let file_mode = std::fs::metadata(&flags.env_file).ok().map(|m| {
            use std::os::unix::fs::PermissionsExt;
            m.permissions().mode()
        });
        Inputs {
            settings,
            handles,
            // One network call may take the whole timeout; a check makes a few in a row.
            timeout: flags.timeout * 2 + Duration::from_secs(1),
            websocket_hold: Duration::from_secs(2).min(flags.timeout),
            websocket_watch: None,
            request_crawl: false,
            doc,
            doc_error,
            file_mode,
            health: tokio::sync::OnceCell::new(),
            describe: tokio::sync::OnceCell::new(),
            accounts: tokio::sync::OnceCell::new(),
            public_name: tokio::sync::OnceCell::new(),
        }
    }

    /// Check `doc` instead of the file as read (the wizard's answers applied, not saved yet):
    /// the settings follow it; the file's mode stays the one on disk.
    pub fn with_doc(mut self, doc: Document) -> Inputs {
        self.settings = Resolved::new(&self.settings.flags, Some(&doc));
        self.doc = Some(doc);
        self.doc_error = None;
        self
    }

    /// Why `need` is missing, when it is (each asked once per doctor run).
    pub async fn unmet(&self, need: Need) -> Option<String> {
        match need {
            Need::EnvFile => self.doc.is_none().then(|| {
                if self.settings.env_file.exists() {
                    format!("{} cannot be read", self.settings.env_file.display())
                } else {
                    format!("{} does not exist", self.settings.env_file.display())
                }
            }),
            Need::Pds => match self.health().await {
                Health::Up(_) => None,
                Health::Status(code) => Some(format!(
                    "the PDS answers HTTP {code} at {}",
                    self.settings.local_url
                )),
                Health::Down(..) => Some(format!(
                    "the PDS is not running (nothing answers at {})",
                    self.settings.local_url
                )),
            },
            Need::PublicName => self
                .public_name
                .get_or_init(|| async {
                    if self.settings.http.connect_to.is_some() {
                        return Ok(());
                    }
                    let host = self
                        .settings
                        .hostname
                        .clone()
                        .ok_or_else(|| "PDS_HOSTNAME is not set".to_string())?;
                    match crate::identity::dns::addresses(&host, &self.settings.dns).await {
                        Ok(a) if a.is_empty() => Err(format!("{host} has no A or AAAA record")),
                        Ok(_) => Ok(()),
                        Err(e) => Err(format!("{host} does not resolve: {e}")),
                    }
                })
                .await
                .clone()
                .err(),
        }
    }

    /// The local PDS's health answer (asked once per doctor run).
    pub async fn health(&self) -> &Health {
        self.health.get_or_init(|| checks::ask_health(self)).await
    }

    /// The local PDS's `com.atproto.server.describeServer` (asked once per doctor run).
    pub async fn describe(&self) -> Option<&serde_json::Value> {
        self.describe
            .get_or_init(|| checks::ask_describe(self))
            .await
            .as_ref()
    }

    /// The local PDS's accounts (asked once per doctor run, for the handles and relay
    /// checks).
    pub async fn accounts(&self) -> &Result<Vec<crate::pds::accounts::Account>, Finding> {
        self.accounts
            .get_or_init(|| async {
                crate::pds::admin::Admin {
                    http: checks::local(self),
                    ..self.settings.admin()
                }
                .accounts()
                .await
            })
            .await
    }

    /// The version the local PDS runs, decoded; None when it does not answer or say.
    pub async fn pds_version(&self) -> Option<crate::version::Version> {
        match self.health().await {
            Health::Up(Some(v)) => crate::version::Reported::parse(v).map(|r| r.version),
            _ => None,
        }
    }

    pub fn get(&self, key: &str) -> Option<String> {
        self.doc.as_ref().and_then(|d| d.get(key))
    }
}

/// One check's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    #[serde(rename = "name")]
    pub id: CheckId,
    pub area: Area,
    pub title: &'static str,
    /// What fixes what it found, as data.
    pub fix: Option<Target>,
    /// The wizard step that edits it, in words (for people and scripts reading JSON).
    pub step: Option<&'static str>,
    /// The worst of the findings (info counts as passing; `Info` here is "not checked").
    pub level: Level,
    pub findings: Vec<Finding>,
    pub elapsed_ms: u128,
    /// Not run: what it needs is missing, and this check says why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_checked: Option<CheckId>,
}

impl CheckResult {
    /// The findings at its worst level: what it is judged by.
    fn worst(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(move |f| f.level == self.level)
    }

    /// What its worst finding is about (a pds.env key, a handle): the field or account the
    /// step opens on.
    pub fn subject(&self) -> Option<String> {
        self.worst().find_map(|f| f.subject.clone())
    }

    /// Where it is fixed: its worst finding's own target (a DID document naming another
    /// PDS is the rename's, not the handle step's), else the check's.
    pub fn target(&self) -> Option<Target> {
        self.worst().find_map(|f| f.target).or(self.fix)
    }

    /// Its first failure in a few words, for the summary of root causes.
    pub fn problem(&self) -> Option<String> {
        self.findings
            .iter()
            .find(|f| f.level == Level::Fail)
            .map(|f| match &f.subject {
                Some(s) if !f.what.contains(s.as_str()) => format!("{s}: {}", f.what),
                _ => f.what.clone(),
            })
    }
}

/// "12 passed, 1 warning, 2 failed, 5 not checked".
pub fn tally(results: &[&CheckResult]) -> String {
    let count = |l: Level| {
        results
            .iter()
            .filter(|r| r.level == l && r.not_checked.is_none())
            .count()
    };
    let skipped = results.iter().filter(|r| r.not_checked.is_some()).count();
    let warned = count(Level::Warn);
    let mut out = format!(
        "{} passed, {warned} warning{}, {} failed",
        count(Level::Pass),
        if warned == 1 { "" } else { "s" },
        count(Level::Fail)
    );
    if skipped > 0 {
        out.push_str(&format!(", {skipped} not checked"));
    }
    out
}

/// "2 problems: the PDS is not running (…); pds.example.com has no A record", or None when
/// nothing failed. Checks that were not checked are left out: their cause is listed.
pub fn problems(results: &[&CheckResult]) -> Option<String> {
    let list: Vec<String> = results
        .iter()
        .filter(|r| r.level == Level::Fail)
        .filter_map(|r| r.problem())
        .collect();
    match list.len() {
        0 => None,
        1 => Some(format!("1 problem: {}", list[0])),
        n => Some(format!("{n} problems: {}", list.join("; "))),
    }
}

/// Run one check under its bound; never panics, never outlives the bound by much.
pub async fn run_one(check: &'static Check, inputs: Arc<Inputs>) -> CheckResult {
    let started = Instant::now();
    let bound = inputs.timeout;
    // What it needs first: a missing one is the root cause, said once by its own check.
    let work = async {
        for need in check.needs {
            if let Some(reason) = inputs.unmet(*need).await {
                let root = need.root();
                return (
                    vec![Finding::info(format!("not checked: {reason}"))
                        .why(format!(
                            "This check needs it; the {} check says what is wrong and how to fix it.",
                            root.name()
                        ))
                        .fix(format!("Fix what the {} check finds first.", root.name()))],
                    Some(root),
                );
            }
        }
        (checks::run(check.id, &inputs).await, None)
    };
    let (findings, not_checked) = match tokio::time::timeout(bound, work).await {
        Ok(x) => x,
        Err(_) => (
            vec![
                Finding::fail(format!("no result within {:.0} s", bound.as_secs_f64()))
                    .why("something it talks to does not answer")
                    .fix("run this check alone with a longer --timeout to see which call hangs"),
            ],
            None,
        ),
    };
    let level = match (worst(&findings), not_checked) {
        (_, Some(_)) => Level::Info,
        (Level::Info, None) => Level::Pass,
        (l, None) => l,
    };
    CheckResult {
        id: check.id,
        area: check.area,
        title: check.title,
        fix: Some(check.fix),
        step: Some(check.fix.step_title()),
        level,
        findings,
        elapsed_ms: started.elapsed().as_millis(),
        not_checked,
    }
}

/// The checks to run: all, or those named (unknown names are an error).
pub fn select(only: &[String]) -> Result<Vec<&'static Check>, String> {
    if only.is_empty() {
        return Ok(CHECKS.iter().collect());
    }
    only.iter()
        .map(|n| {
            CheckId::parse(n).map(CheckId::check).ok_or_else(|| {
                format!(
                    "no check named {n:?}; the checks are: {}",
                    CHECKS
                        .iter()
                        .map(|c| c.id.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
        })
        .collect()
}

/// Run the checks concurrently and return their results in catalogue order.
pub async fn run_all(checks: Vec<&'static Check>, inputs: Arc<Inputs>) -> Vec<CheckResult> {
    futures::future::join_all(checks.into_iter().map(|c| run_one(c, inputs.clone()))).await
}

/// The overall verdict: the worst level of all results.
pub fn overall(results: &[CheckResult]) -> Level {
    results.iter().map(|r| r.level).max().unwrap_or(Level::Pass)
}

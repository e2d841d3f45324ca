//! Repairs across the PDS and the relays (above both: it stops and starts the PDS, moves
//! its event counter, and asks and watches the relays).
//!
//! "My posts don't show": what stands between this PDS and each relay in PDS_CRAWLERS, the
//! one cause that explains it, and the repair done right (PDS-FACTS "Relay cursors"):
//!
//! - a relay's cursor past this PDS's newest event (a wiped or restored /pds): the PDS
//!   refuses it as "in the future", and the relay marks the host `idle` and asks again with
//!   the same cursor, so a crawl request alone loops. The event counter is moved past the
//!   highest cursor (an upsert: a fresh sequencer has no `repo_seq` row to update), one
//!   harmless event is written so the newest event really passes it, then the relays are
//!   asked to crawl and watched until each is `active` with its cursor past the old one;
//! - `idle` or `offline` after downtime or a move, or never seen: a crawl request, an event,
//!   the same watch;
//! - throttled accounts or a banned host: said, with what can be done; nothing is changed.
//!
//! `plan` looks and changes nothing; `execute` carries a plan out step by step, each step a
//! `Finding`, stops at the first that fails, and always starts the PDS again.

use crate::finding::Finding;
use crate::pds::data::{DataError, Sequence};
use serde::Serialize;

mod run;
pub(crate) use run::start;
pub use run::{backup, execute, move_counter, Outcome};
use std::path::{Path, PathBuf};

/// How a relay sees this host (`com.atproto.sync.getHostStatus`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostSeen {
    /// active, idle, offline, throttled, banned (as the relay wrote it).
    pub status: String,
    /// The last event of this host the relay has (its cursor).
    pub cursor: Option<i64>,
    pub accounts: Option<u64>,
}

/// Why a relay does not carry this PDS's events, or that it does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "cause", rename_all = "kebab-case")]
pub enum Cause {
    /// It carries them: nothing to repair.
    InStep { cursor: Option<i64> },
    /// Its cursor is past this PDS's newest event: every event is refused until the PDS
    /// passes it. `counter_past`: the counter was already moved past it (by hand), so one
    /// new event is all that is missing.
    CursorAhead {
        cursor: i64,
        newest: i64,
        counter_past: bool,
    },
    /// It stopped following this PDS (idle or offline: downtime, a move): a crawl request
    /// starts it again.
    Stopped { status: String, cursor: Option<i64> },
    /// It has never seen this host.
    NeverSeen,
    /// It throttles the host, or these accounts of it (handles): over its account limit.
    /// Only its operators can raise it.
    Throttled {
        accounts: Vec<String>,
        hosted: usize,
    },
    /// It has banned the host.
    Banned,
    /// It could not be asked, or its answer does not tell (why).
    Unknown { why: String },
}

impl Cause {
    /// Whether the repair can do something about it here.
    pub fn repairable(&self) -> bool {
        matches!(
            self,
            Cause::CursorAhead { .. } | Cause::Stopped { .. } | Cause::NeverSeen
        )
    }

    /// The cause in the operator's words.
    pub fn said(&self, relay: &str, host: &str) -> Finding {
        match self {
            Cause::InStep { cursor } => Finding::pass(format!(
                "{relay} follows {host}{}",
                cursor.map(|c| format!(" (last event #{c})")).unwrap_or_default()
            )),
            Cause::CursorAhead { cursor, newest, counter_past: false } => Finding::fail(format!(
                "{relay} last saw event #{cursor} from {host}, but this PDS's newest is #{newest}: it refuses the relay's cursor as \"in the future\", so nothing reaches the network"
            ))
            .why("the PDS numbers its events afresh after a wiped or restored data directory; the relay marks the host idle and asks again with the same cursor, so a crawl request alone loops")
            .fix("pds-wizard relay repair: moves the PDS's numbering past the cursor, writes one event, asks the relays to crawl and watches them"),
            Cause::CursorAhead { cursor, newest, counter_past: true } => Finding::fail(format!(
                "{relay} last saw event #{cursor} from {host}; this PDS's numbering is past it, but its newest event is still #{newest}"
            ))
            .why("the firehose compares the cursor with the newest event, not the counter: one new event makes it count")
            .fix("pds-wizard relay repair: writes one event, asks the relays to crawl and watches them"),
            Cause::Stopped { status, .. } => Finding::fail(format!("{relay} sees {host} as {status}: it does not follow this PDS now"))
                .why("after downtime or a move the relay stops dialing (offline after about 3–4 minutes of failed dials); the PDS asks for a crawl only on its next event, at most every 20 minutes")
                .fix("pds-wizard relay repair: asks it to crawl, writes one event and watches it"),
            Cause::NeverSeen => Finding::warn(format!("{relay} does not know {host} yet"))
                .why("a relay learns of a PDS when it is asked to crawl it")
                .fix("pds-wizard relay repair: asks it to crawl and watches it"),
            Cause::Throttled { accounts, hosted } => Finding::warn(match accounts.len() {
                0 => format!("{relay} throttles {host}: over its account limit"),
                n => format!("{relay} throttles {n} account(s) of {host}: {}", shown(accounts)),
            })
            .why("new hosts start at 100 accounts; the rest are throttled and their posts never reach the apps; nothing here can change that")
            .fix(format!(
                "only the relay's operators can raise the limit; send them this, then run the repair again to check the accounts:\n  {}",
                crate::relay::limit_request(relay, host, *hosted, None, accounts.len(), None)
            )),
            Cause::Banned => Finding::fail(format!("{relay} has banned {host}"))
                .why("a banned host's events are dropped")
                .fix("ask the relay's operators why (for bsky.network: Bluesky support)"),
            Cause::Unknown { why } => Finding::warn(format!("cannot tell how {relay} sees {host}: {why}")),
        }
    }
}

/// The one cause for a relay's answer, against this PDS's own numbering (None: it could
/// not be read, and a cursor cannot be compared).
pub fn cause(seen: Result<&HostSeen, &Unseen>, ours: Option<Sequence>) -> Cause {
    let seen = match seen {
        Ok(s) => s,
        Err(Unseen::NotFound) => return Cause::NeverSeen,
        Err(Unseen::Failed(why)) => return Cause::Unknown { why: why.clone() },
    };
    match seen.status.as_str() {
        "banned" => return Cause::Banned,
        "throttled" => {
            return Cause::Throttled {
                accounts: vec![],
                hosted: 0,
            }
        }
        _ => {}
    }
    // A fresh sequencer (no event at all) is #0: a relay that remembers more is the worst
    // desync there is.
    let newest = ours.map(|s| s.newest.unwrap_or(0));
    if let (Some(cursor), Some(newest)) = (seen.cursor, newest) {
        if cursor > newest {
            let counter_past = ours.and_then(|s| s.counter).is_some_and(|c| c >= cursor);
            return Cause::CursorAhead {
                cursor,
                newest,
                counter_past,
            };
        }
    }
    match seen.status.as_str() {
        "active" => Cause::InStep {
            cursor: seen.cursor,
        },
        other => Cause::Stopped {
            status: other.to_string(),
            cursor: seen.cursor,
        },
    }
}

/// The first five handles, and how many more.
fn shown(handles: &[String]) -> String {
    let more = handles.len().saturating_sub(5);
    let first = handles
        .iter()
        .take(5)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    match more {
        0 => first,
        n => format!("{first} and {n} more"),
    }
}

/// Why a relay's answer says nothing of the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unseen {
    /// The relay does not know it (its `HostNotFound`).
    NotFound,
    /// No answer, or one that does not tell: why.
    Failed(String),
}

impl std::fmt::Display for Unseen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unseen::NotFound => write!(f, "it does not know the host"),
            Unseen::Failed(why) => write!(f, "{why}"),
        }
    }
}

/// Ask `relay` how it sees `host`: its answer, or why it says nothing of it.
pub async fn host_status(c: &reqwest::Client, relay: &str, host: &str) -> Result<HostSeen, Unseen> {
    let r = c
        .get(format!("{relay}/xrpc/com.atproto.sync.getHostStatus"))
        .query(&[("hostname", host)])
        .send()
        .await
        .map_err(|e| Unseen::Failed(crate::http::chain(&e)))?;
    let status = r.status().as_u16();
    let body: serde_json::Value = crate::http::read_json(r, crate::http::cap::JSON)
        .await
        .unwrap_or_default();
    match (status, body["error"].as_str()) {
        (200, _) => Ok(HostSeen {
            status: body["status"].as_str().unwrap_or("unknown").to_string(),
            cursor: body["seq"].as_i64(),
            accounts: body["accountCount"].as_u64(),
        }),
        (400, Some("HostNotFound")) => Err(Unseen::NotFound),
        (404 | 501, _) | (_, Some("MethodNotImplemented")) => Err(Unseen::Failed(
            "it does not report host status (getHostStatus)".into(),
        )),
        (s, e) => Err(Unseen::Failed(format!(
            "HTTP {s} ({})",
            e.unwrap_or("no error name")
        ))),
    }
}

/// One step of a repair, said before anything runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "step", rename_all = "kebab-case")]
pub enum Step {
    /// Copy sequencer.sqlite (a consistent copy, the PDS may be running) beside it.
    Backup { db: PathBuf },
    /// Stop the PDS, so nothing writes an event while the numbering moves.
    StopPds { command: Vec<String> },
    /// Move the event counter to `to` (an upsert: a fresh sequencer has no row).
    MoveCounter { db: PathBuf, to: i64 },
    /// Start the PDS again and wait until it answers.
    StartPds { command: Vec<String> },
    /// Restart the PDS (only a restart command is known: the counter moves while it runs,
    /// as SQLite's lock allows; the PDS reads the counter at each new event).
    RestartPds { command: Vec<String> },
    /// Write one harmless event: the account's handle set to itself (an identity event).
    WriteEvent { did: String, handle: String },
    /// Ask the relay to crawl this host.
    RequestCrawl { relay: String },
    /// Watch the relay until it is active with a cursor past `past`.
    Watch { relay: String, past: i64 },
}

impl Step {
    /// The step in the operator's words, as a command where there is one.
    pub fn said(&self) -> String {
        let cmd = |c: &[String]| crate::pds::shown(c);
        match self {
            Step::Backup { db } => format!("back up {} (a consistent copy beside it)", db.display()),
            Step::StopPds { command } => format!("stop the PDS: {}", cmd(command)),
            Step::MoveCounter { db, to } => format!(
                "move the PDS's event counter to #{to} in {} (sqlite_sequence, row repo_seq: updated, or made when the sequencer has none)",
                db.display()
            ),
            Step::StartPds { command } => format!("start the PDS: {}, and wait until it answers", cmd(command)),
            Step::RestartPds { command } => format!("restart the PDS: {}, and wait until it answers", cmd(command)),
            Step::WriteEvent { handle, .. } => format!(
                "write one event: set {handle}'s handle to itself (the PDS announces it: an identity event)"
            ),
            Step::RequestCrawl { relay } => format!("ask {relay} to crawl this PDS"),
            Step::Watch { relay, past } => format!(
                "watch {relay} until it is active with a cursor past #{past}"
            ),
        }
    }
}

/// One relay as it sees this PDS: its host status and cursor, this PDS's accounts it
/// throttles or has never seen, and the one cause.
#[derive(Debug, Clone, Serialize)]
pub struct RelayView {
    pub relay: String,
    /// Its getHostStatus answer (None: it gave none).
    pub seen: Option<HostSeen>,
    /// Accounts of this PDS it throttles, and those it has never seen (handles; asked only
    /// of a relay that knows the host).
    pub throttled: Vec<String>,
    pub unseen: Vec<String>,
    pub cause: Cause,
}

impl RelayView {
    /// Its view in one line: status, cursor against this PDS's newest event, accounts.
    pub fn summary(&self, newest: Option<i64>) -> String {
        let Some(seen) = &self.seen else {
            return "no host status".into();
        };
        let cursor = match (seen.cursor, newest) {
            (Some(c), Some(n)) => format!("cursor #{c} (this PDS: #{n})"),
            (Some(c), None) => format!("cursor #{c}"),
            (None, _) => "no cursor".into(),
        };
        let accounts = seen
            .accounts
            .map(|n| format!(", {n} account(s)"))
            .unwrap_or_default();
        let mut s = format!("{}, {cursor}{accounts}", seen.status);
        if !self.throttled.is_empty() {
            s.push_str(&format!("; {} throttled", self.throttled.len()));
        }
        if !self.unseen.is_empty() {
            s.push_str(&format!(
                "; {} never seen: {}",
                self.unseen.len(),
                shown(&self.unseen)
            ));
        }
        s
    }
}

/// What the repair found and would do.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub host: String,
    /// Each relay: how it sees this PDS, and its one cause.
    pub relays: Vec<RelayView>,
    /// This PDS's numbering as read (None: unreadable, `why` in `notes`).
    pub sequence: Option<Sequence>,
    pub steps: Vec<Step>,
    /// What the plan could not do, and why (no way to stop the PDS, no account to write
    /// an event with, …).
    pub notes: Vec<Finding>,
}

impl Plan {
    /// Whether there is anything to carry out.
    pub fn needed(&self) -> bool {
        !self.steps.is_empty()
    }
}

/// How the PDS is stopped and started on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// The installer's unit, or its compose file: stop, then start.
    StopStart {
        stop: Vec<String>,
        start: Vec<String>,
    },
    /// Only a command that restarts it (--restart-command).
    Restart(Vec<String>),
}

/// How the PDS can be stopped and started here: --restart-command when given, else the
/// installer's systemd unit, else docker compose with the compose.yaml beside pds.env.
pub fn control(ctx: &crate::context::Context) -> Option<Control> {
    let restart = crate::pds::restart_command(ctx)?;
    if ctx
        .restart_command
        .as_deref()
        .is_some_and(|c| !c.trim().is_empty())
        || ctx.sandbox.is_some()
    {
        return Some(Control::Restart(restart));
    }
    // `systemctl restart pds` or `… compose -f FILE restart pds`: the same, stop and start.
    let with = |verb: &str| {
        restart
            .iter()
            .map(|a| {
                if a == "restart" {
                    verb.to_string()
                } else {
                    a.clone()
                }
            })
            .collect::<Vec<_>>()
    };
    Some(Control::StopStart {
        stop: with("stop"),
        start: with("start"),
    })
}

/// Work out the repair for these relays (every one in PDS_CRAWLERS when `relays` is
/// empty): ask each how it sees this host, read this PDS's numbering from `data_dir`
/// (PDS_DATA_DIRECTORY; the demo's stand-in's own), and put the steps in order. Nothing is
/// changed.
pub async fn plan(
    settings: &crate::settings::Resolved,
    doc: &crate::envfile::Document,
    relays: &[String],
    accounts: &[crate::pds::accounts::Account],
    data_dir: &Path,
) -> Plan {
    let active: Vec<&crate::pds::accounts::Account> =
        accounts.iter().filter(|a| a.active).collect();
    // The one harmless event is written with the first active account.
    let event = active.first().map(|a| (a.did.clone(), a.handle.clone()));
    let host = settings.hostname.clone().unwrap_or_default();
    let mut notes = Vec::new();
    let relays = crate::relay::chosen(doc, relays);
    if host.is_empty() {
        notes.push(Finding::fail(
            "PDS_HOSTNAME is not set: there is no host to ask the relays about",
        ));
    }
    if relays.is_empty() {
        notes.push(
            Finding::warn("PDS_CRAWLERS is empty: no relay to repair")
                .fix("set it (e.g. https://bsky.network) in pds.env, or name one with --relay"),
        );
    }
    let db_dir = data_dir.to_path_buf();
    let sequence = {
        let d = db_dir.clone();
        tokio::task::spawn_blocking(move || crate::pds::data::sequence(&d))
            .await
            .unwrap_or_else(|e| {
                Err(DataError::Unreadable {
                    path: db_dir.join("sequencer.sqlite"),
                    why: e.to_string(),
                })
            })
    };
    let sequence = match sequence {
        Ok(s) => Some(s),
        Err(e) => {
            notes.push(
                Finding::warn(format!("cannot read this PDS's event numbering: {e}")).fix(e.fix()),
            );
            None
        }
    };
    let c = match crate::http::client(&settings.http, "") {
        Ok(c) => c,
        Err(e) => {
            notes.push(Finding::fail(e));
            return Plan {
                host,
                relays: vec![],
                sequence,
                steps: vec![],
                notes,
            };
        }
    };
    let seen = futures::future::join_all(relays.iter().map(|r| host_status(&c, r, &host))).await;
    let dids: Vec<String> = active.iter().map(|a| a.did.clone()).collect();
    let mut views = Vec::new();
    for (relay, s) in relays.into_iter().zip(seen) {
        let mut cause = cause(s.as_ref(), sequence);
        // Each account as a relay that knows the host sees it (bounded, as the doctor).
        let (mut throttled, mut unseen) = (Vec::new(), Vec::new());
        if s.is_ok() && !dids.is_empty() {
            let states =
                crate::relay::repo_states(&c, &relay, &dids, crate::relay::CONCURRENCY).await;
            for (a, state) in active.iter().zip(states) {
                match state {
                    crate::relay::RepoState::Throttled => throttled.push(a.handle.clone()),
                    crate::relay::RepoState::NotFound => unseen.push(a.handle.clone()),
                    _ => {}
                }
            }
        }
        // Following the host, but dropping some of its accounts: that is the cause.
        if matches!(cause, Cause::InStep { .. } | Cause::Throttled { .. })
            && (!throttled.is_empty() || matches!(cause, Cause::Throttled { .. }))
        {
            cause = Cause::Throttled {
                accounts: throttled.clone(),
                hosted: active.len(),
            };
        }
        views.push(RelayView {
            relay,
            seen: s.ok(),
            throttled,
            unseen,
            cause,
        });
    }
    let causes: Vec<(String, Cause)> = views
        .iter()
        .map(|v| (v.relay.clone(), v.cause.clone()))
        .collect();
    let steps = steps(
        &causes,
        sequence,
        &db_dir,
        control(&settings.flags),
        event,
        &mut notes,
    );
    Plan {
        host,
        relays: views,
        sequence,
        steps,
        notes,
    }
}

/// The steps for these causes, in order (see the module's comment); what cannot be done is
/// said in `notes`.
pub fn steps(
    relays: &[(String, Cause)],
    sequence: Option<Sequence>,
    data_dir: &Path,
    control: Option<Control>,
    event: Option<(String, String)>,
    notes: &mut Vec<Finding>,
) -> Vec<Step> {
    let repairable: Vec<&(String, Cause)> = relays.iter().filter(|(_, c)| c.repairable()).collect();
    if repairable.is_empty() {
        return vec![];
    }
    let mut steps = Vec::new();
    // The highest cursor the counter must pass (only for relays ahead of the newest event
    // whose counter has not been moved yet).
    let ahead = repairable
        .iter()
        .filter_map(|(_, c)| match c {
            Cause::CursorAhead {
                cursor,
                counter_past: false,
                ..
            } => Some(*cursor),
            _ => None,
        })
        .max();
    if let Some(cursor) = ahead {
        let db = data_dir.join("sequencer.sqlite");
        // Past every cursor, with room: events a relay saw beyond what it reports.
        let to = cursor + 1000;
        match control {
            Some(Control::StopStart { stop, start }) => steps.extend([
                Step::StopPds { command: stop },
                Step::Backup { db: db.clone() },
                Step::MoveCounter { db, to },
                Step::StartPds { command: start },
            ]),
            Some(Control::Restart(command)) => steps.extend([
                Step::Backup { db: db.clone() },
                Step::MoveCounter { db, to },
                Step::RestartPds { command },
            ]),
            None => {
                notes.push(
                    Finding::fail("cannot stop and start the PDS here: no systemd unit `pds`, no compose.yaml beside pds.env")
                        .fix("give the command that restarts it: pds-wizard --restart-command '…' relay repair"),
                );
                return vec![];
            }
        }
    }
    match event {
        Some((did, handle)) => steps.push(Step::WriteEvent { did, handle }),
        None => notes.push(
            Finding::warn("no account on this PDS to write an event with: the relays see a new event only once someone posts")
                .fix("create the first account (pds-wizard accounts create …), then run the repair again"),
        ),
    }
    let newest = sequence.map(|s| s.newest.unwrap_or(0)).unwrap_or(0);
    for (relay, c) in &repairable {
        steps.push(Step::RequestCrawl {
            relay: relay.clone(),
        });
        let past = match c {
            Cause::CursorAhead { cursor, .. } => *cursor,
            Cause::Stopped {
                cursor: Some(c), ..
            } => (*c).max(newest),
            _ => newest,
        };
        steps.push(Step::Watch {
            relay: relay.clone(),
            past,
        });
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(status: &str, cursor: i64) -> HostSeen {
        HostSeen {
            status: status.into(),
            cursor: Some(cursor),
            accounts: Some(1),
        }
    }

    fn seq(newest: Option<i64>, counter: Option<i64>) -> Option<Sequence> {
        Some(Sequence { newest, counter })
    }

    #[test]
    fn each_answer_has_one_cause() {
        // A wiped /pds: no event at all, a relay that remembers #2480311.
        assert_eq!(
            cause(Ok(&seen("idle", 2480311)), seq(None, None)),
            Cause::CursorAhead {
                cursor: 2480311,
                newest: 0,
                counter_past: false
            }
        );
        // The counter moved by hand, no event since.
        assert_eq!(
            cause(Ok(&seen("idle", 500)), seq(Some(20), Some(1500))),
            Cause::CursorAhead {
                cursor: 500,
                newest: 20,
                counter_past: true
            }
        );
        assert_eq!(
            cause(Ok(&seen("active", 20)), seq(Some(25), Some(25))),
            Cause::InStep { cursor: Some(20) }
        );
        assert_eq!(
            cause(Ok(&seen("offline", 20)), seq(Some(25), Some(25))),
            Cause::Stopped {
                status: "offline".into(),
                cursor: Some(20)
            }
        );
        assert_eq!(
            cause(Ok(&seen("throttled", 20)), seq(Some(25), None)),
            Cause::Throttled {
                accounts: vec![],
                hosted: 0
            }
        );
        assert_eq!(cause(Ok(&seen("banned", 20)), None), Cause::Banned);
        assert_eq!(cause(Err(&Unseen::NotFound), None), Cause::NeverSeen);
        assert!(matches!(
            cause(Err(&Unseen::Failed("HTTP 500 (x)".into())), None),
            Cause::Unknown { .. }
        ));
        // Unreadable numbering: a cursor cannot be compared, the status still tells.
        assert_eq!(
            cause(Ok(&seen("active", 9)), None),
            Cause::InStep { cursor: Some(9) }
        );
    }

    #[test]
    fn a_cursor_ahead_is_repaired_past_the_highest_cursor_with_the_pds_stopped_meanwhile() {
        let relays = vec![
            (
                "https://a".to_string(),
                Cause::CursorAhead {
                    cursor: 100,
                    newest: 0,
                    counter_past: false,
                },
            ),
            (
                "https://b".to_string(),
                Cause::CursorAhead {
                    cursor: 300,
                    newest: 0,
                    counter_past: false,
                },
            ),
            ("https://c".to_string(), Cause::InStep { cursor: Some(0) }),
        ];
        let control = Control::StopStart {
            stop: vec!["stop".into()],
            start: vec!["start".into()],
        };
        let mut notes = vec![];
        let event = Some(("did:plc:x".to_string(), "alice.test".to_string()));
        let s = steps(
            &relays,
            seq(None, None),
            Path::new("/pds"),
            Some(control),
            event,
            &mut notes,
        );
        let db = PathBuf::from("/pds/sequencer.sqlite");
        assert_eq!(
            s,
            vec![
                Step::StopPds {
                    command: vec!["stop".into()]
                },
                Step::Backup { db: db.clone() },
                Step::MoveCounter { db, to: 1300 },
                Step::StartPds {
                    command: vec!["start".into()]
                },
                Step::WriteEvent {
                    did: "did:plc:x".into(),
                    handle: "alice.test".into()
                },
                Step::RequestCrawl {
                    relay: "https://a".into()
                },
                Step::Watch {
                    relay: "https://a".into(),
                    past: 100
                },
                Step::RequestCrawl {
                    relay: "https://b".into()
                },
                Step::Watch {
                    relay: "https://b".into(),
                    past: 300
                },
            ]
        );
        assert!(notes.is_empty(), "{notes:?}");
        // Nothing to stop the PDS with: no step at all, and why.
        let mut notes = vec![];
        let none = steps(
            &relays,
            seq(None, None),
            Path::new("/pds"),
            None,
            None,
            &mut notes,
        );
        assert!(none.is_empty());
        assert!(
            notes[0].what.contains("cannot stop and start the PDS"),
            "{notes:?}"
        );
    }

    #[test]
    fn throttled_or_banned_relays_change_nothing() {
        let relays = vec![
            (
                "https://a".to_string(),
                Cause::Throttled {
                    accounts: vec!["a.test".into()],
                    hosted: 120,
                },
            ),
            ("https://b".to_string(), Cause::Banned),
            ("https://c".to_string(), Cause::InStep { cursor: Some(3) }),
        ];
        let mut notes = vec![];
        let control = Some(Control::Restart(vec!["restart".into()]));
        assert!(steps(
            &relays,
            seq(Some(3), None),
            Path::new("/pds"),
            control,
            None,
            &mut notes
        )
        .is_empty());
    }
}

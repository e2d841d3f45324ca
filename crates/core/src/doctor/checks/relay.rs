//! The relays: whether they were asked to crawl, follow the PDS, and carry its accounts.

use super::*;
use crate::repair::{self, Cause};

pub(super) async fn crawlers(i: &Inputs) -> Vec<Finding> {
    let Some(list) = i.get("PDS_CRAWLERS").filter(|l| !l.trim().is_empty()) else {
        return vec![Finding::warn(
            "PDS_CRAWLERS is empty: no relay hears about new posts, so nobody else sees them",
        )
        .fix("set PDS_CRAWLERS=https://bsky.network (the installer's default)")];
    };
    // Relays are other people's servers: never redirected by --connect-to.
    let c = match client(&local(i), "") {
        Ok(c) => c,
        Err(e) => return vec![Finding::fail(e)],
    };
    let urls = crate::relay::crawler_urls(&list);
    let answers = futures::future::join_all(
        urls.iter()
            .map(|u| c.get(format!("{u}/xrpc/_health")).send()),
    )
    .await;
    let mut out = Vec::new();
    for (u, r) in urls.iter().zip(answers) {
        match r {
            Ok(r) => {
                out.push(Finding::pass(format!("{u} answers (HTTP {})", r.status().as_u16())));
                if i.request_crawl {
                    out.push(crate::relay::request_crawl(&c, u, i.settings.hostname.as_deref()).await);
                }
            }
            Err(e) => out.push(
                Finding::fail(format!("cannot reach {u}")).caused_by(&e)
                    .why("the PDS tells each crawler about new posts; an unreachable one never hears")
                    .fix("check the spelling in PDS_CRAWLERS, and that this server may make outbound HTTPS connections"),
            ),
        }
    }
    out
}

/// Relays skip every event whose sequence number is at or below the last they saw from a
/// host. A PDS reinstalled (or restored from an old backup) numbers its events from an
/// earlier point, so until it passes the relay's number nothing it does reaches the network.
pub(super) async fn relay_sync(i: &Inputs) -> Vec<Finding> {
    let host = match hostname(i) {
        Ok(h) => h,
        Err(f) => return f,
    };
    let Some(list) = i.get("PDS_CRAWLERS").filter(|l| !l.trim().is_empty()) else {
        return vec![Finding::info(
            "PDS_CRAWLERS is empty: no relay to compare with",
        )];
    };
    let data_dir = i
        .doc
        .as_ref()
        .map(crate::pds::data::data_dir)
        .unwrap_or_else(|| "/pds".into());
    let ours = {
        let d = data_dir.clone();
        tokio::task::spawn_blocking(move || crate::pds::data::sequence(&d))
            .await
            .unwrap_or_else(|e| {
                Err(crate::pds::data::DataError::Unreadable {
                    path: data_dir.join("sequencer.sqlite"),
                    why: e.to_string(),
                })
            })
    };
    let c = match client(&local(i), "") {
        Ok(c) => c,
        Err(e) => return vec![Finding::fail(e)],
    };
    let mut out = Vec::new();
    // Said once, and only if some relay gave a number to compare with.
    let (ours, mut unreadable) = match ours {
        // No event at all (a fresh sequencer: /pds wiped or reinstalled) is #0, not
        // "unknown": a relay that remembers more is the worst desync there is.
        Ok(seq) => (Some(seq), None),
        Err(e) => (
            None,
            Some(
                Finding::warn(format!("cannot read this PDS's sequence number: {e}"))
                    .why("the relay's view can only be compared with the PDS's own newest event")
                    .fix(e.fix()),
            ),
        ),
    };
    let urls = crate::relay::crawler_urls(&list);
    let answers = futures::future::join_all(urls.iter().map(|u| {
        c.get(format!("{u}/xrpc/com.atproto.sync.getHostStatus"))
            .query(&[("hostname", host.as_str())])
            .send()
    }))
    .await;
    for (u, r) in urls.iter().zip(answers) {
        let start = out.len();
        // The relay's one cause (see `repair`), for scripts and the wizard's Relays step.
        let cause = 'relay: {
            let r = match r {
                Ok(r) => r,
                Err(e) => {
                    out.push(Finding::fail(format!("cannot ask {u} about {host}")).caused_by(&e));
                    break 'relay Cause::Unknown {
                        why: crate::http::chain(&e),
                    };
                }
            };
            let status = r.status().as_u16();
            let body: serde_json::Value = crate::http::read_json(r, crate::http::cap::JSON)
                .await
                .unwrap_or_default();
            if status != 200 {
                let error = body["error"].as_str().unwrap_or_default();
                out.push(match (status, error) {
                (400, "HostNotFound") => Finding::warn(format!("{u} does not know {host} yet"))
                    .why("a relay learns of a PDS when it is asked to crawl it (the PDS asks the relays in PDS_CRAWLERS on its next event, at most every 20 minutes)")
                    .fix("ask it: pds-wizard doctor --request-crawl (or c on the wizard's Doctor step)"),
                (404 | 501, _) | (400, "MethodNotImplemented") => {
                    Finding::info(format!("{u} does not report host status (com.atproto.sync.getHostStatus)"))
                }
                _ => Finding::warn(format!(
                    "{u} answered HTTP {status} about {host}: {}",
                    body["message"].as_str().unwrap_or(error)
                )),
            });
                break 'relay match error {
                    "HostNotFound" => Cause::NeverSeen,
                    e => Cause::Unknown {
                        why: format!("HTTP {status} ({e})"),
                    },
                };
            }
            let relay_status = body["status"].as_str().unwrap_or("unknown");
            let relay_seq = body["seq"].as_i64();
            match relay_status {
            "banned" => out.push(
                Finding::fail(format!("{u} has banned {host}"))
                    .why("a banned host's events are dropped")
                    .fix("ask the relay's operators (for bsky.network: Bluesky support) why"),
            ),
            "throttled" => out.push(
                Finding::warn(format!("{u} is throttling {host}"))
                    .why("the relay slows a host that sends more than its limits allow"),
            ),
            "offline" => out.push(
                Finding::warn(format!("{u} sees {host} as offline"))
                    .why("the relay could not keep a firehose connection to this PDS")
                    .fix(
                        "check the websocket check above, then: pds-wizard doctor --request-crawl",
                    ),
            ),
            _ => {}
        }
            // The firehose compares a relay's cursor with its newest event (the rows), not
            // with the counter: see PDS-FACTS "Relay cursors".
            let ours_newest = ours.map(|s| s.newest.unwrap_or(0));
            match (relay_seq, ours_newest) {
                (Some(r), Some(o))
                    if r > o && ours.and_then(|s| s.counter).is_some_and(|c| c >= r) =>
                {
                    // Moved past by hand already: one new event makes it count.
                    let handle = any_handle(i).await;
                    out.push(
                    Finding::fail(format!(
                        "{u} last saw event #{r} from {host}; this PDS's numbering is past it, but its newest event is still #{o}: the relay's cursor stays \"in the future\" until one new event is written"
                    ))
                    .why("the firehose compares the relay's cursor with its newest event, not with the counter; the relay reconnects with the same cursor")
                    .fix(format!(
                        "write one event, then ask for a crawl:\n  1. pds-wizard handle refresh {handle} (the PDS announces the handle again: an identity event)\n  2. pds-wizard doctor --request-crawl, then post something and check it shows up"
                    )),
                );
                }
                (Some(r), Some(o)) if r > o => {
                    let handle = any_handle(i).await;
                    let n = r + 1000;
                    let db = data_dir.join("sequencer.sqlite");
                    let at = if o == 0 {
                        "has no events at all (its sequencer starts afresh: a wiped or reinstalled data directory)".to_string()
                    } else {
                        format!("is only at #{o}")
                    };
                    out.push(
                    Finding::fail(format!(
                        "{u} last saw event #{r} from {host}, but this PDS {at}: the relay drops everything until the PDS passes #{r}"
                    ))
                    .why("the PDS numbers its events afresh after a reinstall or a restore from an older backup, and a relay ignores events numbered at or below the last it saw (it calls a cursor above the PDS's newest event \"in the future\" and reconnects with it); new posts, handles and profile changes never reach the network")
                    .fix(format!(
                        "move the PDS's numbering past the relay's, write one event, then ask for a crawl (pds-wizard shows these and runs none of them):\n  1. stop the PDS: systemctl stop pds\n  2. sudo sqlite3 {} \"UPDATE sqlite_sequence SET seq = {n} WHERE name = 'repo_seq'; INSERT INTO sqlite_sequence (name, seq) SELECT 'repo_seq', {n} WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'repo_seq');\"\n  3. start it: systemctl start pds\n  4. pds-wizard handle refresh {handle} (an identity event: the first event past #{r})\n  5. pds-wizard doctor --request-crawl, then post something and check it shows up",
                        db.display()
                    )),
                );
                }
                (Some(r), Some(o)) => out.push(Finding::pass(format!(
                    "{u}: {host} is {relay_status}, last event #{r}; this PDS is at #{o}{}",
                    if o - r > 0 {
                        format!(" ({} not yet relayed)", o - r)
                    } else {
                        String::new()
                    }
                ))),
                (Some(r), None) => {
                    out.extend(unreadable.take());
                    out.push(Finding::info(format!(
                        "{u}: {host} is {relay_status}, last event #{r}"
                    )));
                }
                (None, _) => out.push(Finding::info(format!(
                    "{u}: {host} is {relay_status}; it reports no event number"
                ))),
            }
            repair::cause(
                Ok(&repair::HostSeen {
                    status: relay_status.to_string(),
                    cursor: relay_seq,
                    accounts: body["accountCount"].as_u64(),
                }),
                ours,
            )
        };
        let repairable = cause.repairable();
        let data = serde_json::json!({ "relay": u, "cause": cause });
        for f in &mut out[start..] {
            f.data = Some(Box::new(data.clone()));
            if repairable && f.level >= Level::Warn {
                f.target = Some(crate::target::Target::Relays);
                f.fix = match f.fix.is_empty() {
                    true => "pds-wizard relay repair (shows the repair first; --yes carries it out)".into(),
                    false => format!("pds-wizard relay repair does this (shown first; --yes carries it out), or by hand:\n{}", f.fix),
                };
            }
        }
    }
    out
}

/// A handle of this PDS, for a command that writes one event (HANDLE when none is known).
async fn any_handle(i: &Inputs) -> String {
    i.accounts()
        .await
        .as_ref()
        .ok()
        .and_then(|a| a.first().map(|a| a.handle.clone()))
        .unwrap_or_else(|| "HANDLE".into())
}

/// Each local account as each relay in PDS_CRAWLERS sees it (getRepoStatus), and the
/// host's count against the relay's limit for a new PDS (getHostStatus): throttled
/// accounts fail, with the text of the request that raises the limit.
pub(super) async fn relay_accounts(i: &Inputs) -> Vec<Finding> {
    let host = match hostname(i) {
        Ok(h) => h,
        Err(f) => return f,
    };
    let Some(list) = i.get("PDS_CRAWLERS").filter(|l| !l.trim().is_empty()) else {
        return vec![Finding::info("PDS_CRAWLERS is empty: no relay to ask")];
    };
    let accounts = match i.accounts().await {
        Ok(a) => a,
        Err(f) => return vec![f.clone()],
    };
    if accounts.is_empty() {
        return vec![Finding::info("no accounts yet")];
    }
    let locals: Vec<crate::relay::Local> = accounts
        .iter()
        .map(|a| crate::relay::Local {
            handle: a.handle.clone(),
            did: a.did.clone(),
            active: a.active,
        })
        .collect();
    let dids: Vec<String> = locals.iter().map(|l| l.did.clone()).collect();
    let c = match client(&local(i), "") {
        Ok(c) => c,
        Err(e) => return vec![Finding::fail(e)],
    };
    let contact = i.get("PDS_CONTACT_EMAIL_ADDRESS");
    let urls = crate::relay::crawler_urls(&list);
    let asks: Vec<_> = urls
        .iter()
        .map(|u| ask_relay(&c, u, &host, &dids, &locals, contact.as_deref()))
        .collect();
    futures::future::join_all(asks)
        .await
        .into_iter()
        .flatten()
        .collect()
}

async fn ask_relay(
    c: &reqwest::Client,
    relay: &str,
    host: &str,
    dids: &[String],
    locals: &[crate::relay::Local],
    contact: Option<&str>,
) -> Vec<Finding> {
    let (counted, states) = futures::future::join(
        crate::relay::account_count(c, relay, host),
        crate::relay::repo_states(c, relay, dids, crate::relay::CONCURRENCY),
    )
    .await;
    let mut findings = crate::relay::judge(relay, host, locals, counted, &states, contact);
    // Throttled accounts are this relay's cause (see `repair`): as data for scripts.
    let throttled: Vec<String> = locals
        .iter()
        .zip(&states)
        .filter(|(l, s)| l.active && **s == crate::relay::RepoState::Throttled)
        .map(|(l, _)| l.handle.clone())
        .collect();
    if !throttled.is_empty() {
        let cause = Cause::Throttled {
            accounts: throttled,
            hosted: locals.iter().filter(|l| l.active).count(),
        };
        let data = serde_json::json!({ "relay": relay, "cause": cause });
        for f in findings.iter_mut().filter(|f| f.level >= Level::Warn) {
            f.data = Some(Box::new(data.clone()));
        }
    }
    findings
}

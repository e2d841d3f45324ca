//! Each local account as a relay sees it. Bluesky's relay takes at most 100 accounts from a
//! new PDS; the rest are `throttled` (`com.atproto.sync.getRepoStatus` on the relay) and
//! their posts never reach the app — the problem PDS operators reported most in 2026
//! (PDS-FACTS "Relay limits"). Asked concurrently, a bounded number at a time, so hundreds
//! of accounts take seconds, not minutes, and a relay is not flooded.

use crate::finding::Finding;
use futures::StreamExt;

/// Accounts a relay takes from a new PDS before it throttles the rest.
pub const NEW_HOST_ACCOUNT_LIMIT: u64 = 100;
/// A host this close to the limit is warned before accounts are throttled.
pub const NEAR_LIMIT: u64 = 80;
/// Requests in flight to one relay at once.
pub const CONCURRENCY: usize = 32;

/// One account as a relay reports it (getRepoStatus).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RepoState {
    Active,
    /// Past the relay's account limit for this host: its events are dropped.
    Throttled,
    Takendown,
    Suspended,
    Deactivated,
    Deleted,
    /// The relay's copy fell out of step with the PDS.
    Desynchronized,
    /// A status this version does not know, as the relay wrote it.
    Other(String),
    /// The relay has never seen the account (RepoNotFound).
    NotFound,
    /// The relay does not implement getRepoStatus (404, 501, MethodNotImplemented).
    Unsupported,
    /// No answer, or not one that reads: why.
    Failed(String),
}

impl RepoState {
    fn from_answer(status: u16, body: &serde_json::Value) -> RepoState {
        if status == 400 && body["error"] == "RepoNotFound" {
            return RepoState::NotFound;
        }
        if matches!(status, 404 | 501) || body["error"] == "MethodNotImplemented" {
            return RepoState::Unsupported;
        }
        if status != 200 {
            let why = body["error"].as_str().unwrap_or("no error name");
            return RepoState::Failed(format!("HTTP {status} ({why})"));
        }
        match (body["active"].as_bool(), body["status"].as_str()) {
            (Some(true), _) => RepoState::Active,
            (_, Some("throttled")) => RepoState::Throttled,
            (_, Some("takendown")) => RepoState::Takendown,
            (_, Some("suspended")) => RepoState::Suspended,
            (_, Some("deactivated")) => RepoState::Deactivated,
            (_, Some("deleted")) => RepoState::Deleted,
            (_, Some("desynchronized")) => RepoState::Desynchronized,
            (_, Some(other)) => RepoState::Other(other.to_string()),
            (_, None) => RepoState::Failed("an answer without active or status".into()),
        }
    }
}

/// Each DID's state at `relay`, in the order given, at most `concurrency` asked at once.
pub async fn repo_states(
    c: &reqwest::Client,
    relay: &str,
    dids: &[String],
    concurrency: usize,
) -> Vec<RepoState> {
    let url = format!(
        "{}/xrpc/com.atproto.sync.getRepoStatus",
        relay.trim_end_matches('/')
    );
    // Each future owns its request (none borrows the list), so the whole stays Send.
    let asks: Vec<_> = dids
        .iter()
        .map(|did| ask(c.get(&url).query(&[("did", did.as_str())])))
        .collect();
    futures::stream::iter(asks)
        .buffered(concurrency.max(1))
        .collect()
        .await
}

async fn ask(req: reqwest::RequestBuilder) -> RepoState {
    match req.send().await {
        Err(e) => RepoState::Failed(crate::http::chain(&e)),
        Ok(r) => {
            let status = r.status().as_u16();
            let body = crate::http::read_json(r, crate::http::cap::JSON)
                .await
                .unwrap_or_default();
            RepoState::from_answer(status, &body)
        }
    }
}

/// What a relay says about the host as a whole (getHostStatus), when it says it.
pub async fn account_count(c: &reqwest::Client, relay: &str, host: &str) -> Option<u64> {
    let r = c
        .get(format!(
            "{}/xrpc/com.atproto.sync.getHostStatus",
            relay.trim_end_matches('/')
        ))
        .query(&[("hostname", host)])
        .send()
        .await
        .ok()?;
    if !r.status().is_success() {
        return None;
    }
    crate::http::read_json::<serde_json::Value>(r, crate::http::cap::JSON)
        .await
        .ok()?["accountCount"]
        .as_u64()
}

/// One local account: its handle (for people) and DID (what relays know).
#[derive(Debug, Clone)]
pub struct Local {
    pub handle: String,
    pub did: String,
    /// Deactivated on the PDS itself: the relay rightly does not relay it.
    pub active: bool,
}

/// The text of a request to raise the relay's account limit for this host, with the
/// numbers filled in.
pub fn limit_request(
    relay: &str,
    host: &str,
    accounts: usize,
    counted: Option<u64>,
    throttled: usize,
    contact: Option<&str>,
) -> String {
    // Room to grow: half as many again as today, in whole hundreds, at least 200.
    let ask = ((accounts as u64 * 3 / 2).div_ceil(100) * 100).max(200);
    let counted = counted.map_or(String::new(), |n| format!(" ({relay} counts {n})"));
    let throttled = if throttled > 0 {
        format!(", and {throttled} of them are throttled, so their posts do not appear")
    } else {
        String::new()
    };
    let contact = contact.map_or(String::new(), |c| format!(" You can reach me at {c}."));
    format!(
        "Hello, I run the PDS at https://{host}. It hosts {accounts} accounts{counted}{throttled}. \
The limit for a new host is {NEW_HOST_ACCOUNT_LIMIT}. Please raise the account limit for {host} to {ask}.{contact}"
    )
}

fn names(accounts: &[&Local]) -> String {
    let shown: Vec<&str> = accounts.iter().take(5).map(|a| a.handle.as_str()).collect();
    let more = accounts.len().saturating_sub(shown.len());
    if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

/// Findings for one relay: the host's count against the limit, throttled accounts (with
/// the request to send), and accounts the relay has not seen or holds otherwise.
pub fn judge(
    relay: &str,
    host: &str,
    locals: &[Local],
    counted: Option<u64>,
    states: &[RepoState],
    contact: Option<&str>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    if !states.is_empty() && states.iter().all(|s| *s == RepoState::Unsupported) {
        return vec![Finding::info(format!(
            "{relay} does not report account status (com.atproto.sync.getRepoStatus)"
        ))];
    }
    let with = |want: &dyn Fn(&RepoState) -> bool| -> Vec<&Local> {
        locals
            .iter()
            .zip(states)
            .filter(|(l, s)| l.active && want(s))
            .map(|(l, _)| l)
            .collect()
    };
    let throttled = with(&|s| *s == RepoState::Throttled);
    let active_here = locals.iter().filter(|l| l.active).count();
    let request = || limit_request(relay, host, active_here, counted, throttled.len(), contact);
    if !throttled.is_empty() {
        out.push(
            Finding::fail(format!(
                "{relay} throttles {} of {active_here} accounts: {}",
                throttled.len(),
                names(&throttled)
            ))
            .why(format!(
                "A relay takes at most {NEW_HOST_ACCOUNT_LIMIT} accounts from a new PDS; the events of the rest are dropped, so their posts never appear in the app."
            ))
            .fix(format!(
                "Ask the relay's operators to raise the limit (for bsky.network: Bluesky support). For example:\n  {}",
                request()
            )),
        );
    } else {
        let most = counted.unwrap_or(0).max(active_here as u64);
        if most >= NEAR_LIMIT {
            out.push(
                Finding::warn(format!(
                    "{relay}: {most} accounts from {host}, near the limit of {NEW_HOST_ACCOUNT_LIMIT} for a new host"
                ))
                .why("Accounts past the limit are throttled: their posts never appear in the app.")
                .fix(format!(
                    "Ask the relay's operators to raise the limit before it is reached (for bsky.network: Bluesky support). For example:\n  {}",
                    request()
                )),
            );
        }
    }
    let unseen = with(&|s| *s == RepoState::NotFound);
    if !unseen.is_empty() {
        out.push(
            Finding::warn(format!(
                "{relay} has not seen {} accounts: {}",
                unseen.len(),
                names(&unseen)
            ))
            .why("A relay learns of an account from the PDS's firehose; an account it never saw has nothing relayed.")
            .fix("pds-wizard doctor --request-crawl (or c on the wizard's Doctor step); if it stays, post from the account"),
        );
    }
    let out_of_step = with(&|s| *s == RepoState::Desynchronized);
    if !out_of_step.is_empty() {
        out.push(
            Finding::warn(format!(
                "{relay} holds {} accounts out of step: {}",
                out_of_step.len(),
                names(&out_of_step)
            ))
            .why("The relay's copy of these repositories no longer matches the PDS; it resyncs them when asked.")
            .fix("pds-wizard doctor --request-crawl"),
        );
    }
    let held = with(&|s| {
        matches!(
            s,
            RepoState::Takendown
                | RepoState::Suspended
                | RepoState::Deactivated
                | RepoState::Deleted
                | RepoState::Other(_)
        )
    });
    if !held.is_empty() {
        out.push(
            Finding::warn(format!(
                "{relay} does not relay {} accounts that are active here (taken down, suspended or deactivated there): {}",
                held.len(),
                names(&held)
            ))
            .why("The relay's moderation or a stale deactivation stops their events.")
            .fix("Ask the relay's operators (for bsky.network: Bluesky support) about these accounts."),
        );
    }
    let failed: Vec<&str> = states
        .iter()
        .filter_map(|s| match s {
            RepoState::Failed(why) => Some(why.as_str()),
            _ => None,
        })
        .collect();
    if !failed.is_empty() {
        out.push(Finding::warn(format!(
            "{relay} did not answer for {} accounts (first: {})",
            failed.len(),
            failed[0]
        )));
    }
    if out.is_empty() {
        out.push(Finding::pass(format!(
            "{relay}: all {active_here} accounts active{}",
            counted.map_or(String::new(), |n| format!(" ({n} counted for {host})"))
        )));
    }
    out
}

/// PDS_CRAWLERS as URLs (the PDS splits on commas; a bare name means https).
pub fn crawler_urls(list: &str) -> Vec<String> {
    list.split(',')
        .map(|u| u.trim().trim_end_matches('/'))
        .filter(|u| !u.is_empty())
        .map(|u| {
            if u.contains("://") {
                u.to_string()
            } else {
                format!("https://{u}")
            }
        })
        .collect()
}

/// The relays an operation works with: those named (without a trailing slash), else each
/// one in pds.env's PDS_CRAWLERS.
pub fn chosen(doc: &crate::envfile::Document, named: &[String]) -> Vec<String> {
    if named.is_empty() {
        crawler_urls(&doc.get("PDS_CRAWLERS").unwrap_or_default())
    } else {
        named
            .iter()
            .map(|r| r.trim_end_matches('/').to_string())
            .collect()
    }
}

/// Ask `relay` to crawl this PDS (`com.atproto.sync.requestCrawl` with its hostname).
pub async fn request_crawl(c: &reqwest::Client, relay: &str, host: Option<&str>) -> Finding {
    ask_crawl(c, relay, host).await.0
}

/// `request_crawl`, and whether the relay answered at all (false: it could not be reached,
/// which says nothing about this PDS).
pub async fn ask_crawl(c: &reqwest::Client, relay: &str, host: Option<&str>) -> (Finding, bool) {
    let Some(host) = host else {
        return (
            Finding::fail("cannot ask for a crawl: PDS_HOSTNAME is not set"),
            true,
        );
    };
    let url = format!("{relay}/xrpc/com.atproto.sync.requestCrawl");
    match c
        .post(&url)
        .json(&serde_json::json!({ "hostname": host }))
        .send()
        .await
    {
        Ok(r) if r.status().is_success() => (
            Finding::pass(format!("{relay} accepted the crawl request for {host}")),
            true,
        ),
        Ok(r) => {
            let status = r.status().as_u16();
            let body = crate::http::read_text(r, crate::http::cap::TEXT)
                .await
                .unwrap_or_default();
            (Finding::fail(format!("{relay} refused the crawl request (HTTP {status}): {}", body.chars().take(200).collect::<String>()))
                .why("relays crawl only a public hostname without a port, over HTTPS, whose describeServer answers within 5 s")
                .fix("make https://HOST/xrpc/com.atproto.server.describeServer answer quickly from outside, then ask again"), true)
        }
        Err(e) => (
            Finding::fail(format!("the crawl request to {relay} failed")).caused_by(&e),
            false,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn locals(n: usize) -> Vec<Local> {
        (0..n)
            .map(|i| Local {
                handle: format!("user{i}.pds.example.com"),
                did: format!("did:plc:user{i}"),
                active: true,
            })
            .collect()
    }

    #[test]
    fn states_are_read_from_the_relays_answer() {
        use serde_json::json;
        let read = |s, b| RepoState::from_answer(s, &b);
        assert_eq!(
            read(200, json!({"did": "d", "active": true})),
            RepoState::Active
        );
        assert_eq!(
            read(200, json!({"active": false, "status": "throttled"})),
            RepoState::Throttled
        );
        assert_eq!(
            read(400, json!({"error": "RepoNotFound"})),
            RepoState::NotFound
        );
        assert_eq!(
            read(200, json!({"active": false, "status": "brand-new"})),
            RepoState::Other("brand-new".into())
        );
        assert!(matches!(read(502, json!({})), RepoState::Failed(_)));
        assert_eq!(read(404, json!({})), RepoState::Unsupported);
    }

    #[test]
    fn throttled_accounts_fail_with_the_request_to_send() {
        let l = locals(130);
        let mut states = vec![RepoState::Active; 100];
        states.extend(vec![RepoState::Throttled; 30]);
        let f = judge(
            "https://bsky.network",
            "pds.example.com",
            &l,
            Some(130),
            &states,
            Some("admin@example.com"),
        );
        assert_eq!(f[0].level, crate::finding::Level::Fail);
        assert!(
            f[0].what.starts_with(
                "https://bsky.network throttles 30 of 130 accounts: user100.pds.example.com, "
            ),
            "{}",
            f[0].what
        );
        assert!(f[0].what.ends_with("and 25 more"), "{}", f[0].what);
        assert!(
            f[0].fix.contains("It hosts 130 accounts (https://bsky.network counts 130), and 30 of them are throttled")
                && f[0].fix.contains("raise the account limit for pds.example.com to 200.")
                && f[0].fix.contains("admin@example.com"),
            "{}",
            f[0].fix
        );
    }

    #[test]
    fn nearing_the_limit_warns_and_a_small_host_passes() {
        let l = locals(85);
        let f = judge("r", "h", &l, Some(85), &vec![RepoState::Active; 85], None);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].level, crate::finding::Level::Warn);
        assert!(f[0]
            .what
            .contains("85 accounts from h, near the limit of 100"));
        let l = locals(3);
        let f = judge("r", "h", &l, None, &vec![RepoState::Active; 3], None);
        assert_eq!(f[0].level, crate::finding::Level::Pass, "{f:?}");
        // An account deactivated on the PDS is not the relay's fault.
        let mut l = locals(2);
        l[1].active = false;
        let f = judge(
            "r",
            "h",
            &l,
            None,
            &[RepoState::Active, RepoState::Deactivated],
            None,
        );
        assert_eq!(f[0].level, crate::finding::Level::Pass, "{f:?}");
    }

    #[test]
    fn the_request_asks_for_room_to_grow() {
        assert!(limit_request("r", "h", 130, None, 30, None).contains("to 200."));
        assert!(limit_request("r", "h", 350, None, 250, None).contains("to 600."));
    }
}

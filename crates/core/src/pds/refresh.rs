//! Re-announcing a handle once it verifies: apps keep showing "Invalid Handle" until the
//! network hears about the handle again. The PDS emits an identity event for an account
//! when its handle is set, also to the same value (the PDS's own advice: "users can emit
//! the event again by updating their handle to the same value"); the relays in
//! PDS_CRAWLERS are asked to crawl; the AppView's view of the handle is read back.

use crate::finding::{worst, Finding, Level};
use crate::http::{client, HttpOptions};
use crate::identity::Handle;
use crate::secret::Secret;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct RefreshReport {
    pub handle: String,
    pub did: Option<String>,
    /// One finding per step: the identity event, each relay, the AppView.
    pub steps: Vec<Finding>,
    pub level: Level,
}

/// Where to announce: the PDS (admin API), the relays, the AppView to read back from.
pub struct Announce {
    pub pds_url: String,
    pub admin_password: Secret,
    /// PDS_HOSTNAME, for the crawl requests.
    pub hostname: Option<String>,
    /// PDS_CRAWLERS as URLs.
    pub relays: Vec<String>,
    /// PDS_BSKY_APP_VIEW_URL.
    pub appview: Option<String>,
    pub http: HttpOptions,
}

/// Have the PDS announce `handle` again, ask the relays to crawl, and read the AppView's
/// view of the handle back.
pub async fn refresh(handle: &Handle, to: &Announce) -> RefreshReport {
    let mut steps = Vec::new();
    let report = |did: Option<String>, steps: Vec<Finding>| RefreshReport {
        handle: handle.as_str().to_string(),
        did,
        level: worst(&steps),
        steps,
    };
    let accounts = match (crate::pds::admin::Admin {
        pds_url: to.pds_url.clone(),
        password: to.admin_password.clone(),
        http: to.http.clone(),
    }
    .accounts()
    .await)
    {
        Ok(a) => a,
        Err(f) => return report(None, vec![f]),
    };
    let Some(account) = accounts
        .iter()
        .find(|a| a.handle.eq_ignore_ascii_case(handle.as_str()))
    else {
        return report(
            None,
            vec![Finding::fail(format!("no account on this PDS has the handle {handle}"))
                .fix("see pds-wizard accounts; a handle moved to a new name is set with the Handle & DNS step")],
        );
    };
    let did = account.did.clone();
    // The PDS's own admin API, on this machine (never redirected by --connect-to).
    let local = HttpOptions {
        connect_to: None,
        ..to.http.clone()
    };
    let base = to.pds_url.trim_end_matches('/');
    let c = match client(&local, "") {
        Ok(c) => c,
        Err(e) => return report(Some(did), vec![Finding::fail(e)]),
    };
    let set = c
        .post(format!("{base}/xrpc/com.atproto.admin.updateAccountHandle"))
        .basic_auth("admin", Some(to.admin_password.expose()))
        .json(&serde_json::json!({ "did": did, "handle": handle.as_str() }))
        .send()
        .await;
    match set {
        Ok(r) if r.status().is_success() => steps.push(Finding::pass(format!(
            "the PDS announced {handle} again: an identity event for {did} on its firehose"
        ))),
        Ok(r) => {
            let status = r.status().as_u16();
            let body = crate::http::read_text(r, crate::http::cap::TEXT)
                .await
                .unwrap_or_default();
            steps.push(
                Finding::fail(format!(
                    "the PDS refused to set the handle again (HTTP {status}): {}",
                    body.chars().take(200).collect::<String>()
                ))
                .why("It checks the handle before it announces it: the TXT record or the atproto-did file must already name this DID.")
                .fix(format!("pds-wizard handle check {handle} says what is missing")),
            );
            return report(Some(did), steps);
        }
        Err(e) => {
            steps.push(Finding::fail("the PDS did not answer").caused_by(&e));
            return report(Some(did), steps);
        }
    }
    for relay in &to.relays {
        let (mut f, reached) = crate::relay::ask_crawl(&c, relay, to.hostname.as_deref()).await;
        // The announcement is the identity event, made above: a relay that cannot be
        // reached now does not undo it (it reads the firehose when it next connects).
        if f.level == Level::Fail && !reached {
            f.level = Level::Warn;
            f.why = "The handle was announced all the same: the identity event is on the PDS's firehose, which this relay reads when it next connects.".into();
        }
        steps.push(f);
    }
    if to.relays.is_empty() {
        steps.push(Finding::warn(
            "PDS_CRAWLERS is empty: no relay to tell, so the network may not hear of it",
        ));
    }
    if let Some(appview) = to.appview.as_deref().map(|u| u.trim_end_matches('/')) {
        let url = format!("{appview}/xrpc/com.atproto.identity.resolveHandle");
        let seen = c
            .get(&url)
            .query(&[("handle", handle.as_str())])
            .send()
            .await;
        steps.push(match seen {
            Ok(r) if r.status().is_success() => {
                let v: serde_json::Value = crate::http::read_json(r, crate::http::cap::JSON)
                    .await
                    .unwrap_or_default();
                match v["did"].as_str() {
                    Some(d) if d == did => Finding::pass(format!(
                        "{appview} resolves {handle} to {did}: the app shows the handle"
                    )),
                    Some(other) => Finding::warn(format!(
                        "{appview} still resolves {handle} to {other}"
                    ))
                    .why("The AppView caches handles; it re-checks on the identity event, usually within minutes.")
                    .fix(format!("Check again in a few minutes: pds-wizard handle refresh {handle}")),
                    None => Finding::info(format!("{appview} gave no DID for {handle}")),
                }
            }
            Ok(r) => Finding::warn(format!(
                "{appview} does not resolve {handle} yet (HTTP {})",
                r.status().as_u16()
            ))
            .why("The AppView has not re-checked the handle since the identity event; it usually does within minutes.")
            .fix("Look again in a few minutes; in the app, the profile shows the handle once it has."),
            Err(e) => {
                Finding::info(format!("could not ask {appview} how it sees {handle}")).caused_by(&e)
            }
        });
    }
    report(Some(did), steps)
}

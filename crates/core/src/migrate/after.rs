//! What the network says once the account is active here.

use super::*;

/// What the network says afterwards, each as a finding.
pub(super) async fn after(
    s: &Resolved,
    doc: Option<&Document>,
    did: &Did,
    p: &Progress,
    old: &Xrpc,
    new: &Xrpc,
) -> Vec<Finding> {
    let mut out = Vec::new();
    match old.get("com.atproto.server.checkAccountStatus", &[]).await {
        Ok(v) if v["activated"].as_bool() == Some(false) => {
            out.push(Finding::pass("the old PDS reports the account deactivated"))
        }
        Ok(_) => out.push(
            Finding::fail("the old PDS still reports the account active")
                .fix("rerun: the old account is deactivated again"),
        ),
        Err(e) => out.push(Finding::warn(format!(
            "the old PDS's status: {}",
            e.finding("the old PDS").what
        ))),
    }
    match new.get("com.atproto.server.checkAccountStatus", &[]).await {
        Ok(v) if v["activated"].as_bool() == Some(true) => {
            out.push(Finding::pass("this PDS reports the account active"))
        }
        _ => out.push(Finding::fail("this PDS does not report the account active")),
    }
    match new
        .get(
            "com.atproto.identity.resolveHandle",
            &[("handle", p.handle.as_str())],
        )
        .await
    {
        Ok(v) if v["did"].as_str() == Some(did.as_str()) => {
            out.push(Finding::pass(format!("{} resolves to {did}", p.handle)))
        }
        _ => out.push(
            Finding::fail(format!("{} does not resolve to {did} here", p.handle))
                .fix(format!("pds-wizard identity check {}", p.handle)),
        ),
    }
    if let Some(doc) = doc {
        for relay in crate::relay::chosen(doc, &[]) {
            out.push(relay_sees(s, &relay, did).await);
        }
    }
    if let Some(appview) = doc
        .and_then(|d| d.get("PDS_BSKY_APP_VIEW_URL"))
        .filter(|u| !u.trim().is_empty())
    {
        out.push(appview_sees(s, appview.trim(), did).await);
    }
    out.push(
        Finding::info("add a rotation key of your own to the DID, so you can move it again even if this PDS is gone")
            .fix("goat key generate, then: goat account plc add-rotation-key (with a session on this PDS)"),
    );
    out
}

/// The app view's profile of the account (public, no session): found once it has indexed
/// the account from the relay.
async fn appview_sees(s: &Resolved, appview: &str, did: &Did) -> Finding {
    let r = Xrpc::new(appview, &s.http);
    match r
        .get("app.bsky.actor.getProfile", &[("actor", did.as_str())])
        .await
    {
        Ok(v) if v["did"].as_str() == Some(did.as_str()) => Finding::pass(format!(
            "the app view {appview} shows the profile ({})",
            v["handle"].as_str().unwrap_or("?")
        )),
        Ok(_) => Finding::warn(format!(
            "the app view {appview} answered with another profile"
        )),
        Err(e) => Finding::warn(format!(
            "the app view {appview} does not show the profile yet: {}",
            e.message
        ))
        .fix("it indexes from the relay; check again in a few minutes: pds-wizard doctor"),
    }
}

/// The relay's view of the account: active and not throttled, after a crawl request (it
/// may take a moment to see the PDS's events).
async fn relay_sees(s: &Resolved, relay: &str, did: &Did) -> Finding {
    let r = Xrpc::new(relay, &s.http);
    if let Some(host) = s.hostname.as_deref() {
        let _ = r
            .post(
                "com.atproto.sync.requestCrawl",
                Body::Json(&json!({ "hostname": host })),
            )
            .await;
    }
    let deadline = std::time::Instant::now() + s.http.timeout;
    loop {
        let v = r
            .get("com.atproto.sync.getRepoStatus", &[("did", did.as_str())])
            .await;
        match v {
            Ok(v) if v["active"].as_bool() == Some(true) => {
                return Finding::pass(format!("{relay} sees the account active"))
            }
            Ok(v) if v["status"].as_str() == Some("throttled") => {
                return Finding::fail(format!("{relay} throttles the account"))
                    .why("A relay takes a limited number of accounts from a new host.")
                    .fix("ask the relay's operator to raise this host's account limit")
            }
            other if std::time::Instant::now() >= deadline => {
                let said = match other {
                    Ok(v) => v["status"].as_str().unwrap_or("not active").to_string(),
                    Err(e) => e.message,
                };
                return Finding::warn(format!(
                    "{relay} does not see the account active yet ({said})"
                ))
                .fix("post something, then check again: pds-wizard relays");
            }
            _ => tokio::time::sleep(std::time::Duration::from_millis(300)).await,
        }
    }
}

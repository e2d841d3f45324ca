//! Everything checked before the first write: each blocker with its fix.

use super::*;

/// Everything checked before the first write; each blocker with its fix.
#[allow(clippy::too_many_arguments)]
pub(super) async fn preflight(
    s: &Resolved,
    doc: Option<&Document>,
    req: &Request,
    did: &Did,
    old: &Xrpc,
    here: &Xrpc,
    described: &Value,
    say: &mut (dyn FnMut(Finding) + Send),
) -> Vec<Finding> {
    let mut blockers = healthy(s).await;
    let admin = s.admin();
    // The email: always required, and unique on this PDS.
    if let Err(e) = crate::envfile::catalogue::check_email(req.email.trim()) {
        blockers.push(
            Finding::fail(e)
                .why("This PDS requires an email for every account, a migrated one too.")
                .fix("give the account holder's address: --email alice@example.com"),
        );
    } else {
        if let Ok(Some(holder)) = email_holder(s, &req.email).await {
            if holder != did.as_str() {
                blockers.push(
                    Finding::fail(format!(
                        "{} is already the email of {holder} here",
                        req.email
                    ))
                    .why("An email belongs to one account on a PDS.")
                    .fix("give another address with --email"),
                );
            }
        }
    }
    // Preferences: this PDS keeps them only with an app view named (as the installer does).
    if doc.is_some_and(|d| {
        d.get("PDS_BSKY_APP_VIEW_URL")
            .unwrap_or_default()
            .trim()
            .is_empty()
    }) {
        blockers.push(
            Finding::fail("this PDS names no app view (PDS_BSKY_APP_VIEW_URL), so it keeps no preferences: the account's would be lost")
                .fix("set them as the installer does: pds-wizard env set PDS_BSKY_APP_VIEW_URL https://api.bsky.app and PDS_BSKY_APP_VIEW_DID did:web:api.bsky.app, then restart the PDS"),
        );
    }
    // The invite this PDS requires, made with the admin password when the account is.
    if described["inviteCodeRequired"].as_bool().unwrap_or(false) {
        if let Err(f) = admin.check_password().await {
            blockers.push(
                Finding::fail("cannot make the invite code this PDS requires for a new account")
                    .why(format!("{} (the admin password makes it).", f.what))
                    .fix("point --env-file at the PDS's pds.env (PDS_ADMIN_PASSWORD must be the one the PDS started with), or restart the PDS after changing it"),
            );
        }
    }
    // The handle: under a domain this PDS offers, or one that already points at the DID.
    let offered: Vec<String> = described["availableUserDomains"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|d| d.as_str())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    match crate::setup::accounts::service_handle_rule(&req.handle, &offered) {
        Some(Err(f)) => blockers.push(f),
        Some(Ok(())) => {}
        None => {
            let report = crate::identity::verify(&req.handle, did, &s.verify_options()).await;
            if !report.verified {
                blockers.push(
                    Finding::fail(format!(
                        "{} does not point at {did} yet, and is not under a domain this PDS offers ({})",
                        req.handle,
                        offered.join(", ")
                    ))
                    .why("The PDS takes a handle on another domain only when that domain already names the DID.")
                    .fix(format!(
                        "add the DNS record {} TXT \"did={did}\", or move under {} now and set the custom handle afterwards (pds-wizard accounts set-handle)",
                        report.record.full_name,
                        offered.first().map_or("its domain", String::as_str)
                    )),
                );
            }
        }
    }
    match admin.holder_of(req.handle.as_str()).await {
        Ok(Some(other)) if other != did.as_str() => blockers.push(
            Finding::fail(format!("{} is taken here by {other}", req.handle))
                .fix("choose another handle with --handle"),
        ),
        _ => {}
    }
    // The repository against the import limit (and any proxy between here and the PDS).
    let limit = import_limit(doc);
    match old
        .get_bytes(
            "com.atproto.sync.getRepo",
            &[("did", did.as_str())],
            limit,
        )
        .await
    {
        Ok((car, _)) => {
            say(Finding::pass(format!(
                "the repository is {} (this PDS imports up to {})",
                human(car.len()),
                human(limit)
            )));
            if let Some(f) = body_refused(here, car.len()).await {
                blockers.push(f);
            }
        }
        Err(e) if e.too_large => blockers.push(
            Finding::fail(format!(
                "the repository is over {}, the most this PDS's importRepo takes",
                human(limit)
            ))
            .fix(format!(
                "raise it: pds-wizard env set PDS_MAX_REPO_IMPORT_SIZE {} (bytes), then restart the PDS",
                limit * 4
            )),
        ),
        Err(e) => blockers.push(e.finding("the old PDS")),
    }
    // The blobs: each under the upload limit, and the count against the daily limit.
    match all_cids(old, "com.atproto.sync.listBlobs", Some(did.as_str())).await {
        Err(e) => blockers.push(e.finding("the old PDS")),
        Ok(cids) => {
            let per_blob = blob_limit(doc);
            let mut largest = (0u64, String::new());
            for cid in &cids {
                if let Ok(Some(n)) = old
                    .length(
                        "com.atproto.sync.getBlob",
                        &[("did", did.as_str()), ("cid", cid.as_str())],
                    )
                    .await
                {
                    if n > largest.0 {
                        largest = (n, cid.clone());
                    }
                }
            }
            say(Finding::pass(format!(
                "{} blob{}, the largest {}",
                cids.len(),
                if cids.len() == 1 { "" } else { "s" },
                human(largest.0 as usize)
            )));
            if largest.0 as usize > per_blob {
                blockers.push(
                    Finding::fail(format!(
                        "blob {} is {}, over this PDS's upload limit of {}",
                        largest.1,
                        human(largest.0 as usize),
                        human(per_blob)
                    ))
                    .fix(format!(
                        "raise it: pds-wizard env set PDS_BLOB_UPLOAD_LIMIT {} (bytes), then restart the PDS",
                        largest.0
                    )),
                );
            }
            if cids.len() > DAILY_UPLOADS && uploads_limited(doc) && req.bypass_upload_limit {
                say(Finding::info(format!(
                    "{} blobs, over the {DAILY_UPLOADS} uploads a day: this machine is let past while they are copied (--bypass-upload-limit)",
                    cids.len()
                )));
            } else if cids.len() > DAILY_UPLOADS && uploads_limited(doc) {
                blockers.push(
                    Finding::fail(format!(
                        "{} blobs, over the {DAILY_UPLOADS} uploads a day this PDS allows one address",
                        cids.len()
                    ))
                    .why("PDS_RATE_LIMITS_ENABLED is true and this machine's address is not in PDS_RATE_LIMIT_BYPASS_IPS: the copy would stop at 1000 for a day.")
                    .fix("rerun with --bypass-upload-limit: this machine's own addresses go into PDS_RATE_LIMIT_BYPASS_IPS for the copy (the PDS restarted), and come out again after it"),
                );
            }
        }
    }
    // The relays' headroom for one more account from this host.
    if let (Some(doc), Some(host)) = (doc, s.hostname.as_deref()) {
        for relay in crate::relay::chosen(doc, &[]) {
            let r = Xrpc::new(&relay, &s.http);
            if let Ok(v) = r
                .get("com.atproto.sync.getHostStatus", &[("hostname", host)])
                .await
            {
                let count = v["accountCount"].as_u64().unwrap_or(0);
                if count + 1 > NEW_HOST_ACCOUNTS {
                    say(Finding::warn(format!(
                        "{relay} carries {count} accounts from {host}; a relay takes {NEW_HOST_ACCOUNTS} from a new host until its operator raises the limit"
                    ))
                    .fix("ask the relay's operator to raise this host's account limit"));
                }
            }
        }
    }
    blockers
}

/// The holder of an email here, by the admin API (the PDS has no search by email: every
/// account's, as `accounts` lists them).
async fn email_holder(s: &Resolved, email: &str) -> Result<Option<String>, Finding> {
    Ok(s.admin()
        .accounts()
        .await?
        .into_iter()
        .find(|a| {
            a.email
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case(email))
        })
        .map(|a| a.did))
}

/// Whether a body of `size` bytes gets to this PDS's importRepo: sent without a session, the
/// PDS answers 401; a proxy's (or the PDS's own) body limit answers 413 first.
async fn body_refused(here: &Xrpc, size: usize) -> Option<Finding> {
    let probe = vec![0u8; size.max(1)];
    match here
        .post(
            "com.atproto.repo.importRepo",
            Body::Bytes(&probe, "application/vnd.ipld.car"),
        )
        .await
    {
        Err(e) if e.status == Some(413) => Some(
            Finding::fail(format!(
                "{} refuses a body of {} on the way to importRepo (HTTP 413)",
                if e.code.is_some() {
                    "this PDS"
                } else {
                    "a proxy in front of this PDS"
                },
                human(size)
            ))
            .why("The repository is sent whole in one request.")
            .fix("raise the proxy's body limit (nginx: client_max_body_size 100m; Caddy: request_body max_size), or pass --pds-url http://localhost:PDS_PORT to send it to the PDS directly"),
        ),
        _ => None,
    }
}

/// The doctor's checks a moved account needs to pass: the PDS answers, by HTTPS under its
/// name, and its firehose (the relays' way to it) opens. Each failure is a blocker with the
/// doctor's own fix.
async fn healthy(s: &Resolved) -> Vec<Finding> {
    let names = ["health", "https", "websocket"].map(String::from);
    let Ok(checks) = crate::doctor::select(&names) else {
        return Vec::new();
    };
    let inputs = std::sync::Arc::new(crate::doctor::Inputs::load(&s.flags, Vec::new()));
    crate::doctor::run_all(checks, inputs)
        .await
        .into_iter()
        .filter(|r| r.level == crate::finding::Level::Fail)
        .map(|r| {
            let first = r
                .findings
                .iter()
                .find(|f| f.level == crate::finding::Level::Fail);
            let name = r.id.name();
            Finding::fail(format!(
                "the doctor's {name} check fails: {}",
                r.problem().unwrap_or_default()
            ))
            .why("An account moved here would be out of the network's reach until it passes.")
            .fix(
                match first.map(|f| f.fix.as_str()).filter(|f| !f.is_empty()) {
                    Some(fix) => format!("{fix} (then: pds-wizard doctor --only {name})"),
                    None => format!("pds-wizard doctor --only {name}"),
                },
            )
        })
        .collect()
}

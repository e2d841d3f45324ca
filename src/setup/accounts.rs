//! Moving an account onto a new handle, as the command line and the Accounts step both do
//! it: a custom domain is verified first (the PDS would refuse it with less to go on), then
//! the PDS changes the handle (and emits an identity event), then each relay in
//! PDS_CRAWLERS is asked to crawl.

use crate::envfile::Document;
use crate::finding::{worst, Finding, Level};
use crate::identity::dns::TxtRecord;
use crate::identity::{Did, Handle};
use crate::pds::admin::Admin;
use crate::settings::Resolved;
use serde::Serialize;

/// Whether `handle` is under one of the PDS's own handle domains (PDS_SERVICE_HANDLE_DOMAINS,
/// else `.PDS_HOSTNAME`): the PDS answers for those itself, no record needed.
pub fn under_own_domains(doc: Option<&Document>, hostname: Option<&str>, handle: &Handle) -> bool {
    let list = doc
        .and_then(|d| d.get("PDS_SERVICE_HANDLE_DOMAINS"))
        .filter(|v| !v.trim().is_empty())
        .or_else(|| hostname.map(|h| format!(".{h}")))
        .unwrap_or_default();
    list.split(',')
        .map(|d| d.trim().to_ascii_lowercase())
        .filter(|d| !d.is_empty())
        .any(|d| handle.as_str().ends_with(&d))
}

#[derive(Debug, Clone, Serialize)]
pub struct Moved {
    pub did: String,
    pub from: String,
    pub handle: String,
    /// Each step in order: the verification, the change, each crawl request.
    pub steps: Vec<Finding>,
    /// The handle was changed on the PDS.
    pub moved: bool,
    /// The record to create, when the domain does not verify yet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<TxtRecord>,
}

impl Moved {
    pub fn level(&self) -> Level {
        worst(&self.steps)
    }
}

/// Move account `did` (now `from`) to `handle`.
pub async fn move_handle(
    s: &Resolved,
    doc: Option<&Document>,
    did: &str,
    from: &str,
    handle: &Handle,
) -> Moved {
    let mut out = Moved {
        did: did.to_string(),
        from: from.to_string(),
        handle: handle.as_str().to_string(),
        steps: vec![],
        moved: false,
        record: None,
    };
    if !under_own_domains(doc, s.hostname.as_deref(), handle) {
        let parsed = match Did::parse(did) {
            Ok(d) => d,
            Err(e) => {
                out.steps.push(Finding::fail(e.to_string()));
                return out;
            }
        };
        let r = crate::identity::verify(handle, &parsed, &s.verify_options()).await;
        // Before the move the DID document still names the old handle: what must hold is
        // that the new name points at the account.
        if !r.points_at_did() {
            out.steps.push(
                Finding::fail(format!("{handle} does not point at {did} yet"))
                    .why(r.verdict())
                    .fix(format!(
                        "create the TXT record {} with the value {} (or serve {did} at https://{handle}/.well-known/atproto-did), then try again",
                        r.record.full_name, r.record.value
                    )),
            );
            out.record = Some(r.record.clone());
            return out;
        }
        out.steps.push(Finding::pass(format!(
            "{handle} verifies by {}",
            if r.by_dns { "DNS" } else { "HTTPS" }
        )));
    }
    let admin = Admin {
        pds_url: s.local_url.clone(),
        password: s.admin_password.clone(),
        http: s.http.clone(),
    };
    if let Err(f) = admin.set_handle(did, handle.as_str()).await {
        out.steps.push(f);
        return out;
    }
    out.moved = true;
    out.steps.push(Finding::pass(format!(
        "{from} is now {handle}: the PDS emitted an identity event for {did}"
    )));
    let to = s.announce(doc);
    if let Ok(c) = crate::http::client(&to.http, "") {
        for relay in &to.relays {
            out.steps
                .push(crate::relay::request_crawl(&c, relay, to.hostname.as_deref()).await);
        }
    }
    out
}

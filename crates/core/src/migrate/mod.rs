//! `accounts migrate-in`: bring an account from another PDS to this one, as the
//! atproto-website's account-migration guide and goat's `account migrate` do it, with what
//! they leave out: every limit of this PDS checked before the first write, progress saved
//! after every step (a rerun continues), every blob copied until `listMissingBlobs` is
//! empty, the PLC token asked for only once the data is complete (it lives 15 minutes), and
//! `checkAccountStatus.validDid` checked before the account is activated here.
//!
//! Each step first asks the servers whether it is already done (the account exists here,
//! the repo's commit is here, the PLC data names this PDS, the account is active): a run
//! killed between a step and its save repeats nothing it must not.

mod after;
mod check;
mod copy;
mod run;
pub mod xrpc;

pub use run::migrate_in;

use crate::envfile::Document;
use crate::finding::Finding;
use crate::identity::{Did, Handle};
use crate::secret::Secret;
use crate::settings::Resolved;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::path::PathBuf;
use xrpc::{Body, CallError, Xrpc};

/// The PDS's fixed `uploadBlob` rate limit, per IP and day, when rate limits are on.
pub const DAILY_UPLOADS: usize = 1000;
/// A relay's account limit for a new host (indigo's default), until its operator raises it.
pub const NEW_HOST_ACCOUNTS: u64 = 100;
/// How long the PLC token mailed by the old PDS is good for.
pub const TOKEN_LIFETIME_SECS: u64 = 15 * 60;
/// The PDS's own blob upload limit when pds.env does not set one (5 MiB).
const DEFAULT_BLOB_LIMIT: usize = 5 * 1024 * 1024;

/// The steps in order; the progress file lists those done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// Every limit checked; nothing written anywhere yet.
    Checked,
    /// The account exists here, deactivated, with the same DID.
    Created,
    /// The repository is imported.
    Imported,
    /// The preferences are copied.
    Preferences,
    /// `listMissingBlobs` is empty.
    Blobs,
    /// The old PDS mailed the PLC token.
    TokenSent,
    /// The PLC directory names this PDS.
    Submitted,
    /// The account is active here.
    Activated,
    /// The account is deactivated on the old PDS.
    OldDeactivated,
}

impl Stage {
    pub const ALL: [Stage; 9] = [
        Stage::Checked,
        Stage::Created,
        Stage::Imported,
        Stage::Preferences,
        Stage::Blobs,
        Stage::TokenSent,
        Stage::Submitted,
        Stage::Activated,
        Stage::OldDeactivated,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Stage::Checked => "checked",
            Stage::Created => "created",
            Stage::Imported => "imported",
            Stage::Preferences => "preferences",
            Stage::Blobs => "blobs",
            Stage::TokenSent => "token-sent",
            Stage::Submitted => "submitted",
            Stage::Activated => "activated",
            Stage::OldDeactivated => "old-deactivated",
        }
    }
}

/// What the progress file holds: no password, no token (the signed PLC operation is
/// public once submitted, and saved so a run killed after signing does not need a new mail).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Progress {
    pub did: String,
    pub old_pds: String,
    pub handle: String,
    pub email: String,
    pub done: Vec<Stage>,
    #[serde(default)]
    pub signed_operation: Option<Value>,
    /// The temporary upload bypass is in pds.env: what PDS_RATE_LIMIT_BYPASS_IPS was
    /// before (None: unset), put back once the blobs are copied.
    #[serde(default)]
    pub bypass: Option<Bypass>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Bypass {
    pub before: Option<String>,
}

/// The addresses this machine's calls to the PDS come from, as the PDS's `req.ip` shows
/// them (it compares exactly): IPv4 and IPv6 loopback, and IPv4 on a dual-stack socket.
pub const LOOPBACK_IPS: [&str; 3] = ["127.0.0.1", "::1", "::ffff:127.0.0.1"];

impl Progress {
    pub fn has(&self, s: Stage) -> bool {
        self.done.contains(&s)
    }
}

/// Where a migration's progress is kept: the state directory, one file per DID (0600).
pub fn progress_path(did: &str) -> PathBuf {
    crate::fsutil::state_dir()
        .join("migrate-in")
        .join(format!("{}.json", did.replace(':', "_")))
}

pub fn load_progress(did: &str) -> Option<Progress> {
    let b = std::fs::read(progress_path(did)).ok()?;
    serde_json::from_slice(&b).ok()
}

fn save_progress(p: &Progress) -> Result<(), Finding> {
    let path = progress_path(&p.did);
    if let Some(dir) = path.parent() {
        use std::os::unix::fs::DirBuilderExt;
        let _ = std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir);
    }
    let text = serde_json::to_string_pretty(p).unwrap_or_default();
    crate::fsutil::safe_write(
        &path,
        text.as_bytes(),
        crate::fsutil::WriteOptions::file(0o600, 0),
    )
    .map(|_| ())
    .map_err(|e| {
        Finding::fail(format!(
            "cannot save the migration's progress to {}: {e}",
            path.display()
        ))
    })
}

/// A step done: recorded, so a rerun goes on from the next one.
fn reached(p: &mut Progress, s: Stage) -> Result<(), Finding> {
    // For the tests' kill table: stop dead here, the step done and not yet recorded — the
    // worst moment for a kill, which the next run must get over.
    if std::env::var("PDS_WIZARD_TEST_ABORT_AFTER").is_ok_and(|v| v == s.name()) {
        std::process::abort();
    }
    if !p.has(s) {
        p.done.push(s);
    }
    save_progress(p)
}

/// What the operator asked for.
#[derive(Debug, Clone)]
pub struct Request {
    /// The account: its handle or its DID.
    pub from: String,
    /// The old PDS's URL, when its DID document's endpoint is not reachable by that name.
    pub old_pds: Option<String>,
    pub handle: Handle,
    pub email: String,
    pub plc_token: Option<String>,
    /// The sign-in code the old PDS mails when email 2FA is on.
    pub auth_code: Option<String>,
    /// Let this machine past the daily upload limit while the blobs are copied (pds.env
    /// changed and the PDS restarted; put back afterwards).
    pub bypass_upload_limit: bool,
}

/// Why a migration stopped.
#[derive(Debug, Clone)]
pub enum Stop {
    /// Before any write: each blocker with its fix.
    Blocked(Vec<Finding>),
    /// A step failed; the progress so far is saved and a rerun continues.
    Failed(Finding),
}

impl From<Finding> for Stop {
    fn from(f: Finding) -> Self {
        Stop::Failed(f)
    }
}

#[derive(Debug, Clone, Serialize)]
pub enum Outcome {
    /// The old PDS mailed the PLC token: rerun with `--plc-token`, within 15 minutes.
    WaitingForToken {
        did: String,
        /// Seconds since 1970 when the token stops working.
        expires_at: u64,
    },
    /// Active here; the checks afterwards, each said.
    Moved { did: String, checks: Vec<Finding> },
}

/// "18:42 UTC" for seconds since 1970.
pub fn clock(secs: u64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(secs as i64) {
        Ok(t) => format!("{:02}:{:02} UTC", t.hour(), t.minute()),
        Err(_) => "?".into(),
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn env_size(doc: Option<&Document>, key: &str) -> Option<usize> {
    doc.and_then(|d| d.get(key))
        .and_then(|v| v.trim().parse::<usize>().ok())
}

/// The most `uploadBlob` takes here (PDS_BLOB_UPLOAD_LIMIT, else the PDS's 5 MiB).
pub fn blob_limit(doc: Option<&Document>) -> usize {
    env_size(doc, "PDS_BLOB_UPLOAD_LIMIT").unwrap_or(DEFAULT_BLOB_LIMIT)
}

/// The most `importRepo` takes here: PDS_MAX_REPO_IMPORT_SIZE, else the blob limit (the
/// body limit the PDS's XRPC server falls back on).
pub fn import_limit(doc: Option<&Document>) -> usize {
    env_size(doc, "PDS_MAX_REPO_IMPORT_SIZE").unwrap_or_else(|| blob_limit(doc))
}

/// Whether the daily upload limit applies to this machine's own calls: rate limits on, and
/// neither loopback address in PDS_RATE_LIMIT_BYPASS_IPS.
pub fn uploads_limited(doc: Option<&Document>) -> bool {
    let get = |k: &str| doc.and_then(|d| d.get(k)).unwrap_or_default();
    let on = get("PDS_RATE_LIMITS_ENABLED").trim() == "true";
    let bypass = get("PDS_RATE_LIMIT_BYPASS_IPS");
    let loopback = bypass
        .split(',')
        .map(|ip| ip.split('/').next().unwrap_or("").trim())
        .any(|ip| LOOPBACK_IPS.contains(&ip));
    on && !loopback
}

/// The DID for `from`: a DID as given; a handle asked of the old PDS when one is named,
/// else by the handle's `/.well-known/atproto-did`.
async fn resolve_from(s: &Resolved, from: &str, old: Option<&Xrpc>) -> Result<Did, Finding> {
    if from.starts_with("did:") {
        return Did::parse(from).map_err(|e| Finding::fail(format!("{from}: {e}")));
    }
    let handle = Handle::parse(from).map_err(|e| Finding::fail(format!("{from}: {e}")))?;
    let found = match old {
        Some(old) => old
            .get(
                "com.atproto.identity.resolveHandle",
                &[("handle", handle.as_str())],
            )
            .await
            .map(|v| v["did"].as_str().unwrap_or_default().to_string())
            .map_err(|e| e.finding("the old PDS")),
        None => {
            let check =
                crate::identity::didfile::check_did_file(&handle, None, &s.verify_options().http)
                    .await;
            check
                .body
                .filter(|b| check.status == Some(200) && b.trim().starts_with("did:"))
                .map(|b| b.trim().to_string())
                .ok_or_else(|| Finding::fail(format!("{handle} does not resolve to a DID")))
        }
    };
    let did = found.map_err(|f| f.fix("give the account's DID instead (--from did:plc:…)"))?;
    Did::parse(&did).map_err(|e| Finding::fail(format!("{handle} resolves to {did:?}: {e}")))
}

/// The PDS endpoint in a DID document.
fn pds_endpoint(doc: &Value) -> Option<String> {
    doc["service"].as_array()?.iter().find_map(|s| {
        let id = s["id"].as_str().unwrap_or_default();
        (id == "#atproto_pds" || id.ends_with("#atproto_pds"))
            .then(|| s["serviceEndpoint"].as_str().map(str::to_string))
            .flatten()
    })
}

/// A session on a PDS, checked to be the DID being moved.
async fn session(
    pds: &Xrpc,
    whose: &str,
    did: &Did,
    password: &Secret,
    auth_code: Option<&str>,
) -> Result<(Xrpc, Value), Finding> {
    let mut body = json!({ "identifier": did.as_str(), "password": password.expose() });
    if let Some(code) = auth_code {
        body["authFactorToken"] = json!(code);
    }
    let v = match pds
        .post("com.atproto.server.createSession", Body::Json(&body))
        .await
    {
        Ok(v) => v,
        Err(e) if e.is("AuthFactorTokenRequired") => {
            return Err(Finding::fail(format!(
                "{whose} wants a sign-in code: it has just mailed one to the account's address"
            ))
            .fix("rerun with --auth-code CODE (the code from that mail)"))
        }
        Err(e) if e.status == Some(401) => {
            return Err(e
                .finding(whose)
                .why("The account's password on that PDS is needed: the full password, not an app password.")
                .fix("rerun and give the account's own password"))
        }
        Err(e) => return Err(e.finding(whose)),
    };
    // The session must be the account being moved, whatever the name resolved to.
    if v["did"].as_str() != Some(did.as_str()) {
        return Err(Finding::fail(format!(
            "{whose} signed in {} instead of {did}",
            v["did"].as_str().unwrap_or("nobody")
        )));
    }
    let token = v["accessJwt"].as_str().unwrap_or_default();
    Ok((pds.with_token(Secret::new(token)), v))
}

/// Every CID `list` (listBlobs or listMissingBlobs) gives, page by page.
async fn all_cids(pds: &Xrpc, method: &str, did: Option<&str>) -> Result<Vec<String>, CallError> {
    let mut out = Vec::new();
    let mut cursor = String::new();
    loop {
        let mut q = vec![("limit", "1000")];
        if let Some(d) = did {
            q.push(("did", d));
        }
        if !cursor.is_empty() {
            q.push(("cursor", cursor.as_str()));
        }
        let v = pds.get(method, &q).await?;
        let page: Vec<String> = match v["cids"].as_array() {
            Some(cids) => cids
                .iter()
                .filter_map(|c| c.as_str())
                .map(str::to_string)
                .collect(),
            None => v["blobs"]
                .as_array()
                .map(|b| {
                    b.iter()
                        .filter_map(|x| x["cid"].as_str())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default(),
        };
        let next = v["cursor"].as_str().unwrap_or_default().to_string();
        let empty = page.is_empty();
        out.extend(page);
        if next.is_empty() || empty || next == cursor {
            return Ok(out);
        }
        cursor = next;
    }
}

/// "12.3 MiB", "880 KiB", "412 bytes".
pub fn human(n: usize) -> String {
    match n {
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / (1 << 20) as f64),
        n if n >= 1024 => format!("{} KiB", n / 1024),
        n => format!("{n} bytes"),
    }
}

/// The PLC directory's data for `did` (rotation keys, services…).
async fn plc_data(s: &Resolved, did: &Did) -> Result<Value, Finding> {
    let base = s.plc_url.trim_end_matches('/');
    let http = crate::http::HttpOptions {
        connect_to: None,
        ..s.http.clone()
    };
    let c = crate::http::client(&http, "").map_err(Finding::fail)?;
    let r = c
        .get(format!("{base}/{did}/data"))
        .send()
        .await
        .map_err(|e| {
            Finding::fail(format!("no answer from the PLC directory {base}")).caused_by(&e)
        })?;
    crate::http::read_json(r, crate::http::cap::JSON)
        .await
        .map_err(|e| Finding::fail(format!("the PLC directory's data for {did}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_come_from_pds_env_as_the_pds_reads_it() {
        let doc = Document::parse("PDS_BLOB_UPLOAD_LIMIT=1000\n");
        assert_eq!(blob_limit(Some(&doc)), 1000);
        assert_eq!(import_limit(Some(&doc)), 1000);
        let doc = Document::parse("PDS_BLOB_UPLOAD_LIMIT=1000\nPDS_MAX_REPO_IMPORT_SIZE=9\n");
        assert_eq!(import_limit(Some(&doc)), 9);
        assert_eq!(blob_limit(None), 5 * 1024 * 1024);
    }

    #[test]
    fn the_daily_limit_applies_unless_loopback_is_let_past() {
        let on = Document::parse("PDS_RATE_LIMITS_ENABLED=true\n");
        assert!(uploads_limited(Some(&on)));
        let past = Document::parse(
            "PDS_RATE_LIMITS_ENABLED=true\nPDS_RATE_LIMIT_BYPASS_IPS=10.0.0.1,127.0.0.1/32\n",
        );
        assert!(!uploads_limited(Some(&past)));
        assert!(!uploads_limited(None));
    }

    #[test]
    fn progress_keeps_no_secret_and_orders_its_stages() {
        let p = Progress {
            did: "did:plc:abc".into(),
            old_pds: "https://old.example".into(),
            handle: "alice.example.com".into(),
            email: "a@example.com".into(),
            done: vec![Stage::Checked, Stage::Created],
            signed_operation: None,
            bypass: None,
        };
        let text = serde_json::to_string(&p).unwrap();
        assert!(!text.contains("password") && !text.contains("token\":\""));
        assert!(text.contains("\"created\""));
        assert!(Stage::ALL.windows(2).all(|w| w[0] < w[1]));
    }
}

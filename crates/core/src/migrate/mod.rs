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

pub mod xrpc;

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
    /// When the old PDS was asked to mail the PLC token (seconds since 1970).
    #[serde(default)]
    pub token_requested_at: Option<u64>,
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

fn plausible_email(email: &str) -> bool {
    email.split_once('@').is_some_and(|(user, domain)| {
        !user.is_empty() && domain.contains('.') && !email.contains(char::is_whitespace)
    })
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

/// Everything checked before the first write; each blocker with its fix.
#[allow(clippy::too_many_arguments)]
async fn preflight(
    s: &Resolved,
    doc: Option<&Document>,
    req: &Request,
    did: &Did,
    old: &Xrpc,
    here: &Xrpc,
    described: &Value,
    say: &mut (dyn FnMut(Finding) + Send),
) -> Vec<Finding> {
    let mut blockers = Vec::new();
    let admin = s.admin();
    // The email: always required, and unique on this PDS.
    if !plausible_email(&req.email) {
        blockers.push(
            Finding::fail(format!("{:?} is not an email address", req.email))
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
        Err(e) if e.message.contains("reading stopped") => blockers.push(
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

/// "12.3 MiB", "880 KiB", "412 bytes".
pub fn human(n: usize) -> String {
    match n {
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / (1 << 20) as f64),
        n if n >= 1024 => format!("{} KiB", n / 1024),
        n => format!("{n} bytes"),
    }
}

/// The account's data on the old PDS, copied to this one until nothing is missing.
async fn copy_blobs(
    did: &Did,
    old: &Xrpc,
    new: &Xrpc,
    limit: usize,
    say: &mut (dyn FnMut(Finding) + Send),
) -> Result<usize, Finding> {
    let mut copied = 0;
    for _round in 0..3 {
        let missing = all_cids(new, "com.atproto.repo.listMissingBlobs", None)
            .await
            .map_err(|e| e.finding("this PDS"))?;
        if missing.is_empty() {
            return Ok(copied);
        }
        say(Finding::info(format!(
            "{} blob{} to copy",
            missing.len(),
            if missing.len() == 1 { "" } else { "s" }
        )));
        for (i, cid) in missing.iter().enumerate() {
            for attempt in 0..3 {
                let got = old
                    .get_bytes(
                        "com.atproto.sync.getBlob",
                        &[("did", did.as_str()), ("cid", cid.as_str())],
                        limit,
                    )
                    .await;
                let sent = match got {
                    Ok((bytes, ty)) => new
                        .post(
                            "com.atproto.repo.uploadBlob",
                            Body::Bytes(
                                &bytes,
                                ty.as_deref().unwrap_or("application/octet-stream"),
                            ),
                        )
                        .await
                        .map(|_| ()),
                    Err(e) => Err(e),
                };
                match sent {
                    Ok(()) => {
                        copied += 1;
                        break;
                    }
                    // The daily limit: retrying now cannot help.
                    Err(e) if e.status == Some(429) => {
                        return Err(e
                            .finding("this PDS")
                            .why("uploadBlob is limited to 1000 a day per address while rate limits are on.")
                            .fix("let this machine past (PDS_RATE_LIMIT_BYPASS_IPS=127.0.0.1,::1, then restart the PDS) and rerun; remove it afterwards"));
                    }
                    Err(e) if attempt == 2 => {
                        say(e.finding(&format!("blob {cid}")).about("blobs"));
                    }
                    Err(_) => {
                        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                    }
                }
            }
            if (i + 1) % 25 == 0 {
                say(Finding::info(format!(
                    "{} of {} blobs copied",
                    i + 1,
                    missing.len()
                )));
            }
        }
    }
    let missing = all_cids(new, "com.atproto.repo.listMissingBlobs", None)
        .await
        .map_err(|e| e.finding("this PDS"))?;
    if missing.is_empty() {
        return Ok(copied);
    }
    Err(Finding::fail(format!(
        "{} blob{} still missing after three rounds: {}",
        missing.len(),
        if missing.len() == 1 { " is" } else { "s are" },
        missing.iter().take(10).cloned().collect::<Vec<_>>().join(", ")
    ))
    .fix("rerun: the copy continues with what is missing (see the messages above for why they failed)"))
}

const BYPASS_KEY: &str = "PDS_RATE_LIMIT_BYPASS_IPS";

/// PDS_RATE_LIMIT_BYPASS_IPS set to `value` (None: removed) in pds.env, then the PDS
/// restarted and answering again.
async fn set_bypass(s: &Resolved, here: &Xrpc, value: Option<&str>) -> Result<(), Finding> {
    let cmd = crate::pds::restart_command(&s.flags).ok_or_else(|| {
        Finding::fail("cannot restart the PDS here to change its upload limit")
            .fix("pass --restart-command, or copy without --bypass-upload-limit")
    })?;
    let path = s.env_file.clone();
    let value = value.map(str::to_string);
    let edited = tokio::task::spawn_blocking(move || -> Result<(), String> {
        let mut doc = Document::load_for_edit(&path).map_err(|e| e.to_string())?;
        match &value {
            Some(v) => doc.set(BYPASS_KEY, v).map_err(|e| e.to_string())?,
            None => {
                doc.unset(BYPASS_KEY).map_err(|e| e.to_string())?;
            }
        }
        doc.save().map_err(|e| e.to_string())?;
        crate::pds::restart(&cmd)
    })
    .await
    .map_err(|e| e.to_string())
    .and_then(|r| r);
    edited.map_err(|e| {
        Finding::fail(format!("{BYPASS_KEY}: {e}"))
            .fix("check pds.env and the PDS (pds-wizard doctor), then rerun")
    })?;
    // Up again: describeServer answers.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while here
        .get("com.atproto.server.describeServer", &[])
        .await
        .is_err()
    {
        if std::time::Instant::now() > deadline {
            return Err(
                Finding::fail("the PDS did not answer within 60 s of its restart")
                    .fix("sudo systemctl status pds (or docker ps -a), then rerun"),
            );
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    Ok(())
}

/// The PLC directory's data for `did` (rotation keys, services…).
async fn plc_data(s: &Resolved, did: &Did) -> Result<Value, Finding> {
    let plc = Xrpc::new(&s.plc_url, &s.http);
    let c = crate::http::client(&plc.http, "").map_err(Finding::fail)?;
    let r = c
        .get(format!("{}/{did}/data", plc.base))
        .send()
        .await
        .map_err(|e| {
            Finding::fail(format!("no answer from the PLC directory {}", plc.base)).caused_by(&e)
        })?;
    crate::http::read_json(r, crate::http::cap::JSON)
        .await
        .map_err(|e| Finding::fail(format!("the PLC directory's data for {did}: {e}")))
}

/// The whole migration, from where the saved progress left it.
pub async fn migrate_in(
    s: &Resolved,
    doc: Option<&Document>,
    req: &Request,
    password: &Secret,
    say: &mut (dyn FnMut(Finding) + Send),
) -> Result<Outcome, Stop> {
    let named_old = req.old_pds.as_deref().map(|u| Xrpc::new(u, &s.http));
    let did = resolve_from(s, &req.from, named_old.as_ref()).await?;
    let saved = load_progress(did.as_str());
    // The old PDS: as named, else as saved (once the move is submitted the DID document
    // names this PDS), else the DID document's.
    let old_base = match (&req.old_pds, &saved) {
        (Some(u), _) => u.trim_end_matches('/').to_string(),
        (None, Some(p)) => p.old_pds.clone(),
        (None, None) => {
            let d = crate::identity::diddoc::fetch(&did, &s.plc_url, &s.http).await?;
            pds_endpoint(&d).ok_or_else(|| {
                Finding::fail(format!("{did}'s DID document names no PDS"))
                    .fix("name the old PDS with --old-pds URL")
            })?
        }
    };
    let mut p = match saved {
        Some(p) => {
            say(Finding::info(format!(
                "continuing the move of {did} (done: {})",
                if p.done.is_empty() {
                    "nothing yet".to_string()
                } else {
                    p.done
                        .iter()
                        .map(|s| s.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            )));
            if p.has(Stage::Created)
                && (p.handle != req.handle.as_str() || !p.email.eq_ignore_ascii_case(&req.email))
            {
                say(Finding::warn(format!(
                    "the account was created here as {} <{}>; that stays (change the handle afterwards with accounts set-handle)",
                    p.handle, p.email
                )));
            }
            p
        }
        None => Progress {
            did: did.to_string(),
            old_pds: old_base.clone(),
            handle: req.handle.as_str().to_string(),
            email: req.email.trim().to_string(),
            done: Vec::new(),
            token_requested_at: None,
            signed_operation: None,
            bypass: None,
        },
    };
    if p.has(Stage::OldDeactivated) {
        say(Finding::info("the move itself is done; checking it again"));
    }
    let old = Xrpc::new(&old_base, &s.http);
    let here = Xrpc::new(&s.local_url, &s.http);
    let described = here
        .get("com.atproto.server.describeServer", &[])
        .await
        .map_err(|e| {
            e.finding("this PDS")
                .fix("start the PDS (sudo systemctl start pds) and check it: pds-wizard doctor")
        })?;
    let service_did = described["did"].as_str().unwrap_or_default().to_string();
    say(Finding::pass(format!("this PDS answers ({service_did})")));

    let (old_s, old_session) = session(
        &old,
        "the old PDS",
        &did,
        password,
        req.auth_code.as_deref(),
    )
    .await?;
    say(Finding::pass(format!(
        "signed in to the old PDS {old_base} as {} ({did})",
        old_session["handle"].as_str().unwrap_or("?")
    )));

    if !p.has(Stage::Checked) {
        let blockers = preflight(s, doc, req, &did, &old_s, &here, &described, say).await;
        if !blockers.is_empty() {
            return Err(Stop::Blocked(blockers));
        }
        say(Finding::pass(
            "every limit of this PDS allows the move; nothing was written yet",
        ));
        reached(&mut p, Stage::Checked)?;
    }

    // The account here, deactivated, with the same DID.
    let admin = s.admin();
    let exists = admin.email_of(did.as_str()).await.is_ok();
    if !exists {
        let invite = if described["inviteCodeRequired"].as_bool().unwrap_or(false) {
            let book = crate::setup::accounts::InviteBook::for_pds(&s.local_url);
            Some(match admin.unused_invite(&book.codes()).await? {
                Some(code) => code,
                None => {
                    let code = admin.invite(1).await?;
                    book.add(&code);
                    code
                }
            })
        } else {
            None
        };
        let auth = old_s
            .get(
                "com.atproto.server.getServiceAuth",
                &[
                    ("aud", service_did.as_str()),
                    ("lxm", "com.atproto.server.createAccount"),
                ],
            )
            .await
            .map_err(|e| e.finding("the old PDS"))?;
        let service_token = Secret::new(auth["token"].as_str().unwrap_or_default());
        let mut body = json!({
            "did": did.as_str(),
            "handle": p.handle,
            "email": p.email,
            "password": password.expose(),
        });
        if let Some(code) = &invite {
            body["inviteCode"] = json!(code);
        }
        here.post_as(
            "com.atproto.server.createAccount",
            Body::Json(&body),
            Some(&service_token),
        )
        .await
        .map_err(|e| e.finding("this PDS"))?;
        if let Some(code) = &invite {
            crate::setup::accounts::InviteBook::for_pds(&s.local_url).remove(code);
        }
        say(Finding::pass(format!(
            "created {} here with the same DID, deactivated until the move is done (same password as before)",
            p.handle
        )));
    } else if !p.has(Stage::Created) {
        say(Finding::info(format!(
            "{did} already exists here: going on with it"
        )));
    }
    reached(&mut p, Stage::Created)?;
    let (new_s, _) = session(&here, "this PDS", &did, password, None).await?;

    // The repository.
    let latest = old_s
        .get("com.atproto.sync.getLatestCommit", &[("did", did.as_str())])
        .await
        .map_err(|e| e.finding("the old PDS"))?;
    let status = new_s
        .get("com.atproto.server.checkAccountStatus", &[])
        .await
        .map_err(|e| e.finding("this PDS"))?;
    if !p.has(Stage::Imported) || status["repoRev"] != latest["rev"] {
        if status["repoRev"].is_string() && status["repoRev"] == latest["rev"] {
            say(Finding::info("the repository is already here"));
        } else {
            let (car, _) = old_s
                .get_bytes(
                    "com.atproto.sync.getRepo",
                    &[("did", did.as_str())],
                    import_limit(doc),
                )
                .await
                .map_err(|e| e.finding("the old PDS"))?;
            new_s
                .post(
                    "com.atproto.repo.importRepo",
                    Body::Bytes(&car, "application/vnd.ipld.car"),
                )
                .await
                .map_err(|e| {
                    let f = e.finding("this PDS");
                    // A proxy's body limit: nginx answers 413, Caddy's request_body a 502
                    // once the PDS reads past it.
                    if matches!(e.status, Some(413) | Some(502)) && e.code.is_none() {
                        f.why(format!("The repository ({}) is sent in one request; something in front of the PDS refused its size.", human(car.len())))
                            .fix("raise the proxy's body limit (nginx: client_max_body_size; Caddy: request_body max_size), or pass --pds-url http://localhost:PDS_PORT")
                    } else {
                        f
                    }
                })?;
            say(Finding::pass(format!(
                "imported the repository ({})",
                human(car.len())
            )));
        }
        reached(&mut p, Stage::Imported)?;
    }

    if !p.has(Stage::Preferences) {
        let prefs = old_s
            .get("app.bsky.actor.getPreferences", &[])
            .await
            .map_err(|e| e.finding("the old PDS"))?;
        let body = json!({ "preferences": prefs["preferences"].clone() });
        new_s
            .post("app.bsky.actor.putPreferences", Body::Json(&body))
            .await
            .map_err(|e| e.finding("this PDS"))?;
        say(Finding::pass(format!(
            "copied the preferences ({})",
            prefs["preferences"].as_array().map_or(0, Vec::len)
        )));
        reached(&mut p, Stage::Preferences)?;
    }

    // The blobs, until this PDS misses none (checked on every run: cheap, and a blob the
    // account posted meanwhile on the old PDS is then copied too).
    if req.bypass_upload_limit && uploads_limited(doc) && p.bypass.is_none() {
        let before = doc.and_then(|d| d.get(BYPASS_KEY));
        p.bypass = Some(Bypass {
            before: before.clone(),
        });
        // Recorded first: a run killed from here on still puts it back.
        save_progress(&p)?;
        let mut ips: Vec<String> = before
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .map(|x| x.trim().to_string())
            .filter(|x| !x.is_empty())
            .collect();
        for ip in LOOPBACK_IPS {
            if !ips.iter().any(|x| x == ip) {
                ips.push(ip.to_string());
            }
        }
        set_bypass(s, &here, Some(&ips.join(","))).await?;
        say(Finding::pass(format!(
            "{BYPASS_KEY} lets this machine past the daily upload limit for the copy (the PDS restarted)"
        )));
    }
    let copied = copy_blobs(&did, &old_s, &new_s, blob_limit(doc), say).await;
    if let Some(b) = p.bypass.clone() {
        set_bypass(s, &here, b.before.as_deref()).await?;
        p.bypass = None;
        save_progress(&p)?;
        say(Finding::pass(format!(
            "{BYPASS_KEY} is as it was again (the PDS restarted)"
        )));
    }
    let copied = copied?;
    say(Finding::pass(format!(
        "every blob is here (listMissingBlobs is empty; {copied} copied now)"
    )));
    reached(&mut p, Stage::Blobs)?;

    // The PLC operation: only now, with the data complete, is the 15-minute token asked for.
    let plc_before = plc_data(s, &did).await?;
    let creds = new_s
        .get("com.atproto.identity.getRecommendedDidCredentials", &[])
        .await
        .map_err(|e| e.finding("this PDS"))?;
    let endpoint = creds["services"]["atproto_pds"]["endpoint"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let names_here = |data: &Value| {
        data["services"]["atproto_pds"]["endpoint"].as_str() == Some(endpoint.as_str())
    };
    if !names_here(&plc_before) {
        if p.signed_operation.is_none() {
            let Some(token) = req.plc_token.as_deref().map(str::trim) else {
                old_s
                    .post(
                        "com.atproto.identity.requestPlcOperationSignature",
                        Body::None,
                    )
                    .await
                    .map_err(|e| e.finding("the old PDS"))?;
                p.token_requested_at = Some(now());
                reached(&mut p, Stage::TokenSent)?;
                return Ok(Outcome::WaitingForToken {
                    did: did.to_string(),
                    expires_at: now() + TOKEN_LIFETIME_SECS,
                });
            };
            let mut body = creds.clone();
            body["token"] = json!(token);
            let op = old_s
                .post("com.atproto.identity.signPlcOperation", Body::Json(&body))
                .await
                .map_err(|e| {
                    let f = e.finding("the old PDS");
                    if e.is("ExpiredToken") {
                        f.why("The PLC token lives 15 minutes from its mail.")
                            .fix("rerun without --plc-token: a new one is mailed (the data copied so far stays)")
                    } else if e.is("InvalidToken") {
                        f.why("That is not the code in the latest mail from the old PDS.")
                            .fix("check the code in the latest mail, or rerun without --plc-token for a new one")
                    } else {
                        f
                    }
                })?;
            // Kept: the token is used up by signing, and a run killed now can submit this.
            p.signed_operation = Some(op["operation"].clone());
            save_progress(&p)?;
            say(Finding::pass("the old PDS signed the PLC operation"));
        }
        let op = json!({ "operation": p.signed_operation.clone().unwrap_or_default() });
        let submitted = new_s
            .post("com.atproto.identity.submitPlcOperation", Body::Json(&op))
            .await;
        p.signed_operation = None;
        if let Err(e) = submitted {
            save_progress(&p)?;
            return Err(Stop::Failed(e.finding("this PDS").fix(
                "rerun without --plc-token: a new token is mailed and a new operation signed",
            )));
        }
        say(Finding::pass(format!(
            "the PLC directory now names this PDS ({endpoint})"
        )));
    }
    reached(&mut p, Stage::Submitted)?;

    // Before activating: the PLC data names this PDS, its rotation key and the signing key
    // it keeps for the account (as recommended), the data is whole, and the PDS agrees.
    let plc_after = plc_data(s, &did).await?;
    let key = creds["verificationMethods"]["atproto"].as_str();
    let rotation: Vec<&str> = creds["rotationKeys"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let listed: Vec<&str> = plc_after["rotationKeys"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if !names_here(&plc_after)
        || plc_after["verificationMethods"]["atproto"].as_str() != key
        || !rotation.iter().all(|k| listed.contains(k))
    {
        return Err(Stop::Failed(
            Finding::fail(format!(
                "the PLC directory's data for {did} is not what this PDS recommended (PDS {}, signing key {})",
                plc_after["services"]["atproto_pds"]["endpoint"].as_str().unwrap_or("none"),
                plc_after["verificationMethods"]["atproto"].as_str().unwrap_or("none")
            ))
            .fix("rerun without --plc-token: a new token is mailed and a new operation signed"),
        ));
    }
    let status = new_s
        .get("com.atproto.server.checkAccountStatus", &[])
        .await
        .map_err(|e| e.finding("this PDS"))?;
    if !status["activated"].as_bool().unwrap_or(false) {
        let old_status = old_s
            .get("com.atproto.server.checkAccountStatus", &[])
            .await
            .map_err(|e| e.finding("the old PDS"))?;
        let count = |v: &Value, k: &str| v[k].as_u64().unwrap_or(0);
        if count(&status, "indexedRecords") < count(&old_status, "indexedRecords")
            || count(&status, "importedBlobs") < count(&status, "expectedBlobs")
        {
            return Err(Stop::Failed(
                Finding::fail(format!(
                    "the data here is not whole: {} of {} records, {} of {} blobs",
                    count(&status, "indexedRecords"),
                    count(&old_status, "indexedRecords"),
                    count(&status, "importedBlobs"),
                    count(&status, "expectedBlobs")
                ))
                .fix("rerun: the import and the blob copy are repeated"),
            ));
        }
        if status["validDid"].as_bool() != Some(true) {
            return Err(Stop::Failed(
                Finding::fail("this PDS does not accept the DID's PLC data as its own (checkAccountStatus: validDid false)")
                    .why("The PLC data must list this PDS's rotation key, name https://PDS_HOSTNAME as the PDS and carry the signing key this PDS keeps for the account.")
                    .fix("rerun without --plc-token to sign and submit the operation again"),
            ));
        }
        say(Finding::pass(format!(
            "checked: {} records, {} blobs, validDid true",
            count(&status, "indexedRecords"),
            count(&status, "importedBlobs")
        )));
        new_s
            .post("com.atproto.server.activateAccount", Body::None)
            .await
            .map_err(|e| e.finding("this PDS"))?;
        say(Finding::pass(format!("{} is active here", p.handle)));
    }
    reached(&mut p, Stage::Activated)?;

    if !p.has(Stage::OldDeactivated) {
        old_s
            .post(
                "com.atproto.server.deactivateAccount",
                Body::Json(&json!({})),
            )
            .await
            .map_err(|e| e.finding("the old PDS"))?;
        say(Finding::pass(format!(
            "deactivated on the old PDS {old_base}"
        )));
        reached(&mut p, Stage::OldDeactivated)?;
    }
    let checks = after(s, doc, &did, &p, &old_s, &new_s).await;
    Ok(Outcome::Moved {
        did: did.to_string(),
        checks,
    })
}

/// What the network says afterwards, each as a finding.
async fn after(
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
            token_requested_at: None,
            signed_operation: None,
            bypass: None,
        };
        let text = serde_json::to_string(&p).unwrap();
        assert!(!text.contains("password") && !text.contains("token\":\""));
        assert!(text.contains("\"created\""));
        assert!(Stage::ALL.windows(2).all(|w| w[0] < w[1]));
    }
}

//! The backup use cases as the command line and the wizard run them: a backup made,
//! verified and named; a backup verified; a restore with its relay repair, start and
//! checks. Each says its steps as findings, in order.

use super::create::{self, Options, Progress};
use super::verify::{self, Verdict};
use super::{Layout, Manifest, RelayCursor, Verified, MANIFEST};
use crate::finding::{Finding, Level};
use crate::settings::Resolved;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What the PDS reports at /xrpc/_health (its version), if it answers.
pub async fn pds_version(settings: &Resolved) -> Option<String> {
    let c = crate::http::client(&settings.http, "").ok()?;
    let r = c
        .get(format!("{}/xrpc/_health", settings.local_url))
        .send()
        .await
        .ok()?;
    let v: serde_json::Value = crate::http::read_json(r, crate::http::cap::JSON)
        .await
        .ok()?;
    v["version"].as_str().map(str::to_string)
}

/// Each relay's view of this host now (PDS_CRAWLERS when `relays` is empty).
pub async fn relay_cursors(
    settings: &Resolved,
    doc: &crate::envfile::Document,
    relays: &[String],
) -> Vec<RelayCursor> {
    let relays = crate::relay::chosen(doc, relays);
    let host = settings.hostname.clone().unwrap_or_default();
    let Ok(c) = crate::http::client(&settings.http, "") else {
        return vec![];
    };
    let seen = futures::future::join_all(
        relays
            .iter()
            .map(|r| crate::repair::host_status(&c, r, &host)),
    )
    .await;
    relays
        .into_iter()
        .zip(seen)
        .map(|(relay, s)| RelayCursor {
            relay,
            status: s.as_ref().ok().map(|s| s.status.clone()),
            cursor: s.ok().and_then(|s| s.cursor),
        })
        .collect()
}

/// Verify the backup in `dir`; with `online`, each key against its DID document at the
/// PLC directory pds.env names (or --plc-url).
pub async fn verify_dir(settings: &Resolved, dir: &Path, online: bool) -> Verdict {
    let dids: Vec<String> = std::fs::read(dir.join(MANIFEST))
        .ok()
        .and_then(|b| serde_json::from_slice::<Manifest>(&b).ok())
        .map(|m| m.accounts.into_iter().map(|a| a.did).collect())
        .unwrap_or_default();
    let keys = if online {
        verify::document_keys(&dids, &settings.plc_url, &settings.http).await
    } else {
        Default::default()
    };
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || verify::verify(&dir, &keys))
        .await
        .unwrap_or_else(|e| Verdict {
            dir: PathBuf::new(),
            accounts: 0,
            blobs: 0,
            files: 0,
            keys_checked: 0,
            notes: vec![],
            problems: vec![verify::Problem {
                kind: verify::Kind::Corrupt,
                did: None,
                cid: None,
                path: None,
                detail: e.to_string(),
            }],
        })
}

/// A made backup.
#[derive(Debug, Clone, Serialize)]
pub struct Made {
    /// The complete backup (or, when it failed verification, the `.partial-` directory
    /// left for inspection).
    pub path: PathBuf,
    pub complete: bool,
    pub verdict: Verdict,
    pub manifest: Manifest,
    /// What was not copied and why; older backups removed.
    pub notes: Vec<String>,
    pub removed: Vec<PathBuf>,
    pub seconds: f64,
}

/// Make a backup of the PDS at `layout` (`Layout::of` pds.env) into DEST, verify it,
/// name it, keep the newest `keep`.
pub async fn create_verified(
    settings: &Resolved,
    doc: &crate::envfile::Document,
    layout: Layout,
    dest: &Path,
    keep: Option<usize>,
    relays: &[String],
    progress: impl FnMut(&Progress) + Send + 'static,
) -> Result<Made, String> {
    let started = std::time::Instant::now();
    let (pds_version, relays) =
        tokio::join!(pds_version(settings), relay_cursors(settings, doc, relays));
    let opts = Options {
        hostname: settings.hostname.clone(),
        pds_version,
        relays,
    };
    let dest = dest.to_path_buf();
    let mut progress = progress;
    let partial =
        tokio::task::spawn_blocking(move || create::copy(&layout, &dest, &opts, &mut progress))
            .await
            .map_err(|e| e.to_string())??;
    let verdict = verify_dir(settings, &partial.dir, true).await;
    let manifest = partial.manifest.clone();
    let mut notes = partial.notes.clone();
    if !verdict.sound() {
        notes.push(format!(
            "the backup did not pass verification: left as {} for inspection (the next backup removes it)",
            partial.dir.display()
        ));
        return Ok(Made {
            path: partial.dir.clone(),
            complete: false,
            verdict,
            manifest,
            notes,
            removed: vec![],
            seconds: started.elapsed().as_secs_f64(),
        });
    }
    let verified = Verified {
        at: super::now_rfc3339(),
        accounts: verdict.accounts,
        blobs: verdict.blobs,
        keys_checked: verdict.keys_checked,
    };
    let sealed = tokio::task::spawn_blocking(move || partial.seal(&verified, keep))
        .await
        .map_err(|e| e.to_string())??;
    Ok(Made {
        path: sealed.path,
        complete: true,
        verdict,
        manifest,
        notes,
        removed: sealed.removed,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// `--then CMD` after a backup: `sh -c CMD` with the backup's path in PDS_BACKUP_DIR and
/// as $1; its output, or why it failed.
pub fn then(cmd: &str, backup: &Path, limit: Duration) -> Result<String, String> {
    crate::run::may_change_machine(&["sh", "-c", cmd])?;
    let mut c = std::process::Command::new("sh");
    c.args(["-c", cmd, "sh"])
        .arg(backup)
        .env("PDS_BACKUP_DIR", backup);
    match crate::run::run_command_apart(c, limit) {
        crate::run::RanApart::Done {
            ok: true,
            stdout,
            stderr,
        } => Ok(stdout + &stderr),
        crate::run::RanApart::Done {
            ok: false,
            stdout,
            stderr,
        } => Err(format!("`{cmd}` failed: {}", (stdout + &stderr).trim())),
        crate::run::RanApart::CannotRun(e) => Err(format!("cannot run `{cmd}`: {e}")),
        crate::run::RanApart::TimedOut => {
            Err(format!("`{cmd}` did not finish in {} s", limit.as_secs()))
        }
    }
}

/// After a restore: start the PDS (through the relay repair when a relay's cursor is past
/// the restored sequencer), then check it: health, each account's repo head against the
/// manifest, each relay.
pub async fn after_restore(
    settings: &Resolved,
    doc: &crate::envfile::Document,
    manifest: &Manifest,
    data_dir: &Path,
    relays: &[String],
    watch: Duration,
    mut said: impl FnMut(&Finding),
) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut say = |f: Finding, out: &mut Vec<Finding>| {
        said(&f);
        out.push(f);
    };
    let accounts: Vec<crate::pds::accounts::Account> = manifest
        .accounts
        .iter()
        .filter_map(|a| {
            Some(crate::pds::accounts::Account {
                handle: a.handle.clone()?,
                did: a.did.clone(),
                email: None,
                active: a.active,
                status: None,
            })
        })
        .collect();
    let plan = crate::repair::plan(settings, doc, relays, &accounts, data_dir).await;
    let control = crate::repair::control(&settings.flags);
    if plan.needed() {
        say(
            Finding::info(format!(
                "a relay is past the restored events (newest #{}): the relay repair runs first",
                plan.sequence.and_then(|s| s.newest).unwrap_or(0)
            )),
            &mut out,
        );
        let done = crate::repair::execute(&plan, settings, watch, |_| {}).await;
        for f in done.steps {
            say(f, &mut out);
        }
    } else {
        let start = match control {
            Some(crate::repair::Control::StopStart { start, .. }) => Some(start),
            Some(crate::repair::Control::Restart(c)) => Some(c),
            None => None,
        };
        match start {
            Some(cmd) => {
                let f = crate::repair::start(&cmd, settings).await;
                say(f, &mut out);
            }
            None => {
                say(
                    Finding::fail("cannot start the PDS here: no systemd unit `pds`, no compose.yaml beside pds.env")
                        .fix("start it yourself, then: pds-wizard relay repair"),
                    &mut out,
                );
                return out;
            }
        }
    }
    // Each account's repo head as the restored PDS serves it.
    let Ok(c) = crate::http::client(&settings.http, "") else {
        return out;
    };
    for a in &manifest.accounts {
        let url = format!(
            "{}/xrpc/com.atproto.sync.getLatestCommit?did={}",
            settings.local_url, a.did
        );
        let got: Option<serde_json::Value> = match c.get(&url).send().await {
            Ok(r) => crate::http::read_json(r, crate::http::cap::JSON).await.ok(),
            Err(_) => None,
        };
        let rev = got
            .as_ref()
            .and_then(|v| v["rev"].as_str().map(str::to_string));
        let name = a.handle.clone().unwrap_or_else(|| a.did.clone());
        let f = match (&rev, &a.rev) {
            (Some(now), Some(was)) if now >= was => Finding::pass(format!(
                "{name}: the PDS serves its repo at rev {now} (the backup's: {was})"
            )),
            (Some(now), Some(was)) => Finding::fail(format!(
                "{name}: the PDS serves rev {now}, older than the backup's {was}"
            )),
            (_, None) => Finding::info(format!("{name}: the backup holds no repo for it")),
            (None, _) => Finding::fail(format!("{name}: the PDS does not serve its repo ({url})")),
        };
        say(f, &mut out);
    }
    for r in relay_cursors(settings, doc, relays).await {
        let f = match r.status.as_deref() {
            Some("active") => Finding::pass(format!(
                "{}: active{}",
                r.relay,
                r.cursor
                    .map(|c| format!(", cursor #{c}"))
                    .unwrap_or_default()
            )),
            Some(s) => Finding::warn(format!("{}: {s}", r.relay)).fix("pds-wizard relay repair"),
            None => Finding::warn(format!("{}: no host status", r.relay)),
        };
        say(f, &mut out);
    }
    out
}

/// Whether the restore ended well.
pub fn restored_well(steps: &[Finding]) -> bool {
    crate::finding::worst(steps) != Level::Fail
}

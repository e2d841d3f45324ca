//! Applying an answers file: `plan` works out every change against the files as they are
//! (writing nothing, so answers that cannot be applied stop everything before the first
//! write), `execute` makes them through the same safe-write paths as the wizard. The CLI's
//! `apply` prints what comes back; a fleet tool reads its exit code.

use crate::answers::Answers;
use crate::envfile::display::changed_lines;
use crate::envfile::{catalogue, Document, EnvError};
use crate::finding::{worst, Finding, Level};
use crate::fsutil::SaveReport;
use crate::identity::{didfile, Did};
use crate::proxy::install::{placements, write, Placement};
use crate::proxy::render::{render_to, RenderedFile};
use crate::proxy::validate::{validate_plan, Validation};
use crate::proxy::{plan_from_env, PlanError, ProxyPlan, Server};
use std::path::Path;
use std::path::PathBuf;
use std::time::Duration;
use thiserror::Error;

/// Why the answers cannot be applied (nothing is written then).
#[derive(Debug, Error)]
pub enum ApplyError {
    /// The error names the key itself.
    #[error("pds.env: {error}")]
    Env { key: String, error: EnvError },
    #[error("proxy.server: {0}")]
    ProxyServer(String),
    #[error("proxy.out is missing: where should the {server} config go?")]
    ProxyOut { server: String },
    #[error("proxy: {}", .0.for_cli())]
    ProxyPlan(PlanError),
    #[error("proxy.out: {0}")]
    ProxyPlace(String),
    #[error("did_file.did: {0}")]
    DidFileDid(String),
}

/// One thing applying the answers changes (or finds unchanged).
#[derive(Debug)]
pub enum Change {
    /// pds.env with the `[env]` values set; `diff` is empty when nothing changes.
    Env {
        path: PathBuf,
        doc: Box<Document>,
        diff: Vec<String>,
        /// Keys the PDS does not read (written all the same: a plugin's, the operator's).
        unread: Vec<String>,
    },
    /// The reverse proxy config, planned from pds.env as it will be.
    Proxy {
        plan: Box<ProxyPlan>,
        files: Vec<RenderedFile>,
        placements: Vec<Placement>,
        findings: Vec<Finding>,
    },
    /// The atproto-did file.
    DidFile {
        path: PathBuf,
        webroot: PathBuf,
        did: Did,
        changed: bool,
    },
    /// A did_file section without a web root or a DID: nothing to write.
    DidFileSkipped { handle: String },
}

/// How to apply.
#[derive(Debug, Clone)]
pub struct Request {
    /// Show what would change; write nothing.
    pub dry_run: bool,
    /// Bound for the proxy server's own check of its config.
    pub validate_timeout: Duration,
}

/// What became of one change.
#[derive(Debug)]
pub enum Outcome {
    Unchanged(PathBuf),
    /// A dry run: this would be written.
    WouldWrite(PathBuf),
    Written(SaveReport),
    /// The proxy config: its server's verdict, then each file written (or why none was).
    Proxy {
        validation: Validation,
        written: Vec<SaveReport>,
        /// The plan or the server's check failed: nothing written.
        refused: bool,
    },
    /// Nothing to do (a did_file section without a web root or a DID).
    Skipped,
    Failed {
        path: PathBuf,
        error: String,
    },
}

impl Outcome {
    /// Whether this change could not be applied.
    pub fn failed(&self) -> bool {
        matches!(
            self,
            Outcome::Failed { .. } | Outcome::Proxy { refused: true, .. }
        )
    }
}

/// Directories no file of the answers may go into, whatever they say.
const SYSTEM_DIRS: [&str; 13] = [
    "/bin", "/sbin", "/usr", "/lib", "/lib32", "/lib64", "/libx32", "/boot", "/dev", "/proc",
    "/sys", "/run", "/var/lib",
];

/// Where under /etc each output of an answers file may go: a server's own directory.
const ETC_PLACES: [(&str, &[&str]); 3] = [
    ("[proxy] out", &["/etc/nginx", "/etc/caddy", "/etc/traefik"]),
    ("[pds_side] nft_file", &["/etc/nftables.d", "/etc/nftables"]),
    ("[pds_side] caddyfile", &["/etc/caddy"]),
];

/// The answers' outputs and commands checked before anything is written: no output onto
/// pds.env (its backups, its lock) or the answers file, none into a system directory or
/// outside its server's directory under /etc, none over a file of another kind (an nginx
/// site over /etc/passwd), the Caddyfile `[pds_side]` edits there to be edited; and no
/// command from an answers file another user can write (it would run as root: sudo and
/// sshd refuse their own files for that). Each problem names its key.
pub fn check_places(a: &Answers, env_file: &Path, answers: &Path) -> Vec<String> {
    use crate::fsutil::{resolve, who_else_can_change, Links};
    let mut out = Vec::new();
    let real = |p: &Path| {
        resolve(p, Links::Operator)
            .map(|t| t.path())
            .unwrap_or_else(|_| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf()))
    };
    let env_real = real(env_file);
    let env_name = env_real
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let answers_real = real(answers);
    let mut check = |key: &str, p: &Path, kind: &dyn Fn(&str) -> bool, what: &str| {
        let target = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
        let resolved = resolve(&target, Links::Refuse).map(|t| t.path());
        let t = resolved
            .as_ref()
            .map_or_else(|_| target.clone(), |r| r.clone());
        let name = t
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let beside_env = t.parent() == env_real.parent()
            && (name == env_name
                || name.starts_with(&format!("{env_name}.bak-"))
                || name == format!(".{env_name}.lock"));
        if beside_env {
            out.push(format!(
                "{key}: {} is pds.env's own (its secrets would be lost)",
                t.display()
            ));
            return;
        }
        if t == answers_real {
            out.push(format!("{key}: {} is the answers file itself", t.display()));
            return;
        }
        match &resolved {
            // A directory not made yet: the write makes it, or says so.
            Err(e) if matches!(e.refusal(), Some(crate::fsutil::Refusal::NoDirectory(_))) => {}
            Err(e) => {
                out.push(format!("{key}: {e}"));
                return;
            }
            Ok(_) => {}
        }
        if SYSTEM_DIRS.iter().any(|d| t.starts_with(d))
            || t.components().any(|c| c.as_os_str() == ".ssh")
        {
            out.push(format!(
                "{key}: {} is a system place; no output of pds-wizard's goes there",
                t.display()
            ));
            return;
        }
        let allowed = ETC_PLACES
            .iter()
            .find(|(k, _)| *k == key)
            .map_or(&[][..], |(_, d)| *d);
        if t.starts_with("/etc") && !allowed.iter().any(|d| t.starts_with(d)) {
            out.push(format!(
                "{key}: {} is under /etc, outside {}: refused",
                t.display(),
                if allowed.is_empty() {
                    "any place for it".to_string()
                } else {
                    allowed.join(" and ")
                }
            ));
            return;
        }
        if let Ok(Some(old)) = crate::fsutil::read_target(&t, Links::Refuse) {
            let text = String::from_utf8_lossy(&old);
            if !text.trim().is_empty() && !kind(&text) {
                out.push(format!(
                    "{key}: {} is there and is not {what}: pds-wizard replaces only a file of that kind",
                    t.display()
                ));
            }
        }
    };
    if let Some(p) = &a.proxy {
        if let (Ok(server), Some(o)) = (p.server.parse::<crate::proxy::Server>(), &p.out) {
            let is_config = |text: &str| crate::proxy::validate::detect(o, text).is_some();
            check(
                "[proxy] out",
                o,
                &is_config,
                &format!("a {server} configuration"),
            );
        }
    }
    if let Some(side) = &a.pds_side {
        let is_nft = |text: &str| text.contains("table ") || text.starts_with("#!/usr/sbin/nft");
        let nft = side
            .nft_file
            .clone()
            .unwrap_or_else(|| crate::proxy::split::NFT_FILE.into());
        // Written only with the nft firewall; named all the same, it must be a fit place.
        if side.firewall.as_deref() == Some("nft") || side.nft_file.is_some() {
            check("[pds_side] nft_file", &nft, &is_nft, "an nftables file");
        }
        if side.via.as_deref().map(crate::proxy::split::Via::parse)
            == Some(Ok(crate::proxy::split::Via::InstallerCaddy))
        {
            let caddyfile = side.caddyfile.clone().or_else(|| {
                env_file
                    .parent()
                    .and_then(crate::proxy::install::installer_caddy)
            });
            match caddyfile {
                None => out.push("[pds_side] caddyfile: through Caddy, but no Caddyfile is named and the installer's compose.yaml (beside pds.env) runs no Caddy".into()),
                Some(c) if !c.exists() => out.push(format!("[pds_side] caddyfile: {} does not exist", c.display())),
                Some(c) => {
                    let is_caddy = |text: &str| crate::caddy::file::lex(text).is_ok();
                    check("[pds_side] caddyfile", &c, &is_caddy, "a Caddyfile");
                }
            }
        }
        if side.reload_command.is_some() {
            let who = match resolve(answers, Links::Operator) {
                Ok(t) => who_else_can_change(&t),
                Err(e) => Some(e.to_string()),
            };
            if let Some(who) = who {
                out.push(format!(
                    "[pds_side] reload_command: {who}, and the command would run as root; make the file root's and private (sudo chown root: FILE && sudo chmod 600 FILE), or take reload_command out"
                ));
            }
        }
    }
    out
}

/// PDS_PORT in pds.env's text.
fn before_port(text: &str) -> Option<u16> {
    Document::parse(text)
        .get("PDS_PORT")
        .and_then(|v| v.trim().parse().ok())
}

/// Every change the answers make to `doc` (pds.env, loaded — for edit, its lock then held
/// by the pds.env change until it is made) and the files they name. Nothing is written;
/// reading the files there now gives the diffs.
pub fn plan(a: &Answers, doc: Document) -> Result<Vec<Change>, Vec<ApplyError>> {
    let mut errors = Vec::new();
    let mut changes = Vec::new();
    let before = doc.render();
    let mut edited = doc;
    let mut unread = Vec::new();
    for (k, v) in &a.env {
        // A near miss of a real key was refused when the file was read; anything else the
        // PDS does not read is written all the same.
        if !catalogue::pds_reads(k) {
            unread.push(k.clone());
        }
        if let Err(error) = edited.set(k, v) {
            errors.push(ApplyError::Env {
                key: k.clone(),
                error,
            });
        }
        if let (true, Ok(port)) = (k == "PDS_PORT", v.trim().parse::<u16>()) {
            let current = before_port(&before);
            if let Err(reason) = crate::pds::sockets::port_for_pds(port, current) {
                errors.push(ApplyError::Env {
                    key: k.clone(),
                    error: crate::envfile::EnvError::Unwritable {
                        key: k.clone(),
                        reason,
                    },
                });
            }
        }
    }
    let diff = changed_lines(&before, &edited.render());
    if let Some(p) = &a.proxy {
        match (p.server.parse::<Server>(), &p.out) {
            (Err(e), _) => errors.push(ApplyError::ProxyServer(e.to_string())),
            (Ok(_), None) => errors.push(ApplyError::ProxyOut {
                server: p.server.clone(),
            }),
            (Ok(server), Some(out)) => match plan_from_env(server, &edited, &p.plan_answers()) {
                Err(e) => errors.extend(e.into_iter().map(ApplyError::ProxyPlan)),
                Ok(plan) => {
                    let files = render_to(&plan, Some(out));
                    match placements(&files, out) {
                        Ok(places) => changes.push(Change::Proxy {
                            findings: plan.findings(),
                            plan: Box::new(plan),
                            files,
                            placements: places,
                        }),
                        Err(e) => errors.push(ApplyError::ProxyPlace(e)),
                    }
                }
            },
        }
    }
    if let Some(d) = &a.did_file {
        match (&d.webroot, &d.did) {
            (Some(root), Some(did)) => match Did::parse_usable(did) {
                Ok(did) => {
                    let path = didfile::did_file_path(root);
                    let same =
                        std::fs::read_to_string(&path).is_ok_and(|t| t.trim() == did.as_str());
                    changes.push(Change::DidFile {
                        path,
                        webroot: root.clone(),
                        did,
                        changed: !same,
                    });
                }
                Err(e) => errors.push(ApplyError::DidFileDid(e.to_string())),
            },
            _ => changes.push(Change::DidFileSkipped {
                handle: d.handle.clone(),
            }),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    changes.insert(
        0,
        Change::Env {
            path: edited.path().map(PathBuf::from).unwrap_or_default(),
            doc: Box::new(edited),
            diff,
            unread,
        },
    );
    Ok(changes)
}

/// Make one change (the CLI prints each change, then its outcome, in order; a failure
/// does not stop the next: what can be applied is).
pub async fn execute(change: Change, req: &Request) -> Outcome {
    match change {
        Change::Env { path, diff, .. } if diff.is_empty() => Outcome::Unchanged(path),
        Change::Env { path, .. } if req.dry_run => Outcome::WouldWrite(path),
        // Saving consumes the document: its lock goes with it, so others may save while the
        // rest is applied.
        Change::Env { path, mut doc, .. } => match doc.save() {
            Ok(r) => Outcome::Written(r),
            Err(e) => Outcome::Failed {
                path,
                error: e.to_string(),
            },
        },
        Change::Proxy {
            plan,
            files,
            placements,
            findings,
        } => {
            let validation = validate_plan(&plan, &files, req.validate_timeout).await;
            let mut all = findings;
            all.push(validation.finding.clone());
            let refused = worst(&all) == Level::Fail;
            let written = if refused || req.dry_run {
                Ok(vec![])
            } else {
                write(&files, &placements)
            };
            match written {
                Ok(written) => Outcome::Proxy {
                    validation,
                    written,
                    refused,
                },
                Err(error) => Outcome::Failed {
                    path: placements
                        .first()
                        .map(|p| p.path.clone())
                        .unwrap_or_default(),
                    error,
                },
            }
        }
        Change::DidFile { path, changed, .. } if !changed => Outcome::Unchanged(path),
        Change::DidFile { path, .. } if req.dry_run => Outcome::WouldWrite(path),
        Change::DidFile {
            path, webroot, did, ..
        } => match didfile::write_did_file(&webroot, &did) {
            Ok(r) => Outcome::Written(r),
            Err(error) => Outcome::Failed { path, error },
        },
        Change::DidFileSkipped { .. } => Outcome::Skipped,
    }
}

//! `backup restore`: a verified backup's data (databases, `actors/`, `blocks/`) put back
//! into a data directory, with the modes and owners they had, in WAL mode.
//!
//! Never over a running PDS (a process holding a file there open), and never over data
//! without moving it aside first: what was there goes into `before-restore-STAMP/` inside
//! the data directory, nothing is deleted. The files are written into a staging directory
//! beside them and moved into place at the end, each one checked against the manifest's
//! hash as it is copied. pds.env, compose.yaml and `caddy/` stay in the backup's
//! `config/` (a move copies them by hand: the guide says how).

use super::{Manifest, MANIFEST};
use serde::Serialize;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// What the data directory holds that a restore would replace.
const DATA: &[&str] = &[
    "account.sqlite",
    "sequencer.sqlite",
    "did_cache.sqlite",
    "actors",
    "blocks",
];

/// The data directory before a restore.
#[derive(Debug, Clone, Serialize)]
pub struct Before {
    pub to: PathBuf,
    /// Its PDS data (databases with their -wal/-shm, actors/, blocks/), by name.
    pub present: Vec<String>,
    /// Processes holding a file in it open ("PID (name)"): a PDS running on it.
    pub running: Vec<String>,
}

/// Look at `to` before restoring into it.
pub fn inspect(to: &Path) -> Before {
    Before {
        to: to.to_path_buf(),
        present: present(to),
        running: holders(to),
    }
}

/// The PDS data in `to` (databases with their -wal/-shm, actors/, blocks/), by name.
pub fn present(to: &Path) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(to) else {
        return vec![];
    };
    let mut names: Vec<String> = rd
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            DATA.iter().any(|d| {
                n == d
                    || n.strip_prefix(d)
                        .is_some_and(|r| r == "-wal" || r == "-shm")
            })
        })
        .collect();
    names.sort();
    names
}

/// Processes holding the PDS's data under `dir` open (its databases, `actors/`,
/// `blocks/`; read from /proc, where root sees them all). A log beside them is not the PDS.
pub fn holders(dir: &Path) -> Vec<String> {
    let Ok(dir) = std::fs::canonicalize(dir) else {
        return vec![];
    };
    let mut out = Vec::new();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return out;
    };
    let me = std::process::id().to_string();
    for p in procs.flatten() {
        let pid = p.file_name().to_string_lossy().into_owned();
        if !pid.chars().all(|c| c.is_ascii_digit()) || pid == me {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(p.path().join("fd")) else {
            continue;
        };
        if fds
            .flatten()
            .filter_map(|fd| std::fs::read_link(fd.path()).ok())
            .any(|l| {
                l.strip_prefix(&dir)
                    .ok()
                    .and_then(|r| r.components().next())
                    .is_some_and(|c| {
                        let n = c.as_os_str().to_string_lossy();
                        DATA.iter().any(|d| n.starts_with(d))
                    })
            })
        {
            let comm = std::fs::read_to_string(p.path().join("comm")).unwrap_or_default();
            out.push(format!("{pid} ({})", comm.trim()));
        }
    }
    out
}

/// How a restore went.
#[derive(Debug, Clone, Serialize)]
pub struct Restored {
    pub to: PathBuf,
    /// Where the data that was there went (nothing deleted).
    pub moved_aside: Option<PathBuf>,
    pub files: usize,
    pub bytes: u64,
}

fn io(what: impl std::fmt::Display) -> impl Fn(std::io::Error) -> String {
    move |e| format!("{what}: {e}")
}

/// Restore the backup in `dir` (already verified) into `to`. Refused while a process
/// holds a file in `to` open; data already there is moved aside (the caller asked first).
pub fn restore(dir: &Path, to: &Path) -> Result<Restored, String> {
    crate::fsutil::check_confined(to).map_err(|e| e.to_string())?;
    let manifest: Manifest = std::fs::read(dir.join(MANIFEST))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| format!("{} has no readable {MANIFEST}", dir.display()))?;
    // Every path the manifest names stays inside the backup, and what is restored is
    // the PDS's data only: checked before anything is written.
    let stray = manifest.files.iter().find(|f| {
        !super::inside(&f.path) || !(f.path.starts_with("config/") || super::restored(&f.path))
    });
    if let Some(f) = stray {
        return Err(format!(
            "{}: the manifest names {:?}, outside what a backup holds: nothing restored",
            dir.display(),
            f.path
        ));
    }
    if std::fs::symlink_metadata(to).is_err() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(to)
            .map_err(io(format_args!("cannot make {}", to.display())))?;
    }
    // Refuse a directory another user could change, and one reached through a link made
    // by someone else (fsutil's rules for root's writes).
    let probe = crate::fsutil::resolve(&to.join(".restore-probe"), crate::fsutil::Links::Refuse)
        .map_err(|e| format!("cannot restore into {}: {e}", to.display()))?;
    if let Some(who) = crate::fsutil::who_else_can_change(&probe) {
        return Err(format!("will not restore into {}: {who}", to.display()));
    }
    let before = inspect(to);
    if !before.running.is_empty() {
        return Err(format!(
            "a PDS is running on {}: {} hold(s) its files open; stop it first (systemctl stop pds)",
            to.display(),
            before.running.join(", ")
        ));
    }
    // The owner of the data, for the directories made (the PDS may run as a user).
    let owner = manifest
        .files
        .iter()
        .find(|f| f.path == "account.sqlite")
        .map(|f| (f.uid, f.gid));
    let root = rustix::process::geteuid().is_root();
    let staging = to.join(format!(".restore-partial-{}", crate::fsutil::utc_stamp()));
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&staging)
        .map_err(io(format_args!("cannot make {}", staging.display())))?;
    let mut files = 0;
    let mut bytes = 0;
    for f in manifest.files.iter().filter(|f| super::restored(&f.path)) {
        let dst = staging.join(&f.path);
        if let Some(parent) = dst.parent() {
            make_dirs(&staging, parent, owner, root)?;
        }
        let mut src = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(dir.join(&f.path))
            .map_err(io(format_args!("cannot read {}", f.path)))?;
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(f.mode)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&dst)
            .map_err(io(format_args!("cannot write {}", dst.display())))?;
        let (n, sha) = super::create::hash_reader(&mut src, Some(&mut out))
            .map_err(io(format_args!("cannot copy {}", f.path)))?;
        if n != f.size || sha != f.sha256 {
            return Err(format!(
                "{} changed since the backup was verified: restore stopped (nothing moved into place; {} left for inspection)",
                f.path,
                staging.display()
            ));
        }
        // The mode create_new got is masked by the umask: set it as recorded.
        use std::os::unix::fs::PermissionsExt;
        out.set_permissions(std::fs::Permissions::from_mode(f.mode))
            .map_err(io(format_args!("cannot set the mode of {}", dst.display())))?;
        if root {
            rustix::fs::fchown(
                &out,
                Some(rustix::fs::Uid::from_raw(f.uid)),
                Some(rustix::fs::Gid::from_raw(f.gid)),
            )
            .map_err(|e| format!("cannot set the owner of {}: {e}", dst.display()))?;
        }
        files += 1;
        bytes += n;
    }
    // Each database in WAL mode, as the PDS runs them (a backup taken another way may
    // say otherwise; the PDS sets WAL only when it creates a store).
    for f in manifest
        .files
        .iter()
        .filter(|f| f.path.ends_with(".sqlite") && super::restored(&f.path))
    {
        let p = staging.join(&f.path);
        let conn = rusqlite::Connection::open(&p)
            .map_err(|e| format!("cannot open {}: {e}", p.display()))?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(|e| format!("cannot set WAL mode on {}: {e}", p.display()))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(format!("{} stays in {mode} mode, not WAL", p.display()));
        }
        conn.close()
            .map_err(|(_, e)| format!("cannot close {}: {e}", p.display()))?;
    }
    let d = std::fs::File::open(&staging)
        .map_err(io(format_args!("cannot open {}", staging.display())))?;
    rustix::fs::syncfs(&d).map_err(|e| format!("cannot flush {}: {e}", staging.display()))?;

    // What was there, moved aside; then the restored data moved into place.
    let moved_aside = if before.present.is_empty() {
        None
    } else {
        let aside = to.join(format!("before-restore-{}", crate::fsutil::utc_stamp()));
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&aside)
            .map_err(io(format_args!("cannot make {}", aside.display())))?;
        for n in &before.present {
            std::fs::rename(to.join(n), aside.join(n)).map_err(io(format_args!(
                "cannot move {} aside",
                to.join(n).display()
            )))?;
        }
        Some(aside)
    };
    let rd = std::fs::read_dir(&staging)
        .map_err(io(format_args!("cannot read {}", staging.display())))?;
    for e in rd.flatten() {
        std::fs::rename(e.path(), to.join(e.file_name())).map_err(io(format_args!(
            "cannot move {} into place",
            e.path().display()
        )))?;
    }
    std::fs::remove_dir(&staging)
        .map_err(io(format_args!("cannot remove {}", staging.display())))?;
    std::fs::File::open(to)
        .and_then(|d| d.sync_all())
        .map_err(io(format_args!("cannot flush {}", to.display())))?;
    Ok(Restored {
        to: to.to_path_buf(),
        moved_aside,
        files,
        bytes,
    })
}

/// Make the directories down to `dir` inside `staging` (0700, owned as the data is).
fn make_dirs(
    staging: &Path,
    dir: &Path,
    owner: Option<(u32, u32)>,
    root: bool,
) -> Result<(), String> {
    let Ok(rel) = dir.strip_prefix(staging) else {
        return Ok(());
    };
    let mut at = staging.to_path_buf();
    for c in rel.components() {
        at.push(c);
        if at.is_dir() {
            continue;
        }
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&at)
            .map_err(io(format_args!("cannot make {}", at.display())))?;
        if let (true, Some((uid, gid))) = (root, owner) {
            rustix::fs::chown(
                &at,
                Some(rustix::fs::Uid::from_raw(uid)),
                Some(rustix::fs::Gid::from_raw(gid)),
            )
            .map_err(|e| format!("cannot set the owner of {}: {e}", at.display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_pds_data_counts_as_present() {
        let d = tempfile::tempdir().unwrap();
        for n in [
            "pds.env",
            "compose.yaml",
            "account.sqlite",
            "account.sqlite-wal",
            "account.sqlite.bak",
        ] {
            std::fs::write(d.path().join(n), "x").unwrap();
        }
        std::fs::create_dir(d.path().join("actors")).unwrap();
        std::fs::create_dir(d.path().join("caddy")).unwrap();
        let b = inspect(d.path());
        assert_eq!(
            b.present,
            ["account.sqlite", "account.sqlite-wal", "actors"]
        );
    }

    #[test]
    fn a_manifest_leading_outside_the_data_directory_is_refused_before_any_write() {
        let d = tempfile::tempdir().unwrap();
        let backup = d.path().join("b");
        std::fs::create_dir(&backup).unwrap();
        let escape = d.path().join("escaped");
        let manifest = serde_json::json!({
            "format": 1, "tool": "t", "started_at": "", "finished_at": "", "hostname": null,
            "pds_version": null, "data_dir": "/pds", "blobstore": {"kind": "s3", "bucket": "b"},
            "newest_seq": null, "accounts": [], "relays": [], "previous": null,
            "files": [{"path": "actors/../../escaped", "size": 1, "sha256": "", "mode": 420, "uid": 0, "gid": 0}],
        });
        std::fs::write(backup.join(MANIFEST), manifest.to_string()).unwrap();
        let to = d.path().join("data");
        let e = restore(&backup, &to).unwrap_err();
        assert!(e.contains("outside what a backup holds"), "{e}");
        assert!(!escape.exists() && !to.exists());
    }

    #[test]
    fn a_process_holding_a_file_open_is_found() {
        let d = tempfile::tempdir().unwrap();
        // A log beside the data is not the PDS.
        let log = std::fs::File::create(d.path().join("pds.log")).unwrap();
        assert!(holders(d.path()).is_empty());
        drop(log);
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .stdin(std::fs::File::create(d.path().join("account.sqlite")).unwrap())
            .spawn()
            .unwrap();
        let found = holders(d.path());
        let _ = child.kill();
        let _ = child.wait();
        assert!(
            found.iter().any(|h| h.starts_with(&child.id().to_string())),
            "{found:?}"
        );
    }
}

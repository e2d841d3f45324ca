//! The one write path for files the wizard touches (pds.env, proxy configs, atproto-did):
//! a reader sees the old content or the new, never a partial file, and the old content is
//! kept as a timestamped backup.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
#[error("{what} {path}: {cause}{}", hint(cause))]
pub struct WriteError {
    pub what: &'static str,
    pub path: PathBuf,
    pub cause: std::io::Error,
}

fn hint(e: &std::io::Error) -> &'static str {
    match e.kind() {
        std::io::ErrorKind::PermissionDenied => " (run with sudo, or as the file's owner)",
        _ => "",
    }
}

fn err<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> WriteError + 'a {
    move |cause| WriteError {
        what,
        path: path.to_path_buf(),
        cause,
    }
}

#[derive(Debug, Clone, Copy)]
pub struct WriteOptions {
    /// Mode for a file that does not exist yet; an existing file keeps its own.
    pub new_file_mode: u32,
    /// How many `NAME.bak-<UTC timestamp>` files to keep; 0 keeps none and makes none.
    pub keep_backups: usize,
}

impl WriteOptions {
    /// For files holding secrets, such as pds.env.
    pub fn secret() -> Self {
        WriteOptions {
            new_file_mode: 0o600,
            keep_backups: 10,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct SaveReport {
    pub backup: Option<PathBuf>,
    pub pruned: Vec<PathBuf>,
}

/// Replace `path` with `bytes` atomically. See the module comment.
pub fn safe_write(path: &Path, bytes: &[u8], opts: WriteOptions) -> Result<SaveReport, WriteError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| err("cannot write", path)(std::io::Error::other("not a file path")))?;
    let existing = match fs::metadata(path) {
        Ok(m) => Some(m),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(err("cannot inspect", path)(e)),
    };
    let mode = existing
        .as_ref()
        .map(|m| m.mode() & 0o7777)
        .unwrap_or(opts.new_file_mode);
    let owner = existing.as_ref().map(|m| (m.uid(), m.gid()));

    remove_stale_temps(&dir, &name);
    let mut report = SaveReport::default();
    if existing.is_some() && opts.keep_backups > 0 {
        let old = fs::read(path).map_err(err("cannot read", path))?;
        let backup = free_backup_name(&dir, &name);
        write_replace(&backup, &old, mode, owner)?;
        report.backup = Some(backup);
    }
    write_replace(path, bytes, mode, owner)?;
    if opts.keep_backups > 0 {
        report.pruned = prune_backups(&dir, &name, opts.keep_backups)?;
    }
    Ok(report)
}

/// temp file in the same directory → fsync → rename over → fsync the directory.
fn write_replace(
    path: &Path,
    bytes: &[u8],
    mode: u32,
    owner: Option<(u32, u32)>,
) -> Result<(), WriteError> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let tmp = dir.join(format!(".{name}.tmp-{}-{nanos}", std::process::id()));
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)
            .map_err(err("cannot create", &tmp))?;
        // The umask may have narrowed the mode at creation; set it exactly.
        f.set_permissions(fs::Permissions::from_mode(mode))
            .map_err(err("cannot set the mode of", &tmp))?;
        if let Some((uid, gid)) = owner {
            let m = f.metadata().map_err(err("cannot inspect", &tmp))?;
            if (m.uid(), m.gid()) != (uid, gid) {
                std::os::unix::fs::fchown(&f, Some(uid), Some(gid))
                    .map_err(err("cannot keep the owner of", path))?;
            }
        }
        f.write_all(bytes).map_err(err("cannot write", &tmp))?;
        f.sync_all().map_err(err("cannot flush", &tmp))?;
        drop(f);
        fs::rename(&tmp, path).map_err(err("cannot replace", path))?;
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(err("cannot flush the directory", dir))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// A save killed between creating its temp file and renaming it leaves the temp behind
/// (holding secrets); remove those whose writer process no longer exists.
fn remove_stale_temps(dir: &Path, name: &str) {
    // Temps of the file itself (`.NAME.tmp-PID-N`) and of its backups (`.NAME.bak-….tmp-PID-N`).
    let prefix = format!(".{name}.");
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        if !file.starts_with(&prefix) {
            continue;
        }
        let Some((_, rest)) = file.rsplit_once(".tmp-") else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// `NAME.bak-YYYYMMDDTHHMMSSZ`, with `-002`, `-003`… when saves share a second. The suffix
/// continues past the highest one present, so a name never sorts before an older backup.
fn free_backup_name(dir: &Path, name: &str) -> PathBuf {
    let base = format!("{name}.bak-{}", utc_stamp());
    let same_second: Vec<u32> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let f = e.file_name().to_string_lossy().into_owned();
            let rest = f.strip_prefix(&base)?;
            if rest.is_empty() {
                Some(1)
            } else {
                rest.strip_prefix('-')?.parse().ok()
            }
        })
        .collect();
    match same_second.iter().max() {
        None => dir.join(base),
        Some(n) => dir.join(format!("{base}-{:03}", n + 1)),
    }
}

pub fn utc_stamp() -> String {
    let t = time::OffsetDateTime::now_utc();
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Backups of `name` in `dir`, oldest first (the names sort by time).
pub fn list_backups(dir: &Path, name: &str) -> Vec<PathBuf> {
    let prefix = format!("{name}.bak-");
    let mut found: Vec<PathBuf> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| e.path())
        .collect();
    found.sort();
    found
}

fn prune_backups(dir: &Path, name: &str, keep: usize) -> Result<Vec<PathBuf>, WriteError> {
    let all = list_backups(dir, name);
    let excess = all.len().saturating_sub(keep);
    let mut removed = Vec::new();
    for p in all.into_iter().take(excess) {
        fs::remove_file(&p).map_err(err("cannot remove old backup", &p))?;
        removed.push(p);
    }
    Ok(removed)
}

/// `$XDG_STATE_HOME/pds-wizard`, else `~/.local/state/pds-wizard`: drafts, the demo sandbox.
pub fn state_dir() -> PathBuf {
    match std::env::var_os("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
        Some(d) => PathBuf::from(d).join("pds-wizard"),
        None => {
            let home = std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("/root"));
            home.join(".local/state/pds-wizard")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamp_shape() {
        let s = utc_stamp();
        assert_eq!(s.len(), 16);
        assert!(s.ends_with('Z') && s.as_bytes()[8] == b'T');
    }

    #[test]
    fn new_file_gets_mode_and_no_backup() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x.env");
        let r = safe_write(&p, b"A=1\n", WriteOptions::secret()).unwrap();
        assert!(r.backup.is_none());
        assert_eq!(fs::metadata(&p).unwrap().mode() & 0o777, 0o600);
        assert_eq!(fs::read(&p).unwrap(), b"A=1\n");
    }
}

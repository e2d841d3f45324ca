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
    /// Write under the file's lock (`.NAME.lock` beside it). Not for files in directories a
    /// server reads whole (a proxy's config directory, a web root): it would find the lock.
    pub lock: bool,
}

impl WriteOptions {
    /// For files holding secrets, such as pds.env.
    pub fn secret() -> Self {
        WriteOptions {
            new_file_mode: 0o600,
            keep_backups: 10,
            lock: true,
        }
    }
}

/// An exclusive lock on a file's lock file (`.NAME.lock` beside it, never removed: the file
/// itself is replaced on every save, so it cannot carry the lock). Held from load to rename
/// by the command line, and around the final compare and rename by the wizard, so that two
/// saves that meet never lose an update. Re-entrant within one process: a nested
/// `acquire` of the same file shares the first lock instead of waiting on itself.
#[derive(Debug)]
pub struct FileLock {
    key: PathBuf,
    _file: Option<File>,
}

/// Lock files this process holds, with how many guards share each.
static HELD: std::sync::Mutex<Vec<(PathBuf, usize)>> = std::sync::Mutex::new(Vec::new());

/// How long a save waits for another one to finish before it refuses.
pub const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

impl FileLock {
    /// Lock `path` (after following symlinks), waiting up to `wait` for another holder.
    pub fn acquire(path: &Path, wait: std::time::Duration) -> Result<FileLock, WriteError> {
        let target = write_target(path)?;
        let (dir, name) = dir_and_name(&target)?;
        let lock_path = dir.join(format!(".{name}.lock"));
        {
            let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(entry) = held.iter_mut().find(|(p, _)| *p == lock_path) {
                entry.1 += 1;
                return Ok(FileLock {
                    key: lock_path,
                    _file: None,
                });
            }
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&lock_path)
            .map_err(err("cannot create the lock file", &lock_path))?;
        let deadline = std::time::Instant::now() + wait;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                Err(fs::TryLockError::WouldBlock) => {
                    return Err(err("another program is saving", &target)(std::io::Error::other(format!(
                        "it still held {} after {} s; nothing was written, try again when it is done",
                        lock_path.display(),
                        wait.as_secs()
                    ))))
                }
                Err(fs::TryLockError::Error(e)) => return Err(err("cannot lock", &lock_path)(e)),
            }
        }
        HELD.lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((lock_path.clone(), 1));
        Ok(FileLock {
            key: lock_path,
            _file: Some(file),
        })
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = held.iter().position(|(p, _)| *p == self.key) {
            held[i].1 -= 1;
            if held[i].1 == 0 {
                held.remove(i);
            }
        }
        // The file (and with it the OS lock) closes after this, in the owning guard only.
    }
}

/// Where a write to `path` really goes: through a symbolic link to its target, so the link
/// (and whoever owns the target: config management, a git-tracked /etc) stays intact.
pub fn write_target(path: &Path) -> Result<PathBuf, WriteError> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            fs::canonicalize(path).map_err(err("cannot follow the link", path))
        }
        _ => Ok(path.to_path_buf()),
    }
}

fn dir_and_name(path: &Path) -> Result<(PathBuf, String), WriteError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| err("cannot write", path)(std::io::Error::other("not a file path")))?;
    Ok((dir, name))
}

#[derive(Debug, Clone, Default)]
pub struct SaveReport {
    pub backup: Option<PathBuf>,
    pub pruned: Vec<PathBuf>,
}

impl SaveReport {
    /// The one wording of a write: `PATH`, then `; previous version kept as BACKUP` when
    /// there was one. Each front end puts its own verb in front ("Saved", "Wrote").
    pub fn describe(&self, path: &Path) -> String {
        match &self.backup {
            Some(b) => format!(
                "{}; previous version kept as {}",
                path.display(),
                b.display()
            ),
            None => path.display().to_string(),
        }
    }
}

/// Replace `path` with `bytes` atomically. See the module comment. A symlink is written
/// through (temp file and backup beside its target); a file with other hard links or
/// without its owner's write permission is refused, since replacing it would break the
/// links or override a choice someone made. With `opts.lock`, the backup, the rename and
/// the pruning happen under the file's lock, one writer at a time.
pub fn safe_write(path: &Path, bytes: &[u8], opts: WriteOptions) -> Result<SaveReport, WriteError> {
    let _lock = match opts.lock {
        true => Some(FileLock::acquire(path, LOCK_WAIT)?),
        false => None,
    };
    let path = &write_target(path)?;
    let (dir, name) = dir_and_name(path)?;
    let existing = match fs::metadata(path) {
        Ok(m) => Some(m),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(err("cannot inspect", path)(e)),
    };
    if let Some(m) = &existing {
        if m.nlink() > 1 {
            return Err(err("will not replace", path)(std::io::Error::other(format!(
                "it has {} hard links, and a new file would leave the other names with the old content; nothing was written. Make the others symbolic links (ln -sf), or find them with: find / -xdev -samefile {}",
                m.nlink(),
                path.display()
            ))));
        }
        if m.mode() & 0o200 == 0 {
            return Err(err("will not replace", path)(std::io::Error::other(format!(
                "it is read-only (mode {:04o}), which someone chose; nothing was written. If it should change: chmod u+w {}",
                m.mode() & 0o7777,
                path.display()
            ))));
        }
    }
    let mode = existing
        .as_ref()
        .map(|m| m.mode() & 0o7777)
        .unwrap_or(opts.new_file_mode);
    let owner = existing.as_ref().map(|m| (m.uid(), m.gid()));

    // Under the lock no other save of this file is under way: any temp of it is stale.
    remove_stale_temps(&dir, &name, opts.lock);
    let mut report = SaveReport::default();
    let mut made_backup = false;
    if existing.is_some() && opts.keep_backups > 0 {
        let old = fs::read(path).map_err(err("cannot read", path))?;
        // The newest backup already holds this content (saves that crashed, or failed,
        // after making it): keep pointing at it rather than piling up copies that push
        // real old versions out.
        let newest = list_backups(&dir, &name).pop();
        match newest.filter(|b| fs::read(b).is_ok_and(|b| b == old)) {
            Some(same) => report.backup = Some(same),
            None => {
                let backup = free_backup_name(&dir, &name);
                write_replace(&backup, &old, mode, owner)?;
                report.backup = Some(backup);
                made_backup = true;
            }
        }
    }
    if let Err(e) = write_replace(path, bytes, mode, owner) {
        // The file is unchanged, so a fresh backup is a copy of it: take it back, and
        // "nothing was written" stays true (a full disk has no room for either).
        if let (true, Some(b)) = (made_backup, report.backup.take()) {
            let _ = fs::remove_file(b);
        }
        return Err(e);
    }
    if opts.keep_backups > 0 {
        // The new file is in place: a backup that cannot be pruned is not a failed save.
        report.pruned = prune_backups(&dir, &name, opts.keep_backups);
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
/// (holding secrets); remove those whose writer process no longer exists, or, when
/// `all_stale` (the caller holds the file's lock), every one: a PID can be reused by a
/// live process, and the lock says no writer is at work.
fn remove_stale_temps(dir: &Path, name: &str, all_stale: bool) {
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
        if pid != std::process::id() && (all_stale || !Path::new(&format!("/proc/{pid}")).exists())
        {
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

fn prune_backups(dir: &Path, name: &str, keep: usize) -> Vec<PathBuf> {
    let all = list_backups(dir, name);
    let excess = all.len().saturating_sub(keep);
    all.into_iter()
        .take(excess)
        .filter(|p| fs::remove_file(p).is_ok())
        .collect()
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

/// Find a program on PATH, and in the sbin directories sudo or cron may leave out.
pub fn find_tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/local/sbin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| {
            use std::os::unix::fs::PermissionsExt;
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
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
    fn a_crash_loop_does_not_pile_up_copies_of_one_content() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x.env");
        safe_write(&p, b"A=1\n", WriteOptions::secret()).unwrap();
        // Saves that died after their backup: three copies of A=1 would pile up.
        for _ in 0..3 {
            let r = safe_write(&p, b"A=2\n", WriteOptions::secret()).unwrap();
            assert!(r.backup.is_some());
            fs::write(&p, b"A=1\n").unwrap(); // as if the rename never happened
        }
        assert_eq!(list_backups(d.path(), "x.env").len(), 1);
        // A temp left by a live process's PID is still removed under the lock.
        let stale = d.path().join(format!(".x.env.tmp-{}-1", 1));
        fs::write(&stale, b"secret").unwrap();
        safe_write(&p, b"A=3\n", WriteOptions::secret()).unwrap();
        assert!(!stale.exists());
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

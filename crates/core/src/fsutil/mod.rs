//! The one write path for files the wizard touches (pds.env, proxy configs, atproto-did):
//! a reader sees the old content or the new, never a partial file, and the old content is
//! kept as a timestamped backup.

use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use thiserror::Error;

mod walk;

pub use walk::{user_name, who_else_can_change, Links, OpenDir, Place, Refusal, Target};

use rustix::fs::{AtFlags, Mode, OFlags, RenameFlags};
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

#[derive(Debug, Error)]
#[error("{what} {path}: {cause}{}", hint(cause))]
pub struct WriteError {
    pub what: &'static str,
    pub path: PathBuf,
    pub cause: std::io::Error,
}

impl WriteError {
    /// The refusal, when the path itself was refused (a link, a directory others can change).
    pub fn refusal(&self) -> Option<&Refusal> {
        self.cause
            .get_ref()
            .and_then(|e| e.downcast_ref::<Refusal>())
    }
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

fn walk_err(path: &Path) -> impl FnOnce(walk::WalkError) -> WriteError + '_ {
    move |e| match e {
        walk::WalkError::Refused(r) => WriteError {
            what: "will not write",
            path: path.to_path_buf(),
            cause: std::io::Error::other(r),
        },
        walk::WalkError::Io(at, cause) => WriteError {
            what: "cannot reach",
            path: at,
            cause,
        },
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
    /// Whether a final link may be followed (only pds.env's and the answers file's).
    pub links: Links,
    /// Make missing directories on the way (0755).
    pub make_dirs: bool,
    /// Only create: a file that exists (or appears meanwhile) is left alone and the write
    /// fails with `AlreadyExists`.
    pub create_new: bool,
}

impl WriteOptions {
    /// For the operator's files holding secrets: pds.env, the answers file.
    pub fn secret() -> Self {
        WriteOptions {
            new_file_mode: 0o600,
            keep_backups: 10,
            lock: true,
            links: Links::Operator,
            make_dirs: false,
            create_new: false,
        }
    }

    /// Any other file: no lock, no link followed at its name.
    pub fn file(new_file_mode: u32, keep_backups: usize) -> Self {
        WriteOptions {
            new_file_mode,
            keep_backups,
            lock: false,
            links: Links::Refuse,
            make_dirs: false,
            create_new: false,
        }
    }

    pub fn make_dirs(self) -> Self {
        WriteOptions {
            make_dirs: true,
            ..self
        }
    }

    pub fn create_new(self) -> Self {
        WriteOptions {
            create_new: true,
            keep_backups: 0,
            ..self
        }
    }

    fn place<'a>(&self, within: Option<&'a Path>) -> Place<'a> {
        Place {
            links: self.links,
            within,
            make_dirs: self.make_dirs,
        }
    }
}

/// --demo: the one directory every write must land in (set once, at the demo's start).
static CONFINED: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// From now on, refuse every write outside `root` (the demo's sandbox): whatever a step
/// asks, nothing on the machine is written. Set once; a second call changes nothing.
pub fn confine_writes(root: &Path) {
    let real = fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let _ = CONFINED.set(real);
}

/// Whether `path` (as given, and as it resolves) may be written under the confinement.
pub fn check_confined(path: &Path) -> Result<(), WriteError> {
    let Some(root) = CONFINED.get() else {
        return Ok(());
    };
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    if abs.starts_with(root) {
        return Ok(());
    }
    Err(err("will not write", path)(std::io::Error::other(format!(
        "this is the demo: it writes only inside its sandbox {} (on a server, run pds-wizard without --demo)",
        root.display()
    ))))
}

/// Where a write to `path` would go, as `links` allows (the real path is `.path()`).
pub fn resolve(path: &Path, links: Links) -> Result<Target, WriteError> {
    walk::resolve(
        path,
        Place {
            links,
            ..Place::plain()
        },
    )
    .map_err(walk_err(path))
}

/// The content of the file a write to `path` would replace, read through the same walk
/// (None when there is none).
pub fn read_target(path: &Path, links: Links) -> Result<Option<Vec<u8>>, WriteError> {
    let t = match resolve(path, links) {
        // No directory, no file (the write would make it).
        Err(e) if matches!(e.refusal(), Some(Refusal::NoDirectory(_))) => return Ok(None),
        r => r?,
    };
    if t.existing.is_none() {
        return Ok(None);
    }
    read_in(&t.dir, &t.name).map(Some)
}

/// A private scratch directory (mkdtemp, mode 0700), removed when dropped: never a
/// predictable name in /tmp that another user could have prepared.
pub fn scratch_dir() -> std::io::Result<tempfile::TempDir> {
    tempfile::Builder::new().prefix("pds-wizard-").tempdir()
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
    /// Lock the file a write to `path` goes to (pds.env's rule for links), waiting up to
    /// `wait` for another holder.
    pub fn acquire(path: &Path, wait: std::time::Duration) -> Result<FileLock, WriteError> {
        let target = resolve(path, Links::Operator)?;
        let mut lock_name = OsString::from(".");
        lock_name.push(&target.name);
        lock_name.push(".lock");
        let lock_path = target.dir.path.join(&lock_name);
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
        // Never through a link: a lock file planted as one would be created wherever it led.
        let fd = rustix::fs::openat(
            &target.dir.fd,
            lock_name.as_os_str(),
            OFlags::RDWR | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )
        .map_err(|e| err("cannot create the lock file", &lock_path)(e.into()))?;
        let file = File::from(fd);
        let deadline = std::time::Instant::now() + wait;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                Err(fs::TryLockError::WouldBlock) => {
                    return Err(err("another program is saving", &target.path())(std::io::Error::other(format!(
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

#[derive(Debug, Clone, Default)]
pub struct SaveReport {
    /// The real path written (a link's target, for pds.env through a link).
    pub path: PathBuf,
    /// The path asked for, when it differs (a link).
    pub asked: Option<PathBuf>,
    pub backup: Option<PathBuf>,
    pub pruned: Vec<PathBuf>,
}

impl SaveReport {
    /// The one wording of a write: the real path (and the link it went through), then
    /// `; previous version kept as BACKUP` when there was one. Each front end puts its own
    /// verb in front ("Saved", "Wrote").
    pub fn describe(&self) -> String {
        let mut s = self.path.display().to_string();
        if let Some(a) = &self.asked {
            s.push_str(&format!(" (through the link {})", a.display()));
        }
        if let Some(b) = &self.backup {
            s.push_str(&format!("; previous version kept as {}", b.display()));
        }
        s
    }
}

/// Replace `path` with `bytes` atomically. See the module comment. The path is walked from
/// open directories (see `walk`): a link is followed only as `opts.links` allows, and the
/// directory written in must not be one that others can change. A file with other hard
/// links or without its owner's write permission is refused, since replacing it would break
/// the links or override a choice someone made. With `opts.lock`, the backup, the rename
/// and the pruning happen under the file's lock, one writer at a time.
pub fn safe_write(path: &Path, bytes: &[u8], opts: WriteOptions) -> Result<SaveReport, WriteError> {
    write_in(None, path, bytes, opts)
}

/// `safe_write` for a file that must stay inside `base` (a web root the operator gave),
/// links included. `base` may belong to the site's user.
pub fn safe_write_within(
    base: &Path,
    path: &Path,
    bytes: &[u8],
    opts: WriteOptions,
) -> Result<SaveReport, WriteError> {
    write_in(Some(base), path, bytes, opts)
}

fn write_in(
    within: Option<&Path>,
    asked: &Path,
    bytes: &[u8],
    opts: WriteOptions,
) -> Result<SaveReport, WriteError> {
    // Before anything is made on the way (a lock file, a directory).
    check_confined(asked)?;
    let _lock = match opts.lock {
        true => Some(FileLock::acquire(asked, LOCK_WAIT)?),
        false => None,
    };
    let t = walk::resolve(asked, opts.place(within)).map_err(walk_err(asked))?;
    let path = &t.path();
    check_confined(path)?;
    if let Some(m) = &t.existing {
        if opts.create_new {
            return Err(err("will not replace", path)(std::io::Error::from(
                std::io::ErrorKind::AlreadyExists,
            )));
        }
        if m.st_nlink > 1 {
            return Err(err("will not replace", path)(std::io::Error::other(format!(
                "it has {} hard links, and a new file would leave the other names with the old content; nothing was written. Make the others symbolic links (ln -sf), or find them with: find / -xdev -samefile {}",
                m.st_nlink,
                path.display()
            ))));
        }
        if m.st_mode & 0o200 == 0 {
            return Err(err("will not replace", path)(std::io::Error::other(format!(
                "it is read-only (mode {:04o}), which someone chose; nothing was written. If it should change: chmod u+w {}",
                m.st_mode & 0o7777,
                path.display()
            ))));
        }
    }
    let mode = t
        .existing
        .as_ref()
        .map(|m| m.st_mode & 0o7777)
        .unwrap_or(opts.new_file_mode);
    let owner = t.existing.as_ref().map(|m| (m.st_uid, m.st_gid));

    // Under the lock no other save of this file is under way: any temp of it is stale.
    remove_stale_temps(&t.dir, &t.name, opts.lock);
    let mut report = SaveReport {
        path: path.clone(),
        asked: (std::path::absolute(asked).ok().as_deref() != Some(path.as_path()))
            .then(|| asked.to_path_buf())
            .filter(|a| a != path),
        ..SaveReport::default()
    };
    let mut made_backup = None;
    if t.existing.is_some() && opts.keep_backups > 0 {
        let old = read_in(&t.dir, &t.name)?;
        // The newest backup already holds this content (saves that crashed, or failed,
        // after making it): keep pointing at it rather than piling up copies that push
        // real old versions out.
        let newest = backup_names(&t.dir, &t.name).pop();
        match newest.filter(|b| read_in(&t.dir, b).is_ok_and(|b| b == old)) {
            Some(same) => report.backup = Some(t.dir.path.join(same)),
            None => {
                let backup = free_backup_name(&t.dir, &t.name);
                write_replace(&t.dir, &backup, &old, mode, owner, false)?;
                report.backup = Some(t.dir.path.join(&backup));
                made_backup = Some(backup);
            }
        }
    }
    if let Err(e) = write_replace(&t.dir, &t.name, bytes, mode, owner, opts.create_new) {
        // The file is unchanged, so a fresh backup is a copy of it: take it back, and
        // "nothing was written" stays true (a full disk has no room for either).
        if let Some(b) = made_backup {
            let _ = rustix::fs::unlinkat(&t.dir.fd, b.as_os_str(), AtFlags::empty());
            report.backup = None;
        }
        return Err(e);
    }
    if opts.keep_backups > 0 {
        // The new file is in place: a backup that cannot be pruned is not a failed save.
        report.pruned = prune_backups(&t.dir, &t.name, opts.keep_backups);
    }
    Ok(report)
}

/// A file in an open directory, read without following a link.
fn read_in(dir: &OpenDir, name: &OsStr) -> Result<Vec<u8>, WriteError> {
    let path = dir.path.join(name);
    let fd = rustix::fs::openat(
        &dir.fd,
        name,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| err("cannot read", &path)(e.into()))?;
    let mut buf = Vec::new();
    std::io::Read::read_to_end(&mut File::from(fd), &mut buf).map_err(err("cannot read", &path))?;
    Ok(buf)
}

/// temp file in the same directory → fsync → rename over (or, for `create_new`, into a
/// free name only) → fsync the directory. Every step in the open directory.
fn write_replace(
    dir: &OpenDir,
    name: &OsStr,
    bytes: &[u8],
    mode: u32,
    owner: Option<(u32, u32)>,
    create_new: bool,
) -> Result<(), WriteError> {
    let path = dir.path.join(name);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let mut tmp = OsString::from(".");
    tmp.push(name);
    tmp.push(format!(".tmp-{}-{nanos}", std::process::id()));
    let tmp_path = dir.path.join(&tmp);
    let result = (|| {
        let fd = rustix::fs::openat(
            &dir.fd,
            tmp.as_os_str(),
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(mode & 0o7777),
        )
        .map_err(|e| err("cannot create", &tmp_path)(e.into()))?;
        let mut f = File::from(fd);
        // The umask may have narrowed the mode at creation; set it exactly.
        f.set_permissions(fs::Permissions::from_mode(mode))
            .map_err(err("cannot set the mode of", &tmp_path))?;
        if let Some((uid, gid)) = owner {
            let m = f.metadata().map_err(err("cannot inspect", &tmp_path))?;
            if (m.uid(), m.gid()) != (uid, gid) {
                std::os::unix::fs::fchown(&f, Some(uid), Some(gid))
                    .map_err(err("cannot keep the owner of", &path))?;
            }
        }
        f.write_all(bytes).map_err(err("cannot write", &tmp_path))?;
        f.sync_all().map_err(err("cannot flush", &tmp_path))?;
        drop(f);
        if create_new {
            rename_noreplace(dir, &tmp, name).map_err(err("will not replace", &path))?;
        } else {
            rustix::fs::renameat(&dir.fd, tmp.as_os_str(), &dir.fd, name)
                .map_err(|e| err("cannot replace", &path)(e.into()))?;
        }
        rustix::fs::fsync(&dir.fd)
            .map_err(|e| err("cannot flush the directory", &dir.path)(e.into()))
    })();
    if result.is_err() {
        let _ = rustix::fs::unlinkat(&dir.fd, tmp.as_os_str(), AtFlags::empty());
    }
    result
}

/// Move `tmp` to `name` only if `name` is free, atomically: renameat2's NOREPLACE, or, on
/// a file system without it, a hard link (which fails on an existing name too).
fn rename_noreplace(dir: &OpenDir, tmp: &OsStr, name: &OsStr) -> std::io::Result<()> {
    match rustix::fs::renameat_with(&dir.fd, tmp, &dir.fd, name, RenameFlags::NOREPLACE) {
        Ok(()) => Ok(()),
        Err(rustix::io::Errno::INVAL) | Err(rustix::io::Errno::NOSYS) => {
            rustix::fs::linkat(&dir.fd, tmp, &dir.fd, name, AtFlags::empty())?;
            rustix::fs::unlinkat(&dir.fd, tmp, AtFlags::empty())?;
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// The names in an open directory.
fn names_in(dir: &OpenDir) -> Vec<OsString> {
    let Ok(mut d) = rustix::fs::Dir::read_from(&dir.fd) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    while let Some(Ok(e)) = d.read() {
        let n = e.file_name().to_bytes();
        if n != b"." && n != b".." {
            out.push(OsStr::from_bytes(n).to_os_string());
        }
    }
    out
}

/// A save killed between creating its temp file and renaming it leaves the temp behind
/// (holding secrets); remove those whose writer process no longer exists, or, when
/// `all_stale` (the caller holds the file's lock), every one: a PID can be reused by a
/// live process, and the lock says no writer is at work.
fn remove_stale_temps(dir: &OpenDir, name: &OsStr, all_stale: bool) {
    // Temps of the file itself (`.NAME.tmp-PID-N`) and of its backups (`.NAME.bak-….tmp-PID-N`).
    let prefix = format!(".{}.", name.to_string_lossy());
    for entry in names_in(dir) {
        let file = entry.to_string_lossy().into_owned();
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
            let _ = rustix::fs::unlinkat(&dir.fd, entry.as_os_str(), AtFlags::empty());
        }
    }
}

/// `NAME.bak-YYYYMMDDTHHMMSSZ`, with `-002`, `-003`… when saves share a second. The suffix
/// continues past the highest one present, so a name never sorts before an older backup.
fn free_backup_name(dir: &OpenDir, name: &OsStr) -> OsString {
    let base = format!("{}.bak-{}", name.to_string_lossy(), utc_stamp());
    let same_second: Vec<u32> = names_in(dir)
        .iter()
        .filter_map(|e| {
            let f = e.to_string_lossy();
            let rest = f.strip_prefix(&base)?;
            if rest.is_empty() {
                Some(1)
            } else {
                rest.strip_prefix('-')?.parse().ok()
            }
        })
        .collect();
    match same_second.iter().max() {
        None => OsString::from(base),
        Some(n) => OsString::from(format!("{base}-{:03}", n + 1)),
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

/// Backups of `name` in an open directory, oldest first (the names sort by time).
fn backup_names(dir: &OpenDir, name: &OsStr) -> Vec<OsString> {
    let prefix = format!("{}.bak-", name.to_string_lossy());
    let mut found: Vec<OsString> = names_in(dir)
        .into_iter()
        .filter(|e| e.to_string_lossy().starts_with(&prefix))
        .collect();
    found.sort();
    found
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

fn prune_backups(dir: &OpenDir, name: &OsStr, keep: usize) -> Vec<PathBuf> {
    let all = backup_names(dir, name);
    let excess = all.len().saturating_sub(keep);
    all.into_iter()
        .take(excess)
        .filter(|p| rustix::fs::unlinkat(&dir.fd, p.as_os_str(), AtFlags::empty()).is_ok())
        .map(|p| dir.path.join(p))
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

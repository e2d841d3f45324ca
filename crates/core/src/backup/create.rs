//! `backup create`: a consistent copy of a running PDS, in the order PDS-FACTS gives
//! (module comment in `backup`), written under a temporary name.
//!
//! Reading as root: nothing in the data directory is followed through a link (a blob
//! planted as a link to /etc/shadow would otherwise land in a backup that leaves the
//! machine); every source file is opened with O_NOFOLLOW and must be a regular file.
//! Writing: DEST must be a directory nobody else can change; the backup inside it is
//! created 0700 by us, so nothing can be planted in it while it is written.

use super::{
    actor_dir, actor_rel, AccountEntry, Blobstore, FileEntry, Layout, Manifest, RelayCursor,
    Verified, FORMAT, LOCK, MANIFEST, PARTIAL, PREFIX, VERIFIED,
};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What the copy records beside the files: gathered by the caller (network).
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub hostname: Option<String>,
    pub pds_version: Option<String>,
    pub relays: Vec<RelayCursor>,
}

/// How far a copy is: `done` of `total` in `phase` ("stores", "blobs", …).
#[derive(Debug, Clone)]
pub struct Progress {
    pub phase: &'static str,
    pub done: u64,
    pub total: u64,
}

/// A copied backup, not yet verified nor named: still `.partial-NAME` in DEST, so a
/// killed run never leaves a directory that looks complete.
#[derive(Debug)]
pub struct Partial {
    pub dest: PathBuf,
    pub name: String,
    /// The directory it is being written in.
    pub dir: PathBuf,
    pub manifest: Manifest,
    /// What was not copied, and why (links, sockets, an S3 blobstore).
    pub notes: Vec<String>,
    _lock: crate::fsutil::FileLock,
}

/// A complete backup.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Sealed {
    pub path: PathBuf,
    /// Older backups removed by `--keep`.
    pub removed: Vec<PathBuf>,
}

fn io(what: impl std::fmt::Display) -> impl Fn(std::io::Error) -> String {
    move |e| format!("{what}: {e}")
}

/// DEST made (0700) if missing, and refused when another user could change it (they
/// could swap the backup for their own between its copy and its rename).
fn prepare_dest(dest: &Path) -> Result<(), String> {
    crate::fsutil::check_confined(dest).map_err(|e| e.to_string())?;
    if std::fs::symlink_metadata(dest).is_err() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dest)
            .map_err(io(format_args!("cannot make {}", dest.display())))?;
    }
    let probe = crate::fsutil::resolve(&dest.join(LOCK), crate::fsutil::Links::Refuse)
        .map_err(|e| format!("cannot use {}: {e}", dest.display()))?;
    if let Some(who) = crate::fsutil::who_else_can_change(&probe) {
        return Err(format!(
            "will not write a backup into {}: {who} (a backup holds pds.env's secrets)",
            dest.display()
        ));
    }
    Ok(())
}

/// A free name for a backup made now that sorts after every backup in DEST (complete or
/// not): the newest is the one whose name sorts last, also when two are made in one second
/// or the clock went back (`pds-STAMP`, then `pds-STAMP-001`, `-002`…).
fn fresh_name(dest: &Path) -> String {
    let base = format!("{PREFIX}{}", crate::fsutil::utc_stamp());
    let newest = std::fs::read_dir(dest)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .map(|n| n.strip_prefix(PARTIAL).map(str::to_string).unwrap_or(n))
        .filter(|n| n.starts_with(PREFIX))
        .max();
    after(&base, newest.as_deref())
}

/// `base`, or the name just after `newest` when that sorts at or after it.
fn after(base: &str, newest: Option<&str>) -> String {
    match newest {
        Some(n) if n >= base => {
            let (stem, k) = match n.rsplit_once('-') {
                Some((stem, k)) if stem.ends_with('Z') && k.chars().all(|c| c.is_ascii_digit()) => {
                    (stem, k.parse::<u32>().unwrap_or(0))
                }
                _ => (n, 0),
            };
            format!("{stem}-{:03}", k + 1)
        }
        _ => base.to_string(),
    }
}

/// Open a source file for reading: never through a link, only a regular file.
fn open_source(path: &Path) -> Result<(std::fs::File, std::fs::Metadata), String> {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => format!("{} is a link: not followed", path.display()),
            _ => format!("cannot read {}: {e}", path.display()),
        })?;
    let meta = f
        .metadata()
        .map_err(io(format_args!("cannot read {}", path.display())))?;
    if !meta.is_file() {
        return Err(format!("{} is not a regular file", path.display()));
    }
    Ok((f, meta))
}

/// The size and sha256 of what `r` yields.
pub(crate) fn hash_reader(
    mut r: impl Read,
    mut w: Option<&mut std::fs::File>,
) -> std::io::Result<(u64, String)> {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut n = 0u64;
    loop {
        let k = r.read(&mut buf)?;
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
        if let Some(w) = w.as_deref_mut() {
            w.write_all(&buf[..k])?;
        }
        n += k as u64;
    }
    Ok((n, hex::encode(h.finalize())))
}

/// The size and sha256 of a file of the backup.
pub fn hash_file(path: &Path) -> std::io::Result<(u64, String)> {
    hash_reader(std::fs::File::open(path)?, None)
}

fn entry(rel: &str, size: u64, sha256: String, meta: &std::fs::Metadata) -> FileEntry {
    FileEntry {
        path: rel.to_string(),
        size,
        sha256,
        mode: meta.mode() & 0o7777,
        uid: meta.uid(),
        gid: meta.gid(),
    }
}

/// A new file in the backup (0600; the backup directory itself is 0700).
fn create_in(to: &Path) -> Result<std::fs::File, String> {
    parents(to)?;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(to)
        .map_err(io(format_args!("cannot write {}", to.display())))
}

/// The directories down to `to` inside the backup (0700).
fn parents(to: &Path) -> Result<(), String> {
    match to.parent() {
        Some(parent) => std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)
            .map_err(io(format_args!("cannot make {}", parent.display()))),
        None => Ok(()),
    }
}

/// The previous backup's copy of `rel`, linked into this one (same filesystem; false
/// when it cannot be, and the blob is copied instead).
fn link_previous(previous: &Path, dir: &Path, rel: &str) -> bool {
    parents(&dir.join(rel)).is_ok() && std::fs::hard_link(previous.join(rel), dir.join(rel)).is_ok()
}

/// Copy one plain file (a key, a blob, pds.env) into the backup, hashing it on the way.
fn copy_file(src: &Path, dir: &Path, rel: &str) -> Result<FileEntry, String> {
    let (f, meta) = open_source(src)?;
    let mut out = create_in(&dir.join(rel))?;
    let (size, sha) = hash_reader(f, Some(&mut out))
        .map_err(io(format_args!("cannot copy {}", src.display())))?;
    Ok(entry(rel, size, sha, &meta))
}

/// Copy a live SQLite database with the backup API (one step: a consistent snapshot
/// while the PDS keeps writing, WAL mode kept in the copy's header), then hash the copy.
pub fn copy_db(src: &Path, dir: &Path, rel: &str) -> Result<FileEntry, String> {
    // The source's mode and owner; refusing a link before SQLite opens it.
    let (_, meta) = open_source(src)?;
    let to = dir.join(rel);
    drop(create_in(&to)?);
    let from = rusqlite::Connection::open_with_flags(
        src,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| format!("cannot open {}: {e}", src.display()))?;
    from.busy_timeout(Duration::from_secs(10))
        .map_err(|e| e.to_string())?;
    let mut copy = rusqlite::Connection::open(&to)
        .map_err(|e| format!("cannot write {}: {e}", to.display()))?;
    {
        let b = rusqlite::backup::Backup::new(&from, &mut copy)
            .map_err(|e| format!("cannot copy {}: {e}", src.display()))?;
        // All pages in one step: the copy is one snapshot. A writer meanwhile only makes
        // it start again (SQLite restarts a backup whose source changed).
        let deadline = std::time::Instant::now() + Duration::from_secs(600);
        loop {
            use rusqlite::backup::StepResult;
            match b.step(-1) {
                Ok(StepResult::Done) => break,
                Ok(StepResult::More) => {}
                Ok(StepResult::Busy) | Ok(StepResult::Locked) => {
                    if std::time::Instant::now() > deadline {
                        return Err(format!(
                            "cannot copy {}: it stayed locked for 10 minutes",
                            src.display()
                        ));
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                Ok(_) => {}
                Err(e) => return Err(format!("cannot copy {}: {e}", src.display())),
            }
        }
    }
    copy.close()
        .map_err(|(_, e)| format!("cannot close {}: {e}", to.display()))?;
    let (size, sha) = hash_file(&to).map_err(io(format_args!("cannot read {}", to.display())))?;
    Ok(entry(rel, size, sha, &meta))
}

/// Every regular file under `root` (relative paths, sorted); links and other kinds are
/// named in `skipped`, never followed. `skip` prunes a directory.
fn files_under(
    root: &Path,
    skip: &dyn Fn(&Path) -> bool,
    skipped: &mut Vec<String>,
) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(root.join(&rel)) else {
            continue;
        };
        for e in rd.flatten() {
            let r = rel.join(e.file_name());
            let full = root.join(&r);
            match e.file_type() {
                Ok(t) if t.is_dir() => {
                    if !skip(&full) {
                        stack.push(r);
                    }
                }
                Ok(t) if t.is_file() => out.push(r),
                Ok(t) if t.is_symlink() => {
                    skipped.push(format!("{} is a link: not followed", full.display()))
                }
                _ => skipped.push(format!("{} is not a regular file: skipped", full.display())),
            }
        }
    }
    out.sort();
    out
}

/// Read one account row set from a copied account.sqlite.
fn accounts_in(db: &Path) -> Result<Vec<(String, Option<String>, bool)>, String> {
    let conn = super::verify::open_immutable(db)?;
    let mut stmt = conn
        .prepare("SELECT did, handle, (deactivatedAt IS NULL AND takedownRef IS NULL) FROM actor ORDER BY did")
        .map_err(|e| format!("cannot read the accounts in {}: {e}", db.display()))?;
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .map_err(|e| e.to_string())?;
    rows.collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())
}

/// The repo head and counts of a copied store.
pub(crate) fn store_head(db: &Path) -> Result<(Option<String>, Option<String>, u64, u64), String> {
    let conn = super::verify::open_immutable(db)?;
    let head: Option<(String, String)> = conn
        .query_row("SELECT cid, rev FROM repo_root LIMIT 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })
        .map_err(|e| format!("cannot read {}: {e}", db.display()))?;
    let count = |q: &str| -> Result<u64, String> {
        conn.query_row(q, [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(|e| format!("cannot read {}: {e}", db.display()))
    };
    let records = count("SELECT count(*) FROM record")?;
    let blobs = count("SELECT count(DISTINCT blobCid) FROM record_blob")?;
    let (root, rev) = head.unzip();
    Ok((root, rev, records, blobs))
}

/// The newest event in a copied sequencer.
pub(crate) fn newest_seq(db: &Path) -> Result<Option<i64>, String> {
    let conn = super::verify::open_immutable(db)?;
    conn.query_row("SELECT max(seq) FROM repo_seq", [], |r| r.get(0))
        .map_err(|e| format!("cannot read {}: {e}", db.display()))
}

/// Copy the PDS at `layout` into a new `.partial-` directory in `dest`.
pub fn copy(
    layout: &Layout,
    dest: &Path,
    opts: &Options,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Partial, String> {
    prepare_dest(dest)?;
    let lock = crate::fsutil::FileLock::acquire(&dest.join(LOCK), Duration::from_secs(1))
        .map_err(|_| format!("another backup is being written into {}", dest.display()))?;
    // With the lock held, a `.partial-` directory is one a killed backup left.
    let mut notes = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dest) {
        for e in rd.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.starts_with(PARTIAL) && e.file_type().is_ok_and(|t| t.is_dir()) {
                std::fs::remove_dir_all(e.path())
                    .map_err(io(format_args!("cannot remove {}", e.path().display())))?;
                notes.push(format!("removed {n}, left by a backup that did not finish"));
            }
        }
    }
    let previous = super::list(dest).into_iter().next();
    let name = fresh_name(dest);
    let dir = dest.join(format!("{PARTIAL}{name}"));
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&dir)
        .map_err(io(format_args!("cannot make {}", dir.display())))?;
    let started_at = super::now_rfc3339();
    let mut files: Vec<FileEntry> = Vec::new();

    // 1. account.sqlite: which accounts this backup holds.
    progress(&Progress {
        phase: "account.sqlite",
        done: 0,
        total: 1,
    });
    files.push(copy_db(&layout.account_db, &dir, "account.sqlite")?);
    let accounts = accounts_in(&dir.join("account.sqlite"))?;

    // 2. Each account's store and key, as that copy lists them.
    let total = accounts.len() as u64;
    let mut entries = Vec::new();
    for (i, (did, handle, active)) in accounts.iter().enumerate() {
        progress(&Progress {
            phase: "stores",
            done: i as u64,
            total,
        });
        let src = actor_dir(&layout.actors, did);
        let rel = actor_rel(did);
        let (mut root, mut rev, mut records, mut blobs) = (None, None, 0, 0);
        if src.join("store.sqlite").exists() {
            files.push(copy_db(
                &src.join("store.sqlite"),
                &dir,
                &format!("{rel}/store.sqlite"),
            )?);
            (root, rev, records, blobs) = store_head(&dir.join(&rel).join("store.sqlite"))?;
        } else {
            notes.push(format!("{did} has no store at {}", src.display()));
        }
        if src.join("key").exists() {
            files.push(copy_file(&src.join("key"), &dir, &format!("{rel}/key"))?);
        } else {
            notes.push(format!("{did} has no key at {}", src.join("key").display()));
        }
        entries.push(AccountEntry {
            did: did.clone(),
            handle: handle.clone(),
            root,
            rev,
            records,
            blobs,
            active: *active,
        });
    }
    progress(&Progress {
        phase: "stores",
        done: total,
        total,
    });

    // 3. Keys of accounts migrating in.
    let reserved = layout.actors.join("reserved_keys");
    for rel in files_under(&reserved, &|_| false, &mut notes) {
        let r = format!("actors/reserved_keys/{}", rel.display());
        files.push(copy_file(&reserved.join(&rel), &dir, &r)?);
    }

    // 4. The blobs, after the stores: each one a copied record refers to is on disk by
    // now. A blob the previous backup holds at the same size is the same bytes (its name
    // is its hash): hard-linked, not copied again.
    match &layout.blobstore {
        Blobstore::Disk { location } => {
            let tmp = layout.blob_tmp.clone();
            let default_tmp = location.join("tempt");
            let list = files_under(
                location,
                &|p: &Path| p == tmp || p == default_tmp,
                &mut notes,
            );
            let before: HashMap<&str, &FileEntry> = previous
                .as_ref()
                .and_then(|p| p.manifest.as_ref())
                .map(|m| m.files.iter().map(|f| (f.path.as_str(), f)).collect())
                .unwrap_or_default();
            let total = list.len() as u64;
            let mut last = std::time::Instant::now();
            for (i, rel) in list.iter().enumerate() {
                if last.elapsed() > Duration::from_millis(500) {
                    progress(&Progress { phase: "blobs", done: i as u64, total });
                    last = std::time::Instant::now();
                }
                let r = format!("blocks/{}", rel.display());
                let src = location.join(rel);
                // Linked only at the size the previous backup recorded for this name.
                let linked = match (before.get(r.as_str()), &previous) {
                    (Some(old), Some(p)) => {
                        let (_, meta) = open_source(&src)?;
                        (meta.len() == old.size && link_previous(&p.path, &dir, &r)).then(|| {
                            FileEntry {
                                mode: meta.mode() & 0o7777,
                                uid: meta.uid(),
                                gid: meta.gid(),
                                ..(*old).clone()
                            }
                        })
                    }
                    _ => None,
                };
                files.push(match linked {
                    Some(e) => e,
                    None => copy_file(&src, &dir, &r)?,
                });
            }
            progress(&Progress { phase: "blobs", done: total, total });
        }
        Blobstore::S3 { bucket } => notes.push(format!(
            "the blobs are in the S3 bucket {bucket}: back it up by the bucket's own means (versioning, or a copy to another bucket)"
        )),
    }

    // 5. The sequencer last: its newest event is at least every copied commit's.
    progress(&Progress {
        phase: "sequencer.sqlite",
        done: 0,
        total: 1,
    });
    files.push(copy_db(&layout.sequencer_db, &dir, "sequencer.sqlite")?);
    let newest = newest_seq(&dir.join("sequencer.sqlite"))?;

    // 6. What the service needs besides the data: pds.env (secrets), compose.yaml, caddy/.
    progress(&Progress {
        phase: "config",
        done: 0,
        total: 1,
    });
    if layout.env_file.exists() {
        files.push(copy_file(&layout.env_file, &dir, "config/pds.env")?);
    }
    let compose = layout.config_dir.join("compose.yaml");
    if compose.exists() {
        files.push(copy_file(&compose, &dir, "config/compose.yaml")?);
    }
    let caddy = layout.config_dir.join("caddy");
    for rel in files_under(&caddy, &|_| false, &mut notes) {
        let r = format!("config/caddy/{}", rel.display());
        files.push(copy_file(&caddy.join(&rel), &dir, &r)?);
    }

    let manifest = Manifest {
        format: FORMAT,
        tool: format!("pds-wizard {}", env!("CARGO_PKG_VERSION")),
        started_at,
        finished_at: super::now_rfc3339(),
        hostname: opts.hostname.clone(),
        pds_version: opts.pds_version.clone(),
        data_dir: layout.data_dir.clone(),
        blobstore: layout.blobstore.clone(),
        newest_seq: newest,
        accounts: entries,
        relays: opts.relays.clone(),
        files,
        previous: previous.map(|p| p.name),
    };
    // Everything copied on disk before the manifest says so.
    sync_fs(&dir)?;
    write_small(
        &dir.join(MANIFEST),
        &serde_json::to_vec_pretty(&manifest).map_err(|e| e.to_string())?,
    )?;
    Ok(Partial {
        dest: dest.to_path_buf(),
        name,
        dir,
        manifest,
        notes,
        _lock: lock,
    })
}

/// Flush the filesystem `dir` is on (one call for every copied file).
fn sync_fs(dir: &Path) -> Result<(), String> {
    let d = std::fs::File::open(dir).map_err(io(format_args!("cannot open {}", dir.display())))?;
    rustix::fs::syncfs(&d).map_err(|e| format!("cannot flush {}: {e}", dir.display()))
}

fn write_small(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let mut f = create_in(path)?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .map_err(io(format_args!("cannot write {}", path.display())))
}

impl Partial {
    /// Record the verdict and give the backup its name; then keep only the newest `keep`
    /// complete backups in DEST (none removed when `keep` is None).
    pub fn seal(self, verified: &Verified, keep: Option<usize>) -> Result<Sealed, String> {
        write_small(
            &self.dir.join(VERIFIED),
            &serde_json::to_vec_pretty(verified).map_err(|e| e.to_string())?,
        )?;
        let to = self.dest.join(&self.name);
        std::fs::rename(&self.dir, &to).map_err(io(format_args!(
            "cannot rename {} to {}",
            self.dir.display(),
            to.display()
        )))?;
        std::fs::File::open(&self.dest)
            .and_then(|d| d.sync_all())
            .map_err(io(format_args!("cannot flush {}", self.dest.display())))?;
        let mut removed = Vec::new();
        if let Some(keep) = keep {
            for old in super::list(&self.dest).into_iter().skip(keep.max(1)) {
                std::fs::remove_dir_all(&old.path)
                    .map_err(io(format_args!("cannot remove {}", old.path.display())))?;
                removed.push(old.path);
            }
        }
        Ok(Sealed { path: to, removed })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_name_sorts_after_every_backup_there() {
        let b = "pds-20261207T163956Z";
        assert_eq!(after(b, None), b);
        assert_eq!(after(b, Some("pds-20261207T163955Z")), b);
        // Made in the same second as the newest, or as one made twice in it.
        assert_eq!(after(b, Some(b)), "pds-20261207T163956Z-001");
        assert_eq!(
            after(b, Some("pds-20261207T163956Z-009")),
            "pds-20261207T163956Z-010"
        );
        // The clock went back: still after the newest.
        assert_eq!(
            after(b, Some("pds-20261208T000000Z")),
            "pds-20261208T000000Z-001"
        );
        let names = [
            b.to_string(),
            after(b, Some(b)),
            after(b, Some("pds-20261207T163956Z-001")),
        ];
        assert!(names.windows(2).all(|w| w[0] < w[1]), "{names:?}");
    }
}

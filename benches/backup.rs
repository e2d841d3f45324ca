//! Backup time and size for a synthetic PDS: ACCOUNTS accounts (default 100) holding BLOBS
//! blobs in all (default 10,000, BLOB_BYTES each, default 8192), laid out as the PDS lays
//! its data out (account.sqlite, one store and key per account, blocks/<did>/<cid>,
//! sequencer.sqlite, all in WAL mode). A full backup, then one new post with a blob and
//! an incremental backup: its time, and the bytes it wrote (unchanged blobs are hard
//! links to the previous backup). Verification is offline here (no PLC directory); the
//! lab figures with the real PDS are in docs/src/backups.md. RUNS repetitions, medians.

mod support;

use pds_wizard::backup::{self, create, verify};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, Instant};

fn env_usize(k: &str, d: usize) -> usize {
    std::env::var(k)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(d)
}

fn wal(c: &rusqlite::Connection) {
    let _: String = c
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .unwrap();
}

/// A store with `n` records, each referring to one blob of `bytes`; returns its CIDs.
fn store(dir: &Path, data: &Path, did: &str, first: usize, n: usize, bytes: usize) {
    let actor = backup::actor_dir(&data.join("actors"), did);
    std::fs::create_dir_all(&actor).unwrap();
    std::fs::write(actor.join("key"), [((first % 250) + 1) as u8; 32]).unwrap();
    let c = rusqlite::Connection::open(actor.join("store.sqlite")).unwrap();
    wal(&c);
    c.execute_batch(
        "CREATE TABLE repo_root (did TEXT PRIMARY KEY, cid TEXT, rev TEXT, indexedAt TEXT);
         CREATE TABLE repo_block (cid TEXT PRIMARY KEY, repoRev TEXT, size INTEGER, content BLOB);
         CREATE TABLE record (uri TEXT PRIMARY KEY, cid TEXT, collection TEXT, rkey TEXT, repoRev TEXT, indexedAt TEXT, takedownRef TEXT);
         CREATE TABLE blob (cid TEXT PRIMARY KEY, mimeType TEXT, size INTEGER, tempKey TEXT, width INTEGER, height INTEGER, createdAt TEXT, takedownRef TEXT);
         CREATE TABLE record_blob (blobCid TEXT, recordUri TEXT, PRIMARY KEY (blobCid, recordUri));
         CREATE TABLE account_pref (id INTEGER PRIMARY KEY, name TEXT, valueJson TEXT);",
    )
    .unwrap();
    c.execute(
        "INSERT INTO repo_root VALUES (?1, 'bafyroot', '3kaaaaaaaaaaa', 'now')",
        [did],
    )
    .unwrap();
    c.execute(
        "INSERT INTO repo_block VALUES ('bafyroot', '3kaaaaaaaaaaa', 4, x'00000000')",
        [],
    )
    .unwrap();
    let blocks = data.join("blocks").join(did);
    std::fs::create_dir_all(&blocks).unwrap();
    for i in first..first + n {
        post(&c, &blocks, did, i, bytes);
    }
    let _ = dir;
}

fn post(c: &rusqlite::Connection, blocks: &Path, did: &str, i: usize, bytes: usize) {
    let cid = format!("bafkreisynthetic{i:08}");
    let uri = format!("at://{did}/app.bsky.feed.post/{i}");
    let body: Vec<u8> = (0..bytes).map(|k| ((k * 31 + i) % 251) as u8).collect();
    std::fs::write(blocks.join(&cid), &body).unwrap();
    c.execute(
        "INSERT INTO blob (cid, mimeType, size, createdAt) VALUES (?1, 'image/jpeg', ?2, 'now')",
        rusqlite::params![cid, bytes as i64],
    )
    .unwrap();
    c.execute(
        "INSERT INTO record VALUES (?1, 'bafyrec', 'app.bsky.feed.post', ?2, '3kaaaaaaaaaaa', 'now', NULL)",
        rusqlite::params![uri, i.to_string()],
    )
    .unwrap();
    c.execute("INSERT INTO record_blob VALUES (?1, ?2)", [&cid, &uri])
        .unwrap();
}

fn synthetic(dir: &Path, accounts: usize, blobs: usize, bytes: usize) -> std::path::PathBuf {
    let data = dir.join("pds");
    std::fs::create_dir_all(&data).unwrap();
    let a = rusqlite::Connection::open(data.join("account.sqlite")).unwrap();
    wal(&a);
    a.execute_batch(
        "CREATE TABLE actor (did TEXT PRIMARY KEY, handle TEXT, createdAt TEXT, takedownRef TEXT, deactivatedAt TEXT, deleteAfter TEXT);
         CREATE TABLE repo_root (did TEXT PRIMARY KEY, cid TEXT, rev TEXT, indexedAt TEXT);",
    )
    .unwrap();
    let per = blobs / accounts.max(1);
    for n in 0..accounts {
        let did = format!("did:plc:synthetic{n:010}");
        a.execute(
            "INSERT INTO actor (did, handle, createdAt) VALUES (?1, ?2, 'now')",
            [&did, &format!("user{n}.pds.example")],
        )
        .unwrap();
        a.execute(
            "INSERT INTO repo_root VALUES (?1, 'bafyroot', '3kaaaaaaaaaaa', 'now')",
            [&did],
        )
        .unwrap();
        store(dir, &data, &did, n * per, per, bytes);
    }
    let s = rusqlite::Connection::open(data.join("sequencer.sqlite")).unwrap();
    wal(&s);
    s.execute_batch(
        "CREATE TABLE repo_seq (seq INTEGER PRIMARY KEY AUTOINCREMENT, did TEXT, eventType TEXT, event BLOB, invalidated INTEGER, sequencedAt TEXT);
         INSERT INTO repo_seq (did, eventType, event, invalidated, sequencedAt) VALUES ('did:plc:x', 'append', x'00', 0, 'now');",
    )
    .unwrap();
    std::fs::write(dir.join("pds.env"), "PDS_HOSTNAME=pds.example\n").unwrap();
    data
}

/// One backup made, verified (offline) and named; its time and the bytes it wrote.
fn once(layout: &backup::Layout, dest: &Path) -> (Duration, u64, u64) {
    let t = Instant::now();
    let partial = create::copy(layout, dest, &create::Options::default(), &mut |_| {}).unwrap();
    let v = verify::verify(&partial.dir, &Default::default());
    assert!(v.sound(), "{:?}", v.problems.first());
    let sealed = partial
        .seal(
            &backup::Verified {
                at: backup::now_rfc3339(),
                accounts: v.accounts,
                blobs: v.blobs,
                keys_checked: 0,
            },
            None,
        )
        .unwrap();
    let took = t.elapsed();
    // Bytes this backup wrote: files with one name (a linked blob has two).
    let m: backup::Manifest =
        serde_json::from_slice(&std::fs::read(sealed.path.join(backup::MANIFEST)).unwrap())
            .unwrap();
    let (mut total, mut written) = (0, 0);
    for f in &m.files {
        total += f.size;
        if std::fs::metadata(sealed.path.join(&f.path))
            .unwrap()
            .nlink()
            == 1
        {
            written += f.size;
        }
    }
    (took, total, written)
}

fn main() {
    let runs = support::runs(3);
    let accounts = env_usize("ACCOUNTS", 100);
    let blobs = env_usize("BLOBS", 10_000);
    let bytes = env_usize("BLOB_BYTES", 8192);
    let (mut full, mut incr) = (Vec::new(), Vec::new());
    let (mut sizes, mut writes) = ((0, 0), 0);
    for _ in 0..runs {
        let dir = tempfile::tempdir().unwrap();
        let data = synthetic(dir.path(), accounts, blobs, bytes);
        let doc = pds_wizard::envfile::Document::parse(&format!(
            "PDS_DATA_DIRECTORY={}\n",
            data.display()
        ));
        let layout = backup::Layout::of(&doc, &dir.path().join("pds.env"));
        let dest = dir.path().join("backups");
        let (t, total, written) = once(&layout, &dest);
        full.push(t);
        sizes = (total, written);
        // One new post with its blob, as the PDS writes it.
        let did = "did:plc:synthetic0000000000";
        let c = rusqlite::Connection::open(
            backup::actor_dir(&data.join("actors"), did).join("store.sqlite"),
        )
        .unwrap();
        post(&c, &data.join("blocks").join(did), did, blobs + 1, bytes);
        drop(c);
        let (t, _, written) = once(&layout, &dest);
        incr.push(t);
        writes = written;
    }
    let mb = |b: u64| b as f64 / (1u64 << 20) as f64;
    println!(
        "backup: {accounts} accounts, {blobs} blobs of {bytes} bytes: full {} ms ({:.1} MB); after one new post {} ms ({:.1} MB written, the rest hard links)",
        support::median(full).as_millis(),
        mb(sizes.0),
        support::median(incr).as_millis(),
        mb(writes),
    );
}

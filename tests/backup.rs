//! Backups that are proven to restore, against the real PDS (0.5, and 0.4 in .ci/run):
//! made while a writer keeps posting and uploading, verified, restored into a fresh
//! directory a second PDS then serves; each fault verify must name; a backup killed at
//! random moments; a restore behind a relay whose cursor is ahead; the schedule.

mod common;

use common::{output_text, restart_script, run_cli, PdsLab, Relay, PDS_ADMIN};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// pds.env for the lab's PDS as the wizard reads it (`relay`: its only crawler).
fn env_file(dir: &Path, pds: &PdsLab, data: &Path, relay: Option<&Relay>) -> PathBuf {
    let env = dir.join("pds.env");
    std::fs::write(
        &env,
        format!(
            "PDS_HOSTNAME=localhost\nPDS_PORT={}\nPDS_ADMIN_PASSWORD={PDS_ADMIN}\nPDS_DATA_DIRECTORY={}\nPDS_BLOBSTORE_DISK_LOCATION={}/blocks\nPDS_DID_PLC_URL={}\nPDS_CRAWLERS={}\n",
            pds.pds_port,
            data.display(),
            data.display(),
            pds.plc_url,
            relay.map(|r| r.url.clone()).unwrap_or_default(),
        ),
    )
    .unwrap();
    std::fs::set_permissions(&env, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    env
}

/// An account's session on the lab.
struct Account {
    did: String,
    jwt: String,
}

fn account(pds: &PdsLab, handle: &str) -> Account {
    let s = pds.create_session(handle);
    Account {
        did: s["did"].as_str().unwrap().into(),
        jwt: s["accessJwt"].as_str().unwrap().into(),
    }
}

/// Upload `bytes` as a blob and write a record that refers to it (a collection of our
/// own: the PDS keeps blob references of any record). Returns the blob's CID.
fn post_with_blob(url: &str, a: &Account, bytes: &[u8], n: usize) -> Option<String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("blob");
    std::fs::write(&file, bytes).unwrap();
    let out = Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "20",
            "-X",
            "POST",
            "-H",
            "content-type: application/octet-stream",
        ])
        .args(["-H", &format!("authorization: Bearer {}", a.jwt)])
        .arg("--data-binary")
        .arg(format!("@{}", file.display()))
        .arg(format!("{url}/xrpc/com.atproto.repo.uploadBlob"))
        .output()
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    let blob = v["blob"].clone();
    let cid = blob["ref"]["$link"].as_str()?.to_string();
    let body = serde_json::json!({
        "repo": a.did,
        "collection": "com.example.backup.file",
        "record": {"$type": "com.example.backup.file", "n": n, "file": blob},
    });
    let out = Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "20",
            "-X",
            "POST",
            "-H",
            "content-type: application/json",
        ])
        .args(["-H", &format!("authorization: Bearer {}", a.jwt)])
        .args(["-d", &body.to_string()])
        .arg(format!("{url}/xrpc/com.atproto.repo.createRecord"))
        .output()
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    v["uri"].as_str().map(|_| cid)
}

fn get(url: &str) -> Vec<u8> {
    Command::new("curl")
        .args(["-sS", "--max-time", "20", url])
        .output()
        .unwrap()
        .stdout
}

fn get_json(url: &str) -> serde_json::Value {
    serde_json::from_slice(&get(url)).unwrap_or_default()
}

/// How many records of ours the PDS at `url` serves for `did`.
fn records(url: &str, did: &str) -> usize {
    let mut n = 0;
    let mut cursor = String::new();
    loop {
        let v = get_json(&format!(
            "{url}/xrpc/com.atproto.repo.listRecords?repo={did}&collection=com.example.backup.file&limit=100{cursor}"
        ));
        let page = v["records"].as_array().map(Vec::len).unwrap_or(0);
        n += page;
        match v["cursor"].as_str() {
            Some(c) if page > 0 => cursor = format!("&cursor={c}"),
            _ => return n,
        }
    }
}

/// Distinct bytes for blob `n` of account `who`.
fn blob_bytes(who: usize, n: usize) -> Vec<u8> {
    let mut b = format!("blob {who}/{n} ").into_bytes();
    b.extend((0..2000 + n * 37).map(|i| ((i * 31 + n * 7 + who) % 251) as u8));
    b
}

/// Whether a database file is in WAL mode (its header's read/write versions are 2).
fn in_wal_mode(db: &Path) -> bool {
    let head = std::fs::read(db).unwrap();
    head[18] == 2 && head[19] == 2
}

/// The lab with two accounts holding records and blobs; what each has: (account, blob
/// CID → bytes).
fn lab_with_two_accounts(pds: &PdsLab) -> Vec<(Account, BTreeMap<String, Vec<u8>>)> {
    let mut out = Vec::new();
    for (who, handle) in ["alice.test", "bob.test"].into_iter().enumerate() {
        let a = account(pds, handle);
        let mut blobs = BTreeMap::new();
        for n in 0..3 {
            let b = blob_bytes(who, n);
            let cid = post_with_blob(&pds.pds_url, &a, &b, n).expect("a post with a blob");
            blobs.insert(cid, b);
        }
        out.push((a, blobs));
    }
    out
}

/// Made while a writer keeps posting and uploading; verified; restored into a fresh
/// directory, which a second PDS serves with every account, at least the records and the
/// blob bytes there were when the backup started, its databases in WAL mode. A second
/// backup links the unchanged blobs; --keep 1 removes the first.
#[test]
fn a_backup_made_while_writing_restores_every_account() {
    let pds = PdsLab::start();
    let dir = tempfile::tempdir().unwrap();
    let env = env_file(dir.path(), &pds, pds.data_dir(), None);
    let accounts = lab_with_two_accounts(&pds);
    let before: Vec<usize> = accounts
        .iter()
        .map(|(a, _)| records(&pds.pds_url, &a.did))
        .collect();
    assert_eq!(before, [3, 3]);

    // The writer: a post with a new blob for each account in turn, until told to stop.
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(Mutex::new(0usize));
    let writer = {
        let (stop, written) = (stop.clone(), written.clone());
        let url = pds.pds_url.clone();
        let sessions: Vec<Account> = accounts
            .iter()
            .map(|(a, _)| Account {
                did: a.did.clone(),
                jwt: a.jwt.clone(),
            })
            .collect();
        std::thread::spawn(move || {
            let mut n = 100;
            while !stop.load(Ordering::SeqCst) {
                for (who, a) in sessions.iter().enumerate() {
                    if post_with_blob(&url, a, &blob_bytes(who, n), n).is_some() {
                        *written.lock().unwrap() += 1;
                    }
                }
                n += 1;
            }
        })
    };
    while *written.lock().unwrap() < 2 {
        std::thread::sleep(Duration::from_millis(20));
    }
    let dest = dir.path().join("backups");
    let out = run_cli(&env, &["backup", "create", dest.to_str().unwrap()], "");
    let text = output_text(&out);
    let during = *written.lock().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::SeqCst);
    writer.join().unwrap();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        *written.lock().unwrap() > during,
        "the writer kept writing during the backup"
    );
    let backup = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    assert!(
        backup.starts_with(&dest) && backup.join("manifest.json").is_file(),
        "{text}"
    );
    assert!(
        text.contains("2 key(s) matching their DID documents"),
        "{text}"
    );
    assert!(
        text.contains("encrypt it before it leaves this machine"),
        "{text}"
    );
    // The lab's figure (docs/src/backups.md), printed, not judged.
    eprintln!(
        "figure: {}",
        text.lines().find(|l| l.contains("backed up")).unwrap_or("")
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(backup.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(
        manifest["accounts"].as_array().unwrap().len(),
        2,
        "{manifest}"
    );
    assert!(manifest["newest_seq"].as_i64().unwrap() > 0, "{manifest}");
    assert!(manifest["pds_version"].is_string(), "{manifest}");
    let env_entry = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "config/pds.env")
        .unwrap();
    assert_eq!(env_entry["mode"], 0o600, "{env_entry}");

    // Verified again on its own, online: every key matches its DID document.
    let out = run_cli(&env, &["backup", "verify", backup.to_str().unwrap()], "");
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("is sound: 2 account(s)"), "{text}");
    assert!(text.contains("2 key(s) matching"), "{text}");

    // Restored into a fresh directory (not pds.env's: not started), then served.
    let fresh = dir.path().join("restored");
    let out = run_cli(
        &env,
        &[
            "backup",
            "restore",
            backup.to_str().unwrap(),
            "--to",
            fresh.to_str().unwrap(),
            "--yes",
        ],
        "",
    );
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("Not started (pds.env's PDS runs on"),
        "{text}"
    );
    for db in ["account.sqlite", "sequencer.sqlite"] {
        assert!(in_wal_mode(&fresh.join(db)), "{db} is not in WAL mode");
    }
    for (a, _) in &accounts {
        let store =
            pds_wizard::backup::actor_dir(&fresh.join("actors"), &a.did).join("store.sqlite");
        assert!(
            in_wal_mode(&store),
            "{} is not in WAL mode",
            store.display()
        );
        // The PDS's own layout: the store where the live PDS keeps it.
        assert!(
            pds_wizard::backup::actor_dir(&pds.data_dir().join("actors"), &a.did)
                .join("key")
                .is_file()
        );
    }
    let second = PdsLab::start_on_data(&fresh);
    let repos = get_json(&format!(
        "{}/xrpc/com.atproto.sync.listRepos",
        second.pds_url
    ));
    let mut served: Vec<&str> = repos["repos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["did"].as_str().unwrap())
        .collect();
    served.sort();
    let mut dids: Vec<&str> = accounts.iter().map(|(a, _)| a.did.as_str()).collect();
    dids.sort();
    assert_eq!(served, dids, "{repos}");
    for (i, (a, blobs)) in accounts.iter().enumerate() {
        let n = records(&second.pds_url, &a.did);
        assert!(
            n > before[i],
            "{}: {n} records restored, {} before the backup started and at least one during",
            a.did,
            before[i]
        );
        for (cid, bytes) in blobs {
            let got = get(&format!(
                "{}/xrpc/com.atproto.sync.getBlob?did={}&cid={cid}",
                second.pds_url, a.did
            ));
            assert!(
                got == *bytes,
                "{}: blob {cid} differs after the restore",
                a.did
            );
        }
    }
    drop(second);

    // A second backup: the unchanged blobs hard-linked to the first's, not copied.
    let out = run_cli(&env, &["backup", "create", dest.to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(0), "{}", output_text(&out));
    let second = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let (alice, blobs) = &accounts[0];
    let cid = blobs.keys().next().unwrap();
    let rel = Path::new("blocks").join(&alice.did).join(cid);
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        second.join(&rel).metadata().unwrap().ino(),
        backup.join(&rel).metadata().unwrap().ino()
    );
    // A third with --keep 1: the two before it removed, its blobs still whole; --then
    // runs after it with its path (where an off-machine copy would start), and a failing
    // one says so with exit 1.
    let sent = dir.path().join("sent");
    let then = format!("echo \"$PDS_BACKUP_DIR\" > {}", sent.display());
    let out = run_cli(
        &env,
        &[
            "backup",
            "create",
            "--keep",
            "1",
            "--then",
            &then,
            dest.to_str().unwrap(),
        ],
        "",
    );
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let third = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    assert!(
        !backup.exists() && !second.exists(),
        "--keep 1 left older backups: {text}"
    );
    assert!(text.contains("removed"), "{text}");
    assert_eq!(std::fs::read(third.join(&rel)).unwrap(), blobs[cid]);
    assert_eq!(
        std::fs::read_to_string(&sent).unwrap().trim(),
        third.to_str().unwrap()
    );
    let out = run_cli(
        &env,
        &[
            "backup",
            "create",
            "--keep",
            "1",
            "--then",
            "exit 3",
            dest.to_str().unwrap(),
        ],
        "",
    );
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("`exit 3` failed"), "{text}");
    let third = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let out = run_cli(
        &env,
        &["--json", "backup", "list", dest.to_str().unwrap()],
        "",
    );
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    let out = run_cli(&env, &["backup", "verify", third.to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(0), "{}", output_text(&out));
}

/// Verify names the account or the blob for each fault: a missing key, a truncated blob,
/// a store whose root block is missing, a database copied without its WAL, a changed
/// byte. The sound backup passes first.
#[test]
fn verify_names_the_account_or_blob_at_fault() {
    let pds = PdsLab::start();
    let dir = tempfile::tempdir().unwrap();
    let env = env_file(dir.path(), &pds, pds.data_dir(), None);
    let accounts = lab_with_two_accounts(&pds);
    let dest = dir.path().join("backups");
    let out = run_cli(&env, &["backup", "create", dest.to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(0), "{}", output_text(&out));
    let sound = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let verify = |b: &Path| {
        let out = run_cli(
            &env,
            &[
                "--json",
                "backup",
                "verify",
                "--offline",
                b.to_str().unwrap(),
            ],
            "",
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        (out.status.code(), v)
    };
    let (code, v) = verify(&sound);
    assert_eq!(code, Some(0), "{v}");

    let (alice, blobs) = &accounts[0];
    let cid = blobs.keys().next().unwrap().clone();
    let actor = |b: &Path| pds_wizard::backup::actor_dir(&b.join("actors"), &alice.did);
    let copy = |name: &str| {
        let to = dir.path().join(name);
        assert!(Command::new("cp")
            .args(["-a"])
            .arg(&sound)
            .arg(&to)
            .status()
            .unwrap()
            .success());
        to
    };
    let kinds = |v: &serde_json::Value| -> Vec<(String, String, String)> {
        v["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["kind"].as_str().unwrap_or("").to_string(),
                    p["did"].as_str().unwrap_or("").to_string(),
                    p["cid"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    };
    let expect = |b: &Path, kind: &str, did: &str, cid: &str| {
        let (code, v) = verify(b);
        assert_eq!(code, Some(1), "{v}");
        let found = kinds(&v);
        assert!(
            found
                .iter()
                .any(|(k, d, c)| k == kind && d == did && (cid == "*" || c == cid)),
            "{kind} for {did} {cid} not in {found:?}"
        );
    };

    // A missing key.
    let b = copy("no-key");
    std::fs::remove_file(actor(&b).join("key")).unwrap();
    expect(&b, "missing-key", &alice.did, "");
    // A truncated blob.
    let b = copy("truncated");
    let f = b.join("blocks").join(&alice.did).join(&cid);
    let len = std::fs::metadata(&f).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&f)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    expect(&b, "blob-size", &alice.did, &cid);
    // A changed byte.
    let b = copy("changed");
    let f = b.join("blocks").join(&alice.did).join(&cid);
    let mut bytes = std::fs::read(&f).unwrap();
    bytes[10] ^= 0xff;
    std::fs::write(&f, bytes).unwrap();
    expect(&b, "changed-file", &alice.did, &cid);
    // A store whose root block is missing.
    let b = copy("no-root");
    {
        let store = actor(&b).join("store.sqlite");
        let c = rusqlite::Connection::open(&store).unwrap();
        c.execute(
            "DELETE FROM repo_block WHERE cid = (SELECT cid FROM repo_root)",
            [],
        )
        .unwrap();
    }
    expect(&b, "missing-root", &alice.did, "*");
    // A database copied without its WAL: the live store, with a post still in its WAL.
    let b = copy("no-wal");
    let live = pds_wizard::backup::actor_dir(&pds.data_dir().join("actors"), &alice.did)
        .join("store.sqlite");
    assert!(
        live.with_extension("sqlite-wal").is_file(),
        "the live store has its WAL"
    );
    std::fs::copy(&live, actor(&b).join("store.sqlite")).unwrap();
    expect(&b, "changed-file", &alice.did, "");
    // A directory without its manifest is no backup.
    let b = copy("no-manifest");
    std::fs::remove_file(b.join("manifest.json")).unwrap();
    expect(&b, "no-manifest", "", "");
    // The words name them too.
    let out = run_cli(
        &env,
        &[
            "backup",
            "verify",
            "--offline",
            dir.path().join("no-key").to_str().unwrap(),
        ],
        "",
    );
    let text = output_text(&out);
    assert!(
        text.contains(&format!("account {} has no key", alice.did)),
        "{text}"
    );
    let out = run_cli(
        &env,
        &[
            "backup",
            "verify",
            "--offline",
            dir.path().join("truncated").to_str().unwrap(),
        ],
        "",
    );
    assert!(
        output_text(&out).contains(&format!("blob {cid}")),
        "{}",
        output_text(&out)
    );
}

/// A backup killed at any moment never leaves a directory that looks complete: every
/// directory `backup list` shows verifies; the next backup removes what was left.
#[test]
fn a_killed_backup_never_looks_complete() {
    let pds = PdsLab::start();
    let dir = tempfile::tempdir().unwrap();
    let env = env_file(dir.path(), &pds, pds.data_dir(), None);
    lab_with_two_accounts(&pds);
    let dest = dir.path().join("backups");
    let exe = env!("CARGO_BIN_EXE_pds-wizard");
    for (i, ms) in [5u64, 40, 90, 160, 250, 400, 700].into_iter().enumerate() {
        let mut child = Command::new(exe)
            .args([
                "--env-file",
                env.to_str().unwrap(),
                "backup",
                "create",
                dest.to_str().unwrap(),
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(ms + (i as u64 * 13) % 17));
        let _ = child.kill();
        let _ = child.wait();
        let out = run_cli(
            &env,
            &["--json", "backup", "list", dest.to_str().unwrap()],
            "",
        );
        let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        for b in list.as_array().into_iter().flatten() {
            let path = b["path"].as_str().unwrap();
            let out = run_cli(&env, &["backup", "verify", "--offline", path], "");
            assert_eq!(
                out.status.code(),
                Some(0),
                "killed after {ms} ms, {path} looks complete but: {}",
                output_text(&out)
            );
            assert!(b["verified"].is_object(), "{b}");
        }
        // Nothing else named like a backup.
        for e in std::fs::read_dir(&dest).into_iter().flatten().flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.starts_with("pds-") {
                assert!(
                    e.path().join("verified.json").is_file(),
                    "{n} looks complete without being verified"
                );
            }
        }
    }
    let out = run_cli(&env, &["backup", "create", dest.to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(0), "{}", output_text(&out));
    let left: Vec<String> = std::fs::read_dir(&dest)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".partial-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// A /pds lost after the relay saw more: restored from an older backup, its newest event
/// is behind the relay's cursor. Restore refuses the running PDS first; then, stopped,
/// the restore moves the counter past the relay, starts it, writes an event and asks for
/// a crawl: the relay follows again.
#[test]
fn a_restore_behind_a_relay_brings_the_relay_back() {
    let pds = PdsLab::start();
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::following("localhost", 0, pds.pds_port, &[]);
    let env = env_file(dir.path(), &pds, pds.data_dir(), Some(&relay));
    let accounts = lab_with_two_accounts(&pds);
    let dest = dir.path().join("backups");
    let out = run_cli(&env, &["backup", "create", dest.to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(0), "{}", output_text(&out));
    let backup = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let at_backup = pds_wizard::pds::data::sequence(pds.data_dir())
        .unwrap()
        .newest
        .unwrap();
    for n in 0..4 {
        post_with_blob(&pds.pds_url, &accounts[1].0, &blob_bytes(1, 50 + n), 50 + n).unwrap();
    }
    let newest = pds_wizard::pds::data::sequence(pds.data_dir())
        .unwrap()
        .newest
        .unwrap();
    let s = relay.wait_for(20, |s| s["cursor"].as_i64() >= Some(newest));
    assert!(s["cursor"].as_i64().unwrap() > at_backup, "{s}");

    // Over the running PDS: refused, naming the process.
    let data = pds.data_dir().to_str().unwrap().to_string();
    let restart = restart_script(dir.path(), &pds);
    let restore = |extra: &[&str]| {
        let mut args = vec!["--restart-command", restart.to_str().unwrap()];
        args.extend(["backup", "restore", backup.to_str().unwrap(), "--to", &data]);
        args.extend(extra);
        run_cli(&env, &args, "")
    };
    let out = restore(&["--yes"]);
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("a PDS is running on"), "{text}");

    // Stopped (systemctl stop pds): off a terminal without --yes, what is there is said
    // and nothing changes.
    pds.stop_pds_only();
    let out = restore(&[]);
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("holds PDS data: account.sqlite"), "{text}");
    assert!(
        text.contains("Nothing restored (not on a terminal: give --yes)"),
        "{text}"
    );

    let out = restore(&["--yes", "--watch", "30"]);
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("the relay repair runs first"), "{text}");
    assert!(text.contains("moved the event counter"), "{text}");
    let aside: Vec<PathBuf> = std::fs::read_dir(pds.data_dir())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("before-restore-")
        })
        .collect();
    assert_eq!(aside.len(), 1, "{text}");
    assert!(
        aside[0].join("account.sqlite").is_file(),
        "what was there is kept"
    );
    let s = relay.wait_for(30, |s| {
        s["status"] == "active" && s["cursor"].as_i64() > Some(newest)
    });
    assert_eq!(s["status"], "active", "{s}\n{text}");
    // Every account served at least at the backup's rev.
    for handle in ["alice.test", "bob.test"] {
        assert!(
            text.contains(&format!("{handle}: the PDS serves its repo at rev")),
            "{text}"
        );
    }
    for (a, _) in &accounts {
        assert!(records(&pds.pds_url, &a.did) >= 3);
    }
}

/// The schedule: a service and a timer, validated, shown then written; the doctor warns
/// while there is no verified backup and passes once there is.
#[test]
fn a_schedule_is_written_and_the_doctor_checks_its_backups() {
    let pds = PdsLab::start();
    let dir = tempfile::tempdir().unwrap();
    let env = env_file(dir.path(), &pds, pds.data_dir(), None);
    lab_with_two_accounts(&pds);
    let units = dir.path().join("units");
    std::fs::create_dir(&units).unwrap();
    let dest = dir.path().join("backups");
    let doctor = |env: &Path| {
        let out = Command::new(env!("CARGO_BIN_EXE_pds-wizard"))
            .args([
                "--env-file",
                env.to_str().unwrap(),
                "--json",
                "doctor",
                "--only",
                "backups",
            ])
            .env("PDS_WIZARD_UNIT_DIR", &units)
            .output()
            .unwrap();
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap_or_default()
    };
    let v = doctor(&env);
    assert_eq!(v["checks"][0]["findings"][0]["level"], "warn", "{v}");
    assert!(
        v["checks"][0]["findings"][0]["what"]
            .as_str()
            .unwrap()
            .contains("no backup schedule"),
        "{v}"
    );

    // `backup schedule --every day --keep 7 [extra] DEST`, the units written to `units`.
    let schedule = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_pds-wizard"))
            .args(["--env-file", env.to_str().unwrap()])
            .args(["backup", "schedule", "--every", "day", "--keep", "7"])
            .args(extra)
            .arg(&dest)
            .env("PDS_WIZARD_UNIT_DIR", &units)
            .output()
            .unwrap()
    };
    let out = schedule(&[]);
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("OnCalendar=daily") && text.contains("Nothing written"),
        "{text}"
    );
    assert!(!units.join("pds-backup.timer").exists());
    let out = schedule(&["--yes"]);
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(!text.contains("✗"), "{text}");
    let service = std::fs::read_to_string(units.join("pds-backup.service")).unwrap();
    assert!(service.contains("backup create --keep 7"), "{service}");

    let v = doctor(&env);
    assert_eq!(v["checks"][0]["findings"][0]["level"], "warn", "{v}");
    assert!(
        v["checks"][0]["findings"][0]["what"]
            .as_str()
            .unwrap()
            .contains("no verified backup"),
        "{v}"
    );
    let out = run_cli(
        &env,
        &["backup", "create", "--keep", "7", dest.to_str().unwrap()],
        "",
    );
    assert_eq!(out.status.code(), Some(0), "{}", output_text(&out));
    let v = doctor(&env);
    assert_eq!(v["checks"][0]["findings"][0]["level"], "pass", "{v}");
}

/// The wizard's Backups step, keystroke by keystroke in a pseudo-terminal at 80x24 against
/// the real PDS: where the schedule puts backups and that there is none; b and y make one,
/// verified; v verifies it again; m shows the move to a new server; with the PDS stopped,
/// Enter and y restore it, start the PDS and check each account.
#[test]
fn the_backups_step_backs_up_verifies_restores_and_shows_the_move() {
    use common::pty::Session;
    use portable_pty::CommandBuilder;
    let pds = PdsLab::start();
    let dir = tempfile::tempdir().unwrap();
    let env = env_file(dir.path(), &pds, pds.data_dir(), None);
    lab_with_two_accounts(&pds);
    let units = dir.path().join("units");
    std::fs::create_dir(&units).unwrap();
    let dest = dir.path().join("backups");
    let out = Command::new(env!("CARGO_BIN_EXE_pds-wizard"))
        .args(["--env-file", env.to_str().unwrap()])
        .args(["backup", "schedule", "--every", "day", "--yes"])
        .arg(&dest)
        .env("PDS_WIZARD_UNIT_DIR", &units)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", output_text(&out));
    let restart = restart_script(dir.path(), &pds);

    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_pds-wizard"));
    cmd.args([
        "--env-file",
        &env.display().to_string(),
        "--restart-command",
        &restart.display().to_string(),
        "--timeout",
        "5",
    ]);
    cmd.cwd(dir.path());
    cmd.env("TERM", "xterm-256color");
    cmd.env("XDG_STATE_HOME", dir.path().join("state"));
    cmd.env("PDS_WIZARD_UNIT_DIR", &units);
    let mut s = Session::start(cmd, 24, 80);
    s.wait_text("Overview");
    let mut keys = s.open_step("Backups");
    s.wait_text("No backup yet: b makes one now.");
    assert!(s.screen().contains("scheduled every day"), "{}", s.screen());
    s.send("b");
    s.wait_text("Back up now?");
    assert!(s.screen().contains("encrypt it"), "{}", s.screen());
    s.send("y");
    keys += 2;
    s.wait_for_within("the backup", Duration::from_secs(60), |s| {
        s.screen().contains("Backed up and verified")
    });
    s.wait_text("✓ pds-");
    s.send("v");
    keys += 1;
    s.wait_text("✓ sound: 2 account(s)");
    s.send("m");
    s.wait_text("Moving to a new server");
    // It scrolls: down to the old server's stop, and out.
    while !s.screen().contains("systemctl disable pds") {
        s.send("\x1b[6~");
        keys += 1;
        std::thread::sleep(Duration::from_millis(150));
        assert!(keys < 40, "{}", s.screen());
    }
    s.send("\x1b");
    keys += 2;
    s.wait_for("the guide hidden", |s| {
        !s.screen().contains("Moving to a new server")
    });

    // Restore, the PDS stopped as `systemctl stop pds` leaves it.
    pds.stop_pds_only();
    s.send("\r");
    s.wait_text("Restore this backup?");
    s.send("y");
    keys += 2;
    s.wait_for_within("the restore", Duration::from_secs(90), |s| {
        s.screen().contains("Restored, started and checked.")
    });
    eprintln!("figure: the Backups step, from the step list through a backup, a verification, the move guide and a restore: {keys} keys");
    s.send("q");
    let aside = std::fs::read_dir(pds.data_dir())
        .unwrap()
        .flatten()
        .any(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("before-restore-")
        });
    assert!(aside, "what was there is kept");
    let repos = get_json(&format!("{}/xrpc/com.atproto.sync.listRepos", pds.pds_url));
    assert_eq!(repos["repos"].as_array().map(Vec::len), Some(2), "{repos}");
}

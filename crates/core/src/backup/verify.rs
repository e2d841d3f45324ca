//! `backup verify`: is this backup sound, without touching the PDS. Every database passes
//! `PRAGMA integrity_check`; every account has its store and key at the right path; each
//! store's root block exists and its rev is not older than account.sqlite's; every blob a
//! record refers to has its row (the PDS's own `listMissingBlobs` query) and its file at
//! the recorded size; each key's public key is the DID document's `#atproto` key (when
//! the directory answers); every file matches the manifest's hash. Each problem names
//! the account (its DID) or the blob (its CID).
//!
//! The backup's databases are opened `immutable`: read without a lock, a journal or a
//! `-shm` file, so verifying writes nothing, not even inside the backup.

use super::{actor_rel, Blobstore, Manifest, MANIFEST};
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// What is wrong, as data (the words are in `detail`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// No manifest.json: not a complete backup.
    NoManifest,
    /// A file the manifest lists is not there.
    MissingFile,
    /// Its size or content differs from the manifest.
    ChangedFile,
    /// `PRAGMA integrity_check` failed, or it does not open as a database.
    Corrupt,
    /// An account without its store.sqlite.
    MissingStore,
    /// An account without its key, or a key that is not a secp256k1 private key.
    MissingKey,
    BadKey,
    /// The key's public key is not the DID document's `#atproto` key.
    KeyMismatch,
    /// The repo's root commit is not among its blocks, or the repo has no root.
    MissingRoot,
    /// The store is older than account.sqlite says the repo is.
    StaleStore,
    /// A record refers to a blob the store has no row for.
    MissingBlobRow,
    /// A blob's file is missing, or not its recorded size.
    MissingBlob,
    BlobSize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    pub kind: Kind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub did: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub detail: String,
}

/// The verdict on one backup.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub dir: PathBuf,
    pub accounts: usize,
    pub blobs: usize,
    pub files: usize,
    /// Accounts whose key was compared with their DID document.
    pub keys_checked: usize,
    /// What was not checked, and why.
    pub notes: Vec<String>,
    pub problems: Vec<Problem>,
}

impl Verdict {
    pub fn sound(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Open a database of a backup without writing anything beside it.
pub fn open_immutable(path: &Path) -> Result<rusqlite::Connection, String> {
    if !path.is_file() {
        return Err(format!("{} is missing", path.display()));
    }
    // A URI: the path's own '%', '?' and '#' escaped.
    let mut uri = String::from("file:");
    for c in path.to_string_lossy().chars() {
        match c {
            '%' => uri.push_str("%25"),
            '?' => uri.push_str("%3f"),
            '#' => uri.push_str("%23"),
            c => uri.push(c),
        }
    }
    uri.push_str("?immutable=1");
    rusqlite::Connection::open_with_flags(
        &uri,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
            | rusqlite::OpenFlags::SQLITE_OPEN_URI
            | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| format!("cannot open {}: {e}", path.display()))
}

/// The compressed secp256k1 public key of an account's `key` file (32 raw bytes, as the
/// PDS's `Secp256k1Keypair.import` reads it).
pub fn key_public(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let sk = k256::SecretKey::from_slice(bytes)
        .map_err(|_| format!("not a secp256k1 private key ({} bytes)", bytes.len()))?;
    use k256::elliptic_curve::sec1::ToSec1Point;
    Ok(sk.public_key().to_sec1_point(true).as_bytes().to_vec())
}

/// The `#atproto` signing key of a DID document, as compressed public key bytes.
pub fn document_key(doc: &serde_json::Value) -> Result<Vec<u8>, String> {
    let vm = doc["verificationMethod"]
        .as_array()
        .and_then(|l| {
            l.iter()
                .find(|m| m["id"].as_str().is_some_and(|id| id.ends_with("#atproto")))
        })
        .ok_or("its DID document has no #atproto key")?;
    let mb = vm["publicKeyMultibase"]
        .as_str()
        .ok_or("its #atproto key has no publicKeyMultibase")?;
    let bytes = mb
        .strip_prefix('z')
        .and_then(crate::envfile::catalogue::base58_decode)
        .ok_or_else(|| format!("its #atproto key {mb} is not base58btc"))?;
    // Multikey: the multicodec prefix, then the compressed key. The older
    // EcdsaSecp256k1VerificationKey2019 form (older PLC directories): the key's SEC1
    // bytes alone, compressed or not. Either way, compared compressed.
    let sec1 = match (vm["type"].as_str(), bytes.as_slice()) {
        (Some("Multikey") | None, [0xe7, 0x01, key @ ..]) => key,
        (Some("EcdsaSecp256k1VerificationKey2019"), key) => key,
        _ => return Err(format!("its #atproto key {mb} is not a secp256k1 key")),
    };
    let key = k256::PublicKey::from_sec1_bytes(sec1)
        .map_err(|_| format!("its #atproto key {mb} is not a secp256k1 key"))?;
    use k256::elliptic_curve::sec1::ToSec1Point;
    Ok(key.to_sec1_point(true).as_bytes().to_vec())
}

/// Each DID's `#atproto` key from its DID document (did:plc at `plc_url`, did:web at its
/// host), asked concurrently; an error where the document could not be read.
pub async fn document_keys(
    dids: &[String],
    plc_url: &str,
    http: &crate::http::HttpOptions,
) -> HashMap<String, Result<Vec<u8>, String>> {
    let asks = dids.iter().map(|did| async move {
        let key = match crate::identity::syntax::Did::parse(did) {
            Err(e) => Err(format!("{did}: {e}")),
            Ok(d) => match crate::identity::diddoc::fetch(&d, plc_url, http).await {
                Ok(doc) => document_key(&doc),
                Err(f) => Err(f.what),
            },
        };
        (did.clone(), key)
    });
    futures::future::join_all(asks).await.into_iter().collect()
}

/// The account and blob a backup path is about (`actors/xx/DID/…`, `blocks/DID/CID`,
/// `blocks/quarantine/DID/CID`).
fn about(path: &str) -> (Option<String>, Option<String>) {
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        ["actors", _, did, ..] if did.starts_with("did:") => (Some(did.to_string()), None),
        ["blocks", "quarantine", did, cid] | ["blocks", did, cid] => {
            (Some(did.to_string()), Some(cid.to_string()))
        }
        _ => (None, None),
    }
}

fn problem(
    kind: Kind,
    did: Option<&str>,
    cid: Option<&str>,
    path: Option<&str>,
    detail: String,
) -> Problem {
    Problem {
        kind,
        did: did.map(str::to_string),
        cid: cid.map(str::to_string),
        path: path.map(str::to_string),
        detail,
    }
}

/// Verify the backup in `dir`. `keys`: each DID's document key (from `document_keys`);
/// an account missing from it is not compared (said in the notes).
pub fn verify(dir: &Path, keys: &HashMap<String, Result<Vec<u8>, String>>) -> Verdict {
    let mut v = Verdict {
        dir: dir.to_path_buf(),
        accounts: 0,
        blobs: 0,
        files: 0,
        keys_checked: 0,
        notes: vec![],
        problems: vec![],
    };
    let manifest: Option<Manifest> = std::fs::read(dir.join(MANIFEST))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let Some(manifest) = manifest else {
        v.problems.push(problem(
            Kind::NoManifest,
            None,
            None,
            Some(MANIFEST),
            format!(
                "{} has no readable {MANIFEST}: not a complete backup (a backup that did not finish is named .partial-…)",
                dir.display()
            ),
        ));
        return v;
    };

    // Every file as the manifest recorded it.
    for f in &manifest.files {
        v.files += 1;
        if !super::inside(&f.path) {
            v.problems.push(problem(
                Kind::ChangedFile,
                None,
                None,
                Some(&f.path),
                format!(
                    "the manifest names {:?}, outside the backup: not made by pds-wizard, or changed since",
                    f.path
                ),
            ));
            continue;
        }
        let (did, cid) = about(&f.path);
        let p = dir.join(&f.path);
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.is_file() => match super::create::hash_file(&p) {
                Ok((size, sha)) if size == f.size && sha == f.sha256 => {}
                Ok((size, _)) => v.problems.push(problem(
                    Kind::ChangedFile,
                    did.as_deref(),
                    cid.as_deref(),
                    Some(&f.path),
                    format!(
                        "{} is not what was backed up ({}): {size} bytes, sha256 differs from the manifest's ({} bytes)",
                        f.path,
                        owner(&did, &cid),
                        f.size
                    ),
                )),
                Err(e) => v.problems.push(problem(
                    Kind::MissingFile,
                    did.as_deref(),
                    cid.as_deref(),
                    Some(&f.path),
                    format!("cannot read {} ({}): {e}", f.path, owner(&did, &cid)),
                )),
            },
            _ => v.problems.push(problem(
                Kind::MissingFile,
                did.as_deref(),
                cid.as_deref(),
                Some(&f.path),
                format!("{} is missing ({})", f.path, owner(&did, &cid)),
            )),
        }
        if f.path.ends_with(".sqlite") && p.is_file() {
            if let Err(e) = integrity(&p) {
                v.problems.push(problem(
                    Kind::Corrupt,
                    did.as_deref(),
                    None,
                    Some(&f.path),
                    format!("{} ({}): {e}", f.path, owner(&did, &None)),
                ));
            }
        }
    }

    // Every account account.sqlite holds, with its store, key, root and blobs.
    let accounts = match account_index(&dir.join("account.sqlite")) {
        Ok(a) => a,
        Err(e) => {
            v.problems.push(problem(
                Kind::Corrupt,
                None,
                None,
                Some("account.sqlite"),
                format!("cannot read the accounts: {e}"),
            ));
            vec![]
        }
    };
    let blob_dir = match &manifest.blobstore {
        Blobstore::Disk { .. } => Some(dir.join("blocks")),
        Blobstore::S3 { bucket } => {
            v.notes.push(format!(
                "blob bytes are in the S3 bucket {bucket}: only their rows were checked"
            ));
            None
        }
    };
    for (did, index_rev) in &accounts {
        v.accounts += 1;
        account(
            dir,
            did,
            index_rev.as_deref(),
            blob_dir.as_deref(),
            keys,
            &mut v,
        );
    }
    v
}

fn owner(did: &Option<String>, cid: &Option<String>) -> String {
    match (did, cid) {
        (Some(d), Some(c)) => format!("blob {c} of {d}"),
        (Some(d), None) => format!("account {d}"),
        _ => "the PDS's own data".into(),
    }
}

fn integrity(db: &Path) -> Result<(), String> {
    let conn = open_immutable(db)?;
    let mut stmt = conn
        .prepare("PRAGMA integrity_check")
        .map_err(|e| format!("not a database: {e}"))?;
    let rows: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .and_then(|r| r.collect())
        .map_err(|e| format!("not a sound database: {e}"))?;
    if rows == ["ok"] {
        Ok(())
    } else {
        Err(format!("integrity_check: {}", rows.join("; ")))
    }
}

/// Each account's DID and the repo rev account.sqlite holds for it.
fn account_index(db: &Path) -> Result<Vec<(String, Option<String>)>, String> {
    let conn = open_immutable(db)?;
    let mut stmt = conn
        .prepare("SELECT actor.did, repo_root.rev FROM actor LEFT JOIN repo_root ON repo_root.did = actor.did ORDER BY actor.did")
        .map_err(|e| e.to_string())?;
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(|e| e.to_string())?;
    rows.collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())
}

fn account(
    dir: &Path,
    did: &str,
    index_rev: Option<&str>,
    blob_dir: Option<&Path>,
    keys: &HashMap<String, Result<Vec<u8>, String>>,
    v: &mut Verdict,
) {
    let rel = actor_rel(did);
    let store = dir.join(&rel).join("store.sqlite");
    let key = dir.join(&rel).join("key");
    let d = Some(did);
    // The key: present, a secp256k1 key, and the one its DID document names.
    match std::fs::read(&key) {
        Err(_) => v.problems.push(problem(
            Kind::MissingKey,
            d,
            None,
            Some(&format!("{rel}/key")),
            format!("account {did} has no key at {rel}/key: its repo could not be signed after a restore"),
        )),
        Ok(bytes) => match key_public(&bytes) {
            Err(e) => v.problems.push(problem(
                Kind::BadKey,
                d,
                None,
                Some(&format!("{rel}/key")),
                format!("account {did}: {rel}/key is {e}"),
            )),
            Ok(public) => match keys.get(did) {
                Some(Ok(doc)) if *doc == public => v.keys_checked += 1,
                Some(Ok(_)) => v.problems.push(problem(
                    Kind::KeyMismatch,
                    d,
                    None,
                    Some(&format!("{rel}/key")),
                    format!("account {did}: its key is not the #atproto key of its DID document (the repo would be signed with a key nobody can check)"),
                )),
                Some(Err(e)) => v.notes.push(format!("{did}: key not compared: {e}")),
                None => v.notes.push(format!("{did}: key not compared (no DID document asked)")),
            },
        },
    }
    if !store.is_file() {
        v.problems.push(problem(
            Kind::MissingStore,
            d,
            None,
            Some(&format!("{rel}/store.sqlite")),
            format!("account {did} has no repo at {rel}/store.sqlite"),
        ));
        return;
    }
    let conn = match open_immutable(&store) {
        Ok(c) => c,
        Err(e) => {
            v.problems.push(problem(
                Kind::Corrupt,
                d,
                None,
                None,
                format!("account {did}: {e}"),
            ));
            return;
        }
    };
    // The root commit among the blocks, and not older than the index says.
    let head: Result<Option<(String, String, bool)>, rusqlite::Error> = conn
        .query_row(
            "SELECT cid, rev, EXISTS (SELECT 1 FROM repo_block WHERE repo_block.cid = repo_root.cid) FROM repo_root LIMIT 1",
            [],
            |r| Ok(Some((r.get(0)?, r.get(1)?, r.get(2)?))),
        )
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        });
    match head {
        Err(e) => v.problems.push(problem(
            Kind::Corrupt,
            d,
            None,
            None,
            format!("account {did}: cannot read its repo root: {e}"),
        )),
        Ok(None) => v.problems.push(problem(
            Kind::MissingRoot,
            d,
            None,
            None,
            format!("account {did}: its repo has no root commit"),
        )),
        Ok(Some((cid, _, false))) => v.problems.push(problem(
            Kind::MissingRoot,
            d,
            Some(&cid),
            None,
            format!("account {did}: its root commit {cid} is not among its blocks"),
        )),
        Ok(Some((_, rev, true))) => {
            // Revs are TIDs: they sort as they were made.
            if let Some(ix) = index_rev.filter(|ix| rev.as_str() < *ix) {
                v.problems.push(problem(
                    Kind::StaleStore,
                    d,
                    None,
                    None,
                    format!("account {did}: its repo is at rev {rev}, older than account.sqlite's {ix} (a store copied from before the index)"),
                ));
            }
        }
    }
    // Blobs: a row for each one a record refers to (listMissingBlobs), and its file.
    if let Ok(mut stmt) = conn.prepare(
        "SELECT DISTINCT record_blob.blobCid FROM record_blob LEFT JOIN blob ON blob.cid = record_blob.blobCid WHERE blob.cid IS NULL ORDER BY 1",
    ) {
        let missing: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .and_then(|r| r.collect())
            .unwrap_or_default();
        for cid in missing {
            v.problems.push(problem(
                Kind::MissingBlobRow,
                d,
                Some(&cid),
                None,
                format!("account {did}: a record refers to blob {cid}, which its store does not hold (listMissingBlobs)"),
            ));
        }
    }
    let Ok(mut stmt) = conn.prepare(
        "SELECT DISTINCT blob.cid, blob.size, blob.takedownRef IS NOT NULL FROM blob JOIN record_blob ON record_blob.blobCid = blob.cid WHERE blob.tempKey IS NULL ORDER BY 1",
    ) else {
        return;
    };
    let blobs: Vec<(String, i64, bool)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .and_then(|r| r.collect())
        .unwrap_or_default();
    for (cid, size, taken_down) in blobs {
        v.blobs += 1;
        let Some(blob_dir) = blob_dir else { continue };
        // A taken-down blob sits in quarantine/ (the PDS moves it there and back).
        let places = [
            blob_dir.join(did).join(&cid),
            blob_dir.join("quarantine").join(did).join(&cid),
        ];
        let found = if taken_down {
            places.iter().rev().find(|p| p.is_file())
        } else {
            places.iter().find(|p| p.is_file())
        };
        match found.and_then(|p| std::fs::metadata(p).ok()) {
            None => v.problems.push(problem(
                Kind::MissingBlob,
                d,
                Some(&cid),
                Some(&format!("blocks/{did}/{cid}")),
                format!("account {did}: blob {cid} is missing (blocks/{did}/{cid})"),
            )),
            Some(m) if m.len() != size as u64 => v.problems.push(problem(
                Kind::BlobSize,
                d,
                Some(&cid),
                Some(&format!("blocks/{did}/{cid}")),
                format!(
                    "account {did}: blob {cid} has {} bytes, the store says {size}",
                    m.len()
                ),
            )),
            Some(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_read_as_compressed_public_keys() {
        // The key files' match with real DID documents is proven in tests/backup.rs
        // against the PLC directory; here the shapes: a did:key's multibase (the interop
        // vectors' secp256k1 one) and a key file's public key are both 33 bytes, SEC1
        // compressed.
        let doc = serde_json::json!({"verificationMethod": [
            {"id": "did:plc:x#atproto", "type": "Multikey",
             "publicKeyMultibase": "zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme"}
        ]});
        let from_doc = document_key(&doc).unwrap();
        assert_eq!(from_doc.len(), 33);
        assert!(matches!(from_doc[0], 2 | 3));
        let public = key_public(&[7u8; 32]).unwrap();
        assert_eq!(public.len(), 33);
        assert!(key_public(&[1u8; 5]).is_err());
        let p256 = serde_json::json!({"verificationMethod": [
            {"id": "#atproto", "publicKeyMultibase": "zDnaembgSGUhZULN2Caob4HLJPaxBh92N7rtH21TErzqf8HQo"}
        ]});
        assert!(document_key(&p256).is_err());
        assert!(document_key(&serde_json::json!({})).is_err());
    }

    #[test]
    fn a_path_names_its_account_and_blob() {
        assert_eq!(
            about("actors/ab/did:plc:x/key"),
            (Some("did:plc:x".into()), None)
        );
        assert_eq!(
            about("blocks/did:plc:x/bafk"),
            (Some("did:plc:x".into()), Some("bafk".into()))
        );
        assert_eq!(
            about("blocks/quarantine/did:plc:x/bafk"),
            (Some("did:plc:x".into()), Some("bafk".into()))
        );
        assert_eq!(about("account.sqlite"), (None, None));
    }
}

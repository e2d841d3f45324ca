//! The PDS's own SQLite files, read-only: pending email codes (`account.sqlite`, table
//! `email_token`) and the newest event sequence number (`sequencer.sqlite`, `repo_seq`).
//!
//! The PDS runs with these files open in WAL mode. We open them read-only, with a short busy
//! timeout, inside one short read transaction, and never write: not even a checkpoint. A
//! read-only open still sees what sits in the WAL, so a code requested a second ago shows.

use rusqlite::{Connection, OpenFlags};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long the PDS keeps an email code valid (`assertValidToken`'s default).
pub const CODE_LIFETIME: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{path} does not exist (is PDS_DATA_DIRECTORY right? the installer uses /pds)")]
    Missing { path: PathBuf },
    #[error("cannot read {path}: {why}")]
    Unreadable { path: PathBuf, why: String },
}

impl DataError {
    /// What to do about it.
    pub fn fix(&self) -> &'static str {
        match self {
            DataError::Missing { .. } => {
                "point --env-file at the PDS's pds.env, or set PDS_DATA_DIRECTORY in it"
            }
            DataError::Unreadable { .. } => {
                "run as root (sudo): /pds is mode 0700 and the databases belong to root"
            }
        }
    }
}

/// The data directory pds.env names (the installer's /pds when unset).
pub fn data_dir(doc: &crate::envfile::Document) -> PathBuf {
    doc.get("PDS_DATA_DIRECTORY")
        .filter(|d| !d.trim().is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/pds"))
}

/// An SQLite error on `path`, as the operator reads it.
fn unreadable(path: &Path) -> impl Fn(rusqlite::Error) -> DataError + Copy + '_ {
    move |e| DataError::Unreadable {
        path: path.to_path_buf(),
        why: e.to_string(),
    }
}

fn open(path: &Path) -> Result<Connection, DataError> {
    if !path.exists() {
        return Err(DataError::Missing {
            path: path.to_path_buf(),
        });
    }
    let unreadable = unreadable(path);
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(unreadable)?;
    // The PDS may be writing: wait a moment for its lock rather than fail, never longer.
    conn.busy_timeout(Duration::from_millis(1500))
        .map_err(unreadable)?;
    conn.pragma_update(None, "query_only", true)
        .map_err(unreadable)?;
    Ok(conn)
}

/// A code the PDS made for an email it meant to send.
#[derive(Debug, Clone, Serialize)]
pub struct PendingCode {
    pub did: String,
    pub handle: Option<String>,
    pub email: Option<String>,
    /// confirm_email, update_email, reset_password, delete_account, plc_operation.
    pub purpose: String,
    pub code: String,
    pub requested_at: String,
    /// Seconds since it was requested (None if the time does not parse).
    pub age_seconds: Option<i64>,
    pub expired: bool,
}

impl PendingCode {
    /// What the code is for, in the words of the app's screens.
    pub fn purpose_text(&self) -> &str {
        match self.purpose.as_str() {
            "confirm_email" => "confirm the email address",
            "update_email" => "change the email address",
            "reset_password" => "reset the password",
            "delete_account" => "delete the account",
            "plc_operation" => "sign an identity (PLC) change, e.g. moving the account",
            other => other,
        }
    }
}

/// "3 min", "2 h 5 min", "4 days".
pub fn age_text(secs: i64) -> String {
    match secs {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min", s / 60),
        s if s < 86400 => format!("{} h {} min", s / 3600, (s % 3600) / 60),
        s => format!("{} days", s / 86400),
    }
}

fn age_of(requested_at: &str) -> Option<i64> {
    let t =
        time::OffsetDateTime::parse(requested_at, &time::format_description::well_known::Rfc3339)
            .ok()?;
    Some((time::OffsetDateTime::now_utc() - t).whole_seconds())
}

/// Every code in `account.sqlite`, newest first, with the account's handle and email.
pub fn pending_codes(data_dir: &Path) -> Result<Vec<PendingCode>, DataError> {
    let path = data_dir.join("account.sqlite");
    let conn = open(&path)?;
    let unreadable = unreadable(&path);
    let mut stmt = conn
        .prepare(
            "SELECT t.did, a.handle, acc.email, t.purpose, t.token, t.requestedAt
             FROM email_token t
             LEFT JOIN actor a ON a.did = t.did
             LEFT JOIN account acc ON acc.did = t.did
             ORDER BY t.requestedAt DESC",
        )
        .map_err(unreadable)?;
    let rows = stmt
        .query_map([], |r| {
            let requested_at: String = r.get(5)?;
            let age = age_of(&requested_at);
            Ok(PendingCode {
                did: r.get(0)?,
                handle: r.get(1)?,
                email: r.get(2)?,
                purpose: r.get(3)?,
                code: r.get(4)?,
                expired: age.is_some_and(|a| a > CODE_LIFETIME.as_secs() as i64),
                age_seconds: age,
                requested_at,
            })
        })
        .map_err(unreadable)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(unreadable)
}

/// Every account in `account.sqlite` (table `actor`): its DID and handle (None when the
/// handle was taken away).
pub fn accounts(data_dir: &Path) -> Result<Vec<(String, Option<String>)>, DataError> {
    let path = data_dir.join("account.sqlite");
    let conn = open(&path)?;
    let unreadable = unreadable(&path);
    let mut stmt = conn
        .prepare("SELECT did, handle FROM actor ORDER BY createdAt")
        .map_err(unreadable)?;
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(unreadable)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(unreadable)
}

/// Where the PDS's event numbering stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Sequence {
    /// The newest event it holds (the highest `seq` row of `repo_seq`): what its firehose
    /// compares a relay's cursor with ("Cursor in the future" above it). None: no event.
    pub newest: Option<i64>,
    /// The next number's base (sqlite_sequence): moved by hand past a relay's cursor, it
    /// counts only once one new event is written.
    pub counter: Option<i64>,
}

/// The PDS's event numbering, read from sequencer.sqlite.
pub fn sequence(data_dir: &Path) -> Result<Sequence, DataError> {
    let path = data_dir.join("sequencer.sqlite");
    let conn = open(&path)?;
    let unreadable = unreadable(&path);
    let counter: Option<i64> = conn
        .query_row(
            "SELECT seq FROM sqlite_sequence WHERE name = 'repo_seq'",
            [],
            |r| r.get(0),
        )
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            // No AUTOINCREMENT row has ever been written: the table does not exist yet.
            rusqlite::Error::SqliteFailure(..) => Ok(None),
            e => Err(e),
        })
        .map_err(unreadable)?;
    let newest: Option<i64> = conn
        .query_row("SELECT max(seq) FROM repo_seq", [], |r| r.get(0))
        .map_err(unreadable)?;
    Ok(Sequence { newest, counter })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_like_a_person_says_them() {
        assert_eq!(age_text(42), "42 s");
        assert_eq!(age_text(180), "3 min");
        assert_eq!(age_text(7500), "2 h 5 min");
        assert_eq!(age_text(3 * 86400 + 5), "3 days");
    }

    #[test]
    fn a_missing_database_names_the_directory_setting() {
        let dir = tempfile::tempdir().unwrap();
        let e = pending_codes(dir.path()).unwrap_err();
        assert!(e.to_string().contains("PDS_DATA_DIRECTORY"), "{e}");
        assert!(matches!(e, DataError::Missing { .. }));
    }
}

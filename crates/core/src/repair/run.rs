//! Carrying a repair out: each step as it runs, the sequencer changed safely, the PDS
//! always started again.

use super::{host_status, Plan, Step};
use crate::finding::{Finding, Level};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The sequencer at `db` as a root tool may change it: not a link, not writable by anyone
/// else, in a directory nobody else can change (SQLite writes its journal beside it, and
/// the backup goes there). Its real path, or why not.
fn trusted(db: &Path) -> Result<PathBuf, String> {
    let target = crate::fsutil::resolve(db, crate::fsutil::Links::Refuse)
        .map_err(|e| format!("cannot open {}: {e}", db.display()))?;
    if target.existing.is_none() {
        return Err(format!(
            "cannot open {}: there is no such file",
            db.display()
        ));
    }
    if let Some(who) = crate::fsutil::who_else_can_change(&target) {
        return Err(format!(
            "will not change {}: {who} (a root tool changes only what nobody else can)",
            db.display()
        ));
    }
    Ok(target.path())
}

/// Move the event counter of the sequencer `db` to `to` (never back): the row updated, or
/// made when the sequencer never had one (a fresh or wiped /pds, where the README's UPDATE
/// does nothing). Returns the counter before.
pub fn move_counter(db: &Path, to: i64) -> Result<Option<i64>, String> {
    let db = &trusted(db)?;
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE)
            .map_err(|e| format!("cannot open {}: {e}", db.display()))?;
    // The PDS may hold the lock for a moment (with --restart-command it runs meanwhile).
    conn.busy_timeout(Duration::from_secs(10))
        .map_err(|e| e.to_string())?;
    let before: Option<i64> = conn
        .query_row(
            "SELECT seq FROM sqlite_sequence WHERE name = 'repo_seq'",
            [],
            |r| r.get(0),
        )
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })
        .map_err(|e| format!("cannot read the counter in {}: {e}", db.display()))?;
    conn.execute_batch("BEGIN IMMEDIATE")
        .map_err(|e| format!("cannot lock {}: {e}", db.display()))?;
    let moved = conn
        .execute(
            "UPDATE sqlite_sequence SET seq = ?1 WHERE name = 'repo_seq' AND seq < ?1",
            [to],
        )
        .and_then(|_| {
            conn.execute(
                "INSERT INTO sqlite_sequence (name, seq) SELECT 'repo_seq', ?1 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'repo_seq')",
                [to],
            )
        });
    match moved {
        Ok(_) => conn
            .execute_batch("COMMIT")
            .map_err(|e| format!("cannot write {}: {e}", db.display()))?,
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(format!("cannot move the counter in {}: {e}", db.display()));
        }
    }
    Ok(before)
}

/// A consistent copy of the sequencer `db` beside it (`VACUUM INTO`: the PDS may be
/// writing), named for now; refused if that name exists, link or not.
pub fn backup(db: &Path) -> Result<PathBuf, String> {
    let db = &trusted(db)?;
    let stamp = crate::fsutil::utc_stamp();
    let name = format!(
        "{}.before-relay-repair-{stamp}",
        db.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("sequencer.sqlite")
    );
    let to = db.with_file_name(name);
    if std::fs::symlink_metadata(&to).is_ok() {
        return Err(format!("{} exists already: not overwritten", to.display()));
    }
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| format!("cannot open {}: {e}", db.display()))?;
    conn.busy_timeout(Duration::from_secs(10))
        .map_err(|e| e.to_string())?;
    conn.execute("VACUUM INTO ?1", [to.display().to_string()])
        .map_err(|e| format!("cannot copy {} to {}: {e}", db.display(), to.display()))?;
    Ok(to)
}

/// How a carried-out repair went: each step's finding, and each relay as it ended.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub steps: Vec<Finding>,
    /// Every relay it repaired is active with its cursor past the old one.
    pub repaired: bool,
    pub level: Level,
}

/// Carry `plan` out, step by step; a step that fails ends it (after the PDS is started
/// again, whatever happened). `watch` bounds each relay's watch.
pub async fn execute(
    plan: &Plan,
    settings: &crate::settings::Resolved,
    watch: Duration,
    mut said: impl FnMut(&Finding),
) -> Outcome {
    let mut steps: Vec<Finding> = Vec::new();
    let mut say = |f: Finding, steps: &mut Vec<Finding>| {
        said(&f);
        steps.push(f);
    };
    let mut stopped: Option<&Vec<String>> = None;
    let mut failed = false;
    let c = crate::http::client(&settings.http, "").ok();
    for step in &plan.steps {
        if failed {
            break;
        }
        let f = match step {
            Step::StopPds { command } => match crate::pds::restart(command) {
                Ok(()) => {
                    stopped = plan.steps.iter().find_map(|s| match s {
                        Step::StartPds { command } => Some(command),
                        _ => None,
                    });
                    Finding::pass(format!("stopped the PDS ({})", crate::pds::shown(command)))
                }
                Err(e) => Finding::fail(format!("could not stop the PDS: {e}")),
            },
            Step::Backup { db } => {
                let db = db.clone();
                match tokio::task::spawn_blocking(move || backup(&db)).await {
                    Ok(Ok(to)) => {
                        Finding::pass(format!("backed up the sequencer to {}", to.display()))
                    }
                    Ok(Err(e)) => Finding::fail(e),
                    Err(e) => Finding::fail(e.to_string()),
                }
            }
            Step::MoveCounter { db, to } => {
                let (db2, to) = (db.clone(), *to);
                match tokio::task::spawn_blocking(move || move_counter(&db2, to)).await {
                    Ok(Ok(before)) => Finding::pass(format!(
                        "moved the event counter from {} to #{to}",
                        before
                            .map(|b| format!("#{b}"))
                            .unwrap_or_else(|| "none (a fresh sequencer)".into())
                    )),
                    Ok(Err(e)) => Finding::fail(e),
                    Err(e) => Finding::fail(e.to_string()),
                }
            }
            Step::StartPds { command } | Step::RestartPds { command } => {
                let f = start(command, settings).await;
                if f.level != Level::Fail {
                    stopped = None;
                }
                f
            }
            Step::WriteEvent { did, handle } => write_event(settings, did, handle).await,
            Step::RequestCrawl { relay } => match &c {
                Some(c) => crate::relay::request_crawl(c, relay, Some(&plan.host)).await,
                None => Finding::fail("no HTTP client"),
            },
            Step::Watch { relay, past } => match &c {
                Some(c) => watch_relay(c, relay, &plan.host, *past, watch).await,
                None => Finding::fail("no HTTP client"),
            },
        };
        failed = f.level == Level::Fail;
        say(f, &mut steps);
    }
    // Whatever happened, a PDS stopped here is started again.
    if let Some(command) = stopped {
        let f = start(command, settings).await;
        say(f, &mut steps);
    }
    let level = crate::finding::worst(&steps);
    Outcome {
        repaired: !failed && level != Level::Fail,
        level,
        steps,
    }
}

/// Start (or restart) the PDS with `command`, then wait until it answers.
pub(crate) async fn start(command: &[String], settings: &crate::settings::Resolved) -> Finding {
    let cmd = command.to_vec();
    let ran = tokio::task::spawn_blocking(move || crate::pds::restart(&cmd))
        .await
        .unwrap_or_else(|e| Err(e.to_string()));
    if let Err(e) = ran {
        return Finding::fail(format!("could not start the PDS: {e}"))
            .fix(format!("start it by hand: {}", crate::pds::shown(command)));
    }
    let wait = Duration::from_secs(60).max(settings.http.timeout * 4);
    if crate::email::via_pds::wait_for_pds(&settings.local_url, &settings.http, wait).await {
        Finding::pass(format!(
            "the PDS answers again ({})",
            crate::pds::shown(command)
        ))
    } else {
        Finding::fail(format!(
            "the PDS did not answer at {} within {} s after {}",
            settings.local_url,
            wait.as_secs(),
            crate::pds::shown(command)
        ))
        .fix("look at its log (sudo journalctl -u pds -n 50, or docker logs pds)")
    }
}

/// One harmless event: the account's handle set to itself (the PDS re-emits an identity
/// event; "users can emit the event again by updating their handle to the same value").
async fn write_event(settings: &crate::settings::Resolved, did: &str, handle: &str) -> Finding {
    match settings.admin().set_handle(did, handle).await {
        Ok(()) => Finding::pass(format!(
            "wrote one event: {handle}'s identity, announced again"
        )),
        Err(f) => Finding {
            what: format!("the PDS did not write the event: {}", f.what),
            ..f
        },
    }
}

/// Watch `relay` (at most `bound`) until it is active with its cursor past `past`.
async fn watch_relay(
    c: &reqwest::Client,
    relay: &str,
    host: &str,
    past: i64,
    bound: Duration,
) -> Finding {
    let deadline = tokio::time::Instant::now() + bound;
    let mut last = Err(super::Unseen::Failed("not asked yet".into()));
    while tokio::time::Instant::now() < deadline {
        last = host_status(c, relay, host).await;
        if let Ok(s) = &last {
            if s.status == "active" && s.cursor.is_some_and(|c| c > past) {
                return Finding::pass(format!(
                    "{relay} follows {host} again: active, last event #{} (past #{past})",
                    s.cursor.unwrap_or_default()
                ));
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let now = match last {
        Ok(s) => format!(
            "{}, last event {}",
            s.status,
            s.cursor
                .map(|c| format!("#{c}"))
                .unwrap_or_else(|| "unknown".into())
        ),
        Err(e) => e.to_string(),
    };
    Finding::fail(format!(
        "{relay} did not follow {host} again within {} s (now: {now})",
        bound.as_secs()
    ))
    .why("a relay may take longer to dial again; a busy one backs off up to 30 s between dials")
    .fix("run pds-wizard relay repair again in a few minutes; pds-wizard doctor --only relay-sync shows where it stands")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_counter_moves_whether_or_not_the_sequencer_has_its_row() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("sequencer.sqlite");
        let conn = rusqlite::Connection::open(&db).unwrap();
        // The PDS's table: AUTOINCREMENT, so SQLite keeps its counter in sqlite_sequence.
        conn.execute_batch(
            "CREATE TABLE repo_seq (seq INTEGER PRIMARY KEY AUTOINCREMENT, did TEXT)",
        )
        .unwrap();
        drop(conn);
        // A fresh sequencer: no row to update (the README's UPDATE changes nothing).
        assert_eq!(move_counter(&db, 2481311).unwrap(), None);
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute("INSERT INTO repo_seq (did) VALUES ('did:plc:x')", [])
            .unwrap();
        let seq: i64 = conn
            .query_row("SELECT max(seq) FROM repo_seq", [], |r| r.get(0))
            .unwrap();
        assert_eq!(seq, 2481312, "the next event is numbered past the counter");
        drop(conn);
        // With a row: moved, never back.
        assert_eq!(move_counter(&db, 3000000).unwrap(), Some(2481312));
        assert_eq!(move_counter(&db, 10).unwrap(), Some(3000000));
        let conn = rusqlite::Connection::open(&db).unwrap();
        let c: i64 = conn
            .query_row(
                "SELECT seq FROM sqlite_sequence WHERE name = 'repo_seq'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(c, 3000000);
        // The backup is a readable copy beside it, never over an existing name.
        let copy = backup(&db).unwrap();
        assert_eq!(copy.parent(), db.parent());
        let n: i64 = rusqlite::Connection::open(&copy)
            .unwrap()
            .query_row("SELECT count(*) FROM repo_seq", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1);
    }

    #[test]
    fn a_sequencer_another_user_could_have_planted_is_not_touched() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("elsewhere.sqlite");
        rusqlite::Connection::open(&real)
            .unwrap()
            .execute_batch("CREATE TABLE repo_seq (seq INTEGER PRIMARY KEY AUTOINCREMENT)")
            .unwrap();
        // A link where the sequencer should be: refused, the file it names untouched.
        let link = dir.path().join("sequencer.sqlite");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let before = std::fs::read(&real).unwrap();
        assert!(move_counter(&link, 5000).is_err());
        assert!(backup(&link).is_err());
        assert_eq!(std::fs::read(&real).unwrap(), before);
        // A directory anyone can change (no sticky bit): its journal could be planted.
        let open = dir.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        let db = open.join("sequencer.sqlite");
        std::fs::copy(&real, &db).unwrap();
        let e = move_counter(&db, 5000).unwrap_err();
        assert!(e.contains("anyone can change"), "{e}");
        assert!(backup(&db).is_err());
    }
}

//! Saving pds.env: crash safety, conflicts, permissions, ownership, backups, init.

use pds_wizard::envfile::{self, catalogue, Document, EnvError};
use pds_wizard::fsutil::list_backups;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_pds-wizard");

fn write_mode(p: &Path, text: &str, mode: u32) {
    std::fs::write(p, text).unwrap();
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A large file, so that a save takes long enough to be interrupted in the middle.
fn big_env(hostname: &str) -> String {
    let mut s = String::with_capacity(8 << 20);
    for i in 0..120_000 {
        s.push_str(&format!(
            "# padding comment line {i:06} so the write takes a while\n"
        ));
    }
    s.push_str(&format!("PDS_HOSTNAME={hostname}\n"));
    s
}

/// `pds-wizard env set PDS_HOSTNAME=…` on `env`, output discarded.
fn set_hostname(env: &Path, host: &str) -> Command {
    let mut c = Command::new(BIN);
    c.arg("--env-file")
        .arg(env)
        .args(["env", "set", &format!("PDS_HOSTNAME={host}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

#[test]
fn killed_mid_save_leaves_old_or_new_never_partial() {
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join("pds.env");
    let a = big_env("a.example.com");
    let b = big_env("b.example.com");
    write_mode(&env, &a, 0o600);

    // How long an uninterrupted save takes here (the slowest of three: a busy machine makes
    // saves vary), to spread the kills across it.
    let mut full = Duration::ZERO;
    for host in ["b.example.com", "a.example.com", "b.example.com"] {
        let t = Instant::now();
        let st = set_hostname(&env, host).status().unwrap();
        assert!(st.success());
        full = full.max(t.elapsed());
    }
    assert_eq!(std::fs::read_to_string(&env).unwrap(), b);

    let (mut saw_old, mut saw_new) = (0, 0);
    let trials = 60;
    for trial in 0..trials {
        let current = std::fs::read_to_string(&env).unwrap();
        let target = if current == a {
            "b.example.com"
        } else {
            "a.example.com"
        };
        let mut child = set_hostname(&env, target).spawn().unwrap();
        // Kill somewhere between start and well past the usual end.
        let delay = full.mul_f64((trial as f64 + 0.5) / trials as f64 * 1.6);
        std::thread::sleep(delay);
        let _ = child.kill();
        let _ = child.wait();
        let now = std::fs::read_to_string(&env).expect("pds.env must always exist");
        if now == current {
            saw_old += 1;
        } else {
            assert!(
                now == a || now == b,
                "trial {trial}: partial or foreign content ({} bytes)",
                now.len()
            );
            saw_new += 1;
        }
        assert_eq!(std::fs::metadata(&env).unwrap().mode() & 0o777, 0o600);
    }
    eprintln!("{trials} kills over a {full:?} save: {saw_old} left the old file, {saw_new} the new one, none partial");
    // Both outcomes should occur, or the kills never landed mid-save.
    assert!(saw_old > 0 && saw_new > 0, "old {saw_old}, new {saw_new}");

    // A killed save's temp file holds secrets; the next save removes it.
    let st = set_hostname(&env, "c.example.com").status().unwrap();
    assert!(st.success());
    let temps: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(temps.is_empty(), "stale temp files: {temps:?}");
    assert!(list_backups(dir.path(), "pds.env").len() <= 10);
}

#[test]
fn save_refuses_when_the_file_changed_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join("pds.env");
    write_mode(&env, "PDS_HOSTNAME=a.example.com\n", 0o600);
    let mut doc = Document::load(&env).unwrap();
    doc.set("PDS_HOSTNAME", "mine.example.com").unwrap();
    // Someone else edits the file meanwhile.
    std::fs::write(&env, "PDS_HOSTNAME=theirs.example.com\nPDS_PORT=3000\n").unwrap();
    let err = doc.save().unwrap_err();
    assert!(matches!(err, EnvError::Conflict { .. }), "{err}");
    assert!(err.to_string().contains("changed on disk"));
    // Their edit is intact, no backup was made, and our change is still in memory.
    assert_eq!(
        std::fs::read_to_string(&env).unwrap(),
        "PDS_HOSTNAME=theirs.example.com\nPDS_PORT=3000\n"
    );
    assert!(list_backups(dir.path(), "pds.env").is_empty());
    assert_eq!(doc.get("PDS_HOSTNAME").as_deref(), Some("mine.example.com"));

    // A deleted file is a conflict too, not a silent re-create.
    std::fs::remove_file(&env).unwrap();
    assert!(matches!(doc.save().unwrap_err(), EnvError::Conflict { .. }));
}

#[test]
fn mode_is_kept_and_backups_are_pruned_to_ten() {
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join("pds.env");
    write_mode(&env, "PDS_HOSTNAME=h0.example.com\n", 0o600);
    for i in 1..=13 {
        let mut doc = Document::load(&env).unwrap();
        doc.set("PDS_HOSTNAME", &format!("h{i}.example.com"))
            .unwrap();
        let report = doc.save().unwrap();
        let backup = report.backup.expect("a backup of the previous content");
        assert_eq!(
            std::fs::read_to_string(&backup).unwrap(),
            format!("PDS_HOSTNAME=h{}.example.com\n", i - 1)
        );
        assert_eq!(std::fs::metadata(&backup).unwrap().mode() & 0o777, 0o600);
        assert_eq!(std::fs::metadata(&env).unwrap().mode() & 0o777, 0o600);
    }
    let backups = list_backups(dir.path(), "pds.env");
    assert_eq!(backups.len(), 10);
    // The newest ten remain: h3..h12.
    assert_eq!(
        std::fs::read_to_string(&backups[0]).unwrap(),
        "PDS_HOSTNAME=h3.example.com\n"
    );
    assert_eq!(
        std::fs::read_to_string(backups.last().unwrap()).unwrap(),
        "PDS_HOSTNAME=h12.example.com\n"
    );

    // Another mode is kept as it is, not forced.
    std::fs::set_permissions(&env, std::fs::Permissions::from_mode(0o640)).unwrap();
    let mut doc = Document::load(&env).unwrap();
    doc.set("PDS_HOSTNAME", "x.example.com").unwrap();
    doc.save().unwrap();
    assert_eq!(std::fs::metadata(&env).unwrap().mode() & 0o777, 0o640);
}

#[test]
fn owner_is_kept_when_root_saves_someone_elses_file() {
    if unsafe_geteuid() != 0 {
        eprintln!("SKIPPED: needs root to chown (CI runs as root)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join("pds.env");
    write_mode(&env, "PDS_HOSTNAME=a.example.com\n", 0o600);
    std::os::unix::fs::chown(&env, Some(4321), Some(4322)).unwrap();
    let mut doc = Document::load(&env).unwrap();
    doc.set("PDS_HOSTNAME", "b.example.com").unwrap();
    let report = doc.save().unwrap();
    let m = std::fs::metadata(&env).unwrap();
    assert_eq!((m.uid(), m.gid()), (4321, 4322));
    let b = std::fs::metadata(report.backup.unwrap()).unwrap();
    assert_eq!((b.uid(), b.gid()), (4321, 4322));
}

fn unsafe_geteuid() -> u32 {
    // The owner of a file we just created is our effective uid.
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::metadata(f.path()).unwrap().uid()
}

#[test]
fn init_writes_the_installer_file_with_fresh_valid_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join("sub/pds.env");
    let doc = envfile::init_file(&env, "pds.example.com", "admin@example.com", "/pds").unwrap();
    assert_eq!(std::fs::metadata(&env).unwrap().mode() & 0o777, 0o600);
    assert_eq!(
        std::fs::metadata(env.parent().unwrap()).unwrap().mode() & 0o777,
        0o700
    );

    // The installer's keys, in the installer's order, with its defaults.
    let keys: Vec<String> = doc.entries().into_iter().map(|(k, _, _)| k).collect();
    let installer_order = [
        "PDS_HOSTNAME",
        "PDS_JWT_SECRET",
        "PDS_ADMIN_PASSWORD",
        "PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX",
        "PDS_DATA_DIRECTORY",
        "PDS_BLOBSTORE_DISK_LOCATION",
        "PDS_BLOB_UPLOAD_LIMIT",
        "PDS_DID_PLC_URL",
        "PDS_BSKY_APP_VIEW_URL",
        "PDS_BSKY_APP_VIEW_DID",
        "PDS_REPORT_SERVICE_URL",
        "PDS_REPORT_SERVICE_DID",
        "PDS_CRAWLERS",
        "LOG_ENABLED",
        "PDS_RATE_LIMITS_ENABLED",
        "PDS_INVITE_REQUIRED",
    ];
    assert_eq!(&keys[..installer_order.len()], &installer_order);
    assert_eq!(keys[installer_order.len()..], ["PDS_CONTACT_EMAIL_ADDRESS"]);
    for info in catalogue::KEYS {
        if let Some(d) = info.installer_default {
            if !matches!(
                info.name,
                "PDS_DATA_DIRECTORY" | "PDS_BLOBSTORE_DISK_LOCATION"
            ) {
                assert_eq!(doc.get(info.name).as_deref(), Some(d), "{}", info.name);
            }
        }
    }
    assert_eq!(
        doc.get("PDS_BLOB_UPLOAD_LIMIT").as_deref(),
        Some("314572800")
    );
    assert_eq!(
        doc.get("PDS_BLOBSTORE_DISK_LOCATION").as_deref(),
        Some("/pds/blocks")
    );
    assert_eq!(doc.get("PDS_HOSTNAME").as_deref(), Some("pds.example.com"));

    // Secrets: 32 hex digits; the key a valid secp256k1 scalar (parsed back with k256).
    let jwt = doc.get("PDS_JWT_SECRET").unwrap();
    let admin = doc.get("PDS_ADMIN_PASSWORD").unwrap();
    assert!(jwt.len() == 32 && jwt.chars().all(|c| c.is_ascii_hexdigit()));
    assert!(admin.len() == 32 && admin != jwt);
    let key = doc
        .get("PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX")
        .unwrap();
    let bytes = hex::decode(&key).unwrap();
    assert_eq!(bytes.len(), 32);
    k256::SecretKey::from_slice(&bytes).expect("a valid secp256k1 private key");
    // The file passes its own check except for the missing email setup.
    let findings = envfile::check(&doc, Some(0o600));
    assert!(
        !findings
            .iter()
            .any(|f| f.level == pds_wizard::finding::Level::Fail),
        "{findings:#?}"
    );

    // Secrets differ run to run.
    let other = envfile::init_document("pds.example.com", "admin@example.com", "/pds").unwrap();
    for k in [
        "PDS_JWT_SECRET",
        "PDS_ADMIN_PASSWORD",
        "PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX",
    ] {
        assert_ne!(doc.get(k), other.get(k), "{k} repeated");
    }

    // Never overwrites.
    let before = std::fs::read(&env).unwrap();
    let err =
        envfile::init_file(&env, "other.example.com", "admin@example.com", "/pds").unwrap_err();
    assert!(matches!(err, EnvError::Exists { .. }));
    assert_eq!(std::fs::read(&env).unwrap(), before);
}

#[test]
fn init_refuses_bad_input() {
    assert!(envfile::init_document("1.2.3.4", "a@example.com", "/pds").is_err());
    assert!(envfile::init_document("pds.example.com", "not-an-email", "/pds").is_err());
    assert!(envfile::init_document("pds.example.com", "a@example.com", "relative").is_err());
}

/// Two saves that meet: N `env set` processes on one file, each a different key, started
/// together, 100 rounds. Every update is there afterwards, or its process said why not;
/// none is lost silently, and backups never exceed ten.
#[test]
fn concurrent_saves_lose_no_update() {
    const N: usize = 4;
    let d = tempfile::tempdir().unwrap();
    let env = d.path().join("pds.env");
    write_mode(&env, "PDS_HOSTNAME=pds.example.com\n", 0o600);
    let (mut written, mut refused) = (0, 0);
    for round in 0..100 {
        let children: Vec<_> = (0..N)
            .map(|k| {
                Command::new(BIN)
                    .arg("--env-file")
                    .arg(&env)
                    .args(["env", "set", &format!("CONCURRENT_{k}=round{round}")])
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let outcomes: Vec<_> = children
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .collect();
        let doc = Document::load(&env).unwrap();
        for (k, o) in outcomes.iter().enumerate() {
            let key = format!("CONCURRENT_{k}");
            if o.status.success() {
                written += 1;
                assert_eq!(
                    doc.get(&key).as_deref(),
                    Some(format!("round{round}").as_str()),
                    "round {round}: {key} said Saved but is lost"
                );
            } else {
                refused += 1;
                let why = String::from_utf8_lossy(&o.stderr);
                assert!(why.contains("nothing was written"), "{why}");
            }
        }
    }
    assert!(list_backups(d.path(), "pds.env").len() <= 10);
    // With the lock, saves wait for each other: none needs refusing.
    assert_eq!((written, refused), (N * 100, 0));
}

/// A symlinked pds.env (config management, a git-tracked /etc) is written through the
/// link: the link stays, its target changes, the backup lands beside the target.
#[test]
fn a_symlinked_file_is_written_through_its_link() {
    let d = tempfile::tempdir().unwrap();
    let real_dir = d.path().join("etc-pds");
    std::fs::create_dir(&real_dir).unwrap();
    let target = real_dir.join("pds.env");
    write_mode(&target, "PDS_HOSTNAME=pds.example.com\n", 0o600);
    let link = d.path().join("pds.env");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let o = set_hostname(&link, "new.example.com")
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(std::fs::read_to_string(&target)
        .unwrap()
        .contains("new.example.com"));
    assert_eq!(list_backups(&real_dir, "pds.env").len(), 1);
    assert!(list_backups(d.path(), "pds.env").is_empty());
    assert_eq!(std::fs::metadata(&target).unwrap().mode() & 0o777, 0o600);
}

/// A hard-linked or read-only pds.env is refused, with the reason, and left as it was.
#[test]
fn hard_links_and_read_only_files_are_refused_not_broken() {
    let d = tempfile::tempdir().unwrap();
    let env = d.path().join("pds.env");
    write_mode(&env, "PDS_HOSTNAME=pds.example.com\n", 0o600);
    let other = d.path().join("pds.env.copy");
    std::fs::hard_link(&env, &other).unwrap();
    // `env set` refused with exit 2: what it said.
    let refusal = || {
        let o = set_hostname(&env, "new.example.com")
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let why = String::from_utf8_lossy(&o.stderr).to_string();
        assert_eq!(o.status.code(), Some(2), "{why}");
        why
    };
    let why = refusal();
    assert!(
        why.contains("2 hard links") && why.contains("nothing was written"),
        "{why}"
    );
    assert_eq!(std::fs::metadata(&env).unwrap().nlink(), 2);
    assert!(std::fs::read_to_string(&other)
        .unwrap()
        .contains("pds.example.com"));
    std::fs::remove_file(&other).unwrap();

    std::fs::set_permissions(&env, std::fs::Permissions::from_mode(0o400)).unwrap();
    let why = refusal();
    assert!(why.contains("read-only (mode 0400)"), "{why}");
    assert!(std::fs::read_to_string(&env)
        .unwrap()
        .contains("pds.example.com"));
}

/// Two `env init` that meet (two Ansible runs, a double Enter): one writes, the other is
/// refused, and the file is the winner's, whole. Before init created with O_EXCL both
/// succeeded and the second replaced the first's freshly generated keys.
#[test]
fn two_inits_that_meet_never_both_win() {
    let dir = tempfile::tempdir().unwrap();
    for round in 0..50 {
        let env = dir.path().join(format!("pds-{round}.env"));
        let spawn = |host: &str| {
            Command::new(BIN)
                .arg("--env-file")
                .arg(&env)
                .args([
                    "env",
                    "init",
                    "--hostname",
                    host,
                    "--admin-email",
                    "a@example.com",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (a, b) = (spawn("a.example.com"), spawn("b.example.com"));
        let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
        let won: Vec<&str> = [("a.example.com", &a), ("b.example.com", &b)]
            .iter()
            .filter(|(_, o)| o.status.success())
            .map(|(h, _)| *h)
            .collect();
        assert_eq!(
            won.len(),
            1,
            "round {round}: {won:?} succeeded; {} / {}",
            String::from_utf8_lossy(&a.stderr),
            String::from_utf8_lossy(&b.stderr)
        );
        let doc = Document::load(&env).unwrap();
        assert_eq!(
            doc.get("PDS_HOSTNAME").as_deref(),
            Some(won[0]),
            "round {round}"
        );
    }
}

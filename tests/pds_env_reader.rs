//! The catalogue against the real PDS: every variable the installed `@atproto/pds` reads
//! (its `dist/config/env.js`) is one the wizard knows, so it never calls a key the PDS reads
//! "not a key the PDS reads". scripts/test installs the package.

use pds_wizard::envfile::catalogue;
use std::path::PathBuf;

/// The quoted `PDS_*` names in an env reader's source: every `envStr('PDS_X')`,
/// `envInt('PDS_X')`, `envList('PDS_X')`… call.
fn names_read(source: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for quote in ['\'', '"'] {
        let open = format!("{quote}PDS_");
        let mut rest = source;
        while let Some(i) = rest.find(&open) {
            let tail = &rest[i + 1..];
            let name: String = tail
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            if tail[name.len()..].starts_with(quote) && !out.contains(&name) {
                out.push(name);
            }
            rest = &tail[1..];
        }
    }
    out.sort();
    out
}

#[test]
fn names_are_found_in_both_quotings() {
    let src = "a: (0, common_1.envStr)('PDS_HOSTNAME'), b: envInt(\"PDS_PORT\"), c: 'PDS_x'";
    assert_eq!(names_read(src), ["PDS_HOSTNAME", "PDS_PORT"]);
}

/// The packages to hold the catalogue against, oldest first: 0.4.217 and 0.5.x, both
/// installed by scripts/test whichever the lab runs.
fn packages() -> Vec<PathBuf> {
    [
        "PDS_WIZARD_TEST_PDS04_MODULES",
        "PDS_WIZARD_TEST_PDS05_MODULES",
    ]
    .iter()
    .map(|var| match std::env::var_os(var) {
        Some(m) => PathBuf::from(m).join("@atproto/pds"),
        None => panic!("{var} is unset: run scripts/test, which installs both PDS versions"),
    })
    .collect()
}

#[test]
fn every_key_each_pds_reads_is_known() {
    let mut seen = Vec::new();
    for pkg in packages() {
        let version: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(pkg.join("package.json")).unwrap())
                .unwrap();
        let source = std::fs::read_to_string(pkg.join("dist/config/env.js")).unwrap();
        let read = names_read(&source);
        // A reader that moved or changed shape would make this pass on nothing.
        assert!(read.len() > 80, "{} names in env.js: {read:?}", read.len());
        let unknown: Vec<&String> = read.iter().filter(|k| !catalogue::pds_reads(k)).collect();
        assert!(
            unknown.is_empty(),
            "@atproto/pds {} reads keys the catalogue does not know: {unknown:?}",
            version["version"]
        );
        seen.push((version["version"].as_str().unwrap().to_string(), read));
    }
    // Keys the newer version no longer reads are the ones the catalogue calls removed.
    let (old, new) = (&seen[0].1, &seen[1].1);
    for k in old.iter().filter(|k| !new.contains(k)) {
        assert!(
            matches!(catalogue::status(k), catalogue::KeyStatus::Removed { .. }),
            "{k}: read by {} but not {}, and not called removed",
            seen[0].0,
            seen[1].0
        );
    }
    for k in new {
        assert!(
            !matches!(catalogue::status(k), catalogue::KeyStatus::Removed { .. }),
            "{k} is read by {}",
            seen[1].0
        );
    }
}

/// What the real PDS does with one environment: starts (and takes a sign-up), or stops
/// with its error.
fn real_pds(env: serde_json::Value) -> Result<(), String> {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let mut env = env;
    env["PDS_ADMIN_PASSWORD"] = "admin-password-for-tests".into();
    let mut cmd = pds_wizard::demo::launch::pds(
        dir.path(),
        dir.path(),
        &env,
        &["alice.test".to_string()],
        None,
    )
    .expect("scripts/test installs the PDS");
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    drop(child.stdin.take()); // the lab script ends when stdin closes
    let out = child.wait_with_output().unwrap();
    if first.contains("\"pds\"") {
        Ok(())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        Err(err.lines().take(6).collect::<Vec<_>>().join("\n"))
    }
}

/// The validators say "the PDS refuses to start" (or "sign-up fails") exactly when the
/// real PDS does: each value is run through the lab's PDS and through `env check`.
#[test]
fn the_real_pds_refuses_what_the_catalogue_fails() {
    use pds_wizard::envfile::{check, Document};
    use pds_wizard::finding::Level;
    let cases: &[(&str, &str)] = &[
        ("PDS_PRIMARY_COLOR", "blue"),
        ("PDS_PRIMARY_COLOR", "#0af8"),
        ("PDS_PRIMARY_COLOR", "rgb(0, 133, 255)"),
        ("PDS_ERROR_COLOR", "#d00"),
        ("PDS_BACKGROUND_LIGHT_URL", "example.com/bg.png"),
        ("PDS_BACKGROUND_DARK_URL", "https://example.com/bg.png"),
        ("PDS_HOME_URL", "example.com"),
        ("PDS_TERMS_OF_SERVICE_URL", "https://example.com/tos"),
        ("PDS_RECOVERY_DID_KEY", "did:key:nope"),
        (
            "PDS_RECOVERY_DID_KEY",
            "did:key:zQ3shZc2QzApp2oymGvQbzP8eKheVshBHbU4ZYjeXqwSKEn6N",
        ),
        // The lab sets a disk location, as the installer does.
        ("PDS_BLOBSTORE_S3_BUCKET", "uploads"),
    ];
    let lab_version = std::env::var("PDS_LAB_VERSION").unwrap_or_else(|_| "0.5".into());
    let handles: Vec<_> = cases
        .iter()
        .map(|&(k, v)| std::thread::spawn(move || real_pds(serde_json::json!({ k: v }))))
        .collect();
    for ((key, value), h) in cases.iter().zip(handles) {
        let real = h.join().unwrap();
        let doc = Document::parse(&format!(
            "PDS_BLOBSTORE_DISK_LOCATION=/pds/blocks\n{key}='{value}'\n"
        ));
        let ours: Vec<_> = check(&doc, None)
            .into_iter()
            .filter(|f| f.level == Level::Fail && f.subject.as_deref() == Some(key))
            .collect();
        // 0.4 has no background keys and reads colours differently: only where the
        // version reads the key as 0.5 does.
        if lab_version == "0.4"
            && !key.starts_with("PDS_BLOBSTORE")
            && key != &"PDS_RECOVERY_DID_KEY"
        {
            continue;
        }
        assert_eq!(
            real.is_err(),
            !ours.is_empty(),
            "{key}={value}: the PDS {}, env check says {ours:#?}",
            match &real {
                Ok(()) => "starts and takes a sign-up".to_string(),
                Err(e) => format!("fails: {e}"),
            }
        );
    }
}

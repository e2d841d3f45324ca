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

//! Every line of the atproto interop DID syntax vectors (tests/interop, CC0) classified
//! correctly. The handle vectors are used by the identity module's tests.

use pds_wizard::envfile::catalogue::check_did;

fn vectors(name: &str) -> Vec<String> {
    let path = format!("{}/tests/interop/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

#[test]
fn valid_dids_are_accepted() {
    let v = vectors("did_syntax_valid.txt");
    assert!(v.len() > 15);
    for did in v {
        assert!(check_did(&did).is_ok(), "{did}: {:?}", check_did(&did));
    }
}

#[test]
fn invalid_dids_are_rejected() {
    let v = vectors("did_syntax_invalid.txt");
    assert!(v.len() > 15);
    for did in v {
        assert!(check_did(&did).is_err(), "accepted {did}");
    }
}

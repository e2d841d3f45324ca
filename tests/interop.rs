//! Every line of the atproto interop syntax vectors (tests/interop, CC0) classified
//! correctly: handles and DIDs.

use pds_wizard::identity::{Did, Handle};

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
        assert!(Did::parse(&did).is_ok(), "{did}: {:?}", Did::parse(&did));
    }
}

#[test]
fn invalid_dids_are_rejected() {
    let v = vectors("did_syntax_invalid.txt");
    assert!(v.len() > 15);
    for did in v {
        assert!(Did::parse(&did).is_err(), "accepted {did}");
    }
}

#[test]
fn valid_handles_are_accepted() {
    let v = vectors("handle_syntax_valid.txt");
    assert!(v.len() > 60);
    for h in v {
        assert!(Handle::parse(&h).is_ok(), "{h:?}: {:?}", Handle::parse(&h));
    }
}

#[test]
fn invalid_handles_are_rejected_with_a_reason() {
    let v = vectors("handle_syntax_invalid.txt");
    assert!(v.len() > 40);
    for h in v {
        let e = Handle::parse(&h).expect_err(&format!("accepted {h:?}"));
        assert!(!e.to_string().is_empty());
    }
}

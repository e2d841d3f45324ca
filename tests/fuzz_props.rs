//! Property tests over arbitrary input for every parser that meets operator-typed text:
//! handles, DIDs, SMTP URLs, pds.env. Nothing panics, and whatever is accepted round-trips.
//! `scripts/fuzz MINUTES` runs these (and the round-trip properties of envfile_props and
//! email_url) with many more cases, fresh seeds each round.

use pds_wizard::email::{compose, parse, url_findings};
use pds_wizard::envfile::Document;
use pds_wizard::identity::{Did, Handle};
use proptest::prelude::*;

/// Cases per property: PDS_WIZARD_FUZZ_CASES, else a number that keeps `cargo test` quick.
fn cases() -> u32 {
    std::env::var("PDS_WIZARD_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000)
}

/// Mostly the characters that matter to these syntaxes, plus anything at all.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9.:%@/?#&=_+~ -]{0,40}",
        "(did:|smtp://|smtps://|[a-z0-9-]{1,12}\\.)[a-zA-Z0-9.:%@/?#&=_+-]{0,40}",
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn handles(s in text()) {
        if let Ok(h) = Handle::parse(&s) {
            prop_assert_eq!(h.as_str(), s.to_ascii_lowercase());
            prop_assert!(h.as_str().len() <= 253 && h.as_str().contains('.'));
            prop_assert!(h.as_str().split('.').all(|l| !l.is_empty() && l.len() <= 63 && !l.starts_with('-') && !l.ends_with('-')));
            prop_assert_eq!(Handle::parse(h.as_str()), Ok(h.clone()));
        }
    }

    #[test]
    fn dids(s in text()) {
        if let Ok(d) = Did::parse(&s) {
            prop_assert_eq!(d.as_str(), s.as_str());
            prop_assert!(d.as_str().starts_with("did:"));
            prop_assert_eq!(Did::parse(d.as_str()), Ok(d.clone()));
        }
    }

    #[test]
    fn smtp_urls(s in text()) {
        // Findings never panic, whatever the input; an accepted URL composes back to itself.
        let _ = url_findings(&s);
        if let Ok(settings) = parse(&s) {
            if let Ok(url) = compose(&settings) {
                prop_assert_eq!(parse(&url), Ok(settings));
            }
        }
    }

    #[test]
    fn env_files(s in "(([A-Z_]{1,8}=|export |#| )[^\n]{0,30}\r?\n?){0,8}|.{0,200}") {
        let d = Document::parse(&s);
        prop_assert_eq!(d.render(), s);
        for (k, _, _) in d.entries() {
            let _ = d.get(&k);
        }
    }
}

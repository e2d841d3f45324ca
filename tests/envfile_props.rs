//! Property tests: any env file renders back byte for byte; `set` then `get` returns the
//! value; `set` leaves every other line alone; written lines read alike in all three readers.

use pds_wizard::envfile::{encode_value, readers, Document};
use proptest::prelude::*;

const KEYS: &[&str] = &[
    "PDS_HOSTNAME",
    "PDS_PORT",
    "A",
    "UNKNOWN_KEY",
    "LOG_ENABLED",
];

fn value_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec![
            "a", "Z", "0", " ", "#", "'", "\"", "$", "&", ";", "\\", "=", ":", "/", "~", "é", "\t",
            "%", "@",
        ]),
        0..12,
    )
    .prop_map(|v| v.concat())
}

fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[ \t]{0,3}".prop_map(|s| s),
        value_text().prop_map(|v| format!("# {v}")),
        (prop::sample::select(KEYS), any::<bool>(), value_text())
            .prop_map(|(k, e, v)| { format!("{}{k}={v}", if e { "export " } else { "" }) }),
        (prop::sample::select(KEYS), value_text()).prop_map(|(k, v)| format!("{k}='{v}'")),
        (prop::sample::select(KEYS), value_text()).prop_map(|(k, v)| format!("{k}=\"{v}\"")),
        (prop::sample::select(KEYS), value_text(), value_text())
            .prop_map(|(k, v, c)| format!("{k}={v} # {c}")),
        // Arbitrary text, including garbage no reader accepts.
        "[^\n]{0,20}",
    ]
}

fn file() -> impl Strategy<Value = String> {
    (
        prop::collection::vec((line(), prop::sample::select(vec!["\n", "\r\n"])), 0..20),
        any::<bool>(),
    )
        .prop_map(|(lines, final_newline)| {
            let mut s: String = lines.iter().map(|(l, e)| format!("{l}{e}")).collect();
            if !final_newline && s.ends_with('\n') {
                s.pop();
                if s.ends_with('\r') {
                    s.pop();
                }
            }
            s
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        // scripts/fuzz raises this.
        std::env::var("PDS_WIZARD_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(2000)
    ))]

    #[test]
    fn render_of_parse_is_identity(text in file()) {
        let doc = Document::parse(&text);
        prop_assert_eq!(doc.render(), text);
        prop_assert!(!doc.is_modified());
    }

    #[test]
    fn set_then_get(text in file(), key in prop::sample::select(vec!["A", "UNKNOWN_KEY", "NEW_KEY"]), value in value_text()) {
        let mut doc = Document::parse(&text);
        let before = doc.render();
        match doc.set(key, &value) {
            Ok(()) => {
                prop_assert_eq!(doc.get(key), Some(value.clone()));
                // The line that decides the key reads the same in compose, bash and systemd
                // (unless nothing had to change).
                let after = doc.render();
                if after != before {
                    let decided = after.lines().rev().find(|l| l.trim_start().trim_start_matches("export ").starts_with(&format!("{key}="))).unwrap().to_string();
                    let decided = decided.trim_end_matches('\r');
                    for r in [readers::compose(decided), readers::bash(decided), readers::systemd(decided)] {
                        prop_assert_eq!(r.value(), Some(value.as_str()), "line {:?}", decided);
                    }
                }
                // Every other line is still there, in order, as the readers see it (a CRLF
                // ending's CR belongs to the text for them); at most one comment line was added.
                let others = |t: &str| -> Vec<String> {
                    Document::parse(t)
                        .lines()
                        .iter()
                        .filter(|l| l.key().as_deref() != Some(key))
                        .map(|l| format!("{}{}", l.text, if l.eol == pds_wizard::envfile::Eol::CrLf { "\r" } else { "" }))
                        .collect()
                };
                let (b, a) = (others(&before), others(&after));
                prop_assert!(a.len() == b.len() || a.len() == b.len() + 1, "{b:?} -> {a:?}");
                let mut it = a.iter();
                for l in &b {
                    prop_assert!(it.any(|x| x == l), "line {l:?} lost");
                }
            }
            Err(e) => {
                prop_assert_eq!(doc.render(), before, "a refused set changed the document");
                // Refused only for a value no quoting writes, or a file whose quotes leave
                // the line unsafe to touch (a value running on past its line).
                let unsafe_file = matches!(e, pds_wizard::envfile::EnvError::NotEditable { .. });
                prop_assert!(encode_value(key, &value).is_err() || unsafe_file, "{e}");
            }
        }
    }

    #[test]
    fn encoded_values_read_back_in_every_reader(value in "[^\n\r\u{0}]{0,30}") {
        if let Ok(enc) = encode_value("K", &value) {
            let line = format!("K={enc}");
            for r in [readers::compose(&line), readers::bash(&line), readers::systemd(&line)] {
                prop_assert_eq!(r.value(), Some(value.as_str()));
            }
        }
    }
}

#[test]
fn unset_then_set_round_trips_the_installer_file() {
    let doc =
        pds_wizard::envfile::init_document("pds.example.com", "a@example.com", "/pds").unwrap();
    let text = doc.render();
    let mut d = Document::parse(&text);
    let v = d.get("PDS_CRAWLERS").unwrap();
    d.unset("PDS_CRAWLERS").unwrap();
    d.set("PDS_CRAWLERS", &v).unwrap();
    assert_eq!(d.get("PDS_CRAWLERS").unwrap(), v);
    assert_eq!(d.render().lines().count(), text.lines().count());
}

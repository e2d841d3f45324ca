//! What bash really reads. pdsadmin does `source pds.env`; these tests run real bash.

use pds_wizard::envfile::{encode_value, readers, Document};
use std::process::Command;

/// Source `file` in a clean bash with no PATH (nothing a line might run can be found) and
/// print each named variable NUL-terminated, or `<unset>`.
fn bash_values(file: &std::path::Path, names: &[String], cwd: &std::path::Path) -> Vec<String> {
    let script = format!(
        "set -a; source {} >/dev/null 2>&1; for n in {}; do if [ -n \"${{!n+x}}\" ]; then printf '%s\\0' \"${{!n}}\"; else printf '<unset>\\0'; fi; done",
        file.display(),
        names.join(" ")
    );
    let out = Command::new("/usr/bin/env")
        .args([
            "-i",
            "PATH=/nonexistent",
            "HOME=/home/nobody",
            "/bin/bash",
            "--norc",
            "--noprofile",
            "-c",
            &script,
        ])
        .current_dir(cwd)
        .output()
        .expect("bash runs");
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .split('\0')
        .take(names.len())
        .map(str::to_string)
        .collect()
}

const TRICKY: &[&str] = &[
    "plain",
    // Single quotes keep a backslash literally in all three readers.
    "back\\slash",
    "C:\\path\\to",
    "with space",
    "a&b",
    "a;b",
    "$HOME",
    "${HOME}",
    "`id`",
    "$(id)",
    "a#b",
    " # leading hash",
    "#start",
    "it's",
    "say \"hi\"",
    "tab\there",
    "~/home",
    "a:~/b",
    "*",
    "{a,b}",
    "!bang",
    "smtps://user%40example.com:p%40ss@smtp.example.com:465",
    "smtp://smtp.example.com:587/?requireTLS=true&tls.rejectUnauthorized=false",
    "My PDS <noreply@example.com>",
    "trailing space ",
    " leading space",
    "",
    "a|b>c<d",
    "(paren)",
    "é unicode ✓",
];

#[test]
fn written_values_are_what_bash_reads() {
    let dir = tempfile::tempdir().unwrap();
    let mut doc = Document::parse("# test\n");
    let mut names = Vec::new();
    let mut expected = Vec::new();
    for (i, v) in TRICKY.iter().enumerate() {
        let key = format!("K{i}");
        doc.set(&key, v)
            .unwrap_or_else(|e| panic!("{v:?} should be writable: {e}"));
        names.push(key);
        expected.push(v.to_string());
    }
    let file = dir.path().join("pds.env");
    std::fs::write(&file, doc.render()).unwrap();
    let got = bash_values(&file, &names, dir.path());
    assert_eq!(got, expected, "file:\n{}", doc.render());
}

#[test]
fn unwritable_values_are_refused_with_a_reason() {
    for v in [
        "it's $x",
        "ends in a backslash\\",
        "two\nlines",
        "it's \"both\"",
    ] {
        let e = encode_value("K", v).unwrap_err().to_string();
        assert!(e.contains("K:"), "{e}");
    }
}

/// The bash model against real bash on lines it did not write: whenever the model claims a
/// value, bash must read exactly that value.
#[test]
fn bash_model_matches_real_bash() {
    let dir = tempfile::tempdir().unwrap();
    let alphabet: Vec<char> = "xy \t'\"$#&;|<>()\\~:=`{}*é".chars().collect();
    // A small deterministic generator: no dependency on test ordering or a seed file.
    let mut state: u64 = 0x9e3779b97f4a7c15;
    let mut next = |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    let mut claimed = 0;
    let mut checked = 0;
    for round in 0..600 {
        let len = next(8);
        let raw: String = (0..len).map(|_| alphabet[next(alphabet.len())]).collect();
        let prefix = if round % 5 == 0 { "export " } else { "" };
        let line = format!("{prefix}V={raw}");
        checked += 1;
        let readers::Reading::Value { value, .. } = readers::bash(&line) else {
            continue;
        };
        claimed += 1;
        let file = dir.path().join(format!("l{round}.env"));
        std::fs::write(&file, format!("{line}\n")).unwrap();
        let got = bash_values(&file, &["V".to_string()], dir.path());
        assert_eq!(got, vec![value.clone()], "line {line:?}");
    }
    // The test means something only if the model claims a fair share of lines.
    assert!(
        claimed > checked / 5,
        "model claimed only {claimed} of {checked}"
    );
}

#[test]
fn check_flags_lines_bash_reads_differently() {
    let doc = Document::parse("A=a b\nB=$HOME\nC=ok\nD=x&y\n");
    let findings = pds_wizard::envfile::check(&doc, None);
    for key in ["A", "B", "D"] {
        assert!(
            findings
                .iter()
                .any(|f| f.subject.as_deref() == Some(key) && f.what.contains("disagree")),
            "{key} not flagged: {findings:#?}"
        );
    }
    assert!(!findings
        .iter()
        .any(|f| f.subject.as_deref() == Some("C") && f.what.contains("disagree")));
}

//! No secret shows anywhere, least of all when its line is broken: a property test over
//! generated secrets and broken SMTP URLs, run through every output path — the masking
//! functions, `env check`, the email findings, the wizard's screens drawn on a
//! TestBackend, the draft file, the answers file, and the real binary's text and `--json`
//! output of every subcommand that reads pds.env.
//!
//! A leak is any run of 4 or more characters of a secret (or of its percent-encoded form)
//! in an output. Secrets are built so that every such run holds a character no output
//! would print by chance (Q X Z J K V W, é ß 漢 🙂): between two of them
//! stand at most two of the characters that break URLs and lines (@ : / ? # % & space).

mod common;

use pds_wizard::envfile::display::{masked_diff, masked_text, shown_value};
use pds_wizard::envfile::Document;
use pds_wizard::tui::app::{App, Focus, Step};
use pds_wizard::tui::frame;
use pds_wizard::tui::theme::Theme;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use proptest::prelude::*;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::path::Path;

const DISTINCT: &[char] = &['Q', 'X', 'Z', 'J', 'K', 'V', 'W', 'é', 'ß', '漢', '🙂'];
const BREAKING: &[char] = &['@', ':', '/', '?', '#', '%', '&', ' '];

fn secret_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        (
            prop::sample::select(DISTINCT),
            prop::collection::vec(prop::sample::select(BREAKING), 0..=2),
        ),
        4..10,
    )
    .prop_map(|units| {
        units
            .into_iter()
            .flat_map(|(d, b)| std::iter::once(d).chain(b))
            .collect()
    })
}

/// The ways an SMTP URL is broken in real pds.env files (and one clean one).
#[derive(Debug, Clone, Copy)]
enum UrlShape {
    /// The password pasted as it is: `/ ? # @ %` and spaces unencoded.
    Raw,
    /// No user name.
    EmptyUser,
    /// No `smtps://`.
    NoScheme,
    /// An address as the user name, unencoded: two `@` before the host.
    TwoAts,
    /// A bare `%` added.
    BarePercent,
    /// A blank and `#` after the password's first character (compose cuts the line at
    /// " #", bash at the blank; a `#` inside a word, as in `Raw`, cuts nothing).
    HashCut,
    /// Correctly encoded: only the password may be hidden.
    Encoded,
}

#[derive(Debug, Clone, Copy)]
enum LineShape {
    Bare,
    SingleQuoted,
    /// An opening quote with no closing one.
    Unbalanced,
    /// `export KEY=…` then the same key again.
    ExportDuplicate,
    /// The line ends in CR LF.
    Crlf,
}

fn url_for(shape: UrlShape, password: &str) -> String {
    let host = "smtp.example.com:465";
    match shape {
        UrlShape::Raw => format!("smtps://mailer:{password}@{host}"),
        UrlShape::EmptyUser => format!("smtps://:{password}@{host}"),
        UrlShape::NoScheme => format!("mailer:{password}@{host}"),
        UrlShape::TwoAts => format!("smtps://pds@example.com:{password}@{host}"),
        UrlShape::BarePercent => format!("smtps://mailer:{password}%@{host}"),
        UrlShape::HashCut => {
            let mut chars = password.chars();
            let first: String = chars.next().into_iter().collect();
            format!("smtps://mailer:{first} #{}@{host}", chars.as_str())
        }
        UrlShape::Encoded => format!(
            "smtps://mailer:{}@{host}",
            utf8_percent_encode(password, NON_ALPHANUMERIC)
        ),
    }
}

fn line_for(shape: LineShape, key: &str, value: &str) -> String {
    match shape {
        LineShape::Bare => format!("{key}={value}\n"),
        LineShape::SingleQuoted => format!("{key}='{value}'\n"),
        LineShape::Unbalanced => format!("{key}=\"{value}\n"),
        LineShape::ExportDuplicate => format!("export {key}={value}\n{key}={value}\n"),
        LineShape::Crlf => format!("{key}={value}\r\n"),
    }
}

/// Keys whose whole value is secret, each given a secret of its own.
const SECRET_KEYS: [&str; 7] = [
    "PDS_ADMIN_PASSWORD",
    "PDS_JWT_SECRET",
    "PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX",
    "PDS_BLOBSTORE_S3_SECRET_ACCESS_KEY",
    "PDS_HCAPTCHA_SECRET_KEY",
    "PDS_RATE_LIMIT_BYPASS_KEY",
    // Unknown to the PDS, secret by its name.
    "MY_BACKUP_TOKEN",
];

#[derive(Debug, Clone)]
struct Case {
    smtp_password: String,
    url_shape: UrlShape,
    url_line: LineShape,
    secrets: Vec<(String, LineShape)>,
}

fn case() -> impl Strategy<Value = Case> {
    let url_shape = prop_oneof![
        Just(UrlShape::Raw),
        Just(UrlShape::EmptyUser),
        Just(UrlShape::NoScheme),
        Just(UrlShape::TwoAts),
        Just(UrlShape::BarePercent),
        Just(UrlShape::HashCut),
        Just(UrlShape::Encoded),
    ];
    let line = || {
        prop_oneof![
            Just(LineShape::Bare),
            Just(LineShape::SingleQuoted),
            Just(LineShape::Unbalanced),
            Just(LineShape::ExportDuplicate),
            Just(LineShape::Crlf),
        ]
    };
    (
        secret_text(),
        url_shape,
        line(),
        prop::collection::vec((secret_text(), line()), SECRET_KEYS.len()),
    )
        .prop_map(|(smtp_password, url_shape, url_line, secrets)| Case {
            smtp_password,
            url_shape,
            url_line,
            secrets,
        })
}

impl Case {
    fn env_text(&self) -> String {
        let mut text = String::from(
            "# my pds\nPDS_HOSTNAME=pds.example.com\nPDS_DATA_DIRECTORY=/pds\nPDS_PORT=9\n",
        );
        text.push_str(&line_for(
            self.url_line,
            "PDS_EMAIL_SMTP_URL",
            &url_for(self.url_shape, &self.smtp_password),
        ));
        text.push_str("PDS_EMAIL_FROM_ADDRESS=noreply@example.com\n");
        for (key, (value, shape)) in SECRET_KEYS.iter().zip(&self.secrets) {
            text.push_str(&line_for(*shape, key, value));
            // Something after each, for an unbalanced quote to run into.
            text.push_str("PDS_INVITE_REQUIRED=true\n");
        }
        text
    }

    /// Every secret in the file, as typed and as percent-encoded.
    fn secret_forms(&self) -> Vec<String> {
        let mut all: Vec<&str> = vec![&self.smtp_password];
        all.extend(self.secrets.iter().map(|(s, _)| s.as_str()));
        all.iter()
            .flat_map(|s| {
                [
                    s.to_string(),
                    utf8_percent_encode(s, NON_ALPHANUMERIC).to_string(),
                ]
            })
            .collect()
    }
}

/// Fails when `output` holds 4 or more consecutive characters of a secret.
fn assert_no_leak(case: &Case, what: &str, output: &str) {
    for secret in case.secret_forms() {
        let chars: Vec<char> = secret.chars().collect();
        for w in chars.windows(4) {
            let piece: String = w.iter().collect();
            assert!(
                !output.contains(&piece),
                "{what} shows {piece:?} of the secret {secret:?}\nfile:\n{}\noutput:\n{output}",
                case.env_text()
            );
        }
    }
}

fn draw(app: &App, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| frame::draw(f, app, &Theme::new(true))).unwrap();
    t.backend().to_string()
}

/// Every library output path for one file.
fn library_outputs(case: &Case, dir: &Path) {
    let text = case.env_text();
    let env = dir.join("pds.env");
    std::fs::write(&env, &text).unwrap();
    let doc = Document::load(&env).unwrap();

    assert_no_leak(case, "the masked file", &masked_text(&text));
    let edited = text.replace("pds.example.com", "new.example.com");
    let diff: Vec<String> = masked_diff(&text, &edited)
        .into_iter()
        .map(|(_, _, l)| l)
        .collect();
    assert_no_leak(case, "the diff", &diff.join("\n"));
    for (k, _, _) in doc.entries() {
        if let Some(v) = shown_value(&doc, &k) {
            assert_no_leak(case, &format!("the value of {k}"), &v);
        }
    }
    let findings = pds_wizard::envfile::check(&doc, Some(0o644));
    assert_no_leak(
        case,
        "env check",
        &serde_json::to_string(&findings).unwrap(),
    );
    assert_no_leak(
        case,
        "the email findings",
        &serde_json::to_string(&pds_wizard::email::check(&doc)).unwrap(),
    );

    // The wizard: every step drawn, after an edit (so Review & save has a diff) and with
    // secrets typed (so the draft has some to leave out).
    let flags = pds_wizard::context::Context {
        env_file: env.clone(),
        ..Default::default()
    };
    let settings = pds_wizard::settings::Resolved::new(&flags, Some(&doc));
    let mut app = App::new(doc.clone(), settings, pds_wizard::tui::Mode::Normal);
    app.set_edit("PDS_HOSTNAME", "new.example.com".into());
    let typed = &case.secrets[0].0;
    app.set_edit("PDS_ADMIN_PASSWORD", typed.clone());
    app.set_edit(
        "PDS_EMAIL_SMTP_URL",
        url_for(case.url_shape, &case.smtp_password),
    );
    app.focus = Focus::Content;
    for step in [Step::Basics, Step::Email, Step::Review] {
        app.step = step;
        for (w, h) in [(80, 24), (120, 40)] {
            assert_no_leak(case, &format!("{step:?} at {w}x{h}"), &draw(&app, w, h));
        }
    }
    let draft = toml::to_string(&app.draft()).unwrap();
    assert_no_leak(case, "the draft", &draft);

    // The answers file refuses every secret, and says so without it.
    let answers_path = dir.join("pds-wizard.toml");
    for (key, value) in [
        (
            "PDS_EMAIL_SMTP_URL",
            url_for(case.url_shape, &case.smtp_password),
        ),
        ("PDS_HCAPTCHA_SECRET_KEY", case.secrets[4].0.clone()),
        ("MY_BACKUP_TOKEN", case.secrets[6].0.clone()),
    ] {
        let mut answers = pds_wizard::answers::Answers::default();
        answers.env.insert(key.into(), value);
        let err = pds_wizard::answers::save(&answers_path, &answers)
            .expect_err("a secret must be refused by the answers file");
        assert_no_leak(case, "the answers file's refusal", &err.to_string());
        assert!(!answers_path.exists());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn no_output_of_the_library_or_the_wizard_shows_a_secret(case in case()) {
        let dir = tempfile::tempdir().unwrap();
        library_outputs(&case, dir.path());
    }
}

/// The real binary, every subcommand that reads pds.env, text and `--json`. Each case runs
/// about 30 processes, so fewer cases; every network call goes to a closed loopback port.
fn binary_outputs(case: &Case, dir: &Path) {
    let env = dir.join("pds.env");
    std::fs::write(&env, case.env_text()).unwrap();
    let answers = dir.join("answers.toml");
    std::fs::write(&answers, "[env]\nPDS_INVITE_REQUIRED = \"false\"\n").unwrap();
    let answers = answers.to_str().unwrap();
    let net = [
        "--timeout",
        "1",
        "--nameserver",
        "127.0.0.1:9",
        "--pds-url",
        "http://127.0.0.1:9",
        "--plc-url",
        "http://127.0.0.1:9",
    ];
    let mut runs: Vec<Vec<&str>> = vec![
        vec!["env", "show"],
        vec!["env", "check"],
        vec!["env", "set", "PDS_HOSTNAME=new.example.com", "--dry-run"],
        vec!["env", "unset", "PDS_ADMIN_PASSWORD", "--dry-run", "--force"],
        vec!["env", "unset", "PDS_EMAIL_SMTP_URL", "--dry-run"],
        vec!["email", "show"],
        vec!["email", "test", "--to", "someone@example.com"],
        vec!["email", "codes", "--data-dir", "/nonexistent"],
        vec!["accounts"],
        vec!["handle", "check", "alice.example.com"],
        vec!["did-file", "check", "alice.example.com"],
        vec!["doctor"],
        vec!["proxy", "render", "nginx", "--no-validate"],
        vec!["apply", "--answers", answers, "--dry-run"],
    ];
    for key in SECRET_KEYS.iter().chain(&["PDS_EMAIL_SMTP_URL"]) {
        runs.push(vec!["env", "get", key]);
    }
    for args in runs {
        for json in [false, true] {
            let mut all: Vec<&str> = net.to_vec();
            if json {
                all.push("--json");
            }
            all.extend(&args);
            let o = common::run_cli(&env, &all, "");
            let shown = common::output_text(&o);
            assert!(!shown.trim().is_empty(), "{all:?} printed nothing");
            assert_no_leak(case, &format!("pds-wizard {}", all.join(" ")), &shown);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    #[test]
    fn no_output_of_the_command_line_shows_a_secret(case in case()) {
        let dir = tempfile::tempdir().unwrap();
        binary_outputs(&case, dir.path());
    }
}

/// The issue's own example, checked by name so a regression reads plainly.
#[test]
fn the_classic_broken_url_is_masked_but_still_says_where_it_goes() {
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join("pds.env");
    std::fs::write(
        &env,
        "PDS_HOSTNAME=pds.example.com\nPDS_EMAIL_SMTP_URL=smtps://pds@example.com:S3cr/tP@ss@smtp.example.com:465\nPDS_EMAIL_FROM_ADDRESS=noreply@example.com\n",
    )
    .unwrap();
    let o = common::run_cli(&env, &["env", "get", "PDS_EMAIL_SMTP_URL"], "");
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        "smtps://••••••••@smtp.example.com:465"
    );
    let o = common::run_cli(&env, &["env", "get", "PDS_EMAIL_SMTP_URL", "--reveal"], "");
    assert!(String::from_utf8_lossy(&o.stdout).contains("S3cr/tP@ss"));
    let o = common::run_cli(&env, &["email", "show"], "");
    let shown = common::output_text(&o);
    assert!(
        !shown.contains("S3cr") && !shown.contains("tP@ss"),
        "{shown}"
    );
    assert!(
        shown.contains("the '/' in the password splits the URL"),
        "{shown}"
    );
    assert!(shown.contains("connect to host example.com"), "{shown}");
}

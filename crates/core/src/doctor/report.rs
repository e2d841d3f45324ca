//! The doctor's findings as text: the command line's listing, and the shareable report
//! (`doctor --report FILE`, `w` in the Doctor step) — every finding, the versions, and
//! pds.env's lines with secrets masked, to paste into a support thread.

use super::{CheckResult, Health};
use crate::finding::Level;
use std::fmt::Write;
use std::path::Path;

/// Every result grouped by area, each finding with its why, fix and error chain: what
/// `pds-wizard doctor` prints (not yet scrubbed: the edge that shows it scrubs).
pub fn listing(results: &[CheckResult]) -> String {
    let mut out = String::new();
    let mut area = None;
    for r in results {
        if area != Some(r.area) {
            area = Some(r.area);
            let _ = writeln!(out, "\n{}", r.area.title());
        }
        let _ = writeln!(
            out,
            "  [{}] {} ({} ms){}",
            if r.not_checked.is_some() {
                "SKIP"
            } else {
                r.level.label()
            },
            r.title,
            r.elapsed_ms,
            r.step
                .filter(|_| r.level >= Level::Warn)
                .map(|s| format!(" — wizard step: {s}"))
                .unwrap_or_default()
        );
        for f in &r.findings {
            let _ = writeln!(out, "    {}", f.to_string().replace('\n', "\n    "));
        }
    }
    out
}

/// What the report says besides the findings.
pub struct About<'a> {
    pub env_file: &'a Path,
    /// pds.env's text as the checks read it (None: it could not be read).
    pub env_text: Option<&'a str>,
    /// Whether `env_text` holds answers not saved yet (the wizard's working copy).
    pub unsaved: bool,
    /// The local PDS's answer to /xrpc/_health, and where it was asked.
    pub health: &'a Health,
    pub pds_url: &'a str,
    pub elapsed_ms: u128,
}

/// The whole report, secrets masked: pds.env's values by the one masking rule
/// (`masked_text`), and everything then through `secret::scrub`.
pub fn report(results: &[CheckResult], about: &About) -> String {
    let all: Vec<&CheckResult> = results.iter().collect();
    let mut out = String::new();
    let _ = writeln!(out, "pds-wizard doctor report");
    let _ = writeln!(
        out,
        "made {} by pds-wizard {} (secrets masked)",
        crate::fsutil::utc_stamp(),
        env!("CARGO_PKG_VERSION")
    );
    let _ = writeln!(out, "\n== versions");
    let pds = match about.health {
        Health::Up(Some(v)) => match crate::version::Reported::parse(v) {
            Some(r) => format!("{r}, answering at {}", about.pds_url),
            None => format!("PDS version {v}, answering at {}", about.pds_url),
        },
        Health::Up(None) => format!(
            "a PDS answers at {} without saying its version",
            about.pds_url
        ),
        Health::Status(s) => format!("{} answered HTTP {s}", about.pds_url),
        Health::Down(e, _) => format!(
            "no PDS answers at {} ({})",
            about.pds_url,
            crate::http::last_cause(e)
        ),
    };
    let _ = writeln!(out, "pds: {pds}");
    let _ = writeln!(out, "wizard: pds-wizard {}", env!("CARGO_PKG_VERSION"));
    if let Some(os) = os_name() {
        let _ = writeln!(out, "system: {os}");
    }
    let _ = writeln!(out, "\n== summary");
    let _ = writeln!(
        out,
        "{} check{} in {:.1} s: {}",
        results.len(),
        if results.len() == 1 { "" } else { "s" },
        about.elapsed_ms as f64 / 1000.0,
        super::tally(&all)
    );
    if let Some(p) = super::problems(&all) {
        let _ = writeln!(out, "{p}");
    }
    let _ = write!(out, "\n== findings");
    out.push_str(&listing(results));
    let _ = writeln!(
        out,
        "\n== {}{}",
        about.env_file.display(),
        if about.unsaved {
            " (with answers not saved yet)"
        } else {
            ""
        }
    );
    match about.env_text {
        Some(text) => {
            // Its settings, masked; comments and blank lines say nothing to a helper.
            for line in crate::envfile::display::masked_text(text).lines() {
                let t = line.trim();
                if !t.is_empty() && !t.starts_with('#') {
                    let _ = writeln!(out, "{line}");
                }
            }
        }
        None => {
            let _ = writeln!(out, "(could not be read)");
        }
    }
    crate::secret::scrub(&out)
}

/// The system's name, from /etc/os-release, and the kernel's release.
fn os_name() -> Option<String> {
    let release = std::fs::read_to_string("/etc/os-release").ok();
    let pretty = release.as_deref().and_then(|r| {
        r.lines()
            .find_map(|l| l.strip_prefix("PRETTY_NAME="))
            .map(|v| v.trim_matches('"').to_string())
    });
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .ok()
        .map(|k| k.trim().to_string());
    match (pretty, kernel) {
        (Some(p), Some(k)) => Some(format!("{p}, Linux {k}")),
        (Some(p), None) => Some(p),
        (None, Some(k)) => Some(format!("Linux {k}")),
        (None, None) => None,
    }
}

/// The report for a run over `inputs` (its health answer is the one the checks had, or is
/// asked now); `unsaved`: `inputs` holds the wizard's answers, not the file.
pub async fn for_inputs(
    results: &[CheckResult],
    inputs: &super::Inputs,
    unsaved: bool,
    elapsed_ms: u128,
) -> String {
    let text = inputs.doc.as_ref().map(|d| d.render());
    let health = inputs.health().await;
    report(
        results,
        &About {
            env_file: &inputs.settings.flags.env_file,
            env_text: text.as_deref(),
            unsaved,
            health,
            pds_url: &inputs.settings.local_url,
            elapsed_ms,
        },
    )
}

/// Where the wizard writes the report: beside pds.env.
pub fn default_path(env_file: &Path) -> std::path::PathBuf {
    env_file.with_file_name("doctor-report.txt")
}

/// Write the report: a new file is 0600 (it names the server and its accounts), an
/// existing one is replaced atomically and keeps its mode. The real path written.
pub fn write(path: &Path, text: &str) -> Result<std::path::PathBuf, String> {
    crate::fsutil::safe_write(
        path,
        text.as_bytes(),
        crate::fsutil::WriteOptions::file(0o600, 0),
    )
    .map(|r| r.path)
    .map_err(|e| format!("cannot write the report: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::{CheckId, CheckResult};
    use crate::finding::Finding;

    fn failed(id: CheckId, f: Finding) -> CheckResult {
        let c = id.check();
        CheckResult {
            id,
            area: c.area,
            title: c.title,
            fix: Some(c.fix),
            step: Some(c.fix.step_title()),
            level: f.level,
            findings: vec![f],
            elapsed_ms: 7,
            not_checked: None,
        }
    }

    #[test]
    fn the_report_has_every_finding_the_versions_and_masked_settings() {
        let e = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused here");
        let results = vec![
            failed(
                CheckId::Health,
                Finding::fail("nothing answers at http://localhost:3000/xrpc/_health")
                    .fix("start it")
                    .detail("error sending request: client error (Connect): refused here"),
            ),
            failed(
                CheckId::Https,
                Finding::fail("https://pds.example.com/ fails")
                    .caused_by(&e)
                    .fix("open 443"),
            ),
        ];
        let env = "# a comment\nPDS_HOSTNAME=pds.example.com\nPDS_ADMIN_PASSWORD=hunter2-admin\n\
                   PDS_JWT_SECRET = \"unbalanced-jwt-secret\nPDS_EMAIL_SMTP_URL=smtps://u:smtp-pw-9@smtp.example.com\n";
        let text = report(
            &results,
            &About {
                env_file: Path::new("/pds/pds.env"),
                env_text: Some(env),
                unsaved: true,
                health: &Health::Up(Some("0.4.5035".into())),
                pds_url: "http://localhost:3000",
                elapsed_ms: 1234,
            },
        );
        for want in [
            "pds: PDS 0.5.35, image tag 0.4.5035, answering at http://localhost:3000",
            "2 checks in 1.2 s",
            "[FAIL] the PDS answers locally (7 ms)",
            "fix: start it",
            "detail: error sending request: client error (Connect): refused here",
            "https://pds.example.com/ fails: refused here",
            "== /pds/pds.env (with answers not saved yet)",
            "PDS_HOSTNAME=pds.example.com",
        ] {
            assert!(text.contains(want), "{want:?} not in:\n{text}");
        }
        // Secrets are masked, even on a line that does not parse; comments are left out.
        for secret in [
            "hunter2-admin",
            "unbalanced-jwt-secret",
            "smtp-pw-9",
            "a comment",
        ] {
            assert!(!text.contains(secret), "{secret} in:\n{text}");
        }
        assert!(text.contains("PDS_ADMIN_PASSWORD="), "{text}");
        // A PDS that does not answer is said so, by its last cause.
        let down = report(
            &results,
            &About {
                env_file: Path::new("/pds/pds.env"),
                env_text: None,
                unsaved: false,
                health: &Health::Down(
                    "error sending request: tcp connect error: Connection refused (os error 111)"
                        .into(),
                    crate::http::Failure::Refused,
                ),
                pds_url: "http://localhost:3000",
                elapsed_ms: 5,
            },
        );
        assert!(
            down.contains(
                "pds: no PDS answers at http://localhost:3000 (Connection refused (os error 111))"
            ),
            "{down}"
        );
        assert!(down.contains("(could not be read)"), "{down}");
    }
}

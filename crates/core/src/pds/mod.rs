//! The PDS service itself: how to restart it. Nothing here runs without an explicit
//! confirmation from the operator; callers show the command first.

pub mod accounts;
pub mod admin;
pub mod data;
pub mod refresh;
pub mod running;
pub mod service;
pub mod service_merge;
pub mod sockets;
// The version a PDS reports is a leaf (the env catalogue compares keys against it).
pub use crate::version;

use crate::context::Context;

use crate::run::{run_bounded, Ran};

/// The command that restarts the PDS on this machine, if one can be found: the one given
/// with --restart-command, else the official install's systemd unit `pds`, else `docker
/// compose` with the compose.yaml beside pds.env.
pub fn restart_command(ctx: &Context) -> Option<Vec<String>> {
    // The demo restarts nothing of this machine's: only its own PDS stand-in, by the
    // command its lab permitted.
    if ctx.sandbox.is_some() {
        return ctx
            .restart_command
            .as_deref()
            .map(|c| vec![c.to_string()])
            .filter(|argv| crate::run::may_change_machine(argv).is_ok());
    }
    if let Some(cmd) = ctx
        .restart_command
        .as_deref()
        .filter(|c| !c.trim().is_empty())
    {
        return Some(vec!["sh".into(), "-c".into(), cmd.to_string()]);
    }
    let env_file = ctx.env_file.as_path();
    let has_unit = has_unit();
    if has_unit {
        return Some(vec!["systemctl".into(), "restart".into(), "pds".into()]);
    }
    let compose = env_file.parent()?.join("compose.yaml");
    if !compose.exists() {
        return None;
    }
    // `docker compose` where the plugin is installed, else the older `docker-compose`.
    let mut cmd = service::compose_command(std::time::Duration::from_secs(5))?;
    cmd.extend([
        "-f".into(),
        compose.display().to_string(),
        "restart".into(),
        "pds".into(),
    ]);
    Some(cmd)
}

/// Whether a program answers `args` with success within 5 s (the one bounded runner: a
/// hung docker or systemd daemon must not hang the wizard).
fn answers(prog: &str, args: &[&str]) -> bool {
    matches!(
        crate::run::run_bounded(prog, args, std::time::Duration::from_secs(5)),
        crate::run::Ran::Done { ok: true, .. }
    )
}

fn has_docker() -> bool {
    answers("docker", &["--version"])
}

fn has_unit() -> bool {
    answers("systemctl", &["cat", "pds.service"])
}

/// A command as a person would type it (`sh -c X` is shown as X).
pub fn shown(cmd: &[String]) -> String {
    match cmd {
        [sh, c, inner] if sh == "sh" && c == "-c" => inner.clone(),
        _ => cmd.join(" "),
    }
}

/// Where the PDS's log is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogSource {
    File(std::path::PathBuf),
    Journal,
    Docker,
}

impl LogSource {
    /// --pds-log, else journald for the `pds` unit, else the `pds` container.
    pub fn find(ctx: &Context) -> Option<LogSource> {
        if let Some(p) = &ctx.pds_log {
            return Some(LogSource::File(p.clone()));
        }
        if has_unit() {
            return Some(LogSource::Journal);
        }
        has_docker().then_some(LogSource::Docker)
    }

    /// How to read it by hand.
    pub fn hint(&self) -> String {
        match self {
            LogSource::File(p) => format!("tail -n 50 {}", p.display()),
            LogSource::Journal => "sudo journalctl -u pds -n 50".into(),
            LogSource::Docker => "sudo docker logs --tail 50 pds".into(),
        }
    }

    /// The last lines that tell what went wrong with mail: errors and anything about mail or
    /// SMTP, each shortened to its message (the PDS logs JSON lines).
    pub fn mail_errors(&self, max: usize) -> Result<Vec<String>, String> {
        let text = match self {
            LogSource::File(p) => {
                // Only the end matters, and a log can be large: read its last 256 KiB.
                use std::io::{Read, Seek, SeekFrom};
                let cannot = |e: std::io::Error| format!("cannot read {}: {e}", p.display());
                let mut f = std::fs::File::open(p).map_err(cannot)?;
                let len = f.metadata().map_err(cannot)?.len();
                f.seek(SeekFrom::Start(len.saturating_sub(256 * 1024)))
                    .map_err(cannot)?;
                let mut tail = Vec::new();
                f.read_to_end(&mut tail).map_err(cannot)?;
                String::from_utf8_lossy(&tail).into_owned()
            }
            LogSource::Journal => run_for_text(&[
                "journalctl",
                "-u",
                "pds",
                "-n",
                "300",
                "--no-pager",
                "-o",
                "cat",
            ])?,
            LogSource::Docker => run_for_text(&["docker", "logs", "--tail", "300", "pds"])?,
        };
        Ok(mail_lines(&text, max))
    }
}

/// What `argv` prints (stdout, then stderr: docker logs writes the container's stderr to
/// its own), within 5 s: a stuck journald or docker daemon must not hold the answer.
fn run_for_text(argv: &[&str]) -> Result<String, String> {
    match run_bounded(argv[0], &argv[1..], std::time::Duration::from_secs(5)) {
        Ran::Done { text, .. } => Ok(text),
        Ran::CannotRun(e) => Err(format!("cannot run {}: {e}", argv[0])),
        Ran::TimedOut => Err(format!("{} did not answer within 5 s", argv.join(" "))),
    }
}

/// Log lines about mail, newest last: a pino JSON line is shown as its message and its
/// error's message; other lines as they are.
pub fn mail_lines(text: &str, max: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in text.lines() {
        let lower = line.to_ascii_lowercase();
        let json: Option<serde_json::Value> = serde_json::from_str(line).ok();
        let is_error = json
            .as_ref()
            .and_then(|j| j["level"].as_u64())
            .is_some_and(|l| l >= 50);
        let about_mail = [
            "mail",
            "smtp",
            "nodemailer",
            "eauth",
            "econnrefused",
            "etimedout",
        ]
        .iter()
        .any(|w| lower.contains(w));
        if !(is_error || about_mail) {
            continue;
        }
        let shown = match &json {
            Some(j) => {
                let msg = j["msg"].as_str().unwrap_or("");
                let err = j["err"]["message"].as_str().unwrap_or("");
                match (msg.is_empty(), err.is_empty()) {
                    (false, false) => format!("{msg}: {err}"),
                    (false, true) => msg.to_string(),
                    (true, false) => err.to_string(),
                    (true, true) => line.to_string(),
                }
            }
            None => line.trim().to_string(),
        };
        out.push(crate::secret::scrub(&shown));
    }
    let skip = out.len().saturating_sub(max);
    out.split_off(skip)
}

/// How to show a restart command to a person.
/// `sudo` only when this is not root already: the wizard runs the command as it is.
pub fn restart_hint(ctx: &Context) -> String {
    as_typed(&match restart_command(ctx) {
        Some(cmd) => shown(&cmd),
        None => "systemctl restart pds, or restart the PDS container".into(),
    })
}

/// A command as the operator types it here: with `sudo` in front unless this is root.
pub fn as_typed(cmd: &str) -> String {
    match rustix::process::geteuid().is_root() {
        true => cmd.to_string(),
        false => format!("sudo {cmd}"),
    }
}

/// Run the restart command; the error text is what the operator sees.
pub fn restart(cmd: &[String]) -> Result<(), String> {
    restart_within(cmd, RESTART_LIMIT)
}

/// How long a restart may take: a compose restart recreates the container, which can take
/// a while on a slow disk, but never forever (a hung unit would hold the wizard).
pub const RESTART_LIMIT: std::time::Duration = std::time::Duration::from_secs(180);

/// `restart`, bounded by `limit`.
pub fn restart_within(cmd: &[String], limit: std::time::Duration) -> Result<(), String> {
    crate::run::may_change_machine(cmd)?;
    let (prog, args) = cmd.split_first().ok_or("no command")?;
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match crate::run::run_bounded_apart(prog, &args, limit) {
        crate::run::RanApart::Done { ok: true, .. } => Ok(()),
        crate::run::RanApart::Done { stderr, .. } => {
            Err(format!("`{}` failed: {}", cmd.join(" "), stderr.trim()))
        }
        crate::run::RanApart::CannotRun(e) => Err(format!("cannot run {prog}: {e}")),
        crate::run::RanApart::TimedOut => Err(format!(
            "`{}` did not finish within {} s: stopped; see how the PDS is (pds-wizard service status)",
            cmd.join(" "),
            limit.as_secs()
        )),
    }
}

#[cfg(test)]
mod tests {
    /// A restart that hangs is stopped at its limit and said so; one that fails says why.
    #[test]
    fn a_restart_is_bounded() {
        let hang = ["sleep".to_string(), "30".to_string()];
        let t = std::time::Instant::now();
        let e = super::restart_within(&hang, std::time::Duration::from_millis(300)).unwrap_err();
        assert!(t.elapsed() < std::time::Duration::from_secs(5), "{e}");
        assert!(e.contains("did not finish within 0 s"), "{e}");
        let fail = ["sh", "-c", "echo nope >&2; exit 3"].map(String::from);
        let e = super::restart(&fail).unwrap_err();
        assert!(e.ends_with("failed: nope"), "{e}");
    }

    #[test]
    fn compose_file_beside_the_env_file_is_found_only_with_docker() {
        let d = tempfile::tempdir().unwrap();
        let env = d.path().join("pds.env");
        std::fs::write(d.path().join("compose.yaml"), "services: {}\n").unwrap();
        let ctx = crate::context::Context {
            env_file: env,
            ..Default::default()
        };
        let cmd = super::restart_command(&ctx);
        let has_unit = std::process::Command::new("systemctl")
            .args(["cat", "pds.service"])
            .output()
            .is_ok_and(|o| o.status.success());
        let has_docker =
            super::service::compose_command(std::time::Duration::from_secs(5)).is_some();
        match (has_unit, has_docker) {
            (true, _) => assert_eq!(cmd.unwrap()[0], "systemctl"),
            (false, true) => assert!(cmd
                .unwrap()
                .contains(&d.path().join("compose.yaml").display().to_string())),
            (false, false) => assert!(cmd.is_none()),
        }
        // A command given with --restart-command comes first, and is shown as given.
        let ctx = crate::context::Context {
            restart_command: Some("kill -HUP 123".into()),
            ..ctx
        };
        let cmd = super::restart_command(&ctx).unwrap();
        assert_eq!(super::shown(&cmd), "kill -HUP 123");
        assert_eq!(super::restart_hint(&ctx), super::as_typed("kill -HUP 123"));
    }

    #[test]
    fn mail_errors_are_read_from_the_pds_log() {
        let log = concat!(
            r#"{"level":30,"msg":"request completed","req":{"url":"/xrpc/_health"}}"#,
            "\n",
            r#"{"level":50,"name":"mailer","msg":"mail failed","err":{"message":"Invalid login: 535 5.7.8 Authentication failed"}}"#,
            "\n",
            "plain text: connect ECONNREFUSED 127.0.0.1:465\n",
            r#"{"level":30,"msg":"account created"}"#,
            "\n",
        );
        assert_eq!(
            super::mail_lines(log, 5),
            vec![
                "mail failed: Invalid login: 535 5.7.8 Authentication failed".to_string(),
                "plain text: connect ECONNREFUSED 127.0.0.1:465".to_string()
            ]
        );
        assert_eq!(super::mail_lines(log, 1).len(), 1);
        // From a file, only its end is read; a command is bounded.
        let d = tempfile::tempdir().unwrap();
        let big = d.path().join("pds.log");
        let mut text = "x".repeat(300 * 1024);
        text.push('\n');
        text.push_str(log);
        std::fs::write(&big, text).unwrap();
        let lines = super::LogSource::File(big).mail_errors(5).unwrap();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert_eq!(
            super::run_for_text(&["sh", "-c", "echo out; echo err >&2"]).unwrap(),
            "out\nerr\n"
        );
        let slow = super::run_for_text(&["sleep", "30"]).unwrap_err();
        assert!(slow.contains("did not answer within 5 s"), "{slow}");
    }
}

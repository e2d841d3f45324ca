//! Caddy's own reading of a Caddyfile: `file` reads one as Caddy's lexer does (to edit it
//! in place), and `adapt` asks Caddy itself — on this machine, or in the container that
//! mounts the file — for the configuration it makes of one (to check an edit).

pub mod file;

use crate::run::RanApart;
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where Caddy's own parser can be asked about a Caddyfile at `path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tool {
    /// `caddy` on this machine.
    Host(PathBuf),
    /// The container Caddy runs in, with the file's directory at `dir` inside it.
    Container {
        name: String,
        dir: PathBuf,
    },
    None,
}

impl Tool {
    pub fn describe(&self) -> String {
        match self {
            Tool::Host(p) => p.display().to_string(),
            Tool::Container { name, .. } => format!("caddy in the container {name}"),
            Tool::None => "no caddy (neither on this machine nor in a running container)".into(),
        }
    }
}

/// The caddy that reads `path`: the container `caddy` when it mounts the file's directory
/// (the installer's layout), else this machine's, else none.
pub fn tool_for(path: &Path, limit: Duration) -> Tool {
    let dir = path
        .parent()
        .and_then(|d| std::fs::canonicalize(d).ok())
        .unwrap_or_default();
    if crate::fsutil::find_tool("docker").is_some() {
        if let RanApart::Done {
            ok: true, stdout, ..
        } = crate::run::run_bounded_apart(
            "docker",
            &["inspect", "--format", "{{json .Mounts}}", "caddy"],
            limit,
        ) {
            let mounts: Vec<Value> = serde_json::from_str(stdout.trim()).unwrap_or_default();
            for m in mounts {
                let (Some(src), Some(dst)) = (m["Source"].as_str(), m["Destination"].as_str())
                else {
                    continue;
                };
                if let Ok(rest) = dir.strip_prefix(src) {
                    return Tool::Container {
                        name: "caddy".into(),
                        dir: Path::new(dst).join(rest),
                    };
                }
            }
        }
    }
    match crate::fsutil::find_tool("caddy") {
        Some(p) => Tool::Host(p),
        None => Tool::None,
    }
}

/// What Caddy made of a Caddyfile: its JSON, or why it refused it.
pub fn adapt(
    tool: &Tool,
    path: &Path,
    text: &str,
    env: &HashMap<String, String>,
    limit: Duration,
) -> Result<Option<Value>, String> {
    // A copy beside the file (a random name, made exclusively, gone at once), so imports
    // relative to it resolve as they will for the real one; for a file whose directory is
    // not made yet, a private directory of its own (nothing can be imported from there).
    let private;
    let dir = match path.parent() {
        Some(d) if d.is_dir() => d,
        _ if matches!(tool, Tool::Host(_)) => {
            private = crate::fsutil::scratch_dir().map_err(|e| e.to_string())?;
            private.path()
        }
        _ => return Ok(None),
    };
    let scratch = tempfile::Builder::new()
        .prefix(".pds-wizard-check-")
        .tempfile_in(dir)
        .map_err(|e| format!("cannot make a scratch copy in {}: {e}", dir.display()))?;
    std::fs::write(scratch.path(), text).map_err(|e| e.to_string())?;
    let name = scratch
        .path()
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let real_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let state = crate::fsutil::scratch_dir().map_err(|e| e.to_string())?;
    let ran = match tool {
        Tool::None => return Ok(None),
        Tool::Host(caddy) => {
            let mut cmd = std::process::Command::new(caddy);
            cmd.args(["adapt", "--adapter", "caddyfile", "--config"])
                .arg(scratch.path())
                .env("XDG_DATA_HOME", state.path())
                .env("XDG_CONFIG_HOME", state.path())
                .envs(env);
            crate::run::run_command_apart(cmd, limit)
        }
        Tool::Container { name: c, dir } => {
            let inside = dir.join(&name);
            crate::run::run_bounded_apart(
                "docker",
                &[
                    "exec",
                    c,
                    "caddy",
                    "adapt",
                    "--adapter",
                    "caddyfile",
                    "--config",
                    &inside.to_string_lossy(),
                ],
                limit,
            )
        }
    };
    match ran {
        // The copy's name stands for the file's own (file_server hides the config it came
        // from, by name).
        RanApart::Done {
            ok: true, stdout, ..
        } => serde_json::from_str(&stdout.replace(&name, &real_name))
            .map(Some)
            .map_err(|e| format!("caddy adapt gave no JSON: {e}")),
        RanApart::Done { stdout, stderr, .. } => Err(format!(
            "Caddy refuses it: {}",
            last_error(&stderr, &stdout).replace(&name, &real_name)
        )),
        RanApart::CannotRun(e) => Err(format!("cannot run caddy: {e}")),
        RanApart::TimedOut => Err(format!(
            "caddy adapt did not finish in {} s",
            limit.as_secs()
        )),
    }
}

/// Caddy's own message, without its JSON log wrapping.
fn last_error(stderr: &str, stdout: &str) -> String {
    let text = if stderr.trim().is_empty() {
        stdout
    } else {
        stderr
    };
    text.lines()
        .rev()
        .find(|l| {
            !l.trim().is_empty()
                && !l.contains("\"level\":\"warn\"")
                && !l.contains("\"level\":\"info\"")
        })
        .map(|l| {
            serde_json::from_str::<Value>(l)
                .ok()
                .and_then(|v| {
                    v["error"]
                        .as_str()
                        .or(v["msg"].as_str())
                        .map(str::to_string)
                })
                .unwrap_or_else(|| l.trim().to_string())
        })
        .unwrap_or_default()
}

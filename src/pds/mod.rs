//! The PDS service itself: how to restart it. Nothing here runs without an explicit
//! confirmation from the operator; callers show the command first.

pub mod accounts;
pub mod data;
// The version a PDS reports is a leaf (the env catalogue compares keys against it).
pub use crate::version;

use std::path::Path;
use std::process::Command;

/// The command that restarts the PDS on this machine, if one can be found: the official
/// install's systemd unit `pds`, else `docker compose` with the compose.yaml beside pds.env.
pub fn restart_command(env_file: &Path) -> Option<Vec<String>> {
    let has_unit = Command::new("systemctl")
        .args(["cat", "pds.service"])
        .output()
        .is_ok_and(|o| o.status.success());
    if has_unit {
        return Some(vec!["systemctl".into(), "restart".into(), "pds".into()]);
    }
    let compose = env_file.parent()?.join("compose.yaml");
    let has_docker = Command::new("docker")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    (compose.exists() && has_docker).then(|| {
        vec![
            "docker".into(),
            "compose".into(),
            "-f".into(),
            compose.display().to_string(),
            "restart".into(),
            "pds".into(),
        ]
    })
}

/// How to show a restart command to a person.
pub fn restart_hint(env_file: &Path) -> String {
    match restart_command(env_file) {
        Some(cmd) => format!("sudo {}", cmd.join(" ")),
        None => "sudo systemctl restart pds (or restart the PDS container)".into(),
    }
}

/// Run the restart command; the error text is what the operator sees.
pub fn restart(cmd: &[String]) -> Result<(), String> {
    let (prog, args) = cmd.split_first().ok_or("no command")?;
    let out = Command::new(prog)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run {prog}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`{}` failed: {}",
            cmd.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn compose_file_beside_the_env_file_is_found_only_with_docker() {
        let d = tempfile::tempdir().unwrap();
        let env = d.path().join("pds.env");
        std::fs::write(d.path().join("compose.yaml"), "services: {}\n").unwrap();
        let cmd = super::restart_command(&env);
        let has_unit = std::process::Command::new("systemctl")
            .args(["cat", "pds.service"])
            .output()
            .is_ok_and(|o| o.status.success());
        let has_docker = std::process::Command::new("docker")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        match (has_unit, has_docker) {
            (true, _) => assert_eq!(cmd.unwrap()[0], "systemctl"),
            (false, true) => assert!(cmd
                .unwrap()
                .contains(&d.path().join("compose.yaml").display().to_string())),
            (false, false) => assert!(cmd.is_none()),
        }
    }
}

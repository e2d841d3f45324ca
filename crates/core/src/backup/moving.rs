//! Moving a PDS to a new server under the same hostname: the guide, each step a command
//! and the machine it runs on. The order keeps one rule: the old server is stopped **and
//! disabled** (a reboot must not bring back a second PDS on the name) before its final
//! backup, and the new one starts only once that backup is restored, verified, and the
//! address records point at it. Blobs are pre-synced from an earlier backup while the old
//! server still runs, so the downtime is the final backup, its copy and the restore.

use serde::Serialize;
use std::path::Path;

/// Where a step runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Machine {
    Old,
    New,
    /// At the DNS provider.
    Dns,
}

impl Machine {
    pub fn label(self) -> &'static str {
        match self {
            Machine::Old => "old server",
            Machine::New => "new server",
            Machine::Dns => "DNS",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct MoveStep {
    pub on: Machine,
    pub what: String,
    /// The command, as typed there (None: done at the provider's page).
    pub command: Option<String>,
}

fn step(on: Machine, what: &str, command: Option<String>) -> MoveStep {
    MoveStep {
        on,
        what: what.to_string(),
        command,
    }
}

/// The move of the PDS named `host` whose pds.env is `env_file` and data `data_dir`,
/// through backups in `dest` copied to the new server `new` (an SSH destination).
pub fn guide(
    host: &str,
    env_file: &Path,
    data_dir: &Path,
    dest: &Path,
    new: &str,
) -> Vec<MoveStep> {
    let (env, data, dest) = (env_file.display(), data_dir.display(), dest.display());
    let env_dir = env_file
        .parent()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| ".".into());
    let latest = format!("$(ls -d {dest}/pds-* | tail -n 1)");
    let copy = format!("rsync -aH --delete {dest}/ {new}:{dest}/");
    vec![
        step(
            Machine::Dns,
            &format!("a day before: lower the TTL of {host}'s and *.{host}'s address records to 300 s, so resolvers follow the switch within minutes"),
            None,
        ),
        step(
            Machine::Old,
            "a backup while the PDS still runs: the new server pre-syncs its blobs from it",
            Some(format!("pds-wizard --env-file {env} backup create {dest}")),
        ),
        step(
            Machine::Old,
            "copy the backups to the new server (-H keeps the blobs' hard links)",
            Some(copy.clone()),
        ),
        step(
            Machine::New,
            "pds.env from the backup (the same secrets and PLC rotation key: the accounts' identities depend on them), and Caddy's certificates",
            Some(format!(
                "install -d -m 700 {env_dir} && install -m 600 {latest}/config/pds.env {env} && {{ [ ! -d {latest}/config/caddy ] || cp -a {latest}/config/caddy {env_dir}/; }}"
            )),
        ),
        step(
            Machine::New,
            "write the service files (compose.yaml, pds.service, the Caddyfile); do not start",
            Some(format!("pds-wizard --env-file {env} service write --yes")),
        ),
        step(
            Machine::Old,
            "stop the PDS and disable it: from here the PDS is down, and a reboot must not start it again beside the new one",
            Some("systemctl stop pds && systemctl disable pds".into()),
        ),
        step(
            Machine::Old,
            "the final backup (what the first one holds is linked, not copied again)",
            Some(format!("pds-wizard --env-file {env} backup create {dest}")),
        ),
        step(Machine::Old, "copy it to the new server", Some(copy)),
        step(
            Machine::New,
            "restore the final backup (verified first), not started yet",
            Some(format!(
                "pds-wizard --env-file {env} backup restore {latest} --to {data} --no-start --yes"
            )),
        ),
        step(
            Machine::Dns,
            &format!("point {host} and *.{host} at the new server; check until both do"),
            Some(format!("pds-wizard --env-file {env} records")),
        ),
        step(
            Machine::New,
            "start the PDS",
            Some(format!("pds-wizard --env-file {env} service start")),
        ),
        step(
            Machine::New,
            "the relays: a crawl asked of each, watched until it follows the new server",
            Some(format!("pds-wizard --env-file {env} relay repair --yes")),
        ),
        step(
            Machine::New,
            "every milestone green (the Overview)",
            Some(format!("pds-wizard --env-file {env} status")),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_old_server_is_disabled_before_its_final_backup_and_the_new_starts_last() {
        let g = guide(
            "pds.example.com",
            Path::new("/pds/pds.env"),
            Path::new("/pds"),
            Path::new("/var/backups/pds"),
            "root@new.example.com",
        );
        let at = |needle: &str| {
            g.iter()
                .position(|s| s.command.as_deref().is_some_and(|c| c.contains(needle)))
                .unwrap_or_else(|| panic!("{needle}"))
        };
        let disabled = at("systemctl disable pds");
        let backups: Vec<usize> = g
            .iter()
            .enumerate()
            .filter(|(_, s)| {
                s.command
                    .as_deref()
                    .is_some_and(|c| c.contains("backup create"))
            })
            .map(|(i, _)| i)
            .collect();
        assert_eq!(backups.len(), 2);
        assert!(backups[0] < disabled && disabled < backups[1]);
        assert!(at("backup restore") < at("service start"));
        assert!(at(" records") < at("service start"));
        assert!(at("service start") < at("relay repair"));
        assert_eq!(g[0].on, Machine::Dns);
        assert!(g[0].what.contains("TTL"));
    }
}

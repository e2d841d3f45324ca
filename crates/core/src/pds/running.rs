//! What the running PDS was started with. pds.env is read once, at the PDS's start: a PDS
//! that sends mail proves its own settings, not the file's when the file changed since.
//! Read from the kernel: the process holding the PDS's port, its environment (the PDS in
//! Docker with host networking, as the installer runs it, is a process of this machine's)
//! or, in front of a container, docker-proxy's start.

use crate::envfile::Document;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// How much of a process's environment is read (a PDS's is a few KiB).
const ENVIRON_CAP: usize = 1 << 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Running {
    /// The environment the PDS's process started with.
    Env {
        pid: u32,
        env: BTreeMap<String, String>,
    },
    /// Only when what holds the port started (docker-proxy before a container).
    Since { pid: u32, started: SystemTime },
    /// Nothing here holds the port, or not a process this can read (not root).
    Unknown,
}

/// What runs behind the PDS's local URL, when that URL is on this machine.
pub fn for_url(url: &str) -> Running {
    let Ok(u) = reqwest::Url::parse(url) else {
        return Running::Unknown;
    };
    let host = u.host_str().unwrap_or_default();
    let local = host.eq_ignore_ascii_case("localhost")
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback() || ip.is_unspecified());
    match (local, u.port_or_known_default()) {
        (true, Some(port)) => on_port(port),
        _ => Running::Unknown,
    }
}

/// What holds TCP `port` here: a process started with PDS_ variables (the PDS), else the
/// start of docker-proxy or of a node process that keeps its settings elsewhere.
pub fn on_port(port: u16) -> Running {
    let pids = super::sockets::holder_pids(port);
    for &pid in &pids {
        if let Some(env) = environ(pid) {
            if env.contains_key("PDS_HOSTNAME") {
                return Running::Env { pid, env };
            }
        }
    }
    for &pid in &pids {
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if matches!(comm.trim(), "docker-proxy" | "node") {
            if let Some(started) = started_at(pid) {
                return Running::Since { pid, started };
            }
        }
    }
    Running::Unknown
}

fn environ(pid: u32) -> Option<BTreeMap<String, String>> {
    use std::io::Read;
    let f = std::fs::File::open(format!("/proc/{pid}/environ")).ok()?;
    let mut bytes = Vec::new();
    f.take(ENVIRON_CAP as u64).read_to_end(&mut bytes).ok()?;
    Some(
        bytes
            .split(|b| *b == 0)
            .filter_map(|kv| {
                let kv = String::from_utf8_lossy(kv);
                let (k, v) = kv.split_once('=')?;
                Some((k.to_string(), v.to_string()))
            })
            .collect(),
    )
}

/// When process `pid` started: /proc/PID/stat's start time (clock ticks after boot) plus
/// the boot time in /proc/stat.
fn started_at(pid: u32) -> Option<SystemTime> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The name (field 2) may hold spaces and parentheses: count from the last ')'.
    let after = &stat[stat.rfind(')')? + 1..];
    let ticks: u64 = after.split_whitespace().nth(19)?.parse().ok()?;
    let boot: u64 = std::fs::read_to_string("/proc/stat")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let hz = u64::try_from(hz).ok().filter(|h| *h > 0)?;
    Some(
        SystemTime::UNIX_EPOCH
            + Duration::from_secs(boot)
            + Duration::from_millis(ticks * 1000 / hz),
    )
}

/// How pds.env's `keys` compare with what the PDS runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drift {
    /// The PDS runs with pds.env's values.
    Same,
    /// These keys differ (names only: the values may be secrets).
    Differs(Vec<String>),
    /// pds.env was changed after the PDS started: it may run with other values.
    ChangedSince,
    /// Cannot be told from here.
    Unknown,
}

/// pds.env (`doc`, at `path`) against what runs, for `keys`. An empty value is no value.
pub fn drift(doc: &Document, path: &Path, running: &Running, keys: &[&str]) -> Drift {
    let set = |v: Option<String>| v.filter(|v| !v.is_empty());
    match running {
        Running::Env { env, .. } => {
            let differ: Vec<String> = keys
                .iter()
                .filter(|k| set(doc.get(k)) != set(env.get(**k).cloned()))
                .map(|k| k.to_string())
                .collect();
            match differ.is_empty() {
                true => Drift::Same,
                false => Drift::Differs(differ),
            }
        }
        Running::Since { started, .. } => {
            let changed = std::fs::metadata(path).and_then(|m| m.modified()).ok();
            match changed {
                Some(t) if t > *started => Drift::ChangedSince,
                Some(_) => Drift::Same,
                None => Drift::Unknown,
            }
        }
        Running::Unknown => Drift::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_read_as_it_started() {
        let me = std::process::id();
        let env = environ(me).unwrap();
        assert!(env.contains_key("PATH"), "{env:?}");
        let started = started_at(me).unwrap();
        let age = SystemTime::now().duration_since(started).unwrap();
        assert!(age < Duration::from_secs(24 * 3600), "{age:?}");
    }

    #[test]
    fn the_file_and_the_running_env_compared_key_by_key() {
        let doc = Document::parse(
            "PDS_HOSTNAME=a.test\nPDS_EMAIL_SMTP_URL=smtp://new\nPDS_EMAIL_FROM_ADDRESS=\n",
        );
        let running = |pairs: &[(&str, &str)]| Running::Env {
            pid: 1,
            env: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        let keys = ["PDS_EMAIL_SMTP_URL", "PDS_EMAIL_FROM_ADDRESS"];
        let p = Path::new("/nonexistent");
        assert_eq!(
            drift(
                &doc,
                p,
                &running(&[("PDS_EMAIL_SMTP_URL", "smtp://new")]),
                &keys
            ),
            Drift::Same
        );
        assert_eq!(
            drift(
                &doc,
                p,
                &running(&[
                    ("PDS_EMAIL_SMTP_URL", "smtp://old"),
                    ("PDS_EMAIL_FROM_ADDRESS", "a@b.test")
                ]),
                &keys
            ),
            Drift::Differs(keys.iter().map(|k| k.to_string()).collect())
        );
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("pds.env");
        std::fs::write(&f, "x").unwrap();
        let before = SystemTime::now() - Duration::from_secs(60);
        let since = |started| Running::Since { pid: 1, started };
        assert_eq!(drift(&doc, &f, &since(before), &keys), Drift::ChangedSince);
        let after = SystemTime::now() + Duration::from_secs(60);
        assert_eq!(drift(&doc, &f, &since(after), &keys), Drift::Same);
        assert_eq!(drift(&doc, &f, &Running::Unknown, &keys), Drift::Unknown);
    }
}

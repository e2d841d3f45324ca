//! `backup schedule`: a systemd service and timer that run `backup create` (which verifies
//! each backup before naming it), validated with `systemd-analyze verify` before they are
//! written; and reading them back, for the doctor's "last verified backup".

use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const SERVICE: &str = "pds-backup.service";
pub const TIMER: &str = "pds-backup.timer";

/// How often.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Every {
    Hour,
    Day,
}

impl Every {
    pub fn parse(s: &str) -> Result<Every, String> {
        match s.to_ascii_lowercase().as_str() {
            "hour" | "hourly" => Ok(Every::Hour),
            "day" | "daily" => Ok(Every::Day),
            _ => Err(format!("{s:?}: give day or hour")),
        }
    }

    fn calendar(self) -> &'static str {
        match self {
            Every::Hour => "hourly",
            Every::Day => "daily",
        }
    }

    /// How long between two backups.
    pub fn period(self) -> Duration {
        match self {
            Every::Hour => Duration::from_secs(3600),
            Every::Day => Duration::from_secs(86_400),
        }
    }
}

/// What the timer runs.
#[derive(Debug, Clone, Serialize)]
pub struct Schedule {
    pub every: Every,
    pub dest: PathBuf,
    pub keep: Option<usize>,
    /// This program, as the service runs it.
    pub exe: PathBuf,
    pub env_file: PathBuf,
    /// Run after each backup (sends it off the machine).
    pub then: Option<String>,
}

/// One argument as systemd's ExecStart reads it: quoted when it must be, `%` and `$`
/// doubled (systemd would expand them).
fn quoted(arg: &str) -> String {
    let escaped = arg.replace('%', "%%").replace('$', "$$");
    if !escaped.is_empty()
        && escaped
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-:=,+@".contains(c))
    {
        return escaped;
    }
    format!("\"{}\"", escaped.replace('\\', "\\\\").replace('"', "\\\""))
}

impl Schedule {
    /// The argument list the service runs.
    pub fn argv(&self) -> Vec<String> {
        let mut a = vec![
            self.exe.display().to_string(),
            "--env-file".into(),
            self.env_file.display().to_string(),
            "backup".into(),
            "create".into(),
        ];
        if let Some(k) = self.keep {
            a.extend(["--keep".into(), k.to_string()]);
        }
        if let Some(t) = &self.then {
            a.extend(["--then".into(), t.clone()]);
        }
        a.push(self.dest.display().to_string());
        a
    }

    /// pds-backup.service and pds-backup.timer.
    pub fn units(&self) -> [(&'static str, String); 2] {
        let exec: Vec<String> = self.argv().iter().map(|a| quoted(a)).collect();
        let service = format!(
            "# Written by pds-wizard backup schedule: a verified backup of the PDS.\n\
             [Unit]\n\
             Description=Back up the PDS into {dest} and verify the backup (pds-wizard)\n\
             After=network-online.target\n\
             \n\
             [Service]\n\
             Type=oneshot\n\
             ExecStart={exec}\n\
             # A backup reads every file of the PDS: out of the PDS's way.\n\
             Nice=10\n\
             IOSchedulingClass=idle\n",
            dest = self.dest.display(),
            exec = exec.join(" ")
        );
        let timer = format!(
            "# Written by pds-wizard backup schedule.\n\
             [Unit]\n\
             Description=Back up the PDS every {every} (pds-wizard)\n\
             \n\
             [Timer]\n\
             OnCalendar={cal}\n\
             # A backup missed while the server was off runs at the next boot.\n\
             Persistent=true\n\
             RandomizedDelaySec={delay}\n\
             \n\
             [Install]\n\
             WantedBy=timers.target\n",
            every = match self.every {
                Every::Hour => "hour",
                Every::Day => "day",
            },
            cal = self.every.calendar(),
            delay = match self.every {
                Every::Hour => "5min",
                Every::Day => "30min",
            }
        );
        [(SERVICE, service), (TIMER, timer)]
    }
}

/// `systemd-analyze verify` on both units together.
pub fn validate(units: &[(&str, String)], limit: Duration) -> crate::pds::service::Validation {
    crate::pds::service::validate_units(units, limit)
}

/// The schedule installed in `unit_dir`, read back from its two units: where it backs up
/// to and how often (None when there is none).
pub fn installed(unit_dir: &Path) -> Option<(PathBuf, Every)> {
    let service = std::fs::read_to_string(unit_dir.join(SERVICE)).ok()?;
    let timer = std::fs::read_to_string(unit_dir.join(TIMER)).ok()?;
    let exec = service
        .lines()
        .find_map(|l| l.trim().strip_prefix("ExecStart="))?;
    let dest = split_exec(exec).pop()?;
    let every = if timer.lines().any(|l| l.trim() == "OnCalendar=hourly") {
        Every::Hour
    } else {
        Every::Day
    };
    Some((PathBuf::from(dest), every))
}

/// ExecStart's words, as `quoted` wrote them.
fn split_exec(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let (mut inq, mut esc, mut any) = (false, false, false);
    for c in s.chars() {
        if esc {
            cur.push(c);
            esc = false;
        } else if c == '\\' && inq {
            esc = true;
        } else if c == '"' {
            inq = !inq;
            any = true;
        } else if c.is_whitespace() && !inq {
            if any || !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            any = false;
        } else {
            cur.push(c);
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out.into_iter()
        .map(|w| w.replace("%%", "%").replace("$$", "$"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_service_runs_what_was_asked_and_reads_back() {
        let s = Schedule {
            every: Every::Hour,
            dest: "/var/backups/my pds".into(),
            keep: Some(48),
            exe: "/usr/local/bin/pds-wizard".into(),
            env_file: "/pds/pds.env".into(),
            then: Some("restic backup \"$DIR\" --tag 100%".into()),
        };
        let d = tempfile::tempdir().unwrap();
        for (name, text) in s.units() {
            std::fs::write(d.path().join(name), text).unwrap();
        }
        let (dest, every) = installed(d.path()).unwrap();
        assert_eq!(dest, PathBuf::from("/var/backups/my pds"));
        assert_eq!(every, Every::Hour);
        let service = &s.units()[0].1;
        let exec = service
            .lines()
            .find_map(|l| l.strip_prefix("ExecStart="))
            .unwrap();
        assert_eq!(split_exec(exec), s.argv());
        assert!(exec.contains("$$DIR") && exec.contains("100%%"), "{exec}");
    }
}

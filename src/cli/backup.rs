//! `pds-wizard backup`: create, verify, list, restore and schedule backups of the PDS
//! (crate::backup).

use super::{EXIT_ERROR, EXIT_FINDINGS, EXIT_OK};
use crate::backup::{self, schedule};
use crate::context::Context;
use crate::envfile::Document;
use crate::settings::Resolved;
use anyhow::{anyhow, Result};
use clap::Subcommand;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Subcommand)]
pub enum BackupCmd {
    /// Back up the running PDS into a new directory inside DEST (no downtime): the
    /// databases through SQLite's backup API, each account's repo and signing key, the
    /// blobs (those the previous backup holds are hard-linked, not copied), pds.env,
    /// compose.yaml and caddy/. The backup is verified before it gets its name, then its
    /// path is printed. Exit 0: made and verified; 1: made but not sound (left as
    /// .partial-…); 2: not made
    #[command(
        after_help = "Examples:\n  pds-wizard backup create /var/backups/pds\n  pds-wizard backup create --keep 14 --then 'restic backup \"$PDS_BACKUP_DIR\"' /var/backups/pds"
    )]
    Create {
        /// Keep only the newest N complete backups in DEST
        #[arg(long, value_name = "N")]
        keep: Option<usize>,
        /// Run this (sh -c) after the backup, with its path in $PDS_BACKUP_DIR: send it
        /// off the machine (encrypted: it holds pds.env's secrets)
        #[arg(long, value_name = "CMD")]
        then: Option<String>,
        /// Record this relay's cursor (repeatable) [default: each one in PDS_CRAWLERS]
        #[arg(long, value_name = "URL")]
        relay: Vec<String>,
        /// Where backups go (each one a new directory in it)
        dest: PathBuf,
    },
    /// Check a backup without touching the PDS: databases' integrity, every account's
    /// repo, key and blobs, each key against its DID document, every file's hash. Exit 0
    /// when sound; 1 naming each account (DID) or blob (CID) at fault
    #[command(
        after_help = "Examples:\n  pds-wizard backup verify /var/backups/pds/pds-20261207T030000Z"
    )]
    Verify {
        /// Do not ask the PLC directory for the DID documents
        #[arg(long)]
        offline: bool,
        /// The backup (a directory made by backup create)
        dir: PathBuf,
    },
    /// The backups in DEST, newest first: when, accounts, size, verified
    #[command(after_help = "Example:\n  pds-wizard backup list /var/backups/pds")]
    List {
        /// Where the backups are
        dest: PathBuf,
    },
    /// Restore a backup's data (databases, actors/, blocks/) into DATA_DIR: verified first;
    /// refused while a PDS runs on DATA_DIR; what is there is moved aside, never deleted.
    /// When DATA_DIR is the one pds.env names, the PDS is then started (through the relay
    /// repair when a relay's cursor is past the restored events) and checked. Off a
    /// terminal it needs --yes. Exit 0: restored (and, when started, every check passed)
    #[command(
        after_help = "Examples:\n  pds-wizard backup restore /var/backups/pds/pds-20261207T030000Z --to /pds\n  pds-wizard backup restore /mnt/old/pds-20261207T030000Z --to /srv/pds-test --yes"
    )]
    Restore {
        /// The backup to restore
        dir: PathBuf,
        /// The data directory to restore into
        #[arg(long, value_name = "DATA_DIR")]
        to: PathBuf,
        /// Restore without asking
        #[arg(long)]
        yes: bool,
        /// Do not start the PDS afterwards
        #[arg(long)]
        no_start: bool,
        /// Compare with this relay (repeatable) [default: each one in PDS_CRAWLERS]
        #[arg(long, value_name = "URL")]
        relay: Vec<String>,
        /// How long to watch a repaired relay
        #[arg(long, value_name = "SECONDS", default_value = "60", value_parser = super::parse_timeout)]
        watch: Duration,
    },
    /// Move this PDS to a new server under the same hostname: the steps in order, each
    /// with the machine it runs on and its command (nothing is run)
    #[command(
        name = "move-guide",
        after_help = "Examples:\n  pds-wizard backup move-guide --to root@new.example.com\n  pds-wizard --json backup move-guide --to root@203.0.113.7 /var/backups/pds"
    )]
    MoveGuide {
        /// The new server, as rsync and ssh reach it (user@host)
        #[arg(long, value_name = "SSH_DEST")]
        to: String,
        /// Where backups go
        #[arg(default_value = "/var/backups/pds")]
        dest: PathBuf,
    },
    /// Back up on a schedule: a systemd service and timer running `backup create` (each
    /// backup verified), validated by systemd-analyze, shown before written
    #[command(
        after_help = "Examples:\n  pds-wizard backup schedule --every day --keep 14 /var/backups/pds\n  pds-wizard backup schedule --every hour --keep 48 --yes /var/backups/pds"
    )]
    Schedule {
        /// day or hour
        #[arg(long, value_name = "WHEN", value_parser = schedule::Every::parse)]
        every: schedule::Every,
        /// Keep only the newest N complete backups
        #[arg(long, value_name = "N")]
        keep: Option<usize>,
        /// Run this (sh -c) after each backup, with its path in $PDS_BACKUP_DIR
        #[arg(long, value_name = "CMD")]
        then: Option<String>,
        /// Where the units go
        #[arg(
            long,
            env = "PDS_WIZARD_UNIT_DIR",
            default_value = "/etc/systemd/system",
            value_name = "DIR"
        )]
        unit_dir: PathBuf,
        /// Write without asking
        #[arg(long)]
        yes: bool,
        /// Where the backups go
        dest: PathBuf,
    },
}

pub fn run(ctx: &Context, cmd: &BackupCmd, json: bool) -> Result<u8> {
    match cmd {
        BackupCmd::Create {
            keep,
            then,
            relay,
            dest,
        } => create(ctx, dest, *keep, then.as_deref(), relay, json),
        BackupCmd::Verify { offline, dir } => verify(ctx, dir, !offline, json),
        BackupCmd::List { dest } => list(dest, json),
        BackupCmd::Restore {
            dir,
            to,
            yes,
            no_start,
            relay,
            watch,
        } => restore(ctx, dir, to, *yes, *no_start, relay, *watch, json),
        BackupCmd::MoveGuide { to, dest } => move_guide(ctx, to, dest, json),
        BackupCmd::Schedule {
            every,
            keep,
            then,
            unit_dir,
            yes,
            dest,
        } => schedule_cmd(ctx, *every, *keep, then.clone(), unit_dir, *yes, dest, json),
    }
}

fn load(ctx: &Context) -> Result<(Document, Resolved)> {
    let doc = Document::load(&ctx.env_file).map_err(|e| anyhow!("{e}"))?;
    let settings = Resolved::new(ctx, Some(&doc));
    Ok((doc, settings))
}

fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GB", b as f64 / (1u64 << 30) as f64),
        b if b >= 1 << 20 => format!("{:.1} MB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KB", b as f64 / 1024.0),
        b => format!("{b} bytes"),
    }
}

/// The verdict's problems and notes, on stderr when stdout carries a result of its own.
fn print_verdict(v: &backup::verify::Verdict, to_stderr: bool) {
    let lines = v
        .problems
        .iter()
        .map(|p| format!("✗ {}", p.detail))
        .chain(v.notes.iter().map(|n| format!("  note: {n}")));
    for l in lines {
        if to_stderr {
            errln!("{l}");
        } else {
            outln!("{l}");
        }
    }
}

fn create(
    ctx: &Context,
    dest: &Path,
    keep: Option<usize>,
    then: Option<&str>,
    relays: &[String],
    json: bool,
) -> Result<u8> {
    let (doc, settings) = load(ctx)?;
    let rt = super::runtime()?;
    // Progress on stderr, at most every half second per phase.
    let made = rt.block_on(backup::run::create_verified(
        &settings,
        &doc,
        backup::Layout::of(&doc, &ctx.env_file),
        dest,
        keep,
        relays,
        {
            // Each phase once, then at most a line a second while it lasts.
            let mut last: Option<(&'static str, std::time::Instant)> = None;
            move |p: &backup::create::Progress| {
                let due = match last {
                    Some((phase, at)) => phase != p.phase || at.elapsed().as_secs() >= 1,
                    None => true,
                };
                if !json && (due || p.done == p.total) {
                    errln!("  {} {}/{}", p.phase, p.done, p.total);
                    last = Some((p.phase, std::time::Instant::now()));
                }
            }
        },
    ));
    let made = match made {
        Ok(m) => m,
        Err(e) => {
            errln!("error: no backup made: {e}");
            return Ok(EXIT_ERROR);
        }
    };
    let mut code = if made.complete {
        EXIT_OK
    } else {
        EXIT_FINDINGS
    };
    let then_out = match (then, made.complete) {
        (Some(cmd), true) => Some(backup::run::then(
            cmd,
            &made.path,
            Duration::from_secs(6 * 3600),
        )),
        _ => None,
    };
    if matches!(then_out, Some(Err(_))) {
        code = EXIT_FINDINGS;
    }
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "backup": made,
                "then": then_out.as_ref().map(|r| match r { Ok(o) => serde_json::json!({"ok": true, "output": o}), Err(e) => serde_json::json!({"ok": false, "error": e}) }),
            }))?
        );
        return Ok(code);
    }
    let m = &made.manifest;
    let bytes: u64 = m.files.iter().map(|f| f.size).sum();
    errln!(
        "{} {} account(s), {} blob(s), {} file(s), {} in {:.1} s; newest event #{}",
        if made.complete {
            "✓ backed up"
        } else {
            "✗ backed up, not sound:"
        },
        m.accounts.len(),
        made.verdict.blobs,
        m.files.len(),
        size(bytes),
        made.seconds,
        m.newest_seq.unwrap_or(0)
    );
    print_verdict(&made.verdict, true);
    for n in &made.notes {
        errln!("  note: {n}");
    }
    for r in &made.removed {
        errln!("  removed {} (--keep)", r.display());
    }
    if made.complete {
        errln!(
            "  verified: every database sound, {} key(s) matching their DID documents",
            made.verdict.keys_checked
        );
        errln!("  it holds pds.env's secrets: encrypt it before it leaves this machine");
    }
    match then_out {
        Some(Ok(o)) if !o.trim().is_empty() => errln!("{}", o.trim_end()),
        Some(Err(e)) => errln!("✗ {e}"),
        _ => {}
    }
    // The path alone on stdout: what a script reads.
    outln!("{}", made.path.display());
    Ok(code)
}

fn verify(ctx: &Context, dir: &Path, online: bool, json: bool) -> Result<u8> {
    let settings = match Document::load(&ctx.env_file) {
        Ok(doc) => Resolved::new(ctx, Some(&doc)),
        Err(_) => Resolved::new(ctx, None),
    };
    let rt = super::runtime()?;
    let v = rt.block_on(backup::run::verify_dir(&settings, dir, online));
    if json {
        outln!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print_verdict(&v, false);
        if v.sound() {
            outln!(
                "✓ {} is sound: {} account(s), {} blob(s), {} file(s) as recorded, {} key(s) matching their DID documents",
                dir.display(),
                v.accounts,
                v.blobs,
                v.files,
                v.keys_checked
            );
        } else {
            outln!(
                "✗ {} is not sound: {} problem(s)",
                dir.display(),
                v.problems.len()
            );
        }
    }
    Ok(if v.sound() { EXIT_OK } else { EXIT_FINDINGS })
}

fn list(dest: &Path, json: bool) -> Result<u8> {
    let found = backup::list(dest);
    if json {
        outln!("{}", serde_json::to_string_pretty(&found)?);
        return Ok(EXIT_OK);
    }
    if found.is_empty() {
        outln!("No complete backup in {}.", dest.display());
        return Ok(EXIT_FINDINGS);
    }
    for l in &found {
        let m = l.manifest.as_ref();
        outln!(
            "{}  {} account(s)  {}  {}",
            l.name,
            m.map(|m| m.accounts.len()).unwrap_or(0),
            size(l.size),
            match &l.verified {
                Some(v) => format!("verified {}", v.at),
                None => "not verified".into(),
            }
        );
    }
    Ok(EXIT_OK)
}

#[allow(clippy::too_many_arguments)]
fn restore(
    ctx: &Context,
    dir: &Path,
    to: &Path,
    yes: bool,
    no_start: bool,
    relays: &[String],
    watch: Duration,
    json: bool,
) -> Result<u8> {
    use std::io::IsTerminal;
    let (doc, settings) = load(ctx)?;
    let rt = super::runtime()?;
    let v = rt.block_on(backup::run::verify_dir(&settings, dir, true));
    if !v.sound() {
        print_verdict(&v, true);
        errln!("error: {} is not sound: nothing restored", dir.display());
        return Ok(EXIT_FINDINGS);
    }
    if !json {
        outln!("✓ verified: {} account(s), {} blob(s)", v.accounts, v.blobs);
    }
    let before = backup::restore::inspect(to);
    if !before.running.is_empty() {
        errln!(
            "error: a PDS is running on {}: {} hold(s) its files open; stop it first (systemctl stop pds)",
            to.display(),
            before.running.join(", ")
        );
        return Ok(EXIT_ERROR);
    }
    if !before.present.is_empty() {
        outln!(
            "{} holds PDS data: {}. It will be moved into {}/before-restore-… (nothing is deleted).",
            to.display(),
            before.present.join(", "),
            to.display()
        );
    }
    let terminal = std::io::stdin().is_terminal();
    let go = yes
        || (!json && terminal && {
            use std::io::BufRead;
            err!("Restore {} into {}? [y/N] ", dir.display(), to.display());
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            matches!(line.trim(), "y" | "Y" | "yes")
        });
    if !go {
        outln!(
            "Nothing restored{}.",
            if terminal {
                ""
            } else {
                " (not on a terminal: give --yes)"
            }
        );
        return Ok(EXIT_ERROR);
    }
    let done = match backup::restore::restore(dir, to) {
        Ok(d) => d,
        Err(e) => {
            errln!("error: {e}");
            return Ok(EXIT_ERROR);
        }
    };
    if !json {
        outln!(
            "✓ restored {} file(s), {} into {}{}",
            done.files,
            size(done.bytes),
            to.display(),
            done.moved_aside
                .as_ref()
                .map(|a| format!("; what was there is in {}", a.display()))
                .unwrap_or_default()
        );
    }
    let manifest: backup::Manifest =
        serde_json::from_slice(&std::fs::read(dir.join(backup::MANIFEST))?)?;
    // Started only when this is the data directory pds.env's PDS runs on.
    let configured = crate::pds::data::data_dir(&doc);
    let same = std::fs::canonicalize(&configured).ok() == std::fs::canonicalize(to).ok();
    let steps = if no_start || !same {
        if !json {
            outln!(
                "Not started{}. Start the PDS on it, then: pds-wizard relay repair",
                if no_start {
                    " (--no-start)".to_string()
                } else {
                    format!(" (pds.env's PDS runs on {})", configured.display())
                }
            );
        }
        vec![]
    } else {
        rt.block_on(backup::run::after_restore(
            &settings,
            &doc,
            &manifest,
            to,
            relays,
            watch,
            |f| {
                if !json {
                    outln!("{f}");
                }
            },
        ))
    };
    let ok = backup::run::restored_well(&steps);
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({"verdict": v, "restored": done, "steps": steps})
            )?
        );
    }
    Ok(if ok { EXIT_OK } else { EXIT_FINDINGS })
}

#[allow(clippy::too_many_arguments)]
fn schedule_cmd(
    ctx: &Context,
    every: schedule::Every,
    keep: Option<usize>,
    then: Option<String>,
    unit_dir: &Path,
    yes: bool,
    dest: &Path,
    json: bool,
) -> Result<u8> {
    use std::io::IsTerminal;
    let exe = std::env::current_exe()?;
    let env_file = std::path::absolute(&ctx.env_file)?;
    let dest = std::path::absolute(dest)?;
    let s = schedule::Schedule {
        every,
        dest,
        keep,
        exe,
        env_file,
        then,
    };
    let units = s.units();
    let validation = schedule::validate(&units, super::validation_limit(ctx));
    let mut diffs = Vec::new();
    for (name, text) in &units {
        let path = unit_dir.join(name);
        let old = crate::fsutil::read_target(&path, crate::fsutil::Links::Refuse)
            .map_err(|e| anyhow!("{e}"))?
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        diffs.push((path, old, text.clone()));
    }
    if !json {
        for (path, old, new) in &diffs {
            outln!("--- {}", path.display());
            for l in crate::envfile::display::changed_lines(old, new) {
                outln!("{l}");
            }
        }
        outln!(
            "{}",
            match &validation {
                crate::pds::service::Validation::Valid { tool } => format!("✓ {tool}: valid"),
                crate::pds::service::Validation::Invalid { tool, output } =>
                    format!("✗ {tool}: {}", output.trim()),
                crate::pds::service::Validation::Unchecked { tool } =>
                    format!("! {tool} is not here: not validated"),
            }
        );
    }
    if matches!(validation, crate::pds::service::Validation::Invalid { .. }) {
        errln!("error: the units do not validate: nothing written");
        return Ok(EXIT_ERROR);
    }
    let terminal = std::io::stdin().is_terminal();
    let go = yes
        || (!json && terminal && {
            use std::io::BufRead;
            err!("Write them? [y/N] ");
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            matches!(line.trim(), "y" | "Y" | "yes")
        });
    if !go {
        outln!(
            "Nothing written{}.",
            if terminal {
                ""
            } else {
                " (not on a terminal: give --yes)"
            }
        );
        return Ok(EXIT_ERROR);
    }
    for (path, _, text) in &diffs {
        let r = crate::fsutil::safe_write(
            path,
            text.as_bytes(),
            crate::fsutil::WriteOptions::file(0o644, 5),
        )
        .map_err(|e| anyhow!("{e}"))?;
        if !json {
            outln!("{}", r.describe());
        }
    }
    let enable = ["systemctl", "daemon-reload"];
    let now = ["systemctl", "enable", "--now", schedule::TIMER];
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({"schedule": s, "validation": validation, "written": diffs.iter().map(|d| &d.0).collect::<Vec<_>>()})
            )?
        );
    } else if unit_dir == Path::new("/etc/systemd/system")
        && Path::new("/run/systemd/system").is_dir()
    {
        for cmd in [&enable[..], &now[..]] {
            let ran =
                crate::run::may_change_machine(cmd).and_then(|_| {
                    match crate::run::run_bounded(cmd[0], &cmd[1..], Duration::from_secs(30)) {
                        crate::run::Ran::Done { ok: true, .. } => Ok(()),
                        crate::run::Ran::Done { text, .. } => Err(text),
                        crate::run::Ran::CannotRun(e) => Err(e),
                        crate::run::Ran::TimedOut => Err("timed out".into()),
                    }
                });
            match ran {
                Ok(()) => outln!("✓ {}", cmd.join(" ")),
                Err(e) => outln!("✗ {}: {}", cmd.join(" "), e.trim()),
            }
        }
    } else {
        outln!(
            "Then: systemctl daemon-reload && systemctl enable --now {}",
            schedule::TIMER
        );
    }
    Ok(EXIT_OK)
}

fn move_guide(ctx: &Context, to: &str, dest: &Path, json: bool) -> Result<u8> {
    let (doc, settings) = load(ctx)?;
    let host = settings
        .hostname
        .clone()
        .unwrap_or_else(|| "PDS_HOSTNAME".into());
    let env_file = std::path::absolute(&ctx.env_file)?;
    let guide = backup::moving::guide(
        &host,
        &env_file,
        &crate::pds::data::data_dir(&doc),
        &std::path::absolute(dest)?,
        to,
    );
    if json {
        outln!("{}", serde_json::to_string_pretty(&guide)?);
        return Ok(EXIT_OK);
    }
    outln!("Moving {host} to {to}, the same hostname:");
    for (i, s) in guide.iter().enumerate() {
        outln!("{:>2}. [{}] {}", i + 1, s.on.label(), s.what);
        if let Some(c) = &s.command {
            outln!("      {c}");
        }
    }
    Ok(EXIT_OK)
}

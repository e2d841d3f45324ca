//! `pds-wizard env …`: read, edit and check pds.env.

use super::{EXIT_FINDINGS, EXIT_OK};
use crate::context::Context;
use crate::envfile::display::{changed_lines, shown_value};
use crate::envfile::{self, catalogue, Document};
use crate::finding::{worst, Finding, Level};
use anyhow::{bail, Context as _, Result};
use clap::Subcommand;
use serde_json::json;
use std::io::{BufRead, IsTerminal};
use std::os::unix::fs::MetadataExt;

#[derive(Debug, Subcommand)]
pub enum EnvCmd {
    /// Show every key and value (secrets masked)
    #[command(
        after_help = "Examples:\n  pds-wizard env show\n  pds-wizard --env-file /srv/pds/pds.env env show"
    )]
    Show,
    /// Print one value (secrets only with --reveal)
    #[command(
        after_help = "Examples:\n  pds-wizard env get PDS_HOSTNAME\n  pds-wizard env get PDS_ADMIN_PASSWORD --reveal"
    )]
    Get {
        /// The pds.env key, e.g. PDS_HOSTNAME
        key: String,
        /// Print a secret value instead of a mask
        #[arg(long)]
        reveal: bool,
    },
    /// Set KEY=VALUE (validated). For secrets give VALUE as `-` and pipe it on stdin
    #[command(
        after_help = "Examples:\n  pds-wizard env set PDS_BLOB_UPLOAD_LIMIT=104857600\n  printf '%s\\n' \"$PASSWORD\" | pds-wizard env set PDS_ADMIN_PASSWORD=-"
    )]
    Set {
        /// The key and its value; VALUE `-` reads it from standard input (for secrets)
        #[arg(value_name = "KEY=VALUE")]
        assignment: String,
        /// Show the change without writing it
        #[arg(long)]
        dry_run: bool,
        /// Allow replacing the PLC rotation key or the JWT secret of an existing install,
        /// renaming a PDS that hosts accounts (PDS_HOSTNAME), or writing a key that looks
        /// like a misspelling of one the PDS reads
        #[arg(long)]
        force: bool,
    },
    /// Remove every line that sets KEY
    #[command(after_help = "Example:\n  pds-wizard env unset PDS_INVITE_REQUIRED --dry-run")]
    Unset {
        /// The pds.env key to remove
        key: String,
        /// Show the change without writing it
        #[arg(long)]
        dry_run: bool,
        /// Allow removing a key the PDS needs to start
        #[arg(long)]
        force: bool,
    },
    /// Check every line and value; exit 1 when something fails
    #[command(after_help = "Examples:\n  pds-wizard env check\n  pds-wizard --json env check")]
    Check,
    /// Write a fresh pds.env as the official installer does (never overwrites)
    #[command(
        after_help = "Example:\n  pds-wizard env init --hostname pds.example.com --admin-email you@example.com"
    )]
    Init {
        /// Public DNS name of the PDS (not an IP address) [asked on a terminal when not given]
        #[arg(long)]
        hostname: Option<String>,
        /// Admin email (the installer gives it to Caddy for certificates) [asked on a
        /// terminal when not given]
        #[arg(long)]
        admin_email: Option<String>,
        /// PDS_DATA_DIRECTORY
        #[arg(long, default_value = "/pds")]
        data_dir: String,
    },
}

pub fn run(ctx: &Context, cmd: &EnvCmd, json: bool) -> Result<u8> {
    match cmd {
        EnvCmd::Show => show(ctx, json),
        EnvCmd::Get { key, reveal } => get(ctx, key, *reveal, json),
        EnvCmd::Set {
            assignment,
            dry_run,
            force,
        } => set(ctx, assignment, *dry_run, *force, json),
        EnvCmd::Unset {
            key,
            dry_run,
            force,
        } => unset(ctx, key, *dry_run, *force, json),
        EnvCmd::Check => check(ctx, json),
        EnvCmd::Init {
            hostname,
            admin_email,
            data_dir,
        } => {
            if ctx.env_file.exists() {
                bail!(
                    "{} already exists: env init never overwrites it (edit it with pds-wizard)",
                    ctx.env_file.display()
                );
            }
            let hostname = answer(
                hostname.as_deref(),
                "hostname",
                "Public DNS name of the PDS (e.g. pds.example.com)",
                crate::envfile::catalogue::check_hostname,
            )?;
            let email = answer(
                admin_email.as_deref(),
                "admin-email",
                "Admin email (for certificates and as the contact address)",
                crate::envfile::catalogue::check_email,
            )?;
            init(ctx, &hostname, &email, data_dir, json)
        }
    }
}

fn load(ctx: &Context) -> Result<Document> {
    exists(ctx)?;
    Ok(Document::load(&ctx.env_file)?)
}

/// Loaded to be changed: under the file's lock until the change is saved (or dropped).
fn load_for_edit(ctx: &Context, dry_run: bool) -> Result<Document> {
    exists(ctx)?;
    Ok(if dry_run {
        Document::load(&ctx.env_file)?
    } else {
        Document::load_for_edit(&ctx.env_file)?
    })
}

fn exists(ctx: &Context) -> Result<()> {
    if !ctx.env_file.exists() {
        bail!(
            "{} does not exist. Point --env-file (or PDS_ENV_FILE) at your pds.env, or create one with `pds-wizard env init`",
            ctx.env_file.display()
        );
    }
    Ok(())
}

fn show(ctx: &Context, json: bool) -> Result<u8> {
    let doc = load(ctx)?;
    let entries = doc.entries();
    if json {
        let items: Vec<_> = entries
            .iter()
            .map(|(k, v, line)| {
                let info = catalogue::lookup(k);
                json!({
                    "key": k,
                    "value": v.as_ref().and_then(|_| shown_value(&doc, k)),
                    "line": line,
                    "known": catalogue::pds_reads(k),
                    "secret": crate::envfile::sensitive::is_secret_key(k),
                    "group": info.map(|i| i.group.label()),
                })
            })
            .collect();
        outln!(
            "{}",
            serde_json::to_string_pretty(&json!({ "file": ctx.env_file, "entries": items }))?
        );
        return Ok(EXIT_OK);
    }
    let width = entries.iter().map(|(k, _, _)| k.len()).max().unwrap_or(0);
    outln!("# {}", ctx.env_file.display());
    for (k, v, _) in &entries {
        let shown = match v {
            Some(_) => shown_value(&doc, k).unwrap_or_default(),
            None => "(not a plain value: see `env check`)".into(),
        };
        let note = if !catalogue::pds_reads(k) {
            "   (not read by the PDS)"
        } else {
            ""
        };
        outln!("{k:<width$} = {shown}{note}");
    }
    Ok(EXIT_OK)
}

fn get(ctx: &Context, key: &str, reveal: bool, json: bool) -> Result<u8> {
    let doc = load(ctx)?;
    let Some(value) = doc.get(key) else {
        if json {
            outln!("{}", json!({ "key": key, "value": null }));
        } else {
            errln!("{key} is not set in {}", ctx.env_file.display());
        }
        return Ok(EXIT_FINDINGS);
    };
    if reveal {
        // The one way to see a secret: asked for by name, printed as is (not scrubbed).
        if json {
            println!("{}", json!({ "key": key, "value": value }));
        } else {
            println!("{value}");
        }
        return Ok(EXIT_OK);
    }
    let shown = shown_value(&doc, key).unwrap_or_default();
    if json {
        outln!("{}", json!({ "key": key, "value": shown }));
    } else {
        outln!("{shown}");
    }
    Ok(EXIT_OK)
}

/// A value given as `-` is read from standard input (one line), so secrets never appear
/// in the process list or shell history.
fn read_value(raw: &str) -> Result<String> {
    if raw != "-" {
        return Ok(raw.to_string());
    }
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return rpassword::prompt_password("Value (not shown as you type): ")
            .context("cannot read the value from the terminal");
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .context("cannot read the value from standard input")?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

fn print_findings_for(key: &str, value: &str) {
    if let Some(info) = catalogue::lookup(key) {
        for f in catalogue::validate(info, value) {
            errln!("{f}");
        }
    }
}

/// Keys whose replacement breaks an existing install.
const IDENTITY_KEYS: &[(&str, &str)] = &[
    ("PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX", "every account's did:plc identity is tied to this key: with a new one the PDS can no longer update them"),
    ("PDS_JWT_SECRET", "every session is signed with it: all users are logged out and apps must sign in again"),
];

fn set(ctx: &Context, assignment: &str, dry_run: bool, force: bool, json: bool) -> Result<u8> {
    let Some((key, raw)) = assignment.split_once('=') else {
        // Not quoted back: what was typed may be a secret pasted without its KEY=.
        bail!("expected KEY=VALUE (use KEY=- to read the value from stdin)");
    };
    if !envfile::is_env_name(key) {
        bail!("{key:?} is not a valid variable name");
    }
    // A key the PDS does not read, but almost does, is a typo that would sit dead in the
    // file while the PDS uses its default.
    if let (Some(near), false) = (catalogue::near_miss(key), force) {
        bail!(
            "{key} is not a key the PDS reads; did you mean {near}? Nothing was written (--force writes {key} anyway)"
        );
    }
    // A secret key, or a value the masking rule would hide (a URL with a password).
    if raw != "-"
        && (crate::envfile::sensitive::is_secret_key(key)
            || crate::envfile::sensitive::mask_value(key, raw) != raw)
    {
        bail!(
            "{key} holds a secret: give it on standard input, not on the command line where other users can read it in the process list:\n    printf '%s\\n' \"$VALUE\" | pds-wizard env set {key}=-"
        );
    }
    // The value first: a prompt must not hold the lock while someone types.
    let value = read_value(raw)?;
    let mut doc = load_for_edit(ctx, dry_run)?;
    if let Some((_, why)) = IDENTITY_KEYS.iter().find(|(k, _)| *k == key) {
        let current = doc.get(key).unwrap_or_default();
        if !force && !current.is_empty() && current != value {
            bail!("{key} is already set, and replacing it is almost never right: {why}.\nIf you are restoring it from a backup, add --force.");
        }
    }
    if key == "PDS_HOSTNAME" {
        // A rename with accounts is far more than this line: said, and done only with --force.
        let settings = crate::settings::Resolved::new(ctx, Some(&doc));
        let rename =
            super::runtime()?.block_on(crate::setup::rename::impact(&doc, &value, &settings));
        if let Some(r) = rename.filter(|r| r.needs_confirmation()) {
            if !force {
                bail!(
                    "{}\n\nNothing was written. To rename anyway: pds-wizard env set PDS_HOSTNAME={} --force",
                    r.explain(),
                    r.to
                );
            }
            errln!("{}\n", r.explain());
        }
    }
    if key == "PDS_PORT" {
        if let Ok(port) = value.trim().parse::<u16>() {
            let current = doc.get(key).and_then(|v| v.trim().parse().ok());
            crate::pds::sockets::port_for_pds(port, current)
                .map_err(|e| anyhow::anyhow!("{e}; nothing was written"))?;
        }
    }
    let before = doc.render();
    if let Err(e) = doc.set(key, &value) {
        // Refused by a finding: each of them, with their fixes, not only the first's headline.
        if matches!(e, crate::envfile::EnvError::Invalid { .. }) {
            if let Some(info) = catalogue::lookup(key) {
                for f in catalogue::validate(info, &value)
                    .iter()
                    .filter(|f| f.level == crate::finding::Level::Fail)
                {
                    errln!("{f}");
                }
            }
            bail!(
                "{key}: nothing was written{}",
                if key == "PDS_EMAIL_SMTP_URL" {
                    "; `pds-wizard email set` composes the URL from its parts, encoded, and `pds-wizard email repair` repairs the one in pds.env"
                } else {
                    ""
                }
            );
        }
        return Err(e.into());
    }
    print_findings_for(key, &value);
    write_change(ctx, &mut doc, &before, dry_run, json)
}

fn unset(ctx: &Context, key: &str, dry_run: bool, force: bool, json: bool) -> Result<u8> {
    if !force && catalogue::lookup(key).is_some_and(|k| k.required) {
        bail!("{key} is needed for the PDS to start; pass --force to remove it anyway");
    }
    let mut doc = load_for_edit(ctx, dry_run)?;
    let before = doc.render();
    doc.unset(key)?;
    write_change(ctx, &mut doc, &before, dry_run, json)
}

fn write_change(
    ctx: &Context,
    doc: &mut Document,
    before: &str,
    dry_run: bool,
    json: bool,
) -> Result<u8> {
    let after = doc.render();
    let diff = changed_lines(before, &after);
    if diff.is_empty() {
        if json {
            outln!("{}", json!({ "changed": false }));
        } else {
            outln!("No change: {} already says that.", ctx.env_file.display());
        }
        return Ok(EXIT_OK);
    }
    let report = if dry_run { None } else { Some(doc.save()?) };
    if json {
        outln!(
            "{}",
            json!({
                "changed": true,
                "written": !dry_run,
                "diff": diff,
                "backup": report.as_ref().and_then(|r| r.backup.clone()),
            })
        );
        return Ok(EXIT_OK);
    }
    for l in &diff {
        outln!("{l}");
    }
    match report {
        None => outln!("(dry run: nothing written)"),
        Some(r) => {
            out!("Saved {}", r.describe());
            outln!(
                ".\nRestart the PDS for it to take effect: {}",
                crate::pds::restart_hint(ctx)
            );
        }
    }
    Ok(EXIT_OK)
}

fn check(ctx: &Context, json: bool) -> Result<u8> {
    let doc = load(ctx)?;
    let mode = std::fs::metadata(&ctx.env_file).ok().map(|m| m.mode());
    let findings = envfile::check(&doc, mode);
    let level = worst(&findings);
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(
                &json!({ "file": ctx.env_file, "worst": level, "findings": findings })
            )?
        );
    } else {
        print_findings(&findings);
    }
    Ok(if level == Level::Fail {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    })
}

fn print_findings(findings: &[Finding]) {
    let mut sorted: Vec<&Finding> = findings.iter().collect();
    sorted.sort_by_key(|f| std::cmp::Reverse(f.level));
    for f in sorted {
        outln!("{f}");
    }
    let count = |l| findings.iter().filter(|f| f.level == l).count();
    outln!(
        "\n{} failed, {} warnings, {} notes",
        count(Level::Fail),
        count(Level::Warn),
        count(Level::Info)
    );
}

/// `given`, or — on a terminal — the operator's answer, asked until `check` takes it (each
/// refusal says why). Without a terminal, the missing flag is an error.
fn answer(
    given: Option<&str>,
    flag: &str,
    question: &str,
    check: impl Fn(&str) -> Result<(), String>,
) -> Result<String> {
    if let Some(v) = given {
        return Ok(v.to_string());
    }
    if !std::io::stdin().is_terminal() {
        bail!("give --{flag} (it is asked only on a terminal)");
    }
    let stdin = std::io::stdin();
    loop {
        err!("{question}: ");
        let mut line = String::new();
        if stdin.lock().read_line(&mut line)? == 0 {
            bail!("no answer for --{flag}");
        }
        let v = line.trim();
        match check(v) {
            Ok(()) => return Ok(v.to_string()),
            Err(why) => errln!("  ✗ {why}"),
        }
    }
}

fn init(ctx: &Context, hostname: &str, email: &str, data_dir: &str, json: bool) -> Result<u8> {
    envfile::init_file(&ctx.env_file, hostname, email, data_dir)?;
    if json {
        outln!("{}", json!({ "file": ctx.env_file, "created": true }));
    } else {
        outln!(
            "Wrote {} (mode 0600) with fresh PDS_JWT_SECRET, PDS_ADMIN_PASSWORD and PLC rotation key.\n\
             Back this file up: the rotation key controls your accounts' identities and cannot be recreated.\n\
             Next: run `pds-wizard{}` to set up email, handles and the reverse proxy.",
            ctx.env_file.display(),
            // The file in use, when it is not the default: the next command must find it.
            if ctx.env_file == std::path::Path::new(crate::context::DEFAULT_ENV_FILE) {
                String::new()
            } else {
                format!(" --env-file {}", ctx.env_file.display())
            }
        );
    }
    Ok(EXIT_OK)
}

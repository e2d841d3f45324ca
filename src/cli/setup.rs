//! First setup from the command line: `records` (where this server is and its two address
//! records, checked live), `service` (how the PDS runs; writing and starting what the
//! official installer writes) and `status` (every milestone of a setup, checked live).

use super::{EXIT_ERROR, EXIT_FINDINGS, EXIT_OK};
use crate::addresses;
use crate::context::Context;
use crate::envfile::Document;
use crate::pds::service::{self, Docker, Front, Running, Validation, Waited};
use crate::settings::Resolved;
use crate::setup::{self, State};
use anyhow::{anyhow, bail, Result};
use clap::{Subcommand, ValueEnum};
use serde_json::json;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Subcommand)]
pub enum ServiceCmd {
    /// How the PDS runs here (the pds systemd unit, a container named pds, a process on
    /// PDS_PORT, or nothing) and whether Docker can run it (the default)
    #[command(after_help = "Examples:\n  pds-wizard service status\n  pds-wizard service")]
    Status,
    /// Write what the official installer writes: compose.yaml beside pds.env, the systemd
    /// unit pds.service and (with its Caddy) the Caddyfile; each shown as a diff, checked
    /// by docker compose config and systemd-analyze verify where they exist, then written
    /// with a backup of what was there
    #[command(
        after_help = "Examples:\n  pds-wizard service write --dry-run\n  pds-wizard service write --yes\n  pds-wizard service write --front own-proxy --bind 100.101.102.103 --yes"
    )]
    Write {
        /// What serves HTTPS in front of the PDS: the installer's Caddy container, or your
        /// own proxy (nginx…), the PDS then published on --bind only
        #[arg(long, value_enum, default_value = "caddy")]
        front: FrontArg,
        /// With --front own-proxy: the address the PDS is published on (127.0.0.1, or a
        /// private address such as a Tailscale IP for a proxy on another machine)
        #[arg(long, default_value = "127.0.0.1")]
        bind: IpAddr,
        /// Where pds.service goes (the wizard's Server step honours the same variable)
        #[arg(
            long,
            env = "PDS_WIZARD_UNIT_DIR",
            default_value = "/etc/systemd/system",
            value_name = "DIR"
        )]
        unit_dir: PathBuf,
        /// Show the files and their diffs, write nothing
        #[arg(long)]
        dry_run: bool,
        /// Write even when a validator refuses a file
        #[arg(long)]
        force: bool,
        /// Write without asking (what a script says; off a terminal, without it nothing is
        /// written and the exit code is 2)
        #[arg(long)]
        yes: bool,
    },
    /// Start the PDS (--restart-command when given; else systemctl enable --now pds; else
    /// docker compose up) and wait until /xrpc/_health answers
    #[command(
        after_help = "Examples:\n  pds-wizard service start\n  pds-wizard service start --wait 300"
    )]
    Start {
        /// How long to wait for the PDS to answer (the first start pulls its image)
        #[arg(long, default_value = "120", value_name = "SECONDS", value_parser = super::parse_timeout)]
        wait: Duration,
        /// Where pds.service was written (to name the compose file when systemd is absent)
        #[arg(
            long,
            env = "PDS_WIZARD_UNIT_DIR",
            default_value = "/etc/systemd/system",
            value_name = "DIR"
        )]
        unit_dir: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FrontArg {
    Caddy,
    OwnProxy,
}

fn load(ctx: &Context) -> Result<Document> {
    Document::load(&ctx.env_file).map_err(|e| {
        anyhow!(
            "{e} (run pds-wizard --env-file {} env init first)",
            ctx.env_file.display()
        )
    })
}

/// `records`: exit 0 when both names point here, 1 otherwise.
pub fn records(ctx: &Context, json: bool) -> Result<u8> {
    let echo = ctx.ip_echo.as_deref();
    let doc = load(ctx)?;
    let settings = Resolved::new(ctx, Some(&doc));
    let Some(host) = settings.hostname.clone() else {
        bail!("PDS_HOSTNAME is not set in {}", ctx.env_file.display());
    };
    let plan = super::runtime()?.block_on(addresses::plan(&host, echo, &settings.dns));
    let findings = addresses::findings(&plan);
    let code = if plan.ready() { EXIT_OK } else { EXIT_FINDINGS };
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "plan": plan,
                "ready": plan.ready(),
                "findings": findings,
            }))?
        );
        return Ok(code);
    }
    outln!("This server's addresses:");
    if plan.machine.is_empty() {
        outln!("  (none but loopback)");
    }
    for m in &plan.machine {
        let scope = match m.scope {
            addresses::Scope::Public => "public",
            addresses::Scope::Private => "private: not reachable from the internet",
        };
        outln!("  {:<24} {:<10} {scope}", m.ip, m.interface);
    }
    match (&plan.echoed, &plan.echo_error) {
        (Some(ip), _) => outln!(
            "  {ip:<24} {:<10} as the internet sees it ({})",
            "echo",
            echo.unwrap_or("")
        ),
        (None, Some(e)) => outln!("  the address echo service did not say: {e}"),
        _ => {}
    }
    // Never a private address: with none public, the first finding says how to find it.
    if !plan.records.is_empty() {
        outln!("\nCreate these records at your DNS provider (TTL 600 is fine):");
    }
    for r in &plan.records {
        outln!("  {:<40} {:<5} {}", r.name, r.kind.as_str(), r.value);
    }
    outln!("\nWhat DNS says now:");
    for f in &findings {
        outln!("{f}");
    }
    Ok(code)
}

fn plan(ctx: &Context, doc: &Document, front: Front, unit_dir: &Path) -> Result<service::Plan> {
    service::Plan::new(doc, &ctx.env_file, front, unit_dir, ctx.timeout).map_err(|e| anyhow!(e))
}

pub fn service(ctx: &Context, cmd: &Option<ServiceCmd>, json: bool) -> Result<u8> {
    match cmd.as_ref().unwrap_or(&ServiceCmd::Status) {
        ServiceCmd::Status => status_of_service(ctx, json),
        ServiceCmd::Write {
            front,
            bind,
            unit_dir,
            dry_run,
            force,
            yes,
        } => write(
            ctx,
            WriteArgs {
                front: *front,
                bind: *bind,
                unit_dir,
                dry_run: *dry_run,
                force: *force,
                yes: *yes,
            },
            json,
        ),
        ServiceCmd::Start { wait, unit_dir } => start(ctx, *wait, unit_dir, json),
    }
}

fn docker_advice(d: &Docker) -> Vec<String> {
    match d {
        Docker::Ready => vec![],
        Docker::NoEngine { detail } => vec![
            format!("Docker's engine does not answer ({detail})."),
            "Start it: sudo systemctl enable --now docker (or run pds-wizard with sudo)".into(),
        ],
        Docker::Missing => {
            let os = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
            let mut v =
                vec!["Docker is not installed. Install it as the official installer does:".into()];
            v.extend(
                service::docker_install_steps(&os)
                    .into_iter()
                    .map(|s| format!("  {s}")),
            );
            v
        }
    }
}

fn status_of_service(ctx: &Context, json: bool) -> Result<u8> {
    let doc = load(ctx)?;
    let running = service::detect(service::pds_port(&doc), ctx.timeout);
    let docker = service::docker(ctx.timeout);
    let compose = service::compose_command(ctx.timeout);
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "running": running,
                "up": running.is_up(),
                "docker": docker,
                "compose": compose,
            }))?
        );
    } else {
        outln!("{}", running.describe());
        if running == Running::Nothing {
            for l in docker_advice(&docker) {
                outln!("{l}");
            }
            outln!("Next: pds-wizard service write, then pds-wizard service start");
        }
    }
    Ok(if running.is_up() {
        EXIT_OK
    } else {
        EXIT_FINDINGS
    })
}

fn validation_line(v: &Validation) -> (bool, String) {
    match v {
        Validation::Valid { tool } => (true, format!("✓ {tool}: valid")),
        Validation::Invalid { tool, output } => (false, format!("✗ {tool}: {output}")),
        Validation::Unchecked { tool } => (true, format!("· {tool}: not installed, not checked")),
    }
}

/// What `service write` was asked to do.
struct WriteArgs<'a> {
    front: FrontArg,
    bind: IpAddr,
    unit_dir: &'a Path,
    dry_run: bool,
    force: bool,
    yes: bool,
}

/// The installer's files, merged into the operator's where they are there: shown as diffs
/// with what the merge kept, checked by each file's own tool, then written after a yes (a
/// script says --yes; off a terminal without it, exit 2 and nothing written).
fn write(ctx: &Context, a: WriteArgs, json: bool) -> Result<u8> {
    use std::io::IsTerminal;
    let doc = load(ctx)?;
    let settings = Resolved::new(ctx, Some(&doc));
    let Some(host) = settings.hostname.clone() else {
        bail!("PDS_HOSTNAME is not set in {}", ctx.env_file.display());
    };
    let front = match a.front {
        FrontArg::Caddy => Front::Caddy {
            admin_email: service::caddy_email(doc.get("PDS_CONTACT_EMAIL_ADDRESS").as_deref())
                .map_err(|e| anyhow!(e))?,
        },
        FrontArg::OwnProxy => Front::OwnProxy { bind: a.bind },
    };
    let plan = plan(ctx, &doc, front, a.unit_dir)?;
    let files = plan
        .files(&host)
        .map_err(|e| anyhow!("{e}; nothing was written"))?;
    let checks = service::validate_files(&files, ctx.timeout);
    let refused = service::refusal(&checks).is_some();
    let changed = files.iter().any(|f| f.changed());
    let blocked = refused && !a.force;
    let terminal = std::io::stdin().is_terminal();
    let go = changed
        && !a.dry_run
        && !blocked
        && (a.yes
            || (!json && terminal && {
                use std::io::BufRead;
                print_files(&files, &checks);
                err!("Write these files? [y/N] ");
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line)?;
                matches!(line.trim(), "y" | "Y" | "yes")
            }));
    let asked = !a.yes && !json && terminal && changed && !a.dry_run && !blocked;
    let written = if go {
        service::write(&files).map_err(|e| anyhow!(e))?
    } else {
        vec![]
    };
    let docker = service::docker(ctx.timeout);
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "files": files.iter().map(|f| json!({"path": f.path, "kind": f.kind, "existed": f.existed, "diff": f.diff, "notes": f.notes})).collect::<Vec<_>>(),
                "validation": checks.iter().map(|(p, v)| json!({"path": p, "check": v})).collect::<Vec<_>>(),
                "written": written.iter().map(|r| json!({"path": r.path, "backup": r.backup})).collect::<Vec<_>>(),
                "docker": docker,
            }))?
        );
    } else {
        if !asked {
            print_files(&files, &checks);
        }
        for r in &written {
            outln!("Wrote {}", r.describe());
        }
        if !changed {
            outln!("Nothing to write: every file is as planned.");
        } else if blocked {
            errln!("Nothing written: a check refused a file (--force writes anyway).");
        } else if a.dry_run {
            outln!("Nothing written (--dry-run).");
        } else if !go {
            outln!(
                "Nothing written{}.",
                if terminal {
                    ""
                } else {
                    " (not on a terminal: give --yes to write these files)"
                }
            );
        } else {
            for l in docker_advice(&docker) {
                outln!("{l}");
            }
            outln!("Next: pds-wizard service start");
        }
    }
    Ok(if blocked || (changed && !go && !a.dry_run && !terminal) {
        EXIT_ERROR
    } else {
        EXIT_OK
    })
}

/// Each file's diff and what the merge with the operator's kept, then each check.
fn print_files(files: &[service::PlannedFile], checks: &[(PathBuf, Validation)]) {
    for f in files {
        match (f.existed, f.changed()) {
            (_, false) => outln!("{}: unchanged", f.path.display()),
            (false, true) => outln!("{} (new):", f.path.display()),
            (true, true) => outln!(
                "{} (yours, merged; the old one kept as a backup):",
                f.path.display()
            ),
        }
        if f.changed() {
            for n in &f.notes {
                outln!("  · {n}");
            }
        }
        for l in &f.diff {
            outln!("  {l}");
        }
    }
    for (_, v) in checks {
        outln!("{}", validation_line(v).1);
    }
}

fn start(ctx: &Context, wait: Duration, unit_dir: &Path, json: bool) -> Result<u8> {
    let doc = load(ctx)?;
    let settings = Resolved::new(ctx, Some(&doc));
    let plan = plan(
        ctx,
        &doc,
        Front::OwnProxy {
            bind: IpAddr::from([127, 0, 0, 1]),
        },
        unit_dir,
    )?;
    let commands = service::start_commands(ctx.restart_command.as_deref(), &plan);
    if ctx.restart_command.is_none() && service::docker(ctx.timeout) != Docker::Ready {
        for l in docker_advice(&service::docker(ctx.timeout)) {
            errln!("{l}");
        }
        bail!("the PDS runs in Docker, which cannot run here yet");
    }
    for c in &commands {
        if !json {
            outln!("Running: {}", crate::pds::shown(c));
        }
    }
    // Pulling the image on a first start takes a while: the bound is the wait.
    let rt = super::runtime()?;
    let started = rt.block_on(service::start_and_wait(
        &commands,
        &settings.local_url,
        wait,
        ctx.timeout,
        |elapsed, why| {
            if !json {
                // The carriage return and the erase-line are this line's own; what goes
                // between them passes the one rule (scrub), which escapes control bytes.
                eprint!(
                    "\r{}\x1b[K",
                    crate::secret::scrub(&format!(
                        "Waiting for {}/xrpc/_health: {:>3} s ({why})",
                        settings.local_url,
                        elapsed.as_secs()
                    ))
                );
            }
        },
    ));
    let waited = match started {
        service::Started::Failed(e) => bail!(e),
        service::Started::Up { version } => Waited::Up { version },
        service::Started::NotYet { reason } => Waited::NotYet { reason },
    };
    if !json {
        errln!("");
    }
    let (up, said) = match &waited {
        Waited::Up { version } => (
            true,
            format!(
                "The PDS answers at {} (version {}).",
                settings.local_url,
                version.as_deref().unwrap_or("not given")
            ),
        ),
        Waited::NotYet { reason } => (
            false,
            format!(
                "The PDS did not answer at {} within {} s: {reason}. Its log says why: {}",
                settings.local_url,
                wait.as_secs(),
                match crate::pds::LogSource::find(ctx) {
                    Some(crate::pds::LogSource::File(p)) => format!("tail -n 50 {}", p.display()),
                    Some(crate::pds::LogSource::Journal) => "sudo journalctl -u pds -n 50".into(),
                    _ => "sudo docker logs --tail 50 pds".into(),
                }
            ),
        ),
    };
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&json!({"commands": commands, "up": up, "said": said}))?
        );
    } else {
        outln!("{said}");
    }
    Ok(if up { EXIT_OK } else { EXIT_FINDINGS })
}

/// `status`: every milestone, checked live; exit 0 when all are done, 1 otherwise.
pub fn status(ctx: &Context, json: bool) -> Result<u8> {
    let echo = ctx.ip_echo.as_deref();
    if !ctx.env_file.exists() {
        bail!(
            "{} does not exist: run pds-wizard --env-file {} env init (or the wizard, which asks)",
            ctx.env_file.display(),
            ctx.env_file.display()
        );
    }
    let overview = super::runtime()?.block_on(setup::overview(ctx, echo));
    let code = if overview.all_done() {
        EXIT_OK
    } else {
        EXIT_FINDINGS
    };
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "all_done": overview.all_done(),
                "overview": overview,
                "next": overview.next(),
            }))?
        );
        return Ok(code);
    }
    for m in &overview.milestones {
        let mark = match m.state {
            State::Done => "✓",
            State::DoneWithWarnings => "!",
            State::Todo => "✗",
            State::Waiting => "·",
        };
        outln!("{mark} {:<46} {}", m.title, m.said);
    }
    outln!("\n{}", overview.next());
    Ok(code)
}

//! First setup from the command line: `records` (where this server is and its two address
//! records, checked live), `service` (how the PDS runs; writing and starting what the
//! official installer writes) and `status` (every milestone of a setup, checked live).

use super::{EXIT_ERROR, EXIT_FINDINGS, EXIT_OK};
use crate::context::Context;
use crate::envfile::Document;
use crate::pds::service::{self, Docker, Front, Running, Validation, Waited};
use crate::settings::Resolved;
use crate::setup::{self, addresses, State};
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
    Status,
    /// Write what the official installer writes: compose.yaml beside pds.env, the systemd
    /// unit pds.service and (with its Caddy) the Caddyfile; each shown as a diff, checked
    /// by docker compose config and systemd-analyze verify where they exist, then written
    /// with a backup of what was there
    Write {
        /// What serves HTTPS in front of the PDS: the installer's Caddy container, or your
        /// own proxy (nginx…), the PDS then published on --bind only
        #[arg(long, value_enum, default_value = "caddy")]
        front: FrontArg,
        /// With --front own-proxy: the address the PDS is published on (127.0.0.1, or a
        /// private address such as a Tailscale IP for a proxy on another machine)
        #[arg(long, default_value = "127.0.0.1")]
        bind: IpAddr,
        /// Where pds.service goes
        #[arg(long, default_value = "/etc/systemd/system", value_name = "DIR")]
        unit_dir: PathBuf,
        /// Show the files and their diffs, write nothing
        #[arg(long)]
        dry_run: bool,
        /// Write even when a validator refuses a file
        #[arg(long)]
        force: bool,
    },
    /// Start the PDS (--restart-command when given; else systemctl enable --now pds; else
    /// docker compose up) and wait until /xrpc/_health answers
    Start {
        /// How long to wait for the PDS to answer (the first start pulls its image)
        #[arg(long, default_value = "120", value_name = "SECONDS", value_parser = super::parse_timeout)]
        wait: Duration,
        /// Where pds.service was written (to name the compose file when systemd is absent)
        #[arg(long, default_value = "/etc/systemd/system", value_name = "DIR")]
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
pub fn records(ctx: &Context, echo: Option<&str>, json: bool) -> Result<u8> {
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
    outln!("\nCreate these records at your DNS provider (TTL 600 is fine):");
    for r in &plan.records {
        outln!("  {:<40} {:<5} {}", r.name, r.kind.as_str(), r.value);
    }
    outln!("\nWhat DNS says now:");
    for f in &findings {
        outln!("{f}");
    }
    Ok(code)
}

fn plan(ctx: &Context, doc: &Document, front: Front, unit_dir: &Path) -> service::Plan {
    service::Plan::new(doc, &ctx.env_file, front, unit_dir, ctx.timeout)
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
        } => write(ctx, *front, *bind, unit_dir, *dry_run, *force, json),
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

#[allow(clippy::too_many_arguments)]
fn write(
    ctx: &Context,
    front: FrontArg,
    bind: IpAddr,
    unit_dir: &Path,
    dry_run: bool,
    force: bool,
    json: bool,
) -> Result<u8> {
    let doc = load(ctx)?;
    let settings = Resolved::new(ctx, Some(&doc));
    let Some(host) = settings.hostname.clone() else {
        bail!("PDS_HOSTNAME is not set in {}", ctx.env_file.display());
    };
    let front = match front {
        FrontArg::Caddy => Front::Caddy {
            admin_email: doc.get("PDS_CONTACT_EMAIL_ADDRESS").ok_or_else(|| {
                anyhow!("the installer's Caddy needs an admin email for its certificates: pds-wizard env set PDS_CONTACT_EMAIL_ADDRESS=you@example.com")
            })?,
        },
        FrontArg::OwnProxy => Front::OwnProxy { bind },
    };
    let plan = plan(ctx, &doc, front, unit_dir);
    let files = plan.files(&host);
    let compose_check = service::validate_compose_text(
        &plan.compose_yaml(),
        service::compose_command(ctx.timeout).as_deref(),
        ctx.timeout * 3,
    );
    // Before Docker is installed the unit names a docker that is not there yet, which
    // systemd-analyze would call an error: it is checked once compose exists.
    let unit_check = match service::compose_command(ctx.timeout) {
        Some(_) => service::validate_unit(&plan.unit(), ctx.timeout * 3),
        None => Validation::Unchecked {
            tool: "systemd-analyze verify (once Docker is installed)".into(),
        },
    };
    let refused = [&compose_check, &unit_check]
        .iter()
        .any(|v| matches!(v, Validation::Invalid { .. }));
    let blocked = refused && !force;
    let written = if dry_run || blocked {
        vec![]
    } else {
        service::write(&files).map_err(|e| anyhow!(e))?
    };
    let docker = service::docker(ctx.timeout);
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "files": files.iter().map(|f| json!({"path": f.path, "existed": f.existed, "diff": f.diff})).collect::<Vec<_>>(),
                "validation": {"compose": compose_check, "unit": unit_check},
                "written": written.iter().map(|(p, r)| json!({"path": p, "backup": r.backup})).collect::<Vec<_>>(),
                "docker": docker,
            }))?
        );
    } else {
        for f in &files {
            match (f.existed, f.diff.is_empty()) {
                (_, true) => outln!("{}: unchanged", f.path.display()),
                (false, false) => outln!("{} (new):", f.path.display()),
                (true, false) => outln!("{}:", f.path.display()),
            }
            for l in &f.diff {
                outln!("  {l}");
            }
        }
        for v in [&compose_check, &unit_check] {
            outln!("{}", validation_line(v).1);
        }
        for (_, r) in &written {
            outln!("Wrote {}", r.describe());
        }
        if blocked {
            errln!("Nothing written: a validator refused a file (--force writes anyway).");
        } else if dry_run {
            outln!("Nothing written (--dry-run).");
        } else {
            for l in docker_advice(&docker) {
                outln!("{l}");
            }
            outln!("Next: pds-wizard service start");
        }
    }
    Ok(if blocked { EXIT_ERROR } else { EXIT_OK })
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
    );
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
    service::start(&commands, wait).map_err(|e| anyhow!(e))?;
    let rt = super::runtime()?;
    let waited = rt.block_on(service::wait_for_health(
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
pub fn status(ctx: &Context, echo: Option<&str>, json: bool) -> Result<u8> {
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

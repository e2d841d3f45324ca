//! `pds-wizard proxy render|validate`: reverse-proxy configuration from pds.env, checked by
//! the server's own validator before anything is written.

use super::{EXIT_ERROR, EXIT_FINDINGS, EXIT_OK};
use crate::context::Context;
use crate::envfile::Document;
use crate::finding::{worst, Finding, Level};
use crate::proxy::install::{placements, reload_hint_for, write};
use crate::proxy::render::render_to;
use crate::proxy::validate::{detect, validate, validate_plan, Validation};
use crate::proxy::{plan_from_env, PlanAnswers, Server};
use anyhow::{anyhow, bail, Result};
use clap::{Args, Subcommand};
use serde_json::json;
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum ProxyCmd {
    /// Write the reverse-proxy configuration for SERVER (nginx, caddy or traefik) from
    /// pds.env and the options; printed, or written to --out after a diff
    #[command(
        after_help = "Examples:\n  pds-wizard proxy render nginx --out /etc/nginx/sites-available/pds.conf\n  pds-wizard proxy render caddy --tls on-demand --dry-run --out /etc/caddy/Caddyfile\n  # the front for a PDS on another machine, reached over Tailscale:\n  pds-wizard proxy render nginx --host pds.example.com --upstream 100.101.102.103 --front-address 100.64.0.1"
    )]
    Render {
        /// The web server to write for: nginx, caddy or traefik
        #[arg(value_parser = parse_server)]
        server: Server,
        #[command(flatten)]
        plan: PlanArgs,
        /// Write here (with a backup of what was there); snippets go beside it
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Show the diff against --out, write nothing
        #[arg(long, requires = "out")]
        dry_run: bool,
        /// Write even when the plan has failures or the server's check refuses it
        #[arg(long)]
        force: bool,
        /// Skip the server's own check
        #[arg(long)]
        no_validate: bool,
    },
    /// Judge the configuration nginx serves now (nginx -T; --nginx-conf for another main
    /// file) for the PDS's name: how long a quiet firehose stays open, and whether the Host
    /// header reaches the PDS; exit 0 fine, 1 warnings, 2 failures
    #[command(
        after_help = "Examples:\n  pds-wizard proxy served\n  pds-wizard --nginx-conf /etc/nginx/nginx.conf proxy served --host pds.example.com"
    )]
    Served {
        /// The name to judge [default: PDS_HOSTNAME]
        #[arg(long)]
        host: Option<String>,
    },
    /// On the PDS machine, when the front proxy is on another: list the front in
    /// PDS_RATE_LIMIT_BYPASS_IPS, (--via caddy) make the installer's Caddy answer the front
    /// on the private address, and close the PDS's ports to everyone else (--firewall)
    #[command(
        after_help = "Examples:\n  pds-wizard proxy pds-side --front-address 100.64.0.1 --pds-address 100.101.102.103 --dry-run\n  pds-wizard proxy pds-side --front-address 100.64.0.1 --pds-address 100.101.102.103 --via caddy --firewall nft --restart"
    )]
    PdsSide {
        #[command(flatten)]
        side: SideArgs,
    },
    /// Enable an nginx site written into sites-available: link it from sites-enabled (the
    /// Debian layout), which is all nginx reads; then reload nginx
    #[command(
        after_help = "Example:\n  pds-wizard proxy enable /etc/nginx/sites-available/pds.conf"
    )]
    Enable {
        /// The site file in sites-available
        file: PathBuf,
    },
    /// Check a configuration file with the server's own validator (nginx -t, caddy validate,
    /// a short loopback run of traefik)
    #[command(
        after_help = "Examples:\n  pds-wizard proxy validate /etc/nginx/sites-available/pds.conf\n  pds-wizard proxy validate /pds/caddy/etc/caddy/Caddyfile --server caddy"
    )]
    Validate {
        /// The configuration file to check
        file: PathBuf,
        /// The server it is for [default: guessed from the file]
        #[arg(long, value_parser = parse_server)]
        server: Option<Server>,
        /// nginx: a snippet to check inside a server block (repeatable)
        #[arg(long, value_name = "FILE")]
        snippet: Vec<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct SideArgs {
    /// The front proxy's address on the private network (what the PDS sees connecting)
    #[arg(long, value_name = "IP")]
    pub front_address: String,
    /// This machine's address on the private network, where the front connects
    #[arg(long, value_name = "IP")]
    pub pds_address: String,
    /// The front reaches the PDS's port (direct) or the installer's Caddy (caddy)
    #[arg(long, value_name = "direct|caddy", default_value = "direct")]
    pub via: String,
    /// The Caddyfile to edit with --via caddy [default: the installer's, beside pds.env]
    #[arg(long, value_name = "FILE")]
    pub caddyfile: Option<PathBuf>,
    /// show the rules for nft and ufw; nft: write --nft-file and load it; ufw: run the rules
    #[arg(long, value_name = "show|nft|ufw", default_value = "show")]
    pub firewall: String,
    /// Where the nftables rules go
    #[arg(long, value_name = "FILE", default_value = crate::proxy::split::NFT_FILE)]
    pub nft_file: PathBuf,
    /// How to make Caddy load its file [default: the installer's container reload, else
    /// systemctl reload caddy]
    #[arg(long, value_name = "CMD")]
    pub reload_command: Option<String>,
    /// Restart the PDS after pds.env changes (--restart-command, else its unit or container)
    #[arg(long)]
    pub restart: bool,
    /// Show what would change; change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Make the changes without asking (needed when not on a terminal)
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// A front this machine served before: taken out of PDS_RATE_LIMIT_BYPASS_IPS
    /// (repeatable)
    #[arg(long, value_name = "IP")]
    pub retire_front: Vec<String>,
}

impl SideArgs {
    /// What the flags ask of the PDS side.
    pub fn input(&self) -> crate::proxy::side::SideInput {
        crate::proxy::side::SideInput {
            front_address: self.front_address.clone(),
            pds_address: self.pds_address.clone(),
            via: self.via.clone(),
            caddyfile: self.caddyfile.clone(),
            firewall: self.firewall.clone(),
            nft_file: self.nft_file.clone(),
            reload_command: self.reload_command.clone(),
            restart: self.restart,
            retire_front: self.retire_front.clone(),
        }
    }
}

fn parse_server(s: &str) -> Result<Server, String> {
    s.parse()
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The PDS hostname [default: PDS_HOSTNAME]
    #[arg(long)]
    host: Option<String>,
    /// The PDS hostname also serves an existing website: only the atproto paths go to the PDS
    #[arg(long)]
    shared_host: bool,
    /// Where the PDS listens [default: 127.0.0.1:PDS_PORT]
    #[arg(long, value_name = "HOST:PORT")]
    upstream: Option<String>,
    /// files, certbot (nginx), acme, on-demand (Caddy), internal (Caddy) [default: certbot for
    /// nginx, on-demand for Caddy, acme for Traefik]
    #[arg(long, value_name = "MODE")]
    tls: Option<String>,
    /// Certificate (full chain) for --tls files
    #[arg(long, value_name = "PATH")]
    cert: Option<PathBuf>,
    /// Private key for --tls files
    #[arg(long, value_name = "PATH")]
    key: Option<PathBuf>,
    /// ACME account email [default: PDS_CONTACT_EMAIL_ADDRESS]
    #[arg(long)]
    email: Option<String>,
    /// A handle-only domain: NAME[,shared][,proxied][,webroot=DIR][,redirect=DID] (repeatable)
    #[arg(long = "handle-domain", value_name = "SPEC")]
    handle_domains: Vec<String>,
    /// Listen on this address only [default: every address]
    #[arg(long, value_name = "IP")]
    listen: Option<String>,
    /// HTTPS port
    #[arg(long, default_value = "443")]
    https_port: u16,
    /// Plain-HTTP port for redirects and ACME challenges, or "off"
    #[arg(long, default_value = "80", value_parser = parse_http_port)]
    http_port: HttpPort,
    /// The PDS is on another machine: this proxy's (the front's) address on the private
    /// network; --upstream is then the PDS machine's private address, and the PDS machine's
    /// side is shown too
    #[arg(long, value_name = "IP")]
    front_address: Option<String>,
    /// With --front-address: the front reaches the PDS's port (direct) or the installer's
    /// Caddy on port 80 (caddy) [default: direct]
    #[arg(long, value_name = "direct|caddy", requires = "front_address")]
    pds_side: Option<String>,
}

/// A port, or none ("off"); a newtype because clap reads a bare Option as "flag absent".
#[derive(Debug, Clone, Copy)]
struct HttpPort(Option<u16>);

fn parse_http_port(s: &str) -> Result<HttpPort, String> {
    if s == "off" {
        return Ok(HttpPort(None));
    }
    s.parse::<u16>()
        .map(|p| HttpPort(Some(p)))
        .map_err(|_| format!("{s:?}: a port number or \"off\""))
}

impl PlanArgs {
    fn answers(&self) -> PlanAnswers {
        PlanAnswers {
            host: self.host.clone(),
            shared_host: self.shared_host,
            upstream: self.upstream.clone(),
            tls: self.tls.clone(),
            cert: self.cert.clone(),
            key: self.key.clone(),
            email: self.email.clone(),
            handle_domains: self.handle_domains.clone(),
            listen: self.listen.clone(),
            https_port: Some(self.https_port),
            http_port: Some(self.http_port.0),
            front_address: self.front_address.clone(),
            pds_side: self.pds_side.clone(),
        }
    }
}

pub fn run(ctx: &Context, cmd: &ProxyCmd, json: bool) -> Result<u8> {
    match cmd {
        ProxyCmd::Render {
            server,
            plan,
            out,
            dry_run,
            force,
            no_validate,
        } => render_cmd(
            ctx,
            *server,
            plan,
            out.as_ref(),
            *dry_run,
            *force,
            *no_validate,
            json,
        ),
        ProxyCmd::Validate {
            file,
            server,
            snippet,
        } => validate_cmd(ctx, file, *server, snippet, json),
        ProxyCmd::Served { host } => served_cmd(ctx, host.as_deref(), json),
        ProxyCmd::Enable { file } => enable_cmd(file, json),
        ProxyCmd::PdsSide { side } => pds_side_cmd(ctx, side, json),
    }
}

fn enable_cmd(file: &std::path::Path, json: bool) -> Result<u8> {
    if !file.is_file() {
        anyhow::bail!("{} does not exist", file.display());
    }
    let Some((link, target)) = crate::proxy::install::site_link(file) else {
        let linked = file.parent().and_then(|d| d.parent()).map(|p| {
            p.join("sites-enabled")
                .join(file.file_name().unwrap_or_default())
        });
        match linked {
            Some(l) if std::fs::symlink_metadata(&l).is_ok() => {
                outln!("{} is already enabled ({}).", file.display(), l.display());
                return Ok(EXIT_OK);
            }
            _ => anyhow::bail!(
                "{} is not in a sites-available directory beside sites-enabled: include it from nginx's configuration instead",
                file.display()
            ),
        }
    };
    crate::proxy::install::enable_site(&link, &target).map_err(|e| anyhow!(e))?;
    if json {
        outln!("{}", serde_json::json!({"link": link, "target": target}));
    } else {
        outln!("Linked {} → {}.", link.display(), target.display());
        outln!("Now: {}", crate::proxy::install::reload_hint(Server::Nginx));
    }
    Ok(EXIT_OK)
}

fn served_cmd(ctx: &Context, host: Option<&str>, json: bool) -> Result<u8> {
    use crate::proxy::served;
    let host = match host {
        Some(h) => h.to_ascii_lowercase(),
        None => {
            let (settings, _) = crate::settings::Resolved::load(ctx);
            settings.hostname.ok_or_else(|| {
                anyhow!(
                    "no name to judge: PDS_HOSTNAME is not set in {}; give --host",
                    ctx.env_file.display()
                )
            })?
        }
    };
    let dump = super::runtime()?
        .block_on(served::nginx_dump(ctx.nginx_conf.as_deref()))
        .ok_or_else(|| anyhow!("nginx is not installed here (Caddy and Traefik pass Host and keep streams open unless told otherwise)"))?
        .map_err(|e| anyhow!(e))?;
    let Some(f) = served::firehose(&dump, &host) else {
        bail!("nginx serves no location that proxies {host}'s firehose (/xrpc/com.atproto.sync.subscribeRepos)");
    };
    let j = served::judge(&f, &host);
    let findings = j.findings();
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(
                &json!({ "host": host, "served": f, "findings": findings })
            )?
        );
    } else {
        outln!(
            "nginx serves {host}'s firehose from location {}: proxy_read_timeout {} s{}, Host {}",
            f.location,
            f.read_timeout,
            if f.read_timeout_default {
                " (default)"
            } else {
                ""
            },
            f.host_header.as_deref().unwrap_or("not set ($proxy_host)")
        );
        for x in &findings {
            outln!("{x}");
        }
    }
    Ok(match worst(&findings) {
        Level::Fail => EXIT_ERROR,
        Level::Warn => EXIT_FINDINGS,
        _ => EXIT_OK,
    })
}

pub(super) fn print_validation(v: &Validation) {
    errln!("{}", v.finding);
    if v.finding.level == Level::Fail && !v.output.is_empty() {
        for l in v.output.lines() {
            errln!("       | {l}");
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn render_cmd(
    ctx: &Context,
    server: Server,
    args: &PlanArgs,
    out: Option<&PathBuf>,
    dry_run: bool,
    force: bool,
    no_validate: bool,
    json: bool,
) -> Result<u8> {
    // pds.env gives the hostname, port, blob limit and handle domains; without it, --host.
    let doc = match Document::load(&ctx.env_file) {
        Ok(d) => d,
        Err(_) if args.host.is_some() => Document::parse(""),
        Err(e) => bail!("{e}\n(give --host to render without pds.env)"),
    };
    render_with(
        ctx,
        server,
        &doc,
        &args.answers(),
        &RenderRequest {
            out: out.map(|p| p.as_path()),
            dry_run,
            force,
            validate: !no_validate,
            json,
        },
    )
}

/// How `proxy render` renders.
#[derive(Clone, Copy)]
struct RenderRequest<'a> {
    /// Diff against and write to this file (None: print the config).
    out: Option<&'a std::path::Path>,
    dry_run: bool,
    /// Write even when the plan or the server's check fails.
    force: bool,
    /// Have the server check the config.
    validate: bool,
    json: bool,
}

/// Plan, render, have the server check it, and (with `out`) diff and write it.
fn render_with(
    ctx: &Context,
    server: Server,
    doc: &Document,
    answers: &PlanAnswers,
    req: &RenderRequest,
) -> Result<u8> {
    let RenderRequest {
        out,
        dry_run,
        force,
        validate,
        json,
    } = *req;
    let plan = match plan_from_env(server, doc, answers) {
        Ok(p) => p,
        Err(errors) => {
            for e in &errors {
                errln!("error: {}", e.for_cli());
            }
            return Ok(EXIT_ERROR);
        }
    };
    let mut findings = plan.findings();
    // A config for another server than the one serving 80/443 here would not be served.
    let dir = ctx.place(&crate::pds::service::data_dir(doc, &ctx.env_file));
    let present = crate::proxy::install::present(Some(&dir), ctx.sandbox.is_none());
    findings.extend(present.and_then(|p| p.mismatch(server)));
    let files = render_to(&plan, out);
    let validation = if !validate {
        None
    } else {
        Some(super::runtime()?.block_on(validate_plan(&plan, &files, super::validation_limit(ctx))))
    };
    let mut all: Vec<Finding> = findings.clone();
    if let Some(v) = &validation {
        all.push(v.finding.clone());
    }
    let blocked = worst(&all) == Level::Fail && !force;
    let places = match out {
        Some(o) => Some(placements(&files, o).map_err(|e| anyhow!(e))?),
        None => None,
    };
    let written = match &places {
        Some(p) if !dry_run && !blocked => Some(write(&files, p).map_err(|e| anyhow!(e))?),
        _ => None,
    };
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "plan": plan,
                "findings": findings,
                "validation": validation,
                "files": files,
                "placements": places,
                "written": written.as_ref().map(|w| w.iter().map(|r| json!({"path": r.path, "backup": r.backup})).collect::<Vec<_>>()),
                "reload": out.map(|o| reload_hint_for(server, o)),
                "pds_side": plan.split.as_ref().map(|s| json!({
                    "machine": s.pds_address,
                    "command": s.pds_side_command(),
                    "files": s.pds_side_files(&plan.host, &plan.handle_wildcards),
                    "ufw": s.ufw_commands(None),
                })),
            }))?
        );
    } else {
        for f in &findings {
            errln!("{f}");
        }
        if let Some(s) = &plan.split {
            errln!(
                "On the PDS machine ({}), `{}` makes:",
                s.pds_address,
                s.pds_side_command()
            );
            for f in s.pds_side_files(&plan.host, &plan.handle_wildcards) {
                errln!("  # ==> {} ({})", f.default_path.display(), f.purpose);
                for l in f.text.lines() {
                    errln!("    {l}");
                }
            }
        }
        if let Some(v) = &validation {
            print_validation(v);
        }
        match &places {
            None => {
                for (i, f) in files.iter().enumerate() {
                    if files.len() > 1 {
                        outln!(
                            "{}# ==> {} ({})",
                            if i > 0 { "\n" } else { "" },
                            f.name,
                            f.purpose
                        );
                    }
                    out!("{}", f.text);
                }
            }
            Some(places) => {
                print_placements(places);
                if dry_run {
                    outln!("(dry run: nothing written)");
                } else if blocked {
                    errln!("Nothing written: fix the failures above (or --force).");
                } else if let Some(w) = &written {
                    for r in w {
                        outln!("Wrote {}.", r.describe());
                    }
                    if let (false, Some(o)) = (w.is_empty(), out) {
                        outln!("To load it: {}", reload_hint_for(server, o));
                    }
                }
            }
        }
    }
    Ok(if blocked { EXIT_FINDINGS } else { EXIT_OK })
}

/// Each file's diff against what is there now ("no change" when there is none).
pub(super) fn print_placements(places: &[crate::proxy::install::Placement]) {
    for p in places {
        if !p.changed() {
            outln!("{}: no change", p.path.display());
            continue;
        }
        outln!(
            "{}{}:",
            p.path.display(),
            if p.existed { "" } else { " (new file)" }
        );
        for l in &p.diff {
            outln!("{l}");
        }
    }
}

fn validate_cmd(
    ctx: &Context,
    file: &PathBuf,
    server: Option<Server>,
    snippets: &[PathBuf],
    json: bool,
) -> Result<u8> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| anyhow!("cannot read {}: {e}", file.display()))?;
    let server = match server.or_else(|| detect(file, &text)) {
        Some(s) => s,
        None => bail!(
            "cannot tell which server {} is for: give --server nginx|caddy|traefik",
            file.display()
        ),
    };
    let v = super::runtime()?.block_on(validate(
        server,
        file,
        snippets,
        super::validation_limit(ctx),
    ));
    if json {
        outln!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print_validation(&v);
    }
    Ok(match v.finding.level {
        Level::Fail => EXIT_FINDINGS,
        // Not installed: not a failure of the file, but nothing was proven either.
        _ if !v.validated() => EXIT_FINDINGS,
        _ => EXIT_OK,
    })
}

/// What a Caddyfile's `{$NAME}` stands for here: pds.env's keys (an installer's Caddy may be
/// given the file), then this process's environment.
/// The PDS machine's side of a front proxy elsewhere (the core's proxy::side), printed; with
/// `dry_run` nothing is changed. Exit 0 done (or nothing to do), 2 when input is wrong or a
/// step failed (the steps after it are not taken).
pub(super) fn pds_side_cmd(ctx: &Context, a: &SideArgs, json: bool) -> Result<u8> {
    use crate::proxy::side::{self, NotPrepared, SideField};
    let input = a.input();
    let limit = super::validation_limit(ctx);
    let prepared = match side::prepare(&ctx.env_file, &input, limit) {
        Ok(p) => p,
        Err(NotPrepared::Plan(e)) => return Err(anyhow!(e)),
        Err(NotPrepared::Input(errors)) => {
            for e in &errors {
                match e.field {
                    // Its message names the flag and the value.
                    SideField::RetireFront => errln!("error: {}", e.message),
                    f => {
                        let from = match f {
                            SideField::FrontAddress => "--front-address",
                            SideField::PdsAddress => "--pds-address",
                            SideField::Via => "--via",
                            SideField::Firewall => "--firewall",
                            // What pds.env says (the hostname, the upload limit).
                            _ => "pds.env",
                        };
                        errln!("error: {from}: {}", e.message);
                    }
                }
            }
            return Ok(EXIT_ERROR);
        }
    };
    if !json {
        print_side(&prepared);
    }
    // Asked on a terminal; a script says --yes (or --dry-run).
    let terminal = std::io::stdin().is_terminal();
    let go = !a.dry_run
        && (a.yes
            || (!json && terminal && {
                use std::io::BufRead;
                err!("Make these changes? [y/N] ");
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line)?;
                matches!(line.trim(), "y" | "Y" | "yes")
            }));
    let mut done: Vec<String> = Vec::new();
    let mut failed: Option<String> = None;
    if go {
        failed = make_side(ctx, &prepared, &input, &mut done).err();
    }
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "plan": prepared.plan,
                "dry_run": a.dry_run,
                "applied": go,
                "done": done,
                "error": failed,
                "front": prepared.front_command,
            }))?
        );
    } else {
        if a.dry_run {
            outln!("(dry run: nothing changed)");
        } else if !go {
            outln!(
                "Nothing changed{}.",
                if terminal {
                    ""
                } else {
                    " (not on a terminal: give --yes to make these changes)"
                }
            );
        }
        for d in &done {
            outln!("{d}");
        }
        if let Some(e) = &failed {
            errln!("error: {e}");
        }
        outln!("On the front machine: {}", prepared.front_command);
    }
    if !go && !a.dry_run && !terminal {
        return Ok(EXIT_ERROR);
    }
    Ok(if failed.is_some() {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    })
}

/// What the PDS side will change, before it is made.
pub(super) fn print_side(prepared: &crate::proxy::side::Prepared) {
    use crate::proxy::split::Firewall;
    let (side, s) = (&prepared.plan, &prepared.split);
    for f in &side.findings {
        errln!("{f}");
    }
    outln!(
        "On this machine (the PDS's), for the front at {}:",
        s.front_address
    );
    match &side.bypass {
        Some(v) => outln!("  pds.env: PDS_RATE_LIMIT_BYPASS_IPS={v}"),
        None => outln!(
            "  pds.env: PDS_RATE_LIMIT_BYPASS_IPS lists {} already",
            s.front_address
        ),
    }
    if let Some(c) = &side.caddyfile {
        if c.changed() {
            outln!("  {}:", c.path.display());
            for l in c.diff() {
                outln!("    {l}");
            }
        } else {
            outln!("  {}: no change", c.path.display());
        }
    }
    match side.firewall {
        Firewall::Nft => outln!(
            "  firewall: {}{}",
            side.nft.path.display(),
            if side.nft.changed() {
                ""
            } else {
                " (no change; loaded again)"
            }
        ),
        Firewall::Ufw => {
            outln!("  firewall (ufw):");
            for c in &side.ufw {
                outln!("    {c}");
            }
        }
        Firewall::Show => {
            outln!("  firewall, with nftables (--firewall nft writes and loads it):");
            for l in side.nft.after.lines() {
                outln!("    {l}");
            }
            outln!("  or with ufw (--firewall ufw runs them, in this order):");
            for c in &side.ufw {
                outln!("    {c}");
            }
        }
    }
}

/// The PDS side made (the core's proxy::side::execute), each step said as it was done; the
/// first failure stops the rest.
pub(super) fn make_side(
    ctx: &Context,
    prepared: &crate::proxy::side::Prepared,
    input: &crate::proxy::side::SideInput,
    done: &mut Vec<String>,
) -> std::result::Result<(), String> {
    use crate::proxy::split::Made;
    let mut made = Vec::new();
    let result =
        super::runtime()
            .map_err(|e| e.to_string())?
            .block_on(crate::proxy::side::execute(
                &ctx.env_file,
                prepared,
                input,
                // Worked out only when asked for: it looks for a unit or compose here.
                input
                    .restart
                    .then(|| crate::pds::restart_command(ctx))
                    .flatten(),
                super::validation_limit(ctx),
                &mut made,
            ));
    for m in made {
        done.push(match m {
            Made::Wrote(r) => format!("Wrote {}.", r.describe()),
            Made::Reloaded(cmd) => format!("Caddy reloaded ({}).", cmd.join(" ")),
            Made::Restarted => "The PDS restarted.".into(),
            Made::RestartNeeded => format!(
                "Restart the PDS for it to take effect: {}",
                crate::pds::restart_hint(ctx)
            ),
            Made::NftLoaded(path, removed) => format!(
                "Firewall loaded (nft -f {}); to keep it after a reboot, include it from /etc/nftables.conf.{}",
                path.display(),
                if removed.is_empty() {
                    String::new()
                } else {
                    format!(
                        " Old backups of it taken out of its directory (a boot-time include would load them): {}",
                        removed.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
                    )
                }
            ),
            Made::UfwRules(n) => format!("Firewall: {n} ufw rules added; read back, the front comes first and everyone else is refused."),
        });
    }
    result
}

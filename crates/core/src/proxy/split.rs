//! A front proxy on another machine: the public proxy (nginx, Caddy or Traefik) holds the
//! certificates and reaches the PDS over a private network (Tailscale's 100.64/10,
//! WireGuard, a LAN). The front's file is the usual render with the PDS's private address
//! as its upstream; this module makes the PDS machine's side, in one of two shapes:
//!
//! - `Via::Direct`: the front connects to the PDS's own port.
//! - `Via::InstallerCaddy`: the front connects to the installer's Caddy, which answers on
//!   the private address over plain HTTP and proxies to the PDS on loopback.
//!
//! Either way the PDS must believe the front's X-Forwarded-For, or every client counts as
//! the front and all share one rate limit. The PDS (0.5.35, dist/index.js) sets Express's
//! `trust proxy` to loopback, link-local, the private ranges and — while rate limits are on
//! — PDS_RATE_LIMIT_BYPASS_IPS, each entry cut at "/" (config.js), so the front is listed
//! by its exact address. Through Caddy the chain is "client, front" from loopback: Caddy
//! keeps the front's header only for its `trusted_proxies`, and the PDS still needs the
//! front listed to look past it (proven in tests/front_proxy.rs).

use super::render::RenderedFile;
use super::Upstream;
use crate::finding::Finding;
use crate::identity::Hostname;
use crate::target::{ProxyField, Target};
use serde::Serialize;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// The port the installer's Caddy answers the front on (plain HTTP on the private address).
pub const CADDY_PORT: u16 = 80;

/// The first line of the Caddy site the wizard writes: how a later run finds it again.
pub const CADDY_MARK: &str = "# pds-wizard: front-proxy site";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Via {
    /// The front reaches the PDS's port on the private address.
    Direct,
    /// The front reaches the installer's Caddy, which proxies to the PDS on loopback.
    InstallerCaddy,
}

impl Via {
    pub const ALL: [Via; 2] = [Via::Direct, Via::InstallerCaddy];
    pub fn name(self) -> &'static str {
        match self {
            Via::Direct => "direct",
            Via::InstallerCaddy => "caddy",
        }
    }
    pub fn parse(s: &str) -> Result<Via, String> {
        Via::ALL
            .into_iter()
            .find(|v| v.name() == s.trim().to_ascii_lowercase())
            .ok_or_else(|| {
                format!(
                    "{s:?}: the PDS side is \"direct\" (the PDS's port) or \"caddy\" (the installer's Caddy)"
                )
            })
    }
}

/// Both machines' addresses on the private network, and how the PDS side answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Split {
    pub via: Via,
    /// The PDS machine's address on the private network: where the front connects.
    pub pds_address: IpAddr,
    /// The front's address on the private network: what the PDS sees connecting.
    pub front_address: IpAddr,
    /// PDS_PORT.
    pub pds_port: u16,
}

/// An address as the operator typed it: one IP, no range (the PDS reads only the part
/// before a "/").
pub fn parse_address(what: &str, s: &str) -> Result<IpAddr, String> {
    let t = s.trim().trim_start_matches('[').trim_end_matches(']');
    if t.contains('/') {
        return Err(format!(
            "{what} {s:?}: give the one address, not a range (the PDS reads {:?} and ignores the rest)",
            t.split('/').next().unwrap_or("")
        ));
    }
    t.parse::<IpAddr>()
        .map_err(|_| format!("{what} {s:?} is not an IP address"))
}

fn bracketed(ip: IpAddr) -> String {
    match ip {
        IpAddr::V6(v6) => format!("[{v6}]"),
        IpAddr::V4(v4) => v4.to_string(),
    }
}

impl Split {
    /// What the front proxies to.
    pub fn upstream(&self) -> Upstream {
        Upstream {
            host: bracketed(self.pds_address),
            port: match self.via {
                Via::Direct => self.pds_port,
                Via::InstallerCaddy => CADDY_PORT,
            },
        }
    }

    /// PDS_RATE_LIMIT_BYPASS_IPS with the front's address added to what is there (entries
    /// kept in order); None when it is listed already.
    pub fn bypass_ips(&self, current: Option<&str>) -> Option<String> {
        self.bypass_ips_without(current, &[])
    }

    /// `bypass_ips`, with the `retired` fronts taken out (None: nothing to change).
    pub fn bypass_ips_without(&self, current: Option<&str>, retired: &[IpAddr]) -> Option<String> {
        let all: Vec<&str> = current
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .collect();
        let entries: Vec<&str> = all
            .iter()
            .copied()
            .filter(|e| !entry_is_one_of(e, retired))
            .collect();
        let dropped = entries.len() != all.len();
        let listed = entries.iter().any(|e| {
            e.split('/')
                .next()
                .and_then(|a| a.trim().parse::<IpAddr>().ok())
                == Some(self.front_address)
        });
        if listed && !dropped {
            return None;
        }
        let mut out: Vec<String> = entries.iter().map(|e| e.to_string()).collect();
        if !listed {
            out.push(self.front_address.to_string());
        }
        Some(out.join(","))
    }

    /// Warnings about the two addresses (not on a private network) and a refusal when they
    /// are one.
    pub fn address_findings(&self) -> Vec<Finding> {
        let mut out = Vec::new();
        for (ip, field, what) in [
            (self.pds_address, ProxyField::Upstream, "the PDS's address"),
            (
                self.front_address,
                ProxyField::FrontAddress,
                "the front's address",
            ),
        ] {
            if !on_private_network(ip) {
                out.push(
                    Finding::warn(format!("{what} {ip} is not on a private network"))
                        .about("upstream")
                        .target(Target::Proxy(field))
                        .why("between the front and the PDS the requests are plain HTTP: over the internet anyone on the path reads them, passwords included")
                        .fix("use the machines' Tailscale (100.64/10), WireGuard or LAN addresses"),
                );
            }
        }
        if self.pds_address == self.front_address {
            out.push(
                Finding::fail(format!(
                    "the front and the PDS are both at {}",
                    self.pds_address
                ))
                .about("upstream")
                .target(Target::Proxy(ProxyField::FrontAddress))
                .fix("give the front machine's own address on the private network"),
            );
        }
        out
    }

    /// The Caddy site that answers the front: plain HTTP on the private address only, for
    /// the PDS's names and for the address itself (a front Caddy asks /tls-check by it).
    pub fn caddy_site(&self, host: &Hostname, wildcards: &[String]) -> String {
        let mut names = vec![format!("http://{}", host.as_str())];
        names.extend(wildcards.iter().map(|w| format!("http://*.{w}")));
        names.push(format!("http://{}", bracketed(self.pds_address)));
        format!(
            "{CADDY_MARK} (the front at {front} reaches the PDS here over the private network;\n\
             # it holds the certificates, so this site is plain HTTP on {pds} only)\n\
             {names} {{\n\
             \tbind {pds}\n\
             \treverse_proxy http://127.0.0.1:{port} {{\n\
             \t\t# Keep the front's X-Forwarded-For (it names the client); the PDS looks past\n\
             \t\t# the front because PDS_RATE_LIMIT_BYPASS_IPS lists it.\n\
             \t\ttrusted_proxies {front}\n\
             \t}}\n\
             }}\n",
            front = self.front_address,
            pds = self.pds_address,
            names = names.join(", "),
            port = self.pds_port,
        )
    }
}

impl Split {
    /// What the front's operator should know: where the other half is made, and whether
    /// the addresses look like a private network at all.
    pub fn findings(&self) -> Vec<Finding> {
        let mut out = self.address_findings();
        out.push(
            Finding::info(format!(
                "this file goes on the front machine; on the PDS machine run: {}",
                self.pds_side_command()
            ))
            .about("PDS side")
            .target(Target::Proxy(ProxyField::PdsSide))
            .why(format!(
                "the PDS must believe X-Forwarded-For from {} (PDS_RATE_LIMIT_BYPASS_IPS), or all clients share one rate limit; {}; and its ports answer the front only (firewall)",
                self.front_address,
                match self.via {
                    Via::Direct => format!("the PDS's port {} answers on {}", self.pds_port, self.pds_address),
                    Via::InstallerCaddy => format!("the installer's Caddy answers plain HTTP on {}:{CADDY_PORT} and trusts the front", self.pds_address),
                }
            )),
        );
        out
    }

    /// The PDS machine's side as files to read beside the front's: what `pds_side_command`
    /// sets in pds.env, the Caddy site (through Caddy) and the firewall rules.
    pub fn pds_side_files(&self, host: &Hostname, wildcards: &[String]) -> Vec<RenderedFile> {
        let on = format!("on the PDS machine ({})", self.pds_address);
        let mut out = vec![RenderedFile {
            name: "pds.env".into(),
            default_path: "/pds/pds.env".into(),
            purpose: format!("{on}: the front listed, so the PDS believes its X-Forwarded-For"),
            text: format!("PDS_RATE_LIMIT_BYPASS_IPS={}\n", self.front_address),
        }];
        if self.via == Via::InstallerCaddy {
            out.push(RenderedFile {
                name: "Caddyfile".into(),
                default_path: format!("/pds/{}", super::install::INSTALLER_CADDYFILE).into(),
                purpose: format!("{on}: replaces the installer's public site"),
                text: self.caddy_site(host, wildcards),
            });
        }
        out.push(RenderedFile {
            name: "pds-wizard.nft".into(),
            default_path: NFT_FILE.into(),
            purpose: format!("{on}: the firewall, loaded with --firewall nft (or --firewall ufw)"),
            text: self.nft_rules(None),
        });
        out
    }

    /// The command that makes the PDS machine's side.
    pub fn pds_side_command(&self) -> String {
        format!(
            "pds-wizard proxy pds-side --front-address {} --pds-address {} --via {}",
            self.front_address,
            self.pds_address,
            self.via.name()
        )
    }
}

/// Private, carrier-grade NAT (Tailscale), unique-local and link-local addresses: where a
/// private network lives.
pub fn on_private_network(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => {
            let [o1, o2, ..] = a.octets();
            a.is_private()
                || a.is_link_local()
                || a.is_loopback()
                || (o1 == 100 && (o2 & 0xc0) == 64)
        }
        IpAddr::V6(a) => {
            let first = a.segments()[0];
            (first & 0xfe00) == 0xfc00 || (first & 0xffc0) == 0xfe80 || a.is_loopback()
        }
    }
}

/// How the PDS machine's ports are closed to all but the front.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Firewall {
    /// Show both rule sets; change nothing.
    Show,
    /// Write the nftables file and load it.
    Nft,
    /// Run the ufw commands.
    Ufw,
}

impl Firewall {
    pub fn parse(s: &str) -> Result<Firewall, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "show" => Ok(Firewall::Show),
            "nft" | "nftables" => Ok(Firewall::Nft),
            "ufw" => Ok(Firewall::Ufw),
            _ => Err(format!("{s:?}: the firewall is show, nft or ufw")),
        }
    }
}

/// Where the nftables rules are written by default.
pub const NFT_FILE: &str = "/etc/nftables.d/pds-wizard.nft";

/// A file the PDS side writes: what is there now (None: nothing) and what it becomes.
#[derive(Debug, Clone, Serialize)]
pub struct FileChange {
    pub path: PathBuf,
    #[serde(skip)]
    pub before: Option<String>,
    pub after: String,
}

impl FileChange {
    fn read(path: &Path, after: String) -> FileChange {
        FileChange {
            path: path.to_path_buf(),
            before: crate::fsutil::read_target(path, crate::fsutil::Links::Refuse)
                .ok()
                .flatten()
                .and_then(|b| String::from_utf8(b).ok()),
            after,
        }
    }
    pub fn changed(&self) -> bool {
        self.before.as_deref() != Some(self.after.as_str())
    }
    pub fn diff(&self) -> Vec<String> {
        crate::envfile::display::changed_lines(self.before.as_deref().unwrap_or(""), &self.after)
    }

    /// Write `after` (its directory made when missing), atomically, the old file kept.
    fn write(&self) -> Result<crate::fsutil::SaveReport, String> {
        self.write_keeping(10)
    }

    fn write_keeping(&self, backups: usize) -> Result<crate::fsutil::SaveReport, String> {
        use crate::fsutil::{safe_write, WriteOptions};
        let opts = WriteOptions::file(0o644, backups).make_dirs();
        safe_write(&self.path, self.after.as_bytes(), opts).map_err(|e| e.to_string())
    }

    /// The nftables file: the wizard's own table, whole, so no backup — in a directory
    /// like /etc/nftables.d that `include "/etc/nftables.d/*"` loads at boot, a backup would
    /// load too, and an old front's rules win. Backups earlier versions left there go.
    fn write_nft(&self) -> Result<(crate::fsutil::SaveReport, Vec<PathBuf>), String> {
        let r = self.write_keeping(0)?;
        let dir = self.path.parent().unwrap_or(Path::new("/"));
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let removed = crate::fsutil::list_backups(dir, &name)
            .into_iter()
            .filter(|b| std::fs::remove_file(b).is_ok())
            .collect();
        Ok((r, removed))
    }
}

#[cfg(test)]
impl Split {
    /// The tests' split: the PDS at 100.101.102.103:3000, the front at 100.64.0.1.
    pub(crate) fn example(via: Via) -> Split {
        Split {
            via,
            pds_address: "100.101.102.103".parse().expect("an address"),
            front_address: "100.64.0.1".parse().expect("an address"),
            pds_port: 3000,
        }
    }
}

/// Whether the PDS is restarted once pds.env lists the front.
pub enum Restart {
    /// Not now: the operator restarts it (the front page says how).
    Later,
    Run(Vec<String>),
}

/// How `make` makes the PDS side.
pub struct How {
    /// The command that makes Caddy load its file (run with sh -c); None: the installer's
    /// container reload, else systemctl's.
    pub reload: Option<String>,
    pub restart: Restart,
    /// Bound for each command.
    pub limit: std::time::Duration,
}

/// One step `make` took.
#[derive(Debug)]
pub enum Made {
    Wrote(crate::fsutil::SaveReport),
    Reloaded(Vec<String>),
    Restarted,
    RestartNeeded,
    /// The file loaded, and old backups of it taken out of its directory.
    NftLoaded(PathBuf, Vec<PathBuf>),
    UfwRules(usize),
}

/// Make the PDS side as planned: the Caddyfile (checked by Caddy first) and Caddy's reload,
/// pds.env (and the restart), then the firewall. Each step taken is pushed to `made`; the
/// first failure stops the rest.
pub async fn make(
    side: &SidePlan,
    doc: &mut crate::envfile::Document,
    how: &How,
    made: &mut Vec<Made>,
) -> Result<(), String> {
    use super::Server;
    if let Some(c) = side.caddyfile.as_ref().filter(|c| c.changed()) {
        // Caddy read the edit when it was planned (check_with_caddy).
        made.push(Made::Wrote(c.write()?));
        let reload: Vec<String> = match &how.reload {
            Some(cmd) => vec!["sh".into(), "-c".into(), cmd.clone()],
            None => super::install::reload_command_for(Server::Caddy, &c.path).unwrap_or_default(),
        };
        let argv: Vec<&str> = reload.iter().map(String::as_str).collect();
        if let Err(e) = run(&argv, how.limit) {
            // Caddy keeps running on what it loaded before; the file goes back to match it.
            let back = FileChange {
                path: c.path.clone(),
                before: Some(c.after.clone()),
                after: c.before.clone().unwrap_or_default(),
            };
            let restored = match back.write() {
                Ok(r) => format!("the old Caddyfile is back in {}", r.describe()),
                Err(w) => format!("and putting the old file back failed too: {w}"),
            };
            return Err(format!("{e}; {restored}"));
        }
        made.push(Made::Reloaded(reload));
    }
    if let Some(v) = &side.bypass {
        doc.set("PDS_RATE_LIMIT_BYPASS_IPS", v)
            .map_err(|e| e.to_string())?;
        let r = doc.save().map_err(|e| e.to_string())?;
        made.push(Made::Wrote(r));
        match &how.restart {
            Restart::Run(cmd) => {
                crate::pds::restart(cmd)?;
                made.push(Made::Restarted);
            }
            Restart::Later => made.push(Made::RestartNeeded),
        }
    }
    match side.firewall {
        Firewall::Show => {}
        Firewall::Nft => {
            let mut removed = Vec::new();
            if side.nft.changed() || !old_nft_backups(&side.nft.path).is_empty() {
                removed = side.nft.write_nft()?.1;
            }
            super::firewall::load_nft(&side.nft.path, how.limit)?;
            made.push(Made::NftLoaded(side.nft.path.clone(), removed));
        }
        Firewall::Ufw => {
            for c in &side.ufw {
                let argv: Vec<&str> = c.split(' ').collect();
                run(&argv, how.limit)?;
            }
            // What ufw holds now, read back: the front first, everyone else refused.
            match super::firewall::ufw_state(how.limit) {
                super::firewall::UfwState::Active(rules) => side
                    .split
                    .ufw_verify(&rules)
                    .map_err(|e| format!("after the rules were added, {e}"))?,
                other => return Err(format!("ufw after the rules were added: {other:?}")),
            }
            made.push(Made::UfwRules(side.ufw.len()));
        }
    }
    Ok(())
}

/// Backups of the nftables file left beside it (by earlier versions).
fn old_nft_backups(path: &Path) -> Vec<PathBuf> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    crate::fsutil::list_backups(path.parent().unwrap_or(Path::new("/")), &name)
}

/// What the PDS machine needs for `split`, worked out against its files as they are.
#[derive(Debug, Clone, Serialize)]
pub struct SidePlan {
    pub split: Split,
    /// The private interface holding the PDS's address here (firewall rules name it).
    pub interface: Option<String>,
    /// PDS_RATE_LIMIT_BYPASS_IPS as it must become; None when the front is listed.
    pub bypass: Option<String>,
    /// The installer's Caddyfile edited (through Caddy only).
    pub caddyfile: Option<FileChange>,
    pub firewall: Firewall,
    pub nft: FileChange,
    pub ufw: Vec<String>,
    pub findings: Vec<Finding>,
}

/// What the operator asks of the PDS side.
#[derive(Debug, Clone)]
pub struct SideRequest {
    pub split: Split,
    pub host: Hostname,
    pub wildcards: Vec<String>,
    /// PDS_RATE_LIMIT_BYPASS_IPS and PDS_RATE_LIMITS_ENABLED as pds.env has them.
    pub bypass_now: Option<String>,
    pub limits_on: bool,
    /// The Caddyfile to edit (through Caddy): the installer's, or the operator's.
    pub caddyfile: Option<PathBuf>,
    pub firewall: Firewall,
    pub nft_file: PathBuf,
    /// The interface holding the PDS's private address on this machine (None: not here).
    pub interface: Option<String>,
    /// What Caddy's `{$NAME}` placeholders stand for: pds.env's keys, then this process's.
    pub env: std::collections::HashMap<String, String>,
    /// Bound for each command (Caddy's check).
    pub limit: std::time::Duration,
    /// The ports sshd listens on here: never filtered.
    pub sshd_ports: Vec<u16>,
    /// What ufw holds now (read when it is to be used or shown).
    pub ufw: Option<super::firewall::UfwState>,
    /// Fronts used before, to take out of PDS_RATE_LIMIT_BYPASS_IPS (--retire-front).
    pub retire: Vec<IpAddr>,
}

/// Whether a PDS_RATE_LIMIT_BYPASS_IPS entry is one of `ips` (as the PDS reads it: cut at
/// "/").
fn entry_is_one_of(entry: &str, ips: &[IpAddr]) -> bool {
    entry
        .split('/')
        .next()
        .and_then(|a| a.trim().parse::<IpAddr>().ok())
        .is_some_and(|a| ips.contains(&a))
}

/// Work out the PDS side; an Err is input to correct (nothing can be planned).
pub fn plan_side(r: &SideRequest) -> Result<SidePlan, String> {
    let s = &r.split;
    if s.front_address == s.pds_address {
        return Err(format!(
            "the front's address and this machine's are the same ({}): the front is another machine; give its own address on the private network",
            s.pds_address
        ));
    }
    if let Some(p) = s
        .guarded_ports()
        .iter()
        .map(|(p, _)| *p)
        .find(|p| r.sshd_ports.contains(p))
    {
        return Err(format!(
            "port {p} is where sshd listens here: pds-side never filters it (everyone but the front would lose SSH){}; nothing was changed",
            if p == s.pds_port {
                format!(". PDS_PORT is {p}: give the PDS a port of its own (the installer's is 3000): pds-wizard env set PDS_PORT=3000")
            } else {
                String::new()
            }
        ));
    }
    let mut findings = s.address_findings();
    if r.interface.is_none() {
        findings.push(
            Finding::warn(format!("{} is not an address of this machine", s.pds_address))
                .about("PDS side")
                .why("the PDS side is made on the PDS machine, where the front connects to that address; the firewall rules then name no interface")
                .fix("run this on the PDS machine, or give its own private address with --pds-address"),
        );
    }
    let caddyfile = match (s.via, &r.caddyfile) {
        (Via::Direct, _) => None,
        (Via::InstallerCaddy, None) => {
            return Err("through Caddy: no Caddyfile found (the installer's is DATA_DIR/caddy/etc/caddy/Caddyfile); say which with --caddyfile".into())
        }
        (Via::InstallerCaddy, Some(p)) => {
            let before = crate::fsutil::read_target(p, crate::fsutil::Links::Refuse)
                .map_err(|e| format!("cannot read the Caddyfile: {e}"))?
                .ok_or_else(|| format!("the Caddyfile {} does not exist", p.display()))?;
            let before = String::from_utf8(before)
                .map_err(|_| format!("the Caddyfile {} is not text", p.display()))?;
            let names = super::caddy_edit::Names {
                host: r.host.as_str().to_string(),
                wildcards: r.wildcards.clone(),
            };
            let edited = super::caddy_edit::make_private(&before, s, &names, &r.env)
                .map_err(|e| format!("the Caddyfile {}: {e}; nothing was changed", p.display()))?;
            for n in &edited.notes {
                findings.push(Finding::info(n.clone()).about("Caddyfile"));
            }
            if edited.text != before {
                findings.extend(check_with_caddy(p, &before, &edited.text, &names, s, r)?);
            }
            Some(FileChange {
                path: p.clone(),
                after: edited.text,
                before: Some(before),
            })
        }
    };
    let bypass = s.bypass_ips_without(r.bypass_now.as_deref(), &r.retire);
    let nft = FileChange::read(&r.nft_file, s.nft_rules(r.interface.as_deref()));
    // Fronts this machine was set up for before (its nftables file and the Caddyfile's
    // marker name them), still listed: they keep passing the rate limits.
    let mut before: Vec<IpAddr> = nft
        .before
        .as_deref()
        .unwrap_or("")
        .split_whitespace()
        .skip_while(|w| *w != "saddr")
        .nth(1)
        .and_then(|a| a.parse().ok())
        .into_iter()
        .collect();
    if let Some(c) = caddyfile.as_ref().and_then(|c| c.before.as_deref()) {
        before.extend(super::caddy_edit::fronts_named(c));
    }
    before.sort();
    before.dedup();
    let listed = bypass.as_deref().or(r.bypass_now.as_deref()).unwrap_or("");
    for old in before
        .iter()
        .filter(|o| **o != s.front_address && !r.retire.contains(o))
    {
        if listed.split(',').any(|e| entry_is_one_of(e, &[*old])) {
            findings.push(
                Finding::warn(format!(
                    "PDS_RATE_LIMIT_BYPASS_IPS still lists {old}, the front this machine was set up for before"
                ))
                .about("PDS_RATE_LIMIT_BYPASS_IPS")
                .why("the PDS lets every address listed there past its rate limits and believes its X-Forwarded-For")
                .fix(format!("if {old} is no longer a front, take it out: add --retire-front {old}")),
            );
        }
    }
    let ufw = match (r.firewall, &r.ufw) {
        (Firewall::Ufw, Some(super::firewall::UfwState::Active(rules))) => {
            s.ufw_plan(r.interface.as_deref(), rules)?
        }
        (Firewall::Ufw, Some(super::firewall::UfwState::Inactive)) => {
            return Err("ufw is inactive: rules added to it do nothing, and the port would stay open. Enable it first — after allowing SSH: sudo ufw allow OpenSSH && sudo ufw enable — or use --firewall nft; nothing was changed".into())
        }
        (Firewall::Ufw, Some(super::firewall::UfwState::Missing)) | (Firewall::Ufw, None) => {
            return Err("ufw is not installed here: use --firewall nft; nothing was changed".into())
        }
        (Firewall::Ufw, Some(super::firewall::UfwState::Unreadable(e))) => {
            return Err(format!("cannot read ufw's rules ({e}); nothing was changed"))
        }
        // Shown: against ufw's rules when it is on, in order; else as they would start.
        (_, Some(super::firewall::UfwState::Active(rules))) => s
            .ufw_plan(r.interface.as_deref(), rules)
            .unwrap_or_else(|e| {
                findings.push(Finding::warn(e).about("ufw"));
                s.ufw_commands(r.interface.as_deref())
            }),
        _ => s.ufw_commands(r.interface.as_deref()),
    };
    for e in r
        .bypass_now
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
    {
        if let Some((addr, _)) = e.split_once('/') {
            findings.push(
                Finding::warn(format!("PDS_RATE_LIMIT_BYPASS_IPS lists {e}, which the PDS reads as {addr} alone"))
                    .about("PDS_RATE_LIMIT_BYPASS_IPS")
                    .why("the PDS cuts each entry at \"/\" (config.js): a range trusts only its first address")
                    .fix("list each proxy by its own address"),
            );
        }
    }
    if !r.limits_on {
        findings.push(
            Finding::info(format!(
                "rate limits are off (PDS_RATE_LIMITS_ENABLED is not true): nothing is shared, and the PDS trusts {} only once they are on",
                s.front_address
            ))
            .about("PDS_RATE_LIMITS_ENABLED")
            .why("the PDS adds PDS_RATE_LIMIT_BYPASS_IPS to the addresses it believes X-Forwarded-For from only while rate limits are on"),
        );
    }
    Ok(SidePlan {
        split: s.clone(),
        interface: r.interface.clone(),
        bypass,
        caddyfile,
        firewall: r.firewall,
        nft,
        ufw,
        findings,
    })
}

/// Caddy's own reading of the Caddyfile before and after the edit (where Caddy is: this
/// machine, or the container that mounts the file): the edit is refused when Caddy refuses
/// it, when the PDS's names would still be served publicly, or when any other site would
/// change. Without Caddy anywhere, a warning says it was not checked.
fn check_with_caddy(
    path: &Path,
    before: &str,
    after: &str,
    names: &super::caddy_edit::Names,
    s: &Split,
    r: &SideRequest,
) -> Result<Vec<Finding>, String> {
    use super::caddy_edit::check_private;
    use crate::caddy::{adapt, tool_for, Tool};
    let tool = tool_for(path, r.limit);
    if tool == Tool::None {
        return Ok(vec![Finding::warn(
            "the edited Caddyfile was not checked by Caddy",
        )
        .about("Caddyfile")
        .why("caddy is not installed here and no running container named caddy mounts the file")
        .fix(
            "check it where Caddy runs before reloading: caddy validate --config FILE",
        )]);
    }
    let nothing = "nothing was changed";
    let old = adapt(&tool, path, before, &r.env, r.limit)
        .map_err(|e| format!("Caddy ({}) cannot read the Caddyfile as it is, so the edit cannot be compared with it: {e}; {nothing}", tool.describe()))?;
    let new = adapt(&tool, path, after, &r.env, r.limit)
        .map_err(|e| format!("the edited Caddyfile: {e}; {nothing}"))?;
    if let (Some(old), Some(new)) = (old, new) {
        let problems = check_private(&old, &new, names, s.pds_address);
        if !problems.is_empty() {
            return Err(format!(
                "the edit would not do what it should, as Caddy reads it: {}; {nothing}",
                problems.join("; ")
            ));
        }
    }
    Ok(vec![Finding::pass(format!(
        "Caddy ({}) reads the edited Caddyfile: the PDS's names only on {}, every other site as before",
        tool.describe(),
        s.pds_address
    ))
    .about("Caddyfile")])
}

/// Run one command (a reload, a ufw rule), bounded; its output is the error.
pub fn run(argv: &[&str], limit: std::time::Duration) -> Result<(), String> {
    use crate::run::Ran;
    crate::run::may_change_machine(argv)?;
    let Some((prog, args)) = argv.split_first() else {
        return Err("no command".into());
    };
    match crate::run::run_bounded(prog, args, limit) {
        Ran::Done { ok: true, .. } => Ok(()),
        Ran::Done { text, .. } => Err(format!("{} failed: {}", argv.join(" "), text.trim())),
        Ran::CannotRun(e) => Err(format!("cannot run {prog}: {e}")),
        Ran::TimedOut => Err(format!(
            "{} did not finish in {} s",
            argv.join(" "),
            limit.as_secs()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(via: Via) -> Split {
        Split::example(via)
    }

    #[test]
    fn the_front_reaches_the_pds_or_its_caddy() {
        assert_eq!(
            split(Via::Direct).upstream().authority(),
            "100.101.102.103:3000"
        );
        assert_eq!(
            split(Via::InstallerCaddy).upstream().authority(),
            "100.101.102.103:80"
        );
        let mut v6 = split(Via::Direct);
        v6.pds_address = "fd7a:115c:a1e0::1".parse().unwrap();
        assert_eq!(v6.upstream().url(), "http://[fd7a:115c:a1e0::1]:3000");
        assert!(Upstream::parse(&v6.upstream().authority()).is_ok());
    }

    #[test]
    fn addresses_are_single_ips() {
        assert!(parse_address("front", "100.64.0.1").is_ok());
        assert!(parse_address("front", "[fd00::1]").is_ok());
        let e = parse_address("front", "100.64.0.0/10").unwrap_err();
        assert!(
            e.contains("not a range") && e.contains("\"100.64.0.0\""),
            "{e}"
        );
        assert!(parse_address("front", "front.tailnet").is_err());
        assert_eq!(Via::parse("Caddy"), Ok(Via::InstallerCaddy));
        assert!(Via::parse("haproxy").is_err());
    }

    #[test]
    fn the_front_is_added_to_the_bypass_list_once() {
        let s = split(Via::Direct);
        assert_eq!(s.bypass_ips(None).as_deref(), Some("100.64.0.1"));
        assert_eq!(
            s.bypass_ips(Some("10.0.0.9, 198.51.100.4")).as_deref(),
            Some("10.0.0.9,198.51.100.4,100.64.0.1")
        );
        assert_eq!(s.bypass_ips(Some("10.0.0.9,100.64.0.1")), None);
        // The PDS cuts at "/": an entry 100.64.0.1/32 lists it already.
        assert_eq!(s.bypass_ips(Some("100.64.0.1/32")), None);
        // …but a range does not list its members.
        assert_eq!(
            s.bypass_ips(Some("100.64.0.0/10")).as_deref(),
            Some("100.64.0.0/10,100.64.0.1")
        );
    }
}

//! Reverse proxy: a `ProxyPlan` (what must reach the PDS, on which names, with which TLS)
//! built from pds.env plus the operator's answers, rendered into nginx, Caddy or Traefik
//! configuration (render.rs) and checked by the server's own validator (validate.rs).
//! What the PDS needs from a proxy is in ../shared/PDS-FACTS.md, "Reverse proxy".

mod plan;
pub use self::plan::*;

pub mod caddy_edit;
pub mod firewall;
pub mod install;
pub mod render;
pub mod served;
pub mod side;
pub mod split;
pub mod validate;

use crate::envfile::Document;
use crate::finding::Finding;
use crate::identity::{Did, Handle, Hostname};
use crate::target::{ProxyField, Target};
use serde::Serialize;
use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::str::FromStr;

/// The PDS's own default when PDS_BLOB_UPLOAD_LIMIT is unset (the installer writes 300 MiB).
pub const DEFAULT_BLOB_LIMIT: u64 = 5 * 1024 * 1024;
/// The port the PDS image listens on.
pub const DEFAULT_UPSTREAM_PORT: u16 = 3000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Server {
    Nginx,
    Caddy,
    Traefik,
}

impl Server {
    pub const ALL: [Server; 3] = [Server::Nginx, Server::Caddy, Server::Traefik];
    pub fn name(self) -> &'static str {
        match self {
            Server::Nginx => "nginx",
            Server::Caddy => "caddy",
            Server::Traefik => "traefik",
        }
    }
}

impl FromStr for Server {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Server::ALL
            .into_iter()
            .find(|v| v.name() == s.to_ascii_lowercase())
            .ok_or_else(|| {
                format!("{s:?} is not a server pds-wizard writes for: nginx, caddy or traefik")
            })
    }
}

impl fmt::Display for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where certificates come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "mode", rename_all = "kebab-case")]
pub enum Tls {
    /// A certificate and key the operator already has (one certificate for every name).
    Files { cert: PathBuf, key: PathBuf },
    /// certbot's files under /etc/letsencrypt/live/HOST (nginx).
    Certbot,
    /// The server gets certificates itself from Let's Encrypt (Caddy, Traefik).
    Acme { email: Option<String> },
    /// Caddy on-demand TLS, approved by the PDS's `/tls-check`, as the official installer does.
    OnDemand { email: Option<String> },
    /// Caddy's own local CA, for a LAN or a test bench; clients must trust it by hand.
    Internal { on_demand: bool },
}

impl Tls {
    pub const MODES: [&'static str; 5] = ["files", "certbot", "acme", "on-demand", "internal"];
    pub fn mode(&self) -> &'static str {
        match self {
            Tls::Files { .. } => "files",
            Tls::Certbot => "certbot",
            Tls::Acme { .. } => "acme",
            Tls::OnDemand { .. } => "on-demand",
            Tls::Internal { .. } => "internal",
        }
    }
}

/// Whether a domain belongs to the PDS alone, or to an existing website that keeps every
/// path except the atproto ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SiteMode {
    Dedicated,
    Shared,
}

/// How `/.well-known/atproto-did` is answered on a handle-only domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "route", rename_all = "lowercase")]
pub enum DidRoute {
    /// A static file at WEBROOT/.well-known/atproto-did (`pds-wizard did-file write`).
    File { webroot: PathBuf },
    /// Ask the PDS, which answers only for handles under PDS_SERVICE_HANDLE_DOMAINS.
    Proxied,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HandleDomain {
    pub name: Handle,
    pub mode: SiteMode,
    pub did_route: DidRoute,
    /// Send `/` to this account's profile on bsky.app.
    pub redirect_to: Option<Did>,
}

impl HandleDomain {
    pub fn new(name: Handle) -> HandleDomain {
        let webroot = default_webroot(&name);
        HandleDomain {
            name,
            mode: SiteMode::Dedicated,
            did_route: DidRoute::File { webroot },
            redirect_to: None,
        }
    }

    /// `NAME[,shared][,proxied][,webroot=DIR][,redirect=DID]`, as the CLI and the wizard
    /// take it.
    pub fn parse_spec(spec: &str) -> Result<HandleDomain, String> {
        let mut parts = spec.split(',');
        let name = parts.next().unwrap_or("").trim();
        let name = Handle::parse(name).map_err(|e| format!("handle domain: {e}"))?;
        let mut d = HandleDomain::new(name);
        for opt in parts {
            let opt = opt.trim();
            match opt.split_once('=') {
                None if opt == "shared" => d.mode = SiteMode::Shared,
                None if opt == "dedicated" => d.mode = SiteMode::Dedicated,
                None if opt == "proxied" => d.did_route = DidRoute::Proxied,
                Some(("webroot", dir)) => {
                    d.did_route = DidRoute::File {
                        webroot: PathBuf::from(dir),
                    }
                }
                Some(("redirect", did)) => {
                    d.redirect_to =
                        Some(Did::parse_usable(did).map_err(|e| format!("{}: redirect: {e}", d.name.as_str()))?)
                }
                _ => {
                    return Err(format!(
                        "{}: unknown option {opt:?} (options: shared, proxied, webroot=DIR, redirect=DID)",
                        d.name.as_str()
                    ))
                }
            }
        }
        Ok(d)
    }

    /// The inverse of `parse_spec`, shortest form.
    pub fn spec(&self) -> String {
        let mut s = self.name.as_str().to_string();
        if self.mode == SiteMode::Shared {
            s.push_str(",shared");
        }
        match &self.did_route {
            DidRoute::Proxied => s.push_str(",proxied"),
            DidRoute::File { webroot } if *webroot != default_webroot(&self.name) => {
                s.push_str(&format!(",webroot={}", webroot.display()))
            }
            DidRoute::File { .. } => {}
        }
        if let Some(did) = &self.redirect_to {
            s.push_str(&format!(",redirect={}", did.as_str()));
        }
        s
    }
}

pub fn default_webroot(name: &Handle) -> PathBuf {
    PathBuf::from(format!("/var/www/{}", name.as_str()))
}

/// The PDS behind the proxy: `http://HOST:PORT`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Upstream {
    pub host: String,
    pub port: u16,
}

impl Upstream {
    /// `127.0.0.1:3000`, `http://100.101.102.103:3000`, `[::1]:3000`, `pds.tailnet.ts.net:3000`.
    pub fn parse(s: &str) -> Result<Upstream, String> {
        let t = s.trim();
        let t = t.strip_prefix("http://").unwrap_or(t).trim_end_matches('/');
        if t.starts_with("https://") {
            return Err("the PDS itself speaks plain HTTP: write http://HOST:PORT".into());
        }
        let (host, port) = match t.rsplit_once(':') {
            Some((h, p)) if !h.is_empty() && !p.contains(']') => (h, p),
            _ => {
                return Err(format!(
                    "{s:?}: write the PDS's address as HOST:PORT, e.g. 127.0.0.1:3000"
                ))
            }
        };
        let port: u16 = port
            .parse()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| format!("{s:?}: {port:?} is not a port number"))?;
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if host.starts_with('[') {
            bare.parse::<std::net::Ipv6Addr>()
                .map_err(|_| format!("{s:?}: {host} is not an IPv6 address"))?;
        } else if bare.parse::<IpAddr>().is_err() && bare != "localhost" {
            Hostname::parse(bare)
                .map_err(|e| format!("{s:?}: the host is not a name or address: {e}"))?;
        } else if bare.contains(':') {
            return Err(format!(
                "{s:?}: put an IPv6 address in brackets, e.g. [::1]:3000"
            ));
        }
        Ok(Upstream {
            host: host.to_ascii_lowercase(),
            port,
        })
    }

    pub fn authority(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.authority())
    }

    fn ip(&self) -> Option<IpAddr> {
        self.host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .ok()
    }

    /// Whether the PDS believes X-Forwarded-For from here: loopback, link-local and private
    /// ranges only (PDS-FACTS). None when the host is a name.
    pub fn trusted_by_pds(&self) -> Option<bool> {
        if self.host == "localhost" {
            return Some(true);
        }
        Some(match self.ip()? {
            IpAddr::V4(v4) => v4.is_loopback() || v4.is_private() || v4.is_link_local(),
            IpAddr::V6(v6) => {
                let s = v6.segments()[0];
                v6.is_loopback() || (s & 0xffc0) == 0xfe80 || (s & 0xfe00) == 0xfc00
            }
        })
    }
}

/// Everything a renderer needs; built by `plan_from_env` and edited by the operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProxyPlan {
    pub server: Server,
    /// PDS_HOSTNAME.
    pub host: Hostname,
    /// Whether the PDS hostname also serves an existing website.
    pub host_mode: SiteMode,
    pub upstream: Upstream,
    /// Domains whose subdomains are handles served by this PDS (PDS_SERVICE_HANDLE_DOMAINS
    /// without the leading dot), each proxied as `*.DOMAIN`.
    pub handle_wildcards: Vec<String>,
    pub handle_domains: Vec<HandleDomain>,
    pub tls: Tls,
    /// Bytes a request body may carry: PDS_BLOB_UPLOAD_LIMIT.
    pub body_limit: u64,
    /// Listen on this address only (None: every address, IPv4 and IPv6).
    pub listen: Option<IpAddr>,
    pub https_port: u16,
    /// Plain HTTP port that redirects to HTTPS (and answers ACME challenges); None: off.
    pub http_port: Option<u16>,
    /// The PDS is on another machine, reached over a private network (this config is the
    /// front's; split::Split makes the PDS machine's side).
    pub split: Option<split::Split>,
}

impl ProxyPlan {
    /// Every name that reaches the PDS as a whole: the hostname and `*.D` for each handle
    /// domain of the PDS.
    pub fn pds_names(&self) -> Vec<String> {
        let mut names = vec![self.host.as_str().to_string()];
        for w in &self.handle_wildcards {
            names.push(format!("*.{w}"));
        }
        names
    }

    /// The certificate and key files the config names (files and certbot modes).
    pub fn cert_paths(&self) -> Option<(PathBuf, PathBuf)> {
        match &self.tls {
            Tls::Files { cert, key } => Some((cert.clone(), key.clone())),
            Tls::Certbot => {
                let live = format!("/etc/letsencrypt/live/{}", self.host.as_str());
                Some((
                    PathBuf::from(format!("{live}/fullchain.pem")),
                    PathBuf::from(format!("{live}/privkey.pem")),
                ))
            }
            _ => None,
        }
    }

    /// Whether the PDS answers `/.well-known/atproto-did` for this name itself.
    pub fn pds_answers_did_for(&self, name: &Handle) -> bool {
        let n = name.as_str();
        self.handle_wildcards
            .iter()
            .any(|w| n.ends_with(&format!(".{w}")) || n == w)
    }

    /// What an operator should know before using this plan: impossible combinations are
    /// failures, risky ones warnings.
    pub fn findings(&self) -> Vec<Finding> {
        let mut out = Vec::new();
        let server = self.server.name();
        match (&self.tls, self.server) {
            (Tls::Acme { .. } | Tls::OnDemand { .. } | Tls::Internal { .. }, Server::Nginx) => out.push(
                Finding::fail(format!("nginx cannot get certificates itself ({} TLS)", self.tls.mode()))
                    .about("TLS")
                    .target(Target::Proxy(ProxyField::Tls))
                    .fix("choose certbot (then run the certbot command in the config's header) or files"),
            ),
            (Tls::Certbot, Server::Caddy | Server::Traefik) => out.push(
                Finding::fail(format!("{server} gets its own certificates; certbot is for nginx"))
                    .about("TLS")
                    .target(Target::Proxy(ProxyField::Tls))
                    .fix("choose acme (or on-demand with Caddy), or files for certificates you already have"),
            ),
            (Tls::OnDemand { .. } | Tls::Internal { .. }, Server::Traefik) => out.push(
                Finding::fail(format!("Traefik has no {} TLS", self.tls.mode()))
                    .about("TLS")
                    .target(Target::Proxy(ProxyField::Tls))
                    .fix("choose acme, or files"),
            ),
            _ => {}
        }
        let wildcard = !self.handle_wildcards.is_empty();
        if wildcard && matches!(self.tls, Tls::Certbot | Tls::Acme { .. }) {
            let names = self
                .handle_wildcards
                .iter()
                .map(|w| format!("*.{w}"))
                .collect::<Vec<_>>()
                .join(", ");
            out.push(
                Finding::warn(format!("handles under {names} need a wildcard certificate"))
                    .about("TLS")
                    .target(Target::Proxy(ProxyField::Tls))
                    .why("Let's Encrypt issues wildcards only through a DNS challenge; the HTTP challenge cannot prove *.NAME")
                    .fix(match self.server {
                        Server::Caddy => "use on-demand TLS (the official installer's choice): each handle gets its own certificate".to_string(),
                        _ => "get the certificate with a DNS plugin (e.g. certbot --dns-cloudflare -d HOST -d '*.HOST'), or give each handle its own name in the certificate".to_string(),
                    }),
            );
        }
        if let Some((cert, key)) = self.cert_paths() {
            for (p, what) in [(&cert, "certificate"), (&key, "key")] {
                if self.tls == Tls::Certbot && !p.exists() {
                    out.push(
                        Finding::warn(format!("the certbot {what} {} is not there yet", p.display()))
                            .about("TLS")
                    .target(Target::Proxy(ProxyField::Tls))
                            .why("nginx refuses to start without it, and certbot needs the port-80 server to answer its challenge")
                            .fix("load the config first with the 443 servers commented out, or stop nginx and run certbot certonly --standalone with the names in the config's header; then reload"),
                    );
                    break;
                }
                if !p.exists() {
                    out.push(
                        Finding::warn(format!("the {what} {} does not exist here", p.display()))
                            .about("TLS")
                            .target(Target::Proxy(ProxyField::Tls))
                            .why(format!("{server} refuses to start without it"))
                            .fix("check the path, or create the certificate before reloading"),
                    );
                }
            }
        }
        if wildcard {
            out.push(
                Finding::info(format!(
                    "besides {h}, handles need a wildcard record *.{w} pointing at this server",
                    h = self.host.as_str(),
                    w = self.handle_wildcards[0]
                ))
                .about("DNS")
                .why("a missing wildcard record is a classic cause of \"Invalid Handle\""),
            );
        }
        match (&self.split, self.upstream.trusted_by_pds()) {
            (Some(s), _) => out.extend(s.findings()),
            (None, Some(false)) => out.push(
                Finding::warn(format!(
                    "the PDS will not trust X-Forwarded-For from a proxy reaching it at {}",
                    self.upstream.host
                ))
                .about("upstream")
                .target(Target::Proxy(ProxyField::FrontAddress))
                .why("the PDS believes forwarded addresses only from loopback, private ranges and PDS_RATE_LIMIT_BYPASS_IPS; from here (e.g. Tailscale's 100.64/10) every client looks like the proxy, and with rate limits on they share one limit")
                .fix(format!(
                    "a PDS on another machine: give this proxy's own address there with --front-address (the wizard's \"Front's own IP\"), and run `pds-wizard proxy pds-side --front-address THAT-IP --pds-address {}` on the PDS machine: it lists the proxy in PDS_RATE_LIMIT_BYPASS_IPS and lets only it in",
                    self.upstream.host
                )),
            ),
            (None, None) => out.push(
                Finding::info(format!("the upstream {} is a name: the PDS trusts X-Forwarded-For only if it resolves to a loopback or private address", self.upstream.host))
                    .about("upstream")
                .target(Target::Proxy(ProxyField::Upstream)),
            ),
            (None, Some(true)) => {}
        }
        for d in &self.handle_domains {
            let n = d.name.as_str();
            if d.name.as_str() == self.host.as_str() {
                out.push(
                    Finding::fail(format!("{n} is the PDS hostname; list it only once"))
                        .about(n)
                        .target(Target::Proxy(ProxyField::HandleDomains))
                        .fix("remove it from the handle domains (choose \"shared\" for the PDS hostname instead if a site lives there)"),
                );
            }
            if self.pds_names().iter().any(|p| {
                p.strip_prefix("*.").is_some_and(|w| {
                    n.ends_with(&format!(".{w}"))
                        && n.split('.').count() == w.split('.').count() + 1
                })
            }) {
                out.push(
                    Finding::warn(format!(
                        "{n} is already served by the wildcard for the PDS's handles"
                    ))
                    .about(n)
                    .target(Target::Proxy(ProxyField::HandleDomains))
                    .why("the proxy would have two rules for one name")
                    .fix("remove it from the handle domains: the PDS answers it already"),
                );
            }
            if d.did_route == DidRoute::Proxied && !self.pds_answers_did_for(&d.name) {
                out.push(
                    Finding::fail(format!("the PDS will answer 404 for {n}/.well-known/atproto-did"))
                        .about(n)
                        .target(Target::Proxy(ProxyField::HandleDomains))
                        .why("the PDS answers it only for handles under PDS_SERVICE_HANDLE_DOMAINS")
                        .fix(format!("serve a static file instead (pds-wizard did-file write {n} DID --webroot DIR), or use the DNS TXT record")),
                );
            }
            if matches!(d.did_route, DidRoute::File { .. }) && self.server == Server::Traefik {
                out.push(
                    Finding::warn(format!("Traefik cannot serve the atproto-did file for {n}"))
                        .about(n)
                        .target(Target::Proxy(ProxyField::HandleDomains))
                        .why("Traefik only routes; it has no file server")
                        .fix("prove this handle with the DNS TXT record (pds-wizard handle record), or serve the file from a web server Traefik routes to"),
                );
            }
            if d.redirect_to.is_some() && d.mode == SiteMode::Shared {
                out.push(
                    Finding::fail(format!(
                        "redirecting / on {n} would take over the existing site's front page"
                    ))
                    .about(n)
                    .target(Target::Proxy(ProxyField::HandleDomains))
                    .fix("drop the redirect, or make the domain dedicated"),
                );
            }
        }
        if self.host_mode == SiteMode::Shared && self.server == Server::Traefik {
            out.push(
                Finding::info(format!("{}: the atproto paths get a router of high priority; the site's own routers keep the rest", self.host.as_str()))
                    .about(self.host.as_str()),
            );
        }
        // Which limit cuts uploads: this config lets through what the PDS takes, so the
        // PDS's own limit does (the doctor's uploads check compares them live).
        let limit = crate::envfile::catalogue::human_bytes(self.body_limit);
        out.push(
            Finding::info(match self.server {
                Server::Nginx => format!(
                    "uploads up to {limit}: client_max_body_size is PDS_BLOB_UPLOAD_LIMIT, so the PDS's limit is the one that cuts"
                ),
                Server::Caddy | Server::Traefik => format!(
                    "uploads up to {limit}: this config sets no body limit, so the PDS's limit (PDS_BLOB_UPLOAD_LIMIT) is the one that cuts"
                ),
            })
            .about("PDS_BLOB_UPLOAD_LIMIT")
            .target(crate::target::Target::Proxy(crate::target::ProxyField::BodyLimit)),
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstreams() {
        for (s, want) in [
            ("127.0.0.1:3000", Ok("127.0.0.1:3000")),
            ("http://100.64.1.2:3000/", Ok("100.64.1.2:3000")),
            ("[::1]:2583", Ok("[::1]:2583")),
            ("pds.tail1234.ts.net:3000", Ok("pds.tail1234.ts.net:3000")),
            ("localhost:3000", Ok("localhost:3000")),
            ("127.0.0.1", Err("HOST:PORT")),
            ("::1:3000", Err("brackets")),
            ("127.0.0.1:99999", Err("not a port")),
            ("https://x.example.com:3000", Err("plain HTTP")),
            ("bad host:3000", Err("not a name")),
        ] {
            match (Upstream::parse(s), want) {
                (Ok(u), Ok(w)) => assert_eq!(u.authority(), w),
                (Err(e), Err(w)) => assert!(e.contains(w), "{s}: {e}"),
                (got, _) => panic!("{s}: {got:?}"),
            }
        }
        let trusted = |s: &str| Upstream::parse(s).unwrap().trusted_by_pds();
        assert_eq!(trusted("127.0.0.1:3000"), Some(true));
        assert_eq!(trusted("10.1.2.3:3000"), Some(true));
        assert_eq!(trusted("[fd00::1]:3000"), Some(true));
        assert_eq!(trusted("[fe80::1]:3000"), Some(true));
        assert_eq!(trusted("100.64.1.2:3000"), Some(false));
        assert_eq!(trusted("[2001:db8::1]:3000"), Some(false));
        assert_eq!(trusted("pds.example.com:3000"), None);
    }

    #[test]
    fn handle_domain_specs_round_trip() {
        for spec in [
            "alice.example.com",
            "example.com,shared",
            "bob.example.com,proxied",
            "carol.example,webroot=/srv/carol",
            "dan.example.com,redirect=did:plc:ewvi7nxzyoun6zhxrhs64oiz",
        ] {
            assert_eq!(HandleDomain::parse_spec(spec).unwrap().spec(), spec);
        }
        for (bad, why) in [
            ("", "empty"),
            ("alice", "no dot"),
            ("alice.com,loud", "unknown option"),
            ("alice.com,redirect=plc:x", "redirect"),
        ] {
            let e = HandleDomain::parse_spec(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    fn doc(text: &str) -> Document {
        Document::parse(text)
    }

    #[test]
    fn plan_reads_pds_env() {
        let d = doc("PDS_HOSTNAME=pds.example.com\nPDS_PORT=2583\nPDS_BLOB_UPLOAD_LIMIT=104857600\nPDS_SERVICE_HANDLE_DOMAINS=.pds.example.com,.users.example.net\n");
        let p = plan_from_env(Server::Nginx, &d, &PlanAnswers::default()).unwrap();
        assert_eq!(p.host.as_str(), "pds.example.com");
        assert_eq!(p.upstream.authority(), "127.0.0.1:2583");
        assert_eq!(p.body_limit, 104_857_600);
        assert_eq!(
            p.pds_names(),
            [
                "pds.example.com",
                "*.pds.example.com",
                "*.users.example.net"
            ]
        );
        assert_eq!(p.tls, Tls::Certbot);
        assert_eq!((p.https_port, p.http_port), (443, Some(80)));
        // No handle domains in the file: handles under the hostname, as the PDS defaults.
        let p = plan_from_env(
            Server::Caddy,
            &doc("PDS_HOSTNAME=pds.example.com\n"),
            &PlanAnswers::default(),
        )
        .unwrap();
        assert_eq!(p.handle_wildcards, ["pds.example.com"]);
        assert_eq!(p.body_limit, DEFAULT_BLOB_LIMIT);
        assert_eq!(p.tls, Tls::OnDemand { email: None });
    }

    #[test]
    fn plan_errors_are_all_reported() {
        let a = PlanAnswers {
            upstream: Some("nowhere".into()),
            tls: Some("files".into()),
            handle_domains: vec!["x".into(), "a.com".into(), "a.com".into()],
            listen: Some("everywhere".into()),
            ..Default::default()
        };
        let e = plan_from_env(Server::Nginx, &doc("PDS_BLOB_UPLOAD_LIMIT=big\n"), &a).unwrap_err();
        let all = e
            .iter()
            .map(PlanError::for_cli)
            .collect::<Vec<_>>()
            .join("\n");
        for want in [
            "hostname is unknown",
            "upstream",
            "big",
            "--cert",
            "no dot",
            "listed twice",
            "not an IP",
        ] {
            assert!(all.contains(want), "{want} missing from:\n{all}");
        }
        // Each error names its part of the plan as data, whatever its words.
        use ProxyField as F;
        let fields: Vec<ProxyField> = e.iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                F::Host,
                F::Upstream,
                F::BodyLimit,
                F::HandleDomains,
                F::HandleDomains,
                F::Cert,
                F::Key,
                F::Listen
            ],
            "{all}"
        );
    }

    #[test]
    fn findings_catch_impossible_and_risky_plans() {
        let d = doc("PDS_HOSTNAME=pds.example.com\nPDS_SERVICE_HANDLE_DOMAINS=.pds.example.com\n");
        let a = PlanAnswers {
            upstream: Some("100.80.1.2:3000".into()),
            tls: Some("acme".into()),
            handle_domains: vec![
                "alice.example.net,proxied".into(),
                "example.org,shared,redirect=did:plc:ewvi7nxzyoun6zhxrhs64oiz".into(),
                "bob.pds.example.com,proxied".into(),
            ],
            ..Default::default()
        };
        let p = plan_from_env(Server::Nginx, &d, &a).unwrap();
        let f = p.findings();
        let has = |lvl, s: &str| f.iter().any(|x| x.level == lvl && x.what.contains(s));
        use crate::finding::Level::*;
        assert!(has(Fail, "nginx cannot get certificates"), "{f:#?}");
        assert!(has(Warn, "wildcard certificate"));
        assert!(has(Warn, "will not trust X-Forwarded-For"));
        assert!(has(Fail, "404 for alice.example.net"));
        assert!(!has(Fail, "404 for bob.pds.example.com"));
        assert!(has(Warn, "bob.pds.example.com is already served"));
        assert!(has(Fail, "take over the existing site"));
        // A sound plan has no warnings or failures.
        let ok = plan_from_env(
            Server::Caddy,
            &d,
            &PlanAnswers {
                handle_domains: vec!["alice.example.net".into()],
                ..Default::default()
            },
        )
        .unwrap();
        assert!(
            ok.findings().iter().all(|x| x.level <= Pass),
            "{:#?}",
            ok.findings()
        );
        // It says which limit cuts uploads.
        assert!(
            ok.findings()
                .iter()
                .any(|x| x.what.starts_with("uploads up to ")
                    && x.what.ends_with("is the one that cuts")),
            "{:#?}",
            ok.findings()
        );
    }
}

//! The plan from pds.env and the operator's answers: every answer checked, every error
//! named by the field it belongs to.

use super::*;

/// Inputs from the operator that pds.env does not hold.
#[derive(Debug, Clone, Default)]
pub struct PlanAnswers {
    pub host: Option<String>,
    pub shared_host: bool,
    pub upstream: Option<String>,
    pub tls: Option<String>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    pub email: Option<String>,
    pub handle_domains: Vec<String>,
    pub listen: Option<String>,
    pub https_port: Option<u16>,
    /// Some(None) turns the plain HTTP listener off.
    pub http_port: Option<Option<u16>>,
    /// The front's address on the private network, when the PDS is on another machine
    /// (`upstream` is then the PDS machine's private address).
    pub front_address: Option<String>,
    /// How the PDS machine answers the front: direct or caddy (split::Via).
    pub pds_side: Option<String>,
}

/// An answer the operator must correct: which part of the plan, and what is wrong with it,
/// worded without naming a flag or a field (each front end names its own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanError {
    pub field: ProxyField,
    pub message: String,
}

impl PlanError {
    fn new(field: ProxyField, message: impl Into<String>) -> PlanError {
        PlanError {
            field,
            message: message.into(),
        }
    }

    /// For the command line: the flag that sets it, then the message.
    pub fn for_cli(&self) -> String {
        match self.field.flag() {
            Some(flag) => format!("{flag}: {}", self.message),
            None => self.message.clone(),
        }
    }
}

/// Build a plan from pds.env and the answers. Errors are input the operator must correct
/// (one each, all of them at once).
pub fn plan_from_env(
    server: Server,
    doc: &Document,
    a: &PlanAnswers,
) -> Result<ProxyPlan, Vec<PlanError>> {
    let mut errors = Vec::new();
    use ProxyField as F;
    let host_text = a
        .host
        .clone()
        .or_else(|| doc.get("PDS_HOSTNAME"))
        .unwrap_or_default();
    let host = match Hostname::parse(host_text.trim()) {
        Ok(h) => Some(h),
        Err(_) if host_text.trim().is_empty() => {
            errors.push(PlanError::new(
                F::Host,
                "the PDS hostname is unknown: set PDS_HOSTNAME in pds.env",
            ));
            None
        }
        Err(e) => {
            errors.push(PlanError::new(F::Host, format!("PDS hostname: {e}")));
            None
        }
    };
    let port = doc
        .get("PDS_PORT")
        .and_then(|p| p.trim().parse::<u16>().ok())
        .unwrap_or(DEFAULT_UPSTREAM_PORT);
    let front = a
        .front_address
        .as_deref()
        .filter(|f| !f.trim().is_empty())
        .map(|f| split::parse_address("the front's address", f))
        .transpose()
        .map_err(|e| errors.push(PlanError::new(F::FrontAddress, e)))
        .ok()
        .flatten();
    let via = a
        .pds_side
        .as_deref()
        .filter(|v| !v.trim().is_empty())
        .map(split::Via::parse)
        .transpose()
        .map_err(|e| errors.push(PlanError::new(F::PdsSide, e)))
        .ok()
        .flatten();
    let elsewhere = a
        .front_address
        .as_deref()
        .is_some_and(|f| !f.trim().is_empty());
    let mut split = None;
    let upstream = match (&a.upstream, elsewhere) {
        // The PDS on another machine: the upstream is its private address, the port
        // follows from the PDS side.
        (Some(u), true) if !u.trim().is_empty() => {
            let (addr, given) = match Upstream::parse(u) {
                Ok(up) => (
                    split::parse_address("the PDS's private address", &up.host),
                    Some(up.port),
                ),
                Err(_) => (split::parse_address("the PDS's private address", u), None),
            };
            match addr {
                Ok(pds_address) => {
                    let via = via.unwrap_or(split::Via::Direct);
                    let s = split::Split {
                        via,
                        pds_address,
                        front_address: front.unwrap_or(pds_address),
                        pds_port: match via {
                            split::Via::Direct => given.unwrap_or(port),
                            split::Via::InstallerCaddy => port,
                        },
                    };
                    if via == split::Via::InstallerCaddy
                        && given.is_some_and(|p| p != split::CADDY_PORT)
                    {
                        errors.push(PlanError::new(
                            F::Upstream,
                            format!("through the installer's Caddy the front connects to port {}: give the address alone", split::CADDY_PORT),
                        ));
                    }
                    let up = s.upstream();
                    split = front.map(|_| s);
                    Some(up)
                }
                Err(e) => {
                    errors.push(PlanError::new(F::Upstream, e));
                    None
                }
            }
        }
        (_, true) => {
            errors.push(PlanError::new(
                F::Upstream,
                "give the PDS machine's private IP",
            ));
            None
        }
        (Some(u), false) if !u.trim().is_empty() => Upstream::parse(u)
            .map_err(|e| errors.push(PlanError::new(F::Upstream, e)))
            .ok(),
        _ => Some(Upstream {
            host: "127.0.0.1".into(),
            port,
        }),
    };
    if via.is_some() && !elsewhere {
        errors.push(PlanError::new(
            F::FrontAddress,
            "the PDS side is for a front proxy on another machine: give the front's address on the private network",
        ));
    }
    let body_limit = match doc.get("PDS_BLOB_UPLOAD_LIMIT") {
        None => DEFAULT_BLOB_LIMIT,
        Some(v) => match v.trim().parse::<u64>() {
            Ok(n) if n > 0 => n,
            _ => {
                errors.push(PlanError::new(
                    F::BodyLimit,
                    format!("PDS_BLOB_UPLOAD_LIMIT={v:?} is not a number of bytes"),
                ));
                DEFAULT_BLOB_LIMIT
            }
        },
    };
    let handle_wildcards = doc
        .get("PDS_SERVICE_HANDLE_DOMAINS")
        .map(|list| {
            list.split(',')
                .filter_map(|d| {
                    let d = d.trim().trim_start_matches('.');
                    Hostname::parse(d).ok().map(|h| h.as_str().to_string())
                })
                .collect::<Vec<_>>()
        })
        .unwrap_or_else(|| host.iter().map(|h| h.as_str().to_string()).collect());
    let mut handle_domains: Vec<HandleDomain> = Vec::new();
    for spec in &a.handle_domains {
        match HandleDomain::parse_spec(spec) {
            Ok(d) if handle_domains.iter().any(|o| o.name == d.name) => {
                errors.push(PlanError::new(
                    F::HandleDomains,
                    format!("handle domain {} is listed twice", d.name.as_str()),
                ))
            }
            Ok(d) => handle_domains.push(d),
            Err(e) => errors.push(PlanError::new(F::HandleDomains, e)),
        }
    }
    let email = a.email.clone().filter(|e| !e.trim().is_empty());
    if let Some(e) = &email {
        if !e.contains('@') || e.contains(char::is_whitespace) {
            errors.push(PlanError::new(
                F::Email,
                format!("{e:?} is not an email address (for the ACME account)"),
            ));
        }
    }
    let email = email.or_else(|| doc.get("PDS_CONTACT_EMAIL_ADDRESS"));
    let tls = match a.tls.as_deref().unwrap_or(match server {
        Server::Nginx => "certbot",
        Server::Caddy => "on-demand",
        Server::Traefik => "acme",
    }) {
        "files" => match (&a.cert, &a.key) {
            (Some(cert), Some(key)) => Some(Tls::Files {
                cert: cert.clone(),
                key: key.clone(),
            }),
            (cert, key) => {
                for (missing, field, what) in [
                    (cert.is_none(), F::Cert, "certificate"),
                    (key.is_none(), F::Key, "key"),
                ] {
                    if missing {
                        errors.push(PlanError::new(
                            field,
                            format!("TLS from files needs a {what} file"),
                        ));
                    }
                }
                None
            }
        },
        "certbot" => Some(Tls::Certbot),
        "acme" => Some(Tls::Acme { email }),
        "on-demand" => Some(Tls::OnDemand { email }),
        "internal" => Some(Tls::Internal { on_demand: false }),
        "internal-on-demand" => Some(Tls::Internal { on_demand: true }),
        other => {
            errors.push(PlanError::new(
                F::Tls,
                format!(
                    "TLS mode {other:?}: choose one of {}",
                    Tls::MODES.join(", ")
                ),
            ));
            None
        }
    };
    let listen = match a.listen.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => match s
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
        {
            Ok(ip) => Some(ip),
            Err(_) => {
                errors.push(PlanError::new(
                    F::Listen,
                    format!("listen address {s:?} is not an IP address"),
                ));
                None
            }
        },
    };
    for (path, field, what) in [(&a.cert, F::Cert, "certificate"), (&a.key, F::Key, "key")] {
        if let Some(p) = path {
            if let Err(e) = render::check_path(p) {
                errors.push(PlanError::new(field, format!("{what} path: {e}")));
            }
        }
    }
    for d in &handle_domains {
        if let DidRoute::File { webroot } = &d.did_route {
            if let Err(e) = render::check_path(webroot) {
                errors.push(PlanError::new(
                    F::HandleDomains,
                    format!("{}: webroot: {e}", d.name.as_str()),
                ));
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let (Some(host), Some(upstream), Some(tls)) = (host, upstream, tls) else {
        unreachable!("every missing part pushed an error")
    };
    Ok(ProxyPlan {
        server,
        host,
        host_mode: if a.shared_host {
            SiteMode::Shared
        } else {
            SiteMode::Dedicated
        },
        upstream,
        handle_wildcards,
        handle_domains,
        tls,
        body_limit,
        listen,
        https_port: a.https_port.unwrap_or(443),
        http_port: a.http_port.unwrap_or(Some(80)),
        split,
    })
}

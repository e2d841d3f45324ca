//! Where this server is, and the two address records the PDS needs (`HOST` and `*.HOST`,
//! A and AAAA), checked live: the first thing the official installer prints, and the first
//! thing that is wrong on a new server.

use crate::finding::Finding;
use crate::identity::dns::{addresses, DnsOptions};
use serde::Serialize;
use std::net::IpAddr;
use std::time::Duration;

/// Whether other machines on the internet can reach an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Public,
    /// RFC 1918, carrier-grade NAT (Tailscale's 100.64/10), unique-local IPv6, and the
    /// documentation ranges: reachable on a private network at most.
    Private,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MachineAddress {
    pub ip: IpAddr,
    pub interface: String,
    pub scope: Scope,
}

/// The scope of an address, or None for those no record should hold (loopback, link-local,
/// unspecified, multicast).
pub fn scope(ip: IpAddr) -> Option<Scope> {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        ip => ip,
    };
    match ip {
        IpAddr::V4(a) => {
            let o = a.octets();
            if a.is_loopback() || a.is_link_local() || a.is_unspecified() || a.is_multicast() {
                return None;
            }
            let cgnat = o[0] == 100 && (o[1] & 0xc0) == 64;
            let private = a.is_private() || cgnat || a.is_documentation() || a.is_broadcast();
            Some(if private {
                Scope::Private
            } else {
                Scope::Public
            })
        }
        IpAddr::V6(a) => {
            let s = a.segments();
            if a.is_loopback()
                || a.is_unspecified()
                || a.is_multicast()
                || (s[0] & 0xffc0) == 0xfe80
            {
                return None;
            }
            let ula = (s[0] & 0xfe00) == 0xfc00;
            let documentation = s[0] == 0x2001 && s[1] == 0x0db8;
            Some(if ula || documentation {
                Scope::Private
            } else {
                Scope::Public
            })
        }
    }
}

/// This machine's addresses from its interfaces (getifaddrs), loopback and link-local left
/// out, in the kernel's order.
pub fn machine_addresses() -> Vec<MachineAddress> {
    let mut out = Vec::new();
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `head` with a list we walk read-only and free once.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return out;
    }
    let mut cur = head;
    while !cur.is_null() {
        // SAFETY: `cur` is a node of the list getifaddrs returned, not yet freed.
        let ifa = unsafe { &*cur };
        cur = ifa.ifa_next;
        if ifa.ifa_addr.is_null() {
            continue;
        }
        // SAFETY: ifa_addr points at a sockaddr whose family says its real type.
        let ip = unsafe {
            match (*ifa.ifa_addr).sa_family as i32 {
                libc::AF_INET => {
                    let sa = &*(ifa.ifa_addr as *const libc::sockaddr_in);
                    IpAddr::from(u32::from_be(sa.sin_addr.s_addr).to_be_bytes())
                }
                libc::AF_INET6 => {
                    let sa = &*(ifa.ifa_addr as *const libc::sockaddr_in6);
                    IpAddr::from(sa.sin6_addr.s6_addr)
                }
                _ => continue,
            }
        };
        // SAFETY: ifa_name is a NUL-terminated interface name.
        let interface = unsafe { std::ffi::CStr::from_ptr(ifa.ifa_name) }
            .to_string_lossy()
            .into_owned();
        if let Some(scope) = scope(ip) {
            if !out.iter().any(|m: &MachineAddress| m.ip == ip) {
                out.push(MachineAddress {
                    ip,
                    interface,
                    scope,
                });
            }
        }
    }
    // SAFETY: freed once, after the last read.
    unsafe { libc::freeifaddrs(head) };
    out
}

/// Ask a public-address echo service (a URL that answers with the caller's address as plain
/// text, e.g. a cloud's metadata URL) which address the internet sees: behind NAT, the
/// only way to learn it from the machine.
pub async fn echo(url: &str, timeout: Duration) -> Result<IpAddr, String> {
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .build()
        .map_err(|e| e.to_string())?;
    let r = client
        .get(url)
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .map_err(|e| format!("{url}: {}", crate::http::cause(&e)))?;
    // An address is a line of text: a few hundred bytes are plenty.
    let body = crate::http::read_text(r, 1024)
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    let first = body.lines().next().unwrap_or("").trim();
    first
        .parse()
        .map_err(|_| format!("{url} answered {first:?}, not an address"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Kind {
    A,
    #[allow(clippy::upper_case_acronyms)]
    AAAA,
}

impl Kind {
    pub fn of(ip: IpAddr) -> Kind {
        match ip {
            IpAddr::V4(_) => Kind::A,
            IpAddr::V6(_) => Kind::AAAA,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::A => "A",
            Kind::AAAA => "AAAA",
        }
    }
}

/// One record to create at the DNS provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Record {
    pub name: String,
    pub kind: Kind,
    pub value: IpAddr,
}

impl Record {
    /// `NAME A VALUE`, as the installer prints it.
    pub fn line(&self) -> String {
        format!("{} {} {}", self.name, self.kind.as_str(), self.value)
    }
}

/// The addresses the records should hold: the echo service's answer and the public ones
/// from the interfaces; with none of those, the private ones (a lab, a private network, or
/// NAT whose public address only the router knows).
pub fn record_addresses(machine: &[MachineAddress], echoed: Option<IpAddr>) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = echoed.into_iter().collect();
    let public = machine.iter().filter(|m| m.scope == Scope::Public);
    out.extend(public.map(|m| m.ip).filter(|ip| Some(*ip) != echoed));
    if out.is_empty() {
        out.extend(machine.iter().map(|m| m.ip));
    }
    out
}

/// `HOST` and `*.HOST`, one record per address: the wildcard carries the handles under the
/// PDS's own name (`alice.HOST`).
pub fn records(host: &str, addrs: &[IpAddr]) -> Vec<Record> {
    [host.to_string(), format!("*.{host}")]
        .into_iter()
        .flat_map(|name| {
            addrs.iter().map(move |ip| Record {
                name: name.clone(),
                kind: Kind::of(*ip),
                value: *ip,
            })
        })
        .collect()
}

/// What one name resolves to, compared with this machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Points {
    /// Every address it gives is this machine's.
    Here,
    /// Some address is this machine's and some not (an old record left beside the new).
    PartlyHere,
    /// Addresses, none of them this machine's (a front proxy elsewhere, or a typo).
    Elsewhere,
    /// No address record.
    Missing,
    /// The lookup failed (timeout, SERVFAIL).
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NameCheck {
    /// As the operator writes it: `HOST` or `*.HOST`.
    pub name: String,
    /// The name actually asked (for the wildcard, a label no one uses).
    pub asked: String,
    pub addresses: Vec<IpAddr>,
    pub points: Points,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The label asked to test `*.HOST`: a name no account would have, so only the wildcard
/// can answer it.
pub const WILDCARD_PROBE: &str = "pds-wizard-wildcard-check";

/// Resolve `HOST` and the wildcard under it, and judge each against `here`.
pub async fn check(host: &str, here: &[IpAddr], dns: &DnsOptions) -> Vec<NameCheck> {
    let wildcard = format!("{WILDCARD_PROBE}.{host}");
    let (a, b) = tokio::join!(addresses(host, dns), addresses(&wildcard, dns));
    [
        (host.to_string(), host.to_string(), a),
        (format!("*.{host}"), wildcard, b),
    ]
    .into_iter()
    .map(|(name, asked, got)| {
        let (addrs, error) = match got {
            Ok(v) => (v, None),
            Err(e) => (vec![], Some(e)),
        };
        let mine = addrs.iter().filter(|ip| here.contains(ip)).count();
        let points = match (&error, addrs.len(), mine) {
            (Some(_), _, _) => Points::Failed,
            (None, 0, _) => Points::Missing,
            (None, n, m) if m == n => Points::Here,
            (None, _, 0) => Points::Elsewhere,
            _ => Points::PartlyHere,
        };
        NameCheck {
            name,
            asked,
            addresses: addrs,
            points,
            error,
        }
    })
    .collect()
}

/// Everything the records step shows: where the server is, what to create, what DNS says.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub hostname: String,
    pub machine: Vec<MachineAddress>,
    /// The echo service's answer, when one was asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub echoed: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub echo_error: Option<String>,
    pub records: Vec<Record>,
    pub checks: Vec<NameCheck>,
}

impl Plan {
    /// Both names point only at this machine.
    pub fn ready(&self) -> bool {
        !self.checks.is_empty() && self.checks.iter().all(|c| c.points == Points::Here)
    }
}

/// Gather the plan: interfaces, the echo service (when given), the records, the live check.
pub async fn plan(hostname: &str, echo_url: Option<&str>, dns: &DnsOptions) -> Plan {
    let machine = machine_addresses();
    let (echoed, echo_error) = match echo_url {
        Some(u) => match echo(u, dns.timeout).await {
            Ok(ip) => (Some(ip), None),
            Err(e) => (None, Some(e)),
        },
        None => (None, None),
    };
    let addrs = record_addresses(&machine, echoed);
    let mut here: Vec<IpAddr> = machine.iter().map(|m| m.ip).collect();
    here.extend(echoed);
    Plan {
        hostname: hostname.to_string(),
        records: records(hostname, &addrs),
        checks: check(hostname, &here, dns).await,
        machine,
        echoed,
        echo_error,
    }
}

/// The plan's verdicts as findings, one per name: what the CLI prints and the TUI lists.
pub fn findings(plan: &Plan) -> Vec<Finding> {
    let wanted = |name: &str| -> String {
        let lines: Vec<String> = plan
            .records
            .iter()
            .filter(|r| r.name == name)
            .map(Record::line)
            .collect();
        lines.join(" and ")
    };
    let shown = |v: &[IpAddr]| {
        v.iter()
            .map(IpAddr::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    plan.checks
        .iter()
        .map(|c| match c.points {
            Points::Here => Finding::pass(format!(
                "{} points at this server ({})",
                c.name,
                shown(&c.addresses)
            )),
            Points::Missing => Finding::fail(format!("{} has no address record", c.name))
                .why(if c.name.starts_with('*') {
                    "Handles under the PDS's name (alice.HOST) and their HTTPS certificates need it.".replace("HOST", &plan.hostname)
                } else {
                    "Nothing can reach the PDS by its name.".into()
                })
                .fix(format!("At your DNS provider, create: {}", wanted(&c.name))),
            Points::Elsewhere => Finding::warn(format!(
                "{} points at {}, not at this server",
                c.name,
                shown(&c.addresses)
            ))
            .why("Right only when a proxy on that address forwards to this server.")
            .fix(format!("Otherwise change it to: {}", wanted(&c.name))),
            Points::PartlyHere => Finding::warn(format!(
                "{} also points at addresses that are not this server's ({})",
                c.name,
                shown(&c.addresses)
            ))
            .why("Clients pick one address at random: some reach another machine.")
            .fix(format!("Keep only: {}", wanted(&c.name))),
            Points::Failed => Finding::fail(format!("{} could not be looked up", c.name))
                .why(c.error.clone().unwrap_or_default())
                .fix("Check the name's nameservers at your registrar."),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_follow_the_address_ranges() {
        let s = |a: &str| scope(a.parse().unwrap());
        assert_eq!(s("127.0.0.1"), None);
        assert_eq!(s("169.254.1.1"), None);
        assert_eq!(s("fe80::1"), None);
        assert_eq!(s("::1"), None);
        assert_eq!(s("10.1.2.3"), Some(Scope::Private));
        assert_eq!(s("100.101.102.103"), Some(Scope::Private));
        assert_eq!(s("100.128.0.1"), Some(Scope::Public));
        assert_eq!(s("192.168.1.2"), Some(Scope::Private));
        assert_eq!(s("203.0.113.10"), Some(Scope::Private));
        assert_eq!(s("fd7a:115c:a1e0::1"), Some(Scope::Private));
        assert_eq!(s("2001:db8::1"), Some(Scope::Private));
        assert_eq!(s("93.184.216.34"), Some(Scope::Public));
        assert_eq!(s("2a01:4f8::1"), Some(Scope::Public));
        assert_eq!(s("::ffff:10.0.0.1"), Some(Scope::Private));
    }

    #[test]
    fn records_prefer_public_addresses_and_the_echo() {
        let m = |ip: &str, scope| MachineAddress {
            ip: ip.parse().unwrap(),
            interface: "eth0".into(),
            scope,
        };
        let machine = [
            m("10.0.0.5", Scope::Private),
            m("2a01:4f8::1", Scope::Public),
        ];
        let addrs = record_addresses(&machine, None);
        assert_eq!(addrs, vec!["2a01:4f8::1".parse::<IpAddr>().unwrap()]);
        let addrs = record_addresses(&machine, Some("93.184.216.34".parse().unwrap()));
        let lines: Vec<String> = records("pds.example.com", &addrs)
            .iter()
            .map(Record::line)
            .collect();
        assert_eq!(
            lines,
            [
                "pds.example.com A 93.184.216.34",
                "pds.example.com AAAA 2a01:4f8::1",
                "*.pds.example.com A 93.184.216.34",
                "*.pds.example.com AAAA 2a01:4f8::1"
            ]
        );
        // Only private addresses: they are what there is (a lab, a tailnet).
        let private = record_addresses(&machine[..1], None);
        assert_eq!(private, vec!["10.0.0.5".parse::<IpAddr>().unwrap()]);
    }

    #[test]
    fn this_machine_has_its_loopback_left_out() {
        let got = machine_addresses();
        assert!(got.iter().all(|m| !m.ip.is_loopback()), "{got:?}");
    }
}

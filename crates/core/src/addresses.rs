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
            // "This network", IETF protocol assignments, benchmarking, reserved (240/4).
            let special = o[0] == 0
                || (o[0] == 192 && o[1] == 0 && o[2] == 0)
                || (o[0] == 198 && (o[1] & 0xfe) == 18)
                || o[0] >= 240;
            let private =
                a.is_private() || cgnat || a.is_documentation() || a.is_broadcast() || special;
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
            // Global unicast is 2000::/3, less documentation (2001:db8::/32) and Teredo
            // (2001::/32); ULA (fc00::/7) and the rest are private at most.
            let global =
                (s[0] & 0xe000) == 0x2000 && !(s[0] == 0x2001 && (s[1] == 0x0db8 || s[1] == 0));
            Some(if global {
                Scope::Public
            } else {
                Scope::Private
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

/// The addresses the records should hold: never a private, link-local, ULA or
/// documentation address (the internet cannot reach those). The echo service's answer when
/// it is a public IPv4 address (1:1 NAT puts that in front of a private interface) or a
/// public IPv6 address this machine holds, then this machine's public addresses. Empty when
/// every address here is private and no echo said otherwise: see `public_address_unknown`.
pub fn record_addresses(machine: &[MachineAddress], echoed: Option<IpAddr>) -> Vec<IpAddr> {
    let held = |ip: IpAddr| machine.iter().any(|m| m.ip == ip);
    let mut out: Vec<IpAddr> = echoed
        .filter(|ip| scope(*ip) == Some(Scope::Public))
        .filter(|ip| ip.is_ipv4() || held(*ip))
        .into_iter()
        .collect();
    let public = machine.iter().filter(|m| m.scope == Scope::Public);
    out.extend(public.map(|m| m.ip).filter(|ip| Some(*ip) != echoed));
    out
}

/// Whether a DNS answer `ip` is this server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mine {
    /// Held by an interface here, or what the echo service saw.
    Yes,
    /// A public IPv4 address while this machine holds only private IPv4 ones: the 1:1 NAT
    /// of a cloud may put it in front (only the provider's panel or --ip-echo tells).
    Maybe,
    No,
}

pub fn is_mine(ip: IpAddr, machine: &[MachineAddress], echoed: Option<IpAddr>) -> Mine {
    // Loopback is this machine too (a lab's names; nobody else would reach it, but nor
    // would they any other server through it).
    if ip.is_loopback() || machine.iter().any(|m| m.ip == ip) || echoed == Some(ip) {
        return Mine::Yes;
    }
    let public_v4_known = echoed.is_some_and(|e| e.is_ipv4())
        || machine
            .iter()
            .any(|m| m.ip.is_ipv4() && m.scope == Scope::Public);
    match ip {
        IpAddr::V4(_) if !public_v4_known && scope(ip) == Some(Scope::Public) => Mine::Maybe,
        _ => Mine::No,
    }
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
    /// The addresses it gives that are not this server's.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_here: Vec<IpAddr>,
    /// Some address may be this server only through NAT (see `Mine::Maybe`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub through_nat: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The label asked to test `*.HOST`: a name no account would have, so only the wildcard
/// can answer it.
pub const WILDCARD_PROBE: &str = "pds-wizard-wildcard-check";

/// Resolve `HOST` and the wildcard under it, and judge each address against this machine
/// (`machine`, and what the echo service saw).
pub async fn check(
    host: &str,
    machine: &[MachineAddress],
    echoed: Option<IpAddr>,
    dns: &DnsOptions,
) -> Vec<NameCheck> {
    let wildcard = format!("{WILDCARD_PROBE}.{host}");
    let (a, b) = tokio::join!(addresses(host, dns), addresses(&wildcard, dns));
    [
        (host.to_string(), host.to_string(), a),
        (format!("*.{host}"), wildcard, b),
    ]
    .into_iter()
    .map(|(name, asked, got)| judge(name, asked, got, machine, echoed))
    .collect()
}

/// One name's answer judged address by address.
pub fn judge(
    name: String,
    asked: String,
    got: Result<Vec<IpAddr>, String>,
    machine: &[MachineAddress],
    echoed: Option<IpAddr>,
) -> NameCheck {
    let (addrs, error) = match got {
        Ok(v) => (v, None),
        Err(e) => (vec![], Some(e)),
    };
    let verdicts: Vec<Mine> = addrs
        .iter()
        .map(|ip| is_mine(*ip, machine, echoed))
        .collect();
    let not_here: Vec<IpAddr> = addrs
        .iter()
        .zip(&verdicts)
        .filter(|(_, v)| **v == Mine::No)
        .map(|(ip, _)| *ip)
        .collect();
    let points = match (&error, addrs.len(), not_here.len()) {
        (Some(_), _, _) => Points::Failed,
        (None, 0, _) => Points::Missing,
        (None, _, 0) => Points::Here,
        (None, n, m) if m == n => Points::Elsewhere,
        _ => Points::PartlyHere,
    };
    NameCheck {
        name,
        asked,
        addresses: addrs,
        points,
        through_nat: verdicts.contains(&Mine::Maybe),
        not_here,
        error,
    }
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
    Plan {
        hostname: hostname.to_string(),
        records: records(hostname, &addrs),
        checks: check(hostname, &machine, echoed, dns).await,
        machine,
        echoed,
        echo_error,
    }
}

/// When no record can be offered: every address here is private (a cloud's 1:1 NAT, a
/// home router) and no echo service said which one the internet sees.
pub fn public_address_unknown(plan: &Plan) -> Option<Finding> {
    // Once both names point here, nothing is left to create.
    if !plan.records.is_empty() || plan.ready() {
        return None;
    }
    let held: Vec<String> = plan.machine.iter().map(|m| m.ip.to_string()).collect();
    let why = match (held.is_empty(), plan.echoed) {
        (true, _) => "This machine has no address but loopback.".to_string(),
        (false, Some(ip)) => format!(
            "Its interfaces hold only private addresses ({}), and the echo service answered {ip}, which is not public either.",
            held.join(", ")
        ),
        (false, None) => format!(
            "Its interfaces hold only private addresses ({}): on AWS, GCP, Azure and Oracle the public address is put in front of them by the provider (1:1 NAT), and DNS must hold that one. A private address in DNS reaches no one.",
            held.join(", ")
        ),
    };
    Some(
        Finding::warn("this server's public address is not on this machine")
            .why(why)
            .fix(format!(
                "Find it in your provider's panel (the instance's public IPv4), or let the wizard ask: --ip-echo https://checkip.amazonaws.com (any URL that answers with your address). Then create {0} A <that address> and *.{0} A <that address>.",
                plan.hostname
            )),
    )
}

/// The plan's verdicts as findings, one per name: what the CLI prints and the TUI lists.
pub fn findings(plan: &Plan) -> Vec<Finding> {
    let unknown = public_address_unknown(plan);
    let checks = plan
        .checks
        .iter()
        .map(|c| name_finding(c, &plan.hostname, &wanted(&plan.records, &c.name)));
    unknown.into_iter().chain(checks).collect()
}

/// The records `name` should have, as lines (`NAME A 1.2.3.4 and NAME AAAA …`).
pub fn wanted(records: &[Record], name: &str) -> String {
    let lines: Vec<String> = records
        .iter()
        .filter(|r| r.name == name)
        .map(Record::line)
        .collect();
    match lines.is_empty() {
        true => format!("{name} A <this server's public address>"),
        false => lines.join(" and "),
    }
}

/// One name's verdict (`c`, of the PDS at `hostname`) as a finding; `wanted`: the records
/// it should have.
pub fn name_finding(c: &NameCheck, hostname: &str, wanted: &str) -> Finding {
    let shown = |v: &[IpAddr]| {
        v.iter()
            .map(IpAddr::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    match c.points {
            Points::Here if c.through_nat => Finding::pass(format!(
                "{} points at {}: this server's public address, if its provider's NAT puts it in front",
                c.name,
                shown(&c.addresses)
            ))
            .why("This machine holds only private IPv4 addresses, so the public one cannot be seen from here.")
            .fix("To be sure: --ip-echo URL (e.g. https://checkip.amazonaws.com) compares it with what the internet sees."),
            Points::Here => Finding::pass(format!(
                "{} points at this server ({})",
                c.name,
                shown(&c.addresses)
            )),
            Points::Missing => Finding::fail(format!("{} has no address record", c.name))
                .why(if c.name.starts_with('*') {
                    format!("Handles under it (alice.{}) are proven over HTTPS at their own name: without the wildcard they show \"Invalid Handle\", and get no certificate.", c.name.trim_start_matches("*."))
                } else {
                    "Nothing can reach the PDS by its name.".into()
                })
                .fix(format!("At your DNS provider, create: {wanted}")),
            Points::Elsewhere => Finding::warn(format!(
                "{} points at {}, not at this server",
                c.name,
                shown(&c.addresses)
            ))
            .why(format!("Right only when a proxy on that address forwards to this server (the PDS at {hostname})."))
            .fix(format!("Otherwise change it to: {wanted}")),
            Points::PartlyHere => Finding::fail(format!(
                "{} also points at {}, which is not this server",
                c.name,
                shown(&c.not_here)
            ))
            .why(partly_why(&c.not_here))
            .fix(format!(
                "At your DNS provider, delete the record{} for {} (a leftover of another server?); keep: {}",
                if c.not_here.len() == 1 { "" } else { "s" },
                shown(&c.not_here),
                wanted
            )),
            Points::Failed => Finding::fail(format!("{} could not be looked up", c.name))
                .why(c.error.clone().unwrap_or_default())
                .fix("Check the name's nameservers at your registrar."),
    }
}

/// Why an address that is not this server's breaks things even beside a right one.
fn partly_why(not_here: &[IpAddr]) -> String {
    let v6 = not_here.iter().any(IpAddr::is_ipv6);
    let v4 = not_here.iter().any(IpAddr::is_ipv4);
    let who = match (v4, v6) {
        (false, true) => "Clients with IPv6 (most phones, many homes) prefer the AAAA record and reach that address, not the PDS",
        (true, false) => "Clients pick one A record at random: some reach that address, not the PDS",
        _ => "Clients reach those addresses instead of the PDS",
    };
    format!("{who}; certificate issuance (Let's Encrypt tries IPv6 first) fails there too.")
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
        assert_eq!(s("198.18.0.1"), Some(Scope::Private));
        assert_eq!(s("240.0.0.1"), Some(Scope::Private));
        assert_eq!(s("2001::1"), Some(Scope::Private));
        assert_eq!(s("64:ff9b::1"), Some(Scope::Private));
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
        // Only private addresses: none is offered (the internet cannot reach them).
        assert!(record_addresses(&machine[..1], None).is_empty());
        // An echo answer that is private, or an IPv6 one this machine does not hold, is
        // not offered either; a public IPv4 one is (1:1 NAT).
        let v4: IpAddr = "203.0.114.7".parse().unwrap();
        assert_eq!(record_addresses(&machine[..1], Some(v4)), vec![v4]);
        assert!(record_addresses(&machine[..1], Some("10.9.9.9".parse().unwrap())).is_empty());
        assert!(record_addresses(&machine[..1], Some("2a01:4f8::9".parse().unwrap())).is_empty());
    }

    #[test]
    fn each_address_a_name_gives_is_judged() {
        let m = |ip: &str, scope| MachineAddress {
            ip: ip.parse().unwrap(),
            interface: "eth0".into(),
            scope,
        };
        let ips = |v: &[&str]| -> Vec<IpAddr> { v.iter().map(|a| a.parse().unwrap()).collect() };
        let nat = [m("10.0.0.5", Scope::Private)];
        // The right A, a stale AAAA from a previous server: that one is named.
        let c = judge(
            "h".into(),
            "h".into(),
            Ok(ips(&["203.0.114.7", "2a01:4f8::dead"])),
            &nat,
            None,
        );
        assert_eq!(c.points, Points::PartlyHere);
        assert_eq!(c.not_here, ips(&["2a01:4f8::dead"]));
        assert!(c.through_nat);
        let f = name_finding(&c, "h", "h A 203.0.114.7");
        assert_eq!(f.level, crate::finding::Level::Fail);
        assert!(f.what.contains("2a01:4f8::dead"), "{f:?}");
        assert!(f.why.contains("IPv6"), "{f:?}");
        // With a public IPv4 address on the machine, another A is not this server.
        let public = [m("198.51.99.1", Scope::Public)];
        let c = judge(
            "h".into(),
            "h".into(),
            Ok(ips(&["198.51.99.1", "198.51.99.2"])),
            &public,
            None,
        );
        assert_eq!(
            (c.points, c.not_here.clone()),
            (Points::PartlyHere, ips(&["198.51.99.2"]))
        );
        // The echo's answer is this server.
        let c = judge(
            "h".into(),
            "h".into(),
            Ok(ips(&["203.0.114.7"])),
            &nat,
            Some(ips(&["203.0.114.7"])[0]),
        );
        assert_eq!((c.points, c.through_nat), (Points::Here, false));
    }

    #[test]
    fn this_machine_has_its_loopback_left_out() {
        let got = machine_addresses();
        assert!(got.iter().all(|m| !m.ip.is_loopback()), "{got:?}");
    }
}

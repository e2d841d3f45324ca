//! The `_atproto.<handle>` TXT record: what to create (in every form DNS UIs ask for it),
//! and a live check through the resolver and directly at each authoritative nameserver, so
//! propagation is visible server by server.

use super::{Did, Handle};
use crate::finding::{Finding, Level};
use hickory_resolver::config::{NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{RData, RecordType};
use hickory_resolver::TokioResolver;
use serde::Serialize;
use std::net::SocketAddr;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct DnsOptions {
    /// Ask this server instead of the system resolver. Its port is also used for the
    /// zone's authoritative servers, so a lab zone on a high port works end to end.
    pub nameserver: Option<SocketAddr>,
    pub timeout: Duration,
}

/// The record to create, in the forms DNS providers' forms ask for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TxtRecord {
    /// `_atproto.alice.example.com`
    pub full_name: String,
    /// The zone it lives in (from the SOA), e.g. `example.com`.
    pub zone: String,
    /// The name relative to the zone: `_atproto.alice`, or `_atproto` at the apex.
    pub relative_name: String,
    /// `did=did:plc:…`, as typed into a web form.
    pub value: String,
    /// `"did=did:plc:…"`, as some forms and zone files want it.
    pub quoted_value: String,
    /// A line for a BIND-style zone file.
    pub zone_line: String,
    /// Why the zone is a guess (the handle's parent domain), when DNS could not say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone_guessed: Option<String>,
}

impl TxtRecord {
    pub fn new(handle: &Handle, did: &Did, zone: &str) -> TxtRecord {
        let full = handle.txt_name();
        let zone = zone.trim_end_matches('.').to_ascii_lowercase();
        let relative = if zone.is_empty() {
            full.clone()
        } else {
            match full.strip_suffix(&format!(".{zone}")) {
                Some(r) => r.to_string(),
                None => full.clone(),
            }
        };
        let value = format!("did={did}");
        TxtRecord {
            zone_line: format!("{full}. 300 IN TXT \"{value}\""),
            quoted_value: format!("\"{value}\""),
            full_name: full,
            zone,
            relative_name: relative,
            value,
            zone_guessed: None,
        }
    }
}

fn resolver_for(servers: &[SocketAddr], opts: &DnsOptions) -> Result<TokioResolver, String> {
    let mut builder = if servers.is_empty() {
        TokioResolver::builder_tokio()
            .map_err(|e| format!("cannot read the system's DNS settings: {e}"))?
    } else {
        let configs = servers
            .iter()
            .map(|s| {
                let mut ns = NameServerConfig::udp_and_tcp(s.ip());
                for c in &mut ns.connections {
                    c.port = s.port();
                }
                ns
            })
            .collect();
        TokioResolver::builder_with_config(
            ResolverConfig::from_name_servers(configs),
            TokioRuntimeProvider::default(),
        )
    };
    let o = builder.options_mut();
    o.timeout = opts.timeout;
    o.attempts = 1;
    // Every check asks afresh: a cached answer would hide the change just made.
    o.cache_size = 0;
    builder
        .build()
        .map_err(|e| format!("cannot set up the DNS resolver: {e}"))
}

/// The resolver the operator's machine uses (or `--nameserver`).
fn main_resolver(opts: &DnsOptions) -> Result<TokioResolver, String> {
    resolver_for(&opts.nameserver.into_iter().collect::<Vec<_>>(), opts)
}

/// The IPv4 and IPv6 addresses the resolver gives for `name` (none for a missing name).
pub async fn addresses(name: &str, opts: &DnsOptions) -> Result<Vec<std::net::IpAddr>, String> {
    let r = main_resolver(opts)?;
    match r.lookup_ip(fqdn(name)).await {
        Ok(l) => Ok(l.iter().collect()),
        Err(e) if e.is_no_records_found() => Ok(vec![]),
        Err(e) => Err(format!("DNS lookup of {name} failed: {e}")),
    }
}

/// The TXT values at `name` through the resolver (or --nameserver): one lookup, as `dig`
/// would make (the benchmark's peer); empty when there are none or the lookup failed.
pub async fn txt_values(name: &str, opts: &DnsOptions) -> Vec<String> {
    match main_resolver(opts) {
        Ok(r) => {
            ask(&r, name, None, "resolver".into(), None, opts)
                .await
                .values
        }
        Err(_) => vec![],
    }
}

fn fqdn(name: &str) -> String {
    format!("{}.", name.trim_end_matches('.'))
}

/// Why the zone of a name is not known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZoneError {
    /// DNS did not answer in time (a dead or unreachable resolver).
    NoAnswer(Duration),
    /// DNS answered, but no SOA came back for the name or any parent.
    NotFound,
    Setup(String),
}

impl std::fmt::Display for ZoneError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ZoneError::NoAnswer(t) => write!(f, "DNS did not answer within {} s", t.as_secs_f64()),
            ZoneError::NotFound => write!(f, "DNS knows no zone for it"),
            ZoneError::Setup(e) => f.write_str(e),
        }
    }
}

/// The zone holding `name`: the owner of the SOA that answers for it. Every candidate (the
/// name and each parent) is asked at once, so a silent resolver costs one timeout, not one
/// per label; the most specific answer wins.
pub async fn find_zone(name: &str, opts: &DnsOptions) -> Result<String, ZoneError> {
    let r = main_resolver(opts).map_err(ZoneError::Setup)?;
    let mut candidates = vec![name.trim_end_matches('.').to_string()];
    while let Some((_, parent)) = candidates.last().and_then(|c| c.split_once('.')) {
        if !parent.contains('.') {
            break;
        }
        candidates.push(parent.to_string());
    }
    let bound = opts.timeout + Duration::from_millis(250);
    let asks = candidates.iter().map(|c| {
        let r = &r;
        async move {
            match tokio::time::timeout(bound, r.lookup(fqdn(c), RecordType::SOA)).await {
                Err(_) | Ok(Err(NetError::Timeout)) => Err(ZoneError::NoAnswer(opts.timeout)),
                Ok(Ok(l)) => l
                    .answers()
                    .iter()
                    .find(|r| matches!(r.data, RData::SOA(_)))
                    .map(|rec| rec.name.to_ascii())
                    .ok_or(ZoneError::NotFound),
                Ok(Err(e)) => e
                    .into_soa()
                    .map(|soa| soa.name.to_ascii())
                    .ok_or(ZoneError::NotFound),
            }
        }
    });
    let answers = futures::future::join_all(asks).await;
    // The most specific name's answer, else the next parent's; with none, "no answer"
    // when any ask went unanswered (DNS, not the name, is the trouble).
    if let Some(zone) = answers.iter().find_map(|a| a.as_ref().ok()) {
        return Ok(zone.trim_end_matches('.').to_string());
    }
    Err(answers
        .into_iter()
        .filter_map(Result::err)
        .find(|e| matches!(e, ZoneError::NoAnswer(_)))
        .unwrap_or(ZoneError::NotFound))
}

/// The record to create for `handle`, with the zone found from the SOA (or, when DNS cannot
/// say, the handle's parent domain, marked as a guess with the reason).
pub async fn record_for(handle: &Handle, did: &Did, opts: &DnsOptions) -> TxtRecord {
    match find_zone(handle.as_str(), opts).await {
        Ok(z) => TxtRecord::new(handle, did, &z),
        Err(e) => {
            let parent = handle
                .as_str()
                .split_once('.')
                .map(|(_, p)| p.to_string())
                .unwrap_or_default();
            let mut r = TxtRecord::new(handle, did, &parent);
            r.zone_guessed = Some(e.to_string());
            r
        }
    }
}

/// What one server says about `_atproto.<handle>`.
#[derive(Debug, Clone, Serialize)]
pub struct ServerResult {
    /// "resolver" (the system's or --nameserver) or the authoritative server's name.
    pub server: String,
    pub address: Option<String>,
    /// The TXT values seen, each one's strings joined.
    pub values: Vec<String>,
    pub finding: Finding,
}

/// The whole check: one result per server, the resolver first.
#[derive(Debug, Clone, Serialize)]
pub struct DnsCheck {
    pub name: String,
    pub zone: Option<String>,
    pub results: Vec<ServerResult>,
    /// Nothing at the name, but a record at the name with the zone twice
    /// (`_atproto.alice.example.com.example.com`): what a DNS panel that appends the zone
    /// makes of a full name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doubled: Option<String>,
}

impl DnsCheck {
    pub fn worst(&self) -> Level {
        self.results
            .iter()
            .map(|r| r.finding.level)
            .max()
            .unwrap_or(Level::Fail)
    }
}

/// Look up `_atproto.<handle>` through the resolver and at each authoritative server.
pub async fn check_txt(handle: &Handle, expected: Option<&Did>, opts: &DnsOptions) -> DnsCheck {
    let name = handle.txt_name();
    let mut results = Vec::new();
    let resolver_label = match opts.nameserver {
        Some(ns) => format!("resolver {ns}"),
        None => "system resolver".to_string(),
    };
    // The resolver's answer and the zone discovery at once, each bounded, so a dead server
    // costs one timeout, not several.
    let asked = async {
        match main_resolver(opts) {
            Ok(r) => ask(&r, &name, expected, resolver_label.clone(), None, opts).await,
            Err(e) => ServerResult {
                server: resolver_label.clone(),
                address: None,
                values: vec![],
                finding: Finding::fail(e),
            },
        }
    };
    let zone = async { find_zone(handle.as_str(), opts).await.ok() };
    let (first, zone) = tokio::join!(asked, zone);
    results.push(first);
    if let Some(z) = &zone {
        // The servers' own answers get one timeout more, all at once: the whole check stays
        // within about twice the timeout, whatever the servers do.
        let bound = opts.timeout + Duration::from_millis(500);
        let authoritative = async {
            match authoritative_servers(z, opts).await {
                Ok(servers) if !servers.is_empty() => {
                    let asks = servers.into_iter().map(|(label, addr)| {
                        let name = name.clone();
                        async move {
                            match resolver_for(&[addr], opts) {
                                Ok(r) => ask(&r, &name, expected, label, Some(addr), opts).await,
                                Err(e) => ServerResult {
                                    server: label,
                                    address: Some(addr.to_string()),
                                    values: vec![],
                                    finding: Finding::fail(e),
                                },
                            }
                        }
                    });
                    // All servers at once: the wall time is the slowest server's, not the sum.
                    futures::future::join_all(asks).await
                }
                Ok(_) => vec![],
                Err(e) => vec![ServerResult {
                    server: format!("nameservers of {z}"),
                    address: None,
                    values: vec![],
                    finding: Finding::warn(e)
                        .why("Without them, propagation cannot be checked server by server."),
                }],
            }
        };
        match tokio::time::timeout(bound, authoritative).await {
            Ok(found) => results.extend(found),
            Err(_) => results.push(ServerResult {
                server: format!("nameservers of {z}"),
                address: None,
                values: vec![],
                finding: Finding::warn(format!(
                    "no answer about them within {:.1} s",
                    bound.as_secs_f64()
                ))
                .why("Without them, propagation cannot be checked server by server."),
            }),
        }
    }
    // Nothing there: look where a panel that appends the zone would have put it.
    let mut doubled = None;
    if let (Some(z), Some(first)) = (&zone, results.first()) {
        if first.values.is_empty() {
            let twice = format!("{name}.{z}");
            let values = txt_values(&twice, opts).await;
            if !values.is_empty() {
                let relative = name.strip_suffix(&format!(".{z}")).unwrap_or(&name);
                results.push(ServerResult {
                    server: "the name with the zone twice".into(),
                    address: None,
                    values,
                    finding: Finding::fail(format!(
                        "the record was created at {twice}: the DNS panel added .{z} to a name that already ended with it"
                    ))
                    .why("Apps look only at the exact name; a record one level down is never seen.")
                    .fix(format!(
                        "Rename the record to {relative} (the panel adds .{z} itself), or enter the full name with a final dot: {name}."
                    )),
                });
                doubled = Some(twice);
            }
        }
    }
    DnsCheck {
        name,
        zone,
        results,
        doubled,
    }
}

/// Name and address of each authoritative server of `zone`.
async fn authoritative_servers(
    zone: &str,
    opts: &DnsOptions,
) -> Result<Vec<(String, SocketAddr)>, String> {
    let r = main_resolver(opts)?;
    let ns = r
        .lookup(fqdn(zone), RecordType::NS)
        .await
        .map_err(|e| format!("cannot list the nameservers of {zone}: {}", describe(&e)))?;
    let port = opts.nameserver.map(|s| s.port()).unwrap_or(53);
    let hosts: Vec<String> = ns
        .answers()
        .iter()
        .filter_map(|rec| match &rec.data {
            RData::NS(target) => Some(target.0.to_ascii().trim_end_matches('.').to_string()),
            _ => None,
        })
        .collect();
    // Every server's address at once.
    let found = futures::future::join_all(hosts.iter().map(|h| r.lookup_ip(fqdn(h)))).await;
    let mut out = Vec::new();
    for (host, ips) in hosts.iter().zip(found) {
        if let Ok(ips) = ips {
            out.extend(
                ips.iter()
                    .map(|ip| (host.clone(), SocketAddr::new(ip, port))),
            );
        }
    }
    Ok(out)
}

fn describe(e: &NetError) -> String {
    if e.is_nx_domain() {
        "no such name".into()
    } else if e.is_no_records_found() {
        "no records of that type".into()
    } else if matches!(e, NetError::Timeout) {
        "timed out".into()
    } else {
        e.to_string()
    }
}

async fn ask(
    r: &TokioResolver,
    name: &str,
    expected: Option<&Did>,
    server: String,
    addr: Option<SocketAddr>,
    opts: &DnsOptions,
) -> ServerResult {
    let address = addr.map(|a| a.to_string());
    let t = opts.timeout.as_secs_f64();
    // Bound the whole lookup, whatever the resolver's own retries do.
    let lookup = tokio::time::timeout(
        opts.timeout + Duration::from_millis(250),
        r.lookup(fqdn(name), RecordType::TXT),
    )
    .await;
    let (values, finding) = match lookup {
        Err(_) => (vec![], timeout_finding(t)),
        Ok(Err(e)) => (vec![], error_finding(&e, name, t)),
        Ok(Ok(l)) => {
            let cname = l.answers().iter().find_map(|r| match &r.data {
                RData::CNAME(c) => Some(c.0.to_ascii()),
                _ => None,
            });
            let values: Vec<String> = l
                .answers()
                .iter()
                .filter_map(|r| match &r.data {
                    RData::TXT(t) => Some(
                        t.txt_data
                            .iter()
                            .map(|s| String::from_utf8_lossy(s).into_owned())
                            .collect::<String>(),
                    ),
                    _ => None,
                })
                .collect();
            let f = judge(&values, expected, name);
            let f = match cname {
                Some(target) if f.level < Level::Fail => Finding::warn(format!("{name} is a CNAME to {target}"))
                    .why("A CNAME at _atproto hands the answer to another name; resolvers that do not follow it (and DNS UIs that proxy it) see no record.")
                    .fix(format!("Delete the CNAME and create a TXT record at {name} itself.")),
                Some(target) => Finding::fail(format!("{name} is a CNAME to {target}, and {}", f.what))
                    .why("A CNAME at _atproto cannot carry the TXT record itself.")
                    .fix(format!("Delete the CNAME and create a TXT record at {name} itself.")),
                None => f,
            };
            (values, f)
        }
    };
    ServerResult {
        server,
        address,
        values,
        finding,
    }
}

// These describe one server's answer without naming it: the result carries the server, and
// each front end puts its name in front.
fn timeout_finding(t: f64) -> Finding {
    Finding::fail(format!("did not answer within {t} s"))
        .why("The server is down, unreachable from here, or dropping queries.")
        .fix("Try again; if it persists, check the nameserver settings at your domain registrar.")
}

fn error_finding(e: &NetError, name: &str, t: f64) -> Finding {
    if e.is_nx_domain() {
        return Finding::fail(format!("{name} does not exist (NXDOMAIN)"))
            .why("No record of any kind has that name, so the handle cannot be verified by DNS.")
            .fix(format!("Create a TXT record named {name}. (Or serve the atproto-did file over HTTPS instead.)"));
    }
    if e.is_no_records_found() {
        return Finding::fail(format!("{name} exists but has no TXT record"))
            .why("The name holds other records, but not the TXT that carries did=…")
            .fix(format!(
                "Add a TXT record at {name} with the value did=<your DID>."
            ));
    }
    match e {
        NetError::Timeout => timeout_finding(t),
        NetError::Dns(DnsError::ResponseCode(code)) if *code == ResponseCode::ServFail => {
            Finding::fail(format!("answered SERVFAIL for {name}"))
                .why("The zone is broken at that server, or DNSSEC validation failed.")
                .fix("Check the zone at your DNS provider (DNSSEC settings at the registrar must match).")
        }
        other => Finding::fail(other.to_string()),
    }
}

/// The verdict on the TXT values at `_atproto.<handle>`.
pub fn judge(values: &[String], expected: Option<&Did>, name: &str) -> Finding {
    let dids: Vec<&str> = values
        .iter()
        .filter_map(|v| v.strip_prefix("did="))
        .collect();
    if dids.len() > 1 {
        return Finding::fail(format!("{name} has {} did= records", dids.len()))
            .why("The atproto resolvers used by the PDS and the Bluesky app refuse a handle with more than one did= record (others take the first): the handle shows as invalid.")
            .fix("Delete all but the one with your DID.");
    }
    let Some(found) = dids.first() else {
        if let Some(v) = values
            .iter()
            .find(|v| v.trim_matches('"').starts_with("did="))
        {
            return Finding::fail(format!("{name} holds {v} with the quotes inside the value"))
                .why("Your DNS provider stored the quote marks as part of the text, so the value does not start with did=.")
                .fix("Edit the record and type the value without quotes: did=…");
        }
        if let Some(v) = values.iter().find(|v| v.trim().starts_with("did:")) {
            return Finding::fail(format!("{name} holds {v} without the did= prefix"))
                .why("The value must be did= followed by the DID.")
                .fix(format!("Change the value to did={}", v.trim()));
        }
        return Finding::fail(format!("{name} has TXT records, but none starts with did="))
            .why(format!("Found: {}", values.join(" | ")))
            .fix("Add a TXT record with the value did=<your DID>.");
    };
    let found = found.trim();
    if Did::parse(found).is_err() {
        return Finding::fail(format!(
            "{name} holds did={found}, which is not a valid DID"
        ))
        .fix("Copy the DID again, exactly.");
    }
    match expected {
        Some(want) if want.as_str() != found => {
            Finding::fail(format!("{name} points to {found}, not {want}"))
                .why("The record is there but names another account (an old DID, or a typo).")
                .fix(format!("Change the value to did={want}"))
        }
        Some(_) => Finding::pass(format!("{name} → did={found}")),
        None => Finding::pass(format!("{name} → did={found}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Handle {
        Handle::parse(s).unwrap()
    }
    fn d(s: &str) -> Did {
        Did::parse(s).unwrap()
    }

    #[test]
    fn record_forms() {
        let r = TxtRecord::new(&h("alice.example.com"), &d("did:plc:abc"), "example.com");
        assert_eq!(r.relative_name, "_atproto.alice");
        assert_eq!(r.value, "did=did:plc:abc");
        assert_eq!(r.quoted_value, "\"did=did:plc:abc\"");
        assert_eq!(
            r.zone_line,
            "_atproto.alice.example.com. 300 IN TXT \"did=did:plc:abc\""
        );
        let apex = TxtRecord::new(&h("example.com"), &d("did:plc:abc"), "example.com.");
        assert_eq!(apex.relative_name, "_atproto");
    }

    #[test]
    fn judging_values() {
        let name = "_atproto.a.example.com";
        let want = d("did:plc:abc");
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            judge(&v(&["did=did:plc:abc"]), Some(&want), name).level,
            Level::Pass
        );
        assert!(judge(&v(&["did=did:plc:zzz"]), Some(&want), name)
            .what
            .contains("not did:plc:abc"));
        assert!(judge(
            &v(&["did=did:plc:abc", "did=did:plc:zzz"]),
            Some(&want),
            name
        )
        .what
        .contains("2 did="));
        assert!(judge(&v(&["did:plc:abc"]), Some(&want), name)
            .what
            .contains("without the did= prefix"));
        assert!(judge(&v(&["\"did=did:plc:abc\""]), Some(&want), name)
            .what
            .contains("quotes"));
        assert!(judge(&v(&["v=spf1 -all"]), None, name)
            .what
            .contains("none starts with did="));
    }
}

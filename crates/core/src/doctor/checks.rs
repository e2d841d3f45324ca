//! The checks themselves. Each returns findings; a check that cannot run says why instead.

use super::tls::{self, Upgrade};
use super::{CheckId, Health, Inputs};
use crate::envfile::catalogue::{self, human_bytes};
use crate::finding::{Finding, Level};
use crate::http::{chain, classify, client, CertProblem, Failure, HttpOptions};
use crate::identity::{Did, Handle};
use crate::target::{ProxyField, Target};
use crate::version::{Reported, Version};
use std::time::Duration;

pub async fn run(id: CheckId, i: &Inputs) -> Vec<Finding> {
    match id {
        CheckId::Env => env(i).await,
        CheckId::Service => service(i).await,
        CheckId::Health => health(i).await,
        CheckId::Dns => dns(i).await,
        CheckId::Https => https(i).await,
        CheckId::Oauth => oauth(i).await,
        CheckId::Websocket => websocket(i).await,
        CheckId::Uploads => uploads(i).await,
        CheckId::Signup => signup(i).await,
        CheckId::Email => email(i).await,
        CheckId::Handles => handles(i).await,
        CheckId::Crawlers => crawlers(i).await,
        CheckId::RelaySync => relay_sync(i).await,
        CheckId::RelayAccounts => relay_accounts(i).await,
        CheckId::Disk => disk(i),
        CheckId::Clock => clock(i).await,
    }
}

fn hostname(i: &Inputs) -> Result<String, Vec<Finding>> {
    i.settings.hostname.clone().ok_or_else(|| {
        vec![
            Finding::fail("PDS_HOSTNAME is not set, so there is no public name to check")
                .fix("set it in the Basics step (or pds-wizard env set PDS_HOSTNAME=…)"),
        ]
    })
}

/// The public name and a client for it (honouring --connect-to and --ca-file).
fn public_client(i: &Inputs) -> Result<(String, reqwest::Client), Vec<Finding>> {
    let host = hostname(i)?;
    let c = client(&i.settings.http, &host).map_err(|e| vec![Finding::fail(e)])?;
    Ok((host, c))
}

/// For requests to this machine's PDS: never redirected by --connect-to.
pub(super) fn local(i: &Inputs) -> HttpOptions {
    HttpOptions {
        connect_to: None,
        ..i.settings.http.clone()
    }
}

async fn env(i: &Inputs) -> Vec<Finding> {
    let Some(doc) = &i.doc else {
        let path = i.settings.env_file.display();
        // Missing is a fresh machine (or the wrong path); unreadable is a matter of rights.
        if !i.settings.env_file.exists() {
            // The front machine of a PDS elsewhere has no pds.env of its own.
            if let Some(a) = across(&i.settings.local_url) {
                return vec![Finding::info(format!(
                    "{path} does not exist: on the front machine the PDS's pds.env is on {}",
                    a.pds.ip()
                ))
                .why("the checks that read it are skipped here; the PDS's own address is checked across the private network")
                .fix("run the doctor on the PDS machine too, with its pds.env")];
            }
            return vec![Finding::fail(format!("{path} does not exist"))
                .why("Every other check reads the PDS's settings from it.")
                .fix("create it: pds-wizard env init --hostname pds.example.com --admin-email you@example.com (or point --env-file at the PDS's pds.env)")];
        }
        return vec![Finding::fail(
            i.doc_error
                .clone()
                .unwrap_or_else(|| format!("cannot read {path}")),
        )
        .fix("run with sudo, or point --env-file at the PDS's pds.env")];
    };
    // Keys only a newer PDS reads are named when the running one is older (asked only when
    // the file has such a key: a PDS that is down then costs this check nothing).
    let newer_keys = doc
        .entries()
        .iter()
        .any(|(k, _, _)| catalogue::lookup(k).is_some_and(|info| info.since.is_some()));
    let running = if newer_keys {
        i.pds_version().await
    } else {
        None
    };
    let mut f: Vec<Finding> = crate::envfile::check_for(doc, i.file_mode, running)
        .into_iter()
        .filter(|f| f.level >= Level::Warn)
        .collect();
    if f.is_empty() {
        f.push(Finding::pass(format!(
            "{} has every required key, valid values, and mode 0600",
            i.settings.env_file.display()
        )));
    }
    f
}

async fn service(i: &Inputs) -> Vec<Finding> {
    use crate::pds::service::{detect, Running};
    let t = i.settings.http.timeout;
    let port = i.doc.as_ref().map_or(3000, crate::pds::service::pds_port);
    // The probes run commands and read /proc: off the async workers.
    let found = tokio::task::spawn_blocking(move || detect(port, t)).await;
    match found {
        Err(e) => vec![Finding::warn(format!(
            "the service could not be looked at: {e}"
        ))],
        Ok(Running::Unit { state }) if state == "active" => {
            vec![Finding::pass("the pds systemd unit is active")]
        }
        Ok(Running::Unit { state }) => {
            vec![Finding::fail(format!("the pds systemd unit is {state}"))
                .fix("sudo systemctl start pds; the reason is in: sudo journalctl -u pds -n 50")]
        }
        Ok(Running::Container { state, status }) if state == "running" => {
            vec![Finding::pass(format!("the pds container is {status}"))]
        }
        Ok(Running::Container { state, status }) => {
            vec![
                Finding::fail(format!("the pds container is {state} ({status})"))
                    .fix("sudo docker start pds; the reason is in: sudo docker logs --tail 50 pds"),
            ]
        }
        Ok(Running::Process { listening }) => vec![Finding::info(format!(
            "no systemd unit and no container named pds; a process listens on {}",
            listening
                .iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))],
        Ok(Running::Nothing) => vec![Finding::info(
            "no systemd unit, no container named pds and nothing on the PDS's port here",
        )
        .fix("pds-wizard service write, then pds-wizard service start (or the Server step)")],
    }
}

/// Ask this machine's PDS for `/xrpc/_health` (never through --connect-to).
pub(super) async fn ask_health(i: &Inputs) -> Health {
    let url = format!("{}/xrpc/_health", i.settings.local_url);
    let c = match client(&local(i), "") {
        Ok(c) => c,
        Err(e) => return Health::Down(e, crate::http::Failure::Other),
    };
    match c.get(&url).send().await {
        Ok(r) if r.status().is_success() => {
            let v: serde_json::Value = crate::http::read_json(r, crate::http::cap::JSON)
                .await
                .unwrap_or_default();
            Health::Up(v["version"].as_str().map(str::to_string))
        }
        Ok(r) => Health::Status(r.status().as_u16()),
        Err(e) => Health::Down(chain(&e), crate::http::classify(&e)),
    }
}

/// Ask this machine's PDS for describeServer; None when it gives no JSON object.
pub(super) async fn ask_describe(i: &Inputs) -> Option<serde_json::Value> {
    let url = format!(
        "{}/xrpc/com.atproto.server.describeServer",
        i.settings.local_url
    );
    let r = client(&local(i), "").ok()?.get(&url).send().await.ok()?;
    if !r.status().is_success() {
        return None;
    }
    crate::http::read_json::<serde_json::Value>(r, crate::http::cap::JSON)
        .await
        .ok()
        .filter(|v| v.is_object())
}

/// The PDS's port, when the URL the doctor asks it at is on this machine.
fn local_port(local_url: &str) -> Option<u16> {
    let url = reqwest::Url::parse(local_url).ok()?;
    let host = url.host_str()?.trim_matches(['[', ']']);
    let on_this_machine = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|a| a.is_loopback());
    on_this_machine.then_some(())?;
    url.port_or_known_default()
}

/// The PDS on this machine, listening where other machines reach it: its plain-HTTP port
/// bypasses the proxy (TLS, limits) unless a firewall closes it, which this machine cannot
/// see, so it is a warning with the way to check from outside.
fn exposed_port(local_url: &str, limit: Duration) -> Option<Finding> {
    let port = local_port(local_url)?;
    let listening = crate::pds::sockets::listening_on(port);
    let open: Vec<String> = listening
        .iter()
        .filter(|a| crate::pds::sockets::reachable_from_outside(a))
        .map(|a| a.to_string())
        .collect();
    if open.is_empty() {
        return (!listening.is_empty())
            .then(|| Finding::pass(format!("the PDS's port {port} listens on loopback only")));
    }
    if let Some(front) = crate::proxy::firewall::firewall_guards(port, limit) {
        return Some(Finding::pass(format!(
            "the PDS's port {port} listens on {}, and pds-wizard's firewall table lets only {front} reach it",
            open.join(", ")
        )));
    }
    Some(
        Finding::warn(format!(
            "the PDS's port {port} listens on {} (not only loopback): other machines reach the PDS there over plain HTTP, past the proxy, unless a firewall closes the port",
            open.join(", ")
        ))
        .why("requests there skip TLS and everything the proxy does; apps and relays must use https://PDS_HOSTNAME")
        .fix(format!(
            "close port {port} to the outside (ufw deny {port}/tcp; a Docker published port: \"127.0.0.1:{port}:{port}\"; a front proxy on another machine: pds-wizard proxy pds-side … --firewall nft), then from another machine: curl -m 5 http://<this server's address>:{port}/xrpc/_health must fail"
        )),
    )
}

async fn health(i: &Inputs) -> Vec<Finding> {
    let url = format!("{}/xrpc/_health", i.settings.local_url);
    match i.health().await {
        Health::Up(reported) => {
            // Decoded: the image reports 0.5.NN as 0.4.5NNN.
            let version = reported
                .as_deref()
                .map(|v| match Reported::parse(v) {
                    Some(r) => format!(" ({r})"),
                    None => format!(" (version {v})"),
                })
                .unwrap_or_default();
            let mut out = vec![Finding::pass(format!("the PDS answers at {url}{version}"))];
            if let Some(r) = reported.as_deref().and_then(Reported::parse) {
                out.extend(version_advice(r.version));
            }
            // Off the async workers: it may run nft, which blocks.
            let (url, limit) = (i.settings.local_url.clone(), i.settings.http.timeout);
            out.extend(
                tokio::task::spawn_blocking(move || exposed_port(&url, limit))
                    .await
                    .ok()
                    .flatten(),
            );
            out.extend(across(&i.settings.local_url).map(|a| a.reached()));
            out
        }
        Health::Status(status) => vec![Finding::fail(format!("{url} answered HTTP {status}"))
            .fix("look at the PDS's log: sudo journalctl -u pds -n 50 (or docker logs pds)")],
        Health::Down(e, failure) => match across(&i.settings.local_url) {
            Some(a) => vec![a.unreached(&url, e, *failure)],
            None => {
                // The fix depends on how the PDS runs here: a fresh server has no unit to ask.
                let port = reqwest::Url::parse(&i.settings.local_url)
                    .ok()
                    .and_then(|u| u.port_or_known_default())
                    .unwrap_or(3000);
                let limit = i.settings.http.timeout;
                let running =
                    tokio::task::spawn_blocking(move || crate::pds::service::detect(port, limit))
                        .await
                        .ok();
                vec![Finding::fail(format!(
                    "nothing answers at {url} ({})",
                    crate::http::last_cause(e)
                ))
                .why("The PDS is down, still starting, or listens on another port than PDS_PORT.")
                .detail(e.clone())
                .fix(down_fix(running.as_ref()))]
            }
        },
    }
}

/// What to do about a PDS that does not answer, for how it runs here.
fn down_fix(running: Option<&crate::pds::service::Running>) -> String {
    use crate::pds::service::Running;
    match running {
        Some(Running::Nothing) => "nothing runs the PDS here yet: the wizard's Server step writes compose.yaml and the pds unit and starts it (or: pds-wizard service write, then pds-wizard service start)".into(),
        Some(Running::Unit { state }) => format!("the pds unit is {state}: sudo journalctl -u pds -n 50 says why; start it with sudo systemctl start pds, and check PDS_PORT"),
        Some(Running::Container { state, .. }) => format!("the pds container is {state}: docker logs pds says why; start it (docker compose up --detach in its directory), and check PDS_PORT"),
        Some(Running::Process { listening }) => format!("something listens on {} but does not answer as a PDS: check PDS_PORT and what holds the port", listening.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(", ")),
        None => "sudo systemctl status pds (or docker ps -a); start it, and check PDS_PORT".into(),
    }
}

/// The PDS asked on another machine (`--pds-url http://100.x.y.z:3000` on the front): the
/// path across the private network, and this machine's own address on it (the kernel's
/// choice of source address toward the PDS), which the PDS side must trust.
struct Across {
    pds: std::net::SocketAddr,
    from: Option<std::net::IpAddr>,
}

fn across(url: &str) -> Option<Across> {
    let u = reqwest::Url::parse(url).ok()?;
    let ip: std::net::IpAddr = u.host_str()?.trim_matches(['[', ']']).parse().ok()?;
    if ip.is_loopback() {
        return None;
    }
    let pds = std::net::SocketAddr::new(ip, u.port_or_known_default()?);
    // A UDP socket "connected" sends nothing; it only asks the routing table.
    let bind: std::net::SocketAddr = if ip.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let from = std::net::UdpSocket::bind(bind)
        .and_then(|s| s.connect(pds).and_then(|_| s.local_addr()))
        .ok()
        .map(|a| a.ip());
    Some(Across { pds, from })
}

impl Across {
    fn side_command(&self) -> String {
        format!(
            "pds-wizard proxy pds-side --front-address {} --pds-address {}",
            self.from
                .map(|f| f.to_string())
                .unwrap_or_else(|| "<this machine's private address>".into()),
            self.pds.ip()
        )
    }

    fn reached(&self) -> Finding {
        let private = crate::proxy::split::on_private_network(self.pds.ip());
        let from = self
            .from
            .map(|f| f.to_string())
            .unwrap_or_else(|| "?".into());
        let f = Finding::new(
            if private { Level::Pass } else { Level::Warn },
            format!(
                "this machine reaches the PDS at {} from {from}{}",
                self.pds,
                if private { " across a private network" } else { "" }
            ),
        )
        .why(format!(
            "the PDS sees this proxy as {from}: it must list it in PDS_RATE_LIMIT_BYPASS_IPS, or every client shares one rate limit"
        ));
        if private {
            f.fix(format!("on the PDS machine, once: {}", self.side_command()))
        } else {
            f.fix("reach the PDS over a private network (Tailscale, WireGuard, a LAN): between proxy and PDS the requests are plain HTTP")
        }
    }

    fn unreached(&self, url: &str, e: &str, failure: crate::http::Failure) -> Finding {
        let from = self
            .from
            .map(|f| f.to_string())
            .unwrap_or_else(|| "?".into());
        let refused = failure == crate::http::Failure::Refused;
        Finding::fail(format!(
            "nothing answers at {url} across the network from {from} ({})",
            crate::http::last_cause(e)
        ))
        .why(if refused {
            format!("{} is there but nothing takes port {} for this machine: the PDS is down, listens elsewhere, or a firewall rejects {from}", self.pds.ip(), self.pds.port())
        } else {
            format!("no answer at all: the private network is down here or there (tailscale status; wg show), or a firewall on the PDS machine drops {from}")
        })
        .detail(e.to_string())
        .fix(format!(
            "on the PDS machine: sudo systemctl status pds, and let this machine in: {} --firewall nft",
            self.side_command()
        ))
    }
}

/// What an operator misses on the version the PDS runs (decoded, so the image's 0.4.5NNN
/// counts as 0.5.NN): one line naming the newest feature not there yet.
fn version_advice(v: Version) -> Option<Finding> {
    use crate::version::Feature;
    let missing: Vec<Feature> = Feature::ALL
        .iter()
        .copied()
        .filter(|f| v < f.since())
        .collect();
    let first = missing.first()?;
    Some(
        Finding::info(format!(
            "{} arrives with @atproto/pds {}; this PDS runs {v}",
            first.describe(),
            first.since()
        ))
        .why(
            missing
                .iter()
                .map(|f| format!("{} ({})", f.describe(), f.since()))
                .collect::<Vec<_>>()
                .join("; "),
        )
        .fix("sudo pdsadmin update (it keeps pds.env; it replaces a customised compose.yaml without a backup: copy it first)"),
    )
}

async fn dns(i: &Inputs) -> Vec<Finding> {
    use crate::addresses;
    let host = match hostname(i) {
        Ok(h) => h,
        Err(f) => return f,
    };
    // Each address a name gives is this server's, or the finding says which is not (a
    // stale AAAA beside a right A breaks every IPv6 client and certificate issuance).
    let machine = addresses::machine_addresses();
    let echoed = match &i.settings.flags.ip_echo {
        Some(url) => addresses::echo(url, i.settings.dns.timeout).await.ok(),
        None => None,
    };
    let records = addresses::records(&host, &addresses::record_addresses(&machine, echoed));
    let host_addrs = crate::identity::dns::addresses(&host, &i.settings.dns).await;
    if let Err(e) = &host_addrs {
        return vec![Finding::fail(e.clone())];
    }
    let c = addresses::judge(host.clone(), host.clone(), host_addrs, &machine, echoed);
    let mut out = vec![addresses::name_finding(
        &c,
        &host,
        &addresses::wanted(&records, &host),
    )];
    let domains: Vec<String> = i
        .get("PDS_SERVICE_HANDLE_DOMAINS")
        .map(|l| {
            l.split(',')
                .map(|d| d.trim().trim_start_matches('.').to_string())
                .filter(|d| !d.is_empty())
                .collect()
        })
        .unwrap_or_else(|| vec![host.clone()]);
    for d in domains {
        let probe = format!("{}.{d}", addresses::WILDCARD_PROBE);
        let name = format!("*.{d}");
        let got = crate::identity::dns::addresses(&probe, &i.settings.dns).await;
        let c = addresses::judge(name.clone(), probe, got, &machine, echoed);
        let want = addresses::records(&d, &addresses::record_addresses(&machine, echoed));
        out.push(addresses::name_finding(
            &c,
            &host,
            &addresses::wanted(&want, &name),
        ));
    }
    out
}

/// What a failed HTTPS request to our own name means, in words.
fn explain_https_error(host: &str, e: &reqwest::Error) -> Finding {
    let f = Finding::fail(format!("https://{host}/ fails")).caused_by(e);
    match classify(e) {
        Failure::Certificate(CertProblem::WrongName) => f
            .why(format!("the certificate served does not cover {host}"))
            .fix("get a certificate for this exact name (and *.NAME for handles), or fix the proxy's server_name so this name gets the right one"),
        Failure::Certificate(CertProblem::Expired) => f
            .why("the certificate has expired")
            .fix("renew it (certbot renew) and reload the proxy"),
        Failure::Certificate(CertProblem::Untrusted | CertProblem::Other) => f
            .why("clients do not trust the certificate")
            .fix("serve a certificate from a public CA (Let's Encrypt), with its full chain"),
        Failure::Refused => f
            .why("nothing listens on port 443")
            .fix("start the reverse proxy, and open port 443 in the firewall"),
        Failure::Timeout => f
            .why("port 443 does not answer")
            .fix("open port 443 in the firewall (and at the hosting provider)"),
        Failure::NoAddress => f
            .why(format!("{host} has no address"))
            .fix(format!("create the A (and AAAA) record for {host}")),
        Failure::Other => f,
    }
}

async fn https(i: &Inputs) -> Vec<Finding> {
    let (host, c) = match public_client(i) {
        Ok(x) => x,
        Err(f) => return f,
    };
    let mut out = Vec::new();
    match c.get(format!("https://{host}/xrpc/_health")).send().await {
        Ok(r) if r.status().is_success() => out.push(Finding::pass(format!(
            "https://{host}/xrpc/_health answers 200"
        ))),
        // The proxy's own "no upstream" answers: while the PDS is down that is its cause,
        // said once by the health check; while it is up, the proxy points elsewhere.
        Ok(r) if matches!(r.status().as_u16(), 502..=504) => {
            let status = r.status().as_u16();
            out.push(match i.health().await {
                Health::Down(..) => Finding::info(format!(
                    "https://{host}/xrpc/_health answers HTTP {status}: the proxy cannot reach the PDS, which is not running (see \"the PDS answers locally\")"
                )),
                _ => Finding::fail(format!(
                    "https://{host}/xrpc/_health answers HTTP {status}: the proxy cannot reach the PDS"
                ))
                .why(format!(
                    "the PDS answers at {}, but not where the proxy sends requests",
                    i.settings.local_url
                ))
                .fix(format!(
                    "point the proxy at {} (nginx: proxy_pass; Caddy: reverse_proxy), then reload it",
                    i.settings.local_url
                )),
            });
        }
        Ok(r) => out.push(
            Finding::fail(format!(
                "https://{host}/xrpc/_health answers HTTP {}",
                r.status().as_u16()
            ))
            .why("the proxy answers, but not with the PDS")
            .fix("send every path of this name to the PDS (pds-wizard proxy render …)"),
        ),
        Err(e) => return vec![explain_https_error(&host, &e)],
    }
    match tls::connect(
        &host,
        443,
        i.settings.http.connect_to,
        i.settings.http.timeout,
    )
    .await
    {
        Ok((_, der)) => match tls::validity(&der) {
            Some((before, after)) => out.push(cert_expiry(
                before,
                after,
                time::OffsetDateTime::now_utc().unix_timestamp(),
            )),
            None => out.push(Finding::warn(
                "could not read the certificate's expiry date",
            )),
        },
        Err(e) => out.push(Finding::warn(format!(
            "could not read the certificate: {e}"
        ))),
    }
    out
}

/// Whether a response is the PDS's JSON: (status, is JSON object, short description).
/// A certificate's expiry judged against its lifetime: renewal is due well before the end
/// (ACME clients renew with a third of it left), so a warning comes with a sixth left — 15
/// days of a 90-day certificate, about a day of a 7-day internal one.
fn cert_expiry(not_before: i64, not_after: i64, now: i64) -> Finding {
    const DAY: i64 = 86_400;
    let left = not_after - now;
    let lifetime = (not_after - not_before).max(DAY);
    let days = left / DAY;
    let of = format!("of its {}-day lifetime", (lifetime + DAY / 2) / DAY);
    if left < 0 {
        Finding::fail("the certificate has expired").fix("renew it and reload the proxy")
    } else if left < lifetime / 6 {
        Finding::warn(format!("the certificate expires in {days} days ({of}): renewal is overdue"))
            .fix("check that renewal works: sudo certbot renew --dry-run (Caddy and Traefik renew by themselves: look at their logs)")
    } else {
        Finding::pass(format!(
            "the certificate is good for {days} more days ({of})"
        ))
    }
}

async fn json_answer(r: reqwest::Response) -> (u16, Option<serde_json::Value>, String) {
    let status = r.status().as_u16();
    let ctype = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let (json, note) =
        match crate::http::read_json::<serde_json::Value>(r, crate::http::cap::JSON).await {
            Ok(v) => (Some(v).filter(|v| v.is_object()), String::new()),
            Err(e) if e.is_too_large() => (None, format!(" ({e})")),
            Err(_) => (None, String::new()),
        };
    (
        status,
        json,
        format!(
            "HTTP {status} {}{note}",
            ctype.split(';').next().unwrap_or("")
        ),
    )
}

async fn oauth(i: &Inputs) -> Vec<Finding> {
    let (host, c) = match public_client(i) {
        Ok(x) => x,
        Err(f) => return f,
    };
    let mut out = Vec::new();
    for (path, field) in [
        ("/.well-known/oauth-protected-resource", "resource"),
        ("/.well-known/oauth-authorization-server", "issuer"),
    ] {
        let url = format!("https://{host}{path}");
        match c.get(&url).send().await {
            Err(e) => out.push(explain_https_error(&host, &e)),
            Ok(r) => match json_answer(r).await {
                (200, Some(v), _) if v.get(field).is_some() => {
                    out.push(Finding::pass(format!("{path} is the PDS's")))
                }
                (status, _, seen) => out.push(
                    Finding::fail(format!("{path} is not the PDS's answer ({seen})"))
                        .why(if status >= 500 {
                            "OAuth clients (Discord's Bluesky connection, say) fail with HTTP 500".to_string()
                        } else {
                            "the proxy does not send it to the PDS: OAuth clients fail (HTTP 500, \"Failed to resolve OAuth server metadata\")".to_string()
                        })
                        .fix("proxy /.well-known/oauth-protected-resource, /.well-known/oauth-authorization-server, /oauth/ and /@atproto/ to the PDS (pds-wizard proxy render …)"),
                ),
            },
        }
    }
    let url = format!("https://{host}/oauth/authorize");
    match c.get(&url).send().await {
        Err(e) => out.push(explain_https_error(&host, &e)),
        Ok(r) => {
            let status = r.status().as_u16();
            let page = crate::http::read_text(r, crate::http::cap::TEXT)
                .await
                .unwrap_or_default();
            match page.find("/@atproto/") {
                Some(start) => {
                    out.push(Finding::pass("/oauth/authorize is the PDS's sign-in page"));
                    let end = page[start..]
                        .find(['"', '\''])
                        .map_or(page.len(), |e| start + e);
                    let asset = &page[start..end];
                    match c.get(format!("https://{host}{asset}")).send().await {
                        Ok(r) if r.status().is_success() => {
                            out.push(Finding::pass("/@atproto/ serves the sign-in page's assets"))
                        }
                        Ok(r) => out.push(
                            Finding::fail(format!("{asset} answers HTTP {}", r.status().as_u16()))
                                .why("the sign-in page loads without its scripts and styles: OAuth sign-in breaks")
                                .fix("proxy /@atproto/ to the PDS"),
                        ),
                        Err(e) => out.push(explain_https_error(&host, &e)),
                    }
                }
                None => out.push(
                    Finding::fail(format!(
                        "/oauth/authorize is not the PDS's page (HTTP {status})"
                    ))
                    .fix("proxy /oauth/ to the PDS"),
                ),
            }
        }
    }
    if i.pds_version()
        .await
        .is_some_and(|v| v.has(crate::version::Feature::AccountPage))
    {
        out.push(account_page(&c, &host).await);
    }
    out
}

/// The account page (@atproto/pds 0.4.124 and later) through the proxy, loaded as a browser loads it: the
/// PDS answers a fetch that is not a page navigation with 400.
async fn account_page(c: &reqwest::Client, host: &str) -> Finding {
    let r = c
        .get(format!("https://{host}/account"))
        .header("accept", "text/html")
        .header("sec-fetch-mode", "navigate")
        .header("sec-fetch-dest", "document")
        .header("sec-fetch-site", "none")
        .send()
        .await;
    match r {
        Err(e) => explain_https_error(host, &e),
        Ok(r) => {
            let status = r.status().as_u16();
            let page = crate::http::read_text(r, crate::http::cap::TEXT)
                .await
                .unwrap_or_default();
            if status == 200 && page.contains("/@atproto/oauth-provider/") {
                Finding::pass("/account is the PDS's account page")
            } else {
                Finding::fail(format!(
                    "/account is not the PDS's account page (HTTP {status})"
                ))
                .why("Users cannot change their email or handle, or deactivate their account: the apps link to this page (the PDS serves it since 0.4.124).")
                .fix("proxy /account, /account/… and /.well-known/change-password to the PDS (pds-wizard proxy render …)")
            }
        }
    }
}

/// The upload limit end to end: what pds.env says, what the running PDS reports
/// (describeServer.blobUploadLimit, 0.5.22 and later) and what the proxy lets through.
/// Says which one cuts uploads.
async fn uploads(i: &Inputs) -> Vec<Finding> {
    let mut out = Vec::new();
    let set = i
        .get("PDS_BLOB_UPLOAD_LIMIT")
        .and_then(|v| v.trim().parse::<u64>().ok());
    let configured = set.unwrap_or(crate::proxy::DEFAULT_BLOB_LIMIT);
    let live = i
        .describe()
        .await
        .and_then(|d| d["blobUploadLimit"].as_u64());
    if let Some(l) = live.filter(|l| *l != configured) {
        out.push(
            Finding::warn(format!(
                "the running PDS takes uploads up to {}, pds.env says {}",
                human_bytes(l),
                human_bytes(configured)
            ))
            .why("The PDS reads pds.env when it starts: it has not been restarted since the limit changed.")
            .fix(format!("Restart the PDS: {}", crate::pds::restart_hint(&i.settings.flags))),
        );
    }
    let limit = live.unwrap_or(configured);
    let source = match (live, set) {
        (Some(_), _) => "describeServer",
        (None, Some(_)) => "PDS_BLOB_UPLOAD_LIMIT",
        (None, None) => "the PDS's default; PDS_BLOB_UPLOAD_LIMIT is not set",
    };
    let (host, _) = match public_client(i) {
        Ok(x) => x,
        Err(f) => return f,
    };
    // Long enough for a proxy to answer 100 or 413, short beside the doctor's bound.
    let wait = Duration::from_secs(2).min(i.settings.http.timeout);
    let probe = tls::announce_upload(
        &host,
        443,
        i.settings.http.connect_to,
        "/xrpc/com.atproto.repo.uploadBlob",
        limit,
        wait,
        i.settings.http.timeout,
    )
    .await;
    match probe {
        Ok(Some(413)) => out.push(
            Finding::fail(format!(
                "the proxy refuses an upload of {} (HTTP 413) before it reaches the PDS",
                human_bytes(limit)
            ))
            .why(format!(
                "The proxy's body limit (nginx: client_max_body_size, 1 MiB unless set) is below the PDS's {} ({source}): it cuts uploads first, and photos and videos over it fail in the apps.",
                human_bytes(limit)
            ))
            .fix(format!(
                "Raise the proxy's limit to at least {limit} bytes (nginx: client_max_body_size {limit};), or render the config again: pds-wizard proxy render writes it from PDS_BLOB_UPLOAD_LIMIT."
            ))
            .target(Target::Proxy(ProxyField::BodyLimit)),
        ),
        Ok(Some(code)) if code < 400 || code == 401 => out.push(Finding::pass(format!(
            "uploads up to {} ({source}): the proxy takes that size (HTTP {code}), so the PDS's limit is the one that cuts",
            human_bytes(limit)
        ))),
        Ok(Some(code)) => out.push(
            Finding::warn(format!(
                "an announced upload of {} got HTTP {code} from the proxy",
                human_bytes(limit)
            ))
            .why("Not the PDS's answer to an upload: the proxy may not send uploads to the PDS.")
            .fix("Send /xrpc/ to the PDS (pds-wizard proxy render …)."),
        ),
        Ok(None) => out.push(Finding::info(format!(
            "uploads up to {} ({source}); the proxy did not refuse that size at once (nginx would; Caddy and Traefik judge the body as it comes, so their limit is not checked here)",
            human_bytes(limit)
        ))),
        Err(e) => out.push(Finding::warn(format!(
            "could not ask the proxy about uploads: {e}"
        ))),
    }
    out
}

/// Sign-up as the running PDS does it (describeServer.inviteCodeRequired), with the
/// captcha keys from pds.env: open sign-up with nothing in front is what spam bots look
/// for, and a flood of accounts gets the whole host throttled by the relay.
async fn signup(i: &Inputs) -> Vec<Finding> {
    let Some(doc) = &i.doc else {
        return vec![Finding::info(
            "pds.env cannot be read (the env check says why)",
        )];
    };
    let invite_value = doc.get("PDS_INVITE_REQUIRED");
    let file_open = catalogue::signup_open(invite_value.as_deref());
    let guarded = catalogue::captcha_set(doc);
    let live = i
        .describe()
        .await
        .and_then(|d| d["inviteCodeRequired"].as_bool());
    match live {
        Some(false) if !guarded => {
            let f = catalogue::open_registration(Some("false"), doc)
                .expect("open with no captcha is a finding");
            let mut f = Finding {
                what: "the running PDS lets anyone create an account (describeServer: inviteCodeRequired false), and no captcha guards sign-up".into(),
                ..f
            };
            if !file_open {
                // pds.env is already right: only the restart is missing, so that is the fix.
                let ctx = i.settings.flags.clone();
                let restart = tokio::task::spawn_blocking(move || crate::pds::restart_hint(&ctx))
                    .await
                    .unwrap_or_else(|_| "systemctl restart pds".into());
                f.why = format!("{} pds.env requires invites, but the running PDS has not been restarted since.", f.why);
                f.fix = format!("pds.env already requires invites: restart the PDS so it reads it ({restart}).");
                return vec![f.target(Target::Service)];
            }
            vec![f.target(Target::InviteRequired)]
        }
        Some(false) => vec![Finding::pass(
            "sign-up is open, behind hCaptcha (PDS_HCAPTCHA_* in pds.env)",
        )],
        Some(true) if file_open => vec![Finding::info(
            "the running PDS requires invite codes; pds.env opens sign-up, which takes effect when the PDS restarts",
        )],
        Some(true) => vec![Finding::pass(
            "new accounts need an invite code (the running PDS says so)",
        )],
        None => match catalogue::open_registration(invite_value.as_deref(), doc) {
            Some(f) => vec![Finding {
                what: format!("{} (pds.env; the PDS does not answer, so not confirmed)", f.what),
                ..f
            }
            .target(Target::InviteRequired)],
            None => vec![Finding::info(
                "pds.env guards sign-up; the PDS does not answer, so not confirmed",
            )],
        },
    }
}

async fn websocket(i: &Inputs) -> Vec<Finding> {
    let host = match hostname(i) {
        Ok(h) => h,
        Err(f) => return f,
    };
    // With a cursor the PDS replays its events at once: the first frame proves the whole
    // path (proxy, upgrade, PDS) without waiting. --watch-firehose watches for longer
    // instead (a proxy that times out a quiet stream shows only then).
    let (path, hold, first_frame) = match i.websocket_watch {
        Some(watch) => ("/xrpc/com.atproto.sync.subscribeRepos", watch, false),
        None => (
            "/xrpc/com.atproto.sync.subscribeRepos?cursor=0",
            i.websocket_hold,
            true,
        ),
    };
    // The path proven, and — where nginx serves it — how long it lets a quiet stream live:
    // a first frame cannot show a read timeout, the served config can.
    let (mut out, served, forwarded) = tokio::join!(
        firehose_path(i, &host, path, hold, first_frame),
        served_firehose(i, &host),
        forwarded_trust(i, &host)
    );
    out.extend(served);
    out.extend(forwarded);
    out
}

/// With rate limits on, the PDS keys them by the client's address, which it takes from
/// X-Forwarded-For only when the proxy connects from an address it trusts (loopback,
/// link-local, private ranges, PDS_RATE_LIMIT_BYPASS_IPS). A proxy elsewhere (Tailscale's
/// 100.64/10, a public address) makes every client look like the proxy: one shared limit.
/// Seen from here: a websocket through the public name is held open while the kernel's
/// table shows which address connects to the PDS's port.
async fn forwarded_trust(i: &Inputs, host: &str) -> Option<Finding> {
    use crate::pds::sockets::{connections_to, peers_of, trusted_for_forwarding};
    use crate::proxy::split::{on_private_network, CADDY_PORT};
    use std::collections::BTreeSet;
    use std::net::IpAddr;
    let limits_on = i
        .get("PDS_RATE_LIMITS_ENABLED")
        .is_some_and(|v| v.trim() == "true");
    if !limits_on {
        return None;
    }
    let port = local_port(&i.settings.local_url)?;
    let bypass: Vec<IpAddr> = i
        .get("PDS_RATE_LIMIT_BYPASS_IPS")
        .unwrap_or_default()
        .split(',')
        .filter_map(|s| s.split('/').next()?.trim().parse().ok())
        .collect();
    let held = tls::websocket(
        host,
        443,
        i.settings.http.connect_to,
        "/xrpc/com.atproto.sync.subscribeRepos",
        Duration::from_secs(1),
        i.settings.http.timeout,
        false,
    );
    // Every peer in a short window is kept (the proxy may reuse a kept-alive connection
    // for the upgrade; other checks talk to the PDS straight from here, over loopback), and
    // an untrusted one ends the watch at once. A PDS reached over loopback may sit behind
    // the installer's Caddy answering a front elsewhere (proxy pds-side --via caddy): who
    // reaches Caddy over a private network is kept too, with the address it reached.
    let watch = async {
        let mut seen: BTreeSet<IpAddr> = BTreeSet::new();
        let mut behind: BTreeSet<(IpAddr, IpAddr)> = BTreeSet::new();
        let until = tokio::time::Instant::now() + Duration::from_millis(300);
        while tokio::time::Instant::now() < until {
            seen.extend(peers_of(port).into_iter().map(|p| p.ip()));
            if seen.iter().any(|ip| ip.is_loopback()) {
                behind.extend(
                    connections_to(CADDY_PORT)
                        .into_iter()
                        .filter(|(local, peer)| {
                            !peer.ip().is_loopback()
                                && peer.ip() != local.ip()
                                && on_private_network(peer.ip())
                        })
                        .map(|(local, peer)| (peer.ip(), local.ip())),
                );
            }
            if seen.iter().any(|ip| !trusted_for_forwarding(*ip, &bypass)) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        (seen, behind)
    };
    let (seen, behind) = tokio::select! {
        seen = watch => seen,
        _ = held => return None,
    };
    if seen.is_empty() {
        return None;
    }
    let untrusted: Vec<String> = seen
        .iter()
        .filter(|ip| !trusted_for_forwarding(**ip, &bypass))
        .map(|ip| ip.to_string())
        .collect();
    let all: Vec<String> = seen.iter().map(|ip| ip.to_string()).collect();
    if !untrusted.is_empty() {
        let ip = untrusted.join(", ");
        return Some(Finding::warn(format!(
            "the proxy reaches the PDS from {ip}, an address the PDS does not trust for X-Forwarded-For: with rate limits on, every client counts as {ip} and all share one limit"
        ))
        .why("the PDS believes X-Forwarded-For only from loopback, link-local and private addresses (and PDS_RATE_LIMIT_BYPASS_IPS); a proxy reaching it over Tailscale (100.64/10) or a public address is none of those")
        .fix(format!(
            "add the proxy's address to PDS_RATE_LIMIT_BYPASS_IPS ({ip}; the PDS then trusts its X-Forwarded-For, and clients keep their own limits), or reach the PDS over a private address; restart the PDS. For a front on another machine: pds-wizard proxy pds-side --front-address {ip} --pds-address <this machine's private address> --via direct"
        )));
    }
    // Trusted on the last hop; what the PDS makes of the rest of the chain is seen in its
    // rate-limit counters: a request through the public name, then one straight to the
    // PDS as if forwarded for each address found behind the installer's Caddy.
    let proxied = remaining_through(i, host).await?;
    for (front, here) in &behind {
        let direct = remaining_direct(i, Some(*front)).await;
        if let (Some(a), Some(d)) = (proxied, direct) {
            if d + 1 == a {
                return Some(Finding::warn(format!(
                    "the front proxy reaches Caddy here from {front}, and the PDS counts every client as {front}: all share one rate limit"
                ))
                .why(format!("Caddy adds {front} to X-Forwarded-For and the PDS looks past loopback only to addresses it trusts; {front} is not in PDS_RATE_LIMIT_BYPASS_IPS"))
                .fix(format!(
                    "pds-wizard proxy pds-side --front-address {front} --pds-address {here} --via caddy (lists {front} in PDS_RATE_LIMIT_BYPASS_IPS; Caddy keeps the front's X-Forwarded-For with trusted_proxies {front}); restart the PDS"
                )));
            }
        }
    }
    if proxied.is_none() && remaining_direct(i, None).await.is_some() {
        return Some(Finding::warn(
            "requests through the proxy skip the PDS's rate limits: it takes them all as coming from an address in PDS_RATE_LIMIT_BYPASS_IPS",
        )
        .why("a proxy in between replaced the front's X-Forwarded-For with the front's own address (Caddy does so for a proxy not in its trusted_proxies)")
        .fix({
            let (front, here) = behind
                .iter()
                .next()
                .map(|(f, h)| (f.to_string(), h.to_string()))
                .unwrap_or_else(|| ("FRONT".into(), "THIS_MACHINE".into()));
            format!("let that proxy keep the front's X-Forwarded-For: with the installer's Caddy, pds-wizard proxy pds-side --front-address {front} --pds-address {here} --via caddy (trusted_proxies {front})")
        }));
    }
    let via: Vec<String> = behind.iter().map(|(f, _)| f.to_string()).collect();
    Some(Finding::pass(if via.is_empty() {
        format!(
            "the proxy reaches the PDS from {}, which the PDS trusts for X-Forwarded-For: each client has its own rate limit",
            all.join(", ")
        )
    } else {
        format!(
            "the front at {} reaches the PDS through Caddy here, and the PDS tells its clients apart: each client has its own rate limit",
            via.join(", ")
        )
    }))
}

/// RateLimit-Remaining of a request through the public name (None: it had none, or failed).
async fn remaining_through(i: &Inputs, host: &str) -> Option<Option<u64>> {
    let (_, c) = public_client(i).ok()?;
    let r = c
        .get(format!(
            "https://{host}/xrpc/com.atproto.server.describeServer"
        ))
        .send()
        .await
        .ok()?;
    Some(remaining_of(&r))
}

/// RateLimit-Remaining of a request straight to the PDS, forwarded for `client` if given.
async fn remaining_direct(i: &Inputs, forwarded_for: Option<std::net::IpAddr>) -> Option<u64> {
    let c = client(&local(i), "localhost").ok()?;
    let mut req = c.get(format!(
        "{}/xrpc/com.atproto.server.describeServer",
        i.settings.local_url
    ));
    if let Some(ip) = forwarded_for {
        req = req.header("X-Forwarded-For", ip.to_string());
    }
    remaining_of(&req.send().await.ok()?)
}

fn remaining_of(r: &reqwest::Response) -> Option<u64> {
    r.headers()
        .get("ratelimit-remaining")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// nginx's served config for the firehose of `host` (nothing when nginx is not installed
/// or serves no such name).
async fn served_firehose(i: &Inputs, host: &str) -> Option<Finding> {
    use crate::proxy::served;
    match served::nginx_dump(i.settings.flags.nginx_conf.as_deref()).await? {
        Ok(dump) => served::firehose(&dump, host).map(|f| served::judge(&f, host).firehose),
        Err(e) => Some(Finding::info(format!(
            "nginx's served configuration could not be read, so its firehose timeout is not judged: {e}"
        ))),
    }
}

async fn firehose_path(
    i: &Inputs,
    host: &str,
    path: &str,
    hold: std::time::Duration,
    first_frame: bool,
) -> Vec<Finding> {
    match tls::websocket(host, 443, i.settings.http.connect_to, path, hold, i.settings.http.timeout, first_frame).await {
        Ok(Upgrade::Framed(after)) => vec![Finding::pass(format!(
            "the firehose upgrades to a websocket and replays events (first frame after {} ms)",
            after.as_millis()
        ))],
        Ok(Upgrade::StayedOpen) => vec![Finding::pass(format!(
            "the firehose upgrades to a websocket and stays open ({:.0} s watched)",
            hold.as_secs_f64()
        ))],
        Ok(Upgrade::ClosedAfter(d)) => vec![Finding::fail(format!(
            "the firehose websocket was closed after {:.1} s",
            d.as_secs_f64()
        ))
        .why("the proxy times the connection out; relays then miss events")
        .fix("raise the proxy's read/send timeouts for /xrpc/com.atproto.sync.subscribeRepos (nginx: proxy_read_timeout 1d)")],
        Ok(Upgrade::Refused { code: Some(400 | 401), line }) => {
            vec![Finding::fail(format!("the websocket upgrade was refused: {line}"))
                .why("the proxy dropped the Upgrade and Connection headers, so the PDS saw a plain GET")
                .fix("nginx: proxy_http_version 1.1; proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection \"upgrade\" (pds-wizard proxy render nginx does this)")]
        }
        Ok(Upgrade::Refused { line, .. }) => vec![Finding::fail(format!("the websocket upgrade was refused: {line}"))
            .fix("send /xrpc/ to the PDS, websockets included")],
        Err(e) => vec![Finding::fail(format!("the websocket check could not connect: {e}"))],
    }
}

async fn email(i: &Inputs) -> Vec<Finding> {
    let Some(doc) = &i.doc else {
        return vec![Finding::info(
            "pds.env could not be read (see the pds.env check)",
        )];
    };
    let url = doc.get(crate::email::URL_KEY).filter(|u| !u.is_empty());
    let from = doc.get(crate::email::FROM_KEY).filter(|u| !u.is_empty());
    if url.is_none() && from.is_none() {
        return vec![Finding::warn(
            "email is not set up: the PDS sends no verification codes or password resets",
        )
        .fix("set up email in the wizard's Email step")];
    }
    let problems: Vec<Finding> = crate::email::check(doc)
        .into_iter()
        .filter(|f| f.level >= Level::Warn)
        .collect();
    if problems.iter().any(|f| f.level == Level::Fail) {
        return problems;
    }
    let settings = match crate::email::from_document(doc) {
        Ok(s) => s,
        Err(e) => return vec![Finding::fail(e.to_string()).fix("correct it in the Email step")],
    };
    let report = crate::email::send::probe(&settings, &i.settings.send).await;
    let mut out = problems;
    out.push(report.finding);
    out.extend(report.notes);
    out
}

async fn handles(i: &Inputs) -> Vec<Finding> {
    // Without a hostname there is no public URL for the DID documents to name.
    if let Err(f) = hostname(i) {
        return f;
    }
    let accounts = match i.accounts().await {
        Ok(a) => a,
        Err(f) => return vec![f.clone()],
    };
    let mut targets: Vec<(Handle, Did)> = Vec::new();
    let mut out = Vec::new();
    if i.handles.is_empty() {
        for a in accounts {
            if let (Ok(h), Ok(d)) = (Handle::parse(&a.handle), Did::parse(&a.did)) {
                targets.push((h, d));
            }
        }
        if targets.is_empty() {
            return vec![Finding::info("no accounts yet")];
        }
    } else {
        for h in &i.handles {
            match accounts
                .iter()
                .find(|a| a.handle.eq_ignore_ascii_case(h.as_str()))
            {
                Some(a) => match Did::parse(&a.did) {
                    Ok(d) => targets.push((h.clone(), d)),
                    Err(e) => out.push(Finding::fail(format!("{h}: {e}"))),
                },
                None => out.push(
                    Finding::fail(format!("no account on this PDS has the handle {h}"))
                        .fix("see pds-wizard accounts"),
                ),
            }
        }
    }
    let opts = i.settings.verify_options();
    let reports = futures::future::join_all(
        targets
            .iter()
            .map(|(h, d)| crate::identity::verify(h, d, &opts)),
    )
    .await;
    for r in reports {
        if r.verified {
            out.push(verified_finding(&r));
            continue;
        }
        // The most telling detail first: a misleading DNS record, then each method's failure.
        let mut detail: Vec<String> = Vec::new();
        if let Some(twice) = &r.dns.doubled {
            detail.push(format!(
                "DNS: the record is at {twice} (the zone twice; rename it)"
            ));
        }
        if let Some(first) = r.dns.results.first() {
            if first.finding.level == Level::Fail && !first.values.is_empty() {
                detail.push(format!("DNS: {}", first.finding.what));
            }
        }
        if r.https.finding.level != Level::Pass {
            detail.push(format!("HTTPS: {}", r.https.finding.what));
            // Its causes, found by asking further (the Host header lost, the domain not
            // the PDS's, no wildcard record): one judgement with `handle check`.
            detail.extend(
                r.https
                    .notes
                    .iter()
                    .filter(|f| f.level == Level::Fail)
                    .map(|f| format!("HTTPS: {}", f.what)),
            );
        }
        if let Some(a) = &r.did_document {
            detail.extend(
                a.findings
                    .iter()
                    .filter(|f| f.level == Level::Fail)
                    .map(|f| format!("DID document: {}", f.what)),
            );
        }
        if let Some(e) = &r.did_document_error {
            detail.push(format!("DID document: {}", e.what));
        }
        // The fix of the cause found, when one was (unless DNS misleads: that comes first).
        let cause_fix = r
            .https
            .notes
            .iter()
            .find(|f| f.level == Level::Fail && !f.fix.is_empty())
            .filter(|_| !r.dns_misleads && !r.by_dns)
            .map(|f| format!("{} — ", f.fix))
            .unwrap_or_default();
        // The DID document names another PDS: after a rename of this one (or a migration
        // half done) no handle step fixes that — a PLC operation per account does.
        let here = i
            .settings
            .public_url
            .as_deref()
            .map(|u| u.trim_end_matches('/'));
        let elsewhere = r
            .did_document
            .as_ref()
            .and_then(|a| a.pds_endpoint.clone())
            .filter(|e| here.is_some_and(|h| h != e));
        if let Some(other) = elsewhere {
            out.push(
                Finding::fail(detail.join("; "))
                    .about(r.handle.as_str())
                    .why(format!(
                        "{}'s DID document names {other} as its PDS, not this one ({}). Was PDS_HOSTNAME changed after the account was made?",
                        r.handle.as_str(),
                        here.unwrap_or_default()
                    ))
                    .fix(format!(
                        "A renamed PDS needs a PLC operation per account naming its new URL (pds-wizard env set PDS_HOSTNAME=NAME says what a rename means; setting the old name back undoes it). An account moved here needs its PLC document updated (goat account plc …). pds-wizard handle check {} shows every detail.",
                        r.handle.as_str()
                    ))
                    .target(crate::target::Target::Hostname),
            );
            continue;
        }
        // The handle as the subject: the wizard's Enter opens that account (see `go_to`).
        out.push(
            Finding::fail(detail.join("; "))
                .about(r.handle.as_str())
                .why(r.verdict())
                .fix(format!(
                    "{cause_fix}pds-wizard handle check {} shows every detail; the Handle & DNS step fixes it",
                    r.handle.as_str()
                )),
        );
    }
    out
}

/// A verified handle: a pass, or — one judgement with `handle check` — a warning when the
/// way that verified it warns (a redirect to the atproto-did file, a CNAME).
fn verified_finding(r: &crate::identity::HandleReport) -> Finding {
    let mut warnings: Vec<String> = Vec::new();
    if r.by_dns {
        warnings.extend(
            r.dns
                .results
                .iter()
                .filter(|x| x.finding.level == Level::Warn)
                .map(|x| x.finding.what.clone())
                .take(1),
        );
    }
    if r.by_https {
        warnings.extend(
            std::iter::once(&r.https.finding)
                .chain(&r.https.notes)
                .filter(|f| f.level == Level::Warn)
                .map(|f| f.what.clone()),
        );
    }
    let handle = r.handle.as_str();
    let method = if r.by_dns { "DNS" } else { "HTTPS" };
    if warnings.is_empty() {
        return Finding::pass(format!("{handle}: verified by {method}"));
    }
    Finding::warn(format!(
        "{handle}: verified by {method}, but {}",
        warnings.join("; ")
    ))
    .about(handle)
    .fix(format!(
        "pds-wizard handle check {handle} shows why; not every resolver accepts it"
    ))
}

async fn crawlers(i: &Inputs) -> Vec<Finding> {
    let Some(list) = i.get("PDS_CRAWLERS").filter(|l| !l.trim().is_empty()) else {
        return vec![Finding::warn(
            "PDS_CRAWLERS is empty: no relay hears about new posts, so nobody else sees them",
        )
        .fix("set PDS_CRAWLERS=https://bsky.network (the installer's default)")];
    };
    // Relays are other people's servers: never redirected by --connect-to.
    let c = match client(&local(i), "") {
        Ok(c) => c,
        Err(e) => return vec![Finding::fail(e)],
    };
    let urls = crate::relay::crawler_urls(&list);
    let answers = futures::future::join_all(
        urls.iter()
            .map(|u| c.get(format!("{u}/xrpc/_health")).send()),
    )
    .await;
    let mut out = Vec::new();
    for (u, r) in urls.iter().zip(answers) {
        match r {
            Ok(r) => {
                out.push(Finding::pass(format!("{u} answers (HTTP {})", r.status().as_u16())));
                if i.request_crawl {
                    out.push(crate::relay::request_crawl(&c, u, i.settings.hostname.as_deref()).await);
                }
            }
            Err(e) => out.push(
                Finding::fail(format!("cannot reach {u}")).caused_by(&e)
                    .why("the PDS tells each crawler about new posts; an unreachable one never hears")
                    .fix("check the spelling in PDS_CRAWLERS, and that this server may make outbound HTTPS connections"),
            ),
        }
    }
    out
}

/// Relays skip every event whose sequence number is at or below the last they saw from a
/// host. A PDS reinstalled (or restored from an old backup) numbers its events from an
/// earlier point, so until it passes the relay's number nothing it does reaches the network.
async fn relay_sync(i: &Inputs) -> Vec<Finding> {
    let host = match hostname(i) {
        Ok(h) => h,
        Err(f) => return f,
    };
    let Some(list) = i.get("PDS_CRAWLERS").filter(|l| !l.trim().is_empty()) else {
        return vec![Finding::info(
            "PDS_CRAWLERS is empty: no relay to compare with",
        )];
    };
    let data_dir = i
        .doc
        .as_ref()
        .map(crate::pds::data::data_dir)
        .unwrap_or_else(|| "/pds".into());
    let ours = {
        let d = data_dir.clone();
        tokio::task::spawn_blocking(move || crate::pds::data::sequence(&d))
            .await
            .unwrap_or_else(|e| {
                Err(crate::pds::data::DataError::Unreadable {
                    path: data_dir.join("sequencer.sqlite"),
                    why: e.to_string(),
                })
            })
    };
    let c = match client(&local(i), "") {
        Ok(c) => c,
        Err(e) => return vec![Finding::fail(e)],
    };
    let mut out = Vec::new();
    // Said once, and only if some relay gave a number to compare with.
    let (ours, mut unreadable) = match ours {
        // No event at all (a fresh sequencer: /pds wiped or reinstalled) is #0, not
        // "unknown": a relay that remembers more is the worst desync there is.
        Ok(seq) => (Some(seq), None),
        Err(e) => (
            None,
            Some(
                Finding::warn(format!("cannot read this PDS's sequence number: {e}"))
                    .why("the relay's view can only be compared with the PDS's own newest event")
                    .fix(e.fix()),
            ),
        ),
    };
    let urls = crate::relay::crawler_urls(&list);
    let answers = futures::future::join_all(urls.iter().map(|u| {
        c.get(format!("{u}/xrpc/com.atproto.sync.getHostStatus"))
            .query(&[("hostname", host.as_str())])
            .send()
    }))
    .await;
    for (u, r) in urls.iter().zip(answers) {
        let r = match r {
            Ok(r) => r,
            Err(e) => {
                out.push(Finding::fail(format!("cannot ask {u} about {host}")).caused_by(&e));
                continue;
            }
        };
        let status = r.status().as_u16();
        let body: serde_json::Value = crate::http::read_json(r, crate::http::cap::JSON)
            .await
            .unwrap_or_default();
        if status != 200 {
            let error = body["error"].as_str().unwrap_or_default();
            out.push(match (status, error) {
                (400, "HostNotFound") => Finding::warn(format!("{u} does not know {host} yet"))
                    .why("a relay learns of a PDS when it is asked to crawl it (the PDS asks the relays in PDS_CRAWLERS on its next event, at most every 20 minutes)")
                    .fix("ask it: pds-wizard doctor --request-crawl (or c on the wizard's Doctor step)"),
                (404 | 501, _) | (400, "MethodNotImplemented") => {
                    Finding::info(format!("{u} does not report host status (com.atproto.sync.getHostStatus)"))
                }
                _ => Finding::warn(format!(
                    "{u} answered HTTP {status} about {host}: {}",
                    body["message"].as_str().unwrap_or(error)
                )),
            });
            continue;
        }
        let relay_status = body["status"].as_str().unwrap_or("unknown");
        let relay_seq = body["seq"].as_i64();
        match relay_status {
            "banned" => out.push(
                Finding::fail(format!("{u} has banned {host}"))
                    .why("a banned host's events are dropped")
                    .fix("ask the relay's operators (for bsky.network: Bluesky support) why"),
            ),
            "throttled" => out.push(
                Finding::warn(format!("{u} is throttling {host}"))
                    .why("the relay slows a host that sends more than its limits allow"),
            ),
            "offline" => out.push(
                Finding::warn(format!("{u} sees {host} as offline"))
                    .why("the relay could not keep a firehose connection to this PDS")
                    .fix(
                        "check the websocket check above, then: pds-wizard doctor --request-crawl",
                    ),
            ),
            _ => {}
        }
        // The firehose compares a relay's cursor with its newest event (the rows), not
        // with the counter: see PDS-FACTS "Relay cursors".
        let ours_newest = ours.map(|s| s.newest.unwrap_or(0));
        match (relay_seq, ours_newest) {
            (Some(r), Some(o)) if r > o && ours.and_then(|s| s.counter).is_some_and(|c| c >= r) => {
                // Moved past by hand already: one new event makes it count.
                let handle = any_handle(i).await;
                out.push(
                    Finding::fail(format!(
                        "{u} last saw event #{r} from {host}; this PDS's numbering is past it, but its newest event is still #{o}: the relay's cursor stays \"in the future\" until one new event is written"
                    ))
                    .why("the firehose compares the relay's cursor with its newest event, not with the counter; the relay reconnects with the same cursor")
                    .fix(format!(
                        "write one event, then ask for a crawl:\n  1. pds-wizard handle refresh {handle} (the PDS announces the handle again: an identity event)\n  2. pds-wizard doctor --request-crawl, then post something and check it shows up"
                    )),
                );
            }
            (Some(r), Some(o)) if r > o => {
                let handle = any_handle(i).await;
                let n = r + 1000;
                let db = data_dir.join("sequencer.sqlite");
                let at = if o == 0 {
                    "has no events at all (its sequencer starts afresh: a wiped or reinstalled data directory)".to_string()
                } else {
                    format!("is only at #{o}")
                };
                out.push(
                    Finding::fail(format!(
                        "{u} last saw event #{r} from {host}, but this PDS {at}: the relay drops everything until the PDS passes #{r}"
                    ))
                    .why("the PDS numbers its events afresh after a reinstall or a restore from an older backup, and a relay ignores events numbered at or below the last it saw (it calls a cursor above the PDS's newest event \"in the future\" and reconnects with it); new posts, handles and profile changes never reach the network")
                    .fix(format!(
                        "move the PDS's numbering past the relay's, write one event, then ask for a crawl (pds-wizard shows these and runs none of them):\n  1. stop the PDS: systemctl stop pds\n  2. sudo sqlite3 {} \"UPDATE sqlite_sequence SET seq = {n} WHERE name = 'repo_seq'; INSERT INTO sqlite_sequence (name, seq) SELECT 'repo_seq', {n} WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'repo_seq');\"\n  3. start it: systemctl start pds\n  4. pds-wizard handle refresh {handle} (an identity event: the first event past #{r})\n  5. pds-wizard doctor --request-crawl, then post something and check it shows up",
                        db.display()
                    )),
                );
            }
            (Some(r), Some(o)) => out.push(Finding::pass(format!(
                "{u}: {host} is {relay_status}, last event #{r}; this PDS is at #{o}{}",
                if o - r > 0 {
                    format!(" ({} not yet relayed)", o - r)
                } else {
                    String::new()
                }
            ))),
            (Some(r), None) => {
                out.extend(unreadable.take());
                out.push(Finding::info(format!(
                    "{u}: {host} is {relay_status}, last event #{r}"
                )));
            }
            (None, _) => out.push(Finding::info(format!(
                "{u}: {host} is {relay_status}; it reports no event number"
            ))),
        }
    }
    out
}

/// A handle of this PDS, for a command that writes one event (HANDLE when none is known).
async fn any_handle(i: &Inputs) -> String {
    i.accounts()
        .await
        .as_ref()
        .ok()
        .and_then(|a| a.first().map(|a| a.handle.clone()))
        .unwrap_or_else(|| "HANDLE".into())
}

/// Each local account as each relay in PDS_CRAWLERS sees it (getRepoStatus), and the
/// host's count against the relay's limit for a new PDS (getHostStatus): throttled
/// accounts fail, with the text of the request that raises the limit.
async fn relay_accounts(i: &Inputs) -> Vec<Finding> {
    let host = match hostname(i) {
        Ok(h) => h,
        Err(f) => return f,
    };
    let Some(list) = i.get("PDS_CRAWLERS").filter(|l| !l.trim().is_empty()) else {
        return vec![Finding::info("PDS_CRAWLERS is empty: no relay to ask")];
    };
    let accounts = match i.accounts().await {
        Ok(a) => a,
        Err(f) => return vec![f.clone()],
    };
    if accounts.is_empty() {
        return vec![Finding::info("no accounts yet")];
    }
    let locals: Vec<crate::relay::Local> = accounts
        .iter()
        .map(|a| crate::relay::Local {
            handle: a.handle.clone(),
            did: a.did.clone(),
            active: a.active,
        })
        .collect();
    let dids: Vec<String> = locals.iter().map(|l| l.did.clone()).collect();
    let c = match client(&local(i), "") {
        Ok(c) => c,
        Err(e) => return vec![Finding::fail(e)],
    };
    let contact = i.get("PDS_CONTACT_EMAIL_ADDRESS");
    let urls = crate::relay::crawler_urls(&list);
    let asks: Vec<_> = urls
        .iter()
        .map(|u| ask_relay(&c, u, &host, &dids, &locals, contact.as_deref()))
        .collect();
    futures::future::join_all(asks)
        .await
        .into_iter()
        .flatten()
        .collect()
}

async fn ask_relay(
    c: &reqwest::Client,
    relay: &str,
    host: &str,
    dids: &[String],
    locals: &[crate::relay::Local],
    contact: Option<&str>,
) -> Vec<Finding> {
    let (counted, states) = futures::future::join(
        crate::relay::account_count(c, relay, host),
        crate::relay::repo_states(c, relay, dids, crate::relay::CONCURRENCY),
    )
    .await;
    crate::relay::judge(relay, host, locals, counted, &states, contact)
}

fn disk(i: &Inputs) -> Vec<Finding> {
    let dir = i.get("PDS_DATA_DIRECTORY").unwrap_or_else(|| "/pds".into());
    // The directory itself, or the nearest parent that exists (a fresh install).
    let mut p = std::path::PathBuf::from(&dir);
    while !p.exists() {
        if !p.pop() {
            return vec![Finding::warn(format!("{dir} does not exist"))];
        }
    }
    let st = match rustix::fs::statvfs(&p) {
        Ok(st) => st,
        Err(e) => {
            return vec![Finding::warn(format!(
                "cannot read free space of {}: {}",
                p.display(),
                std::io::Error::from(e)
            ))]
        }
    };
    let free = st.f_bavail.saturating_mul(st.f_frsize);
    let total = st.f_blocks.saturating_mul(st.f_frsize);
    const GIB: u64 = 1 << 30;
    let what = format!(
        "{:.1} GiB free of {:.1} GiB under {}",
        free as f64 / GIB as f64,
        total as f64 / GIB as f64,
        p.display()
    );
    if free < GIB {
        vec![Finding::fail(what)
            .why("the PDS stops writing (posts, blobs, its databases) when the disk is full")
            .fix("free space or grow the disk")]
    } else if free < 5 * GIB || (total > 0 && free * 10 < total) {
        vec![Finding::warn(what).fix("free space soon: blobs grow with every upload")]
    } else {
        vec![Finding::pass(what)]
    }
}

/// An HTTP `Date` header (`Tue, 24 Nov 2026 09:17:02 GMT`, or the two obsolete forms) as
/// Unix time.
fn http_date(s: &str) -> Option<i64> {
    let t = httpdate::parse_http_date(s).ok()?;
    let since = t.duration_since(std::time::UNIX_EPOCH).ok()?;
    i64::try_from(since.as_secs()).ok()
}

async fn clock(i: &Inputs) -> Vec<Finding> {
    // The PLC directory is another machine (the public name is usually this one's proxy).
    let c = match client(&local(i), "") {
        Ok(c) => c,
        Err(e) => return vec![Finding::fail(e)],
    };
    let url = format!("{}/", i.settings.plc_url);
    let sent = time::OffsetDateTime::now_utc().unix_timestamp();
    let r = match c.get(&url).send().await {
        Ok(r) => r,
        Err(e) => return vec![Finding::warn(format!("cannot compare clocks: {url}")).caused_by(&e)],
    };
    let Some(theirs) = r
        .headers()
        .get("date")
        .and_then(|d| d.to_str().ok())
        .and_then(http_date)
    else {
        return vec![Finding::warn(format!("{url} sent no usable Date header"))];
    };
    let skew = theirs - sent;
    let what = format!(
        "this clock is {} s {} {url}",
        skew.abs(),
        if skew > 0 { "behind" } else { "ahead of" }
    );
    if skew.abs() > 300 {
        vec![Finding::fail(what)
            .why("tokens and signed records carry times; far off, logins and federation fail")
            .fix("turn on time sync: sudo timedatectl set-ntp true")]
    } else if skew.abs() > 30 {
        vec![Finding::warn(what).fix("turn on time sync: sudo timedatectl set-ntp true")]
    } else {
        vec![Finding::pass(format!(
            "the clock agrees with {url} (within {} s)",
            skew.abs().max(1)
        ))]
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn http_dates() {
        assert_eq!(
            super::http_date("Tue, 24 Nov 2026 09:17:02 GMT"),
            Some(1_795_511_822)
        );
        // The obsolete forms a server may still send (RFC 9110, 5.6.7).
        assert_eq!(
            super::http_date("Tuesday, 24-Nov-26 09:17:02 GMT"),
            Some(1_795_511_822)
        );
        assert_eq!(
            super::http_date("Tue Nov 24 09:17:02 2026"),
            Some(1_795_511_822)
        );
        assert_eq!(super::http_date("Tue, 24 Nov 2026 09:17:02 PST"), None);
        assert_eq!(super::http_date("yesterday"), None);
    }
}

#[cfg(test)]
mod expiry_tests {
    use super::cert_expiry;
    use crate::finding::Level;

    #[test]
    fn expiry_is_judged_against_the_lifetime() {
        const DAY: i64 = 86_400;
        let now = 1_800_000_000;
        // A 7-day internal certificate with 6 days left is fine; with half a day, overdue.
        let f = cert_expiry(now - DAY, now + 6 * DAY, now);
        assert_eq!(f.level, Level::Pass, "{f:?}");
        assert!(f.what.contains("of its 7-day lifetime"), "{f:?}");
        assert_eq!(
            cert_expiry(now - 6 * DAY - DAY / 2, now + DAY / 2, now).level,
            Level::Warn
        );
        // A 90-day one with 10 days left is overdue; with 60, fine.
        assert_eq!(
            cert_expiry(now - 80 * DAY, now + 10 * DAY, now).level,
            Level::Warn
        );
        assert_eq!(
            cert_expiry(now - 30 * DAY, now + 60 * DAY, now).level,
            Level::Pass
        );
        assert_eq!(
            cert_expiry(now - 91 * DAY, now - DAY, now).level,
            Level::Fail
        );
    }
}

#[cfg(test)]
mod handle_tests {
    use super::verified_finding;
    use crate::finding::{Finding, Level};
    use crate::identity::didfile::DidFileCheck;
    use crate::identity::dns::{DnsCheck, TxtRecord};
    use crate::identity::{Did, Handle, HandleReport};

    fn by_https(notes: Vec<Finding>) -> HandleReport {
        let handle = Handle::parse("alice.example.com").unwrap();
        let did = Did::parse("did:plc:ewvi7nxzyoun6zhxrhs64oiz").unwrap();
        HandleReport {
            record: TxtRecord::new(&handle, &did, "example.com"),
            dns: DnsCheck {
                name: "_atproto.alice.example.com".into(),
                zone: None,
                results: vec![],
                doubled: None,
            },
            https: DidFileCheck {
                url: "https://alice.example.com/.well-known/atproto-did".into(),
                final_url: "https://www.example.com/.well-known/atproto-did".into(),
                status: Some(200),
                body: None,
                finding: Finding::pass("the DID"),
                notes,
            },
            did_document: None,
            did_document_error: None,
            by_dns: false,
            by_https: true,
            dns_misleads: false,
            proxy_loses_pds: false,
            verified: true,
            handle,
            did,
        }
    }

    #[test]
    fn a_redirected_atproto_did_file_warns_as_handle_check_does() {
        let f = verified_finding(&by_https(vec![Finding::warn(
            "https://alice.example.com/.well-known/atproto-did redirects to another host",
        )]));
        assert_eq!(f.level, Level::Warn, "{f:?}");
        assert!(f.what.contains("verified by HTTPS, but") && f.what.contains("redirects"));
        assert_eq!(verified_finding(&by_https(vec![])).level, Level::Pass);
    }
}

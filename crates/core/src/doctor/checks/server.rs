//! The server itself: pds.env, the service that runs the PDS, its health and version.

use super::*;

pub(super) async fn env(i: &Inputs) -> Vec<Finding> {
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

pub(super) async fn service(i: &Inputs) -> Vec<Finding> {
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
pub(in crate::doctor) async fn ask_health(i: &Inputs) -> Health {
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
pub(in crate::doctor) async fn ask_describe(i: &Inputs) -> Option<serde_json::Value> {
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
pub(super) fn local_port(local_url: &str) -> Option<u16> {
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

pub(super) async fn health(i: &Inputs) -> Vec<Finding> {
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

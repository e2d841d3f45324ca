//! The firehose through the proxy, and whose requests the PDS's rate limits count.

use super::*;

pub(super) async fn websocket(i: &Inputs) -> Vec<Finding> {
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

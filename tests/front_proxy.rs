//! The seed's topology, end to end: a public front proxy (nginx) on one machine reaches the
//! PDS on another over a private network, the "tailnet". Two network namespaces of the
//! test's own, joined by two veth pairs: the tailnet (100.64.0.1 front, 100.101.102.103
//! PDS) and a "public" link (198.51.100.0/24). The front's public address, 203.0.113.1,
//! and two clients' are on its loopback; NSD answers the names there. Both PDS-side shapes
//! are made by the real binary: direct (the PDS's port) and through the installer's Caddy.
//! Nothing leaves the namespaces.

mod common;

use common::{Killed, Nsd, PdsLab};
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_pds-wizard");
const INSIDE: &str = "PDS_WIZARD_FRONT_PROXY_INSIDE";
const HOST: &str = "pds.example.test";
/// The PDS machine's namespace.
const NS: &str = "pdsmachine";
const FRONT_TS: &str = "100.64.0.1";
const PDS_TS: &str = "100.101.102.103";
const FRONT_PUBLIC: &str = "203.0.113.1";
const FRONT_LINK: &str = "198.51.100.1";
const PDS_PUBLIC: &str = "198.51.100.20";
const CLIENTS: [&str; 2] = ["203.0.113.50", "203.0.113.51"];
const HANDLE_DOMAIN: &str = "name.example.test";
const DID: &str = "did:plc:ewvi7nxzyoun6zhxrhs64oiz";

#[test]
fn a_front_proxy_on_another_machine_over_a_private_network() {
    if std::env::var_os(INSIDE).is_some() {
        return journey();
    }
    common::in_namespaces(
        "a_front_proxy_on_another_machine_over_a_private_network",
        INSIDE,
    );
}

fn run(program: &str, args: &[&str]) {
    let st = Command::new(program).args(args).status().unwrap();
    assert!(st.success(), "{program} {args:?}: {st}");
}

fn on_pds(args: &[&str]) {
    let mut all = vec!["netns", "exec", NS];
    all.extend_from_slice(args);
    run("ip", &all);
}

/// The wizard on the front machine (no pds.env there).
fn front_wizard(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(["--env-file", "/nonexistent/pds.env"])
        .args(args)
        .output()
        .unwrap()
}

/// The wizard on the PDS machine.
fn pds_wizard(env: &Path, args: &[&str]) -> Output {
    Command::new("ip")
        .args(["netns", "exec", NS, BIN, "--env-file"])
        .arg(env)
        .args(args)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    common::output_text(o)
}

/// Headers and body of an HTTPS GET through the front, from `client`'s address.
fn through(ca: &Path, client: &str, url: &str) -> (String, String) {
    let o = Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "10",
            "-D",
            "-",
            "--interface",
            client,
            "--cacert",
        ])
        .arg(ca)
        .arg(url)
        .output()
        .unwrap();
    let all = String::from_utf8_lossy(&o.stdout).into_owned();
    let (head, body) = all.split_once("\r\n\r\n").unwrap_or((&all, ""));
    (head.to_ascii_lowercase(), body.to_string())
}

fn remaining(ca: &Path, client: &str) -> u64 {
    let (head, _) = through(
        ca,
        client,
        &format!("https://{HOST}/xrpc/com.atproto.server.describeServer"),
    );
    head.lines()
        .find_map(|l| l.strip_prefix("ratelimit-remaining:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no RateLimit-Remaining through the front:\n{head}"))
}

/// Whether the two clients count against one limit: client 0, client 1, client 0 again.
/// One counter: each request takes one from the last; two: client 0's second request
/// takes one from its first, whatever client 1 did.
fn one_limit_for_both(ca: &Path) -> bool {
    let a1 = remaining(ca, CLIENTS[0]);
    let b = remaining(ca, CLIENTS[1]);
    let a2 = remaining(ca, CLIENTS[0]);
    match (b + 1 == a1 && a2 + 1 == b, a2 + 1 == a1) {
        (true, false) => true,
        (false, true) => false,
        _ => panic!("RateLimit-Remaining {a1}, {b}, {a2}: neither one limit nor two"),
    }
}

/// Whether plain HTTP to `url` answers from `source` (on the front machine) within 2 s.
fn answers(source: &str, url: &str) -> bool {
    Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "--max-time",
            "2",
            "--interface",
            source,
            url,
        ])
        .status()
        .unwrap()
        .success()
}

/// Every path the PDS needs, and the firehose, through the front; the handle-only
/// domain's atproto-did from the front's web root.
fn assert_everything_through_the_front(ca: &Path) {
    let c = CLIENTS[0];
    let (head, body) = through(ca, c, &format!("https://{HOST}/xrpc/_health"));
    assert!(head.starts_with("http/1.1 200"), "{head}\n{body}");
    assert!(body.contains("version"), "{body}");
    let (_, body) = through(
        ca,
        c,
        &format!("https://{HOST}/xrpc/com.atproto.server.describeServer"),
    );
    assert!(body.contains(&format!("did:web:{HOST}")), "{body}");
    for path in [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-authorization-server",
        "/oauth/jwks",
    ] {
        let (head, body) = through(ca, c, &format!("https://{HOST}{path}"));
        assert!(head.starts_with("http/1.1 200"), "{path}: {head}\n{body}");
    }
    // A handle under the PDS's domain: the wildcard reaches the PDS too.
    let (head, _) = through(ca, c, &format!("https://alice.{HOST}/xrpc/_health"));
    assert!(head.starts_with("http/1.1 200"), "{head}");
    let (_, body) = through(
        ca,
        c,
        &format!("https://{HANDLE_DOMAIN}/.well-known/atproto-did"),
    );
    assert_eq!(body.trim(), DID);
    // The firehose: upgraded, and held open until curl gives up.
    let o = common::websocket_get(
        ca,
        &format!("https://{HOST}/xrpc/com.atproto.sync.subscribeRepos?cursor=0"),
        &[],
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.starts_with("HTTP/1.1 101"), "no upgrade:\n{out}");
    assert_eq!(o.status.code(), Some(28), "the firehose closed early");
}

/// The doctor on the PDS machine (its public name through the front): its websocket
/// check, and the health check's word on the PDS's port.
fn doctor(env: &Path, ca: &Path) -> serde_json::Value {
    doctor_check(env, ca, "websocket")
}

fn port_finding(env: &Path, ca: &Path) -> String {
    let health = doctor_check(env, ca, "health");
    health["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| {
            f["what"]
                .as_str()
                .unwrap_or("")
                .contains("the PDS's port 3000")
        })
        .unwrap_or_else(|| panic!("{health:#}"))
        .to_string()
}

fn doctor_check(env: &Path, ca: &Path, name: &str) -> serde_json::Value {
    let o = pds_wizard(
        env,
        &[
            "--ca-file",
            ca.to_str().unwrap(),
            "--connect-to",
            &format!("{FRONT_PUBLIC}:443"),
            "--pds-url",
            "http://127.0.0.1:3000",
            "--timeout",
            "5",
            "--json",
            "doctor",
            "--only",
            name,
        ],
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|_| panic!("doctor --json:\n{}", text(&o)));
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("{v:#}"))
}

/// The doctor on the front machine: no pds.env there, the PDS asked across the tailnet.
fn front_doctor() -> serde_json::Value {
    let o = front_wizard(&[
        "--pds-url",
        &format!("http://{PDS_TS}:3000"),
        "--timeout",
        "2",
        "--json",
        "doctor",
        "--only",
        "env",
        "--only",
        "health",
    ]);
    serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("doctor --json:\n{}", text(&o)))
}

/// The finding of the doctor's websocket check about X-Forwarded-For.
fn forwarding(check: &serde_json::Value) -> serde_json::Value {
    check["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| {
            let w = f["what"].as_str().unwrap_or("");
            w.contains("rate limit")
        })
        .cloned()
        .unwrap_or_else(|| panic!("no forwarding finding: {check:#}"))
}

fn pds_env(path: &Path, bypass: Option<&str>) {
    let mut t = format!(
        "PDS_HOSTNAME={HOST}\nPDS_PORT=3000\nPDS_SERVICE_HANDLE_DOMAINS=.{HOST}\nPDS_RATE_LIMITS_ENABLED=true\nPDS_DEV_MODE=false\n"
    );
    if let Some(b) = bypass {
        t += &format!("PDS_RATE_LIMIT_BYPASS_IPS={b}\n");
    }
    std::fs::write(path, t).unwrap();
}

fn start_pds(env: &Path, data: &Path) -> PdsLab {
    PdsLab::start_as_service_in(
        NS,
        env,
        data,
        serde_json::json!({ "PDS_ADMIN_PASSWORD": common::PDS_ADMIN }),
        (3000, 2582),
    )
}

fn journey() {
    // The machines and the networks between them.
    run("ip", &["link", "set", "lo", "up"]);
    for a in [FRONT_PUBLIC, CLIENTS[0], CLIENTS[1]] {
        run("ip", &["addr", "add", &format!("{a}/32"), "dev", "lo"]);
    }
    // The namespace's name in a tmpfs of this mount namespace: nothing is left on the host.
    std::fs::create_dir_all("/run/netns").unwrap();
    run("mount", &["-t", "tmpfs", "tmpfs", "/run/netns"]);
    run("ip", &["netns", "add", NS]);
    on_pds(&["ip", "link", "set", "lo", "up"]);
    for (front, pds, fa, pa) in [
        (
            "ts-front",
            "ts-pds",
            format!("{FRONT_TS}/10"),
            format!("{PDS_TS}/10"),
        ),
        (
            "pub-front",
            "pub-pds",
            format!("{FRONT_LINK}/24"),
            format!("{PDS_PUBLIC}/24"),
        ),
    ] {
        run(
            "ip",
            &[
                "link", "add", "name", front, "type", "veth", "peer", "name", pds,
            ],
        );
        run("ip", &["link", "set", "dev", pds, "netns", NS]);
        run("ip", &["addr", "add", &fa, "dev", front]);
        run("ip", &["link", "set", "dev", front, "up"]);
        on_pds(&["ip", "addr", "add", &pa, "dev", pds]);
        on_pds(&["ip", "link", "set", "dev", pds, "up"]);
    }
    // The PDS machine reaches the internet (the front's public address) over its public link.
    on_pds(&["ip", "route", "add", "default", "via", FRONT_LINK]);

    let lab = tempfile::tempdir().unwrap();
    let l = lab.path();
    let zone = format!(
        "$ORIGIN example.test.\n$TTL 5\n@ IN SOA ns1 admin ( 1 3600 600 86400 5 )\n@ IN NS ns1\nns1 IN A 127.0.0.1\npds IN A {FRONT_PUBLIC}\n*.pds IN A {FRONT_PUBLIC}\nname IN A {FRONT_PUBLIC}\n"
    );
    let _nsd = Nsd::start_on("example.test", &zone, 53);
    let ca = common::make_ca(l);
    let _nginx = common::resolver_and_nginx(l);

    // The PDS machine: the official install's layout, rate limits on.
    let pds_root = tempfile::tempdir().unwrap();
    let data = pds_root.path().join("pds");
    std::fs::create_dir_all(data.join("caddy/etc/caddy")).unwrap();
    let env = data.join("pds.env");
    pds_env(&env, None);
    std::fs::write(
        data.join("compose.yaml"),
        "services:\n  caddy:\n    image: caddy:2\n  pds:\n    image: ghcr.io/bluesky-social/pds:0.4\n",
    )
    .unwrap();
    let mut pds = start_pds(&env, &data);

    // 1. The front: nginx for a PDS elsewhere, with a handle-only domain's atproto-did.
    let webroot = l.join("www-name");
    std::fs::create_dir(&webroot).unwrap();
    let o = front_wizard(&[
        "did-file",
        "write",
        HANDLE_DOMAIN,
        "--did",
        DID,
        "--webroot",
        webroot.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let site = "/etc/nginx/sites-available/pds.conf";
    let render = |side: &str| {
        let o = front_wizard(&[
            "proxy",
            "render",
            "nginx",
            "--host",
            HOST,
            "--upstream",
            PDS_TS,
            "--front-address",
            FRONT_TS,
            "--pds-side",
            side,
            "--tls",
            "files",
            "--cert",
            ca.cert.to_str().unwrap(),
            "--key",
            ca.key.to_str().unwrap(),
            "--handle-domain",
            &format!("{HANDLE_DOMAIN},webroot={}", webroot.display()),
            "--out",
            site,
        ]);
        assert!(o.status.success(), "{}", text(&o));
        text(&o)
    };
    let shown = render("direct");
    // Which file goes where, and the other half.
    assert!(
        shown.contains(&format!("this file goes on the front machine; on the PDS machine run: pds-wizard proxy pds-side --front-address {FRONT_TS} --pds-address {PDS_TS} --via direct")),
        "{shown}"
    );
    assert!(
        shown.contains(&format!("ip saddr {FRONT_TS} tcp dport {{ 3000 }} accept")),
        "{shown}"
    );
    assert!(std::fs::read_to_string(site)
        .unwrap()
        .contains(&format!("{PDS_TS}:3000")));
    let o = front_wizard(&["proxy", "enable", site]);
    assert!(o.status.success(), "{}", text(&o));
    run("nginx", &["-s", "reload"]);
    std::thread::sleep(Duration::from_millis(500));
    assert_everything_through_the_front(&ca.ca);

    // 2. Before the PDS side: every client counts as the front — one shared limit — and
    // the PDS's port answers on its public address. The doctor says so, with the fix.
    assert!(
        one_limit_for_both(&ca.ca),
        "two clients share the front's limit"
    );
    let f = forwarding(&doctor(&env, &ca.ca));
    assert_eq!(f["level"], "warn", "{f:#}");
    let s = f.to_string();
    assert!(
        s.contains(&format!("the proxy reaches the PDS from {FRONT_TS}"))
            && s.contains("pds-wizard proxy pds-side"),
        "{f:#}"
    );
    let public_port = format!("http://{PDS_PUBLIC}:3000/xrpc/_health");
    assert!(
        answers(FRONT_LINK, &public_port),
        "the test must see the port open first"
    );
    let p = port_finding(&env, &ca.ca);
    assert!(
        p.contains("\"warn\"") && p.contains("not only loopback"),
        "{p}"
    );

    // 3. The PDS side, direct: the front listed, the firewall loaded.
    let nft = pds_root.path().join("nftables.d/pds-wizard.nft");
    let side = |via: &str, extra: &[&str]| {
        let mut args = vec![
            "proxy",
            "pds-side",
            "--front-address",
            FRONT_TS,
            "--pds-address",
            PDS_TS,
            "--via",
            via,
            "--firewall",
            "nft",
            "--nft-file",
            nft.to_str().unwrap(),
            "--yes",
        ];
        args.extend_from_slice(extra);
        let o = pds_wizard(&env, &args);
        assert!(o.status.success(), "pds-side {via}: {}", text(&o));
        text(&o)
    };
    // The PDS restarted as its service would be (the lab restarts on SIGHUP, reading
    // pds.env again).
    let restart = format!("kill -HUP {}", pds.pid());
    let out = side("direct", &["--restart", "--restart-command", &restart]);
    assert!(
        out.contains(&format!("PDS_RATE_LIMIT_BYPASS_IPS={FRONT_TS}"))
            && out.contains("The PDS restarted.")
            && out.contains("Firewall loaded"),
        "{out}"
    );
    assert!(std::fs::read_to_string(&env)
        .unwrap()
        .contains(&format!("PDS_RATE_LIMIT_BYPASS_IPS={FRONT_TS}\n")));
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !std::fs::read_to_string(pds.lab_log())
        .unwrap_or_default()
        .contains("pds_lab: restarted")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the PDS did not restart"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        !one_limit_for_both(&ca.ca),
        "each client has its own limit once the PDS trusts the front"
    );
    let f = forwarding(&doctor(&env, &ca.ca));
    assert_eq!(f["level"], "pass", "{f:#}");
    let p = port_finding(&env, &ca.ca);
    assert!(
        p.contains("\"pass\"")
            && p.contains(&format!(
                "pds-wizard's firewall table lets only {FRONT_TS} reach it"
            )),
        "{p}"
    );
    assert!(
        !answers(FRONT_LINK, &public_port),
        "the PDS's port is closed on its public address"
    );
    assert!(
        answers(FRONT_TS, &format!("http://{PDS_TS}:3000/xrpc/_health")),
        "the front still reaches it"
    );
    assert_everything_through_the_front(&ca.ca);
    // The doctor on the front: the path across the tailnet, and the address to trust.
    let v = front_doctor();
    let t = v.to_string();
    assert_eq!(
        v["checks"][0]["level"], "pass",
        "a front has no pds.env: {v:#}"
    );
    assert!(
        t.contains(&format!("this machine reaches the PDS at {PDS_TS}:3000 from {FRONT_TS} across a private network")),
        "{v:#}"
    );

    // 4. Through the installer's Caddy: it answers the front on the private address.
    let caddyfile = data.join("caddy/etc/caddy/Caddyfile");
    let caddy_dir = l.join("caddy");
    std::fs::create_dir_all(&caddy_dir).unwrap();
    let globals = format!(
        "{{\n\temail admin@example.test\n\tskip_install_trust\n\tstorage file_system {}\n\ton_demand_tls {{\n\t\task http://localhost:3000/tls-check\n\t}}\n}}\n\n",
        caddy_dir.display()
    );
    let installer = format!(
        "{globals}*.{HOST}, {HOST} {{\n\ttls {{\n\t\ton_demand\n\t}}\n\treverse_proxy http://localhost:3000\n}}\n"
    );
    std::fs::write(&caddyfile, &installer).unwrap();
    let caddy_log = std::fs::File::create(l.join("caddy.log")).unwrap();
    let _caddy = Killed(
        Command::new("ip")
            .args([
                "netns",
                "exec",
                NS,
                "caddy",
                "run",
                "--adapter",
                "caddyfile",
                "--config",
            ])
            .arg(&caddyfile)
            .env("HOME", &caddy_dir)
            .env("XDG_DATA_HOME", &caddy_dir)
            .env("XDG_CONFIG_HOME", &caddy_dir)
            .stdout(caddy_log.try_clone().unwrap())
            .stderr(caddy_log)
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(Duration::from_secs(2));
    let reload = format!(
        "caddy reload --adapter caddyfile --config {}",
        caddyfile.display()
    );
    let out = side("caddy", &["--reload-command", &reload]);
    assert!(
        out.contains(&format!(
            "PDS_RATE_LIMIT_BYPASS_IPS lists {FRONT_TS} already"
        )) && out.contains("Caddy reloaded"),
        "{out}"
    );
    let edited = std::fs::read_to_string(&caddyfile).unwrap();
    assert!(
        edited.starts_with(&globals),
        "the global options are kept:\n{edited}"
    );
    assert!(
        edited.contains(&format!("\tbind {PDS_TS}\n"))
            && edited.contains(&format!("trusted_proxies {FRONT_TS}\n"))
            && !edited.contains("on_demand\n"),
        "{edited}"
    );
    let backups = std::fs::read_dir(caddyfile.parent().unwrap())
        .unwrap()
        .count();
    assert!(
        backups >= 2,
        "a backup of the installer's Caddyfile is kept"
    );
    // The front now reaches Caddy's port 80.
    let shown = render("caddy");
    assert!(
        shown.contains("replaces the installer's public site"),
        "{shown}"
    );
    assert!(std::fs::read_to_string(site)
        .unwrap()
        .contains(&format!("{PDS_TS}:80")));
    run("nginx", &["-s", "reload"]);
    std::thread::sleep(Duration::from_millis(500));
    assert_everything_through_the_front(&ca.ca);
    assert!(
        !one_limit_for_both(&ca.ca),
        "each client has its own limit through Caddy"
    );
    let f = forwarding(&doctor(&env, &ca.ca));
    assert_eq!(f["level"], "pass", "{f:#}");
    assert!(
        f.to_string().contains(&format!(
            "the front at {FRONT_TS} reaches the PDS through Caddy here"
        )),
        "{f:#}"
    );
    // Only Caddy's port answers the front now; nothing answers the public side.
    assert!(!answers(
        FRONT_TS,
        &format!("http://{PDS_TS}:3000/xrpc/_health")
    ));
    assert!(!answers(FRONT_LINK, &format!("http://{PDS_PUBLIC}:80/")));
    assert!(!answers(FRONT_LINK, &public_port));
    // The doctor on the front sees the PDS's port closed to it, and says how to open it.
    let v = front_doctor();
    let health = &v["checks"][1];
    assert_eq!(health["level"], "fail", "{v:#}");
    assert!(
        health
            .to_string()
            .contains(&format!("across the network from {FRONT_TS}"))
            && health.to_string().contains("pds-wizard proxy pds-side"),
        "{v:#}"
    );
    // A second run changes nothing.
    let out = side("caddy", &["--reload-command", &reload]);
    assert!(out.contains("Caddyfile: no change"), "{out}");
    // Caddy not trusting the front replaces its X-Forwarded-For with the front's address,
    // which the PDS lists: every request through the front skips the rate limits. The
    // doctor sees it; pds-side puts the trust back.
    let untrusting = edited.replace(&format!("\t\ttrusted_proxies {FRONT_TS}\n"), "");
    assert_ne!(untrusting, edited);
    std::fs::write(&caddyfile, &untrusting).unwrap();
    run("sh", &["-c", &format!("ip netns exec {NS} {reload}")]);
    let f = forwarding(&doctor(&env, &ca.ca));
    assert_eq!(f["level"], "warn", "{f:#}");
    assert!(
        f.to_string().contains("skip the PDS's rate limits")
            && f.to_string()
                .contains(&format!("trusted_proxies {FRONT_TS}")),
        "{f:#}"
    );
    let out = side("caddy", &["--reload-command", &reload]);
    assert!(out.contains("Caddy reloaded"), "{out}");
    assert_eq!(std::fs::read_to_string(&caddyfile).unwrap(), edited);
    assert_eq!(forwarding(&doctor(&env, &ca.ca))["level"], "pass");

    // 5. Without the front listed, Caddy's chain ends at the front: one shared limit, and
    // the doctor names the fix for this shape.
    pds_env(&env, None);
    pds.stop();
    drop(pds);
    let _pds = start_pds(&env, &data);
    assert!(
        one_limit_for_both(&ca.ca),
        "through Caddy, an unlisted front is every client"
    );
    let f = forwarding(&doctor(&env, &ca.ca));
    assert_eq!(f["level"], "warn", "{f:#}");
    assert!(
        f.to_string().contains(&format!(
            "the front proxy reaches Caddy here from {FRONT_TS}"
        )) && f
            .to_string()
            .contains(&format!("--pds-address {PDS_TS} --via caddy")),
        "{f:#}"
    );
}

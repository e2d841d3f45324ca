//! First setup from the command line, through the real binary: `service write` checked by
//! the real docker-compose and systemd-analyze, `service start` waiting for the real PDS,
//! `records` against NSD, `status` against the lab.

mod common;

use common::{output_text as out, run_cli, Nsd, PdsLab, PDS_ADMIN};
use std::os::unix::fs::MetadataExt;

fn init(dir: &std::path::Path) -> std::path::PathBuf {
    let env = dir.join("pds.env");
    let o = run_cli(
        &env,
        &[
            "env",
            "init",
            "--hostname",
            "pds.example.test",
            "--admin-email",
            "admin@example.test",
            "--data-dir",
            &dir.display().to_string(),
        ],
        "",
    );
    assert!(o.status.success(), "{}", out(&o));
    env
}

#[test]
fn service_files_are_the_installers_and_pass_the_real_validators() {
    let d = tempfile::tempdir().unwrap();
    let env = init(d.path());
    let units = d.path().join("units");
    std::fs::create_dir(&units).unwrap();
    let u = units.display().to_string();

    // --dry-run writes nothing and shows each file in full. The unit directory from
    // PDS_WIZARD_UNIT_DIR, which the wizard's Server step honours too.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_pds-wizard"))
        .args(["--env-file", &env.display().to_string()])
        .args(["service", "write", "--dry-run"])
        .env("PDS_WIZARD_UNIT_DIR", &u)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", out(&o));
    assert!(out(&o).contains(&format!("{u}/pds.service")), "{}", out(&o));
    assert!(!d.path().join("compose.yaml").exists());
    assert!(
        out(&o).contains("Nothing written (--dry-run)."),
        "{}",
        out(&o)
    );

    // Not on a terminal and no --yes: shown, checked, not written (exit 2).
    let o = run_cli(&env, &["service", "write", "--unit-dir", &u], "");
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    assert!(out(&o).contains("give --yes"), "{}", out(&o));
    assert!(!d.path().join("compose.yaml").exists());

    let o = run_cli(&env, &["service", "write", "--unit-dir", &u, "--yes"], "");
    let text = out(&o);
    assert!(o.status.success(), "{text}");
    // Both validators are installed by scripts/test: each must have said "valid".
    assert!(
        text.contains("docker-compose config: valid") || text.contains("compose config: valid"),
        "{text}"
    );
    assert!(text.contains("✓ systemd-analyze verify: valid"), "{text}");
    let compose = std::fs::read_to_string(d.path().join("compose.yaml")).unwrap();
    assert!(compose.contains("image: caddy:2"), "{compose}");
    assert!(
        compose.contains(&format!("env_file:\n      - {}", env.display())),
        "{compose}"
    );
    let unit = std::fs::read_to_string(units.join("pds.service")).unwrap();
    assert!(
        unit.contains(&format!(
            "--file {}/compose.yaml up --detach",
            d.path().display()
        )),
        "{unit}"
    );
    let caddyfile = d.path().join("caddy/etc/caddy/Caddyfile");
    let c = std::fs::read_to_string(&caddyfile).unwrap();
    assert!(c.contains("email admin@example.test"), "{c}");
    // Caddy checked it (scripts/test installs caddy).
    assert!(text.contains("✓ caddy"), "{text}");
    assert!(d.path().join("caddy/data").is_dir());

    // Again: nothing changes, nothing is rewritten.
    let before = std::fs::metadata(d.path().join("compose.yaml")).unwrap();
    let o = run_cli(&env, &["service", "write", "--unit-dir", &u], "");
    assert!(o.status.success(), "{}", out(&o));
    assert_eq!(out(&o).matches(": unchanged").count(), 3, "{}", out(&o));
    assert!(out(&o).contains("Nothing to write"), "{}", out(&o));
    let after = std::fs::metadata(d.path().join("compose.yaml")).unwrap();
    assert_eq!(
        (before.ino(), before.mtime_nsec()),
        (after.ino(), after.mtime_nsec())
    );

    // Own proxy on a tailnet address: Caddy goes, the PDS is published there only, and
    // the previous compose.yaml is kept as a backup.
    let o = run_cli(
        &env,
        &[
            "--json",
            "service",
            "write",
            "--unit-dir",
            &u,
            "--front",
            "own-proxy",
            "--bind",
            "100.101.102.103",
            "--yes",
        ],
        "",
    );
    assert!(o.status.success(), "{}", out(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let compose_check = v["validation"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["path"].as_str().unwrap().ends_with("compose.yaml"))
        .unwrap();
    assert_eq!(compose_check["check"]["result"], "valid", "{v}");
    assert!(v["written"][0]["backup"].is_string(), "{v}");
    let compose = std::fs::read_to_string(d.path().join("compose.yaml")).unwrap();
    assert!(!compose.contains("caddy"), "{compose}");
    assert!(
        compose.contains("- \"100.101.102.103:3000:3000\""),
        "{compose}"
    );
}

#[test]
fn a_file_the_validator_refuses_is_not_written() {
    // A data directory whose name systemd or compose would read otherwise (`systemd-analyze
    // verify` passes the space and the %, and the unit then runs another command): refused
    // with the reason, before anything is written.
    let d = tempfile::tempdir().unwrap();
    let env = init(d.path());
    let units = d.path().display().to_string();
    let original = std::fs::read_to_string(&env).unwrap();
    for (dir, says) in [("${x", "'$'"), ("my pds", "a space"), ("pds%i", "'%'")] {
        let text = original.replace(
            &format!("PDS_DATA_DIRECTORY={}", d.path().display()),
            &format!("PDS_DATA_DIRECTORY='{}/{dir}'", d.path().display()),
        );
        std::fs::write(&env, text).unwrap();
        let o = run_cli(
            &env,
            &["service", "write", "--unit-dir", &units, "--yes"],
            "",
        );
        assert_eq!(o.status.code(), Some(2), "{}", out(&o));
        assert!(
            out(&o).contains(&format!(
                "the data directory \"{}/{dir}\" holds {says}",
                d.path().display()
            )),
            "{}",
            out(&o)
        );
        assert!(!d.path().join("compose.yaml").exists());
    }
    // An admin email Caddy would refuse (a display name; none at all): the address is
    // taken out of the one, the other refused.
    let with = |email: &str| {
        std::fs::write(
            &env,
            original.replace(
                "PDS_CONTACT_EMAIL_ADDRESS=admin@example.test",
                &format!("PDS_CONTACT_EMAIL_ADDRESS={email}"),
            ),
        )
        .unwrap();
        run_cli(
            &env,
            &["service", "write", "--unit-dir", &units, "--dry-run"],
            "",
        )
    };
    let o = with("'PDS Admin <admin@example.test>'");
    assert!(o.status.success(), "{}", out(&o));
    assert!(
        out(&o).contains("+   2 \temail admin@example.test"),
        "{}",
        out(&o)
    );
    assert!(out(&o).contains("✓ caddy"), "{}", out(&o));
    let o = with("");
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    assert!(out(&o).contains("needs an admin email"), "{}", out(&o));
}

/// The operator's own compose.yaml, unit and Caddyfile (pds-gatekeeper, an image pinned
/// to a version, their own Caddy routes): merged, not replaced — every service, setting and
/// directive of theirs kept, checked by docker-compose, systemd-analyze and Caddy — and
/// only after a yes.
#[test]
fn customised_service_files_are_merged_not_replaced() {
    let d = tempfile::tempdir().unwrap();
    let env = init(d.path());
    let units = d.path().join("units");
    std::fs::create_dir(&units).unwrap();
    let u = units.display().to_string();
    let dir = d.path().display().to_string();
    let compose = format!("# ours: pds-gatekeeper in front of account creation\nservices:\n  caddy:\n    container_name: caddy\n    image: caddy:2.8\n    network_mode: host\n    restart: unless-stopped\n    volumes:\n      - type: bind\n        source: {dir}/caddy/data\n        target: /data\n      - type: bind\n        source: {dir}/caddy/etc/caddy\n        target: /etc/caddy\n  pds:\n    container_name: pds\n    image: ghcr.io/bluesky-social/pds:0.4.182 # pinned until we test 0.5\n    network_mode: host\n    restart: unless-stopped\n    volumes:\n      - type: bind\n        source: {dir}\n        target: {dir}\n    env_file:\n      - {}\n    logging:\n      driver: journald\n  gatekeeper:\n    container_name: gatekeeper\n    image: ghcr.io/fatfingers23/pds_gatekeeper:latest\n    network_mode: host\n    restart: unless-stopped\n  watchtower:\n    container_name: watchtower\n    image: containrrr/watchtower:latest\n    network_mode: host\n    volumes:\n      - type: bind\n        source: /var/run/docker.sock\n        target: /var/run/docker.sock\n    restart: unless-stopped\n", env.display());
    std::fs::write(d.path().join("compose.yaml"), &compose).unwrap();
    let unit = format!("[Unit]\nDescription=Our PDS\nRequires=docker.service\nAfter=docker.service network-online.target\n\n[Service]\nType=oneshot\nRemainAfterExit=yes\nEnvironment=COMPOSE_HTTP_TIMEOUT=300\nWorkingDirectory={dir}\nExecStart=/usr/bin/docker compose --file {dir}/compose.yaml up --detach\nExecStop=/usr/bin/docker compose --file {dir}/compose.yaml down\n\n[Install]\nWantedBy=default.target\n");
    std::fs::write(units.join("pds.service"), &unit).unwrap();
    let caddy = d.path().join("caddy/etc/caddy");
    std::fs::create_dir_all(&caddy).unwrap();
    let caddyfile = "{\n\temail admin@example.test\n\ton_demand_tls {\n\t\task http://localhost:3000/tls-check\n\t}\n}\n\n*.pds.example.test, pds.example.test {\n\ttls {\n\t\ton_demand\n\t}\n\thandle /xrpc/com.atproto.server.createAccount {\n\t\treverse_proxy localhost:8080\n\t}\n\treverse_proxy http://localhost:3000\n}\n";
    std::fs::write(caddy.join("Caddyfile"), caddyfile).unwrap();
    // Off a terminal without --yes: shown, not written.
    let o = run_cli(&env, &["service", "write", "--unit-dir", &u], "");
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    assert_eq!(
        std::fs::read_to_string(d.path().join("compose.yaml")).unwrap(),
        compose
    );
    let o = run_cli(&env, &["service", "write", "--unit-dir", &u, "--yes"], "");
    let text = out(&o);
    assert!(o.status.success(), "{text}");
    assert!(text.contains("kept your services: gatekeeper"), "{text}");
    let merged = std::fs::read_to_string(d.path().join("compose.yaml")).unwrap();
    // The one line that had to change: a Watchtower that no longer runs on Docker 29.
    assert_eq!(
        merged,
        compose.replace(
            "containrrr/watchtower:latest",
            "ghcr.io/nicholas-fedor/watchtower:latest"
        )
    );
    for kept in [
        "# ours: pds-gatekeeper",
        "caddy:2.8",
        "pds:0.4.182 # pinned until we test 0.5",
        "driver: journald",
        "pds_gatekeeper:latest",
    ] {
        assert!(merged.contains(kept), "{kept}:\n{merged}");
    }
    let merged_unit = std::fs::read_to_string(units.join("pds.service")).unwrap();
    assert!(
        merged_unit.contains("Environment=COMPOSE_HTTP_TIMEOUT=300\n"),
        "{merged_unit}"
    );
    assert!(
        merged_unit.contains("After=docker.service\n")
            || merged_unit.contains("network-online.target"),
        "{merged_unit}"
    );
    // The Caddyfile serves the PDS already: it is theirs, untouched.
    assert_eq!(
        std::fs::read_to_string(caddy.join("Caddyfile")).unwrap(),
        caddyfile
    );
    assert!(
        text.contains("docker-compose config: valid") || text.contains("compose config: valid"),
        "{text}"
    );
    // A second run: nothing to write.
    let o = run_cli(&env, &["service", "write", "--unit-dir", &u], "");
    assert!(
        o.status.success() && out(&o).contains("Nothing to write"),
        "{}",
        out(&o)
    );
}

#[test]
fn start_waits_for_the_pds_and_says_why_when_it_does_not_come() {
    let lab = PdsLab::start();
    let d = tempfile::tempdir().unwrap();
    let env = init(d.path());
    let units = d.path().display().to_string();
    // The lab's PDS is "the service"; starting it is a command that succeeds.
    let o = run_cli(
        &env,
        &[
            "--pds-url",
            &lab.pds_url,
            "--restart-command",
            "true",
            "service",
            "start",
            "--wait",
            "20",
            "--unit-dir",
            &units,
        ],
        "",
    );
    assert!(o.status.success(), "{}", out(&o));
    assert!(out(&o).contains("Running: true"), "{}", out(&o));
    assert!(out(&o).contains("The PDS answers at"), "{}", out(&o));

    // Nothing listens: after --wait, exit 1 with the reason and where the log is.
    let closed = format!("http://127.0.0.1:{}", common::free_dual_port());
    let o = run_cli(
        &env,
        &[
            "--pds-url",
            &closed,
            "--restart-command",
            "true",
            "--pds-log",
            "/var/log/pds.log",
            "service",
            "start",
            "--wait",
            "1",
        ],
        "",
    );
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(out(&o).contains("did not answer"), "{}", out(&o));
    assert!(
        out(&o).contains("tail -n 50 /var/log/pds.log"),
        "{}",
        out(&o)
    );

    // A start command that fails stops there, with its output.
    let o = run_cli(
        &env,
        &[
            "--restart-command",
            "echo no such unit >&2; exit 3",
            "service",
            "start",
        ],
        "",
    );
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    assert!(out(&o).contains("no such unit"), "{}", out(&o));
}

#[test]
fn records_say_what_to_create_and_what_dns_says() {
    let d = tempfile::tempdir().unwrap();
    let env = init(d.path());
    // The name points at an address that is not this machine's; no wildcard.
    let zone = "$ORIGIN example.test.\n$TTL 60\n@ IN SOA ns1 admin ( 1 3600 600 86400 60 )\n@ IN NS ns1\nns1 IN A 127.0.0.1\npds IN A 192.0.2.250\n";
    let nsd = Nsd::start("example.test", zone);
    let ns = nsd.addr.to_string();
    let o = run_cli(&env, &["--nameserver", &ns, "--json", "records"], "");
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let checks = &v["plan"]["checks"];
    assert_eq!(checks[0]["name"], "pds.example.test");
    assert_eq!(checks[0]["points"], "elsewhere", "{v}");
    assert_eq!(checks[0]["addresses"][0], "192.0.2.250");
    assert_eq!(checks[1]["name"], "*.pds.example.test");
    assert_eq!(checks[1]["points"], "missing", "{v}");
    // Every record names HOST or *.HOST and one of this machine's addresses.
    let machine: Vec<&str> = v["plan"]["machine"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["ip"].as_str().unwrap())
        .collect();
    for r in v["plan"]["records"].as_array().unwrap() {
        assert!(machine.contains(&r["value"].as_str().unwrap()), "{v}");
    }

    // Pointed at this machine (its first address, when it has one besides loopback),
    // both names are green and the exit is 0.
    let Some(ip) = machine.first() else { return };
    let kind = if ip.contains(':') { "AAAA" } else { "A" };
    nsd.set_zone(&format!(
        "$ORIGIN example.test.\n$TTL 60\n@ IN SOA ns1 admin ( 2 3600 600 86400 60 )\n@ IN NS ns1\nns1 IN A 127.0.0.1\npds IN {kind} {ip}\n*.pds IN {kind} {ip}\n"
    ));
    let o = run_cli(&env, &["--nameserver", &ns, "records"], "");
    assert!(o.status.success(), "{}", out(&o));
    assert!(
        out(&o).contains("*.pds.example.test points at this server"),
        "{}",
        out(&o)
    );
}

#[test]
fn status_names_each_milestone_and_the_next_step() {
    let lab = PdsLab::start();
    let d = tempfile::tempdir().unwrap();
    let env = init(d.path());
    let nsd = Nsd::start(
        "example.test",
        "$ORIGIN example.test.\n$TTL 60\n@ IN SOA ns1 admin ( 1 3600 600 86400 60 )\n@ IN NS ns1\nns1 IN A 127.0.0.1\n",
    );
    let text = std::fs::read_to_string(&env)
        .unwrap()
        .replace(
            "PDS_ADMIN_PASSWORD=",
            &format!("PDS_ADMIN_PASSWORD={PDS_ADMIN}\n#"),
        )
        .replace("https://bsky.network", "http://127.0.0.1:9");
    std::fs::write(&env, text).unwrap();
    let args = [
        "--pds-url",
        &lab.pds_url,
        "--plc-url",
        &lab.plc_url,
        "--nameserver",
        &nsd.addr.to_string(),
        "--timeout",
        "3",
        "--json",
        "status",
    ];
    let o = run_cli(&env, &args, "");
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let m = |id: &str| {
        v["overview"]["milestones"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == id)
            .unwrap_or_else(|| panic!("{id} in {v}"))
            .clone()
    };
    assert_eq!(m("pds-running")["state"], "done", "{v}");
    assert_eq!(m("records")["state"], "todo", "{v}");
    assert_eq!(m("first-account")["state"], "todo", "{v}");
    assert_eq!(m("first-account")["target"], "accounts", "{v}");
    assert!(v["next"].as_str().unwrap().starts_with("Next: "), "{v}");

    lab.create_account("alice.test");
    let o = run_cli(&env, &args, "");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let first = v["overview"]["milestones"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "first-account")
        .unwrap()
        .clone();
    assert_eq!(first["state"], "done", "{v}");
    assert!(
        first["said"].as_str().unwrap().contains("alice.test"),
        "{v}"
    );
}

/// Behind NAT only an echo service knows the public address: asked (bounded by --timeout),
/// its answer leads the records; an answer that is not an address is said, not used.
#[test]
fn an_address_echo_service_is_asked_when_configured() {
    let serve = |body: &'static str| -> u16 {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            use std::io::{Read, Write};
            for c in l.incoming().flatten() {
                let mut c = c;
                let mut buf = [0u8; 1024];
                let _ = c.read(&mut buf);
                let _ = write!(
                    c,
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        port
    };
    let d = tempfile::tempdir().unwrap();
    let env = init(d.path());
    let nsd = Nsd::start(
        "example.test",
        "$ORIGIN example.test.\n$TTL 60\n@ IN SOA ns1 admin ( 1 3600 600 86400 60 )\n@ IN NS ns1\nns1 IN A 127.0.0.1\npds IN A 203.0.114.77\n*.pds IN A 203.0.114.77\n",
    );
    let ns = nsd.addr.to_string();
    let echo = format!("http://127.0.0.1:{}/", serve("203.0.114.77\n"));
    let o = run_cli(
        &env,
        &["--nameserver", &ns, "--json", "records", "--ip-echo", &echo],
        "",
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["plan"]["echoed"], "203.0.114.77", "{v}");
    assert_eq!(v["plan"]["records"][0]["value"], "203.0.114.77", "{v}");
    // The address the internet sees is this server's: both names point here.
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert_eq!(v["plan"]["checks"][1]["points"], "here", "{v}");

    let echo = format!("http://127.0.0.1:{}/", serve("<html>hello</html>"));
    let o = run_cli(
        &env,
        &["--nameserver", &ns, "records", "--ip-echo", &echo],
        "",
    );
    assert!(
        out(&o).contains("answered \"<html>hello</html>\", not an address"),
        "{}",
        out(&o)
    );
}

const NAT_INSIDE: &str = "PDS_WIZARD_NAT_INSIDE";

/// Issue 31 #2: on a cloud VM the interface holds only a private address (1:1 NAT). Run in
/// a network namespace whose only addresses are 10.0.0.5 and fd00::2 (on loopback, as this
/// kernel may have no dummy interfaces): `records`, `status` and the wizard's Server step
/// never offer them as records, and say where the public address is found; with
/// --ip-echo the echo's answer is offered; an AAAA only for a global IPv6 address held here.
#[test]
fn private_addresses_are_never_offered_as_records() {
    if std::env::var_os(NAT_INSIDE).is_some() {
        return nat_inside();
    }
    common::in_namespaces("private_addresses_are_never_offered_as_records", NAT_INSIDE);
}

fn ip(args: &[&str]) {
    let st = std::process::Command::new("ip")
        .args(args)
        .status()
        .unwrap();
    assert!(st.success(), "ip {args:?}: {st}");
}

fn nat_inside() {
    ip(&["link", "set", "lo", "up"]);
    ip(&["addr", "add", "10.0.0.5/24", "dev", "lo"]);
    ip(&["-6", "addr", "add", "fd00::2/64", "dev", "lo"]);
    let d = tempfile::tempdir().unwrap();
    let env = init(d.path());
    let nsd = Nsd::start(
        "example.test",
        "$ORIGIN example.test.\n$TTL 60\n@ IN SOA ns1 admin ( 1 3600 600 86400 60 )\n@ IN NS ns1\nns1 IN A 127.0.0.1\n",
    );
    let ns = nsd.addr.to_string();
    let no_private = |text: &str| {
        for bad in ["A 10.0.0.5", "AAAA fd00::2", "10.0.0.5\n"] {
            assert!(!text.contains(bad), "{bad:?} offered:\n{text}");
        }
    };

    let o = run_cli(
        &env,
        &["--nameserver", &ns, "--timeout", "3", "records"],
        "",
    );
    let text = out(&o);
    no_private(&text);
    assert!(
        text.contains("this server's public address is not on this machine"),
        "{text}"
    );
    assert!(text.contains("--ip-echo"), "{text}");
    assert!(
        text.contains("create: pds.example.test A <this server's public address>"),
        "{text}"
    );
    let o = run_cli(
        &env,
        &["--nameserver", &ns, "--timeout", "3", "--json", "records"],
        "",
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["plan"]["records"], serde_json::json!([]), "{v}");
    let o = run_cli(&env, &["--nameserver", &ns, "--timeout", "3", "status"], "");
    no_private(&out(&o));

    // The wizard's Server step says the same.
    let mut cmd = portable_pty::CommandBuilder::new(env!("CARGO_BIN_EXE_pds-wizard"));
    cmd.args(["--env-file", &env.display().to_string()]);
    cmd.args(["--nameserver", &ns, "--timeout", "3"]);
    cmd.env("TERM", "xterm-256color");
    cmd.env("XDG_STATE_HOME", d.path());
    let mut s = common::pty::Session::start(cmd, 30, 100);
    s.wait_text("┌ Overview");
    s.send("\x1b[B");
    std::thread::sleep(std::time::Duration::from_millis(100));
    s.send("\x1b[B\r");
    s.wait_text("public address is not on this machine");
    let screen = s.screen();
    no_private(&screen);
    assert!(!screen.contains("Create at your DNS provider"), "{screen}");
    s.send("\x1b");
    std::thread::sleep(std::time::Duration::from_millis(100));
    s.send("q");
    let _ = s.child.wait();

    // An echo service (here, a local one) says what the internet sees: that is offered.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let echo = format!("http://127.0.0.1:{}/", l.local_addr().unwrap().port());
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for mut c in l.incoming().flatten() {
            let _ = c.read(&mut [0u8; 1024]);
            let _ = c.write_all(
                b"HTTP/1.1 200 OK\r\ncontent-length: 13\r\nconnection: close\r\n\r\n203.0.114.77\n",
            );
        }
    });
    let o = run_cli(
        &env,
        &[
            "--nameserver",
            &ns,
            "--timeout",
            "3",
            "--ip-echo",
            &echo,
            "records",
        ],
        "",
    );
    let text = out(&o);
    no_private(&text);
    assert!(text.contains("203.0.114.77"), "{text}");
    assert!(!text.contains("AAAA"), "{text}");
    assert!(!text.contains("not on this machine"), "{text}");

    // A global IPv6 address held here: its AAAA is offered (and still no private one).
    ip(&["-6", "addr", "add", "2a01:4f8::5/128", "dev", "lo"]);
    let o = run_cli(
        &env,
        &["--nameserver", &ns, "--timeout", "3", "records"],
        "",
    );
    let text = out(&o);
    no_private(&text);
    assert!(text.contains("AAAA  2a01:4f8::5"), "{text}");
}

/// Issue 31 #4: renaming a PDS that hosts accounts is not a one-line change. With the lab
/// PDS holding an account: `env set PDS_HOSTNAME` says what it means and refuses without
/// --force; the wizard's save asks (n keeps the file, y saves); and the doctor's finding
/// for a DID document naming another PDS points at the rename, not at the Handle step.
#[test]
fn renaming_a_pds_with_accounts_says_what_it_means_and_asks() {
    let lab = PdsLab::start();
    lab.create_account("alice.test");
    let d = tempfile::tempdir().unwrap();
    let env = init(d.path());
    let text = std::fs::read_to_string(&env).unwrap().replace(
        "PDS_ADMIN_PASSWORD=",
        &format!("PDS_ADMIN_PASSWORD={PDS_ADMIN}\n#"),
    );
    std::fs::write(&env, &text).unwrap();
    let flags = [
        "--pds-url",
        &lab.pds_url,
        "--plc-url",
        &lab.plc_url,
        "--timeout",
        "3",
    ];
    let with = |extra: &[&str]| -> Vec<String> {
        flags.iter().chain(extra).map(|s| s.to_string()).collect()
    };
    let run = |args: Vec<String>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run_cli(&env, &args, "")
    };

    let o = run(with(&["env", "set", "PDS_HOSTNAME=pds.newname.test"]));
    let said = out(&o);
    assert_eq!(o.status.code(), Some(2), "{said}");
    for s in [
        "Renaming this PDS from pds.example.test to pds.newname.test while it hosts 1 account",
        "one per account",
        "certificates",
        "pds-wizard env set PDS_HOSTNAME=pds.newname.test --force",
    ] {
        assert!(said.contains(s), "{s:?}: {said}");
    }
    assert_eq!(
        std::fs::read_to_string(&env).unwrap(),
        text,
        "written anyway"
    );

    // The wizard: Basics, the new name, review, save — it asks first.
    let mut cmd = portable_pty::CommandBuilder::new(env!("CARGO_BIN_EXE_pds-wizard"));
    cmd.args(["--env-file", &env.display().to_string()]);
    cmd.args(flags);
    cmd.env("TERM", "xterm-256color");
    cmd.env("XDG_STATE_HOME", d.path());
    let mut s = common::pty::Session::start(cmd, 30, 100);
    s.wait_text("┌ Overview");
    s.send("\x1b[B\r");
    s.wait_text("Tab/↑↓ field");
    s.send("\x15pds.other.test");
    s.wait_text("pds.other.test");
    s.send("\x13");
    s.wait_text("+   1 PDS_HOSTNAME=pds.other.test");
    s.send("\r");
    s.wait_text("Rename the PDS?");
    s.wait_text("while it hosts 1");
    s.send("n");
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(
        std::fs::read_to_string(&env).unwrap(),
        text,
        "saved after n"
    );
    s.send("\r");
    s.wait_text("Rename the PDS?");
    s.send("y");
    s.wait_text("Saved");
    assert!(std::fs::read_to_string(&env)
        .unwrap()
        .contains("PDS_HOSTNAME=pds.other.test"));
    s.send("\x1b");
    std::thread::sleep(std::time::Duration::from_millis(150));
    s.send("q");
    let _ = s.child.wait();

    // alice's DID document names the PDS by its old URL: the doctor says rename, and its
    // finding's target is the hostname, not the handle step.
    let o = run(with(&["--json", "doctor", "--only", "handles"]));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let f = &v["checks"][0]["findings"][0];
    assert_eq!(f["level"], "fail", "{v:#}");
    assert_eq!(f["target"], "hostname", "{v:#}");
    assert!(
        f["fix"]
            .as_str()
            .unwrap()
            .contains("A renamed PDS needs a PLC operation per account"),
        "{v:#}"
    );
    assert!(
        !f["fix"].as_str().unwrap().contains("Handle & DNS step"),
        "{v:#}"
    );

    // --force renames, saying what it means on the way.
    let o = run(with(&[
        "env",
        "set",
        "PDS_HOSTNAME=pds.newname.test",
        "--force",
    ]));
    assert!(o.status.success(), "{}", out(&o));
    assert!(out(&o).contains("one per account"), "{}", out(&o));
}

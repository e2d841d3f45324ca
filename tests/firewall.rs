//! `proxy pds-side` and the firewall, for real, in a network and mount namespace of the
//! test's own (never the host's firewall: /etc/ufw is a copy mounted over the real one,
//! and every rule lives in the namespace). This namespace is the PDS machine; a second one,
//! joined by a veth pair, holds the front (100.64.0.1) and a client on the public side
//! (198.51.100.9). Root only; CI runs as root.

mod common;

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_pds-wizard");
const INSIDE: &str = "PDS_WIZARD_FIREWALL_INSIDE";
const OUT: &str = "outside";
const FRONT: &str = "100.64.0.1";
const PDS: &str = "100.101.102.103";
const PUBLIC_CLIENT: &str = "198.51.100.9";
const PDS_PUBLIC: &str = "198.51.100.20";

#[test]
fn firewalls_let_the_front_in_and_never_cut_ssh() {
    if std::env::var_os(INSIDE).is_some() {
        return inside();
    }
    common::in_namespaces("firewalls_let_the_front_in_and_never_cut_ssh", INSIDE);
}

fn run(program: &str, args: &[&str]) -> Output {
    let o = Command::new(program).args(args).output().unwrap();
    assert!(
        o.status.success(),
        "{program} {args:?}: {}",
        common::output_text(&o)
    );
    o
}

fn wizard(env: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--env-file")
        .arg(env)
        .args(args)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    common::output_text(o)
}

/// Whether `port` on the PDS machine answers `source` (in the outside namespace) in 2 s.
fn reaches(source: &str, ip: &str, port: u16) -> bool {
    Command::new("ip")
        .args([
            "netns",
            "exec",
            OUT,
            "curl",
            "-s",
            "-o",
            "/dev/null",
            "--max-time",
            "2",
        ])
        .args(["--interface", source, &format!("http://{ip}:{port}/")])
        .status()
        .unwrap()
        .success()
}

fn ufw_rules() -> String {
    String::from_utf8(run("ufw", &["status", "numbered"]).stdout).unwrap()
}

fn inside() {
    run("ip", &["link", "set", "lo", "up"]);
    // ufw's configuration: a copy, so nothing of the host's changes.
    let etc = tempfile::tempdir().unwrap();
    run("cp", &["-a", "/etc/ufw/.", etc.path().to_str().unwrap()]);
    run(
        "mount",
        &["--bind", etc.path().to_str().unwrap(), "/etc/ufw"],
    );
    std::fs::create_dir_all("/run/netns").unwrap();
    run("mount", &["-t", "tmpfs", "tmpfs", "/run/netns"]);
    run("ip", &["netns", "add", OUT]);
    run(
        "ip",
        &[
            "link", "add", "name", "pds0", "type", "veth", "peer", "name", "out0",
        ],
    );
    run("ip", &["link", "set", "dev", "out0", "netns", OUT]);
    for a in [format!("{PDS}/10"), format!("{PDS_PUBLIC}/24")] {
        run("ip", &["addr", "add", &a, "dev", "pds0"]);
    }
    run("ip", &["link", "set", "dev", "pds0", "up"]);
    for a in [format!("{FRONT}/10"), format!("{PUBLIC_CLIENT}/24")] {
        run(
            "ip",
            &["netns", "exec", OUT, "ip", "addr", "add", &a, "dev", "out0"],
        );
    }
    run(
        "ip",
        &[
            "netns", "exec", OUT, "ip", "link", "set", "dev", "out0", "up",
        ],
    );
    run(
        "ip",
        &["netns", "exec", OUT, "ip", "link", "set", "lo", "up"],
    );

    // What listens on the PDS machine: Caddy's 80 and the PDS's 3000 (plain HTTP servers
    // standing in), and an "sshd" on 22 (a program of that name, as the kernel sees it).
    let lab = tempfile::tempdir().unwrap();
    let fake_sshd = lab.path().join("sshd");
    std::fs::copy("/usr/bin/python3", &fake_sshd).unwrap();
    let mut servers = Vec::new();
    for (prog, port) in [
        ("/usr/bin/python3", 80u16),
        ("/usr/bin/python3", 3000),
        (fake_sshd.to_str().unwrap(), 22),
    ] {
        servers.push(common::Killed(
            Command::new(prog)
                .args(["-m", "http.server", &port.to_string(), "--bind", "0.0.0.0"])
                .current_dir(lab.path())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap(),
        ));
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !(reaches(PUBLIC_CLIENT, PDS_PUBLIC, 80)
        && reaches(PUBLIC_CLIENT, PDS_PUBLIC, 3000)
        && reaches(PUBLIC_CLIENT, PDS_PUBLIC, 22))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the stand-in servers did not come up"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(pds_wizard::pds::sockets::sshd_ports(), vec![22]);

    // The installer's layout: pds.env and Caddy's file.
    let data = lab.path().join("pds");
    std::fs::create_dir_all(data.join("caddy/etc/caddy")).unwrap();
    let env = data.join("pds.env");
    std::fs::write(
        &env,
        "PDS_HOSTNAME=pds.example.test\nPDS_PORT=3000\nPDS_RATE_LIMITS_ENABLED=true\n",
    )
    .unwrap();
    let caddyfile = data.join("caddy/etc/caddy/Caddyfile");
    std::fs::write(&caddyfile, "{\n\temail admin@example.test\n\ton_demand_tls {\n\t\task http://localhost:3000/tls-check\n\t}\n}\n\n*.pds.example.test, pds.example.test {\n\ttls {\n\t\ton_demand\n\t}\n\treverse_proxy http://localhost:3000\n}\n").unwrap();
    let side = |extra: &[&str]| {
        let mut args = vec![
            "proxy",
            "pds-side",
            "--front-address",
            FRONT,
            "--pds-address",
            PDS,
            "--via",
            "caddy",
            "--caddyfile",
            caddyfile.to_str().unwrap(),
            "--reload-command",
            "true",
        ];
        args.extend_from_slice(extra);
        wizard(&env, &args)
    };

    // 1. ufw inactive: it would take the rules and do nothing with them. Refused.
    let o = side(&["--firewall", "ufw", "--yes"]);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("ufw is inactive"), "{}", text(&o));
    assert!(ufw_rules().contains("Status: inactive"));
    assert!(reaches(PUBLIC_CLIENT, PDS_PUBLIC, 80));

    // 2. ufw on, with the usual "allow 80/tcp": before, everyone reaches Caddy's port.
    run("ufw", &["--force", "enable"]);
    run("ufw", &["allow", "22/tcp"]);
    run("ufw", &["allow", "80/tcp"]);
    assert!(reaches(PUBLIC_CLIENT, PDS_PUBLIC, 80) && reaches(FRONT, PDS, 80));
    let o = side(&["--firewall", "ufw", "--yes"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("read back, the front comes first"),
        "{}",
        text(&o)
    );
    let rules = ufw_rules();
    let first = rules.lines().find(|l| l.starts_with("[ 1]")).unwrap();
    assert!(
        first.contains("80/tcp on pds0") && first.contains(FRONT),
        "{rules}"
    );
    // The front gets in; the public side does not, on either port; SSH still answers.
    assert!(reaches(FRONT, PDS, 80), "{rules}");
    assert!(!reaches(PUBLIC_CLIENT, PDS_PUBLIC, 80), "{rules}");
    assert!(!reaches(PUBLIC_CLIENT, PDS_PUBLIC, 3000), "{rules}");
    assert!(!reaches(FRONT, PDS, 3000), "{rules}");
    assert!(reaches(PUBLIC_CLIENT, PDS_PUBLIC, 22), "{rules}");
    // Again: nothing added, still right.
    let o = side(&["--firewall", "ufw", "--yes"]);
    assert!(text(&o).contains("0 ufw rules added"), "{}", text(&o));
    assert_eq!(ufw_rules(), rules);
    // A rule the deny cannot replace, ahead of it: refused, named.
    run("ufw", &["insert", "1", "allow", "3000"]);
    let o = side(&["--firewall", "ufw", "--yes"]);
    assert!(
        !o.status.success() && text(&o).contains("rule [1] (3000 ALLOW IN Anywhere)"),
        "{}",
        text(&o)
    );
    run("ufw", &["--force", "delete", "1"]);

    // 3. The PDS on sshd's port: never filtered — refused, for everyone's SSH.
    let env22 = lab.path().join("pds22.env");
    std::fs::write(&env22, "PDS_HOSTNAME=pds.example.test\nPDS_PORT=22\n").unwrap();
    let rules = ufw_rules();
    let o = wizard(
        &env22,
        &[
            "proxy",
            "pds-side",
            "--front-address",
            FRONT,
            "--pds-address",
            PDS,
            "--firewall",
            "ufw",
            "--yes",
        ],
    );
    assert!(!o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("port 22 is where sshd listens here"),
        "{}",
        text(&o)
    );
    assert_eq!(ufw_rules(), rules);
    assert!(reaches(PUBLIC_CLIENT, PDS_PUBLIC, 22));
    // env set refuses the port too, naming who holds it.
    let o = wizard(&env, &["env", "set", "PDS_PORT=22"]);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("sshd"), "{}", text(&o));
    assert!(std::fs::read_to_string(&env)
        .unwrap()
        .contains("PDS_PORT=3000"));

    // 4. nftables: backups are not left where a boot-time include would load them.
    run("ufw", &["--force", "disable"]);
    let nft_dir = lab.path().join("nftables.d");
    std::fs::create_dir(&nft_dir).unwrap();
    let old = nft_dir.join("pds-wizard.nft.bak-20261101T000000Z");
    std::fs::write(&old, "table inet pds_wizard {}\n").unwrap();
    let nft_file = nft_dir.join("pds-wizard.nft");
    let o = side(&[
        "--firewall",
        "nft",
        "--nft-file",
        nft_file.to_str().unwrap(),
        "--yes",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("Old backups of it taken out"),
        "{}",
        text(&o)
    );
    let left: Vec<_> = std::fs::read_dir(&nft_dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("pds-wizard.nft")]);
    assert!(reaches(FRONT, PDS, 80) && !reaches(PUBLIC_CLIENT, PDS_PUBLIC, 80));
    assert!(reaches(PUBLIC_CLIENT, PDS_PUBLIC, 22));

    // 5. Addresses: the front is not this machine; a public one is warned about.
    let o = wizard(
        &env,
        &[
            "proxy",
            "pds-side",
            "--front-address",
            PDS,
            "--pds-address",
            PDS,
            "--dry-run",
        ],
    );
    assert!(
        !o.status.success() && text(&o).contains("are the same"),
        "{}",
        text(&o)
    );
    let o = wizard(
        &env,
        &[
            "proxy",
            "pds-side",
            "--front-address",
            "203.0.113.7",
            "--pds-address",
            PDS,
            "--dry-run",
        ],
    );
    assert!(
        text(&o).contains("203.0.113.7 is not on a private network"),
        "{}",
        text(&o)
    );

    // 6. A new front: the old one still in PDS_RATE_LIMIT_BYPASS_IPS is named, and taken
    // out when asked.
    assert!(std::fs::read_to_string(&env)
        .unwrap()
        .contains(&format!("PDS_RATE_LIMIT_BYPASS_IPS={FRONT}")));
    let moved = |extra: &[&str]| {
        let mut args = vec![
            "proxy",
            "pds-side",
            "--front-address",
            "100.64.0.2",
            "--pds-address",
            PDS,
            "--via",
            "caddy",
            "--caddyfile",
            caddyfile.to_str().unwrap(),
            "--dry-run",
        ];
        args.extend_from_slice(extra);
        wizard(&env, &args)
    };
    let o = moved(&[]);
    assert!(
        text(&o).contains(&format!(
            "still lists {FRONT}, the front this machine was set up for before"
        )),
        "{}",
        text(&o)
    );
    assert!(
        text(&o).contains(&format!("--retire-front {FRONT}")),
        "{}",
        text(&o)
    );
    let o = moved(&["--retire-front", FRONT]);
    assert!(
        text(&o).contains("PDS_RATE_LIMIT_BYPASS_IPS=100.64.0.2\n"),
        "{}",
        text(&o)
    );
    drop(servers);
}

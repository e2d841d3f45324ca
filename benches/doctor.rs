//! Doctor wall time against a lab where every upstream answers late. The real lab (PDS,
//! PLC, nginx, NSD, aiosmtpd) sits behind delaying forwarders: each new TCP connection and
//! each DNS query waits DELAY before it is passed on. Printed: the concurrent doctor's wall
//! time, the slowest check run alone, and all checks run one after another.
//!
//! First, on the same lab with no delay (a healthy setup as it is): the real binary's
//! `doctor` against `support/by-hand.sh`, the same checks done one after another with curl,
//! dig, openssl and friends, as an operator follows a guide. The goal: the doctor at least
//! 5x faster in wall time.
//!
//! Run with scripts/bench (it installs the lab first). DELAY_MS (default 200) and RUNS
//! (default 5) set the delay and the repetitions; the median is reported.

#[path = "../tests/common/mod.rs"]
mod common;
mod support;

use support::median;

use common::{make_ca, Nginx, Nsd, PdsLab, SmtpServers, PASSWORD, USER};
use pds_wizard::context::Context;
use pds_wizard::doctor::{run_all, run_one, Inputs, CHECKS};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

const HOST: &str = "pds.example.test";

/// A TCP forwarder on 127.0.0.1 that holds each new connection for `delay` first.
fn tcp_delay(target: SocketAddr, delay: Duration) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for client in l.incoming().flatten() {
            std::thread::spawn(move || {
                std::thread::sleep(delay);
                let Ok(server) = TcpStream::connect(target) else {
                    return;
                };
                let pipe = |mut from: TcpStream, mut to: TcpStream| {
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 16384];
                        while let Ok(n) = from.read(&mut buf) {
                            if n == 0 || to.write_all(&buf[..n]).is_err() {
                                break;
                            }
                        }
                        let _ = to.shutdown(std::net::Shutdown::Write);
                    });
                };
                pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
                pipe(server, client);
            });
        }
    });
    addr
}

/// A UDP forwarder (DNS) that holds each query for `delay`; TCP on the same port too.
fn dns_delay(target: SocketAddr, delay: Duration) -> SocketAddr {
    loop {
        let tcp = tcp_delay(target, delay);
        let Ok(sock) = UdpSocket::bind(("127.0.0.1", tcp.port())) else {
            continue;
        };
        std::thread::spawn(move || {
            let sock = Arc::new(sock);
            let mut buf = [0u8; 4096];
            while let Ok((n, from)) = sock.recv_from(&mut buf) {
                let query = buf[..n].to_vec();
                let sock = sock.clone();
                std::thread::spawn(move || {
                    std::thread::sleep(delay);
                    let up = UdpSocket::bind("127.0.0.1:0").unwrap();
                    up.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                    let _ = up.send_to(&query, target);
                    let mut reply = [0u8; 4096];
                    if let Ok((m, _)) = up.recv_from(&mut reply) {
                        let _ = sock.send_to(&reply[..m], from);
                    }
                });
            }
        });
        return tcp;
    }
}

fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn main() {
    let delay = Duration::from_millis(
        std::env::var("DELAY_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(200),
    );
    let runs = support::runs(5);

    let lab = PdsLab::start_with(serde_json::json!({
        "PDS_HOSTNAME": HOST,
        "PDS_SERVICE_HANDLE_DOMAINS": format!(".{HOST}"),
    }));
    let did = lab.create_account(&format!("alice.{HOST}"));
    let smtp = SmtpServers::start();
    let dns = Nsd::start(
        "example.test",
        "$ORIGIN example.test.\n$TTL 60\n@ IN SOA ns.example.test. admin.example.test. 1 3600 600 86400 60\n@ IN NS ns.example.test.\nns IN A 127.0.0.1\npds IN A 127.0.0.1\n*.pds IN A 127.0.0.1\n",
    );
    let dir = tempfile::tempdir().unwrap();
    let ca = make_ca(dir.path());
    let bundle = dir.path().join("bundle.pem");
    std::fs::write(
        &bundle,
        std::fs::read_to_string(&ca.ca).unwrap() + &std::fs::read_to_string(&smtp.ca).unwrap(),
    )
    .unwrap();

    let plc_port: u16 = lab.plc_url.rsplit(':').next().unwrap().parse().unwrap();
    let env_text = |pds: u16, plc: u16, smtp_port: u16| {
        format!(
            "PDS_HOSTNAME={HOST}\nPDS_PORT={pds}\nPDS_JWT_SECRET={jwt}\nPDS_ADMIN_PASSWORD={admin}\nPDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX={key}\nPDS_DATA_DIRECTORY={data}\nPDS_BLOBSTORE_DISK_LOCATION={data}/blocks\nPDS_DID_PLC_URL=http://localhost:{plc}\nPDS_CRAWLERS=http://localhost:{plc}\nPDS_SERVICE_HANDLE_DOMAINS=.{HOST}\nPDS_EMAIL_SMTP_URL=smtp://{user}:{pass}@localhost:{smtp_port}/?requireTLS=true\nPDS_EMAIL_FROM_ADDRESS=noreply@example.test\n",
            jwt = "ab".repeat(16),
            admin = common::PDS_ADMIN,
            key = "11".repeat(32),
            data = dir.path().display(),
            user = enc(USER),
            pass = enc(PASSWORD),
        )
    };
    by_hand_against_the_doctor(
        &dir,
        &env_text(lab.pds_port, plc_port, smtp.starttls),
        &ca,
        &bundle,
        &dns,
        &lab,
        &did,
        runs,
    );

    // Delaying forwarders in front of every upstream.
    let pds_addr: SocketAddr = format!("127.0.0.1:{}", lab.pds_port).parse().unwrap();
    let pds_slow = tcp_delay(pds_addr, delay);
    let plc_slow = tcp_delay(([127, 0, 0, 1], plc_port).into(), delay);
    let smtp_slow = tcp_delay(([127, 0, 0, 1], smtp.starttls).into(), delay);
    let dns_slow = dns_delay(dns.addr, delay);

    let env = dir.path().join("pds.env");
    std::fs::write(
        &env,
        env_text(pds_slow.port(), plc_slow.port(), smtp_slow.port()),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&env, std::fs::Permissions::from_mode(0o600)).unwrap();

    // nginx with the config `proxy render` writes, upstream the delayed PDS.
    let port = common::free_dual_port();
    let out = dir.path().join("sites/pds.conf");
    common::render_loopback_nginx(&env, &out, &ca.cert, &ca.key, port);
    let ndir = tempfile::tempdir().unwrap();
    let nca = make_ca(ndir.path());
    let nginx = Nginx::start_in(ndir, port, &nca, &format!("include {};\n", out.display()));
    let https_slow = tcp_delay(nginx.addr(), delay);

    let ctx = Context {
        env_file: env,
        ca_file: Some(bundle),
        nameserver: Some(dns_slow),
        pds_url: Some(format!("http://127.0.0.1:{}", pds_slow.port())),
        plc_url: None,
        timeout: Duration::from_secs(5),
        connect_to: Some(https_slow),
        ..Context::default()
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let all: Vec<_> = CHECKS.iter().collect();

    let mut concurrent = Vec::new();
    let mut slowest = Vec::new();
    let mut sequential: Vec<Duration> = Vec::new();
    let mut per_check: Vec<Vec<Duration>> = vec![Vec::new(); CHECKS.len()];
    for _ in 0..runs {
        let inputs = Arc::new(Inputs::load(&ctx, vec![]));
        let t = Instant::now();
        let results = rt.block_on(run_all(all.clone(), inputs.clone()));
        concurrent.push(t.elapsed());
        let failed: Vec<_> = results
            .iter()
            .filter(|r| r.level == pds_wizard::finding::Level::Fail)
            .map(|r| r.id.name())
            .collect();
        assert!(failed.is_empty(), "the lab is not healthy: {failed:?}");
        let mut alone = Vec::new();
        for (i, c) in CHECKS.iter().enumerate() {
            let t = Instant::now();
            rt.block_on(run_one(c, inputs.clone()));
            let d = t.elapsed();
            per_check[i].push(d);
            alone.push(d);
        }
        slowest.push(*alone.iter().max().unwrap());
        sequential.push(alone.iter().sum());
    }
    println!("doctor benchmark: {} checks, every upstream connection and DNS query delayed {} ms, median of {runs} runs", CHECKS.len(), delay.as_millis());
    for (c, times) in CHECKS.iter().zip(per_check) {
        println!(
            "  {:<10} alone {:>6} ms",
            c.id.name(),
            median(times).as_millis()
        );
    }
    let (c, s, q) = (median(concurrent), median(slowest), median(sequential));
    println!("concurrent doctor         {:>6} ms", c.as_millis());
    println!(
        "slowest check alone       {:>6} ms  (concurrent / slowest = {:.2})",
        s.as_millis(),
        c.as_secs_f64() / s.as_secs_f64()
    );
    println!(
        "checks one after another  {:>6} ms  (concurrent is {:.1}x faster)",
        q.as_millis(),
        q.as_secs_f64() / c.as_secs_f64()
    );
    drop(nginx);
}

/// The healthy lab, no delay: the real binary's doctor and the by-hand script, RUNS times
/// each, medians compared.
#[allow(clippy::too_many_arguments)]
fn by_hand_against_the_doctor(
    dir: &tempfile::TempDir,
    env_text: &str,
    ca: &common::TestCa,
    bundle: &std::path::Path,
    dns: &Nsd,
    lab: &PdsLab,
    did: &str,
    runs: usize,
) {
    use std::os::unix::fs::PermissionsExt;
    let env = dir.path().join("direct.env");
    std::fs::write(&env, env_text).unwrap();
    std::fs::set_permissions(&env, std::fs::Permissions::from_mode(0o600)).unwrap();
    let port = common::free_dual_port();
    let out = dir.path().join("direct-sites/pds.conf");
    common::render_loopback_nginx(&env, &out, &ca.cert, &ca.key, port);
    let ndir = tempfile::tempdir().unwrap();
    let nca = make_ca(ndir.path());
    let nginx = Nginx::start_in(ndir, port, &nca, &format!("include {};\n", out.display()));
    let pds = format!("http://127.0.0.1:{}", lab.pds_port);
    let doctor = || {
        let t = Instant::now();
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_pds-wizard"))
            .args([
                "--env-file",
                env.to_str().unwrap(),
                "--json",
                "--timeout",
                "5",
                "--ca-file",
                bundle.to_str().unwrap(),
                "--nameserver",
                &dns.addr.to_string(),
                "--pds-url",
                &pds,
                "--connect-to",
                &nginx.addr().to_string(),
                "doctor",
            ])
            .output()
            .unwrap();
        let d = t.elapsed();
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_ne!(v["overall"], "fail", "the lab is not healthy: {v:#}");
        (d, v)
    };
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/support/by-hand.sh");
    let plc = lab.plc_url.clone();
    let smtp_port = env_text
        .split("@localhost:")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap()
        .to_string();
    let by_hand = || {
        let t = Instant::now();
        let o = std::process::Command::new("bash")
            .arg(&script)
            .env("ENV", &env)
            .env("HOST", HOST)
            .env("HANDLE", format!("alice.{HOST}"))
            .env("DID", did)
            .env("HTTPS", port.to_string())
            .env("NS_IP", dns.addr.ip().to_string())
            .env("NS_PORT", dns.addr.port().to_string())
            .env("PDS", &pds)
            .env("PLC", &plc)
            .env("SMTP", &smtp_port)
            .env("SMTP_USER", USER)
            .env("SMTP_PASS", PASSWORD)
            .env("CA", bundle)
            .env("DATA", dir.path())
            .output()
            .unwrap();
        let d = t.elapsed();
        let text = String::from_utf8_lossy(&o.stdout);
        // It did the work: the PDS answered, the handle's file holds the DID, SMTP logged in.
        assert!(
            text.contains("version") && text.contains(did) && text.contains("smtp 0"),
            "the by-hand script did not get through:\n{text}\n{}",
            String::from_utf8_lossy(&o.stderr)
        );
        d
    };
    // One of each first, not counted (caches, the PDS's first answers).
    let (_, v) = doctor();
    by_hand();
    let d = median((0..runs).map(|_| doctor().0).collect());
    let h = median((0..runs).map(|_| by_hand()).collect());
    println!("healthy lab, no delay: median of {runs} runs");
    println!("doctor (the binary, every check) {:>6} ms", d.as_millis());
    let mut slow: Vec<(u64, String)> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["elapsed_ms"].as_u64().unwrap_or(0),
                c["name"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    slow.sort();
    slow.reverse();
    println!(
        "  its slowest checks: {}",
        slow.iter()
            .take(4)
            .map(|(ms, n)| format!("{n} {ms} ms"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("the same checks by hand (bash)   {:>6} ms", h.as_millis());
    println!(
        "the doctor is {:.1}x faster (goal: at least 5x)",
        h.as_secs_f64() / d.as_secs_f64()
    );
}

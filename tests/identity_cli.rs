//! `accounts`, `handle record/check` and `did-file write/check` through the real binary,
//! against the real PDS + PLC, NSD for DNS and nginx for HTTPS, all on loopback.

mod common;

use common::{output_text as out, run_cli, Nginx, Nsd, PdsLab, PDS_ADMIN};

#[test]
fn a_handle_from_account_to_verified() {
    let lab = PdsLab::start();
    let did = lab.create_account("alice.test");
    let d = tempfile::tempdir().unwrap();
    let env = d.path().join("pds.env");
    let port = lab.pds_url.rsplit(':').next().unwrap().to_string();
    std::fs::write(
        &env,
        format!("PDS_HOSTNAME=localhost\nPDS_PORT={port}\nPDS_ADMIN_PASSWORD={PDS_ADMIN}\nPDS_DID_PLC_URL={}\n", lab.plc_url),
    )
    .unwrap();

    // accounts: the handle and its DID, as pdsadmin would list them.
    let o = run_cli(&env, &["accounts"], "");
    assert!(o.status.success(), "{}", out(&o));
    assert!(
        out(&o).contains("alice.test") && out(&o).contains(&did),
        "{}",
        out(&o)
    );
    let o = run_cli(&env, &["--json", "accounts"], "");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v[0]["did"], did.as_str());

    // DNS: the zone "test" on NSD holds the record the wizard tells us to create.
    let zone = format!(
        "$ORIGIN test.\n$TTL 60\n@ IN SOA ns1.test. admin.test. ( 1 3600 600 86400 60 )\n@ IN NS ns1.test.\nns1 IN A 127.0.0.1\n_atproto.alice IN TXT \"did={did}\"\n"
    );
    let nsd = Nsd::start("test", &zone);
    let ns = nsd.addr.to_string();
    // alice.test is under the PDS's own handle domain (.test, for a PDS on localhost): no
    // record to create, the PDS answers for it. (The record is made here all the same, to
    // check every method; identity_dns.rs tests the record for a custom domain.)
    let o = run_cli(
        &env,
        &["--nameserver", &ns, "handle", "record", "alice.test"],
        "",
    );
    assert!(o.status.success(), "{}", out(&o));
    assert!(
        out(&o).contains(
            "alice.test is under this PDS's own handle domain .test: no DNS record is needed"
        ) && !out(&o).contains("Create this TXT record"),
        "{}",
        out(&o)
    );

    // HTTPS: the file written by did-file write, served by nginx.
    let nginx = Nginx::start(
        "  server { listen 127.0.0.1:{PORT} ssl; server_name alice.test; ssl_certificate {CERT}; ssl_certificate_key {KEY}; root {DIR}/www; }",
        |dir| std::fs::create_dir_all(dir.join("www")).unwrap(),
    );
    let webroot = nginx.dir.path().join("www");
    let o = run_cli(
        &env,
        &[
            "did-file",
            "write",
            "alice.test",
            "--did",
            &did,
            "--webroot",
            webroot.to_str().unwrap(),
        ],
        "",
    );
    assert!(o.status.success(), "{}", out(&o));
    let ca = nginx.ca.to_str().unwrap().to_string();
    let connect = nginx.addr().to_string();
    let o = run_cli(
        &env,
        &[
            "--ca-file",
            &ca,
            "--connect-to",
            &connect,
            "did-file",
            "check",
            "alice.test",
            "--did",
            &did,
        ],
        "",
    );
    assert!(o.status.success(), "{}", out(&o));

    // Every method at once: verified.
    let check = |extra: &[&str]| {
        let mut args = vec![
            "--nameserver",
            ns.as_str(),
            "--ca-file",
            ca.as_str(),
            "--connect-to",
            connect.as_str(),
            "--json",
            "handle",
            "check",
            "alice.test",
        ];
        args.extend_from_slice(extra);
        run_cli(&env, &args, "")
    };
    let o = check(&[]);
    assert!(o.status.success(), "{}", out(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["verified"], true, "{v:#}");
    assert_eq!(v["dns"]["results"][0]["finding"]["level"], "pass");
    assert_eq!(v["https"]["finding"]["level"], "pass");

    // Verified: announce it again. The PDS emits an identity event for alice (read back from
    // its sequencer), and the relay in PDS_CRAWLERS is asked to crawl.
    let identity_events = || identity_events(&lab, &did);
    let before = identity_events();
    let (relay_port, seen) = common::recording_http_server();
    let mut text = std::fs::read_to_string(&env).unwrap();
    text.push_str(&format!("PDS_CRAWLERS=http://127.0.0.1:{relay_port}\n"));
    std::fs::write(&env, text).unwrap();
    let o = run_cli(&env, &["handle", "refresh", "alice.test"], "");
    assert!(o.status.success(), "{}", out(&o));
    assert!(
        out(&o).contains("the PDS announced alice.test again")
            && out(&o).contains("accepted the crawl request for localhost"),
        "{}",
        out(&o)
    );
    assert_eq!(identity_events(), before + 1);
    let asked = seen.lock().unwrap().join("\n");
    assert!(
        asked.contains("POST /xrpc/com.atproto.sync.requestCrawl")
            && asked.contains(r#"{"hostname":"localhost"}"#),
        "{asked}"
    );
    // A handle the PDS does not host: said, exit 1, nothing announced.
    let o = run_cli(&env, &["handle", "refresh", "nobody.test"], "");
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(out(&o).contains("no account on this PDS has the handle nobody.test"));
    assert_eq!(identity_events(), before + 1);
    // A relay that is offline does not undo the announcement: a warning, exit 0.
    let text = std::fs::read_to_string(&env).unwrap().replace(
        &format!("PDS_CRAWLERS=http://127.0.0.1:{relay_port}\n"),
        &format!("PDS_CRAWLERS=http://127.0.0.1:{relay_port},http://127.0.0.1:9\n"),
    );
    std::fs::write(&env, text).unwrap();
    let o = run_cli(&env, &["handle", "refresh", "alice.test"], "");
    assert!(o.status.success(), "{}", out(&o));
    assert!(
        out(&o).contains("[warn] the crawl request to http://127.0.0.1:9 failed")
            && out(&o).contains("The handle was announced all the same"),
        "{}",
        out(&o)
    );
    assert_eq!(identity_events(), before + 2);

    // Checked against another DID: exit 1, and each method says why.
    let o = check(&["--did", "did:plc:otherotherotherotherothe"]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["verified"], false);
    assert!(v["dns"]["results"][0]["finding"]["what"]
        .as_str()
        .unwrap()
        .contains("not did:plc:otherotherotherotherothe"));
    assert!(
        v["did_document"]["error"]["what"]
            .as_str()
            .unwrap()
            .contains("no such DID"),
        "{v:#}"
    );

    // Bad input is refused before anything runs.
    let o = run_cli(
        &env,
        &["handle", "check", "laptop.local", "--did", &did],
        "",
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(out(&o).contains(".local"), "{}", out(&o));
}

/// `handle record` and `handle check` answer within about twice `--timeout` plus a second
/// whatever the servers do: a nameserver that never answers, an HTTPS server that never
/// speaks, a PLC directory that sends one byte a second. A zone DNS could not give is
/// said to be a guess.
#[test]
fn handle_commands_keep_their_time_bound() {
    let (_udp, _tcp, dns) = common::bind_dual();
    let (_u2, _silent_https, https) = common::bind_dual();
    let plc = trickling_http_server();
    let d = tempfile::tempdir().unwrap();
    let env = d.path().join("pds.env");
    std::fs::write(&env, "PDS_HOSTNAME=pds.example.test\n").unwrap();
    let ns = format!("127.0.0.1:{dns}");
    let connect = format!("127.0.0.1:{https}");
    let plc_url = format!("http://127.0.0.1:{plc}");
    let base = [
        "--timeout",
        "1",
        "--nameserver",
        ns.as_str(),
        "--connect-to",
        connect.as_str(),
        "--plc-url",
        plc_url.as_str(),
        "handle",
    ];
    let did = "did:plc:ewvi7nxzyoun6zhxrhs64oiz";
    let bound = std::time::Duration::from_secs(3);
    for cmd in ["record", "check"] {
        let mut args = base.to_vec();
        args.extend([cmd, "alice.deep.sub.example.test", "--did", did]);
        let started = std::time::Instant::now();
        let o = run_cli(&env, &args, "");
        let took = started.elapsed();
        let t = out(&o);
        assert!(took < bound, "handle {cmd} took {took:?}:\n{t}");
        if cmd == "record" {
            assert!(
                t.contains("is a guess") && t.contains("DNS did not answer within 1 s"),
                "{t}"
            );
        } else {
            assert_ne!(o.status.code(), Some(0), "{t}");
        }
    }
}

/// An HTTP server that reads each request's head, then answers one byte a second, forever
/// (a server that spoke before the request would be refused at once, testing nothing).
fn trickling_http_server() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in l.incoming().flatten() {
            std::thread::spawn(move || {
                use std::io::{Read, Write};
                let mut conn = conn;
                let mut got = Vec::new();
                let mut buf = [0u8; 1024];
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                let answer = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n{";
                for b in answer.iter().chain(std::iter::repeat(&b' ')) {
                    if conn.write_all(&[*b]).is_err() {
                        return;
                    }
                    std::thread::sleep(std::time::Duration::from_secs(1));
                }
            });
        }
    });
    port
}

/// Every other command that does network work keeps the same bound (about twice
/// `--timeout` plus a second) against servers that never answer and servers that send one
/// byte a second (a plain HTTP one for the PDS, PLC, relay and SMTP, and nginx with
/// `limit_rate 1` for HTTPS): `accounts`, `did-file check`, `doctor` and `apply` (which ends
/// with the doctor).
#[test]
fn network_commands_keep_their_time_bound() {
    let (_udp, _tcp, dns) = common::bind_dual();
    let (_u2, silent, _) = common::bind_dual();
    let silent = silent.local_addr().unwrap().port();
    let trickle = trickling_http_server();
    let d = tempfile::tempdir().unwrap();
    let ca = common::make_ca(d.path());
    let port = common::free_dual_port();
    let slow_https = common::Nginx::start_in(
        tempfile::tempdir().unwrap(),
        port,
        &ca,
        &format!(
            "server {{\n listen 127.0.0.1:{{PORT}} ssl;\n ssl_certificate {{CERT}};\n ssl_certificate_key {{KEY}};\n location / {{ limit_rate 1; return 200 \"{}\"; }}\n}}\n",
            "x".repeat(1000)
        ),
    );
    let env = d.path().join("pds.env");
    let answers = d.path().join("answers.toml");
    std::fs::write(&answers, "[env]\n").unwrap();
    let ns = format!("127.0.0.1:{dns}");
    for (name, plain, https) in [
        ("silent", silent, silent),
        ("one-byte-a-second", trickle, slow_https.port),
    ] {
        std::fs::write(
            &env,
            format!(
                "PDS_HOSTNAME=pds.example.test\nPDS_ADMIN_PASSWORD=secret-for-the-test\nPDS_CRAWLERS=http://127.0.0.1:{plain}\nPDS_DATA_DIRECTORY={}\nPDS_EMAIL_SMTP_URL=smtp://127.0.0.1:{plain}\nPDS_EMAIL_FROM_ADDRESS=noreply@example.test\n",
                d.path().display()
            ),
        )
        .unwrap();
        let to = format!("127.0.0.1:{https}");
        let url = format!("http://127.0.0.1:{plain}");
        let global = [
            "--timeout",
            "1",
            "--nameserver",
            ns.as_str(),
            "--connect-to",
            to.as_str(),
            "--ca-file",
            ca.ca.to_str().unwrap(),
            "--pds-url",
            url.as_str(),
            "--plc-url",
            url.as_str(),
        ];
        let commands: [&[&str]; 4] = [
            &["accounts"],
            &["did-file", "check", "alice.example.test"],
            &["doctor"],
            &["apply", "--dry-run", "--answers", answers.to_str().unwrap()],
        ];
        // Twice the timeout plus a second, and room for starting the process.
        let bound = std::time::Duration::from_millis(3500);
        for cmd in commands {
            let mut args = global.to_vec();
            args.extend_from_slice(cmd);
            let started = std::time::Instant::now();
            let o = run_cli(&env, &args, "");
            let took = started.elapsed();
            eprintln!("{cmd:?} against {name} servers: {took:?}");
            assert!(
                took < bound,
                "{cmd:?} against {name} servers took {took:?}:\n{}",
                out(&o)
            );
            assert_ne!(o.status.code(), Some(0), "{cmd:?}: {}", out(&o));
        }
    }
}

/// A plain HTTP server that answers every request with 200 and then data without end and
/// without a length (the body runs until the connection closes), as fast as it can.
fn flooding_http_server() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in l.incoming().flatten() {
            std::thread::spawn(move || {
                use std::io::{Read, Write};
                let mut conn = conn;
                let mut got = Vec::new();
                let mut buf = [0u8; 1024];
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                let start = if got.starts_with(b"GET /.well-known/atproto-did") {
                    &b"did:plc:"[..]
                } else {
                    &b"{\"did\":\""[..]
                };
                let _ = conn.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n");
                let _ = conn.write_all(start);
                let chunk = vec![b'a'; 256 * 1024];
                while conn.write_all(&chunk).is_ok() {}
            });
        }
    });
    port
}

/// Servers that answer with gigabytes — nginx serving a 4 GB file over TLS and plain HTTP
/// (Content-Length: 4000000000), and a server streaming without a length — against every
/// command that reads an answer: each stops at its cap and says so, and no run's peak
/// memory reaches 50 MB (before the cap, `doctor --only handles` reached 2.3 GB at
/// `--timeout 3`).
#[test]
fn answers_of_gigabytes_are_read_no_further_than_their_cap() {
    let (_udp, _tcp, dns) = common::bind_dual();
    let d = tempfile::tempdir().unwrap();
    let ca = common::make_ca(d.path());
    let web = tempfile::tempdir().unwrap();
    let big = web.path().join("big");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(4_000_000_000)
        .unwrap();
    let plain_port = common::free_dual_port();
    let port = common::free_dual_port();
    let nginx = common::Nginx::start_in(
        tempfile::tempdir().unwrap(),
        port,
        &ca,
        &format!(
            "server {{\n listen 127.0.0.1:{{PORT}} ssl;\n listen 127.0.0.1:{plain_port};\n ssl_certificate {{CERT}};\n ssl_certificate_key {{KEY}};\n default_type application/json;\n error_page 405 =200 $uri;\n location / {{ root {}; try_files /big =404; }}\n}}\n",
            web.path().display()
        ),
    );
    let flood = flooding_http_server();
    let env = d.path().join("pds.env");
    let ns = format!("127.0.0.1:{dns}");
    let did = "did:plc:ewvi7nxzyoun6zhxrhs64oiz";
    // Each run: its command, its peak memory, what it must say. The runs of a round go at
    // once (each one's memory is its own), so the round takes as long as its slowest.
    let check = |name: &str, env: &std::path::Path, runs: Vec<(Vec<String>, Option<&str>)>| {
        std::thread::scope(|scope| {
            let handles: Vec<_> = runs
                .into_iter()
                .map(|(args, says)| {
                    scope.spawn(move || {
                        let started = std::time::Instant::now();
                        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
                        let (o, rss_kib) = common::run_cli_measured(env, &argv);
                        (args, says, o, rss_kib, started.elapsed())
                    })
                })
                .collect();
            let mut worst = 0;
            for h in handles {
                let (args, says, o, rss_kib, took) = h.join().unwrap();
                let cmd = &args[args.len()
                    - args
                        .iter()
                        .rev()
                        .take_while(|a| *a != "--plc-url" && *a != "--connect-to")
                        .count()
                    + 1..];
                let t = out(&o);
                eprintln!(
                    "{cmd:?} against {name}: {took:?}, peak {} MB",
                    rss_kib / 1024
                );
                worst = worst.max(rss_kib);
                assert!(
                    rss_kib < 50 * 1024,
                    "{cmd:?} against {name} peaked at {} MB:\n{t}",
                    rss_kib / 1024
                );
                if let Some(says) = says {
                    assert!(t.contains(says), "{cmd:?} against {name}:\n{t}");
                }
            }
            eprintln!("{name}: worst peak {} MB", worst / 1024);
        })
    };
    let to = format!("127.0.0.1:{}", nginx.port);
    for (name, plain) in [
        ("nginx, 4 GB announced", plain_port),
        ("streaming, no length", flood),
    ] {
        std::fs::write(
            &env,
            format!(
                "PDS_HOSTNAME=pds.example.test\nPDS_ADMIN_PASSWORD=secret-for-the-test\nPDS_CRAWLERS=http://127.0.0.1:{plain}\nPDS_DATA_DIRECTORY={}\n",
                d.path().display()
            ),
        )
        .unwrap();
        let url = format!("http://127.0.0.1:{plain}");
        let global = [
            "--timeout",
            "3",
            "--nameserver",
            ns.as_str(),
            "--connect-to",
            to.as_str(),
            "--ca-file",
            ca.ca.to_str().unwrap(),
            "--pds-url",
            url.as_str(),
            "--plc-url",
            url.as_str(),
        ];
        // The PDS, the PLC directory, a relay and an address echo that flood; the handle's
        // site over HTTPS too.
        let commands: [(&[&str], Option<&str>); 8] = [
            (
                &["handle", "check", "alice.example.test", "--did", did],
                Some("more than 2 KiB"),
            ),
            (
                &["did-file", "check", "alice.example.test", "--did", did],
                Some("more than 2 KiB"),
            ),
            (
                &[
                    "doctor",
                    "--only",
                    "handles",
                    "--handle",
                    "alice.example.test",
                ],
                Some("reading stopped there"),
            ),
            (&["doctor"], None),
            (&["accounts"], Some("reading stopped there")),
            (&["accounts", "invite"], Some("reading stopped there")),
            (
                &[
                    "accounts",
                    "create",
                    "bob.pds.example.test",
                    "--email",
                    "bob@example.test",
                ],
                Some("reading stopped there"),
            ),
            (&["records", "--ip-echo", url.as_str()], None),
        ];
        let runs = commands
            .iter()
            .map(|(cmd, says)| {
                let args = global
                    .iter()
                    .chain(cmd.iter())
                    .map(|a| a.to_string())
                    .collect();
                (args, *says)
            })
            .collect();
        check(name, &env, runs);
    }

    // A real PDS whose account's handle is served by the flooding site, with the DID
    // documents asked of a flooding directory: the doctor reads the PDS, stops at 2 KiB of
    // the handle's file and 512 KiB of the document, and says both.
    let lab = PdsLab::start();
    lab.create_account("alice.test");
    let port = lab.pds_url.rsplit(':').next().unwrap().to_string();
    std::fs::write(
        &env,
        format!("PDS_HOSTNAME=localhost\nPDS_PORT={port}\nPDS_ADMIN_PASSWORD={PDS_ADMIN}\n"),
    )
    .unwrap();
    let plc = format!("http://127.0.0.1:{plain_port}");
    let args: Vec<String> = [
        "--timeout",
        "3",
        "--nameserver",
        ns.as_str(),
        "--ca-file",
        ca.ca.to_str().unwrap(),
        "--connect-to",
        to.as_str(),
        "--plc-url",
        plc.as_str(),
        "doctor",
        "--only",
        "handles",
    ]
    .map(String::from)
    .to_vec();
    check(
        "a real PDS, its handle's site and the PLC directory flooding",
        &env,
        vec![
            (args.clone(), Some("more than 2 KiB")),
            (args, Some("larger than 512 KiB")),
        ],
    );
}

/// How many identity events the PDS's sequencer holds for `did`.
fn identity_events(lab: &PdsLab, did: &str) -> i64 {
    let db = rusqlite::Connection::open_with_flags(
        lab.data_dir().join("sequencer.sqlite"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    db.query_row(
        "SELECT count(*) FROM repo_seq WHERE eventType = 'identity' AND did = ?1",
        [did],
        |r| r.get(0),
    )
    .unwrap()
}

/// Whether the PDS takes `password` for `handle` (createSession).
fn logs_in(lab: &PdsLab, handle: &str, password: &str) -> bool {
    let o = std::process::Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST"])
        .args(["-H", "content-type: application/json", "-d"])
        .arg(serde_json::json!({ "identifier": handle, "password": password }).to_string())
        .arg(format!(
            "{}/xrpc/com.atproto.server.createSession",
            lab.pds_url
        ))
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout) == "200"
}

/// `accounts create|invite|reset-password|set-handle` against the real PDS, as pdsadmin
/// does it: an invite made with the admin password, a generated password shown once that
/// logs in, a reset that replaces it, a handle moved (identity event, crawl request); a
/// custom domain that does not point at the account is refused with the record to create.
#[test]
fn accounts_are_made_and_moved_with_the_admin_password() {
    let lab = PdsLab::start_with(serde_json::json!({ "PDS_INVITE_REQUIRED": "true" }));
    let (relay_port, crawls) = common::recording_http_server();
    let d = tempfile::tempdir().unwrap();
    let env = d.path().join("pds.env");
    let port = lab.pds_url.rsplit(':').next().unwrap().to_string();
    std::fs::write(
        &env,
        format!("PDS_HOSTNAME=localhost\nPDS_PORT={port}\nPDS_ADMIN_PASSWORD={PDS_ADMIN}\nPDS_DID_PLC_URL={}\nPDS_SERVICE_HANDLE_DOMAINS=.test\nPDS_CRAWLERS=http://127.0.0.1:{relay_port}\n", lab.plc_url),
    )
    .unwrap();

    // An invite code, shown once.
    let o = run_cli(&env, &["accounts", "invite", "--uses", "2"], "");
    assert!(o.status.success(), "{}", out(&o));
    assert!(
        out(&o).contains("invite code for 2 account(s): "),
        "{}",
        out(&o)
    );

    // An account: the invite made and used, the password generated and working.
    let o = run_cli(
        &env,
        &[
            "--json",
            "accounts",
            "create",
            "bob.test",
            "--email",
            "bob@example.test",
        ],
        "",
    );
    assert!(o.status.success(), "{}", out(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let did = v["did"].as_str().unwrap().to_string();
    assert!(did.starts_with("did:plc:"), "{v}");
    assert!(v["invite"].is_string(), "{v}");
    let first = v["password"].as_str().unwrap().to_string();
    assert_eq!(first.len(), 24);
    assert!(logs_in(&lab, "bob.test", &first));
    let o = run_cli(&env, &["accounts"], "");
    assert!(
        out(&o).contains("bob.test") && out(&o).contains(&did),
        "{}",
        out(&o)
    );
    // A password of one's own, from standard input.
    let o = run_cli(
        &env,
        &[
            "accounts",
            "create",
            "dan.test",
            "--email",
            "dan@example.test",
            "--password-stdin",
        ],
        "correct-horse-battery\n",
    );
    assert!(o.status.success(), "{}", out(&o));
    assert!(!out(&o).contains("correct-horse-battery"), "{}", out(&o));
    assert!(logs_in(&lab, "dan.test", "correct-horse-battery"));

    // A reset: the old password stops working, the new one works.
    let o = run_cli(
        &env,
        &["--json", "accounts", "reset-password", "bob.test"],
        "",
    );
    assert!(o.status.success(), "{}", out(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let second = v["password"].as_str().unwrap().to_string();
    assert_ne!(first, second);
    assert!(!logs_in(&lab, "bob.test", &first));
    assert!(logs_in(&lab, "bob.test", &second));

    // A new handle under the PDS's own domain: set, announced, the relay asked to crawl.
    let before = identity_events(&lab, &did);
    let o = run_cli(
        &env,
        &["accounts", "set-handle", "bob.test", "carol.test"],
        "",
    );
    assert!(o.status.success(), "{}", out(&o));
    assert!(
        out(&o).contains("bob.test is now carol.test"),
        "{}",
        out(&o)
    );
    assert_eq!(identity_events(&lab, &did), before + 1);
    let asked = crawls.lock().unwrap().join("\n");
    assert!(
        asked.contains("POST /xrpc/com.atproto.sync.requestCrawl"),
        "{asked}"
    );
    let o = run_cli(&env, &["--json", "accounts"], "");
    assert!(out(&o).contains("carol.test"), "{}", out(&o));

    // A custom domain that does not point at the account yet: refused, with the record.
    let zone = "$ORIGIN example.org.\n$TTL 60\n@ IN SOA ns1.example.org. admin.example.org. ( 1 3600 600 86400 60 )\n@ IN NS ns1.example.org.\nns1 IN A 127.0.0.1\n";
    let nsd = Nsd::start("example.org", zone);
    let ns = nsd.addr.to_string();
    let (_u, _silent, https) = common::bind_dual();
    let connect = format!("127.0.0.1:{https}");
    let o = run_cli(
        &env,
        &[
            "--timeout",
            "2",
            "--nameserver",
            &ns,
            "--connect-to",
            &connect,
            "accounts",
            "set-handle",
            &did,
            "carol.example.org",
        ],
        "",
    );
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(
        out(&o).contains(&format!("carol.example.org does not point at {did} yet"))
            && out(&o).contains("_atproto.carol.example.org"),
        "{}",
        out(&o)
    );
    assert_eq!(identity_events(&lab, &did), before + 1);

    a_slow_pds_never_loses_a_password_made_here(&lab, &env);
}

/// A proxy in front of the PDS that passes each request on at once and, for the XRPC
/// methods named, holds the answer back for `delay`: the PDS has acted long before the
/// caller hears of it.
fn delaying_proxy(to: u16, methods: &'static [&'static str], delay: std::time::Duration) -> u16 {
    use std::io::{Read, Write};
    fn read_message(conn: &mut std::net::TcpStream) -> Option<Vec<u8>> {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        let head_end = loop {
            if let Some(i) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let n = conn.read(&mut buf).ok().filter(|n| *n > 0)?;
            got.extend_from_slice(&buf[..n]);
        };
        let head = String::from_utf8_lossy(&got[..head_end]).to_ascii_lowercase();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        while got.len() < head_end + len {
            let n = conn.read(&mut buf).ok().filter(|n| *n > 0)?;
            got.extend_from_slice(&buf[..n]);
        }
        Some(got)
    }
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in l.incoming().flatten() {
            std::thread::spawn(move || {
                let mut conn = conn;
                // Each request of a kept-alive connection, each over a connection of its own.
                while let Some(request) = read_message(&mut conn) {
                    let mut pds = std::net::TcpStream::connect(("127.0.0.1", to)).unwrap();
                    pds.write_all(&request).unwrap();
                    let answer = read_message(&mut pds);
                    let line =
                        String::from_utf8_lossy(&request[..request.len().min(200)]).into_owned();
                    if methods.iter().any(|m| line.contains(&format!("/xrpc/{m}"))) {
                        std::thread::sleep(delay);
                    }
                    match answer {
                        Some(a) if conn.write_all(&a).is_ok() => {}
                        _ => return,
                    }
                }
            });
        }
    });
    port
}

/// A server that answers every request with `status` and `body`.
fn answering_http_server(status: &'static str, body: &'static str) -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in l.incoming().flatten() {
            std::thread::spawn(move || {
                use std::io::{Read, Write};
                let mut conn = conn;
                let mut buf = [0u8; 4096];
                let _ = conn.read(&mut buf);
                let _ = write!(
                    conn,
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    });
    port
}

/// Unused invite codes on the PDS (not disabled, a use left).
fn unused_invites(lab: &PdsLab) -> usize {
    let o = std::process::Command::new("curl")
        .args(["-sS", "-u"])
        .arg(format!("admin:{PDS_ADMIN}"))
        .arg(format!(
            "{}/xrpc/com.atproto.admin.getInviteCodes?sort=recent&limit=500",
            lab.pds_url
        ))
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    v["codes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c["disabled"] == false
                && c["available"].as_u64().unwrap() > c["uses"].as_array().unwrap().len() as u64
        })
        .count()
}

/// The PDS answers after `--timeout`: `accounts create` and `reset-password` show the
/// password they made all the same, with the outcome unknown; the PDS did take it (it logs
/// in); the same create again finds the account. Refused creates leave no pile of unused
/// invites; an answer of HTTP 500 or 502 is the PDS's answer, not "cannot reach", and its
/// control sequences never reach the terminal.
fn a_slow_pds_never_loses_a_password_made_here(lab: &PdsLab, env: &std::path::Path) {
    let slow = delaying_proxy(
        lab.pds_port,
        &[
            "com.atproto.server.createAccount",
            "com.atproto.admin.updateAccountPassword",
        ],
        std::time::Duration::from_millis(2500),
    );
    let slow_url = format!("http://127.0.0.1:{slow}");
    let through_slow = |args: &[&str]| {
        let mut all = vec!["--timeout", "1", "--pds-url", slow_url.as_str()];
        all.extend_from_slice(args);
        run_cli(env, &all, "")
    };
    let password_in = |t: &str| -> String {
        let line = t
            .lines()
            .find(|l| l.starts_with("password: "))
            .unwrap_or_else(|| panic!("no password shown:\n{t}"));
        line["password: ".len()..]
            .split_whitespace()
            .next()
            .unwrap()
            .to_string()
    };

    // Create: no answer in time, the password shown, and it works.
    let o = through_slow(&[
        "accounts",
        "create",
        "slow.test",
        "--email",
        "slow@example.test",
    ]);
    let t = out(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(
        t.contains("the PDS did not answer in time; it may have taken the account"),
        "{t}"
    );
    assert!(t.contains("accounts list"), "{t}");
    assert!(!t.contains("cannot reach"), "{t}");
    let first = password_in(&t);
    assert!(
        logs_in(lab, "slow.test", &first),
        "the PDS did not take it:\n{t}"
    );
    // The same create again, answered in time: the account is found, nothing is made.
    let o = run_cli(
        env,
        &[
            "accounts",
            "create",
            "slow.test",
            "--email",
            "slow@example.test",
        ],
        "",
    );
    let t = out(&o);
    assert!(o.status.success(), "{t}");
    assert!(
        t.contains("is already there with email slow@example.test: nothing was done"),
        "{t}"
    );
    assert!(logs_in(lab, "slow.test", &first));
    // The same handle with another email is someone else's.
    let o = run_cli(
        env,
        &[
            "accounts",
            "create",
            "slow.test",
            "--email",
            "other@example.test",
        ],
        "",
    );
    assert!(
        !o.status.success() && out(&o).contains("slow.test is taken"),
        "{}",
        out(&o)
    );

    // Reset: the same.
    let o = through_slow(&["accounts", "reset-password", "slow.test"]);
    let t = out(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(t.contains("it may have taken the new password"), "{t}");
    let second = password_in(&t);
    assert_ne!(first, second);
    assert!(logs_in(lab, "slow.test", &second), "{t}");
    assert!(!logs_in(lab, "slow.test", &first));

    // Refused creates (the email is taken): checked here first where it can be, and the one
    // invite they need made once and taken again, not one left behind per try.
    let before = unused_invites(lab);
    let o = run_cli(
        env,
        &[
            "accounts",
            "create",
            "far.example.com",
            "--email",
            "far@example.test",
        ],
        "",
    );
    assert!(
        out(&o).contains("is not under a handle domain this PDS offers (.test)")
            && out(&o).contains("Not a supported handle domain"),
        "{}",
        out(&o)
    );
    assert_eq!(unused_invites(lab), before);
    // The PDS's own rule for a name under its domain (3 to 18 characters, no dot), said
    // here before anything is made on the PDS.
    for (handle, said) in [
        (
            "me.test",
            "\"me\" is 2 characters before .test; the PDS wants 3 to 18 (\"Handle too short\")",
        ),
        (
            "a.bcd.test",
            "the PDS refuses \"a.bcd\" before .test (a dot",
        ),
        (
            "abcdefghijklmnopqrs.test",
            "is 19 characters before .test; the PDS wants 3 to 18 (\"Handle too long\")",
        ),
    ] {
        let o = run_cli(
            env,
            &["accounts", "create", handle, "--email", "rule@example.test"],
            "",
        );
        assert!(!o.status.success(), "{}", out(&o));
        assert!(out(&o).contains(said), "{handle}: {}", out(&o));
    }
    assert_eq!(unused_invites(lab), before);
    for i in 0..10 {
        let handle = format!("taken{i}.test");
        let o = run_cli(
            env,
            &[
                "accounts",
                "create",
                &handle,
                "--email",
                "slow@example.test",
            ],
            "",
        );
        assert!(!o.status.success(), "{}", out(&o));
        assert!(out(&o).contains("Email already taken"), "{}", out(&o));
    }
    assert!(
        unused_invites(lab) <= before + 1,
        "{} unused invites, {before} before",
        unused_invites(lab)
    );

    // An error answer is the PDS's, in its words, without its control sequences.
    let evil = answering_http_server(
        "500 Internal Server Error",
        r#"{"error":"InternalServerError","message":"boom\u001b[2J\u001b]0;owned\u0007"}"#,
    );
    let evil_url = format!("http://127.0.0.1:{evil}");
    let o = run_cli(env, &["--pds-url", &evil_url, "accounts", "invite"], "");
    let t = out(&o);
    assert!(t.contains("the PDS answered HTTP 500: boom"), "{t}");
    assert!(!t.contains('\u{1b}') && !t.contains('\u{7}'), "{t:?}");
    assert!(!t.contains("cannot reach"), "{t}");
    let gateway = answering_http_server("502 Bad Gateway", "<html>bad gateway</html>");
    let o = run_cli(
        env,
        &[
            "--pds-url",
            &format!("http://127.0.0.1:{gateway}"),
            "accounts",
        ],
        "",
    );
    let t = out(&o);
    assert!(t.contains("answered listRepos with HTTP 502"), "{t}");
    assert!(!t.contains("cannot reach"), "{t}");
}

//! The doctor against a lab of real servers on 127.0.0.1: the real PDS and a PLC directory
//! (npm), nginx in front with the config `proxy render` writes, NSD for the zone, aiosmtpd
//! with STARTTLS and AUTH. A healthy lab passes; each broken one gets its own finding.

mod common;

use common::{
    make_ca, output_text, run_cli, Nginx, Nsd, PdsLab, SmtpServers, TestCa, PASSWORD, USER,
};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const HOST: &str = "pds.example.test";

struct Lab {
    pds: PdsLab,
    did: String,
    smtp: SmtpServers,
    dir: tempfile::TempDir,
    ca: TestCa,
    /// The test CA and the SMTP servers' CA in one bundle, for --ca-file.
    bundle: PathBuf,
    data: PathBuf,
}

fn zone(extra: &str) -> String {
    format!(
        "$ORIGIN example.test.\n$TTL 60\n@ IN SOA ns.example.test. admin.example.test. 1 3600 600 86400 60\n@ IN NS ns.example.test.\nns IN A 127.0.0.1\npds IN A 127.0.0.1\n*.pds IN A 127.0.0.1\n{extra}"
    )
}

/// The lab, its PDS running as the lab's pds.env says (invites required, 100 MiB uploads).
fn lab() -> Lab {
    lab_with(json!({
        "PDS_INVITE_REQUIRED": "true",
        "PDS_BLOB_UPLOAD_LIMIT": "104857600",
    }))
}

/// The lab with its PDS started with `env` over the lab's.
fn lab_with(env: Value) -> Lab {
    let mut pds_env = json!({
        "PDS_HOSTNAME": HOST,
        "PDS_SERVICE_HANDLE_DOMAINS": format!(".{HOST}"),
    });
    for (k, v) in env.as_object().unwrap() {
        pds_env[k] = v.clone();
    }
    let pds = PdsLab::start_with(pds_env);
    let did = pds.create_account(&format!("alice.{HOST}"));
    let smtp = SmtpServers::start();
    let dir = tempfile::tempdir().unwrap();
    let ca = make_ca(dir.path());
    let bundle = dir.path().join("bundle.pem");
    let mut pem = std::fs::read_to_string(&ca.ca).unwrap();
    pem.push_str(&std::fs::read_to_string(&smtp.ca).unwrap());
    std::fs::write(&bundle, pem).unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    Lab {
        pds,
        did,
        smtp,
        dir,
        ca,
        bundle,
        data,
    }
}

fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

impl Lab {
    /// A complete, correct pds.env for the lab (mode 0600); `edit` changes lines.
    fn env(&self, name: &str, edit: impl Fn(String) -> String) -> PathBuf {
        let text = format!(
            "PDS_HOSTNAME={HOST}\nPDS_PORT={port}\nPDS_JWT_SECRET={jwt}\nPDS_ADMIN_PASSWORD={admin}\nPDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX={key}\nPDS_DATA_DIRECTORY={data}\nPDS_BLOBSTORE_DISK_LOCATION={data}/blocks\nPDS_BLOB_UPLOAD_LIMIT=104857600\nPDS_DID_PLC_URL={plc}\nPDS_BSKY_APP_VIEW_URL=https://api.bsky.app\nPDS_BSKY_APP_VIEW_DID=did:web:api.bsky.app\nPDS_REPORT_SERVICE_URL=https://mod.bsky.app\nPDS_REPORT_SERVICE_DID=did:plc:ar7c4by46qjdydhdevvrndac\nPDS_CRAWLERS={crawler}\nPDS_SERVICE_HANDLE_DOMAINS=.{HOST}\nPDS_EMAIL_SMTP_URL=smtp://{user}:{pass}@localhost:{smtp}/?requireTLS=true\nPDS_EMAIL_FROM_ADDRESS=noreply@example.test\nLOG_ENABLED=true\n",
            port = self.pds.pds_port,
            jwt = "ab".repeat(16),
            admin = common::PDS_ADMIN,
            key = "11".repeat(32),
            data = self.data.display(),
            plc = self.pds.plc_url,
            // A relay stand-in that answers: the PLC directory.
            crawler = self.pds.plc_url,
            user = enc(USER),
            pass = enc(PASSWORD),
            smtp = self.smtp.starttls,
        );
        let path = self.dir.path().join(name);
        std::fs::write(&path, edit(text)).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        path
    }

    /// nginx serving the PDS with the config `proxy render` writes, plus `extra` servers.
    fn nginx(&self, cert: (&Path, &Path), edit: impl Fn(String) -> String) -> Nginx {
        let env = self.env("render.env", |t| t);
        let port = common::free_dual_port();
        let out = self.dir.path().join(format!("sites-{port}/pds.conf"));
        common::render_loopback_nginx(&env, &out, cert.0, cert.1, port);
        let conf = edit(std::fs::read_to_string(&out).unwrap());
        std::fs::write(&out, conf).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let ca = make_ca(dir.path());
        Nginx::start_in(dir, port, &ca, &format!("include {};\n", out.display()))
    }

    /// The global flags that send the wizard's checks to the lab: HTTPS to `nginx`, DNS to
    /// `dns`, the PDS at its local port, the lab's CA trusted.
    fn flags(&self, nginx: &Nginx, dns: &Nsd) -> Vec<String> {
        [
            "--timeout",
            "3",
            "--ca-file",
            self.bundle.to_str().unwrap(),
            "--connect-to",
            &nginx.addr().to_string(),
            "--nameserver",
            &dns.addr.to_string(),
            "--pds-url",
            &format!("http://127.0.0.1:{}", self.pds.pds_port),
        ]
        .map(String::from)
        .to_vec()
    }

    /// `pds-wizard handle check --json HANDLE [--did DID]` against the lab.
    fn handle_check(
        &self,
        env: &Path,
        nginx: &Nginx,
        dns: &Nsd,
        handle: &str,
        did: Option<&str>,
    ) -> Value {
        let mut args = self.flags(nginx, dns);
        args.extend(["--json", "handle", "check", handle].map(String::from));
        if let Some(d) = did {
            args.extend(["--did", d].map(String::from));
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = run_cli(env, &args, "");
        serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|_| panic!("handle check printed no JSON: {}", output_text(&o)))
    }

    /// `pds-wizard doctor --json` against the lab; (exit code, JSON, wall time).
    fn doctor(
        &self,
        env: &Path,
        nginx: &Nginx,
        dns: &Nsd,
        extra: &[&str],
    ) -> (i32, Value, Duration) {
        let mut args = self.flags(nginx, dns);
        args.extend(["--json", "doctor"].map(String::from));
        args.extend(extra.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let started = Instant::now();
        let o = run_cli(env, &args, "");
        let elapsed = started.elapsed();
        let v: Value = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|_| panic!("doctor printed no JSON: {}", output_text(&o)));
        (o.status.code().unwrap_or(-1), v, elapsed)
    }
}

/// Whether scripts/test runs the 0.5 line (the default) rather than 0.4 (PDS_LAB_VERSION).
fn lab_runs_05() -> bool {
    std::env::var("PDS_LAB_VERSION").map_or(true, |v| v != "0.4")
}

fn check<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name}"))
}

/// The check failed with a finding whose `what` holds `what` and whose fix holds `fix`.
fn assert_fails(v: &Value, name: &str, what: &str, fix: &str) {
    let c = check(v, name);
    assert_eq!(c["level"], "fail", "{name}: {c:#}");
    assert!(
        c["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["level"] == "fail"
                && f["what"].as_str().unwrap().contains(what)
                && f["fix"].as_str().unwrap_or("").contains(fix)),
        "{name}: no failure with {what:?} / {fix:?}: {c:#}"
    );
}

#[test]
fn a_healthy_lab_passes_and_each_fault_is_named_with_its_fix() {
    let lab = lab();
    let dns = Nsd::start("example.test", &zone(""));
    let good = (lab.ca.cert.as_path(), lab.ca.key.as_path());
    let nginx = lab.nginx(good, |c| c);
    let env = lab.env("pds.env", |t| t);

    // Healthy: every check passes (service: no unit here, which is information). The run
    // also writes the shareable report.
    let report = lab.dir.path().join("report.txt");
    let (code, v, elapsed) =
        lab.doctor(&env, &nginx, &dns, &["--report", report.to_str().unwrap()]);
    let text = std::fs::read_to_string(&report).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&report).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{text}");
    }
    let line = if lab_runs_05() {
        "pds: PDS 0.5."
    } else {
        "pds: PDS 0.4."
    };
    for want in [
        "pds-wizard doctor report",
        line,
        "wizard: pds-wizard ",
        "== summary",
        "[pass] the PDS answers locally",
        "alice.pds.example.test: verified",
        &format!("PDS_HOSTNAME={HOST}"),
        "PDS_ADMIN_PASSWORD=",
        "PDS_EMAIL_SMTP_URL=smtp://",
    ] {
        assert!(text.contains(want), "{want:?} not in the report:\n{text}");
    }
    // Every secret masked: the admin password, the JWT secret, the rotation key, the SMTP
    // password.
    for secret in [
        common::PDS_ADMIN,
        &"ab".repeat(16),
        &"11".repeat(32),
        &enc(PASSWORD),
    ] {
        assert!(!text.contains(secret), "{secret} in the report:\n{text}");
    }
    for c in v["checks"].as_array().unwrap() {
        if c["name"] == "backups" {
            // About this machine's systemd units, not the lab: no schedule here warns.
            assert!(
                c["findings"][0]["what"]
                    .as_str()
                    .unwrap()
                    .contains("backup"),
                "{c:#}"
            );
            continue;
        }
        if c["name"] == "disk" {
            // The one check about this machine rather than the lab: a nearly full CI disk
            // may rightly warn. It must still have measured.
            assert!(
                c["findings"][0]["what"]
                    .as_str()
                    .unwrap()
                    .contains("GiB free"),
                "{c:#}"
            );
            continue;
        }
        assert_eq!(c["level"], "pass", "{:#}", c);
    }
    // The machine's own checks decide the code: 0 only when both pass.
    let worst = ["disk", "backups"]
        .map(|n| match check(&v, n)["level"].as_str() {
            Some("pass") | Some("info") => 0,
            Some("warn") => 1,
            _ => 2,
        })
        .into_iter()
        .max()
        .unwrap();
    assert_eq!(code, worst);
    assert!(check(&v, "handles")["findings"][0]["what"]
        .as_str()
        .unwrap()
        .contains("alice.pds.example.test: verified"));
    assert!(check(&v, "email")["findings"][0]["what"]
        .as_str()
        .unwrap()
        .contains("no mail sent"));
    // The firehose through nginx: the replay from cursor 0 proves it at its first frame;
    // --watch-firehose watches the stream instead.
    let ws = check(&v, "websocket")["findings"][0]["what"]
        .as_str()
        .unwrap();
    assert!(ws.contains("replays events (first frame after"), "{ws}");
    let (_, w, _) = lab.doctor(
        &env,
        &nginx,
        &dns,
        &["--only", "websocket", "--watch-firehose", "1"],
    );
    let ws = check(&w, "websocket")["findings"][0]["what"]
        .as_str()
        .unwrap();
    assert!(ws.contains("stays open (1 s watched)"), "{ws}");
    // The version the PDS reports, decoded (the lab's package reports its own): the line
    // scripts/test chose (PDS_LAB_VERSION).
    let health = check(&v, "health")["findings"][0]["what"].as_str().unwrap();
    let line = if lab_runs_05() { "0.5" } else { "0.4" };
    assert!(health.contains(&format!("(PDS {line}.")), "{health}");
    // Advice by the decoded version: on 0.4.217 the first thing missing is the upload limit
    // in describeServer (the account page it has, since 0.4.124).
    let advice = check(&v, "health")["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["what"].as_str())
        .find(|w| w.contains("arrives with @atproto/pds"))
        .unwrap_or_default();
    assert_eq!(
        advice.starts_with("the upload limit in describeServer"),
        !lab_runs_05(),
        "{advice:?}"
    );
    // On both versions the OAuth check also loads the account page, through nginx.
    let account = check(&v, "oauth")["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["what"] == "/account is the PDS's account page");
    assert!(account, "{:#}", check(&v, "oauth"));
    assert_eq!(lab.smtp.mail_count(), 0, "the doctor sent mail");
    eprintln!(
        "healthy lab: {} checks in {elapsed:?}",
        v["checks"].as_array().unwrap().len()
    );

    // The env file readable by others.
    let loose = lab.env("loose.env", |t| t);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, v, _) = lab.doctor(&loose, &nginx, &dns, &["--only", "env"]);
    assert_eq!(code, 1, "warnings only: {v:#}");
    assert!(check(&v, "env")["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["what"].as_str().unwrap().contains("mode 0644")
            && f["fix"].as_str().unwrap().contains("chmod 600")));

    // A key only 0.5.26 and later read: named as ignored when the running PDS is older.
    let branded = lab.env("branded.env", |t| {
        t + "PDS_BACKGROUND_LIGHT_URL=https://example.test/bg.jpg\n"
    });
    let (_, v, _) = lab.doctor(&branded, &nginx, &dns, &["--only", "env"]);
    let named = check(&v, "env")["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| {
            f["what"]
                .as_str()
                .unwrap()
                .contains("read only from @atproto/pds 0.5.26; this PDS runs 0.4.217")
        });
    assert_eq!(named, !lab_runs_05(), "{:#}", check(&v, "env"));

    // An unencoded # in the SMTP password: the PDS would read a different password.
    let hash = lab.env("hash.env", |t| {
        t.replace(&format!(":{}@", enc(PASSWORD)), ":pa#ss@")
    });
    let (code, v, _) = lab.doctor(&hash, &nginx, &dns, &["--only", "email"]);
    assert_eq!(code, 2);
    assert_eq!(check(&v, "email")["level"], "fail", "{v:#}");
    assert!(
        check(&v, "email")["findings"].to_string().contains('#'),
        "{v:#}"
    );

    // The wrong SMTP password.
    let wrong = lab.env("wrong.env", |t| {
        t.replace(&format!(":{}@", enc(PASSWORD)), ":wrong-password@")
    });
    let (_, v, _) = lab.doctor(&wrong, &nginx, &dns, &["--only", "email"]);
    assert_fails(&v, "email", "login", "");

    // A crawler nobody answers for.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let crawler = lab.env("crawler.env", |t| {
        t.replace(
            &format!("PDS_CRAWLERS={}", lab.pds.plc_url),
            &format!("PDS_CRAWLERS=http://127.0.0.1:{dead}"),
        )
    });
    let (_, v, _) = lab.doctor(&crawler, &nginx, &dns, &["--only", "crawlers"]);
    assert_fails(&v, "crawlers", "cannot reach", "PDS_CRAWLERS");

    // A black hole (accepts, never answers) as the SMTP server: its check ends at the
    // timeout, and the whole report is not held up beyond it.
    let hole = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hole_port = hole.local_addr().unwrap().port();
    let holed = lab.env("hole.env", |t| {
        t.replace(
            &format!("localhost:{}", lab.smtp.starttls),
            &format!("localhost:{hole_port}"),
        )
    });
    let (_, v, elapsed) = lab.doctor(&holed, &nginx, &dns, &[]);
    assert_eq!(check(&v, "email")["level"], "fail");
    // --timeout 3: each check is bounded by 2 × 3 + 1 s; the rest are far quicker.
    assert!(
        elapsed < Duration::from_secs(9),
        "a black hole held the report for {elapsed:?}"
    );
    drop(hole);

    // The PDS down: health fails with the fix, and so do the checks that need it.
    let down = lab.env("down.env", |t| {
        t.replace(
            &format!("PDS_PORT={}", lab.pds.pds_port),
            &format!("PDS_PORT={dead}"),
        )
    });
    let addr = nginx.addr().to_string();
    let ns = dns.addr.to_string();
    let o = run_cli(
        &down,
        &[
            "--json",
            "--timeout",
            "3",
            "--connect-to",
            &addr,
            "--nameserver",
            &ns,
            "--ca-file",
            lab.bundle.to_str().unwrap(),
            "doctor",
            "--only",
            "health",
            "--only",
            "handles",
            "--only",
            "uploads",
        ],
        "",
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(o.status.code(), Some(2));
    // Nothing runs it here (no unit, no container): the fix is the Server step, not a
    // systemctl status of a unit that does not exist.
    assert_fails(
        &v,
        "health",
        "nothing answers",
        "nothing runs the PDS here yet",
    );
    // One root cause: the checks that need the PDS say so instead of failing too.
    for name in ["handles", "uploads"] {
        let c = check(&v, name);
        assert_eq!(c["level"], "info", "{c:#}");
        assert_eq!(c["not_checked"], "health", "{c:#}");
        assert!(
            c["findings"][0]["what"]
                .as_str()
                .unwrap()
                .starts_with("not checked: the PDS is not running"),
            "{c:#}"
        );
    }
    let problems = v["problems"].as_str().unwrap();
    assert!(
        problems.starts_with("1 problem: nothing answers"),
        "{problems}"
    );
}

#[test]
fn proxy_and_identity_faults() {
    let lab = lab();
    let dns = Nsd::start("example.test", &zone(""));
    let env = lab.env("pds.env", |t| t);
    let good = (lab.ca.cert.as_path(), lab.ca.key.as_path());

    // OAuth paths not proxied: a site that sends only /xrpc/ to the PDS.
    let nginx = lab.nginx(good, |c| {
        c.replacen("    location / {\n", "    location /xrpc/ {\n", 1) + ""
    });
    let (_, v, _) = lab.doctor(&env, &nginx, &dns, &["--only", "oauth"]);
    assert_fails(
        &v,
        "oauth",
        "oauth-protected-resource is not the PDS's answer",
        "proxy /.well-known/oauth-protected-resource",
    );
    drop(nginx);

    // The account page (0.4.124 and later: both lab versions serve it) kept by the site.
    let nginx = lab.nginx(good, |c| {
        c.replacen(
            "    location / {\n",
            "    location /account { return 404; }\n    location / {\n",
            1,
        )
    });
    let (_, v, _) = lab.doctor(&env, &nginx, &dns, &["--only", "oauth"]);
    assert_fails(
        &v,
        "oauth",
        "/account is not the PDS's account page (HTTP 404)",
        "proxy /account, /account/… and /.well-known/change-password",
    );
    drop(nginx);

    // The firehose's read timeout, from the configuration nginx serves (nginx -T): the
    // rendered 1 d passes; without it, nginx's 60 s default warns — which no first frame
    // shows. `proxy served` says the same, and names a lost Host header.
    // The websocket check, nginx's served config read from its own main file.
    let websocket = |nginx: &Nginx| {
        let conf = nginx.dir.path().join("nginx.conf");
        let conf = conf.to_str().unwrap();
        lab.doctor(
            &env,
            nginx,
            &dns,
            &["--only", "websocket", "--nginx-conf", conf],
        )
        .1
    };
    let nginx = lab.nginx(good, |c| c);
    let v = websocket(&nginx);
    assert_eq!(check(&v, "websocket")["level"], "pass", "{v:#}");
    assert!(
        v.to_string()
            .contains("nginx keeps a quiet firehose open 1 d"),
        "{v:#}"
    );
    drop(nginx);
    let nginx = lab.nginx(good, |c| {
        c.replace("proxy_read_timeout 1d;\n", "")
            .replace("proxy_set_header Host $host;\n", "")
    });
    let v = websocket(&nginx);
    let c = check(&v, "websocket");
    assert_eq!(c["level"], "warn", "{v:#}");
    assert!(
        c.to_string()
            .contains("nginx closes the firehose after 60 s without an event")
            && c.to_string().contains("proxy_read_timeout 1d"),
        "{c:#}"
    );
    let conf = nginx.dir.path().join("nginx.conf");
    let o = run_cli(
        &env,
        &["--nginx-conf", conf.to_str().unwrap(), "proxy", "served"],
        "",
    );
    let text = output_text(&o);
    assert_eq!(o.status.code(), Some(2), "{text}");
    assert!(
        text.contains("proxy_read_timeout 60 s (default), Host not set")
            && text.contains("nginx does not pass the Host header to the PDS for pds.example.test"),
        "{text}"
    );
    drop(nginx);

    // The websocket upgrade stripped by the proxy.
    let nginx = lab.nginx(good, |c| {
        c.replace("proxy_set_header Upgrade $http_upgrade;\n", "")
            .replace(
                "proxy_set_header Connection $pds_connection_pds_example_test;\n",
                "",
            )
    });
    let (_, v, _) = lab.doctor(&env, &nginx, &dns, &["--only", "websocket"]);
    assert_fails(
        &v,
        "websocket",
        "upgrade was refused",
        "proxy_set_header Upgrade",
    );
    drop(nginx);

    // A certificate for another name.
    let other = tempfile::tempdir().unwrap();
    let wrong = common::make_ca_for(other.path(), "DNS:other.test");
    let pem = format!(
        "{}{}",
        std::fs::read_to_string(&lab.bundle).unwrap(),
        std::fs::read_to_string(&wrong.ca).unwrap()
    );
    std::fs::write(&lab.bundle, pem).unwrap();
    let nginx = lab.nginx((wrong.cert.as_path(), wrong.key.as_path()), |c| c);
    let (_, v, _) = lab.doctor(&env, &nginx, &dns, &["--only", "https"]);
    assert_fails(&v, "https", "fails", "certificate for this exact name");
    drop(nginx);

    let nginx = lab.nginx(good, |c| c);
    // TXT with the wrong DID: resolvers believe DNS first, so HTTPS cannot rescue it.
    let wrong_did = Nsd::start(
        "example.test",
        &zone("_atproto.alice.pds IN TXT \"did=did:plc:aaaaaaaaaaaaaaaaaaaaaaaa\"\n"),
    );
    let (_, v, _) = lab.doctor(&env, &nginx, &wrong_did, &["--only", "handles"]);
    assert_fails(
        &v,
        "handles",
        "points to did:plc:aaaaaaaaaaaaaaaaaaaaaaaa",
        "handle check alice.pds.example.test",
    );
    drop(wrong_did);

    // Two did= records.
    let two = Nsd::start(
        "example.test",
        &zone(&format!("_atproto.alice.pds IN TXT \"did={}\"\n_atproto.alice.pds IN TXT \"did=did:plc:bbbbbbbbbbbbbbbbbbbbbbbb\"\n", lab.did)),
    );
    let (_, v, _) = lab.doctor(&env, &nginx, &two, &["--only", "handles"]);
    assert_fails(&v, "handles", "2 did= records", "");
    drop(two);

    // Issue 31 #14: the A record is right, a stale AAAA (a previous server's) is not: the
    // check names that address, where before it passed printing both.
    let (_, v, _) = lab.doctor(&env, &nginx, &dns, &["--only", "dns"]);
    assert_eq!(check(&v, "dns")["level"], "pass", "{v:#}");
    let stale = Nsd::start(
        "example.test",
        &zone(
            "pds IN AAAA 2a01:4f8::dead
",
        ),
    );
    let (_, v, _) = lab.doctor(&env, &nginx, &stale, &["--only", "dns"]);
    assert_fails(
        &v,
        "dns",
        "pds.example.test also points at 2a01:4f8::dead, which is not this server",
        "delete the record for 2a01:4f8::dead",
    );
    drop(stale);
    drop(nginx);

    // The atproto-did file answered with an HTML page (a site's catch-all).
    let nginx = lab.nginx(good, |c| {
        c.replace(
            "    location / {\n",
            "    location = /.well-known/atproto-did {\n        default_type text/html;\n        return 200 \"<html><body>Welcome</body></html>\";\n    }\n\n    location / {\n",
        )
    });
    let (_, v, _) = lab.doctor(&env, &nginx, &dns, &["--only", "handles"]);
    assert_fails(&v, "handles", "HTML", "");
    drop(nginx);

    // The proxy drops the Host header (nginx's default sends the upstream's address): the
    // PDS hosts alice but does not know the name it is asked for. Said as that, in the
    // doctor and in `handle check` alike — not "create the record".
    let nginx = lab.nginx(good, |c| c.replace("proxy_set_header Host $host;\n", ""));
    let (_, v, _) = lab.doctor(&env, &nginx, &dns, &["--only", "handles"]);
    assert_fails(
        &v,
        "handles",
        "the proxy does not pass the Host header",
        "proxy_set_header Host $host",
    );
    let r = lab.handle_check(&env, &nginx, &dns, &format!("alice.{HOST}"), None);
    assert_eq!(r["proxy_loses_pds"], true, "{r:#}");
    let notes = r["https"]["notes"].to_string();
    assert!(notes.contains("does not pass the Host header"), "{r:#}");
    assert!(!notes.contains("Create the record"), "{r:#}");
    drop(nginx);

    // A custom domain's atproto-did proxied to the PDS, which answers only for its own
    // handle domains: the fix is a file or the TXT record, never "proxy it to the PDS".
    let nginx = lab.nginx(good, |c| {
        c.replace("server_name ", "server_name bob.example.test ")
    });
    let r = lab.handle_check(&env, &nginx, &dns, "bob.example.test", Some(&lab.did));
    let https = r["https"].to_string();
    assert!(
        https.contains("is answered by the PDS, which does not serve bob.example.test"),
        "{r:#}"
    );
    assert!(https.contains("pds-wizard did-file write"), "{r:#}");
    assert!(
        !r["https"]["finding"]["fix"]
            .as_str()
            .unwrap()
            .contains("proxy /.well-known/atproto-did to the PDS"),
        "{r:#}"
    );
    assert_eq!(r["proxy_loses_pds"], false, "{r:#}");
}

#[test]
fn request_crawl_only_when_asked() {
    let lab = lab();
    let dns = Nsd::start("example.test", &zone(""));
    let nginx = lab.nginx((lab.ca.cert.as_path(), lab.ca.key.as_path()), |c| c);
    let (port, seen) = common::recording_http_server();
    let env = lab.env("relay.env", |t| {
        t.replace(
            &format!("PDS_CRAWLERS={}", lab.pds.plc_url),
            &format!("PDS_CRAWLERS=http://127.0.0.1:{port}"),
        )
    });
    let (code, v, _) = lab.doctor(&env, &nginx, &dns, &["--only", "crawlers"]);
    assert_eq!(code, 0, "{v:#}");
    assert!(
        seen.lock()
            .unwrap()
            .iter()
            .all(|r| r.starts_with("GET /xrpc/_health")),
        "{:?}",
        seen.lock().unwrap()
    );
    let (code, v, _) = lab.doctor(
        &env,
        &nginx,
        &dns,
        &["--only", "crawlers", "--request-crawl"],
    );
    assert_eq!(code, 0, "{v:#}");
    assert!(
        check(&v, "crawlers")["findings"]
            .to_string()
            .contains("accepted the crawl request for pds.example.test"),
        "{v:#}"
    );
    let seen = seen.lock().unwrap();
    let post = seen
        .iter()
        .find(|r| r.starts_with("POST /xrpc/com.atproto.sync.requestCrawl"))
        .expect("a crawl request");
    assert!(
        post.ends_with(r#"{"hostname":"pds.example.test"}"#),
        "{post}"
    );
}

/// Sign-up and the upload limit judged against the running PDS, not only pds.env: a PDS
/// still running with open sign-up and the 5 MiB default after pds.env changed, and a
/// proxy whose body limit cuts uploads first.
#[test]
fn sign_up_and_uploads_are_judged_live() {
    let lab = lab_with(json!({ "PDS_INVITE_REQUIRED": "false" }));
    let dns = Nsd::start("example.test", &zone(""));
    let good = (lab.ca.cert.as_path(), lab.ca.key.as_path());
    let nginx = lab.nginx(good, |c| c);
    // pds.env requires invites (unset) and says 100 MiB; the PDS runs with neither.
    let env = lab.env("pds.env", |t| t);
    let (_, v, _) = lab.doctor(
        &env,
        &nginx,
        &dns,
        &["--only", "signup", "--only", "uploads"],
    );
    let signup = &check(&v, "signup")["findings"][0];
    assert_eq!(signup["level"], "warn", "{signup:#}");
    assert!(
        signup["what"]
            .as_str()
            .unwrap()
            .starts_with("the running PDS lets anyone create an account"),
        "{signup:#}"
    );
    assert!(
        signup["why"]
            .as_str()
            .unwrap()
            .contains("has not been restarted"),
        "{signup:#}"
    );
    // pds.env is right already: the fix is the restart, not "set PDS_INVITE_REQUIRED".
    let fix = signup["fix"].as_str().unwrap();
    assert!(
        fix.starts_with("pds.env already requires invites: restart the PDS")
            && !fix.contains("PDS_INVITE_REQUIRED=true"),
        "{signup:#}"
    );
    assert_eq!(signup["target"], "service", "{signup:#}");
    let uploads: Vec<&str> = check(&v, "uploads")["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["what"].as_str().unwrap())
        .collect();
    if lab_runs_05() {
        // describeServer reports the limit (0.5.22 and later).
        assert!(
            uploads.contains(&"the running PDS takes uploads up to 5 MiB, pds.env says 100 MiB"),
            "{uploads:#?}"
        );
        assert!(
            uploads
                .iter()
                .any(|w| w.starts_with("uploads up to 5 MiB (describeServer)")),
            "{uploads:#?}"
        );
    } else {
        assert!(
            uploads
                .iter()
                .any(|w| w.starts_with("uploads up to 100 MiB (PDS_BLOB_UPLOAD_LIMIT)")),
            "{uploads:#?}"
        );
    }
    // The env check leaves sign-up to the signup check (one finding for one cause).
    let open = lab.env("open.env", |t| t + "PDS_INVITE_REQUIRED=false\n");
    let (_, v, _) = lab.doctor(&open, &nginx, &dns, &["--only", "env", "--only", "signup"]);
    assert!(
        !check(&v, "env")["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["what"].as_str().unwrap().contains("anyone can create")),
        "{:#}",
        check(&v, "env")
    );
    assert!(!check(&v, "signup")["findings"][0]["why"]
        .as_str()
        .unwrap()
        .contains("restarted"));
    drop(nginx);

    // nginx's own 1 MiB default in front: the proxy cuts uploads before the PDS does.
    let nginx = lab.nginx(good, |c| {
        c.replace(
            "client_max_body_size 104857600;",
            "client_max_body_size 1m;",
        )
    });
    let (_, v, _) = lab.doctor(&env, &nginx, &dns, &["--only", "uploads"]);
    assert_fails(
        &v,
        "uploads",
        "the proxy refuses an upload of",
        "client_max_body_size",
    );
}

/// Accounts as a relay sees them: one throttled (past the relay's limit for a new host,
/// which counts 101 here), one it never saw, one active. The throttled one fails with the
/// request to send, numbers filled in.
#[test]
fn throttled_accounts_are_named_with_the_request_to_send() {
    let lab = lab();
    let dns = Nsd::start("example.test", &zone(""));
    let nginx = lab.nginx((lab.ca.cert.as_path(), lab.ca.key.as_path()), |c| c);
    let bob = lab.pds.create_account(&format!("bob.{HOST}"));
    let _carol = lab.pds.create_account(&format!("carol.{HOST}"));
    let relay = common::Relay::start_with(
        HOST,
        1,
        "active",
        &[
            (
                "RELAY_REPOS",
                json!({ lab.did.as_str(): "active", bob.as_str(): "throttled" }).to_string(),
            ),
            ("RELAY_ACCOUNT_COUNT", "101".into()),
        ],
    );
    let env = lab.env("relay.env", |t| {
        t.replace(
            &format!("PDS_CRAWLERS={}", lab.pds.plc_url),
            &format!("PDS_CRAWLERS={}", relay.url),
        ) + "PDS_CONTACT_EMAIL_ADDRESS=admin@example.test\n"
    });
    let (code, v, _) = lab.doctor(&env, &nginx, &dns, &["--only", "relay-accounts"]);
    assert_eq!(code, 2, "{v:#}");
    let u = &relay.url;
    assert_fails(
        &v,
        "relay-accounts",
        &format!("{u} throttles 1 of 3 accounts: bob.{HOST}"),
        &format!("It hosts 3 accounts ({u} counts 101), and 1 of them are throttled, so their posts do not appear. The limit for a new host is 100. Please raise the account limit for {HOST} to 200. You can reach me at admin@example.test."),
    );
    let findings = check(&v, "relay-accounts")["findings"].to_string();
    assert!(
        findings.contains(&format!("{u} has not seen 1 accounts: carol.{HOST}")),
        "{findings}"
    );
    // The cause, as data for scripts (the same as `relay repair --json` says).
    let throttled = check(&v, "relay-accounts")["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["what"].as_str().unwrap_or("").contains("throttles"))
        .cloned()
        .unwrap();
    assert_eq!(
        throttled["data"]["cause"]["cause"], "throttled",
        "{throttled}"
    );
    assert_eq!(
        throttled["data"]["cause"]["accounts"][0],
        format!("bob.{HOST}"),
        "{throttled}"
    );
    // The lab's usual crawler (the PLC directory) has no getRepoStatus: said, not failed.
    let env = lab.env("pds.env", |t| t);
    let (_, v, _) = lab.doctor(&env, &nginx, &dns, &["--only", "relay-accounts"]);
    assert_eq!(check(&v, "relay-accounts")["level"], "pass", "{v:#}");
}

/// The wizard in a pseudo-terminal (80x24) on `env`, its checks sent to the lab: HTTPS to
/// `nginx`, DNS to `dns`, the PDS at its local port.
fn wizard(lab: &Lab, env: &Path, nginx: &Nginx, dns: &Nsd) -> common::pty::Session {
    let mut cmd = portable_pty::CommandBuilder::new(env!("CARGO_BIN_EXE_pds-wizard"));
    cmd.args(["--env-file", env.to_str().unwrap()]);
    cmd.args(lab.flags(nginx, dns));
    cmd.cwd(lab.dir.path());
    cmd.env("TERM", "xterm-256color");
    cmd.env("XDG_STATE_HOME", lab.dir.path().join("state"));
    common::pty::Session::start(cmd, 24, 80)
}

/// JOURNEY_SCREENS=1 prints the screen at each stage.
fn show(s: &common::pty::Session, at: &str) {
    if std::env::var_os("JOURNEY_SCREENS").is_some() {
        eprintln!("--- {at}\n{}", s.screen());
    }
}

/// From the step list: open the Doctor (the last step) and wait for its results.
fn open_doctor(s: &mut common::pty::Session) {
    s.wait_text("Steps");
    s.send("\x1b[A"); // Up wraps to the Doctor
    std::thread::sleep(Duration::from_millis(100));
    s.send("\r");
    // The run's end is said on the status line (after the last row fills in): a key sent
    // before it would have its own status overwritten.
    s.wait_for_within("the doctor's results", Duration::from_secs(60), |s| {
        let t = s.screen();
        t.contains(" passed, ")
            && !t.contains("running…")
            && ["The doctor found", "Every doctor check passed"]
                .iter()
                .any(|end| t.contains(end))
    });
}

/// The wizard on `env`: its Doctor run, the failing check `title` chosen, and Enter, which
/// must land on `step`.
fn land(
    lab: &Lab,
    env: &Path,
    nginx: &Nginx,
    dns: &Nsd,
    title: &str,
    step: &str,
) -> common::pty::Session {
    let mut s = wizard(lab, env, nginx, dns);
    open_doctor(&mut s);
    choose(&mut s, title);
    assert!(s.screen().contains(&format!("✗ {title}")), "{}", s.screen());
    show(&s, &format!("{title}: the doctor"));
    s.send("\r");
    s.wait_text(&format!("┌ {step}"));
    // The step's title is drawn before the rest of its frame (the status line last): read
    // the screen once it has stopped changing.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let before = s.screen();
        std::thread::sleep(Duration::from_millis(150));
        if s.screen() == before || std::time::Instant::now() > deadline {
            break;
        }
    }
    show(&s, &format!("{title}: landed"));
    s
}

fn quit(mut s: common::pty::Session) {
    let _ = s.child.kill();
    let _ = s.child.wait();
}

/// Move the doctor's choice to the check titled `title`.
fn choose(s: &mut common::pty::Session, title: &str) {
    for _ in 0..=pds_wizard::doctor::CHECKS.len() {
        if s.screen()
            .lines()
            .any(|l| l.contains('›') && l.contains(title))
        {
            return;
        }
        s.send("\x1b[B");
        std::thread::sleep(Duration::from_millis(120));
    }
    panic!("{title} cannot be chosen:\n{}", s.screen());
}

/// pds.env's relay (PDS_CRAWLERS) and AppView pointed at the stand-in on `port`: nothing
/// leaves the machine.
fn with_relay(text: String, port: u16) -> String {
    let mut text = text;
    for key in ["PDS_CRAWLERS", "PDS_BSKY_APP_VIEW_URL"] {
        let from = text
            .lines()
            .find(|l| l.starts_with(&format!("{key}=")))
            .unwrap()
            .to_string();
        text = text.replace(&from, &format!("{key}=http://127.0.0.1:{port}"));
    }
    text
}

fn identity_events(lab: &Lab) -> i64 {
    let db = rusqlite::Connection::open_with_flags(
        lab.pds.data_dir().join("sequencer.sqlite"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    db.query_row(
        "SELECT count(*) FROM repo_seq WHERE eventType = 'identity' AND did = ?1",
        [&lab.did],
        |r| r.get(0),
    )
    .unwrap()
}

/// Guided troubleshooting, one journey per symptom, keystroke by keystroke against the
/// lab (the real PDS and PLC, NSD, nginx with the rendered config): the doctor names the
/// problem, Enter lands on its fix, and the fix turns it green. One lab for all four; the
/// last journey stops its PDS.
#[test]
fn journeys_from_a_symptom_to_its_fix() {
    let mut lab = lab();
    let (relay_port, crawls) = common::recording_http_server();
    let good = (lab.ca.cert.as_path(), lab.ca.key.as_path());
    let nginx = lab.nginx(good, |c| c);
    let handle = format!("alice.{HOST}");

    // 1. A space after the comma in PDS_SERVICE_HANDLE_DOMAINS: Enter lands in Basics on
    //    that field; the fix is typed there, saved, and the doctor passes pds.env.
    {
        let dns = Nsd::start("example.test", &zone(""));
        let env = lab.env("spaced.env", |t| {
            t.replace(
                &format!("PDS_SERVICE_HANDLE_DOMAINS=.{HOST}\n"),
                &format!("PDS_SERVICE_HANDLE_DOMAINS=.{HOST}, .example.test\n"),
            )
        });
        let mut s = land(
            &lab,
            &env,
            &nginx,
            &dns,
            "pds.env: keys, values, readers, mode",
            "Basics",
        );
        let screen = s.screen();
        assert!(
            screen.contains("Doctor: PDS_SERVICE_HANDLE_DOMAINS"),
            "{screen}"
        );
        // The cursor is on that field: what is typed replaces its value.
        s.send("\x15"); // Ctrl-U
        s.send(&format!(".{HOST},.example.test"));
        s.wait_text(&format!(".{HOST},.example.test"));
        s.send("\x13"); // Ctrl-S: review
        s.wait_text("Enter writes the file");
        s.send("\r");
        s.wait_text("Saved");
        let text = std::fs::read_to_string(&env).unwrap();
        assert!(
            text.contains(&format!(
                "PDS_SERVICE_HANDLE_DOMAINS=.{HOST},.example.test\n"
            )),
            "{text}"
        );
        // Back to the doctor (after Review & save), which checks again.
        s.send("\x1b");
        std::thread::sleep(Duration::from_millis(100));
        s.send("\x1b[B");
        std::thread::sleep(Duration::from_millis(100));
        s.send("\r");
        s.wait_text("┌ Doctor");
        s.send("R");
        s.wait_for_within("pds.env passing", Duration::from_secs(60), |s| {
            s.screen()
                .contains("✓ pds.env: keys, values, readers, mode")
        });
        show(&s, "space: fixed");
        quit(s);
    }

    // 2. OAuth paths missing from the proxy (a site that sends only /xrpc/ to the PDS):
    //    Enter lands on the Reverse proxy step, which says what was found and the fix.
    {
        let dns = Nsd::start("example.test", &zone(""));
        let xrpc_only = lab.nginx(good, |c| {
            c.replacen("    location / {\n", "    location /xrpc/ {\n", 1)
        });
        let env = lab.env("oauth.env", |t| t);
        let s = land(
            &lab,
            &env,
            &xrpc_only,
            &dns,
            "OAuth paths reach the PDS",
            "Reverse proxy",
        );
        let screen = s.screen();
        assert!(screen.contains("Doctor: "), "{screen}");
        assert!(screen.contains("oauth-protected-resource"), "{screen}");
        assert!(screen.contains("Fix: "), "{screen}");
        quit(s);
    }

    // 3. "Invalid Handle" from a wrong TXT record (pasted from another account): Enter lands
    //    on Handle & DNS with alice loaded and checked; the zone is fixed; the check turns
    //    green; the wizard offers to announce the handle, and the PDS emits the identity
    //    event and the relay in PDS_CRAWLERS is asked to crawl.
    {
        let wrong = "_atproto.alice.pds IN TXT \"did=did:plc:aaaaaaaaaaaaaaaaaaaaaaaa\"\n";
        let dns = Nsd::start("example.test", &zone(wrong));
        let env = lab.env("handle.env", |t| with_relay(t, relay_port));
        let mut s = land(
            &lab,
            &env,
            &nginx,
            &dns,
            "handles and DID documents",
            "Handle & DNS",
        );
        s.wait_for_within("alice checked", Duration::from_secs(30), |s| {
            s.screen().contains("Not verified")
        });
        show(&s, "handle: landed");
        let screen = s.screen();
        assert!(screen.contains(&handle), "{screen}");
        assert!(screen.contains(&lab.did[..20]), "{screen}");
        // The operator fixes the record at the DNS host, then checks again.
        dns.set_zone(&zone(""));
        let before = identity_events(&lab);
        s.send("\x14"); // Ctrl-T
        s.wait_for_within("the offer to announce", Duration::from_secs(30), |s| {
            s.screen().contains("Announce the handle?")
        });
        show(&s, "handle: verified, offer");
        s.send("y");
        s.wait_for_within("the announcement", Duration::from_secs(30), |s| {
            s.screen().contains("announced")
        });
        show(&s, "handle: announced");
        // What the AppView (here the stand-in) says of the handle, asked after the event.
        s.wait_text("gave no DID for");
        assert_eq!(identity_events(&lab), before + 1);
        let asked = crawls.lock().unwrap().join("\n");
        assert!(
            asked.contains("POST /xrpc/com.atproto.sync.requestCrawl")
                && asked.contains(&format!(r#"{{"hostname":"{HOST}"}}"#)),
            "{asked}"
        );
        quit(s);
    }

    // 4. The PDS stopped: one root cause, named once; the checks that need the PDS are "not
    //    checked", and Enter on one goes to the check that says why.
    {
        lab.pds.stop();
        let dns = Nsd::start("example.test", &zone(""));
        // The relay stand-in, not the lab's PLC directory (which stopped with the PDS).
        let env = lab.env("stopped.env", |t| with_relay(t, relay_port));
        let mut s = wizard(&lab, &env, &nginx, &dns);
        open_doctor(&mut s);
        show(&s, "stopped: doctor");
        let screen = s.screen();
        assert!(
            screen.contains("1 problem: nothing answers at") && screen.contains("5 not checked"),
            "{screen}"
        );
        choose(&mut s, "OAuth paths reach the PDS");
        s.wait_text("not checked: the PDS is not running");
        s.send("\r");
        s.wait_for("the root cause chosen", |s| {
            s.screen()
                .lines()
                .any(|l| l.contains('›') && l.contains("the PDS answers locally"))
        });
        show(&s, "stopped: root cause");
        assert!(
            s.screen().contains("Fix: nothing runs the PDS here yet")
                && s.screen().contains("Enter: fix it in Server"),
            "{}",
            s.screen()
        );
        quit(s);
    }
}

/// A PDS that listens on every address answers plain HTTP past the proxy (unless a
/// firewall closes its port): the health check warns, naming the address. In a network
/// namespace of the test's own, so the listener on 0.0.0.0 reaches nothing else.
#[test]
fn a_pds_port_open_to_other_machines_warns() {
    if !common::private_network() {
        eprintln!("not root: needs a private network namespace to listen on 0.0.0.0; skipped");
        return;
    }
    // A stand-in PDS: it answers /xrpc/_health as the PDS does.
    let serve = |bind: &str| -> u16 {
        let l = std::net::TcpListener::bind(bind).unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            use std::io::{Read, Write};
            for mut s in l.incoming().flatten() {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                let body = r#"{"version":"0.4.5035"}"#;
                let _ = write!(
                    s,
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        port
    };
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join("pds.env");
    std::fs::write(&env, format!("PDS_HOSTNAME={HOST}\nPDS_ADMIN_PASSWORD=x\n")).unwrap();
    let health = |port: u16| -> Value {
        let o = run_cli(
            &env,
            &[
                "--json",
                "--timeout",
                "2",
                "--pds-url",
                &format!("http://127.0.0.1:{port}"),
                "doctor",
                "--only",
                "health",
            ],
            "",
        );
        serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}", output_text(&o)))
    };
    let open = serve("0.0.0.0:0");
    let v = health(open);
    let c = check(&v, "health");
    assert_eq!(c["level"], "warn", "{c:#}");
    let text = c.to_string();
    assert!(
        text.contains(&format!("the PDS's port {open} listens on 0.0.0.0:{open}"))
            && text.contains(&format!("ufw deny {open}/tcp")),
        "{c:#}"
    );
    // On loopback only: said, and passing.
    let closed = serve("127.0.0.1:0");
    let v = health(closed);
    let c = check(&v, "health");
    assert_eq!(c["level"], "pass", "{c:#}");
    assert!(
        c.to_string()
            .contains(&format!("the PDS's port {closed} listens on loopback only")),
        "{c:#}"
    );
}

/// The header lines of an HTTPS GET of `path` through `nginx` for the PDS's name, with
/// the client's X-Forwarded-For set to `client` (curl, as any client).
fn through_proxy(lab: &Lab, nginx: &Nginx, path: &str, client: &str) -> String {
    let o = std::process::Command::new("curl")
        .args([
            "-s",
            "-m",
            "5",
            "-o",
            "/dev/null",
            "-D",
            "-",
            "--cacert",
            lab.bundle.to_str().unwrap(),
            "--resolve",
            &format!("{HOST}:{}:127.0.0.1", nginx.port),
            "-H",
            &format!("X-Forwarded-For: {client}"),
            &format!("https://{HOST}:{}{path}", nginx.port),
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).to_ascii_lowercase()
}

fn remaining(headers: &str) -> Option<u64> {
    headers
        .lines()
        .find_map(|l| l.strip_prefix("ratelimit-remaining:"))
        .and_then(|v| v.trim().parse().ok())
}

/// A proxy that reaches the PDS from an address the PDS does not trust for X-Forwarded-For
/// (here 100.64.0.1, Tailscale's range, in a network namespace of the test's own): the real
/// PDS, rate limits on, then counts two different clients against one limit — and the
/// doctor's websocket check says so, with the fix; from loopback each client has its own.
#[test]
fn a_proxy_the_pds_does_not_trust_for_forwarding_warns() {
    if !common::private_network() {
        eprintln!("not root: needs a private network namespace for a 100.64/10 address; skipped");
        return;
    }
    assert!(std::process::Command::new("ip")
        .args(["addr", "add", "100.64.0.1/32", "dev", "lo"])
        .status()
        .unwrap()
        .success());
    let lab = lab_with(json!({ "PDS_RATE_LIMITS_ENABLED": "true" }));
    let dns = Nsd::start("example.test", &zone(""));
    let good = (lab.ca.cert.as_path(), lab.ca.key.as_path());
    let env = lab.env("limits.env", |t| t + "PDS_RATE_LIMITS_ENABLED=true\n");
    let path = "/xrpc/com.atproto.server.describeServer";

    // From loopback (trusted): two clients, two limits — the second starts full as well.
    let nginx = lab.nginx(good, |c| c);
    let a = remaining(&through_proxy(&lab, &nginx, path, "198.51.100.1")).unwrap();
    let b = remaining(&through_proxy(&lab, &nginx, path, "198.51.100.2")).unwrap();
    assert_eq!(a, b, "each client has its own limit behind a trusted proxy");
    let (_, v, _) = lab.doctor(&env, &nginx, &dns, &["--only", "websocket"]);
    let c = check(&v, "websocket");
    assert_eq!(c["level"], "pass", "{c:#}");
    assert!(
        c.to_string()
            .contains("the proxy reaches the PDS from 127.0.0.1, which the PDS trusts"),
        "{c:#}"
    );
    drop(nginx);

    // From 100.64.0.1: the PDS sees every client as the proxy — one shared limit.
    let nginx = lab.nginx(good, |c| {
        c.replace(
            "proxy_http_version 1.1;\n",
            "proxy_http_version 1.1;\nproxy_bind 100.64.0.1;\n",
        )
    });
    let a = remaining(&through_proxy(&lab, &nginx, path, "198.51.100.3")).unwrap();
    let b = remaining(&through_proxy(&lab, &nginx, path, "198.51.100.4")).unwrap();
    assert_eq!(
        b + 1,
        a,
        "two clients share one limit behind an untrusted proxy"
    );
    let (_, v, _) = lab.doctor(&env, &nginx, &dns, &["--only", "websocket"]);
    let c = check(&v, "websocket");
    assert_eq!(c["level"], "warn", "{c:#}");
    let text = c.to_string();
    assert!(
        text.contains("the proxy reaches the PDS from 100.64.0.1, an address the PDS does not trust for X-Forwarded-For")
            && text.contains("PDS_RATE_LIMIT_BYPASS_IPS"),
        "{c:#}"
    );
    // Listed to bypass, it is trusted.
    let listed = lab.env("listed.env", |t| {
        t + "PDS_RATE_LIMITS_ENABLED=true\nPDS_RATE_LIMIT_BYPASS_IPS=100.64.0.1\n"
    });
    let (_, v, _) = lab.doctor(&listed, &nginx, &dns, &["--only", "websocket"]);
    assert_eq!(check(&v, "websocket")["level"], "pass", "{v:#}");
}

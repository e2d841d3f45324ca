//! The rendered proxy configs, run by real nginx, Caddy and (when installed) Traefik in front
//! of the real PDS from npm, all on 127.0.0.1 with a test CA (LAB.md). Everything is rendered
//! by the real binary (`proxy render … --out`), exactly as an operator would.

mod common;

use common::{make_ca, output_text, run_cli, Caddy, Nginx, PdsLab, TestCa};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const HOST: &str = "pds.example.test";
const LIMIT: usize = 2 * 1024 * 1024;
const SITE_PAGE: &str = "the site's own front page\n";

/// The PDS as pds.example.test with handles under it, one account, and pds.env to match.
struct Stage {
    lab: PdsLab,
    did: String,
    jwt: String,
    dir: tempfile::TempDir,
    ca: TestCa,
    env: PathBuf,
}

fn stage() -> Stage {
    let lab = PdsLab::start_with(json!({
        "PDS_HOSTNAME": HOST,
        "PDS_SERVICE_HANDLE_DOMAINS": format!(".{HOST}"),
        "PDS_BLOB_UPLOAD_LIMIT": LIMIT.to_string(),
    }));
    let session = lab.create_session(&format!("alice.{HOST}"));
    let dir = tempfile::tempdir().unwrap();
    let ca = make_ca(dir.path());
    let env = dir.path().join("pds.env");
    std::fs::write(
        &env,
        format!(
            "PDS_HOSTNAME={HOST}\nPDS_PORT={}\nPDS_BLOB_UPLOAD_LIMIT={LIMIT}\nPDS_SERVICE_HANDLE_DOMAINS=.{HOST}\n",
            lab.pds_port
        ),
    )
    .unwrap();
    // An existing website that shares a domain with the PDS or a handle.
    let site = dir.path().join("site");
    std::fs::create_dir_all(&site).unwrap();
    std::fs::write(site.join("index.html"), SITE_PAGE).unwrap();
    std::fs::write(site.join("about.html"), "about us\n").unwrap();
    Stage {
        did: session["did"].as_str().unwrap().to_string(),
        jwt: session["accessJwt"].as_str().unwrap().to_string(),
        lab,
        dir,
        ca,
        env,
    }
}

impl Stage {
    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    /// `pds-wizard proxy render SERVER … --out DIR/OUT`; every file it wrote, by name.
    fn render(&self, server: &str, out: &str, port: u16, extra: &[String]) -> Vec<PathBuf> {
        let out = self.path(out);
        std::fs::create_dir_all(out.parent().unwrap()).unwrap();
        let mut args: Vec<String> = [
            "proxy",
            "render",
            server,
            "--tls",
            "files",
            "--listen",
            "127.0.0.1",
            "--http-port",
            "off",
        ]
        .map(String::from)
        .to_vec();
        args.extend([
            "--cert".into(),
            self.ca.cert.display().to_string(),
            "--key".into(),
            self.ca.key.display().to_string(),
            "--https-port".into(),
            port.to_string(),
            "--out".into(),
            out.display().to_string(),
        ]);
        args.extend(extra.iter().cloned());
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = run_cli(&self.env, &a, "");
        let text = output_text(&o);
        assert!(o.status.success(), "{a:?}\n{text}");
        // The server's own check ran (all three are installed by scripts/test) and passed.
        assert!(
            text.contains("[pass]") && text.contains("accepts the configuration")
                || text.contains("loads the configuration"),
            "{text}"
        );
        let dir = out.parent().unwrap();
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        files
    }

    /// The atproto-did files for the handle-only domains, written by the real binary.
    fn did_file(&self, handle: &str, webroot: &str) {
        let root = self.path(webroot);
        std::fs::create_dir_all(&root).unwrap();
        let o = run_cli(
            &self.env,
            &[
                "did-file",
                "write",
                handle,
                "--did",
                &self.did,
                "--webroot",
                root.to_str().unwrap(),
            ],
            "",
        );
        assert!(o.status.success(), "{}", output_text(&o));
    }
}

const NAMES: [&str; 5] = [
    HOST,
    "alice.pds.example.test",
    "nobody.pds.example.test",
    "alice.test",
    "example.test",
];

fn client(port: u16, ca: &Path) -> reqwest::Client {
    let pem = std::fs::read(ca).unwrap();
    let mut b = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .tls_certs_merge([reqwest::Certificate::from_pem(&pem).unwrap()]);
    for n in NAMES {
        b = b.resolve(n, ([127, 0, 0, 1], port).into());
    }
    b.build().unwrap()
}

async fn get(c: &reqwest::Client, port: u16, host: &str, path: &str) -> (u16, String, String) {
    let r = c
        .get(format!("https://{host}:{port}{path}"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {host}{path}: {}", pds_wizard::http::chain(&e)));
    answer(r).await
}

/// Status, body and Location of a response.
async fn answer(r: reqwest::Response) -> (u16, String, String) {
    let status = r.status().as_u16();
    let location = r
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, r.text().await.unwrap(), location)
}

async fn direct(s: &Stage, path: &str) -> (u16, String) {
    let r = reqwest::get(format!("http://127.0.0.1:{}{path}", s.lab.pds_port))
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// A real websocket handshake for the firehose through the proxy (curl), replaying from
/// cursor 0: it must upgrade, carry frames, and stay open until curl gives up.
fn firehose(port: u16, ca: &Path) {
    let o = common::websocket_get(
        ca,
        &format!("https://{HOST}:{port}/xrpc/com.atproto.sync.subscribeRepos?cursor=0"),
        &["--resolve", &format!("{HOST}:{port}:127.0.0.1")],
    );
    let out = o.stdout;
    let head_end = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head: {}", String::from_utf8_lossy(&out)));
    let head = String::from_utf8_lossy(&out[..head_end]);
    assert!(
        head.starts_with("HTTP/1.1 101"),
        "no upgrade through the proxy:\n{head}"
    );
    // curl's exit 28: the time limit, i.e. the connection stayed open.
    assert_eq!(
        o.status.code(),
        Some(28),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        out.len() - head_end - 4 > 100,
        "no frames came through: {} bytes",
        out.len() - head_end - 4
    );
}

/// Everything the PDS needs from a proxy, checked through it. `shared_host`: the PDS
/// hostname is an existing site's, which keeps `/` and its own pages.
async fn assert_pds_through(s: &Stage, port: u16, shared_host: bool) {
    let c = client(port, &s.ca.ca);
    let (st, body, _) = get(&c, port, HOST, "/xrpc/_health").await;
    assert_eq!((st, body), (200, direct(s, "/xrpc/_health").await.1));
    let (st, body, _) = get(&c, port, HOST, "/xrpc/com.atproto.server.describeServer").await;
    assert_eq!(st, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["did"],
        format!("did:web:{HOST}")
    );
    for path in [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-authorization-server",
        "/oauth/jwks",
    ] {
        let (st, body, _) = get(&c, port, HOST, path).await;
        let (dst, dbody) = direct(s, path).await;
        assert_eq!((st, dst), (200, 200), "{path}: {body}");
        assert_eq!(
            serde_json::from_str::<Value>(&body).unwrap(),
            serde_json::from_str::<Value>(&dbody).unwrap(),
            "{path} is not the PDS's own answer"
        );
    }
    // The OAuth pages' assets under /@atproto/.
    let (_, page) = direct(s, "/oauth/authorize").await;
    let start = page
        .find("/@atproto/")
        .expect("the authorize page names its assets");
    let asset = &page[start..start + page[start..].find('"').unwrap()];
    let (st, body, _) = get(&c, port, HOST, asset).await;
    assert_eq!(st, 200, "{asset}");
    assert_eq!(body, direct(s, asset).await.1);
    // The account page (0.5 and later) and its change-password link reach the PDS, also
    // when the site keeps every other path: the PDS's own answer, whatever it is.
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for path in [
        "/account",
        "/account/sign-in",
        "/.well-known/change-password",
    ] {
        let through = get(&c, port, HOST, path).await;
        let r = plain
            .get(format!("http://127.0.0.1:{}{path}", s.lab.pds_port))
            .header("host", HOST)
            .send()
            .await
            .unwrap();
        assert_eq!(
            through,
            answer(r).await,
            "{path} is not the PDS's own answer"
        );
    }
    // On 0.5 and later, the account page as a browser loads it (a page navigation; the PDS
    // answers other fetches with 400): the PDS's page, and the script it names loads too.
    if std::env::var("PDS_LAB_VERSION").map_or(true, |v| v != "0.4") {
        let r = c
            .get(format!("https://{HOST}:{port}/account"))
            .header("accept", "text/html")
            .header("sec-fetch-mode", "navigate")
            .header("sec-fetch-dest", "document")
            .header("sec-fetch-site", "none")
            .send()
            .await
            .unwrap();
        let (st, page, _) = answer(r).await;
        assert_eq!(st, 200, "/account: {page}");
        let start = page
            .find("/@atproto/oauth-provider/~assets/")
            .expect("the account page names its assets");
        let asset = &page[start..start + page[start..].find('"').unwrap()];
        let (st, body, _) = get(&c, port, HOST, asset).await;
        assert_eq!(st, 200, "{asset}");
        assert_eq!(body, direct(s, asset).await.1, "{asset}");
    }
    // Handles under the PDS: answered by the PDS from the Host header.
    let (st, body, _) = get(
        &c,
        port,
        "alice.pds.example.test",
        "/.well-known/atproto-did",
    )
    .await;
    assert_eq!((st, body.trim()), (200, s.did.as_str()));
    let (st, _, _) = get(
        &c,
        port,
        "nobody.pds.example.test",
        "/.well-known/atproto-did",
    )
    .await;
    assert_eq!(st, 404);
    // `/`: the PDS's banner, or the site's page when the site keeps it.
    let (st, body, _) = get(&c, port, HOST, "/").await;
    assert_eq!(st, 200);
    if shared_host {
        assert_eq!(body, SITE_PAGE);
        let (st, body, _) = get(&c, port, HOST, "/about.html").await;
        assert_eq!((st, body.as_str()), (200, "about us\n"));
    } else {
        assert!(body.contains("atproto"), "not the PDS's banner: {body}");
    }
    // An upload of exactly PDS_BLOB_UPLOAD_LIMIT passes; one byte more does not.
    for (size, ok) in [(LIMIT, true), (LIMIT + 1, false)] {
        let r = c
            .post(format!(
                "https://{HOST}:{port}/xrpc/com.atproto.repo.uploadBlob"
            ))
            .bearer_auth(&s.jwt)
            .header("content-type", "application/octet-stream")
            .body(vec![7u8; size])
            .send()
            .await
            .unwrap();
        let st = r.status().as_u16();
        let body = r.text().await.unwrap();
        if ok {
            assert_eq!(st, 200, "upload of {size} bytes: {body}");
            assert_eq!(
                serde_json::from_str::<Value>(&body).unwrap()["blob"]["size"],
                size
            );
        } else {
            assert_eq!(st, 413, "upload of {size} bytes: {body}");
        }
    }
    firehose(port, &s.ca.ca);
}

/// alice.test: a dedicated handle-only domain (file + redirect); example.test: shared with
/// a site, which keeps every path but /.well-known/atproto-did.
async fn assert_handle_domains_through(s: &Stage, port: u16) {
    let c = client(port, &s.ca.ca);
    let (st, body, _) = get(&c, port, "alice.test", "/.well-known/atproto-did").await;
    assert_eq!((st, body.trim()), (200, s.did.as_str()));
    let (st, _, location) = get(&c, port, "alice.test", "/").await;
    assert_eq!(
        (st, location),
        (302, format!("https://bsky.app/profile/{}", s.did))
    );
    let (st, _, _) = get(&c, port, "alice.test", "/xrpc/_health").await;
    assert_eq!(st, 404, "a handle-only domain answers nothing else");

    let (st, body, _) = get(&c, port, "example.test", "/.well-known/atproto-did").await;
    assert_eq!((st, body.trim()), (200, s.did.as_str()));
    let (st, body, _) = get(&c, port, "example.test", "/").await;
    assert_eq!((st, body.as_str()), (200, SITE_PAGE));
    let (st, body, _) = get(&c, port, "example.test", "/about.html").await;
    assert_eq!((st, body.as_str()), (200, "about us\n"));
    for path in ["/xrpc/_health", "/oauth/jwks"] {
        let (st, body, _) = get(&c, port, "example.test", path).await;
        assert_eq!(
            st, 404,
            "{path} on the shared domain went to the PDS: {body}"
        );
    }
}

fn handle_domain_args(s: &Stage) -> Vec<String> {
    s.did_file("alice.test", "www/alice");
    s.did_file("example.test", "www/example");
    vec![
        "--handle-domain".into(),
        format!(
            "alice.test,webroot={},redirect={}",
            s.path("www/alice").display(),
            s.did
        ),
        "--handle-domain".into(),
        format!(
            "example.test,shared,webroot={}",
            s.path("www/example").display()
        ),
    ]
}

#[tokio::test]
async fn nginx_in_front_of_the_real_pds() {
    let s = stage();
    let port = common::free_dual_port();
    let extra = handle_domain_args(&s);
    let files = s.render("nginx", "sites/pds.conf", port, &extra);
    let names: Vec<_> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_str().unwrap())
        .collect();
    assert_eq!(names, ["pds-atproto-example.test.conf", "pds.conf"]);
    let d = s.dir.path().display();
    // The operator's existing site for example.test, with the snippet included.
    let servers = format!(
        "include {d}/sites/pds.conf;\nserver {{\n  listen 127.0.0.1:{{PORT}} ssl;\n  server_name example.test;\n  ssl_certificate {{CERT}};\n  ssl_certificate_key {{KEY}};\n  root {d}/site;\n  include {d}/sites/pds-atproto-example.test.conf;\n}}\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let ca = make_ca(dir.path());
    // nginx runs in its own directory; the config names the stage's certificate.
    let servers = servers
        .replace("{CERT}", s.ca.cert.to_str().unwrap())
        .replace("{KEY}", s.ca.key.to_str().unwrap());
    let _nginx = Nginx::start_in(dir, port, &ca, &servers);
    assert_pds_through(&s, port, false).await;
    assert_handle_domains_through(&s, port).await;
}

#[tokio::test]
async fn nginx_shares_the_pds_hostname_with_a_site() {
    let s = stage();
    let port = common::free_dual_port();
    s.render("nginx", "sites/pds.conf", port, &["--shared-host".into()]);
    let d = s.dir.path().display();
    let servers = format!(
        "include {d}/sites/pds.conf;\nserver {{\n  listen 127.0.0.1:{port} ssl;\n  server_name {HOST};\n  ssl_certificate {c};\n  ssl_certificate_key {k};\n  root {d}/site;\n  include {d}/sites/pds-atproto-{HOST}.conf;\n}}\n",
        c = s.ca.cert.display(),
        k = s.ca.key.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let ca = make_ca(dir.path());
    let _nginx = Nginx::start_in(dir, port, &ca, &servers);
    assert_pds_through(&s, port, true).await;
}

#[tokio::test]
async fn caddy_in_front_of_the_real_pds() {
    let s = stage();
    let port = common::free_dual_port();
    let extra = handle_domain_args(&s);
    let files = s.render("caddy", "caddy/Caddyfile", port, &extra);
    assert_eq!(files.len(), 1, "{files:?}");
    let mut caddyfile = std::fs::read_to_string(&files[0]).unwrap();
    // The operator's existing site for example.test, importing the snippet.
    caddyfile.push_str(&format!(
        "\nexample.test {{\n\ttls {} {}\n\timport atproto_did_example_test\n\troot * {}\n\tfile_server\n}}\n",
        s.ca.cert.display(),
        s.ca.key.display(),
        s.path("site").display()
    ));
    let _caddy = Caddy::start(s.dir.path(), port, &caddyfile);
    assert_pds_through(&s, port, false).await;
    assert_handle_domains_through(&s, port).await;
}

#[tokio::test]
async fn caddy_shares_the_pds_hostname_and_asks_the_pds_before_issuing() {
    let s = stage();
    let port = common::free_dual_port();
    let files = s.render("caddy", "caddy/Caddyfile", port, &["--shared-host".into()]);
    let mut caddyfile = std::fs::read_to_string(&files[0]).unwrap();
    caddyfile.push_str(&format!(
        "\n{HOST} {{\n\ttls {} {}\n\timport pds_atproto_pds_example_test\n\troot * {}\n\tfile_server\n}}\n",
        s.ca.cert.display(),
        s.ca.key.display(),
        s.path("site").display()
    ));
    {
        let _caddy = Caddy::start(s.dir.path(), port, &caddyfile);
        assert_pds_through(&s, port, true).await;
    }

    // On-demand TLS from Caddy's own CA (as the installer does with Let's Encrypt): a
    // certificate only for names the PDS's /tls-check approves.
    let port = common::free_dual_port();
    let o = run_cli(
        &s.env,
        &[
            "proxy",
            "render",
            "caddy",
            "--tls",
            "internal-on-demand",
            "--listen",
            "127.0.0.1",
            "--http-port",
            "off",
            "--https-port",
            &port.to_string(),
        ],
        "",
    );
    assert!(o.status.success(), "{}", output_text(&o));
    let caddyfile = String::from_utf8(o.stdout).unwrap();
    assert!(
        caddyfile.contains(&format!(
            "ask http://127.0.0.1:{}/tls-check",
            s.lab.pds_port
        )),
        "{caddyfile}"
    );
    let data = s.path("on-demand");
    std::fs::create_dir_all(&data).unwrap();
    let _caddy = Caddy::start(&data, port, &caddyfile);
    let c = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .danger_accept_invalid_certs(true)
        .resolve("alice.pds.example.test", ([127, 0, 0, 1], port).into())
        .resolve("nobody.pds.example.test", ([127, 0, 0, 1], port).into())
        .build()
        .unwrap();
    let ok = c
        .get(format!(
            "https://alice.pds.example.test:{port}/.well-known/atproto-did"
        ))
        .send()
        .await
        .expect("a certificate for a handle the PDS hosts");
    assert_eq!(ok.text().await.unwrap().trim(), s.did);
    let refused = c
        .get(format!("https://nobody.pds.example.test:{port}/"))
        .send()
        .await;
    assert!(
        refused.is_err(),
        "Caddy issued a certificate for a handle the PDS does not host"
    );
}

#[tokio::test]
async fn traefik_in_front_of_the_real_pds() {
    let Some(traefik) = pds_wizard::fsutil::find_tool("traefik") else {
        // scripts/test installs it; a bare `cargo test` may not have it.
        eprintln!("traefik is not installed: skipping the live Traefik run");
        assert!(
            std::env::var_os("PDS_WIZARD_TEST_REQUIRE_TRAEFIK").is_none(),
            "traefik is required here"
        );
        return;
    };
    let s = stage();
    let port = common::free_dual_port();
    let files = s.render(
        "traefik",
        "traefik/pds.toml",
        port,
        &[
            "--handle-domain".into(),
            format!("alice.test,redirect={}", s.did),
        ],
    );
    let api = common::free_dual_port();
    let mut child = Command::new(traefik)
        .arg(format!("--entryPoints.websecure.address=127.0.0.1:{port}"))
        .arg(format!("--entryPoints.traefik.address=127.0.0.1:{api}"))
        .arg("--api.insecure=true")
        .arg(format!("--providers.file.filename={}", files[0].display()))
        .arg("--log.level=ERROR")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Ready when its API lists the file's routers.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let r = reqwest::get(format!("http://127.0.0.1:{api}/api/http/routers")).await;
        if let Ok(r) = r {
            let all: Value = r.json().await.unwrap_or(Value::Null);
            if all
                .as_array()
                .is_some_and(|a| a.iter().filter(|r| r["provider"] == "file").count() == 2)
            {
                break;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "traefik did not load the file"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Traefik sets no body limit: the PDS's own 413 answers the oversized upload.
    assert_pds_through(&s, port, false).await;
    let c = client(port, &s.ca.ca);
    let (st, _, location) = get(&c, port, "alice.test", "/").await;
    assert_eq!(
        (st, location),
        (302, format!("https://bsky.app/profile/{}", s.did))
    );
    let _ = child.kill();
    let _ = child.wait();
}

//! Run the server's own check on a configuration: `nginx -t` (a lone sites-available file
//! is wrapped in a small harness config), `caddy validate`, and for Traefik, which has no
//! check command, a short run on loopback ports whose API reports every router's state.
//! Nothing here binds a public address or touches the running server.

use super::Server;
use crate::finding::Finding;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::Command;

/// The least time a server's own check gets, whatever --timeout says: Traefik starts up to
/// report its routers, and Caddy and nginx load every module and certificate.
pub const FLOOR: std::time::Duration = std::time::Duration::from_secs(10);

/// How long a server's own check (and a reload or a firewall command next to it) may take
/// under `timeout`: at least [`FLOOR`].
pub fn limit(timeout: std::time::Duration) -> std::time::Duration {
    timeout.max(FLOOR)
}

#[derive(Debug, Clone, Serialize)]
pub struct Validation {
    pub server: Server,
    /// The command that checked it; None when the server is not installed here.
    pub command: Option<String>,
    pub finding: Finding,
    /// What the tool printed (trimmed), for the operator to read.
    pub output: String,
}

impl Validation {
    pub fn validated(&self) -> bool {
        self.command.is_some()
    }
}

/// Guess the server from a config's text (for `proxy validate FILE` without --server).
pub fn detect(path: &Path, text: &str) -> Option<Server> {
    let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
    if name.starts_with("caddyfile") || name.ends_with(".caddy") {
        return Some(Server::Caddy);
    }
    if text.contains("[http.routers") || text.contains("[http.services") {
        return Some(Server::Traefik);
    }
    if text.contains("proxy_pass")
        || text.contains("server_name")
        || text.contains("location ")
        || is_whole_nginx_conf(text)
    {
        return Some(Server::Nginx);
    }
    if text.contains("reverse_proxy") {
        return Some(Server::Caddy);
    }
    None
}

/// A private scratch directory (mkdtemp), removed on drop.
struct Scratch(tempfile::TempDir);

impl Scratch {
    fn new() -> std::io::Result<Scratch> {
        crate::fsutil::scratch_dir().map(Scratch)
    }

    fn path(&self) -> &Path {
        self.0.path()
    }
}

fn not_installed(server: Server) -> Validation {
    Validation {
        server,
        command: None,
        finding: Finding::warn(format!("not validated: {server} is not installed here"))
            .about(server.name())
            .why("only the server itself can say for sure that it accepts the file")
            .fix(match server {
                Server::Nginx => "after copying it to the server: nginx -t",
                Server::Caddy => "after copying it to the server: caddy validate --config FILE",
                Server::Traefik => {
                    "after copying it, watch Traefik's log and its dashboard's router list"
                }
            }),
        output: String::new(),
    }
}

fn failed_to_run(server: Server, command: String, e: impl std::fmt::Display) -> Validation {
    Validation {
        server,
        command: Some(command),
        finding: Finding::fail(format!("could not run the {server} check: {e}"))
            .about(server.name()),
        output: String::new(),
    }
}

/// Run a command with a time limit; (success, stdout+stderr).
async fn run(cmd: &mut Command, timeout: Duration) -> Result<(bool, String), String> {
    // The one bounded runner (crate::run), on the runtime.
    match crate::run::run_async(cmd, timeout).await {
        crate::run::RanApart::TimedOut => Err(format!("no answer within {} s", timeout.as_secs())),
        crate::run::RanApart::CannotRun(e) => Err(e),
        crate::run::RanApart::Done { ok, stdout, stderr } => {
            Ok((ok, format!("{stdout}{stderr}").trim().to_string()))
        }
    }
}

/// Validate `main` (and, for nginx, snippets meant for an existing server block).
pub async fn validate(
    server: Server,
    main: &Path,
    snippets: &[PathBuf],
    timeout: Duration,
) -> Validation {
    match server {
        Server::Nginx => nginx(main, snippets, timeout).await,
        Server::Caddy => caddy(main, timeout).await,
        Server::Traefik => traefik(main, timeout).await,
    }
}

/// Whether an nginx file is a whole nginx.conf rather than a piece for sites-available.
fn is_whole_nginx_conf(text: &str) -> bool {
    text.lines()
        .map(|l| l.trim_start())
        .any(|l| l.starts_with("events") || l.starts_with("http {") || l.starts_with("http{"))
}

/// A whole nginx.conf around a sites-available file (inside http { }) and snippets (each
/// inside a server { }), with every pid and temp path under `dir`: what `nginx -t` checks,
/// and what the demo's stand-in proxy runs.
pub fn nginx_harness(dir: &Path, main: &Path, snippets: &[PathBuf]) -> String {
    let d = dir.display();
    let mut harness = format!(
        "pid {d}/nginx.pid;\nerror_log stderr;\nevents {{}}\nhttp {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n  include {};\n",
        main.display()
    );
    for s in snippets {
        harness.push_str(&format!(
            "  server {{\n    listen 127.0.0.1:9;\n    server_name pds-wizard-harness.invalid;\n    include {};\n  }}\n",
            s.display()
        ));
    }
    harness.push_str("}\n");
    harness
}

async fn nginx(main: &Path, snippets: &[PathBuf], timeout: Duration) -> Validation {
    let Some(tool) = crate::fsutil::find_tool("nginx") else {
        return not_installed(Server::Nginx);
    };
    let scratch = match Scratch::new() {
        Ok(s) => s,
        Err(e) => return failed_to_run(Server::Nginx, "nginx -t".into(), e),
    };
    let d = scratch.path().display().to_string();
    let text = std::fs::read_to_string(main).unwrap_or_default();
    let conf = if is_whole_nginx_conf(&text) && snippets.is_empty() {
        main.to_path_buf()
    } else {
        let p = scratch.path().join("nginx.conf");
        if let Err(e) = std::fs::write(&p, nginx_harness(scratch.path(), main, snippets)) {
            return failed_to_run(Server::Nginx, "nginx -t".into(), e);
        }
        p
    };
    let command = format!(
        "{} -t -p {d} -c {} -e stderr",
        tool.display(),
        conf.display()
    );
    let res = run(
        Command::new(&tool)
            .arg("-t")
            .arg("-p")
            .arg(scratch.path())
            .arg("-c")
            .arg(&conf)
            .arg("-e")
            .arg("stderr"),
        timeout,
    )
    .await;
    let (ok, output) = match res {
        Ok(r) => r,
        Err(e) => return failed_to_run(Server::Nginx, command, e),
    };
    let finding = if ok {
        Finding::pass("nginx accepts the configuration (nginx -t)")
    } else {
        let first = output
            .lines()
            .find(|l| l.contains("[emerg]"))
            .unwrap_or("nginx -t failed")
            .trim_start_matches("nginx: ")
            .to_string();
        let mut f = Finding::fail(format!("nginx refuses it: {first}"));
        if output.contains("Permission denied") {
            f = f
                .why("nginx -t opens every certificate and key it names, and this user may not read them")
                .fix("run the check as root (sudo), or make the key readable to this user");
        } else if output.contains("No such file") && output.contains("certificate") {
            f = f
                .why("nginx loads the certificate files when it checks the configuration")
                .fix("create the certificate first (certbot certonly …), or fix the path");
        } else {
            f = f.fix("correct the line it names; the full output is below");
        }
        f
    };
    Validation {
        server: Server::Nginx,
        command: Some(command),
        finding: finding.about("nginx"),
        output,
    }
}

async fn caddy(main: &Path, timeout: Duration) -> Validation {
    let Some(tool) = crate::fsutil::find_tool("caddy") else {
        return not_installed(Server::Caddy);
    };
    let scratch = match Scratch::new() {
        Ok(s) => s,
        Err(e) => return failed_to_run(Server::Caddy, "caddy validate".into(), e),
    };
    let command = format!(
        "{} validate --adapter caddyfile --config {}",
        tool.display(),
        main.display()
    );
    // Caddy keeps state (its local CA among it) under XDG dirs: a scratch one, so a check
    // never changes the real server's.
    let res = run(
        Command::new(&tool)
            .args(["validate", "--adapter", "caddyfile", "--config"])
            .arg(main)
            .env("XDG_DATA_HOME", scratch.path())
            .env("XDG_CONFIG_HOME", scratch.path())
            .env("HOME", scratch.path()),
        timeout,
    )
    .await;
    let (ok, output) = match res {
        Ok(r) => r,
        Err(e) => return failed_to_run(Server::Caddy, command, e),
    };
    // Caddy logs JSON lines at info level; keep warnings, errors and its verdict.
    let output: String = output
        .lines()
        .filter(|l| !l.contains("\"level\":\"info\""))
        .collect::<Vec<_>>()
        .join("\n");
    let finding = if ok {
        if output.contains("not formatted") {
            Finding::pass("Caddy accepts the configuration (it would like `caddy fmt --overwrite`)")
        } else {
            Finding::pass("Caddy accepts the configuration (caddy validate)")
        }
    } else {
        let first = output
            .lines()
            .rev()
            .find(|l| l.starts_with("Error:") || l.starts_with("adapting config"))
            .unwrap_or("caddy validate failed")
            .trim_start_matches("Error: ")
            .to_string();
        let mut f = Finding::fail(format!("Caddy refuses it: {first}"));
        if first.contains("no such file") {
            f = f.fix("create the certificate first, or fix its path");
        } else if first.contains("permission denied") {
            f = f.fix("run the check as root (sudo), or make the files readable to this user");
        } else {
            f = f.fix("correct what it names; the full output is below");
        }
        f
    };
    Validation {
        server: Server::Caddy,
        command: Some(command),
        finding: finding.about("caddy"),
        output,
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

async fn traefik(main: &Path, timeout: Duration) -> Validation {
    let Some(tool) = crate::fsutil::find_tool("traefik") else {
        return not_installed(Server::Traefik);
    };
    let scratch = match Scratch::new() {
        Ok(s) => s,
        Err(e) => return failed_to_run(Server::Traefik, "traefik".into(), e),
    };
    let ports = (|| Ok::<_, std::io::Error>((free_port()?, free_port()?, free_port()?)))();
    let Ok((secure, web, api)) = ports else {
        return failed_to_run(Server::Traefik, "traefik".into(), "no free loopback port");
    };
    // The entry points and the certificate resolver the rendered file names, all on
    // loopback; the resolver's ACME server is a closed local port, so nothing leaves.
    let args = vec![
        format!("--entryPoints.websecure.address=127.0.0.1:{secure}"),
        format!("--entryPoints.web.address=127.0.0.1:{web}"),
        format!("--entryPoints.traefik.address=127.0.0.1:{api}"),
        format!("--providers.file.filename={}", main.display()),
        "--api.insecure=true".into(),
        "--log.level=ERROR".into(),
        "--log.noColor=true".into(),
        format!(
            "--certificatesResolvers.letsencrypt.acme.storage={}/acme.json",
            scratch.path().display()
        ),
        "--certificatesResolvers.letsencrypt.acme.caServer=https://127.0.0.1:1/directory".into(),
        "--certificatesResolvers.letsencrypt.acme.tlsChallenge=true".into(),
    ];
    let command = format!(
        "{} --providers.file.filename={} (a short run on loopback; its API lists the routers)",
        tool.display(),
        main.display()
    );
    let log = scratch.path().join("traefik.log");
    let Ok(log_file) = std::fs::File::create(&log) else {
        return failed_to_run(Server::Traefik, command, "cannot write its log");
    };
    let child = Command::new(&tool)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log_file)
        .kill_on_drop(true)
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => return failed_to_run(Server::Traefik, command, e),
    };
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .no_proxy()
        .build()
        .expect("a plain HTTP client builds");
    let url = format!("http://127.0.0.1:{api}/api/http/routers");
    let deadline = Instant::now() + timeout;
    let mut routers: Option<Vec<serde_json::Value>> = None;
    let mut last_seen = 0usize;
    let mut settled_at = Instant::now();
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(150)).await;
        let logged = std::fs::read_to_string(&log).unwrap_or_default();
        if logged.contains("providerName=file")
            && logged.contains("Error while building configuration")
        {
            break;
        }
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        let Ok(resp) = client.get(&url).send().await else {
            continue;
        };
        let Ok(all) =
            crate::http::read_json::<Vec<serde_json::Value>>(resp, crate::http::cap::JSON).await
        else {
            continue;
        };
        let file: Vec<_> = all
            .into_iter()
            .filter(|r| r["provider"] == "file")
            .collect();
        // The file provider loads once at start; give it a moment to settle.
        if file.len() != last_seen {
            last_seen = file.len();
            settled_at = Instant::now();
        }
        if !file.is_empty() && settled_at.elapsed() > Duration::from_millis(600) {
            routers = Some(file);
            break;
        }
    }
    let _ = child.kill().await;
    let logged = std::fs::read_to_string(&log).unwrap_or_default();
    // ACME failures are expected here (the resolver points nowhere on purpose).
    let output: String = logged
        .lines()
        .filter(|l| !l.contains("ACME") && !l.contains("acme"))
        .collect::<Vec<_>>()
        .join("\n");
    let finding = match routers {
        Some(rs) => {
            let broken: Vec<String> = rs
                .iter()
                .filter(|r| r["status"] != "enabled")
                .map(|r| {
                    format!(
                        "{}: {}",
                        r["name"].as_str().unwrap_or("?"),
                        r["error"]
                            .as_array()
                            .map(|e| e
                                .iter()
                                .filter_map(|x| x.as_str())
                                .collect::<Vec<_>>()
                                .join("; "))
                            .unwrap_or_default()
                    )
                })
                .collect();
            if broken.is_empty() {
                Finding::pass(format!(
                    "Traefik loads the configuration: {} router{} enabled",
                    rs.len(),
                    if rs.len() == 1 { "" } else { "s" }
                ))
            } else {
                Finding::fail(format!(
                    "Traefik disables {} of {} routers: {}",
                    broken.len(),
                    rs.len(),
                    broken.join(" | ")
                ))
                .fix("correct what it names; the full log is below")
            }
        }
        None => {
            let first = output
                .lines()
                .find(|l| l.contains("ERR"))
                .map(|l| l.to_string())
                .unwrap_or_else(|| "no routers were loaded".into());
            Finding::fail(format!("Traefik refuses it: {first}"))
                .fix("correct what it names; the full log is below")
        }
    };
    Validation {
        server: Server::Traefik,
        command: Some(command),
        finding: finding.about("traefik"),
        output,
    }
}

/// A throwaway self-signed certificate (openssl), for checking a config whose real
/// certificate does not exist yet.
async fn stand_in_cert(dir: &Path, timeout: Duration) -> Option<(PathBuf, PathBuf)> {
    let tool = crate::fsutil::find_tool("openssl")?;
    let (cert, key) = (dir.join("stand-in.pem"), dir.join("stand-in.key"));
    let (ok, _) = run(
        Command::new(tool)
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=pds-wizard stand-in",
            ])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert),
        timeout,
    )
    .await
    .ok()?;
    ok.then_some((cert, key))
}

/// Validate a file's new text before it is written over the old (a scratch copy named
/// `name` is checked).
pub async fn validate_text(
    server: Server,
    name: &str,
    text: &str,
    timeout: Duration,
) -> Validation {
    let scratch = match Scratch::new() {
        Ok(s) => s,
        Err(e) => return failed_to_run(server, "write scratch copy".into(), e),
    };
    let p = scratch.path().join(name);
    if let Err(e) = std::fs::write(&p, text) {
        return failed_to_run(server, "write scratch copy".into(), e);
    }
    validate(server, &p, &[], timeout).await
}

/// Write a plan's rendered files to a scratch directory and validate them there. When the
/// certificate the plan names is not there yet (certbot not run, say), a stand-in takes its
/// place so the rest is still checked, and the result says so.
pub async fn validate_plan(
    plan: &super::ProxyPlan,
    files: &[super::render::RenderedFile],
    timeout: Duration,
) -> Validation {
    let server = plan.server;
    let scratch = match Scratch::new() {
        Ok(s) => s,
        Err(e) => return failed_to_run(server, "write scratch copy".into(), e),
    };
    let mut swaps: Vec<(String, String)> = Vec::new();
    let mut missing = None;
    if let Some((cert, key)) = plan.cert_paths() {
        if server != Server::Traefik && (!cert.exists() || !key.exists()) {
            missing = Some(if cert.exists() {
                key.clone()
            } else {
                cert.clone()
            });
            if let Some((c, k)) = stand_in_cert(scratch.path(), timeout).await {
                swaps.push((cert.display().to_string(), c.display().to_string()));
                swaps.push((key.display().to_string(), k.display().to_string()));
            }
        }
    }
    let mut paths = Vec::new();
    for f in files {
        let p = scratch.path().join(&f.name);
        let mut text = f.text.clone();
        for (from, to) in &swaps {
            text = text.replace(from.as_str(), to);
        }
        if let Err(e) = std::fs::write(&p, text) {
            return failed_to_run(server, "write scratch copy".into(), e);
        }
        paths.push(p);
    }
    let Some((main, snippets)) = paths.split_first() else {
        return failed_to_run(server, String::new(), "nothing was rendered");
    };
    let mut v = validate(server, main, snippets, timeout).await;
    if let (Some(m), false) = (missing, swaps.is_empty()) {
        v.finding.what = format!(
            "{} — checked with a stand-in certificate, as {} does not exist yet",
            v.finding.what,
            m.display()
        );
    }
    v
}

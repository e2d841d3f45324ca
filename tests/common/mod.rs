//! Real servers for the tests: a test CA made with openssl and aiosmtpd SMTP servers, all on
//! 127.0.0.1. `scripts/test` installs what they need.
#![allow(dead_code)]

pub mod pty;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Stop a server process started by a test: close its stdin (the lab scripts exit on EOF),
/// then make sure it is gone.
fn stop(child: &mut Child) {
    drop(child.stdin.take());
    let _ = child.kill();
    let _ = child.wait();
}

// The servers start through the demo's own launchers (pds_wizard::demo::launch), so the
// tests run them exactly as the demo's stand-ins do.
use pds_wizard::demo::{launch, process};

/// How long a lab server may take to come up (the PDS needs a few seconds).
const START_LIMIT: Duration = Duration::from_secs(60);

/// The server `what`, started; or a panic saying why, with the last line of its log.
fn started<T>(r: Result<T, process::StartError>, log: &Path, what: &str) -> T {
    r.unwrap_or_else(|e| {
        panic!(
            "{what} did not start: {e:?}; its log says: {} (run scripts/test, which installs it)",
            process::log_tail(log).unwrap_or_default()
        )
    })
}

/// A lab script that prints one JSON line when it is ready: the child and that line.
fn spawn_reporting(
    cmd: Result<Command, String>,
    log: &Path,
    what: &str,
) -> (Child, serde_json::Value) {
    let cmd = cmd.unwrap_or_else(|e| panic!("{what}: {e}"));
    let (child, line) = started(process::spawn_reporting(cmd, log, START_LIMIT), log, what);
    let v =
        serde_json::from_str(&line).unwrap_or_else(|_| panic!("{what} did not start: {line:?}"));
    (child, v)
}

/// A server, once it accepts TCP connections at `addr`.
fn spawn_listening(
    cmd: Result<Command, String>,
    log: &Path,
    addr: std::net::SocketAddr,
    what: &str,
) -> Child {
    let cmd = cmd.unwrap_or_else(|e| panic!("{what}: {e}"));
    started(
        process::spawn_listening(cmd, log, addr, Duration::from_secs(10)),
        log,
        what,
    )
}

pub const USER: &str = "alice@example.test";
/// Every character that breaks a hand-written SMTP URL.
pub const PASSWORD: &str = "p@ss: /?#[]%+&=\"'w";
pub const REJECTED_SENDER: &str = "spoofed@elsewhere.test";

/// A CA and a leaf for localhost / 127.0.0.1 / ::1 in `dir`.
pub struct TestCa {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

pub fn make_ca(dir: &Path) -> TestCa {
    make_ca_for(
        dir,
        "DNS:localhost,DNS:example.test,DNS:*.example.test,DNS:*.pds.example.test,DNS:alice.test,IP:127.0.0.1,IP:::1",
    )
}

/// A CA and a leaf whose subjectAltName is `sans` (openssl syntax): the demo's own maker.
pub fn make_ca_for(dir: &Path, sans: &str) -> TestCa {
    let ca = pds_wizard::demo::make_ca(dir, sans)
        .unwrap_or_else(|e| panic!("the test CA: {e} (run scripts/test, which installs openssl)"));
    TestCa {
        ca: ca.ca,
        cert: ca.cert,
        key: ca.key,
    }
}

pub struct SmtpServers {
    child: Child,
    pub starttls: u16,
    pub implicit: u16,
    pub outdir: PathBuf,
    pub ca: PathBuf,
    _dir: tempfile::TempDir,
}

impl SmtpServers {
    pub fn start() -> SmtpServers {
        Self::start_as(USER, PASSWORD, None)
    }

    /// With this login, on these ports (implicit TLS, STARTTLS) when they are free.
    pub fn start_as(user: &str, password: &str, ports: Option<(u16, u16)>) -> SmtpServers {
        let dir = tempfile::tempdir().unwrap();
        let ca = make_ca(dir.path());
        let outdir = dir.path().join("mail");
        std::fs::create_dir(&outdir).unwrap();
        let (child, ports) = spawn_reporting(
            launch::smtp(
                dir.path(),
                &launch::Smtp {
                    cert: &ca.cert,
                    key: &ca.key,
                    mail_dir: &outdir,
                    user,
                    password,
                    rejected_sender: REJECTED_SENDER,
                    ports,
                },
            ),
            &dir.path().join("smtp.log"),
            "the SMTP test server (/usr/bin/python3 with python3-aiosmtpd)",
        );
        SmtpServers {
            child,
            starttls: ports["starttls"].as_u64().unwrap() as u16,
            implicit: ports["implicit"].as_u64().unwrap() as u16,
            outdir,
            ca: ca.ca,
            _dir: dir,
        }
    }

    /// Wait for the next delivered message (written atomically by the server).
    pub fn wait_for_mail(&self, timeout: Duration) -> serde_json::Value {
        let deadline = Instant::now() + timeout;
        loop {
            let found: Vec<_> = std::fs::read_dir(&self.outdir)
                .unwrap()
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
                .collect();
            if let Some(e) = found.first() {
                let v = serde_json::from_str(&std::fs::read_to_string(e.path()).unwrap()).unwrap();
                std::fs::remove_file(e.path()).unwrap();
                return v;
            }
            assert!(Instant::now() < deadline, "no mail arrived");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn mail_count(&self) -> usize {
        std::fs::read_dir(&self.outdir)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
            .count()
    }
}

impl Drop for SmtpServers {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// Run the real binary on `env` with `args`, feeding `stdin`.
pub fn run_cli(env: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pds-wizard"))
        .arg("--env-file")
        .arg(env)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// `run_cli` without stdin, and the process's peak resident memory in KiB (its own
/// `ru_maxrss`, read by wait4 on its PID).
// Reaped by wait4, which Child does not know of.
#[allow(clippy::zombie_processes)]
pub fn run_cli_measured(env: &Path, args: &[&str]) -> (Output, u64) {
    use std::os::unix::process::ExitStatusExt;
    let dir = tempfile::tempdir().unwrap();
    let (out, err) = (dir.path().join("out"), dir.path().join("err"));
    let child = Command::new(env!("CARGO_BIN_EXE_pds-wizard"))
        .arg("--env-file")
        .arg(env)
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as libc::pid_t, "wait4 failed");
    (
        Output {
            status: std::process::ExitStatus::from_raw(status),
            stdout: std::fs::read(&out).unwrap(),
            stderr: std::fs::read(&err).unwrap(),
        },
        usage.ru_maxrss as u64,
    )
}

/// stdout and stderr together.
pub fn output_text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// UDP and TCP sockets on one port of 127.0.0.1, kept open (no window for another test to
/// take the port, as there is between free_dual_port and a later bind).
pub fn bind_dual() -> (std::net::UdpSocket, std::net::TcpListener, u16) {
    loop {
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        if let Ok(tcp) = std::net::TcpListener::bind(("127.0.0.1", port)) {
            return (udp, tcp, port);
        }
    }
}

/// A free port on 127.0.0.1 for both UDP and TCP (checked, then released).
pub fn free_dual_port() -> u16 {
    pds_wizard::demo::free_dual_port().expect("a free port on 127.0.0.1")
}

/// NSD, authoritative for one zone, on 127.0.0.1:PORT (LAB.md).
pub struct Nsd {
    child: Child,
    pub addr: std::net::SocketAddr,
    _dir: tempfile::TempDir,
}

impl Nsd {
    pub fn start(zone: &str, zone_text: &str) -> Nsd {
        Self::start_on(zone, zone_text, free_dual_port())
    }

    /// On 127.0.0.1:`port` (53 inside a private network namespace).
    pub fn start_on(zone: &str, zone_text: &str, port: u16) -> Nsd {
        let dir = tempfile::tempdir().unwrap();
        let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let child = spawn_listening(
            launch::nsd(dir.path(), port, zone, zone_text),
            &dir.path().join("nsd.log"),
            addr,
            "nsd",
        );
        Nsd {
            child,
            addr,
            _dir: dir,
        }
    }
}

impl Nsd {
    /// Serve `zone_text` from now on: NSD reads its zone file again on SIGHUP.
    pub fn set_zone(&self, zone_text: &str) {
        std::fs::write(self._dir.path().join("zone"), zone_text).unwrap();
        // SAFETY: kill takes no pointers; the pid is our own child's.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGHUP) };
        std::thread::sleep(Duration::from_millis(500));
    }
}

impl Drop for Nsd {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// nginx in the foreground with a config of the test's own (LAB.md), TLS on 127.0.0.1:PORT.
/// `servers` is the inside of `http { }`; `{PORT}`, `{CERT}`, `{KEY}` and `{DIR}` are
/// filled in.
pub struct Nginx {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
    pub ca: PathBuf,
}

impl Nginx {
    pub fn start(servers: &str, setup: impl FnOnce(&Path)) -> Nginx {
        let dir = tempfile::tempdir().unwrap();
        let ca = make_ca(dir.path());
        let port = free_dual_port();
        setup(dir.path());
        Self::start_in(dir, port, &ca, servers)
    }

    /// In a directory already holding the test CA, on a port chosen beforehand (for configs
    /// rendered with that port in them).
    pub fn start_in(dir: tempfile::TempDir, port: u16, ca: &TestCa, servers: &str) -> Nginx {
        let d = dir.path().display().to_string();
        let body = servers
            .replace("{PORT}", &port.to_string())
            .replace("{CERT}", ca.cert.to_str().unwrap())
            .replace("{KEY}", ca.key.to_str().unwrap())
            .replace("{DIR}", &d);
        let conf = format!(
            "daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log stderr warn;\nevents {{}}\nhttp {{\n  access_log off;\n  client_body_temp_path {d}/t_body;\n  proxy_temp_path {d}/t_proxy;\n  fastcgi_temp_path {d}/t_fcgi;\n  uwsgi_temp_path {d}/t_uwsgi;\n  scgi_temp_path {d}/t_scgi;\n  default_type application/octet-stream;\n{body}\n}}\n"
        );
        let conf_path = dir.path().join("nginx.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let child = spawn_listening(
            launch::nginx(dir.path(), &conf_path),
            &dir.path().join("nginx.log"),
            ([127, 0, 0, 1], port).into(),
            "nginx",
        );
        Nginx {
            child,
            port,
            ca: ca.ca.clone(),
            dir,
        }
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        format!("127.0.0.1:{}", self.port).parse().unwrap()
    }
}

/// SIGTERM lets a server close down cleanly; SIGKILL only if it does not.
fn terminate(child: &mut Child) {
    pds_wizard::demo::stop_process(child);
}

impl Drop for Nginx {
    fn drop(&mut self) {
        terminate(&mut self.child);
    }
}

/// Caddy in the foreground (LAB.md): its state in `dir`, its admin API on a port of the
/// test's own, and never touching the system trust store. `caddyfile` is run as given, with
/// those three global options added; it must listen on `port` (127.0.0.1).
pub struct Caddy {
    child: Child,
    pub port: u16,
}

impl Caddy {
    pub fn start(dir: &Path, port: u16, caddyfile: &str) -> Caddy {
        let admin = free_dual_port();
        let globals = format!("\tadmin 127.0.0.1:{admin}\n\tskip_install_trust\n\tstorage file_system {}/caddy-data\n", dir.display());
        let text = match caddyfile.find("\n{\n") {
            Some(i) => format!("{}\n{{\n{globals}{}", &caddyfile[..i], &caddyfile[i + 3..]),
            None => format!("{{\n{globals}}}\n{caddyfile}"),
        };
        let conf = dir.join("Caddyfile.run");
        std::fs::write(&conf, text).unwrap();
        let mut cmd = Command::new("caddy");
        cmd.args([
            "run",
            "--adapter",
            "caddyfile",
            "--config",
            conf.to_str().unwrap(),
        ])
        .env("XDG_DATA_HOME", dir)
        .env("XDG_CONFIG_HOME", dir)
        .env("HOME", dir);
        let child = spawn_listening(
            Ok(cmd),
            &dir.join("caddy.log"),
            ([127, 0, 0, 1], port).into(),
            "caddy",
        );
        Caddy { child, port }
    }
}

impl Drop for Caddy {
    fn drop(&mut self) {
        terminate(&mut self.child);
    }
}

pub const PDS_ADMIN: &str = "admin-password-for-tests";

/// The real PDS and a PLC directory from npm (installed by scripts/test), on loopback.
pub struct PdsLab {
    child: Child,
    pub pds_url: String,
    pub plc_url: String,
    pub pds_port: u16,
    _dir: tempfile::TempDir,
}

impl PdsLab {
    pub fn start() -> PdsLab {
        Self::start_with(serde_json::json!({}))
    }

    /// With some of the PDS's environment replaced (e.g. PDS_HOSTNAME).
    pub fn start_with(env: serde_json::Value) -> PdsLab {
        assert!(
            std::env::var_os("PDS_WIZARD_TEST_PDS_MODULES").is_some(),
            "PDS_WIZARD_TEST_PDS_MODULES is unset: run scripts/test, which installs the PDS"
        );
        let dir = tempfile::tempdir().unwrap();
        let mut env = env;
        env["PDS_ADMIN_PASSWORD"] = PDS_ADMIN.into();
        // The script and its log beside the data, which is the temp dir itself.
        Self::spawn(launch::pds(dir.path(), dir.path(), &env, &[], None), dir)
    }

    /// The lab script started, its data and log in `dir`.
    fn spawn(cmd: Result<Command, String>, dir: tempfile::TempDir) -> PdsLab {
        let (child, ports) =
            spawn_reporting(cmd, &dir.path().join("pds.log"), "the PDS lab (node)");
        PdsLab {
            child,
            pds_url: format!("http://localhost:{}", ports["pds"]),
            plc_url: format!("http://localhost:{}", ports["plc"]),
            pds_port: ports["pds"].as_u64().unwrap() as u16,
            _dir: dir,
        }
    }

    /// Reading pds.env `env_file` at each start as the PDS's install does, trusting `ca`
    /// (the SMTP server's), logging to `pds-log.json` beside its data, with `accounts`.
    pub fn start_on_env_file(env_file: &Path, ca: &Path, accounts: &[String]) -> PdsLab {
        assert!(
            std::env::var_os("PDS_WIZARD_TEST_PDS_MODULES").is_some(),
            "PDS_WIZARD_TEST_PDS_MODULES is unset: run scripts/test, which installs the PDS"
        );
        let dir = tempfile::tempdir().unwrap();
        let env = serde_json::json!({
            "PDS_ADMIN_PASSWORD": PDS_ADMIN,
        });
        let cmd = launch::pds(dir.path(), dir.path(), &env, accounts, Some(ca)).map(|mut c| {
            // The PDS's logger reads these when it loads.
            c.env("LOG_ENABLED", "true")
                .env("LOG_DESTINATION", dir.path().join("pds-log.json"))
                .env("PDS_LAB_ENV_FILE", env_file);
            c
        });
        Self::spawn(cmd, dir)
    }

    /// As the installed service: reading `env_file` at start as the official install does,
    /// its data in `data` (pds.env's PDS_DATA_DIRECTORY), trusting `ca`, with `env` over the
    /// lab's defaults (fixed ports: PDS_LAB_PORT, PDS_LAB_PLC_PORT).
    #[allow(dead_code)]
    pub fn start_as_service(
        env_file: &Path,
        data: &Path,
        ca: &Path,
        env: serde_json::Value,
        ports: (u16, u16),
    ) -> PdsLab {
        let dir = tempfile::tempdir().unwrap();
        let cmd = launch::pds(dir.path(), data, &env, &[], Some(ca)).map(|mut c| {
            c.env("PDS_LAB_ENV_FILE", env_file)
                .env("PDS_LAB_PORT", ports.0.to_string())
                .env("PDS_LAB_PLC_PORT", ports.1.to_string())
                .env("LOG_ENABLED", "true")
                .env("LOG_DESTINATION", dir.path().join("pds-log.json"));
            c
        });
        Self::spawn(cmd, dir)
    }

    /// `start_as_service` in the network namespace `netns` (`ip netns exec`): another
    /// machine, as far as the network goes.
    #[allow(dead_code)]
    pub fn start_as_service_in(
        netns: &str,
        env_file: &Path,
        data: &Path,
        env: serde_json::Value,
        ports: (u16, u16),
    ) -> PdsLab {
        let dir = tempfile::tempdir().unwrap();
        let cmd = launch::pds(dir.path(), data, &env, &[], None).map(|c| {
            let mut w = Command::new("ip");
            w.args(["netns", "exec", netns])
                .arg(c.get_program())
                .args(c.get_args());
            for (k, v) in c.get_envs() {
                match v {
                    Some(v) => w.env(k, v),
                    None => w.env_remove(k),
                };
            }
            // Every address, as the PDS listens: only inside `netns`.
            w.env("PDS_LAB_ENV_FILE", env_file)
                .env("PDS_LAB_LISTEN", "::")
                .env("PDS_LAB_PORT", ports.0.to_string())
                .env("PDS_LAB_PLC_PORT", ports.1.to_string());
            w
        });
        Self::spawn(cmd, dir)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// With `env` over the lab's, on the PLC directory at `plc` (another lab's: two
    /// machines on one directory) or its own, trusting `ca` (an SMTP server's) when given.
    #[allow(dead_code)]
    /// `lab` sets the lab script's own variables (PDS_LAB_ENV_FILE…).
    pub fn start_on_plc(
        plc: Option<&str>,
        env: serde_json::Value,
        ca: Option<&Path>,
        lab: &[(&str, String)],
    ) -> PdsLab {
        let dir = tempfile::tempdir().unwrap();
        let mut env = env;
        env["PDS_ADMIN_PASSWORD"] = PDS_ADMIN.into();
        let cmd = launch::pds(dir.path(), dir.path(), &env, &[], ca).map(|mut c| {
            if let Some(url) = plc {
                c.env("PDS_LAB_PLC_URL", url);
            }
            for (k, v) in lab {
                c.env(k, v);
            }
            c
        });
        Self::spawn(cmd, dir)
    }

    /// A PDS (and a PLC directory of its own) on the data directory `data`: a restored
    /// one, say.
    #[allow(dead_code)]
    pub fn start_on_data(data: &Path) -> PdsLab {
        let dir = tempfile::tempdir().unwrap();
        let env = serde_json::json!({ "PDS_ADMIN_PASSWORD": PDS_ADMIN });
        Self::spawn(launch::pds(dir.path(), data, &env, &[], None), dir)
    }

    /// Stop the PDS and leave it down, the lab (and its PLC directory) still running, as
    /// `systemctl stop pds` does; `restart_script` starts it again.
    #[allow(dead_code)]
    pub fn stop_pds_only(&self) {
        let log = self.lab_log();
        let count = || {
            std::fs::read_to_string(&log)
                .unwrap_or_default()
                .matches("pds_lab: stopped")
                .count()
        };
        let before = count();
        assert!(Command::new("kill")
            .args(["-USR2", &self.pid().to_string()])
            .status()
            .unwrap()
            .success());
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while count() == before {
            assert!(
                std::time::Instant::now() < deadline,
                "the lab's PDS did not stop"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stop the PDS (and its PLC directory) now, as a crashed or stopped service is.
    pub fn stop(&mut self) {
        stop(&mut self.child);
        // The PDS runs in a child process of the lab's, which follows it within moments:
        // stopped means its port no longer answers.
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], self.pds_port));
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::time::Instant::now() < deadline
            && std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
        {
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The lab's own log (its stderr): restarts are written there.
    pub fn lab_log(&self) -> std::path::PathBuf {
        self._dir.path().join("pds.log")
    }

    /// The PDS's log (with `start_on_env_file`).
    pub fn pds_log(&self) -> std::path::PathBuf {
        self._dir.path().join("pds-log.json")
    }

    /// Create an account; returns its DID.
    pub fn create_account(&self, handle: &str) -> String {
        self.create_session(handle)["did"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// An invite code for one account, made with the admin password as pdsadmin does.
    pub fn invite_code(&self) -> String {
        let out = Command::new("curl")
            .args(["-sS", "-X", "POST", "-u"])
            .arg(format!("admin:{PDS_ADMIN}"))
            .args([
                "-H",
                "content-type: application/json",
                "-d",
                r#"{"useCount":1}"#,
            ])
            .arg(format!(
                "{}/xrpc/com.atproto.server.createInviteCode",
                self.pds_url
            ))
            .output()
            .expect("curl runs");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        v["code"]
            .as_str()
            .unwrap_or_else(|| panic!("createInviteCode: {v}"))
            .to_string()
    }

    /// Create an account (with an invite code, so it works whether or not the lab requires
    /// invites); returns createAccount's answer (did, accessJwt, …).
    pub fn create_session(&self, handle: &str) -> serde_json::Value {
        let body = serde_json::json!({"handle": handle, "email": format!("{}@example.test", handle.replace('.', "-")), "password": "pw-1234567", "inviteCode": self.invite_code()});
        let (_, v) = self.xrpc_post("com.atproto.server.createAccount", &body, None);
        assert!(v["did"].is_string(), "createAccount: {v}");
        v
    }

    /// POST an XRPC procedure (with an access token if given; `body` Null for none): the
    /// status and the JSON
    /// answer (Null when there is none).
    pub fn xrpc_post(
        &self,
        method: &str,
        body: &serde_json::Value,
        bearer: Option<&str>,
    ) -> (u16, serde_json::Value) {
        let mut cmd = Command::new("curl");
        cmd.args(["-sS", "-X", "POST", "-w", "\n%{http_code}"]);
        if let Some(t) = bearer {
            cmd.args(["-H", &format!("authorization: Bearer {t}")]);
        }
        // Null: a procedure that takes no body (the PDS refuses one it did not expect).
        if !body.is_null() {
            cmd.args([
                "-H",
                "content-type: application/json",
                "-d",
                &body.to_string(),
            ]);
        }
        let out = cmd
            .arg(format!("{}/xrpc/{method}", self.pds_url))
            .output()
            .expect("curl runs");
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let (json, code) = text.rsplit_once('\n').unwrap_or(("", &text));
        (
            code.trim().parse().unwrap_or(0),
            serde_json::from_str(json).unwrap_or(serde_json::Value::Null),
        )
    }

    /// The PDS's data directory (account.sqlite, sequencer.sqlite…).
    pub fn data_dir(&self) -> &Path {
        self._dir.path()
    }
}

impl Drop for PdsLab {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// A restart command that returns once the lab's PDS has started again (or failed to), as
/// `systemctl restart` returns once the service is started.
#[allow(dead_code)]
pub fn restart_script(dir: &Path, lab: &PdsLab) -> PathBuf {
    let script = dir.join("restart-pds");
    let log = lab.lab_log();
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nlog='{log}'\nbefore=$(grep -c '^pds_lab: ' \"$log\")\nkill -HUP {pid}\nfor i in $(seq 300); do\n  [ \"$(grep -c '^pds_lab: ' \"$log\")\" -gt \"$before\" ] && exit 0\n  sleep 0.1\ndone\necho 'the PDS did not come back' >&2\nexit 1\n",
            log = log.display(),
            pid = lab.pid()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

/// A stand-in relay (assets/lab/relay.py) that reports `seq` and `status` for `host`.
pub struct Relay {
    child: Child,
    pub url: String,
    _dir: tempfile::TempDir,
}

impl Relay {
    pub fn start(host: &str, seq: i64, status: &str) -> Relay {
        Self::start_with(host, seq, status, &[])
    }

    /// With the script's optional settings (RELAY_REPOS, RELAY_ACCOUNT_COUNT, …).
    pub fn start_with(host: &str, seq: i64, status: &str, env: &[(&str, String)]) -> Relay {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/lab/relay.py");
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = Command::new("/usr/bin/python3");
        cmd.arg(&script).args([host, &seq.to_string(), status]);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let (child, v) = spawn_reporting(
            Ok(cmd),
            &dir.path().join("relay.log"),
            "the stand-in relay (/usr/bin/python3)",
        );
        Relay {
            child,
            url: format!("http://127.0.0.1:{}", v["port"]),
            _dir: dir,
        }
    }
}

impl Relay {
    /// A relay that follows the PDS at `pds_port` as indigo's does: subscribed with the
    /// cursor `seq`, `idle` on a FutureCursor, `offline` after `RELAY_MAX_FAILURES` failed
    /// dials (see assets/lab/relay.py).
    #[allow(dead_code)]
    pub fn following(host: &str, seq: i64, pds_port: u16, env: &[(&str, String)]) -> Relay {
        let mut env = env.to_vec();
        env.push(("RELAY_SUBSCRIBE", format!("ws://127.0.0.1:{pds_port}")));
        Self::start_with(host, seq, "active", &env)
    }

    /// What it holds now: status, cursor, failures, lastError, events.
    #[allow(dead_code)]
    pub fn state(&self) -> serde_json::Value {
        let out = Command::new("curl")
            .args(["-sS", "--max-time", "5"])
            .arg(format!("{}/state", self.url))
            .output()
            .expect("curl runs");
        serde_json::from_slice(&out.stdout).unwrap_or_default()
    }

    /// Wait (at most `secs`) until its state satisfies `ok`; the state either way.
    #[allow(dead_code)]
    pub fn wait_for(
        &self,
        secs: u64,
        ok: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = std::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let s = self.state();
            if ok(&s) || std::time::Instant::now() > deadline {
                return s;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// What it logged: one JSON line per requestCrawl it received.
    #[allow(dead_code)]
    pub fn log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("relay.log")).unwrap_or_default()
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// `proxy render nginx` with `cert` and `key`, listening on 127.0.0.1:`port` only (no plain
/// HTTP), written to `out` by the real binary; the caller runs it in nginx.
pub fn render_loopback_nginx(env: &Path, out: &Path, cert: &Path, key: &Path, port: u16) {
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    let o = run_cli(
        env,
        &[
            "proxy",
            "render",
            "nginx",
            "--tls",
            "files",
            "--cert",
            cert.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
            "--listen",
            "127.0.0.1",
            "--http-port",
            "off",
            "--https-port",
            &port.to_string(),
            "--out",
            out.to_str().unwrap(),
            "--no-validate",
        ],
        "",
    );
    assert!(o.status.success(), "{}", output_text(&o));
}

/// A relay stand-in: answers every request 200 `{}` and keeps each request's head and body.
pub fn recording_http_server() -> (u16, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for mut s in l.incoming().flatten() {
            s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            let mut buf = vec![0u8; 8192];
            let mut got = Vec::new();
            // Enough for one small request: the head, then its Content-Length body.
            while let Ok(n) = s.read(&mut buf) {
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&got).to_string();
                if let Some(end) = text.find("\r\n\r\n") {
                    let len = text
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if got.len() >= end + 4 + len {
                        break;
                    }
                }
            }
            log.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&got).to_string());
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}");
        }
    });
    (port, seen)
}

/// This thread (and what it starts) in a new network namespace with loopback up: true when
/// that worked (root). Inside, only loopback exists: a server may bind every address, and
/// nothing leaves the machine.
#[allow(dead_code)]
pub fn private_network() -> bool {
    // SAFETY: unshare takes no pointers; it changes only this thread's namespaces.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
        return false;
    }
    std::process::Command::new("ip")
        .args(["link", "set", "lo", "up"])
        .status()
        .is_ok_and(|s| s.success())
}

/// Run the test `name` again in new network and mount namespaces (`unshare --net --mount`:
/// a mount namespace cannot be entered by one thread of a running process), with `inside`
/// set so that run does the work; panics unless it passes. Skipped (returns) when not root.
#[allow(dead_code)]
pub fn in_namespaces(name: &str, inside: &str) {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("not root: needs a private network and mount namespace; skipped");
        return;
    }
    // Output to a file, not a pipe: a server left behind by a failure must not keep the
    // parent waiting for the pipe's end. The whole run is bounded.
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("journey.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut child = Command::new("unshare")
        .args(["--net", "--mount", "--fork", "--kill-child"])
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(inside, "1")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(420);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break Some(st);
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let text = std::fs::read_to_string(&log_path).unwrap_or_default();
    if std::env::var_os("JOURNEY_SCREENS").is_some() {
        eprintln!("{text}");
    }
    assert!(
        status.is_some_and(|s| s.success()) && text.contains("1 passed"),
        "the run in its namespace ({status:?}):\n{text}"
    );
}

/// nginx's Debian layout in `dir`, with pid and temp paths there: bind-mounted over
/// /etc/nginx, so the wizard writes where it would on a server, and `nginx -t` reads it.
#[allow(dead_code)]
pub fn nginx_etc(dir: &Path) {
    for d in ["sites-available", "sites-enabled", "tmp"] {
        std::fs::create_dir_all(dir.join(d)).unwrap();
    }
    let d = dir.display();
    std::fs::write(
        dir.join("nginx.conf"),
        format!(
            "user root;\ndaemon off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{}}\nhttp {{\n  access_log off;\n  client_body_temp_path {d}/tmp/body;\n  proxy_temp_path {d}/tmp/proxy;\n  fastcgi_temp_path {d}/tmp/fastcgi;\n  uwsgi_temp_path {d}/tmp/uwsgi;\n  scgi_temp_path {d}/tmp/scgi;\n  include /etc/nginx/sites-enabled/*;\n}}\n"
        ),
    )
    .unwrap();
}

#[allow(dead_code)]
pub struct Killed(pub std::process::Child);
impl Drop for Killed {
    /// SIGTERM, so nginx stops its workers too (SIGKILL would leave them running).
    fn drop(&mut self) {
        // SAFETY: kill takes no pointers; the pid is our own child's.
        unsafe { libc::kill(self.0.id() as i32, libc::SIGTERM) };
        let _ = self.0.wait();
    }
}

/// In a test's own mount namespace, a server's plumbing: every program resolves through
/// 127.0.0.1:53 (a resolv.conf in `dir` bind-mounted over /etc/resolv.conf), nginx's Debian
/// layout in `dir/etc-nginx` bind-mounted over /etc/nginx, and nginx running it (no site
/// yet; its log in `dir/nginx.log`).
#[allow(dead_code)]
pub fn resolver_and_nginx(dir: &Path) -> Killed {
    let mount = |from: &Path, to: &str| {
        let st = Command::new("mount")
            .args(["--bind", from.to_str().unwrap(), to])
            .status()
            .unwrap();
        assert!(st.success(), "mount --bind {} {to}: {st}", from.display());
    };
    std::fs::write(dir.join("resolv.conf"), "nameserver 127.0.0.1\n").unwrap();
    mount(&dir.join("resolv.conf"), "/etc/resolv.conf");
    let etc_nginx = dir.join("etc-nginx");
    nginx_etc(&etc_nginx);
    mount(&etc_nginx, "/etc/nginx");
    let log = std::fs::File::create(dir.join("nginx.log")).unwrap();
    Killed(
        Command::new("nginx")
            .args(["-e", "stderr"])
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap(),
    )
}

/// A real websocket handshake with curl for `url` (the firehose), trusting `ca`, with
/// `extra` curl arguments (e.g. --resolve): curl gives up after 3 s, so a stream held open
/// ends with curl's exit 28 and the frames so far on stdout.
#[allow(dead_code)]
pub fn websocket_get(ca: &Path, url: &str, extra: &[&str]) -> Output {
    Command::new("curl")
        .args([
            "--http1.1",
            "-sS",
            "-i",
            "-N",
            "--max-time",
            "3",
            "--cacert",
        ])
        .arg(ca)
        .args(extra)
        .args([
            "-H",
            "Connection: Upgrade",
            "-H",
            "Upgrade: websocket",
            "-H",
            "Sec-WebSocket-Version: 13",
            "-H",
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        ])
        .arg(url)
        .output()
        .expect("curl runs")
}

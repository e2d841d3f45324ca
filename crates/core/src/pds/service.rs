//! How the PDS runs on this machine, and making it run: what the official installer writes
//! (compose.yaml, the systemd unit `pds.service`, the Caddyfile), validated with the real
//! tools, started only on the operator's word, then waited for at `/xrpc/_health`.

use crate::envfile::display::changed_lines;
use crate::fsutil::{find_tool, safe_write, SaveReport, WriteOptions};
use serde::Serialize;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How the PDS runs here, as far as this machine can tell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "how", rename_all = "snake_case")]
pub enum Running {
    /// The installer's systemd unit `pds` (its state: active, inactive, failed…).
    Unit { state: String },
    /// A container named `pds` (its state: running, exited…), as compose or by hand.
    Container { state: String, status: String },
    /// Something listens on the PDS's port: a process started another way.
    Process { listening: Vec<SocketAddr> },
    /// Nothing: the service step offers to write and start it.
    Nothing,
}

impl Running {
    /// In a sentence, for the command line and the Server step alike.
    pub fn describe(&self) -> String {
        match self {
            Running::Unit { state } => format!("The pds systemd unit is {state}."),
            Running::Container { state, status } => {
                format!("The pds container is {state} ({status}).")
            }
            Running::Process { listening } => format!(
                "The PDS runs: a process listens on {} (not the pds unit, not a pds container).",
                listening
                    .iter()
                    .map(|a| a.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Running::Nothing => "Nothing runs the PDS here yet.".into(),
        }
    }

    pub fn is_up(&self) -> bool {
        match self {
            Running::Unit { state } => state == "active",
            Running::Container { state, .. } => state == "running",
            Running::Process { .. } => true,
            Running::Nothing => false,
        }
    }
}

/// Run a command for at most `timeout` (see `crate::run::run_bounded`): whether it succeeded and
/// its output, trimmed; None when it could not run or did not finish.
fn run(prog: &str, args: &[&str], timeout: Duration) -> Option<(bool, String)> {
    match crate::run::run_bounded(prog, args, timeout) {
        crate::run::Ran::Done { ok, text } => Some((ok, text.trim().to_string())),
        _ => None,
    }
}

/// The unit first (the installer's way), then a container named pds, then a listener on
/// the port. Each probe is bounded by `timeout`.
pub fn detect(port: u16, timeout: Duration) -> Running {
    if let Some((true, _)) = run("systemctl", &["cat", "pds.service"], timeout) {
        // is-active may print nothing (a unit file systemd has not loaded yet).
        let state = run("systemctl", &["is-active", "pds"], timeout)
            .map(|(_, s)| s)
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "unknown".into());
        return Running::Unit { state };
    }
    let format = "{{.State}}\t{{.Status}}";
    let args = ["ps", "-a", "--filter", "name=^pds$", "--format", format];
    if let Some((true, out)) = run("docker", &args, timeout) {
        if let Some((state, status)) = out.lines().next().and_then(|l| l.split_once('\t')) {
            return Running::Container {
                state: state.into(),
                status: status.into(),
            };
        }
    }
    let listening = super::sockets::listening_on(port);
    if listening.is_empty() {
        Running::Nothing
    } else {
        Running::Process { listening }
    }
}

/// What can run containers here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Docker {
    /// No docker command.
    Missing,
    /// The client answers but no engine does (not started, or no permission).
    NoEngine {
        detail: String,
    },
    Ready,
}

pub fn docker(timeout: Duration) -> Docker {
    if find_tool("docker").is_none() {
        return Docker::Missing;
    }
    match run(
        "docker",
        &["version", "--format", "{{.Server.Version}}"],
        timeout,
    ) {
        Some((true, _)) => Docker::Ready,
        Some((false, out)) => Docker::NoEngine {
            detail: out.lines().last().unwrap_or("").to_string(),
        },
        None => Docker::NoEngine {
            detail: "docker version did not answer".into(),
        },
    }
}

/// The compose command: the plugin (`docker compose`, what the installer uses), else the
/// standalone `docker-compose`.
pub fn compose_command(timeout: Duration) -> Option<Vec<String>> {
    if let Some(docker) = find_tool("docker") {
        if let Some((true, _)) = run(&docker.to_string_lossy(), &["compose", "version"], timeout) {
            return Some(vec![docker.display().to_string(), "compose".into()]);
        }
    }
    find_tool("docker-compose").map(|p| vec![p.display().to_string()])
}

/// How to install Docker the installer's way (Docker's apt repository), for this
/// distribution as /etc/os-release names it.
pub fn docker_install_steps(os_release: &str) -> Vec<String> {
    let field = |k: &str| {
        os_release
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .map(|v| v.trim_matches('"').to_string())
    };
    let id = field("ID").unwrap_or_else(|| "debian".into());
    let codename = field("VERSION_CODENAME").unwrap_or_else(|| "$(lsb_release -cs)".into());
    vec![
        "sudo apt-get update && sudo apt-get install -y ca-certificates curl gnupg".into(),
        "sudo mkdir -p /etc/apt/keyrings".into(),
        format!("curl -fsSL https://download.docker.com/linux/{id}/gpg | sudo gpg --dearmor -o /etc/apt/keyrings/docker.gpg"),
        format!("echo \"deb [arch=$(dpkg --print-architecture) signed-by=/etc/apt/keyrings/docker.gpg] https://download.docker.com/linux/{id} {codename} stable\" | sudo tee /etc/apt/sources.list.d/docker.list"),
        "sudo apt-get update && sudo apt-get install -y containerd.io docker-ce docker-ce-cli docker-compose-plugin".into(),
    ]
}

/// What sits in front of the PDS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "front", rename_all = "snake_case")]
pub enum Front {
    /// The installer's Caddy container (on-demand TLS for HOST and *.HOST).
    Caddy { admin_email: String },
    /// The operator's own proxy (nginx…): no Caddy, and the PDS published only on `bind`
    /// (127.0.0.1, or a private address such as a Tailscale IP for a proxy elsewhere).
    OwnProxy { bind: IpAddr },
}

/// What the service step writes, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub data_dir: PathBuf,
    pub env_file: PathBuf,
    pub port: u16,
    pub front: Front,
    /// Where pds.service goes (/etc/systemd/system).
    pub unit_dir: PathBuf,
    /// The compose command the unit runs.
    pub compose: Vec<String>,
}

pub const IMAGE: &str = "ghcr.io/bluesky-social/pds:0.4";

/// The installer's Watchtower since 2026 (containrrr/watchtower stops on Docker 29: "client
/// version 1.25 is too old").
pub const WATCHTOWER_IMAGE: &str = "ghcr.io/nicholas-fedor/watchtower:latest";

/// The admin email as the installer's Caddy takes it (its `email` global option): a bare
/// address. A `Name <address>` value gives its address; an empty one is refused.
pub fn caddy_email(value: Option<&str>) -> Result<String, String> {
    let v = value.map(str::trim).unwrap_or_default();
    let addr = match (v.rfind('<'), v.ends_with('>')) {
        (Some(i), true) => &v[i + 1..v.len() - 1],
        _ => v,
    };
    if addr.is_empty() {
        return Err("the installer's Caddy needs an admin email for its certificates: pds-wizard env set PDS_CONTACT_EMAIL_ADDRESS=you@example.com".into());
    }
    let ok = addr.split_once('@').is_some_and(|(u, d)| {
        !u.is_empty()
            && d.contains('.')
            && !addr.contains(|c: char| c.is_whitespace() || "<>\"{}".contains(c))
    });
    if !ok {
        return Err(format!("PDS_CONTACT_EMAIL_ADDRESS {v:?} is not an email address Caddy takes (its certificates need one, e.g. you@example.com)"));
    }
    Ok(addr.to_string())
}

/// A path the unit and compose.yaml can both carry as written: systemd splits ExecStart= at
/// spaces and expands `%` specifiers (a data directory "/srv/my pds" would run
/// `--file /srv/my` with a stray argument, and pass `systemd-analyze verify`), and compose
/// expands `$`. Anything but letters, digits and `/._-+@:,` is refused with the reason.
fn plain_path(what: &str, p: &Path) -> Result<(), String> {
    let s = p.to_string_lossy();
    match s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "/._-+@:,".contains(*c)))
    {
        None => Ok(()),
        Some(c) => Err(format!(
            "{what} {s:?} holds {}: systemd's ExecStart= and compose would read the path differently (a space splits it, % and $ are expanded); use a path of letters, digits and /._- (e.g. /pds)",
            match c {
                ' ' => "a space".to_string(),
                c if c.is_whitespace() => "white space".to_string(),
                c => format!("{c:?}"),
            }
        )),
    }
}

/// Which file of the service a planned file is: each has its own merge and its own check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    Compose,
    Unit,
    Caddyfile,
}

/// PDS_PORT, else the 3000 the image sets.
pub fn pds_port(doc: &crate::envfile::Document) -> u16 {
    doc.get("PDS_PORT")
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or(3000)
}

/// The PDS's data directory, where the installer keeps compose.yaml (and its Caddy's
/// files): PDS_DATA_DIRECTORY, else the directory of pds.env, else /pds.
pub fn data_dir(doc: &crate::envfile::Document, env_file: &Path) -> PathBuf {
    doc.get("PDS_DATA_DIRECTORY")
        .filter(|d| d.starts_with('/'))
        .map(PathBuf::from)
        .or_else(|| env_file.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("/pds"))
}

impl Plan {
    /// The plan for pds.env `doc` at `env_file`: the data directory (PDS_DATA_DIRECTORY,
    /// else the env file's own directory, as the installer lays it out), the port, and this
    /// machine's compose command (the installer's, once Docker is installed, when none).
    pub fn new(
        doc: &crate::envfile::Document,
        env_file: &Path,
        front: Front,
        unit_dir: &Path,
        timeout: Duration,
    ) -> Result<Plan, String> {
        let data_dir = data_dir(doc, env_file);
        let env_path = std::fs::canonicalize(env_file).unwrap_or_else(|_| env_file.to_path_buf());
        for (what, p) in [
            ("the data directory", &data_dir),
            ("pds.env's path", &env_path),
            ("the unit directory", &unit_dir.to_path_buf()),
        ] {
            plain_path(what, p)?;
        }
        Ok(Plan {
            data_dir,
            env_file: env_path,
            port: pds_port(doc),
            front,
            unit_dir: unit_dir.to_path_buf(),
            compose: compose_command(timeout)
                .unwrap_or_else(|| vec!["/usr/bin/docker".into(), "compose".into()]),
        })
    }

    pub fn compose_path(&self) -> PathBuf {
        self.data_dir.join("compose.yaml")
    }
    pub fn unit_path(&self) -> PathBuf {
        self.unit_dir.join("pds.service")
    }
    pub fn caddyfile_path(&self) -> PathBuf {
        self.data_dir.join("caddy/etc/caddy/Caddyfile")
    }

    /// The installer's compose.yaml with its paths: Caddy, the PDS and Watchtower on the
    /// host's network. With the operator's own proxy, Caddy goes and the PDS is published
    /// on one address only, so nothing reaches it past the proxy.
    pub fn compose_yaml(&self) -> String {
        let bind = match &self.front {
            Front::Caddy { .. } => String::new(),
            Front::OwnProxy {
                bind: IpAddr::V6(v6),
            } => format!("[{v6}]"),
            Front::OwnProxy {
                bind: IpAddr::V4(v4),
            } => v4.to_string(),
        };
        crate::template::render(
            "service/compose.yaml",
            minijinja::context! {
                caddy => matches!(self.front, Front::Caddy { .. }),
                data_dir => self.data_dir.display().to_string(),
                env_file => self.env_file.display().to_string(),
                image => IMAGE,
                bind => bind,
                port => self.port,
            },
        )
    }

    /// The installer's unit: compose up detached, down on stop.
    pub fn unit(&self) -> String {
        crate::template::render(
            "service/pds.service",
            minijinja::context! {
                data_dir => self.data_dir.display().to_string(),
                compose => self.compose,
                compose_file => self.compose_path().display().to_string(),
            },
        )
    }

    /// The installer's Caddyfile (only with its Caddy): on-demand TLS, asked of the PDS.
    /// The name and the address were checked before (a host name; an address Caddy takes).
    pub fn caddyfile(&self, hostname: &str) -> Option<String> {
        let Front::Caddy { admin_email } = &self.front else {
            return None;
        };
        Some(crate::template::render(
            "service/Caddyfile",
            minijinja::context! {
                admin_email => admin_email,
                hostname => hostname,
                port => self.port,
            },
        ))
    }

    /// Every file with its path, text and diff against what is there. A file that is there
    /// and differs is the operator's: the installer's is merged into it (see
    /// `service_merge`), never put in its place. An Err names a file that cannot be merged
    /// or read (a link, say), and why.
    pub fn files(&self, hostname: &str) -> Result<Vec<PlannedFile>, String> {
        let mut files = vec![
            (FileKind::Compose, self.compose_path(), self.compose_yaml()),
            (FileKind::Unit, self.unit_path(), self.unit()),
        ];
        if let Some(c) = self.caddyfile(hostname) {
            files.push((FileKind::Caddyfile, self.caddyfile_path(), c));
        }
        files
            .into_iter()
            .map(|(kind, path, fresh)| {
                let old = crate::fsutil::read_target(&path, crate::fsutil::Links::Refuse)
                    .map_err(|e| e.to_string())?
                    .map(|b| {
                        String::from_utf8(b).map_err(|_| format!("{} is not text", path.display()))
                    })
                    .transpose()?;
                let (text, notes) = match &old {
                    Some(o) if *o != fresh => {
                        let m = match kind {
                            FileKind::Compose => super::service_merge::compose(o, self),
                            FileKind::Unit => Ok(super::service_merge::unit(o, &fresh)),
                            FileKind::Caddyfile => {
                                super::service_merge::caddyfile(o, &fresh, hostname)
                            }
                        }
                        .map_err(|e| format!("{}: {e}", path.display()))?;
                        (m.text, m.notes)
                    }
                    _ => (fresh, vec![]),
                };
                Ok(PlannedFile {
                    diff: changed_lines(old.as_deref().unwrap_or(""), &text),
                    existed: old.is_some(),
                    kind,
                    notes,
                    path,
                    text,
                })
            })
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedFile {
    pub kind: FileKind,
    pub path: PathBuf,
    pub text: String,
    pub existed: bool,
    pub diff: Vec<String>,
    /// What the merge with the operator's file kept and changed.
    pub notes: Vec<String>,
}

impl PlannedFile {
    pub fn changed(&self) -> bool {
        !self.diff.is_empty()
    }
}

/// Each planned file that would change, checked by its own tool: compose.yaml by docker
/// compose config, the unit by systemd-analyze verify (once Docker is installed: before,
/// it names a docker that is not there yet), the Caddyfile by Caddy (here, or in its
/// container).
pub fn validate_files(files: &[PlannedFile], timeout: Duration) -> Vec<(PathBuf, Validation)> {
    let compose = compose_command(timeout);
    files
        .iter()
        .filter(|f| f.changed())
        .map(|f| {
            let v = match f.kind {
                FileKind::Compose => {
                    validate_compose_text(&f.text, compose.as_deref(), timeout * 3)
                }
                FileKind::Unit if compose.is_some() => validate_unit(&f.text, timeout * 3),
                FileKind::Unit => Validation::Unchecked {
                    tool: "systemd-analyze verify (once Docker is installed)".into(),
                },
                FileKind::Caddyfile => validate_caddyfile(&f.path, &f.text, timeout * 3),
            };
            (f.path.clone(), v)
        })
        .collect()
}

/// Caddy's own check of a Caddyfile not written yet, where Caddy is.
pub fn validate_caddyfile(path: &Path, text: &str, timeout: Duration) -> Validation {
    use crate::caddy::{adapt, tool_for, Tool};
    let tool = tool_for(path, timeout);
    let name = format!("caddy ({})", tool.describe());
    if tool == Tool::None {
        return Validation::Unchecked {
            tool: "caddy".into(),
        };
    }
    match adapt(&tool, path, text, &Default::default(), timeout) {
        Ok(Some(_)) => Validation::Valid { tool: name },
        Ok(None) => Validation::Unchecked { tool: name },
        Err(output) => Validation::Invalid { tool: name, output },
    }
}

/// What a tool said about a written file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Validation {
    Valid {
        tool: String,
    },
    Invalid {
        tool: String,
        output: String,
    },
    /// No tool here can check it.
    Unchecked {
        tool: String,
    },
}

/// `docker compose config -q` (or `docker-compose config -q`): compose's own reading.
pub fn validate_compose(path: &Path, compose: Option<&[String]>, timeout: Duration) -> Validation {
    let Some(cmd) = compose else {
        return Validation::Unchecked {
            tool: "docker compose".into(),
        };
    };
    let tool = format!("{} config", cmd.join(" "));
    let p = path.to_string_lossy();
    let mut args: Vec<&str> = cmd[1..].iter().map(String::as_str).collect();
    args.extend(["--file", &p, "config", "--quiet"]);
    match run(&cmd[0], &args, timeout) {
        Some((true, _)) => Validation::Valid { tool },
        Some((false, output)) => Validation::Invalid { tool, output },
        None => Validation::Invalid {
            tool,
            output: "did not answer in time".into(),
        },
    }
}

/// `validate_compose` on a text not written yet, from a private scratch directory.
pub fn validate_compose_text(
    text: &str,
    compose: Option<&[String]>,
    timeout: Duration,
) -> Validation {
    let scratch = match crate::fsutil::scratch_dir() {
        Ok(d) => d,
        Err(e) => {
            return Validation::Invalid {
                tool: "docker compose config".into(),
                output: format!("cannot make a scratch directory: {e}"),
            }
        }
    };
    let file = scratch.path().join("compose.yaml");
    if let Err(e) = std::fs::write(&file, text) {
        return Validation::Invalid {
            tool: "docker compose config".into(),
            output: format!("cannot write {}: {e}", file.display()),
        };
    }
    validate_compose(&file, compose, timeout)
}

/// `systemd-analyze verify` on the unit's text, as pds.service in a private scratch
/// directory (the tool reads the unit's name from the file name).
pub fn validate_unit(text: &str, timeout: Duration) -> Validation {
    validate_units(&[("pds.service", text.to_string())], timeout)
}

/// `systemd-analyze verify` on units that go together (a service and its timer), each
/// under its name in a private scratch directory.
pub fn validate_units(units: &[(&str, String)], timeout: Duration) -> Validation {
    let tool = "systemd-analyze verify".to_string();
    if find_tool("systemd-analyze").is_none() {
        return Validation::Unchecked { tool };
    }
    let dir = match crate::fsutil::scratch_dir() {
        Ok(d) => d,
        Err(e) => {
            return Validation::Invalid {
                tool,
                output: format!("cannot make a scratch directory: {e}"),
            }
        }
    };
    let mut paths = Vec::new();
    for (name, text) in units {
        let file = dir.path().join(name);
        if let Err(e) = std::fs::write(&file, text) {
            return Validation::Invalid {
                tool,
                output: format!("cannot write {}: {e}", file.display()),
            };
        }
        paths.push(file.to_string_lossy().into_owned());
    }
    let mut args = vec!["verify"];
    args.extend(paths.iter().map(String::as_str));
    match run("systemd-analyze", &args, timeout) {
        Some((true, _)) => Validation::Valid { tool },
        Some((false, output)) => Validation::Invalid { tool, output },
        None => Validation::Invalid {
            tool,
            output: "did not answer in time".into(),
        },
    }
}

/// Write the planned files (diff shown by the caller first): each through the one safe
/// write, with a backup of what was there; Caddy's data and config directories made.
pub fn write(files: &[PlannedFile]) -> Result<Vec<SaveReport>, String> {
    let mut done = Vec::new();
    for f in files.iter().filter(|f| f.changed()) {
        let opts = WriteOptions::file(0o644, 5).make_dirs();
        done.push(safe_write(&f.path, f.text.as_bytes(), opts).map_err(|e| e.to_string())?);
    }
    if let Some(caddyfile) = files.iter().find(|f| f.kind == FileKind::Caddyfile) {
        if let Some(data) = caddyfile
            .path
            .parent()
            .and_then(Path::parent)
            .and_then(Path::parent)
        {
            let data = data.join("data");
            std::fs::create_dir_all(&data)
                .map_err(|e| format!("cannot create {}: {e}", data.display()))?;
        }
    }
    Ok(done)
}

/// The commands that start the PDS: --restart-command when given (this machine's own
/// way), else the unit through systemd when systemd runs, else compose directly.
pub fn start_commands(restart_command: Option<&str>, plan: &Plan) -> Vec<Vec<String>> {
    if let Some(c) = restart_command.filter(|c| !c.trim().is_empty()) {
        return vec![vec!["sh".into(), "-c".into(), c.to_string()]];
    }
    if Path::new("/run/systemd/system").is_dir() {
        return vec![
            ["systemctl", "daemon-reload"].map(String::from).to_vec(),
            ["systemctl", "enable", "--now", "pds"]
                .map(String::from)
                .to_vec(),
        ];
    }
    let mut up = plan.compose.clone();
    up.extend([
        "--file".into(),
        plan.compose_path().display().to_string(),
        "up".into(),
        "--detach".into(),
    ]);
    vec![up]
}

/// Run the start commands one after another; the first failure stops and says why.
pub fn start(commands: &[Vec<String>], timeout: Duration) -> Result<(), String> {
    for c in commands {
        crate::run::may_change_machine(c)?;
        let args: Vec<&str> = c[1..].iter().map(String::as_str).collect();
        match run(&c[0], &args, timeout) {
            Some((true, _)) => {}
            Some((false, out)) => {
                return Err(format!(
                    "{} failed: {}",
                    super::shown(c),
                    last_lines(&out, 5)
                ))
            }
            None => return Err(format!("{} did not finish in time", super::shown(c))),
        }
    }
    Ok(())
}

/// How a start went: the commands failed (why), or the PDS answered, or it did not in time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Started {
    Failed(String),
    Up { version: Option<String> },
    NotYet { reason: String },
}

/// Start the PDS (the commands one after another, off the async workers) and wait for its
/// `/xrpc/_health`: both within `wait` (a first start pulls the image). `progress` sees each
/// failed look while waiting. What `service start` prints and the Server step shows.
pub async fn start_and_wait(
    commands: &[Vec<String>],
    pds_url: &str,
    wait: Duration,
    timeout: Duration,
    progress: impl FnMut(Duration, &str),
) -> Started {
    let cmds = commands.to_vec();
    let started = tokio::task::spawn_blocking(move || start(&cmds, wait))
        .await
        .unwrap_or_else(|e| Err(e.to_string()));
    if let Err(e) = started {
        return Started::Failed(e);
    }
    match wait_for_health(pds_url, wait, timeout, progress).await {
        Waited::Up { version } => Started::Up { version },
        Waited::NotYet { reason } => Started::NotYet { reason },
    }
}

/// Check each changed file with its validator, then write them all: a file a validator
/// refuses stops everything before the first write ("Nothing written: …").
pub fn write_validated(
    files: &[PlannedFile],
    timeout: Duration,
) -> Result<Vec<SaveReport>, String> {
    if let Some(why) = refusal(&validate_files(files, timeout)) {
        return Err(why);
    }
    write(files)
}

/// The first file a validator refused, said: None when none was.
pub fn refusal(checks: &[(PathBuf, Validation)]) -> Option<String> {
    checks.iter().find_map(|(path, v)| match v {
        Validation::Invalid { tool, output } => Some(format!(
            "Nothing written: {tool} refuses {}: {output}",
            path.display()
        )),
        _ => None,
    })
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// One look at `/xrpc/_health` while waiting: what the progress line shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Waited {
    Up { version: Option<String> },
    NotYet { reason: String },
}

/// Ask `/xrpc/_health` every half second until it answers or `wait` runs out; `progress`
/// sees each failed look (elapsed time and why), so a slow image pull shows life.
pub async fn wait_for_health(
    pds_url: &str,
    wait: Duration,
    timeout: Duration,
    mut progress: impl FnMut(Duration, &str),
) -> Waited {
    let started = Instant::now();
    let client = match reqwest::Client::builder()
        .timeout(timeout.min(Duration::from_secs(5)))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            return Waited::NotYet {
                reason: e.to_string(),
            }
        }
    };
    let url = format!("{}/xrpc/_health", pds_url.trim_end_matches('/'));
    loop {
        let reason = match client.get(&url).send().await {
            Ok(r) if r.status().is_success() => {
                let v: serde_json::Value = crate::http::read_json(r, crate::http::cap::JSON)
                    .await
                    .unwrap_or_default();
                return Waited::Up {
                    version: v["version"].as_str().map(str::to_string),
                };
            }
            Ok(r) => format!("it answers {}", r.status()),
            Err(e) => crate::http::cause(&e),
        };
        if started.elapsed() >= wait {
            return Waited::NotYet { reason };
        }
        progress(started.elapsed(), &reason);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(front: Front) -> Plan {
        Plan {
            data_dir: "/pds".into(),
            env_file: "/pds/pds.env".into(),
            port: 3000,
            front,
            unit_dir: "/etc/systemd/system".into(),
            compose: vec!["/usr/bin/docker".into(), "compose".into()],
        }
    }

    #[test]
    fn a_refused_file_is_named_and_stops_the_writes() {
        let ok = |t: &str| Validation::Valid { tool: t.into() };
        let unchecked = Validation::Unchecked {
            tool: "systemd-analyze".into(),
        };
        let refused = Validation::Invalid {
            tool: "docker compose config".into(),
            output: "services.pds.ports must be a list".into(),
        };
        assert_eq!(
            refusal(&[
                ("/pds/compose.yaml".into(), ok("docker compose config")),
                ("/etc/systemd/system/pds.service".into(), unchecked.clone())
            ]),
            None
        );
        assert_eq!(
            refusal(&[("/etc/systemd/system/pds.service".into(), unchecked), ("/pds/compose.yaml".into(), refused)]).as_deref(),
            Some("Nothing written: docker compose config refuses /pds/compose.yaml: services.pds.ports must be a list")
        );
    }

    /// The installer's files, as PDS-FACTS.md describes them: a change here must be a
    /// change there first.
    #[test]
    fn the_installers_files() {
        let p = plan(Front::Caddy {
            admin_email: "admin@example.com".into(),
        });
        let unit = p.unit();
        for line in [
            "Requires=docker.service",
            "After=docker.service",
            "Type=oneshot",
            "RemainAfterExit=yes",
            "WorkingDirectory=/pds",
            "ExecStart=/usr/bin/docker compose --file /pds/compose.yaml up --detach",
            "ExecStop=/usr/bin/docker compose --file /pds/compose.yaml down",
            "WantedBy=default.target",
        ] {
            assert!(unit.lines().any(|l| l == line), "{line} in\n{unit}");
        }
        let y = p.compose_yaml();
        for piece in [
            "image: caddy:2",
            "source: /pds/caddy/etc/caddy\n        target: /etc/caddy",
            "image: ghcr.io/bluesky-social/pds:0.4\n    network_mode: host",
            "env_file:\n      - /pds/pds.env",
            "WATCHTOWER_SCHEDULE: \"@midnight\"",
        ] {
            assert!(y.contains(piece), "{piece} in\n{y}");
        }
        let c = p.caddyfile("pds.example.com").unwrap();
        assert!(c.contains("ask http://localhost:3000/tls-check"), "{c}");
        assert!(c.contains("*.pds.example.com, pds.example.com {"), "{c}");
        assert!(c.contains("email admin@example.com"), "{c}");
    }

    /// Every generated file, byte for byte (the installer's; a change must be meant).
    #[test]
    fn the_generated_files_as_they_are() {
        let caddy = plan(Front::Caddy {
            admin_email: "admin@example.com".into(),
        });
        let own = plan(Front::OwnProxy {
            bind: "127.0.0.1".parse().unwrap(),
        });
        insta::assert_snapshot!(format!(
            "==> compose.yaml (Caddy)\n{}==> compose.yaml (own proxy)\n{}==> pds.service\n{}==> Caddyfile\n{}",
            caddy.compose_yaml(),
            own.compose_yaml(),
            caddy.unit(),
            caddy.caddyfile("pds.example.com").unwrap()
        ));
    }

    #[test]
    fn with_its_own_proxy_the_pds_is_published_on_one_address() {
        let p = plan(Front::OwnProxy {
            bind: "127.0.0.1".parse().unwrap(),
        });
        let y = p.compose_yaml();
        assert!(!y.contains("caddy"), "{y}");
        assert!(y.contains("ports:\n      - \"127.0.0.1:3000:3000\""), "{y}");
        let pds = y
            .split("  pds:")
            .nth(1)
            .unwrap()
            .split("  watchtower:")
            .next()
            .unwrap();
        assert!(!pds.contains("network_mode"), "{pds}");
        assert!(p.caddyfile("x").is_none());
        let v6 = plan(Front::OwnProxy {
            bind: "fd7a:115c:a1e0::1".parse().unwrap(),
        });
        assert!(v6
            .compose_yaml()
            .contains("\"[fd7a:115c:a1e0::1]:3000:3000\""));
    }

    /// More output than a pipe holds (64 KiB) does not stall a command.
    #[test]
    fn a_talkative_command_finishes() {
        let (ok, out) = run(
            "sh",
            &[
                "-c",
                "head -c 300000 /dev/zero | tr '\\0' x; echo; echo done >&2",
            ],
            Duration::from_secs(20),
        )
        .unwrap();
        assert!(ok);
        assert!(
            out.len() > 300_000 && out.ends_with("done"),
            "{}",
            out.len()
        );
    }

    #[test]
    fn docker_is_installed_from_its_repository_for_this_distribution() {
        let steps = docker_install_steps("ID=ubuntu\nVERSION_CODENAME=noble\n");
        let all = steps.join("\n");
        assert!(
            all.contains("https://download.docker.com/linux/ubuntu noble stable"),
            "{all}"
        );
        assert!(all.contains("docker-compose-plugin"), "{all}");
    }
}

//! The command line: clap definitions and dispatch. Each subcommand group has its own file.

/// Everything the command line prints goes through `secret::scrub`: structured output
/// masks secrets where it is made, and this catches any the value did not show as secret
/// (a piece of a broken SMTP password that a parser took for a host or a port).
macro_rules! outln {
    () => { println!() };
    ($($t:tt)*) => { println!("{}", $crate::secret::scrub(&format!($($t)*))) };
}
macro_rules! out {
    ($($t:tt)*) => { print!("{}", $crate::secret::scrub(&format!($($t)*))) };
}
macro_rules! err {
    ($($t:tt)*) => { eprint!("{}", $crate::secret::scrub(&format!($($t)*))) };
}
macro_rules! errln {
    ($($t:tt)*) => { eprintln!("{}", $crate::secret::scrub(&format!($($t)*))) };
}

pub mod accounts;
pub mod apply;
pub mod backup;
pub mod doctor;
pub mod email;
pub mod env;
pub mod identity;
pub mod proxy;
pub mod relay;
pub mod setup;

use crate::context::{Context, DEFAULT_ENV_FILE};
use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// `--version`: the version, the target it was built for, the commit and the build date
/// (build.rs); `-V` says the version alone.
pub const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("PDS_WIZARD_TARGET"),
    ", commit ",
    env!("PDS_WIZARD_COMMIT"),
    ", built ",
    env!("PDS_WIZARD_BUILD_DATE"),
    ")"
);

/// Exit codes shared by every subcommand.
pub const EXIT_OK: u8 = 0;
/// `env check`: at least one failure.
pub const EXIT_FINDINGS: u8 = 1;
/// Bad input or an error: nothing was written.
pub const EXIT_ERROR: u8 = 2;
/// `apply`: the answers could not be applied (an invalid answers file, a value pds.env
/// cannot take, a proxy config its server refuses, a write that failed). Distinct from the
/// doctor's 2 (applied, but a check fails), so a fleet tool can tell the two apart.
pub const EXIT_NOT_APPLIED: u8 = 3;
/// `accounts migrate-in`: stopped to wait for the operator (the PLC token mail): rerun
/// with what it asked for.
pub const EXIT_WAITING: u8 = 4;

/// How long a server's own check, a reload or a firewall command may take: --timeout, with
/// the core's floor (proxy::validate::limit).
pub(crate) fn validation_limit(ctx: &Context) -> std::time::Duration {
    crate::proxy::validate::limit(ctx.timeout)
}

/// The one async runtime of a command (two workers: the doctor's checks run side by side).
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

#[derive(Debug, Parser)]
#[command(
    name = "pds-wizard",
    version,
    long_version = LONG_VERSION,
    about = "Set up, check and fix an ATProto PDS (Bluesky personal data server)",
    long_about = "Set up, check and fix an ATProto PDS (Bluesky personal data server).\n\nWith no subcommand, opens the interactive wizard on the env file."
)]
pub struct Cli {
    /// The PDS env file
    #[arg(long, global = true, help_heading = "Global options", env = "PDS_ENV_FILE", default_value = DEFAULT_ENV_FILE, value_name = "PATH")]
    pub env_file: PathBuf,

    /// Extra trusted root certificate (PEM) for SMTP and HTTPS checks
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "PATH"
    )]
    pub ca_file: Option<PathBuf>,

    /// DNS server to ask instead of the system's resolver (port 53 unless given)
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "IP[:PORT]",
        value_parser = parse_nameserver
    )]
    pub nameserver: Option<SocketAddr>,

    /// A URL that answers with the caller's public address as text (an echo service such
    /// as https://checkip.amazonaws.com, or a cloud's metadata URL): asked, with --timeout,
    /// to learn the address the internet sees when this machine holds only private ones
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        env = "PDS_WIZARD_IP_ECHO",
        value_name = "URL"
    )]
    pub ip_echo: Option<String>,

    /// The PDS's URL [default: http://localhost:PDS_PORT]
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "URL"
    )]
    pub pds_url: Option<String>,

    /// The PLC directory [default: PDS_DID_PLC_URL]
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "URL"
    )]
    pub plc_url: Option<String>,

    /// Limit for each network call, in seconds
    #[arg(long, global = true, help_heading = "Global options", default_value = "10", value_name = "SECONDS", value_parser = parse_timeout)]
    pub timeout: Duration,

    /// Send HTTPS checks to this address instead of the one DNS gives (to test a server
    /// before DNS points at it)
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "IP:PORT"
    )]
    pub connect_to: Option<SocketAddr>,

    /// How to restart the PDS on this machine, when it is not the official install's
    /// systemd unit or compose file (run with sh -c, only after asking)
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        env = "PDS_WIZARD_RESTART_COMMAND",
        value_name = "COMMAND"
    )]
    pub restart_command: Option<String>,

    /// The PDS's log file, when it is not in journald (unit pds) or docker (container pds)
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        env = "PDS_WIZARD_PDS_LOG",
        value_name = "PATH"
    )]
    pub pds_log: Option<PathBuf>,

    /// nginx's main configuration file, when not its default: the served configuration is
    /// read with nginx -T -c FILE
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        env = "PDS_WIZARD_NGINX_CONF",
        value_name = "FILE"
    )]
    pub nginx_conf: Option<PathBuf>,

    /// Print data as JSON (for subcommands whose output is data)
    #[arg(long, global = true, help_heading = "Global options")]
    pub json: bool,

    /// Open the wizard on a sandbox copy of a realistic pds.env (no PDS needed), with local
    /// stand-ins (SMTP, the PDS, DNS, HTTPS) where this machine has the tools
    #[arg(long)]
    pub demo: bool,

    /// With --demo: start no stand-ins; each step says what it would do
    #[arg(long, requires = "demo")]
    pub no_stand_ins: bool,

    #[command(subcommand)]
    pub command: Option<Command>,
}

fn parse_timeout(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !(secs > 0.0 && secs <= 3600.0) {
        return Err("must be more than 0 and at most 3600 seconds".into());
    }
    Ok(Duration::from_secs_f64(secs))
}

/// A nameserver as `IP`, `IP:PORT` or `[IPv6]:PORT`: a bare address is port 53.
fn parse_nameserver(s: &str) -> Result<SocketAddr, String> {
    let s = s.trim();
    if let Ok(ip) = s.trim_matches(['[', ']']).parse::<std::net::IpAddr>() {
        return Ok(SocketAddr::new(ip, 53));
    }
    s.parse().map_err(|_| {
        format!("{s:?} is not a nameserver address: give an IP address (port 53), IP:PORT or [IPv6]:PORT")
    })
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read, edit and check pds.env
    #[command(subcommand)]
    Env(env::EnvCmd),
    /// Email: show, set and test the SMTP settings
    #[command(subcommand)]
    Email(email::EmailCmd),
    /// The PDS's accounts, with the admin password from pds.env: list them (the default),
    /// create one, make invite codes, reset a password, move one to a new handle
    Accounts {
        #[command(subcommand)]
        cmd: Option<accounts::AccountsCmd>,
    },
    /// Where this server is (its addresses) and the two address records to create, HOST
    /// and *.HOST, checked live; exit 0 when both point here, 1 otherwise
    #[command(
        after_help = "Examples:\n  pds-wizard records\n  pds-wizard --ip-echo https://api.ipify.org records"
    )]
    Records,
    /// How the PDS runs here, and making it run: write what the official installer writes
    /// (compose.yaml, pds.service, the Caddyfile), start it, wait for it
    Service {
        #[command(subcommand)]
        cmd: Option<setup::ServiceCmd>,
    },
    /// Relays: why this PDS's posts do not show (each relay's view of it), and the repair
    #[command(subcommand)]
    Relay(relay::RelayCmd),
    /// Backups that are proven to restore: create (online, verified), verify, list,
    /// restore, and a schedule
    #[command(subcommand)]
    Backup(backup::BackupCmd),
    /// Every milestone of a setup, checked live: pds.env valid, the PDS running, the address
    /// records, HTTPS, email, the first account, handles, the relay; exit 0 when all are
    /// done, 1 otherwise
    #[command(after_help = "Examples:\n  pds-wizard status\n  pds-wizard --json status")]
    Status,
    /// Handles: the DNS record to create, and a live check of every verification method
    #[command(subcommand)]
    Handle(identity::HandleCmd),
    /// The /.well-known/atproto-did file: write it into a web root, check it over HTTPS
    #[command(subcommand, name = "did-file")]
    DidFile(identity::DidFileCmd),
    /// Reverse proxy: nginx, Caddy or Traefik configuration from pds.env, validated
    #[command(subcommand)]
    Proxy(proxy::ProxyCmd),
    /// Run every check at once (pds.env, the PDS, DNS, HTTPS, proxy paths, email, handles,
    /// relays, disk, clock); exit 0 all pass, 1 warnings only, 2 any failure
    #[command(
        after_help = "Examples:\n  pds-wizard doctor\n  pds-wizard doctor --only email --only handles\n  pds-wizard doctor --report /root/pds-report.txt"
    )]
    Doctor {
        /// Run only these checks (repeatable; see --list)
        #[arg(long, value_name = "NAME")]
        only: Vec<String>,
        /// Check these handles instead of every account (repeatable)
        #[arg(long, value_name = "HANDLE")]
        handle: Vec<String>,
        /// List the checks and exit
        #[arg(long)]
        list: bool,
        /// Also ask each crawler to crawl this PDS (com.atproto.sync.requestCrawl)
        #[arg(long)]
        request_crawl: bool,
        /// Watch the firehose this long instead of stopping at its first replayed frame (a
        /// proxy that closes quiet streams shows only then, e.g. nginx's 60 s default)
        #[arg(long, value_name = "SECONDS", value_parser = parse_timeout)]
        watch_firehose: Option<Duration>,
        /// Also write a plain-text report to FILE (every finding, the versions, pds.env's
        /// lines with secrets masked), to paste into a support thread
        #[arg(long, value_name = "FILE")]
        report: Option<PathBuf>,
    },
    /// Re-apply a saved answers file without questions: pds.env values, the proxy config and
    /// the atproto-did file (each shown as a diff, written safely), then the doctor; exits
    /// with the doctor's code (0, 1, 2), or 3 when the answers could not be applied
    #[command(
        after_help = "Examples:\n  pds-wizard apply --dry-run\n  pds-wizard apply --answers /pds/pds-wizard.toml"
    )]
    Apply {
        /// The answers file [default: pds-wizard.toml beside pds.env]
        #[arg(long, value_name = "FILE")]
        answers: Option<PathBuf>,
        /// Show what would change, write nothing (the doctor still runs)
        #[arg(long)]
        dry_run: bool,
        /// Apply a PDS_HOSTNAME that renames a PDS hosting accounts (see `env set --help`)
        #[arg(long)]
        force: bool,
    },
    /// Print shell completions (bash, zsh, fish, elvish, powershell)
    #[command(
        after_help = "Example:\n  pds-wizard completions bash > /etc/bash_completion.d/pds-wizard"
    )]
    Completions {
        /// The shell to complete for
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page, or write one page per subcommand into --out-dir
    #[command(
        after_help = "Examples:\n  pds-wizard man | man -l -\n  pds-wizard man --out-dir /usr/local/share/man/man1"
    )]
    Man {
        /// Write pds-wizard.1 and one page per subcommand (pds-wizard-doctor.1, …) here
        /// instead of printing the main page
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
}

impl Cli {
    pub fn context(&self) -> Context {
        Context {
            env_file: self.env_file.clone(),
            ca_file: self.ca_file.clone(),
            nameserver: self.nameserver,
            pds_url: self.pds_url.clone(),
            plc_url: self.plc_url.clone(),
            timeout: self.timeout,
            connect_to: self.connect_to,
            restart_command: self.restart_command.clone(),
            pds_log: self.pds_log.clone(),
            nginx_conf: self.nginx_conf.clone(),
            sandbox: None,
            ip_echo: self.ip_echo.clone().filter(|u| !u.trim().is_empty()),
        }
    }
}

/// Run a subcommand; errors are printed here so main only maps the exit code.
pub fn run(cli: &Cli, cmd: &Command) -> ExitCode {
    let ctx = cli.context();
    let result = match cmd {
        Command::Env(e) => env::run(&ctx, e, cli.json),
        Command::Email(e) => email::run(&ctx, e, cli.json),
        Command::Accounts { cmd } => accounts::run(&ctx, cmd, cli.json),
        Command::Records => setup::records(&ctx, cli.json),
        Command::Service { cmd } => setup::service(&ctx, cmd, cli.json),
        Command::Status => setup::status(&ctx, cli.json),
        Command::Handle(h) => identity::handle(&ctx, h, cli.json),
        Command::DidFile(d) => identity::did_file(&ctx, d, cli.json),
        Command::Proxy(p) => proxy::run(&ctx, p, cli.json),
        Command::Relay(r) => relay::run(&ctx, r, cli.json),
        Command::Backup(b) => backup::run(&ctx, b, cli.json),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut out = Vec::new();
            clap_complete::generate(*shell, &mut cmd, "pds-wizard", &mut out);
            print_all(&out)
        }
        Command::Man { out_dir } => man(out_dir.as_deref()),
        Command::Apply {
            answers,
            dry_run,
            force,
        } => apply::run(&ctx, answers.as_deref(), *dry_run, *force, cli.json),
        Command::Doctor { list: true, .. } => {
            doctor::list();
            Ok(EXIT_OK)
        }
        Command::Doctor {
            only,
            handle,
            request_crawl,
            watch_firehose,
            report,
            ..
        } => doctor::run(
            &ctx,
            &doctor::Request {
                only,
                handles: handle,
                request_crawl: *request_crawl,
                watch_firehose: *watch_firehose,
                report: report.as_deref(),
                json: cli.json,
            },
        ),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            errln!("error: {e:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// Write generated text to stdout; a reader that stops early (`| head`) is not an error.
fn print_all(bytes: &[u8]) -> anyhow::Result<u8> {
    use std::io::Write;
    match std::io::stdout().write_all(bytes) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(EXIT_OK),
        r => {
            r?;
            Ok(EXIT_OK)
        }
    }
}

/// The man page from the clap definitions: to stdout, or every page into `dir`.
fn man(dir: Option<&std::path::Path>) -> anyhow::Result<u8> {
    let cmd = <Cli as clap::CommandFactory>::command();
    match dir {
        None => {
            let mut out = Vec::new();
            clap_mangen::Man::new(cmd).render(&mut out)?;
            return print_all(&out);
        }
        Some(d) => {
            std::fs::create_dir_all(d)?;
            clap_mangen::generate_to(cmd, d)?;
            outln!("man pages written to {}", d.display());
        }
    }
    Ok(EXIT_OK)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn a_bare_nameserver_address_is_port_53() {
        let ns = |a: &str| parse_nameserver(a).map(|s| s.to_string());
        assert_eq!(ns("1.2.3.4").unwrap(), "1.2.3.4:53");
        assert_eq!(ns("1.2.3.4:5353").unwrap(), "1.2.3.4:5353");
        assert_eq!(ns("2001:db8::1").unwrap(), "[2001:db8::1]:53");
        assert_eq!(ns("[2001:db8::1]:54").unwrap(), "[2001:db8::1]:54");
        assert!(ns("ns1.example.com")
            .unwrap_err()
            .contains("give an IP address"));
    }
}

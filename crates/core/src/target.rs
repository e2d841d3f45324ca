//! What fixes a finding, as data: the setting or place to change. Front ends map a target
//! to where it is edited (the TUI: a step and the field on it; the CLI: the step's name),
//! so no wording is ever compared to decide where Enter goes.

use serde::Serialize;

/// A part of the reverse proxy plan: the flag, the answers-file key or the form field that
/// sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProxyField {
    Server,
    /// The PDS hostname (PDS_HOSTNAME or --host).
    Host,
    Upstream,
    Tls,
    Cert,
    Key,
    HandleDomains,
    /// The ACME account's address.
    Email,
    Listen,
    /// PDS_BLOB_UPLOAD_LIMIT, read from pds.env.
    BodyLimit,
    Out,
    /// The front's address on the private network (the PDS on another machine).
    FrontAddress,
    /// How the PDS machine answers the front: direct, or the installer's Caddy.
    PdsSide,
}

impl ProxyField {
    /// The `proxy render` flag that sets it (None: it comes from pds.env).
    pub fn flag(self) -> Option<&'static str> {
        Some(match self {
            ProxyField::Server => "SERVER",
            ProxyField::Host => "--host",
            ProxyField::Upstream => "--upstream",
            ProxyField::Tls => "--tls",
            ProxyField::Cert => "--cert",
            ProxyField::Key => "--key",
            ProxyField::HandleDomains => "--handle-domain",
            ProxyField::Email => "--email",
            ProxyField::Listen => "--listen",
            ProxyField::Out => "--out",
            ProxyField::FrontAddress => "--front-address",
            ProxyField::PdsSide => "--pds-side",
            ProxyField::BodyLimit => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    /// pds.env as a whole (its syntax, mode, unknown keys): reviewed before saving.
    EnvFile,
    /// PDS_CRAWLERS.
    Crawlers,
    /// PDS_INVITE_REQUIRED (and the captcha that may stand in for it).
    InviteRequired,
    /// PDS_BLOB_UPLOAD_LIMIT.
    UploadLimit,
    /// The SMTP settings.
    Email,
    /// A handle, its DNS record and DID document.
    Handle,
    /// The /.well-known/atproto-did file.
    DidFile,
    /// The reverse proxy plan, at this part of it.
    Proxy(ProxyField),
    /// The address records of HOST and *.HOST.
    Records,
    /// How the PDS runs here (compose.yaml, the systemd unit).
    Service,
    /// The PDS's accounts.
    Accounts,
    /// PDS_HOSTNAME: the PDS's name (a rename, with what it means for the accounts).
    Hostname,
    /// How the relays follow this PDS (their causes, and the repair).
    Relays,
    /// Backups: the schedule, the newest verified one.
    Backups,
}

impl Target {
    /// The wizard step that edits it, as its sidebar names it (the CLI's words; the TUI
    /// maps the target to its own step value and checks the titles agree).
    pub fn step_title(self) -> &'static str {
        match self {
            Target::EnvFile => "Review & save",
            Target::Crawlers | Target::InviteRequired | Target::UploadLimit | Target::Hostname => {
                "Basics"
            }
            Target::Email => "Email",
            Target::Handle => "Handle & DNS",
            Target::DidFile => "atproto-did",
            Target::Proxy(_) => "Reverse proxy",
            Target::Records | Target::Service => "Server",
            Target::Accounts => "Accounts",
            Target::Relays => "Relays",
            Target::Backups => "Backups",
        }
    }
}

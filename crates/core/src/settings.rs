//! Settings resolved once: the global flags and pds.env, worked out into every URL and
//! option the checks use. The CLI, the TUI and the doctor all take a `Resolved`, so the PLC
//! URL, the PDS's local and public URLs and the admin password are decided in one place.

use crate::context::Context;
use crate::email::send::SendOptions;
use crate::envfile::Document;
use crate::http::HttpOptions;
use crate::identity::dns::DnsOptions;
use crate::identity::VerifyOptions;
use crate::secret::Secret;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct Resolved {
    /// The flags these were resolved from (the doctor resolves them again against a fresh
    /// read of pds.env).
    pub flags: Context,
    pub env_file: PathBuf,
    /// PDS_HOSTNAME, when set and not blank.
    pub hostname: Option<String>,
    /// The PDS on this machine: --pds-url, or `http://localhost:PDS_PORT`.
    pub local_url: String,
    /// The URL the world knows the PDS by (`https://PDS_HOSTNAME`); None without a hostname.
    pub public_url: Option<String>,
    /// --plc-url, PDS_DID_PLC_URL, or https://plc.directory.
    pub plc_url: String,
    /// PDS_ADMIN_PASSWORD (empty when unset), for the admin API.
    pub admin_password: Secret,
    pub http: HttpOptions,
    pub dns: DnsOptions,
    pub send: SendOptions,
}

impl Resolved {
    /// From the flags and pds.env as it was read (None: it could not be).
    pub fn new(flags: &Context, doc: Option<&Document>) -> Resolved {
        let get = |k: &str| doc.and_then(|d| d.get(k));
        let port = get("PDS_PORT");
        let hostname = get("PDS_HOSTNAME").filter(|h| !h.trim().is_empty());
        Resolved {
            flags: flags.clone(),
            env_file: flags.env_file.clone(),
            local_url: flags.pds_url_for(port.as_deref()),
            public_url: hostname
                .as_deref()
                .map(|h| crate::identity::diddoc::pds_public_url(h, port.as_deref())),
            hostname,
            plc_url: flags.plc_url_for(get("PDS_DID_PLC_URL").as_deref()),
            admin_password: Secret::new(get("PDS_ADMIN_PASSWORD").unwrap_or_default()),
            http: HttpOptions {
                timeout: flags.timeout,
                ca_file: flags.ca_file.clone(),
                connect_to: flags.connect_to,
            },
            dns: DnsOptions {
                nameserver: flags.nameserver,
                timeout: flags.timeout,
            },
            send: SendOptions {
                timeout: flags.timeout,
                ca_file: flags.ca_file.clone(),
            },
        }
    }

    /// Read pds.env and resolve against it; the document (or why it could not be read)
    /// comes back too.
    pub fn load(flags: &Context) -> (Resolved, Result<Document, crate::envfile::EnvError>) {
        let doc = Document::load(&flags.env_file);
        (Resolved::new(flags, doc.as_ref().ok()), doc)
    }

    /// The admin API of the PDS on this machine, with the admin password (never through
    /// --connect-to: the local URL).
    pub fn admin(&self) -> crate::pds::admin::Admin {
        crate::pds::admin::Admin {
            pds_url: self.local_url.clone(),
            password: self.admin_password.clone(),
            http: self.http.clone(),
        }
    }

    /// Where handle checks look.
    /// Where `handle refresh` announces a handle: this PDS, pds.env's relays and AppView.
    pub fn announce(&self, doc: Option<&Document>) -> crate::pds::refresh::Announce {
        let get = |k: &str| doc.and_then(|d| d.get(k)).filter(|v| !v.trim().is_empty());
        crate::pds::refresh::Announce {
            pds_url: self.local_url.clone(),
            admin_password: self.admin_password.clone(),
            hostname: self.hostname.clone(),
            relays: get("PDS_CRAWLERS")
                .map(|l| crate::relay::crawler_urls(&l))
                .unwrap_or_default(),
            appview: get("PDS_BSKY_APP_VIEW_URL"),
            http: self.http.clone(),
        }
    }

    pub fn verify_options(&self) -> VerifyOptions {
        VerifyOptions {
            dns: self.dns.clone(),
            http: self.http.clone(),
            plc_url: self.plc_url.clone(),
            pds_public_url: self.public_url.clone(),
            pds_local_url: Some(self.local_url.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_pds_env_which_wins_over_defaults() {
        let doc = Document::parse(
            "PDS_HOSTNAME=pds.example.com\nPDS_PORT=2583\nPDS_DID_PLC_URL=https://plc.example/\nPDS_ADMIN_PASSWORD=pw\n",
        );
        let r = Resolved::new(&Context::default(), Some(&doc));
        assert_eq!(r.local_url, "http://localhost:2583");
        assert_eq!(r.public_url.as_deref(), Some("https://pds.example.com"));
        assert_eq!(r.plc_url, "https://plc.example");
        assert_eq!(r.admin_password.expose(), "pw");
        let flags = Context {
            pds_url: Some("http://127.0.0.1:9/".into()),
            plc_url: Some("http://127.0.0.1:8".into()),
            ..Context::default()
        };
        let r = Resolved::new(&flags, Some(&doc));
        assert_eq!(
            (r.local_url.as_str(), r.plc_url.as_str()),
            ("http://127.0.0.1:9", "http://127.0.0.1:8")
        );
        let r = Resolved::new(&Context::default(), None);
        assert_eq!(r.local_url, "http://localhost:3000");
        assert_eq!(r.plc_url, "https://plc.directory");
        assert_eq!((r.hostname, r.public_url), (None, None));
    }
}

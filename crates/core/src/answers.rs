//! The answers file, `pds-wizard.toml` beside pds.env: every choice the wizard makes that
//! pds.env does not hold (the proxy, the atproto-did web root, the handles to watch, the
//! test-mail recipient), so the next run starts where the last one stopped and `apply` can
//! replay it on many hosts. It never holds a secret: secret keys are refused on load and on
//! save, and it is written 0600 all the same.

use crate::fsutil::{safe_write, WriteOptions};
use crate::proxy::PlanAnswers;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = "pds-wizard.toml";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Answers {
    /// pds.env values `apply` sets (non-secret keys only; secrets stay in pds.env).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "EmailAnswers::is_empty")]
    pub email: EmailAnswers,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<ProxyAnswers>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub did_file: Option<DidFileAnswers>,
    #[serde(default, skip_serializing_if = "DoctorAnswers::is_empty")]
    pub doctor: DoctorAnswers,
    /// On the PDS machine, when the front proxy is on another: what `proxy pds-side` does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pds_side: Option<PdsSideAnswers>,
}

/// The PDS machine's side of a front proxy elsewhere (the front's own machine has a
/// `[proxy]` section with `front_address`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PdsSideAnswers {
    /// The front's address on the private network.
    pub front_address: String,
    /// This machine's address on the private network, where the front connects.
    pub pds_address: String,
    /// "direct" (the PDS's port) or "caddy" (the installer's Caddy) [default: direct].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    /// The Caddyfile to edit [default: the installer's].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caddyfile: Option<PathBuf>,
    /// "show", "nft" or "ufw" [default: show].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firewall: Option<String>,
    /// Where the nftables rules go [default: /etc/nftables.d/pds-wizard.nft].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nft_file: Option<PathBuf>,
    /// How Caddy loads its file [default: the installer's container reload].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reload_command: Option<String>,
    /// Restart the PDS when pds.env changes.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub restart: bool,
    /// Fronts used before, taken out of PDS_RATE_LIMIT_BYPASS_IPS.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retire_fronts: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailAnswers {
    /// Where the Email step's test send goes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_recipient: Option<String>,
}

impl EmailAnswers {
    fn is_empty(&self) -> bool {
        self.test_recipient.is_none()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProxyAnswers {
    /// nginx, caddy or traefik.
    pub server: String,
    /// Where the config is written (its snippets go beside it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
    /// files, certbot, acme, on-demand, internal, internal-on-demand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<PathBuf>,
    /// ACME account email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acme_email: Option<String>,
    /// Handle-only domains: NAME[,shared][,proxied][,webroot=DIR][,redirect=DID].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub handle_domains: Vec<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub shared_host: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub https_port: Option<u16>,
    /// A port, or "off".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_port: Option<HttpPort>,
    /// The front's address on the private network, when this proxy is the front for a PDS
    /// on another machine (`upstream` is then that machine's private address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub front_address: Option<String>,
    /// How the PDS machine answers the front: "direct" or "caddy".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pds_side: Option<String>,
}

/// The plain-HTTP listener: a port, or "off".
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum HttpPort {
    Port(u16),
    Off(Off),
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Off {
    Off,
}

impl ProxyAnswers {
    pub fn plan_answers(&self) -> PlanAnswers {
        PlanAnswers {
            host: None,
            shared_host: self.shared_host,
            upstream: self.upstream.clone(),
            tls: self.tls.clone(),
            cert: self.cert.clone(),
            key: self.key.clone(),
            email: self.acme_email.clone(),
            handle_domains: self.handle_domains.clone(),
            listen: self.listen.clone(),
            https_port: self.https_port,
            http_port: self.http_port.map(|p| match p {
                HttpPort::Port(n) => Some(n),
                HttpPort::Off(_) => None,
            }),
            front_address: self.front_address.clone(),
            pds_side: self.pds_side.clone(),
        }
    }
}

impl PdsSideAnswers {
    /// Checked before anything is applied: each error names its key.
    pub fn check(&self) -> Vec<String> {
        use crate::proxy::split::{parse_address, Firewall, Via};
        let mut out = Vec::new();
        if let Err(e) = parse_address("the front's address", &self.front_address) {
            out.push(format!("front_address: {e}"));
        }
        if let Err(e) = parse_address("the PDS's private address", &self.pds_address) {
            out.push(format!("pds_address: {e}"));
        }
        if let Some(Err(e)) = self.via.as_deref().map(Via::parse) {
            out.push(format!("via: {e}"));
        }
        if let Some(Err(e)) = self.firewall.as_deref().map(Firewall::parse) {
            out.push(format!("firewall: {e}"));
        }
        for r in &self.retire_fronts {
            if let Err(e) = parse_address("a front used before", r) {
                out.push(format!("retire_fronts: {e}"));
            }
        }
        out
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DidFileAnswers {
    pub handle: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub did: Option<String>,
    /// The web root that serves https://HANDLE/.well-known/atproto-did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webroot: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DoctorAnswers {
    /// Handles the doctor checks (instead of every account).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub handles: Vec<String>,
}

impl DoctorAnswers {
    fn is_empty(&self) -> bool {
        self.handles.is_empty()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AnswersError {
    #[error("cannot read {path}: {why}")]
    Read { path: PathBuf, why: String },
    #[error("{path} is not a valid answers file: {why}")]
    Parse { path: PathBuf, why: String },
    #[error(
        "{path}: {key} is a secret and does not belong in the answers file (it stays in pds.env)"
    )]
    Secret { path: PathBuf, key: String },
    #[error("{path}: [env] {key} is not a key the PDS reads; did you mean {near}? (Nothing was applied.)")]
    NearMiss {
        path: PathBuf,
        key: String,
        near: &'static str,
    },
    #[error("cannot write {path}: {why}")]
    Write { path: PathBuf, why: String },
}

/// `pds-wizard.toml` in the directory of `env_file`.
pub fn path_for(env_file: &Path) -> PathBuf {
    env_file.parent().unwrap_or(Path::new(".")).join(FILE_NAME)
}

/// A value that must never be written here: anything the masking rule would hide (a
/// secret key's value, a URL with a password, a URL too broken to tell). An SMTP URL
/// without a password (the local sendmail, a relay that trusts this host) is plain
/// configuration and stays.
fn secret_key(key: &str, value: &str) -> bool {
    crate::envfile::sensitive::mask_value(key, value) != value
}

impl Answers {
    /// No secret, and no misspelling of a key the PDS reads (it would be written as a new
    /// key that nothing reads).
    fn check_env(&self, path: &Path) -> Result<(), AnswersError> {
        if let Some((k, _)) = self.env.iter().find(|(k, v)| secret_key(k, v)) {
            return Err(AnswersError::Secret {
                path: path.to_path_buf(),
                key: k.clone(),
            });
        }
        for k in self.env.keys() {
            if let Some(near) = crate::envfile::catalogue::near_miss(k) {
                return Err(AnswersError::NearMiss {
                    path: path.to_path_buf(),
                    key: k.clone(),
                    near,
                });
            }
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        *self == Answers::default()
    }

    /// The file's text, with a header saying what it is.
    pub fn to_toml(&self) -> String {
        let body = toml::to_string_pretty(self).unwrap_or_default();
        format!(
            "# pds-wizard answers: the choices pds.env does not hold. No secrets: those stay in\n# pds.env. Replay with: pds-wizard apply --answers THIS_FILE [--dry-run]\n\n{body}"
        )
    }
}

/// Read an answers file; Ok(None) when there is none.
pub fn load(path: &Path) -> Result<Option<Answers>, AnswersError> {
    // Through a link only when root (or the file's owner) made it, as pds.env.
    let bytes = crate::fsutil::read_target(path, crate::fsutil::Links::Operator).map_err(|e| {
        AnswersError::Read {
            path: path.to_path_buf(),
            why: e.to_string(),
        }
    })?;
    let Some(bytes) = bytes else {
        return Ok(None);
    };
    let text = String::from_utf8(bytes).map_err(|_| AnswersError::Read {
        path: path.to_path_buf(),
        why: "it is not text".into(),
    })?;
    let a: Answers = toml::from_str(&text).map_err(|e| AnswersError::Parse {
        path: path.to_path_buf(),
        why: e.to_string(),
    })?;
    a.check_env(path)?;
    Ok(Some(a))
}

/// Write the answers (atomically, mode 0600, the previous version kept as a backup).
/// Unchanged answers are not rewritten.
pub fn save(path: &Path, answers: &Answers) -> Result<bool, AnswersError> {
    answers.check_env(path)?;
    let text = answers.to_toml();
    if std::fs::read_to_string(path).is_ok_and(|old| old == text) {
        return Ok(false);
    }
    safe_write(path, text.as_bytes(), WriteOptions::secret()).map_err(|e| AnswersError::Write {
        path: path.to_path_buf(),
        why: e.to_string(),
    })?;
    Ok(true)
}

impl PdsSideAnswers {
    /// What `[pds_side]` asks of the PDS side, with its defaults (the core's proxy::side).
    pub fn input(&self) -> crate::proxy::side::SideInput {
        crate::proxy::side::SideInput {
            front_address: self.front_address.clone(),
            pds_address: self.pds_address.clone(),
            via: self.via.clone().unwrap_or_else(|| "direct".into()),
            caddyfile: self.caddyfile.clone(),
            firewall: self.firewall.clone().unwrap_or_else(|| "show".into()),
            nft_file: self
                .nft_file
                .clone()
                .unwrap_or_else(|| crate::proxy::split::NFT_FILE.into()),
            reload_command: self.reload_command.clone(),
            restart: self.restart,
            retire_front: self.retire_fronts.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> Answers {
        Answers {
            env: BTreeMap::from([("PDS_HOSTNAME".into(), "pds.example.com".into())]),
            email: EmailAnswers {
                test_recipient: Some("me@example.com".into()),
            },
            proxy: Some(ProxyAnswers {
                server: "nginx".into(),
                out: Some("/etc/nginx/sites-available/pds.conf".into()),
                upstream: Some("127.0.0.1:3000".into()),
                tls: Some("certbot".into()),
                handle_domains: vec!["alice.com,redirect=did:plc:abc".into()],
                http_port: Some(HttpPort::Off(Off::Off)),
                https_port: Some(8443),
                ..ProxyAnswers::default()
            }),
            did_file: Some(DidFileAnswers {
                handle: "alice.com".into(),
                did: Some("did:plc:abc".into()),
                webroot: Some("/var/www/alice.com".into()),
            }),
            doctor: DoctorAnswers {
                handles: vec!["alice.com".into()],
            },
            pds_side: Some(PdsSideAnswers {
                front_address: "100.64.0.1".into(),
                pds_address: "100.101.102.103".into(),
                via: Some("caddy".into()),
                firewall: Some("nft".into()),
                ..PdsSideAnswers::default()
            }),
        }
    }

    #[test]
    fn round_trips_through_the_file_with_mode_0600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(FILE_NAME);
        assert_eq!(load(&p).unwrap(), None);
        assert!(save(&p, &full()).unwrap());
        assert!(!save(&p, &full()).unwrap(), "unchanged: not rewritten");
        assert_eq!(load(&p).unwrap(), Some(full()));
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains("http_port = \"off\""), "{text}");
        assert!(text.starts_with("# pds-wizard answers"), "{text}");
    }

    #[test]
    fn secrets_are_refused_both_ways() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(FILE_NAME);
        for (k, v) in [
            ("PDS_ADMIN_PASSWORD", "hunter2"),
            ("PDS_JWT_SECRET", "00"),
            ("PDS_EMAIL_SMTP_URL", "smtps://u:pw@smtp.example.com"),
            ("PDS_EMAIL_SMTP_URL", "smtps://u:p/w@smtp.example.com"),
            (
                "PDS_MODERATION_EMAIL_SMTP_URL",
                "smtps://u:pw@smtp.example.com",
            ),
            ("PDS_HCAPTCHA_SECRET_KEY", "0x1234"),
            ("PDS_BLOBSTORE_S3_SECRET_ACCESS_KEY", "wJalrXUtnFEMI"),
            ("PDS_RATE_LIMIT_BYPASS_KEY", "let-me-in"),
            ("MY_BACKUP_TOKEN", "abcd"),
            ("MY_BACKUP_URL", "https://u:pw@backup.example.com"),
        ] {
            let mut a = full();
            a.env.insert(k.into(), v.into());
            let e = save(&p, &a).unwrap_err();
            assert!(e.to_string().contains(k), "{e}");
            std::fs::write(&p, a.to_toml()).unwrap();
            assert!(matches!(load(&p), Err(AnswersError::Secret { .. })));
        }
        // An SMTP URL without a password is not a secret.
        let mut a = full();
        a.env
            .insert("PDS_EMAIL_SMTP_URL".into(), "smtp:///?sendmail=true".into());
        assert!(save(&p, &a).is_ok());
    }

    #[test]
    fn misspelt_env_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(FILE_NAME);
        std::fs::write(&p, "[env]\npds_hostname = \"x.example.com\"\n").unwrap();
        let e = load(&p).unwrap_err();
        assert!(
            matches!(
                &e,
                AnswersError::NearMiss {
                    near: "PDS_HOSTNAME",
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("did you mean PDS_HOSTNAME?"), "{e}");
    }

    #[test]
    fn unknown_keys_are_an_error_not_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(FILE_NAME);
        std::fs::write(&p, "[proxy]\nserver = \"nginx\"\ntsl = \"acme\"\n").unwrap();
        let e = load(&p).unwrap_err().to_string();
        assert!(e.contains("tsl"), "{e}");
    }
}

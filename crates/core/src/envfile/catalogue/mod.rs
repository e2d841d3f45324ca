//! The PDS_* keys the PDS reads (from its `config/env.js` and the official installer),
//! with their meaning, how to validate them, whether they are secret, and what the
//! installer writes. Drives validation, masking and the UI.

use crate::finding::Finding;
use serde::Serialize;

mod rules;
mod tables;
mod units;
pub use self::rules::*;
pub use self::tables::*;
pub use self::units::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Group {
    Basics,
    Secrets,
    Storage,
    /// Uploads kept in an S3 bucket instead of on disk.
    BlobstoreS3,
    Email,
    /// The name, links, colours and backgrounds of the sign-in and account pages.
    Branding,
    /// The rotation key added to new accounts' did:plc identities.
    Recovery,
    Network,
    Operations,
}

impl Group {
    pub fn label(self) -> &'static str {
        match self {
            Group::Basics => "Basics",
            Group::Secrets => "Secrets",
            Group::Storage => "Storage",
            Group::BlobstoreS3 => "Blob storage on S3",
            Group::Email => "Email",
            Group::Branding => "Branding and sign-in pages",
            Group::Recovery => "Account recovery key",
            Group::Network => "Network and federation",
            Group::Operations => "Operations",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Sensitivity {
    Public,
    /// The whole value is a secret.
    Secret,
    /// A URL whose userinfo password is secret (SMTP URLs).
    UrlPassword,
}

/// How a value is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Hostname,
    Port,
    EmailAddress,
    /// `addr@example.com` or `Name <addr@example.com>` (nodemailer accepts both).
    FromAddress,
    Bool,
    Bytes,
    HttpUrl,
    /// A link on the sign-in pages: any absolute URL (the PDS refuses to start otherwise).
    LinkUrl,
    /// A background image: an http:, https: or data: URL.
    ImageUrl,
    /// `#rgb`, `#rrggbb` or `rgb(r, g, b)`, as the OAuth provider's colour parser reads it.
    Color,
    HttpUrlList,
    HandleDomains,
    Did,
    /// A `did:key:z…` public key (secp256k1 or P-256).
    DidKey,
    /// An S3 bucket name.
    S3Bucket,
    /// A whole number of milliseconds.
    Millis,
    HexSecret,
    K256Key,
    AbsPath,
    SmtpUrl,
    LogEnabled,
    Text,
}

#[derive(Debug, Clone, Copy)]
pub struct KeyInfo {
    pub name: &'static str,
    pub group: Group,
    pub meaning: &'static str,
    pub kind: Kind,
    pub sensitivity: Sensitivity,
    pub required: bool,
    /// What the official installer writes (None: not written, or generated per install).
    pub installer_default: Option<&'static str>,
    /// The first @atproto/pds version that reads it, when that is newer than 0.4 (the
    /// oldest release in the npm registry whose env reader reads it, or PDS-FACTS).
    pub since: Option<&'static str>,
}

impl KeyInfo {
    pub fn is_secret(&self) -> bool {
        self.sensitivity != Sensitivity::Public
    }
}

/// Whether the PDS (or its logger, for LOG_ENABLED) reads `name`.
/// What the PDS makes of a key in pds.env.
#[derive(Debug, Clone, Copy)]
pub enum KeyStatus {
    /// Read by the PDS and described here (its value can be judged).
    Described(&'static KeyInfo),
    /// Read by the PDS, not described here.
    Read,
    /// Not read; probably a misspelling of this key.
    Misspelt(&'static str),
    /// Not read, and like no key the PDS reads: kept as it is.
    Unread,
    /// Read by older versions only: ignored from `since` on.
    Removed {
        since: &'static str,
        /// What took its place, if anything.
        instead: &'static str,
    },
}

/// Whether a PDS_INVITE_REQUIRED value opens sign-up, read as the PDS's envBool reads it:
/// only `false` and `0` turn invites off; anything else (unset, `False`, `no`) keeps them.
pub fn signup_open(invite_required: Option<&str>) -> bool {
    matches!(invite_required, Some("false" | "0"))
}

/// Whether pds.env sets both hCaptcha keys the PDS needs to put a captcha on sign-up.
pub fn captcha_set(doc: &crate::envfile::Document) -> bool {
    ["PDS_HCAPTCHA_SITE_KEY", "PDS_HCAPTCHA_SECRET_KEY"]
        .iter()
        .all(|k| doc.get(k).is_some_and(|v| !v.trim().is_empty()))
}

/// Sign-up open to anyone with nothing to slow a bot down: `PDS_INVITE_REQUIRED=false`
/// (the PDS requires invites when it is unset) and no hCaptcha keys. Spam bots scan for
/// such PDSes, and a flood of accounts gets the whole host throttled by the relay.
pub fn open_registration(
    invite_required: Option<&str>,
    doc: &crate::envfile::Document,
) -> Option<Finding> {
    (signup_open(invite_required) && !captcha_set(doc)).then(|| {
        Finding::warn("anyone can create an account, and no captcha guards sign-up")
            .about("PDS_INVITE_REQUIRED")
            .why("Spam bots scan for PDSes with open sign-up; a flood of accounts gets the whole host throttled by the relay, so no one's posts reach the app.")
            .fix("Require invite codes (PDS_INVITE_REQUIRED=true), or set up hCaptcha (PDS_HCAPTCHA_SITE_KEY and PDS_HCAPTCHA_SECRET_KEY), or put a gatekeeper in front of sign-up.")
    })
}

pub fn status(name: &str) -> KeyStatus {
    if let Some((_, since, instead)) = REMOVED.iter().find(|(k, _, _)| *k == name) {
        return KeyStatus::Removed { since, instead };
    }
    match lookup(name) {
        Some(info) => KeyStatus::Described(info),
        None if pds_reads(name) => KeyStatus::Read,
        None => match suggest(name) {
            Some(s) if s != name => KeyStatus::Misspelt(s),
            _ => KeyStatus::Unread,
        },
    }
}

pub fn pds_reads(name: &str) -> bool {
    lookup(name).is_some() || PDS_READS.contains(&name)
}

/// The key the PDS reads that `name` is almost certainly meant to be: the same letters in
/// another case, or two edits away. None for a key the PDS reads, or one far from all.
pub fn near_miss(name: &str) -> Option<&'static str> {
    if pds_reads(name) {
        return None;
    }
    let upper = name.to_ascii_uppercase();
    KEYS.iter()
        .map(|k| k.name)
        .chain(PDS_READS.iter().copied())
        .map(|k| (strsim::levenshtein(&upper, k), k))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, k)| k)
}

pub fn lookup(name: &str) -> Option<&'static KeyInfo> {
    KEYS.iter().find(|k| k.name == name)
}

/// The known key closest to an unknown one, when it is plausibly a typo.
pub fn suggest(name: &str) -> Option<&'static str> {
    let upper = name.to_ascii_uppercase();
    KEYS.iter()
        .map(|k| (strsim::levenshtein(&upper, k.name), k.name))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, n)| n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installer_defaults_are_valid() {
        for k in KEYS {
            if let Some(d) = k.installer_default {
                assert!(validate(k, d).is_empty(), "{} default {d}", k.name);
            }
        }
    }

    #[test]
    fn hostnames() {
        assert!(check_hostname("pds.example.com").is_ok());
        assert!(check_hostname("1.2.3.4").is_err());
        assert!(check_hostname("https://pds.example.com").is_err());
        assert!(check_hostname("localhost").is_err());
        assert!(check_hostname("-a.example.com").is_err());
        // One rule with the proxy step and handles: a top-level domain never starts with a
        // digit.
        assert!(check_hostname("pds.example.1com").is_err());
        assert!(crate::identity::Hostname::parse("pds.example.1com").is_err());
        assert!(check_hostname("PDS.Example.com").is_ok());
        // The error names the character (ROUGH-EDGES).
        let e = check_hostname("pds.exa mple.com").unwrap_err();
        assert!(e.contains("holds ' '"), "{e}");
    }

    #[test]
    fn lists_with_spaces_fail() {
        let k = lookup("PDS_CRAWLERS").unwrap();
        assert!(validate(k, "https://a.example,https://b.example").is_empty());
        assert_eq!(validate(k, "https://a.example, https://b.example").len(), 1);
        let d = lookup("PDS_SERVICE_HANDLE_DOMAINS").unwrap();
        assert!(validate(d, ".example.com,.other.org").is_empty());
        assert_eq!(validate(d, "example.com").len(), 1);
    }

    #[test]
    fn smtp_url_scheme_and_escapes() {
        let k = lookup("PDS_EMAIL_SMTP_URL").unwrap();
        assert!(validate(k, "smtps://u%40x.com:p%25w@smtp.example.com").is_empty());
        assert_eq!(validate(k, "smtps://u:p%w@smtp.example.com").len(), 1);
        assert_eq!(validate(k, "https://smtp.example.com").len(), 1);
    }

    #[test]
    fn k256_keys() {
        assert!(check_k256_hex(&"11".repeat(32)).is_ok());
        assert!(check_k256_hex(&"00".repeat(32)).is_err());
        assert!(check_k256_hex(&"ff".repeat(32)).is_err());
        assert!(check_k256_hex("abc").is_err());
    }

    #[test]
    fn near_misses_of_keys_the_pds_reads() {
        assert_eq!(near_miss("pds_hostname"), Some("PDS_HOSTNAME"));
        assert_eq!(near_miss("PDS_HOSTNAM"), Some("PDS_HOSTNAME"));
        assert_eq!(near_miss("PDS_ADMIN_PASSWRD"), Some("PDS_ADMIN_PASSWORD"));
        assert_eq!(near_miss("PDS_SERVICE_NAME"), None, "read by the PDS");
        assert_eq!(near_miss("MY_NOTE"), None);
    }

    #[test]
    fn typo_suggestions() {
        assert_eq!(suggest("PDS_HOSTNAM"), Some("PDS_HOSTNAME"));
        assert_eq!(suggest("pds_invite_required"), Some("PDS_INVITE_REQUIRED"));
        assert_eq!(suggest("SOMETHING_ELSE"), None);
    }

    #[test]
    fn colours_are_read_as_the_oauth_provider_reads_them() {
        for ok in ["#0af", "#0085FF", "rgb(0, 133, 255)", "rgb(0,0,0)  "] {
            assert_eq!(check_color(ok), Ok(()), "{ok}");
        }
        for bad in [
            "blue",
            "#0af8",
            "#0085ff80",
            "#12",
            "#ggg",
            "rgba(0,0,0,1)",
            "rgb(256,0,0)",
            "rgb(1,2)",
            " #0af",
            "",
        ] {
            assert!(check_color(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn did_keys_are_decoded() {
        // secp256k1 (the interop vectors' did:key) and P-256 (atproto's crypto docs).
        for ok in [
            "did:key:zQ3shZc2QzApp2oymGvQbzP8eKheVshBHbU4ZYjeXqwSKEn6N",
            "did:key:zDnaembgSGUhZULN2Caob4HLJPaxBh92N7rtH21TErzqf8HQo",
        ] {
            assert_eq!(check_did_key(ok), Ok(()), "{ok}");
        }
        for bad in [
            "did:key:nope",
            "did:plc:ar7c4by46qjdydhdevvrndac",
            "did:key:Q3shZc2QzApp2oymGvQbzP8eKheVshBHbU4ZYjeXqwSKEn6N",
            // One character short: the key is no longer 33 bytes.
            "did:key:zQ3shZc2QzApp2oymGvQbzP8eKheVshBHbU4ZYjeXqwSKEn6",
            "did:key:z0OIl",
        ] {
            assert!(check_did_key(bad).is_err(), "{bad}");
        }
        assert_eq!(base58_decode("1112"), Some(vec![0, 0, 0, 1]));
        assert_eq!(base58_decode("5R"), Some(vec![1, 0]));
    }

    #[test]
    fn bucket_names_follow_aws_rules() {
        assert_eq!(check_s3_bucket("my-pds.blobs"), Ok(()));
        for bad in ["ab", "My-Bucket", "-bucket", "bucket-", "under_score"] {
            assert!(check_s3_bucket(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_key_a_newer_version_added_says_since_when() {
        for k in [
            "PDS_BACKGROUND_LIGHT_URL",
            "PDS_BACKGROUND_DARK_URL",
            "PDS_BLOBSTORE_S3_REQUEST_TIMEOUT_MS",
            "PDS_EMAIL_DISABLE_CONFIRMATION_LINK",
            "PDS_INFO_COLOR",
        ] {
            let since = lookup(k).and_then(|i| i.since);
            assert!(
                since.is_some_and(|v| crate::version::Reported::parse(v).is_some()),
                "{k}: {since:?}"
            );
        }
    }

    #[test]
    fn sizes_written_for_people_are_explained_with_the_number() {
        let info = lookup("PDS_BLOB_UPLOAD_LIMIT").unwrap();
        let f = &validate(info, "300MB")[0];
        assert_eq!(f.level, crate::finding::Level::Fail);
        assert_eq!(
            f.what,
            "\"300MB\" is not a number of bytes: the PDS reads it as 300 bytes"
        );
        assert_eq!(f.fix, "Write 314572800 for 300 MiB.");
        assert_eq!(parse_size("1.5 GiB"), Some(1_610_612_736));
        assert_eq!(parse_size("512k"), Some(524_288));
        assert_eq!(parse_size("lots"), None);
        let f = &validate(info, "big")[0];
        assert!(
            f.what.ends_with("the PDS ignores it and allows 5 MiB"),
            "{}",
            f.what
        );
    }
}

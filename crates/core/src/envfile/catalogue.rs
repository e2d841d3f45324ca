//! The PDS_* keys the PDS reads (from its `config/env.js` and the official installer),
//! with their meaning, how to validate them, whether they are secret, and what the
//! installer writes. Drives validation, masking and the UI.

use crate::finding::Finding;
use serde::Serialize;

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

const fn key(name: &'static str, group: Group, kind: Kind, meaning: &'static str) -> KeyInfo {
    KeyInfo {
        name,
        group,
        meaning,
        kind,
        sensitivity: Sensitivity::Public,
        required: false,
        installer_default: None,
        since: None,
    }
}

const fn required(mut k: KeyInfo) -> KeyInfo {
    k.required = true;
    k
}
const fn secret(mut k: KeyInfo) -> KeyInfo {
    k.sensitivity = Sensitivity::Secret;
    k
}
const fn url_secret(mut k: KeyInfo) -> KeyInfo {
    k.sensitivity = Sensitivity::UrlPassword;
    k
}
const fn default(mut k: KeyInfo, v: &'static str) -> KeyInfo {
    k.installer_default = Some(v);
    k
}
const fn since(mut k: KeyInfo, version: &'static str) -> KeyInfo {
    k.since = Some(version);
    k
}

use Group::*;
use Kind::*;

/// In the order the installer writes them, then the keys it leaves out.
pub static KEYS: &[KeyInfo] = &[
    required(key(
        "PDS_HOSTNAME",
        Basics,
        Hostname,
        "Public DNS name of the PDS (not an IP address); handles default to subdomains of it",
    )),
    required(secret(key(
        "PDS_JWT_SECRET",
        Secrets,
        HexSecret,
        "Signs access tokens; changing it logs every user out",
    ))),
    required(secret(key(
        "PDS_ADMIN_PASSWORD",
        Basics,
        HexSecret,
        "Password for admin calls (pdsadmin, goat) as user `admin`",
    ))),
    required(secret(key(
        "PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX",
        Secrets,
        K256Key,
        "secp256k1 key that controls your accounts' did:plc identities; never regenerate it",
    ))),
    required(default(
        key(
            "PDS_DATA_DIRECTORY",
            Storage,
            AbsPath,
            "Where the PDS keeps its SQLite databases",
        ),
        "/pds",
    )),
    default(
        key(
            "PDS_BLOBSTORE_DISK_LOCATION",
            Storage,
            AbsPath,
            "Where uploaded images and videos are stored",
        ),
        "/pds/blocks",
    ),
    default(
        key(
            "PDS_BLOB_UPLOAD_LIMIT",
            Basics,
            Bytes,
            "Largest upload in bytes (the PDS's own default is 5 MiB; the installer writes 300 MiB)",
        ),
        // What installer.sh writes for new installs since 2026 (PDS-FACTS); older installs
        // keep the 100 MiB it wrote before.
        "314572800",
    ),
    default(
        key(
            "PDS_DID_PLC_URL",
            Network,
            HttpUrl,
            "PLC directory that holds did:plc identities",
        ),
        "https://plc.directory",
    ),
    default(
        key(
            "PDS_BSKY_APP_VIEW_URL",
            Network,
            HttpUrl,
            "AppView that serves timelines (needs PDS_BSKY_APP_VIEW_DID)",
        ),
        "https://api.bsky.app",
    ),
    default(
        key("PDS_BSKY_APP_VIEW_DID", Network, Did, "DID of the AppView"),
        "did:web:api.bsky.app",
    ),
    default(
        key(
            "PDS_REPORT_SERVICE_URL",
            Network,
            HttpUrl,
            "Moderation service for reports (needs PDS_REPORT_SERVICE_DID)",
        ),
        "https://mod.bsky.app",
    ),
    default(
        key(
            "PDS_REPORT_SERVICE_DID",
            Network,
            Did,
            "DID of the moderation service",
        ),
        "did:plc:ar7c4by46qjdydhdevvrndac",
    ),
    default(
        key(
            "PDS_CRAWLERS",
            Network,
            HttpUrlList,
            "Relays told about new posts, comma-separated with no spaces",
        ),
        "https://bsky.network",
    ),
    default(
        key(
            "LOG_ENABLED",
            Operations,
            LogEnabled,
            "Request logging: on only for true, t or 1",
        ),
        "true",
    ),
    default(
        key(
            "PDS_RATE_LIMITS_ENABLED",
            Operations,
            Bool,
            "Per-client rate limits (code default: off)",
        ),
        "true",
    ),
    default(
        key(
            "PDS_INVITE_REQUIRED",
            Basics,
            Bool,
            "Whether new accounts need an invite code",
        ),
        "true",
    ),
    key(
        "PDS_PORT",
        Basics,
        Port,
        "Port the PDS listens on (the image sets 3000; code default 2583)",
    ),
    key(
        "PDS_SERVICE_HANDLE_DOMAINS",
        Basics,
        HandleDomains,
        "Handle suffixes offered at sign-up, each starting with a dot (default .HOSTNAME)",
    ),
    key(
        "PDS_CONTACT_EMAIL_ADDRESS",
        Basics,
        EmailAddress,
        "Contact address shown to users in describeServer",
    ),
    url_secret(key(
        "PDS_EMAIL_SMTP_URL",
        Email,
        SmtpUrl,
        "SMTP server for verification and password-reset mail (smtps://user:pass@host:465)",
    )),
    key(
        "PDS_EMAIL_FROM_ADDRESS",
        Email,
        FromAddress,
        "Sender of the PDS's mail; must be set together with PDS_EMAIL_SMTP_URL",
    ),
    url_secret(key(
        "PDS_MODERATION_EMAIL_SMTP_URL",
        Email,
        SmtpUrl,
        "SMTP server for moderation mail",
    )),
    key(
        "PDS_MODERATION_EMAIL_ADDRESS",
        Email,
        FromAddress,
        "Sender of moderation mail",
    ),
    key(
        "PDS_DEV_MODE",
        Operations,
        Bool,
        "Development mode: never on a public server",
    ),
    secret(key(
        "PDS_DPOP_SECRET",
        Secrets,
        HexSecret,
        "Secret for OAuth DPoP nonces (generated when absent)",
    )),
    // Not read by 0.5.0, read by 0.5.26; the registry holds no release between, so only
    // "after 0.5.0" is certain.
    since(
        key(
            "PDS_EMAIL_DISABLE_CONFIRMATION_LINK",
            Email,
            Bool,
            "Leave the confirmation link out of verification mail (users type the code instead)",
        ),
        "0.5.1",
    ),
    // Blob storage on S3 (config.js: a bucket switches the blobstore to S3; a bucket and
    // a disk location together stop the PDS at start).
    key(
        "PDS_BLOBSTORE_S3_BUCKET",
        BlobstoreS3,
        S3Bucket,
        "S3 bucket for uploads, instead of PDS_BLOBSTORE_DISK_LOCATION (never both)",
    ),
    key(
        "PDS_BLOBSTORE_S3_REGION",
        BlobstoreS3,
        Text,
        "Region of the bucket (us-east-1; Cloudflare R2: auto)",
    ),
    key(
        "PDS_BLOBSTORE_S3_ENDPOINT",
        BlobstoreS3,
        HttpUrl,
        "Endpoint of an S3-compatible service (R2, MinIO, B2…); unset for AWS",
    ),
    key(
        "PDS_BLOBSTORE_S3_FORCE_PATH_STYLE",
        BlobstoreS3,
        Bool,
        "Bucket in the URL path instead of the host name (MinIO and most self-hosted S3)",
    ),
    key(
        "PDS_BLOBSTORE_S3_UPLOAD_TIMEOUT_MS",
        BlobstoreS3,
        Millis,
        "Time an upload to S3 may take, in ms (default 20000)",
    ),
    since(
        key(
            "PDS_BLOBSTORE_S3_REQUEST_TIMEOUT_MS",
            BlobstoreS3,
            Millis,
            "Time any other S3 request may take, in ms",
        ),
        "0.5.16",
    ),
    // Branding: the sign-in and account pages (config.js brandingCfg; the OAuth provider
    // checks each value when the PDS starts and refuses to start on a bad one).
    key(
        "PDS_SERVICE_NAME",
        Branding,
        Text,
        "Name shown on the sign-in pages (default \"HOSTNAME PDS\")",
    ),
    key(
        "PDS_LOGO_URL",
        Branding,
        ImageUrl,
        "Logo on the sign-in pages",
    ),
    key(
        "PDS_HOME_URL",
        Branding,
        LinkUrl,
        "\"Home\" link on the sign-in pages",
    ),
    key(
        "PDS_TERMS_OF_SERVICE_URL",
        Branding,
        LinkUrl,
        "Terms of service, linked at sign-up and in describeServer",
    ),
    key(
        "PDS_PRIVACY_POLICY_URL",
        Branding,
        LinkUrl,
        "Privacy policy, linked at sign-up and in describeServer",
    ),
    key(
        "PDS_SUPPORT_URL",
        Branding,
        LinkUrl,
        "Support link on the sign-in pages",
    ),
    key("PDS_PRIMARY_COLOR", Branding, Color, "Primary colour of the sign-in pages"),
    key("PDS_ERROR_COLOR", Branding, Color, "Colour of errors on the sign-in pages"),
    key("PDS_WARNING_COLOR", Branding, Color, "Colour of warnings on the sign-in pages"),
    key("PDS_SUCCESS_COLOR", Branding, Color, "Colour of success on the sign-in pages"),
    since(
        key("PDS_INFO_COLOR", Branding, Color, "Colour of notices on the sign-in pages"),
        "0.5.0",
    ),
    since(
        key(
            "PDS_BACKGROUND_LIGHT_URL",
            Branding,
            ImageUrl,
            "Background image of the sign-in pages in light mode",
        ),
        "0.5.26",
    ),
    since(
        key(
            "PDS_BACKGROUND_DARK_URL",
            Branding,
            ImageUrl,
            "Background image of the sign-in pages in dark mode",
        ),
        "0.5.26",
    ),
    key(
        "PDS_RECOVERY_DID_KEY",
        Recovery,
        DidKey,
        "A did:key you hold offline, added as a rotation key to new accounts' identities so you can recover them without the PDS",
    ),
    // The other secrets the PDS reads (its config/env.js): masked everywhere, refused on
    // the command line and in the answers file.
    secret(key(
        "PDS_BLOBSTORE_S3_ACCESS_KEY_ID",
        BlobstoreS3,
        Text,
        "Access key ID for an S3 blobstore",
    )),
    secret(key(
        "PDS_BLOBSTORE_S3_SECRET_ACCESS_KEY",
        BlobstoreS3,
        Text,
        "Secret access key for an S3 blobstore",
    )),
    secret(key(
        "PDS_HCAPTCHA_SECRET_KEY",
        Secrets,
        Text,
        "hCaptcha secret key for sign-up checks",
    )),
    secret(key(
        "PDS_HCAPTCHA_TOKEN_SALT",
        Secrets,
        Text,
        "Salt for hCaptcha tokens",
    )),
    secret(key(
        "PDS_REDIS_SCRATCH_PASSWORD",
        Secrets,
        Text,
        "Password of the Redis scratch store",
    )),
    secret(key(
        "PDS_ENTRYWAY_ADMIN_TOKEN",
        Secrets,
        Text,
        "Admin token for an entryway deployment",
    )),
    secret(key(
        "PDS_RATE_LIMIT_BYPASS_KEY",
        Secrets,
        Text,
        "Header value that lets a client bypass rate limits",
    )),
];

/// Every variable the PDS's env reader (`dist/config/env.js`) reads in @atproto/pds
/// 0.4.217 and 0.5.35, described in `KEYS` or not. A name here is never called a typo.
pub static PDS_READS: &[&str] = &[
    "PDS_ACCEPTING_REPO_IMPORTS",
    "PDS_ACCOUNT_DB_LOCATION",
    "PDS_ACTOR_STORE_CACHE_SIZE",
    "PDS_ACTOR_STORE_DIRECTORY",
    "PDS_ADMIN_PASSWORD",
    "PDS_BACKGROUND_DARK_URL",
    "PDS_BACKGROUND_LIGHT_URL",
    "PDS_BLOBSTORE_DISK_LOCATION",
    "PDS_BLOBSTORE_DISK_TMP_LOCATION",
    "PDS_BLOBSTORE_S3_ACCESS_KEY_ID",
    "PDS_BLOBSTORE_S3_BUCKET",
    "PDS_BLOBSTORE_S3_ENDPOINT",
    "PDS_BLOBSTORE_S3_FORCE_PATH_STYLE",
    "PDS_BLOBSTORE_S3_REGION",
    "PDS_BLOBSTORE_S3_REQUEST_TIMEOUT_MS",
    "PDS_BLOBSTORE_S3_SECRET_ACCESS_KEY",
    "PDS_BLOBSTORE_S3_UPLOAD_TIMEOUT_MS",
    "PDS_BLOB_UPLOAD_LIMIT",
    "PDS_BSKY_APP_VIEW_CDN_URL_PATTERN",
    "PDS_BSKY_APP_VIEW_DID",
    "PDS_BSKY_APP_VIEW_URL",
    "PDS_CONTACT_EMAIL_ADDRESS",
    "PDS_CRAWLERS",
    "PDS_DARK_COLOR",
    "PDS_DATA_DIRECTORY",
    "PDS_DEV_MODE",
    "PDS_DID_CACHE_DB_LOCATION",
    "PDS_DID_CACHE_MAX_TTL",
    "PDS_DID_CACHE_STALE_TTL",
    "PDS_DID_PLC_URL",
    "PDS_DISABLE_SSRF_PROTECTION",
    "PDS_DPOP_SECRET",
    "PDS_EMAIL_DISABLE_CONFIRMATION_LINK",
    "PDS_EMAIL_FROM_ADDRESS",
    "PDS_EMAIL_SMTP_URL",
    "PDS_ENABLE_DID_DOC_WITH_SESSION",
    "PDS_ENTRYWAY_ADMIN_TOKEN",
    "PDS_ENTRYWAY_DID",
    "PDS_ENTRYWAY_JWT_VERIFY_KEY_K256_PUBLIC_KEY_HEX",
    "PDS_ENTRYWAY_PLC_ROTATION_KEY",
    "PDS_ENTRYWAY_URL",
    "PDS_ERROR_COLOR",
    "PDS_ERROR_COLOR_CONTRAST",
    "PDS_ERROR_COLOR_HUE",
    "PDS_FETCH_MAX_RESPONSE_SIZE",
    "PDS_HANDLE_BACKUP_NAMESERVERS",
    "PDS_HCAPTCHA_SECRET_KEY",
    "PDS_HCAPTCHA_SITE_KEY",
    "PDS_HCAPTCHA_TOKEN_SALT",
    "PDS_HOME_URL",
    "PDS_HOSTNAME",
    "PDS_ID_RESOLVER_TIMEOUT",
    "PDS_INFO_COLOR",
    "PDS_INVITE_EPOCH",
    "PDS_INVITE_INTERVAL",
    "PDS_INVITE_REQUIRED",
    "PDS_JWT_SECRET",
    "PDS_LEXICON_AUTHORITY_DID",
    "PDS_LIGHT_COLOR",
    "PDS_LOGO_URL",
    "PDS_MAX_REPO_IMPORT_SIZE",
    "PDS_MAX_SUBSCRIPTION_BUFFER",
    "PDS_MODERATION_EMAIL_ADDRESS",
    "PDS_MODERATION_EMAIL_SMTP_URL",
    "PDS_MOD_SERVICE_DID",
    "PDS_MOD_SERVICE_URL",
    "PDS_OAUTH_TRUSTED_CLIENTS",
    "PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX",
    "PDS_PLC_ROTATION_KEY_KMS_KEY_ID",
    "PDS_PORT",
    "PDS_PRIMARY_COLOR",
    "PDS_PRIMARY_COLOR_CONTRAST",
    "PDS_PRIMARY_COLOR_HUE",
    "PDS_PRIVACY_POLICY_URL",
    "PDS_PROXY_ALLOW_HTTP2",
    "PDS_PROXY_BODY_TIMEOUT",
    "PDS_PROXY_HEADERS_TIMEOUT",
    "PDS_PROXY_MAX_RESPONSE_SIZE",
    "PDS_PROXY_MAX_RETRIES",
    "PDS_PROXY_PREFER_COMPRESSED",
    "PDS_RATE_LIMITS_ENABLED",
    "PDS_RATE_LIMIT_BYPASS_IPS",
    "PDS_RATE_LIMIT_BYPASS_KEY",
    "PDS_RECOVERY_DID_KEY",
    "PDS_REDIS_SCRATCH_ADDRESS",
    "PDS_REDIS_SCRATCH_PASSWORD",
    "PDS_REPORT_SERVICE_DID",
    "PDS_REPORT_SERVICE_URL",
    "PDS_REPO_BACKFILL_LIMIT_MS",
    "PDS_SEQUENCER_DB_LOCATION",
    "PDS_SERVICE_DID",
    "PDS_SERVICE_HANDLE_DOMAINS",
    "PDS_SERVICE_NAME",
    "PDS_SQLITE_DISABLE_WAL_AUTO_CHECKPOINT",
    "PDS_SUCCESS_COLOR",
    "PDS_SUCCESS_COLOR_CONTRAST",
    "PDS_SUCCESS_COLOR_HUE",
    "PDS_SUPPORT_URL",
    "PDS_TERMS_OF_SERVICE_URL",
    "PDS_VERSION",
    "PDS_WARNING_COLOR",
    "PDS_WARNING_COLOR_CONTRAST",
    "PDS_WARNING_COLOR_HUE",
];

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

/// Keys a newer @atproto/pds no longer reads (from the env readers of 0.4.217 and 0.5.35;
/// PDS-FACTS "The PDS in 2026"). They stay in `PDS_READS`: older versions still read them.
pub static REMOVED: &[(&str, &str, &str)] = &[
    // 0.5.26 replaced the colour theme with background images.
    ("PDS_LIGHT_COLOR", "0.5.26", "PDS_BACKGROUND_LIGHT_URL"),
    ("PDS_DARK_COLOR", "0.5.26", "PDS_BACKGROUND_DARK_URL"),
    ("PDS_CONTRAST_SATURATION", "0.5.26", ""),
    ("PDS_PRIMARY_COLOR_HUE", "0.5.26", ""),
    ("PDS_PRIMARY_COLOR_CONTRAST", "0.5.26", ""),
    ("PDS_ERROR_COLOR_HUE", "0.5.26", ""),
    ("PDS_ERROR_COLOR_CONTRAST", "0.5.26", ""),
    ("PDS_SUCCESS_COLOR_HUE", "0.5.26", ""),
    ("PDS_SUCCESS_COLOR_CONTRAST", "0.5.26", ""),
    ("PDS_WARNING_COLOR_HUE", "0.5.26", ""),
    ("PDS_WARNING_COLOR_CONTRAST", "0.5.26", ""),
];

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

/// The items of a comma list with blanks around them, as one sentence (the PDS splits on
/// commas without trimming); None when there are none.
fn spaced_items(value: &str) -> Option<String> {
    let spaced: Vec<String> = value
        .split(',')
        .filter(|i| *i != i.trim())
        .map(|i| format!("{i:?}"))
        .collect();
    match spaced.len() {
        0 => None,
        1 => Some(format!(
            "{} has spaces around it; the PDS splits on commas without trimming",
            spaced[0]
        )),
        _ => Some(format!(
            "{} have spaces around them; the PDS splits on commas without trimming",
            spaced.join(", ")
        )),
    }
}

/// What JavaScript's `parseInt(value, 10)` makes of a value (the PDS's envInt): leading
/// blanks and a sign, then the digits up to the first other character. None for NaN.
fn js_parse_int(value: &str) -> Option<i64> {
    let t = value.trim_start();
    let (neg, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let digits: String = t.chars().take_while(char::is_ascii_digit).collect();
    let n: i64 = digits.parse().ok()?;
    Some(if neg { -n } else { n })
}

/// A size as people write it ("300MB", "300 MiB", "1.5G", "512k"), in bytes; units are
/// binary, as the installer's "300 MB" (314572800) is.
pub fn parse_size(value: &str) -> Option<u64> {
    let t = value.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let num: f64 = num.parse().ok()?;
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return None,
    };
    Some((num * factor as f64).round() as u64)
}

/// A byte count as people read it: whole MiB as such (104857600 → "100 MiB"), other sizes
/// over 1 MiB to a tenth, small ones in bytes.
pub fn human_bytes(n: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if n >= MIB && n.is_multiple_of(MIB) {
        format!("{} MiB", n / MIB)
    } else if n >= MIB {
        format!("{:.1} MiB", n as f64 / MIB as f64)
    } else {
        format!("{n} bytes")
    }
}

/// Validate one value of a known key; empty findings mean it is fine.
pub fn validate(info: &KeyInfo, value: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    let f = |what: String| Finding::fail(what).about(info.name);
    let w = |what: String| Finding::warn(what).about(info.name);
    if value.is_empty() {
        if info.required {
            out.push(
                f("is empty; the PDS will not start without it".into())
                    .fix(format!("Set {}.", info.name)),
            );
        }
        return out;
    }
    match info.kind {
        Hostname => {
            if let Err(e) = check_hostname(value) {
                out.push(f(e).fix("Use the public DNS name, e.g. pds.example.com."));
            }
        }
        Port => match value.parse::<u16>() {
            Ok(0) | Err(_) => out.push(f(format!("{value:?} is not a port number (1-65535)"))),
            Ok(_) => {}
        },
        EmailAddress => {
            if let Err(e) = check_email(value) {
                out.push(f(e));
            }
        }
        FromAddress => {
            let addr = match (value.find('<'), value.strip_suffix('>')) {
                (Some(i), Some(inner)) => &inner[i + 1..],
                _ => value,
            };
            if let Err(e) = check_email(addr.trim()) {
                out.push(f(e).fix(
                    "Use an address like noreply@example.com or \"My PDS <noreply@example.com>\".",
                ));
            }
        }
        Bool => {
            if !matches!(value, "true" | "false" | "1" | "0") {
                out.push(w(format!("{value:?} is neither true nor false; the PDS ignores it and uses its default")).fix("Write true or false."));
            }
        }
        LogEnabled => {
            if !matches!(value, "true" | "t" | "1" | "false" | "f" | "0") {
                out.push(
                    w(format!(
                        "{value:?} turns logging off (only true, t or 1 mean on)"
                    ))
                    .fix("Write true or false."),
                );
            }
        }
        Bytes => match value.parse::<u64>() {
            Ok(n) if n < 1024 * 1024 => out.push(w(format!(
                "{n} bytes is under 1 MiB: most photos will fail to upload"
            ))),
            Ok(_) => {}
            Err(_) => {
                // The PDS reads it with JavaScript's parseInt: "300MB" is 300 bytes.
                let read = match js_parse_int(value) {
                    Some(n) => format!("the PDS reads it as {n} bytes"),
                    None => "the PDS ignores it and allows 5 MiB".to_string(),
                };
                let fix = match parse_size(value) {
                    Some(n) => format!("Write {n} for {}.", human_bytes(n)),
                    None => "Write a number of bytes, e.g. 314572800 for 300 MiB.".to_string(),
                };
                out.push(f(format!("{value:?} is not a number of bytes: {read}")).fix(fix));
            }
        },
        HttpUrl => {
            if let Err(e) = check_http_url(value) {
                out.push(f(e));
            }
        }
        LinkUrl => {
            if reqwest::Url::parse(value).is_err() {
                out.push(
                    f(format!("{value:?} is not a URL; the PDS refuses to start"))
                        .why("The sign-in pages check every link when the PDS starts.")
                        .fix("Write a full URL, e.g. https://example.com/terms."),
                );
            }
        }
        ImageUrl => {
            // The OAuth provider's imageUrlSchema: a URL, and its text starts with one of
            // these (case matters there).
            let scheme_ok = ["data:", "http:", "https:"]
                .iter()
                .any(|p| value.starts_with(p));
            if reqwest::Url::parse(value).is_err() || !scheme_ok {
                out.push(
                    f(format!(
                        "{value:?} is not an http:, https: or data: URL; the PDS refuses to start"
                    ))
                    .why("The sign-in pages check their images when the PDS starts.")
                    .fix("Write a full URL, e.g. https://example.com/background.jpg."),
                );
            }
        }
        Color => {
            if let Err(e) = check_color(value) {
                out.push(
                    f(format!("{value:?}: {e}; the PDS refuses to start"))
                        .why("The sign-in pages read their colours when the PDS starts.")
                        .fix("Write #rrggbb (e.g. #0085ff), #rgb, or rgb(0, 133, 255)."),
                );
            }
        }
        DidKey => {
            if let Err(e) = check_did_key(value) {
                out.push(
                    f(e)
                        .why("The PDS starts, but every sign-up fails (\"Unsupported key type\").")
                        .fix("Use the did:key of a key you hold (goat key generate prints one), or remove the line."),
                );
            }
        }
        S3Bucket => {
            if let Err(e) = check_s3_bucket(value) {
                out.push(
                    w(e).why("AWS S3 refuses such a name; some S3-compatible services accept it."),
                );
            }
        }
        Millis => {
            if value.parse::<u64>().is_err() {
                out.push(
                    w(format!(
                        "{value:?} is not a whole number of milliseconds; the PDS ignores it and uses its default"
                    ))
                    .fix("e.g. 20000 for 20 seconds."),
                );
            }
        }
        HttpUrlList => {
            if let Some(spaced) = spaced_items(value) {
                out.push(f(spaced).fix("Remove the spaces: https://a.example,https://b.example"));
            }
            for item in value.split(',').filter(|i| *i == i.trim()) {
                if let Err(e) = check_http_url(item) {
                    out.push(f(e));
                }
            }
        }
        HandleDomains => {
            // One finding for every item with spaces: one fix, said once.
            if let Some(spaced) = spaced_items(value) {
                out.push(f(spaced).fix("Remove the spaces after the commas."));
            }
            for item in value.split(',').filter(|i| *i == i.trim()) {
                if !item.starts_with('.') {
                    out.push(
                        f(format!("{item:?} must start with a dot")).fix(format!("Write .{item}")),
                    );
                } else if let Err(e) = check_hostname(&item[1..]) {
                    out.push(f(format!("{item:?}: {e}")));
                }
            }
        }
        Did => {
            if let Err(e) = check_did(value) {
                out.push(f(e));
            }
        }
        HexSecret => {
            if value.len() < 16 {
                out.push(
                    w("is shorter than 16 characters; a guessable secret".into())
                        .fix("Use `openssl rand --hex 16` or let `env init` generate one."),
                );
            }
        }
        K256Key => {
            if let Err(e) = check_k256_hex(value) {
                out.push(f(e).why("The PDS signs PLC operations with it; a bad key stops it from starting.").fix("Restore the key from your backup. Never generate a new one for an existing install: your accounts' identities are tied to it."));
            }
        }
        AbsPath => {
            if !value.starts_with('/') {
                out.push(f(format!("{value:?} is not an absolute path")));
            }
        }
        SmtpUrl => {
            // One judge of SMTP URLs: the email module reads them as nodemailer does.
            out.extend(
                crate::smtp_url::url_findings(value)
                    .into_iter()
                    .filter(|f| f.level >= crate::finding::Level::Warn)
                    .map(|f| Finding {
                        subject: Some(info.name.to_string()),
                        ..f
                    }),
            );
        }
        Text => {}
    }
    out
}

/// A DNS hostname the PDS can use: the one name rule (`identity::Hostname`), with the
/// PDS's own words for the two mistakes operators make (a URL, an IP address).
pub fn check_hostname(value: &str) -> Result<(), String> {
    if value.contains("://") || value.contains('/') {
        return Err(format!("{value:?} is a URL; give only the host name"));
    }
    if value.parse::<std::net::IpAddr>().is_ok() {
        return Err(format!(
            "{value:?} is an IP address; the PDS needs a DNS name"
        ));
    }
    if value
        .trim_end_matches('.')
        .to_ascii_lowercase()
        .ends_with(".local")
    {
        return Err(format!(
            "{value:?} is an mDNS name (.local), which never resolves outside this network; the PDS needs a public DNS name"
        ));
    }
    crate::identity::Hostname::parse(value)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

pub fn check_email(value: &str) -> Result<(), String> {
    let Some((local, domain)) = value.rsplit_once('@') else {
        return Err(format!("{value:?} is not an email address (no @)"));
    };
    if local.is_empty() || local.contains(char::is_whitespace) {
        return Err(format!("{value:?} is not an email address"));
    }
    check_hostname(domain).map_err(|e| format!("{value:?}: domain {e}"))
}

pub fn check_http_url(value: &str) -> Result<(), String> {
    let Some(rest) = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"))
    else {
        return Err(format!("{value:?} is not an http(s) URL"));
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(format!("{value:?} has no host"));
    }
    Ok(())
}

/// A colour as the OAuth provider's `parseColor` reads it, alpha refused (its
/// rgbColorSchema): `#rgb`, `#rrggbb`, `rgb(r, g, b)`.
pub fn check_color(value: &str) -> Result<(), String> {
    if let Some(hex) = value.strip_prefix('#') {
        if hex.is_empty() || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err("not a hex colour".into());
        }
        return match hex.len() {
            3 | 6 => Ok(()),
            4 | 8 => Err("colours with transparency (alpha) are not supported".into()),
            _ => Err("a hex colour has 3 or 6 digits".into()),
        };
    }
    if value.starts_with("rgba(") {
        return Err("colours with transparency (alpha) are not supported".into());
    }
    if value.starts_with("rgb(") {
        // /^\s*rgb\(\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*\)\s*$/, each 0-255.
        let inner = value
            .trim_end()
            .strip_suffix(')')
            .map(|t| &t["rgb(".len()..])
            .ok_or("rgb(…) is not closed")?;
        let parts: Vec<&str> = inner.split(',').map(str::trim).collect();
        let ok = parts.len() == 3
            && parts.iter().all(|p| {
                !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()) && p.parse::<u8>().is_ok()
            });
        return if ok {
            Ok(())
        } else {
            Err("rgb(…) takes three numbers from 0 to 255".into())
        };
    }
    Err("not a colour the PDS reads (#rrggbb, #rgb or rgb(r, g, b); no colour names)".into())
}

/// A did:key public key the PLC directory takes as a rotation key: base58btc multibase
/// (`z…`) of a compressed secp256k1 (multicodec 0xe7) or P-256 (0x1200) key.
pub fn check_did_key(value: &str) -> Result<(), String> {
    let Some(mb) = value.strip_prefix("did:key:") else {
        return Err(format!("{value:?} is not a did:key (did:key:z…)"));
    };
    let Some(b58) = mb.strip_prefix('z') else {
        return Err(format!(
            "{value:?} is not base58btc (a did:key's key starts with z)"
        ));
    };
    let bytes = base58_decode(b58).ok_or_else(|| format!("{value:?} is not valid base58"))?;
    match bytes.as_slice() {
        [0xe7, 0x01, key @ ..] | [0x80, 0x24, key @ ..]
            if key.len() == 33 && matches!(key[0], 2 | 3) =>
        {
            Ok(())
        }
        _ => Err(format!(
            "{value:?} is not a compressed secp256k1 or P-256 public key"
        )),
    }
}

fn base58_decode(s: &str) -> Option<Vec<u8>> {
    const ALPHABET: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    // Little-endian base-256 digits of the number, grown as it is read.
    let mut num: Vec<u8> = Vec::new();
    for c in s.bytes() {
        let mut carry = ALPHABET.iter().position(|&a| a == c)? as u32;
        for d in num.iter_mut() {
            carry += u32::from(*d) * 58;
            *d = carry as u8;
            carry >>= 8;
        }
        while carry > 0 {
            num.push(carry as u8);
            carry >>= 8;
        }
    }
    let zeros = s.bytes().take_while(|&c| c == b'1').count();
    let mut out = vec![0; zeros];
    out.extend(num.iter().rev());
    Some(out)
}

/// AWS's bucket naming rules: 3 to 63 lowercase letters, digits, dots and hyphens,
/// starting and ending with a letter or digit.
pub fn check_s3_bucket(value: &str) -> Result<(), String> {
    let ok_chars = value
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-');
    let ends = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !(3..=63).contains(&value.len()) {
        Err(format!("{value:?}: a bucket name has 3 to 63 characters"))
    } else if !ok_chars {
        Err(format!(
            "{value:?}: a bucket name has only lowercase letters, digits, dots and hyphens"
        ))
    } else if !ends(value.chars().next()) || !ends(value.chars().last()) {
        Err(format!(
            "{value:?}: a bucket name starts and ends with a letter or digit"
        ))
    } else {
        Ok(())
    }
}

/// DID syntax per the atproto spec (see `identity::Did`).
pub fn check_did(value: &str) -> Result<(), String> {
    crate::identity::Did::parse_usable(value)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// A 64-hex-digit secp256k1 private key that is a valid, non-zero scalar.
pub fn check_k256_hex(value: &str) -> Result<(), String> {
    if value.len() != 64 {
        return Err(format!("must be 64 hex digits, has {}", value.len()));
    }
    let bytes =
        hex::decode(value).map_err(|_| "holds characters that are not hex digits".to_string())?;
    k256::SecretKey::from_slice(&bytes)
        .map_err(|_| "is not a valid secp256k1 private key".to_string())?;
    Ok(())
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

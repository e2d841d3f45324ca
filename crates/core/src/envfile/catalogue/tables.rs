//! The tables: every key the PDS reads with its meaning, kind and installer default, the
//! names its env reader knows, and the keys it no longer reads.

use super::*;
use Group::*;
use Kind::*;

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

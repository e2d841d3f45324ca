//! `init`: a fresh pds.env as the official installer writes it.

use super::catalogue::{self, KEYS};
use super::{Document, EnvError};
use crate::fsutil;
use std::path::Path;

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    // The OS RNG failing is not something to recover from: no secret is better than a weak one.
    getrandom::fill(&mut b).expect("the operating system's random number generator failed");
    b
}

/// A secp256k1 private key as 64 hex digits. Rejection-sampled so every key is a valid,
/// non-zero scalar below the curve order (as `openssl ecparam --genkey` produces).
pub fn generate_k256_hex() -> String {
    loop {
        let b = random_bytes::<32>();
        if k256::SecretKey::from_slice(&b).is_ok() {
            return hex::encode(b);
        }
    }
}

/// What `openssl rand --hex 16` gives the installer.
pub fn generate_hex_secret() -> String {
    hex::encode(random_bytes::<16>())
}

/// The installer's pds.env for `hostname`, with fresh secrets. The admin email, which the
/// installer gives only to Caddy for ACME, is recorded as PDS_CONTACT_EMAIL_ADDRESS.
pub fn init_document(
    hostname: &str,
    admin_email: &str,
    data_dir: &str,
) -> Result<Document, EnvError> {
    let invalid = |key: &str, reason: String| EnvError::Invalid {
        key: key.to_string(),
        reason,
    };
    catalogue::check_hostname(hostname).map_err(|e| invalid("hostname", e))?;
    catalogue::check_email(admin_email).map_err(|e| invalid("admin email", e))?;
    if !data_dir.starts_with('/') {
        return Err(invalid(
            "data directory",
            format!("{data_dir:?} is not an absolute path"),
        ));
    }
    let data_dir = data_dir.trim_end_matches('/');
    // Written line by line in the installer's order (not through `set`, which groups).
    let mut text = String::new();
    let mut add = |key: &str, value: &str| -> Result<(), EnvError> {
        text.push_str(&format!("{key}={}\n", super::encode_value(key, value)?));
        Ok(())
    };
    for info in KEYS {
        let value = match info.name {
            "PDS_HOSTNAME" => hostname.to_string(),
            "PDS_JWT_SECRET" | "PDS_ADMIN_PASSWORD" => generate_hex_secret(),
            "PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX" => generate_k256_hex(),
            "PDS_DATA_DIRECTORY" => data_dir.to_string(),
            "PDS_BLOBSTORE_DISK_LOCATION" => format!("{data_dir}/blocks"),
            _ => match info.installer_default {
                Some(d) => d.to_string(),
                None => continue,
            },
        };
        add(info.name, &value)?;
    }
    add("PDS_CONTACT_EMAIL_ADDRESS", admin_email)?;
    Ok(Document::parse(&text))
}

/// Write a fresh pds.env at `path` (mode 0600; a missing parent is made with mode 0700,
/// like the installer's /pds). Refuses to overwrite.
pub fn init_file(
    path: &Path,
    hostname: &str,
    admin_email: &str,
    data_dir: &str,
) -> Result<Document, EnvError> {
    if path.exists() {
        return Err(EnvError::Exists {
            path: path.to_path_buf(),
        });
    }
    let doc = init_document(hostname, admin_email, data_dir)?;
    if let Some(parent) = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty() && !p.exists())
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)
            .map_err(|cause| EnvError::Read {
                path: parent.to_path_buf(),
                cause,
            })?;
    }
    let text = doc.render();
    // Created only where nothing is: two inits that meet cannot both win (the loser would
    // replace the winner's freshly generated keys).
    match fsutil::safe_write(
        path,
        text.as_bytes(),
        fsutil::WriteOptions::secret().create_new(),
    ) {
        Err(e) if e.cause.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(EnvError::Exists {
                path: path.to_path_buf(),
            })
        }
        r => r?,
    };
    Document::load(path)
}

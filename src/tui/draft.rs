//! Unsaved answers survive a dropped SSH session: they are written to a draft file
//! (mode 0600) after every change and offered back on the next start.

use crate::fsutil::{self, WriteOptions};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Draft {
    pub env_file: PathBuf,
    /// Fingerprint of pds.env when the answers were given, to tell whether it changed since.
    pub base_fingerprint: String,
    pub saved_at: String,
    pub answers: BTreeMap<String, String>,
}

use crate::fsutil::state_dir;

pub fn fingerprint(bytes: &[u8]) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    format!("{:016x}-{}", h.finish(), bytes.len())
}

/// One draft per env file.
pub fn draft_path(env_file: &Path) -> PathBuf {
    let abs = std::path::absolute(env_file).unwrap_or_else(|_| env_file.to_path_buf());
    let mut h = std::collections::hash_map::DefaultHasher::new();
    abs.hash(&mut h);
    state_dir().join(format!("draft-{:016x}.toml", h.finish()))
}

pub fn load(env_file: &Path) -> Option<Draft> {
    let text = std::fs::read_to_string(draft_path(env_file)).ok()?;
    toml::from_str::<Draft>(&text)
        .ok()
        .filter(|d| !d.answers.is_empty())
}

pub fn save(draft: &Draft) -> std::io::Result<()> {
    let path = draft_path(&draft.env_file);
    if let Some(dir) = path.parent() {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    let text = toml::to_string(draft).map_err(std::io::Error::other)?;
    let opts = WriteOptions {
        new_file_mode: 0o600,
        keep_backups: 0,
    };
    fsutil::safe_write(&path, text.as_bytes(), opts).map_err(|e| e.cause)?;
    Ok(())
}

pub fn delete(env_file: &Path) {
    let _ = std::fs::remove_file(draft_path(env_file));
}

//! Unsaved edits survive a dropped SSH session: they are written to a draft file
//! (mode 0600) after every change and offered back on the next start.
//!
//! The draft lives in the state directory, far from pds.env and its backups, so it never
//! holds a secret: a typed password is left out (an SMTP URL is kept without its
//! password) and the restore names what must be typed again.

use crate::fsutil::{self, WriteOptions};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Draft {
    pub env_file: PathBuf,
    /// Fingerprint of pds.env when the edits were made, to tell whether it changed since.
    pub base_fingerprint: String,
    pub saved_at: String,
    // Drafts written before the rename said "answers".
    #[serde(alias = "answers")]
    pub edits: BTreeMap<String, String>,
    /// Keys whose edits held a secret and were left out (or kept without it): they must
    /// be typed again after a restore.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retype: Vec<String>,
}

impl Draft {
    /// A draft of `edits` with every secret taken out (see the module notes).
    pub fn of(
        env_file: PathBuf,
        base_fingerprint: String,
        edits: &BTreeMap<String, String>,
    ) -> Draft {
        let mut kept = BTreeMap::new();
        let mut retype = Vec::new();
        for (key, value) in edits {
            if crate::envfile::sensitive::mask_value(key, value) == *value {
                kept.insert(key.clone(), value.clone());
                continue;
            }
            retype.push(key.clone());
            if let Some(without) = url_without_password(key, value) {
                kept.insert(key.clone(), without);
            }
        }
        Draft {
            env_file,
            base_fingerprint,
            saved_at: crate::fsutil::utc_stamp(),
            edits: kept,
            retype,
        }
    }

    /// How long ago the edits were made, in words ("12 minutes ago").
    pub fn age(&self) -> Option<String> {
        let s = &self.saved_at;
        let n = |r: std::ops::Range<usize>| s.get(r)?.parse::<u32>().ok();
        let date = time::Date::from_calendar_date(
            i32::try_from(n(0..4)?).ok()?,
            time::Month::try_from(u8::try_from(n(4..6)?).ok()?).ok()?,
            u8::try_from(n(6..8)?).ok()?,
        )
        .ok()?;
        let at = date
            .with_hms(
                u8::try_from(n(9..11)?).ok()?,
                u8::try_from(n(11..13)?).ok()?,
                u8::try_from(n(13..15)?).ok()?,
            )
            .ok()?
            .assume_utc();
        let secs = (time::OffsetDateTime::now_utc() - at)
            .whole_seconds()
            .max(0);
        Some(match secs {
            0..60 => "less than a minute ago".to_string(),
            60..120 => "a minute ago".to_string(),
            120..7200 => format!("{} minutes ago", secs / 60),
            7200..172_800 => format!("{} hours ago", secs / 3600),
            _ => format!("{} days ago", secs / 86_400),
        })
    }
}

/// An SMTP URL with its password removed, when it parses cleanly (else nothing is kept).
fn url_without_password(key: &str, url: &str) -> Option<String> {
    // A broken URL may have pieces of its password anywhere (a `?` in it makes them query
    // options): nothing of it is kept.
    if crate::envfile::sensitive::sensitivity(key)
        != crate::envfile::catalogue::Sensitivity::UrlPassword
        || !crate::secret::is_clean_url(url)
    {
        return None;
    }
    let mut s = crate::email::parse(url).ok()?;
    s.password = crate::secret::Secret::default();
    let without = crate::email::compose(&s).ok()?;
    (crate::envfile::sensitive::mask_value(key, &without) == without).then_some(without)
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
        // A draft of only secrets still has something to say: what to type again.
        .filter(|d| !d.edits.is_empty() || !d.retype.is_empty())
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
    let opts = WriteOptions::file(0o600, 0);
    fsutil::safe_write(&path, text.as_bytes(), opts).map_err(|e| e.cause)?;
    Ok(())
}

pub fn delete(env_file: &Path) {
    let _ = std::fs::remove_file(draft_path(env_file));
}

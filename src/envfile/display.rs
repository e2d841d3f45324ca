//! How values and lines are shown to a person: secrets masked, everything else as is.

use super::catalogue::{self, Sensitivity};
use super::Document;
use crate::secret::MASK;
use similar::{ChangeTag, TextDiff};

/// `value` as it may appear on a screen or in output.
pub fn display_value(key: &str, value: &str) -> String {
    match catalogue::lookup(key).map(|k| k.sensitivity) {
        Some(Sensitivity::Secret) if !value.is_empty() => MASK.to_string(),
        Some(Sensitivity::UrlPassword) => mask_url_password(value),
        _ => value.to_string(),
    }
}

/// `scheme://user:secret@host` → `scheme://user:••••••••@host`.
pub fn mask_url_password(url: &str) -> String {
    let Some(start) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let authority_end = url[start..]
        .find(['/', '?'])
        .map_or(url.len(), |i| start + i);
    let Some(at) = url[start..authority_end].rfind('@').map(|i| start + i) else {
        return url.to_string();
    };
    match url[start..at].find(':').map(|i| start + i) {
        Some(colon) => format!("{}{MASK}{}", &url[..colon + 1], &url[at..]),
        None => url.to_string(),
    }
}

/// A physical line with any secret value masked.
pub fn mask_line(text: &str) -> String {
    let doc = Document::parse(text);
    let Some(line) = doc.lines().first() else {
        return String::new();
    };
    let Some(key) = line.key() else {
        return text.to_string();
    };
    match catalogue::lookup(&key) {
        Some(info) if info.is_secret() => {
            let value = line.readings()[0]
                .value()
                .map(str::to_string)
                .unwrap_or_default();
            let prefix = if text.trim_start().starts_with("export") {
                "export "
            } else {
                ""
            };
            format!("{prefix}{key}={}", display_value(&key, &value))
        }
        _ => text.to_string(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiffTag {
    Same,
    Removed,
    Added,
}

/// A line diff of two versions of pds.env, secrets masked, with 1-based line numbers in
/// the old (Removed/Same) or new (Added) file.
pub fn masked_diff(old: &str, new: &str) -> Vec<(DiffTag, usize, String)> {
    let diff = TextDiff::from_lines(old, new);
    diff.iter_all_changes()
        .map(|c| {
            let tag = match c.tag() {
                ChangeTag::Equal => DiffTag::Same,
                ChangeTag::Delete => DiffTag::Removed,
                ChangeTag::Insert => DiffTag::Added,
            };
            let n = match tag {
                DiffTag::Added => c.new_index(),
                _ => c.old_index(),
            }
            .map_or(0, |i| i + 1);
            let text = c.value().trim_end_matches(['\n', '\r']);
            (tag, n, mask_line(text))
        })
        .collect()
}

/// Only the changed lines, `-`/`+` prefixed, for terminal output.
pub fn changed_lines(old: &str, new: &str) -> Vec<String> {
    masked_diff(old, new)
        .into_iter()
        .filter_map(|(t, n, s)| match t {
            DiffTag::Removed => Some(format!("- {n:>3} {s}")),
            DiffTag::Added => Some(format!("+ {n:>3} {s}")),
            DiffTag::Same => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        assert_eq!(
            mask_url_password("smtps://u%40x.com:p%40ss@smtp.example.com:465"),
            format!("smtps://u%40x.com:{MASK}@smtp.example.com:465")
        );
        assert_eq!(mask_url_password("smtp://host:25"), "smtp://host:25");
        assert_eq!(
            mask_line("PDS_JWT_SECRET=abc"),
            format!("PDS_JWT_SECRET={MASK}")
        );
        assert_eq!(mask_line("PDS_HOSTNAME=a.b"), "PDS_HOSTNAME=a.b");
    }

    #[test]
    fn diff_never_shows_secrets() {
        let d = changed_lines(
            "PDS_ADMIN_PASSWORD=old1\nA=1\n",
            "PDS_ADMIN_PASSWORD=new2\nA=1\n",
        );
        assert_eq!(d.len(), 2);
        assert!(!d.join("\n").contains("old1") && !d.join("\n").contains("new2"));
    }
}

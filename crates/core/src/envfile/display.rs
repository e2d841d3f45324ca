//! How values and lines are shown to a person: secrets masked, everything else as is.

use super::catalogue::Sensitivity;
use super::sensitive;
use super::Document;
use crate::secret::{self, MASK};
use similar::{ChangeTag, TextDiff};

/// The value the PDS reads for `key` in `doc`, as it may be shown: masked knowing the
/// line it came from (see `sensitive::mask_reading`). None when `key` has no plain value.
pub fn shown_value(doc: &Document, key: &str) -> Option<String> {
    let value = doc.get(key)?;
    let raw = doc.raw_value(key).unwrap_or_default();
    Some(sensitive::mask_reading(key, &value, &raw))
}

/// The name a line assigns, read leniently: malformed lines (unbalanced quotes, spaces
/// around `=`, `export`, compose's `KEY: value`) still name their key, so their value is
/// still masked.
fn assigned_name(text: &str) -> Option<(&str, usize)> {
    let t = text.trim_start();
    if t.starts_with('#') {
        return None;
    }
    let offset = text.len() - t.len();
    let body = match t.strip_prefix("export") {
        Some(r) if r.starts_with([' ', '\t']) => r.trim_start(),
        _ => t,
    };
    let sep = body.find(['=', ':'])?;
    let name = body[..sep].trim();
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c == '_' || c == '.' || c.is_ascii_alphanumeric());
    // Where the value starts in `text`.
    let value_at = offset + (t.len() - body.len()) + sep + 1;
    valid.then_some((name, value_at))
}

/// Every line of a pds.env (without line endings) as it may be shown: values of secret
/// keys masked whole, URLs masked, and the following lines that a secret's unclosed quote
/// or trailing backslash runs on into masked whole (compose and bash read them as part
/// of the secret).
pub fn masked_lines<S: AsRef<str>>(lines: &[S]) -> Vec<String> {
    // The quote (or backslash) a secret value left open on an earlier line.
    let mut open: Option<char> = None;
    let mut out = Vec::with_capacity(lines.len());
    for line in lines {
        let text = line.as_ref().trim_end_matches('\r');
        if let Some(q) = open {
            open = match q {
                '\\' if text.ends_with('\\') => Some(q),
                '\\' => None,
                q if text.contains(q) => None,
                q => Some(q),
            };
            out.push(MASK.to_string());
            continue;
        }
        let Some((name, at)) = assigned_name(text) else {
            out.push(secret::mask_urls_in(text));
            continue;
        };
        let (head, value) = text.split_at(at);
        let shown = match sensitive::sensitivity(name) {
            Sensitivity::Secret if value.trim().is_empty() => value.to_string(),
            Sensitivity::Secret => MASK.to_string(),
            Sensitivity::UrlPassword if value.trim().is_empty() => value.to_string(),
            Sensitivity::UrlPassword => secret::mask_url(value),
            Sensitivity::Public => {
                out.push(secret::mask_urls_in(text));
                continue;
            }
        };
        let v = value.trim_start();
        open = match v.chars().next() {
            Some(q @ ('\'' | '"')) if !v[1..].contains(q) => Some(q),
            _ if v.ends_with('\\') => Some('\\'),
            _ => None,
        };
        out.push(format!("{head}{shown}"));
    }
    out
}

/// A whole pds.env text, masked line by line (endings kept as `\n`).
pub fn masked_text(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = masked_lines(&lines).join("\n");
    if text.ends_with('\n') {
        out.push('\n');
    }
    out
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
    let old_masked = masked_lines(&old.lines().collect::<Vec<_>>());
    let new_masked = masked_lines(&new.lines().collect::<Vec<_>>());
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
            let masked = match tag {
                DiffTag::Added => &new_masked,
                _ => &old_masked,
            };
            // `lines()` and the diff split alike, so index n-1 is this line.
            let text = masked.get(n.wrapping_sub(1)).cloned().unwrap_or_default();
            (tag, n, text)
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

    /// One line masked with no lines before it.
    fn mask_line(text: &str) -> String {
        masked_lines(&[text]).pop().unwrap_or_default()
    }

    #[test]
    fn masks() {
        assert_eq!(
            mask_line("PDS_JWT_SECRET=abc"),
            format!("PDS_JWT_SECRET={MASK}")
        );
        assert_eq!(mask_line("PDS_HOSTNAME=a.b"), "PDS_HOSTNAME=a.b");
        assert_eq!(
            mask_line("export  PDS_JWT_SECRET = 'abc"),
            format!("export  PDS_JWT_SECRET ={MASK}")
        );
        assert_eq!(
            mask_line("MY_TOKEN=abcdef # note"),
            format!("MY_TOKEN={MASK}")
        );
        assert_eq!(
            mask_line("PDS_EMAIL_SMTP_URL=smtps://pds@example.com:S3cr/tP@ss@smtp.example.com:465"),
            format!("PDS_EMAIL_SMTP_URL=smtps://{MASK}@smtp.example.com:465")
        );
    }

    #[test]
    fn an_open_quote_masks_the_lines_it_runs_into() {
        let lines = [
            "PDS_ADMIN_PASSWORD=\"first",
            "second half",
            "still\" done",
            "PDS_HOSTNAME=a.b",
            "PDS_JWT_SECRET=abc\\",
            "continued",
            "PDS_PORT=3000",
        ];
        let m = masked_lines(&lines);
        assert_eq!(m[0], format!("PDS_ADMIN_PASSWORD={MASK}"));
        assert_eq!(m[1], MASK);
        assert_eq!(m[2], MASK);
        assert_eq!(m[3], "PDS_HOSTNAME=a.b");
        assert_eq!(m[5], MASK);
        assert_eq!(m[6], "PDS_PORT=3000");
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

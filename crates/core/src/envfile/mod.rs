//! The pds.env document: a lossless, line-based model that renders unchanged input byte for
//! byte, edits only the lines of the keys it changes, and writes values so that docker
//! compose, bash and systemd all read the same thing.

pub mod catalogue;
mod check;
pub mod display;
mod init;
pub mod readers;
pub mod sensitive;

pub use check::{blobstore as blobstore_findings, check, check_for};
pub use init::{init_document, init_file};

use crate::fsutil::{self, SaveReport, WriteError};
use catalogue::Group;
use readers::Reading;
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum EnvError {
    #[error("cannot read {path}: {cause}{}", if cause.kind() == std::io::ErrorKind::PermissionDenied { " (it belongs to root: run with sudo)" } else { "" })]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{path} is not UTF-8 text (byte {offset}); is it really a pds.env file?")]
    NotText { path: PathBuf, offset: usize },
    #[error("{path} changed on disk since it was loaded (another editor, pdsadmin or the installer?). Nothing was written; reload it and make your change again")]
    Conflict { path: PathBuf },
    #[error("{path} already exists; init never overwrites a pds.env (its secrets and key tie your accounts to this server)")]
    Exists { path: PathBuf },
    #[error(
        "{0:?} is not a valid variable name (letters, digits and _, not starting with a digit)"
    )]
    BadKey(String),
    #[error("{key}: {reason}")]
    Unwritable { key: String, reason: String },
    #[error("{key}: {reason}")]
    Invalid { key: String, reason: String },
    /// The file's own quoting makes the key's line unsafe to touch (a multi-line value).
    #[error("{key}: {reason}")]
    NotEditable { key: String, reason: String },
    #[error(transparent)]
    Write(#[from] WriteError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eol {
    Lf,
    CrLf,
    /// The last line of a file without a final newline.
    None,
}

impl Eol {
    fn as_str(self) -> &'static str {
        match self {
            Eol::Lf => "\n",
            Eol::CrLf => "\r\n",
            Eol::None => "",
        }
    }
}

/// One physical line: its text (without the line ending) and its ending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub text: String,
    pub eol: Eol,
}

impl Line {
    /// The line as the readers see it: a CRLF ending leaves its CR in the text.
    fn reader_text(&self) -> String {
        if self.eol == Eol::CrLf {
            format!("{}\r", self.text)
        } else {
            self.text.clone()
        }
    }

    /// The key this line assigns, as compose sees it (the reader the PDS depends on).
    pub fn key(&self) -> Option<String> {
        // A comment or a blank line assigns nothing: said without parsing (files with
        // long comment blocks are read line by line many times over).
        let t = self.text.trim_start();
        if t.is_empty() || t.starts_with('#') {
            return None;
        }
        match readers::compose(&self.reader_text()) {
            Reading::Value { key, .. } => Some(key),
            _ => syntactic_key(&self.text),
        }
    }

    pub fn readings(&self) -> [Reading; 3] {
        let t = self.reader_text();
        [
            readers::compose(&t),
            readers::bash(&t),
            readers::systemd(&t),
        ]
    }
}

/// The key of a line even when a reader rejects its value (`KEY=$x` still assigns KEY).
fn syntactic_key(text: &str) -> Option<String> {
    let t = text.trim_start();
    if t.starts_with('#') {
        return None;
    }
    let t = t.strip_prefix("export").map(str::trim_start).unwrap_or(t);
    let (k, _) = t.split_once('=')?;
    let k = k.trim_end();
    (!k.is_empty()
        && k.chars()
            .all(|c| c == '_' || c == '.' || c.is_ascii_alphanumeric()))
    .then(|| k.to_string())
}

#[derive(Debug, Clone)]
pub struct Document {
    lines: Vec<Line>,
    /// The bytes as loaded: what save compares against to detect someone else's edit.
    original: Vec<u8>,
    path: Option<PathBuf>,
    /// Held from `load_for_edit` until the document is dropped: no other save can come
    /// between this load and this save.
    lock: Option<std::sync::Arc<fsutil::FileLock>>,
}

impl Document {
    pub fn parse(text: &str) -> Document {
        let mut lines = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            match rest.find('\n') {
                Some(i) => {
                    let (body, eol) = match rest[..i].strip_suffix('\r') {
                        Some(b) => (b, Eol::CrLf),
                        None => (&rest[..i], Eol::Lf),
                    };
                    lines.push(Line {
                        text: body.to_string(),
                        eol,
                    });
                    rest = &rest[i + 1..];
                }
                None => {
                    lines.push(Line {
                        text: rest.to_string(),
                        eol: Eol::None,
                    });
                    rest = "";
                }
            }
        }
        Document {
            lines,
            original: text.as_bytes().to_vec(),
            path: None,
            lock: None,
        }
    }

    pub fn load(path: &Path) -> Result<Document, EnvError> {
        let bytes = std::fs::read(path).map_err(|cause| EnvError::Read {
            path: path.to_path_buf(),
            cause,
        })?;
        let text = String::from_utf8(bytes).map_err(|e| EnvError::NotText {
            path: path.to_path_buf(),
            offset: e.utf8_error().valid_up_to(),
        })?;
        let mut doc = Document::parse(&text);
        doc.path = Some(path.to_path_buf());
        doc.remember_secrets();
        Ok(doc)
    }

    /// Tell the masking rule's last line of defence (`secret::scrub`) every secret this
    /// file holds, as each reader reads it and as written.
    fn remember_secrets(&self) {
        for line in &self.lines {
            let Some(key) = line.key() else { continue };
            if let Some((_, raw)) = line.text.split_once('=') {
                crate::envfile::sensitive::remember_value(&key, raw);
            }
            for r in line.readings() {
                if let Some(v) = r.value() {
                    crate::envfile::sensitive::remember_value(&key, v);
                }
            }
        }
    }

    /// Load `path` to change it: under its lock, held until the document is dropped, so a
    /// concurrent save (another `env set`, an `apply` from cron, the wizard) waits for this
    /// one and then reads what it wrote, instead of overwriting it. Waits up to
    /// `fsutil::LOCK_WAIT` for another holder, then refuses.
    pub fn load_for_edit(path: &Path) -> Result<Document, EnvError> {
        let lock = fsutil::FileLock::acquire(path, fsutil::LOCK_WAIT)?;
        let mut doc = Document::load(path)?;
        doc.lock = Some(std::sync::Arc::new(lock));
        Ok(doc)
    }

    /// Let others save again (the change is written, or abandoned).
    pub fn unlock(&mut self) {
        self.lock = None;
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    pub fn lines(&self) -> &[Line] {
        &self.lines
    }

    pub fn render(&self) -> String {
        let mut s = String::with_capacity(self.original.len() + 64);
        for l in &self.lines {
            s.push_str(&l.text);
            s.push_str(l.eol.as_str());
        }
        s
    }

    /// The content as it was loaded (or last saved).
    pub fn original_text(&self) -> String {
        String::from_utf8_lossy(&self.original).into_owned()
    }

    pub fn is_modified(&self) -> bool {
        self.render().as_bytes() != self.original.as_slice()
    }

    /// Index of the line that decides `key` (the last one, as compose lets it win).
    fn effective_index(&self, key: &str) -> Option<usize> {
        self.line_keys()
            .iter()
            .rposition(|k| k.as_deref() == Some(key))
    }

    /// For each line, the index of the earlier line whose value a reader carries on into
    /// it (an unclosed quote, a trailing backslash), if any; and the line of a value that
    /// is still open at the end of the file.
    fn value_spans(&self) -> (Vec<Option<usize>>, Option<usize>) {
        let mut inside = vec![None; self.lines.len()];
        let mut open: Option<(usize, char)> = None;
        for (i, line) in self.lines.iter().enumerate() {
            if let Some((start, until)) = open {
                inside[i] = Some(start);
                let closes = match until {
                    '\\' => !line.text.ends_with('\\'),
                    '"' => line
                        .text
                        .char_indices()
                        .any(|(j, c)| c == '"' && !line.text[..j].ends_with('\\')),
                    q => line.text.contains(q),
                };
                if closes {
                    open = None;
                }
                continue;
            }
            // Only a quote or a trailing backslash can carry a value on: most lines have
            // neither, and need no reading.
            // (Two single-character searches: they run on std's memchr.)
            if !line.text.contains('\'') && !line.text.contains('"') && !line.text.ends_with('\\') {
                continue;
            }
            open = line
                .readings()
                .iter()
                .find_map(|r| match r {
                    Reading::Other(m) => m.spill,
                    _ => None,
                })
                .map(|until| (i, until));
        }
        (inside, open.map(|(start, _)| start))
    }

    /// The key each line assigns, as all three readers agree it does: None for a line
    /// inside an earlier line's multi-line value (`MY_NOTE="a⏎PDS_HOSTNAME=x"` sets no
    /// PDS_HOSTNAME).
    fn line_keys(&self) -> Vec<Option<String>> {
        let (inside, _) = self.value_spans();
        self.lines
            .iter()
            .zip(inside)
            .map(|(l, inside)| if inside.is_some() { None } else { l.key() })
            .collect()
    }

    /// Why `key` cannot be changed safely here, if it cannot: a line that looks like it
    /// sets `key` lies inside another line's multi-line value, a line that sets it runs on
    /// past its end, or a value left open would swallow a new line.
    fn check_editable(&self, key: &str) -> Result<(), EnvError> {
        let (inside, open_at_end) = self.value_spans();
        let refuse = |reason: String| EnvError::NotEditable {
            key: key.to_string(),
            reason,
        };
        let mut found = false;
        for (i, line) in self.lines.iter().enumerate() {
            if line.key().as_deref() != Some(key) {
                continue;
            }
            found = true;
            if let Some(start) = inside[i] {
                return Err(refuse(format!(
                    "line {} looks like it sets {key}, but it is inside the multi-line value that starts on line {}: bash and docker compose read it as part of that value. Fix that line's quotes by hand first",
                    i + 1,
                    start + 1
                )));
            }
            if line
                .readings()
                .iter()
                .any(|r| matches!(r, Reading::Other(m) if m.spill.is_some()))
            {
                return Err(refuse(format!(
                    "its value on line {} runs on past the end of the line (an unclosed quote or a trailing backslash), so changing that line would change the lines after it too. Fix its quotes by hand first",
                    i + 1
                )));
            }
        }
        if let (false, Some(start)) = (found, open_at_end) {
            return Err(refuse(format!(
                "the quoted value that starts on line {} never closes, so a new line at the end would be read as part of it. Close its quote by hand first",
                start + 1
            )));
        }
        Ok(())
    }

    /// The value the PDS sees (compose's reading of the last line for `key`).
    pub fn get(&self, key: &str) -> Option<String> {
        self.value_at(self.effective_index(key)?)
    }

    fn value_at(&self, i: usize) -> Option<String> {
        match readers::compose(&self.lines[i].reader_text()) {
            Reading::Value { value, .. } => Some(value),
            _ => None,
        }
    }

    /// The text after `=` on the line that decides `key`, as written (quotes, comments and
    /// all): what the operator meant, where a reader cut it short.
    pub fn raw_value(&self, key: &str) -> Option<String> {
        let i = self.effective_index(key)?;
        self.lines[i]
            .text
            .split_once('=')
            .map(|(_, v)| v.to_string())
    }

    /// Every key in file order, once, with its effective value (None when compose cannot
    /// read it as a plain value) and its 1-based line number.
    pub fn entries(&self) -> Vec<(String, Option<String>, usize)> {
        let keys = self.line_keys();
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        for k in keys.iter().flatten() {
            if seen.insert(k) {
                let i = keys
                    .iter()
                    .rposition(|x| x.as_ref() == Some(k))
                    .unwrap_or(0);
                out.push((k.clone(), self.value_at(i), i + 1));
            }
        }
        out
    }

    /// Keys that appear on more than one line, with their 1-based line numbers.
    pub fn duplicates(&self) -> Vec<(String, Vec<usize>)> {
        let mut map: Vec<(String, Vec<usize>)> = Vec::new();
        for (i, k) in self.line_keys().into_iter().enumerate() {
            if let Some(k) = k {
                match map.iter_mut().find(|(key, _)| *key == k) {
                    Some((_, v)) => v.push(i + 1),
                    None => map.push((k, vec![i + 1])),
                }
            }
        }
        map.retain(|(_, v)| v.len() > 1);
        map
    }

    fn dominant_eol(&self) -> Eol {
        let crlf = self.lines.iter().filter(|l| l.eol == Eol::CrLf).count();
        let lf = self.lines.iter().filter(|l| l.eol == Eol::Lf).count();
        if crlf > lf {
            Eol::CrLf
        } else {
            Eol::Lf
        }
    }

    /// Set `key` to `value`, touching only the line that decides it (or adding one line
    /// in the key's group). Refuses values that compose, bash and systemd would read
    /// differently, and values the catalogue rejects.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), EnvError> {
        if !is_env_name(key) {
            return Err(EnvError::BadKey(key.to_string()));
        }
        too_long(key, value)?;
        if let Some(info) = catalogue::lookup(key) {
            if let Some(f) = catalogue::validate(info, value)
                .into_iter()
                .find(|f| f.level == crate::finding::Level::Fail)
            {
                return Err(EnvError::Invalid {
                    key: key.to_string(),
                    reason: f.what,
                });
            }
        }
        let encoded = encode_value(key, value)?;
        self.check_editable(key)?;
        match self.effective_index(key) {
            Some(i) => {
                let line = &self.lines[i];
                let agreed = line.readings();
                if agreed.iter().all(|r| r.value() == Some(value)) {
                    return Ok(());
                }
                let indent: String = line
                    .text
                    .chars()
                    .take_while(|c| *c == ' ' || *c == '\t')
                    .collect();
                // No `export `: systemd skips such lines, and pdsadmin's `set -a` exports anyway.
                let comment = inline_comment(&line.text);
                let eol = line.eol;
                let new_text = format!("{indent}{key}={encoded}");
                self.lines[i].text = new_text;
                if let Some(c) = comment {
                    // Keep the operator's note, on its own line: systemd would read an
                    // inline comment as part of the value.
                    let note = Line {
                        text: format!("{indent}{c}"),
                        eol: if eol == Eol::None {
                            self.dominant_eol()
                        } else {
                            eol
                        },
                    };
                    self.lines.insert(i, note);
                }
            }
            None => {
                let eol = self.dominant_eol();
                // Never between a line whose value runs on and the line it runs into: the
                // new line would be read as part of that value. The end of the file is
                // safe then (an open value at the end was refused above).
                let (inside, _) = self.value_spans();
                let at = match self.insertion_point(key) {
                    at if inside.get(at).is_some_and(Option::is_some) => self.lines.len(),
                    at => at,
                };
                if at == self.lines.len() {
                    if let Some(last) = self.lines.last_mut() {
                        if last.eol == Eol::None {
                            // End it with a bare "\n" whatever the file's style: a CR would
                            // become part of its value for bash. A final "…\r" plus that
                            // newline is a CRLF line, so say so, as a re-read would.
                            last.eol = match last.text.strip_suffix('\r') {
                                Some(t) => {
                                    last.text = t.to_string();
                                    Eol::CrLf
                                }
                                None => Eol::Lf,
                            };
                        }
                    }
                }
                self.lines.insert(
                    at,
                    Line {
                        text: format!("{key}={encoded}"),
                        eol,
                    },
                );
            }
        }
        Ok(())
    }

    /// After the last line of the same catalogue group, else at the end.
    fn insertion_point(&self, key: &str) -> usize {
        let group: Option<Group> = catalogue::lookup(key).map(|k| k.group);
        if let Some(g) = group {
            if let Some(i) = self.lines.iter().rposition(|l| {
                l.key()
                    .and_then(|k| catalogue::lookup(&k))
                    .is_some_and(|k| k.group == g)
            }) {
                return i + 1;
            }
        }
        // Before trailing blank lines, so the file's shape stays the same.
        let mut at = self.lines.len();
        while at > 0
            && self.lines[at - 1].text.trim().is_empty()
            && self.lines[at - 1].eol != Eol::None
        {
            at -= 1;
        }
        if at == 0 {
            self.lines.len()
        } else {
            at
        }
    }

    /// Remove every line that assigns `key`. Returns whether anything was removed.
    pub fn unset(&mut self, key: &str) -> Result<bool, EnvError> {
        self.check_editable(key)?;
        let before = self.lines.len();
        self.lines.retain(|l| l.key().as_deref() != Some(key));
        Ok(before != self.lines.len())
    }

    /// Write to the path it was loaded from (or `path`), refusing when the file changed on
    /// disk since it was loaded. Keeps a timestamped backup and the file's mode and owner.
    pub fn save(&mut self) -> Result<SaveReport, EnvError> {
        let path = self.path.clone().ok_or_else(|| EnvError::Read {
            path: PathBuf::from("(unsaved document)"),
            cause: std::io::Error::other("the document has no path"),
        })?;
        self.save_to(&path)
    }

    pub fn save_to(&mut self, path: &Path) -> Result<SaveReport, EnvError> {
        // The compare and the rename happen under the lock (already held after
        // `load_for_edit`), so nobody's save can slip between them.
        let _lock = fsutil::FileLock::acquire(path, fsutil::LOCK_WAIT)?;
        // Read through the walk the write takes, so the compare is against the very file
        // the rename replaces.
        match fsutil::read_target(path, fsutil::Links::Operator)? {
            Some(now) if now != self.original => {
                return Err(EnvError::Conflict {
                    path: path.to_path_buf(),
                })
            }
            None if !self.original.is_empty() => {
                return Err(EnvError::Conflict {
                    path: path.to_path_buf(),
                })
            }
            _ => {}
        }
        let text = self.render();
        let report = fsutil::safe_write(path, text.as_bytes(), fsutil::WriteOptions::secret())?;
        self.original = text.into_bytes();
        self.path = Some(path.to_path_buf());
        Ok(report)
    }
}

/// Linux's MAX_ARG_STRLEN: the longest one environment string may be, its NUL included.
pub const MAX_ENV_STRING: usize = 128 * 1024;

/// Linux takes no single environment string ("KEY=value" and its NUL) of more than
/// MAX_ARG_STRLEN: every program started with this environment — the PDS's container,
/// pdsadmin, goat — would fail with E2BIG ("Argument list too long"). Judged before
/// anything else, so no message quotes such a value.
fn too_long(key: &str, value: &str) -> Result<(), EnvError> {
    if key.len() + 1 + value.len() + 1 > MAX_ENV_STRING {
        return Err(EnvError::Unwritable {
            key: key.to_string(),
            reason: format!(
                "is {} KiB: a program given it in its environment (the PDS's container, pdsadmin) could not start — Linux takes no variable over 128 KiB (E2BIG)",
                value.len() / 1024
            ),
        });
    }
    Ok(())
}

/// goat reads this key with a plain `PDS_ADMIN_PASSWORD=` prefix match.
pub const GOAT_KEY: &str = "PDS_ADMIN_PASSWORD";

pub fn is_env_name(key: &str) -> bool {
    let mut c = key.chars();
    matches!(c.next(), Some(f) if f == '_' || f.is_ascii_alphabetic())
        && c.all(|ch| ch == '_' || ch.is_ascii_alphanumeric())
}

/// The text after a value that compose and bash take as a comment (` # ...`), if any.
fn inline_comment(text: &str) -> Option<String> {
    let mut in_single = false;
    let mut in_double = false;
    let mut prev_ws = false;
    for (i, c) in text.char_indices() {
        match c {
            '\'' if !in_double => in_single = !in_single,
            '"' if !in_single => in_double = !in_double,
            '#' if !in_single && !in_double && prev_ws => return Some(text[i..].to_string()),
            _ => {}
        }
        prev_ws = c == ' ' || c == '\t';
    }
    None
}

/// The text to write after `KEY=` so compose, bash and systemd read exactly `value`.
pub fn encode_value(key: &str, value: &str) -> Result<String, EnvError> {
    let refuse = |reason: &str| EnvError::Unwritable {
        key: key.to_string(),
        reason: reason.to_string(),
    };
    if value.chars().any(|c| c.is_control() && c != '\t') {
        return Err(refuse(
            "holds a line break or control character; pds.env values are single-line",
        ));
    }
    too_long(key, value)?;
    if key == GOAT_KEY && !readers::is_bare_safe(value) {
        return Err(refuse(
            "goat reads PDS_ADMIN_PASSWORD without unquoting, so it must be written bare: use only letters, digits and _ . / : @ % + , = -",
        ));
    }
    // Bare, then single quotes, then double quotes: the first that all three readers read
    // back as exactly `value` (a backslash is fine inside single quotes, for instance).
    let reads_back = |encoded: &str| {
        let line = format!("{key}={encoded}");
        [
            readers::compose(&line),
            readers::bash(&line),
            readers::systemd(&line),
        ]
        .iter()
        .all(|r| r.value() == Some(value))
    };
    let candidates = [
        readers::is_bare_safe(value).then(|| value.to_string()),
        (!value.contains('\'')).then(|| format!("'{value}'")),
        (!value.contains(['"', '\\', '$', '`'])).then(|| format!("\"{value}\"")),
    ];
    let Some(encoded) = candidates.into_iter().flatten().find(|e| reads_back(e)) else {
        return Err(refuse(
            if value.contains('\'') && value.contains(['\\', '"', '$', '`']) {
                "holds a single quote together with one of \\ \" $ `: no quoting reads the same in docker compose, bash and systemd"
            } else {
                "cannot be written so docker compose, bash and systemd agree"
            },
        ));
    };
    Ok(encoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "# PDS config\nPDS_HOSTNAME=pds.example.com\nexport PDS_PORT=3000 # port\n\nUNKNOWN_KEY='kept as is'\r\nPDS_HOSTNAME=second.example.com\nLOG_ENABLED=true";

    #[test]
    fn a_line_inside_a_multi_line_value_is_not_a_key() {
        let mut d = Document::parse(
            "PDS_HOSTNAME=real.example.com\nMY_NOTE=\"first line\nPDS_HOSTNAME=evil.example\"\nPDS_PORT=3000\n",
        );
        assert_eq!(d.get("PDS_HOSTNAME").as_deref(), Some("real.example.com"));
        assert_eq!(d.get("PDS_PORT").as_deref(), Some("3000"));
        assert!(d.duplicates().is_empty(), "{:?}", d.duplicates());
        let e = d.set("PDS_HOSTNAME", "new.example.com").unwrap_err();
        assert!(
            e.to_string()
                .contains("inside the multi-line value that starts on line 2"),
            "{e}"
        );
        assert!(d.unset("PDS_HOSTNAME").is_err());
        // The value that spills can not be edited either; others can.
        assert!(d
            .set("MY_NOTE", "x")
            .unwrap_err()
            .to_string()
            .contains("runs on past"));
        d.set("PDS_PORT", "3001").unwrap();
        assert!(crate::envfile::check(&d, None)
            .iter()
            .any(|f| f.what.contains("line 3 looks like an assignment")));

        // A quote that never closes: nothing may be appended after it.
        let mut d = Document::parse("PDS_HOSTNAME=a.example.com\nMY_NOTE='open\n");
        let e = d.set("PDS_PORT", "3000").unwrap_err();
        assert!(e.to_string().contains("never closes"), "{e}");
        // A trailing backslash carries one line on.
        let d = Document::parse("MY_NOTE=a\\\nPDS_HOSTNAME=evil.example\nPDS_PORT=1\n");
        assert_eq!(d.get("PDS_HOSTNAME"), None);
        assert_eq!(d.get("PDS_PORT").as_deref(), Some("1"));
    }

    #[test]
    fn a_value_no_program_could_be_started_with_is_refused() {
        let mut doc = Document::parse("PDS_HOSTNAME=a.example.com\n");
        let big = "x".repeat(128 * 1024);
        let e = doc
            .set("PDS_REPORT_SERVICE_URL", &big)
            .unwrap_err()
            .to_string();
        assert!(e.contains("128 KiB") && e.contains("E2BIG"), "{e}");
        assert_eq!(doc.render(), "PDS_HOSTNAME=a.example.com\n");
        // Just under the limit is fine.
        let fits = "x".repeat(128 * 1024 - "PDS_X=".len() - 1);
        doc.set("PDS_X", &fits).unwrap();
    }

    #[test]
    fn a_backslash_is_written_in_single_quotes() {
        assert_eq!(encode_value("PDS_SERVICE_NAME", "a\\b").unwrap(), "'a\\b'");
        assert!(encode_value("PDS_SERVICE_NAME", "it's a\\b")
            .unwrap_err()
            .to_string()
            .contains("single quote together"));
    }

    #[test]
    fn renders_unchanged_input_identically() {
        let d = Document::parse(SAMPLE);
        assert_eq!(d.render(), SAMPLE);
        assert!(!d.is_modified());
    }

    #[test]
    fn last_duplicate_wins_and_is_reported() {
        let d = Document::parse(SAMPLE);
        assert_eq!(d.get("PDS_HOSTNAME").as_deref(), Some("second.example.com"));
        assert_eq!(
            d.duplicates(),
            vec![("PDS_HOSTNAME".to_string(), vec![2, 6])]
        );
    }

    #[test]
    fn set_touches_only_its_line() {
        let mut d = Document::parse(SAMPLE);
        d.set("LOG_ENABLED", "false").unwrap();
        assert_eq!(
            d.render(),
            SAMPLE.replace("LOG_ENABLED=true", "LOG_ENABLED=false")
        );
        d.set("PDS_HOSTNAME", "new.example.com").unwrap();
        assert!(d.render().contains("PDS_HOSTNAME=pds.example.com\n"));
        assert!(d.render().contains("PDS_HOSTNAME=new.example.com\n"));
    }

    #[test]
    fn set_same_value_changes_nothing() {
        let mut d = Document::parse(SAMPLE);
        d.set("LOG_ENABLED", "true").unwrap();
        assert!(!d.is_modified());
    }

    #[test]
    fn export_dropped_and_comment_kept() {
        let mut d = Document::parse(SAMPLE);
        d.set("PDS_PORT", "3001").unwrap();
        assert!(
            d.render().contains("# port\nPDS_PORT=3001\n"),
            "{}",
            d.render()
        );
    }

    #[test]
    fn new_key_goes_into_its_group_and_missing_newline_is_added() {
        let mut d = Document::parse(
            "PDS_HOSTNAME=a.example.com\nPDS_DID_PLC_URL=https://plc.directory\nLOG_ENABLED=true",
        );
        d.set("PDS_INVITE_REQUIRED", "false").unwrap();
        assert_eq!(
            d.render(),
            "PDS_HOSTNAME=a.example.com\nPDS_INVITE_REQUIRED=false\nPDS_DID_PLC_URL=https://plc.directory\nLOG_ENABLED=true"
        );
        d.set("PDS_EMAIL_FROM_ADDRESS", "pds@example.com").unwrap();
        assert!(d
            .render()
            .ends_with("LOG_ENABLED=true\nPDS_EMAIL_FROM_ADDRESS=pds@example.com\n"));
    }

    #[test]
    fn quoting_chosen_per_value() {
        assert_eq!(encode_value("A", "plain").unwrap(), "plain");
        assert_eq!(encode_value("A", "a b&c$d#e").unwrap(), "'a b&c$d#e'");
        assert_eq!(encode_value("A", "it's").unwrap(), "\"it's\"");
        assert!(encode_value("A", "it's $x").is_err());
        // Single quotes keep a backslash in all three readers (issue 14 found it refused).
        assert_eq!(encode_value("A", "a\\b").unwrap(), "'a\\b'");
        // compose would take `\'` as an escaped quote: a trailing backslash cannot be written.
        assert!(encode_value("A", "a\\").is_err());
        assert!(encode_value("A", "two\nlines").is_err());
        assert!(encode_value(GOAT_KEY, "with space").is_err());
    }

    #[test]
    fn unset_removes_every_line_of_the_key() {
        let mut d = Document::parse(SAMPLE);
        assert!(d.unset("PDS_HOSTNAME").unwrap());
        assert!(!d.render().contains("PDS_HOSTNAME"));
        assert!(!d.unset("PDS_HOSTNAME").unwrap());
        assert!(d.render().starts_with("# PDS config\nexport PDS_PORT"));
    }

    #[test]
    fn goat_key_loses_quotes_and_export() {
        let mut d = Document::parse("export PDS_ADMIN_PASSWORD='abc'\n");
        d.set(GOAT_KEY, "abcdef0123456789").unwrap();
        assert_eq!(d.render(), "PDS_ADMIN_PASSWORD=abcdef0123456789\n");
    }
}

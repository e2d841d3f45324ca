//! How the three programs that read pds.env see one line.
//!
//! The PDS container gets its environment from docker compose (`env_file:`), pdsadmin
//! `source`s the file in bash, and operators sometimes point a systemd unit at it with
//! `EnvironmentFile=`. Each has its own quoting rules; a line is only safe when all three
//! agree. These are models of the real parsers (compose-go `dotenv/parser.go`, bash's
//! assignment words, systemd's `parse_env_file_internal`), limited to one physical line:
//! the PDS world never writes multi-line values, so an unterminated quote is reported
//! rather than followed onto the next line. The bash model is checked against real bash
//! in `tests/envfile_bash.rs`.

/// What a reader makes of a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reading {
    /// Not an assignment: blank or comment.
    Nothing,
    /// `key` gets exactly `value`.
    Value { key: String, value: String },
    /// The reader does something else with the line; the text says what, in plain words.
    Other(Misread),
}

/// What a reader does with a line it does not read as a plain value, in plain words. A
/// piece of the line it quotes is kept apart, so that a secret line can be described
/// without it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Misread {
    before: String,
    quoted: Option<String>,
    after: String,
    /// The value runs on past its line: into the lines up to this closing quote (or, for
    /// `\\`, into the next line).
    pub spill: Option<char>,
}

impl Misread {
    fn quoting(before: &str, quoted: &str, after: &str) -> Misread {
        Misread {
            before: before.to_string(),
            quoted: Some(quoted.to_string()),
            after: after.to_string(),
            spill: None,
        }
    }

    fn spilling(why: &str, until: char) -> Misread {
        Misread {
            spill: Some(until),
            ..Misread::from(why)
        }
    }

    /// The description with the quoted piece of the line masked.
    pub fn masked(&self) -> String {
        match &self.quoted {
            Some(_) => format!("{}{}{}", self.before, crate::secret::MASK, self.after),
            None => self.before.clone(),
        }
    }
}

impl From<&str> for Misread {
    fn from(s: &str) -> Misread {
        Misread {
            before: s.to_string(),
            quoted: None,
            after: String::new(),
            spill: None,
        }
    }
}

impl From<String> for Misread {
    fn from(s: String) -> Misread {
        Misread::from(s.as_str())
    }
}

impl std::fmt::Display for Misread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}{}{}",
            self.before,
            self.quoted.as_deref().unwrap_or(""),
            self.after
        )
    }
}

impl Reading {
    fn other(why: impl Into<Misread>) -> Reading {
        Reading::Other(why.into())
    }

    pub fn value(&self) -> Option<&str> {
        match self {
            Reading::Value { value, .. } => Some(value),
            _ => None,
        }
    }
}

fn is_shell_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// compose-go's `isSpace`: whitespace that is not a line break.
fn compose_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{85}' | '\u{a0}'
    )
}

/// docker compose `env_file` (compose-go dotenv). `line` excludes the `\n` but keeps a
/// CR of a CRLF ending.
pub fn compose(line: &str) -> Reading {
    let src = line.trim_start_matches(|c: char| c.is_whitespace());
    if src.is_empty() || src.starts_with('#') {
        return Reading::Nothing;
    }
    // compose-go trims a literal "export" prefix, then spaces.
    let src = src
        .strip_prefix("export")
        .unwrap_or(src)
        .trim_start_matches(compose_space);
    let Some(sep) = src.find(['=', ':']) else {
        return Reading::Other(
            "docker compose takes a bare name as \"copy this variable from compose's own environment\""
                .into(),
        );
    };
    let key_raw = &src[..sep];
    if let Some(bad) = key_raw
        .chars()
        .find(|&c| !(compose_space(c) || c == '_' || c == '.' || c.is_alphanumeric()))
    {
        return Reading::other(format!(
            "docker compose refuses the file: unexpected character {bad:?} in a variable name"
        ));
    }
    let key = key_raw.trim_end_matches(char::is_whitespace);
    if key.contains(' ') || key.is_empty() {
        return Reading::Other("docker compose refuses the file: bad variable name".into());
    }
    let rest = src[sep + 1..].trim_start_matches(compose_space);
    let key = key.to_string();
    match rest.chars().next() {
        Some(q @ ('\'' | '"')) => {
            // compose-go's extractQuotedValue: a backslash before the quote escapes it (and
            // goes); before anything else it stays.
            let mut inner = String::new();
            let mut escaped = false;
            let mut close = None;
            for (i, c) in rest.char_indices().skip(1) {
                if escaped {
                    escaped = false;
                    if c != q {
                        inner.push('\\');
                    }
                    inner.push(c);
                    continue;
                }
                match c {
                    '\\' => escaped = true,
                    c if c == q => {
                        close = Some(i);
                        break;
                    }
                    c => inner.push(c),
                }
            }
            let Some(i) = close else {
                return Reading::Other(Misread::spilling(
                    "docker compose reads on past the end of the line looking for the closing quote",
                    q,
                ));
            };
            let after = rest[i + 1..].trim_start_matches(char::is_whitespace);
            if !after.is_empty() && !after.starts_with('#') {
                return Reading::Other(Misread::quoting(
                    "docker compose ignores the text after the closing quote (",
                    &format!("{after:?}"),
                    ") or reads it as another variable",
                ));
            }
            if q == '\'' {
                return Reading::Value { key, value: inner };
            }
            match compose_interpolate(&compose_unescape(&inner)) {
                Some(value) => Reading::Value { key, value },
                None => Reading::Other(
                    "docker compose substitutes $VARIABLES inside double quotes (write $$ for a $)"
                        .into(),
                ),
            }
        }
        _ => {
            // Since compose-go 1.6 (Compose 2.11, 2022) a comment starts at " #": a `#`
            // inside a word is part of the value.
            let value = rest.split_once(" #").map_or(rest, |(v, _)| v);
            let value = value.trim_end_matches(char::is_whitespace);
            match compose_interpolate(value) {
                Some(value) => Reading::Value { key, value },
                None => Reading::Other(
                    "docker compose substitutes $VARIABLES in the value (write $$ for a $)".into(),
                ),
            }
        }
    }
}

/// compose's interpolation of a value: `$$` is a `$`; any other `$` is a variable to
/// substitute (or a template compose refuses), so None: the value is not what is written.
fn compose_interpolate(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        // Only `$$` is a `$`; anything else after a `$` is substituted.
        chars.next_if_eq(&'$')?;
        out.push('$');
    }
    Some(out)
}

/// compose-go's `expandEscapes` on a double-quoted value: `\a \b \f \n \r \t \v`, `\\` and
/// `\"` and octal `\0NNN` are what Go makes of them, `\$` is a literal `$` (kept as `$$` for
/// the interpolation after), and any other backslash stays as it is.
fn compose_unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let escaped = match chars.peek() {
            Some('a') => '\u{7}',
            Some('b') => '\u{8}',
            Some('f') => '\u{c}',
            Some('n') => '\n',
            Some('r') => '\r',
            Some('t') => '\t',
            Some('v') => '\u{b}',
            Some('\\') => '\\',
            Some('"') => '"',
            Some('$') => {
                chars.next();
                out.push_str("$$");
                continue;
            }
            Some('0') => {
                chars.next();
                let mut n = 0u32;
                let mut digits = 0;
                while digits < 3 {
                    match chars.peek().and_then(|d| d.to_digit(8)) {
                        Some(d) => {
                            n = n * 8 + d;
                            digits += 1;
                            chars.next();
                        }
                        None => break,
                    }
                }
                out.push(char::from_u32(n).unwrap_or('\0'));
                continue;
            }
            _ => {
                out.push('\\');
                continue;
            }
        };
        chars.next();
        out.push(escaped);
    }
    out
}

/// bash `set -a; source FILE` (what pdsadmin does). Models the subset of shell grammar
/// an assignment line can hold; anything beyond it is reported as `Other`.
pub fn bash(line: &str) -> Reading {
    let src = line.trim_start_matches([' ', '\t']);
    if src.is_empty() || src.starts_with('#') {
        return Reading::Nothing;
    }
    let (src, exported) = match src.strip_prefix("export") {
        Some(rest) if rest.starts_with([' ', '\t']) => (rest.trim_start_matches([' ', '\t']), true),
        _ => (src, false),
    };
    let Some(eq) = src.find('=') else {
        return Reading::Other("bash runs this line as a command".into());
    };
    let key = &src[..eq];
    if !is_shell_name(key) {
        return Reading::other(format!(
            "bash does not treat `{key}=` as an assignment and runs the line as a command"
        ));
    }
    let mut value = String::new();
    let mut chars = src[eq + 1..].chars().peekable();
    let mut at_word_start = true;
    while let Some(c) = chars.next() {
        let was_start = at_word_start;
        at_word_start = false;
        match c {
            ' ' | '\t' => {
                let rest: String = chars.collect();
                let rest = rest.trim_start_matches([' ', '\t']);
                if rest.is_empty() || rest.starts_with('#') {
                    break;
                }
                return Reading::Other(if exported {
                    Misread::quoting(
                        "bash exports `",
                        rest,
                        "` as further names (a space ends the value)",
                    )
                } else {
                    Misread::quoting(
                        "bash runs `",
                        rest,
                        &format!("` as a command (a space ends the value) and {key} is not set"),
                    )
                });
            }
            '\'' => {
                let mut closed = false;
                for c in chars.by_ref() {
                    if c == '\'' {
                        closed = true;
                        break;
                    }
                    value.push(c);
                }
                if !closed {
                    return Reading::Other(Misread::spilling(
                        "bash reads on into the following lines looking for the closing quote",
                        '\'',
                    ));
                }
            }
            '"' => {
                let mut closed = false;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => {
                            closed = true;
                            break;
                        }
                        '\\' => {
                            if !push_double_quoted_escape(chars.next(), &mut value) {
                                return joins_next_line("bash", '"');
                            }
                        }
                        '$' | '`' => {
                            return Reading::Other(
                                "bash expands $ and ` inside double quotes".into(),
                            )
                        }
                        other => value.push(other),
                    }
                }
                if !closed {
                    return Reading::Other(Misread::spilling(
                        "bash reads on into the following lines looking for the closing quote",
                        '"',
                    ));
                }
            }
            '\\' => match chars.next() {
                Some(e) => value.push(e),
                None => return joins_next_line("bash", '\\'),
            },
            '$' | '`' => {
                return Reading::Other("bash expands $ and ` (variables, commands)".into())
            }
            ';' | '&' | '|' | '<' | '>' | '(' | ')' => {
                return Reading::other(format!(
                "bash treats an unquoted `{c}` as shell syntax (command separator or redirection)"
            ))
            }
            '~' if was_start => {
                return Reading::Other("bash replaces a leading ~ with a home directory".into())
            }
            ':' => {
                value.push(':');
                if chars.peek() == Some(&'~') {
                    return Reading::Other(
                        "bash replaces ~ after a : with a home directory".into(),
                    );
                }
            }
            other => value.push(other),
        }
    }
    Reading::Value {
        key: key.to_string(),
        value,
    }
}

/// systemd `EnvironmentFile=` (`parse_env_file_internal`).
pub fn systemd(line: &str) -> Reading {
    // A CR ends a line for systemd.
    let line = line.split('\r').next().unwrap_or("");
    let ws = |c: char| matches!(c, ' ' | '\t');
    let src = line.trim_start_matches(ws);
    if src.is_empty() {
        return Reading::Nothing;
    }
    if src.starts_with(['#', ';']) {
        return Reading::Nothing;
    }
    let Some(eq) = src.find('=') else {
        return Reading::Other("systemd ignores a line without =".into());
    };
    let key = src[..eq].trim_end_matches(ws);
    if !is_shell_name(key) {
        return Reading::other(format!(
            "systemd ignores the line: `{key}` is not a valid variable name"
        ));
    }
    #[derive(PartialEq)]
    enum S {
        Pre,
        Value,
        Single,
        Double,
    }
    let mut state = S::Pre;
    let mut value = String::new();
    // Length of `value` before a run of trailing unquoted whitespace, to chomp it.
    let mut trailing_ws: Option<usize> = None;
    let mut chars = src[eq + 1..].chars();
    while let Some(c) = chars.next() {
        match state {
            S::Pre => match c {
                '\'' => state = S::Single,
                '"' => state = S::Double,
                '\\' => {
                    state = S::Value;
                    trailing_ws = None;
                    match chars.next() {
                        Some(e) => value.push(e),
                        None => return joins_next_line("systemd", '\\'),
                    }
                }
                c if ws(c) => {}
                c => {
                    state = S::Value;
                    value.push(c);
                }
            },
            S::Value => match c {
                '\\' => {
                    trailing_ws = None;
                    match chars.next() {
                        Some(e) => value.push(e),
                        None => return joins_next_line("systemd", '\\'),
                    }
                }
                c => {
                    if !ws(c) {
                        trailing_ws = None;
                    } else if trailing_ws.is_none() {
                        trailing_ws = Some(value.len());
                    }
                    value.push(c);
                }
            },
            S::Single => {
                if c == '\'' {
                    state = S::Pre;
                } else {
                    value.push(c);
                }
            }
            S::Double => match c {
                '"' => state = S::Pre,
                '\\' => {
                    if !push_double_quoted_escape(chars.next(), &mut value) {
                        return joins_next_line("systemd", '"');
                    }
                }
                c => value.push(c),
            },
        }
    }
    if let Some(q) = match state {
        S::Single => Some('\''),
        S::Double => Some('"'),
        _ => None,
    } {
        return Reading::Other(Misread::spilling(
            "systemd reads on into the following lines looking for the closing quote",
            q,
        ));
    }
    if state == S::Value {
        if let Some(n) = trailing_ws {
            value.truncate(n);
        }
    }
    Reading::Value {
        key: key.to_string(),
        value,
    }
}

/// Inside double quotes, bash and systemd alike drop a backslash only before $ ` " and \.
/// Returns false at the end of the line, where the backslash would join the next line.
fn push_double_quoted_escape(next: Option<char>, value: &mut String) -> bool {
    match next {
        Some(e @ ('$' | '`' | '"' | '\\')) => value.push(e),
        Some(e) => {
            value.push('\\');
            value.push(e);
        }
        None => return false,
    }
    true
}

fn joins_next_line(who: &str, until: char) -> Reading {
    Reading::Other(Misread::spilling(
        &format!("{who} joins the next line (trailing backslash)"),
        until,
    ))
}

/// Characters that need no quoting anywhere: compose, bash and systemd all read them
/// literally when unquoted.
pub fn is_bare_safe(value: &str) -> bool {
    value.chars().all(|c| {
        c.is_ascii_alphanumeric()
            || matches!(c, '_' | '.' | '/' | ':' | '@' | '%' | '+' | ',' | '=' | '-')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(r: Reading) -> String {
        match r {
            Reading::Value { value, .. } => value,
            other => panic!("expected a value, got {other:?}"),
        }
    }

    #[test]
    fn plain_lines_agree() {
        for line in ["A=b", "export A=b", "A='b c'", "A=\"b c\""] {
            let c = compose(line);
            assert_eq!(c, bash(line), "{line}");
            if !line.starts_with("export") {
                assert_eq!(c, systemd(line), "{line}");
            }
        }
        assert!(matches!(systemd("export A=b"), Reading::Other(_)));
    }

    #[test]
    fn inline_comments() {
        assert_eq!(v(compose("A=b # c")), "b");
        assert_eq!(v(bash("A=b # c")), "b");
        assert_eq!(v(systemd("A=b # c")), "b # c");
        // A `#` inside a word is part of the value (compose-go 1.6 and later); only " #"
        // starts a comment.
        assert_eq!(v(compose("A=b#c")), "b#c");
        assert_eq!(v(bash("A=b#c")), "b#c");
        assert_eq!(v(compose("A=b\t#c")), "b\t#c");
        assert_eq!(
            v(compose("PDS_CONTACT_EMAIL_ADDRESS=ad#min@example.com")),
            "ad#min@example.com"
        );
    }

    #[test]
    fn crlf_differs_in_bash_only() {
        assert_eq!(v(compose("A=b\r")), "b");
        assert_eq!(v(systemd("A=b\r")), "b");
        assert_eq!(v(bash("A=b\r")), "b\r");
    }

    #[test]
    fn shell_syntax_is_reported() {
        for line in ["A=a&b", "A=$HOME", "A=a;b", "A=~/x", "A=x y", "A=\"$x\""] {
            assert!(matches!(bash(line), Reading::Other(_)), "{line}");
        }
        assert!(matches!(compose("A=$HOME"), Reading::Other(_)));
        assert!(matches!(compose("A=\"${HOME}\""), Reading::Other(_)));
        assert_eq!(v(systemd("A=$HOME")), "$HOME");
        assert_eq!(v(compose("A='$HOME'")), "$HOME");
        // `$$` and `\$` are compose's literal `$`.
        assert_eq!(v(compose("A=a$$b")), "a$b");
        assert_eq!(v(compose(r#"A="a\$b""#)), "a$b");
    }

    #[test]
    fn compose_escapes_in_quotes() {
        assert_eq!(v(compose(r#"A="a\tb\nc""#)), "a\tb\nc");
        assert_eq!(v(compose(r#"A="a\"b""#)), "a\"b");
        assert_eq!(v(compose(r#"A="a\\b""#)), "a\\b");
        // An escape Go does not know keeps its backslash.
        assert_eq!(v(compose(r#"A="a\zb""#)), "a\\zb");
        assert_eq!(v(compose(r#"A="\0101""#)), "A");
        // In single quotes only the quote itself is escaped.
        assert_eq!(v(compose(r"A='it\'s'")), "it's");
        assert_eq!(v(compose(r"A='a\nb'")), "a\\nb");
    }

    #[test]
    fn systemd_quirks() {
        assert_eq!(v(systemd("A=  b  ")), "b");
        assert_eq!(v(systemd("A='a' 'b'")), "ab");
        assert_eq!(v(systemd(r#"A="a\"b""#)), "a\"b");
        assert_eq!(systemd("; comment"), Reading::Nothing);
    }

    #[test]
    fn bare_safe_set() {
        assert!(is_bare_safe("https://plc.directory"));
        assert!(is_bare_safe("did:plc:abc"));
        assert!(!is_bare_safe("a b"));
        assert!(!is_bare_safe("~x"));
        assert!(!is_bare_safe("a#b"));
    }
}

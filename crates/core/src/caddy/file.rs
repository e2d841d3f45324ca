//! Reading a Caddyfile as Caddy does, to edit it in place: tokens with their places in the
//! text (Caddy's lexer rules: a byte order mark dropped, `"…"` with `\"`, backquoted
//! tokens, `#` a comment only where a token starts, a backslash joining lines), then the
//! top-level blocks (global options, snippets, sites) and the directives inside a block.
//! Edits are replacements of byte ranges, so everything the wizard does not touch stays
//! byte for byte. What this reader cannot follow (heredocs, a site without braces) is
//! refused with the reason; `caddy adapt` (see `super::adapt`) checks the result where Caddy is.

use std::collections::HashMap;

/// One token: its text as Caddy reads it, where it is in the file, and its logical line
/// (lines joined by a trailing backslash are one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub text: String,
    pub start: usize,
    pub end: usize,
    pub line: usize,
    pub quoted: bool,
}

impl Token {
    fn is(&self, s: &str) -> bool {
        !self.quoted && self.text == s
    }
}

/// Why a Caddyfile cannot be edited safely.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {what}")]
pub struct Unreadable {
    pub line: usize,
    pub what: String,
}

fn unreadable(line: usize, what: impl Into<String>) -> Unreadable {
    Unreadable {
        line,
        what: what.into(),
    }
}

/// Tokenise `src` as Caddy's lexer does.
pub fn lex(src: &str) -> Result<Vec<Token>, Unreadable> {
    let bytes = src.as_bytes();
    let mut i = if src.starts_with('\u{feff}') { 3 } else { 0 };
    let mut line = 1;
    let mut physical = 1;
    let mut out = Vec::new();
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'\n' => {
                physical += 1;
                line += 1;
                i += 1;
            }
            b' ' | b'\t' | b'\r' | b'\x0b' | b'\x0c' => i += 1,
            // A backslash before the newline joins the next line to this one.
            b'\\'
                if bytes.get(i + 1) == Some(&b'\n')
                    || (bytes.get(i + 1) == Some(&b'\r') && bytes.get(i + 2) == Some(&b'\n')) =>
            {
                i += if bytes[i + 1] == b'\r' { 3 } else { 2 };
                physical += 1;
            }
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'"' => {
                let start = i;
                let mut text = String::new();
                i += 1;
                loop {
                    match bytes.get(i) {
                        None => return Err(unreadable(physical, "a quote that never closes")),
                        Some(b'\\') if bytes.get(i + 1) == Some(&b'"') => {
                            text.push('"');
                            i += 2;
                        }
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        Some(b'\n') => {
                            physical += 1;
                            text.push('\n');
                            i += 1;
                        }
                        Some(_) => {
                            let ch = src[i..].chars().next().unwrap_or('\u{fffd}');
                            text.push(ch);
                            i += ch.len_utf8();
                        }
                    }
                }
                out.push(Token {
                    text,
                    start,
                    end: i,
                    line,
                    quoted: true,
                });
                line += src[start..i].matches('\n').count();
            }
            b'`' => {
                let start = i;
                let Some(close) = src[i + 1..].find('`') else {
                    return Err(unreadable(physical, "a backquote that never closes"));
                };
                let text = src[i + 1..i + 1 + close].to_string();
                i += close + 2;
                physical += text.matches('\n').count();
                out.push(Token {
                    text: text.clone(),
                    start,
                    end: i,
                    line,
                    quoted: true,
                });
                line += text.matches('\n').count();
            }
            _ => {
                let start = i;
                let mut text = String::new();
                while i < bytes.len() && !matches!(bytes[i], b' ' | b'\t' | b'\r' | b'\n') {
                    // An escaped newline ends the token, as whitespace does.
                    if bytes[i] == b'\\' && matches!(bytes.get(i + 1), Some(b'\n' | b'\r')) {
                        break;
                    }
                    let ch = src[i..].chars().next().unwrap_or('\u{fffd}');
                    text.push(ch);
                    i += ch.len_utf8();
                }
                if text.starts_with("<<") {
                    return Err(unreadable(
                        physical,
                        "a heredoc (<<): pds-wizard does not edit those; move it to a file and import it",
                    ));
                }
                out.push(Token {
                    text,
                    start,
                    end: i,
                    line,
                    quoted: false,
                });
            }
        }
    }
    Ok(out)
}

/// What a top-level block is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Global,
    Snippet(String),
    NamedRoute(String),
    /// A site, with its addresses as written (placeholders not replaced).
    Site(Vec<String>),
}

/// A top-level block: its header tokens, its braces, and where its text is.
#[derive(Debug, Clone)]
pub struct Block {
    pub kind: Kind,
    /// Index of the first header token and of the `{` and `}` tokens.
    pub first: usize,
    pub open: usize,
    pub close: usize,
    /// Byte range of the whole block: from the start of its first line to the end of the
    /// line of its closing brace.
    pub start: usize,
    pub end: usize,
}

/// Where the line holding `at` starts (after a byte order mark, which stays where it is).
pub fn line_start(src: &str, at: usize) -> usize {
    let bom = if src.starts_with('\u{feff}') { 3 } else { 0 };
    src[..at].rfind('\n').map_or(bom, |i| i + 1)
}

fn line_end(src: &str, at: usize) -> usize {
    src[at..].find('\n').map_or(src.len(), |i| at + i + 1)
}

/// The top-level blocks of a tokenised Caddyfile.
pub fn blocks(src: &str, tokens: &[Token]) -> Result<Vec<Block>, Unreadable> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let first = i;
        // The header runs to the `{` that ends its line; addresses may continue onto the next
        // line after a trailing comma.
        let mut j = i;
        loop {
            let Some(t) = tokens.get(j) else {
                return Err(unreadable(
                    tokens[first].line,
                    "a site without braces around it: wrap it in { } so the wizard can tell where it ends",
                ));
            };
            if t.is("{") {
                break;
            }
            if t.is("}") {
                return Err(unreadable(t.line, "a closing brace with no block open"));
            }
            let next_line = tokens.get(j + 1).is_some_and(|n| n.line != t.line);
            if next_line && !t.text.ends_with(',') && !tokens[j + 1].is("{") {
                return Err(unreadable(
                    tokens[first].line,
                    "a site without braces around it: wrap it in { } so the wizard can tell where it ends",
                ));
            }
            j += 1;
        }
        let open = j;
        let header: Vec<&Token> = tokens[first..open].iter().collect();
        let mut depth = 1;
        let mut k = open + 1;
        while depth > 0 {
            let Some(t) = tokens.get(k) else {
                return Err(unreadable(tokens[open].line, "a block that never closes"));
            };
            if t.is("{") {
                depth += 1;
            } else if t.is("}") {
                depth -= 1;
            }
            k += 1;
        }
        let close = k - 1;
        let kind = match header.as_slice() {
            [] => Kind::Global,
            [t] if !t.quoted && t.text.starts_with('(') && t.text.ends_with(')') => {
                Kind::Snippet(t.text[1..t.text.len() - 1].to_string())
            }
            [t] if !t.quoted && t.text.starts_with("&(") && t.text.ends_with(')') => {
                Kind::NamedRoute(t.text[2..t.text.len() - 1].to_string())
            }
            h => Kind::Site(
                h.iter()
                    .flat_map(|t| t.text.split(','))
                    .map(str::trim)
                    .filter(|a| !a.is_empty())
                    .map(str::to_string)
                    .collect(),
            ),
        };
        out.push(Block {
            kind,
            first,
            open,
            close,
            start: line_start(src, tokens[first].start),
            end: line_end(src, tokens[close].start),
        });
        i = close + 1;
    }
    Ok(out)
}

/// A directive inside a block: its tokens from `first` to `last` (its own `}` included when
/// it has a block), and the byte range of its whole lines.
#[derive(Debug, Clone)]
pub struct Directive {
    pub name: String,
    pub first: usize,
    /// The `{` of its block, when it has one.
    pub open: Option<usize>,
    pub last: usize,
    pub start: usize,
    pub end: usize,
}

/// The directives directly inside the block whose braces are tokens `open` and `close`.
pub fn directives(src: &str, tokens: &[Token], open: usize, close: usize) -> Vec<Directive> {
    let mut out = Vec::new();
    let mut i = open + 1;
    while i < close {
        let first = i;
        let line = tokens[i].line;
        let mut j = i;
        while j + 1 < close && tokens[j + 1].line == line {
            j += 1;
        }
        let mut last = j;
        let mut block = None;
        if tokens[j].is("{") {
            block = Some(j);
            let mut depth = 1;
            let mut k = j + 1;
            while depth > 0 && k < close {
                if tokens[k].is("{") {
                    depth += 1;
                } else if tokens[k].is("}") {
                    depth -= 1;
                }
                k += 1;
            }
            last = k - 1;
        }
        out.push(Directive {
            name: tokens[first].text.clone(),
            first,
            open: block,
            last,
            start: line_start(src, tokens[first].start),
            end: line_end(src, tokens[last].start),
        });
        i = last + 1;
    }
    out
}

/// Every directive named `name` at any depth inside the braces `open`..`close`.
pub fn find_all(
    src: &str,
    tokens: &[Token],
    open: usize,
    close: usize,
    name: &str,
) -> Vec<Directive> {
    let mut found = Vec::new();
    for d in directives(src, tokens, open, close) {
        if d.name == name {
            found.push(d.clone());
        }
        if let Some(o) = d.open {
            found.extend(find_all(src, tokens, o, d.last, name));
        }
    }
    found
}

/// Caddy's `{$NAME}` and `{$NAME:default}` in `text`, replaced from `env` (None when one is
/// unknown and has no default).
pub fn expand_env(text: &str, env: &HashMap<String, String>) -> Option<String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("{$") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let end = after.find('}')?;
        let inner = &after[..end];
        let (name, default) = match inner.split_once(':') {
            Some((n, d)) => (n, Some(d)),
            None => (inner, None),
        };
        match env.get(name).map(String::as_str).or(default) {
            Some(v) => out.push_str(v),
            None => return None,
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// A site address as a host name: scheme, port and path taken off, lower case (`""` for a
/// catch-all such as `:443` or `https://`).
pub fn address_host(address: &str) -> String {
    let a = address
        .strip_prefix("https://")
        .or_else(|| address.strip_prefix("http://"))
        .unwrap_or(address);
    let a = a.split('/').next().unwrap_or("");
    let host = if a.starts_with('[') {
        a.split(']').next().map_or(a, |h| &h[1..])
    } else {
        a.rsplit_once(':').map_or(a, |(h, _)| h)
    };
    host.to_ascii_lowercase()
}

/// Whether an address is served over plain HTTP only (`http://…` or port 80).
pub fn address_is_plain_http(address: &str) -> bool {
    address.starts_with("http://")
        || address
            .rsplit_once(':')
            .is_some_and(|(_, p)| p.split('/').next() == Some("80"))
}

/// Apply byte-range replacements (they must not overlap).
pub fn apply(src: &str, mut edits: Vec<(usize, usize, String)>) -> String {
    edits.sort_by_key(|e| std::cmp::Reverse(e.0));
    let mut out = src.to_string();
    for (start, end, text) in edits {
        out.replace_range(start..end, &text);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_follow_caddys_rules() {
        let src = "\u{feff}a.com, b.com {\n\trespond \"x \\\"}\\\" y\" # a } comment\n\trespond `tick } tock`\n\theader X-A a#b\n}\n";
        let t = lex(src).unwrap();
        let texts: Vec<&str> = t.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "a.com,",
                "b.com",
                "{",
                "respond",
                "x \"}\" y",
                "respond",
                "tick } tock",
                "header",
                "X-A",
                "a#b",
                "}"
            ]
        );
        let b = blocks(src, &t).unwrap();
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].kind, Kind::Site(vec!["a.com".into(), "b.com".into()]));
        assert_eq!(&src[b[0].start..b[0].end], &src[3..]);
        assert!(lex("x <<EOF\nhi\nEOF\n").is_err());
    }

    #[test]
    fn blocks_and_directives() {
        let src = "{\n\temail a@b.c\n}\n\n(common) {\n\tencode gzip\n}\n\na.com,\nb.com {\n\ttls {\n\t\ton_demand\n\t}\n\timport common\n\thandle /x {\n\t\treverse_proxy localhost:8080\n\t}\n\treverse_proxy localhost:3000\n}\n";
        let t = lex(src).unwrap();
        let b = blocks(src, &t).unwrap();
        assert_eq!(b[0].kind, Kind::Global);
        assert_eq!(b[1].kind, Kind::Snippet("common".into()));
        assert_eq!(b[2].kind, Kind::Site(vec!["a.com".into(), "b.com".into()]));
        let d = directives(src, &t, b[2].open, b[2].close);
        let names: Vec<&str> = d.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["tls", "import", "handle", "reverse_proxy"]);
        assert_eq!(&src[d[0].start..d[0].end], "\ttls {\n\t\ton_demand\n\t}\n");
        assert_eq!(
            find_all(src, &t, b[2].open, b[2].close, "reverse_proxy").len(),
            2
        );
        assert!(blocks("a.com\nrespond hi\n", &lex("a.com\nrespond hi\n").unwrap()).is_err());
    }

    #[test]
    fn addresses_and_placeholders() {
        let env = HashMap::from([("PDS_HOSTNAME".to_string(), "pds.example.com".to_string())]);
        assert_eq!(
            expand_env("*.{$PDS_HOSTNAME}", &env).as_deref(),
            Some("*.pds.example.com")
        );
        assert_eq!(expand_env("{$NOPE:x.com}", &env).as_deref(), Some("x.com"));
        assert_eq!(expand_env("{$NOPE}", &env), None);
        assert_eq!(
            address_host("https://PDS.example.com:443"),
            "pds.example.com"
        );
        assert_eq!(address_host("http://[::1]:80/x"), "::1");
        assert_eq!(address_host(":443"), "");
        assert!(address_is_plain_http("http://a.com"));
        assert!(address_is_plain_http("a.com:80"));
        assert!(!address_is_plain_http("a.com"));
    }
}

//! Secrets: the one masking rule every output goes through, and the `Secret` newtype.
//!
//! Masking must hold exactly when a value is broken, because that is when an operator
//! pastes the output into a help thread. So the rule never depends on a value parsing:
//! - a value of a secret key (the catalogue's, or an unknown key whose name says SECRET,
//!   PASSWORD, TOKEN…) is masked whole;
//! - a URL-like value shows only what is certainly not secret: when it parses cleanly,
//!   everything but the password; when it does not, everything from after `://` to its
//!   LAST `@` is masked (and the whole authority when there is no `@`), so a password cut
//!   by an unencoded `/`, `#` or `@` is still covered;
//! - query values named like a password (`password=`, `pass=`, `token=`…) are masked;
//! - free text (error chains, panic messages) has every URL in it masked the same way,
//!   and every secret this process has read from a file replaced (`scrub`).

use std::fmt;
use std::sync::Mutex;

#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    /// The real value; call only where it must leave the program (a file, a network peer).
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// How a secret is shown: a fixed mask that does not reveal the length.
pub const MASK: &str = "••••••••";

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(")?;
        f.write_str(if self.0.is_empty() { "" } else { MASK })?;
        f.write_str(")")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "" } else { MASK })
    }
}

/// A URL (or what was meant to be one) with its secret parts masked; see the module notes.
/// Without `scheme://`, the whole value is taken as what follows it.
pub fn mask_url(url: &str) -> String {
    let (prefix, rest) = match url.find("://") {
        Some(i) => url.split_at(i + 3),
        None => ("", url),
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    if is_clean_url(url) {
        let authority = match authority.rsplit_once('@') {
            Some((login, hostport)) => match login.split_once(':') {
                Some((user, _)) => format!("{user}:{MASK}@{hostport}"),
                None => authority.to_string(),
            },
            None => authority.to_string(),
        };
        return format!(
            "{prefix}{authority}{}",
            mask_query_secrets(&mask_path_tokens(tail))
        );
    }
    // Broken: what the operator meant cannot be told from what a parser makes of it, so
    // everything up to the last `@` may be login.
    // Without an `@` nothing after `://` can be told from a piece of a password.
    match rest.rfind('@') {
        Some(at) => format!("{prefix}{MASK}{}", mask_query_secrets(&rest[at..])),
        None => format!("{prefix}{MASK}"),
    }
}

/// Whether every parser reads `url`'s login, host and port alike (its login, if any, is
/// `user[:password]@` before a plain host and port, and nothing after the host holds an
/// `@`). A URL that is not clean may have a password where a parser sees a host.
pub fn is_clean_url(url: &str) -> bool {
    let rest = url.find("://").map_or(url, |i| &url[i + 3..]);
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    is_clean_authority(&rest[..end]) && !rest[end..].contains('@')
}

/// `[user[:password]@]host[:port]` with nothing a parser could read two ways.
fn is_clean_authority(authority: &str) -> bool {
    let (login, hostport) = match authority.rsplit_once('@') {
        Some((l, h)) => (Some(l), h),
        None => (None, authority),
    };
    let login_ok = login.is_none_or(|l| {
        !l.is_empty()
            && !l.contains('@')
            && l.chars().all(|c| {
                // The mask itself is allowed, so masking a masked URL changes nothing.
                (c.is_ascii_graphic() && !matches!(c, '"' | '\'' | '\\' | '`')) || c == '•'
            })
    });
    let (host, port) = match hostport.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((h, after)) if !h.is_empty() => (h, after.strip_prefix(':')),
            _ => return false,
        },
        None => match hostport.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        },
    };
    let host_ok = host
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | ':'))
        && (!host.contains(':') || hostport.starts_with('['));
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    // An empty authority is fine (`smtp:///?sendmail=true`), an empty host after a login is not.
    let host_present = !host.is_empty() || login.is_none() && port.is_none();
    login_ok && host_ok && port_ok && host_present
}

/// Whether a path segment looks like a credential (a webhook's or a bot's token): long,
/// of one word-like charset, letters and digits mixed.
fn looks_like_token(seg: &str) -> bool {
    seg.len() >= 16
        && seg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.~=+".contains(c))
        && seg.chars().any(|c| c.is_ascii_digit())
        && seg.chars().any(|c| c.is_ascii_alphabetic())
        && !seg.contains("..")
}

/// A URL's path (up to its query or fragment) with token-like segments masked.
fn mask_path_tokens(tail: &str) -> String {
    let end = tail.find(['?', '#']).unwrap_or(tail.len());
    let (path, rest) = tail.split_at(end);
    let masked: Vec<String> = path
        .split('/')
        .map(|seg| {
            if looks_like_token(seg) {
                MASK.to_string()
            } else {
                seg.to_string()
            }
        })
        .collect();
    format!("{}{rest}", masked.join("/"))
}

/// Query names whose values are secrets.
fn secret_query_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    ["pass", "pwd", "secret", "token", "key", "auth"]
        .iter()
        .any(|w| n.contains(w))
}

/// `?a=1&password=x#f` → `?a=1&password=••••••••#f`.
fn mask_query_secrets(tail: &str) -> String {
    let Some(q) = tail.find('?') else {
        return tail.to_string();
    };
    let (path, query) = tail.split_at(q + 1);
    let (query, fragment) = match query.find('#') {
        Some(h) => query.split_at(h),
        None => (query, ""),
    };
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) if !v.is_empty() && secret_query_name(k) => format!("{k}={MASK}"),
            _ => pair.to_string(),
        })
        .collect();
    format!("{path}{}{fragment}", pairs.join("&"))
}

/// Free text (an error chain, a finding, a config) with every `scheme://…@…` in it masked
/// as a URL. A URL ends at white space, a quote or a bracket; one without an `@` carries
/// no login and is left as it is (`proxy_pass http://127.0.0.1:3000;`). A broken login
/// that runs past a space is caught by `scrub` when its value came from a file.
pub fn mask_urls_in(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let start = rest[..i]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
            .map_or(0, |j| {
                j + rest[j..].chars().next().map_or(1, char::len_utf8)
            });
        let len = rest[i..]
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '`' | ')'))
            .unwrap_or(rest.len() - i);
        out.push_str(&rest[..start]);
        let url = &rest[start..i + len];
        if url.contains('@') {
            out.push_str(&mask_url(url));
        } else {
            // No login; a token in the path or a secret query value is masked, the host
            // and port stay as written (`proxy_pass http://127.0.0.1:3000;`).
            let after = url.find("://").map_or(0, |i| i + 3);
            let end = url[after..]
                .find(['/', '?', '#'])
                .map_or(url.len(), |e| after + e);
            out.push_str(&url[..end]);
            out.push_str(&mask_query_secrets(&mask_path_tokens(&url[end..])));
        }
        rest = &rest[i + len..];
    }
    out.push_str(rest);
    out
}

/// Strings known to be public (pds.env's public values, mail servers' names): a piece of
/// a broken password is not masked where it is part of one of these.
static PUBLIC: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Remember `text` as public (see `PUBLIC`).
pub fn remember_public(text: &str) {
    let t = text.trim();
    if t.chars().count() < MIN_SCRUB_LEN {
        return;
    }
    if let Ok(mut p) = PUBLIC.lock() {
        if !p.iter().any(|x| x == t) {
            p.push(t.to_string());
        }
    }
}

/// Secrets this process has read (from pds.env, a prompt), so that free text that quotes
/// one by accident (an error chain, a panic message) can still be cleaned.
static KNOWN: Mutex<Vec<String>> = Mutex::new(Vec::new());
/// Passwords of URLs too broken to parse: a parser may read any piece of them as a host,
/// a port or a user name, so every piece of four characters or more is masked.
static PIECES: Mutex<Vec<Vec<char>>> = Mutex::new(Vec::new());

/// Shorter strings are not worth replacing: they would mask ordinary words.
const MIN_SCRUB_LEN: usize = 4;

/// Remember `secret` (and its percent-decoded form) for `scrub`.
pub fn remember(secret: &str) {
    let mut forms = vec![secret.to_string()];
    if let Ok(decoded) = percent_encoding::percent_decode_str(secret).decode_utf8() {
        forms.push(decoded.into_owned());
    }
    let Ok(mut known) = KNOWN.lock() else { return };
    for f in forms {
        if f.chars().count() >= MIN_SCRUB_LEN && !known.contains(&f) {
            known.push(f);
        }
    }
    // Longest first, so a secret that contains another is replaced whole.
    known.sort_by_key(|s| std::cmp::Reverse(s.len()));
}

/// Remember a broken URL's password so that every piece of it is masked by `scrub`.
pub fn remember_pieces(password: &str) {
    // As typed, and percent-encoded as a composer would write it back (in a URL's login
    // or query).
    let encoded = percent_encoding::utf8_percent_encode(password, ENCODED).to_string();
    for form in [password, encoded.as_str()] {
        let chars: Vec<char> = form.chars().collect();
        if chars.len() < MIN_SCRUB_LEN {
            continue;
        }
        if let Ok(mut pieces) = PIECES.lock() {
            if !pieces.contains(&chars) {
                pieces.push(chars);
            }
        }
    }
}

/// What URL composers escape: all but letters, digits and `-._~`.
const ENCODED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `text` with every run of `MIN_SCRUB_LEN` or more characters that occurs in one of the
/// remembered broken passwords masked.
fn scrub_pieces(text: &str) -> String {
    let Ok(pieces) = PIECES.lock() else {
        return text.to_string();
    };
    if pieces.is_empty() {
        return text.to_string();
    }
    let public = PUBLIC.lock().map(|p| p.clone()).unwrap_or_default();
    mask_pieces(text, &pieces, &public)
}

/// Schemes are never pieces of a password, whatever the password holds ("smtps://" stays).
const ALWAYS_PUBLIC: [&str; 4] = ["smtp://", "smtps://", "http://", "https://"];

/// `mask_pieces`' work, with its lists given: runs of a piece masked, except where the
/// whole run stands inside a public string of the text.
fn mask_pieces(text: &str, pieces: &[Vec<char>], public: &[String]) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut shielded = vec![false; chars.len()];
    for p in public.iter().map(String::as_str).chain(ALWAYS_PUBLIC) {
        let pc: Vec<char> = p.chars().collect();
        if pc.is_empty() || pc.len() > chars.len() {
            continue;
        }
        for start in 0..=chars.len() - pc.len() {
            if chars[start..start + pc.len()] == pc[..] {
                shielded[start..start + pc.len()]
                    .iter_mut()
                    .for_each(|x| *x = true);
            }
        }
    }
    let longest_at = |i: usize| {
        pieces
            .iter()
            .map(|p| {
                (0..p.len())
                    .map(|j| {
                        chars[i..]
                            .iter()
                            .zip(&p[j..])
                            .take_while(|(a, b)| a == b)
                            .count()
                    })
                    .max()
                    .unwrap_or(0)
            })
            .max()
            .unwrap_or(0)
    };
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let n = longest_at(i);
        if n >= MIN_SCRUB_LEN && !shielded[i..i + n].iter().all(|p| *p) {
            out.push_str(MASK);
            i += n;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// `text` with its URLs masked and every remembered secret replaced: the last word before
/// text the program did not compose itself (error chains, panics) reaches a person. Control
/// characters but newline and tab are shown as escapes (`\u{1b}`): a server's answer quoted
/// in a message (an error body, a TXT record, an SMTP reply) cannot drive the terminal.
pub fn scrub(text: &str) -> String {
    let mut out = mask_urls_in(text);
    if let Ok(known) = KNOWN.lock() {
        for s in known.iter() {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), MASK);
            }
        }
    }
    printable(&scrub_pieces(&out))
}

/// Control characters (C0 but newline and tab, DEL, C1) as visible escapes.
pub fn printable(text: &str) -> String {
    if !text.chars().any(is_terminal_control) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_terminal_control(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

fn is_terminal_control(c: char) -> bool {
    c.is_control() && c != '\n' && c != '\t'
}

/// Print panics through `scrub`: a panic message may quote a value it was handed.
pub fn install_panic_scrubber() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned());
        match message {
            // Only a message that held a secret is reworded; any other keeps the standard
            // report (and its backtrace).
            Some(m) if scrub(&m) != m => {
                let place = info
                    .location()
                    .map(|l| format!(" at {}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                // Not eprintln!: on a dead terminal it would panic again, and abort.
                use std::io::Write;
                let _ = writeln!(
                    std::io::stderr(),
                    "pds-wizard panicked{place}: {}",
                    scrub(&m)
                );
            }
            _ => previous(info),
        }
    }));
}

#[cfg(test)]
mod tests {

    /// A broken password holding "smtp": its pieces are masked, but not inside a scheme,
    /// the mail server's name or another value pds.env holds (public).
    #[test]
    fn pieces_of_a_password_are_not_masked_inside_public_words() {
        let pieces = vec!["mysmtp/Zq81".chars().collect::<Vec<char>>()];
        let public = vec![
            "smtp.example.net".to_string(),
            "noreply@smtp-relay.example.net".to_string(),
        ];
        let shown = mask_pieces(
            "smtps://u:x@smtp.example.net; from noreply@smtp-relay.example.net; host mysmtp/Zq81 or smtp/Zq",
            &pieces,
            &public,
        );
        assert!(
            shown.starts_with(
                "smtps://u:x@smtp.example.net; from noreply@smtp-relay.example.net; host "
            ),
            "{shown}"
        );
        assert!(
            !shown.contains("mysmtp") && !shown.contains("smtp/Zq"),
            "{shown}"
        );
    }

    use super::*;

    #[test]
    fn never_formats_the_value() {
        let s = Secret::new("hunter2");
        assert!(!format!("{s} {s:?} {s:#?}").contains("hunter2"));
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn clean_urls_keep_everything_but_the_password() {
        assert_eq!(
            mask_url("smtps://u%40x.com:p%40ss@smtp.example.com:465"),
            format!("smtps://u%40x.com:{MASK}@smtp.example.com:465")
        );
        assert_eq!(mask_url("smtp://host:25"), "smtp://host:25");
        assert_eq!(
            mask_url("smtp://apikey@[::1]:587/?requireTLS=true"),
            "smtp://apikey@[::1]:587/?requireTLS=true"
        );
        assert_eq!(
            mask_url("smtp:///?sendmail=true&path=/usr/sbin/sendmail"),
            "smtp:///?sendmail=true&path=/usr/sbin/sendmail"
        );
        assert_eq!(
            mask_url("smtp://h:25/?user=a&pass=b&x=1"),
            format!("smtp://h:25/?user=a&pass={MASK}&x=1")
        );
    }

    #[test]
    fn broken_urls_are_masked_to_the_last_at() {
        // The example: an unencoded `/` and `@` in the password.
        assert_eq!(
            mask_url("smtps://pds@example.com:S3cr/tP@ss@smtp.example.com:465"),
            format!("smtps://{MASK}@smtp.example.com:465")
        );
        // compose cut the line at `#`: no `@` left, nothing after :// can be trusted.
        assert_eq!(mask_url("smtps://u:pa"), format!("smtps://{MASK}"));
        assert_eq!(mask_url("smtps://u:pass#word"), format!("smtps://{MASK}"));
        assert_eq!(
            mask_url("u:p w@host:465"),
            format!("{MASK}@host:465"),
            "no scheme"
        );
        assert_eq!(
            mask_url("smtps://:pw@host"),
            format!("smtps://:{MASK}@host"),
            "empty user"
        );
        assert_eq!(mask_url("smtps://u:p%@h"), format!("smtps://u:{MASK}@h"));
    }

    #[test]
    fn free_text_and_remembered_secrets() {
        assert_eq!(
            mask_urls_in("error sending request for url (https://u:hunter22@h/x): refused"),
            format!("error sending request for url (https://u:{MASK}@h/x): refused")
        );
        remember("Zq7-unit-scrub%2Bpw");
        assert_eq!(
            scrub("saw Zq7-unit-scrub+pw and Zq7-unit-scrub%2Bpw"),
            format!("saw {MASK} and {MASK}")
        );
    }
}

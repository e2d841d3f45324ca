//! Repairing an SMTP URL the PDS misreads: what the operator most likely meant, which parts
//! of that are certain, and which the operator must still give.
//!
//! nodemailer reads the URL with Node's legacy parser (see `crate::smtp_url`), so an
//! unencoded `/ ? #` in the login ends the host early, a bare `%` throws, and smtp:// on
//! 465 waits for a greeting that never comes. A person writing the URL by hand means the
//! login to run up to the last `@` and the host to follow it: that reading is recovered
//! here and written back encoded.

use super::{compose, parse, url_findings, Security, SmtpSettings};
use crate::finding::Level;
use crate::secret::Secret;
use percent_encoding::percent_decode;
use serde::Serialize;

/// A part of the login.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Part {
    User,
    Password,
}

impl Part {
    fn name(self) -> &'static str {
        match self {
            Part::User => "user name",
            Part::Password => "password",
        }
    }
}

/// One thing the repair changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    /// These characters of the part were written as they are; now percent-encoded.
    Encoded { part: Part, chars: Vec<char> },
    /// The scheme did not match the port: now this security.
    Security { port: u16, to: Security },
    /// No From address: the login, an address at the provider, is taken as the sender.
    FromIsLogin,
}

/// What the repair cannot know: the operator must check or give it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "unsure", rename_all = "snake_case")]
pub enum Unsure {
    /// No From address, and the login is not an address: ask for one.
    From,
    /// The part holds both a bare `%` and `%XX` escapes: the escapes were read as escapes.
    Escapes { part: Part },
    /// The URL can be read with more than one host (an `@` in the login and in the query):
    /// the first is taken; the operator must say it is the mail server.
    Host { hosts: Vec<String> },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repair {
    /// The settings meant: the URL's parts as a person reads them, the scheme matched to
    /// the port, and the From address when it can be known.
    pub settings: SmtpSettings,
    pub changes: Vec<Change>,
    pub unsure: Vec<Unsure>,
}

impl Repair {
    /// The URL to write.
    pub fn url(&self) -> String {
        compose(&self.settings).unwrap_or_default()
    }

    /// Whether nothing is left to ask: the repair can be written as it is.
    pub fn is_certain(&self) -> bool {
        !self
            .unsure
            .iter()
            .any(|u| matches!(u, Unsure::From | Unsure::Host { .. }))
    }

    /// "user pds@example.com at smtp.example.com:465 (tls), password kept".
    pub fn describe(&self) -> String {
        let s = &self.settings;
        let login = if s.username.is_empty() {
            "no login".to_string()
        } else {
            format!("user {}", s.username)
        };
        let mut out = format!("{login} at {}:{} ({})", s.host, s.port, s.security.name());
        if !s.password.is_empty() {
            out.push_str(", password kept");
        }
        if self.changes.contains(&Change::FromIsLogin) {
            out.push_str(&format!(", sending from {}", s.from_address));
        }
        out
    }

    /// One line per change and per doubt, for the operator.
    pub fn notes(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .changes
            .iter()
            .map(|c| match c {
                Change::Encoded { part, chars } => {
                    let list: Vec<String> = chars
                        .iter()
                        .map(|c| format!("{c:?} as {}", encoded(*c)))
                        .collect();
                    format!("the {}: {}", part.name(), list.join(", "))
                }
                Change::Security { port, to } => format!(
                    "port {port} speaks {}: the scheme becomes {}",
                    match to {
                        Security::ImplicitTls => "TLS from the first byte",
                        _ => "plain text first, then STARTTLS",
                    },
                    match to {
                        Security::ImplicitTls => "smtps://",
                        _ => "smtp:// with requireTLS=true",
                    }
                ),
                Change::FromIsLogin => format!(
                    "From: {} (your login; most providers send only from it or its aliases)",
                    self.settings.from_address
                ),
            })
            .collect();
        out.extend(self.unsure.iter().map(|u| match u {
            Unsure::From => "From: still needed (the PDS will not start without it)".to_string(),
            Unsure::Host { hosts } => format!(
                "the mail server: {} is taken, but the URL can also be read as {} (an @ in the login and one after the host); check it is your provider's before the password goes there",
                hosts[0],
                hosts[1..].join(" or ")
            ),
            Unsure::Escapes { part } => format!(
                "the {} holds both a lone % and %XX: the %XX were read as escapes; retype the {} if they are meant literally",
                part.name(),
                part.name()
            ),
        }));
        out
    }
}

fn encoded(c: char) -> String {
    percent_encoding::utf8_percent_encode(&c.to_string(), percent_encoding::NON_ALPHANUMERIC)
        .to_string()
}

/// Percent-decode the way a person means it: valid `%XX` escapes are decoded, a `%` that
/// starts none is a `%`. Also says whether there was a lone `%`, and whether escapes.
fn lenient_decode(s: &str) -> (String, bool, bool) {
    let b = s.as_bytes();
    let hex = |j: usize| b.get(j).is_some_and(u8::is_ascii_hexdigit);
    let mut lone = false;
    let mut escapes = false;
    let mut fixed = String::with_capacity(s.len());
    for (i, c) in s.char_indices() {
        if c == '%' {
            if hex(i + 1) && hex(i + 2) {
                escapes = true;
            } else {
                lone = true;
                fixed.push_str("%25");
                continue;
            }
        }
        fixed.push(c);
    }
    let decoded = percent_decode(fixed.as_bytes())
        .decode_utf8()
        .map(|c| c.into_owned())
        // Escapes that are not UTF-8: keep the text as written.
        .unwrap_or_else(|_| s.to_string());
    (decoded, lone, escapes)
}

/// The characters of a login part that nodemailer cannot take as written.
fn unencoded(raw: &str, part: Part, lone_percent: bool) -> Vec<char> {
    let mut chars: Vec<char> = Vec::new();
    let special: &[char] = match part {
        // A `:` in the password is fine: only the first one splits the login.
        Part::Password => &['/', '?', '#', '@'],
        Part::User => &['/', '?', '#', '@'],
    };
    for c in raw.chars() {
        if special.contains(&c) && !chars.contains(&c) {
            chars.push(c);
        }
    }
    if lone_percent {
        chars.push('%');
    }
    chars
}

/// What the operator meant by this URL and From address, when the PDS would read them
/// differently (or not start): `None` when the PDS reads them as meant, or when no reading
/// can be recovered (no scheme, no host).
pub fn repair(url: &str, from: &str) -> Option<Repair> {
    let url = url.trim();
    let (scheme, rest) = url.split_once("://")?;
    let mut security = match scheme.to_ascii_lowercase().as_str() {
        "smtps" => Security::ImplicitTls,
        "smtp" => Security::StartTlsIfOffered,
        _ => return None,
    };
    // The login runs to the `@` that a host follows. A login written by hand may hold `@`,
    // `/` and `?`, and a query may hold `@` (`?name=pds@example.com`): each `@` is tried,
    // and one whose host is followed by a query nodemailer reads wins over one whose login
    // would swallow that query — never the `@` inside the query, which would send the
    // password to the host named there. Two readings with different hosts are not guessed
    // between silently.
    let readings = host_readings(rest);
    let last_at = readings
        .iter()
        .find(|&&at| super::starts_a_query(after_host(&rest[at + 1..])))
        .or_else(|| readings.last())
        .copied();
    let mut hosts: Vec<String> = Vec::new();
    for at in last_at.iter().chain(readings.iter()) {
        let h = host_of(&rest[at + 1..]).to_ascii_lowercase();
        if !hosts.contains(&h) {
            hosts.push(h);
        }
    }
    let (login, after) = match last_at {
        Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
        None => (None, rest),
    };
    let host_end = after.find(['/', '?', '#']).unwrap_or(after.len());
    // Host, port and query read the PDS's way, from a URL without the login.
    let tail = format!("{scheme}://{after}");
    let mut s = parse(&tail).ok()?;
    if s.is_sendmail() || after[..host_end].is_empty() {
        return None;
    }
    if s.security == Security::StartTls {
        security = Security::StartTls;
    }
    let mut changes = Vec::new();
    let mut unsure = Vec::new();
    if hosts.len() > 1 {
        unsure.push(Unsure::Host { hosts });
    }
    if let Some(login) = login {
        let (user_raw, pass_raw) = match login.split_once(':') {
            Some((u, p)) => (u, Some(p)),
            None => (login, None),
        };
        let (user, user_lone, user_esc) = lenient_decode(user_raw);
        let chars = unencoded(user_raw, Part::User, user_lone);
        if !chars.is_empty() {
            changes.push(Change::Encoded {
                part: Part::User,
                chars,
            });
        }
        if user_lone && user_esc {
            unsure.push(Unsure::Escapes { part: Part::User });
        }
        s.username = user;
        if let Some(pass_raw) = pass_raw {
            let (pass, lone, esc) = lenient_decode(pass_raw);
            let chars = unencoded(pass_raw, Part::Password, lone);
            if !chars.is_empty() {
                changes.push(Change::Encoded {
                    part: Part::Password,
                    chars,
                });
            }
            if lone && esc {
                unsure.push(Unsure::Escapes {
                    part: Part::Password,
                });
            }
            s.password = Secret::new(pass);
        }
    }
    // The scheme follows the port the operator wrote (ports say what they speak).
    let to = match (security, s.port) {
        (Security::StartTlsIfOffered | Security::StartTls, 465) => Some(Security::ImplicitTls),
        (Security::ImplicitTls, 587 | 25) => Some(Security::StartTls),
        _ => None,
    };
    s.security = security;
    if let Some(to) = to {
        s.security = to;
        changes.push(Change::Security { port: s.port, to });
    }
    s.from_address = from.trim().to_string();
    if s.from_address.is_empty() {
        if is_address(&s.username) {
            s.from_address = s.username.clone();
            changes.push(Change::FromIsLogin);
        } else {
            unsure.push(Unsure::From);
        }
    }
    let fixed = compose(&s).ok()?;
    // Only a repair that the PDS then reads as meant, and that changes something.
    if url_findings(&fixed).iter().any(|f| f.level == Level::Fail) {
        return None;
    }
    if fixed == url && changes.is_empty() && unsure.is_empty() {
        return None;
    }
    // Same meaning written another way (a port added, options reordered): nothing to repair.
    if changes.is_empty() && unsure.is_empty() {
        return None;
    }
    Some(Repair {
        settings: s,
        changes,
        unsure,
    })
}

/// The host part at the start of `after` (up to `/`, `?` or `#`).
fn host_of(after: &str) -> &str {
    &after[..after.find(['/', '?', '#']).unwrap_or(after.len())]
}

/// What follows the host part.
fn after_host(after: &str) -> &str {
    &after[host_of(after).len()..]
}

/// The `@` positions in `rest` (the URL after `scheme://`) that a plausible `host[:port]`
/// follows, left to right.
fn host_readings(rest: &str) -> Vec<usize> {
    let plausible = |h: &str| {
        let (host, port) = match h.strip_prefix('[') {
            Some(v6) => match v6.split_once(']') {
                Some((a, p)) => (a, p.strip_prefix(':')),
                None => return false,
            },
            None => match h.rsplit_once(':') {
                Some((a, p)) => (a, Some(p)),
                None => (h, None),
            },
        };
        !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:".contains(c))
            && !host.starts_with(['.', '-'])
            && port.is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    };
    let mut out: Vec<usize> = Vec::new();
    for at in rest
        .char_indices()
        .filter(|&(_, c)| c == '@')
        .map(|(i, _)| i)
        .filter(|&at| plausible(host_of(&rest[at + 1..])))
    {
        // An `@` inside the query nodemailer reads after an earlier host is the query's.
        let in_query = out.iter().any(|&e| {
            let after = &rest[e + 1..];
            super::starts_a_query(after_host(after)) && at > e + host_of(after).len()
        });
        if !in_query {
            out.push(at);
        }
    }
    out
}

/// `name@domain.tld`, the shape a provider login has when it is a mailbox.
fn is_address(s: &str) -> bool {
    s.split_once('@').is_some_and(|(l, d)| {
        !l.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.')
    }) && !s.contains(char::is_whitespace)
}

#[cfg(test)]
mod tests {

    /// An `@` in the query (a nodemailer option) is never the host separator, even when
    /// the password holds an unencoded `/` or `?`: the password stays with the mail server.
    #[test]
    fn an_at_in_the_query_never_takes_the_password_elsewhere() {
        let r = repair(
            "smtps://me@example.com:p/ss@smtp.example.com?name=pds@evil.example",
            "",
        )
        .unwrap();
        assert_eq!(r.settings.host, "smtp.example.com");
        assert_eq!(r.settings.password.expose(), "p/ss");
        assert!(
            !r.url().contains("@evil.example?") && r.url().contains("@smtp.example.com"),
            "{}",
            r.url()
        );
        // Two hosts a person could mean, no query to tell them apart: the first guess is
        // not certain, and the note names both.
        let r = repair(
            "smtps://a:b@mail.example.com/x@smtp.example.net",
            "a@b.example",
        )
        .unwrap();
        assert!(!r.is_certain(), "{:?}", r.unsure);
        assert!(
            r.notes()
                .iter()
                .any(|n| n.contains("mail.example.com") && n.contains("smtp.example.net")),
            "{:?}",
            r.notes()
        );
        // One reading only: certain.
        let r = repair("smtps://me@example.com:p/ss@smtp.example.com", "").unwrap();
        assert_eq!(r.settings.host, "smtp.example.com");
        assert!(r.is_certain());
    }
    use super::*;

    fn meant(url: &str, from: &str) -> Repair {
        repair(url, from).unwrap_or_else(|| panic!("no repair for {url}"))
    }

    #[test]
    fn unencoded_characters_in_the_password_are_recovered() {
        for (url, c) in [
            (
                "smtps://pds%40example.com:S3cr/tP@ss@smtp.example.com:465",
                '/',
            ),
            (
                "smtps://pds%40example.com:S3cr#tP@ss@smtp.example.com:465",
                '#',
            ),
            (
                "smtps://pds%40example.com:S3cr?tP@ss@smtp.example.com:465",
                '?',
            ),
        ] {
            let r = meant(url, "pds@example.com");
            assert_eq!(r.settings.username, "pds@example.com");
            assert_eq!(r.settings.password.expose(), format!("S3cr{c}tP@ss"));
            assert_eq!(
                (r.settings.host.as_str(), r.settings.port),
                ("smtp.example.com", 465)
            );
            assert!(r.is_certain());
            // What is written back is read by nodemailer exactly as meant.
            let back = parse(&r.url()).unwrap();
            assert_eq!(back.password.expose(), format!("S3cr{c}tP@ss"));
            assert_eq!(back.host, "smtp.example.com");
            assert!(r
                .describe()
                .contains("user pds@example.com at smtp.example.com:465"));
        }
    }

    #[test]
    fn at_in_the_user_and_lone_percent() {
        let r = meant(
            "smtps://pds@example.com:pw@smtp.example.com:465",
            "a@b.example",
        );
        assert_eq!(
            r.changes,
            vec![Change::Encoded {
                part: Part::User,
                chars: vec!['@']
            }]
        );
        assert!(r.url().starts_with("smtps://pds%40example.com:pw@"));
        let r = meant("smtps://u:100%sure@smtp.example.com", "a@b.example");
        assert_eq!(r.settings.password.expose(), "100%sure");
        assert_eq!(parse(&r.url()).unwrap().password.expose(), "100%sure");
        // Lone % and escapes together: the escapes are a guess, and said so.
        let r = meant("smtps://u:50%25off100%@smtp.example.com", "a@b.example");
        assert_eq!(r.settings.password.expose(), "50%off100%");
        assert!(r.unsure.contains(&Unsure::Escapes {
            part: Part::Password
        }));
    }

    #[test]
    fn scheme_follows_the_port_and_from_follows_the_login() {
        let r = meant(
            "smtp://pds%40example.com:pw@smtp.example.com:465",
            "x@example.com",
        );
        assert_eq!(r.settings.security, Security::ImplicitTls);
        assert!(r.url().starts_with("smtps://"));
        let r = meant("smtps://u:pw@smtp.example.com:587", "x@example.com");
        assert_eq!(r.settings.security, Security::StartTls);
        assert!(r.url().ends_with(":587/?requireTLS=true"), "{}", r.url());
        let r = meant("smtps://pds%40example.com:pw@smtp.example.com:465", "");
        assert_eq!(r.settings.from_address, "pds@example.com");
        assert!(r.is_certain());
        let r = meant("smtps://apikey:pw@smtp.example.com:465", "");
        assert!(!r.is_certain());
        assert!(r.notes().iter().any(|n| n.contains("From: still needed")));
    }

    #[test]
    fn nothing_to_repair_or_nothing_to_recover() {
        assert_eq!(
            repair(
                "smtps://u%40x.example:p%2Fw@smtp.example.com:465",
                "a@b.example"
            ),
            None
        );
        assert_eq!(repair("smtp:///?sendmail=true", "a@b.example"), None);
        assert_eq!(repair("u:p@smtp.example.com", "a@b.example"), None);
        assert_eq!(repair("smtps://u:p/w@", "a@b.example"), None);
        // An @ in a query nodemailer reads is not part of the login.
        assert_eq!(
            repair(
                "smtps://u:p@smtp.example.com:465/?name=pds@example.com",
                "a@b.example"
            ),
            None
        );
    }

    #[test]
    fn the_password_never_appears_in_what_is_said() {
        let r = meant("smtps://me%40example.com:Zq9/xK#p@smtp.example.com:465", "");
        let said = format!("{} {:?}", r.describe(), r.notes());
        assert!(!said.contains("Zq9") && !said.contains("xK"), "{said}");
    }
}

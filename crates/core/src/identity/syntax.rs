//! Handles and DIDs that exist only when valid per the atproto spec
//! (atproto.com/specs/handle, /specs/did), each rejection with its reason.

use serde::Serialize;
use std::fmt;
use thiserror::Error;

/// Why a string is not a DNS name: the one rule for handles and host names alike.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NameError {
    #[error("a name cannot be empty")]
    Empty,
    #[error("{0:?} has spaces or invisible characters around it")]
    Whitespace(String),
    #[error("{0:?} is an IP address; a domain name is needed here")]
    IpAddress(String),
    #[error("{handle:?} is {len} characters long; a domain name has at most 253")]
    TooLong { handle: String, len: usize },
    #[error(
        "{0:?} has no dot: a domain name needs a domain and a top-level domain (like pds.example.com)"
    )]
    NoTld(String),
    #[error("{handle:?} has an empty label (two dots in a row, or a dot at the start or end)")]
    EmptyLabel { handle: String },
    #[error("label {label:?} is {len} characters long; at most 63")]
    LabelTooLong { label: String, len: usize },
    #[error("label {label:?} holds {ch:?}; only ASCII letters, digits and hyphens are allowed (write international names in punycode, xn--…)")]
    BadChar { label: String, ch: char },
    #[error("label {label:?} starts or ends with a hyphen")]
    Hyphen { label: String },
    #[error("the top-level domain {tld:?} starts with a digit")]
    NumericTld { tld: String },
    #[error("{handle:?} ends in .{tld}, which the Bluesky network does not accept for handles")]
    DisallowedTld { handle: String, tld: String },
    #[error("{0:?} starts with @: drop the @ (names are written without it here)")]
    AtSign(String),
}

/// Handles are refused for the reasons names are (and one more: a disallowed TLD).
pub type HandleError = NameError;

/// A syntactically valid handle, lower-cased (handles are case-insensitive).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Handle(String);

/// A DNS host name (the PDS's, a proxy upstream's, a handle domain's wildcard), lower-cased.
/// The same syntax as a handle, which is a DNS name; what differs is what it is for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Hostname(String);

impl Hostname {
    pub fn parse(s: &str) -> Result<Hostname, NameError> {
        check_name(s)?;
        Ok(Hostname(s.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Hostname {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The DNS name rule (atproto's handle syntax, which is RFC 1035's with a non-numeric
/// top-level domain).
fn check_name(s: &str) -> Result<(), NameError> {
    use NameError as HandleError;
    if s.is_empty() {
        return Err(HandleError::Empty);
    }
    if s.starts_with('@') {
        return Err(HandleError::AtSign(s.to_string()));
    }
    if s.trim() != s {
        return Err(HandleError::Whitespace(s.to_string()));
    }
    if s.parse::<std::net::IpAddr>().is_ok() {
        return Err(HandleError::IpAddress(s.to_string()));
    }
    let len = s.chars().count();
    if len > 253 {
        return Err(HandleError::TooLong {
            handle: s.to_string(),
            len,
        });
    }
    let labels: Vec<&str> = s.split('.').collect();
    if labels.len() < 2 {
        return Err(HandleError::NoTld(s.to_string()));
    }
    for label in &labels {
        if label.is_empty() {
            return Err(HandleError::EmptyLabel {
                handle: s.to_string(),
            });
        }
        if let Some(ch) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            return Err(HandleError::BadChar {
                label: label.to_string(),
                ch,
            });
        }
        if label.len() > 63 {
            return Err(HandleError::LabelTooLong {
                label: label.to_string(),
                len: label.len(),
            });
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(HandleError::Hyphen {
                label: label.to_string(),
            });
        }
    }
    let tld = labels[labels.len() - 1];
    if tld.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(HandleError::NumericTld {
            tld: tld.to_string(),
        });
    }
    Ok(())
}

/// Valid syntax, but refused by the network (atproto spec, "additional restrictions").
pub const DISALLOWED_TLDS: &[&str] = &[
    "alt",
    "arpa",
    "example",
    "internal",
    "invalid",
    "local",
    "localhost",
    "onion",
];

impl Handle {
    pub fn parse(s: &str) -> Result<Handle, HandleError> {
        check_name(s)?;
        Ok(Handle(s.to_ascii_lowercase()))
    }

    /// Valid and accepted by the network: the syntax plus the disallowed TLDs.
    pub fn parse_usable(s: &str) -> Result<Handle, HandleError> {
        let h = Handle::parse(s)?;
        h.usable()?;
        Ok(h)
    }

    pub fn usable(&self) -> Result<(), HandleError> {
        let tld = self.tld();
        if DISALLOWED_TLDS.contains(&tld) {
            return Err(HandleError::DisallowedTld {
                handle: self.0.clone(),
                tld: tld.to_string(),
            });
        }
        Ok(())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn tld(&self) -> &str {
        self.0.rsplit('.').next().unwrap_or("")
    }

    /// `_atproto.<handle>`: where the DNS record goes.
    pub fn txt_name(&self) -> String {
        format!("_atproto.{}", self.0)
    }
}

impl fmt::Display for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DidError {
    #[error("{0:?} is not a DID (did:method:identifier)")]
    NotADid(String),
    #[error("{0:?}: the method must be lower-case letters (plc, web…)")]
    BadMethod(String),
    #[error("{did:?}: the identifier holds {ch:?}; allowed are letters, digits and . _ : % -")]
    BadChar { did: String, ch: char },
    #[error("{0:?}: the identifier cannot be empty or end with ':' or '%'")]
    BadEnd(String),
    #[error("{0:?}: a % must start a %XX escape")]
    BadEscape(String),
    #[error("a DID has at most 2048 characters; this one has {0}")]
    TooLong(usize),
    #[error("{0:?}: drop the \"did=\" (that prefix belongs in the _atproto TXT record, not here)")]
    TxtPrefix(String),
    #[error("{did:?}: atproto accepts did:plc and did:web only, not did:{method}")]
    Method { did: String, method: String },
    #[error("{did:?}: a did:plc has exactly 24 characters after \"did:plc:\"; this one has {len} (copied in full?)")]
    PlcLength { did: String, len: usize },
    #[error("{did:?}: a did:plc is written in lower-case base32 (a–z and 2–7); {ch:?} is not one of them")]
    PlcChar { did: String, ch: char },
    #[error("{did:?}: a did:web names a host (did:web:example.com, a port as %3A); {why}")]
    WebHost { did: String, why: String },
}

/// A syntactically valid DID.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Did(String);

impl Did {
    pub fn parse(s: &str) -> Result<Did, DidError> {
        if s.len() > 2048 {
            return Err(DidError::TooLong(s.len()));
        }
        let mut parts = s.splitn(3, ':');
        let (Some("did"), Some(method), Some(id)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(DidError::NotADid(s.to_string()));
        };
        if method.is_empty() || !method.chars().all(|c| c.is_ascii_lowercase()) {
            return Err(DidError::BadMethod(s.to_string()));
        }
        if let Some(ch) = id
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || "._:%-".contains(*c)))
        {
            return Err(DidError::BadChar {
                did: s.to_string(),
                ch,
            });
        }
        if id.is_empty() || id.ends_with(':') || id.ends_with('%') {
            return Err(DidError::BadEnd(s.to_string()));
        }
        Ok(Did(s.to_string()))
    }

    /// A DID the atproto network resolves: `did:plc:` and 24 characters of lower-case
    /// base32 (`[a-z2-7]`), or `did:web:` and a host name (a port written `%3A`, no path).
    /// `parse` is the generic DID syntax; every DID an operator types goes through this.
    pub fn parse_usable(s: &str) -> Result<Did, DidError> {
        let t = s.trim();
        if let Some(rest) = t.strip_prefix("did=") {
            if rest.starts_with("did:") {
                return Err(DidError::TxtPrefix(s.to_string()));
            }
        }
        let did = Did::parse(s)?;
        let id = &s[s.find(':').unwrap_or(0) + 1..];
        let id = &id[id.find(':').map_or(0, |i| i + 1)..];
        match did.method() {
            "plc" => {
                if let Some(ch) = id.chars().find(|c| !matches!(c, 'a'..='z' | '2'..='7')) {
                    return Err(DidError::PlcChar {
                        did: s.to_string(),
                        ch,
                    });
                }
                if id.len() != 24 {
                    return Err(DidError::PlcLength {
                        did: s.to_string(),
                        len: id.len(),
                    });
                }
            }
            "web" => {
                let web = |why: &str| DidError::WebHost {
                    did: s.to_string(),
                    why: why.to_string(),
                };
                if id.contains(':') {
                    return Err(web("atproto takes no path after the host"));
                }
                let (host, port) = match id.split_once("%3A").or_else(|| id.split_once("%3a")) {
                    Some((h, p)) => (h, Some(p)),
                    None => (id, None),
                };
                if port.is_some_and(|p| p.parse::<u16>().map_or(true, |n| n == 0)) {
                    return Err(web("the port after %3A is not a port number"));
                }
                if host.contains('%') {
                    return Err(web("only the port's colon may be %-escaped"));
                }
                let localhost = host == "localhost";
                if !localhost {
                    Hostname::parse(host).map_err(|e| web(&e.to_string()))?;
                }
            }
            m => {
                return Err(DidError::Method {
                    did: s.to_string(),
                    method: m.to_string(),
                })
            }
        }
        Ok(did)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn method(&self) -> &str {
        self.0.split(':').nth(1).unwrap_or("")
    }
}

impl fmt::Display for Did {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_dids_the_network_resolves_are_usable() {
        let ok = |s: &str| Did::parse_usable(s).map(|d| d.to_string());
        assert_eq!(
            ok("did:plc:ewvi7nxzyoun6zhxrhs64oiz").unwrap(),
            "did:plc:ewvi7nxzyoun6zhxrhs64oiz"
        );
        assert!(ok("did:web:example.com").is_ok());
        assert!(ok("did:web:localhost%3A2583").is_ok());
        for (bad, says) in [
            ("did:plc:abc123", "'1' is not one"),
            ("did:plc:abcdef", "this one has 6"),
            ("did:plc:a", "exactly 24"),
            ("did:plc:EWVI7NXZYOUN6ZHXRHS64OIZ", "lower-case base32"),
            ("did:plc:ewvi7nxzyoun6zhxrhs64oi1", "'1'"),
            ("did:plc:ewvi7nxzyoun6zhxrhs64oi0", "'0'"),
            ("did:plc:ewvi7nxzyoun6zhxrhs64oi8", "'8'"),
            ("did:plc:ewvi7nxzyoun6zhxrhs64oi9", "'9'"),
            ("did:plc:ewvi7nxzyoun6zhxrhs64oizz", "has 25"),
            ("did=did:plc:ewvi7nxzyoun6zhxrhs64oiz", "drop the \"did=\""),
            (
                "did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme",
                "not did:key",
            ),
            ("did:web:example.com:user:alice", "no path"),
            ("did:web:exa_mple.com", "did:web names a host"),
            ("did:web:example.com%3Ax", "not a port"),
        ] {
            let e = ok(bad).unwrap_err().to_string();
            assert!(e.contains(says), "{bad}: {e}");
        }
        assert!(Handle::parse("@alice.example.com")
            .unwrap_err()
            .to_string()
            .contains("drop the @"));
    }

    #[test]
    fn reasons() {
        assert!(matches!(Handle::parse("john"), Err(HandleError::NoTld(_))));
        assert!(matches!(
            Handle::parse("127.0.0.1"),
            Err(HandleError::IpAddress(_))
        ));
        assert!(matches!(
            Handle::parse("jo_hn.test"),
            Err(HandleError::BadChar { ch: '_', .. })
        ));
        assert!(matches!(
            Handle::parse("thing.0aa"),
            Err(HandleError::NumericTld { .. })
        ));
        assert!(matches!(
            Handle::parse("john..test"),
            Err(HandleError::EmptyLabel { .. })
        ));
        assert!(matches!(
            Handle::parse_usable("laptop.local"),
            Err(HandleError::DisallowedTld { .. })
        ));
        assert_eq!(
            Handle::parse("Alice.Example.COM").unwrap().as_str(),
            "alice.example.com"
        );
        assert_eq!(
            Handle::parse("alice.example.com").unwrap().txt_name(),
            "_atproto.alice.example.com"
        );
    }
}

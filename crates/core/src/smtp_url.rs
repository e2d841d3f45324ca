//! The SMTP URL as the PDS reads it: PDS_EMAIL_SMTP_URL ⇄ settings with nodemailer 6's
//! semantics, and findings for URLs the PDS would misread. A leaf: it knows nothing of
//! pds.env or the catalogue (both call it).
//!
//! nodemailer parses the URL with Node's legacy `url.parse`: the host ends at the first
//! `/`, `?` or `#`; the user info is everything before the last `@` ahead of that point,
//! percent-decoded (a bad `%` escape throws "URI malformed"), then split at the first `:`.
//! `parse` follows exactly that, so what it returns is what the PDS will use.

use crate::finding::Finding;
use crate::secret::Secret;
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::Serialize;
use thiserror::Error;

pub const URL_KEY: &str = "PDS_EMAIL_SMTP_URL";
pub const FROM_KEY: &str = "PDS_EMAIL_FROM_ADDRESS";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// `smtps://`: TLS from the first byte (usually port 465).
    #[serde(rename = "tls")]
    ImplicitTls,
    /// `smtp://…?requireTLS=true`: STARTTLS, refuse to send in clear (usually 587).
    #[serde(rename = "starttls")]
    StartTls,
    /// `smtp://`: STARTTLS when the server offers it, else plain text.
    #[serde(rename = "opportunistic")]
    StartTlsIfOffered,
}

impl Security {
    pub const ALL: [Security; 3] = [
        Security::ImplicitTls,
        Security::StartTls,
        Security::StartTlsIfOffered,
    ];

    /// The name used on the command line and in presets.
    pub fn name(self) -> &'static str {
        match self {
            Security::ImplicitTls => "tls",
            Security::StartTls => "starttls",
            Security::StartTlsIfOffered => "opportunistic",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Security::ImplicitTls => "TLS from the start (smtps://, usually port 465)",
            Security::StartTls => "STARTTLS required (smtp:// + requireTLS, usually port 587)",
            Security::StartTlsIfOffered => "STARTTLS if offered, else plain text (smtp://)",
        }
    }

    pub fn from_name(s: &str) -> Option<Security> {
        Security::ALL.into_iter().find(|x| x.name() == s)
    }

    fn scheme(self) -> &'static str {
        match self {
            Security::ImplicitTls => "smtps",
            _ => "smtp",
        }
    }

    /// nodemailer's default port for the scheme.
    pub fn default_port(self) -> u16 {
        match self {
            Security::ImplicitTls => 465,
            _ => 587,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub username: String,
    pub password: Secret,
    /// PDS_EMAIL_FROM_ADDRESS (not part of the URL).
    pub from_address: String,
    /// Other query parameters nodemailer reads (`tls.rejectUnauthorized`, `ignoreTLS`,
    /// `name`…), kept in order so a URL round-trips.
    pub options: Vec<(String, String)>,
}

impl Default for SmtpSettings {
    fn default() -> Self {
        SmtpSettings {
            host: String::new(),
            port: 465,
            security: Security::ImplicitTls,
            username: String::new(),
            password: Secret::default(),
            from_address: String::new(),
            options: Vec::new(),
        }
    }
}

impl SmtpSettings {
    pub fn option(&self, key: &str) -> Option<&str> {
        self.options
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// `tls.rejectUnauthorized=false`: nodemailer accepts any certificate.
    pub fn accepts_invalid_certs(&self) -> bool {
        self.option("tls.rejectUnauthorized") == Some("false")
    }

    /// `?sendmail=…`: nodemailer hands each mail to a local sendmail program instead of
    /// speaking SMTP. Truthy the way nodemailer reads query values: "false", "0" and ""
    /// turn it off (they become false or 0), anything else turns it on.
    pub fn is_sendmail(&self) -> bool {
        sendmail_in(&self.options)
    }

    /// The program nodemailer runs (`?path=`; else `sendmail`, looked up on PATH).
    pub fn sendmail_path(&self) -> &str {
        self.option("path")
            .filter(|p| !p.is_empty())
            .unwrap_or("sendmail")
    }

    /// Settings for the local sendmail transport (`smtp:///?sendmail=true[&path=…]`).
    pub fn sendmail(path: Option<&str>, from_address: &str) -> SmtpSettings {
        let mut options = vec![("sendmail".to_string(), "true".to_string())];
        if let Some(p) = path.filter(|p| !p.is_empty()) {
            options.push(("path".into(), p.into()));
        }
        SmtpSettings {
            host: String::new(),
            port: 25,
            security: Security::StartTlsIfOffered,
            username: String::new(),
            password: Secret::default(),
            from_address: from_address.into(),
            options,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UrlError {
    #[error("PDS_EMAIL_SMTP_URL is empty")]
    Empty,
    #[error("scheme {0:?} is not smtp: or smtps: (the PDS will not start)")]
    Scheme(String),
    #[error("has no scheme (smtps:// or smtp://): the PDS will not start")]
    NoScheme,
    #[error("the direct: transport sends straight to each recipient's mail server; pds-wizard cannot test it and most hosts block port 25")]
    Direct,
    #[error("the user name or password holds a % that is not a %XX escape: nodemailer throws \"URI malformed\" and the PDS will not start")]
    UriMalformed,
    #[error("no host name")]
    NoHost,
    #[error("a user name cannot hold ':': nodemailer splits the login at the first ':', so the PDS would log in with the wrong name")]
    ColonInUser,
    #[error("port {0:?} is not a number from 1 to 65535")]
    BadPort(String),
    #[error("{0}")]
    Invalid(String),
}

/// Everything except unreserved characters is escaped: `@` → `%40`, `:` → `%3A`…
const USERINFO: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');
/// Query values: as strict, so `&`, `=`, `#` and `+` cannot change the meaning.
const QUERY: &AsciiSet = USERINFO;
/// A sendmail path reads best with its slashes as they are (`/usr/sbin/sendmail`).
const SENDMAIL_PATH: &AsciiSet = &USERINFO.remove(b'/');
/// Query keys keep their dots (`tls.rejectUnauthorized`).
const QUERY_KEY: &AsciiSet = &USERINFO.remove(b'.');

/// Whether URL options turn on nodemailer's sendmail transport (see `is_sendmail`).
pub fn sendmail_in(options: &[(String, String)]) -> bool {
    options
        .iter()
        .find(|(k, _)| k == "sendmail")
        .is_some_and(|(_, v)| {
            // Node: isNaN("") is false and Number("") is 0.
            !v.trim().is_empty() && v != "false" && v.parse::<f64>().ok().is_none_or(|n| n != 0.0)
        })
}

/// The URL for these settings, as the PDS expects it.
pub fn compose(s: &SmtpSettings) -> Result<String, UrlError> {
    if s.is_sendmail() {
        // No server: host, port and login mean nothing to the sendmail transport.
        let query: Vec<String> = s
            .options
            .iter()
            .map(|(k, v)| {
                format!(
                    "{}={}",
                    utf8_percent_encode(k, QUERY_KEY),
                    utf8_percent_encode(v, SENDMAIL_PATH)
                )
            })
            .collect();
        return Ok(format!("smtp:///?{}", query.join("&")));
    }
    if s.username.contains(':') {
        return Err(UrlError::ColonInUser);
    }
    check_host(&s.host)?;
    if s.port == 0 {
        return Err(UrlError::BadPort("0".into()));
    }
    let mut url = format!("{}://", s.security.scheme());
    if !s.username.is_empty() || !s.password.is_empty() {
        url.push_str(&utf8_percent_encode(&s.username, USERINFO).to_string());
        if !s.password.is_empty() {
            url.push(':');
            url.push_str(&utf8_percent_encode(s.password.expose(), USERINFO).to_string());
        }
        url.push('@');
    }
    if s.host.contains(':') {
        url.push_str(&format!("[{}]", s.host));
    } else {
        url.push_str(&s.host);
    }
    url.push_str(&format!(":{}", s.port));
    let mut query: Vec<String> = Vec::new();
    if s.security == Security::StartTls {
        query.push("requireTLS=true".into());
    }
    for (k, v) in &s.options {
        if k == "requireTLS" {
            continue;
        }
        query.push(format!(
            "{}={}",
            utf8_percent_encode(k, QUERY_KEY),
            utf8_percent_encode(v, QUERY)
        ));
    }
    if !query.is_empty() {
        url.push_str("/?");
        url.push_str(&query.join("&"));
    }
    Ok(url)
}

fn check_host(host: &str) -> Result<(), UrlError> {
    if host.is_empty() {
        return Err(UrlError::NoHost);
    }
    if host.parse::<std::net::IpAddr>().is_ok() || host == "localhost" {
        return Ok(());
    }
    if host
        .chars()
        .any(|c| !(c.is_ascii_alphanumeric() || c == '-' || c == '.'))
        || host.starts_with(['.', '-'])
    {
        return Err(UrlError::Invalid(format!("{host:?} is not a host name")));
    }
    Ok(())
}

/// Where the legacy parser ends the host: the first `/`, `?` or `#` after `scheme://`.
fn host_end(rest: &str) -> usize {
    rest.find(['/', '?', '#']).unwrap_or(rest.len())
}

/// decodeURIComponent: every `%` must start a valid escape, and the bytes must be UTF-8.
fn decode_component(s: &str) -> Result<String, UrlError> {
    let b = s.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        let hex = |j: usize| b.get(j).is_some_and(u8::is_ascii_hexdigit);
        if c == b'%' && !(hex(i + 1) && hex(i + 2)) {
            return Err(UrlError::UriMalformed);
        }
    }
    percent_decode_str(s)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| UrlError::UriMalformed)
}

/// Node's querystring decoding: `+` is a space, bad escapes stay as they are.
fn decode_query(s: &str) -> String {
    percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// Read a PDS_EMAIL_SMTP_URL exactly as nodemailer 6 does.
pub fn parse(url: &str) -> Result<SmtpSettings, UrlError> {
    let url = url.trim();
    if url.is_empty() {
        return Err(UrlError::Empty);
    }
    // Without `://` nothing in the value can be told apart from a password: say so
    // without quoting it.
    let (scheme, rest) = url.split_once("://").ok_or(UrlError::NoScheme)?;
    let security = match scheme.to_ascii_lowercase().as_str() {
        "smtps" => Security::ImplicitTls,
        "smtp" => Security::StartTlsIfOffered,
        "direct" => return Err(UrlError::Direct),
        // Only a word that looks like a scheme is quoted back.
        other if other.len() <= 16 && other.chars().all(|c| c.is_ascii_alphanumeric()) => {
            return Err(UrlError::Scheme(other.to_string()))
        }
        _ => return Err(UrlError::NoScheme),
    };
    let end = host_end(rest);
    let (auth, hostport) = match rest[..end].rfind('@') {
        Some(at) => (Some(&rest[..at]), &rest[at + 1..end]),
        None => (None, &rest[..end]),
    };
    let (username, password) = match auth {
        Some(a) => {
            let decoded = decode_component(a)?;
            match decoded.split_once(':') {
                Some((u, p)) => (u.to_string(), p.to_string()),
                None => (decoded, String::new()),
            }
        }
        None => (String::new(), String::new()),
    };
    // `smtp:///?sendmail=true` has no host; whether that is right depends on the query.
    let (host, port) = if hostport.is_empty() {
        (String::new(), None)
    } else {
        split_host_port(hostport)?
    };
    let mut s = SmtpSettings {
        host,
        port: port.unwrap_or(security.default_port()),
        security,
        username,
        password: Secret::new(password),
        from_address: String::new(),
        options: Vec::new(),
    };
    let query = rest[end..]
        .split_once('?')
        .map(|(_, q)| q.split('#').next().unwrap_or(""));
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (decode_query(k), decode_query(v));
        // nodemailer keeps the first value of a key, and ignores dotted keys other than tls.*
        if s.options.iter().any(|(x, _)| *x == k) || (k.contains('.') && !k.starts_with("tls.")) {
            continue;
        }
        if k == "requireTLS" && v == "true" && s.security == Security::StartTlsIfOffered {
            s.security = Security::StartTls;
            continue;
        }
        s.options.push((k, v));
    }
    if s.host.is_empty() && !s.is_sendmail() {
        return Err(UrlError::NoHost);
    }
    Ok(s)
}

fn split_host_port(hostport: &str) -> Result<(String, Option<u16>), UrlError> {
    let (host, port) = if let Some(rest) = hostport.strip_prefix('[') {
        let (h, after) = rest.split_once(']').ok_or(UrlError::NoHost)?;
        (h, after.strip_prefix(':'))
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    // The legacy parser keeps a host name only up to its first character outside
    // [A-Za-z0-9.+_-] and moves the rest into the path: `pds%40example.com` is host `pds`.
    let host = if hostport.starts_with('[') {
        host
    } else {
        let cut = host
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '_' | '-')))
            .unwrap_or(host.len());
        &host[..cut]
    };
    if host.is_empty() {
        return Err(UrlError::NoHost);
    }
    // Node's legacy parser takes a port only when it is all digits (else the host ends at
    // the `:`, which is how `user:pa#ss@…` connects to "user"); 0 means the default.
    let port = match port {
        Some(p) if !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()) => match p.parse::<u16>()
        {
            Ok(0) => None,
            Ok(n) => Some(n),
            Err(_) => return Err(UrlError::BadPort(p.to_string())),
        },
        _ => None,
    };
    Ok((host.to_ascii_lowercase(), port))
}

/// Query options nodemailer itself reads from an SMTP URL (its `shared.parseConnectionUrl`
/// and the transports' options); `tls.*` are passed on to the TLS layer.
pub fn is_known_option(name: &str) -> bool {
    name.starts_with("tls.")
        || matches!(
            name,
            "requireTLS"
                | "ignoreTLS"
                | "secure"
                | "sendmail"
                | "path"
                | "newline"
                | "pool"
                | "maxConnections"
                | "maxMessages"
                | "rateDelta"
                | "rateLimit"
                | "name"
                | "localAddress"
                | "connectionTimeout"
                | "greetingTimeout"
                | "socketTimeout"
                | "dnsTimeout"
                | "authMethod"
                | "debug"
                | "logger"
                | "service"
                | "proxy"
        )
}

/// Whether `tail` (what follows the host) is a query nodemailer reads: `?` or `/?`, then
/// one of its own option names and `=`. An `@` there is part of a value, not of the login.
pub fn starts_a_query(tail: &str) -> bool {
    let q = tail.strip_prefix('/').unwrap_or(tail);
    q.strip_prefix('?')
        .and_then(|q| q.split_once('='))
        .is_some_and(|(name, _)| is_known_option(name))
}

/// What the sendmail transport means for this setup.
fn sendmail_finding(s: &SmtpSettings) -> Finding {
    let path = s.sendmail_path();
    Finding::info(format!(
        "local sendmail: the PDS runs `{path} -i -f FROM TO` for each mail"
    ))
    .why("There is no SMTP login here: the local mail system (Postfix, Exim, msmtp…) queues the mail and its own setup decides how it leaves. The program must exist where the PDS runs: inside its container for the official Docker install.")
    .fix(format!(
        "Check it there: docker exec pds which {path}. Test it from this machine with the Email step's test send or `pds-wizard email test`."
    ))
}

/// What is wrong with an SMTP URL as the PDS will read it, in plain words.
pub fn url_findings(url: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    let about = |f: Finding| f.about(URL_KEY);
    let url = url.trim();
    if url.is_empty() {
        out.push(about(
            Finding::warn("not set: the PDS sends no email at all")
                .why("Without an SMTP URL the PDS uses a stand-in transport: verification codes and password-reset mails are silently dropped.")
                .fix("Configure a mail provider in the Email step (or `pds-wizard email set`)."),
        ));
        return out;
    }
    let parsed = parse(url);
    if let Some((_, rest)) = url.split_once("://") {
        let end = host_end(rest);
        // An `@` after the host has ended means a `/`, `?` or `#` was left unencoded in
        // the user name or password, and nodemailer cut the login there (unless it is in a
        // real query: `/?name=pds@example.com`).
        if let Some(last_at) = rest
            .rfind('@')
            .filter(|&at| at > end && !starts_a_query(&rest[end..]))
        {
            let c = rest[end..].chars().next().unwrap_or('/');
            // The intended login is everything before the last `@`; its first `:` would
            // have ended the user name.
            let colon = rest[..last_at].find(':');
            let part = match colon {
                Some(colon) if colon < end => "password",
                _ => "user name",
            };
            // Name the host only when it was read from the user name: anything read from
            // after the `:` is a piece of the password.
            let from_user_name = |host: &str| {
                let start = rest[..end].rfind('@').map_or(0, |i| i + 1);
                !host.is_empty() && colon.is_none_or(|colon| start + host.len() <= colon)
            };
            let seen = match &parsed {
                Ok(s) if from_user_name(&s.host) => {
                    format!(
                        "the PDS would connect to host {} and your {part} is cut at the {c:?}",
                        s.host
                    )
                }
                Ok(_) => format!("the PDS would connect to a host made of a piece of your {part}"),
                Err(_) => "the PDS would not be able to read the URL at all".to_string(),
            };
            out.push(about(
                Finding::fail(format!("the {c:?} in the {part} splits the URL"))
                    .why(format!("nodemailer ends the host at the first / ? or #: {seen}, so mail fails with a DNS or connection error."))
                    .fix(format!("Write {c:?} as {}: `pds-wizard email repair` does it in pds.env (the Email step offers the same); `pds-wizard email set` composes a new URL from its parts, encoded.", utf8_percent_encode(&c.to_string(), USERINFO))),
            ));
            return out;
        }
        if rest[..end].matches('@').count() > 1 {
            out.push(about(
                Finding::warn("the user name holds an unencoded @")
                    .why("nodemailer happens to take the last @ as the end of the login, so it works, but other tools read it differently.")
                    .fix("Write @ in the user name as %40."),
            ));
        }
    }
    let s = match parsed {
        Ok(s) => s,
        Err(e) => {
            out.push(about(Finding::fail(e.to_string()).fix(match e {
                UrlError::UriMalformed => "Write % in the password as %25.",
                UrlError::Scheme(_) | UrlError::NoScheme => {
                    "Start the URL with smtps:// (port 465) or smtp:// (port 587)."
                }
                _ => "Rebuild the URL in the Email step.",
            })));
            return out;
        }
    };
    if s.is_sendmail() {
        out.push(about(sendmail_finding(&s)));
        if s.option("pool")
            .is_some_and(|v| v != "false" && v != "0" && !v.is_empty())
        {
            out.push(about(
                Finding::fail("pool=… and sendmail=… together: nodemailer takes the pool (SMTP) and ignores sendmail")
                    .fix("Remove pool from the URL."),
            ));
        }
        return out;
    }
    match (s.security, s.port) {
        (Security::StartTlsIfOffered | Security::StartTls, 465) => out.push(about(
            Finding::fail("smtp:// on port 465")
                .why("Port 465 speaks TLS from the first byte; with smtp:// the PDS waits for a greeting that never comes, and every mail times out.")
                .fix("Use smtps:// with port 465 (security: tls)."),
        )),
        (Security::ImplicitTls, 587 | 25) => out.push(about(
            Finding::fail(format!("smtps:// on port {}", s.port))
                .why(format!("Port {} starts in plain text and upgrades with STARTTLS; a TLS handshake there fails (\"wrong version number\").", s.port))
                .fix("Use smtp://…:587/?requireTLS=true (security: starttls), or smtps:// with port 465."),
        )),
        _ => {}
    }
    if s.accepts_invalid_certs() {
        out.push(about(
            Finding::warn("tls.rejectUnauthorized=false: any certificate is accepted")
                .why("Someone between the PDS and the mail server could read the password and the mail.")
                .fix("Remove it unless the server is on this machine (e.g. Proton Bridge)."),
        ));
    }
    if s.security == Security::StartTlsIfOffered
        && !matches!(s.host.as_str(), "localhost" | "127.0.0.1" | "::1")
    {
        out.push(about(
            Finding::info("STARTTLS only if the server offers it")
                .why("If the offer is stripped on the way, the password goes in clear text.")
                .fix(
                    "Add ?requireTLS=true (security: starttls) when the server supports STARTTLS.",
                ),
        ));
    }
    match (s.username.is_empty(), s.password.is_empty()) {
        (false, true) => out.push(about(Finding::warn("a user name but no password"))),
        (true, false) => out.push(about(Finding::warn("a password but no user name"))),
        (true, true) => out.push(about(Finding::info(
            "no login: works only with a relay that trusts this server",
        ))),
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn sendmail_urls_read_the_way_nodemailer_reads_them() {
        let s = parse("smtp:///?sendmail=true").unwrap();
        assert!(s.is_sendmail());
        assert_eq!(s.sendmail_path(), "sendmail");
        assert_eq!(compose(&s).unwrap(), "smtp:///?sendmail=true");
        let s = parse("smtp:///?sendmail=1&path=/usr/sbin/sendmail").unwrap();
        assert!(s.is_sendmail());
        assert_eq!(s.sendmail_path(), "/usr/sbin/sendmail");
        assert_eq!(
            compose(&s).unwrap(),
            "smtp:///?sendmail=1&path=/usr/sbin/sendmail"
        );
        // Query values nodemailer turns into false or 0 switch it off: then a host is needed.
        for off in ["false", "0", ""] {
            assert_eq!(
                parse(&format!("smtp:///?sendmail={off}")).unwrap_err(),
                UrlError::NoHost,
                "{off:?}"
            );
        }
        // A host with sendmail on: nodemailer ignores the host.
        assert!(parse("smtp://mail.example.com/?sendmail=yes")
            .unwrap()
            .is_sendmail());
        let built = SmtpSettings::sendmail(Some("/opt/mta/bin/sendmail"), "noreply@example.com");
        assert_eq!(
            compose(&built).unwrap(),
            "smtp:///?sendmail=true&path=/opt/mta/bin/sendmail"
        );
        let f = url_findings("smtp:///?sendmail=true");
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(f[0].what.contains("sendmail -i -f FROM TO"), "{f:?}");
        assert!(url_findings("smtp:///?sendmail=true&pool=true")
            .iter()
            .any(|f| f.level == crate::finding::Level::Fail));
    }

    use super::*;

    fn settings(user: &str, pass: &str) -> SmtpSettings {
        SmtpSettings {
            host: "smtp.example.com".into(),
            port: 465,
            username: user.into(),
            password: Secret::new(pass),
            ..Default::default()
        }
    }

    #[test]
    fn pds_facts_example() {
        let s = parse("smtps://user%40example.com:p%40ss%3Aw%2Frd@host").unwrap();
        assert_eq!(
            (s.username.as_str(), s.password.expose()),
            ("user@example.com", "p@ss:w/rd")
        );
        assert_eq!(
            (s.host.as_str(), s.port, s.security),
            ("host", 465, Security::ImplicitTls)
        );
    }

    #[test]
    fn compose_encodes_and_round_trips() {
        let s = settings("alice@example.test", "p@ss: /?#[]%+&=\"' é");
        let url = compose(&s).unwrap();
        assert!(
            url.starts_with("smtps://alice%40example.test:p%40ss%3A%20%2F%3F%23"),
            "{url}"
        );
        assert_eq!(parse(&url).unwrap(), s);
    }

    #[test]
    fn security_and_default_ports() {
        assert_eq!(parse("smtp://h").unwrap().port, 587);
        assert_eq!(
            parse("smtp://h/?requireTLS=true").unwrap().security,
            Security::StartTls
        );
        assert_eq!(
            parse("smtp://h:25").unwrap().security,
            Security::StartTlsIfOffered
        );
        let s = parse("smtp://h:587/?requireTLS=true&tls.rejectUnauthorized=false&x.y=1").unwrap();
        assert_eq!(
            s.options,
            vec![("tls.rejectUnauthorized".to_string(), "false".to_string())]
        );
        assert!(s.accepts_invalid_certs());
        assert_eq!(
            compose(&s).unwrap(),
            "smtp://h:587/?requireTLS=true&tls.rejectUnauthorized=false"
        );
    }

    #[test]
    fn legacy_parser_quirks() {
        // Node cuts the host name at its first character outside [A-Za-z0-9.+_-] (checked
        // against nodemailer on Node 20 and 22).
        let s = parse("smtps://pds%40example.com:S3cr/tP@ss@smtp.example.com:465").unwrap();
        assert_eq!((s.host.as_str(), s.port), ("pds", 465));
        assert_eq!(
            parse("smtps://a_b:S3cr/x@smtp.example.com:465")
                .unwrap()
                .host,
            "a_b"
        );
        // Unencoded # in the password: the host becomes the user name.
        let s = parse("smtps://user:pa#ss@smtp.example.com").unwrap();
        assert_eq!(s.host, "user");
        assert_eq!(s.username, "");
        // A bare % cannot be decoded.
        assert_eq!(parse("smtps://user:100%@h"), Err(UrlError::UriMalformed));
        // An unencoded @ in the user name happens to work.
        let s = parse("smtps://me@example.com:pw@smtp.example.com").unwrap();
        assert_eq!(
            (s.username.as_str(), s.host.as_str()),
            ("me@example.com", "smtp.example.com")
        );
        assert!(matches!(parse("https://h"), Err(UrlError::Scheme(_))));
        assert_eq!(parse("direct://x"), Err(UrlError::Direct));
    }

    #[test]
    fn colon_in_user_name_is_refused() {
        assert!(matches!(
            compose(&settings("a:b", "x")),
            Err(UrlError::ColonInUser)
        ));
    }

    #[test]
    fn findings_explain_misreadings() {
        let f = url_findings("smtps://user:pa#ss@smtp.example.com");
        assert!(
            f[0].what.contains("'#' in the password") && f[0].why.contains("host user "),
            "{f:?}"
        );
        // The example: the host comes from the user name, the password is cut.
        let f = url_findings("smtps://pds@example.com:S3cr/tP@ss@smtp.example.com:465");
        assert_eq!(f[0].what, "the '/' in the password splits the URL");
        assert!(
            f[0].why
                .contains("connect to host example.com and your password is cut at the '/'"),
            "{f:?}"
        );
        // An @ in a real query is not a cut login.
        assert!(
            url_findings("smtps://u:p@smtp.example.com:465/?name=pds@example.com")
                .iter()
                .all(|f| f.level != crate::finding::Level::Fail)
        );
        // A host read from inside the password is not named.
        let f = url_findings("smtps://u:abcd:efgh/x@smtp.example.com");
        assert!(!format!("{f:?}").contains("abcd"), "{f:?}");
        let f = url_findings("smtps://u:99999/x@smtp.example.com");
        assert!(!format!("{f:?}").contains("9999"), "{f:?}");
        assert!(url_findings("smtps://u:100%@h")[0]
            .what
            .contains("URI malformed"));
        assert!(url_findings("smtp://u:p@h:465")
            .iter()
            .any(|f| f.what.contains("465")));
        assert!(url_findings("smtps://u:p@h:587")
            .iter()
            .any(|f| f.what.contains("587")));
        assert!(url_findings("").iter().any(|f| f.what.contains("no email")));
        assert!(url_findings("smtps://u:p@smtp.example.com:465")
            .iter()
            .all(|f| f.level < crate::finding::Level::Warn));
    }
}

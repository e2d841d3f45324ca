//! The per-key half of the one masking rule (`crate::secret` has the rest): which keys of
//! pds.env hold secrets — the catalogue's word for the keys it knows, the name for the
//! others — and how a value of each is shown and remembered for scrubbing. It lives with
//! the catalogue so that `secret` depends on nothing.

use super::catalogue::{self, Sensitivity};
use crate::secret::{
    is_clean_url, mask_url, mask_urls_in, remember, remember_pieces, remember_public, MASK,
};

/// Words in a variable name that say it holds a secret, for keys the catalogue does not
/// know (a newer PDS's, a plugin's, the operator's own).
const SECRET_NAME_WORDS: [&str; 11] = [
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "PASSPHRASE",
    "TOKEN",
    "SALT",
    "PRIVATE",
    "KEY_HEX",
    "API_KEY",
    "APIKEY",
    "CREDENTIAL",
];

/// How sensitive the value of `key` is: the catalogue's word for known keys, the name
/// for the rest.
pub fn sensitivity(key: &str) -> Sensitivity {
    match catalogue::lookup(key) {
        Some(info) => info.sensitivity,
        None => {
            let upper = key.to_ascii_uppercase();
            if SECRET_NAME_WORDS.iter().any(|w| upper.contains(w)) {
                Sensitivity::Secret
            } else {
                Sensitivity::Public
            }
        }
    }
}

/// Whether any part of `key`'s value is secret (it then never goes on a command line or
/// into the answers file).
pub fn is_secret_key(key: &str) -> bool {
    sensitivity(key) != Sensitivity::Public
}

/// `value` of `key` as it may appear anywhere outside pds.env.
pub fn mask_value(key: &str, value: &str) -> String {
    match sensitivity(key) {
        _ if value.is_empty() => String::new(),
        Sensitivity::Secret => MASK.to_string(),
        Sensitivity::UrlPassword => mask_url(value),
        Sensitivity::Public if value.contains("://") => mask_urls_in(value),
        Sensitivity::Public => value.to_string(),
    }
}

/// `value` of `key` as a reader read it from a line whose text after `=` is `raw`. When
/// the reader cut the line short (compose at " #", bash at a blank), the value's last `@`
/// is not the real one: what follows it may be a piece of the password. Such a cut value
/// shows only its scheme.
pub fn mask_reading(key: &str, value: &str, raw: &str) -> String {
    let shown = mask_value(key, value);
    if sensitivity(key) == Sensitivity::Secret
        || !value.contains("://") && sensitivity(key) == Sensitivity::Public
    {
        return shown;
    }
    let raw = raw.trim();
    let raw = ['\'', '"']
        .iter()
        .find_map(|q| raw.strip_prefix(*q).and_then(|r| r.strip_suffix(*q)))
        .unwrap_or(raw);
    let whole = raw == value
        || raw.strip_prefix(value).is_some_and(|rest| {
            // Only a comment may follow, and a comment holds no login.
            rest.starts_with([' ', '\t'])
                && rest.trim_start().starts_with('#')
                && !rest.contains('@')
        });
    if whole {
        return shown;
    }
    match value.find("://") {
        Some(i) => format!("{}{MASK}", &value[..i + 3]),
        None => MASK.to_string(),
    }
}

/// Remember what is secret in `value` of `key` (read from pds.env or typed): the whole
/// value of a secret key; the login of every URL in it (what precedes its last `@`), and
/// the password part of that login.
pub fn remember_value(key: &str, value: &str) {
    let v = value.trim().trim_matches(['\'', '"']);
    match sensitivity(key) {
        Sensitivity::Secret => return remember(v),
        // Known to be public: never masked as a piece of a broken password.
        Sensitivity::Public if !v.contains("://") => return remember_public(v),
        _ => {}
    }
    // The login is everything up to the value's last `@` (spaces and all: a value is not
    // free text); without `scheme://`, the value may still be a login and a host.
    let rest = v.find("://").map_or(v, |i| &v[i + 3..]);
    if let Some(at) = rest.rfind('@') {
        // The mail server's name (with and without its port) is public.
        let host = &rest[at + 1..];
        let host = &host[..host.find(['/', '?', '#']).unwrap_or(host.len())];
        remember_public(host);
        remember_public(host.rsplit_once(':').map_or(host, |(h, _)| h));
        let login = &rest[..at];
        // A login without `:` is a user name alone: nothing secret to remember.
        if let Some((_, password)) = login.split_once(':') {
            remember(login);
            remember(password);
            if !is_clean_url(rest) {
                remember_pieces(password);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::scrub;

    #[test]
    fn keys_by_catalogue_and_by_name() {
        assert!(is_secret_key("PDS_JWT_SECRET"));
        assert!(is_secret_key("PDS_EMAIL_SMTP_URL"));
        assert!(is_secret_key("MY_API_TOKEN"));
        assert!(is_secret_key("some_password"));
        assert!(!is_secret_key("PDS_HOSTNAME"));
        assert!(!is_secret_key("MY_NOTE"));
        assert_eq!(
            mask_value("MY_NOTE", "see https://a:b@c"),
            format!("see https://a:{MASK}@c")
        );
        assert_eq!(mask_value("PDS_ADMIN_PASSWORD", ""), "");
    }

    #[test]
    fn a_cut_reading_shows_only_its_scheme() {
        // A reader cut `…pa@ss.word #x@host` short: the last `@` left is the password's.
        let raw = "smtps://u:pa@ss.word #x@smtp.example.com";
        assert_eq!(
            mask_reading("PDS_EMAIL_SMTP_URL", "smtps://u:pa@ss.word", raw),
            format!("smtps://{MASK}")
        );
        // A real comment after the value is not a cut.
        assert_eq!(
            mask_reading(
                "PDS_EMAIL_SMTP_URL",
                "smtps://u:pw@h",
                "smtps://u:pw@h # mine"
            ),
            format!("smtps://u:{MASK}@h")
        );
        assert_eq!(
            mask_reading("PDS_EMAIL_SMTP_URL", "smtps://u:pw@h", "'smtps://u:pw@h'"),
            format!("smtps://u:{MASK}@h")
        );
    }

    #[test]
    fn api_keys_and_tokens_in_paths_are_masked_and_public_words_are_not() {
        assert!(is_secret_key("MAILGUN_API_KEY") && is_secret_key("RESEND_APIKEY"));
        assert_eq!(
            mask_value("MAILGUN_API_KEY", "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"),
            MASK
        );
        // A token in a URL's path (a webhook) is a secret of the URL's.
        let hook = "https://hooks.slack.com/services/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";
        let shown = mask_value("MY_ALERTS", hook);
        assert!(!shown.contains("Xk9fQ2rT7vLmN3pZ8sWd4yUb"), "{shown}");
        assert!(
            shown.starts_with("https://hooks.slack.com/services/"),
            "{shown}"
        );
    }

    #[test]
    fn a_broken_urls_password_is_remembered_in_pieces() {
        // A broken URL's password: a parser made a host and a port of pieces of it.
        remember_value(
            "PDS_EMAIL_SMTP_URL",
            "smtps://u:Qx7abcd:9876/x@smtp.example.com",
        );
        let shown = scrub("host u:Qx7abcd port 9876 via smtp.example.com");
        assert!(
            !shown.contains("Qx7a") && !shown.contains("9876"),
            "{shown}"
        );
        assert!(shown.contains("smtp.example.com"), "{shown}");
    }
}

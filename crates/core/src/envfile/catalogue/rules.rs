//! The rules: how a value of each kind is checked, as the PDS will read it.

use super::*;
use Kind::*;

/// The items of a comma list with blanks around them, as one sentence (the PDS splits on
/// commas without trimming); None when there are none.
fn spaced_items(value: &str) -> Option<String> {
    let spaced: Vec<String> = value
        .split(',')
        .filter(|i| *i != i.trim())
        .map(|i| format!("{i:?}"))
        .collect();
    match spaced.len() {
        0 => None,
        1 => Some(format!(
            "{} has spaces around it; the PDS splits on commas without trimming",
            spaced[0]
        )),
        _ => Some(format!(
            "{} have spaces around them; the PDS splits on commas without trimming",
            spaced.join(", ")
        )),
    }
}

/// Validate one value of a known key; empty findings mean it is fine.
pub fn validate(info: &KeyInfo, value: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    let f = |what: String| Finding::fail(what).about(info.name);
    let w = |what: String| Finding::warn(what).about(info.name);
    if value.is_empty() {
        if info.required {
            out.push(
                f("is empty; the PDS will not start without it".into())
                    .fix(format!("Set {}.", info.name)),
            );
        }
        return out;
    }
    match info.kind {
        Hostname => {
            if let Err(e) = check_hostname(value) {
                out.push(f(e).fix("Use the public DNS name, e.g. pds.example.com."));
            }
        }
        Port => match value.parse::<u16>() {
            Ok(0) | Err(_) => out.push(f(format!("{value:?} is not a port number (1-65535)"))),
            Ok(_) => {}
        },
        EmailAddress => {
            if let Err(e) = check_email(value) {
                out.push(f(e));
            }
        }
        FromAddress => {
            let addr = match (value.find('<'), value.strip_suffix('>')) {
                (Some(i), Some(inner)) => &inner[i + 1..],
                _ => value,
            };
            if let Err(e) = check_email(addr.trim()) {
                out.push(f(e).fix(
                    "Use an address like noreply@example.com or \"My PDS <noreply@example.com>\".",
                ));
            }
        }
        Bool => {
            if !matches!(value, "true" | "false" | "1" | "0") {
                out.push(w(format!("{value:?} is neither true nor false; the PDS ignores it and uses its default")).fix("Write true or false."));
            }
        }
        LogEnabled => {
            if !matches!(value, "true" | "t" | "1" | "false" | "f" | "0") {
                out.push(
                    w(format!(
                        "{value:?} turns logging off (only true, t or 1 mean on)"
                    ))
                    .fix("Write true or false."),
                );
            }
        }
        Bytes => match value.parse::<u64>() {
            Ok(n) if n < 1024 * 1024 => out.push(w(format!(
                "{n} bytes is under 1 MiB: most photos will fail to upload"
            ))),
            Ok(_) => {}
            Err(_) => {
                // The PDS reads it with JavaScript's parseInt: "300MB" is 300 bytes.
                let read = match js_parse_int(value) {
                    Some(n) => format!("the PDS reads it as {n} bytes"),
                    None => "the PDS ignores it and allows 5 MiB".to_string(),
                };
                let fix = match parse_size(value) {
                    Some(n) => format!("Write {n} for {}.", human_bytes(n)),
                    None => "Write a number of bytes, e.g. 314572800 for 300 MiB.".to_string(),
                };
                out.push(f(format!("{value:?} is not a number of bytes: {read}")).fix(fix));
            }
        },
        HttpUrl => {
            if let Err(e) = check_http_url(value) {
                out.push(f(e));
            }
        }
        LinkUrl => {
            if reqwest::Url::parse(value).is_err() {
                out.push(
                    f(format!("{value:?} is not a URL; the PDS refuses to start"))
                        .why("The sign-in pages check every link when the PDS starts.")
                        .fix("Write a full URL, e.g. https://example.com/terms."),
                );
            }
        }
        ImageUrl => {
            // The OAuth provider's imageUrlSchema: a URL, and its text starts with one of
            // these (case matters there).
            let scheme_ok = ["data:", "http:", "https:"]
                .iter()
                .any(|p| value.starts_with(p));
            if reqwest::Url::parse(value).is_err() || !scheme_ok {
                out.push(
                    f(format!(
                        "{value:?} is not an http:, https: or data: URL; the PDS refuses to start"
                    ))
                    .why("The sign-in pages check their images when the PDS starts.")
                    .fix("Write a full URL, e.g. https://example.com/background.jpg."),
                );
            }
        }
        Color => {
            if let Err(e) = check_color(value) {
                out.push(
                    f(format!("{value:?}: {e}; the PDS refuses to start"))
                        .why("The sign-in pages read their colours when the PDS starts.")
                        .fix("Write #rrggbb (e.g. #0085ff), #rgb, or rgb(0, 133, 255)."),
                );
            }
        }
        DidKey => {
            if let Err(e) = check_did_key(value) {
                out.push(
                    f(e)
                        .why("The PDS starts, but every sign-up fails (\"Unsupported key type\").")
                        .fix("Use the did:key of a key you hold (goat key generate prints one), or remove the line."),
                );
            }
        }
        S3Bucket => {
            if let Err(e) = check_s3_bucket(value) {
                out.push(
                    w(e).why("AWS S3 refuses such a name; some S3-compatible services accept it."),
                );
            }
        }
        Millis => {
            if value.parse::<u64>().is_err() {
                out.push(
                    w(format!(
                        "{value:?} is not a whole number of milliseconds; the PDS ignores it and uses its default"
                    ))
                    .fix("e.g. 20000 for 20 seconds."),
                );
            }
        }
        HttpUrlList => {
            if let Some(spaced) = spaced_items(value) {
                out.push(f(spaced).fix("Remove the spaces: https://a.example,https://b.example"));
            }
            for item in value.split(',').filter(|i| *i == i.trim()) {
                if let Err(e) = check_http_url(item) {
                    out.push(f(e));
                }
            }
        }
        HandleDomains => {
            // One finding for every item with spaces: one fix, said once.
            if let Some(spaced) = spaced_items(value) {
                out.push(f(spaced).fix("Remove the spaces after the commas."));
            }
            for item in value.split(',').filter(|i| *i == i.trim()) {
                if !item.starts_with('.') {
                    out.push(
                        f(format!("{item:?} must start with a dot")).fix(format!("Write .{item}")),
                    );
                } else if let Err(e) = check_hostname(&item[1..]) {
                    out.push(f(format!("{item:?}: {e}")));
                }
            }
        }
        Did => {
            if let Err(e) = check_did(value) {
                out.push(f(e));
            }
        }
        HexSecret => {
            if value.len() < 16 {
                out.push(
                    w("is shorter than 16 characters; a guessable secret".into())
                        .fix("Use `openssl rand --hex 16` or let `env init` generate one."),
                );
            }
        }
        K256Key => {
            if let Err(e) = check_k256_hex(value) {
                out.push(f(e).why("The PDS signs PLC operations with it; a bad key stops it from starting.").fix("Restore the key from your backup. Never generate a new one for an existing install: your accounts' identities are tied to it."));
            }
        }
        AbsPath => {
            if !value.starts_with('/') {
                out.push(f(format!("{value:?} is not an absolute path")));
            }
        }
        SmtpUrl => {
            // One judge of SMTP URLs: the email module reads them as nodemailer does.
            out.extend(
                crate::smtp_url::url_findings(value)
                    .into_iter()
                    .filter(|f| f.level >= crate::finding::Level::Warn)
                    .map(|f| Finding {
                        subject: Some(info.name.to_string()),
                        ..f
                    }),
            );
        }
        Text => {}
    }
    out
}

/// A DNS hostname the PDS can use: the one name rule (`identity::Hostname`), with the
/// PDS's own words for the two mistakes operators make (a URL, an IP address).
pub fn check_hostname(value: &str) -> Result<(), String> {
    if value.contains("://") || value.contains('/') {
        return Err(format!("{value:?} is a URL; give only the host name"));
    }
    if value.parse::<std::net::IpAddr>().is_ok() {
        return Err(format!(
            "{value:?} is an IP address; the PDS needs a DNS name"
        ));
    }
    if value
        .trim_end_matches('.')
        .to_ascii_lowercase()
        .ends_with(".local")
    {
        return Err(format!(
            "{value:?} is an mDNS name (.local), which never resolves outside this network; the PDS needs a public DNS name"
        ));
    }
    crate::identity::Hostname::parse(value)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

pub fn check_email(value: &str) -> Result<(), String> {
    let Some((local, domain)) = value.rsplit_once('@') else {
        return Err(format!("{value:?} is not an email address (no @)"));
    };
    if local.is_empty() || local.contains(char::is_whitespace) {
        return Err(format!("{value:?} is not an email address"));
    }
    check_hostname(domain).map_err(|e| format!("{value:?}: domain {e}"))
}

pub fn check_http_url(value: &str) -> Result<(), String> {
    let Some(rest) = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"))
    else {
        return Err(format!("{value:?} is not an http(s) URL"));
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(format!("{value:?} has no host"));
    }
    Ok(())
}

/// A colour as the OAuth provider's `parseColor` reads it, alpha refused (its
/// rgbColorSchema): `#rgb`, `#rrggbb`, `rgb(r, g, b)`.
pub fn check_color(value: &str) -> Result<(), String> {
    if let Some(hex) = value.strip_prefix('#') {
        if hex.is_empty() || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err("not a hex colour".into());
        }
        return match hex.len() {
            3 | 6 => Ok(()),
            4 | 8 => Err("colours with transparency (alpha) are not supported".into()),
            _ => Err("a hex colour has 3 or 6 digits".into()),
        };
    }
    if value.starts_with("rgba(") {
        return Err("colours with transparency (alpha) are not supported".into());
    }
    if value.starts_with("rgb(") {
        // /^\s*rgb\(\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*\)\s*$/, each 0-255.
        let inner = value
            .trim_end()
            .strip_suffix(')')
            .map(|t| &t["rgb(".len()..])
            .ok_or("rgb(…) is not closed")?;
        let parts: Vec<&str> = inner.split(',').map(str::trim).collect();
        let ok = parts.len() == 3
            && parts.iter().all(|p| {
                !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()) && p.parse::<u8>().is_ok()
            });
        return if ok {
            Ok(())
        } else {
            Err("rgb(…) takes three numbers from 0 to 255".into())
        };
    }
    Err("not a colour the PDS reads (#rrggbb, #rgb or rgb(r, g, b); no colour names)".into())
}

/// A did:key public key the PLC directory takes as a rotation key: base58btc multibase
/// (`z…`) of a compressed secp256k1 (multicodec 0xe7) or P-256 (0x1200) key.
pub fn check_did_key(value: &str) -> Result<(), String> {
    let Some(mb) = value.strip_prefix("did:key:") else {
        return Err(format!("{value:?} is not a did:key (did:key:z…)"));
    };
    let Some(b58) = mb.strip_prefix('z') else {
        return Err(format!(
            "{value:?} is not base58btc (a did:key's key starts with z)"
        ));
    };
    let bytes = base58_decode(b58).ok_or_else(|| format!("{value:?} is not valid base58"))?;
    match bytes.as_slice() {
        [0xe7, 0x01, key @ ..] | [0x80, 0x24, key @ ..]
            if key.len() == 33 && matches!(key[0], 2 | 3) =>
        {
            Ok(())
        }
        _ => Err(format!(
            "{value:?} is not a compressed secp256k1 or P-256 public key"
        )),
    }
}

pub fn base58_decode(s: &str) -> Option<Vec<u8>> {
    const ALPHABET: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    // Little-endian base-256 digits of the number, grown as it is read.
    let mut num: Vec<u8> = Vec::new();
    for c in s.bytes() {
        let mut carry = ALPHABET.iter().position(|&a| a == c)? as u32;
        for d in num.iter_mut() {
            carry += u32::from(*d) * 58;
            *d = carry as u8;
            carry >>= 8;
        }
        while carry > 0 {
            num.push(carry as u8);
            carry >>= 8;
        }
    }
    let zeros = s.bytes().take_while(|&c| c == b'1').count();
    let mut out = vec![0; zeros];
    out.extend(num.iter().rev());
    Some(out)
}

/// AWS's bucket naming rules: 3 to 63 lowercase letters, digits, dots and hyphens,
/// starting and ending with a letter or digit.
pub fn check_s3_bucket(value: &str) -> Result<(), String> {
    let ok_chars = value
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-');
    let ends = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !(3..=63).contains(&value.len()) {
        Err(format!("{value:?}: a bucket name has 3 to 63 characters"))
    } else if !ok_chars {
        Err(format!(
            "{value:?}: a bucket name has only lowercase letters, digits, dots and hyphens"
        ))
    } else if !ends(value.chars().next()) || !ends(value.chars().last()) {
        Err(format!(
            "{value:?}: a bucket name starts and ends with a letter or digit"
        ))
    } else {
        Ok(())
    }
}

/// DID syntax per the atproto spec (see `identity::Did`).
pub fn check_did(value: &str) -> Result<(), String> {
    crate::identity::Did::parse_usable(value)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// A 64-hex-digit secp256k1 private key that is a valid, non-zero scalar.
pub fn check_k256_hex(value: &str) -> Result<(), String> {
    if value.len() != 64 {
        return Err(format!("must be 64 hex digits, has {}", value.len()));
    }
    let bytes =
        hex::decode(value).map_err(|_| "holds characters that are not hex digits".to_string())?;
    k256::SecretKey::from_slice(&bytes)
        .map_err(|_| "is not a valid secp256k1 private key".to_string())?;
    Ok(())
}

//! The proxy as it runs: nginx's served configuration (`nginx -T`, every included file in
//! one dump) judged for what the PDS needs that no request shows at once — how long the
//! firehose may stay silent before nginx closes it, and whether the Host header reaches the
//! PDS. Only nginx: Caddy and Traefik pass Host and keep streams open unless told otherwise.

use crate::finding::Finding;
use serde::Serialize;
use std::path::Path;
use std::time::Duration;

/// The firehose path, as a location match sees it.
const FIREHOSE: &str = "/xrpc/com.atproto.sync.subscribeRepos";
/// nginx's own default for proxy_read_timeout and proxy_send_timeout.
const NGINX_DEFAULT: u64 = 60;
/// A quiet PDS may send nothing for a long time; the PDS sends no pings. Below an hour,
/// relays see the stream cut whenever it is quiet that long.
const ENOUGH: u64 = 3600;

/// One directive of the dump: `name args… ;` or `name args… { children }`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Directive {
    name: String,
    args: Vec<String>,
    children: Option<Vec<Directive>>,
}

/// Words, `{`, `}` and `;`, without comments; quotes kept out of the words.
fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '#' => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '{' | '}' | ';' => out.push(c.to_string()),
            '"' | '\'' => {
                let mut w = String::new();
                while let Some(d) = chars.next() {
                    if d == '\\' {
                        if let Some(e) = chars.next() {
                            w.push(e);
                        }
                    } else if d == c {
                        break;
                    } else {
                        w.push(d);
                    }
                }
                out.push(w);
            }
            c if c.is_whitespace() => {}
            c => {
                let mut w = c.to_string();
                while let Some(&d) = chars.peek() {
                    if d.is_whitespace() || matches!(d, '{' | '}' | ';') {
                        break;
                    }
                    w.push(d);
                    chars.next();
                }
                out.push(w);
            }
        }
    }
    out
}

/// The dump's files: `nginx -T` prints each file once, after a line `# configuration file
/// PATH:`, in the order read (the main file first); an `include` names them.
fn files(dump: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in dump.lines() {
        if let Some(path) = line
            .strip_prefix("# configuration file ")
            .and_then(|r| r.strip_suffix(':'))
        {
            out.push((path.to_string(), String::new()));
        } else if let Some((_, text)) = out.last_mut() {
            text.push_str(line);
            text.push('\n');
        }
    }
    if out.is_empty() {
        out.push((String::new(), dump.to_string()));
    }
    out
}

/// Whether an include pattern (`*` for any run of characters; relative to nginx's prefix)
/// names `path`.
fn includes(pattern: &str, path: &str) -> bool {
    fn glob(p: &[u8], s: &[u8]) -> bool {
        match p.split_first() {
            None => s.is_empty(),
            Some((b'*', rest)) => (0..=s.len()).any(|i| glob(rest, &s[i..])),
            Some((c, rest)) => s.first() == Some(c) && glob(rest, &s[1..]),
        }
    }
    if pattern.starts_with('/') {
        glob(pattern.as_bytes(), path.as_bytes())
    } else {
        // Relative: the end of the path.
        (0..path.len())
            .filter(|&i| i == 0 || path.as_bytes()[i - 1] == b'/')
            .any(|i| glob(pattern.as_bytes(), &path.as_bytes()[i..]))
    }
}

/// The main file's directives, each `include` replaced by what the files it names hold.
fn parse_dump(dump: &str) -> Vec<Directive> {
    let files = files(dump);
    let main = tokens(&files[0].1);
    let mut out = parse(&main, &mut 0);
    expand(&mut out, &files, 0);
    out
}

fn expand(block: &mut Vec<Directive>, files: &[(String, String)], depth: usize) {
    let mut i = 0;
    while i < block.len() {
        if block[i].name == "include" && depth < 10 {
            let pattern = block[i].args.first().cloned().unwrap_or_default();
            let mut inner: Vec<Directive> = files
                .iter()
                .skip(1)
                .filter(|(path, _)| includes(&pattern, path))
                .flat_map(|(_, text)| parse(&tokens(text), &mut 0))
                .collect();
            expand(&mut inner, files, depth + 1);
            let n = inner.len();
            block.splice(i..=i, inner);
            i += n;
            continue;
        }
        if let Some(children) = block[i].children.as_mut() {
            expand(children, files, depth);
        }
        i += 1;
    }
}

fn parse(tokens: &[String], i: &mut usize) -> Vec<Directive> {
    let mut out = Vec::new();
    let mut words: Vec<String> = Vec::new();
    while *i < tokens.len() {
        let t = &tokens[*i];
        *i += 1;
        match t.as_str() {
            ";" => {
                if !words.is_empty() {
                    out.push(Directive {
                        name: words.remove(0),
                        args: std::mem::take(&mut words),
                        children: None,
                    });
                }
            }
            "{" => {
                let children = parse(tokens, i);
                if !words.is_empty() {
                    out.push(Directive {
                        name: words.remove(0),
                        args: std::mem::take(&mut words),
                        children: Some(children),
                    });
                }
            }
            "}" => return out,
            _ => words.push(t.clone()),
        }
    }
    out
}

/// An nginx time ("90", "60s", "1d", "1h 30m"), in seconds.
fn seconds(value: &str) -> Option<u64> {
    let mut total = 0u64;
    for part in value.split_whitespace() {
        let digits: String = part.chars().take_while(|c| c.is_ascii_digit()).collect();
        let n: u64 = digits.parse().ok()?;
        let unit = &part[digits.len()..];
        let secs = match unit {
            "" | "s" => n,
            "ms" => n / 1000,
            "m" => n * 60,
            "h" => n * 3600,
            "d" => n * 86_400,
            "w" => n * 7 * 86_400,
            "M" => n * 30 * 86_400,
            "y" => n * 365 * 86_400,
            _ => return None,
        };
        total = total.checked_add(secs)?;
    }
    Some(total)
}

/// Whether `server_name` value `pattern` takes the name `host`.
fn name_matches(pattern: &str, host: &str) -> bool {
    let p = pattern.to_ascii_lowercase();
    if let Some(rest) = p.strip_prefix("*.") {
        return host.ends_with(&format!(".{rest}"));
    }
    if let Some(rest) = p.strip_prefix('.') {
        return host == rest || host.ends_with(&format!(".{rest}"));
    }
    p == host
}

/// The location that serves `path` among `server`'s children: an exact match, else the
/// longest prefix (regular expressions are not judged).
fn location_for<'a>(server: &'a [Directive], path: &str) -> Option<&'a Directive> {
    let mut best: Option<(&Directive, usize)> = None;
    for d in server.iter().filter(|d| d.name == "location") {
        let prefix = match d.args.as_slice() {
            [m, p] if m == "=" && p == path => return Some(d),
            [m, p] if m == "^~" => p,
            [p] => p,
            _ => continue,
        };
        if path.starts_with(prefix.as_str()) && best.is_none_or(|(_, n)| prefix.len() > n) {
            best = Some((d, prefix.len()));
        }
    }
    best.map(|(d, _)| d)
}

fn values<'a>(block: &'a [Directive], name: &str) -> Vec<&'a Directive> {
    block.iter().filter(|d| d.name == name).collect()
}

/// What the served config does for the firehose of `host`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Firehose {
    /// The location that serves it ("/", "/xrpc/", "= /xrpc/…").
    pub location: String,
    /// proxy_read_timeout in effect, seconds, and whether nginx's default.
    pub read_timeout: u64,
    pub read_timeout_default: bool,
    /// The Host header sent to the PDS ("$host", or None: nginx's own `$proxy_host`).
    pub host_header: Option<String>,
}

/// Judge the dump for `host`: None when no server there takes that name with a location
/// that proxies the firehose.
pub fn firehose(dump: &str, host: &str) -> Option<Firehose> {
    let top = parse_dump(dump);
    let host = host.to_ascii_lowercase();
    for http in top.iter().filter(|d| d.name == "http") {
        let http = http.children.as_deref().unwrap_or_default();
        for server in http.iter().filter(|d| d.name == "server") {
            let s = server.children.as_deref().unwrap_or_default();
            let named = values(s, "server_name")
                .iter()
                .any(|d| d.args.iter().any(|p| name_matches(p, &host)));
            if !named {
                continue;
            }
            let Some(loc) = location_for(s, FIREHOSE) else {
                continue;
            };
            let l = loc.children.as_deref().unwrap_or_default();
            if values(l, "proxy_pass").is_empty() {
                continue;
            }
            // The innermost level that sets it wins; proxy_set_header is inherited only
            // by a level that sets none of its own.
            let levels = [l, s, http];
            let timeout = levels
                .iter()
                .find_map(|b| values(b, "proxy_read_timeout").last().copied())
                .and_then(|d| d.args.first())
                .and_then(|v| seconds(v));
            let headers = levels
                .iter()
                .map(|b| values(b, "proxy_set_header"))
                .find(|v| !v.is_empty())
                .unwrap_or_default();
            let host_header = headers
                .iter()
                .rev()
                .find(|d| {
                    d.args
                        .first()
                        .is_some_and(|n| n.eq_ignore_ascii_case("host"))
                })
                .and_then(|d| d.args.get(1).cloned());
            return Some(Firehose {
                location: loc.args.join(" "),
                read_timeout: timeout.unwrap_or(NGINX_DEFAULT),
                read_timeout_default: timeout.is_none(),
                host_header,
            });
        }
    }
    None
}

/// What the served config says: the firehose's read timeout, and the Host header when it
/// is not passed.
#[derive(Debug, Clone, Serialize)]
pub struct Judgement {
    pub firehose: Finding,
    pub host: Option<Finding>,
}

impl Judgement {
    pub fn findings(&self) -> Vec<Finding> {
        std::iter::once(self.firehose.clone())
            .chain(self.host.clone())
            .collect()
    }
}

/// The findings for what `firehose` found.
pub fn judge(f: &Firehose, host: &str) -> Judgement {
    let mut out = Vec::new();
    let set = if f.read_timeout_default {
        "not set: nginx's default".to_string()
    } else {
        "proxy_read_timeout".to_string()
    };
    if f.read_timeout < ENOUGH {
        out.push(
            Finding::warn(format!(
                "nginx closes the firehose after {} s without an event (location {}, {set})",
                f.read_timeout, f.location
            ))
            .why("the PDS sends no pings on /xrpc/com.atproto.sync.subscribeRepos: on a quiet PDS the relay's stream is cut and must reconnect, and events wait")
            .fix(format!("in the location that proxies {FIREHOSE}: proxy_read_timeout 1d; proxy_send_timeout 1d; then reload nginx (pds-wizard proxy render nginx does this)")),
        );
    } else {
        out.push(Finding::pass(format!(
            "nginx keeps a quiet firehose open {} (location {})",
            human(f.read_timeout),
            f.location
        )));
    }
    let host = match f.host_header.as_deref() {
        Some("$host" | "$http_host") => None,
        Some(other) => Some(
            Finding::fail(format!("nginx sends Host: {other} to the PDS for {host}"))
                .why("the PDS answers /.well-known/atproto-did for the handles it hosts by the Host header")
                .fix("proxy_set_header Host $host; in the location that proxies to the PDS, then reload nginx"),
        ),
        None => Some(
            Finding::fail(format!(
                "nginx does not pass the Host header to the PDS for {host} (it sends the upstream's address)"
            ))
            .why("the PDS answers /.well-known/atproto-did for the handles it hosts by the Host header: without it every hosted handle shows \"Invalid Handle\"")
            .fix("proxy_set_header Host $host; in the location that proxies to the PDS, then reload nginx"),
        ),
    };
    Judgement {
        firehose: out.remove(0),
        host,
    }
}

fn human(secs: u64) -> String {
    match secs {
        s if s % 86_400 == 0 => format!("{} d", s / 86_400),
        s if s % 3600 == 0 => format!("{} h", s / 3600),
        s => format!("{s} s"),
    }
}

/// `nginx -T`: the configuration nginx serves, every included file in one text (`conf`:
/// another main file than nginx's own, as `-c`). None when nginx is not installed; an error
/// when it cannot read its configuration (not root, a broken file). Bounded at 5 s.
pub async fn nginx_dump(conf: Option<&Path>) -> Option<Result<String, String>> {
    let nginx = crate::fsutil::find_tool("nginx")?;
    let mut cmd = tokio::process::Command::new(nginx);
    cmd.arg("-T").args(["-e", "stderr"]);
    if let Some(c) = conf {
        // Relative paths in it are relative to its own directory.
        if let Some(dir) = c.parent() {
            cmd.arg("-p").arg(dir);
        }
        cmd.arg("-c").arg(c);
    }
    use crate::run::RanApart;
    Some(
        match crate::run::run_async(&mut cmd, Duration::from_secs(5)).await {
            RanApart::TimedOut => Err("nginx -T did not answer within 5 s".into()),
            RanApart::CannotRun(e) => Err(format!("cannot run nginx -T: {e}")),
            RanApart::Done {
                ok: true, stdout, ..
            } => Ok(stdout),
            RanApart::Done { stderr, .. } => Err(format!("nginx -T failed: {}", stderr.trim())),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    // As nginx -T prints it: each file after its own header, the main file first.
    const DUMP: &str = r#"# configuration file /etc/nginx/nginx.conf:
events {}
http {
    proxy_read_timeout 120s; # a comment { with braces }
    include mime.types;
    include /etc/nginx/sites-enabled/*;
}

# configuration file /etc/nginx/mime.types:
types { text/html html; }

# configuration file /etc/nginx/sites-enabled/pds.conf:
    server {
        listen 443 ssl;
        server_name pds.example.com *.pds.example.com;
        location / {
            proxy_pass http://127.0.0.1:3000;
            proxy_set_header Host $host;
        }
        location = /xrpc/com.atproto.sync.subscribeRepos {
            proxy_pass http://127.0.0.1:3000;
            proxy_read_timeout "1d";
            proxy_set_header Upgrade $http_upgrade;
        }
    }
    server {
        server_name other.example.com;
        location /xrpc/ { proxy_pass http://127.0.0.1:3000; }
    }
"#;

    #[test]
    fn the_firehose_location_its_timeout_and_host_header() {
        // The exact location wins; its own proxy_set_header hides the server's Host.
        let f = firehose(DUMP, "pds.example.com").unwrap();
        assert_eq!(f.location, "= /xrpc/com.atproto.sync.subscribeRepos");
        assert_eq!((f.read_timeout, f.read_timeout_default), (86_400, false));
        assert_eq!(f.host_header, None);
        let j = judge(&f, "pds.example.com");
        assert_eq!(j.firehose.level, crate::finding::Level::Pass);
        assert!(j.firehose.what.contains("open 1 d"), "{j:?}");
        assert!(j
            .host
            .unwrap()
            .what
            .contains("does not pass the Host header"));
        // A wildcard name; a prefix location; http's timeout inherited.
        let f = firehose(DUMP, "other.example.com").unwrap();
        assert_eq!(f.location, "/xrpc/");
        assert_eq!((f.read_timeout, f.read_timeout_default), (120, false));
        let j = judge(&f, "other.example.com");
        assert!(
            j.firehose
                .what
                .starts_with("nginx closes the firehose after 120 s"),
            "{j:?}"
        );
        // No server for the name: nothing to say.
        assert!(firehose(DUMP, "nobody.example.net").is_none());
        assert_eq!(
            firehose(DUMP, "alice.pds.example.com").map(|f| f.location),
            Some("= /xrpc/com.atproto.sync.subscribeRepos".into())
        );
    }

    #[test]
    fn the_default_is_nginx_s_60_seconds() {
        let dump = "http { server { server_name pds.example.com; location / { proxy_pass http://u; proxy_set_header Host $host; } } }";
        let f = firehose(dump, "pds.example.com").unwrap();
        assert_eq!((f.read_timeout, f.read_timeout_default), (60, true));
        let j = judge(&f, "pds.example.com");
        assert!(j.host.is_none(), "{j:?}");
        assert!(j
            .firehose
            .what
            .contains("after 60 s without an event (location /, not set: nginx's default)"));
    }

    #[test]
    fn nginx_times() {
        for (t, s) in [
            ("90", 90),
            ("60s", 60),
            ("5m", 300),
            ("1h 30m", 5400),
            ("1d", 86_400),
            ("500ms", 0),
        ] {
            assert_eq!(seconds(t), Some(s), "{t}");
        }
        assert_eq!(seconds("soon"), None);
    }
}

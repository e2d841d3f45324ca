//! Editing the operator's Caddyfile in place, and asking Caddy whether the result is what
//! was meant. Two edits: the PDS side of a split proxy (the PDS's public sites become one
//! plain-HTTP site on the private address, their directives kept), and the installer's
//! site added to a Caddyfile that has none (`service write`). Whatever the wizard does not
//! change stays byte for byte; `caddy adapt` — on this machine, or in the container Caddy
//! runs in — compares the structure before and after.

use super::split::{Split, CADDY_MARK};
use crate::caddy::file::{self as caddyfile, Kind, Token};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

/// The names the PDS answers for: its hostname, and the handle domains under it.
#[derive(Debug, Clone)]
pub struct Names {
    pub host: String,
    /// Handle domains (`pds.example.com` for `*.pds.example.com`).
    pub wildcards: Vec<String>,
}

impl Names {
    /// Whether a site's host (as `caddyfile::address_host` gives it) is one of the PDS's.
    pub fn is_pds(&self, h: &str) -> bool {
        let h = h.trim_end_matches('.');
        h == self.host
            || h.strip_prefix("*.")
                .is_some_and(|w| w == self.host || self.wildcards.iter().any(|x| x == w))
            || h.ends_with(&format!(".{}", self.host))
            || self.wildcards.iter().any(|w| h.ends_with(&format!(".{w}")))
    }
}

/// An edited Caddyfile, and what the edit did, for the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edited {
    pub text: String,
    pub notes: Vec<String>,
}

fn line_of(src: &str, at: usize) -> usize {
    src[..at].matches('\n').count() + 1
}

/// The indentation of the line holding byte `at`.
fn indent_at(src: &str, at: usize) -> &str {
    let start = src[..at].rfind('\n').map_or(0, |i| i + 1);
    let line = &src[start..];
    &line[..line.len() - line.trim_start_matches([' ', '\t']).len()]
}

/// One indentation step as the file uses it (a tab, or the spaces of its first indent).
fn step_of(src: &str) -> String {
    src.lines()
        .map(|l| &l[..l.len() - l.trim_start_matches([' ', '\t']).len()])
        .find(|i| !i.is_empty())
        .map_or("\t".to_string(), |i| {
            if i.starts_with('\t') {
                "\t".into()
            } else {
                i.to_string()
            }
        })
}

/// The PDS side of a split proxy, made in `text`: every site that serves the PDS's names
/// publicly becomes plain HTTP bound to the private address (the front holds the
/// certificates) — its `tls` dropped, `bind` set, each `reverse_proxy` trusting the front —
/// with every other directive kept; a site that also serves other names keeps them, and a
/// private copy takes the PDS's; a plain-HTTP site for the PDS's names (an https redirect)
/// goes, since the front answers the public side. Without any, the wizard's site is added.
/// A second run on its own result changes nothing.
pub fn make_private(
    text: &str,
    split: &Split,
    names: &Names,
    env: &HashMap<String, String>,
) -> Result<Edited, String> {
    let unreadable = |e: caddyfile::Unreadable| {
        format!("cannot edit it safely: {e} (edit it by hand: pds-wizard proxy render --front-address … shows the site to write)")
    };
    let tokens = caddyfile::lex(text).map_err(unreadable)?;
    let blocks = caddyfile::blocks(text, &tokens).map_err(unreadable)?;
    let step = step_of(text);
    let private = split.pds_address;
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    let mut notes = Vec::new();
    let mut converted = 0;
    for b in &blocks {
        let Kind::Site(addresses) = &b.kind else {
            continue;
        };
        let line = line_of(text, b.start);
        let mut pds = Vec::new();
        let mut other = Vec::new();
        for a in addresses {
            let expanded = caddyfile::expand_env(a, env).ok_or_else(|| {
                format!("line {line}: cannot tell what the site address {a} is (an environment placeholder pds.env does not set)")
            })?;
            // A placeholder may hold several addresses.
            let mut mine = Vec::new();
            let mut theirs = false;
            for e in expanded.split([',', ' ']).filter(|e| !e.is_empty()) {
                let host = caddyfile::address_host(e);
                let ours = host.parse::<IpAddr>().ok() == Some(private);
                if names.is_pds(&host) || ours {
                    mine.push((e.to_string(), host));
                } else {
                    theirs = true;
                    if host.is_empty() && proxies_to(text, &tokens, b.open, b.close, split.pds_port)
                    {
                        return Err(format!(
                            "line {line}: the site {a} answers every name (the PDS's too) and sends it to the PDS: the front could be passed by; give it the names it should serve, then run this again"
                        ));
                    }
                }
            }
            if theirs && !mine.is_empty() {
                return Err(format!(
                    "line {line}: {a} stands for the PDS's names and others together ({expanded}); write them out, then run this again"
                ));
            }
            if theirs {
                other.push(a.clone());
            }
            pds.extend(mine);
        }
        if pds.is_empty() {
            continue;
        }
        let marked = marked_before(text, b.start);
        let bound_here = bind_of(text, &tokens, b.open, b.close).as_deref()
            == Some(private.to_string().as_str());
        let plain = pds.iter().all(|(a, _)| caddyfile::address_is_plain_http(a));
        let names_of = |v: &[(String, String)]| {
            v.iter()
                .map(|(a, _)| a.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        if plain && !marked && !bound_here {
            // An http:// site (a redirect to https): the front answers the public side now.
            if other.is_empty() {
                // The block goes, and the blank line after it.
                let end = if text[b.end..].starts_with('\n') {
                    b.end + 1
                } else {
                    b.end
                };
                edits.push((b.start, end, String::new()));
            } else {
                edits.push(header_edit(&tokens, b, &other.join(", ")));
            }
            notes.push(format!(
                "line {line}: {} no longer answers over plain HTTP here (the front answers the public side)",
                names_of(&pds)
            ));
            continue;
        }
        // The front the wizard trusted last time (its marker says), to be replaced.
        let old_front = marked.then(|| marked_front(text, b.start)).flatten();
        let body = convert(
            text,
            &tokens,
            b,
            split,
            old_front,
            &pds,
            converted == 0,
            &step,
        );
        let kept: Vec<String> = caddyfile::directives(text, &tokens, b.open, b.close)
            .iter()
            .map(|d| d.name.clone())
            .filter(|n| !matches!(n.as_str(), "tls" | "bind" | "reverse_proxy"))
            .collect();
        let kept = if kept.is_empty() {
            String::new()
        } else {
            format!("; kept: {}", kept.join(", "))
        };
        if other.is_empty() {
            let from = if marked {
                marker_start(text, b.start)
            } else {
                b.start
            };
            edits.push((from, b.end, format!("{}{body}", marker(split))));
            notes.push(format!(
                "line {line}: the site for {} answers only the front now, in plain HTTP on {private}{kept}",
                names_of(&pds)
            ));
        } else {
            edits.push(header_edit(&tokens, b, &other.join(", ")));
            edits.push((b.end, b.end, format!("\n{}{body}", marker(split))));
            notes.push(format!(
                "line {line}: {} stay in that site; {} move to a copy of it that answers only the front, in plain HTTP on {private}{kept}",
                other.join(", "),
                names_of(&pds)
            ));
        }
        converted += 1;
    }
    if converted == 0 {
        let host = crate::identity::Hostname::parse(&names.host).map_err(|e| e.to_string())?;
        let site = split.caddy_site(&host, &names.wildcards);
        let sep = if text.is_empty() || text.ends_with("\n\n") {
            ""
        } else if text.ends_with('\n') {
            "\n"
        } else {
            "\n\n"
        };
        notes.push(format!(
            "no site served {} here: the front's site is added at the end",
            names.host
        ));
        return Ok(Edited {
            text: format!("{text}{sep}{site}"),
            notes,
        });
    }
    Ok(Edited {
        text: caddyfile::apply(text, edits),
        notes,
    })
}

/// The two comment lines above a site the wizard made private (how a later run knows it).
fn marker(split: &Split) -> String {
    format!(
        "{CADDY_MARK} (the front at {} reaches the PDS here over the private network;\n# it holds the certificates, so this site is plain HTTP on {} only)\n",
        split.front_address, split.pds_address
    )
}

/// Whether the marker's lines stand right above the line at `start`.
fn marked_before(src: &str, start: usize) -> bool {
    src[..start]
        .lines()
        .rev()
        .take(2)
        .any(|l| l.trim_start().starts_with(CADDY_MARK))
}

/// Where the marker above the line at `start` begins.
fn marker_start(src: &str, start: usize) -> usize {
    let mut at = start;
    for _ in 0..2 {
        let prev = caddyfile::line_start(src, at.saturating_sub(1));
        if at == 0 || !src[prev..at].trim_start().starts_with('#') {
            break;
        }
        at = prev;
        if src[at..].trim_start().starts_with(CADDY_MARK) {
            return at;
        }
    }
    at
}

/// The fronts the wizard's markers in a Caddyfile name (the sites it made private before).
pub fn fronts_named(src: &str) -> Vec<IpAddr> {
    src.lines()
        .filter(|l| l.trim_start().starts_with(CADDY_MARK))
        .filter_map(|l| l.split("the front at ").nth(1))
        .filter_map(|r| r.split_whitespace().next())
        .filter_map(|a| a.parse().ok())
        .collect()
}

/// The front address the marker above `start` names ("… the front at ADDRESS reaches …").
fn marked_front(src: &str, start: usize) -> Option<String> {
    let m = &src[marker_start(src, start)..start];
    let rest = m.split("the front at ").nth(1)?;
    rest.split_whitespace().next().map(str::to_string)
}

/// The site's header rewritten to `addresses` (the rest of the line kept).
fn header_edit(tokens: &[Token], b: &caddyfile::Block, addresses: &str) -> (usize, usize, String) {
    (
        tokens[b.first].start,
        tokens[b.open].start,
        format!("{addresses} "),
    )
}

/// The address `bind` gives inside a block, if it has one.
fn bind_of(src: &str, tokens: &[Token], open: usize, close: usize) -> Option<String> {
    caddyfile::directives(src, tokens, open, close)
        .into_iter()
        .find(|d| d.name == "bind")
        .and_then(|d| tokens.get(d.first + 1))
        .map(|t| t.text.clone())
}

/// Whether anything in the block proxies to the PDS's port on this machine.
fn proxies_to(src: &str, tokens: &[Token], open: usize, close: usize, port: u16) -> bool {
    caddyfile::find_all(src, tokens, open, close, "reverse_proxy")
        .iter()
        .any(|d| {
            tokens[d.first + 1..=d.last].iter().any(|t| {
                let h = caddyfile::address_host(&t.text);
                let p = t
                    .text
                    .rsplit(':')
                    .next()
                    .and_then(|p| p.parse::<u16>().ok());
                matches!(h.as_str(), "localhost" | "127.0.0.1" | "::1") && p == Some(port)
            })
        })
}

/// The block's text made private: header, `bind`, no `tls`, the front trusted.
#[allow(clippy::too_many_arguments)]
fn convert(
    src: &str,
    tokens: &[Token],
    b: &caddyfile::Block,
    split: &Split,
    old_front: Option<String>,
    pds: &[(String, String)],
    with_ip: bool,
    step: &str,
) -> String {
    let base = b.start;
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    let private = split.pds_address;
    let mut header: Vec<String> = Vec::new();
    for (_, host) in pds {
        let h = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.clone()
        };
        let n = format!("http://{h}");
        if !header.contains(&n) {
            header.push(n);
        }
    }
    let ip = format!(
        "http://{}",
        match private {
            IpAddr::V6(v6) => format!("[{v6}]"),
            IpAddr::V4(v4) => v4.to_string(),
        }
    );
    if with_ip && !header.contains(&ip) {
        header.push(ip);
    }
    edits.push((
        tokens[b.first].start,
        tokens[b.open].start,
        format!("{} ", header.join(", ")),
    ));
    let top = caddyfile::directives(src, tokens, b.open, b.close);
    let inner = format!("{}{step}", indent_at(src, tokens[b.open].start));
    for d in top.iter().filter(|d| d.name == "tls") {
        edits.push((d.start, d.end, String::new()));
    }
    match top.iter().find(|d| d.name == "bind") {
        Some(d) => edits.push((
            tokens[d.first].start,
            tokens[d.last].end,
            format!("bind {private}"),
        )),
        None => {
            let at = src[tokens[b.open].end..]
                .find('\n')
                .map_or(src.len(), |i| tokens[b.open].end + i + 1);
            edits.push((at, at, format!("{inner}bind {private}\n")));
        }
    }
    let front = split.front_address.to_string();
    for d in caddyfile::find_all(src, tokens, b.open, b.close, "reverse_proxy") {
        let ind = indent_at(src, tokens[d.first].start).to_string();
        match d.open {
            Some(o) => {
                let inside = caddyfile::directives(src, tokens, o, d.last);
                match inside.iter().find(|x| x.name == "trusted_proxies") {
                    Some(tp) => {
                        let args = &tokens[tp.first + 1..=tp.last];
                        let old = args
                            .iter()
                            .find(|t| Some(&t.text) == old_front.as_ref() && t.text != front);
                        match old {
                            // The front the wizard trusted before: the new one instead.
                            Some(t) if !args.iter().any(|t| t.text == front) => {
                                edits.push((t.start, t.end, front.clone()))
                            }
                            _ if !args.iter().any(|t| t.text == front) => edits.push((
                                tokens[tp.last].end,
                                tokens[tp.last].end,
                                format!(" {front}"),
                            )),
                            _ => {}
                        }
                    }
                    // At the end of its block: taken out and put back, the same bytes.
                    None => {
                        let at = caddyfile::line_start(src, tokens[d.last].start);
                        edits.push((at, at, format!("{ind}{step}trusted_proxies {front}\n")));
                    }
                }
            }
            None => edits.push((
                tokens[d.last].end,
                tokens[d.last].end,
                format!(" {{\n{ind}{step}trusted_proxies {front}\n{ind}}}"),
            )),
        }
    }
    let local: Vec<(usize, usize, String)> = edits
        .into_iter()
        .map(|(s, e, t)| (s - base, e - base, t))
        .collect();
    caddyfile::apply(&src[b.start..b.end], local)
}

/// For each (listener, host) Caddy serves, what it does: the routes' handlers. `"*"` stands
/// for a route with no host matcher.
fn served(config: &Value) -> BTreeMap<(String, String), Vec<Value>> {
    let mut out: BTreeMap<(String, String), Vec<Value>> = BTreeMap::new();
    let Some(servers) = config["apps"]["http"]["servers"].as_object() else {
        return out;
    };
    for s in servers.values() {
        let listen: Vec<String> = s["listen"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|l| l.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        for route in s["routes"].as_array().into_iter().flatten() {
            let hosts: Vec<String> = route["match"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|m| m["host"].as_array().cloned().unwrap_or_default())
                .filter_map(|h| h.as_str().map(|h| h.to_ascii_lowercase()))
                .collect();
            let hosts = if hosts.is_empty() {
                vec!["*".to_string()]
            } else {
                hosts
            };
            for l in &listen {
                for h in &hosts {
                    out.entry((l.clone(), h.clone()))
                        .or_default()
                        .push(without_trust(route["handle"].clone()));
                }
            }
        }
    }
    out
}

/// A route's handlers without `trusted_proxies` (the one thing the edit adds).
fn without_trust(mut v: Value) -> Value {
    match &mut v {
        Value::Object(m) => {
            m.remove("trusted_proxies");
            for x in m.values_mut() {
                *x = without_trust(x.take());
            }
        }
        Value::Array(a) => {
            for x in a.iter_mut() {
                *x = without_trust(x.take());
            }
        }
        _ => {}
    }
    v
}

/// Whether a listener address reaches beyond this machine's private address and loopback.
fn public_listener(listen: &str, private: IpAddr) -> bool {
    let host = listen
        .rsplit_once(':')
        .map_or("", |(h, _)| h)
        .trim_start_matches("tcp/")
        .trim_matches(['[', ']']);
    match host.parse::<IpAddr>() {
        Ok(ip) => ip != private && !ip.is_loopback(),
        Err(_) => true,
    }
}

/// What Caddy's reading of the edited file says against the original: the PDS's names are
/// served on the private address only, with the same handlers as before; every other name
/// is served exactly as before. Each problem in a sentence.
pub fn check_private(before: &Value, after: &Value, names: &Names, private: IpAddr) -> Vec<String> {
    let (b, a) = (served(before), served(after));
    let mut problems = Vec::new();
    for ((listen, host), handlers) in &a {
        if public_listener(listen, private) && names.is_pds(host) {
            problems.push(format!(
                "Caddy would still serve {host} on {listen}: the front could be passed by"
            ));
        }
        let _ = handlers;
    }
    // Every other name as before.
    for key in b.keys().chain(a.keys()) {
        let (listen, host) = key;
        if names.is_pds(host) || host.parse::<IpAddr>().ok() == Some(private) {
            continue;
        }
        if b.get(key) != a.get(key) {
            problems.push(format!(
                "the site for {host} on {listen} would change, which pds-wizard did not mean to do"
            ));
        }
    }
    // The PDS's names keep what their public site did.
    for ((listen, host), handlers) in &b {
        if !names.is_pds(host) || !public_listener(listen, private) || listen.ends_with(":80") {
            continue;
        }
        let now = a
            .iter()
            .find(|((l, h), _)| h == host && !public_listener(l, private))
            .map(|(_, v)| v);
        if now != Some(handlers) {
            problems.push(format!(
                "{host} would not keep what its site did on {listen} (its directives)"
            ));
        }
    }
    problems.dedup();
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::split::Via;

    fn split() -> Split {
        Split::example(Via::InstallerCaddy)
    }

    fn names() -> Names {
        Names {
            host: "pds.example.com".into(),
            wildcards: vec!["pds.example.com".into()],
        }
    }

    const INSTALLER: &str = "{\n\temail admin@example.com\n\ton_demand_tls {\n\t\task http://localhost:3000/tls-check\n\t}\n}\n\n*.pds.example.com, pds.example.com {\n\ttls {\n\t\ton_demand\n\t}\n\treverse_proxy http://localhost:3000\n}\n";

    #[test]
    fn the_installers_site_becomes_private_and_a_second_run_changes_nothing() {
        let env = HashMap::new();
        let e = make_private(INSTALLER, &split(), &names(), &env).unwrap();
        assert!(
            e.text.starts_with("{\n\temail admin@example.com\n"),
            "{}",
            e.text
        );
        assert!(
            e.text.ends_with("http://*.pds.example.com, http://pds.example.com, http://100.101.102.103 {\n\tbind 100.101.102.103\n\treverse_proxy http://localhost:3000 {\n\t\ttrusted_proxies 100.64.0.1\n\t}\n}\n"),
            "{}",
            e.text
        );
        assert!(!e.text.contains("on_demand\n"));
        assert_eq!(
            make_private(&e.text, &split(), &names(), &env)
                .unwrap()
                .text,
            e.text
        );
        // Trust taken out: put back, the same bytes.
        let untrusting = e.text.replace("\t\ttrusted_proxies 100.64.0.1\n", "");
        assert_eq!(
            make_private(&untrusting, &split(), &names(), &env)
                .unwrap()
                .text,
            e.text
        );
        // A new front: trusted too, not a second site.
        let mut moved = split();
        moved.front_address = "100.64.0.9".parse().unwrap();
        let again = make_private(&e.text, &moved, &names(), &env).unwrap();
        assert_eq!(again.text.matches(CADDY_MARK).count(), 1, "{}", again.text);
        assert!(
            again.text.contains("\ttrusted_proxies 100.64.0.9\n"),
            "{}",
            again.text
        );
        assert!(!again.text.contains("100.64.0.1"), "{}", again.text);
    }
}

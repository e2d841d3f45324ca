//! The installer's files merged into what the operator has: what the wizard needs is set,
//! everything else — services it does not write (pds-gatekeeper), an image pinned to a
//! version, environment, comments, unit lines, Caddy sites — stays. `docker compose config`,
//! `systemd-analyze verify` and Caddy check the result before anything is written.

use super::service::{Front, Plan};
use std::str::FromStr;
use yaml_edit::Document;

/// A merged file and what the merge kept or changed, in sentences.
pub struct Merged {
    pub text: String,
    pub notes: Vec<String>,
}

fn scalar(node: &yaml_edit::YamlNode) -> Option<String> {
    node.as_scalar().map(|s| s.as_string())
}

/// The port a compose `ports:` entry publishes from the container ("127.0.0.1:3000:3000",
/// "3000:3000/tcp", "3000").
fn container_port(entry: &str) -> Option<u16> {
    entry
        .rsplit(':')
        .next()?
        .split('/')
        .next()?
        .trim()
        .parse()
        .ok()
}

/// compose.yaml: the `pds` service made to run as planned (network or published port,
/// the data directory, this pds.env), Caddy added or removed with the front, a Watchtower
/// image that no longer runs replaced; every other service and setting kept.
pub fn compose(old: &str, plan: &Plan) -> Result<Merged, String> {
    let cannot = |why: &str| format!("cannot merge into it: {why}");
    let doc = Document::from_str(old).map_err(|e| cannot(&e.to_string()))?;
    let root = doc
        .as_mapping()
        .ok_or_else(|| cannot("it is not a YAML mapping"))?;
    let services = root
        .get_mapping("services")
        .ok_or_else(|| cannot("it has no services: mapping"))?;
    let fresh = Document::from_str(&plan.compose_yaml()).map_err(|e| e.to_string())?;
    let fresh_services = fresh
        .as_mapping()
        .and_then(|m| m.get_mapping("services"))
        .ok_or("the planned compose.yaml has no services")?;
    let mut notes = Vec::new();
    match services.get_mapping("pds") {
        None => {
            let pds = fresh_services.get_mapping("pds").ok_or("no planned pds")?;
            services.set("pds", &pds);
            notes.push("the pds service added".to_string());
        }
        Some(pds) => {
            let kept: Vec<String> = pds
                .keys()
                .filter_map(|k| scalar(&k))
                .filter(|k| {
                    !matches!(
                        k.as_str(),
                        "network_mode" | "ports" | "volumes" | "env_file"
                    )
                })
                .collect();
            for (key, value) in [
                ("container_name", "pds"),
                ("image", super::service::IMAGE),
                ("restart", "unless-stopped"),
            ] {
                if !pds.contains_key(key) {
                    pds.set(key, value);
                    notes.push(format!("pds: {key} {value} added"));
                }
            }
            let port = plan.port;
            let published: Vec<String> = pds
                .get_sequence("ports")
                .map(|s| s.values().filter_map(|v| scalar(&v)).collect())
                .unwrap_or_default();
            let others: Vec<String> = published
                .iter()
                .filter(|p| container_port(p) != Some(port))
                .cloned()
                .collect();
            match &plan.front {
                Front::Caddy { .. } => {
                    if pds.get("network_mode").and_then(|v| scalar(&v)).as_deref() != Some("host") {
                        pds.set("network_mode", "host");
                        notes.push("pds: network_mode host (Caddy reaches it on localhost)".into());
                    }
                    if others.len() != published.len() {
                        set_list(&pds, "ports", &others);
                        notes.push(format!(
                            "pds: port {port} no longer published (host network)"
                        ));
                    }
                }
                Front::OwnProxy { bind } => {
                    if pds.get("network_mode").and_then(|v| scalar(&v)).as_deref() == Some("host") {
                        pds.remove("network_mode");
                        notes.push(
                            "pds: host network off (it is published on one address only)".into(),
                        );
                    }
                    let host = match bind {
                        std::net::IpAddr::V6(v6) => format!("[{v6}]"),
                        std::net::IpAddr::V4(v4) => v4.to_string(),
                    };
                    let ours = format!("{host}:{port}:{port}");
                    if !published.contains(&ours) || others.len() + 1 != published.len() {
                        let mut list = others.clone();
                        list.push(ours.clone());
                        set_list(&pds, "ports", &list);
                        notes.push(format!("pds: published on {ours} only"));
                    }
                }
            }
            let data = plan.data_dir.display().to_string();
            let binds_data =
                pds.get_sequence("volumes")
                    .map(|s| {
                        s.values().any(|v| match v.as_mapping() {
                            Some(m) => {
                                m.get("source").and_then(|x| scalar(&x)).as_deref()
                                    == Some(data.as_str())
                            }
                            None => scalar(&v)
                                .is_some_and(|x| x.split(':').next() == Some(data.as_str())),
                        })
                    })
                    .unwrap_or(false);
            if !binds_data {
                let fresh_pds = fresh_services.get_mapping("pds").ok_or("no planned pds")?;
                match (
                    pds.get_sequence("volumes"),
                    fresh_pds.get_sequence("volumes"),
                ) {
                    (Some(theirs), Some(ours)) => {
                        for v in ours.values() {
                            theirs.push(&v);
                        }
                    }
                    (None, Some(ours)) => pds.set("volumes", &ours),
                    _ => {}
                }
                notes.push(format!("pds: the data directory {data} mounted"));
            }
            let env = plan.env_file.display().to_string();
            let names_env = pds
                .get_sequence("env_file")
                .map(|s| s.values().filter_map(|v| scalar(&v)).any(|v| v == env))
                .or_else(|| {
                    pds.get("env_file")
                        .and_then(|v| scalar(&v))
                        .map(|v| v == env)
                })
                .unwrap_or(false);
            if !names_env {
                set_list(&pds, "env_file", std::slice::from_ref(&env));
                notes.push(format!("pds: env_file is {env}"));
            }
            if !kept.is_empty() {
                notes.push(format!("pds: kept your {}", kept.join(", ")));
            }
        }
    }
    match (&plan.front, services.get_mapping("caddy")) {
        (Front::Caddy { .. }, None) => {
            let caddy = fresh_services
                .get_mapping("caddy")
                .ok_or("no planned caddy")?;
            services.insert_at_index(0, "caddy", &caddy);
            notes.push("the installer's caddy service added".into());
        }
        (Front::Caddy { .. }, Some(_)) => notes.push("kept your caddy service".into()),
        (Front::OwnProxy { .. }, Some(_)) => {
            services.remove("caddy");
            notes.push("the caddy service removed: your own proxy serves HTTPS".into());
        }
        (Front::OwnProxy { .. }, None) => {}
    }
    if let Some(w) = services.get_mapping("watchtower") {
        let image = w.get("image").and_then(|v| scalar(&v)).unwrap_or_default();
        if image.starts_with("containrrr/watchtower") {
            w.set("image", super::service::WATCHTOWER_IMAGE);
            notes.push(format!(
                "watchtower: {} (containrrr/watchtower stops on Docker 29: \"client version 1.25 is too old\")",
                super::service::WATCHTOWER_IMAGE
            ));
        }
    }
    let theirs: Vec<String> = services
        .keys()
        .filter_map(|k| scalar(&k))
        .filter(|k| !matches!(k.as_str(), "pds" | "caddy" | "watchtower"))
        .collect();
    if !theirs.is_empty() {
        notes.push(format!("kept your services: {}", theirs.join(", ")));
    }
    Ok(Merged {
        text: doc.to_string(),
        notes,
    })
}

/// `key:` as a block list of plain strings (removed when empty).
fn set_list(m: &yaml_edit::Mapping, key: &str, items: &[String]) {
    if items.is_empty() {
        m.remove(key);
        return;
    }
    let text: String = items
        .iter()
        .map(|i| format!("- {}\n", serde_json::to_string(i).unwrap_or_default()))
        .collect();
    if let Ok(d) = Document::from_str(&text) {
        if let Some(seq) = d.as_sequence() {
            m.set(key, &seq);
        }
    }
}

/// How the merge treats one of the installer's unit keys.
enum KeyRule {
    /// Set to the installer's value.
    Set,
    /// Added only when missing (a description, say, is the operator's to word).
    IfMissing,
    /// A list that must hold the installer's value (`After=`, `Requires=`).
    Holds,
    /// Kept when the line already runs the same thing (the compose file and its verb).
    SameWork(&'static str),
}

fn rule(key: &str) -> KeyRule {
    match key {
        "Description" | "Documentation" | "WantedBy" => KeyRule::IfMissing,
        "Requires" | "After" => KeyRule::Holds,
        "ExecStart" => KeyRule::SameWork(" up"),
        "ExecStop" => KeyRule::SameWork(" down"),
        _ => KeyRule::Set,
    }
}

/// pds.service: what the unit needs is there (Type, the working directory, compose up and
/// down on this compose file, Docker required); every other line of the operator's kept,
/// their own description and targets included.
pub fn unit(old: &str, fresh: &str) -> Merged {
    let mut lines: Vec<String> = old.lines().map(str::to_string).collect();
    let mut notes = Vec::new();
    let mut section = String::new();
    for l in fresh.lines() {
        let t = l.trim();
        if t.starts_with('[') {
            section = t.to_string();
            if !lines.iter().any(|x| x.trim() == section) {
                if lines.last().is_some_and(|x| !x.trim().is_empty()) {
                    lines.push(String::new());
                }
                lines.push(section.clone());
            }
            continue;
        }
        let Some((key, value)) = t.split_once('=') else {
            continue;
        };
        // The section's lines in the old file.
        let start = lines.iter().position(|x| x.trim() == section).unwrap_or(0) + 1;
        let end = lines[start..]
            .iter()
            .position(|x| x.trim().starts_with('['))
            .map_or(lines.len(), |i| start + i);
        let found = (start..end).find(|&i| {
            lines[i]
                .split_once('=')
                .is_some_and(|(k, _)| k.trim() == key)
        });
        let Some(i) = found else {
            let mut at = end;
            while at > start && lines[at - 1].trim().is_empty() {
                at -= 1;
            }
            lines.insert(at, t.to_string());
            notes.push(format!("{section} {t} added"));
            continue;
        };
        let theirs = lines[i]
            .split_once('=')
            .map_or("", |(_, v)| v)
            .trim()
            .to_string();
        let new = match rule(key) {
            KeyRule::IfMissing => None,
            KeyRule::Set => (theirs != value).then(|| value.to_string()),
            KeyRule::Holds => (!theirs.split_whitespace().any(|w| w == value))
                .then(|| format!("{theirs} {value}").trim().to_string()),
            KeyRule::SameWork(verb) => {
                let file = value
                    .split("--file ")
                    .nth(1)
                    .and_then(|r| r.split_whitespace().next())
                    .unwrap_or("");
                (!(theirs.contains(file) && theirs.contains(verb))).then(|| value.to_string())
            }
        };
        if let Some(new) = new {
            notes.push(format!("{section} {key}={new} (was {theirs})"));
            lines[i] = format!("{key}={new}");
        }
    }
    let mut text = lines.join("\n");
    text.push('\n');
    Merged { text, notes }
}

/// The Caddyfile: one that serves the PDS's name already is kept as it is (it is the
/// operator's); otherwise the installer's site is added, with the on-demand TLS `ask` it
/// needs in the global options.
pub fn caddyfile(old: &str, fresh: &str, hostname: &str) -> Result<Merged, String> {
    use crate::caddy::file::{self as cf, Kind};
    let cannot = |e: cf::Unreadable| format!("cannot merge into it: {e}");
    let tokens = cf::lex(old).map_err(cannot)?;
    let blocks = cf::blocks(old, &tokens).map_err(cannot)?;
    let serves = blocks.iter().any(|b| match &b.kind {
        Kind::Site(a) => a
            .iter()
            .any(|a| cf::address_host(a) == hostname && !cf::address_is_plain_http(a)),
        _ => false,
    });
    if serves {
        return Ok(Merged {
            text: old.to_string(),
            notes: vec![format!(
                "kept as it is: it serves {hostname} already (your site)"
            )],
        });
    }
    let fresh_tokens = cf::lex(fresh).map_err(cannot)?;
    let fresh_blocks = cf::blocks(fresh, &fresh_tokens).map_err(cannot)?;
    let mut notes = vec![format!("the installer's site for {hostname} added")];
    let site: String = fresh_blocks
        .iter()
        .filter(|b| matches!(b.kind, Kind::Site(_)))
        .map(|b| &fresh[b.start..b.end])
        .collect();
    let mut text = old.to_string();
    match blocks.iter().find(|b| b.kind == Kind::Global) {
        None => {
            let global = fresh_blocks
                .iter()
                .find(|b| b.kind == Kind::Global)
                .map(|b| &fresh[b.start..b.end])
                .unwrap_or("");
            text = format!("{global}\n{text}");
            notes.push("the installer's global options added".into());
        }
        Some(g) => {
            let lacks_ask = cf::find_all(old, &tokens, g.open, g.close, "on_demand_tls").is_empty();
            if lacks_ask {
                let at = cf::line_start(old, tokens[g.close].start);
                let port_ask = fresh
                    .lines()
                    .find(|l| l.trim_start().starts_with("ask "))
                    .map(str::trim)
                    .unwrap_or("ask http://localhost:3000/tls-check");
                text = cf::apply(
                    old,
                    vec![(
                        at,
                        at,
                        format!("\ton_demand_tls {{\n\t\t{port_ask}\n\t}}\n"),
                    )],
                );
                notes.push(
                    "on_demand_tls added to your global options (on-demand certificates need it)"
                        .into(),
                );
            }
        }
    }
    if !text.ends_with("\n\n") {
        text.push('\n');
    }
    text.push_str(&site);
    Ok(Merged { text, notes })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn plan(front: Front) -> Plan {
        Plan {
            data_dir: PathBuf::from("/pds"),
            env_file: PathBuf::from("/pds/pds.env"),
            port: 3000,
            front,
            unit_dir: PathBuf::from("/etc/systemd/system"),
            compose: vec!["/usr/bin/docker".into(), "compose".into()],
        }
    }

    const CUSTOM: &str = "# my PDS, with pds-gatekeeper\nservices:\n  caddy:\n    container_name: caddy\n    image: caddy:2\n    network_mode: host\n  pds:\n    container_name: pds\n    image: ghcr.io/bluesky-social/pds:0.4.182   # pinned\n    network_mode: host\n    restart: unless-stopped\n    environment:\n      PDS_EXTRA: \"1\"\n    volumes:\n      - type: bind\n        source: /pds\n        target: /pds\n    env_file:\n      - /pds/pds.env\n  gatekeeper:\n    image: ghcr.io/fatfingers23/pds_gatekeeper:latest\n    network_mode: host\n  watchtower:\n    image: containrrr/watchtower:latest\n";

    #[test]
    fn compose_keeps_the_operators_services_and_settings() {
        let m = compose(
            CUSTOM,
            &plan(Front::Caddy {
                admin_email: "a@b.c".into(),
            }),
        )
        .unwrap();
        // Only the Watchtower image changes.
        assert_eq!(
            m.text,
            CUSTOM.replace(
                "containrrr/watchtower:latest",
                super::super::service::WATCHTOWER_IMAGE
            )
        );
        assert!(
            m.notes.iter().any(|n| n.contains("gatekeeper")),
            "{:?}",
            m.notes
        );
        // Own proxy: Caddy goes, the PDS is published on loopback; the pin, the comment,
        // the environment and gatekeeper stay.
        let m = compose(
            CUSTOM,
            &plan(Front::OwnProxy {
                bind: "127.0.0.1".parse().unwrap(),
            }),
        )
        .unwrap();
        assert!(!m.text.contains("caddy:2"), "{}", m.text);
        assert!(m.text.contains("\"127.0.0.1:3000:3000\""), "{}", m.text);
        for kept in [
            "# my PDS",
            "0.4.182   # pinned",
            "PDS_EXTRA",
            "pds_gatekeeper",
        ] {
            assert!(m.text.contains(kept), "{kept}: {}", m.text);
        }
        assert!(
            !m.text.contains("network_mode: host\n    restart"),
            "{}",
            m.text
        );
    }

    #[test]
    fn a_unit_keeps_its_own_lines() {
        let fresh = "[Unit]\nDescription=Bluesky PDS Service\nRequires=docker.service\n\n[Service]\nType=oneshot\nWorkingDirectory=/pds\nExecStart=/usr/bin/docker compose --file /pds/compose.yaml up --detach\n\n[Install]\nWantedBy=default.target\n";
        let old = "[Unit]\nDescription=My PDS\nRequires=docker.service\nAfter=network-online.target\n\n[Service]\nType=oneshot\nEnvironment=HTTPS_PROXY=http://proxy:3128\nWorkingDirectory=/pds\nExecStart=/usr/bin/docker compose --file /old/compose.yaml up --detach\n\n[Install]\nWantedBy=multi-user.target\n";
        let m = unit(old, fresh);
        assert!(m.text.contains("Description=My PDS\n"), "{}", m.text);
        assert!(m.text.contains("After=network-online.target\n"));
        assert!(m.text.contains("WantedBy=multi-user.target\n"));
        assert!(m
            .text
            .contains("Environment=HTTPS_PROXY=http://proxy:3128\n"));
        assert!(m
            .text
            .contains("ExecStart=/usr/bin/docker compose --file /pds/compose.yaml up --detach\n"));
        assert_eq!(unit(&m.text, fresh).text, m.text);
    }

    #[test]
    fn a_caddyfile_serving_the_pds_is_kept_and_one_without_gets_the_site() {
        let fresh = "{\n\temail a@b.c\n\ton_demand_tls {\n\t\task http://localhost:3000/tls-check\n\t}\n}\n\n*.pds.example.com, pds.example.com {\n\ttls {\n\t\ton_demand\n\t}\n\treverse_proxy http://localhost:3000\n}\n";
        let theirs = "pds.example.com {\n\timport gatekeeper\n\treverse_proxy localhost:3000\n}\n";
        assert_eq!(
            caddyfile(theirs, fresh, "pds.example.com").unwrap().text,
            theirs
        );
        let blog = "{\n\temail me@x.y\n}\n\nblog.example.com {\n\tfile_server\n}\n";
        let m = caddyfile(blog, fresh, "pds.example.com").unwrap();
        assert!(m.text.starts_with("{\n\temail me@x.y\n\ton_demand_tls {\n\t\task http://localhost:3000/tls-check\n\t}\n}\n\nblog.example.com {\n\tfile_server\n}\n\n*.pds.example.com"), "{}", m.text);
    }
}

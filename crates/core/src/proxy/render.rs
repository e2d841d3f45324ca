//! ProxyPlan -> configuration text, through the templates in assets/proxy/ (minijinja).
//! The same plan always gives the same bytes: no dates, no maps with random order.

use super::{DidRoute, ProxyPlan, Server, SiteMode, Tls};
use minijinja::Environment;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// One file of a rendered configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RenderedFile {
    /// File name, also its name beside `--out`.
    pub name: String,
    /// Where it goes on a Debian-style server.
    pub default_path: PathBuf,
    /// What the operator does with it, in one line.
    pub purpose: String,
    pub text: String,
}

/// Paths end up unquoted inside config files: refuse anything that would end a directive.
pub fn check_path(p: &Path) -> Result<(), String> {
    let s = p.to_string_lossy();
    if !s.starts_with('/') {
        return Err(format!("{s:?} must be an absolute path"));
    }
    if let Some(c) = s
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || "\"'`;{}#$\\".contains(*c))
    {
        return Err(format!(
            "{s:?} holds {c:?}, which config files would misread"
        ));
    }
    Ok(())
}

#[derive(Serialize)]
struct View<'a> {
    version: &'static str,
    host: &'a str,
    host_shared: bool,
    /// `pds_example_com`: for names that must be unique per plan.
    host_id: String,
    upstream: String,
    upstream_url: String,
    body_limit: u64,
    body_limit_human: String,
    /// nginx `listen` arguments, without ` ssl`.
    https_listen: Vec<String>,
    http_listen: Vec<String>,
    https_port: u16,
    http_port: Option<u16>,
    listen: Option<String>,
    /// Names reaching the PDS whole (the hostname only when it is not shared).
    pds_names: Vec<String>,
    wildcards: Vec<String>,
    /// Regex for Traefik's HostRegexp, one per wildcard.
    wildcard_regexes: Vec<String>,
    tls: TlsView,
    domains: Vec<DomainView>,
    /// Every dedicated name for the plain-HTTP redirect server.
    http_names: Vec<String>,
    /// How the file is checked and loaded where it is written (the header says it).
    load: Vec<String>,
}

#[derive(Serialize)]
struct TlsView {
    mode: &'static str,
    cert: Option<String>,
    key: Option<String>,
    email: Option<String>,
    on_demand: bool,
    ask_url: String,
}

#[derive(Serialize)]
struct DomainView {
    name: String,
    id: String,
    shared: bool,
    proxied: bool,
    webroot: Option<String>,
    redirect: Option<String>,
}

fn ident(name: &str) -> String {
    name.replace(['.', '-'], "_")
}

fn listen_args(listen: Option<std::net::IpAddr>, port: u16) -> Vec<String> {
    match listen {
        None => vec![port.to_string(), format!("[::]:{port}")],
        Some(std::net::IpAddr::V6(v6)) => vec![format!("[{v6}]:{port}")],
        Some(ip) => vec![format!("{ip}:{port}")],
    }
}

fn view(plan: &ProxyPlan) -> View<'_> {
    let host = plan.host.as_str();
    let host_shared = plan.host_mode == SiteMode::Shared;
    let wildcards: Vec<String> = plan.handle_wildcards.clone();
    let mut pds_names = Vec::new();
    if !host_shared {
        pds_names.push(host.to_string());
    }
    pds_names.extend(wildcards.iter().map(|w| format!("*.{w}")));
    let domains: Vec<DomainView> = plan
        .handle_domains
        .iter()
        .map(|d| DomainView {
            name: d.name.as_str().to_string(),
            id: ident(d.name.as_str()),
            shared: d.mode == SiteMode::Shared,
            proxied: d.did_route == DidRoute::Proxied,
            webroot: match &d.did_route {
                DidRoute::File { webroot } => Some(webroot.display().to_string()),
                DidRoute::Proxied => None,
            },
            redirect: d
                .redirect_to
                .as_ref()
                .map(|did| format!("https://bsky.app/profile/{}", did.as_str())),
        })
        .collect();
    let mut http_names = pds_names.clone();
    http_names.extend(domains.iter().filter(|d| !d.shared).map(|d| d.name.clone()));
    let (cert, key) = match plan.cert_paths() {
        Some((c, k)) => (Some(c.display().to_string()), Some(k.display().to_string())),
        None => (None, None),
    };
    let email = match &plan.tls {
        Tls::Acme { email } | Tls::OnDemand { email } => email.clone(),
        _ => None,
    };
    View {
        version: env!("CARGO_PKG_VERSION"),
        host,
        host_shared,
        host_id: ident(host),
        upstream: plan.upstream.authority(),
        upstream_url: plan.upstream.url(),
        body_limit: plan.body_limit,
        body_limit_human: crate::envfile::catalogue::human_bytes(plan.body_limit),
        https_listen: listen_args(plan.listen, plan.https_port),
        http_listen: plan
            .http_port
            .map(|p| listen_args(plan.listen, p))
            .unwrap_or_default(),
        https_port: plan.https_port,
        http_port: plan.http_port,
        listen: plan.listen.map(|ip| ip.to_string()),
        wildcard_regexes: wildcards
            .iter()
            .map(|w| format!("^[a-z0-9-]+\\.{}$", w.replace('.', "\\.")))
            .collect(),
        pds_names,
        wildcards,
        tls: TlsView {
            mode: plan.tls.mode(),
            cert,
            key,
            email,
            on_demand: matches!(
                plan.tls,
                Tls::OnDemand { .. } | Tls::Internal { on_demand: true }
            ),
            ask_url: format!("{}/tls-check", plan.upstream.url()),
        },
        domains,
        http_names,
        load: Vec::new(),
    }
}

/// The templates (crate::template: one mechanism for every generated file).
fn environment() -> &'static Environment<'static> {
    crate::template::environment()
}

fn render_one(env: &Environment, template: &str, ctx: minijinja::Value) -> String {
    env.get_template(template)
        .and_then(|t| t.render(ctx))
        .unwrap_or_else(|e| panic!("template {template}: {e:#}"))
}

/// Render the plan for its server: the main file first, then (nginx) one snippet per
/// shared domain for the operator's existing server block.
pub fn render(plan: &ProxyPlan) -> Vec<RenderedFile> {
    render_to(plan, None)
}

/// The official installer's Caddy runs in a container, reading its Caddyfile from there.
const INSTALLER_CADDY_LOAD: [&str; 2] = [
    "docker exec caddy caddy validate --config /etc/caddy/Caddyfile",
    "docker exec caddy caddy reload --config /etc/caddy/Caddyfile",
];

/// `render`, for files to be written to `out`: the header and purpose name how the file
/// is loaded there (the installer's Caddyfile reloads inside its container).
pub fn render_to(plan: &ProxyPlan, out: Option<&std::path::Path>) -> Vec<RenderedFile> {
    let env = environment();
    let mut v = view(plan);
    let installer = out.is_some_and(|o| o.ends_with(super::install::INSTALLER_CADDYFILE));
    v.load = if installer {
        INSTALLER_CADDY_LOAD.map(String::from).to_vec()
    } else {
        vec!["caddy validate --config /etc/caddy/Caddyfile && systemctl reload caddy".into()]
    };
    let host = plan.host.as_str();
    match plan.server {
        Server::Nginx => {
            let mut files = vec![RenderedFile {
                name: "pds.conf".into(),
                default_path: "/etc/nginx/sites-available/pds.conf".into(),
                purpose:
                    "link into /etc/nginx/sites-enabled/, then nginx -t && systemctl reload nginx"
                        .into(),
                text: render_one(env, "nginx.conf", minijinja::Value::from_serialize(&v)),
            }];
            let mut shared: Vec<(String, minijinja::Value)> = Vec::new();
            if v.host_shared {
                shared.push((host.to_string(), minijinja::context! { site => host, pds_host => true, ..minijinja::Value::from_serialize(&v) }));
            }
            for d in v.domains.iter().filter(|d| d.shared) {
                shared.push((d.name.clone(), minijinja::context! { site => &d.name, pds_host => false, d => d, ..minijinja::Value::from_serialize(&v) }));
            }
            for (site, ctx) in shared {
                files.push(RenderedFile {
                    name: format!("pds-atproto-{site}.conf"),
                    default_path: format!("/etc/nginx/snippets/pds-atproto-{site}.conf").into(),
                    purpose: format!("include inside the existing server block for {site}"),
                    text: render_one(env, "nginx-shared.conf", ctx),
                });
            }
            files
        }
        Server::Caddy => vec![RenderedFile {
            name: "Caddyfile".into(),
            default_path: "/etc/caddy/Caddyfile".into(),
            purpose: if installer {
                INSTALLER_CADDY_LOAD.join(", then ")
            } else {
                "caddy validate --config /etc/caddy/Caddyfile, then systemctl reload caddy".into()
            },
            text: render_one(env, "Caddyfile", minijinja::Value::from_serialize(&v)),
        }],
        Server::Traefik => vec![RenderedFile {
            name: "pds.toml".into(),
            default_path: "/etc/traefik/dynamic/pds.toml".into(),
            purpose: "put where Traefik's file provider reads; Traefik picks it up by itself"
                .into(),
            text: render_one(env, "traefik.toml", minijinja::Value::from_serialize(&v)),
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envfile::Document;
    use crate::proxy::{plan_from_env, PlanAnswers};

    const ENV: &str = "PDS_HOSTNAME=pds.example.com\nPDS_PORT=3000\nPDS_BLOB_UPLOAD_LIMIT=104857600\nPDS_SERVICE_HANDLE_DOMAINS=.pds.example.com\nPDS_CONTACT_EMAIL_ADDRESS=admin@example.com\n";

    /// The representative plans the snapshots cover: (name, server, answers).
    fn plans() -> Vec<(&'static str, Server, PlanAnswers)> {
        let domains = || {
            vec![
                "alice.example.net,redirect=did:plc:ewvi7nxzyoun6zhxrhs64oiz".to_string(),
                "example.org,shared".to_string(),
                "bob.pds.example.com,proxied".to_string(),
            ]
        };
        let files = || PlanAnswers {
            tls: Some("files".into()),
            cert: Some("/etc/ssl/pds/fullchain.pem".into()),
            key: Some("/etc/ssl/pds/privkey.pem".into()),
            handle_domains: domains(),
            ..Default::default()
        };
        vec![
            ("installer", Server::Nginx, PlanAnswers::default()),
            ("installer", Server::Caddy, PlanAnswers::default()),
            ("installer", Server::Traefik, PlanAnswers::default()),
            ("domains", Server::Nginx, files()),
            ("domains", Server::Caddy, files()),
            (
                "domains",
                Server::Traefik,
                PlanAnswers {
                    handle_domains: domains(),
                    ..Default::default()
                },
            ),
            (
                "shared-host",
                Server::Nginx,
                PlanAnswers {
                    shared_host: true,
                    upstream: Some("100.101.102.103:3000".into()),
                    ..Default::default()
                },
            ),
            (
                "shared-host",
                Server::Caddy,
                PlanAnswers {
                    shared_host: true,
                    tls: Some("acme".into()),
                    listen: Some("127.0.0.1".into()),
                    https_port: Some(8443),
                    http_port: Some(None),
                    ..Default::default()
                },
            ),
            (
                "shared-host",
                Server::Traefik,
                PlanAnswers {
                    shared_host: true,
                    ..Default::default()
                },
            ),
        ]
    }

    #[test]
    fn snapshots_of_representative_plans() {
        let doc = Document::parse(ENV);
        for (name, server, answers) in plans() {
            let plan = plan_from_env(server, &doc, &answers).unwrap();
            let files = render(&plan);
            let mut all = String::new();
            for f in &files {
                all.push_str(&format!("==> {} ({})\n{}", f.name, f.purpose, f.text));
            }
            // Same plan, same bytes.
            assert_eq!(render(&plan), files);
            insta::assert_snapshot!(format!("{server}-{name}"), all);
        }
    }
}

#[cfg(test)]
mod traefik_tests {
    use super::*;
    use crate::envfile::Document;
    use crate::proxy::{plan_from_env, PlanAnswers};

    /// The Traefik file is TOML with the routers, rules and service a plan asks for.
    #[test]
    fn traefik_file_parses_with_the_expected_routers() {
        let doc = Document::parse("PDS_HOSTNAME=pds.example.com\nPDS_SERVICE_HANDLE_DOMAINS=.pds.example.com\nPDS_PORT=2583\n");
        let answers = PlanAnswers {
            shared_host: true,
            handle_domains: vec![
                "bob.pds.example.com,proxied".into(),
                "alice.example.net,redirect=did:plc:ewvi7nxzyoun6zhxrhs64oiz".into(),
            ],
            ..Default::default()
        };
        let plan = plan_from_env(Server::Traefik, &doc, &answers).unwrap();
        let text = &render(&plan)[0].text;
        let v: toml::Value = toml::from_str(text).expect("valid TOML");
        let routers = v["http"]["routers"].as_table().unwrap();
        let mut names: Vec<&str> = routers.keys().map(String::as_str).collect();
        names.sort();
        assert_eq!(
            names,
            [
                "did_bob_pds_example_com",
                "home_alice_example_net",
                "pds_pds_example_com",
                "pds_pds_example_com_atproto"
            ]
        );
        let rule = |n: &str| routers[n]["rule"].as_str().unwrap().to_string();
        // The wildcard as a v3 regular expression, dots escaped once TOML is read.
        assert_eq!(
            rule("pds_pds_example_com"),
            r"HostRegexp(`^[a-z0-9-]+\.pds\.example\.com$`)"
        );
        for path in [
            "PathPrefix(`/xrpc/`)",
            "Path(`/.well-known/oauth-protected-resource`)",
            "Path(`/.well-known/oauth-authorization-server`)",
            "PathPrefix(`/oauth/`)",
            "PathPrefix(`/@atproto/`)",
            "Path(`/.well-known/atproto-did`)",
        ] {
            assert!(rule("pds_pds_example_com_atproto").contains(path), "{path}");
        }
        assert!(routers
            .values()
            .all(|r| r["entryPoints"][0].as_str() == Some("websecure")));
        assert_eq!(
            v["http"]["services"]["pds_pds_example_com"]["loadBalancer"]["servers"][0]["url"]
                .as_str(),
            Some("http://127.0.0.1:2583")
        );
        assert_eq!(
            v["http"]["middlewares"]["home_alice_example_net"]["redirectRegex"]["replacement"]
                .as_str(),
            Some("https://bsky.app/profile/did:plc:ewvi7nxzyoun6zhxrhs64oiz")
        );
    }
}

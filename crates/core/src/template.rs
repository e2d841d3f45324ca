//! Every file the wizard generates comes from one mechanism: minijinja templates under
//! `assets/` (the reverse proxies', the installer's compose.yaml, unit and Caddyfile),
//! parsed once, with the quoting each format needs as filters, so a value never breaks
//! out of its place (a path with a space or a `#` in compose.yaml, a `%` in a unit).

use minijinja::{Environment, Value};

/// The templates, parsed once (the wizard re-renders on every answer).
pub fn environment() -> &'static Environment<'static> {
    static ENV: std::sync::OnceLock<Environment<'static>> = std::sync::OnceLock::new();
    ENV.get_or_init(build)
}

/// Render the bundled template `name` with `ctx`.
pub fn render(name: &str, ctx: Value) -> String {
    environment()
        .get_template(name)
        .and_then(|t| t.render(ctx))
        .unwrap_or_else(|e| panic!("template {name}: {e:#}"))
}

fn build() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_keep_trailing_newline(true);
    env.add_filter("yaml", yaml);
    env.add_filter("yaml_quoted", yaml_quoted);
    env.add_filter("systemd", systemd);
    env.add_filter("systemd_path", systemd_path);
    env.add_filter("nft_string", nft_string);
    for (name, text) in [
        (
            "nginx.conf",
            include_str!("../../../assets/proxy/nginx.conf.j2"),
        ),
        (
            "nginx-shared.conf",
            include_str!("../../../assets/proxy/nginx-shared.conf.j2"),
        ),
        (
            "nginx-macros",
            include_str!("../../../assets/proxy/nginx-macros.j2"),
        ),
        (
            "Caddyfile",
            include_str!("../../../assets/proxy/Caddyfile.j2"),
        ),
        (
            "traefik.toml",
            include_str!("../../../assets/proxy/traefik.toml.j2"),
        ),
        (
            "service/compose.yaml",
            include_str!("../../../assets/service/compose.yaml.j2"),
        ),
        (
            "service/pds.service",
            include_str!("../../../assets/service/pds.service.j2"),
        ),
        (
            "service/Caddyfile",
            include_str!("../../../assets/service/Caddyfile.j2"),
        ),
        (
            "service/pds-wizard.nft",
            include_str!("../../../assets/service/pds-wizard.nft.j2"),
        ),
    ] {
        env.add_template(name, text)
            .expect("the bundled templates parse (a unit test renders each)");
    }
    env
}

/// A YAML scalar: as it is when YAML reads it back as the same string (a path, an image
/// name), else double-quoted (JSON's quoting is YAML's).
fn yaml(value: String) -> String {
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./:@+=-".contains(c))
        && value
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '/' || c == '.')
        && !value.ends_with(':')
        && !matches!(
            value.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "y" | "n"
        )
        && value.parse::<f64>().is_err();
    if plain {
        value
    } else {
        yaml_quoted(value)
    }
}

/// A YAML scalar, always double-quoted.
fn yaml_quoted(value: String) -> String {
    serde_json::to_string(&value).expect("a string serializes")
}

/// One argument of a systemd command line (`ExecStart=`): `%` and `$` escaped (systemd
/// expands both), double-quoted when it holds a blank, a quote or a backslash.
fn systemd(value: String) -> String {
    let escaped = value.replace('%', "%%").replace('$', "$$");
    if escaped.is_empty()
        || escaped
            .chars()
            .any(|c| c.is_whitespace() || c == '"' || c == '\'' || c == '\\' || c == ';')
    {
        format!("\"{}\"", escaped.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        escaped
    }
}

/// An nftables quoted string (an interface name): what it cannot hold is left out.
fn nft_string(value: String) -> String {
    let kept: String = value
        .chars()
        .filter(|c| c.is_ascii_graphic() && *c != '"' && *c != '\\')
        .collect();
    format!("\"{kept}\"")
}

/// A path setting of a unit (`WorkingDirectory=`): taken whole, so no quotes; `%`
/// escaped (systemd expands specifiers in it).
fn systemd_path(value: String) -> String {
    value.replace('%', "%%")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_keep_their_place() {
        // As the installer writes them: untouched.
        assert_eq!(yaml("/pds/caddy/data".into()), "/pds/caddy/data");
        assert_eq!(
            yaml("ghcr.io/bluesky-social/pds:0.4".into()),
            "ghcr.io/bluesky-social/pds:0.4"
        );
        // What YAML would read otherwise: quoted.
        assert_eq!(yaml("/srv/my pds".into()), "\"/srv/my pds\"");
        assert_eq!(yaml("/srv/pds #1".into()), "\"/srv/pds #1\"");
        assert_eq!(yaml("yes".into()), "\"yes\"");
        assert_eq!(yaml("3000".into()), "\"3000\"");
        assert_eq!(yaml("- x".into()), "\"- x\"");
        assert_eq!(
            yaml_quoted("127.0.0.1:3000:3000".into()),
            "\"127.0.0.1:3000:3000\""
        );
        assert_eq!(systemd("/usr/bin/docker".into()), "/usr/bin/docker");
        assert_eq!(
            systemd("/srv/my pds/compose.yaml".into()),
            "\"/srv/my pds/compose.yaml\""
        );
        assert_eq!(systemd("/srv/100%".into()), "/srv/100%%");
        assert_eq!(systemd("a\"b".into()), "\"a\\\"b\"");
        assert_eq!(systemd_path("/srv/my pds".into()), "/srv/my pds");
        assert_eq!(nft_string("tailscale0".into()), "\"tailscale0\"");
        assert_eq!(nft_string("eth0\" accept".into()), "\"eth0accept\"");
    }

    #[test]
    fn every_template_parses() {
        for name in [
            "nginx.conf",
            "nginx-shared.conf",
            "nginx-macros",
            "Caddyfile",
            "traefik.toml",
            "service/compose.yaml",
            "service/pds.service",
            "service/Caddyfile",
            "service/pds-wizard.nft",
        ] {
            assert!(environment().get_template(name).is_ok(), "{name}");
        }
    }
}

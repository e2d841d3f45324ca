//! Putting rendered files in place: the diff against what is there first, then the one
//! safe-write path (temp file, fsync, rename, backup). Reloading is a separate, explicit step.

use super::render::RenderedFile;
use super::Server;
use crate::envfile::display::changed_lines;
use crate::fsutil::{safe_write, SaveReport, WriteOptions};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Where one rendered file would go, and what would change there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Placement {
    pub name: String,
    pub path: PathBuf,
    pub existed: bool,
    /// `-`/`+` lines against the file there now (every line is `+` for a new file).
    pub diff: Vec<String>,
}

impl Placement {
    pub fn changed(&self) -> bool {
        !self.diff.is_empty()
    }
}

/// The main file goes to `out`; snippets beside it, under their own names. `out` is taken
/// as the write will take it (see `fsutil`): a link there is refused with its target named
/// (a sites-enabled link: give the sites-available file it points to), a directory others
/// can change too.
pub fn placements(files: &[RenderedFile], out: &Path) -> Result<Vec<Placement>, String> {
    let main = crate::fsutil::resolve(out, crate::fsutil::Links::Refuse)
        .map_err(|e| e.to_string())?
        .path();
    let dir = main.parent().unwrap_or(Path::new("/")).to_path_buf();
    if dir.file_name().is_some_and(|n| n == "sites-enabled") {
        // nginx loads every file there, so the backup would be loaded too: two upstreams
        // of one name, and nginx refuses to start.
        return Err(format!(
            "{} is in sites-enabled, where nginx would also load the backup copies: write it to sites-available and link it (ln -s ../sites-available/{n} /etc/nginx/sites-enabled/{n})",
            main.display(),
            n = main.file_name().unwrap_or_default().to_string_lossy()
        ));
    }
    files
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let path = if i == 0 {
                main.clone()
            } else {
                dir.join(&f.name)
            };
            let old = match std::fs::read_to_string(&path) {
                Ok(t) => Some(t),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
            };
            Ok(Placement {
                name: f.name.clone(),
                existed: old.is_some(),
                diff: changed_lines(old.as_deref().unwrap_or(""), &f.text),
                path,
            })
        })
        .collect()
}

/// Write every changed file (unchanged ones are left alone, with no backup).
pub fn write(files: &[RenderedFile], places: &[Placement]) -> Result<Vec<SaveReport>, String> {
    let mut done = Vec::new();
    for (f, p) in files.iter().zip(places) {
        if !p.changed() {
            continue;
        }
        let opts = WriteOptions::file(0o644, 10);
        done.push(safe_write(&p.path, f.text.as_bytes(), opts).map_err(|e| e.to_string())?);
    }
    Ok(done)
}

/// The command that makes the server load what was written; None when it reloads by itself.
pub fn reload_command(server: Server) -> Option<Vec<String>> {
    match server {
        Server::Nginx => Some(
            ["sh", "-c", "nginx -t && systemctl reload nginx"]
                .map(String::from)
                .to_vec(),
        ),
        Server::Caddy => Some(["systemctl", "reload", "caddy"].map(String::from).to_vec()),
        // The file provider watches its file.
        Server::Traefik => None,
    }
}

pub fn reload_hint(server: Server) -> String {
    match reload_command(server) {
        Some(c) if c[0] == "sh" => c[2].clone(),
        Some(c) => c.join(" "),
        None => "nothing to do: Traefik's file provider picks the change up by itself".into(),
    }
}

/// nginx's Debian layout: a site written into `sites-available` is read only once linked
/// from `sites-enabled`. The link to make (link path, relative target), when the file is
/// in such a directory and not linked yet.
pub fn site_link(written: &Path) -> Option<(PathBuf, PathBuf)> {
    let dir = written.parent()?;
    if dir.file_name()? != "sites-available" {
        return None;
    }
    let enabled = dir.parent()?.join("sites-enabled");
    let name = written.file_name()?;
    let link = enabled.join(name);
    (enabled.is_dir() && std::fs::symlink_metadata(&link).is_err())
        .then(|| (link, Path::new("../sites-available").join(name)))
}

/// Make the link `site_link` names.
pub fn enable_site(link: &Path, target: &Path) -> Result<(), String> {
    crate::fsutil::check_confined(link).map_err(|e| e.to_string())?;
    std::os::unix::fs::symlink(target, link)
        .map_err(|e| format!("cannot link {} → {}: {e}", link.display(), target.display()))
}

/// The official install's Caddy: a `caddy` service in the compose.yaml in `data_dir`. Its
/// configuration on this machine (bind-mounted into the container as /etc/caddy).
pub fn installer_caddy(data_dir: &Path) -> Option<PathBuf> {
    let compose = std::fs::read_to_string(data_dir.join("compose.yaml")).ok()?;
    compose
        .lines()
        .any(|l| {
            let v = l.trim().trim_start_matches("image:").trim();
            l.trim().starts_with("image:") && (v == "caddy" || v.starts_with("caddy:"))
        })
        .then(|| data_dir.join(INSTALLER_CADDYFILE))
}

/// The web server already serving this machine's ports 80 and 443: the one a proxy config
/// should be written for, since another would not be served beside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Present {
    pub server: Server,
    /// How it was found, for the operator ("the official installer's compose.yaml in /pds
    /// runs Caddy", "nginx listens on port 443").
    pub how: String,
    /// The Caddyfile it reads, when that is known (the installer's).
    pub caddyfile: Option<PathBuf>,
}

/// What serves 80/443 here: the installer's Caddy in the compose.yaml of `data_dir` first
/// (it may be stopped for now, and is still what the server will run), then the process
/// holding port 443 or 80 when it is caddy, nginx or traefik. `look_at_ports` is off in the
/// demo, whose world is its sandbox, not this machine.
pub fn present(data_dir: Option<&Path>, look_at_ports: bool) -> Option<Present> {
    if let Some((dir, file)) = data_dir.and_then(|d| installer_caddy(d).map(|f| (d, f))) {
        return Some(Present {
            server: Server::Caddy,
            how: format!(
                "the official installer's compose.yaml in {} runs Caddy",
                dir.display()
            ),
            caddyfile: Some(file),
        });
    }
    if !look_at_ports {
        return None;
    }
    [443, 80].into_iter().find_map(|port| {
        crate::pds::sockets::holders(port)
            .into_iter()
            .find_map(|(_, name)| {
                let name = name?;
                let server = match name.as_str() {
                    "caddy" => Server::Caddy,
                    "nginx" => Server::Nginx,
                    "traefik" => Server::Traefik,
                    _ => return None,
                };
                Some(Present {
                    server,
                    how: format!("{name} listens on port {port}"),
                    caddyfile: None,
                })
            })
    })
}

impl Present {
    /// A config rendered for another server than the one serving 80/443 would not be
    /// served: say so, and how to render for the one that runs.
    pub fn mismatch(&self, chosen: Server) -> Option<crate::finding::Finding> {
        if chosen == self.server {
            return None;
        }
        let out = self
            .caddyfile
            .as_ref()
            .map(|c| format!(" --out {}", c.display()))
            .unwrap_or_default();
        Some(
            crate::finding::Finding::warn(format!(
                "{} already serves this machine ({}): a {} config would not be served beside it",
                capitalised(self.server),
                self.how,
                chosen.name()
            ))
            .fix(format!(
                "render for it: pds-wizard proxy render {}{out} (or stop {} first, if {} is to replace it)",
                self.server.name(),
                capitalised(self.server),
                chosen.name()
            ))
            .target(crate::target::Target::Proxy(crate::target::ProxyField::Server)),
        )
    }
}

fn capitalised(s: Server) -> &'static str {
    match s {
        Server::Nginx => "nginx",
        Server::Caddy => "Caddy",
        Server::Traefik => "Traefik",
    }
}

/// Where the installer puts its Caddyfile, under the data directory.
pub const INSTALLER_CADDYFILE: &str = "caddy/etc/caddy/Caddyfile";

/// The command that loads what was written to `out`: the installer's Caddy reloads inside
/// its container; anything else as `reload_command` says.
pub fn reload_command_for(server: Server, out: &Path) -> Option<Vec<String>> {
    if server == Server::Caddy && out.ends_with(INSTALLER_CADDYFILE) {
        return Some(
            [
                "docker",
                "exec",
                "caddy",
                "caddy",
                "reload",
                "--config",
                "/etc/caddy/Caddyfile",
            ]
            .map(String::from)
            .to_vec(),
        );
    }
    reload_command(server)
}

/// `reload_hint` for a file written to `out`.
pub fn reload_hint_for(server: Server, out: &Path) -> String {
    match reload_command_for(server, out) {
        Some(c) if c[0] == "docker" => format!("sudo {}", c.join(" ")),
        _ => reload_hint(server),
    }
}

#[cfg(test)]
mod installer_caddy_tests {
    use super::*;

    #[test]
    fn the_installers_caddy_is_found_and_reloaded_in_its_container() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(installer_caddy(d.path()), None);
        std::fs::write(
            d.path().join("compose.yaml"),
            "services:\n  caddy:\n    image: caddy:2\n  pds:\n    image: ghcr.io/bluesky-social/pds:0.4\n",
        )
        .unwrap();
        let file = installer_caddy(d.path()).unwrap();
        assert!(file.ends_with("caddy/etc/caddy/Caddyfile"));
        assert_eq!(
            reload_hint_for(Server::Caddy, &file),
            "sudo docker exec caddy caddy reload --config /etc/caddy/Caddyfile"
        );
        assert_eq!(
            reload_hint_for(Server::Caddy, Path::new("/etc/caddy/Caddyfile")),
            reload_hint(Server::Caddy)
        );
        // Without Caddy (the wizard's own-proxy compose.yaml): none.
        std::fs::write(
            d.path().join("compose.yaml"),
            "services:\n  pds:\n    image: ghcr.io/bluesky-social/pds:0.4\n",
        )
        .unwrap();
        assert_eq!(installer_caddy(d.path()), None);
    }
}

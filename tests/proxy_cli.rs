//! `pds-wizard proxy render|validate` as an operator runs them: printing, diffing, writing
//! with backups, refusing what would break a server, and each server's own validator.

mod common;

use common::{output_text, run_cli};
use serde_json::Value;
use std::path::Path;

const ENV: &str = "PDS_HOSTNAME=pds.example.com\nPDS_PORT=3000\nPDS_BLOB_UPLOAD_LIMIT=104857600\nPDS_SERVICE_HANDLE_DOMAINS=.pds.example.com\nPDS_CONTACT_EMAIL_ADDRESS=admin@example.com\n";

fn setup() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join("pds.env");
    std::fs::write(&env, ENV).unwrap();
    (dir, env)
}

fn backups(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains(".bak-")
        })
        .count()
}

#[test]
fn render_prints_a_validated_config() {
    let (_d, env) = setup();
    let o = run_cli(&env, &["proxy", "render", "caddy"], "");
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert!(o.status.success(), "{err}");
    assert!(
        out.starts_with("# Caddyfile for the ATProto PDS at pds.example.com"),
        "{out}"
    );
    assert!(
        out.contains("pds.example.com, *.pds.example.com {")
            && out.contains("ask http://127.0.0.1:3000/tls-check")
    );
    // Findings and the validator's verdict go to stderr, so stdout can be redirected.
    assert!(
        err.contains("[pass] caddy: Caddy accepts the configuration"),
        "{err}"
    );
    assert!(!out.contains("[pass]"));
}

#[test]
fn bad_answers_are_all_reported_and_nothing_is_rendered() {
    let (_d, env) = setup();
    let o = run_cli(
        &env,
        &[
            "proxy",
            "render",
            "nginx",
            "--upstream",
            "nowhere",
            "--tls",
            "files",
            "--handle-domain",
            "alice.example.net,loud",
        ],
        "",
    );
    assert_eq!(o.status.code(), Some(2));
    let t = output_text(&o);
    for want in ["upstream", "--cert", "unknown option \"loud\""] {
        assert!(t.contains(want), "{want}: {t}");
    }
    assert!(o.stdout.is_empty());
    let o = run_cli(&env, &["proxy", "render", "apache"], "");
    assert_eq!(o.status.code(), Some(2));
    assert!(output_text(&o).contains("nginx, caddy or traefik"));
}

#[test]
fn out_shows_the_diff_writes_with_a_backup_and_refuses_links() {
    let (d, env) = setup();
    let avail = d.path().join("sites-available");
    let enabled = d.path().join("sites-enabled");
    std::fs::create_dir_all(&avail).unwrap();
    std::fs::create_dir_all(&enabled).unwrap();
    let conf = avail.join("pds.conf");
    let p = conf.to_str().unwrap();

    // Dry run: the whole file as additions, nothing written.
    let o = run_cli(
        &env,
        &["proxy", "render", "nginx", "--out", p, "--dry-run"],
        "",
    );
    let t = output_text(&o);
    assert!(o.status.success(), "{t}");
    assert!(
        t.contains("(new file)") && t.contains("+   1 # Reverse proxy") && t.contains("dry run"),
        "{t}"
    );
    assert!(!conf.exists());

    // Written, 0644, with the reload command offered (never run).
    let o = run_cli(&env, &["proxy", "render", "nginx", "--out", p], "");
    let t = output_text(&o);
    assert!(o.status.success(), "{t}");
    assert!(
        t.contains("To load it: nginx -t && systemctl reload nginx"),
        "{t}"
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&conf).unwrap().permissions().mode() & 0o777,
        0o644
    );
    assert_eq!(backups(&avail), 0);

    // The same again: no change, no backup.
    let o = run_cli(&env, &["proxy", "render", "nginx", "--out", p], "");
    assert!(output_text(&o).contains("no change"));
    assert_eq!(backups(&avail), 0);

    // Through the sites-enabled link: refused (pds-wizard follows no link but pds.env's and
    // the answers file's), naming the file it points to; nothing changes.
    let link = enabled.join("pds.conf");
    std::os::unix::fs::symlink(&conf, &link).unwrap();
    let render = |out: &Path| {
        run_cli(
            &env,
            &[
                "proxy",
                "render",
                "nginx",
                "--upstream",
                "127.0.0.1:2583",
                "--out",
                out.to_str().unwrap(),
            ],
            "",
        )
    };
    let o = render(&link);
    let t = output_text(&o);
    assert!(!o.status.success(), "{t}");
    assert!(
        t.contains(&format!("is a symbolic link (to {})", conf.display())),
        "{t}"
    );
    assert!(!std::fs::read_to_string(&conf)
        .unwrap()
        .contains("server 127.0.0.1:2583;"));
    // The file it names: written, the link still a link, the old version kept beside the
    // file (not in sites-enabled, where nginx would load it).
    let o = render(&conf);
    let t = output_text(&o);
    assert!(o.status.success(), "{t}");
    assert!(
        t.contains("-  ") && t.contains("server 127.0.0.1:2583;"),
        "{t}"
    );
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(std::fs::read_to_string(&conf)
        .unwrap()
        .contains("server 127.0.0.1:2583;"));
    assert_eq!(backups(&avail), 1);
    assert_eq!(backups(&enabled), 0);

    // A plain file in sites-enabled is refused, with the way to do it instead.
    let o = run_cli(
        &env,
        &[
            "proxy",
            "render",
            "nginx",
            "--out",
            enabled.join("other.conf").to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(output_text(&o).contains("write it to sites-available and link it"));
    // A directory that does not exist is named.
    let o = run_cli(
        &env,
        &[
            "proxy",
            "render",
            "nginx",
            "--out",
            d.path().join("nope/pds.conf").to_str().unwrap(),
        ],
        "",
    );
    assert!(output_text(&o).contains("does not exist"));
}

#[test]
fn a_plan_that_cannot_work_is_not_written_without_force() {
    let (d, env) = setup();
    let out = d.path().join("pds.conf");
    let o = run_cli(
        &env,
        &[
            "proxy",
            "render",
            "nginx",
            "--tls",
            "acme",
            "--out",
            out.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(o.status.code(), Some(1));
    let t = output_text(&o);
    assert!(
        t.contains("nginx cannot get certificates itself") && t.contains("Nothing written"),
        "{t}"
    );
    assert!(!out.exists());
}

#[test]
fn json_output_carries_plan_findings_validation_and_files() {
    let (_d, env) = setup();
    let o = run_cli(
        &env,
        &[
            "--json",
            "proxy",
            "render",
            "nginx",
            "--shared-host",
            "--handle-domain",
            "alice.example.net,redirect=did:plc:ewvi7nxzyoun6zhxrhs64oiz",
        ],
        "",
    );
    assert!(o.status.success(), "{}", output_text(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["plan"]["host"], "pds.example.com");
    assert_eq!(v["plan"]["host_mode"], "shared");
    assert_eq!(v["plan"]["handle_domains"][0]["did_route"]["route"], "file");
    assert_eq!(v["validation"]["finding"]["level"], "pass", "{v:#}");
    let names: Vec<&str> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["pds.conf", "pds-atproto-pds.example.com.conf"]);
    let snippet = v["files"][1]["text"].as_str().unwrap();
    for path in [
        "/xrpc/",
        "= /.well-known/oauth-protected-resource",
        "= /.well-known/oauth-authorization-server",
        "/oauth/",
        "/@atproto/",
    ] {
        assert!(snippet.contains(&format!("location {path}")), "{path}");
    }
}

#[test]
fn validate_runs_each_servers_own_check() {
    let (d, env) = setup();
    // nginx: a broken directive is named with its line.
    let bad = d.path().join("bad.conf");
    std::fs::write(&bad, "server {\n    listen 8443;\n    server_name x.example.com;\n    proxy_pas http://127.0.0.1:3000;\n}\n").unwrap();
    let o = run_cli(&env, &["proxy", "validate", bad.to_str().unwrap()], "");
    let t = output_text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(
        t.contains("nginx refuses it")
            && t.contains("unknown directive \"proxy_pas\"")
            && t.contains(":4"),
        "{t}"
    );
    // A whole nginx.conf is checked as it is.
    let good = d.path().join("nginx.conf");
    std::fs::write(&good, format!("pid {0}/n.pid;\nerror_log stderr;\nevents {{}}\nhttp {{\n  client_body_temp_path {0}/b;\n  proxy_temp_path {0}/p;\n  fastcgi_temp_path {0}/f;\n  uwsgi_temp_path {0}/u;\n  scgi_temp_path {0}/s;\n  access_log off;\n  server {{ listen 127.0.0.1:9; return 204; }}\n}}\n", d.path().display())).unwrap();
    let o = run_cli(&env, &["proxy", "validate", good.to_str().unwrap()], "");
    assert!(o.status.success(), "{}", output_text(&o));

    // Caddy, guessed from the file name.
    let caddyfile = d.path().join("Caddyfile");
    std::fs::write(
        &caddyfile,
        "x.example.com {\n\treverse_proxy 127.0.0.1:3000 {\n\t\tflush_interval nope\n\t}\n}\n",
    )
    .unwrap();
    let o = run_cli(
        &env,
        &["proxy", "validate", caddyfile.to_str().unwrap()],
        "",
    );
    let t = output_text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(t.contains("Caddy refuses it") && t.contains("nope"), "{t}");

    // Traefik (when installed): a router pointing at a missing service is disabled.
    if pds_wizard::fsutil::find_tool("traefik").is_some() {
        let t_file = d.path().join("dyn.toml");
        std::fs::write(
            &t_file,
            "[http.routers.x]\n  rule = \"Host(`x.example.com`)\"\n  service = \"missing\"\n",
        )
        .unwrap();
        let o = run_cli(&env, &["proxy", "validate", t_file.to_str().unwrap()], "");
        let t = output_text(&o);
        assert_eq!(o.status.code(), Some(1), "{t}");
        assert!(
            t.contains("Traefik disables 1 of 1 routers") && t.contains("missing"),
            "{t}"
        );
    }

    // Unknown kind of file: asks for --server.
    let odd = d.path().join("odd.txt");
    std::fs::write(&odd, "hello\n").unwrap();
    let o = run_cli(&env, &["proxy", "validate", odd.to_str().unwrap()], "");
    assert_eq!(o.status.code(), Some(2));
    assert!(output_text(&o).contains("--server"));
}

#[test]
fn two_pdses_fit_in_one_nginx() {
    let (d, env) = setup();
    let mut includes = String::new();
    for host in ["pds.example.com", "pds.example.org"] {
        let out = d.path().join(format!("{host}.conf"));
        let o = run_cli(
            &env,
            &[
                "proxy",
                "render",
                "nginx",
                "--host",
                host,
                "--upstream",
                "127.0.0.1:3001",
                "--out",
                out.to_str().unwrap(),
            ],
            "",
        );
        assert!(o.status.success(), "{}", output_text(&o));
        includes.push_str(&format!("  include {};\n", out.display()));
    }
    let conf = d.path().join("nginx.conf");
    std::fs::write(&conf, format!("pid {0}/n.pid;\nerror_log stderr;\nevents {{}}\nhttp {{\n  client_body_temp_path {0}/b;\n  proxy_temp_path {0}/p;\n  fastcgi_temp_path {0}/f;\n  uwsgi_temp_path {0}/u;\n  scgi_temp_path {0}/s;\n{includes}}}\n", d.path().display())).unwrap();
    // The certbot paths do not exist here: the check must get as far as them, no further
    // complaint (no duplicate map, upstream or server names).
    let o = run_cli(&env, &["proxy", "validate", conf.to_str().unwrap()], "");
    let t = output_text(&o);
    assert!(
        !t.contains("duplicate") && !t.contains("conflicting"),
        "{t}"
    );
    assert!(
        t.contains("cannot load certificate \"/etc/letsencrypt/live/pds.example."),
        "{t}"
    );
}

/// `apply --answers FILE` with a short timeout (the doctor it ends with has no lab here).
fn apply(env: &Path, answers: &Path) -> std::process::Output {
    run_cli(
        env,
        &[
            "--timeout",
            "2",
            "apply",
            "--answers",
            answers.to_str().unwrap(),
        ],
        "",
    )
}

/// The official install's layout around `env`: compose.yaml running Caddy, and its
/// Caddyfile (email and on-demand TLS, the public site); returns the Caddyfile's path.
fn installer_layout(dir: &Path) -> std::path::PathBuf {
    std::fs::write(
        dir.join("compose.yaml"),
        "services:\n  caddy:\n    image: caddy:2\n  pds:\n    image: ghcr.io/bluesky-social/pds:0.4\n",
    )
    .unwrap();
    let caddy = dir.join("caddy/etc/caddy");
    std::fs::create_dir_all(&caddy).unwrap();
    let file = caddy.join("Caddyfile");
    std::fs::write(&file, INSTALLER_CADDYFILE).unwrap();
    file
}

const INSTALLER_CADDYFILE: &str = "{\n\temail admin@example.com\n\ton_demand_tls {\n\t\task http://localhost:3000/tls-check\n\t}\n}\n\n*.pds.example.com, pds.example.com {\n\ttls {\n\t\ton_demand\n\t}\n\treverse_proxy http://localhost:3000\n}\n";

const SIDE: [&str; 6] = [
    "proxy",
    "pds-side",
    "--front-address",
    "100.64.0.1",
    "--pds-address",
    "100.101.102.103",
];

/// The PDS machine's side through the installer's Caddy: shown first, asked for (a
/// script must say --yes), checked by Caddy, written with a backup and reloaded; pds.env
/// lists the front; again, nothing changes.
#[test]
fn pds_side_through_caddy_edits_the_installers_caddyfile() {
    let (dir, env) = setup();
    let caddyfile = installer_layout(dir.path());
    let flag = dir.path().join("reloaded");
    let reload = format!("touch {}", flag.display());
    let side = |extra: &[&str]| {
        let mut args = SIDE.to_vec();
        args.extend_from_slice(&["--via", "caddy", "--reload-command", &reload]);
        args.extend_from_slice(extra);
        run_cli(&env, &args, "")
    };
    // Not on a terminal and no --yes: shown, not made.
    let out = side(&[]);
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("give --yes"), "{text}");
    assert!(
        text.contains("+") && text.contains("bind 100.101.102.103"),
        "{text}"
    );
    assert!(
        text.contains("100.101.102.103 is not an address of this machine"),
        "{text}"
    );
    assert_eq!(
        std::fs::read_to_string(&caddyfile).unwrap(),
        INSTALLER_CADDYFILE
    );
    assert_eq!(std::fs::read_to_string(&env).unwrap(), ENV);
    // --dry-run: the same, exit 0.
    let out = side(&["--dry-run"]);
    assert!(out.status.success(), "{}", output_text(&out));
    assert!(output_text(&out).contains("(dry run: nothing changed)"));
    assert_eq!(
        std::fs::read_to_string(&caddyfile).unwrap(),
        INSTALLER_CADDYFILE
    );
    // --yes: made.
    let out = side(&["--yes"]);
    let text = output_text(&out);
    assert!(out.status.success(), "{text}");
    let edited = std::fs::read_to_string(&caddyfile).unwrap();
    assert!(
        edited.starts_with("{\n\temail admin@example.com\n"),
        "{edited}"
    );
    assert!(
        edited.contains("trusted_proxies 100.64.0.1\n") && !edited.contains("on_demand\n"),
        "{edited}"
    );
    assert_eq!(backups(caddyfile.parent().unwrap()), 1);
    assert!(flag.exists(), "Caddy reloaded: {text}");
    assert!(
        text.contains("Caddy reloaded") && text.contains("Restart the PDS"),
        "{text}"
    );
    let e = std::fs::read_to_string(&env).unwrap();
    assert!(
        e.starts_with(ENV) && e.ends_with("PDS_RATE_LIMIT_BYPASS_IPS=100.64.0.1\n"),
        "{e}"
    );
    // The rules, both ways, for the operator to apply.
    assert!(
        text.contains("tcp dport { 80, 3000 } drop") && text.contains("ufw deny 3000/tcp"),
        "{text}"
    );
    // Again: nothing to write, nothing reloaded.
    std::fs::remove_file(&flag).unwrap();
    let out = side(&["--yes"]);
    let text = output_text(&out);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("Caddyfile: no change") && text.contains("lists 100.64.0.1 already"),
        "{text}"
    );
    assert!(!flag.exists());
    assert_eq!(std::fs::read_to_string(&caddyfile).unwrap(), edited);
}

/// Wrong input is said with the flag, and nothing changes; a Caddyfile Caddy refuses is
/// not written.
#[test]
fn pds_side_refuses_what_cannot_work() {
    let (dir, env) = setup();
    let run = |args: &[&str]| {
        let mut all = vec!["proxy", "pds-side"];
        all.extend_from_slice(args);
        run_cli(&env, &all, "")
    };
    let out = run(&[
        "--front-address",
        "100.64.0.0/10",
        "--pds-address",
        "100.101.102.103",
        "--yes",
    ]);
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("--front-address") && text.contains("not a range"),
        "{text}"
    );
    // An empty front is no front (not a crash).
    let out = run(&[
        "--front-address",
        "",
        "--pds-address",
        "100.101.102.103",
        "--yes",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", output_text(&out));
    assert!(
        output_text(&out).contains("--front-address"),
        "{}",
        output_text(&out)
    );
    let out = run(&[&SIDE[2..], &["--via", "haproxy", "--yes"][..]].concat());
    assert!(output_text(&out).contains("--via"), "{}", output_text(&out));
    // Through Caddy with no Caddyfile to edit.
    let out = run(&[&SIDE[2..], &["--via", "caddy", "--yes"][..]].concat());
    assert_ne!(out.status.code(), Some(0));
    assert!(
        output_text(&out).contains("--caddyfile"),
        "{}",
        output_text(&out)
    );
    assert_eq!(std::fs::read_to_string(&env).unwrap(), ENV);
    // A Caddyfile with a mistake of its own: Caddy cannot read it, so the edit cannot be
    // compared with it; nothing is written.
    let caddyfile = installer_layout(dir.path());
    let broken = format!("{INSTALLER_CADDYFILE}\nblog.example.com {{\n\tno_such_directive\n}}\n");
    std::fs::write(&caddyfile, &broken).unwrap();
    let out = run(&[
        &SIDE[2..],
        &["--via", "caddy", "--reload-command", "true", "--yes"][..],
    ]
    .concat());
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("cannot read the Caddyfile as it is")
            && text.contains("unrecognized directive: no_such_directive")
            && text.contains("nothing was changed"),
        "{text}"
    );
    assert_eq!(std::fs::read_to_string(&caddyfile).unwrap(), broken);
    assert_eq!(std::fs::read_to_string(&env).unwrap(), ENV);
}

/// A fleet's two answers files: the front's [proxy] renders for the PDS elsewhere, the PDS
/// machine's [pds_side] is applied like `proxy pds-side --yes`; a bad [pds_side] stops
/// everything before the first write.
#[test]
fn answers_files_for_both_machines() {
    let (dir, env) = setup();
    let caddyfile = installer_layout(dir.path());
    let answers = dir.path().join("pds-machine.toml");
    std::fs::write(
        &answers,
        format!("[pds_side]\nfront_address = \"100.64.0.1\"\npds_address = \"100.101.102.103\"\nvia = \"caddy\"\ncaddyfile = \"{}\"\n", caddyfile.display()),
    )
    .unwrap();
    // Without a reload command, the installer's (docker exec caddy …) is used: none here,
    // so the reload fails, the old Caddyfile is put back (Caddy still runs on it), and apply
    // says it could not apply.
    let out = apply(&env, &answers);
    let text = output_text(&out);
    assert!(
        text.contains("docker") && text.contains("the old Caddyfile is back"),
        "{text}"
    );
    assert_eq!(
        std::fs::read_to_string(&caddyfile).unwrap(),
        INSTALLER_CADDYFILE
    );
    assert_eq!(out.status.code(), Some(3), "{text}");
    // With one: applied; a second apply finds nothing to change.
    std::fs::write(&caddyfile, INSTALLER_CADDYFILE).unwrap();
    let flag = dir.path().join("reloaded");
    let with_reload = format!(
        "{}reload_command = \"touch {}\"\n",
        std::fs::read_to_string(&answers).unwrap(),
        flag.display()
    );
    std::fs::write(&answers, with_reload).unwrap();
    let out = apply(&env, &answers);
    let text = output_text(&out);
    assert!(flag.exists() && text.contains("Caddy reloaded"), "{text}");
    assert_ne!(out.status.code(), Some(3), "{text}");
    let edited = std::fs::read_to_string(&caddyfile).unwrap();
    let out = apply(&env, &answers);
    assert!(
        output_text(&out).contains("Caddyfile: no change"),
        "{}",
        output_text(&out)
    );
    assert_eq!(std::fs::read_to_string(&caddyfile).unwrap(), edited);
    // Bad values: nothing applied.
    std::fs::write(&caddyfile, INSTALLER_CADDYFILE).unwrap();
    std::fs::write(&env, ENV).unwrap();
    std::fs::write(&answers, "[pds_side]\nfront_address = \"100.64.0.0/10\"\npds_address = \"pds\"\nfirewall = \"iptables\"\n").unwrap();
    let out = run_cli(&env, &["apply", "--answers", answers.to_str().unwrap()], "");
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(3), "{text}");
    for key in [
        "pds_side.front_address",
        "pds_side.pds_address",
        "pds_side.firewall",
    ] {
        assert!(text.contains(key), "{key}: {text}");
    }
    assert!(text.contains("Nothing was applied"), "{text}");
    assert_eq!(
        std::fs::read_to_string(&caddyfile).unwrap(),
        INSTALLER_CADDYFILE
    );
    assert_eq!(std::fs::read_to_string(&env).unwrap(), ENV);
    // The front's: [proxy] with the front's address renders the front's file and names
    // the other half (JSON: its files).
    let front = dir.path().join("front.toml");
    let site = dir.path().join("sites-available/pds.conf");
    std::fs::create_dir_all(site.parent().unwrap()).unwrap();
    std::fs::write(
        &front,
        format!("[proxy]\nserver = \"nginx\"\nout = \"{}\"\nupstream = \"100.101.102.103\"\nfront_address = \"100.64.0.1\"\npds_side = \"caddy\"\ntls = \"files\"\ncert = \"/etc/ssl/pds.pem\"\nkey = \"/etc/ssl/pds.key\"\n", site.display()),
    )
    .unwrap();
    let out = apply(&env, &front);
    let text = output_text(&out);
    assert!(
        std::fs::read_to_string(&site)
            .unwrap()
            .contains("server 100.101.102.103:80;"),
        "{text}"
    );
    assert!(text.contains("on the PDS machine run: pds-wizard proxy pds-side --front-address 100.64.0.1 --pds-address 100.101.102.103 --via caddy"), "{text}");
    let out = run_cli(
        &env,
        &[
            "--json",
            "proxy",
            "render",
            "nginx",
            "--upstream",
            "100.101.102.103",
            "--front-address",
            "100.64.0.1",
            "--no-validate",
        ],
        "",
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let files = v["pds_side"]["files"].as_array().unwrap();
    assert_eq!(
        files.len(),
        2,
        "pds.env and the firewall, no Caddyfile for direct: {v:#}"
    );
    assert_eq!(files[0]["text"], "PDS_RATE_LIMIT_BYPASS_IPS=100.64.0.1\n");
    assert_eq!(v["plan"]["upstream"]["port"], 3000);
}

/// What Caddy itself makes of `text` (with pds.env's hostname in its environment, as the
/// wizard runs it): (listener, host) pairs of every route.
fn caddy_routes(text: &str) -> Vec<(String, String)> {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("Caddyfile");
    std::fs::write(&f, text).unwrap();
    let o = std::process::Command::new("caddy")
        .args(["adapt", "--adapter", "caddyfile", "--config"])
        .arg(&f)
        .env("XDG_DATA_HOME", d.path())
        .env("XDG_CONFIG_HOME", d.path())
        .env("PDS_HOSTNAME", "pds.example.com")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "caddy adapt: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let mut out = Vec::new();
    for s in v["apps"]["http"]["servers"].as_object().unwrap().values() {
        for l in s["listen"].as_array().unwrap() {
            for r in s["routes"].as_array().into_iter().flatten() {
                let hosts: Vec<String> = r["match"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .flat_map(|m| m["host"].as_array().cloned().unwrap_or_default())
                    .map(|h| h.as_str().unwrap().to_string())
                    .collect();
                for h in if hosts.is_empty() {
                    vec!["*".to_string()]
                } else {
                    hosts
                } {
                    out.push((l.as_str().unwrap().to_string(), h));
                }
            }
        }
    }
    out
}

/// `proxy pds-side --via caddy` on 22 Caddyfiles as operators write them. Each is either
/// edited — Caddy then serves the PDS's names only on the private address, and what the
/// operator wrote (other sites, directives inside the PDS's site) is still there — or
/// refused with the reason, unchanged. The first ten are the shapes the brace-counting
/// editor got wrong (the public site kept, or the operator's directives lost).
#[test]
fn pds_side_keeps_or_refuses_22_real_world_caddyfiles() {
    const G: &str = "{\n\temail admin@example.com\n\ton_demand_tls {\n\t\task http://localhost:3000/tls-check\n\t}\n}\n\n";
    const SITE: &str = "*.pds.example.com, pds.example.com {\n\ttls {\n\t\ton_demand\n\t}\n\treverse_proxy http://localhost:3000\n}\n";
    enum Want {
        /// Edited; these (the operator's) are still in the file.
        Kept(&'static [&'static str]),
        /// Refused, saying this.
        Refused(&'static str),
    }
    use Want::*;
    let cases: Vec<(&str, String, Want)> = vec![
        ("{$PDS_HOSTNAME} placeholders", format!("{G}*.{{$PDS_HOSTNAME}}, {{$PDS_HOSTNAME}} {{\n\ttls {{\n\t\ton_demand\n\t}}\n\treverse_proxy http://localhost:3000\n}}\n"), Kept(&[])),
        ("an extra name in the PDS's site", format!("{G}*.pds.example.com, pds.example.com, status.example.com {{\n\ttls {{\n\t\ton_demand\n\t}}\n\treverse_proxy http://localhost:3000\n}}\n"), Kept(&["status.example.com {"])),
        ("the host split over two sites", format!("{G}pds.example.com {{\n\treverse_proxy localhost:3000\n}}\n\n*.pds.example.com {{\n\ttls {{\n\t\ton_demand\n\t}}\n\treverse_proxy localhost:3000\n}}\n"), Kept(&[])),
        ("an http→https redirect site first", format!("{G}http://pds.example.com {{\n\tredir https://{{host}}{{uri}} permanent\n}}\n\n{SITE}"), Kept(&[])),
        ("a byte order mark", format!("\u{feff}{G}{SITE}"), Kept(&["\u{feff}{"])),
        ("a backquoted token with a brace", format!("{G}{SITE}\nwww.example.com {{\n\trespond `hello }} world` 200\n}}\n"), Kept(&["respond `hello } world` 200"])),
        ("an escaped quote with a brace", format!("{G}{SITE}\nwww.example.com {{\n\trespond \"a \\\"}}\\\" b\"\n}}\n"), Kept(&["respond \"a \\\"}\\\" b\""])),
        ("pds-gatekeeper's routes", format!("{G}*.pds.example.com, pds.example.com {{\n\ttls {{\n\t\ton_demand\n\t}}\n\thandle /xrpc/com.atproto.server.getSession {{\n\t\treverse_proxy localhost:8080\n\t}}\n\thandle /xrpc/com.atproto.server.createSession {{\n\t\treverse_proxy localhost:8080\n\t}}\n\thandle {{\n\t\treverse_proxy localhost:3000\n\t}}\n}}\n"), Kept(&["handle /xrpc/com.atproto.server.getSession {", "handle /xrpc/com.atproto.server.createSession {", "reverse_proxy localhost:8080"])),
        ("an import line", format!("{G}(logging) {{\n\tlog {{\n\t\toutput file /var/log/caddy/pds.log\n\t}}\n}}\n\n*.pds.example.com, pds.example.com {{\n\timport logging\n\ttls {{\n\t\ton_demand\n\t}}\n\treverse_proxy http://localhost:3000\n}}\n"), Kept(&["\timport logging\n", "(logging) {"])),
        ("headers and encode in the site", format!("{G}*.pds.example.com, pds.example.com {{\n\ttls {{\n\t\ton_demand\n\t}}\n\tencode zstd gzip\n\theader Strict-Transport-Security max-age=31536000\n\treverse_proxy http://localhost:3000 {{\n\t\tflush_interval -1\n\t}}\n}}\n"), Kept(&["encode zstd gzip", "header Strict-Transport-Security", "flush_interval -1"])),
        ("the installer's, exactly", format!("{G}{SITE}"), Kept(&["email admin@example.com"])),
        ("four-space indents", format!("{G}{SITE}").replace('\t', "    "), Kept(&["    email admin@example.com"])),
        ("CRLF line ends", format!("{G}{SITE}").replace('\n', "\r\n"), Kept(&["email admin@example.com\r\n"])),
        ("https:// and :443 written out", format!("{G}https://pds.example.com:443, https://*.pds.example.com:443 {{\n\ttls {{\n\t\ton_demand\n\t}}\n\treverse_proxy http://localhost:3000\n}}\n"), Kept(&[])),
        ("other sites with braces in comments", format!("{G}{SITE}\nblog.example.com {{\n\troot * /srv/blog # {{ not a block\n\tfile_server\n}}\n"), Kept(&["blog.example.com {\n\troot * /srv/blog # { not a block\n\tfile_server\n}\n"])),
        ("more global options", format!("{{\n\temail admin@example.com\n\tadmin localhost:2019\n\tservers {{\n\t\tprotocols h1 h2\n\t}}\n\ton_demand_tls {{\n\t\task http://localhost:3000/tls-check\n\t}}\n}}\n\n{SITE}"), Kept(&["\tservers {\n\t\tprotocols h1 h2\n\t}\n"])),
        ("no global options", SITE.to_string(), Kept(&[])),
        ("a named matcher", format!("{G}*.pds.example.com, pds.example.com {{\n\ttls {{\n\t\ton_demand\n\t}}\n\t@gatekeeper path /xrpc/com.atproto.server.createAccount\n\treverse_proxy @gatekeeper localhost:8080\n\treverse_proxy localhost:3000\n}}\n"), Kept(&["@gatekeeper path /xrpc/com.atproto.server.createAccount", "reverse_proxy @gatekeeper localhost:8080"])),
        ("addresses over two lines", format!("{G}*.pds.example.com,\npds.example.com {{\n\ttls {{\n\t\ton_demand\n\t}}\n\treverse_proxy http://localhost:3000\n}}\n"), Kept(&[])),
        ("a custom-domain handle's own site", format!("{G}{SITE}\nalice.example.net {{\n\thandle /.well-known/atproto-did {{\n\t\trespond \"did:plc:ewvi7nxzyoun6zhxrhs64oiz\"\n\t}}\n}}\n"), Kept(&["alice.example.net {"])),
        ("a catch-all site sending every name to the PDS", format!("{G}https:// {{\n\ttls {{\n\t\ton_demand\n\t}}\n\treverse_proxy localhost:3000\n}}\n"), Refused("answers every name")),
        ("a heredoc", format!("{G}{SITE}\nwww.example.com {{\n\trespond <<HTML\n\t\t<p>hi</p>\n\t\tHTML 200\n}}\n"), Refused("heredoc")),
    ];
    assert_eq!(cases.len(), 22);
    for (name, text, want) in cases {
        let (dir, env) = setup();
        let file = dir.path().join("Caddyfile");
        std::fs::write(&file, &text).unwrap();
        let mut args = SIDE.to_vec();
        args.extend_from_slice(&[
            "--via",
            "caddy",
            "--caddyfile",
            file.to_str().unwrap(),
            "--dry-run",
        ]);
        let json_args: Vec<&str> = std::iter::once("--json")
            .chain(args.iter().copied())
            .collect();
        let o = run_cli(&env, &json_args, "");
        let said = output_text(&o);
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            text,
            "{name}: the dry run wrote"
        );
        match want {
            Refused(why) => {
                assert_ne!(o.status.code(), Some(0), "{name}: {said}");
                assert!(
                    said.contains(why) && said.contains("nothing was changed"),
                    "{name}: {said}"
                );
            }
            Kept(keeps) => {
                assert!(o.status.success(), "{name}: {said}");
                let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
                let after = v["plan"]["caddyfile"]["after"]
                    .as_str()
                    .unwrap()
                    .to_string();
                for k in keeps {
                    assert!(after.contains(k), "{name}: lost {k:?}:\n{after}");
                }
                // Caddy's own reading: the PDS's names on the private address only.
                for (listen, host) in caddy_routes(&after) {
                    if host.ends_with("pds.example.com") {
                        assert!(
                            listen.starts_with("100.101.102.103:"),
                            "{name}: {host} on {listen}:\n{after}"
                        );
                    }
                }
                // What was served before for any other name still is.
                let others = |routes: Vec<(String, String)>| -> Vec<(String, String)> {
                    let mut r: Vec<_> = routes
                        .into_iter()
                        .filter(|(_, h)| !h.ends_with("pds.example.com") && h != "100.101.102.103")
                        .collect();
                    r.sort();
                    r.dedup();
                    r
                };
                assert_eq!(
                    others(caddy_routes(&text)),
                    others(caddy_routes(&after)),
                    "{name}:\n{after}"
                );
                // And a second run changes nothing.
                std::fs::write(&file, &after).unwrap();
                let o = run_cli(&env, &json_args, "");
                let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
                assert_eq!(
                    v["plan"]["caddyfile"]["after"].as_str().unwrap(),
                    after,
                    "{name}: not stable"
                );
            }
        }
    }
}

/// Without Caddy anywhere (not installed here, no container), the edit cannot be checked:
/// pds-side says so instead of passing it off as checked.
#[test]
fn pds_side_says_when_no_caddy_could_check_the_edit() {
    let (dir, env) = setup();
    let caddyfile = installer_layout(dir.path());
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_pds-wizard"))
        .arg("--env-file")
        .arg(&env)
        .args(SIDE)
        .args([
            "--via",
            "caddy",
            "--caddyfile",
            caddyfile.to_str().unwrap(),
            "--dry-run",
        ])
        .env("PATH", dir.path().join("no-such-dir"))
        .output()
        .unwrap();
    let text = output_text(&o);
    assert!(o.status.success(), "{text}");
    assert!(
        text.contains("[warn] Caddyfile: the edited Caddyfile was not checked by Caddy"),
        "{text}"
    );
    assert!(!text.contains("Caddy (/usr/bin/caddy) reads"), "{text}");
}

/// Where the official installer's compose.yaml runs Caddy, an nginx config would not be
/// served: `proxy render nginx` says so and how to render for Caddy; the Caddyfile written
/// where the installer's Caddy reads it names the reload inside its container.
#[test]
fn render_starts_from_the_installers_caddy() {
    let (d, env) = setup();
    let o = run_cli(&env, &["proxy", "render", "nginx", "--no-validate"], "");
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(o.status.success(), "{err}");
    assert!(!err.contains("already serves this machine"), "{err}");

    let file = installer_layout(d.path());
    let o = run_cli(&env, &["proxy", "render", "nginx", "--no-validate"], "");
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(
        err.contains("Caddy already serves this machine (the official installer's compose.yaml in")
            && err.contains(&format!(
                "pds-wizard proxy render caddy --out {}",
                file.display()
            )),
        "{err}"
    );

    let o = run_cli(
        &env,
        &[
            "proxy",
            "render",
            "caddy",
            "--no-validate",
            "--out",
            file.to_str().unwrap(),
        ],
        "",
    );
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(o.status.success(), "{err}");
    assert!(!err.contains("already serves this machine"), "{err}");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("#   docker exec caddy caddy reload --config /etc/caddy/Caddyfile")
            && !text.contains("systemctl reload caddy"),
        "{text}"
    );
    // Anywhere else, Caddy is the system's.
    let o = run_cli(&env, &["proxy", "render", "caddy", "--no-validate"], "");
    assert!(output_text(&o).contains("systemctl reload caddy"));
}

/// A PDS reached at a Tailscale address without --front-address: the warning leads to the
/// two commands that make it work (the front's address here, pds-side there).
#[test]
fn an_untrusted_upstream_leads_to_front_address_and_pds_side() {
    let (_d, env) = setup();
    let o = run_cli(
        &env,
        &[
            "proxy",
            "render",
            "nginx",
            "--no-validate",
            "--upstream",
            "100.101.102.103:3000",
        ],
        "",
    );
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("will not trust X-Forwarded-For")
            && err.contains("--front-address")
            && err.contains(
                "pds-wizard proxy pds-side --front-address THAT-IP --pds-address 100.101.102.103"
            ),
        "{err}"
    );
}

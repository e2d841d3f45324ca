//! The first-setup journey, keystroke by keystroke through the real binary, from an empty
//! directory to a verified PDS with its first account on a custom-domain handle — inside a
//! private network namespace (LAB.md): this machine's address is 203.0.114.10 (public in
//! scope, as the wizard offers only public addresses as records; on loopback, as
//! this kernel may have no dummy interfaces), NSD answers on :53 for every program (resolv.conf bind-mounted), nginx serves
//! :443 from /etc/nginx (a scratch directory bind-mounted there), the real PDS 0.5 is
//! started by the test as "the service" when the wizard's start command asks for it.
//! Nothing leaves the namespace: its only interface is loopback.

mod common;

use common::pty::Session;
use common::{Nsd, PdsLab, Relay, SmtpServers};
use portable_pty::CommandBuilder;
use std::process::Command;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_pds-wizard");
const HOST: &str = "pds.example.test";
const ADDRESS: &str = "203.0.114.10";
const INSIDE: &str = "PDS_WIZARD_FIRST_SETUP_INSIDE";
const PDS_PORT: u16 = 3000;
const PLC_PORT: u16 = 2582;

const UP: &str = "\x1b[A";
const RIGHT: &str = "\x1b[C";
const LEFT: &str = "\x1b[D";

/// The test runs itself again under `unshare --net --mount` (common::in_namespaces), and
/// passes when that run passes.
#[test]
fn first_setup_from_an_empty_directory() {
    if std::env::var_os(INSIDE).is_some() {
        return journey();
    }
    common::in_namespaces("first_setup_from_an_empty_directory", INSIDE);
}

fn run(program: &str, args: &[&str]) {
    let st = Command::new(program).args(args).status().unwrap();
    assert!(st.success(), "{program} {args:?}: {st}");
}

fn zone(serial: u32, extra: &str) -> String {
    format!(
        "$ORIGIN example.test.\n$TTL 5\n@ IN SOA ns1 admin ( {serial} 3600 600 86400 5 )\n@ IN NS ns1\nns1 IN A 127.0.0.1\n{extra}"
    )
}

/// The stages kept for JOURNEY_RECORD (an animated SVG: scripts/screenshots makes the
/// README's so).
static FRAMES: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// JOURNEY_SCREENS=1 prints each stage's screen; JOURNEY_RECORD=FILE keeps it.
fn show(s: &Session, what: &str) {
    if std::env::var_os("JOURNEY_SCREENS").is_some() {
        eprintln!("--- {what}\n{}", s.screen());
    }
    if std::env::var_os("JOURNEY_RECORD").is_some() {
        // Let the frame finish before it is kept.
        std::thread::sleep(Duration::from_millis(150));
        let frame = common::pty::svg_cells(&s.shown(), 24, 80);
        FRAMES.lock().unwrap().push(frame);
    }
}

fn wait(s: &Session, text: &str, secs: u64) {
    s.wait_for_within(text, Duration::from_secs(secs), |s| {
        s.screen().contains(text)
    });
}

fn key(s: &mut Session, k: &str) {
    s.send(k);
    std::thread::sleep(Duration::from_millis(120));
}

/// Back to the step list, up it to `title` (the right pane names the step the list is
/// on), and into it.
fn go(s: &mut Session, title: &str) {
    key(s, "\x1b");
    let pane = format!("┌ {title} ─");
    // Once round the whole list at most.
    for _ in 0..=pds_wizard::tui::step::Step::ALL.len() {
        if s.screen().contains(&pane) {
            key(s, "\r");
            return wait(s, &pane, 5);
        }
        key(s, UP);
    }
    panic!("no step {title}:\n{}", s.screen());
}

fn curl(args: &[&str]) -> String {
    let o = Command::new("curl")
        .args(["-sS", "--max-time", "10"])
        .args(args)
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn journey() {
    // The network: loopback, with this "server's" address.
    run("ip", &["link", "set", "lo", "up"]);
    // (On lo: this kernel may have no dummy or veth module.)
    run(
        "ip",
        &["addr", "add", &format!("{ADDRESS}/32"), "dev", "lo"],
    );
    let lab = tempfile::tempdir().unwrap();
    let l = lab.path();
    // Every program resolves through NSD, as on a server whose DNS is the real one; nginx
    // starts with no site: the wizard writes one, links it and has it reloaded.
    let _nginx = common::resolver_and_nginx(l);
    let nsd = Nsd::start_on("example.test", &zone(1, ""), 53);
    let ca = common::make_ca(l);
    let smtp = SmtpServers::start_as("pds@example.test", "smtp-pass-7", None);
    // One bundle for the wizard and the PDS: the web certificate's CA and the mail server's.
    let bundle = l.join("bundle.pem");
    std::fs::write(
        &bundle,
        std::fs::read_to_string(&ca.ca).unwrap() + &std::fs::read_to_string(&smtp.ca).unwrap(),
    )
    .unwrap();
    let relay = Relay::start(HOST, 0, "active");
    // No systemd in a namespace: `systemctl reload nginx` is nginx's own reload.
    let bin = l.join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::fs::write(
        bin.join("systemctl"),
        "#!/bin/sh\nif [ \"$1 $2\" = \"reload nginx\" ]; then exec nginx -s reload; fi\nexit 1\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        bin.join("systemctl"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();

    // An empty directory: the install's /pds.
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("pds");
    let env = data.join("pds.env");
    let units = root.path().join("units");
    std::fs::create_dir(&units).unwrap();
    let start_flag = root.path().join("start-requested");

    // "The service": started when the wizard's start command asks (it touches a file).
    let (stop_service, stop) = std::sync::mpsc::channel::<()>();
    let watcher = {
        let (flag, env, data, bundle) = (
            start_flag.clone(),
            env.clone(),
            data.clone(),
            bundle.clone(),
        );
        std::thread::spawn(move || {
            let deadline = std::time::Instant::now() + Duration::from_secs(600);
            while !flag.exists() {
                if std::time::Instant::now() > deadline {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let pds = PdsLab::start_as_service(
                &env,
                &data,
                &bundle,
                serde_json::json!({
                    "PDS_SERVICE_HANDLE_DOMAINS": format!(".{HOST}"),
                    "PDS_DEV_MODE": "false",
                }),
                (PDS_PORT, PLC_PORT),
            );
            // The lab dies with the thread that started it (PR_SET_PDEATHSIG): this
            // thread keeps it until the journey is over.
            let _ = stop.recv();
            drop(pds);
        })
    };

    let mut cmd = CommandBuilder::new(BIN);
    cmd.args([
        "--env-file",
        env.to_str().unwrap(),
        "--ca-file",
        bundle.to_str().unwrap(),
        "--plc-url",
        &format!("http://localhost:{PLC_PORT}"),
        "--timeout",
        "3",
        "--restart-command",
        &format!("touch {}", start_flag.display()),
    ]);
    cmd.cwd(root.path());
    cmd.env("TERM", "xterm-256color");
    cmd.env("XDG_STATE_HOME", root.path().join("state"));
    cmd.env("PDS_WIZARD_UNIT_DIR", &units);
    cmd.env(
        "PATH",
        format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
    );
    let mut s = Session::start(cmd, 24, 80);

    // 1. First run: the public name and the admin email; pds.env is written.
    wait(&s, "First setup: a new pds.env", 20);
    s.send(HOST);
    key(&mut s, "\t");
    s.send("admin@example.test");
    wait(&s, "admin@example.test", 5);
    show(&s, "the first run");
    key(&mut s, "\x13");
    wait(&s, "┌ Steps", 20);
    show(&s, "after the first run");
    assert!(env.is_file());

    // 2. Basics: the relay (a stand-in here) in PDS_CRAWLERS.
    go(&mut s, "Basics");
    key(&mut s, UP); // wraps to the last field, Crawlers
    key(&mut s, "\x15");
    s.send(&relay.url);
    wait(&s, &relay.url, 10);
    key(&mut s, "\x1b");

    // 3. Email: the SMTP server (TLS and a login), as a custom provider.
    go(&mut s, "Email");
    key(&mut s, "\t");
    s.send("localhost");
    key(&mut s, "\t");
    key(&mut s, "\x15");
    s.send(&smtp.implicit.to_string());
    key(&mut s, "\t");
    for _ in 0..3 {
        if s.screen().contains("‹ tls ›") {
            break;
        }
        key(&mut s, RIGHT);
    }
    wait(&s, "‹ tls ›", 10);
    key(&mut s, "\t");
    s.send("pds@example.test");
    key(&mut s, "\t");
    s.send("smtp-pass-7");
    key(&mut s, "\t");
    key(&mut s, "\x15");
    s.send("pds@example.test");
    key(&mut s, "\x1b");
    show(&s, "email typed");
    // Saved: ^S shows the change, Enter writes it.
    key(&mut s, "\x13");
    wait(&s, "┌ Review & save", 10);
    key(&mut s, "\r");
    wait(&s, "Saved", 10);
    // New email settings: a restart is offered (the PDS is not running yet: not now).
    std::thread::sleep(Duration::from_millis(500));
    if s.screen().contains("Restart the PDS?") {
        key(&mut s, "n");
    }
    assert!(!start_flag.exists());
    let text = std::fs::read_to_string(&env).unwrap();
    assert!(
        text.contains(&format!("PDS_CRAWLERS={}", relay.url)),
        "{text}"
    );
    assert!(text.contains("PDS_EMAIL_SMTP_URL=smtps://"), "{text}");

    // 4. Server: this machine's address and the two records to create.
    go(&mut s, "Server");
    wait(&s, "*.pds.example.test has no address record", 20);
    let screen = s.screen();
    assert!(
        screen.contains(&format!("This server: {ADDRESS} (lo")),
        "{screen}"
    );
    assert!(
        screen.contains(&format!("*.pds.example.test A {ADDRESS}")),
        "{screen}"
    );
    show(&s, "the records to create");
    // The operator creates them at the DNS provider; ^T sees them.
    nsd.set_zone(&zone(
        2,
        &format!("pds IN A {ADDRESS}\n*.pds IN A {ADDRESS}\n"),
    ));
    key(&mut s, "\x14");
    wait(&s, "*.pds.example.test points at this server", 20);
    show(&s, "the records point here");
    wait(&s, "Nothing runs the PDS here yet", 20);

    // 5. The service: own proxy (nginx), the files after a diff, then start and wait.
    key(&mut s, RIGHT);
    wait(&s, "‹ my own proxy ›", 10);
    key(&mut s, "\x17");
    wait(&s, "Write the service files?", 10);
    show(&s, "the service files");
    key(&mut s, "y");
    wait(&s, "Wrote", 30);
    let compose = std::fs::read_to_string(data.join("compose.yaml")).unwrap();
    assert!(compose.contains("- \"127.0.0.1:3000:3000\""), "{compose}");
    assert!(!compose.contains("caddy"), "{compose}");
    let unit = std::fs::read_to_string(units.join("pds.service")).unwrap();
    assert!(unit.contains("up --detach"), "{unit}");
    key(&mut s, "\x07");
    wait(&s, "Start the PDS?", 10);
    key(&mut s, "y");
    wait(&s, "The PDS answers at http://localhost:3000", 120);
    show(&s, "the PDS started");

    // 6. Reverse proxy: nginx with the test CA's certificate, written (after nginx's own
    // check), linked into sites-enabled, reloaded.
    go(&mut s, "Reverse proxy");
    key(&mut s, "\t"); // PDS address
    key(&mut s, "\t"); // TLS
    for _ in 0..5 {
        if s.screen().contains("‹ files ›") {
            break;
        }
        key(&mut s, LEFT);
    }
    wait(&s, "‹ files ›", 10);
    key(&mut s, "\t");
    s.send(ca.cert.to_str().unwrap());
    key(&mut s, "\t");
    s.send(ca.key.to_str().unwrap());
    key(&mut s, "\x17");
    wait(&s, "Write the proxy config?", 30);
    key(&mut s, "y");
    wait(&s, "Enable the site?", 20);
    key(&mut s, "y");
    wait(&s, "Reload the proxy?", 20);
    key(&mut s, "y");
    wait(&s, "reloaded the new config", 20);
    show(&s, "nginx reloaded");
    assert!(
        std::fs::symlink_metadata(l.join("etc-nginx/sites-enabled/pds.conf"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let health = curl(&[
        "--cacert",
        bundle.to_str().unwrap(),
        &format!("https://{HOST}/xrpc/_health"),
    ]);
    assert!(health.contains("version"), "{health}");

    // 7. Accounts: the first one (an invite is made and used), its password shown once.
    go(&mut s, "Accounts");
    wait(&s, "No accounts yet", 20);
    key(&mut s, "\t");
    key(&mut s, "\t");
    s.send(&format!("alice.{HOST}"));
    key(&mut s, "\t");
    s.send("alice@example.test");
    key(&mut s, "\x0e");
    wait(&s, "Password: ", 30);
    if std::env::var_os("JOURNEY_SCREENS").is_some() {
        eprintln!("--- the account created\n{}", s.screen());
    }
    let screen = s.screen();
    let password = screen
        .lines()
        .find_map(|l| l.split("Password: ").nth(1))
        .map(|p| p.trim_end_matches(['│', ' ']).trim().to_string())
        .unwrap();
    assert_eq!(password.len(), 24, "{screen}");
    key(&mut s, "\r");
    wait(&s, "was made and used", 10);
    show(&s, "the first account");
    // The password logs in.
    let session = curl(&[
        "-H",
        "content-type: application/json",
        "-d",
        &serde_json::json!({"identifier": format!("alice.{HOST}"), "password": password})
            .to_string(),
        &format!("http://localhost:{PDS_PORT}/xrpc/com.atproto.server.createSession"),
    ]);
    let did = serde_json::from_str::<serde_json::Value>(&session).unwrap()["did"]
        .as_str()
        .unwrap_or_else(|| panic!("{session}"))
        .to_string();

    // 8. The custom-domain handle: the record shown, created, verified, switched.
    // From "Its email" up to "Move it to".
    key(&mut s, UP);
    key(&mut s, UP);
    s.send("name.example.test");
    key(&mut s, "\x14");
    wait(&s, "Create this record", 30);
    show(&s, "the record to create");
    assert!(
        s.screen().contains("_atproto.name.example.test TXT"),
        "{}",
        s.screen()
    );
    nsd.set_zone(&zone(
        3,
        &format!("pds IN A {ADDRESS}\n*.pds IN A {ADDRESS}\n_atproto.name IN TXT \"did={did}\"\n"),
    ));
    key(&mut s, "\x14");
    wait(&s, "^W switches to it", 30);
    key(&mut s, "\x17");
    wait(&s, "Switch the handle?", 10);
    key(&mut s, "y");
    wait(&s, "is now name.example.test", 30);
    show(&s, "the handle switched");
    // The PLC document and the PDS say so; the relay was asked to crawl.
    let doc = curl(&[&format!("http://localhost:{PLC_PORT}/{did}")]);
    assert!(doc.contains("at://name.example.test"), "{doc}");
    let resolved = curl(&[
        &format!("https://{HOST}/xrpc/com.atproto.identity.resolveHandle?handle=name.example.test"),
        "--cacert",
        bundle.to_str().unwrap(),
    ]);
    assert!(resolved.contains(&did), "{resolved}");
    assert!(relay.log().contains(HOST), "{}", relay.log());

    // 9. The Overview: every milestone green, and what to do next.
    go(&mut s, "Overview");
    s.wait_for_within("the overview", Duration::from_secs(60), |s| {
        let t = s.screen();
        t.contains("All done") || t.contains("Next:")
    });
    show(&s, "the overview");
    let screen = s.screen();
    assert!(screen.contains("All done"), "{screen}");
    assert!(!screen.contains('✗'), "{screen}");
    if let Some(path) = std::env::var_os("JOURNEY_RECORD") {
        let frames = FRAMES.lock().unwrap();
        std::fs::write(path, common::pty::animated_svg(&frames, 24, 80, 2.5)).unwrap();
    }
    key(&mut s, "\x1b");
    key(&mut s, "q");
    let _ = s.child.wait();
    drop(stop_service);
    watcher.join().unwrap();
}

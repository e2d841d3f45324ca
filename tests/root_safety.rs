//! pds-wizard runs as root: the attacks of issue 30 on its writes, each tried against the
//! real binary. Where the attack needs another user, files are given to `nobody` (root may
//! chown): a web root's user, a planted link, a world-writable directory. Without root the
//! tests say "skipped" (CI runs as root).

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_pds-wizard");
const NOBODY: u32 = 65534;
const DID: &str = "did:plc:ewvi7nxzyoun6zhxrhs64oiz";
const VICTIM: &str = "root:$6$not-really-a-hash:19000:0:99999:7:::\n";

fn root() -> bool {
    if rustix::process::geteuid().is_root() {
        return true;
    }
    eprintln!("skipped: these attacks need root (another user's files)");
    false
}

fn run(env: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--env-file")
        .arg(env)
        .args(args)
        .env("XDG_STATE_HOME", env.parent().unwrap().join("state"))
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A root-owned file the attacker wants replaced, 0600 like /etc/shadow.
fn victim(dir: &Path) -> std::path::PathBuf {
    let v = dir.join("shadow");
    std::fs::write(&v, VICTIM).unwrap();
    std::fs::set_permissions(&v, std::fs::Permissions::from_mode(0o600)).unwrap();
    v
}

fn assert_untouched(v: &Path) {
    assert_eq!(
        std::fs::read_to_string(v).unwrap(),
        VICTIM,
        "{} was replaced",
        v.display()
    );
    assert_eq!(std::fs::metadata(v).unwrap().uid(), 0);
    let dir = v.parent().unwrap();
    let beside: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("shadow."))
        .collect();
    assert!(
        beside.is_empty(),
        "files made beside the victim: {beside:?}"
    );
}

fn link_as(target: &Path, link: &Path, uid: u32) {
    std::os::unix::fs::symlink(target, link).unwrap();
    std::os::unix::fs::lchown(link, Some(uid), Some(uid)).unwrap();
}

fn mkdir_as(p: &Path, uid: u32, mode: u32) {
    std::fs::create_dir(p).unwrap();
    std::os::unix::fs::chown(p, Some(uid), Some(uid)).unwrap();
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn env_file(dir: &Path) -> std::path::PathBuf {
    let env = dir.join("pds.env");
    std::fs::write(
        &env,
        "PDS_HOSTNAME=pds.example.test\nPDS_CONTACT_EMAIL_ADDRESS=admin@example.test\n",
    )
    .unwrap();
    std::fs::set_permissions(&env, std::fs::Permissions::from_mode(0o600)).unwrap();
    env
}

/// The web root belongs to its site's user, who points the file, or `.well-known`, at
/// root's files: nothing outside the web root is written; a link inside it is fine.
#[test]
fn a_web_roots_user_cannot_aim_the_did_file_at_roots_files() {
    if !root() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let env = env_file(d.path());
    let v = victim(d.path());
    let web = d.path().join("web");
    mkdir_as(&web, NOBODY, 0o755);
    let wk = web.join(".well-known");
    mkdir_as(&wk, NOBODY, 0o755);
    let webroot = web.to_str().unwrap();
    let write = |env: &Path| {
        run(
            env,
            &[
                "did-file",
                "write",
                "name.example.test",
                "--did",
                DID,
                "--webroot",
                webroot,
            ],
        )
    };

    // 1. The file itself a link (made by the site's user) to root's file.
    link_as(&v, &wk.join("atproto-did"), NOBODY);
    let o = write(&env);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("is a symbolic link"), "{}", text(&o));
    assert_untouched(&v);

    // 2. .well-known a link to another directory: no new root file there.
    std::fs::remove_dir_all(&wk).unwrap();
    let elsewhere = d.path().join("etc");
    std::fs::create_dir(&elsewhere).unwrap();
    link_as(&elsewhere, &wk, NOBODY);
    let o = write(&env);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("leads out of"), "{}", text(&o));
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);

    // ... and a relative one that climbs out.
    std::fs::remove_file(&wk).unwrap();
    link_as(Path::new("../etc"), &wk, NOBODY);
    let o = write(&env);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("leads out of"), "{}", text(&o));
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);

    // 3. A link that stays inside the web root is followed, and the real path is said.
    std::fs::remove_file(&wk).unwrap();
    let shared = web.join("shared");
    mkdir_as(&shared, NOBODY, 0o755);
    link_as(Path::new("shared"), &wk, NOBODY);
    let o = write(&env);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        std::fs::read_to_string(shared.join("atproto-did")).unwrap(),
        DID
    );
    assert!(
        text(&o).contains(&shared.join("atproto-did").display().to_string()),
        "{}",
        text(&o)
    );
    assert_untouched(&v);
}

/// `doctor --report` into a directory other users can write: a planted link is never
/// followed, a non-sticky world-writable directory is refused, a file another user left
/// in /tmp-like (sticky) directories is not taken over.
#[test]
fn a_report_is_never_written_through_a_planted_link() {
    if !root() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let env = env_file(d.path());
    let v = victim(d.path());
    let report = |p: &Path| {
        run(
            &env,
            &["doctor", "--only", "env", "--report", p.to_str().unwrap()],
        )
    };

    // World-writable, no sticky bit: another user planted report.txt → the victim.
    let ww = d.path().join("ww");
    mkdir_as(&ww, 0, 0o777);
    link_as(&v, &ww.join("report.txt"), NOBODY);
    let o = report(&ww.join("report.txt"));
    assert!(text(&o).contains("cannot write the report"), "{}", text(&o));
    assert_untouched(&v);
    // Even with no link there, such a directory is refused (a link could come any time).
    let o = report(&ww.join("other.txt"));
    assert!(text(&o).contains("anyone can change"), "{}", text(&o));
    assert!(!ww.join("other.txt").exists());

    // Sticky, like /tmp: the link is refused; so is a file another user left there.
    let st = d.path().join("sticky");
    mkdir_as(&st, 0, 0o1777);
    link_as(&v, &st.join("report.txt"), NOBODY);
    let o = report(&st.join("report.txt"));
    assert!(text(&o).contains("is a symbolic link"), "{}", text(&o));
    assert_untouched(&v);
    std::fs::write(st.join("theirs.txt"), "x").unwrap();
    std::os::unix::fs::chown(st.join("theirs.txt"), Some(NOBODY), Some(NOBODY)).unwrap();
    let o = report(&st.join("theirs.txt"));
    assert!(text(&o).contains("belongs to nobody"), "{}", text(&o));
    assert_eq!(std::fs::read_to_string(st.join("theirs.txt")).unwrap(), "x");
    // A new name there is written, 0600, and said.
    let o = report(&st.join("mine.txt"));
    assert!(text(&o).contains("mine.txt"), "{}", text(&o));
    let m = std::fs::metadata(st.join("mine.txt")).unwrap();
    assert_eq!((m.uid(), m.mode() & 0o777), (0, 0o600));
}

/// The lock file beside pds.env is never opened through a link (one planted dangling would
/// have made a root file wherever it pointed); pds.env itself is followed only through a
/// link root (or its owner) made, in a directory they own.
#[test]
fn pds_env_links_and_its_lock_follow_only_trusted_links() {
    if !root() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let env = env_file(d.path());
    let made = d.path().join("made-by-root");
    link_as(&made, &d.path().join(".pds.env.lock"), NOBODY);
    let o = run(&env, &["env", "set", "PDS_PORT=3000"]);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(!made.exists(), "a file was created through the lock's link");
    assert!(!std::fs::read_to_string(&env).unwrap().contains("PDS_PORT"));
    std::fs::remove_file(d.path().join(".pds.env.lock")).unwrap();

    // A link root made: followed, and the real file is named.
    let real_dir = d.path().join("real");
    std::fs::create_dir(&real_dir).unwrap();
    let real = real_dir.join("pds.env");
    std::fs::rename(&env, &real).unwrap();
    link_as(&real, &env, 0);
    let o = run(&env, &["env", "set", "PDS_PORT=3000"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains(&format!(
            "{} (through the link {})",
            real.display(),
            env.display()
        )),
        "{}",
        text(&o)
    );
    assert!(std::fs::symlink_metadata(&env)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(std::fs::read_to_string(&real)
        .unwrap()
        .contains("PDS_PORT=3000"));

    // The same link made by another user: refused, nothing changed.
    std::fs::remove_file(&env).unwrap();
    link_as(&real, &env, NOBODY);
    let o = run(&env, &["env", "set", "PDS_PORT=4000"]);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("belongs to nobody"), "{}", text(&o));
    assert!(std::fs::read_to_string(&real)
        .unwrap()
        .contains("PDS_PORT=3000"));
}

/// A link to a directory on the way is followed when root made it, not when another user
/// did; and `proxy render --out` onto a link is refused with the file it points to named.
#[test]
fn links_on_the_way_are_followed_only_when_root_made_them() {
    if !root() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let env = env_file(d.path());
    let avail = d.path().join("sites-available");
    std::fs::create_dir(&avail).unwrap();
    let theirs = d.path().join("theirs");
    link_as(&avail, &theirs, NOBODY);
    let ours = d.path().join("ours");
    link_as(&avail, &ours, 0);
    let render = |out: &Path| {
        run(
            &env,
            &[
                "proxy",
                "render",
                "nginx",
                "--tls",
                "certbot",
                "--out",
                out.to_str().unwrap(),
            ],
        )
    };
    let o = render(&theirs.join("pds"));
    assert!(!o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("belongs to nobody"), "{}", text(&o));
    assert!(!avail.join("pds").exists());

    let o = render(&ours.join("pds"));
    assert!(o.status.success(), "{}", text(&o));
    assert!(avail.join("pds").exists());
    assert!(
        text(&o).contains(&avail.join("pds").display().to_string()),
        "{}",
        text(&o)
    );

    let enabled = d.path().join("sites-enabled");
    std::fs::create_dir(&enabled).unwrap();
    link_as(&avail.join("pds"), &enabled.join("pds"), 0);
    let o = render(&enabled.join("pds"));
    assert!(!o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("(to {})", avail.join("pds").display())),
        "{}",
        text(&o)
    );
}

/// compose.yaml is checked from a private scratch directory: a link planted at the name the
/// old code used (/tmp/pds-wizard-compose-PID.yaml, PID 1 in a new PID namespace) is never
/// written through, even by --dry-run.
#[test]
fn the_compose_check_writes_no_predictable_scratch_file() {
    if !root() || pds_wizard::fsutil::find_tool("unshare").is_none() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let env = env_file(d.path());
    let v = victim(d.path());
    let tmp = d.path().join("tmp");
    mkdir_as(&tmp, 0, 0o1777);
    for pid in 1..4 {
        link_as(
            &v,
            &tmp.join(format!("pds-wizard-compose-{pid}.yaml")),
            NOBODY,
        );
    }
    let o = Command::new("unshare")
        .args(["--pid", "--fork", BIN, "--env-file"])
        .arg(&env)
        .args(["service", "write", "--dry-run", "--unit-dir"])
        .arg(d.path())
        .env("TMPDIR", &tmp)
        .output()
        .unwrap();
    assert!(text(&o).contains("--dry-run"), "{}", text(&o));
    assert_untouched(&v);
    // Nothing is left in TMPDIR but the planted links.
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 3);
}

/// A command in an answers file another user can write would run as root: refused before
/// anything is written (as sudo and sshd refuse their own files); the same file made
/// root's and private is applied.
#[test]
fn commands_from_an_answers_file_others_can_write_are_refused() {
    if !root() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let env = env_file(d.path());
    let caddy = d.path().join("Caddyfile");
    std::fs::write(
        &caddy,
        "*.pds.example.test, pds.example.test {\n\treverse_proxy localhost:3000\n}\n",
    )
    .unwrap();
    let flag = d.path().join("ran");
    let answers = d.path().join("answers.toml");
    std::fs::write(
        &answers,
        format!(
            "[env]\nPDS_PORT = \"3000\"\n\n[pds_side]\nfront_address = \"100.64.0.1\"\npds_address = \"100.101.102.103\"\nvia = \"caddy\"\ncaddyfile = \"{}\"\nreload_command = \"touch {}\"\n",
            caddy.display(),
            flag.display()
        ),
    )
    .unwrap();
    let before = std::fs::read(&env).unwrap();
    let apply = || wizard_apply(&env, &answers);
    for (uid, mode, says) in [
        (NOBODY, 0o600, "belongs to nobody"),
        (0, 0o666, "can be written by everyone"),
    ] {
        std::os::unix::fs::chown(&answers, Some(uid), Some(uid)).unwrap();
        std::fs::set_permissions(&answers, std::fs::Permissions::from_mode(mode)).unwrap();
        let o = apply();
        assert_eq!(o.status.code(), Some(3), "{}", text(&o));
        assert!(
            text(&o).contains("reload_command") && text(&o).contains(says),
            "{}",
            text(&o)
        );
        assert!(!flag.exists(), "the command ran");
        assert_eq!(std::fs::read(&env).unwrap(), before, "pds.env was written");
    }
    std::fs::set_permissions(&answers, std::fs::Permissions::from_mode(0o600)).unwrap();
    let o = apply();
    assert!(!text(&o).contains("reload_command:"), "{}", text(&o));
    assert!(flag.exists(), "{}", text(&o));
}

fn wizard_apply(env: &Path, answers: &Path) -> Output {
    Command::new(BIN)
        .args(["--timeout", "1", "--env-file"])
        .arg(env)
        .args(["apply", "--answers"])
        .arg(answers)
        .env("XDG_STATE_HOME", env.parent().unwrap().join("state"))
        .output()
        .unwrap()
}

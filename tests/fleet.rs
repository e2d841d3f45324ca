//! The README's Ansible play (examples/fleet/site.yml, shown in README.md as it is) run by
//! the real ansible-playbook (ansible-core from PyPI, installed by scripts/test) against
//! three "hosts" on this machine, each its own pds.env, answers file and proxy directory,
//! over a local connection: one that applies cleanly, one whose answers cannot be applied,
//! one whose doctor finds a failure. In a network namespace of the test's own (root), so
//! the doctor's lookups of the hosts' names never leave the machine.

mod common;

use serde_json::Value;
use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_pds-wizard");
const INSIDE: &str = "PDS_WIZARD_FLEET_INSIDE";
/// The SMTP password the play passes from "the vault": it must never be printed.
const SECRET: &str = "Zq8-fleet-secret-77";

#[test]
fn the_books_play_runs_against_a_fleet() {
    if std::env::var_os(INSIDE).is_some() {
        return fleet();
    }
    common::in_namespaces("the_books_play_runs_against_a_fleet", INSIDE);
}

/// The book's fleet page shows the play and its template as they are: they cannot drift.
#[test]
fn the_book_shows_the_play_that_is_tested() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("docs/src/answers-and-fleets.md")).unwrap();
    for (file, lang) in [("site.yml", "yaml"), ("pds-wizard.toml.j2", "jinja")] {
        let text = std::fs::read_to_string(root.join("examples/fleet").join(file)).unwrap();
        assert!(
            readme.contains(&format!("```{lang}\n{text}```\n")),
            "docs/src/answers-and-fleets.md must show examples/fleet/{file} as it is"
        );
    }
}

fn play_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/fleet")
}

/// ansible-playbook from the test cache, with the Python that installed it.
fn ansible() -> (PathBuf, PathBuf) {
    let dir =
        PathBuf::from(std::env::var_os("PDS_WIZARD_TEST_ANSIBLE").expect(
            "PDS_WIZARD_TEST_ANSIBLE is unset: run scripts/test, which installs ansible-core",
        ));
    let python = std::fs::read_to_string(dir.join("python")).unwrap_or_else(|_| {
        panic!(
            "ansible-core is not installed in {}: run scripts/test",
            dir.display()
        )
    });
    (PathBuf::from(python.trim()), dir)
}

/// One run of the play, as an operator sees it (the default output, -v: each task's
/// result as one line of JSON).
fn playbook(work: &Path, inventory: &Path) -> Output {
    let (python, dir) = ansible();
    Command::new(python)
        .arg(dir.join("bin/ansible-playbook"))
        .arg("-v")
        .arg("-i")
        .arg(inventory)
        .arg(play_dir().join("site.yml"))
        .env("PYTHONPATH", &dir)
        .env("LC_ALL", "C.UTF-8")
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_CALLBACK_RESULT_FORMAT", "json")
        .env("ANSIBLE_CALLBACK_FORMAT_PRETTY", "false")
        .env("ANSIBLE_HOME", work.join("ansible-home"))
        .env("ANSIBLE_LOCAL_TEMP", work.join("ansible-tmp"))
        .env("ANSIBLE_REMOTE_TEMP", work.join("ansible-tmp"))
        .env("ANSIBLE_RETRY_FILES_ENABLED", "False")
        .env("HOME", work)
        .output()
        .unwrap()
}

fn all_text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// What one host got from one task: its status word (ok, changed, fatal, skipping) and
/// the result, when printed.
#[derive(Debug)]
struct Seen {
    task: String,
    host: String,
    status: String,
    result: Value,
}

/// The play's output read task by task ("TASK [name]", then "STATUS: [host] => {json}" or
/// "fatal: [host]: FAILED! => {json}"; a loop's per-item lines are skipped, its summary
/// kept), and the recap's line for each host.
fn read(o: &Output) -> (Vec<Seen>, Vec<String>) {
    let text = String::from_utf8_lossy(&o.stdout);
    let mut task = String::new();
    let mut seen = Vec::new();
    let mut recap = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("TASK [") {
            task = rest
                .split("] ")
                .next()
                .unwrap_or("")
                .trim_end_matches(']')
                .to_string();
            continue;
        }
        if line.contains(" : ok=") {
            recap.push(line.to_string());
            continue;
        }
        let Some((status, rest)) = line.split_once(": [") else {
            continue;
        };
        if !["ok", "changed", "fatal", "skipping", "failed"].contains(&status) {
            continue;
        }
        let Some((host, after)) = rest.split_once(']') else {
            continue;
        };
        if after.contains("(item=") {
            continue;
        }
        let result = after
            .split_once("=> ")
            .and_then(|(_, j)| serde_json::from_str(j).ok())
            .unwrap_or(Value::Null);
        seen.push(Seen {
            task: task.clone(),
            host: host.to_string(),
            status: status.to_string(),
            result,
        });
    }
    (seen, recap)
}

/// The tasks that reported a change for `host`.
fn changed(seen: &[Seen], host: &str) -> BTreeSet<String> {
    seen.iter()
        .filter(|s| s.host == host && s.status == "changed")
        .map(|s| s.task.clone())
        .collect()
}

fn result<'a>(seen: &'a [Seen], task: &str, host: &str) -> &'a Seen {
    seen.iter()
        .find(|s| s.task.starts_with(task) && s.host == host)
        .unwrap_or_else(|| panic!("no result of {task} for {host}: {seen:#?}"))
}

fn recap_of<'a>(recap: &'a [String], host: &str) -> &'a str {
    recap
        .iter()
        .find(|l| l.starts_with(&format!("{host} ")))
        .unwrap_or_else(|| panic!("no recap for {host}: {recap:?}"))
}

fn stamp(p: &Path) -> (u64, i64, i64) {
    let m = std::fs::metadata(p).unwrap();
    (m.ino(), m.mtime(), m.mtime_nsec())
}

fn fleet() {
    let st = Command::new("ip")
        .args(["link", "set", "lo", "up"])
        .status()
        .unwrap();
    assert!(st.success());
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let ca = common::make_ca(w);
    let (python, _) = ansible();
    let mut hosts = serde_json::Map::new();
    for (name, hostname, doctor) in [
        ("a", "pds-a.example.test", vec!["env"]),
        // Answers pds.env cannot take: a hostname with a space.
        ("b", "pds b.example.test", vec!["env"]),
        // No PDS runs here: its health check fails.
        ("c", "pds-c.example.test", vec!["env", "health"]),
    ] {
        let dir = w.join(name);
        std::fs::create_dir_all(dir.join("sites-available")).unwrap();
        let o = Command::new(BIN)
            .arg("--env-file")
            .arg(dir.join("pds.env"))
            .args([
                "env",
                "init",
                "--hostname",
                &format!("pds-{name}.example.test"),
                "--admin-email",
                "admin@example.test",
                "--data-dir",
            ])
            .arg(&dir)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", all_text(&o));
        hosts.insert(
            name.into(),
            serde_json::json!({
                "ansible_connection": "local",
                "ansible_python_interpreter": python,
                "pds_wizard": BIN,
                "pds_wizard_flags": ["--timeout", "1"],
                "pds_env": dir.join("pds.env"),
                "pds_answers": dir.join("pds-wizard.toml"),
                "pds_hostname": hostname,
                "pds_proxy_out": dir.join("sites-available/pds.conf"),
                "pds_tls": "files",
                "pds_cert": ca.cert,
                "pds_key": ca.key,
                "pds_doctor_only": doctor,
                "pds_secrets": {
                    "PDS_EMAIL_SMTP_URL": format!("smtps://pds%40example.test:{SECRET}@smtp.example.test:465")
                },
            }),
        );
    }
    // JSON is YAML: the inventory.
    let inventory = w.join("inventory.yml");
    std::fs::write(
        &inventory,
        serde_json::json!({ "pds": { "hosts": hosts } }).to_string(),
    )
    .unwrap();
    let a_env = w.join("a/pds.env");
    let a_files = [
        a_env.clone(),
        w.join("a/pds-wizard.toml"),
        w.join("a/sites-available/pds.conf"),
    ];
    // Every secret of host a's pds.env, and the vault's: none may be printed.
    let mut secrets = vec![SECRET.to_string()];
    for line in std::fs::read_to_string(&a_env).unwrap().lines() {
        if let Some((k, v)) = line.split_once('=') {
            if [
                "PDS_ADMIN_PASSWORD",
                "PDS_JWT_SECRET",
                "PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX",
            ]
            .contains(&k)
            {
                secrets.push(v.to_string());
            }
        }
    }
    assert_eq!(secrets.len(), 4, "env init wrote the three secrets");
    let no_secret = |o: &Output| {
        let t = all_text(o);
        for s in &secrets {
            assert!(!t.contains(s.as_str()), "a secret was printed:\n{t}");
        }
    };

    // First run: a applies and passes; b cannot apply; c's doctor fails.
    let first = playbook(w, &inventory);
    no_secret(&first);
    let out = all_text(&first);
    assert_eq!(first.status.code(), Some(2), "hosts failed: {out}");
    let (seen, recap) = read(&first);
    assert!(recap_of(&recap, "a").contains("failed=0"), "{out}");
    assert!(recap_of(&recap, "b").contains("failed=1"), "{out}");
    assert!(recap_of(&recap, "c").contains("failed=1"), "{out}");
    assert_eq!(
        changed(&seen, "a"),
        BTreeSet::from([
            "Secrets into pds.env (on stdin, never on a command line or in the log)".to_string(),
            "The host's answers".to_string(),
            "Apply them (pds.env values, the proxy config, the atproto-did file)".to_string(),
        ]),
        "changed on a:\n{out}"
    );
    assert!(recap_of(&recap, "a").contains("changed=3"), "{out}");
    let env_a = std::fs::read_to_string(&a_env).unwrap();
    assert!(
        env_a.contains("PDS_EMAIL_FROM_ADDRESS=noreply@pds-a.example.test")
            && env_a.contains(SECRET)
    );
    assert!(std::fs::read_to_string(&a_files[2])
        .unwrap()
        .contains("server_name pds-a.example.test"));
    // The secrets task shows no value: only that it was hidden.
    let sec = result(&seen, "Secrets", "a");
    assert!(
        sec.result["censored"]
            .as_str()
            .is_some_and(|c| c.contains("no_log")),
        "{sec:?}"
    );
    // b: the apply task failed with the reason; nothing of its proxy was written.
    let b = result(&seen, "Apply them", "b");
    assert_eq!(
        (b.status.as_str(), b.result["rc"].as_i64()),
        ("fatal", Some(3)),
        "{b:?}"
    );
    let why = b.result["stderr"].as_str().unwrap_or("");
    assert!(
        why.contains("PDS_HOSTNAME") && why.contains("Nothing was applied"),
        "{b:?}"
    );
    assert!(!w.join("b/sites-available/pds.conf").exists());
    // c: applied (the doctor's own code, 2, is not "could not apply"), then the doctor's
    // verdict names the failing check, read from its --json.
    let c = result(&seen, "Apply them", "c");
    assert_eq!(
        (c.status.as_str(), c.result["rc"].as_i64()),
        ("changed", Some(2)),
        "{c:?}"
    );
    let v = result(&seen, "The doctor's verdict", "c");
    assert_eq!(v.status, "fatal", "{v:?}");
    assert_eq!(
        v.result["msg"], "the doctor found failures: health",
        "{v:?}"
    );
    let d = result(&seen, "The doctor", "c");
    let d: Value = serde_json::from_str(d.result["stdout"].as_str().unwrap()).unwrap();
    assert_eq!(d["overall"], "fail");
    assert_eq!(result(&seen, "The doctor's verdict", "a").status, "ok");
    let before: Vec<_> = a_files.iter().map(|p| stamp(p)).collect();

    // Second run: nothing changes on a, nothing is rewritten; b and c fail as before.
    let second = playbook(w, &inventory);
    no_secret(&second);
    let out = all_text(&second);
    let (seen, recap) = read(&second);
    assert_eq!(changed(&seen, "a"), BTreeSet::new(), "idempotent:\n{out}");
    assert!(
        recap_of(&recap, "a").contains("changed=0") && recap_of(&recap, "a").contains("failed=0"),
        "{out}"
    );
    assert_eq!(
        a_files.iter().map(|p| stamp(p)).collect::<Vec<_>>(),
        before,
        "mtimes and inodes kept"
    );
    assert!(
        recap_of(&recap, "b").contains("failed=1") && recap_of(&recap, "c").contains("failed=1"),
        "{out}"
    );
    assert!(
        out.contains("the doctor found failures: health") && out.contains("Nothing was applied"),
        "{out}"
    );
}

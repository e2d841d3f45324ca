//! Moving a PDS to a new server under the same hostname, as `backup move-guide` says it,
//! between two machines: network namespaces "old" and "new", each with the real PDS, the
//! name pds.example.test in the lab's DNS (NSD) switched from one to the other, and a
//! relay stand-in (as indigo's: it dials the name again each time) that followed the old
//! one. It ends with every account served by the new one, the old one stopped, and the
//! relay following the new one. Runs in namespaces of its own (root; skipped otherwise).

mod common;

use common::{Nsd, PdsLab, Relay, PDS_ADMIN};
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_pds-wizard");
const INSIDE: &str = "PDS_WIZARD_MOVE_INSIDE";
const HOST: &str = "pds.example.test";
const OLD: (&str, &str, &str) = ("old", "10.1.0.1", "10.1.0.2");
const NEW: (&str, &str, &str) = ("new", "10.2.0.1", "10.2.0.2");
/// The PLC directory, by the name each machine's /etc/hosts gives it.
const PLC: &str = "http://plc.example.test:2582";

#[test]
fn a_move_between_two_machines_keeps_every_account_and_the_relay() {
    if std::env::var_os(INSIDE).is_some() {
        return journey();
    }
    common::in_namespaces(
        "a_move_between_two_machines_keeps_every_account_and_the_relay",
        INSIDE,
    );
}

fn run(program: &str, args: &[&str]) {
    let st = Command::new(program).args(args).status().unwrap();
    assert!(st.success(), "{program} {args:?}: {st}");
}

/// `pds-wizard ARGS` on machine `ns`.
fn wizard(ns: &str, env: &Path, args: &[&str]) -> Output {
    Command::new("ip")
        .args(["netns", "exec", ns, BIN, "--env-file"])
        .arg(env)
        .args(args)
        .output()
        .unwrap()
}

fn curl(args: &[&str]) -> serde_json::Value {
    let o = Command::new("curl")
        .args(["-sS", "--max-time", "10"])
        .args(args)
        .output()
        .unwrap();
    serde_json::from_slice(&o.stdout).unwrap_or_default()
}

fn zone(addr: &str) -> String {
    format!("$ORIGIN example.test.\n$TTL 1\n@ IN SOA ns1 admin ( 1 3600 600 86400 1 )\n@ IN NS ns1\nns1 IN A 127.0.0.1\npds IN A {addr}\n*.pds IN A {addr}\n")
}

fn pds_env(path: &Path, data: &Path, relay: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(
        path,
        format!(
            "PDS_HOSTNAME={HOST}\nPDS_PORT=2583\nPDS_ADMIN_PASSWORD={PDS_ADMIN}\nPDS_DATA_DIRECTORY={d}\nPDS_BLOBSTORE_DISK_LOCATION={d}/blocks\nPDS_DID_PLC_URL=http://localhost:2582\nPDS_SERVICE_HANDLE_DOMAINS=.{HOST}\nPDS_CRAWLERS={relay}\n",
            d = data.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
}

/// The real PDS on machine `ns`. The old machine's lab also runs the PLC directory for
/// both (on every address of its machine), the new one's uses it by name, as both use
/// plc.directory on the network.
fn start(ns: &str, env: &Path, data: &Path) -> PdsLab {
    // The lab reads these at its start; this test runs alone in its own process.
    match ns == OLD.0 {
        true => std::env::set_var("PDS_LAB_PLC_LISTEN", "0.0.0.0"),
        false => std::env::set_var("PDS_LAB_PLC_URL", PLC),
    }
    let lab = PdsLab::start_as_service_in(
        ns,
        env,
        data,
        serde_json::json!({ "PDS_ADMIN_PASSWORD": PDS_ADMIN }),
        (2583, 2582),
    );
    std::env::remove_var("PDS_LAB_PLC_LISTEN");
    std::env::remove_var("PDS_LAB_PLC_URL");
    lab
}

/// Copy the backups to the new machine (both machines share this test's disk: a local
/// copy stands for the guide's rsync over SSH, hard links kept).
fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    run(
        "cp",
        &["-a", &format!("{}/.", from.display()), to.to_str().unwrap()],
    );
}

fn journey() {
    run("ip", &["link", "set", "lo", "up"]);
    std::fs::create_dir_all("/run/netns").unwrap();
    run("mount", &["-t", "tmpfs", "tmpfs", "/run/netns"]);
    // Each machine's /etc/hosts (ip netns exec mounts /etc/netns/NAME/hosts over it), in
    // a tmpfs of this mount namespace; and the top namespace routes between them.
    std::fs::create_dir_all("/etc/netns").unwrap();
    run("mount", &["-t", "tmpfs", "tmpfs", "/etc/netns"]);
    run("sysctl", &["-qw", "net.ipv4.ip_forward=1"]);
    for (ns, top, addr) in [OLD, NEW] {
        std::fs::create_dir_all(format!("/etc/netns/{ns}")).unwrap();
        std::fs::write(
            format!("/etc/netns/{ns}/hosts"),
            format!(
                "127.0.0.1 localhost\n::1 localhost\n{} plc.example.test\n",
                OLD.2
            ),
        )
        .unwrap();
        run("ip", &["netns", "add", ns]);
        let (a, b) = (format!("{ns}-top"), format!("{ns}-eth"));
        run(
            "ip",
            &[
                "link", "add", "name", &a, "type", "veth", "peer", "name", &b,
            ],
        );
        run("ip", &["link", "set", "dev", &b, "netns", ns]);
        run("ip", &["addr", "add", &format!("{top}/24"), "dev", &a]);
        run("ip", &["link", "set", "dev", &a, "up"]);
        for args in [
            vec!["ip", "link", "set", "lo", "up"],
            vec!["ip", "addr", "add", &format!("{addr}/24"), "dev", &b],
            vec!["ip", "link", "set", "dev", &b, "up"],
            vec!["ip", "route", "add", "default", "via", top],
        ] {
            let mut all = vec!["netns", "exec", ns];
            all.extend(args);
            run("ip", &all);
        }
    }
    let lab = tempfile::tempdir().unwrap();
    let l = lab.path();
    let dns = Nsd::start_on("example.test", &zone(OLD.2), 53);
    std::fs::write(l.join("resolv.conf"), "nameserver 127.0.0.1\n").unwrap();
    run(
        "mount",
        &[
            "--bind",
            l.join("resolv.conf").to_str().unwrap(),
            "/etc/resolv.conf",
        ],
    );

    // The relay follows the name, as indigo's does, on the address both machines reach.
    let relay = Relay::start_with(
        HOST,
        0,
        "active",
        &[
            ("RELAY_SUBSCRIBE", format!("ws://{HOST}:2583")),
            ("RELAY_LISTEN", "0.0.0.0".into()),
            ("RELAY_MAX_FAILURES", "5".into()),
            ("RELAY_RETRY_MS", "50".into()),
        ],
    );
    let port = relay.url.rsplit(':').next().unwrap().to_string();
    let relay_from = |top: &str| format!("http://{top}:{port}");

    // The old machine, with two accounts holding records and blobs.
    let (old_env, old_data) = (l.join("old/pds/pds.env"), l.join("old/pds"));
    pds_env(&old_env, &old_data, &relay_from(OLD.1));
    let old = start(OLD.0, &old_env, &old_data);
    let url = format!("http://{}:2583", OLD.2);
    let admin = format!("admin:{PDS_ADMIN}");
    let mut dids = Vec::new();
    for h in ["alice", "bob"] {
        let code = curl(&[
            "-X",
            "POST",
            "-u",
            &admin,
            "-H",
            "content-type: application/json",
            "-d",
            r#"{"useCount":1}"#,
            &format!("{url}/xrpc/com.atproto.server.createInviteCode"),
        ]);
        let body = serde_json::json!({"handle": format!("{h}.{HOST}"), "email": format!("{h}@example.test"), "password": "pw-1234567", "inviteCode": code["code"]});
        let s = curl(&[
            "-X",
            "POST",
            "-H",
            "content-type: application/json",
            "-d",
            &body.to_string(),
            &format!("{url}/xrpc/com.atproto.server.createAccount"),
        ]);
        let did = s["did"]
            .as_str()
            .unwrap_or_else(|| panic!("createAccount: {s}"))
            .to_string();
        let jwt = s["accessJwt"].as_str().unwrap().to_string();
        for n in 0..3 {
            let rec = serde_json::json!({"repo": did, "collection": "com.example.move.note", "record": {"$type": "com.example.move.note", "n": n}});
            let r = curl(&[
                "-X",
                "POST",
                "-H",
                "content-type: application/json",
                "-H",
                &format!("authorization: Bearer {jwt}"),
                "-d",
                &rec.to_string(),
                &format!("{url}/xrpc/com.atproto.repo.createRecord"),
            ]);
            assert!(r["uri"].is_string(), "{r}");
        }
        dids.push(did);
    }
    let s = relay.wait_for(30, |s| {
        s["status"] == "active" && s["cursor"].as_i64() > Some(0)
    });
    assert_eq!(
        s["status"], "active",
        "the relay follows the old machine: {s}"
    );

    // The guide, as the old machine prints it.
    let (old_dest, new_dest) = (l.join("old/backups"), l.join("new/backups"));
    let o = wizard(
        OLD.0,
        &old_env,
        &[
            "--json",
            "backup",
            "move-guide",
            "--to",
            "root@new",
            old_dest.to_str().unwrap(),
        ],
    );
    let guide: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let commands: Vec<&str> = guide
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["command"].as_str())
        .collect();
    assert!(
        commands
            .iter()
            .any(|c| c.contains("systemctl stop pds && systemctl disable pds")),
        "{guide}"
    );

    // 1–2. A backup while the old PDS runs; copied to the new machine.
    let o = wizard(
        OLD.0,
        &old_env,
        &["backup", "create", old_dest.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(0), "{}", common::output_text(&o));
    copy(&old_dest, &new_dest);
    // 3. The new machine's pds.env from the backup: the same secrets. (Both machines share
    // this disk, so its data directory and relay address are the new machine's own.)
    let first = std::path::PathBuf::from(String::from_utf8_lossy(&o.stdout).trim().to_string());
    let (new_env, new_data) = (l.join("new/pds/pds.env"), l.join("new/pds"));
    std::fs::create_dir_all(&new_data).unwrap();
    std::fs::copy(
        new_dest
            .join(first.file_name().unwrap())
            .join("config/pds.env"),
        &new_env,
    )
    .unwrap();
    for kv in [
        format!("PDS_DATA_DIRECTORY={}", new_data.display()),
        format!("PDS_BLOBSTORE_DISK_LOCATION={}/blocks", new_data.display()),
        format!("PDS_CRAWLERS={}", relay_from(NEW.1)),
        format!("PDS_DID_PLC_URL={PLC}"),
    ] {
        let o = wizard(NEW.0, &new_env, &["env", "set", &kv]);
        assert!(o.status.success(), "{}", common::output_text(&o));
    }

    // 4. The old PDS stopped (systemctl stop pds, as the lab does it); the final backup of
    // the stopped PDS; copied.
    old.stop_pds_only();
    let o = wizard(
        OLD.0,
        &old_env,
        &["backup", "create", old_dest.to_str().unwrap()],
    );
    let text = common::output_text(&o);
    assert_eq!(o.status.code(), Some(0), "{text}");
    let last = std::path::PathBuf::from(String::from_utf8_lossy(&o.stdout).trim().to_string());
    copy(&old_dest, &new_dest);
    let last = new_dest.join(last.file_name().unwrap());

    // 5. Restored on the new machine, verified first, not started.
    let o = wizard(
        NEW.0,
        &new_env,
        &[
            "backup",
            "restore",
            last.to_str().unwrap(),
            "--to",
            new_data.to_str().unwrap(),
            "--no-start",
            "--yes",
        ],
    );
    let text = common::output_text(&o);
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert!(text.contains("Not started (--no-start)"), "{text}");

    // 6. The address records switched to the new machine; then it starts.
    dns.set_zone(&zone(NEW.2));
    let _new = start(NEW.0, &new_env, &new_data);

    // 7. The relay: a crawl asked, an event written, watched until it follows the new one.
    let o = wizard(
        NEW.0,
        &new_env,
        &["relay", "repair", "--yes", "--watch", "30"],
    );
    let text = common::output_text(&o);
    assert_eq!(o.status.code(), Some(0), "{text}");
    let s = relay.wait_for(30, |s| s["status"] == "active");
    assert_eq!(s["status"], "active", "{s}\n{text}");

    // Every account served by the new machine, the old one down.
    let new_url = format!("http://{}:2583", NEW.2);
    let repos = curl(&[&format!("{new_url}/xrpc/com.atproto.sync.listRepos")]);
    let mut served: Vec<String> = repos["repos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["did"].as_str().unwrap().to_string())
        .collect();
    served.sort();
    dids.sort();
    assert_eq!(served, dids, "{repos}");
    for did in &dids {
        let v = curl(&[&format!("{new_url}/xrpc/com.atproto.repo.listRecords?repo={did}&collection=com.example.move.note")]);
        assert_eq!(v["records"].as_array().map(Vec::len), Some(3), "{v}");
    }
    let down = Command::new("curl")
        .args(["-s", "--max-time", "2", &format!("{url}/xrpc/_health")])
        .output()
        .unwrap();
    assert!(!down.status.success(), "the old machine still answers");
    std::thread::sleep(Duration::from_millis(10));
}

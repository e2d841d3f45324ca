//! `accounts migrate-in` against two real PDSes (the lab's) on one real PLC directory
//! (`@did-plc/server`, which checks every operation's signature), the old one mailing the
//! PLC token to the lab's SMTP server as it would to the account holder, and the relay
//! stand-in following the new one's firehose; the new one behind the nginx config `proxy
//! render nginx` writes, where the doctor's checks reach it by name. Each test has its own
//! pair (about 6 s to start); the whole suite runs in about two minutes.

mod common;

use common::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const PASSWORD: &str = "pw-1234567";
const APPVIEW_URL: &str = "http://127.0.0.1:9";
const APPVIEW_DID: &str = "did:web:appview.test";
/// The new PDS's name: its public URL (what the PLC directory names after the move) is
/// https://HOST, reached through its front.
const HOST: &str = "pds.example.test";

struct Pair {
    old: PdsLab,
    new: PdsLab,
    smtp: SmtpServers,
    relay: Relay,
    /// The new PDS's HTTPS front (the config `proxy render nginx` writes), where the doctor's
    /// checks reach it by its name.
    front: Option<Nginx>,
    front_addr: String,
    ca: common::TestCa,
    env_file: PathBuf,
    state: PathBuf,
    dir: tempfile::TempDir,
}

/// The old PDS (mailing through the lab's SMTP server) and the new one on its PLC
/// directory with a rotation key of its own; pds.env for the new one, `extra` added.
fn pair(new_env: Value, extra: &str) -> Pair {
    let smtp = SmtpServers::start_as("pds@example.test", "smtp-pw", None);
    let old = PdsLab::start_on_plc(
        None,
        json!({
            "PDS_EMAIL_SMTP_URL": format!("smtps://pds%40example.test:smtp-pw@localhost:{}", smtp.implicit),
            "PDS_EMAIL_FROM_ADDRESS": "pds@example.test",
            "PDS_BSKY_APP_VIEW_URL": APPVIEW_URL,
            "PDS_BSKY_APP_VIEW_DID": APPVIEW_DID,
        }),
        Some(&smtp.ca),
        &[],
    );
    // As the installer writes it: an app view named (the PDS keeps preferences only then;
    // nothing is asked of it here).
    let mut env = json!({
        "PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX": "22".repeat(32),
        "PDS_HOSTNAME": HOST,
        "PDS_BSKY_APP_VIEW_URL": APPVIEW_URL,
        "PDS_BSKY_APP_VIEW_DID": APPVIEW_DID,
    });
    for (k, v) in new_env.as_object().unwrap() {
        env[k] = v.clone();
    }
    // The new PDS reads its limits from pds.env at each start, as the installed one does.
    let dir = tempfile::tempdir().unwrap();
    let env_file = dir.path().join("pds.env");
    std::fs::write(&env_file, extra).unwrap();
    let new = PdsLab::start_on_plc(
        Some(&old.plc_url),
        env,
        None,
        &[
            ("PDS_LAB_ENV_FILE", env_file.display().to_string()),
            ("PDS_LAB_ENV_KEYS", "PDS_RATE_LIMITS_ENABLED,PDS_RATE_LIMIT_BYPASS_IPS,PDS_BLOB_UPLOAD_LIMIT,PDS_MAX_REPO_IMPORT_SIZE".into()),
        ],
    );
    let relay = Relay::following(HOST, 0, new.pds_port, &[]);
    std::fs::write(
        &env_file,
        format!(
            "PDS_HOSTNAME={HOST}\nPDS_PORT={}\nPDS_ADMIN_PASSWORD={PDS_ADMIN}\nPDS_DID_PLC_URL={}\nPDS_CRAWLERS={}\nPDS_BSKY_APP_VIEW_URL={APPVIEW_URL}\nPDS_BSKY_APP_VIEW_DID={APPVIEW_DID}\n{extra}",
            new.pds_port, old.plc_url, relay.url
        ),
    )
    .unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir(dir.path().join("ca")).unwrap();
    let ca = make_ca_for(
        &dir.path().join("ca"),
        &format!("DNS:{HOST},DNS:localhost,IP:127.0.0.1"),
    );
    let port = free_dual_port();
    let conf = dir.path().join("sites/pds.conf");
    render_loopback_nginx(&env_file, &conf, &ca.cert, &ca.key, port);
    let ndir = tempfile::tempdir().unwrap();
    let front = Nginx::start_in(ndir, port, &ca, &format!("include {};\n", conf.display()));
    Pair {
        front_addr: front.addr().to_string(),
        front: Some(front),
        ca,
        old,
        new,
        smtp,
        relay,
        env_file,
        state,
        dir,
    }
}

/// An account on the old PDS with a few posts, a preference and `blobs` blobs of its own
/// bytes (each referenced by a record): its DID, and the bytes by CID.
struct Source {
    did: String,
    handle: String,
    blobs: Vec<(String, Vec<u8>)>,
}

fn source(lab: &PdsLab, handle: &str, blobs: usize, size: usize) -> Source {
    let v = lab.create_session(handle);
    let did = v["did"].as_str().unwrap().to_string();
    let token = v["accessJwt"].as_str().unwrap().to_string();
    let bytes: Vec<Vec<u8>> = (0..blobs)
        .map(|i| {
            let mut b = format!("{handle} blob {i} ").into_bytes();
            b.resize(size + i, (i % 251) as u8);
            b
        })
        .collect();
    let refs = upload(lab, &token, &bytes);
    let mut writes: Vec<Value> = refs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            json!({"$type": "com.atproto.repo.applyWrites#create", "collection": "com.example.media",
                "value": {"$type": "com.example.media", "n": i, "file": r["blob"].clone()}})
        })
        .collect();
    for i in 0..3 {
        writes.push(json!({"$type": "com.atproto.repo.applyWrites#create", "collection": "app.bsky.feed.post",
            "value": {"$type": "app.bsky.feed.post", "text": format!("post {i} before the move"), "createdAt": "2026-12-07T10:00:00.000Z"}}));
    }
    for chunk in writes.chunks(200) {
        let (code, v) = lab.xrpc_post(
            "com.atproto.repo.applyWrites",
            &json!({"repo": did, "writes": chunk}),
            Some(&token),
        );
        assert_eq!(code, 200, "applyWrites: {v}");
    }
    let (code, v) = lab.xrpc_post(
        "app.bsky.actor.putPreferences",
        &json!({"preferences": [{"$type": "app.bsky.actor.defs#adultContentPref", "enabled": true}]}),
        Some(&token),
    );
    assert_eq!(code, 200, "putPreferences: {v}");
    Source {
        did,
        handle: handle.to_string(),
        blobs: refs
            .iter()
            .zip(bytes)
            .map(|(r, b)| (r["blob"]["ref"]["$link"].as_str().unwrap().to_string(), b))
            .collect(),
    }
}

/// uploadBlob for each of `blobs`, in one curl (a thousand processes would take a while).
fn upload(lab: &PdsLab, token: &str, blobs: &[Vec<u8>]) -> Vec<Value> {
    if blobs.is_empty() {
        return Vec::new();
    }
    let dir = tempfile::tempdir().unwrap();
    let mut config = String::new();
    for (i, b) in blobs.iter().enumerate() {
        let f = dir.path().join(format!("b{i}"));
        std::fs::write(&f, b).unwrap();
        if i > 0 {
            config.push_str("next\n");
        }
        config.push_str(&format!(
            "url = \"{}/xrpc/com.atproto.repo.uploadBlob\"\nrequest = \"POST\"\nheader = \"authorization: Bearer {token}\"\nheader = \"content-type: application/octet-stream\"\ndata-binary = \"@{}\"\nsilent\n",
            lab.pds_url,
            f.display()
        ));
    }
    let conf = dir.path().join("curl.conf");
    std::fs::write(&conf, config).unwrap();
    let out = Command::new("curl").arg("-K").arg(&conf).output().unwrap();
    let refs: Vec<Value> = serde_json::Deserializer::from_slice(&out.stdout)
        .into_iter::<Value>()
        .map(|v| v.unwrap())
        .collect();
    assert_eq!(
        refs.len(),
        blobs.len(),
        "uploads: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        refs.iter().all(|r| r["blob"].is_object()),
        "{:?}",
        refs.first()
    );
    refs
}

/// `accounts migrate-in` as an operator runs it (the password on stdin), with the state
/// directory of the pair; `abort` kills it after that step (PDS_WIZARD_TEST_ABORT_AFTER).
fn migrate(
    p: &Pair,
    from: &str,
    handle: &str,
    email: &str,
    token: Option<&str>,
    abort: Option<&str>,
    flags: &[&str],
) -> Output {
    run(p, from, handle, email, token, abort, flags, &[])
}

/// `migrate` with `sub` after the subcommand's own arguments.
fn migrate_with(
    p: &Pair,
    from: &str,
    handle: &str,
    email: &str,
    flags: &[&str],
    sub: &[&str],
) -> Output {
    run(p, from, handle, email, None, None, flags, sub)
}

#[allow(clippy::too_many_arguments)]
fn run(
    p: &Pair,
    from: &str,
    handle: &str,
    email: &str,
    token: Option<&str>,
    abort: Option<&str>,
    flags: &[&str],
    sub: &[&str],
) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pds-wizard"));
    cmd.arg("--env-file")
        .arg(&p.env_file)
        .args(front_flags(p))
        .args(flags);
    cmd.args([
        "accounts",
        "migrate-in",
        "--from",
        from,
        "--old-pds",
        &p.old.pds_url,
        "--handle",
        handle,
        "--email",
        email,
        "--yes",
    ]);
    cmd.args(sub);
    if let Some(t) = token {
        cmd.args(["--plc-token", t]);
    }
    cmd.env("XDG_STATE_HOME", &p.state)
        .env_remove("PDS_WIZARD_TEST_ABORT_AFTER");
    if let Some(a) = abort {
        cmd.env("PDS_WIZARD_TEST_ABORT_AFTER", a);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// HTTPS checks to the new PDS's front, its CA trusted.
fn front_flags(p: &Pair) -> Vec<String> {
    vec![
        "--connect-to".into(),
        p.front_addr.clone(),
        "--ca-file".into(),
        p.ca.ca.display().to_string(),
    ]
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The PLC token in the next mail the old PDS sends ("XXXXX-XXXXX").
fn token_from_mail(p: &Pair) -> String {
    let mail = p.smtp.wait_for_mail(Duration::from_secs(30));
    let data = mail["data"].as_str().unwrap_or_default().to_string();
    let chars: Vec<char> = data.chars().collect();
    let ok = |c: &char| c.is_ascii_uppercase() || c.is_ascii_digit();
    for w in chars.windows(11) {
        if w[5] == '-' && w[..5].iter().all(ok) && w[6..].iter().all(ok) {
            return w.iter().collect();
        }
    }
    panic!("no PLC token in the mail: {data}");
}

fn get(url: &str) -> (u16, Value) {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10", "-w", "\n%{http_code}", url])
        .output()
        .unwrap();
    let t = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, code) = t.rsplit_once('\n').unwrap_or(("", &t));
    (
        code.trim().parse().unwrap_or(0),
        serde_json::from_str(body).unwrap_or(Value::Null),
    )
}

fn get_bytes(url: &str) -> Vec<u8> {
    Command::new("curl")
        .args(["-sS", "--max-time", "10", url])
        .output()
        .unwrap()
        .stdout
}

/// Whether this PDS holds an account with `did` (the admin API).
fn exists(lab: &PdsLab, did: &str) -> bool {
    let out = Command::new("curl")
        .args(["-sS", "-o", "/dev/null", "-w", "%{http_code}", "-u"])
        .arg(format!("admin:{PDS_ADMIN}"))
        .arg(format!(
            "{}/xrpc/com.atproto.admin.getAccountInfo?did={did}",
            lab.pds_url
        ))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout) == "200"
}

/// createSession's answer on `lab` (active, status…).
fn signed_in(lab: &PdsLab, did: &str) -> Value {
    lab.xrpc_post(
        "com.atproto.server.createSession",
        &json!({"identifier": did, "password": PASSWORD}),
        None,
    )
    .1
}

fn plc_endpoint(p: &Pair, did: &str) -> String {
    get(&format!("{}/{did}/data", p.old.plc_url)).1["services"]["atproto_pds"]["endpoint"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Every record of `did` in `collection` on `lab`: (rkey, value).
fn records(lab: &PdsLab, did: &str, collection: &str) -> Vec<(String, Value)> {
    let (code, v) = get(&format!(
        "{}/xrpc/com.atproto.repo.listRecords?repo={did}&collection={collection}&limit=100",
        lab.pds_url
    ));
    assert_eq!(code, 200, "listRecords: {v}");
    let mut out: Vec<(String, Value)> = v["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["uri"]
                    .as_str()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_string(),
                r["value"].clone(),
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Moved whole: the PLC names the new PDS, the account is active there and deactivated on
/// the old one, every blob's bytes are on the new one, no blob is missing.
fn assert_moved(p: &Pair, s: &Source) {
    assert_eq!(plc_endpoint(p, &s.did), format!("https://{HOST}"));
    let here = signed_in(&p.new, &s.did);
    assert_eq!(here["active"], json!(true), "{here}");
    let there = signed_in(&p.old, &s.did);
    assert_eq!(there["active"], json!(false), "{there}");
    assert_eq!(there["status"], json!("deactivated"), "{there}");
    for (cid, bytes) in &s.blobs {
        let got = get_bytes(&format!(
            "{}/xrpc/com.atproto.sync.getBlob?did={}&cid={cid}",
            p.new.pds_url, s.did
        ));
        assert!(got == *bytes, "blob {cid} differs on the new PDS");
    }
    let token = here["accessJwt"].as_str().unwrap();
    let out = Command::new("curl")
        .args(["-sS", "-H", &format!("authorization: Bearer {token}")])
        .arg(format!(
            "{}/xrpc/com.atproto.repo.listMissingBlobs?limit=1000",
            p.new.pds_url
        ))
        .output()
        .unwrap();
    let missing: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(missing["blobs"], json!([]), "{missing}");
}

/// Run until moved: a run that stops for the token gets the mailed one.
fn finish(p: &Pair, s: &Source, handle: &str, email: &str) -> Vec<Output> {
    let mut runs = Vec::new();
    let first = migrate(p, &s.did, handle, email, None, None, &[]);
    let code = first.status.code();
    runs.push(first);
    if code == Some(4) {
        let token = token_from_mail(p);
        runs.push(migrate(p, &s.did, handle, email, Some(&token), None, &[]));
    }
    let last = runs.last().unwrap();
    assert_eq!(last.status.code(), Some(0), "{}", text(last));
    runs
}

#[test]
fn an_account_with_records_preferences_and_50_blobs_moves_whole() {
    let p = pair(json!({}), "");
    let s = source(&p.old, "alice.test", 50, 3000);
    let before_media = records(&p.old, &s.did, "com.example.media");
    let before_posts = records(&p.old, &s.did, "app.bsky.feed.post");
    assert_eq!(before_media.len(), 50);
    // Where it starts: on the old PDS only.
    assert_eq!(plc_endpoint(&p, &s.did), p.old.pds_url);
    assert!(!exists(&p.new, &s.did));

    // By its handle: the first run copies everything and stops for the mailed token.
    let o = migrate(
        &p,
        "alice.test",
        "alice.test",
        "alice@example.test",
        None,
        None,
        &[],
    );
    let out = text(&o);
    assert_eq!(o.status.code(), Some(4), "{out}");
    for said in [
        "every limit of this PDS allows the move",
        "imported the repository",
        "copied the preferences (1)",
        "every blob is here",
        "has mailed a code",
        "--plc-token",
    ] {
        assert!(out.contains(said), "{said:?} in {out}");
    }
    assert!(!out.contains(PASSWORD), "{out}");
    let state = p
        .state
        .join("pds-wizard/migrate-in")
        .join(format!("{}.json", s.did.replace(':', "_")));
    let saved = std::fs::read_to_string(&state).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&state).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(
        !saved.contains(PASSWORD) && saved.contains("\"blobs\""),
        "{saved}"
    );
    // Still the old PDS's until the token: here, deactivated, the data complete.
    assert_eq!(plc_endpoint(&p, &s.did), p.old.pds_url);
    assert_eq!(signed_in(&p.new, &s.did)["active"], json!(false));
    assert_eq!(signed_in(&p.old, &s.did)["active"], json!(true));
    let token = token_from_mail(&p);

    // A wrong token: said, and nothing moves.
    let o = migrate(
        &p,
        &s.did,
        "alice.test",
        "alice@example.test",
        Some("AAAAA-BBBBB"),
        None,
        &[],
    );
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("Token is invalid") && out.contains("latest mail"),
        "{out}"
    );
    assert_eq!(plc_endpoint(&p, &s.did), p.old.pds_url);

    // The right one, expired (mailed 20 minutes ago): said, with the way on.
    let db = p.old.data_dir().join("account.sqlite");
    let aged = Command::new("sqlite3")
        .arg(&db)
        .arg("UPDATE email_token SET requestedAt = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-20 minutes') WHERE purpose = 'plc_operation'")
        .status()
        .unwrap();
    assert!(aged.success());
    let o = migrate(
        &p,
        &s.did,
        "alice.test",
        "alice@example.test",
        Some(&token),
        None,
        &[],
    );
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("Token is expired") && out.contains("rerun without --plc-token"),
        "{out}"
    );
    assert_eq!(plc_endpoint(&p, &s.did), p.old.pds_url);

    // A new mail, and the move completes (the repository not sent again).
    let runs = finish(&p, &s, "alice.test", "alice@example.test");
    let out = text(runs.last().unwrap());
    assert!(!out.contains("imported the repository"), "{out}");
    for said in [
        "validDid true",
        "the PLC directory now names this PDS",
        "is active here",
        "deactivated on the old PDS",
        "the old PDS reports the account deactivated",
        "alice.test resolves to",
        "sees the account active",
        "rotation key of your own",
        // Named, and nothing there in the lab: said, not hidden.
        "the app view http://127.0.0.1:9 does not show the profile yet",
    ] {
        assert!(out.contains(said), "{said:?} in {out}");
    }
    assert_moved(&p, &s);
    assert_eq!(records(&p.new, &s.did, "com.example.media"), before_media);
    assert_eq!(records(&p.new, &s.did, "app.bsky.feed.post"), before_posts);
    let here = signed_in(&p.new, &s.did);
    let token = here["accessJwt"].as_str().unwrap();
    let (_, prefs) = {
        let out = Command::new("curl")
            .args(["-sS", "-H", &format!("authorization: Bearer {token}")])
            .arg(format!(
                "{}/xrpc/app.bsky.actor.getPreferences",
                p.new.pds_url
            ))
            .output()
            .unwrap();
        ((), serde_json::from_slice::<Value>(&out.stdout).unwrap())
    };
    assert_eq!(prefs["preferences"][0]["enabled"], json!(true), "{prefs}");
    // The relay: the account active, and its first post after the move reaches it.
    let (code, status) = get(&format!(
        "{}/xrpc/com.atproto.sync.getRepoStatus?did={}",
        p.relay.url, s.did
    ));
    assert_eq!(
        (code, status["active"].clone()),
        (200, json!(true)),
        "{status}"
    );
    let (code, v) = p.new.xrpc_post(
        "com.atproto.repo.createRecord",
        &json!({"repo": s.did, "collection": "app.bsky.feed.post",
            "record": {"$type": "app.bsky.feed.post", "text": "home", "createdAt": "2026-12-07T12:00:00.000Z"}}),
        Some(token),
    );
    assert_eq!(code, 200, "{v}");
    let seen = p.relay.wait_for(10, |st| {
        st["events"].as_array().is_some_and(|e| {
            e.iter()
                .any(|x| x["type"] == "#commit" && x["did"] == json!(s.did.clone()))
        })
    });
    assert!(
        seen["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["type"] == "#commit" && x["did"] == json!(s.did.clone())),
        "{seen}"
    );
    // Run again: nothing left to do, nothing done twice.
    let o = migrate(
        &p,
        &s.did,
        "alice.test",
        "alice@example.test",
        None,
        None,
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("the move itself is done"), "{}", text(&o));
    assert_moved(&p, &s);
    // The post made here after the move is still here: nothing of the old PDS's was
    // copied over it.
    let posts = records(&p.new, &s.did, "app.bsky.feed.post");
    assert_eq!(posts.len(), before_posts.len() + 1);
    assert!(posts.iter().any(|(_, v)| v["text"] == "home"), "{posts:?}");
    let _ = &p.dir;
}

/// Killed right after each step (the step done, its record not yet saved), a rerun
/// finishes the move every time: no second account, no blob lost.
#[test]
fn a_migration_killed_after_any_step_finishes_when_run_again() {
    let p = pair(json!({}), "");
    for (i, stage) in [
        "checked",
        "created",
        "imported",
        "preferences",
        "blobs",
        "token-sent",
        "submitted",
        "activated",
        "old-deactivated",
    ]
    .iter()
    .enumerate()
    {
        let handle = format!("kill{i}.test");
        let email = format!("kill{i}@example.test");
        let s = source(&p.old, &handle, 3, 500);
        // The run that stops for the token gets it first, then dies at the later steps.
        let mut token = None;
        if i >= 6 {
            let o = migrate(&p, &s.did, &handle, &email, None, None, &[]);
            assert_eq!(o.status.code(), Some(4), "{}", text(&o));
            token = Some(token_from_mail(&p));
        }
        let o = migrate(
            &p,
            &s.did,
            &handle,
            &email,
            token.as_deref(),
            Some(stage),
            &[],
        );
        assert!(
            o.status.code().is_none(),
            "{stage}: the run was to die there: {}",
            text(&o)
        );
        if *stage == "token-sent" {
            // Its mail went out; the rerun asks for another.
            let _ = token_from_mail(&p);
        }
        // Killed before the account was made, the rerun takes a corrected email (and
        // checks it again); after that, the saved one stays.
        let email = match *stage {
            "checked" => format!("kill{i}-fixed@example.test"),
            _ => email,
        };
        finish(&p, &s, &handle, &email);
        assert_moved(&p, &s);
        assert_eq!(s.handle, handle);
        // One account with this DID and email here: the rerun made no second one.
        let o = run_cli(&p.env_file, &["--json", "accounts"], "");
        let list = String::from_utf8_lossy(&o.stdout).to_string();
        assert_eq!(list.matches(&email).count(), 1, "{stage}: {list}");
        assert_eq!(list.matches(&s.did).count(), 1, "{stage}: {list}");
    }
}

/// Refused before any write (exit 1), saying each of `said`.
fn refused(p: &Pair, s: &Source, email: &str, flags: &[&str], said: &[&str]) {
    let o = migrate(p, &s.did, &s.handle, email, None, None, flags);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    for w in said {
        assert!(out.contains(w), "{w:?} in {out}");
    }
    nothing_written(p, s, &out);
}

/// Refused before any write: nothing here, nothing moved there, no PLC mail.
fn nothing_written(p: &Pair, s: &Source, out: &str) {
    assert!(out.contains("Nothing was written"), "{out}");
    assert!(!exists(&p.new, &s.did), "{out}");
    assert_eq!(plc_endpoint(p, &s.did), p.old.pds_url);
    assert_eq!(signed_in(&p.old, &s.did)["active"], json!(true));
    assert_eq!(p.smtp.mail_count(), 0, "no PLC mail before the checks pass");
}

/// Every blocker is said with its fix before anything is written, here or there.
#[test]
fn each_blocker_is_refused_before_any_write() {
    let mut p = pair(
        json!({ "PDS_BLOB_UPLOAD_LIMIT": "20000", "PDS_MAX_REPO_IMPORT_SIZE": "10000000", "PDS_RATE_LIMITS_ENABLED": "true" }),
        "PDS_BLOB_UPLOAD_LIMIT=20000\nPDS_MAX_REPO_IMPORT_SIZE=10000000\nPDS_RATE_LIMITS_ENABLED=true\n",
    );
    let small = source(&p.old, "small.test", 2, 500);

    // No email.
    refused(&p, &small, "", &[], &["is not an email address", "--email"]);

    // No invite: this PDS requires one, and the admin password in pds.env is not its own.
    let good = std::fs::read_to_string(&p.env_file).unwrap();
    let wrong = good.replace(PDS_ADMIN, "not-the-admin-password");
    std::fs::write(&p.env_file, wrong).unwrap();
    refused(
        &p,
        &small,
        "small@example.test",
        &[],
        &["invite", "PDS_ADMIN_PASSWORD"],
    );
    std::fs::write(&p.env_file, &good).unwrap();

    // A proxy in front (nginx, with TLS) whose body limit is under the repository's size.
    let nginx = Nginx::start_in(
        tempfile::tempdir().unwrap(),
        free_dual_port(),
        &p.ca,
        &format!("  server {{ listen 127.0.0.1:{{PORT}} ssl; server_name localhost; ssl_certificate {{CERT}}; ssl_certificate_key {{KEY}}; client_max_body_size 100; location / {{ proxy_pass http://127.0.0.1:{}; }} }}", p.new.pds_port),
    );
    let front = format!("https://localhost:{}", nginx.port);
    refused(
        &p,
        &small,
        "small@example.test",
        &["--pds-url", &front],
        &[
            "a proxy in front of this PDS",
            "HTTP 413",
            "client_max_body_size",
        ],
    );

    // A blob over this PDS's upload limit.
    let big = source(&p.old, "big.test", 1, 30000);
    refused(
        &p,
        &big,
        "big@example.test",
        &[],
        &["over this PDS's upload limit", "PDS_BLOB_UPLOAD_LIMIT"],
    );

    // More blobs than this PDS takes from one address in a day, rate limits on.
    let many = source(&p.old, "many.test", 1001, 16);
    refused(
        &p,
        &many,
        "many@example.test",
        &[],
        &[
            "1001 blobs, over the 1000 uploads a day",
            "--bypass-upload-limit",
        ],
    );

    // Let past for the copy: pds.env changed and the PDS restarted, every blob copied,
    // then pds.env as it was and the PDS restarted again.
    let before = std::fs::read_to_string(&p.env_file).unwrap();
    assert!(!before.contains("PDS_RATE_LIMIT_BYPASS_IPS"));
    let restart = restart_script(p.dir.path(), &p.new);
    let o = migrate_with(
        &p,
        &many.did,
        "many.test",
        "many@example.test",
        &[
            "--restart-command",
            restart.to_str().unwrap(),
            "--timeout",
            "30",
        ],
        &["--bypass-upload-limit"],
    );
    let out = text(&o);
    assert_eq!(o.status.code(), Some(4), "{out}");
    assert!(
        out.contains("lets this machine past the daily upload limit")
            && out.contains("is as it was again")
            && out.contains("every blob is here (listMissingBlobs is empty; 1001 copied now)"),
        "{out}"
    );
    assert_eq!(std::fs::read_to_string(&p.env_file).unwrap(), before);
    let log = std::fs::read_to_string(p.new.lab_log()).unwrap();
    assert_eq!(log.matches("pds_lab: restarted").count(), 2, "{log}");
    // (its PLC mail went out: the data is complete)
    let _ = token_from_mail(&p);

    // This PDS out of reach by HTTPS (its front down): the network could not reach the
    // account here.
    drop(p.front.take());
    refused(
        &p,
        &small,
        "small@example.test",
        &[],
        &[
            "the doctor's https check fails",
            "pds-wizard doctor --only https",
        ],
    );
    let _ = Path::new("");
}

/// The journey in the wizard: the Accounts step's fields, ^B, y; the token from the mail
/// typed where the cursor is put, ^B again; the account lives here. Keystroke by
/// keystroke against the real PDSes.
#[test]
fn the_wizard_brings_an_account_home_from_the_accounts_step() {
    use common::pty::Session;
    use portable_pty::CommandBuilder;
    let p = pair(json!({}), "");
    let s = source(&p.old, "wanda.test", 5, 800);
    assert!(!exists(&p.new, &s.did));
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_pds-wizard"));
    cmd.args([
        "--env-file",
        p.env_file.to_str().unwrap(),
        "--timeout",
        "10",
    ]);
    cmd.args(front_flags(&p));
    cmd.cwd(p.dir.path());
    cmd.env("TERM", "xterm-256color");
    cmd.env("XDG_STATE_HOME", &p.state);
    let mut w = Session::start(cmd, 24, 80);
    w.wait_text("Overview");
    let mut keys = w.open_step("Accounts");
    // Account, Move it to, then the new account's handle and email here; ^B shows where
    // it is now and its password there.
    assert!(!w.screen().contains("Bring in"), "{}", w.screen());
    w.send("\t\twanda.test\talice-home@example.test");
    w.send("\x02");
    w.wait_text("Bring in");
    w.send(&s.did);
    w.send("\t");
    w.send(PASSWORD);
    keys += 5 + "wanda.test".len() as u32 + "alice-home@example.test".len() as u32;
    keys += (s.did.len() + PASSWORD.len()) as u32;
    assert!(
        !w.screen().contains(PASSWORD),
        "the password is masked:\n{}",
        w.screen()
    );
    w.send("\x02");
    w.wait_text("Bring the account here?");
    w.send("y");
    keys += 2;
    w.wait_for_within("the token mail", Duration::from_secs(60), |x| {
        x.screen().contains("type it in PLC token")
    });
    // Every step in a pop-up; Enter closes it, the cursor waits in PLC token.
    let screen = w.screen();
    assert!(screen.contains("Waiting for the PLC token"), "{screen}");
    assert!(screen.contains("every blob is here"), "{screen}");
    assert!(exists(&p.new, &s.did));
    w.send("\r");
    keys += 1;
    w.wait_for("the pop-up closed", |x| {
        !x.screen().contains("Waiting for the PLC token")
    });
    assert_eq!(plc_endpoint(&p, &s.did), p.old.pds_url);
    let token = token_from_mail(&p);
    w.send(&token);
    w.send("\x02");
    keys += token.len() as u32 + 1;
    w.wait_for_within("the move", Duration::from_secs(60), |x| {
        x.screen().contains("lives here now")
    });
    let screen = w.screen();
    assert!(screen.contains("The account lives here now"), "{screen}");
    assert!(screen.contains("validDid true"), "{screen}");
    assert_moved(&p, &s);
    w.send("\r");
    keys += 1;
    // The list shows it, active.
    w.wait_for("the list", |x| x.screen().contains("1 account; wanda.test"));
    assert!(w.screen().contains("(active)"), "{}", w.screen());
    println!("keys for the journey (typing included): {keys}");
    w.send("\x11");

    // The command line at a terminal: the password and the code are asked for there.
    let c = source(&p.old, "cleo.test", 2, 700);
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_pds-wizard"));
    cmd.args(["--env-file", p.env_file.to_str().unwrap()]);
    cmd.args(front_flags(&p));
    cmd.args([
        "accounts",
        "migrate-in",
        "--from",
        &c.did,
        "--handle",
        "cleo.test",
        "--email",
        "cleo-home@example.test",
    ]);
    cmd.cwd(p.dir.path());
    cmd.env("TERM", "xterm-256color");
    cmd.env("XDG_STATE_HOME", &p.state);
    let mut t = Session::start(cmd, 40, 100);
    t.wait_text("password on the old PDS (not shown)");
    t.send(&format!("{PASSWORD}\r"));
    t.wait_text("[y/N]");
    t.send("y\r");
    t.wait_for_within("the code's prompt", Duration::from_secs(60), |x| {
        x.screen().contains("or Enter to stop here")
    });
    assert!(t.screen().contains("15 minutes"), "{}", t.screen());
    assert!(!t.screen().contains(PASSWORD), "{}", t.screen());
    let token = token_from_mail(&p);
    t.send(&format!("{token}\r"));
    t.wait_for_within("the move", Duration::from_secs(60), |x| {
        x.screen().contains("cleo.test now lives here")
    });
    assert_moved(&p, &c);
}

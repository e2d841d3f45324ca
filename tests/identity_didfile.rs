//! The atproto-did file: written into a web root, then checked over HTTPS against a real
//! nginx with a test CA, each failure diagnosed.

mod common;

use common::Nginx;
use pds_wizard::finding::Level;
use pds_wizard::http::HttpOptions;
use pds_wizard::identity::didfile::{check_did_file, write_did_file};
use pds_wizard::identity::{Did, Handle};
use std::time::Duration;

const DID: &str = "did:plc:goodgoodgood";

const SERVERS: &str = r#"
  server { listen 127.0.0.1:{PORT} ssl; server_name good.example.test other.example.test;
           ssl_certificate {CERT}; ssl_certificate_key {KEY}; root {DIR}/www-good; }
  server { listen 127.0.0.1:{PORT} ssl; server_name wrong.example.test;
           ssl_certificate {CERT}; ssl_certificate_key {KEY}; root {DIR}/www-wrong; }
  server { listen 127.0.0.1:{PORT} ssl; server_name html.example.test;
           ssl_certificate {CERT}; ssl_certificate_key {KEY};
           location / { default_type text/html; return 200 "<!doctype html><html><body>Welcome to my site</body></html>"; } }
  server { listen 127.0.0.1:{PORT} ssl; server_name missing.example.test;
           ssl_certificate {CERT}; ssl_certificate_key {KEY}; root {DIR}/www-empty; }
  server { listen 127.0.0.1:{PORT} ssl; server_name redirect.example.test;
           ssl_certificate {CERT}; ssl_certificate_key {KEY};
           return 301 https://other.example.test$request_uri; }
"#;

fn start() -> Nginx {
    Nginx::start(SERVERS, |dir| {
        for site in ["www-good", "www-wrong", "www-empty"] {
            std::fs::create_dir_all(dir.join(site)).unwrap();
        }
        // The real write path, into the web root nginx serves.
        write_did_file(&dir.join("www-good"), &Did::parse(DID).unwrap()).unwrap();
        write_did_file(
            &dir.join("www-wrong"),
            &Did::parse("did:plc:otherotherot").unwrap(),
        )
        .unwrap();
        // A did:web document for good.example.test, hosted by the PDS pds.example.test.
        std::fs::write(
            dir.join("www-good/.well-known/did.json"),
            r##"{"id":"did:web:good.example.test","alsoKnownAs":["at://good.example.test"],
                "service":[{"id":"#atproto_pds","type":"AtprotoPersonalDataServer","serviceEndpoint":"https://pds.example.test"}]}"##,
        )
        .unwrap();
    })
}

fn opts(n: &Nginx) -> HttpOptions {
    HttpOptions {
        timeout: Duration::from_secs(5),
        ca_file: Some(n.ca.clone()),
        connect_to: Some(n.addr()),
    }
}

async fn check(n: &Nginx, handle: &str) -> pds_wizard::identity::didfile::DidFileCheck {
    check_did_file(
        &Handle::parse(handle).unwrap(),
        Some(&Did::parse(DID).unwrap()),
        &opts(n),
    )
    .await
}

#[test]
fn write_creates_the_file_world_readable_and_keeps_a_backup() {
    use std::os::unix::fs::MetadataExt;
    let d = tempfile::tempdir().unwrap();
    write_did_file(d.path(), &Did::parse("did:plc:first").unwrap()).unwrap();
    let r = write_did_file(d.path(), &Did::parse(DID).unwrap()).unwrap();
    let f = d.path().join(".well-known/atproto-did");
    assert_eq!(std::fs::read_to_string(&f).unwrap(), DID);
    assert_eq!(std::fs::metadata(&f).unwrap().mode() & 0o777, 0o644);
    assert_eq!(
        std::fs::read_to_string(r.backup.unwrap()).unwrap(),
        "did:plc:first"
    );
    assert!(write_did_file(&d.path().join("nope"), &Did::parse(DID).unwrap()).is_err());
}

#[tokio::test]
async fn each_way_of_serving_it_gets_its_diagnosis() {
    let n = start();
    let c = check(&n, "good.example.test").await;
    assert_eq!(c.finding.level, Level::Pass, "{c:#?}");
    assert_eq!(c.body.as_deref(), Some(DID));

    let c = check(&n, "wrong.example.test").await;
    assert!(
        c.finding
            .what
            .contains("names did:plc:otherotherot, not did:plc:goodgoodgood"),
        "{c:#?}"
    );

    let c = check(&n, "html.example.test").await;
    assert!(c.finding.what.contains("HTML page"), "{c:#?}");
    assert_eq!(c.status, Some(200));

    let c = check(&n, "missing.example.test").await;
    assert!(c.finding.what.contains("HTTP 404"), "{c:#?}");
    assert!(c.finding.fix.contains("did-file write"));

    // A redirect to another host: followed (as the Bluesky resolver does), and named.
    let c = check(&n, "redirect.example.test").await;
    assert_eq!(c.finding.level, Level::Pass, "{c:#?}");
    assert!(
        c.final_url.starts_with("https://other.example.test/"),
        "{c:#?}"
    );
    assert!(
        c.notes
            .iter()
            .any(|f| f.level == Level::Warn && f.what.contains("redirects to another host")),
        "{c:#?}"
    );

    // A name the certificate does not cover.
    let c = check(&n, "handle.elsewhere.test").await;
    assert_eq!(c.finding.level, Level::Fail);
    assert!(
        c.finding.what.contains("TLS")
            && c.finding
                .why
                .contains("not issued for handle.elsewhere.test"),
        "{c:#?}"
    );

    // Without the test CA: an untrusted certificate.
    let mut o = opts(&n);
    o.ca_file = None;
    let c = check_did_file(&Handle::parse("good.example.test").unwrap(), None, &o).await;
    assert!(
        c.finding.what.contains("TLS") && c.finding.why.contains("trusted"),
        "{c:#?}"
    );
}

#[tokio::test]
async fn refused_and_silent_servers_are_explained() {
    let port = common::free_dual_port();
    let o = HttpOptions {
        timeout: Duration::from_secs(1),
        ca_file: None,
        connect_to: Some(format!("127.0.0.1:{port}").parse().unwrap()),
    };
    let c = check_did_file(&Handle::parse("good.example.test").unwrap(), None, &o).await;
    assert!(c.finding.what.contains("refused"), "{c:#?}");
    let _silent = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let started = std::time::Instant::now();
    let c = check_did_file(&Handle::parse("good.example.test").unwrap(), None, &o).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(
        c.finding.what.contains("did not answer within 1 s"),
        "{c:#?}"
    );
}

#[tokio::test]
async fn a_name_without_an_address_is_told_by_its_type() {
    // RFC 6761: .invalid never resolves; no --connect-to, so the system resolver is asked.
    let o = HttpOptions {
        timeout: Duration::from_secs(2),
        ca_file: None,
        connect_to: None,
    };
    let c = check_did_file(&Handle::parse("nowhere.invalid").unwrap(), None, &o).await;
    assert!(
        c.finding.what.contains("nowhere.invalid does not resolve"),
        "{c:#?}"
    );
}

#[tokio::test]
async fn did_web_documents_are_fetched_and_compared() {
    use pds_wizard::identity::diddoc::{agreement, fetch};
    let n = start();
    let did = Did::parse("did:web:good.example.test").unwrap();
    let doc = fetch(&did, "unused-for-did-web", &opts(&n))
        .await
        .expect("did.json");
    let handle = Handle::parse("good.example.test").unwrap();
    let ok = agreement(&doc, &did, &handle, Some("https://pds.example.test"));
    assert!(
        ok.findings.iter().all(|f| f.level == Level::Pass),
        "{ok:#?}"
    );
    let moved = agreement(&doc, &did, &handle, Some("https://new-pds.example.test"));
    assert!(
        moved
            .findings
            .iter()
            .any(|f| f.level == Level::Fail && f.what.contains("#atproto_pds")),
        "{moved:#?}"
    );
    // No document: a 404, explained.
    let e = fetch(
        &Did::parse("did:web:wrong.example.test").unwrap(),
        "x",
        &opts(&n),
    )
    .await
    .unwrap_err();
    assert!(e.what.contains("404"), "{e:#?}");
}

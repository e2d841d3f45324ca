//! The `_atproto` TXT check against a real authoritative DNS server (NSD on loopback).

mod common;

use common::Nsd;
use pds_wizard::finding::Level;
use pds_wizard::identity::dns::{check_txt, record_for, DnsOptions};
use pds_wizard::identity::{Did, Handle};
use std::time::{Duration, Instant};

const ZONE: &str = r#"$ORIGIN example.test.
$TTL 60
@               IN SOA ns1.example.test. admin.example.test. ( 1 3600 600 86400 60 )
@               IN NS  ns1.example.test.
ns1             IN A   127.0.0.1
_atproto        IN TXT "did=did:plc:apexapexapex"
_atproto.good   IN TXT "did=did:plc:goodgoodgood"
_atproto.wrong  IN TXT "did=did:plc:otherotherot"
_atproto.two    IN TXT "did=did:plc:goodgoodgood"
_atproto.two    IN TXT "did=did:plc:otherotherot"
_atproto.bare   IN TXT "did:plc:goodgoodgood"
_atproto.quoted IN TXT "\"did=did:plc:goodgoodgood\""
_atproto.cname  IN CNAME _atproto.good.example.test.
_atproto.notxt  IN A   127.0.0.2
_atproto.doubled.example.test IN TXT "did=did:plc:goodgoodgood"
"#;

fn opts(ns: &Nsd) -> DnsOptions {
    DnsOptions {
        nameserver: Some(ns.addr),
        timeout: Duration::from_secs(3),
    }
}

fn good() -> Did {
    Did::parse("did:plc:goodgoodgood").unwrap()
}

async fn check(ns: &Nsd, handle: &str) -> pds_wizard::identity::dns::DnsCheck {
    check_txt(&Handle::parse(handle).unwrap(), Some(&good()), &opts(ns)).await
}

#[tokio::test]
async fn each_record_shape_gets_its_diagnosis() {
    let ns = Nsd::start("example.test", ZONE);

    let c = check(&ns, "good.example.test").await;
    assert_eq!(c.zone.as_deref(), Some("example.test"));
    // The resolver and the zone's one authoritative server, both agreeing.
    assert_eq!(c.results.len(), 2, "{c:#?}");
    assert_eq!(c.results[1].server, "ns1.example.test");
    assert!(
        c.results.iter().all(|r| r.finding.level == Level::Pass),
        "{c:#?}"
    );
    assert_eq!(c.results[0].values, vec!["did=did:plc:goodgoodgood"]);

    for (handle, level, needle) in [
        (
            "wrong.example.test",
            Level::Fail,
            "not did:plc:goodgoodgood",
        ),
        ("two.example.test", Level::Fail, "2 did= records"),
        ("bare.example.test", Level::Fail, "without the did= prefix"),
        ("quoted.example.test", Level::Fail, "quotes inside"),
        ("cname.example.test", Level::Warn, "CNAME"),
        ("notxt.example.test", Level::Fail, "has no TXT record"),
        ("missing.example.test", Level::Fail, "NXDOMAIN"),
    ] {
        let c = check(&ns, handle).await;
        for r in &c.results {
            assert_eq!(
                r.finding.level, level,
                "{handle} at {}: {:#?}",
                r.server, r.finding
            );
            assert!(
                r.finding.what.contains(needle),
                "{handle} at {}: {}",
                r.server,
                r.finding.what
            );
            assert!(!r.finding.fix.is_empty(), "{handle}: no fix");
        }
    }
}

/// A record created at the name with the zone twice (a DNS panel that appends the zone to
/// a full name) is found and named, with the name to use instead.
#[tokio::test]
async fn a_record_at_the_doubled_name_is_found_and_named() {
    let ns = Nsd::start("example.test", ZONE);
    let c = check(&ns, "doubled.example.test").await;
    assert_eq!(
        c.doubled.as_deref(),
        Some("_atproto.doubled.example.test.example.test")
    );
    let last = c.results.last().unwrap();
    assert_eq!(last.finding.level, Level::Fail);
    assert!(
        last.finding
            .what
            .contains("created at _atproto.doubled.example.test.example.test")
            && last
                .finding
                .fix
                .contains("Rename the record to _atproto.doubled"),
        "{:#?}",
        last.finding
    );
    // Where nothing was made at all, nothing more is said.
    assert_eq!(check(&ns, "missing.example.test").await.doubled, None);
}

#[tokio::test]
async fn the_record_to_create_names_the_zone() {
    let ns = Nsd::start("example.test", ZONE);
    let r = record_for(
        &Handle::parse("alice.example.test").unwrap(),
        &good(),
        &opts(&ns),
    )
    .await;
    assert_eq!(
        (r.zone.as_str(), r.relative_name.as_str()),
        ("example.test", "_atproto.alice")
    );
    let apex = record_for(&Handle::parse("example.test").unwrap(), &good(), &opts(&ns)).await;
    assert_eq!(apex.relative_name, "_atproto");
    assert_eq!(apex.full_name, "_atproto.example.test");
    // The apex record in the zone is found as such.
    let c = check_txt(&Handle::parse("example.test").unwrap(), None, &opts(&ns)).await;
    assert!(
        c.results[0].finding.what.contains("did:plc:apexapexapex"),
        "{c:#?}"
    );
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_within_the_bound() {
    // Bound on UDP and TCP, never answering.
    let (_udp, _tcp, port) = common::bind_dual();
    let o = DnsOptions {
        nameserver: Some(format!("127.0.0.1:{port}").parse().unwrap()),
        timeout: Duration::from_secs(1),
    };
    let started = Instant::now();
    let c = check_txt(
        &Handle::parse("good.example.test").unwrap(),
        Some(&good()),
        &o,
    )
    .await;
    let took = started.elapsed();
    assert!(took < Duration::from_millis(2000), "took {took:?}");
    let r = &c.results[0];
    assert_eq!(r.finding.level, Level::Fail);
    assert!(
        // The result names the server; its finding says what that server did.
        r.server.contains(&format!("127.0.0.1:{port}"))
            && r.finding.what.contains("did not answer within 1 s"),
        "{:#?}",
        r.finding
    );
}

/// A handle under the PDS's own name with no wildcard record: the handle check gives the
/// cause the doctor's DNS check gives (the missing *.HOST), not only "cannot connect".
#[tokio::test]
async fn a_handle_under_the_pds_host_without_a_wildcard_names_the_record() {
    let zone = format!("{ZONE}pds IN A 127.0.0.1\n");
    let ns = Nsd::start("example.test", &zone);
    let handle = Handle::parse("alice.pds.example.test").unwrap();
    let opts = pds_wizard::identity::VerifyOptions {
        dns: opts(&ns),
        http: pds_wizard::http::HttpOptions {
            timeout: Duration::from_secs(2),
            ca_file: None,
            connect_to: None,
        },
        plc_url: "http://127.0.0.1:9".into(),
        pds_public_url: Some("https://pds.example.test".into()),
        pds_local_url: None,
    };
    let r = pds_wizard::identity::verify(&handle, &good(), &opts).await;
    assert!(!r.verified);
    assert!(
        r.https.notes.iter().any(|f| f.level == Level::Fail
            && f.what.contains("need a wildcard record *.pds.example.test")),
        "{:#?}",
        r.https
    );
    // With the wildcard there, nothing more is said.
    let zone = format!("{ZONE}pds IN A 127.0.0.1\n*.pds IN A 127.0.0.1\n");
    let ns = Nsd::start("example.test", &zone);
    let opts = pds_wizard::identity::VerifyOptions {
        dns: self::opts(&ns),
        ..opts
    };
    let r = pds_wizard::identity::verify(&handle, &good(), &opts).await;
    assert!(
        !r.https.notes.iter().any(|f| f.what.contains("wildcard")),
        "{:#?}",
        r.https
    );
}

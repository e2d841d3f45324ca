//! The `_atproto` TXT check against `dig`, on the same local NSD: one lookup through the
//! resolver (--nameserver), and the whole check the wizard runs (the resolver, then the
//! zone's SOA and NS, then each authoritative server). RUNS sets the repetitions (default
//! 50); medians are reported.

#[path = "../tests/common/mod.rs"]
mod common;
mod support;

use support::median;

use pds_wizard::identity::dns::{check_txt, DnsOptions};
use pds_wizard::identity::{Did, Handle};
use std::process::Command;
use std::time::{Duration, Instant};

fn main() {
    let runs = support::runs(50);
    let did = "did:plc:ewvi7nxzyoun6zhxrhs64oiz";
    let nsd = common::Nsd::start(
        "example.test",
        &format!("$ORIGIN example.test.\n$TTL 60\n@ IN SOA ns.example.test. admin.example.test. 1 3600 600 86400 60\n@ IN NS ns.example.test.\nns IN A 127.0.0.1\n_atproto.alice IN TXT \"did={did}\"\n"),
    );
    let port = nsd.addr.port().to_string();
    let opts = DnsOptions {
        nameserver: Some(nsd.addr),
        timeout: Duration::from_secs(2),
    };
    let handle = Handle::parse("alice.example.test").unwrap();
    let did = Did::parse(did).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    let (mut dig, mut lookup, mut full) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let t = Instant::now();
        let o = Command::new("dig")
            .args([
                "+short",
                "+tries=1",
                "+time=2",
                "-p",
                &port,
                "@127.0.0.1",
                "TXT",
                "_atproto.alice.example.test",
            ])
            .output()
            .expect("dig: scripts/bench installs bind9-dnsutils");
        dig.push(t.elapsed());
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("did=did:plc"),
            "dig saw no record"
        );

        let t = Instant::now();
        let addrs = rt.block_on(pds_wizard::identity::dns::txt_values(
            "_atproto.alice.example.test",
            &opts,
        ));
        lookup.push(t.elapsed());
        assert!(addrs.iter().any(|v| v.starts_with("did=")), "{addrs:?}");

        let t = Instant::now();
        let c = rt.block_on(check_txt(&handle, Some(&did), &opts));
        full.push(t.elapsed());
        assert!(
            c.results.len() >= 2,
            "resolver and authoritative server: {c:?}"
        );
    }
    let (d, l, f) = (median(dig), median(lookup), median(full));
    println!("DNS benchmark: _atproto.alice.example.test at a local NSD, median of {runs} runs");
    println!(
        "  dig (a new process per query)           {:>7.2} ms",
        d.as_secs_f64() * 1000.0
    );
    println!(
        "  one TXT lookup in process               {:>7.2} ms  ({:.1}x faster than dig)",
        l.as_secs_f64() * 1000.0,
        d.as_secs_f64() / l.as_secs_f64()
    );
    println!(
        "  the whole check (resolver, SOA, NS, each authoritative server) {:>7.2} ms  ({:.1}x faster than dig)",
        f.as_secs_f64() * 1000.0,
        d.as_secs_f64() / f.as_secs_f64()
    );
}

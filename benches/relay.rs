//! Each account as a relay sees it, for hundreds of accounts: `relay::repo_states` (what
//! the doctor's relay-accounts check runs) against the stand-in relay answering every
//! request after DELAY_MS (default 200). ACCOUNTS sets how many (default 500), RUNS the
//! repetitions (default 3); medians are reported, with what one request after another
//! would take.

#[path = "../tests/common/mod.rs"]
mod common;
mod support;

use pds_wizard::relay::{repo_states, RepoState, CONCURRENCY};
use std::time::{Duration, Instant};
use support::median;

fn main() {
    let runs = support::runs(3);
    let accounts: usize = std::env::var("ACCOUNTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    let delay: u64 = std::env::var("DELAY_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let relay = common::Relay::start_with(
        "pds.example.test",
        1,
        "active",
        &[
            ("RELAY_DEFAULT_REPO", "active".into()),
            ("RELAY_DELAY_MS", delay.to_string()),
        ],
    );
    let dids: Vec<String> = (0..accounts)
        .map(|i| format!("did:plc:bench{i:06}"))
        .collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let c = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut times = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let states = rt.block_on(repo_states(&c, &relay.url, &dids, CONCURRENCY));
        times.push(t.elapsed());
        // Every answer read, none lost: the figure is for real work.
        assert!(
            states.iter().all(|s| *s == RepoState::Active),
            "{:?}",
            states.iter().find(|s| **s != RepoState::Active)
        );
    }
    let m = median(times);
    let serial = Duration::from_millis(delay * accounts as u64);
    println!(
        "relay-accounts: {accounts} accounts, {delay} ms per answer, {CONCURRENCY} at a time: {} ms (one after another: {} ms, {:.0}x)",
        m.as_millis(),
        serial.as_millis(),
        serial.as_secs_f64() / m.as_secs_f64()
    );
}

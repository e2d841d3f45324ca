//! "My posts don't show": a relay out of step with this PDS, as indigo's relay behaves
//! (the stand-in in assets/lab/relay.py follows the real PDS's firehose), diagnosed and
//! repaired. Each test shows the broken state first.

mod common;

use common::{PdsLab, Relay};

/// A wiped /pds (a fresh sequencer, no `repo_seq` row) behind a relay that remembers
/// event #2480311: the PDS refuses the relay's cursor as "in the future", and the relay
/// marks the host idle and keeps asking with the same cursor.
#[test]
fn a_relay_ahead_of_a_fresh_pds_is_refused_and_idles() {
    let pds = PdsLab::start();
    let relay = Relay::following("localhost", 2480311, pds.pds_port, &[]);
    let s = relay.wait_for(20, |s| s["status"] == "idle");
    assert_eq!(s["status"], "idle", "{s}");
    assert_eq!(s["lastError"], "FutureCursor", "{s}");
    assert_eq!(s["cursor"], 2480311, "{s}");
    // It keeps the cursor and its word: still refused a moment later.
    std::thread::sleep(std::time::Duration::from_millis(500));
    let s = relay.state();
    assert_eq!((&s["status"], &s["cursor"]), (&"idle".into(), &2480311.into()), "{s}");
}

//! `--demo`: a sandbox copy of a realistic pds.env, and, where this machine has the tools
//! (the ones `scripts/test` installs), local stand-ins for everything the wizard talks to:
//! an SMTP server with TLS and AUTH, the real PDS with a PLC directory and three accounts,
//! an authoritative DNS server for the zone, and nginx running the proxy config the wizard
//! itself renders. All of them listen on 127.0.0.1 only, live in the sandbox, and stop with
//! the wizard. A stand-in that cannot start is reported with the reason, and the step that
//! needs it says what it would do on a real server.

//!
//! The files: `sandbox` (the demo's own pds.env), `standins` (the `Lab` of stand-ins),
//! `launch` (the command that starts each lab server, shared with the tests), `process`
//! (spawning, waiting for and stopping them) and `ca` (the test certificate authority).

mod ca;
pub mod launch;
pub mod process;
mod sandbox;
mod standins;

pub use ca::{make_ca, Ca};
pub use launch::{nsd_conf, pds_runtime, PdsRuntime};
pub use process::{free_dual_port, stop_process};
pub use sandbox::{prepare_sandbox, sandbox_dir, DEMO_ENV};
pub use standins::{Kind, Lab, StandIn, SMTP_USER};

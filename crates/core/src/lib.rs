//! pds-wizard's core: the PDS domain (pds.env, email, identity, proxies, the PDS, relays,
//! the doctor, setup, apply, answers, settings) with no terminal in it. Its dependency tree
//! holds no ratatui, crossterm or clap (`.ci/run` checks it with `cargo tree`): the CLI and
//! the TUI in the `pds-wizard` package are front ends over it, and the compiler keeps the
//! boundary.

pub mod addresses;
pub mod answers;
pub mod apply;
pub mod backup;
pub mod caddy;
pub mod context;
pub mod doctor;
pub mod email;
pub mod envfile;
pub mod finding;
pub mod fsutil;
pub mod http;
pub mod identity;
pub mod migrate;
pub mod pds;
pub mod proxy;
pub mod relay;
pub mod repair;
pub mod run;
pub mod secret;
pub mod settings;
pub mod setup;
pub mod smtp_url;
pub mod target;
pub mod template;
pub mod version;

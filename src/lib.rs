//! pds-wizard's core: the PDS domain (env file, email, identity, proxy, checks) with no
//! knowledge of terminals. The CLI and the TUI are thin front ends over it.

pub mod addresses;
pub mod answers;
pub mod apply;
pub mod caddy;
pub mod cli;
pub mod context;
pub mod demo;
pub mod doctor;
pub mod email;
pub mod envfile;
pub mod finding;
pub mod fsutil;
pub mod http;
pub mod identity;
pub mod pds;
pub mod proxy;
pub mod relay;
pub mod run;
pub mod secret;
pub mod settings;
pub mod setup;
pub mod smtp_url;
pub mod target;
pub mod tui;
pub mod version;

//! pds-wizard: the command line and the terminal wizard, front ends over the core crate
//! (`pds-wizard-core`, no terminal in it) and the demo lab (`pds-wizard-lab`). The core's
//! modules are re-exported here, so `pds_wizard::envfile` is the core's `envfile`.

pub use pds_wizard_core::*;
pub use pds_wizard_lab as demo;

pub mod cli;
pub mod tui;

//! The demo's sandbox: a copy of a realistic pds.env, kept between runs.

use std::path::PathBuf;

/// The realistic pds.env the demo starts from.
pub const DEMO_ENV: &str = include_str!("../../../assets/demo.env");
/// The sandbox directory: `$XDG_STATE_HOME/pds-wizard/demo` (else ~/.local/state/…).
pub fn sandbox_dir() -> PathBuf {
    pds_wizard_core::fsutil::state_dir().join("demo")
}

/// A fresh sandbox copy of the demo env file (mode 0600), kept between runs.
pub fn prepare_sandbox() -> anyhow::Result<PathBuf> {
    use anyhow::Context as _;
    let dir = sandbox_dir();
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join("pds.env");
    if !path.exists() {
        pds_wizard_core::fsutil::safe_write(
            &path,
            DEMO_ENV.as_bytes(),
            pds_wizard_core::fsutil::WriteOptions::secret(),
        )?;
    }
    Ok(path)
}

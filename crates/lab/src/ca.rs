//! A test certificate authority and a leaf, made with openssl: the demo's and the tests'.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A test CA and a leaf certificate for `sans` (openssl's subjectAltName syntax).
#[derive(Debug, Clone)]
pub struct Ca {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Make a CA (90 days) and a leaf for `sans` in `dir` with openssl.
pub fn make_ca(dir: &Path, sans: &str) -> Result<Ca, String> {
    let openssl = pds_wizard_core::fsutil::find_tool("openssl")
        .ok_or_else(|| "openssl is not installed (Debian: apt install openssl)".to_string())?;
    std::fs::write(
        dir.join("leaf.ext"),
        format!("subjectAltName={sans}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"),
    )
    .map_err(|e| format!("cannot write to {}: {e}", dir.display()))?;
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let steps: [Vec<&str>; 3] = [
        [
            &["req", "-x509"][..],
            &ec,
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "90",
                "-subj",
                "/CN=pds-wizard test CA",
            ],
        ]
        .concat(),
        [
            &["req"][..],
            &ec,
            &[
                "-keyout",
                "leaf.key",
                "-out",
                "leaf.csr",
                "-subj",
                "/CN=localhost",
            ],
        ]
        .concat(),
        vec![
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "leaf.pem",
            "-days",
            "90",
            "-extfile",
            "leaf.ext",
        ],
    ];
    for args in steps {
        let out = Command::new(&openssl)
            .args(&args)
            .current_dir(dir)
            .output()
            .map_err(|e| format!("cannot run openssl: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "openssl {}: {}",
                args[0],
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
    }
    Ok(Ca {
        ca: dir.join("ca.pem"),
        cert: dir.join("leaf.pem"),
        key: dir.join("leaf.key"),
    })
}

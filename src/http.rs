//! One way to build HTTP clients for checks: a timeout on everything, the extra CA from
//! `--ca-file`, redirects left to the caller (so a check can say where they lead), and
//! optionally every connection sent to one address (`--connect-to`, like curl's), to check
//! a server before DNS points at it — and to point checks at loopback servers in tests.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct HttpOptions {
    pub timeout: Duration,
    pub ca_file: Option<PathBuf>,
    pub connect_to: Option<SocketAddr>,
}

impl HttpOptions {
    pub fn from_context(ctx: &crate::context::Context) -> HttpOptions {
        HttpOptions {
            timeout: ctx.timeout,
            ca_file: ctx.ca_file.clone(),
            connect_to: ctx.connect_to,
        }
    }
}

/// A client for requests to `host` (used for `--connect-to`).
pub fn client(opts: &HttpOptions, host: &str) -> Result<reqwest::Client, String> {
    let mut b = reqwest::Client::builder()
        .timeout(opts.timeout)
        .connect_timeout(opts.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("pds-wizard/", env!("CARGO_PKG_VERSION")));
    if let Some(path) = &opts.ca_file {
        let pem = std::fs::read(path)
            .map_err(|e| format!("cannot read the CA file {}: {e}", path.display()))?;
        // A bundle may hold several roots: each one is trusted.
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| format!("{} is not a PEM certificate: {e}", path.display()))?;
        if certs.is_empty() {
            return Err(format!("{} holds no PEM certificate", path.display()));
        }
        b = b.tls_certs_merge(certs);
    }
    if let Some(addr) = opts.connect_to {
        b = b.resolve(host, addr);
    }
    b.build().map_err(|e| format!("cannot set up HTTPS: {e}"))
}

/// The error's whole chain on one line.
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !parts.iter().any(|p| p.contains(&t)) {
            parts.push(t);
        }
        cur = c.source();
    }
    parts.join(": ")
}

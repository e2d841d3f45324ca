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
    // The system's resolver, behind a type of our own: a name that does not resolve is then
    // told by its type, not by the words getaddrinfo uses.
    b = b.dns_resolver(std::sync::Arc::new(SystemResolver));
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

/// The innermost error's own words ("Connection refused (os error 111)", "invalid peer
/// certificate: UnknownIssuer"): the cause, for a headline; `chain` has the rest.
pub fn cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last = e;
    loop {
        // An io::Error's source() skips the error it wraps: look inside it too.
        let next = last.source().or_else(|| {
            last.downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .map(|inner| inner as &(dyn std::error::Error + 'static))
        });
        match next {
            Some(n) => last = n,
            None => return last.to_string(),
        }
    }
}

/// The last link of a `chain`: the cause in a few words ("Connection refused (os error
/// 111)"), for a finding's headline; the whole chain belongs in its why.
pub fn last_cause(chain: &str) -> &str {
    chain.rsplit(": ").next().unwrap_or(chain)
}

/// getaddrinfo, as reqwest's default resolver uses it, with its failure typed.
struct SystemResolver;

/// A name the system resolver has no address for (or could not ask about).
#[derive(Debug, thiserror::Error)]
#[error("no address for {name}: {source}")]
pub struct NoAddress {
    name: String,
    source: std::io::Error,
}

impl reqwest::dns::Resolve for SystemResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let name = name.as_str().to_string();
        Box::pin(async move {
            let found = tokio::net::lookup_host((name.clone(), 0)).await;
            match found {
                Ok(addrs) => {
                    let addrs: reqwest::dns::Addrs =
                        Box::new(addrs.collect::<Vec<_>>().into_iter());
                    Ok(addrs)
                }
                Err(source) => Err(Box::new(NoAddress { name, source }) as _),
            }
        })
    }
}

/// Why a request failed, read from the types in its error chain (never from its words).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    Timeout,
    /// The name has no address.
    NoAddress,
    /// Nothing listens on that port.
    Refused,
    /// The TLS handshake rejected the server's certificate.
    Certificate(CertProblem),
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertProblem {
    /// Issued for other names.
    WrongName,
    Expired,
    /// Not signed by an authority this client trusts.
    Untrusted,
    Other,
}

pub fn classify(e: &reqwest::Error) -> Failure {
    if e.is_timeout() {
        return Failure::Timeout;
    }
    classify_chain(e).unwrap_or(Failure::Other)
}

fn classify_chain(e: &(dyn std::error::Error + 'static)) -> Option<Failure> {
    let mut cur = Some(e);
    while let Some(c) = cur {
        if let Some(f) = classify_one(c) {
            return Some(f);
        }
        // An io::Error's source() skips the error it wraps (which may be another io::Error
        // wrapping rustls's): look inside.
        if let Some(inner) = c
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            if let Some(f) = classify_chain(inner) {
                return Some(f);
            }
        }
        cur = c.source();
    }
    None
}

fn classify_one(c: &(dyn std::error::Error + 'static)) -> Option<Failure> {
    use rustls::CertificateError as C;
    if c.is::<NoAddress>() {
        return Some(Failure::NoAddress);
    }
    if let Some(rustls::Error::InvalidCertificate(ce)) = c.downcast_ref::<rustls::Error>() {
        return Some(Failure::Certificate(match ce {
            C::NotValidForName | C::NotValidForNameContext { .. } => CertProblem::WrongName,
            C::Expired
            | C::ExpiredContext { .. }
            | C::NotValidYet
            | C::NotValidYetContext { .. } => CertProblem::Expired,
            C::UnknownIssuer | C::BadSignature => CertProblem::Untrusted,
            _ => CertProblem::Other,
        }));
    }
    match c.downcast_ref::<std::io::Error>().map(|io| io.kind()) {
        Some(std::io::ErrorKind::ConnectionRefused) => Some(Failure::Refused),
        Some(std::io::ErrorKind::TimedOut) => Some(Failure::Timeout),
        _ => None,
    }
}

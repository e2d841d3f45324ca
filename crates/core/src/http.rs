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

/// How much of an answer each purpose may read. A timeout is not a memory bound: a server
/// can stream gigabytes within any timeout (0.7 GB a second was seen), so every body is read
/// through `read` with one of these.
pub mod cap {
    /// `/.well-known/atproto-did`: a DID is under 2 KB.
    pub const DID: usize = 2 * 1024;
    /// DID documents and XRPC JSON (an admin page of 100 accounts is well under this).
    pub const JSON: usize = 512 * 1024;
    /// Pages and plain-text answers read for a word or two (the PDS's banner, an error).
    pub const TEXT: usize = 64 * 1024;
}

/// An answer's first bytes, up to its cap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capped {
    pub bytes: Vec<u8>,
    /// More was coming (or was announced) past the cap; reading stopped there.
    pub truncated: bool,
}

impl Capped {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// Why a body could not be used.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("the answer is larger than {} ({}); reading stopped there", size(*cap), match announced { Some(n) => format!("it announced {n} bytes"), None => "it kept coming".to_string() })]
    TooLarge { cap: usize, announced: Option<u64> },
    #[error("the answer broke off: {}", chain(.0))]
    Read(#[source] reqwest::Error),
    #[error("the answer is not the JSON expected: {0}")]
    Json(#[source] serde_json::Error),
}

impl BodyError {
    pub fn is_too_large(&self) -> bool {
        matches!(self, BodyError::TooLarge { .. })
    }
}

/// "2 KiB", "512 KiB", "1 MiB".
pub fn size(bytes: usize) -> String {
    match bytes {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1024 => format!("{} KiB", b / 1024),
        b => format!("{b} bytes"),
    }
}

/// Read at most `cap` bytes of the answer; past that, stop (the connection is dropped with
/// the response) and say it was cut. A Content-Length over the cap is believed: nothing
/// past the cap is read either way.
pub async fn read(mut r: reqwest::Response, cap: usize) -> Result<Capped, BodyError> {
    let announced = r.content_length().filter(|&n| n > cap as u64);
    let mut bytes = Vec::new();
    while let Some(chunk) = r.chunk().await.map_err(BodyError::Read)? {
        let room = cap - bytes.len();
        if chunk.len() > room {
            bytes.extend_from_slice(&chunk[..room]);
            return Ok(Capped {
                bytes,
                truncated: true,
            });
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Capped {
        bytes,
        truncated: announced.is_some(),
    })
}

/// The whole answer, or `TooLarge` when it does not fit in `cap`.
pub async fn read_whole(r: reqwest::Response, cap: usize) -> Result<Vec<u8>, BodyError> {
    let announced = r.content_length().filter(|&n| n > cap as u64);
    if announced.is_some() {
        return Err(BodyError::TooLarge { cap, announced });
    }
    let c = read(r, cap).await?;
    if c.truncated {
        return Err(BodyError::TooLarge {
            cap,
            announced: None,
        });
    }
    Ok(c.bytes)
}

/// The answer as JSON, read within `cap`.
pub async fn read_json<T: serde::de::DeserializeOwned>(
    r: reqwest::Response,
    cap: usize,
) -> Result<T, BodyError> {
    let bytes = read_whole(r, cap).await?;
    serde_json::from_slice(&bytes).map_err(BodyError::Json)
}

/// The answer as text (invalid UTF-8 replaced), within `cap`; a longer one is cut there.
pub async fn read_text(r: reqwest::Response, cap: usize) -> Result<String, BodyError> {
    read(r, cap).await.map(|c| c.text())
}

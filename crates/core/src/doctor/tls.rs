//! Raw TLS for the two things an HTTP client hides: the server's certificate (for its expiry
//! date) and a websocket upgrade that must stay open. Trust is judged elsewhere (the HTTPS
//! check, with the system's roots); here the certificate is only read.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// Accepts any certificate and keeps the server's own for reading.
#[derive(Debug)]
struct Recorder {
    seen: Arc<Mutex<Option<Vec<u8>>>>,
    schemes: Vec<SignatureScheme>,
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        *self.seen.lock().unwrap_or_else(|p| p.into_inner()) = Some(end_entity.to_vec());
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }
    fn verify_tls13_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.schemes.clone()
    }
}

/// Connect to `host:port` (or `addr` instead of DNS) over TLS, HTTP/1.1; returns the stream
/// and the server's certificate (DER).
pub async fn connect(
    host: &str,
    port: u16,
    addr: Option<SocketAddr>,
    timeout: Duration,
) -> Result<(TlsStream<TcpStream>, Vec<u8>), String> {
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    let seen = Arc::new(Mutex::new(None));
    let recorder = Recorder {
        seen: seen.clone(),
        schemes: provider
            .signature_verification_algorithms
            .supported_schemes(),
    };
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(recorder))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let name = ServerName::try_from(host.to_string()).map_err(|e| e.to_string())?;
    let work = async {
        let tcp = match addr {
            Some(a) => TcpStream::connect(a).await,
            None => TcpStream::connect((host, port)).await,
        }
        .map_err(|e| format!("cannot connect to {host}:{port}: {e}"))?;
        tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS with {host}:{port} failed: {e}"))
    };
    let stream = tokio::time::timeout(timeout, work).await.map_err(|_| {
        format!(
            "no answer from {host}:{port} within {} s",
            timeout.as_secs_f64()
        )
    })??;
    let cert = seen
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take()
        .ok_or("the server sent no certificate")?;
    Ok((stream, cert))
}

/// The certificate's notAfter as a Unix time.
pub fn not_after(der: &[u8]) -> Option<i64> {
    validity(der).map(|(_, after)| after)
}

/// The certificate's validity (notBefore, notAfter) as Unix times, read by x509-cert (every
/// tag checked; UTCTime and GeneralizedTime both); None for anything but a certificate.
pub fn validity(der: &[u8]) -> Option<(i64, i64)> {
    use x509_cert::der::Decode;
    let cert = x509_cert::Certificate::from_der(der).ok()?;
    let v = cert.tbs_certificate().validity();
    let unix = |t: &x509_cert::time::Time| i64::try_from(t.to_unix_duration().as_secs()).ok();
    Some((unix(&v.not_before)?, unix(&v.not_after)?))
}

/// The code of an HTTP/1.x status line (`HTTP/1.1 101 Switching Protocols`).
fn status_code(line: &str) -> Option<u16> {
    let mut parts = line.split_whitespace();
    let version = parts.next()?;
    if !version.starts_with("HTTP/") {
        return None;
    }
    parts.next()?.parse().ok()
}

fn authority(host: &str, port: u16) -> String {
    if port == 443 {
        host.to_string()
    } else {
        format!("{host}:{port}")
    }
}

/// Write a request head and read the answer's head (up to the blank line).
async fn send_head<S>(s: &mut S, req: &str) -> Result<Vec<u8>, String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    s.write_all(req.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = s.read(&mut chunk).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("the connection closed before an answer".to_string());
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.len() > 64 * 1024 {
            return Err("an answer head of over 64 KiB".to_string());
        }
    }
    Ok(buf)
}

/// Announce an upload of `size` bytes to `path` and wait for the first answer, sending
/// no body: `Expect: 100-continue` makes a proxy that takes it say 100 at once, and one
/// whose body limit is smaller (nginx's client_max_body_size) say 413 at once. The status,
/// or None when nothing answers within `wait` (a proxy that judges the body as it comes).
pub async fn announce_upload(
    host: &str,
    port: u16,
    addr: Option<SocketAddr>,
    path: &str,
    size: u64,
    wait: Duration,
    timeout: Duration,
) -> Result<Option<u16>, String> {
    let (mut s, _) = connect(host, port, addr, timeout).await?;
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/octet-stream\r\nContent-Length: {size}\r\nExpect: 100-continue\r\nUser-Agent: pds-wizard/{}\r\n\r\n",
        authority(host, port),
        env!("CARGO_PKG_VERSION")
    );
    match tokio::time::timeout(wait, send_head(&mut s, &req)).await {
        Err(_) => Ok(None),
        Ok(Err(e)) => Err(e),
        Ok(Ok(buf)) => {
            let text = String::from_utf8_lossy(&buf);
            Ok(status_code(text.lines().next().unwrap_or("")))
        }
    }
}

/// What came back from a websocket handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Upgrade {
    /// 101, and the connection was still open after the wait.
    StayedOpen,
    /// 101, then the first frame after this long (a replay from the cursor asked for): the
    /// path works end to end, with no need to wait.
    Framed(Duration),
    /// 101, then the proxy closed it after this long.
    ClosedAfter(Duration),
    /// Another status: the proxy (or the PDS) refused the upgrade. Its code (None: not
    /// HTTP) and the whole status line.
    Refused { code: Option<u16>, line: String },
}

/// Ask for a websocket on `path` and, after 101, watch the connection for `hold`; with
/// `first_frame`, the first frame ends the watch (`Framed`).
pub async fn websocket(
    host: &str,
    port: u16,
    addr: Option<SocketAddr>,
    path: &str,
    hold: Duration,
    timeout: Duration,
    first_frame: bool,
) -> Result<Upgrade, String> {
    let (mut s, _) = connect(host, port, addr, timeout).await?;
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: cGRzLXdpemFyZC1jaGVjaw==\r\nUser-Agent: pds-wizard/{}\r\n\r\n",
        authority(host, port),
        env!("CARGO_PKG_VERSION")
    );
    let buf = tokio::time::timeout(timeout, send_head(&mut s, &req))
        .await
        .map_err(|_| {
            format!(
                "no answer to the upgrade within {} s",
                timeout.as_secs_f64()
            )
        })??;
    let text = String::from_utf8_lossy(&buf);
    let line = text.lines().next().unwrap_or("").to_string();
    let code = status_code(&line);
    if code != Some(101) {
        return Ok(Upgrade::Refused { code, line });
    }
    let started = std::time::Instant::now();
    // A frame may have come with the answer's head.
    let head_end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(buf.len(), |i| i + 4);
    if first_frame && buf.len() > head_end {
        return Ok(Upgrade::Framed(started.elapsed()));
    }
    let mut chunk = [0u8; 4096];
    loop {
        let left = hold.saturating_sub(started.elapsed());
        if left.is_zero() {
            return Ok(Upgrade::StayedOpen);
        }
        match tokio::time::timeout(left, s.read(&mut chunk)).await {
            Err(_) => return Ok(Upgrade::StayedOpen),
            Ok(Ok(0)) | Ok(Err(_)) => return Ok(Upgrade::ClosedAfter(started.elapsed())),
            Ok(Ok(_)) if first_frame => return Ok(Upgrade::Framed(started.elapsed())),
            Ok(Ok(_)) => continue,
        }
    }
}

#[cfg(test)]
mod tests {
    // Two real certificates (openssl req -x509, P-256): one whose notAfter is a UTCTime
    // (2027), one a GeneralizedTime (2052, after UTCTime's last year).
    const UTC: &[u8] = include_bytes!("testdata/utc-time.der");
    const GENERALIZED: &[u8] = include_bytes!("testdata/generalized-time.der");

    #[test]
    fn validity_reads_both_time_forms() {
        // 2026-12-07 10:30:22 UTC to 2027-01-06 10:30:22 and to 2052-12-10 10:30:22.
        assert_eq!(super::validity(UTC), Some((1_796_639_422, 1_799_231_422)));
        assert_eq!(super::not_after(GENERALIZED), Some(2_617_439_422));
        assert_eq!(
            super::validity(GENERALIZED).map(|v| v.0),
            Some(1_796_639_422)
        );
    }

    #[test]
    fn anything_but_a_certificate_has_no_validity() {
        assert_eq!(super::not_after(&[0x30, 5, 1]), None);
        assert_eq!(super::validity(&UTC[..UTC.len() - 1]), None);
        // Right lengths, wrong tag: the tbsCertificate as a SET (the hand-written walker
        // before x509-cert read only lengths here, and took it).
        let mut wrong = UTC.to_vec();
        assert_eq!(&wrong[..2], &[0x30, 0x82], "a long-form certificate");
        assert_eq!(wrong[4], 0x30, "the tbsCertificate's SEQUENCE");
        wrong[4] = 0x31;
        assert_eq!(super::validity(&wrong), None);
    }
}

//! The `/.well-known/atproto-did` file: written into a web root through the safe-write
//! path, and checked over HTTPS the way handle resolvers fetch it.

use super::{Did, Handle};
use crate::finding::{Finding, Level};
use crate::fsutil::{self, SaveReport, WriteOptions};
use crate::http::{classify, client, CertProblem, Failure, HttpOptions};
use serde::Serialize;
use std::path::{Path, PathBuf};

pub const WELL_KNOWN: &str = ".well-known/atproto-did";

/// Where the file goes under `webroot`.
pub fn did_file_path(webroot: &Path) -> PathBuf {
    webroot.join(WELL_KNOWN)
}

/// Write the DID (the whole body of the file) under `webroot`, atomically, world-readable
/// so the web server can serve it. The previous file is kept as a backup.
pub fn write_did_file(webroot: &Path, did: &Did) -> Result<SaveReport, String> {
    if !webroot.is_dir() {
        return Err(format!(
            "{} is not a directory (give the web root of the handle's site)",
            webroot.display()
        ));
    }
    let path = did_file_path(webroot);
    // Inside the web root only: it may belong to the site's user, who could otherwise point
    // .well-known (or the file) at a file of root's.
    let opts = WriteOptions::file(0o644, 3).make_dirs();
    fsutil::safe_write_within(webroot, &path, did.as_str().as_bytes(), opts)
        .map_err(|e| e.to_string())
}

#[derive(Debug, Clone, Serialize)]
pub struct DidFileCheck {
    pub url: String,
    /// Where the request ended after redirects.
    pub final_url: String,
    pub status: Option<u16>,
    /// The first bytes of the body, for the operator.
    pub body: Option<String>,
    pub finding: Finding,
    pub notes: Vec<Finding>,
}

const MAX_HOPS: usize = 5;

/// GET `https://<handle>/.well-known/atproto-did` and judge the answer.
pub async fn check_did_file(
    handle: &Handle,
    expected: Option<&Did>,
    opts: &HttpOptions,
) -> DidFileCheck {
    let url = format!("https://{handle}/{WELL_KNOWN}");
    let mut current = url.clone();
    let mut notes = Vec::new();
    let done = |final_url: String,
                status: Option<u16>,
                body: Option<String>,
                finding: Finding,
                notes: Vec<Finding>| DidFileCheck {
        url: url.clone(),
        final_url,
        status,
        body,
        finding,
        notes,
    };
    for _ in 0..=MAX_HOPS {
        let host = reqwest::Url::parse(&current)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default();
        let c = match client(opts, &host) {
            Ok(c) => c,
            Err(e) => return done(current, None, None, Finding::fail(e), notes),
        };
        let resp = match c.get(&current).send().await {
            Ok(r) => r,
            Err(e) => {
                return done(
                    current.clone(),
                    None,
                    None,
                    request_failure(&host, &current, &e, opts),
                    notes,
                )
            }
        };
        let status = resp.status().as_u16();
        if resp.status().is_redirection() {
            let Some(next) = resp
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .and_then(|l| resp.url().join(l).ok())
            else {
                return done(
                    current,
                    Some(status),
                    None,
                    Finding::fail(format!("HTTP {status} redirect without a usable Location")),
                    notes,
                );
            };
            if next.host_str() != Some(host.as_str()) {
                notes.push(
                    Finding::warn(format!("{current} redirects to another host: {next}"))
                        .why("The Bluesky resolver follows it, but other atproto resolvers may not; a redirect from the bare domain to www. is the usual cause.")
                        .fix(format!("Serve the file on {host} itself (exclude /.well-known/atproto-did from the redirect).")),
                );
            }
            current = next.to_string();
            continue;
        }
        let is_html_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("html"));
        // A DID is under 2 KB: read that much and judge it (a page is still seen to be a
        // page); more is never held, whatever the server sends.
        let body = match crate::http::read(resp, crate::http::cap::DID).await {
            Ok(b) => b,
            Err(e) => {
                return done(
                    current,
                    Some(status),
                    None,
                    Finding::fail("reading the answer failed").caused_by(&e),
                    notes,
                )
            }
        };
        let text = body.text();
        let page = is_html_type || text.trim_start().starts_with('<');
        let finding = if body.truncated && status == 200 && !page {
            Finding::fail(format!(
                "https://{handle}/{WELL_KNOWN} answered with more than {}: not a DID",
                crate::http::size(crate::http::cap::DID)
            ))
            .why("The body must be the DID and nothing else, under 2 KB; reading stopped there.")
            .fix("Serve a file holding only the DID.")
        } else {
            judge_body(handle, status, page, &text, expected)
        };
        let preview: String = text.chars().take(200).collect();
        return done(current, Some(status), Some(preview), finding, notes);
    }
    done(
        current,
        None,
        None,
        Finding::fail(format!("more than {MAX_HOPS} redirects"))
            .fix("Remove the redirect loop for /.well-known/atproto-did."),
        notes,
    )
}

fn judge_body(
    handle: &Handle,
    status: u16,
    html_type: bool,
    body: &str,
    expected: Option<&Did>,
) -> Finding {
    let place = format!("https://{handle}/{WELL_KNOWN}");
    let serve = "Write the file with `pds-wizard did-file write` into the site's web root, or proxy /.well-known/atproto-did to the PDS (the Reverse proxy step).";
    if status != 200 {
        return Finding::fail(format!("{place} answered HTTP {status}"))
            .why(if status == 404 {
                "The web server has no such file."
            } else {
                "Resolvers accept only 200."
            })
            .fix(serve);
    }
    let trimmed = body.trim();
    if html_type || trimmed.starts_with('<') {
        return Finding::fail(format!("{place} answered 200 with an HTML page, not the DID"))
            .why("This is usually the site's own page (a catch-all route or a single-page app) answering for every path.")
            .fix(format!("Make the web server serve the plain file for that path. {serve}"));
    }
    let Ok(found) = Did::parse(trimmed) else {
        let shown: String = trimmed.chars().take(60).collect();
        return Finding::fail(format!("{place} holds {shown:?}, which is not a DID"))
            .why("The body must be the DID and nothing else (surrounding whitespace is fine).")
            .fix(serve);
    };
    match expected {
        Some(want) if *want != found => Finding::fail(format!("{place} names {found}, not {want}"))
            .why("The file is served, but for another account (an old DID, or copied from elsewhere).")
            .fix(format!("Write the file again with {want}.")),
        _ => Finding::new(Level::Pass, format!("{place} → {found}")),
    }
}

fn request_failure(host: &str, url: &str, e: &reqwest::Error, opts: &HttpOptions) -> Finding {
    match classify(e) {
        Failure::Timeout => Finding::fail(format!(
            "{url} did not answer within {} s",
            opts.timeout.as_secs_f64()
        ))
        .why("The server is unreachable or port 443 is blocked.")
        .fix("Check that the web server runs and that the firewall allows 443."),
        Failure::Certificate(problem) => {
            let why = match problem {
                CertProblem::WrongName => format!("The certificate is not issued for {host}: the web server answers with a certificate for another name."),
                CertProblem::Expired => "The certificate has expired (or is not valid yet).".to_string(),
                CertProblem::Untrusted | CertProblem::Other => {
                    "The certificate is not signed by a trusted authority.".to_string()
                }
            };
            Finding::fail(format!("TLS to {host} failed"))
                .caused_by(e)
                .why(why)
                .fix(format!("Get a certificate that covers {host} (for a handle under your PDS's name, a wildcard or on-demand TLS)."))
        }
        Failure::NoAddress => Finding::fail(format!("{host} does not resolve"))
            .why("Without an A/AAAA record the file cannot be fetched.")
            .fix(format!(
                "Point {host} at your web server, or use the DNS TXT method instead."
            )),
        Failure::Refused => Finding::fail(format!("{host} refused the HTTPS connection"))
            .why("Nothing listens on port 443 there.")
            .fix("Start the web server (or reverse proxy) on 443."),
        Failure::Other => Finding::fail(format!("fetching {url} failed")).caused_by(e),
    }
}

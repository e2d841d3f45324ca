//! Identity: handle and DID syntax, the `_atproto` DNS record, the atproto-did file, and
//! DID documents.

pub mod diddoc;
pub mod didfile;
pub mod dns;
pub mod syntax;

pub use syntax::{Did, Handle, HandleError, Hostname, NameError};

use crate::finding::{Finding, Level};
use crate::http::HttpOptions;
use serde::Serialize;

/// Where the checks of a handle look.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    pub dns: dns::DnsOptions,
    pub http: HttpOptions,
    pub plc_url: String,
    /// The PDS's public URL, which the DID document must name (None: not compared).
    pub pds_public_url: Option<String>,
}

/// Every way a handle can be verified, checked at once.
#[derive(Debug, Clone, Serialize)]
pub struct HandleReport {
    pub handle: Handle,
    pub did: Did,
    /// The record to create, with its zone.
    pub record: dns::TxtRecord,
    pub dns: dns::DnsCheck,
    pub https: didfile::DidFileCheck,
    pub did_document: Option<diddoc::Agreement>,
    pub did_document_error: Option<Finding>,
    pub by_dns: bool,
    pub by_https: bool,
    /// The resolver sees a `did=` record that is wrong (another DID, or several): resolvers
    /// ask DNS first and trust what it says, so a correct HTTPS file cannot make up for it.
    pub dns_misleads: bool,
    pub verified: bool,
}

pub async fn verify(handle: &Handle, did: &Did, opts: &VerifyOptions) -> HandleReport {
    // All at once: the wall time is the slowest check's.
    let (record, dns, https, document) = tokio::join!(
        dns::record_for(handle, did, &opts.dns),
        dns::check_txt(handle, Some(did), &opts.dns),
        didfile::check_did_file(handle, Some(did), &opts.http),
        diddoc::fetch(did, &opts.plc_url, &opts.http),
    );
    let mut https = https;
    // A handle under the PDS's own name is served by the PDS, through a wildcard record
    // (*.HOST): without one, say so — the cause the doctor's DNS check gives.
    if https.finding.level == Level::Fail {
        let host = opts
            .pds_public_url
            .as_deref()
            .and_then(|u| u.split_once("://").map(|(_, h)| h.trim_end_matches('/')))
            .map(|h| h.split(':').next().unwrap_or(h).to_ascii_lowercase());
        if let Some(host) = host.filter(|h| handle.as_str().ends_with(&format!(".{h}"))) {
            if let Ok(addrs) = dns::addresses(handle.as_str(), &opts.dns).await {
                if addrs.is_empty() {
                    https.notes.push(
                        Finding::fail(format!(
                            "{handle} has no A or AAAA record: handles under {host} need a wildcard record *.{host}"
                        ))
                        .why("The PDS answers /.well-known/atproto-did for the handles it hosts, but nobody can reach it by their names.")
                        .fix(format!("Create an A (and AAAA) record *.{host} pointing at this server, as for {host} itself.")),
                    );
                }
            }
        }
    }
    let (did_document, did_document_error) = match document {
        Ok(doc) => {
            let a = diddoc::agreement(&doc, did, handle, opts.pds_public_url.as_deref());
            (Some(a), None)
        }
        Err(f) => (None, Some(f)),
    };
    let by_dns = dns
        .results
        .first()
        .is_some_and(|r| matches!(r.finding.level, Level::Pass | Level::Warn));
    let by_https = https.finding.level == Level::Pass;
    let dns_misleads = dns.results.first().is_some_and(|r| {
        r.finding.level == Level::Fail
            && r.values
                .iter()
                .any(|v| v.trim_matches('"').starts_with("did="))
    });
    let doc_ok = did_document
        .as_ref()
        .is_some_and(|a| a.findings.iter().all(|f| f.level != Level::Fail));
    HandleReport {
        handle: handle.clone(),
        did: did.clone(),
        record,
        dns,
        https,
        did_document,
        did_document_error,
        by_dns,
        by_https,
        dns_misleads,
        verified: (by_dns || by_https) && doc_ok && !dns_misleads,
    }
}

impl HandleReport {
    /// One sentence on the whole check.
    pub fn verdict(&self) -> String {
        if self.dns_misleads {
            return format!("Not verified: the DNS record at {} is wrong, and resolvers believe DNS before HTTPS. Correct it or delete it: pds-wizard handle record {}", self.handle.txt_name(), self.handle);
        }
        match (self.verified, self.by_dns, self.by_https) {
            (true, true, _) => "Verified by DNS. If the app still shows \"Invalid Handle\", use \"Refresh my handle\" (it re-announces the identity).".into(),
            (true, false, true) => "Verified by HTTPS. If the app still shows \"Invalid Handle\", use \"Refresh my handle\".".into(),
            (false, true, _) | (false, _, true) => "The handle points at the DID, but the DID document does not agree (see above).".into(),
            _ => format!("Not verified: neither DNS nor HTTPS points {} at {}. Create the record: pds-wizard handle record {}", self.handle, self.did, self.handle),
        }
    }
}

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
    /// The PDS on this machine (`http://localhost:PDS_PORT`): when the HTTPS method fails,
    /// it is asked the same question with the handle's name, to tell a proxy that loses the
    /// Host header from a domain the PDS does not serve (None: not asked).
    pub pds_local_url: Option<String>,
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
    /// The PDS on this machine answers the DID for this handle, but HTTPS through the proxy
    /// does not get that answer (the Host header lost, or the path not sent to the PDS).
    pub proxy_loses_pds: bool,
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
    // The PDS's own name, when the handle is under it.
    let pds_host = opts
        .pds_public_url
        .as_deref()
        .and_then(|u| u.split_once("://").map(|(_, h)| h.trim_end_matches('/')))
        .map(|h| h.split(':').next().unwrap_or(h).to_ascii_lowercase())
        .filter(|h| handle.as_str().ends_with(&format!(".{h}")));
    // A handle under the PDS's own name is served by the PDS, through a wildcard record
    // (*.HOST): without one, say so — the cause the doctor's DNS check gives.
    if https.finding.level == Level::Fail {
        if let Some(host) = &pds_host {
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
    let proxy_loses_pds = match (&opts.pds_local_url, https.finding.level) {
        (Some(local), Level::Fail) => {
            let under = pds_host.is_some();
            judge_by_the_pds(handle, did, local, &opts.http, under, &mut https).await
        }
        _ => false,
    };
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
        proxy_loses_pds,
        verified: (by_dns || by_https) && doc_ok && !dns_misleads,
    }
}

/// What this machine's PDS answers at /.well-known/atproto-did when asked as `host`.
async fn pds_answer(local: &str, host: &str, http: &HttpOptions) -> Option<(u16, String)> {
    // Straight to the PDS: not through --connect-to, which stands for the public name.
    let direct = HttpOptions {
        connect_to: None,
        ..http.clone()
    };
    let c = crate::http::client(&direct, "").ok()?;
    let r = c
        .get(format!(
            "{}/{}",
            local.trim_end_matches('/'),
            didfile::WELL_KNOWN
        ))
        .header(reqwest::header::HOST, host)
        .send()
        .await
        .ok()?;
    let status = r.status().as_u16();
    let body = crate::http::read_text(r, crate::http::cap::DID)
        .await
        .ok()?;
    Some((status, body.trim().to_string()))
}

/// The HTTPS method failed: ask the PDS itself, as `handle` and as a name it cannot know.
/// - It answers the DID: it hosts the handle, so the proxy loses the way to it — the Host
///   header when the failed answer is the PDS's own "unknown name" answer (true returned).
/// - It does not: the handle's domain is not the PDS's to answer for, so the fix is a file
///   or the TXT record, never "proxy it to the PDS"; when the failed answer *is* the PDS's,
///   the domain is proxied to it, and that is said.
async fn judge_by_the_pds(
    handle: &Handle,
    did: &Did,
    local: &str,
    http: &HttpOptions,
    under_pds_host: bool,
    https: &mut didfile::DidFileCheck,
) -> bool {
    let (mine, unknown) = tokio::join!(
        pds_answer(local, handle.as_str(), http),
        pds_answer(local, "name-unknown-to-the-pds.invalid", http),
    );
    let proxied = https.status.zip(https.body.as_deref().map(str::trim));
    let is_the_pds_unknown_answer = |(s, b): &(u16, String)| proxied == Some((*s, b.as_str()));
    match mine {
        Some((200, body)) if body == did.as_str() => {
            let host_lost = unknown.as_ref().is_some_and(is_the_pds_unknown_answer);
            let finding = if host_lost {
                Finding::fail(format!(
                    "the PDS answers {handle}'s atproto-did itself, but through https://{handle} it does not know the name: the proxy does not pass the Host header"
                ))
                .why("The PDS answers /.well-known/atproto-did by the Host header; a proxy that sends its own (nginx's default is the upstream's address) makes every hosted handle unknown to it, so apps show \"Invalid Handle\".")
                .fix("nginx: proxy_set_header Host $host; in the location that proxies to the PDS (Caddy and Traefik pass it unless told otherwise; pds-wizard proxy render does), then reload the proxy")
            } else {
                Finding::fail(format!(
                    "the PDS answers {handle}'s atproto-did itself, but https://{handle} does not send the request to it"
                ))
                .why("Handles under the PDS's domains are answered by the PDS; here another site or a default server answers for the name.")
                .fix(format!("send https://{handle}/.well-known/atproto-did to the PDS (the Reverse proxy step: a wildcard server *.HOST, or this name)"))
            };
            https.finding.fix = finding.fix.clone();
            https.notes.push(finding);
            true
        }
        // Another account's DID, or an error: nothing to conclude here.
        Some((200, _)) | None => false,
        // Under the PDS's own name but unknown to it: no such account here (the DID
        // document and the account list say more); the advice below is for other domains.
        Some((404, _)) if under_pds_host => false,
        Some((_, body)) => {
            let fix = format!("The PDS answers only for handles under its own domains (PDS_SERVICE_HANDLE_DOMAINS), so {handle} needs the file served by its own site — pds-wizard did-file write — or the DNS TXT record: pds-wizard handle record {handle}");
            if proxied == Some((404, body.as_str())) {
                https.notes.push(
                    Finding::fail(format!(
                        "https://{handle}/.well-known/atproto-did is answered by the PDS, which does not serve {handle}"
                    ))
                    .why("Proxying a custom domain's atproto-did to the PDS cannot work: the PDS answers only for handles under its own domains.")
                    .fix(fix.clone()),
                );
            }
            https.finding.fix = fix;
            false
        }
    }
}

impl HandleReport {
    /// The name points at the DID (DNS or HTTPS, and no wrong DNS record in the way), what
    /// the PDS itself checks before it takes the name as an account's handle. Unlike
    /// `verified`, the DID document may still name the old handle: moving the account is
    /// what updates it.
    pub fn points_at_did(&self) -> bool {
        (self.by_dns || self.by_https) && !self.dns_misleads
    }

    /// One sentence on the whole check.
    pub fn verdict(&self) -> String {
        if self.dns_misleads {
            return format!("Not verified: the DNS record at {} is wrong, and resolvers believe DNS before HTTPS. Correct it or delete it: pds-wizard handle record {}", self.handle.txt_name(), self.handle);
        }
        if !self.verified && !self.by_dns && self.proxy_loses_pds {
            return format!("Not verified: the PDS hosts {} and answers for it, but the proxy in front does not reach it with that name (see the HTTPS method's fix); no record is needed.", self.handle);
        }
        match (self.verified, self.by_dns, self.by_https) {
            (true, true, _) => format!("Verified by DNS. If the app still shows \"Invalid Handle\", announce it again: pds-wizard handle refresh {}", self.handle),
            (true, false, true) => format!("Verified by HTTPS. If the app still shows \"Invalid Handle\", announce it again: pds-wizard handle refresh {}", self.handle),
            (false, true, _) | (false, _, true) => "The handle points at the DID, but the DID document does not agree (see above).".into(),
            _ => format!("Not verified: neither DNS nor HTTPS points {} at {}. Create the record: pds-wizard handle record {}", self.handle, self.did, self.handle),
        }
    }
}

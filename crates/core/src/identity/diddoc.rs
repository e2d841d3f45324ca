//! DID documents: fetched from the PLC directory (did:plc) or `/.well-known/did.json`
//! (did:web), and checked against the handle and the PDS.

use super::{Did, Handle};
use crate::finding::Finding;
use crate::http::{client, HttpOptions};
use serde::Serialize;

/// The PDS's public URL as it writes it into DID documents: `https://HOSTNAME`, except for
/// a development PDS on `localhost`, which uses `http://localhost:PORT`.
pub fn pds_public_url(hostname: &str, port: Option<&str>) -> String {
    if hostname == "localhost" {
        format!("http://localhost:{}", port.unwrap_or("2583"))
    } else {
        format!("https://{hostname}")
    }
}

/// Where the document lives.
pub fn document_url(did: &Did, plc_url: &str) -> Result<String, String> {
    match did.method() {
        "plc" => Ok(format!("{}/{did}", plc_url.trim_end_matches('/'))),
        "web" => {
            let host = did.as_str()["did:web:".len()..].replace("%3A", ":");
            if host.contains(':') && !host.contains('%') && host.split(':').count() > 2 {
                return Err(format!(
                    "{did}: did:web with a path is not supported by atproto"
                ));
            }
            Ok(format!("https://{host}/.well-known/did.json"))
        }
        other => Err(format!(
            "{did}: atproto supports did:plc and did:web, not did:{other}"
        )),
    }
}

pub async fn fetch(
    did: &Did,
    plc_url: &str,
    opts: &HttpOptions,
) -> Result<serde_json::Value, Finding> {
    let url = document_url(did, plc_url).map_err(Finding::fail)?;
    let host = reqwest::Url::parse(&url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default();
    let c = client(opts, &host).map_err(Finding::fail)?;
    let resp = c.get(&url).send().await.map_err(|e| {
        Finding::fail(format!("cannot fetch the DID document from {url}"))
            .caused_by(&e)
            .fix("Check the PLC URL (PDS_DID_PLC_URL) and the network.")
    })?;
    if resp.status() == reqwest::StatusCode::NOT_FOUND {
        return Err(if did.method() == "web" {
            Finding::fail(format!("{url}: no DID document there (HTTP 404)"))
                .why("A did:web identity is a file the site must serve; it is missing.")
                .fix("Serve the DID document at /.well-known/did.json on that host.")
        } else {
            Finding::fail(format!("{url}: no such DID (HTTP 404)"))
                .why("The directory does not know this DID: a typo, or an account created against another PLC directory.")
                .fix("Copy the DID from `pds-wizard accounts`.")
        });
    }
    if !resp.status().is_success() {
        return Err(Finding::fail(format!(
            "{url} answered HTTP {}",
            resp.status().as_u16()
        )));
    }
    crate::http::read_json(resp, crate::http::cap::JSON)
        .await
        .map_err(|e| match e {
            e @ crate::http::BodyError::TooLarge { .. } => Finding::fail(format!("{url}: {e}"))
                .why("A DID document is a few KB; pds-wizard reads no more than this, so a server cannot fill this machine's memory."),
            e => Finding::fail(format!("{url} is not a JSON DID document")).caused_by(&e),
        })
}

#[derive(Debug, Clone, Serialize)]
pub struct Agreement {
    pub handles: Vec<String>,
    pub pds_endpoint: Option<String>,
    pub findings: Vec<Finding>,
}

/// Does the document say this handle and this PDS? (What the PDS and the AppView check.)
/// Without `pds_url` (this PDS's public URL is unknown) only the handle is judged.
pub fn agreement(
    doc: &serde_json::Value,
    did: &Did,
    handle: &Handle,
    pds_url: Option<&str>,
) -> Agreement {
    let aka: Vec<String> = doc["alsoKnownAs"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let handles: Vec<String> = aka
        .iter()
        .filter_map(|a| a.strip_prefix("at://").map(str::to_string))
        .collect();
    let endpoint = doc["service"].as_array().and_then(|services| {
        services.iter().find(|s| {
            s["id"]
                .as_str()
                .is_some_and(|id| id == "#atproto_pds" || id.ends_with("#atproto_pds"))
        })
    });
    let pds_endpoint = endpoint
        .and_then(|s| s["serviceEndpoint"].as_str())
        .map(|s| s.trim_end_matches('/').to_string());
    let mut findings = Vec::new();
    let want = format!("at://{handle}");
    match aka.first() {
        Some(first) if *first == want => findings.push(Finding::pass(format!("the DID document names {handle}"))),
        _ if aka.contains(&want) => findings.push(
            Finding::warn(format!("the DID document names {handle}, but not first"))
                .why("The PDS and the AppView take the first alsoKnownAs entry as the handle.")
                .fix("Update the handle from the PDS (the Bluesky app: Settings → Handle) so it is first."),
        ),
        _ => findings.push(
            Finding::fail(format!(
                "the DID document of {did} names {}, not {handle}",
                if handles.is_empty() { "no handle".to_string() } else { handles.join(", ") }
            ))
            .why("The handle was changed in DNS (or on the PDS) but the DID document still says the old one: the app shows \"Invalid Handle\".")
            .fix(format!("Set the handle on the PDS to {handle} (Bluesky app: Settings → Handle, or `goat account update-handle`), then announce it: pds-wizard handle refresh {handle}")),
        ),
    }
    let want_pds = pds_url.map(|u| u.trim_end_matches('/'));
    match (&pds_endpoint, want_pds) {
        (_, None) => {}
        (Some(e), Some(want_pds)) if e == want_pds => findings.push(Finding::pass(format!("the DID document points at this PDS ({e})"))),
        (Some(e), Some(want_pds)) => findings.push(
            Finding::fail(format!("the DID document's #atproto_pds is {e}, not {want_pds}"))
                .why("Apps and relays look for the account at the endpoint in the document; this PDS is not it (a migration half done, or PDS_HOSTNAME changed).")
                .fix("If the account lives here, update its PLC document (goat account plc …) to this PDS's URL."),
        ),
        (None, Some(_)) => findings.push(Finding::fail("the DID document has no #atproto_pds service").why("Nothing says where the account is hosted.")),
    }
    Agreement {
        handles,
        pds_endpoint,
        findings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_this_pds_url_only_the_handle_is_judged() {
        let did = Did::parse("did:plc:abc").unwrap();
        let handle = Handle::parse("alice.example.com").unwrap();
        let doc = serde_json::json!({
            "alsoKnownAs": ["at://alice.example.com"],
            "service": [{"id": "#atproto_pds", "serviceEndpoint": "https://elsewhere.example"}],
        });
        let a = agreement(&doc, &did, &handle, None);
        assert_eq!(a.findings.len(), 1, "{a:?}");
        assert_eq!(a.findings[0].level, crate::finding::Level::Pass);
        assert_eq!(a.pds_endpoint.as_deref(), Some("https://elsewhere.example"));
        let a = agreement(&doc, &did, &handle, Some("https://pds.example.com"));
        assert_eq!(a.findings.len(), 2, "{a:?}");
    }

    #[test]
    fn urls() {
        let plc = Did::parse("did:plc:abc").unwrap();
        assert_eq!(
            document_url(&plc, "https://plc.directory/").unwrap(),
            "https://plc.directory/did:plc:abc"
        );
        let web = Did::parse("did:web:example.com").unwrap();
        assert_eq!(
            document_url(&web, "x").unwrap(),
            "https://example.com/.well-known/did.json"
        );
        assert_eq!(
            pds_public_url("pds.example.com", Some("3000")),
            "https://pds.example.com"
        );
        assert_eq!(
            pds_public_url("localhost", Some("3000")),
            "http://localhost:3000"
        );
    }
}

//! Each account's handle, resolved as the network resolves it.

use super::*;

pub(super) async fn handles(i: &Inputs) -> Vec<Finding> {
    // Without a hostname there is no public URL for the DID documents to name.
    if let Err(f) = hostname(i) {
        return f;
    }
    let accounts = match i.accounts().await {
        Ok(a) => a,
        Err(f) => return vec![f.clone()],
    };
    let mut targets: Vec<(Handle, Did)> = Vec::new();
    let mut out = Vec::new();
    if i.handles.is_empty() {
        for a in accounts {
            if let (Ok(h), Ok(d)) = (Handle::parse(&a.handle), Did::parse(&a.did)) {
                targets.push((h, d));
            }
        }
        if targets.is_empty() {
            return vec![Finding::info("no accounts yet")];
        }
    } else {
        for h in &i.handles {
            match accounts
                .iter()
                .find(|a| a.handle.eq_ignore_ascii_case(h.as_str()))
            {
                Some(a) => match Did::parse(&a.did) {
                    Ok(d) => targets.push((h.clone(), d)),
                    Err(e) => out.push(Finding::fail(format!("{h}: {e}"))),
                },
                None => out.push(
                    Finding::fail(format!("no account on this PDS has the handle {h}"))
                        .fix("see pds-wizard accounts"),
                ),
            }
        }
    }
    let opts = i.settings.verify_options();
    let reports = futures::future::join_all(
        targets
            .iter()
            .map(|(h, d)| crate::identity::verify(h, d, &opts)),
    )
    .await;
    for r in reports {
        if r.verified {
            out.push(verified_finding(&r));
            continue;
        }
        // The most telling detail first: a misleading DNS record, then each method's failure.
        let mut detail: Vec<String> = Vec::new();
        if let Some(twice) = &r.dns.doubled {
            detail.push(format!(
                "DNS: the record is at {twice} (the zone twice; rename it)"
            ));
        }
        if let Some(first) = r.dns.results.first() {
            if first.finding.level == Level::Fail && !first.values.is_empty() {
                detail.push(format!("DNS: {}", first.finding.what));
            }
        }
        if r.https.finding.level != Level::Pass {
            detail.push(format!("HTTPS: {}", r.https.finding.what));
            // Its causes, found by asking further (the Host header lost, the domain not
            // the PDS's, no wildcard record): one judgement with `handle check`.
            detail.extend(
                r.https
                    .notes
                    .iter()
                    .filter(|f| f.level == Level::Fail)
                    .map(|f| format!("HTTPS: {}", f.what)),
            );
        }
        if let Some(a) = &r.did_document {
            detail.extend(
                a.findings
                    .iter()
                    .filter(|f| f.level == Level::Fail)
                    .map(|f| format!("DID document: {}", f.what)),
            );
        }
        if let Some(e) = &r.did_document_error {
            detail.push(format!("DID document: {}", e.what));
        }
        // The fix of the cause found, when one was (unless DNS misleads: that comes first).
        let cause_fix = r
            .https
            .notes
            .iter()
            .find(|f| f.level == Level::Fail && !f.fix.is_empty())
            .filter(|_| !r.dns_misleads && !r.by_dns)
            .map(|f| format!("{} — ", f.fix))
            .unwrap_or_default();
        // The DID document names another PDS: after a rename of this one (or a migration
        // half done) no handle step fixes that — a PLC operation per account does.
        let here = i
            .settings
            .public_url
            .as_deref()
            .map(|u| u.trim_end_matches('/'));
        let elsewhere = r
            .did_document
            .as_ref()
            .and_then(|a| a.pds_endpoint.clone())
            .filter(|e| here.is_some_and(|h| h != e));
        if let Some(other) = elsewhere {
            out.push(
                Finding::fail(detail.join("; "))
                    .about(r.handle.as_str())
                    .why(format!(
                        "{}'s DID document names {other} as its PDS, not this one ({}). Was PDS_HOSTNAME changed after the account was made?",
                        r.handle.as_str(),
                        here.unwrap_or_default()
                    ))
                    .fix(format!(
                        "A renamed PDS needs a PLC operation per account naming its new URL (pds-wizard env set PDS_HOSTNAME=NAME says what a rename means; setting the old name back undoes it). An account moved here needs its PLC document updated (goat account plc …). pds-wizard handle check {} shows every detail.",
                        r.handle.as_str()
                    ))
                    .target(crate::target::Target::Hostname),
            );
            continue;
        }
        // The handle as the subject: the wizard's Enter opens that account (see `go_to`).
        out.push(
            Finding::fail(detail.join("; "))
                .about(r.handle.as_str())
                .why(r.verdict())
                .fix(format!(
                    "{cause_fix}pds-wizard handle check {} shows every detail; the Handle & DNS step fixes it",
                    r.handle.as_str()
                )),
        );
    }
    out
}

/// A verified handle: a pass, or — one judgement with `handle check` — a warning when the
/// way that verified it warns (a redirect to the atproto-did file, a CNAME).
fn verified_finding(r: &crate::identity::HandleReport) -> Finding {
    let mut warnings: Vec<String> = Vec::new();
    if r.by_dns {
        warnings.extend(
            r.dns
                .results
                .iter()
                .filter(|x| x.finding.level == Level::Warn)
                .map(|x| x.finding.what.clone())
                .take(1),
        );
    }
    if r.by_https {
        warnings.extend(
            std::iter::once(&r.https.finding)
                .chain(&r.https.notes)
                .filter(|f| f.level == Level::Warn)
                .map(|f| f.what.clone()),
        );
    }
    let handle = r.handle.as_str();
    let method = if r.by_dns { "DNS" } else { "HTTPS" };
    if warnings.is_empty() {
        return Finding::pass(format!("{handle}: verified by {method}"));
    }
    Finding::warn(format!(
        "{handle}: verified by {method}, but {}",
        warnings.join("; ")
    ))
    .about(handle)
    .fix(format!(
        "pds-wizard handle check {handle} shows why; not every resolver accepts it"
    ))
}

#[cfg(test)]
mod handle_tests {
    use super::verified_finding;
    use crate::finding::{Finding, Level};
    use crate::identity::didfile::DidFileCheck;
    use crate::identity::dns::{DnsCheck, TxtRecord};
    use crate::identity::{Did, Handle, HandleReport};

    fn by_https(notes: Vec<Finding>) -> HandleReport {
        let handle = Handle::parse("alice.example.com").unwrap();
        let did = Did::parse("did:plc:ewvi7nxzyoun6zhxrhs64oiz").unwrap();
        HandleReport {
            record: TxtRecord::new(&handle, &did, "example.com"),
            dns: DnsCheck {
                name: "_atproto.alice.example.com".into(),
                zone: None,
                results: vec![],
                doubled: None,
            },
            https: DidFileCheck {
                url: "https://alice.example.com/.well-known/atproto-did".into(),
                final_url: "https://www.example.com/.well-known/atproto-did".into(),
                status: Some(200),
                body: None,
                finding: Finding::pass("the DID"),
                notes,
            },
            did_document: None,
            did_document_error: None,
            by_dns: false,
            by_https: true,
            dns_misleads: false,
            proxy_loses_pds: false,
            verified: true,
            handle,
            did,
        }
    }

    #[test]
    fn a_redirected_atproto_did_file_warns_as_handle_check_does() {
        let f = verified_finding(&by_https(vec![Finding::warn(
            "https://alice.example.com/.well-known/atproto-did redirects to another host",
        )]));
        assert_eq!(f.level, Level::Warn, "{f:?}");
        assert!(f.what.contains("verified by HTTPS, but") && f.what.contains("redirects"));
        assert_eq!(verified_finding(&by_https(vec![])).level, Level::Pass);
    }
}

//! What the world reaches over HTTPS: DNS, the certificate, OAuth, uploads, sign-up.

use super::*;

pub(super) async fn dns(i: &Inputs) -> Vec<Finding> {
    use crate::addresses;
    let host = match hostname(i) {
        Ok(h) => h,
        Err(f) => return f,
    };
    // Each address a name gives is this server's, or the finding says which is not (a
    // stale AAAA beside a right A breaks every IPv6 client and certificate issuance).
    let machine = addresses::machine_addresses();
    let echoed = match &i.settings.flags.ip_echo {
        Some(url) => addresses::echo(url, i.settings.dns.timeout).await.ok(),
        None => None,
    };
    let records = addresses::records(&host, &addresses::record_addresses(&machine, echoed));
    let host_addrs = crate::identity::dns::addresses(&host, &i.settings.dns).await;
    if let Err(e) = &host_addrs {
        return vec![Finding::fail(e.clone())];
    }
    let c = addresses::judge(host.clone(), host.clone(), host_addrs, &machine, echoed);
    let mut out = vec![addresses::name_finding(
        &c,
        &host,
        &addresses::wanted(&records, &host),
    )];
    let domains: Vec<String> = i
        .get("PDS_SERVICE_HANDLE_DOMAINS")
        .map(|l| {
            l.split(',')
                .map(|d| d.trim().trim_start_matches('.').to_string())
                .filter(|d| !d.is_empty())
                .collect()
        })
        .unwrap_or_else(|| vec![host.clone()]);
    for d in domains {
        let probe = format!("{}.{d}", addresses::WILDCARD_PROBE);
        let name = format!("*.{d}");
        let got = crate::identity::dns::addresses(&probe, &i.settings.dns).await;
        let c = addresses::judge(name.clone(), probe, got, &machine, echoed);
        let want = addresses::records(&d, &addresses::record_addresses(&machine, echoed));
        out.push(addresses::name_finding(
            &c,
            &host,
            &addresses::wanted(&want, &name),
        ));
    }
    out
}

/// What a failed HTTPS request to our own name means, in words.
fn explain_https_error(host: &str, e: &reqwest::Error) -> Finding {
    let f = Finding::fail(format!("https://{host}/ fails")).caused_by(e);
    match classify(e) {
        Failure::Certificate(CertProblem::WrongName) => f
            .why(format!("the certificate served does not cover {host}"))
            .fix("get a certificate for this exact name (and *.NAME for handles), or fix the proxy's server_name so this name gets the right one"),
        Failure::Certificate(CertProblem::Expired) => f
            .why("the certificate has expired")
            .fix("renew it (certbot renew) and reload the proxy"),
        Failure::Certificate(CertProblem::Untrusted | CertProblem::Other) => f
            .why("clients do not trust the certificate")
            .fix("serve a certificate from a public CA (Let's Encrypt), with its full chain"),
        Failure::Refused => f
            .why("nothing listens on port 443")
            .fix("start the reverse proxy, and open port 443 in the firewall"),
        Failure::Timeout => f
            .why("port 443 does not answer")
            .fix("open port 443 in the firewall (and at the hosting provider)"),
        Failure::NoAddress => f
            .why(format!("{host} has no address"))
            .fix(format!("create the A (and AAAA) record for {host}")),
        Failure::Other => f,
    }
}

pub(super) async fn https(i: &Inputs) -> Vec<Finding> {
    let (host, c) = match public_client(i) {
        Ok(x) => x,
        Err(f) => return f,
    };
    let mut out = Vec::new();
    match c.get(format!("https://{host}/xrpc/_health")).send().await {
        Ok(r) if r.status().is_success() => out.push(Finding::pass(format!(
            "https://{host}/xrpc/_health answers 200"
        ))),
        // The proxy's own "no upstream" answers: while the PDS is down that is its cause,
        // said once by the health check; while it is up, the proxy points elsewhere.
        Ok(r) if matches!(r.status().as_u16(), 502..=504) => {
            let status = r.status().as_u16();
            out.push(match i.health().await {
                Health::Down(..) => Finding::info(format!(
                    "https://{host}/xrpc/_health answers HTTP {status}: the proxy cannot reach the PDS, which is not running (see \"the PDS answers locally\")"
                )),
                _ => Finding::fail(format!(
                    "https://{host}/xrpc/_health answers HTTP {status}: the proxy cannot reach the PDS"
                ))
                .why(format!(
                    "the PDS answers at {}, but not where the proxy sends requests",
                    i.settings.local_url
                ))
                .fix(format!(
                    "point the proxy at {} (nginx: proxy_pass; Caddy: reverse_proxy), then reload it",
                    i.settings.local_url
                )),
            });
        }
        Ok(r) => out.push(
            Finding::fail(format!(
                "https://{host}/xrpc/_health answers HTTP {}",
                r.status().as_u16()
            ))
            .why("the proxy answers, but not with the PDS")
            .fix("send every path of this name to the PDS (pds-wizard proxy render …)"),
        ),
        Err(e) => return vec![explain_https_error(&host, &e)],
    }
    match tls::connect(
        &host,
        443,
        i.settings.http.connect_to,
        i.settings.http.timeout,
    )
    .await
    {
        Ok((_, der)) => match tls::validity(&der) {
            Some((before, after)) => out.push(cert_expiry(
                before,
                after,
                time::OffsetDateTime::now_utc().unix_timestamp(),
            )),
            None => out.push(Finding::warn(
                "could not read the certificate's expiry date",
            )),
        },
        Err(e) => out.push(Finding::warn(format!(
            "could not read the certificate: {e}"
        ))),
    }
    out
}

/// A certificate's expiry judged against its lifetime: renewal is due well before the end
/// (ACME clients renew with a third of it left), so a warning comes with a sixth left — 15
/// days of a 90-day certificate, about a day of a 7-day internal one.
fn cert_expiry(not_before: i64, not_after: i64, now: i64) -> Finding {
    const DAY: i64 = 86_400;
    let left = not_after - now;
    let lifetime = (not_after - not_before).max(DAY);
    let days = left / DAY;
    let of = format!("of its {}-day lifetime", (lifetime + DAY / 2) / DAY);
    if left < 0 {
        Finding::fail("the certificate has expired").fix("renew it and reload the proxy")
    } else if left < lifetime / 6 {
        Finding::warn(format!("the certificate expires in {days} days ({of}): renewal is overdue"))
            .fix("check that renewal works: sudo certbot renew --dry-run (Caddy and Traefik renew by themselves: look at their logs)")
    } else {
        Finding::pass(format!(
            "the certificate is good for {days} more days ({of})"
        ))
    }
}

pub(super) async fn oauth(i: &Inputs) -> Vec<Finding> {
    let (host, c) = match public_client(i) {
        Ok(x) => x,
        Err(f) => return f,
    };
    let mut out = Vec::new();
    for (path, field) in [
        ("/.well-known/oauth-protected-resource", "resource"),
        ("/.well-known/oauth-authorization-server", "issuer"),
    ] {
        let url = format!("https://{host}{path}");
        match c.get(&url).send().await {
            Err(e) => out.push(explain_https_error(&host, &e)),
            Ok(r) => match json_answer(r).await {
                (200, Some(v), _) if v.get(field).is_some() => {
                    out.push(Finding::pass(format!("{path} is the PDS's")))
                }
                (status, _, seen) => out.push(
                    Finding::fail(format!("{path} is not the PDS's answer ({seen})"))
                        .why(if status >= 500 {
                            "OAuth clients (Discord's Bluesky connection, say) fail with HTTP 500".to_string()
                        } else {
                            "the proxy does not send it to the PDS: OAuth clients fail (HTTP 500, \"Failed to resolve OAuth server metadata\")".to_string()
                        })
                        .fix("proxy /.well-known/oauth-protected-resource, /.well-known/oauth-authorization-server, /oauth/ and /@atproto/ to the PDS (pds-wizard proxy render …)"),
                ),
            },
        }
    }
    let url = format!("https://{host}/oauth/authorize");
    match c.get(&url).send().await {
        Err(e) => out.push(explain_https_error(&host, &e)),
        Ok(r) => {
            let status = r.status().as_u16();
            let page = crate::http::read_text(r, crate::http::cap::TEXT)
                .await
                .unwrap_or_default();
            match page.find("/@atproto/") {
                Some(start) => {
                    out.push(Finding::pass("/oauth/authorize is the PDS's sign-in page"));
                    let end = page[start..]
                        .find(['"', '\''])
                        .map_or(page.len(), |e| start + e);
                    let asset = &page[start..end];
                    match c.get(format!("https://{host}{asset}")).send().await {
                        Ok(r) if r.status().is_success() => {
                            out.push(Finding::pass("/@atproto/ serves the sign-in page's assets"))
                        }
                        Ok(r) => out.push(
                            Finding::fail(format!("{asset} answers HTTP {}", r.status().as_u16()))
                                .why("the sign-in page loads without its scripts and styles: OAuth sign-in breaks")
                                .fix("proxy /@atproto/ to the PDS"),
                        ),
                        Err(e) => out.push(explain_https_error(&host, &e)),
                    }
                }
                None => out.push(
                    Finding::fail(format!(
                        "/oauth/authorize is not the PDS's page (HTTP {status})"
                    ))
                    .fix("proxy /oauth/ to the PDS"),
                ),
            }
        }
    }
    if i.pds_version()
        .await
        .is_some_and(|v| v.has(crate::version::Feature::AccountPage))
    {
        out.push(account_page(&c, &host).await);
    }
    out
}

/// The account page (@atproto/pds 0.4.124 and later) through the proxy, loaded as a browser loads it: the
/// PDS answers a fetch that is not a page navigation with 400.
async fn account_page(c: &reqwest::Client, host: &str) -> Finding {
    let r = c
        .get(format!("https://{host}/account"))
        .header("accept", "text/html")
        .header("sec-fetch-mode", "navigate")
        .header("sec-fetch-dest", "document")
        .header("sec-fetch-site", "none")
        .send()
        .await;
    match r {
        Err(e) => explain_https_error(host, &e),
        Ok(r) => {
            let status = r.status().as_u16();
            let page = crate::http::read_text(r, crate::http::cap::TEXT)
                .await
                .unwrap_or_default();
            if status == 200 && page.contains("/@atproto/oauth-provider/") {
                Finding::pass("/account is the PDS's account page")
            } else {
                Finding::fail(format!(
                    "/account is not the PDS's account page (HTTP {status})"
                ))
                .why("Users cannot change their email or handle, or deactivate their account: the apps link to this page (the PDS serves it since 0.4.124).")
                .fix("proxy /account, /account/… and /.well-known/change-password to the PDS (pds-wizard proxy render …)")
            }
        }
    }
}

/// The upload limit end to end: what pds.env says, what the running PDS reports
/// (describeServer.blobUploadLimit, 0.5.22 and later) and what the proxy lets through.
/// Says which one cuts uploads.
pub(super) async fn uploads(i: &Inputs) -> Vec<Finding> {
    let mut out = Vec::new();
    let set = i
        .get("PDS_BLOB_UPLOAD_LIMIT")
        .and_then(|v| v.trim().parse::<u64>().ok());
    let configured = set.unwrap_or(crate::proxy::DEFAULT_BLOB_LIMIT);
    let live = i
        .describe()
        .await
        .and_then(|d| d["blobUploadLimit"].as_u64());
    if let Some(l) = live.filter(|l| *l != configured) {
        out.push(
            Finding::warn(format!(
                "the running PDS takes uploads up to {}, pds.env says {}",
                human_bytes(l),
                human_bytes(configured)
            ))
            .why("The PDS reads pds.env when it starts: it has not been restarted since the limit changed.")
            .fix(format!("Restart the PDS: {}", crate::pds::restart_hint(&i.settings.flags))),
        );
    }
    let limit = live.unwrap_or(configured);
    let source = match (live, set) {
        (Some(_), _) => "describeServer",
        (None, Some(_)) => "PDS_BLOB_UPLOAD_LIMIT",
        (None, None) => "the PDS's default; PDS_BLOB_UPLOAD_LIMIT is not set",
    };
    let (host, _) = match public_client(i) {
        Ok(x) => x,
        Err(f) => return f,
    };
    // Long enough for a proxy to answer 100 or 413, short beside the doctor's bound.
    let wait = Duration::from_secs(2).min(i.settings.http.timeout);
    let probe = tls::announce_upload(
        &host,
        443,
        i.settings.http.connect_to,
        "/xrpc/com.atproto.repo.uploadBlob",
        limit,
        wait,
        i.settings.http.timeout,
    )
    .await;
    match probe {
        Ok(Some(413)) => out.push(
            Finding::fail(format!(
                "the proxy refuses an upload of {} (HTTP 413) before it reaches the PDS",
                human_bytes(limit)
            ))
            .why(format!(
                "The proxy's body limit (nginx: client_max_body_size, 1 MiB unless set) is below the PDS's {} ({source}): it cuts uploads first, and photos and videos over it fail in the apps.",
                human_bytes(limit)
            ))
            .fix(format!(
                "Raise the proxy's limit to at least {limit} bytes (nginx: client_max_body_size {limit};), or render the config again: pds-wizard proxy render writes it from PDS_BLOB_UPLOAD_LIMIT."
            ))
            .target(Target::Proxy(ProxyField::BodyLimit)),
        ),
        Ok(Some(code)) if code < 400 || code == 401 => out.push(Finding::pass(format!(
            "uploads up to {} ({source}): the proxy takes that size (HTTP {code}), so the PDS's limit is the one that cuts",
            human_bytes(limit)
        ))),
        Ok(Some(code)) => out.push(
            Finding::warn(format!(
                "an announced upload of {} got HTTP {code} from the proxy",
                human_bytes(limit)
            ))
            .why("Not the PDS's answer to an upload: the proxy may not send uploads to the PDS.")
            .fix("Send /xrpc/ to the PDS (pds-wizard proxy render …)."),
        ),
        Ok(None) => out.push(Finding::info(format!(
            "uploads up to {} ({source}); the proxy did not refuse that size at once (nginx would; Caddy and Traefik judge the body as it comes, so their limit is not checked here)",
            human_bytes(limit)
        ))),
        Err(e) => out.push(Finding::warn(format!(
            "could not ask the proxy about uploads: {e}"
        ))),
    }
    out
}

/// Sign-up as the running PDS does it (describeServer.inviteCodeRequired), with the
/// captcha keys from pds.env: open sign-up with nothing in front is what spam bots look
/// for, and a flood of accounts gets the whole host throttled by the relay.
pub(super) async fn signup(i: &Inputs) -> Vec<Finding> {
    let Some(doc) = &i.doc else {
        return vec![Finding::info(
            "pds.env cannot be read (the env check says why)",
        )];
    };
    let invite_value = doc.get("PDS_INVITE_REQUIRED");
    let file_open = catalogue::signup_open(invite_value.as_deref());
    let guarded = catalogue::captcha_set(doc);
    let live = i
        .describe()
        .await
        .and_then(|d| d["inviteCodeRequired"].as_bool());
    match live {
        Some(false) if !guarded => {
            let f = catalogue::open_registration(Some("false"), doc)
                .expect("open with no captcha is a finding");
            let mut f = Finding {
                what: "the running PDS lets anyone create an account (describeServer: inviteCodeRequired false), and no captcha guards sign-up".into(),
                ..f
            };
            if !file_open {
                // pds.env is already right: only the restart is missing, so that is the fix.
                let ctx = i.settings.flags.clone();
                let restart = tokio::task::spawn_blocking(move || crate::pds::restart_hint(&ctx))
                    .await
                    .unwrap_or_else(|_| "systemctl restart pds".into());
                f.why = format!("{} pds.env requires invites, but the running PDS has not been restarted since.", f.why);
                f.fix = format!("pds.env already requires invites: restart the PDS so it reads it ({restart}).");
                return vec![f.target(Target::Service)];
            }
            vec![f.target(Target::InviteRequired)]
        }
        Some(false) => vec![Finding::pass(
            "sign-up is open, behind hCaptcha (PDS_HCAPTCHA_* in pds.env)",
        )],
        Some(true) if file_open => vec![Finding::info(
            "the running PDS requires invite codes; pds.env opens sign-up, which takes effect when the PDS restarts",
        )],
        Some(true) => vec![Finding::pass(
            "new accounts need an invite code (the running PDS says so)",
        )],
        None => match catalogue::open_registration(invite_value.as_deref(), doc) {
            Some(f) => vec![Finding {
                what: format!("{} (pds.env; the PDS does not answer, so not confirmed)", f.what),
                ..f
            }
            .target(Target::InviteRequired)],
            None => vec![Finding::info(
                "pds.env guards sign-up; the PDS does not answer, so not confirmed",
            )],
        },
    }
}

#[cfg(test)]
mod expiry_tests {
    use super::cert_expiry;
    use crate::finding::Level;

    #[test]
    fn expiry_is_judged_against_the_lifetime() {
        const DAY: i64 = 86_400;
        let now = 1_800_000_000;
        // A 7-day internal certificate with 6 days left is fine; with half a day, overdue.
        let f = cert_expiry(now - DAY, now + 6 * DAY, now);
        assert_eq!(f.level, Level::Pass, "{f:?}");
        assert!(f.what.contains("of its 7-day lifetime"), "{f:?}");
        assert_eq!(
            cert_expiry(now - 6 * DAY - DAY / 2, now + DAY / 2, now).level,
            Level::Warn
        );
        // A 90-day one with 10 days left is overdue; with 60, fine.
        assert_eq!(
            cert_expiry(now - 80 * DAY, now + 10 * DAY, now).level,
            Level::Warn
        );
        assert_eq!(
            cert_expiry(now - 30 * DAY, now + 60 * DAY, now).level,
            Level::Pass
        );
        assert_eq!(
            cert_expiry(now - 91 * DAY, now - DAY, now).level,
            Level::Fail
        );
    }
}

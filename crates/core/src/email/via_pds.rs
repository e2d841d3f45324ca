//! Proving the PDS itself can send: ask it to mail an account (a password-reset code, the
//! one mail the PDS sends on request without the account's session), and read its log when
//! it cannot. The PDS answers that request only after its SMTP server took the mail (it
//! awaits nodemailer), so HTTP 200 means delivered to the server; a mail error is an HTTP
//! 500 whose reason is only in the PDS's log.

use crate::finding::Finding;
use crate::http::{client, HttpOptions};
use crate::pds::accounts::Account;
use crate::pds::LogSource;
use crate::secret::Secret;
use serde::Serialize;
use std::time::{Duration, Instant};

/// How the PDS's own send went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The PDS's SMTP server took the mail.
    Sent,
    /// The PDS tried and its mail failed (HTTP 500).
    Failed,
    /// No such account, or it has no email address.
    NoAccount,
    /// The PDS did not answer, or refused the admin password.
    Unreachable,
    /// The PDS's own limit on reset mails (15 an hour).
    RateLimited,
}

#[derive(Debug, Clone, Serialize)]
pub struct PdsSend {
    pub outcome: Outcome,
    pub finding: Finding,
    /// The account mailed (or meant).
    pub account: Option<Account>,
    /// The PDS's log lines about mail, when it failed.
    pub log: Vec<String>,
    pub elapsed_ms: u64,
    /// Whether the PDS runs with pds.env's email settings (see `against_file`).
    pub settings: Settings,
}

/// Whether the PDS sent with pds.env's email settings or with others it started with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Settings {
    /// Not compared (`against_file` not called).
    NotCompared,
    /// The running PDS has pds.env's values.
    Same,
    /// These keys differ between pds.env and the running PDS.
    Differ(Vec<String>),
    /// pds.env changed after the PDS started.
    ChangedSince,
    /// This machine cannot tell (the PDS is elsewhere, or not root).
    Unknown,
}

/// The keys a send through the PDS depends on.
pub const EMAIL_KEYS: [&str; 2] = ["PDS_EMAIL_SMTP_URL", "PDS_EMAIL_FROM_ADDRESS"];

/// `against_file` with pds.env as it is on disk at `path` (what the PDS reads at its next
/// start) and what runs behind `pds_url` on this machine.
pub fn against_file_here(
    r: PdsSend,
    path: &std::path::Path,
    pds_url: &str,
    restart: &str,
) -> PdsSend {
    match crate::envfile::Document::load(path) {
        Ok(doc) => {
            let running = crate::pds::running::for_url(pds_url);
            against_file(r, &doc, path, &running, restart)
        }
        Err(_) => r,
    }
}

/// A send through the PDS judged against pds.env (`doc`, at `path`): the PDS read its
/// settings when it started, so a mail it sent proves pds.env only when the two agree and
/// pds.env itself passes the check; otherwise it is not called fixed, and the fix is the
/// restart (`restart`: how to do it here) rather than the settings.
pub fn against_file(
    mut r: PdsSend,
    doc: &crate::envfile::Document,
    path: &std::path::Path,
    running: &crate::pds::running::Running,
    restart: &str,
) -> PdsSend {
    use crate::pds::running::{drift, Drift};
    r.settings = match drift(doc, path, running, &EMAIL_KEYS) {
        Drift::Same => Settings::Same,
        Drift::Differs(keys) => Settings::Differ(keys),
        Drift::ChangedSince => Settings::ChangedSince,
        Drift::Unknown => Settings::Unknown,
    };
    let broken: Vec<Finding> = super::check(doc)
        .into_iter()
        .filter(|f| f.level == crate::finding::Level::Fail)
        .collect();
    let stale = match &r.settings {
        Settings::Differ(keys) => Some(format!(
            "pds.env's {} {} from what the running PDS started with",
            keys.join(" and "),
            if keys.len() == 1 { "differs" } else { "differ" }
        )),
        Settings::ChangedSince => {
            Some("pds.env was changed after the running PDS started".to_string())
        }
        _ => None,
    };
    let next = match broken.first() {
        Some(f) => format!(
            "the next restart reads pds.env, which fails the check ({}): mail will break",
            f.what
        ),
        None => "the next restart reads pds.env, which the PDS has not sent with yet".to_string(),
    };
    match (r.outcome, stale) {
        (Outcome::Sent, Some(stale)) => {
            let what = format!(
                "{} — with the settings it started with, not pds.env's",
                r.finding.what
            );
            let fix = match broken.is_empty() {
                true => format!("Restart the PDS ({restart}), then test again: only a send after the restart proves pds.env."),
                false => format!("Repair pds.env first (pds-wizard email repair, or the Email step), then restart the PDS ({restart}) and test again."),
            };
            r.finding = Finding::warn(what)
                .why(format!("{stale}; {next}."))
                .fix(fix);
        }
        (Outcome::Sent, None) if !broken.is_empty() => {
            let what = format!(
                "{} — but pds.env's email settings fail the check",
                r.finding.what
            );
            r.finding = Finding::warn(what)
                .why(format!("{}; the PDS reads pds.env again at its next restart.", broken[0].what))
                .fix("pds-wizard email repair (or the Email step), then restart the PDS and test again.");
        }
        (Outcome::Failed, Some(stale)) => {
            r.finding.fix = format!(
                "{stale}: restart the PDS ({restart}) so it uses pds.env, then test again."
            );
        }
        (Outcome::Failed, None) if r.settings == Settings::Same => {
            r.finding.fix = "The PDS runs with pds.env's settings and they fail: pds-wizard email test --to YOU shows where, step by step.".into();
        }
        _ => {}
    }
    r
}

/// The account `who` names (handle, DID or email, any case), else the one to use by
/// default: the account whose address is `prefer`, else the first active one with an address.
pub fn pick<'a>(accounts: &'a [Account], who: &str, prefer: &str) -> Option<&'a Account> {
    let who = who.trim().trim_start_matches('@').to_lowercase();
    let has_mail = |a: &&Account| a.email.as_deref().is_some_and(|e| !e.is_empty());
    if !who.is_empty() {
        return accounts.iter().find(|a| {
            a.handle.to_lowercase() == who
                || a.did == who
                || a.email.as_deref().map(str::to_lowercase).as_deref() == Some(who.as_str())
        });
    }
    let prefer = prefer.trim().to_lowercase();
    accounts
        .iter()
        .filter(has_mail)
        .find(|a| a.email.as_deref().map(str::to_lowercase).as_deref() == Some(prefer.as_str()))
        .or_else(|| accounts.iter().filter(has_mail).find(|a| a.active))
}

/// An HTTP client for the PDS at `pds_url`, and that URL without its trailing `/`.
fn client_for(pds_url: &str, opts: &HttpOptions) -> Result<(reqwest::Client, String), String> {
    let base = pds_url.trim_end_matches('/').to_string();
    let host = reqwest::Url::parse(&base)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default();
    Ok((client(opts, &host)?, base))
}

/// Wait until the PDS answers /xrpc/_health (after a restart), at most `limit`.
pub async fn wait_for_pds(pds_url: &str, opts: &HttpOptions, limit: Duration) -> bool {
    let Ok((c, base)) = client_for(pds_url, opts) else {
        return false;
    };
    let end = Instant::now() + limit;
    while Instant::now() < end {
        let left = end.saturating_duration_since(Instant::now());
        let ask = c
            .get(format!("{base}/xrpc/_health"))
            .timeout(left.min(Duration::from_secs(2)))
            .send();
        if let Ok(Ok(r)) = tokio::time::timeout(left, ask).await {
            if r.status().is_success() {
                return true;
            }
        }
        tokio::time::sleep(Duration::from_millis(250).min(left)).await;
    }
    false
}

/// Have the PDS mail `who` (see `pick`) a password-reset code through its own SMTP
/// settings; on failure, the mail lines of its log.
pub async fn send_via_pds(
    pds_url: &str,
    admin_password: &Secret,
    who: &str,
    prefer: &str,
    opts: &HttpOptions,
    log: Option<&LogSource>,
) -> PdsSend {
    let started = Instant::now();
    let done = |outcome, finding, account, log| PdsSend {
        outcome,
        finding,
        account,
        log,
        elapsed_ms: started.elapsed().as_millis() as u64,
        settings: Settings::NotCompared,
    };
    let accounts = match (crate::pds::admin::Admin {
        pds_url: pds_url.to_string(),
        password: admin_password.clone(),
        http: opts.clone(),
    }
    .accounts()
    .await)
    {
        Ok(a) => a,
        Err(f) => return done(Outcome::Unreachable, f, None, Vec::new()),
    };
    let Some(account) = pick(&accounts, who, prefer).cloned() else {
        let what = if who.trim().is_empty() {
            "no account on this PDS has an email address".to_string()
        } else {
            format!("no account {who:?} on this PDS")
        };
        return done(
            Outcome::NoAccount,
            Finding::fail(what)
                .why("The PDS mails only accounts it hosts, at the address they signed up with.")
                .fix("Name an account by handle, DID or email (pds-wizard accounts lists them), or create one first."),
            None,
            Vec::new(),
        );
    };
    let Some(email) = account.email.clone().filter(|e| !e.is_empty()) else {
        return done(
            Outcome::NoAccount,
            Finding::fail(format!("{} has no email address", account.handle))
                .fix("Pick an account with an address."),
            Some(account),
            Vec::new(),
        );
    };
    let (c, base) = match client_for(pds_url, opts) {
        Ok(x) => x,
        Err(e) => {
            return done(
                Outcome::Unreachable,
                Finding::fail(e),
                Some(account),
                Vec::new(),
            )
        }
    };
    let resp = c
        .post(format!(
            "{base}/xrpc/com.atproto.server.requestPasswordReset"
        ))
        .json(&serde_json::json!({ "email": email }))
        .send()
        .await;
    let resp = match resp {
        Ok(r) => r,
        Err(e) => {
            return done(
                Outcome::Unreachable,
                Finding::fail("the PDS did not answer").caused_by(&e)
                    .fix("Check that it runs (sudo systemctl status pds); with a proxy in front, pass --pds-url."),
                Some(account),
                Vec::new(),
            )
        }
    };
    let status = resp.status();
    if status.is_success() {
        return done(
            Outcome::Sent,
            Finding::pass(format!(
                "the PDS sent a mail to {email} ({}): its SMTP server accepted it",
                account.handle
            ))
            .why("A password-reset code, sent through PDS_EMAIL_SMTP_URL as the running PDS read it; the PDS answers only once its SMTP server took the mail.")
            .fix("Nothing to fix. The code in that mail expires in 15 minutes and changes nothing unless used."),
            Some(account),
            Vec::new(),
        );
    }
    if status.as_u16() == 429 {
        return done(
            Outcome::RateLimited,
            Finding::warn("the PDS refused: too many reset mails for now (15 an hour)")
                .fix("Try again later, or with another account."),
            Some(account),
            Vec::new(),
        );
    }
    // The PDS writes its log line asynchronously, sometimes just after the 500 went out:
    // a log that says nothing yet is read again for up to a second.
    let mut lines = Vec::new();
    if let Some(l) = log {
        for _ in 0..10 {
            lines = l.mail_errors(6).unwrap_or_else(|e| vec![e]);
            if !lines.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
    let hint = log
        .map(LogSource::hint)
        .unwrap_or_else(|| "sudo journalctl -u pds -n 50 (or docker logs pds)".into());
    let why = if lines.is_empty() {
        format!("The PDS answered HTTP {status}; the reason is only in its log.")
    } else {
        format!(
            "The PDS answered HTTP {status}; its log says: {}",
            lines.last().cloned().unwrap_or_default()
        )
    };
    done(
        Outcome::Failed,
        Finding::fail(format!("the PDS could not send mail to {email}"))
            .why(why)
            .fix(format!(
                "If the wizard's own test passed, the PDS still runs with the old settings: restart it. Else read {hint}."
            )),
        Some(account),
        lines,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acct(handle: &str, email: Option<&str>, active: bool) -> Account {
        Account {
            handle: handle.into(),
            did: format!("did:plc:{}", handle.replace('.', "")),
            email: email.map(str::to_string),
            active,
            status: None,
        }
    }

    #[test]
    fn the_account_named_else_the_preferred_else_the_first_with_mail() {
        let all = vec![
            acct("a.test", None, true),
            acct("b.test", Some("b@example.com"), false),
            acct("c.test", Some("C@example.com"), true),
            acct("d.test", Some("d@example.com"), true),
        ];
        assert_eq!(pick(&all, "@D.test", "").unwrap().handle, "d.test");
        assert_eq!(pick(&all, "did:plc:btest", "").unwrap().handle, "b.test");
        assert_eq!(pick(&all, "c@example.com", "").unwrap().handle, "c.test");
        assert!(pick(&all, "nobody.test", "").is_none());
        assert_eq!(pick(&all, "", "d@EXAMPLE.com").unwrap().handle, "d.test");
        assert_eq!(pick(&all, "", "x@example.com").unwrap().handle, "c.test");
    }
}

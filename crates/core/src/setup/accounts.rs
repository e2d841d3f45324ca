//! Moving an account onto a new handle, as the command line and the Accounts step both do
//! it: a custom domain is verified first (the PDS would refuse it with less to go on), then
//! the PDS changes the handle (and emits an identity event), then each relay in
//! PDS_CRAWLERS is asked to crawl.

use crate::envfile::Document;
use crate::finding::{worst, Finding, Level};
use crate::identity::dns::TxtRecord;
use crate::identity::{Did, Handle};
use crate::pds::admin::Created;
use crate::settings::Resolved;
use serde::Serialize;

/// Whether `handle` is under one of the PDS's own handle domains (PDS_SERVICE_HANDLE_DOMAINS,
/// else `.PDS_HOSTNAME`): the PDS answers for those itself, no record needed.
pub fn under_own_domains(doc: Option<&Document>, hostname: Option<&str>, handle: &Handle) -> bool {
    own_domains(doc, hostname)
        .iter()
        .any(|d| handle.as_str().ends_with(d.as_str()))
}

/// The PDS's own rule for a handle under one of its handle domains, as both 0.4.217 and
/// 0.5 apply it (`ensureHandleServiceConstraints`): the part before the domain it ends with
/// holds no dot and 3 to 18 characters. (Names the PDS keeps for itself, "Reserved handle",
/// are said by the PDS when it refuses.) None when the handle is under none of `domains`.
pub fn service_handle_rule(handle: &Handle, domains: &[String]) -> Option<Result<(), Finding>> {
    let h = handle.as_str();
    // The PDS takes the first domain the handle ends with.
    let domain = domains.iter().find(|d| h.ends_with(d.as_str()))?;
    let front = &h[..h.len() - domain.len()];
    let why = format!(
        "The PDS takes a handle under {domain} only when the name before it is 3 to 18 characters without a dot."
    );
    let bad = |what: String, fix: String| Some(Err(Finding::fail(what).why(why.clone()).fix(fix)));
    if front.contains('.') {
        return bad(
            format!("{h}: the PDS refuses \"{front}\" before {domain} (a dot: \"Invalid characters in handle\")"),
            format!("one name before {domain}, e.g. {}{domain}", front.replace('.', "-")),
        );
    }
    let n = front.chars().count();
    if n < 3 {
        return bad(
            format!("{h}: \"{front}\" is {n} character{} before {domain}; the PDS wants 3 to 18 (\"Handle too short\")", if n == 1 { "" } else { "s" }),
            format!("a longer name, e.g. {front}{}{domain}", "x".repeat(3 - n)),
        );
    }
    if n > 18 {
        return bad(
            format!("{h}: \"{front}\" is {n} characters before {domain}; the PDS wants 3 to 18 (\"Handle too long\")"),
            format!("a shorter name, e.g. {}{domain}", front.chars().take(18).collect::<String>()),
        );
    }
    Some(Ok(()))
}

/// The handle domains the running PDS offers (describeServer's availableUserDomains), else
/// those pds.env gives it.
pub async fn offered_domains(s: &Resolved, doc: Option<&Document>) -> Vec<String> {
    let admin = s.admin();
    match admin.available_domains().await {
        Ok(d) if !d.is_empty() => d,
        _ => own_domains(doc, s.hostname.as_deref()),
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Moved {
    pub did: String,
    pub from: String,
    pub handle: String,
    /// Each step in order: the verification, the change, each crawl request.
    pub steps: Vec<Finding>,
    /// The handle was changed on the PDS.
    pub moved: bool,
    /// The record to create, when the domain does not verify yet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<TxtRecord>,
}

impl Moved {
    pub fn level(&self) -> Level {
        worst(&self.steps)
    }
}

/// Move account `did` (now `from`) to `handle`.
pub async fn move_handle(
    s: &Resolved,
    doc: Option<&Document>,
    did: &str,
    from: &str,
    handle: &Handle,
) -> Moved {
    let mut out = Moved {
        did: did.to_string(),
        from: from.to_string(),
        handle: handle.as_str().to_string(),
        steps: vec![],
        moved: false,
        record: None,
    };
    if let Some(Err(f)) = service_handle_rule(handle, &offered_domains(s, doc).await) {
        out.steps.push(f);
        return out;
    }
    if !under_own_domains(doc, s.hostname.as_deref(), handle) {
        let parsed = match Did::parse(did) {
            Ok(d) => d,
            Err(e) => {
                out.steps.push(Finding::fail(e.to_string()));
                return out;
            }
        };
        let r = crate::identity::verify(handle, &parsed, &s.verify_options()).await;
        // Before the move the DID document still names the old handle: what must hold is
        // that the new name points at the account.
        if !r.points_at_did() {
            out.steps.push(
                Finding::fail(format!("{handle} does not point at {did} yet"))
                    .why(r.verdict())
                    .fix(format!(
                        "create the TXT record {} with the value {} (or serve {did} at https://{handle}/.well-known/atproto-did), then try again",
                        r.record.full_name, r.record.value
                    )),
            );
            out.record = Some(r.record.clone());
            return out;
        }
        out.steps.push(Finding::pass(format!(
            "{handle} verifies by {}",
            if r.by_dns { "DNS" } else { "HTTPS" }
        )));
    }
    let admin = s.admin();
    if let Err(f) = admin.set_handle(did, handle.as_str()).await {
        out.steps.push(f);
        return out;
    }
    out.moved = true;
    out.steps.push(Finding::pass(format!(
        "{from} is now {handle}: the PDS emitted an identity event for {did}"
    )));
    let to = s.announce(doc);
    if let Ok(c) = crate::http::client(&to.http, "") {
        for relay in &to.relays {
            out.steps
                .push(crate::relay::request_crawl(&c, relay, to.hostname.as_deref()).await);
        }
    }
    out
}

/// How `create_account` ended.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum NewAccount {
    /// Made now: its password is shown once.
    Created(Created),
    /// Sent, but the PDS did not answer in time: it may exist now. Its password is shown
    /// once all the same (it was made here and exists nowhere else).
    Unknown {
        #[serde(flatten)]
        created: Created,
        why: Finding,
    },
    /// An account with this handle and this email is there already — an earlier run that got
    /// no answer made it. Nothing was done; its password is the one that run showed.
    Found {
        handle: String,
        did: String,
        email: String,
    },
}

/// Make an account as the command line and the Accounts step both do: what can be checked
/// here is checked before anything is made on the PDS (the handle under the PDS's own
/// domains and free, the email); then an invite when the PDS wants one — one this wizard
/// made earlier and that is still unused, else a new one —, then createAccount. The password
/// (`password`, or a new one) is never lost: when the PDS does not answer in time it comes
/// back all the same, as `Unknown`.
pub async fn create_account(
    s: &Resolved,
    doc: Option<&Document>,
    handle: &Handle,
    email: &str,
    password: Option<crate::secret::Secret>,
) -> Result<NewAccount, Finding> {
    let email = email.trim();
    let plausible = email.split_once('@').is_some_and(|(user, domain)| {
        !user.is_empty() && domain.contains('.') && !email.contains(char::is_whitespace)
    });
    if !plausible {
        return Err(Finding::fail(format!("{email:?} is not an email address"))
            .fix("give the account holder's address, e.g. alice@example.com"));
    }
    // The domains the PDS itself offers: what it will judge the handle by.
    let offered = offered_domains(s, doc).await;
    match service_handle_rule(handle, &offered) {
        Some(Err(f)) => return Err(f),
        Some(Ok(())) => {}
        None => {
            let domains = offered.join(", ");
            return Err(Finding::fail(format!(
                "{handle} is not under a handle domain this PDS offers ({domains}): the PDS would answer \"Not a supported handle domain\""
            ))
            .why("A new account starts on a handle the PDS answers for itself; a handle on another domain must point at the account's DID, which does not exist yet.")
            .fix(format!(
                "create it under {} (e.g. {}{}), then move it: pds-wizard accounts set-handle … {handle}",
                domains,
                handle.as_str().split('.').next().unwrap_or("name"),
                offered.first().map_or("", String::as_str)
            )));
        }
    }
    let admin = s.admin();
    if let Some(did) = admin.holder_of(handle.as_str()).await? {
        let theirs = admin.email_of(&did).await?.unwrap_or_default();
        if theirs.eq_ignore_ascii_case(email) {
            return Ok(NewAccount::Found {
                handle: handle.as_str().to_string(),
                did,
                email: theirs,
            });
        }
        return Err(Finding::fail(format!(
            "{handle} is taken: {did} has it (with another email)"
        ))
        .fix("choose another handle (pds-wizard accounts lists them)"));
    }
    let invites = InviteBook::for_pds(&s.local_url);
    let invite = match admin.invites_required().await? {
        false => None,
        true => Some(match admin.unused_invite(&invites.codes()).await? {
            Some(code) => code,
            None => {
                let code = admin.invite(1).await?;
                // Kept until it is used: a create the PDS refuses takes it again next time.
                invites.add(&code);
                code
            }
        }),
    };
    let password = password.unwrap_or_else(crate::pds::admin::generate_password);
    let mut created = Created {
        did: String::new(),
        handle: handle.as_str().to_string(),
        email: email.to_string(),
        invite: invite.clone(),
        password,
    };
    match admin
        .create_account(handle.as_str(), email, &created.password, invite.as_deref())
        .await
    {
        Ok(did) => {
            created.did = did;
            if let Some(code) = &invite {
                invites.remove(code);
            }
            Ok(NewAccount::Created(created))
        }
        Err(e) if e.maybe_done => Ok(NewAccount::Unknown {
            created,
            why: crate::pds::admin::unknown_outcome(
                "the account",
                "pds-wizard accounts list (running the same create again finds it if it was made)",
                &e.finding,
            ),
        }),
        Err(e) => Err(e.finding),
    }
}

/// The PDS's handle domains as it reads them (PDS_SERVICE_HANDLE_DOMAINS split on commas,
/// untrimmed, as its envList does; else `.PDS_HOSTNAME`, `.test` for localhost). A domain
/// with a blank before it matches no handle (the PDS refuses to start with one; env check
/// says so).
pub fn own_domains(doc: Option<&Document>, hostname: Option<&str>) -> Vec<String> {
    doc.and_then(|d| d.get("PDS_SERVICE_HANDLE_DOMAINS"))
        .filter(|v| !v.is_empty())
        .or_else(|| {
            hostname.map(|h| match h {
                "localhost" => ".test".to_string(),
                h => format!(".{h}"),
            })
        })
        .unwrap_or_default()
        .split(',')
        .map(|d| d.to_ascii_lowercase())
        .filter(|d| !d.is_empty())
        .collect()
}

/// Invite codes this wizard made for new accounts and that were not used yet, per PDS, in
/// the state directory (0600: a code lets someone sign up). Only these are taken again:
/// codes the operator made for others stay theirs.
pub(crate) struct InviteBook {
    path: std::path::PathBuf,
    pds: String,
}

impl InviteBook {
    pub(crate) fn for_pds(pds_url: &str) -> InviteBook {
        InviteBook {
            path: crate::fsutil::state_dir().join("invites.json"),
            pds: pds_url.trim_end_matches('/').to_string(),
        }
    }

    fn all(&self) -> std::collections::BTreeMap<String, Vec<String>> {
        std::fs::read(&self.path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    pub(crate) fn codes(&self) -> Vec<String> {
        self.all().remove(&self.pds).unwrap_or_default()
    }

    fn save(&self, all: &std::collections::BTreeMap<String, Vec<String>>) {
        if let Some(dir) = self.path.parent() {
            use std::os::unix::fs::DirBuilderExt;
            let _ = std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir);
        }
        let text = serde_json::to_string_pretty(all).unwrap_or_default();
        // Best effort: without the book a refused create leaves its code unused, no worse.
        let _ = crate::fsutil::safe_write(
            &self.path,
            text.as_bytes(),
            crate::fsutil::WriteOptions::file(0o600, 0),
        );
    }

    pub(crate) fn add(&self, code: &str) {
        let mut all = self.all();
        all.entry(self.pds.clone())
            .or_default()
            .push(code.to_string());
        self.save(&all);
    }

    pub(crate) fn remove(&self, code: &str) {
        let mut all = self.all();
        if let Some(list) = all.get_mut(&self.pds) {
            list.retain(|c| c != code);
        }
        all.retain(|_, v| !v.is_empty());
        self.save(&all);
    }
}

#[cfg(test)]
mod rule_tests {
    use super::*;

    fn rule(h: &str) -> Option<Result<(), Finding>> {
        let domains = vec![".pds.example.com".to_string(), ".example.org".to_string()];
        service_handle_rule(&Handle::parse(h).unwrap(), &domains)
    }

    /// As `ensureHandleServiceConstraints` in both PDS versions: the name before the
    /// domain has 3 to 18 characters and no dot.
    #[test]
    fn the_pds_rule_for_names_under_its_domains() {
        assert!(matches!(rule("abc.pds.example.com"), Some(Ok(()))));
        assert!(matches!(
            rule("abcdefghijklmnopqr.pds.example.com"),
            Some(Ok(()))
        ));
        for bad in [
            "me.pds.example.com",
            "a.b.pds.example.com",
            "abcdefghijklmnopqrs.pds.example.com",
            "x.example.org",
        ] {
            assert!(matches!(rule(bad), Some(Err(_))), "{bad}");
        }
        assert!(rule("alice.example.com").is_none());
        let Some(Err(f)) = rule("me.pds.example.com") else {
            panic!()
        };
        assert!(f.what.contains("Handle too short") && f.fix.contains("mex.pds.example.com"));
    }

    #[test]
    fn own_domains_are_read_as_the_pds_reads_them() {
        let doc = Document::parse("PDS_SERVICE_HANDLE_DOMAINS=.a.com, .b.com\n");
        assert_eq!(own_domains(Some(&doc), None), [".a.com", " .b.com"]);
        assert_eq!(own_domains(None, Some("localhost")), [".test"]);
        assert_eq!(
            own_domains(None, Some("pds.example.com")),
            [".pds.example.com"]
        );
    }
}

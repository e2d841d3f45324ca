//! `pds-wizard accounts`, `handle …` and `did-file …`: find the DID, show the DNS record,
//! check a handle every way it can be verified.

use super::{EXIT_FINDINGS, EXIT_OK};
use crate::context::Context;
use crate::envfile::Document;
use crate::finding::{Finding, Level};
use crate::identity::dns::record_for;
use crate::identity::{didfile, Did, Handle};
use crate::pds::accounts::Account;
use crate::settings::Resolved;
use anyhow::{anyhow, bail, Context as _, Result};
use clap::Subcommand;
use serde_json::json;
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum HandleCmd {
    /// Show the DNS TXT record to create for HANDLE, in the forms DNS providers ask for
    #[command(
        after_help = "Examples:\n  pds-wizard handle record alice.example.com\n  pds-wizard handle record alice.example.com --did did:plc:ewvi7nxzyoun6zhxrhs64oiz"
    )]
    Record {
        /// The handle, e.g. alice.example.com (no @)
        handle: String,
        /// The account's DID [default: looked up on the PDS by handle]
        #[arg(long)]
        did: Option<String>,
    },
    /// Check HANDLE by DNS (resolver and every authoritative server), HTTPS and the DID document
    #[command(
        after_help = "Examples:\n  pds-wizard handle check alice.example.com\n  pds-wizard --nameserver 1.1.1.1 handle check alice.example.com"
    )]
    Check {
        /// The handle, e.g. alice.example.com (no @)
        handle: String,
        /// The DID it should resolve to [default: looked up on the PDS by handle]
        #[arg(long)]
        did: Option<String>,
    },
    /// Announce HANDLE again once it verifies, so apps stop showing "Invalid Handle": the
    /// PDS emits an identity event (the admin API sets the handle to itself), each relay in
    /// PDS_CRAWLERS is asked to crawl, and the AppView's view of the handle is read back
    #[command(
        after_help = "Example:\n  pds-wizard handle check alice.example.com && pds-wizard handle refresh alice.example.com"
    )]
    Refresh {
        /// A handle of an account on this PDS
        handle: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum DidFileCmd {
    /// Write WEBROOT/.well-known/atproto-did holding the DID
    #[command(
        after_help = "Example:\n  pds-wizard did-file write alice.example.com --did did:plc:ewvi7nxzyoun6zhxrhs64oiz --webroot /var/www/alice.example.com"
    )]
    Write {
        /// The handle whose site serves the file, e.g. alice.example.com
        handle: String,
        /// The account's DID, written into the file
        #[arg(long)]
        did: String,
        /// The web root of the site that serves HANDLE
        #[arg(long)]
        webroot: PathBuf,
    },
    /// Fetch https://HANDLE/.well-known/atproto-did and check it
    #[command(
        after_help = "Examples:\n  pds-wizard did-file check alice.example.com\n  pds-wizard did-file check alice.example.com --did did:plc:ewvi7nxzyoun6zhxrhs64oiz"
    )]
    Check {
        /// The handle whose site serves the file, e.g. alice.example.com
        handle: String,
        /// The DID the file must hold [default: looked up on the PDS by handle]
        #[arg(long)]
        did: Option<String>,
    },
}

fn parse_handle(s: &str) -> Result<Handle> {
    let h = Handle::parse(s).map_err(|e| anyhow!("{e}"))?;
    h.usable().map_err(|e| anyhow!("{e}"))?;
    Ok(h)
}

fn parse_did(s: &str) -> Result<Did> {
    Did::parse_usable(s).map_err(|e| anyhow!("{e}"))
}

/// The settings, from the flags and the env file when there is one (the checks work
/// without it, with less to compare to).
pub(super) fn settings(ctx: &Context) -> (Resolved, Option<Document>) {
    let (r, doc) = Resolved::load(ctx);
    (r, doc.ok())
}

pub(super) async fn accounts_from_pds(ctx: &Context) -> Result<Vec<Account>, Finding> {
    let (s, doc) = settings(ctx);
    if doc.is_none() {
        return Err(Finding::fail(format!(
            "cannot read {} for the admin password",
            ctx.env_file.display()
        ))
        .fix("Point --env-file at the PDS's pds.env (and run with sudo)."));
    }
    s.admin().accounts().await
}

/// The DID given, or the one the PDS has for this handle.
async fn did_for(ctx: &Context, handle: &Handle, given: &Option<String>) -> Result<Did> {
    if let Some(d) = given {
        return parse_did(d);
    }
    match accounts_from_pds(ctx).await {
        Ok(accounts) => match accounts.iter().find(|a| a.handle.eq_ignore_ascii_case(handle.as_str())) {
            Some(a) => parse_did(&a.did),
            None => bail!("no account on this PDS has the handle {handle}; give --did (see `pds-wizard accounts`)"),
        },
        Err(f) => bail!("{f}\n(or give the DID with --did)"),
    }
}

pub fn accounts(ctx: &Context, json: bool) -> Result<u8> {
    let result = super::runtime()?.block_on(accounts_from_pds(ctx));
    match result {
        Ok(list) => {
            if json {
                outln!("{}", serde_json::to_string_pretty(&list)?);
            } else if list.is_empty() {
                outln!("No accounts yet. Create one with `pds-wizard accounts create HANDLE --email ADDRESS`.");
            } else {
                let w = list
                    .iter()
                    .map(|a| a.handle.len())
                    .max()
                    .unwrap_or(6)
                    .max(6);
                outln!("{:<w$}  {:<32}  email", "handle", "did");
                for a in &list {
                    outln!(
                        "{:<w$}  {:<32}  {}{}",
                        a.handle,
                        a.did,
                        a.email.as_deref().unwrap_or("-"),
                        match (a.active, a.status.as_deref()) {
                            (true, _) => String::new(),
                            (false, Some(s)) => format!("  ({s})"),
                            (false, None) => "  (not active)".into(),
                        }
                    );
                }
            }
            Ok(EXIT_OK)
        }
        Err(f) => {
            if json {
                outln!("{}", json!({ "error": f }));
            } else {
                outln!("{f}");
            }
            Ok(EXIT_FINDINGS)
        }
    }
}

pub fn handle(ctx: &Context, cmd: &HandleCmd, json: bool) -> Result<u8> {
    let rt = super::runtime()?;
    match cmd {
        HandleCmd::Record { handle, did } => {
            let h = parse_handle(handle)?;
            // Under the PDS's own handle domains the PDS answers for the handle itself.
            let (s, doc) = settings(ctx);
            let own = crate::setup::accounts::own_domains(doc.as_ref(), s.hostname.as_deref());
            if let Some(d) = own.iter().find(|d| h.as_str().ends_with(d.as_str())) {
                if json {
                    outln!(
                        "{}",
                        serde_json::json!({"handle": h.as_str(), "record_needed": false, "domain": d})
                    );
                } else {
                    outln!("{h} is under this PDS's own handle domain {d}: no DNS record is needed. The PDS answers for it itself (https://{h}/.well-known/atproto-did, through the *.{} wildcard record). Check it: pds-wizard handle check {h}", d.trim_start_matches('.'));
                }
                return Ok(EXIT_OK);
            }
            let did = rt.block_on(did_for(ctx, &h, did))?;
            let r = rt.block_on(record_for(&h, &did, &Resolved::new(ctx, None).dns));
            if json {
                outln!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                outln!("Create this TXT record at your DNS provider for {h}:\n");
                outln!("  Type   TXT");
                outln!(
                    "  Name   {}   (in zone {}; some providers want the full name {})",
                    r.relative_name,
                    r.zone,
                    r.full_name
                );
                if let Some(why) = &r.zone_guessed {
                    outln!(
                        "         The zone {} is a guess (the handle's parent domain): {why}. Check it at your DNS provider.",
                        r.zone
                    );
                }
                outln!(
                    "  Value  {}   (with quotes if the form asks: {})",
                    r.value,
                    r.quoted_value
                );
                outln!("  TTL    300 (or the provider's default)\n");
                outln!("Zone-file line:\n  {}\n", r.zone_line);
                outln!("Only one did= record may exist there. Then: pds-wizard handle check {h}");
            }
            Ok(EXIT_OK)
        }
        HandleCmd::Refresh { handle } => {
            let h = parse_handle(handle)?;
            let (s, doc) = settings(ctx);
            let to = s.announce(doc.as_ref());
            let r = rt.block_on(crate::pds::refresh::refresh(&h, &to));
            if json {
                outln!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                for f in &r.steps {
                    outln!("{f}");
                }
            }
            Ok(if r.level == Level::Fail {
                EXIT_FINDINGS
            } else {
                EXIT_OK
            })
        }
        HandleCmd::Check { handle, did } => {
            let h = parse_handle(handle)?;
            let did = rt.block_on(did_for(ctx, &h, did))?;
            rt.block_on(check_handle(ctx, &h, &did, json))
        }
    }
}

async fn check_handle(ctx: &Context, h: &Handle, did: &Did, json: bool) -> Result<u8> {
    let r = crate::identity::verify(h, did, &settings(ctx).0.verify_options()).await;
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "handle": r.handle, "did": r.did, "verified": r.verified,
                "record": r.record, "dns": r.dns, "https": r.https,
                "proxy_loses_pds": r.proxy_loses_pds, "verdict": r.verdict(),
                "did_document": match (&r.did_document, &r.did_document_error) { (Some(a), _) => json!(a), (None, Some(f)) => json!({"error": f}), _ => json!(null) },
            }))?
        );
    } else {
        outln!("Handle {h} → {did}\n");
        outln!("DNS ({}):", r.dns.name);
        for s in &r.dns.results {
            let at = s
                .address
                .as_deref()
                .map(|a| format!(" ({a})"))
                .unwrap_or_default();
            outln!("  {}{at}: {}", s.server, s.finding);
        }
        outln!("\nHTTPS ({}):\n  {}", r.https.url, r.https.finding);
        for n in &r.https.notes {
            outln!("  {n}");
        }
        outln!("\nDID document:");
        if let Some(a) = &r.did_document {
            a.findings.iter().for_each(|f| outln!("  {f}"));
        }
        if let Some(f) = &r.did_document_error {
            outln!("  {f}");
        }
        outln!("\n{}", r.verdict());
    }
    Ok(if r.verified { EXIT_OK } else { EXIT_FINDINGS })
}

pub fn did_file(ctx: &Context, cmd: &DidFileCmd, json: bool) -> Result<u8> {
    match cmd {
        DidFileCmd::Write {
            handle,
            did,
            webroot,
        } => {
            let h = parse_handle(handle)?;
            let did = parse_did(did)?;
            let report = didfile::write_did_file(webroot, &did).map_err(|e| anyhow!(e))?;
            if json {
                outln!(
                    "{}",
                    json!({ "file": report.path, "did": did, "backup": report.backup })
                );
            } else {
                outln!("Wrote {} ({did}).", report.describe());
                outln!("Check it is served: pds-wizard did-file check {h} --did {did}");
            }
            Ok(EXIT_OK)
        }
        DidFileCmd::Check { handle, did } => {
            let h = parse_handle(handle)?;
            let did = did.as_deref().map(parse_did).transpose()?;
            let c = super::runtime()?.block_on(didfile::check_did_file(
                &h,
                did.as_ref(),
                &Resolved::new(ctx, None).http,
            ));
            if json {
                outln!("{}", serde_json::to_string_pretty(&c).context("json")?);
            } else {
                outln!("{}", c.finding);
                for n in &c.notes {
                    outln!("{n}");
                }
            }
            Ok(if c.finding.level == Level::Fail {
                EXIT_FINDINGS
            } else {
                EXIT_OK
            })
        }
    }
}

//! `pds-wizard accounts create|invite|reset-password|set-handle`: the admin API as
//! pdsadmin uses it, with the admin password from pds.env (`accounts` alone lists them).

use super::identity::{accounts_from_pds, settings};
use super::{EXIT_FINDINGS, EXIT_OK};
use crate::context::Context;
use crate::finding::{Finding, Level};
use crate::identity::Handle;
use crate::pds::admin::{Admin, Created};
use crate::secret::Secret;
use anyhow::{anyhow, bail, Result};
use clap::Subcommand;
use serde_json::json;

#[derive(Debug, Subcommand)]
pub enum AccountsCmd {
    /// List the accounts: handle, DID, email, and why one is not active (the default)
    List,
    /// Create an account (an invite code is made with the admin password when the PDS
    /// requires one); its password is generated and shown once
    Create {
        /// The handle, under the PDS's own domain (e.g. alice.pds.example.com); move it to a
        /// custom domain later with set-handle
        handle: String,
        /// The account's email address
        #[arg(long)]
        email: String,
        /// Read the password from standard input instead of generating one
        #[arg(long)]
        password_stdin: bool,
    },
    /// Make an invite code (shown once), good for --uses accounts
    Invite {
        #[arg(long, default_value_t = 1)]
        uses: u32,
    },
    /// Give an account (handle or DID) a new password, generated and shown once
    ResetPassword { account: String },
    /// Move an account (handle or DID) to a new handle: a handle outside the PDS's domains
    /// must verify first (DNS TXT or atproto-did); then the PDS announces it and the relays
    /// in PDS_CRAWLERS are asked to crawl
    SetHandle { account: String, handle: String },
}

fn admin(ctx: &Context) -> Result<Admin> {
    let (s, doc) = settings(ctx);
    if doc.is_none() {
        bail!(
            "cannot read {} for the admin password (point --env-file at the PDS's pds.env, and run with sudo)",
            ctx.env_file.display()
        );
    }
    Ok(Admin {
        pds_url: s.local_url.clone(),
        password: s.admin_password.clone(),
        http: s.http.clone(),
    })
}

/// The account named by a handle or a DID.
async fn find(ctx: &Context, account: &str) -> Result<crate::pds::accounts::Account> {
    let list = accounts_from_pds(ctx).await.map_err(|f| anyhow!("{f}"))?;
    list.into_iter()
        .find(|a| a.did == account || a.handle.eq_ignore_ascii_case(account))
        .ok_or_else(|| anyhow!("no account on this PDS is {account} (see pds-wizard accounts)"))
}

/// A password from standard input (its first line, which must not be empty).
fn password_from_stdin() -> Result<Secret> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let p = line.trim_end_matches(['\n', '\r']);
    if p.is_empty() {
        bail!("no password on standard input");
    }
    Ok(Secret::new(p))
}

/// What the operator asked to see once: printed as is, the one place a secret is shown
/// (as `env get --reveal`), never through the scrubbing output macros.
fn show_once(label: &str, secret: &Secret) {
    println!(
        "{label}: {}   (shown once; pds-wizard keeps it nowhere)",
        secret.expose()
    );
}

fn fail(f: &Finding, json: bool) -> Result<u8> {
    if json {
        outln!("{}", json!({ "error": f }));
    } else {
        errln!("{f}");
    }
    Ok(EXIT_FINDINGS)
}

pub fn run(ctx: &Context, cmd: &Option<AccountsCmd>, json: bool) -> Result<u8> {
    let rt = super::runtime()?;
    match cmd {
        None | Some(AccountsCmd::List) => super::identity::accounts(ctx, json),
        Some(AccountsCmd::Create {
            handle,
            email,
            password_stdin,
        }) => {
            let h = Handle::parse(handle).map_err(|e| anyhow!("{e}"))?;
            if !email.contains('@') {
                bail!("{email:?} is not an email address");
            }
            let given = password_stdin.then(password_from_stdin).transpose()?;
            let a = admin(ctx)?;
            match rt.block_on(a.create(h.as_str(), email, given.clone())) {
                Err(f) => fail(&f, json),
                Ok(c) => {
                    print_created(&c, json, given.is_none());
                    Ok(EXIT_OK)
                }
            }
        }
        Some(AccountsCmd::Invite { uses }) => {
            if *uses == 0 {
                bail!("--uses must be at least 1");
            }
            match rt.block_on(admin(ctx)?.invite(*uses)) {
                Err(f) => fail(&f, json),
                Ok(code) => {
                    if json {
                        println!("{}", json!({ "code": code, "uses": uses }));
                    } else {
                        show_once(
                            &format!("invite code for {uses} account(s)"),
                            &Secret::new(code),
                        );
                    }
                    Ok(EXIT_OK)
                }
            }
        }
        Some(AccountsCmd::ResetPassword { account }) => {
            let a = admin(ctx)?;
            let acct = rt.block_on(find(ctx, account))?;
            match rt.block_on(a.reset_password(&acct.did, None)) {
                Err(f) => fail(&f, json),
                Ok(p) => {
                    if json {
                        println!(
                            "{}",
                            json!({ "did": acct.did, "handle": acct.handle, "password": p.expose() })
                        );
                    } else {
                        outln!(
                            "New password for {} ({}); the old one no longer works.",
                            acct.handle,
                            acct.did
                        );
                        show_once("password", &p);
                    }
                    Ok(EXIT_OK)
                }
            }
        }
        Some(AccountsCmd::SetHandle { account, handle }) => {
            let h = Handle::parse(handle).map_err(|e| anyhow!("{e}"))?;
            rt.block_on(set_handle(ctx, account, &h, json))
        }
    }
}

fn print_created(c: &Created, json: bool, generated: bool) {
    if json {
        println!("{}", serde_json::to_string_pretty(c).unwrap_or_default());
        return;
    }
    outln!("Created {} ({}) with email {}.", c.handle, c.did, c.email);
    if let Some(code) = &c.invite {
        outln!("The PDS requires invite codes: one was made with the admin password and used ({code}).");
    }
    if generated {
        show_once("password", &c.password);
    }
    outln!(
        "Log in at https://bsky.app with the handle {} and that password.",
        c.handle
    );
}

async fn set_handle(ctx: &Context, account: &str, handle: &Handle, json: bool) -> Result<u8> {
    let acct = find(ctx, account).await?;
    let (s, doc) = settings(ctx);
    if doc.is_none() {
        admin(ctx)?;
    }
    let moved =
        crate::setup::accounts::move_handle(&s, doc.as_ref(), &acct.did, &acct.handle, handle)
            .await;
    if !moved.moved {
        let f = moved
            .steps
            .last()
            .cloned()
            .unwrap_or_else(|| Finding::fail("not moved"));
        return fail(&f, json);
    }
    let steps = moved.steps;
    let level = crate::finding::worst(&steps);
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "did": acct.did, "from": acct.handle, "handle": handle.as_str(),
                "steps": steps, "level": level,
            }))?
        );
    } else {
        for f in &steps {
            outln!("{f}");
        }
        outln!("Apps show {handle} once the AppView re-checks it (usually within minutes).");
    }
    Ok(if level >= Level::Warn {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    })
}

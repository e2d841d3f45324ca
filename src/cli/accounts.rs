//! `pds-wizard accounts create|invite|reset-password|set-handle`: the admin API as
//! pdsadmin uses it, with the admin password from pds.env (`accounts` alone lists them).

use super::identity::{accounts_from_pds, settings};
use super::{EXIT_FINDINGS, EXIT_OK};
use crate::context::Context;
use crate::finding::{Finding, Level};
use crate::identity::Handle;
use crate::pds::admin::{Admin, Created};
use crate::secret::Secret;
use crate::setup::accounts::NewAccount;
use anyhow::{anyhow, bail, Result};
use clap::Subcommand;
use serde_json::json;
use std::io::IsTerminal;

#[derive(Debug, Subcommand)]
pub enum AccountsCmd {
    /// List the accounts: handle, DID, email, and why one is not active (the default)
    #[command(after_help = "Examples:\n  pds-wizard accounts list\n  pds-wizard --json accounts")]
    List,
    /// Create an account (an invite code is made with the admin password when the PDS
    /// requires one); its password is generated and shown once
    #[command(
        after_help = "Example:\n  pds-wizard accounts create alice.pds.example.com --email alice@example.com"
    )]
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
    #[command(
        after_help = "Examples:\n  pds-wizard accounts invite\n  pds-wizard accounts invite --uses 5"
    )]
    Invite {
        /// How many accounts the code may create
        #[arg(long, default_value_t = 1)]
        uses: u32,
    },
    /// Give an account (handle or DID) a new password, generated and shown once
    #[command(after_help = "Example:\n  pds-wizard accounts reset-password alice.pds.example.com")]
    ResetPassword {
        /// The account: its handle or its DID
        account: String,
    },
    /// Move an account (handle or DID) to a new handle: a handle outside the PDS's domains
    /// must verify first (DNS TXT or atproto-did); then the PDS announces it and the relays
    /// in PDS_CRAWLERS are asked to crawl
    #[command(
        after_help = "Example:\n  pds-wizard accounts set-handle alice.pds.example.com alice.example.com"
    )]
    SetHandle {
        /// The account: its handle or its DID
        account: String,
        /// The new handle (a custom domain must point at the account first: handle record)
        handle: String,
    },
    /// Bring an account here from another PDS (bsky.social, say), its DID kept: every limit
    /// of this PDS checked before the first write, then the account, repository,
    /// preferences and every blob copied; the old PDS mails a PLC token (exit 4: rerun with
    /// --plc-token within 15 minutes), then the DID is moved, checked (validDid) and the
    /// account activated here and deactivated there. Progress is saved after every step: a
    /// rerun continues. The account's password (the same here afterwards) is read at a
    /// prompt, or from standard input when it is not a terminal
    #[command(
        name = "migrate-in",
        after_help = "Examples:\n  pds-wizard accounts migrate-in --from alice.bsky.social --handle alice.pds.example.com --email alice@example.com\n  pds-wizard accounts migrate-in --from alice.bsky.social --handle alice.pds.example.com --email alice@example.com --plc-token ABCDE-12345"
    )]
    MigrateIn {
        /// The account: its handle or DID
        #[arg(long, value_name = "HANDLE_OR_DID")]
        from: String,
        /// The old PDS's URL, when its DID document's endpoint is not reachable by that name
        #[arg(long, value_name = "URL")]
        old_pds: Option<String>,
        /// Its handle here: under this PDS's domain, or a domain that already points at the DID
        #[arg(long)]
        handle: String,
        /// Its email here (required by the PDS, and unique on it)
        #[arg(long)]
        email: String,
        /// The code the old PDS mailed (after the first run stopped for it)
        #[arg(long, value_name = "TOKEN")]
        plc_token: Option<String>,
        /// The sign-in code the old PDS mails when the account has email 2FA on
        #[arg(long, value_name = "CODE")]
        auth_code: Option<String>,
        /// More than 1000 blobs with rate limits on: put this machine's own addresses in
        /// PDS_RATE_LIMIT_BYPASS_IPS for the copy (the PDS is restarted), and take them out
        /// again after it
        #[arg(long)]
        bypass_upload_limit: bool,
        /// Do not ask before the first write
        #[arg(long)]
        yes: bool,
    },
}

fn admin(ctx: &Context) -> Result<Admin> {
    let (s, doc) = settings(ctx);
    if doc.is_none() {
        bail!(
            "cannot read {} for the admin password (point --env-file at the PDS's pds.env, and run with sudo)",
            ctx.env_file.display()
        );
    }
    Ok(s.admin())
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

/// The account's password on the old PDS: at a prompt, else standard input's first line.
fn old_password() -> Result<Secret> {
    if std::io::stdin().is_terminal() {
        let p = rpassword::prompt_password("The account's password on the old PDS (not shown): ")?;
        if p.is_empty() {
            bail!("no password given");
        }
        return Ok(Secret::new(p));
    }
    password_from_stdin()
}

fn migrate_in(
    ctx: &Context,
    req: &crate::migrate::Request,
    password: &Secret,
    json: bool,
) -> Result<u8> {
    use crate::migrate::{Outcome, Stop};
    let (s, doc) = settings(ctx);
    let rt = super::runtime()?;
    let mut said = Vec::new();
    let mut say = |f: Finding| {
        if !json {
            outln!("{f}");
        }
        said.push(f);
    };
    let mut got = rt.block_on(crate::migrate::migrate_in(
        &s,
        doc.as_ref(),
        req,
        password,
        &mut say,
    ));
    // At a terminal the code from the mail is asked for here, the clock shown; a script
    // gets exit 4 and reruns with --plc-token.
    if let Ok(Outcome::WaitingForToken { expires_at, .. }) = &got {
        if !json && std::io::stdin().is_terminal() {
            eprint!(
                "The old PDS has mailed a code to the account's address. Type it (valid until {}, {} minutes), or Enter to stop here: ",
                crate::migrate::clock(*expires_at),
                crate::migrate::TOKEN_LIFETIME_SECS / 60
            );
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)?;
            let token = line.trim();
            if !token.is_empty() {
                let mut again = req.clone();
                again.plc_token = Some(token.to_string());
                got = rt.block_on(crate::migrate::migrate_in(
                    &s,
                    doc.as_ref(),
                    &again,
                    password,
                    &mut say,
                ));
            }
        }
    }
    let (code, answer) = match got {
        Ok(Outcome::WaitingForToken { did, expires_at }) => {
            if !json {
                outln!(
                    "The old PDS has mailed a code to the account's email address (valid 15 minutes, until {}).",
                    crate::migrate::clock(expires_at)
                );
                outln!("Rerun the same command with --plc-token CODE to move the DID and activate the account here.");
            }
            (
                super::EXIT_WAITING,
                json!({ "did": did, "waiting_for": "plc_token", "expires_at": expires_at }),
            )
        }
        Ok(Outcome::Moved { did, checks }) => {
            let failed = checks.iter().any(|c| c.level == Level::Fail);
            if !json {
                for c in &checks {
                    outln!("{c}");
                }
                outln!(
                    "{} now lives here ({did}). Sign in with the same password at {}.",
                    req.handle,
                    login_hint(&s)
                );
            }
            (
                if failed { EXIT_FINDINGS } else { EXIT_OK },
                json!({ "did": did, "moved": true, "checks": checks }),
            )
        }
        Err(Stop::Blocked(blockers)) => {
            if !json {
                errln!("Nothing was written: fix these first, then rerun.");
                for b in &blockers {
                    errln!("{b}");
                }
            }
            (
                EXIT_FINDINGS,
                json!({ "moved": false, "written": false, "blockers": blockers }),
            )
        }
        Err(Stop::Failed(f)) => {
            if !json {
                errln!("{f}");
                errln!("The progress so far is saved: rerun the same command to continue.");
            }
            (EXIT_FINDINGS, json!({ "moved": false, "error": f }))
        }
    };
    if json {
        let mut answer = answer;
        answer["steps"] = json!(said);
        println!(
            "{}",
            serde_json::to_string_pretty(&answer).unwrap_or_default()
        );
    }
    Ok(code)
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
            let given = password_stdin.then(password_from_stdin).transpose()?;
            admin(ctx)?;
            let (s, doc) = settings(ctx);
            match rt.block_on(crate::setup::accounts::create_account(
                &s,
                doc.as_ref(),
                &h,
                email,
                given.clone(),
            )) {
                Err(f) => fail(&f, json),
                Ok(made) => Ok(print_new(&made, json, given.is_none(), &login_hint(&s))),
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
                Ok(set) => {
                    if json {
                        println!(
                            "{}",
                            json!({ "did": acct.did, "handle": acct.handle, "password": set.password.expose(), "confirmed": set.confirmed, "note": set.note })
                        );
                    } else if let Some(note) = &set.note {
                        errln!("{note}");
                        outln!(
                            "The new password for {} ({}), if the PDS took it:",
                            acct.handle,
                            acct.did
                        );
                        show_once("password", &set.password);
                    } else {
                        outln!(
                            "New password for {} ({}); the old one no longer works.",
                            acct.handle,
                            acct.did
                        );
                        show_once("password", &set.password);
                    }
                    Ok(if set.confirmed {
                        EXIT_OK
                    } else {
                        EXIT_FINDINGS
                    })
                }
            }
        }
        Some(AccountsCmd::MigrateIn {
            from,
            old_pds,
            handle,
            email,
            plc_token,
            auth_code,
            bypass_upload_limit,
            yes,
        }) => {
            let req = crate::migrate::Request {
                from: from.clone(),
                old_pds: old_pds.clone(),
                handle: Handle::parse(handle).map_err(|e| anyhow!("{e}"))?,
                email: email.clone(),
                plc_token: plc_token.clone(),
                auth_code: auth_code.clone(),
                bypass_upload_limit: *bypass_upload_limit,
            };
            admin(ctx)?;
            let password = old_password()?;
            if !yes {
                if !std::io::stdin().is_terminal() {
                    bail!("pass --yes to move the account without a question (standard input carries the password)");
                }
                eprint!("Move {from} to this PDS as {handle}? Nothing is written before every check passes. [y/N] ");
                let mut line = String::new();
                std::io::stdin().read_line(&mut line)?;
                if !line.trim().eq_ignore_ascii_case("y") {
                    outln!("Nothing was done.");
                    return Ok(EXIT_OK);
                }
            }
            migrate_in(ctx, &req, &password, json)
        }
        Some(AccountsCmd::SetHandle { account, handle }) => {
            let h = Handle::parse(handle).map_err(|e| anyhow!("{e}"))?;
            rt.block_on(set_handle(ctx, account, &h, json))
        }
    }
}

/// Where the account holder signs in: the Bluesky app, with this PDS as the hosting
/// provider.
pub fn login_hint(s: &crate::settings::Resolved) -> String {
    match &s.hostname {
        Some(h) => format!("https://bsky.app, hosting provider https://{h}"),
        None => "https://bsky.app, with this PDS as the hosting provider".into(),
    }
}

/// Print what `create_account` did; the exit code (1 when the outcome is unknown).
fn print_new(made: &NewAccount, json: bool, generated: bool, login: &str) -> u8 {
    if json {
        println!("{}", serde_json::to_string_pretty(made).unwrap_or_default());
    }
    match made {
        NewAccount::Created(c) => {
            if !json {
                outln!("Created {} ({}) with email {}.", c.handle, c.did, c.email);
                print_invite_and_password(c, generated, login);
            }
            EXIT_OK
        }
        NewAccount::Unknown { created: c, why } => {
            if !json {
                errln!("{why}");
                outln!("{} with email {}, if the PDS made it:", c.handle, c.email);
                print_invite_and_password(c, generated, login);
            }
            EXIT_FINDINGS
        }
        NewAccount::Found { handle, did, email } => {
            if !json {
                outln!("{handle} ({did}) is already there with email {email}: nothing was done.");
                outln!("An earlier create made it (perhaps one that got no answer in time); its password is the one shown then.");
                outln!("Lost it? pds-wizard accounts reset-password {handle}");
            }
            EXIT_OK
        }
    }
}

fn print_invite_and_password(c: &Created, generated: bool, login: &str) {
    if let Some(code) = &c.invite {
        outln!(
            "The PDS requires invite codes: one made with the admin password was used ({code})."
        );
    }
    if generated {
        show_once("password", &c.password);
    }
    outln!(
        "Log in at {login} with the handle {} and that password.",
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

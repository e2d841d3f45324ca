//! `pds-wizard email …`: show, set and test the PDS's SMTP settings.

use super::{EXIT_ERROR, EXIT_FINDINGS, EXIT_OK};
use crate::context::Context;
use crate::email::send::test_send;
use crate::email::{self, compose, presets, Security, SmtpSettings, FROM_KEY, URL_KEY};
use crate::envfile::display::{changed_lines, shown_value};
use crate::envfile::Document;
use crate::finding::{Finding, Level};
use crate::secret::mask_url;
use crate::secret::Secret;
use crate::settings::Resolved;
use anyhow::{bail, Context as _, Result};
use clap::Subcommand;
use serde_json::json;
use std::io::{BufRead, IsTerminal};

#[derive(Debug, Subcommand)]
pub enum EmailCmd {
    /// Show the SMTP settings as the PDS reads them (password masked) and what is wrong
    #[command(after_help = "Example:\n  pds-wizard email show")]
    Show,
    /// Set PDS_EMAIL_SMTP_URL and PDS_EMAIL_FROM_ADDRESS from their parts
    #[command(
        after_help = "Examples:\n  pds-wizard email set --preset gmail --username you@gmail.com --from 'My PDS <you@gmail.com>'\n  printf '%s\\n' \"$SENDGRID_API_KEY\" | pds-wizard email set --preset sendgrid --from noreply@example.com --password-stdin\n  pds-wizard email set --sendmail --from noreply@example.com"
    )]
    Set {
        /// Start from a provider preset (see `email presets`); flags override it
        #[arg(long)]
        preset: Option<String>,
        /// SMTP server host name
        #[arg(long)]
        host: Option<String>,
        /// Port [default: 465 for tls, 587 otherwise]
        #[arg(long)]
        port: Option<u16>,
        /// tls = smtps:// (implicit TLS); starttls = smtp:// + requireTLS; opportunistic = plain smtp://
        #[arg(long, value_parser = ["tls", "starttls", "opportunistic"])]
        security: Option<String>,
        /// Login name (an address is fine; it is encoded for you)
        #[arg(long, default_value = "")]
        username: String,
        /// Sender address, e.g. noreply@example.com or "My PDS <noreply@example.com>"
        #[arg(long)]
        from: String,
        /// Read the password from standard input instead of a prompt
        #[arg(long)]
        password_stdin: bool,
        /// Accept any TLS certificate (tls.rejectUnauthorized=false): only for a server on this machine
        #[arg(long)]
        accept_invalid_certs: bool,
        /// Hand mail to the local sendmail program (Postfix, Exim, msmtp) instead of an SMTP
        /// server: smtp:///?sendmail=true
        #[arg(long, conflicts_with_all = ["host", "port", "security", "preset"])]
        sendmail: bool,
        /// With --sendmail: the program's path [default: sendmail on the PDS's PATH]
        #[arg(long, requires = "sendmail", value_name = "PATH")]
        sendmail_path: Option<String>,
        /// Show the change without writing it
        #[arg(long)]
        dry_run: bool,
    },
    /// Send a test mail the way the PDS will; exit 1 with the diagnosis when it fails.
    /// With --via-pds, have the running PDS itself mail an account instead (a
    /// password-reset code: the proof that the PDS, not only this machine, can send)
    #[command(
        after_help = "Examples:\n  pds-wizard email test --to you@example.com\n  pds-wizard email test --via-pds alice.example.com"
    )]
    Test {
        /// Recipient of the test mail
        #[arg(long, required_unless_present = "via_pds", conflicts_with = "via_pds")]
        to: Option<String>,
        /// Have the running PDS mail this account (handle, DID or email) a password-reset
        /// code through its own settings; on failure, show its log's mail errors
        #[arg(long, value_name = "ACCOUNT")]
        via_pds: Option<String>,
        /// Print the SMTP conversation (password removed)
        #[arg(long)]
        transcript: bool,
    },
    /// Write a misread PDS_EMAIL_SMTP_URL as it was meant: the login up to the last @
    /// percent-encoded, the scheme matched to the port, the From address when the login is
    /// one. Shows the change first; writes it with --yes (or after a y on a terminal). Exit
    /// 0 when nothing needs repair or it was written, 1 when a repair is shown but not written,
    /// 2 when the meaning cannot be recovered.
    #[command(
        after_help = "Examples:\n  pds-wizard email repair\n  pds-wizard email repair --yes\n  pds-wizard email repair --from noreply@example.com --yes"
    )]
    Repair {
        /// Write the repair without asking
        #[arg(long)]
        yes: bool,
        /// The From address, when pds.env has none and the login is not an address
        #[arg(long, value_name = "ADDRESS")]
        from: Option<String>,
    },
    /// List the provider presets
    #[command(after_help = "Example:\n  pds-wizard email presets")]
    Presets,
    /// Show the codes the PDS made for emails it meant to send (confirm email, reset
    /// password, PLC operation…), read-only from PDS_DATA_DIRECTORY/account.sqlite: the way
    /// through while email is broken. Needs root on a real server.
    #[command(
        after_help = "Examples:\n  pds-wizard email codes\n  pds-wizard email codes --account alice.example.com --all"
    )]
    Codes {
        /// Only this account (handle or DID)
        #[arg(long, value_name = "HANDLE|DID")]
        account: Option<String>,
        /// The PDS data directory [default: PDS_DATA_DIRECTORY from pds.env, else /pds]
        #[arg(long, value_name = "DIR")]
        data_dir: Option<std::path::PathBuf>,
        /// Also list codes older than 15 minutes, which the PDS no longer accepts
        #[arg(long)]
        all: bool,
    },
}

pub fn run(ctx: &Context, cmd: &EmailCmd, json: bool) -> Result<u8> {
    match cmd {
        EmailCmd::Show => show(ctx, json),
        EmailCmd::Set {
            preset,
            host,
            port,
            security,
            username,
            from,
            password_stdin,
            accept_invalid_certs,
            sendmail,
            sendmail_path,
            dry_run,
        } => {
            if *sendmail {
                let s = SmtpSettings::sendmail(sendmail_path.as_deref(), from);
                return set(ctx, &s, *dry_run, json);
            }
            let mut s = SmtpSettings::default();
            if let Some(name) = preset {
                let all = presets::all();
                let p = all
                    .iter()
                    .find(|p| p.name.to_lowercase().contains(&name.to_lowercase()))
                    .with_context(|| {
                        format!("no preset matches {name:?}; see `pds-wizard email presets`")
                    })?;
                p.apply(&mut s);
            }
            if let Some(h) = host {
                s.host = h.clone();
            }
            if let Some(sec) = security {
                s.security = Security::from_name(sec).unwrap_or(Security::ImplicitTls);
                if port.is_none() && preset.is_none() {
                    s.port = s.security.default_port();
                }
            }
            if let Some(p) = port {
                s.port = *p;
            }
            if s.host.is_empty() && !s.is_sendmail() {
                bail!("give --host (or --preset, or --sendmail)");
            }
            if !username.is_empty() {
                s.username = username.clone();
            }
            s.from_address = from.clone();
            if *accept_invalid_certs && !s.accepts_invalid_certs() {
                s.options
                    .push(("tls.rejectUnauthorized".into(), "false".into()));
            }
            s.password = read_password(*password_stdin, !s.username.is_empty())?;
            set(ctx, &s, *dry_run, json)
        }
        EmailCmd::Test {
            to,
            via_pds,
            transcript,
        } => match (to, via_pds) {
            (_, Some(who)) => test_via_pds(ctx, who, json),
            (Some(to), None) => test(ctx, to, *transcript, json),
            (None, None) => bail!("give --to ADDRESS or --via-pds ACCOUNT"),
        },
        EmailCmd::Repair { yes, from } => repair(ctx, *yes, from.as_deref(), json),
        EmailCmd::Codes {
            account,
            data_dir,
            all,
        } => codes(ctx, account.as_deref(), data_dir.as_deref(), *all, json),
        EmailCmd::Presets => {
            let all = presets::all();
            if json {
                let v: Vec<_> = all
                    .iter()
                    .map(|p| json!({"name": p.name, "host": p.host, "port": p.port, "security": p.security.name(), "username": p.username, "note": p.note}))
                    .collect();
                outln!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                for p in all {
                    outln!(
                        "{}\n  {}:{} ({})  user: {}\n  {}\n",
                        p.name,
                        p.host,
                        p.port,
                        p.security.name(),
                        p.username,
                        p.note
                    );
                }
            }
            Ok(EXIT_OK)
        }
    }
}

fn read_password(from_stdin: bool, needed: bool) -> Result<Secret> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from standard input")?;
        return Ok(Secret::new(line.trim_end_matches(['\n', '\r'])));
    }
    if !needed {
        return Ok(Secret::default());
    }
    if !std::io::stdin().is_terminal() {
        bail!(
            "a user name needs a password: type it at the prompt, or pipe it with --password-stdin"
        );
    }
    Ok(Secret::new(
        rpassword::prompt_password("SMTP password (not shown): ")
            .context("cannot read the password")?,
    ))
}

fn load(ctx: &Context) -> Result<Document> {
    load_with(ctx, Document::load)
}

/// Loaded to be changed: under the file's lock until it is saved (see `load_for_edit`).
fn load_with(
    ctx: &Context,
    how: fn(&std::path::Path) -> Result<Document, crate::envfile::EnvError>,
) -> Result<Document> {
    if !ctx.env_file.exists() {
        bail!(
            "{} does not exist (use --env-file, or `pds-wizard env init`)",
            ctx.env_file.display()
        );
    }
    Ok(how(&ctx.env_file)?)
}

/// Exit 1 when the result failed, for scripts and fleets.
fn exit_for(level: Level) -> u8 {
    if level == Level::Fail {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    }
}

fn print_findings(findings: &[Finding]) {
    for f in findings {
        outln!("{f}");
    }
}

fn show(ctx: &Context, json: bool) -> Result<u8> {
    let doc = load(ctx)?;
    let url = doc.get(URL_KEY).unwrap_or_default();
    let findings = email::check(&doc);
    // As `env check` does: a failing finding is exit 1, for scripts and fleets.
    let code = if findings.iter().any(|f| f.level == Level::Fail) {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    };
    let parsed = email::from_document(&doc).ok();
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "url": shown_value(&doc, URL_KEY),
                "from": doc.get(FROM_KEY),
                "settings": parsed.as_ref().map(|s| json!({
                    "host": s.host, "port": s.port, "security": s.security.name(),
                    "username": s.username, "password_set": !s.password.is_empty(), "options": s.options,
                })),
                "findings": findings,
            }))?
        );
        return Ok(code);
    }
    outln!(
        "{URL_KEY} = {}",
        if url.is_empty() {
            "(not set)".into()
        } else {
            shown_value(&doc, URL_KEY).unwrap_or_default()
        }
    );
    outln!(
        "{FROM_KEY} = {}",
        doc.get(FROM_KEY).unwrap_or_else(|| "(not set)".into())
    );
    if let Some(s) = parsed {
        outln!("\nAs the PDS reads it:");
        outln!("  host      {}:{}", s.host, s.port);
        outln!(
            "  security  {} — {}",
            s.security.name(),
            s.security.describe()
        );
        outln!(
            "  user      {}",
            if s.username.is_empty() {
                "(no login)"
            } else {
                &s.username
            }
        );
        outln!(
            "  password  {}",
            if s.password.is_empty() {
                "(none)"
            } else {
                "(set)"
            }
        );
        for (k, v) in &s.options {
            outln!("  option    {k}={v}");
        }
    }
    if !findings.is_empty() {
        outln!();
        print_findings(&findings);
    }
    Ok(code)
}

fn set(ctx: &Context, s: &SmtpSettings, dry_run: bool, json: bool) -> Result<u8> {
    let url = compose(s)?;
    let mut findings = email::url_findings(&url);
    if let Some(info) = crate::envfile::catalogue::lookup(FROM_KEY) {
        findings.extend(crate::envfile::catalogue::validate(info, &s.from_address));
    }
    if let Some(f) = findings.iter().find(|f| f.level == Level::Fail) {
        bail!("{f}");
    }
    let mut doc = if dry_run {
        load(ctx)?
    } else {
        load_with(ctx, Document::load_for_edit)?
    };
    let before = doc.render();
    doc.set(URL_KEY, &url)?;
    doc.set(FROM_KEY, &s.from_address)?;
    let diff = changed_lines(&before, &doc.render());
    let written = !dry_run && !diff.is_empty();
    let report = if written { Some(doc.save()?) } else { None };
    let backup = report.as_ref().and_then(|r| r.backup.clone());
    if json {
        outln!(
            "{}",
            json!({"url": mask_url(&url), "changed": !diff.is_empty(), "written": written, "diff": diff, "backup": backup, "findings": findings})
        );
        return Ok(EXIT_OK);
    }
    print_findings(&findings);
    if diff.is_empty() {
        outln!("No change: pds.env already has these settings.");
        return Ok(EXIT_OK);
    }
    for l in &diff {
        outln!("{l}");
    }
    if dry_run {
        outln!("(dry run: nothing written)");
    } else {
        outln!(
            "Saved {}.",
            report.map_or_else(|| ctx.env_file.display().to_string(), |r| r.describe())
        );
        outln!("Check it with: pds-wizard email test --to you@example.com");
        outln!("Then restart the PDS: {}", crate::pds::restart_hint(ctx));
    }
    Ok(EXIT_OK)
}

fn repair(ctx: &Context, yes: bool, from: Option<&str>, json: bool) -> Result<u8> {
    let doc = load(ctx)?;
    let url = doc.get(URL_KEY).unwrap_or_default();
    let problems: Vec<Finding> = email::check(&doc)
        .into_iter()
        .filter(|f| f.level >= Level::Warn)
        .collect();
    let from_now = doc.get(FROM_KEY).unwrap_or_default();
    let found = email::repair::repair(&url, from.unwrap_or(&from_now));
    let Some(mut r) = found else {
        let fails = problems.iter().any(|f| f.level == Level::Fail);
        if json {
            outln!(
                "{}",
                json!({"repair": null, "recoverable": !fails, "findings": problems})
            );
        } else if fails {
            print_findings(&problems);
            outln!("The meaning of this URL cannot be recovered: set it from its parts with `pds-wizard email set`.");
        } else {
            outln!("Nothing to repair: the PDS reads {URL_KEY} as written.");
        }
        return Ok(if fails { EXIT_ERROR } else { EXIT_OK });
    };
    // Ask for what cannot be known, on a terminal; else it must be given.
    if !r.is_certain() && !json && !yes && std::io::stdin().is_terminal() {
        errln!("{FROM_KEY} is not set and the login is not an address.");
        err!("From address (e.g. noreply@your-domain): ");
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        let given = line.trim();
        if !given.is_empty() {
            r = email::repair::repair(&url, given).unwrap_or(r);
        }
    }
    let new_url = r.url();
    let mut next = doc.clone();
    next.set(URL_KEY, &new_url)?;
    next.set(FROM_KEY, &r.settings.from_address)?;
    let diff = changed_lines(&doc.render(), &next.render());
    let certain = r.is_certain();
    if !json {
        show_repair(&doc, &problems, &r, &diff);
    }
    let interactive = !json && !yes && std::io::stdin().is_terminal();
    let write = certain
        && (yes
            || (interactive && {
                err!("Write it? [y/N] ");
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line)?;
                matches!(line.trim(), "y" | "Y" | "yes")
            }));
    let report = if write {
        // Under the file's lock, and only onto the content shown.
        let mut edit = load_with(ctx, Document::load_for_edit)?;
        if edit.render() != doc.render() {
            bail!("pds.env changed while this ran; run `pds-wizard email repair` again");
        }
        edit.set(URL_KEY, &new_url)?;
        edit.set(FROM_KEY, &r.settings.from_address)?;
        Some(edit.save()?)
    } else {
        None
    };
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "repair": {
                    "url": mask_url(&new_url),
                    "meant": r.describe(),
                    "changes": r.changes,
                    "unsure": r.unsure,
                    "notes": r.notes(),
                },
                "findings": problems,
                "written": report.is_some(),
                "backup": report.as_ref().and_then(|x| x.backup.clone()),
                "diff": diff,
            }))?
        );
    } else {
        match &report {
            Some(rep) => {
                outln!("Saved {}.", rep.describe());
                outln!("Check it with: pds-wizard email test --to you@example.com");
                outln!(
                    "Then restart the PDS: {}",
                    crate::pds::restart_hint(ctx)
                );
            }
            None if !certain => outln!(
                "Not written: give the From address with --from ADDRESS (the PDS will not start without one)."
            ),
            None if interactive => outln!("Nothing written."),
            None => outln!("Not written: run again with --yes to write it."),
        }
    }
    Ok(if report.is_some() {
        EXIT_OK
    } else {
        EXIT_FINDINGS
    })
}

fn show_repair(doc: &Document, problems: &[Finding], r: &email::repair::Repair, diff: &[String]) {
    outln!(
        "{URL_KEY}={}",
        shown_value(doc, URL_KEY).unwrap_or_default()
    );
    print_findings(problems);
    outln!("\nYou probably meant: {}", r.describe());
    for n in r.notes() {
        outln!("  - {n}");
    }
    outln!("\nThe change:");
    for l in diff {
        outln!("{l}");
    }
}

fn test_via_pds(ctx: &Context, who: &str, json: bool) -> Result<u8> {
    let doc = load(ctx)?;
    let settings = Resolved::new(ctx, Some(&doc));
    let log = crate::pds::LogSource::find(ctx);
    if !json {
        errln!(
            "Asking the PDS at {} to mail {who} a password-reset code…",
            settings.local_url
        );
    }
    let r = super::runtime()?.block_on(email::via_pds::send_via_pds(
        &settings.local_url,
        &settings.admin_password,
        who,
        "",
        &settings.http,
        log.as_ref(),
    ));
    // Proof of pds.env only when the PDS runs with it (it reads pds.env at its start).
    let r = email::via_pds::against_file_here(
        r,
        &ctx.env_file,
        &settings.local_url,
        &crate::pds::restart_hint(ctx),
    );
    // A send that proves the old settings, not pds.env's, is not a pass for scripts either.
    let code = match r.outcome == email::via_pds::Outcome::Sent && r.finding.level != Level::Pass {
        true => EXIT_FINDINGS,
        false => exit_for(r.finding.level),
    };
    if json {
        outln!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(code);
    }
    outln!("{}", r.finding);
    if !r.log.is_empty() {
        outln!("\nThe PDS's log about mail (newest last):");
        for l in &r.log {
            outln!("  {l}");
        }
    }
    Ok(code)
}

fn test(ctx: &Context, to: &str, transcript: bool, json: bool) -> Result<u8> {
    let doc = load(ctx)?;
    // The URL is judged first, with the findings env check and the doctor give: a test
    // through a URL the PDS misreads would only test the misreading (and blame the host).
    let problems: Vec<Finding> = email::check(&doc)
        .into_iter()
        .filter(|f| f.level >= Level::Warn)
        .collect();
    if problems.iter().any(|f| f.level == Level::Fail) {
        let f = Finding::fail("no test mail sent: the PDS cannot send with the settings as written")
            .why("What is listed changes what the PDS does; env check and the doctor say the same.")
            .fix("Fix it — pds-wizard email repair encodes a URL the PDS misreads as it was meant; pds-wizard email set writes one from its parts; or the Email step — then test again.");
        if json {
            outln!(
                "{}",
                json!({"finding": f, "stage": "prepare", "transcript": [], "notes": problems})
            );
        } else {
            print_findings(&problems);
            outln!("{f}");
        }
        return Ok(EXIT_FINDINGS);
    }
    let settings = match email::from_document(&doc) {
        Ok(s) => s,
        Err(e) => {
            let f = Finding::fail(format!("{URL_KEY}: {e}"))
                .fix("Set it with `pds-wizard email set` or the Email step.");
            if json {
                outln!(
                    "{}",
                    json!({"finding": f, "stage": "prepare", "transcript": [], "notes": []})
                );
            } else {
                outln!("{f}");
            }
            return Ok(EXIT_FINDINGS);
        }
    };
    let opts = Resolved::new(ctx, None).send;
    if !json {
        errln!(
            "Sending a test mail to {to} through {}:{} ({})…",
            settings.host,
            settings.port,
            settings.security.name()
        );
    }
    let report = super::runtime()?.block_on(test_send(&settings, to, &opts));
    let code = exit_for(report.finding.level);
    if json {
        outln!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(code);
    }
    outln!("{}", report.finding);
    print_findings(&report.notes);
    if transcript {
        outln!(
            "\nSMTP conversation ({} ms, password removed):",
            report.elapsed_ms
        );
        for l in &report.transcript {
            outln!("  {l}");
        }
    } else if report.finding.level == Level::Fail {
        outln!("(add --transcript to see the SMTP conversation)");
    }
    Ok(code)
}

fn codes(
    ctx: &Context,
    account: Option<&str>,
    data_dir: Option<&std::path::Path>,
    all: bool,
    json: bool,
) -> Result<u8> {
    use crate::pds::data;
    let dir = match data_dir {
        Some(d) => d.to_path_buf(),
        None => data::data_dir(&load(ctx)?),
    };
    let codes = match data::pending_codes(&dir) {
        Ok(c) => c,
        Err(e) => {
            errln!("✗ {e}\n  Fix: {}", e.fix());
            return Ok(EXIT_ERROR);
        }
    };
    let wanted: Vec<_> = codes
        .into_iter()
        .filter(|c| {
            account.is_none_or(|a| {
                let a = a.trim().trim_start_matches('@').to_ascii_lowercase();
                c.did == a || c.handle.as_deref() == Some(a.as_str())
            })
        })
        .filter(|c| all || !c.expired)
        .collect();
    if json {
        outln!("{}", serde_json::to_string_pretty(&wanted)?);
        return Ok(EXIT_OK);
    }
    if wanted.is_empty() {
        outln!(
            "No {}codes waiting in {}.",
            if all { "" } else { "live " },
            dir.join("account.sqlite").display()
        );
        outln!("  A code appears when the app asks the PDS to send one (e.g. \"resend confirmation email\"); it is valid for 15 minutes.");
        return Ok(EXIT_OK);
    }
    for c in &wanted {
        let who = c.handle.clone().unwrap_or_else(|| c.did.clone());
        let age = c
            .age_seconds
            .map(data::age_text)
            .unwrap_or_else(|| c.requested_at.clone());
        outln!(
            "{who}  {}\n  code {}  — to {}; asked {age} ago{}\n  {}{}",
            c.did,
            c.code,
            c.purpose_text(),
            if c.expired {
                " (expired: ask the app for a new one)"
            } else {
                ""
            },
            c.purpose,
            c.email
                .as_deref()
                .map(|e| format!(", meant for {e}"))
                .unwrap_or_default(),
        );
    }
    Ok(EXIT_OK)
}

//! The local sendmail transport (`smtp:///?sendmail=true`): a test send through the same
//! program the PDS will run (lettre's sendmail transport: `PATH -i -f FROM -- TO`), and a
//! probe that only checks the program is there.

use super::send::{SendOptions, SendReport, Stage};
use super::SmtpSettings;
use crate::finding::{Finding, Level};
use lettre::message::{header::ContentType, Mailbox, Message};
use lettre::{AsyncSendmailTransport, AsyncTransport, Tokio1Executor};
use std::path::PathBuf;
use std::time::Instant;

/// Where the program is: a path as given, or a bare name looked up on PATH (and in the
/// sbin directories, which a non-root PATH often lacks).
pub fn locate(s: &SmtpSettings) -> Result<PathBuf, Finding> {
    let path = s.sendmail_path();
    let found = if path.contains('/') {
        let p = PathBuf::from(path);
        is_executable(&p).then_some(p)
    } else {
        crate::fsutil::find_tool(path)
    };
    found.ok_or_else(|| {
        Finding::fail(format!("no sendmail program at {path}"))
            .why("The URL hands each mail to a local program; without it every mail the PDS sends fails (the app shows HTTP 500).")
            .fix("Install a local mail system (Debian: apt install postfix, or msmtp-mta to relay through a provider), or give its path: smtp:///?sendmail=true&path=/usr/sbin/sendmail. Or send through an SMTP provider instead.")
    })
}

fn is_executable(p: &std::path::Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn report(stage: Stage, finding: Finding, transcript: Vec<String>, started: Instant) -> SendReport {
    SendReport {
        finding,
        notes: Vec::new(),
        stage,
        transcript,
        elapsed_ms: started.elapsed().as_millis(),
    }
}

/// Check the program is there (nothing is run: a sendmail cannot be asked to stop before
/// it queues).
pub fn probe(s: &SmtpSettings) -> SendReport {
    let started = Instant::now();
    match locate(s) {
        Ok(p) => report(
            Stage::Done,
            Finding::pass(format!("{} is there to hand mail to", p.display()))
                .why("A test send shows whether the local mail system accepts it."),
            vec![format!("found {}", p.display())],
            started,
        ),
        Err(f) => report(Stage::Prepare, f, vec![], started),
    }
}

/// Hand a test mail to the program, as the PDS would.
pub async fn test_send(s: &SmtpSettings, to: &str, opts: &SendOptions) -> SendReport {
    let started = Instant::now();
    let mut transcript = Vec::new();
    let fail = |stage, f: Finding, t: Vec<String>| report(stage, f, t, started);
    let from: Mailbox = match s.from_address.parse() {
        Ok(m) => m,
        Err(e) => {
            return fail(
                Stage::Prepare,
                Finding::fail(format!(
                    "PDS_EMAIL_FROM_ADDRESS {:?} is not an address: {e}",
                    s.from_address
                ))
                .fix("Use noreply@your-domain or \"Name <noreply@your-domain>\"."),
                transcript,
            )
        }
    };
    let rcpt: Mailbox = match to.parse() {
        Ok(m) => m,
        Err(e) => {
            return fail(
                Stage::Prepare,
                Finding::fail(format!("the test recipient {to:?} is not an address: {e}"))
                    .fix("Give an address you can read."),
                transcript,
            )
        }
    };
    let program = match locate(s) {
        Ok(p) => p,
        Err(f) => return fail(Stage::Prepare, f, transcript),
    };
    let message = match Message::builder()
        .from(from.clone())
        .to(rcpt.clone())
        .subject("pds-wizard test mail")
        .header(ContentType::TEXT_PLAIN)
        .body(format!(
            "This is a test mail from pds-wizard.\n\nIt went through {}, the local sendmail program your PDS will use for verification codes and password resets.\n",
            program.display()
        )) {
        Ok(m) => m,
        Err(e) => {
            return fail(
                Stage::Prepare,
                Finding::fail(format!("cannot build the test mail: {e}")),
                transcript,
            )
        }
    };
    transcript.push(format!(
        "run: {} -i -f {} -- {}",
        program.display(),
        from.email,
        rcpt.email
    ));
    let transport = AsyncSendmailTransport::<Tokio1Executor>::new_with_command(&program);
    match tokio::time::timeout(opts.timeout, transport.send(message)).await {
        Err(_) => fail(
            Stage::Data,
            Finding::fail(format!(
                "{} did not finish within {:.0} s",
                program.display(),
                opts.timeout.as_secs_f64()
            ))
            .why("A sendmail that relays directly (msmtp, nullmailer's sendmail with no queue) waits for the remote server.")
            .fix("Check that program's own configuration and log."),
            transcript,
        ),
        Ok(Ok(())) => {
            transcript.push("exit status 0: queued".into());
            report(
                Stage::Done,
                Finding::new(
                    Level::Pass,
                    format!("{} accepted the test mail for {}", program.display(), rcpt.email),
                )
                .why("The local mail system took it; whether it leaves this machine depends on that system's setup. Check it arrives (and not in spam), and read the mail log (journalctl -u postfix, /var/log/mail.log) if not."),
                transcript,
                started,
            )
        }
        Ok(Err(e)) => {
            // lettre gives the program's standard error as the source.
            let said = std::error::Error::source(&e)
                .map(|s| s.to_string())
                .unwrap_or_else(|| e.to_string());
            let said = said.trim().to_string();
            for l in said.lines() {
                transcript.push(format!("stderr: {l}"));
            }
            // A foreign program's words are all it gives (lettre keeps no exit status), so
            // they pick the explanation here; they never change what is done.
            let lower = said.to_ascii_lowercase();
            let mut f = Finding::fail(format!(
                "{} refused the test mail: {}",
                program.display(),
                said.lines().last().unwrap_or("it exited with an error")
            ));
            f = if lower.contains("from") && (lower.contains("not accepted") || lower.contains("rejected") || lower.contains("denied")) {
                f.why(format!("The mail system would not take {} as the sender.", from.email))
                    .fix("Use a From address the mail system (or the provider it relays to) lets you send as.")
            } else if lower.contains("permission denied") {
                f.why("The program could not write to its queue as this user.")
                    .fix("Run the test as the user the PDS runs as (root for the official install).")
            } else {
                f.why("The local mail system did not queue it, so the PDS's mail would fail the same way.")
                    .fix("Read what it said above and its log (journalctl -u postfix, /var/log/mail.log).")
            };
            fail(Stage::Data, f, transcript)
        }
    }
}

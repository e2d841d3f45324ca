//! A test send that behaves as the PDS (nodemailer) will with the same settings, built
//! from the parsed settings rather than lettre's own URL parser (whose defaults differ:
//! `smtp://` there never upgrades to TLS). Each SMTP stage is driven and timed separately,
//! so a failure is diagnosed by where it happened, and a transcript (password removed) is
//! kept for the operator.

use super::{Security, SmtpSettings};
use crate::finding::{Finding, Level};
use lettre::message::{header::ContentType, Mailbox, Message};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Certificate, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::response::Response;
use serde::Serialize;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct SendOptions {
    /// Limit for each stage (DNS, connect, greeting, TLS, each command).
    pub timeout: Duration,
    /// An extra trusted root (PEM): private relays and tests.
    pub ca_file: Option<PathBuf>,
}

/// Where the conversation stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Prepare,
    Dns,
    Connect,
    Greeting,
    StartTls,
    Auth,
    Sender,
    Recipient,
    Data,
    Done,
}

#[derive(Debug, Clone, Serialize)]
pub struct SendReport {
    pub finding: Finding,
    /// Other things worth knowing even when the mail went through.
    pub notes: Vec<Finding>,
    pub stage: Stage,
    /// The conversation, client lines `C:`, server lines `S:`, the password removed.
    pub transcript: Vec<String>,
    pub elapsed_ms: u128,
}

struct Run {
    transcript: Vec<String>,
    notes: Vec<Finding>,
    timeout: Duration,
    /// The whole conversation ends by then (twice the timeout), however slowly a server
    /// keeps answering stage after stage.
    deadline: Instant,
}

impl Run {
    fn log(&mut self, line: impl Into<String>) {
        self.transcript.push(line.into());
    }

    fn log_response(&mut self, r: &Response) {
        let code = r.code().to_string();
        let lines: Vec<&str> = r.message().collect();
        match lines.as_slice() {
            [] => self.log(format!("S: {code}")),
            many => {
                for l in many {
                    self.log(format!("S: {code} {l}"));
                }
            }
        }
    }

    /// Run one stage under the per-stage timeout, or what is left of the whole
    /// conversation's, whichever is shorter; the error is the bound that ran out.
    async fn stage<T, E>(
        &self,
        f: impl Future<Output = Result<T, E>>,
    ) -> Result<Result<T, E>, Duration> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        let bound = self.timeout.min(left);
        tokio::time::timeout(bound, f).await.map_err(|_| bound)
    }
}

/// Send a test mail from `s.from_address` to `to`. Never panics on bad input; every
/// outcome is a report.
pub async fn test_send(s: &SmtpSettings, to: &str, opts: &SendOptions) -> SendReport {
    if s.is_sendmail() {
        return super::sendmail::test_send(s, to, opts).await;
    }
    conversation(s, Some(to), opts).await
}

/// Everything a send does up to the sender (DNS, connect, greeting, TLS, login, MAIL FROM),
/// then QUIT: proves the settings work without sending any mail.
pub async fn probe(s: &SmtpSettings, opts: &SendOptions) -> SendReport {
    if s.is_sendmail() {
        return super::sendmail::probe(s);
    }
    conversation(s, None, opts).await
}

async fn conversation(s: &SmtpSettings, to: Option<&str>, opts: &SendOptions) -> SendReport {
    let started = Instant::now();
    let mut run = Run {
        transcript: Vec::new(),
        notes: Vec::new(),
        timeout: opts.timeout,
        deadline: started + opts.timeout * 2,
    };
    let (stage, finding) = match converse(s, to, opts, &mut run).await {
        Ok(f) => (Stage::Done, f),
        Err(failed) => *failed,
    };
    SendReport {
        finding,
        notes: run.notes,
        stage,
        transcript: run.transcript,
        elapsed_ms: started.elapsed().as_millis(),
    }
}

/// Where a send stopped, and why (boxed: a Finding is large, and this is every step's error).
type Fail = Box<(Stage, Finding)>;

fn fail(
    stage: Stage,
    what: impl Into<String>,
    why: impl Into<String>,
    fix: impl Into<String>,
) -> Fail {
    Box::new((stage, Finding::fail(what).why(why).fix(fix)))
}

use crate::http::chain;

fn tls_parameters(s: &SmtpSettings, opts: &SendOptions) -> Result<TlsParameters, Fail> {
    let mut b = TlsParameters::builder(s.host.clone());
    if let Some(path) = &opts.ca_file {
        let pem = std::fs::read(path).map_err(|e| {
            fail(
                Stage::Prepare,
                format!("cannot read the CA file {}: {e}", path.display()),
                "",
                "Check the --ca-file path.",
            )
        })?;
        // A bundle may hold several roots: each one is trusted.
        let text = String::from_utf8_lossy(&pem);
        let blocks: Vec<String> = text
            .split_inclusive("-----END CERTIFICATE-----")
            .filter(|b| b.contains("-----BEGIN CERTIFICATE-----"))
            .map(|b| b.trim_start().to_string())
            .collect();
        if blocks.is_empty() {
            return Err(fail(
                Stage::Prepare,
                format!("{} holds no PEM certificate", path.display()),
                "",
                "Give the CA certificate in PEM form.",
            ));
        }
        for block in blocks {
            let cert = Certificate::from_pem(block.as_bytes()).map_err(|e| {
                fail(
                    Stage::Prepare,
                    format!("{} is not a PEM certificate: {e}", path.display()),
                    "",
                    "Give the CA certificate in PEM form.",
                )
            })?;
            b = b.add_root_certificate(cert);
        }
    }
    if s.accepts_invalid_certs() {
        b = b.dangerous_accept_invalid_certs(true);
    }
    b.build_rustls().map_err(|e| {
        fail(
            Stage::Prepare,
            format!("cannot set up TLS: {}", chain(&e)),
            "",
            "",
        )
    })
}

/// Diagnose a TLS failure from its error text.
fn tls_failure(stage: Stage, s: &SmtpSettings, detail: &str) -> Fail {
    let d = detail.to_ascii_lowercase();
    if d.contains("certificate")
        || d.contains("unknownissuer")
        || d.contains("notvalidforname")
        || d.contains("expired")
    {
        let why = if d.contains("notvalidforname") || d.contains("not valid for") {
            format!("The certificate is not issued for {:?}.", s.host)
        } else if d.contains("expired") {
            "The server's certificate has expired.".to_string()
        } else {
            "The certificate is not signed by an authority this machine trusts (self-signed, or a private CA).".to_string()
        };
        return fail(
            stage,
            format!("the certificate of {} was refused: {detail}", s.host),
            why,
            "Use the host name the certificate is issued for; for a private relay, trust its CA (--ca-file). Only for a server on this machine: tls.rejectUnauthorized=false.",
        );
    }
    if d.contains("invalidcontenttype")
        || d.contains("corrupt")
        || d.contains("wrong version")
        || d.contains("invalid content type")
        || d.contains("record")
        || d.contains("eof")
    {
        return fail(
            stage,
            format!(
                "TLS handshake with {}:{} failed: the server answered in plain text",
                s.host, s.port
            ),
            format!(
                "Port {} expects a plain-text start and STARTTLS, not TLS from the first byte.",
                s.port
            ),
            "Use security starttls (smtp://…:587/?requireTLS=true), or port 465 with tls.",
        );
    }
    fail(
        stage,
        format!("TLS with {}:{} failed: {detail}", s.host, s.port),
        "",
        "Check the security setting and port.",
    )
}

async fn converse(
    s: &SmtpSettings,
    to: Option<&str>,
    opts: &SendOptions,
    run: &mut Run,
) -> Result<Finding, Fail> {
    // The addresses first: nothing is sent for mail that could not be built.
    let from: Mailbox = s.from_address.parse().map_err(|e| {
        fail(
            Stage::Prepare,
            format!(
                "PDS_EMAIL_FROM_ADDRESS {:?} is not an address: {e}",
                s.from_address
            ),
            "",
            "Use noreply@your-domain or \"Name <noreply@your-domain>\".",
        )
    })?;
    let rcpt: Option<Mailbox> = to
        .map(|to| {
            to.parse().map_err(|e| {
                fail(
                    Stage::Prepare,
                    format!("the test recipient {to:?} is not an address: {e}"),
                    "",
                    "Give an address you can read.",
                )
            })
        })
        .transpose()?;
    let tls = tls_parameters(s, opts)?;
    let t = opts.timeout.as_secs_f64();

    // DNS, then TCP ourselves: that tells "no such host", "refused" and "blocked" apart.
    run.log(format!("resolving {}", s.host));
    let addrs: Vec<SocketAddr> = match run
        .stage(tokio::net::lookup_host((s.host.as_str(), s.port)))
        .await
    {
        Err(limit) => {
            return Err(fail(
                Stage::Dns,
                format!(
                    "looking up {} took more than {} s",
                    s.host,
                    limit.as_secs_f64()
                ),
                "The DNS resolver of this machine did not answer.",
                "Check /etc/resolv.conf, then try again.",
            ))
        }
        Ok(Err(e)) => {
            // A provider's own server name is spelt right: then this machine's DNS is at fault.
            let known = super::presets::all()
                .iter()
                .any(|p| !p.host.is_empty() && p.host == s.host);
            return Err(fail(
                Stage::Dns,
                format!("cannot find the mail server {}: {e}", s.host),
                "The name does not resolve, so the PDS could not send either.",
                if known {
                    format!("{} is the provider's own server: this machine's DNS does not answer for it. Check /etc/resolv.conf and dig +short {}.", s.host, s.host)
                } else {
                    format!("Check the spelling of the host (dig +short {}).", s.host)
                },
            ));
        }
        Ok(Ok(a)) => a.collect(),
    };
    let mut reached: Option<SocketAddr> = None;
    let mut last_err = String::new();
    let mut timed_out = false;
    for addr in &addrs {
        run.log(format!("connecting to {addr}"));
        match run.stage(tokio::net::TcpStream::connect(addr)).await {
            Ok(Ok(_probe)) => {
                reached = Some(*addr);
                break;
            }
            Ok(Err(e)) => last_err = format!("{addr}: {e}"),
            Err(_) => {
                timed_out = true;
                last_err = format!("{addr}: no answer");
            }
        }
    }
    let Some(addr) = reached else {
        let other = [465u16, 587, 2525]
            .iter()
            .filter(|p| **p != s.port)
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(" or ");
        return Err(if timed_out {
            fail(Stage::Connect, format!("no answer from {}:{} within {t} s", s.host, s.port),
                format!("Something between this server and the mail server drops the connection. Many hosting providers block outgoing port {} (25 almost always).", s.port),
                format!("Try port {other} (with the matching security), or ask your provider to unblock the port."))
        } else {
            fail(
                Stage::Connect,
                format!("{}:{} refused the connection ({last_err})", s.host, s.port),
                "The host is reachable, but nothing listens on that port.",
                format!("Check the port: providers use 465 (tls) and 587 (starttls); try {other}."),
            )
        });
    };

    // The real session. With implicit TLS the handshake happens inside connect.
    let hello = ClientId::default();
    let implicit = (s.security == Security::ImplicitTls).then(|| tls.clone());
    let mut conn = match run
        .stage(AsyncSmtpConnection::connect_tokio1(
            addr,
            Some(opts.timeout),
            &hello,
            implicit,
            None,
        ))
        .await
    {
        Err(limit) => {
            let t = limit.as_secs_f64();
            return Err(match s.security {
                Security::ImplicitTls => fail(Stage::Greeting, format!("connected to {}:{}, but the TLS handshake got no answer within {t} s", s.host, s.port), "The server is waiting for something else.", "Check the port and security: 465 is tls, 587 is starttls."),
                _ => fail(Stage::Greeting, format!("connected to {}:{}, but the server said nothing within {t} s", s.host, s.port),
                    format!("A mail server greets at once. Port {} probably expects TLS from the first byte (implicit TLS); nodemailer would wait the same way and the PDS would time out.", s.port),
                    "Use security tls (smtps://), usually on port 465."),
            });
        }
        Ok(Err(e)) => {
            let detail = chain(&e);
            return Err(if s.security == Security::ImplicitTls || e.is_tls() {
                tls_failure(Stage::Greeting, s, &detail)
            } else {
                fail(
                    Stage::Greeting,
                    format!("{}:{} did not greet properly: {detail}", s.host, s.port),
                    "This does not look like an SMTP server.",
                    "Check the host and port.",
                )
            });
        }
        Ok(Ok(c)) => c,
    };
    if s.security == Security::ImplicitTls {
        run.log("TLS established");
    }
    log_ehlo(run, &hello, &conn);

    // STARTTLS as nodemailer decides it.
    let ignore_tls = s.option("ignoreTLS") == Some("true");
    match s.security {
        Security::ImplicitTls => {}
        Security::StartTls | Security::StartTlsIfOffered if conn.can_starttls() && !ignore_tls => {
            run.log("C: STARTTLS");
            match run.stage(conn.starttls(tls.clone(), &hello)).await {
                Err(limit) => {
                    return Err(fail(
                        Stage::StartTls,
                        format!(
                            "STARTTLS with {} got no answer within {} s",
                            s.host,
                            limit.as_secs_f64()
                        ),
                        "",
                        "Try again; if it persists, try port 465 with tls.",
                    ))
                }
                Ok(Err(e)) => return Err(tls_failure(Stage::StartTls, s, &chain(&e))),
                Ok(Ok(())) => {
                    run.log("TLS established");
                    log_ehlo(run, &hello, &conn);
                }
            }
        }
        Security::StartTls => return Err(fail(
            Stage::StartTls,
            format!("{}:{} does not offer STARTTLS", s.host, s.port),
            "With requireTLS the PDS refuses to send in clear text, so no mail would go out.",
            "Use port 465 with tls, or, for a relay on this machine only, security opportunistic.",
        )),
        Security::StartTlsIfOffered => {
            run.notes.push(Finding::warn("the connection is not encrypted").why(format!("{} offers no STARTTLS{}; the PDS would send the password and mail in clear text.", s.host, if ignore_tls { " (or ignoreTLS is set)" } else { "" })).fix("Use a port with TLS (465) or STARTTLS (587)."));
        }
    }

    // Log in, as nodemailer does: only when credentials are given and the server offers AUTH.
    if !s.username.is_empty() {
        let mechanisms = [Mechanism::Plain, Mechanism::Login];
        match conn.server_info().get_auth_mechanism(&mechanisms) {
            None => run.notes.push(
                Finding::warn("the server offers no AUTH, so no login happened")
                    .why("nodemailer then sends without logging in, which only works if the server relays for this machine anyway; the credentials are never checked.")
                    .fix("If the provider requires a login, this is the wrong port or host."),
            ),
            Some(mech) => {
                run.log(format!("C: AUTH {mech} (credentials removed)"));
                let creds = Credentials::new(s.username.clone(), s.password.expose().to_string());
                let user = s.username.clone();
                exchange(run, Stage::Auth, "the login", conn.auth(&mechanisms, &creds), |detail, _code| {
                    fail(Stage::Auth, format!("login as {user:?} was refused: {detail}"),
                        "The user name or password is wrong for this server.",
                        "Many providers need an app password or an API key rather than your login password (see the preset's note). A user name that is an address must be written with %40 in the URL; the Email step does that for you.")
                })
                .await?;
            }
        }
    }

    // The envelope and the message, one command at a time.
    let from_addr = from.email.clone();
    run.log(format!("C: MAIL FROM:<{from_addr}>"));
    let logged_in = !s.username.is_empty();
    exchange(run, Stage::Sender, "MAIL FROM", conn.command(Mail::new(Some(from_addr.clone()), vec![])), |detail, code| {
        match code {
            // 530: authentication required. Without a login in the URL nodemailer never
            // logs in, so this is the missing login, not the sender.
            Some(530) if !logged_in => fail(Stage::Sender, format!("the server wants a login before it takes mail: {detail}"),
                "PDS_EMAIL_SMTP_URL has no user and password, so the PDS (nodemailer) never logs in.",
                "Add your login to the URL: smtps://USER:PASSWORD@host:465 (an @ in the user name written %40); the Email step writes it for you."),
            Some(530) => fail(Stage::Sender, format!("the server wants a login before it takes mail: {detail}"),
                "The URL has a login, but the server did not offer AUTH on this connection, so none happened.",
                "Use the provider's submission port with TLS (465, or 587 with STARTTLS): most offer AUTH only there."),
            _ => fail(Stage::Sender, format!("the server refused the sender {from_addr}: {detail}"),
                "Providers only send for addresses and domains you have verified with them (or the account's own address).",
                format!("Verify {} with the provider (SPF/DKIM records), or use the account's own address as PDS_EMAIL_FROM_ADDRESS.", from_addr.domain())),
        }
    })
    .await?;
    let Some(rcpt) = rcpt else {
        // A probe: everything but the mail itself worked.
        run.log("C: QUIT");
        let _ = run.stage(conn.quit()).await;
        return Ok(Finding::pass(format!(
            "{}:{} answers, {} works and accepts {from_addr} as the sender (no mail sent)",
            s.host,
            s.port,
            if s.username.is_empty() {
                "TLS".to_string()
            } else {
                "the login".to_string()
            }
        )));
    };
    let to_addr = rcpt.email.clone();
    run.log(format!("C: RCPT TO:<{to_addr}>"));
    exchange(
        run,
        Stage::Recipient,
        "RCPT TO",
        conn.command(Rcpt::new(to_addr.clone(), vec![])),
        |detail, _code| {
            fail(
                Stage::Recipient,
                format!("the server refused the recipient {to_addr}: {detail}"),
                "Some providers (SES sandbox, trial accounts) only deliver to verified recipients.",
                "Send to an address you own, or lift the provider's sandbox limits.",
            )
        },
    )
    .await?;
    let body = format!(
        "This is a test mail from pds-wizard.\n\nIt went through {}:{} ({}), the way your PDS will send verification codes and password resets.\n",
        s.host, s.port, s.security.describe()
    );
    let message = Message::builder()
        .from(from)
        .to(rcpt)
        .subject("pds-wizard test mail")
        .header(ContentType::TEXT_PLAIN)
        .body(body)
        .map_err(|e| {
            fail(
                Stage::Prepare,
                format!("cannot build the test mail: {e}"),
                "",
                "",
            )
        })?;
    run.log("C: DATA");
    exchange(
        run,
        Stage::Data,
        "DATA",
        conn.command(Data),
        |detail, _code| {
            fail(
                Stage::Data,
                format!("the server refused DATA: {detail}"),
                "",
                "See the transcript.",
            )
        },
    )
    .await?;
    run.log("C: (message, headers and body)");
    let accepted = exchange(
        run,
        Stage::Data,
        "the message",
        conn.message(&message.formatted()),
        |detail, _code| {
            fail(
                Stage::Data,
                format!("the server refused the message: {detail}"),
                "Content filters or sending limits can do this.",
                "See the provider's logs or dashboard.",
            )
        },
    )
    .await?;
    run.log("C: QUIT");
    let _ = run.stage(conn.quit()).await;
    let reply: Vec<&str> = accepted.message().collect();
    Ok(Finding::new(Level::Pass, format!("test mail accepted by {} for {to_addr}", s.host))
        .why(format!("The server answered {} {}. Check that it arrives (and not in spam): the PDS sends exactly this way.", accepted.code(), reply.join(" "))))
}

/// One SMTP exchange: bounded by the stage timeout, the reply logged, and a refusal turned
/// into the diagnosis `refused` builds from the server's words.
async fn exchange(
    run: &mut Run,
    stage: Stage,
    what: &str,
    reply: impl Future<Output = Result<Response, lettre::transport::smtp::Error>>,
    refused: impl FnOnce(String, Option<u16>) -> Fail,
) -> Result<Response, Fail> {
    match run.stage(reply).await {
        Err(limit) => Err(fail(
            stage,
            format!("{what} got no answer within {} s", limit.as_secs_f64()),
            "The server stopped answering in the middle of the conversation.",
            "Try again; if it keeps happening, check the provider's status page.",
        )),
        Ok(Err(e)) => {
            let detail = chain(&e);
            run.log(format!("S: {detail}"));
            // The reply code decides the diagnosis; the text is only shown.
            Err(refused(detail, e.status().map(u16::from)))
        }
        Ok(Ok(r)) => {
            run.log_response(&r);
            Ok(r)
        }
    }
}

fn log_ehlo(run: &mut Run, hello: &ClientId, conn: &AsyncSmtpConnection) {
    run.log(format!("C: EHLO {hello}"));
    run.log(format!("S: 250 {}", conn.server_info()));
}

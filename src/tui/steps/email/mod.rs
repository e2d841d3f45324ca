//! Email: a provider preset, the SMTP fields with live validation, the URL the PDS will
//! read (password masked), and a test send that runs in the background.

use crate::email::presets::{self, Preset};
use crate::email::repair::Repair;
use crate::email::send::SendReport;
use crate::email::via_pds::PdsSend;
use crate::email::{self, Security, SmtpSettings, FROM_KEY, URL_KEY};
use crate::envfile::{catalogue, Document};
use crate::finding::{Finding, Level};
use crate::secret::Secret;
use crate::secret::{mask_url, scrub};
use crate::tui::form::{Field, FieldKind, Form};
use crate::tui::jobs::Pending;
use crate::tui::keys::Command;
use crate::tui::modal::Modal;
use crate::tui::outcome::{Ctx, Outcome};
use crate::tui::steps::Said;
use crate::tui::theme::Theme;
use crate::tui::widgets::{draw_below, finding_block, finding_line, spinner};
use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

pub const PRESET: &str = "preset";
pub const HOST: &str = "host";
pub const PORT: &str = "port";
pub const SECURITY: &str = "security";
pub const USER: &str = "username";
pub const PASSWORD: &str = "password";
pub const FROM: &str = "from";
pub const TEST_TO: &str = "test_to";
const CUSTOM: &str = "(custom)";

pub enum TestState {
    Idle,
    Pending { job: Pending, to: String },
    Done(Box<SendReport>),
}

/// The PDS's own send (after a restart, or on Ctrl-P): waiting for it to answer and
/// listing its accounts, then mailing one.
pub enum PdsTest {
    Idle,
    /// Waiting for the PDS to answer and listing its accounts.
    Waiting(Pending),
    Sending(Pending, String),
    Done(Box<PdsSend>),
}

/// Where the operator is with a URL the PDS misreads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MisreadState {
    /// Shown, not acted on.
    Open,
    /// The repair was offered and put off (Ctrl-R still does it).
    Declined,
    /// The form holds the repair, or settings typed over the misreading (not saved yet).
    Repaired,
}

/// pds.env's email lines as the PDS reads them, when that is not what was meant: the line
/// (secret masked), what is wrong, and the repair when it can be recovered.
pub struct Misread {
    pub line: String,
    /// Warnings and failures about the two email keys (`email::check`).
    pub findings: Vec<Finding>,
    pub repair: Option<Repair>,
    pub state: MisreadState,
}

impl Misread {
    /// None when the PDS reads pds.env's email settings as meant (or they are unset).
    pub fn of(doc: &Document) -> Option<Misread> {
        let url = doc.get(URL_KEY).unwrap_or_default();
        if url.trim().is_empty() {
            return None;
        }
        let findings: Vec<Finding> = email::check(doc)
            .into_iter()
            .filter(|f| f.level >= Level::Warn)
            .collect();
        let repair = email::repair::repair(&url, &doc.get(FROM_KEY).unwrap_or_default());
        if repair.is_none() && !findings.iter().any(|f| f.level == Level::Fail) {
            return None;
        }
        Some(Misread {
            line: format!(
                "{URL_KEY}={}",
                crate::envfile::display::shown_value(doc, URL_KEY).unwrap_or_default()
            ),
            findings,
            repair,
            state: MisreadState::Open,
        })
    }

    /// Whether the PDS, as pds.env stands, cannot send (or start).
    pub fn fails(&self) -> bool {
        self.findings.iter().any(|f| f.level == Level::Fail)
    }

    /// The repair, while it is still to be done.
    pub fn offer(&self) -> Option<&Repair> {
        self.repair
            .as_ref()
            .filter(|_| self.state != MisreadState::Repaired)
    }
}

pub struct EmailScreen {
    pub form: Form,
    presets: Vec<Preset>,
    /// Query options from the URL or preset (`tls.rejectUnauthorized`…), kept as they are.
    options: Vec<(String, String)>,
    pub url_findings: Vec<Finding>,
    pub test: TestState,
    /// Reading the codes the PDS meant to mail.
    pub codes: Option<Pending>,
    /// pds.env's email settings as the PDS misreads them, if it does.
    pub misread: Option<Misread>,
    pub pds_test: PdsTest,
    /// Email settings were saved: once the PDS restarts, offer to have it send.
    pub verify_after_restart: bool,
    /// A line for the status bar once the app has read an edit (see `apply_repair`).
    pub note: Option<(Level, String)>,
    /// The question open, if any.
    pub asking: Option<Question>,
}

fn choice(values: impl IntoIterator<Item = String>) -> FieldKind {
    FieldKind::Choice(values.into_iter().collect())
}

mod room;
pub use room::{Done, Job, Question};

impl EmailScreen {
    pub fn new(doc: &Document) -> EmailScreen {
        let presets = presets::all();
        let url = doc.get(URL_KEY).unwrap_or_default();
        let parsed = email::parse(&url).ok();
        let s = parsed.clone().unwrap_or_default();
        let configured = parsed.is_some();
        let preset_name = presets
            .iter()
            .find(|p| {
                configured
                    && if s.is_sendmail() {
                        p.options.iter().any(|(k, _)| k == "sendmail")
                    } else {
                        p.host == s.host && p.port == s.port
                    }
            })
            .map(|p| p.name.clone())
            .unwrap_or_else(|| CUSTOM.to_string());
        let port = if configured {
            s.port.to_string()
        } else {
            String::new()
        };
        // A URL too broken to read one way: nodemailer may have made the host, port or
        // user name of pieces of the password. Those pieces are masked, not shown.
        let raw = doc.raw_value(URL_KEY).unwrap_or_default();
        let raw = raw.trim().trim_matches(['\'', '"']);
        let clean = crate::secret::is_clean_url(&url)
            && (raw.is_empty() || crate::secret::is_clean_url(raw));
        let (host, port, username) = if clean {
            (s.host.clone(), port, s.username.clone())
        } else {
            crate::envfile::sensitive::remember_value(URL_KEY, &url);
            crate::envfile::sensitive::remember_value(URL_KEY, raw);
            let port = if crate::secret::scrub(&port) == port {
                port
            } else {
                String::new()
            };
            (
                crate::secret::scrub(&s.host),
                port,
                crate::secret::scrub(&s.username),
            )
        };
        // Query options read from a broken URL may be pieces of the password (a `?` in it
        // starts the query): from such a URL only nodemailer's own option names are kept,
        // and only when their value is not a piece of it.
        let options: Vec<(String, String)> = s
            .options
            .iter()
            .filter(|(k, v)| clean || email::is_known_option(k) && crate::secret::scrub(v) == *v)
            .cloned()
            .collect();
        let fields = vec![
            Field::new(
                PRESET,
                "Provider",
                choice(
                    std::iter::once(CUSTOM.to_string())
                        .chain(presets.iter().map(|p| p.name.clone())),
                ),
                &preset_name,
            ),
            Field::new(HOST, "SMTP host", FieldKind::Text, &host).limit(253),
            Field::new(PORT, "Port", FieldKind::Text, &port).limit(5),
            Field::new(
                SECURITY,
                "Security",
                choice(Security::ALL.iter().map(|x| x.name().to_string())),
                s.security.name(),
            ),
            Field::new(USER, "User name", FieldKind::Text, &username),
            Field::new(PASSWORD, "Password", FieldKind::Secret, s.password.expose()),
            Field::new(
                FROM,
                "From address",
                FieldKind::Text,
                &doc.get(FROM_KEY).unwrap_or_default(),
            ),
            Field::new(
                TEST_TO,
                "Test recipient",
                FieldKind::Text,
                &doc.get("PDS_CONTACT_EMAIL_ADDRESS").unwrap_or_default(),
            ),
        ];
        let mut screen = EmailScreen {
            form: Form::new(fields),
            presets,
            options,
            url_findings: Vec::new(),
            test: TestState::Idle,
            codes: None,
            misread: Misread::of(doc),
            pds_test: PdsTest::Idle,
            verify_after_restart: false,
            note: None,
            asking: None,
        };
        if !configured && !url.trim().is_empty() {
            // Keep what cannot be parsed visible rather than silently replacing it.
            screen.url_findings = email::url_findings(&url);
        }
        screen.refresh_findings();
        screen
    }

    /// Nothing typed: the PDS keeps sending no mail, and no answer is produced.
    pub fn is_blank(&self) -> bool {
        !self.is_sendmail()
            && [HOST, USER, PASSWORD, FROM]
                .iter()
                .all(|k| self.form.text(k).is_empty())
    }

    /// The local sendmail transport: no server, port or login.
    fn is_sendmail(&self) -> bool {
        email::sendmail_in(&self.options)
    }

    /// The settings as typed.
    pub fn settings(&self) -> Result<SmtpSettings, String> {
        let security =
            Security::from_name(&self.form.text(SECURITY)).unwrap_or(Security::ImplicitTls);
        let port_text = self.form.text(PORT);
        let port = if port_text.is_empty() {
            security.default_port()
        } else {
            port_text
                .parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| format!("port {port_text:?} is not a number from 1 to 65535"))?
        };
        Ok(SmtpSettings {
            host: self.form.text(HOST),
            port,
            security,
            username: self.form.text(USER),
            password: Secret::new(self.form.text(PASSWORD)),
            from_address: self.form.text(FROM),
            options: self.options.clone(),
        })
    }

    /// The pds.env answers this screen produces: the URL and the From address, or why not.
    pub fn edits(&self) -> Result<[(&'static str, String); 2], String> {
        if self.is_blank() {
            return Ok([(URL_KEY, String::new()), (FROM_KEY, String::new())]);
        }
        let s = self.settings()?;
        let url = email::compose(&s).map_err(|e| e.to_string())?;
        if let Some(f) = email::url_findings(&url)
            .into_iter()
            .find(|f| f.level == Level::Fail)
        {
            return Err(format!("{}: {}", f.what, f.fix));
        }
        Ok([(URL_KEY, url), (FROM_KEY, s.from_address)])
    }

    /// pds.env as it now is on disk: what the PDS misreads in it (a saved repair clears it).
    pub fn note_base(&mut self, doc: &Document) {
        let state = self.misread.as_ref().map(|m| m.state);
        self.misread = Misread::of(doc);
        if let (Some(m), Some(MisreadState::Declined)) = (self.misread.as_mut(), state) {
            m.state = MisreadState::Declined;
        }
    }

    /// Ask the PDS whether it answers (waiting at most `wait`), and for its accounts: the
    /// first half of having the PDS itself send a mail.
    pub fn ask_pds(&mut self, ctx: &mut Ctx, wait: std::time::Duration) -> Said<Self> {
        let job = ctx.jobs.start();
        self.pds_test = PdsTest::Waiting(job);
        Outcome::effect(job.ticket, Job::Ready(wait))
    }

    /// Put the repair into the form (nothing saved): the fields as meant, the URL composed
    /// from them. Where the From address cannot be known, the cursor waits on it.
    pub fn apply_repair(&mut self) -> Said<Self> {
        let Some(r) = self.misread.as_ref().and_then(|m| m.repair.clone()) else {
            return Outcome::Status(Level::Info, "Nothing to repair here.".into());
        };
        let s = &r.settings;
        let preset = self
            .presets
            .iter()
            .find(|p| p.host == s.host && p.port == s.port)
            .map(|p| p.name.clone())
            .unwrap_or_else(|| CUSTOM.to_string());
        self.set(PRESET, &preset);
        self.set(HOST, &s.host);
        self.set(PORT, &s.port.to_string());
        self.set(SECURITY, s.security.name());
        self.set(USER, &s.username);
        self.set(PASSWORD, s.password.expose());
        self.set(FROM, &s.from_address);
        self.options = s.options.clone();
        if let Some(m) = self.misread.as_mut() {
            m.state = MisreadState::Repaired;
        }
        self.test = TestState::Idle;
        self.refresh_findings();
        self.note = Some(if r.is_certain() {
            (
                Level::Pass,
                "Repaired on screen, not saved yet. Ctrl-T sends a test mail as the PDS will."
                    .into(),
            )
        } else {
            self.form.focus_key(FROM);
            (
                Level::Warn,
                "Repaired all but the From address: type it (e.g. noreply@your-domain).".into(),
            )
        });
        Outcome::Edited
    }

    pub fn set_recipient(&mut self, to: &str) {
        self.set(TEST_TO, to);
        self.refresh_findings();
    }

    pub fn recipient(&self) -> String {
        self.form.text(TEST_TO)
    }

    /// Handle a key; true when a setting changed (the answers must be recomputed).
    /// Send the test mail as the PDS will (unless one is on its way).
    pub fn send_test(&mut self, ctx: &mut Ctx) -> Said<Self> {
        if matches!(self.test, TestState::Pending { .. }) {
            return Outcome::Nothing;
        }
        let to = self.recipient();
        if to.is_empty() {
            return Outcome::Status(
                Level::Warn,
                "Type a test recipient first (the last field).".into(),
            );
        }
        match self.settings() {
            Ok(settings) if !self.is_blank() => {
                let job = ctx.jobs.start();
                self.test = TestState::Pending {
                    job,
                    to: to.clone(),
                };
                Outcome::effect(
                    job.ticket,
                    Job::Test {
                        settings: Box::new(settings),
                        to,
                        options: ctx.settings.send.clone(),
                    },
                )
            }
            Ok(_) => Outcome::Status(Level::Warn, "Fill in the SMTP settings first.".into()),
            Err(e) => Outcome::fail(e),
        }
    }

    pub fn on_key(&mut self, k: KeyEvent) -> bool {
        let before_security = self.form.text(SECURITY);
        let before_preset = self.form.text(PRESET);
        let Some(key) = self.form.on_key(k) else {
            return false;
        };
        // Typed over the misreading: the form no longer shows what the PDS reads.
        if key != TEST_TO && key != FROM {
            if let Some(m) = self.misread.as_mut() {
                m.state = MisreadState::Repaired;
            }
        }
        match key {
            PRESET => {
                let name = self.form.text(PRESET);
                // A login belongs to the provider it was typed for: another provider (a
                // local relay that may take it over a plain connection, say) never gets
                // it. The user name and password go, and so does a test of the old one.
                if name != before_preset {
                    self.set(USER, "");
                    self.set(PASSWORD, "");
                }
                self.test = TestState::Idle;
                if let Some(p) = self.presets.iter().find(|p| p.name == name).cloned() {
                    let mut s = self.settings().unwrap_or_default();
                    p.apply(&mut s);
                    self.set(HOST, &s.host);
                    self.set(PORT, &s.port.to_string());
                    self.set(SECURITY, s.security.name());
                    self.set(USER, &s.username);
                    self.options = s.options;
                } else {
                    // Back to a server of one's own: not the local sendmail any more.
                    self.options.retain(|(k, _)| k != "sendmail" && k != "path");
                }
            }
            SECURITY => {
                // Follow the port along when it was the old mode's usual one.
                let old = Security::from_name(&before_security).map(Security::default_port);
                let new =
                    Security::from_name(&self.form.text(SECURITY)).map(Security::default_port);
                if let (Some(old), Some(new)) = (old, new) {
                    if self.form.text(PORT) == old.to_string() || self.form.text(PORT).is_empty() {
                        self.set(PORT, &new.to_string());
                    }
                }
            }
            _ => {}
        }
        self.refresh_findings();
        key != TEST_TO
    }

    fn set(&mut self, key: &str, value: &str) {
        if let Some(f) = self.form.field_mut(key) {
            f.set_text(value);
        }
    }

    pub fn refresh_findings(&mut self) {
        let settings = self.settings();
        let composed = settings.as_ref().ok().map(email::compose);
        let blank = self.is_blank();
        let sendmail = self.is_sendmail();
        let preset_name = self.form.text(PRESET);
        let preset = self.presets.iter().find(|p| p.name == preset_name);
        let misread_shown = self
            .misread
            .as_ref()
            .is_some_and(|m| m.state != MisreadState::Repaired);
        for f in &mut self.form.fields {
            let value = f.text();
            let mut found: Vec<Finding> = Vec::new();
            match f.key {
                HOST | PORT | SECURITY | USER | PASSWORD if sendmail => {
                    found.push(Finding::info("not used: mail goes to the local sendmail"))
                }
                HOST if !blank && value.is_empty() => {
                    found.push(Finding::fail("the SMTP server's host name is needed"))
                }
                HOST if blank => {}
                HOST => {
                    if let Some(Err(e)) = &composed {
                        // The user name's own finding says that one.
                        if !matches!(e, email::UrlError::ColonInUser) {
                            found.push(Finding::fail(e.to_string()));
                        }
                    }
                }
                PORT => {
                    if let Err(e) = &settings {
                        found.push(Finding::fail(e.clone()));
                    }
                }
                // A provider's preset needs its login: empty is not "ok".
                USER | PASSWORD
                    if value.is_empty() && !blank && preset.is_some_and(|p| !p.no_login) =>
                {
                    let p = preset.expect("checked");
                    found.push(Finding::fail(if f.key == USER {
                        format!("needed: {}", p.username)
                    } else {
                        format!("needed: the password for {}", p.name)
                    }))
                }
                USER if value.contains(':') => found.push(Finding::fail(
                    "a user name cannot hold ':' (nodemailer splits the login there)",
                )),
                USER if !value.is_empty() && value.contains('@') => {
                    found.push(Finding::pass("written as %40 in the URL for you"))
                }
                PASSWORD if !blank && value.is_empty() && !self_user_empty(&settings) => {
                    found.push(Finding::warn("no password"))
                }
                FROM if !blank => {
                    if value.is_empty() {
                        found.push(
                            Finding::fail(
                                "the PDS will not start with an SMTP URL but no From address",
                            )
                            .fix("e.g. noreply@your-domain"),
                        );
                    } else if let Some(info) = catalogue::lookup(FROM_KEY) {
                        found.extend(catalogue::validate(info, &value));
                    }
                }
                TEST_TO if value.is_empty() => {
                    found.push(Finding::info("where Ctrl-T sends a test mail"))
                }
                PRESET => {
                    if let Some(p) = self.presets.iter().find(|p| p.name == value) {
                        found.push(Finding::info(format!("user: {} — {}", p.username, p.note)));
                    }
                }
                SECURITY => found.push(Finding::info(
                    Security::from_name(&value)
                        .map(Security::describe)
                        .unwrap_or(""),
                )),
                _ => {}
            }
            // Fields read from a misread URL are what the PDS uses, not what was meant.
            if found.is_empty() && misread_shown && matches!(f.key, HOST | PORT | USER | PASSWORD) {
                found.push(Finding::warn("as the PDS reads pds.env now (see above)"));
            }
            if found.is_empty() && !(blank && f.key != TEST_TO) {
                found.push(Finding::pass("ok"));
            }
            f.findings = found;
        }
        self.url_findings = match (&composed, blank) {
            (_, true) => email::url_findings(""),
            (Some(Ok(url)), false) => email::url_findings(url),
            _ => Vec::new(),
        };
    }

    pub fn worst(&self) -> Level {
        self.form
            .fields
            .iter()
            .flat_map(|f| f.findings.iter())
            .chain(self.url_findings.iter())
            .map(|f| f.level)
            .max()
            .unwrap_or(Level::Pass)
    }

    /// The last test send in full, for the Ctrl-L pop-up: the diagnosis, then the conversation.
    pub fn test_details(&self) -> Option<Vec<String>> {
        let TestState::Done(r) = &self.test else {
            return None;
        };
        let mut out = vec![r.finding.to_string()];
        out.extend(r.notes.iter().map(|n| n.to_string()));
        out.push(String::new());
        out.push(format!("SMTP conversation ({} ms):", r.elapsed_ms));
        out.extend(r.transcript.iter().cloned());
        Some(out)
    }

    /// True for keys this screen handles itself rather than the form.
    pub fn is_command(k: &KeyEvent) -> bool {
        k.modifiers
            .contains(crossterm::event::KeyModifiers::CONTROL)
            && matches!(
                k.code,
                KeyCode::Char('t') | KeyCode::Char('l') | KeyCode::Char('e') | KeyCode::Char('p')
            )
    }
}

fn self_user_empty(s: &Result<SmtpSettings, String>) -> bool {
    s.as_ref().map(|s| s.username.is_empty()).unwrap_or(true)
}

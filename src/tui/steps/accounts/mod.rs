//! Accounts: list, create with an invite when one is needed, reset a password, move an
//! account onto a custom-domain handle once it verifies, and announce it; bring an account
//! here from another PDS (^B: `migrate::migrate_in`, as `accounts migrate-in` runs it),
//! which stops for the PLC token the old PDS mails and goes on with ^B once it is typed.

use crate::finding::{Finding, Level};
use crate::identity::{Handle, HandleReport};
use crate::pds::accounts::Account;
use crate::setup::accounts::{Moved, NewAccount};
use crate::tui::form::{Field, FieldKind, Form};
use crate::tui::jobs::{is_current, Pending, Task, Ticket};
use crate::tui::keys::Command;
use crate::tui::modal::Modal;
use crate::tui::outcome::{Ctx, Outcome};
use crate::tui::steps::{ask, Drawn, Env, Mark, Room, Said, View};
use crate::tui::widgets::{draw_below, finding_line, spinner};
use crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::Frame;

mod bring_in;

pub const ACCOUNT: &str = "account";
pub const NEW_HANDLE: &str = "new_handle";
pub const CREATE_HANDLE: &str = "create_handle";
pub const CREATE_EMAIL: &str = "create_email";
pub const MIGRATE_FROM: &str = "migrate_from";
pub const MIGRATE_PASSWORD: &str = "migrate_password";
pub const MIGRATE_TOKEN: &str = "migrate_token";
const NONE_YET: &str = "(no accounts yet)";

/// The accounts as loaded: the same states as the Handle step's list.
pub use super::handle::Accounts as List;

/// What the step asks for in the background (the admin actions, one at a time).
#[derive(Debug, Clone)]
pub enum Job {
    List,
    Create {
        handle: String,
        email: String,
    },
    Invite,
    Reset {
        did: String,
        handle: String,
    },
    /// Does the new handle point at this account yet?
    Check {
        handle: Handle,
        did: String,
    },
    Move {
        did: String,
        from: String,
        handle: Handle,
    },
    /// Bring an account here (or go on with its move).
    Migrate(Box<crate::migrate::Request>, crate::secret::Secret),
}

#[derive(Debug)]
pub enum Done {
    Listed(Result<Vec<Account>, Finding>),
    Created(Result<Box<NewAccount>, Finding>),
    Invite(Result<String, Finding>),
    Reset(Result<(String, crate::pds::admin::PasswordSet), Finding>),
    Checked(Box<HandleReport>),
    Moved(Box<Moved>),
    /// One step of a migration, as it ran.
    MigrateStep(Finding),
    Migrated(Box<Result<crate::migrate::Outcome, crate::migrate::Stop>>),
}

/// What the step asks the operator.
#[derive(Debug, Clone)]
pub enum Question {
    Reset {
        did: String,
        handle: String,
    },
    Move {
        did: String,
        from: String,
        handle: Handle,
    },
    Migrate(Box<crate::migrate::Request>),
}

pub struct AccountsScreen {
    pub form: Form,
    pub list: List,
    /// One admin action at a time.
    pub pending: Option<Pending>,
    /// What the last action said.
    pub said: Vec<Finding>,
    /// The record to create for the new handle, when it does not verify yet.
    pub record: Option<crate::identity::dns::TxtRecord>,
    /// The new handle verified for the chosen account: the switch is offered.
    pub verified: Option<(String, String)>,
    /// The question open, if any.
    pub asking: Option<Question>,
}

impl Default for AccountsScreen {
    fn default() -> Self {
        Self::new()
    }
}

impl AccountsScreen {
    pub fn new() -> AccountsScreen {
        AccountsScreen {
            form: Form::new(vec![
                Field::new(
                    ACCOUNT,
                    "Account",
                    FieldKind::Choice(vec![NONE_YET.into()]),
                    NONE_YET,
                ),
                Field::new(NEW_HANDLE, "Move it to", FieldKind::Text, "").limit(253),
                Field::new(CREATE_HANDLE, "New account", FieldKind::Text, "").limit(253),
                Field::new(CREATE_EMAIL, "Its email", FieldKind::Text, "").limit(254),
            ]),
            list: List::NotLoaded,
            pending: None,
            said: vec![],
            record: None,
            verified: None,
            asking: None,
        }
    }

    pub fn load(&mut self, ctx: &mut Ctx) -> Said<Self> {
        let job = ctx.jobs.start();
        self.list = List::Loading(job.ticket);
        Outcome::effect(job.ticket, Job::List)
    }

    pub fn set_list(&mut self, r: Result<Vec<Account>, Finding>) {
        match r {
            Ok(list) => {
                let before = self.form.text(ACCOUNT);
                let mut choices: Vec<String> = list.iter().map(|a| a.handle.clone()).collect();
                if choices.is_empty() {
                    choices.push(NONE_YET.into());
                }
                let keep = choices.contains(&before).then_some(before);
                if let Some(f) = self.form.field_mut(ACCOUNT) {
                    f.kind = FieldKind::Choice(choices.clone());
                    f.set_text(keep.as_deref().unwrap_or(&choices[0]));
                }
                self.list = List::Loaded(list);
            }
            Err(f) => self.list = List::Failed(f),
        }
    }

    fn chosen(&self) -> Option<&Account> {
        let List::Loaded(list) = &self.list else {
            return None;
        };
        let h = self.form.text(ACCOUNT);
        list.iter().find(|a| a.handle == h)
    }

    pub fn accounts(&self) -> &[Account] {
        match &self.list {
            List::Loaded(l) => l,
            _ => &[],
        }
    }

    /// Each field's verdict (and, empty, what it is for).
    pub fn judge(&mut self, ctx: &Ctx) {
        let own = ctx
            .working
            .get("PDS_SERVICE_HANDLE_DOMAINS")
            .filter(|v| !v.trim().is_empty())
            .or_else(|| ctx.settings.hostname.as_ref().map(|h| format!(".{h}")))
            .unwrap_or_default();
        let first_own = own.split(',').next().unwrap_or("").trim().to_string();
        for f in &mut self.form.fields {
            let v = f.text();
            f.findings = match f.key {
                ACCOUNT => vec![],
                NEW_HANDLE if v.is_empty() => vec![Finding::info("a custom domain, e.g. name.example.com: its TXT record is shown, checked live (^T), then ^W switches")],
                CREATE_HANDLE if v.is_empty() => vec![Finding::info(format!("a handle under the PDS's domain, e.g. alice{first_own}; ^N creates it"))],
                CREATE_EMAIL if v.is_empty() => vec![Finding::info("the account's email (for password resets)")],
                MIGRATE_FROM if v.is_empty() => vec![Finding::info("an account on another PDS (handle or DID) to bring here as New account, with Its email; ^B")],
                MIGRATE_FROM => vec![match v.starts_with("did:") {
                    true => match crate::identity::Did::parse(&v) {
                        Ok(_) => Finding::pass("ok"),
                        Err(e) => Finding::fail(e.to_string()),
                    },
                    false => match Handle::parse(&v) {
                        Ok(_) => Finding::pass("ok"),
                        Err(e) => Finding::fail(e.to_string()),
                    },
                }],
                MIGRATE_PASSWORD => vec![Finding::info("its own password on the old PDS (not an app password); it stays its password here; kept nowhere")],
                MIGRATE_TOKEN => vec![Finding::info("the code the old PDS mails once the data is here (valid 15 minutes); then ^B")],
                CREATE_EMAIL => vec![match crate::envfile::catalogue::check_email(&v) {
                    Ok(()) => Finding::pass("ok"),
                    Err(e) => Finding::fail(e),
                }],
                _ => vec![match Handle::parse_usable(&v) {
                    Err(e) => Finding::fail(e.to_string()),
                    Ok(h) => {
                        let ours = crate::setup::accounts::under_own_domains(
                            Some(ctx.working),
                            ctx.settings.hostname.as_deref(),
                            &h,
                        );
                        let domains = crate::setup::accounts::own_domains(
                            Some(ctx.working),
                            ctx.settings.hostname.as_deref(),
                        );
                        // Under its own domains, the PDS's own rule for the name decides.
                        match (f.key, ours, crate::setup::accounts::service_handle_rule(&h, &domains)) {
                            (_, _, Some(Err(e))) => e,
                            (CREATE_HANDLE, false, _) => Finding::warn(format!(
                                "not under the PDS's domain ({own}): create it as name{first_own}, then move it here with the field above"
                            )),
                            (NEW_HANDLE, true, _) => Finding::pass("under the PDS's own domain: no record needed"),
                            _ => Finding::pass("ok"),
                        }
                    }
                }],
            };
        }
    }

    fn start(&mut self, ctx: &mut Ctx, job: Job, line: &str) -> Said<Self> {
        if self.pending.is_some() {
            return Outcome::Nothing;
        }
        let p = ctx.jobs.start();
        self.pending = Some(p);
        Outcome::Working(line.into(), vec![(p.ticket, job)])
    }

    /// Fold in an action's result (one awaited): what it said on the status line (never
    /// a password: those are in the pop-up), the pop-up, and the list again after a change.
    fn done(&mut self, d: Done, ctx: &mut Ctx) -> Said<Self> {
        self.pending = None;
        let mut modal = None;
        let mut reload = false;
        match d {
            Done::Created(Ok(made)) => {
                let handle = match *made {
                    NewAccount::Created(c) => {
                        self.said =
                            vec![Finding::pass(format!("Created {} ({})", c.handle, c.did))];
                        if let Some(code) = &c.invite {
                            self.said.push(Finding::info(format!(
                                "The PDS requires invite codes: {code} was made and used"
                            )));
                        }
                        modal = Some(shown_once(
                            &format!("{} is created", c.handle),
                            &format!(
                                "Handle: {}\nEmail:  {}\nDID:    {}\n",
                                c.handle, c.email, c.did
                            ),
                            &c.password,
                            &c.handle,
                            &ctx.settings.hostname,
                        ));
                        c.handle
                    }
                    // The password was made here: shown once all the same, with why.
                    NewAccount::Unknown { created: c, why } => {
                        self.said = vec![why.clone()];
                        modal = Some(shown_once(
                            &format!("{}: no answer in time", c.handle),
                            &format!(
                                "{}\n{}\n\nHandle: {}\nEmail:  {}\n",
                                why.what, why.fix, c.handle, c.email
                            ),
                            &c.password,
                            &c.handle,
                            &ctx.settings.hostname,
                        ));
                        c.handle
                    }
                    NewAccount::Found { handle, did, email } => {
                        self.said = vec![Finding::info(format!(
                            "{handle} ({did}) is already there with {email}: nothing was done"
                        ))
                        .why("An earlier create made it (perhaps one that got no answer in time); its password is the one shown then.")
                        .fix("Lost it? pick the account and reset its password")];
                        handle
                    }
                };
                if let Some(f) = self.form.field_mut(CREATE_HANDLE) {
                    f.set_text("");
                }
                if let Some(f) = self.form.field_mut(CREATE_EMAIL) {
                    f.set_text("");
                }
                if let Some(f) = self.form.field_mut(ACCOUNT) {
                    f.kind = FieldKind::Choice(vec![handle.clone()]);
                    f.set_text(&handle);
                }
                reload = true;
            }
            Done::Invite(Ok(code)) => {
                self.said = vec![Finding::pass(format!("Invite code (one account): {code}"))];
            }
            Done::Reset(Ok((handle, set))) => {
                let head = match &set.note {
                    Some(note) => {
                        self.said = vec![note.clone()];
                        format!("{}\n{}\n\n", note.what, note.fix)
                    }
                    None => {
                        self.said = vec![Finding::pass(format!("{handle} has a new password"))];
                        String::new()
                    }
                };
                modal = Some(shown_once(
                    &format!("{handle}'s new password"),
                    &head,
                    &set.password,
                    &handle,
                    &ctx.settings.hostname,
                ));
            }
            Done::Created(Err(f)) | Done::Invite(Err(f)) | Done::Reset(Err(f)) => {
                self.said = vec![f]
            }
            Done::Checked(r) => {
                let handle = r.handle.as_str().to_string();
                if r.points_at_did() {
                    self.verified = self.chosen().map(|a| (a.did.clone(), handle.clone()));
                    self.record = None;
                    self.said = vec![Finding::pass(format!(
                        "{handle} points at this account ({}): ^W switches to it",
                        if r.by_dns { "DNS TXT" } else { "HTTPS" }
                    ))];
                } else {
                    self.verified = None;
                    self.record = Some(r.record.clone());
                    self.said =
                        vec![
                            Finding::fail(format!("{handle} does not point at this account yet"))
                                .why(r.verdict()),
                        ];
                }
            }
            Done::Moved(m) => {
                reload = m.moved;
                if m.moved {
                    if let Some(f) = self.form.field_mut(NEW_HANDLE) {
                        f.set_text("");
                    }
                    if let Some(f) = self.form.field_mut(ACCOUNT) {
                        f.kind = FieldKind::Choice(vec![m.handle.clone()]);
                        f.set_text(&m.handle);
                    }
                    self.verified = None;
                }
                self.record = m.record.clone();
                self.said = m.steps.clone();
            }
            Done::Migrated(r) => {
                let (title, reloaded) = self.migrated(*r);
                reload = reloaded;
                // Every step in a pop-up that scrolls: more than the pane holds.
                let body: Vec<String> = self.said.iter().map(|f| f.to_string()).collect();
                modal = Some(Modal::Details {
                    title: format!(" {title} "),
                    body: format!("{}\n\nEnter closes.", body.join("\n")),
                    scroll: 0,
                });
            }
            Done::Listed(_) | Done::MigrateStep(_) => {}
        }
        self.judge(ctx);
        let mut said = match self.said.iter().max_by_key(|f| f.level) {
            Some(f) => Outcome::Status(f.level, f.what.clone()),
            None => Outcome::Nothing,
        };
        if let Some(m) = modal {
            said = said.and(Outcome::Open(m));
        }
        if reload {
            said = said.and(self.load(ctx));
        }
        said
    }
}

/// A generated password, in a pop-up only: never in the status line, a log or a file.
fn shown_once(
    title: &str,
    head: &str,
    password: &crate::secret::Secret,
    handle: &str,
    hostname: &Option<String>,
) -> Modal {
    let provider = match hostname {
        Some(h) => format!("https://{h}"),
        None => "this PDS".to_string(),
    };
    Modal::Details {
        title: format!(" {title} "),
        body: format!(
            "{head}Password: {}\n\nShown once: pds-wizard keeps it nowhere. Log in at https://bsky.app with {handle} and this password (hosting provider: {provider}).\n\nEnter closes.",
            password.expose()
        ),
        scroll: 0,
    }
}

impl Room for AccountsScreen {
    type Job = Job;
    type Done = Done;

    /// The list, loaded the first time (and again after it failed).
    fn on_open(&mut self, ctx: &mut Ctx) -> Said<Self> {
        match self.list {
            List::NotLoaded | List::Failed(_) => self.load(ctx),
            List::Loading(_) | List::Loaded(_) => Outcome::Nothing,
        }
    }

    fn on_command(&mut self, command: Option<Command>, k: KeyEvent, ctx: &mut Ctx) -> Said<Self> {
        match command {
            Some(Command::CreateAccount) => {
                let handle = self.form.text(CREATE_HANDLE);
                let email = self.form.text(CREATE_EMAIL);
                if let Err(e) = Handle::parse_usable(&handle) {
                    self.form.focus_key(CREATE_HANDLE);
                    return Outcome::fail(format!("The new account's handle: {e}"));
                }
                if let Err(e) = crate::envfile::catalogue::check_email(&email) {
                    self.form.focus_key(CREATE_EMAIL);
                    return Outcome::fail(format!("The new account's email: {e}"));
                }
                self.start(ctx, Job::Create { handle, email }, "Creating the account…")
            }
            Some(Command::MigrateIn) => self.migrate(ctx),
            Some(Command::Invite) => self.start(ctx, Job::Invite, "Making an invite code…"),
            Some(Command::ResetPassword) => match self.chosen() {
                Some(a) => {
                    let body = format!("{} ({}) gets a new password, shown once; the old one stops working at once.\n\ny: reset   n: not now", a.handle, a.did);
                    let q = Question::Reset {
                        did: a.did.clone(),
                        handle: a.handle.clone(),
                    };
                    ask(
                        &mut self.asking,
                        q,
                        " Give the account a new password? ",
                        body,
                        true,
                    )
                }
                None => Outcome::fail("Pick an account first (←→ on Account)."),
            },
            Some(Command::CheckNow) => {
                let Some(a) = self.chosen().cloned() else {
                    return Outcome::fail("Pick an account first (←→ on Account).");
                };
                match Handle::parse_usable(&self.form.text(NEW_HANDLE)) {
                    Ok(handle) => self.start(
                        ctx,
                        Job::Check { handle, did: a.did },
                        "Checking the new handle…",
                    ),
                    Err(e) => {
                        self.form.focus_key(NEW_HANDLE);
                        Outcome::fail(format!("The new handle: {e}"))
                    }
                }
            }
            Some(Command::WriteFile) => {
                let Some(a) = self.chosen().cloned() else {
                    return Outcome::fail("Pick an account first (←→ on Account).");
                };
                let handle = match Handle::parse_usable(&self.form.text(NEW_HANDLE)) {
                    Ok(h) => h,
                    Err(e) => return Outcome::fail(format!("The new handle: {e}")),
                };
                let ours = crate::setup::accounts::under_own_domains(
                    Some(ctx.working),
                    ctx.settings.hostname.as_deref(),
                    &handle,
                );
                let checked =
                    self.verified.as_ref() == Some(&(a.did.clone(), handle.as_str().to_string()));
                if !ours && !checked {
                    return Outcome::Status(Level::Warn, format!("Check {handle} first (^T): it must point at {} before the PDS takes it.", a.did));
                }
                let body = format!("{} becomes {handle}. The PDS updates the DID document and emits an identity event; the relays in PDS_CRAWLERS are asked to crawl. The old handle stops working.\n\ny: switch   n: not now", a.handle);
                let q = Question::Move {
                    did: a.did.clone(),
                    from: a.handle.clone(),
                    handle,
                };
                ask(&mut self.asking, q, " Switch the handle? ", body, true)
            }
            _ => {
                if let Some(key) = self.form.on_key(k) {
                    if key == ACCOUNT || key == NEW_HANDLE {
                        self.record = None;
                        self.verified = None;
                    }
                    self.judge(ctx);
                }
                Outcome::Nothing
            }
        }
    }

    fn awaits(&self, ticket: Ticket, done: &Done) -> bool {
        match done {
            Done::Listed(_) => matches!(self.list, List::Loading(l) if l == ticket),
            _ => is_current(&self.pending, ticket),
        }
    }

    fn on_result(&mut self, done: Done, ctx: &mut Ctx) -> Said<Self> {
        match done {
            Done::MigrateStep(f) => {
                self.said.push(f);
                Outcome::Nothing
            }
            Done::Listed(r) => {
                self.set_list(r);
                self.judge(ctx);
                Outcome::Nothing
            }
            d => self.done(d, ctx),
        }
    }

    fn on_answer(&mut self, yes: bool, ctx: &mut Ctx) -> Said<Self> {
        let Some(q) = self.asking.take() else {
            return Outcome::Nothing;
        };
        if !yes {
            return Outcome::Status(Level::Info, "Nothing done.".into());
        }
        match q {
            Question::Reset { did, handle } => self.start(
                ctx,
                Job::Reset { did, handle },
                "Giving the account a new password…",
            ),
            Question::Move { did, from, handle } => self.start(
                ctx,
                Job::Move { did, from, handle },
                "Switching the handle…",
            ),
            Question::Migrate(req) => {
                let password = crate::secret::Secret::new(self.form.text(MIGRATE_PASSWORD));
                self.said.clear();
                self.start(
                    ctx,
                    Job::Migrate(req, password),
                    "Bringing the account here…",
                )
            }
        }
    }

    fn run(job: Job, ctx: &Ctx) -> Task<Done> {
        let (settings, admin) = (ctx.settings.clone(), ctx.settings.admin());
        let working = ctx.working.clone();
        match job {
            Job::List => Task::future(async move { Done::Listed(admin.accounts().await) }),
            Job::Create { handle, email } => Task::future(async move {
                Done::Created(match Handle::parse(&handle) {
                    Ok(h) => crate::setup::accounts::create_account(
                        &settings,
                        Some(&working),
                        &h,
                        &email,
                        None,
                    )
                    .await
                    .map(Box::new),
                    Err(e) => Err(Finding::fail(e.to_string())),
                })
            }),
            Job::Invite => Task::future(async move { Done::Invite(admin.invite(1).await) }),
            Job::Migrate(req, password) => Task::Stream(Box::new(move |each| {
                Box::pin(async move {
                    let mut say = |f: Finding| each(Done::MigrateStep(f));
                    let r = crate::migrate::migrate_in(
                        &settings,
                        Some(&working),
                        &req,
                        &password,
                        &mut say,
                    )
                    .await;
                    Done::Migrated(Box::new(r))
                })
            })),
            Job::Reset { did, handle } => Task::future(async move {
                Done::Reset(admin.reset_password(&did, None).await.map(|p| (handle, p)))
            }),
            Job::Check { handle, did } => Task::future(async move {
                match crate::identity::Did::parse(&did) {
                    Ok(d) => Done::Checked(Box::new(
                        crate::identity::verify(&handle, &d, &settings.verify_options()).await,
                    )),
                    Err(e) => Done::Moved(Box::new(Moved {
                        did,
                        from: String::new(),
                        handle: handle.as_str().to_string(),
                        steps: vec![Finding::fail(e.to_string())],
                        moved: false,
                        record: None,
                    })),
                }
            }),
            Job::Move { did, from, handle } => Task::future(async move {
                Done::Moved(Box::new(
                    crate::setup::accounts::move_handle(
                        &settings,
                        Some(&working),
                        &did,
                        &from,
                        &handle,
                    )
                    .await,
                ))
            }),
        }
    }
}

impl Drawn for AccountsScreen {
    fn draw(&self, frame: &mut Frame, area: Rect, view: &View) {
        let (theme, tick, focused) = (view.theme, view.spinner, view.focused);
        let y = self.form.draw(frame, area, theme, focused, &|_| false);
        let mut lines: Vec<Line> = Vec::new();
        match &self.list {
            List::NotLoaded | List::Loading(_) => lines.push(Line::from(format!(
                "{} loading the accounts…",
                spinner(tick)
            ))),
            List::Failed(f) => lines.push(finding_line(f, theme)),
            List::Loaded(list) => {
                let n = list.len();
                let line = match self.chosen() {
                    Some(a) => format!(
                        "{n} account{}; {}: {} ({})",
                        if n == 1 { "" } else { "s" },
                        a.handle,
                        a.did,
                        if a.active {
                            "active".into()
                        } else {
                            a.status.clone().unwrap_or_else(|| "not active".into())
                        }
                    ),
                    None => "No accounts yet: fill in New account and its email, then ^N.".into(),
                };
                lines.push(Line::from(Span::styled(line, theme.dim)));
            }
        }
        if !self.bringing_in() && self.pending.is_none() {
            lines.push(Line::from(Span::styled(
                "^B brings an account here from another PDS (bsky.social…)",
                theme.dim,
            )));
        }
        if let Some(p) = &self.pending {
            lines.push(Line::from(format!(
                "{} working… {} s",
                spinner(tick),
                p.since.elapsed().as_secs()
            )));
        }
        // A migration says many steps: the latest that fit.
        let skip = self.said.len().saturating_sub(12);
        if skip > 0 {
            lines.push(Line::from(Span::styled(
                format!("… {skip} earlier step(s)"),
                theme.dim,
            )));
        }
        for f in &self.said[skip..] {
            lines.push(finding_line(f, theme));
        }
        if let Some(r) = &self.record {
            lines.push(Line::from(Span::styled(
                "Create this record (then ^T):",
                theme.dim,
            )));
            lines.push(Line::from(format!("  {} TXT {}", r.full_name, r.value)));
        }
        if focused {
            let f = self.form.focused_field();
            if let Some(x) = f.findings.iter().max_by_key(|x| x.level) {
                if x.level != Level::Pass {
                    lines.push(finding_line(x, theme));
                }
            }
        }
        draw_below(frame, area, y, lines);
    }

    fn mark(&self, _env: &Env) -> Mark {
        match self.accounts().is_empty() {
            false => Mark::Done,
            true => Mark::Open,
        }
    }

    fn busy(&self) -> bool {
        self.pending.is_some() || matches!(self.list, List::Loading(_))
    }
}

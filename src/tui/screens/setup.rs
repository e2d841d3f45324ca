//! First setup's three steps: Overview (every milestone, checked live, Enter goes to the
//! step that gets it done), Server (this machine's addresses and its two records, checked
//! live; how the PDS runs; the installer's files written after a diff and the PDS started)
//! and Accounts (list, create with an invite when one is needed, reset a password, move an
//! account onto a custom-domain handle once it verifies, and announce it).

use crate::addresses::{self, Scope};
use crate::finding::{Finding, Level};
use crate::identity::Handle;
use crate::pds::accounts::Account;
use crate::pds::service::{self, Docker, Front, PlannedFile, Running};
use crate::setup::accounts::NewAccount;
use crate::setup::{Milestone, Overview, State};
use crate::tui::form::{Field, FieldKind, Form};
use crate::tui::jobs::Pending;
use crate::tui::keys::Command;
use crate::tui::modal::{Confirmed, Modal};
use crate::tui::msg::{Done, Effect, Job};
use crate::tui::outcome::{Ctx, Outcome};
use crate::tui::theme::Theme;
use crate::tui::widgets::{draw_below, finding_line, level_icon, level_style, spinner};
use crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;
use std::net::IpAddr;

// ---------------------------------------------------------------------------------------
// Overview

#[derive(Default)]
pub struct OverviewScreen {
    pub pending: Option<Pending>,
    pub overview: Option<Box<Overview>>,
    pub chosen: usize,
}

fn mark(state: State) -> (&'static str, Level) {
    match state {
        State::Done => ("✓", Level::Pass),
        State::DoneWithWarnings => ("!", Level::Warn),
        State::Todo => ("✗", Level::Fail),
        State::Waiting => ("·", Level::Info),
    }
}

impl OverviewScreen {
    pub fn start(&mut self, ctx: &mut Ctx) -> Effect {
        let job = ctx.jobs.start();
        self.pending = Some(job);
        Effect::Setup(job.ticket, Job::Overview)
    }

    pub fn done(&mut self, o: Box<Overview>) {
        self.pending = None;
        // The first milestone not reached is where the operator goes next.
        self.chosen = o.milestones.iter().position(|m| !m.done()).unwrap_or(0);
        self.overview = Some(o);
    }

    fn chosen(&self) -> Option<&Milestone> {
        self.overview.as_ref()?.milestones.get(self.chosen)
    }

    pub fn all_done(&self) -> bool {
        self.overview.as_ref().is_some_and(|o| o.all_done())
    }

    pub fn worst(&self) -> Option<State> {
        let o = self.overview.as_ref()?;
        Some(if o.all_done() {
            State::Done
        } else if o.milestones.iter().any(|m| m.state == State::Todo) {
            State::Todo
        } else {
            State::Waiting
        })
    }

    pub fn on_command(&mut self, command: Option<Command>, ctx: &mut Ctx) -> Outcome {
        let n = self.overview.as_ref().map_or(0, |o| o.milestones.len());
        match command {
            Some(Command::CheckUp) if n > 0 => self.chosen = (self.chosen + n - 1) % n,
            Some(Command::CheckDown) if n > 0 => self.chosen = (self.chosen + 1) % n,
            Some(Command::RerunAll) if self.pending.is_none() => {
                return Outcome::Working("Checking every milestone…".into(), vec![self.start(ctx)])
            }
            Some(Command::GoFix) => {
                let Some(m) = self.chosen() else {
                    return Outcome::Nothing;
                };
                let Some(target) = m.target else {
                    return Outcome::Status(
                        Level::Info,
                        m.fix.clone().unwrap_or_else(|| m.said.clone()),
                    );
                };
                let said = match (&m.fix, m.done()) {
                    (_, true) => None,
                    (Some(f), false) => {
                        Some((Level::Warn, format!("{}: {} — Fix: {f}", m.title, m.said)))
                    }
                    (None, false) => Some((Level::Warn, format!("{}: {}", m.title, m.said))),
                };
                return Outcome::GoTo {
                    target,
                    subject: m.subject.clone(),
                    said,
                };
            }
            _ => {}
        }
        Outcome::Nothing
    }

    pub fn draw(&self, frame: &mut Frame, area: Rect, theme: &Theme, tick: usize, focused: bool) {
        let mut lines: Vec<Line> = Vec::new();
        match (&self.overview, &self.pending) {
            (None, _) => lines.push(Line::from(format!(
                "{} checking every milestone…",
                spinner(tick)
            ))),
            (Some(o), pending) => {
                if pending.is_some() {
                    lines.push(Line::from(Span::styled(
                        format!("{} checking again…", spinner(tick)),
                        theme.dim,
                    )));
                }
                for (i, m) in o.milestones.iter().enumerate() {
                    let (icon, level) = mark(m.state);
                    let pointer = if focused && i == self.chosen {
                        "›"
                    } else {
                        " "
                    };
                    lines.push(Line::from(vec![
                        Span::raw(pointer),
                        Span::styled(format!("{icon} "), level_style(level, theme)),
                        Span::styled(
                            m.title.clone(),
                            if focused && i == self.chosen {
                                theme.selected
                            } else {
                                level_style(level, theme)
                            },
                        ),
                    ]));
                }
                lines.push(Line::from(""));
                if let Some(m) = self.chosen() {
                    let (_, level) = mark(m.state);
                    lines.push(Line::from(Span::styled(
                        crate::secret::scrub(&m.said),
                        level_style(level, theme),
                    )));
                    if let (Some(f), false) = (&m.fix, m.done()) {
                        lines.push(Line::from(Span::styled(
                            format!("Fix: {}", crate::secret::scrub(f)),
                            theme.dim,
                        )));
                    }
                    lines.push(Line::from(""));
                }
                let style = if o.all_done() {
                    theme.pass
                } else {
                    theme.title
                };
                lines.push(Line::from(Span::styled(o.next(), style)));
            }
        }
        frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), area);
    }
}

// ---------------------------------------------------------------------------------------
// Server

pub const FRONT: &str = "front";
pub const BIND: &str = "bind";
pub const UNIT_DIR: &str = "unit_dir";
const CADDY: &str = "the installer's Caddy";
const OWN: &str = "my own proxy";

pub struct ServerScreen {
    pub form: Form,
    pub checking: Option<Pending>,
    /// Writing the service files, while it runs.
    pub writing: Option<Pending>,
    pub plan: Option<Box<addresses::Plan>>,
    pub running: Option<Running>,
    pub docker: Option<Docker>,
    pub starting: Option<Pending>,
    pub progress: Option<String>,
    /// What writing or starting said last.
    pub said: Option<(Level, String)>,
    /// Whether the PDS answered after the last start (None: not started here): a unit
    /// that is active while the PDS does not answer is not shown as running well.
    pub answered: Option<bool>,
    /// --demo: the sandbox the files go under (said on top; nothing is started).
    pub sandbox: Option<std::path::PathBuf>,
}

impl ServerScreen {
    pub fn new(unit_dir: &str) -> ServerScreen {
        let mut s = ServerScreen {
            form: Form::new(vec![
                Field::new(
                    FRONT,
                    "In front",
                    FieldKind::Choice(vec![CADDY.into(), OWN.into()]),
                    CADDY,
                ),
                Field::new(BIND, "Publish PDS on", FieldKind::Text, "127.0.0.1"),
                Field::new(UNIT_DIR, "Unit directory", FieldKind::Text, unit_dir),
            ]),
            checking: None,
            writing: None,
            plan: None,
            running: None,
            docker: None,
            starting: None,
            progress: None,
            said: None,
            answered: None,
            sandbox: None,
        };
        s.judge();
        s
    }

    fn judge(&mut self) {
        let own = self.form.text(FRONT) == OWN;
        for f in &mut self.form.fields {
            let v = f.text();
            f.findings = vec![match f.key {
                FRONT if own => Finding::pass("nginx or another proxy of yours serves HTTPS; the PDS is published on the address below only"),
                FRONT => Finding::pass("Caddy gets certificates for HOST and *.HOST on demand (the official install)"),
                BIND if !own => Finding::info("used with your own proxy"),
                BIND => match v.parse::<IpAddr>() {
                    Ok(ip) if ip.is_unspecified() => Finding::warn("every address: the PDS can be reached past your proxy"),
                    Ok(ip) if addresses::scope(ip) == Some(Scope::Public) => Finding::warn(format!("{ip} is public: the PDS can be reached past your proxy")),
                    Ok(_) => Finding::pass("ok"),
                    Err(_) => Finding::fail(format!("{v:?} is not an IP address (127.0.0.1, or a private address such as a Tailscale IP)")),
                },
                _ if !v.starts_with('/') => Finding::fail(format!("{v:?} is not an absolute path")),
                _ => Finding::pass("ok"),
            }];
        }
    }

    pub fn check(&mut self, ctx: &mut Ctx) -> Effect {
        let job = ctx.jobs.start();
        self.checking = Some(job);
        Effect::Setup(job.ticket, Job::Server)
    }

    pub fn busy(&self) -> bool {
        self.checking.is_some() || self.writing.is_some() || self.starting.is_some()
    }

    /// The service plan the form describes, for pds.env as it will be saved.
    fn plan_for(&self, ctx: &Ctx) -> Result<service::Plan, String> {
        let w = ctx.working;
        let front = if self.form.text(FRONT) == OWN {
            let bind = self.form.text(BIND).parse().map_err(|_| {
                "the address to publish the PDS on is not an IP address".to_string()
            })?;
            Front::OwnProxy { bind }
        } else {
            Front::Caddy {
                admin_email: service::caddy_email(w.get("PDS_CONTACT_EMAIL_ADDRESS").as_deref())
                    .map_err(|e| format!("{e} (the contact email in Basics)"))?,
            }
        };
        let unit_dir = self.form.text(UNIT_DIR);
        if !unit_dir.starts_with('/') {
            return Err("the unit directory is not an absolute path".into());
        }
        let flags = &ctx.settings.flags;
        let mut plan = service::Plan::new(
            w,
            &ctx.settings.env_file,
            front,
            &flags.place(std::path::Path::new(&unit_dir)),
            ctx.settings.http.timeout,
        )?;
        // In the demo, the data directory (/pds) is the sandbox's too.
        plan.data_dir = flags.place(&plan.data_dir);
        Ok(plan)
    }

    pub fn on_command(&mut self, command: Option<Command>, k: KeyEvent, ctx: &mut Ctx) -> Outcome {
        match command {
            Some(Command::CheckNow) if self.checking.is_none() => Outcome::Working(
                "Looking at this server again…".into(),
                vec![self.check(ctx)],
            ),
            Some(Command::WriteFile) => {
                let Some(host) = ctx.settings.hostname.clone() else {
                    return Outcome::fail("PDS_HOSTNAME is not set (Basics)");
                };
                match self.plan_for(ctx) {
                    Ok(plan) => {
                        let files = match plan.files(&host) {
                            Ok(f) => f,
                            Err(e) => return Outcome::fail(format!("{e}; nothing was written")),
                        };
                        if files.iter().all(|f| !f.changed()) {
                            return Outcome::Status(Level::Pass, "compose.yaml and pds.service are already as they should be: nothing to write.".into());
                        }
                        Outcome::Open(Modal::Confirm {
                            title: " Write the service files? ".into(),
                            body: service_diff_body(&files),
                            then: Confirmed::WriteService(files),
                        })
                    }
                    Err(e) => Outcome::fail(e),
                }
            }
            // The PDS runs in Docker: without it, say how to install it now, not fail later.
            Some(Command::StartService)
                if ctx.settings.flags.restart_command.is_none()
                    && ctx.settings.flags.sandbox.is_none()
                    && matches!(self.docker, Some(Docker::Missing | Docker::NoEngine { .. })) =>
            {
                Outcome::Open(Modal::Details {
                    title: " Docker is needed first ".into(),
                    body: docker_needed(self.docker.as_ref()),
                    scroll: 0,
                })
            }
            Some(Command::StartService) if self.starting.is_none() => match self.plan_for(ctx) {
                Ok(plan) => {
                    let cmds = service::start_commands(
                        ctx.settings.flags.restart_command.as_deref(),
                        &plan,
                    );
                    let shown: Vec<String> = cmds.iter().map(|c| crate::pds::shown(c)).collect();
                    let runs = match ctx.settings.flags.sandbox {
                        Some(_) => "This is the demo: nothing is started on this machine. On a server this runs",
                        None => "This runs",
                    };
                    Outcome::Open(Modal::Confirm {
                        title: " Start the PDS? ".into(),
                        body: format!(
                            "{runs}:\n\n  {}\n\nthen waits until {}/xrpc/_health answers (the first start pulls the image: a minute or two).\n\ny: start   n: not now",
                            shown.join("\n  "),
                            ctx.settings.local_url
                        ),
                        then: Confirmed::StartService(Box::new(plan)),
                    })
                }
                Err(e) => Outcome::fail(e),
            },
            Some(Command::CheckNow) | Some(Command::StartService) => Outcome::Nothing,
            _ => {
                if self.form.on_key(k).is_some() {
                    self.judge();
                }
                Outcome::Nothing
            }
        }
    }

    pub fn draw(&self, frame: &mut Frame, area: Rect, theme: &Theme, tick: usize, focused: bool) {
        let y = self.form.draw(frame, area, theme, focused, &|_| false);
        let mut lines: Vec<Line> = Vec::new();
        if let Some(root) = &self.sandbox {
            lines.push(Line::from(Span::styled(
                format!(
                    "Demo: files go under {}; nothing is started on this machine",
                    root.display()
                ),
                theme.warn,
            )));
        }
        if self.checking.is_some() && self.plan.is_none() {
            lines.push(Line::from(format!(
                "{} looking at this server…",
                spinner(tick)
            )));
        }
        // What the last action did and how the PDS runs come first (a small screen cuts
        // the bottom); then where the server is and its records.
        if let Some(p) = &self.progress {
            lines.push(Line::from(format!("{} {p}", spinner(tick))));
        }
        if let Some((level, s)) = &self.said {
            lines.push(Line::from(Span::styled(
                format!("{} {}", level_icon(*level), crate::secret::scrub(s)),
                level_style(*level, theme),
            )));
        }
        if let Some(r) = &self.running {
            let (icon, level, but) = match (r.is_up(), self.answered) {
                (true, Some(false)) => (
                    "!",
                    Level::Warn,
                    " But the PDS does not answer (above): its log says why.",
                ),
                (true, _) => ("✓", Level::Pass, ""),
                (false, _) => ("·", Level::Info, ""),
            };
            lines.push(Line::from(Span::styled(
                format!("{icon} {}{but}", r.describe()),
                level_style(level, theme),
            )));
            if *r == Running::Nothing {
                match &self.docker {
                    Some(Docker::Missing) => lines.push(Line::from(Span::styled(
                        "! Docker is not installed: ^G says how to install it",
                        theme.warn,
                    ))),
                    Some(Docker::NoEngine { .. }) => lines.push(Line::from(Span::styled(
                        "! Docker's engine does not answer: sudo systemctl enable --now docker",
                        theme.warn,
                    ))),
                    _ => {}
                }
            }
        }
        if let Some(p) = &self.plan {
            let mine: Vec<String> = p
                .machine
                .iter()
                .map(|m| match m.scope {
                    Scope::Public => format!("{} ({})", m.ip, m.interface),
                    Scope::Private => format!("{} ({}, private)", m.ip, m.interface),
                })
                .collect();
            lines.push(Line::from(format!(
                "This server: {}",
                if mine.is_empty() {
                    "no address but loopback".into()
                } else {
                    mine.join(", ")
                }
            )));
            if let Some(ip) = p.echoed {
                lines.push(Line::from(format!("As the internet sees it: {ip}")));
            }
            // Once both point here, the verdicts say it all.
            if !p.ready() && !p.records.is_empty() {
                lines.push(Line::from(Span::styled(
                    "Create at your DNS provider:",
                    theme.dim,
                )));
                for r in &p.records {
                    lines.push(Line::from(format!("  {}", r.line())));
                }
            }
            for f in addresses::findings(p) {
                lines.push(finding_line(&f, theme));
            }
        }
        draw_below(frame, area, y, lines);
    }
}

/// How to get Docker running, the official installer's way.
fn docker_needed(docker: Option<&Docker>) -> String {
    match docker {
        Some(Docker::NoEngine { detail }) => format!(
            "Docker is installed, but its engine does not answer ({detail}).\n\nStart it:\n\n  sudo systemctl enable --now docker\n\nthen ^T here, and ^G again. (Or run pds-wizard with sudo.)\n\nEnter closes."
        ),
        _ => {
            let os = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
            format!(
                "The PDS runs in Docker, which is not installed. Install it as the official installer does (Docker's own apt repository):\n\n  {}\n\nthen ^T here, and ^G again.\n\nEnter closes.",
                service::docker_install_steps(&os).join("\n  ")
            )
        }
    }
}

fn service_diff_body(files: &[PlannedFile]) -> String {
    let mut body = String::new();
    for f in files {
        match (f.existed, f.diff.is_empty()) {
            (_, true) => body.push_str(&format!("{}: unchanged\n", f.path.display())),
            (false, false) => body.push_str(&format!(
                "{} (new, {} lines)\n",
                f.path.display(),
                f.diff.len()
            )),
            (true, false) => {
                body.push_str(&format!(
                    "{} (yours, merged; the old one is kept as a backup):\n",
                    f.path.display()
                ));
                for n in &f.notes {
                    body.push_str(&format!("  · {n}\n"));
                }
                for l in f.diff.iter().take(12) {
                    body.push_str(&format!("  {l}\n"));
                }
            }
        }
    }
    body.push_str("\nEach is checked first by docker compose config, systemd-analyze verify and Caddy where installed.\n\ny: write   n: not now");
    body
}

// ---------------------------------------------------------------------------------------
// Accounts

pub const ACCOUNT: &str = "account";
pub const NEW_HANDLE: &str = "new_handle";
pub const CREATE_HANDLE: &str = "create_handle";
pub const CREATE_EMAIL: &str = "create_email";
const NONE_YET: &str = "(no accounts yet)";

/// The accounts as loaded: the same states as the Handle step's list.
pub use super::handle::Accounts as List;

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
        }
    }

    pub fn load(&mut self, ctx: &mut Ctx) -> Effect {
        let job = ctx.jobs.start();
        self.list = List::Loading(job.ticket);
        Effect::Setup(job.ticket, Job::LoadAccounts)
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

    fn start(&mut self, ctx: &mut Ctx, job: Job, line: &str) -> Outcome {
        if self.pending.is_some() {
            return Outcome::Nothing;
        }
        let p = ctx.jobs.start();
        self.pending = Some(p);
        Outcome::Working(line.into(), vec![Effect::Setup(p.ticket, job)])
    }

    pub fn on_command(&mut self, command: Option<Command>, k: KeyEvent, ctx: &mut Ctx) -> Outcome {
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
            Some(Command::Invite) => self.start(ctx, Job::Invite, "Making an invite code…"),
            Some(Command::ResetPassword) => match self.chosen() {
                Some(a) => Outcome::Open(Modal::Confirm {
                    title: " Give the account a new password? ".into(),
                    body: format!("{} ({}) gets a new password, shown once; the old one stops working at once.\n\ny: reset   n: not now", a.handle, a.did),
                    then: Confirmed::ResetPassword { did: a.did.clone(), handle: a.handle.clone() },
                }),
                None => Outcome::fail("Pick an account first (←→ on Account)."),
            },
            Some(Command::CheckNow) => {
                let Some(a) = self.chosen().cloned() else {
                    return Outcome::fail("Pick an account first (←→ on Account).");
                };
                match Handle::parse_usable(&self.form.text(NEW_HANDLE)) {
                    Ok(handle) => self.start(ctx, Job::CheckHandle { handle, did: a.did }, "Checking the new handle…"),
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
                let ours = crate::setup::accounts::under_own_domains(Some(ctx.working), ctx.settings.hostname.as_deref(), &handle);
                let checked = self.verified.as_ref() == Some(&(a.did.clone(), handle.as_str().to_string()));
                if !ours && !checked {
                    return Outcome::Status(Level::Warn, format!("Check {handle} first (^T): it must point at {} before the PDS takes it.", a.did));
                }
                Outcome::Open(Modal::Confirm {
                    title: " Switch the handle? ".into(),
                    body: format!("{} becomes {handle}. The PDS updates the DID document and emits an identity event; the relays in PDS_CRAWLERS are asked to crawl. The old handle stops working.\n\ny: switch   n: not now", a.handle),
                    then: Confirmed::MoveHandle { did: a.did.clone(), from: a.handle.clone(), handle },
                })
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

    /// Fold in an action's result (its ticket already matched).
    pub fn done(&mut self, d: Done, ctx: &mut Ctx) -> (Vec<Effect>, Option<Modal>) {
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
            _ => {}
        }
        self.judge(ctx);
        let effects = if reload { vec![self.load(ctx)] } else { vec![] };
        (effects, modal)
    }

    pub fn draw(&self, frame: &mut Frame, area: Rect, theme: &Theme, tick: usize, focused: bool) {
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
        if let Some(p) = &self.pending {
            lines.push(Line::from(format!(
                "{} working… {} s",
                spinner(tick),
                p.since.elapsed().as_secs()
            )));
        }
        for f in &self.said {
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

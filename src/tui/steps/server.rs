//! Server: this machine's addresses and its two records, checked live; how the PDS runs;
//! the installer's files written after a diff, and the PDS started.

use crate::addresses::{self, Scope};
use crate::finding::{Finding, Level};
use crate::pds::service::{self, Docker, Front, PlannedFile, Running};
use crate::tui::form::{Field, FieldKind, Form};
use crate::tui::jobs::{is_current, Pending, Task, Ticket};
use crate::tui::keys::Command;
use crate::tui::modal::Modal;
use crate::tui::outcome::{Ctx, Outcome};
use crate::tui::steps::{ask, Drawn, Env, Mark, Room, Said, View};
use crate::tui::widgets::{draw_below, finding_line, level_icon, level_style, spinner};
use crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::Frame;
use std::net::IpAddr;

pub const FRONT: &str = "front";
pub const BIND: &str = "bind";
pub const UNIT_DIR: &str = "unit_dir";
const CADDY: &str = "the installer's Caddy";
const OWN: &str = "my own proxy";

/// What the step asks for in the background.
#[derive(Debug, Clone)]
pub enum Job {
    /// Addresses, records and the service, looked at again.
    Look,
    /// Write the service files (each checked by its own tool first).
    Write(Vec<PlannedFile>),
    /// Start the PDS and wait until it answers.
    Start(Box<service::Plan>),
}

#[derive(Debug)]
pub enum Done {
    Looked {
        plan: Option<Box<addresses::Plan>>,
        running: Running,
        docker: Docker,
    },
    Written(Result<Vec<String>, String>),
    /// While the PDS starts: how long, and why it does not answer yet.
    Progress(String),
    Started(Result<String, String>),
}

/// What the step asks the operator.
#[derive(Debug, Clone)]
pub enum Question {
    Write(Vec<PlannedFile>),
    Start(Box<service::Plan>),
}

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
    /// The question open, if any.
    pub asking: Option<Question>,
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
            asking: None,
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

    pub fn check(&mut self, ctx: &mut Ctx) -> Said<Self> {
        let job = ctx.jobs.start();
        self.checking = Some(job);
        Outcome::effect(job.ticket, Job::Look)
    }

    /// Writing or starting is over: said, and the server looked at again (a unit may be
    /// active while the PDS fails).
    fn over(&mut self, r: Result<String, String>, ctx: &mut Ctx) -> Said<Self> {
        self.said = Some(match r {
            Ok(s) => (Level::Pass, s),
            Err(e) => (Level::Fail, e),
        });
        let (level, line) = self.said.clone().unwrap_or((Level::Info, String::new()));
        Outcome::Status(level, line).and(self.check(ctx))
    }

    pub fn waiting(&self) -> bool {
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

impl Room for ServerScreen {
    type Job = Job;
    type Done = Done;

    /// Looked at the first time it is opened.
    fn on_open(&mut self, ctx: &mut Ctx) -> Said<Self> {
        match self.plan.is_none() && self.checking.is_none() {
            true => self.check(ctx),
            false => Outcome::Nothing,
        }
    }

    fn on_command(&mut self, command: Option<Command>, k: KeyEvent, ctx: &mut Ctx) -> Said<Self> {
        match command {
            Some(Command::CheckNow) if self.checking.is_none() => match self.check(ctx) {
                Outcome::Effects(jobs) => {
                    Outcome::Working("Looking at this server again…".into(), jobs)
                }
                other => other,
            },
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
                        let body = service_diff_body(&files);
                        ask(
                            &mut self.asking,
                            Question::Write(files),
                            " Write the service files? ",
                            body,
                            true,
                        )
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
                    let body = format!(
                        "{runs}:\n\n  {}\n\nthen waits until {}/xrpc/_health answers (the first start pulls the image: a minute or two).\n\ny: start   n: not now",
                        shown.join("\n  "),
                        ctx.settings.local_url
                    );
                    ask(
                        &mut self.asking,
                        Question::Start(Box::new(plan)),
                        " Start the PDS? ",
                        body,
                        true,
                    )
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

    fn awaits(&self, ticket: Ticket, done: &Done) -> bool {
        match done {
            Done::Looked { .. } => is_current(&self.checking, ticket),
            Done::Written(_) => is_current(&self.writing, ticket),
            Done::Progress(_) | Done::Started(_) => is_current(&self.starting, ticket),
        }
    }

    fn on_result(&mut self, done: Done, ctx: &mut Ctx) -> Said<Self> {
        match done {
            Done::Looked {
                plan,
                running,
                docker,
            } => {
                self.checking = None;
                self.plan = plan;
                self.running = Some(running);
                self.docker = Some(docker);
                Outcome::Nothing
            }
            Done::Progress(p) => {
                self.progress = Some(p);
                Outcome::Nothing
            }
            Done::Written(r) => {
                self.writing = None;
                // "Writing the service files…" is over: the status line says how it went.
                self.over(r.map(|lines| lines.join("; ")), ctx)
            }
            Done::Started(r) => {
                self.starting = None;
                self.progress = None;
                self.answered = Some(r.is_ok());
                self.over(r, ctx)
            }
        }
    }

    fn on_answer(&mut self, yes: bool, ctx: &mut Ctx) -> Said<Self> {
        let Some(q) = self.asking.take() else {
            return Outcome::Nothing;
        };
        if !yes {
            return Outcome::Status(Level::Info, "Nothing done.".into());
        }
        let job = ctx.jobs.start();
        match q {
            Question::Write(files) => {
                self.writing = Some(job);
                Outcome::Working(
                    "Writing the service files…".into(),
                    vec![(job.ticket, Job::Write(files))],
                )
            }
            Question::Start(plan) => {
                self.starting = Some(job);
                self.said = None;
                self.progress = Some("starting the PDS…".into());
                Outcome::Working(
                    "Starting the PDS…".into(),
                    vec![(job.ticket, Job::Start(plan))],
                )
            }
        }
    }

    fn run(job: Job, ctx: &Ctx) -> Task<Done> {
        let settings = ctx.settings.clone();
        let timeout = settings.http.timeout;
        match job {
            Job::Look => {
                let port = service::pds_port(ctx.working);
                Task::future(async move {
                    let plan = match &settings.hostname {
                        Some(h) => Some(Box::new(
                            addresses::plan(h, settings.flags.ip_echo.as_deref(), &settings.dns)
                                .await,
                        )),
                        None => None,
                    };
                    let (running, docker) = tokio::task::spawn_blocking(move || {
                        (service::detect(port, timeout), service::docker(timeout))
                    })
                    .await
                    .unwrap_or((Running::Nothing, Docker::Missing));
                    Done::Looked {
                        plan,
                        running,
                        docker,
                    }
                })
            }
            Job::Write(files) => Task::blocking(move || {
                Done::Written(service::write_validated(&files, timeout).map(|written| {
                    written
                        .iter()
                        .map(|r| format!("Wrote {}", r.describe()))
                        .collect()
                }))
            }),
            // The demo starts nothing on this machine; its PDS stand-in already runs.
            Job::Start(plan) if settings.flags.sandbox.is_some() => {
                let commands = service::start_commands(None, &plan);
                Task::Now(Done::Started(Ok(format!(
                    "Demo: nothing was started (on a server this runs: {}).",
                    commands
                        .iter()
                        .map(|c| c.join(" "))
                        .collect::<Vec<_>>()
                        .join(", then ")
                ))))
            }
            Job::Start(plan) => {
                let restart = settings.flags.restart_command.clone();
                let local = settings.local_url.clone();
                Task::Stream(Box::new(move |each| {
                    Box::pin(async move {
                        let commands = service::start_commands(restart.as_deref(), &plan);
                        // The first start pulls the image: the commands get the whole wait.
                        let wait = std::time::Duration::from_secs(180);
                        let started = service::start_and_wait(
                            &commands,
                            &local,
                            wait,
                            timeout,
                            |elapsed, why| {
                                each(Done::Progress(format!(
                                    "waiting for the PDS: {} s ({why})",
                                    elapsed.as_secs()
                                )))
                            },
                        )
                        .await;
                        Done::Started(match started {
                            service::Started::Failed(e) => Err(e),
                            service::Started::Up { version } => Ok(format!(
                                "The PDS answers at {local} (version {}).",
                                version.as_deref().unwrap_or("not given")
                            )),
                            service::Started::NotYet { reason } => Err(format!(
                                "The PDS did not answer at {local} within {} s: {reason}",
                                wait.as_secs()
                            )),
                        })
                    })
                }))
            }
        }
    }
}

impl Drawn for ServerScreen {
    fn draw(&self, frame: &mut Frame, area: Rect, view: &View) {
        let (theme, tick, focused) = (view.theme, view.spinner, view.focused);
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

    fn mark(&self, _env: &Env) -> Mark {
        match (&self.plan, &self.running) {
            (Some(p), Some(r)) if p.ready() && r.is_up() => Mark::Done,
            (Some(p), _) if !p.ready() => Mark::Attention,
            _ => Mark::Open,
        }
    }

    fn busy(&self) -> bool {
        self.waiting()
    }
}

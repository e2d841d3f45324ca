//! Reverse proxy: choose the server, upstream, TLS and domains; the config is rendered as
//! you type (Ctrl-P shows it, highlighted), checked by the server's own validator (Ctrl-V),
//! and written after a diff (Ctrl-W). Reloading is offered, never done unasked. Its jobs,
//! their results and its questions are in `room.rs`.

mod room;
pub use room::{Done, Job, Question};

use crate::envfile::Document;
use crate::finding::{worst, Finding, Level};
use crate::proxy::install::{placements, Placement, Present};
use crate::proxy::render::{render_to, RenderedFile};
use crate::proxy::validate::Validation;
use crate::proxy::{plan_from_env, PlanAnswers, ProxyPlan, Server, Tls};
use crate::target::{ProxyField, Target};
use crate::tui::form::{Field, FieldKind, Form};
use crate::tui::jobs::{Pending, Ticket};
use crate::tui::steps::{Drawn, Env, Mark, View};
use crate::tui::theme::Theme;
use crate::tui::widgets::{draw_below, finding_block, finding_line, spinner};
use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;
use std::path::{Path, PathBuf};

/// The field of this form a proxy target is edited in (None: set elsewhere, in pds.env or
/// by flags the form does not have).
pub fn field_key(f: ProxyField) -> Option<&'static str> {
    match f {
        ProxyField::Server => Some(SERVER),
        ProxyField::Upstream => Some(UPSTREAM),
        ProxyField::Tls => Some(TLS),
        ProxyField::Cert => Some(CERT),
        ProxyField::Key => Some(KEY),
        ProxyField::HandleDomains => Some(DOMAINS),
        ProxyField::Out => Some(OUT),
        ProxyField::FrontAddress => Some(FRONT),
        ProxyField::PdsSide => Some(PDS_SIDE),
        ProxyField::Host | ProxyField::Email | ProxyField::Listen | ProxyField::BodyLimit => None,
    }
}

/// The field a finding is about, when it is one of this form's.
fn field_of(t: Target) -> Option<&'static str> {
    match t {
        Target::Proxy(f) => field_key(f),
        _ => None,
    }
}

pub const SERVER: &str = "server";
pub const UPSTREAM: &str = "upstream";
pub const TLS: &str = "tls";
pub const CERT: &str = "cert";
pub const KEY: &str = "key";
pub const DOMAINS: &str = "domains";
pub const SHARED: &str = "shared";
pub const OUT: &str = "out";
pub const FRONT: &str = "front";
pub const PDS_SIDE: &str = "pds_side";

fn default_tls(server: Server) -> &'static str {
    match server {
        Server::Nginx => "certbot",
        Server::Caddy => "on-demand",
        Server::Traefik => "acme",
    }
}

pub struct ProxyScreen {
    pub form: Form,
    /// Where configs go by default: `/` on a server, the sandbox in --demo.
    root: PathBuf,
    pub plan: Option<ProxyPlan>,
    pub files: Vec<RenderedFile>,
    /// With the PDS on another machine: its side, shown after the front's files (made
    /// there by `proxy pds-side`; never written from here).
    pub pds_side: Vec<RenderedFile>,
    /// Plan errors and findings, all together.
    pub findings: Vec<Finding>,
    pub validation: Option<Validation>,
    /// The validation under way, if any (its result is kept only if it answers this).
    pub pending: Option<Pending>,
    /// Open the write confirmation when the running validation ends well.
    pub write_after_check: bool,
    pub written: Option<Finding>,
    /// A write, link or reload under way.
    pub doing: Option<Ticket>,
    /// The question open, if any.
    pub asking: Option<Question>,
    pub preview: bool,
    pub scroll: u16,
    /// The web server already serving 80/443 here (see `adopt`).
    pub present: Option<Present>,
    /// The operator chose the server (a key, or the answers file): `adopt` leaves it.
    pub server_chosen: bool,
}

impl ProxyScreen {
    pub fn new(root: &Path) -> ProxyScreen {
        let server = Server::Nginx;
        let choices = |v: &[&str]| FieldKind::Choice(v.iter().map(|s| s.to_string()).collect());
        let fields = vec![
            Field::new(
                SERVER,
                "Server",
                choices(&["nginx", "caddy", "traefik"]),
                "nginx",
            ),
            Field::new(UPSTREAM, "PDS address", FieldKind::Text, ""),
            Field::new(TLS, "TLS", choices(&Tls::MODES), default_tls(server)),
            Field::new(CERT, "Certificate", FieldKind::Text, ""),
            Field::new(KEY, "Key", FieldKind::Text, ""),
            Field::new(DOMAINS, "Handle domains", FieldKind::Text, ""),
            Field::new(SHARED, "Site on hostname", FieldKind::Toggle, "false"),
            Field::new(OUT, "Write to", FieldKind::Text, ""),
            Field::new(FRONT, "Front's own IP", FieldKind::Text, ""),
            Field::new(
                PDS_SIDE,
                "Reached via",
                choices(&["direct", "caddy"]),
                "direct",
            ),
        ];
        let mut s = ProxyScreen {
            form: Form::new(fields),
            root: root.to_path_buf(),
            plan: None,
            files: Vec::new(),
            pds_side: Vec::new(),
            findings: Vec::new(),
            validation: None,
            pending: None,
            write_after_check: false,
            written: None,
            doing: None,
            asking: None,
            preview: false,
            scroll: 0,
            present: None,
            server_chosen: false,
        };
        let out = s.default_out(server);
        s.form.field_mut(OUT).unwrap().set_text(&out);
        s
    }

    fn default_out(&self, server: Server) -> String {
        // The official install's Caddy reads its own Caddyfile (bind-mounted into its
        // container): that is the one to write.
        let installer = self.present.as_ref().and_then(|p| p.caddyfile.as_ref());
        if let (Server::Caddy, Some(f)) = (server, installer) {
            return f.display().to_string();
        }
        let p = match server {
            Server::Nginx => "etc/nginx/sites-available/pds.conf",
            Server::Caddy => "etc/caddy/Caddyfile",
            Server::Traefik => "etc/traefik/dynamic/pds.toml",
        };
        self.root.join(p).display().to_string()
    }

    /// Start from what runs on this machine: the server already serving 80/443 (the
    /// installer's Caddy, say) is the one to write for, in the file it reads, unless the
    /// operator chose otherwise; what was left at its defaults follows.
    pub fn adopt(&mut self, present: Option<Present>, doc: &Document) {
        let before = self.server();
        let (old_tls, old_out) = (default_tls(before), self.default_out(before));
        let now = match &present {
            Some(p) if !self.server_chosen => p.server,
            _ => before,
        };
        self.present = present;
        self.form.field_mut(SERVER).unwrap().set_text(now.name());
        if self.form.text(TLS) == old_tls {
            self.form.field_mut(TLS).unwrap().set_text(default_tls(now));
        }
        if self.form.text(OUT) == old_out {
            let out = self.default_out(now);
            self.form.field_mut(OUT).unwrap().set_text(&out);
        }
        self.refresh(doc);
    }

    pub fn server(&self) -> Server {
        self.form.text(SERVER).parse().unwrap_or(Server::Nginx)
    }

    fn plan_answers(&self) -> PlanAnswers {
        let text = |k| Some(self.form.text(k)).filter(|s| !s.trim().is_empty());
        PlanAnswers {
            upstream: text(UPSTREAM),
            tls: text(TLS),
            cert: text(CERT).map(PathBuf::from),
            key: text(KEY).map(PathBuf::from),
            handle_domains: self
                .form
                .text(DOMAINS)
                .split_whitespace()
                .map(String::from)
                .collect(),
            shared_host: self.form.text(SHARED) == "true",
            pds_side: text(FRONT).and(text(PDS_SIDE)),
            front_address: text(FRONT),
            ..Default::default()
        }
    }

    /// Fill the form from the answers file.
    pub fn load_answers(&mut self, p: &crate::answers::ProxyAnswers) {
        let domains = p.handle_domains.join(" ");
        let out = p.out.as_ref().map(|o| o.display().to_string());
        let cert = p.cert.as_ref().map(|c| c.display().to_string());
        let key = p.key.as_ref().map(|k| k.display().to_string());
        self.server_chosen = true;
        for (k, v) in [
            (SERVER, Some(p.server.clone())),
            (UPSTREAM, p.upstream.clone()),
            (TLS, p.tls.clone()),
            (CERT, cert),
            (KEY, key),
            (DOMAINS, Some(domains)),
            (SHARED, Some(p.shared_host.to_string())),
            (OUT, out),
            (FRONT, p.front_address.clone()),
            (PDS_SIDE, p.pds_side.clone()),
        ] {
            if let (Some(v), Some(f)) = (v, self.form.field_mut(k)) {
                f.set_text(&v);
            }
        }
    }

    /// The form as answers; what it has no field for comes from `base`.
    pub fn to_answers(
        &self,
        base: Option<&crate::answers::ProxyAnswers>,
    ) -> crate::answers::ProxyAnswers {
        let plan = self.plan_answers();
        crate::answers::ProxyAnswers {
            server: self.server().name().to_ascii_lowercase(),
            out: Some(self.out_path()).filter(|p| !p.as_os_str().is_empty()),
            upstream: plan.upstream,
            tls: plan.tls,
            cert: plan.cert,
            key: plan.key,
            handle_domains: plan.handle_domains,
            shared_host: plan.shared_host,
            front_address: plan.front_address,
            pds_side: plan.pds_side,
            ..base.cloned().unwrap_or_default()
        }
    }

    pub fn out_path(&self) -> PathBuf {
        PathBuf::from(self.form.text(OUT).trim())
    }

    pub fn on_key(&mut self, k: KeyEvent, doc: &Document) -> bool {
        if self.preview {
            match k.code {
                KeyCode::Down | KeyCode::Char('j') => self.scroll = self.scroll.saturating_add(1),
                KeyCode::Up | KeyCode::Char('k') => self.scroll = self.scroll.saturating_sub(1),
                KeyCode::PageDown | KeyCode::Char(' ') => {
                    self.scroll = self.scroll.saturating_add(10)
                }
                KeyCode::PageUp => self.scroll = self.scroll.saturating_sub(10),
                KeyCode::Home => self.scroll = 0,
                _ => {}
            }
            return false;
        }
        let before = self.server();
        match self.form.on_key(k) {
            Some(SERVER) => {
                self.server_chosen = true;
                // Follow the server with what was left at its defaults.
                let now = self.server();
                if self.form.text(TLS) == default_tls(before) {
                    self.form.field_mut(TLS).unwrap().set_text(default_tls(now));
                }
                if self.form.text(OUT) == self.default_out(before) {
                    let out = self.default_out(now);
                    self.form.field_mut(OUT).unwrap().set_text(&out);
                }
                self.refresh(doc);
                true
            }
            Some(_) => {
                self.refresh(doc);
                true
            }
            None => false,
        }
    }

    /// Re-plan and re-render from pds.env (as it will be saved) and the form.
    pub fn refresh(&mut self, doc: &Document) {
        let server = self.server();
        let result = plan_from_env(server, doc, &self.plan_answers());
        // A check or a write stays true only for the very plan it was made for.
        if result.as_ref().ok() != self.plan.as_ref() {
            self.validation = None;
            self.written = None;
            // A check still running is for the old plan: its verdict will not count, and a
            // write it was to lead to is off.
            self.pending = None;
            self.write_after_check = false;
        }
        match result {
            Ok(plan) => {
                self.files = render_to(&plan, Some(&self.out_path()));
                self.pds_side = plan
                    .split
                    .as_ref()
                    .map(|s| s.pds_side_files(&plan.host, &plan.handle_wildcards))
                    .unwrap_or_default();
                self.findings = plan.findings();
                self.findings
                    .extend(self.present.as_ref().and_then(|p| p.mismatch(server)));
                self.plan = Some(plan);
            }
            Err(errors) => {
                self.plan = None;
                self.files.clear();
                self.pds_side.clear();
                self.findings = errors
                    .iter()
                    .map(|e| Finding::fail(e.message.clone()).target(Target::Proxy(e.field)))
                    .collect();
            }
        }
        let tls_mode = self.form.text(TLS);
        let elsewhere = !self.form.text(FRONT).trim().is_empty();
        for f in &mut self.form.fields {
            let v = f.text();
            // A failure shows on the field it is about; one without a field here (the
            // hostname, the upload limit: pds.env's) on the server line.
            let at = |x: &Finding| x.target.and_then(field_of).unwrap_or(SERVER);
            let mut findings: Vec<Finding> = self
                .findings
                .iter()
                .filter(|x| self.plan.is_none() && at(x) == f.key)
                .cloned()
                .collect();
            if findings.is_empty() {
                findings.push(match f.key {
                    SERVER => {
                        Finding::info(format!("checked by {v} itself before anything is written"))
                    }
                    FRONT if v.is_empty() => {
                        Finding::info("PDS on another machine: this proxy's private IP")
                    }
                    UPSTREAM if elsewhere => Finding::info(
                        "the PDS machine's private address (Tailscale, WireGuard, LAN)",
                    ),
                    PDS_SIDE if !elsewhere => Finding::info("only for a PDS on another machine"),
                    PDS_SIDE => Finding::info(match v.as_str() {
                        "caddy" => "the installer's Caddy, port 80 (Ctrl-P: both sides)",
                        _ => "the PDS's own port (Ctrl-P shows both machines' files)",
                    }),
                    UPSTREAM if v.is_empty() => Finding::info(format!(
                        "where the PDS listens; empty = {}",
                        self.plan
                            .as_ref()
                            .map(|p| p.upstream.authority())
                            .unwrap_or_default()
                    )),
                    TLS => Finding::info(match v.as_str() {
                        "files" => "certificates you already have (below)",
                        "certbot" => "certbot's files in /etc/letsencrypt/live/HOST (nginx)",
                        "acme" => "the server gets certificates itself (Caddy, Traefik)",
                        "on-demand" => {
                            "Caddy: a certificate per name the PDS approves (installer's way)"
                        }
                        _ => "Caddy's local CA (LAN, test bench)",
                    }),
                    CERT | KEY if tls_mode != "files" => Finding::info("only for TLS = files"),
                    DOMAINS if v.is_empty() => {
                        Finding::info("e.g. alice.com,redirect=did:plc:… example.org,shared")
                    }
                    SHARED => Finding::info(
                        "yes: a website keeps the hostname; only atproto paths go to the PDS",
                    ),
                    OUT => Finding::info("Ctrl-W shows the diff, then writes (backup kept)"),
                    _ => Finding::pass("ok"),
                });
            }
            // The plan's own findings that concern a field.
            if self.plan.is_some() {
                findings.extend(
                    self.findings
                        .iter()
                        .filter(|pf| {
                            pf.level >= Level::Warn && pf.target.and_then(field_of) == Some(f.key)
                        })
                        .cloned(),
                );
            }
            f.findings = findings;
        }
        let max = self.preview_lines() as u16;
        self.scroll = self.scroll.min(max);
    }

    fn preview_lines(&self) -> usize {
        self.files
            .iter()
            .chain(&self.pds_side)
            .map(|f| f.text.lines().count() + 1)
            .sum()
    }

    pub fn worst(&self) -> Level {
        let mut all = self.findings.clone();
        if let Some(v) = &self.validation {
            all.push(v.finding.clone());
        }
        worst(&all)
    }

    /// What Ctrl-W would change, or why it cannot write.
    pub fn placements(&self) -> Result<Vec<Placement>, String> {
        if self.plan.is_none() {
            return Err("correct the answers marked ✗ first".into());
        }
        if let Some(f) = self.findings.iter().find(|f| f.level == Level::Fail) {
            return Err(format!("this plan cannot work: {}", f.what));
        }
        let out = self.out_path();
        if out.as_os_str().is_empty() {
            return Err("give the file to write (Write to)".into());
        }
        placements(&self.files, &out)
    }

    fn draw_preview(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let mut lines: Vec<Line> = Vec::new();
        for f in self.files.iter().chain(&self.pds_side) {
            lines.push(Line::from(Span::styled(
                format!("── {} → {}", f.name, f.purpose),
                theme.selected,
            )));
            for l in f.text.lines() {
                lines.push(highlight(l, theme));
            }
        }
        if lines.is_empty() {
            lines.push(finding_line(
                &Finding::fail("nothing to show: correct the answers marked ✗ first"),
                theme,
            ));
        }
        frame.render_widget(
            Paragraph::new(lines)
                .wrap(ratatui::widgets::Wrap { trim: false })
                .scroll((self.scroll, 0)),
            area,
        );
    }
}

/// Config syntax colouring good enough for nginx, Caddyfile and TOML: comments dim, the
/// directive (or TOML key / table) bold, braces and the rest plain.
pub fn highlight<'a>(line: &str, theme: &Theme) -> Line<'a> {
    let trimmed = line.trim_start();
    let indent = &line[..line.len() - trimmed.len()];
    if trimmed.starts_with('#') {
        return Line::from(Span::styled(line.to_string(), theme.dim));
    }
    if trimmed.starts_with('[') {
        return Line::from(Span::styled(
            line.to_string(),
            theme.pass.add_modifier(Modifier::BOLD),
        ));
    }
    let (word, rest) = match trimmed.find([' ', '\t']) {
        Some(i) => trimmed.split_at(i),
        None => (trimmed, ""),
    };
    Line::from(vec![
        Span::raw(indent.to_string()),
        Span::styled(word.to_string(), theme.pass.add_modifier(Modifier::BOLD)),
        Span::raw(rest.to_string()),
    ])
}

impl Drawn for ProxyScreen {
    fn draw(&self, frame: &mut Frame, area: Rect, view: &View) {
        let (theme, spin, focused) = (view.theme, view.spinner, view.focused);
        if self.preview {
            return self.draw_preview(frame, area, theme);
        }
        let y = self.form.draw(frame, area, theme, focused, &|_| false);
        let mut lines: Vec<Line> = Vec::new();
        if let Some(Pending { since: started, .. }) = self.pending {
            lines.push(Line::from(Span::styled(
                format!(
                    "{} {} is checking the config… {:.1} s",
                    spinner(spin),
                    self.server(),
                    started.elapsed().as_secs_f64()
                ),
                theme.warn,
            )));
        }
        if let Some(w) = &self.written {
            lines.push(finding_line(w, theme));
        }
        if let Some(v) = &self.validation {
            lines.extend(finding_block(&v.finding, &[], theme));
        }
        let mut plan_findings: Vec<&Finding> = self
            .findings
            .iter()
            .filter(|f| f.level >= Level::Warn)
            .collect();
        plan_findings.sort_by_key(|f| std::cmp::Reverse(f.level));
        for f in plan_findings {
            lines.push(finding_line(f, theme));
        }
        if lines.is_empty() {
            lines.push(Line::from(Span::styled(
                "^P shows the config · ^V has the server check it · ^W writes it (diff first)",
                theme.key_hint,
            )));
        }
        draw_below(frame, area, y, lines);
    }

    fn mark(&self, _env: &Env) -> Mark {
        match (self.worst(), &self.validation) {
            (Level::Fail, _) => Mark::Attention,
            (_, Some(v)) if v.validated() && self.written.is_some() => Mark::Done,
            _ => Mark::Open,
        }
    }

    fn busy(&self) -> bool {
        self.pending.is_some() || self.doing.is_some()
    }
}

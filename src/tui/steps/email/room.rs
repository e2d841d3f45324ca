//! The Email step as a room: what its commands do, and how it is drawn (the misreading of
//! pds.env's URL on top, the form, the test's verdict and the PDS's own send below).

use super::*;

impl EmailScreen {
    /// The lines above the form: pds.env's line as the PDS misreads it, what the PDS will
    /// do, and the repair; once repaired, a line saying it is not saved yet.
    pub fn banner<'a>(&self, theme: &Theme) -> Vec<Line<'a>> {
        let Some(m) = &self.misread else {
            return Vec::new();
        };
        if m.state == MisreadState::Repaired {
            return vec![Line::from(Span::styled(
                "✓ New settings on screen, not saved yet: the URL below is what will be written. ^T tests it as the PDS will.",
                theme.pass,
            ))];
        }
        let mut lines = Vec::new();
        let first = m.findings.first();
        let level = first.map_or(Level::Warn, |f| f.level);
        let style = crate::tui::widgets::level_style(level, theme);
        let head = first.map_or_else(
            || "pds.env's email settings are not what they seem".to_string(),
            |f| f.what.clone(),
        );
        lines.push(Line::from(Span::styled(
            format!(
                "{} In pds.env: {}",
                crate::tui::widgets::level_icon(level),
                scrub(&head)
            ),
            style,
        )));
        lines.push(Line::from(Span::styled(scrub(&m.line), theme.dim)));
        if let Some(f) = first.filter(|f| !f.why.is_empty()) {
            lines.push(Line::from(scrub(&f.why)));
        }
        for f in m.findings.iter().skip(1).take(2) {
            lines.push(finding_line(f, theme));
        }
        match m.offer() {
            Some(r) => {
                lines.push(Line::from(Span::styled(
                    format!("You probably meant {}.", scrub(&r.describe())),
                    theme.pass,
                )));
                // On a line of its own: never cut, however long the rest.
                lines.push(Line::from(Span::styled(
                    "^E: repair it (nothing is saved yet)",
                    theme.key_hint,
                )));
            }
            None => {
                if let Some(f) = first.filter(|f| !f.fix.is_empty()) {
                    lines.push(Line::from(Span::styled(
                        format!("Fix: {}", scrub(&f.fix)),
                        theme.dim,
                    )));
                }
            }
        }
        lines
    }
}

/// Rows `lines` take wrapped at `width` (a word may push a row further: one spare row).
fn wrapped_rows(lines: &[Line], width: u16) -> u16 {
    if lines.is_empty() {
        return 0;
    }
    let w = width.max(1) as usize;
    let rows: usize = lines.iter().map(|l| l.width().max(1).div_ceil(w)).sum();
    rows as u16 + u16::from(lines.iter().any(|l| l.width() > w))
}

impl EmailScreen {
    /// The step's keys: the test mail, its transcript, the PDS's pending codes, or the form's.
    pub fn on_command(
        &mut self,
        command: Option<crate::tui::keys::Command>,
        k: crossterm::event::KeyEvent,
        ctx: &mut crate::tui::outcome::Ctx,
    ) -> crate::tui::outcome::Outcome<crate::tui::msg::Effect> {
        match command {
            Some(Command::TestMail) => self.send_test(ctx),
            Some(Command::Repair) => self.apply_repair(),
            Some(Command::PdsMail) => {
                if matches!(self.pds_test, PdsTest::Waiting(_) | PdsTest::Sending(..)) {
                    return Outcome::Nothing;
                }
                let e = self.ask_pds(ctx.jobs, ctx.settings, ctx.settings.flags.timeout);
                Outcome::legacy_working(crate::tui::strings::ASKING_PDS.into(), vec![e])
            }
            Some(Command::Transcript) => match self.test_details() {
                Some(lines) => Outcome::Open(Modal::Transcript(lines)),
                None => Outcome::Nothing,
            },
            Some(Command::Codes) => {
                let dir = ctx
                    .data_dir
                    .cloned()
                    .unwrap_or_else(|| crate::pds::data::data_dir(ctx.working));
                let job = ctx.jobs.start();
                self.codes = Some(job);
                Outcome::legacy_working(
                    crate::tui::strings::READING_CODES.into(),
                    vec![Effect::LoadCodes {
                        ticket: job.ticket,
                        dir,
                    }],
                )
            }
            _ if self.on_key(k) => Outcome::Edited,
            _ => Outcome::Nothing,
        }
    }
}

impl crate::tui::steps::Drawn for EmailScreen {
    fn draw(&self, frame: &mut Frame, area: Rect, view: &crate::tui::steps::View) {
        let (theme, spin, focused) = (view.theme, view.spinner, view.focused);
        let edited = view.edits.contains_key(crate::email::URL_KEY)
            || view.edits.contains_key(crate::email::FROM_KEY);
        // What the PDS misreads comes first, above the form.
        let banner = self.banner(theme);
        let rows = wrapped_rows(&banner, area.width).min(area.height / 2);
        if rows > 0 {
            frame.render_widget(
                Paragraph::new(banner).wrap(Wrap { trim: false }),
                Rect::new(area.x, area.y, area.width, rows),
            );
        }
        let area = Rect::new(
            area.x,
            area.y + rows,
            area.width,
            area.height.saturating_sub(rows),
        );
        let y = self.form.draw(frame, area, theme, focused, &|k| {
            edited && k != TEST_TO && k != PRESET
        });
        let mut y = y;
        // The URL whole, on lines of its own (a URL cut at the edge would mislead).
        if let (Ok(s), false) = (self.settings(), self.is_blank()) {
            if let Ok(url) = email::compose(&s) {
                let text = format!("URL {}", mask_url(&url));
                let rows = (text.chars().count() as u16).div_ceil(area.width.max(1));
                let rows = rows.min(area.bottom().saturating_sub(y));
                let line = Line::from(vec![
                    Span::styled("URL ", theme.dim),
                    Span::raw(mask_url(&url)),
                ]);
                frame.render_widget(
                    Paragraph::new(line).wrap(Wrap { trim: false }),
                    Rect::new(area.x, y, area.width, rows),
                );
                y += rows;
            }
        }
        let mut lines: Vec<Line> = Vec::new();
        // With nothing typed the form itself says what is needed (the "not set" finding
        // would send the operator to the step they are on).
        for f in self
            .url_findings
            .iter()
            .filter(|f| f.level >= Level::Warn && !self.is_blank())
            .take(1)
        {
            lines.push(finding_line(f, theme));
        }
        match &self.test {
            TestState::Idle => lines.push(Line::from(Span::styled(
                "Ctrl-T sends a test mail to the test recipient.",
                theme.key_hint,
            ))),
            TestState::Pending {
                job: Pending { since: started, .. },
                to,
            } => {
                lines.push(Line::from(Span::styled(
                    format!(
                        "{} sending a test mail to {to}… {:.1} s (keys still work)",
                        spinner(spin),
                        started.elapsed().as_secs_f64()
                    ),
                    theme.warn,
                )));
            }
            TestState::Done(r) => {
                lines.push(finding_line(&r.finding, theme));
                lines.push(Line::from(Span::styled(
                    if r.finding.level == Level::Pass {
                        "Ctrl-L: the SMTP conversation. Ctrl-T sends again. Ctrl-P: the running PDS sends one."
                    } else {
                        "Ctrl-L: why, how to fix it, and the SMTP conversation. Ctrl-T sends again."
                    },
                    theme.key_hint,
                )));
                lines.extend(
                    finding_block(&r.finding, &r.notes, theme)
                        .into_iter()
                        .skip(1),
                );
            }
        }
        // The PDS's own send comes first once there is one: it is the proof that counts.
        let mut pds_lines: Vec<Line> = Vec::new();
        match &self.pds_test {
            PdsTest::Idle => {}
            PdsTest::Waiting(job) => pds_lines.push(Line::from(Span::styled(
                format!(
                    "{} waiting for the PDS to answer… {:.1} s",
                    spinner(spin),
                    job.since.elapsed().as_secs_f64()
                ),
                theme.warn,
            ))),
            PdsTest::Sending(job, handle) => pds_lines.push(Line::from(Span::styled(
                format!(
                    "{} the PDS is mailing {handle}… {:.1} s",
                    spinner(spin),
                    job.since.elapsed().as_secs_f64()
                ),
                theme.warn,
            ))),
            PdsTest::Done(r) => {
                pds_lines.extend(finding_block(&r.finding, &[], theme));
                pds_lines.extend(
                    r.log.iter().map(|l| {
                        Line::from(Span::styled(format!("  log: {}", scrub(l)), theme.dim))
                    }),
                );
            }
        }
        if !pds_lines.is_empty() {
            pds_lines.extend(lines.into_iter().take(1));
            lines = pds_lines;
        }
        draw_below(frame, area, y, lines);
    }

    fn busy(&self) -> bool {
        matches!(self.test, TestState::Pending { .. })
            || self.codes.is_some()
            || matches!(self.pds_test, PdsTest::Waiting(_) | PdsTest::Sending(..))
    }
}

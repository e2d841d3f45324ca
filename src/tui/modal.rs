//! Pop-ups: what they are, the keys each answers, and how each is drawn. While one is open,
//! only its keys count.

use super::app::{ctrl, App, Effect, Focus, Step};
use super::draft::Draft;
use super::screens::{draw_help, draw_popup, draw_popup_sized};
use super::strings;
use super::theme::Theme;
use crate::doctor::CheckId;
use crate::finding::Level;
use crate::proxy::install::Placement;
use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::Frame;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Modal {
    Help,
    ConfirmQuit,
    /// Nothing unsaved, but results on screen (the doctor's) that quitting loses.
    ConfirmQuitResults,
    RestoreDraft(Draft),
    /// The last test send: diagnosis, then the SMTP conversation (password removed).
    Transcript(Vec<String>),
    /// A doctor check's findings in full, each error with its whole chain; scrolls.
    Details {
        title: String,
        body: String,
        scroll: u16,
    },
    /// The codes the PDS meant to mail (email codes), read from its database.
    Codes(Vec<String>),
    /// Offer to run this restart command (shown first, run only on "y").
    Restart(Vec<String>),
    /// The proxy config's diff against what is on disk; "y" writes it.
    ProxyWrite(Vec<Placement>),
    /// Offer to run the proxy server's reload command.
    ProxyReload(Vec<String>),
    /// Ask each relay in PDS_CRAWLERS to crawl this PDS?
    RequestCrawl,
    /// The handle verifies after failing: announce it again (identity event, crawl)?
    RefreshHandle(String),
    /// pds.env's SMTP URL is misread: fill the form with what it meant?
    Repair,
    /// The test mail went through: save the email settings now?
    SaveEmail,
    /// Have the PDS mail this account (one of those with an address)?
    PdsSend {
        accounts: Vec<crate::pds::accounts::Account>,
        index: usize,
    },
    /// A first-setup action, said in full first; "y" carries it out.
    Confirm {
        title: String,
        body: String,
        then: Confirmed,
    },
}

/// What a `Modal::Confirm` does on "y".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmed {
    WriteService(Vec<crate::pds::service::PlannedFile>),
    StartService(Box<crate::pds::service::Plan>),
    ResetPassword {
        did: String,
        handle: String,
    },
    MoveHandle {
        did: String,
        from: String,
        handle: crate::identity::Handle,
    },
    /// Save pds.env with this new PDS_HOSTNAME although the PDS hosts accounts.
    Rename(String),
    /// Link an nginx site into sites-enabled, then offer `reload`.
    EnableSite {
        link: std::path::PathBuf,
        target: std::path::PathBuf,
        reload: Vec<String>,
    },
}

/// A key while `modal` is open: only its own keys count.
pub fn on_key(app: &mut App, modal: Modal, k: KeyEvent) -> Vec<Effect> {
    match modal {
        Modal::Help => {
            if matches!(
                k.code,
                KeyCode::Esc
                    | KeyCode::Char('?')
                    | KeyCode::Char('q')
                    | KeyCode::F(1)
                    | KeyCode::Enter
            ) {
                app.modal = None;
            }
            vec![]
        }
        Modal::Details {
            title,
            body,
            scroll,
        } => {
            let scroll = match k.code {
                KeyCode::Esc | KeyCode::Enter | KeyCode::Char('q') | KeyCode::Char('d') => {
                    app.modal = None;
                    return vec![];
                }
                KeyCode::PageDown | KeyCode::Char(' ') => scroll.saturating_add(10),
                KeyCode::Down | KeyCode::Char('j') => scroll.saturating_add(1),
                KeyCode::PageUp => scroll.saturating_sub(10),
                KeyCode::Up | KeyCode::Char('k') => scroll.saturating_sub(1),
                _ => scroll,
            };
            // Past the end is clamped where it is drawn (which knows the width).
            let rows = body.lines().count() as u16;
            app.modal = Some(Modal::Details {
                title,
                body,
                scroll: scroll.min(rows),
            });
            vec![]
        }
        Modal::Transcript(_) | Modal::Codes(_) => {
            if matches!(k.code, KeyCode::Esc | KeyCode::Enter | KeyCode::Char('q'))
                || ctrl(&k, 'l')
                || ctrl(&k, 'o')
            {
                app.modal = None;
            }
            vec![]
        }
        Modal::ConfirmQuit => match k.code {
            KeyCode::Char('s') => {
                app.modal = None;
                app.step = Step::Review;
                app.focus = Focus::Content;
                vec![]
            }
            KeyCode::Char('q') => {
                app.modal = None;
                app.quit = true;
                vec![Effect::WriteDraft(app.draft()), Effect::Quit]
            }
            // Discarded: no draft is left to be offered back next time (nor an older one).
            KeyCode::Char('d') => {
                app.modal = None;
                app.quit = true;
                vec![Effect::DeleteDraft(app.env_path.clone()), Effect::Quit]
            }
            KeyCode::Esc => {
                app.modal = None;
                vec![]
            }
            _ if ctrl(&k, 'c') => {
                app.quit = true;
                vec![Effect::WriteDraft(app.draft()), Effect::Quit]
            }
            _ => vec![],
        },
        Modal::ConfirmQuitResults if k.code == KeyCode::Char('q') => {
            app.modal = None;
            app.quit = true;
            vec![Effect::Quit]
        }
        Modal::ConfirmQuitResults if ctrl(&k, 'c') => {
            app.quit = true;
            vec![Effect::Quit]
        }
        Modal::PdsSend { accounts, index } if matches!(k.code, KeyCode::Tab | KeyCode::Down) => {
            let next = (1..=accounts.len())
                .map(|i| (index + i) % accounts.len())
                .find(|&i| accounts[i].email.as_deref().is_some_and(|e| !e.is_empty()))
                .unwrap_or(index);
            app.modal = Some(Modal::PdsSend {
                accounts,
                index: next,
            });
            vec![]
        }
        // Every other pop-up is a question, with one key rule.
        question => match answer(&k) {
            Some(true) => {
                app.modal = None;
                yes(app, question)
            }
            Some(false) => {
                app.modal = None;
                no(app, question)
            }
            None => {
                app.modal = Some(question);
                vec![]
            }
        },
    }
}

/// The one key rule of every yes/no question: y or Enter says yes, n or Esc says no;
/// any other key is not an answer (the question stays).
pub fn answer(k: &KeyEvent) -> Option<bool> {
    match k.code {
        KeyCode::Char('y') | KeyCode::Char('Y') | KeyCode::Enter => Some(true),
        KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => Some(false),
        _ => None,
    }
}

/// A question answered yes.
fn yes(app: &mut App, question: Modal) -> Vec<Effect> {
    match question {
        Modal::ProxyWrite(placements) => vec![Effect::WriteProxy {
            files: app.proxy.files.clone(),
            placements,
        }],
        Modal::RefreshHandle(handle) => {
            let Ok(h) = crate::identity::Handle::parse(&handle) else {
                return vec![];
            };
            let job = app.jobs.start();
            app.handle.refresh = Some(super::screens::handle::Refresh::Pending(job));
            vec![Effect::RefreshHandle {
                ticket: job.ticket,
                handle: h,
            }]
        }
        Modal::RequestCrawl => {
            let job = app.jobs.start();
            app.doctor.start(&[CheckId::Crawlers], job);
            vec![Effect::RequestCrawl { ticket: job.ticket }]
        }
        Modal::Repair => {
            app.email.apply_repair();
            let effects = app.email_changed();
            if let Some(note) = app.email.note.take() {
                app.status = Some(note);
            }
            effects
        }
        Modal::SaveEmail => super::app::save(app),
        Modal::PdsSend { accounts, index } => {
            let Some(a) = accounts.get(index) else {
                return vec![];
            };
            let job = app.jobs.start();
            app.email.pds_test = super::screens::email::PdsTest::Sending(job, a.handle.clone());
            vec![Effect::PdsSend {
                ticket: job.ticket,
                pds_url: app.settings.local_url.clone(),
                admin_password: app.settings.admin_password.clone(),
                did: a.did.clone(),
            }]
        }
        Modal::ProxyReload(cmd) => vec![Effect::ReloadProxy(cmd)],
        Modal::Restart(cmd) => {
            app.status = Some((Level::Info, format!("running: {}", crate::pds::shown(&cmd))));
            vec![Effect::Restart(cmd)]
        }
        Modal::Confirm { then, .. } => confirmed(app, then),
        Modal::ConfirmQuitResults => {
            app.quit = true;
            vec![Effect::Quit]
        }
        Modal::RestoreDraft(d) => {
            app.edits = d.edits.clone();
            app.edits
                .retain(|k, v| app.base.get(k).unwrap_or_default() != *v);
            app.recompute();
            app.reload_screens();
            // What came back is shown as the change it makes to pds.env.
            app.step = Step::Review;
            app.status = Some(match d.retype.as_slice() {
                [] => (
                    Level::Info,
                    format!(
                        "Restored {} unsaved answer(s) from the draft.",
                        app.edits.len()
                    ),
                ),
                retype => (
                    Level::Warn,
                    format!(
                        "Restored {} answer(s). Type again: {} (never kept in a draft).",
                        app.edits.len(),
                        strings::retype_list(retype)
                    ),
                ),
            });
            vec![app.draft_effect()]
        }
        // Not questions: their keys are above.
        Modal::Help
        | Modal::ConfirmQuit
        | Modal::Transcript(_)
        | Modal::Details { .. }
        | Modal::Codes(_) => vec![],
    }
}

/// A question answered no: nothing is done, and the status line says how to do it later.
fn no(app: &mut App, question: Modal) -> Vec<Effect> {
    let later: Option<String> = match question {
        Modal::ProxyWrite(_) => Some("Nothing written.".into()),
        Modal::RefreshHandle(handle) => Some(format!(
            "Not announced. Later: pds-wizard handle refresh {handle}"
        )),
        Modal::RequestCrawl => None,
        Modal::Repair => {
            if let Some(m) = app.email.misread.as_mut() {
                m.state = super::screens::email::MisreadState::Declined;
            }
            Some("Not repaired. ^E repairs it.".into())
        }
        Modal::SaveEmail => {
            Some("Not saved yet: Ctrl-S saves (Review & save shows the change).".into())
        }
        Modal::PdsSend { .. } => {
            app.email.pds_test = super::screens::email::PdsTest::Idle;
            Some("Not sent. Ctrl-P in the Email step has the PDS send when you are ready.".into())
        }
        Modal::ProxyReload(_) => Some(format!(
            "Not reloaded. When ready: {}",
            crate::proxy::install::reload_hint_for(app.proxy.server(), &app.proxy.out_path())
        )),
        Modal::Restart(cmd) => Some(format!(
            "Not restarted. When ready: {}",
            crate::pds::as_typed(&crate::pds::shown(&cmd))
        )),
        Modal::Confirm { .. } => Some("Nothing done.".into()),
        Modal::ConfirmQuitResults => None,
        Modal::RestoreDraft(_) => return vec![Effect::DeleteDraft(app.env_path.clone())],
        Modal::Help
        | Modal::ConfirmQuit
        | Modal::Transcript(_)
        | Modal::Details { .. }
        | Modal::Codes(_) => None,
    };
    if let Some(said) = later {
        app.status = Some((Level::Info, said));
    }
    vec![]
}

/// The open pop-up, over the frame.
pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    match &app.modal {
        Some(Modal::Help) => draw_help(
            frame,
            area,
            theme,
            &crate::tui::keys::help(crate::tui::app::key_screen(app)),
        ),
        Some(Modal::ConfirmQuit) => {
            draw_popup(frame, area, theme, " Quit? ", strings::CONFIRM_QUIT)
        }
        Some(Modal::ConfirmQuitResults) => {
            draw_popup(frame, area, theme, " Quit? ", strings::CONFIRM_QUIT_RESULTS)
        }
        Some(Modal::RestoreDraft(d)) => {
            let changed = d.base_fingerprint
                != super::draft::fingerprint(app.base.original_text().as_bytes());
            draw_popup(
                frame,
                area,
                theme,
                " Unsaved answers ",
                &strings::restore_draft(d, changed),
            );
        }
        Some(Modal::Transcript(lines)) => {
            let body = if lines.is_empty() {
                "(nothing was said)".to_string()
            } else {
                crate::secret::scrub(&lines.join("\n"))
            };
            draw_popup_sized(
                frame,
                area,
                theme,
                " Test mail: result and SMTP conversation (password removed; Esc closes) ",
                &body,
                76,
                area.height.saturating_sub(2),
            );
        }
        Some(Modal::Details {
            title,
            body,
            scroll,
        }) => super::screens::draw_scrolled(
            frame,
            area,
            theme,
            &format!(" {title}: in full (↑↓ PgUp/PgDn scroll; Esc closes) "),
            body,
            *scroll,
        ),
        Some(Modal::Codes(lines)) => draw_popup_sized(
            frame,
            area,
            theme,
            " Codes the PDS meant to mail (read-only; Esc closes) ",
            &lines.join("\n"),
            76,
            area.height.saturating_sub(2),
        ),
        Some(Modal::ProxyWrite(placements)) => {
            let body =
                strings::proxy_write_body(placements, area.height.saturating_sub(8) as usize);
            draw_fitted(frame, area, theme, " Write the proxy config? ", &body);
        }
        Some(Modal::RequestCrawl) => draw_popup(
            frame,
            area,
            theme,
            " Ask the relays to crawl? ",
            strings::REQUEST_CRAWL,
        ),
        Some(Modal::ProxyReload(_)) => draw_popup(
            frame,
            area,
            theme,
            " Reload the proxy? ",
            &strings::reload_offer(&crate::proxy::install::reload_hint_for(
                app.proxy.server(),
                &app.proxy.out_path(),
            )),
        ),
        Some(Modal::Repair) => {
            if let Some(m) = &app.email.misread {
                if let Some(r) = m.offer() {
                    draw_popup(
                        frame,
                        area,
                        theme,
                        " Repair the SMTP URL? ",
                        &strings::repair_offer(&m.line, &r.describe(), &r.notes()),
                    )
                }
            }
        }
        Some(Modal::RefreshHandle(handle)) => draw_popup(
            frame,
            area,
            theme,
            " Announce the handle? ",
            &strings::refresh_offer(handle),
        ),
        Some(Modal::SaveEmail) => draw_popup(
            frame,
            area,
            theme,
            " Save the email settings? ",
            strings::SAVE_EMAIL_OFFER,
        ),
        Some(Modal::PdsSend { accounts, index }) => {
            if let Some(a) = accounts.get(*index) {
                let others = accounts
                    .iter()
                    .filter(|x| x.email.as_deref().is_some_and(|e| !e.is_empty()))
                    .count()
                    .saturating_sub(1);
                draw_popup(
                    frame,
                    area,
                    theme,
                    " Have the PDS send a mail? ",
                    &strings::pds_send_offer(&a.handle, a.email.as_deref().unwrap_or(""), others),
                )
            }
        }
        Some(Modal::Confirm { title, body, .. }) => draw_fitted(frame, area, theme, title, body),
        Some(Modal::Restart(cmd)) => draw_popup(
            frame,
            area,
            theme,
            " Restart the PDS? ",
            &strings::restart_offer(&crate::pds::shown(cmd)),
        ),
        None => {}
    }
}

/// A pop-up 76 wide and as tall as its text (wrapped at its width), at most the screen.
fn draw_fitted(frame: &mut Frame, area: Rect, theme: &Theme, title: &str, body: &str) {
    let rows = body
        .lines()
        .map(|l| l.chars().count() / 74 + 1)
        .sum::<usize>() as u16
        + 2;
    draw_popup_sized(
        frame,
        area,
        theme,
        title,
        body,
        76,
        rows.min(area.height.saturating_sub(2)),
    );
}

/// Carry out a confirmed first-setup action: its job starts, with a ticket.
fn confirmed(app: &mut App, then: Confirmed) -> Vec<Effect> {
    use super::msg::Job;
    let job = app.jobs.start();
    let (line, work) = match then {
        Confirmed::Rename(to) => {
            app.rename_confirmed = Some(to);
            return crate::tui::app::save(app);
        }
        // Quick and local: done here, then the reload is offered.
        Confirmed::EnableSite {
            link,
            target,
            reload,
        } => {
            match crate::proxy::install::enable_site(&link, &target) {
                Ok(()) => {
                    app.status = Some((
                        Level::Pass,
                        format!("Linked {} → {}.", link.display(), target.display()),
                    ));
                    app.modal = Some(Modal::ProxyReload(reload));
                }
                Err(e) => app.status = Some((Level::Fail, e)),
            }
            return vec![];
        }
        Confirmed::WriteService(files) => {
            app.server.writing = Some(job);
            ("Writing the service files…", Job::WriteService(files))
        }
        Confirmed::StartService(plan) => {
            app.server.starting = Some(job);
            app.server.said = None;
            app.server.progress = Some("starting the PDS…".into());
            ("Starting the PDS…", Job::StartService(plan))
        }
        Confirmed::ResetPassword { did, handle } => {
            app.accounts.pending = Some(job);
            (
                "Giving the account a new password…",
                Job::ResetPassword { did, handle },
            )
        }
        Confirmed::MoveHandle { did, from, handle } => {
            app.accounts.pending = Some(job);
            (
                "Switching the handle…",
                Job::MoveHandle { did, from, handle },
            )
        }
    };
    app.status = Some((Level::Info, line.into()));
    vec![Effect::Setup(job.ticket, work)]
}

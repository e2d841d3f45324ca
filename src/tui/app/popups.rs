//! Keys while a pop-up is open: only its own count. Every question takes one key rule
//! (`modal::answer`); what yes and no do is here.

use super::*;
use crate::tui::modal::{answer, Confirmed};
use crate::tui::strings;

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
                // Not an answer: a step's question may take it (Tab among choices).
                app.modal = Some(match question {
                    Modal::Ask {
                        step,
                        title,
                        body,
                        wide,
                    } => {
                        let body = rooms::question_key(app, step, k).unwrap_or(body);
                        Modal::Ask {
                            step,
                            title,
                            body,
                            wide,
                        }
                    }
                    other => other,
                });
                vec![]
            }
        },
    }
}

/// A question answered yes.
fn yes(app: &mut App, question: Modal) -> Vec<Effect> {
    match question {
        Modal::Restart(cmd) => {
            app.status = Some((Level::Info, format!("running: {}", crate::pds::shown(&cmd))));
            vec![Effect::Restart(cmd)]
        }
        Modal::Confirm { then, .. } => confirmed(app, then),
        Modal::Ask { step, .. } => rooms::answered(app, step, true),
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
        Modal::Restart(cmd) => Some(format!(
            "Not restarted. When ready: {}",
            crate::pds::as_typed(&crate::pds::shown(&cmd))
        )),
        Modal::Confirm { .. } => Some("Nothing done.".into()),
        Modal::Ask { step, .. } => return rooms::answered(app, step, false),
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

/// Carry out a confirmed action of the app's own (a rename, saved).
fn confirmed(app: &mut App, then: Confirmed) -> Vec<Effect> {
    match then {
        Confirmed::Rename(to) => {
            app.rename_confirmed = Some(to);
            crate::tui::app::save(app)
        }
    }
}

//! TUI state and `update`: every input becomes an `Action`, `update` folds it into the state
//! and returns `Effect`s (save, draft, quit) that the loop runs outside, so all of this is
//! testable without a terminal.

use super::draft::{self, Draft};
use super::jobs::{self, Tickets};
use super::keys::{self, Command, Screen};
pub use super::msg::{Action, Effect, SignalKind, Ticket};
use super::outcome::{Ctx, Outcome};
pub use super::route::{landing, place, step_for_key, Step};
use super::steps::basics::Basics;
use super::steps::didfile::DidFileScreen;
use super::steps::doctor::DoctorScreen;
use super::steps::email::EmailScreen;
use super::steps::handle::{Accounts, HandleScreen};
use super::steps::proxy::ProxyScreen;
use super::steps::settings::Settings as MoreSettings;
use super::steps::Room;
use super::Mode;
use crate::email::{FROM_KEY, URL_KEY};
use crate::envfile::display::{masked_diff, DiffTag};
use crate::envfile::{self, catalogue, Document};
use crate::finding::{Finding, Level};
use crate::settings::Resolved;
use crate::target::Target;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// What a screen may use of the app while it handles a key or starts a job: disjoint
/// fields, so the screen itself can be borrowed mutably beside them.
macro_rules! screen_ctx {
    ($app:expr) => {
        Ctx {
            jobs: &mut $app.jobs,
            settings: &$app.settings,
            working: &$app.working,
            data_dir: $app.data_dir.as_ref(),
            demo: $app.demo,
            edits: &$app.edits,
        }
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Sidebar,
    Content,
}

pub use super::modal::Modal;

mod answers;
mod rooms;
use rooms::said;
mod popups;
mod sidebar;
pub use sidebar::Mark;
mod state;
mod update;
pub use update::update;

pub struct App {
    pub env_path: PathBuf,
    /// pds.env as it is on disk.
    pub base: Document,
    /// `base` with every valid answer applied: what Review shows and Save writes.
    pub working: Document,
    /// Values the operator typed that differ from `base`, by key.
    /// Edits to pds.env not yet saved, by key (the answers file, pds-wizard.toml, is
    /// another thing: see `saved_answers`).
    pub edits: BTreeMap<String, String>,
    /// `base` → `working` as diff lines (secrets masked), and `env check` of `working`:
    /// kept up to date by `recompute`, so drawing Review does no work.
    pub pending_diff: Vec<(DiffTag, usize, String)>,
    pub working_findings: Vec<Finding>,
    pub step: Step,
    pub focus: Focus,
    pub basics: Basics,
    pub more: MoreSettings,
    pub email: EmailScreen,
    pub handle: HandleScreen,
    pub didfile: DidFileScreen,
    pub proxy: ProxyScreen,
    pub doctor: DoctorScreen,
    pub overview: super::steps::overview::OverviewScreen,
    pub server: super::steps::server::ServerScreen,
    pub accounts: super::steps::accounts::AccountsScreen,
    pub relays: super::steps::relays::RelaysScreen,
    pub backups: super::steps::backups::BackupsScreen,
    /// URLs and options from the global flags and pds.env as saved (resolved again when the
    /// file is saved or reloaded).
    pub settings: Resolved,
    /// Why an answer could not be applied, by key (from `recompute` and from screens that
    /// could not produce a value at all).
    pub errors: BTreeMap<String, String>,
    blocked: BTreeMap<String, String>,
    pub modal: Option<Modal>,
    pub status: Option<(Level, String)>,
    /// The last save's outcome, shown on Review.
    pub save_result: Option<(Level, String)>,
    pub quit: bool,
    /// Tickets for background jobs (see `jobs`).
    pub jobs: Tickets,
    /// The one spinner's frame: it turns while any background job is pending (`busy`).
    pub spinner: usize,
    /// The signal that ended the wizard, if one did (for the exit status).
    pub ended_by: Option<SignalKind>,
    /// --demo: nothing outside the sandbox is touched (no server reloads).
    pub demo: bool,
    /// Where the PDS keeps its databases, when not PDS_DATA_DIRECTORY (the demo's stand-in).
    pub data_dir: Option<PathBuf>,
    /// --demo: which local stand-ins run (empty with --no-stand-ins).
    pub demo_standins: Option<Vec<crate::demo::StandIn>>,
    /// The answers file as loaded (or last saved): what the steps do not hold survives.
    pub saved_answers: crate::answers::Answers,
    /// Which steps have given an answer worth keeping (written, sent, checked).
    pub answered: Answered,
    /// Something was answered since the file was last written.
    pub answers_due: bool,
    /// The lookup of the accounts a new PDS_HOSTNAME affects, while it runs.
    pub rename_check: Option<jobs::Pending>,
    /// The new PDS_HOSTNAME the operator confirmed saving (or that affects no account).
    pub rename_confirmed: Option<String>,
}

/// Steps whose choices go into the answers file: only once acted on (a proxy config written,
/// a test mail sent), so a step merely looked at never makes `apply` write anything.
#[derive(Debug, Clone, Default)]
pub struct Answered {
    pub proxy: bool,
    pub did_file: bool,
    pub recipient: bool,
    /// Handles checked in the Handle step, oldest first.
    pub handles: Vec<String>,
}

impl App {
    /// The wizard on `base` (pds.env as read), with the settings resolved from it. In a
    /// demo, proxy configs are written under the sandbox that holds pds.env.
    pub fn new(base: Document, settings: Resolved, mode: Mode) -> App {
        let basics = Basics::new(&base);
        let more = MoreSettings::new(&base);
        let email = EmailScreen::new(&base);
        let env_path = settings.env_file.clone();
        let demo = mode != Mode::Normal;
        let proxy_root = match env_path.parent() {
            Some(sandbox) if demo => sandbox.to_path_buf(),
            _ => PathBuf::from("/"),
        };
        let mut app = App {
            env_path,
            working: base.clone(),
            base,
            edits: BTreeMap::new(),
            pending_diff: Vec::new(),
            working_findings: Vec::new(),
            // Where the setup stands is the first thing shown (Enter checks it live).
            step: Step::Overview,
            focus: Focus::Sidebar,
            basics,
            more,
            email,
            handle: HandleScreen::new(),
            didfile: DidFileScreen::new(),
            proxy: ProxyScreen::new(&proxy_root),
            doctor: DoctorScreen::new(),
            overview: Default::default(),
            server: super::steps::server::ServerScreen::new(
                &settings
                    .flags
                    .place(std::path::Path::new(
                        &std::env::var("PDS_WIZARD_UNIT_DIR")
                            .unwrap_or_else(|_| "/etc/systemd/system".into()),
                    ))
                    .display()
                    .to_string(),
            ),
            accounts: Default::default(),
            relays: Default::default(),
            backups: Default::default(),
            settings,
            errors: BTreeMap::new(),
            blocked: BTreeMap::new(),
            modal: None,
            status: None,
            save_result: None,
            quit: false,
            jobs: Tickets::default(),
            spinner: 0,
            ended_by: None,
            demo,
            demo_standins: None,
            data_dir: None,
            saved_answers: Default::default(),
            answered: Answered::default(),
            answers_due: false,
            rename_check: None,
            rename_confirmed: None,
        };
        app.server.sandbox = app.settings.flags.sandbox.clone();
        app.recompute();
        app.look_at_front();
        // The problem is the first thing seen: a misread email setting selects its step.
        if app.email.misread.is_some() {
            app.step = Step::Email;
        }
        app
    }
}

pub(crate) fn ctrl(k: &KeyEvent, c: char) -> bool {
    k.modifiers.contains(KeyModifiers::CONTROL) && k.code == KeyCode::Char(c)
}

/// A paste goes to the focused field of the step in front, as one edit, through the same
/// path as a typed key (`form::PASTE_KEY`). Anywhere else (the step list, a pop-up) it is
/// dropped: pasted text must never turn into commands.
fn on_paste(app: &mut App, text: String) -> Vec<Effect> {
    if app.modal.is_some() || app.focus != Focus::Content {
        return vec![];
    }
    let form = match app.step {
        Step::Basics => &mut app.basics.form,
        Step::More => &mut app.more.form,
        Step::Email => &mut app.email.form,
        Step::Handle => &mut app.handle.form,
        Step::DidFile => &mut app.didfile.form,
        Step::Proxy => &mut app.proxy.form,
        Step::Server => &mut app.server.form,
        Step::Accounts => &mut app.accounts.form,
        Step::Doctor | Step::Review | Step::Overview | Step::Relays | Step::Backups => {
            return vec![]
        }
    };
    form.stage_paste(text);
    on_key(app, super::form::PASTE_KEY)
}

/// Which key table applies now.
pub fn key_screen(app: &App) -> Screen {
    match (app.focus, app.step) {
        (Focus::Sidebar, _) => Screen::Sidebar,
        (Focus::Content, Step::Basics) => Screen::Basics,
        (Focus::Content, Step::Email) => Screen::Email,
        (Focus::Content, Step::Handle) => Screen::Handle,
        (Focus::Content, Step::DidFile) => Screen::DidFile,
        (Focus::Content, Step::Proxy) if app.proxy.preview => Screen::ProxyPreview,
        (Focus::Content, Step::Proxy) => Screen::Proxy,
        (Focus::Content, Step::Doctor) => Screen::Doctor,
        (Focus::Content, Step::More) => Screen::More,
        (Focus::Content, Step::Review) => Screen::Review,
        (Focus::Content, Step::Overview) => Screen::Overview,
        (Focus::Content, Step::Server) => Screen::Server,
        (Focus::Content, Step::Accounts) => Screen::Accounts,
        (Focus::Content, Step::Relays) => Screen::Relays,
        (Focus::Content, Step::Backups) => Screen::Backups,
    }
}

/// A key: looked up in the current screen's table (see `keys`), then carried out by
/// command; keys no table lists are typing, for the screen's form.
fn on_key(app: &mut App, k: KeyEvent) -> Vec<Effect> {
    if let Some(modal) = app.modal.clone() {
        return popups::on_key(app, modal, k);
    }
    let screen = key_screen(app);
    let command = keys::command(screen, &k);
    match command {
        Some(Command::Quit) => return request_quit(app),
        Some(Command::Help) => {
            app.modal = Some(Modal::Help);
            return vec![];
        }
        Some(Command::ReviewAndSave) => {
            if app.step == Step::Review && app.focus == Focus::Content {
                return save(app);
            }
            app.step = Step::Review;
            app.focus = Focus::Content;
            return vec![];
        }
        Some(Command::Back) => {
            app.focus = Focus::Sidebar;
            return vec![];
        }
        _ => {}
    }
    match screen {
        Screen::Sidebar => on_sidebar_key(app, command),
        Screen::Basics => match app.basics.on_key(k) {
            Some((key, value)) => app.set_edit(key, value),
            None => vec![],
        },
        Screen::More => match app.more.on_key(k) {
            Some((key, value)) => app.set_edit(key, value),
            None => vec![],
        },
        Screen::Review => match command {
            Some(Command::Save) => save(app),
            Some(Command::Reload) => vec![Effect::Reload(app.env_path.clone())],
            _ => vec![],
        },
        // Every other step is a room: the key goes to it.
        _ => rooms::on_key(app, command, k),
    }
}

/// Carry out what a step asked for.
fn apply(app: &mut App, step: Step, outcome: Outcome<Effect>) -> Vec<Effect> {
    let effects = |v: Vec<(Ticket, Effect)>| v.into_iter().map(|(_, e)| e).collect();
    match outcome {
        Outcome::Nothing => vec![],
        Outcome::Effects(v) => effects(v),
        Outcome::Working(line, v) => {
            app.status = Some((Level::Info, line));
            effects(v)
        }
        Outcome::All(all) => all.into_iter().flat_map(|o| apply(app, step, o)).collect(),
        Outcome::Save => save(app),
        Outcome::Unsay => {
            app.status = None;
            vec![]
        }
        Outcome::Ask { title, body, wide } => {
            app.modal = Some(Modal::Ask {
                step,
                title,
                body,
                wide,
            });
            vec![]
        }
        Outcome::Status(level, line) => {
            app.status = Some((level, line));
            vec![]
        }
        Outcome::Open(modal) => {
            app.modal = Some(modal);
            vec![]
        }
        Outcome::GoTo {
            target,
            subject,
            said,
        } => {
            let effects = go_to(app, target, subject.as_deref());
            if said.is_some() {
                app.status = said;
            }
            effects
        }
        Outcome::Edited => match step {
            Step::Email => {
                let effects = app.email_changed();
                if let Some(note) = app.email.note.take() {
                    app.status = Some(note);
                }
                effects
            }
            Step::Handle => {
                // The atproto-did step follows the handle and DID chosen here.
                if let Ok((h, d)) = app.handle.target() {
                    app.didfile.prefill(h.as_str(), d.as_str());
                }
                vec![]
            }
            _ => vec![],
        },
    }
}

/// Open `step` with the focus on its content, starting what it needs the first time (the
/// doctor's run, the accounts list).
fn open_step(app: &mut App, step: Step) -> Vec<Effect> {
    app.step = step;
    app.focus = Focus::Content;
    if step == Step::Proxy {
        // What serves 80/443 here now: the proxy step starts from it.
        app.look_at_front();
    }
    rooms::opened(app, step)
}

/// Open the step that fixes `target`, with the cursor on its field. `subject` is what the
/// finding is about: a pds.env key (the field that holds it, on whichever form has it) or a
/// handle (that account picked, and its check run again once the accounts are loaded).
fn go_to(app: &mut App, target: Target, subject: Option<&str>) -> Vec<Effect> {
    if let (Target::EnvFile, Some(key)) = (target, subject) {
        if let Some(step) = step_for_key(key) {
            let effects = open_step(app, step);
            match step {
                Step::Basics => app.basics.form.focus_key(key),
                Step::More => app.more.form.focus_key(key),
                _ => false,
            };
            return effects;
        }
    }
    let (step, field) = place(target);
    let mut effects = open_step(app, step);
    if let Some(key) = field {
        match step {
            Step::Basics => app.basics.form.focus_key(key),
            Step::Proxy => app.proxy.form.focus_key(key),
            _ => false,
        };
    }
    if let (Target::Handle, Some(handle)) = (target, subject) {
        let o = app.handle.want(handle, &mut screen_ctx!(app));
        effects.extend(said(app, Step::Handle, o, Effect::Handle));
    }
    effects
}

fn on_sidebar_key(app: &mut App, command: Option<Command>) -> Vec<Effect> {
    let i = app.step.index();
    let n = Step::ALL.len();
    match command {
        Some(Command::StepUp) => app.step = Step::ALL[(i + n - 1) % n],
        Some(Command::StepDown) => app.step = Step::ALL[(i + 1) % n],
        Some(Command::OpenStep) => return open_step(app, app.step),
        _ => {}
    }
    vec![]
}

fn request_quit(app: &mut App) -> Vec<Effect> {
    if app.has_unsaved() {
        app.modal = Some(Modal::ConfirmQuit);
        vec![]
    } else if app.doctor.started.is_some() {
        // Results on screen are lost by a quit: ask, as for unsaved answers.
        app.modal = Some(Modal::ConfirmQuitResults);
        vec![]
    } else {
        app.quit = true;
        vec![Effect::Quit]
    }
}

pub(crate) fn save(app: &mut App) -> Vec<Effect> {
    if !app.working.is_modified() {
        app.save_result = Some((
            Level::Info,
            "Nothing to save: pds.env already says all of this.".into(),
        ));
        return vec![];
    }
    // A new name for a PDS that has one: the accounts it hosts are looked up first, and a
    // rename with accounts is saved only once confirmed (see setup::rename).
    let host = |d: &crate::envfile::Document| {
        d.get("PDS_HOSTNAME")
            .map(|h| h.trim().to_ascii_lowercase())
            .unwrap_or_default()
    };
    let (old, new) = (host(&app.base), host(&app.working));
    if !old.is_empty() && old != new && app.rename_confirmed.as_deref() != Some(new.as_str()) {
        let job = app.jobs.start();
        app.rename_check = Some(job);
        app.save_result = Some((
            Level::Info,
            format!("Renaming the PDS to {new}: looking for the accounts it hosts…"),
        ));
        let saved = Box::new(app.base.clone());
        return vec![Effect::CheckRename {
            ticket: job.ticket,
            saved,
            to: new,
        }];
    }
    vec![Effect::Save(Box::new(app.working.clone()))]
}

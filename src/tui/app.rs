//! TUI state and `update`: every input becomes an `Action`, `update` folds it into the state
//! and returns `Effect`s (save, draft, quit) that the loop runs outside, so all of this is
//! testable without a terminal.

use super::draft::{self, Draft};
use super::jobs::{self, Tickets};
use super::keys::{self, Command, Screen};
pub use super::msg::{Action, Effect, SignalKind, Ticket};
use super::outcome::{Ctx, Outcome};
pub use super::route::{landing, place, step_for_key, Step};
use super::screens::basics::Basics;
use super::screens::didfile::DidFileScreen;
use super::screens::doctor::DoctorScreen;
use super::screens::email::{EmailScreen, PdsTest, TestState};
use super::screens::handle::{Accounts, HandleScreen, Refresh};
use super::screens::proxy::ProxyScreen;
use super::screens::settings::Settings as MoreSettings;
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
        }
    };
}

/// How a step looks in the sidebar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    Done,
    Attention,
    Edited,
    Open,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Sidebar,
    Content,
}

pub use super::modal::Modal;

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
    pub overview: super::screens::setup::OverviewScreen,
    pub server: super::screens::setup::ServerScreen,
    pub accounts: super::screens::setup::AccountsScreen,
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

/// Record which results make a step's choices worth keeping in the answers file (a stale
/// result never gets here: `update` drops it first).
fn note_answered(app: &mut App, action: &Action) {
    let due = match action {
        Action::ProxyWritten(Ok(_)) => {
            app.answered.proxy = true;
            true
        }
        Action::DidFileWritten(Ok(_)) => {
            app.answered.did_file = true;
            true
        }
        Action::TestMailDone(..) => {
            app.answered.recipient = true;
            true
        }
        Action::HandleVerified(_, r) => {
            let h = r.handle.as_str().to_string();
            app.answered.handles.retain(|x| *x != h);
            app.answered.handles.push(h);
            // A short list: the handles this operator looks after, not every one ever typed.
            if app.answered.handles.len() > 10 {
                app.answered.handles.remove(0);
            }
            true
        }
        Action::Saved(Ok(_)) => true,
        _ => false,
    };
    app.answers_due |= due;
}

impl App {
    /// Fill the steps from a saved answers file.
    pub fn load_answers(&mut self, a: &crate::answers::Answers) {
        self.saved_answers = a.clone();
        if let Some(r) = &a.email.test_recipient {
            self.email.set_recipient(r);
            self.answered.recipient = true;
        }
        if let Some(p) = &a.proxy {
            self.proxy.load_answers(p);
            self.proxy.refresh(&self.working);
            self.answered.proxy = true;
        }
        if let Some(d) = &a.did_file {
            self.didfile.load_answers(d);
            self.answered.did_file = true;
        }
        self.answered.handles = a.doctor.handles.clone();
        if let Some(h) = a.doctor.handles.last() {
            self.handle.set_handle(h);
        }
    }

    /// The answers as the steps hold them now; what no step shows (an ACME email, ports)
    /// is kept as it was loaded.
    pub fn current_answers(&self) -> crate::answers::Answers {
        let mut a = self.saved_answers.clone();
        if self.answered.recipient {
            let r = self.email.recipient();
            a.email.test_recipient = Some(r).filter(|r| !r.trim().is_empty());
        }
        if self.answered.proxy {
            a.proxy = Some(self.proxy.to_answers(a.proxy.as_ref()));
        }
        if self.answered.did_file {
            a.did_file = self.didfile.to_answers();
        }
        a.doctor.handles = self.answered.handles.clone();
        a
    }

    /// In the demo, what a step cannot do here for want of a stand-in, and what it would
    /// do on a real server.
    pub fn demo_note(&self, step: Step) -> Option<String> {
        use crate::demo::Kind;
        let standins = self.demo_standins.as_ref()?;
        let needs: &[Kind] = match step {
            Step::Email => &[Kind::Smtp],
            Step::Handle => &[Kind::Pds, Kind::Dns, Kind::Https],
            Step::DidFile => &[Kind::Https],
            Step::Doctor | Step::Overview => &[Kind::Pds, Kind::Smtp, Kind::Dns, Kind::Https],
            Step::Server => &[Kind::Dns],
            Step::Accounts => &[Kind::Pds],
            _ => &[],
        };
        let missing: Vec<Kind> = needs
            .iter()
            .copied()
            .filter(|k| !standins.iter().any(|s| s.kind == *k && s.live))
            .collect();
        let first = missing.first()?;
        let mut note = format!("Demo: {}", first.without());
        if missing.len() > 1 {
            let rest: Vec<&str> = missing[1..].iter().map(|k| k.label()).collect();
            note.push_str(&format!(" (nor {})", rest.join(", ")));
        }
        note.push('.');
        Some(note)
    }

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
            server: super::screens::setup::ServerScreen::new(
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

    /// Offer to restore the edits a quit left behind.
    pub fn offer_draft(&mut self, draft: Draft) {
        self.modal = Some(Modal::RestoreDraft(draft));
    }

    /// pds.env as it now is on disk (saved or reloaded): the settings follow it.
    fn set_base(&mut self, doc: Document) {
        self.settings = Resolved::new(&self.settings.flags, Some(&doc));
        self.email.note_base(&doc);
        self.base = doc;
        self.recompute();
    }

    pub fn has_unsaved(&self) -> bool {
        !self.edits.is_empty()
    }

    /// What serves 80/443 here (in the demo: only what its sandbox's compose.yaml runs),
    /// for the proxy step to start from.
    pub fn look_at_front(&mut self) {
        let dir = crate::pds::service::data_dir(&self.working, &self.env_path);
        let dir = self.settings.flags.place(&dir);
        let present = crate::proxy::install::present(Some(&dir), !self.demo);
        if present != self.proxy.present {
            self.proxy.adopt(present, &self.working);
        }
    }

    /// Rebuild `working` from `base` + edits, and every field's findings.
    pub fn recompute(&mut self) {
        let mut working = self.base.clone();
        let mut errors: BTreeMap<String, String> = BTreeMap::new();
        // In catalogue order, so new keys land in the file as the installer would order them.
        let position = |k: &str| {
            catalogue::KEYS
                .iter()
                .position(|i| i.name == k)
                .unwrap_or(usize::MAX)
        };
        let mut ordered: Vec<(&String, &String)> = self.edits.iter().collect();
        ordered.sort_by_key(|(k, _)| position(k));
        for (key, value) in ordered {
            let required = catalogue::lookup(key).is_some_and(|k| k.required);
            let result = if value.is_empty() && !required {
                working.unset(key).map(|_| ())
            } else {
                working.set(key, value)
            };
            if let Err(e) = result {
                errors.insert(key.clone(), e.to_string());
            }
        }
        errors.extend(self.blocked.clone());
        self.working = working;
        self.handle.own_domains = crate::setup::accounts::own_domains(
            Some(&self.working),
            self.settings.hostname.as_deref(),
        );
        self.errors = errors.clone();
        self.pending_diff = masked_diff(&self.base.original_text(), &self.working.render());
        self.working_findings = envfile::check(&self.working, None);
        self.basics.refresh_findings(&self.base, &errors);
        self.more.refresh_findings(&self.working, &errors);
        // The proxy follows pds.env as it will be saved (hostname, port, blob limit).
        self.proxy.refresh(&self.working);
    }

    /// Where the Reverse proxy step writes by default (the sandbox in --demo).
    pub fn set_proxy_root(&mut self, root: &std::path::Path) {
        self.proxy = ProxyScreen::new(root);
        self.proxy.refresh(&self.working);
    }

    /// Record what the operator typed for `key`.
    pub fn set_edit(&mut self, key: &str, value: String) -> Vec<Effect> {
        let current = self.base.get(key).unwrap_or_default();
        if value == current {
            self.edits.remove(key);
        } else {
            self.edits.insert(key.to_string(), value);
        }
        self.recompute();
        vec![self.draft_effect()]
    }

    /// The Email screen changed: its two edits, or why it cannot produce them.
    pub fn email_changed(&mut self) -> Vec<Effect> {
        match self.email.edits() {
            Ok(pairs) => {
                self.blocked.remove(URL_KEY);
                for (k, v) in pairs {
                    if self.base.get(k).unwrap_or_default() == v {
                        self.edits.remove(k);
                    } else {
                        self.edits.insert(k.to_string(), v);
                    }
                }
            }
            Err(reason) => {
                self.edits.remove(URL_KEY);
                self.edits.remove(FROM_KEY);
                self.blocked.insert(URL_KEY.to_string(), reason);
            }
        }
        self.recompute();
        vec![self.draft_effect()]
    }

    /// Rebuild the screens from the working document (after restoring a draft).
    pub(crate) fn reload_screens(&mut self) {
        self.basics = Basics::new(&self.working);
        self.more = MoreSettings::new(&self.working);
        self.email = EmailScreen::new(&self.working);
        self.recompute();
    }

    pub(crate) fn draft_effect(&self) -> Effect {
        if self.edits.is_empty() {
            Effect::DeleteDraft(self.env_path.clone())
        } else {
            Effect::WriteDraft(self.draft())
        }
    }

    pub fn draft(&self) -> Draft {
        Draft::of(
            self.env_path.clone(),
            draft::fingerprint(self.base.original_text().as_bytes()),
            &self.edits,
        )
    }

    /// Whether any background job is pending (the event loop then ticks the spinner).
    /// Whether `action` is still awaited: a background result whose request is the one its
    /// step waits for (a result that comes after the operator changed the question — edited
    /// the plan, the handle, the mail settings — or started it again answers a question
    /// nobody asks any more), or anything that is not a background result. Every result
    /// kind is named here, so a new one cannot be forgotten.
    pub fn awaits(&self, action: &Action) -> bool {
        use super::msg::Done;
        use super::screens::setup::List;
        let Some(t) = action.ticket() else {
            return true;
        };
        let is = |p: &Option<jobs::Pending>| jobs::is_current(p, t);
        match action {
            Action::TestMailDone(..) => {
                matches!(&self.email.test, TestState::Pending { job, .. } if job.is_for(t))
            }
            Action::AccountsLoaded(..) => {
                matches!(self.handle.accounts, Accounts::Loading(l) if l == t)
            }
            Action::PdsReady(..) => {
                matches!(&self.email.pds_test, PdsTest::Waiting(job) if job.is_for(t))
            }
            Action::PdsSent(..) => {
                matches!(&self.email.pds_test, PdsTest::Sending(job, _) if job.is_for(t))
            }
            Action::HandleVerified(..) => is(&self.handle.pending),
            Action::HandleRefreshed(..) => {
                matches!(&self.handle.refresh, Some(Refresh::Pending(job)) if job.is_for(t))
            }
            Action::ReportWritten(..) => is(&self.doctor.report),
            Action::CodesLoaded(..) => is(&self.email.codes),
            Action::DidFileChecked(..) => is(&self.didfile.pending),
            Action::ProxyValidated(..) => is(&self.proxy.pending),
            Action::DoctorResult(..) => self.doctor.awaits(t),
            Action::DoctorDone(_) => self.doctor.is_current_run(t),
            Action::Setup(_, done) => match done.as_ref() {
                Done::Overview(_) => is(&self.overview.pending),
                Done::Server { .. } => is(&self.server.checking),
                Done::Written(_) => is(&self.server.writing),
                Done::Progress(_) | Done::Started(_) => is(&self.server.starting),
                Done::Rename(_) => is(&self.rename_check),
                Done::Accounts(_) => matches!(self.accounts.list, List::Loading(l) if l == t),
                Done::Created(_)
                | Done::Invite(_)
                | Done::Reset(_)
                | Done::Checked(_)
                | Done::Moved(_) => is(&self.accounts.pending),
            },
            // Not background results (`ticket` is None for them).
            Action::Key(_)
            | Action::Paste(_)
            | Action::Resize
            | Action::Signal(_)
            | Action::Saved(_)
            | Action::Reloaded(_)
            | Action::Tick
            | Action::RestartCommand(_)
            | Action::Restarted(_)
            | Action::AutoRecheck
            | Action::DidFileWritten(_)
            | Action::ProxyWritten(_)
            | Action::ProxyReloaded(_) => true,
        }
    }

    pub fn busy(&self) -> bool {
        matches!(self.email.test, TestState::Pending { .. })
            || matches!(self.handle.accounts, Accounts::Loading(_))
            || self.handle.pending.is_some()
            || self.didfile.pending.is_some()
            || self.proxy.pending.is_some()
            || self.doctor.running()
            || self.overview.pending.is_some()
            || self.server.busy()
            || self.accounts.pending.is_some()
            || matches!(self.accounts.list, super::screens::setup::List::Loading(_))
            || self.email.codes.is_some()
            || matches!(self.handle.refresh, Some(Refresh::Pending(_)))
            || matches!(
                self.email.pds_test,
                PdsTest::Waiting(_) | PdsTest::Sending(..)
            )
    }

    pub fn mark(&self, step: Step) -> Mark {
        let edited = |keys: &[&str]| {
            keys.iter()
                .any(|k| self.edits.contains_key(*k) || self.blocked.contains_key(*k))
        };
        // A form of pds.env keys: a failing field first, then unsaved answers, then `rest`.
        let form_mark = |form: &super::form::Form, rest: Mark| {
            let keys: Vec<&str> = form.fields.iter().map(|f| f.key).collect();
            if form.fields.iter().any(|f| f.worst() == Level::Fail) {
                Mark::Attention
            } else if edited(&keys) {
                Mark::Edited
            } else {
                rest
            }
        };
        match step {
            Step::Basics => form_mark(&self.basics.form, Mark::Done),
            Step::Email => {
                // pds.env as it stands makes the PDS fail, and nothing on screen replaces it.
                let misread = self.email.misread.as_ref().is_some_and(|m| m.fails())
                    && !edited(&[URL_KEY, FROM_KEY]);
                if self.email.worst() == Level::Fail || misread {
                    Mark::Attention
                } else if edited(&[URL_KEY, FROM_KEY]) {
                    Mark::Edited
                } else if self.base.get(URL_KEY).is_some_and(|u| !u.is_empty()) {
                    Mark::Done
                } else {
                    Mark::Open
                }
            }
            Step::Handle => match &self.handle.report {
                Some(r) if r.verified => Mark::Done,
                Some(_) => Mark::Attention,
                None => Mark::Open,
            },
            Step::DidFile => match self.didfile.worst() {
                Level::Pass => Mark::Done,
                Level::Fail => Mark::Attention,
                _ => Mark::Open,
            },
            Step::Proxy => match (self.proxy.worst(), &self.proxy.validation) {
                (Level::Fail, _) => Mark::Attention,
                (_, Some(v)) if v.validated() && self.proxy.written.is_some() => Mark::Done,
                _ => Mark::Open,
            },
            Step::Doctor => match self.doctor.worst() {
                Level::Fail => Mark::Attention,
                Level::Pass if self.doctor.all_done() => Mark::Done,
                _ => Mark::Open,
            },
            // Nothing here is required: done once something is set (and valid).
            Step::More => form_mark(
                &self.more.form,
                if self.more.any_set() {
                    Mark::Done
                } else {
                    Mark::Open
                },
            ),
            Step::Review if self.working.is_modified() => Mark::Edited,
            Step::Review => Mark::Open,
            Step::Overview => match self.overview.worst() {
                Some(crate::setup::State::Done) => Mark::Done,
                Some(crate::setup::State::Todo) => Mark::Attention,
                _ => Mark::Open,
            },
            Step::Server => match (&self.server.plan, &self.server.running) {
                (Some(p), Some(r)) if p.ready() && r.is_up() => Mark::Done,
                (Some(p), _) if !p.ready() => Mark::Attention,
                _ => Mark::Open,
            },
            Step::Accounts if !self.accounts.accounts().is_empty() => Mark::Done,
            Step::Accounts => Mark::Open,
        }
    }

    /// Answers that could not be applied, with the reason.
    pub fn rejected(&self) -> Vec<(String, String)> {
        self.errors
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

pub(crate) fn ctrl(k: &KeyEvent, c: char) -> bool {
    k.modifiers.contains(KeyModifiers::CONTROL) && k.code == KeyCode::Char(c)
}

pub fn update(app: &mut App, action: Action) -> Vec<Effect> {
    // The one place a stale result is dropped: nothing below, the answers file included,
    // sees an answer to a request that was overtaken or given up.
    if !app.awaits(&action) {
        return vec![];
    }
    note_answered(app, &action);
    match action {
        Action::Resize => vec![],
        Action::Signal(kind) => {
            // The terminal may be gone (SSH dropped): keep the edits and leave.
            app.quit = true;
            app.ended_by = Some(kind);
            let mut v = Vec::new();
            if app.has_unsaved() {
                v.push(Effect::WriteDraft(app.draft()));
            }
            v.push(Effect::Quit);
            v
        }
        Action::Saved(Ok((report, doc))) => {
            let rejected: Vec<String> = app.rejected().into_iter().map(|(k, _)| k).collect();
            let email_changed = [URL_KEY, FROM_KEY]
                .iter()
                .any(|k| app.base.get(k) != doc.get(k));
            app.edits.retain(|k, _| rejected.contains(k));
            app.set_base(doc);
            let mut msg = format!("Saved {}.", report.describe());
            // Which command restarts it is found off this thread (FindRestart, below).
            msg.push_str(" The PDS reads pds.env when it starts: restart it to apply.");
            app.save_result = Some((Level::Pass, msg.clone()));
            app.status = Some((Level::Pass, msg));
            let mut effects = vec![app.draft_effect()];
            if email_changed {
                // The PDS reads email settings only at start: offer (never force) a restart.
                app.email.verify_after_restart = true;
                effects.push(Effect::FindRestart);
            }
            effects
        }
        Action::Saved(Err(e)) => {
            app.save_result = Some((Level::Fail, e.clone()));
            app.status = Some((Level::Fail, e));
            vec![]
        }
        Action::Reloaded(Ok(doc)) => {
            app.set_base(doc);
            app.save_result = Some((
                Level::Info,
                "Reloaded pds.env from disk; your answers are applied on top. Review, then save."
                    .into(),
            ));
            vec![]
        }
        Action::Reloaded(Err(e)) => {
            app.status = Some((Level::Fail, e));
            vec![]
        }
        Action::Key(k) => on_key(app, k),
        Action::Paste(text) => on_paste(app, text),
        Action::Tick => {
            app.spinner = app.spinner.wrapping_add(1);
            vec![]
        }
        Action::AccountsLoaded(_, result) => {
            app.handle.set_accounts(result);
            // A handle the doctor sent us to: picked and checked now that it can be.
            if let Some(h) = app.handle.wanted.take() {
                return app.handle.want(&h, &mut app.jobs, &app.settings);
            }
            vec![]
        }
        Action::HandleVerified(_, report) => {
            app.handle.pending = None;
            // Fixed after failing: offer to announce it, so apps stop showing "Invalid Handle".
            if report.verified && app.handle.failed_before {
                app.handle.failed_before = false;
                app.modal = Some(Modal::RefreshHandle(report.handle.as_str().to_string()));
            } else if !report.verified {
                app.handle.failed_before = true;
            }
            app.status = Some((
                if report.verified {
                    Level::Pass
                } else {
                    Level::Fail
                },
                report.verdict(),
            ));
            app.handle.report = Some(report);
            match app.handle.auto_interval() {
                Some(every) => vec![Effect::ScheduleRecheck(every)],
                None => vec![],
            }
        }
        Action::HandleRefreshed(_, r) => {
            app.status = Some((
                r.level,
                match (r.level, r.steps.iter().find(|f| f.level == r.level)) {
                    (Level::Fail, Some(f)) => format!("The handle was not announced: {}", f.what),
                    (Level::Warn, Some(f)) => format!("{} announced again, but: {}", r.handle, f.what),
                    _ => format!("{} announced again: apps show it once the AppView re-checks it (usually within minutes).", r.handle),
                },
            ));
            app.handle.refresh = Some(Refresh::Done(r));
            vec![]
        }
        Action::AutoRecheck => {
            if app.handle.auto_interval().is_some() && app.handle.pending.is_none() {
                let outcome = app.handle.check(&mut screen_ctx!(app));
                apply(app, Screen::Handle, outcome)
            } else {
                vec![]
            }
        }
        Action::DidFileWritten(result) => {
            app.didfile.written = Some(match result {
                Ok(path) => Finding::pass(format!("wrote {path}")),
                Err(e) => Finding::fail(e),
            });
            vec![]
        }
        Action::DidFileChecked(_, check) => {
            app.didfile.pending = None;
            app.status = Some((check.finding.level, check.finding.what.clone()));
            app.didfile.check = Some(check);
            vec![]
        }
        Action::ProxyValidated(_, v) => {
            app.proxy.pending = None;
            app.status = Some((v.finding.level, v.finding.what.clone()));
            let ok = v.finding.level != Level::Fail;
            app.proxy.validation = Some(*v);
            if std::mem::take(&mut app.proxy.write_after_check) && ok {
                let outcome = app.proxy.open_write();
                return apply(app, Screen::Proxy, outcome);
            }
            vec![]
        }
        Action::ProxyWritten(Ok(lines)) => {
            let server = app.proxy.server();
            let what = if lines.is_empty() {
                "Nothing to write: the files already say this.".to_string()
            } else {
                lines.join("; ")
            };
            app.proxy.written = Some(Finding::pass(what.clone()));
            app.status = Some((Level::Pass, what.clone()));
            match crate::proxy::install::reload_command_for(server, &app.proxy.out_path()) {
                Some(_) if app.demo => {
                    app.status =
                        Some((Level::Pass, format!("{what} (demo: no server is reloaded)")));
                }
                Some(cmd) if !lines.is_empty() => {
                    // nginx reads sites-enabled only: a new site there is linked first
                    // (asked), then the reload is offered.
                    match crate::proxy::install::site_link(&app.proxy.out_path()) {
                        Some((link, target)) if server == crate::proxy::Server::Nginx => {
                            app.modal = Some(Modal::Confirm {
                                title: " Enable the site? ".into(),
                                body: format!(
                                    "nginx reads only the sites linked from sites-enabled. Link\n\n  {} → {}\n\nthen offer the reload?\n\ny: link   n: not now",
                                    link.display(),
                                    target.display()
                                ),
                                then: super::modal::Confirmed::EnableSite {
                                    link,
                                    target,
                                    reload: cmd,
                                },
                            });
                        }
                        _ => app.modal = Some(Modal::ProxyReload(cmd)),
                    }
                }
                _ => {}
            }
            vec![]
        }
        Action::ProxyWritten(Err(e)) => {
            app.proxy.written = Some(Finding::fail(e.clone()));
            app.status = Some((Level::Fail, e));
            vec![]
        }
        Action::ProxyReloaded(r) => {
            app.status = Some(match r {
                Ok(()) => (
                    Level::Pass,
                    format!("{} reloaded the new config.", app.proxy.server()),
                ),
                Err(e) => (Level::Fail, e),
            });
            vec![]
        }
        Action::ReportWritten(_, written) => {
            app.doctor.report = None;
            app.status = Some(match written {
                Ok(path) => (
                    Level::Pass,
                    format!(
                        "Report written to {} (secrets masked): paste it into a support thread.",
                        path.display()
                    ),
                ),
                Err(e) => (Level::Fail, e),
            });
            vec![]
        }
        Action::DoctorResult(ticket, r) => {
            app.doctor.finish(ticket, *r);
            vec![]
        }
        Action::DoctorDone(_) => {
            let w = app.doctor.worst();
            app.status = Some((
                w,
                match w {
                    Level::Fail => {
                        "The doctor found problems: pick one to see its cause and fix.".to_string()
                    }
                    Level::Warn => "The doctor found warnings only.".to_string(),
                    _ => "Every doctor check passed.".to_string(),
                },
            ));
            vec![]
        }
        Action::CodesLoaded(_, r) => {
            app.email.codes = None;
            app.status = None;
            app.modal = Some(Modal::Codes(super::strings::pending_codes(r)));
            vec![]
        }
        Action::TestMailDone(_, mut report) => {
            // Tested while the form shows pds.env's URL as the PDS misreads it (the repair
            // put off): the misreading is the cause, not the spelling of the host it made.
            if report.finding.level == Level::Fail {
                if let Some(m) = app
                    .email
                    .misread
                    .as_ref()
                    .filter(|m| m.state != super::screens::email::MisreadState::Repaired)
                {
                    let meant = m
                        .repair
                        .as_ref()
                        .map(|r| format!(" (you meant {})", r.settings.host))
                        .unwrap_or_default();
                    report.finding.fix = format!(
                        "These are pds.env's settings as the PDS misreads them: the URL is not encoded, so the host and login tested are not the ones you wrote{meant}. {} repairs it (or: pds-wizard email repair); then test again.",
                        keys::label(keys::Screen::Email, keys::Command::Repair)
                    );
                }
            }
            app.status = Some((report.finding.level, report.finding.what.clone()));
            let passed = report.finding.level == Level::Pass;
            app.email.test = TestState::Done(report);
            // Settings that work are worth keeping: offer to save them at once.
            if passed
                && [URL_KEY, FROM_KEY]
                    .iter()
                    .any(|k| app.edits.contains_key(*k))
            {
                app.modal = Some(Modal::SaveEmail);
            }
            vec![]
        }
        Action::PdsReady(_, Ok(accounts)) => {
            app.email.pds_test = PdsTest::Idle;
            app.status = Some((Level::Pass, "The PDS answers.".into()));
            let prefer = app.email.recipient();
            match crate::email::via_pds::pick(&accounts, "", &prefer) {
                Some(a) => {
                    let index = accounts.iter().position(|x| x.did == a.did).unwrap_or(0);
                    app.modal = Some(Modal::PdsSend { accounts, index });
                }
                None => {
                    app.email.pds_test = PdsTest::Done(Box::new(crate::email::via_pds::PdsSend {
                        outcome: crate::email::via_pds::Outcome::NoAccount,
                        finding: Finding::warn("no account on this PDS has an email address, so the PDS has no one to mail")
                            .fix("Create the first account, then Ctrl-P here."),
                        account: None,
                        log: Vec::new(),
                        elapsed_ms: 0,
                        settings: crate::email::via_pds::Settings::NotCompared,
                    }));
                }
            }
            vec![]
        }
        Action::PdsReady(_, Err(finding)) => {
            app.status = Some((finding.level, finding.what.clone()));
            app.email.pds_test = PdsTest::Done(Box::new(crate::email::via_pds::PdsSend {
                outcome: crate::email::via_pds::Outcome::Unreachable,
                finding,
                account: None,
                log: Vec::new(),
                elapsed_ms: 0,
                settings: crate::email::via_pds::Settings::NotCompared,
            }));
            vec![]
        }
        Action::PdsSent(_, r) => {
            app.status = Some((r.finding.level, r.finding.what.clone()));
            if r.outcome == crate::email::via_pds::Outcome::Sent {
                app.email.verify_after_restart = false;
            }
            app.email.pds_test = PdsTest::Done(r);
            vec![]
        }
        Action::RestartCommand(Some(cmd)) => {
            app.modal = Some(Modal::Restart(cmd));
            vec![]
        }
        Action::RestartCommand(None) => {
            app.status = Some((Level::Info, "Restart the PDS so it uses the new email settings (no systemd unit or compose file here; --restart-command names yours), then Ctrl-P in the Email step has the PDS send.".into()));
            vec![]
        }
        Action::Restarted(Ok(())) => {
            app.status = Some((
                Level::Pass,
                "The PDS was restarted with the new settings.".into(),
            ));
            if app.email.verify_after_restart {
                // "Email works" means the PDS sent mail: once it answers again, offer that.
                app.email.verify_after_restart = false;
                let wait = app.settings.flags.timeout * 2;
                let e = app.email.ask_pds(&mut app.jobs, &app.settings, wait);
                app.status = Some((
                    Level::Info,
                    "The PDS was restarted; waiting for it to answer…".into(),
                ));
                return vec![e];
            }
            vec![]
        }
        Action::Restarted(Err(e)) => {
            app.status = Some((Level::Fail, e));
            vec![]
        }
        Action::Setup(_, done) => on_setup_done(app, *done),
    }
}

/// A first-setup job's result (one still awaited: see `App::awaits`).
fn on_setup_done(app: &mut App, done: super::msg::Done) -> Vec<Effect> {
    use super::msg::Done;
    match done {
        Done::Overview(o) => {
            app.overview.done(o);
        }
        Done::Server {
            plan,
            running,
            docker,
        } => {
            app.server.checking = None;
            app.server.plan = plan;
            app.server.running = Some(running);
            app.server.docker = Some(docker);
        }
        Done::Progress(p) => {
            app.server.progress = Some(p);
        }
        Done::Written(r) => {
            app.server.writing = None;
            // compose.yaml may now run the installer's Caddy: the proxy step starts from it.
            app.look_at_front();
            app.server.said = Some(match r {
                Ok(lines) => (Level::Pass, lines.join("; ")),
                Err(e) => (Level::Fail, e),
            });
            // "Writing the service files…" is over: the status line says how it went.
            app.status = app.server.said.clone();
            return vec![app.server.check(&mut screen_ctx!(app))];
        }
        Done::Started(r) => {
            app.server.starting = None;
            app.server.progress = None;
            app.server.answered = Some(r.is_ok());
            app.server.said = Some(match r {
                Ok(s) => (Level::Pass, s),
                Err(e) => (Level::Fail, e),
            });
            app.status = app.server.said.clone();
            // How it runs now, either way: a unit may be active while the PDS fails.
            return vec![app.server.check(&mut screen_ctx!(app))];
        }
        Done::Rename(r) => {
            app.rename_check = None;
            match r.filter(|r| r.needs_confirmation()) {
                Some(r) => {
                    app.save_result = None;
                    app.modal = Some(Modal::Confirm {
                        title: " Rename the PDS? ".into(),
                        body: format!(
                            "{}\n\ny: save the new name anyway   n: keep {}",
                            r.explain(),
                            r.from
                        ),
                        then: super::modal::Confirmed::Rename(r.to.clone()),
                    });
                }
                None => {
                    let to = app
                        .working
                        .get("PDS_HOSTNAME")
                        .map(|h| h.trim().to_ascii_lowercase());
                    app.rename_confirmed = to;
                    return save(app);
                }
            }
        }
        Done::Accounts(r) => {
            app.accounts.set_list(r);
            app.accounts.judge(&screen_ctx!(app));
        }
        d @ (Done::Created(_)
        | Done::Invite(_)
        | Done::Reset(_)
        | Done::Checked(_)
        | Done::Moved(_)) => {
            let moved = matches!(&d, Done::Moved(m) if m.moved);
            let (effects, modal) = app.accounts.done(d, &mut screen_ctx!(app));
            // The status line says how it went (never a password: those are in the pop-up).
            app.status = app
                .accounts
                .said
                .iter()
                .max_by_key(|f| f.level)
                .map(|f| (f.level, f.what.clone()));
            if modal.is_some() {
                app.modal = modal;
            }
            if moved {
                // Other steps list accounts too: they load again when opened.
                app.handle.accounts = Accounts::NotLoaded;
            }
            return effects;
        }
    }
    vec![]
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
        Step::Doctor | Step::Review | Step::Overview => return vec![],
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
    }
}

/// A key: looked up in the current screen's table (see `keys`), then carried out by
/// command; keys no table lists are typing, for the screen's form.
fn on_key(app: &mut App, k: KeyEvent) -> Vec<Effect> {
    if let Some(modal) = app.modal.clone() {
        return super::modal::on_key(app, modal, k);
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
    let outcome = match screen {
        Screen::Sidebar => return on_sidebar_key(app, command),
        Screen::Basics => {
            return match app.basics.on_key(k) {
                Some((key, value)) => app.set_edit(key, value),
                None => vec![],
            }
        }
        Screen::More => {
            return match app.more.on_key(k) {
                Some((key, value)) => app.set_edit(key, value),
                None => vec![],
            }
        }
        Screen::Review => {
            return match command {
                Some(Command::Save) => save(app),
                Some(Command::Reload) => vec![Effect::Reload(app.env_path.clone())],
                _ => vec![],
            }
        }
        Screen::Email => app.email.on_command(command, k, &mut screen_ctx!(app)),
        Screen::Handle => app.handle.on_command(command, k, &mut screen_ctx!(app)),
        Screen::DidFile => app.didfile.on_command(command, k, &mut screen_ctx!(app)),
        Screen::Proxy | Screen::ProxyPreview => {
            app.proxy.on_command(command, k, &mut screen_ctx!(app))
        }
        Screen::Doctor => app.doctor.on_command(command, &mut screen_ctx!(app)),
        Screen::Overview => app.overview.on_command(command, &mut screen_ctx!(app)),
        Screen::Server => app.server.on_command(command, k, &mut screen_ctx!(app)),
        Screen::Accounts => app.accounts.on_command(command, k, &mut screen_ctx!(app)),
    };
    apply(app, screen, outcome)
}

/// Carry out what a screen asked for.
fn apply(app: &mut App, screen: Screen, outcome: Outcome) -> Vec<Effect> {
    match outcome {
        Outcome::Nothing => vec![],
        Outcome::Effects(effects) => effects,
        Outcome::Working(line, effects) => {
            app.status = Some((Level::Info, line));
            effects
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
        Outcome::Edited => match screen {
            Screen::Email => {
                let effects = app.email_changed();
                if let Some(note) = app.email.note.take() {
                    app.status = Some(note);
                }
                effects
            }
            Screen::Handle => {
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
    if step == Step::Email
        && app.email.misread.as_ref().is_some_and(|m| {
            m.state == super::screens::email::MisreadState::Open && m.offer().is_some()
        })
    {
        app.modal = Some(Modal::Repair);
    }
    if step == Step::Overview && app.overview.pending.is_none() {
        // Checked afresh each time it is opened: it is where the operator comes back to.
        return vec![app.overview.start(&mut screen_ctx!(app))];
    }
    if step == Step::Proxy {
        app.look_at_front();
    }
    if step == Step::Server && app.server.plan.is_none() && app.server.checking.is_none() {
        return vec![app.server.check(&mut screen_ctx!(app))];
    }
    if step == Step::Accounts
        && matches!(
            app.accounts.list,
            super::screens::setup::List::NotLoaded | super::screens::setup::List::Failed(_)
        )
    {
        return vec![app.accounts.load(&mut screen_ctx!(app))];
    }
    if step == Step::Doctor && app.doctor.started.is_none() && !app.doctor.running() {
        let all = crate::doctor::CHECKS.iter().map(|c| c.id).collect();
        return vec![app.doctor.run(all, &mut app.jobs)];
    }
    if step == Step::Handle && matches!(app.handle.accounts, Accounts::NotLoaded) {
        let job = app.jobs.start();
        app.handle.accounts = Accounts::Loading(job.ticket);
        app.handle.refresh_findings();
        return vec![Effect::LoadAccounts {
            ticket: job.ticket,
            pds_url: app.settings.local_url.clone(),
            admin_password: app.settings.admin_password.clone(),
        }];
    }
    vec![]
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
        effects.extend(app.handle.want(handle, &mut app.jobs, &app.settings));
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
        return vec![Effect::Setup(
            job.ticket,
            super::msg::Job::CheckRename { saved, to: new },
        )];
    }
    vec![Effect::Save(Box::new(app.working.clone()))]
}

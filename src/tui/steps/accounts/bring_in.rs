//! Bringing an account here from another PDS in the Accounts step: its fields shown on the
//! first ^B, checked, the question, then `migrate::migrate_in` as `accounts migrate-in`
//! runs it; the end of each run said under its steps and in a pop-up.

use super::{AccountsScreen, Job, Question, MIGRATE_FROM, MIGRATE_PASSWORD, MIGRATE_TOKEN};
use super::{CREATE_EMAIL, CREATE_HANDLE};
use crate::finding::{Finding, Level};
use crate::identity::Handle;
use crate::tui::form::{Field, FieldKind};
use crate::tui::outcome::{Ctx, Outcome};
use crate::tui::steps::{ask, Said};

impl AccountsScreen {
    /// Whether the fields for bringing an account in are shown (after the first ^B: the
    /// step stays short for those who never move one in).
    pub fn bringing_in(&self) -> bool {
        self.form.fields.iter().any(|f| f.key == MIGRATE_FROM)
    }

    fn show_bring_in(&mut self, on: bool) {
        if on && !self.bringing_in() {
            self.form.fields.extend([
                Field::new(MIGRATE_FROM, "Bring in", FieldKind::Text, "").limit(253),
                Field::new(MIGRATE_PASSWORD, "Password there", FieldKind::Secret, "").limit(1024),
                Field::new(MIGRATE_TOKEN, "PLC token", FieldKind::Text, "").limit(64),
            ]);
        } else if !on {
            self.form
                .fields
                .retain(|f| ![MIGRATE_FROM, MIGRATE_PASSWORD, MIGRATE_TOKEN].contains(&f.key));
            if self.form.focused >= self.form.fields.len() {
                self.form.focused = 0;
            }
        }
    }

    /// ^B: the fields shown (the first time), checked, then the question, or on with the
    /// move once the PLC token is typed.
    pub(super) fn migrate(&mut self, ctx: &mut Ctx) -> Said<Self> {
        if !self.bringing_in() {
            self.show_bring_in(true);
            self.form.focus_key(MIGRATE_FROM);
            self.judge(ctx);
            return Outcome::Status(
                Level::Info,
                "Bring in: the account's handle or DID on its PDS now, and its password there; New account and Its email are its handle and email here. Then ^B.".into(),
            );
        }
        let from = self.form.text(MIGRATE_FROM).trim().to_string();
        let handle = self.form.text(CREATE_HANDLE);
        let email = self.form.text(CREATE_EMAIL);
        let token = self.form.text(MIGRATE_TOKEN).trim().to_string();
        if from.is_empty() {
            self.form.focus_key(MIGRATE_FROM);
            return Outcome::fail("Bring in: the account's handle or DID on its PDS now.");
        }
        let handle = match Handle::parse_usable(&handle) {
            Ok(h) => h,
            Err(e) => {
                self.form.focus_key(CREATE_HANDLE);
                return Outcome::fail(format!("New account: its handle here: {e}"));
            }
        };
        if let Err(e) = crate::envfile::catalogue::check_email(&email) {
            self.form.focus_key(CREATE_EMAIL);
            return Outcome::fail(format!("Its email here: {e}"));
        }
        if self.form.text(MIGRATE_PASSWORD).is_empty() {
            self.form.focus_key(MIGRATE_PASSWORD);
            return Outcome::fail("Password there: the account's own password on the old PDS.");
        }
        let req = Box::new(crate::migrate::Request {
            from: from.clone(),
            old_pds: None,
            handle: handle.clone(),
            email,
            plc_token: (!token.is_empty()).then_some(token),
            auth_code: None,
            bypass_upload_limit: false,
        });
        if req.plc_token.is_some() {
            let password = crate::secret::Secret::new(self.form.text(MIGRATE_PASSWORD));
            self.said.clear();
            return self.start(
                ctx,
                Job::Migrate(req, password),
                "Moving the DID and activating the account…",
            );
        }
        let body = format!("{from} moves to this PDS as {handle}, its DID kept. Every limit of this PDS is checked before anything is written; then the account, its repository, preferences and blobs are copied, and the old PDS mails a code to the account's address (valid 15 minutes) for the last step. Progress is saved: ^B goes on after any stop.\n\ny: bring it here   n: not now");
        ask(
            &mut self.asking,
            Question::Migrate(req),
            " Bring the account here? ",
            body,
            true,
        )
    }

    /// A migration's end, said under its steps: its title, and whether the list changed.
    pub(super) fn migrated(
        &mut self,
        r: Result<crate::migrate::Outcome, crate::migrate::Stop>,
    ) -> (&'static str, bool) {
        use crate::migrate::{Outcome as M, Stop};
        let title = match &r {
            Ok(M::WaitingForToken { .. }) => "Waiting for the PLC token",
            Ok(M::Moved { .. }) => "The account lives here now",
            Err(Stop::Blocked(_)) => "Not started: fix these first",
            Err(Stop::Failed(_)) => "Stopped: the progress is saved",
        };
        let reload = match r {
            Ok(M::WaitingForToken { expires_at, .. }) => {
                self.said.push(Finding::warn(format!(
                    "The old PDS has mailed a code to the account's address (valid until {}): type it in PLC token, then ^B",
                    crate::migrate::clock(expires_at)
                )));
                self.form.focus_key(MIGRATE_TOKEN);
                true
            }
            Ok(M::Moved { did, checks }) => {
                self.said.extend(checks);
                self.said.push(Finding::pass(format!(
                    "{} lives here now ({did}): it signs in with the same password",
                    self.form.text(CREATE_HANDLE)
                )));
                self.show_bring_in(false);
                true
            }
            Err(Stop::Blocked(blockers)) => {
                self.said.push(Finding::fail(
                    "Nothing was written: fix these first, then ^B again",
                ));
                self.said.extend(blockers);
                false
            }
            Err(Stop::Failed(f)) => {
                self.said.push(f);
                self.said.push(Finding::info(
                    "The progress so far is saved: ^B goes on from there",
                ));
                true
            }
        };
        (title, reload)
    }
}

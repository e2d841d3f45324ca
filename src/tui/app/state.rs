//! The state kept consistent: pds.env as it will be saved (edits applied and checked), the
//! draft of unsaved answers, whether anything is busy or unsaved.

use super::*;

impl App {
    /// Offer to restore the edits a quit left behind.
    pub fn offer_draft(&mut self, draft: Draft) {
        self.modal = Some(Modal::RestoreDraft(draft));
    }

    /// pds.env as it now is on disk (saved or reloaded): the settings follow it.
    pub(super) fn set_base(&mut self, doc: Document) {
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

    /// What a step may use of the app while it handles a key or starts a job.
    pub fn ctx(&mut self) -> Ctx<'_> {
        screen_ctx!(self)
    }

    /// The step as the frame and the sidebar see it (all but Review, which shows the whole
    /// change from the app's state).
    pub fn room(&self, step: Step) -> Option<&dyn crate::tui::steps::Drawn> {
        Some(match step {
            Step::Email => &self.email,
            Step::Handle => &self.handle,
            Step::DidFile => &self.didfile,
            Step::Proxy => &self.proxy,
            Step::Doctor => &self.doctor,
            Step::Overview => &self.overview,
            Step::Server => &self.server,
            Step::Accounts => &self.accounts,
            Step::Relays => &self.relays,
            Step::Backups => &self.backups,
            Step::Basics => &self.basics,
            Step::More => &self.more,
            Step::Review => return None,
        })
    }

    /// Whether any step waits for a background result (the spinner turns).
    pub fn busy(&self) -> bool {
        Step::ALL
            .iter()
            .filter_map(|s| self.room(*s))
            .any(|r| r.busy())
    }

    /// Answers that could not be applied, with the reason.
    pub fn rejected(&self) -> Vec<(String, String)> {
        self.errors
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

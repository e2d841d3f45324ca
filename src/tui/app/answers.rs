//! The answers file (pds-wizard.toml) as the wizard sees it: loaded into the steps, and
//! what they hold now.

use super::*;

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
}

//! The steps and where a finding's fix is: which step (and field) a `Target` lands on. A
//! leaf: steps that lead elsewhere (the doctor, the proxy) ask it, not the app.

use crate::email::{FROM_KEY, URL_KEY};
use crate::target::Target;

pub use super::step::Step;

/// Where a target is edited: its step and, when it is one field, that field's key.
pub fn place(target: Target) -> (Step, Option<&'static str>) {
    use super::steps::proxy as p;
    match target {
        Target::EnvFile => (Step::Review, None),
        Target::Crawlers => (Step::Basics, Some("PDS_CRAWLERS")),
        Target::Hostname => (Step::Basics, Some("PDS_HOSTNAME")),
        Target::InviteRequired => (Step::Basics, Some("PDS_INVITE_REQUIRED")),
        Target::UploadLimit => (Step::Basics, Some("PDS_BLOB_UPLOAD_LIMIT")),
        Target::Email => (Step::Email, None),
        Target::Handle => (Step::Handle, None),
        Target::DidFile => (Step::DidFile, None),
        Target::Records | Target::Service => (Step::Server, None),
        Target::Accounts => (Step::Accounts, None),
        Target::Relays => (Step::Relays, None),
        Target::Backups => (Step::Backups, None),
        Target::Proxy(f) => (Step::Proxy, p::field_key(f)),
    }
}

/// The form step that edits pds.env key `key`, if one does.
pub fn step_for_key(key: &str) -> Option<Step> {
    if super::steps::basics::FIELDS
        .iter()
        .any(|(k, _, _)| *k == key)
    {
        Some(Step::Basics)
    } else if super::steps::settings::Settings::keys().any(|k| k == key) {
        Some(Step::More)
    } else if [URL_KEY, FROM_KEY].contains(&key) {
        Some(Step::Email)
    } else {
        None
    }
}

/// The step Enter opens for a finding of `target` about `subject` (see `go_to`).
pub fn landing(target: Target, subject: Option<&str>) -> Step {
    match (target, subject) {
        (Target::EnvFile, Some(key)) => step_for_key(key).unwrap_or(place(target).0),
        _ => place(target).0,
    }
}

//! The steps and where a finding's fix is: which step (and field) a `Target` lands on. A
//! leaf: steps that lead elsewhere (the doctor, the proxy) ask it, not the app.

use crate::email::{FROM_KEY, URL_KEY};
use crate::target::Target;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Every milestone of a setup, checked live.
    Overview,
    Basics,
    /// This machine's addresses and records; how the PDS runs.
    Server,
    Accounts,
    Email,
    Handle,
    DidFile,
    Proxy,
    Doctor,
    /// Blob storage on S3, branding, the recovery key.
    More,
    Review,
}

impl Step {
    pub const ALL: [Step; 11] = [
        // A setup's order: where it stands, pds.env, the server and its records, email,
        // the first account, its handle, then the proxy and the rest.
        Step::Overview,
        Step::Basics,
        Step::Server,
        Step::Email,
        Step::Accounts,
        Step::Handle,
        Step::DidFile,
        Step::Proxy,
        Step::More,
        // Review & save comes before the doctor: the doctor judges what will be saved,
        // so the operator is led to save first and then to check.
        Step::Review,
        Step::Doctor,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Step::Overview => "Overview",
            Step::Basics => "Basics",
            Step::Server => "Server",
            Step::Accounts => "Accounts",
            Step::Email => "Email",
            Step::Handle => "Handle & DNS",
            Step::DidFile => "atproto-did",
            Step::Proxy => "Reverse proxy",
            Step::Doctor => "Doctor",
            Step::More => "More settings",
            Step::Review => "Review & save",
        }
    }

    pub fn index(self) -> usize {
        Step::ALL.iter().position(|s| *s == self).unwrap_or(0)
    }
}

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

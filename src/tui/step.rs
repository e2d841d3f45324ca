//! The wizard's steps, in the sidebar's order: a leaf every part may name.

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
    /// How the relays follow this PDS, and the repair ("my posts don't show").
    Relays,
    /// Backups and their state, verify, restore, the move to a new server.
    Backups,
    Doctor,
    /// Blob storage on S3, branding, the recovery key.
    More,
    Review,
}

impl Step {
    pub const ALL: [Step; 13] = [
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
        Step::Relays,
        Step::Backups,
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
            Step::Relays => "Relays",
            Step::Backups => "Backups",
            Step::Doctor => "Doctor",
            Step::More => "More settings",
            Step::Review => "Review & save",
        }
    }

    pub fn index(self) -> usize {
        Step::ALL.iter().position(|s| *s == self).unwrap_or(0)
    }
}

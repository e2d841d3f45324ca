//! Provider presets (assets/email-presets.toml).

use super::{Security, SmtpSettings};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct Preset {
    pub name: String,
    pub host: String,
    pub port: u16,
    pub security: Security,
    /// What to type as the user name (a convention like `apikey`, or a description).
    pub username: String,
    pub note: String,
    #[serde(default)]
    pub options: Vec<(String, String)>,
    /// `username` is the name to type as it is (`apikey`), not a description of it.
    #[serde(default)]
    pub literal_username: bool,
    /// The server takes mail without a login (a local relay, sendmail).
    #[serde(default)]
    pub no_login: bool,
}

impl Preset {
    /// Settings with this provider's host, port, security and options; the user name only
    /// when it is a literal (`apikey`, `resend`), not a description.
    pub fn apply(&self, s: &mut SmtpSettings) {
        s.host = self.host.clone();
        s.port = self.port;
        s.security = self.security;
        s.options = self.options.clone();
        if let Some(u) = self.filled_username() {
            s.username = u.to_string();
        }
    }

    /// The user name this preset fills in, if it fills one.
    pub fn filled_username(&self) -> Option<&str> {
        self.literal_username.then_some(self.username.as_str())
    }
}

#[derive(Deserialize)]
struct File {
    preset: Vec<Preset>,
}

pub const PRESETS_TOML: &str = include_str!("../../../../assets/email-presets.toml");

/// All presets, in file order. The file is part of the binary, so a parse error is a bug
/// caught by the tests.
pub fn all() -> Vec<Preset> {
    toml::from_str::<File>(PRESETS_TOML)
        .map(|f| f.preset)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_parses_and_composes() {
        let all: Vec<Preset> = toml::from_str::<File>(PRESETS_TOML)
            .expect("valid TOML")
            .preset;
        assert!(all.len() >= 12);
        for name in [
            "Gmail",
            "Fastmail",
            "Microsoft 365",
            "Amazon SES",
            "SendGrid",
            "Mailgun",
            "Postmark",
            "Resend",
            "Brevo",
            "Zoho",
            "Proton Mail Bridge",
            "Local relay",
        ] {
            assert!(all.iter().any(|p| p.name.contains(name)), "{name}");
        }
        for p in &all {
            let mut s = SmtpSettings::default();
            p.apply(&mut s);
            let url = super::super::compose(&s).unwrap_or_else(|e| panic!("{}: {e}", p.name));
            let findings = super::super::url_findings(&url);
            assert!(
                !findings
                    .iter()
                    .any(|f| f.level == crate::finding::Level::Fail),
                "{}: {findings:?}",
                p.name
            );
        }
    }
}

//! The one shape every validator and check returns.

use crate::target::Target;
use serde::Serialize;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Info,
    Pass,
    Warn,
    Fail,
}

impl Level {
    pub fn label(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Pass => "pass",
            Level::Warn => "warn",
            Level::Fail => "FAIL",
        }
    }
}

/// A single observation: what was seen, why it matters, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub level: Level,
    /// The key, line or thing this is about (e.g. `PDS_HOSTNAME`, `line 7`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub what: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub why: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub fix: String,
    /// What to change to fix it, as data (front ends map it to a step and a field).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
    /// The whole error chain behind `what`, which names only its last cause: the wizard
    /// shows it on request ("details"), the command line on a line of its own. Boxed: a
    /// Finding travels inside many Result errors, and most have no chain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<Box<String>>,
    /// What it found as data, for scripts (`--json`): e.g. a relay's cause, `{"relay":
    /// URL, "cause": …}`. Boxed for the same reason as `detail`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Box<serde_json::Value>>,
}

impl Finding {
    pub fn new(level: Level, what: impl Into<String>) -> Self {
        Finding {
            level,
            subject: None,
            what: what.into(),
            why: String::new(),
            fix: String::new(),
            target: None,
            detail: None,
            data: None,
        }
    }
    pub fn fail(what: impl Into<String>) -> Self {
        Self::new(Level::Fail, what)
    }
    pub fn warn(what: impl Into<String>) -> Self {
        Self::new(Level::Warn, what)
    }
    pub fn info(what: impl Into<String>) -> Self {
        Self::new(Level::Info, what)
    }
    pub fn pass(what: impl Into<String>) -> Self {
        Self::new(Level::Pass, what)
    }
    pub fn about(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }
    pub fn why(mut self, why: impl Into<String>) -> Self {
        self.why = why.into();
        self
    }
    pub fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = fix.into();
        self
    }
    /// What it found, as data for scripts.
    pub fn data(mut self, data: serde_json::Value) -> Self {
        self.data = Some(Box::new(data));
        self
    }

    pub fn target(mut self, target: Target) -> Self {
        self.target = Some(target);
        self
    }
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        let detail = detail.into();
        self.detail = (!detail.is_empty()).then(|| Box::new(detail));
        self
    }
    /// `what` ends with the error's last cause ("…: Connection refused (os error 111)");
    /// the whole chain ("error sending request for url (…): client error (Connect): …")
    /// goes to `detail`, where it does not push the fix off a small screen.
    pub fn caused_by(mut self, e: &(dyn std::error::Error + 'static)) -> Self {
        let chain = crate::http::chain(e);
        let cause = crate::http::cause(e);
        self.what = format!("{}: {cause}", self.what);
        if chain != cause {
            self.detail = Some(Box::new(chain));
        }
        self
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] ", self.level.label())?;
        if let Some(s) = &self.subject {
            write!(f, "{s}: ")?;
        }
        write!(f, "{}", self.what)?;
        if !self.why.is_empty() {
            write!(f, "\n       why: {}", self.why)?;
        }
        if !self.fix.is_empty() {
            write!(f, "\n       fix: {}", self.fix)?;
        }
        if let Some(detail) = &self.detail {
            write!(f, "\n       detail: {detail}")?;
        }
        Ok(())
    }
}

/// The worst level among findings (Pass when there are none).
pub fn worst(findings: &[Finding]) -> Level {
    findings
        .iter()
        .map(|f| f.level)
        .max()
        .unwrap_or(Level::Pass)
}

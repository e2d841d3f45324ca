//! Renaming a PDS that already hosts accounts. PDS_HOSTNAME is one line of pds.env, but
//! every account's DID document names `https://HOST` as its PDS, handles under the old
//! name stop resolving, and the new name needs its own address records and certificates.
//! The PDS changes none of that itself: a rename with accounts is said in full, and done
//! only when the operator confirms it (the wizard's y, the command line's --force).

use crate::envfile::Document;
use crate::settings::Resolved;
use serde::Serialize;

/// Where the accounts were read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The running PDS (com.atproto.sync.listRepos and the admin API).
    Pds,
    /// `account.sqlite` in the data directory (the PDS is not running).
    Database,
}

/// What renaming the PDS from `from` to `to` means.
#[derive(Debug, Clone, Serialize)]
pub struct Rename {
    pub from: String,
    pub to: String,
    /// The accounts (DID, handle), when they could be read.
    pub accounts: Option<Vec<(String, Option<String>)>>,
    pub source: Option<Source>,
    /// Why the accounts could not be read (then the rename is treated as having some).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unknown: Option<String>,
}

impl Rename {
    /// A rename with accounts (or with accounts that could not be counted) must be
    /// confirmed.
    pub fn needs_confirmation(&self) -> bool {
        self.accounts.as_ref().is_none_or(|a| !a.is_empty())
    }

    /// Handles under the old name (`alice.OLD`): they stop resolving with the rename.
    pub fn handles_under_old_name(&self) -> Vec<String> {
        let suffix = format!(".{}", self.from);
        self.accounts
            .iter()
            .flatten()
            .filter_map(|(_, h)| h.clone())
            .filter(|h| h.ends_with(&suffix))
            .collect()
    }

    /// What it means, as lines for a pop-up or a terminal.
    pub fn explain(&self) -> String {
        let (from, to) = (&self.from, &self.to);
        let count = match (&self.accounts, &self.unknown) {
            (Some(a), _) => format!("{} account{}", a.len(), if a.len() == 1 { "" } else { "s" }),
            (None, Some(why)) => format!("accounts that could not be counted ({why})"),
            (None, None) => "its accounts".into(),
        };
        let mut lines = vec![
            format!("Renaming this PDS from {from} to {to} while it hosts {count} means:"),
            String::new(),
            format!("- Every account's DID document names https://{from} as its PDS: each needs a PLC operation, signed with the PDS's rotation key, naming https://{to} — one per account. Until then apps and relays look for the accounts at the old name."),
        ];
        let under = self.handles_under_old_name();
        if !under.is_empty() {
            lines.push(format!(
                "- {} handle{} under .{from} ({}) stop verifying: each account needs a new handle under .{to} (or its own domain), and PDS_SERVICE_HANDLE_DOMAINS must name .{to}.",
                under.len(),
                if under.len() == 1 { "" } else { "s" },
                under.iter().take(3).cloned().collect::<Vec<_>>().join(", ")
            ));
        }
        lines.push(format!("- New address records for {to} and *.{to}, and certificates for both (the installer's Caddy gets them on demand once DNS points here)."));
        lines.push(format!(
            "- {from} should keep answering until every DID document has moved."
        ));
        lines.join("\n")
    }
}

/// What renaming the PDS of `doc` (pds.env as saved) to `to` means; None when it is no
/// rename (the same name, or no name before).
pub async fn impact(doc: &Document, to: &str, settings: &Resolved) -> Option<Rename> {
    let from = doc
        .get("PDS_HOSTNAME")
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())?;
    let to = to.trim().to_ascii_lowercase();
    if from == to {
        return None;
    }
    let mut r = Rename {
        from,
        to,
        accounts: None,
        source: None,
        unknown: None,
    };
    match settings.admin().accounts().await {
        Ok(list) => {
            r.accounts = Some(list.into_iter().map(|a| (a.did, Some(a.handle))).collect());
            r.source = Some(Source::Pds);
        }
        Err(pds) => {
            let dir = crate::pds::data::data_dir(doc);
            match crate::pds::data::accounts(&dir) {
                Ok(list) => {
                    r.accounts = Some(list);
                    r.source = Some(Source::Database);
                }
                // No database: no PDS has run with this data directory, so no accounts.
                Err(crate::pds::data::DataError::Missing { .. }) => {
                    r.accounts = Some(Vec::new());
                }
                Err(e) => {
                    r.unknown = Some(format!("the PDS: {}; {e}", pds.what));
                }
            }
        }
    }
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rename_with_accounts_says_what_it_means() {
        let r = Rename {
            from: "pds.old.com".into(),
            to: "pds.new.com".into(),
            accounts: Some(vec![
                ("did:plc:a".into(), Some("alice.pds.old.com".into())),
                ("did:plc:b".into(), Some("bob.example.com".into())),
            ]),
            source: Some(Source::Pds),
            unknown: None,
        };
        assert!(r.needs_confirmation());
        let t = r.explain();
        assert!(t.contains("2 accounts"), "{t}");
        assert!(t.contains("one per account"), "{t}");
        assert!(
            t.contains("1 handle under .pds.old.com (alice.pds.old.com)"),
            "{t}"
        );
        assert!(t.contains("certificates"), "{t}");
        let none = Rename {
            accounts: Some(vec![]),
            ..r.clone()
        };
        assert!(!none.needs_confirmation());
        let unknown = Rename {
            accounts: None,
            unknown: Some("not root".into()),
            ..r
        };
        assert!(unknown.needs_confirmation());
    }
}

//! Email: the SMTP URL read the PDS's way (`crate::smtp_url`, re-exported here), the pair
//! of email keys in pds.env, provider presets, and a test send.

pub mod presets;
pub mod send;
pub mod sendmail;

pub use crate::smtp_url::*;

use crate::envfile::{catalogue, Document};
use crate::finding::Finding;

/// Settings from pds.env (URL parsed the nodemailer way, plus the From address).
pub fn from_document(doc: &Document) -> Result<SmtpSettings, UrlError> {
    let mut s = parse(&doc.get(URL_KEY).unwrap_or_default())?;
    s.from_address = doc.get(FROM_KEY).unwrap_or_default();
    Ok(s)
}

/// Findings for the email keys of a pds.env, as a pair.
pub fn check(doc: &Document) -> Vec<Finding> {
    let url = doc.get(URL_KEY).unwrap_or_default();
    let from = doc.get(FROM_KEY).unwrap_or_default();
    let mut out = url_findings(&url);
    // A bare `#` in the line: docker compose (how the PDS reads pds.env) starts a comment
    // there, so the URL the PDS gets is cut short. `url` is that cut value.
    let raw = doc
        .lines()
        .iter()
        .rev()
        .find(|l| l.key().as_deref() == Some(URL_KEY))
        .and_then(|l| l.text.split_once('=').map(|(_, v)| v.to_string()));
    if raw.is_some_and(|r| r.contains('#')) && !url.contains('#') {
        out.insert(
            0,
            Finding::fail("the SMTP URL holds an unencoded '#'")
                .about(URL_KEY)
                .why("docker compose, which hands pds.env to the PDS, reads everything from the '#' on as a comment: the PDS gets a cut URL, so mail goes to the wrong host or without the password")
                .fix("Write '#' as %23 in the password (the Email step and `email set` encode it for you)."),
        );
    }
    if !url.trim().is_empty() {
        if from.is_empty() {
            out.push(
                Finding::fail("PDS_EMAIL_FROM_ADDRESS is not set")
                    .about(FROM_KEY)
                    .why("The PDS refuses to start with an SMTP URL but no From address.")
                    .fix("Set the sender address, e.g. noreply@your-domain."),
            );
        } else if let Some(info) = catalogue::lookup(FROM_KEY) {
            out.extend(catalogue::validate(info, &from));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pair_with_from_address() {
        let d = Document::parse("PDS_EMAIL_SMTP_URL=smtps://u:p@h.example.com\n");
        assert!(check(&d)
            .iter()
            .any(|f| f.what.contains("FROM_ADDRESS is not set")));
        let d = Document::parse(
            "PDS_EMAIL_SMTP_URL=smtps://u:p@h.example.com\nPDS_EMAIL_FROM_ADDRESS=nope\n",
        );
        assert!(check(&d).iter().any(|f| f.what.contains("not an email")));
    }
}

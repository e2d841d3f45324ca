//! Email: the SMTP URL read the PDS's way (`crate::smtp_url`, re-exported here), the pair
//! of email keys in pds.env, provider presets, and a test send.

pub mod presets;
pub mod repair;
pub mod send;
pub mod sendmail;
pub mod via_pds;

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
    // A " #" in the line (a blank, then `#`): docker compose (how the PDS reads pds.env)
    // starts a comment there, so the URL the PDS gets is cut short. `url` is that cut value.
    // (A `#` inside the URL reaches the PDS whole; what nodemailer makes of it is in
    // `url_findings`.)
    let raw = doc
        .lines()
        .iter()
        .rev()
        .find(|l| l.key().as_deref() == Some(URL_KEY))
        .and_then(|l| l.text.split_once('=').map(|(_, v)| v.to_string()));
    // A trailing comment is fine; a cut login is not: the word right after " #" goes on to
    // the `@` and the host (a comment is words).
    let cut_login = raw
        .as_deref()
        .and_then(|r| r.split_once(" #"))
        .is_some_and(|(_, tail)| {
            tail.split_whitespace()
                .next()
                .is_some_and(|w| w.contains('@'))
        });
    if cut_login {
        out.insert(
            0,
            Finding::fail("the SMTP URL is cut at a blank followed by '#'")
                .about(URL_KEY)
                .why("docker compose, which hands pds.env to the PDS, reads everything from \" #\" on as a comment: the PDS gets a cut URL, so mail goes to the wrong host or without the password")
                .fix("Write the blank as %20 and '#' as %23 in the password: `pds-wizard email repair` does it in pds.env (the Email step offers the same)."),
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
    fn a_url_cut_at_a_blank_and_hash_is_told_from_a_comment() {
        let cut = Document::parse(
            "PDS_EMAIL_SMTP_URL=smtps://u:pa #ss@smtp.example.com:465\nPDS_EMAIL_FROM_ADDRESS=a@b.example\n",
        );
        assert!(check(&cut)
            .iter()
            .any(|f| f.what.contains("cut at a blank followed by '#'")));
        let commented = Document::parse(
            "PDS_EMAIL_SMTP_URL=smtps://u:pw@smtp.example.com:465 # relay, ask bob@example.com\nPDS_EMAIL_FROM_ADDRESS=a@b.example\n",
        );
        assert!(!check(&commented).iter().any(|f| f.what.contains("cut at")));
    }

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

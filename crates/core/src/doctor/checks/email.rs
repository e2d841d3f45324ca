//! Whether the PDS can send mail.

use super::*;

pub(super) async fn email(i: &Inputs) -> Vec<Finding> {
    let Some(doc) = &i.doc else {
        return vec![Finding::info(
            "pds.env could not be read (see the pds.env check)",
        )];
    };
    let url = doc.get(crate::email::URL_KEY).filter(|u| !u.is_empty());
    let from = doc.get(crate::email::FROM_KEY).filter(|u| !u.is_empty());
    if url.is_none() && from.is_none() {
        return vec![Finding::warn(
            "email is not set up: the PDS sends no verification codes or password resets",
        )
        .fix("set up email in the wizard's Email step")];
    }
    let problems: Vec<Finding> = crate::email::check(doc)
        .into_iter()
        .filter(|f| f.level >= Level::Warn)
        .collect();
    if problems.iter().any(|f| f.level == Level::Fail) {
        return problems;
    }
    let settings = match crate::email::from_document(doc) {
        Ok(s) => s,
        Err(e) => return vec![Finding::fail(e.to_string()).fix("correct it in the Email step")],
    };
    let report = crate::email::send::probe(&settings, &i.settings.send).await;
    let mut out = problems;
    out.push(report.finding);
    out.extend(report.notes);
    out
}

//! Every yes/no pop-up answers to one key rule: y or Enter is yes, n or Esc is no, and any
//! other key leaves the question open.

use super::*;
use crate::tui::modal::Modal;

/// Each question the wizard asks, on a fresh app.
fn questions() -> Vec<(&'static str, Modal)> {
    vec![
        ("write the proxy config", Modal::ProxyWrite(vec![])),
        (
            "announce a handle",
            Modal::RefreshHandle("alice.example.com".into()),
        ),
        ("ask the relays to crawl", Modal::RequestCrawl),
        ("repair the SMTP URL", Modal::Repair),
        ("save the email settings", Modal::SaveEmail),
        ("reload the proxy", Modal::ProxyReload(vec!["true".into()])),
        ("restart the PDS", Modal::Restart(vec!["true".into()])),
        (
            "a first-setup action",
            Modal::Confirm {
                title: " Rename the PDS? ".into(),
                body: "y: save   n: keep".into(),
                then: crate::tui::modal::Confirmed::Rename("pds.example.com".into()),
            },
        ),
        ("quit with results on screen", Modal::ConfirmQuitResults),
    ]
}

/// What one key does to a question: the effects, and what is seen after.
fn after(modal: &Modal, code: KeyCode) -> (String, String) {
    let mut a = app();
    a.modal = Some(modal.clone());
    let effects = key(&mut a, code);
    (format!("{effects:?}"), super::stale_results::seen(&mut a))
}

#[test]
fn every_question_takes_y_or_enter_for_yes_and_n_or_esc_for_no() {
    for (what, q) in questions() {
        let open = after(&q, KeyCode::Char('x'));
        let mut a = app();
        a.modal = Some(q.clone());
        key(&mut a, KeyCode::Char('x'));
        assert_eq!(a.modal.as_ref(), Some(&q), "{what}: x is not an answer");
        let yes = after(&q, KeyCode::Char('y'));
        assert_eq!(after(&q, KeyCode::Enter), yes, "{what}: Enter is y");
        let no = after(&q, KeyCode::Char('n'));
        assert_eq!(after(&q, KeyCode::Esc), no, "{what}: Esc is n");
        assert_ne!(yes, no, "{what}: yes and no do the same");
        assert_ne!(no, open, "{what}: n leaves the question open");
    }
}

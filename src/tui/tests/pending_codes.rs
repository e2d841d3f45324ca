use super::*;
use crate::pds::data::PendingCode;
use crate::tui::steps::email::{Done as EDone, Job as EJob};

#[test]
fn ctrl_o_reads_the_codes_and_shows_them() {
    let mut a = app();
    down_to(&mut a, Step::Email);
    key(&mut a, KeyCode::Enter);
    let effects = ctrl(&mut a, 'o');
    // Read from PDS_DATA_DIRECTORY of pds.env (the demo file says /pds).
    assert!(
        matches!(effects.as_slice(), [Effect::Email(_, EJob::Codes(d))] if d == std::path::Path::new("/pds")),
        "{effects:?}"
    );
    let code = PendingCode {
        did: "did:plc:ewvi7nxzyoun6zhxrhs64oiz".into(),
        handle: Some("alice.example.com".into()),
        email: Some("alice@example.com".into()),
        purpose: "reset_password".into(),
        code: "ABCDE-23456".into(),
        requested_at: "2026-11-24T11:00:00.000Z".into(),
        age_seconds: Some(180),
        expired: false,
    };
    let t = pending_ticket(&a.email.codes);
    update(&mut a, Action::Email(t, EDone::Codes(Ok(vec![code]))));
    let shown = text(&screen(&a, 100, 30));
    assert!(
        shown.contains("alice.example.com: ABCDE-23456  — to reset the password, 3 min ago"),
        "{shown}"
    );
    ctrl(&mut a, 'o');
    assert!(a.modal.is_none());
    // An unreadable database says why and what to do.
    ctrl(&mut a, 'o');
    let t = pending_ticket(&a.email.codes);
    update(
        &mut a,
        Action::Email(
            t,
            EDone::Codes(Err("cannot read /pds/account.sqlite — run as root".into())),
        ),
    );
    assert!(text(&screen(&a, 100, 30)).contains("run as root"));
}

use super::*;

#[test]
fn basics_at_80x24() {
    let mut a = app();
    key(&mut a, KeyCode::Enter);
    insta::assert_snapshot!(screen(&a, 80, 24).backend());
}

/// More settings: a bucket beside the installer's disk location fails where it is
/// typed (the PDS would not start), and the form scrolls to the field in focus.
#[test]
fn more_settings_judges_the_blobstore_and_scrolls() {
    let mut a = app();
    while a.step != Step::More {
        key(&mut a, KeyCode::Down);
    }
    key(&mut a, KeyCode::Enter);
    assert_eq!(
        a.more.form.focused_field().key,
        "PDS_BLOBSTORE_DISK_LOCATION"
    );
    key(&mut a, KeyCode::Down);
    type_text(&mut a, "uploads");
    assert_eq!(
        a.edits.get("PDS_BLOBSTORE_S3_BUCKET").map(String::as_str),
        Some("uploads")
    );
    assert_eq!(a.mark(Step::More), Mark::Attention);
    let bucket = a.more.form.focused_field();
    assert!(
        bucket
            .findings
            .iter()
            .any(|f| f.level == Level::Fail && f.why.contains("refuses to start")),
        "{:?}",
        bucket.findings
    );
    insta::assert_snapshot!("more_settings_bucket_and_disk", text(&screen(&a, 80, 24)));
    // The last field, far below the fold: in view once focused.
    while a.more.form.focused_field().key != "PDS_RECOVERY_DID_KEY" {
        key(&mut a, KeyCode::Down);
    }
    type_text(&mut a, "did:key:nope");
    let shown = text(&screen(&a, 80, 24));
    assert!(shown.contains("Recovery key"), "{shown}");
    assert!(shown.contains("is not base58btc"), "{shown}");
}

#[test]
fn basics_with_an_invalid_hostname() {
    let mut a = app();
    key(&mut a, KeyCode::Enter);
    ctrl(&mut a, 'u');
    type_text(&mut a, "https://pds.example.com");
    insta::assert_snapshot!(screen(&a, 80, 24).backend());
}

#[test]
fn review_with_changes() {
    let mut a = app();
    key(&mut a, KeyCode::Enter);
    ctrl(&mut a, 'u');
    type_text(&mut a, "new.example.org");
    for _ in 0..5 {
        key(&mut a, KeyCode::Tab);
    }
    ctrl(&mut a, 'u');
    type_text(&mut a, ".new.example.org");
    ctrl(&mut a, 's');
    insta::assert_snapshot!(screen(&a, 80, 24).backend());
}

#[test]
fn help_overlay() {
    let mut a = app();
    key(&mut a, KeyCode::Char('?'));
    insta::assert_snapshot!(screen(&a, 80, 24).backend());
}

/// At 80x24 nothing of the help or of a pop-up's y/n line is cut: a long description
/// wraps under itself, and a long reload command makes its pop-up taller.
#[test]
fn help_and_pop_ups_are_whole_at_80x24() {
    let mut a = app();
    down_to(&mut a, Step::Proxy);
    key(&mut a, KeyCode::Enter);
    key(&mut a, KeyCode::F(1));
    let shown = text(&screen(&a, 80, 24));
    assert!(shown.contains("the server's check passed)"), "{shown}");
    key(&mut a, KeyCode::Esc);
    // Caddy written where the installer's reads it: the longest reload there is.
    key(&mut a, KeyCode::Right);
    a.proxy
        .form
        .field_mut(crate::tui::steps::proxy::OUT)
        .unwrap()
        .set_text("/pds/caddy/etc/caddy/Caddyfile");
    // Written there: the reload is offered.
    a.proxy.refresh(&a.working.clone());
    proxy_written(
        &mut a,
        Ok(vec!["wrote /pds/caddy/etc/caddy/Caddyfile".into()]),
    );
    let shown = text(&screen(&a, 80, 24));
    assert!(
        shown.contains("y: run it   n: not now")
            && shown.contains("docker exec caddy caddy reload --config"),
        "{shown}"
    );
}

#[test]
fn doctor_before_its_first_run() {
    let mut a = app();
    down_to(&mut a, Step::Doctor);
    insta::assert_snapshot!(screen(&a, 80, 24).backend());
}

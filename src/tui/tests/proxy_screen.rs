use super::*;
use crate::finding::Finding;
use crate::proxy::validate::Validation;
use crate::proxy::Server;
use crate::tui::steps::proxy::DOMAINS;
use crate::tui::steps::proxy::{Done as PDone, Job as PJob, Question};

/// The Reverse proxy step, writing under a temp dir instead of /etc.
fn open(root: &std::path::Path) -> App {
    let mut a = app();
    a.set_proxy_root(root);
    down_to(&mut a, Step::Proxy);
    key(&mut a, KeyCode::Enter);
    assert_eq!((a.step, a.focus), (Step::Proxy, Focus::Content));
    a
}

#[test]
fn a_plan_error_shows_on_the_field_it_names() {
    use crate::tui::steps::proxy::{CERT, KEY, TLS};
    let mut a = open(std::path::Path::new("/srv/demo"));
    while a.proxy.form.focused_field().key != TLS {
        key(&mut a, KeyCode::Tab);
    }
    while a.proxy.form.text(TLS) != "files" {
        key(&mut a, KeyCode::Right);
    }
    assert!(a.proxy.plan.is_none());
    let fails = |k: &str| {
        a.proxy
            .form
            .field(k)
            .unwrap()
            .findings
            .iter()
            .filter(|f| f.level == Level::Fail)
            .count()
    };
    assert_eq!((fails(CERT), fails(KEY), fails(TLS)), (1, 1, 0));
    // The TUI names no command-line flag.
    let t = text(&screen(&a, 100, 30));
    assert!(!t.contains("--cert"), "{t}");
}

/// A PDS on another machine: the preview shows both machines' files, each saying where
/// it goes; only the front's are written from here; a range for the front is refused on
/// its field.
#[test]
fn a_pds_elsewhere_shows_both_sides() {
    use crate::tui::steps::proxy::{FRONT, PDS_SIDE, UPSTREAM};
    let dir = tempfile::tempdir().unwrap();
    let mut a = open(dir.path());
    let fill = |a: &mut App, k: &str, v: &str| {
        while a.proxy.form.focused_field().key != k {
            key(a, KeyCode::Tab);
        }
        type_text(a, v);
    };
    fill(&mut a, FRONT, "100.64.0.0/10");
    fill(&mut a, UPSTREAM, "100.101.102.103");
    assert!(a.proxy.plan.is_none());
    let front = a.proxy.form.field(FRONT).unwrap();
    assert!(
        front
            .findings
            .iter()
            .any(|f| f.level == Level::Fail && f.what.contains("not a range")),
        "{:?}",
        front.findings
    );
    // The front's own address, and the installer's Caddy on the PDS machine.
    while a.proxy.form.focused_field().key != FRONT {
        key(&mut a, KeyCode::Tab);
    }
    for _ in 0..3 {
        key(&mut a, KeyCode::Backspace);
    }
    assert_eq!(a.proxy.form.text(FRONT), "100.64.0.0");
    key(&mut a, KeyCode::Backspace);
    type_text(&mut a, "1");
    key(&mut a, KeyCode::Tab);
    assert_eq!(a.proxy.form.focused_field().key, PDS_SIDE);
    key(&mut a, KeyCode::Right);
    assert_eq!(a.proxy.form.text(PDS_SIDE), "caddy");
    let plan = a.proxy.plan.clone().expect("a plan");
    assert_eq!(plan.upstream.authority(), "100.101.102.103:80");
    assert_eq!(a.proxy.files.len(), 1, "the front's file only is written");
    ctrl(&mut a, 'p');
    let t = text(&screen(&a, 160, 400));
    assert!(t.contains("on the PDS machine (100.101.102.103)"), "{t}");
    assert!(t.contains("trusted_proxies 100.64.0.1"), "{t}");
    assert!(t.contains("PDS_RATE_LIMIT_BYPASS_IPS=100.64.0.1"), "{t}");
    assert!(t.contains("server 100.101.102.103:80"), "{t}");
}

pub(super) fn validation(level: Level) -> Box<Validation> {
    Box::new(Validation {
        server: Server::Nginx,
        command: Some("nginx -t".into()),
        finding: Finding::new(level, "nginx says so"),
        output: String::new(),
    })
}

/// A verdict that arrives after the plan changed belongs to the old plan: Ctrl-W must
/// not offer to write the edited plan as if it had been checked.
#[test]
fn a_verdict_on_an_old_plan_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = open(dir.path());
    let effects = ctrl(&mut a, 'v');
    let [Effect::Proxy(ticket, PJob::Validate { .. })] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    let old = *ticket;
    // Edit Upstream while the server checks.
    while a.proxy.form.focused_field().key != crate::tui::steps::proxy::UPSTREAM {
        key(&mut a, KeyCode::Tab);
    }
    type_text(&mut a, "127.0.0.1:3001");
    assert!(
        a.proxy.pending.is_none(),
        "the check in flight is for the old plan"
    );
    update(
        &mut a,
        Action::Proxy(old, PDone::Validated(validation(Level::Pass))),
    );
    assert!(a.proxy.validation.is_none());
    let effects = ctrl(&mut a, 'w');
    assert!(a.modal.is_none(), "{:?}", a.modal);
    // Ctrl-W asks the server about the plan as it is now, instead.
    let [Effect::Proxy(ticket, PJob::Validate { .. })] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_ne!(*ticket, old);
}

#[test]
fn the_plan_follows_the_form_and_bad_answers_stop_it() {
    // Nothing is written here: a fixed root keeps the snapshot stable.
    let mut a = open(std::path::Path::new("/srv/demo"));
    let plan = a.proxy.plan.clone().expect("the demo env makes a plan");
    insta::assert_snapshot!("proxy_screen_80x24", text(&screen(&a, 80, 24)));
    assert_eq!(plan.host.as_str(), "pds.example.com");
    assert!(a.proxy.files[0]
        .text
        .contains("server_name pds.example.com"));
    // Caddy: the TLS default and the output path follow the server.
    key(&mut a, KeyCode::Right);
    assert_eq!(a.proxy.server(), Server::Caddy);
    assert_eq!(a.proxy.form.text("tls"), "on-demand");
    assert!(a.proxy.out_path().ends_with("etc/caddy/Caddyfile"));
    assert!(a.proxy.files[0].text.contains("on_demand_tls"));
    // A broken handle-domain answer: the field says why and nothing can be written.
    while a.proxy.form.focused_field().key != DOMAINS {
        key(&mut a, KeyCode::Tab);
    }
    type_text(&mut a, "alice.example.net,loud");
    assert!(a.proxy.plan.is_none());
    let f = &a.proxy.form.field(DOMAINS).unwrap().findings;
    assert!(
        f.iter()
            .any(|x| x.level == Level::Fail && x.what.contains("loud")),
        "{f:?}"
    );
    assert!(ctrl(&mut a, 'w').is_empty());
    assert_eq!(a.status.as_ref().unwrap().0, Level::Fail);
    assert_eq!(a.mark(Step::Proxy), Mark::Attention);
    // Preview: Ctrl-P shows the files, Esc returns to the form.
    ctrl(&mut a, 'u');
    type_text(&mut a, "alice.example.net");
    ctrl(&mut a, 'p');
    let t = text(&screen(&a, 100, 30));
    assert!(
        t.contains("── Caddyfile") && t.contains("# Caddyfile for the ATProto PDS"),
        "{t}"
    );
    assert!(a.proxy.files[0].text.contains("alice.example.net {"));
    key(&mut a, KeyCode::Esc);
    assert!(!a.proxy.preview);
    assert_eq!(a.focus, Focus::Content);
}

#[test]
fn write_only_after_the_servers_check_then_offer_the_reload() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("etc/nginx/sites-available")).unwrap();
    let mut a = open(root.path());
    // Not yet checked: Ctrl-W first asks the server.
    let effects = ctrl(&mut a, 'w');
    assert!(
        matches!(
            effects.as_slice(),
            [Effect::Proxy(_, PJob::Validate { .. })]
        ),
        "{effects:?}"
    );
    assert!(a.proxy.pending.is_some());
    // A refusal: nothing is offered for writing.
    let t = pending_ticket(&a.proxy.pending);
    update(
        &mut a,
        Action::Proxy(t, PDone::Validated(validation(Level::Fail))),
    );
    assert!(a.modal.is_none());
    assert!(ctrl(&mut a, 'w').is_empty());
    assert!(a.status.as_ref().unwrap().1.contains("not written"));
    // Any change to the plan makes the old verdict void.
    key(&mut a, KeyCode::Right);
    key(&mut a, KeyCode::Left);
    assert!(
        a.proxy.validation.is_none(),
        "the plan changed and came back: check again"
    );
    let effects = ctrl(&mut a, 'w');
    assert!(matches!(
        effects.as_slice(),
        [Effect::Proxy(_, PJob::Validate { .. })]
    ));
    let t = pending_ticket(&a.proxy.pending);
    update(
        &mut a,
        Action::Proxy(t, PDone::Validated(validation(Level::Pass))),
    );
    let Some(Question::Write(places)) = a.proxy.asking.clone() else {
        panic!("{:?}", a.modal)
    };
    assert!(matches!(
        a.modal,
        Some(Modal::Ask {
            step: Step::Proxy,
            ..
        })
    ));
    assert!(!places[0].existed && places[0].changed());
    let t = text(&screen(&a, 80, 24));
    assert!(t.contains("y: write") && t.contains("new file"), "{t}");
    let effects = key(&mut a, KeyCode::Char('y'));
    let [Effect::Proxy(_, PJob::Write { files, placements })] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    // The loop's work, done here: the real write.
    let done = crate::proxy::install::write(files, placements).unwrap();
    assert!(placements[0].path.exists());
    let lines = done
        .iter()
        .map(|r| format!("wrote {}", r.path.display()))
        .collect();
    proxy_written(&mut a, Ok(lines));
    assert_eq!(a.mark(Step::Proxy), Mark::Done);
    // The reload is offered, and "n" leaves the command to run later.
    assert!(
        matches!(&a.proxy.asking, Some(Question::Reload(c)) if c.join(" ").contains("systemctl reload nginx"))
    );
    assert!(key(&mut a, KeyCode::Char('n')).is_empty());
    assert!(a
        .status
        .as_ref()
        .unwrap()
        .1
        .contains("nginx -t && systemctl reload nginx"));
    // Writing again with nothing changed: said so, no dialog.
    ctrl(&mut a, 'w');
    assert!(a.modal.is_none());
    assert!(
        a.status.as_ref().unwrap().1.contains("already"),
        "{:?}",
        a.status
    );
}

#[test]
fn the_demo_never_reloads_a_server() {
    let root = tempfile::tempdir().unwrap();
    let mut a = open(root.path());
    a.demo = true;
    proxy_written(&mut a, Ok(vec!["wrote x".into()]));
    assert!(a.modal.is_none());
    assert!(a.status.as_ref().unwrap().1.contains("demo"));
}

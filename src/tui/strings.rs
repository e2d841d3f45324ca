//! Every user-visible sentence of the TUI, in one place.

pub const APP: &str = "pds-wizard";
pub const UNSAVED: &str = "unsaved changes";
pub const REQUEST_CRAWL: &str = "Send com.atproto.sync.requestCrawl for PDS_HOSTNAME to every relay in PDS_CRAWLERS?\n\nThe PDS does this itself when it starts; asking again helps after fixing DNS, TLS or the proxy.\n\ny: ask them   n: not now";
pub const TOO_SMALL: &str = "Terminal too small: pds-wizard needs at least 60x16 (80x24 is best).";

pub fn restore_draft(d: &super::draft::Draft, changed: bool) -> String {
    let when = d.age().unwrap_or_else(|| "an earlier session".into());
    let keys: Vec<&str> = d.edits.keys().map(String::as_str).collect();
    let mut s = format!(
        "Unsaved answers from {when} were found (the wizard was closed or the connection dropped before saving)"
    );
    if keys.is_empty() {
        s.push('.');
    } else {
        s.push_str(&format!(": {}.", keys.join(", ")));
    }
    if !d.retype.is_empty() {
        s.push_str(&format!(
            "\n\nSecrets are never kept in a draft; type again: {}.",
            retype_list(&d.retype)
        ));
    }
    if changed {
        s.push_str("\n\npds.env has changed on disk since then; review before saving.");
    }
    s.push_str("\n\ny: restore them   n: discard them");
    s
}

/// What must be typed again after a restore, in words.
pub fn retype_list(keys: &[String]) -> String {
    let words: Vec<String> = keys
        .iter()
        .map(|k| match crate::envfile::sensitive::sensitivity(k) {
            crate::envfile::catalogue::Sensitivity::UrlPassword => format!("the password in {k}"),
            _ => k.clone(),
        })
        .collect();
    words.join(", ")
}

pub const CONFIRM_QUIT: &str = "You have unsaved changes.\n\ns: review and save   q: quit, keeping them as a draft\nd: discard them and quit   Esc: stay";

pub const CONFIRM_QUIT_RESULTS: &str = "q: quit   Esc: stay\n\nThe doctor's results go with the wizard (pds-wizard doctor prints them again).";

pub fn restart_offer(cmd: &str) -> String {
    format!("The PDS reads its email settings only when it starts.\n\nRun this now?\n\n    {cmd}\n\ny: run it   n: not now")
}

pub fn reload_offer(cmd: &str) -> String {
    format!("y: run it   n: not now\n\nThe new config is written. The server uses it only after a reload. Run this now?\n\n    {cmd}")
}

/// The write confirmation: the question first (so it is never cut off), then per file what
/// changes, at most `room` lines of diff in all.
pub fn proxy_write_body(placements: &[crate::proxy::install::Placement], room: usize) -> String {
    let mut body = String::from("y: write (atomically, old version kept)   n: not now\nNothing is reloaded without asking.\n");
    let mut left = room.max(3);
    for p in placements {
        if !p.changed() {
            body.push_str(&format!("\n{}: no change\n", p.path.display()));
            continue;
        }
        if !p.existed {
            body.push_str(&format!(
                "\n{}: new file, {} lines (^P shows it)\n",
                p.path.display(),
                p.diff.len()
            ));
            continue;
        }
        body.push_str(&format!(
            "\n{}: {} lines change\n",
            p.path.display(),
            p.diff.len()
        ));
        for (i, l) in p.diff.iter().enumerate() {
            if left == 0 {
                body.push_str(&format!("… and {} more\n", p.diff.len() - i));
                break;
            }
            body.push_str(l);
            body.push('\n');
            left -= 1;
        }
    }
    body
}

/// The sidebar's heading for the demo's stand-ins.
pub const DEMO_STANDINS: &str = "Demo stand-ins";
pub const DEMO_NO_STANDINS: &str = "none (--no-stand-ins)";

pub const READING_CODES: &str = "reading the codes the PDS meant to mail…";

/// The pending-codes pop-up: one block per code, live ones first as the PDS lists them.
pub fn pending_codes(r: Result<Vec<crate::pds::data::PendingCode>, String>) -> Vec<String> {
    use crate::pds::data::age_text;
    let codes = match r {
        Err(e) => return vec![format!("✗ {e}")],
        Ok(c) => c,
    };
    if codes.is_empty() {
        return vec![
            "No codes are waiting.".into(),
            String::new(),
            "A code appears when someone asks the app for one (confirm email, reset password, move the account); it is valid for 15 minutes.".into(),
        ];
    }
    let mut out = vec![
        "While email is broken, give the account holder the code directly (it is as good as the mail).".into(),
        String::new(),
    ];
    for c in codes {
        let who = c.handle.clone().unwrap_or_else(|| c.did.clone());
        let age = c
            .age_seconds
            .map(age_text)
            .unwrap_or_else(|| c.requested_at.clone());
        out.push(format!(
            "{who}: {}  — to {}, {age} ago{}",
            c.code,
            c.purpose_text(),
            if c.expired { " (expired)" } else { "" }
        ));
    }
    out
}

pub const ASKING_PDS: &str = "Asking the PDS for its accounts…";

pub const SAVE_EMAIL_OFFER: &str = "y: save pds.env now (old version kept)   n: not now\n\nThe test mail was accepted: these settings work. The PDS uses them once they are in pds.env and it has restarted.";

/// Offer to have the PDS mail `handle` at `email` (masked elsewhere: an address is not a secret).
pub fn pds_send_offer(handle: &str, email: &str, others: usize) -> String {
    let more = if others > 0 {
        "   Tab: another account"
    } else {
        ""
    };
    format!("y: send{more}   n: not now\n\nNow prove the PDS itself can send: it will mail a password-reset code to {handle} at {email}. The code expires in 15 minutes and changes nothing unless used.")
}

/// The repair offer: the question first (a small screen cuts the end of a pop-up), then
/// the line as written (masked), what it meant, and what changes.
pub fn repair_offer(line: &str, meant: &str, notes: &[String]) -> String {
    let mut out = format!("Encode it?  y: fill the form with this (nothing is saved yet)   n: not now\n\nYou probably meant {meant}.\n");
    for n in notes {
        out.push_str(&format!("  - {n}\n"));
    }
    out.push_str(&format!(
        "\nThe PDS misreads this line of pds.env:\n  {line}\n"
    ));
    out
}

/// The Overview before its first check.
pub const OVERVIEW_INTRO: &str = "Where this setup stands, checked live: pds.env valid → the PDS running → HOST and *.HOST pointing here → HTTPS → email → the first account → its handle verified → the relay crawling.\n\nEnter checks every milestone now; Enter on one that is not reached opens the step that gets it done.";

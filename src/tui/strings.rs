//! Every user-visible sentence of the TUI, in one place.

pub const APP: &str = "pds-wizard";
pub const UNSAVED: &str = "unsaved changes";
pub const HINT_SIDEBAR: &str = "↑↓ step  Enter open  ^S review & save  ? help  q quit";
pub const HINT_FORM: &str = "Tab/↑↓ field  Esc steps  ^R reveal  ^S review & save  F1 help";
pub const HINT_EMAIL: &str =
    "Tab/↑↓ field  ←→ choose  ^T test mail  ^L transcript  ^S save  F1 help";
pub const HINT_HANDLE: &str = "Tab/↑↓ field  ←→ pick account  ^T check now  Esc steps  F1 help";
pub const HINT_DIDFILE: &str =
    "Tab/↑↓ field  ^W write file  ^T check over HTTPS  Esc steps  F1 help";
pub const HINT_REVIEW: &str = "Enter save  Esc steps  r reload from disk  F1 help";
pub const HINT_PENDING: &str = "Esc steps  F1 help  q quit";
pub const TOO_SMALL: &str = "Terminal too small: pds-wizard needs at least 60x16 (80x24 is best).";

pub const HELP: &[(&str, &str)] = &[
    ("↑ ↓", "choose a step in the list, or a field in a form"),
    ("Enter / →", "open the chosen step"),
    ("Tab / Shift-Tab", "next / previous field"),
    ("Esc", "back to the list of steps (or close this help)"),
    ("Space", "switch a yes/no field"),
    ("Ctrl-R", "show or hide a secret while typing it"),
    ("Ctrl-S", "review the changes to pds.env and save them"),
    (
        "Ctrl-T / Ctrl-L",
        "Email: send a test mail / show the transcript",
    ),
    ("Ctrl-U", "clear the field"),
    ("? / F1", "this help"),
    (
        "q / Ctrl-C",
        "quit (q in the step list); answers kept as draft",
    ),
];

pub const PENDING_BODY: &str = "This step is not built yet.\n\nUntil it is, pds-wizard can already check and edit every key in pds.env:\n\n  pds-wizard env check\n  pds-wizard env set KEY=VALUE";

pub fn restore_draft(when: &str, changed: bool) -> String {
    let mut s = format!("Unsaved answers from {when} were found (the wizard was closed or the connection dropped before saving).");
    if changed {
        s.push_str("\n\npds.env has changed on disk since then; review before saving.");
    }
    s.push_str("\n\ny: restore them   n: discard them");
    s
}

pub const CONFIRM_QUIT: &str = "You have unsaved changes.\n\ns: review and save   q: quit (answers kept as a draft)   Esc: stay";

pub fn restart_offer(cmd: &str) -> String {
    format!("The PDS reads its email settings only when it starts.\n\nRun this now?\n\n    sudo {cmd}\n\ny: run it   n: not now")
}

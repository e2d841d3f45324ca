//! The key tables, one per screen (see the module above for how they are used).

use super::Key::{Char, Code, Ctrl};
use super::{b, Binding, Command as C};
use crossterm::event::KeyCode;

/// Everywhere but in a pop-up.
pub const GLOBAL: &[Binding] = &[
    b(
        &[Ctrl('s')],
        C::ReviewAndSave,
        "^S",
        "review & save",
        "review the changes to pds.env and save them",
    ),
    b(&[Code(KeyCode::F(1))], C::Help, "F1", "help", "this help"),
    b(
        &[Ctrl('c'), Ctrl('q')],
        C::Quit,
        "^C",
        "",
        "quit; unsaved answers are kept as a draft",
    ),
];

/// The same key, left out of the footer (the help still lists it).
pub(super) const fn quiet(b: Binding) -> Binding {
    Binding { hint: "", ..b }
}

pub(super) const FIELD: Binding = b(
    &[
        Code(KeyCode::Tab),
        Code(KeyCode::BackTab),
        Code(KeyCode::Up),
        Code(KeyCode::Down),
    ],
    C::Field,
    "Tab/↑↓",
    "field",
    "next / previous field (Shift-Tab: previous)",
);
pub(super) const BACK: Binding = b(
    &[Code(KeyCode::Esc)],
    C::Back,
    "Esc",
    "steps",
    "back to the list of steps",
);
pub(super) const CLEAR: Binding = b(&[Ctrl('u')], C::ClearField, "^U", "", "clear the field");
pub(super) const HELP: Binding = GLOBAL[1];
pub(super) const SAVE_KEYS: Binding = GLOBAL[0];
pub(super) const SAVE_QUIET: Binding = quiet(SAVE_KEYS);
pub(super) const HELP_QUIET: Binding = quiet(HELP);
pub(super) const BACK_QUIET: Binding = quiet(BACK);

pub(super) const PROXY_CHECK: Binding = b(
    &[Ctrl('v')],
    C::ValidateConfig,
    "^V",
    "check",
    "have the server itself check the config",
);
pub(super) const PROXY_WRITE: Binding = b(
    &[Ctrl('w')],
    C::WriteConfig,
    "^W",
    "write",
    "write it after a diff (only once the server's check passed)",
);

pub(super) const SIDEBAR: &[Binding] = &[
    b(
        &[Code(KeyCode::Up), Char('k')],
        C::StepUp,
        "↑↓",
        "step",
        "choose a step",
    ),
    b(&[Code(KeyCode::Down), Char('j')], C::StepDown, "", "", ""),
    b(
        &[
            Code(KeyCode::Enter),
            Code(KeyCode::Right),
            Code(KeyCode::Tab),
        ],
        C::OpenStep,
        "Enter",
        "open",
        "open the chosen step",
    ),
    SAVE_KEYS,
    b(
        &[Char('?'), Code(KeyCode::F(1))],
        C::Help,
        "?",
        "help",
        "this help",
    ),
    b(
        &[Char('q')],
        C::Quit,
        "q",
        "quit",
        "quit (asks first when there are unsaved answers)",
    ),
];

pub(super) const BASICS: &[Binding] = &[
    FIELD,
    BACK,
    b(
        &[Char(' ')],
        C::Toggle,
        "Space",
        "",
        "switch a yes/no field",
    ),
    b(
        &[Ctrl('r')],
        C::Reveal,
        "^R",
        "reveal",
        "show or hide a secret while typing it",
    ),
    CLEAR,
    SAVE_KEYS,
    HELP,
];

pub(super) const EMAIL: &[Binding] = &[
    FIELD,
    b(
        &[Code(KeyCode::Left), Code(KeyCode::Right)],
        C::Choose,
        "←→",
        "choose",
        "choose a provider or the security",
    ),
    b(
        &[Ctrl('t')],
        C::TestMail,
        "^T",
        "test mail",
        "send a test mail as the PDS will",
    ),
    b(
        &[Ctrl('l')],
        C::Transcript,
        "^L",
        "transcript",
        "the last test's SMTP conversation",
    ),
    b(
        &[Ctrl('o')],
        C::Codes,
        "^O",
        "codes",
        "email codes the PDS meant to send (read from its database)",
    ),
    b(
        &[Ctrl('e')],
        C::Repair,
        "^E",
        // Said by the Email step's banner when there is something to repair.
        "",
        "fill the form with what a misread URL meant, encoded (nothing saved)",
    ),
    b(
        &[Ctrl('p')],
        C::PdsMail,
        "^P",
        // Said under the test result, where it is the next step.
        "",
        "have the running PDS mail an account (proof the PDS itself can send)",
    ),
    HELP,
    BACK_QUIET,
    CLEAR,
    SAVE_QUIET,
];

pub(super) const HANDLE: &[Binding] = &[
    FIELD,
    b(
        &[Code(KeyCode::Left), Code(KeyCode::Right)],
        C::Choose,
        "←→",
        "pick account",
        "pick an account on this PDS",
    ),
    b(
        &[Ctrl('t')],
        C::CheckNow,
        "^T",
        "check now",
        "check the handle: DNS at every server, HTTPS, the DID document",
    ),
    BACK,
    HELP,
    CLEAR,
    SAVE_QUIET,
];

pub(super) const DID_FILE: &[Binding] = &[
    FIELD,
    b(
        &[Ctrl('w')],
        C::WriteFile,
        "^W",
        "write file",
        "write /.well-known/atproto-did into the web root",
    ),
    b(
        &[Ctrl('t')],
        C::CheckNow,
        "^T",
        "check over HTTPS",
        "fetch it over HTTPS as resolvers do",
    ),
    BACK,
    HELP,
    CLEAR,
    SAVE_QUIET,
];

pub(super) const PROXY: &[Binding] = &[
    FIELD,
    b(
        &[Code(KeyCode::Left), Code(KeyCode::Right)],
        C::Choose,
        "←→",
        "choose",
        "choose the server or the TLS mode",
    ),
    b(
        &[Ctrl('p')],
        C::ToggleConfig,
        "^P",
        "config",
        "show the rendered config",
    ),
    PROXY_CHECK,
    PROXY_WRITE,
    BACK,
    CLEAR,
    SAVE_QUIET,
    HELP_QUIET,
];

pub(super) const PROXY_PREVIEW: &[Binding] = &[
    b(
        &[
            Code(KeyCode::Up),
            Code(KeyCode::Down),
            Char('j'),
            Char('k'),
            Code(KeyCode::PageUp),
            Code(KeyCode::PageDown),
            Char(' '),
            Code(KeyCode::Home),
        ],
        C::Scroll,
        "↑↓ PgUp/PgDn",
        "scroll",
        "scroll the config",
    ),
    b(
        &[Ctrl('p'), Code(KeyCode::Esc)],
        C::ToggleConfig,
        "^P or Esc",
        "back to the form",
        "back to the form",
    ),
    PROXY_CHECK,
    PROXY_WRITE,
    SAVE_QUIET,
    HELP_QUIET,
];

pub(super) const DOCTOR: &[Binding] = &[
    b(
        &[Code(KeyCode::Up), Char('k')],
        C::CheckUp,
        "↑↓",
        "check",
        "choose a check",
    ),
    b(&[Code(KeyCode::Down), Char('j')], C::CheckDown, "", "", ""),
    b(
        &[Code(KeyCode::Enter)],
        C::GoFix,
        "Enter",
        "go fix it",
        "open the step (and field) that fixes the chosen check",
    ),
    b(
        &[Char('r')],
        C::RerunOne,
        "r",
        "re-run",
        "run the chosen check again",
    ),
    b(
        &[Char('R')],
        C::RerunAll,
        "R",
        "re-run all",
        "run every check again",
    ),
    b(
        &[Char('c')],
        C::RequestCrawl,
        "c",
        "crawl",
        "ask each relay in PDS_CRAWLERS to crawl this PDS (asks first)",
    ),
    b(
        &[Char('d')],
        C::Details,
        "d",
        "details",
        "the chosen check's findings in full, with each error's whole chain",
    ),
    b(
        &[Char('w')],
        C::WriteReport,
        "w",
        "report",
        "write a report to paste into a support thread (beside pds.env, secrets masked)",
    ),
    b(
        &[Code(KeyCode::PageDown)],
        C::DetailsDown,
        "PgDn/PgUp",
        "",
        "scroll the chosen check's findings",
    ),
    b(&[Code(KeyCode::PageUp)], C::DetailsUp, "", "", ""),
    b(
        &[Code(KeyCode::Esc), Code(KeyCode::Left)],
        C::Back,
        "Esc",
        "",
        "back to the list of steps",
    ),
    b(
        &[Char('?'), Code(KeyCode::F(1))],
        C::Help,
        "?",
        "",
        "this help",
    ),
    SAVE_QUIET,
];

pub(super) const REVIEW: &[Binding] = &[
    b(
        &[Code(KeyCode::Enter)],
        C::Save,
        "Enter",
        "save",
        "write pds.env (a backup of the current one is kept)",
    ),
    BACK,
    b(
        &[Char('r')],
        C::Reload,
        "r",
        "reload from disk",
        "read pds.env again; your answers stay on top",
    ),
    b(
        &[Char('?'), Code(KeyCode::F(1))],
        C::Help,
        "F1",
        "help",
        "this help",
    ),
    b(
        &[Char('q')],
        C::Quit,
        "q",
        "",
        "quit (asks first when there are unsaved answers)",
    ),
    SAVE_QUIET,
];

pub(super) const RELAYS: &[Binding] = &[
    b(
        &[Code(KeyCode::Up), Char('k')],
        C::CheckUp,
        "↑↓",
        "relay",
        "choose a relay",
    ),
    b(&[Code(KeyCode::Down), Char('j')], C::CheckDown, "", "", ""),
    b(
        &[Code(KeyCode::Enter)],
        C::GoFix,
        "Enter",
        "repair",
        "show the repair for what stands between the relays and this PDS (asks before anything runs)",
    ),
    b(
        &[Char('r'), Char('R')],
        C::RerunAll,
        "r",
        "look again",
        "ask every relay again how it sees this PDS",
    ),
    BACK,
    SAVE_QUIET,
    HELP,
    b(
        &[Char('q')],
        C::Quit,
        "q",
        "",
        "quit (asks first when there are unsaved answers)",
    ),
];

pub(super) const BACKUPS: &[Binding] = &[
    b(
        &[Code(KeyCode::Up), Char('k')],
        C::CheckUp,
        "↑↓",
        "backup",
        "choose a backup",
    ),
    b(&[Code(KeyCode::Down), Char('j')], C::CheckDown, "", "", ""),
    b(
        &[Char('b')],
        C::BackupNow,
        "b",
        "back up now",
        "make a backup now, verified before it is named (asks first)",
    ),
    b(
        &[Char('v')],
        C::VerifyBackup,
        "v",
        "verify",
        "verify the chosen backup: databases, repos, keys, blobs, hashes",
    ),
    b(
        &[Code(KeyCode::Enter)],
        C::RestoreBackup,
        "Enter",
        "restore",
        "restore the chosen backup (asks first; the PDS is stopped, what is there moved aside)",
    ),
    b(
        &[Char('m')],
        C::MoveGuide,
        "m",
        "move",
        "show the move to a new server, each step a command (scrolls)",
    ),
    b(
        &[Char('r'), Char('R')],
        C::RerunAll,
        "r",
        "look again",
        "read the backups again",
    ),
    BACK,
    SAVE_QUIET,
    HELP,
    b(
        &[Char('q')],
        C::Quit,
        "q",
        "",
        "quit (asks first when there are unsaved answers)",
    ),
];

pub(super) const OVERVIEW: &[Binding] = &[
    b(
        &[Code(KeyCode::Up), Char('k')],
        C::CheckUp,
        "↑↓",
        "milestone",
        "choose a milestone",
    ),
    b(&[Code(KeyCode::Down), Char('j')], C::CheckDown, "", "", ""),
    b(
        &[Code(KeyCode::Enter)],
        C::GoFix,
        "Enter",
        "go do it",
        "open the step that gets the chosen milestone done",
    ),
    b(
        &[Char('r'), Char('R')],
        C::RerunAll,
        "r",
        "check again",
        "check every milestone again",
    ),
    BACK,
    SAVE_QUIET,
    HELP,
    b(
        &[Char('q')],
        C::Quit,
        "q",
        "",
        "quit (asks first when there are unsaved answers)",
    ),
];

pub(super) const SERVER: &[Binding] = &[
    FIELD,
    b(
        &[Code(KeyCode::Left), Code(KeyCode::Right)],
        C::Choose,
        "←→",
        "choose",
        "choose what serves HTTPS in front of the PDS",
    ),
    b(
        &[Ctrl('t')],
        C::CheckNow,
        "^T",
        "check",
        "look at the addresses, the records and the service again",
    ),
    b(
        &[Ctrl('w')],
        C::WriteFile,
        "^W",
        "write files",
        "write compose.yaml and pds.service (and the Caddyfile) after a diff",
    ),
    b(
        &[Ctrl('g')],
        C::StartService,
        "^G",
        "start",
        "start the PDS and wait until it answers",
    ),
    BACK,
    CLEAR,
    SAVE_QUIET,
    HELP_QUIET,
];

pub(super) const ACCOUNTS: &[Binding] = &[
    FIELD,
    b(
        &[Code(KeyCode::Left), Code(KeyCode::Right)],
        C::Choose,
        "←→",
        "pick",
        "pick an account",
    ),
    b(
        &[Ctrl('n')],
        C::CreateAccount,
        "^N",
        "create",
        "create the new account (an invite code is made when the PDS needs one)",
    ),
    b(
        &[Ctrl('t')],
        C::CheckNow,
        "^T",
        "check",
        "check the new handle points at the account (DNS TXT or atproto-did)",
    ),
    b(
        &[Ctrl('w')],
        C::WriteFile,
        "^W",
        "switch",
        "switch the account to the new handle and announce it",
    ),
    b(
        &[Ctrl('e')],
        C::Invite,
        "^E",
        "invite",
        "make an invite code for one account",
    ),
    b(
        &[Ctrl('p')],
        C::ResetPassword,
        "^P",
        "",
        "give the account a new password (shown once)",
    ),
    b(
        &[Ctrl('b')],
        C::MigrateIn,
        "^B",
        "",
        "bring an account here from another PDS (Bring in, New account, Its email, Password there; then the PLC token the old PDS mails)",
    ),
    BACK_QUIET,
    CLEAR,
    SAVE_QUIET,
    HELP_QUIET,
];

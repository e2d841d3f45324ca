//! Keys, one table per screen: what each key does (a `Command`, which code dispatches on),
//! how the footer names it and what the help pop-up says. The footer and the help are drawn
//! from these tables and the key handlers look keys up in them, so the three cannot
//! disagree. Keys a table does not list (typing, a form's own editing) go to the screen.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What a key asks for. Form commands are carried out by the form itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Quit,
    Help,
    ReviewAndSave,
    // The step list.
    StepUp,
    StepDown,
    OpenStep,
    // A form's own keys (handled by the form; listed for the footer and help).
    Field,
    Choose,
    Toggle,
    Reveal,
    ClearField,
    /// Back to the step list.
    Back,
    // Email.
    TestMail,
    Transcript,
    Codes,
    Repair,
    PdsMail,
    // Handle & DNS, atproto-did.
    CheckNow,
    WriteFile,
    // Reverse proxy.
    ToggleConfig,
    ValidateConfig,
    WriteConfig,
    Scroll,
    // Doctor.
    CheckUp,
    CheckDown,
    GoFix,
    RerunOne,
    RerunAll,
    RequestCrawl,
    /// Scroll the chosen check's findings (PgDn / PgUp).
    DetailsDown,
    DetailsUp,
    /// Every finding of the chosen check in full, with its error chain.
    Details,
    /// Write the shareable report.
    WriteReport,
    // Review & save.
    Save,
    Reload,
    // Server.
    StartService,
    // Backups.
    BackupNow,
    VerifyBackup,
    RestoreBackup,
    MoveGuide,
    // Accounts.
    CreateAccount,
    Invite,
    ResetPassword,
    MigrateIn,
}

/// A key as pressed.
#[derive(Debug, Clone, Copy)]
pub enum Key {
    /// A character without Ctrl.
    Char(char),
    /// Ctrl and a letter.
    Ctrl(char),
    /// Any other key, without Ctrl.
    Code(KeyCode),
}

impl Key {
    fn matches(self, k: &KeyEvent) -> bool {
        let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
        match self {
            Key::Char(c) => !ctrl && k.code == KeyCode::Char(c),
            Key::Ctrl(c) => ctrl && k.code == KeyCode::Char(c),
            Key::Code(code) => !ctrl && k.code == code,
        }
    }
}

#[derive(Clone, Copy)]
pub struct Binding {
    pub keys: &'static [Key],
    pub command: Command,
    /// How the key is written ("^T", "Tab/↑↓").
    pub label: &'static str,
    /// In the footer, after the label (empty: help only).
    pub hint: &'static str,
    /// In the help pop-up.
    pub help: &'static str,
}

const fn b(
    keys: &'static [Key],
    command: Command,
    label: &'static str,
    hint: &'static str,
    help: &'static str,
) -> Binding {
    Binding {
        keys,
        command,
        label,
        hint,
        help,
    }
}

/// Where the keys go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Sidebar,
    Basics,
    Email,
    Handle,
    DidFile,
    Proxy,
    ProxyPreview,
    Doctor,
    /// More settings: a form like Basics, with its keys.
    More,
    Review,
    Overview,
    Server,
    Accounts,
    Relays,
    Backups,
}

use Command as C;
use Key::{Char, Code, Ctrl};

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
const fn quiet(b: Binding) -> Binding {
    Binding { hint: "", ..b }
}

const FIELD: Binding = b(
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
const BACK: Binding = b(
    &[Code(KeyCode::Esc)],
    C::Back,
    "Esc",
    "steps",
    "back to the list of steps",
);
const CLEAR: Binding = b(&[Ctrl('u')], C::ClearField, "^U", "", "clear the field");
const HELP: Binding = GLOBAL[1];
const SAVE_KEYS: Binding = GLOBAL[0];
const SAVE_QUIET: Binding = quiet(SAVE_KEYS);
const HELP_QUIET: Binding = quiet(HELP);
const BACK_QUIET: Binding = quiet(BACK);

const PROXY_CHECK: Binding = b(
    &[Ctrl('v')],
    C::ValidateConfig,
    "^V",
    "check",
    "have the server itself check the config",
);
const PROXY_WRITE: Binding = b(
    &[Ctrl('w')],
    C::WriteConfig,
    "^W",
    "write",
    "write it after a diff (only once the server's check passed)",
);

const SIDEBAR: &[Binding] = &[
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

const BASICS: &[Binding] = &[
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

const EMAIL: &[Binding] = &[
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

const HANDLE: &[Binding] = &[
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

const DID_FILE: &[Binding] = &[
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

const PROXY: &[Binding] = &[
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

const PROXY_PREVIEW: &[Binding] = &[
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

const DOCTOR: &[Binding] = &[
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

const REVIEW: &[Binding] = &[
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

const RELAYS: &[Binding] = &[
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

const BACKUPS: &[Binding] = &[
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

const OVERVIEW: &[Binding] = &[
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

const SERVER: &[Binding] = &[
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

const ACCOUNTS: &[Binding] = &[
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

pub fn table(screen: Screen) -> &'static [Binding] {
    match screen {
        Screen::Sidebar => SIDEBAR,
        Screen::Basics | Screen::More => BASICS,
        Screen::Email => EMAIL,
        Screen::Handle => HANDLE,
        Screen::DidFile => DID_FILE,
        Screen::Proxy => PROXY,
        Screen::ProxyPreview => PROXY_PREVIEW,
        Screen::Doctor => DOCTOR,
        Screen::Review => REVIEW,
        Screen::Overview => OVERVIEW,
        Screen::Server => SERVER,
        Screen::Accounts => ACCOUNTS,
        Screen::Relays => RELAYS,
        Screen::Backups => BACKUPS,
    }
}

/// What `k` does on `screen` (None: it is typing, or does nothing there).
pub fn command(screen: Screen, k: &KeyEvent) -> Option<Command> {
    table(screen)
        .iter()
        .chain(GLOBAL)
        .find(|b| b.keys.iter().any(|key| key.matches(k)))
        .map(|b| b.command)
}

/// How `screen` writes the key for `command` (for sentences that name a key).
pub fn label(screen: Screen, command: Command) -> &'static str {
    table(screen)
        .iter()
        .chain(GLOBAL)
        .find(|b| b.command == command && !b.label.is_empty())
        .map_or("", |b| b.label)
}

/// The footer: each of the screen's keys that has a hint, in the table's order.
pub fn footer(screen: Screen) -> String {
    table(screen)
        .iter()
        .filter(|b| !b.hint.is_empty())
        .map(|b| format!("{} {}", b.label, b.hint))
        .collect::<Vec<_>>()
        .join("  ")
}

/// The help pop-up: the screen's keys, then the global ones it does not list.
pub fn help(screen: Screen) -> Vec<(&'static str, &'static str)> {
    let own = table(screen);
    own.iter()
        .chain(
            GLOBAL
                .iter()
                .filter(|g| !own.iter().any(|b| b.command == g.command)),
        )
        .filter(|b| !b.label.is_empty() && !b.help.is_empty())
        .map(|b| (b.label, b.help))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Screen; 15] = [
        Screen::Backups,
        Screen::Relays,
        Screen::Overview,
        Screen::Server,
        Screen::Accounts,
        Screen::Sidebar,
        Screen::Basics,
        Screen::More,
        Screen::Email,
        Screen::Handle,
        Screen::DidFile,
        Screen::Proxy,
        Screen::ProxyPreview,
        Screen::Doctor,
        Screen::Review,
    ];

    fn ev(code: KeyCode, m: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, m)
    }

    #[test]
    fn no_key_means_two_things_on_one_screen() {
        let mut probes: Vec<KeyEvent> = Vec::new();
        for c in ' '..='~' {
            probes.push(ev(KeyCode::Char(c), KeyModifiers::NONE));
            probes.push(ev(KeyCode::Char(c), KeyModifiers::CONTROL));
        }
        for code in [
            KeyCode::Enter,
            KeyCode::Esc,
            KeyCode::Tab,
            KeyCode::BackTab,
            KeyCode::Up,
            KeyCode::Down,
            KeyCode::Left,
            KeyCode::Right,
            KeyCode::PageUp,
            KeyCode::PageDown,
            KeyCode::Home,
            KeyCode::F(1),
        ] {
            probes.push(ev(code, KeyModifiers::NONE));
        }
        for s in ALL {
            for k in &probes {
                let cmds: Vec<Command> = table(s)
                    .iter()
                    .filter(|b| b.keys.iter().any(|key| key.matches(k)))
                    .map(|b| b.command)
                    .collect();
                let mut distinct = cmds.clone();
                distinct.dedup();
                assert!(distinct.len() <= 1, "{s:?}: {k:?} means {cmds:?}");
            }
        }
    }

    #[test]
    fn forms_leave_plain_letters_to_typing() {
        for s in [
            Screen::Basics,
            Screen::More,
            Screen::Email,
            Screen::Handle,
            Screen::DidFile,
            Screen::Proxy,
            Screen::Server,
            Screen::Accounts,
        ] {
            for c in 'a'..='z' {
                let k = ev(KeyCode::Char(c), KeyModifiers::NONE);
                assert_eq!(command(s, &k), None, "{s:?}: {c}");
            }
        }
    }

    #[test]
    fn footers() {
        for (s, want) in [
            (
                Screen::Sidebar,
                "↑↓ step  Enter open  ^S review & save  ? help  q quit",
            ),
            (
                Screen::Basics,
                "Tab/↑↓ field  Esc steps  ^R reveal  ^S review & save  F1 help",
            ),
            (
                Screen::Email,
                "Tab/↑↓ field  ←→ choose  ^T test mail  ^L transcript  ^O codes  F1 help",
            ),
            (
                Screen::Handle,
                "Tab/↑↓ field  ←→ pick account  ^T check now  Esc steps  F1 help",
            ),
            (
                Screen::DidFile,
                "Tab/↑↓ field  ^W write file  ^T check over HTTPS  Esc steps  F1 help",
            ),
            (
                Screen::Proxy,
                "Tab/↑↓ field  ←→ choose  ^P config  ^V check  ^W write  Esc steps",
            ),
            (
                Screen::ProxyPreview,
                "↑↓ PgUp/PgDn scroll  ^P or Esc back to the form  ^V check  ^W write",
            ),
            (
                Screen::Doctor,
                "↑↓ check  Enter go fix it  r re-run  R re-run all  c crawl  d details  w report",
            ),
            (
                Screen::Review,
                "Enter save  Esc steps  r reload from disk  F1 help",
            ),
        ] {
            assert_eq!(footer(s), want, "{s:?}");
        }
        // Every key the footer names does something there.
        for s in ALL {
            for b in table(s).iter().filter(|b| !b.hint.is_empty()) {
                assert!(!b.keys.is_empty(), "{s:?}: {}", b.label);
            }
        }
    }

    #[test]
    fn the_doctor_says_what_r_does() {
        let k = ev(KeyCode::Char('r'), KeyModifiers::NONE);
        assert_eq!(command(Screen::Doctor, &k), Some(Command::RerunOne));
        let help = help(Screen::Doctor);
        assert!(
            help.contains(&("r", "run the chosen check again")),
            "{help:?}"
        );
        assert!(footer(Screen::Doctor).contains("R re-run all"));
    }
}

//! Keys, one table per screen: what each key does (a `Command`, which code dispatches on),
//! how the footer names it and what the help pop-up says. The footer and the help are drawn
//! from these tables and the key handlers look keys up in them, so the three cannot
//! disagree. Keys a table does not list (typing, a form's own editing) go to the screen.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

mod tables;
pub use tables::GLOBAL;
use tables::*;

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

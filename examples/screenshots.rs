//! Screenshots of the real binary as SVG: runs `pds-wizard --demo` in a 100x30
//! pseudo-terminal, walks the screens like a person would, and draws each screen, colours
//! included, from a vt100 parser of what the program wrote. scripts/screenshots runs it.
//!
//! usage: screenshots BINARY OUT_DIR

use portable_pty::CommandBuilder;
use std::time::Duration;

const ROWS: u16 = 30;
const COLS: u16 = 100;

#[path = "../tests/common/pty.rs"]
mod pty;

use pty::Session;

fn start(bin: &str, state: &std::path::Path) -> Session {
    let mut cmd = CommandBuilder::new(bin);
    cmd.arg("--demo");
    cmd.env("TERM", "xterm-256color");
    cmd.env("XDG_STATE_HOME", state);
    Session::start(cmd, ROWS, COLS)
}

/// Wait for `text` on the screen, then let the frame finish.
fn wait(s: &Session, text: &str) {
    s.wait_text(text);
    std::thread::sleep(Duration::from_millis(150));
}

/// A key, then a moment for the program to draw.
fn key(s: &mut Session, keys: &str) {
    s.send(keys);
    std::thread::sleep(Duration::from_millis(120));
}

/// xterm's 256 colours; `fg` picks the default for text or background.
fn rgb(c: vt100::Color, fg: bool) -> String {
    const BASE: [(u8, u8, u8); 16] = [
        (0x1e, 0x1e, 0x1e),
        (0xcd, 0x31, 0x31),
        (0x0d, 0xbc, 0x79),
        (0xe5, 0xe5, 0x10),
        (0x24, 0x72, 0xc8),
        (0xbc, 0x3f, 0xbc),
        (0x11, 0xa8, 0xcd),
        (0xe5, 0xe5, 0xe5),
        (0x66, 0x66, 0x66),
        (0xf1, 0x4c, 0x4c),
        (0x23, 0xd1, 0x8b),
        (0xf5, 0xf5, 0x43),
        (0x3b, 0x8e, 0xea),
        (0xd6, 0x70, 0xd6),
        (0x29, 0xb8, 0xdb),
        (0xff, 0xff, 0xff),
    ];
    let (r, g, b) = match c {
        vt100::Color::Default => {
            if fg {
                (0xd4, 0xd4, 0xd4)
            } else {
                (0x1e, 0x1e, 0x1e)
            }
        }
        vt100::Color::Idx(i) if i < 16 => BASE[i as usize],
        vt100::Color::Idx(i) if i < 232 => {
            let i = i - 16;
            let level = |v: u8| if v == 0 { 0 } else { 55 + v * 40 };
            (level(i / 36), level((i / 6) % 6), level(i % 6))
        }
        vt100::Color::Idx(i) => {
            let v = 8 + (i - 232) * 10;
            (v, v, v)
        }
        vt100::Color::Rgb(r, g, b) => (r, g, b),
    };
    format!("#{r:02x}{g:02x}{b:02x}")
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The screen as SVG: a background rectangle per run of one colour, a text span per run of
/// one style.
fn svg(screen: &vt100::Screen) -> String {
    let (cw, ch) = (9.0f32, 18.0f32);
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"DejaVu Sans Mono, Menlo, Consolas, monospace\" font-size=\"15\">\n<rect width=\"100%\" height=\"100%\" fill=\"{bg}\"/>\n",
        w = cw * COLS as f32 + 16.0,
        h = ch * ROWS as f32 + 16.0,
        bg = rgb(vt100::Color::Default, false)
    );
    for row in 0..ROWS {
        let y = 8.0 + ch * row as f32;
        let mut col = 0;
        while col < COLS {
            let cell = screen.cell(row, col).unwrap();
            let (mut fg, mut bg) = (cell.fgcolor(), cell.bgcolor());
            if cell.inverse() {
                std::mem::swap(&mut fg, &mut bg);
            }
            let bold = cell.bold();
            let start = col;
            let mut text = String::new();
            while col < COLS {
                let c = screen.cell(row, col).unwrap();
                let (mut f, mut b) = (c.fgcolor(), c.bgcolor());
                if c.inverse() {
                    std::mem::swap(&mut f, &mut b);
                }
                if (f, b, c.bold()) != (fg, bg, bold) {
                    break;
                }
                let s = c.contents();
                text.push_str(if s.is_empty() { " " } else { s });
                col += 1;
            }
            let x = 8.0 + cw * start as f32;
            let width = cw * (col - start) as f32;
            if bg != vt100::Color::Default {
                out.push_str(&format!(
                    "<rect x=\"{x}\" y=\"{y}\" width=\"{width}\" height=\"{ch}\" fill=\"{}\"/>\n",
                    rgb(bg, false)
                ));
            }
            if !text.trim().is_empty() {
                out.push_str(&format!(
                    "<text x=\"{x}\" y=\"{}\" fill=\"{}\" textLength=\"{width}\" lengthAdjust=\"spacingAndGlyphs\" xml:space=\"preserve\"{}>{}</text>\n",
                    y + ch * 0.78,
                    rgb(fg, true),
                    if bold { " font-weight=\"bold\"" } else { "" },
                    escape(&text)
                ));
            }
        }
    }
    out.push_str("</svg>\n");
    out
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(bin), Some(out)) = (args.next(), args.next()) else {
        eprintln!("usage: screenshots BINARY OUT_DIR");
        std::process::exit(2);
    };
    // The pty spawner looks programs up on PATH: give it the full path.
    let bin = std::fs::canonicalize(&bin)
        .unwrap_or_else(|e| panic!("{bin}: {e}"))
        .display()
        .to_string();
    let out = std::path::PathBuf::from(out);
    std::fs::create_dir_all(&out).unwrap();
    // A fixed path, so the title bar reads the same on every run.
    let state = std::env::temp_dir().join("pds-wizard-screenshots-svg");
    let _ = std::fs::remove_dir_all(&state);
    let mut s = start(&bin, &state);
    let shot = |s: &Session, name: &str| {
        let parser = s.parser.lock().unwrap();
        let path = out.join(format!("{name}.svg"));
        std::fs::write(&path, svg(parser.screen())).unwrap();
        println!("{}", path.display());
    };
    // The same walk as the text captures: Basics, Email, Reverse proxy, Doctor, More
    // settings, Review, help.
    wait(&s, "Hostname");
    key(&mut s, "\r");
    wait(&s, "Tab/");
    shot(&s, "basics");
    key(&mut s, "\x1b");
    key(&mut s, "\x1b[B");
    key(&mut s, "\r");
    wait(&s, "Provider");
    // The demo filled in its SMTP stand-in: a real test send.
    key(&mut s, "\x14"); // Ctrl-T
    wait(&s, "test mail accepted");
    shot(&s, "email");
    key(&mut s, "\x1b");
    key(&mut s, "\x1b[B");
    key(&mut s, "\r");
    wait(&s, "account(s) on this PDS");
    key(&mut s, "\x1b[C\x1b[C\x1b[C");
    wait(&s, "carol.example.com ›");
    key(&mut s, "\x14");
    wait(&s, "Not verified");
    shot(&s, "handle");
    key(&mut s, "\x1b");
    key(&mut s, "\x1b[B\x1b[B");
    key(&mut s, "\r");
    wait(&s, "Site on hostname");
    shot(&s, "proxy");
    key(&mut s, "\x10"); // Ctrl-P
    wait(&s, "── pds.conf");
    shot(&s, "proxy-config");
    key(&mut s, "\x1b");
    key(&mut s, "\x1b");
    key(&mut s, "\x1b[B");
    key(&mut s, "\r");
    wait(&s, " passed, ");
    std::thread::sleep(Duration::from_millis(500));
    shot(&s, "doctor");
    key(&mut s, "\x1b");
    key(&mut s, "\x1b[B");
    key(&mut s, "\r");
    wait(&s, "Disk location");
    shot(&s, "more-settings");
    key(&mut s, "\x1b");
    key(&mut s, "\x1b[B");
    key(&mut s, "\r");
    wait(&s, "┌ Review & save");
    shot(&s, "review");
    key(&mut s, "\x1b");
    key(&mut s, "?");
    wait(&s, "Keys (Esc closes)");
    shot(&s, "help");
    let _ = s.child.kill();
    let _ = s.child.wait();
    let _ = std::fs::remove_dir_all(&state);
}

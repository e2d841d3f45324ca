//! The real binary in a pseudo-terminal: what it writes goes both to a vt100 parser (the
//! screen as a person sees it) and to a raw byte log. Shared by the PTY tests, the TUI
//! benchmark and the SVG screenshots.
#![allow(dead_code)]

use portable_pty::{native_pty_system, CommandBuilder, PtySize};
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct Session {
    pub parser: Arc<Mutex<vt100::Parser>>,
    /// The screen as of the last whole frame: the wizard writes each frame as a synchronized
    /// update (DEC mode 2026), and a frame read half-way would mix two screens.
    shown: Arc<Mutex<vt100::Screen>>,
    pub raw: Arc<Mutex<Vec<u8>>>,
    pub writer: Box<dyn Write + Send>,
    pub child: Box<dyn portable_pty::Child + Send + Sync>,
}

impl Session {
    pub fn start(cmd: CommandBuilder, rows: u16, cols: u16) -> Session {
        let pty = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("a pseudo-terminal");
        let child = pty.slave.spawn_command(cmd).expect("the program starts");
        drop(pty.slave);
        let parser = Arc::new(Mutex::new(vt100::Parser::new(
            std::num::NonZeroU16::new(rows).unwrap(),
            std::num::NonZeroU16::new(cols).unwrap(),
            0,
        )));
        let raw = Arc::new(Mutex::new(Vec::new()));
        let shown = Arc::new(Mutex::new(parser.lock().unwrap().screen().clone()));
        let mut reader = pty.master.try_clone_reader().unwrap();
        let (p, r, sh) = (parser.clone(), raw.clone(), shown.clone());
        // Read on a thread: a full pty buffer would otherwise block the program.
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            let mut frames = Frames::default();
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                // The raw log first: timings read it, and should not pay for the parser.
                r.lock().unwrap().extend_from_slice(&buf[..n]);
                let mut p = p.lock().unwrap();
                for (piece, whole) in frames.split(&buf[..n]) {
                    p.process(piece);
                    if whole {
                        *sh.lock().unwrap() = p.screen().clone();
                    }
                }
            }
        });
        let writer = pty.master.take_writer().unwrap();
        // Keep the master open for the session's life.
        std::mem::forget(pty.master);
        Session {
            parser,
            shown,
            raw,
            writer,
            child,
        }
    }

    /// The screen's text, as of the last whole frame.
    pub fn screen(&self) -> String {
        self.shown.lock().unwrap().contents()
    }

    /// The screen as of the last whole frame, with its colours (for pictures).
    pub fn shown(&self) -> vt100::Screen {
        self.shown.lock().unwrap().clone()
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.raw.lock().unwrap().len()
    }

    /// Everything written so far, as text.
    pub fn raw_text(&self) -> String {
        String::from_utf8_lossy(&self.raw.lock().unwrap()).to_string()
    }

    pub fn wait_for(&self, what: &str, cond: impl Fn(&Session) -> bool) {
        self.wait_for_within(what, Duration::from_secs(20), cond)
    }

    pub fn wait_for_within(&self, what: &str, limit: Duration, cond: impl Fn(&Session) -> bool) {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if cond(self) {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        panic!("timed out waiting for {what}; screen:\n{}", self.screen());
    }

    /// Wait until `text` is on the screen.
    pub fn wait_text(&self, text: &str) {
        self.wait_for(text, |s| s.screen().contains(text));
    }

    pub fn send(&mut self, bytes: &str) {
        self.writer.write_all(bytes.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }

    /// From the step list, ↓ until the pane beside it is the step `title` (each ↓ waits
    /// for the pane's title to change), then Enter: the keys pressed.
    #[allow(dead_code)]
    pub fn open_step(&mut self, title: &str) -> u32 {
        let pane = |s: &Session| {
            s.screen()
                .lines()
                .nth(1)
                .and_then(|l| l.split("┌ ").nth(2))
                .unwrap_or("")
                .to_string()
        };
        let mut keys = 0;
        while !pane(self).starts_with(&format!("{title} ")) {
            let before = pane(self);
            self.send("\x1b[B");
            keys += 1;
            self.wait_for("the next step", |s| pane(s) != before);
            assert!(keys < 20, "no {title} step:\n{}", self.screen());
        }
        self.send("\r");
        keys + 1
    }
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

/// Where the frames end in what the program writes: a frame is whole when no synchronized
/// update is open. The markers may be split across two reads, so the last bytes are kept.
#[derive(Default)]
struct Frames {
    open: bool,
    tail: Vec<u8>,
}

const BEGIN: &[u8] = b"\x1b[?2026h";
const END: &[u8] = b"\x1b[?2026l";

impl Frames {
    /// The read cut before each begin and after each end, each piece saying whether the
    /// screen is whole after it.
    fn split<'a>(&mut self, chunk: &'a [u8]) -> Vec<(&'a [u8], bool)> {
        let carried = self.tail.len();
        let mut joined = std::mem::take(&mut self.tail);
        joined.extend_from_slice(chunk);
        let mut pieces = Vec::new();
        let mut from = 0; // in chunk
        let mut i = 0; // in joined
        while i + BEGIN.len() <= joined.len() {
            let at = &joined[i..i + BEGIN.len()];
            if at == BEGIN {
                // What came before the frame began is whole (text between frames).
                let to = i.saturating_sub(carried).max(from);
                if to > from {
                    pieces.push((&chunk[from..to], !self.open));
                    from = to;
                }
                self.open = true;
                i += BEGIN.len();
            } else if at == END {
                let to = i + END.len() - carried;
                pieces.push((&chunk[from..to], true));
                from = to;
                self.open = false;
                i += END.len();
            } else {
                i += 1;
            }
        }
        pieces.push((&chunk[from..], !self.open));
        let keep = joined.len().saturating_sub(BEGIN.len() - 1).max(i);
        self.tail = joined[keep..].to_vec();
        pieces
    }
}

/// The screen as SVG.
pub fn svg(screen: &vt100::Screen, rows: u16, cols: u16) -> String {
    format!(
        "{}{}</svg>\n",
        svg_head(rows, cols),
        svg_cells(screen, rows, cols)
    )
}

const CELL: (f32, f32) = (9.0, 18.0);

fn svg_head(rows: u16, cols: u16) -> String {
    let (cw, ch) = CELL;
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"DejaVu Sans Mono, Menlo, Consolas, monospace\" font-size=\"15\">\n<rect width=\"100%\" height=\"100%\" fill=\"{bg}\"/>\n",
        w = cw * cols as f32 + 16.0,
        h = ch * rows as f32 + 16.0,
        bg = rgb(vt100::Color::Default, false)
    )
}

/// A recording as one animated SVG: each screen shown for `secs`, in turn, looping (SMIL,
/// which browsers and GitHub's image view play without script).
pub fn animated_svg(frames: &[String], rows: u16, cols: u16, secs: f32) -> String {
    let mut out = svg_head(rows, cols);
    let n = frames.len().max(1);
    let total = secs * n as f32;
    for (i, cells) in frames.iter().enumerate() {
        let (a, b) = (i as f32 / n as f32, (i + 1) as f32 / n as f32);
        let (values, times) = if i == 0 {
            ("visible;hidden".to_string(), format!("0;{b:.4}"))
        } else {
            (
                "hidden;visible;hidden".to_string(),
                format!("0;{a:.4};{b:.4}"),
            )
        };
        out.push_str(&format!(
            "<g visibility=\"{}\"><animate attributeName=\"visibility\" values=\"{values}\" keyTimes=\"{times}\" dur=\"{total}s\" calcMode=\"discrete\" repeatCount=\"indefinite\"/>\n<rect width=\"100%\" height=\"100%\" fill=\"{}\"/>\n{cells}</g>\n",
            if i == 0 { "visible" } else { "hidden" },
            rgb(vt100::Color::Default, false)
        ));
    }
    out
}

/// The screen's cells as SVG elements: a background rectangle per run of one colour, a
/// text span per run of one style.
pub fn svg_cells(screen: &vt100::Screen, rows: u16, cols: u16) -> String {
    let (cw, ch) = CELL;
    let mut out = String::new();
    for row in 0..rows {
        let y = 8.0 + ch * row as f32;
        let mut col = 0;
        while col < cols {
            let cell = screen.cell(row, col).unwrap();
            let (mut fg, mut bg) = (cell.fgcolor(), cell.bgcolor());
            if cell.inverse() {
                std::mem::swap(&mut fg, &mut bg);
            }
            let bold = cell.bold();
            let start = col;
            let mut text = String::new();
            while col < cols {
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
    out
}

#[test]
fn frames_end_where_the_update_ends_even_split_across_reads() {
    let stream = b"a\x1b[?2026hbc\x1b[?2026ld\x1b[?2026he";
    // Every way of cutting the stream in two gives the same whole frames.
    for cut in 0..=stream.len() {
        let mut frames = Frames::default();
        let mut whole = Vec::new();
        let mut seen = Vec::new();
        for part in [&stream[..cut], &stream[cut..]] {
            for (piece, w) in frames.split(part) {
                seen.extend_from_slice(piece);
                if w {
                    whole.push(seen.clone());
                }
            }
        }
        assert_eq!(seen, stream, "cut at {cut}");
        let last = whole.last().expect("a whole frame").clone();
        // A marker's first bytes may end a whole piece: the parser holds them unapplied.
        assert!(
            last.starts_with(b"a\x1b[?2026hbc\x1b[?2026ld") && !last.ends_with(b"e"),
            "cut at {cut}: {last:?}"
        );
        assert!(frames.open, "cut at {cut}");
    }
}

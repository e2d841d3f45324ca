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
        let mut reader = pty.master.try_clone_reader().unwrap();
        let (p, r) = (parser.clone(), raw.clone());
        // Read on a thread: a full pty buffer would otherwise block the program.
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                // The raw log first: timings read it, and should not pay for the parser.
                r.lock().unwrap().extend_from_slice(&buf[..n]);
                p.lock().unwrap().process(&buf[..n]);
            }
        });
        let writer = pty.master.take_writer().unwrap();
        // Keep the master open for the session's life.
        std::mem::forget(pty.master);
        Session {
            parser,
            raw,
            writer,
            child,
        }
    }

    /// The screen's text now.
    pub fn screen(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
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
}

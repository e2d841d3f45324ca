//! Lab servers as processes: started with their standard error in a log, waited for (a
//! ready line, or a port that accepts), and stopped. The demo's stand-ins and the tests'
//! servers go through these.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Spawn a stand-in: stdin a pipe (the lab scripts exit when it closes), stderr to `log`,
/// in its own process group (a Ctrl-C or hang-up reaches the wizard, which stops it), and
/// told to die with the wizard should the wizard be killed outright.
pub fn spawn(cmd: &mut Command, log: &Path, stdout: Stdio) -> Result<Child, String> {
    use std::os::unix::process::CommandExt;
    let log_file =
        std::fs::File::create(log).map_err(|e| format!("cannot write {}: {e}", log.display()))?;
    cmd.stdin(Stdio::piped()).stdout(stdout).stderr(log_file);
    // SAFETY: setpgid and prctl are async-signal-safe and touch only the child.
    unsafe {
        cmd.pre_exec(|| {
            libc::setpgid(0, 0);
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
    let program = cmd.get_program().to_string_lossy().to_string();
    cmd.spawn()
        .map_err(|e| format!("cannot run {program}: {e}"))
}

/// The last line `log` holds, if any (why a server did not start, usually).
pub fn log_tail(log: &Path) -> Option<String> {
    let text = std::fs::read_to_string(log).ok()?;
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| l.trim().to_string())
}

/// Why a server did not come up.
#[derive(Debug)]
pub enum StartError {
    /// It could not be run at all.
    Spawn(String),
    /// It exited before it was ready.
    Exited,
    /// Not ready within the limit.
    TooSlow(Duration),
    /// Nothing listened at the address within the limit.
    NotListening(SocketAddr),
}

/// Start a lab script that prints one line when it is ready; the child and that line.
pub fn spawn_reporting(
    mut cmd: Command,
    log: &Path,
    limit: Duration,
) -> Result<(Child, String), StartError> {
    let mut child = spawn(&mut cmd, log, Stdio::piped()).map_err(StartError::Spawn)?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| StartError::Spawn("no stdout".into()))?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    match rx.recv_timeout(limit) {
        Ok(line) if !line.trim().is_empty() => Ok((child, line)),
        Ok(_) => {
            stop_process(&mut child);
            Err(StartError::Exited)
        }
        Err(_) => {
            stop_process(&mut child);
            Err(StartError::TooSlow(limit))
        }
    }
}

/// Start a server and wait until it accepts connections at `addr`.
pub fn spawn_listening(
    mut cmd: Command,
    log: &Path,
    addr: SocketAddr,
    limit: Duration,
) -> Result<Child, StartError> {
    let mut child = spawn(&mut cmd, log, Stdio::null()).map_err(StartError::Spawn)?;
    let deadline = Instant::now() + limit;
    while std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        if let Ok(Some(_)) = child.try_wait() {
            return Err(StartError::Exited);
        }
        if Instant::now() > deadline {
            stop_process(&mut child);
            return Err(StartError::NotListening(addr));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(child)
}

/// Close its stdin, SIGTERM, a moment to close down, then SIGKILL.
pub fn stop_process(child: &mut Child) {
    drop(child.stdin.take());
    // SAFETY: kill(2) on our own child's pid.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// A port free on 127.0.0.1 for both UDP and TCP (DNS listens on both), checked then
/// released.
pub fn free_dual_port() -> std::io::Result<u16> {
    for _ in 0..100 {
        let udp = std::net::UdpSocket::bind("127.0.0.1:0")?;
        let port = udp.local_addr()?.port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    Err(std::io::Error::other("no port free for both UDP and TCP"))
}

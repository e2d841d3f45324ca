//! Who listens on the PDS's port, read from the kernel's socket tables (/proc/net/tcp and
//! tcp6): a PDS bound to every address answers plain HTTP past the proxy wherever no
//! firewall closes its port. Only this machine's view: a firewall in front is not seen.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The local addresses of listening TCP sockets on `port`.
pub fn listening_on(port: u16) -> Vec<SocketAddr> {
    let mut out = Vec::new();
    for (file, v6) in [("/proc/net/tcp", false), ("/proc/net/tcp6", true)] {
        if let Ok(text) = std::fs::read_to_string(file) {
            out.extend(parse(&text, v6).into_iter().filter(|a| a.port() == port));
        }
    }
    out
}

/// The peers of established TCP connections to local port `port` (who is talking to the
/// PDS right now).
pub fn peers_of(port: u16) -> Vec<SocketAddr> {
    connections_to(port)
        .into_iter()
        .map(|(_, peer)| peer)
        .collect()
}

/// Established TCP connections to local port `port`: (local address, peer). An IPv4 peer
/// of a dual-stack socket (the PDS listens on ::) is given as IPv4, as it is to be named.
pub fn connections_to(port: u16) -> Vec<(SocketAddr, SocketAddr)> {
    let plain = |a: SocketAddr| match a.ip() {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map_or(a, |v4| SocketAddr::new(IpAddr::V4(v4), a.port())),
        _ => a,
    };
    let mut out = Vec::new();
    for (file, v6) in [("/proc/net/tcp", false), ("/proc/net/tcp6", true)] {
        if let Ok(text) = std::fs::read_to_string(file) {
            out.extend(
                rows(&text, v6, "01")
                    .filter(|(local, _)| local.port() == port)
                    .map(|(local, peer)| (plain(local), plain(peer))),
            );
        }
    }
    out
}

/// Listening sockets (state 0A) in a /proc/net/tcp{,6} table.
fn parse(text: &str, v6: bool) -> Vec<SocketAddr> {
    rows(text, v6, "0A").map(|(local, _)| local).collect()
}

/// The table's rows in state `want` (0A listening, 01 established): (local, peer).
fn rows<'a>(
    text: &'a str,
    v6: bool,
    want: &'a str,
) -> impl Iterator<Item = (SocketAddr, SocketAddr)> + 'a {
    let addr = move |s: &str| -> Option<SocketAddr> {
        let (a, port) = s.split_once(':')?;
        let port = u16::from_str_radix(port, 16).ok()?;
        let ip = if v6 { ipv6(a)? } else { IpAddr::V4(ipv4(a)?) };
        Some(SocketAddr::new(ip, port))
    };
    text.lines().skip(1).filter_map(move |line| {
        let mut cols = line.split_whitespace();
        let local = cols.nth(1)?;
        let remote = cols.next()?;
        let state = cols.next()?;
        (state == want).then_some(())?;
        Some((addr(local)?, addr(remote)?))
    })
}

/// Who listens on TCP `port` here: each listening socket's address and the name of the
/// process holding it (None when no process of this machine's can be seen holding it).
/// Read from the kernel: the socket's inode in /proc/net/tcp{,6}, then /proc/*/fd.
pub fn holders(port: u16) -> Vec<(SocketAddr, Option<String>)> {
    let mut sockets: Vec<(SocketAddr, String)> = Vec::new();
    for (file, v6) in [("/proc/net/tcp", false), ("/proc/net/tcp6", true)] {
        if let Ok(text) = std::fs::read_to_string(file) {
            sockets.extend(listening_inodes(&text, v6).filter(|(a, _)| a.port() == port));
        }
    }
    if sockets.is_empty() {
        return Vec::new();
    }
    let owners = owners_of(&sockets.iter().map(|(_, i)| i.clone()).collect::<Vec<_>>());
    sockets
        .into_iter()
        .map(|(a, inode)| (a, owners.get(&inode).map(|(_, name)| name.clone())))
        .collect()
}

/// The ports sshd listens on here: its listening sockets (a process named sshd), the
/// `Port` lines of its configuration, and 22 when sshd is installed and says nothing else
/// (systemd's ssh.socket listens for it). pds-side never filters these.
pub fn sshd_ports() -> Vec<u16> {
    let mut ports: Vec<u16> = Vec::new();
    for (file, v6) in [("/proc/net/tcp", false), ("/proc/net/tcp6", true)] {
        if let Ok(text) = std::fs::read_to_string(file) {
            let socks: Vec<(SocketAddr, String)> = listening_inodes(&text, v6).collect();
            let owners = owners_of(&socks.iter().map(|(_, i)| i.clone()).collect::<Vec<_>>());
            ports.extend(
                socks
                    .iter()
                    .filter(|(_, i)| owners.get(i).is_some_and(|(_, n)| n == "sshd"))
                    .map(|(a, _)| a.port()),
            );
        }
    }
    let mut configs = vec![std::path::PathBuf::from("/etc/ssh/sshd_config")];
    if let Ok(d) = std::fs::read_dir("/etc/ssh/sshd_config.d") {
        configs.extend(d.flatten().map(|e| e.path()));
    }
    for c in configs {
        if let Ok(text) = std::fs::read_to_string(c) {
            ports.extend(text.lines().filter_map(|l| {
                let mut w = l.split_whitespace();
                w.next()
                    .filter(|k| k.eq_ignore_ascii_case("port"))
                    .and(w.next())
                    .and_then(|p| p.parse::<u16>().ok())
            }));
        }
    }
    if ports.is_empty()
        && ["/usr/sbin/sshd", "/usr/bin/sshd"]
            .iter()
            .any(|p| std::path::Path::new(p).exists())
    {
        ports.push(22);
    }
    ports.sort_unstable();
    ports.dedup();
    ports
}

/// Whether the PDS may take TCP `port` (PDS_PORT) on this machine: not sshd's (pds-side
/// would filter it, and SSH with it), and not one another program listens on. `current`:
/// the PDS's port now, which the PDS itself may be holding.
pub fn port_for_pds(port: u16, current: Option<u16>) -> Result<(), String> {
    if sshd_ports().contains(&port) {
        return Err(format!(
            "port {port} is sshd's here: the PDS cannot listen there, and a firewall for the PDS's port would cut SSH; the installer's port is 3000"
        ));
    }
    if current == Some(port) {
        return Ok(());
    }
    let held: Vec<String> = holders(port)
        .into_iter()
        .map(|(a, name)| match name {
            Some(n) => format!("{n} on {a}"),
            None => a.to_string(),
        })
        .collect();
    if held.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "port {port} is taken here ({}): the PDS could not listen on it; choose a free port (the installer's is 3000)",
            held.join(", ")
        ))
    }
}

/// Listening sockets with their inodes.
fn listening_inodes(text: &str, v6: bool) -> impl Iterator<Item = (SocketAddr, String)> + '_ {
    text.lines().skip(1).filter_map(move |line| {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.get(3) != Some(&"0A") {
            return None;
        }
        let (a, port) = cols.get(1)?.split_once(':')?;
        let port = u16::from_str_radix(port, 16).ok()?;
        let ip = if v6 { ipv6(a)? } else { IpAddr::V4(ipv4(a)?) };
        Some((SocketAddr::new(ip, port), cols.get(9)?.to_string()))
    })
}

/// The processes holding a socket that listens on TCP `port` here, by pid.
pub fn holder_pids(port: u16) -> Vec<u32> {
    let mut inodes: Vec<String> = Vec::new();
    for (file, v6) in [("/proc/net/tcp", false), ("/proc/net/tcp6", true)] {
        if let Ok(text) = std::fs::read_to_string(file) {
            inodes.extend(
                listening_inodes(&text, v6)
                    .filter(|(a, _)| a.port() == port)
                    .map(|(_, i)| i),
            );
        }
    }
    if inodes.is_empty() {
        return Vec::new();
    }
    let mut pids: Vec<u32> = owners_of(&inodes)
        .into_values()
        .map(|(pid, _)| pid)
        .collect();
    pids.sort_unstable();
    pids.dedup();
    pids
}

/// For each socket inode, a process holding it: its pid and name (comm).
fn owners_of(inodes: &[String]) -> std::collections::HashMap<String, (u32, String)> {
    let mut out = std::collections::HashMap::new();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return out;
    };
    for p in procs.flatten() {
        let pid = p.file_name();
        if !pid.to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(p.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            let Ok(target) = std::fs::read_link(fd.path()) else {
                continue;
            };
            let t = target.to_string_lossy();
            if let Some(inode) = t.strip_prefix("socket:[").and_then(|r| r.strip_suffix(']')) {
                if inodes.iter().any(|i| i == inode) {
                    let name = std::fs::read_to_string(p.path().join("comm"))
                        .map(|c| c.trim().to_string())
                        .unwrap_or_default();
                    let pid = pid.to_string_lossy().parse().unwrap_or(0);
                    out.insert(inode.to_string(), (pid, name));
                }
            }
        }
    }
    out
}

/// Whether the PDS believes X-Forwarded-For from `ip`: Express's `trust proxy` as the PDS
/// sets it — loopback, link-local and private ranges — plus PDS_RATE_LIMIT_BYPASS_IPS
/// (`bypass`) when rate limits are on.
pub fn trusted_for_forwarding(ip: IpAddr, bypass: &[IpAddr]) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        ip => ip,
    };
    let private = match ip {
        IpAddr::V4(a) => a.is_loopback() || a.is_link_local() || a.is_private(),
        IpAddr::V6(a) => {
            let first = a.segments()[0];
            a.is_loopback() || (first & 0xffc0) == 0xfe80 || (first & 0xfe00) == 0xfc00
        }
    };
    private || bypass.contains(&ip)
}

/// The kernel prints each 32-bit word in host order (little-endian here).
fn word(hex: &str) -> Option<[u8; 4]> {
    Some(u32::from_str_radix(hex, 16).ok()?.to_le_bytes())
}

fn ipv4(hex: &str) -> Option<Ipv4Addr> {
    (hex.len() == 8).then_some(())?;
    Some(Ipv4Addr::from(word(hex)?))
}

fn ipv6(hex: &str) -> Option<IpAddr> {
    (hex.len() == 32).then_some(())?;
    let mut bytes = [0u8; 16];
    for i in 0..4 {
        bytes[i * 4..i * 4 + 4].copy_from_slice(&word(&hex[i * 8..i * 8 + 8])?);
    }
    Some(IpAddr::V6(Ipv6Addr::from(bytes)))
}

/// Whether a socket bound to `addr` can be reached from other machines: every address
/// (0.0.0.0, ::) or one that is not loopback.
pub fn reachable_from_outside(addr: &SocketAddr) -> bool {
    let ip = match addr.ip() {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        ip => ip,
    };
    !ip.is_loopback()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kernel_tables_read_right() {
        let tcp = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0100007F:0BB8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0\n   1: 00000000:0BB8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0\n   2: 0100007F:0BB8 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0 20 4 30 10 -1\n";
        let got = parse(tcp, false);
        assert_eq!(
            got,
            vec![
                "127.0.0.1:3000".parse::<SocketAddr>().unwrap(),
                "0.0.0.0:3000".parse().unwrap()
            ]
        );
        assert!(!reachable_from_outside(&got[0]));
        assert!(reachable_from_outside(&got[1]));
        let tcp6 = "  sl  local_address                         remote_address                        st\n   0: 00000000000000000000000001000000:0BB8 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4 1\n   1: 00000000000000000000000000000000:0BB8 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5 1\n";
        let got = parse(tcp6, true);
        assert_eq!(
            got,
            vec![
                "[::1]:3000".parse::<SocketAddr>().unwrap(),
                "[::]:3000".parse().unwrap()
            ]
        );
        assert!(!reachable_from_outside(&got[0]));
        assert!(reachable_from_outside(&got[1]));
        // Established connections: the local end and the peer.
        let est = "  sl  local_address rem_address   st\n   1: 01004064:B3B5 0100007F:D0D5 01 0\n   2: 0100007F:D0D5 01004064:B3B5 01 0\n";
        let got: Vec<_> = rows(est, false, "01").collect();
        assert_eq!(got[1].0, "127.0.0.1:53461".parse::<SocketAddr>().unwrap());
        assert_eq!(got[1].1, "100.64.0.1:46005".parse::<SocketAddr>().unwrap());
    }

    #[test]
    fn who_the_pds_trusts_for_forwarded_addresses() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        for t in [
            "127.0.0.1",
            "10.1.2.3",
            "172.20.0.5",
            "192.168.1.1",
            "169.254.1.1",
            "::1",
            "fd7a:115c:a1e0::1",
            "fe80::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(trusted_for_forwarding(ip(t), &[]), "{t}");
        }
        // Tailscale's 100.64/10 and public addresses are not, unless listed to bypass.
        for u in ["100.64.0.1", "203.0.113.9", "2001:db8::1"] {
            assert!(!trusted_for_forwarding(ip(u), &[]), "{u}");
        }
        assert!(trusted_for_forwarding(
            ip("100.64.0.1"),
            &[ip("100.64.0.1")]
        ));
    }
}

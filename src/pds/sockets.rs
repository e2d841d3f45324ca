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

/// Listening sockets (state 0A) in a /proc/net/tcp{,6} table.
fn parse(text: &str, v6: bool) -> Vec<SocketAddr> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let mut cols = line.split_whitespace();
            let local = cols.nth(1)?;
            let state = cols.nth(1)?;
            if state != "0A" {
                return None;
            }
            let (addr, port) = local.split_once(':')?;
            let port = u16::from_str_radix(port, 16).ok()?;
            let ip = if v6 {
                ipv6(addr)?
            } else {
                IpAddr::V4(ipv4(addr)?)
            };
            Some(SocketAddr::new(ip, port))
        })
        .collect()
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
    }
}

//! The PDS side's firewall: nftables (the wizard's own table, loaded whole) and ufw (rules
//! ordered against what ufw already holds, then read back). Never the port sshd listens on;
//! ufw only when it is active (an inactive ufw takes rules and does nothing with them).

use super::split::{Split, Via, CADDY_PORT};
use std::net::IpAddr;
use std::path::Path;

impl Split {
    /// The ports the private network guards, each with whether the front may reach it:
    /// the PDS's own port (the front's, directly; loopback only through Caddy) and Caddy's.
    pub fn guarded_ports(&self) -> Vec<(u16, bool)> {
        match self.via {
            Via::Direct => vec![(self.pds_port, true)],
            Via::InstallerCaddy => vec![(CADDY_PORT, true), (self.pds_port, false)],
        }
    }

    /// An nftables file for the PDS machine: its own table (replaced whole on each load),
    /// loopback free, the front allowed on the private interface, everyone else dropped.
    pub fn nft_rules(&self, interface: Option<&str>) -> String {
        let ports = |front: Option<bool>| -> Vec<u16> {
            self.guarded_ports()
                .into_iter()
                .filter(|(_, f)| front.is_none_or(|want| *f == want))
                .map(|(p, _)| p)
                .collect()
        };
        crate::template::render(
            "service/pds-wizard.nft",
            minijinja::context! {
                table => TABLE,
                family => match self.front_address {
                    IpAddr::V4(_) => "ip",
                    IpAddr::V6(_) => "ip6",
                },
                front => self.front_address.to_string(),
                interface => interface,
                allowed => ports(Some(true)),
                closed => ports(Some(false)),
                all => ports(None),
            },
        )
    }

    /// The same with ufw, as commands in order (ufw takes the first rule that matches).
    pub fn ufw_commands(&self, interface: Option<&str>) -> Vec<String> {
        let mut out = Vec::new();
        for (port, front) in self.guarded_ports() {
            if front {
                out.push(match interface {
                    Some(i) => format!(
                        "ufw allow in on {i} from {} to any port {port} proto tcp",
                        self.front_address
                    ),
                    None => format!(
                        "ufw allow from {} to any port {port} proto tcp",
                        self.front_address
                    ),
                });
            }
        }
        for (port, _) in self.guarded_ports() {
            out.push(format!("ufw deny {port}/tcp"));
        }
        out
    }

    /// The ufw commands that make the guarded ports answer the front only, against the
    /// rules ufw holds now (`rules`, in its order): the front's allow goes first (ufw takes
    /// the first rule that matches), `deny PORT/tcp` after it — which turns the usual
    /// `allow PORT/tcp` into the deny in its place. A rule that would still let everyone in
    /// ahead of the deny (`allow 80`, a range, an application profile) is the operator's to
    /// change: refused, naming it. Rules already in place are not added again.
    pub fn ufw_plan(
        &self,
        interface: Option<&str>,
        rules: &[UfwRule],
    ) -> Result<Vec<String>, String> {
        let v6 = self.front_address.is_ipv6();
        let mut out = Vec::new();
        for (port, front) in self.guarded_ports() {
            if front
                && !rules.iter().any(|r| {
                    r.covers(port) == Some(true) && r.allows() && r.source_is(self.front_address)
                })
            {
                let rule = match interface {
                    Some(i) => format!(
                        "allow in on {i} from {} to any port {port} proto tcp",
                        self.front_address
                    ),
                    None => format!(
                        "allow from {} to any port {port} proto tcp",
                        self.front_address
                    ),
                };
                // The first rule of the front's family: ufw numbers IPv4 rules first.
                match rules.iter().find(|r| r.v6 == v6) {
                    Some(first) => out.push(format!("ufw insert {} {rule}", first.number)),
                    None => out.push(format!("ufw {rule}")),
                }
            }
            let exact = |r: &UfwRule| r.to == format!("{port}/tcp") && r.from_anywhere() && !r.v6;
            for r in rules
                .iter()
                .filter(|r| !r.v6 && r.from_anywhere() && r.allows())
            {
                match r.covers(port) {
                    Some(true) if exact(r) => {}
                    Some(true) => {
                        return Err(format!(
                            "ufw rule [{}] ({} {} {}) lets everyone reach port {port}, and ufw takes the first rule that matches: the deny would come after it. Remove it (sudo ufw delete {}) or narrow it, then run this again; nothing was changed",
                            r.number, r.to, r.action, r.from, r.number
                        ))
                    }
                    None => {
                        return Err(format!(
                            "ufw rule [{}] ({} {} {}) may let everyone reach port {port} (an application profile: ufw app info \"{}\" says which ports); remove or narrow it, then run this again; nothing was changed",
                            r.number, r.to, r.action, r.from, r.to
                        ))
                    }
                    Some(false) => {}
                }
            }
            let denied = rules
                .iter()
                .any(|r| !r.v6 && r.to == format!("{port}/tcp") && r.from_anywhere() && r.denies());
            if !denied {
                out.push(format!("ufw deny {port}/tcp"));
            }
        }
        Ok(out)
    }

    /// Whether ufw's rules (as `ufw status numbered` lists them, in order) let the front in
    /// and keep everyone else out on each guarded port; what is wrong, in a sentence.
    pub fn ufw_verify(&self, rules: &[UfwRule]) -> Result<(), String> {
        let v6 = self.front_address.is_ipv6();
        let outsider: IpAddr = if v6 {
            "2001:db8::1".parse().expect("an address")
        } else {
            "192.0.2.1".parse().expect("an address")
        };
        let first = |port: u16, from: IpAddr, on_front_link: bool| {
            rules.iter().find(|r| {
                r.v6 == v6
                    && r.covers(port) != Some(false)
                    && r.source_matches(from)
                    && (on_front_link || r.interface.is_none())
            })
        };
        for (port, front) in self.guarded_ports() {
            if front {
                match first(port, self.front_address, true) {
                    Some(r) if r.allows() => {}
                    Some(r) => {
                        return Err(format!(
                        "ufw refuses the front on port {port}: rule [{}] ({} {} {}) comes first",
                        r.number, r.to, r.action, r.from
                    ))
                    }
                    None => {
                        return Err(format!(
                            "ufw has no rule letting the front reach port {port}"
                        ))
                    }
                }
            }
            match first(port, outsider, false) {
                Some(r) if r.denies() => {}
                Some(r) => {
                    return Err(format!(
                    "ufw still lets everyone reach port {port}: rule [{}] ({} {} {}) comes first",
                    r.number, r.to, r.action, r.from
                ))
                }
                None => return Err(format!("ufw does not refuse port {port} to everyone else")),
            }
        }
        Ok(())
    }
}

/// One rule as `ufw status numbered` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UfwRule {
    pub number: usize,
    /// "80/tcp", "3000", "80,443/tcp", "Anywhere", an application profile's name.
    pub to: String,
    /// The interface after "on", when the rule names one.
    pub interface: Option<String>,
    /// "ALLOW IN", "DENY IN", "LIMIT IN", "REJECT IN", "ALLOW OUT"…
    pub action: String,
    /// "Anywhere", an address or a network.
    pub from: String,
    pub v6: bool,
}

impl UfwRule {
    pub fn allows(&self) -> bool {
        (self.action.starts_with("ALLOW") || self.action.starts_with("LIMIT"))
            && !self.action.ends_with("OUT")
    }

    pub fn denies(&self) -> bool {
        (self.action.starts_with("DENY") || self.action.starts_with("REJECT"))
            && !self.action.ends_with("OUT")
    }

    pub fn from_anywhere(&self) -> bool {
        self.from == "Anywhere"
    }

    fn source_is(&self, ip: IpAddr) -> bool {
        self.from.parse::<IpAddr>().ok() == Some(ip)
    }

    /// Whether traffic from `ip` matches the rule's source.
    fn source_matches(&self, ip: IpAddr) -> bool {
        if self.from_anywhere() {
            return true;
        }
        match self.from.split_once('/') {
            None => self.source_is(ip),
            Some((net, bits)) => match (net.parse::<IpAddr>(), bits.parse::<u32>()) {
                (Ok(IpAddr::V4(n)), Ok(b)) if b <= 32 => match ip {
                    IpAddr::V4(a) => {
                        let mask = if b == 0 { 0 } else { u32::MAX << (32 - b) };
                        u32::from(a) & mask == u32::from(n) & mask
                    }
                    _ => false,
                },
                (Ok(IpAddr::V6(n)), Ok(b)) if b <= 128 => match ip {
                    IpAddr::V6(a) => {
                        let mask = if b == 0 { 0 } else { u128::MAX << (128 - b) };
                        u128::from(a) & mask == u128::from(n) & mask
                    }
                    _ => false,
                },
                _ => false,
            },
        }
    }

    /// Whether the rule covers TCP port `port` (None: it names an application profile,
    /// whose ports only ufw knows).
    pub fn covers(&self, port: u16) -> Option<bool> {
        if self.to == "Anywhere" {
            return Some(true);
        }
        let (ports, proto) = match self.to.split_once('/') {
            Some((p, proto)) => (p, Some(proto)),
            None => (self.to.as_str(), None),
        };
        if proto.is_some_and(|p| p != "tcp") {
            return Some(false);
        }
        let mut any = false;
        for part in ports.split(',') {
            let (lo, hi) = match part.split_once(':') {
                Some((a, b)) => (a.parse::<u16>().ok()?, b.parse::<u16>().ok()?),
                None => {
                    let p = part.parse::<u16>().ok()?;
                    (p, p)
                }
            };
            any |= (lo..=hi).contains(&port);
        }
        Some(any)
    }
}

/// What ufw is doing here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UfwState {
    /// No ufw command.
    Missing,
    /// Installed, not enabled: rules added now would do nothing.
    Inactive,
    Active(Vec<UfwRule>),
    /// ufw answered something this cannot read (its words).
    Unreadable(String),
}

/// `ufw status numbered`, read.
pub fn ufw_state(limit: std::time::Duration) -> UfwState {
    use crate::run::Ran;
    if crate::fsutil::find_tool("ufw").is_none() {
        return UfwState::Missing;
    }
    match crate::run::run_bounded("ufw", &["status", "numbered"], limit) {
        Ran::Done { ok: true, text } => parse_ufw(&text),
        Ran::Done { text, .. } => UfwState::Unreadable(text.trim().to_string()),
        Ran::CannotRun(e) => UfwState::Unreadable(e),
        Ran::TimedOut => UfwState::Unreadable(format!(
            "ufw status did not answer in {} s",
            limit.as_secs()
        )),
    }
}

/// The state and rules `ufw status numbered` prints.
pub fn parse_ufw(text: &str) -> UfwState {
    let status = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Status:"))
        .map(str::trim);
    match status {
        Some("inactive") => return UfwState::Inactive,
        Some("active") => {}
        _ => return UfwState::Unreadable(text.trim().to_string()),
    }
    let mut rules = Vec::new();
    for l in text.lines() {
        let Some(rest) = l.trim_start().strip_prefix('[') else {
            continue;
        };
        let Some((n, rest)) = rest.split_once(']') else {
            continue;
        };
        let Ok(number) = n.trim().parse() else {
            continue;
        };
        // Columns are separated by two spaces or more.
        let cols: Vec<&str> = rest
            .split("  ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        let [to, action, from, ..] = cols.as_slice() else {
            continue;
        };
        let v6 = to.contains("(v6)") || from.contains("(v6)");
        let to = to.replace("(v6)", "");
        let (to, interface) = match to.trim().split_once(" on ") {
            Some((t, i)) => (t.trim().to_string(), Some(i.trim().to_string())),
            None => (to.trim().to_string(), None),
        };
        let from = from.replace("(v6)", "").trim().to_string();
        rules.push(UfwRule {
            number,
            to,
            interface,
            action: action.to_string(),
            from,
            v6,
        });
    }
    UfwState::Active(rules)
}

/// Load the nftables file (its table replaced whole: loading twice is loading once).
pub fn load_nft(path: &Path, limit: std::time::Duration) -> Result<(), String> {
    super::split::run(&["nft", "-f", &path.to_string_lossy()], limit)
}

/// Whether the wizard's nftables table is loaded and drops `port` for all but loopback and
/// the addresses it accepts: those addresses ("loopback" when none), or None.
/// `nft` runs for at most `limit` (it blocks: call it off the async workers).
pub fn firewall_guards(port: u16, limit: std::time::Duration) -> Option<String> {
    use crate::run::Ran;
    let table: Vec<&str> = TABLE.split(' ').collect();
    let Ran::Done { ok: true, text } =
        crate::run::run_bounded("nft", &["-j", "list", "table", table[0], table[1]], limit)
    else {
        return None;
    };
    guards_in(&text, port)
}

/// What [`firewall_guards`] reads from `nft -j list table …` (nftables' JSON, schema 1):
/// a rule that drops `port`, and the source addresses of the rules that accept it.
fn guards_in(json: &str, port: u16) -> Option<String> {
    use serde_json::Value;
    let doc: Value = serde_json::from_str(json).ok()?;
    // A rule's verdict and what its matches say of the port and the source address.
    struct Rule {
        verdict: &'static str,
        port: bool,
        from: Option<String>,
    }
    let ports = |v: &Value| -> bool {
        let one = |v: &Value| match v {
            Value::Number(n) => n.as_u64() == Some(u64::from(port)),
            Value::Object(o) => o
                .get("range")
                .and_then(Value::as_array)
                .and_then(|r| Some((r.first()?.as_u64()?, r.get(1)?.as_u64()?)))
                .is_some_and(|(a, b)| (a..=b).contains(&u64::from(port))),
            _ => false,
        };
        match v.get("set").and_then(Value::as_array) {
            Some(items) => items.iter().any(one),
            None => one(v),
        }
    };
    let address = |v: &Value| -> Option<String> {
        match v {
            Value::String(a) => Some(a.clone()),
            Value::Object(o) => {
                let p = o.get("prefix")?;
                Some(format!("{}/{}", p.get("addr")?.as_str()?, p.get("len")?))
            }
            _ => None,
        }
    };
    let rules: Vec<Rule> = doc
        .get("nftables")?
        .as_array()?
        .iter()
        .filter_map(|item| item.get("rule")?.get("expr")?.as_array())
        .map(|exprs| {
            let mut rule = Rule {
                verdict: "",
                port: false,
                from: None,
            };
            for e in exprs {
                if e.get("accept").is_some() {
                    rule.verdict = "accept";
                } else if e.get("drop").is_some() {
                    rule.verdict = "drop";
                }
                let Some(m) = e.get("match") else { continue };
                let (Some(left), Some(right)) = (m.get("left"), m.get("right")) else {
                    continue;
                };
                let field = left.get("payload").and_then(|p| p.get("field"));
                match field.and_then(Value::as_str) {
                    Some("dport") => rule.port = ports(right),
                    Some("saddr") => rule.from = address(right),
                    _ => {}
                }
            }
            rule
        })
        .collect();
    rules
        .iter()
        .any(|r| r.verdict == "drop" && r.port)
        .then_some(())?;
    let allowed: Vec<String> = rules
        .iter()
        .filter(|r| r.verdict == "accept" && r.port)
        .filter_map(|r| r.from.clone())
        .collect();
    Some(if allowed.is_empty() {
        "loopback".into()
    } else {
        allowed.join(", ")
    })
}

/// The nftables table the wizard's rules live in.
pub const TABLE: &str = "inet pds_wizard";

#[cfg(test)]
mod tests {
    use super::*;

    fn split(via: Via) -> Split {
        Split::example(via)
    }

    /// The nftables file, byte for byte, for both shapes.
    #[test]
    fn the_nft_files_as_they_are() {
        insta::assert_snapshot!(format!(
            "==> direct, on tailscale0\n{}==> through Caddy\n{}",
            split(Via::Direct).nft_rules(Some("tailscale0")),
            split(Via::InstallerCaddy).nft_rules(None)
        ));
    }

    #[test]
    fn the_firewall_lets_the_front_in_and_keeps_the_rest_out() {
        let d = split(Via::Direct).nft_rules(Some("tailscale0"));
        assert!(d.contains("iifname \"tailscale0\" ip saddr 100.64.0.1 tcp dport { 3000 } accept\n\t\ttcp dport { 3000 } drop"), "{d}");
        let c = split(Via::InstallerCaddy).nft_rules(None);
        assert!(
            c.contains(
                "\t\tip saddr 100.64.0.1 tcp dport { 80 } accept\n\t\ttcp dport { 80, 3000 } drop"
            ),
            "{c}"
        );
        assert!(c.contains("delete table inet pds_wizard"));
        assert_eq!(
            split(Via::InstallerCaddy).ufw_commands(Some("tailscale0")),
            vec![
                "ufw allow in on tailscale0 from 100.64.0.1 to any port 80 proto tcp",
                "ufw deny 80/tcp",
                "ufw deny 3000/tcp"
            ]
        );
        let mut v6 = split(Via::Direct);
        v6.front_address = "fd7a:115c:a1e0::9".parse().unwrap();
        assert!(v6.nft_rules(None).contains("ip6 saddr fd7a:115c:a1e0::9"));
    }

    /// What `nft -j list table inet pds_wizard` printed (nftables 1.0.6) for the Caddy shape
    /// loaded in a network namespace: port 80 for the front on tailscale0, 3000 for loopback.
    const LISTED: &str = include_str!("testdata/nft-list-table.json");

    #[test]
    fn the_loaded_table_is_read_from_nfts_json() {
        assert_eq!(guards_in(LISTED, 80).as_deref(), Some("100.64.0.1"));
        assert_eq!(guards_in(LISTED, 3000).as_deref(), Some("loopback"));
        assert_eq!(guards_in(LISTED, 443), None);
        assert_eq!(guards_in("table inet pds_wizard {", 80), None);
    }

    const USUAL: &str = "Status: active\n\n     To                         Action      From\n     --                         ------      ----\n[ 1] 22/tcp                     ALLOW IN    Anywhere                  \n[ 2] 80/tcp                     ALLOW IN    Anywhere                  \n[ 3] 22/tcp (v6)                ALLOW IN    Anywhere (v6)             \n[ 4] 80/tcp (v6)                ALLOW IN    Anywhere (v6)             \n";

    fn rules(text: &str) -> Vec<UfwRule> {
        match parse_ufw(text) {
            UfwState::Active(r) => r,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn ufw_rules_go_in_order_against_what_is_there() {
        let s = split(Via::InstallerCaddy);
        assert_eq!(parse_ufw("Status: inactive\n"), UfwState::Inactive);
        let r = rules(USUAL);
        assert_eq!(r[1].to, "80/tcp");
        assert!(r[3].v6 && r[3].from == "Anywhere");
        // The usual "allow 80/tcp": the front's allow first, then the deny takes its place.
        assert_eq!(
            s.ufw_plan(Some("tailscale0"), &r).unwrap(),
            vec![
                "ufw insert 1 allow in on tailscale0 from 100.64.0.1 to any port 80 proto tcp",
                "ufw deny 80/tcp",
                "ufw deny 3000/tcp"
            ]
        );
        assert!(s
            .ufw_verify(&r)
            .unwrap_err()
            .contains("rule [2] (80/tcp ALLOW IN Anywhere)"));
        let after = rules("Status: active\n\n[ 1] 80/tcp on tailscale0       ALLOW IN    100.64.0.1\n[ 2] 22/tcp                     ALLOW IN    Anywhere\n[ 3] 80/tcp                     DENY IN     Anywhere\n[ 4] 3000/tcp                   DENY IN     Anywhere\n");
        assert_eq!(s.ufw_verify(&after), Ok(()));
        assert!(s.ufw_plan(Some("tailscale0"), &after).unwrap().is_empty());
        // A rule the deny cannot replace: refused, named.
        let wide =
            rules("Status: active\n\n[ 1] 80                         ALLOW IN    Anywhere\n");
        assert!(s
            .ufw_plan(None, &wide)
            .unwrap_err()
            .contains("rule [1] (80 ALLOW IN Anywhere)"));
        let range =
            rules("Status: active\n\n[ 1] 1:1024/tcp                 ALLOW IN    Anywhere\n");
        assert!(s.ufw_plan(None, &range).is_err());
        let app = rules("Status: active\n\n[ 1] Nginx Full                 ALLOW IN    Anywhere\n");
        assert!(s
            .ufw_plan(None, &app)
            .unwrap_err()
            .contains("application profile"));
        // No rules yet: appended, in order.
        assert_eq!(
            split(Via::Direct).ufw_plan(None, &[]).unwrap(),
            vec![
                "ufw allow from 100.64.0.1 to any port 3000 proto tcp",
                "ufw deny 3000/tcp"
            ]
        );
    }
}

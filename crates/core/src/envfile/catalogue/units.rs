//! The units: integers as JavaScript's parseInt reads them, and sizes in bytes.

/// What JavaScript's `parseInt(value, 10)` makes of a value (the PDS's envInt): leading
/// blanks and a sign, then the digits up to the first other character. None for NaN.
pub(super) fn js_parse_int(value: &str) -> Option<i64> {
    let t = value.trim_start();
    let (neg, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let digits: String = t.chars().take_while(char::is_ascii_digit).collect();
    let n: i64 = digits.parse().ok()?;
    Some(if neg { -n } else { n })
}

/// A size as people write it ("300MB", "300 MiB", "1.5G", "512k"), in bytes; units are
/// binary, as the installer's "300 MB" (314572800) is.
pub fn parse_size(value: &str) -> Option<u64> {
    let t = value.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let num: f64 = num.parse().ok()?;
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return None,
    };
    Some((num * factor as f64).round() as u64)
}

/// A byte count as people read it: whole MiB as such (104857600 → "100 MiB"), other sizes
/// over 1 MiB to a tenth, small ones in bytes.
pub fn human_bytes(n: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if n >= MIB && n.is_multiple_of(MIB) {
        format!("{} MiB", n / MIB)
    } else if n >= MIB {
        format!("{:.1} MiB", n as f64 / MIB as f64)
    } else {
        format!("{n} bytes")
    }
}

//! The machine: free disk and a clock the network agrees with.

use super::*;

pub(super) fn disk(i: &Inputs) -> Vec<Finding> {
    let dir = i.get("PDS_DATA_DIRECTORY").unwrap_or_else(|| "/pds".into());
    // The directory itself, or the nearest parent that exists (a fresh install).
    let mut p = std::path::PathBuf::from(&dir);
    while !p.exists() {
        if !p.pop() {
            return vec![Finding::warn(format!("{dir} does not exist"))];
        }
    }
    let st = match rustix::fs::statvfs(&p) {
        Ok(st) => st,
        Err(e) => {
            return vec![Finding::warn(format!(
                "cannot read free space of {}: {}",
                p.display(),
                std::io::Error::from(e)
            ))]
        }
    };
    let free = st.f_bavail.saturating_mul(st.f_frsize);
    let total = st.f_blocks.saturating_mul(st.f_frsize);
    const GIB: u64 = 1 << 30;
    let what = format!(
        "{:.1} GiB free of {:.1} GiB under {}",
        free as f64 / GIB as f64,
        total as f64 / GIB as f64,
        p.display()
    );
    if free < GIB {
        vec![Finding::fail(what)
            .why("the PDS stops writing (posts, blobs, its databases) when the disk is full")
            .fix("free space or grow the disk")]
    } else if free < 5 * GIB || (total > 0 && free * 10 < total) {
        vec![Finding::warn(what).fix("free space soon: blobs grow with every upload")]
    } else {
        vec![Finding::pass(what)]
    }
}

/// The newest verified backup where the installed schedule puts them (the units in
/// PDS_WIZARD_UNIT_DIR, else /etc/systemd/system): none, or older than the schedule
/// allows, is a warning.
pub(super) fn backups() -> Vec<Finding> {
    use crate::backup::schedule;
    let unit_dir = std::env::var_os("PDS_WIZARD_UNIT_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| "/etc/systemd/system".into());
    let Some((dest, every)) = schedule::installed(&unit_dir) else {
        return vec![Finding::warn(format!(
            "no backup schedule ({} in {}): nothing backs this PDS up",
            schedule::TIMER,
            unit_dir.display()
        ))
        .why("a disk that fails takes every account's posts, keys and media with it")
        .fix("pds-wizard backup schedule --every day --keep 14 /var/backups/pds")];
    };
    let every_word = match every {
        schedule::Every::Day => "every day",
        schedule::Every::Hour => "every hour",
    };
    match crate::backup::last_verified(&dest) {
        None => vec![Finding::warn(format!(
            "no verified backup in {} yet (the schedule runs {every_word})",
            dest.display()
        ))
        .fix(format!(
            "see why: journalctl -u {}; or make one now: pds-wizard backup create {}",
            schedule::SERVICE,
            dest.display()
        ))],
        Some((l, age)) => {
            let what = format!(
                "newest verified backup: {} ({} old, {} account(s))",
                l.path.display(),
                crate::pds::data::age_text(age.max(0)),
                l.manifest.as_ref().map(|m| m.accounts.len()).unwrap_or(0)
            );
            // Two periods and a half: one missed run is late, not lost.
            if age as u64 > every.period().as_secs() * 5 / 2 {
                vec![Finding::warn(what)
                    .why(format!(
                        "the schedule runs {every_word}: the last runs made no verified backup"
                    ))
                    .fix(format!("journalctl -u {}", schedule::SERVICE))]
            } else {
                vec![Finding::pass(what)]
            }
        }
    }
}

/// An HTTP `Date` header (`Tue, 24 Nov 2026 09:17:02 GMT`, or the two obsolete forms) as
/// Unix time.
fn http_date(s: &str) -> Option<i64> {
    let t = httpdate::parse_http_date(s).ok()?;
    let since = t.duration_since(std::time::UNIX_EPOCH).ok()?;
    i64::try_from(since.as_secs()).ok()
}

pub(super) async fn clock(i: &Inputs) -> Vec<Finding> {
    // The PLC directory is another machine (the public name is usually this one's proxy).
    let c = match client(&local(i), "") {
        Ok(c) => c,
        Err(e) => return vec![Finding::fail(e)],
    };
    let url = format!("{}/", i.settings.plc_url);
    let sent = time::OffsetDateTime::now_utc().unix_timestamp();
    let r = match c.get(&url).send().await {
        Ok(r) => r,
        Err(e) => return vec![Finding::warn(format!("cannot compare clocks: {url}")).caused_by(&e)],
    };
    let Some(theirs) = r
        .headers()
        .get("date")
        .and_then(|d| d.to_str().ok())
        .and_then(http_date)
    else {
        return vec![Finding::warn(format!("{url} sent no usable Date header"))];
    };
    let skew = theirs - sent;
    let what = format!(
        "this clock is {} s {} {url}",
        skew.abs(),
        if skew > 0 { "behind" } else { "ahead of" }
    );
    if skew.abs() > 300 {
        vec![Finding::fail(what)
            .why("tokens and signed records carry times; far off, logins and federation fail")
            .fix("turn on time sync: sudo timedatectl set-ntp true")]
    } else if skew.abs() > 30 {
        vec![Finding::warn(what).fix("turn on time sync: sudo timedatectl set-ntp true")]
    } else {
        vec![Finding::pass(format!(
            "the clock agrees with {url} (within {} s)",
            skew.abs().max(1)
        ))]
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn http_dates() {
        assert_eq!(
            super::http_date("Tue, 24 Nov 2026 09:17:02 GMT"),
            Some(1_795_511_822)
        );
        // The obsolete forms a server may still send (RFC 9110, 5.6.7).
        assert_eq!(
            super::http_date("Tuesday, 24-Nov-26 09:17:02 GMT"),
            Some(1_795_511_822)
        );
        assert_eq!(
            super::http_date("Tue Nov 24 09:17:02 2026"),
            Some(1_795_511_822)
        );
        assert_eq!(super::http_date("Tue, 24 Nov 2026 09:17:02 PST"), None);
        assert_eq!(super::http_date("yesterday"), None);
    }
}

//! `check`: what is wrong with a pds.env as it stands, line by line and as a whole.

use super::catalogue;
use super::readers::Reading;
use super::sensitive;
use super::{encode_value, Document, GOAT_KEY};
use crate::finding::{Finding, Level};
use crate::secret;
use crate::version::{Reported, Version};

const READERS: [&str; 3] = ["docker compose", "bash (pdsadmin)", "systemd"];

/// What each reader makes of a line, for a finding. A secret is never shown, but the
/// readings must still say WHERE they differ: each masked value comes with its length and
/// the first character at which it parts from docker compose's (the PDS's) reading, and
/// a URL keeps its non-secret parts (the host each reader would use).
fn describe_readings(key: &str, raw: &str, readings: &[Reading; 3]) -> Vec<String> {
    let hidden = sensitive::is_secret_key(key);
    let reference = readings
        .iter()
        .zip(READERS)
        .find_map(|(r, who)| r.value().map(|v| (who, v)));
    readings
        .iter()
        .zip(READERS)
        .map(|(r, who)| match r {
            Reading::Value { value, .. } if hidden => {
                let parts = match reference {
                    Some((ref_who, first)) if first != value => {
                        let at = first
                            .chars()
                            .zip(value.chars())
                            .take_while(|(a, b)| a == b)
                            .count();
                        format!("; it parts from {ref_who}'s at character {}", at + 1)
                    }
                    _ => String::new(),
                };
                format!(
                    "{who} reads {} ({} characters{parts})",
                    sensitive::mask_reading(key, value, raw),
                    value.chars().count()
                )
            }
            Reading::Value { value, .. } => {
                format!("{who} reads {:?}", sensitive::mask_reading(key, value, raw))
            }
            Reading::Other(why) if hidden => why.masked(),
            Reading::Other(why) => secret::mask_urls_in(&why.to_string()),
            Reading::Nothing => format!("{who} skips it"),
        })
        .collect()
}

/// Findings for a document; `file_mode` is the mode of the file on disk, when there is one.
pub fn check(doc: &Document, file_mode: Option<u32>) -> Vec<Finding> {
    judge(doc, file_mode, None, true)
}

/// `check` for the doctor, which knows which PDS version runs: keys only a newer version
/// reads are named as ignored by this one. Open sign-up is left to the doctor's own
/// signup check, which asks the running PDS.
pub fn check_for(doc: &Document, file_mode: Option<u32>, running: Option<Version>) -> Vec<Finding> {
    judge(doc, file_mode, running, false)
}

fn judge(
    doc: &Document,
    file_mode: Option<u32>,
    running: Option<Version>,
    signup: bool,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let (inside, _) = doc.value_spans();
    for (i, line) in doc.lines().iter().enumerate() {
        let n = i + 1;
        if let Some(start) = inside[i] {
            if line.key().is_some() {
                out.push(
                    Finding::fail(format!(
                        "line {n} looks like an assignment but is inside the value that starts on line {}",
                        start + 1
                    ))
                    .why("An unclosed quote (or a trailing backslash) carries that value on into this line: bash and docker compose read it as part of the value, not as a setting of its own.")
                    .fix(format!("Close the quote on line {} (or remove the backslash).", start + 1)),
                );
            }
            continue;
        }
        let Some(key) = line.key() else {
            let t = line.text.trim();
            if !t.is_empty() && !t.starts_with('#') {
                out.push(
                    Finding::warn(format!("line {n} is not KEY=VALUE"))
                        .why("docker compose, bash and systemd each do something different with it (compose may refuse the whole file)")
                        .fix("Turn it into a comment (# …) or remove it."),
                );
            }
            continue;
        };
        let readings = line.readings();
        let compose_value = readings[0].value().map(str::to_string);
        let agree = readings
            .iter()
            .all(|r| r.value().is_some() && r.value() == readings[0].value());
        if !agree {
            let raw = line.text.split_once('=').map_or("", |(_, v)| v);
            let seen = describe_readings(&key, raw, &readings);
            let level = if compose_value.is_none() {
                Level::Fail
            } else {
                Level::Warn
            };
            let invalid = compose_value.as_deref().is_some_and(|v| {
                catalogue::lookup(&key).is_some_and(|info| {
                    catalogue::validate(info, v)
                        .iter()
                        .any(|f| f.level == Level::Fail)
                })
            });
            let fix = match compose_value.as_deref().map(|v| encode_value(&key, v)) {
                // The SMTP URL's own repair knows what was meant; env set refuses it as is.
                _ if invalid && key == "PDS_EMAIL_SMTP_URL" => "Repair it with `pds-wizard email repair` (or the Email step): it encodes the URL as meant and picks a quoting all three read alike.".into(),
                _ if invalid => format!("Correct the value (see the other finding for {key}), then write it with `pds-wizard env set`; it picks a quoting all three read alike."),
                Some(Ok(enc)) if sensitive::is_secret_key(&key) || secret::mask_urls_in(&enc) != enc => {
                    format!("Rewrite it with `pds-wizard env set {key}=-` (value on stdin); it picks a quoting all three read alike.")
                }
                Some(Ok(enc)) => format!("Write it as: {key}={enc}"),
                Some(Err(e)) => format!("Change the value: {e}"),
                None => {
                    "Quote the value in single quotes, or remove what the shell treats as syntax."
                        .into()
                }
            };
            out.push(
                Finding::new(
                    level,
                    format!("line {n}: the three readers of pds.env disagree"),
                )
                .about(&key)
                .why(seen.join("; "))
                .fix(fix),
            );
        }
        if key == GOAT_KEY {
            let t = line.text.trim_start();
            if t.starts_with("export")
                || !t.starts_with(&format!("{GOAT_KEY}="))
                || t[GOAT_KEY.len() + 1..].starts_with(['\'', '"'])
            {
                out.push(
                    Finding::fail(format!("line {n}: written with quotes, spaces or export"))
                        .about(GOAT_KEY)
                        .why("goat (`goat pds admin …`) finds the admin password by a plain PDS_ADMIN_PASSWORD= prefix and takes the rest of the line as is, so it sends a different password")
                        .fix("Write the line as PDS_ADMIN_PASSWORD=<password> with no quotes, spaces or export."),
                );
            }
        }
    }

    for (key, lines) in doc.duplicates() {
        let list: Vec<String> = lines.iter().map(usize::to_string).collect();
        out.push(
            Finding::warn(format!("set on lines {}", list.join(", ")))
                .about(&key)
                .why(format!(
                    "docker compose and bash use the last one (line {}); the others are misleading",
                    lines[lines.len() - 1]
                ))
                .fix("Remove the earlier lines."),
        );
    }

    if let Some(f) = catalogue::open_registration(doc.get("PDS_INVITE_REQUIRED").as_deref(), doc)
        .filter(|_| signup)
    {
        out.push(f);
    }
    let entries = doc.entries();
    for (key, value, line) in &entries {
        match catalogue::status(key) {
            catalogue::KeyStatus::Described(info) => {
                let first = info.since.and_then(Reported::parse).map(|r| r.version);
                if let (Some(first), Some(running)) = (first, running) {
                    if running < first {
                        out.push(
                            Finding::warn(format!(
                                "line {line}: read only from @atproto/pds {first}; this PDS runs {running} and ignores it"
                            ))
                            .about(key)
                            .fix("Update the PDS (sudo pdsadmin update), or remove the line."),
                        );
                    }
                }
                if let Some(v) = value {
                    out.extend(catalogue::validate(info, v).into_iter().map(|mut f| {
                        f.what = format!("line {line}: {}", f.what);
                        f
                    }));
                }
            }
            // Read by the PDS, just not described here: nothing to say.
            catalogue::KeyStatus::Read => {}
            catalogue::KeyStatus::Misspelt(s) => out.push(
                Finding::warn(format!(
                    "line {line}: not a key the PDS reads; did you mean {s}?"
                ))
                .why("A misspelt key is ignored silently: the PDS uses its default instead.")
                .fix(format!("Rename it to {s}."))
                .about(key),
            ),
            catalogue::KeyStatus::Removed { since, instead } => out.push(
                Finding::warn(format!(
                    "line {line}: ignored since @atproto/pds {since} (remove it)"
                ))
                .why(format!(
                    "A PDS older than {since} still reads it; the image operators run today does not{}.",
                    if instead.is_empty() {
                        String::new()
                    } else {
                        format!(" (it reads {instead} instead)")
                    }
                ))
                .fix(format!("Remove the line with `pds-wizard env unset {key}`."))
                .about(key),
            ),
            catalogue::KeyStatus::Unread => out.push(
                Finding::info(format!("line {line}: not a key the PDS reads (kept as is)"))
                    .about(key),
            ),
        }
    }

    let has = |k: &str| doc.get(k).is_some_and(|v| !v.is_empty());
    for info in catalogue::KEYS.iter().filter(|k| k.required) {
        if !entries.iter().any(|(k, _, _)| k == info.name) {
            out.push(
                Finding::fail("is missing; the PDS will not start without it")
                    .about(info.name)
                    .why(info.meaning)
                    .fix(format!(
                        "Add {} (the installer always writes it).",
                        info.name
                    )),
            );
        }
    }
    match (has("PDS_EMAIL_SMTP_URL"), has("PDS_EMAIL_FROM_ADDRESS")) {
        (true, false) | (false, true) => out.push(
            Finding::fail("only one of PDS_EMAIL_SMTP_URL and PDS_EMAIL_FROM_ADDRESS is set")
                .about("email")
                .why("The PDS refuses to start unless both or neither are set.")
                .fix("Set both in the Email step, or remove both."),
        ),
        (false, false) => out.push(
            Finding::warn("no SMTP server configured")
                .about("email")
                .why("Without PDS_EMAIL_SMTP_URL the PDS silently never sends verification or password-reset mail.")
                .fix("Configure email in the Email step."),
        ),
        (true, true) => {}
    }
    out.extend(blobstore(&has));
    for (url, did) in [
        ("PDS_REPORT_SERVICE_URL", "PDS_REPORT_SERVICE_DID"),
        ("PDS_BSKY_APP_VIEW_URL", "PDS_BSKY_APP_VIEW_DID"),
    ] {
        if has(url) && !has(did) {
            out.push(
                Finding::fail(format!("{url} is set without {did}"))
                    .about(url)
                    .why("The PDS requires the DID whenever the URL is set and will not start.")
                    .fix(format!("Add {did}.")),
            );
        }
    }
    if let Some(mode) = file_mode {
        if mode & 0o077 != 0 {
            out.push(
                Finding::warn(format!(
                    "pds.env has mode {:04o}: other users can read it",
                    mode & 0o7777
                ))
                .about("file")
                .why("It holds the admin password, the JWT secret and the PLC rotation key.")
                .fix("chmod 600 pds.env"),
            );
        }
    }
    if !out
        .iter()
        .any(|f| matches!(f.level, Level::Warn | Level::Fail))
    {
        out.push(Finding::pass(format!(
            "{} keys; docker compose, bash and systemd read every line alike",
            entries.len()
        )));
    }
    out
}

/// Where uploads go, judged as the PDS's config.js does when it starts: an S3 bucket or a
/// disk location, never both and never neither; S3 credentials come in pairs.
pub fn blobstore(has: &dyn Fn(&str) -> bool) -> Vec<Finding> {
    const BUCKET: &str = "PDS_BLOBSTORE_S3_BUCKET";
    const DISK: &str = "PDS_BLOBSTORE_DISK_LOCATION";
    const KEY_ID: &str = "PDS_BLOBSTORE_S3_ACCESS_KEY_ID";
    const SECRET: &str = "PDS_BLOBSTORE_S3_SECRET_ACCESS_KEY";
    let mut out = Vec::new();
    match (has(BUCKET), has(DISK)) {
        (true, true) => out.push(
            Finding::fail(format!("both {BUCKET} and {DISK} are set"))
                .about(BUCKET)
                .why("The PDS refuses to start: \"Cannot set both S3 and disk blobstore env vars\".")
                .fix(format!("For S3, remove {DISK} (the installer writes it), after copying the files under it into the bucket; otherwise remove {BUCKET}.")),
        ),
        (false, false) => out.push(
            Finding::fail(format!("neither {DISK} nor {BUCKET} is set"))
                .about(DISK)
                .why("The PDS refuses to start: \"Must configure either S3 or disk blobstore\".")
                .fix(format!("Set {DISK}=/pds/blocks (what the installer writes).")),
        ),
        _ => {}
    }
    if has(BUCKET) {
        if has(KEY_ID) != has(SECRET) {
            out.push(
                Finding::fail(format!("only one of {KEY_ID} and {SECRET} is set"))
                    .about(if has(KEY_ID) { SECRET } else { KEY_ID })
                    .why("The PDS refuses to start: it needs both S3 credentials or neither.")
                    .fix("Set both (from your S3 provider's access key), or neither to use the machine's own S3 credentials."),
            );
        }
        if !has("PDS_BLOBSTORE_S3_REGION") {
            out.push(
                Finding::warn("PDS_BLOBSTORE_S3_REGION is not set")
                    .about("PDS_BLOBSTORE_S3_REGION")
                    .why("The S3 client needs a region to sign requests; without one every upload fails.")
                    .fix("Set the bucket's region (AWS: e.g. us-east-1; Cloudflare R2: auto)."),
            );
        }
    } else {
        let ignored: Vec<&str> = catalogue::KEYS
            .iter()
            .filter(|k| k.group == catalogue::Group::BlobstoreS3 && k.name != BUCKET)
            .map(|k| k.name)
            .filter(|k| has(k))
            .collect();
        if !ignored.is_empty() {
            out.push(
                Finding::info(format!(
                    "{} set without {BUCKET}: ignored",
                    ignored.join(", ")
                ))
                .about(ignored[0])
                .why("Uploads go to disk unless a bucket is named."),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::MASK;

    fn about<'a>(findings: &'a [Finding], key: &str, level: Level) -> Option<&'a Finding> {
        findings
            .iter()
            .find(|f| f.level == level && f.subject.as_deref() == Some(key))
    }

    #[test]
    fn the_blobstore_is_judged_as_the_pds_starts() {
        let f = check(
            &Document::parse("PDS_BLOBSTORE_DISK_LOCATION=/pds/blocks\nPDS_BLOBSTORE_S3_BUCKET=uploads\nPDS_BLOBSTORE_S3_REGION=auto\n"),
            None,
        );
        let both = about(&f, "PDS_BLOBSTORE_S3_BUCKET", Level::Fail).expect("both set");
        assert!(both.why.contains("refuses to start"), "{both:?}");
        let f = check(&Document::parse("PDS_HOSTNAME=pds.example.com\n"), None);
        assert!(about(&f, "PDS_BLOBSTORE_DISK_LOCATION", Level::Fail).is_some());
        // S3 alone: one credential without the other stops the PDS; no region warns.
        let f = check(
            &Document::parse(
                "PDS_BLOBSTORE_S3_BUCKET=uploads\nPDS_BLOBSTORE_S3_ACCESS_KEY_ID=AKIA1\n",
            ),
            None,
        );
        assert!(about(&f, "PDS_BLOBSTORE_S3_SECRET_ACCESS_KEY", Level::Fail).is_some());
        assert!(about(&f, "PDS_BLOBSTORE_S3_REGION", Level::Warn).is_some());
        assert!(about(&f, "PDS_BLOBSTORE_DISK_LOCATION", Level::Fail).is_none());
        // S3 settings without a bucket do nothing, and say so.
        let f = check(
            &Document::parse(
                "PDS_BLOBSTORE_DISK_LOCATION=/pds/blocks\nPDS_BLOBSTORE_S3_REGION=auto\n",
            ),
            None,
        );
        let info = about(&f, "PDS_BLOBSTORE_S3_REGION", Level::Info).expect("ignored");
        assert!(info.what.contains("ignored"), "{info:?}");
    }

    #[test]
    fn keys_a_newer_pds_reads_are_named_for_an_older_one() {
        let doc = Document::parse("PDS_BACKGROUND_LIGHT_URL=https://example.com/bg.jpg\n");
        let older = check_for(&doc, None, Some(Version::new(0, 5, 20)));
        let f = about(&older, "PDS_BACKGROUND_LIGHT_URL", Level::Warn).expect("named");
        assert!(
            f.what
                .contains("read only from @atproto/pds 0.5.26; this PDS runs 0.5.20"),
            "{f:?}"
        );
        for running in [Some(Version::new(0, 5, 26)), None] {
            let f = check_for(&doc, None, running);
            assert!(about(&f, "PDS_BACKGROUND_LIGHT_URL", Level::Warn).is_none());
        }
    }

    fn disagreement(text: &str) -> Finding {
        check(&Document::parse(text), None)
            .into_iter()
            .find(|f| f.what.contains("readers of pds.env disagree"))
            .unwrap_or_else(|| panic!("no disagreement for {text:?}"))
    }

    #[test]
    fn secret_readings_are_masked_but_say_where_they_part() {
        // An unquoted backslash: compose keeps it, bash and systemd drop it.
        let f = disagreement("PDS_HCAPTCHA_SECRET_KEY=Hc4p\\tcha-Secret\n");
        assert!(
            !f.why.contains("Hc4p") && !f.why.contains("Secret"),
            "{}",
            f.why
        );
        assert!(
            f.why
                .contains(&format!("docker compose reads {MASK} (16 characters)")),
            "{}",
            f.why
        );
        assert!(
            f.why.contains(&format!(
                "bash (pdsadmin) reads {MASK} (15 characters; it parts from docker compose's at character 5)"
            )),
            "{}",
            f.why
        );
        // A space: bash runs the rest as a command; the rest is not quoted back.
        let f = disagreement("PDS_ADMIN_PASSWORD=first half-of-it\n");
        assert!(!f.why.contains("half-of-it"), "{}", f.why);
        assert!(
            f.why.contains(&format!("bash runs `{MASK}` as a command")),
            "{}",
            f.why
        );
    }

    #[test]
    fn smtp_url_readings_keep_the_host_each_reader_would_use() {
        // compose cuts at " #" and bash at the space (the rest is a comment to both);
        // systemd reads it whole. A `#` inside a word cuts nothing (next test).
        let f = disagreement("PDS_EMAIL_SMTP_URL=smtps://u:Pa55 #w0rd@smtp.example.com:465\n");
        assert!(
            !f.why.contains("Pa55") && !f.why.contains("w0rd"),
            "{}",
            f.why
        );
        assert!(
            f.why.contains(&format!(
                "docker compose reads smtps://{MASK} (14 characters)"
            )),
            "{}",
            f.why
        );
        assert!(
            f.why.contains(&format!(
                "systemd reads smtps://{MASK}@smtp.example.com:465 ("
            )),
            "{}",
            f.why
        );
    }

    #[test]
    fn open_sign_up_without_a_captcha_is_a_warning() {
        let open = |text: &str| {
            check(&Document::parse(text), None)
                .iter()
                .any(|f| f.what.contains("no captcha guards sign-up"))
        };
        assert!(open("PDS_INVITE_REQUIRED=false\n"));
        assert!(!open("PDS_INVITE_REQUIRED=true\n"));
        // Unset: the PDS requires invites.
        assert!(!open("PDS_HOSTNAME=pds.example.com\n"));
        assert!(!open(
            "PDS_INVITE_REQUIRED=false\nPDS_HCAPTCHA_SITE_KEY=site\nPDS_HCAPTCHA_SECRET_KEY=secret\n"
        ));
    }

    #[test]
    fn keys_a_newer_pds_ignores_are_named_with_the_version() {
        let found = check(
            &Document::parse(
                "PDS_LIGHT_COLOR=#fff\nPDS_BACKGROUND_LIGHT_URL=https://example.com/bg.png\n",
            ),
            None,
        );
        let f = found
            .iter()
            .find(|f| f.subject.as_deref() == Some("PDS_LIGHT_COLOR"))
            .expect("PDS_LIGHT_COLOR is flagged");
        assert_eq!(f.level, Level::Warn);
        assert!(
            f.what
                .contains("ignored since @atproto/pds 0.5.26 (remove it)"),
            "{f:?}"
        );
        assert!(f.why.contains("PDS_BACKGROUND_LIGHT_URL"), "{f:?}");
        // Its replacement is a key the PDS reads: nothing said.
        assert!(
            !found
                .iter()
                .any(|f| f.subject.as_deref() == Some("PDS_BACKGROUND_LIGHT_URL")),
            "{found:?}"
        );
    }

    #[test]
    fn a_hash_inside_a_value_is_read_alike() {
        // compose-go 1.6 and later (Compose 2.11+) keep a `#` that follows no blank, as bash
        // and systemd do: no reader disagrees (what nodemailer makes of it is the email
        // check's business).
        for line in [
            "PDS_EMAIL_SMTP_URL=smtps://u:Pa55#w0rd@smtp.example.com:465\n",
            "PDS_CONTACT_EMAIL_ADDRESS=ad#min@example.com\n",
        ] {
            let found = check(&Document::parse(line), None);
            assert!(
                !found
                    .iter()
                    .any(|f| f.what.contains("readers of pds.env disagree")),
                "{line}: {found:?}"
            );
        }
    }
}

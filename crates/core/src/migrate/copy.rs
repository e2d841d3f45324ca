//! The account's data copied here before it is active: the repository, the preferences,
//! every blob (past the daily upload limit when asked).

use super::*;

/// The repository (again when the old one moved on since), the preferences, and every
/// blob until `listMissingBlobs` is empty: before the account is active here.
#[allow(clippy::too_many_arguments)]
pub(super) async fn copy_data(
    s: &Resolved,
    doc: Option<&Document>,
    req: &Request,
    did: &Did,
    p: &mut Progress,
    old_s: &Xrpc,
    new_s: &Xrpc,
    here: &Xrpc,
    status: &Value,
    say: &mut (dyn FnMut(Finding) + Send),
) -> Result<(), Finding> {
    let latest = old_s
        .get("com.atproto.sync.getLatestCommit", &[("did", did.as_str())])
        .await
        .map_err(|e| e.finding("the old PDS"))?;
    // By the commit's CID: importRepo keeps the old PDS's commit but gives it a rev of its
    // own.
    if !p.has(Stage::Imported) || status["repoCommit"] != latest["cid"] {
        if status["repoCommit"].is_string() && status["repoCommit"] == latest["cid"] {
            say(Finding::info("the repository is already here"));
        } else {
            let (car, _) = old_s
                .get_bytes(
                    "com.atproto.sync.getRepo",
                    &[("did", did.as_str())],
                    import_limit(doc),
                )
                .await
                .map_err(|e| e.finding("the old PDS"))?;
            new_s
                .post(
                    "com.atproto.repo.importRepo",
                    Body::Bytes(&car, "application/vnd.ipld.car"),
                )
                .await
                .map_err(|e| {
                    let f = e.finding("this PDS");
                    // A proxy's body limit: nginx answers 413, Caddy's request_body a 502
                    // once the PDS reads past it.
                    if matches!(e.status, Some(413) | Some(502)) && e.code.is_none() {
                        f.why(format!("The repository ({}) is sent in one request; something in front of the PDS refused its size.", human(car.len())))
                            .fix("raise the proxy's body limit (nginx: client_max_body_size; Caddy: request_body max_size), or pass --pds-url http://localhost:PDS_PORT")
                    } else {
                        f
                    }
                })?;
            say(Finding::pass(format!(
                "imported the repository ({})",
                human(car.len())
            )));
        }
        reached(p, Stage::Imported)?;
    }

    if !p.has(Stage::Preferences) {
        let prefs = old_s
            .get("app.bsky.actor.getPreferences", &[])
            .await
            .map_err(|e| e.finding("the old PDS"))?;
        let body = json!({ "preferences": prefs["preferences"].clone() });
        new_s
            .post("app.bsky.actor.putPreferences", Body::Json(&body))
            .await
            .map_err(|e| e.finding("this PDS"))?;
        say(Finding::pass(format!(
            "copied the preferences ({})",
            prefs["preferences"].as_array().map_or(0, Vec::len)
        )));
        reached(p, Stage::Preferences)?;
    }

    // The blobs, until this PDS misses none (checked on every run: cheap, and a blob the
    // account posted meanwhile on the old PDS is then copied too).
    if req.bypass_upload_limit && uploads_limited(doc) && p.bypass.is_none() {
        let before = doc.and_then(|d| d.get(BYPASS_KEY));
        p.bypass = Some(Bypass {
            before: before.clone(),
        });
        // Recorded first: a run killed from here on still puts it back.
        save_progress(p)?;
        let mut ips: Vec<String> = before
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .map(|x| x.trim().to_string())
            .filter(|x| !x.is_empty())
            .collect();
        for ip in LOOPBACK_IPS {
            if !ips.iter().any(|x| x == ip) {
                ips.push(ip.to_string());
            }
        }
        set_bypass(s, here, Some(&ips.join(","))).await?;
        say(Finding::pass(format!(
            "{BYPASS_KEY} lets this machine past the daily upload limit for the copy (the PDS restarted)"
        )));
    }
    let copied = copy_blobs(did, old_s, new_s, blob_limit(doc), say).await;
    if let Some(b) = p.bypass.clone() {
        set_bypass(s, here, b.before.as_deref()).await?;
        p.bypass = None;
        save_progress(p)?;
        say(Finding::pass(format!(
            "{BYPASS_KEY} is as it was again (the PDS restarted)"
        )));
    }
    let copied = copied?;
    say(Finding::pass(format!(
        "every blob is here (listMissingBlobs is empty; {copied} copied now)"
    )));
    reached(p, Stage::Blobs)?;
    Ok(())
}

/// The account's data on the old PDS, copied to this one until nothing is missing.
async fn copy_blobs(
    did: &Did,
    old: &Xrpc,
    new: &Xrpc,
    limit: usize,
    say: &mut (dyn FnMut(Finding) + Send),
) -> Result<usize, Finding> {
    let mut copied = 0;
    for _round in 0..3 {
        let missing = all_cids(new, "com.atproto.repo.listMissingBlobs", None)
            .await
            .map_err(|e| e.finding("this PDS"))?;
        if missing.is_empty() {
            return Ok(copied);
        }
        say(Finding::info(format!(
            "{} blob{} to copy",
            missing.len(),
            if missing.len() == 1 { "" } else { "s" }
        )));
        for (i, cid) in missing.iter().enumerate() {
            for attempt in 0..3 {
                let got = old
                    .get_bytes(
                        "com.atproto.sync.getBlob",
                        &[("did", did.as_str()), ("cid", cid.as_str())],
                        limit,
                    )
                    .await;
                let sent = match got {
                    Ok((bytes, ty)) => new
                        .post(
                            "com.atproto.repo.uploadBlob",
                            Body::Bytes(
                                &bytes,
                                ty.as_deref().unwrap_or("application/octet-stream"),
                            ),
                        )
                        .await
                        .map(|_| ()),
                    Err(e) => Err(e),
                };
                match sent {
                    Ok(()) => {
                        copied += 1;
                        break;
                    }
                    // The daily limit: retrying now cannot help.
                    Err(e) if e.status == Some(429) => {
                        return Err(e
                            .finding("this PDS")
                            .why("uploadBlob is limited to 1000 a day per address while rate limits are on.")
                            .fix("let this machine past (PDS_RATE_LIMIT_BYPASS_IPS=127.0.0.1,::1, then restart the PDS) and rerun; remove it afterwards"));
                    }
                    Err(e) if attempt == 2 => {
                        say(e.finding(&format!("blob {cid}")).about("blobs"));
                    }
                    Err(_) => {
                        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                    }
                }
            }
            if (i + 1) % 25 == 0 {
                say(Finding::info(format!(
                    "{} of {} blobs copied",
                    i + 1,
                    missing.len()
                )));
            }
        }
    }
    let missing = all_cids(new, "com.atproto.repo.listMissingBlobs", None)
        .await
        .map_err(|e| e.finding("this PDS"))?;
    if missing.is_empty() {
        return Ok(copied);
    }
    Err(Finding::fail(format!(
        "{} blob{} still missing after three rounds: {}",
        missing.len(),
        if missing.len() == 1 { " is" } else { "s are" },
        missing.iter().take(10).cloned().collect::<Vec<_>>().join(", ")
    ))
    .fix("rerun: the copy continues with what is missing (see the messages above for why they failed)"))
}

const BYPASS_KEY: &str = "PDS_RATE_LIMIT_BYPASS_IPS";

/// PDS_RATE_LIMIT_BYPASS_IPS set to `value` (None: removed) in pds.env, then the PDS
/// restarted and answering again.
async fn set_bypass(s: &Resolved, here: &Xrpc, value: Option<&str>) -> Result<(), Finding> {
    let cmd = crate::pds::restart_command(&s.flags).ok_or_else(|| {
        Finding::fail("cannot restart the PDS here to change its upload limit")
            .fix("pass --restart-command, or copy without --bypass-upload-limit")
    })?;
    let path = s.env_file.clone();
    let value = value.map(str::to_string);
    let edited = tokio::task::spawn_blocking(move || -> Result<(), String> {
        let mut doc = Document::load_for_edit(&path).map_err(|e| e.to_string())?;
        match &value {
            Some(v) => doc.set(BYPASS_KEY, v).map_err(|e| e.to_string())?,
            None => {
                doc.unset(BYPASS_KEY).map_err(|e| e.to_string())?;
            }
        }
        doc.save().map_err(|e| e.to_string())?;
        crate::pds::restart(&cmd)
    })
    .await
    .map_err(|e| e.to_string())
    .and_then(|r| r);
    edited.map_err(|e| {
        Finding::fail(format!("{BYPASS_KEY}: {e}"))
            .fix("check pds.env and the PDS (pds-wizard doctor), then rerun")
    })?;
    // Up again: describeServer answers.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while here
        .get("com.atproto.server.describeServer", &[])
        .await
        .is_err()
    {
        if std::time::Instant::now() > deadline {
            return Err(
                Finding::fail("the PDS did not answer within 60 s of its restart")
                    .fix("sudo systemctl status pds (or docker ps -a), then rerun"),
            );
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    Ok(())
}

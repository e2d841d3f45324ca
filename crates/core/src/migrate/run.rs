//! The whole migration, step by step, from where the saved progress left it.

use super::after::after;
use super::check::preflight;
use super::copy::copy_data;
use super::*;

/// The whole migration, from where the saved progress left it.
pub async fn migrate_in(
    s: &Resolved,
    doc: Option<&Document>,
    req: &Request,
    password: &Secret,
    say: &mut (dyn FnMut(Finding) + Send),
) -> Result<Outcome, Stop> {
    let named_old = req.old_pds.as_deref().map(|u| Xrpc::new(u, &s.http));
    let did = resolve_from(s, &req.from, named_old.as_ref()).await?;
    let saved = load_progress(did.as_str());
    // The old PDS: as named, else as saved (once the move is submitted the DID document
    // names this PDS), else the DID document's.
    let old_base = match (&req.old_pds, &saved) {
        (Some(u), _) => u.trim_end_matches('/').to_string(),
        (None, Some(p)) => p.old_pds.clone(),
        (None, None) => {
            let d = crate::identity::diddoc::fetch(&did, &s.plc_url, &s.http).await?;
            pds_endpoint(&d).ok_or_else(|| {
                Finding::fail(format!("{did}'s DID document names no PDS"))
                    .fix("name the old PDS with --old-pds URL")
            })?
        }
    };
    let mut p = match saved {
        Some(p) => {
            say(Finding::info(format!(
                "continuing the move of {did} (done: {})",
                if p.done.is_empty() {
                    "nothing yet".to_string()
                } else {
                    p.done
                        .iter()
                        .map(|s| s.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            )));
            let mut p = p;
            let changed =
                p.handle != req.handle.as_str() || !p.email.eq_ignore_ascii_case(req.email.trim());
            if changed && p.has(Stage::Created) {
                say(Finding::warn(format!(
                    "the account was created here as {} <{}>; that stays (change the handle afterwards with accounts set-handle)",
                    p.handle, p.email
                )));
            } else if changed {
                // Not created yet: the new handle or email is taken, and checked again.
                p.handle = req.handle.as_str().to_string();
                p.email = req.email.trim().to_string();
                p.done.retain(|s| *s != Stage::Checked);
            }
            p
        }
        None => Progress {
            did: did.to_string(),
            old_pds: old_base.clone(),
            handle: req.handle.as_str().to_string(),
            email: req.email.trim().to_string(),
            done: Vec::new(),
            signed_operation: None,
            bypass: None,
        },
    };
    if p.has(Stage::OldDeactivated) {
        say(Finding::info("the move itself is done; checking it again"));
    }
    let old = Xrpc::new(&old_base, &s.http);
    let here = Xrpc::new(&s.local_url, &s.http);
    let described = here
        .get("com.atproto.server.describeServer", &[])
        .await
        .map_err(|e| {
            e.finding("this PDS")
                .fix("start the PDS (sudo systemctl start pds) and check it: pds-wizard doctor")
        })?;
    let service_did = described["did"].as_str().unwrap_or_default().to_string();
    say(Finding::pass(format!("this PDS answers ({service_did})")));

    let (old_s, old_session) = session(
        &old,
        "the old PDS",
        &did,
        password,
        req.auth_code.as_deref(),
    )
    .await?;
    say(Finding::pass(format!(
        "signed in to the old PDS {old_base} as {} ({did})",
        old_session["handle"].as_str().unwrap_or("?")
    )));

    if !p.has(Stage::Checked) {
        let blockers = preflight(s, doc, req, &did, &old_s, &here, &described, say).await;
        if !blockers.is_empty() {
            return Err(Stop::Blocked(blockers));
        }
        say(Finding::pass(
            "every limit of this PDS allows the move; nothing was written yet",
        ));
        reached(&mut p, Stage::Checked)?;
    }

    // The account here, deactivated, with the same DID.
    let admin = s.admin();
    let exists = admin.email_of(did.as_str()).await.is_ok();
    if !exists {
        let invite = if described["inviteCodeRequired"].as_bool().unwrap_or(false) {
            let book = crate::setup::accounts::InviteBook::for_pds(&s.local_url);
            Some(match admin.unused_invite(&book.codes()).await? {
                Some(code) => code,
                None => {
                    let code = admin.invite(1).await?;
                    book.add(&code);
                    code
                }
            })
        } else {
            None
        };
        let auth = old_s
            .get(
                "com.atproto.server.getServiceAuth",
                &[
                    ("aud", service_did.as_str()),
                    ("lxm", "com.atproto.server.createAccount"),
                ],
            )
            .await
            .map_err(|e| e.finding("the old PDS"))?;
        let service_token = Secret::new(auth["token"].as_str().unwrap_or_default());
        let mut body = json!({
            "did": did.as_str(),
            "handle": p.handle,
            "email": p.email,
            "password": password.expose(),
        });
        if let Some(code) = &invite {
            body["inviteCode"] = json!(code);
        }
        here.post_as(
            "com.atproto.server.createAccount",
            Body::Json(&body),
            Some(&service_token),
        )
        .await
        .map_err(|e| e.finding("this PDS"))?;
        if let Some(code) = &invite {
            crate::setup::accounts::InviteBook::for_pds(&s.local_url).remove(code);
        }
        say(Finding::pass(format!(
            "created {} here with the same DID, deactivated until the move is done (same password as before)",
            p.handle
        )));
    } else if !p.has(Stage::Created) {
        say(Finding::info(format!(
            "{did} already exists here: going on with it"
        )));
    }
    reached(&mut p, Stage::Created)?;
    let (new_s, _) = session(&here, "this PDS", &did, password, None).await?;

    let status = new_s
        .get("com.atproto.server.checkAccountStatus", &[])
        .await
        .map_err(|e| e.finding("this PDS"))?;
    // Once the account is active here it is written here: nothing of the old PDS's is
    // copied over it again.
    let settled = p.has(Stage::Activated) || status["activated"].as_bool() == Some(true);
    if !settled {
        copy_data(
            s, doc, req, &did, &mut p, &old_s, &new_s, &here, &status, say,
        )
        .await?;
    }

    // The PLC operation: only now, with the data complete, is the 15-minute token asked for.
    let plc_before = plc_data(s, &did).await?;
    let creds = new_s
        .get("com.atproto.identity.getRecommendedDidCredentials", &[])
        .await
        .map_err(|e| e.finding("this PDS"))?;
    let endpoint = creds["services"]["atproto_pds"]["endpoint"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let names_here = |data: &Value| {
        data["services"]["atproto_pds"]["endpoint"].as_str() == Some(endpoint.as_str())
    };
    if !names_here(&plc_before) {
        if p.signed_operation.is_none() {
            let Some(token) = req.plc_token.as_deref().map(str::trim) else {
                old_s
                    .post(
                        "com.atproto.identity.requestPlcOperationSignature",
                        Body::None,
                    )
                    .await
                    .map_err(|e| e.finding("the old PDS"))?;
                reached(&mut p, Stage::TokenSent)?;
                return Ok(Outcome::WaitingForToken {
                    did: did.to_string(),
                    expires_at: now() + TOKEN_LIFETIME_SECS,
                });
            };
            let mut body = creds.clone();
            body["token"] = json!(token);
            let op = old_s
                .post("com.atproto.identity.signPlcOperation", Body::Json(&body))
                .await
                .map_err(|e| {
                    let f = e.finding("the old PDS");
                    if e.is("ExpiredToken") {
                        f.why("The PLC token lives 15 minutes from its mail.")
                            .fix("rerun without --plc-token: a new one is mailed (the data copied so far stays)")
                    } else if e.is("InvalidToken") {
                        f.why("That is not the code in the latest mail from the old PDS.")
                            .fix("check the code in the latest mail, or rerun without --plc-token for a new one")
                    } else {
                        f
                    }
                })?;
            // Kept: the token is used up by signing, and a run killed now can submit this.
            p.signed_operation = Some(op["operation"].clone());
            save_progress(&p)?;
            say(Finding::pass("the old PDS signed the PLC operation"));
        }
        let op = json!({ "operation": p.signed_operation.clone().unwrap_or_default() });
        let submitted = new_s
            .post("com.atproto.identity.submitPlcOperation", Body::Json(&op))
            .await;
        p.signed_operation = None;
        if let Err(e) = submitted {
            save_progress(&p)?;
            return Err(Stop::Failed(e.finding("this PDS").fix(
                "rerun without --plc-token: a new token is mailed and a new operation signed",
            )));
        }
        say(Finding::pass(format!(
            "the PLC directory now names this PDS ({endpoint})"
        )));
    }
    reached(&mut p, Stage::Submitted)?;

    // Before activating: the PLC data names this PDS, its rotation key and the signing key
    // it keeps for the account (as recommended), the data is whole, and the PDS agrees.
    let plc_after = plc_data(s, &did).await?;
    let key = creds["verificationMethods"]["atproto"].as_str();
    let rotation: Vec<&str> = creds["rotationKeys"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let listed: Vec<&str> = plc_after["rotationKeys"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if !names_here(&plc_after)
        || plc_after["verificationMethods"]["atproto"].as_str() != key
        || !rotation.iter().all(|k| listed.contains(k))
    {
        return Err(Stop::Failed(
            Finding::fail(format!(
                "the PLC directory's data for {did} is not what this PDS recommended (PDS {}, signing key {})",
                plc_after["services"]["atproto_pds"]["endpoint"].as_str().unwrap_or("none"),
                plc_after["verificationMethods"]["atproto"].as_str().unwrap_or("none")
            ))
            .fix("rerun without --plc-token: a new token is mailed and a new operation signed"),
        ));
    }
    let status = new_s
        .get("com.atproto.server.checkAccountStatus", &[])
        .await
        .map_err(|e| e.finding("this PDS"))?;
    if !status["activated"].as_bool().unwrap_or(false) {
        let old_status = old_s
            .get("com.atproto.server.checkAccountStatus", &[])
            .await
            .map_err(|e| e.finding("the old PDS"))?;
        let count = |v: &Value, k: &str| v[k].as_u64().unwrap_or(0);
        if count(&status, "indexedRecords") < count(&old_status, "indexedRecords")
            || count(&status, "importedBlobs") < count(&status, "expectedBlobs")
        {
            return Err(Stop::Failed(
                Finding::fail(format!(
                    "the data here is not whole: {} of {} records, {} of {} blobs",
                    count(&status, "indexedRecords"),
                    count(&old_status, "indexedRecords"),
                    count(&status, "importedBlobs"),
                    count(&status, "expectedBlobs")
                ))
                .fix("rerun: the import and the blob copy are repeated"),
            ));
        }
        if status["validDid"].as_bool() != Some(true) {
            return Err(Stop::Failed(
                Finding::fail("this PDS does not accept the DID's PLC data as its own (checkAccountStatus: validDid false)")
                    .why("The PLC data must list this PDS's rotation key, name https://PDS_HOSTNAME as the PDS and carry the signing key this PDS keeps for the account.")
                    .fix("rerun without --plc-token to sign and submit the operation again"),
            ));
        }
        say(Finding::pass(format!(
            "checked: {} records, {} blobs, validDid true",
            count(&status, "indexedRecords"),
            count(&status, "importedBlobs")
        )));
        new_s
            .post("com.atproto.server.activateAccount", Body::None)
            .await
            .map_err(|e| e.finding("this PDS"))?;
        say(Finding::pass(format!("{} is active here", p.handle)));
    }
    reached(&mut p, Stage::Activated)?;

    if !p.has(Stage::OldDeactivated) {
        old_s
            .post(
                "com.atproto.server.deactivateAccount",
                Body::Json(&json!({})),
            )
            .await
            .map_err(|e| e.finding("the old PDS"))?;
        say(Finding::pass(format!(
            "deactivated on the old PDS {old_base}"
        )));
        reached(&mut p, Stage::OldDeactivated)?;
    }
    let checks = after(s, doc, &did, &p, &old_s, &new_s).await;
    Ok(Outcome::Moved {
        did: did.to_string(),
        checks,
    })
}

//! `pds-wizard apply`: replay an answers file without questions — pds.env values, the proxy
//! config, the atproto-did file — each through the same safe-write path as the wizard, each
//! change shown as a diff; then the doctor. The shape a fleet tool drives host by host.

use super::{EXIT_ERROR, EXIT_OK};
use crate::answers::{self, Answers};
use crate::context::Context;
use crate::envfile::display::changed_lines;
use crate::envfile::Document;
use crate::identity::{didfile, Did};
use anyhow::{bail, Result};
use std::path::Path;

pub fn run(ctx: &Context, answers_path: Option<&Path>, dry_run: bool, json: bool) -> Result<u8> {
    if json {
        bail!("apply prints its changes as text; use its exit code, or `pds-wizard doctor --json` afterwards");
    }
    let path = answers_path
        .map(Path::to_path_buf)
        .unwrap_or_else(|| answers::path_for(&ctx.env_file));
    let a: Answers = match answers::load(&path) {
        Ok(Some(a)) => a,
        Ok(None) => bail!(
            "{} does not exist (the wizard writes it beside pds.env; see README \"Answers file\")",
            path.display()
        ),
        Err(e) => {
            errln!("error: {e}");
            return Ok(EXIT_ERROR);
        }
    };
    // Answers that cannot be applied stop everything before the first write.
    let proxy = match &a.proxy {
        None => None,
        Some(p) => {
            let server: crate::proxy::Server = match p.server.parse() {
                Ok(s) => s,
                Err(e) => {
                    errln!("error: {}: proxy.server: {e}", path.display());
                    return Ok(EXIT_ERROR);
                }
            };
            let Some(out) = p.out.clone() else {
                errln!(
                    "error: {}: proxy.out is missing: where should the {} config go?",
                    path.display(),
                    p.server
                );
                return Ok(EXIT_ERROR);
            };
            Some((server, out, p.plan_answers()))
        }
    };
    outln!(
        "Applying {}{}",
        path.display(),
        if dry_run {
            " (dry run: nothing is written)"
        } else {
            ""
        }
    );
    // Every step runs; the exit code is the doctor's, or 2 when a step could not be applied.
    let mut failed = false;

    // 1. pds.env
    let mut doc = if dry_run {
        Document::load(&ctx.env_file)?
    } else {
        Document::load_for_edit(&ctx.env_file)?
    };
    let before = doc.render();
    for (k, v) in &a.env {
        // A near miss of a real key was refused when the file was read; anything else
        // the PDS does not read is written all the same (a plugin's, the operator's own).
        if !crate::envfile::catalogue::pds_reads(k) {
            errln!("! pds.env: {k} is not a key the PDS reads");
        }
        if let Err(e) = doc.set(k, v) {
            errln!("✗ pds.env: {k}: {e}");
            failed = true;
        }
    }
    let diff = changed_lines(&before, &doc.render());
    if diff.is_empty() {
        outln!("{}: no change", ctx.env_file.display());
    } else {
        outln!("{}:", ctx.env_file.display());
        for l in &diff {
            outln!("{l}");
        }
        if !dry_run {
            match doc.save() {
                Ok(r) => {
                    out!("Wrote {}", ctx.env_file.display());
                    if let Some(b) = &r.backup {
                        out!("; previous version kept as {}", b.display());
                    }
                    outln!(". Restart the PDS for it to take effect.");
                }
                Err(e) => {
                    errln!("✗ pds.env not written: {e}");
                    failed = true;
                }
            }
        }
    }
    // The rest reads pds.env but does not change it: others may save again.
    doc.unlock();

    // 2. The reverse proxy (planned from pds.env as it is now, or would be).
    if let Some((server, out, plan)) = &proxy {
        let code = super::proxy::render_with(
            ctx,
            *server,
            &doc,
            plan,
            Some(out),
            dry_run,
            false,
            false,
            false,
        )?;
        failed |= code != EXIT_OK;
    }

    // 3. The atproto-did file.
    if let Some(d) = &a.did_file {
        match (&d.webroot, &d.did) {
            (Some(root), Some(did)) => match Did::parse(did) {
                Ok(did) => {
                    let file = didfile::did_file_path(root);
                    let same =
                        std::fs::read_to_string(&file).is_ok_and(|t| t.trim() == did.as_str());
                    if same {
                        outln!("{}: no change", file.display());
                    } else if dry_run {
                        outln!("{}: would write {}", file.display(), did.as_str());
                    } else {
                        match didfile::write_did_file(root, &did) {
                            Ok(_) => outln!("Wrote {} ({})", file.display(), did.as_str()),
                            Err(e) => {
                                errln!("✗ {}: {e}", file.display());
                                failed = true;
                            }
                        }
                    }
                }
                Err(e) => {
                    errln!("✗ did_file.did: {e}");
                    failed = true;
                }
            },
            _ => outln!(
                "did_file for {}: no web root or DID given, nothing to write",
                d.handle
            ),
        }
    }

    // 4. The doctor, on the result.
    outln!();
    let code = super::doctor::run(ctx, &[], &a.doctor.handles, false, false)?;
    Ok(if failed { EXIT_ERROR } else { code })
}

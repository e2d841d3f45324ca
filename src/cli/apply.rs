//! `pds-wizard apply`: replay an answers file without questions — pds.env values, the proxy
//! config, the atproto-did file — each change shown as a diff, then the doctor. The work is
//! `crate::apply`'s; this prints it. The shape a fleet tool drives host by host.

use super::EXIT_NOT_APPLIED;
use crate::answers::{self, Answers};
use crate::apply::{self, Change, Outcome, Request};
use crate::context::Context;
use crate::envfile::Document;
use crate::proxy::install::reload_hint;
use anyhow::{bail, Result};
use std::path::Path;

/// Exit codes: the doctor's (0, 1, 2) once everything is applied; 3 when the answers
/// could not be applied (nothing written when they are invalid; the rest still applied when
/// one write fails).
pub fn run(
    ctx: &Context,
    answers_path: Option<&Path>,
    dry_run: bool,
    force: bool,
    json: bool,
) -> Result<u8> {
    if json {
        bail!("apply prints its changes as text; use its exit code, or `pds-wizard doctor --json` afterwards");
    }
    let path = answers_path
        .map(Path::to_path_buf)
        .unwrap_or_else(|| answers::path_for(&ctx.env_file));
    let a: Answers = match answers::load(&path) {
        Ok(Some(a)) => a,
        Ok(None) => {
            errln!(
                "error: {} does not exist (the wizard writes it beside pds.env; see docs/src/answers-and-fleets.md)",
                path.display()
            );
            return Ok(EXIT_NOT_APPLIED);
        }
        Err(e) => {
            errln!("error: {e}");
            return Ok(EXIT_NOT_APPLIED);
        }
    };
    let doc = if dry_run {
        Document::load(&ctx.env_file)
    } else {
        Document::load_for_edit(&ctx.env_file)
    };
    let doc = match doc {
        Ok(d) => d,
        Err(e) => {
            errln!("error: {e}");
            return Ok(EXIT_NOT_APPLIED);
        }
    };
    // A rename of a PDS with accounts is far more than a line of pds.env: said, and
    // applied only with --force (see setup::rename).
    if let Some(to) = a.env.get("PDS_HOSTNAME") {
        let settings = crate::settings::Resolved::new(ctx, Some(&doc));
        let rename = super::runtime()?.block_on(crate::setup::rename::impact(&doc, to, &settings));
        if let Some(r) = rename.filter(|r| r.needs_confirmation()) {
            errln!("{}\n", r.explain());
            if !force {
                errln!(
                    "error: {}: [env] PDS_HOSTNAME renames the PDS. Nothing was applied (apply --force renames it).",
                    path.display()
                );
                return Ok(EXIT_NOT_APPLIED);
            }
        }
    }
    // Answers that cannot be applied stop everything before the first write.
    let side_errors: Vec<String> = a
        .pds_side
        .as_ref()
        .map(answers::PdsSideAnswers::check)
        .unwrap_or_default()
        .into_iter()
        .map(|e| format!("pds_side.{e}"))
        .chain(apply::check_places(&a, &ctx.env_file, &path))
        .collect();
    let changes = match apply::plan(&a, doc) {
        Ok(c) if side_errors.is_empty() => c,
        result => {
            let errors: Vec<String> = result
                .err()
                .unwrap_or_default()
                .iter()
                .map(|e| e.to_string())
                .chain(side_errors.iter().cloned())
                .collect();
            for e in &errors {
                errln!("error: {}: {e}", path.display());
            }
            errln!("Nothing was applied.");
            return Ok(EXIT_NOT_APPLIED);
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
    let req = Request {
        dry_run,
        validate_timeout: super::validation_limit(ctx),
    };
    let rt = super::runtime()?;
    let mut failed = false;
    for change in changes {
        show(&change, dry_run);
        let server = match &change {
            Change::Proxy { plan, .. } => Some(plan.server),
            _ => None,
        };
        let is_env = matches!(change, Change::Env { .. });
        let outcome = rt.block_on(apply::execute(change, &req));
        failed |= outcome.failed();
        match outcome {
            Outcome::Unchanged(p) => outln!("{}: no change", p.display()),
            Outcome::WouldWrite(_) | Outcome::Skipped => {}
            Outcome::Written(r) => {
                if is_env {
                    outln!(
                        "Wrote {}. Restart the PDS for it to take effect.",
                        r.describe()
                    );
                } else {
                    outln!("Wrote {}.", r.describe());
                }
            }
            Outcome::Proxy {
                validation,
                written,
                refused,
            } => {
                super::proxy::print_validation(&validation);
                if refused {
                    errln!("✗ proxy config not written: fix the failures above.");
                }
                for r in &written {
                    outln!("Wrote {}.", r.describe());
                }
                if let (Some(s), false) = (server, written.is_empty()) {
                    outln!("To load it: {}", reload_hint(s));
                }
            }
            Outcome::Failed { path, error } => errln!("✗ {}: {error}", path.display()),
        }
    }
    // The PDS machine's side of a front proxy elsewhere, on pds.env as written above.
    if let Some(side) = &a.pds_side {
        failed |= !pds_side(ctx, side, dry_run);
    }
    // The doctor, on the result.
    outln!();
    let code = super::doctor::run(
        ctx,
        &super::doctor::Request {
            only: &[],
            handles: &a.doctor.handles,
            request_crawl: false,
            watch_firehose: None,
            report: None,
            json: false,
        },
    )?;
    Ok(if failed { EXIT_NOT_APPLIED } else { code })
}

/// The PDS side from `[pds_side]` (the core's proxy::side), shown, then made unless this is
/// a dry run: whether it went through.
fn pds_side(ctx: &Context, answers: &crate::answers::PdsSideAnswers, dry_run: bool) -> bool {
    use crate::proxy::side::{self, NotPrepared};
    let input = answers.input();
    let prepared = match side::prepare(&ctx.env_file, &input, super::validation_limit(ctx)) {
        Ok(p) => p,
        // The answers were checked before the first write: what is left is the server's.
        Err(NotPrepared::Plan(e)) => {
            errln!("✗ pds_side: {e}");
            return false;
        }
        Err(NotPrepared::Input(errors)) => {
            for e in errors {
                errln!("✗ pds_side: {}", e.message);
            }
            return false;
        }
    };
    super::proxy::print_side(&prepared);
    if dry_run {
        outln!("(dry run: nothing changed)");
        outln!("On the front machine: {}", prepared.front_command);
        return true;
    }
    let mut done = Vec::new();
    let result = super::proxy::make_side(ctx, &prepared, &input, &mut done);
    for d in &done {
        outln!("{d}");
    }
    if let Err(e) = &result {
        errln!("error: {e}");
    }
    outln!("On the front machine: {}", prepared.front_command);
    result.is_ok()
}

/// What a change will do, before it is made.
fn show(change: &Change, dry_run: bool) {
    match change {
        Change::Env {
            path, diff, unread, ..
        } => {
            for k in unread {
                errln!("! pds.env: {k} is not a key the PDS reads");
            }
            if !diff.is_empty() {
                outln!("{}:", path.display());
                for l in diff {
                    outln!("{l}");
                }
            }
        }
        Change::Proxy {
            placements,
            findings,
            ..
        } => {
            for f in findings {
                errln!("{f}");
            }
            super::proxy::print_placements(placements);
        }
        Change::DidFile {
            path,
            did,
            changed: true,
            ..
        } if dry_run => outln!("{}: would write {}", path.display(), did.as_str()),
        Change::DidFile { .. } => {}
        Change::DidFileSkipped { handle } => {
            outln!("did_file for {handle}: no web root or DID given, nothing to write")
        }
    }
}

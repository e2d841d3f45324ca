//! `pds-wizard doctor`: every check at once, grouped by area, each failure with its fix.

use crate::context::Context;
use crate::doctor::{overall, report, run_all, select, Inputs, CHECKS};
use crate::finding::Level;
use crate::identity::Handle;
use anyhow::{anyhow, Result};
use serde_json::json;
use std::sync::Arc;

/// What to check, and how to report it.
pub struct Request<'a> {
    /// Check names (empty: every check).
    pub only: &'a [String],
    /// Handles to check instead of every account.
    pub handles: &'a [String],
    /// Also ask each relay to crawl this PDS.
    pub request_crawl: bool,
    /// Watch the firehose this long (None: its first frame is enough).
    pub watch_firehose: Option<std::time::Duration>,
    /// Also write the shareable report here.
    pub report: Option<&'a std::path::Path>,
    pub json: bool,
}

/// Exit codes of `doctor`: 0 all pass, 1 warnings only, 2 any failure.
pub fn run(ctx: &Context, req: &Request) -> Result<u8> {
    let json = req.json;
    let checks = select(req.only).map_err(|e| anyhow!(e))?;
    let handles = req
        .handles
        .iter()
        .map(|h| Handle::parse(h).map_err(|e| anyhow!("{e}")))
        .collect::<Result<Vec<_>>>()?;
    let mut inputs = Inputs::load(ctx, handles);
    inputs.request_crawl = req.request_crawl;
    inputs.websocket_watch = req.watch_firehose;
    if let Some(w) = req.watch_firehose {
        // The check's own bound grows with the watch.
        inputs.timeout += w;
    }
    let inputs = Arc::new(inputs);
    let started = std::time::Instant::now();
    let rt = super::runtime()?;
    let results = rt.block_on(run_all(checks, inputs.clone()));
    let level = overall(&results);
    let elapsed = started.elapsed().as_millis();
    if let Some(path) = req.report {
        let text = rt.block_on(report::for_inputs(&results, &inputs, false, elapsed));
        let written = report::write(path, &text).map_err(|e| anyhow!(e))?;
        errln!("Report written to {} (secrets masked).", written.display());
    }
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "env_file": ctx.env_file,
                "overall": level,
                "elapsed_ms": elapsed,
                "checks": results,
                "problems": crate::doctor::problems(&results.iter().collect::<Vec<_>>()),
            }))?
        );
    } else {
        out!("{}", report::listing(&results));
        outln!(
            "\n{} check{} in {:.1} s: {}",
            results.len(),
            if results.len() == 1 { "" } else { "s" },
            elapsed as f64 / 1000.0,
            crate::doctor::tally(&results.iter().collect::<Vec<_>>())
        );
        // The root causes, each once.
        if let Some(p) = crate::doctor::problems(&results.iter().collect::<Vec<_>>()) {
            outln!("{p}");
        }
    }
    Ok(match level {
        Level::Fail => 2,
        Level::Warn => 1,
        _ => 0,
    })
}

/// The catalogue, for `doctor --list`.
pub fn list() {
    for c in CHECKS {
        outln!(
            "{:<10} {:<9} {}",
            c.id.name(),
            format!("{:?}", c.area).to_lowercase(),
            c.title
        );
    }
}

//! `pds-wizard relay repair`: what stands between this PDS and each relay, and the repair
//! (crate::repair), shown before anything runs.

use super::{EXIT_ERROR, EXIT_FINDINGS, EXIT_OK};
use crate::context::Context;
use crate::envfile::Document;
use crate::finding::Level;
use crate::repair::{self, Cause};
use crate::settings::Resolved;
use anyhow::{anyhow, Result};
use clap::Subcommand;
use std::time::Duration;

#[derive(Debug, Subcommand)]
pub enum RelayCmd {
    /// "My posts don't show": how each relay in PDS_CRAWLERS sees this PDS, the one cause
    /// that explains it, and the repair: a relay whose cursor is past this PDS's newest
    /// event (a wiped or restored /pds) gets the PDS's numbering moved past it (the PDS
    /// stopped meanwhile, sequencer.sqlite backed up), one event, a crawl request and a
    /// watch until it follows again; an idle, offline or new one a crawl request, an event
    /// and the watch. Shown first; done with --yes (or after a y on a terminal). Exit 0:
    /// every relay follows this PDS (after the repair, each one repaired is active past its
    /// old cursor); 1: something the repair cannot change (throttled, banned) or a step
    /// failed; 2: a repair is needed and was not confirmed
    #[command(
        after_help = "Examples:\n  pds-wizard relay repair\n  pds-wizard relay repair --yes\n  pds-wizard --restart-command 'docker restart pds' relay repair --relay https://bsky.network --yes"
    )]
    Repair {
        /// Repair only this relay (repeatable) [default: each one in PDS_CRAWLERS]
        #[arg(long, value_name = "URL")]
        relay: Vec<String>,
        /// Carry the repair out without asking
        #[arg(long)]
        yes: bool,
        /// How long to watch each relay before saying it did not follow again
        #[arg(long, value_name = "SECONDS", default_value = "60", value_parser = super::parse_timeout)]
        watch: Duration,
    },
}

pub fn run(ctx: &Context, cmd: &RelayCmd, json: bool) -> Result<u8> {
    match cmd {
        RelayCmd::Repair { relay, yes, watch } => repair_cmd(ctx, relay, *yes, *watch, json),
    }
}

fn repair_cmd(
    ctx: &Context,
    relays: &[String],
    yes: bool,
    watch: Duration,
    json: bool,
) -> Result<u8> {
    use std::io::IsTerminal;
    let doc = Document::load(&ctx.env_file).map_err(|e| anyhow!("{e}"))?;
    let settings = Resolved::new(ctx, Some(&doc));
    let rt = super::runtime()?;
    // The accounts: one writes the harmless event; each is looked up at the relays.
    let accounts = match rt.block_on(settings.admin().accounts()) {
        Ok(list) => list,
        Err(f) => {
            if !json {
                print_finding(&f);
            }
            vec![]
        }
    };
    let data = crate::pds::data::data_dir(&doc);
    let plan = rt.block_on(repair::plan(&settings, &doc, relays, &accounts, &data));
    let host = plan.host.clone();
    if !json {
        let newest = plan.sequence.map(|s| s.newest.unwrap_or(0));
        for v in &plan.relays {
            print_finding(&v.cause.said(&v.relay, &host));
            outln!("    sees: {}", v.summary(newest));
        }
        for n in &plan.notes {
            print_finding(n);
        }
    }
    if !plan.needed() {
        let unrepairable = plan
            .relays
            .iter()
            .any(|v| !matches!(v.cause, Cause::InStep { .. }))
            || plan.notes.iter().any(|n| n.level == Level::Fail);
        if json {
            outln!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({ "plan": plan, "done": null }))?
            );
        } else if !unrepairable {
            outln!("Nothing to repair: every relay follows this PDS.");
        } else {
            outln!("Nothing the repair can change here (see above).");
        }
        return Ok(if unrepairable { EXIT_FINDINGS } else { EXIT_OK });
    }
    if !json {
        outln!("\nThe repair:");
        for (i, s) in plan.steps.iter().enumerate() {
            outln!("  {}. {}", i + 1, s.said());
        }
    }
    let terminal = std::io::stdin().is_terminal();
    let go = yes
        || (!json && terminal && {
            use std::io::BufRead;
            err!("Carry it out? [y/N] ");
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            matches!(line.trim(), "y" | "Y" | "yes")
        });
    if !go {
        if json {
            outln!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({ "plan": plan, "done": null }))?
            );
        } else {
            outln!(
                "Nothing changed{}.",
                if terminal {
                    ""
                } else {
                    " (not on a terminal: give --yes to carry it out)"
                }
            );
        }
        return Ok(EXIT_ERROR);
    }
    let done = rt.block_on(repair::execute(&plan, &settings, watch, |f| {
        if !json {
            print_finding(f);
        }
    }));
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "plan": plan, "done": done }))?
        );
    } else if done.repaired {
        outln!("Repaired: every relay repaired follows this PDS again.");
    } else {
        outln!("Not repaired: see the step that failed above.");
    }
    Ok(if done.repaired {
        EXIT_OK
    } else {
        EXIT_FINDINGS
    })
}

fn print_finding(f: &crate::finding::Finding) {
    outln!("{f}");
}

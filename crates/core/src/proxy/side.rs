//! The PDS machine's side of a front proxy elsewhere, as one use case: worked out from
//! pds.env and what the operator asked (`proxy pds-side`'s flags, or `[pds_side]` of the
//! answers file), then made. The command line and `apply` both print it; neither plans or
//! makes it on its own.

use super::split::{self, Firewall, How, Made, Restart, SidePlan, SideRequest, Split};
use super::{plan_from_env, PlanAnswers, Server};
use crate::envfile::Document;
use crate::target::ProxyField;
use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What the operator asks of the PDS side.
#[derive(Debug, Clone)]
pub struct SideInput {
    pub front_address: String,
    pub pds_address: String,
    /// "direct" or "caddy".
    pub via: String,
    /// The Caddyfile to edit; None: the installer's, beside pds.env.
    pub caddyfile: Option<PathBuf>,
    /// "show", "nft" or "ufw".
    pub firewall: String,
    pub nft_file: PathBuf,
    pub reload_command: Option<String>,
    pub restart: bool,
    /// Fronts served before, taken out of PDS_RATE_LIMIT_BYPASS_IPS.
    pub retire_front: Vec<String>,
}

/// Which part of the input (or pds.env) an error is about: each front end names it its own
/// way (a flag, an answers key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SideField {
    FrontAddress,
    PdsAddress,
    Via,
    Firewall,
    RetireFront,
    /// What pds.env says (the hostname, the upload limit), or pds.env itself.
    EnvFile,
}

#[derive(Debug, Clone)]
pub struct SideError {
    pub field: SideField,
    pub message: String,
}

/// Why the PDS side could not be worked out.
#[derive(Debug)]
pub enum NotPrepared {
    /// The input is wrong: every error, each on its field.
    Input(Vec<SideError>),
    /// The plan could not be made (pds.env or the Caddyfile unreadable, Caddy refused the
    /// edit).
    Plan(String),
}

/// The PDS side worked out, not yet made.
#[derive(Debug)]
pub struct Prepared {
    /// pds.env as it was read: `make` changes only this file, as shown.
    pub doc: Document,
    pub split: Split,
    pub plan: SidePlan,
    /// What to run on the front machine.
    pub front_command: String,
}

/// Work out the PDS side from pds.env at `env_file` and the input; changes nothing. `limit`
/// bounds each program it runs (Caddy's check, `ufw status`).
pub fn prepare(
    env_file: &Path,
    input: &SideInput,
    limit: Duration,
) -> Result<Prepared, NotPrepared> {
    let one = |field, message: String| NotPrepared::Input(vec![SideError { field, message }]);
    let doc = Document::load(env_file).map_err(|e| NotPrepared::Plan(e.to_string()))?;
    let firewall = Firewall::parse(&input.firewall).map_err(|e| one(SideField::Firewall, e))?;
    let answers = PlanAnswers {
        upstream: Some(input.pds_address.clone()),
        front_address: Some(input.front_address.clone()),
        pds_side: Some(input.via.clone()),
        ..Default::default()
    };
    let plan = plan_from_env(Server::Caddy, &doc, &answers).map_err(|errors| {
        NotPrepared::Input(
            errors
                .into_iter()
                .map(|e| SideError {
                    field: match e.field {
                        ProxyField::Upstream => SideField::PdsAddress,
                        ProxyField::PdsSide => SideField::Via,
                        ProxyField::FrontAddress => SideField::FrontAddress,
                        _ => SideField::EnvFile,
                    },
                    message: e.message,
                })
                .collect(),
        )
    })?;
    let Some(s) = plan.split.clone() else {
        return Err(one(
            SideField::FrontAddress,
            "give the front's address on the private network".into(),
        ));
    };
    let mut retire: Vec<IpAddr> = Vec::new();
    for r in &input.retire_front {
        // The message names the flag, as the operator typed it.
        let ip = split::parse_address("--retire-front", r)
            .map_err(|e| one(SideField::RetireFront, e))?;
        retire.push(ip);
    }
    let interface = crate::addresses::machine_addresses()
        .into_iter()
        .find(|m| m.ip == s.pds_address)
        .map(|m| m.interface);
    let caddyfile = input
        .caddyfile
        .clone()
        .or_else(|| env_file.parent().and_then(super::install::installer_caddy));
    let side = split::plan_side(&SideRequest {
        split: s.clone(),
        host: plan.host.clone(),
        wildcards: plan.handle_wildcards.clone(),
        bypass_now: doc.get("PDS_RATE_LIMIT_BYPASS_IPS"),
        limits_on: doc
            .get("PDS_RATE_LIMITS_ENABLED")
            .is_some_and(|v| v.trim() == "true"),
        caddyfile,
        firewall,
        nft_file: input.nft_file.clone(),
        interface,
        env: caddy_env(&doc),
        limit,
        sshd_ports: crate::pds::sockets::sshd_ports(),
        ufw: (firewall != Firewall::Nft).then(|| super::firewall::ufw_state(limit)),
        retire,
    })
    .map_err(NotPrepared::Plan)?;
    let front_command = format!(
        "pds-wizard proxy render SERVER --upstream {} --front-address {} --pds-side {} --out FILE",
        s.pds_address,
        s.front_address,
        s.via.name()
    );
    Ok(Prepared {
        doc,
        split: s,
        plan: side,
        front_command,
    })
}

/// What Caddy's `{$NAME}` placeholders stand for: pds.env's keys over this process's.
fn caddy_env(doc: &Document) -> HashMap<String, String> {
    let mut env: HashMap<String, String> = std::env::vars().collect();
    for (k, v, _) in doc.entries() {
        if let Some(v) = v {
            env.insert(k, v);
        }
    }
    env
}

/// Make the prepared PDS side: under pds.env's lock, and only onto pds.env as it was read
/// (changed since: nothing is made). Each step taken is pushed to `made`; the first failure
/// stops the rest. `restart` is the command that restarts the PDS (when asked for).
pub async fn execute(
    env_file: &Path,
    prepared: &Prepared,
    input: &SideInput,
    restart: Option<Vec<String>>,
    limit: Duration,
    made: &mut Vec<Made>,
) -> Result<(), String> {
    let restart = if input.restart {
        Restart::Run(restart.ok_or("no way to restart the PDS here: give --restart-command")?)
    } else {
        Restart::Later
    };
    let how = How {
        reload: input.reload_command.clone(),
        restart,
        limit,
    };
    let mut edit = Document::load_for_edit(env_file).map_err(|e| e.to_string())?;
    if edit.render() != prepared.doc.render() {
        return Err("pds.env changed while this ran: nothing was changed; run it again".into());
    }
    split::make(&prepared.plan, &mut edit, &how, made).await
}

//! The checks themselves. Each returns findings; a check that cannot run says why instead.

use super::tls::{self, Upgrade};
use super::{CheckId, Health, Inputs};
use crate::envfile::catalogue::{self, human_bytes};
use crate::finding::{Finding, Level};
use crate::http::{chain, classify, client, CertProblem, Failure, HttpOptions};
use crate::identity::{Did, Handle};
use crate::target::{ProxyField, Target};
use crate::version::{Reported, Version};
use std::time::Duration;

mod email;
mod firehose;
mod handles;
mod host;
mod relay;
mod server;
mod web;
use self::{email::*, firehose::*, handles::*, host::*, relay::*, server::*, web::*};
// doctor/mod.rs keeps the PDS's health and description once per run.
pub(super) use self::server::{ask_describe, ask_health};

pub async fn run(id: CheckId, i: &Inputs) -> Vec<Finding> {
    match id {
        CheckId::Env => env(i).await,
        CheckId::Service => service(i).await,
        CheckId::Health => health(i).await,
        CheckId::Dns => dns(i).await,
        CheckId::Https => https(i).await,
        CheckId::Oauth => oauth(i).await,
        CheckId::Websocket => websocket(i).await,
        CheckId::Uploads => uploads(i).await,
        CheckId::Signup => signup(i).await,
        CheckId::Email => email(i).await,
        CheckId::Handles => handles(i).await,
        CheckId::Crawlers => crawlers(i).await,
        CheckId::RelaySync => relay_sync(i).await,
        CheckId::RelayAccounts => relay_accounts(i).await,
        CheckId::Disk => disk(i),
        CheckId::Backups => backups(),
        CheckId::Clock => clock(i).await,
    }
}

fn hostname(i: &Inputs) -> Result<String, Vec<Finding>> {
    i.settings.hostname.clone().ok_or_else(|| {
        vec![
            Finding::fail("PDS_HOSTNAME is not set, so there is no public name to check")
                .fix("set it in the Basics step (or pds-wizard env set PDS_HOSTNAME=…)"),
        ]
    })
}

/// The public name and a client for it (honouring --connect-to and --ca-file).
fn public_client(i: &Inputs) -> Result<(String, reqwest::Client), Vec<Finding>> {
    let host = hostname(i)?;
    let c = client(&i.settings.http, &host).map_err(|e| vec![Finding::fail(e)])?;
    Ok((host, c))
}

/// For requests to this machine's PDS: never redirected by --connect-to.
pub(super) fn local(i: &Inputs) -> HttpOptions {
    HttpOptions {
        connect_to: None,
        ..i.settings.http.clone()
    }
}

/// Whether a response is the PDS's JSON: (status, the JSON when it is an object, a short
/// description).
async fn json_answer(r: reqwest::Response) -> (u16, Option<serde_json::Value>, String) {
    let status = r.status().as_u16();
    let ctype = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let (json, note) =
        match crate::http::read_json::<serde_json::Value>(r, crate::http::cap::JSON).await {
            Ok(v) => (Some(v).filter(|v| v.is_object()), String::new()),
            Err(e) if e.is_too_large() => (None, format!(" ({e})")),
            Err(_) => (None, String::new()),
        };
    (
        status,
        json,
        format!(
            "HTTP {status} {}{note}",
            ctype.split(';').next().unwrap_or("")
        ),
    )
}

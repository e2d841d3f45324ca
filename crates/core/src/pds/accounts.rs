//! The PDS's accounts: `com.atproto.sync.listRepos` for every DID, then
//! `com.atproto.admin.getAccountInfos` (basic auth `admin:PDS_ADMIN_PASSWORD`) for handles
//! and emails — what `pdsadmin account list` shows.

use crate::finding::Finding;
use crate::http::{chain, client, HttpOptions};
use crate::secret::Secret;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Account {
    pub handle: String,
    pub did: String,
    pub email: Option<String>,
    pub active: bool,
    /// Why it is not active, as listRepos says it (`deactivated`, `takendown`, `suspended`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

#[derive(Deserialize)]
struct ListRepos {
    repos: Vec<Repo>,
    cursor: Option<String>,
}

#[derive(Deserialize)]
struct Repo {
    did: String,
    #[serde(default = "yes")]
    active: bool,
    #[serde(default)]
    status: Option<String>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
struct Infos {
    infos: Vec<Info>,
}

#[derive(Deserialize)]
struct Info {
    did: String,
    handle: String,
    email: Option<String>,
}

fn unreachable(pds_url: &str, detail: &str) -> Finding {
    Finding::fail(format!(
        "cannot reach the PDS at {pds_url} ({})",
        crate::http::last_cause(detail)
    ))
    .why("The PDS is not running, or listens elsewhere.")
    .detail(detail)
        .fix("Check `sudo systemctl status pds` (and `docker logs pds`); with a proxy in front, pass --pds-url.")
}

/// The PDS (or a proxy in front of it) answered, with an error: it is reachable, and the
/// status says what went wrong.
fn answered(pds_url: &str, method: &str, status: u16) -> Finding {
    let f = Finding::fail(format!(
        "the PDS at {pds_url} answered {method} with HTTP {status}"
    ));
    match status {
        502 | 504 => f
            .why("A proxy between here and the PDS got no answer from it: the PDS is down or slow behind it.")
            .fix("Check `sudo systemctl status pds` (and `docker logs pds`), or pass --pds-url with the PDS's own address."),
        500..=599 => f
            .why("The PDS failed while answering: its log says why.")
            .fix("Read its log: sudo journalctl -u pds (or docker logs pds)."),
        _ => f,
    }
}

impl super::admin::Admin {
    /// Every account on the PDS (what `pdsadmin account list` shows).
    pub async fn accounts(&self) -> Result<Vec<Account>, Finding> {
        list(&self.pds_url, &self.password, &self.http).await
    }
}

/// Every account on the PDS at `pds_url` (see `Admin::accounts`).
async fn list(
    pds_url: &str,
    admin_password: &Secret,
    opts: &HttpOptions,
) -> Result<Vec<Account>, Finding> {
    let base = pds_url.trim_end_matches('/');
    let host = reqwest::Url::parse(base)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default();
    let c = client(opts, &host).map_err(Finding::fail)?;
    let mut repos = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut req = c
            .get(format!("{base}/xrpc/com.atproto.sync.listRepos"))
            .query(&[("limit", "1000")]);
        if let Some(cur) = &cursor {
            req = req.query(&[("cursor", cur)]);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| unreachable(base, &chain(&e)))?;
        if !resp.status().is_success() {
            return Err(answered(base, "listRepos", resp.status().as_u16()));
        }
        let page: ListRepos = crate::http::read_json(resp, crate::http::cap::JSON)
            .await
            .map_err(|e| unreachable(base, &format!("listRepos: {e}")))?;
        let done = page.repos.is_empty() || page.cursor.is_none();
        repos.extend(page.repos);
        cursor = page.cursor;
        if done {
            break;
        }
    }
    let mut accounts = Vec::new();
    // 25 at a time: an account's info carries its invite codes, and a page must stay well
    // inside the cap on what is read (http::cap::JSON).
    for chunk in repos.chunks(25) {
        let dids: Vec<(&str, &str)> = chunk.iter().map(|r| ("dids", r.did.as_str())).collect();
        let resp = c
            .get(format!("{base}/xrpc/com.atproto.admin.getAccountInfos"))
            .query(&dids)
            .basic_auth("admin", Some(admin_password.expose()))
            .send()
            .await
            .map_err(|e| unreachable(base, &chain(&e)))?;
        if resp.status() == reqwest::StatusCode::UNAUTHORIZED
            || resp.status() == reqwest::StatusCode::FORBIDDEN
        {
            return Err(Finding::fail(format!("the PDS refused the admin password (HTTP {})", resp.status().as_u16()))
                .why("PDS_ADMIN_PASSWORD in pds.env is not the one the running PDS started with (it reads the file only at start), or the file is not the PDS's.")
                .fix("Restart the PDS after changing the password (sudo systemctl restart pds), or point --env-file at the right pds.env."));
        }
        if !resp.status().is_success() {
            return Err(answered(base, "getAccountInfos", resp.status().as_u16()));
        }
        let infos: Infos = crate::http::read_json(resp, crate::http::cap::JSON)
            .await
            .map_err(|e| unreachable(base, &format!("getAccountInfos: {e}")))?;
        for r in chunk {
            let info = infos.infos.iter().find(|i| i.did == r.did);
            accounts.push(Account {
                handle: info
                    .map(|i| i.handle.clone())
                    .unwrap_or_else(|| "(unknown)".into()),
                did: r.did.clone(),
                email: info.and_then(|i| i.email.clone()),
                active: r.active,
                status: r.status.clone(),
            });
        }
    }
    Ok(accounts)
}

//! The PDS's admin API for accounts, as pdsadmin uses it (HTTP basic auth
//! `admin:PDS_ADMIN_PASSWORD`, on this machine): invite codes, a new account, a new
//! password, a new handle. Every call goes to the PDS's local URL, never through
//! `--connect-to`.

use crate::finding::Finding;
use crate::http::{client, HttpOptions};
use crate::secret::Secret;
use serde::Serialize;
use serde_json::{json, Value};

/// The PDS on this machine and its admin password.
pub struct Admin {
    pub pds_url: String,
    pub password: Secret,
    pub http: HttpOptions,
}

/// An account just made: its password is shown once and kept nowhere.
#[derive(Debug, Clone, Serialize)]
pub struct Created {
    pub did: String,
    pub handle: String,
    pub email: String,
    /// The invite code used, when the PDS requires one (made here with the admin password).
    pub invite: Option<String>,
    #[serde(serialize_with = "expose")]
    pub password: Secret,
}

fn expose<S: serde::Serializer>(s: &Secret, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_str(s.expose())
}

/// A password for a new account or a reset: 24 characters from a 56-letter alphabet without
/// look-alikes (about 139 bits), easy to type from a terminal.
pub fn generate_password() -> Secret {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut out = String::with_capacity(24);
    while out.len() < 24 {
        let mut b = [0u8; 32];
        getrandom::fill(&mut b).expect("the operating system's random number generator failed");
        // Rejection sampling keeps every letter equally likely.
        let limit = 256 - (256 % ALPHABET.len());
        for x in b {
            if (x as usize) < limit && out.len() < 24 {
                out.push(ALPHABET[x as usize % ALPHABET.len()] as char);
            }
        }
    }
    Secret::new(out)
}

/// A call that did not end in what was asked.
#[derive(Debug, Clone)]
pub struct CallError {
    pub finding: Finding,
    /// The request went out and no whole answer came back (no answer in time, an answer that
    /// broke off, a gateway's 502/504): the PDS may have done it all the same.
    pub maybe_done: bool,
}

impl CallError {
    fn refused(finding: Finding) -> Self {
        CallError {
            finding,
            maybe_done: false,
        }
    }
}

/// A password set here and sent to the PDS: shown once whatever came back, since it exists
/// nowhere else.
#[derive(Debug, Clone, Serialize)]
pub struct PasswordSet {
    #[serde(serialize_with = "expose")]
    pub password: Secret,
    /// The PDS said it took it; false: it did not answer in time and may have.
    pub confirmed: bool,
    /// Why the outcome is unknown, when it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<Finding>,
}

/// What to say when a request carrying a password made here got no clear answer.
pub fn unknown_outcome(what: &str, check: &str, cause: &Finding) -> Finding {
    Finding::warn(format!(
        "the PDS did not answer in time; it may have taken {what}"
    ))
    .why(format!(
        "{} The password was made here, so it is shown all the same: keep it.",
        cause.what
    ))
    .fix(format!("check with: {check}"))
}

impl Admin {
    fn base(&self) -> &str {
        self.pds_url.trim_end_matches('/')
    }

    async fn call(&self, method: &str, body: Value, admin: bool) -> Result<Value, Finding> {
        self.send(method, body, admin).await.map_err(|e| e.finding)
    }

    /// POST `method`; an answer other than 2xx is the PDS's refusal in its own words.
    async fn send(&self, method: &str, body: Value, admin: bool) -> Result<Value, CallError> {
        let local = HttpOptions {
            connect_to: None,
            ..self.http.clone()
        };
        let c = client(&local, "").map_err(|e| CallError::refused(Finding::fail(e)))?;
        let mut req = c.post(format!("{}/xrpc/{method}", self.base())).json(&body);
        if admin {
            req = req.basic_auth("admin", Some(self.password.expose()));
        }
        let r = match req.send().await {
            Ok(r) => r,
            // No connection was made: nothing reached the PDS.
            Err(e) if e.is_connect() => {
                return Err(CallError::refused(
                    Finding::fail(format!("cannot reach the PDS at {}", self.base()))
                        .caused_by(&e)
                        .fix("sudo systemctl status pds (or docker ps -a); with a proxy in front, pass --pds-url"),
                ))
            }
            Err(e) => {
                let what = if e.is_timeout() {
                    format!(
                        "{method}: the PDS at {} did not answer within {} s",
                        self.base(),
                        self.http.timeout.as_secs_f64()
                    )
                } else {
                    format!("{method}: the answer from {} broke off", self.base())
                };
                return Err(CallError {
                    finding: Finding::fail(what).caused_by(&e),
                    maybe_done: true,
                });
            }
        };
        let status = r.status().as_u16();
        let body = match crate::http::read(r, crate::http::cap::JSON).await {
            Ok(b) => b,
            Err(e) => {
                return Err(CallError {
                    finding: Finding::fail(format!("{method}: HTTP {status}, then {e}")),
                    maybe_done: (200..300).contains(&status),
                })
            }
        };
        if body.truncated {
            return Err(CallError {
                finding: Finding::fail(format!(
                    "{method}: the PDS's answer (HTTP {status}) is over {}; reading stopped there",
                    crate::http::size(crate::http::cap::JSON)
                )),
                maybe_done: (200..300).contains(&status),
            });
        }
        let text = body.text();
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if (200..300).contains(&status) {
            return Ok(v);
        }
        // The PDS's own words: {"error": "...", "message": "..."}.
        let said = v["message"]
            .as_str()
            .or(v["error"].as_str())
            .map(str::to_string)
            .unwrap_or_else(|| text.chars().take(200).collect());
        // A gateway between here and the PDS: whether the PDS got the request is unknown.
        let gateway = status == 502 || status == 504;
        let f = Finding::fail(format!(
            "{method}: {} answered HTTP {status}: {said}",
            if gateway {
                "a proxy in front of the PDS"
            } else {
                "the PDS"
            }
        ));
        Err(CallError {
            maybe_done: gateway,
            finding: if status == 401 || status == 403 {
                f.why("PDS_ADMIN_PASSWORD in pds.env is not the one the running PDS started with (it reads the file only at start).")
                    .fix("Restart the PDS after changing the password (sudo systemctl restart pds), or point --env-file at the PDS's pds.env.")
            } else {
                f
            },
        })
    }

    async fn get(
        &self,
        method: &str,
        query: &[(&str, &str)],
        admin: bool,
    ) -> Result<Value, Finding> {
        self.get_status(method, query, admin)
            .await
            .map_err(|(_, f)| f)
    }

    /// GET `method`: its JSON, or the status the PDS answered (None: no answer) and why.
    async fn get_status(
        &self,
        method: &str,
        query: &[(&str, &str)],
        admin: bool,
    ) -> Result<Value, (Option<u16>, Finding)> {
        let local = HttpOptions {
            connect_to: None,
            ..self.http.clone()
        };
        let c = client(&local, "").map_err(|e| (None, Finding::fail(e)))?;
        let mut req = c.get(format!("{}/xrpc/{method}", self.base())).query(query);
        if admin {
            req = req.basic_auth("admin", Some(self.password.expose()));
        }
        let r = req.send().await.map_err(|e| {
            (
                None,
                Finding::fail(format!(
                    "{method}: no answer from the PDS at {}",
                    self.base()
                ))
                .caused_by(&e),
            )
        })?;
        let status = r.status().as_u16();
        let v: Value = crate::http::read_json(r, crate::http::cap::JSON)
            .await
            .map_err(|e| {
                (
                    Some(status),
                    Finding::fail(format!("{method}: HTTP {status}, {e}")),
                )
            })?;
        if (200..300).contains(&status) {
            return Ok(v);
        }
        Err((
            Some(status),
            Finding::fail(format!(
                "{method}: the PDS answered HTTP {status}: {}",
                v["message"].as_str().or(v["error"].as_str()).unwrap_or("")
            )),
        ))
    }

    /// Whether the PDS wants an invite code for a new account (describeServer).
    pub async fn invites_required(&self) -> Result<bool, Finding> {
        let v = self
            .get("com.atproto.server.describeServer", &[], false)
            .await?;
        Ok(v["inviteCodeRequired"].as_bool().unwrap_or(true))
    }

    /// The handle domains the PDS offers for new accounts (describeServer's
    /// availableUserDomains, each with its leading dot).
    pub async fn available_domains(&self) -> Result<Vec<String>, Finding> {
        let v = self
            .get("com.atproto.server.describeServer", &[], false)
            .await?;
        Ok(v["availableUserDomains"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|d| d.as_str())
                    .map(|d| d.to_ascii_lowercase())
                    .collect()
            })
            .unwrap_or_default())
    }

    /// A new invite code good for `uses` accounts.
    pub async fn invite(&self, uses: u32) -> Result<String, Finding> {
        let v = self
            .call(
                "com.atproto.server.createInviteCode",
                json!({ "useCount": uses }),
                true,
            )
            .await?;
        v["code"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| Finding::fail("createInviteCode gave no code"))
    }

    /// Whether the PDS takes the admin password (a read: one invite code listed).
    pub async fn check_password(&self) -> Result<(), Finding> {
        self.get("com.atproto.admin.getInviteCodes", &[("limit", "1")], true)
            .await
            .map(|_| ())
    }

    /// Of `codes`, the first the PDS still accepts (not disabled, a use left), by
    /// com.atproto.admin.getInviteCodes (the newest 500).
    pub async fn unused_invite(&self, codes: &[String]) -> Result<Option<String>, Finding> {
        if codes.is_empty() {
            return Ok(None);
        }
        let v = self
            .get(
                "com.atproto.admin.getInviteCodes",
                &[("sort", "recent"), ("limit", "500")],
                true,
            )
            .await?;
        let listed = v["codes"].as_array().cloned().unwrap_or_default();
        Ok(codes
            .iter()
            .find(|code| {
                listed.iter().any(|c| {
                    c["code"].as_str() == Some(code.as_str())
                        && c["disabled"] == false
                        && c["available"].as_u64().unwrap_or(0)
                            > c["uses"].as_array().map_or(0, |u| u.len() as u64)
                })
            })
            .cloned())
    }

    /// The DID of the account holding `handle` on this PDS, if one does (resolveHandle: the
    /// PDS answers from its own accounts for handles under its domains).
    pub async fn holder_of(&self, handle: &str) -> Result<Option<String>, Finding> {
        match self
            .get_status(
                "com.atproto.identity.resolveHandle",
                &[("handle", handle)],
                false,
            )
            .await
        {
            Ok(v) => Ok(v["did"].as_str().map(str::to_string)),
            // 400 (HandleNotFound on 0.5, InvalidRequest on 0.4) for a well-formed handle
            // under its domains: nobody has it.
            Err((Some(400), _)) => Ok(None),
            Err((_, f)) => Err(f),
        }
    }

    /// An account's email, as the admin API gives it.
    pub async fn email_of(&self, did: &str) -> Result<Option<String>, Finding> {
        let v = self
            .get("com.atproto.admin.getAccountInfo", &[("did", did)], true)
            .await?;
        Ok(v["email"].as_str().map(str::to_string))
    }

    /// createAccount with the given invite (None when the PDS needs none). The password is
    /// made by the caller, who shows it whatever happens.
    pub async fn create_account(
        &self,
        handle: &str,
        email: &str,
        password: &Secret,
        invite: Option<&str>,
    ) -> Result<String, CallError> {
        let mut body = json!({ "handle": handle, "email": email, "password": password.expose() });
        if let Some(code) = invite {
            body["inviteCode"] = json!(code);
        }
        let v = self
            .send("com.atproto.server.createAccount", body, false)
            .await?;
        Ok(v["did"].as_str().unwrap_or_default().to_string())
    }

    /// A new password for the account `did` (the old one stops working at once). When the
    /// PDS does not answer in time the password is returned all the same, unconfirmed.
    pub async fn reset_password(
        &self,
        did: &str,
        password: Option<Secret>,
    ) -> Result<PasswordSet, Finding> {
        let password = password.unwrap_or_else(generate_password);
        match self
            .send(
                "com.atproto.admin.updateAccountPassword",
                json!({ "did": did, "password": password.expose() }),
                true,
            )
            .await
        {
            Ok(_) => Ok(PasswordSet {
                password,
                confirmed: true,
                note: None,
            }),
            Err(e) if e.maybe_done => Ok(PasswordSet {
                password,
                confirmed: false,
                note: Some(unknown_outcome(
                    "the new password",
                    "log in with it; if it fails, reset it again",
                    &e.finding,
                )),
            }),
            Err(e) => Err(e.finding),
        }
    }

    /// Move the account `did` to `handle`. The PDS checks a handle outside its own domains
    /// (DNS TXT or atproto-did) before it takes it, and emits an identity event.
    pub async fn set_handle(&self, did: &str, handle: &str) -> Result<(), Finding> {
        self.call(
            "com.atproto.admin.updateAccountHandle",
            json!({ "did": did, "handle": handle }),
            true,
        )
        .await
        .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_are_long_varied_and_plain() {
        let a = generate_password();
        let b = generate_password();
        assert_eq!(a.expose().len(), 24);
        assert_ne!(a.expose(), b.expose());
        assert!(a
            .expose()
            .chars()
            .all(|c| c.is_ascii_alphanumeric() && !"lIO01".contains(c)));
    }
}

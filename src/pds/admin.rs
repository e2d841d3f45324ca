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

impl Admin {
    fn base(&self) -> &str {
        self.pds_url.trim_end_matches('/')
    }

    async fn call(&self, method: &str, body: Value, admin: bool) -> Result<Value, Finding> {
        let local = HttpOptions {
            connect_to: None,
            ..self.http.clone()
        };
        let c = client(&local, "").map_err(Finding::fail)?;
        let mut req = c.post(format!("{}/xrpc/{method}", self.base())).json(&body);
        if admin {
            req = req.basic_auth("admin", Some(self.password.expose()));
        }
        let r = req.send().await.map_err(|e| {
            Finding::fail(format!("cannot reach the PDS at {}", self.base()))
                .caused_by(&e)
                .fix("sudo systemctl status pds (or docker ps -a); with a proxy in front, pass --pds-url")
        })?;
        let status = r.status().as_u16();
        let body = crate::http::read(r, crate::http::cap::JSON)
            .await
            .map_err(|e| Finding::fail(format!("{method}: {e}")))?;
        if body.truncated {
            return Err(Finding::fail(format!(
                "{method}: the PDS's answer (HTTP {status}) is over {}; reading stopped there",
                crate::http::size(crate::http::cap::JSON)
            )));
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
        let f = Finding::fail(format!("{method}: the PDS answered HTTP {status}: {said}"));
        Err(if status == 401 || status == 403 {
            f.why("PDS_ADMIN_PASSWORD in pds.env is not the one the running PDS started with (it reads the file only at start).")
                .fix("Restart the PDS after changing the password (sudo systemctl restart pds), or point --env-file at the PDS's pds.env.")
        } else {
            f
        })
    }

    /// Whether the PDS wants an invite code for a new account (describeServer).
    pub async fn invites_required(&self) -> Result<bool, Finding> {
        let local = HttpOptions {
            connect_to: None,
            ..self.http.clone()
        };
        let c = client(&local, "").map_err(Finding::fail)?;
        let r = c
            .get(format!(
                "{}/xrpc/com.atproto.server.describeServer",
                self.base()
            ))
            .send()
            .await
            .map_err(|e| Finding::fail("describeServer failed").caused_by(&e))?;
        let v: Value = crate::http::read_json(r, crate::http::cap::JSON)
            .await
            .map_err(|e| Finding::fail(format!("describeServer: {e}")))?;
        Ok(v["inviteCodeRequired"].as_bool().unwrap_or(true))
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

    /// A new account, as `pdsadmin account create` makes it: an invite code first when the
    /// PDS requires one, then createAccount; the password is `password` or a new one.
    pub async fn create(
        &self,
        handle: &str,
        email: &str,
        password: Option<Secret>,
    ) -> Result<Created, Finding> {
        let invite = match self.invites_required().await? {
            true => Some(self.invite(1).await?),
            false => None,
        };
        let password = password.unwrap_or_else(generate_password);
        let mut body = json!({ "handle": handle, "email": email, "password": password.expose() });
        if let Some(code) = &invite {
            body["inviteCode"] = json!(code);
        }
        let v = self
            .call("com.atproto.server.createAccount", body, false)
            .await?;
        Ok(Created {
            did: v["did"].as_str().unwrap_or_default().to_string(),
            handle: v["handle"].as_str().unwrap_or(handle).to_string(),
            email: email.to_string(),
            invite,
            password,
        })
    }

    /// A new password for the account `did` (the old one stops working at once).
    pub async fn reset_password(
        &self,
        did: &str,
        password: Option<Secret>,
    ) -> Result<Secret, Finding> {
        let password = password.unwrap_or_else(generate_password);
        self.call(
            "com.atproto.admin.updateAccountPassword",
            json!({ "did": did, "password": password.expose() }),
            true,
        )
        .await?;
        Ok(password)
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

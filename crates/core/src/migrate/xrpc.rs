//! One small XRPC client for a migration: the old PDS and this one, with or without an
//! access token. Every answer is read within a cap; a refusal keeps the PDS's own error
//! code (`InvalidToken`, `ExpiredToken`, `AuthFactorTokenRequired`…), which is what the
//! migration decides by — never the words.

use crate::finding::Finding;
use crate::http::{cap, client, HttpOptions};
use crate::secret::Secret;
use serde_json::Value;

#[derive(Clone)]
pub struct Xrpc {
    pub base: String,
    pub http: HttpOptions,
    pub token: Option<Secret>,
    /// One client for every call (its connections kept): a thousand blobs are a thousand
    /// calls.
    client: Result<reqwest::Client, String>,
}

/// A call that did not end in what was asked.
#[derive(Debug, Clone)]
pub struct CallError {
    pub method: String,
    /// None: no answer at all (no connection, a timeout, an answer that broke off).
    pub status: Option<u16>,
    /// The PDS's error code (`{"error": …}`), when it sent one.
    pub code: Option<String>,
    pub message: String,
    /// The answer was over the cap asked for (a repository over the import limit).
    pub too_large: bool,
}

impl CallError {
    pub fn is(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }

    pub fn finding(&self, whose: &str) -> Finding {
        match self.status {
            None => Finding::fail(format!("{}: {whose}: {}", self.method, self.message)),
            Some(s) => Finding::fail(format!(
                "{}: {whose} answered HTTP {s}: {}",
                self.method, self.message
            )),
        }
    }
}

/// A body to send.
pub enum Body<'a> {
    None,
    Json(&'a Value),
    Bytes(&'a [u8], &'a str),
}

impl Xrpc {
    pub fn new(base: &str, http: &HttpOptions) -> Xrpc {
        // This PDS is called on its own URL and the old one by its name: never through
        // --connect-to, which points HTTPS checks at this machine.
        let http = HttpOptions {
            connect_to: None,
            ..http.clone()
        };
        Xrpc {
            base: base.trim_end_matches('/').to_string(),
            client: client(&http, ""),
            http,
            token: None,
        }
    }

    pub fn with_token(&self, token: Secret) -> Xrpc {
        Xrpc {
            token: Some(token),
            ..self.clone()
        }
    }

    fn fail(&self, method: &str, status: Option<u16>, message: String) -> CallError {
        CallError {
            method: method.to_string(),
            status,
            code: None,
            message,
            too_large: false,
        }
    }

    async fn send(
        &self,
        method: &str,
        query: &[(&str, &str)],
        body: Option<Body<'_>>,
        bearer: Option<&Secret>,
    ) -> Result<reqwest::Response, CallError> {
        let c = self
            .client
            .clone()
            .map_err(|e| self.fail(method, None, e))?;
        let url = format!("{}/xrpc/{method}", self.base);
        let mut req = match &body {
            None => c.get(url).query(query),
            Some(_) => c.post(url),
        };
        match body {
            Some(Body::Json(v)) => req = req.json(v),
            Some(Body::Bytes(b, ty)) => {
                req = req.header("content-type", ty).body(b.to_vec());
            }
            _ => {}
        }
        if let Some(t) = bearer.or(self.token.as_ref()) {
            req = req.bearer_auth(t.expose());
        }
        req.send().await.map_err(|e| {
            self.fail(
                method,
                None,
                format!("no answer from {}: {}", self.base, crate::http::cause(&e)),
            )
        })
    }

    /// The answer's bytes when it is a 2xx within `limit`; the PDS's refusal otherwise.
    async fn answer(
        &self,
        method: &str,
        r: reqwest::Response,
        limit: usize,
    ) -> Result<(Vec<u8>, Option<String>), CallError> {
        let status = r.status().as_u16();
        let ty = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let ok = (200..300).contains(&status);
        let got = crate::http::read(r, if ok { limit } else { cap::JSON })
            .await
            .map_err(|e| self.fail(method, Some(status), e.to_string()))?;
        if ok {
            if got.truncated {
                return Err(CallError {
                    too_large: true,
                    ..self.fail(
                        method,
                        Some(status),
                        format!(
                            "the answer is over {}; reading stopped there",
                            crate::http::size(limit)
                        ),
                    )
                });
            }
            return Ok((got.bytes, ty));
        }
        let v: Value = serde_json::from_slice(&got.bytes).unwrap_or(Value::Null);
        let code = v["error"].as_str().map(str::to_string);
        let message = v["message"]
            .as_str()
            .or(code.as_deref())
            .map(str::to_string)
            .unwrap_or_else(|| got.text().chars().take(200).collect());
        Err(CallError {
            method: method.to_string(),
            status: Some(status),
            code,
            message,
            too_large: false,
        })
    }

    fn json(&self, method: &str, bytes: &[u8]) -> Result<Value, CallError> {
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(bytes)
            .map_err(|e| self.fail(method, None, format!("the answer is not JSON: {e}")))
    }

    pub async fn get(&self, method: &str, query: &[(&str, &str)]) -> Result<Value, CallError> {
        let r = self.send(method, query, None, None).await?;
        let (b, _) = self.answer(method, r, cap::JSON).await?;
        self.json(method, &b)
    }

    /// A GET whose answer is bytes (a CAR, a blob), within `limit`: the bytes and their type.
    pub async fn get_bytes(
        &self,
        method: &str,
        query: &[(&str, &str)],
        limit: usize,
    ) -> Result<(Vec<u8>, Option<String>), CallError> {
        let r = self.send(method, query, None, None).await?;
        self.answer(method, r, limit).await
    }

    /// A GET's announced length, its body not read (the connection is dropped): a blob's
    /// size without fetching it.
    pub async fn length(
        &self,
        method: &str,
        query: &[(&str, &str)],
    ) -> Result<Option<u64>, CallError> {
        let r = self.send(method, query, None, None).await?;
        let status = r.status().as_u16();
        if !(200..300).contains(&status) {
            return self.answer(method, r, 0).await.map(|_| None);
        }
        Ok(r.content_length())
    }

    pub async fn post(&self, method: &str, body: Body<'_>) -> Result<Value, CallError> {
        self.post_as(method, body, None).await
    }

    /// POST with another bearer token than the session's (service auth for createAccount).
    pub async fn post_as(
        &self,
        method: &str,
        body: Body<'_>,
        bearer: Option<&Secret>,
    ) -> Result<Value, CallError> {
        let r = self.send(method, &[], Some(body), bearer).await?;
        let (b, _) = self.answer(method, r, cap::JSON).await?;
        self.json(method, &b)
    }
}

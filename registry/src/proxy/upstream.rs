//! One upstream registry as the proxy sees it: GET/HEAD of manifests and
//! blobs by repository, with docker's token flow (401 + `Bearer realm=…` ->
//! token from the realm, basic credentials if configured -> retry) or basic
//! auth, and token reuse until shortly before they expire.
//!
//! Why not the client crate's auth: the registry depends only on hoist-oci
//! (tests/e2e/tidy.rs), and the client crate would bring the local image
//! store with it. What the proxy needs is read-only and small: this file.

use super::challenge;
use crate::driver::DriverError;
use crate::error::RegistryError;
use reqwest::header::{HeaderValue, ACCEPT, WWW_AUTHENTICATE};
use reqwest::{Method, StatusCode};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Why upstream could not answer.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// Down, timing out, or failing (5xx, 429): cached content is served
    /// instead where there is some.
    #[error("upstream {0}")]
    Unavailable(String),
    #[error("not found upstream")]
    NotFound,
    /// Upstream answered, but not with what was asked (refused credentials,
    /// a bad token answer, an unexpected status).
    #[error("upstream {0}")]
    Refused(String),
}

impl UpstreamError {
    /// The registry error a client sees: 404 as `not_found`, the rest 503
    /// UNAVAILABLE naming the upstream's answer, so clients retry.
    pub fn into_registry(self, not_found: impl FnOnce() -> RegistryError) -> RegistryError {
        match self {
            UpstreamError::NotFound => not_found(),
            other => RegistryError::Storage(DriverError::Unavailable {
                path: "proxy".into(),
                message: other.to_string(),
            }),
        }
    }
}

pub struct Upstream {
    /// `scheme://host[:port]` without a trailing slash.
    base: String,
    credentials: Option<(String, String)>,
    http: reqwest::Client,
    /// Docker Hub names official images `library/<name>`.
    docker_hub: bool,
    /// Upstream asked for basic auth rather than tokens.
    basic: AtomicBool,
    /// repository -> (bearer token, usable until).
    tokens: Mutex<HashMap<String, (String, Instant)>>,
}

impl Upstream {
    pub fn new(url: &str, credentials: Option<(String, String)>) -> Result<Upstream, String> {
        let base = url.trim_end_matches('/').to_string();
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(60))
            .user_agent(concat!("hoist-registry-proxy/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("HTTP client for {url}: {e}"))?;
        let docker_hub = url::Url::parse(&base)
            .ok()
            .and_then(|u| u.host_str().map(|h| h == "registry-1.docker.io"))
            .unwrap_or(false);
        Ok(Upstream {
            base,
            credentials,
            http,
            docker_hub,
            basic: AtomicBool::new(false),
            tokens: Mutex::new(HashMap::new()),
        })
    }

    #[cfg(test)]
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The upstream's name for a repository (`alpine` is `library/alpine`
    /// on Docker Hub).
    pub fn repository(&self, name: &str) -> String {
        if self.docker_hub && !name.contains('/') {
            format!("library/{name}")
        } else {
            name.to_string()
        }
    }

    /// `method /v2/<repo>/<path>` (path is `manifests/<ref>` or
    /// `blobs/<digest>`), authenticating as upstream asks. A success is
    /// returned with its body unread.
    pub async fn request(
        &self,
        method: Method,
        repo: &str,
        path: &str,
        accept: &[&str],
    ) -> Result<reqwest::Response, UpstreamError> {
        let url = format!("{}/v2/{repo}/{path}", self.base);
        let mut challenged = false;
        loop {
            let mut req = self.http.request(method.clone(), &url);
            for a in accept {
                req = req.header(ACCEPT, *a);
            }
            if let Some(token) = self.token_for(repo) {
                req = req.bearer_auth(token);
            } else if let (true, Some((u, p))) =
                (self.basic.load(Ordering::Relaxed), &self.credentials)
            {
                req = req.basic_auth(u, Some(p));
            }
            let resp = req
                .send()
                .await
                .map_err(|e| UpstreamError::Unavailable(format!("{url}: {}", error_chain(&e))))?;
            let status = resp.status();
            if status == StatusCode::UNAUTHORIZED && !challenged {
                challenged = true;
                self.tokens.lock().unwrap().remove(repo);
                let header = resp
                    .headers()
                    .get(WWW_AUTHENTICATE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(challenge::parse);
                match header {
                    Some(c) if c.scheme == "bearer" => self.fetch_token(repo, &c).await?,
                    Some(c) if c.scheme == "basic" && self.credentials.is_some() => {
                        self.basic.store(true, Ordering::Relaxed)
                    }
                    _ => {
                        return Err(UpstreamError::Refused(format!(
                            "{url}: 401 and no credentials to answer it with (set username and \
                             password in [proxy])"
                        )))
                    }
                }
                continue;
            }
            return match status {
                s if s.is_success() => Ok(resp),
                StatusCode::NOT_FOUND => Err(UpstreamError::NotFound),
                s if s.is_server_error() || s == StatusCode::TOO_MANY_REQUESTS => {
                    Err(UpstreamError::Unavailable(format!("{url}: {s}")))
                }
                s => Err(UpstreamError::Refused(format!("{url}: {s}"))),
            };
        }
    }

    fn token_for(&self, repo: &str) -> Option<String> {
        let tokens = self.tokens.lock().unwrap();
        let (token, until) = tokens.get(repo)?;
        (Instant::now() < *until).then(|| token.clone())
    }

    /// Asks the challenge's realm for a pull token for `repo`.
    async fn fetch_token(&self, repo: &str, c: &challenge::Challenge) -> Result<(), UpstreamError> {
        let realm = c
            .params
            .get("realm")
            .ok_or_else(|| UpstreamError::Refused("Bearer challenge without a realm".into()))?;
        let mut req = self
            .http
            .get(realm)
            .query(&[("scope", format!("repository:{repo}:pull"))]);
        if let Some(service) = c.params.get("service") {
            req = req.query(&[("service", service)]);
        }
        if let Some((u, p)) = &self.credentials {
            req = req.basic_auth(u, Some(p));
        }
        let resp = req
            .send()
            .await
            .map_err(|e| UpstreamError::Unavailable(format!("{realm}: {}", error_chain(&e))))?;
        if !resp.status().is_success() {
            return Err(UpstreamError::Refused(format!(
                "token from {realm}: {}",
                resp.status()
            )));
        }
        #[derive(serde::Deserialize)]
        struct TokenAnswer {
            token: Option<String>,
            access_token: Option<String>,
            expires_in: Option<u64>,
        }
        let answer: TokenAnswer = resp
            .json()
            .await
            .map_err(|e| UpstreamError::Refused(format!("token from {realm}: {e}")))?;
        let token = answer
            .token
            .or(answer.access_token)
            .ok_or_else(|| UpstreamError::Refused(format!("token from {realm}: no token")))?;
        // Docker's default lifetime is 60 s; stop using it 10% early.
        let lifetime = Duration::from_secs(answer.expires_in.unwrap_or(60).max(1)) * 9 / 10;
        self.tokens
            .lock()
            .unwrap()
            .insert(repo.to_string(), (token, Instant::now() + lifetime));
        Ok(())
    }
}

/// reqwest's error with its causes ("error sending request: connection
/// refused"), which its Display alone leaves out.
fn error_chain(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// A header value as text, when it is text.
pub fn header_str<'a>(resp: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    resp.headers()
        .get(name)
        .and_then(|v: &HeaderValue| v.to_str().ok())
}

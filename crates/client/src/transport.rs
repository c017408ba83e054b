//! One registry endpoint: the HTTP client (TLS settings, CA certificates),
//! the scheme chosen by pinging `/v2/`, and `send`, which adds authentication,
//! answers 401 challenges by (re)authenticating, and retries transient
//! failures with backoff. Errors are classified here into the variants the
//! user sees (unreachable, TLS, 401 with realm, 403, 404, other status).

use crate::auth::Auth;
use crate::credentials::{Credential, CredentialFiles};
use crate::error::{ClientError, Result, Site};
use crate::retry;
use reqwest::header::{HeaderMap, AUTHORIZATION, WWW_AUTHENTICATE};
use reqwest::{RequestBuilder, Response, StatusCode};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How the client talks to registries.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Verify TLS certificates and refuse plain HTTP. When false, HTTPS is
    /// tried without verification first, then plain HTTP.
    pub tls_verify: bool,
    /// Extra CA certificates (`*.crt`, `*.pem`) trusted for every registry.
    pub cert_dir: Option<PathBuf>,
    /// Blobs transferred at the same time.
    pub concurrency: usize,
    /// Largest PATCH body of a chunked upload.
    pub chunk_size: u64,
    /// Retries of a transient failure before giving up.
    pub retries: u32,
    pub credentials: CredentialFiles,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            tls_verify: true,
            cert_dir: None,
            concurrency: 4,
            chunk_size: 16 << 20,
            retries: retry::DEFAULT_RETRIES,
            credentials: CredentialFiles::from_env(),
        }
    }
}

/// A connection to one registry host.
pub struct Registry {
    /// The host as the user wrote it in references (`127.0.0.1:5000`).
    pub host: String,
    base: reqwest::Url,
    http: reqwest::Client,
    auth: Auth,
    pub opts: ClientOptions,
}

impl Registry {
    /// Builds the HTTP client, picks the scheme by pinging `/v2/` and learns
    /// whether (and how) the registry wants authentication. `cred` overrides
    /// the credential files (used by `login` to verify new credentials).
    pub async fn connect(
        host: &str,
        opts: &ClientOptions,
        cred: Option<Credential>,
    ) -> Result<Registry> {
        let site = Site::new(host, "", "connecting (GET /v2/)");
        let cred = match cred {
            Some(c) => Some(c),
            None => opts.credentials.lookup(host)?,
        };
        let http = build_http(opts, host)?;
        let endpoint = api_host(host);
        let mut reg = Registry {
            host: host.to_string(),
            base: url(&site, &format!("https://{endpoint}/"))?,
            http,
            auth: Auth::new(cred, false),
            opts: opts.clone(),
        };
        match reg.ping(&site).await {
            Err(ClientError::Tls { detail, .. })
                if !opts.tls_verify && plain_http_answer(&detail) =>
            {
                tracing::debug!(%host, "registry speaks plain HTTP");
                reg.base = url(&site, &format!("http://{endpoint}/"))?;
                reg.auth.set_plain_http(true);
                reg.ping(&site).await?;
            }
            other => other?,
        }
        Ok(reg)
    }

    async fn ping(&self, site: &Site) -> Result<()> {
        let resp = self
            .http
            .get(self.url("/v2/"))
            .send()
            .await
            .map_err(|e| classify_send_error(site, &e))?;
        match resp.status() {
            s if s.is_success() => Ok(()),
            StatusCode::UNAUTHORIZED => {
                let h = header_str(resp.headers(), WWW_AUTHENTICATE);
                self.auth.on_unauthorized(h.as_deref(), &[]);
                Ok(())
            }
            StatusCode::BAD_REQUEST => {
                let body = resp.text().await.unwrap_or_default();
                if body.contains("HTTPS") {
                    Err(ClientError::Tls {
                        site: site.clone(),
                        detail: "the port speaks HTTPS but was sent plain HTTP".into(),
                        hint: "use --tls-verify=true (the default) with --cert-dir for its CA",
                    })
                } else {
                    Err(ClientError::protocol(
                        site,
                        format!("GET /v2/ answered 400: {body}"),
                    ))
                }
            }
            s => Err(ClientError::protocol(
                site,
                format!("GET /v2/ answered {s}: is this an OCI registry?"),
            )),
        }
    }

    /// Whether the registry asked for authentication when pinged.
    pub fn requires_auth(&self) -> bool {
        self.auth.challenge().is_some()
    }

    /// Makes sure the registry accepts our credentials (for `login`): basic
    /// auth is tried on `/v2/`, the token flow asks its realm for a token.
    pub async fn verify_credentials(&self) -> Result<()> {
        let site = Site::new(&self.host, "", "verifying credentials");
        let resp = self
            .send(&site, &[], true, |h| h.get(self.url("/v2/")))
            .await?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(self.error_for(&site, resp, "registry API").await)
        }
    }

    /// An absolute URL for a path under the registry (`/v2/...`).
    pub fn url(&self, path: &str) -> reqwest::Url {
        self.base
            .join(path.trim_start_matches('/'))
            .expect("registry paths are valid URL paths")
    }

    /// Resolves an upload `Location` header (absolute or relative).
    pub fn location(&self, site: &Site, value: &str) -> Result<reqwest::Url> {
        let u = self.base.join(value).map_err(|e| {
            ClientError::protocol(site, format!("bad Location header {value:?}: {e}"))
        })?;
        // A registry must not send our bearer token or basic credentials to
        // some other host; uploads stay on the registry's own origin.
        if u.host_str() != self.base.host_str()
            || u.port_or_known_default() != self.base.port_or_known_default()
        {
            return Err(ClientError::protocol(
                site,
                format!("upload location {u} points to another host"),
            ));
        }
        Ok(u)
    }

    /// Sends the request `make` builds, with authentication for `scopes`.
    /// A 401 refreshes the credentials and tries again (twice at most).
    /// When `retry` is true, connection failures, 5xx and 429 are retried
    /// with backoff; `make` is called for each attempt, so bodies are rebuilt.
    /// Any other answer is returned for the caller to interpret.
    pub async fn send(
        &self,
        site: &Site,
        scopes: &[String],
        retry: bool,
        make: impl Fn(&reqwest::Client) -> RequestBuilder,
    ) -> Result<Response> {
        let mut attempt = 0;
        let mut reauths = 0;
        loop {
            let mut req = make(&self.http);
            if let Some(h) = self.auth.header(&self.http, scopes, site).await? {
                req = req.header(AUTHORIZATION, h);
            }
            let failure = match req.send().await {
                Ok(resp) if resp.status() == StatusCode::UNAUTHORIZED && reauths < 2 => {
                    let h = header_str(resp.headers(), WWW_AUTHENTICATE);
                    tracing::debug!(%site, challenge = ?h, "401, authenticating again");
                    self.auth.on_unauthorized(h.as_deref(), scopes);
                    reauths += 1;
                    continue;
                }
                Ok(resp) if is_transient_status(resp.status()) => {
                    let status = resp.status().as_u16();
                    if !retry || attempt >= self.opts.retries {
                        return Ok(resp);
                    }
                    ClientError::Status {
                        site: site.clone(),
                        status,
                        detail: "transient".into(),
                    }
                }
                Ok(resp) => return Ok(resp),
                Err(e) => {
                    let err = classify_send_error(site, &e);
                    if !retry || !err.is_transient() || attempt >= self.opts.retries {
                        return Err(err);
                    }
                    err
                }
            };
            tracing::info!(%site, attempt, error = %failure, "retrying");
            tokio::time::sleep(retry::delay(attempt)).await;
            attempt += 1;
        }
    }

    /// Turns an unsuccessful response into the error the user sees. `what`
    /// names the object that was asked for ("manifest", "blob sha256:…").
    pub async fn error_for(&self, site: &Site, resp: Response, what: &str) -> ClientError {
        let status = resp.status();
        let challenge = header_str(resp.headers(), WWW_AUTHENTICATE);
        let body = resp.text().await.unwrap_or_default();
        let detail = registry_message(&body).unwrap_or_else(|| status.to_string());
        let site = site.clone();
        match status {
            StatusCode::UNAUTHORIZED => {
                let realm = challenge
                    .as_deref()
                    .and_then(crate::auth::challenge::parse)
                    .or_else(|| self.auth.challenge())
                    .map(|c| c.realm().to_string())
                    .unwrap_or_default();
                let detail = if self.auth.credential().is_some() {
                    format!("credentials rejected ({detail})")
                } else {
                    format!("no credentials for {} ({detail})", self.host)
                };
                ClientError::Unauthorized {
                    site,
                    realm,
                    detail,
                }
            }
            StatusCode::FORBIDDEN if self.auth.credential().is_none() => ClientError::Denied {
                site,
                detail: format!(
                    "{detail}; not logged in to {}: run `hoist login {}`",
                    self.host, self.host
                ),
            },
            StatusCode::FORBIDDEN => ClientError::Denied {
                site,
                detail: format!("{detail}; the account lacks permission for this repository"),
            },
            StatusCode::NOT_FOUND => ClientError::NotFound {
                site,
                what: what.to_string(),
                detail,
            },
            s => ClientError::Status {
                site,
                status: s.as_u16(),
                detail,
            },
        }
    }
}

/// docker.io's API lives on another host than its name.
/// The endpoint serving a registry name: docker.io is served by
/// registry-1.docker.io. `HOIST_DOCKER_IO_ENDPOINT` replaces that endpoint
/// (a test hook: tests point docker.io at a loopback registry, never at the
/// internet).
fn api_host(host: &str) -> String {
    if host == "docker.io" {
        std::env::var("HOIST_DOCKER_IO_ENDPOINT").unwrap_or_else(|_| "registry-1.docker.io".into())
    } else {
        host.to_string()
    }
}

fn url(site: &Site, s: &str) -> Result<reqwest::Url> {
    reqwest::Url::parse(s)
        .map_err(|e| ClientError::protocol(site, format!("bad registry address {s:?}: {e}")))
}

fn is_transient_status(s: StatusCode) -> bool {
    s.is_server_error() || s == StatusCode::TOO_MANY_REQUESTS
}

pub fn header_str(headers: &HeaderMap, name: impl reqwest::header::AsHeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// The first message of an OCI error body (`{"errors":[{"code","message"}]}`).
fn registry_message(body: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    let e = v.get("errors")?.get(0)?;
    let code = e.get("code").and_then(|c| c.as_str()).unwrap_or("");
    let msg = e.get("message").and_then(|c| c.as_str()).unwrap_or("");
    Some(
        format!("{code}: {msg}")
            .trim_matches([' ', ':'])
            .to_string(),
    )
}

fn build_http(opts: &ClientOptions, host: &str) -> Result<reqwest::Client> {
    let mut b = reqwest::Client::builder()
        .user_agent(concat!("hoist/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(15))
        .read_timeout(Duration::from_secs(120))
        // Redirects (blob downloads from storage backends) are followed
        // without our Authorization header: reqwest drops it across hosts.
        .redirect(reqwest::redirect::Policy::limited(5));
    if !opts.tls_verify {
        b = b.danger_accept_invalid_certs(true);
    }
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(d) = &opts.cert_dir {
        dirs.push(d.clone());
    } else {
        // Where docker and podman keep per-registry CAs.
        for base in ["/etc/containers/certs.d", "/etc/docker/certs.d"] {
            let d = Path::new(base).join(host);
            if d.is_dir() {
                dirs.push(d);
            }
        }
    }
    for dir in &dirs {
        for cert in load_certs(dir)? {
            b = b.add_root_certificate(cert);
        }
    }
    b.build().map_err(|e| ClientError::Certificates {
        path: dirs
            .first()
            .map(|d| d.display().to_string())
            .unwrap_or_default(),
        detail: format!("cannot set up the HTTP client: {e}"),
    })
}

fn load_certs(dir: &Path) -> Result<Vec<reqwest::Certificate>> {
    let bad = |detail: String| ClientError::Certificates {
        path: dir.display().to_string(),
        detail,
    };
    let entries = std::fs::read_dir(dir).map_err(|e| bad(e.to_string()))?;
    let mut out = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| bad(e.to_string()))?.path();
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if ext != "crt" && ext != "pem" {
            continue;
        }
        let pem = std::fs::read(&path).map_err(|e| bad(format!("{}: {e}", path.display())))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| bad(format!("{}: not a PEM certificate: {e}", path.display())))?;
        out.extend(certs);
    }
    if out.is_empty() {
        return Err(bad("no *.crt or *.pem certificates in it".into()));
    }
    Ok(out)
}

/// Whether a TLS failure means the other side answered in plain HTTP.
fn plain_http_answer(detail: &str) -> bool {
    detail.contains("InvalidContentType") || detail.contains("corrupt message")
}

/// Classifies a failed send (or a body read that failed midway).
pub fn classify_send_error(site: &Site, e: &reqwest::Error) -> ClientError {
    let mut chain = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        chain.push_str(": ");
        chain.push_str(&s.to_string());
        src = s.source();
    }
    let site = site.clone();
    let lower = chain.to_lowercase();
    if lower.contains("dns error") || lower.contains("failed to lookup address") {
        return ClientError::Unreachable {
            site,
            detail: "the host name does not resolve".into(),
        };
    }
    if plain_http_answer(&chain) {
        return ClientError::Tls {
            site,
            detail: format!("the registry answered in plain HTTP, not HTTPS ({chain})"),
            hint: "for a plain-HTTP registry pass --tls-verify=false",
        };
    }
    if lower.contains("certificate")
        || lower.contains("unknownissuer")
        || lower.contains("tls handshake")
        || lower.contains("alert")
    {
        return ClientError::Tls {
            site,
            detail: chain,
            hint: "trust its CA with --cert-dir DIR, or pass --tls-verify=false",
        };
    }
    let detail = if lower.contains("connection refused") {
        "connection refused (is a registry listening there?)".to_string()
    } else if e.is_timeout() {
        format!("timed out ({chain})")
    } else {
        chain
    };
    ClientError::Unreachable { site, detail }
}

//! The bearer token flow (docker's token spec): ask the challenge's realm for
//! a token covering `service` and the scopes an operation needs, with basic
//! credentials when we have them, and keep it until shortly before it expires.

use super::challenge::Challenge;
use crate::credentials::Credential;
use crate::error::{ClientError, Result, Site};
use std::time::{Duration, Instant};

/// A token and the moment after which it should no longer be sent.
#[derive(Debug, Clone)]
pub struct Token {
    pub value: String,
    pub use_until: Instant,
}

impl Token {
    pub fn fresh(&self) -> bool {
        Instant::now() < self.use_until
    }
}

#[derive(serde::Deserialize)]
struct TokenResponse {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
}

/// Requests a token from `challenge`'s realm for `scopes`.
/// `registry_plain_http` allows a plain-HTTP realm (only for registries the
/// user already marked insecure): credentials never go over plain HTTP
/// otherwise.
pub async fn fetch(
    http: &reqwest::Client,
    challenge: &Challenge,
    scopes: &[String],
    cred: Option<&Credential>,
    registry_plain_http: bool,
    site: &Site,
) -> Result<Token> {
    let realm = challenge.realm();
    let url = reqwest::Url::parse(realm).map_err(|e| {
        ClientError::protocol(site, format!("token realm {realm:?} is not a URL: {e}"))
    })?;
    match url.scheme() {
        "https" => {}
        "http" if registry_plain_http || cred.is_none() => {}
        "http" => {
            return Err(ClientError::protocol(
                site,
                format!("refusing to send credentials to the plain-HTTP token realm {realm}"),
            ))
        }
        other => {
            return Err(ClientError::protocol(
                site,
                format!("token realm has unsupported scheme {other:?}"),
            ))
        }
    }
    let mut query: Vec<(&str, &str)> = Vec::new();
    if let Some(service) = challenge.params.get("service") {
        query.push(("service", service));
    }
    for s in scopes {
        query.push(("scope", s));
    }
    if let Some(c) = cred {
        query.push(("account", &c.username));
    }
    let mut req = http.get(url).query(&query);
    if let Some(c) = cred {
        req = req.basic_auth(&c.username, Some(&c.password));
    }
    let step = Site::new(&site.registry, &site.repository, "requesting a token");
    let resp = req
        .send()
        .await
        .map_err(|e| crate::transport::classify_send_error(&step, &e))?;
    let status = resp.status();
    if status == reqwest::StatusCode::UNAUTHORIZED {
        return Err(ClientError::Unauthorized {
            site: step,
            realm: realm.to_string(),
            detail: if cred.is_some() {
                "the token service rejected the user name or password".into()
            } else {
                "the token service requires credentials".into()
            },
        });
    }
    if status == reqwest::StatusCode::FORBIDDEN {
        return Err(ClientError::Denied {
            site: step,
            detail: format!("the token service at {realm} refused {}", scopes.join(" ")),
        });
    }
    if !status.is_success() {
        return Err(ClientError::Status {
            site: step,
            status: status.as_u16(),
            detail: format!("token service at {realm}"),
        });
    }
    let body = resp
        .bytes()
        .await
        .map_err(|e| crate::transport::classify_send_error(&step, &e))?;
    let parsed: TokenResponse = serde_json::from_slice(&body)
        .map_err(|e| ClientError::protocol(&step, format!("token response is not JSON: {e}")))?;
    let value = parsed
        .token
        .or(parsed.access_token)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ClientError::protocol(&step, "token response has no token"))?;
    if value.chars().any(|c| c.is_control() || c == ' ') {
        return Err(ClientError::protocol(
            &step,
            "token contains invalid characters",
        ));
    }
    let ttl = Duration::from_secs(parsed.expires_in.unwrap_or(60));
    // Stop using a token a little before it expires so a request in flight
    // does not carry a token that dies on the way.
    let margin = (ttl / 10).min(Duration::from_secs(10));
    Ok(Token {
        value,
        use_until: Instant::now() + ttl - margin,
    })
}

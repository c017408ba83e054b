//! Authentication against one registry: anonymous until the registry
//! challenges, then basic credentials or bearer tokens per scope set, reused
//! until they expire and refreshed when the registry answers 401.

pub mod challenge;
pub mod token;

use crate::credentials::Credential;
use crate::error::{Result, Site};
use base64::Engine;
use challenge::Challenge;
use std::collections::HashMap;
use std::sync::Mutex;
use token::Token;

/// The scope string for a repository and actions, e.g. `repository:a/b:pull,push`.
pub fn repository_scope(repository: &str, actions: &str) -> String {
    format!("repository:{repository}:{actions}")
}

pub struct Auth {
    cred: Option<Credential>,
    challenge: Mutex<Option<Challenge>>,
    tokens: Mutex<HashMap<String, Token>>,
    plain_http: bool,
}

impl Auth {
    pub fn new(cred: Option<Credential>, plain_http: bool) -> Self {
        Auth {
            cred,
            challenge: Mutex::new(None),
            tokens: Mutex::new(HashMap::new()),
            plain_http,
        }
    }

    pub fn credential(&self) -> Option<&Credential> {
        self.cred.as_ref()
    }

    pub fn set_plain_http(&mut self, plain: bool) {
        self.plain_http = plain;
    }

    pub fn challenge(&self) -> Option<Challenge> {
        self.challenge.lock().unwrap().clone()
    }

    /// Records the registry's latest challenge and forgets the token for
    /// `scopes` (it was rejected or has expired).
    pub fn on_unauthorized(&self, header: Option<&str>, scopes: &[String]) {
        if let Some(c) = header.and_then(challenge::parse) {
            *self.challenge.lock().unwrap() = Some(c);
        }
        self.tokens.lock().unwrap().remove(&scope_key(scopes));
    }

    /// The `Authorization` header value for a request needing `scopes`, or
    /// `None` while the registry has not asked for authentication.
    pub async fn header(
        &self,
        http: &reqwest::Client,
        scopes: &[String],
        site: &Site,
    ) -> Result<Option<String>> {
        let Some(ch) = self.challenge() else {
            return Ok(None);
        };
        if ch.is_basic() {
            return Ok(self.cred.as_ref().map(|c| {
                let raw = format!("{}:{}", c.username, c.password);
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(raw)
                )
            }));
        }
        if !ch.is_bearer() {
            return Ok(None);
        }
        let key = scope_key(scopes);
        if let Some(t) = self.tokens.lock().unwrap().get(&key) {
            if t.fresh() {
                return Ok(Some(format!("Bearer {}", t.value)));
            }
        }
        let t = token::fetch(http, &ch, scopes, self.cred.as_ref(), self.plain_http, site).await?;
        let value = format!("Bearer {}", t.value);
        self.tokens.lock().unwrap().insert(key, t);
        Ok(Some(value))
    }
}

fn scope_key(scopes: &[String]) -> String {
    let mut s: Vec<&str> = scopes.iter().map(String::as_str).collect();
    s.sort_unstable();
    s.join(" ")
}

//! Bearer tokens: compact JWTs signed with HMAC-SHA256.
//!
//! HS256 rather than ES256/RS256 because the issuer and the verifier are the
//! same program: there is no third party that needs a public key, and one
//! shared secret file is all replicas need. Tokens carry docker's `access`
//! claim (type, name, actions), an audience (the service) and a short expiry;
//! the signature is checked in constant time before anything else is read.

use super::policy::Action;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::time::{SystemTime, UNIX_EPOCH};

type HmacSha256 = Hmac<Sha256>;

/// One granted scope, as docker's token spec spells it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub actions: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    /// The user; empty for anonymous.
    pub sub: String,
    pub aud: String,
    pub exp: u64,
    pub nbf: u64,
    pub iat: u64,
    pub jti: String,
    pub access: Vec<Grant>,
}

impl Claims {
    /// Whether the token grants `action` on repository `repo`.
    pub fn allows(&self, repo: &str, action: Action) -> bool {
        self.access.iter().any(|g| {
            g.kind == "repository"
                && g.name == repo
                && g.actions.iter().any(|a| a == action.as_str() || a == "*")
        })
    }
    /// Whether the token grants `registry:catalog:*`.
    pub fn allows_catalog(&self) -> bool {
        self.access
            .iter()
            .any(|g| g.kind == "registry" && g.name == "catalog")
    }
    pub fn user(&self) -> Option<&str> {
        (!self.sub.is_empty()).then_some(self.sub.as_str())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("malformed token")]
    Malformed,
    #[error("token signature does not verify")]
    BadSignature,
    #[error("token has expired")]
    Expired,
    #[error("token is for another service")]
    WrongAudience,
    #[error("token is from an untrusted issuer")]
    WrongIssuer,
    #[error("token is not valid yet")]
    NotYetValid,
    #[error("token signed by an untrusted key")]
    UntrustedKey,
    #[error("token algorithm {0:?} is not accepted")]
    Algorithm(String),
}

pub struct Signer {
    key: Vec<u8>,
    issuer: String,
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

impl Signer {
    pub fn new(key: Vec<u8>, issuer: &str) -> Self {
        Signer {
            key,
            issuer: issuer.to_string(),
        }
    }

    fn mac(&self) -> HmacSha256 {
        HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key length")
    }

    /// A signed token for `sub` with `access`, valid for `ttl` seconds.
    pub fn issue(&self, sub: &str, aud: &str, access: Vec<Grant>, ttl: u64) -> (String, Claims) {
        let iat = now();
        let claims = Claims {
            iss: self.issuer.clone(),
            sub: sub.to_string(),
            aud: aud.to_string(),
            exp: iat + ttl,
            nbf: iat.saturating_sub(1),
            iat,
            jti: hex::encode(rand::random::<[u8; 12]>()),
            access,
        };
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let payload =
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).expect("claims serialize"));
        let signing_input = format!("{header}.{payload}");
        let mut mac = self.mac();
        mac.update(signing_input.as_bytes());
        let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        (format!("{signing_input}.{sig}"), claims)
    }

    /// Verifies signature, audience and expiry; returns the claims.
    pub fn verify(&self, token: &str, aud: &str) -> Result<Claims, TokenError> {
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(sig), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let sig = URL_SAFE_NO_PAD
            .decode(sig)
            .map_err(|_| TokenError::Malformed)?;
        let mut mac = self.mac();
        mac.update(header.as_bytes());
        mac.update(b".");
        mac.update(payload.as_bytes());
        mac.verify_slice(&sig)
            .map_err(|_| TokenError::BadSignature)?;
        let header: serde_json::Value = URL_SAFE_NO_PAD
            .decode(header)
            .ok()
            .and_then(|h| serde_json::from_slice(&h).ok())
            .ok_or(TokenError::Malformed)?;
        if header.get("alg").and_then(|a| a.as_str()) != Some("HS256") {
            return Err(TokenError::Malformed);
        }
        let claims: Claims = URL_SAFE_NO_PAD
            .decode(payload)
            .ok()
            .and_then(|p| serde_json::from_slice(&p).ok())
            .ok_or(TokenError::Malformed)?;
        let t = now();
        if t >= claims.exp || t < claims.nbf {
            return Err(TokenError::Expired);
        }
        if claims.aud != aud {
            return Err(TokenError::WrongAudience);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(name: &str, actions: &[&str]) -> Grant {
        Grant {
            kind: "repository".into(),
            name: name.into(),
            actions: actions.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn round_trip_and_scope() {
        let s = Signer::new(b"k".to_vec(), "hoist");
        let (t, _) = s.issue("alice", "svc", vec![grant("a", &["pull"])], 60);
        let c = s.verify(&t, "svc").unwrap();
        assert!(c.allows("a", Action::Pull));
        assert!(!c.allows("a", Action::Push));
        assert!(!c.allows("b", Action::Pull));
        assert_eq!(
            s.verify(&t, "other").unwrap_err(),
            TokenError::WrongAudience
        );
    }

    #[test]
    fn tampering_and_other_keys_fail() {
        let s = Signer::new(b"k".to_vec(), "hoist");
        let (t, _) = s.issue("alice", "svc", vec![grant("a", &["pull"])], 60);
        let mut parts: Vec<String> = t.split('.').map(String::from).collect();
        let mut claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
        claims["access"][0]["actions"] = serde_json::json!(["pull", "push"]);
        parts[1] = URL_SAFE_NO_PAD.encode(claims.to_string());
        assert_eq!(
            s.verify(&parts.join("."), "svc").unwrap_err(),
            TokenError::BadSignature
        );
        let other = Signer::new(b"other".to_vec(), "hoist");
        assert_eq!(
            other.verify(&t, "svc").unwrap_err(),
            TokenError::BadSignature
        );
        assert_eq!(s.verify("a.b", "svc").unwrap_err(), TokenError::Malformed);
    }

    #[test]
    fn expired_tokens_fail() {
        let s = Signer::new(b"k".to_vec(), "hoist");
        let (t, _) = s.issue("alice", "svc", vec![], 0);
        assert_eq!(s.verify(&t, "svc").unwrap_err(), TokenError::Expired);
    }
}

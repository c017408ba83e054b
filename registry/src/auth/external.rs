//! Tokens from an external token server (docker_auth, GitLab, Harbor,
//! Keycloak...), checked the way CNCF distribution checks them: an RS256 or
//! ES256 JWS whose key comes from the `x5c` chain (verified up to a
//! certificate in `rootcertbundle`), or from `kid` naming a bundle
//! certificate's key (libtrust fingerprint or RFC 7638 thumbprint) or a key
//! of the `jwks` URL; then issuer, audience, and expiry/not-before with
//! distribution's 60 s leeway.

use super::keys::PublicKey;
use super::token::{now, Claims, Grant, TokenError};
use crate::config::TokenServerConfig;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use rustls_pki_types::{CertificateDer, TrustAnchor, UnixTime};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

/// Clock skew allowed on `exp` and `nbf`, as distribution allows.
const LEEWAY_SECONDS: i64 = 60;
/// A token naming an unknown `kid` refetches the JWKS at most this often,
/// so garbage tokens cannot turn the registry into a load generator.
const JWKS_MIN_REFRESH: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum ExternalSetupError {
    #[error("cannot read auth.token.rootcertbundle {path}: {source}")]
    Bundle {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("auth.token.rootcertbundle {path}: {message}")]
    BadBundle { path: String, message: String },
}

pub struct External {
    issuer: String,
    service: String,
    bundle: Vec<Vec<u8>>,
    anchors: Vec<TrustAnchor<'static>>,
    /// Keys of the bundle's certificates by every id a token server may use.
    trusted: HashMap<String, PublicKey>,
    jwks: Option<Jwks>,
}

struct Jwks {
    url: String,
    client: reqwest::Client,
    keys: RwLock<HashMap<String, PublicKey>>,
    fetched: Mutex<Option<Instant>>,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    x5c: Vec<String>,
}

/// `aud` is a string or a list of strings (RFC 7519).
#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
struct ExternalClaims {
    #[serde(default)]
    iss: String,
    #[serde(default)]
    sub: String,
    aud: Option<Audience>,
    exp: Option<i64>,
    #[serde(default)]
    nbf: Option<i64>,
    #[serde(default)]
    iat: Option<i64>,
    #[serde(default)]
    jti: String,
    #[serde(default)]
    access: Vec<Grant>,
}

/// Accepts any extended key usage, as distribution does (`ExtKeyUsageAny`):
/// token signing certificates rarely carry one.
struct AnyUsage;
impl webpki::ExtendedKeyUsageValidator for AnyUsage {
    fn validate(&self, _: webpki::KeyPurposeIdIter<'_, '_>) -> Result<(), webpki::Error> {
        Ok(())
    }
}

fn key_of_cert(der: &[u8]) -> Result<PublicKey, String> {
    let der = CertificateDer::from(der);
    let cert =
        webpki::EndEntityCert::try_from(&der).map_err(|e| format!("bad certificate: {e}"))?;
    PublicKey::from_spki(cert.subject_public_key_info().as_ref())
}

impl External {
    pub fn new(config: &TokenServerConfig, service: &str) -> Result<Self, ExternalSetupError> {
        let mut bundle = Vec::new();
        if let Some(path) = &config.rootcertbundle {
            let shown = path.display().to_string();
            let pem = std::fs::read(path).map_err(|source| ExternalSetupError::Bundle {
                path: shown.clone(),
                source,
            })?;
            for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
                let cert = cert.map_err(|e| ExternalSetupError::BadBundle {
                    path: shown.clone(),
                    message: e.to_string(),
                })?;
                bundle.push(cert.as_ref().to_vec());
            }
            if bundle.is_empty() {
                return Err(ExternalSetupError::BadBundle {
                    path: shown,
                    message: "no PEM certificates in it".into(),
                });
            }
        }
        let mut trusted = HashMap::new();
        let mut anchors = Vec::new();
        for der in &bundle {
            let bad = |message: String| ExternalSetupError::BadBundle {
                path: config
                    .rootcertbundle
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
                message,
            };
            let key = key_of_cert(der).map_err(bad)?;
            trusted.insert(key.libtrust_kid(), key.clone());
            trusted.insert(key.thumbprint(), key);
            let cert = CertificateDer::from(der.as_slice());
            let anchor = webpki::anchor_from_trusted_cert(&cert)
                .map_err(|e| bad(format!("not usable as a trust anchor: {e}")))?
                .to_owned();
            anchors.push(anchor);
        }
        Ok(External {
            issuer: config.issuer.clone(),
            service: service.to_string(),
            bundle,
            anchors,
            trusted,
            jwks: config.jwks.as_ref().map(|url| Jwks {
                url: url.clone(),
                client: reqwest::Client::builder()
                    .timeout(Duration::from_secs(10))
                    .build()
                    .unwrap_or_default(),
                keys: RwLock::new(HashMap::new()),
                fetched: Mutex::new(None),
            }),
        })
    }

    /// Fetches the JWKS when `token` names a `kid` not yet known (and the
    /// last fetch is not too recent). Errors leave the old keys in place;
    /// the token then fails verification as signed by an untrusted key.
    pub async fn refresh_for(&self, token: &str) {
        let Some(jwks) = &self.jwks else { return };
        let Ok((header, _, _)) = split(token) else {
            return;
        };
        let Some(kid) = header.kid.filter(|_| header.x5c.is_empty()) else {
            return;
        };
        if self.trusted.contains_key(&kid) || jwks.keys.read().is_ok_and(|k| k.contains_key(&kid)) {
            return;
        }
        {
            let mut fetched = jwks.fetched.lock().unwrap_or_else(|e| e.into_inner());
            if fetched.is_some_and(|t| t.elapsed() < JWKS_MIN_REFRESH) {
                return;
            }
            *fetched = Some(Instant::now());
        }
        match fetch_jwks(&jwks.client, &jwks.url).await {
            Ok(keys) => {
                if let Ok(mut k) = jwks.keys.write() {
                    *k = keys;
                }
            }
            Err(e) => tracing::warn!("auth.token.jwks {}: {e}", jwks.url),
        }
    }

    /// Verifies an RS256/ES256 token; returns its claims.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let (header, signing_input, sig) = split(token)?;
        if header.alg != "RS256" && header.alg != "ES256" {
            return Err(TokenError::Algorithm(header.alg));
        }
        let key = self.signing_key(&header)?;
        if !key.verify(&header.alg, signing_input.as_bytes(), &sig) {
            return Err(TokenError::BadSignature);
        }
        let payload = signing_input.split('.').nth(1).unwrap_or_default();
        let claims: ExternalClaims = URL_SAFE_NO_PAD
            .decode(payload)
            .ok()
            .and_then(|p| serde_json::from_slice(&p).ok())
            .ok_or(TokenError::Malformed)?;
        if claims.iss != self.issuer {
            return Err(TokenError::WrongIssuer);
        }
        let audiences = match &claims.aud {
            Some(Audience::One(a)) => vec![a.as_str()],
            Some(Audience::Many(list)) => list.iter().map(String::as_str).collect(),
            None => vec![],
        };
        if !audiences.contains(&self.service.as_str()) {
            return Err(TokenError::WrongAudience);
        }
        let t = now() as i64;
        let exp = claims.exp.ok_or(TokenError::Expired)?;
        if t > exp + LEEWAY_SECONDS {
            return Err(TokenError::Expired);
        }
        if claims.nbf.is_some_and(|nbf| t < nbf - LEEWAY_SECONDS) {
            return Err(TokenError::NotYetValid);
        }
        Ok(Claims {
            iss: claims.iss,
            sub: claims.sub,
            aud: self.service.clone(),
            exp: exp.max(0) as u64,
            nbf: claims.nbf.unwrap_or(0).max(0) as u64,
            iat: claims.iat.unwrap_or(0).max(0) as u64,
            jti: claims.jti,
            access: claims.access,
        })
    }

    /// The key that must have signed the token: `x5c` first, then `kid`.
    fn signing_key(&self, header: &Header) -> Result<PublicKey, TokenError> {
        if !header.x5c.is_empty() {
            let chain: Vec<Vec<u8>> = header
                .x5c
                .iter()
                .map(|c| STANDARD.decode(c))
                .collect::<Result<_, _>>()
                .map_err(|_| TokenError::Malformed)?;
            return self.verify_chain(&chain);
        }
        let kid = header.kid.as_deref().ok_or(TokenError::UntrustedKey)?;
        if let Some(key) = self.trusted.get(kid) {
            return Ok(key.clone());
        }
        self.jwks
            .as_ref()
            .and_then(|j| j.keys.read().ok()?.get(kid).cloned())
            .ok_or(TokenError::UntrustedKey)
    }

    /// The leaf's key if the chain leads to a bundle certificate (or the leaf
    /// is one).
    fn verify_chain(&self, chain: &[Vec<u8>]) -> Result<PublicKey, TokenError> {
        let leaf = &chain[0];
        if !self.bundle.iter().any(|c| c == leaf) {
            let leaf_der = CertificateDer::from(leaf.as_slice());
            let cert =
                webpki::EndEntityCert::try_from(&leaf_der).map_err(|_| TokenError::Malformed)?;
            let intermediates: Vec<CertificateDer<'_>> = chain[1..]
                .iter()
                .map(|c| CertificateDer::from(c.as_slice()))
                .collect();
            cert.verify_for_usage(
                webpki::ALL_VERIFICATION_ALGS,
                &self.anchors,
                &intermediates,
                UnixTime::now(),
                AnyUsage,
                None,
                None,
            )
            .map_err(|_| TokenError::UntrustedKey)?;
        }
        key_of_cert(leaf).map_err(|_| TokenError::UntrustedKey)
    }
}

/// Header, signing input (`header.payload`) and signature bytes.
fn split(token: &str) -> Result<(Header, &str, Vec<u8>), TokenError> {
    let (signing_input, sig) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
    let (header, payload) = signing_input.split_once('.').ok_or(TokenError::Malformed)?;
    if payload.contains('.') {
        return Err(TokenError::Malformed);
    }
    let header: Header = URL_SAFE_NO_PAD
        .decode(header)
        .ok()
        .and_then(|h| serde_json::from_slice(&h).ok())
        .ok_or(TokenError::Malformed)?;
    let sig = URL_SAFE_NO_PAD
        .decode(sig)
        .map_err(|_| TokenError::Malformed)?;
    Ok((header, signing_input, sig))
}

/// The token's `alg`, or None when it is not a JWS at all.
pub fn algorithm(token: &str) -> Option<String> {
    split(token).ok().map(|(h, _, _)| h.alg)
}

async fn fetch_jwks(
    client: &reqwest::Client,
    url: &str,
) -> Result<HashMap<String, PublicKey>, String> {
    let resp = client.get(url).send().await.map_err(|e| e.to_string())?;
    if !resp.status().is_success() {
        return Err(format!("HTTP {}", resp.status()));
    }
    let set: serde_json::Value = resp.json().await.map_err(|e| e.to_string())?;
    let mut keys = HashMap::new();
    for jwk in set
        .get("keys")
        .and_then(|k| k.as_array())
        .ok_or("no \"keys\" array")?
    {
        // Keys of other types (or for encryption) are skipped, not fatal.
        if jwk.get("use").and_then(|u| u.as_str()) == Some("enc") {
            continue;
        }
        let Ok(key) = PublicKey::from_jwk(jwk) else {
            continue;
        };
        if let Some(kid) = jwk.get("kid").and_then(|k| k.as_str()) {
            keys.insert(kid.to_string(), key.clone());
        }
        keys.insert(key.thumbprint(), key);
    }
    Ok(keys)
}

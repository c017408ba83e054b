//! Public keys that sign external tokens (RS256, ES256): read from a
//! certificate's SubjectPublicKeyInfo or from a JWK, named by the key ids
//! token servers put in `kid`, and used to check a JWS signature with ring.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::signature::{self, UnparsedPublicKey};
use sha2::{Digest, Sha256};

/// A signing key a token may name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// PKCS#1 `RSAPublicKey` DER, plus its modulus and exponent (for the
    /// JWK thumbprint).
    Rsa {
        der: Vec<u8>,
        n: Vec<u8>,
        e: Vec<u8>,
    },
    /// An uncompressed P-256 point (0x04 || x || y).
    P256(Vec<u8>),
}

const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

/// One DER element: (tag, contents, rest).
fn der(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n].iter().fold(0usize, |a, &b| (a << 8) | b as usize);
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// A DER INTEGER's magnitude without leading zero bytes.
fn unsigned(int: &[u8]) -> Vec<u8> {
    let start = int.iter().position(|&b| b != 0).unwrap_or(int.len());
    int[start..].to_vec()
}

impl PublicKey {
    /// From a DER SubjectPublicKeyInfo (what a certificate carries).
    pub fn from_spki(spki: &[u8]) -> Result<Self, String> {
        let bad = || "unsupported or malformed public key".to_string();
        let (0x30, body, _) = der(spki).ok_or_else(bad)? else {
            return Err(bad());
        };
        let (0x30, alg, rest) = der(body).ok_or_else(bad)? else {
            return Err(bad());
        };
        let (0x03, bits, _) = der(rest).ok_or_else(bad)? else {
            return Err(bad());
        };
        let key = bits.get(1..).ok_or_else(bad)?; // skip the unused-bits byte
        let (0x06, oid, params) = der(alg).ok_or_else(bad)? else {
            return Err(bad());
        };
        match oid {
            OID_RSA => {
                let (0x30, seq, _) = der(key).ok_or_else(bad)? else {
                    return Err(bad());
                };
                let (0x02, n, rest) = der(seq).ok_or_else(bad)? else {
                    return Err(bad());
                };
                let (0x02, e, _) = der(rest).ok_or_else(bad)? else {
                    return Err(bad());
                };
                Ok(PublicKey::Rsa {
                    der: key.to_vec(),
                    n: unsigned(n),
                    e: unsigned(e),
                })
            }
            OID_EC => match der(params) {
                Some((0x06, OID_P256, _)) if key.len() == 65 && key[0] == 4 => {
                    Ok(PublicKey::P256(key.to_vec()))
                }
                _ => Err("only P-256 EC keys are supported (ES256)".into()),
            },
            _ => Err("only RSA and P-256 keys are supported".into()),
        }
    }

    /// From a JWK (`kty` RSA with `n`/`e`, or EC P-256 with `x`/`y`).
    pub fn from_jwk(jwk: &serde_json::Value) -> Result<Self, String> {
        let field = |name: &str| -> Result<Vec<u8>, String> {
            jwk.get(name)
                .and_then(|v| v.as_str())
                .and_then(|s| URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).ok())
                .ok_or_else(|| format!("JWK without a valid {name:?}"))
        };
        match jwk.get("kty").and_then(|k| k.as_str()) {
            Some("RSA") => {
                let (n, e) = (unsigned(&field("n")?), unsigned(&field("e")?));
                Ok(PublicKey::Rsa {
                    der: rsa_der(&n, &e),
                    n,
                    e,
                })
            }
            Some("EC") if jwk.get("crv").and_then(|c| c.as_str()) == Some("P-256") => {
                let (x, y) = (field("x")?, field("y")?);
                if x.len() != 32 || y.len() != 32 {
                    return Err("P-256 JWK coordinates must be 32 bytes".into());
                }
                Ok(PublicKey::P256([&[4u8][..], &x, &y].concat()))
            }
            _ => Err("JWK is neither RSA nor EC P-256".into()),
        }
    }

    /// The DER SubjectPublicKeyInfo, as libtrust hashes it.
    pub fn spki(&self) -> Vec<u8> {
        let (alg, key) = match self {
            PublicKey::Rsa { der, .. } => (
                [wrap(0x06, OID_RSA), vec![0x05, 0x00]].concat(),
                der.clone(),
            ),
            PublicKey::P256(point) => (
                [wrap(0x06, OID_EC), wrap(0x06, OID_P256)].concat(),
                point.clone(),
            ),
        };
        let bits = wrap(0x03, &[&[0u8][..], &key].concat());
        wrap(0x30, &[wrap(0x30, &alg), bits].concat())
    }

    /// distribution's (libtrust's) key id: SHA-256 of the DER SPKI,
    /// truncated to 240 bits, base32 in twelve colon-separated groups of four.
    pub fn libtrust_kid(&self) -> String {
        let hash = Sha256::digest(self.spki());
        let b32 = base32(&hash[..30]);
        b32.as_bytes()
            .chunks(4)
            .map(|c| std::str::from_utf8(c).unwrap_or_default())
            .collect::<Vec<_>>()
            .join(":")
    }

    /// The RFC 7638 JWK thumbprint (base64url SHA-256), which newer token
    /// servers use as `kid`.
    pub fn thumbprint(&self) -> String {
        let json = match self {
            PublicKey::Rsa { n, e, .. } => format!(
                r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
                URL_SAFE_NO_PAD.encode(e),
                URL_SAFE_NO_PAD.encode(n)
            ),
            PublicKey::P256(p) => format!(
                r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
                URL_SAFE_NO_PAD.encode(&p[1..33]),
                URL_SAFE_NO_PAD.encode(&p[33..])
            ),
        };
        URL_SAFE_NO_PAD.encode(Sha256::digest(json.as_bytes()))
    }

    /// Checks a JWS signature made with `alg` over `message`.
    pub fn verify(&self, alg: &str, message: &[u8], sig: &[u8]) -> bool {
        match (alg, self) {
            ("RS256", PublicKey::Rsa { der, .. }) => {
                UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, der)
                    .verify(message, sig)
                    .is_ok()
            }
            ("ES256", PublicKey::P256(point)) => {
                UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                    .verify(message, sig)
                    .is_ok()
            }
            _ => false,
        }
    }
}

/// A DER element with a definite length.
fn wrap(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = body.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|&b| b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(body);
    out
}

/// PKCS#1 RSAPublicKey for a modulus and exponent.
fn rsa_der(n: &[u8], e: &[u8]) -> Vec<u8> {
    let int = |v: &[u8]| {
        let mut body = Vec::with_capacity(v.len() + 1);
        if v.first().is_some_and(|&b| b & 0x80 != 0) {
            body.push(0);
        }
        body.extend_from_slice(v);
        wrap(0x02, &body)
    };
    wrap(0x30, &[int(n), int(e)].concat())
}

/// RFC 4648 base32 without padding.
fn base32(data: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let (mut buffer, mut bits) = (0u64, 0u32);
    for &byte in data {
        buffer = (buffer << 8) | byte as u64;
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_matches_rfc4648() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32(b"f"), "MY");
    }

    #[test]
    fn rsa_jwk_and_spki_agree() {
        let jwk = serde_json::json!({"kty":"RSA","n":"AQAB","e":"AQAB"});
        let key = PublicKey::from_jwk(&jwk).unwrap();
        assert_eq!(PublicKey::from_spki(&key.spki()).unwrap(), key);
        let kid = key.libtrust_kid();
        assert_eq!(kid.len(), 12 * 4 + 11);
        assert_eq!(kid.split(':').count(), 12);
    }

    #[test]
    fn rfc7638_example_thumbprint() {
        // The RSA example from RFC 7638 section 3.1.
        let jwk = serde_json::json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
        });
        let key = PublicKey::from_jwk(&jwk).unwrap();
        assert_eq!(
            key.thumbprint(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }
}

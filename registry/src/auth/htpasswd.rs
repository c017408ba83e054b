//! htpasswd files with bcrypt entries (`htpasswd -B`), checked in constant
//! time with respect to the password. A successful check is remembered (as a
//! sha256 of the password, compared in constant time) so that clients sending
//! basic auth on every request do not pay bcrypt's cost each time.

use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use subtle::ConstantTimeEq;

pub struct Htpasswd {
    users: HashMap<String, String>,
    verified: Mutex<HashMap<String, [u8; 32]>>,
    /// A real bcrypt hash checked for unknown users, so timing does not tell
    /// whether a user exists.
    decoy: String,
}

#[derive(Debug, thiserror::Error)]
pub enum HtpasswdError {
    #[error("cannot read htpasswd file {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("htpasswd file {path} line {line}: only bcrypt entries are supported (create them with htpasswd -B)")]
    NotBcrypt { path: String, line: usize },
}

impl Htpasswd {
    pub fn load(path: &Path) -> Result<Self, HtpasswdError> {
        let text = std::fs::read_to_string(path).map_err(|source| HtpasswdError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    pub fn parse(text: &str, origin: &str) -> Result<Self, HtpasswdError> {
        let mut users = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((user, hash)) = line.split_once(':') else {
                continue;
            };
            if !hash.starts_with("$2") {
                return Err(HtpasswdError::NotBcrypt {
                    path: origin.to_string(),
                    line: i + 1,
                });
            }
            users.insert(user.to_string(), hash.to_string());
        }
        let decoy = bcrypt::hash("decoy", 10).expect("bcrypt hash");
        Ok(Htpasswd {
            users,
            verified: Mutex::new(HashMap::new()),
            decoy,
        })
    }

    /// Whether `user` has an entry (a refresh token outlives no user).
    pub fn contains(&self, user: &str) -> bool {
        self.users.contains_key(user)
    }

    /// Whether `password` is `user`'s password.
    pub fn verify(&self, user: &str, password: &str) -> bool {
        let fingerprint: [u8; 32] = Sha256::digest(password.as_bytes()).into();
        if let Some(known) = self.verified.lock().unwrap().get(user) {
            if bool::from(known.ct_eq(&fingerprint)) {
                return true;
            }
        }
        let (hash, exists) = match self.users.get(user) {
            Some(h) => (h.as_str(), true),
            None => (self.decoy.as_str(), false),
        };
        let ok = bcrypt::verify(password, hash).unwrap_or(false) && exists;
        if ok {
            self.verified
                .lock()
                .unwrap()
                .insert(user.to_string(), fingerprint);
        }
        ok
    }
}

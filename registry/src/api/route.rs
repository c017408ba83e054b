//! Taking `/v2/<name>/<kind>/<rest>` apart. Names may contain `/`, so each
//! endpoint suffix is tried from the right and accepted only when what
//! follows it is a single path segment.

use super::reply::ApiError;
use crate::auth::{Action, Need};
use crate::digests::{self, Digest};
use crate::error::RegistryError;
use crate::storage::ManifestRef;
use axum::http::{Method, StatusCode};

pub enum Endpoint {
    Base,
    Catalog,
    Tags,
    Manifest(ManifestRef),
    /// A `<reference>` that is neither a tag nor a digest. Reads and deletes
    /// answer 404 MANIFEST_UNKNOWN (nothing can be stored under it, and the
    /// spec's conformance suite expects that); a PUT answers this error.
    BadManifestRef {
        reference: String,
        error: ApiError,
    },
    Blob(Digest),
    UploadStart,
    Upload(String),
    Referrers(Digest),
}

pub struct Route {
    pub name: String,
    pub endpoint: Endpoint,
}

impl Route {
    /// A short label for metrics and logs.
    pub fn label(&self) -> &'static str {
        match self.endpoint {
            Endpoint::Base => "base",
            Endpoint::Catalog => "catalog",
            Endpoint::Tags => "tags",
            Endpoint::Manifest(_) | Endpoint::BadManifestRef { .. } => "manifest",
            Endpoint::Blob(_) => "blob",
            Endpoint::UploadStart | Endpoint::Upload(_) => "upload",
            Endpoint::Referrers(_) => "referrers",
        }
    }

    /// What auth must allow for `method` here; None if the method is not
    /// served at this endpoint.
    pub fn need(&self, method: &Method) -> Option<Need> {
        let repo = |actions: Vec<Action>| Need::Repo {
            name: self.name.clone(),
            actions,
        };
        let read = *method == Method::GET || *method == Method::HEAD;
        let manifest = matches!(
            self.endpoint,
            Endpoint::Manifest(_) | Endpoint::BadManifestRef { .. }
        );
        let blob = matches!(self.endpoint, Endpoint::Blob(_));
        Some(match (&self.endpoint, method) {
            (Endpoint::Base, _) if read => Need::Base,
            (Endpoint::Catalog, _) if read => Need::Catalog,
            (Endpoint::Tags | Endpoint::Referrers(_), _) if read => repo(vec![Action::Pull]),
            (_, _) if read && (manifest || blob) => repo(vec![Action::Pull]),
            (_, &Method::PUT) if manifest => repo(vec![Action::Pull, Action::Push]),
            (_, &Method::DELETE) if manifest || blob => repo(vec![Action::Delete]),
            (Endpoint::UploadStart, &Method::POST) => repo(vec![Action::Pull, Action::Push]),
            (
                Endpoint::Upload(_),
                &Method::GET | &Method::PATCH | &Method::PUT | &Method::DELETE,
            ) => repo(vec![Action::Pull, Action::Push]),
            _ => return None,
        })
    }
}

pub fn parse(path: &str) -> Result<Route, ApiError> {
    let not_found = || ApiError::status(StatusCode::NOT_FOUND, "NOT_FOUND", "no such endpoint");
    let rest = path.strip_prefix("/v2").ok_or_else(not_found)?;
    let rest = percent_decode(rest).ok_or_else(not_found)?;
    let rest = rest.strip_prefix('/').unwrap_or(&rest);
    if rest.is_empty() {
        return Ok(Route {
            name: String::new(),
            endpoint: Endpoint::Base,
        });
    }
    if rest == "_catalog" {
        return Ok(Route {
            name: String::new(),
            endpoint: Endpoint::Catalog,
        });
    }
    let (name, endpoint) = split_endpoint(rest).ok_or_else(not_found)?;
    if let Err(e) = crate::names::validate_repository_name(name) {
        return Err(RegistryError::NameInvalid(format!("{name:?}: {e}")).into());
    }
    let endpoint = match endpoint {
        Raw::Tags => Endpoint::Tags,
        Raw::Manifest(r) => match ManifestRef::parse(r) {
            Ok(reference) => Endpoint::Manifest(reference),
            Err(error) => Endpoint::BadManifestRef {
                reference: r.to_string(),
                error: error.into(),
            },
        },
        Raw::Blob(d) => Endpoint::Blob(digests::parse(d)?),
        Raw::UploadStart => Endpoint::UploadStart,
        Raw::Upload(id) => Endpoint::Upload(id.to_string()),
        Raw::Referrers(d) => Endpoint::Referrers(digests::parse(d)?),
    };
    Ok(Route {
        name: name.to_string(),
        endpoint,
    })
}

enum Raw<'a> {
    Tags,
    Manifest(&'a str),
    Blob(&'a str),
    UploadStart,
    Upload(&'a str),
    Referrers(&'a str),
}

fn split_endpoint(rest: &str) -> Option<(&str, Raw<'_>)> {
    if let Some(name) = rest.strip_suffix("/tags/list") {
        return Some((name, Raw::Tags));
    }
    let rest = rest.strip_suffix('/').map_or(rest, |r| {
        // `/blobs/uploads/` (with the slash) starts an upload.
        if r.ends_with("/blobs/uploads") {
            r
        } else {
            rest
        }
    });
    if let Some(name) = rest.strip_suffix("/blobs/uploads") {
        return Some((name, Raw::UploadStart));
    }
    let single = |s: &str| !s.is_empty() && !s.contains('/');
    if let Some((name, id)) = rest.rsplit_once("/blobs/uploads/") {
        if single(id) {
            return Some((name, Raw::Upload(id)));
        }
    }
    if let Some((name, r)) = rest.rsplit_once("/manifests/") {
        if single(r) {
            return Some((name, Raw::Manifest(r)));
        }
    }
    if let Some((name, d)) = rest.rsplit_once("/blobs/") {
        if single(d) {
            return Some((name, Raw::Blob(d)));
        }
    }
    if let Some((name, d)) = rest.rsplit_once("/referrers/") {
        if single(d) {
            return Some((name, Raw::Referrers(d)));
        }
    }
    None
}

/// Decodes `%XX` escapes (clients may send `sha256%3A...`).
pub fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// A query string as decoded (key, value) pairs, in order.
#[derive(Default)]
pub struct Query(Vec<(String, String)>);

impl Query {
    pub fn parse(q: Option<&str>) -> Self {
        let pairs = q
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                let dec = |s: &str| percent_decode(&s.replace('+', " ")).unwrap_or_default();
                (dec(k), dec(v))
            })
            .collect();
        Query(pairs)
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

//! distribution's event envelope (notifications/event.go), field for field,
//! so receivers written for distribution read hoist's events unchanged.

use serde::Serialize;

/// The envelope's media type, sent as Content-Type.
pub const ENVELOPE_MEDIA_TYPE: &str = "application/vnd.docker.distribution.events.v1+json";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Push,
    Pull,
    Delete,
    /// A cross-repository blob mount (`target.fromRepository` names the source).
    Mount,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Push => "push",
            Action::Pull => "pull",
            Action::Delete => "delete",
            Action::Mount => "mount",
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Envelope<'a> {
    pub events: [&'a Event; 1],
}

#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub id: String,
    pub timestamp: String,
    pub action: Action,
    pub target: Target,
    pub request: RequestInfo,
    pub actor: Actor,
    pub source: Source,
}

/// What the event is about; `omitempty` as in distribution.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Target {
    #[serde(rename = "mediaType", skip_serializing_if = "String::is_empty")]
    pub media_type: String,
    #[serde(skip_serializing_if = "is_zero")]
    pub size: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub digest: String,
    #[serde(skip_serializing_if = "is_zero")]
    pub length: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub repository: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub url: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub tag: String,
    #[serde(rename = "fromRepository", skip_serializing_if = "String::is_empty")]
    pub from_repository: String,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The request that caused the event.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RequestInfo {
    pub id: String,
    pub addr: String,
    pub host: String,
    pub method: String,
    pub useragent: String,
}

impl RequestInfo {
    /// From the request's headers. The peer address comes from
    /// X-Forwarded-For / X-Real-IP when a proxy set them (the server does
    /// not keep the socket's address per request).
    pub fn from_headers(method: &str, headers: &axum::http::HeaderMap) -> Self {
        let get = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        let forwarded = get("x-forwarded-for");
        let addr = match forwarded.split(',').next().map(str::trim) {
            Some(a) if !a.is_empty() => a.to_string(),
            _ => get("x-real-ip"),
        };
        RequestInfo {
            id: new_id(),
            addr,
            host: get("host"),
            method: method.to_string(),
            useragent: get("user-agent"),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Actor {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
}

/// The registry instance that sent the event.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Source {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub addr: String,
    #[serde(rename = "instanceID", skip_serializing_if = "String::is_empty")]
    pub instance_id: String,
}

/// A random UUID (version 4), the form distribution's ids take.
pub fn new_id() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

//! Building responses: the spec's JSON error bodies and the headers every
//! registry response carries.

use crate::error::RegistryError;
use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// An error answer: status, spec code, message.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// Extra headers (e.g. `Range` on a 416 for an upload).
    headers: Vec<(header::HeaderName, String)>,
    storage_fault: bool,
}

impl ApiError {
    pub fn status(status: StatusCode, code: &'static str, message: &str) -> Self {
        ApiError {
            status,
            code,
            message: message.to_string(),
            headers: Vec::new(),
            storage_fault: false,
        }
    }

    pub fn with_header(mut self, name: header::HeaderName, value: String) -> Self {
        self.headers.push((name, value));
        self
    }

    pub fn is_storage_fault(&self) -> bool {
        self.storage_fault
    }
}

impl From<RegistryError> for ApiError {
    fn from(e: RegistryError) -> Self {
        let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let storage_fault = status.is_server_error();
        if storage_fault {
            tracing::error!(error = %e, "storage failure");
        }
        ApiError {
            status,
            code: e.code(),
            message: e.to_string(),
            headers: Vec::new(),
            storage_fault,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "errors": [{ "code": self.code, "message": self.message, "detail": null }]
        })
        .to_string();
        let mut r = Response::builder()
            .status(self.status)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::CONTENT_LENGTH, body.len())
            .body(Body::from(body))
            .expect("valid response");
        for (name, value) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&value) {
                r.headers_mut().insert(name, v);
            }
        }
        r
    }
}

pub type ApiResult = Result<Response, ApiError>;

/// A response with no body.
pub fn empty(status: StatusCode) -> Response {
    Response::builder()
        .status(status)
        .header(header::CONTENT_LENGTH, 0)
        .body(Body::empty())
        .expect("valid response")
}

/// A JSON body with its content type.
pub fn json(status: StatusCode, content_type: &str, value: &serde_json::Value) -> Response {
    let body = value.to_string();
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CONTENT_LENGTH, body.len())
        .body(Body::from(body))
        .expect("valid response")
}

/// Sets a header from anything displayable.
pub fn set(r: &mut Response, name: &'static str, value: impl std::fmt::Display) {
    if let Ok(v) = HeaderValue::from_str(&value.to_string()) {
        r.headers_mut().insert(name, v);
    }
}

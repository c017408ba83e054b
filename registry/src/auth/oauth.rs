//! Docker's OAuth2 flavour of the token endpoint (`POST /token`, form
//! encoded): the `password` grant (what `docker login` sends, with
//! `access_type=offline` to get a refresh token) and the `refresh_token`
//! grant (what it sends later instead of the password).
//!
//! Refresh tokens are this server's own HS256 tokens with the audience
//! `<service>/refresh` and no access, so one can never be used as an access
//! token, nor an access token as a refresh token.

use super::token::TokenError;
use super::{Auth, IssuedToken};

/// How long a refresh token lasts.
const REFRESH_TTL_SECONDS: u64 = 7 * 24 * 3600;

/// The form fields the grants use.
#[derive(Debug, Default)]
pub struct OAuthRequest {
    pub grant_type: String,
    pub username: String,
    pub password: String,
    pub refresh_token: String,
    /// Space-separated scopes, possibly in several `scope` fields.
    pub scopes: Vec<String>,
    pub service: String,
    pub access_type: String,
}

impl OAuthRequest {
    /// Parses an `application/x-www-form-urlencoded` body.
    pub fn parse(body: &[u8]) -> Self {
        let mut req = OAuthRequest::default();
        for (k, v) in url::form_urlencoded::parse(body) {
            let v = v.into_owned();
            match &*k {
                "grant_type" => req.grant_type = v,
                "username" => req.username = v,
                "password" => req.password = v,
                "refresh_token" => req.refresh_token = v,
                "scope" => req.scopes.push(v),
                "service" => req.service = v,
                "access_type" => req.access_type = v,
                _ => {}
            }
        }
        req
    }
}

/// An OAuth2 error answer (RFC 6749 section 5.2).
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    #[error("{0}")]
    InvalidRequest(String),
    /// Wrong password, or a bad/expired refresh token.
    #[error("{0}")]
    InvalidGrant(String),
    #[error("grant_type {0:?} is not supported (password or refresh_token)")]
    UnsupportedGrantType(String),
    #[error("this registry does not issue tokens: get them from auth.token.realm")]
    NotIssuing,
}

impl OAuthError {
    /// The `error` field.
    pub fn code(&self) -> &'static str {
        match self {
            OAuthError::InvalidRequest(_) => "invalid_request",
            OAuthError::InvalidGrant(_) => "invalid_grant",
            OAuthError::UnsupportedGrantType(_) => "unsupported_grant_type",
            OAuthError::NotIssuing => "unsupported_grant_type",
        }
    }
    /// 401 for bad credentials (as docker_auth answers, so `docker login`
    /// says "unauthorized"), 400 for the rest, 404 when there is no issuer.
    pub fn status(&self) -> u16 {
        match self {
            OAuthError::InvalidGrant(_) => 401,
            OAuthError::NotIssuing => 404,
            _ => 400,
        }
    }
}

/// A successful answer.
pub struct OAuthToken {
    pub access: IssuedToken,
    pub refresh_token: Option<String>,
    pub scope: String,
}

impl Auth {
    /// Answers `POST /token`.
    pub fn oauth(&self, req: &OAuthRequest) -> Result<OAuthToken, OAuthError> {
        if !self.issues_tokens() {
            return Err(OAuthError::NotIssuing);
        }
        if !req.service.is_empty() && req.service != self.config.service {
            return Err(OAuthError::InvalidRequest(format!(
                "service {:?} is not {:?}",
                req.service, self.config.service
            )));
        }
        let refresh_aud = format!("{}/refresh", self.config.service);
        let (user, refresh_token) = match req.grant_type.as_str() {
            "password" => {
                if req.username.is_empty() {
                    return Err(OAuthError::InvalidRequest("username is missing".into()));
                }
                let users = self.users.as_ref().ok_or(OAuthError::NotIssuing)?;
                if !users.verify(&req.username, &req.password) {
                    return Err(OAuthError::InvalidGrant(
                        "invalid username or password".into(),
                    ));
                }
                let (refresh, _) =
                    self.signer
                        .issue(&req.username, &refresh_aud, vec![], REFRESH_TTL_SECONDS);
                // docker asks for one with access_type=offline; giving one
                // regardless is what distribution's token servers do.
                (req.username.clone(), Some(refresh))
            }
            "refresh_token" => {
                let claims = self
                    .signer
                    .verify(&req.refresh_token, &refresh_aud)
                    .map_err(|e| match e {
                        TokenError::Expired => {
                            OAuthError::InvalidGrant("refresh token has expired".into())
                        }
                        _ => OAuthError::InvalidGrant("invalid refresh token".into()),
                    })?;
                let user = claims.sub;
                let exists = self.users.as_ref().is_some_and(|u| u.contains(&user));
                if !exists {
                    return Err(OAuthError::InvalidGrant(format!(
                        "user {user:?} no longer exists"
                    )));
                }
                (user, None)
            }
            "" => return Err(OAuthError::InvalidRequest("grant_type is missing".into())),
            other => return Err(OAuthError::UnsupportedGrantType(other.to_string())),
        };
        let access = self.grant(Some(&user), &req.scopes);
        Ok(OAuthToken {
            access,
            refresh_token,
            scope: req.scopes.join(" "),
        })
    }
}

//! Who may do what: no auth, htpasswd basic auth, or bearer tokens (docker's
//! token flow) from this server's own token endpoint, decided against one
//! access policy, or from an external token server (`[auth.token]`), whose
//! `access` claim alone decides.

pub mod external;
mod htpasswd;
mod keys;
pub mod oauth;
pub mod policy;
pub mod token;

pub use htpasswd::{Htpasswd, HtpasswdError};
pub use policy::{Action, Policy};

use crate::config::{AuthConfig, AuthMode};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use token::{Claims, Grant, Signer, TokenError};

/// What a request needs.
#[derive(Debug, Clone)]
pub enum Need {
    /// `/v2/` itself: any valid credentials.
    Base,
    /// `/v2/_catalog`.
    Catalog,
    Repo {
        name: String,
        actions: Vec<Action>,
    },
}

/// Who made a request, as far as auth could tell.
#[derive(Debug, Clone, Default)]
pub struct Identity {
    pub user: Option<String>,
    claims: Option<Claims>,
    /// The claims come from the external token server.
    external: bool,
}

/// Why a request was refused.
#[derive(Debug)]
pub enum Denial {
    /// 401 with this `WWW-Authenticate` value: credentials missing, wrong,
    /// or not covering the scope (the client should get better ones).
    Challenge { header: String, message: String },
    /// 403: these credentials can never do this.
    Denied(String),
}

#[derive(Debug, thiserror::Error)]
pub enum AuthSetupError {
    #[error(transparent)]
    Htpasswd(#[from] HtpasswdError),
    #[error("cannot read token secret {path}: {source}")]
    Secret {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    External(#[from] external::ExternalSetupError),
}

pub struct Auth {
    mode: AuthMode,
    config: AuthConfig,
    users: Option<Htpasswd>,
    policy: Policy,
    signer: Signer,
    /// `[auth.token]`: RS256/ES256 tokens from another server.
    external: Option<external::External>,
}

/// A token endpoint answer.
pub struct IssuedToken {
    pub token: String,
    pub expires_in: u64,
    pub issued_at: u64,
}

impl Auth {
    pub fn new(config: &AuthConfig) -> Result<Self, AuthSetupError> {
        let users = match (&config.mode, &config.htpasswd) {
            (AuthMode::None, _) | (_, None) => None,
            (_, Some(path)) => Some(Htpasswd::load(path)?),
        };
        let key = match &config.token_secret_file {
            Some(path) => std::fs::read(path).map_err(|source| AuthSetupError::Secret {
                path: path.display().to_string(),
                source,
            })?,
            None => rand::random::<[u8; 32]>().to_vec(),
        };
        let service = config
            .token
            .as_ref()
            .and_then(|t| t.service.clone())
            .unwrap_or_else(|| config.service.clone());
        let external = match &config.token {
            Some(t) if config.mode == AuthMode::Token => {
                Some(external::External::new(t, &service)?)
            }
            _ => None,
        };
        let mut config = config.clone();
        config.service = service;
        Ok(Auth {
            mode: config.mode,
            users,
            policy: Policy::new(config.clone()),
            signer: Signer::new(key, &config.service),
            config,
            external,
        })
    }

    /// Async work a request's credentials may need before `check`: a JWKS
    /// fetch when its token names a key not seen yet.
    pub async fn prepare(&self, authorization: Option<&str>) {
        if let (Some(ext), Some(token)) = (
            &self.external,
            authorization.and_then(|a| a.strip_prefix("Bearer ")),
        ) {
            ext.refresh_for(token.trim()).await;
        }
    }

    /// Whether this server's own `/token` endpoint issues tokens: it needs
    /// the htpasswd users to check passwords against.
    pub fn issues_tokens(&self) -> bool {
        self.mode == AuthMode::Token && self.users.is_some()
    }

    /// Verifies a bearer token: HS256 ones are this server's own, RS256 and
    /// ES256 ones come from the external token server.
    fn verify_token(&self, token: &str) -> Result<(Claims, bool), TokenError> {
        match (external::algorithm(token).as_deref(), &self.external) {
            (Some("HS256"), _) if self.issues_tokens() => self
                .signer
                .verify(token, &self.config.service)
                .map(|c| (c, false)),
            (Some("RS256" | "ES256"), Some(ext)) => ext.verify(token).map(|c| (c, true)),
            (Some(alg), _) => Err(TokenError::Algorithm(alg.to_string())),
            (None, _) => Err(TokenError::Malformed),
        }
    }

    pub fn mode(&self) -> AuthMode {
        self.mode
    }

    /// Decides a request. `authorization` is its Authorization header;
    /// `realm` is the token endpoint URL to advertise.
    pub fn check(
        &self,
        authorization: Option<&str>,
        realm: &str,
        need: &Need,
    ) -> Result<Identity, Denial> {
        match self.mode {
            AuthMode::None => Ok(Identity::default()),
            AuthMode::Htpasswd => self.check_basic(authorization, need),
            AuthMode::Token => self.check_bearer(authorization, realm, need),
        }
    }

    /// Whether `identity` may take `action` on `repo` (mount sources, catalog
    /// filtering).
    pub fn can(&self, identity: &Identity, repo: &str, action: Action) -> bool {
        match self.mode {
            AuthMode::None => true,
            AuthMode::Htpasswd => self
                .policy
                .allowed(identity.user.as_deref(), repo)
                .contains(&action),
            AuthMode::Token => {
                identity
                    .claims
                    .as_ref()
                    .is_some_and(|c| c.allows(repo, action))
                    || (action == Action::Pull && self.config.anonymous_pull)
            }
        }
    }

    /// Whether `identity` may see `repo` in the catalog (those it may pull).
    /// With an external token server, whose policy is unknown here, a token
    /// granting `registry:catalog:*` lists everything, as distribution does.
    pub fn can_list(&self, identity: &Identity, repo: &str) -> bool {
        let external_catalog =
            identity.external && identity.claims.as_ref().is_some_and(|c| c.allows_catalog());
        self.mode == AuthMode::None
            || external_catalog
            || self
                .policy
                .allowed(identity.user.as_deref(), repo)
                .contains(&Action::Pull)
    }

    fn basic_challenge(&self, message: &str) -> Denial {
        Denial::Challenge {
            header: format!("Basic realm=\"{}\"", self.config.service),
            message: message.to_string(),
        }
    }

    /// Parses `Basic <b64>` and checks it against htpasswd.
    fn basic_user(&self, authorization: Option<&str>) -> Result<Option<String>, String> {
        let Some(value) = authorization.and_then(|a| a.strip_prefix("Basic ")) else {
            return Ok(None);
        };
        let decoded = STANDARD
            .decode(value.trim())
            .ok()
            .and_then(|d| String::from_utf8(d).ok())
            .ok_or("malformed basic credentials")?;
        let (user, pass) = decoded
            .split_once(':')
            .ok_or("malformed basic credentials")?;
        match &self.users {
            Some(users) if users.verify(user, pass) => Ok(Some(user.to_string())),
            _ => Err("invalid username or password".to_string()),
        }
    }

    fn check_basic(&self, authorization: Option<&str>, need: &Need) -> Result<Identity, Denial> {
        let user = self
            .basic_user(authorization)
            .map_err(|m| self.basic_challenge(&m))?;
        let identity = Identity {
            user: user.clone(),
            claims: None,
            external: false,
        };
        match need {
            Need::Base | Need::Catalog if user.is_some() => Ok(identity),
            Need::Base | Need::Catalog => Err(self.basic_challenge("authentication required")),
            Need::Repo { name, actions } => {
                let allowed = self.policy.allowed(user.as_deref(), name);
                if actions.iter().all(|a| allowed.contains(a)) {
                    Ok(identity)
                } else if user.is_none() {
                    Err(self.basic_challenge("authentication required"))
                } else {
                    Err(Denial::Denied(format!(
                        "{} may not {} {name}",
                        user.unwrap_or_default(),
                        join_actions(actions)
                    )))
                }
            }
        }
    }

    fn bearer_challenge(
        &self,
        realm: &str,
        need: &Need,
        error: Option<&str>,
        message: &str,
    ) -> Denial {
        let mut header = format!(
            "Bearer realm=\"{}\",service=\"{}\"",
            self.config
                .token
                .as_ref()
                .map(|t| t.realm.as_str())
                .or(self.config.realm.as_deref())
                .unwrap_or(realm),
            self.config.service
        );
        match need {
            Need::Base => {}
            Need::Catalog => header.push_str(",scope=\"registry:catalog:*\""),
            Need::Repo { name, actions } => header.push_str(&format!(
                ",scope=\"repository:{name}:{}\"",
                join_actions(actions)
            )),
        }
        if let Some(e) = error {
            header.push_str(&format!(",error=\"{e}\""));
        }
        Denial::Challenge {
            header,
            message: message.to_string(),
        }
    }

    fn check_bearer(
        &self,
        authorization: Option<&str>,
        realm: &str,
        need: &Need,
    ) -> Result<Identity, Denial> {
        let anonymous_ok = self.config.anonymous_pull
            && matches!(need, Need::Repo { actions, .. } if actions.iter().all(|a| *a == Action::Pull));
        let token = match authorization.and_then(|a| a.strip_prefix("Bearer ")) {
            Some(t) => t.trim(),
            None if anonymous_ok => return Ok(Identity::default()),
            None => {
                return Err(self.bearer_challenge(realm, need, None, "authentication required"))
            }
        };
        let (claims, external) = self.verify_token(token).map_err(|e| {
            self.bearer_challenge(realm, need, Some("invalid_token"), &e.to_string())
        })?;
        let identity = Identity {
            user: claims.user().map(String::from),
            claims: Some(claims.clone()),
            external,
        };
        let granted = match need {
            Need::Base => true,
            Need::Catalog => claims.allows_catalog(),
            Need::Repo { name, actions } => actions.iter().all(|a| claims.allows(name, *a)),
        };
        if granted || anonymous_ok {
            return Ok(identity);
        }
        // Would a fresh token get the scope? Then ask for one; else refuse.
        // An external server's policy is unknown here, so as distribution
        // does, always ask (401 insufficient_scope).
        let could = external
            || match need {
                Need::Base => true,
                Need::Catalog => identity.user.is_some(),
                Need::Repo { name, actions } => {
                    let allowed = self.policy.allowed(identity.user.as_deref(), name);
                    actions.iter().all(|a| allowed.contains(a))
                }
            };
        if could {
            Err(self.bearer_challenge(
                realm,
                need,
                Some("insufficient_scope"),
                "token does not cover this scope",
            ))
        } else {
            Err(Denial::Denied(format!(
                "{} may not do this",
                identity.user.as_deref().unwrap_or("anonymous")
            )))
        }
    }

    /// The token endpoint: checks optional basic credentials and grants the
    /// requested scopes intersected with the policy.
    pub fn issue(
        &self,
        authorization: Option<&str>,
        scopes: &[String],
    ) -> Result<IssuedToken, Denial> {
        if !self.issues_tokens() {
            return Err(Denial::Denied(
                "this registry does not issue tokens: get them from auth.token.realm".into(),
            ));
        }
        let user = self
            .basic_user(authorization)
            .map_err(|m| self.basic_challenge(&m))?;
        Ok(self.grant(user.as_deref(), scopes))
    }

    /// A signed token for `user` with the requested scopes intersected with
    /// the policy.
    fn grant(&self, user: Option<&str>, scopes: &[String]) -> IssuedToken {
        let mut access: Vec<Grant> = Vec::new();
        for scope in scopes.iter().flat_map(|s| s.split(' ')) {
            let mut parts = scope.splitn(3, ':');
            let (Some(kind), Some(rest)) = (parts.next(), parts.next()) else {
                continue;
            };
            // Repository names never contain ':', but a "name:port" style
            // name would; the actions are always after the last ':'.
            let actions_str = parts.next().unwrap_or("");
            let name = rest;
            match kind {
                "repository" => {
                    if crate::names::validate_repository_name(name).is_err() {
                        continue;
                    }
                    let allowed = self.policy.allowed(user, name);
                    let mut granted: Vec<String> = Vec::new();
                    for a in actions_str.split(',') {
                        let wanted: Vec<Action> = if a == "*" {
                            Action::ALL.to_vec()
                        } else {
                            Action::parse(a).into_iter().collect()
                        };
                        for w in wanted {
                            if allowed.contains(&w) && !granted.iter().any(|g| g == w.as_str()) {
                                granted.push(w.as_str().to_string());
                            }
                        }
                    }
                    if !granted.is_empty() {
                        access.push(Grant {
                            kind: "repository".into(),
                            name: name.to_string(),
                            actions: granted,
                        });
                    }
                }
                "registry" if name == "catalog" && user.is_some() => access.push(Grant {
                    kind: "registry".into(),
                    name: "catalog".into(),
                    actions: vec!["*".into()],
                }),
                _ => {}
            }
        }
        let ttl = self.config.token_ttl_seconds;
        let (token, claims) =
            self.signer
                .issue(user.unwrap_or(""), &self.config.service, access, ttl);
        IssuedToken {
            token,
            expires_in: ttl,
            issued_at: claims.iat,
        }
    }
}

fn join_actions(actions: &[Action]) -> String {
    actions
        .iter()
        .map(|a| a.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

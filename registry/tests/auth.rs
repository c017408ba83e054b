//! Auth over HTTP: htpasswd basic auth, the bearer token flow, the access
//! policy, and attacks on tokens.

mod common;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use common::*;
use hoist_registry::config::{AccessRule, AuthMode};
use reqwest::StatusCode;
use serde_json::Value;
use std::time::Duration;

fn rule(subjects: &[&str], repos: &[&str], actions: &[&str]) -> AccessRule {
    let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect();
    AccessRule {
        subjects: v(subjects),
        repositories: v(repos),
        actions: v(actions),
    }
}

/// A registry with users alice (push+pull on team/**, delete too), bob
/// (pull only) and the given mode.
async fn secured(mode: AuthMode, ttl: u64) -> Reg {
    let root = hoist_testkit::TempRoot::new();
    let htpasswd = root.join("htpasswd");
    let entries = format!(
        "alice:{}\nbob:{}\n",
        bcrypt::hash("alice-pw", 4).unwrap(),
        bcrypt::hash("bob-pw", 4).unwrap()
    );
    std::fs::write(&htpasswd, entries).unwrap();
    let reg = Reg::start_with(|c| {
        c.auth.mode = mode;
        c.auth.htpasswd = Some(htpasswd.clone());
        c.auth.token_ttl_seconds = ttl;
        c.auth.groups.insert("devs".into(), vec!["alice".into()]);
        c.auth.access = vec![
            rule(&["group:devs"], &["team/**"], &["pull", "push", "delete"]),
            rule(&["bob"], &["team/**"], &["pull"]),
        ];
    })
    .await;
    std::mem::forget(root); // the htpasswd file must outlive the server
    reg
}

fn basic(user: &str, pw: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{pw}")))
}

async fn token(reg: &Reg, user: Option<(&str, &str)>, scope: &str) -> (StatusCode, String) {
    let mut req = reg
        .http
        .get(reg.u(&format!("/token?service=hoist-registry&scope={scope}")));
    if let Some((u, p)) = user {
        req = req.header("authorization", basic(u, p));
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    let v: Value = r.json().await.unwrap_or_default();
    (status, v["token"].as_str().unwrap_or("").to_string())
}

async fn post_blob(reg: &Reg, repo: &str, auth: Option<String>) -> reqwest::Response {
    let data = b"auth test blob".to_vec();
    let mut req = reg
        .http
        .post(reg.u(&format!(
            "/v2/{repo}/blobs/uploads/?digest={}",
            sha256(&data)
        )))
        .body(data);
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn htpasswd_basic_auth_and_policy() {
    let reg = secured(AuthMode::Htpasswd, 300).await;
    let r = reg.get("/v2/").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Basic realm="));
    assert_eq!(error_code(r).await, "UNAUTHORIZED");
    let r = post_blob(&reg, "team/app", Some(basic("alice", "wrong"))).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = post_blob(&reg, "team/app", Some(basic("nobody", "x"))).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = post_blob(&reg, "team/app", Some(basic("alice", "alice-pw"))).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    // bob may pull but not push; alice may not push outside team/.
    let r = post_blob(&reg, "team/app", Some(basic("bob", "bob-pw"))).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(r).await, "DENIED");
    let r = post_blob(&reg, "elsewhere", Some(basic("alice", "alice-pw"))).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let digest = sha256(b"auth test blob");
    let r = reg
        .http
        .get(reg.u(&format!("/v2/team/app/blobs/{digest}")))
        .header("authorization", basic("bob", "bob-pw"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn token_flow_grants_only_what_policy_allows() {
    let reg = secured(AuthMode::Token, 300).await;
    let r = post_blob(&reg, "team/app", None).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let challenge = r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        challenge.starts_with(&format!(
            "Bearer realm=\"{}/token\",service=\"hoist-registry\"",
            reg.url
        )),
        "{challenge}"
    );
    assert!(
        challenge.contains("scope=\"repository:team/app:pull,push\""),
        "{challenge}"
    );

    let (status, t) = token(
        &reg,
        Some(("alice", "alice-pw")),
        "repository:team/app:pull,push",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let r = post_blob(&reg, "team/app", Some(format!("Bearer {t}"))).await;
    assert_eq!(r.status(), StatusCode::CREATED);

    // Bad password: no token at all.
    let (status, _) = token(&reg, Some(("alice", "nope")), "repository:team/app:pull").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // A pull-only user asks for push: the token holds pull only, push is denied.
    let (_, t) = token(
        &reg,
        Some(("bob", "bob-pw")),
        "repository:team/app:pull,push",
    )
    .await;
    let claims: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(t.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["access"][0]["actions"], serde_json::json!(["pull"]));
    let r = post_blob(&reg, "team/app", Some(format!("Bearer {t}"))).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(r).await, "DENIED");
    let digest = sha256(b"auth test blob");
    let r = reg
        .http
        .get(reg.u(&format!("/v2/team/app/blobs/{digest}")))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // Anonymous: a token with nothing in it.
    let (status, t) = token(&reg, None, "repository:team/app:pull").await;
    assert_eq!(status, StatusCode::OK);
    let r = reg
        .http
        .get(reg.u(&format!("/v2/team/app/blobs/{digest}")))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn token_for_one_repository_does_not_open_another() {
    let reg = secured(AuthMode::Token, 300).await;
    let (_, t) = token(
        &reg,
        Some(("alice", "alice-pw")),
        "repository:team/a:pull,push",
    )
    .await;
    assert_eq!(
        post_blob(&reg, "team/a", Some(format!("Bearer {t}")))
            .await
            .status(),
        StatusCode::CREATED
    );
    let r = post_blob(&reg, "team/b", Some(format!("Bearer {t}"))).await;
    // alice could get a token for team/b, so she is asked to get one.
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let challenge = r.headers()["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert!(
        challenge.contains("repository:team/b:pull,push"),
        "{challenge}"
    );
    // Mounting from a repository the token does not cover is an ordinary upload.
    let digest = sha256(b"auth test blob");
    let (_, tb) = token(
        &reg,
        Some(("alice", "alice-pw")),
        "repository:team/b:pull,push",
    )
    .await;
    let r = reg
        .http
        .post(reg.u(&format!(
            "/v2/team/b/blobs/uploads/?mount={digest}&from=team/a"
        )))
        .bearer_auth(&tb)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert_eq!(
        reg.http
            .head(reg.u(&format!("/v2/team/b/blobs/{digest}")))
            .bearer_auth(&tb)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn expired_and_tampered_tokens_are_refused() {
    let reg = secured(AuthMode::Token, 1).await;
    let (_, t) = token(
        &reg,
        Some(("alice", "alice-pw")),
        "repository:team/a:pull,push",
    )
    .await;
    // Tampered: widen the scope in the payload, keep the signature.
    let parts: Vec<&str> = t.split('.').collect();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    claims["access"][0]["name"] = "team/other".into();
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        parts[2]
    );
    let r = post_blob(&reg, "team/other", Some(format!("Bearer {forged}"))).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("invalid_token"));
    // "alg": "none" with no signature.
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
        parts[1]
    );
    assert_eq!(
        post_blob(&reg, "team/a", Some(format!("Bearer {none}")))
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    // Expired: wait out the 1-second lifetime.
    hoist_testkit::wait_until(
        "the token to expire",
        std::time::Duration::from_secs(5),
        || {
            claims["exp"].as_u64().unwrap()
                < std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs()
        },
    );
    let r = post_blob(&reg, "team/a", Some(format!("Bearer {t}"))).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(r).await, "UNAUTHORIZED");
    assert!(reg.files_containing("/blobs/").is_empty());
}

#[tokio::test]
async fn anonymous_pull_when_enabled() {
    let root = hoist_testkit::TempRoot::new();
    let htpasswd = root.join("htpasswd");
    std::fs::write(
        &htpasswd,
        format!("alice:{}\n", bcrypt::hash("pw", 4).unwrap()),
    )
    .unwrap();
    let reg = Reg::start_with(|c| {
        c.auth.mode = AuthMode::Token;
        c.auth.htpasswd = Some(htpasswd.clone());
        c.auth.anonymous_pull = true;
    })
    .await;
    let (_, t) = token(&reg, Some(("alice", "pw")), "repository:pub:pull,push").await;
    assert_eq!(
        post_blob(&reg, "pub", Some(format!("Bearer {t}")))
            .await
            .status(),
        StatusCode::CREATED
    );
    let digest = sha256(b"auth test blob");
    assert_eq!(
        reg.get(&format!("/v2/pub/blobs/{digest}")).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        post_blob(&reg, "pub", None).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

/// Starts an upload in team/app with `auth`; returns its path.
async fn upload_path(reg: &Reg, auth: &str) -> String {
    let r = reg
        .http
        .post(reg.u("/v2/team/app/blobs/uploads/"))
        .header("authorization", auth)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    r.headers()["location"].to_str().unwrap().to_string()
}

fn patch_head(path: &str, len: usize, auth: Option<&str>, extra: &str) -> String {
    let auth = auth
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    format!(
        "PATCH {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n\
         Content-Length: {len}\r\n{auth}{extra}\r\n"
    )
}

/// What Go's HTTP client (and so most CI tools) does: PATCH a chunk without
/// credentials, read the 401, retry with credentials on the same connection.
/// The body is under the drain limit, so the server reads and discards it
/// and the connection stays usable; before, the 401 came back before the
/// body was read, without `Connection: close`, and the connection then
/// closed under the retry (EOF).
async fn retry_on_the_same_connection(reg: &Reg, auth: &str) {
    let path = upload_path(reg, auth).await;
    let body = random_bytes(64 * 1024);
    let mut conn = RawConn::connect(reg).await;
    conn.send(patch_head(&path, body.len(), None, "").as_bytes())
        .await
        .unwrap();
    // A client streams the body while already reading the response: give
    // the server the chance to answer before the body arrives.
    conn.answered_within(Duration::from_millis(500)).await;
    conn.send(&body).await.expect("sending the body");
    let r = conn.response().await.expect("a complete 401");
    assert_eq!(r.status, 401, "{r:?}");
    assert!(r.header("www-authenticate").is_some(), "{r:?}");
    assert!(
        !r.closes(),
        "a small body is drained, not a reason to close"
    );

    conn.send(patch_head(&path, body.len(), Some(auth), "").as_bytes())
        .await
        .expect("the connection still takes a request");
    conn.send(&body).await.unwrap();
    let r = conn
        .response()
        .await
        .expect("the retry on the same connection is answered");
    assert_eq!(r.status, 202, "{r:?}");
    assert_eq!(
        r.header("range"),
        Some(format!("0-{}", body.len() - 1).as_str())
    );

    // An early 404 (unknown session, credentials fine) drains the same way.
    let missing = format!("/v2/team/app/blobs/uploads/{}", "0".repeat(32));
    conn.send(patch_head(&missing, body.len(), Some(auth), "").as_bytes())
        .await
        .unwrap();
    conn.answered_within(Duration::from_millis(200)).await;
    conn.send(&body).await.unwrap();
    let r = conn.response().await.expect("a complete 404");
    assert_eq!(r.status, 404, "{r:?}");
    assert!(!r.closes());
    conn.send(
        format!("GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let r = conn.response().await.expect("the next request is answered");
    assert_eq!(r.status, 204, "{r:?}");
}

#[tokio::test]
async fn basic_auth_retry_after_early_401_reuses_the_connection() {
    let reg = secured(AuthMode::Htpasswd, 300).await;
    retry_on_the_same_connection(&reg, &basic("alice", "alice-pw")).await;
}

#[tokio::test]
async fn token_auth_retry_after_early_401_reuses_the_connection() {
    let reg = secured(AuthMode::Token, 300).await;
    let (status, t) = token(
        &reg,
        Some(("alice", "alice-pw")),
        "repository:team/app:pull,push",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    retry_on_the_same_connection(&reg, &format!("Bearer {t}")).await;
}

/// A body too large to drain, and one held back for `Expect: 100-continue`:
/// the early 401 says `Connection: close`, is complete, and the server then
/// closes cleanly, so the client retries on a new connection.
#[tokio::test]
async fn early_401_says_connection_close_when_the_body_stays_unread() {
    for mode in [AuthMode::Htpasswd, AuthMode::Token] {
        let reg = secured(mode, 300).await;
        // The 401 comes before the session is looked up.
        let path = format!("/v2/team/app/blobs/uploads/{}", "1".repeat(32));
        let big = 64 * 1024 * 1024;
        // The large body's client has sent some of it when the 401 comes
        // (the server lingers over it while closing, so no reset destroys
        // the answer); the 100-continue client has sent none.
        let some_of_it = random_bytes(256 * 1024);
        for (len, extra, sent) in [
            (big, "", &some_of_it[..]),
            (1000, "Expect: 100-continue\r\n", &[][..]),
        ] {
            let mut conn = RawConn::connect(&reg).await;
            conn.send(patch_head(&path, len, None, extra).as_bytes())
                .await
                .unwrap();
            conn.send(sent).await.unwrap();
            let r = conn.response().await.expect("an early, complete 401");
            assert_eq!(r.status, 401, "{mode:?} {extra:?}: {r:?}");
            assert!(r.closes(), "{mode:?} {extra:?}: {r:?}");
            conn.closed_cleanly()
                .await
                .unwrap_or_else(|e| panic!("{mode:?} {extra:?}: {e}"));
        }
        // With credentials, 100-continue is honoured and the chunk lands.
        let auth = match mode {
            AuthMode::Token => {
                let (_, t) = token(
                    &reg,
                    Some(("alice", "alice-pw")),
                    "repository:team/app:pull,push",
                )
                .await;
                format!("Bearer {t}")
            }
            _ => basic("alice", "alice-pw"),
        };
        let path = upload_path(&reg, &auth).await;
        let mut conn = RawConn::connect(&reg).await;
        conn.send(patch_head(&path, 5, Some(&auth), "Expect: 100-continue\r\n").as_bytes())
            .await
            .unwrap();
        let r = conn.response().await.expect("100 Continue");
        assert_eq!(r.status, 100, "{r:?}");
        conn.send(b"hello").await.unwrap();
        let r = conn.response().await.expect("the PATCH's answer");
        assert_eq!(r.status, 202, "{r:?}");
        assert_eq!(r.header("range"), Some("0-4"));
    }
}

/// A client that keeps streaming a large body after the early `Connection:
/// close` 401 (as Go's transport does until its write finishes) is not reset
/// mid-write: the server lingers over the rest while closing, so the client
/// finishes and reads the whole answer. Without it the write fails with a
/// broken pipe.
#[tokio::test]
async fn client_still_sending_after_an_early_close_is_not_reset() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let reg = secured(AuthMode::Htpasswd, 300).await;
    let addr = reg.url.trim_start_matches("http://").to_string();
    let (mut rd, mut wr) = tokio::net::TcpStream::connect(&addr)
        .await
        .unwrap()
        .into_split();
    let len = 16 * 1024 * 1024;
    let path = format!("/v2/team/app/blobs/uploads/{}", "1".repeat(32));
    wr.write_all(patch_head(&path, len, None, "").as_bytes())
        .await
        .unwrap();
    let writer = tokio::spawn(async move {
        let chunk = vec![7u8; 64 * 1024];
        for _ in 0..len / chunk.len() {
            wr.write_all(&chunk).await?;
        }
        wr.shutdown().await
    });
    let mut answer = Vec::new();
    rd.read_to_end(&mut answer).await.expect("a clean close");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
    writer
        .await
        .unwrap()
        .expect("the body's write was not cut off by a reset");
}

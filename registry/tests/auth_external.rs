//! Tokens from an external token server (`[auth.token]`): RS256 and ES256
//! signatures over keys from a certificate bundle (by `kid`, or an `x5c`
//! chain up to a bundle certificate) or a JWKS URL, with distribution's
//! claim checks and `WWW-Authenticate` answers; and the built-in issuer's
//! OAuth2 `POST /token`.

mod common;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use common::*;
use hoist_registry::config::{AuthMode, TokenServerConfig};
use reqwest::StatusCode;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

const ISSUER: &str = "test-token-server";
const SERVICE: &str = "registry.test";

fn openssl(args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A private key file (PKCS#8 PEM) and its certificate.
struct Signing {
    key: PathBuf,
    cert: PathBuf,
}

impl Signing {
    /// A self-signed certificate; `ec` for P-256, else RSA 2048.
    fn self_signed(dir: &Path, name: &str, ec: bool) -> Signing {
        let (key, cert) = (
            dir.join(format!("{name}.key")),
            dir.join(format!("{name}.crt")),
        );
        let newkey = if ec { "ec" } else { "rsa:2048" };
        let mut args = vec!["req", "-x509", "-nodes", "-newkey", newkey];
        if ec {
            args.extend(["-pkeyopt", "ec_paramgen_curve:prime256v1"]);
        }
        args.extend(["-days", "2", "-subj"]);
        let subj = format!("/CN={name}");
        args.push(&subj);
        let (k, c) = (key.to_str().unwrap(), cert.to_str().unwrap());
        args.extend(["-keyout", k, "-out", c]);
        openssl(&args);
        Signing { key, cert }
    }

    /// A leaf RSA certificate signed by `ca`.
    fn issued_by(dir: &Path, name: &str, ca: &Signing) -> Signing {
        let (key, cert) = (
            dir.join(format!("{name}.key")),
            dir.join(format!("{name}.crt")),
        );
        let csr = dir.join(format!("{name}.csr"));
        let ext = dir.join(format!("{name}.ext"));
        std::fs::write(
            &ext,
            "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n",
        )
        .unwrap();
        let subj = format!("/CN={name}");
        openssl(&[
            "req",
            "-new",
            "-nodes",
            "-newkey",
            "rsa:2048",
            "-subj",
            &subj,
            "-keyout",
            key.to_str().unwrap(),
            "-out",
            csr.to_str().unwrap(),
        ]);
        openssl(&[
            "x509",
            "-req",
            "-in",
            csr.to_str().unwrap(),
            "-CA",
            ca.cert.to_str().unwrap(),
            "-CAkey",
            ca.key.to_str().unwrap(),
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            ext.to_str().unwrap(),
            "-out",
            cert.to_str().unwrap(),
        ]);
        Signing { key, cert }
    }

    fn pkcs8(&self) -> Vec<u8> {
        let pem = std::fs::read(&self.key).unwrap();
        match rustls_pemfile::private_key(&mut pem.as_slice())
            .unwrap()
            .unwrap()
        {
            rustls_pki_types::PrivateKeyDer::Pkcs8(k) => k.secret_pkcs8_der().to_vec(),
            other => panic!("openssl wrote a non-PKCS#8 key: {other:?}"),
        }
    }

    fn cert_der(&self) -> Vec<u8> {
        let pem = std::fs::read(&self.cert).unwrap();
        let cert = rustls_pemfile::certs(&mut pem.as_slice())
            .next()
            .unwrap()
            .unwrap();
        cert.as_ref().to_vec()
    }

    /// The key as a JWK (public part) with `kid`.
    fn jwk(&self, kid: &str) -> Value {
        let der = self.pkcs8();
        if RsaKeyPair::from_pkcs8(&der).is_ok() {
            let out = Command::new("openssl")
                .args(["rsa", "-noout", "-modulus", "-in"])
                .arg(&self.key)
                .output()
                .unwrap();
            let hex = String::from_utf8(out.stdout).unwrap();
            let n = hex::decode(hex.trim().trim_start_matches("Modulus=")).unwrap();
            let e = vec![1, 0, 1]; // openssl's default exponent, 65537
            return json!({"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
                "n": URL_SAFE_NO_PAD.encode(n), "e": URL_SAFE_NO_PAD.encode(e)});
        }
        let ec = EcdsaKeyPair::from_pkcs8(
            &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &der,
            &SystemRandom::new(),
        )
        .unwrap();
        let point = ec.public_key().as_ref();
        json!({"kty": "EC", "crv": "P-256", "kid": kid,
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..])})
    }

    /// A compact JWS over `claims` with this key and `header` fields added.
    fn sign(&self, header: Value, claims: &Value) -> String {
        let der = self.pkcs8();
        let rng = SystemRandom::new();
        let rsa = RsaKeyPair::from_pkcs8(&der).ok();
        let mut h = json!({"typ": "JWT", "alg": if rsa.is_some() { "RS256" } else { "ES256" }});
        for (k, v) in header.as_object().unwrap() {
            h[k] = v.clone();
        }
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(h.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let sig = match rsa {
            Some(rsa) => {
                let mut sig = vec![0; rsa.public().modulus_len()];
                rsa.sign(
                    &signature::RSA_PKCS1_SHA256,
                    &rng,
                    input.as_bytes(),
                    &mut sig,
                )
                .unwrap();
                sig
            }
            None => {
                EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &der, &rng)
                    .unwrap()
                    .sign(&rng, input.as_bytes())
                    .unwrap()
                    .as_ref()
                    .to_vec()
            }
        };
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
    }
}

/// distribution's libtrust key id of a certificate's key, computed here
/// from `openssl x509 -pubkey` so the test does not reuse the server's code.
fn libtrust_kid(cert: &Path) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "openssl x509 -in {} -pubkey -noout | openssl pkey -pubin -outform DER | openssl dgst -sha256 -binary | head -c 30 | base32 -w0",
            cert.display()
        ))
        .output()
        .unwrap();
    assert!(out.status.success());
    let b32 = String::from_utf8(out.stdout).unwrap();
    b32.as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(":")
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn claims(repo: &str, actions: &[&str]) -> Value {
    json!({
        "iss": ISSUER, "sub": "carol", "aud": SERVICE,
        "exp": now() + 300, "nbf": now() - 1, "iat": now(), "jti": "t1",
        "access": [{"type": "repository", "name": repo, "actions": actions}],
    })
}

async fn registry(bundle: Option<PathBuf>, jwks: Option<String>) -> Reg {
    Reg::start_with(|c| {
        c.auth.mode = AuthMode::Token;
        c.auth.token = Some(TokenServerConfig {
            realm: "http://127.0.0.1:1/auth".into(),
            service: Some(SERVICE.into()),
            issuer: ISSUER.into(),
            rootcertbundle: bundle,
            jwks,
        });
    })
    .await
}

async fn post_blob(reg: &Reg, repo: &str, token: &str) -> reqwest::Response {
    let data = format!("external token blob for {repo}").into_bytes();
    reg.http
        .post(reg.u(&format!(
            "/v2/{repo}/blobs/uploads/?digest={}",
            sha256(&data)
        )))
        .header("authorization", format!("Bearer {token}"))
        .body(data)
        .send()
        .await
        .unwrap()
}

async fn get_catalog(reg: &Reg, token: &str) -> reqwest::Response {
    reg.http
        .get(reg.u("/v2/_catalog"))
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap()
}

fn challenge(r: &reqwest::Response) -> String {
    r.headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// A refused push must be 401 with this `error` in a Bearer challenge that
/// names the realm, service and the scope the request needed.
async fn assert_refused(reg: &Reg, repo: &str, token: &str, error: &str) {
    let r = post_blob(reg, repo, token).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{repo}: {token}");
    let c = challenge(&r);
    assert_eq!(
        c,
        format!(
            "Bearer realm=\"http://127.0.0.1:1/auth\",service=\"{SERVICE}\",scope=\"repository:{repo}:pull,push\",error=\"{error}\""
        )
    );
}

#[tokio::test]
async fn bundle_tokens_rs256_es256_x5c_and_claim_checks() {
    let tmp = hoist_testkit::TempRoot::new();
    let rsa = Signing::self_signed(tmp.path(), "rsa", false);
    let ec = Signing::self_signed(tmp.path(), "ec", true);
    let ca = Signing::self_signed(tmp.path(), "ca", false);
    let leaf = Signing::issued_by(tmp.path(), "leaf", &ca);
    let stranger = Signing::self_signed(tmp.path(), "stranger", false);
    let bundle = tmp.join("bundle.pem");
    let pems: Vec<u8> = [&rsa.cert, &ec.cert, &ca.cert]
        .iter()
        .flat_map(|p| std::fs::read(p).unwrap())
        .collect();
    std::fs::write(&bundle, pems).unwrap();
    let reg = registry(Some(bundle), None).await;

    // No token: a challenge with the external realm, no error.
    let r = reg.get("/v2/").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        challenge(&r),
        format!("Bearer realm=\"http://127.0.0.1:1/auth\",service=\"{SERVICE}\"")
    );

    // RS256 and ES256 by kid (libtrust fingerprint, as distribution names keys).
    let good = claims("team/app", &["pull", "push"]);
    let t = rsa.sign(json!({"kid": libtrust_kid(&rsa.cert)}), &good);
    assert_eq!(
        post_blob(&reg, "team/app", &t).await.status(),
        StatusCode::CREATED
    );
    let t = ec.sign(json!({"kid": libtrust_kid(&ec.cert)}), &good);
    assert_eq!(
        post_blob(&reg, "team/app", &t).await.status(),
        StatusCode::CREATED
    );
    // A pull with a pull+push token, then the identity reached the handler.
    let r = reg
        .http
        .get(reg.u("/v2/team/app/tags/list"))
        .header("authorization", format!("Bearer {t}"))
        .send()
        .await
        .unwrap();
    assert_ne!(r.status(), StatusCode::UNAUTHORIZED);
    // x5c: a leaf not in the bundle, issued by a bundle certificate.
    let t = leaf.sign(json!({"x5c": [STANDARD.encode(leaf.cert_der())]}), &good);
    assert_eq!(
        post_blob(&reg, "team/app", &t).await.status(),
        StatusCode::CREATED
    );

    // A key outside the bundle, under a trusted kid or with its own x5c.
    let forged = stranger.sign(json!({"kid": libtrust_kid(&rsa.cert)}), &good);
    assert_refused(&reg, "team/app", &forged, "invalid_token").await;
    let t = stranger.sign(
        json!({"x5c": [STANDARD.encode(stranger.cert_der())]}),
        &good,
    );
    assert_refused(&reg, "team/app", &t, "invalid_token").await;
    let t = stranger.sign(json!({"kid": libtrust_kid(&stranger.cert)}), &good);
    assert_refused(&reg, "team/app", &t, "invalid_token").await;
    let kid = json!({"kid": libtrust_kid(&rsa.cert)});
    // Wrong audience, wrong issuer, expired beyond the leeway, not yet valid.
    let mut c = good.clone();
    c["aud"] = json!("another-registry");
    assert_refused(
        &reg,
        "team/app",
        &rsa.sign(kid.clone(), &c),
        "invalid_token",
    )
    .await;
    let mut c = good.clone();
    c["iss"] = json!("someone-else");
    assert_refused(
        &reg,
        "team/app",
        &rsa.sign(kid.clone(), &c),
        "invalid_token",
    )
    .await;
    let mut c = good.clone();
    c["exp"] = json!(now() - 120);
    assert_refused(
        &reg,
        "team/app",
        &rsa.sign(kid.clone(), &c),
        "invalid_token",
    )
    .await;
    let mut c = good.clone();
    c["nbf"] = json!(now() + 600);
    assert_refused(
        &reg,
        "team/app",
        &rsa.sign(kid.clone(), &c),
        "invalid_token",
    )
    .await;
    // An audience list naming this service is accepted.
    let mut c = good.clone();
    c["aud"] = json!(["other", SERVICE]);
    let t = rsa.sign(kid.clone(), &c);
    assert_eq!(
        post_blob(&reg, "team/app", &t).await.status(),
        StatusCode::CREATED
    );
    // A tampered payload fails the signature.
    let mut parts: Vec<String> = t.split('.').map(String::from).collect();
    parts[1] = URL_SAFE_NO_PAD.encode(claims("team/other", &["push"]).to_string());
    assert_refused(&reg, "team/other", &parts.join("."), "invalid_token").await;

    // Valid, but for another repository, or pull only: insufficient_scope.
    let t = rsa.sign(kid.clone(), &claims("team/other", &["pull", "push"]));
    assert_refused(&reg, "team/app", &t, "insufficient_scope").await;
    let t = rsa.sign(kid.clone(), &claims("team/app", &["pull"]));
    assert_refused(&reg, "team/app", &t, "insufficient_scope").await;
    // "*" grants every action.
    let t = rsa.sign(kid, &claims("team/app", &["*"]));
    assert_eq!(
        post_blob(&reg, "team/app", &t).await.status(),
        StatusCode::CREATED
    );
    // registry:catalog:* lists every repository (the external server decided).
    let mut c = good.clone();
    c["access"] = json!([{"type": "registry", "name": "catalog", "actions": ["*"]}]);
    let r = get_catalog(&reg, &rsa.sign(json!({"kid": libtrust_kid(&rsa.cert)}), &c)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["repositories"], json!(["team/app"]));
    let r = get_catalog(
        &reg,
        &rsa.sign(json!({"kid": libtrust_kid(&rsa.cert)}), &good),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(challenge(&r).contains("scope=\"registry:catalog:*\",error=\"insufficient_scope\""));
    // The built-in issuer is off without htpasswd users.
    let r = reg.get("/token?service=registry.test").await;
    assert!(r.status().is_client_error());
}

/// A JWKS endpoint on loopback whose document the test can replace.
async fn jwks_server(doc: Arc<Mutex<String>>, hits: Arc<Mutex<u32>>) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut conn, _)) = listener.accept().await else {
                return;
            };
            let (doc, hits) = (doc.clone(), hits.clone());
            tokio::spawn(async move {
                let mut buf = vec![0; 4096];
                let _ = conn.read(&mut buf).await;
                *hits.lock().unwrap() += 1;
                let body = doc.lock().unwrap().clone();
                let resp = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = conn.write_all(resp.as_bytes()).await;
            });
        }
    });
    format!("http://{addr}/jwks.json")
}

#[tokio::test]
async fn jwks_url_is_fetched_and_refreshed_on_unknown_kid() {
    let tmp = hoist_testkit::TempRoot::new();
    let first = Signing::self_signed(tmp.path(), "first", false);
    let second = Signing::self_signed(tmp.path(), "second", true);
    let doc = Arc::new(Mutex::new(json!({"keys": [first.jwk("k1")]}).to_string()));
    let hits = Arc::new(Mutex::new(0));
    let url = jwks_server(doc.clone(), hits.clone()).await;
    let reg = registry(None, Some(url)).await;
    let good = claims("team/app", &["pull", "push"]);

    let t = first.sign(json!({"kid": "k1"}), &good);
    assert_eq!(
        post_blob(&reg, "team/app", &t).await.status(),
        StatusCode::CREATED
    );
    assert_eq!(
        post_blob(&reg, "team/app", &t).await.status(),
        StatusCode::CREATED
    );
    assert_eq!(*hits.lock().unwrap(), 1, "a known kid must not refetch");

    // The token server rotates to an ES256 key: tokens naming it are
    // accepted once the registry refetches (rate limited to 1/s).
    *doc.lock().unwrap() = json!({"keys": [first.jwk("k1"), second.jwk("k2")]}).to_string();
    let t2 = second.sign(json!({"kid": "k2"}), &good);
    // Polls the condition (the refetch is rate limited to once a second).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if post_blob(&reg, "team/app", &t2).await.status() == StatusCode::CREATED {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "rotated key never accepted"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // A key never published stays refused.
    let stranger = Signing::self_signed(tmp.path(), "stranger", false);
    let t = stranger.sign(json!({"kid": "k3"}), &good);
    assert_refused(&reg, "team/app", &t, "invalid_token").await;
}

/// `curl` with a form body; returns (status, JSON body).
async fn curl_form(url: &str, fields: &[(&str, &str)]) -> (u16, Value) {
    let mut cmd = tokio::process::Command::new("curl");
    cmd.args(["-s", "-w", "\n%{http_code}", "-X", "POST", url]);
    for (k, v) in fields {
        cmd.arg("--data-urlencode").arg(format!("{k}={v}"));
    }
    let out = cmd.output().await.expect("run curl");
    let text = String::from_utf8(out.stdout).unwrap();
    let (body, code) = text.rsplit_once('\n').unwrap();
    (
        code.parse().unwrap(),
        serde_json::from_str(body).unwrap_or_default(),
    )
}

#[tokio::test]
async fn oauth2_post_password_and_refresh_grants() {
    let root = hoist_testkit::TempRoot::new();
    let htpasswd = root.join("htpasswd");
    let entry = format!("alice:{}\n", bcrypt::hash("alice-pw", 4).unwrap());
    std::fs::write(&htpasswd, entry).unwrap();
    let reg = Reg::start_with(|c| {
        c.auth.mode = AuthMode::Token;
        c.auth.htpasswd = Some(htpasswd.clone());
    })
    .await;
    let url = reg.u("/token");
    let scope = "repository:team/app:pull,push";

    // docker login's form: password grant, offline access.
    let (status, v) = curl_form(
        &url,
        &[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "alice-pw"),
            ("service", "hoist-registry"),
            ("client_id", "docker"),
            ("access_type", "offline"),
            ("scope", scope),
        ],
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["scope"], scope);
    assert!(v["expires_in"].as_u64().unwrap() > 0);
    let access = v["access_token"].as_str().unwrap().to_string();
    let refresh = v["refresh_token"].as_str().unwrap().to_string();
    assert_eq!(
        post_blob(&reg, "team/app", &access).await.status(),
        StatusCode::CREATED
    );
    // The refresh token is not an access token.
    let r = post_blob(&reg, "team/app", &refresh).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(challenge(&r).contains("error=\"invalid_token\""));

    // Refresh grant: a new access token for another scope, no new refresh.
    let (status, v) = curl_form(
        &url,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("service", "hoist-registry"),
            ("scope", "repository:team/other:pull,push"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert!(v.get("refresh_token").is_none());
    let t = v["access_token"].as_str().unwrap();
    assert_eq!(
        post_blob(&reg, "team/other", t).await.status(),
        StatusCode::CREATED
    );

    // Refusals: wrong password, an access token as refresh token, an
    // unknown grant, a missing grant type, another service.
    let (status, v) = curl_form(
        &url,
        &[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "nope"),
        ],
    )
    .await;
    assert_eq!((status, v["error"].as_str()), (401, Some("invalid_grant")));
    let (status, v) = curl_form(
        &url,
        &[("grant_type", "refresh_token"), ("refresh_token", &access)],
    )
    .await;
    assert_eq!((status, v["error"].as_str()), (401, Some("invalid_grant")));
    let (status, v) = curl_form(&url, &[("grant_type", "client_credentials")]).await;
    assert_eq!(
        (status, v["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
    let (status, v) = curl_form(&url, &[("username", "alice")]).await;
    assert_eq!(
        (status, v["error"].as_str()),
        (400, Some("invalid_request"))
    );
    let (status, v) = curl_form(
        &url,
        &[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "alice-pw"),
            ("service", "elsewhere"),
        ],
    )
    .await;
    assert_eq!(
        (status, v["error"].as_str()),
        (400, Some("invalid_request"))
    );
    drop(root);
}

#[test]
fn auth_token_config_is_checked_and_bad_bundles_stop_the_start() {
    let tmp = hoist_testkit::TempRoot::new();
    let load = |body: &str| {
        let path = tmp.join("registry.toml");
        std::fs::write(&path, format!("root = \"data\"\n{body}")).unwrap();
        hoist_registry::Config::load(Some(&path)).unwrap()
    };
    let c = load(
        "[auth]\nmode = \"token\"\n[auth.token]\nrealm = \"http://a/token\"\nissuer = \"i\"\nrootcertbundle = \"certs.pem\"\n",
    );
    assert_eq!(
        c.auth.token.as_ref().unwrap().rootcertbundle.as_deref(),
        Some(tmp.join("certs.pem").as_path()),
        "relative to the config file"
    );
    c.validate().unwrap();
    let invalid = |body: &str| load(body).validate().unwrap_err().to_string();
    assert!(invalid(
        "[auth]\nmode = \"token\"\n[auth.token]\nrealm = \"http://a\"\nrootcertbundle = \"c\"\n"
    )
    .contains("issuer"));
    assert!(invalid(
        "[auth]\nmode = \"token\"\n[auth.token]\nrealm = \"http://a\"\nissuer = \"i\"\n"
    )
    .contains("rootcertbundle"));
    assert!(
        invalid("[auth.token]\nrealm = \"http://a\"\nissuer = \"i\"\njwks = \"http://a/k\"\n")
            .contains("auth.mode")
    );
    // A bundle without certificates, or missing, is a start-up error naming it.
    std::fs::write(tmp.join("certs.pem"), "not a certificate\n").unwrap();
    let err = hoist_registry::build(&c).err().unwrap().to_string();
    assert!(
        err.contains("certs.pem") && err.contains("no PEM certificates"),
        "{err}"
    );
    std::fs::remove_file(tmp.join("certs.pem")).unwrap();
    let err = hoist_registry::build(&c).err().unwrap().to_string();
    assert!(
        err.contains("certs.pem") && err.contains("cannot read"),
        "{err}"
    );
}

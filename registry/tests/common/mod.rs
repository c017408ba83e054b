//! Test support: an in-process registry on a loopback port over a temp root,
//! and small HTTP helpers that speak the distribution API with reqwest.
#![allow(dead_code)]

use hoist_registry::{Config, Running};
use hoist_testkit::TempRoot;
use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

pub struct Reg {
    pub url: String,
    pub root: TempRoot,
    pub config: Config,
    running: Option<Running>,
    pub http: Client,
}

impl Reg {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let root = TempRoot::new();
        let mut config = Config {
            addr: "127.0.0.1:0".into(),
            root: Some(root.join("registry")),
            ..Config::default()
        };
        adjust(&mut config);
        let running = hoist_registry::start(&config)
            .await
            .expect("start registry");
        Reg {
            url: format!("http://{}", running.addr),
            root,
            config,
            running: Some(running),
            http: Client::new(),
        }
    }

    /// Stops the server and starts a new one over the same storage.
    pub async fn restart(&mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
        let running = hoist_registry::start(&self.config)
            .await
            .expect("restart registry");
        self.url = format!("http://{}", running.addr);
        self.running = Some(running);
    }

    pub fn u(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// Monolithic upload; asserts 201 and returns the digest.
    pub async fn push_blob(&self, repo: &str, data: &[u8]) -> String {
        let digest = sha256(data);
        let r = self
            .http
            .post(self.u(&format!("/v2/{repo}/blobs/uploads/?digest={digest}")))
            .body(data.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::CREATED,
            "{}",
            r.text().await.unwrap()
        );
        digest
    }

    /// Pushes config + one layer + manifest under `tag`; returns the manifest digest.
    pub async fn push_image(&self, repo: &str, tag: &str, layer: &[u8]) -> (String, Vec<u8>) {
        let manifest = self.image_manifest(repo, layer).await;
        let r = self.put_manifest(repo, tag, OCI_MANIFEST, &manifest).await;
        assert_eq!(
            r.status(),
            StatusCode::CREATED,
            "{}",
            r.text().await.unwrap()
        );
        (sha256(&manifest), manifest)
    }

    /// Uploads a config and a layer and returns a manifest naming them.
    pub async fn image_manifest(&self, repo: &str, layer: &[u8]) -> Vec<u8> {
        let config = format!(
            r#"{{"architecture":"amd64","os":"linux","rootfs":{{"type":"layers","diff_ids":["{}"]}}}}"#,
            sha256(layer)
        );
        let config_digest = self.push_blob(repo, config.as_bytes()).await;
        let layer_digest = self.push_blob(repo, layer).await;
        serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest, "size": layer.len()}],
        }))
        .unwrap()
    }

    pub async fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        body: &[u8],
    ) -> Response {
        self.http
            .put(self.u(&format!("/v2/{repo}/manifests/{reference}")))
            .header("content-type", media_type)
            .body(body.to_vec())
            .send()
            .await
            .unwrap()
    }

    pub async fn get(&self, path: &str) -> Response {
        self.http.get(self.u(path)).send().await.unwrap()
    }

    pub async fn head(&self, path: &str) -> Response {
        self.http.head(self.u(path)).send().await.unwrap()
    }

    /// Starts an upload session; returns its Location (absolute URL).
    pub async fn start_upload(&self, repo: &str) -> String {
        let r = self
            .http
            .post(self.u(&format!("/v2/{repo}/blobs/uploads/")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::ACCEPTED);
        self.u(r.headers()["location"].to_str().unwrap())
    }

    /// Files under the storage root whose path contains `part`.
    pub fn files_containing(&self, part: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut stack = vec![self.config.root.clone().unwrap()];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.to_string_lossy().contains(part) {
                    out.push(p.to_string_lossy().into_owned());
                }
            }
        }
        out
    }
}

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";

pub fn sha256(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

pub fn random_bytes(n: usize) -> Vec<u8> {
    (0..n).map(|_| rand::random::<u8>()).collect()
}

/// The first error code of a spec error body.
pub async fn error_code(r: Response) -> String {
    let v: Value = r.json().await.expect("a JSON error body");
    v["errors"][0]["code"].as_str().unwrap_or("").to_string()
}

/// Sends raw bytes as one HTTP/1.1 exchange (for requests reqwest would
/// normalise, like `..` in paths) and returns the whole response text.
pub async fn raw(reg: &Reg, head: &str, body: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = reg.url.trim_start_matches("http://").to_string();
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(body).await.unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out).await;
    String::from_utf8_lossy(&out).into_owned()
}

/// One HTTP/1.1 connection driven by hand, for what reqwest hides: when the
/// server answers, whether it keeps the connection, how it closes it.
pub struct RawConn {
    stream: tokio::net::TcpStream,
    buf: Vec<u8>,
}

/// A response as read off a `RawConn`.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    /// Header names lowercased, in order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the server said it closes the connection after this.
    pub fn closes(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }
}

impl RawConn {
    pub async fn connect(reg: &Reg) -> Self {
        let addr = reg.url.trim_start_matches("http://").to_string();
        RawConn {
            stream: tokio::net::TcpStream::connect(&addr).await.unwrap(),
            buf: Vec::new(),
        }
    }

    pub async fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        use tokio::io::AsyncWriteExt;
        self.stream.write_all(bytes).await
    }

    /// Reads whatever arrives within `wait`; true if the server sent anything
    /// (the bytes are kept for `response`).
    pub async fn answered_within(&mut self, wait: std::time::Duration) -> bool {
        use tokio::io::AsyncReadExt;
        let mut chunk = [0u8; 4096];
        match tokio::time::timeout(wait, self.stream.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
            _ => false,
        }
    }

    /// The next whole response (head and Content-Length body); an error when
    /// the connection ends first — what a client reusing it would see.
    pub async fn response(&mut self) -> std::io::Result<RawResponse> {
        let head_end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            self.fill().await?;
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("bad status line in {head:?}")))?;
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let len: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        while self.buf.len() < head_end + len {
            self.fill().await?;
        }
        let body = self.buf[head_end..head_end + len].to_vec();
        self.buf.drain(..head_end + len);
        Ok(RawResponse {
            status,
            headers,
            body,
        })
    }

    /// Whether the server closed the connection cleanly (FIN, nothing more
    /// sent, no reset) — what `Connection: close` promises.
    pub async fn closed_cleanly(&mut self) -> Result<(), String> {
        use tokio::io::AsyncReadExt;
        let mut rest = Vec::new();
        let read = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            self.stream.read_to_end(&mut rest),
        )
        .await
        .map_err(|_| "the server kept the connection open".to_string())?;
        match read {
            Ok(_) if rest.is_empty() && self.buf.is_empty() => Ok(()),
            Ok(_) => Err(format!(
                "unexpected bytes after the response: {:?}",
                String::from_utf8_lossy(&rest)
            )),
            Err(e) => Err(format!("the connection ended with an error: {e}")),
        }
    }

    async fn fill(&mut self) -> std::io::Result<()> {
        use tokio::io::AsyncReadExt;
        let mut chunk = [0u8; 8192];
        let n = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            self.stream.read(&mut chunk),
        )
        .await
        .map_err(|_| std::io::Error::other("no response within 10 s"))??;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }
}

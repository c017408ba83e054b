//! Registries for transfer tests on 127.0.0.1: Debian's docker-registry
#![allow(dead_code)]
//! (CNCF distribution 2.8) with our own config (filesystem storage in a temp
//! dir, optional htpasswd basic auth, optional TLS), and images made directly
//! in a hoist store (random layers of chosen sizes) to push around.

use hoist_oci::oci_spec::image::{Descriptor, MediaType};
use hoist_oci::Digest;
use hoist_store::Store;
use hoist_testkit::{free_port, Peer, TempRoot};
use std::path::{Path, PathBuf};
use std::process::Command;

pub const USER: &str = "tester";
pub const PASS: &str = "s3cret-pass";

pub struct DockerRegistry {
    pub peer: Peer,
    pub dir: TempRoot,
    /// CA directory for --cert-dir when started with TLS.
    pub cert_dir: Option<PathBuf>,
}

impl DockerRegistry {
    /// Starts docker-registry; `None` when it is not installed (test skips).
    pub fn start(auth: bool, tls: bool) -> Option<DockerRegistry> {
        if !hoist_testkit::have_program("docker-registry") {
            hoist_testkit::skip_or_fail("transfer", "docker-registry is not installed");
            return None;
        }
        let dir = TempRoot::new();
        let port = free_port();
        let mut config = format!(
            "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
            dir.join("data").display()
        );
        let mut cert_dir = None;
        if tls {
            let certs = dir.join("certs");
            std::fs::create_dir_all(&certs).unwrap();
            make_certificates(dir.path(), &certs);
            config.push_str(&format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                dir.join("server.crt").display(),
                dir.join("server.key").display()
            ));
            cert_dir = Some(certs);
        }
        if auth {
            let out = Command::new("htpasswd")
                .args(["-Bbn", USER, PASS])
                .output()
                .expect("run htpasswd (apache2-utils)");
            assert!(out.status.success());
            std::fs::write(dir.join("htpasswd"), &out.stdout).unwrap();
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: test-realm\n    path: {}\n",
                dir.join("htpasswd").display()
            ));
        }
        std::fs::write(dir.join("config.yml"), config).unwrap();
        let peer = Peer::start(
            Command::new("docker-registry")
                .arg("serve")
                .arg(dir.join("config.yml")),
            port,
            &dir.join("registry.log"),
        );
        Some(DockerRegistry {
            peer,
            dir,
            cert_dir,
        })
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.peer.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("registry.log")).unwrap_or_default()
    }
}

/// A test CA (`certs/ca.crt`) and a server certificate for 127.0.0.1
/// signed by it (`server.crt`, `server.key`), made with openssl.
fn make_certificates(dir: &Path, certs: &Path) {
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("run openssl");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ca = certs.join("ca.crt");
    let ca = ca.to_str().unwrap();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut args = vec![
        "req",
        "-x509",
        "-days",
        "2",
        "-subj",
        "/CN=hoist test CA",
        "-keyout",
        "ca.key",
        "-out",
        ca,
    ];
    args.extend(ec);
    openssl(&args);
    let mut args = vec![
        "req",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
    ];
    args.extend(ec);
    openssl(&args);
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        ca,
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
        "-out",
        "server.crt",
    ]);
}

/// Deterministic pseudo-random bytes (xorshift), different per `seed`.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Wraps `data` in gzip without compressing it (level 0): a valid gzip
/// layer (skopeo would recompress anything else) of predictable size.
pub fn gzip_stored(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::none());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// A tar holding one file, `data`, with `data` as its content: a real layer
/// (pulls check layers as tars), as big as the data plus 2 KiB.
pub fn tar_of(data: &[u8]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_ustar();
    h.set_path("data").unwrap();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_mtime(1_700_000_000);
    h.set_cksum();
    b.append(&h, data).unwrap();
    b.into_inner().unwrap()
}

/// Writes an image with random layers of `sizes` into the store at `root`,
/// names it `name`, and returns its manifest digest.
pub fn make_image(root: &Path, name: &str, sizes: &[usize], seed: u64) -> String {
    let store = Store::open(root).unwrap();
    let (manifest, digest) = image_manifest(&store, sizes, seed, "amd64");
    let desc = Descriptor::new(MediaType::ImageManifest, manifest.len() as u64, &digest);
    store.set_name(name, desc).unwrap();
    digest.to_string()
}

/// Writes layers, config and manifest for one platform; returns the
/// manifest bytes and digest (unnamed).
pub fn image_manifest(store: &Store, sizes: &[usize], seed: u64, arch: &str) -> (Vec<u8>, Digest) {
    let mut layers = Vec::new();
    let mut diff_ids = Vec::new();
    for (i, size) in sizes.iter().enumerate() {
        let tar = tar_of(&noise(*size, seed * 1000 + i as u64));
        let bytes = gzip_stored(&tar);
        let size = bytes.len();
        let d = store.write_blob(&bytes).unwrap();
        diff_ids.push(format!("\"{}\"", Digest::sha256_of(&tar)));
        layers.push(format!(
            r#"{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{d}","size":{size}}}"#
        ));
    }
    let config = format!(
        r#"{{"architecture":"{arch}","os":"linux","config":{{}},"rootfs":{{"type":"layers","diff_ids":[{}]}}}}"#,
        diff_ids.join(",")
    );
    let cd = store.write_blob(config.as_bytes()).unwrap();
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{cd}","size":{}}},"layers":[{}]}}"#,
        config.len(),
        layers.join(",")
    );
    let md = store.write_blob(manifest.as_bytes()).unwrap();
    (manifest.into_bytes(), md)
}

/// An OCI index over an amd64 and an arm64 image, named `name`.
/// Returns (index digest, amd64 manifest digest, arm64 manifest digest).
pub fn make_index(root: &Path, name: &str, seed: u64) -> (String, String, String) {
    let store = Store::open(root).unwrap();
    let (amd, amd_d) = image_manifest(&store, &[50_000], seed, "amd64");
    let (arm, arm_d) = image_manifest(&store, &[60_000], seed + 1, "arm64");
    let index = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{arm_d}","size":{},"platform":{{"architecture":"arm64","os":"linux","variant":"v8"}}}},{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{amd_d}","size":{},"platform":{{"architecture":"amd64","os":"linux"}}}}]}}"#,
        arm.len(),
        amd.len()
    );
    let d = store.write_blob(index.as_bytes()).unwrap();
    let desc = Descriptor::new(MediaType::ImageIndex, index.len() as u64, &d);
    store.set_name(name, desc).unwrap();
    (d.to_string(), amd_d.to_string(), arm_d.to_string())
}

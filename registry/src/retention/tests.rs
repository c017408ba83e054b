//! Retention over a real filesystem store: tags and manifests are stored
//! through `Storage`, their link mtimes set to chosen ages.

use super::config::RetentionConfig;
use super::*;
use crate::driver::FsDriver;
use crate::storage::Limits;
use bytes::Bytes;
use std::sync::Arc;
use std::time::Duration;

struct Fixture {
    dir: tempfile::TempDir,
    storage: Storage,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let driver = Arc::new(FsDriver::new(dir.path()).unwrap());
        Fixture {
            storage: Storage::new(driver, Limits::default()),
            dir,
        }
    }

    async fn blob(&self, repo: &str, data: &[u8]) -> Digest {
        let digest = crate::digests::sha256_of(data);
        self.storage
            .driver()
            .put(&paths::blob_data(&digest), Bytes::copy_from_slice(data))
            .await
            .unwrap();
        self.storage.link_blob(repo, &digest).await.unwrap();
        digest
    }

    /// Stores an image (config + one layer) and tags it when `tag` is set.
    async fn image(&self, repo: &str, name: &str, tag: Option<&str>) -> Digest {
        let config = self
            .blob(repo, format!("{{\"n\":\"{name}\"}}").as_bytes())
            .await;
        let layer = self.blob(repo, format!("layer {name}").as_bytes()).await;
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": crate::media::OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": config.to_string(), "size": 1},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                        "digest": layer.to_string(), "size": 1}],
        });
        let body = Bytes::from(manifest.to_string());
        let digest = crate::digests::sha256_of(&body);
        let reference = match tag {
            Some(t) => ManifestRef::Tag(t.to_string()),
            None => ManifestRef::Digest(digest.clone()),
        };
        self.storage
            .put_manifest(repo, &reference, None, body, &[])
            .await
            .unwrap()
            .digest
    }

    /// Sets a link's mtime to `ago` before now.
    fn age(&self, key: &str, ago: Duration) {
        let f = std::fs::File::options()
            .write(true)
            .open(self.dir.path().join(key))
            .unwrap();
        f.set_modified(SystemTime::now() - ago).unwrap();
    }
}

fn config(toml_text: &str) -> RetentionConfig {
    let c: RetentionConfig = toml::from_str(toml_text).unwrap();
    c.validate().unwrap();
    c
}

fn names(plan: &Plan) -> Vec<String> {
    let mut out: Vec<String> = plan.tags.iter().map(|t| t.tag.clone()).collect();
    out.sort();
    out
}

#[tokio::test]
async fn keeps_the_newest_and_matching_tags_and_drops_the_rest() {
    let f = Fixture::new();
    let hour = Duration::from_secs(3600);
    // v1 oldest ... v5 newest; release-1 old but kept by name.
    for (i, tag) in ["v1", "v2", "v3", "v4", "v5", "release-1"]
        .iter()
        .enumerate()
    {
        f.image("team/app", tag, Some(tag)).await;
        let age = if *tag == "release-1" {
            100
        } else {
            10 - i as u32
        };
        f.age(&paths::tag_link("team/app", tag), hour * age);
    }
    f.image("other/app", "o1", Some("o1")).await;
    let c = config(
        r#"
        [[policies]]
        repositories = ["team/*"]
        keep_last = 2
        keep_tags = ["release-*"]
        "#,
    );
    let plan = plan(&f.storage, &c).await.unwrap();
    assert_eq!(names(&plan), ["v1", "v2", "v3"]);
    assert!(plan.manifests.is_empty(), "no untagged rule");

    let applied = apply(&f.storage, &plan, &|| Ok(())).await.unwrap();
    assert_eq!(applied.tags_deleted, 3);
    assert_eq!(
        f.storage.tags("team/app").await.unwrap(),
        ["release-1", "v4", "v5"]
    );
    assert_eq!(f.storage.tags("other/app").await.unwrap(), ["o1"]);
}

#[tokio::test]
async fn untagged_manifests_go_only_when_old_enough() {
    let f = Fixture::new();
    let day = Duration::from_secs(86_400);
    let old = f.image("team/app", "old", None).await;
    let young = f.image("team/app", "young", None).await;
    let tagged = f.image("team/app", "kept", Some("kept")).await;
    for d in [&old, &tagged] {
        f.age(&paths::revision_link("team/app", d), day * 3);
    }
    let c = config(
        r#"
        [[policies]]
        repositories = ["team/**"]
        untagged_older_than = "2d"
        "#,
    );
    let plan = plan(&f.storage, &c).await.unwrap();
    assert!(plan.tags.is_empty(), "no tag rule: tags stay");
    let listed: Vec<_> = plan.manifests.iter().map(|m| m.digest.clone()).collect();
    assert_eq!(listed, std::slice::from_ref(&old));

    apply(&f.storage, &plan, &|| Ok(())).await.unwrap();
    let revisions = crate::gc::revisions(&f.storage, "team/app").await.unwrap();
    assert!(!revisions.contains(&old));
    assert!(revisions.contains(&young) && revisions.contains(&tagged));
}

#[tokio::test]
async fn a_tag_pushed_again_after_the_plan_stays() {
    let f = Fixture::new();
    f.image("team/app", "a", Some("a")).await;
    f.age(&paths::tag_link("team/app", "a"), Duration::from_secs(7200));
    f.image("team/app", "b", Some("b")).await;
    let c = config("[[policies]]\nrepositories = [\"team/app\"]\nkeep_last = 1\n");
    let plan = plan(&f.storage, &c).await.unwrap();
    assert_eq!(names(&plan), ["a"]);
    // Pushed again between the plan and its application.
    f.image("team/app", "a2", Some("a")).await;
    let applied = apply(&f.storage, &plan, &|| Ok(())).await.unwrap();
    assert_eq!((applied.tags_deleted, applied.skipped), (0, 1));
    assert_eq!(f.storage.tags("team/app").await.unwrap(), ["a", "b"]);
}

#[tokio::test]
async fn the_dry_run_lists_the_blobs_the_plan_frees_and_the_real_run_frees_them() {
    let f = Fixture::new();
    let day = Duration::from_secs(86_400);
    let gone = f.image("team/app", "gone", None).await;
    f.age(&paths::revision_link("team/app", &gone), day * 3);
    f.image("team/app", "kept", Some("kept")).await;
    let body = f.storage.blob_bytes(&gone).await.unwrap();
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let mut freed: Vec<String> = vec![
        v["config"]["digest"].as_str().unwrap().to_string(),
        v["layers"][0]["digest"].as_str().unwrap().to_string(),
        gone.to_string(),
    ];
    freed.sort();
    let c = config("[[policies]]\nrepositories = [\"**\"]\nuntagged_older_than = \"1d\"\n");
    let opts = |dry_run| run::CollectOptions {
        dry_run,
        sweep: true,
        gc: crate::gc::GcOptions::default(),
        lease_ttl: Duration::from_secs(60),
        owner: "test".into(),
    };
    let blobs = |c: &run::Collected| {
        let mut b: Vec<String> =
            c.gc.blobs_removed
                .iter()
                .map(|(d, _)| d.to_string())
                .collect();
        b.sort();
        b
    };
    let run::Outcome::Done(dry) = run::collect(&f.storage, &c, opts(true)).await.unwrap() else {
        panic!("a dry run takes no lease");
    };
    assert_eq!(blobs(&dry), freed);
    assert!(f.storage.global_blob(&gone).await.unwrap().is_some());
    let run::Outcome::Done(real) = run::collect(&f.storage, &c, opts(false)).await.unwrap() else {
        panic!("nobody else holds the lease");
    };
    assert_eq!(real.applied.manifests_deleted, 1);
    assert_eq!(blobs(&real), freed);
    for d in &freed {
        let d: Digest = d.parse().unwrap();
        assert!(f.storage.global_blob(&d).await.unwrap().is_none(), "{d}");
    }
}

/// With `delete_untagged`, the manifests a plan's tag deletions leave
/// untagged are collected by the real run's GC; the dry run lists them and
/// their blobs too.
#[tokio::test]
async fn with_delete_untagged_the_dry_run_frees_what_the_real_run_frees() {
    let f = Fixture::new();
    let day = Duration::from_secs(86_400);
    let old = f.image("team/app", "old", Some("a")).await;
    f.age(&paths::tag_link("team/app", "a"), day * 2);
    f.age(&paths::revision_link("team/app", &old), day * 2);
    f.image("team/app", "new", Some("b")).await;
    let c = config("[[policies]]\nrepositories = [\"team/app\"]\nkeep_last = 1\n");
    let opts = |dry_run| run::CollectOptions {
        dry_run,
        sweep: true,
        gc: crate::gc::GcOptions {
            delete_untagged: true,
            ..Default::default()
        },
        lease_ttl: Duration::from_secs(60),
        owner: "test".into(),
    };
    let report = |c: &run::Collected| {
        let mut b: Vec<String> =
            c.gc.blobs_removed
                .iter()
                .map(|(d, _)| d.to_string())
                .collect();
        b.sort();
        let m: Vec<String> =
            c.gc.manifests_removed
                .iter()
                .map(|(_, d)| d.to_string())
                .collect();
        (m, b)
    };
    let run::Outcome::Done(dry) = run::collect(&f.storage, &c, opts(true)).await.unwrap() else {
        panic!("a dry run takes no lease");
    };
    assert_eq!(report(&dry).0, [old.to_string()]);
    assert_eq!(report(&dry).1.len(), 3, "{:?}", report(&dry));
    let run::Outcome::Done(real) = run::collect(&f.storage, &c, opts(false)).await.unwrap() else {
        panic!("nobody else holds the lease");
    };
    assert_eq!(report(&real), report(&dry));
}

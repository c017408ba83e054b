//! One conformance suite for every byte-store driver: each case below runs
//! unchanged against the filesystem driver and against the S3 driver on a
//! real moto server (127.0.0.1). Each test works under its own key prefix,
//! and its teardown fails the test if anything is left under it.

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use hoist_registry::driver::{ByteStream, Driver, DriverError, FsDriver, S3Config, S3Driver};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

struct Harness {
    driver: Arc<dyn Driver>,
    prefix: String,
    _dir: Option<tempfile::TempDir>,
}

fn unique(case: &str) -> String {
    format!("{case}-{}", hex::encode(rand::random::<[u8; 6]>()))
}

impl Harness {
    fn fs(case: &str) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        Harness {
            driver: Arc::new(FsDriver::new(dir.path()).unwrap()),
            prefix: unique(case),
            _dir: Some(dir),
        }
    }

    fn s3(case: &str) -> Option<Harness> {
        let moto = hoist_testkit::shared_moto(case)?;
        moto.create_bucket("conformance");
        let config = S3Config {
            endpoint: Some(moto.endpoint()),
            bucket: "conformance".into(),
            path_style: true,
            access_key_id: Some("test".into()),
            secret_access_key: Some("test".into()),
            // Small parts so a modest stream already takes the multipart path.
            part_size_bytes: 5 * 1024 * 1024,
            ..S3Config::default()
        };
        Some(Harness {
            driver: Arc::new(S3Driver::new(&config).unwrap()),
            prefix: unique(case),
            _dir: None,
        })
    }

    fn key(&self, k: &str) -> String {
        format!("{}/{k}", self.prefix)
    }

    /// Fails when the case left any object under its prefix.
    async fn teardown(self) {
        let left = walk(&*self.driver, &self.prefix).await;
        assert!(left.is_empty(), "the test left objects behind: {left:?}");
    }
}

/// Every object under `prefix`, recursively.
async fn walk(d: &dyn Driver, prefix: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut pending = vec![prefix.to_string()];
    while let Some(dir) = pending.pop() {
        for name in d.list(&dir).await.unwrap() {
            let key = format!("{dir}/{name}");
            if d.stat(&key).await.unwrap().is_some() {
                found.push(key.clone());
            }
            pending.push(key);
        }
    }
    found
}

fn stream_of(chunks: Vec<Bytes>) -> ByteStream {
    futures::stream::iter(chunks.into_iter().map(Ok)).boxed()
}

async fn collect(s: ByteStream) -> Vec<u8> {
    s.try_fold(Vec::new(), |mut v, b| async move {
        v.extend_from_slice(&b);
        Ok(v)
    })
    .await
    .unwrap()
}

macro_rules! conformance {
    ($($case:ident),* $(,)?) => {$(
        mod $case {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn fs() {
                let h = super::Harness::fs(stringify!($case));
                super::$case(&h).await;
                h.teardown().await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn s3() {
                let Some(h) = super::Harness::s3(concat!(module_path!(), "::s3")) else {
                    return;
                };
                super::$case(&h).await;
                h.teardown().await;
            }
        }
    )*};
}

conformance!(
    put_get_stat_overwrite,
    ranges,
    missing_keys,
    list_one_level,
    list_many_keys,
    delete_prefix,
    rename_replaces,
    put_stream_multipart,
    put_stream_error_leaves_nothing,
    concurrent_writers_one_key,
    ready,
);

async fn put_get_stat_overwrite(h: &Harness) {
    let d = &*h.driver;
    let key = h.key("a/obj");
    let before = SystemTime::now() - Duration::from_secs(5);
    d.put(&key, Bytes::from_static(b"hello")).await.unwrap();
    assert_eq!(d.get(&key).await.unwrap(), Bytes::from_static(b"hello"));
    let meta = d.stat(&key).await.unwrap().expect("stat after put");
    assert_eq!(meta.size, 5);
    assert!(
        meta.modified > before,
        "mtime {:?} is not recent",
        meta.modified
    );
    d.put(&key, Bytes::from_static(b"bye")).await.unwrap();
    assert_eq!(d.get(&key).await.unwrap(), Bytes::from_static(b"bye"));
    assert_eq!(d.stat(&key).await.unwrap().unwrap().size, 3);
    // An empty object is an object.
    let empty = h.key("a/empty");
    d.put(&empty, Bytes::new()).await.unwrap();
    assert_eq!(d.stat(&empty).await.unwrap().unwrap().size, 0);
    assert!(collect(d.get_range(&empty, None).await.unwrap())
        .await
        .is_empty());
    d.delete(&key).await.unwrap();
    d.delete(&empty).await.unwrap();
    assert!(d.stat(&key).await.unwrap().is_none());
}

async fn ranges(h: &Harness) {
    let d = &*h.driver;
    let key = h.key("r");
    let data: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
    d.put(&key, Bytes::from(data.clone())).await.unwrap();
    assert_eq!(collect(d.get_range(&key, None).await.unwrap()).await, data);
    assert_eq!(
        collect(d.get_range(&key, Some((2, 5))).await.unwrap()).await,
        data[2..5]
    );
    assert_eq!(
        collect(d.get_range(&key, Some((9_000, 10_000))).await.unwrap()).await,
        data[9_000..]
    );
    assert!(collect(d.get_range(&key, Some((7, 7))).await.unwrap())
        .await
        .is_empty());
    d.delete(&key).await.unwrap();
}

async fn missing_keys(h: &Harness) {
    let d = &*h.driver;
    let key = h.key("nothing/here");
    assert!(matches!(d.get(&key).await, Err(DriverError::NotFound(_))));
    assert!(matches!(
        d.get_range(&key, None).await,
        Err(DriverError::NotFound(_))
    ));
    assert!(matches!(
        d.get_range(&key, Some((0, 1))).await,
        Err(DriverError::NotFound(_))
    ));
    assert!(d.stat(&key).await.unwrap().is_none());
    assert!(d.list(&key).await.unwrap().is_empty());
    d.delete(&key)
        .await
        .expect("deleting a missing key is not an error");
    let renamed = d.rename(&key, &h.key("elsewhere")).await;
    assert!(
        matches!(renamed, Err(DriverError::NotFound(_))),
        "{renamed:?}"
    );
    // A prefix of a name is not a parent of it.
    d.put(&h.key("abc"), Bytes::from_static(b"x"))
        .await
        .unwrap();
    assert!(d.stat(&h.key("ab")).await.unwrap().is_none());
    assert!(d.list(&h.key("ab")).await.unwrap().is_empty());
    d.delete(&h.key("ab")).await.unwrap();
    assert!(
        d.stat(&h.key("abc")).await.unwrap().is_some(),
        "delete(ab) removed abc"
    );
    d.delete(&h.key("abc")).await.unwrap();
}

async fn list_one_level(h: &Harness) {
    let d = &*h.driver;
    for k in ["l/b", "l/a", "l/d/x", "l/d/y/z", "l/c/w"] {
        d.put(&h.key(k), Bytes::from_static(b"1")).await.unwrap();
    }
    assert_eq!(d.list(&h.key("l")).await.unwrap(), ["a", "b", "c", "d"]);
    assert_eq!(d.list(&h.key("l/d")).await.unwrap(), ["x", "y"]);
    // Listing an object (not a prefix) is empty.
    assert!(d.list(&h.key("l/a")).await.unwrap().is_empty());
    d.delete(&h.key("l")).await.unwrap();
}

async fn list_many_keys(h: &Harness) {
    // More than one page of S3's ListObjectsV2 (1000 keys).
    const N: usize = 1010;
    let d = h.driver.clone();
    futures::stream::iter(0..N)
        .map(|i| {
            let d = d.clone();
            let key = h.key(&format!("many/k{i:05}"));
            async move { d.put(&key, Bytes::from(i.to_string())).await }
        })
        .buffer_unordered(32)
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    let names = d.list(&h.key("many")).await.unwrap();
    let expected: Vec<String> = (0..N).map(|i| format!("k{i:05}")).collect();
    assert_eq!(names, expected);
    d.delete(&h.key("many")).await.unwrap();
    assert!(d.list(&h.key("many")).await.unwrap().is_empty());
}

async fn delete_prefix(h: &Harness) {
    let d = &*h.driver;
    for k in ["p/1", "p/q/2", "p/q/r/3", "pp/keep"] {
        d.put(&h.key(k), Bytes::from_static(b"1")).await.unwrap();
    }
    d.delete(&h.key("p")).await.unwrap();
    assert!(walk(d, &h.key("p")).await.is_empty());
    assert!(
        d.stat(&h.key("pp/keep")).await.unwrap().is_some(),
        "a sibling prefix went too"
    );
    d.delete(&h.key("pp")).await.unwrap();
}

async fn rename_replaces(h: &Harness) {
    let d = &*h.driver;
    let (from, to) = (h.key("m/from"), h.key("n/to"));
    d.put(&from, Bytes::from_static(b"new")).await.unwrap();
    d.put(&to, Bytes::from_static(b"old contents"))
        .await
        .unwrap();
    d.rename(&from, &to).await.unwrap();
    assert!(d.stat(&from).await.unwrap().is_none());
    assert_eq!(d.get(&to).await.unwrap(), Bytes::from_static(b"new"));
    d.delete(&to).await.unwrap();
}

async fn put_stream_multipart(h: &Harness) {
    let d = &*h.driver;
    let key = h.key("big");
    // 11 MiB in 64 KiB chunks: three 5 MiB-class parts on S3.
    let chunks: Vec<Bytes> = (0..176u32)
        .map(|i| Bytes::from(vec![(i % 251) as u8; 64 * 1024]))
        .collect();
    let expected: Vec<u8> = chunks.iter().flat_map(|c| c.iter().copied()).collect();
    let size = d.put_stream(&key, stream_of(chunks)).await.unwrap();
    assert_eq!(size, expected.len() as u64);
    assert_eq!(d.stat(&key).await.unwrap().unwrap().size, size);
    assert!(collect(d.get_range(&key, None).await.unwrap()).await == expected);
    let mid = 5 * 1024 * 1024 - 10;
    assert!(
        collect(d.get_range(&key, Some((mid, mid + 20))).await.unwrap()).await
            == expected[mid as usize..mid as usize + 20]
    );
    d.delete(&key).await.unwrap();
}

async fn put_stream_error_leaves_nothing(h: &Harness) {
    let d = &*h.driver;
    let key = h.key("broken");
    d.put(&key, Bytes::from_static(b"old")).await.unwrap();
    // Enough data to have started a multipart upload before the body fails.
    let body = futures::stream::iter(
        (0..120)
            .map(|_| Ok(Bytes::from(vec![7u8; 64 * 1024])))
            .chain(std::iter::once(Err(std::io::Error::other(
                "client went away",
            )))),
    )
    .boxed();
    let err = d.put_stream(&key, body).await.unwrap_err();
    assert!(matches!(err, DriverError::Io { .. }), "{err:?}");
    assert_eq!(d.get(&key).await.unwrap(), Bytes::from_static(b"old"));
    let fresh = h.key("never");
    let body = futures::stream::iter([Err(std::io::Error::other("cut"))]).boxed();
    assert!(d.put_stream(&fresh, body).await.is_err());
    assert!(d.stat(&fresh).await.unwrap().is_none());
    d.delete(&key).await.unwrap();
}

async fn concurrent_writers_one_key(h: &Harness) {
    let key = h.key("contended");
    let writers: Vec<_> = (0..6u8)
        .map(|i| {
            let d = h.driver.clone();
            let key = key.clone();
            tokio::spawn(async move {
                let chunks = vec![Bytes::from(vec![i; 256 * 1024]); 4];
                d.put_stream(&key, stream_of(chunks)).await.unwrap()
            })
        })
        .collect();
    for w in writers {
        assert_eq!(w.await.unwrap(), 1024 * 1024);
    }
    // One writer's bytes, whole: never a mix or a partial object.
    let got = h.driver.get(&key).await.unwrap();
    assert_eq!(got.len(), 1024 * 1024);
    assert!(
        got.iter().all(|b| *b == got[0]) && got[0] < 6,
        "mixed object"
    );
    h.driver.delete(&key).await.unwrap();
}

async fn ready(h: &Harness) {
    h.driver.ready().await.unwrap();
}

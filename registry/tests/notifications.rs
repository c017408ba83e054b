//! Notifications: distribution's event envelope reaches a receiver on a real
//! loopback socket for each manifest push, pull and delete; events wait on
//! disk while the receiver is down (and across a restart); a dead endpoint
//! never holds up a push.

mod common;

use common::*;
use hoist_registry::notify::EndpointConfig;
use hoist_testkit::wait_until;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);
const ENVELOPE: &str = "application/vnd.docker.distribution.events.v1+json";

/// One POST the receiver got: its headers (lowercased names) and JSON body.
#[derive(Clone, Debug)]
struct Delivery {
    headers: Vec<(String, String)>,
    body: Value,
}

impl Delivery {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A small HTTP/1.1 webhook receiver on its own threads: answers every
/// request 200 and records it (keep-alive connections served to the end).
struct Receiver {
    addr: SocketAddr,
    got: Arc<Mutex<Vec<Delivery>>>,
}

impl Receiver {
    fn start() -> Receiver {
        Receiver::on(TcpListener::bind("127.0.0.1:0").unwrap())
    }

    fn on(listener: TcpListener) -> Receiver {
        let addr = listener.local_addr().unwrap();
        let got = Arc::new(Mutex::new(Vec::new()));
        let sink = got.clone();
        // Ends with the test process; it only ever answers loopback peers.
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let sink = sink.clone();
                std::thread::spawn(move || serve(conn, &sink));
            }
        });
        Receiver { addr, got }
    }

    fn url(&self) -> String {
        format!("http://{}/events", self.addr)
    }

    fn events(&self) -> Vec<Value> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .flat_map(|d| d.body["events"].as_array().cloned().unwrap_or_default())
            .collect()
    }

    fn wait_for(&self, n: usize) -> Vec<Value> {
        wait_until(&format!("{n} events at the receiver"), WAIT, || {
            self.events().len() >= n
        });
        self.events()
    }
}

fn serve(conn: TcpStream, sink: &Mutex<Vec<Delivery>>) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut out = conn;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((n, v)) = h.split_once(':') {
                headers.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
        }
        let len: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .map_or(0, |(_, v)| v.parse().unwrap());
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        sink.lock().unwrap().push(Delivery {
            headers,
            body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        });
        if out
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
            .is_err()
        {
            return;
        }
    }
}

/// The events about manifests (config and layer blobs left out).
fn manifest_events(events: &[Value]) -> Vec<Value> {
    events
        .iter()
        .filter(|e| e["target"]["mediaType"] != "application/octet-stream")
        .cloned()
        .collect()
}

fn endpoint(name: &str, url: &str) -> EndpointConfig {
    EndpointConfig {
        name: name.into(),
        url: url.into(),
        timeout: Duration::from_secs(5),
        threshold: 1,
        backoff: Duration::from_millis(50),
        ..EndpointConfig::default()
    }
}

/// A loopback address nothing listens on (bound, then released).
fn closed_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// One counter of /metrics, read over a plain socket (callable from the
/// synchronous `wait_until`).
fn metric(reg: &Reg, family: &str, endpoint: &str) -> u64 {
    let addr = reg.url.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let key = format!("hoist_registry_notifications_{family}{{endpoint=\"{endpoint}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&key))
        .map_or(0, |v| v.trim().parse().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_pull_delete_each_send_one_event_with_distributions_fields() {
    let receiver = Receiver::start();
    let filtered = Receiver::start();
    let reg = Reg::start_with(|c| {
        let mut hook = endpoint("hook", &receiver.url());
        hook.headers
            .insert("Authorization".into(), vec!["Bearer s3cret".into()]);
        let mut no_pulls = endpoint("no-pulls", &filtered.url());
        no_pulls.ignore.actions = vec!["pull".into()];
        c.notifications.endpoints = vec![hook, no_pulls];
    })
    .await;
    let layer = random_bytes(3000);
    let layer_digest = sha256(&layer);
    let (digest, manifest) = reg.push_image("team/app", "v1", &layer).await;

    // HEADs are existence checks, not pulls: no event (as distribution's blob HEAD).
    assert_eq!(reg.head("/v2/team/app/manifests/v1").await.status(), 200);
    assert_eq!(
        reg.head(&format!("/v2/team/app/blobs/{layer_digest}"))
            .await
            .status(),
        200
    );
    assert_eq!(reg.get("/v2/team/app/manifests/v1").await.status(), 200);
    let r = reg.get(&format!("/v2/team/app/blobs/{layer_digest}")).await;
    assert_eq!(r.bytes().await.unwrap().len(), layer.len());
    let del = |path: String| reg.http.delete(reg.u(&path)).send();
    // A cross-repository mount is its own action, naming the source.
    let r = reg
        .http
        .post(reg.u(&format!(
            "/v2/other/app/blobs/uploads/?mount={layer_digest}&from=team/app"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(
        del(format!("/v2/team/app/manifests/{digest}"))
            .await
            .unwrap()
            .status(),
        202
    );
    assert_eq!(
        del(format!("/v2/team/app/blobs/{layer_digest}"))
            .await
            .unwrap()
            .status(),
        202
    );

    let events = receiver.wait_for(8);
    let actions: Vec<&str> = events
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["push", "push", "push", "pull", "pull", "mount", "delete", "delete"],
        "{events:#?}"
    );
    // The config and the layer blob, then the manifest (as distribution's
    // listener reports BlobPushed on upload commit).
    let layer_push = &events[1]["target"];
    assert_eq!(layer_push["mediaType"], "application/octet-stream");
    assert_eq!(layer_push["digest"], layer_digest.as_str());
    assert_eq!(layer_push["size"], layer.len());
    let push = &events[2]["target"];
    assert_eq!(push["mediaType"], OCI_MANIFEST);
    assert_eq!(push["digest"], digest.as_str());
    assert_eq!(push["repository"], "team/app");
    assert_eq!(push["tag"], "v1");
    assert_eq!(push["size"], manifest.len());
    assert_eq!(push["length"], manifest.len());
    let host = reg.url.trim_start_matches("http://");
    assert_eq!(
        push["url"],
        format!("http://{host}/v2/team/app/manifests/{digest}")
    );
    let manifest_pull = &events[3]["target"];
    assert_eq!(manifest_pull["digest"], digest.as_str());
    assert_eq!(manifest_pull["tag"], "v1");
    assert_eq!(manifest_pull["mediaType"], OCI_MANIFEST);
    let blob_pull = &events[4]["target"];
    assert_eq!(blob_pull["digest"], layer_digest.as_str());
    assert_eq!(blob_pull["size"], layer.len());
    assert_eq!(blob_pull["repository"], "team/app");
    let mount = &events[5]["target"];
    assert_eq!(mount["repository"], "other/app");
    assert_eq!(mount["fromRepository"], "team/app");
    assert_eq!(events[6]["target"]["digest"], digest.as_str());
    assert_eq!(events[7]["target"]["digest"], layer_digest.as_str());
    for e in &events {
        assert_eq!(e["request"]["host"], host);
        assert!(e["id"].as_str().unwrap().len() == 36, "{e}");
        assert!(e["timestamp"].as_str().unwrap().ends_with('Z'));
        assert!(!e["source"]["instanceID"].as_str().unwrap().is_empty());
    }
    assert_eq!(events[2]["request"]["method"], "PUT");
    assert_eq!(events[3]["request"]["method"], "GET");
    assert_eq!(events[6]["request"]["method"], "DELETE");
    // Each event came in distribution's envelope, with the configured headers.
    let first = receiver.got.lock().unwrap()[0].clone();
    assert_eq!(first.header("content-type"), Some(ENVELOPE));
    assert_eq!(first.header("authorization"), Some("Bearer s3cret"));

    // The filtered endpoint got everything but the pulls.
    let filtered_events = filtered.wait_for(6);
    let actions: Vec<&str> = filtered_events
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["push", "push", "push", "mount", "delete", "delete"]
    );

    wait_until("sent_total counted", WAIT, || {
        metric(&reg, "sent_total", "hook") == 8
    });
    assert_eq!(metric(&reg, "queued_total", "hook"), 8);
    assert_eq!(metric(&reg, "queued_total", "no-pulls"), 6);
    assert_eq!(metric(&reg, "pending", "hook"), 0);
    // No more than one event per action arrived.
    assert_eq!(receiver.events().len(), 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_is_down_gets_the_queued_events_when_it_comes_up() {
    let addr = closed_addr();
    let reg = Reg::start_with(|c| {
        c.notifications.endpoints = vec![endpoint("late", &format!("http://{addr}/events"))];
    })
    .await;
    let (digest, _) = reg.push_image("late/app", "v1", b"layer").await;
    let (digest2, _) = reg.push_image("late/app", "v2", b"other layer").await;
    wait_until("a failed delivery", WAIT, || {
        metric(&reg, "failed_total", "late") >= 2
    });
    assert_eq!(metric(&reg, "pending", "late"), 6);

    let receiver = Receiver::on(TcpListener::bind(addr).unwrap());
    let events = manifest_events(&receiver.wait_for(6));
    assert_eq!(events[0]["target"]["digest"], digest.as_str());
    assert_eq!(events[0]["target"]["tag"], "v1");
    assert_eq!(events[1]["target"]["digest"], digest2.as_str());
    wait_until("queue drained", WAIT, || {
        metric(&reg, "pending", "late") == 0
    });
    assert_eq!(metric(&reg, "sent_total", "late"), 6);
    assert!(reg.files_containing("_notifications/late/").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_endpoint_does_not_hold_up_pushes() {
    // A blackhole: connections are accepted by the kernel, never answered.
    let blackhole = TcpListener::bind("127.0.0.1:0").unwrap();
    let hole = blackhole.local_addr().unwrap();
    let closed = closed_addr();
    let reg = Reg::start_with(|c| {
        let mut slow = endpoint("blackhole", &format!("http://{hole}/events"));
        slow.timeout = Duration::from_secs(600);
        c.notifications.endpoints = vec![slow, endpoint("closed", &format!("http://{closed}/"))];
    })
    .await;
    let (digest, _) = reg.push_image("dead/app", "v1", b"layer").await;
    // The manifest PUT returned while the blackhole has not answered the
    // first event's POST (its timeout is ten minutes).
    reg.push_image("dead/app", "v2", b"layer 2").await;
    assert_eq!(
        reg.get(&format!("/v2/dead/app/manifests/{digest}"))
            .await
            .status(),
        200
    );
    assert_eq!(metric(&reg, "sent_total", "blackhole"), 0);
    assert_eq!(metric(&reg, "failed_total", "blackhole"), 0);
    assert_eq!(metric(&reg, "queued_total", "blackhole"), 7);
    assert_eq!(metric(&reg, "queued_total", "closed"), 7);
    drop(blackhole);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_registry_still_delivers_queued_events() {
    let addr = closed_addr();
    let mut reg = Reg::start_with(|c| {
        let mut ep = endpoint("durable", &format!("http://{addr}/events"));
        // After its first failure the first instance waits a minute, so only
        // the restarted one can deliver within the test.
        ep.backoff = Duration::from_secs(60);
        c.notifications.endpoints = vec![ep];
    })
    .await;
    let (digest, _) = reg.push_image("keep/app", "v1", b"layer").await;
    wait_until("a failed delivery", WAIT, || {
        metric(&reg, "failed_total", "durable") == 1
    });
    assert_eq!(reg.files_containing("_notifications/durable/").len(), 3);

    let receiver = Receiver::on(TcpListener::bind(addr).unwrap());
    reg.restart().await;
    let events = manifest_events(&receiver.wait_for(3));
    assert_eq!(events[0]["action"], "push");
    assert_eq!(events[0]["target"]["digest"], digest.as_str());
    wait_until("delivered by the new instance", WAIT, || {
        metric(&reg, "sent_total", "durable") == 3
    });
    wait_until("queue file removed", WAIT, || {
        reg.files_containing("_notifications/durable/").is_empty()
    });
    assert_eq!(receiver.events().len(), 3);
}

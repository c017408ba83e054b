//! Tag lists and the catalog of `hoist registry serve` as a pull-through
//! cache, against Debian's docker-registry (CNCF distribution 2.8) as the
//! upstreams: a proxied repository lists upstream's tags (also ones never
//! pulled through), paged with `n`/`last`/`Link`; a prefix route lists its
//! own upstream's tags (and pulls from it); the catalog is the local
//! repositories only, as in distribution's proxy mode; with upstream stopped
//! the cached tags are listed.

use super::http;
use super::layout;
use super::proxy::{copy_out, Distribution};
use super::skopeo::{skopeo, skopeo_ok};
use super::Server;
use hoist_testkit::{require_program, TempRoot};
use std::path::Path;

/// Pushes the layout's `v1` image to `host` as `repo:tag`.
fn push_as(tmp: &Path, layout: &Path, host: &str, repo: &str, tag: &str) {
    skopeo_ok(
        tmp,
        &[
            "copy",
            "--dest-tls-verify=false",
            &format!("oci:{}:v1", layout.display()),
            &format!("docker://{host}/{repo}:{tag}"),
        ],
    );
}

/// `skopeo list-tags` through `host`: the tags, in skopeo's order.
fn list_tags(tmp: &Path, host: &str, repo: &str) -> Vec<String> {
    let out = skopeo_ok(
        tmp,
        &[
            "list-tags",
            "--tls-verify=false",
            &format!("docker://{host}/{repo}"),
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mut tags: Vec<String> = v["Tags"]
        .as_array()
        .unwrap_or_else(|| panic!("no Tags in {out}"))
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    tags.sort();
    tags
}

/// GET `path` from the mirror: (JSON body, Link header).
fn get_json(port: u16, path: &str) -> (serde_json::Value, Option<String>) {
    let reply = http::request(port, "GET", path, &[], b"");
    assert_eq!(reply.status, 200, "{path}: {}", reply.text());
    let link = reply.header("link").map(str::to_string);
    (serde_json::from_str(&reply.text()).unwrap(), link)
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn proxy_lists_upstream_tags_paged_by_prefix_and_local_tags_when_upstream_is_down() {
    require_program!("skopeo");
    require_program!("docker-registry");
    let tmp = TempRoot::new();
    let mut main_up = Distribution::start();
    let hub_up = Distribution::start();
    let src = tmp.join("src");
    layout::single(&src, "v1", &[4096]);
    let (main_host, hub_host) = (main_up.host(), hub_up.host());
    push_as(tmp.path(), &src, &main_host, "e2e/tags", "v1");
    // The same name on the other upstream, with other tags: a prefix route
    // must list its own upstream's.
    push_as(tmp.path(), &src, &hub_host, "library/x", "hub-1");
    push_as(tmp.path(), &src, &main_host, "docker.io/library/x", "wrong");

    let root = TempRoot::new();
    let config = root.join("proxy.toml");
    std::fs::write(
        &config,
        format!(
            "[proxy]\nurl = \"http://{main_host}\"\ntag_ttl_seconds = 3600\n\
             [[proxy.upstreams]]\nprefix = \"docker.io/*\"\nurl = \"http://{hub_host}\"\n"
        ),
    )
    .unwrap();
    let config = config.display().to_string();
    let mirror = Server::start_in(root, &["--config", &config]);
    let host = mirror.host();

    // v1 pulled through (cached); v2 and v3 exist upstream only.
    let out = copy_out(tmp.path(), &host, "e2e/tags:v1", &tmp.join("pulled"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for tag in ["v2", "v3"] {
        push_as(tmp.path(), &src, &main_host, "e2e/tags", tag);
    }
    push_as(tmp.path(), &src, &main_host, "e2e/never-pulled", "v1");
    assert_eq!(list_tags(tmp.path(), &host, "e2e/tags"), ["v1", "v2", "v3"]);
    assert_eq!(
        list_tags(tmp.path(), &host, "docker.io/library/x"),
        ["hub-1"]
    );

    // Paged with n and last over upstream's list (distribution 2.8 itself
    // ignores n): two pages, the Link of the first leads to the second.
    let (page, link) = get_json(mirror.port, "/v2/e2e/tags/tags/list?n=2");
    assert_eq!(page["name"], "e2e/tags");
    assert_eq!(strings(&page["tags"]), ["v1", "v2"]);
    let link = link.expect("a Link header on a page with more after it");
    assert_eq!(link, "</v2/e2e/tags/tags/list?last=v2&n=2>; rel=\"next\"");
    let next = link.trim_start_matches('<').split('>').next().unwrap();
    let (page, link) = get_json(mirror.port, next);
    assert_eq!(strings(&page["tags"]), ["v3"]);
    assert_eq!(link, None, "the last page has no Link");

    // A repository upstream does not have (and nothing local): NAME_UNKNOWN.
    let reply = http::request(mirror.port, "GET", "/v2/e2e/nowhere/tags/list", &[], b"");
    assert_eq!(reply.status, 404, "{}", reply.text());
    assert!(reply.text().contains("NAME_UNKNOWN"), "{}", reply.text());

    // The prefix route pulls from its upstream too, stored under the local
    // name.
    let out = copy_out(
        tmp.path(),
        &host,
        "docker.io/library/x:hub-1",
        &tmp.join("hub"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The catalog: what is stored here (the pulled-through repositories), not
    // upstream's (e2e/never-pulled), as distribution's proxy answers.
    let (catalog, _) = get_json(mirror.port, "/v2/_catalog");
    assert_eq!(
        strings(&catalog["repositories"]),
        ["docker.io/library/x", "e2e/tags"]
    );

    // Upstream stopped: the local (cached) tags are listed.
    main_up.peer.guard.kill();
    assert_eq!(list_tags(tmp.path(), &host, "e2e/tags"), ["v1"]);
    let out = skopeo(
        tmp.path(),
        &[
            "list-tags",
            "--tls-verify=false",
            &format!("docker://{host}/e2e/never-pulled"),
        ],
    );
    assert!(!out.status.success(), "nothing cached, upstream down");
    assert!(
        std::fs::read_to_string(&mirror.log)
            .unwrap()
            .contains("no tag list from upstream"),
        "the mirror says why it lists the local tags"
    );
}

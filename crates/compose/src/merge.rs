//! Merging several compose files (`-f a -f b`, or a file and its override) the way docker
//! compose does: mappings merge key by key, scalars are replaced, and sequences follow
//! compose's per-field rules (compose-go's `override` package):
//! - `command`, `entrypoint`, `healthcheck.test` are replaced whole;
//! - `environment`, `labels`, `build.args`, `sysctls`, ... (KEY=VALUE lists or mappings) become
//!   mappings and merge by key, as do `depends_on` and a service's `networks` lists;
//! - `ports`, `volumes`, `expose`, `env_file`, `tmpfs`, `profiles`, `dns`, `cap_add`, ... merge
//!   by their key (a volume by its target, a port by its whole spec): an entry of the later file
//!   replaces the earlier one with the same key, new ones are appended;
//! - any other sequence is appended to.
//!
//! A `null` in the later file leaves the earlier value alone; `!reset` removes the earlier
//! value, `!override` replaces it whole (compose's merge tags).

use crate::yaml::{Node, Value};

/// Merges `over` onto `base`; both are whole files (already interpolated).
pub fn merge(base: Node, over: Node) -> Node {
    merge_at(base, over, &mut Vec::new())
}

/// Drops `!reset` entries left in a file (one with nothing under it to reset, or the only file).
pub fn strip_resets(node: &mut Node) {
    match &mut node.value {
        Value::Map(entries) => {
            entries.retain(|(_, v)| !v.has_tag("!reset"));
            entries.iter_mut().for_each(|(_, v)| strip_resets(v));
        }
        Value::Seq(items) => {
            items.retain(|v| !v.has_tag("!reset"));
            items.iter_mut().for_each(strip_resets);
        }
        _ => {}
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Rule {
    Replace,
    ToMap,
    Keyed,
    Default,
}

fn rule(path: &[String]) -> Rule {
    let p: Vec<&str> = path.iter().map(String::as_str).collect();
    match p.as_slice() {
        ["services", _, "command" | "entrypoint"] | ["services", _, "healthcheck", "test"] => {
            Rule::Replace
        }
        ["services", _, "environment" | "labels" | "sysctls" | "annotations" | "depends_on" | "networks"]
        | ["services", _, "build", "args" | "labels"]
        | ["services", _, "deploy", "labels"]
        | ["networks" | "volumes", _, "labels"] => Rule::ToMap,
        ["services", _, "ports" | "volumes" | "expose" | "env_file" | "tmpfs" | "profiles" | "dns"
        | "dns_search" | "dns_opt" | "cap_add" | "cap_drop" | "devices" | "secrets" | "configs"
        | "links" | "extra_hosts"]
        | ["services", _, "networks", _, "aliases"] => Rule::Keyed,
        _ => Rule::Default,
    }
}

fn merge_at(base: Node, over: Node, path: &mut Vec<String>) -> Node {
    if over.has_tag("!override") {
        return over;
    }
    if over.is_null() {
        return base;
    }
    match rule(path) {
        Rule::Replace => over,
        Rule::ToMap => {
            let (base, over) = (to_map(base), to_map(over));
            merge_maps(base, over, path)
        }
        Rule::Keyed => match (base.value, over.value) {
            (Value::Seq(b), Value::Seq(o)) => {
                let mut items = b;
                for item in o {
                    let key = item_key(path.last().map(String::as_str), &item);
                    match items
                        .iter_mut()
                        .find(|i| item_key(path.last().map(String::as_str), i) == key)
                    {
                        Some(slot) => *slot = item,
                        None => items.push(item),
                    }
                }
                Node::new(Value::Seq(items), over.pos)
            }
            (_, value) => Node::new(value, over.pos),
        },
        Rule::Default => merge_maps(base, over, path),
    }
}

fn merge_maps(base: Node, over: Node, path: &mut Vec<String>) -> Node {
    match (base.value, over.value) {
        (Value::Map(b), Value::Map(o)) => {
            let mut entries = b;
            for (k, v) in o {
                match entries.iter().position(|(e, _)| *e == k) {
                    Some(i) if v.has_tag("!reset") => {
                        entries.remove(i);
                    }
                    Some(i) => {
                        let old = std::mem::replace(
                            &mut entries[i].1,
                            Node::new(Value::Null, v.pos.clone()),
                        );
                        path.push(k);
                        entries[i].1 = merge_at(old, v, path);
                        path.pop();
                    }
                    None => entries.push((k, v)),
                }
            }
            Node::new(Value::Map(entries), base.pos)
        }
        (Value::Seq(mut b), Value::Seq(o)) => {
            b.extend(o);
            Node::new(Value::Seq(b), over.pos)
        }
        (_, value) => Node::new(value, over.pos),
    }
}

/// `[A=1, B]` → `{A: 1, B: null}`; a list of names (depends_on, networks) → `{name: null}`.
fn to_map(node: Node) -> Node {
    let Value::Seq(items) = node.value else {
        return node;
    };
    let mut entries: Vec<(String, Node)> = Vec::new();
    for item in items {
        let Some(text) = item.as_scalar().map(str::to_string) else {
            // Not a list of strings: leave it for the normalizer to report.
            return Node::new(Value::Seq(vec![item]), node.pos);
        };
        let (k, v) = match text.split_once('=') {
            Some((k, v)) => (k.to_string(), Node::str(v, item.pos.clone())),
            None => (text, Node::new(Value::Null, item.pos.clone())),
        };
        entries.retain(|(e, _)| *e != k);
        entries.push((k, v));
    }
    Node::new(Value::Map(entries), node.pos)
}

/// What identifies an entry of a keyed sequence.
fn item_key(field: Option<&str>, item: &Node) -> String {
    let text = |n: Option<&Node>| n.and_then(Node::as_scalar).unwrap_or("").to_string();
    if let Some(s) = item.as_scalar() {
        return match field {
            Some("volumes" | "devices") => {
                let parts: Vec<&str> = s.split(':').collect();
                parts.get(1).unwrap_or(&parts[0]).to_string()
            }
            _ => s.to_string(),
        };
    }
    match field {
        Some("volumes" | "devices" | "secrets" | "configs") => match item.get("target") {
            Some(t) => text(Some(t)),
            None => text(item.get("source")),
        },
        Some("ports") => format!(
            "{}:{}:{}/{}",
            text(item.get("host_ip")),
            text(item.get("published")),
            text(item.get("target")),
            text(item.get("protocol"))
        ),
        Some("env_file") => text(item.get("path")),
        _ => format!("{item:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::{emit, load};

    fn merged(a: &str, b: &str) -> String {
        emit(&merge(load(a, "a.yml").unwrap(), load(b, "b.yml").unwrap()))
    }

    #[test]
    fn mappings_merge_and_scalars_replace() {
        let out = merged(
            "name: one\nservices:\n  web:\n    image: a\n    user: u\n  db:\n    image: pg\n",
            "name: two\nservices:\n  web:\n    image: b\n  cache:\n    image: redis\n",
        );
        assert_eq!(
            out,
            "name: two\nservices:\n  web:\n    image: b\n    user: u\n  db:\n    image: pg\n  cache:\n    image: redis\n"
        );
    }

    #[test]
    fn command_and_entrypoint_are_replaced() {
        let out = merged(
            "services:\n  a:\n    command: [x, y]\n    entrypoint: [sh]\n    healthcheck:\n      test: [CMD, a]\n      retries: 3\n",
            "services:\n  a:\n    command: [z]\n    healthcheck:\n      test: [CMD, b]\n",
        );
        assert_eq!(
            out,
            "services:\n  a:\n    command:\n      - z\n    entrypoint:\n      - sh\n    healthcheck:\n      test:\n        - CMD\n        - b\n      retries: 3\n"
        );
    }

    #[test]
    fn environment_lists_and_maps_merge_by_key() {
        let out = merged(
            "services:\n  a:\n    environment: [A=1, B=2, C]\n",
            "services:\n  a:\n    environment:\n      B: three\n      D: 4\n",
        );
        assert_eq!(
            out,
            "services:\n  a:\n    environment:\n      A: \"1\"\n      B: three\n      C: null\n      D: 4\n"
        );
    }

    #[test]
    fn ports_and_volumes_merge_by_key() {
        let out = merged(
            "services:\n  a:\n    ports: [\"80:80\"]\n    volumes: [\"data:/data\", \"./x:/x\"]\n    cap_add: [NET_ADMIN]\n    dns_search: [a]\n",
            "services:\n  a:\n    ports: [\"80:80\", \"443:443\"]\n    volumes: [\"./y:/x:ro\"]\n    cap_add: [NET_ADMIN, SYS_TIME]\n",
        );
        assert_eq!(
            out,
            "services:\n  a:\n    ports:\n      - \"80:80\"\n      - \"443:443\"\n    volumes:\n      - data:/data\n      - ./y:/x:ro\n    cap_add:\n      - NET_ADMIN\n      - SYS_TIME\n    dns_search:\n      - a\n"
        );
    }

    #[test]
    fn depends_on_and_networks_lists_become_maps() {
        let out = merged(
            "services:\n  a:\n    depends_on: [db]\n    networks: [front]\n",
            "services:\n  a:\n    depends_on:\n      cache:\n        condition: service_healthy\n    networks:\n      front:\n        aliases: [w]\n",
        );
        assert_eq!(
            out,
            "services:\n  a:\n    depends_on:\n      db: null\n      cache:\n        condition: service_healthy\n    networks:\n      front:\n        aliases:\n          - w\n"
        );
    }

    #[test]
    fn reset_and_override_tags() {
        let mut n = merge(
            load("services:\n  app:\n    image: a\n    ports: [\"8080:80\"]\n    environment:\n      FOO: bar\n      KEEP: k\n    dns: [x]\n", "a.yml").unwrap(),
            load("services:\n  app:\n    ports: !reset []\n    environment:\n      FOO: !reset null\n    dns: !override [y]\n    user: !reset u\n", "b.yml").unwrap(),
        );
        strip_resets(&mut n);
        assert_eq!(
            emit(&n),
            "services:\n  app:\n    image: a\n    environment:\n      KEEP: k\n    dns:\n      - y\n"
        );
    }

    #[test]
    fn other_sequences_append_and_null_keeps_base() {
        let out = merged(
            "services:\n  a:\n    build:\n      context: .\n      cache_from: [x]\n    user: u\n",
            "services:\n  a:\n    build:\n      cache_from: [y]\n    user:\n",
        );
        assert_eq!(
            out,
            "services:\n  a:\n    build:\n      context: .\n      cache_from:\n        - x\n        - y\n    user: u\n"
        );
    }
}

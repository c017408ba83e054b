//! A small deterministic YAML writer for JSON values (serde_yaml is deprecated; the
//! workspace's other YAML code, compose's, emits its own node type). Block style, two
//! spaces, keys in the order the map holds them (serde_json's sorted order), strings plain
//! only when every YAML reader (1.1 and 1.2) reads them back as the same string, otherwise
//! double-quoted as JSON (a JSON string is a valid YAML double-quoted scalar).

use serde_json::Value;

/// Several objects as one multi-document stream, separated by `---`.
pub fn documents(docs: &[Value]) -> String {
    let mut out = String::new();
    for (i, doc) in docs.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        out.push_str(&document(doc));
    }
    out
}

/// One value as a YAML document.
pub fn document(v: &Value) -> String {
    let mut out = String::new();
    match v {
        Value::Object(m) if !m.is_empty() => map(&mut out, m, 0),
        Value::Array(a) if !a.is_empty() => seq(&mut out, a, 0),
        _ => {
            out.push_str(&inline(v));
            out.push('\n');
        }
    }
    out
}

fn is_block(v: &Value) -> bool {
    match v {
        Value::Object(m) => !m.is_empty(),
        Value::Array(a) => !a.is_empty(),
        _ => false,
    }
}

fn map(out: &mut String, m: &serde_json::Map<String, Value>, indent: usize) {
    for (k, v) in m {
        out.push_str(&" ".repeat(indent));
        out.push_str(&string(k));
        out.push(':');
        after_key(out, v, indent);
    }
}

fn after_key(out: &mut String, v: &Value, indent: usize) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            map(out, m, indent + 2);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            seq(out, a, indent + 2);
        }
        _ => {
            out.push(' ');
            out.push_str(&inline(v));
            out.push('\n');
        }
    }
}

fn seq(out: &mut String, items: &[Value], indent: usize) {
    for item in items {
        out.push_str(&" ".repeat(indent));
        out.push_str("- ");
        match item {
            Value::Object(m) if !m.is_empty() => {
                // The first key shares the dash's line; the others align under it.
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        out.push_str(&" ".repeat(indent + 2));
                    }
                    out.push_str(&string(k));
                    out.push(':');
                    after_key(out, v, indent + 2);
                }
            }
            _ if is_block(item) => {
                out.push('\n');
                if let Value::Array(a) = item {
                    seq(out, a, indent + 2);
                }
            }
            _ => {
                out.push_str(&inline(item));
                out.push('\n');
            }
        }
    }
}

fn inline(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string(s),
        Value::Object(_) => "{}".into(),
        Value::Array(_) => "[]".into(),
    }
}

/// A string as a YAML scalar: plain when unambiguous, else double-quoted.
pub fn string(s: &str) -> String {
    if plain_is_safe(s) {
        s.to_string()
    } else {
        serde_json::to_string(s).expect("a string serializes")
    }
}

/// Conservative: a small alphabet, no indicator first, nothing a reader would take for a
/// comment, a key, a null, a boolean or a number.
fn plain_is_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    (first.is_ascii_alphanumeric() || first == '/' || first == '_')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@+, ".contains(c))
        && !s.ends_with([' ', ':'])
        && !s.contains(": ")
        && !s.contains(" #")
        && !looks_typed(s)
}

/// What YAML 1.1 or 1.2 readers would not read as a string: numbers (with `_` or base-60
/// `:` for 1.1 readers), booleans in 1.1's many spellings, null.
fn looks_typed(s: &str) -> bool {
    if s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars()
            .all(|c| c.is_ascii_digit() || ".:_eE+-".contains(c))
    {
        return true;
    }
    let lower = s.to_ascii_lowercase();
    matches!(
        lower.as_str(),
        "null" | "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n"
    ) || s.parse::<f64>().is_ok()
        || (lower.starts_with("0x") || lower.starts_with("0o") || lower.starts_with("0b"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn block_style_with_sequences_of_maps() {
        let v = json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {"containers": [
                {"name": "c", "args": ["-c", "echo hi; sleep 1"], "ports": [{"containerPort": 80}]},
            ], "volumes": [], "hostNetwork": false, "x": {}}
        });
        let want = "\
apiVersion: v1
kind: Pod
metadata:
  labels:
    app: web
  name: web
spec:
  containers:
    - args:
        - \"-c\"
        - \"echo hi; sleep 1\"
      name: c
      ports:
        - containerPort: 80
  hostNetwork: false
  volumes: []
  x: {}
";
        assert_eq!(document(&v), want);
    }

    #[test]
    fn quotes_what_a_reader_would_take_for_something_else() {
        for s in [
            "",
            "true",
            "No",
            "on",
            "12",
            "1.5",
            "1e3",
            "0x1f",
            "80:80",
            "null",
            "~",
            " x",
            "x ",
            "a: b",
            "a #b",
            "key:",
            "*a",
            "&a",
            "!t",
            "-",
            "- x",
            "-1",
            "[x]",
            "{x}",
            "|",
            ">",
            "'",
            "\"",
            "%x",
            "@x",
            "`x",
            "two\nlines",
            "tab\t",
            "ünï",
            "1_000",
            "inf",
            "NaN",
            "?x",
            "#c",
        ] {
            let out = string(s);
            assert!(out.starts_with('"'), "{s:?} -> {out}");
            let back: String = serde_json::from_str(&out).unwrap();
            assert_eq!(back, s);
        }
        for s in [
            "busybox:1.36",
            "docker.io/library/busybox:latest",
            "/data",
            "a-b",
            "NET_ADMIN",
            "64Mi",
            "500m",
            "app.kubernetes.io/name",
            "PATH=/bin",
            "sleep 1000",
        ] {
            assert_eq!(string(s), s);
        }
    }

    #[test]
    fn documents_are_separated() {
        let out = documents(&[json!({"a": 1}), json!({"b": [true, null]})]);
        assert_eq!(out, "a: 1\n---\nb:\n  - true\n  - null\n");
    }
}

//! [`Node`] → YAML text, block style with two-space indents, keys in the tree's order (the
//! renderer decides the order, so output is deterministic). A string is written plain only
//! when reading it back gives the same string; otherwise it is double-quoted.

use super::{Node, Value};

pub fn emit(node: &Node) -> String {
    let mut out = String::new();
    match &node.value {
        Value::Map(m) if !m.is_empty() => map(&mut out, m, 0),
        Value::Seq(s) if !s.is_empty() => seq(&mut out, s, 0),
        _ => {
            out.push_str(&inline(node));
            out.push('\n');
        }
    }
    out
}

fn is_block(node: &Node) -> bool {
    match &node.value {
        Value::Map(m) => !m.is_empty(),
        Value::Seq(s) => !s.is_empty(),
        _ => false,
    }
}

fn map(out: &mut String, entries: &[(String, Node)], indent: usize) {
    for (k, v) in entries {
        out.push_str(&" ".repeat(indent));
        out.push_str(&string(k));
        out.push(':');
        value_after_key(out, v, indent);
    }
}

fn value_after_key(out: &mut String, v: &Node, indent: usize) {
    match &v.value {
        Value::Map(m) if !m.is_empty() => {
            out.push('\n');
            map(out, m, indent + 2);
        }
        Value::Seq(s) if !s.is_empty() => {
            out.push('\n');
            seq(out, s, indent + 2);
        }
        _ => {
            out.push(' ');
            out.push_str(&inline(v));
            out.push('\n');
        }
    }
}

fn seq(out: &mut String, items: &[Node], indent: usize) {
    for item in items {
        out.push_str(&" ".repeat(indent));
        out.push_str("- ");
        match &item.value {
            Value::Map(m) if !m.is_empty() => {
                // The first key shares the dash's line; the rest align under it.
                let mut first = true;
                for (k, v) in m {
                    if !first {
                        out.push_str(&" ".repeat(indent + 2));
                    }
                    first = false;
                    out.push_str(&string(k));
                    out.push(':');
                    value_after_key(out, v, indent + 2);
                }
            }
            _ if is_block(item) => {
                out.push('\n');
                if let Value::Seq(s) = &item.value {
                    seq(out, s, indent + 2);
                }
            }
            _ => {
                out.push_str(&inline(item));
                out.push('\n');
            }
        }
    }
}

fn inline(node: &Node) -> String {
    match &node.value {
        Value::Null => "null".to_string(),
        Value::Scalar { text, plain: true } => text.clone(),
        Value::Scalar { text, plain: false } => string(text),
        Value::Map(_) => "{}".to_string(),
        Value::Seq(_) => "[]".to_string(),
    }
}

/// A string as YAML: plain when unambiguous, else double-quoted.
pub fn string(s: &str) -> String {
    if needs_quotes(s) {
        quote(s)
    } else {
        s.to_string()
    }
}

fn needs_quotes(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return true;
    };
    if s.trim() != s {
        return true;
    }
    // A leading indicator character changes the meaning, except a dash that starts a word
    // (`--port`, `-f`), which YAML reads as text.
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) {
        let word_dash = first == '-' && s.len() > 1 && !s.starts_with("- ");
        if !word_dash {
            return true;
        }
    }
    !safe_body(s)
}

fn safe_body(s: &str) -> bool {
    !s.contains(": ")
        && !s.contains(" #")
        && !s.ends_with(':')
        && !s.chars().any(|c| c.is_control())
        && !looks_typed(s)
}

/// Strings that a YAML reader would take as null, a boolean or a number (YAML 1.1 readers
/// too: `80:80` is a base-60 integer to PyYAML).
fn looks_typed(s: &str) -> bool {
    if s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars()
            .all(|c| c.is_ascii_digit() || c == ':' || c == '.' || c == '_')
    {
        return true;
    }
    let lower = s.to_ascii_lowercase();
    matches!(
        lower.as_str(),
        "~" | "null"
            | "true"
            | "false"
            | "yes"
            | "no"
            | "on"
            | "off"
            | "y"
            | "n"
            | ".inf"
            | "-.inf"
            | ".nan"
    ) || s.parse::<f64>().is_ok()
        || (s.starts_with("0x") && i64::from_str_radix(&s[2..], 16).is_ok())
        || (s.starts_with("0o") && i64::from_str_radix(&s[2..], 8).is_ok())
}

fn quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\n' => q.push_str("\\n"),
            '\t' => q.push_str("\\t"),
            '\r' => q.push_str("\\r"),
            c if c.is_control() => q.push_str(&format!("\\u{:04x}", c as u32)),
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::load;

    #[test]
    fn round_trips_through_the_loader() {
        let text = "a: 1\nb:\n  - x\n  - k: v\n    l:\n      - \"8080\"\n  - []\nc: {}\nd: null\ne: \"yes\"\nf: \"a: b\"\ng: \"-1\"\nh: -x\ni: \"\"\nj: \"two\\nlines\"\nk: \"#c\"\n";
        let n = load(text, "t.yml").unwrap();
        let out = emit(&n);
        assert_eq!(out, text);
        assert_eq!(load(&out, "t.yml").unwrap(), n);
    }

    #[test]
    fn quotes_what_would_change_type() {
        for s in [
            "true", "No", "12", "1.5", "null", "~", " lead", "x #y", "*a", "0x1f",
        ] {
            assert!(string(s).starts_with('"'), "{s}");
        }
        for s in [
            "busybox:1.36",
            "/data",
            "80/tcp",
            "a-b",
            "CMD-SHELL",
            "--port",
            "-f",
        ] {
            assert_eq!(string(s), s);
        }
    }

    #[test]
    fn every_string_reads_back_as_itself() {
        use crate::yaml::{Node, Pos, Value};
        let tricky = [
            "",
            " ",
            "a b",
            "a: b",
            "key:",
            "a #b",
            "a#b",
            "[x]",
            "{x}",
            "'",
            "\"",
            "\\",
            "%x",
            "@x",
            "`x",
            "!x",
            "&x",
            "*x",
            "|",
            ">",
            "tab\there",
            "two\nlines",
            "-",
            "--x",
            "- x",
            "? x",
            "?x",
            ",x",
            "x,",
            "ünï",
            "$$x",
            "0o17",
            "1e3",
            ".5",
            "+1",
            "Yes",
            "OFF",
            "~x",
            "a:b:c",
            "\u{7f}",
            "trailing ",
            "x: ",
            "#",
        ];
        for text in tricky {
            let pos = Pos::new("t", 1);
            let node = Node::map(vec![("k".to_string(), Node::str(text, pos.clone()))], pos);
            let out = emit(&node);
            let back = load(&out, "t.yml").unwrap_or_else(|e| panic!("{text:?} -> {out:?}: {e}"));
            let got = back.get("k").unwrap();
            assert!(
                matches!(&got.value, Value::Scalar { text: t, .. } if t == text),
                "{text:?} -> {out:?} -> {got:?}"
            );
        }
    }
}

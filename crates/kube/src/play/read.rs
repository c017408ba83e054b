//! Files → documents → JSON values: each `---`-separated document is parsed by compose's
//! positioned YAML reader (so syntax errors name file:line:col), then turned into a
//! `serde_json::Value` with YAML 1.2's core schema for plain scalars (`8080` a number,
//! `true` a boolean, `null`/`~` null; quoted scalars stay strings), which k8s-openapi's
//! types read.

use super::error::{KubeError, Result};
use hoist_compose::yaml::{self, Node, Value};
use serde_json::Value as Json;
use std::path::Path;

/// One YAML document of a file: where it starts (`file:line`) and its value.
#[derive(Debug, Clone)]
pub struct Document {
    pub at: String,
    pub value: Json,
}

pub fn read_file(path: &Path) -> Result<Vec<Document>> {
    let text = std::fs::read_to_string(path).map_err(|source| KubeError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    read_str(&text, &path.display().to_string())
}

/// The documents of `text`; empty ones (a leading `---`, comments only) are skipped.
pub fn read_str(text: &str, file: &str) -> Result<Vec<Document>> {
    let mut docs = Vec::new();
    for (first_line, chunk) in split_documents(text) {
        // Blank lines before the chunk keep the reader's line numbers those of the file.
        let padded = format!("{}{}", "\n".repeat(first_line - 1), chunk);
        let node = yaml::load(&padded, file)?;
        if node.is_null() {
            continue;
        }
        docs.push(Document {
            at: format!("{file}:{}", node.pos.line),
            value: to_json(&node),
        });
    }
    Ok(docs)
}

/// Splits at lines that are `---` (optionally followed by a space or comment) or `...`:
/// (1-based first line, text) per document.
fn split_documents(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut start = 1;
    let mut cur = String::new();
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_end();
        let marker = trimmed == "---"
            || trimmed.starts_with("--- ")
            || trimmed.starts_with("---\t")
            || trimmed == "...";
        if marker {
            out.push((start, std::mem::take(&mut cur)));
            start = i + 2;
            // `--- {a: 1}`: content after the marker belongs to the next document.
            if let Some(rest) = trimmed.strip_prefix("---") {
                let rest = rest.trim();
                if !rest.is_empty() && !rest.starts_with('#') {
                    start = i + 1;
                    cur.push_str(rest);
                    cur.push('\n');
                }
            }
            continue;
        }
        cur.push_str(line);
        cur.push('\n');
    }
    out.push((start, cur));
    out
}

fn to_json(node: &Node) -> Json {
    match &node.value {
        Value::Null => Json::Null,
        Value::Scalar { text, plain } => {
            if *plain {
                plain_scalar(text)
            } else {
                Json::String(text.clone())
            }
        }
        Value::Seq(items) => Json::Array(items.iter().map(to_json).collect()),
        Value::Map(entries) => Json::Object(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), to_json(v)))
                .collect(),
        ),
    }
}

/// YAML 1.2 core schema resolution of an unquoted scalar.
fn plain_scalar(text: &str) -> Json {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Json::Null,
        "true" | "True" | "TRUE" => return Json::Bool(true),
        "false" | "False" | "FALSE" => return Json::Bool(false),
        _ => {}
    }
    if let Ok(i) = text.parse::<i64>() {
        return Json::from(i);
    }
    let looks_numeric = text
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
        && text.chars().any(|c| c.is_ascii_digit());
    if looks_numeric {
        if let Ok(f) = text.parse::<f64>() {
            if let Some(n) = serde_json::Number::from_f64(f) {
                return Json::Number(n);
            }
        }
    }
    Json::String(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_split_and_typed() {
        let text = "---\nkind: Pod\nn: 8080\nq: \"8080\"\nb: true\n---\n# only a comment\n---\nkind: Service\nx: 1.5\n";
        let docs = read_str(text, "f.yaml").unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].value["n"], Json::from(8080));
        assert_eq!(docs[0].value["q"], Json::from("8080"));
        assert_eq!(docs[0].value["b"], Json::Bool(true));
        assert_eq!(docs[0].at, "f.yaml:2");
        assert_eq!(docs[1].value["kind"], Json::from("Service"));
        assert_eq!(docs[1].at, "f.yaml:9");
        assert_eq!(docs[1].value["x"], Json::from(1.5));
    }

    #[test]
    fn syntax_errors_name_the_line_in_the_file() {
        let text = "kind: Pod\n---\nkind: [\n";
        let err = read_str(text, "f.yaml").unwrap_err().to_string();
        assert!(err.starts_with("f.yaml:"), "{err}");
        assert!(!err.starts_with("f.yaml:1:"), "{err}");
    }
}

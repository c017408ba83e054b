//! Typed reads from the tree: each one either returns the value or an error naming the file,
//! line and key path, and what was expected. Unknown keys become warnings, `x-*` keys are
//! extension fields and are skipped silently.

use crate::error::{invalid, Result};
use crate::model::Warning;
use crate::yaml::{Node, Value};
use std::collections::BTreeMap;

pub(crate) fn sub(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

pub(crate) fn idx(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

pub(crate) fn map<'n>(n: &'n Node, path: &str) -> Result<&'n [(String, Node)]> {
    match &n.value {
        Value::Map(m) => Ok(m),
        Value::Null => Ok(&[]),
        _ => Err(invalid(
            &n.pos,
            path,
            format!("expected a mapping, got {}", n.kind()),
        )),
    }
}

pub(crate) fn string(n: &Node, path: &str) -> Result<String> {
    match &n.value {
        Value::Scalar { text, .. } => Ok(text.clone()),
        _ => Err(invalid(
            &n.pos,
            path,
            format!("expected a string, got {}", n.kind()),
        )),
    }
}

pub(crate) fn opt_string(n: &Node, path: &str) -> Result<Option<String>> {
    if n.is_null() {
        return Ok(None);
    }
    string(n, path).map(Some)
}

pub(crate) fn boolean(n: &Node, path: &str) -> Result<bool> {
    if let Value::Scalar { text, .. } = &n.value {
        match text.to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" => return Ok(true),
            "false" | "no" | "off" => return Ok(false),
            _ => {}
        }
    }
    Err(invalid(
        &n.pos,
        path,
        format!("expected true or false, got {}", shown(n)),
    ))
}

pub(crate) fn uint(n: &Node, path: &str) -> Result<u64> {
    match &n.value {
        Value::Scalar { text, .. } => text.trim().parse().map_err(|_| {
            invalid(
                &n.pos,
                path,
                format!("expected a whole number, got {text:?}"),
            )
        }),
        _ => Err(invalid(
            &n.pos,
            path,
            format!("expected a whole number, got {}", n.kind()),
        )),
    }
}

pub(crate) fn int(n: &Node, path: &str) -> Result<i64> {
    match &n.value {
        Value::Scalar { text, .. } => text
            .trim()
            .parse()
            .map_err(|_| invalid(&n.pos, path, format!("expected a number, got {text:?}"))),
        _ => Err(invalid(
            &n.pos,
            path,
            format!("expected a number, got {}", n.kind()),
        )),
    }
}

pub(crate) fn float(n: &Node, path: &str) -> Result<f64> {
    match &n.value {
        Value::Scalar { text, .. } => text
            .trim()
            .parse()
            .map_err(|_| invalid(&n.pos, path, format!("expected a number, got {text:?}"))),
        _ => Err(invalid(
            &n.pos,
            path,
            format!("expected a number, got {}", n.kind()),
        )),
    }
}

/// A sequence of strings; a single string where compose accepts one (`dns: 1.1.1.1`).
pub(crate) fn strings(n: &Node, path: &str) -> Result<Vec<String>> {
    match &n.value {
        Value::Null => Ok(Vec::new()),
        Value::Scalar { text, .. } => Ok(vec![text.clone()]),
        Value::Seq(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| string(item, &idx(path, i)))
            .collect(),
        Value::Map(_) => Err(invalid(
            &n.pos,
            path,
            "expected a string or a list of strings, got a mapping",
        )),
    }
}

/// `KEY: value` mapping or `[KEY=value, KEY]` list; a bare KEY (or `KEY:` with no value) is `None`.
pub(crate) fn kv(n: &Node, path: &str) -> Result<BTreeMap<String, Option<String>>> {
    let mut out = BTreeMap::new();
    match &n.value {
        Value::Null => {}
        Value::Map(m) => {
            for (k, v) in m {
                let value = match &v.value {
                    Value::Null => None,
                    Value::Scalar { text, .. } => Some(text.clone()),
                    _ => {
                        return Err(invalid(
                            &v.pos,
                            &sub(path, k),
                            format!("expected a string, number or boolean, got {}", v.kind()),
                        ))
                    }
                };
                out.insert(k.clone(), value);
            }
        }
        Value::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                let text = string(item, &idx(path, i))?;
                match text.split_once('=') {
                    Some((k, v)) => out.insert(k.to_string(), Some(v.to_string())),
                    None => out.insert(text, None),
                };
            }
        }
        Value::Scalar { .. } => {
            return Err(invalid(
                &n.pos,
                path,
                "expected a mapping or a list of KEY=VALUE, got a string",
            ))
        }
    }
    Ok(out)
}

/// Like [`kv`], for labels and driver options: a key with no value is an empty string.
pub(crate) fn labels(n: &Node, path: &str) -> Result<BTreeMap<String, String>> {
    Ok(kv(n, path)?
        .into_iter()
        .map(|(k, v)| (k, v.unwrap_or_default()))
        .collect())
}

/// A command: a list as is, a string split like a shell would.
pub(crate) fn command(n: &Node, path: &str) -> Result<Option<Vec<String>>> {
    match &n.value {
        Value::Null => Ok(None),
        Value::Scalar { text, .. } => crate::units::split_command(text)
            .map(Some)
            .map_err(|e| invalid(&n.pos, path, e)),
        _ => strings(n, path).map(Some),
    }
}

pub(crate) fn duration(n: &Node, path: &str) -> Result<std::time::Duration> {
    let text = string(n, path)?;
    crate::units::parse_duration(&text).map_err(|e| invalid(&n.pos, path, e))
}

pub(crate) fn size(n: &Node, path: &str) -> Result<u64> {
    let text = string(n, path)?;
    crate::units::parse_size(&text).map_err(|e| invalid(&n.pos, path, e))
}

fn shown(n: &Node) -> String {
    match &n.value {
        Value::Scalar { text, .. } => format!("{text:?}"),
        _ => n.kind().to_string(),
    }
}

/// Records an unknown key, unless it is an extension field.
pub(crate) fn unknown(warnings: &mut Vec<Warning>, key: &str, value: &Node, path: &str) {
    if key.starts_with("x-") {
        return;
    }
    warnings.push(Warning {
        pos: value.pos.clone(),
        path: sub(path, key),
        message: "unknown key, ignored (a typo?)".into(),
    });
}

/// Records a key of the Compose Specification that hoist does not implement yet.
pub(crate) fn unsupported(warnings: &mut Vec<Warning>, key: &str, value: &Node, path: &str) {
    warnings.push(Warning {
        pos: value.pos.clone(),
        path: sub(path, key),
        message: "not supported by hoist yet, ignored".into(),
    });
}

//! Variable interpolation as compose does it, on every scalar value (never on keys), per file
//! before merging: `$VAR`, `${VAR}`, `${VAR:-default}` (unset or empty), `${VAR-default}`
//! (unset), `${VAR:?message}` / `${VAR?message}` (an error naming the file, line and key
//! path), `${VAR:+alt}` / `${VAR+alt}`, and `$$` for a literal `$`. Defaults may nest
//! `${...}`. A lone `$` is an error, as in compose, so a typo is not silently kept.

use crate::error::{ComposeError, Result};
use crate::model::Warning;
use crate::yaml::{Node, Value};
use std::cell::RefCell;
use std::collections::BTreeMap;

/// The variables interpolation sees: the process environment over the `.env` file(s).
pub type Vars = BTreeMap<String, String>;

/// Interpolates every scalar under `node`; `path` is the key path of `node`. A variable
/// used without a default and not set becomes empty with a warning, as in compose.
pub fn interpolate_tree(
    node: &mut Node,
    vars: &Vars,
    path: &str,
    warnings: &mut Vec<Warning>,
) -> Result<()> {
    let pos = node.pos.clone();
    match &mut node.value {
        Value::Scalar { text, .. } => {
            if text.contains('$') {
                let unset = RefCell::new(Vec::new());
                *text = expand_inner(text, &|name| vars.get(name).cloned(), &unset).map_err(
                    |message| ComposeError::Interpolation {
                        pos: pos.clone(),
                        path: path.to_string(),
                        message,
                    },
                )?;
                for name in unset.into_inner() {
                    warnings.push(Warning {
                        pos: pos.clone(),
                        path: path.to_string(),
                        message: format!("variable {name} is not set; using an empty string"),
                    });
                }
            }
        }
        Value::Seq(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                interpolate_tree(item, vars, &format!("{path}[{i}]"), warnings)?;
            }
        }
        Value::Map(entries) => {
            for (k, v) in entries.iter_mut() {
                let sub = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                interpolate_tree(v, vars, &sub, warnings)?;
            }
        }
        Value::Null => {}
    }
    Ok(())
}

/// Expands one string; the error is the message compose would give.
pub fn expand(s: &str, vars: &Vars) -> std::result::Result<String, String> {
    expand_with(s, &|name| vars.get(name).cloned())
}

pub(crate) fn expand_with(
    s: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> std::result::Result<String, String> {
    expand_inner(s, lookup, &RefCell::new(Vec::new()))
}

/// `unset` collects the variables used without a default that were not set.
fn expand_inner(
    s: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    unset: &RefCell<Vec<String>>,
) -> std::result::Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '$' {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        match chars.get(i + 1) {
            Some('$') => {
                out.push('$');
                i += 2;
            }
            Some('{') => {
                let end = closing_brace(&chars, i + 2).ok_or_else(|| {
                    format!("invalid interpolation format in {s:?}: `${{` without its `}}`")
                })?;
                let inner: String = chars[i + 2..end].iter().collect();
                out.push_str(&braced(&inner, s, lookup, unset)?);
                i = end + 1;
            }
            Some(c) if c.is_ascii_alphabetic() || *c == '_' => {
                let start = i + 1;
                let mut j = start;
                while j < chars.len() && (chars[j].is_ascii_alphanumeric() || chars[j] == '_') {
                    j += 1;
                }
                let name: String = chars[start..j].iter().collect();
                match lookup(&name) {
                    Some(v) => out.push_str(&v),
                    None => unset.borrow_mut().push(name),
                }
                i = j;
            }
            _ => {
                return Err(format!(
                    "invalid interpolation format in {s:?}: a `$` must start $VAR or ${{VAR}}; write $$ for a literal $"
                ))
            }
        }
    }
    Ok(out)
}

/// The index of the `}` closing a `${` whose content starts at `from` (nested `${}` skipped).
fn closing_brace(chars: &[char], from: usize) -> Option<usize> {
    let mut depth = 0;
    let mut i = from;
    while i < chars.len() {
        match chars[i] {
            '$' if chars.get(i + 1) == Some(&'{') => {
                depth += 1;
                i += 1;
            }
            '}' if depth == 0 => return Some(i),
            '}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    None
}

fn braced(
    inner: &str,
    whole: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    unset: &RefCell<Vec<String>>,
) -> std::result::Result<String, String> {
    let name_end = inner
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(inner.len());
    let name = &inner[..name_end];
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(format!(
            "invalid interpolation format in {whole:?}: ${{{inner}}} does not start with a variable name"
        ));
    }
    let rest = &inner[name_end..];
    let value = lookup(name);
    let set = value.is_some();
    let non_empty = value.as_deref().is_some_and(|v| !v.is_empty());
    let (op, arg) = if let Some(arg) = rest.strip_prefix(":-") {
        (":-", arg)
    } else if let Some(arg) = rest.strip_prefix(":?") {
        (":?", arg)
    } else if let Some(arg) = rest.strip_prefix(":+") {
        (":+", arg)
    } else if rest.is_empty() {
        ("", "")
    } else {
        // One character, not one byte: `${NAMEƚ...}` must be an unknown
        // modifier, not a slice inside a UTF-8 sequence (a panic the fuzzer
        // found).
        rest.split_at(rest.chars().next().map_or(0, char::len_utf8))
    };
    let arg = || expand_inner(arg, lookup, unset);
    Ok(match op {
        "" if !set => {
            unset.borrow_mut().push(name.to_string());
            String::new()
        }
        "" => value.unwrap_or_default(),
        ":-" if non_empty => value.unwrap_or_default(),
        ":-" => arg()?,
        "-" if set => value.unwrap_or_default(),
        "-" => arg()?,
        ":+" if non_empty => arg()?,
        ":+" => String::new(),
        "+" if set => arg()?,
        "+" => String::new(),
        ":?" | "?" if (op == ":?" && non_empty) || (op == "?" && set) => value.unwrap_or_default(),
        ":?" | "?" => {
            let message = arg()?;
            return Err(if message.is_empty() {
                format!("required variable {name} is missing a value")
            } else {
                format!("required variable {name} is missing a value: {message}")
            });
        }
        _ => {
            return Err(format!(
                "invalid interpolation format in {whole:?}: unknown modifier in ${{{inner}}}"
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::load;

    #[test]
    fn a_multibyte_character_after_a_name_is_an_unknown_modifier_not_a_panic() {
        let unset = RefCell::new(Vec::new());
        let err = expand_inner("${GRwebƚG:-hello}", &|_| None, &unset).unwrap_err();
        assert!(err.contains("unknown modifier"), "{err}");
    }

    fn vars() -> Vars {
        Vars::from([
            ("SET".to_string(), "v".to_string()),
            ("EMPTY".to_string(), String::new()),
            ("TAG".to_string(), "1.36".to_string()),
        ])
    }

    #[test]
    fn every_form() {
        let v = vars();
        let cases = [
            ("$SET", "v"),
            ("${SET}", "v"),
            ("a${SET}b$SET.c", "avbv.c"),
            ("$UNSET", ""),
            ("${UNSET:-d}", "d"),
            ("${EMPTY:-d}", "d"),
            ("${EMPTY-d}", ""),
            ("${UNSET-d}", "d"),
            ("${SET:-d}", "v"),
            ("${SET:+alt}", "alt"),
            ("${EMPTY:+alt}", ""),
            ("${EMPTY+alt}", "alt"),
            ("${UNSET+alt}", ""),
            ("$$SET", "$SET"),
            ("$${SET}", "${SET}"),
            ("${UNSET:-${SET}-x}", "v-x"),
            ("${UNSET:-${ALSO:-deep}}", "deep"),
            ("busybox:${TAG}", "busybox:1.36"),
            ("${EMPTY?e}", ""),
        ];
        for (input, want) in cases {
            assert_eq!(expand(input, &v).unwrap(), want, "{input}");
        }
    }

    #[test]
    fn required_variables() {
        let v = vars();
        assert_eq!(
            expand("${UNSET:?set UNSET first}", &v).unwrap_err(),
            "required variable UNSET is missing a value: set UNSET first"
        );
        assert!(expand("${EMPTY:?x}", &v).is_err());
        assert!(expand("${UNSET?}", &v)
            .unwrap_err()
            .ends_with("missing a value"));
        assert_eq!(expand("${SET:?x}", &v).unwrap(), "v");
    }

    #[test]
    fn malformed_templates() {
        let v = vars();
        for bad in ["${SET", "$ 5", "${}", "${1A}", "${SET!x}", "end$"] {
            assert!(expand(bad, &v).is_err(), "{bad}");
        }
    }

    #[test]
    fn tree_errors_name_file_line_and_key_path() {
        let mut n = load(
            "services:\n  web:\n    image: x\n    environment:\n      - A=${NEED:?give NEED}\n",
            "c.yml",
        )
        .unwrap();
        let err = interpolate_tree(&mut n, &vars(), "", &mut Vec::new())
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "c.yml:5: services.web.environment[0]: required variable NEED is missing a value: give NEED"
        );
    }

    #[test]
    fn keys_are_not_interpolated() {
        let mut n = load("$SET: ${SET}\n", "k.yml").unwrap();
        interpolate_tree(&mut n, &vars(), "", &mut Vec::new()).unwrap();
        assert_eq!(n.get("$SET").unwrap().as_scalar(), Some("v"));
    }

    #[test]
    fn unset_variables_without_default_warn() {
        let mut n = load(
            "a: $NOPE\nb: x${ALSO}y\nc: ${NOPE:-d}\nd: ${NOPE-}${SET}\ne: ${NOPE:+z}\n",
            "w.yml",
        )
        .unwrap();
        let mut warnings = Vec::new();
        interpolate_tree(&mut n, &vars(), "", &mut warnings).unwrap();
        let got: Vec<String> = warnings.iter().map(|w| w.to_string()).collect();
        assert_eq!(
            got,
            [
                "w.yml:1: a: variable NOPE is not set; using an empty string",
                "w.yml:2: b: variable ALSO is not set; using an empty string"
            ]
        );
        assert_eq!(n.get("b").unwrap().as_scalar(), Some("xy"));
    }
}

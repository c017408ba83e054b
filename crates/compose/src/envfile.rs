//! `.env` and `env_file` files in compose's dotenv dialect: `KEY=VALUE` lines, optional
//! `export `, `#` comments, single quotes literal, double quotes with escapes and
//! interpolation (and several lines), unquoted values trimmed with a ` #` comment cut off and
//! interpolated; a bare `KEY` takes its value from the environment. Later lines may use
//! earlier ones.

use crate::error::{ComposeError, Result};
use crate::interpolate::expand_with;
use std::path::Path;

/// Reads `path`; `outer` resolves variables the file itself does not define.
pub fn read(path: &Path, outer: &dyn Fn(&str) -> Option<String>) -> Result<Vec<(String, String)>> {
    let text = std::fs::read_to_string(path).map_err(|source| ComposeError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text, path, outer)
}

pub fn parse(
    text: &str,
    path: &Path,
    outer: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<(String, String)>> {
    let mut vars: Vec<(String, String)> = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line_no = i + 1;
        let err = |message: String| ComposeError::EnvFile {
            path: path.to_path_buf(),
            line: line_no,
            message,
        };
        let line = lines[i].trim_start();
        i += 1;
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
        let (key, raw) = match line.split_once('=') {
            Some((k, v)) => (k.trim(), Some(v.trim_start())),
            None => (line.trim(), None),
        };
        if key.is_empty()
            || !key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        {
            return Err(err(format!(
                "{key:?} is not a variable name (want KEY=VALUE)"
            )));
        }
        let lookup = |name: &str| {
            vars.iter()
                .rev()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .or_else(|| outer(name))
        };
        let value = match raw {
            None => match outer(key) {
                Some(v) => v,
                None => continue,
            },
            Some(v) if v.starts_with('\'') => match v[1..].find('\'') {
                Some(end) => v[1..1 + end].to_string(),
                None => return Err(err("a single quote is not closed".into())),
            },
            Some(v) if v.starts_with('"') => {
                // A double-quoted value may go on over several lines.
                let mut body = v[1..].to_string();
                loop {
                    if let Some(end) = closing_quote(&body) {
                        body.truncate(end);
                        break;
                    }
                    if i >= lines.len() {
                        return Err(err("a double quote is not closed".into()));
                    }
                    body.push('\n');
                    body.push_str(lines[i]);
                    i += 1;
                }
                expand_with(&unescape(&body), &lookup).map_err(err)?
            }
            Some(v) => {
                let v = match v.find(" #") {
                    Some(c) => &v[..c],
                    None => v,
                };
                expand_with(v.trim_end(), &lookup).map_err(err)?
            }
        };
        vars.retain(|(k, _)| k != key);
        vars.push((key.to_string(), value));
    }
    Ok(vars)
}

fn closing_quote(body: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in body.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => return Some(i),
            _ => escaped = false,
        }
    }
    None
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('"') => out.push('"'),
            Some('\\') => out.push('\\'),
            // `\$` stays an escaped dollar for the interpolation that follows.
            Some('$') => out.push_str("$$"),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Result<Vec<(String, String)>> {
        parse(text, Path::new("/p/.env"), &|n| {
            (n == "HOME").then(|| "/root".to_string())
        })
    }

    #[test]
    fn the_dotenv_dialect() {
        let text = "# comment\n\nA=1\nexport B = two words  # note\nC='lit ${A} $x'\nD=\"q ${A}\\n\\\"x\\\"\"\nE=${A}-${HOME}\nF=\"multi\nline\"\nHOME\nNOPE\nG=\nH=a#b\n";
        let got = parse_str(text).unwrap();
        let want = [
            ("A", "1"),
            ("B", "two words"),
            ("C", "lit ${A} $x"),
            ("D", "q 1\n\"x\""),
            ("E", "1-/root"),
            ("F", "multi\nline"),
            ("HOME", "/root"),
            ("G", ""),
            ("H", "a#b"),
        ];
        let got: Vec<(&str, &str)> = got.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn errors_name_the_line() {
        let err = parse_str("A=1\nB='open\n").unwrap_err().to_string();
        assert_eq!(err, "/p/.env:2: a single quote is not closed");
        let err = parse_str("A=1\n\nnot a name=1\n").unwrap_err().to_string();
        assert!(err.starts_with("/p/.env:3: "), "{err}");
    }
}

//! Parsing `WWW-Authenticate` challenges (RFC 7235): the scheme and its
//! parameters, e.g. `Bearer realm="https://auth.example/token",service="reg",
//! scope="repository:app:pull"`. The header is registry-controlled input, so
//! the parser is strict about structure and never panics.

use std::collections::BTreeMap;

/// One challenge from a registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// Lower-cased scheme: "bearer" or "basic" (others are kept but unused).
    pub scheme: String,
    /// Lower-cased parameter names to their (unquoted) values.
    pub params: BTreeMap<String, String>,
}

impl Challenge {
    pub fn realm(&self) -> &str {
        self.params.get("realm").map(String::as_str).unwrap_or("")
    }
    pub fn is_bearer(&self) -> bool {
        self.scheme == "bearer"
    }
    pub fn is_basic(&self) -> bool {
        self.scheme == "basic"
    }
}

/// Parses one header value. Registries send a single challenge; when several
/// are present the first is returned. `None` when the value is malformed.
pub fn parse(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, rest) = match header.find(char::is_whitespace) {
        Some(i) => (&header[..i], header[i..].trim_start()),
        None => (header, ""),
    };
    if scheme.is_empty() || !scheme.chars().all(is_token_char) {
        return None;
    }
    let mut params = BTreeMap::new();
    let mut chars = rest.chars().peekable();
    loop {
        while matches!(chars.peek(), Some(c) if c.is_whitespace() || *c == ',') {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let mut name = String::new();
        while let Some(&c) = chars.peek() {
            if !is_token_char(c) {
                break;
            }
            name.push(c);
            chars.next();
        }
        while matches!(chars.peek(), Some(c) if c.is_whitespace()) {
            chars.next();
        }
        if name.is_empty() || chars.next() != Some('=') {
            // A second challenge ("Basic realm=..., Bearer ...") or garbage: stop here.
            break;
        }
        while matches!(chars.peek(), Some(c) if c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            let mut closed = false;
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.push(chars.next()?),
                    '"' => {
                        closed = true;
                        break;
                    }
                    c => value.push(c),
                }
            }
            if !closed {
                return None;
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' || c.is_whitespace() {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        params.insert(name.to_ascii_lowercase(), value);
    }
    Some(Challenge {
        scheme: scheme.to_ascii_lowercase(),
        params,
    })
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_with_quoted_params() {
        let c = parse(
            r#"Bearer realm="https://auth.test/token",service="registry.test",scope="repository:a/b:pull,push""#,
        )
        .unwrap();
        assert!(c.is_bearer());
        assert_eq!(c.realm(), "https://auth.test/token");
        assert_eq!(c.params["service"], "registry.test");
        assert_eq!(c.params["scope"], "repository:a/b:pull,push");
    }

    #[test]
    fn basic_and_unquoted_and_escapes() {
        let c = parse(r#"Basic realm="Registry \"Realm\"", charset=UTF-8"#).unwrap();
        assert!(c.is_basic());
        assert_eq!(c.realm(), "Registry \"Realm\"");
        assert_eq!(c.params["charset"], "UTF-8");
    }

    #[test]
    fn malformed_values() {
        assert_eq!(parse(r#"Bearer realm="unterminated"#), None);
        assert_eq!(parse(""), None);
        assert_eq!(parse("Be(arer realm=x"), None);
        let c = parse("Bearer").unwrap();
        assert!(c.params.is_empty());
    }
}

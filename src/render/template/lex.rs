//! Splits a Go template into text and the tokens of its actions (`{{ ... }}`), with Go's
//! trim markers (`{{- ` eats the white space before, ` -}}` the white space after) and
//! comments (`{{/* ... */}}`).

use super::TemplateError;

#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    /// `.`, `.A.B` (the names after the dot)
    Field(Vec<String>),
    /// `$`, `$x`, `$x.A.B`
    Var(String, Vec<String>),
    /// a function or keyword name
    Ident(String),
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Nil,
    LParen,
    /// `)` and the field chain after it: `(index . 0).Name`
    RParen(Vec<String>),
    Pipe,
    Declare,
    Assign,
    Comma,
}

#[derive(Debug, PartialEq)]
pub enum Piece {
    Text(String),
    Action(Vec<Token>),
}

pub fn pieces(src: &str) -> Result<Vec<Piece>, TemplateError> {
    let mut out = Vec::new();
    let mut rest = src;
    let mut trim_next = false;
    while let Some(open) = rest.find("{{") {
        let mut text = &rest[..open];
        if trim_next {
            text = text.trim_start();
        }
        let after = &rest[open + 2..];
        let trim_before =
            after.starts_with("- ") || after.starts_with("-\t") || after.starts_with("-\n");
        if trim_before {
            text = text.trim_end();
        }
        if !text.is_empty() {
            out.push(Piece::Text(text.to_string()));
        }
        let inner_start = if trim_before { 1 } else { 0 };
        let body = &after[inner_start..];
        let close = find_close(body)
            .ok_or_else(|| TemplateError::parse("unclosed action: a {{ has no }}"))?;
        let mut inner = &body[..close];
        trim_next = inner.ends_with(" -") || inner.ends_with("\t-") || inner.ends_with("\n-");
        if trim_next {
            inner = &inner[..inner.len() - 1];
        }
        rest = &body[close + 2..];
        let trimmed = inner.trim();
        if trimmed.starts_with("/*") {
            if !trimmed.ends_with("*/") {
                return Err(TemplateError::parse("unclosed comment"));
            }
            continue;
        }
        out.push(Piece::Action(tokens(inner)?));
    }
    let mut text = rest;
    if trim_next {
        text = text.trim_start();
    }
    if !text.is_empty() {
        out.push(Piece::Text(text.to_string()));
    }
    Ok(out)
}

/// The `}}` that ends the action, skipping any inside string literals.
fn find_close(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 0;
    while i + 1 < b.len() {
        match b[i] {
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'`' => {
                i += 1;
                while i < b.len() && b[i] != b'`' {
                    i += 1;
                }
            }
            b'}' if b[i + 1] == b'}' => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// `.A.B` at `s` -> (["A","B"], bytes used).
fn field_chain(s: &str) -> (Vec<String>, usize) {
    let mut names = Vec::new();
    let mut used = 0;
    let mut rest = s;
    while let Some(r) = rest.strip_prefix('.') {
        let len: usize = r
            .chars()
            .take_while(|c| is_name_char(*c))
            .map(char::len_utf8)
            .sum();
        if len == 0 {
            break;
        }
        names.push(r[..len].to_string());
        used += 1 + len;
        rest = &r[len..];
    }
    (names, used)
}

pub fn tokens(src: &str) -> Result<Vec<Token>, TemplateError> {
    let mut out = Vec::new();
    let mut i = 0;
    let s = src;
    while i < s.len() {
        let rest = &s[i..];
        let c = rest.chars().next().unwrap_or(' ');
        if c.is_whitespace() {
            i += c.len_utf8();
            continue;
        }
        match c {
            '(' => {
                out.push(Token::LParen);
                i += 1;
            }
            ')' => {
                let (chain, used) = field_chain(&rest[1..]);
                out.push(Token::RParen(chain));
                i += 1 + used;
            }
            '|' => {
                out.push(Token::Pipe);
                i += 1;
            }
            ',' => {
                out.push(Token::Comma);
                i += 1;
            }
            ':' if rest.starts_with(":=") => {
                out.push(Token::Declare);
                i += 2;
            }
            '=' => {
                out.push(Token::Assign);
                i += 1;
            }
            '.' => {
                let (chain, used) = field_chain(rest);
                if used == 0 {
                    out.push(Token::Field(Vec::new()));
                    i += 1;
                } else {
                    out.push(Token::Field(chain));
                    i += used;
                }
            }
            '$' => {
                let len: usize = rest[1..]
                    .chars()
                    .take_while(|c| is_name_char(*c))
                    .map(char::len_utf8)
                    .sum();
                let name = rest[..1 + len].to_string();
                let (chain, used) = field_chain(&rest[1 + len..]);
                out.push(Token::Var(name, chain));
                i += 1 + len + used;
            }
            '"' => {
                let (text, used) = quoted(rest)?;
                out.push(Token::Str(text));
                i += used;
            }
            '`' => {
                let end = rest[1..]
                    .find('`')
                    .ok_or_else(|| TemplateError::parse("unterminated raw string"))?;
                out.push(Token::Str(rest[1..1 + end].to_string()));
                i += end + 2;
            }
            c if c.is_ascii_digit()
                || ((c == '-' || c == '+')
                    && rest[1..].starts_with(|d: char| d.is_ascii_digit())) =>
            {
                let len = 1 + rest[1..]
                    .chars()
                    .take_while(|d| d.is_ascii_alphanumeric() || *d == '.' || *d == '_')
                    .count();
                let lit = &rest[..len];
                if let Ok(n) = lit.parse::<i64>() {
                    out.push(Token::Int(n));
                } else if let Ok(f) = lit.parse::<f64>() {
                    out.push(Token::Float(f));
                } else {
                    return Err(TemplateError::parse(format!("bad number syntax: {lit:?}")));
                }
                i += len;
            }
            c if is_name_char(c) => {
                let len: usize = rest
                    .chars()
                    .take_while(|c| is_name_char(*c))
                    .map(char::len_utf8)
                    .sum();
                let word = &rest[..len];
                out.push(match word {
                    "true" => Token::Bool(true),
                    "false" => Token::Bool(false),
                    "nil" => Token::Nil,
                    w => Token::Ident(w.to_string()),
                });
                i += len;
            }
            other => {
                return Err(TemplateError::parse(format!(
                    "unexpected {other:?} in action {:?}",
                    src.trim()
                )))
            }
        }
    }
    Ok(out)
}

/// A Go interpreted string literal at the start of `s` -> (its value, bytes used).
fn quoted(s: &str) -> Result<(String, usize), TemplateError> {
    let mut out = String::new();
    let mut chars = s.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((out, i + 1)),
            '\\' => match chars.next().map(|(_, e)| e) {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some('\\') => out.push('\\'),
                Some('"') => out.push('"'),
                Some(e) => {
                    return Err(TemplateError::parse(format!(
                        "unknown escape \\{e} in a string"
                    )))
                }
                None => break,
            },
            c => out.push(c),
        }
    }
    Err(TemplateError::parse("unterminated quoted string"))
}

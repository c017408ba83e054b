//! Events → [`Node`] tree. saphyr-parser reports anchors and aliases by id; we keep a copy of
//! each anchored node and clone it at its aliases. Merge keys (`<<: *base` or
//! `<<: [*a, *b]`, YAML 1.1, which compose files use a lot) are applied when the mapping ends:
//! explicit keys win, then earlier merge sources win over later ones.

use super::{Node, Pos, Value};
use crate::error::{ComposeError, Result};
use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Span};
use std::collections::HashMap;
use std::sync::Arc;

/// Parses `text` (named `file` in errors). An empty document is an empty mapping's `Null`.
pub fn load(text: &str, file: &str) -> Result<Node> {
    let mut b = Builder {
        parser: Parser::new_from_str(text),
        file: Arc::from(file),
        anchors: HashMap::new(),
    };
    b.document()
}

struct Builder<'a> {
    parser: Parser<'a, saphyr_parser::StrInput<'a>>,
    file: Arc<str>,
    anchors: HashMap<usize, Node>,
}

impl<'a> Builder<'a> {
    fn next(&mut self) -> Result<(Event<'a>, Span)> {
        match self.parser.next_event() {
            Some(Ok(ev)) => Ok(ev),
            Some(Err(e)) => Err(self.scan_error(&e)),
            None => Err(self.error_at(0, 0, "unexpected end of input")),
        }
    }

    fn scan_error(&self, e: &ScanError) -> ComposeError {
        let m = e.marker();
        self.error_at(m.line(), m.col() + 1, e.info())
    }

    fn error_at(&self, line: usize, col: usize, message: &str) -> ComposeError {
        ComposeError::Syntax {
            file: self.file.to_string(),
            line,
            col,
            message: message.to_string(),
        }
    }

    fn pos(&self, span: &Span) -> Pos {
        Pos {
            file: self.file.clone(),
            line: span.start.line(),
        }
    }

    fn document(&mut self) -> Result<Node> {
        let mut root = None;
        loop {
            let (ev, span) = self.next()?;
            match ev {
                Event::StreamEnd => break,
                Event::StreamStart | Event::DocumentEnd => {}
                Event::DocumentStart(_) if root.is_some() => {
                    return Err(self.error_at(
                        span.start.line(),
                        span.start.col() + 1,
                        "a compose file holds one YAML document; remove the second `---`",
                    ))
                }
                Event::DocumentStart(_) => {
                    let (ev, span) = self.next()?;
                    root = Some(self.node(ev, span)?);
                }
                _ => {}
            }
        }
        Ok(root.unwrap_or_else(|| Node::new(Value::Null, Pos::new(&self.file, 1))))
    }

    fn node(&mut self, ev: Event<'a>, span: Span) -> Result<Node> {
        let pos = self.pos(&span);
        let (node, anchor) = match ev {
            Event::Alias(id) => {
                let node = self.anchors.get(&id).cloned().ok_or_else(|| {
                    self.error_at(span.start.line(), span.start.col() + 1, "unknown alias")
                })?;
                return Ok(node);
            }
            Event::Scalar(text, style, anchor, tag) => {
                let plain = style == ScalarStyle::Plain;
                let value = if plain && is_null(&text) {
                    Value::Null
                } else {
                    Value::Scalar {
                        text: text.into_owned(),
                        plain,
                    }
                };
                (tagged(Node::new(value, pos), tag), anchor)
            }
            Event::SequenceStart(anchor, tag) => {
                let mut items = Vec::new();
                loop {
                    let (ev, span) = self.next()?;
                    if ev == Event::SequenceEnd {
                        break;
                    }
                    items.push(self.node(ev, span)?);
                }
                (tagged(Node::new(Value::Seq(items), pos), tag), anchor)
            }
            Event::MappingStart(anchor, tag) => (tagged(self.mapping(pos)?, tag), anchor),
            other => {
                return Err(self.error_at(
                    span.start.line(),
                    span.start.col() + 1,
                    &format!("unexpected {other:?}"),
                ))
            }
        };
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        Ok(node)
    }

    fn mapping(&mut self, pos: Pos) -> Result<Node> {
        let mut entries: Vec<(String, Node)> = Vec::new();
        let mut merges: Vec<Node> = Vec::new();
        loop {
            let (ev, span) = self.next()?;
            if ev == Event::MappingEnd {
                break;
            }
            let key_line = span.start.line();
            let key = self.node(ev, span)?;
            let (ev, span) = self.next()?;
            let value = self.node(ev, span)?;
            let key = match key.value {
                Value::Scalar { text, plain } if plain && text == "<<" => {
                    merges.push(value);
                    continue;
                }
                Value::Scalar { text, .. } => text,
                Value::Null => "null".to_string(),
                _ => {
                    return Err(self.error_at(
                        key_line,
                        1,
                        "a mapping key must be a plain string, not a sequence or mapping",
                    ))
                }
            };
            if entries.iter().any(|(k, _)| *k == key) {
                return Err(self.error_at(
                    key_line,
                    1,
                    &format!("key {key:?} appears twice in the same mapping"),
                ));
            }
            entries.push((key, value));
        }
        for source in merges {
            let sources = match source.value {
                Value::Seq(items) => items,
                _ => vec![source],
            };
            for s in sources {
                let Value::Map(m) = s.value else {
                    return Err(self.error_at(
                        s.pos.line,
                        1,
                        "a merge key (<<) takes a mapping or a list of mappings",
                    ));
                };
                for (k, v) in m {
                    if !entries.iter().any(|(e, _)| *e == k) {
                        entries.push((k, v));
                    }
                }
            }
        }
        Ok(Node::new(Value::Map(entries), pos))
    }
}

/// Keeps local tags (`!reset`, `!override`); core-schema tags (`!!str`) need nothing kept.
fn tagged(mut node: Node, tag: Option<std::borrow::Cow<'_, saphyr_parser::Tag>>) -> Node {
    if let Some(t) = tag {
        if t.handle == "!" {
            node.tag = Some(format!("!{}", t.suffix));
        }
    }
    node
}

fn is_null(text: &str) -> bool {
    matches!(text, "" | "~" | "null" | "Null" | "NULL")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(n: &Node) -> &str {
        n.as_scalar().unwrap()
    }

    #[test]
    fn keeps_lines_and_order() {
        let n = load("b: 1\na:\n  - x\n  - 'y'\n", "f.yml").unwrap();
        let m = n.as_map().unwrap();
        assert_eq!(m[0].0, "b");
        assert_eq!(m[1].0, "a");
        assert_eq!(m[1].1.pos.line, 3);
        let Value::Seq(items) = &m[1].1.value else {
            panic!()
        };
        assert_eq!(items[1].pos.line, 4);
        assert!(matches!(items[1].value, Value::Scalar { plain: false, .. }));
    }

    #[test]
    fn anchors_aliases_and_merge_keys() {
        let text = "x-base: &base\n  image: busybox\n  restart: always\nx-env: &env\n  restart: 'no'\n  user: nobody\nservices:\n  a:\n    <<: [*base, *env]\n    image: alpine\n  b: *base\n";
        let n = load(text, "f.yml").unwrap();
        let a = n.get("services").unwrap().get("a").unwrap();
        assert_eq!(scalar(a.get("image").unwrap()), "alpine");
        assert_eq!(scalar(a.get("restart").unwrap()), "always");
        assert_eq!(scalar(a.get("user").unwrap()), "nobody");
        let b = n.get("services").unwrap().get("b").unwrap();
        assert_eq!(scalar(b.get("image").unwrap()), "busybox");
    }

    #[test]
    fn syntax_errors_name_file_and_line() {
        let err = load("services:\n  a: [1, 2\n  b: 3\n", "bad.yml").unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("bad.yml:"), "{msg}");
        assert!(matches!(err, ComposeError::Syntax { line, .. } if line >= 2));
    }

    #[test]
    fn duplicate_keys_are_refused() {
        let err = load("a: 1\nb: 2\na: 3\n", "d.yml").unwrap_err();
        assert!(err.to_string().contains("\"a\" appears twice"), "{err}");
        assert!(err.to_string().starts_with("d.yml:3"), "{err}");
    }

    #[test]
    fn nulls_and_empty_documents() {
        assert!(load("", "e.yml").unwrap().is_null());
        let n = load("a: ~\nb:\nc: 'null'\n", "e.yml").unwrap();
        assert!(n.get("a").unwrap().is_null());
        assert!(n.get("b").unwrap().is_null());
        assert_eq!(scalar(n.get("c").unwrap()), "null");
    }
}

//! A cursor over one logical line's arguments: whitespace-separated words
//! (quotes kept for the expansion step), `--flag=value` options, JSON arrays.

use super::error::Pos;
use super::expand::Mode;
use super::lines::LogicalLine;
use super::Word;

/// A parse failure: where, and what is wrong.
pub type Fail = (Pos, String);

/// A `--name[=value]` option before an instruction's arguments.
#[derive(Debug, Clone)]
pub struct Flag {
    pub name: String,
    pub value: Option<Word>,
    pub pos: Pos,
}

pub struct Cursor<'a> {
    pub line: &'a LogicalLine,
    pub at: usize,
    pub escape: char,
}

impl<'a> Cursor<'a> {
    pub fn text(&self) -> &'a str {
        &self.line.text
    }

    pub fn pos(&self) -> Pos {
        self.line.pos_at(self.at)
    }

    pub fn pos_of(&self, offset: usize) -> Pos {
        self.line.pos_at(offset)
    }

    pub fn skip_ws(&mut self) {
        let rest = &self.text()[self.at..];
        self.at += rest.len() - rest.trim_start().len();
    }

    pub fn at_end(&mut self) -> bool {
        self.skip_ws();
        self.at >= self.text().len()
    }

    /// The rest of the line, trimmed, and where it starts.
    pub fn rest(&mut self) -> (&'a str, Pos) {
        self.skip_ws();
        (self.text()[self.at..].trim_end(), self.pos())
    }

    /// The next whitespace-separated word. Quotes group words and the escape
    /// character protects the next character; both stay in the raw text.
    pub fn word(&mut self) -> Option<Word> {
        self.skip_ws();
        let text = self.text();
        let start = self.at;
        let mut quote: Option<char> = None;
        let mut chars = text[start..].char_indices().peekable();
        let mut end = text.len();
        while let Some((i, c)) = chars.next() {
            match quote {
                Some(q) if c == q => quote = None,
                Some(_) => {}
                None if c.is_whitespace() => {
                    end = start + i;
                    break;
                }
                None if c == '\'' || c == '"' => quote = Some(c),
                None => {}
            }
            if c == self.escape && quote != Some('\'') {
                chars.next();
            }
        }
        if end == start {
            return None;
        }
        self.at = end;
        Some(Word {
            raw: text[start..end].to_string(),
            pos: self.pos_of(start),
            mode: Mode::Shell,
        })
    }

    /// All remaining words.
    pub fn words(&mut self) -> Vec<Word> {
        std::iter::from_fn(|| self.word()).collect()
    }

    /// Leading `--name[=value]` options; any name not in `allowed` is an error.
    pub fn flags(&mut self, keyword: &str, allowed: &[&str]) -> Result<Vec<Flag>, Fail> {
        self.flags_repeatable(keyword, allowed, &[])
    }

    /// Like `flags`, where the names in `repeatable` may be given several times.
    pub fn flags_repeatable(
        &mut self,
        keyword: &str,
        allowed: &[&str],
        repeatable: &[&str],
    ) -> Result<Vec<Flag>, Fail> {
        let mut flags = Vec::new();
        loop {
            self.skip_ws();
            if !self.text()[self.at..].starts_with("--") {
                return Ok(flags);
            }
            let word = self.word().expect("a word starts with --");
            let body = &word.raw[2..];
            let (name, value) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (body, None),
            };
            if !allowed.contains(&name) {
                let hint = if allowed.is_empty() {
                    format!("{keyword} takes no options")
                } else {
                    let list: Vec<String> = allowed.iter().map(|a| format!("--{a}")).collect();
                    format!("{keyword} accepts {}", list.join(", "))
                };
                return Err((
                    word.pos,
                    format!("unknown flag --{name} for {keyword}: {hint}"),
                ));
            }
            if !repeatable.contains(&name) && flags.iter().any(|f: &Flag| f.name == name) {
                return Err((word.pos, format!("--{name} given twice")));
            }
            let value = value.map(|v| Word {
                raw: v.to_string(),
                pos: Pos {
                    line: word.pos.line,
                    col: word.pos.col + 3 + name.chars().count(),
                },
                mode: Mode::Shell,
            });
            flags.push(Flag {
                name: name.to_string(),
                value,
                pos: word.pos,
            });
        }
    }

    /// The rest of the line as a JSON array of strings, if it is one.
    pub fn json_array(&mut self) -> Option<Vec<String>> {
        let (rest, _) = self.rest();
        if !rest.starts_with('[') {
            return None;
        }
        serde_json::from_str::<Vec<String>>(rest).ok()
    }

    /// The rest of the line as JSON-form words (each positioned at the array).
    pub fn json_words(&mut self) -> Option<Vec<Word>> {
        let (_, pos) = self.rest();
        let items = self.json_array()?;
        Some(
            items
                .into_iter()
                .map(|raw| Word {
                    raw,
                    pos,
                    mode: Mode::VarsOnly,
                })
                .collect(),
        )
    }
}

/// Parses a Go-style duration (`30s`, `1m30s`, `500ms`, `1h`, `1.5s`) into nanoseconds.
pub fn parse_duration(text: &str) -> Option<u64> {
    if text == "0" {
        return Some(0);
    }
    let mut total: f64 = 0.0;
    let mut rest = text;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return None;
        }
        let number: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += number * scale;
    }
    if total > u64::MAX as f64 {
        return None;
    }
    Some(total.round() as u64)
}

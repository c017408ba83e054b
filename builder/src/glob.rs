//! Path patterns as docker uses them in COPY sources and `.dockerignore`:
//! `*` (within one path component), `?`, `[a-z]` / `[^a-z]` classes, `\`
//! escapes, and `**` for any number of directories.

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(char),
    /// `*`: any run of characters except `/`.
    Star,
    /// `**`: anything, including `/`.
    DoubleStar,
    /// `**/`: nothing, or anything ending in `/`.
    DoubleStarSlash,
    /// `?`: one character except `/`.
    One,
    /// `[...]`: (negated, ranges).
    Class(bool, Vec<(char, char)>),
}

/// A compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    tokens: Vec<Token>,
}

/// A pattern that cannot be compiled (an unclosed `[`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadPattern(pub String);

impl Pattern {
    pub fn new(pattern: &str) -> Result<Pattern, BadPattern> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut tokens = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            i += 1;
            match c {
                '*' if chars.get(i) == Some(&'*') => {
                    i += 1;
                    if chars.get(i) == Some(&'/') {
                        i += 1;
                        tokens.push(Token::DoubleStarSlash);
                    } else {
                        tokens.push(Token::DoubleStar);
                    }
                }
                '*' => tokens.push(Token::Star),
                '?' => tokens.push(Token::One),
                '\\' if i < chars.len() => {
                    tokens.push(Token::Literal(chars[i]));
                    i += 1;
                }
                '[' => {
                    let mut negated = false;
                    if matches!(chars.get(i), Some('^') | Some('!')) {
                        negated = true;
                        i += 1;
                    }
                    let mut ranges = Vec::new();
                    let mut closed = false;
                    let mut first = true;
                    while i < chars.len() {
                        let mut lo = chars[i];
                        i += 1;
                        if lo == ']' && !first {
                            closed = true;
                            break;
                        }
                        first = false;
                        if lo == '\\' && i < chars.len() {
                            lo = chars[i];
                            i += 1;
                        }
                        let mut hi = lo;
                        if chars.get(i) == Some(&'-') && chars.get(i + 1).is_some_and(|c| *c != ']')
                        {
                            hi = chars[i + 1];
                            i += 2;
                        }
                        ranges.push((lo, hi));
                    }
                    if !closed {
                        return Err(BadPattern(format!("unclosed '[' in pattern {pattern:?}")));
                    }
                    tokens.push(Token::Class(negated, ranges));
                }
                c => tokens.push(Token::Literal(c)),
            }
        }
        Ok(Pattern { tokens })
    }

    /// Whether the pattern has any wildcard (else it names one path).
    pub fn is_literal(&self) -> bool {
        self.tokens.iter().all(|t| matches!(t, Token::Literal(_)))
    }

    /// Whether `path` (relative, `/`-separated) matches the whole pattern.
    pub fn matches(&self, path: &str) -> bool {
        let chars: Vec<char> = path.chars().collect();
        match_from(&self.tokens, &chars)
    }
}

fn match_from(tokens: &[Token], text: &[char]) -> bool {
    let Some((first, rest)) = tokens.split_first() else {
        return text.is_empty();
    };
    match first {
        Token::Literal(c) => text.first() == Some(c) && match_from(rest, &text[1..]),
        Token::One => text.first().is_some_and(|c| *c != '/') && match_from(rest, &text[1..]),
        Token::Class(negated, ranges) => match text.first() {
            Some(c) if *c != '/' => {
                let inside = ranges.iter().any(|(lo, hi)| lo <= c && c <= hi);
                inside != *negated && match_from(rest, &text[1..])
            }
            _ => false,
        },
        Token::Star => {
            for n in 0..=text.len() {
                if match_from(rest, &text[n..]) {
                    return true;
                }
                if n < text.len() && text[n] == '/' {
                    return false;
                }
            }
            false
        }
        Token::DoubleStar => (0..=text.len()).any(|n| match_from(rest, &text[n..])),
        Token::DoubleStarSlash => {
            match_from(rest, text)
                || (0..text.len()).any(|n| text[n] == '/' && match_from(rest, &text[n + 1..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, path: &str) -> bool {
        Pattern::new(p).unwrap().matches(path)
    }

    #[test]
    fn stars_stay_in_one_component() {
        assert!(m("*.txt", "a.txt"));
        assert!(!m("*.txt", "d/a.txt"));
        assert!(m("d/*", "d/a"));
        assert!(!m("d/*", "d/a/b"));
        assert!(m("a?c", "abc"));
        assert!(!m("a?c", "a/c"));
    }

    #[test]
    fn double_stars_cross_directories() {
        assert!(m("**/*.go", "a.go"));
        assert!(m("**/*.go", "x/y/a.go"));
        assert!(m("x/**", "x/y/z"));
        assert!(m("**", "anything/at/all"));
        assert!(m("a/**/b", "a/b"));
        assert!(m("a/**/b", "a/x/y/b"));
        assert!(!m("a/**/b", "a/x/c"));
    }

    #[test]
    fn classes_and_escapes() {
        assert!(m("[a-c]x", "bx"));
        assert!(!m("[a-c]x", "dx"));
        assert!(m("[^a-c]x", "dx"));
        assert!(m("\\*", "*"));
        assert!(!m("\\*", "a"));
        assert!(Pattern::new("[abc").is_err());
        assert!(Pattern::new("abc").unwrap().is_literal());
        assert!(!Pattern::new("a*c").unwrap().is_literal());
    }
}

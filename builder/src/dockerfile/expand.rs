//! Word processing as docker does it for ENV, LABEL, COPY, WORKDIR, ...:
//! quotes are removed, the escape character makes the next character literal,
//! and `$VAR`, `${VAR}`, `${VAR:-word}`, `${VAR-word}`, `${VAR:+word}`,
//! `${VAR+word}`, `${VAR:?message}` and `${VAR?message}` are expanded from the
//! variables in scope. RUN, CMD and ENTRYPOINT are never expanded here: their
//! shell does it.

/// An expansion failure at byte `offset` of the word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpandError {
    pub offset: usize,
    pub message: String,
}

/// How a word is processed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Shell-like: quotes and escapes are processed, variables expanded.
    Shell,
    /// A JSON-form argument: only variables are expanded (`\$` stays a literal `$`).
    VarsOnly,
    /// A heredoc's content (COPY <<EOF): variables are expanded, quotes are
    /// plain text, and the escape character only protects `$`, itself and a
    /// newline, as in a shell's unquoted here-document.
    Heredoc,
}

/// Expands `word`; `lookup` gives a variable's value (None when unset).
pub fn expand(
    word: &str,
    escape: char,
    mode: Mode,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, ExpandError> {
    let chars: Vec<(usize, char)> = word.char_indices().collect();
    let mut lexer = Lexer {
        chars,
        at: 0,
        end: word.len(),
        escape,
        mode,
        lookup,
    };
    let out = lexer.word(None)?;
    Ok(out)
}

struct Lexer<'a> {
    chars: Vec<(usize, char)>,
    at: usize,
    end: usize,
    escape: char,
    mode: Mode,
    lookup: &'a dyn Fn(&str) -> Option<String>,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).map(|(_, c)| *c)
    }
    fn offset(&self) -> usize {
        self.chars.get(self.at).map_or(self.end, |(o, _)| *o)
    }
    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        if c.is_some() {
            self.at += 1;
        }
        c
    }
    fn error<T>(&self, offset: usize, message: impl Into<String>) -> Result<T, ExpandError> {
        Err(ExpandError {
            offset,
            message: message.into(),
        })
    }

    /// Reads until `stop` (not consumed-into-output; consumed from input) or the end.
    fn word(&mut self, stop: Option<char>) -> Result<String, ExpandError> {
        let mut out = String::new();
        while let Some(c) = self.peek() {
            if Some(c) == stop {
                return Ok(out);
            }
            self.at += 1;
            match c {
                '\'' if self.mode == Mode::Shell => self.single_quoted(&mut out)?,
                '"' if self.mode == Mode::Shell => self.double_quoted(&mut out)?,
                '$' => self.variable(&mut out)?,
                c if c == self.escape => match self.mode {
                    Mode::Shell => {
                        if let Some(n) = self.next() {
                            out.push(n);
                        }
                    }
                    Mode::VarsOnly => {
                        if self.peek() == Some('$') {
                            self.at += 1;
                            out.push('$');
                        } else {
                            out.push(c);
                        }
                    }
                    Mode::Heredoc => match self.peek() {
                        Some('\n') => self.at += 1,
                        Some(n) if n == '$' || n == self.escape => {
                            self.at += 1;
                            out.push(n);
                        }
                        _ => out.push(c),
                    },
                },
                c => out.push(c),
            }
        }
        if let Some(stop) = stop {
            return self.error(self.end, format!("missing '{stop}'"));
        }
        Ok(out)
    }

    fn single_quoted(&mut self, out: &mut String) -> Result<(), ExpandError> {
        let start = self.offset().saturating_sub(1);
        loop {
            match self.next() {
                Some('\'') => return Ok(()),
                Some(c) => out.push(c),
                None => return self.error(start, "unterminated single quote"),
            }
        }
    }

    fn double_quoted(&mut self, out: &mut String) -> Result<(), ExpandError> {
        let start = self.offset().saturating_sub(1);
        loop {
            match self.next() {
                Some('"') => return Ok(()),
                Some('$') => self.variable(out)?,
                Some(c) if c == self.escape => match self.peek() {
                    // Only these can be escaped inside double quotes; other escapes stay.
                    Some(n) if n == '"' || n == '$' || n == self.escape => {
                        self.at += 1;
                        out.push(n);
                    }
                    Some(_) => out.push(c),
                    None => {}
                },
                Some(c) => out.push(c),
                None => return self.error(start, "unterminated double quote"),
            }
        }
    }

    fn name(&mut self) -> String {
        let mut name = String::new();
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == '_' {
                name.push(c);
                self.at += 1;
            } else {
                break;
            }
        }
        name
    }

    /// Called just after a `$`.
    fn variable(&mut self, out: &mut String) -> Result<(), ExpandError> {
        let dollar = self.offset().saturating_sub(1);
        match self.peek() {
            Some('{') => {
                self.at += 1;
                self.braced(dollar, out)
            }
            Some(c) if c.is_ascii_alphabetic() || c == '_' => {
                let name = self.name();
                out.push_str(&(self.lookup)(&name).unwrap_or_default());
                Ok(())
            }
            _ => {
                out.push('$'); // a lone `$` is literal, as in docker
                Ok(())
            }
        }
    }

    fn braced(&mut self, dollar: usize, out: &mut String) -> Result<(), ExpandError> {
        let name_at = self.offset();
        let name = self.name();
        if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
            return self.error(
                dollar,
                "bad substitution: expected a variable name after '${'",
            );
        }
        let value = (self.lookup)(&name);
        let Some(c) = self.next() else {
            return self.error(dollar, format!("missing '}}' in '${{{name}'"));
        };
        if c == '}' {
            out.push_str(&value.unwrap_or_default());
            return Ok(());
        }
        let (colon, op) = if c == ':' {
            (true, self.next())
        } else {
            (false, Some(c))
        };
        let op_at = self.offset().saturating_sub(1);
        let op = match op {
            Some(op @ ('-' | '+' | '?')) => op,
            Some(other) => {
                return self.error(
                    op_at,
                    format!("unsupported modifier '{other}' in '${{{name}...}}': hoist supports :- - :+ + :? ?"),
                )
            }
            None => return self.error(dollar, format!("missing '}}' in '${{{name}'")),
        };
        let word = self.word(Some('}'))?;
        self.at += 1; // the closing brace
                      // With a colon, an empty value counts as unset.
        let set = match &value {
            Some(v) => !(colon && v.is_empty()),
            None => false,
        };
        match op {
            '-' => out.push_str(&if set { value.unwrap_or_default() } else { word }),
            '+' => {
                if set {
                    out.push_str(&word)
                }
            }
            _ => {
                if !set {
                    let message = if word.is_empty() {
                        format!("{name}: is not set")
                    } else {
                        format!("{name}: {word}")
                    };
                    return self.error(name_at, message);
                }
                out.push_str(&value.unwrap_or_default());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "A" => Some("alpha".into()),
            "E" => Some(String::new()),
            "SP" => Some("a b".into()),
            _ => None,
        }
    }
    fn x(word: &str) -> String {
        expand(word, '\\', Mode::Shell, &env).unwrap()
    }
    fn err(word: &str) -> ExpandError {
        expand(word, '\\', Mode::Shell, &env).unwrap_err()
    }

    #[test]
    fn plain_and_braced_variables() {
        assert_eq!(x("$A"), "alpha");
        assert_eq!(x("${A}"), "alpha");
        assert_eq!(x("x${A}y"), "xalphay");
        assert_eq!(x("$A-b"), "alpha-b");
        assert_eq!(x("$Ab"), "");
        assert_eq!(x("$UNSET"), "");
        assert_eq!(x("${SP}"), "a b");
    }

    #[test]
    fn defaults_and_alternatives() {
        assert_eq!(x("${UNSET:-dflt}"), "dflt");
        assert_eq!(x("${E:-dflt}"), "dflt");
        assert_eq!(x("${E-dflt}"), "");
        assert_eq!(x("${UNSET-dflt}"), "dflt");
        assert_eq!(x("${A:-dflt}"), "alpha");
        assert_eq!(x("${A:+alt}"), "alt");
        assert_eq!(x("${E:+alt}"), "");
        assert_eq!(x("${E+alt}"), "alt");
        assert_eq!(x("${UNSET+alt}"), "");
        assert_eq!(x("${UNSET:-${A}}"), "alpha");
        assert_eq!(x("${UNSET:-a b}"), "a b");
        assert_eq!(x("${UNSET:-\"q}\"}"), "q}");
    }

    #[test]
    fn required_variables() {
        assert_eq!(x("${A:?must}"), "alpha");
        let e = err("${UNSET:?must be set}");
        assert_eq!(e.message, "UNSET: must be set");
        assert_eq!(err("${E:?}").message, "E: is not set");
        assert_eq!(x("${E?}"), "");
    }

    #[test]
    fn quotes_and_escapes() {
        assert_eq!(x("'$A'"), "$A");
        assert_eq!(x("\"$A\""), "alpha");
        assert_eq!(x("\"a b\""), "a b");
        assert_eq!(x("\\$A"), "$A");
        assert_eq!(x("\"\\$A\""), "$A");
        assert_eq!(x("\"\\n\""), "\\n");
        assert_eq!(x("a\\ b"), "a b");
        assert_eq!(x("a'b c'd"), "ab cd");
        assert_eq!(x("$"), "$");
        assert_eq!(x("a$"), "a$");
        assert_eq!(x("$1"), "$1");
    }

    #[test]
    fn backtick_escape() {
        let v = expand("`$A", '`', Mode::Shell, &env).unwrap();
        assert_eq!(v, "$A");
        let v = expand("C:\\dir", '`', Mode::Shell, &env).unwrap();
        assert_eq!(v, "C:\\dir");
    }

    #[test]
    fn vars_only_keeps_quotes() {
        let v = expand("'$A' \"x\"", '\\', Mode::VarsOnly, &env).unwrap();
        assert_eq!(v, "'alpha' \"x\"");
        let v = expand("\\$A \\n", '\\', Mode::VarsOnly, &env).unwrap();
        assert_eq!(v, "$A \\n");
    }

    #[test]
    fn heredoc_content_keeps_quotes() {
        let v = expand(
            "echo \"hello ${A}\" '$A' \\$A \\n\n",
            '\\',
            Mode::Heredoc,
            &env,
        )
        .unwrap();
        assert_eq!(v, "echo \"hello alpha\" 'alpha' $A \\n\n");
    }

    #[test]
    fn malformed_substitutions() {
        let e = err("ab${A");
        assert_eq!(e.offset, 2);
        assert!(e.message.contains("missing '}'"), "{}", e.message);
        assert_eq!(err("${}").offset, 0);
        assert!(err("${}").message.contains("bad substitution"));
        let e = err("x${A#pre}");
        assert!(
            e.message.contains("unsupported modifier '#'"),
            "{}",
            e.message
        );
        assert_eq!(e.offset, 4);
        assert!(err("${A:-abc").message.contains("missing '}'"));
        assert!(err("'abc").message.contains("unterminated single quote"));
        assert!(err("\"abc").message.contains("unterminated double quote"));
    }
}

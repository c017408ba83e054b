//! Here-documents in RUN, COPY and ADD, as BuildKit reads them: a word of
//! the instruction's line of the form `<<NAME`, `<<-NAME` or `<<"NAME"`
//! starts one, and the physical lines after the instruction up to a line that
//! is exactly NAME (after leading tabs with `<<-`) are its content. Several
//! heredocs on one line are read one after another.

/// A here-document of an instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    /// The delimiter, quotes removed (also the file name COPY gives it).
    pub name: String,
    /// The lines, each ending in `\n`, exactly as written.
    pub content: String,
    /// `<<-`: leading tabs are stripped from every line.
    pub chomp: bool,
    /// An unquoted delimiter: COPY expands variables in the content.
    pub expand: bool,
}

impl Heredoc {
    /// The content with `<<-`'s tab stripping applied.
    pub fn text(&self) -> String {
        if !self.chomp {
            return self.content.clone();
        }
        self.content
            .split_inclusive('\n')
            .map(|l| l.trim_start_matches('\t'))
            .collect()
    }
}

/// The heredoc markers on an instruction's line, in order; an error for a
/// redirection BuildKit refuses (`3<<EOF`).
pub fn markers(line: &str, escape: char) -> Result<Vec<Heredoc>, String> {
    let mut found = Vec::new();
    for word in words(line, escape) {
        if let Some(h) = marker(&word)? {
            found.push(h);
        }
    }
    Ok(found)
}

/// Whether `word` (raw, quotes kept) is a heredoc marker.
pub fn marker(word: &str) -> Result<Option<Heredoc>, String> {
    let digits = word.len() - word.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let Some(rest) = word[digits..].strip_prefix("<<") else {
        return Ok(None);
    };
    let (chomp, rest) = match rest.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    if rest.is_empty() || rest.contains('<') || rest.contains(char::is_whitespace) {
        return Ok(None);
    }
    if digits > 0 && word[..digits].parse::<u64>().ok() != Some(0) {
        return Err(format!(
            "unsupported heredoc redirect {}: only stdin (0) can take a heredoc",
            &word[..digits]
        ));
    }
    let name: String = rest.chars().filter(|c| *c != '"' && *c != '\'').collect();
    if name.is_empty() {
        return Ok(None);
    }
    Ok(Some(Heredoc {
        expand: name.len() == rest.len(),
        name,
        content: String::new(),
        chomp,
    }))
}

/// Splits a line into raw words (quotes and escapes kept, as BuildKit's
/// lexer with raw quotes does).
fn words(line: &str, escape: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c.is_whitespace() => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
                continue;
            }
            None if c == '\'' || c == '"' => quote = Some(c),
            None => {}
        }
        current.push(c);
        if c == escape && quote != Some('\'') {
            if let Some(n) = chars.next() {
                current.push(n);
            }
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_and_their_forms() {
        let m = markers("RUN <<EOF", '\\').unwrap();
        assert_eq!(m.len(), 1);
        assert!(m[0].expand && !m[0].chomp && m[0].name == "EOF");
        let m = markers("RUN <<-\"EOT\" cat && 0<<'B' x", '\\').unwrap();
        assert_eq!(m.len(), 2);
        assert!(m[0].chomp && !m[0].expand && m[0].name == "EOT");
        assert!(!m[1].expand && m[1].name == "B");
        assert!(markers("RUN echo '<<EOF' a<<b <<<here", '\\')
            .unwrap()
            .is_empty());
        assert!(markers("RUN cat 3<<EOF", '\\')
            .unwrap_err()
            .contains("unsupported heredoc redirect 3"));
    }

    #[test]
    fn chomp_strips_leading_tabs_only() {
        let h = Heredoc {
            name: "E".into(),
            content: "\t\tone\n  two\n\tthree\n".into(),
            chomp: true,
            expand: true,
        };
        assert_eq!(h.text(), "one\n  two\nthree\n");
    }
}

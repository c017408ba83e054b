//! `.dockerignore`: one pattern per line, `#` comments, `!` exceptions, the
//! last matching line wins, a leading `/` means nothing (paths are relative
//! to the context), and a pattern that matches a directory excludes all of it.

use crate::glob::{BadPattern, Pattern};

#[derive(Debug, Clone, Default)]
pub struct IgnoreRules {
    rules: Vec<(Pattern, bool)>,
    has_exceptions: bool,
}

impl IgnoreRules {
    /// Parses the text of a `.dockerignore` file.
    pub fn parse(text: &str) -> Result<IgnoreRules, BadPattern> {
        let mut rules = IgnoreRules::default();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (exception, pattern) = match line.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, line),
            };
            let cleaned = clean(pattern);
            if cleaned.is_empty() {
                continue;
            }
            rules.has_exceptions |= exception;
            rules.rules.push((Pattern::new(&cleaned)?, exception));
        }
        Ok(rules)
    }

    /// Whether `path` (relative to the context, `/`-separated) is excluded.
    pub fn excluded(&self, path: &str) -> bool {
        let mut excluded = false;
        for (pattern, exception) in &self.rules {
            // A pattern matches the path itself or any directory above it.
            let hit = pattern.matches(path)
                || path
                    .match_indices('/')
                    .any(|(i, _)| pattern.matches(&path[..i]));
            if hit {
                excluded = !exception;
            }
        }
        excluded
    }

    /// Whether there are no rules at all.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Whether a walk must look inside an excluded directory (an exception
    /// could bring back something below it).
    pub fn has_exceptions(&self) -> bool {
        self.has_exceptions
    }
}

/// Like Go's `filepath.Clean` on a relative pattern, minus the leading `/`.
fn clean(pattern: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in pattern.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_rules() {
        let rules = IgnoreRules::parse(
            "# comment\n\n/secret\n*.log\n!keep.log\n**/node_modules\ndocs/\n./tmp/*\n",
        )
        .unwrap();
        assert!(rules.excluded("secret"));
        assert!(rules.excluded("secret/inner/file"));
        assert!(rules.excluded("a.log"));
        assert!(!rules.excluded("keep.log"));
        assert!(!rules.excluded("sub/a.log"), "*.log is only top level");
        assert!(rules.excluded("node_modules"));
        assert!(rules.excluded("x/y/node_modules/z"));
        assert!(rules.excluded("docs/readme"));
        assert!(rules.excluded("tmp/x"));
        assert!(!rules.excluded("tmp"));
        assert!(!rules.excluded("src/main.rs"));
        assert!(rules.has_exceptions());
    }

    #[test]
    fn last_match_wins() {
        let rules = IgnoreRules::parse("*\n!src\nsrc/gen\n").unwrap();
        assert!(rules.excluded("README"));
        assert!(!rules.excluded("src/lib.rs"));
        assert!(rules.excluded("src/gen/x.rs"));
    }
}

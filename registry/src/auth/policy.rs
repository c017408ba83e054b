//! The access policy: which subjects may pull, push or delete in which
//! repositories, from the config's `[[auth.access]]` rules.

use crate::config::AuthConfig;
use std::collections::BTreeSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    Pull,
    Push,
    Delete,
}

impl Action {
    pub fn parse(s: &str) -> Option<Action> {
        match s {
            "pull" => Some(Action::Pull),
            "push" => Some(Action::Push),
            "delete" => Some(Action::Delete),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Pull => "pull",
            Action::Push => "push",
            Action::Delete => "delete",
        }
    }
    pub const ALL: [Action; 3] = [Action::Pull, Action::Push, Action::Delete];
}

pub struct Policy {
    config: AuthConfig,
}

impl Policy {
    pub fn new(config: AuthConfig) -> Self {
        Policy { config }
    }

    /// The actions `user` (None = anonymous) may take on `repo`.
    pub fn allowed(&self, user: Option<&str>, repo: &str) -> BTreeSet<Action> {
        let mut out = BTreeSet::new();
        if self.config.anonymous_pull {
            out.insert(Action::Pull);
        }
        let Some(user) = user else {
            return out;
        };
        if self.config.access.is_empty() {
            out.extend(Action::ALL);
            return out;
        }
        for rule in &self.config.access {
            let applies = rule.subjects.iter().any(|s| self.subject_matches(s, user));
            if applies && rule.repositories.iter().any(|p| glob_match(p, repo)) {
                for a in &rule.actions {
                    if a == "*" {
                        out.extend(Action::ALL);
                    } else if let Some(a) = Action::parse(a) {
                        out.insert(a);
                    }
                }
            }
        }
        out
    }

    fn subject_matches(&self, subject: &str, user: &str) -> bool {
        if subject == "*" || subject == user {
            return true;
        }
        subject
            .strip_prefix("group:")
            .and_then(|g| self.config.groups.get(g))
            .is_some_and(|members| members.iter().any(|m| m == user))
    }
}

/// `*` matches any run of characters within one `/`-separated segment, `**`
/// any run including `/`; everything else matches itself.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let p = pattern.as_bytes();
    let n = name.as_bytes();
    fn go(p: &[u8], n: &[u8]) -> bool {
        match p.first() {
            None => n.is_empty(),
            Some(b'*') if p.get(1) == Some(&b'*') => {
                let rest = &p[2..];
                (0..=n.len()).any(|i| go(rest, &n[i..]))
            }
            Some(b'*') => {
                let rest = &p[1..];
                let mut i = 0;
                loop {
                    if go(rest, &n[i..]) {
                        return true;
                    }
                    if i == n.len() || n[i] == b'/' {
                        return false;
                    }
                    i += 1;
                }
            }
            Some(c) => n.first() == Some(c) && go(&p[1..], &n[1..]),
        }
    }
    go(p, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_respect_segments() {
        assert!(glob_match("team/*", "team/app"));
        assert!(!glob_match("team/*", "team/app/sub"));
        assert!(glob_match("team/**", "team/app/sub"));
        assert!(glob_match("**", "a/b/c"));
        assert!(!glob_match("team/*", "teamx/app"));
        assert!(glob_match("exact", "exact"));
        assert!(!glob_match("exact", "exactly"));
    }
}

//! Kubernetes names from hoist names. Objects, containers, volumes and ports are named by
//! DNS-1123 labels (lower-case letters, digits and `-`, starting and ending with a letter
//! or digit, at most 63 characters); hoist names also allow upper case, `_` and `.`, so a
//! name is mapped (and the caller warns when the mapping changed it).

/// The longest DNS-1123 label.
pub const MAX_LABEL: usize = 63;

/// `name` as a DNS-1123 label: lower-cased, every other character made `-`, runs of `-`
/// squeezed, trimmed of `-`, cut to 63. `fallback` when nothing is left.
pub fn dns_label(name: &str, fallback: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        let c = c.to_ascii_lowercase();
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() {
            c
        } else {
            '-'
        };
        if !(c == '-' && (out.is_empty() || out.ends_with('-'))) {
            out.push(c);
        }
    }
    out.truncate(MAX_LABEL);
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() {
        fallback.to_string()
    } else {
        out
    }
}

/// Whether `name` is a DNS-1123 label already.
pub fn is_dns_label(name: &str) -> bool {
    dns_label(name, "") == name
}

/// Names made unique within one object: the second `data` becomes `data-2`.
#[derive(Default)]
pub struct Unique {
    taken: std::collections::BTreeSet<String>,
}

impl Unique {
    pub fn take(&mut self, wanted: &str) -> String {
        let mut name = wanted.to_string();
        let mut n = 2;
        while self.taken.contains(&name) {
            let suffix = format!("-{n}");
            let mut base = wanted.to_string();
            base.truncate(MAX_LABEL - suffix.len());
            name = format!("{}{suffix}", base.trim_end_matches('-'));
            n += 1;
        }
        self.taken.insert(name.clone());
        name
    }
}

/// Whether `key=value` is a valid Kubernetes label: the key an optional DNS subdomain
/// prefix and `/`, then a name of at most 63 characters of alphanumerics, `-`, `_`, `.`
/// starting and ending alphanumeric; the value empty or such a name.
pub fn is_label(key: &str, value: &str) -> bool {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    let prefix_ok = prefix.is_none_or(|p| {
        !p.is_empty()
            && p.len() <= 253
            && p.split('.')
                .all(|part| !part.is_empty() && is_dns_label(part))
    });
    prefix_ok && label_name(name) && (value.is_empty() || label_name(value))
}

fn label_name(s: &str) -> bool {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || "-_.".contains(c);
    !s.is_empty()
        && s.len() <= MAX_LABEL
        && s.chars().all(ok_char)
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_from_hoist_names() {
        assert_eq!(dns_label("web", "x"), "web");
        assert_eq!(dns_label("My_App.v2", "x"), "my-app-v2");
        assert_eq!(dns_label("__a__b__", "x"), "a-b");
        assert_eq!(dns_label("___", "x"), "x");
        let long = "a".repeat(62) + "_b";
        assert_eq!(dns_label(&long, "x"), "a".repeat(62));
        assert!(is_dns_label("web-1"));
        assert!(!is_dns_label("Web"));
        assert!(!is_dns_label("-web"));
    }

    #[test]
    fn unique_names_get_a_suffix() {
        let mut u = Unique::default();
        assert_eq!(u.take("data"), "data");
        assert_eq!(u.take("data"), "data-2");
        assert_eq!(u.take("data"), "data-3");
        let long = "a".repeat(63);
        assert_eq!(u.take(&long), long);
        let second = u.take(&long);
        assert_eq!(second.len(), 63);
        assert!(second.ends_with("-2"));
    }

    #[test]
    fn label_syntax() {
        assert!(is_label("app", "web"));
        assert!(is_label("app.kubernetes.io/name", "web_1.x"));
        assert!(is_label("org.opencontainers.image.version", "1.36.1"));
        assert!(is_label("tier", ""));
        assert!(!is_label("app", "has space"));
        assert!(!is_label("url", "https://x.example"));
        assert!(!is_label("/x", "y"));
        assert!(!is_label(&"k".repeat(64), "v"));
    }
}

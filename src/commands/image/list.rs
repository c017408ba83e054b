//! `hoist images` / `hoist image ls`: the named images as docker's table, JSON lines, or a Go
//! template; docker's filters (dangling, label, reference, before, since), `-q`, `--no-trunc`.

use crate::cli::image::ImagesArgs;
use crate::render::template::{self, Format};
use anyhow::bail;
use hoist_oci::Reference;
use hoist_runtime::time::{ago, human_duration};
use hoist_store::Store;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::Write;

struct Row {
    repository: String,
    tag: String,
    digest: String,
    id: String,
    created: String,
    size: u64,
    labels: BTreeMap<String, String>,
}

impl Row {
    fn short_id(&self) -> &str {
        let hex = self.id.split_once(':').map_or(self.id.as_str(), |p| p.1);
        &hex[..hex.len().min(12)]
    }

    fn id_text(&self, no_trunc: bool) -> &str {
        if no_trunc {
            &self.id
        } else {
            self.short_id()
        }
    }

    /// docker's `images --format` fields.
    fn json(&self, no_trunc: bool) -> Value {
        let since = if self.created.is_empty() {
            "N/A".to_string()
        } else {
            format!("{} ago", human_duration(ago(&self.created)))
        };
        json!({
            "Containers": "N/A",
            "CreatedAt": created_at(&self.created),
            "CreatedSince": since,
            "Digest": self.digest,
            "ID": self.id_text(no_trunc),
            "Repository": self.repository,
            "SharedSize": "N/A",
            "Size": human_size(self.size),
            "Tag": self.tag,
            "UniqueSize": "N/A",
            "VirtualSize": human_size(self.size),
        })
    }
}

fn created_at(rfc3339: &str) -> String {
    match humantime::parse_rfc3339_weak(rfc3339) {
        Ok(t) => {
            let s = humantime::format_rfc3339_seconds(t).to_string();
            format!("{} +0000 UTC", s.trim_end_matches('Z').replace('T', " "))
        }
        Err(_) => rfc3339.to_string(),
    }
}

/// What `images` shows of one image: its ID, creation time, size and labels.
type Facts = (String, String, u64, BTreeMap<String, String>);

fn load_rows(store: &Store) -> anyhow::Result<Vec<Row>> {
    let mut rows = Vec::new();
    // Names of one image (tags, digests) read its manifest and config once.
    let mut seen: std::collections::HashMap<String, Facts> = Default::default();
    for named in store.names()? {
        let Ok(reference) = Reference::parse(&named.name) else {
            continue;
        };
        let familiar = reference.familiar();
        let repository = match reference.tag() {
            Some(t) => familiar
                .strip_suffix(&format!(":{t}"))
                .unwrap_or(&familiar)
                .to_string(),
            None => familiar.split('@').next().unwrap_or(&familiar).to_string(),
        };
        let digest = named.digest().to_string();
        let facts = match seen.get(&digest) {
            Some(f) => f.clone(),
            None => {
                let f = facts(store, &named);
                seen.insert(digest.clone(), f.clone());
                f
            }
        };
        let (id, created, size, labels) = facts;
        rows.push(Row {
            repository,
            tag: reference.tag().unwrap_or("<none>").to_string(),
            digest,
            id,
            created,
            size,
            labels,
        });
    }
    // docker: newest first.
    rows.sort_by(|a, b| {
        (&b.created, &a.repository, &a.tag).cmp(&(&a.created, &b.repository, &b.tag))
    });
    Ok(rows)
}

fn facts(store: &Store, named: &hoist_store::NamedImage) -> Facts {
    match store.load_image(&named.descriptor) {
        Ok(img) => {
            let size =
                img.layers().iter().map(|l| l.size()).sum::<u64>() + img.manifest.config().size();
            let created = img.config.created().clone().unwrap_or_default();
            let labels = img
                .config
                .config()
                .as_ref()
                .and_then(|c| c.labels().clone())
                .unwrap_or_default()
                .into_iter()
                .collect();
            (img.config_digest.to_string(), created, size, labels)
        }
        Err(_) => (
            named.digest().to_string(),
            String::new(),
            named.descriptor.size(),
            BTreeMap::new(),
        ),
    }
}

/// docker's `reference=` pattern: `*` and `?` within a path segment, against `repo` or
/// `repo:tag`.
fn glob(pattern: &str, text: &str) -> bool {
    fn go(p: &[char], t: &[char]) -> bool {
        match (p.first(), t.first()) {
            (None, None) => true,
            (Some('*'), _) => go(&p[1..], t) || (!t.is_empty() && t[0] != '/' && go(p, &t[1..])),
            (Some('?'), Some(c)) if *c != '/' => go(&p[1..], &t[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &t[1..]),
            _ => false,
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    go(&p, &t)
}

fn filter(rows: Vec<Row>, filters: &[String], store: &Store) -> anyhow::Result<Vec<Row>> {
    let mut by_key: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in filters {
        let Some((k, v)) = f.split_once('=') else {
            bail!("bad format of filter {f:?} (expected name=value)");
        };
        if !matches!(k, "dangling" | "label" | "reference" | "before" | "since") {
            bail!(
                "invalid filter '{k}' (image filters: dangling, label, reference, before, since)"
            );
        }
        if k == "dangling" && !matches!(v, "true" | "false" | "1" | "0") {
            bail!("invalid filter 'dangling={v}' (true or false)");
        }
        by_key.entry(k.to_string()).or_default().push(v.to_string());
    }
    // before/since name an image: its creation time is the bound.
    let created_of = |name: &str| -> anyhow::Result<String> {
        let found = super::resolve_image(store, name)?;
        let img = store.load_image(&found.descriptor)?;
        Ok(img.config.created().clone().unwrap_or_default())
    };
    let mut bounds: BTreeMap<(String, String), String> = BTreeMap::new();
    for key in ["before", "since"] {
        for v in by_key.get(key).into_iter().flatten() {
            bounds.insert((key.into(), v.clone()), created_of(v)?);
        }
    }
    let one = |k: &str, v: &str, r: &Row| -> bool {
        match k {
            // Every image hoist lists has a name: none is dangling.
            "dangling" => matches!(v, "false" | "0"),
            "label" => match v.split_once('=') {
                Some((lk, lv)) => r.labels.get(lk).is_some_and(|x| x == lv),
                None => r.labels.contains_key(v),
            },
            "reference" => {
                glob(v, &r.repository) || glob(v, &format!("{}:{}", r.repository, r.tag))
            }
            "before" => r.created < bounds[&(k.to_string(), v.to_string())],
            "since" => r.created > bounds[&(k.to_string(), v.to_string())],
            _ => false,
        }
    };
    Ok(rows
        .into_iter()
        .filter(|r| by_key.iter().all(|(k, vs)| vs.iter().any(|v| one(k, v, r))))
        .collect())
}

pub fn run(store: &Store, args: ImagesArgs) -> anyhow::Result<i32> {
    let format = Format::parse(&args.format)?;
    let mut filters = args.filter.clone();
    if let Some(r) = &args.reference {
        filters.push(format!("reference={r}"));
    }
    let rows = filter(load_rows(store)?, &filters, store)?;
    // One write for the whole listing, not one per line (stdout is line-buffered).
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if args.quiet {
        for r in &rows {
            writeln!(out, "{}", r.id_text(args.no_trunc))?;
        }
        out.flush()?;
        return Ok(0);
    }
    match format {
        Format::Json => {
            for r in &rows {
                writeln!(out, "{}", r.json(args.no_trunc))?;
            }
        }
        Format::Template(t) => {
            let headers = json!({
                "Containers": "CONTAINERS", "CreatedAt": "CREATED AT", "CreatedSince": "CREATED",
                "Digest": "DIGEST", "ID": "IMAGE ID", "Repository": "REPOSITORY",
                "SharedSize": "SHARED SIZE", "Size": "SIZE", "Tag": "TAG",
                "UniqueSize": "UNIQUE SIZE", "VirtualSize": "VIRTUAL SIZE",
            });
            let values: Vec<Value> = rows.iter().map(|r| r.json(args.no_trunc)).collect();
            for line in template::rows(&t, &headers, &values)? {
                writeln!(out, "{line}")?;
            }
        }
        Format::Table => {
            for line in table(&rows, args.digests, args.no_trunc) {
                writeln!(out, "{line}")?;
            }
        }
    }
    out.flush()?;
    Ok(0)
}

fn table(rows: &[Row], digests: bool, no_trunc: bool) -> Vec<String> {
    let mut headers = vec!["REPOSITORY", "TAG"];
    if digests {
        headers.push("DIGEST");
    }
    headers.extend(["IMAGE ID", "CREATED", "SIZE"]);
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut row = vec![r.repository.clone(), r.tag.clone()];
            if digests {
                row.push(r.digest.clone());
            }
            let j = r.json(no_trunc);
            row.extend([
                r.id_text(no_trunc).to_string(),
                j["CreatedSince"].as_str().unwrap_or("").to_string(),
                human_size(r.size),
            ]);
            row
        })
        .collect();
    crate::render::table::lines(&headers, &cells)
}

/// Sizes the way docker prints them: decimal units, three significant digits (Go's `%.3g`:
/// `4.27MB`, `77.8MB`, `133MB`).
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = bytes as f64;
    let mut i = 0;
    while v >= 1000.0 && i < UNITS.len() - 1 {
        v /= 1000.0;
        i += 1;
    }
    let decimals = if v >= 100.0 {
        0
    } else if v >= 10.0 {
        1
    } else {
        2
    };
    let mut text = format!("{v:.decimals$}");
    if text.contains('.') {
        text = text.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    format!("{text}{}", UNITS[i])
}

#[cfg(test)]
mod tests {
    #[test]
    fn reference_patterns_match_like_docker() {
        assert!(super::glob("busy*", "busybox"));
        assert!(super::glob("busybox:1.?", "busybox:1.2"));
        assert!(!super::glob("*", "127.0.0.1:5000/team/app"));
        assert!(super::glob("*/team/*", "127.0.0.1:5000/team/app"));
    }

    #[test]
    fn sizes_have_three_significant_digits() {
        assert_eq!(super::human_size(512), "512B");
        assert_eq!(super::human_size(4_270_000), "4.27MB");
        assert_eq!(super::human_size(77_812_000), "77.8MB");
        assert_eq!(super::human_size(133_000_000), "133MB");
        assert_eq!(super::human_size(2_000), "2kB");
    }
}

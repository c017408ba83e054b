//! Labels (`-l KEY=VALUE`, `--label-file FILE`): parsed as docker does,
//! kept in the container's record merged over the image's own labels.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::error::{Result, RuntimeError};

/// Label keys to values, sorted (inspect shows them in key order).
pub type Labels = BTreeMap<String, String>;

/// `KEY=VALUE`, or `KEY` alone for an empty value (docker's rule).
pub fn parse_label(spec: &str, origin: &str) -> Result<(String, String)> {
    let (key, value) = spec.split_once('=').unwrap_or((spec, ""));
    if key.is_empty() {
        return Err(RuntimeError::Invalid(format!(
            "{origin}: invalid label {spec:?}: the key is empty (use KEY=VALUE)"
        )));
    }
    if key.chars().any(char::is_whitespace) {
        return Err(RuntimeError::Invalid(format!(
            "{origin}: invalid label {spec:?}: the key contains whitespace"
        )));
    }
    Ok((key.to_string(), value.to_string()))
}

/// The labels of `--label-file`s (read first) and `--label`s (which win),
/// as docker reads them: in a file, one label per line, blank lines and
/// lines starting with `#` skipped, leading whitespace ignored.
pub fn parse_labels(flags: &[String], files: &[PathBuf]) -> Result<Labels> {
    let mut labels = Labels::new();
    for file in files {
        let text = std::fs::read_to_string(file).map_err(|e| {
            RuntimeError::Invalid(format!(
                "--label-file {}: {e} (give a readable file of KEY=VALUE lines)",
                file.display()
            ))
        })?;
        let origin = format!("--label-file {}", file.display());
        for (n, line) in text.lines().enumerate() {
            let line = line.trim_start();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (k, v) = parse_label(line, &format!("{origin} line {}", n + 1))?;
            labels.insert(k, v);
        }
    }
    for spec in flags {
        let (k, v) = parse_label(spec, "--label")?;
        labels.insert(k, v);
    }
    Ok(labels)
}

/// The container's labels: the image's (`config.Labels`), with the
/// container's own set over them, as docker merges them.
pub fn merged(image: &Labels, own: &Labels) -> Labels {
    let mut all = image.clone();
    all.extend(own.iter().map(|(k, v)| (k.clone(), v.clone())));
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn key_value_key_alone_and_equals_in_values() {
        let got = parse_labels(
            &["a=1".into(), "flag".into(), "url=http://x/?q=1".into()],
            &[],
        )
        .unwrap();
        assert_eq!(
            got,
            labels(&[("a", "1"), ("flag", ""), ("url", "http://x/?q=1")])
        );
    }

    #[test]
    fn bad_keys_are_refused_with_the_label_named() {
        let err = parse_labels(&["=v".into()], &[]).unwrap_err().to_string();
        assert!(
            err.contains("\"=v\"") && err.contains("key is empty"),
            "{err}"
        );
        let err = parse_labels(&["a b=c".into()], &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("whitespace"), "{err}");
    }

    #[test]
    fn files_are_read_first_and_flags_win() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("labels");
        std::fs::write(&file, "# comment\n\n  a=from-file\nb=2\nc\n").unwrap();
        let got = parse_labels(&["a=from-flag".into()], std::slice::from_ref(&file)).unwrap();
        assert_eq!(got, labels(&[("a", "from-flag"), ("b", "2"), ("c", "")]));
        let missing = dir.path().join("missing");
        let err = parse_labels(&[], &[missing]).unwrap_err().to_string();
        assert!(
            err.contains("--label-file") && err.contains("missing"),
            "{err}"
        );
    }

    #[test]
    fn a_bad_line_in_a_file_names_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("labels");
        std::fs::write(&file, "ok=1\n=nokey\n").unwrap();
        let err = parse_labels(&[], &[file]).unwrap_err().to_string();
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn own_labels_override_the_image_labels() {
        let image = labels(&[("maintainer", "img"), ("version", "1")]);
        let own = labels(&[("version", "2"), ("extra", "x")]);
        assert_eq!(
            merged(&image, &own),
            labels(&[("extra", "x"), ("maintainer", "img"), ("version", "2")])
        );
    }

    #[test]
    fn records_written_before_labels_still_load() {
        let mut old = serde_json::to_value(super::super::ContainerRecord::default()).unwrap();
        old.as_object_mut().unwrap().remove("labels");
        let rec: super::super::ContainerRecord = serde_json::from_value(old).unwrap();
        assert!(rec.labels.is_empty());
    }
}

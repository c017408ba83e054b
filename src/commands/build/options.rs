//! The CI flags of `hoist build` read into the builder's options: secrets,
//! named build contexts, labels, annotations and outputs. Bad values are
//! refused here, before anything is built, with what to write instead.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{bail, Context as _};
use hoist_builder::{NamedContext, SecretSource};

/// `--secret id=ID,src=FILE | id=ID,env=VAR` (docker buildx's grammar; a
/// bare `id=ID` reads the environment variable ID).
pub(super) fn secrets(items: &[String]) -> anyhow::Result<BTreeMap<String, SecretSource>> {
    let mut out = BTreeMap::new();
    for item in items {
        let fields = key_values(item, "--secret")?;
        let get = |k: &[&str]| {
            fields
                .iter()
                .find(|(key, _)| k.contains(&key.as_str()))
                .map(|(_, v)| v.clone())
        };
        let Some(id) = get(&["id"]) else {
            bail!("--secret {item:?} has no id: use --secret id=ID,src=FILE or id=ID,env=VARIABLE");
        };
        let kind = get(&["type"]);
        let source = match (get(&["src", "source"]), get(&["env"]), kind.as_deref()) {
            (Some(file), _, None | Some("file")) => {
                let path = PathBuf::from(&file);
                let meta = std::fs::metadata(&path).with_context(|| {
                    format!("--secret id={id}: cannot read the secret file {file}; check the path given in src=")
                })?;
                if !meta.is_file() {
                    bail!("--secret id={id}: {file} is not a file");
                }
                std::fs::File::open(&path)
                    .with_context(|| format!("--secret id={id}: cannot open {file}"))?;
                SecretSource::File(std::fs::canonicalize(&path)?)
            }
            (None, Some(var), None | Some("env")) => env_secret(&id, &var)?,
            (Some(var), None, Some("env")) => env_secret(&id, &var)?,
            (None, None, None) if std::env::var_os(&id).is_some() => env_secret(&id, &id)?,
            (_, _, Some(other)) if other != "file" && other != "env" => {
                bail!("--secret id={id}: unknown type {other:?} (use type=file or type=env)")
            }
            _ => bail!("--secret id={id}: say where it comes from: src=FILE or env=VARIABLE"),
        };
        out.insert(id, source);
    }
    Ok(out)
}

fn env_secret(id: &str, var: &str) -> anyhow::Result<SecretSource> {
    match std::env::var_os(var) {
        Some(v) => Ok(SecretSource::Value(
            std::os::unix::ffi::OsStringExt::into_vec(v),
        )),
        None => bail!("--secret id={id}: the environment variable {var} is not set"),
    }
}

/// `--build-context NAME=DIR | NAME=docker-image://REF`.
pub(super) fn build_contexts(items: &[String]) -> anyhow::Result<BTreeMap<String, NamedContext>> {
    let mut out = BTreeMap::new();
    for item in items {
        let Some((name, value)) = item.split_once('=') else {
            bail!("--build-context {item:?}: use NAME=DIR or NAME=docker-image://REF");
        };
        let context = if let Some(reference) = value.strip_prefix("docker-image://") {
            NamedContext::Image(reference.to_string())
        } else if value.contains("://") {
            bail!("--build-context {name}: only a directory or docker-image://REF is supported, not {value:?}");
        } else {
            let dir = PathBuf::from(value);
            if !dir.is_dir() {
                bail!("--build-context {name}={value}: not a directory");
            }
            NamedContext::Dir(dir)
        };
        out.insert(name.to_ascii_lowercase(), context);
    }
    Ok(out)
}

/// `KEY=VALUE` items (labels, annotations).
pub(super) fn pairs(items: &[String], flag: &str) -> anyhow::Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for item in items {
        let item = if flag == "--annotation" {
            for level in ["index:", "index-descriptor:", "manifest-descriptor:"] {
                if item.starts_with(level) {
                    bail!("{flag} {item:?}: hoist builds one image, so only manifest annotations exist (drop the {level} prefix)");
                }
            }
            item.strip_prefix("manifest:").unwrap_or(item)
        } else {
            item
        };
        match item.split_once('=') {
            Some((k, v)) if !k.is_empty() => {
                out.insert(k.to_string(), v.to_string());
            }
            _ => bail!("{flag} {item:?}: use KEY=VALUE"),
        }
    }
    Ok(out)
}

/// One `--output`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Output {
    Image,
    Oci(PathBuf),
    Docker(PathBuf),
    Local(PathBuf),
    Registry,
}

/// `--output type=TYPE[,dest=PATH][,name=REF]`; a bare path is `type=local`.
/// Names given with `name=` join the `-t` names.
pub(super) fn outputs(items: &[String], tags: &mut Vec<String>) -> anyhow::Result<Vec<Output>> {
    let mut out = Vec::new();
    for item in items {
        if !item.contains('=') {
            out.push(Output::Local(PathBuf::from(item)));
            continue;
        }
        let fields = key_values(item, "--output")?;
        let get = |k: &str| {
            fields
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
        };
        for (key, value) in &fields {
            match key.as_str() {
                "type" | "dest" => {}
                "name" => tags.extend(value.split(',').map(String::from)),
                "push" if value == "true" => out.push(Output::Registry),
                other => bail!("--output {item:?}: unknown option {other:?}"),
            }
        }
        let kind = get("type").unwrap_or_else(|| "local".into());
        let dest = || {
            get("dest").map(PathBuf::from).with_context(|| {
                format!("--output type={kind} needs dest=PATH (where to write it)")
            })
        };
        out.push(match kind.as_str() {
            "image" => Output::Image,
            "oci" => Output::Oci(dest()?),
            "docker" => Output::Docker(dest()?),
            "local" => Output::Local(dest()?),
            "registry" => Output::Registry,
            other => bail!(
                "--output type={other} is not supported: use image, oci, docker, local or registry"
            ),
        });
    }
    Ok(out)
}

fn key_values(item: &str, flag: &str) -> anyhow::Result<Vec<(String, String)>> {
    item.split(',')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => Ok((k.trim().to_ascii_lowercase(), v.to_string())),
            None => bail!("{flag} {item:?}: {p:?} is not KEY=VALUE"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_and_their_errors() {
        let mut tags = vec![];
        let o = outputs(
            &[
                "type=oci,dest=/tmp/a.tar".into(),
                "./dir".into(),
                "type=image,name=x:1".into(),
            ],
            &mut tags,
        )
        .unwrap();
        assert_eq!(
            o,
            vec![
                Output::Oci("/tmp/a.tar".into()),
                Output::Local("./dir".into()),
                Output::Image
            ]
        );
        assert_eq!(tags, vec!["x:1".to_string()]);
        let e = outputs(&["type=docker".into()], &mut tags).unwrap_err();
        assert!(e.to_string().contains("needs dest=PATH"), "{e}");
        let e = outputs(&["type=tar,dest=x".into()], &mut tags).unwrap_err();
        assert!(e.to_string().contains("not supported"), "{e}");
    }

    #[test]
    fn secrets_say_what_is_wrong() {
        let e = secrets(&["id=a,src=/nonexistent/x".into()]).unwrap_err();
        assert!(format!("{e:#}").contains("cannot read the secret file /nonexistent/x"));
        let e = secrets(&["src=/etc/hostname".into()]).unwrap_err();
        assert!(e.to_string().contains("has no id"));
        let e = secrets(&["id=a,env=HOIST_TEST_SURELY_UNSET_VAR".into()]).unwrap_err();
        assert!(e.to_string().contains("is not set"));
    }
}

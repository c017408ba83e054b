//! docker's `--mount` long syntax (`type=bind,source=/x,target=/y,readonly`,
//! `type=volume,...`, `type=tmpfs,target=/t,tmpfs-size=64m,tmpfs-mode=1770`),
//! turned into the `-v` and `--tmpfs` forms the runtime already takes.
//! Where docker's `--mount` differs from `-v` it is kept: a bind source
//! must exist (`-v` makes it), and a key it does not know is an error.

use anyhow::{anyhow, bail};

use super::run::parse_size;

/// What one `--mount` becomes.
#[derive(Debug, PartialEq, Eq)]
pub enum MountFlag {
    /// A `-v` value (`SOURCE:TARGET[:ro]`, or `TARGET` for an anonymous volume).
    Volume(String),
    /// A `--tmpfs` value (`TARGET[:size=N,mode=M]`).
    Tmpfs(String),
}

fn truth(key: &str, value: Option<&str>) -> anyhow::Result<bool> {
    match value.map(str::to_ascii_lowercase).as_deref() {
        None | Some("true") | Some("1") => Ok(true),
        Some("false") | Some("0") => Ok(false),
        Some(v) => bail!("invalid value for {key}: {v} (use true or false)"),
    }
}

/// Parses one `--mount` value.
pub fn parse(spec: &str) -> anyhow::Result<MountFlag> {
    let fail = |why: String| anyhow!("invalid argument {spec:?} for \"--mount\" flag: {why}");
    let mut typ = "volume".to_string();
    let (mut source, mut target) = (None::<String>, None::<String>);
    let mut readonly = false;
    let mut tmpfs_opts: Vec<String> = Vec::new();
    for field in spec.split(',').filter(|f| !f.is_empty()) {
        let (key, value) = match field.split_once('=') {
            Some((k, v)) => (k.trim().to_ascii_lowercase(), Some(v)),
            None => (field.trim().to_ascii_lowercase(), None),
        };
        let need = |v: Option<&str>| {
            v.map(str::to_string)
                .ok_or_else(|| fail(format!("invalid field '{field}' must be a key=value pair")))
        };
        match key.as_str() {
            "type" => typ = need(value)?.to_ascii_lowercase(),
            "source" | "src" => source = Some(need(value)?),
            "target" | "destination" | "dst" => target = Some(need(value)?),
            "readonly" | "ro" => readonly = truth(&key, value).map_err(|e| fail(e.to_string()))?,
            // Accepted as docker does; hoist's mounts are private already
            // and SELinux/consistency do not apply here.
            "bind-propagation" => match need(value)?.as_str() {
                "private" | "rprivate" => {}
                other => bail!(fail(format!(
                    "bind-propagation {other} is not supported (hoist's mounts are private)"
                ))),
            },
            "consistency" | "volume-nocopy" => {}
            "tmpfs-size" => {
                let n = parse_size(&need(value)?).map_err(|e| fail(e.to_string()))?;
                tmpfs_opts.push(format!("size={n}"));
            }
            "tmpfs-mode" => {
                let m = need(value)?;
                u32::from_str_radix(&m, 8)
                    .map_err(|_| fail(format!("invalid tmpfs-mode {m:?}: an octal mode")))?;
                tmpfs_opts.push(format!("mode={m}"));
            }
            _ => bail!(fail(format!("unexpected key '{key}' in '{field}'"))),
        }
    }
    let target = target.ok_or_else(|| fail("target is required".into()))?;
    // The forms below are ':'- and ','-separated: such paths cannot pass.
    for p in source.iter().chain([&target]) {
        if p.contains(':') || p.contains(',') {
            bail!(fail(format!("the path {p:?} has a ':' or ','")));
        }
    }
    let ro = if readonly { ":ro" } else { "" };
    match typ.as_str() {
        "bind" => {
            let source = source.ok_or_else(|| fail("source is required".into()))?;
            if !source.starts_with('/') {
                bail!(fail(format!(
                    "invalid mount config for type \"bind\": invalid mount path: '{source}' mount path must be absolute"
                )));
            }
            if !std::path::Path::new(&source).exists() {
                bail!(fail(format!(
                    "invalid mount config for type \"bind\": bind source path does not exist: {source}"
                )));
            }
            only_tmpfs_keys(&tmpfs_opts, "bind").map_err(|e| fail(e.to_string()))?;
            Ok(MountFlag::Volume(format!("{source}:{target}{ro}")))
        }
        "volume" => {
            only_tmpfs_keys(&tmpfs_opts, "volume").map_err(|e| fail(e.to_string()))?;
            Ok(MountFlag::Volume(match source {
                Some(name) if name.starts_with('/') => bail!(fail(format!(
                    "invalid mount config for type \"volume\": invalid volume name {name:?} (use type=bind for a host path)"
                ))),
                Some(name) => format!("{name}:{target}{ro}"),
                None if readonly => bail!(fail(
                    "an anonymous volume cannot be read-only (it would stay empty)".into()
                )),
                None => target,
            }))
        }
        "tmpfs" => {
            if source.is_some() {
                bail!(fail(
                    "invalid mount config for type \"tmpfs\": source is not allowed".into()
                ));
            }
            if readonly {
                tmpfs_opts.push("ro".into());
            }
            Ok(MountFlag::Tmpfs(if tmpfs_opts.is_empty() {
                target
            } else {
                format!("{target}:{}", tmpfs_opts.join(","))
            }))
        }
        other => bail!(fail(format!(
            "mount type {other:?} is not supported (bind, volume or tmpfs)"
        ))),
    }
}

fn only_tmpfs_keys(opts: &[String], typ: &str) -> anyhow::Result<()> {
    if opts.is_empty() {
        Ok(())
    } else {
        bail!("tmpfs-size and tmpfs-mode are for type=tmpfs, not {typ}")
    }
}

/// The `-v` and `--tmpfs` values of all `--mount` flags.
pub fn split(specs: &[String]) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let (mut volumes, mut tmpfs) = (Vec::new(), Vec::new());
    for s in specs {
        match parse(s)? {
            MountFlag::Volume(v) => volumes.push(v),
            MountFlag::Tmpfs(t) => tmpfs.push(t),
        }
    }
    Ok((volumes, tmpfs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_long_syntax_becomes_v_and_tmpfs() {
        assert_eq!(
            parse("type=bind,source=/tmp,target=/data,readonly").unwrap(),
            MountFlag::Volume("/tmp:/data:ro".into())
        );
        assert_eq!(
            parse("type=bind,src=/tmp,dst=/data,ro=false").unwrap(),
            MountFlag::Volume("/tmp:/data".into())
        );
        assert_eq!(
            parse("source=cache,target=/cache").unwrap(),
            MountFlag::Volume("cache:/cache".into())
        );
        assert_eq!(
            parse("type=volume,target=/anon").unwrap(),
            MountFlag::Volume("/anon".into())
        );
        assert_eq!(
            parse("type=tmpfs,destination=/t,tmpfs-size=1m,tmpfs-mode=1770").unwrap(),
            MountFlag::Tmpfs("/t:size=1048576,mode=1770".into())
        );
        assert_eq!(
            parse("type=tmpfs,target=/t").unwrap(),
            MountFlag::Tmpfs("/t".into())
        );
    }

    #[test]
    fn docker_refusals() {
        for (spec, says) in [
            ("type=bind,source=/tmp", "target is required"),
            (
                "type=bind,source=/no/such/dir/here,target=/x",
                "bind source path does not exist",
            ),
            ("type=bind,source=rel,target=/x", "must be absolute"),
            (
                "type=bind,source=/tmp,target=/x,color=red",
                "unexpected key 'color'",
            ),
            ("type=nfs,target=/x", "not supported"),
            ("type=tmpfs,source=/tmp,target=/x", "source is not allowed"),
            ("type=tmpfs,target=/x,tmpfs-mode=9", "invalid tmpfs-mode"),
            ("type=volume,source=v,target=/x,tmpfs-size=1m", "type=tmpfs"),
            ("type=bind,source=/tmp,target=/a:b", "':'"),
        ] {
            let e = parse(spec).unwrap_err().to_string();
            assert!(e.contains(says), "{spec}: {e}");
            assert!(e.contains("for \"--mount\" flag"), "{spec}: {e}");
        }
    }
}

//! docker's `--mount` long syntax (`type=bind,source=/x,target=/y,readonly`,
//! `type=volume,...`, `type=tmpfs,target=/t,tmpfs-size=64m,tmpfs-mode=1770`),
//! turned into the `-v` and `--tmpfs` forms the runtime already takes.
//! Where docker's `--mount` differs from `-v` it is kept: a bind source
//! must exist (`-v` makes it), and a key it does not know is an error.
//! A named volume's `volume-opt=K=V` (the local driver's `type`, `device`,
//! `o`) and `volume-label=K=V` make the volume with them, before the
//! container, when it does not exist yet (`NewVolume`); an existing volume is
//! used as it is, as docker does. `volume-nocopy` is accepted: hoist never
//! copies the image's files into a volume.

use std::collections::BTreeMap;

use anyhow::{anyhow, bail};

use super::run::parse_size;

/// A named volume `--mount` makes (with these driver options and labels)
/// when it does not exist.
#[derive(Debug, PartialEq, Eq, Clone)]
pub struct NewVolume {
    pub name: String,
    pub options: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
}

/// What one `--mount` becomes.
#[derive(Debug, PartialEq, Eq)]
pub enum MountFlag {
    /// A `-v` value (`SOURCE:TARGET[:ro]`, or `TARGET` for an anonymous
    /// volume), and the volume to make first when options were given.
    Volume(String, Option<NewVolume>),
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
    let mut volume_opts = BTreeMap::new();
    let mut volume_labels = BTreeMap::new();
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
            "consistency" => {}
            "volume-nocopy" => {
                truth(&key, value).map_err(|e| fail(e.to_string()))?;
            }
            "volume-driver" => {
                let driver = need(value)?;
                if driver != "local" {
                    bail!(fail(format!(
                        "volume driver {driver:?} is not supported: hoist has the local driver only"
                    )));
                }
            }
            "volume-opt" | "volume-label" => {
                let pair = need(value)?;
                let Some((k, v)) = pair.split_once('=') else {
                    bail!(fail(format!(
                        "invalid field '{field}': {key} takes KEY=VALUE (e.g. {key}=type=tmpfs)"
                    )));
                };
                let into = if key == "volume-opt" {
                    &mut volume_opts
                } else {
                    &mut volume_labels
                };
                into.insert(k.to_string(), v.to_string());
            }
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
            no_volume_options(&volume_opts, &volume_labels, "bind").map_err(fail)?;
            Ok(MountFlag::Volume(format!("{source}:{target}{ro}"), None))
        }
        "volume" => {
            only_tmpfs_keys(&tmpfs_opts, "volume").map_err(|e| fail(e.to_string()))?;
            // The local driver's options, checked now: bad ones make nothing.
            hoist_runtime::volumes::tmpfs_data(&volume_opts).map_err(|e| fail(e.to_string()))?;
            let new = |name: &str| {
                (!volume_opts.is_empty() || !volume_labels.is_empty()).then(|| NewVolume {
                    name: name.to_string(),
                    options: volume_opts.clone(),
                    labels: volume_labels.clone(),
                })
            };
            match source {
                Some(name) if name.starts_with('/') => bail!(fail(format!(
                    "invalid mount config for type \"volume\": invalid volume name {name:?} (use type=bind for a host path)"
                ))),
                Some(name) => {
                    hoist_runtime::volumes::check_name(&name).map_err(|e| fail(e.to_string()))?;
                    Ok(MountFlag::Volume(format!("{name}:{target}{ro}"), new(&name)))
                }
                None if readonly => bail!(fail(
                    "an anonymous volume cannot be read-only (it would stay empty)".into()
                )),
                None if new("").is_some() => bail!(fail(
                    "volume-opt and volume-label need a named volume here: add source=NAME".into()
                )),
                None => Ok(MountFlag::Volume(target, None)),
            }
        }
        "tmpfs" => {
            if source.is_some() {
                bail!(fail(
                    "invalid mount config for type \"tmpfs\": source is not allowed".into()
                ));
            }
            no_volume_options(&volume_opts, &volume_labels, "tmpfs").map_err(fail)?;
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

/// docker's refusal of volume options on another mount type.
fn no_volume_options(
    opts: &BTreeMap<String, String>,
    labels: &BTreeMap<String, String>,
    typ: &str,
) -> Result<(), String> {
    if opts.is_empty() && labels.is_empty() {
        return Ok(());
    }
    Err(format!(
        "invalid mount config for type \"{typ}\": field VolumeOptions must not be specified"
    ))
}

/// All `--mount` flags: their `-v` and `--tmpfs` values, and the volumes
/// to make first.
#[derive(Debug, Default)]
pub struct Mounts {
    pub volumes: Vec<String>,
    pub tmpfs: Vec<String>,
    pub new_volumes: Vec<NewVolume>,
}

pub fn split(specs: &[String]) -> anyhow::Result<Mounts> {
    let mut m = Mounts::default();
    for s in specs {
        match parse(s)? {
            MountFlag::Volume(v, new) => {
                m.volumes.push(v);
                m.new_volumes.extend(new);
            }
            MountFlag::Tmpfs(t) => m.tmpfs.push(t),
        }
    }
    Ok(m)
}

/// Makes the `--mount` volumes with options that do not exist yet (an
/// existing one is used as it is, as docker does); returns the names made,
/// for `remove_made` should the container not be created.
pub fn make_volumes(root: &std::path::Path, new: &[NewVolume]) -> anyhow::Result<Vec<String>> {
    use hoist_runtime::volumes;
    let mut made = Vec::new();
    for v in new {
        if volumes::inspect(root, &v.name).is_ok() {
            continue;
        }
        if let Err(e) =
            volumes::create_labelled(root, &v.name, false, v.options.clone(), v.labels.clone())
        {
            remove_made(root, &made);
            bail!("creating volume {}: {e}", v.name);
        }
        made.push(v.name.clone());
    }
    Ok(made)
}

/// Removes the volumes `make_volumes` made (the container that was to use
/// them was not created).
pub fn remove_made(root: &std::path::Path, made: &[String]) {
    for name in made {
        let _ = hoist_runtime::volumes::remove(root, name, false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_long_syntax_becomes_v_and_tmpfs() {
        assert_eq!(
            parse("type=bind,source=/tmp,target=/data,readonly").unwrap(),
            MountFlag::Volume("/tmp:/data:ro".into(), None)
        );
        assert_eq!(
            parse("type=bind,src=/tmp,dst=/data,ro=false").unwrap(),
            MountFlag::Volume("/tmp:/data".into(), None)
        );
        assert_eq!(
            parse("source=cache,target=/cache").unwrap(),
            MountFlag::Volume("cache:/cache".into(), None)
        );
        assert_eq!(
            parse("type=volume,target=/anon").unwrap(),
            MountFlag::Volume("/anon".into(), None)
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
    fn volume_options_make_the_named_volume() {
        let spec = "type=volume,source=fast,target=/f,volume-driver=local,volume-nocopy,\
                    volume-opt=type=tmpfs,volume-opt=device=tmpfs,volume-opt=o=size=1m,\
                    volume-label=tier=hot";
        let MountFlag::Volume(v, Some(new)) = parse(spec).unwrap() else {
            panic!("no volume to make");
        };
        assert_eq!(v, "fast:/f");
        assert_eq!(new.name, "fast");
        assert_eq!(new.options["o"], "size=1m");
        assert_eq!(new.options["device"], "tmpfs");
        assert_eq!(new.labels["tier"], "hot");
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
            (
                "type=bind,source=/tmp,target=/x,volume-opt=type=tmpfs",
                "field VolumeOptions must not be specified",
            ),
            (
                "type=tmpfs,target=/x,volume-opt=type=tmpfs",
                "field VolumeOptions must not be specified",
            ),
            (
                "type=volume,source=v,target=/x,volume-driver=nfs",
                "volume driver \"nfs\" is not supported",
            ),
            (
                "type=volume,source=v,target=/x,volume-opt=color=red",
                "volume option \"color\" is not known",
            ),
            (
                "type=volume,source=v,target=/x,volume-opt=type",
                "KEY=VALUE",
            ),
            ("type=volume,target=/x,volume-opt=type=tmpfs", "source=NAME"),
            (
                "type=volume,source=v,target=/x,volume-nocopy=maybe",
                "true or false",
            ),
        ] {
            let e = parse(spec).unwrap_err().to_string();
            assert!(e.contains(says), "{spec}: {e}");
            assert!(e.contains("for \"--mount\" flag"), "{spec}: {e}");
        }
    }
}

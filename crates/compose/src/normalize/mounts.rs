//! `volumes:` of a service, short (`SOURCE:TARGET[:OPTIONS]`, `TARGET`) and long syntax, into
//! [`Mount`]s. A source starting with `/`, `.` or `~` is a bind mount (made absolute against
//! the project directory, `~` is `$HOME`), anything else a named volume; a lone target is an
//! anonymous volume. Short-syntax binds create a missing host directory, as compose does.

use super::read::{boolean, idx, map, opt_string, size, string, sub, uint, unknown};
use crate::error::{invalid, Result};
use crate::model::{BindOptions, Mount, MountType, TmpfsOptions, VolumeOptions, Warning};
use crate::yaml::{Node, Value};
use std::path::{Component, Path, PathBuf};

pub(crate) struct Paths<'a> {
    pub dir: &'a Path,
    pub home: Option<&'a str>,
}

impl Paths<'_> {
    /// A host path made absolute and clean (no `.`/`..`), as compose's `filepath.Abs`.
    pub fn resolve(&self, p: &str) -> String {
        let joined = if p == "~" || p.starts_with("~/") {
            PathBuf::from(self.home.unwrap_or("~"))
                .join(p.trim_start_matches('~').trim_start_matches('/'))
        } else {
            self.dir.join(p)
        };
        clean(&joined).to_string_lossy().into_owned()
    }
}

pub(crate) fn clean(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

pub(crate) fn volumes(
    n: &Node,
    path: &str,
    paths: &Paths,
    warnings: &mut Vec<Warning>,
) -> Result<Vec<Mount>> {
    let items = match &n.value {
        Value::Seq(items) => items.as_slice(),
        Value::Null => &[],
        _ => {
            return Err(invalid(
                &n.pos,
                path,
                format!("expected a list of volumes, got {}", n.kind()),
            ))
        }
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let p = idx(path, i);
        let mount = match &item.value {
            Value::Map(_) => long(item, &p, paths, warnings)?,
            Value::Scalar { text, .. } => {
                short(text, paths).map_err(|e| invalid(&item.pos, &p, e))?
            }
            _ => {
                return Err(invalid(
                    &item.pos,
                    &p,
                    format!("expected a volume or a mapping, got {}", item.kind()),
                ))
            }
        };
        if !mount.target.starts_with('/') {
            return Err(invalid(
                &item.pos,
                &p,
                format!(
                    "the target {:?} must be an absolute path in the container",
                    mount.target
                ),
            ));
        }
        out.push(mount);
    }
    Ok(out)
}

fn is_path(source: &str) -> bool {
    source.starts_with('/') || source.starts_with('.') || source.starts_with('~')
}

pub(crate) fn short(spec: &str, paths: &Paths) -> std::result::Result<Mount, String> {
    let parts: Vec<&str> = spec.split(':').collect();
    let (source, target, options) = match parts.as_slice() {
        [target] => (None, *target, ""),
        [source, target] => (Some(*source), *target, ""),
        [source, target, options] => (Some(*source), *target, *options),
        _ => {
            return Err(format!(
                "{spec:?}: expected SOURCE:TARGET[:OPTIONS] or TARGET"
            ))
        }
    };
    if source == Some("") || target.is_empty() {
        return Err(format!("{spec:?}: an empty source or target"));
    }
    let mut mount = Mount {
        kind: MountType::Volume,
        source: None,
        target: target.to_string(),
        read_only: false,
        bind: None,
        volume: None,
        tmpfs: None,
    };
    match source {
        Some(s) if is_path(s) => {
            mount.kind = MountType::Bind;
            mount.source = Some(paths.resolve(s));
            mount.bind = Some(BindOptions {
                create_host_path: true,
                ..BindOptions::default()
            });
        }
        Some(s) => mount.source = Some(s.to_string()),
        None => {}
    }
    for opt in options.split(',').filter(|o| !o.is_empty()) {
        match opt {
            "ro" => mount.read_only = true,
            "rw" => mount.read_only = false,
            "z" | "Z" if mount.kind == MountType::Bind => {
                mount.bind.get_or_insert_with(Default::default).selinux = Some(opt.to_string())
            }
            "shared" | "rshared" | "slave" | "rslave" | "private" | "rprivate"
                if mount.kind == MountType::Bind =>
            {
                mount.bind.get_or_insert_with(Default::default).propagation = Some(opt.to_string())
            }
            "nocopy" if mount.kind == MountType::Volume => {
                mount.volume = Some(VolumeOptions {
                    nocopy: true,
                    subpath: None,
                })
            }
            other => {
                return Err(format!(
                    "{spec:?}: unknown option {other:?} for a {} mount",
                    mount.kind.as_str()
                ))
            }
        }
    }
    Ok(mount)
}

fn long(n: &Node, path: &str, paths: &Paths, warnings: &mut Vec<Warning>) -> Result<Mount> {
    let mut kind = None;
    let mut source = None;
    let mut target = None;
    let mut mount = Mount {
        kind: MountType::Volume,
        source: None,
        target: String::new(),
        read_only: false,
        bind: None,
        volume: None,
        tmpfs: None,
    };
    for (k, v) in map(n, path)? {
        let p = sub(path, k);
        match k.as_str() {
            "type" => {
                kind = Some(match string(v, &p)?.as_str() {
                    "bind" => MountType::Bind,
                    "volume" => MountType::Volume,
                    "tmpfs" => MountType::Tmpfs,
                    other => {
                        return Err(invalid(
                            &v.pos,
                            &p,
                            format!("unknown mount type {other:?} (bind, volume or tmpfs)"),
                        ))
                    }
                })
            }
            "source" => source = opt_string(v, &p)?,
            "target" => target = Some(string(v, &p)?),
            "read_only" => mount.read_only = boolean(v, &p)?,
            "bind" => {
                let mut b = BindOptions::default();
                for (bk, bv) in map(v, &p)? {
                    let bp = sub(&p, bk);
                    match bk.as_str() {
                        "create_host_path" => b.create_host_path = boolean(bv, &bp)?,
                        "propagation" => b.propagation = opt_string(bv, &bp)?,
                        "selinux" => b.selinux = opt_string(bv, &bp)?,
                        _ => unknown(warnings, bk, bv, &p),
                    }
                }
                mount.bind = Some(b);
            }
            "volume" => {
                let mut o = VolumeOptions::default();
                for (vk, vv) in map(v, &p)? {
                    let vp = sub(&p, vk);
                    match vk.as_str() {
                        "nocopy" => o.nocopy = boolean(vv, &vp)?,
                        "subpath" => o.subpath = opt_string(vv, &vp)?,
                        _ => unknown(warnings, vk, vv, &p),
                    }
                }
                mount.volume = Some(o);
            }
            "tmpfs" => {
                let mut t = TmpfsOptions::default();
                for (tk, tv) in map(v, &p)? {
                    let tp = sub(&p, tk);
                    match tk.as_str() {
                        "size" => t.size = Some(size(tv, &tp)?),
                        "mode" => {
                            let text = string(tv, &tp)?;
                            let mode = u32::from_str_radix(text.trim_start_matches("0o"), 8)
                                .or_else(|_| uint(tv, &tp).map(|m| m as u32).map_err(|_| ()))
                                .map_err(|_| {
                                    invalid(
                                        &tv.pos,
                                        &tp,
                                        format!("{text:?} is not a file mode (octal, like 1777)"),
                                    )
                                })?;
                            t.mode = Some(mode);
                        }
                        _ => unknown(warnings, tk, tv, &p),
                    }
                }
                mount.tmpfs = Some(t);
            }
            "consistency" => {}
            _ => unknown(warnings, k, v, path),
        }
    }
    mount.target =
        target.ok_or_else(|| invalid(&n.pos, path, "a volume in long syntax needs `target`"))?;
    mount.kind = kind.unwrap_or(match &source {
        Some(s) if is_path(s) => MountType::Bind,
        _ => MountType::Volume,
    });
    mount.source = match (mount.kind, source) {
        (MountType::Bind, Some(s)) => Some(paths.resolve(&s)),
        (MountType::Bind, None) => {
            return Err(invalid(
                &n.pos,
                path,
                "a bind mount needs `source` (the host path)",
            ))
        }
        (MountType::Tmpfs, Some(_)) => {
            return Err(invalid(&n.pos, path, "a tmpfs mount takes no `source`"))
        }
        (_, s) => s,
    };
    Ok(mount)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths() -> Paths<'static> {
        Paths {
            dir: Path::new("/srv/app"),
            home: Some("/home/me"),
        }
    }

    #[test]
    fn short_syntax_kinds_and_paths() {
        let m = short("./data:/data:ro", &paths()).unwrap();
        assert_eq!(
            (m.kind, m.source.as_deref(), m.read_only),
            (MountType::Bind, Some("/srv/app/data"), true)
        );
        assert!(m.bind.unwrap().create_host_path);
        let m = short("../x/./y:/y", &paths()).unwrap();
        assert_eq!(m.source.as_deref(), Some("/srv/x/y"));
        let m = short("~/conf:/etc/conf:ro,z", &paths()).unwrap();
        assert_eq!(m.source.as_deref(), Some("/home/me/conf"));
        assert_eq!(m.bind.unwrap().selinux.as_deref(), Some("z"));
        let m = short("db-data:/var/lib/db:nocopy", &paths()).unwrap();
        assert_eq!(
            (m.kind, m.source.as_deref()),
            (MountType::Volume, Some("db-data"))
        );
        assert!(m.volume.unwrap().nocopy);
        let m = short("/anon", &paths()).unwrap();
        assert_eq!(
            (m.kind, m.source, m.target.as_str()),
            (MountType::Volume, None, "/anon")
        );
    }

    #[test]
    fn bad_short_syntax() {
        assert!(short("a:b:c:d", &paths())
            .unwrap_err()
            .contains("expected SOURCE:TARGET"));
        assert!(short("v:/x:nocopy,bogus", &paths())
            .unwrap_err()
            .contains("unknown option \"bogus\""));
        assert!(short("./d:/x:nocopy", &paths())
            .unwrap_err()
            .contains("for a bind mount"));
    }
}

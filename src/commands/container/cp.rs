//! `cp`: docker's argument rules (`CONTAINER:PATH` on one side, a host path
//! or `-` on the other) over hoist_runtime::copy, which resolves every path
//! on the container's side inside its root. Errors exit 1, as docker's.

use std::io::Write;
use std::path::Path;

use hoist_runtime::copy::{self, CopyError, CopyOptions, Owner, Side};

use super::run::lifecycle;
use crate::cli::container::CpArgs;

pub fn cp(root: &Path, a: &CpArgs) -> anyhow::Result<i32> {
    match transfer(root, a) {
        Ok(()) => Ok(0),
        Err(e) => {
            eprintln!("Error: {e}");
            Ok(1)
        }
    }
}

fn transfer(root: &Path, a: &CpArgs) -> anyhow::Result<()> {
    let (src, dst) = (container_arg(&a.src), container_arg(&a.dest));
    let (container, inside, outside, into_container) = match (src, dst) {
        (Some(_), Some(_)) => anyhow::bail!("copying between containers is not supported"),
        (None, None) => anyhow::bail!(
            "must specify at least one container source (CONTAINER:PATH as SRC or DEST)"
        ),
        (Some((c, p)), None) => (c, p, a.dest.as_str(), false),
        (None, Some((c, p))) => (c, p, a.src.as_str(), true),
    };
    let lc = lifecycle(root)?;
    let rec = lc.find(container)?;
    let croot = copy::container_root(root, &rec)?;
    let inside_side = Side {
        root: &croot,
        path: inside,
    };
    let named = |e: CopyError| match e {
        CopyError::SourceMissing(p) if !into_container => {
            anyhow::anyhow!("could not find the file {p} in container {container}")
        }
        e => anyhow::Error::new(e),
    };
    if outside == "-" {
        return if into_container {
            copy::tar_in(std::io::stdin().lock(), inside_side).map_err(named)
        } else {
            let mut out = std::io::stdout().lock();
            copy::tar_out(inside_side, a.follow_link, &mut out).map_err(named)?;
            Ok(out.flush()?)
        };
    }
    let host_path = absolute(outside)?;
    let host = copy::host_root()?;
    let host_side = Side {
        root: &host,
        path: &host_path,
    };
    let owner = if a.archive {
        Owner::FromArchive
    } else if into_container {
        // The container's root: in a user namespace of its own, the host
        // ids it is mapped to.
        let ns = rec.security.userns.as_ref();
        let (uid, gid) = ns.and_then(|ns| ns.root_ids()).unwrap_or((0, 0));
        Owner::Fixed(uid, gid)
    } else {
        // SAFETY: getuid/getgid cannot fail.
        unsafe { Owner::Fixed(libc::getuid(), libc::getgid()) }
    };
    let opts = CopyOptions {
        follow: a.follow_link,
        owner,
    };
    let result = if into_container {
        copy::copy(host_side, inside_side, opts)
    } else {
        copy::copy(inside_side, host_side, opts)
    };
    result.map_err(named)
}

/// docker's `splitCpArg`: `NAME:PATH` names a container unless the part
/// before the colon is a path (absolute, or containing a `/`).
fn container_arg(arg: &str) -> Option<(&str, &str)> {
    if arg.starts_with('/') || arg.starts_with('.') {
        return None;
    }
    let (name, path) = arg.split_once(':')?;
    if name.is_empty() || name.contains('/') {
        return None;
    }
    Some((name, if path.is_empty() { "/" } else { path }))
}

/// A host path made absolute, keeping a trailing `/` or `/.` (they mean
/// something to cp).
fn absolute(path: &str) -> anyhow::Result<String> {
    if path.starts_with('/') {
        return Ok(path.to_string());
    }
    let cwd = std::env::current_dir()?;
    Ok(format!("{}/{path}", cwd.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_arguments_as_docker_splits_them() {
        assert_eq!(container_arg("web:/etc/x"), Some(("web", "/etc/x")));
        assert_eq!(container_arg("web:"), Some(("web", "/")));
        assert_eq!(container_arg("/tmp/a:b"), None);
        assert_eq!(container_arg("./a:b"), None);
        assert_eq!(container_arg("dir/a:b"), None);
        assert_eq!(container_arg("-"), None);
    }
}

//! Where a container's files live: the one place that decides.
//!
//! Two directories per container, as podman (graphroot / runroot) and docker
//! (data-root / exec-root) split them:
//! - the record dir, `<root>/containers/<id>/`, what must survive a reboot:
//!   hoist.json, the json log, the overlay's upper/ and work/, probes.json
//!   and a copy of the state taken at every start and exit (so a container
//!   that was running when the machine went down shows as exited after it);
//! - the run dir, `<rundir>/containers/<id>/` on a tmpfs (rundir.rs), what a
//!   run needs and a reboot may lose: state.json, the monitor's socket,
//!   config.json (the OCI spec), hosts/hostname/resolv.conf, network.json,
//!   the rootfs mount point, and a `record` symlink to the record dir.
//!
//! A `--rm` container has no record dir: everything, its record, log and
//! upper dir included, is in its run dir (no `record` link), so a `run --rm`
//! creates no inode on the store's filesystem; its name is reserved in the
//! run dir's `names/` too, the others' in the store's `containers/.names/`
//! (a name is taken if either holds it).
//!
//! `container_dir` is the run dir; after a reboot, until `restore_run_dir`
//! makes it again at the next start, it is the record dir (whose state copy
//! then answers). `record_dir` follows the link.

use std::path::{Path, PathBuf};

use crate::error::{IoContext, Result};

/// The link from a run dir to its record dir.
pub const RECORD_LINK: &str = "record";

/// The store's directory of container records.
pub fn containers_dir(root: &Path) -> PathBuf {
    root.join("containers")
}

/// The run directory's containers of the store at `root`.
pub fn run_containers_dir(root: &Path) -> PathBuf {
    crate::rundir::for_root(root).join("containers")
}

/// Where container names are reserved: a throwaway (`--rm`) container's in
/// the run dir (it is gone at exit, or at the latest at a reboot), the
/// others' in the store.
pub fn names_dir(root: &Path, throwaway: bool) -> PathBuf {
    if throwaway {
        crate::rundir::for_root(root).join("names")
    } else {
        containers_dir(root).join(".names")
    }
}

fn stored_dir(root: &Path, id: &str) -> PathBuf {
    containers_dir(root).join(id)
}

fn run_dir(root: &Path, id: &str) -> PathBuf {
    run_containers_dir(root).join(id)
}

/// The container's run dir (state, socket, spec, /etc files); its record
/// dir when the run dir is gone (after a reboot) but the record is there.
pub fn container_dir(root: &Path, id: &str) -> PathBuf {
    let run = run_dir(root, id);
    if run.exists() {
        return run;
    }
    let stored = stored_dir(root, id);
    if stored.exists() {
        stored
    } else {
        run
    }
}

/// The container's record dir (hoist.json, log, upper/, work/).
pub fn record_dir(root: &Path, id: &str) -> PathBuf {
    record_of(&container_dir(root, id))
}

/// The record dir of the container whose run dir is `dir` (`dir` itself
/// for a `--rm` container, or when `dir` already is the record dir).
pub fn record_of(dir: &Path) -> PathBuf {
    match std::fs::read_link(dir.join(RECORD_LINK)) {
        Ok(target) => target,
        Err(_) => dir.to_path_buf(),
    }
}

/// Whether the run dir `dir` links to a record dir elsewhere (a container
/// whose record must outlive its runs).
pub fn has_record_elsewhere(dir: &Path) -> bool {
    dir.join(RECORD_LINK).symlink_metadata().is_ok()
}

/// Makes a new container's directories: the run dir with its rootfs mount
/// point; upper/ and work/ in the record dir (in the store, linked from the
/// run dir), or in the run dir for a throwaway (`--rm`) container.
pub fn create_dirs(root: &Path, dir: &Path, id: &str, throwaway: bool) -> Result<()> {
    crate::rundir::ensure()?;
    create_dir(&dir.join("rootfs"))?;
    let record = if throwaway {
        dir.to_path_buf()
    } else {
        let stored = stored_dir(root, id);
        link_record(dir, &stored)?;
        stored
    };
    for sub in ["upper", "work"] {
        create_dir(&record.join(sub))?;
    }
    Ok(())
}

/// `create_dir_all`, retried: the last container's removal may remove the
/// root's (empty) run dir just as a new container's dirs are made.
pub(crate) fn create_dir(path: &Path) -> Result<()> {
    let mut tries = 0;
    loop {
        match std::fs::create_dir_all(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && tries < 3 => tries += 1,
            r => return r.ctx(|| format!("creating {}", path.display())),
        }
    }
}

fn link_record(dir: &Path, record: &Path) -> Result<()> {
    let link = dir.join(RECORD_LINK);
    std::os::unix::fs::symlink(record, &link).ctx(|| format!("creating {}", link.display()))
}

/// Removes both directories of a container (its run dir `dir` and the
/// record dir it links to).
pub fn remove_dirs(dir: &Path) -> std::io::Result<()> {
    let record = record_of(dir);
    let removed = match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    };
    if record != dir {
        match std::fs::remove_dir_all(&record) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    removed
}

/// Removes the root's run dir if no container is left in it (a store's
/// temporary root, as tests use, leaves nothing in /run/hoist). A container
/// being created at the same time retries (`create_dir`).
pub fn tidy_run_dir(root: &Path) {
    // Each only if empty; a name may be reserved before any directory is made.
    let _ = std::fs::remove_dir(run_containers_dir(root));
    let _ = std::fs::remove_dir(names_dir(root, true));
    let _ = std::fs::remove_dir(crate::rundir::for_root(root));
}

/// Makes the run dir of a stored container again if it is gone (the run
/// directory is a tmpfs: a reboot empties it): the link to the record, the
/// last state, the spec and /etc files, the rootfs mount point. A no-op
/// (one stat) when the run dir is there.
pub fn restore_run_dir(root: &Path, id: &str) -> Result<()> {
    let run = run_dir(root, id);
    if run.join("config.json").exists() {
        return Ok(());
    }
    let stored = stored_dir(root, id);
    if !stored.join("hoist.json").exists() {
        // Not a stored container: `load` reports what is missing.
        return Ok(());
    }
    let rec = super::load(root, id)?;
    crate::rundir::ensure()?;
    create_dir(&run.join("rootfs"))?;
    if !has_record_elsewhere(&run) {
        link_record(&run, &stored)?;
    }
    let last_state = stored.join("state.json");
    if last_state.exists() {
        std::fs::copy(&last_state, run.join("state.json"))
            .ctx(|| format!("copying {}", last_state.display()))?;
    }
    let view = crate::rootview::RootView {
        dirs_top_first: rec.lowerdirs.iter().rev().cloned().collect(),
    };
    let user = crate::user::resolve_user(&rec.user, |p| view.read(p))?;
    let spec = crate::spec::build_spec(&super::create::spec_input(root, &run, &rec, &user)?)?;
    let spec = rec.extras.apply(spec)?;
    crate::spec::write_spec(&spec, &run)
}

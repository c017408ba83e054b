//! `create`: resolve the image, unpack missing snapshots, merge the image
//! config with the flags, write hoist.json, config.json and state.json.

use hoist_store::Store;
use std::path::{Path, PathBuf};

use super::config::{
    merge_command, merge_env, parse_tmpfs, parse_volume, random_hex, set_env, ImageDefaults,
    MountRequest, RunOptions,
};
use super::{container_dir, reserve_name, save, ContainerRecord};
use crate::error::{IoContext, Result, RuntimeError};
use crate::rootview::RootView;
use crate::spec::{build_spec, write_spec, NetworkMode, SpecInput, UserMount};
use crate::user::resolve_user;

mod publish;

const ADJECTIVES: [&str; 12] = [
    "brave", "calm", "eager", "fancy", "gentle", "happy", "jolly", "keen", "lucid", "merry",
    "nifty", "quiet",
];
const NOUNS: [&str; 12] = [
    "turing",
    "hopper",
    "lovelace",
    "ritchie",
    "thompson",
    "knuth",
    "liskov",
    "dijkstra",
    "hamilton",
    "torvalds",
    "pike",
    "kernighan",
];

fn generated_name(id: &str) -> String {
    let a = ADJECTIVES[rand::random::<u32>() as usize % ADJECTIVES.len()];
    let n = NOUNS[rand::random::<u32>() as usize % NOUNS.len()];
    format!("{a}_{n}_{}", &id[..4])
}

/// Creates a container from `image` (a name or ID in the store).
pub fn create(root: &Path, image: &str, opts: &RunOptions) -> Result<ContainerRecord> {
    crate::rootless::check_create(opts)?;
    let img_err = |message: String| RuntimeError::Image {
        name: image.into(),
        message,
    };
    let store = Store::open(root).map_err(|e| img_err(e.to_string()))?;
    let named = store.resolve(image).map_err(|e| img_err(e.to_string()))?;
    let loaded =
        load_for_platform(&store, &named.descriptor, opts.platform.as_deref()).map_err(img_err)?;
    let defaults = ImageDefaults::from_config_json(&loaded.config_json);
    // Parse every flag before anything is written (or unpacked).
    let pod = opts
        .pod
        .as_deref()
        .map(|p| pod_of(root, p, opts))
        .transpose()?;
    let lowerdirs = crate::snapshot::image_snapshots(&store, &loaded)?;
    let mut mounts: Vec<MountRequest> = Vec::new();
    for v in pod.iter().flat_map(|p| &p.volumes) {
        mounts.push(parse_volume(v)?);
    }
    for v in &opts.volumes {
        mounts.push(parse_volume(v)?);
    }
    for t in &opts.tmpfs {
        mounts.push(parse_tmpfs(t)?);
    }
    let ports = publish::ports(&defaults, opts)?;
    let networks = crate::netcheck::networks(root, opts)?;
    let network_container = match (opts.network, &opts.network_container) {
        (NetworkMode::Container, Some(c)) => Some(crate::netjoin::resolve(root, c)?),
        (NetworkMode::Container, None) => {
            return Err(RuntimeError::Invalid(
                "--network container: needs a container's name".into(),
            ))
        }
        _ => None,
    };
    crate::netcheck::dns_flags(opts)?;
    if let Some(sig) = &opts.stop_signal {
        crate::monitor::parse_signal(sig).ok_or_else(|| {
            RuntimeError::Invalid(format!(
                "--stop-signal {sig:?} is not a signal (use a name such as TERM or SIGQUIT, or a number)"
            ))
        })?;
    }
    let mut security = crate::security::SecurityOptions::from_flags(
        &opts.cap_add,
        &opts.cap_drop,
        opts.privileged,
        &opts.security_opt,
    )?;
    let userns = crate::security::userns::UsernsRequest::from_flags(
        opts.userns.as_deref(),
        &opts.uidmap,
        &opts.gidmap,
    )?;
    if userns != crate::security::userns::UsernsRequest::Host {
        userns_fits(opts, pod.is_some())?;
    }
    let (entrypoint, cmd) = merge_command(&defaults, opts);
    if entrypoint.is_empty() && cmd.is_empty() {
        return Err(RuntimeError::Invalid(
            "no command specified: the image has no ENTRYPOINT or CMD; give one after the image name".into(),
        ));
    }
    let mut env = merge_env(&defaults, opts)?;
    let workdir = opts
        .workdir
        .clone()
        .filter(|w| !w.is_empty())
        .unwrap_or_else(|| defaults.workdir.clone());
    let workdir = if workdir.is_empty() {
        "/".to_string()
    } else {
        workdir
    };
    if !workdir.starts_with('/') {
        return Err(RuntimeError::Invalid(format!(
            "the working directory {workdir:?} must be an absolute path"
        )));
    }
    // keep-id (rootless): the user's own ids unless --user, with a passwd
    // entry where the image has none (crate::keepid).
    let kept = crate::keepid::KeptUser::for_request(&userns)?;
    let user = opts.user.clone().unwrap_or_else(|| match &kept {
        Some(k) => k.user_spec(),
        None => defaults.user.clone(),
    });
    let view = RootView {
        dirs_top_first: lowerdirs.iter().rev().cloned().collect(),
    };
    let read = |p: &str| {
        let text = view.read(p);
        match kept.as_ref().and_then(|k| k.with_entry(p, text.as_deref())) {
            Some(added) => Some(added),
            None => text,
        }
    };
    let resolved = resolve_user(&user, read)?;
    let extras = opts.extras.resolve_groups(read)?;
    let id = random_hex(64);
    let hostname = match (&opts.hostname, opts.network) {
        _ if pod.is_some() => pod.as_ref().map(|p| p.name.clone()).unwrap_or_default(),
        (Some(h), _) => h.clone(),
        (None, NetworkMode::Host) => nix::unistd::gethostname()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_else(|_| id[..12].to_string()),
        (None, _) => id[..12].to_string(),
    };
    set_env(&mut env, format!("HOSTNAME={hostname}"));
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        env.push(format!("HOME={}", resolved.home));
    }
    if opts.tty && !env.iter().any(|e| e.starts_with("TERM=")) {
        env.push("TERM=xterm".into());
    }
    let name = opts.name.clone().unwrap_or_else(|| generated_name(&id));
    reserve_name(root, &name, &id, opts.auto_remove)?;
    security.userns = match userns.resolve(root, &id) {
        Ok(ns) => ns,
        Err(e) => {
            super::release_name(root, &name);
            return Err(e);
        }
    };
    // Rootless, a namespace of its own stacks copies of the layers owned
    // for its map (made once per mapping, crate::keepid).
    let lowerdirs = match crate::keepid::layers_for(lowerdirs, security.userns.as_ref()) {
        Ok(dirs) => dirs,
        Err(e) => {
            super::release_name(root, &name);
            return Err(e);
        }
    };
    let rec = ContainerRecord {
        id: id.clone(),
        name: name.clone(),
        created: crate::time::now(),
        image: image.to_string(),
        image_ref: named.name.clone(),
        image_digest: loaded.manifest_digest.to_string(),
        entrypoint,
        cmd,
        env,
        workdir,
        user,
        hostname,
        network: opts.network,
        mounts,
        ports,
        memory: opts.memory,
        cpus: opts.cpus,
        pids_limit: opts.pids_limit,
        read_only: opts.read_only,
        interactive: opts.interactive,
        tty: opts.tty,
        auto_remove: opts.auto_remove,
        restart: opts.restart.clone(),
        healthcheck: crate::health::merge(defaults.healthcheck.clone(), &opts.health),
        stop_signal: opts
            .stop_signal
            .clone()
            .or_else(|| defaults.stop_signal.clone()),
        log: opts.log,
        lowerdirs,
        pod: pod.map(|p| p.id),
        networks,
        add_hosts: opts.add_hosts.clone(),
        dns: opts.dns.clone(),
        dns_search: opts.dns_search.clone(),
        network_container,
        security,
        labels: super::labels::merged(&defaults.labels, &opts.labels),
        extras,
    };
    let dir = container_dir(root, &id);
    let result = write_container(root, &dir, &rec, &resolved);
    if result.is_err() {
        let _ = super::paths::remove_dirs(&dir);
        super::release_name(root, &name);
        if let Some(ns) = &rec.security.userns {
            crate::security::userns::release(root, ns, &rec.id);
        }
    }
    result.map(|_| rec)
}

/// A volume that is still empty and root's (just made) becomes the mapped
/// root's, as docker's remapped root gets volumes of its own: otherwise
/// container root could not write to it. A volume with content keeps its
/// owners.
fn give_empty_volume(data: &Path, ns: &crate::security::userns::UserNamespace) -> Result<()> {
    use crate::security::userns::UserNamespace;
    use std::os::unix::fs::MetadataExt;
    let Some((uid, gid)) = ns.root_ids() else {
        return Ok(());
    };
    let meta = std::fs::metadata(data).ctx(|| format!("reading {}", data.display()))?;
    let empty = std::fs::read_dir(data)
        .ctx(|| format!("reading {}", data.display()))?
        .next()
        .is_none();
    // Unless host root is mapped in (rootless keep-id: hoist's 0 is the
    // user, whose container id then owns it).
    let mapped = UserNamespace::container_id(&ns.uid_map, 0).is_some();
    if empty && meta.uid() == 0 && meta.gid() == 0 && !mapped {
        std::os::unix::fs::chown(data, Some(uid), Some(gid))
            .ctx(|| format!("giving {} to the container's root", data.display()))?;
    }
    Ok(())
}

/// The image for `platform` (an index's entry; a plain image must be of
/// that platform), else the host's. A foreign platform's interpreter is
/// checked here, before anything is written.
fn load_for_platform(
    store: &Store,
    descriptor: &hoist_oci::oci_spec::image::Descriptor,
    platform: Option<&str>,
) -> std::result::Result<hoist_store::Image, String> {
    use crate::emulation::{config_platform, emulator_for};
    let loaded = match platform {
        Some(p) => {
            let wanted: hoist_store::Platform = p.parse()?;
            let loaded = store
                .load_image_for(descriptor, &wanted)
                .map_err(|e| e.to_string())?;
            match config_platform(&loaded.config_json) {
                Some(is) if is.os != wanted.os || is.architecture != wanted.architecture => {
                    return Err(format!(
                        "the image is {is}, not {wanted} as --platform asks"
                    ))
                }
                _ => loaded,
            }
        }
        None => store.load_image(descriptor).map_err(|e| e.to_string())?,
    };
    if let Some(p) = config_platform(&loaded.config_json) {
        emulator_for(&p).map_err(|e| e.to_string())?;
    }
    Ok(loaded)
}

/// What a container in its own user namespace cannot have (yet): namespaces
/// made in the host's user namespace, which its root could not enter, and
/// /sys, which only a network namespace of its own lets it mount.
fn userns_fits(opts: &RunOptions, in_pod: bool) -> Result<()> {
    let refuse = |what: &str, why: &str| {
        Err(RuntimeError::Invalid(format!(
            "--userns/--uidmap cannot be used with {what} yet: {why}"
        )))
    };
    if in_pod {
        return refuse(
            "--pod",
            "the pod's namespaces belong to the host's user namespace",
        );
    }
    match opts.network {
        NetworkMode::Host => refuse(
            "--network host",
            "/sys needs a network namespace of the container's own (use bridge or none)",
        ),
        NetworkMode::Container => refuse(
            "--network container:",
            "that namespace belongs to the host's user namespace",
        ),
        NetworkMode::None | NetworkMode::Private | NetworkMode::Bridge => Ok(()),
    }
}

/// The pod a container joins, with the flags a pod member may not have:
/// the pod publishes the ports and owns the network and the host name.
fn pod_of(root: &Path, what: &str, opts: &RunOptions) -> Result<crate::pod::PodRecord> {
    let pod = crate::pod::find(root, what)?;
    let refuse = |flag: &str, why: &str| {
        Err(RuntimeError::Invalid(format!(
            "{flag} cannot be used with --pod: {why}"
        )))
    };
    if !opts.publish.is_empty() {
        return refuse(
            "-p",
            "the pod publishes ports (hoist pod create --name P -p HOST:CTR)",
        );
    }
    if opts.publish_all {
        return refuse(
            "-P",
            "the pod publishes ports (hoist pod create --name P -p HOST:CTR)",
        );
    }
    if opts.network != NetworkMode::Private {
        return refuse("--network", "the container shares the pod's network");
    }
    if opts.hostname.is_some() {
        return refuse("--hostname", "the host name is the pod's name");
    }
    Ok(pod)
}

fn write_container(
    root: &Path,
    dir: &Path,
    rec: &ContainerRecord,
    user: &crate::user::ResolvedUser,
) -> Result<()> {
    super::paths::create_dirs(root, dir, &rec.id, rec.auto_remove)?;
    let spec = rec
        .extras
        .apply(build_spec(&spec_input(root, dir, rec, user)?)?)?;
    write_spec(&spec, dir)?;
    // No state.json yet: a missing one reads as "created" (state::read),
    // and the first write (running) then replaces nothing.
    save(root, rec)
}

/// The spec input for a record: volumes created on first use, bind sources
/// created if missing (like `docker run -v`), /etc/hosts, hostname and
/// resolv.conf written beside the container and bind-mounted.
pub fn spec_input(
    root: &Path,
    dir: &Path,
    rec: &ContainerRecord,
    user: &crate::user::ResolvedUser,
) -> Result<SpecInput> {
    let mut mounts = Vec::new();
    let etc = etc_files(dir, rec)?;
    for (target, source) in etc {
        mounts.push(UserMount::Bind {
            source,
            target: target.into(),
            readonly: false,
        });
    }
    for m in &rec.mounts {
        mounts.push(match m {
            MountRequest::Bind {
                source,
                target,
                readonly,
            } => {
                if !source.exists() {
                    std::fs::create_dir_all(source)
                        .ctx(|| format!("creating bind source {}", source.display()))?;
                }
                UserMount::Bind {
                    source: source.clone(),
                    target: target.clone(),
                    readonly: *readonly,
                }
            }
            MountRequest::Volume {
                name,
                target,
                readonly,
                anonymous,
            } => {
                let v = crate::volumes::ensure(root, name, *anonymous)?;
                if let Some(ns) = &rec.security.userns {
                    give_empty_volume(&v.mountpoint, ns)?;
                }
                UserMount::Bind {
                    source: v.mountpoint,
                    target: target.clone(),
                    readonly: *readonly,
                }
            }
            MountRequest::Tmpfs { target, options } => UserMount::Tmpfs {
                target: target.clone(),
                options: options.clone(),
            },
        });
    }
    Ok(SpecInput {
        args: rec.args(),
        env: rec.env.clone(),
        cwd: rec.workdir.clone(),
        uid: user.uid,
        gid: user.gid,
        additional_gids: user.additional_gids.clone(),
        hostname: rec.hostname.clone(),
        network: rec.network,
        rootfs: PathBuf::from("rootfs"),
        readonly_rootfs: rec.read_only,
        mounts,
        memory: rec.memory,
        cpus: rec.cpus,
        pids_limit: rec.pids_limit,
        terminal: rec.tty,
        cgroups_path: format!("/hoist/{}", rec.id),
        security: rec.security.clone(),
    })
}

fn etc_files(dir: &Path, rec: &ContainerRecord) -> Result<Vec<(&'static str, PathBuf)>> {
    let write = |name: &str, text: String| -> Result<PathBuf> {
        let p = dir.join(name);
        std::fs::write(&p, text).ctx(|| format!("writing {}", p.display()))?;
        Ok(p)
    };
    // Rewritten with the addresses when a bridge-mode container starts.
    let hosts = crate::netattach::hosts(rec, &[]);
    let resolv = crate::netattach::resolv_conf(rec, &[]);
    let mut files = vec![
        ("/etc/hosts", write("hosts", hosts)?),
        (
            "/etc/hostname",
            write("hostname", format!("{}\n", rec.hostname))?,
        ),
        ("/etc/resolv.conf", write("resolv.conf", resolv)?),
    ];
    files.extend(crate::keepid::etc_files(dir, rec)?);
    Ok(files)
}

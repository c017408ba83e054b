//! A one-shot container's network beyond loopback (the builder's
//! `RUN --network=default|host`): for the default network, an address
//! leased for the step and a veth into the step's new namespace, made the
//! way a container's are (`core::netns`: `hoist_network::reserve`, then
//! `plumb`), the lease owned by the calling process so that a killed build's
//! address is reclaimable, and given back when the step ends, failures
//! included; for both modes, /etc/hosts and /etc/resolv.conf generated as
//! docker's builder (BuildKit) does and bind-mounted read-only, with the
//! mount points made in the upper dir beforehand and removed afterwards so
//! that they never end up in the step's layer.

use hoist_network::{Attachment, Request, DEFAULT_NETWORK};
use std::net::IpAddr;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::core::netns::{self, NetSetup, PendingNetns};
use crate::core::plan::ContainerPlan;
use crate::error::{IoContext, Result};
use crate::spec::{NetworkMode, UserMount};

/// The files docker's builder generates for a step.
const ETC_FILES: [&str; 2] = ["hosts", "resolv.conf"];

/// Starts making the step's namespace on the default network (on a helper
/// thread, as a container's). `root` is the store root holding networks/.
pub fn begin_bridge(root: &Path, id: &str) -> PendingNetns {
    netns::begin(Some(NetSetup {
        root: root.to_path_buf(),
        container_id: id.to_string(),
        name: id.to_string(),
        requests: vec![Request {
            network: DEFAULT_NETWORK.to_string(),
            ..Default::default()
        }],
        // The default network has no DNS responder to start.
        hoist_exe: None,
    }))
}

/// The step's addresses; given back on drop (the step ended, or failed to
/// start). The veth goes with the namespace, as a container's does.
pub struct StepLease {
    root: PathBuf,
    id: String,
    atts: Vec<Attachment>,
}

impl StepLease {
    /// Waits for the namespace and puts it into the plan.
    pub fn hand_over(
        pending: PendingNetns,
        plan: &mut ContainerPlan,
        root: &Path,
        id: &str,
    ) -> Result<StepLease> {
        // On error `hand_over` has released what it reserved.
        let atts = pending.hand_over(plan)?;
        Ok(StepLease {
            root: root.to_path_buf(),
            id: id.to_string(),
            atts,
        })
    }
}

impl Drop for StepLease {
    fn drop(&mut self) {
        hoist_network::release(&self.root, &self.id, &self.atts);
    }
}

/// Generated /etc files and the mount points made for them in the upper
/// dir; `remove` takes the mount points out again after the step.
pub struct EtcFiles {
    dir: PathBuf,
    upper_etc: PathBuf,
    made_etc: bool,
}

impl EtcFiles {
    /// Writes hosts and resolv.conf into `dir` (created here) and returns
    /// the bind mounts for them. `lowers_bottom_first` are the step's
    /// layers; `upper` its (empty) upper dir. None when the image's /etc is
    /// not a directory (nothing is mounted then).
    pub fn prepare(
        dir: &Path,
        upper: &Path,
        lowers_bottom_first: &[PathBuf],
        hostname: &str,
        mode: NetworkMode,
    ) -> Result<Option<(EtcFiles, Vec<UserMount>)>> {
        let lower_etc = match lower_dir_meta(lowers_bottom_first, "etc") {
            Lookup::NotADir => return Ok(None),
            Lookup::Dir(m) => Some(m),
            Lookup::Absent => None,
        };
        std::fs::create_dir(dir).ctx(|| format!("creating {}", dir.display()))?;
        let mut files = EtcFiles {
            dir: dir.to_path_buf(),
            upper_etc: upper.join("etc"),
            made_etc: false,
        };
        match files.fill(lower_etc.as_ref(), hostname, mode) {
            Ok(mounts) => Ok(Some((files, mounts))),
            Err(e) => {
                files.remove();
                Err(e)
            }
        }
    }

    fn fill(
        &mut self,
        lower_etc: Option<&std::fs::Metadata>,
        hostname: &str,
        mode: NetworkMode,
    ) -> Result<Vec<UserMount>> {
        // Made by hand, with the image's /etc metadata (what a copy-up
        // would give it): the child would otherwise create the mount
        // points through the overlay, and they would be in the layer.
        make_dir_like(&self.upper_etc, lower_etc)?;
        self.made_etc = true;
        let mut mounts = Vec::new();
        for (name, text) in [
            ("hosts", hosts_file(hostname)),
            ("resolv.conf", resolv_conf(mode)),
        ] {
            let source = self.dir.join(name);
            let stub = self.upper_etc.join(name);
            std::fs::write(&source, text)
                .and_then(|_| {
                    std::fs::set_permissions(&source, std::fs::Permissions::from_mode(0o644))
                })
                .and_then(|_| std::fs::write(&stub, b""))
                .ctx(|| format!("writing the step's /etc/{name}"))?;
            mounts.push(UserMount::Bind {
                source,
                target: format!("/etc/{name}"),
                readonly: true,
            });
        }
        Ok(mounts)
    }

    /// After the step: the mount points leave the upper dir (and /etc with
    /// them when the step put nothing else there), the generated files go.
    pub fn remove(self) {
        if self.made_etc {
            for name in ETC_FILES {
                let _ = std::fs::remove_file(self.upper_etc.join(name));
            }
            // Fails, as it should, when the step wrote into /etc.
            let _ = std::fs::remove_dir(&self.upper_etc);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

enum Lookup {
    Dir(std::fs::Metadata),
    NotADir,
    Absent,
}

/// What the image has at `/<name>` (a top-level entry), reading the layers
/// top-most first: a whiteout (char device or `.wh.` file) hides it.
fn lower_dir_meta(lowers_bottom_first: &[PathBuf], name: &str) -> Lookup {
    for dir in lowers_bottom_first.iter().rev() {
        match std::fs::symlink_metadata(dir.join(name)) {
            Ok(m) if m.is_dir() => return Lookup::Dir(m),
            Ok(m) if std::os::unix::fs::FileTypeExt::is_char_device(&m.file_type()) => {
                return Lookup::Absent
            }
            Ok(_) => return Lookup::NotADir,
            Err(_) if dir.join(format!(".wh.{name}")).exists() => return Lookup::Absent,
            Err(_) => {}
        }
    }
    Lookup::Absent
}

/// mkdir with the mode and owner of `like` (0755 root when None).
fn make_dir_like(path: &Path, like: Option<&std::fs::Metadata>) -> Result<()> {
    std::fs::create_dir(path).ctx(|| format!("creating {}", path.display()))?;
    let (mode, uid, gid) = like.map_or((0o755, 0, 0), |m| (m.mode() & 0o7777, m.uid(), m.gid()));
    std::os::unix::fs::chown(path, Some(uid), Some(gid))
        .and_then(|_| std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)))
        .ctx(|| format!("setting the owner and mode of {}", path.display()))
}

/// BuildKit's hosts file: localhost with the step's host name, and IPv6's.
pub fn hosts_file(hostname: &str) -> String {
    format!("127.0.0.1\tlocalhost {hostname}\n::1\tlocalhost ip6-localhost ip6-loopback\n")
}

/// BuildKit's resolv.conf: the host's as it is for `host`; for the default
/// network the host's without loopback name servers (unreachable from the
/// step's namespace), reading systemd-resolved's upstream list when the
/// host's file names only its local stub. Unlike BuildKit, no public
/// resolver is added when none is left: hoist never picks an address
/// outside the machine on its own.
pub fn resolv_conf(mode: NetworkMode) -> String {
    let host = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    if mode == NetworkMode::Host {
        return host;
    }
    let filtered = without_loopback_servers(&host);
    if has_server(&filtered) || !has_server(&host) {
        return filtered;
    }
    match std::fs::read_to_string("/run/systemd/resolve/resolv.conf") {
        Ok(upstream) => without_loopback_servers(&upstream),
        Err(_) => filtered,
    }
}

fn nameserver(line: &str) -> Option<&str> {
    let rest = line.trim().strip_prefix("nameserver")?;
    rest.starts_with(char::is_whitespace)
        .then(|| rest.split_whitespace().next())
        .flatten()
}

fn has_server(resolv: &str) -> bool {
    resolv.lines().any(|l| nameserver(l).is_some())
}

fn without_loopback_servers(resolv: &str) -> String {
    let mut out = String::new();
    for line in resolv.lines() {
        let loopback = nameserver(line)
            .and_then(|a| a.split('%').next()?.parse::<IpAddr>().ok())
            .is_some_and(|ip| ip.is_loopback());
        if !loopback {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_name_servers_are_left_out_and_the_rest_kept() {
        let host = "# generated\nsearch example.test\nnameserver 127.0.0.53\nnameserver ::1\n\
                    nameserver 10.1.2.3\noptions edns0\n";
        let got = without_loopback_servers(host);
        assert_eq!(
            got,
            "# generated\nsearch example.test\nnameserver 10.1.2.3\noptions edns0\n"
        );
        assert!(has_server(&got));
        assert!(!has_server(&without_loopback_servers(
            "nameserver 127.0.0.53\n"
        )));
        assert_eq!(nameserver("nameservers 1.2.3.4"), None);
    }

    #[test]
    fn hosts_name_localhost_and_the_step() {
        let h = hosts_file("abc123");
        assert!(h.starts_with("127.0.0.1\tlocalhost abc123\n"), "{h}");
        assert!(h.contains("::1\tlocalhost"), "{h}");
    }

    #[test]
    fn mount_points_leave_the_upper_dir_unless_the_step_wrote_into_etc() {
        let tmp = tempfile::tempdir().unwrap();
        let lower = tmp.path().join("lower");
        std::fs::create_dir_all(lower.join("etc")).unwrap();
        std::fs::set_permissions(lower.join("etc"), std::fs::Permissions::from_mode(0o750))
            .unwrap();
        for keep in [false, true] {
            let upper = tmp.path().join(format!("upper-{keep}"));
            std::fs::create_dir(&upper).unwrap();
            let (files, mounts) = EtcFiles::prepare(
                &tmp.path().join(format!("etc-{keep}")),
                &upper,
                std::slice::from_ref(&lower),
                "h",
                NetworkMode::Bridge,
            )
            .unwrap()
            .unwrap();
            assert_eq!(mounts.len(), 2);
            let meta = std::fs::metadata(upper.join("etc")).unwrap();
            assert_eq!(meta.mode() & 0o7777, 0o750);
            assert!(upper.join("etc/resolv.conf").is_file());
            if keep {
                std::fs::write(upper.join("etc/new"), "x").unwrap();
            }
            files.remove();
            assert_eq!(upper.join("etc").exists(), keep);
            assert!(!upper.join("etc/hosts").exists());
            assert!(!upper.join("etc/resolv.conf").exists());
            assert!(!tmp.path().join(format!("etc-{keep}")).exists());
        }
    }

    #[test]
    fn an_image_whose_etc_is_not_a_directory_gets_no_files() {
        let tmp = tempfile::tempdir().unwrap();
        let lower = tmp.path().join("lower");
        std::fs::create_dir(&lower).unwrap();
        std::os::unix::fs::symlink("/elsewhere", lower.join("etc")).unwrap();
        let upper = tmp.path().join("upper");
        std::fs::create_dir(&upper).unwrap();
        let got = EtcFiles::prepare(
            &tmp.path().join("etc"),
            &upper,
            &[lower],
            "h",
            NetworkMode::Bridge,
        )
        .unwrap();
        assert!(got.is_none());
        assert_eq!(std::fs::read_dir(&upper).unwrap().count(), 0);
    }
}

//! Creating a container: the record, spec and state (container::create)
//! plus its probes, whose readiness port must be one the container (or its
//! pod) publishes.

use super::Lifecycle;
use crate::container::config::{parse_publish, RunOptions};
use crate::container::{self, ContainerRecord};
use crate::error::Result;
use crate::probe::Probes;

impl Lifecycle {
    /// Creates a container from `image` (a name or ID in the store) with
    /// `opts`; `probes` are parsed already (`Probes::parse` with no ports),
    /// their ports are checked here. Nothing is left behind on error.
    pub fn create(
        &self,
        image: &str,
        opts: &RunOptions,
        probes: &Probes,
    ) -> Result<ContainerRecord> {
        let root = self.root();
        // A pod that does not exist fails before anything else is looked at.
        let pod_ports = match opts.pod.as_deref() {
            Some(p) => crate::pod::find(root, p)?.container_ports(),
            None => Vec::new(),
        };
        // With -P the published ports are known only once the image's
        // EXPOSE is read: the readiness port is checked after create then.
        if !opts.publish_all {
            let mut published = pod_ports;
            for p in &opts.publish {
                published.extend(parse_publish(p)?.iter().map(|m| m.container_port));
            }
            probes.check_published(&published)?;
        }
        let rec = container::create(root, image, opts)?;
        let finished = (|| {
            if opts.publish_all {
                let published: Vec<u16> = rec.ports.iter().map(|p| p.container_port).collect();
                probes.check_published(&published)?;
            }
            probes.save(&self.dir(&rec))
        })();
        if let Err(e) = finished {
            let _ = container::remove(root, &rec, true);
            return Err(e);
        }
        Ok(rec)
    }
}

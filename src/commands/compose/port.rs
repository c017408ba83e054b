//! `hoist compose port SERVICE PRIVATE_PORT`: where a container port of the service's
//! container number `--index` is published, printed `HOST_IP:HOST_PORT` as docker compose
//! prints it.

use super::{is_oneoff, Session};
use anyhow::{anyhow, bail};
use hoist_compose::desired::LABEL_NUMBER;
use hoist_runtime::container::Status;

pub fn port(
    session: &Session,
    service: &str,
    private_port: u16,
    protocol: &str,
    index: u32,
) -> anyhow::Result<i32> {
    let services = [service.to_string()];
    session.check_services(&services)?;
    let number = index.to_string();
    let (rec, st) = session
        .containers(&services, false)
        .into_iter()
        .find(|(r, _)| r.labels.get(LABEL_NUMBER) == Some(&number) && !is_oneoff(r))
        .ok_or_else(|| anyhow!("service {service:?} has no container number {index}"))?;
    if st.status != Status::Running {
        bail!("container {} is not running", rec.name);
    }
    let found = st
        .ports
        .iter()
        .find(|m| m.container_port == private_port && m.protocol.to_string() == protocol);
    match found {
        Some(m) => {
            println!("{}:{}", m.host_ip, m.host_port);
            Ok(0)
        }
        None => bail!(
            "no port {private_port}/{protocol} for container {}: it is not published (ports: in the service)",
            rec.name
        ),
    }
}

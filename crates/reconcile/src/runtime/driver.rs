//! [`Driver`] over hoist's lifecycle API (containers), network records and volumes.

use super::observe::run_state;
use super::ContainerSpec;
use crate::apply::{Driver, Health, LiveState};
use crate::model::{NetworkSpec, ServiceSpec, VolumeSpec};
use hoist_network::record::CreateOptions;
use hoist_network::NetworkError;
use hoist_runtime::container::{self, state};
use hoist_runtime::lifecycle::{Lifecycle, RemoveOptions, StopOptions};
use hoist_runtime::RuntimeError;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error(transparent)]
    Network(#[from] NetworkError),
}

pub struct RuntimeDriver<'a> {
    pub lifecycle: &'a Lifecycle,
}

impl RuntimeDriver<'_> {
    fn record(&self, id: &str) -> Result<container::ContainerRecord, DriverError> {
        Ok(self.lifecycle.find(id)?)
    }
}

impl Driver<ContainerSpec> for RuntimeDriver<'_> {
    type Error = DriverError;

    fn create_network(&self, net: &NetworkSpec) -> Result<(), DriverError> {
        let opts = CreateOptions {
            internal: net.internal,
            labels: net.labels.clone(),
            ..Default::default()
        };
        hoist_network::record::create(self.lifecycle.root(), &net.name, &opts)?;
        Ok(())
    }

    fn remove_network(&self, name: &str) -> Result<(), DriverError> {
        match hoist_network::attach::remove_network(self.lifecycle.root(), name) {
            Ok(_) | Err(NetworkError::NotFound(_)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    fn create_volume(&self, vol: &VolumeSpec) -> Result<(), DriverError> {
        hoist_runtime::volumes::create_labelled(
            self.lifecycle.root(),
            &vol.name,
            false,
            vol.options.clone(),
            vol.labels.clone(),
        )?;
        Ok(())
    }

    fn remove_volume(&self, name: &str) -> Result<(), DriverError> {
        let root = self.lifecycle.root();
        let in_use = container::volumes_in_use(root).iter().any(|v| v == name);
        hoist_runtime::volumes::remove(root, name, in_use)?;
        Ok(())
    }

    fn create(
        &self,
        svc: &ServiceSpec<ContainerSpec>,
        number: u32,
        name: &str,
    ) -> Result<String, DriverError> {
        let spec = &svc.spec;
        let mut opts = spec.options.clone();
        opts.name = Some(name.to_string());
        if let Some(key) = &spec.number_label {
            opts.labels.insert(key.clone(), number.to_string());
        }
        let mut rec = self.lifecycle.create(&spec.image, &opts, &spec.probes)?;
        if spec.stop_signal.is_some() && rec.stop_signal != spec.stop_signal {
            // RunOptions has no stop signal yet: the record (read by the monitor at stop
            // time) is written again before anything runs.
            rec.stop_signal = spec.stop_signal.clone();
            if let Err(e) = container::save(self.lifecycle.root(), &rec) {
                let _ = self.lifecycle.remove(&rec, RemoveOptions::default());
                return Err(e.into());
            }
        }
        Ok(rec.id)
    }

    fn start(&self, id: &str) -> Result<(), DriverError> {
        let rec = self.record(id)?;
        self.lifecycle.start(&rec)?;
        Ok(())
    }

    fn stop(&self, id: &str, timeout: u64) -> Result<(), DriverError> {
        let rec = self.record(id)?;
        let opts = StopOptions {
            timeout: Duration::from_secs(timeout),
            signal: None,
        };
        self.lifecycle.stop(&rec, opts)?;
        Ok(())
    }

    fn remove(&self, id: &str) -> Result<(), DriverError> {
        let rec = self.record(id)?;
        let opts = RemoveOptions {
            force: true,
            volumes: true,
        };
        self.lifecycle.remove(&rec, opts)?;
        Ok(())
    }

    fn state(&self, id: &str) -> Result<LiveState, DriverError> {
        let rec = self.record(id)?;
        let st = state::read_live(&container::container_dir(self.lifecycle.root(), &rec.id));
        let health = match (&rec.healthcheck, &st.health) {
            (None, _) => None,
            (Some(_), h) => Some(match h.as_ref().map(|h| h.status.as_str()) {
                Some("healthy") => Health::Healthy,
                Some("unhealthy") => Health::Unhealthy,
                _ => Health::Starting,
            }),
        };
        Ok(LiveState {
            state: run_state(&st),
            health,
            ready: st.ready,
            exit_code: st.exit_code,
        })
    }
}

//! One desired-state reconciler for every declarative front-end (compose today, kube next;
//! DESIGN.md "Wave 2"). A front-end turns its files into a [`Desired`] state (services with a
//! config hash, a replica count and dependencies; networks; volumes) and reads what exists
//! into an [`Observed`] state (containers found by their labels). [`plan`] compares the two
//! into ordered steps; it is pure and unit-tested without root. [`apply`] carries a plan out
//! through a [`Driver`], the only part that touches containers: the front-end passes one
//! over the runtime's lifecycle API.

pub mod apply;
pub mod model;
pub mod order;
pub mod plan;
pub mod runtime;
pub mod waves;

pub use apply::{
    apply_down, apply_start, apply_stop, apply_up, ApplyError, Driver, Event, EventKind, Failure,
    Health, LiveState,
};
pub use model::{
    Condition, Dependency, Desired, NetworkSpec, Observed, ObservedContainer, RunState,
    ServiceSpec, VolumeSpec,
};
pub use order::{order, OrderError};
pub use plan::{
    container_name, plan_down, plan_start, plan_stop, plan_up, Action, DownOptions, DownPlan, Plan,
    PlanError, Recreate, ServicePlan, UpOptions,
};
pub use waves::Waves;

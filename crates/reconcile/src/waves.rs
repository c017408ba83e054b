//! Which steps of a plan may run at the same time. A plan is ordered (dependencies first for
//! `up`, dependents first for `down`), but only the dependency edges matter: services that do
//! not depend on each other are created and started concurrently, and containers whose
//! dependents are gone are stopped concurrently, as docker compose does. [`Waves`] is the
//! graph (item `i` may begin once every item in `after[i]` is done) and the question the
//! executor asks as items finish: which may begin now ([`Waves::ready`]). Pure, like the
//! planner.

use crate::model::{Desired, ObservedContainer};
use crate::plan::ServicePlan;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waves {
    /// For each item, the items that must be done before it begins.
    after: Vec<Vec<usize>>,
}

impl Waves {
    /// `after[i]`: the items item `i` waits for; each index must be below `after.len()`.
    pub fn new(after: Vec<Vec<usize>>) -> Waves {
        Waves { after }
    }

    /// `up`/`start`: a service begins once the services it depends on that are in the plan
    /// are done (their containers created and started); it still waits for their conditions
    /// (healthy, completed) itself. Dependencies outside the plan impose no order.
    pub fn for_services(services: &[ServicePlan]) -> Waves {
        let after = services
            .iter()
            .map(|sp| {
                sp.wait_for
                    .iter()
                    .filter_map(|d| services.iter().position(|o| o.service == d.service))
                    .collect()
            })
            .collect();
        Waves { after }
    }

    /// `down`/`stop`: a container is stopped once every container in `containers` of the
    /// services that depend on its service is done. Containers of services the files do not
    /// declare (orphans, inactive profiles) have no known dependents and go at once.
    pub fn for_containers<S>(desired: &Desired<S>, containers: &[ObservedContainer]) -> Waves {
        let depends = |dependent: &str, on: &str| {
            desired
                .service(dependent)
                .is_some_and(|s| s.depends_on.iter().any(|d| d.service == on))
        };
        let after = containers
            .iter()
            .map(|c| {
                containers
                    .iter()
                    .enumerate()
                    .filter(|(_, o)| depends(&o.service, &c.service))
                    .map(|(j, _)| j)
                    .collect()
            })
            .collect();
        Waves { after }
    }

    pub fn len(&self) -> usize {
        self.after.len()
    }

    pub fn is_empty(&self) -> bool {
        self.after.is_empty()
    }

    /// The items not yet begun whose predecessors are all done, in index order (the plan's
    /// order, so output stays close to the sequential one).
    pub fn ready(&self, begun: &[bool], done: &[bool]) -> Vec<usize> {
        (0..self.after.len())
            .filter(|&i| !begun[i] && self.after[i].iter().all(|&j| done[j]))
            .collect()
    }

    /// The items grouped as they would run if every item took the same time: each wave
    /// begins when the previous one is done. What `ready` yields step by step; for tests and
    /// for reasoning about a plan's critical path. Items on a cycle (never ready) are left
    /// out.
    pub fn waves(&self) -> Vec<Vec<usize>> {
        let n = self.after.len();
        let (mut begun, mut done) = (vec![false; n], vec![false; n]);
        let mut out = Vec::new();
        loop {
            let wave = self.ready(&begun, &done);
            if wave.is_empty() {
                return out;
            }
            for &i in &wave {
                begun[i] = true;
                done[i] = true;
            }
            out.push(wave);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Condition, Dependency, RunState, ServiceSpec};
    use crate::plan::Action;

    fn dep(service: &str) -> Dependency {
        Dependency {
            service: service.into(),
            condition: Condition::Healthy,
            restart: false,
            required: true,
        }
    }

    fn plan(service: &str, deps: &[&str]) -> ServicePlan {
        ServicePlan {
            service: service.into(),
            wait_for: deps.iter().map(|d| dep(d)).collect(),
            actions: vec![Action::Create {
                number: 1,
                name: format!("p-{service}-1"),
            }],
        }
    }

    fn spec(name: &str, deps: &[&str]) -> ServiceSpec<()> {
        ServiceSpec {
            name: name.into(),
            replicas: 1,
            config_hash: String::new(),
            depends_on: deps.iter().map(|d| dep(d)).collect(),
            container_name: None,
            stop_timeout: 10,
            spec: (),
        }
    }

    fn container(service: &str, n: u32) -> ObservedContainer {
        ObservedContainer {
            id: format!("{service}{n}"),
            name: format!("p-{service}-{n}"),
            service: service.into(),
            number: n,
            config_hash: String::new(),
            state: RunState::Running,
            oneoff: false,
        }
    }

    #[test]
    fn independent_services_start_together_after_their_common_dependency() {
        // The benchmark's shape: db, then nine services waiting for it.
        let mut services = vec![plan("db", &[])];
        for i in 1..=9 {
            services.push(plan(&format!("s{i}"), &["db"]));
        }
        let w = Waves::for_services(&services);
        assert_eq!(w.waves(), vec![vec![0], (1..=9).collect::<Vec<_>>()]);
    }

    #[test]
    fn a_chain_stays_sequential_and_a_diamond_joins() {
        // db <- api <- web, cache alone; front waits for both api and cache.
        let services = vec![
            plan("cache", &[]),
            plan("db", &[]),
            plan("api", &["db"]),
            plan("front", &["api", "cache"]),
        ];
        let w = Waves::for_services(&services);
        assert_eq!(w.waves(), vec![vec![0, 1], vec![2], vec![3]]);
    }

    #[test]
    fn ready_follows_what_is_done_not_what_has_begun() {
        let services = vec![plan("db", &[]), plan("api", &["db"]), plan("x", &[])];
        let w = Waves::for_services(&services);
        assert_eq!(w.ready(&[false; 3], &[false; 3]), vec![0, 2]);
        // db begun but not done: api must still wait.
        assert_eq!(
            w.ready(&[true, false, true], &[false, false, false]),
            Vec::<usize>::new()
        );
        assert_eq!(
            w.ready(&[true, false, true], &[true, false, false]),
            vec![1]
        );
        // Nothing is handed out twice.
        assert_eq!(
            w.ready(&[true, true, true], &[true, false, false]),
            Vec::<usize>::new()
        );
    }

    #[test]
    fn a_dependency_outside_the_plan_imposes_no_order() {
        // `start web` alone: api is not in the plan.
        let w = Waves::for_services(&[plan("web", &["api"])]);
        assert_eq!(w.waves(), vec![vec![0]]);
    }

    #[test]
    fn down_stops_dependents_first_and_replicas_and_orphans_together() {
        let desired = Desired {
            project: "p".into(),
            services: vec![spec("db", &[]), spec("api", &["db"]), spec("web", &["api"])],
            inactive: vec![],
            networks: vec![],
            volumes: vec![],
        };
        // As plan_down orders them: an orphan, then dependents first, highest number first.
        let containers = vec![
            container("gone", 1),
            container("web", 2),
            container("web", 1),
            container("api", 1),
            container("db", 1),
        ];
        let w = Waves::for_containers(&desired, &containers);
        assert_eq!(w.waves(), vec![vec![0, 1, 2], vec![3], vec![4]]);
        // api waits for both web replicas.
        assert_eq!(
            w.ready(
                &[true, true, true, false, false],
                &[true, true, false, false, false]
            ),
            Vec::<usize>::new()
        );
    }

    #[test]
    fn a_cycle_never_becomes_ready() {
        let w = Waves::new(vec![vec![1], vec![0], vec![]]);
        assert_eq!(w.waves(), vec![vec![2]]);
    }
}

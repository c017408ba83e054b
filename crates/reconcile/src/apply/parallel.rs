//! Running a plan's items concurrently along its [`Waves`]: each item whose predecessors are
//! done gets a thread (std::thread::scope), up to [`MAX_PARALLEL`] at once. Only this thread
//! touches the caller's callback and event list: workers send their events over a channel,
//! so the progress lines come out whole, interleaved across items as docker compose's do.
//! After the first failure nothing new begins; what runs is let finish (its events are
//! kept), then the first error is returned.

use super::{ApplyError, Event, EventKind, Log};
use crate::waves::Waves;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{channel, Sender};

/// At most this many items run at once (docker compose has no limit by default; a project of
/// hundreds of services should not make hundreds of threads that mostly wait).
pub const MAX_PARALLEL: usize = 32;

enum Msg<T, E: std::error::Error + 'static> {
    Event(Event),
    Done(usize, Result<T, ApplyError<E>>),
}

/// A worker's side of the event log.
pub(crate) struct Reporter<T, E: std::error::Error + 'static> {
    tx: Sender<Msg<T, E>>,
}

impl<T, E: std::error::Error + 'static> Reporter<T, E> {
    pub fn push(&self, kind: EventKind, name: &str, id: Option<&str>) {
        let e = Event {
            kind,
            name: name.to_string(),
            id: id.map(String::from),
        };
        // The receiver lives until every worker is done.
        let _ = self.tx.send(Msg::Event(e));
    }
}

/// Runs item `i` as `work(i, prepare(i, results so far), reporter)` once `waves` says it may
/// begin. `prepare` runs on this thread when the item begins and sees the results of the
/// items done by then (a service's dependencies' containers). Returns every item's result
/// (None for items never begun after a failure).
pub(crate) fn run<I, T, E>(
    waves: &Waves,
    log: &mut Log,
    mut prepare: impl FnMut(usize, &[Option<T>]) -> I,
    work: impl Fn(usize, I, &Reporter<T, E>) -> Result<T, ApplyError<E>> + Sync,
) -> Result<Vec<Option<T>>, ApplyError<E>>
where
    I: Send,
    T: Send,
    E: std::error::Error + Send + 'static,
{
    let n = waves.len();
    let mut begun = vec![false; n];
    let mut done = vec![false; n];
    let mut results: Vec<Option<T>> = (0..n).map(|_| None).collect();
    let mut first_error = None;
    let work = &work;
    std::thread::scope(|scope| {
        let (tx, rx) = channel::<Msg<T, E>>();
        let mut running = 0;
        loop {
            if first_error.is_none() {
                for i in waves.ready(&begun, &done) {
                    if running >= MAX_PARALLEL {
                        break;
                    }
                    begun[i] = true;
                    running += 1;
                    let input = prepare(i, &results);
                    let tx = tx.clone();
                    scope.spawn(move || {
                        let reporter = Reporter { tx: tx.clone() };
                        let r = catch_unwind(AssertUnwindSafe(|| work(i, input, &reporter)))
                            .unwrap_or_else(|_| {
                                Err(ApplyError::Dependency(
                                    "internal error: a worker of the apply panicked".into(),
                                ))
                            });
                        let _ = tx.send(Msg::Done(i, r));
                    });
                }
            }
            if running == 0 {
                // Everything done, or nothing more may begin after a failure.
                break;
            }
            match rx.recv().expect("this thread holds a sender") {
                Msg::Event(e) => log.push_event(e),
                Msg::Done(i, r) => {
                    running -= 1;
                    done[i] = true;
                    match r {
                        Ok(t) => results[i] = Some(t),
                        Err(e) => {
                            first_error.get_or_insert(e);
                        }
                    }
                }
            }
        }
        // Events sent just before their worker's Done are already received (one channel,
        // in order); nothing is left.
    });
    match first_error {
        Some(e) => Err(e),
        None => Ok(results),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Barrier};

    #[derive(Debug, thiserror::Error)]
    #[error("boom")]
    struct Boom;

    fn log_into(events: &mut Vec<Event>) -> impl FnMut(&Event) + '_ {
        |e| events.push(e.clone())
    }

    #[test]
    fn independent_items_run_at_the_same_time() {
        // Three items with no edges: each waits at a barrier for the other two, which only
        // returns if all three run concurrently.
        let waves = Waves::new(vec![vec![], vec![], vec![]]);
        let barrier = Arc::new(Barrier::new(3));
        let mut seen = Vec::new();
        let mut notify = log_into(&mut seen);
        let mut log = Log {
            events: Vec::new(),
            notify: &mut notify,
        };
        let got = run(
            &waves,
            &mut log,
            |_, _: &[Option<usize>]| (),
            |i, (), r: &Reporter<usize, Boom>| {
                barrier.wait();
                r.push(EventKind::Started, &format!("c{i}"), None);
                Ok(i * 10)
            },
        )
        .unwrap();
        assert_eq!(got, vec![Some(0), Some(10), Some(20)]);
        assert_eq!(log.events.len(), 3);
    }

    #[test]
    fn an_item_sees_its_predecessors_results_and_a_failure_stops_what_follows() {
        // 0 -> 1 -> 2; 1 fails, so 2 never begins; 0's result reaches 1's input.
        let waves = Waves::new(vec![vec![], vec![0], vec![1]]);
        let mut notify = |_: &Event| {};
        let mut log = Log {
            events: Vec::new(),
            notify: &mut notify,
        };
        let mut inputs = Vec::new();
        let r = run(
            &waves,
            &mut log,
            |i, done: &[Option<u32>]| {
                inputs.push((i, done.to_vec()));
                i
            },
            |i, _, rep: &Reporter<u32, Boom>| {
                rep.push(EventKind::Created, &format!("c{i}"), None);
                if i == 1 {
                    return Err(ApplyError::Driver {
                        what: "creating c1".into(),
                        source: Boom,
                    });
                }
                Ok(7)
            },
        );
        assert_eq!(r.unwrap_err().to_string(), "creating c1: boom");
        assert_eq!(
            inputs,
            vec![(0, vec![None, None, None]), (1, vec![Some(7), None, None])]
        );
        let names: Vec<_> = log.events.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["c0", "c1"]);
    }
}

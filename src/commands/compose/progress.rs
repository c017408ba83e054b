//! What compose verbs print while they work, on stderr as docker compose does
//! (` Container shop-web-1  Started`), and how a failed apply is reported: the error, and
//! what was created or started before it (left as it is, labelled: `down` removes it).

use hoist_reconcile::{Event, EventKind, Failure};

/// Prints one event line.
pub fn print(e: &Event) {
    eprintln!(" {e}");
}

/// The containers a failed apply created or started, for the error message.
pub fn left_behind(done: &[Event]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for e in done {
        let made = matches!(
            e.kind,
            EventKind::Created | EventKind::Recreated | EventKind::Started | EventKind::Restarted
        );
        if made && !names.contains(&e.name) {
            names.push(e.name.clone());
        }
    }
    names
}

/// The error of a failed apply, naming what it did before failing.
pub fn failed<E: std::error::Error + Send + Sync + 'static>(f: Failure<E>) -> anyhow::Error {
    let made = left_behind(&f.done);
    if made.is_empty() {
        return anyhow::anyhow!("{}", f.error);
    }
    anyhow::anyhow!(
        "{}; before it, {} created or started and left as they are (`hoist compose down` removes them)",
        f.error,
        made.join(", ")
    )
}

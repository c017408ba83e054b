//! `hoist system check [--repair]`: one line per problem found (and what
//! was done about it), a summary, and the images that need a new pull.
//! Exits 1 when problems are found without --repair, or when a repair could
//! not fix everything.

use super::display_name;
use hoist_oci::Digest;
use hoist_store::{CheckOptions, Problem, ProblemKind, Repair, Store};

pub fn run(store: &Store, repair: bool) -> anyhow::Result<i32> {
    let in_use: Vec<Digest> = hoist_runtime::live_image_digests(store.root())
        .iter()
        .filter_map(|d| d.parse().ok())
        .collect();
    let report = store.check(&CheckOptions { repair, in_use })?;
    for p in &report.problems {
        println!("{}", problem_line(p));
    }
    let count = report.problems.len();
    let mut summary = format!(
        "Checked {} blobs and {} snapshots: {}",
        report.blobs_checked,
        report.snapshots_checked,
        match count {
            0 => "no problems".to_string(),
            1 => "1 problem".to_string(),
            n => format!("{n} problems"),
        }
    );
    if report.snapshots_not_verified > 0 {
        summary.push_str(&format!(
            " ({} snapshots no image uses were not verified; `hoist system prune` removes them)",
            report.snapshots_not_verified
        ));
    }
    println!("{summary}");
    if !report.needs_pull.is_empty() {
        let names: Vec<String> = report.needs_pull.iter().map(|n| image_name(n)).collect();
        println!("Needs a new pull (or build/import): {}", names.join(", "));
    }
    if count > 0 && !repair {
        println!("Run `hoist system check --repair` to repair.");
        return Ok(1);
    }
    Ok(if report.all_repaired() { 0 } else { 1 })
}

fn problem_line(p: &Problem) -> String {
    let what = match &p.kind {
        ProblemKind::CorruptIndex { path, reason } => {
            format!("{}: corrupt ({reason})", path.display())
        }
        ProblemKind::CorruptBlob {
            digest,
            reason,
            images,
        } => format!("blob {digest}: corrupt, {reason}{}", used_by(images)),
        ProblemKind::MissingBlob {
            digest,
            role,
            images,
        } => format!("{role} {digest}: missing{}", used_by(images)),
        ProblemKind::CorruptSnapshot {
            path,
            differences,
            images,
        } => format!(
            "snapshot {}: differs from its layer ({}){}",
            path.display(),
            differences.join("; "),
            used_by(images)
        ),
    };
    match &p.repair {
        Repair::NotAsked => what,
        Repair::Done(how) => format!("{what}: {how}"),
        Repair::NotPossible(todo) => format!("{what}: not repaired: {todo}"),
        Repair::Failed(why) => format!("{what}: repair failed: {why}"),
    }
}

fn used_by(images: &[String]) -> String {
    if images.is_empty() {
        return "; no image uses it".into();
    }
    let names: Vec<String> = images.iter().map(|n| image_name(n)).collect();
    format!("; used by {}", names.join(", "))
}

/// Familiar names for named images; digests (unnamed container images) as they are.
fn image_name(n: &str) -> String {
    if n.parse::<Digest>().is_ok() {
        n.to_string()
    } else {
        display_name(n)
    }
}

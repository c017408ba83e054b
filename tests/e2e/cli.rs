//! End-to-end tests of docker's command line: the management groups beside the shortcuts,
//! usage errors as docker prints them, `--format` templates and `--filter`s, `run --pull`
//! from a local registry, and a cross-check of shapes against a real dockerd.

#[path = "cli/docker.rs"]
mod docker;
#[path = "cli/docker_diff.rs"]
mod docker_diff;
#[path = "cli/formats.rs"]
mod formats;
#[path = "cli/groups.rs"]
mod groups;
#[path = "cli/pull.rs"]
mod pull;
#[path = "cli/verbs_attach.rs"]
mod verbs_attach;
#[path = "cli/verbs_cp.rs"]
mod verbs_cp;
#[path = "cli/verbs_diff_commit.rs"]
mod verbs_diff_commit;
#[path = "cli/verbs_logopt.rs"]
mod verbs_logopt;
#[path = "cli/verbs_pause.rs"]
mod verbs_pause;
#[path = "cli/verbs_rename.rs"]
mod verbs_rename;
#[path = "cli/verbs_runflags.rs"]
mod verbs_runflags;
#[path = "cli/verbs_stats.rs"]
mod verbs_stats;
#[path = "cli/verbs_update.rs"]
mod verbs_update;

use std::process::Output;

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

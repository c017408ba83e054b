//! Which fields of the value a template reads: a list verb then builds only those
//! (`ps --format '{{.Names}}'` needs no timestamps parsed, no pod looked up).
//!
//! Conservative by construction: every `.A…` chain's first name is collected wherever it
//! appears (inside `range`/`with` it may name a field of something else, which only adds a
//! field), and any use of the whole value (`.` or `$` alone, e.g. `{{json .}}` or
//! `{{$x := .}}`) means every field.

use super::parse::{Arg, Node, Pipeline};
use std::collections::BTreeSet;

/// The top-level field names the template may read; None when it may read the whole value.
pub fn root_fields(nodes: &[Node]) -> Option<BTreeSet<String>> {
    let mut names = BTreeSet::new();
    nodes_into(nodes, &mut names).then_some(names)
}

/// false: the whole value is used.
fn nodes_into(nodes: &[Node], names: &mut BTreeSet<String>) -> bool {
    nodes.iter().all(|n| match n {
        Node::Text(_) => true,
        Node::Output(p) => pipeline_into(p, names),
        Node::If(p, a, b) | Node::Range(p, a, b) | Node::With(p, a, b) => {
            pipeline_into(p, names) && nodes_into(a, names) && nodes_into(b, names)
        }
    })
}

fn pipeline_into(p: &Pipeline, names: &mut BTreeSet<String>) -> bool {
    p.commands
        .iter()
        .flat_map(|c| &c.args)
        .all(|a| arg_into(a, names))
}

fn arg_into(a: &Arg, names: &mut BTreeSet<String>) -> bool {
    let chain = match a {
        Arg::Field(chain) => chain,
        Arg::Var(name, chain) if name == "$" => chain,
        Arg::Sub(p, _) => return pipeline_into(p, names),
        // Other variables hold what a pipeline gave them, and that pipeline was collected.
        _ => return true,
    };
    match chain.first() {
        Some(first) => {
            names.insert(first.clone());
            true
        }
        None => false,
    }
}

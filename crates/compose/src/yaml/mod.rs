//! YAML in and out: `load` builds a positioned tree from saphyr-parser's events (anchors,
//! aliases and merge keys resolved here), `emit` writes a tree back deterministically.

mod emit;
mod load;
mod node;

pub use emit::emit;
pub use load::load;
pub use node::{Node, Pos, Value};

//! The local content store (being written).
pub mod layer;

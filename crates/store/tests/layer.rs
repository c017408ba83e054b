//! Layer pack/unpack tests: round trips, determinism, overlay whiteouts and
//! hostile tars generated here (never committed blobs).
mod layer {
    pub mod hostile;
    pub mod overlay;
    pub mod rawtar;
    pub mod roundtrip;
    pub mod tree;
}

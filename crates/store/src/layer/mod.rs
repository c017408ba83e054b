//! Layer pack and unpack (being written).

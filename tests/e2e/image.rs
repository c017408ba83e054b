//! End-to-end tests: image.

//! End-to-end tests: registry.

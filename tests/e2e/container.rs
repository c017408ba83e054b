//! End-to-end tests: container.

//! End-to-end tests: build.

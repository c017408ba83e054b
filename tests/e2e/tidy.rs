//! End-to-end tests: tidy.

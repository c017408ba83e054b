#!/usr/bin/env bash
# The test command: every unit and end-to-end test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --no-fail-fast -- --test-threads=2

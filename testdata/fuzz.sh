#!/usr/bin/env bash
# Fuzzing by hand with nightly and cargo-fuzz (CI fuzzes with the stable
# toolchain instead: testdata/fuzz-ci.sh): builds every cargo-fuzz target in
# fuzz/ and runs each for FUZZ_SECONDS (default 30) from its checked-in
# corpus, FUZZ_JOBS (default 2) at a time (1 on a shared machine). Use this
# for long runs and AddressSanitizer. New inputs go to a temp dir, so the checked-in corpus is never
# changed; a crash, a panic or an input taking over 10 s fails the stage and
# names the input to turn into a regression test (see ARCHITECTURE.md, Fuzzing).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${FUZZ_SECONDS:-30}
jobs=${FUZZ_JOBS:-2}
# CI builds without AddressSanitizer (FUZZ_SANITIZER=none): the targets are
# safe Rust, panics and hangs are still caught, and the build is the stage's
# main cost. Long local runs use FUZZ_SANITIZER=address.
sanitizer=${FUZZ_SANITIZER:-none}

if ! rustup toolchain list | grep -q '^nightly'; then
    rustup toolchain install nightly --profile minimal
fi
if ! command -v cargo-fuzz >/dev/null; then
    cargo install --locked cargo-fuzz
fi

started=$(date +%s)
cargo +nightly fuzz build --sanitizer "$sanitizer"
echo "fuzz: built every target in $(($(date +%s) - started)) s"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
run_one() {
    local target=$1 seconds=$2 scratch=$3 sanitizer=$4
    mkdir -p "$scratch/$target" "corpus/$target"
    if cargo +nightly fuzz run --sanitizer "$sanitizer" "$target" "$scratch/$target" "corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        >"$scratch/$target.log" 2>&1; then
        echo "fuzz: $target: $(grep -o 'Done [0-9]* runs in [0-9]* second(s)' "$scratch/$target.log")"
    else
        tail -n 40 "$scratch/$target.log"
        echo "fuzz: $target FAILED; the input is under fuzz/artifacts/$target/" >&2
        return 1
    fi
}
export -f run_one
cargo +nightly fuzz list | xargs -P "$jobs" -I{} bash -c 'run_one "$@"' _ {} "$seconds" "$scratch" "$sanitizer"
echo "fuzz: whole stage $(($(date +%s) - started)) s"

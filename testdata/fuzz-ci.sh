#!/usr/bin/env bash
# CI's fuzz stage: every libFuzzer target in fuzz/ for FUZZ_SECONDS (30) from
# its checked-in corpus, FUZZ_JOBS (2) at a time, with the STABLE toolchain
# (no nightly, no cargo-fuzz): `cargo build` of the fuzz workspace with
# testdata/fuzz-rustc.sh as RUSTC_WRAPPER, which adds the coverage flags
# cargo-fuzz passes (sancov 8-bit counters, pc table, compare tracing,
# --cfg fuzzing) to hoist's crates only, no sanitizer (the parsers are safe
# Rust; panics, overflows (debug assertions) and hangs are what is caught).
# Built in the tests' target dir with the dev profile: the dependencies are
# the artifacts `cargo test` already made (fuzz/Cargo.toml mirrors the
# workspace's dev profile for them), only hoist's crates are compiled again,
# instrumented (their own profile keeps them apart from the test build's).
# New inputs go to a temp dir; a crash, a panic or an input over 10 s fails
# the stage and prints the input. Long local runs: testdata/fuzz.sh (nightly,
# cargo-fuzz, AddressSanitizer optional).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
seconds=${FUZZ_SECONDS:-30}
jobs=${FUZZ_JOBS:-2}
target_dir=${CARGO_TARGET_DIR:-$repo/target}

started=$(date +%s)
CARGO_INCREMENTAL=0 RUSTC_WRAPPER="$repo/testdata/fuzz-rustc.sh" \
    cargo build --manifest-path fuzz/Cargo.toml --target-dir "$target_dir" --bins
echo "fuzz: built every target in $(($(date +%s) - started)) s"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
run_one() {
    local target=$1 bin=$2
    local dir=$FUZZ_SCRATCH/$target
    mkdir -p "$dir/new" "$dir/crash"
    # libFuzzer runs from fuzz/ (a target may read paths relative to it).
    if (cd fuzz && "$bin" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$dir/crash/" "$dir/new" "corpus/$target") \
        >"$dir/log" 2>&1; then
        # The first and last coverage lines show the instrumentation steering.
        echo "fuzz: $target: $(grep -m1 -o 'INITED cov: [0-9]* ft: [0-9]*' "$dir/log") ->" \
            "$(grep -o 'cov: [0-9]* ft: [0-9]*' "$dir/log" | tail -1)," \
            "$(grep -o 'Done [0-9]* runs in [0-9]* second(s)' "$dir/log")"
    else
        # One write, so two failing targets' reports do not interleave.
        {
            tail -n 40 "$dir/log"
            for f in "$dir"/crash/*; do
                [ -e "$f" ] || continue
                echo "fuzz: $target: input $(basename "$f") ($(stat -c %s "$f") bytes), base64:"
                head -c 4096 "$f" | base64
            done
            echo "fuzz: $target FAILED: keep the input above in fuzz/corpus/$target/ and add a regression test (ARCHITECTURE.md, Fuzzing)"
        } >"$dir/report"
        cat "$dir/report" >&2
        return 1
    fi
}
export -f run_one
export FUZZ_SECONDS=$seconds FUZZ_SCRATCH=$scratch
# The [[bin]] names of fuzz/Cargo.toml, each with its binary.
targets=$(sed -n 's/^name = "\(.*\)"$/\1/p' fuzz/Cargo.toml | grep -v '^hoist-fuzz$')
for t in $targets; do
    echo "$t $target_dir/debug/$t"
done | xargs -P "$jobs" -n 2 bash -c 'run_one "$1" "$2"' _ ||
    { echo "fuzz: a target failed (above)" >&2; exit 1; }
echo "fuzz: whole stage $(($(date +%s) - started)) s"

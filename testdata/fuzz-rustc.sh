#!/bin/sh
# RUSTC_WRAPPER for testdata/fuzz-ci.sh: adds libFuzzer's coverage
# instrumentation (the stable codegen flags cargo-fuzz passes, without a
# sanitizer) to hoist's own crates and the fuzz targets only. Dependencies
# compile plain, so they are the same artifacts the test build made and are
# not compiled again; the fuzzer steers by the coverage of our parsers.
# Cargo sets CARGO_PKG_NAME for every rustc it runs; "$1" is rustc itself.
rustc=$1
shift
case "$CARGO_PKG_NAME" in
hoist-*)
    exec "$rustc" "$@" \
        -Cpasses=sancov-module \
        -Cllvm-args=-sanitizer-coverage-level=4 \
        -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
        -Cllvm-args=-sanitizer-coverage-pc-table \
        -Cllvm-args=-sanitizer-coverage-trace-compares \
        -Cllvm-args=-sanitizer-coverage-stack-depth \
        --cfg fuzzing
    ;;
esac
exec "$rustc" "$@"

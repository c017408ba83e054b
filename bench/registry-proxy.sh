#!/usr/bin/env bash
# Pull-through cache: hoist's `[proxy]` vs CNCF distribution 2.8's proxy mode
# (Debian's docker-registry, `proxy.remoteurl`), both in front of the same
# upstream (another docker-registry) on loopback, over fresh temp storage.
# One image with one uncompressed 512 MiB layer of random bytes (SIZE_MIB);
# per run and per mirror: a cold pull (empty mirror storage) and a warm pull
# (the same again), each `skopeo copy docker://mirror/... oci:DIR` into an
# emptied directory. Also a direct pull from a plain `hoist registry serve`
# holding the image, the yardstick for "warm equals direct".
# Prints medians (min-max) of MiB/s over RUNS runs and hoist/distribution.
#
# usage: bench/registry-proxy.sh     (builds target/release/hoist if missing)
# env:   HOIST=path/to/hoist RUNS=3 SIZE_MIB=512 BENCH_DIR=/var/tmp
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
SIZE_MIB=${SIZE_MIB:-512}
HOIST=${HOIST:-target/release/hoist}
for tool in docker-registry skopeo python3 sha256sum; do
    command -v "$tool" >/dev/null || { echo "bench/registry-proxy.sh: $tool is missing (apt-get install -y docker-registry skopeo)" >&2; exit 1; }
done
[ -x "$HOIST" ] || cargo build --release --bin hoist
HOIST=$(realpath "$HOIST")
WORK=$(mktemp -d "${BENCH_DIR:-/var/tmp}/hoist-bench-proxy.XXXXXX")
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 600); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 never opened" >&2; exit 1; }
now() { date +%s.%N; }

# distribution on $1 (port) over $2 (dir), optionally proxying $3 (upstream URL).
start_distribution() {
    local port=$1 dir=$2 remote=${3:-}
    mkdir -p "$dir/data"
    {
        printf 'version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n'
        printf 'storage:\n  filesystem:\n    rootdirectory: %s\n' "$dir/data"
        printf 'http:\n  addr: 127.0.0.1:%s\n' "$port"
        [ -n "$remote" ] && printf 'proxy:\n  remoteurl: %s\n' "$remote"
    } >"$dir/config.yml"
    docker-registry serve "$dir/config.yml" >"$dir/log" 2>&1 &
    PIDS+=($!); LAST_PID=$!
    wait_port "$port"
}
# hoist's registry on $1 over $2, optionally proxying $3.
start_hoist() {
    local port=$1 dir=$2 remote=${3:-}
    mkdir -p "$dir"
    : >"$dir/config.toml"
    [ -n "$remote" ] && printf '[proxy]\nurl = "%s"\n' "$remote" >"$dir/config.toml"
    HOIST_LOG=warn "$HOIST" --root "$dir/hoist" registry serve --config "$dir/config.toml" \
        --addr "127.0.0.1:$port" --storage-root "$dir/registry" >"$dir/log" 2>&1 &
    PIDS+=($!); LAST_PID=$!
    wait_port "$port"
}
stop() { kill "$1"; wait "$1" 2>/dev/null || true; }

# The image as an OCI layout: one tar layer of random bytes.
SRC=$WORK/src; mkdir -p "$SRC/blobs/sha256" "$WORK/layer"
echo "making a $SIZE_MIB MiB layer ..."
head -c "$((SIZE_MIB << 20))" /dev/urandom >"$WORK/layer/data.bin"
tar -C "$WORK/layer" -cf "$WORK/layer.tar" data.bin
put_blob() { local d; d=$(sha256sum "$1" | cut -d' ' -f1); mv "$1" "$SRC/blobs/sha256/$d"; echo "$d"; }
size_of() { stat -c %s "$SRC/blobs/sha256/$1"; }
LAYER=$(put_blob "$WORK/layer.tar")
printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' "$LAYER" >"$WORK/config.json"
CONFIG=$(put_blob "$WORK/config.json")
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
    "$CONFIG" "$(size_of "$CONFIG")" "$LAYER" "$(size_of "$LAYER")" >"$WORK/manifest.json"
MSIZE=$(stat -c %s "$WORK/manifest.json")
MANIFEST=$(put_blob "$WORK/manifest.json")
printf '{"imageLayoutVersion":"1.0.0"}' >"$SRC/oci-layout"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"v1"}}]}' \
    "$MANIFEST" "$MSIZE" >"$SRC/index.json"
rm -rf "$WORK/layer"

# The upstream, and a plain hoist registry with the image for direct pulls.
UP_PORT=$(free_port); start_distribution "$UP_PORT" "$WORK/upstream"
DIRECT_PORT=$(free_port); start_hoist "$DIRECT_PORT" "$WORK/direct"
for port in "$UP_PORT" "$DIRECT_PORT"; do
    skopeo --insecure-policy copy -q --dest-tls-verify=false "oci:$SRC:v1" "docker://127.0.0.1:$port/bench/big:v1"
done

# One timed pull from 127.0.0.1:$1; prints MiB/s.
pull() {
    rm -rf "$WORK/out"
    local t0 t1; t0=$(now)
    skopeo --insecure-policy copy -q --src-tls-verify=false "docker://127.0.0.1:$1/bench/big:v1" "oci:$WORK/out:v1"
    t1=$(now)
    python3 -c "print(f'{$SIZE_MIB/($t1-$t0):.1f}')"
}
RESULTS=$WORK/results; : >"$RESULTS"
for run in $(seq 1 "$RUNS"); do
    for kind in hoist distribution; do
        port=$(free_port); dir=$WORK/mirror-$kind-$run
        if [ "$kind" = hoist ]; then start_hoist "$port" "$dir" "http://127.0.0.1:$UP_PORT"
        else start_distribution "$port" "$dir" "http://127.0.0.1:$UP_PORT"; fi
        echo "$kind cold $(pull "$port")" >>"$RESULTS"
        echo "$kind warm $(pull "$port")" >>"$RESULTS"
        stop "$LAST_PID"; rm -rf "$dir"
    done
    echo "direct direct $(pull "$DIRECT_PORT")" >>"$RESULTS"
    echo "run $run done"
done

python3 - "$RESULTS" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    who, what, v = line.split()
    rows.setdefault((who, what), []).append(float(v))
def med(k):
    v = rows[k]; return statistics.median(v), min(v), max(v)
print(f"{'pull':<8} {'hoist MiB/s':>22} {'distribution MiB/s':>22} {'hoist/dist':>10}")
for what in ("cold", "warm"):
    h, d = med(("hoist", what)), med(("distribution", what))
    print(f"{what:<8} {h[0]:>8.1f} ({h[1]:.1f}-{h[2]:.1f}) {d[0]:>9.1f} ({d[1]:.1f}-{d[2]:.1f}) {h[0]/d[0]:>9.2f}x")
dd = med(("direct", "direct"))
print(f"direct pull from hoist (no proxy): {dd[0]:.1f} ({dd[1]:.1f}-{dd[2]:.1f}) MiB/s; "
      f"hoist warm / direct = {med(('hoist','warm'))[0]/dd[0]:.2f}x")
PY

#!/usr/bin/env bash
# hoist's registry vs CNCF distribution 2.8 (Debian's docker-registry), side by
# side in the same run, both on loopback over fresh temp storage:
#   - skopeo push and pull of one-layer images of 1 MiB, 64 MiB and 512 MiB (MiB/s)
#   - wrk GET manifest by tag, hey HEAD blob (req/s, p99), 2 threads / 16 connections
#   - peak RSS of each server (VmHWM)
# Prints medians (min-max) over RUNS runs and the ratio hoist/distribution.
#
# usage: bench/registry.sh            (builds target/release/hoist if missing)
# env:   HOIST=path/to/hoist  RUNS=3  SIZES="1 64 512"  DURATION=10
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
SIZES=${SIZES:-"1 64 512"}
DURATION=${DURATION:-10}
HOIST=${HOIST:-target/release/hoist}
for tool in skopeo docker-registry wrk hey python3 gzip; do
    command -v "$tool" >/dev/null || { echo "bench/registry.sh: $tool is missing (bash testdata/install-peers.sh)" >&2; exit 1; }
done
[ -x "$HOIST" ] || cargo build --release --bin hoist

WORK=$(mktemp -d /tmp/hoist-bench-registry.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 300); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 never opened" >&2; exit 1; }

# --- servers -----------------------------------------------------------------
HOIST_PORT=$(free_port)
"$HOIST" --root "$WORK/hoist-root" registry serve --addr "127.0.0.1:$HOIST_PORT" \
    --storage-root "$WORK/hoist-data" 2>"$WORK/hoist.log" &
HOIST_PID=$!; PIDS+=("$HOIST_PID")

DIST_PORT=$(free_port)
cat >"$WORK/distribution.yml" <<YAML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $WORK/dist-data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$DIST_PORT
YAML
docker-registry serve "$WORK/distribution.yml" >"$WORK/dist.log" 2>&1 &
DIST_PID=$!; PIDS+=("$DIST_PID")
wait_port "$HOIST_PORT"; wait_port "$DIST_PORT"

# --- images: one gzip'd random layer each (skopeo would recompress anything else)
make_image() { # dir size_mib
    python3 - "$1" "$2" <<'PY'
import gzip, hashlib, json, os, sys
d, mib = sys.argv[1], int(sys.argv[2])
os.makedirs(f"{d}/blobs/sha256", exist_ok=True)
def put(b):
    h = hashlib.sha256(b).hexdigest()
    open(f"{d}/blobs/sha256/{h}", "wb").write(b)
    return "sha256:" + h
raw = os.urandom(mib << 20)
layer = gzip.compress(raw, compresslevel=1)
ld = put(layer)
cfg = json.dumps({"architecture": "amd64", "os": "linux",
                  "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(raw).hexdigest()]}}).encode()
cd = put(cfg)
m = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": len(cfg)},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": ld, "size": len(layer)}]}).encode()
md = put(m)
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
           "digest": md, "size": len(m), "annotations": {"org.opencontainers.image.ref.name": "bench"}}]},
          open(f"{d}/index.json", "w"))
open(f"{d}/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
print(ld)
PY
}

declare -A LAYER
for s in $SIZES; do LAYER[$s]=$(make_image "$WORK/img$s" "$s"); done

# skopeo remembers where blobs were and then mounts instead of uploading:
# forget before every timed push (BENCHMARKS.md).
CACHE=/var/lib/containers/cache/blob-info-cache-v1.boltdb
seconds() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null 2>>"$WORK/skopeo.err"; t1=$(date +%s.%N); python3 -c "print($t1-$t0)"; }

stats() { python3 -c '
import statistics, sys
v = [float(x) for x in sys.argv[1:]]
print(f"{statistics.median(v):.3f} {min(v):.3f} {max(v):.3f}")' "$@"; }

RESULTS="$WORK/results"; : >"$RESULTS"
record() { echo "$*" >>"$RESULTS"; }

for s in $SIZES; do
    for side in hoist dist; do
        port=$HOIST_PORT; [ "$side" = dist ] && port=$DIST_PORT
        push=(); pull=()
        for r in $(seq "$RUNS"); do
            rm -f "$CACHE"
            push+=("$(seconds skopeo --insecure-policy copy --dest-tls-verify=false "oci:$WORK/img$s:bench" "docker://127.0.0.1:$port/bench/s$s-r$r:bench")")
            rm -rf "$WORK/pull"; rm -f "$CACHE"
            pull+=("$(seconds skopeo --insecure-policy copy --src-tls-verify=false "docker://127.0.0.1:$port/bench/s$s-r$r:bench" "oci:$WORK/pull:bench")")
        done
        record "push_$s $side $(stats "${push[@]}")"
        record "pull_$s $side $(stats "${pull[@]}")"
    done
done

# --- request rates -----------------------------------------------------------
first=$(echo "$SIZES" | awk '{print $1}')
for side in hoist dist; do
    port=$HOIST_PORT; [ "$side" = dist ] && port=$DIST_PORT
    wrk -t2 -c16 -d"${DURATION}s" --latency \
        -H "Accept: application/vnd.oci.image.manifest.v1+json" \
        "http://127.0.0.1:$port/v2/bench/s$first-r1/manifests/bench" >"$WORK/wrk-$side.txt"
    rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/wrk-$side.txt")
    p99=$(awk '$1=="99%" {print $2}' "$WORK/wrk-$side.txt")
    record "manifest_get $side $rps $p99"
    hey -z "${DURATION}s" -c 16 -m HEAD \
        "http://127.0.0.1:$port/v2/bench/s$first-r1/blobs/${LAYER[$first]}" >"$WORK/hey-$side.txt"
    rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/hey-$side.txt")
    p99=$(awk '/99% in/ {print $3*1000 "ms"}' "$WORK/hey-$side.txt")
    codes=$(awk '/^[ \t]*\[[0-9]+\]/ {printf "%s%s:%s", sep, $1, $2; sep=","}' "$WORK/hey-$side.txt")
    record "blob_head $side $rps $p99 $codes"
done
record "rss hoist $(awk '/VmHWM/ {print $2}' /proc/$HOIST_PID/status)"
record "rss dist $(awk '/VmHWM/ {print $2}' /proc/$DIST_PID/status)"

# --- report ------------------------------------------------------------------
python3 - "$RESULTS" "$RUNS" "$(nproc)" <<'PY'
import re, sys
rows = {}
for line in open(sys.argv[1]):
    k, side, *rest = line.split()
    rows.setdefault(k, {})[side] = rest
runs, nproc = sys.argv[2], sys.argv[3]
print(f"registry benchmark: hoist vs distribution 2.8, nproc={nproc}, {runs} runs each (median, min-max)")
def ms(s):
    m = re.match(r"([\d.]+)(us|ms|s)", s)
    return float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]
for k, v in rows.items():
    if k.startswith(("push_", "pull_")):
        op, size = k.split("_")
        mib = float(size)
        h, d = [float(x) for x in v["hoist"]], [float(x) for x in v["dist"]]
        print(f"{op:5} {size:>4} MiB  hoist {mib/h[0]:8.1f} MiB/s ({mib/h[2]:.0f}-{mib/h[1]:.0f})"
              f"   distribution {mib/d[0]:8.1f} MiB/s ({mib/d[2]:.0f}-{mib/d[1]:.0f})   ratio {d[0]/h[0]:.2f}x")
    elif k in ("manifest_get", "blob_head"):
        h, d = v["hoist"], v["dist"]
        print(f"{k:13} hoist {float(h[0]):9.0f} req/s p99 {ms(h[1]):6.2f} ms   distribution {float(d[0]):9.0f} req/s"
              f" p99 {ms(d[1]):6.2f} ms   ratio {float(h[0])/float(d[0]):.2f}x"
              + (f"   [hoist {' '.join(h[2:])}; dist {' '.join(d[2:])}]" if len(h) > 2 else ""))
    elif k == "rss":
        h, d = int(v["hoist"][0]), int(v["dist"][0])
        print(f"peak RSS      hoist {h/1024:.1f} MiB   distribution {d/1024:.1f} MiB   ratio {h/d:.2f}x")
PY

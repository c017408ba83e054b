#!/usr/bin/env bash
# hoist's registry vs CNCF distribution 2.8 (Debian's docker-registry), side by
# side in the same run, both on loopback over fresh temp storage:
#   - skopeo push and pull of one-layer images of 1 MiB, 64 MiB and 512 MiB (MiB/s)
#   - wrk GET manifest by tag, hey HEAD blob (req/s, p99), 2 threads / 16 connections
#   - peak RSS of each server (VmHWM)
# Prints medians (min-max) over RUNS runs and the ratio hoist/distribution.
#
# usage: bench/registry.sh            (builds target/release/hoist if missing)
#        bench/registry.sh limit      hoist vs nginx and raw curl (below)
# env:   HOIST=path/to/hoist  RUNS=3  SIZES="1 64 512"  DURATION=10
set -euo pipefail
cd "$(dirname "$0")/.."

# --- `bench/registry.sh limit`: hoist against the limit ---------------------
# Side by side in one run, on the filesystem driver:
#   - manifest GET by tag (wrk, 2 threads, 16 connections) and blob HEAD (hey,
#     16 connections): req/s and server CPU per request (utime+stime of the
#     server's processes over the run / requests), hoist vs nginx serving the
#     very same files from hoist's storage as static files;
#   - push of a 512 MiB image (4 x 128 MiB layers) with hoist's client at
#     default settings, and with one request per blob (--chunk-size 1G), vs 4
#     parallel raw `curl` POST + PUT `?digest=` of the same layers to hoist's
#     registry; every push into emptied storage;
#   - pull of that image into an empty store vs 4 parallel `curl`s of the
#     layers to files, each then fsynced (`sync FILE`).
# Then the same (without nginx) on the S3 driver over moto. Medians (min-max)
# over RUNS runs. nginx: Debian's nginx-light (`apt-get install -y
# nginx-light`; its service is not needed, the script runs its own).
# Push and pull also report the client side's CPU time (user+system of hoist,
# or of the curls), the figure other load on the machine hardly moves, and the
# 1-min load average before each pull run.
# env: HOIST=path/to/hoist RUNS=3 DURATION=10 DRIVERS="fs s3" BENCH_DIR=/var/tmp
#      PARTS="rates push pull" (a subset measures only those)
if [ "${1:-}" = limit ]; then
RUNS=${RUNS:-3}
DURATION=${DURATION:-10}
DRIVERS=${DRIVERS:-"fs s3"}
HOIST=${HOIST:-target/release/hoist}
LAYERS=4; LAYER_MIB=${LAYER_MIB:-128}
for tool in wrk hey curl python3 nginx sha256sum; do
    command -v "$tool" >/dev/null || { echo "bench/registry.sh limit: $tool is missing (apt-get install -y wrk hey curl nginx-light)" >&2; exit 1; }
done
[ -x "$HOIST" ] || cargo build --release --bin hoist
HOIST=$(realpath "$HOIST")
WORK=$(mktemp -d "${BENCH_DIR:-/var/tmp}/hoist-bench-limit.XXXXXX")
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 600); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 never opened" >&2; exit 1; }
CLK=$(getconf CLK_TCK)
# CPU ticks (user+system) of the given processes and their children threads.
ticks() { local t=0 p; for p in "$@"; do t=$((t + $(awk '{print $14+$15}' "/proc/$p/stat"))); done; echo "$t"; }
now() { date +%s.%N; }
RESULTS=$WORK/results; : >"$RESULTS"
# PARTS: which measurements to take (all by default).
PARTS=${PARTS:-"rates push pull"}
part() { [[ " $PARTS " == *" $1 "* ]]; }
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
record() { echo "$*" >>"$RESULTS"; }

# The image: an OCI layout that is also a hoist store root (as bench/transfer.sh).
SRC=$WORK/src; BLOBS=$SRC/content/blobs/sha256; mkdir -p "$BLOBS"
echo "making $LAYERS layers of $LAYER_MIB MiB ..."
layers_json=""; diff_ids=""; LAYER_DIGESTS=()
for i in $(seq 1 "$LAYERS"); do
    head -c "$((LAYER_MIB << 20))" /dev/urandom >"$WORK/data"
    tar -C "$WORK" -cf "$WORK/layer" data
    d=$(sha256sum "$WORK/layer" | cut -c1-64)
    size=$(stat -c %s "$WORK/layer")
    mv "$WORK/layer" "$BLOBS/$d"
    LAYER_DIGESTS+=("$d")
    diff_ids="$diff_ids\"sha256:$d\","
    layers_json="$layers_json{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"sha256:$d\",\"size\":$size},"
done
rm -f "$WORK/data"
printf '{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":[%s]}}' "${diff_ids%,}" >"$WORK/config"
CD=$(sha256sum "$WORK/config" | cut -c1-64); cp "$WORK/config" "$BLOBS/$CD"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[%s]}' \
    "$CD" "$(stat -c %s "$WORK/config")" "${layers_json%,}" >"$WORK/manifest"
MD=$(sha256sum "$WORK/manifest" | cut -c1-64); cp "$WORK/manifest" "$BLOBS/$MD"
echo '{"imageLayoutVersion":"1.0.0"}' >"$SRC/content/oci-layout"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"docker.io/library/bench:1"}}]}' \
    "$MD" "$(stat -c %s "$WORK/manifest")" >"$SRC/content/index.json"
HEAD_BLOB=${LAYER_DIGESTS[0]}

# rate_wrk SIDE KEY URL PIDS...: wrk GET, req/s and CPU µs per request.
rate_wrk() {
    local side=$1 key=$2 url=$3; shift 3
    local t0 t1 out n rps
    t0=$(ticks "$@")
    out=$(wrk -t2 -c16 -d"${DURATION}s" -H "Accept: application/vnd.oci.image.manifest.v1+json" "$url")
    t1=$(ticks "$@")
    n=$(echo "$out" | awk '/requests in/ {print $1}')
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    grep -q "Non-2xx" <<<"$out" && { echo "wrk saw errors from $side:" >&2; echo "$out" >&2; exit 1; }
    record "$key $side $rps $(python3 -c "print(($t1-$t0)/$CLK*1e6/$n)")"
}
# rate_hey SIDE KEY URL PIDS...: hey HEAD (wrk cannot HEAD a registry).
rate_hey() {
    local side=$1 key=$2 url=$3; shift 3
    local t0 t1 out n rps
    t0=$(ticks "$@")
    out=$(hey -z "${DURATION}s" -c 16 -m HEAD "$url")
    t1=$(ticks "$@")
    n=$(echo "$out" | awk '/\[200\]/ {print $2}')
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    [ -n "$n" ] || { echo "hey got no 200s from $side:" >&2; echo "$out" >&2; exit 1; }
    record "$key $side $rps $(python3 -c "print(($t1-$t0)/$CLK*1e6/$n)")"
}
# timed KEY SIDE CMD...: wall seconds of CMD, as MiB/s of the image, and the
# CPU time (user+system) of CMD's processes: the client's side of the work,
# which, unlike wall time, other load on the machine hardly changes. CMD runs
# in a subshell whose `times` (second line: its waited-for children) counts
# hoist, or the 4 curls and their syncs.
MIB=$((LAYERS * LAYER_MIB))
timed() {
    local key=$1 side=$2; shift 2
    local t0 t1
    t0=$(now)
    ( "$@" >"$WORK/out.log" 2>&1 && times >"$WORK/times" ) || { echo "FAILED: $*" >&2; cat "$WORK/out.log" >&2; exit 1; }
    t1=$(now)
    record "$key $side $(python3 -c "print($MIB/($t1-$t0))") $(tail -1 "$WORK/times" | python3 -c '
import re, sys
print(sum(float(m) * 60 + float(s) for m, s in re.findall(r"([0-9.]+)m([0-9.]+)s", sys.stdin.read())))')"
}
curl_push() { # REG REPO: 4 parallel POST + PUT ?digest= of the layers
    local reg=$1 repo=$2 d pids=()
    for d in "${LAYER_DIGESTS[@]}"; do
        (
            loc=$(curl -fsS -D - -o /dev/null -X POST -H 'Content-Length: 0' "http://$reg/v2/$repo/blobs/uploads/" |
                awk 'tolower($1)=="location:" {print $2}' | tr -d '\r')
            curl -fsS -o /dev/null -X PUT -H 'Expect:' -H 'Content-Type: application/octet-stream' \
                -T "$BLOBS/$d" "http://$reg$loc?digest=sha256:$d"
        ) & pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p"; done
}
curl_pull() { # REG REPO DIR: 4 parallel GETs to files, each fsynced
    local reg=$1 repo=$2 dir=$3 d pids=()
    mkdir -p "$dir"
    for d in "${LAYER_DIGESTS[@]}"; do
        ( curl -fsS -o "$dir/$d" "http://$reg/v2/$repo/blobs/sha256:$d" && sync "$dir/$d" ) & pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p"; done
}
forget_sources() { rm -f "$SRC/client/blob-sources.json"; }

for driver in $DRIVERS; do
    echo "== $driver driver =="
    HP=$(free_port); HDATA=$WORK/hdata-$driver
    args=(--root "$WORK/hroot-$driver" registry serve --addr "127.0.0.1:$HP" --storage-root "$HDATA")
    if [ "$driver" = s3 ]; then
        MOTO=$(bash testdata/moto.sh path)
        MP=$(free_port)
        "$MOTO" -H 127.0.0.1 -p "$MP" >"$WORK/moto.log" 2>&1 & PIDS+=($!)
        wait_port "$MP"
        curl -fsS -X PUT "http://127.0.0.1:$MP/limit-bench" >/dev/null
        export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench
        args+=(--storage-s3-endpoint "http://127.0.0.1:$MP" --storage-s3-bucket limit-bench --storage-s3-path-style true)
    fi
    "$HOIST" "${args[@]}" 2>"$WORK/hoist-$driver.log" & HPID=$!; PIDS+=("$HPID")
    wait_port "$HP"
    REG=127.0.0.1:$HP
    forget_sources
    "$HOIST" --root "$SRC" push --tls-verify=false -q bench:1 "$REG/bench/app:latest" >/dev/null

    if [ "$driver" = fs ]; then
        NP=$(free_port)
        blob_file() { echo "$HDATA/blobs/sha256/${1:0:2}/$1/data"; }
        cat >"$WORK/nginx.conf" <<NGINX
# Root like the registry: both read the same files (mktemp's dir is 0700).
user root;
worker_processes 2;
daemon off;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000000;
    server {
        listen 127.0.0.1:$NP;
        location = /manifest { alias $(blob_file "$MD"); default_type application/vnd.oci.image.manifest.v1+json; }
        location = /blob { alias $(blob_file "$HEAD_BLOB"); default_type application/octet-stream; }
    }
}
NGINX
        nginx -c "$WORK/nginx.conf" -p "$WORK" & NPID=$!; PIDS+=("$NPID")
        wait_port "$NP"
        NGINX_PIDS=("$NPID" $(pgrep -P "$NPID"))
        cmp <(curl -fsS "http://127.0.0.1:$NP/manifest") <(curl -fsS "http://$REG/v2/bench/app/manifests/latest") ||
            { echo "nginx and hoist serve different manifests" >&2; exit 1; }
    fi

    echo "request rates, $RUNS runs of ${DURATION}s per side ..."
    for r in $(seq "$RUNS"); do
        part rates || break
        rate_wrk hoist "manifest_get_$driver" "http://$REG/v2/bench/app/manifests/latest" "$HPID"
        [ "$driver" = fs ] && rate_wrk nginx "manifest_get_$driver" "http://127.0.0.1:$NP/manifest" "${NGINX_PIDS[@]}"
        rate_hey hoist "blob_head_$driver" "http://$REG/v2/bench/app/blobs/sha256:$HEAD_BLOB" "$HPID"
        [ "$driver" = fs ] && rate_hey nginx "blob_head_$driver" "http://127.0.0.1:$NP/blob" "${NGINX_PIDS[@]}"
    done

    echo "push and pull of $MIB MiB, $RUNS runs per side ..."
    empty_store() { # the fs driver's blobs and repositories; S3 runs push to fresh repositories
        [ "$driver" = fs ] && rm -rf "$HDATA/blobs" "$HDATA/repositories"
        forget_sources
    }
    for r in $(seq "$RUNS"); do
        part push || break
        empty_store; sync
        timed "push_$driver" hoist "$HOIST" --root "$SRC" push --tls-verify=false -q bench:1 "$REG/bench/p$r:1"
        empty_store; sync
        timed "push_$driver" hoist_1req "$HOIST" --root "$SRC" push --tls-verify=false -q --chunk-size 1G bench:1 "$REG/bench/m$r:1"
        empty_store; sync
        timed "push_$driver" curl curl_push "$REG" "bench/c$r"
    done
    "$HOIST" --root "$SRC" push --tls-verify=false -q bench:1 "$REG/bench/app:latest" >/dev/null
    # Sides alternate which goes first, so neither always meets the page cache
    # or writeback the other left; the load average is recorded with each run.
    pull_hoist() {
        rm -rf "$WORK/pull-hoist"; sync
        timed "pull_$driver" hoist "$HOIST" --root "$WORK/pull-hoist" pull --tls-verify=false -q "$REG/bench/app:latest"
    }
    pull_curl() { rm -rf "$WORK/pull-curl"; sync; timed "pull_$driver" curl curl_pull "$REG" bench/app "$WORK/pull-curl"; }
    for r in $(seq "$RUNS"); do
        part pull || break
        record "load_pull_$driver run$r $(cut -d' ' -f1 /proc/loadavg)"
        if [ $((r % 2)) = 1 ]; then pull_hoist; pull_curl; else pull_curl; pull_hoist; fi
    done
    rm -rf "$WORK/pull-hoist" "$WORK/pull-curl"
    record "rss_$driver hoist $(awk '/VmHWM/ {print $2}' "/proc/$HPID/status")"
done

echo "load average at the start: $LOAD_START; at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$RESULTS" "$RUNS" "$(nproc)" "$DURATION" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    key, side, *vals = line.split()
    rows.setdefault(key, {}).setdefault(side, []).append([float(v) for v in vals])
runs, nproc, dur = sys.argv[2:5]
print(f"hoist registry vs the limit: nproc={nproc}, {runs} runs per side, median (min-max)")
def med(side, i):
    v = [r[i] for r in side]
    return statistics.median(v), min(v), max(v)
for key, sides in rows.items():
    if key.startswith(("manifest_get", "blob_head")):
        tool = "wrk -t2 -c16" if key.startswith("manifest") else "hey -c16 HEAD"
        print(f"{key} ({tool}, {dur}s):")
        for side, vals in sides.items():
            r, c = med(vals, 0), med(vals, 1)
            print(f"  {side:10} {r[0]:9.0f} req/s ({r[1]:.0f}-{r[2]:.0f})   server CPU {c[0]:6.1f} us/req ({c[1]:.1f}-{c[2]:.1f})")
        if "nginx" in sides:
            h, n = sides["hoist"], sides["nginx"]
            # Each run's pair was measured back to back: their ratio moves
            # less with the machine's other load than either figure does.
            pairs = [a[0] / b[0] for a, b in zip(h, n)]
            print(f"  ratio hoist/nginx: {med(h,0)[0]/med(n,0)[0]:.2f}x req/s, {med(h,1)[0]/med(n,1)[0]:.2f}x CPU per request;"
                  f" per run: {' '.join(f'{p:.2f}' for p in pairs)} (median {statistics.median(pairs):.2f})")
    elif key.startswith(("push", "pull")):
        print(f"{key} ({sys.argv[2]} runs, MiB/s):")
        for side, vals in sides.items():
            m, c = med(vals, 0), med(vals, 1)
            print(f"  {side:10} {m[0]:7.1f} MiB/s ({m[1]:.0f}-{m[2]:.0f})   client CPU {c[0]:5.2f} s ({c[1]:.2f}-{c[2]:.2f})"
                  f"   each run: {' '.join(f'{r[0]:.0f}' for r in vals)} MiB/s")
        c, cc = med(sides["curl"], 0)[0], med(sides["curl"], 1)[0]
        for side in sides:
            if side != "curl":
                print(f"  ratio {side}/curl: {med(sides[side],0)[0]/c:.2f}x throughput,"
                      f" {med(sides[side],1)[0]/cc:.2f}x client CPU;"
                      f" per run: {' '.join(f'{h[0]/k[0]:.2f}' for h, k in zip(sides[side], sides['curl']))}")
    elif key.startswith("load"):
        print(f"{key} (1-min load average before each run): {' '.join(f'{v[0][0]:.2f}' for v in sides.values())}")
    elif key.startswith("rss"):
        print(f"{key}: peak RSS {sides['hoist'][0][0]/1024:.1f} MiB")
PY
exit 0
fi


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

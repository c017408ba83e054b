#!/usr/bin/env bash
# hoist's registry on S3 vs CNCF distribution 2.8 (Debian's docker-registry)
# with its `s3` storage driver, side by side in one run, both over the same
# moto server on 127.0.0.1 (one bucket each):
#   - skopeo push and pull of one-layer images of 64 MiB and 512 MiB (MiB/s)
#   - peak RSS (VmHWM) of each registry after each size, to show whether it
#     stays flat as the blob grows; moto's too, for scale
# Blob downloads go through both registries (distribution's redirect to
# presigned URLs is turned off; hoist's is off by default), so both move the
# same bytes. A fresh random image per size and run, pushed to a fresh repo.
# Prints medians (min-max) over RUNS runs and the ratios hoist/distribution.
#
# usage: bench/registry-s3.sh        (builds target/release/hoist if missing)
# env:   HOIST=path/to/hoist  RUNS=3  SIZES="64 512"
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
SIZES=${SIZES:-"64 512"}
HOIST=${HOIST:-target/release/hoist}
for tool in skopeo docker-registry python3 curl; do
    command -v "$tool" >/dev/null || { echo "bench/registry-s3.sh: $tool is missing (bash testdata/install-peers.sh)" >&2; exit 1; }
done
MOTO=$(bash testdata/moto.sh path)
[ -x "$HOIST" ] || cargo build --release --bin hoist

WORK=$(mktemp -d /tmp/hoist-bench-registry-s3.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 600); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 never opened" >&2; exit 1; }
hwm_kib() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }

# --- the S3 server and one bucket per registry --------------------------------
MOTO_PORT=$(free_port)
"$MOTO" -H 127.0.0.1 -p "$MOTO_PORT" >"$WORK/moto.log" 2>&1 &
MOTO_PID=$!; PIDS+=("$MOTO_PID")
wait_port "$MOTO_PORT"
for bucket in hoist-bench dist-bench; do
    curl -fsS -X PUT "http://127.0.0.1:$MOTO_PORT/$bucket" >/dev/null
done
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench

# --- registries ----------------------------------------------------------------
HOIST_PORT=$(free_port)
"$HOIST" --root "$WORK/hoist-root" registry serve --addr "127.0.0.1:$HOIST_PORT" \
    --storage-root "$WORK/hoist-unused" \
    --storage-s3-endpoint "http://127.0.0.1:$MOTO_PORT" --storage-s3-bucket hoist-bench \
    --storage-s3-path-style true 2>"$WORK/hoist.log" &
HOIST_PID=$!; PIDS+=("$HOIST_PID")

# distribution 2.8's s3 driver: regionendpoint makes it use path-style
# addressing (2.8 has no forcepathstyle key); secure: false for plain HTTP.
DIST_PORT=$(free_port)
cat >"$WORK/distribution.yml" <<YAML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  s3:
    accesskey: bench
    secretkey: bench
    region: us-east-1
    regionendpoint: http://127.0.0.1:$MOTO_PORT
    bucket: dist-bench
    secure: false
    v4auth: true
    rootdirectory: /registry
  delete:
    enabled: true
  redirect:
    disable: true
http:
  addr: 127.0.0.1:$DIST_PORT
YAML
# aws-sdk-go panics at start when AWS_CA_BUNDLE is set ("unable to load custom
# CA bundle, HTTPClient's transport unsupported type": distribution wraps the
# transport), and moto is plain HTTP anyway: drop it for distribution only.
env -u AWS_CA_BUNDLE docker-registry serve "$WORK/distribution.yml" >"$WORK/dist.log" 2>&1 &
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
PY
}

# skopeo remembers where blobs were and then mounts instead of uploading:
# forget before every timed push (BENCHMARKS.md).
CACHE=/var/lib/containers/cache/blob-info-cache-v1.boltdb
seconds() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null 2>>"$WORK/skopeo.err" || { echo "failed: $*" >&2; cat "$WORK/skopeo.err" >&2; exit 1; }; t1=$(date +%s.%N); python3 -c "print($t1-$t0)"; }

stats() { python3 -c '
import statistics, sys
v = [float(x) for x in sys.argv[1:]]
print(f"{statistics.median(v):.3f} {min(v):.3f} {max(v):.3f}")' "$@"; }

RESULTS="$WORK/results"; : >"$RESULTS"
record() { echo "$*" >>"$RESULTS"; }

for s in $SIZES; do
    declare -A push=() pull=()
    for r in $(seq "$RUNS"); do
        rm -rf "$WORK/img"; make_image "$WORK/img" "$s"
        for side in hoist dist; do
            port=$HOIST_PORT; [ "$side" = dist ] && port=$DIST_PORT
            rm -f "$CACHE"
            push[$side]+=" $(seconds skopeo --insecure-policy copy --dest-tls-verify=false "oci:$WORK/img:bench" "docker://127.0.0.1:$port/bench/s$s-r$r:bench")"
            rm -rf "$WORK/pull"; rm -f "$CACHE"
            pull[$side]+=" $(seconds skopeo --insecure-policy copy --src-tls-verify=false "docker://127.0.0.1:$port/bench/s$s-r$r:bench" "oci:$WORK/pull:bench")"
            # skopeo verified every digest; the pulled blobs are the pushed ones.
            diff -q <(ls "$WORK/img/blobs/sha256") <(ls "$WORK/pull/blobs/sha256") >/dev/null \
                || { echo "$side: pulled blobs differ from pushed ones ($s MiB)" >&2; exit 1; }
        done
    done
    for side in hoist dist; do
        # shellcheck disable=SC2086
        record "push_$s $side $(stats ${push[$side]})"
        # shellcheck disable=SC2086
        record "pull_$s $side $(stats ${pull[$side]})"
    done
    record "rss_$s hoist $(hwm_kib "$HOIST_PID")"
    record "rss_$s dist $(hwm_kib "$DIST_PID")"
    record "rss_$s moto $(hwm_kib "$MOTO_PID")"
    unset push pull
done
rm -rf "$WORK/img" "$WORK/pull"

# --- report ----------------------------------------------------------------------
python3 - "$RESULTS" "$RUNS" "$(nproc)" <<'PY'
import sys
rows = {}
for line in open(sys.argv[1]):
    k, side, *rest = line.split()
    rows.setdefault(k, {})[side] = rest
runs, nproc = sys.argv[2], sys.argv[3]
print(f"registry on S3 (moto) benchmark: hoist vs distribution 2.8 s3 driver, nproc={nproc}, "
      f"{runs} runs each (median, min-max)")
for k, v in rows.items():
    if k.startswith(("push_", "pull_")):
        op, size = k.split("_")
        mib = float(size)
        h, d = [float(x) for x in v["hoist"]], [float(x) for x in v["dist"]]
        print(f"{op:5} {size:>4} MiB  hoist {mib/h[0]:7.1f} MiB/s ({mib/h[2]:.0f}-{mib/h[1]:.0f})"
              f"   distribution {mib/d[0]:7.1f} MiB/s ({mib/d[2]:.0f}-{mib/d[1]:.0f})"
              f"   throughput ratio hoist/dist {d[0]/h[0]:.2f}x")
for k, v in rows.items():
    if k.startswith("rss_"):
        size = k.split("_")[1]
        h, d, m = int(v["hoist"][0]), int(v["dist"][0]), int(v["moto"][0])
        print(f"peak RSS after {size:>4} MiB  hoist {h/1024:6.1f} MiB   distribution {d/1024:6.1f} MiB"
              f"   ratio hoist/dist {h/d:.2f}x   (moto {m/1024:.0f} MiB)")
PY

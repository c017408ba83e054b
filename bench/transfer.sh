#!/usr/bin/env bash
# Registry client benchmark: hoist vs `skopeo copy`, side by side in the same
# run, pushing then pulling an image of 8 layers x 64 MiB (a tar of one random
# file each, gzip wrapped so skopeo does not recompress) to one local docker-registry
# (CNCF distribution 2.8) on 127.0.0.1.
#
#   bench/transfer.sh                 # 3 measured runs per side (RUNS=N to change)
#   HOIST=target/release/hoist BENCH_DIR=/var/tmp/x bench/transfer.sh
#
# Fairness: every push goes to a freshly started, empty registry; before each
# push skopeo's blob-info cache and hoist's blob-sources file are removed, so
# neither side can mount or skip a blob. Every pull goes into a fresh
# directory (hoist: a new store root; skopeo: a new OCI layout).
# Target (BENCHMARKS.md): hoist <= 0.7x skopeo's time for push and for pull.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
LAYERS=${LAYERS:-8}
LAYER_MIB=${LAYER_MIB:-64}
WORK=${BENCH_DIR:-/tmp/hoist-bench-transfer}
for tool in docker-registry skopeo python3 gzip sha256sum; do
  command -v "$tool" >/dev/null || { echo "bench/transfer.sh: $tool is not installed (testdata/install-peers.sh installs it)" >&2; exit 1; }
done
if [ -z "${HOIST:-}" ]; then
  echo "building hoist (release) ..."
  cargo build --release -q --bin hoist
  HOIST=$PWD/target/release/hoist
fi

REG_PID=
cleanup() {
  [ -n "$REG_PID" ] && kill "$REG_PID" 2>/dev/null && wait "$REG_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
rm -rf "$WORK"
mkdir -p "$WORK"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
REG=127.0.0.1:$PORT
start_registry() { # fresh, empty storage each time
  [ -n "$REG_PID" ] && { kill "$REG_PID"; wait "$REG_PID" 2>/dev/null || true; }
  rm -rf "$WORK/registry"
  mkdir -p "$WORK/registry"
  cat >"$WORK/registry.yml" <<EOF
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $WORK/registry
http:
  addr: $REG
EOF
  docker-registry serve "$WORK/registry.yml" >"$WORK/registry.log" 2>&1 &
  REG_PID=$!
  for _ in $(seq 1 100); do
    curl -fs "http://$REG/v2/" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "docker-registry did not start:" >&2; cat "$WORK/registry.log" >&2; exit 1
}

# --- the image: an OCI layout that is also a hoist store root -------------
SRC=$WORK/src
BLOBS=$SRC/content/blobs/sha256
mkdir -p "$BLOBS"
echo "making $LAYERS layers of $LAYER_MIB MiB ..."
layers_json=""
diff_ids=""
for i in $(seq 1 "$LAYERS"); do
  # A tar holding one random file: pulls check every layer as a tar.
  head -c "$((LAYER_MIB << 20))" /dev/urandom >"$WORK/data"
  tar -C "$WORK" -cf "$WORK/layer" data
  diff_ids="$diff_ids\"sha256:$(sha256sum "$WORK/layer" | cut -c1-64)\","
  gzip -1 -c "$WORK/layer" >"$WORK/layer.gz"
  d=$(sha256sum "$WORK/layer.gz" | cut -c1-64)
  size=$(stat -c %s "$WORK/layer.gz")
  mv "$WORK/layer.gz" "$BLOBS/$d"
  layers_json="$layers_json{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$d\",\"size\":$size},"
done
rm -f "$WORK/layer" "$WORK/data"
printf '{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":[%s]}}' "${diff_ids%,}" >"$WORK/config"
cd_=$(sha256sum "$WORK/config" | cut -c1-64)
cp "$WORK/config" "$BLOBS/$cd_"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[%s]}' \
  "$cd_" "$(stat -c %s "$WORK/config")" "${layers_json%,}" >"$WORK/manifest"
md=$(sha256sum "$WORK/manifest" | cut -c1-64)
cp "$WORK/manifest" "$BLOBS/$md"
echo '{"imageLayoutVersion":"1.0.0"}' >"$SRC/content/oci-layout"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"docker.io/library/bench:1"}}]}' \
  "$md" "$(stat -c %s "$WORK/manifest")" >"$SRC/content/index.json"

SKOPEO="skopeo --insecure-policy"
forget_caches() {
  rm -f /var/lib/containers/cache/blob-info-cache-v1.boltdb "$SRC/client/blob-sources.json"
}

# time_cmd VAR CMD...: runs CMD, appends its wall time (s) to VAR's list.
declare -A times
time_cmd() {
  local key=$1; shift
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >"$WORK/out.log" 2>&1 || { echo "FAILED: $*" >&2; cat "$WORK/out.log" >&2; exit 1; }
  t1=$(date +%s.%N)
  times[$key]="${times[$key]:-} $(echo "$t1 - $t0" | bc -l)"
}

echo "push, $RUNS runs per side (fresh registry each) ..."
for r in $(seq 1 "$RUNS"); do
  start_registry; forget_caches
  time_cmd hoist_push "$HOIST" --root "$SRC" push --tls-verify=false -q bench:1 "$REG/bench:1"
  start_registry; forget_caches
  time_cmd skopeo_push $SKOPEO copy -q --dest-tls-verify=false "oci:$SRC/content:docker.io/library/bench:1" "docker://$REG/bench:1"
done

echo "pull, $RUNS runs per side (fresh destination each) ..."
start_registry; forget_caches
$SKOPEO copy -q --dest-tls-verify=false "oci:$SRC/content:docker.io/library/bench:1" "docker://$REG/bench:1"
for r in $(seq 1 "$RUNS"); do
  rm -rf "$WORK/dst-hoist" "$WORK/dst-skopeo"
  time_cmd hoist_pull "$HOIST" --root "$WORK/dst-hoist" pull --tls-verify=false -q "$REG/bench:1"
  time_cmd skopeo_pull $SKOPEO copy -q --src-tls-verify=false "docker://$REG/bench:1" "oci:$WORK/dst-skopeo:bench"
done
got=$("$HOIST" --root "$WORK/dst-hoist" pull --tls-verify=false -q "$REG/bench:1")
[ "$got" = "sha256:$md" ] || { echo "hoist pulled $got, expected sha256:$md" >&2; exit 1; }

stats() { # prints "median min max" of the numbers given
  printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.3f %.3f %.3f", m, a[1], a[NR]}'
}
echo
echo "machine: $(nproc) cores; image: $LAYERS x $LAYER_MIB MiB; runs: $RUNS"
printf '%-12s %-8s %10s %18s\n' workload tool "median s" "min-max s"
for w in push pull; do
  read -r hm hmin hmax <<<"$(stats ${times[hoist_$w]})"
  read -r sm smin smax <<<"$(stats ${times[skopeo_$w]})"
  printf '%-12s %-8s %10s %18s\n' "$w" hoist "$hm" "$hmin-$hmax"
  printf '%-12s %-8s %10s %18s\n' "$w" skopeo "$sm" "$smin-$smax"
  ratio=$(echo "$hm / $sm" | bc -l)
  printf '%-12s hoist/skopeo = %.2fx (target <= 0.70x)\n' "$w" "$ratio"
done

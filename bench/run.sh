#!/usr/bin/env bash
# Container start benchmark, side by side in one run (hyperfine, medians):
#   1. `hoist run --rm --network none busybox true` (image already unpacked)
#      vs `crun run` on an equivalent bundle (crun's default spec, same rootfs,
#      its own empty network namespace: hence `--network none`, not the bridge)
#      vs `podman run --rm` (cgroupfs, file events, ulimits: BENCHMARKS.md quirks)
#   2. first run of a fresh image with a 256 MiB layer: hoist (import + run,
#      and run alone after dropping the unpacked snapshot) vs podman (import + run).
# Targets (BENCHMARKS.md): faster than crun, >= 10x faster than podman; first
# run <= 0.7x podman.
#
#   bench/run.sh              RUNS=30 by default; BENCH_DIR=/var/tmp/x to move the work dir;
#                             HOIST=path/to/hoist to skip the release build;
#                             PARTS="big" runs only part 2 (default "start big")
set -euo pipefail
cd "$(dirname "$0")/.."

# Everything runs inside a network namespace made for this run: hoist's default network is
# a bridge with NAT, podman's is netavark's, and neither may touch the host's own links or
# firewall. The script re-runs itself in the namespace and removes it afterwards.
. bench/lib/netns.sh
bench_in_own_netns run "$0" "$@"

RUNS=${RUNS:-30}
PARTS=" ${PARTS:-start big} "
BIG_RUNS=${BIG_RUNS:-5}
WORK=${BENCH_DIR:-/tmp/hoist-bench-run}
for tool in hyperfine crun podman python3; do
  command -v "$tool" >/dev/null || { echo "bench/run.sh: $tool is not installed (testdata/install-peers.sh installs it)" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "bench/run.sh: needs root" >&2; exit 1; }

if [ -z "${HOIST:-}" ]; then
  cargo build --release --bin hoist -q
  HOIST=$PWD/target/release/hoist
fi
rm -rf "$WORK"; mkdir -p "$WORK"
ROOT=$WORK/root
export HOIST_ROOT=$ROOT

# crun refuses hybrid cgroups while hugetlb sits in the unified tree.
if [ -s /sys/fs/cgroup/unified/cgroup.controllers ] && ! mountpoint -q /sys/fs/cgroup/hugetlb; then
  mkdir -p /sys/fs/cgroup/hugetlb && mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb
fi
PODMAN=(podman --cgroup-manager cgroupfs --events-backend file)
PODMAN_RUN=(run --rm --network none --ulimit nofile=16384:16384 --ulimit nproc=16384:16384)
HOIST_RUN=(run --rm --network none)

echo "== preparing: busybox image in hoist, a crun bundle, a podman image"
HOIST=$HOIST HOIST_ROOT=$ROOT bash testdata/make-base-image.sh busybox:latest >/dev/null
"$HOIST" "${HOIST_RUN[@]}" busybox true   # unpacks the snapshot once
SNAP=$(ls -d "$ROOT"/snapshots/*/ | head -1)
BUNDLE=$WORK/bundle
mkdir -p "$BUNDLE/rootfs"
cp -a "$SNAP"/. "$BUNDLE/rootfs/"
(cd "$BUNDLE" && crun spec && python3 - <<'PY'
import json
c = json.load(open("config.json"))
c["process"]["terminal"] = False
c["process"]["args"] = ["true"]
json.dump(c, open("config.json", "w"))
PY
)
tar -C "$BUNDLE/rootfs" -cf "$WORK/busybox.tar" .
"${PODMAN[@]}" rmi -f localhost/hoist-bench-busybox >/dev/null 2>&1 || true
"${PODMAN[@]}" import "$WORK/busybox.tar" localhost/hoist-bench-busybox >/dev/null
"${PODMAN[@]}" "${PODMAN_RUN[@]}" localhost/hoist-bench-busybox true

# The preparation leaves ~300 MiB of dirty pages (imports, the bundle copy);
# written back during a measurement they stall every tool's metadata writes
# behind the ext4 journal, so they go to disk first.
sync
if [[ $PARTS == *" start "* ]]; then
echo "== 1. start to exit of \`true\` (nproc=$(nproc), $RUNS runs each)"
hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$WORK/start.json" \
  -n hoist "$HOIST ${HOIST_RUN[*]} busybox true" \
  -n crun "crun run --bundle $BUNDLE hoist-bench-crun" \
  -n podman "${PODMAN[*]} ${PODMAN_RUN[*]} localhost/hoist-bench-busybox true" >/dev/null
fi

echo "== 2. first run of a fresh image with a 256 MiB layer ($BIG_RUNS runs each)"
BIG=$WORK/big
mkdir -p "$BIG"
cp -a "$SNAP"/. "$BIG/"
head -c 256M /dev/urandom > "$BIG/blob"
tar -C "$BIG" -cf "$WORK/big.tar" .
hyperfine -N --runs "$BIG_RUNS" --export-json "$WORK/big.json" \
  -n "hoist import+run" \
  --prepare "bash -c '$HOIST rmi big:latest >/dev/null 2>&1; rm -rf $ROOT/snapshots/*'" \
  "bash -c '$HOIST import $WORK/big.tar -t big:latest >/dev/null && $HOIST ${HOIST_RUN[*]} big:latest true'" \
  -n "hoist first run" \
  --prepare "rm -rf $ROOT/snapshots" \
  "$HOIST ${HOIST_RUN[*]} big:latest true" \
  -n "podman import+run" \
  --prepare "bash -c '${PODMAN[*]} rmi -f localhost/hoist-bench-big >/dev/null 2>&1 || true'" \
  "bash -c '${PODMAN[*]} import $WORK/big.tar localhost/hoist-bench-big >/dev/null && ${PODMAN[*]} ${PODMAN_RUN[*]} localhost/hoist-bench-big true'" \
  >/dev/null || true

python3 - "$WORK/start.json" "$WORK/big.json" <<'PY'
import json, sys, statistics
def load(p):
    try:
        return {r["command"]: r for r in json.load(open(p))["results"]}
    except (OSError, ValueError):
        return {}
def show(rs, name):
    r = rs[name]
    t = r["times"]
    print(f"  {name:18s} median {statistics.median(t)*1000:9.1f} ms   min {min(t)*1000:8.1f}   max {max(t)*1000:8.1f}   (n={len(t)})")
    return statistics.median(t)
start, big = load(sys.argv[1]), load(sys.argv[2])
if start:
    print("start to exit of `true`:")
    h = show(start, "hoist"); c = show(start, "crun"); p = show(start, "podman")
    print(f"  ratios: hoist/crun {h/c:.2f}x (target < 1)   podman/hoist {p/h:.1f}x (target >= 10)")
if big:
    print("fresh image with a 256 MiB layer:")
    hi = show(big, "hoist import+run"); hf = show(big, "hoist first run"); pi = show(big, "podman import+run")
    print(f"  ratios: hoist import+run / podman import+run {hi/pi:.2f}x (target <= 0.7)")
PY
"${PODMAN[@]}" rmi -f localhost/hoist-bench-busybox localhost/hoist-bench-big >/dev/null 2>&1 || true
rm -rf "$WORK"

#!/usr/bin/env bash
# Kube benchmark, side by side in one run (issue 22): `kube play` of a Deployment of 10
# replicas until every replica is ready, then `kube down`: hoist vs `podman kube play` /
# `podman kube down` of the same YAML; target: hoist <= 0.2x podman's time.
# Each replica runs busybox `sleep` with an exec readiness probe. podman runs probes from
# systemd timers, which this machine lacks (shared/BENCHMARKS.md), so for podman "ready" is
# "all 10 running" (what its play waits for anyway); hoist waits for 10 `(ready)` in ps.
# Everything runs inside a network namespace this script makes; nothing leaves the machine.
#
#   bench/kube.sh   RUNS=5 by default; HOIST=path/to/hoist skips the release build;
#                   BENCH_DIR=/var/tmp/x moves the work dir; SKIP_PODMAN=1
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-5}
WORK=${BENCH_DIR:-/tmp/hoist-bench-kube}
for tool in hyperfine python3 nsenter; do
  command -v "$tool" >/dev/null || { echo "bench/kube.sh: $tool is not installed" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "bench/kube.sh: needs root" >&2; exit 1; }
if [ -z "${HOIST:-}" ]; then
  cargo build --release --bin hoist -q
  HOIST=$PWD/target/release/hoist
fi
NS=hoist-bench-kube-$$
in_ns() { nsenter --net="/run/netns/$NS" -- "$@"; }
cleanup() {
  set +e
  in_ns "$HOIST" --root "$WORK/root" kube down "$WORK/web.yaml" >/dev/null 2>&1
  if [ -n "${PODMAN_OK:-}" ]; then
    in_ns "${PODMAN[@]}" kube down "$WORK/web.yaml" >/dev/null 2>&1
    in_ns "${PODMAN[@]}" pod rm -af -t 0 >/dev/null 2>&1
  fi
  ip netns del "$NS" 2>/dev/null
  rm -rf "$WORK"
}
rm -rf "$WORK"; mkdir -p "$WORK"
ip netns add "$NS"
trap cleanup EXIT
ip -n "$NS" link set lo up

cat > "$WORK/web.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 10
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 0
      containers:
        - name: app
          image: docker.io/library/busybox:latest
          command: ["sleep", "3600"]
          readinessProbe:
            exec: {command: ["true"]}
            periodSeconds: 1
YAML

echo "== preparing: busybox in hoist and podman"
HOIST=$HOIST HOIST_ROOT=$WORK/root bash testdata/make-base-image.sh docker.io/library/busybox:latest >/dev/null
H="$HOIST --root $WORK/root"
cat > "$WORK/hoist.sh" <<SH
pin() { nsenter --net=/run/netns/$NS -- "\$@"; }
pin $H kube play $WORK/web.yaml >/dev/null 2>&1 || exit 1
for _ in \$(seq 1 1200); do
  [ "\$(pin $H ps --format '{{.Status}}' | grep -c '(ready)')" -ge 10 ] && break
  sleep 0.02
done
[ "\$(pin $H ps --format '{{.Status}}' | grep -c '(ready)')" -ge 10 ] || { echo "hoist: not ready" >&2; exit 1; }
pin $H kube down $WORK/web.yaml >/dev/null 2>&1
SH
cmds=(-n hoist "bash $WORK/hoist.sh")

if [ -z "${SKIP_PODMAN:-}" ] && command -v podman >/dev/null; then
  SNAP=$(mktemp -d "$WORK/rootfs.XXXX")
  mkdir -p "$SNAP/bin" && cp /bin/busybox "$SNAP/bin/"
  for a in sh sleep true; do ln -s busybox "$SNAP/bin/$a"; done
  tar -C "$SNAP" -cf "$WORK/rootfs.tar" .
  cat > "$WORK/containers.conf" <<CONF
[network]
network_backend = "netavark"
network_config_dir = "$WORK/podman/networks"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
infra_image = "localhost/hoist-pause:latest"
[containers]
default_ulimits = ["nofile=16384:16384", "nproc=16384:16384"]
CONF
  export CONTAINERS_CONF=$WORK/containers.conf
  PODMAN=(podman --root "$WORK/podman/root" --runroot "$WORK/podman/run")
  in_ns "${PODMAN[@]}" import -q --change "ENV PATH=/bin" "$WORK/rootfs.tar" docker.io/library/busybox:latest >/dev/null
  # Debian's podman builds its pause image from catatonit, which is not installed: a local one.
  in_ns "${PODMAN[@]}" import -q --change 'CMD ["/bin/sleep", "100000000"]' "$WORK/rootfs.tar" localhost/hoist-pause:latest >/dev/null
  PODMAN_OK=1
  cat > "$WORK/podman.sh" <<SH
export CONTAINERS_CONF=$CONTAINERS_CONF
pin() { nsenter --net=/run/netns/$NS -- "\$@"; }
P="podman --root $WORK/podman/root --runroot $WORK/podman/run"
pin \$P kube play $WORK/web.yaml >/dev/null 2>&1 || exit 1
for _ in \$(seq 1 1200); do
  [ "\$(pin \$P ps --filter status=running --format '{{.Names}}' | grep -vc infra)" -ge 10 ] && break
  sleep 0.02
done
[ "\$(pin \$P ps --filter status=running --format '{{.Names}}' | grep -vc infra)" -ge 10 ] || { echo "podman: not running" >&2; exit 1; }
pin \$P kube down $WORK/web.yaml >/dev/null 2>&1
SH
  cmds+=(-n podman "bash $WORK/podman.sh")
fi

echo "== kube play of 10 replicas until ready, then kube down ($RUNS runs each)"
hyperfine ${HF_OPTS:-} --warmup 1 --runs "$RUNS" --export-json "$WORK/playdown.json" "${cmds[@]}" >/dev/null

python3 - "$WORK" <<'PY'
import json, sys, statistics, os
w = sys.argv[1]
rs = {r["command"]: r for r in json.load(open(os.path.join(w, "playdown.json")))["results"]}
def show(name):
    t = rs[name]["times"]
    print(f"  {name:8s} median {statistics.median(t)*1000:9.1f} ms   min {min(t)*1000:8.1f}   max {max(t)*1000:8.1f}   (n={len(t)})")
    return statistics.median(t)
print("kube play (10 replicas) until ready + kube down:")
h = show("hoist")
if "podman" in rs:
    p = show("podman")
    print(f"    hoist/podman {h/p:.2f}x (target <= 0.2x)")
PY

#!/usr/bin/env bash
# Networks benchmark, side by side in one run (issue 15, BENCHMARKS.md "networks"):
#   1. `run --rm busybox true` on the default bridge: hoist vs podman (netavark) vs docker
#      20.10 (bridge); target: hoist >= 10x faster than each.
#   2. `run --rm --network none busybox true`: hoist vs `crun run` of the same rootfs;
#      target: hoist faster.
#   3. iperf3 TCP throughput container -> container on one network, and through a published
#      port, hoist vs podman; targets >= 0.95x and >= 0.9x podman.
# Everything runs inside a network namespace this script makes (podman's netavark and
# dockerd rewrite the firewall of the namespace they run in); nothing leaves the machine.
#
#   bench/net.sh     RUNS=20 by default; HOIST=path/to/hoist skips the release build;
#                    BENCH_DIR=/var/tmp/x moves the work dir; SKIP_DOCKER=1 leaves docker out
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-20}
WORK=${BENCH_DIR:-/tmp/hoist-bench-net}
IPERF_SECONDS=${IPERF_SECONDS:-5}
for tool in hyperfine crun podman iperf3 python3 nsenter; do
  command -v "$tool" >/dev/null || { echo "bench/net.sh: $tool is not installed (testdata/install-peers.sh installs it)" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "bench/net.sh: needs root" >&2; exit 1; }

if [ -z "${HOIST:-}" ]; then
  cargo build --release --bin hoist -q
  HOIST=$PWD/target/release/hoist
fi
NS=hoist-bench-net-$$
DOCKERD_PID=
cleanup() {
  set +e
  if [ -n "$DOCKERD_PID" ]; then
    kill "$DOCKERD_PID" && while kill -0 "$DOCKERD_PID" 2>/dev/null; do sleep 0.1; done
    # dockerd bind-mounts its data root onto itself; a stop that did not finish leaves it.
    mountpoint -q "$WORK/docker/data" && umount "$WORK/docker/data"
  fi
  in_ns "$HOIST" --root "$WORK/root" rm -f iperf-server >/dev/null 2>&1
  in_ns "${PODMAN[@]}" rm -f iperf-server >/dev/null 2>&1
  in_ns "${PODMAN[@]}" rmi -a -f >/dev/null 2>&1
  ip netns del "$NS" 2>/dev/null
  rm -rf "$WORK"
}
in_ns() { nsenter --net="/run/netns/$NS" -- "$@"; }
rm -rf "$WORK"; mkdir -p "$WORK"
ip netns add "$NS"
trap cleanup EXIT
ip -n "$NS" link set lo up
# No way out of this namespace exists, and containers must not try the host's resolver.
mkdir -p "$WORK/etc"; echo "nameserver 127.0.0.1" > "$WORK/etc/resolv.conf"

if [ -s /sys/fs/cgroup/unified/cgroup.controllers ] && ! mountpoint -q /sys/fs/cgroup/hugetlb; then
  mkdir -p /sys/fs/cgroup/hugetlb && mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb
fi
cat > "$WORK/containers.conf" <<CONF
[network]
network_backend = "netavark"
network_config_dir = "$WORK/podman/networks"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
export CONTAINERS_CONF=$WORK/containers.conf
PODMAN=(podman --root "$WORK/podman/root" --runroot "$WORK/podman/run")
PODMAN_RUN=(run --rm --ulimit nofile=16384:16384 --ulimit nproc=16384:16384)
H=("$HOIST" --root "$WORK/root")

echo "== preparing: a busybox+iperf3 rootfs in hoist, podman, docker and a crun bundle"
HOIST=$HOIST HOIST_ROOT=$WORK/root bash testdata/make-base-image.sh busybox:latest >/dev/null
in_ns "${H[@]}" run --rm --network none busybox true   # unpacks the snapshot once
SNAP=$(ls -d "$WORK"/root/snapshots/*/ | head -1)
ROOTFS=$WORK/rootfs
mkdir -p "$ROOTFS"
cp -a "$SNAP"/. "$ROOTFS/"
# iperf3 and the libraries it links, so one image serves all three tools.
cp "$(command -v iperf3)" "$ROOTFS/bin/iperf3"
for lib in $(ldd "$(command -v iperf3)" | grep -o '/[^ ]*'); do
  mkdir -p "$ROOTFS$(dirname "$lib")"; cp -L "$lib" "$ROOTFS$lib"
done
tar -C "$ROOTFS" -cf "$WORK/rootfs.tar" .
"${H[@]}" import "$WORK/rootfs.tar" -t netbench:latest >/dev/null
in_ns "${PODMAN[@]}" import "$WORK/rootfs.tar" localhost/netbench >/dev/null
BUNDLE=$WORK/bundle
mkdir -p "$BUNDLE/rootfs"; cp -a "$SNAP"/. "$BUNDLE/rootfs/"
(cd "$BUNDLE" && crun spec && python3 - <<'PY'
import json
c = json.load(open("config.json"))
c["process"]["terminal"] = False
c["process"]["args"] = ["true"]
json.dump(c, open("config.json", "w"))
PY
)
DOCKER=()
if [ -z "${SKIP_DOCKER:-}" ] && command -v dockerd >/dev/null; then
  mkdir -p "$WORK/docker"
  # nsenter execs dockerd (no fork for --net), so $! is dockerd's own PID.
  nsenter --net="/run/netns/$NS" -- dockerd --data-root "$WORK/docker/data" --exec-root "$WORK/docker/exec" \
    --pidfile "$WORK/docker/pid" -H "unix://$WORK/docker/sock" >"$WORK/docker/log" 2>&1 &
  DOCKERD_PID=$!
  DOCKER=(docker -H "unix://$WORK/docker/sock")
  for _ in $(seq 1 300); do "${DOCKER[@]}" version >/dev/null 2>&1 && break; sleep 0.1; done
  "${DOCKER[@]}" import "$WORK/rootfs.tar" netbench >/dev/null
fi
# First runs outside the measurement: bridges, NAT tables, snapshots.
in_ns "${H[@]}" run --rm netbench:latest true
in_ns "${PODMAN[@]}" "${PODMAN_RUN[@]}" localhost/netbench true
[ ${#DOCKER[@]} -eq 0 ] || in_ns "${DOCKER[@]}" run --rm netbench true
sync

echo "== 1. run --rm true on the default network (nproc=$(nproc), $RUNS runs each)"
cmds=(-n hoist "nsenter --net=/run/netns/$NS -- ${H[*]} run --rm netbench:latest true"
      -n podman "nsenter --net=/run/netns/$NS -- ${PODMAN[*]} ${PODMAN_RUN[*]} localhost/netbench true")
[ ${#DOCKER[@]} -eq 0 ] || cmds+=(-n docker "nsenter --net=/run/netns/$NS -- ${DOCKER[*]} run --rm netbench true")
hyperfine -N --warmup 2 --runs "$RUNS" --export-json "$WORK/bridge.json" "${cmds[@]}" >/dev/null

echo "== 2. run --rm --network none true vs crun ($RUNS runs each)"
hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$WORK/none.json" \
  -n hoist-none "nsenter --net=/run/netns/$NS -- ${H[*]} run --rm --network none netbench:latest true" \
  -n crun "crun run --bundle $BUNDLE hoist-bench-net-crun" >/dev/null

echo "== 3. iperf3, ${IPERF_SECONDS}s each"
# Waits until something accepts on $1:$2 inside the namespace (bash's /dev/tcp).
wait_port() { for _ in $(seq 1 200); do in_ns bash -c "echo > /dev/tcp/$1/$2" 2>/dev/null && return 0; sleep 0.05; done; echo "nothing listens on $1:$2" >&2; return 1; }
# hoist: server on the default network, client in a second container, then through a port.
in_ns "${H[@]}" run -d --name iperf-server -p 127.0.0.1:15201:5201 netbench:latest iperf3 -s >/dev/null
SIP=$(in_ns "${H[@]}" inspect iperf-server | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["NetworkSettings"]["IPAddress"])')
wait_port "$SIP" 5201
in_ns "${H[@]}" run --rm netbench:latest iperf3 -J -t "$IPERF_SECONDS" -c "$SIP" > "$WORK/hoist-c2c.json"
in_ns iperf3 -J -t "$IPERF_SECONDS" -c 127.0.0.1 -p 15201 > "$WORK/hoist-port.json"
in_ns "${H[@]}" rm -f iperf-server >/dev/null
in_ns "${PODMAN[@]}" run -d --name iperf-server --ulimit nofile=16384:16384 --ulimit nproc=16384:16384 \
  -p 127.0.0.1:15202:5201 localhost/netbench iperf3 -s >/dev/null
PIP=$(in_ns "${PODMAN[@]}" inspect -f '{{.NetworkSettings.IPAddress}}' iperf-server)
wait_port "$PIP" 5201
in_ns "${PODMAN[@]}" "${PODMAN_RUN[@]}" localhost/netbench iperf3 -J -t "$IPERF_SECONDS" -c "$PIP" > "$WORK/podman-c2c.json"
in_ns iperf3 -J -t "$IPERF_SECONDS" -c 127.0.0.1 -p 15202 > "$WORK/podman-port.json"
in_ns "${PODMAN[@]}" rm -f iperf-server >/dev/null

python3 - "$WORK" <<'PY'
import json, sys, statistics, os
w = sys.argv[1]
def load(p):
    return {r["command"]: r for r in json.load(open(os.path.join(w, p)))["results"]}
def show(rs, name):
    t = rs[name]["times"]
    print(f"  {name:10s} median {statistics.median(t)*1000:8.1f} ms   min {min(t)*1000:7.1f}   max {max(t)*1000:7.1f}   (n={len(t)})")
    return statistics.median(t)
b = load("bridge.json")
print("run --rm true, default network:")
h = show(b, "hoist"); p = show(b, "podman")
line = f"  ratios: podman/hoist {p/h:.1f}x"
if "docker" in b:
    d = show(b, "docker"); line += f"   docker/hoist {d/h:.1f}x"
print(line + "   (target >= 10x each)")
n = load("none.json")
print("run --rm --network none true:")
hn = show(n, "hoist-none"); c = show(n, "crun")
print(f"  ratio hoist/crun {hn/c:.2f}x (target < 1)")
def gbps(p):
    j = json.load(open(os.path.join(w, p)))
    return j["end"]["sum_received"]["bits_per_second"] / 1e9
print("iperf3 TCP (received, Gbit/s):")
for kind, target in (("c2c", 0.95), ("port", 0.9)):
    hv, pv = gbps(f"hoist-{kind}.json"), gbps(f"podman-{kind}.json")
    print(f"  {kind:5s} hoist {hv:7.2f}   podman {pv:7.2f}   hoist/podman {hv/pv:.2f}x (target >= {target})")
PY

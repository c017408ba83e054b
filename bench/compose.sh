#!/usr/bin/env bash
# Compose benchmark, side by side in one run (issue 16):
#   1. `up -d` of a 10-service project until every service is healthy, then `down`:
#      hoist vs docker-compose 1.29 (with a dockerd of its own) vs podman-compose;
#      target: hoist <= 0.2x each one's time.
#   2. `up -d` of the same project, unchanged and running (the no-op); target <= 50 ms.
# The project: one "db" service and nine that wait for it with service_healthy, each with a
# health check every 200 ms. Everything runs inside a network namespace this script makes
# (each tool makes a bridge network there); nothing leaves the machine.
#
#   bench/compose.sh   RUNS=5 by default; HOIST=path/to/hoist skips the release build;
#                      BENCH_DIR=/var/tmp/x moves the work dir; SKIP_DOCKER=1, SKIP_PODMAN=1
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-5}
WORK=${BENCH_DIR:-/tmp/hoist-bench-compose}
for tool in hyperfine python3 nsenter; do
  command -v "$tool" >/dev/null || { echo "bench/compose.sh: $tool is not installed" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "bench/compose.sh: needs root" >&2; exit 1; }
if [ -z "${HOIST:-}" ]; then
  cargo build --release --bin hoist -q
  HOIST=$PWD/target/release/hoist
fi
NS=hoist-bench-compose-$$
DOCKERD_PID=
in_ns() { nsenter --net="/run/netns/$NS" -- "$@"; }
cleanup() {
  set +e
  (cd "$WORK/bench" 2>/dev/null && in_ns "$HOIST" --root "$WORK/root" compose down -t 0 >/dev/null 2>&1)
  if [ -n "$DOCKERD_PID" ]; then
    (cd "$WORK/bench" && DOCKER_HOST=unix://$WORK/docker/sock docker-compose down -t 0 >/dev/null 2>&1)
    kill "$DOCKERD_PID" && while kill -0 "$DOCKERD_PID" 2>/dev/null; do sleep 0.1; done
    mountpoint -q "$WORK/docker/data" && umount "$WORK/docker/data"
  fi
  if [ -n "${PODMAN_OK:-}" ]; then
    (cd "$WORK/bench" && in_ns podman-compose --podman-args="$PODMAN_ARGS" down -t 0 >/dev/null 2>&1)
    in_ns "${PODMAN[@]}" rm -af -t 0 >/dev/null 2>&1
    # podman-compose's down leaves the project network.
    in_ns "${PODMAN[@]}" network rm -f bench_default >/dev/null 2>&1
  fi
  ip netns del "$NS" 2>/dev/null
  rm -rf "$WORK"
}
rm -rf "$WORK"; mkdir -p "$WORK/bench"
ip netns add "$NS"
trap cleanup EXIT
ip -n "$NS" link set lo up

# The project (named after its directory, bench: docker-compose 1.29 refuses `name:`).
{
  echo "services:"
  for i in db $(seq 1 9); do
    svc=$([ "$i" = db ] && echo db || echo "s$i")
    cat <<SVC
  $svc:
    image: busybox:latest
    command: ["sleep", "3600"]
    stop_grace_period: 1s
    healthcheck: {test: ["CMD", "true"], interval: 200ms, timeout: 2s, retries: 50}
SVC
    [ "$svc" = db ] || printf '    depends_on:\n      db: {condition: service_healthy}\n'
  done
} > "$WORK/bench/compose.yaml"

echo "== preparing: busybox in hoist, docker and podman"
HOIST=$HOIST HOIST_ROOT=$WORK/root bash testdata/make-base-image.sh busybox:latest >/dev/null
SNAP=$(mktemp -d "$WORK/rootfs.XXXX")
cp /bin/busybox "$SNAP/" && mkdir -p "$SNAP/bin" && mv "$SNAP/busybox" "$SNAP/bin/"
for a in sh sleep true; do ln -s busybox "$SNAP/bin/$a"; done
tar -C "$SNAP" -cf "$WORK/rootfs.tar" .

# Waits until every container the tool lists for the project is healthy.
cat > "$WORK/healthy.sh" <<'SH'
#!/usr/bin/env bash
# usage: healthy.sh N CMD... (CMD prints one health status per line)
n=$1; shift
for _ in $(seq 1 600); do
  [ "$("$@" 2>/dev/null | grep -c '^healthy$')" -ge "$n" ] && exit 0
  sleep 0.05
done
echo "not healthy in time" >&2; exit 1
SH
chmod +x "$WORK/healthy.sh"

P=$WORK/bench
H="$HOIST --root $WORK/root"
# One script per tool (hyperfine runs each as a whole): up, wait until healthy, down.
cat > "$WORK/hoist.sh" <<SH
cd $P && nsenter --net=/run/netns/$NS -- $H compose up -d --wait >/dev/null 2>&1 \
  && nsenter --net=/run/netns/$NS -- $H compose down -t 0 >/dev/null 2>&1
SH
cmds=(-n hoist "bash $WORK/hoist.sh")

if [ -z "${SKIP_DOCKER:-}" ] && command -v dockerd >/dev/null && command -v docker-compose >/dev/null; then
  mkdir -p "$WORK/docker"
  nsenter --net="/run/netns/$NS" -- dockerd --data-root "$WORK/docker/data" --exec-root "$WORK/docker/exec" \
    --pidfile "$WORK/docker/pid" -H "unix://$WORK/docker/sock" >"$WORK/docker/log" 2>&1 &
  DOCKERD_PID=$!
  export DOCKER_HOST=unix://$WORK/docker/sock
  for _ in $(seq 1 300); do docker version >/dev/null 2>&1 && break; sleep 0.1; done
  docker import "$WORK/rootfs.tar" busybox:latest >/dev/null
  cat > "$WORK/docker.sh" <<SH
export DOCKER_HOST=$DOCKER_HOST
cd $P && docker-compose up -d >/dev/null 2>&1 || exit 1
$WORK/healthy.sh 10 sh -c "docker ps --filter label=com.docker.compose.project=bench --format '{{.Status}}' | grep -o '(healthy)' | tr -d '()'" || exit 1
docker-compose down -t 0 >/dev/null 2>&1
SH
  cmds+=(-n docker-compose "bash $WORK/docker.sh")
fi

if [ -z "${SKIP_PODMAN:-}" ] && command -v podman-compose >/dev/null; then
  cat > "$WORK/containers.conf" <<CONF
[network]
network_backend = "netavark"
network_config_dir = "$WORK/podman/networks"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
[containers]
default_ulimits = ["nofile=16384:16384", "nproc=16384:16384"]
CONF
  export CONTAINERS_CONF=$WORK/containers.conf
  PODMAN_ARGS="--root $WORK/podman/root --runroot $WORK/podman/run"
  PODMAN=(podman $PODMAN_ARGS)
  in_ns "${PODMAN[@]}" import -q "$WORK/rootfs.tar" docker.io/library/busybox:latest >/dev/null
  PODMAN_OK=1
  cat > "$WORK/podman.sh" <<SH
export CONTAINERS_CONF=$CONTAINERS_CONF
pin() { nsenter --net=/run/netns/$NS -- "\$@"; }
cd $P && pin podman-compose --podman-args="$PODMAN_ARGS" up -d >/dev/null 2>&1 || exit 1
# podman runs health checks from systemd timers, which this machine lacks: each poll runs
# the check of every container as its timer would (podman-compose 1.0.3 ignores
# depends_on conditions, so nothing else waits for health).
$WORK/healthy.sh 10 nsenter --net=/run/netns/$NS -- sh -c 'for c in \$(podman $PODMAN_ARGS ps -q --filter label=io.podman.compose.project=bench); do podman $PODMAN_ARGS healthcheck run \$c >/dev/null 2>&1 && echo healthy; done' || exit 1
pin podman-compose --podman-args="$PODMAN_ARGS" down -t 0 >/dev/null 2>&1
SH
  cmds+=(-n podman-compose "bash $WORK/podman.sh")
fi

echo "== 1. up -d until healthy, then down (10 services, $RUNS runs each)"
hyperfine ${HF_OPTS:-} --warmup 1 --runs "$RUNS" --export-json "$WORK/updown.json" "${cmds[@]}" >/dev/null

echo "== 2. up -d of the unchanged, running project (the no-op)"
in_ns $H compose -f "$P/compose.yaml" up -d --wait >/dev/null 2>&1
hyperfine -N --warmup 3 --runs 30 --export-json "$WORK/noop.json" \
  -n hoist-noop "nsenter --net=/run/netns/$NS -- $H compose -f $P/compose.yaml up -d" >/dev/null
# The same without nsenter and sh (what a user in the namespace pays).
hyperfine -N --warmup 3 --runs 30 --export-json "$WORK/noop-bare.json" \
  -n hoist-noop-bare "$HOIST --root $WORK/root compose -f $P/compose.yaml up -d" >/dev/null

python3 - "$WORK" <<'PY'
import json, sys, statistics, os
w = sys.argv[1]
def load(p):
    return {r["command"]: r for r in json.load(open(os.path.join(w, p)))["results"]}
def show(rs, name):
    t = rs[name]["times"]
    print(f"  {name:16s} median {statistics.median(t)*1000:9.1f} ms   min {min(t)*1000:8.1f}   max {max(t)*1000:8.1f}   (n={len(t)})")
    return statistics.median(t)
u = load("updown.json")
print("up -d until healthy + down, 10 services:")
h = show(u, "hoist")
for other in ("docker-compose", "podman-compose"):
    if other in u:
        o = show(u, other)
        print(f"    hoist/{other} {h/o:.2f}x (target <= 0.2x)")
print("no-op up -d:")
show(load("noop.json"), "hoist-noop")
show(load("noop-bare.json"), "hoist-noop-bare")
print("  (target <= 50 ms)")
PY

#!/usr/bin/env bash
# `run --rm` of an image that is only in a local registry (pull + run), from an empty store
# each time: hoist vs podman vs docker, side by side in one run (hyperfine, medians).
# Target (issue 17): hoist <= 0.5x podman's and docker's time.
#
#   bench/pull-run.sh              RUNS=10 by default; HOIST=path/to/hoist skips the release
#                                  build; BENCH_DIR=/var/tmp/x moves the work dir;
#                                  PEERS="podman docker" (default) picks the peers
#
# The registry is `hoist registry serve` on 127.0.0.1 holding the busybox image of
# testdata/make-base-image.sh (pushed with hoist). Before each run: hoist gets a fresh --root;
# podman `rmi -af` in its own --root/--runroot; docker `rmi -f` on a dockerd this script starts
# with its own data root, exec root, socket and pidfile, stopped by its PID at the end.
# Everything runs in a network namespace made for this run (dockerd sets up its bridge and
# iptables chains there, never in the host's); the containers use `--network none` so
# network setup is not what is measured. 127.0.0.1 is an insecure (plain HTTP) registry by
# default for hoist and docker; podman is told so with --tls-verify=false.
set -euo pipefail
cd "$(dirname "$0")/.."

. bench/lib/netns.sh
bench_in_own_netns pull-run "$0" "$@"

RUNS=${RUNS:-10}
PEERS=" ${PEERS:-podman docker} "
WORK=${BENCH_DIR:-/tmp/hoist-bench-pull-run}
for tool in hyperfine python3 podman docker dockerd; do
  command -v "$tool" >/dev/null || { echo "bench/pull-run.sh: $tool is not installed (testdata/install-peers.sh installs it)" >&2; exit 1; }
done
if [ -z "${HOIST:-}" ]; then
  cargo build --release --bin hoist -q
  HOIST=$PWD/target/release/hoist
fi
rm -rf "$WORK"; mkdir -p "$WORK"

PIDS=()
DOCKERD_PID=
cleanup() {
  if [ -n "$DOCKERD_PID" ]; then
    # SIGTERM lets dockerd stop its containerd and unmount what it mounted.
    kill -TERM "$DOCKERD_PID" 2>/dev/null || true
    for _ in $(seq 1 200); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$DOCKERD_PID" 2>/dev/null || true
  fi
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  "${PODMAN[@]}" rmi -af >/dev/null 2>&1 || true
  umount -R "$WORK"/podman-root/overlay 2>/dev/null || true
  umount -R "$WORK"/docker/data 2>/dev/null || true
  rm -rf "$WORK" 2>/dev/null || true
}
trap cleanup EXIT

wait_for() { # wait_for WHAT COMMAND...: up to 60 s
  local what=$1; shift
  for _ in $(seq 1 600); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "bench/pull-run.sh: $what did not come up" >&2; exit 1
}

echo "== registry on 127.0.0.1 with busybox (hoist registry serve, pushed with hoist)"
PORT=5123
REG=127.0.0.1:$PORT
IMG=$REG/bench/busybox:1
HOIST_LOG=warn "$HOIST" --root "$WORK/registry-root" registry serve --addr "$REG" \
  --storage-root "$WORK/registry" >"$WORK/registry.log" 2>&1 &
PIDS+=($!)
wait_for registry bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT"
HOIST=$HOIST HOIST_ROOT=$WORK/prep-root bash testdata/make-base-image.sh busybox:latest >/dev/null
"$HOIST" --root "$WORK/prep-root" tag busybox:latest "$IMG"
"$HOIST" --root "$WORK/prep-root" push --tls-verify=false "$IMG" >/dev/null 2>&1

PODMAN=(podman --root "$WORK/podman-root" --runroot "$WORK/podman-runroot"
  --storage-driver overlay --cgroup-manager cgroupfs --events-backend file)
PODMAN_RUN="run --rm --network none --tls-verify=false --ulimit nofile=16384:16384 --ulimit nproc=16384:16384"
if [[ $PEERS == *" docker "* ]]; then
  echo "== dockerd of this run ($WORK/docker)"
  mkdir -p "$WORK/docker"
  dockerd --data-root "$WORK/docker/data" --exec-root "$WORK/docker/exec" \
    --pidfile "$WORK/docker/docker.pid" -H "unix://$WORK/docker/docker.sock" \
    >"$WORK/docker/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  export DOCKER_HOST=unix://$WORK/docker/docker.sock
  wait_for dockerd docker version
fi

# Each side checks once that it really pulls and runs (and fails loudly if not).
"$HOIST" --root "$WORK/check-root" run --rm --network none "$IMG" true
[[ $PEERS == *" podman "* ]] && "${PODMAN[@]}" $PODMAN_RUN "$IMG" true
[[ $PEERS == *" docker "* ]] && docker run --rm --network none "$IMG" true
rm -rf "$WORK/check-root"
sync

echo "== run --rm of $IMG from an empty store (nproc=$(nproc), $RUNS runs each, load $(cut -d' ' -f1-3 /proc/loadavg))"
args=(-n hoist --prepare "rm -rf $WORK/hoist-root"
  "$HOIST --root $WORK/hoist-root run --rm --network none $IMG true")
[[ $PEERS == *" podman "* ]] && args+=(-n podman --prepare "bash -c '${PODMAN[*]} rmi -af >/dev/null 2>&1 || true'"
  "${PODMAN[*]} $PODMAN_RUN $IMG true")
[[ $PEERS == *" docker "* ]] && args+=(-n docker --prepare "bash -c 'docker rmi -f $IMG >/dev/null 2>&1 || true'"
  "docker run --rm --network none $IMG true")
hyperfine -N --runs "$RUNS" --export-json "$WORK/results.json" "${args[@]}" >/dev/null

python3 - "$WORK/results.json" <<'PY'
import json, statistics, sys
rs = {r["command"]: r["times"] for r in json.load(open(sys.argv[1]))["results"]}
med = {k: statistics.median(t) * 1000 for k, t in rs.items()}
for k, t in rs.items():
    print(f"  {k:8} median {med[k]:8.1f} ms   min {min(t)*1000:8.1f}   max {max(t)*1000:8.1f}   (n={len(t)})")
for peer in ("podman", "docker"):
    if peer in med:
        print(f"  hoist/{peer} {med['hoist'] / med[peer]:.3f}x (target <= 0.5x)")
PY

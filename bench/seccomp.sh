#!/usr/bin/env bash
# What the default seccomp profile costs at start (hyperfine, medians):
#   `hoist run --rm --network none busybox true` with the default profile
#   vs the same with `--security-opt seccomp=unconfined` (target <= 1.05x:
#   the compiled filter is cached under the store, the child only loads it)
#   vs `podman run --rm` with its default profile (target: hoist >= 10x faster);
#   and the default with the store's cache removed before each run (compile cost).
# ROUNDS rounds of RUNS runs each, the order of the two hoist variants
# swapped every round (a machine's load drifts more than the difference),
# then CPU_RUNS runs of each alternating one by one under `perf stat` (CPU
# time of every process of the run, which load disturbs far less).
#
#   bench/seccomp.sh    RUNS=20 ROUNDS=4 CPU_RUNS=100 by default; HOIST=path/to/hoist skips the
#                       release build; BENCH_DIR=/var/tmp/x moves the work dir
set -euo pipefail
cd "$(dirname "$0")/.."

# podman and hoist both run with --network none, but podman may still touch
# netavark's state: everything runs in a network namespace made for this run.
. bench/lib/netns.sh
bench_in_own_netns seccomp "$0" "$@"

RUNS=${RUNS:-20}
ROUNDS=${ROUNDS:-4}
CPU_RUNS=${CPU_RUNS:-100}
WORK=${BENCH_DIR:-/tmp/hoist-bench-seccomp}
for tool in hyperfine podman python3; do
  command -v "$tool" >/dev/null || { echo "bench/seccomp.sh: $tool is not installed (testdata/install-peers.sh installs it)" >&2; exit 1; }
done
if [ -z "${HOIST:-}" ]; then
  cargo build --release --bin hoist -q
  HOIST=${CARGO_TARGET_DIR:-$PWD/target}/release/hoist
fi
rm -rf "$WORK"; mkdir -p "$WORK"
ROOT=$WORK/root
export HOIST_ROOT=$ROOT
PODMAN=(podman --root "$WORK/podman-root" --runroot "$WORK/podman-run" --storage-driver vfs
        --cgroup-manager cgroupfs --events-backend file)
PODMAN_RUN=(run --rm --network none --ulimit nofile=16384:16384 --ulimit nproc=16384:16384)
RUN=(run --rm --network none)

echo "== load average at start: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)"
echo "== preparing: busybox in hoist (snapshot unpacked, profile compiled) and in podman"
HOIST=$HOIST HOIST_ROOT=$ROOT bash testdata/make-base-image.sh busybox:latest >/dev/null
"$HOIST" "${RUN[@]}" busybox true
"$HOIST" "${RUN[@]}" --security-opt seccomp=unconfined busybox true
SNAP=$(ls -d "$ROOT"/snapshots/*/ | head -1)
tar -C "$SNAP" -cf "$WORK/busybox.tar" .
"${PODMAN[@]}" import "$WORK/busybox.tar" localhost/hoist-bench-busybox >/dev/null
"${PODMAN[@]}" "${PODMAN_RUN[@]}" localhost/hoist-bench-busybox true
sync

for round in $(seq "$ROUNDS"); do
  default=(-n default "$HOIST ${RUN[*]} busybox true")
  unconfined=(-n unconfined "$HOIST ${RUN[*]} --security-opt seccomp=unconfined busybox true")
  if [ $((round % 2)) = 1 ]; then order=("${default[@]}" "${unconfined[@]}"); else order=("${unconfined[@]}" "${default[@]}"); fi
  hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$WORK/round$round.json" "${order[@]}" >/dev/null
done
# CPU per run (perf stat's task-clock over every process of the run: the CLI,
# the monitor, the container), alternating the two variants run by run: at a
# load average of 10 the wall-clock medians swing by more than the filter
# costs, CPU time much less.
if command -v perf >/dev/null; then
  for i in $(seq "$CPU_RUNS"); do
    for v in default unconfined; do
      extra=(); [ "$v" = default ] || extra=(--security-opt seccomp=unconfined)
      perf stat -x, -e task-clock -o "$WORK/perf.txt" -- "$HOIST" "${RUN[@]}" "${extra[@]}" busybox true
      echo "$v $(grep task-clock "$WORK/perf.txt" | cut -d, -f1)" >>"$WORK/cpu.txt"
    done
  done
fi
# What the cache saves: the same run with the store's compiled program removed
# first (libseccomp compiles the profile again in the monitor).
hyperfine -N --warmup 2 --runs "$RUNS" --export-json "$WORK/uncached.json" \
  --prepare "rm -rf $ROOT/seccomp" -n uncached "$HOIST ${RUN[*]} busybox true" >/dev/null
hyperfine -N --warmup 2 --runs "$RUNS" --export-json "$WORK/podman.json" \
  -n podman "${PODMAN[*]} ${PODMAN_RUN[*]} localhost/hoist-bench-busybox true" >/dev/null

echo "== load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$WORK" "$ROUNDS" <<'PY'
import json, statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
times = {"default": [], "unconfined": []}
per_round = []
for r in range(1, rounds + 1):
    res = {x["command"]: x["times"] for x in json.load(open(f"{work}/round{r}.json"))["results"]}
    for k in times:
        times[k] += res[k]
    per_round.append(statistics.median(res["default"]) / statistics.median(res["unconfined"]))
podman = json.load(open(f"{work}/podman.json"))["results"][0]["times"]
uncached = json.load(open(f"{work}/uncached.json"))["results"][0]["times"]
med = {k: statistics.median(v) for k, v in times.items()}
p = statistics.median(podman)
for k, v in times.items():
    print(f"  hoist {k:11s} median {med[k]*1000:7.2f} ms  min {min(v)*1000:7.2f}  max {max(v)*1000:7.2f}  (n={len(v)})")
print(f"  podman            median {p*1000:7.2f} ms  min {min(podman)*1000:7.2f}  max {max(podman)*1000:7.2f}  (n={len(podman)})")
print(f"  hoist uncached    median {statistics.median(uncached)*1000:7.2f} ms  (profile compiled in the run: +{(statistics.median(uncached)-med['default'])*1000:.2f} ms)")
print(f"  default/unconfined {med['default']/med['unconfined']:.3f}x (target <= 1.05); per round: "
      + ", ".join(f"{x:.3f}" for x in per_round))
print(f"  podman/hoist default {p/med['default']:.1f}x (target >= 10)")
try:
    cpu = {"default": [], "unconfined": []}
    for line in open(f"{work}/cpu.txt"):
        k, v = line.split()
        cpu[k].append(float(v))
    c = {k: statistics.median(v) for k, v in cpu.items()}
    print(f"  CPU per run (perf task-clock, n={len(cpu['default'])} each): default {c['default']:.2f} ms, "
          f"unconfined {c['unconfined']:.2f} ms: +{c['default']-c['unconfined']:.2f} ms, "
          f"{c['default']/c['unconfined']:.3f}x; minima {min(cpu['default']):.2f} / {min(cpu['unconfined']):.2f} ms "
          f"({min(cpu['default'])/min(cpu['unconfined']):.3f}x); means {statistics.mean(cpu['default']):.2f} / "
          f"{statistics.mean(cpu['unconfined']):.2f} ms ({statistics.mean(cpu['default'])/statistics.mean(cpu['unconfined']):.3f}x)")
except FileNotFoundError:
    print("  (perf is not installed: no CPU figures)")
PY
"${PODMAN[@]}" rmi -f localhost/hoist-bench-busybox >/dev/null 2>&1 || true
rm -rf "$WORK"

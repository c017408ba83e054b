#!/usr/bin/env bash
# CLI listing benchmark: `ps -a`, `images` and `inspect` of hoist vs podman on the same
# store counts (2,000 containers, 500 images by default), and what `--format` and
# `--filter` cost over the plain command.
#
#   bench/cli.sh                              # 2,000 containers, 500 images, 10 runs each
#   CONTAINERS=200 IMAGES=50 bench/cli.sh     # smaller stores
#   HOIST=target/release/hoist RUNS=20 bench/cli.sh
#   BENCH_KEEP=1 bench/cli.sh                 # keep hoist's store; BENCH_REUSE=1 then reuses
#                                             # it (only what is missing is created);
#                                             # BENCH_SETUP_ONLY=1 stops before measuring
#   BENCH_PODMAN_REBUILD=1 bench/cli.sh       # make podman's store again
#
# podman's store is kept between runs in $PODMAN_DIR (/var/tmp/hoist-bench-cli-podman):
# its 2,000 creates take ~15 min even 4 at a time, and what is already there (the same
# names) is reused; only what is missing is created.
#
# Containers are created, never started (`create` is all a listing needs, and cheap);
# images are names (`tag`) of one busybox image, as `images` lists one row per name.
# Targets (issue 17): `ps -a` <= 30 ms, each >= 10x podman; --format/--filter <= 1.2x plain.
# (hyperfine -N splits commands as a shell would, quotes included, but runs no shell.)
# podman keeps its own storage under BENCH_DIR; nothing of the host's stores is touched.
set -euo pipefail
cd "$(dirname "$0")/.."

CONTAINERS=${CONTAINERS:-2000}
IMAGES=${IMAGES:-500}
RUNS=${RUNS:-10}
WORK=${BENCH_DIR:-/tmp/hoist-bench-cli}
PODMAN_DIR=${PODMAN_DIR:-/var/tmp/hoist-bench-cli-podman}
JOBS=${JOBS:-4}
for tool in hyperfine podman python3 tar xargs; do
  command -v "$tool" >/dev/null || { echo "bench/cli.sh: $tool is not installed (testdata/install-peers.sh installs it)" >&2; exit 1; }
done
[ -x /bin/busybox ] || { echo "bench/cli.sh: /bin/busybox is missing (apt-get install busybox-static)" >&2; exit 1; }
if [ -z "${HOIST:-}" ]; then
  echo "building hoist (release) ..."
  cargo build --release -q --bin hoist
  HOIST=$PWD/target/release/hoist
fi

[ "${BENCH_REUSE:-}" = 1 ] || rm -rf "$WORK"
mkdir -p "$WORK"
ROOT=$WORK/hoist-root
PODMAN="podman --root $PODMAN_DIR/root --runroot $PODMAN_DIR/runroot --storage-driver overlay --cgroup-manager cgroupfs --events-backend none"
mkdir -p "$PODMAN_DIR/tmp"
# File locks in the store's own tmp dir: podman's default shm locks are one table of 2,048
# for every podman store on the machine (tests' included), too few for 2,000 containers.
cat > "$PODMAN_DIR/containers.conf" <<CONF
[engine]
lock_type = "file"
tmp_dir = "$PODMAN_DIR/tmp"
CONF
export CONTAINERS_CONF=$PODMAN_DIR/containers.conf
if [ "${BENCH_PODMAN_REBUILD:-}" = 1 ] && [ -d "$PODMAN_DIR" ]; then
  $PODMAN rm -af >/dev/null 2>&1 || true
  $PODMAN system reset -f >/dev/null 2>&1 || true
  rm -rf "$PODMAN_DIR/root" "$PODMAN_DIR/runroot"
fi
cleanup() {
  [ "${BENCH_KEEP:-}" = 1 ] && return
  rm -rf "$WORK"
}
trap cleanup EXIT
export HOIST_DEFAULT_NETWORK=none

echo "== store: $CONTAINERS containers, $IMAGES image names (hoist and podman)"
if [ ! -f "$WORK/rootfs.tar" ]; then
  mkdir -p "$WORK/rootfs/bin"
  cp /bin/busybox "$WORK/rootfs/bin/busybox"
  tar -C "$WORK/rootfs" -cf "$WORK/rootfs.tar" .
  "$HOIST" --root "$ROOT" import "$WORK/rootfs.tar" -t bench/box:0 >/dev/null 2>&1
fi
$PODMAN image exists bench/box:0 || $PODMAN import -q "$WORK/rootfs.tar" bench/box:0 >/dev/null
# What exists already (BENCH_REUSE=1) is not made again.
"$HOIST" --root "$ROOT" images --format '{{.Repository}}:{{.Tag}}' > "$WORK/hoist-images"
$PODMAN images --format '{{.Repository}}:{{.Tag}}' | sed 's|^localhost/||' > "$WORK/podman-images"
"$HOIST" --root "$ROOT" ps -a --format '{{.Names}}' > "$WORK/hoist-names"
$PODMAN ps -a --format '{{.Names}}' > "$WORK/podman-names"
has() { grep -qx "$2" "$1"; }
for i in $(seq 1 $((IMAGES - 1))); do
  has "$WORK/hoist-images" "bench/box:$i" || "$HOIST" --root "$ROOT" tag bench/box:0 "bench/box:$i"
  has "$WORK/podman-images" "bench/box:$i" || $PODMAN tag bench/box:0 "bench/box:$i"
done
start=$(date +%s)
for i in $(seq 1 "$CONTAINERS"); do
  has "$WORK/hoist-names" "c$i" && continue
  "$HOIST" --root "$ROOT" create --name "c$i" --network none --label "n=$((i % 10))" bench/box:0 /bin/busybox true >/dev/null
done
echo "hoist: creates in $(( $(date +%s) - start )) s"
start=$(date +%s)
# podman's locks allow concurrent creates in one store: JOBS at a time.
for i in $(seq 1 "$CONTAINERS"); do
  has "$WORK/podman-names" "c$i" || echo "$i"
done | xargs -r -P "$JOBS" -I{} sh -c \
  "$PODMAN create --name c{} --network none --label n=\$(({} % 10)) bench/box:0 /bin/busybox true >/dev/null"
echo "podman: creates in $(( $(date +%s) - start )) s (store kept in $PODMAN_DIR)"
[ "${BENCH_SETUP_ONLY:-}" = 1 ] && exit 0

H="$HOIST --root $ROOT"
MID=$((CONTAINERS / 2))
results=$WORK/results.json
hyperfine -N --warmup 2 --runs "$RUNS" --export-json "$results" \
  -n "hoist ps -a" "$H ps -a" \
  -n "podman ps -a" "$PODMAN ps -a" \
  -n "hoist images" "$H images" \
  -n "podman images" "$PODMAN images" \
  -n "hoist inspect" "$H inspect c$MID" \
  -n "podman inspect" "$PODMAN inspect c$MID" \
  -n "hoist ps -a --format" "$H ps -a --format '{{.Names}} {{.Status}} {{json .Labels}}'" \
  -n "hoist ps -a --format table" "$H ps -a --format 'table {{.ID}}\t{{.Names}}\t{{.Status}}'" \
  -n "hoist ps -a --filter" "$H ps -a --filter label=n=3 --filter status=created" \
  -n "hoist images --format" "$H images --format {{.Repository}}:{{.Tag}}" \
  -n "hoist images --filter" "$H images --filter reference=bench/*" \
  -n "hoist inspect --format" "$H inspect --format {{.State.Status}} c$MID" \
  >/dev/null

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$results" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
r = {x["command"]: x["mean"] * 1000 for x in results}
# CPU (user + system) is the steadier figure on a loaded machine; wall time is what users see.
cpu = {x["command"]: (x["user"] + x["system"]) * 1000 for x in results}
print(f"{'command':34} {'mean ms':>9} {'cpu ms':>8}")
for k, v in r.items():
    print(f"{k:34} {v:9.2f} {cpu[k]:8.2f}")
print()
for verb in ["ps -a", "images", "inspect"]:
    h, p = r[f"hoist {verb}"], r[f"podman {verb}"]
    print(f"{verb:10} hoist {h:7.2f} ms  podman {p:8.2f} ms  podman/hoist {p / h:6.1f}x")
for extra, base in [("ps -a --format", "ps -a"), ("ps -a --format table", "ps -a"),
                    ("ps -a --filter", "ps -a"), ("images --format", "images"),
                    ("images --filter", "images"), ("inspect --format", "inspect")]:
    e, b = "hoist " + extra, "hoist " + base
    print(f"{extra:22} / {base:8} {r[e] / r[b]:5.2f}x  (cpu {cpu[e] / cpu[b]:5.2f}x)")
PY

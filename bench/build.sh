#!/usr/bin/env bash
# Builder benchmark: hoist vs `buildah bud --format docker --layers`, side by
# side in the same run, building bench/Dockerfile.bench (RUN steps writing
# 32 MiB, a COPY of a 10,000-file context, HEALTHCHECK, CMD) from the same
# busybox base imported into each tool's own store:
#   cold       every step runs (--no-cache; the base is already there)
#   cached     nothing changed: every step is a cache hit
#   one-file   one file of the COPY'd context changed before each build
#
#   cache-mount  a RUN step fills a cache mount (RUN --mount=type=cache) from a
#                local HTTP server (python3 http.server on this namespace's
#                loopback, standing in for a package mirror): the step's own
#                time with the cache empty (after `hoist builder prune`) vs warm
#
#   ci-cache     the CI scenario: an empty store, a registry cache from an earlier
#                build, one source file changed, build + push: hoist
#                (--cache-from/--cache-to type=registry) vs `buildah bud --layers
#                --cache-from/--cache-to` + `buildah push`, both against hoist's
#                registry on this namespace's loopback, the base pulled from it
#
#   bench/build.sh                 # 5 measured runs each (RUNS=N to change)
#   HOIST=target/release/hoist BENCH_DIR=/var/tmp/x bench/build.sh
#   BENCH_ONLY=cache-mount bench/build.sh   # only the cache-mount scenario
#   BENCH_ONLY=ci-cache bench/build.sh      # only the CI registry-cache scenario
#
# Targets (BENCHMARKS.md): cold <= 0.8x buildah; fully cached rebuild <= 0.2 s;
# cache-mount: the warm step <= 0.2x the cold one; ci-cache: <= 0.5x buildah.
# buildah keeps its own storage under BENCH_DIR, so other images are untouched.
set -euo pipefail
cd "$(dirname "$0")/.."

# buildah's RUN steps and hoist's `--network default` set up container networks (netavark,
# bridges, NAT): the measurement runs in a network namespace made for it, never the host's.
if [ -z "${HOIST_BENCH_NETNS:-}" ]; then
  [ -n "${HOIST:-}" ] || { cargo build --release --bin hoist -q; export HOIST=$PWD/target/release/hoist; }
  ns=hoist-bench-build-$$
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  rc=0
  HOIST_BENCH_NETNS=$ns nsenter --net="/run/netns/$ns" -- bash "$0" "$@" || rc=$?
  ip netns del "$ns"
  exit "$rc"
fi

RUNS=${RUNS:-5}
WORK=${BENCH_DIR:-/tmp/hoist-bench-build}
NEEDED="hyperfine buildah python3 tar"
[ "${BENCH_ONLY:-}" = cache-mount ] && NEEDED="python3"
for tool in $NEEDED; do
  command -v "$tool" >/dev/null || { echo "bench/build.sh: $tool is not installed (testdata/install-peers.sh installs it)" >&2; exit 1; }
done
if [ -z "${HOIST:-}" ]; then
  echo "building hoist (release) ..."
  cargo build --release -q --bin hoist
  HOIST=$PWD/target/release/hoist
fi
[ -x /bin/busybox ] || { echo "bench/build.sh: /bin/busybox is missing (apt-get install busybox-static)" >&2; exit 1; }

rm -rf "$WORK"
mkdir -p "$WORK"
CTX=$WORK/context
ROOT=$WORK/hoist-root
BUILDAH="buildah --root $WORK/buildah-root --runroot $WORK/buildah-runroot --storage-driver overlay"
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; fi
  [ "${BENCH_ONLY:-}" = cache-mount ] && { rm -rf "$WORK"; return; }
  $BUILDAH rm --all >/dev/null 2>&1 || true
  # buildah's overlay storage mounts its layers; unmount before removing.
  umount -R "$WORK/buildah-root/overlay" 2>/dev/null || true
  umount -R "$WORK/ci-buildah-root/overlay" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "making the base image and a 10,000-file context in $WORK ..."
rootfs=$WORK/rootfs
mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,root,home,proc,sys,dev}
chmod 1777 "$rootfs/tmp"
cp /bin/busybox "$rootfs/bin/busybox"
for applet in $(/bin/busybox --list-full); do
  [ "$applet" = bin/busybox ] || ln -sf /bin/busybox "$rootfs/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$rootfs/etc/passwd"
printf 'root:x:0:\n' > "$rootfs/etc/group"
find "$rootfs" -exec touch -h -d @0 {} +
PATHENV=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
"$HOIST" --root "$ROOT" import "$rootfs" -t localhost/busybox-bench:latest \
  --change 'CMD ["sh"]' --change "ENV PATH=$PATHENV" >/dev/null

cache_mount_bench() {
  # The mirror: 200 files of 512 KiB on this namespace's loopback.
  local mirror=$WORK/mirror ctx=$WORK/cache-ctx port=18931 i ns
  mkdir -p "$mirror" "$ctx"
  python3 - "$mirror" <<'PY'
import os, sys
for i in range(200):
    with open(os.path.join(sys.argv[1], f"pkg{i:03}.bin"), "wb") as f:
        f.write(os.urandom(512 * 1024))
PY
  python3 -m http.server --bind 127.0.0.1 --directory "$mirror" "$port" >/dev/null 2>&1 &
  SERVER_PID=$!
  python3 - "$port" <<'PY'
import socket, sys, time
for _ in range(100):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2).close()
        break
    except OSError:
        time.sleep(0.05)
else:
    sys.exit("the mirror did not start")
PY
  cat > "$ctx/Dockerfile" <<EOF
FROM localhost/busybox-bench:latest
ARG STAMP
RUN --network=host --mount=type=cache,target=/var/cache/pkgs sh -c 't0=\$(cut -d" " -f1 /proc/uptime | tr -d .); cd /var/cache/pkgs; for i in \$(seq -w 0 199); do [ -f pkg\$i.bin ] || wget -q http://127.0.0.1:$port/pkg\$i.bin; done; test \$(ls | wc -l) -eq 200 || { echo "the mirror download failed"; exit 1; }; t1=\$(cut -d" " -f1 /proc/uptime | tr -d .); echo "STEP_CS=\$((t1 - t0)) \$STAMP"'
EOF
  # The step times itself (busybox's date has no %N: /proc/uptime's centiseconds).
  step_cs() {
    "$HOIST" --root "$ROOT" build --progress plain --build-arg "STAMP=$1" "$ctx" >"$WORK/cache-build.log" 2>&1 \
      || { cat "$WORK/cache-build.log" >&2; return 1; }
    sed -n "s/.*STEP_CS=\([0-9]*\) $1\$/\1/p" "$WORK/cache-build.log"
  }
  local cold=() warm=()
  for i in $(seq 1 "$RUNS"); do
    "$HOIST" --root "$ROOT" builder prune >/dev/null
    cold+=("$(step_cs "cold$i")")
    warm+=("$(step_cs "warm$i")")
  done
  kill "$SERVER_PID"
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
  python3 - "${cold[*]}" "${warm[*]}" <<'PY'
import statistics, sys
cold = [int(x) / 100 for x in sys.argv[1].split()]
warm = [int(x) / 100 for x in sys.argv[2].split()]
if len(cold) != len(warm) or not cold:
    sys.exit("cache-mount: a build did not report its step time")
cell = lambda t: f"{statistics.median(t):.3f}s ({min(t):.3f}-{max(t):.3f})"
print()
print(f"{'cache-mount step':<18} {'cold (empty cache)':<26} {'warm':<26} warm/cold")
ratio = statistics.median(warm) / statistics.median(cold)
print(f"{'200 x 512 KiB':<18} {cell(cold):<26} {cell(warm):<26} {ratio:.3f}x (target <= 0.2x; 10 ms resolution)")
PY
}
if [ "${BENCH_ONLY:-}" = cache-mount ]; then
  cache_mount_bench
  exit 0
fi

ci_cache_bench() {
  local port=18932 reg ctx=$WORK/ci-ctx hroot=$WORK/ci-hoist-root i t0
  reg=127.0.0.1:$port
  local bci="buildah --root $WORK/ci-buildah-root --runroot $WORK/ci-buildah-runroot --storage-driver overlay"
  "$HOIST" --root "$WORK/ci-registry-root" registry serve --addr "$reg" \
    --storage-root "$WORK/ci-registry" >"$WORK/ci-registry.log" 2>&1 &
  SERVER_PID=$!
  python3 - "$port" <<'PY'
import socket, sys, time
for _ in range(100):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2).close()
        break
    except OSError:
        time.sleep(0.05)
else:
    sys.exit("the registry did not start")
PY
  "$HOIST" --root "$ROOT" tag localhost/busybox-bench:latest "$reg/bench/busybox:1" >/dev/null
  "$HOIST" --root "$ROOT" push --tls-verify=false "$reg/bench/busybox:1" >/dev/null 2>&1
  mkdir -p "$ctx"
  cp -a "$CTX/files" "$ctx/files"
  sed "s|^FROM .*|FROM $reg/bench/busybox:1|" bench/Dockerfile.bench > "$ctx/Dockerfile"
  # CPU time (user+sys, children included) of each timed command: a figure
  # the machine's load hardly moves, unlike the wall-clock time.
  cpu() { local out=$1; shift; /usr/bin/time -f "%U %S" -a -o "$out" "$@"; }
  hoist_ci() {
    cpu "$WORK/cpu-hoist" "$HOIST" --root "$hroot" build --progress quiet --tls-verify=false \
      --cache-from "type=registry,ref=$reg/cache/hoist:ci" \
      --cache-to "type=registry,ref=$reg/cache/hoist:ci,mode=max" \
      -t "$reg/app/hoist:ci" --push "$ctx" >/dev/null
  }
  buildah_ci() {
    cpu "$WORK/cpu-buildah" $bci bud --quiet --format docker --layers --tls-verify=false \
      --cache-from "$reg/cache/buildah" --cache-to "$reg/cache/buildah" \
      -t "$reg/app/buildah:ci" "$ctx" >/dev/null
    cpu "$WORK/cpu-buildah" $bci push --quiet --tls-verify=false "$reg/app/buildah:ci" >/dev/null
  }
  empty_buildah() {
    $bci rm --all >/dev/null 2>&1 || true
    $bci rmi --all --force >/dev/null 2>&1 || true
  }
  # The earlier build that filled each cache.
  hoist_ci
  buildah_ci
  local h=() b=()
  rm -f "$WORK/cpu-hoist" "$WORK/cpu-buildah"
  for i in $(seq 1 "$RUNS"); do
    date +%s%N > "$ctx/files/d00/f000.txt"
    rm -rf "$hroot"
    t0=$(date +%s%N); hoist_ci; h+=($(( $(date +%s%N) - t0 )))
    empty_buildah
    t0=$(date +%s%N); buildah_ci; b+=($(( $(date +%s%N) - t0 )))
  done
  empty_buildah
  # Proof that hoist reused the cache: the last build ran only the COPY's successors.
  rm -rf "$hroot"
  "$HOIST" --root "$hroot" build --progress plain --tls-verify=false \
    --cache-from "type=registry,ref=$reg/cache/hoist:ci" "$ctx" 2>&1 >/dev/null \
    | grep -c 'Fetched cached layer' | sed 's/^/hoist layers fetched from the cache on the last run: /'
  kill "$SERVER_PID"
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
  python3 - "${h[*]}" "${b[*]}" "$WORK/cpu-hoist" "$WORK/cpu-buildah" <<'PY'
import statistics, sys
h = [int(x) / 1e9 for x in sys.argv[1].split()]
b = [int(x) / 1e9 for x in sys.argv[2].split()]
def cpu(path, per_run):
    lines = [sum(map(float, l.split())) for l in open(path) if l[:1].isdigit()]
    return [sum(lines[i:i + per_run]) for i in range(0, len(lines), per_run)]
cell = lambda t: f"{statistics.median(t):.3f}s ({min(t):.3f}-{max(t):.3f})"
print()
print(f"{'ci-cache':<10} {'hoist median (min-max)':<26} {'buildah median (min-max)':<26} hoist/buildah")
print(f"{'build+push':<10} {cell(h):<26} {cell(b):<26} {statistics.median(h) / statistics.median(b):.2f}x (target <= 0.5x)")
ch, cb = cpu(sys.argv[3], 1), cpu(sys.argv[4], 2)
print(f"{'cpu u+s':<10} {cell(ch):<26} {cell(cb):<26} {statistics.median(ch) / statistics.median(cb):.2f}x")
PY
}
tar -C "$rootfs" -cf "$WORK/rootfs.tar" .
ctr=$($BUILDAH from scratch)
$BUILDAH add "$ctr" "$WORK/rootfs.tar" / >/dev/null
$BUILDAH config --env PATH=$PATHENV --cmd sh "$ctr"
$BUILDAH commit -q "$ctr" localhost/busybox-bench:latest >/dev/null
$BUILDAH rm "$ctr" >/dev/null

python3 - "$CTX" <<'PY'
import os, random, sys
root = sys.argv[1]
rng = random.Random(7)
for d in range(100):
    dd = os.path.join(root, "files", f"d{d:02}")
    os.makedirs(dd)
    for f in range(100):
        with open(os.path.join(dd, f"f{f:03}.txt"), "w") as fh:
            fh.write(("line %d of file %d/%d\n" % (rng.randrange(10**6), d, f)) * rng.randint(5, 100))
PY
cp bench/Dockerfile.bench "$CTX/Dockerfile"
if [ "${BENCH_ONLY:-}" = ci-cache ]; then
  ci_cache_bench
  exit 0
fi
echo "context: $(find "$CTX/files" -type f | wc -l) files, $(du -sh --apparent-size "$CTX/files" | cut -f1); $(nproc) cores"

H="$HOIST --root $ROOT build --progress quiet -t bench"
B="$BUILDAH bud --quiet --format docker --layers -t bench"
CHANGE="date +%s%N > $CTX/files/d00/f000.txt"

hyperfine ${HYPERFINE_OPTS:-} --runs "$RUNS" --warmup 1 --export-json "$WORK/cold.json" \
  -n hoist "$H --no-cache $CTX >/dev/null" -n buildah "$B --no-cache $CTX >/dev/null"
hyperfine ${HYPERFINE_OPTS:-} --runs "$RUNS" --warmup 1 --export-json "$WORK/cached.json" \
  -n hoist "$H $CTX >/dev/null" -n buildah "$B $CTX >/dev/null"
hyperfine ${HYPERFINE_OPTS:-} --runs "$RUNS" --warmup 1 --export-json "$WORK/one-file.json" \
  --prepare "$CHANGE" -n hoist "$H $CTX >/dev/null" -n buildah "$B $CTX >/dev/null"

# The images really are equivalent: both kept the HEALTHCHECK.
"$HOIST" --root "$ROOT" inspect bench | grep -q '"Healthcheck"' || { echo "hoist image lacks Healthcheck" >&2; exit 1; }
$BUILDAH inspect bench | grep -q '"Healthcheck"' || { echo "buildah image lacks Healthcheck" >&2; exit 1; }

python3 - "$WORK" <<'PY'
import json, statistics, sys
work = sys.argv[1]
print()
print(f"{'workload':<10} {'hoist median (min-max)':<26} {'buildah median (min-max)':<26} hoist/buildah")
for name in ["cold", "cached", "one-file"]:
    data = {r["command"]: r["times"] for r in json.load(open(f"{work}/{name}.json"))["results"]}
    h, b = data["hoist"], data["buildah"]
    cell = lambda t: f"{statistics.median(t):.3f}s ({min(t):.3f}-{max(t):.3f})"
    print(f"{name:<10} {cell(h):<26} {cell(b):<26} {statistics.median(h) / statistics.median(b):.2f}x")
PY
cache_mount_bench
ci_cache_bench

#!/usr/bin/env bash
# Rootless benchmarks (issue 19), side by side as the same ordinary user:
#   run    `hoist run --rm --network none busybox true`
#          vs `podman run --rm --network none busybox true`     target: >= 10x faster
#   build  `hoist build` of bench/Dockerfile.bench (RUN steps writing 32 MiB, a COPY of a
#          10,000-file context, HEALTHCHECK, CMD) vs `buildah bud --format docker --layers`,
#          both from a cold cache                                target: <= 0.8x its time
#
#   bench/rootless.sh      RUNS=20 (run) BUILD_RUNS=3 (build); HOIST=path/to/hoist skips the
#                          release build; BENCH_DIR=/var/tmp/x moves the work dir
#
# Root makes a user for this run (useradd -M; useradd gives it subordinate ranges from
# /etc/login.defs under shadow's lock, appended to /etc/subuid and /etc/subgid; userdel takes
# them out again and the script checks both files are back to what they were), with a home
# under the work dir and a private XDG_RUNTIME_DIR there: a tmpfs of the user's, as logind
# makes /run/user/UID. Every measured command runs as that user
# (hyperfine itself runs as the user through `setpriv`, so no setpriv is timed).
# podman and buildah use the user's ~/.config/containers: storage.conf with the kernel's
# native overlay (rootless overlay, kernel >= 5.13; no fuse-overlayfs), containers.conf with
# cgroupfs, file events and cgroups disabled (cgroup v1 is never delegated to a user; rootless
# hoist makes no cgroup either), runtime crun.
# Both tools' containers use `--network none`: /dev/net/tun is 0600 here, so rootless
# networks (slirp4netns/pasta for podman, hoist's helper) cannot work on this machine, and
# `none` compares like with like. buildah's RUN steps likewise get `--network none`, hoist's
# build RUN steps `--network none`.
# busybox (testdata/make-base-image.sh's) is served by `hoist registry serve` run by root on
# 127.0.0.1 in a network namespace made for this run, and pulled by each tool first (not timed).
# Runs alternate: hyperfine is called in rounds, each timing hoist then the peer.
# "cold" for build: before each build (hyperfine --prepare, not timed) hoist: `rmi bench`,
# `builder prune --all` and `image prune` (no image, no step records, none of its layer blobs
# or snapshots; the base image kept); buildah: `rm --all`,
# `rmi -f bench` and `rmi --prune` (the image and every intermediate --layers image gone, the
# base image kept); both builds also pass --no-cache; dirty pages are synced.
# At the end: the user's processes (hoist's holder from holder.pid, podman's pause process from
# libpod/tmp/pause.pid, anything else of the user's) killed by PID, userdel, the namespace and
# the work dir removed.
set -euo pipefail
cd "$(dirname "$0")/.."

. bench/lib/netns.sh
bench_in_own_netns rootless "$0" "$@"

RUNS=${RUNS:-20}
BUILD_RUNS=${BUILD_RUNS:-3}
WORK=${BENCH_DIR:-/tmp/hoist-bench-rootless}
for tool in hyperfine python3 podman buildah crun useradd userdel setpriv newuidmap newgidmap; do
  command -v "$tool" >/dev/null || { echo "bench/rootless.sh: $tool is not installed (testdata/install-peers.sh installs it)" >&2; exit 1; }
done
if [ -z "${HOIST:-}" ]; then
  cargo build --release --bin hoist -q
  HOIST=$PWD/target/release/hoist
fi
# crun refuses hybrid cgroups while hugetlb sits in the unified tree (BENCHMARKS.md).
if [ -s /sys/fs/cgroup/unified/cgroup.controllers ] && ! mountpoint -q /sys/fs/cgroup/hugetlb; then
  mkdir -p /sys/fs/cgroup/hugetlb && mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb
fi
rm -rf "$WORK"; mkdir -p "$WORK"; chmod 755 "$WORK"

NAME=hrlbench$$
HOME_DIR=$WORK/home
RUNTIME=$WORK/run
cp /etc/subuid "$WORK/subuid.before"; cp /etc/subgid "$WORK/subgid.before"
REG_PID=
cleanup() {
  set +e
  if id "$NAME" >/dev/null 2>&1; then
    local uid pid pids
    uid=$(id -u "$NAME")
    # hoist's holder and podman's pause process first (by their pid files), then anything else.
    pids=$(cut -d' ' -f1 "$RUNTIME/hoist/holder.pid" 2>/dev/null; cat "$RUNTIME/libpod/tmp/pause.pid" 2>/dev/null)
    for pid in $pids; do
      [ "$(stat -c %u "/proc/$pid" 2>/dev/null)" = "$uid" ] && kill -KILL "$pid"
    done
    for _ in $(seq 1 50); do
      pids=$(ps -o pid= -u "$uid" 2>/dev/null)
      [ -z "$pids" ] && break
      for pid in $pids; do kill -KILL "$pid" 2>/dev/null; done
      sleep 0.1
    done
    userdel "$NAME"
  fi
  mountpoint -q "$RUNTIME" && { umount "$RUNTIME" || umount -l "$RUNTIME"; }
  if [ -n "$REG_PID" ]; then kill "$REG_PID" 2>/dev/null; wait "$REG_PID" 2>/dev/null; fi
  # userdel took the user's lines out; both files must be as they were (another run's
  # useradd/userdel in between would show here, and is reported, never overwritten).
  for f in subuid subgid; do
    grep -q "^$NAME:" "/etc/$f" && { echo "bench/rootless.sh: /etc/$f still has $NAME's line; removing it" >&2; sed -i "/^$NAME:/d" "/etc/$f"; }
    cmp -s "/etc/$f" "$WORK/$f.before" \
      || { echo "bench/rootless.sh: /etc/$f differs from before the run (another run's user, not this one's):" >&2; diff "$WORK/$f.before" "/etc/$f" >&2; }
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== user $NAME with subordinate ranges"
useradd -M -s /bin/sh -d "$HOME_DIR" "$NAME"
U_UID=$(id -u "$NAME"); U_GID=$(id -g "$NAME")
grep "^$NAME:" /etc/subuid /etc/subgid
mkdir -p "$HOME_DIR/.config/containers" "$RUNTIME"
# XDG_RUNTIME_DIR is a tmpfs of the user's, as pam_systemd/logind makes /run/user/UID (this
# machine has no logind and its /run is on disk): both tools keep their transient state there.
mount -t tmpfs -o "mode=700,uid=$U_UID,gid=$U_GID,size=1g" tmpfs "$RUNTIME"
cp "$HOIST" "$WORK/hoist"; chmod 755 "$WORK/hoist"
cat > "$HOME_DIR/.config/containers/storage.conf" <<EOF
[storage]
driver = "overlay"
runroot = "$RUNTIME/containers"
graphroot = "$HOME_DIR/.local/share/containers/storage"
EOF
cat > "$HOME_DIR/.config/containers/containers.conf" <<'EOF'
[containers]
cgroups = "disabled"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "crun"
EOF
chown -R "$U_UID:$U_GID" "$HOME_DIR" "$RUNTIME"

# as_user CMD...: CMD as the user with a login-like environment and nothing of root's.
as_user() {
  (cd "$HOME_DIR" && setpriv --reuid "$U_UID" --regid "$U_GID" --init-groups -- env -i \
    HOME="$HOME_DIR" USER="$NAME" XDG_RUNTIME_DIR="$RUNTIME" \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@")
}
H=$WORK/hoist

echo "== registry on 127.0.0.1 with busybox (root's hoist registry serve, pushed with hoist)"
PORT=5191
REG=127.0.0.1:$PORT
IMG=$REG/bench/busybox:1
HOIST_LOG=warn "$HOIST" --root "$WORK/registry-root" registry serve --addr "$REG" \
  --storage-root "$WORK/registry" >"$WORK/registry.log" 2>&1 &
REG_PID=$!
for _ in $(seq 1 600); do bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT" 2>/dev/null && break; sleep 0.1; done
HOIST=$HOIST HOIST_ROOT=$WORK/prep-root bash testdata/make-base-image.sh busybox:latest >/dev/null
"$HOIST" --root "$WORK/prep-root" tag busybox:latest "$IMG"
"$HOIST" --root "$WORK/prep-root" push --tls-verify=false "$IMG" >/dev/null
rm -rf "$WORK/prep-root"

echo "== each tool pulls busybox as $NAME (not timed)"
as_user "$H" pull --tls-verify=false "$IMG" >/dev/null
as_user podman pull -q --tls-verify=false "$IMG" >/dev/null
as_user buildah pull -q --tls-verify=false "$IMG" >/dev/null
as_user "$H" info --format '{{json .Rootless}}' 2>/dev/null | head -c 400; echo
as_user podman info --format 'podman: graphDriver={{.Store.GraphDriverName}} backing={{index .Store.GraphStatus "Backing Filesystem"}} native={{index .Store.GraphStatus "Native Overlay Diff"}} cgroupManager={{.Host.CgroupManager}} runtime={{.Host.OCIRuntime.Name}} rootless={{.Host.Security.Rootless}}'
HRUN="$H run --rm --network none $IMG true"
PRUN="podman run --rm --network none $IMG true"
as_user $HRUN
as_user $PRUN
sync

echo "== run: $RUNS runs each, in rounds of 5 alternating hoist/podman (nproc=$(nproc), load: $(cut -d' ' -f1-3 /proc/loadavg))"
mkdir -p "$WORK/json"; chown "$U_UID:$U_GID" "$WORK/json"
for r in $(seq 1 $(( (RUNS + 4) / 5 ))); do
  as_user hyperfine -N --style none --warmup 2 --runs 5 --export-json "$WORK/json/run-$r.json" \
    -n hoist "$HRUN" -n podman "$PRUN" >/dev/null
done
echo "load after run: $(cut -d' ' -f1-3 /proc/loadavg)"
# CPU time of each run, every process included (perf stat's task-clock follows forks, so the
# monitor, conmon, the runtime and the container count): a figure the machine's load hardly
# moves, unlike the wall-clock time above. perf runs as the user (paranoid <= 2 allows it).
if command -v perf >/dev/null; then
  echo "== run: CPU time, $RUNS runs each, alternating"
  for i in $(seq 1 "$RUNS"); do
    as_user perf stat -x, -e task-clock -o "$WORK/json/cpu-hoist-$i.txt" $HRUN
    as_user perf stat -x, -e task-clock -o "$WORK/json/cpu-podman-$i.txt" $PRUN 2>/dev/null
  done
fi

echo "== build: $BUILD_RUNS cold builds each, alternating"
CTX=$HOME_DIR/context
mkdir -p "$CTX"
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
sed "s|^FROM .*|FROM $IMG|" bench/Dockerfile.bench > "$CTX/Dockerfile"
chown -R "$U_UID:$U_GID" "$CTX"
HB="$H build --progress quiet --network none --no-cache -t bench $CTX"
BB="buildah bud --quiet --format docker --layers --network none --no-cache -t bench $CTX"
HCOLD="bash -c '$H rmi bench >/dev/null 2>&1; $H builder prune --all >/dev/null 2>&1; $H image prune >/dev/null 2>&1; sync'"
BCOLD="bash -c 'buildah rm --all >/dev/null 2>&1; buildah rmi -f bench >/dev/null 2>&1; buildah rmi --prune >/dev/null 2>&1; sync'"
for r in $(seq 1 "$BUILD_RUNS"); do
  as_user hyperfine --style none --runs 1 --export-json "$WORK/json/build-$r.json" \
    --prepare "$HCOLD" -n hoist "$HB >/dev/null" \
    --prepare "$BCOLD" -n buildah "$BB >/dev/null" >/dev/null
done
echo "load after build: $(cut -d' ' -f1-3 /proc/loadavg)"
# Both images really are the bench image (HEALTHCHECK kept).
as_user "$H" inspect bench | grep -q '"Healthcheck"' || { echo "hoist image lacks Healthcheck" >&2; exit 1; }
as_user buildah inspect bench | grep -q '"Healthcheck"' || { echo "buildah image lacks Healthcheck" >&2; exit 1; }

python3 - "$WORK/json" <<'PY'
import glob, json, statistics, sys
def load(prefix):
    out = {}
    for p in sorted(glob.glob(f"{sys.argv[1]}/{prefix}-*.json")):
        for r in json.load(open(p))["results"]:
            out.setdefault(r["command"], []).extend(r["times"])
    return out
def cell(t, unit, scale):
    return f"{statistics.median(t)*scale:8.1f} {unit} ({min(t)*scale:.1f}-{max(t)*scale:.1f}, n={len(t)})"
run, build = load("run"), load("build")
print()
print(f"run --rm --network none busybox true:")
print(f"  hoist   {cell(run['hoist'], 'ms', 1000)}")
print(f"  podman  {cell(run['podman'], 'ms', 1000)}")
r = statistics.median(run["podman"]) / statistics.median(run["hoist"])
print(f"  podman/hoist {r:.1f}x (target >= 10x): {'met' if r >= 10 else 'MISSED'}")
cpu = {}
for t in ("hoist", "podman"):
    for p in glob.glob(f"{sys.argv[1]}/cpu-{t}-*.txt"):
        for line in open(p):
            if "task-clock" in line:
                cpu.setdefault(t, []).append(float(line.split(",")[0]) / 1000)
if cpu:
    print(f"  CPU (task-clock, all processes): hoist {cell(cpu['hoist'], 'ms', 1000)}")
    print(f"  CPU (task-clock, all processes): podman {cell(cpu['podman'], 'ms', 1000)}")
    print(f"  CPU podman/hoist {statistics.median(cpu['podman']) / statistics.median(cpu['hoist']):.1f}x")
print(f"cold build of bench/Dockerfile.bench:")
print(f"  hoist   {cell(build['hoist'], 's', 1)}")
print(f"  buildah {cell(build['buildah'], 's', 1)}")
b = statistics.median(build["hoist"]) / statistics.median(build["buildah"])
print(f"  hoist/buildah {b:.2f}x (target <= 0.8x): {'met' if b <= 0.8 else 'MISSED'}")
PY

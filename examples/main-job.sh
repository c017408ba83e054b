#!/usr/bin/env bash
# The main job, end to end, on a fresh Debian machine (as root): install what
# is needed, build hoist, make the busybox base image, build the webapp example
# from its Dockerfile, serve a registry on 127.0.0.1, push the image to it,
# pull it into a second store, run it with a published port and a health
# check, and fetch its page. Everything runs under a temporary root; the
# registry and the container are stopped (by PID / by name) at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${HOIST_MAIN_JOB_NETNS:-}" ]; then
  bash testdata/install-peers.sh
  cargo build --release
  # Shell completions and man pages, generated from hoist's own command-line definitions.
  mkdir -p /usr/share/bash-completion/completions /usr/share/zsh/vendor-completions \
    /usr/share/fish/vendor_completions.d /usr/local/share/man/man1
  target/release/hoist completion bash > /usr/share/bash-completion/completions/hoist
  target/release/hoist completion zsh > /usr/share/zsh/vendor-completions/_hoist
  target/release/hoist completion fish > /usr/share/fish/vendor_completions.d/hoist.fish
  target/release/hoist __man /usr/local/share/man/man1 >/dev/null
  # The rest runs in a network namespace made for it: a container's default network is a
  # bridge with NAT, which this demonstration must not add to the machine's own network.
  ns=hoist-main-job-$$
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  rc=0
  HOIST_MAIN_JOB_NETNS=$ns nsenter --net="/run/netns/$ns" -- bash "$0" "$@" || rc=$?
  ip netns del "$ns"
  exit "$rc"
fi
hoist="$PWD/target/release/hoist"
work=$(mktemp -d)
registry_pid=""
cleanup() {
  "$hoist" --root "$work/pulled" rm -f webapp-demo >/dev/null 2>&1 || true
  [ -n "$registry_pid" ] && kill "$registry_pid" 2>/dev/null && wait "$registry_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { # wait_for SECONDS COMMAND...: poll until COMMAND succeeds
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || { echo "timed out waiting for: $*" >&2; return 1; }
    sleep 0.1
  done
}
export HOIST_ROOT="$work/root"

echo "== 1. the busybox base image (from Debian's busybox-static)"
HOIST="$hoist" bash testdata/make-base-image.sh busybox:latest

echo "== 2. build the webapp example"
"$hoist" build -t webapp:1 --progress plain examples/webapp
"$hoist" images
"$hoist" history webapp:1

echo "== 3. serve a registry on 127.0.0.1 and push to it"
port=$(free_port)
"$hoist" registry serve --addr "127.0.0.1:$port" --storage-root "$work/registry" &
registry_pid=$!
wait_for 30 curl -sf "http://127.0.0.1:$port/v2/"
"$hoist" push --tls-verify=false webapp:1 "127.0.0.1:$port/demo/webapp:1"
curl -sf "http://127.0.0.1:$port/v2/demo/webapp/tags/list"; echo

echo "== 4. pull it into a second store"
"$hoist" --root "$work/pulled" pull --tls-verify=false "127.0.0.1:$port/demo/webapp:1"

echo "== 5. run it with a published port and wait for its health check"
web_port=$(free_port)
"$hoist" --root "$work/pulled" run -d --name webapp-demo -p "127.0.0.1:$web_port:8080" \
  "127.0.0.1:$port/demo/webapp:1"
healthy() { "$hoist" --root "$work/pulled" inspect webapp-demo | grep -q '"Status": "healthy"'; }
wait_for 60 healthy
"$hoist" --root "$work/pulled" ps
page=$(curl -sf "http://127.0.0.1:$web_port/")
echo "$page"
echo "$page" | grep -q "hello from hoist"
"$hoist" --root "$work/pulled" stop webapp-demo
echo "main job: OK"

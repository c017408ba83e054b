#!/usr/bin/env bash
# The log-shipper pattern in a hoist pod: busybox httpd writes its access log
# into a tmpfs volume the pod shares; a second container in the same pod tails it
# and "ships" each line (prints it with a prefix, where a real shipper would
# send it on). Requests go to the pod's published port on 127.0.0.1.
#
# Usage: examples/sidecar/run.sh      (as root)
# env: HOIST (binary, default hoist), HOIST_ROOT (store), PORT (default 8080),
#      POD (pod name, default sidecar), KEEP=1 to leave the pod running.
set -euo pipefail
hoist=${HOIST:-hoist}
port=${PORT:-8080}
pod=${POD:-sidecar}
here=$(cd "$(dirname "$0")" && pwd)
h() { "$hoist" ${HOIST_ROOT:+--root "$HOIST_ROOT"} "$@"; }

# The busybox base image, made from Debian's busybox-static when missing.
h inspect busybox:latest >/dev/null 2>&1 || HOIST=$hoist bash "$here/../../testdata/make-base-image.sh" >/dev/null

# The shared log volume is memory-backed (a tmpfs, as docker's --opt type=tmpfs).
h volume create --opt type=tmpfs --opt device=tmpfs --opt o=size=16m,mode=1777 "$pod-logs" >/dev/null
h pod create --name "$pod" -p "127.0.0.1:$port:8080" --volume "$pod-logs:/logs" >/dev/null
cleanup() {
  if [ "${KEEP:-}" != 1 ]; then
    h pod rm -f "$pod" >/dev/null
    h volume rm "$pod-logs" >/dev/null
  fi
}
trap cleanup EXIT

# httpd -vv logs each request ("IP:PORT: url:/path", "response:200") to stderr.
h run -d --pod "$pod" --name "$pod-web" busybox sh -c \
  'mkdir -p /www && echo "hello from the pod" > /www/index.html &&
   exec httpd -f -vv -p 8080 -h /www 2>>/logs/access.log' >/dev/null
# The shipper sees the web container's log file through the shared volume.
h run -d --pod "$pod" --name "$pod-shipper" busybox sh -c \
  'touch /logs/access.log; tail -F /logs/access.log | while read -r line; do echo "shipped: $line"; done' >/dev/null

# Wait (up to 10 s) for httpd, then make two requests through the pod's port.
fetch() { /bin/busybox wget -qO- "http://127.0.0.1:$port$1" 2>/dev/null; }
for _ in $(seq 100); do fetch /index.html >/dev/null && break; sleep 0.1; done
echo "GET /index.html -> $(fetch /index.html)"
fetch /missing || echo "GET /missing -> 404"

# The shipper has seen both requests once its log shows /missing.
for _ in $(seq 100); do h logs "$pod-shipper" | grep -q 'url:/missing' && break; sleep 0.1; done
echo "--- $pod-shipper's output:"
h logs "$pod-shipper"

#!/usr/bin/env bash
# Container-name lookups, side by side in one run: hoist's per-network responder
# (`hoist __dns`) vs podman's aardvark-dns, each on port 53 of a gateway address in a
# network namespace ("host"), asked by a client in a second namespace ("container",
# joined by a veth, its address a container of the network as aardvark requires).
# The client sends N sequential A queries for one container name over UDP and reports
# the round-trip p50/p99/mean (µs). Runs alternate (hoist, aardvark, hoist, aardvark).
# Nothing leaves the machine: both namespaces are made here and removed at the end.
#
#   bench/dns.sh        N=1000 lookups per run; HOIST=path/to/hoist to skip the release build
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-1000}
AARDVARK=${AARDVARK:-/usr/lib/podman/aardvark-dns}
[ "$(id -u)" = 0 ] || { echo "bench/dns.sh: needs root" >&2; exit 1; }
for tool in ip python3 dig; do
  command -v "$tool" >/dev/null || { echo "bench/dns.sh: $tool is not installed (testdata/install-peers.sh installs it)" >&2; exit 1; }
done
if [ -z "${HOIST:-}" ]; then
  cargo build --release --bin hoist -q
  HOIST=$PWD/target/release/hoist
fi

WORK=$(mktemp -d /tmp/hoist-bench-dns.XXXXXX)
H=hoist-bdns-h-$$
C=hoist-bdns-c-$$
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -f "$WORK/aardvark/aardvark.pid" ] && kill "$(cat "$WORK/aardvark/aardvark.pid")" 2>/dev/null || true
  ip netns del "$H" 2>/dev/null || true
  ip netns del "$C" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

ip netns add "$H"; ip netns add "$C"
ip -n "$H" link set lo up; ip -n "$C" link set lo up
ip -n "$H" link add v0 type veth peer name v0 netns "$C"
ip -n "$H" addr add 10.89.0.1/24 dev v0; ip -n "$H" link set v0 up
ip -n "$C" addr add 10.89.0.3/24 dev v0; ip -n "$C" link set v0 up

# The same network for both: "web" (10.89.0.2) and the asking container (10.89.0.3).
ROOT=$WORK/root
mkdir -p "$ROOT/networks/bench/leases"
echo '{"name":"bench","internal":false}' > "$ROOT/networks/bench.json"
for l in "web 10.89.0.2 0a0a0a0a0a0a0a0a" "client 10.89.0.3 0b0b0b0b0b0b0b0b"; do
  set -- $l
  printf '{"container_id":"%s","name":"%s","aliases":[],"ipv4":"%s","ipv6":null,"mac":"","owner_pid":0,"owner_start_time":0}' \
    "$3" "$1" "$2" > "$ROOT/networks/bench/leases/$2"
done
mkdir -p "$WORK/aardvark"
printf '10.89.0.1\n0a0a0a0a0a0a0a0a 10.89.0.2  web\n0b0b0b0b0b0b0b0b 10.89.0.3  client\n' > "$WORK/aardvark/bench"

cat > "$WORK/client.py" <<'EOF'
import random, socket, statistics, struct, sys, time
server, name, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
qname = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.connect((server, 53))
def ask():
    qid = random.randrange(65536)
    s.send(struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + qname + struct.pack(">HH", 1, 1))
    while True:
        r = s.recv(4096)
        if r[:2] == struct.pack(">H", qid):
            assert r[3] & 0x0F == 0 and struct.unpack(">H", r[6:8])[0] >= 1, "no answer"
            return
for _ in range(50):
    ask()
lat = []
for _ in range(n):
    t = time.perf_counter_ns()
    ask()
    lat.append((time.perf_counter_ns() - t) / 1000)
lat.sort()
print(f"p50 {lat[len(lat)//2]:.0f} µs  p99 {lat[int(len(lat)*0.99)]:.0f} µs  mean {statistics.mean(lat):.0f} µs")
EOF

wait_answer() {
  for _ in $(seq 100); do
    [ "$(ip netns exec "$C" dig +short +time=1 +tries=1 @10.89.0.1 web)" = 10.89.0.2 ] && return 0
    sleep 0.05
  done
  echo "bench/dns.sh: $1 does not answer" >&2; exit 1
}

run_hoist() {
  ip netns exec "$H" "$HOIST" --root "$ROOT" __dns bench --listen 10.89.0.1 2>"$WORK/hoist.log" &
  local pid=$!
  PIDS+=("$pid")
  wait_answer hoist
  printf '  hoist     %s\n' "$(ip netns exec "$C" python3 "$WORK/client.py" 10.89.0.1 web "$N")"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

run_aardvark() {
  ip netns exec "$H" "$AARDVARK" --config "$WORK/aardvark" -p 53 run >/dev/null 2>&1
  wait_answer aardvark-dns
  printf '  aardvark  %s\n' "$(ip netns exec "$C" python3 "$WORK/client.py" 10.89.0.1 web "$N")"
  local pid; pid=$(cat "$WORK/aardvark/aardvark.pid")
  kill "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
  rm -f "$WORK/aardvark/aardvark.pid"
}

echo "== $N lookups of a container name from another container of its network (UDP, sequential)"
have_aardvark=0
[ -x "$AARDVARK" ] && have_aardvark=1 || echo "  (aardvark-dns not found at $AARDVARK: hoist only)"
for round in 1 2; do
  run_hoist
  [ "$have_aardvark" = 1 ] && run_aardvark
done

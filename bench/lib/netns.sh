# Sourced by the benches: re-runs the calling script inside a network namespace
# made for this run (`ip netns add`, removed afterwards), so that neither hoist's
# bridge and NAT nor a peer's (netavark, dockerd, slirp4netns) touches the host's
# own links or firewall. Returns (continuing the script) once inside.
#   usage: bench_in_own_netns NAME "$0" "$@"     (as root)
bench_in_own_netns() {
  local name=$1 script=$2
  shift 2
  [ -n "${HOIST_BENCH_NETNS:-}" ] && return 0
  [ "$(id -u)" = 0 ] || { echo "bench/$name.sh: needs root" >&2; exit 1; }
  local ns=hoist-bench-$name-$$ rc=0
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  HOIST_BENCH_NETNS=$ns nsenter --net="/run/netns/$ns" -- bash "$script" "$@" || rc=$?
  ip netns del "$ns"
  exit "$rc"
}

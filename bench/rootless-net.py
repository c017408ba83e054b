#!/usr/bin/env python3
"""Rootless network helpers compared (issue 19): pasta (Debian's passt) and
slirp4netns, as hoist would use them — one helper per container network
namespace. Per helper: the setup time (exec until the namespace is usable:
pasta's parent exit, slirp4netns' --ready-fd) over N fresh namespaces, then
iperf3 (5 s, one stream, both directions) from a container namespace to an
"outside" namespace. Everything runs inside two namespaces this script makes
(`ip netns add` hoist-bn-host, hoist-bn-out, joined by a veth) and removes, so
its 192.0.2.0/24 addresses never reach the host's network; run as root:
    python3 bench/rootless-net.py [N]
Needs passt, slirp4netns, iperf3, iproute2, util-linux."""
import ctypes, json, os, statistics, subprocess, sys, time

N = int(sys.argv[1]) if len(sys.argv) > 1 else 20
HOST, OUT = "hoist-bn-host", "hoist-bn-out"


def sh(*args):
    subprocess.run(args, check=True)


def setup():
    sh("ip", "netns", "add", HOST)
    sh("ip", "netns", "add", OUT)
    sh("ip", "link", "add", "bn0", "netns", HOST, "type", "veth", "peer", "name", "bn0", "netns", OUT)
    for ns, addr in ((HOST, "192.0.2.1/24"), (OUT, "192.0.2.2/24")):
        sh("ip", "-n", ns, "addr", "add", addr, "dev", "bn0")
        sh("ip", "-n", ns, "link", "set", "bn0", "up")
        sh("ip", "-n", ns, "link", "set", "lo", "up")
    sh("ip", "-n", HOST, "route", "add", "default", "via", "192.0.2.2")


def teardown():
    for ns in (HOST, OUT):
        subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)


def container():
    """A process in a fresh network namespace (the container)."""
    p = subprocess.Popen(["unshare", "-n", "sleep", "1000"])
    while os.readlink(f"/proc/{p.pid}/ns/net") == os.readlink("/proc/self/ns/net"):
        time.sleep(0.001)
    return p


def pasta(p):
    # As root pasta drops its capabilities before opening the target, which
    # /proc/PID/ns/net then refuses (ptrace check): an inherited descriptor.
    fd = os.open(f"/proc/{p.pid}/ns/net", os.O_RDONLY)
    pidfile = f"/tmp/hoist-bn-pasta.{os.getpid()}"
    args = ["pasta", "-q", "--config-net", "--no-map-gw", "--runas", "0:0", "-t", "none", "-u", "none",
            "-T", "none", "-U", "none", "-P", pidfile, "--netns", f"/proc/self/fd/{fd}"]
    t0 = time.perf_counter()
    r = subprocess.run(args, pass_fds=(fd,), stderr=subprocess.DEVNULL)
    dt = time.perf_counter() - t0
    os.close(fd)
    assert r.returncode == 0, "pasta failed"
    pid = int(open(pidfile).read())
    os.unlink(pidfile)
    return dt, lambda: os.kill(pid, 15)


def slirp(p):
    rr, rw = os.pipe()
    er, ew = os.pipe()
    t0 = time.perf_counter()
    s = subprocess.Popen(["slirp4netns", "--configure", "--mtu=65520", "--disable-host-loopback",
                          f"--ready-fd={rw}", f"--exit-fd={er}", str(p.pid), "eth0"],
                         pass_fds=(rw, er), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(rw)
    os.close(er)
    assert os.read(rr, 1) == b"1", "slirp4netns failed"
    dt = time.perf_counter() - t0
    os.close(rr)

    def stop():
        os.close(ew)
        s.wait()
    return dt, stop


def measure(name, start):
    times = []
    for _ in range(N):
        p = container()
        dt, stop = start(p)
        times.append(dt * 1000)
        stop()
        p.kill()
        p.wait()
    print(f"{name}: setup median {statistics.median(times):.1f} ms, min {min(times):.1f}, "
          f"max {max(times):.1f} (n={N})")
    p = container()
    _, stop = start(p)
    for rev, label in (([], "container -> outside"), (["-R"], "outside -> container")):
        out = subprocess.run(["nsenter", "-t", str(p.pid), "-n", "iperf3", "-c", "192.0.2.2", "-t", "5",
                              "-J"] + rev, capture_output=True, text=True, timeout=60).stdout
        bps = json.loads(out)["end"]["sum_received"]["bits_per_second"]
        print(f"  iperf3 {label}: {bps / 1e9:.2f} Gbit/s")
    stop()
    p.kill()
    p.wait()


def main():
    if os.geteuid() != 0:
        sys.exit("run as root: the script makes network namespaces")
    teardown()
    setup()
    server = subprocess.Popen(["ip", "netns", "exec", OUT, "iperf3", "-s"], stdout=subprocess.DEVNULL)
    try:
        time.sleep(0.3)  # iperf3 -s has no readiness signal; the first client retries below otherwise
        # Helpers and containers inherit the host namespace from this process.
        fd = os.open(f"/run/netns/{HOST}", os.O_RDONLY)
        if ctypes.CDLL(None, use_errno=True).setns(fd, 0x40000000) != 0:  # CLONE_NEWNET
            sys.exit(f"setns: {os.strerror(ctypes.get_errno())}")
        os.close(fd)
        measure("pasta", pasta)
        measure("slirp4netns", slirp)
    finally:
        server.kill()
        server.wait()
        teardown()


main()

#!/usr/bin/env bash
# Installs the Debian packages hoist's tests and examples talk to: real peers,
# never fakes. Idempotent; needs root (apt-get).
set -euo pipefail
pkgs=(busybox-static skopeo umoci docker-registry crun runc podman podman-compose buildah
      pigz hyperfine wrk hey python3-venv apache2-utils iproute2 nftables netavark aardvark-dns procps curl
      xz-utils bzip2 pkg-config liblzma-dev libbz2-dev libseccomp-dev
      docker.io iptables iperf3 bind9-dnsutils dnsmasq-base libcap2-bin util-linux docker-compose
      golang-docker-credential-helpers pass gnupg slirp4netns uidmap passwd)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # docker.io must not start a dockerd in the host's namespace (it would rewrite the host's
  # firewall): tests start their own inside namespaces they make. Deny service starts while
  # installing unless the image already does.
  made_policy=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
  [ -z "$made_policy" ] || rm -f /usr/sbin/policy-rc.d
fi
# crun refuses cgroup v1 hybrid mode while hugetlb sits in the unified hierarchy
# (see shared/BENCHMARKS.md); mounting it as a v1 controller empties that file.
if [ -f /sys/fs/cgroup/unified/cgroup.controllers ] && [ -s /sys/fs/cgroup/unified/cgroup.controllers ] \
   && ! mountpoint -q /sys/fs/cgroup/hugetlb 2>/dev/null; then
  mkdir -p /sys/fs/cgroup/hugetlb
  mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb || true
fi
# moto, the S3-compatible server of the S3 driver's tests, from PyPI in a venv.
bash "$(dirname "$0")/moto.sh" install
# qemu-user interpreters and an arm64 busybox (extracted, never installed) for multi-platform builds.
bash "$(dirname "$0")/qemu.sh" install

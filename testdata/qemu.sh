#!/usr/bin/env bash
# qemu-user's static interpreters and an arm64 busybox, for hoist's
# multi-platform tests (tests/e2e/build/multiplatform.rs), downloaded once
# into a cache directory and extracted, never installed: installing
# qemu-user-static pulls in binfmt-support, which would register handlers in
# the host's global binfmt_misc. hoist registers them per container instead.
#
#   bash testdata/qemu.sh install        # into $HOIST_QEMU_CACHE (idempotent; needs root for apt)
#   bash testdata/qemu.sh path           # prints the directory holding qemu-*-static (HOIST_QEMU_DIR)
#   bash testdata/qemu.sh busybox arm64  # prints the path of a static busybox for arm64
set -euo pipefail
CACHE="${HOIST_QEMU_CACHE:-/opt/hoist-qemu}"
# The interpreters the tests use (the package has ~30, 10 MB each).
KEEP=(aarch64 arm)

install() {
    if [ ! -x "$CACHE/bin/qemu-aarch64-static" ]; then
        tmp=$(mktemp -d)
        trap 'rm -rf "$tmp"' EXIT
        (cd "$tmp" && apt-get download -qq qemu-user-static)
        dpkg-deb -x "$tmp"/qemu-user-static_*.deb "$tmp/x"
        mkdir -p "$CACHE/bin"
        for a in "${KEEP[@]}"; do
            cp "$tmp/x/usr/bin/qemu-$a-static" "$CACHE/bin/"
        done
        rm -rf "$tmp"
        trap - EXIT
    fi
    if [ ! -x "$CACHE/arm64/bin/busybox" ]; then
        dpkg --print-foreign-architectures | grep -qx arm64 || {
            dpkg --add-architecture arm64
            apt-get update -qq
        }
        tmp=$(mktemp -d)
        trap 'rm -rf "$tmp"' EXIT
        (cd "$tmp" && apt-get download -qq busybox-static:arm64)
        dpkg-deb -x "$tmp"/busybox-static_*_arm64.deb "$tmp/x"
        mkdir -p "$CACHE/arm64/bin"
        cp "$tmp/x/bin/busybox" "$CACHE/arm64/bin/busybox"
        rm -rf "$tmp"
        trap - EXIT
    fi
}

case "${1:-}" in
install) install ;;
path)
    if [ -x "$CACHE/bin/qemu-aarch64-static" ]; then
        echo "$CACHE/bin"
    else
        echo "qemu-aarch64-static not found in $CACHE/bin: run 'bash testdata/qemu.sh install'" >&2
        exit 1
    fi
    ;;
busybox)
    arch="${2:?usage: qemu.sh busybox ARCH}"
    if [ -x "$CACHE/$arch/bin/busybox" ]; then
        echo "$CACHE/$arch/bin/busybox"
    else
        echo "no busybox for $arch in $CACHE: run 'bash testdata/qemu.sh install'" >&2
        exit 1
    fi
    ;;
*)
    echo "usage: qemu.sh install | path | busybox ARCH" >&2
    exit 2
    ;;
esac

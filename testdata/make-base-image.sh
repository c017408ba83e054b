#!/usr/bin/env bash
# Makes the busybox base image hoist's tests and examples use, without internet:
# a rootfs of Debian's static busybox plus its applet symlinks, imported into the
# store at $HOIST_ROOT (or --root's default) under the name given (default busybox:latest).
# Usage: testdata/make-base-image.sh [NAME]    env: HOIST (binary), HOIST_ROOT
set -euo pipefail
name=${1:-busybox:latest}
hoist=${HOIST:-hoist}
if [ ! -x /bin/busybox ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static
fi
rootfs=$(mktemp -d)
trap 'rm -rf "$rootfs"' EXIT
mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,root,home,var/www,proc,sys,dev}
chmod 1777 "$rootfs/tmp"
cp /bin/busybox "$rootfs/bin/busybox"
for applet in $(/bin/busybox --list-full); do
  [ "$applet" = bin/busybox ] && continue
  ln -sf /bin/busybox "$rootfs/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/sh\nuser:x:1000:1000:user:/home:/bin/sh\n' > "$rootfs/etc/passwd"
printf 'root:x:0:\nnobody:x:65534:\nuser:x:1000:\n' > "$rootfs/etc/group"
: > "$rootfs/etc/hosts"
# Fixed timestamps so the base image's digest is the same on every machine.
find "$rootfs" -exec touch -h -d @0 {} +
SOURCE_DATE_EPOCH=0 "$hoist" ${HOIST_ROOT:+--root "$HOIST_ROOT"} import "$rootfs" -t "$name" \
  --change 'CMD ["sh"]' --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

#!/usr/bin/env bash
# The main job, end to end, on a fresh Debian machine: install what is needed,
# build hoist, make the busybox base image, and put the image verbs through
# their paces (import, images, inspect, save, load, prune). Uses a temporary
# store root unless HOIST_ROOT is set; leaves nothing running.
set -euo pipefail
cd "$(dirname "$0")/.."
bash testdata/install-peers.sh
cargo build --release
hoist="$PWD/target/release/hoist"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export HOIST_ROOT=${HOIST_ROOT:-$work/root}

echo "== make the busybox base image and import it"
HOIST="$hoist" bash testdata/make-base-image.sh busybox:latest
"$hoist" images

echo "== inspect it"
"$hoist" inspect busybox | head -n 20

echo "== save it to an OCI archive, load it into a second store"
"$hoist" save -o "$work/busybox.tar" busybox
"$hoist" --root "$work/second" load -i "$work/busybox.tar"
"$hoist" --root "$work/second" images --digests

echo "== skopeo reads hoist's store directly"
skopeo inspect "oci:$HOIST_ROOT/content:docker.io/library/busybox:latest" | head -n 8

echo "== untag and prune"
"$hoist" --root "$work/second" rmi busybox
"$hoist" --root "$work/second" system prune
echo "main job: OK"

#!/usr/bin/env bash
# moto: the S3-compatible server the S3 driver's tests and bench/registry-s3.sh
# run against (a real HTTP server on 127.0.0.1, not an in-process fake).
#
#   bash testdata/moto.sh install      # venv in $HOIST_MOTO_VENV (idempotent)
#   bash testdata/moto.sh path         # prints the moto_server to run
#   bash testdata/moto.sh serve PORT   # runs moto_server -H 127.0.0.1 -p PORT (foreground)
set -euo pipefail
VENV="${HOIST_MOTO_VENV:-/opt/hoist-moto}"

server_path() {
    if [ -x "$VENV/bin/moto_server" ]; then
        echo "$VENV/bin/moto_server"
    elif command -v moto_server >/dev/null 2>&1; then
        command -v moto_server
    else
        echo "moto_server not found: run 'bash testdata/moto.sh install'" >&2
        return 1
    fi
}

case "${1:-}" in
install)
    if [ -x "$VENV/bin/moto_server" ]; then
        exit 0
    fi
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check 'moto[server]'
    "$VENV/bin/moto_server" --help >/dev/null
    ;;
path)
    server_path
    ;;
serve)
    port="${2:?usage: moto.sh serve PORT}"
    exec "$(server_path)" -H 127.0.0.1 -p "$port"
    ;;
*)
    echo "usage: moto.sh install | path | serve PORT" >&2
    exit 2
    ;;
esac

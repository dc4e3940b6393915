#!/usr/bin/env bash
# Builds the addon against the headers of the Node.js that runs it, so node-gyp
# never needs to download them.
set -euo pipefail
cd "$(dirname "$0")/.."
pkg-config --exists libdpdk || { echo "build: libdpdk not found by pkg-config; run ./dev test (or apt-get install libdpdk-dev pkg-config)" >&2; exit 1; }
nodedir="$(node -p "require('path').resolve(process.execPath, '../..')")"
args=(rebuild --jobs=max)
[ -f "$nodedir/include/node/node_api.h" ] && args+=("--nodedir=$nodedir")
exec node-gyp "${args[@]}"

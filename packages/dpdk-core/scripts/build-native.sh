#!/usr/bin/env bash
# Builds the addon against the headers of the Node.js that runs it, so node-gyp
# never needs to download them. Configure runs every time (it lists native/*.cc
# afresh); the build itself is incremental.
#   build-native.sh              build/Release/dpdk_core.node
#   build-native.sh prebuildify  prebuilds/linux-x64/ (N-API: one build for every Node)
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in g++ make python3 pkg-config; do
  command -v "$tool" >/dev/null || { echo "build: building the @mp/dpdk-core addon needs $tool: apt-get install g++ make python3 pkg-config libdpdk-dev (in the dpdk-mp repository, ./dev test sets everything up)" >&2; exit 1; }
done
pkg-config --exists libdpdk || { echo "build: libdpdk not found by pkg-config: apt-get install libdpdk-dev (in the dpdk-mp repository, ./dev test sets everything up)" >&2; exit 1; }
# Concurrent builds in one checkout would clobber build/: take turns.
exec 9>"${TMPDIR:-/tmp}/dpdk-core-build-$(id -u).lock"
flock 9
nodedir="$(node -p "require('path').resolve(process.execPath, '../..')")"
if [ -f "$nodedir/include/node/node_api.h" ]; then
  export npm_config_nodedir="$nodedir"
fi
if [ "${1:-}" = prebuildify ]; then
  exec prebuildify --napi --strip
fi
node-gyp configure
exec node-gyp build --jobs=max

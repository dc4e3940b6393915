#!/usr/bin/env bash
# Builds DPDK's C client_server_mp (mp_server, mp_client) from the dpdk-doc
# sources into .build/, for interop tests and the benchmark. Idempotent: a
# binary is rebuilt only when its sources are newer.
set -euo pipefail
SRC=${DPDK_EXAMPLES:-/usr/share/dpdk/examples}/multi_process/client_server_mp
OUT=$(cd "$(dirname "$0")/.." && pwd)/.build
if [ ! -d "$SRC" ]; then
  echo "build-c: $SRC not found; install Debian's dpdk-doc package (apt-get install dpdk-doc)" >&2
  exit 1
fi
if ! pkg-config --exists libdpdk; then
  echo "build-c: pkg-config cannot find libdpdk; install libdpdk-dev and pkg-config" >&2
  exit 1
fi
mkdir -p "$OUT"
CFLAGS=$(pkg-config --cflags libdpdk)
LIBS=$(pkg-config --libs libdpdk)

build() { # name, sources...
  local name=$1; shift
  local newest
  newest=$(ls -t "$@" "$SRC/shared/common.h" | head -1)
  if [ -x "$OUT/$name" ] && [ "$OUT/$name" -nt "$newest" ]; then return; fi
  # shellcheck disable=SC2086
  gcc -O3 -march=native -DALLOW_EXPERIMENTAL_API -o "$OUT/$name.tmp" "$@" -I"$SRC/shared" $CFLAGS $LIBS
  mv "$OUT/$name.tmp" "$OUT/$name"
  echo "build-c: built $OUT/$name"
}

build mp_server "$SRC"/mp_server/main.c "$SRC"/mp_server/init.c "$SRC"/mp_server/args.c
build mp_client "$SRC"/mp_client/client.c

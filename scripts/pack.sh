#!/usr/bin/env bash
# Tarballs of the public packages (@mp/dpdk-core with its addon prebuilt,
# @mp/mp-ring, @mp/lcore-alloc, @mp/recovery, @mp/dpdk-mp), for npm install on
# a machine that has DPDK's runtime libraries and no compiler.
#   scripts/pack.sh [OUT_DIR]      default: ./packed
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mkdir -p "${1:-packed}" && cd "${1:-packed}" && pwd)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
quiet() { "$@" >"$log" 2>&1 || { cat "$log" >&2; echo "pack: '$*' failed (output above)" >&2; exit 1; }; }
quiet pnpm run build
# The addon as prebuildify makes it (N-API: one build for every Node >= 20),
# into packages/dpdk-core/prebuilds/, which the tarball carries.
quiet pnpm --filter @mp/dpdk-core run prebuildify
for pkg in $(node -e '
  const { execFileSync } = require("node:child_process");
  const list = JSON.parse(execFileSync("pnpm", ["ls", "-r", "--depth", "-1", "--json"], { encoding: "utf8" }));
  for (const p of list) if (!require(`${p.path}/package.json`).private) console.log(p.path);
'); do
  (cd "$pkg" && quiet pnpm pack --pack-destination "$out")
done
ls -1 "$out"/*.tgz

#!/usr/bin/env bash
# Idempotent machine and workspace setup: DPDK from Debian's packages, 2 MiB
# hugepages, pnpm at the pinned version, dependencies and the native build.
# Every step checks before it acts, so a prepared machine costs a few seconds.
set -euo pipefail

cd "$(dirname "$0")/.."

PNPM_VERSION="$(node -p "require('./package.json').packageManager.split('@')[1]")"
HUGEPAGES_WANTED="${DPDK_MP_HUGEPAGES:-512}"   # 2 MiB pages: 1 GiB by default
DEBIAN_PACKAGES=(dpdk dpdk-dev libdpdk-dev dpdk-doc pkg-config iproute2 python3 make g++ tmux)

fail() {
  echo "setup: $*" >&2
  exit 1
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo "$@"
  else
    fail "'$*' needs root: run this command as root (or with password-less sudo)."
  fi
}

install_debian_packages() {
  local missing=()
  for pkg in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "setup: installing Debian packages: ${missing[*]}"
  command -v apt-get >/dev/null || fail "apt-get not found: this project needs Debian 12 (or compatible) to install ${missing[*]}."
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  pkg-config --exists libdpdk || fail "libdpdk-dev installed but 'pkg-config libdpdk' fails: check /usr/lib/x86_64-linux-gnu/pkgconfig/libdpdk.pc."
}

reserve_hugepages() {
  local sysfs=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
  [ -e "$sysfs" ] || fail "this kernel has no 2 MiB hugepages ($sysfs missing): DPDK needs a kernel with CONFIG_HUGETLBFS."
  local have
  have=$(cat "$sysfs")
  if [ "$have" -lt "$HUGEPAGES_WANTED" ]; then
    echo "setup: reserving $HUGEPAGES_WANTED hugepages of 2 MiB (had $have)"
    echo "$HUGEPAGES_WANTED" | as_root tee "$sysfs" >/dev/null \
      || fail "could not write $sysfs: run as root, or reserve them yourself: echo $HUGEPAGES_WANTED > $sysfs"
    have=$(cat "$sysfs")
    [ "$have" -ge "$HUGEPAGES_WANTED" ] \
      || fail "the kernel granted only $have of $HUGEPAGES_WANTED hugepages (memory fragmented?): free memory or set DPDK_MP_HUGEPAGES lower, then retry."
  fi
  if ! awk '$3 == "hugetlbfs" { found = 1 } END { exit !found }' /proc/mounts; then
    echo "setup: mounting hugetlbfs on /dev/hugepages"
    as_root mkdir -p /dev/hugepages
    as_root mount -t hugetlbfs -o pagesize=2M nodev /dev/hugepages \
      || fail "could not mount hugetlbfs: run as root (or CAP_SYS_ADMIN), or mount it yourself: mount -t hugetlbfs nodev /dev/hugepages"
  fi
}

install_pnpm() {
  if [ "$(pnpm --version 2>/dev/null || true)" != "$PNPM_VERSION" ]; then
    echo "setup: installing pnpm $PNPM_VERSION"
    npm install --global --no-fund --no-audit --loglevel=error "pnpm@$PNPM_VERSION" >/dev/null \
      || fail "npm could not install pnpm@$PNPM_VERSION: check that the npm registry is reachable."
  fi
}

install_debian_packages
reserve_hugepages
install_pnpm
pnpm install --frozen-lockfile || fail "pnpm install --frozen-lockfile failed (see above)."
pnpm run build || fail "build failed (see above)."

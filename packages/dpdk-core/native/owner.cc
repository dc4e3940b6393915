#include "owner.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace dpdk_core {

namespace {

// Field 3 (state) and field 22 (starttime) of /proc/<pid>/stat; the command
// name (field 2) may hold spaces and parentheses, so parsing starts after
// its last ')'. Returns 0, or the errno of a failed open (ENOENT: no such
// process), or EINVAL for a file that does not parse.
int ReadStat(int32_t pid, char* state, uint64_t* start) {
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/stat", pid);
  FILE* f = fopen(path, "re");
  if (f == nullptr) return errno;
  char buf[1024];
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[n] = '\0';
  const char* p = strrchr(buf, ')');
  if (p == nullptr) return EINVAL;
  p++;
  // After ')': " S ppid pgrp ..." -- state is field 3, starttime field 22.
  int field = 2;
  while (*p != '\0' && field < 22) {
    while (*p == ' ') p++;
    field++;
    if (field == 3) *state = *p;
    if (field == 22) break;
    while (*p != '\0' && *p != ' ') p++;
  }
  if (field != 22) return EINVAL;
  *start = strtoull(p, nullptr, 10);
  return 0;
}

}  // namespace

namespace {
ZoneOwner g_self{0, 0};
}  // namespace

int ReadSelfOwner() {
  char state = 0;
  uint64_t start = 0;
  const int32_t pid = static_cast<int32_t>(getpid());
  const int err = ReadStat(pid, &state, &start);
  if (err == 0) g_self = ZoneOwner{pid, static_cast<uint32_t>(start & 0xffffffffu)};
  return err;
}

ZoneOwner SelfOwner() { return g_self; }

bool OwnerAlive(ZoneOwner owner) {
  if (owner.pid <= 0) return false;
  char state = 0;
  uint64_t start = 0;
  const int err = ReadStat(owner.pid, &state, &start);
  // Only a pid /proc does not have is gone. Any other failure (no file
  // descriptor left, say) tells nothing, and taking a live owner for dead
  // would give what it holds a second owner.
  if (err == ENOENT || err == ESRCH) return false;
  if (err != 0) return true;
  if (state == 'Z' || state == 'X') return false;
  return static_cast<uint32_t>(start & 0xffffffffu) == owner.stamp;
}

bool ClaimOwner(ZoneOwner* word, ZoneOwner* expected) {
  const ZoneOwner self = SelfOwner();
  uint64_t want;
  uint64_t seen;
  std::memcpy(&want, &self, sizeof(want));
  std::memcpy(&seen, expected, sizeof(seen));
  const bool won = __atomic_compare_exchange_n(reinterpret_cast<uint64_t*>(word), &seen, want, false,
                                               __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
  std::memcpy(expected, &seen, sizeof(seen));
  return won;
}

}  // namespace dpdk_core

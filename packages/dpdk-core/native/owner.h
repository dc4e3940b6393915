// Which process holds a named zone: pid plus the low 32 bits of its start
// time in clock ticks (/proc/<pid>/stat field 22), the same stamp and the
// same liveness rule (a zombie is dead) as the TypeScript side's
// (src/proc.ts startStamp and ownerAlive, which @mp/mp-ring's owned slots
// use), so a pid reused by a later process is not taken for the owner.
#pragma once

#include <cstdint>
#include <cstring>

namespace dpdk_core {

struct ZoneOwner {
  int32_t pid;
  uint32_t stamp;
};
static_assert(sizeof(ZoneOwner) == 8, "an owner is one 8-byte word, swapped with one compare-exchange");

// Reads this process's pid and stamp once, when the addon loads (Init): read
// later, a process out of file descriptors would record stamp 0 and look dead
// to every other one. Returns 0 or the errno; the addon refuses to load then.
int ReadSelfOwner();

// This process, as ReadSelfOwner() read it.
ZoneOwner SelfOwner();

// The same process: pid and start stamp (a pid alone may have been reused).
inline bool SameOwner(ZoneOwner a, ZoneOwner b) { return a.pid == b.pid && a.stamp == b.stamp; }

// Whether that process still runs (a zombie has exited); false for pid 0.
// A /proc entry that cannot be read for any reason but its absence counts as
// alive: nobody reclaims from an owner it cannot see die.
bool OwnerAlive(ZoneOwner owner);

// Writes the owner word in one release store (to this process, or to none).
inline void StoreOwner(ZoneOwner* word, ZoneOwner owner) {
  uint64_t w;
  std::memcpy(&w, &owner, sizeof(w));
  __atomic_store_n(reinterpret_cast<uint64_t*>(word), w, __ATOMIC_RELEASE);
}

// Takes the owner word from `expected` to this process in one
// compare-exchange, so two processes adopting or reclaiming the same zone
// cannot both win. Returns false (and the owner found in *expected) if
// another process changed it first.
bool ClaimOwner(ZoneOwner* word, ZoneOwner* expected);

}  // namespace dpdk_core

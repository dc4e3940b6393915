// Which process holds a named zone: pid plus the low 32 bits of its start
// time in clock ticks (/proc/<pid>/stat field 22), the same stamp and the
// same liveness rule (a zombie is dead) as the TypeScript side's
// (src/proc.ts startStamp and ownerAlive, which @mp/mp-ring's owned slots
// use), so a pid reused by a later process is not taken for the owner.
#pragma once

#include <cstdint>

namespace dpdk_core {

struct ZoneOwner {
  int32_t pid;
  uint32_t stamp;
};
static_assert(sizeof(ZoneOwner) == 8, "an owner is one 8-byte word, swapped with one compare-exchange");

// This process.
ZoneOwner SelfOwner();

// Whether that process still runs (a zombie has exited); false for pid 0.
bool OwnerAlive(ZoneOwner owner);

// Takes the owner word from `expected` to this process in one
// compare-exchange, so two processes adopting or reclaiming the same zone
// cannot both win. Returns false (and the owner found in *expected) if
// another process changed it first.
bool ClaimOwner(ZoneOwner* word, ZoneOwner* expected);

}  // namespace dpdk_core

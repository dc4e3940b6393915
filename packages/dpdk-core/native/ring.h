// What other kinds need of a ring handle: its shared slot (see fastcall.h).
#pragma once

#include <rte_ring.h>

#include <memory>
#include <string>

#include "common.h"

namespace dpdk_core {

// Shared between a Ring handle and the packet-path functions bound to it
// (they may outlive the handle): the handle clears r when it closes, so a
// freed ring is refused instead of written through a dangling pointer.
struct RingSlot {
  rte_ring* r = nullptr;
  AddonData* data = nullptr;
  std::string name;

  rte_ring* Live(napi_env env, const char* op) const {
    if (r == nullptr) ThrowClosed(env, op, "ring", name);
    return r;
  }
};

// The ring called `name`, checked to hold `want`-byte elements (8 and
// packets: packet pointers); ENOENT / EINVAL (naming op) otherwise.
rte_ring* FindRing(Napi::Env env, const char* op, const std::string& name, uint32_t want, bool packets);

// The slot of the ring's open handle in this process, or null if none.
std::shared_ptr<RingSlot> LiveRingSlot(AddonData& data, const rte_ring* r);

}  // namespace dpdk_core

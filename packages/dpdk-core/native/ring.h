// What other kinds need of a ring handle: its shared slot (see fastcall.h).
#pragma once

#include <rte_ring.h>

#include <memory>
#include <string>

#include "common.h"

namespace dpdk_core {

struct VectorState;

// Shared between a Ring handle and the packet-path functions and packet
// vectors bound to it (they may outlive the handle): the handle clears r when
// it closes, so a freed ring is refused instead of written through a dangling
// pointer.
struct RingSlot {
  rte_ring* r = nullptr;
  AddonData* data = nullptr;
  std::string name;
  // A ring of packet pointers (not of other elements).
  bool packets = false;
  // The packet vector holding a batch it peeked from this ring
  // (rte_ring_dequeue_burst_start) and has not finished yet: until it does,
  // nothing else in this process may dequeue from, reset or free the ring.
  VectorState* peekedBy = nullptr;

  rte_ring* Live(napi_env env, const char* op) const {
    if (r == nullptr) ThrowClosed(env, op, "ring", name);
    return r;
  }

  // Live, and no packet vector's batch pending on it.
  rte_ring* Idle(napi_env env, const char* op) const {
    rte_ring* ring = Live(env, op);
    if (peekedBy != nullptr) {
      ThrowDpdkCode(Napi::Env(env), op, "EBUSY",
                    "ring '" + name + "' is in the middle of a packet vector's batch; send() or free() that vector first");
    }
    return ring;
  }
};

// rte_ring_create_elem allows up to this element size (it checks the total).
constexpr uint32_t kMaxElemSize = 1u << 16;

// The ring called `name`, checked to hold `want`-byte elements (8 and
// packets: packet pointers); ENOENT / EINVAL (naming op) otherwise
// (ring_find.cc).
rte_ring* FindRing(Napi::Env env, const char* op, const std::string& name, uint32_t want, bool packets);

// The slot of the ring's open handle in this process, or null if none.
std::shared_ptr<RingSlot> LiveRingSlot(AddonData& data, const rte_ring* r);

// The slot of a packet ring's Ring handle; a TypeError for anything else,
// EINVAL for a ring of other elements, E_CLOSED for a closed handle.
std::shared_ptr<RingSlot> PacketRingSlotFrom(Napi::Env env, Napi::Value value, const char* what);

// A ring handle closing while a vector's batch is pending: the batch goes
// back to the ring (the dequeue is undone) and the vector ends empty.
void AbandonPeek(VectorState& vector);

}  // namespace dpdk_core

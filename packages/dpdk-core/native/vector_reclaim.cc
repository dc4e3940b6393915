// Named packet vectors whose process died: what the dead owner held in the
// vector's zone goes back, to the ring it was peeked from or to its pool.
#include "vector.h"

#include <rte_memzone.h>
#include <rte_ring.h>

#include <algorithm>
#include <cstring>
#include <string>

namespace dpdk_core {

std::pair<uint32_t, uint32_t> SettleZone(const rte_memzone* mz) {
  auto* j = static_cast<VectorJournal*>(mz->addr);
  const uint32_t count = std::min(__atomic_load_n(&j->count, __ATOMIC_ACQUIRE), j->capacity);
  const uint32_t done = std::min(__atomic_load_n(&j->done, __ATOMIC_ACQUIRE), count);
  uint32_t requeued = 0;
  uint32_t freed = 0;
  bool freeRest = j->input != kInputRing;
  if (j->input == kInputRing && __atomic_load_n(&j->active, __ATOMIC_ACQUIRE) != 0) {
    char name[RTE_RING_NAMESIZE];
    std::memcpy(name, j->ring, sizeof(name));
    name[sizeof(name) - 1] = '\0';
    rte_ring* r = rte_ring_lookup(name);
    const uint32_t tail = r == nullptr ? 0 : __atomic_load_n(&r->cons.tail, __ATOMIC_ACQUIRE);
    // What the peek took: the consumer's head past tail0, no more than the
    // vector holds, no less than it handed on, and all of it produced. A
    // ring freed and made again under the name may have its tail at tail0
    // by chance, but not all of that.
    const uint32_t taken = r == nullptr ? 0 : r->cons.head - j->tail0;
    const bool peeked = r != nullptr && r->cons.sync_type == RTE_RING_SYNC_ST && tail == j->tail0 && taken <= j->capacity &&
                        taken >= done && __atomic_load_n(&r->prod.tail, __ATOMIC_ACQUIRE) - j->tail0 >= taken;
    if (peeked) {
      // An unfinished batch left the tail at tail0, with the head wherever
      // the peek put it (a process killed inside the peek moved the head
      // before it published the batch's count): what goes back is what it
      // took past the handed-on prefix.
      const uint32_t pos = j->tail0 + done;
      requeued = taken - done;
      r->cons.head = pos;
      __atomic_store_n(&r->cons.tail, pos, __ATOMIC_RELEASE);
    } else {
      // A finished batch moved the tail, with everything handed on (done ==
      // count). Otherwise the ring is gone or is not the one peeked: only
      // the zone lists what was not handed on.
      freeRest = true;
    }
  }
  if (freeRest && count > done) {
    // Emptied before the free, which is journaled from then on: a reclaim
    // killed in between never frees them twice.
    JournaledFree(ZonePackets(mz) + done, count - done, true, Guard{&j->count, 0}, [j] { PublishWord(&j->count, 0); });
    freed = count - done;
  }
  PublishWord(&j->count, 0);
  PublishWord(&j->done, 0);
  PublishWord(&j->active, 0);
  return {requeued, freed};
}

Napi::Value ReclaimPacketVector(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "reclaimPacketVector";
  RequireEal(env, op);
  const std::string name = ArgString(info, 0, "name");
  const rte_memzone* mz = rte_memzone_lookup(name.c_str());
  if (mz == nullptr) {
    ThrowDpdkCode(env, op, "ENOENT", "no packet vector '" + name + "' (no memzone of that name): it was never named so, or it was freed");
  }
  if (mz->len < kVectorZoneHeader ||
      static_cast<const VectorJournal*>(mz->addr)->capacity > (mz->len - kVectorZoneHeader) / sizeof(rte_mbuf*)) {
    ThrowDpdkCode(env, op, "EINVAL", "memzone '" + name + "' is not a packet vector's; nothing was changed");
  }
  ClaimDeadZone(env, op, mz, kVectorZoneMagic, "packet vector", name, true);
  auto [requeued, freed] = SettleZone(mz);
  ReleaseNamedZone(Data(env), mz);
  Napi::Object out = Napi::Object::New(env);
  out.Set("requeued", requeued);
  out.Set("freed", freed);
  return out;
}

}  // namespace dpdk_core

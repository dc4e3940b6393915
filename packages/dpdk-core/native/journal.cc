#include "journal.h"

#include <rte_errno.h>

#include <cstdlib>
#include <cstring>

#include "txzone.h"

namespace dpdk_core {

std::string ForwarderBufferName(const std::string& name, uint16_t port) { return name + "_" + std::to_string(port); }

bool IsJournalZone(const rte_memzone* mz) {
  return mz->len >= sizeof(ForwardJournal) && static_cast<const ForwardJournal*>(mz->addr)->magic == kJournalMagic;
}

uint32_t RecoverRing(ForwardJournal* j) {
  uint32_t requeued = 0;
  if (__atomic_load_n(&j->active, __ATOMIC_ACQUIRE) == 0) return 0;
  char ringName[RTE_RING_NAMESIZE];
  std::memcpy(ringName, j->ring, sizeof(ringName));
  ringName[sizeof(ringName) - 1] = '\0';
  rte_ring* r = ringName[0] != '\0' ? rte_ring_lookup(ringName) : nullptr;
  // A finished batch moved the tail; an unfinished one left it at tail0, with
  // the head wherever the peek put it.
  if (r != nullptr && r->cons.sync_type == RTE_RING_SYNC_ST &&
      __atomic_load_n(&r->cons.tail, __ATOMIC_ACQUIRE) == j->tail0) {
    const uint32_t count = __atomic_load_n(&j->count, __ATOMIC_ACQUIRE);
    const uint32_t done = std::min(__atomic_load_n(&j->done, __ATOMIC_ACQUIRE), count);
    const uint32_t pos = j->tail0 + done;
    r->cons.head = pos;
    __atomic_store_n(&r->cons.tail, pos, __ATOMIC_RELEASE);
    requeued = count - done;
  }
  __atomic_store_n(&j->active, 0u, __ATOMIC_RELEASE);
  return requeued;
}

namespace {

// reclaimForwarder(name): for a named forwarder whose process is gone.
Napi::Value ReclaimForwarder(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "reclaimForwarder";
  RequireEal(env, op);
  const std::string name = ArgString(info, 0, "name");
  const rte_memzone* mz = rte_memzone_lookup(name.c_str());
  if (mz == nullptr) {
    ThrowDpdkCode(env, op, "ENOENT",
                  "no forwarder '" + name + "' (no memzone of that name): it was never named so, or it was freed");
  }
  if (!IsJournalZone(mz)) {
    ThrowDpdkCode(env, op, "EINVAL", "memzone '" + name + "' is not a forwarder's journal; nothing was changed");
  }
  AddonData& data = Data(env);
  if (data.heldZones.count(mz) != 0) {
    ThrowDpdkCode(env, op, "EBUSY", "forwarder '" + name + "' is held by a live handle of this process; free() it instead");
  }
  auto* j = static_cast<ForwardJournal*>(mz->addr);
  const uint32_t requeued = RecoverRing(j);
  uint32_t reclaimed = 0;
  for (uint16_t p = 0; p < RTE_MAX_ETHPORTS; p++) {
    if ((j->outPorts & (1u << p)) == 0) continue;
    const rte_memzone* zone = rte_memzone_lookup(ForwarderBufferName(name, p).c_str());
    if (zone == nullptr || !IsTxZone(zone) || data.heldZones.count(zone) != 0) continue;
    reclaimed += TxDiscard(ZoneBuffer(zone));
    rte_memzone_free(zone);
  }
  rte_memzone_free(mz);
  Napi::Object out = Napi::Object::New(env);
  out.Set("reclaimed", reclaimed);
  out.Set("requeued", requeued);
  return out;
}

}  // namespace

Failpoint ReadFailpoint() {
  const char* v = std::getenv("DPDK_MP_FAILPOINT");
  return v != nullptr && std::strcmp(v, "forward-kill-after-chunk") == 0 ? Failpoint::kForwardKillAfterChunk
                                                                           : Failpoint::kNone;
}

void InitJournal(Napi::Env env, Napi::Object exports) {
  exports.Set("reclaimForwarder", Napi::Function::New(env, ReclaimForwarder, "reclaimForwarder"));
}

}  // namespace dpdk_core

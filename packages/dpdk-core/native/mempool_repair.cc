// Repairs what a process killed with SIGKILL leaves in a shared packet pool
// (see dpdk-facts.md, "what SIGKILL of a secondary does"). A put that
// overflows an lcore's cache enqueues the whole cache, objs[0 .. len), to the
// pool's ring and only then resets len. A process killed inside that enqueue
// leaves the ring's producer head ahead of its tail: every later producer
// waits for the tail forever. The dead lcore's cache still holds exactly the
// objects it was enqueueing, so the repair publishes them into the reserved
// slots and moves the tail on; without a stuck enqueue it returns the cache's
// objects to the pool. It must run before any process uses that lcore id
// again (a new owner would flush the same pointers a second time).
#include <rte_cycles.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include <cstring>
#include <string>

#include "common.h"

namespace dpdk_core {

namespace {

bool RingBackend(const rte_mempool* mp) {
  const rte_mempool_ops* ops = rte_mempool_get_ops(mp->ops_index);
  return std::strncmp(ops->name, "ring_", 5) == 0;
}

void** Slots(rte_ring* r) { return reinterpret_cast<void**>(r + 1); }

Napi::Object RingState(Napi::Env env, const rte_mempool* mp) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("backend", rte_mempool_get_ops(mp->ops_index)->name);
  if (!RingBackend(mp)) return o;
  const rte_ring* r = static_cast<const rte_ring*>(mp->pool_data);
  o.Set("size", r->size);
  o.Set("prodHead", r->prod.head);
  o.Set("prodTail", r->prod.tail);
  o.Set("consHead", r->cons.head);
  o.Set("consTail", r->cons.tail);
  return o;
}

uint32_t ArgLcoreId(const Napi::CallbackInfo& info, size_t i) {
  uint32_t lcore = ArgU32(info, i, "lcore");
  if (lcore >= RTE_MAX_LCORE) {
    throw Napi::RangeError::New(info.Env(), "lcore must be below " + std::to_string(RTE_MAX_LCORE));
  }
  return lcore;
}

// (pool) => { backend, size?, prodHead?, prodTail?, consHead?, consTail? }
Napi::Value MempoolRingState(const Napi::CallbackInfo& info) {
  rte_mempool* mp = MempoolFrom(info.Env(), info[0], "pool");
  return RingState(info.Env(), mp);
}

// (pool, deadLcore, settleMs) => { outcome, objects, ...ring state before }
//   outcome: 'clean'     nothing was half done and the cache was empty
//            'flushed'   the dead lcore's cache went back to the pool
//            'completed' its last flush had finished; only len was stale
//            'published' its flush was stuck half way; the cache's objects
//                        were published into the reserved slots
//            'unrepairable' the ring is stuck but not by that cache's flush
Napi::Value RepairMempool(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  rte_mempool* mp = MempoolFrom(env, info[0], "pool");
  const uint32_t lcore = ArgLcoreId(info, 1);
  const uint32_t settleMs = ArgU32(info, 2, "settleMs");
  Napi::Object result = RingState(env, mp);
  rte_mempool_cache* cache = rte_mempool_default_cache(mp, lcore);
  const uint32_t len = cache == nullptr ? 0 : cache->len;
  result.Set("objects", len);
  if (!RingBackend(mp)) {
    if (len > 0) rte_mempool_cache_flush(cache, mp);
    result.Set("outcome", len > 0 ? "flushed" : "clean");
    return result;
  }
  rte_ring* r = static_cast<rte_ring*>(mp->pool_data);
  if (r->prod.sync_type != RTE_RING_SYNC_MT && r->prod.sync_type != RTE_RING_SYNC_ST) {
    ThrowDpdkCode(env, "repairMempool", "ENOTSUP", "the pool's ring uses RTS/HTS sync, which this repair does not read");
  }
  // Live producers move the tail within microseconds; a tail that stays put
  // while the head is ahead belongs to a producer that will never finish.
  const uint64_t hz = rte_get_timer_hz();
  uint32_t tail = __atomic_load_n(&r->prod.tail, __ATOMIC_ACQUIRE);
  uint64_t since = rte_get_timer_cycles();
  bool stuck = false;
  for (;;) {
    const uint32_t head = __atomic_load_n(&r->prod.head, __ATOMIC_ACQUIRE);
    const uint32_t now = __atomic_load_n(&r->prod.tail, __ATOMIC_ACQUIRE);
    if (head == now) break;
    if (now != tail) {
      tail = now;
      since = rte_get_timer_cycles();
    } else if (rte_get_timer_cycles() - since > hz * settleMs / 1000) {
      stuck = true;
      break;
    }
    rte_pause();
  }
  if (stuck) {
    const uint32_t head = __atomic_load_n(&r->prod.head, __ATOMIC_ACQUIRE);
    if (len == 0 || head - tail < len) {
      result.Set("outcome", "unrepairable");
      return result;
    }
    void** slots = Slots(r);
    for (uint32_t j = 0; j < len; j++) slots[(tail + j) & r->mask] = cache->objs[j];
    __atomic_store_n(&r->prod.tail, tail + len, __ATOMIC_RELEASE);
    cache->len = 0;
    result.Set("outcome", "published");
    return result;
  }
  if (len == 0) {
    result.Set("outcome", "clean");
    return result;
  }
  // Killed between the enqueue and `cache->len = n`: the objects are already
  // in the ring, just before the tail; flushing them again would double them.
  const uint32_t end = __atomic_load_n(&r->prod.tail, __ATOMIC_ACQUIRE);
  void** slots = Slots(r);
  bool inRing = true;
  for (uint32_t j = 0; j < len && inRing; j++) inRing = slots[(end - len + j) & r->mask] == cache->objs[j];
  if (inRing) {
    cache->len = 0;
    result.Set("outcome", "completed");
    return result;
  }
  rte_mempool_cache_flush(cache, mp);
  result.Set("outcome", "flushed");
  return result;
}

}  // namespace

void InitMempoolRepair(Napi::Env env, Napi::Object exports) {
  exports.Set("mempoolRingState", Napi::Function::New(env, MempoolRingState, "mempoolRingState"));
  exports.Set("repairMempool", Napi::Function::New(env, RepairMempool, "repairMempool"));
}

}  // namespace dpdk_core

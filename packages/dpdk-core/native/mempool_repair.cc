// Repairs what a process killed with SIGKILL leaves in a shared packet pool
// (dpdk-facts.md, "what SIGKILL of a secondary does"), under one rule: a
// buffer may be lost, never returned while someone else may own it.
//
// DPDK 22.11's cached put (rte_mempool_do_generic_put, inlined into every
// driver) raises cache->len before it stores the objects, and its flush
// enqueues objs[0 .. len) before it resets len; its get lowers len before it
// copies the objects out, and a refill dequeues size + remaining objects
// into the cache before it sets len. So a dead lcore's cache is not what
// its length says, and a ring transfer it was making may be half done.
//
// With the dead process's activity record (activity.h) the repair is exact:
// - a ring transfer of its own (OwnFlush, OwnRefill) is finished or found
//   never to have happened, from the position recorded before its
//   reservation; only when the process died between taking the reservation
//   and recording it as sure does the ring alone decide, as before: a tail
//   that stays at that position for settleMs is taken for the dead one's;
// - the pool call it was in is replayed from the cache's length when the
//   call started (no flush or refill happens inside a journaled call): the
//   puts it had started are completed with the objects it was storing, the
//   objects it had not reached are freed for it, the objects a get had taken
//   but not published go back; what it cannot follow (a driver that does not
//   free in order, packets in memory of the dead process alone) is reported
//   lost, with the reason;
// - between calls, the whole cache goes back.
// Without a usable record (a process of other code, or a call the journal
// cannot replay), what the repair proves goes back:
// - a stuck producer reservation is the dead lcore's only if its slots start
//   with the cache's first objects (its enqueue copies them in order); then
//   the rest of the cache is published into it and the tail moves on. A live
//   producer that is merely descheduled shows its own objects there and is
//   left alone ('unrepairable': try again later);
// - without a stuck flush, the cache's first len - maxPut objects were
//   stored by puts that completed, unless len is within maxPut of the flush
//   threshold (a flush may have enqueued them all): those go back, the rest
//   is discarded (lost, unless already in the ring). maxPut is the caller's
//   bound on one put of the dead process; 0 when it exited by itself;
// - a stuck consumer reservation is the dead lcore's refill only if the
//   cache is empty, the reservation is a refill's size and the cache starts
//   with its first slots; its objects, which no producer can overwrite until
//   the tail moves, are put back in the pool and the tail moves on.
// Everything returned or freed must also be distinct objects of the pool
// that the ring and the other lcores' caches do not list at that moment.
//
// It must run before any process uses that lcore id again (a new owner
// would flush the same pointers a second time), before the dead process's
// named vectors and TX buffers are reclaimed (they refuse with EAGAIN while
// its record names them), and for a consumer-side repair while no other
// process is taking from the pool.
//
// This file: the entry point and the repair by proof; repair_record.cc: the
// repair with the record.
#include <rte_cycles.h>
#include <rte_lcore.h>
#include <rte_memory.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include <algorithm>
#include <string>
#include <vector>

#include "activity.h"
#include "common.h"
#include "pool_objects.h"
#include "repair.h"

namespace dpdk_core {
namespace repair {
namespace {

// How long a repair waits for a ring whose tail keeps moving with the head
// ahead to settle, before it gives up for now.
constexpr uint64_t kBusyMs = 1000;

uint64_t Cycles(uint64_t ms) { return rte_get_timer_hz() * ms / 1000; }

}  // namespace

// Whether one side of the ring has a reservation nobody will finish: its
// tail stays put for settleMs with the head ahead (live processes move it
// within microseconds). head/tail: the stuck reservation's bounds.
Settled Settle(const rte_ring_headtail& ht, uint32_t settleMs, uint32_t* head, uint32_t* tail) {
  const uint64_t start = rte_get_timer_cycles();
  uint64_t since = start;
  *tail = __atomic_load_n(&ht.tail, __ATOMIC_ACQUIRE);
  for (;;) {
    *head = __atomic_load_n(&ht.head, __ATOMIC_ACQUIRE);
    const uint32_t now = __atomic_load_n(&ht.tail, __ATOMIC_ACQUIRE);
    if (*head == now) return Settled::kIdle;
    const uint64_t t = rte_get_timer_cycles();
    if (now != *tail) {
      *tail = now;
      since = t;
    } else if (t - since > Cycles(settleMs)) {
      return Settled::kStuck;
    }
    if (t - start > Cycles(kBusyMs)) return Settled::kBusy;
    rte_pause();
  }
}

// Waits for one side's tail to reach `pos` (earlier reservations finish):
// kPassed once it is beyond (the reservation at pos was published), kAt
// once it has stayed at pos for `settleMs` (0: at once), kBusy if neither
// happens within kBusyMs.
AtPos WaitForTail(const rte_ring_headtail& ht, uint32_t pos, uint32_t settleMs) {
  const uint64_t start = rte_get_timer_cycles();
  uint64_t since = 0;
  for (;;) {
    const uint32_t tail = __atomic_load_n(&ht.tail, __ATOMIC_ACQUIRE);
    const int32_t ahead = static_cast<int32_t>(tail - pos);
    const uint64_t t = rte_get_timer_cycles();
    if (ahead > 0) return AtPos::kPassed;
    if (ahead == 0) {
      if (since == 0) since = t;
      if (t - since >= Cycles(settleMs)) return AtPos::kAt;
    } else {
      since = 0;
    }
    if (t - start > Cycles(kBusyMs)) return AtPos::kBusy;
    rte_pause();
  }
}

// How many of objs[0 .. n) the ring's slots from `from` on list, in order.
uint32_t CopiedPrefix(rte_ring* r, uint32_t from, void* const* objs, uint32_t n) {
  void** slots = RingSlots(r);
  uint32_t k = 0;
  while (k < n && slots[(from + k) & r->mask] == objs[k]) k++;
  return k;
}

// Whether objs[0 .. n) are n distinct objects of the pool that nothing else
// lists right now: not the ring's published entries (outside [skipFrom,
// skipTo)), not another lcore's cache.
bool ListedNowhereElse(rte_mempool* mp, rte_ring* r, void* const* objs, uint32_t n, uint32_t lcore,
                       uint32_t skipFrom, uint32_t skipTo) {
  const PoolObjects pool(mp);
  std::vector<uint8_t> ours(pool.size(), 0);
  for (uint32_t i = 0; i < n; i++) {
    const int64_t idx = pool.IndexOf(objs[i]);
    if (idx < 0 || ours[idx]++ != 0) return false;
  }
  auto listed = [&](const void* obj) {
    const int64_t idx = pool.IndexOf(obj);
    return idx >= 0 && ours[idx] != 0;
  };
  if (r != nullptr) {
    void** slots = RingSlots(r);
    const uint32_t end = __atomic_load_n(&r->prod.tail, __ATOMIC_ACQUIRE);
    for (uint32_t pos = __atomic_load_n(&r->cons.tail, __ATOMIC_ACQUIRE); pos != end; pos++) {
      if (pos - skipFrom < skipTo - skipFrom) continue;
      if (listed(slots[pos & r->mask])) return false;
    }
  }
  for (uint32_t other = 0; other < RTE_MAX_LCORE; other++) {
    const rte_mempool_cache* c = rte_mempool_default_cache(mp, other);
    if (other == lcore || c == nullptr) continue;
    const uint32_t len = std::min<uint32_t>(c->len, RTE_MEMPOOL_CACHE_MAX_SIZE * 2);
    for (uint32_t j = 0; j < len; j++) {
      if (listed(c->objs[j])) return false;
    }
  }
  return true;
}

}  // namespace repair

namespace {

using repair::CopiedPrefix;
using repair::ListedNowhereElse;
using repair::Outcome;
using repair::Repair;
using repair::Settle;
using repair::Settled;

Napi::Object RingState(Napi::Env env, const rte_mempool* mp) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("backend", rte_mempool_get_ops(mp->ops_index)->name);
  const rte_ring* r = PoolRing(mp);
  if (r == nullptr) return o;
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


const char* Name(Outcome o) {
  switch (o) {
    case Outcome::kReturned:
      return "returned";
    case Outcome::kPublished:
      return "published";
    case Outcome::kRepublished:
      return "republished";
    case Outcome::kUnrepairable:
      return "unrepairable";
    default:
      return "clean";
  }
}

// ---------------------------------------------------------------------------
// Without a usable activity record (see the file comment).

// The producer side and the dead lcore's cache.
void RepairPuts(rte_mempool* mp, rte_ring* r, rte_mempool_cache* cache, uint32_t lcore, uint32_t settleMs,
                uint32_t maxPut, Repair* out) {
  const uint32_t len = cache == nullptr ? 0 : cache->len;
  uint32_t head = 0;
  uint32_t tail = 0;
  const Settled prod = r == nullptr ? Settled::kIdle : Settle(r->prod, settleMs, &head, &tail);
  if (prod == Settled::kBusy) {
    out->Unrepairable("the pool's ring never settled (a reservation half done under traffic): try again");
    return;
  }
  if (prod == Settled::kStuck) {
    const uint32_t copied = len == 0 || head - tail < len ? 0 : CopiedPrefix(r, tail, cache->objs, len);
    if (copied == 0 || !ListedNowhereElse(mp, r, cache->objs + copied, len - copied, lcore, 0, 0)) {
      out->Unrepairable("the pool's ring has a stuck enqueue that is not provably this lcore's: try again");
      return;
    }
    void** slots = RingSlots(r);
    for (uint32_t j = copied; j < len; j++) slots[(tail + j) & r->mask] = cache->objs[j];
    cache->len = 0;
    __atomic_store_n(&r->prod.tail, tail + len, __ATOMIC_RELEASE);
    out->puts = Outcome::kPublished;
    out->returned = len;
    return;
  }
  if (len == 0) return;
  uint32_t keep = len + maxPut > cache->flushthresh ? 0 : len - std::min(len, maxPut);
  if (keep > 0 && !ListedNowhereElse(mp, r, cache->objs, keep, lcore, 0, 0)) keep = 0;
  EmptyCache(mp, cache, keep);
  out->puts = Outcome::kReturned;
  out->returned = keep;
  out->discarded = len - keep;
  out->Lose(len - keep, "cached objects not provably stored (maxPut " + std::to_string(maxPut) +
                            "): lost, unless a flush had put them in the ring already");
}

// The consumer side: a refill the dead lcore left half done inside DPDK.
void RepairRefill(rte_mempool* mp, rte_ring* r, rte_mempool_cache* cache, uint32_t lcore, uint32_t lenAtDeath,
                  uint32_t settleMs, Repair* out) {
  uint32_t head = 0;
  uint32_t tail = 0;
  const Settled cons = Settle(r->cons, settleMs, &head, &tail);
  if (cons == Settled::kIdle) return;
  const uint32_t n = head - tail;
  const bool refill = cons == Settled::kStuck && cache != nullptr && lenAtDeath == 0 && n > cache->size &&
                      n <= cache->size + RTE_MEMPOOL_CACHE_MAX_SIZE && CopiedPrefix(r, tail, cache->objs, n) > 0;
  // Repairing it means enqueueing, which would wait behind a stuck producer.
  if (!refill || out->puts == Outcome::kUnrepairable) {
    out->refill = Outcome::kUnrepairable;
    out->reasons.push_back("the pool's ring has a stuck dequeue that is not provably this lcore's: try again");
    return;
  }
  void** slots = RingSlots(r);
  std::vector<void*> objs(n);
  for (uint32_t j = 0; j < n; j++) objs[j] = slots[(tail + j) & r->mask];
  if (!ListedNowhereElse(mp, r, objs.data(), n, lcore, tail, head)) {
    out->refill = Outcome::kUnrepairable;
    out->reasons.push_back("the objects of a stuck dequeue are listed elsewhere too: left alone");
    return;
  }
  // Copied out before the tail lets producers overwrite the slots.
  __atomic_store_n(&r->cons.tail, head, __ATOMIC_RELEASE);
  rte_mempool_ops_enqueue_bulk(mp, objs.data(), n);
  out->refill = Outcome::kRepublished;
  out->republished = n;
}

void RepairByProof(rte_mempool* mp, rte_ring* r, rte_mempool_cache* cache, uint32_t lcore, uint32_t settleMs,
                   uint32_t maxPut, Repair* out) {
  const uint32_t len = cache == nullptr ? 0 : cache->len;
  RepairPuts(mp, r, cache, lcore, settleMs, maxPut, out);
  if (r != nullptr) RepairRefill(mp, r, cache, lcore, len, settleMs, out);
}

// (pool) => { backend, size?, prodHead?, prodTail?, consHead?, consTail? }
Napi::Value MempoolRingState(const Napi::CallbackInfo& info) {
  rte_mempool* mp = MempoolFrom(info.Env(), info[0], "pool");
  return RingState(info.Env(), mp);
}

// (pool, deadLcore, settleMs, maxPut, pid) => { ...ring state before,
//   outcome, objects, returned, discarded, consumer, republished, activity,
//   completed, freed, enqueued, lost, reasons, judged }
//   outcome (producer side and the cache):
//     'clean'        the cache was empty and no flush was stuck
//     'returned'     the cache's stored objects went back to the pool
//     'published'    its stuck flush was completed with the cache's objects
//     'unrepairable' a stuck producer reservation that is not provably the
//                    dead lcore's, or a ring too busy to tell: nothing changed
//   consumer: 'clean', 'republished' (a stuck refill's objects went back to
//     the pool) or 'unrepairable'
//   activity: what the dead process's record said ('none': no usable record)
Napi::Value RepairMempool(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* op = "repairMempool";
  rte_mempool* mp = MempoolFrom(env, info[0], "pool");
  const uint32_t lcore = ArgLcoreId(info, 1);
  const uint32_t settleMs = ArgU32(info, 2, "settleMs");
  const uint32_t maxPut = ArgU32(info, 3, "maxPut");
  const uint32_t pid = ArgU32(info, 4, "pid");
  Napi::Object result = RingState(env, mp);
  rte_ring* r = PoolRing(mp);
  if (r != nullptr && r->prod.sync_type != RTE_RING_SYNC_MT && r->prod.sync_type != RTE_RING_SYNC_ST) {
    ThrowDpdkCode(env, op, "ENOTSUP", "the pool's ring uses RTS/HTS sync, which this repair does not read");
  }
  PoolActivity* a = FindActivity(lcore);
  const ZoneOwner owner = a == nullptr ? ZoneOwner{0, 0} : a->owner;
  // Whatever pid the caller names: a live process runs as this lcore id, and
  // its cache is not to be touched under it.
  if (owner.pid != 0 && OwnerAlive(owner)) {
    ThrowDpdkCode(env, op, "EBUSY",
                  "lcore " + std::to_string(lcore) + " is in use by live process " + std::to_string(owner.pid) +
                      " (its pool activity record); repair the lcore of a process that is gone");
  }
  // A process that waits on the dead owner's record made no pool call yet:
  // named while alive, it is not to be repaired either.
  const ZoneOwner waiting = a == nullptr ? ZoneOwner{0, 0} : a->waiting;
  const bool namesWaiting = pid != 0 && waiting.pid != 0 && static_cast<uint32_t>(waiting.pid) == pid;
  if (namesWaiting && OwnerAlive(waiting)) {
    ThrowDpdkCode(env, op, "EBUSY",
                  "pid " + std::to_string(pid) + " is alive as lcore " + std::to_string(lcore) +
                      " (waiting for the repair of pid " + std::to_string(owner.pid) + "); repair the lcore of a process that is gone");
  }
  rte_mempool_cache* cache = rte_mempool_default_cache(mp, lcore);
  const uint32_t len = cache == nullptr ? 0 : cache->len;
  Repair repair;
  // A record is the dead process's if it names it, or names it as waiting
  // (it made no pool call: the record still describes the cache), or,
  // without a pid, names a process that is gone: the last one to run as
  // this lcore id.
  const bool usable = owner.pid != 0 && (pid == 0 || static_cast<uint32_t>(owner.pid) == pid || namesWaiting);
  if (!usable || !repair::RepairByRecord(*a, mp, r, cache, lcore, settleMs, &repair)) {
    // With maxPut 0 (a process that exited by itself, which released its
    // record at cleanup) the rule gives the whole cache back: exact, and no
    // reason to report.
    if (!usable && maxPut > 0) {
      repair.reasons.push_back(a == nullptr || owner.pid == 0
                                   ? "no pool activity record for lcore " + std::to_string(lcore) + ": repaired by the rule of maxPut"
                                   : "the pool activity record of lcore " + std::to_string(lcore) + " is pid " +
                                         std::to_string(owner.pid) + "'s, not pid " + std::to_string(pid) +
                                         "'s: repaired by the rule of maxPut");
    }
    RepairByProof(mp, r, cache, lcore, settleMs, maxPut, &repair);
    if (usable && repair.puts != Outcome::kUnrepairable && repair.refill != Outcome::kUnrepairable && a->pool == mp) {
      PublishPair(&a->op, kActIdle, 0);
    }
  }
  // The dead owner's call settled: a process started as this lcore id may
  // take the record at EAL init now (the journal has nothing left to say),
  // unless another one waits for it (activity.cc).
  if (usable && repair.puts != Outcome::kUnrepairable && repair.refill != Outcome::kUnrepairable &&
      OpOf(__atomic_load_n(&a->op, __ATOMIC_ACQUIRE)) == kActIdle && XferOf(__atomic_load_n(&a->xfer, __ATOMIC_ACQUIRE)) == kXferNone) {
    PublishPair(&a->op, kActIdle | kActRepaired, 0);
  }
  result.Set("outcome", Name(repair.puts));
  result.Set("objects", len);
  result.Set("returned", repair.returned);
  result.Set("discarded", repair.discarded);
  result.Set("consumer", Name(repair.refill));
  result.Set("republished", repair.republished);
  result.Set("activity", repair.activity);
  result.Set("completed", repair.completed);
  result.Set("freed", repair.freed);
  result.Set("enqueued", repair.enqueued);
  result.Set("lost", repair.lost);
  Napi::Array reasons = Napi::Array::New(env, repair.reasons.size());
  for (uint32_t i = 0; i < repair.reasons.size(); i++) reasons.Set(i, repair.reasons[i]);
  result.Set("reasons", reasons);
  result.Set("judged", repair.judged);
  return result;
}

}  // namespace

void InitMempoolRepair(Napi::Env env, Napi::Object exports) {
  exports.Set("mempoolRingState", Napi::Function::New(env, MempoolRingState, "mempoolRingState"));
  exports.Set("repairMempool", Napi::Function::New(env, RepairMempool, "repairMempool"));
}

}  // namespace dpdk_core
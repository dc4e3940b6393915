// The exact repair of a killed lcore from its process's activity record
// (activity.h): its own ring transfers finished or found never to have
// happened, the pool call it was in replayed from the cache's length when
// the call started (mempool_repair.cc's file comment says what may go back).
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_memory.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include <algorithm>
#include <string>
#include <vector>

#include "journaled.h"
#include "common.h"
#include "pool_objects.h"
#include "repair.h"

namespace dpdk_core {
namespace repair {

namespace {

// Whether [p, p + n) lies in DPDK's memory, which every process of the group
// maps at the same address.
bool Readable(const void* p, uint32_t n) {
  const auto* b = static_cast<const uint8_t*>(p);
  return p != nullptr && n > 0 && rte_mem_virt2memseg_list(b) != nullptr &&
         rte_mem_virt2memseg_list(b + n * sizeof(void*) - 1) != nullptr;
}

std::string DriverName(uint16_t port) {
  rte_eth_dev_info info;
  if (!rte_eth_dev_is_valid_port(port) || rte_eth_dev_info_get(port, &info) != 0 || info.driver_name == nullptr) {
    return "the driver of port " + std::to_string(port);
  }
  return std::string(info.driver_name) + " (port " + std::to_string(port) + ")";
}

// A ring transfer of the dead process's own: finished, or found never to
// have happened. False while the ring cannot tell yet (try again).
bool SettleFlush(const PoolActivity& a, rte_ring* r, rte_mempool_cache* cache, uint32_t settleMs, Repair* out) {
  const uint32_t phase = PhaseOf(a.xfer);
  const uint32_t n = a.xferN;
  const uint32_t pos = a.xferPos;
  if (phase == kPhaseReserving && __atomic_load_n(&r->prod.head, __ATOMIC_ACQUIRE) == pos) return true;
  // Reserved: the reservation at pos is the dead one's, published unless
  // the tail stops there. Reserving: some producer took pos; the dead one's
  // never gets published, anybody else's does.
  const AtPos at = WaitForTail(r->prod, pos, phase == kPhaseReserved ? 0 : settleMs);
  if (at == AtPos::kBusy) {
    out->Unrepairable("the pool's ring has not reached the dead process's flush at " + std::to_string(pos) + " yet: try again");
    return false;
  }
  if (at == AtPos::kPassed) return true;
  if (phase == kPhaseReserving) {
    if (__atomic_load_n(&r->prod.head, __ATOMIC_ACQUIRE) - pos < n) {
      out->Unrepairable("a stuck enqueue at " + std::to_string(pos) + " is too short to be the dead process's flush: try again");
      return false;
    }
    out->judged = true;
  }
  void** slots = RingSlots(r);
  for (uint32_t j = 0; j < n; j++) slots[(pos + j) & r->mask] = cache->objs[j];
  PublishWord(&cache->len, 0);
  PublishWord(const_cast<uint32_t*>(&r->prod.tail), pos + n);
  out->puts = Outcome::kPublished;
  out->returned += n;
  return true;
}

bool SettleRefill(const PoolActivity& a, rte_ring* r, rte_mempool_cache* cache, uint32_t settleMs, Repair* out) {
  const uint32_t phase = PhaseOf(a.xfer);
  const uint32_t k = a.xferN;
  const uint32_t pos = a.xferPos;
  const uint32_t len0 = a.xferLen0;
  if (phase == kPhaseReserving && __atomic_load_n(&r->cons.head, __ATOMIC_ACQUIRE) == pos) return true;
  const AtPos at = WaitForTail(r->cons, pos, phase == kPhaseReserved ? 0 : settleMs);
  if (at == AtPos::kBusy) {
    out->refill = Outcome::kUnrepairable;
    out->reasons.push_back("the pool's ring has not reached the dead process's refill at " + std::to_string(pos) + " yet: try again");
    return false;
  }
  if (at == AtPos::kPassed) {
    // Published: the objects are in the cache above len0; the length was
    // raised, or not yet.
    if (phase == kPhaseReserved && cache->len == len0) PublishWord(&cache->len, len0 + k);
    return true;
  }
  if (phase == kPhaseReserving) {
    if (__atomic_load_n(&r->cons.head, __ATOMIC_ACQUIRE) - pos < k) {
      out->refill = Outcome::kUnrepairable;
      out->reasons.push_back("a stuck dequeue at " + std::to_string(pos) + " is too short to be the dead process's refill: try again");
      return false;
    }
    out->judged = true;
  }
  void** slots = RingSlots(r);
  for (uint32_t j = 0; j < k; j++) cache->objs[len0 + j] = slots[(pos + j) & r->mask];
  PublishWord(&cache->len, len0 + k);
  // Copied before the tail lets producers overwrite the slots.
  PublishWord(const_cast<uint32_t*>(&r->cons.tail), pos + k);
  out->refill = Outcome::kRepublished;
  out->republished = k;
  return true;
}

// The dead process's enqueue of its recorded packets into an output ring:
// finished, or found never to have happened; the record's done then says
// where the packets still to free start.
bool SettleEnqueue(PoolActivity& a, uint32_t settleMs, Repair* out) {
  auto* r = static_cast<rte_ring*>(a.xferObject);
  if (!Readable(r, 1) || !Enqueueable(r)) {
    out->Unrepairable("the dead process's output ring is gone or not one it could write: left alone");
    return false;
  }
  const uint32_t phase = PhaseOf(a.xfer);
  const uint32_t m = a.xferN;
  const uint32_t pos = a.xferPos;
  const bool single = r->prod.sync_type == RTE_RING_SYNC_ST;
  if (phase == kPhaseReserving && __atomic_load_n(&r->prod.head, __ATOMIC_ACQUIRE) == pos) return true;
  // A single producer's head is its own: moved from pos, the reservation is its.
  const AtPos at = WaitForTail(r->prod, pos, phase == kPhaseReserved || single ? 0 : settleMs);
  if (at == AtPos::kBusy) {
    out->Unrepairable("ring '" + std::string(r->name) + "' has not reached the dead process's enqueue yet: try again");
    return false;
  }
  if (at == AtPos::kAt) {
    if (phase == kPhaseReserving && !single) {
      if (__atomic_load_n(&r->prod.head, __ATOMIC_ACQUIRE) - pos < m) {
        out->Unrepairable("a stuck enqueue of ring '" + std::string(r->name) + "' is too short to be the dead process's: try again");
        return false;
      }
      out->judged = true;
    }
    if (!Readable(a.array, m)) {
      out->Unrepairable("the packets of the dead process's enqueue are not readable: left alone");
      return false;
    }
    void** slots = RingSlots(r);
    for (uint32_t j = 0; j < m; j++) slots[(pos + j) & r->mask] = a.array[j];
    PublishWord(const_cast<uint32_t*>(&r->prod.tail), pos + m);
  } else if (phase == kPhaseReserving && !single) {
    return true;  // published by whoever won the position: not the dead one
  }
  out->enqueued += m;
  if (OpOf(a.op) == kActPut && a.array != nullptr && a.done < m) PublishPair(&a.op, a.op, m);
  return true;
}

// What the replay decided, applied once every check passed.
struct Plan {
  uint32_t keep = 0;                                  // cache slots [0, keep) go back
  std::vector<std::pair<uint32_t, void*>> rewrites;   // slot, object the dead put was storing
  rte_mbuf** unfreed = nullptr;                       // objects it had not reached: freed for it
  uint32_t unfreedN = 0;
};

// A call on another pool leaves this one's cache alone, unless its packets
// are of this pool too (then nothing about this cache is known).
bool TouchesPool(const PoolActivity& a, uint32_t word, rte_mempool* mp) {
  const uint32_t op = OpOf(word);
  if (op == kActGet) return false;
  if (op == kActOpaque || (word & kActShared) == 0) return true;
  const uint32_t from = a.done;
  if (from >= a.n || !Readable(a.array + from, a.n - from)) return true;
  const PoolObjects pool(mp);
  for (uint32_t i = from; i < a.n; i++) {
    if (pool.IndexOf(a.array[i]) >= 0) return true;
  }
  return false;
}

// The puts of a call in progress (kActPut with kActInCall), replayed.
// False: the cache does not show what the call does (see the reason).
bool ReplayPuts(const PoolActivity& a, uint32_t word, rte_mempool* mp, rte_ring* r, rte_mempool_cache* cache,
                uint32_t lcore, Plan* plan, Repair* out) {
  const uint32_t len = cache->len;
  const uint32_t len0 = a.len0;
  const uint32_t done = a.done;
  const uint32_t n = a.n;
  const uint32_t chunk = (word & kActTxChunks) != 0 ? 1 : 64;
  const bool tx = (word & kActTxChunks) != 0;
  if (len0 > cache->flushthresh || done > n) return false;
  // The slice this call puts: what the cache had room for (RoomForPuts).
  const uint32_t slice = std::min(n - done, cache->flushthresh - len0);
  if (len < len0 || len - len0 > slice) return false;
  const uint32_t started = len - len0;  // objects of the puts begun, their length raised
  if (started % chunk != 0 && started != slice) return false;
  // The last put begun may have stored none, some or all of its objects.
  const uint32_t complete = started == 0 ? 0 : (started - 1) / chunk * chunk;
  if ((word & kActShared) == 0) {
    plan->keep = len0 + complete;
    out->discarded += started - complete;
    out->Lose(started - complete, std::string("objects of a ") + (tx ? "TX burst" : "free") +
                                      " put in progress, in memory of the dead process alone (an unnamed vector, a Burst): lost");
    out->Lose(n - done - started, std::string("packets its ") + (tx ? "TX burst" : "free") +
                                       " had not reached, in memory of the dead process alone: lost");
    return true;
  }
  rte_mbuf** objs = a.array + done;
  if (!Readable(objs, n - done)) return false;
  for (uint32_t i = 0; i < complete; i++) {
    if (cache->objs[len0 + i] != objs[i]) return false;
  }
  // Its objects are its alone: nowhere in the ring or another cache.
  if (!ListedNowhereElse(mp, r, reinterpret_cast<void* const*>(objs), n - done, lcore, 0, 0)) return false;
  for (uint32_t i = 0; i < n - done; i++) {
    const rte_mbuf* m = objs[i];
    // net_tap segments a TSO packet into mbufs of its own pool first.
    if (tx && (m->ol_flags & RTE_MBUF_F_TX_TCP_SEG) != 0) return false;
    if (i >= started && (rte_mbuf_refcnt_read(m) != 1 || !RTE_MBUF_DIRECT(m))) return false;
  }
  for (uint32_t i = complete; i < started; i++) {
    if (cache->objs[len0 + i] != objs[i]) plan->rewrites.push_back({len0 + i, objs[i]});
  }
  plan->keep = len;
  plan->unfreed = objs + started;
  plan->unfreedN = n - done - started;
  return true;
}

// The dead process's call on this pool, replayed (the file comment).
void ReplayCall(const PoolActivity& a, uint32_t word, rte_mempool* mp, rte_ring* r, rte_mempool_cache* cache, uint32_t lcore,
                Plan* plan, Repair* out) {
  const uint32_t op = OpOf(word);
  const uint32_t len = cache->len;
  const bool inCall = (word & kActInCall) != 0;
  const bool shared = (word & kActShared) != 0;
  const Guard guard{a.guardWord, a.guardValue, a.guardBits};
  // The guard word holds its value once the objects are the call's
  // (puts), and while they are unpublished (gets).
  const bool guardHolds = guard.word == nullptr || (Readable(guard.word, 1) && GuardNow(guard) == guard.value);
  plan->keep = len;
  if (op == kActIdle) return;
  if (op == kActGet) {
    // Recorded, not yet entered: its length at the start is not written yet.
    const bool published = !guardHolds;
    if (!inCall || published) return;
    if (a.driver == static_cast<uint32_t>(RxGet::kIntoBurst)) {
      // What the get took is in the slots above the length still.
      if (len <= a.len0) {
        plan->keep = a.len0;
        return;
      }
      out->Lose(a.n, "objects a get took after refilling the cache itself (more than it asked for): lost");
      return;
    }
    if (len < a.len0) out->Lose(a.len0 - len, "objects taken by " + DriverName(a.port) + " in an RX burst (its queue may hold them): lost to the pool");
    return;
  }
  if (op == kActHandTx) {
    // Counted as handed on, and the TX buffer's length does not cover them
    // yet: in neither holder.
    const Guard length{a.handWord, a.handValue, 16};
    const bool inBuffer = Readable(length.word, 1) && GuardNow(length) == length.value;
    if (!guardHolds || inBuffer) return;
    if (!Readable(a.array, a.n) || !ListedNowhereElse(mp, r, reinterpret_cast<void* const*>(a.array), a.n, lcore, 0, 0)) {
      out->Lose(a.n, "packets on their way into a TX buffer, listed elsewhere too: left alone");
      return;
    }
    plan->unfreed = a.array;
    plan->unfreedN = a.n;
    return;
  }
  const uint32_t rest = a.n - std::min(a.done, a.n);
  if (!inCall) {
    // Between DPDK calls: the objects from done on are the process's,
    // unless the call had not taken them from their holder yet.
    if (a.done == 0 && !guardHolds) return;
    if (!shared || !Readable(a.array + a.done, rest) ||
        !ListedNowhereElse(mp, r, reinterpret_cast<void* const*>(a.array + a.done), rest, lcore, 0, 0)) {
      out->Lose(rest, shared ? "packets it was about to free, listed elsewhere too: left alone"
                             : "packets it was about to free, in memory of the dead process alone (an unnamed vector, a Burst): lost");
      return;
    }
    plan->unfreed = a.array + a.done;
    plan->unfreedN = rest;
    return;
  }
  if (op == kActTx) {
    // A driver that does not free in order: what it did is not ours to know.
    if (len < a.len0) {
      plan->keep = 0;
      out->discarded += len;
      out->Lose(len, "cached objects of a cache " + DriverName(a.port) + " flushed mid-burst: lost, unless they reached the ring");
    } else {
      plan->keep = a.len0;
      out->discarded += len - a.len0;
      out->Lose(len - a.len0, "objects " + DriverName(a.port) + " was freeing mid-burst: lost");
    }
    out->Lose(rest, "packets handed to " + DriverName(a.port) + " mid-burst: lost to the pool");
    return;
  }
  if (!ReplayPuts(a, word, mp, r, cache, lcore, plan, out)) {
    // The cache does not show the puts this call makes: what it listed
    // before the call goes back, nothing of the call's.
    plan->keep = std::min(len, a.len0);
    plan->rewrites.clear();
    plan->unfreed = nullptr;
    plan->unfreedN = 0;
    out->discarded += len - plan->keep;
    out->Lose(rest, "packets of a put in progress that the cache does not show (several segments, another pool, more than one "
                    "reference?): lost");
  }
}

}  // namespace

// The repair with the dead process's record; false: not usable, repair by proof.
bool RepairByRecord(PoolActivity& a, rte_mempool* mp, rte_ring* r, rte_mempool_cache* cache, uint32_t lcore,
                    uint32_t settleMs, Repair* out) {
  const uint32_t word = __atomic_load_n(&a.op, __ATOMIC_ACQUIRE);
  const uint32_t xfer = __atomic_load_n(&a.xfer, __ATOMIC_ACQUIRE);
  const bool callHere = OpOf(word) != kActIdle && a.pool == mp;
  out->activity = callHere ? ActivityOpName(OpOf(word)) : "idle";
  if (callHere && OpOf(word) == kActOpaque) {
    out->activity = "opaque";
    return false;
  }
  if (OpOf(word) != kActIdle && a.pool != mp && TouchesPool(a, word, mp)) {
    out->reasons.push_back(std::string("the dead process was in a ") + ActivityOpName(OpOf(word)) + " call on " +
                           (a.pool == nullptr ? std::string("packets of any pool") : "pool '" + std::string(a.pool->name) + "'") +
                           " that may touch this pool's cache");
    return false;
  }
  if (cache == nullptr || r == nullptr) return false;
  // 1. A ring transfer of its own: the pool's, or an output ring's (of this
  //    pool's packets).
  if (XferOf(xfer) == kXferEnqueue && callHere) {
    if (!SettleEnqueue(a, settleMs, out)) return true;
    PublishWord(&a.xfer, kXferNone);
  } else if (XferOf(xfer) != kXferNone && XferOf(xfer) != kXferEnqueue && a.xferObject == mp) {
    out->activity = XferOf(xfer) == kXferFlush ? "flush" : "refill";
    if (XferOf(xfer) == kXferFlush ? !SettleFlush(a, r, cache, settleMs, out) : !SettleRefill(a, r, cache, settleMs, out)) {
      return true;
    }
    PublishWord(&a.xfer, kXferNone);
  }
  // 2. The cache goes into the ring: not behind a reservation someone else
  //    may never finish.
  uint32_t head = 0;
  uint32_t tail = 0;
  // A driver that refills its queue from the pool may have refilled the
  // cache too, inside DPDK: only the proofs can tell a refill it left stuck.
  if (callHere && OpOf(word) == kActGet && a.driver != static_cast<uint32_t>(RxGet::kIntoBurst) &&
      Settle(r->cons, settleMs, &head, &tail) != Settled::kIdle) {
    return false;
  }
  const Settled prod = Settle(r->prod, settleMs, &head, &tail);
  if (prod != Settled::kIdle) {
    out->Unrepairable(prod == Settled::kBusy
                          ? "the pool's ring never settled (a reservation half done under traffic): try again"
                          : "the pool's ring has a stuck enqueue of another process (repair that lcore first): try again");
    return true;
  }
  // 3. The call.
  Plan plan;
  if (callHere) {
    // The enqueue may have moved done on.
    ReplayCall(a, __atomic_load_n(&a.op, __ATOMIC_ACQUIRE), mp, r, cache, lcore, &plan, out);
  } else {
    plan.keep = cache->len;
  }
  for (const auto& [slot, obj] : plan.rewrites) cache->objs[slot] = obj;
  out->completed = static_cast<uint32_t>(plan.rewrites.size());
  if (callHere) PublishPair(&a.op, kActIdle, 0);
  // 4. The cache, and what the call had not reached (the record says idle
  //    first: a repair killed in between loses them, never frees them twice).
  const uint32_t cached = cache->len;
  // A get's objects are back under the length (EmptyCache takes what it lists).
  if (plan.keep > cached) PublishWord(&cache->len, plan.keep);
  if (plan.keep > 0 || cached > 0) {
    EmptyCache(mp, cache, plan.keep);
    if (out->puts == Outcome::kClean) out->puts = plan.keep > 0 ? Outcome::kReturned : Outcome::kClean;
    out->returned += plan.keep;
  }
  if (plan.unfreedN > 0) {
    JournaledFree(plan.unfreed, plan.unfreedN, true);
    out->freed = plan.unfreedN;
  }
  return true;
}

}  // namespace repair
}  // namespace dpdk_core

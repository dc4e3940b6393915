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

namespace dpdk_core {

namespace {

// How long a repair waits for a ring whose tail keeps moving with the head
// ahead to settle, before it gives up for now.
constexpr uint64_t kBusyMs = 1000;

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

uint64_t Cycles(uint64_t ms) { return rte_get_timer_hz() * ms / 1000; }

enum class Settled { kIdle, kStuck, kBusy };

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

enum class AtPos { kPassed, kAt, kBusy };

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

enum class Outcome { kClean, kReturned, kPublished, kRepublished, kUnrepairable };

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

struct Repair {
  Outcome puts = Outcome::kClean;
  uint32_t returned = 0;
  uint32_t discarded = 0;
  Outcome refill = Outcome::kClean;
  uint32_t republished = 0;
  std::string activity = "none";
  uint32_t completed = 0;  // slots a dead put had claimed, rewritten with what it was storing
  uint32_t freed = 0;      // objects the dead process was putting and had not reached, freed for it
  uint32_t enqueued = 0;   // packets its interrupted enqueue into an output ring put there
  uint32_t lost = 0;
  std::vector<std::string> reasons;
  bool judged = false;     // a reservation taken for the dead one's by its tail staying put

  void Lose(uint32_t n, const std::string& why) {
    if (n == 0) return;
    lost += n;
    reasons.push_back(std::to_string(n) + " " + why);
  }
  void Unrepairable(const std::string& why) {
    puts = Outcome::kUnrepairable;
    reasons.push_back(why);
  }
};

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

// ---------------------------------------------------------------------------
// With the activity record.

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
  if (owner.pid != 0 && OwnerAlive(owner) && (pid == 0 || static_cast<uint32_t>(owner.pid) == pid)) {
    ThrowDpdkCode(env, op, "EBUSY",
                  "lcore " + std::to_string(lcore) + " is in use by live process " + std::to_string(owner.pid) +
                      " (its pool activity record); repair the lcore of a process that is gone");
  }
  rte_mempool_cache* cache = rte_mempool_default_cache(mp, lcore);
  const uint32_t len = cache == nullptr ? 0 : cache->len;
  Repair repair;
  // A record is the dead process's if it names it (or, without a pid, names
  // a process that is gone: the last one to run as this lcore id).
  const bool usable = owner.pid != 0 && (pid == 0 || static_cast<uint32_t>(owner.pid) == pid);
  if (!usable || !RepairByRecord(*a, mp, r, cache, lcore, settleMs, &repair)) {
    if (!usable) {
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

// The pool activity journal: what the process on each lcore id is doing with
// a packet pool, kept in shared memory so that after a SIGKILL another
// process can replay DPDK's deterministic cache code from a known start and
// repair the dead lcore's cache exactly (mempool_repair.cc).
//
// Why a journal: DPDK 22.11's cached put raises cache->len before it stores
// the objects, and its get lowers it before it copies them out, so a cache
// killed mid-call lists slots that may be stale. Knowing the call, the
// cache's length when it started and where its objects are (an array in
// shared memory), the repair knows which slots the call was storing and
// which objects it had not reached. What the cache code cannot make
// deterministic -- whether a flush's or refill's ring transfer had been
// published when the process died -- never happens inside a journaled call:
// before it, this code flushes or refills the cache itself, with a ring
// transfer whose every step is recorded (OwnFlush, OwnRefill), so that the
// DPDK call finds room for all it puts and objects for all it gets.
//
// One record per lcore id (caches are per lcore id, and so is the rule that
// no two live processes share one), claimed for the main lcore as soon as
// rte_eal_init returns (for another lcore, by its thread's first pool call)
// and released at cleanup(). Each part of a record is made current
// by one word written last (release store, compiler fence): the call's
// {op, done} word, and the ring transfer's xfer word.
#pragma once

#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "common.h"
#include "owner.h"

namespace dpdk_core {

enum ActivityOp : uint32_t {
  kActIdle = 0,     // between pool calls: the cache lists only what complete puts and refills stored
  kActPut = 1,      // array[done..n) are the process's to put, in order (free_bulk: chunks of 64; kActTxChunks: 1)
  kActTx = 2,       // array[done..n) handed to a driver that does not free them in order inside tx_burst
  kActGet = 3,      // gets of up to n objects from the cache (an RX burst, an allocation)
  kActOpaque = 4,   // a pool call the journal cannot replay (see RecordOpaque)
  kActHandTx = 5,   // array[0..n) on their way from a vector into a TX buffer (the hand word: its length)
};
// Flags of the op word.
constexpr uint32_t kActInCall = 1u << 8;    // the DPDK call on array[done..) is under way, from a cache of len0
constexpr uint32_t kActShared = 1u << 9;    // array lies in shared memory another process can read
constexpr uint32_t kActTxChunks = 1u << 10; // a TX burst a driver frees in order: puts of one packet each
// With kActIdle, once the owner is dead: repairMempool settled its call, so
// a process started as this lcore id takes the record at EAL init.
constexpr uint32_t kActRepaired = 1u << 11;

enum ActivityXfer : uint32_t { kXferNone = 0, kXferFlush = 1, kXferRefill = 2, kXferEnqueue = 3 };
// Where a ring transfer (OwnFlush, OwnRefill, OwnEnqueue) stood: before its
// reservation was sure (xferPos is the head it tries), or with the
// reservation at xferPos.
enum ActivityPhase : uint32_t { kPhaseReserving = 1, kPhaseReserved = 2 };

inline uint32_t OpOf(uint32_t word) { return word & 0xff; }
inline uint32_t XferOf(uint32_t word) { return word & 0xff; }
inline uint32_t PhaseOf(uint32_t word) { return (word >> 8) & 0xff; }

// How a port's driver uses the pool of the packets a burst carries. Only
// what was read in DPDK 22.11's sources counts as known (activity.cc).
enum class TxFree : uint8_t {
  kInOrder = 1,   // frees each packet it takes with rte_pktmbuf_free, in order, inside tx_burst
  kRing = 2,      // net_ring: hands the packets to a ring, frees none
  kUnknown = 3,   // anything else (hardware drivers free earlier bursts' packets, in bulk, later)
};
enum class RxGet : uint8_t {
  kIntoBurst = 1,  // every object it takes from the pool ends in the burst
  kNone = 2,       // net_ring: takes packets from a ring, nothing from the pool
  kUnknown = 3,    // anything else (hardware drivers refill their descriptor rings from the pool)
};
struct PortDrivers {
  TxFree tx;
  RxGet rx;
};
// The classes of a port's driver, worked out once per port per process.
PortDrivers DriversOf(uint16_t port);

// A word a call changes first in the holder its objects leave (a TX buffer's
// length, a vector's count of what it handed on): the objects are the
// call's once the word holds `value`. For a get, the word is where the
// objects are published (a vector's count), and while it still holds
// `value` they were not.
struct Guard {
  void* word = nullptr;
  uint32_t value = 0;
  uint32_t bits = 32;  // 16 or 32
};

inline uint32_t GuardNow(const Guard& g) {
  return g.bits == 16 ? __atomic_load_n(static_cast<const uint16_t*>(g.word), __ATOMIC_ACQUIRE)
                      : __atomic_load_n(static_cast<const uint32_t*>(g.word), __ATOMIC_ACQUIRE);
}

struct alignas(64) PoolActivity {
  ZoneOwner owner;
  // The call: op word (ActivityOp | flags) and done, one 8-byte word.
  uint32_t op;
  uint32_t done;
  uint32_t n;
  uint32_t len0;       // the cache's length when the DPDK call started (with kActInCall)
  rte_mempool* pool;
  rte_mbuf** array;    // the call's objects; null where they are in memory of the process alone
  void* guardWord;
  uint32_t guardValue;
  uint16_t guardBits;
  uint16_t port;
  uint32_t driver;     // TxFree / RxGet of `port`
  uint32_t pad0;
  // The ring transfer (OwnFlush, OwnRefill, OwnEnqueue): xfer word, then its
  // fields; xferN and xferPos form one 8-byte word.
  uint32_t xfer;       // ActivityXfer | phase << 8
  uint32_t xferLen0;   // the cache's length when it started
  uint32_t xferN;
  uint32_t xferPos;
  void* xferObject;    // the pool (flush, refill) or the packet ring (enqueue of array[0..xferN))
  // kActHandTx: the TX buffer's length, which holds handValue once the
  // packets are in it.
  void* handWord;
  uint32_t handValue;
  // A process started as this lcore id while `owner` was dead and not yet
  // repaired (a joining client, a warm standby). It left the record to the
  // repair and has made no pool call since (its first one claims the
  // record and clears this): if it dies too, the record still describes
  // the cache, and repairMempool may use it for this process.
  ZoneOwner waiting;
};
static_assert(sizeof(PoolActivity) == 128, "two cache lines per lcore id");
static_assert(offsetof(PoolActivity, done) == offsetof(PoolActivity, op) + 4 && offsetof(PoolActivity, op) % 8 == 0,
              "op and done form one 8-byte word");
static_assert(offsetof(PoolActivity, xferPos) == offsetof(PoolActivity, xferN) + 4 && offsetof(PoolActivity, xferN) % 8 == 0,
              "xferN and xferPos form one 8-byte word");

// A store another process may read after this one is killed: the release
// orders what came before, the fence keeps what follows after it.
inline void PublishWord(uint32_t* word, uint32_t value) {
  __atomic_store_n(word, value, __ATOMIC_RELEASE);
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
}
// Two adjacent 32-bit fields in one store (little-endian: `low` first).
inline void PublishPair(uint32_t* low, uint32_t lowValue, uint32_t highValue) {
  __atomic_store_n(reinterpret_cast<uint64_t*>(low), (uint64_t{highValue} << 32) | lowValue, __ATOMIC_RELEASE);
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
}

// The record of lcore `lcore` in this group, or null if no process of this
// addon ever journaled there (no zone yet).
PoolActivity* FindActivity(uint32_t lcore);
// This thread's record, claimed for this process on first use; null for a
// thread without an lcore id, or if the zone cannot be had (no journal then).
extern PoolActivity* g_claimedActivity[RTE_MAX_LCORE];
PoolActivity* ClaimActivitySlow(unsigned lcore);
inline PoolActivity* ClaimActivity(unsigned lcore) {
  if (lcore >= RTE_MAX_LCORE) return nullptr;
  PoolActivity* a = g_claimedActivity[lcore];
  return a != nullptr ? a : ClaimActivitySlow(lcore);
}
inline PoolActivity* ActivityHere() { return ClaimActivity(rte_lcore_id()); }
// At EAL init: ClaimActivity for a record nobody holds, or a repaired dead
// owner's that no other live process waits for; otherwise the record is left
// for this process's first pool call (null then), and this process is its
// `waiting` unless another live one is.
PoolActivity* ClaimActivityAtInit(unsigned lcore);
// At cleanup(): every record this process claimed goes back idle and unowned,
// and one it waited on no longer names it.
void ReleaseActivity();
const char* ActivityOpName(uint32_t op);

// For reclaiming a dead owner's zone [lo, lo+len): throws EAGAIN while that
// owner's record says a pool call on it was under way, which repairMempool
// must settle first (both would give back the same packets otherwise).
void RequireSettled(Napi::Env env, const char* op, ZoneOwner owner, const void* lo, size_t len, const std::string& what);

// Test-only fault injection: the process SIGKILLs itself at the named point
// of the journaled code the `skip`+1-th time it reaches it (armed through the
// addon's internal armPoolFailpoint, never from the environment).
enum class PoolFailpoint : uint32_t {
  kNone,
  kPutRecorded,      // a put's objects recorded, its guard not yet written
  kPutStarted,       // the guard written, no DPDK call made
  kPutPartial,       // inside a DPDK put call: done by hand as DPDK's inlined put does, up to a chunk half stored
  kPutDone,          // a DPDK put call returned, the record not moved on
  kGetRecorded,      // a get recorded, the DPDK call not made
  kGetPartial,       // inside the get: the length lowered, half the objects copied out
  kGetDone,          // the DPDK call returned, its objects not yet published
  kFlushReserving,   // OwnFlush: the head it will try recorded
  kFlushCas,         // OwnFlush: the reservation taken, not yet recorded as sure
  kFlushCopied,      // OwnFlush: the objects in the reserved slots, the cache still listing them
  kFlushEmptied,     // OwnFlush: the cache's length cleared, the reservation not published
  kFlushPublished,   // OwnFlush: the ring's tail moved on, the transfer still recorded
  kRefillReserving,
  kRefillCas,
  kRefillCopied,     // OwnRefill: objects copied into the cache, the ring's tail not moved
  kRefillPublished,  // OwnRefill: the tail moved on, the cache's length not raised
  kEnqueueCas,       // OwnEnqueue: the output ring's reservation taken, not yet recorded as sure
  kEnqueueCopied,    // OwnEnqueue: the packets in the reserved slots, the tail not moved
  kHandCounted,      // TxPutBulk: packets counted as handed on, not yet in the TX buffer
};
extern PoolFailpoint g_poolFailpoint;
void PoolFailpointReached(PoolFailpoint at);
inline void FailpointAt(PoolFailpoint at) {
  if (__builtin_expect(g_poolFailpoint == at, 0)) PoolFailpointReached(at);
}
// DPDK's inlined put and get, done by hand to the middle of a chunk, then
// SIGKILL (the kPutPartial and kGetPartial failpoints).
[[noreturn]] void DieInsidePuts(rte_mempool_cache* cache, rte_mbuf* const* pkts, uint32_t n, uint32_t chunk);
[[noreturn]] void DieInsideGet(rte_mempool_cache* cache, uint32_t n);

// The cache of `mp` for this lcore, if calls on it can be journaled exactly:
// a default cache, and a ring driver with multi-producer/consumer sync whose
// transfers OwnFlush and OwnRefill can make themselves.
rte_mempool_cache* ExactCache(rte_mempool* mp, unsigned lcore);

// Empties this lcore's cache into the pool's ring (see the file comment);
// false if the ring has no room (it then lists objects twice already).
bool OwnFlush(PoolActivity* a, rte_mempool* mp, rte_mempool_cache* cache);
// Takes up to `want` objects from the pool's ring onto this lcore's cache,
// at least `need` or none. Returns how many it took.
uint32_t OwnRefill(PoolActivity* a, rte_mempool* mp, rte_mempool_cache* cache, uint32_t want, uint32_t need);
// Enqueues the recorded packets (op, from done 0) into packet ring r, each
// step recorded; all or none with `bulk`. Returns how many went in, and
// leaves the record's done there.
uint32_t OwnEnqueue(PoolActivity* a, uint32_t op, rte_ring* r, rte_mbuf** pkts, uint32_t k, bool bulk);
// Whether OwnEnqueue can write into packet ring r (single or classic
// multi-producer sync).
bool Enqueueable(const rte_ring* r);

inline void ActivityIdle(PoolActivity* a) {
  if (a != nullptr) PublishPair(&a->op, kActIdle, 0);
}

// A pool call the journal cannot replay (objects of a pool it does not know,
// a user cache, DPDK's own flush): until ActivityIdle, a repair of any pool
// this call may touch falls back to its proofs and maxPut.
inline void RecordOpaque(PoolActivity* a, rte_mempool* mp) {
  if (a == nullptr) return;
  a->pool = mp;
  PublishPair(&a->op, kActOpaque, 0);
}

// The objects pkts[0..n) become the call's to put: recorded (not yet in a
// DPDK call), then `start` runs, which must make the guard hold its value.
inline void RecordObjects(PoolActivity* a, uint32_t op, rte_mempool* mp, rte_mbuf** pkts, uint32_t n, const Guard& g,
                          uint16_t port, uint32_t driver) {
  // The fields below must not be read with the previous call's op word.
  if (a->op != kActIdle) PublishPair(&a->op, kActIdle, 0);
  a->n = n;
  a->pool = mp;
  a->array = (op & kActShared) != 0 ? pkts : nullptr;
  a->guardWord = g.word;
  a->guardValue = g.value;
  a->guardBits = static_cast<uint16_t>(g.bits);
  a->port = port;
  a->driver = driver;
  PublishPair(&a->op, op, 0);
}

// A DPDK call on the recorded objects from `done` on starts now.
inline void EnterCall(PoolActivity* a, uint32_t op, const rte_mempool_cache* cache) {
  a->len0 = cache == nullptr ? 0 : cache->len;
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  PublishWord(&a->op, op | kActInCall);
}

// How many objects a call may put into `cache` now without DPDK flushing it
// (flushing it first, ourselves, when it is too full for `want`); 0 if the
// ring refused the flush.
inline uint32_t RoomForPuts(PoolActivity* a, rte_mempool* mp, rte_mempool_cache* cache, uint32_t want) {
  const uint32_t limit = cache->flushthresh;
  if (cache->len + std::min(want, limit) > limit && !OwnFlush(a, mp, cache)) return 0;
  return std::min(want, limit - cache->len);
}

}  // namespace dpdk_core

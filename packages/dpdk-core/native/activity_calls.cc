// The journaled pool calls of activity.h that are not inline: the ring
// transfers this code makes itself (OwnFlush, OwnRefill, OwnEnqueue), each
// step recorded before the next, and the frees and TX bursts of recorded
// packets, in slices that never make DPDK flush or refill inside a call.
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include <algorithm>

#include "journaled.h"
#include "pool_objects.h"

namespace dpdk_core {

namespace {

// A call the journal cannot follow any further (the ring refused a flush):
// the rest goes DPDK's way, and the repair falls back to maxPut.
void ContinueOpaque(PoolActivity* a) { PublishPair(&a->op, kActOpaque, 0); }

}  // namespace

bool OwnFlush(PoolActivity* a, rte_mempool* mp, rte_mempool_cache* cache) {
  const uint32_t n = cache->len;
  if (n == 0) return true;
  rte_ring* r = static_cast<rte_ring*>(mp->pool_data);
  uint32_t head = __atomic_load_n(&r->prod.head, __ATOMIC_ACQUIRE);
  // A pool's ring can hold every object of the pool; short of room, it lists
  // objects twice already, and this adds none.
  if (r->capacity + __atomic_load_n(&r->cons.tail, __ATOMIC_ACQUIRE) - head < n) return false;
  a->xferObject = mp;
  a->xferLen0 = n;
  PublishPair(&a->xferN, n, head);
  PublishWord(&a->xfer, kXferFlush | kPhaseReserving << 8);
  FailpointAt(PoolFailpoint::kFlushReserving);
  // The head tried is in the record before each attempt: the repair then
  // knows the one position where the reservation can be.
  while (!__atomic_compare_exchange_n(&r->prod.head, &head, head + n, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
    PublishPair(&a->xferN, n, head);
  }
  FailpointAt(PoolFailpoint::kFlushCas);
  PublishWord(&a->xfer, kXferFlush | kPhaseReserved << 8);
  void** slots = RingSlots(r);
  for (uint32_t j = 0; j < n; j++) slots[(head + j) & r->mask] = cache->objs[j];
  FailpointAt(PoolFailpoint::kFlushCopied);
  // The objects are in slots nobody else touches until the tail moves: the
  // cache stops listing them before they are published.
  PublishWord(&cache->len, 0);
  FailpointAt(PoolFailpoint::kFlushEmptied);
  while (__atomic_load_n(&r->prod.tail, __ATOMIC_ACQUIRE) != head) rte_pause();
  PublishWord(const_cast<uint32_t*>(&r->prod.tail), head + n);
  FailpointAt(PoolFailpoint::kFlushPublished);
  PublishWord(&a->xfer, kXferNone);
  return true;
}

uint32_t OwnRefill(PoolActivity* a, rte_mempool* mp, rte_mempool_cache* cache, uint32_t want, uint32_t need) {
  rte_ring* r = static_cast<rte_ring*>(mp->pool_data);
  const uint32_t len0 = cache->len;
  want = std::min<uint32_t>(want, RTE_MEMPOOL_CACHE_MAX_SIZE * 2 - len0);
  uint32_t head = __atomic_load_n(&r->cons.head, __ATOMIC_ACQUIRE);
  uint32_t k = 0;
  bool recorded = false;
  for (;;) {
    k = std::min(want, __atomic_load_n(&r->prod.tail, __ATOMIC_ACQUIRE) - head);
    if (k < need || k == 0) {
      if (recorded) PublishWord(&a->xfer, kXferNone);
      return 0;
    }
    // Count and position in one store: the repair never sees one without the other.
    PublishPair(&a->xferN, k, head);
    if (!recorded) {
      a->xferObject = mp;
      a->xferLen0 = len0;
      PublishWord(&a->xfer, kXferRefill | kPhaseReserving << 8);
      recorded = true;
      FailpointAt(PoolFailpoint::kRefillReserving);
    }
    if (__atomic_compare_exchange_n(&r->cons.head, &head, head + k, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) break;
  }
  FailpointAt(PoolFailpoint::kRefillCas);
  PublishWord(&a->xfer, kXferRefill | kPhaseReserved << 8);
  void** slots = RingSlots(r);
  for (uint32_t j = 0; j < k; j++) cache->objs[len0 + j] = slots[(head + j) & r->mask];
  FailpointAt(PoolFailpoint::kRefillCopied);
  while (__atomic_load_n(&r->cons.tail, __ATOMIC_ACQUIRE) != head) rte_pause();
  PublishWord(const_cast<uint32_t*>(&r->cons.tail), head + k);
  FailpointAt(PoolFailpoint::kRefillPublished);
  PublishWord(&cache->len, len0 + k);
  PublishWord(&a->xfer, kXferNone);
  return k;
}

bool Enqueueable(const rte_ring* r) {
  return r->prod.sync_type == RTE_RING_SYNC_MT || r->prod.sync_type == RTE_RING_SYNC_ST;
}

uint32_t OwnEnqueue(PoolActivity* a, uint32_t op, rte_ring* r, rte_mbuf** pkts, uint32_t k, bool bulk) {
  const bool single = r->prod.sync_type == RTE_RING_SYNC_ST;
  uint32_t head = __atomic_load_n(&r->prod.head, __ATOMIC_ACQUIRE);
  uint32_t m = 0;
  bool recorded = false;
  for (;;) {
    const uint32_t room = r->capacity + __atomic_load_n(&r->cons.tail, __ATOMIC_ACQUIRE) - head;
    m = bulk ? (room >= k ? k : 0) : std::min(k, room);
    if (m == 0) {
      if (recorded) PublishWord(&a->xfer, kXferNone);
      return 0;
    }
    PublishPair(&a->xferN, m, head);
    if (!recorded) {
      a->xferObject = r;
      PublishWord(&a->xfer, kXferEnqueue | kPhaseReserving << 8);
      recorded = true;
    }
    // A single producer owns the head: the recorded position is its reservation.
    if (single) {
      __atomic_store_n(&r->prod.head, head + m, __ATOMIC_RELAXED);
      break;
    }
    if (__atomic_compare_exchange_n(&r->prod.head, &head, head + m, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) break;
  }
  FailpointAt(PoolFailpoint::kEnqueueCas);
  PublishWord(&a->xfer, kXferEnqueue | kPhaseReserved << 8);
  void** slots = RingSlots(r);
  for (uint32_t j = 0; j < m; j++) slots[(head + j) & r->mask] = pkts[j];
  FailpointAt(PoolFailpoint::kEnqueueCopied);
  if (!single) {
    while (__atomic_load_n(&r->prod.tail, __ATOMIC_ACQUIRE) != head) rte_pause();
  }
  PublishWord(const_cast<uint32_t*>(&r->prod.tail), head + m);
  // In the ring now: the record's objects start after them (then the
  // transfer is over; a kill in between finds both saying so).
  PublishPair(&a->op, op, m);
  PublishWord(&a->xfer, kXferNone);
  return m;
}

void FreeRecorded(PoolActivity* a, uint32_t op, rte_mempool* mp, rte_mempool_cache* cache, rte_mbuf** pkts, uint32_t done,
                  uint32_t n) {
  while (done < n) {
    const uint32_t s = RoomForPuts(a, mp, cache, n - done);
    if (s == 0) {
      ContinueOpaque(a);
      rte_pktmbuf_free_bulk(pkts + done, n - done);
      break;
    }
    EnterCall(a, op, cache);
    if (__builtin_expect(g_poolFailpoint == PoolFailpoint::kPutPartial, 0)) DieInsidePuts(cache, pkts + done, s, 64);
    rte_pktmbuf_free_bulk(pkts + done, s);
    FailpointAt(PoolFailpoint::kPutDone);
    done += s;
    PublishPair(&a->op, op, done);
  }
  ActivityIdle(a);
}

uint16_t TxAndFreeRecorded(PoolActivity* a, uint16_t port, uint16_t queue, rte_mbuf** pkts, uint16_t n, bool shared,
                           bool retry) {
  const uint32_t op = a->op;
  rte_mempool* mp = a->pool;
  rte_mempool_cache* cache = ExactCache(mp, rte_lcore_id());
  const uint32_t freeOp = kActPut | (shared ? kActShared : 0);
  uint32_t sent = 0;
  if (OpOf(op) == kActOpaque) {
    do {
      const uint16_t t = rte_eth_tx_burst(port, queue, pkts + sent, static_cast<uint16_t>(n - sent));
      sent += t;
      if (t == 0 || !retry) break;
    } while (sent < n);
    if (sent < n) rte_pktmbuf_free_bulk(pkts + sent, n - sent);
    ActivityIdle(a);
    return static_cast<uint16_t>(sent);
  }
  while (sent < n) {
    // A driver that frees in order puts one object per packet: the burst
    // goes in slices the cache has room for. Any other gets it whole.
    const uint32_t s = OpOf(op) == kActPut ? RoomForPuts(a, mp, cache, n - sent) : n - sent;
    if (s == 0) {
      ContinueOpaque(a);
      const uint16_t t = rte_eth_tx_burst(port, queue, pkts + sent, static_cast<uint16_t>(n - sent));
      sent += t;
      if (sent < n) rte_pktmbuf_free_bulk(pkts + sent, n - sent);
      ActivityIdle(a);
      return static_cast<uint16_t>(sent);
    }
    EnterCall(a, op, cache);
    if (__builtin_expect(g_poolFailpoint == PoolFailpoint::kPutPartial, 0) && OpOf(op) == kActPut) {
      DieInsidePuts(cache, pkts + sent, s, 1);
    }
    const uint16_t t = rte_eth_tx_burst(port, queue, pkts + sent, static_cast<uint16_t>(s));
    FailpointAt(PoolFailpoint::kPutDone);
    sent += t;
    PublishPair(&a->op, op, sent);
    if (t < s && (t == 0 || !retry)) break;
  }
  if (sent == n) {
    ActivityIdle(a);
    return static_cast<uint16_t>(sent);
  }
  // What the driver did not take is freed: the record turns into a free of
  // the same array from where the burst stopped, in one store.
  PublishPair(&a->op, freeOp, sent);
  FreeRecorded(a, freeOp, mp, cache, pkts, sent, n);
  return static_cast<uint16_t>(sent);
}

}  // namespace dpdk_core

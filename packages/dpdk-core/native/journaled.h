// The journaled pool calls (activity.h says why and how): frees, TX bursts,
// enqueues into packet rings, hand-overs into TX buffers, RX bursts and
// allocations, each recorded before DPDK's call so that repairMempool can
// finish or undo exactly what a SIGKILL interrupted. Code that makes a pool
// call on packets goes through these, never straight to DPDK.
#pragma once

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include <algorithm>
#include <cstdint>

#include "activity.h"

namespace dpdk_core {

// Puts pkts[done..n) (recorded with op) through rte_pktmbuf_free_bulk, in
// slices that fit the cache. The record ends idle.
void FreeRecorded(PoolActivity* a, uint32_t op, rte_mempool* mp, rte_mempool_cache* cache, rte_mbuf** pkts, uint32_t done,
                  uint32_t n);

// rte_pktmbuf_free_bulk(pkts, n), journaled. `shared`: pkts lies in memory
// other processes can read (a named zone, DPDK's heap). With a guard,
// `start` runs once the packets are recorded and must make the guard hold
// its value (the caller's store that takes them from their holder).
template <typename Start>
void JournaledFree(rte_mbuf** pkts, uint32_t n, bool shared, const Guard& guard, Start start) {
  PoolActivity* a = n == 0 ? nullptr : ActivityHere();
  if (a == nullptr) {
    start();
    if (n > 0) rte_pktmbuf_free_bulk(pkts, n);
    return;
  }
  rte_mempool* mp = pkts[0]->pool;
  rte_mempool_cache* cache = ExactCache(mp, rte_lcore_id());
  const uint32_t op = kActPut | (shared ? kActShared : 0);
  RecordObjects(a, cache == nullptr ? kActOpaque : op, mp, pkts, n, guard, 0, 0);
  FailpointAt(PoolFailpoint::kPutRecorded);
  start();
  FailpointAt(PoolFailpoint::kPutStarted);
  if (cache == nullptr) {
    rte_pktmbuf_free_bulk(pkts, n);
    ActivityIdle(a);
    return;
  }
  FreeRecorded(a, op, mp, cache, pkts, 0, n);
}
inline void JournaledFree(rte_mbuf** pkts, uint32_t n, bool shared) {
  JournaledFree(pkts, n, shared, Guard{}, [] {});
}

// Sends pkts[0..n) with rte_eth_tx_burst, journaled, and frees (journaled)
// what the driver does not take: once after one burst, or after the driver
// takes nothing more with `retry`. Returns how many the driver took.
uint16_t TxAndFreeRecorded(PoolActivity* a, uint16_t port, uint16_t queue, rte_mbuf** pkts, uint16_t n, bool shared,
                           bool retry);

template <typename Start>
uint16_t JournaledTx(uint16_t port, uint16_t queue, rte_mbuf** pkts, uint16_t n, bool shared, bool retry, const Guard& guard,
                     Start start) {
  PoolActivity* a = n == 0 ? nullptr : ActivityHere();
  if (a == nullptr) {
    start();
    if (n == 0) return 0;
    uint16_t sent = 0;
    do {
      const uint16_t t = rte_eth_tx_burst(port, queue, pkts + sent, static_cast<uint16_t>(n - sent));
      sent = static_cast<uint16_t>(sent + t);
      if (t == 0 || !retry) break;
    } while (sent < n);
    if (sent < n) rte_pktmbuf_free_bulk(pkts + sent, n - sent);
    return sent;
  }
  const TxFree driver = DriversOf(port).tx;
  rte_mempool* mp = pkts[0]->pool;
  const bool exact = ExactCache(mp, rte_lcore_id()) != nullptr;
  const uint32_t op = !exact ? kActOpaque
                      : driver == TxFree::kInOrder ? kActPut | kActTxChunks | (shared ? kActShared : 0)
                                                   : kActTx | (shared ? kActShared : 0);
  RecordObjects(a, op, mp, pkts, n, guard, port, static_cast<uint32_t>(driver));
  FailpointAt(PoolFailpoint::kPutRecorded);
  start();
  FailpointAt(PoolFailpoint::kPutStarted);
  return TxAndFreeRecorded(a, port, queue, pkts, n, shared, retry);
}

// Enqueues pkts[0..k) into packet ring r (rte_ring_enqueue_burst, or _bulk),
// journaled, and frees what it does not take; `start` as for JournaledFree.
// Returns how many went in.
template <typename Start>
uint32_t JournaledEnqueue(rte_ring* r, rte_mbuf** pkts, uint32_t k, bool bulk, bool shared, const Guard& guard, Start start) {
  PoolActivity* a = k == 0 || !shared ? nullptr : ActivityHere();
  rte_mempool* mp = k == 0 ? nullptr : pkts[0]->pool;
  rte_mempool_cache* cache = a == nullptr ? nullptr : ExactCache(mp, rte_lcore_id());
  if (cache == nullptr || !Enqueueable(r)) {
    start();
    const uint32_t in = bulk ? rte_ring_enqueue_bulk(r, reinterpret_cast<void* const*>(pkts), k, nullptr)
                             : rte_ring_enqueue_burst(r, reinterpret_cast<void* const*>(pkts), k, nullptr);
    if (in < k) JournaledFree(pkts + in, k - in, shared);
    return in;
  }
  const uint32_t op = kActPut | kActShared;
  RecordObjects(a, op, mp, pkts, k, guard, 0, 0);
  FailpointAt(PoolFailpoint::kPutRecorded);
  start();
  FailpointAt(PoolFailpoint::kPutStarted);
  const uint32_t in = OwnEnqueue(a, op, r, pkts, k, bulk);
  if (in < k) {
    FreeRecorded(a, op, mp, cache, pkts, in, k);
  } else {
    ActivityIdle(a);
  }
  return in;
}

// Packets pkts[0..n) counted as handed on (the guard) on their way into a
// TX buffer, which lists them once its length holds `inBuffer`.
inline void RecordHandOver(PoolActivity* a, rte_mbuf** pkts, uint32_t n, const Guard& counted, uint16_t* length,
                           uint16_t inBuffer) {
  a->handWord = length;
  a->handValue = inBuffer;
  RecordObjects(a, kActHandTx | kActShared, pkts[0]->pool, pkts, n, counted, 0, 0);
}

// A burst of gets from `mp` (an RX burst, an allocation): makes sure the
// cache holds what the call may take (OwnRefill), records it, and returns
// get(k) for the k objects it may take (fewer than n when the pool runs
// short). `published`: where the caller publishes them (a vector's count,
// holding `value` until then); no word: they were the process's alone. The
// record stays until the caller calls ActivityIdle, after publishing.
template <typename Get>
uint32_t JournaledGets(PoolActivity* a, rte_mempool* mp, uint32_t n, const Guard& published, uint32_t driver, uint16_t port,
                       Get get) {
  rte_mempool_cache* cache = a == nullptr || n == 0 ? nullptr : ExactCache(mp, rte_lcore_id());
  if (cache == nullptr) {
    if (a != nullptr) RecordObjects(a, kActOpaque, mp, nullptr, n, Guard{}, port, driver);
    return get(n);
  }
  // The previous get was published by now: nothing is under way.
  ActivityIdle(a);
  if (cache->len < n) OwnRefill(a, mp, cache, cache->size + n - cache->len, n - cache->len);
  const uint32_t k = std::min(n, cache->len);
  if (k == 0) return 0;
  RecordObjects(a, kActGet, mp, nullptr, k, published, port, driver);
  EnterCall(a, kActGet, cache);
  FailpointAt(PoolFailpoint::kGetRecorded);
  if (__builtin_expect(g_poolFailpoint == PoolFailpoint::kGetPartial, 0)) DieInsideGet(cache, k);
  const uint32_t got = get(k);
  FailpointAt(PoolFailpoint::kGetDone);
  return got;
}

// An RX burst into pkts, journaled for the pool its driver allocates from
// (the caller's: a vector's, a burst's).
inline uint16_t JournaledRx(PoolActivity* a, rte_mempool* mp, uint16_t port, uint16_t queue, rte_mbuf** pkts, uint16_t n,
                            const Guard& published) {
  const RxGet driver = DriversOf(port).rx;
  // A driver that takes nothing from the pool leaves its cache alone.
  if (driver == RxGet::kNone) return rte_eth_rx_burst(port, queue, pkts, n);
  return static_cast<uint16_t>(JournaledGets(a, mp, n, published, static_cast<uint32_t>(driver), port, [&](uint32_t k) {
    return static_cast<uint32_t>(rte_eth_rx_burst(port, queue, pkts, static_cast<uint16_t>(k)));
  }));
}

}  // namespace dpdk_core

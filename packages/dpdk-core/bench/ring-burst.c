/*
 * The C side of the ring benchmark: enqueue a burst of 32 packets into a
 * single-producer/single-consumer ring and dequeue it again, ITERATIONS times,
 * ROUNDS times; prints the best ns per packet as JSON.
 * Usage: ring-burst [EAL args] -- ITERATIONS ROUNDS
 */
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <stdio.h>

#include "bench.h"


int main(int argc, char **argv) {
  long iterations;
  int rounds;
  int status = bench_init(argc, argv, &iterations, &rounds);
  if (status != 0) return status;
  struct rte_mempool *pool = rte_pktmbuf_pool_create("bench_pool", 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
  struct rte_ring *ring = rte_ring_create("bench_ring", 1024, rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
  struct rte_mbuf *pkts[BURST];
  if (pool == NULL || ring == NULL || rte_pktmbuf_alloc_bulk(pool, pkts, BURST) != 0) return 3;
  double best = 1e18;
  unsigned long moved = 0;
  for (int r = 0; r < rounds; r++) {
    double t0 = now_ns();
    for (long i = 0; i < iterations; i++) {
      unsigned n = rte_ring_enqueue_burst(ring, (void *const *)pkts, BURST, NULL);
      moved += rte_ring_dequeue_burst(ring, (void **)pkts, n, NULL);
    }
    double per = (now_ns() - t0) / ((double)iterations * BURST);
    if (per < best) best = per;
  }
  printf("RESULT {\"nsPerPacket\":%.4f,\"moved\":%lu}\n", best, moved);
  rte_pktmbuf_free_bulk(pkts, BURST);
  rte_ring_free(ring);
  rte_mempool_free(pool);
  rte_eal_cleanup();
  return 0;
}

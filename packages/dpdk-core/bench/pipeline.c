/*
 * The C side of the pipeline benchmark, on one core:
 * net_null port 0 rx(32) -> SP/SC ring -> dequeue(32) -> TX buffer -> port 1.
 * Runs ITERATIONS loop turns ROUNDS times; prints the best packet rate.
 * Usage: pipeline [EAL args with two net_null vdevs] -- ITERATIONS ROUNDS
 */
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <stdio.h>

#include "bench.h"


static int setup_port(uint16_t port, struct rte_mempool *pool) {
  struct rte_eth_conf conf = {0};
  uint16_t rxd = 1024, txd = 1024;
  if (rte_eth_dev_configure(port, 1, 1, &conf) < 0) return -1;
  if (rte_eth_dev_adjust_nb_rx_tx_desc(port, &rxd, &txd) < 0) return -1;
  if (rte_eth_rx_queue_setup(port, 0, rxd, rte_eth_dev_socket_id(port), NULL, pool) < 0) return -1;
  if (rte_eth_tx_queue_setup(port, 0, txd, rte_eth_dev_socket_id(port), NULL) < 0) return -1;
  return rte_eth_dev_start(port);
}

int main(int argc, char **argv) {
  long iterations;
  int rounds;
  int status = bench_init(argc, argv, &iterations, &rounds);
  if (status != 0) return status;
  struct rte_mempool *pool = rte_pktmbuf_pool_create("bench_pool", 8191, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
  struct rte_ring *ring = rte_ring_create("bench_ring", 1024, rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
  if (pool == NULL || ring == NULL || setup_port(0, pool) < 0 || setup_port(1, pool) < 0) return 3;
  struct rte_eth_dev_tx_buffer *txb = rte_zmalloc_socket("tx_buffer", RTE_ETH_TX_BUFFER_SIZE(BURST), 0, rte_socket_id());
  if (txb == NULL || rte_eth_tx_buffer_init(txb, BURST) != 0) return 4;
  struct rte_mbuf *in[BURST], *out[BURST];
  double best = 0;
  unsigned long total = 0;
  for (int r = 0; r < rounds; r++) {
    unsigned long moved = 0;
    double t0 = now_ns();
    for (long i = 0; i < iterations; i++) {
      unsigned n = rte_eth_rx_burst(0, 0, in, BURST);
      unsigned q = rte_ring_enqueue_burst(ring, (void *const *)in, n, NULL);
      if (q < n) rte_pktmbuf_free_bulk(in + q, n - q);
      unsigned m = rte_ring_dequeue_burst(ring, (void **)out, BURST, NULL);
      for (unsigned k = 0; k < m; k++) rte_eth_tx_buffer(1, 0, txb, out[k]);
      moved += m;
    }
    rte_eth_tx_buffer_flush(1, 0, txb);
    double mpps = moved / ((now_ns() - t0) / 1e9) / 1e6;
    if (mpps > best) best = mpps;
    total += moved;
  }
  printf("RESULT {\"mpps\":%.4f,\"moved\":%lu}\n", best, total);
  for (uint16_t p = 0; p < 2; p++) {
    rte_eth_dev_stop(p);
    rte_eth_dev_close(p);
  }
  rte_free(txb);
  rte_ring_free(ring);
  rte_mempool_free(pool);
  rte_eal_cleanup();
  return 0;
}

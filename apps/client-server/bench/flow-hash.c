/*
 * The C side of the flow-hash micro-benchmark (see flow-hash.ts): the same
 * handler as src/distribute.ts's flowHash, written in C, over the same
 * vectors: 512 packets taken from net_null in bursts of 32 and described as
 * a packet vector describes them (offset of each packet's data in the pool's
 * memory, its length, its input port). Only the handler is timed.
 *
 *   flow-hash [EAL args with one net_null vdev] -- VECTORS ROUNDS CLIENTS
 *
 * CLIENTS is read at run time, as the server reads its number of clients:
 * with a compile-time count gcc would turn the `%` below into a mask, which
 * the server's handler cannot be.
 * prints RESULT {"nsPerPacket": best round, "checksum": ...}
 */
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_prefetch.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define VECTOR 512
#define BURST 32
#define FLOWS 1024

static inline double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static inline uint32_t mix(uint32_t h) {
  h = (h ^ (h >> 16)) * 0x85ebca6bu;
  h = (h ^ (h >> 13)) * 0xc2b2ae35u;
  return h ^ (h >> 16);
}

static inline uint32_t rd32le(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}

static inline uint32_t mac_pair_hash(const uint8_t *p) {
  return mix(rd32le(p) ^ rd32le(p + 4) * 0x9e3779b9u ^ rd32le(p + 8) * 0x85ebca6bu);
}

/* flowHash of src/distribute.ts, with the same reads and length checks. */
static inline uint32_t flow_hash(const uint8_t *mem, uint32_t off, uint16_t len, uint16_t port) {
  const uint8_t *p = mem + off;
  if (len < 34) return len < 14 ? port : mac_pair_hash(p);
  uint32_t type = rd32le(p + 12);
  if ((type & 0xffff) != 0x0008) return mac_pair_hash(p);
  uint32_t ihl = ((type >> 16) & 0x0f) * 4u;
  uint32_t word = rd32le(p + 20);
  uint32_t proto = word >> 24;
  uint32_t h = rd32le(p + 26) ^ rd32le(p + 30) * 0x9e3779b9u ^ proto;
  if ((proto == 6 || proto == 17) && (word & 0xff3f) == 0 && len >= 14 + ihl + 4) h ^= rd32le(p + 14 + ihl) * 0x85ebca6bu;
  return mix(h);
}

/* Writes one of FLOWS UDP/IPv4 headers into every buffer of the pool, so net_null hands them out. */
static void fill_pool(struct rte_mempool *mp) {
  unsigned n = mp->size;
  struct rte_mbuf **all = malloc(n * sizeof(*all));
  unsigned got = 0;
  while (got < n && rte_pktmbuf_alloc_bulk(mp, all + got, 1) == 0) got++;
  for (unsigned k = 0; k < got; k++) {
    uint8_t *f = rte_pktmbuf_mtod(all[k], uint8_t *);
    memset(f, 0, 64);
    f[0] = 0x02; f[5] = 0xaa; f[6] = 0x02; f[11] = 0xbb;
    f[12] = 0x08; f[13] = 0x00; f[14] = 0x45; f[22] = 64; f[23] = 17;
    uint32_t src = 0x0a000000u + k % FLOWS;
    f[26] = src >> 24; f[27] = src >> 16; f[28] = src >> 8; f[29] = src;
    f[30] = 10; f[31] = 128; f[32] = 0; f[33] = 1;
    uint16_t sport = 1024 + k % FLOWS;
    f[34] = sport >> 8; f[35] = sport; f[36] = 0x12; f[37] = 0xb5;
  }
  rte_pktmbuf_free_bulk(all, got);
  free(all);
}

int main(int argc, char **argv) {
  int used = rte_eal_init(argc, argv);
  if (used < 0) return 1;
  argc -= used + 1;
  argv += used + 1;
  if (argc < 3) return 2;
  long vectors = atol(argv[0]);
  int rounds = atoi(argv[1]);
  unsigned clients = (unsigned)atoi(argv[2]);
  if (clients == 0) return 2;
  struct rte_mempool *mp = rte_pktmbuf_pool_create("fh_pool", 8191, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
  if (mp == NULL) return 3;
  struct rte_eth_conf conf;
  memset(&conf, 0, sizeof(conf));
  if (rte_eth_dev_configure(0, 1, 1, &conf) < 0 || rte_eth_rx_queue_setup(0, 0, 1024, rte_socket_id(), NULL, mp) < 0 ||
      rte_eth_tx_queue_setup(0, 0, 1024, rte_socket_id(), NULL) < 0 || rte_eth_dev_start(0) < 0)
    return 4;
  fill_pool(mp);
  /* The pool's memory, as a packet vector's view of it. */
  const struct rte_mempool_memhdr *chunk = STAILQ_FIRST(&mp->mem_list);
  const uint8_t *base = chunk->addr;
  static struct rte_mbuf *pkts[VECTOR];
  static uint32_t off[VECTOR];
  static uint16_t len[VECTOR], port[VECTOR], dest[VECTOR];
  double best = 1e18;
  uint64_t checksum = 0;
  for (int r = 0; r < rounds; r++) {
    double handler = 0;
    long packets = 0;
    for (long v = 0; v < vectors; v++) {
      unsigned n = 0;
      while (n < VECTOR) n += rte_eth_rx_burst(0, 0, pkts + n, BURST);
      for (unsigned i = 0; i < n; i++) {
        /* As a packet vector's fill does (native/vector_path.cc's Describe). */
        rte_prefetch0((const uint8_t *)pkts[i]->buf_addr + pkts[i]->data_off);
        off[i] = (uint32_t)((const uint8_t *)pkts[i]->buf_addr + pkts[i]->data_off - base);
        len[i] = pkts[i]->data_len;
        port[i] = pkts[i]->port;
      }
      double t0 = now_ns();
      for (unsigned i = 0; i < n; i++) dest[i] = flow_hash(base, off[i], len[i], port[i]) % clients;
      handler += now_ns() - t0;
      for (unsigned i = 0; i < n; i++) checksum += dest[i];
      rte_pktmbuf_free_bulk(pkts, n);
      packets += n;
    }
    if (handler / packets < best) best = handler / packets;
  }
  printf("RESULT {\"nsPerPacket\": %.4f, \"checksum\": %lu}\n", best, (unsigned long)checksum);
  rte_eth_dev_stop(0);
  rte_eth_dev_close(0);
  rte_mempool_free(mp);
  rte_eal_cleanup();
  return 0;
}

/*
 * What the C benchmarks share: the burst size, a monotonic clock, and the
 * command line `[EAL args] -- ITERATIONS ROUNDS`.
 */
#ifndef DPDK_MP_BENCH_H
#define DPDK_MP_BENCH_H

#include <rte_eal.h>
#include <stdlib.h>
#include <time.h>

#define BURST 32

static inline double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* Initialises EAL and reads ITERATIONS and ROUNDS; returns a non-zero exit code on failure. */
static inline int bench_init(int argc, char **argv, long *iterations, int *rounds) {
  int used = rte_eal_init(argc, argv);
  if (used < 0) return 1;
  argc -= used + 1;
  argv += used + 1;
  if (argc < 2) return 2;
  *iterations = atol(argv[0]);
  *rounds = atoi(argv[1]);
  return 0;
}

#endif

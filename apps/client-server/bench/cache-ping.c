/*
 * How long one cache line takes to go from CPU A to CPU B and back: two
 * threads, pinned one to each, bounce a counter in one line. The bench runs
 * it between runs, with nothing else on those CPUs, to tell which of the
 * machine's two placements a run had (see bench.ts, cpuPlacement): the
 * server and its clients hand every packet across these CPUs, so a pair
 * forwards 4 times slower when the line's round trip is 5 times longer.
 *
 *   cache-ping CPU_A CPU_B   prints the fastest of 5 trials, ns per round trip
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define ROUND_TRIPS 100000
#define TRIALS 5

static volatile uint64_t line __attribute__((aligned(64)));

static int pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

/* Answers each odd value with the next even one. */
static void *answer(void *cpu) {
  if (pin(*(int *)cpu) != 0) {
    fprintf(stderr, "cache-ping: cannot pin a thread to CPU %d\n", *(int *)cpu);
    exit(1);
  }
  for (uint64_t i = 1; i <= (uint64_t)ROUND_TRIPS * TRIALS; i++) {
    while (line != 2 * i - 1) {
    }
    line = 2 * i;
  }
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: cache-ping CPU_A CPU_B\n");
    return 2;
  }
  int a = atoi(argv[1]);
  int b = atoi(argv[2]);
  if (pin(a) != 0) {
    fprintf(stderr, "cache-ping: cannot pin a thread to CPU %d\n", a);
    return 1;
  }
  pthread_t t;
  if (pthread_create(&t, NULL, answer, &b) != 0) return 1;
  double best = 1e18;
  uint64_t i = 1;
  for (int trial = 0; trial < TRIALS; trial++) {
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int k = 0; k < ROUND_TRIPS; k++, i++) {
      line = 2 * i - 1;
      while (line != 2 * i) {
      }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ns = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / ROUND_TRIPS;
    if (ns < best) best = ns;
  }
  pthread_join(t, NULL);
  printf("%.1f\n", best);
  return 0;
}

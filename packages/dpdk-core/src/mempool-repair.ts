/**
 * Repair of a shared packet pool after a process using it was killed
 * (native/mempool_repair.cc), under the rule that a buffer may be lost but
 * never returned while someone else may own it. DPDK's cached put raises the
 * cache's length before it stores the objects, and its flush enqueues them
 * before it resets the length, so a dead lcore's cache may list pointers that
 * are already back in the ring or in use: only what is proven to have been
 * stored is returned ('returned'; the rest is `discarded`). A process killed
 * inside a flush leaves the ring's producer head ahead of its tail (every
 * later put spins): the flush is completed with the cache's objects when the
 * reserved slots prove it was that lcore's ('published'). A process killed
 * inside a cache refill leaves the consumer head ahead of the tail (every
 * later get spins): the refill's objects go back to the pool ('republished').
 * Anything not provably the dead lcore's is left alone ('unrepairable': a
 * live process may be descheduled there; try again later). Call it for a
 * dead process's lcore id before any process uses that lcore id again; a
 * refill is repaired only while no other process takes from the pool.
 */
import { z } from 'zod';
import { MAX_LCORE } from './eal-args';
import type { Mempool } from './mempool';
import { validate } from './validate';
import { native } from './native';

export interface MempoolRingState {
  /** The pool's driver, e.g. 'ring_mp_mc'. Ring fields are present for ring drivers only. */
  backend: string;
  size?: number;
  prodHead?: number;
  prodTail?: number;
  consHead?: number;
  consTail?: number;
}

/** What happened to the dead lcore's cache and the ring's producer side. */
export type RepairOutcome = 'clean' | 'returned' | 'published' | 'unrepairable';
/** What happened to the ring's consumer side. */
export type RefillOutcome = 'clean' | 'republished' | 'unrepairable';

export interface RepairResult extends MempoolRingState {
  outcome: RepairOutcome;
  /** Objects the dead lcore's cache listed. */
  objects: number;
  /** Of those, how many went back to the pool (or into its stuck flush). */
  returned: number;
  /** Of those, how many were dropped: lost, unless they were in the ring already. */
  discarded: number;
  consumer: RefillOutcome;
  /** Objects of a stuck refill put back in the pool. */
  republished: number;
}

/** RTE_PKTMBUF_FREE_PENDING_SZ: rte_pktmbuf_free(_bulk) puts at most this many objects at once. */
export const MBUF_FREE_BATCH = 64;

const repairSchema = z
  .object({
    lcore: z.number().int().min(0).max(MAX_LCORE - 1),
    /** How long the ring's tail must stay still, with its head ahead, to count as stuck. */
    settleMs: z.number().int().min(1).max(1000).default(20),
    /**
     * The most objects the dead process put into that lcore's cache in one
     * call. The default covers rte_pktmbuf_free and rte_pktmbuf_free_bulk;
     * a process that called rte_mempool_put_bulk with more (some NIC drivers'
     * fast-free path) needs a larger value, up to the cache's flush
     * threshold (1.5 x its size). 0 for a process that exited by itself
     * rather than by a signal: no put of its can have been under way.
     */
    maxPut: z.number().int().min(0).max(768).default(MBUF_FREE_BATCH),
  })
  .strict();

/** The pool ring's producer/consumer head and tail, for diagnostics. */
export function mempoolRingState(pool: Mempool): MempoolRingState {
  return native.mempoolRingState(pool);
}

/**
 * Repairs what a dead process on `lcore` left in `pool` (see the module
 * comment). Not safe while a live process uses that lcore id.
 */
export function repairMempool(pool: Mempool, opts: z.input<typeof repairSchema>): RepairResult {
  const o = validate(repairSchema, opts, 'repairMempool', 'options');
  return native.repairMempool(pool, o.lcore, o.settleMs, o.maxPut);
}

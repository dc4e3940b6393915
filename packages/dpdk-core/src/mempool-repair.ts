/**
 * Repair of a shared packet pool after a process using it was killed
 * (native/mempool_repair.cc). A process killed while flushing its lcore's
 * cache into the pool's ring leaves the ring's producer head ahead of its
 * tail, and every later put spins forever. The dead lcore's cache still holds
 * the objects of that flush: `repairMempool` publishes them into the reserved
 * slots (outcome 'published'), or returns the cache to the pool when nothing
 * was half done ('flushed'). Call it for a dead process's lcore id before any
 * process uses that lcore id again.
 */
import { z } from 'zod';
import { MAX_LCORE } from './eal-args';
import type { Mempool } from './mempool';
import { validate } from './memzone';
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

export type RepairOutcome = 'clean' | 'flushed' | 'completed' | 'published' | 'unrepairable';

export interface RepairResult extends MempoolRingState {
  outcome: RepairOutcome;
  /** Objects the dead lcore's cache held. */
  objects: number;
}

declare module './native' {
  interface NativeAddon {
    mempoolRingState(pool: Mempool): MempoolRingState;
    repairMempool(pool: Mempool, lcore: number, settleMs: number): RepairResult;
  }
}

const repairSchema = z
  .object({
    lcore: z.number().int().min(0).max(MAX_LCORE - 1),
    /** How long the ring's tail must stay still, with its head ahead, to count as stuck. */
    settleMs: z.number().int().min(1).max(1000).default(20),
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
  return native.repairMempool(pool, o.lcore, o.settleMs);
}

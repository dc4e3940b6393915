/**
 * Repair of a shared packet pool after a process using it was killed
 * (native/mempool_repair.cc), under the rule that a buffer may be lost but
 * never returned while someone else may own it.
 *
 * Every pool call this addon makes (RX bursts, frees, TX bursts, TX buffer
 * flushes, allocations) is journaled in shared memory, per lcore id
 * (native/activity.h): which call, the cache's length when it started,
 * where its packets are. DPDK's cached put raises the cache's length before
 * it stores the objects, and its get lowers it before it copies them out;
 * from the journal the repair knows which slots a dead call was storing
 * (rewritten: `completed`), which packets it had not reached (freed for it:
 * `freed`) and which objects a get had taken but not published (back in the
 * pool). No flush or refill happens inside a journaled call: the addon makes
 * them itself, step by recorded step, and the repair finishes or discounts
 * them. Between calls the whole cache goes back. What the journal cannot
 * follow (a driver that does not free in order inside its TX burst, packets
 * in memory of the dead process alone) is `lost`, with `reasons`.
 *
 * Without a journal of the dead process (other code, a C process), what is
 * proven stored goes back and the rest is `discarded` (the rule of maxPut);
 * a stuck flush is completed when the ring proves it was that lcore's
 * ('published'), a stuck refill's objects go back ('republished'). Anything
 * not provably the dead lcore's is left alone ('unrepairable': a live
 * process may be descheduled there; try again later). Call it for a dead
 * process's lcore id before any process uses that lcore id again, and
 * before its named vectors and TX buffers are reclaimed (they refuse with
 * 'EAGAIN' while the journal says a pool call of the dead process was on
 * their packets); a refill is repaired only while no other process takes
 * from the pool.
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
/**
 * What the dead process's journal said it was doing with this pool: 'none'
 * (no journal of it: the rule of maxPut), 'idle' (between pool calls),
 * 'put' (freeing, or a TX burst its driver frees in order), 'tx' (a TX burst
 * to a driver that does not), 'get' (an RX burst or an allocation),
 * 'hand-over' (packets on their way from a vector into a TX buffer), 'flush'
 * / 'refill' (moving its cache to or from the ring), 'opaque' (a call the
 * journal cannot replay: the rule of maxPut).
 */
export type RepairActivity = 'none' | 'idle' | 'put' | 'tx' | 'get' | 'hand-over' | 'flush' | 'refill' | 'opaque';

export interface RepairResult extends MempoolRingState {
  outcome: RepairOutcome;
  /** Objects the dead lcore's cache listed. */
  objects: number;
  /** Objects that went back to the pool from the cache (or into its stuck flush). */
  returned: number;
  /** Cache entries dropped: lost, unless a flush had put them in the ring already. */
  discarded: number;
  consumer: RefillOutcome;
  /** Objects of a stuck refill put back in the pool, or a half-done refill of its own finished. */
  republished: number;
  activity: RepairActivity;
  /** Cache slots a dead put had claimed but maybe not written, rewritten with the objects it was storing. */
  completed: number;
  /** Packets the dead process was freeing or sending that it had not put into the cache yet, freed by the repair. */
  freed: number;
  /** Packets its interrupted enqueue into an output ring put there (the rest of that send was freed). */
  enqueued: number;
  /** Buffers that could not be given back (0 for every call the journal replays); `reasons` says why. */
  lost: number;
  /** Why anything was lost, discarded or left alone, one line each. */
  reasons: string[];
  /**
   * Whether a ring reservation was taken for the dead process's own by its
   * tail staying put for settleMs: the one state the ring alone decides (the
   * process died between taking its reservation and recording it as sure).
   */
  judged: boolean;
}

/** RTE_PKTMBUF_FREE_PENDING_SZ: rte_pktmbuf_free(_bulk) puts at most this many objects at once. */
export const MBUF_FREE_BATCH = 64;

const repairSchema = z
  .object({
    lcore: z.number().int().min(0).max(MAX_LCORE - 1),
    /**
     * The dead process's pid: its journal is used only if it names that
     * process as its owner, or as waiting on a dead owner's record (started
     * before that owner's repair, no pool call since); without it, the
     * journal of a process that is gone is taken for the last one to run as
     * this lcore id.
     */
    pid: z.number().int().min(1).max(2 ** 31 - 1).optional(),
    /** How long the ring's tail must stay still, with its head ahead, to count as stuck. */
    settleMs: z.number().int().min(1).max(1000).default(20),
    /**
     * Without a journal of the dead process: the most objects it put into
     * that lcore's cache in one call. The default covers rte_pktmbuf_free
     * and rte_pktmbuf_free_bulk; a process that called
     * rte_mempool_put_bulk with more (some NIC drivers' fast-free path)
     * needs a larger value, up to the cache's flush threshold (1.5 x its
     * size). 0 for a process that exited by itself rather than by a signal:
     * no put of its can have been under way.
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
 * comment). 'EBUSY' while the journal names a live process on that lcore.
 */
export function repairMempool(pool: Mempool, opts: z.input<typeof repairSchema>): RepairResult {
  const o = validate(repairSchema, opts, 'repairMempool', 'options');
  return native.repairMempool(pool, o.lcore, o.settleMs, o.maxPut, o.pid ?? 0);
}

/** One lcore's journal record (native/activity.h), for diagnostics and tests. */
export interface PoolActivity {
  pid: number;
  op: 'idle' | 'put' | 'tx' | 'get' | 'hand-over' | 'opaque';
  inCall: boolean;
  shared: boolean;
  /** The owner is dead and repairMempool settled its call: the next process on this lcore id takes the record at EAL init, unless `waiting` lives. */
  repaired: boolean;
  /** A process started as this lcore id while another held the record, which has made no pool call yet (0: none); the first still alive. */
  waiting: number;
  done: number;
  n: number;
  transfer: 'none' | 'flush' | 'refill' | 'enqueue';
  phase: '' | 'reserving' | 'reserved';
}

/** The journal record of `lcore`, or null if no process of this group journaled yet. */
export function poolActivity(lcore: number): PoolActivity | null {
  return native.poolActivity(validate(z.number().int().min(0).max(MAX_LCORE - 1), lcore, 'poolActivity', 'lcore'));
}

/** Points of the journaled pool calls where a test can have the process SIGKILL itself (native/activity.h). */
export type PoolFailpoint =
  | 'none'
  | 'put-recorded'
  | 'put-started'
  | 'put-partial'
  | 'put-done'
  | 'get-recorded'
  | 'get-partial'
  | 'get-done'
  | 'flush-reserving'
  | 'flush-cas'
  | 'flush-copied'
  | 'flush-emptied'
  | 'flush-published'
  | 'refill-reserving'
  | 'refill-cas'
  | 'refill-copied'
  | 'refill-published'
  | 'enqueue-cas'
  | 'enqueue-copied'
  | 'hand-counted';

/** @internal test fault injection: SIGKILL at `name` the (skip+1)-th time this process reaches it. */
export function armPoolFailpoint(name: PoolFailpoint, skip = 0): void {
  native.armPoolFailpoint(name, skip);
}

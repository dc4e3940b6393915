/**
 * What a process holds, and how to get it back after the process is gone: the
 * resource kinds both apps declare, and the one way a list of them is
 * reclaimed (reclaimAll), by the Supervisor for its slaves and by
 * watchHolders for processes that attached by themselves.
 */
import { dpdkError, hasCode, reclaimPacketVector, reclaimTxBuffer, repairMempool, type Mempool } from '@mp/dpdk-core';

export interface ReclaimContext {
  /** The dead process's name ('slave0', 'client 3'). */
  readonly name: string;
  /** The lcore id the dead process ran as (pinned or leased). */
  readonly lcore: number;
  /**
   * Whether the process ended by a signal (SIGKILL, a crash) rather than by
   * exiting: only then may it have left a put into a pool half done.
   */
  readonly killed: boolean;
  /**
   * Whether a live process (the supervisor or another slave) runs as this
   * lcore id. A per-lcore mempool cache may only be flushed by someone else
   * when nobody uses its lcore id.
   */
  lcoreInUse(id: number): boolean;
}

export interface ReclaimResult {
  /** Packet buffers this resource could not account for (lost for good). */
  unaccountedBuffers?: number;
  /** Anything worth reporting (moved, flushed, drained counts). */
  detail?: Record<string, number | string | boolean | undefined>;
}

export interface Resource {
  /** Short label for events and logs ("pool-cache mbufs_0", "ring ctl_1"). */
  readonly label: string;
  reclaim(ctx: ReclaimContext): ReclaimResult | void | Promise<ReclaimResult | void>;
}

/** The part of a packet pool handle an audit needs (a @mp/dpdk-core Mempool fits). */
export interface PoolLike {
  readonly name: string;
  availableCount(): number;
  inUseCount(): number;
}

/** The part of a ring handle reclaim needs (a @mp/dpdk-core Ring fits). */
export interface RingLike {
  readonly name: string;
  count(): number;
  reset(): number;
}

/** How long poolCache keeps trying by default while a stuck reservation is not provably the dead process's. */
const POOL_REPAIR_RETRY_MS = 1000;

/**
 * The dead lcore's per-lcore cache of `pool`, and whatever enqueue or cache
 * refill it left half done in the pool's ring, repaired through
 * `repairMempool`: a plain flush would spin for ever on a ring the dead
 * process left half-written, or put back buffers that are already in the
 * ring or in use. What it cannot prove was stored is discarded (lost, and
 * counted by `poolAudit`). A stuck reservation that is not provably the dead
 * slave's (a live process may be descheduled in it) is retried for a second,
 * for `retryMs` (default a second), then reported as an error with code
 * 'EBUSY' (reclaim again later). Skipped (and reported) while a live process
 * runs as that lcore id: the cache is not thread safe and belongs to that
 * process then. `settleMs` and `maxPut` are repairMempool's; `maxPut` applies
 * to killed processes (one that exited by itself gets its whole cache back).
 */
export function poolCache(pool: Mempool, opts: { settleMs?: number; maxPut?: number; retryMs?: number } = {}): Resource {
  const { retryMs = POOL_REPAIR_RETRY_MS, ...repair } = opts;
  return {
    label: `pool-cache ${pool.name}`,
    async reclaim(ctx): Promise<ReclaimResult> {
      if (ctx.lcoreInUse(ctx.lcore)) {
        return { detail: { skipped: `lcore ${ctx.lcore} is in use by a live process`, cached: pool.cacheCount(ctx.lcore) } };
      }
      const deadline = Date.now() + retryMs;
      for (;;) {
        // A process that exited by itself completed every put it made.
        const r = repairMempool(pool, { lcore: ctx.lcore, ...repair, ...(ctx.killed ? {} : { maxPut: 0 }) });
        if (r.outcome !== 'unrepairable' && r.consumer !== 'unrepairable') {
          const { outcome, objects, returned, discarded, consumer, republished, activity, completed, freed, lost } = r;
          // What the repair could not give back is said, with its reasons, never dropped.
          const reasons = r.reasons.length > 0 ? { reasons: r.reasons.join('; ') } : {};
          return { detail: { outcome, objects, returned, discarded, consumer, republished, activity, completed, freed, lost, ...reasons } };
        }
        if (Date.now() >= deadline) {
          throw dpdkError(
            'EBUSY',
            'poolCache',
            `pool ${pool.name}: its ring has a stuck ${r.outcome === 'unrepairable' ? 'enqueue' : 'dequeue'} that is not provably lcore ${ctx.lcore}'s; left as it is`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
  };
}

/**
 * A ring only this slave consumed: what is left in it is dropped (packets go
 * back to their pools), so its replacement starts from an empty ring. The
 * ring is emptied by dequeuing (`reset()`), so its producer may go on.
 */
export function drainRing(ring: RingLike): Resource {
  return {
    label: `ring ${ring.name}`,
    reclaim() {
      return { detail: { drained: ring.reset() } };
    },
  };
}

/**
 * The slave's named TX buffers (`createTxBuffer(port, queue, { name })`):
 * the packets each still lists go back to their pools through
 * `reclaimTxBuffer` and its zone is freed, so the replacement reserves a new,
 * empty one. A name the slave never created (it died before, or had freed
 * it) counts 0. Declare it before `poolAudit`, which then no longer counts
 * those packets as lost.
 */
export function txBuffers(names: readonly string[]): Resource {
  return {
    label: `tx-buffers ${names.join(',')}`,
    reclaim(): ReclaimResult {
      let freed = 0;
      let absent = 0;
      for (const name of names) {
        try {
          freed += reclaimTxBuffer(name, { freeZone: true });
        } catch (e) {
          if (!hasCode(e, 'ENOENT')) throw e;
          absent++;
        }
      }
      return { detail: { freed, absent } };
    },
  };
}

/**
 * The slave's named packet vectors (`createPacketVector({ name })`): packets
 * a vector had received from ports and not handed on go back to their pool,
 * packets it had taken from a ring go back to that ring, and the zone is
 * freed (`reclaimPacketVector`). A name the slave never created counts 0.
 * Declare it before `poolAudit`.
 */
export function packetVectors(names: readonly string[]): Resource {
  return {
    label: `packet-vectors ${names.join(',')}`,
    reclaim(): ReclaimResult {
      let freed = 0;
      let requeued = 0;
      let absent = 0;
      for (const name of names) {
        try {
          const r = reclaimPacketVector(name);
          freed += r.freed;
          requeued += r.requeued;
        } catch (e) {
          if (!hasCode(e, 'ENOENT')) throw e;
          absent++;
        }
      }
      return { detail: { freed, requeued, absent } };
    },
  };
}

/**
 * Audits a pool after the slave's other resources were reclaimed: buffers in
 * use beyond `expectedInUse()` (what live holders such as RX descriptor rings
 * legitimately keep) and beyond what earlier audits already reported lost
 * were held by the dead process and are lost now. `lostTotal` in the detail
 * is the running total for the pool: with its users stopped, the pool's
 * available count is size - expected - lostTotal.
 */
export function poolAudit(pool: PoolLike, expectedInUse: () => number): Resource {
  let lostTotal = 0;
  return {
    label: `pool-audit ${pool.name}`,
    reclaim(): ReclaimResult {
      const inUse = pool.inUseCount();
      const expected = expectedInUse();
      const lost = Math.max(0, inUse - expected - lostTotal);
      lostTotal += lost;
      return { unaccountedBuffers: lost, detail: { inUse, expected, lostTotal, available: pool.availableCount() } };
    },
  };
}

/** Anything else: a function run at reclaim time. */
export function customResource(label: string, reclaim: Resource['reclaim']): Resource {
  return { label, reclaim };
}

/** What reclaiming a process's resource list came to. */
export interface ReclaimReport {
  /** Each resource reclaimed, in order. */
  results: Array<{ label: string } & ReclaimResult>;
  /** The resource that failed, if one did; those after it were not reclaimed. */
  failed: { label: string; error: Error } | null;
  /** Packet buffers the resources could not account for. */
  unaccountedBuffers: number;
}

/**
 * Reclaims `resources` in their declared order. The first that fails stops
 * the reclaim: what comes after may depend on it (packets must not be freed
 * into a pool whose ring is still jammed).
 */
export async function reclaimAll(resources: readonly Resource[], ctx: ReclaimContext): Promise<ReclaimReport> {
  const report: ReclaimReport = { results: [], failed: null, unaccountedBuffers: 0 };
  for (const res of resources) {
    try {
      const r = (await res.reclaim(ctx)) ?? {};
      report.unaccountedBuffers += r.unaccountedBuffers ?? 0;
      report.results.push({ label: res.label, ...r });
    } catch (e) {
      report.failed = { label: res.label, error: e instanceof Error ? e : new Error(String(e)) };
      break;
    }
  }
  return report;
}

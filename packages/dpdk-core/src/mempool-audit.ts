/**
 * The one-owner audit of a packet pool (native/mempool_audit.cc): at a
 * moment when nothing moves (processes stopped, or paused between calls),
 * every buffer of the pool must be in exactly one place: the pool's ring, an
 * lcore's cache, or a holder named here. It is how tests prove that recovery
 * lost buffers at most, and never freed one twice.
 */
import { z } from 'zod';
import { burstId, type Burst } from './burst';
import type { Mempool } from './mempool';
import { memzoneNameSchema } from './memzone';
import { validate } from './validate';
import { native } from './native';
import { ringNameSchema } from './ring';

export interface MempoolAudit {
  /** Buffers the pool was built with. */
  size: number;
  /** Entries listed by the pool's ring, by the lcore caches, and by the holders. */
  inRing: number;
  inCaches: number;
  held: number;
  /** Buffers listed more than once: freed twice, or with two owners. */
  duplicates: number;
  /** Buffers listed nowhere: lost, or held where the audit does not look (a device's queues, a private array). */
  lost: number;
  /** Entries of the pool's ring or caches that are not buffers of the pool (corruption). */
  foreign: number;
  /** Whether the pool's ring had no enqueue or dequeue half done (otherwise the counts are a snapshot of a moving ring). */
  settled: boolean;
  /** Up to 8 duplicated buffers (by index in the pool) with two places that list each. */
  examples: Array<{ object: number; places: string[] }>;
}

export interface AuditHolders {
  /** Packet rings (handles, or names): their queued packets. */
  rings?: ReadonlyArray<{ readonly name: string } | string>;
  /** Named TX buffers (createTxBuffer's `name`, a packet vector output's `buffer.name`): the packets they list. */
  txBuffers?: readonly string[];
  /** Bursts of this process: the packets they hold. */
  bursts?: readonly Burst[];
}

const holdersSchema = z
  .object({
    rings: z.array(z.union([ringNameSchema, z.object({ name: ringNameSchema }).transform((r) => r.name)])).default([]),
    txBuffers: z.array(memzoneNameSchema).default([]),
    bursts: z.array(z.unknown()).default([]),
  })
  .strict();

/**
 * Where every buffer of `pool` is listed (see MempoolAudit). Packets a
 * holder lists that belong to other pools are not counted; chained packets
 * are followed segment by segment. Pools of ring drivers only ('ENOTSUP').
 */
export function auditMempool(pool: Mempool, holders: AuditHolders = {}): MempoolAudit {
  const h = validate(holdersSchema, holders, 'auditMempool', 'holders');
  return native.auditMempool(pool, h.rings, h.txBuffers, h.bursts.map(burstId));
}

/**
 * The allocator's memzone, declared on @mp/mp-ring's zones: the zone header
 * (magic "LCAL", version, layout hash, slot count), then these fields, then
 * one slot per leasable id, each on a cache line of its own so that racing
 * claimers of different ids do not share a line. Every multi-byte field is a
 * little-endian word read and written with the memzone's native atomics.
 */
import { MAX_LCORE } from '@mp/dpdk-core';
import { declareZone, ownerWords, t } from '@mp/mp-ring';

export const ROLE_MAX = 16;
export const ROLE_NAME_BYTES = 32;

const fields = t.struct({
  /** Entries used in the role table. */
  roleCount: t.u32,
  /** Global counter; each claim takes the next value (least-recently-claimed fairness). */
  claimTick: t.u32,
  /** Totals, for statistics: claims, releases by owners, leases freed from dead owners, hand-overs. */
  claims: t.u64,
  releases: t.u64,
  reclaims: t.u64,
  transfers: t.u64,
  /** NUL-padded ASCII role names; index 0 is the empty role ("untagged"). */
  roles: t.array(t.array(t.u8, ROLE_NAME_BYTES), ROLE_MAX),
});

const slot = t.struct({
  /**
   * The lease: an owned slot. Claim, release, reclaim and transfer are one
   * compare-exchange on its word, each bumping the generation, so a stale
   * (id, generation, pid) never matches again; its stamp tells a reused pid
   * from the owner.
   */
  owner: ownerWords,
  /** The lcore id (0..127), its NUMA socket (-1 = any) and role index: fixed at creation. */
  id: t.u32,
  socket: t.i32,
  role: t.u32,
  /** The generation sinceMs belongs to; stored after it. */
  metaGen: t.u32,
  /** When the current owner got the id (ms, Unix epoch). */
  sinceMs: t.u64,
  /** claimTick value of the latest claim; claims of this id; leases of it freed from dead owners. */
  lastClaim: t.u32,
  claimCount: t.u32,
  reclaimCount: t.u32,
});

/** Largest pool: one slot per lcore id. */
export const MAX_SLOTS = MAX_LCORE;

export const allocatorZone = declareZone({ kind: 'lcore allocator', magic: 0x4c43414c, version: 1, fields, slot, maxSlots: MAX_SLOTS });

/**
 * Byte layout of the allocator's memzone. Every process that opens the zone
 * computes the same offsets from this table; the header carries a hash of it
 * so a process built with a different layout refuses the zone instead of
 * misreading it. All multi-byte fields are little-endian words accessed with
 * the memzone's native atomics (x86-64 and arm64 are both little-endian).
 *
 *   header (HEADER_BYTES)
 *     0   u32 magic        MAGIC; written last by the creator, so a nonzero
 *                          magic means the rest of the zone is initialised
 *     4   u32 version      LAYOUT_VERSION
 *     8   u32 layoutHash   layoutHash()
 *     12  u32 slotCount    number of leasable ids
 *     16  u32 roleCount    entries used in the role table
 *     20  u32 claimTick    global counter; each claim takes the next value
 *                          (least-recently-claimed fairness)
 *     24  u64 claims       total claims (statistics)
 *     32  u64 releases     total releases by owners
 *     40  u64 reclaims     total leases freed from dead owners
 *     48  u64 transfers    total ownership transfers
 *     64  role table       ROLE_MAX entries of ROLE_NAME_BYTES (NUL-padded
 *                          ASCII); index 0 is the empty role ("untagged")
 *   slots, SLOT_BYTES each (one cache line, so racing claimers of
 *   different ids do not share a line)
 *     0   u64 leaseWord    (generation << 32) | ownerPid; ownerPid 0 = free.
 *                          Claim, release, reclaim and transfer are one CAS
 *                          on this word and each bumps the generation, so a
 *                          stale (id, generation, pid) can never match again.
 *     8   u32 id           lcore id (0..127), fixed at creation
 *     12  i32 socket       NUMA socket of the id, -1 = any; fixed
 *     16  u32 role         index into the role table; fixed
 *     20  u32 metaGen      generation sinceMs belongs to; stored after it
 *     24  u64 ownerStamp   (generation << 32) | low 32 bits of the owner's
 *                          start time (/proc/<pid>/stat field 22, clock ticks
 *                          since boot), to detect pid reuse. One word, so it
 *                          is never torn; it counts only while its
 *                          generation equals the lease word's.
 *     32  u64 sinceMs      when the current owner got the id (ms, Unix epoch)
 *     40  u32 lastClaim    claimTick value of the latest claim
 *     44  u32 claimCount   claims of this id (statistics, tests)
 *     48  u32 reclaimCount leases of this id freed from dead owners
 */
import { MAX_LCORE } from '@mp/dpdk-core';

export const MAGIC = 0x4c43414c; // "LCAL"
export const LAYOUT_VERSION = 1;

export const ROLE_MAX = 16;
export const ROLE_NAME_BYTES = 32;

export const HEADER = {
  magic: 0,
  version: 4,
  layoutHash: 8,
  slotCount: 12,
  roleCount: 16,
  claimTick: 20,
  claims: 24,
  releases: 32,
  reclaims: 40,
  transfers: 48,
  roles: 64,
} as const;

export const HEADER_BYTES = HEADER.roles + ROLE_MAX * ROLE_NAME_BYTES;

export const SLOT = {
  leaseWord: 0,
  id: 8,
  socket: 12,
  role: 16,
  metaGen: 20,
  ownerStamp: 24,
  sinceMs: 32,
  lastClaim: 40,
  claimCount: 44,
  reclaimCount: 48,
} as const;

export const SLOT_BYTES = 64;

export function slotOffset(index: number): number {
  return HEADER_BYTES + index * SLOT_BYTES;
}

export function zoneBytes(slotCount: number): number {
  return slotOffset(slotCount);
}

/** Largest pool: one slot per lcore id. */
export const MAX_SLOTS = MAX_LCORE;

/**
 * FNV-1a over a description of every field, so any change to an offset, a
 * size or the table dimensions changes the hash.
 */
export function layoutHash(): number {
  const text = JSON.stringify({ HEADER, SLOT, SLOT_BYTES, ROLE_MAX, ROLE_NAME_BYTES, MAX_SLOTS });
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

const PID_BITS = 32n;
const PID_MASK = (1n << PID_BITS) - 1n;

export function packLeaseWord(generation: number, ownerPid: number): bigint {
  return (BigInt(generation >>> 0) << PID_BITS) | BigInt(ownerPid >>> 0);
}

export function unpackLeaseWord(word: bigint): { generation: number; ownerPid: number } {
  return { generation: Number(word >> PID_BITS), ownerPid: Number(word & PID_MASK) };
}

/** The generation after `g`, wrapping at 2^32 like the word that stores it. */
export function nextGeneration(g: number): number {
  return (g + 1) >>> 0;
}

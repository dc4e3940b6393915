/**
 * The cross-process lcore-id allocator: a table of owned slots in a declared
 * zone (allocator-zone.ts), each claimed and freed by one compare-exchange on
 * its owner word. See README.md for the guarantees.
 */
import { dpdkError, validate } from '@mp/dpdk-core';
import { OwnedSlot, nextGeneration, startStampOf, type SharedZone } from '@mp/mp-ring';
import { z } from 'zod';
import { ROLE_NAME_BYTES, allocatorZone } from './allocator-zone';
import { Lease, type LeaseInfo, type LeaseRef } from './lease';
import { lcoreIdSchema } from './lease-args';
import { exhaustionMessage, rankCandidates, type PickRequest, type SlotState } from './lease-policy';

type AllocatorZone = SharedZone<typeof allocatorZone.fields, typeof allocatorZone.slot>;

/** PID_MAX_LIMIT on 64-bit Linux. */
const PID_MAX = 4 * 1024 * 1024;

export const roleName = z
  .string()
  .max(ROLE_NAME_BYTES - 1, `a role name has at most ${ROLE_NAME_BYTES - 1} characters`)
  .regex(/^[\x21-\x7e]*$/, 'use printable ASCII without spaces for role names');
export const socketId = z.number().int().min(-1).max(63);
const pidSchema = z.number().int().min(1).max(PID_MAX, `a pid is 1..${PID_MAX}`);

const acquireSchema = z
  .object({
    /** Pid the lease belongs to; default this process. */
    owner: pidSchema.optional(),
    socket: socketId.optional(),
    role: roleName.optional(),
    /**
     * Reclaim ids of dead owners when the pool looks exhausted (default).
     * A supervisor that repairs what a dead process left in its lcore's
     * mempool caches before the id is reused turns this off and calls
     * reclaimDead() itself after the repair.
     */
    reclaimDead: z.boolean().default(true),
  })
  .strict();

export type AcquireOptions = z.input<typeof acquireSchema>;

const leaseRefSchema = z.object({ id: lcoreIdSchema, generation: z.number().int().min(0).max(0xffffffff), ownerPid: pidSchema });

export interface AllocatorStats {
  ids: number;
  free: number;
  claims: bigint;
  releases: bigint;
  reclaims: bigint;
  transfers: bigint;
}

interface StaticSlot {
  index: number;
  id: number;
  socket: number;
  role: string;
}

function decodeName(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return Buffer.from(bytes.subarray(0, end < 0 ? bytes.length : end)).toString('latin1');
}

/** Byte offsets of the fixed part's counters and of each slot's fields, from the declaration. */
const FIELD = {
  claimTick: allocatorZone.fieldsOffset + allocatorZone.fields.offsets.claimTick,
  claims: allocatorZone.fieldsOffset + allocatorZone.fields.offsets.claims,
  releases: allocatorZone.fieldsOffset + allocatorZone.fields.offsets.releases,
  reclaims: allocatorZone.fieldsOffset + allocatorZone.fields.offsets.reclaims,
  transfers: allocatorZone.fieldsOffset + allocatorZone.fields.offsets.transfers,
} as const;
const SLOT = allocatorZone.slot.offsets;

export class LcoreAllocator {
  private closedFlag = false;
  private lostRaceCount = 0;
  private readonly mz: AllocatorZone['memzone'];
  private readonly slots: readonly StaticSlot[];
  private readonly owners: readonly OwnedSlot[];
  private readonly indexById: ReadonlyMap<number, number>;

  /** Through createLcoreAllocator() or openLcoreAllocator(), which check the zone first. */
  constructor(private readonly zone: AllocatorZone) {
    this.mz = zone.memzone;
    const roles: string[] = [];
    for (let r = 0; r < zone.fields.roleCount; r++) roles.push(decodeName(zone.fields.roles[r] as Uint8Array));
    const slots: StaticSlot[] = [];
    for (let i = 0; i < zone.slotCount; i++) {
      const s = zone.slot(i);
      slots.push({ index: i, id: s.id, socket: s.socket, role: roles[s.role] ?? '' });
    }
    this.slots = slots;
    this.owners = slots.map((s) => OwnedSlot.of(zone, s.index));
    this.indexById = new Map(slots.map((s) => [s.id, s.index]));
  }

  get name(): string {
    return this.zone.name;
  }

  /** Whether this process reserved the memzone (only the creator may free() it). */
  get created(): boolean {
    return this.mz.created;
  }

  /** Claims this process lost to another acquirer and retried elsewhere (process-local). */
  get lostRaces(): number {
    return this.lostRaceCount;
  }

  /** The ids in the pool, in slot order. */
  get ids(): number[] {
    return this.slots.map((s) => s.id);
  }

  private live(op: string): void {
    if (this.closedFlag) throw dpdkError('E_CLOSED', op, `lcore allocator '${this.name}' is closed; open it again`);
  }

  private slotFor(id: number, op: string): StaticSlot {
    const index = this.indexById.get(id);
    const slot = index === undefined ? undefined : this.slots[index];
    if (slot === undefined) throw dpdkError('EINVAL', op, `lcore id ${id} is not in allocator '${this.name}' (ids: ${this.ids.join(',')})`);
    return slot;
  }

  private owner(s: StaticSlot): OwnedSlot {
    return this.owners[s.index] as OwnedSlot;
  }

  private at(s: StaticSlot, field: keyof typeof SLOT): number {
    return allocatorZone.slotOffset(s.index) + SLOT[field];
  }

  /** Records when the owner of generation `g` got the id (only the process that made the change writes this). */
  private recordSince(s: StaticSlot, g: number): void {
    this.mz.store64(this.at(s, 'sinceMs'), BigInt(Date.now()));
    this.mz.store32(this.at(s, 'metaGen'), g);
  }

  private lease(s: StaticSlot, generation: number, ownerPid: number): Lease {
    return new Lease(this, s.id, generation, ownerPid, s.role, s.socket);
  }

  /**
   * Plain reads through the zone's view: a snapshot only orders candidates,
   * and every decision taken from it is re-checked by a compare-exchange.
   */
  private snapshot(): Array<SlotState & { generation: number }> {
    return this.slots.map((s) => {
      const o = this.owner(s).read();
      return { index: s.index, id: s.id, socket: s.socket, role: s.role, free: o.pid === 0, generation: o.generation, lastClaim: this.zone.slot(s.index).lastClaim };
    });
  }

  /**
   * Lock-free: a lost compare-exchange means another process changed that
   * slot, so the loop ends once no eligible slot looks free.
   */
  private tryClaim(owner: number, stamp: number, request: PickRequest): Lease | null {
    const mz = this.mz;
    for (;;) {
      const tick = mz.load32(FIELD.claimTick);
      const snap = this.snapshot();
      const order = rankCandidates(snap, request, tick, owner);
      if (order.length === 0) return null;
      for (const index of order) {
        const seen = snap[index];
        const s = this.slots[index];
        if (seen === undefined || s === undefined) continue;
        if (!this.owner(s).transition(seen.generation, 0, owner, stamp)) {
          this.lostRaceCount++;
          continue;
        }
        const g = nextGeneration(seen.generation);
        // 0 means "never claimed" to the policy, so a wrapped counter skips it.
        const claimTick = (mz.add32(FIELD.claimTick, 1) + 1) >>> 0 || 1;
        mz.store32(this.at(s, 'lastClaim'), claimTick);
        mz.add32(this.at(s, 'claimCount'), 1);
        this.recordSince(s, g);
        mz.add64(FIELD.claims, 1n);
        return this.lease(s, g, owner);
      }
    }
  }

  /**
   * Leases a free id. Tries candidates in the order of the pure policy
   * (role, socket, least recently claimed); when none is free it reclaims ids
   * of dead owners (unless told not to) and tries once more, then throws
   * 'ENOSPC'.
   */
  acquire(options: AcquireOptions = {}): Lease {
    this.live('acquire');
    const o = validate(acquireSchema, options, 'acquire', 'options');
    const owner = o.owner ?? process.pid;
    const stamp = startStampOf(owner, 'acquire');
    const request: PickRequest = { socket: o.socket, role: o.role };
    const first = this.tryClaim(owner, stamp, request);
    if (first !== null) return first;
    if (o.reclaimDead) {
      this.reclaimDead();
      const second = this.tryClaim(owner, stamp, request);
      if (second !== null) return second;
    }
    throw dpdkError('ENOSPC', 'acquire', exhaustionMessage(this.name, request, this.slots.length, this.leases()));
  }

  /**
   * Frees the id of `lease` if the slot still holds exactly that lease
   * (generation and owner): a late release after a reclaim or a transfer
   * does nothing. Returns whether this call freed it.
   */
  release(lease: LeaseRef): boolean {
    this.live('release');
    const ref = validate(leaseRefSchema, { id: lease.id, generation: lease.generation, ownerPid: lease.ownerPid }, 'release', 'lease');
    const s = this.slotFor(ref.id, 'release');
    if (!this.owner(s).release({ generation: ref.generation, pid: ref.ownerPid })) return false;
    this.mz.add64(FIELD.releases, 1n);
    return true;
  }

  /** Whether the slot still holds exactly this lease. */
  holds(lease: LeaseRef): boolean {
    this.live('holds');
    const o = this.owner(this.slotFor(lease.id, 'holds')).read();
    return o.generation === lease.generation && o.pid === lease.ownerPid;
  }

  /**
   * Hands a lease to another process, typically from a parent that leased an
   * id before spawning a child to the child once it has a pid. Until then the
   * parent owns it, so a crash of either side leaves nothing that
   * reclaimDead() cannot free. Returns the new owner's lease; the old one is
   * no longer held. 'ESRCH' if `newPid` is not running, 'ENOENT' if `lease`
   * is no longer held.
   */
  transfer(lease: LeaseRef, newPid: number): Lease {
    this.live('transfer');
    const ref = validate(leaseRefSchema, { id: lease.id, generation: lease.generation, ownerPid: lease.ownerPid }, 'transfer', 'lease');
    const pid = validate(pidSchema, newPid, 'transfer', 'new owner pid');
    const stamp = startStampOf(pid, 'transfer');
    const s = this.slotFor(ref.id, 'transfer');
    if (!this.owner(s).transition(ref.generation, ref.ownerPid, pid, stamp)) {
      const o = this.owner(s).read();
      throw dpdkError(
        'ENOENT',
        'transfer',
        `lease of lcore id ${ref.id} generation ${ref.generation} (pid ${ref.ownerPid}) is no longer held: ` +
          `the slot is at generation ${o.generation}, ${o.pid === 0 ? 'free' : `owned by pid ${o.pid}`}; acquire a new lease`,
      );
    }
    const g = nextGeneration(ref.generation);
    this.recordSince(s, g);
    this.mz.add64(FIELD.transfers, 1n);
    return this.lease(s, g, pid);
  }

  /**
   * Frees every lease whose owner is gone: no such pid, a zombie, or a pid
   * now used by a process that started at another time. Safe to run from
   * any process at any time: each free is a compare-exchange on the exact
   * lease that was found dead. Returns what it freed.
   */
  reclaimDead(): LeaseRef[] {
    this.live('reclaimDead');
    const freed: LeaseRef[] = [];
    for (const s of this.slots) {
      const dead = this.owner(s).reclaimIfDead();
      if (dead === null) continue;
      this.mz.add32(this.at(s, 'reclaimCount'), 1);
      this.mz.add64(FIELD.reclaims, 1n);
      freed.push({ id: s.id, generation: dead.generation, ownerPid: dead.pid });
    }
    return freed;
  }

  /** Every current lease with its owner and whether that owner still runs. */
  leases(): LeaseInfo[] {
    this.live('leases');
    const out: LeaseInfo[] = [];
    for (const s of this.slots) {
      const o = this.owner(s).read();
      if (o.pid === 0) continue;
      const since = this.mz.load32(this.at(s, 'metaGen')) === o.generation ? Number(this.mz.load64(this.at(s, 'sinceMs'))) : null;
      out.push({ id: s.id, generation: o.generation, ownerPid: o.pid, alive: this.owner(s).holderAlive(o), since, role: s.role, socket: s.socket });
    }
    return out;
  }

  /** The leases `pid` holds now (a child finds the lease its parent transferred to it). */
  leasesOf(pid: number = process.pid): Lease[] {
    this.live('leasesOf');
    const owner = validate(pidSchema, pid, 'leasesOf', 'pid');
    const out: Lease[] = [];
    for (const s of this.slots) {
      const o = this.owner(s).read();
      if (o.pid === owner) out.push(this.lease(s, o.generation, owner));
    }
    return out;
  }

  /** Free ids: all of them, or those `request` could lease (role and socket as in acquire). */
  freeCount(request?: PickRequest): number {
    this.live('freeCount');
    const snap = this.snapshot();
    if (request === undefined) return snap.filter((s) => s.free).length;
    const r = validate(acquireSchema.pick({ socket: true, role: true }), request, 'freeCount', 'request');
    return rankCandidates(snap, r, 0, 0).length;
  }

  /** Claims of each id so far (generation bookkeeping for audits and tests). */
  slotCounters(): Array<{ id: number; generation: number; claims: number; reclaims: number; free: boolean }> {
    this.live('slotCounters');
    return this.slots.map((s) => {
      const o = this.owner(s).read();
      return { id: s.id, generation: o.generation, claims: this.mz.load32(this.at(s, 'claimCount')), reclaims: this.mz.load32(this.at(s, 'reclaimCount')), free: o.pid === 0 };
    });
  }

  stats(): AllocatorStats {
    this.live('stats');
    return {
      ids: this.slots.length,
      free: this.freeCount(),
      claims: this.mz.load64(FIELD.claims),
      releases: this.mz.load64(FIELD.releases),
      reclaims: this.mz.load64(FIELD.reclaims),
      transfers: this.mz.load64(FIELD.transfers),
    };
  }

  /**
   * Stops using the allocator in this process (idempotent). The memzone and
   * the leases in it stay: other processes and held leases are unaffected.
   */
  close(): void {
    this.closedFlag = true;
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** Frees the memzone (creator only, once no process uses it any more). */
  free(): void {
    if (!this.mz.created) {
      throw dpdkError('EPERM', 'free', `lcore allocator '${this.name}' was created by another process; only its creator frees it (use close())`);
    }
    this.closedFlag = true;
    this.mz.free();
  }
}

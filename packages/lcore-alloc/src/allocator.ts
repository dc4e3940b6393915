/**
 * The cross-process lcore-id allocator: a table of slots in a named memzone,
 * each claimed and freed by one compare-exchange on a word that packs the
 * slot's generation and owner pid. See layout.ts for the bytes and README.md
 * for the guarantees.
 */
import {
  dpdkError,
  lcores,
  lookupMemzone,
  memzoneNameSchema,
  processType,
  reserveMemzone,
  validate,
  type Memzone,
} from '@mp/dpdk-core';
import { z } from 'zod';
import { defaultLeaseIds, lcoreEalArgs, lcoreIdSchema, type CpuSet } from './eal-args';
import {
  HEADER,
  HEADER_BYTES,
  LAYOUT_VERSION,
  MAGIC,
  MAX_SLOTS,
  ROLE_MAX,
  ROLE_NAME_BYTES,
  SLOT,
  SLOT_BYTES,
  layoutHash,
  nextGeneration,
  packLeaseWord,
  slotOffset,
  unpackLeaseWord,
  zoneBytes,
} from './layout';
import { exhaustionMessage, rankCandidates, type PickRequest, type SlotState } from './policy';
import { ownerAlive, readProcStat, startStamp } from './proc';

export const DEFAULT_ALLOCATOR_NAME = 'mp_lcore_alloc';

/** PID_MAX_LIMIT on 64-bit Linux. */
const PID_MAX = 4 * 1024 * 1024;

const roleName = z
  .string()
  .max(ROLE_NAME_BYTES - 1, `a role name has at most ${ROLE_NAME_BYTES - 1} characters`)
  .regex(/^[\x21-\x7e]*$/, 'use printable ASCII without spaces for role names');
const socketId = z.number().int().min(-1).max(63);
const pidSchema = z.number().int().min(1).max(PID_MAX, `a pid is 1..${PID_MAX}`);

const idSpec = z.union([lcoreIdSchema, z.object({ id: lcoreIdSchema, role: roleName.optional(), socket: socketId.optional() }).strict()]);

const createSchema = z
  .object({
    name: memzoneNameSchema.default(DEFAULT_ALLOCATOR_NAME),
    /**
     * Ids to lease, each optionally tagged with a role and a NUMA socket.
     * Default: every id below RTE_MAX_LCORE that is not an EAL lcore of the
     * creating process and not in `reserved`.
     */
    ids: z.array(idSpec).nonempty('give at least one id').max(MAX_SLOTS).optional(),
    /** Ids never to lease, e.g. the -l ids of pinned secondaries. */
    reserved: z.array(lcoreIdSchema).default([]),
    /** NUMA socket for the memzone itself. */
    socket: socketId.default(-1),
  })
  .strict();

export type CreateOptions = z.input<typeof createSchema>;

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

/** What identifies one lease: a slot's id, the generation it was given at, and its owner. */
export interface LeaseRef {
  readonly id: number;
  readonly generation: number;
  readonly ownerPid: number;
}

export interface LeaseInfo extends LeaseRef {
  /** Whether the owner still runs (and is the process that took the lease). */
  alive: boolean;
  /** When the owner got the id (ms since the Unix epoch); null while the claimer is still recording it. */
  since: number | null;
  role: string;
  socket: number;
}

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

/** Refuses a memzone that is not an initialised allocator of this layout. */
function verifyLayout(zone: Memzone): void {
  const op = 'openLcoreAllocator';
  const name = zone.name;
  const refuse = (why: string) =>
    dpdkError('E_LAYOUT', op, `memzone '${name}' ${why}; every process must use the same @mp/lcore-alloc version`);
  if (zone.length < HEADER_BYTES) throw refuse(`has ${zone.length} bytes, too small to be an lcore allocator`);
  const magic = zone.load32(HEADER.magic);
  if (magic === 0) {
    throw dpdkError('EAGAIN', op, `lcore allocator '${name}' is not initialised yet (its creator is still writing it, or died doing so); retry shortly`);
  }
  if (magic !== MAGIC) throw refuse(`is not an lcore allocator (magic 0x${magic.toString(16)})`);
  const version = zone.load32(HEADER.version);
  const hash = zone.load32(HEADER.layoutHash);
  if (version !== LAYOUT_VERSION || hash !== layoutHash()) {
    throw refuse(
      `has layout version ${version} hash 0x${hash.toString(16)}, this process expects version ${LAYOUT_VERSION} hash 0x${layoutHash().toString(16)}`,
    );
  }
  const count = zone.load32(HEADER.slotCount);
  if (count === 0 || count > MAX_SLOTS || zone.length < zoneBytes(count)) throw refuse(`claims ${count} slots in ${zone.length} bytes`);
}

/** A leased lcore id. Holding it means no other live lease has this id. */
export class Lease implements LeaseRef {
  constructor(
    private readonly allocator: LcoreAllocator,
    readonly id: number,
    readonly generation: number,
    readonly ownerPid: number,
    readonly role: string,
    readonly socket: number,
  ) {}

  /**
   * Frees the id if this lease still holds it. Idempotent: false when it was
   * already released, reclaimed from a dead owner or transferred.
   */
  release(): boolean {
    return this.allocator.release(this);
  }

  /** Whether the slot still holds this exact lease (same generation and owner). */
  get held(): boolean {
    return this.allocator.holds(this);
  }

  /** `['--lcores=<id>@(<cpus>)']` for the process that will run with this id. */
  ealArgs(cpus: CpuSet): string[] {
    return lcoreEalArgs(this.id, cpus);
  }

  toJSON(): LeaseRef & { role: string; socket: number } {
    return { id: this.id, generation: this.generation, ownerPid: this.ownerPid, role: this.role, socket: this.socket };
  }
}

function decodeName(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return Buffer.from(bytes.subarray(0, end < 0 ? bytes.length : end)).toString('latin1');
}

/** This process's start stamp never changes; reading /proc once is enough. */
let selfStamp: number | undefined;

function startOf(pid: number, op: string): number {
  if (pid === process.pid && selfStamp !== undefined) return selfStamp;
  const stat = readProcStat(pid);
  if (stat === null || stat.state === 'Z' || stat.state === 'X') {
    throw dpdkError('ESRCH', op, `process ${pid} is not running, so it cannot own a lease`);
  }
  const stamp = startStamp(stat.startTicks);
  if (pid === process.pid) selfStamp = stamp;
  return stamp;
}

export class LcoreAllocator {
  private closedFlag = false;
  private lostRaceCount = 0;
  private readonly slots: readonly StaticSlot[];
  private readonly indexById: ReadonlyMap<number, number>;

  /** Usually through createLcoreAllocator() or openLcoreAllocator(); checks the zone's layout first. */
  constructor(private readonly zone: Memzone) {
    verifyLayout(zone);
    const count = zone.load32(HEADER.slotCount);
    const roleCount = zone.load32(HEADER.roleCount);
    const bytes = new Uint8Array(zone.view());
    const roles: string[] = [];
    for (let r = 0; r < roleCount; r++) {
      const at = HEADER.roles + r * ROLE_NAME_BYTES;
      roles.push(decodeName(bytes.subarray(at, at + ROLE_NAME_BYTES)));
    }
    const slots: StaticSlot[] = [];
    for (let i = 0; i < count; i++) {
      const at = slotOffset(i);
      slots.push({
        index: i,
        id: zone.load32(at + SLOT.id),
        socket: zone.load32(at + SLOT.socket) | 0,
        role: roles[zone.load32(at + SLOT.role)] ?? '',
      });
    }
    this.slots = slots;
    this.indexById = new Map(slots.map((s) => [s.id, s.index]));
  }

  get name(): string {
    return this.zone.name;
  }

  /** Whether this process reserved the memzone (only the creator may free() it). */
  get created(): boolean {
    return this.zone.created;
  }

  /** Claims this process lost to another acquirer and retried elsewhere (process-local). */
  get lostRaces(): number {
    return this.lostRaceCount;
  }

  /** The ids in the pool, in slot order. */
  get ids(): number[] {
    return this.slots.map((s) => s.id);
  }

  private live(op: string): Memzone {
    if (this.closedFlag) throw dpdkError('E_CLOSED', op, `lcore allocator '${this.name}' is closed; open it again`);
    return this.zone;
  }

  private slotFor(id: number, op: string): StaticSlot {
    const index = this.indexById.get(id);
    const slot = index === undefined ? undefined : this.slots[index];
    if (slot === undefined) throw dpdkError('EINVAL', op, `lcore id ${id} is not in allocator '${this.name}' (ids: ${this.ids.join(',')})`);
    return slot;
  }

  private word(zone: Memzone, s: StaticSlot): { generation: number; ownerPid: number } {
    return unpackLeaseWord(zone.load64(slotOffset(s.index) + SLOT.leaseWord));
  }

  /** The start stamp recorded for generation `g`, or null if the slot's stamp belongs to another generation. */
  private recordedStamp(zone: Memzone, s: StaticSlot, g: number): number | null {
    const stamp = zone.load64(slotOffset(s.index) + SLOT.ownerStamp);
    return Number(stamp >> 32n) === g ? Number(stamp & 0xffffffffn) : null;
  }

  /** One CAS from (g, from) to (g+1, to); true if this call made the transition. */
  private transition(zone: Memzone, s: StaticSlot, g: number, from: number, to: number): boolean {
    const expected = packLeaseWord(g, from);
    return zone.compareExchange64(slotOffset(s.index) + SLOT.leaseWord, expected, packLeaseWord(nextGeneration(g), to)) === expected;
  }

  /** Records who now owns generation `g` of slot `s` (only the process that made the transition writes this). */
  private recordOwner(zone: Memzone, s: StaticSlot, g: number, stamp: number): void {
    const at = slotOffset(s.index);
    zone.store64(at + SLOT.ownerStamp, (BigInt(g) << 32n) | BigInt(stamp));
    zone.store64(at + SLOT.sinceMs, BigInt(Date.now()));
    zone.store32(at + SLOT.metaGen, g);
  }

  private lease(s: StaticSlot, generation: number, ownerPid: number): Lease {
    return new Lease(this, s.id, generation, ownerPid, s.role, s.socket);
  }

  /**
   * Plain reads through the zone's view: a snapshot only orders candidates,
   * and every decision taken from it is re-checked by a compare-exchange.
   */
  private snapshot(zone: Memzone): Array<SlotState & { generation: number }> {
    const buffer = zone.view();
    const words = new BigUint64Array(buffer, HEADER_BYTES, (this.slots.length * SLOT_BYTES) / 8);
    const u32 = new Uint32Array(buffer, HEADER_BYTES, (this.slots.length * SLOT_BYTES) / 4);
    const out: Array<SlotState & { generation: number }> = new Array(this.slots.length);
    for (const s of this.slots) {
      const w = unpackLeaseWord(words[(s.index * SLOT_BYTES + SLOT.leaseWord) / 8] as bigint);
      out[s.index] = {
        index: s.index,
        id: s.id,
        socket: s.socket,
        role: s.role,
        free: w.ownerPid === 0,
        generation: w.generation,
        lastClaim: u32[(s.index * SLOT_BYTES + SLOT.lastClaim) / 4] as number,
      };
    }
    return out;
  }

  /**
   * Lock-free: a lost compare-exchange means another process changed that
   * slot, so the loop ends once no eligible slot looks free.
   */
  private tryClaim(zone: Memzone, owner: number, stamp: number, request: PickRequest): Lease | null {
    for (;;) {
      const tick = zone.load32(HEADER.claimTick);
      const snap = this.snapshot(zone);
      const order = rankCandidates(snap, request, tick, owner);
      if (order.length === 0) return null;
      for (const index of order) {
        const seen = snap[index];
        const s = this.slots[index];
        if (seen === undefined || s === undefined) continue;
        if (!this.transition(zone, s, seen.generation, 0, owner)) {
          this.lostRaceCount++;
          continue;
        }
        const g = nextGeneration(seen.generation);
        // 0 means "never claimed" to the policy, so a wrapped counter skips it.
        const claimTick = (zone.add32(HEADER.claimTick, 1) + 1) >>> 0 || 1;
        zone.store32(slotOffset(index) + SLOT.lastClaim, claimTick);
        zone.add32(slotOffset(index) + SLOT.claimCount, 1);
        this.recordOwner(zone, s, g, stamp);
        zone.add64(HEADER.claims, 1n);
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
    const zone = this.live('acquire');
    const o = validate(acquireSchema, options, 'acquire', 'options');
    const owner = o.owner ?? process.pid;
    const stamp = startOf(owner, 'acquire');
    const request: PickRequest = { socket: o.socket, role: o.role };
    const first = this.tryClaim(zone, owner, stamp, request);
    if (first !== null) return first;
    if (o.reclaimDead) {
      this.reclaimDead();
      const second = this.tryClaim(zone, owner, stamp, request);
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
    const zone = this.live('release');
    const ref = validate(leaseRefSchema, { id: lease.id, generation: lease.generation, ownerPid: lease.ownerPid }, 'release', 'lease');
    const s = this.slotFor(ref.id, 'release');
    if (!this.transition(zone, s, ref.generation, ref.ownerPid, 0)) return false;
    zone.add64(HEADER.releases, 1n);
    return true;
  }

  /** Whether the slot still holds exactly this lease. */
  holds(lease: LeaseRef): boolean {
    const zone = this.live('holds');
    const s = this.slotFor(lease.id, 'holds');
    const w = this.word(zone, s);
    return w.generation === lease.generation && w.ownerPid === lease.ownerPid;
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
    const zone = this.live('transfer');
    const ref = validate(leaseRefSchema, { id: lease.id, generation: lease.generation, ownerPid: lease.ownerPid }, 'transfer', 'lease');
    const pid = validate(pidSchema, newPid, 'transfer', 'new owner pid');
    const stamp = startOf(pid, 'transfer');
    const s = this.slotFor(ref.id, 'transfer');
    if (!this.transition(zone, s, ref.generation, ref.ownerPid, pid)) {
      const w = this.word(zone, s);
      throw dpdkError(
        'ENOENT',
        'transfer',
        `lease of lcore id ${ref.id} generation ${ref.generation} (pid ${ref.ownerPid}) is no longer held: ` +
          `the slot is at generation ${w.generation}, ${w.ownerPid === 0 ? 'free' : `owned by pid ${w.ownerPid}`}; acquire a new lease`,
      );
    }
    const g = nextGeneration(ref.generation);
    this.recordOwner(zone, s, g, stamp);
    zone.add64(HEADER.transfers, 1n);
    return this.lease(s, g, pid);
  }

  /**
   * Frees every lease whose owner is gone: no such pid, a zombie, or a pid
   * now used by a process that started at another time. Safe to run from
   * any process at any time: each free is a compare-exchange on the exact
   * lease that was found dead. Returns what it freed.
   */
  reclaimDead(): LeaseRef[] {
    const zone = this.live('reclaimDead');
    const freed: LeaseRef[] = [];
    for (const s of this.slots) {
      const w = this.word(zone, s);
      if (w.ownerPid === 0) continue;
      if (ownerAlive(w.ownerPid, this.recordedStamp(zone, s, w.generation))) continue;
      if (!this.transition(zone, s, w.generation, w.ownerPid, 0)) continue;
      zone.add32(slotOffset(s.index) + SLOT.reclaimCount, 1);
      zone.add64(HEADER.reclaims, 1n);
      freed.push({ id: s.id, generation: w.generation, ownerPid: w.ownerPid });
    }
    return freed;
  }

  /** Every current lease with its owner and whether that owner still runs. */
  leases(): LeaseInfo[] {
    const zone = this.live('leases');
    const out: LeaseInfo[] = [];
    for (const s of this.slots) {
      const w = this.word(zone, s);
      if (w.ownerPid === 0) continue;
      const at = slotOffset(s.index);
      const since = zone.load32(at + SLOT.metaGen) === w.generation ? Number(zone.load64(at + SLOT.sinceMs)) : null;
      out.push({
        id: s.id,
        generation: w.generation,
        ownerPid: w.ownerPid,
        alive: ownerAlive(w.ownerPid, this.recordedStamp(zone, s, w.generation)),
        since,
        role: s.role,
        socket: s.socket,
      });
    }
    return out;
  }

  /** The leases `pid` holds now (a child finds the lease its parent transferred to it). */
  leasesOf(pid: number = process.pid): Lease[] {
    const zone = this.live('leasesOf');
    const owner = validate(pidSchema, pid, 'leasesOf', 'pid');
    const out: Lease[] = [];
    for (const s of this.slots) {
      const w = this.word(zone, s);
      if (w.ownerPid === owner) out.push(this.lease(s, w.generation, owner));
    }
    return out;
  }

  /** Free ids: all of them, or those `request` could lease (role and socket as in acquire). */
  freeCount(request?: PickRequest): number {
    const zone = this.live('freeCount');
    const snap = this.snapshot(zone);
    if (request === undefined) return snap.filter((s) => s.free).length;
    const r = validate(acquireSchema.pick({ socket: true, role: true }), request, 'freeCount', 'request');
    return rankCandidates(snap, r, 0, 0).length;
  }

  /** Claims of each id so far (generation bookkeeping for audits and tests). */
  slotCounters(): Array<{ id: number; generation: number; claims: number; reclaims: number; free: boolean }> {
    const zone = this.live('slotCounters');
    return this.slots.map((s) => {
      const w = this.word(zone, s);
      const at = slotOffset(s.index);
      return {
        id: s.id,
        generation: w.generation,
        claims: zone.load32(at + SLOT.claimCount),
        reclaims: zone.load32(at + SLOT.reclaimCount),
        free: w.ownerPid === 0,
      };
    });
  }

  stats(): AllocatorStats {
    const zone = this.live('stats');
    return {
      ids: this.slots.length,
      free: this.freeCount(),
      claims: zone.load64(HEADER.claims),
      releases: zone.load64(HEADER.releases),
      reclaims: zone.load64(HEADER.reclaims),
      transfers: zone.load64(HEADER.transfers),
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
    if (!this.zone.created) {
      throw dpdkError('EPERM', 'free', `lcore allocator '${this.name}' was created by another process; only its creator frees it (use close())`);
    }
    this.closedFlag = true;
    this.zone.free();
  }
}

/**
 * Creates the allocator's memzone (in the primary) over the given ids or the
 * default set. 'E_RTE_SECONDARY' from a secondary: the zone must outlive
 * secondaries, and a default id set is only right against the primary's
 * lcores.
 */
export function createLcoreAllocator(options: CreateOptions = {}): LcoreAllocator {
  const o = validate(createSchema, options, 'createLcoreAllocator', 'options');
  if (processType() !== 'primary') {
    throw dpdkError(
      'E_RTE_SECONDARY',
      'createLcoreAllocator',
      'only the primary creates the lcore allocator (it must outlive secondaries); secondaries use openLcoreAllocator()',
    );
  }
  const eal = lcores().map((l) => l.id);
  const specs = (o.ids ?? defaultLeaseIds(eal, o.reserved)).map((spec) =>
    typeof spec === 'number' ? { id: spec, role: '', socket: -1 } : { id: spec.id, role: spec.role ?? '', socket: spec.socket ?? -1 },
  );
  const seen = new Set<number>();
  for (const s of specs) {
    const why = seen.has(s.id)
      ? 'is listed twice'
      : o.reserved.includes(s.id)
        ? 'is also in reserved'
        : eal.includes(s.id)
          ? 'is an EAL lcore of this process (its -l/--lcores), so a floating process would share it'
          : null;
    if (why !== null) throw dpdkError('EINVAL', 'createLcoreAllocator', `lcore id ${s.id} ${why}; leave it out of ids`);
    seen.add(s.id);
  }
  const roles = ['', ...new Set(specs.map((s) => s.role).filter((r) => r !== ''))];
  if (roles.length > ROLE_MAX) {
    throw dpdkError('EINVAL', 'createLcoreAllocator', `at most ${ROLE_MAX - 1} distinct roles fit in the allocator (got ${roles.length - 1})`);
  }
  const zone = reserveMemzone(o.name, { length: zoneBytes(specs.length), socket: o.socket });
  const bytes = new Uint8Array(zone.view());
  roles.forEach((r, i) => bytes.set(Buffer.from(r, 'latin1'), HEADER.roles + i * ROLE_NAME_BYTES));
  specs.forEach((s, i) => {
    const at = slotOffset(i);
    zone.store32(at + SLOT.id, s.id);
    zone.store32(at + SLOT.socket, s.socket >>> 0);
    zone.store32(at + SLOT.role, roles.indexOf(s.role));
  });
  zone.store32(HEADER.slotCount, specs.length);
  zone.store32(HEADER.roleCount, roles.length);
  zone.store32(HEADER.version, LAYOUT_VERSION);
  zone.store32(HEADER.layoutHash, layoutHash());
  zone.store32(HEADER.magic, MAGIC);
  return new LcoreAllocator(zone);
}

/** Opens an allocator another process created, refusing a zone of another layout. */
export function openLcoreAllocator(name: string = DEFAULT_ALLOCATOR_NAME): LcoreAllocator {
  return new LcoreAllocator(lookupMemzone(validate(memzoneNameSchema, name, 'openLcoreAllocator', 'allocator name')));
}

/**
 * Declared zones: every memzone the project shares (except the C samples'
 * own structs, see shared-struct.ts) is declared once as typed structs, a
 * fixed part and optionally a table of slots, and starts with one header that
 * every process checks before it trusts the bytes:
 *
 *   @0   u32 magic       the kind of zone; written last by the creator, so a
 *                        nonzero magic means the rest is initialised
 *   @4   u32 version     the declaration's version, bumped for a change of meaning
 *   @8   u32 layoutHash  layoutHash() of the declaration: any change of a
 *                        field, type, offset or size changes it
 *   @12  u32 slotCount   slots in this zone's table (0 without one)
 *   @64  the fixed part, then the slots, each aligned to a cache line
 *
 * A zone that fails the check is refused with one error, 'E_LAYOUT'
 * ('EAGAIN' while its creator is still writing it).
 */
import { dpdkError, lookupMemzone, memzoneNameSchema, reserveMemzone, validate, type Memzone } from '@mp/dpdk-core';
import { CACHE_LINE, describeLayout, layoutHash, offsetOf, t, type StructType, type ViewOf } from './struct-layout';
import { viewOf } from './struct-view';

const zoneHeader = t.struct({ magic: t.u32, version: t.u32, layoutHash: t.u32, slotCount: t.u32 }, { align: CACHE_LINE });

/** Byte offsets of the header's words, for tools and tests that look at a zone's header. */
export const ZONE_HEADER = zoneHeader.offsets;

const roundUp = (n: number): number => Math.ceil(n / CACHE_LINE) * CACHE_LINE;

export interface ZoneDeclaration<F extends StructType, S extends StructType | null> {
  /** What the zone is, for messages ("lcore allocator"). */
  readonly kind: string;
  /** A nonzero word that tells this kind of zone from any other. */
  readonly magic: number;
  readonly version: number;
  /** The zone's fixed part. */
  readonly fields: F;
  /** One slot of the zone's table, or null for a zone without one. */
  readonly slot: S;
  /** The most slots a zone of this kind holds. */
  readonly maxSlots: number;
}

export interface ZoneLayout<F extends StructType = StructType, S extends StructType | null = StructType | null> extends ZoneDeclaration<F, S> {
  readonly hash: number;
  /** Where the fixed part starts. */
  readonly fieldsOffset: number;
  /** Where slot 0 starts. */
  readonly slotsOffset: number;
  /** Bytes between consecutive slots (the slot's size, rounded up to a cache line). */
  readonly slotStride: number;
  /** Bytes of a zone with `slotCount` slots. */
  bytes(slotCount: number): number;
  /** Where slot `index` starts. */
  slotOffset(index: number): number;
}

/** Declares a kind of zone; its hash covers the fixed part, the slot and the table's size. */
export function declareZone<F extends StructType, S extends StructType | null = null>(d: {
  kind: string;
  magic: number;
  version: number;
  fields: F;
  slot?: S;
  maxSlots?: number;
}): ZoneLayout<F, S> {
  const slot = (d.slot ?? null) as S;
  const maxSlots = slot === null ? 0 : (d.maxSlots ?? 1);
  const fieldsOffset = zoneHeader.size;
  const slotsOffset = roundUp(fieldsOffset + d.fields.size);
  const slotStride = slot === null ? 0 : roundUp(slot.size);
  const text = `${d.kind}:${describeLayout(d.fields)}|${slot === null ? '-' : describeLayout(slot)}|${maxSlots}`;
  return Object.freeze({
    kind: d.kind,
    magic: d.magic,
    version: d.version,
    fields: d.fields,
    slot,
    maxSlots,
    hash: layoutHash(text),
    fieldsOffset,
    slotsOffset,
    slotStride,
    bytes: (slotCount: number) => slotsOffset + slotCount * slotStride,
    slotOffset: (index: number) => slotsOffset + index * slotStride,
  });
}

/** A zone checked against its declaration, with typed accessors over it. */
export class SharedZone<F extends StructType = StructType, S extends StructType | null = StructType | null> {
  /** The fixed part, read and written in place. */
  readonly fields: ViewOf<F>;
  readonly slotCount: number;
  private slotViews: Array<ViewOf<NonNullable<S>> | undefined> = [];

  constructor(
    readonly memzone: Memzone,
    readonly layout: ZoneLayout<F, S>,
  ) {
    this.slotCount = memzone.load32(ZONE_HEADER.slotCount);
    this.fields = viewOf(layout.fields, memzone.view(), layout.fieldsOffset);
  }

  get name(): string {
    return this.memzone.name;
  }

  /** Slot `index`'s fields, read and written in place. */
  slot(index: number): ViewOf<NonNullable<S>> {
    const slot = this.layout.slot;
    if (slot === null || !Number.isInteger(index) || index < 0 || index >= this.slotCount) {
      throw dpdkError('EINVAL', 'slot', `${this.layout.kind} '${this.name}' has no slot ${index} (it has ${this.slotCount})`);
    }
    let view = this.slotViews[index];
    if (view === undefined) {
      view = viewOf(slot, this.memzone.view(), this.layout.slotOffset(index)) as ViewOf<NonNullable<S>>;
      this.slotViews[index] = view;
    }
    return view;
  }

  /** The byte offset of a member of the fixed part (`['roles', 3]`), for native atomics. */
  fieldOffset(path: ReadonlyArray<string | number>): number {
    return this.layout.fieldsOffset + offsetOf(this.layout.fields, path);
  }

  /** The byte offset of a member of slot `index`, for native atomics. */
  slotFieldOffset(index: number, path: ReadonlyArray<string | number>): number {
    const slot = this.layout.slot;
    if (slot === null) throw dpdkError('EINVAL', 'slotFieldOffset', `${this.layout.kind} '${this.name}' has no slots`);
    return this.layout.slotOffset(index) + offsetOf(slot, path);
  }

  /** Frees the memzone if this process reserved it, else drops this process's handle. Idempotent. */
  release(): void {
    if (this.memzone.closed) return;
    if (this.memzone.created) this.memzone.free();
    else this.memzone.close();
  }
}

/**
 * Reserves a zone and initialises it: `init` writes the fixed part and the
 * slots, then the header is written, the magic last.
 */
export function createZone<F extends StructType, S extends StructType | null>(
  name: string,
  layout: ZoneLayout<F, S>,
  opts: { slots?: number; socket?: number; init?: (zone: SharedZone<F, S>) => void } = {},
): SharedZone<F, S> {
  const n = validate(memzoneNameSchema, name, 'createZone', `${layout.kind} name`);
  const slots = opts.slots ?? 0;
  if (!Number.isInteger(slots) || slots < 0 || slots > layout.maxSlots || (layout.slot !== null && slots === 0)) {
    throw dpdkError('EINVAL', 'createZone', `a ${layout.kind} holds 1..${layout.maxSlots} slots (asked for ${slots})`);
  }
  const mz = reserveMemzone(n, { length: layout.bytes(slots), align: CACHE_LINE, ...(opts.socket === undefined ? {} : { socket: opts.socket }) });
  mz.store32(ZONE_HEADER.slotCount, slots);
  const zone = new SharedZone(mz, layout);
  opts.init?.(zone);
  mz.store32(ZONE_HEADER.version, layout.version);
  mz.store32(ZONE_HEADER.layoutHash, layout.hash);
  mz.store32(ZONE_HEADER.magic, layout.magic);
  return zone;
}

/** Checks a memzone's header against a declaration; throws E_LAYOUT (EAGAIN: not written yet). */
export function checkZone(mz: Memzone, layout: ZoneLayout): void {
  const refuse = (why: string) =>
    dpdkError('E_LAYOUT', 'openZone', `memzone '${mz.name}' ${why}; every process must be built from the same declaration of a ${layout.kind}`);
  if (mz.length < layout.bytes(0)) throw refuse(`has ${mz.length} bytes, too small to be a ${layout.kind}`);
  const magic = mz.load32(ZONE_HEADER.magic);
  if (magic === 0) {
    throw dpdkError('EAGAIN', 'openZone', `${layout.kind} '${mz.name}' is not initialised yet (its creator is still writing it, or died doing so); retry shortly`);
  }
  if (magic !== layout.magic) throw refuse(`is not a ${layout.kind} (magic 0x${magic.toString(16)})`);
  const version = mz.load32(ZONE_HEADER.version);
  const hash = mz.load32(ZONE_HEADER.layoutHash);
  if (version !== layout.version || hash !== layout.hash) {
    throw refuse(
      `has layout version ${version} hash 0x${hash.toString(16)}, this process expects version ${layout.version} hash 0x${layout.hash.toString(16)}`,
    );
  }
  const slots = mz.load32(ZONE_HEADER.slotCount);
  if (slots > layout.maxSlots || (layout.slot !== null && slots === 0) || mz.length < layout.bytes(slots)) {
    throw refuse(`claims ${slots} slots in ${mz.length} bytes`);
  }
}

/**
 * Looks up a zone another process created and checks it against `layout`.
 * A refused zone's handle is not closed: it is this process's one handle of
 * that memzone, which other code here may hold (cleanup() releases it).
 */
export function openZone<F extends StructType, S extends StructType | null>(name: string, layout: ZoneLayout<F, S>): SharedZone<F, S> {
  const mz = lookupMemzone(validate(memzoneNameSchema, name, 'openZone', `${layout.kind} name`));
  checkZone(mz, layout as ZoneLayout);
  return new SharedZone(mz, layout);
}

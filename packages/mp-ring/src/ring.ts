/**
 * Rings shared between processes: rings of packet buffers (moved a Burst at a
 * time) and rings of fixed-size typed messages whose layout is checked when
 * another process looks them up.
 */
import {
  createElementRing,
  createPacketRing,
  lookupElementRing,
  lookupMemzone,
  lookupPacketRing,
  reserveMemzone,
  ringModes,
  ringNameSchema,
  validate,
  DpdkError,
  dpdkError,
  type Memzone,
  type Ring,
  type RingOptions,
  type SyncMode,
} from '@mp/dpdk-core';
import { z } from 'zod';
import { decode, describeLayout, encode, layoutHash, t, tryEncode, viewOf, type StructType, type ValueOf } from './layout';

export type { RingOptions, SyncMode };

/**
 * A ring of packet buffers. Its methods are the native handle's, so a burst
 * moves in one native call with nothing in between.
 */
export type PacketRing = Omit<Ring, 'enqueueElems' | 'dequeueElems'>;

/** Creates a ring of packet buffers: `{ size, producer, consumer, exactSize?, socket? }`. */
export function createRing(name: string, opts: RingOptions): PacketRing {
  return createPacketRing(name, opts);
}

/** Where a message ring's schema lives: a memzone named after the ring (28 + 3 <= 31 characters). */
export function schemaZoneName(ringName: string): string {
  return `MR_${ringName}`;
}

const DESCRIPTION_MAX = 1024;
const MAGIC = 0x4d524731; // "MRG1"

/** The schema record a message ring's creator leaves for the processes that look it up. */
const schemaRecord = t.struct({
  magic: t.u32,
  elementSize: t.u32,
  hash: t.array(t.u8, 32),
  descriptionLength: t.u32,
  description: t.array(t.u8, DESCRIPTION_MAX),
});

interface StoredSchema {
  elementSize: number;
  hash: string;
  description: string;
}

function readSchema(mz: Memzone): StoredSchema | undefined {
  if (mz.length < schemaRecord.size) return undefined;
  const rec = viewOf(schemaRecord, mz.view());
  if (rec.magic !== MAGIC) return undefined;
  const text = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  return {
    elementSize: rec.elementSize,
    hash: text(rec.hash),
    description: text(rec.description.subarray(0, Math.min(rec.descriptionLength, DESCRIPTION_MAX))),
  };
}

function writeSchema(mz: Memzone, elementSize: number, hash: string, description: string): void {
  const rec = viewOf(schemaRecord, mz.view());
  rec.elementSize = elementSize;
  rec.hash.set(Buffer.from(hash, 'latin1'));
  const desc = Buffer.from(description.slice(0, DESCRIPTION_MAX), 'latin1');
  rec.description.set(desc);
  rec.descriptionLength = desc.length;
  // Written last: a reader that sees the magic sees the whole record.
  mz.store32(schemaRecord.offsets.magic, MAGIC);
}

function lookupSchemaZone(ringName: string): Memzone | undefined {
  try {
    return lookupMemzone(schemaZoneName(ringName));
  } catch (e) {
    if (e instanceof DpdkError && e.code === 'ENOENT') return undefined;
    throw e;
  }
}

/** rte_ring_*_elem moves elements in multiples of 4 bytes. */
export function messageSize(schema: StructType): number {
  return Math.ceil(schema.size / 4) * 4;
}

/** A ring of fixed-size messages laid out by `schema`. */
export class MessageRing<S extends StructType> {
  readonly elementSize: number;
  private scratch: Uint8Array;
  private scratchView: DataView;

  constructor(
    readonly schema: S,
    /** The underlying element ring. */
    readonly ring: Ring,
    private readonly schemaZone: Memzone,
  ) {
    this.elementSize = ring.elementSize;
    this.scratch = new Uint8Array(this.elementSize * 32);
    this.scratchView = new DataView(this.scratch.buffer);
  }

  get name(): string {
    return this.ring.name;
  }
  get capacity(): number {
    return this.ring.capacity;
  }
  get closed(): boolean {
    return this.ring.closed;
  }
  get created(): boolean {
    return this.ring.created;
  }
  get modes(): { producer: SyncMode; consumer: SyncMode; exactSize: boolean } {
    return ringModes(this.ring.flags);
  }
  count(): number {
    return this.ring.count();
  }
  freeCount(): number {
    return this.ring.freeCount();
  }
  /** Drops every queued message; returns how many. Not safe while others use the ring. */
  reset(): number {
    return this.ring.reset();
  }

  private room(n: number): void {
    if (this.scratch.byteLength >= n * this.elementSize) return;
    this.scratch = new Uint8Array(n * this.elementSize);
    this.scratchView = new DataView(this.scratch.buffer);
  }

  private pack(msgs: ReadonlyArray<ValueOf<S>>): void {
    this.room(msgs.length);
    this.scratch.fill(0, 0, msgs.length * this.elementSize);
    for (let i = 0; i < msgs.length; i++) {
      const msg = msgs[i] as ValueOf<S>;
      const at = i * this.elementSize;
      if (!tryEncode(this.schema, msg, this.scratchView, at)) encode(this.schema, msg, this.scratchView, at, `message[${i}]`);
    }
  }

  /**
   * Sends as many of the messages as fit, from the front; returns how many
   * went (the caller retries the rest). One message or an array.
   */
  send(msgs: ValueOf<S> | ReadonlyArray<ValueOf<S>>): number {
    const list = Array.isArray(msgs) ? (msgs as ReadonlyArray<ValueOf<S>>) : [msgs as ValueOf<S>];
    if (list.length === 0) return 0;
    this.pack(list);
    return this.ring.enqueueElems(this.scratch, list.length, false);
  }

  /** Sends all the messages or none; returns whether they went. */
  sendAll(msgs: ReadonlyArray<ValueOf<S>>): boolean {
    if (msgs.length === 0) return true;
    this.pack(msgs);
    return this.ring.enqueueElems(this.scratch, msgs.length, true) === msgs.length;
  }

  /** Receives up to `max` messages (copies, oldest first). */
  receive(max = 32): Array<ValueOf<S>> {
    const m = validate(maxSchema, max, 'receive', 'max');
    this.room(m);
    const n = this.ring.dequeueElems(this.scratch, m, false);
    const out: Array<ValueOf<S>> = new Array(n);
    for (let i = 0; i < n; i++) out[i] = decode(this.schema, this.scratchView, i * this.elementSize);
    return out;
  }

  /** Creator only: frees the ring and its schema record. Idempotent. */
  free(): void {
    this.ring.free();
    this.schemaZone.free();
  }

  /** Drops this process's handles; the ring stays. Idempotent. */
  close(): void {
    this.ring.close();
    this.schemaZone.close();
  }
}

// The same bound as a Burst's capacity: receive works a burst at a time.
const maxSchema = z.number().int().min(1).max(1024);

/**
 * Creates a ring of messages laid out by `schema` (a `t.struct`), and records
 * the schema's hash in the memzone `MR_<name>` so that a process looking the
 * ring up with another layout is refused.
 */
export function createMessageRing<S extends StructType>(name: string, schema: S, opts: RingOptions): MessageRing<S> {
  const n = validate(ringNameSchema, name, 'createMessageRing', 'ring name');
  const size = messageSize(schema);
  const zone = reserveMemzone(schemaZoneName(n), { length: schemaRecord.size });
  let ring: Ring;
  try {
    ring = createElementRing(n, size, opts);
  } catch (e) {
    zone.free();
    throw e;
  }
  writeSchema(zone, size, layoutHash(schema), describeLayout(schema));
  return new MessageRing(schema, ring, zone);
}

/** Looks up a ring of packet buffers. */
export function lookupRing(name: string): PacketRing;
/**
 * Looks up a message ring; 'ESCHEMA' if it was created with another schema
 * (or is not a message ring), 'ENOENT' if there is no such ring.
 */
export function lookupRing<S extends StructType>(name: string, schema: S): MessageRing<S>;
export function lookupRing<S extends StructType>(name: string, schema?: S): PacketRing | MessageRing<S> {
  const n = validate(ringNameSchema, name, 'lookupRing', 'ring name');
  const zone = lookupSchemaZone(n);
  const stored = zone ? readSchema(zone) : undefined;
  if (schema === undefined) {
    if (stored) {
      throw dpdkError(
        'ESCHEMA',
        'lookupRing',
        `ring '${n}' is a message ring of ${stored.description}, not a packet ring; look it up with its schema`,
      );
    }
    return lookupPacketRing(n);
  }
  if (!zone || !stored) {
    // Tell "no ring at all" apart from "a ring without a schema".
    lookupPacketRing(n);
    throw dpdkError('ESCHEMA', 'lookupRing', `ring '${n}' is a packet ring, not a message ring; look it up without a schema`);
  }
  const hash = layoutHash(schema);
  if (stored.hash !== hash) {
    throw dpdkError(
      'ESCHEMA',
      'lookupRing',
      `ring '${n}' holds messages of ${stored.description} but this process expects ${describeLayout(schema)}; ` +
        'both sides must declare the same schema',
    );
  }
  return new MessageRing(schema, lookupElementRing(n, stored.elementSize), zone);
}

/**
 * Rings of fixed-size typed messages (rte_ring_*_elem) whose layout is
 * checked when another process looks them up, and lookupRing, which finds
 * packet rings and message rings alike.
 */
import {
  createElementRing,
  hasCode,
  lookupElementRing,
  lookupPacketRing,
  ringModes,
  ringNameSchema,
  validate,
  dpdkError,
  type Ring,
  type RingOptions,
  type SyncMode,
} from '@mp/dpdk-core';
import { z } from 'zod';
import { describeLayout, layoutHash, t, type StructType, type ValueOf } from './struct-layout';
import { decode, encode, tryEncode } from './struct-view';
import { createZone, declareZone, openZone, type SharedZone } from './zone';

export type { RingOptions, SyncMode };

/**
 * A ring of packet buffers. Its methods are the native handle's, so a burst
 * moves in one native call with nothing in between.
 */
export type PacketRing = Omit<Ring, 'enqueueElems' | 'dequeueElems'>;

/** Where a message ring's schema lives: a memzone named after the ring (28 + 3 <= 31 characters). */
export function schemaZoneName(ringName: string): string {
  return `MR_${ringName}`;
}

const DESCRIPTION_MAX = 1024;

/** The schema a message ring's creator leaves for the processes that look it up. */
const schemaZone = declareZone({
  kind: 'message ring schema',
  magic: 0x4d524731, // "MRG1"
  version: 2,
  fields: t.struct({
    elementSize: t.u32,
    hash: t.u32,
    descriptionLength: t.u32,
    description: t.array(t.u8, DESCRIPTION_MAX),
  }),
});

type SchemaZone = SharedZone<typeof schemaZone.fields, null>;

const latin1 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');

function storedDescription(zone: SchemaZone): string {
  const f = zone.fields;
  return latin1(f.description.subarray(0, Math.min(f.descriptionLength, DESCRIPTION_MAX)));
}

function lookupSchemaZone(ringName: string): SchemaZone | undefined {
  try {
    return openZone(schemaZoneName(ringName), schemaZone);
  } catch (e) {
    if (hasCode(e, 'ENOENT')) return undefined;
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
    private readonly schemaZone: SchemaZone,
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
    this.schemaZone.memzone.free();
  }

  /** Drops this process's handles; the ring stays. Idempotent. */
  close(): void {
    this.ring.close();
    this.schemaZone.memzone.close();
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
  const description = Buffer.from(describeLayout(schema).slice(0, DESCRIPTION_MAX), 'latin1');
  // The schema first: a process looking the name up while the ring is made
  // then finds no ring yet (ENOENT), never a ring without its schema, which
  // it would take for a packet ring.
  const zone = createZone(schemaZoneName(n), schemaZone, {
    init: (z) => {
      z.fields.elementSize = size;
      z.fields.hash = layoutHash(schema);
      z.fields.description.set(description);
      z.fields.descriptionLength = description.length;
    },
  });
  let ring: Ring;
  try {
    ring = createElementRing(n, size, opts);
  } catch (e) {
    zone.memzone.free();
    throw e;
  }
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
  if (schema === undefined) {
    if (zone) {
      throw dpdkError(
        'ESCHEMA',
        'lookupRing',
        `ring '${n}' is a message ring of ${storedDescription(zone)}, not a packet ring; look it up with its schema`,
      );
    }
    return lookupPacketRing(n);
  }
  if (!zone) {
    // Tell "no ring at all" apart from "a ring without a schema".
    lookupPacketRing(n);
    throw dpdkError('ESCHEMA', 'lookupRing', `ring '${n}' is a packet ring, not a message ring; look it up without a schema`);
  }
  if (zone.fields.hash !== layoutHash(schema)) {
    throw dpdkError(
      'ESCHEMA',
      'lookupRing',
      `ring '${n}' holds messages of ${storedDescription(zone)} but this process expects ${describeLayout(schema)}; ` +
        'both sides must declare the same schema',
    );
  }
  return new MessageRing(schema, lookupElementRing(n, zone.fields.elementSize), zone);
}

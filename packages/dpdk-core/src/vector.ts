/**
 * Packet vectors (native/vector.h): packet logic in TypeScript at the cost of
 * two native calls per vector, none per packet.
 *
 * `fill()` takes up to `capacity` packets from the vector's input (RX bursts
 * from its ports in turn, or a dequeue from its ring) and describes them in
 * typed arrays: `ports[i]` (input port), `lengths[i]` (bytes viewable in
 * place) and, behind the accessors, where each packet's data sits in the
 * pool's memory. The accessors (`u8`, `u16`, `u32`, `u32le`, `setU32le`, ...)
 * read and write those bytes in place, bounds checked against the packet;
 * the handler writes `dests[i]` (an output index, or DROP); `send()` hands
 * every packet to its output in one native call and leaves the vector empty.
 */
import { markAsUntransferable } from 'node:worker_threads';
import { z } from 'zod';
import { dpdkError } from './errors';
import { portIdSchema } from './ethdev';
import { fastResult } from './fastcall';
import { raiseInliningBudget } from './jit';
import { memzoneNameSchema } from './memzone';
import { validate } from './validate';
import { native, type NativePacketVector, type NativeVectorOutput } from './native';
import type { Mempool } from './mempool';
import { Ring } from './ring';

/** The destination that frees a packet (counted in `discarded`). */
export const DROP = 0xffff;
/** The largest vector (native kMaxVector). */
export const VECTOR_CAPACITY_MAX: number = native.maxVector;
/** TX buffer size of a buffered output unless told (client_server_mp's and l2fwd's 32). */
const DEFAULT_TX_BUFFER = 32;

/** What reclaimPacketVector gave back of a dead process's vector. */
export interface ReclaimedVector {
  /** Packets it had taken from its ring but not handed on: back in that ring, in order. */
  requeued: number;
  /** Packets it had received from ports but not handed on: back in their pool. */
  freed: number;
}

const queueSchema = z.number().int().min(0).max(65535);
/** Any packet ring handle (mp-ring's PacketRing is the same object, typed without element methods). */
type PacketRingHandle = Pick<Ring, 'name' | 'packets' | 'count'>;
const PACKET_RING = 'with a packet Ring (createPacketRing / lookupPacketRing)';
const ringSchema = z.custom<PacketRingHandle>((r) => r instanceof Ring && r.packets, 'must be a packet Ring (createPacketRing / lookupPacketRing)');
const counterIndexes = z.array(z.number().int().min(-1)).optional();

export const packetVectorOptionsSchema = z
  .object({
    pool: z.custom<Mempool>((p) => typeof p === 'object' && p !== null && 'memoryView' in p, 'must be a Mempool'),
    capacity: z.number().int().min(1).max(VECTOR_CAPACITY_MAX).default(256),
    bytes: z.boolean().default(true),
    prefetch: z.boolean().optional(),
    // A union no branch of which fits says only 'Invalid input': name the shapes.
    input: z.union(
      [
        z
          .object({
            ports: z.array(z.object({ port: portIdSchema, queue: queueSchema.default(0) }).strict()).min(1).max(1024),
            burstSize: z.number().int().min(1).max(VECTOR_CAPACITY_MAX).default(32),
          })
          .strict(),
        z.object({ ring: ringSchema }).strict(),
      ],
      { error: `must be { ports: [{ port, queue? }, ...], burstSize? } or { ring } ${PACKET_RING}` },
    ),
    outputs: z
      .array(
        z.union(
          [
            z
              .object({
                port: portIdSchema,
                queue: queueSchema.default(0),
                buffer: z
                  .union([
                    z.literal(true),
                    z.object({ size: z.number().int().min(1).max(1024).default(DEFAULT_TX_BUFFER), name: memzoneNameSchema.optional() }).strict(),
                  ])
                  .optional(),
              })
              .strict(),
            z
              .object({ ring: ringSchema, bulk: z.boolean().default(true), bulkLimit: z.number().int().min(1).optional() })
              .strict()
              .refine((o) => o.bulkLimit === undefined || o.bulk, {
                error: 'bulkLimit sizes the pieces of a bulk enqueue; with bulk: false the ring takes what fits, so leave bulkLimit out',
                path: ['bulkLimit'],
              }),
          ],
          { error: `must be { port, queue?, buffer? } or { ring, bulk?, bulkLimit? } ${PACKET_RING}` },
        ),
      )
      .min(1)
      .max(DROP),
    name: memzoneNameSchema.optional(),
    counters: z
      .object({
        array: z
          .custom<BigUint64Array<ArrayBufferLike>>((a) => a instanceof BigUint64Array, 'must be a BigUint64Array')
          // The addon keeps a pointer to the array's memory, which a resize
          // could shrink away under it (a growable SharedArrayBuffer only grows).
          .refine(
            (a) => (a.buffer as { resizable?: boolean }).resizable !== true,
            'must not be over a resizable ArrayBuffer (the addon keeps a pointer that a resize would leave dangling); use a fixed-length one',
          ),
        received: counterIndexes,
        sent: counterIndexes,
        dropped: counterIndexes,
      })
      .strict()
      .refine(
        (c) => [c.received, c.sent, c.dropped].every((list) => (list ?? []).every((i) => i < c.array.length)),
        'every counter index must lie inside counters.array (-1: not counted)',
      )
      .optional(),
  })
  .strict()
  .refine((o) => o.prefetch !== true || o.bytes, {
    error: 'prefetch brings in the packet bytes a handler reads; with bytes: false it reads none, so leave prefetch out',
    path: ['prefetch'],
  });

export type PacketVectorOptions = z.input<typeof packetVectorOptionsSchema>;

/**
 * A vector of packets and what describes them (see the module comment and the
 * README's worked example).
 *
 * Where each packet's bytes are, and how many the accessors may reach, live
 * in variables of the closure that made the vector, not in properties, and
 * in a buffer apart from the one behind the public arrays (`dests.buffer`):
 * code outside cannot change a bound, and V8 compiles an accessor inlined
 * into a handler's loop to the check and the load or store alone (as fast as
 * an unchecked store; a property-held bound costs twice that).
 */
export interface PacketVector {
  readonly capacity: number;
  /** Packets held, at indexes 0..count-1; 0 once sent or freed. */
  readonly count: number;
  /** Input port of each packet. */
  readonly ports: Uint16Array;
  /** Where each packet goes on send(): an index into the outputs, or DROP (the default after fill). */
  readonly dests: Uint16Array;
  /** Packets received per input source (per port entry, or the ring). */
  readonly received: Float64Array;
  /** Packets per output that left: on the wire (TX buffers count at flush), or into its ring. */
  readonly sent: Float64Array;
  /** Packets per output the device or a full ring refused (freed). */
  readonly dropped: Float64Array;
  /** Packets freed on purpose: sent to DROP, or still held at free()/close(). */
  readonly discarded: number;
  /** Packets waiting in the outputs' TX buffers. */
  readonly buffered: number;
  readonly closed: boolean;
  /** What this vector found in its named zone when it took it over from a dead process. */
  readonly settled: ReclaimedVector;
  /**
   * Bytes of packet i the accessors reach in place: all of it. 0 for an index
   * the vector does not hold, for a packet that cannot be viewed in place
   * (several segments, data outside this vector's pool), and for every packet
   * of a vector made with `bytes: false`: the accessors say why.
   */
  length(i: number): number;
  /**
   * Takes packets from the input until the vector is full or the input has
   * none (every port came back empty in turn; the ring is empty). Packets
   * already held stay, except in a named vector filled from a ring, which
   * must be sent or freed first ('EBUSY'). Each new packet's destination is
   * DROP until the handler sets it. Returns how many packets it holds.
   */
  fill(): number;
  /**
   * Hands every packet to the output `dests[i]` names, in order per output
   * (a ring output in bulk mode takes its whole share, or each piece of
   * `bulkLimit`, or none); DROP frees
   * it. A destination that names no output is refused (RangeError) before
   * anything moves. The vector ends empty. Returns how many packets went to
   * an output (buffered, sent or enqueued).
   */
  send(): number;
  /** Sends what the TX buffers of buffered outputs hold; returns how many went out. */
  flush(): number;
  /**
   * Lets go of the packets held: a named vector's batch from a ring stays in
   * the ring (the dequeue is undone); anything else is freed (counted in
   * `discarded`). Returns how many.
   */
  free(): number;
  /**
   * free(), then what the TX buffers hold is freed (counted as dropped) with
   * the buffers and the vector's zones. Idempotent; the vector is unusable
   * after ('E_CLOSED').
   */
  close(): void;
  /** Byte `at` of packet i. Every accessor refuses (RangeError) bytes outside the packet. */
  u8(i: number, at: number): number;
  /** The 16 bits at `at` of packet i, in network order (big-endian). */
  u16(i: number, at: number): number;
  /** The 32 bits at `at` of packet i, in network order (big-endian). */
  u32(i: number, at: number): number;
  /** The 32 bits at `at` of packet i, little-endian: the cheapest read for hashing. */
  u32le(i: number, at: number): number;
  setU8(i: number, at: number, value: number): void;
  /** Stores 16 bits at `at` of packet i in network order. */
  setU16(i: number, at: number, value: number): void;
  /** Stores 32 bits at `at` of packet i in network order. */
  setU32(i: number, at: number, value: number): void;
  /** Stores 32 bits at `at` of packet i little-endian (value & 0xff first). */
  setU32le(i: number, at: number, value: number): void;
  /** Copies min(target.length, length(i) - at) bytes of packet i from `at` into target; returns how many. */
  read(i: number, at: number, target: Uint8Array): number;
  /** Copies all of source into packet i at `at` (it must fit inside the packet). */
  write(i: number, at: number, source: Uint8Array): void;
  /**
   * Unchecked access to the whole pool memory and every packet's offset in
   * it, for code that checks bounds itself. Nothing stops a read or write of
   * another packet, a freed one, or the pool's own headers through these:
   * they are as unsafe as C. The buffer is detached when the pool's handle
   * closes (or at cleanup()).
   */
  unsafeMemory(): { bytes: Uint8Array; view: DataView; offsets: PacketOffsets };
  /** @internal test fault injection (see native/vector.h). */
  armFailpoint(name: PacketVectorFailpoint): void;
}

/**
 * Test-only: where a vector armed with its internal armFailpoint SIGKILLs its
 * own process (native/vector.h), for the fault tests and suite.
 */
export type PacketVectorFailpoint = 'send-kill-after-chunk' | 'kill-after-fill' | 'kill-in-peek';

/**
 * Where each packet's data starts in the pool's memory (the addon writes
 * unsigned 32-bit offsets): viewed as signed words when the memory is under
 * 2 GiB, as it is for all but the largest pools, because V8 then compiles an
 * accessor's `off[i] + at` into a plain add under the view's own bounds
 * check, where an unsigned word first needs a check that it fits a signed
 * integer and an overflow check on the add. Measured: the flow handler
 * takes 5-20 % less time per packet (client-server's README, "Signed
 * offsets"). A larger pool keeps the unsigned view (the same accessors,
 * those two checks more).
 */
export type PacketOffsets = Int32Array | Uint32Array;
export function offsetsView(meta: ArrayBuffer, at: number, capacity: number, memoryBytes: number): PacketOffsets {
  return memoryBytes <= 0x7fffffff ? new Int32Array(meta, at, capacity) : new Uint32Array(meta, at, capacity);
}

/**
 * The bounds-checked accessors over one vector's packets. What they check
 * against arrives as parameters of this function, and the bodies are as
 * short as the check allows, because V8 inlines a call into a handler's
 * loop only while the handler's inlined bytecode stays within its budget
 * (920 bytes in Node 20): each accessor is about 80 bytes. One check covers
 * everything: the offset is an integer in 0..2^32-1 (`(w >>> 0) === w`,
 * folded away for a constant) and `w + size <= len[i]`, where `len[i]` is
 * the packet's length, 0 for an index the vector does not hold, and
 * undefined (refused) for a non-integer or out-of-range index.
 */
function checkedAccessors(
  off: PacketOffsets,
  len: Uint16Array,
  view: DataView,
  bytes: Uint8Array,
  refuse: (i: number, where: number, size: number) => never,
) {
  return class CheckedAccessors {
    u8(i: number, w: number): number {
      if (!((w >>> 0) === w && w + 1 <= (len[i] as number))) refuse(i, w, 1);
      return bytes[(off[i] as number) + w] as number;
    }
    u16(i: number, w: number): number {
      if (!((w >>> 0) === w && w + 2 <= (len[i] as number))) refuse(i, w, 2);
      return view.getUint16((off[i] as number) + w);
    }
    u32(i: number, w: number): number {
      if (!((w >>> 0) === w && w + 4 <= (len[i] as number))) refuse(i, w, 4);
      return view.getUint32((off[i] as number) + w);
    }
    u32le(i: number, w: number): number {
      if (!((w >>> 0) === w && w + 4 <= (len[i] as number))) refuse(i, w, 4);
      return view.getUint32((off[i] as number) + w, true);
    }
    setU8(i: number, w: number, value: number): void {
      if (!((w >>> 0) === w && w + 1 <= (len[i] as number))) refuse(i, w, 1);
      bytes[(off[i] as number) + w] = value;
    }
    setU16(i: number, w: number, value: number): void {
      if (!((w >>> 0) === w && w + 2 <= (len[i] as number))) refuse(i, w, 2);
      view.setUint16((off[i] as number) + w, value);
    }
    setU32(i: number, w: number, value: number): void {
      if (!((w >>> 0) === w && w + 4 <= (len[i] as number))) refuse(i, w, 4);
      view.setUint32((off[i] as number) + w, value);
    }
    setU32le(i: number, w: number, value: number): void {
      if (!((w >>> 0) === w && w + 4 <= (len[i] as number))) refuse(i, w, 4);
      view.setUint32((off[i] as number) + w, value, true);
    }
    read(i: number, w: number, target: Uint8Array): number {
      const have = len[i] as number;
      // Length 0 (a packet not held, or not viewable) is refused, not read
      // as an empty packet; reading from the end itself copies nothing.
      if (!((w >>> 0) === w && w <= have && have !== 0)) refuse(i, w, target.length);
      const size = Math.min(target.length, have - w);
      const start = (off[i] as number) + w;
      target.set(bytes.subarray(start, start + size));
      return size;
    }
    write(i: number, w: number, source: Uint8Array): void {
      if (!((w >>> 0) === w && w + source.length <= (len[i] as number))) refuse(i, w, source.length);
      bytes.set(source, (off[i] as number) + w);
    }
  };
}

function makeVector(n: NativePacketVector, capacity: number, pool: Mempool, rings: readonly Ring[], sources: number, outputs: number): PacketVector {
  const meta = n.meta;
  const io = n.io;
  const at = n.layout;
  markAsUntransferable(meta);
  markAsUntransferable(io);
  // The pool's raw memory: only the checked accessors below (and the
  // explicitly unsafe unsafeMemory()) reach it.
  const memory = (pool as unknown as { memoryView(): ArrayBuffer }).memoryView();
  markAsUntransferable(memory);
  const off = offsetsView(meta, at.off, capacity, memory.byteLength);
  const len = new Uint16Array(meta, at.len, capacity);
  const discarded = new Float64Array(meta, at.discarded, 1);
  // Written by the addon, which may also empty the vector on its own (its
  // ring handle closing, cleanup()).
  const held = new Uint32Array(meta, at.count, 1);
  const view = new DataView(memory);
  const bytes = new Uint8Array(memory);
  const fast = n.fastPath();
  const nativeFill = fast.fill;
  const nativeSend = fast.send;
  const nativeFlush = fast.flush;
  const nativeFree = fast.free;

  // Why [where, where+size) of packet i is refused.
  function refuse(i: number, where: number, size: number): never {
    if (n.closed) throw dpdkError('E_CLOSED', 'packetVector', 'this packet vector is closed; create a new one');
    const count = held[0] as number;
    if (count === 0) throw new RangeError('the packet vector holds no packets (sent, freed, or not filled yet); fill() it first');
    if ((i >>> 0) !== i || i >= count) {
      throw new RangeError(`packet index ${String(i)} is outside the vector's ${count} packets (0..${count - 1})`);
    }
    if ((where >>> 0) !== where) throw new RangeError(`offset ${String(where)} must be an integer >= 0`);
    const have = len[i] as number;
    if (have === 0) throw new RangeError(`packet ${i} cannot be viewed in place: ${n.why(i) ?? 'it is empty'}`);
    throw new RangeError(`bytes ${where}..${where + size - 1} of packet ${i} are outside its ${have} bytes`);
  }

  class Vector extends checkedAccessors(off, len, view, bytes, refuse) implements PacketVector {
    readonly #rings = rings;
    readonly capacity = capacity;
    readonly ports = new Uint16Array(io, at.port, capacity);
    readonly dests = new Uint16Array(io, at.dest, capacity);
    readonly received = new Float64Array(io, at.received, sources);
    readonly sent = new Float64Array(io, at.sent, outputs);
    readonly dropped = new Float64Array(io, at.dropped, outputs);

    get count(): number {
      return held[0] as number;
    }
    get discarded(): number {
      return discarded[0] as number;
    }
    get buffered(): number {
      return n.buffered;
    }
    get closed(): boolean {
      return n.closed;
    }
    get settled(): ReclaimedVector {
      return n.settled;
    }
    length(i: number): number {
      return len[i] ?? 0;
    }
    fill(): number {
      nativeFill();
      return fastResult[0] as number;
    }
    send(): number {
      nativeSend();
      return fastResult[0] as number;
    }
    flush(): number {
      nativeFlush();
      return fastResult[0] as number;
    }
    free(): number {
      nativeFree();
      return fastResult[0] as number;
    }
    close(): void {
      n.close();
    }
    unsafeMemory(): { bytes: Uint8Array; view: DataView; offsets: PacketOffsets } {
      return { bytes, view, offsets: off };
    }
    armFailpoint(name: PacketVectorFailpoint): void {
      n.armFailpoint(name);
    }
  }
  return new Vector();
}

/**
 * A packet vector over `pool`'s memory (the pool its packets come from),
 * with its input and outputs:
 * - input `{ ports: [{ port, queue }], burstSize }` (RX bursts from each in
 *   turn) or `{ ring }` (a packet ring);
 * - outputs `{ port, queue, buffer? }` (a TX queue: through a TX buffer of
 *   `buffer.size` packets, named `buffer.name` to survive this process, or
 *   straight to the device with unsent packets dropped) or `{ ring, bulk,
 *   bulkLimit? }` (bulk: a packet's whole share of a send goes in or none of
 *   it; with `bulkLimit`, a larger share goes in order in pieces of at most
 *   that many, each whole or not at all: client_server_mp's share is that of
 *   one read).
 * With `name` (a memzone name) the vector keeps its packets in that zone
 * with a journal, so reclaimPacketVector(name) can give back what a killed
 * process held (a ring input must then have a single consumer). `counters`
 * adds the counts to a caller's BigUint64Array too (often a memzone view
 * other processes read): `received[source]`, `sent[output]`,
 * `dropped[output]` are indexes into it (-1 or absent: not counted there).
 * `bytes: false` is for a handler that never reads or writes packet bytes
 * (it routes by input port, or by count): fill() then skips reading each
 * packet's mbuf for where its bytes lie, `length(i)` is 0 and the accessors
 * refuse, saying so. `prefetch` (default true with bytes) has fill() prefetch
 * each packet's first data line as it describes it: a handler that reads
 * headers then seldom waits for memory; one that only writes them (l2fwd's
 * MAC rewrite) may forward more without it.
 */
export function createPacketVector(opts: PacketVectorOptions): PacketVector {
  const o = validate(packetVectorOptionsSchema, opts, 'createPacketVector', 'options');
  raiseInliningBudget();
  const input = 'ring' in o.input ? { ring: Ring.nativeOf(o.input.ring as Ring) } : o.input;
  const outputs: NativeVectorOutput[] = o.outputs.map((out) =>
    'ring' in out
      ? { ring: Ring.nativeOf(out.ring as Ring), bulk: out.bulk, bulkLimit: out.bulkLimit ?? 0 }
      : out.buffer === undefined
        ? { port: out.port, queue: out.queue }
        : out.buffer === true
          ? { port: out.port, queue: out.queue, bufferSize: DEFAULT_TX_BUFFER }
          : { port: out.port, queue: out.queue, bufferSize: out.buffer.size, ...(out.buffer.name === undefined ? {} : { bufferName: out.buffer.name }) },
  );
  // The addon adds to the counters through a raw pointer: transferring their
  // buffer away (postMessage, structuredClone) would leave it writing into
  // memory that is freed once the copy is collected.
  if (o.counters !== undefined) markAsUntransferable(o.counters.array.buffer);
  const n = new native.PacketVector(o.capacity, o.pool, input, outputs, o.name, o.counters, o.bytes, o.prefetch ?? o.bytes);
  // The vector keeps its rings' handles alive: collected, a handle closes its
  // ring for this process, and the vector would lose what it peeked from it.
  const rings = [o.input, ...o.outputs].flatMap((end) => ('ring' in end ? [end.ring as Ring] : []));
  return makeVector(n, o.capacity, o.pool, rings, 'ring' in o.input ? 1 : o.input.ports.length, o.outputs.length);
}

/**
 * For a named vector whose process is gone: packets it had taken from a ring
 * and not handed on go back to that ring (in order, for the next consumer),
 * packets it had received from ports go back to their pool; then its zone is
 * freed. 'EBUSY' while the process that held it lives, 'ENOENT' if there is
 * no such vector.
 */
export function reclaimPacketVector(name: string): ReclaimedVector {
  return native.reclaimPacketVector(validate(memzoneNameSchema, name, 'reclaimPacketVector', 'vector name'));
}

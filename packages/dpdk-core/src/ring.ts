/**
 * Rings: named lockless FIFOs in shared memory (rte_ring). A packet ring holds
 * packet buffers and moves a whole Burst per call; an element ring holds
 * fixed-size elements copied from/to a Uint8Array. The packet path is one
 * native call per burst, through functions bound to the ring (no unwrapping).
 */
import { z } from 'zod';
import { burstId } from './burst';
import { dpdkError } from './errors';
import { fastArgs, fastResult, frameNumber } from './fastcall';
import { ANY_SOCKET } from './memzone';
import { validate } from './validate';
import { native, type NativeRing, type NativeRingFastPath } from './native';

/** RTE_RING_NAMESIZE is 32 - sizeof("RG_") + 1 = 29 with the NUL. */
export const RING_NAME_MAX = 28;
/** RTE_RING_SZ_MASK: the largest ring size. */
export const RING_SIZE_MAX = 0x7fffffff;
/** rte_ring_create_elem's element size limit as this binding enforces it. */
export const RING_ELEMENT_SIZE_MAX = 65536;

/** The RING_F_* flags of rte_ring_core.h. */
export const RING_FLAGS = {
  SP_ENQ: 0x0001,
  SC_DEQ: 0x0002,
  EXACT_SZ: 0x0004,
  MP_RTS_ENQ: 0x0008,
  MC_RTS_DEQ: 0x0010,
  MP_HTS_ENQ: 0x0020,
  MC_HTS_DEQ: 0x0040,
} as const;

/**
 * How producers (or consumers) synchronise: 'single' (one thread/process at a
 * time, cheapest), 'multi' (classic multi-producer CAS), 'rts' (relaxed tail
 * sync) and 'hts' (head/tail sync), the last two for overcommitted cores.
 */
export type SyncMode = 'single' | 'multi' | 'rts' | 'hts';

/** What a ring moves packets into or out of: a Burst (anything else is a TypeError). */
export interface BurstHandle {
  readonly id: number;
  readonly length: number;
  readonly capacity: number;
}

/**
 * A ring handle. Packet methods need a packet ring, element methods an
 * element ring. The packet methods go straight to native functions bound to
 * this ring, one call per burst.
 */
export class Ring {
  private readonly n: NativeRing;
  private readonly fast: NativeRingFastPath;

  /** @internal handles come from createPacketRing/createElementRing/lookup*. */
  constructor(n: NativeRing) {
    this.n = n;
    if (n.packets) {
      this.fast = n.fastPath();
    } else {
      const refuse = (op: string) => (): never => {
        throw dpdkError(
          'EINVAL',
          op,
          `ring '${n.name}' is a ${n.elementSize}-byte element ring, not a packet ring; use enqueueElems/dequeueElems`,
        );
      };
      this.fast = {
        enqueueBurst: refuse('enqueueBurst'),
        enqueueBulk: refuse('enqueueBulk'),
        dequeueBurst: refuse('dequeueBurst'),
        dequeueBulk: refuse('dequeueBulk'),
      };
    }
  }

  /** @internal The native handle, for native calls that take a Ring (packet vectors). */
  static nativeOf(ring: Ring): NativeRing {
    return ring.n;
  }

  get name(): string {
    return this.n.name;
  }
  /** Bytes per element: 8 (a pointer) for packet rings. */
  get elementSize(): number {
    return this.n.elementSize;
  }
  /** True for rings of packet buffers. */
  get packets(): boolean {
    return this.n.packets;
  }
  /** The RING_F_* flags it was created with (see ringModes). */
  get flags(): number {
    return this.n.flags;
  }
  get created(): boolean {
    return this.n.created;
  }
  get closed(): boolean {
    return this.n.closed;
  }
  /** The ring's internal size (a power of two). */
  get size(): number {
    return this.n.size;
  }
  /** How many entries it can hold. */
  get capacity(): number {
    return this.n.capacity;
  }
  get socket(): number {
    return this.n.socket;
  }
  count(): number {
    return this.n.count();
  }
  freeCount(): number {
    return this.n.freeCount();
  }
  /** Empties the ring (packets go back to their pools); returns how many entries were dropped. Not safe while others use it. */
  reset(): number {
    return this.n.reset();
  }
  /** Creator only ('EPERM' otherwise): drains and frees the ring. Idempotent. */
  free(): void {
    this.n.free();
  }
  /** Drops this process's handle without freeing the ring. Idempotent. */
  close(): void {
    this.n.close();
  }
  /** Enqueues as many packets as fit from the front of the burst; returns how many (they leave the burst). */
  enqueueBurst(burst: BurstHandle): number {
    fastArgs[0] = burstId(burst);
    this.fast.enqueueBurst();
    return fastResult[0] as number;
  }
  /** Enqueues all packets of the burst or none; returns the number enqueued. */
  enqueueBulk(burst: BurstHandle): number {
    fastArgs[0] = burstId(burst);
    this.fast.enqueueBulk();
    return fastResult[0] as number;
  }
  /** Appends up to `max` (default and upper bound: the burst's free room) packets to the burst; returns how many. */
  dequeueBurst(burst: BurstHandle, max?: number): number {
    const id = burstId(burst);
    const m = max === undefined ? Infinity : frameNumber(max, 'max');
    fastArgs[0] = id;
    fastArgs[1] = m;
    this.fast.dequeueBurst();
    return fastResult[0] as number;
  }
  /** Appends exactly `n` packets or none ('EINVAL' if the burst has less room); returns the number appended. */
  dequeueBulk(burst: BurstHandle, n: number): number {
    const id = burstId(burst);
    const count = frameNumber(n, 'n');
    fastArgs[0] = id;
    fastArgs[1] = count;
    this.fast.dequeueBulk();
    return fastResult[0] as number;
  }
  /** Enqueues elements bytes[0 .. n*elementSize); bulk = all or none. Returns how many. */
  enqueueElems(bytes: Uint8Array, n: number, bulk = false): number {
    return this.n.enqueueElems(bytes, n, bulk);
  }
  /** Dequeues up to n elements into bytes[0 ..); bulk = exactly n or none. Returns how many. */
  dequeueElems(bytes: Uint8Array, n: number, bulk = false): number {
    return this.n.dequeueElems(bytes, n, bulk);
  }
}

// One TS handle per native handle, as the addon keeps one native handle per ring.
const handles = new WeakMap<NativeRing, Ring>();
function handle(n: NativeRing): Ring {
  let h = handles.get(n);
  if (h === undefined) {
    h = new Ring(n);
    handles.set(n, h);
  }
  return h;
}

export const ringNameSchema = z
  .string()
  .min(1, 'a ring name must not be empty')
  .max(RING_NAME_MAX, `a ring name has at most ${RING_NAME_MAX} characters (RTE_RING_NAMESIZE)`)
  .regex(/^[\x21-\x7e]+$/, 'use printable ASCII without spaces');

const syncModeSchema = z.enum(['single', 'multi', 'rts', 'hts']);

export const ringOptionsSchema = z
  .object({
    size: z.number().int().min(1).max(RING_SIZE_MAX),
    producer: syncModeSchema.default('multi'),
    consumer: syncModeSchema.default('multi'),
    exactSize: z.boolean().default(false),
    socket: z.number().int().min(-1).max(63).default(ANY_SOCKET),
  })
  .strict()
  .refine((o) => o.exactSize || (o.size >= 2 && (o.size & (o.size - 1)) === 0), {
    message: 'size must be a power of two >= 2 (it holds size-1 entries), or set exactSize: true to hold exactly size',
    path: ['size'],
  })
  .refine((o) => !o.exactSize || o.size < 0x40000000, {
    message: 'with exactSize the size must stay below 2^30 (DPDK rounds it up to the next power of two)',
    path: ['size'],
  });

export type RingOptions = z.input<typeof ringOptionsSchema>;

const elementSizeSchema = z
  .number()
  .int()
  .min(4)
  .max(RING_ELEMENT_SIZE_MAX)
  .refine((n) => n % 4 === 0, 'the element size must be a multiple of 4 bytes (rte_ring_create_elem)');

/** The RING_F_* flags for the given modes. */
export function ringFlags(producer: SyncMode, consumer: SyncMode, exactSize: boolean): number {
  const prod = { single: RING_FLAGS.SP_ENQ, multi: 0, rts: RING_FLAGS.MP_RTS_ENQ, hts: RING_FLAGS.MP_HTS_ENQ }[producer];
  const cons = { single: RING_FLAGS.SC_DEQ, multi: 0, rts: RING_FLAGS.MC_RTS_DEQ, hts: RING_FLAGS.MC_HTS_DEQ }[consumer];
  return prod | cons | (exactSize ? RING_FLAGS.EXACT_SZ : 0);
}

/** The producer/consumer modes a ring was created with, read back from its flags. */
export function ringModes(flags: number): { producer: SyncMode; consumer: SyncMode; exactSize: boolean } {
  const producer: SyncMode =
    flags & RING_FLAGS.SP_ENQ ? 'single' : flags & RING_FLAGS.MP_RTS_ENQ ? 'rts' : flags & RING_FLAGS.MP_HTS_ENQ ? 'hts' : 'multi';
  const consumer: SyncMode =
    flags & RING_FLAGS.SC_DEQ ? 'single' : flags & RING_FLAGS.MC_RTS_DEQ ? 'rts' : flags & RING_FLAGS.MC_HTS_DEQ ? 'hts' : 'multi';
  return { producer, consumer, exactSize: (flags & RING_FLAGS.EXACT_SZ) !== 0 };
}

/** Creates a ring of packet buffers (rte_ring_create). Only its creator frees it. */
export function createPacketRing(name: string, opts: RingOptions): Ring {
  const n = validate(ringNameSchema, name, 'createRing', 'ring name');
  const o = validate(ringOptionsSchema, opts, 'createRing', 'ring options');
  return handle(native.ringCreate(n, o.size, o.socket, ringFlags(o.producer, o.consumer, o.exactSize)));
}

/** Creates a ring of `elementSize`-byte elements (rte_ring_create_elem). */
export function createElementRing(name: string, elementSize: number, opts: RingOptions): Ring {
  const n = validate(ringNameSchema, name, 'createRing', 'ring name');
  const e = validate(elementSizeSchema, elementSize, 'createRing', 'element size');
  const o = validate(ringOptionsSchema, opts, 'createRing', 'ring options');
  return handle(native.ringCreateElem(n, e, o.size, o.socket, ringFlags(o.producer, o.consumer, o.exactSize)));
}

/**
 * Looks up a packet ring another process created: 'ENOENT' if there is none,
 * 'EINVAL' if it holds elements that are not packet pointers.
 */
export function lookupPacketRing(name: string): Ring {
  return handle(native.ringLookup(validate(ringNameSchema, name, 'lookupRing', 'ring name'), 0));
}

/**
 * Looks up an element ring. DPDK 22.11 does not record a ring's element size;
 * it is inferred from the ring's memzone and a mismatch is refused ('EINVAL').
 */
export function lookupElementRing(name: string, elementSize: number): Ring {
  const n = validate(ringNameSchema, name, 'lookupRing', 'ring name');
  const e = validate(elementSizeSchema, elementSize, 'lookupRing', 'element size');
  return handle(native.ringLookup(n, e));
}

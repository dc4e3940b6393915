/**
 * Bursts: a reusable native array of up to `capacity` packet buffers. Every
 * packet-moving call (rx, tx, TX buffer, ring, pool) fills or drains a Burst
 * in one native call; the methods here are the native object's own, so the
 * packet path has no JS layer in between and allocates nothing.
 */
import { z } from 'zod';
import { validate } from './memzone';
import { fastArgs, fastResult, frameNumber } from './fastcall';
import { native } from './native';
import type { Mempool } from './mempool';

/** The largest burst capacity (Burst::kMaxCapacity). */
export const BURST_CAPACITY_MAX = 1024;

export interface NativeBurst {
  /** Packets held, at indexes 0..length-1. */
  readonly length: number;
  readonly capacity: number;
  /** Frees every packet held (back to its pool); returns how many. */
  free(): number;
  /** Frees the packets from `index` on (what a partial send left); returns how many. */
  freeFrom(index: number): number;
  /**
   * Moves packets [start, start+count) (default: all from start) to the end
   * of `target`, keeping their order; all or nothing. Returns how many moved.
   */
  moveTo(target: NativeBurst, start?: number, count?: number): number;
  /** Total length in bytes of packet `index`. */
  packetLength(index: number): number;
  /** Resizes a single-segment packet (up to its buffer's tailroom). */
  setPacketLength(index: number, length: number): void;
  /** Copies min(target.length, packetLength - offset) bytes into target; returns how many. */
  readBytes(index: number, offset: number, target: Uint8Array): number;
  /** Copies all of source into the packet at offset (must lie inside the packet). */
  writeBytes(index: number, offset: number, source: Uint8Array): void;
  /**
   * Appends one packet per frame holding its bytes, or `count` copies of one
   * template. All or nothing: returns the number added, 0 if the pool ran dry.
   */
  allocPackets(pool: Mempool, frames: readonly Uint8Array[]): number;
  allocPackets(pool: Mempool, template: Uint8Array, count: number): number;
}

declare module './native' {
  interface NativeAddon {
    Burst: new (capacity: number) => NativeBurst & { readonly id: number };
    /** Through the frame (fastcall.ts): fromId, toId, start, count or Infinity. */
    burstMoveTo(): void;
  }
}

const capacitySchema = z
  .number()
  .int('a burst capacity must be an integer')
  .min(1, 'a burst holds at least 1 packet')
  .max(BURST_CAPACITY_MAX, `a burst holds at most ${BURST_CAPACITY_MAX} packets`);

const NativeBurstClass = native.Burst;
const { burstMoveTo } = native;

/**
 * `new Burst(32)`: an empty burst of 32 packet slots.
 *
 * Packet-path calls name a burst to the addon by its id, read here from a
 * private field that only objects built by this constructor have: reading it
 * is an inline-cached load, where unwrapping the native object costs a
 * private-property lookup through N-API (more than moving 32 packets through
 * a ring). Anything else passed as a burst is a TypeError, never another
 * burst's packets.
 */
export class Burst extends NativeBurstClass {
  readonly #id: number;

  constructor(capacity: number) {
    super(validate(capacitySchema, capacity, 'Burst', 'burst capacity'));
    this.#id = this.id;
  }

  /** @internal The id of a Burst, for the addon's packet-path functions; a TypeError for anything else. */
  static idOf(burst: unknown): number {
    try {
      // Reading a private field throws a TypeError for any value that lacks it.
      return (burst as Burst).#id;
    } catch {
      throw new TypeError('burst must be a Burst');
    }
  }

  override moveTo(target: NativeBurst, start?: number, count?: number): number {
    const from = Burst.idOf(this);
    const to = Burst.idOf(target);
    const first = start === undefined ? 0 : frameNumber(start, 'start');
    const n = count === undefined ? Infinity : frameNumber(count, 'count');
    fastArgs[0] = from;
    fastArgs[1] = to;
    fastArgs[2] = first;
    fastArgs[3] = n;
    burstMoveTo();
    return fastResult[0] as number;
  }
}

/** The id of a Burst (see Burst); a TypeError for anything else. */
export const burstId: (burst: unknown) => number = Burst.idOf;

/**
 * Bursts: a reusable native array of up to `capacity` packet buffers. Every
 * packet-moving call (rx, tx, TX buffer, ring, pool) fills or drains a Burst
 * in one native call; the methods here are the native object's own, so the
 * packet path has no JS layer in between and allocates nothing.
 */
import { z } from 'zod';
import { validate } from './validate';
import { fastArgs, fastResult, frameNumber } from './fastcall';
import type { Mempool } from './mempool';
import { native } from './native';

/** The largest burst capacity (Burst::kMaxCapacity). */
export const BURST_CAPACITY_MAX = 1024;

const capacitySchema = z
  .number()
  .int('a burst capacity must be an integer')
  .min(1, 'a burst holds at least 1 packet')
  .max(BURST_CAPACITY_MAX, `a burst holds at most ${BURST_CAPACITY_MAX} packets`);

const BurstBaseClass = native.Burst;
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
export class Burst extends BurstBaseClass {
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

  override moveTo(target: Burst, start?: number, count?: number): number {
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

  /**
   * The frames are read here, into an array of their own, before the addon
   * resolves the pool: a getter or proxy among them runs now, not while C
   * holds the pool's pointer (one that freed the pool made C allocate from
   * freed memory).
   */
  override allocPackets(pool: Mempool, frames: readonly Uint8Array[] | Uint8Array, count?: number): number {
    if (Array.isArray(frames)) return super.allocPackets(pool, Array.from(frames as readonly Uint8Array[]));
    return super.allocPackets(pool, frames as Uint8Array, count as number);
  }
}

/** The id of a Burst (see Burst); a TypeError for anything else. */
export const burstId: (burst: unknown) => number = Burst.idOf;

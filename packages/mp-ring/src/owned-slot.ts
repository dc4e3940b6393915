/**
 * Owned slots: a slot of a shared zone held by one process at a time, the
 * one mechanism behind the lcore leases, the supervisor's control slots and
 * client-server's client registry. Two words, embedded in a slot's layout:
 *
 *   word   u64  (generation << 32) | pid     pid 0 = free. Every change of
 *                                            holder is one compare-exchange
 *                                            on this word that bumps the
 *                                            generation, so a stale
 *                                            (generation, pid) never matches again.
 *   stamp  u64  (generation << 32) | start stamp of the holder (the low 32
 *                                            bits of its start time,
 *                                            @mp/dpdk-core's startStamp), written
 *                                            by whoever made the change, right
 *                                            after it. One word, never torn; it
 *                                            counts only while its generation
 *                                            is the word's.
 *
 * A holder is alive when its pid runs, is not a zombie, and (once its stamp
 * is recorded) started at the recorded time: a reused pid is not taken for
 * it. That is @mp/dpdk-core's ownerAlive, the one liveness check of the
 * project (native/owner.h applies the same rule to named zones in C++).
 */
import { dpdkError, ownerAlive, readProcStat, startStamp, type Memzone } from '@mp/dpdk-core';
import { t } from './struct-layout';
import type { SharedZone } from './zone';

/** The owner words, to embed in a slot's layout (`{ owner: ownerWords, ... }`). */
export const ownerWords = t.struct({ word: t.u64, stamp: t.u64 });

/** One holding of a slot: the generation it was taken at and its holder (pid 0: free). */
export interface Ownership {
  readonly generation: number;
  readonly pid: number;
}

const PID_MASK = 0xffffffffn;

/** The generation after `g`, wrapping at 2^32 like the word that stores it. */
export function nextGeneration(g: number): number {
  return (g + 1) >>> 0;
}

/** An owner word (or stamp word): a generation in the high half, a pid (or start stamp) in the low. */
export function packOwnerWord(generation: number, low: number): bigint {
  return (BigInt(generation >>> 0) << 32n) | BigInt(low >>> 0);
}

export function unpackOwnerWord(word: bigint): Ownership {
  return { generation: Number(word >> 32n), pid: Number(word & PID_MASK) };
}

/** This process's start stamp never changes; /proc is read once. */
let selfStamp: number | undefined;

/** The start stamp of a running process; 'ESRCH' for a pid that is gone or a zombie. */
export function startStampOf(pid: number, op: string): number {
  if (pid === process.pid && selfStamp !== undefined) return selfStamp;
  const stat = readProcStat(pid);
  if (stat === null || stat.state === 'Z' || stat.state === 'X') {
    throw dpdkError('ESRCH', op, `process ${pid} is not running, so it cannot hold a slot`);
  }
  const stamp = startStamp(stat.startTicks);
  if (pid === process.pid) selfStamp = stamp;
  return stamp;
}

export class OwnedSlot {
  /** `at`: the byte offset of the owner words in `memzone`. */
  constructor(
    private readonly memzone: Memzone,
    private readonly at: number,
  ) {}

  /** The owner words of slot `index` of a zone, at its `field` (default 'owner'). */
  static of(zone: SharedZone, index: number, field = 'owner'): OwnedSlot {
    return new OwnedSlot(zone.memzone, zone.slotFieldOffset(index, [field]));
  }

  /** The current generation and holder. */
  read(): Ownership {
    return unpackOwnerWord(this.memzone.load64(this.at));
  }

  /**
   * The holder's pid (0: free) and the generation, each read as the 32-bit
   * half of the owner word it is (little-endian, as on every CPU this binding
   * builds for): no BigInt, so a watch can look every few milliseconds
   * without making garbage. Two loads, not one snapshot; decisions use read().
   */
  holderPid(): number {
    return this.memzone.load32(this.at);
  }

  generation(): number {
    return this.memzone.load32(this.at + 4);
  }

  /** The start stamp recorded for generation `g`, null while it is not (yet) recorded. */
  stampOf(g: number): number | null {
    const s = this.memzone.load64(this.at + ownerWords.offsets.stamp);
    return Number(s >> 32n) === g ? Number(s & PID_MASK) : null;
  }

  /** Whether `o` (default: the current holding) is held by a process that still runs and took it. */
  holderAlive(o: Ownership = this.read()): boolean {
    return o.pid !== 0 && ownerAlive(o.pid, this.stampOf(o.generation));
  }

  /**
   * One compare-exchange from (g, from) to (g+1, to); true if this call made
   * the change, and then, for a new holder, records its start stamp.
   */
  transition(g: number, from: number, to: number, toStamp = 0): boolean {
    const expected = packOwnerWord(g, from);
    const next = nextGeneration(g);
    if (this.memzone.compareExchange64(this.at, expected, packOwnerWord(next, to)) !== expected) return false;
    if (to !== 0) this.recordStamp(next, toStamp);
    return true;
  }

  /**
   * Records `stamp` for generation `g`, unless a later holding recorded its
   * own meanwhile (this one was taken over between its compare-exchange and
   * now): overwritten, the later holder would have no stamp, and its
   * liveness would fall back to its pid alone.
   */
  private recordStamp(g: number, stamp: number): void {
    const at = this.at + ownerWords.offsets.stamp;
    const word = packOwnerWord(g, stamp);
    let cur = this.memzone.load64(at);
    for (;;) {
      // How far the recorded generation is past g, modulo 2^32 (generations wrap).
      const ahead = (Number(cur >> 32n) - g) >>> 0;
      if (ahead !== 0 && ahead < 0x80000000) return;
      const seen = this.memzone.compareExchange64(at, cur, word);
      if (seen === cur) return;
      cur = seen;
    }
  }

  /** Takes a free slot for `pid` (default this process); null when it is held (read() says by whom). */
  claim(pid = process.pid): Ownership | null {
    const stamp = startStampOf(pid, 'claim');
    const o = this.read();
    if (o.pid !== 0 || !this.transition(o.generation, 0, pid, stamp)) return null;
    return { generation: nextGeneration(o.generation), pid };
  }

  /**
   * Takes the slot for `pid` whoever holds it: for the one process with
   * authority over the slot (a supervisor preparing it for its next child).
   */
  take(pid = process.pid): Ownership {
    const stamp = startStampOf(pid, 'take');
    for (;;) {
      const o = this.read();
      if (this.transition(o.generation, o.pid, pid, stamp)) return { generation: nextGeneration(o.generation), pid };
    }
  }

  /** Frees the slot if `o` still holds it; false when it was already released, reclaimed or handed on. */
  release(o: Ownership): boolean {
    return this.transition(o.generation, o.pid, 0);
  }

  /** Frees the slot if its holder is dead; returns the holding it freed, or null. */
  reclaimIfDead(): Ownership | null {
    const o = this.read();
    if (o.pid === 0 || this.holderAlive(o)) return null;
    return this.transition(o.generation, o.pid, 0) ? o : null;
  }
}

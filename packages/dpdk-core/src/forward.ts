/**
 * Fused forwarding primitives (native/forward.cc): each moves a whole burst in
 * one native call where JS would need one call per packet.
 *
 * - `RoundRobin` hands a burst's packets to N packet rings in turn, with a
 *   cursor that persists across bursts, enqueues each ring's share in bulk and
 *   drops (frees and counts) a share whose ring is full: it never blocks.
 *   Given ports to poll, `poll(n)` also runs the receive loop of DPDK's
 *   client_server_mp server n times in one call (read the next port's burst,
 *   distribute it): a call per burst costs that loop about a tenth of its rate.
 * - `PortForwarder` sends each packet out of the port paired with the one it
 *   arrived on, through TX buffers on one TX queue, and counts sent and
 *   dropped packets per port id in a BigUint64Array that may view shared
 *   memory (so another process can read the counters live). Given a name,
 *   its TX buffers live in memzones `forwarderBufferName(name, port)`, so
 *   the packets they hold when the process dies can be given back to their
 *   pool (`reclaimTxBuffer`), or are, by the next forwarder of that name.
 */
import { z } from 'zod';
import { burstId, type NativeBurst } from './burst';
import { MAX_PORTS } from './ethdev';
import { fastArgs, fastResult, frameNumber } from './fastcall';
import { MEMZONE_NAME_MAX, memzoneNameSchema, validate } from './memzone';
import { native } from './native';
import type { Ring } from './ring';

export interface NativeRoundRobin {
  /** The ring the next packet goes to. */
  readonly cursor: number;
  readonly size: number;
  /** Distributes every packet of the burst (it ends empty); returns how many were enqueued. */
  distribute(burst: NativeBurst): number;
  /**
   * Reads a burst from the next polled port and distributes it, `polls` times
   * (1..65536), going on from the port where the last call stopped; returns
   * how many packets were received. Needs `poll` options at creation.
   */
  poll(polls: number): number;
  /** Packets received by poll from the i-th polled port so far (read from the counters). */
  received(i: number): number;
  /** Packets enqueued to ring i so far. */
  enqueued(i: number): number;
  /** Packets dropped because ring i was full. */
  dropped(i: number): number;
  close(): void;
}

export interface NativePortForwarder {
  /** Packets waiting in the TX buffers. */
  readonly buffered: number;
  readonly closed: boolean;
  /** Packets freed because their input port had no pair. */
  readonly unroutable: number;
  /** Buffers every packet of the burst for its paired port (the burst ends empty); returns how many went out. */
  send(burst: NativeBurst): number;
  /** Sends what the TX buffers hold; returns how many went out. */
  flush(): number;
  /**
   * Takes up to `max` (default 32, at most 1024) packets from the `source`
   * ring and buffers them as send does, as one batch that a process dying
   * half way leaves undoable (see reclaimForwarder); returns how many it took.
   */
  forward(max?: number): number;
  /** Frees what is still buffered (counted as dropped) and the buffers. Idempotent. */
  free(): void;
}

type NativeRoundRobinHandle = Omit<NativeRoundRobin, 'distribute' | 'poll'> & {
  /** Through the frame (fastcall.ts): distribute(burstId), poll(polls). */
  fastPath(): { distribute(): void; poll(): void };
};
type NativePortForwarderHandle = Omit<NativePortForwarder, 'send' | 'flush' | 'forward'> & {
  /** Through the frame (fastcall.ts): send(burstId), flush(), forward(max). */
  fastPath(): { send(): void; flush(): void; forward(): void };
};

declare module './native' {
  interface NativeAddon {
    RoundRobin: new (rings: Array<Pick<Ring, 'name' | 'packets'>>, poll: RoundRobinPoll | undefined) => NativeRoundRobinHandle;
    PortForwarder: new (
      outByIn: number[],
      queue: number,
      bufferSize: number,
      counters: BigUint64Array,
      name: string | undefined,
      source: Pick<Ring, 'name' | 'packets'> | undefined,
    ) => NativePortForwarderHandle;
    reclaimForwarder(name: string): ReclaimedForwarder;
  }
}

// Handles: control through the native object, the packet path through
// functions bound to it (native/fastcall.h).
class RoundRobinHandle implements NativeRoundRobin {
  private readonly n: NativeRoundRobinHandle;
  private readonly fastDistribute: () => void;
  private readonly fastPoll: () => void;

  constructor(n: NativeRoundRobinHandle) {
    this.n = n;
    const fast = n.fastPath();
    this.fastDistribute = fast.distribute;
    this.fastPoll = fast.poll;
  }

  get cursor(): number {
    return this.n.cursor;
  }
  get size(): number {
    return this.n.size;
  }
  distribute(burst: NativeBurst): number {
    fastArgs[0] = burstId(burst);
    this.fastDistribute();
    return fastResult[0] as number;
  }
  poll(polls: number): number {
    fastArgs[0] = polls;
    this.fastPoll();
    return fastResult[0] as number;
  }
  received(i: number): number {
    return this.n.received(i);
  }
  enqueued(i: number): number {
    return this.n.enqueued(i);
  }
  dropped(i: number): number {
    return this.n.dropped(i);
  }
  close(): void {
    this.n.close();
  }
}

class PortForwarderHandle implements NativePortForwarder {
  private readonly n: NativePortForwarderHandle;
  private readonly fastSend: () => void;
  private readonly fastFlush: () => void;
  private readonly fastForward: () => void;
  /** An own property, as before: callers may keep it detached. */
  readonly flush = (): number => {
    this.fastFlush();
    return fastResult[0] as number;
  };

  constructor(n: NativePortForwarderHandle) {
    this.n = n;
    const fast = n.fastPath();
    this.fastSend = fast.send;
    this.fastFlush = fast.flush;
    this.fastForward = fast.forward;
  }

  get buffered(): number {
    return this.n.buffered;
  }
  get closed(): boolean {
    return this.n.closed;
  }
  get unroutable(): number {
    return this.n.unroutable;
  }
  send(burst: NativeBurst): number {
    fastArgs[0] = burstId(burst);
    this.fastSend();
    return fastResult[0] as number;
  }
  forward(max = 32): number {
    fastArgs[0] = frameNumber(max, 'max');
    this.fastForward();
    return fastResult[0] as number;
  }
  free(): void {
    this.n.free();
  }
}

const ringHandle = z.custom<Pick<Ring, 'name' | 'packets'>>((r) => typeof r === 'object' && r !== null && 'packets' in r, 'expected a Ring handle');

const ringsSchema = z
  .array(ringHandle)
  .min(1, 'give at least one ring')
  .max(1024, 'at most 1024 rings')
  .refine((rs) => rs.every((r) => r.packets), 'every ring must be a packet ring');

const portId = z.number().int().min(0).max(MAX_PORTS - 1);
/** Any BigUint64Array, including views of shared memory (an ArrayBufferLike). */
const counterArray = z.custom<BigUint64Array<ArrayBufferLike>>((v) => v instanceof BigUint64Array, 'expected a BigUint64Array');

const roundRobinSchema = z
  .object({
    /** Ports poll reads, in this order. */
    poll: z
      .object({
        ports: z.array(portId).min(1, 'give at least one port to poll').max(MAX_PORTS),
        /** The rx queue read on every port. */
        queue: z.number().int().min(0).max(1023).default(0),
        /** Packets asked for per read. */
        burstSize: z.number().int().min(1).max(1024).default(32),
        /** Packets received per polled port (by index in ports), e.g. a view of a shared memzone; kept inside when absent. */
        counters: counterArray.optional(),
      })
      .strict()
      .refine((p) => p.counters === undefined || p.counters.length >= p.ports.length, 'counters need an entry per polled port')
      .optional(),
  })
  .strict();

export type RoundRobinOptions = z.input<typeof roundRobinSchema>;
type RoundRobinPoll = NonNullable<z.output<typeof roundRobinSchema>['poll']>;

/** Round-robin distribution of bursts over packet rings (see the module comment). */
export function createRoundRobin(rings: ReadonlyArray<Pick<Ring, 'name' | 'packets'>>, opts: RoundRobinOptions = {}): NativeRoundRobin {
  const checked = [...validate(ringsSchema, rings, 'createRoundRobin', 'rings')];
  const o = validate(roundRobinSchema, opts, 'createRoundRobin', 'options');
  return new RoundRobinHandle(new native.RoundRobin(checked, o.poll));
}

/** Room for "_<port>" (port ids below 32) after a forwarder's name. */
const FORWARDER_NAME_MAX = MEMZONE_NAME_MAX - 3;

const forwarderSchema = z
  .object({
    /** Output port for each input port id. */
    pairs: z.map(portId, portId).refine((m) => m.size > 0, 'give at least one input -> output pair'),
    /** TX queue used on every output port. */
    queue: z.number().int().min(0).max(1023),
    /** Packets per TX buffer before it is sent by itself. */
    bufferSize: z.number().int().min(1).max(1024).default(32),
    /** Puts the TX buffers in memzones `<name>_<port>` (see forwarderBufferName) and a journal for forward() in memzone `<name>`. */
    name: memzoneNameSchema
      .refine((n) => n.length <= FORWARDER_NAME_MAX, `a forwarder name has at most ${FORWARDER_NAME_MAX} characters (its zones add _<port>)`)
      .optional(),
    /** tx[port id] at 0..31 and tx_drop[port id] at 32..63, e.g. a view of a shared memzone. */
    counters: counterArray.refine((a) => a.length >= 2 * MAX_PORTS, `counters need ${2 * MAX_PORTS} entries: tx[32] then tx_drop[32]`),
    /** The packet ring forward() takes from; it must have a single consumer. */
    source: ringHandle.refine((r) => r.packets, 'the source must be a packet ring').optional(),
  })
  .strict();

/** The memzone holding the TX buffer for output `port` of the forwarder named `name`. */
export function forwarderBufferName(name: string, port: number): string {
  return `${name}_${port}`;
}

export type PortForwarderOptions = z.input<typeof forwarderSchema>;

/** Paired-port forwarding through TX buffers (see the module comment). */
export function createPortForwarder(opts: PortForwarderOptions): NativePortForwarder {
  const o = validate(forwarderSchema, opts, 'createPortForwarder', 'options');
  const outByIn: number[] = new Array<number>(MAX_PORTS).fill(-1);
  for (const [from, to] of o.pairs) outByIn[from] = to;
  return new PortForwarderHandle(new native.PortForwarder(outByIn, o.queue, o.bufferSize, o.counters, o.name, o.source));
}

export interface ReclaimedForwarder {
  /** Packets freed from the dead forwarder's TX buffers. */
  reclaimed: number;
  /** Packets of its unfinished batch left in (given back to) the source ring. */
  requeued: number;
}

/**
 * For a named forwarder whose process is gone: settles the batch forward()
 * was in the middle of (what went to a TX buffer counts as taken, the rest
 * stays in the ring), gives back to their pool the packets its TX buffers
 * held, and frees its memzones. `ENOENT` if there is no such forwarder (never
 * named so, or freed by a clean exit), `EBUSY` while this process holds it.
 */
export function reclaimForwarder(name: string): ReclaimedForwarder {
  return native.reclaimForwarder(validate(memzoneNameSchema, name, 'reclaimForwarder', 'forwarder name'));
}

/**
 * The supervisor's control zone, declared on @mp/mp-ring's zones and shared
 * by the supervisor (the primary) and its slaves: one slot per process (each
 * slave, plus one per standby). Every field is a naturally aligned word with a
 * single writer, so no process can leave one half-written when it is killed:
 * that is why STOP/ACK travels through these words rather than through a ring
 * whose producer could die between reserving and publishing a slot.
 *
 * Each slot is an owned slot: the supervisor takes it for every process it
 * starts (a new generation), and the process adopts it from the supervisor
 * as it attaches, so "attached" means exactly that process holds it. The
 * supervisor's words and the slave's sit on different cache lines, so a busy
 * slave polling its command word does not contend with its own heartbeat
 * stores. The slave's counters are a struct the application declares.
 */
import { dpdkError, type Memzone } from '@mp/dpdk-core';
import { OwnedSlot, createZone, decode, declareZone, nextGeneration, openZone, ownerWords, t, type SharedZone, type StructType, type ViewOf } from '@mp/mp-ring';

export const COMMAND = {
  none: 0,
  /** Flush, ACK, exit. */
  stop: 1,
  /** Flush, ACK, stay attached without touching packets until resume (or stop). */
  pause: 2,
  resume: 3,
  /** To a standby: take the slave's role now (its pool and lcore cache were reclaimed). */
  promote: 4,
} as const;

export const SLAVE_STATE = {
  empty: 0,
  running: 1,
  stopping: 2,
  exited: 3,
  paused: 4,
  /** Attached and idle, waiting for promote; touches no pool or lcore cache. */
  standby: 5,
} as const;

export type SlaveState = 'empty' | 'running' | 'stopping' | 'exited' | 'paused' | 'standby';

const STATE_NAMES: Record<number, SlaveState> = {
  [SLAVE_STATE.empty]: 'empty',
  [SLAVE_STATE.running]: 'running',
  [SLAVE_STATE.stopping]: 'stopping',
  [SLAVE_STATE.exited]: 'exited',
  [SLAVE_STATE.paused]: 'paused',
  [SLAVE_STATE.standby]: 'standby',
};

/** The largest number of slots a control zone holds. */
export const MAX_SLOTS = 128;

/** A slave's counters: a struct of f64 fields (one writer, the slave; integers exact up to 2^53). */
export type CounterLayout = StructType;

/** No counters: the slot carries a one-byte placeholder. */
const noCounters = t.struct({ none: t.u8 });

/** The control zone's declaration for slaves whose counters are `counters`. */
export function controlZoneLayout<C extends CounterLayout>(counters: C | null) {
  return declareZone({
    kind: '@mp/recovery control zone',
    magic: 0x53555052, // "SUPR"
    version: 4,
    fields: t.struct({ supervisorPid: t.u32 }),
    slot: t.struct({
      owner: ownerWords,
      /** The supervisor's line: the latest request, its sequence number, the process's lcore id. */
      command: t.u32,
      commandSeq: t.u32,
      lcore: t.u32,
      /** The slave's line: bumped from its main loop; the commandSeq it has acted on; its state. */
      heartbeat: t.cacheAligned(t.u32),
      ackSeq: t.u32,
      state: t.u32,
      /** Date.now() when the slave stored its latest ackSeq: an ACK's latency is the slave's own, not the supervisor's polling delay. */
      ackAt: t.f64,
      counters: t.cacheAligned((counters ?? noCounters) as C),
    }),
    maxSlots: MAX_SLOTS,
  });
}

type Layout<C extends CounterLayout> = ReturnType<typeof controlZoneLayout<C>>;

export class ControlZone<C extends CounterLayout = CounterLayout> {
  private readonly owners: OwnedSlot[];

  private constructor(
    readonly zone: SharedZone<Layout<C>['fields'], Layout<C>['slot']>,
    private readonly counterLayout: C | null,
  ) {
    this.owners = Array.from({ length: zone.slotCount }, (_, i) => OwnedSlot.of(zone, i));
  }

  get memzone(): Memzone {
    return this.zone.memzone;
  }

  get slotCount(): number {
    return this.zone.slotCount;
  }

  /** Reserves and initialises the zone (in the supervisor, a primary). */
  static create<C extends CounterLayout>(name: string, slotCount: number, counters: C | null): ControlZone<C> {
    if (!Number.isInteger(slotCount) || slotCount < 1 || slotCount > MAX_SLOTS) {
      throw dpdkError('EINVAL', 'Supervisor', `slot count ${slotCount} is outside 1..${MAX_SLOTS}; declare fewer slaves`);
    }
    const zone = createZone(name, controlZoneLayout(counters), {
      slots: slotCount,
      init: (z) => {
        z.fields.supervisorPid = process.pid;
      },
    });
    return new ControlZone(zone, counters);
  }

  /** Opens a zone another process created, refusing one of another layout ('E_LAYOUT': other counters, or another version). */
  static attach<C extends CounterLayout>(name: string, counters: C | null): ControlZone<C> {
    return new ControlZone(openZone(name, controlZoneLayout(counters)), counters);
  }

  private at(slot: number, field: 'command' | 'commandSeq' | 'lcore' | 'heartbeat' | 'ackSeq' | 'state' | 'ackAt' | 'counters'): number {
    return this.zone.slotFieldOffset(slot, [field]);
  }

  /** The owner words of `slot`. */
  owner(slot: number): OwnedSlot {
    return this.owners[slot] as OwnedSlot;
  }

  get supervisorPid(): number {
    return this.zone.fields.supervisorPid;
  }

  /** Prepares a slot for a new process and takes it for the supervisor; returns the generation the process adopts. */
  prepare(slot: number, lcore: number): number {
    const mz = this.memzone;
    mz.store32(this.at(slot, 'state'), SLAVE_STATE.empty);
    mz.store32(this.at(slot, 'heartbeat'), 0);
    mz.store32(this.at(slot, 'command'), COMMAND.none);
    mz.store32(this.at(slot, 'ackSeq'), mz.load32(this.at(slot, 'commandSeq')));
    mz.store32(this.at(slot, 'lcore'), lcore);
    return this.owner(slot).take().generation;
  }

  /** Whether process `pid`, started for `generation`, has adopted the slot and runs. */
  attached(slot: number, generation: number, pid: number): boolean {
    const o = this.owner(slot).read();
    return o.generation === nextGeneration(generation) && o.pid === pid && this.state(slot) !== 'empty';
  }

  state(slot: number): SlaveState {
    return STATE_NAMES[this.memzone.load32(this.at(slot, 'state'))] ?? 'empty';
  }

  setState(slot: number, state: number): void {
    this.memzone.store32(this.at(slot, 'state'), state);
  }

  heartbeat(slot: number): number {
    return this.memzone.load32(this.at(slot, 'heartbeat'));
  }

  /** Posts a command; returns its sequence number, to compare with acked(). */
  command(slot: number, command: number): number {
    const mz = this.memzone;
    mz.store32(this.at(slot, 'command'), command);
    return (mz.add32(this.at(slot, 'commandSeq'), 1) + 1) >>> 0;
  }

  acked(slot: number, seq: number): boolean {
    return this.memzone.load32(this.at(slot, 'ackSeq')) === seq;
  }

  /** Milliseconds from `postedAt` (Date.now() when the command was posted) to the slave's latest ACK, by the slave's clock. */
  ackDelay(slot: number, postedAt: number): number {
    return Math.max(0, this.zone.slot(slot).ackAt - postedAt);
  }

  /** The slave's counters as a plain object (empty without declared counters). */
  counters(slot: number): Record<string, unknown> {
    if (this.counterLayout === null) return {};
    return decode(this.counterLayout, new DataView(this.memzone.view()), this.at(slot, 'counters')) as Record<string, unknown>;
  }

  /** Typed accessors over a slot's counters, for the slave that writes them. */
  counterView(slot: number): ViewOf<C> {
    return (this.zone.slot(slot) as unknown as { counters: ViewOf<C> }).counters;
  }

  resetCounters(slot: number): void {
    const c = this.counterLayout;
    if (c !== null) new Uint8Array(this.memzone.view(), this.at(slot, 'counters'), c.size).fill(0);
  }

  /** Offsets of the words SlaveLink's hot loop reads and writes through a typed array. */
  wordOffsets(slot: number): { heartbeat: number; command: number; commandSeq: number; ackSeq: number; state: number; ackAt: number } {
    return {
      heartbeat: this.at(slot, 'heartbeat'),
      command: this.at(slot, 'command'),
      commandSeq: this.at(slot, 'commandSeq'),
      ackSeq: this.at(slot, 'ackSeq'),
      state: this.at(slot, 'state'),
      ackAt: this.at(slot, 'ackAt'),
    };
  }

  /** Frees the zone (its creator, after every slave is gone), or drops this process's handle. */
  free(): void {
    this.zone.release();
  }
}

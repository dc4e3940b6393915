/**
 * The control memzone seen from the supervisor: slot bookkeeping, commands,
 * heartbeats. Slaves use SlaveLink (slave.ts) over the same layout.
 */
import { dpdkError, lookupMemzone, memzoneNameSchema, reserveMemzone, validate, type Memzone } from '@mp/dpdk-core';
import { COMMAND, COUNTER_COUNT, HEADER, LAYOUT_VERSION, MAGIC, MAX_SLOTS, SLAVE_STATE, SLOT, slotOffset, zoneBytes } from './layout';

export type SlaveState = 'empty' | 'running' | 'stopping' | 'exited' | 'paused' | 'standby';

const STATE_NAMES: Record<number, SlaveState> = {
  [SLAVE_STATE.empty]: 'empty',
  [SLAVE_STATE.running]: 'running',
  [SLAVE_STATE.stopping]: 'stopping',
  [SLAVE_STATE.exited]: 'exited',
  [SLAVE_STATE.paused]: 'paused',
  [SLAVE_STATE.standby]: 'standby',
};

export class ControlZone {
  private constructor(
    readonly memzone: Memzone,
    readonly slotCount: number,
  ) {}

  /** Reserves and initialises the zone (in the supervisor, a primary). */
  static create(name: string, slotCount: number): ControlZone {
    const n = validate(memzoneNameSchema, name, 'Supervisor', 'control zone name');
    if (!Number.isInteger(slotCount) || slotCount < 1 || slotCount > MAX_SLOTS) {
      throw dpdkError('EINVAL', 'Supervisor', `slot count ${slotCount} is outside 1..${MAX_SLOTS}; declare fewer slaves`);
    }
    const mz = reserveMemzone(n, { length: zoneBytes(slotCount), align: 64 });
    mz.store32(HEADER.version, LAYOUT_VERSION);
    mz.store32(HEADER.slotCount, slotCount);
    mz.store32(HEADER.supervisorPid, process.pid);
    mz.store32(HEADER.magic, MAGIC);
    return new ControlZone(mz, slotCount);
  }

  /** Opens a zone another process created, refusing one of another layout. */
  static attach(name: string): ControlZone {
    const mz = lookupMemzone(validate(memzoneNameSchema, name, 'attachSlave', 'control zone name'));
    if (mz.load32(HEADER.magic) !== MAGIC || mz.load32(HEADER.version) !== LAYOUT_VERSION) {
      mz.close();
      throw dpdkError(
        'EINVAL',
        'attachSlave',
        `memzone '${name}' is not a @mp/recovery control zone of layout ${LAYOUT_VERSION}; are supervisor and slave built from the same version?`,
      );
    }
    return new ControlZone(mz, mz.load32(HEADER.slotCount));
  }

  private at(slot: number, field: number): number {
    return slotOffset(slot) + field;
  }

  /** Prepares a slot for a new process; returns the new generation. */
  prepare(slot: number, lcore: number): number {
    const mz = this.memzone;
    mz.store32(this.at(slot, SLOT.state), SLAVE_STATE.empty);
    mz.store32(this.at(slot, SLOT.pid), 0);
    mz.store32(this.at(slot, SLOT.heartbeat), 0);
    mz.store32(this.at(slot, SLOT.command), COMMAND.none);
    mz.store32(this.at(slot, SLOT.ackSeq), mz.load32(this.at(slot, SLOT.commandSeq)));
    mz.store32(this.at(slot, SLOT.lcore), lcore);
    return (mz.add32(this.at(slot, SLOT.generation), 1) + 1) >>> 0;
  }

  generation(slot: number): number {
    return this.memzone.load32(this.at(slot, SLOT.generation));
  }

  /** Whether the process started for `generation` has attached and runs. */
  attached(slot: number, generation: number): boolean {
    return this.memzone.load32(this.at(slot, SLOT.attachedGen)) === generation && this.state(slot) !== 'empty';
  }

  state(slot: number): SlaveState {
    return STATE_NAMES[this.memzone.load32(this.at(slot, SLOT.state))] ?? 'empty';
  }

  heartbeat(slot: number): number {
    return this.memzone.load32(this.at(slot, SLOT.heartbeat));
  }

  pid(slot: number): number {
    return this.memzone.load32(this.at(slot, SLOT.pid));
  }

  /** Posts a command; returns its sequence number, to compare with acked(). */
  command(slot: number, command: number): number {
    const mz = this.memzone;
    mz.store32(this.at(slot, SLOT.command), command);
    return (mz.add32(this.at(slot, SLOT.commandSeq), 1) + 1) >>> 0;
  }

  acked(slot: number, seq: number): boolean {
    return this.memzone.load32(this.at(slot, SLOT.ackSeq)) === seq;
  }

  /** Milliseconds from `postedAt` (Date.now() when the command was posted) to the slave's latest ACK, by the slave's clock. */
  ackDelay(slot: number, postedAt: number): number {
    const ackAt = new Float64Array(this.memzone.view(), this.at(slot, SLOT.ackAt), 1)[0] as number;
    return Math.max(0, ackAt - postedAt);
  }

  counters(slot: number): number[] {
    const view = new Float64Array(this.memzone.view(), this.at(slot, SLOT.counters), COUNTER_COUNT);
    return Array.from(view);
  }

  resetCounters(slot: number): void {
    new Float64Array(this.memzone.view(), this.at(slot, SLOT.counters), COUNTER_COUNT).fill(0);
  }

  /** Frees the zone (its creator, after every slave is gone). */
  free(): void {
    if (this.memzone.closed) return;
    if (this.memzone.created) this.memzone.free();
    else this.memzone.close();
  }
}

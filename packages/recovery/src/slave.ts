/**
 * The slave's side of supervision, for a process the Supervisor started:
 * attach to the control zone, bump the heartbeat from the main loop, see
 * STOP and acknowledge it. tick() is two loads and a store on a typed array
 * over the shared memzone (no native call), so it can run every iteration
 * of a busy forwarding loop.
 */
import { z } from 'zod';
import { validate } from '@mp/dpdk-core';
import { ControlZone } from './control-zone';
import { recoveryError } from './errors';
import { COMMAND, COUNTER_COUNT, SLAVE_STATE, SLOT, slotOffset } from './layout';

/** Environment variables the Supervisor sets for each slave. */
export const SLAVE_ENV = {
  zone: 'MP_RECOVERY_ZONE',
  slot: 'MP_RECOVERY_SLOT',
  generation: 'MP_RECOVERY_GEN',
  name: 'MP_RECOVERY_NAME',
} as const;

const envSchema = z.object({
  [SLAVE_ENV.zone]: z.string().min(1),
  [SLAVE_ENV.slot]: z.coerce.number().int().min(0),
  [SLAVE_ENV.generation]: z.coerce.number().int().min(1),
  [SLAVE_ENV.name]: z.string().min(1),
});

export type SlaveCommand = 'stop';

export class SlaveLink {
  private readonly words: Uint32Array;
  private readonly hb: number;
  private readonly cmd: number;
  private readonly cmdSeq: number;
  private readonly ackSeq: number;
  private readonly stateIx: number;
  /** The slave's counters (single writer: this process); the supervisor reads and resets them. */
  readonly counters: Float64Array;

  private constructor(
    private readonly zone: ControlZone,
    readonly slot: number,
    readonly name: string,
    readonly generation: number,
  ) {
    const base = slotOffset(slot);
    this.words = new Uint32Array(zone.memzone.view());
    this.hb = (base + SLOT.heartbeat) / 4;
    this.cmd = (base + SLOT.command) / 4;
    this.cmdSeq = (base + SLOT.commandSeq) / 4;
    this.ackSeq = (base + SLOT.ackSeq) / 4;
    this.stateIx = (base + SLOT.state) / 4;
    this.counters = new Float64Array(zone.memzone.view(), base + SLOT.counters, COUNTER_COUNT);
  }

  /**
   * Attaches with what the Supervisor put in the environment (call after
   * initEal). With `exitWithParent` (default) the process exits when the
   * supervisor dies (its stdin pipe closes), the role PR_SET_PDEATHSIG played
   * in l2fwd_fork; that needs the event loop to run now and then.
   */
  static fromEnv(env: NodeJS.ProcessEnv = process.env, opts: { exitWithParent?: boolean } = {}): SlaveLink {
    const missing = Object.values(SLAVE_ENV).filter((k) => env[k] === undefined);
    if (missing.length > 0) {
      throw recoveryError('ENOENT', 'attachSlave', `${missing.join(', ')} not set: this process must be started by a @mp/recovery Supervisor`);
    }
    const e = validate(envSchema, env, 'attachSlave', 'supervisor environment');
    const zone = ControlZone.attach(e[SLAVE_ENV.zone]);
    const slot = e[SLAVE_ENV.slot];
    if (slot >= zone.slotCount) {
      throw recoveryError('EINVAL', 'attachSlave', `slot ${slot} is outside the control zone's ${zone.slotCount} slots`);
    }
    const generation = e[SLAVE_ENV.generation];
    if (zone.generation(slot) !== generation) {
      throw recoveryError(
        'ESRCH',
        'attachSlave',
        `slot ${slot} now belongs to generation ${zone.generation(slot)}, not ${generation}: the supervisor replaced this process`,
      );
    }
    const link = new SlaveLink(zone, slot, e[SLAVE_ENV.name], generation);
    link.announce();
    if (opts.exitWithParent ?? true) {
      process.stdin.on('end', () => process.exit(70));
      process.stdin.on('error', () => process.exit(70));
      process.stdin.resume();
    }
    return link;
  }

  private announce(): void {
    const mz = this.zone.memzone;
    const base = slotOffset(this.slot);
    mz.store32(base + SLOT.pid, process.pid);
    mz.store32(base + SLOT.attachedGen, this.generation);
    mz.store32(base + SLOT.state, SLAVE_STATE.running);
  }

  /** Bumps the heartbeat; true when a command waits for this slave (see command()). */
  tick(): boolean {
    const w = this.words;
    w[this.hb] = (w[this.hb] as number) + 1;
    return w[this.cmdSeq] !== w[this.ackSeq];
  }

  /** The pending command, or null. */
  command(): SlaveCommand | null {
    const w = this.words;
    if (w[this.cmdSeq] === w[this.ackSeq]) return null;
    return w[this.cmd] === COMMAND.stop ? 'stop' : null;
  }

  /** Acknowledges the pending command; after a STOP the slave should clean up and exit. */
  ack(): void {
    const mz = this.zone.memzone;
    const base = slotOffset(this.slot);
    if (this.words[this.cmd] === COMMAND.stop) mz.store32(base + SLOT.state, SLAVE_STATE.stopping);
    mz.store32(base + SLOT.ackSeq, mz.load32(base + SLOT.commandSeq));
  }

  /** Marks a clean exit; call right before exiting. */
  exiting(): void {
    this.zone.memzone.store32(slotOffset(this.slot) + SLOT.state, SLAVE_STATE.exited);
  }
}

/** Attaches to the supervisor from the environment: `const link = attachSlave()` after initEal. */
export function attachSlave(opts?: { exitWithParent?: boolean }): SlaveLink {
  return SlaveLink.fromEnv(process.env, opts);
}

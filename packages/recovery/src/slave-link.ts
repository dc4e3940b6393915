/**
 * The slave's side of supervision, for a process the Supervisor started:
 * attach to the control zone, bump the heartbeat from the main loop, see
 * STOP (or PAUSE) and acknowledge it. tick() is two loads and a store on a
 * typed array over the shared memzone (no native call), so it can run every
 * iteration of a busy forwarding loop. A warm standby waits in whenActive()
 * until the supervisor promotes it.
 */
import { z } from 'zod';
import { dpdkError, validate } from '@mp/dpdk-core';
import { startStampOf, type ViewOf } from '@mp/mp-ring';
import { COMMAND, ControlZone, SLAVE_STATE, type CounterLayout } from './control-zone';

/** Environment variables the Supervisor sets for each slave. */
export const SLAVE_ENV = {
  zone: 'MP_RECOVERY_ZONE',
  slot: 'MP_RECOVERY_SLOT',
  generation: 'MP_RECOVERY_GEN',
  name: 'MP_RECOVERY_NAME',
  /** 'active', or 'standby' for a warm spare waiting to be promoted. */
  role: 'MP_RECOVERY_ROLE',
  /** Heartbeat period (ms) of an idle standby, well inside the supervisor's hang timeout. */
  idleBeatMs: 'MP_RECOVERY_IDLE_BEAT_MS',
} as const;

const envSchema = z.object({
  [SLAVE_ENV.zone]: z.string().min(1),
  [SLAVE_ENV.slot]: z.coerce.number().int().min(0),
  [SLAVE_ENV.generation]: z.coerce.number().int().min(1),
  [SLAVE_ENV.name]: z.string().min(1),
  [SLAVE_ENV.role]: z.enum(['active', 'standby']).default('active'),
  [SLAVE_ENV.idleBeatMs]: z.coerce.number().int().min(1).max(60_000).default(50),
});

export type SlaveCommand = 'stop' | 'pause' | 'resume' | 'promote';

const COMMAND_NAMES: Record<number, SlaveCommand> = {
  [COMMAND.stop]: 'stop',
  [COMMAND.pause]: 'pause',
  [COMMAND.resume]: 'resume',
  [COMMAND.promote]: 'promote',
};

/**
 * How often a paused process looks at its command word when no wake-up
 * arrives on stdin (a pause lasts milliseconds, so polling is cheap).
 */
const PAUSED_POLL_MS = 1;

export class SlaveLink<C extends CounterLayout = CounterLayout> {
  private readonly words: Uint32Array;
  private readonly hb: number;
  private readonly cmd: number;
  private readonly cmdSeq: number;
  private readonly ackSeq: number;
  private readonly ackAt: Float64Array;
  /** The slave's counters as declared (single writer: this process); the supervisor reads and resets them. */
  readonly counters: ViewOf<C>;
  private standbyRole: boolean;
  /** The supervisor writes a byte to our stdin with every command: idle waits sleep until it (or the next beat). */
  private wakeOnStdin = false;
  private idleBeatMs = 50;

  private constructor(
    private readonly zone: ControlZone<C>,
    readonly slot: number,
    readonly name: string,
    readonly generation: number,
    standby: boolean,
  ) {
    this.standbyRole = standby;
    const at = zone.wordOffsets(slot);
    this.words = new Uint32Array(zone.memzone.view());
    this.hb = at.heartbeat / 4;
    this.cmd = at.command / 4;
    this.cmdSeq = at.commandSeq / 4;
    this.ackSeq = at.ackSeq / 4;
    this.ackAt = new Float64Array(zone.memzone.view(), at.ackAt, 1);
    this.counters = zone.counterView(slot);
  }

  /**
   * Attaches with what the Supervisor put in the environment (call after
   * initEal). With `exitWithParent` (default) the process exits when the
   * supervisor dies (its stdin pipe closes), the role PR_SET_PDEATHSIG played
   * in l2fwd_fork; that needs the event loop to run now and then.
   */
  static fromEnv<C extends CounterLayout = CounterLayout>(
    env: NodeJS.ProcessEnv = process.env,
    opts: { exitWithParent?: boolean; counters?: C } = {},
  ): SlaveLink<C> {
    const missing = Object.values(SLAVE_ENV).filter((k) => env[k] === undefined);
    if (missing.length > 0) {
      throw dpdkError('ENOENT', 'attachSlave', `${missing.join(', ')} not set: this process must be started by a @mp/recovery Supervisor`);
    }
    const e = validate(envSchema, env, 'attachSlave', 'supervisor environment');
    const zone = ControlZone.attach(e[SLAVE_ENV.zone], opts.counters ?? null);
    const slot = e[SLAVE_ENV.slot];
    if (slot >= zone.slotCount) {
      throw dpdkError('EINVAL', 'attachSlave', `slot ${slot} is outside the control zone's ${zone.slotCount} slots`);
    }
    const generation = e[SLAVE_ENV.generation];
    // Adopt the slot the supervisor took for this process: it fails if the supervisor has taken it again since.
    const owner = zone.owner(slot);
    if (!owner.transition(generation, zone.supervisorPid, process.pid, startStampOf(process.pid, 'attachSlave'))) {
      throw dpdkError(
        'ESRCH',
        'attachSlave',
        `slot ${slot} now belongs to generation ${owner.read().generation}, not ${generation}: the supervisor replaced this process`,
      );
    }
    const link = new SlaveLink(zone, slot, e[SLAVE_ENV.name], generation, e[SLAVE_ENV.role] === 'standby');
    link.idleBeatMs = e[SLAVE_ENV.idleBeatMs];
    zone.setState(slot, link.standbyRole ? SLAVE_STATE.standby : SLAVE_STATE.running);
    if (opts.exitWithParent ?? true) {
      link.wakeOnStdin = true;
      process.stdin.on('end', () => process.exit(70));
      process.stdin.on('error', () => process.exit(70));
      process.stdin.resume();
    }
    return link;
  }

  /** True while this process is a warm standby that was not promoted yet. */
  get standby(): boolean {
    return this.standbyRole;
  }

  /**
   * Resolves when this process holds the slave's role: at once for an active
   * process; for a standby when the supervisor promotes it, which it does
   * only after the dead predecessor's pool and lcore cache were repaired. Until
   * then the standby must not touch packet pools or queues; it keeps its
   * heartbeat going here. A STOP while waiting is acknowledged and `onStop`
   * runs (default: exit 0).
   */
  whenActive(opts: { onStop?: () => void } = {}): Promise<void> {
    if (!this.standbyRole) return Promise.resolve();
    const onStop =
      opts.onStop ??
      (() => {
        process.exit(0);
      });
    // Costs nothing while idle: woken by the supervisor's byte on stdin, with
    // a slow beat for the heartbeat (and in case a wake-up is missed).
    return new Promise((resolve) => {
      this.idleUntil(this.wakeOnStdin ? this.idleBeatMs : PAUSED_POLL_MS, (cmd) => {
        if (cmd === 'promote') {
          this.standbyRole = false;
          this.ack();
          resolve();
          return true;
        }
        if (cmd === 'stop') {
          this.ack();
          this.exiting();
          onStop();
          return true;
        }
        this.ack();
        return false;
      });
    });
  }

  /**
   * Call when command() is 'pause', after flushing what the slave buffered:
   * acknowledges, then idles (heartbeat going, no packets touched) until the
   * supervisor sends resume (acknowledged here: resolves 'resume') or stop
   * (not acknowledged: resolves 'stop'; clean up, ack() and exit).
   */
  pause(): Promise<'resume' | 'stop'> {
    this.ack();
    return new Promise((resolve) => {
      this.idleUntil(PAUSED_POLL_MS, (cmd) => {
        if (cmd === 'resume') {
          this.ack();
          resolve('resume');
          return true;
        }
        if (cmd === 'stop') {
          resolve('stop');
          return true;
        }
        this.ack();
        return false;
      });
    });
  }

  /** Beats every `beatMs` and on each stdin wake-up; hands pending commands to `handle` until it returns true. */
  private idleUntil(beatMs: number, handle: (cmd: SlaveCommand) => boolean): void {
    let done = false;
    const check = (): void => {
      if (done) return;
      const cmd = this.tick() ? this.command() : null;
      if (cmd !== null && handle(cmd)) {
        done = true;
        clearInterval(timer);
        if (this.wakeOnStdin) process.stdin.off('data', check);
      }
    };
    const timer = setInterval(check, beatMs);
    if (this.wakeOnStdin) process.stdin.on('data', check);
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
    return COMMAND_NAMES[w[this.cmd] as number] ?? null;
  }

  /** Acknowledges the pending command; after a STOP the slave should clean up and exit. */
  ack(): void {
    const mz = this.zone.memzone;
    const cmd = this.words[this.cmd];
    if (cmd === COMMAND.stop) this.zone.setState(this.slot, SLAVE_STATE.stopping);
    else if (cmd === COMMAND.pause) this.zone.setState(this.slot, SLAVE_STATE.paused);
    else if (cmd === COMMAND.resume || cmd === COMMAND.promote) this.zone.setState(this.slot, SLAVE_STATE.running);
    // Before the ackSeq store (a native call, so not reordered past it): the
    // supervisor reads the time once it sees the sequence.
    this.ackAt[0] = Date.now();
    mz.store32(this.ackSeq * 4, mz.load32(this.cmdSeq * 4));
  }

  /** Marks a clean exit; call right before exiting. */
  exiting(): void {
    this.zone.setState(this.slot, SLAVE_STATE.exited);
  }
}

/**
 * Attaches to the supervisor from the environment: `const link = attachSlave({ counters })`
 * after initEal, with the same counter layout the Supervisor was given.
 */
export function attachSlave<C extends CounterLayout = CounterLayout>(opts?: { exitWithParent?: boolean; counters?: C }): SlaveLink<C> {
  return SlaveLink.fromEnv(process.env, opts);
}

/**
 * Supervisor: runs in the primary and starts each slave as its own Node
 * process attached as a DPDK secondary of the same --file-prefix (never a
 * fork of the initialised primary). It is told at once when a slave exits
 * (the child's exit event: the role flib's slave_exit_notify played), kills a
 * slave whose heartbeat stops, stops the slaves that depend on a dead one
 * with STOP/ACK through the control zone, reclaims what each slave held and
 * restarts the group in dependency order under a restart policy.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { z } from 'zod';
import { dpdkError, validate } from '@mp/dpdk-core';
import { ControlZone } from './control-zone';
import { checkGraph, dependentsClosure, startWaves, stopWaves } from './deps';
import { COMMAND } from './layout';
import { decideRestart, recentCrashes, restartPolicySchema } from './policy';
import type { ReclaimResult, Resource } from './resources';
import { SLAVE_ENV } from './slave';

/** An lcore id held for a floating slave (an @mp/lcore-alloc lease fits). */
export interface Lease {
  readonly id: number;
  release(): void;
}

/** Hands out lcore ids for floating slaves. */
export interface LcoreLeaser {
  acquire(slave: string): Lease;
}

const lcoreIdSchema = z.number().int().min(0).max(127);

const slaveSpecSchema = z
  .object({
    name: z
      .string()
      .min(1)
      .max(64)
      .regex(/^[\w.-]+$/, 'use letters, digits, _ . -'),
    /** Script the slave runs (.ts runs through tsx). */
    entry: z.string().min(1),
    /** Application arguments, after `--`. */
    args: z.array(z.string()).default([]),
    /** Extra EAL arguments for this slave. */
    ealArgs: z.array(z.string()).default([]),
    /**
     * Pinned: run as lcore `id` on CPU `cpu` (`--lcores=id@cpu`; cpu defaults
     * to id). Floating: lease an id from the supervisor's leaser and float
     * over `cpus` (`--lcores=id@(cpus)`).
     */
    lcore: z.union([
      z.object({ id: lcoreIdSchema, cpu: z.union([z.number().int().min(0), z.string().regex(/^[\d,()-]+$/)]).optional() }).strict(),
      z.object({ floating: z.literal(true), cpus: z.string().regex(/^\d+(-\d+)?(,\d+(-\d+)?)*$/, 'a CPU list like "0-1"') }).strict(),
    ]),
    dependsOn: z.array(z.string()).default([]),
    /**
     * When a slave this one depends on dies: 'restart' stops this one too
     * (STOP, ACK, exit) and restarts it with the group; 'pause' only pauses
     * it (PAUSE, ACK, it stays attached and idle) and resumes it once the dead
     * slave is back, which is much faster than starting a process.
     */
    onDependencyExit: z.enum(['restart', 'pause']).default('restart'),
    /**
     * Keep a warm standby: a second process started the same way and attached
     * as a secondary, idle in SlaveLink.whenActive() and touching no pool or
     * lcore cache. After a crash, once the dead process's resources were
     * reclaimed, the standby is promoted instead of starting a new process,
     * and a new standby is started in the background. A floating slave's
     * standby holds its own lease; a pinned one's runs as the same lcore id,
     * which is safe because it touches nothing until promoted.
     */
    standby: z.boolean().default(false),
    env: z.record(z.string(), z.string()).default({}),
  })
  .strict();

export type SlaveSpecInput = z.input<typeof slaveSpecSchema> & { resources?: readonly Resource[] };
type SlaveSpec = z.output<typeof slaveSpecSchema> & { resources: readonly Resource[] };

const optionsSchema = z
  .object({
    /** The group's --file-prefix (the primary's). */
    filePrefix: z.string().min(1).max(64),
    /** Name of the control memzone. */
    zoneName: z.string().min(1).max(31).default('mp_recovery_ctl'),
    /** EAL arguments every slave gets before its own (memory, log level, ...). */
    ealArgs: z.array(z.string()).default([]),
    /** The program slaves run under and its options; .ts entries default to tsx. */
    command: z.string().default(process.execPath),
    execArgv: z.array(z.string()).optional(),
    /** The supervisor's own lcore ids: never flushed, never given to slaves. */
    ownLcores: z.array(lcoreIdSchema).default([]),
    heartbeatTimeoutMs: z.number().int().min(10).max(600_000).default(500),
    startTimeoutMs: z.number().int().min(100).max(600_000).default(15_000),
    ackTimeoutMs: z.number().int().min(1).max(60_000).default(100),
    exitTimeoutMs: z.number().int().min(10).max(60_000).default(2_000),
    checkIntervalMs: z.number().int().min(1).max(1_000).default(10),
    restart: restartPolicySchema.default(restartPolicySchema.parse({})),
    output: z.enum(['inherit', 'pipe', 'ignore']).default('inherit'),
  })
  .strict();

export type SupervisorOptionsInput = z.input<typeof optionsSchema> & {
  leaser?: LcoreLeaser;
  /**
   * Runs after a group is stopped and reclaimed and before it restarts: the
   * place for what only the primary can do (stop ports, repair or re-create
   * pools, set queues up again, start ports).
   */
  beforeRestart?: (group: GroupInfo) => void | Promise<void>;
};
type SupervisorOptions = z.output<typeof optionsSchema>;

export interface GroupInfo {
  /** Slaves that crashed, hung or failed to start. */
  readonly crashed: readonly string[];
  /** Those plus every slave depending on them (stopped by STOP/ACK). */
  readonly affected: readonly string[];
}

export type ExitReason = 'crashed' | 'hung' | 'start-timeout' | 'stopped' | 'ack-timeout';

export interface ExitEvent {
  name: string;
  pid: number;
  lcore: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  reason: ExitReason;
  /** ms since epoch when the supervisor saw it. */
  at: number;
  uptimeMs: number;
}

export interface SupervisorEvents {
  spawn: [{ name: string; pid: number; lcore: number; generation: number; role: 'active' | 'standby' }];
  /** The slave's process runs: started and attached, or a standby promoted (startMs: promote -> ACK). */
  ready: [{ name: string; pid: number; lcore: number; startMs: number; promoted: boolean }];
  'standby-ready': [{ name: string; pid: number; lcore: number; startMs: number }];
  'standby-exit': [{ name: string; pid: number; lcore: number; code: number | null; signal: NodeJS.Signals | null; reason: ExitReason; respawnInMs: number | null }];
  exit: [ExitEvent];
  hang: [{ name: string; pid: number; silentMs: number }];
  /**
   * ackMs: for 'acked', from posting the command to the slave's ACK by the
   * slave's own timestamp (the slave's reaction, not the supervisor's polling
   * delay); otherwise how long the supervisor waited.
   */
  stop: [{ name: string; pid: number; mode: 'stop' | 'pause'; outcome: 'acked' | 'ack-timeout' | 'not-attached' | 'exited'; ackMs: number }];
  resume: [{ name: string; pid: number; outcome: 'acked' | 'ack-timeout' | 'exited'; ackMs: number }];
  reclaim: [{ name: string; lcore: number; unaccountedBuffers: number; counters: number[]; resources: Array<{ label: string } & ReclaimResult> }];
  'reclaim-error': [{ name: string; label: string; error: Error }];
  'restart-scheduled': [{ name: string; delayMs: number; recentCrashes: number }];
  'gave-up': [{ name: string; reason: string; error: Error }];
  recovered: [{ crashed: string[]; affected: string[]; restarted: string[]; promoted: string[]; resumed: string[]; downtimeMs: number }];
  output: [{ name: string; stream: 'stdout' | 'stderr'; line: string }];
}

type SlaveStatus = 'down' | 'starting' | 'running' | 'paused' | 'stopping' | 'failed';

/** A warm standby process of a slave (see the `standby` option). */
interface Standby {
  slot: number;
  child: ChildProcess;
  pid: number;
  generation: number;
  lcore: number;
  lease: Lease | null;
  status: 'starting' | 'idle' | 'stopping';
  startedAt: number;
  lastBeat: number;
  lastBeatAt: number;
  endedBy: ExitReason | null;
  ready: Promise<boolean>;
  settleReady: (ok: boolean) => void;
  exited: Promise<void>;
  settleExited: () => void;
}

interface Runtime {
  spec: SlaveSpec;
  slot: number;
  status: SlaveStatus;
  child: ChildProcess | null;
  pid: number;
  generation: number;
  lcore: number;
  lease: Lease | null;
  startedAt: number;
  lastBeat: number;
  lastBeatAt: number;
  /** Why the supervisor itself ended this process, if it did. */
  endedBy: ExitReason | null;
  crashes: number[];
  restarts: number;
  /** The control-zone slot the standby uses (slots swap on promotion); -1 without standby. */
  spare: number;
  standby: Standby | null;
  standbyCrashes: number[];
  /** Set while a standby is being promoted into this slave's role (promote() reports readiness then). */
  promoting: boolean;
  ready: Promise<boolean>;
  settleReady: (ok: boolean) => void;
  exited: Promise<void>;
  settleExited: () => void;
  lastExit: ExitEvent | null;
}

export interface SlaveInfo {
  name: string;
  status: SlaveStatus;
  pid: number;
  lcore: number;
  restarts: number;
  counters: number[];
  standby: { pid: number; lcore: number; status: 'starting' | 'idle' | 'stopping' } | null;
}

export class Supervisor extends EventEmitter<SupervisorEvents> {
  private readonly opts: SupervisorOptions;
  private readonly leaser: LcoreLeaser | undefined;
  private readonly beforeRestart: SupervisorOptionsInput['beforeRestart'];
  private readonly slaves = new Map<string, Runtime>();
  private readonly order: SlaveSpec[] = [];
  private zone: ControlZone | null = null;
  private timer: NodeJS.Timeout | null = null;
  private pending = new Map<string, number>();
  private recovering: Promise<void> | null = null;
  private shuttingDown = false;
  private totalUnaccounted = 0;
  private readonly slotCount: number;

  constructor(options: SupervisorOptionsInput, slaves: readonly SlaveSpecInput[]) {
    super();
    const { leaser, beforeRestart, ...rest } = options;
    this.opts = validate(optionsSchema, rest, 'Supervisor', 'options');
    this.leaser = leaser;
    this.beforeRestart = beforeRestart;
    const specs = slaves.map((s, i) => {
      const { resources, ...plain } = s;
      const spec = validate(slaveSpecSchema, plain, 'Supervisor', `slave #${i}`);
      return { ...spec, resources: resources ?? [] };
    });
    checkGraph(specs);
    const pinned = new Map<number, string>();
    for (const s of specs) {
      if ('floating' in s.lcore) {
        if (!leaser) throw dpdkError('EINVAL', 'Supervisor', `slave '${s.name}' floats but no leaser was given; pass options.leaser (an @mp/lcore-alloc allocator)`);
        continue;
      }
      const other = pinned.get(s.lcore.id);
      if (other !== undefined || this.opts.ownLcores.includes(s.lcore.id)) {
        throw dpdkError(
          'EINVAL',
          'Supervisor',
          `lcore ${s.lcore.id} of slave '${s.name}' is already used by ${other !== undefined ? `slave '${other}'` : 'the supervisor'}; processes sharing a mempool need distinct lcore ids`,
        );
      }
      pinned.set(s.lcore.id, s.name);
    }
    let spare = specs.length;
    specs.forEach((spec, slot) => {
      this.order.push(spec);
      this.slaves.set(spec.name, this.newRuntime(spec, slot, spec.standby ? spare++ : -1));
    });
    this.slotCount = spare;
  }

  private newRuntime(spec: SlaveSpec, slot: number, spare: number): Runtime {
    const rt = {
      spec,
      slot,
      spare,
      standby: null,
      standbyCrashes: [],
      promoting: false,
      status: 'down',
      child: null,
      pid: 0,
      generation: 0,
      lcore: -1,
      lease: null,
      startedAt: 0,
      lastBeat: 0,
      lastBeatAt: 0,
      endedBy: null,
      crashes: [],
      restarts: 0,
      lastExit: null,
    } as unknown as Runtime;
    this.resetPromises(rt);
    rt.settleExited();
    return rt;
  }

  private resetPromises(rt: Runtime): void {
    rt.ready = new Promise((resolve) => {
      rt.settleReady = resolve;
    });
    rt.exited = new Promise((resolve) => {
      rt.settleExited = resolve;
    });
  }

  /** Total packet buffers reclaim could not account for, over every reclaim so far. */
  get unaccountedBuffers(): number {
    return this.totalUnaccounted;
  }

  /** Creates the control zone (EAL must be initialised as the primary) and starts every slave in dependency order. */
  async start(): Promise<void> {
    if (this.zone) throw dpdkError('EALREADY', 'Supervisor.start', 'the supervisor is already started');
    this.zone = ControlZone.create(this.opts.zoneName, this.slotCount);
    this.timer = setInterval(() => this.check(), this.opts.checkIntervalMs);
    for (const wave of startWaves(this.order)) {
      await Promise.all(wave.map((n) => this.spawnAndWait(this.get(n))));
    }
    // Standbys start once every slave runs, so they never delay the group.
    const standbys = [...this.slaves.values()].filter((rt) => rt.spec.standby).map((rt) => this.spawnStandby(rt));
    await Promise.all(standbys.map((sb) => sb?.ready));
  }

  private get(name: string): Runtime {
    const rt = this.slaves.get(name);
    if (!rt) throw dpdkError('ENOENT', 'Supervisor', `no slave named '${name}'`);
    return rt;
  }

  private liveLcores(except?: Runtime): Set<number> {
    const ids = new Set(this.opts.ownLcores);
    for (const rt of this.slaves.values()) {
      if (rt !== except && rt.child && rt.lcore >= 0) ids.add(rt.lcore);
    }
    return ids;
  }

  private ealArgsFor(rt: Runtime, lcore: number): string[] {
    const l = rt.spec.lcore;
    const lcoreArg = 'floating' in l ? `--lcores=${lcore}@(${l.cpus})` : `--lcores=${lcore}@${l.cpu ?? l.id}`;
    return ['--proc-type=secondary', `--file-prefix=${this.opts.filePrefix}`, lcoreArg, ...this.opts.ealArgs, ...rt.spec.ealArgs];
  }

  /** An lcore id for a new process of `rt`: the pinned id, or a fresh lease. */
  private lcoreFor(rt: Runtime): { lcore: number; lease: Lease | null } {
    const l = rt.spec.lcore;
    if (!('floating' in l)) return { lcore: l.id, lease: null };
    const lease = (this.leaser as LcoreLeaser).acquire(rt.spec.name);
    return { lcore: lease.id, lease };
  }

  private spawnSlave(rt: Runtime): void {
    const zone = this.zone as ControlZone;
    const { lcore, lease } = this.lcoreFor(rt);
    rt.lease = lease;
    rt.lcore = lcore;
    rt.generation = zone.prepare(rt.slot, rt.lcore);
    rt.endedBy = null;
    rt.status = 'starting';
    rt.startedAt = Date.now();
    rt.lastBeat = 0;
    rt.lastBeatAt = rt.startedAt;
    this.resetPromises(rt);
    const generation = rt.generation;
    const child = this.launch(rt, rt.slot, rt.lcore, generation, 'active');
    rt.child = child;
    rt.pid = child.pid ?? 0;
    this.emit('spawn', { name: rt.spec.name, pid: rt.pid, lcore: rt.lcore, generation, role: 'active' });
  }

  /**
   * Starts a process for `rt` in `slot` as `role`. Its exit goes to whichever
   * role the process holds by then: a standby may have been promoted.
   */
  private launch(rt: Runtime, slot: number, lcore: number, generation: number, role: 'active' | 'standby'): ChildProcess {
    const execArgv = this.opts.execArgv ?? (rt.spec.entry.endsWith('.ts') ? ['--import', require.resolve('tsx')] : []);
    const child = spawn(this.opts.command, [...execArgv, rt.spec.entry, ...this.ealArgsFor(rt, lcore), '--', ...rt.spec.args], {
      stdio: ['pipe', this.opts.output, this.opts.output],
      // Its own process group: a Ctrl-C at the terminal reaches the supervisor
      // only, which then shuts the group down in order; the slave still exits
      // with the supervisor (SlaveLink watches its stdin pipe).
      detached: true,
      env: {
        ...process.env,
        ...rt.spec.env,
        [SLAVE_ENV.zone]: this.opts.zoneName,
        [SLAVE_ENV.slot]: String(slot),
        [SLAVE_ENV.generation]: String(generation),
        [SLAVE_ENV.name]: rt.spec.name,
        [SLAVE_ENV.role]: role,
        [SLAVE_ENV.idleBeatMs]: String(Math.min(50, Math.max(1, Math.floor(this.opts.heartbeatTimeoutMs / 5)))),
      },
    });
    child.stdin?.on('error', () => undefined);
    if (this.opts.output === 'pipe') {
      this.forwardLines(rt.spec.name, 'stdout', child.stdout);
      this.forwardLines(rt.spec.name, 'stderr', child.stderr);
    }
    const ended = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (rt.child === child) this.onExit(rt, generation, child, code, signal);
      else if (rt.standby?.child === child) this.onStandbyExit(rt, rt.standby, code, signal);
    };
    child.on('error', () => ended(null, null));
    child.on('exit', ended);
    return child;
  }

  /** Starts a new standby for `rt` in its spare slot (nothing when one exists or during shutdown). */
  private spawnStandby(rt: Runtime): Standby | null {
    if (!this.zone || this.shuttingDown || rt.standby || rt.spare < 0 || rt.status === 'failed') return null;
    const { lcore, lease } = this.lcoreFor(rt);
    const generation = this.zone.prepare(rt.spare, lcore);
    const now = Date.now();
    const sb = { slot: rt.spare, pid: 0, generation, lcore, lease, status: 'starting', startedAt: now, lastBeat: 0, lastBeatAt: now, endedBy: null } as unknown as Standby;
    sb.ready = new Promise((resolve) => {
      sb.settleReady = resolve;
    });
    sb.exited = new Promise((resolve) => {
      sb.settleExited = resolve;
    });
    rt.standby = sb;
    sb.child = this.launch(rt, sb.slot, lcore, generation, 'standby');
    sb.pid = sb.child.pid ?? 0;
    this.emit('spawn', { name: rt.spec.name, pid: sb.pid, lcore, generation, role: 'standby' });
    return sb;
  }

  /**
   * Posts a command to a slot and wakes its process: an idle one (standby,
   * paused) sleeps on its stdin pipe; a busy one sees the word anyway.
   */
  private post(slot: number, command: number, child: ChildProcess): number {
    const seq = (this.zone as ControlZone).command(slot, command);
    if (child.stdin?.writable) child.stdin.write('\n');
    return seq;
  }

  private killStandby(sb: Standby, why: ExitReason): void {
    sb.endedBy ??= why;
    sb.status = 'stopping';
    try {
      sb.child.kill('SIGKILL');
    } catch {
      // Already gone: its exit event follows.
    }
  }

  /**
   * A standby ended (crashed, hung, stopped at shutdown). It never touched a
   * pool or a cache, so there is nothing to reclaim but its lease; another is
   * started after the restart policy's backoff, or none once that gives up
   * (the slave then restarts cold).
   */
  private onStandbyExit(rt: Runtime, sb: Standby, code: number | null, signal: NodeJS.Signals | null): void {
    if (rt.standby !== sb) return;
    rt.standby = null;
    sb.lease?.release();
    sb.settleReady(false);
    sb.settleExited();
    const reason: ExitReason = sb.endedBy ?? 'crashed';
    let respawnInMs: number | null = null;
    const now = Date.now();
    if (!this.shuttingDown && reason !== 'stopped' && rt.status !== 'failed') {
      const decision = decideRestart(this.opts.restart, rt.standbyCrashes, now);
      rt.standbyCrashes = recentCrashes([...rt.standbyCrashes, now], now, this.opts.restart.windowMs);
      if (decision.action === 'restart') respawnInMs = decision.delayMs;
    }
    this.emit('standby-exit', { name: rt.spec.name, pid: sb.pid, lcore: sb.lcore, code, signal, reason, respawnInMs });
    if (respawnInMs !== null) setTimeout(() => this.spawnStandby(rt), respawnInMs).unref();
  }

  /** STOPs the standby of `rt` (ACK, exit) or kills it; resolves when it is gone. */
  private async stopStandby(rt: Runtime): Promise<void> {
    const sb = rt.standby;
    if (!sb) return;
    const zone = this.zone as ControlZone;
    sb.endedBy = 'stopped';
    if (sb.status === 'starting') {
      // Not while it attaches: see stopSlave.
      await this.waitFor(() => sb.status !== 'starting' || rt.standby !== sb, this.opts.startTimeoutMs);
    }
    if (sb.status === 'idle') {
      sb.status = 'stopping';
      const seq = this.post(sb.slot, COMMAND.stop, sb.child);
      const acked = await this.waitFor(() => zone.acked(sb.slot, seq) || rt.standby !== sb, Math.max(this.opts.ackTimeoutMs, 1000));
      if (!acked) this.killStandby(sb, 'ack-timeout');
    } else {
      this.killStandby(sb, 'stopped');
    }
    const gone = await this.waitFor(() => rt.standby !== sb, this.opts.exitTimeoutMs);
    if (!gone) this.killStandby(sb, 'stopped');
    await sb.exited;
  }

  /**
   * Hands the slave's role to its idle standby: the slots swap, the standby
   * becomes the slave's process, and a new standby starts in the background.
   * Called only after the dead process was reclaimed (pool repaired, cache
   * flushed, lease released), so the promoted process finds them sound.
   */
  private async promote(rt: Runtime, sb: Standby): Promise<boolean> {
    const zone = this.zone as ControlZone;
    const t0 = Date.now();
    rt.standby = null;
    rt.spare = rt.slot;
    rt.slot = sb.slot;
    rt.child = sb.child;
    rt.pid = sb.pid;
    rt.generation = sb.generation;
    rt.lcore = sb.lcore;
    rt.lease = sb.lease;
    rt.endedBy = null;
    rt.status = 'starting';
    rt.startedAt = t0;
    rt.promoting = true;
    this.resetPromises(rt);
    const child = sb.child;
    const seq = this.post(rt.slot, COMMAND.promote, child);
    const acked = await this.waitFor(() => zone.acked(rt.slot, seq) || rt.child !== child, this.opts.startTimeoutMs);
    rt.promoting = false;
    if (rt.child !== child) return false;
    if (!acked) {
      this.kill(rt, 'start-timeout');
      return false;
    }
    const now = Date.now();
    rt.status = 'running';
    rt.lastBeat = zone.heartbeat(rt.slot);
    rt.lastBeatAt = now;
    this.emit('ready', { name: rt.spec.name, pid: rt.pid, lcore: rt.lcore, startMs: now - t0, promoted: true });
    rt.settleReady(true);
    setImmediate(() => this.spawnStandby(rt));
    return true;
  }

  /** The slave's next process: its standby when there is one (waiting for it to attach if it is starting), else a fresh one. */
  private async startOrPromote(rt: Runtime): Promise<boolean> {
    const sb = rt.standby;
    if (sb && sb.status === 'starting') await sb.ready;
    if (sb && rt.standby === sb && sb.status === 'idle' && !this.shuttingDown) return this.promote(rt, sb);
    return this.spawnAndWait(rt);
  }

  private forwardLines(name: string, stream: 'stdout' | 'stderr', readable: NodeJS.ReadableStream | null): void {
    if (!readable) return;
    let partial = '';
    readable.setEncoding('utf8');
    readable.on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) this.emit('output', { name, stream, line });
    });
  }

  private async spawnAndWait(rt: Runtime): Promise<boolean> {
    this.spawnSlave(rt);
    return rt.ready;
  }

  private onExit(rt: Runtime, generation: number, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (rt.child !== child || rt.generation !== generation) return;
    const at = Date.now();
    const reason: ExitReason = rt.endedBy ?? 'crashed';
    const ev: ExitEvent = { name: rt.spec.name, pid: rt.pid, lcore: rt.lcore, code, signal, reason, at, uptimeMs: at - rt.startedAt };
    rt.child = null;
    rt.lastExit = ev;
    rt.status = 'down';
    rt.settleReady(false);
    rt.settleExited();
    this.emit('exit', ev);
    if (reason === 'stopped' || reason === 'ack-timeout' || this.shuttingDown) return;
    this.pending.set(rt.spec.name, at);
    this.kick();
  }

  /** Periodic: readiness, heartbeats, start timeouts. */
  private check(): void {
    const zone = this.zone;
    if (!zone) return;
    const now = Date.now();
    for (const rt of this.slaves.values()) {
      const sb = rt.standby;
      if (sb?.status === 'starting') {
        if (zone.attached(sb.slot, sb.generation)) {
          sb.status = 'idle';
          sb.lastBeat = zone.heartbeat(sb.slot);
          sb.lastBeatAt = now;
          this.emit('standby-ready', { name: rt.spec.name, pid: sb.pid, lcore: sb.lcore, startMs: now - sb.startedAt });
          sb.settleReady(true);
        } else if (now - sb.startedAt > this.opts.startTimeoutMs) {
          this.killStandby(sb, 'start-timeout');
        }
      } else if (sb?.status === 'idle') {
        const silentMs = this.silence(zone, sb, now);
        if (silentMs > this.opts.heartbeatTimeoutMs) {
          this.emit('hang', { name: rt.spec.name, pid: sb.pid, silentMs });
          this.killStandby(sb, 'hung');
        }
      }
      if (!rt.child) continue;
      if (rt.status === 'starting') {
        // A promoted standby is attached already; promote() waits for its ACK.
        if (!rt.promoting && zone.attached(rt.slot, rt.generation)) {
          rt.status = 'running';
          rt.lastBeat = zone.heartbeat(rt.slot);
          rt.lastBeatAt = now;
          this.emit('ready', { name: rt.spec.name, pid: rt.pid, lcore: rt.lcore, startMs: now - rt.startedAt, promoted: false });
          rt.settleReady(true);
        } else if (now - rt.startedAt > this.opts.startTimeoutMs) {
          this.kill(rt, 'start-timeout');
        }
      } else if (rt.status === 'running' || rt.status === 'paused') {
        const silentMs = this.silence(zone, rt, now);
        if (silentMs > this.opts.heartbeatTimeoutMs) {
          this.emit('hang', { name: rt.spec.name, pid: rt.pid, silentMs });
          this.kill(rt, 'hung');
        }
      }
    }
  }

  /** How long the process in `p.slot` has not bumped its heartbeat (0 when it just did). */
  private silence(zone: ControlZone, p: { slot: number; lastBeat: number; lastBeatAt: number }, now: number): number {
    const beat = zone.heartbeat(p.slot);
    if (beat === p.lastBeat) return now - p.lastBeatAt;
    p.lastBeat = beat;
    p.lastBeatAt = now;
    return 0;
  }

  private kill(rt: Runtime, why: ExitReason): void {
    if (!rt.child) return;
    rt.endedBy = why;
    rt.status = 'stopping';
    try {
      rt.child.kill('SIGKILL');
    } catch {
      // Already gone: its exit event follows.
    }
  }

  private kick(): void {
    if (this.recovering || this.pending.size === 0 || this.shuttingDown) return;
    this.recovering = this.recoverLoop().finally(() => {
      this.recovering = null;
      this.kick();
    });
  }

  private async recoverLoop(): Promise<void> {
    while (this.pending.size > 0 && !this.shuttingDown) {
      const batch = new Map(this.pending);
      this.pending.clear();
      await this.recoverGroup(batch);
    }
  }

  private async recoverGroup(crashedAt: Map<string, number>): Promise<void> {
    const crashed = [...crashedAt.keys()];
    const since = Math.min(...crashedAt.values());
    const affected = dependentsClosure(this.order, crashed);
    // Decide first: dependents of a slave that is given up are stopped for
    // good rather than paused, since they cannot work without it.
    const failed = new Set<string>();
    const decisions = crashed.map((name) => {
      const rt = this.get(name);
      const at = crashedAt.get(name) as number;
      const decision = decideRestart(this.opts.restart, rt.crashes, at);
      rt.crashes = recentCrashes([...rt.crashes, at], Date.now(), this.opts.restart.windowMs);
      if (decision.action === 'give-up') failed.add(name);
      return { name, decision };
    });
    const blocked = new Set(dependentsClosure(this.order, failed));
    const toPause = new Set(
      affected.filter((n) => {
        const rt = this.get(n);
        return !crashedAt.has(n) && !blocked.has(n) && rt.spec.onDependencyExit === 'pause' && rt.child !== null;
      }),
    );
    const paused = await this.stopGroup(
      affected.filter((n) => !crashedAt.has(n)),
      toPause,
    );
    if (this.shuttingDown) return;
    // Paused slaves keep what they hold; everything else in the group is gone and reclaimed.
    const down = affected.filter((n) => !paused.has(n));
    await this.reclaimGroup(down);
    let delayMs = 0;
    for (const { name, decision } of decisions) {
      const rt = this.get(name);
      if (decision.action === 'give-up') {
        rt.status = 'failed';
        const error = dpdkError('ETIMEDOUT', 'Supervisor', `slave '${name}' ${decision.reason}`);
        this.emit('gave-up', { name, reason: decision.reason, error });
      } else {
        delayMs = Math.max(delayMs, decision.delayMs);
        this.emit('restart-scheduled', { name, delayMs: decision.delayMs, recentCrashes: decision.recentCrashes });
      }
    }
    for (const name of blocked) {
      const rt = this.get(name);
      if (rt.status !== 'failed') {
        rt.status = 'failed';
        const reason = `depends on a slave that was given up (${[...failed].join(', ')})`;
        this.emit('gave-up', { name, reason, error: dpdkError('ETIMEDOUT', 'Supervisor', `slave '${name}' ${reason}`) });
      }
    }
    await Promise.all([...blocked].map((n) => this.stopStandby(this.get(n))));
    const restart = down.filter((n) => !blocked.has(n));
    // A process restarted here must not be restarted again for a death the
    // stop phase already handled.
    for (const n of restart) this.pending.delete(n);
    if (restart.length === 0 && paused.size === 0) return;
    if (delayMs > 0) await this.sleep(delayMs);
    if (this.shuttingDown) return;
    if (this.beforeRestart) await this.beforeRestart({ crashed, affected });
    const promoted: string[] = [];
    for (const wave of startWaves(this.order, restart)) {
      const ok = await Promise.all(
        wave.map(async (n) => {
          const rt = this.get(n);
          rt.restarts++;
          const hadStandby = rt.standby !== null;
          const started = await this.startOrPromote(rt);
          if (started && hadStandby && rt.standby === null) promoted.push(n);
          return started;
        }),
      );
      if (ok.includes(false) || this.shuttingDown) return;
    }
    const resumed: string[] = [];
    for (const wave of startWaves(this.order, paused)) {
      const ok = await Promise.all(wave.map((n) => this.resumeSlave(this.get(n))));
      wave.forEach((n, i) => {
        if (ok[i]) resumed.push(n);
      });
    }
    this.emit('recovered', { crashed, affected, restarted: restart, promoted, resumed, downtimeMs: Date.now() - since });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  private async waitFor(cond: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      if (Date.now() >= deadline) return false;
      await this.sleep(1);
    }
    return true;
  }

  /**
   * STOP each live slave of `names` (PAUSE those in `pause`), dependents
   * first; kill those that do not ACK in time; wait until the stopped ones
   * have exited. Returns the slaves that are paused now.
   */
  private async stopGroup(names: readonly string[], pause: ReadonlySet<string> = new Set()): Promise<Set<string>> {
    const paused = new Set<string>();
    for (const wave of stopWaves(this.order, names)) {
      await Promise.all(
        wave.map(async (n) => {
          const rt = this.get(n);
          if (pause.has(n) && (await this.pauseSlave(rt))) paused.add(n);
          else await this.stopSlave(rt);
        }),
      );
    }
    return paused;
  }

  /** PAUSE a live slave; true when it acknowledged and stays attached. Otherwise it is stopped like stopSlave. */
  private async pauseSlave(rt: Runtime): Promise<boolean> {
    const zone = this.zone as ControlZone;
    const child = rt.child;
    if (!child || rt.status === 'starting' || rt.status === 'stopping') return false;
    const t0 = Date.now();
    const seq = this.post(rt.slot, COMMAND.pause, child);
    const acked = await this.waitFor(() => zone.acked(rt.slot, seq) || rt.child !== child, this.opts.ackTimeoutMs);
    if (acked && rt.child === child) {
      rt.status = 'paused';
      this.emit('stop', { name: rt.spec.name, pid: rt.pid, mode: 'pause', outcome: 'acked', ackMs: zone.ackDelay(rt.slot, t0) });
      return true;
    }
    this.emit('stop', { name: rt.spec.name, pid: rt.pid, mode: 'pause', outcome: acked ? 'exited' : 'ack-timeout', ackMs: Date.now() - t0 });
    if (!acked) this.kill(rt, 'ack-timeout');
    await this.waitFor(() => rt.child !== child, this.opts.exitTimeoutMs);
    if (rt.child === child) this.kill(rt, rt.endedBy ?? 'ack-timeout');
    await rt.exited;
    return false;
  }

  /** RESUME a paused slave; one that does not ACK is killed as hung (and recovered as such). */
  private async resumeSlave(rt: Runtime): Promise<boolean> {
    const zone = this.zone as ControlZone;
    const child = rt.child;
    if (!child || rt.status !== 'paused') return false;
    const t0 = Date.now();
    const seq = this.post(rt.slot, COMMAND.resume, child);
    const acked = await this.waitFor(() => zone.acked(rt.slot, seq) || rt.child !== child, Math.max(this.opts.ackTimeoutMs, 1000));
    if (acked && rt.child === child) {
      rt.status = 'running';
      this.emit('resume', { name: rt.spec.name, pid: rt.pid, outcome: 'acked', ackMs: zone.ackDelay(rt.slot, t0) });
      return true;
    }
    this.emit('resume', { name: rt.spec.name, pid: rt.pid, outcome: acked ? 'exited' : 'ack-timeout', ackMs: Date.now() - t0 });
    if (!acked) this.kill(rt, 'hung');
    return false;
  }

  private async stopSlave(rt: Runtime): Promise<void> {
    if (!rt.child) return;
    const zone = this.zone as ControlZone;
    const pid = rt.pid;
    if (rt.status === 'starting') {
      // Killing a secondary inside rte_eal_init interrupts its attach
      // handshake with the primary (IPC, shared memory locks); once, in CI, a
      // primary that had just done so never finished its own cleanup. Let it
      // finish attaching first: it takes a few hundred milliseconds.
      const child = rt.child;
      await this.waitFor(() => zone.attached(rt.slot, rt.generation) || rt.child !== child, this.opts.startTimeoutMs);
      if (rt.child !== child) return;
    }
    const t0 = Date.now();
    if (rt.status === 'starting' && !zone.attached(rt.slot, rt.generation)) {
      this.kill(rt, 'stopped');
      this.emit('stop', { name: rt.spec.name, pid, mode: 'stop', outcome: 'not-attached', ackMs: 0 });
    } else {
      rt.endedBy = 'stopped';
      rt.status = 'stopping';
      const child = rt.child;
      const seq = this.post(rt.slot, COMMAND.stop, child);
      const acked = await this.waitFor(() => zone.acked(rt.slot, seq) || rt.child !== child, this.opts.ackTimeoutMs);
      if (acked && zone.acked(rt.slot, seq)) {
        this.emit('stop', { name: rt.spec.name, pid, mode: 'stop', outcome: 'acked', ackMs: zone.ackDelay(rt.slot, t0) });
      } else if (acked) {
        this.emit('stop', { name: rt.spec.name, pid, mode: 'stop', outcome: 'exited', ackMs: Date.now() - t0 });
      } else {
        this.emit('stop', { name: rt.spec.name, pid, mode: 'stop', outcome: 'ack-timeout', ackMs: Date.now() - t0 });
        this.kill(rt, 'ack-timeout');
      }
    }
    const child = rt.child;
    const gone = await this.waitFor(() => rt.child !== child, this.opts.exitTimeoutMs);
    if (!gone) this.kill(rt, rt.endedBy ?? 'stopped');
    await rt.exited;
  }

  private async reclaimGroup(names: readonly string[]): Promise<void> {
    for (const wave of stopWaves(this.order, names)) {
      for (const n of wave) await this.reclaim(this.get(n));
    }
  }

  private async reclaim(rt: Runtime): Promise<void> {
    if (rt.lcore < 0) return;
    const zone = this.zone as ControlZone;
    const live = this.liveLcores(rt);
    // Unknown counts as killed: the cautious reading.
    const killed = rt.lastExit?.signal !== null;
    const results: Array<{ label: string } & ReclaimResult> = [];
    let unaccounted = 0;
    for (const res of rt.spec.resources) {
      try {
        const r = (await res.reclaim({ slave: rt.spec.name, lcore: rt.lcore, killed, lcoreInUse: (id) => live.has(id) })) ?? {};
        unaccounted += r.unaccountedBuffers ?? 0;
        results.push({ label: res.label, ...r });
      } catch (e) {
        this.emit('reclaim-error', { name: rt.spec.name, label: res.label, error: e instanceof Error ? e : new Error(String(e)) });
      }
    }
    const counters = zone.counters(rt.slot);
    zone.resetCounters(rt.slot);
    const lcore = rt.lcore;
    if (rt.lease) {
      rt.lease.release();
      rt.lease = null;
    }
    rt.lcore = -1;
    this.totalUnaccounted += unaccounted;
    this.emit('reclaim', { name: rt.spec.name, lcore, unaccountedBuffers: unaccounted, counters, resources: results });
  }

  /** Snapshot of every slave. */
  status(): SlaveInfo[] {
    const zone = this.zone;
    return this.order.map((s) => {
      const rt = this.get(s.name);
      return {
        name: s.name,
        status: rt.status,
        pid: rt.child ? rt.pid : 0,
        lcore: rt.lcore,
        restarts: rt.restarts,
        counters: zone && !zone.memzone.closed ? zone.counters(rt.slot) : [],
        standby: rt.standby ? { pid: rt.standby.pid, lcore: rt.standby.lcore, status: rt.standby.status } : null,
      };
    });
  }

  /** The live process of a slave, e.g. to signal it in a test or a demo; null when down. */
  pidOf(name: string): number | null {
    const rt = this.get(name);
    return rt.child ? rt.pid : null;
  }

  /** The idle standby process of a slave, e.g. to signal it in a test; null when it has none ready. */
  standbyPidOf(name: string): number | null {
    const sb = this.get(name).standby;
    return sb && sb.status === 'idle' ? sb.pid : null;
  }

  /** Resolves true when `name` has an idle standby, false when its standby attempt ended (or it has none). */
  whenStandbyReady(name: string): Promise<boolean> {
    return this.get(name).standby?.ready ?? Promise.resolve(false);
  }

  /** Resolves when `name` is running (true) or its current attempt ended (false). */
  whenReady(name: string): Promise<boolean> {
    return this.get(name).ready;
  }

  /**
   * Ordered shutdown: let a recovery in progress finish its current step,
   * STOP every slave (dependents first), kill those that do not ACK, reclaim
   * everything and free the control zone. The caller stops ports afterwards.
   */
  async shutdown(): Promise<{ unaccountedBuffers: number }> {
    if (this.shuttingDown) throw dpdkError('EALREADY', 'Supervisor.shutdown', 'shutdown is already in progress');
    this.shuttingDown = true;
    if (this.recovering) await this.recovering;
    const names = this.order.map((s) => s.name);
    // Standbys first: they hold nothing, and none may be promoted from now on.
    await Promise.all(names.map((n) => this.stopStandby(this.get(n))));
    await this.stopGroup(names);
    for (const n of names) await this.get(n).exited;
    await this.reclaimGroup(names.filter((n) => this.get(n).lcore >= 0));
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.zone?.free();
    this.zone = null;
    return { unaccountedBuffers: this.totalUnaccounted };
  }
}

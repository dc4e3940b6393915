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
import { validate } from '@mp/dpdk-core';
import { ControlZone } from './control-zone';
import { checkGraph, dependentsClosure, startWaves, stopWaves } from './deps';
import { recoveryError } from './errors';
import { COMMAND } from './layout';
import { decideRestart, restartPolicySchema, type RestartPolicy } from './policy';
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
  spawn: [{ name: string; pid: number; lcore: number; generation: number }];
  ready: [{ name: string; pid: number; lcore: number; startMs: number }];
  exit: [ExitEvent];
  hang: [{ name: string; pid: number; silentMs: number }];
  stop: [{ name: string; pid: number; outcome: 'acked' | 'ack-timeout' | 'not-attached' | 'exited'; ackMs: number }];
  reclaim: [{ name: string; lcore: number; unaccountedBuffers: number; counters: number[]; resources: Array<{ label: string } & ReclaimResult> }];
  'reclaim-error': [{ name: string; label: string; error: Error }];
  'restart-scheduled': [{ name: string; delayMs: number; recentCrashes: number }];
  'gave-up': [{ name: string; reason: string; error: Error }];
  recovered: [{ crashed: string[]; affected: string[]; restarted: string[]; downtimeMs: number }];
  output: [{ name: string; stream: 'stdout' | 'stderr'; line: string }];
}

type SlaveStatus = 'down' | 'starting' | 'running' | 'stopping' | 'failed';

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
        if (!leaser) throw recoveryError('EINVAL', 'Supervisor', `slave '${s.name}' floats but no leaser was given; pass options.leaser (an @mp/lcore-alloc allocator)`);
        continue;
      }
      const other = pinned.get(s.lcore.id);
      if (other !== undefined || this.opts.ownLcores.includes(s.lcore.id)) {
        throw recoveryError(
          'EINVAL',
          'Supervisor',
          `lcore ${s.lcore.id} of slave '${s.name}' is already used by ${other !== undefined ? `slave '${other}'` : 'the supervisor'}; processes sharing a mempool need distinct lcore ids`,
        );
      }
      pinned.set(s.lcore.id, s.name);
    }
    specs.forEach((spec, slot) => {
      this.order.push(spec);
      this.slaves.set(spec.name, this.newRuntime(spec, slot));
    });
  }

  private newRuntime(spec: SlaveSpec, slot: number): Runtime {
    const rt = { spec, slot, status: 'down', child: null, pid: 0, generation: 0, lcore: -1, lease: null, startedAt: 0, lastBeat: 0, lastBeatAt: 0, endedBy: null, crashes: [], restarts: 0, lastExit: null } as unknown as Runtime;
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
    if (this.zone) throw recoveryError('EALREADY', 'Supervisor.start', 'the supervisor is already started');
    this.zone = ControlZone.create(this.opts.zoneName, this.order.length);
    this.timer = setInterval(() => this.check(), this.opts.checkIntervalMs);
    for (const wave of startWaves(this.order)) {
      await Promise.all(wave.map((n) => this.spawnAndWait(this.get(n))));
    }
  }

  private get(name: string): Runtime {
    const rt = this.slaves.get(name);
    if (!rt) throw recoveryError('ENOENT', 'Supervisor', `no slave named '${name}'`);
    return rt;
  }

  private liveLcores(except?: Runtime): Set<number> {
    const ids = new Set(this.opts.ownLcores);
    for (const rt of this.slaves.values()) {
      if (rt !== except && rt.child && rt.lcore >= 0) ids.add(rt.lcore);
    }
    return ids;
  }

  private ealArgsFor(rt: Runtime): string[] {
    const l = rt.spec.lcore;
    const lcoreArg = 'floating' in l ? `--lcores=${rt.lcore}@(${l.cpus})` : `--lcores=${rt.lcore}@${l.cpu ?? l.id}`;
    return ['--proc-type=secondary', `--file-prefix=${this.opts.filePrefix}`, lcoreArg, ...this.opts.ealArgs, ...rt.spec.ealArgs];
  }

  private spawnSlave(rt: Runtime): void {
    const zone = this.zone as ControlZone;
    const l = rt.spec.lcore;
    if ('floating' in l) {
      rt.lease = (this.leaser as LcoreLeaser).acquire(rt.spec.name);
      rt.lcore = rt.lease.id;
    } else {
      rt.lcore = l.id;
    }
    rt.generation = zone.prepare(rt.slot, rt.lcore);
    rt.endedBy = null;
    rt.status = 'starting';
    rt.startedAt = Date.now();
    rt.lastBeat = 0;
    rt.lastBeatAt = rt.startedAt;
    this.resetPromises(rt);
    const execArgv = this.opts.execArgv ?? (rt.spec.entry.endsWith('.ts') ? ['--import', require.resolve('tsx')] : []);
    const generation = rt.generation;
    const child = spawn(this.opts.command, [...execArgv, rt.spec.entry, ...this.ealArgsFor(rt), '--', ...rt.spec.args], {
      stdio: ['pipe', this.opts.output, this.opts.output],
      // Its own process group: a Ctrl-C at the terminal reaches the supervisor
      // only, which then shuts the group down in order; the slave still exits
      // with the supervisor (SlaveLink watches its stdin pipe).
      detached: true,
      env: {
        ...process.env,
        ...rt.spec.env,
        [SLAVE_ENV.zone]: this.opts.zoneName,
        [SLAVE_ENV.slot]: String(rt.slot),
        [SLAVE_ENV.generation]: String(generation),
        [SLAVE_ENV.name]: rt.spec.name,
      },
    });
    rt.child = child;
    rt.pid = child.pid ?? 0;
    child.stdin?.on('error', () => undefined);
    if (this.opts.output === 'pipe') {
      this.forwardLines(rt.spec.name, 'stdout', child.stdout);
      this.forwardLines(rt.spec.name, 'stderr', child.stderr);
    }
    child.on('error', () => this.onExit(rt, generation, child, null, null));
    child.on('exit', (code, signal) => this.onExit(rt, generation, child, code, signal));
    this.emit('spawn', { name: rt.spec.name, pid: rt.pid, lcore: rt.lcore, generation });
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
      if (!rt.child) continue;
      if (rt.status === 'starting') {
        if (zone.attached(rt.slot, rt.generation)) {
          rt.status = 'running';
          rt.lastBeat = zone.heartbeat(rt.slot);
          rt.lastBeatAt = now;
          this.emit('ready', { name: rt.spec.name, pid: rt.pid, lcore: rt.lcore, startMs: now - rt.startedAt });
          rt.settleReady(true);
        } else if (now - rt.startedAt > this.opts.startTimeoutMs) {
          this.kill(rt, 'start-timeout');
        }
      } else if (rt.status === 'running') {
        const beat = zone.heartbeat(rt.slot);
        if (beat !== rt.lastBeat) {
          rt.lastBeat = beat;
          rt.lastBeatAt = now;
        } else if (now - rt.lastBeatAt > this.opts.heartbeatTimeoutMs) {
          this.emit('hang', { name: rt.spec.name, pid: rt.pid, silentMs: now - rt.lastBeatAt });
          this.kill(rt, 'hung');
        }
      }
    }
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
    await this.stopGroup(affected.filter((n) => !crashedAt.has(n)));
    if (this.shuttingDown) return;
    await this.reclaimGroup(affected);
    const failed = new Set<string>();
    let delayMs = 0;
    for (const name of crashed) {
      const rt = this.get(name);
      const decision = decideRestart(this.opts.restart, rt.crashes, crashedAt.get(name) as number);
      rt.crashes.push(crashedAt.get(name) as number);
      rt.crashes = rt.crashes.filter((t) => Date.now() - t < this.opts.restart.windowMs);
      if (decision.action === 'give-up') {
        failed.add(name);
        rt.status = 'failed';
        const error = recoveryError('ETIMEDOUT', 'Supervisor', `slave '${name}' ${decision.reason}`);
        this.emit('gave-up', { name, reason: decision.reason, error });
      } else {
        delayMs = Math.max(delayMs, decision.delayMs);
        this.emit('restart-scheduled', { name, delayMs: decision.delayMs, recentCrashes: decision.recentCrashes });
      }
    }
    // Dependents of a slave given up stay down with it: they cannot work without it.
    const blocked = new Set(dependentsClosure(this.order, failed));
    for (const name of blocked) {
      const rt = this.get(name);
      if (rt.status !== 'failed') {
        rt.status = 'failed';
        const reason = `depends on a slave that was given up (${[...failed].join(', ')})`;
        this.emit('gave-up', { name, reason, error: recoveryError('ETIMEDOUT', 'Supervisor', `slave '${name}' ${reason}`) });
      }
    }
    const restart = affected.filter((n) => !blocked.has(n));
    if (restart.length === 0) return;
    if (delayMs > 0) await this.sleep(delayMs);
    if (this.shuttingDown) return;
    if (this.beforeRestart) await this.beforeRestart({ crashed, affected });
    for (const wave of startWaves(this.order, restart)) {
      const ok = await Promise.all(
        wave.map((n) => {
          const rt = this.get(n);
          rt.restarts++;
          return this.spawnAndWait(rt);
        }),
      );
      if (ok.includes(false) || this.shuttingDown) return;
    }
    this.emit('recovered', { crashed, affected, restarted: restart, downtimeMs: Date.now() - since });
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

  /** STOP each live slave of `names`, dependents first; kill those that do not ACK in time; wait until all have exited. */
  private async stopGroup(names: readonly string[]): Promise<void> {
    for (const wave of stopWaves(this.order, names)) {
      await Promise.all(wave.map((n) => this.stopSlave(this.get(n))));
    }
  }

  private async stopSlave(rt: Runtime): Promise<void> {
    if (!rt.child) return;
    const zone = this.zone as ControlZone;
    const pid = rt.pid;
    const t0 = Date.now();
    if (rt.status === 'starting' && !zone.attached(rt.slot, rt.generation)) {
      this.kill(rt, 'stopped');
      this.emit('stop', { name: rt.spec.name, pid, outcome: 'not-attached', ackMs: 0 });
    } else {
      rt.endedBy = 'stopped';
      rt.status = 'stopping';
      const seq = zone.command(rt.slot, COMMAND.stop);
      const child = rt.child;
      const acked = await this.waitFor(() => zone.acked(rt.slot, seq) || rt.child !== child, this.opts.ackTimeoutMs);
      const ackMs = Date.now() - t0;
      if (acked) {
        this.emit('stop', { name: rt.spec.name, pid, outcome: zone.acked(rt.slot, seq) ? 'acked' : 'exited', ackMs });
      } else {
        this.emit('stop', { name: rt.spec.name, pid, outcome: 'ack-timeout', ackMs });
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
    const results: Array<{ label: string } & ReclaimResult> = [];
    let unaccounted = 0;
    for (const res of rt.spec.resources) {
      try {
        const r = (await res.reclaim({ slave: rt.spec.name, lcore: rt.lcore, lcoreInUse: (id) => live.has(id) })) ?? {};
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
      };
    });
  }

  /** The live process of a slave, e.g. to signal it in a test or a demo; null when down. */
  pidOf(name: string): number | null {
    const rt = this.get(name);
    return rt.child ? rt.pid : null;
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
    if (this.shuttingDown) throw recoveryError('EALREADY', 'Supervisor.shutdown', 'shutdown is already in progress');
    this.shuttingDown = true;
    if (this.recovering) await this.recovering;
    const names = this.order.map((s) => s.name);
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

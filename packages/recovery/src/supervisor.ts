/**
 * Supervisor: runs in the primary and keeps a group of slaves going. Each
 * slave's process is a SupervisedProcess (supervised-process.ts); this class
 * holds the group policy: start in dependency waves, tell a death at once
 * (the child's exit event: the role flib's slave_exit_notify played), kill a
 * slave whose heartbeat stops, stop (or pause) the slaves that depend on a
 * dead one with STOP/ACK, reclaim what each held, restart the group under a
 * restart policy, and keep warm standbys to promote instead of restarting.
 */
import { EventEmitter } from 'node:events';
import { dpdkError, validate } from '@mp/dpdk-core';
import { lcoreEalArgs } from '@mp/lcore-alloc';
import { ControlZone, type CounterLayout } from './control-zone';
import { checkGraph, dependentsClosure, startWaves, stopWaves } from './deps';
import { reclaimAll } from './resources';
import { decideRestart, recentCrashes } from './restart-policy';
import { SLAVE_ENV } from './slave-link';
import { SlaveRole, live, type RoleHost } from './slave-role';
import { STARVED_LIMITS, SupervisedProcess, type ProcessExit } from './supervised-process';
import {
  optionsSchema,
  slaveSpecSchema,
  type GroupInfo,
  type SlaveInfo,
  type SlaveSpec,
  type SlaveSpecInput,
  type SupervisorEvents,
  type SupervisorOptions,
  type SupervisorOptionsInput,
} from './supervisor-spec';

export class Supervisor<C extends CounterLayout = CounterLayout> extends EventEmitter<SupervisorEvents> implements RoleHost {
  readonly opts: SupervisorOptions;
  private readonly extra: Omit<SupervisorOptionsInput<C>, keyof SupervisorOptions>;
  private readonly slaves = new Map<string, SlaveRole>();
  private readonly order: SlaveSpec[] = [];
  private readonly slotCount: number;
  private zone: ControlZone<C> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private pending = new Map<string, number>();
  private recovering: Promise<void> | null = null;
  /**
   * While start() brings the waves up, deaths wait in `pending`: a recovery
   * running beside it would reclaim (and restart) a slave start() is just
   * launching, leaving two live processes on one lcore id.
   */
  private starting = false;
  private shuttingDown = false;
  private totalUnaccounted = 0;

  constructor(options: SupervisorOptionsInput<C>, slaves: readonly SlaveSpecInput[]) {
    super();
    const { allocator, counters, beforeRestart, ...rest } = options;
    this.opts = validate(optionsSchema, rest, 'Supervisor', 'options');
    this.extra = { allocator, counters, beforeRestart };
    const specs = slaves.map((s, i) => {
      const { resources, ...plain } = s;
      return { ...validate(slaveSpecSchema, plain, 'Supervisor', `slave #${i}`), resources: resources ?? [] };
    });
    checkGraph(specs);
    const pinned = new Map<number, string>();
    for (const s of specs) {
      if ('floating' in s.lcore) {
        if (!allocator) throw dpdkError('EINVAL', 'Supervisor', `slave '${s.name}' floats but no lcore allocator was given; pass options.allocator (an @mp/lcore-alloc LcoreAllocator)`);
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
      this.slaves.set(spec.name, new SlaveRole(spec, slot, spec.standby ? spare++ : -1, this));
    });
    this.slotCount = spare;
  }

  /** Total packet buffers reclaim could not account for, over every reclaim so far. */
  get unaccountedBuffers(): number {
    return this.totalUnaccounted;
  }

  /** Creates the control zone (EAL must be initialised as the primary) and starts every slave in dependency order. */
  async start(): Promise<void> {
    if (this.zone) throw dpdkError('EALREADY', 'Supervisor.start', 'the supervisor is already started');
    this.zone = ControlZone.create(this.opts.zoneName, this.slotCount, this.extra.counters ?? null);
    this.timer = setInterval(() => {
      const now = Date.now();
      for (const rt of this.slaves.values()) rt.check(now);
    }, this.opts.checkIntervalMs);
    this.starting = true;
    try {
      for (const wave of startWaves(this.order)) {
        await Promise.all(wave.map((n) => this.spawnAndWait(this.get(n))));
      }
    } finally {
      this.starting = false;
    }
    this.kick();
    // Standbys start once every slave runs, so they never delay the group.
    const standbys = [...this.slaves.values()].filter((rt) => rt.spec.standby).map((rt) => this.spawnStandby(rt));
    await Promise.all(standbys.map((sb) => sb?.ready));
  }

  private get(name: string): SlaveRole {
    const rt = this.slaves.get(name);
    if (!rt) throw dpdkError('ENOENT', 'Supervisor', `no slave named '${name}'`);
    return rt;
  }

  /**
   * Starts a process for `rt` in `slot` (its own or its spare) with a pinned
   * id or a fresh lease. Its exit goes to whichever role it holds by then: a
   * standby may have been promoted.
   */
  private launch(rt: SlaveRole, slot: number, role: 'active' | 'standby'): SupervisedProcess {
    const zone = this.zone as ControlZone<C>;
    const l = rt.spec.lcore;
    const lease = 'floating' in l ? (this.extra.allocator?.acquire({ reclaimDead: false }) ?? null) : null;
    const lcore = lease?.id ?? ('floating' in l ? -1 : l.id);
    const generation = zone.prepare(slot, lcore);
    const lcoreArgs = 'floating' in l ? lcoreEalArgs(lcore, l.cpus) : [`--lcores=${lcore}@${typeof l.cpu === 'string' ? `(${l.cpu})` : (l.cpu ?? l.id)}`];
    const proc = new SupervisedProcess(zone, {
      command: this.opts.command,
      // tsx's in-thread require hook: its ESM hooks (--import tsx) would cost
      // the slave V8's never-detached ArrayBuffer shortcut (@mp/dpdk-core's
      // README, Speed).
      execArgv: this.opts.execArgv ?? (rt.spec.entry.endsWith('.ts') ? ['--require', require.resolve('tsx/cjs')] : []),
      entry: rt.spec.entry,
      ealArgs: ['--proc-type=secondary', `--file-prefix=${this.opts.filePrefix}`, ...lcoreArgs, ...this.opts.ealArgs, ...rt.spec.ealArgs],
      args: rt.spec.args,
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
      output: this.opts.output,
      slot,
      generation,
      lcore,
      // A starved process is given as long for an ACK as for a heartbeat.
      starvedLimitMs: this.opts.heartbeatTimeoutMs * STARVED_LIMITS,
      lease,
      onLine: (stream, line) => this.emit('output', { name: rt.spec.name, stream, line }),
    });
    void proc.exited.then((exit) => {
      if (rt.proc === proc) this.onExit(rt, proc, exit);
      else if (rt.standby === proc) this.onStandbyExit(rt, proc, exit);
    });
    this.emit('spawn', { name: rt.spec.name, pid: proc.pid, lcore, generation, role });
    return proc;
  }

  private async spawnAndWait(rt: SlaveRole): Promise<boolean> {
    rt.status = 'starting';
    rt.reclaimed = false;
    rt.proc = this.launch(rt, rt.slot, 'active');
    return rt.proc.ready;
  }

  /**
   * Starts a new standby for `rt` in its spare slot (nothing when one exists
   * or during shutdown). A pinned one may start while the dead process of
   * its lcore id waits for its reclaim: its EAL init leaves a dead process's
   * pool activity record to the repair (@mp/dpdk-core).
   */
  spawnStandby(rt: SlaveRole): SupervisedProcess | null {
    if (!this.zone || this.shuttingDown || rt.standby || rt.spare < 0 || rt.status === 'failed') return null;
    try {
      rt.standby = this.launch(rt, rt.spare, 'standby');
    } catch (e) {
      // Called from timers too, where a throw would end the primary.
      this.emit('standby-error', { name: rt.spec.name, error: e instanceof Error ? e : new Error(String(e)) });
      return null;
    }
    rt.standbyStatus = 'starting';
    return rt.standby;
  }

  private onExit(rt: SlaveRole, proc: SupervisedProcess, exit: ProcessExit): void {
    // A slave given up while it still ran (its group's recovery failed) stays given up.
    const givenUp = rt.status === 'failed';
    if (!givenUp) rt.status = 'down';
    this.emit('exit', { name: rt.spec.name, pid: proc.pid, lcore: proc.lcore, ...exit });
    if (givenUp || exit.reason === 'stopped' || exit.reason === 'ack-timeout' || this.shuttingDown) return;
    this.pending.set(rt.spec.name, exit.at);
    this.kick();
  }

  /**
   * A standby ended (crashed, hung, stopped at shutdown). It never touched a
   * pool or a cache, so there is nothing to reclaim but its lease; another is
   * started after the restart policy's backoff, or none once that gives up
   * (the slave then restarts cold).
   */
  private onStandbyExit(rt: SlaveRole, sb: SupervisedProcess, exit: ProcessExit): void {
    rt.standby = null;
    sb.lease?.release();
    let respawnInMs: number | null = null;
    const now = Date.now();
    if (!this.shuttingDown && exit.reason !== 'stopped' && rt.status !== 'failed') {
      const decision = decideRestart(this.opts.restart, rt.standbyCrashes, now);
      rt.standbyCrashes = recentCrashes([...rt.standbyCrashes, now], now, this.opts.restart.windowMs);
      if (decision.action === 'restart') respawnInMs = decision.delayMs;
    }
    const { code, signal, reason } = exit;
    this.emit('standby-exit', { name: rt.spec.name, pid: sb.pid, lcore: sb.lcore, code, signal, reason, respawnInMs });
    if (respawnInMs !== null) setTimeout(() => this.spawnStandby(rt), respawnInMs).unref();
  }

  private kick(): void {
    if (this.starting || this.recovering || this.pending.size === 0 || this.shuttingDown) return;
    this.recovering = this.recoverLoop().finally(() => {
      this.recovering = null;
      this.kick();
    });
  }

  private async recoverLoop(): Promise<void> {
    while (this.pending.size > 0 && !this.shuttingDown) {
      const batch = new Map(this.pending);
      this.pending.clear();
      try {
        await this.recoverGroup(batch);
      } catch (e) {
        // A hook that threw (beforeRestart), or a lcore that could not be
        // leased: the group cannot be brought back. Said, not thrown: thrown,
        // it would end the primary, every other slave with it.
        const message = e instanceof Error ? e.message : String(e);
        for (const name of dependentsClosure(this.order, [...batch.keys()])) {
          this.giveUp(name, `its recovery failed: ${message}`, 'EIO', e instanceof Error ? e : undefined);
        }
      }
    }
  }

  /**
   * Gives slave `name` up, once: it is not restarted (a live one stays as it
   * is until shutdown), and `gave-up` says why, with `cause` or a DpdkError
   * `code` saying the same.
   */
  private giveUp(name: string, reason: string, code: string, cause?: Error): void {
    const rt = this.get(name);
    if (rt.status === 'failed') return;
    rt.status = 'failed';
    this.emit('gave-up', { name, reason, error: cause ?? dpdkError(code, 'Supervisor', `slave '${name}' ${reason}`) });
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
      const decision = decideRestart(this.opts.restart, rt.crashes, crashedAt.get(name) as number);
      rt.crashes = recentCrashes([...rt.crashes, crashedAt.get(name) as number], Date.now(), this.opts.restart.windowMs);
      if (decision.action === 'give-up') failed.add(name);
      return { name, decision };
    });
    const blocked = new Set(dependentsClosure(this.order, failed));
    const toPause = new Set(
      affected.filter((n) => !crashedAt.has(n) && !blocked.has(n) && this.get(n).spec.onDependencyExit === 'pause' && live(this.get(n).proc)),
    );
    const paused = await this.stopGroup(
      affected.filter((n) => !crashedAt.has(n)),
      toPause,
    );
    if (this.shuttingDown) return;
    // Paused slaves keep what they hold; everything else in the group is gone and reclaimed.
    const down = affected.filter((n) => !paused.has(n));
    const unreclaimed = await this.reclaimGroup(down);
    if (unreclaimed.size > 0) {
      // Rule 2 (docs/ARCHITECTURE.md): the lcore id of a process whose
      // reclaim failed is not given to a new one, so the slave is given up
      // with its lease kept, and so are its dependents: paused ones are
      // stopped and reclaimed now.
      for (const name of unreclaimed) this.giveUp(name, 'its resources could not be reclaimed (reclaim-error); its lcore id stays out of use', 'EIO');
      const cut = dependentsClosure(this.order, [...unreclaimed]).filter((n) => !blocked.has(n));
      const stillPaused = cut.filter((n) => paused.delete(n));
      await this.stopGroup(stillPaused);
      for (const n of await this.reclaimGroup(stillPaused)) unreclaimed.add(n);
      for (const n of cut) blocked.add(n);
    }
    let delayMs = 0;
    for (const { name, decision } of decisions) {
      if (unreclaimed.has(name)) continue;
      if (decision.action === 'give-up') {
        this.giveUp(name, decision.reason, 'ETIMEDOUT');
      } else {
        delayMs = Math.max(delayMs, decision.delayMs);
        this.emit('restart-scheduled', { name, delayMs: decision.delayMs, recentCrashes: decision.recentCrashes });
      }
    }
    for (const name of blocked) this.giveUp(name, `depends on a slave that was given up (${[...failed, ...unreclaimed].join(', ')})`, 'ETIMEDOUT');
    await Promise.all([...blocked].map((n) => this.get(n).stopStandby()));
    const restart = down.filter((n) => !blocked.has(n));
    // A process restarted here must not be restarted again for a death the
    // stop phase already handled.
    for (const n of restart) this.pending.delete(n);
    if (restart.length === 0 && paused.size === 0) return;
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    if (this.shuttingDown) return;
    if (this.extra.beforeRestart) await this.extra.beforeRestart({ crashed, affected } satisfies GroupInfo);
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
      const ok = await Promise.all(wave.map((n) => this.get(n).resume()));
      wave.forEach((n, i) => {
        if (ok[i]) resumed.push(n);
      });
    }
    this.emit('recovered', { crashed, affected, restarted: restart, promoted, resumed, downtimeMs: Date.now() - since });
  }

  /** The slave's next process: its standby when there is one (waiting for it to attach if it is starting), else a fresh one. */
  private async startOrPromote(rt: SlaveRole): Promise<boolean> {
    const sb = rt.standby;
    if (sb && rt.standbyStatus === 'starting') await sb.ready;
    if (sb && rt.standby === sb && rt.standbyStatus === 'idle' && !this.shuttingDown) return rt.promote(sb);
    return this.spawnAndWait(rt);
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
          if (pause.has(n) && (await rt.pause())) paused.add(n);
          else await rt.stop();
        }),
      );
    }
    return paused;
  }

  /** Reclaims each of `names`, dependents first; returns those whose reclaim failed. */
  private async reclaimGroup(names: readonly string[]): Promise<Set<string>> {
    const failed = new Set<string>();
    for (const wave of stopWaves(this.order, names)) {
      for (const n of wave) if (!(await this.reclaim(this.get(n)))) failed.add(n);
    }
    return failed;
  }

  /**
   * What the dead process of `rt` held, given back; then its counters are
   * reset and its lease released. False when a resource failed: the process
   * stays unreclaimed, its lease kept (tried again at shutdown).
   */
  private async reclaim(rt: SlaveRole): Promise<boolean> {
    const p = rt.proc;
    if (!p || rt.reclaimed) return true;
    const zone = this.zone as ControlZone<C>;
    const inUse = new Set(this.opts.ownLcores);
    for (const other of this.slaves.values()) if (other !== rt && live(other.proc) && !other.reclaimed) inUse.add(other.proc.lcore);
    // Unknown counts as killed: the cautious reading.
    const killed = p.ended?.signal !== null;
    const report = await reclaimAll(rt.spec.resources, { name: rt.spec.name, lcore: p.lcore, killed, lcoreInUse: (id) => inUse.has(id) });
    if (report.failed) {
      this.emit('reclaim-error', { name: rt.spec.name, label: report.failed.label, error: report.failed.error });
      return false;
    }
    const counters = zone.counters(p.slot);
    zone.resetCounters(p.slot);
    p.lease?.release();
    p.lease = null;
    rt.reclaimed = true;
    this.totalUnaccounted += report.unaccountedBuffers;
    this.emit('reclaim', { name: rt.spec.name, lcore: p.lcore, unaccountedBuffers: report.unaccountedBuffers, counters, resources: report.results });
    return true;
  }

  /** Snapshot of every slave. */
  status(): SlaveInfo[] {
    const zone = this.zone;
    return this.order.map((s) => {
      const rt = this.get(s.name);
      const p = rt.proc;
      const sb = rt.standby;
      return {
        name: s.name,
        status: rt.status,
        pid: live(p) ? p.pid : 0,
        lcore: p && !rt.reclaimed ? p.lcore : -1,
        restarts: rt.restarts,
        counters: zone && !zone.memzone.closed ? zone.counters(rt.slot) : {},
        standby: sb ? { pid: sb.pid, lcore: sb.lcore, status: rt.standbyStatus } : null,
      };
    });
  }

  /** The live process of a slave, e.g. to signal it in a test or a demo; null when down. */
  pidOf(name: string): number | null {
    const p = this.get(name).proc;
    return live(p) ? p.pid : null;
  }

  /** The idle standby process of a slave, e.g. to signal it in a test; null when it has none ready. */
  standbyPidOf(name: string): number | null {
    const rt = this.get(name);
    return rt.standby && rt.standbyStatus === 'idle' ? rt.standby.pid : null;
  }

  /** Resolves true when `name` has an idle standby, false when its standby attempt ended (or it has none). */
  whenStandbyReady(name: string): Promise<boolean> {
    return this.get(name).standby?.ready ?? Promise.resolve(false);
  }

  /** Resolves when `name` is running (true) or its current attempt ended (false). */
  whenReady(name: string): Promise<boolean> {
    return this.get(name).proc?.ready ?? Promise.resolve(false);
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
    await Promise.all(names.map((n) => this.get(n).stopStandby()));
    await this.stopGroup(names);
    for (const n of names) await this.get(n).proc?.exited;
    await this.reclaimGroup(names);
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.zone?.free();
    this.zone = null;
    return { unaccountedBuffers: this.totalUnaccounted };
  }
}

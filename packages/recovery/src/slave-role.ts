/**
 * One slave's role in the group: its spec, the process that holds the role
 * now, its warm standby, and the transitions of one slave (ready, hung,
 * paused, resumed, stopped, promoted). The Supervisor decides which slaves
 * go through which transition and in what order.
 */
import { COMMAND } from './control-zone';
import type { SupervisedProcess, ExitReason } from './supervised-process';
import { STARVED_LIMITS, waitFor } from './supervised-process';
import type { SlaveSpec, SlaveStatus, SupervisorEvents, SupervisorOptions } from './supervisor-spec';

/** What a role needs from its supervisor. */
export interface RoleHost {
  readonly opts: SupervisorOptions;
  emit<E extends keyof SupervisorEvents>(event: E, ...args: SupervisorEvents[E]): boolean;
  /** Starts a new standby for the role in the background. */
  spawnStandby(role: SlaveRole): void;
}

export const live = (p: SupervisedProcess | null): p is SupervisedProcess => p !== null && p.ended === null;

export class SlaveRole {
  status: SlaveStatus = 'down';
  /** The latest process (live, or dead and not yet reclaimed while `reclaimed` is false). */
  proc: SupervisedProcess | null = null;
  reclaimed = true;
  standby: SupervisedProcess | null = null;
  standbyStatus: 'starting' | 'idle' | 'stopping' = 'starting';
  crashes: number[] = [];
  standbyCrashes: number[] = [];
  restarts = 0;
  /** Set while a standby is being promoted (promote() reports readiness then). */
  private promoting = false;

  constructor(
    readonly spec: SlaveSpec,
    /** The control-zone slot of the role's process; the standby's (`spare`, -1 without) swaps with it on promotion. */
    public slot: number,
    public spare: number,
    private readonly host: RoleHost,
  ) {}

  get name(): string {
    return this.spec.name;
  }

  /** Periodic: readiness, start timeouts, heartbeats of the process and the standby. */
  check(now: number): void {
    const { opts } = this.host;
    const sb = this.standby;
    if (sb && this.standbyStatus === 'starting') {
      if (sb.attached()) {
        this.standbyStatus = 'idle';
        sb.markReady(now);
        this.host.emit('standby-ready', { name: this.name, pid: sb.pid, lcore: sb.lcore, startMs: now - sb.startedAt });
      } else if (now - sb.startedAt > opts.startTimeoutMs) {
        sb.kill(sb.endedBy ?? 'start-timeout');
      }
    } else if (sb && this.standbyStatus === 'idle') this.watchHeartbeat(sb, now);
    const p = this.proc;
    if (!live(p)) return;
    if (this.status === 'starting') {
      // A promoted standby is attached already; promote() waits for its ACK.
      if (!this.promoting && p.attached()) {
        this.status = 'running';
        p.markReady(now);
        this.host.emit('ready', { name: this.name, pid: p.pid, lcore: p.lcore, startMs: now - p.startedAt, promoted: false });
      } else if (now - p.startedAt > opts.startTimeoutMs) {
        this.kill(p, 'start-timeout');
      }
    } else if (this.status === 'running' || this.status === 'paused') {
      this.watchHeartbeat(p, now);
    }
  }

  private watchHeartbeat(p: SupervisedProcess, now: number): void {
    const silentMs = p.silence(now);
    // Silence before the first beat is set-up time, bounded like a start.
    const limit = p.beating ? this.host.opts.heartbeatTimeoutMs : this.host.opts.startTimeoutMs;
    if (silentMs <= limit) return;
    // Runnable but left without CPU is not hung, nor is dead and not yet
    // reaped: watched on, up to STARVED_LIMITS timeouts of silence, and a
    // starved one reported once.
    const starved = silentMs <= limit * STARVED_LIMITS ? p.starved(now) : null;
    if (starved === 'starved') this.host.emit('starved', { name: this.name, pid: p.pid, silentMs });
    if (starved !== null) return;
    this.host.emit('hang', { name: this.name, pid: p.pid, silentMs });
    if (p === this.standby) p.kill(p.endedBy ?? 'hung');
    else this.kill(p, 'hung');
  }

  kill(p: SupervisedProcess, why: ExitReason): void {
    if (this.proc === p && p.ended === null) this.status = 'stopping';
    p.kill(why);
  }

  /**
   * Hands the role to the idle standby: the slots swap, the standby becomes
   * the role's process, and a new standby starts in the background. Called
   * only after the dead process was reclaimed (pool repaired, cache flushed,
   * lease released), so the promoted process finds them sound.
   */
  async promote(sb: SupervisedProcess): Promise<boolean> {
    const t0 = Date.now();
    this.standby = null;
    this.spare = this.slot;
    this.slot = sb.slot;
    this.proc = sb;
    this.reclaimed = false;
    this.status = 'starting';
    this.promoting = true;
    const { outcome } = await sb.request(COMMAND.promote, this.host.opts.startTimeoutMs);
    this.promoting = false;
    if (outcome === 'exited') return false;
    if (outcome === 'ack-timeout') {
      this.kill(sb, 'start-timeout');
      return false;
    }
    const now = Date.now();
    this.status = 'running';
    sb.markReady(now);
    this.host.emit('ready', { name: this.name, pid: sb.pid, lcore: sb.lcore, startMs: now - t0, promoted: true });
    setImmediate(() => this.host.spawnStandby(this));
    return true;
  }

  /** PAUSE the live process; true when it acknowledged and stays attached. Otherwise it is stopped like stop(). */
  async pause(): Promise<boolean> {
    const p = this.proc;
    if (!live(p) || this.status === 'starting' || this.status === 'stopping') return false;
    const asked = await p.request(COMMAND.pause, this.host.opts.ackTimeoutMs);
    // An ACK from a process that has exited since is no pause.
    const { outcome, ackMs } = asked.outcome === 'acked' && p.ended !== null ? { outcome: 'exited' as const, ackMs: asked.ackMs } : asked;
    this.host.emit('stop', { name: this.name, pid: p.pid, mode: 'pause', outcome, ackMs });
    if (outcome === 'acked') {
      this.status = 'paused';
      return true;
    }
    if (outcome === 'ack-timeout') this.kill(p, 'ack-timeout');
    await p.end('ack-timeout', this.host.opts.exitTimeoutMs);
    return false;
  }

  /** RESUME the paused process; one that does not ACK is killed as hung (and recovered as such). */
  async resume(): Promise<boolean> {
    const p = this.proc;
    if (!live(p) || this.status !== 'paused') return false;
    const { outcome, ackMs } = await p.request(COMMAND.resume, Math.max(this.host.opts.ackTimeoutMs, 1000));
    this.host.emit('resume', { name: this.name, pid: p.pid, outcome, ackMs });
    if (outcome === 'acked') this.status = 'running';
    else if (outcome === 'ack-timeout') this.kill(p, 'hung');
    return outcome === 'acked';
  }

  /** STOP the live process (ACK, exit), killing it when it does not ACK in time; resolves once it has exited. */
  async stop(): Promise<void> {
    const { opts } = this.host;
    const p = this.proc;
    if (!live(p)) return;
    if (this.status === 'starting') {
      // Killing a secondary inside rte_eal_init interrupts its attach
      // handshake with the primary (IPC, shared memory locks); once, in CI, a
      // primary that had just done so never finished its own cleanup. Let it
      // finish attaching first: it takes a few hundred milliseconds.
      await waitFor(() => p.attached() || p.ended !== null, opts.startTimeoutMs);
      if (p.ended !== null) return;
    }
    if (this.status === 'starting' && !p.attached()) {
      this.kill(p, 'stopped');
      this.host.emit('stop', { name: this.name, pid: p.pid, mode: 'stop', outcome: 'not-attached', ackMs: 0 });
    } else {
      p.endedBy = 'stopped';
      this.status = 'stopping';
      const { outcome, ackMs } = await p.request(COMMAND.stop, opts.ackTimeoutMs);
      this.host.emit('stop', { name: this.name, pid: p.pid, mode: 'stop', outcome, ackMs });
      if (outcome === 'ack-timeout') this.kill(p, 'ack-timeout');
    }
    await p.end('stopped', opts.exitTimeoutMs);
  }

  /** STOPs the standby (ACK, exit) or kills it; resolves when it is gone. */
  async stopStandby(): Promise<void> {
    const { opts } = this.host;
    const sb = this.standby;
    if (!sb) return;
    sb.endedBy = 'stopped';
    if (this.standbyStatus === 'starting') {
      // Not while it attaches: see stop().
      await waitFor(() => this.standbyStatus !== 'starting' || sb.ended !== null, opts.startTimeoutMs);
    }
    if (this.standbyStatus === 'idle' && sb.ended === null) {
      this.standbyStatus = 'stopping';
      const { outcome } = await sb.request(COMMAND.stop, Math.max(opts.ackTimeoutMs, 1000));
      if (outcome === 'ack-timeout') sb.kill(sb.endedBy ?? 'ack-timeout');
    } else {
      sb.kill(sb.endedBy ?? 'stopped');
    }
    await sb.end('stopped', opts.exitTimeoutMs);
  }
}

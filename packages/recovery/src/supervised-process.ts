/**
 * One supervised process: launched as its own Node process attached as a
 * DPDK secondary (never a fork of the initialised primary), watched through
 * its slot of the control zone (attach, heartbeat), commanded (post, wait for
 * the ACK, kill on timeout) and followed to its exit. The Supervisor decides
 * what happens to a group of them; this type knows one process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { CLOCK_TICK_MS, readProcStat } from '@mp/dpdk-core';
import type { Lease } from '@mp/lcore-alloc';
import type { ControlZone } from './control-zone';

/** How long a silent, runnable process is watched before it is judged starved or hung. */
const STARVE_WINDOW_MS = 200;

/** The longest silence (in heartbeat timeouts) a starved process is given before it is killed anyway. */
export const STARVED_LIMITS = 10;

/**
 * Whether a process that does not answer is left without CPU rather than hung
 * or deaf: its main thread runnable (state R), and over a window of
 * STARVE_WINDOW_MS it ran less than a tenth of the time. A crowded machine
 * can leave a runnable process out that long (measured: 1.1 s beside 7 CPU
 * hogs on 2 CPUs). observe() says 'starved' the first time a window closes
 * so, 'watching' otherwise while the thread is runnable, null for a stopped,
 * sleeping or spinning process. An exited process whose exit the supervisor
 * has not read yet (a zombie, when the supervisor too is short of CPU) is
 * neither hung nor deaf: 'watching', until its exit event says how it ended.
 */
class StarvationWatch {
  /** When its CPU time was last read, and whether it was found starved. */
  private seen: { at: number; cpuTicks: number; found: boolean } | null = null;

  reset(): void {
    this.seen = null;
  }

  observe(pid: number, now: number): 'watching' | 'starved' | null {
    const stat = readProcStat(pid, pid);
    if (stat !== null && (stat.state === 'Z' || stat.state === 'X')) return 'watching';
    if (stat === null || stat.state !== 'R') {
      this.seen = null;
      return null;
    }
    const seen = this.seen;
    if (seen !== null && now - seen.at < STARVE_WINDOW_MS) return 'watching';
    if (seen !== null && (stat.cpuTicks - seen.cpuTicks) * CLOCK_TICK_MS >= (now - seen.at) / 10) {
      this.seen = null;
      return null;
    }
    this.seen = { at: now, cpuTicks: stat.cpuTicks, found: seen !== null };
    return seen !== null && !seen.found ? 'starved' : 'watching';
  }
}

export type ExitReason = 'crashed' | 'hung' | 'start-timeout' | 'stopped' | 'ack-timeout';

/** How a process ended. */
export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Why the supervisor ended it, or 'crashed' when it ended by itself. */
  reason: ExitReason;
  /** ms since epoch when the supervisor saw it. */
  at: number;
  uptimeMs: number;
}

export interface LaunchOptions {
  /** The program and its options (node, and tsx's loader for a .ts entry). */
  command: string;
  execArgv: readonly string[];
  entry: string;
  ealArgs: readonly string[];
  args: readonly string[];
  env: NodeJS.ProcessEnv;
  output: 'inherit' | 'pipe' | 'ignore';
  slot: number;
  generation: number;
  lcore: number;
  /** The lcore lease this process runs on, released by whoever reclaims it. */
  lease: Lease | null;
  /** How long, from a command, a process left without CPU is waited on for its ACK (see request()). */
  starvedLimitMs: number;
  /** Complete lines of its stdout/stderr, when output is 'pipe'. */
  onLine?: (stream: 'stdout' | 'stderr', line: string) => void;
}

/** What a command came to: acknowledged, not within the timeout, or the process exited first. */
export interface CommandOutcome {
  outcome: 'acked' | 'ack-timeout' | 'exited';
  /** For 'acked', from posting to the ACK by the process's own clock; otherwise how long the supervisor waited. */
  ackMs: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `cond` every millisecond; false if it still does not hold after `timeoutMs`. */
export async function waitFor(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() >= deadline) return false;
    await sleep(1);
  }
  return true;
}

export class SupervisedProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly slot: number;
  readonly generation: number;
  readonly lcore: number;
  lease: Lease | null;
  private readonly starvedLimitMs: number;
  readonly startedAt = Date.now();
  /** Why the supervisor itself ended this process, if it did. */
  endedBy: ExitReason | null = null;
  /** Resolves true once it is attached (or promoted) and running, false if it ends first. */
  readonly ready: Promise<boolean>;
  /** Resolves with how it ended. */
  readonly exited: Promise<ProcessExit>;
  private settleReady!: (ok: boolean) => void;
  private lastBeat = 0;
  private lastBeatAt = this.startedAt;
  /** Whether it has bumped its heartbeat since it became ready (attached is not yet looping). */
  private beaten = false;
  /** Its silences, watched for starvation (see starved()). */
  private readonly silentStarvation = new StarvationWatch();
  private exit: ProcessExit | null = null;

  constructor(
    private readonly zone: ControlZone,
    o: LaunchOptions,
  ) {
    this.slot = o.slot;
    this.generation = o.generation;
    this.lcore = o.lcore;
    this.lease = o.lease;
    this.starvedLimitMs = o.starvedLimitMs;
    this.ready = new Promise((resolve) => {
      this.settleReady = resolve;
    });
    this.child = spawn(o.command, [...o.execArgv, o.entry, ...o.ealArgs, '--', ...o.args], {
      stdio: ['pipe', o.output, o.output],
      // Its own process group: a Ctrl-C at the terminal reaches the supervisor
      // only, which then shuts the group down in order; the process still
      // exits with the supervisor (SlaveLink watches its stdin pipe).
      detached: true,
      env: o.env,
    });
    this.pid = this.child.pid ?? 0;
    this.child.stdin?.on('error', () => undefined);
    if (o.output === 'pipe' && o.onLine) {
      forwardLines(this.child.stdout, (line) => o.onLine?.('stdout', line));
      forwardLines(this.child.stderr, (line) => o.onLine?.('stderr', line));
    }
    this.exited = new Promise((resolve) => {
      const ended = (code: number | null, signal: NodeJS.Signals | null): void => {
        if (this.exit) return;
        const at = Date.now();
        this.exit = { code, signal, reason: this.endedBy ?? 'crashed', at, uptimeMs: at - this.startedAt };
        this.settleReady(false);
        resolve(this.exit);
      };
      this.child.on('error', () => ended(null, null));
      this.child.on('exit', ended);
    });
  }

  /** Whether it has exited (and how), null while it runs. */
  get ended(): ProcessExit | null {
    return this.exit;
  }

  /** Whether it has adopted its slot and runs. */
  attached(): boolean {
    return this.zone.attached(this.slot, this.generation, this.pid);
  }

  /** It runs: from now on its heartbeat is watched. */
  markReady(now = Date.now()): void {
    this.lastBeat = this.zone.heartbeat(this.slot);
    this.lastBeatAt = now;
    this.beaten = false;
    this.settleReady(true);
  }

  /** How long it has not bumped its heartbeat (0 when it just did). */
  silence(now: number): number {
    const beat = this.zone.heartbeat(this.slot);
    if (beat === this.lastBeat) return now - this.lastBeatAt;
    this.lastBeat = beat;
    this.lastBeatAt = now;
    this.beaten = true;
    this.silentStarvation.reset();
    return 0;
  }

  /** Whether it is silent because it gets no CPU rather than because it hangs (StarvationWatch). */
  starved(now: number): 'watching' | 'starved' | null {
    return this.silentStarvation.observe(this.pid, now);
  }

  /**
   * Whether its heartbeat has moved since it became ready. Until it does, the
   * process attached but is still setting up (loading code, creating its
   * vectors), which on a busy CPU can outlast a heartbeat timeout.
   */
  get beating(): boolean {
    return this.beaten;
  }

  /**
   * Posts a command and wakes the process: an idle one (standby, paused)
   * sleeps on its stdin pipe; a busy one sees the word anyway. Returns the
   * command's sequence number.
   */
  post(command: number): number {
    const seq = this.zone.command(this.slot, command);
    if (this.child.stdin?.writable) this.child.stdin.write('\n');
    return seq;
  }

  /**
   * Posts `command` and waits up to `timeoutMs` for its ACK (or the process's
   * exit). A process that is runnable but left without CPU is not deaf, as it
   * is not hung for the heartbeat: past the timeout it is waited on a window
   * at a time while it stays starved (StarvationWatch), up to the launch's
   * `starvedLimitMs` from the command (what a starved silence is given).
   */
  async request(command: number, timeoutMs: number): Promise<CommandOutcome> {
    const t0 = Date.now();
    const seq = this.post(command);
    const answered = (): boolean => this.zone.acked(this.slot, seq) || this.exit !== null;
    let settled = await waitFor(answered, timeoutMs);
    const starvation = new StarvationWatch();
    while (!settled && Date.now() - t0 < this.starvedLimitMs && starvation.observe(this.pid, Date.now()) !== null) {
      settled = await waitFor(answered, STARVE_WINDOW_MS);
    }
    if (settled && this.zone.acked(this.slot, seq)) return { outcome: 'acked', ackMs: this.zone.ackDelay(this.slot, t0) };
    return { outcome: settled ? 'exited' : 'ack-timeout', ackMs: Date.now() - t0 };
  }

  /** SIGKILL, remembering why. */
  kill(why: ExitReason): void {
    this.endedBy = why;
    try {
      this.child.kill('SIGKILL');
    } catch {
      // Already gone: its exit event follows.
    }
  }

  /**
   * Waits up to `timeoutMs` for it to exit by itself, kills it if it has not
   * (for the reason already given, else `why`), and waits for its exit.
   */
  async end(why: ExitReason, timeoutMs: number): Promise<ProcessExit> {
    if (!(await waitFor(() => this.exit !== null, timeoutMs))) this.kill(this.endedBy ?? why);
    return this.exited;
  }
}

function forwardLines(readable: NodeJS.ReadableStream | null, emit: (line: string) => void): void {
  if (!readable) return;
  let partial = '';
  readable.setEncoding('utf8');
  readable.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) emit(line);
  });
}

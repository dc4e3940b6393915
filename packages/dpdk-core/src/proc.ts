/**
 * Processes as /proc shows them: is the process that recorded a pid (an lcore
 * lease, a client slot, a DPDK socket file) still alive? A pid alone is not
 * enough: pids are reused, so whoever records one can also record the
 * process's start time.
 */
import fs from 'node:fs';

export interface ProcStat {
  /** Field 3: R, S, D, Z (zombie), X (dead), ... */
  state: string;
  /** Field 22: start time in clock ticks since boot; fixed for the life of a pid. */
  startTicks: bigint;
  /** Fields 14 and 15: CPU time used, user plus system, in clock ticks (CLOCK_TICK_MS each). */
  cpuTicks: number;
}

/** /proc's clock tick (USER_HZ, 100 on Linux whatever the kernel's own HZ). */
export const CLOCK_TICK_MS = 10;

/**
 * Parses /proc/<pid>/stat. The command name (field 2) is in parentheses and
 * may itself contain spaces and parentheses, so fields are counted from the
 * last ')'.
 */
export function parseProcStat(text: string): ProcStat | null {
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  const rest = text.slice(close + 1).trim().split(/\s+/);
  const state = rest[0];
  const start = rest[22 - 3];
  const cpuTicks = Number(rest[14 - 3]) + Number(rest[15 - 3]);
  if (state === undefined || start === undefined || !/^\d+$/.test(start) || !Number.isFinite(cpuTicks)) return null;
  return { state, startTicks: BigInt(start), cpuTicks };
}

/** A stat file's text; null when /proc has no such process, undefined when it cannot be read for another reason (EMFILE, say). */
function statText(file: string): string | null | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ESRCH' ? null : undefined;
  }
}

/**
 * null when there is no such process (or /proc does not show it). With
 * `thread`, that thread's own state and CPU time (the main thread's is
 * `thread` = pid); without, the process's (its CPU time summed over threads).
 */
export function readProcStat(pid: number, thread?: number): ProcStat | null {
  const text = statText(thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`);
  return typeof text === 'string' ? parseProcStat(text) : null;
}

/** What the lease records of a start time: its low 32 bits (497 days of ticks at 100 Hz). */
export function startStamp(startTicks: bigint): number {
  return Number(startTicks & 0xffffffffn);
}

/**
 * Whether `pid` still runs and is the same process whose start stamp was
 * recorded (null when unknown: then the pid alone decides). A zombie counts
 * as dead: it has exited, only its parent has not reaped it yet. Only a pid
 * /proc does not have is gone: a stat that cannot be read for another reason
 * (no file descriptor left, say) counts as alive, as the addon's owner check
 * does, since taking a live owner for dead would give what it holds a second
 * owner.
 */
export function ownerAlive(pid: number, recordedStamp: number | null): boolean {
  const text = statText(`/proc/${pid}/stat`);
  if (text === null) return false;
  const stat = text === undefined ? null : parseProcStat(text);
  if (stat === null) return true;
  if (stat.state === 'Z' || stat.state === 'X') return false;
  return recordedStamp === null || startStamp(stat.startTicks) === recordedStamp;
}

/**
 * Whether a process with this pid exists (kill(pid, 0)): a zombie or a reused
 * pid counts, so this is not ownerAlive; but it reads no file and allocates
 * nothing, for a look every few milliseconds between ownerAlive's full checks.
 */
export function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists, under a user we may not signal.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A process's command line (empty when it has gone or /proc hides it). */
export function processArgv(pid: number): string[] {
  try {
    const args = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    if (args[args.length - 1] === '') args.pop();
    return args;
  } catch {
    return [];
  }
}

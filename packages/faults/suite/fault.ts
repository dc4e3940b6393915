/**
 * What one fault came to, and what every fault is given to run: a budget of
 * rounds and time, and a seeded random source for the "random moments".
 */

export interface FaultRow {
  /** The program or app under fault: client-server, master-slave, or one CLI. */
  app: string;
  fault: string;
  /** How many times the fault was injected. */
  injected: number;
  /** How many of those the group recovered from (the fault's own criterion, in its notes). */
  recovered: number;
  /** Packets counted in but neither out nor dropped, from the ports' and processes' counters (null: no traffic counted). */
  lost: number | null;
  /** What was in flight at the faults, which bounds `lost` (null: no bound applies). */
  inFlight: number | null;
  /** Buffers missing from their pool after recovery and shutdown (the apps' one-owner audits). */
  leaked: number | null;
  /** Buffers the pool repairs reported they discarded from dead processes' caches (lost on purpose, never freed twice). */
  discarded: number | null;
  /** Buffers listed twice by those audits. */
  freedTwice: number | null;
  /** Errors with no message, a stack trace, a crash or a signal, or no hint of the fix. */
  unclear: number;
  /** What happened, in a few words each (shown under the table). */
  notes: string[];
}

export interface Budget {
  /** Injections of each repeated fault (random-moment kills and stops). */
  rounds: number;
  /** Date.now() after which repeated faults stop injecting. */
  deadline: number;
  random: () => number;
}

export interface Fault {
  app: string;
  name: string;
  run(budget: Budget): Promise<FaultRow>;
}

export function row(app: string, fault: string, init: Partial<FaultRow> = {}): FaultRow {
  return { app, fault, injected: 0, recovered: 0, lost: null, inFlight: null, leaked: null, discarded: null, freedTwice: null, unclear: 0, notes: [], ...init };
}

/** A seeded generator (mulberry32), so a run can be repeated with --seed. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A whole number of milliseconds in [min, max). */
export function between(random: () => number, min: number, max: number): number {
  return min + Math.floor(random() * (max - min));
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns a value or `timeoutMs` passes (then undefined). */
export async function until<T>(check: () => T | undefined | false, timeoutMs: number, everyMs = 20): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) return undefined;
    await sleep(everyMs);
  }
}

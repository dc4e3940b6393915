/**
 * Shared by the process suites: the master fixture prints one `EVENT {json}`
 * line per supervisor event; these read them.
 */
import type { Fixture } from '@mp/test-kit';

export type Ev = Record<string, unknown> & { type: string; name?: string };

export function events(f: Fixture): Ev[] {
  return f.stdoutLines.filter((l) => l.startsWith('EVENT ')).map((l) => JSON.parse(l.slice(6)) as Ev);
}

/** Waits for the `nth` (1-based) event matching `pred`. */
export async function waitEvent(f: Fixture, pred: (e: Ev) => boolean, nth = 1, timeoutMs = 30_000): Promise<Ev> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = events(f).filter(pred);
    if (found.length >= nth) return found[nth - 1] as Ev;
    if (f.exitStatus !== undefined) throw new Error(`master exited before the event\n${f.describe()}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for an event\n${f.describe()}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const is =
  (type: string, name?: string) =>
  (e: Ev): boolean =>
    e.type === type && (name === undefined || e.name === name);

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

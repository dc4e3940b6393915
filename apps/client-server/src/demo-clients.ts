/**
 * The demo's clients: one `mp-client --reattach` launcher per client, on
 * the lcore ids the demo gave them. Each launcher says on stdout when its
 * client attached ("handling packets") and when it left a dead group
 * ("waiting for a server"): the demo restarts a killed server only once
 * every client has left its group: a new primary with the same prefix takes
 * over the dead one's hugepage files, which must not be mapped (and locked)
 * by live processes any more.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';

const CPUS = os.availableParallelism();

export const bin = (name: string): string => path.join(__dirname, '..', 'bin', name);

/** The clients' launchers. */
export class Clients {
  readonly procs: ChildProcess[] = [];
  /** Per client: attached to the current group (between "handling packets" and "waiting for a server"). */
  private readonly attached: boolean[] = [];
  private readonly attachedOnce: Array<Promise<void>> = [];
  private listeners: Array<() => void> = [];

  constructor(
    ealArgs: readonly string[],
    lcores: readonly number[],
    onAttach: () => void,
    onUnexpectedExit: (client: number, code: number | null, signal: string | null) => void,
  ) {
    const pinned = CPUS > lcores.length;
    lcores.forEach((lcore, c) => {
      const where = pinned ? `${(c % (CPUS - 1)) + 1}` : `(0-${CPUS - 1})`;
      const argv = [bin('mp-client'), `--lcores=${lcore}@${where}`, '--proc-type=secondary', ...ealArgs, '--', '-n', String(c), '--reattach'];
      const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
      this.procs.push(child);
      this.attached.push(false);
      this.attachedOnce.push(
        new Promise((resolve) => {
          let line = '';
          child.stdout?.on('data', (chunk: Buffer) => {
            const lines = (line + chunk.toString()).split('\n');
            line = lines.pop() ?? '';
            for (const l of lines) {
              if (/handling packets/.test(l)) {
                this.attached[c] = true;
                onAttach();
                resolve();
              } else if (/waiting for a server/.test(l)) this.attached[c] = false;
              this.changed();
            }
          });
          child.on('exit', () => resolve());
        }),
      );
      child.on('exit', (code, signal) => {
        this.attached[c] = false;
        this.changed();
        if (code !== 0) onUnexpectedExit(c, code, signal);
      });
    });
  }

  /** Resolves once every client has attached for the first time (or exited). */
  get ready(): Promise<void> {
    return Promise.all(this.attachedOnce).then(() => undefined);
  }

  private changed(): void {
    const l = this.listeners;
    this.listeners = [];
    for (const f of l) f();
  }

  /** Resolves when no client is attached to a group, or after `ms`. */
  async left(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.attached.some((a, c) => a && this.procs[c]?.exitCode === null) && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.listeners.push(() => (clearTimeout(t), resolve()));
      });
    }
  }

  stop(sig: NodeJS.Signals): void {
    for (const p of this.procs) if (p.exitCode === null && p.signalCode === null) p.kill(sig);
  }

  exited(): Promise<void> {
    return Promise.all(this.procs.map((p) => (p.exitCode !== null || p.signalCode !== null ? undefined : new Promise((r) => p.on('exit', r))))).then(() => undefined);
  }
}


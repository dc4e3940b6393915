/**
 * A warm standby as a supervisor (the demo, a test) starts one: spawns
 * `mp-client [EAL options] -- -n ID --standby` (standby.ts) and says when it
 * is ready (attached and waiting) and when it has taken over client ID.
 * Kill the active client, or let it die: the server repairs its slot and the
 * standby forwards in its place, within milliseconds (README, "Fast restart").
 *
 * Give it the lcore id of the client it stands in for (pool caches are per
 * lcore id: the standby uses that id's cache only after the server has
 * repaired it, when the slot is free). Not started from a process that has
 * initialised EAL: no fork after rte_eal_init.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';

export interface ClientStandbyOptions {
  clientId: number;
  /** The client's EAL options: --file-prefix, --lcores (the active client's lcore id), ... */
  eal: readonly string[];
  /** Further client options, e.g. ['--stats-interval', '1']. */
  args?: readonly string[];
  /** Each line it prints, stdout and stderr (they are read here either way). */
  onLine?: (line: string) => void;
}

export interface StandbyExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const BIN = path.join(__dirname, '..', 'bin', 'mp-client');

export class ClientStandby {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves once it is attached and waiting for the slot; rejects if it exits first. */
  readonly ready: Promise<void>;
  /** Resolves once it has taken over and forwards; rejects if it exits first. */
  readonly promoted: Promise<void>;
  /** Resolves with how it ended. */
  readonly exited: Promise<StandbyExit>;

  constructor(readonly opts: ClientStandbyOptions) {
    this.child = spawn(process.execPath, [BIN, ...opts.eal, '--', '-n', String(opts.clientId), '--standby', ...(opts.args ?? [])], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (this.child.pid === undefined) throw new Error(`cannot start a standby for client ${opts.clientId}`);
    this.pid = this.child.pid;
    const tail: string[] = [];
    const waiters: Array<{ re: RegExp; resolve: () => void }> = [];
    const onLine = (line: string): void => {
      opts.onLine?.(line);
      tail.push(line);
      if (tail.length > 20) tail.shift();
      for (let i = waiters.length - 1; i >= 0; i--) {
        const w = waiters[i] as { re: RegExp; resolve: () => void };
        if (w.re.test(line)) {
          waiters.splice(i, 1);
          w.resolve();
        }
      }
    };
    readline.createInterface({ input: this.child.stdout as NodeJS.ReadableStream }).on('line', onLine);
    readline.createInterface({ input: this.child.stderr as NodeJS.ReadableStream }).on('line', onLine);
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
    const when = (re: RegExp, what: string): Promise<void> =>
      new Promise((resolve, reject) => {
        waiters.push({ re, resolve });
        void this.exited.then((e) =>
          reject(new Error(`standby for client ${opts.clientId} (pid ${this.pid}) exited (${e.code ?? e.signal}) before ${what}; its last lines:\n${tail.join('\n')}`)),
        );
      });
    this.ready = when(/^Client \d+ standby ready/, 'it was ready');
    this.promoted = when(/^Client process \d+ handling packets/, 'it took over');
    // Whoever waits on only one of them must not see the other's rejection as unhandled.
    this.ready.catch(() => undefined);
    this.promoted.catch(() => undefined);
  }

  /** Stops it (SIGINT: a standby detaches, a promoted one stops as a client does) and waits for its exit. */
  stop(signal: NodeJS.Signals = 'SIGINT'): Promise<StandbyExit> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}

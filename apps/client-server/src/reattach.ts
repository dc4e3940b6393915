/**
 * `mp-client ... -- -n N --reattach`: a client that outlives its server.
 *
 * EAL initialises once per process and Node has no execve, so the process
 * the user started (whose pid its parent knows) becomes a small launcher
 * without EAL: it runs the real client as its child, and when that child
 * exits with EXIT.peerGone (the server died; the child abandoned the group
 * without touching its shared state) the next child attaches to the next
 * server with the same --file-prefix. Any other end of the child is the
 * launcher's own: its exit code, or the signal that killed it.
 *
 * The next child is started as a standby as soon as the current one has
 * joined: Node and the addon load while the group runs, and it waits for its
 * `go` (given when the current child has exited) and then for a ready server
 * of a new generation (reattach-child.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { primaryProcessAlive } from '@mp/dpdk-core';
import { EXIT, STOP_SIGNALS } from '@mp/dpdk-core/cli';
import { REATTACH_ENV, launcherMessage } from './reattach-child';

/** How often the launcher checks the primary of a child between EAL start and join. */
const WATCH_MS = 200;

/** One child process of the launcher. */
class Child {
  readonly proc: ChildProcess;
  readonly ended: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private state: 'loading' | 'waiting' | 'attaching' | 'joined' = 'loading';
  private turn = false;
  private killedForPrimary = false;

  constructor(bin: string, argv: readonly string[], after: number, prefix: string, joined: (generation: number) => void) {
    this.proc = spawn(process.execPath, [bin, ...argv], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, [REATTACH_ENV]: String(after) } });
    this.proc.on('message', (m: unknown) => {
      const r = launcherMessage.safeParse(m);
      if (!r.success || r.data.state === 'go') return;
      this.state = r.data.state;
      if (r.data.state === 'waiting') this.maybeGo();
      if (r.data.state === 'joined') joined(r.data.generation);
    });
    // A secondary whose primary dies while it attaches may wait in EAL for ever (for the
    // primary to finish its initialisation): killed, it counts as having lost its server.
    const watch = setInterval(() => {
      if (this.state !== 'attaching' || primaryProcessAlive(prefix)) return;
      this.killedForPrimary = true;
      this.proc.kill('SIGKILL');
    }, WATCH_MS);
    this.ended = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => {
        clearInterval(watch);
        resolve(this.killedForPrimary ? { code: EXIT.peerGone, signal: null } : { code, signal });
      });
    });
  }

  /** Its turn: it may attach once a server of a new generation is ready. */
  go(): void {
    this.turn = true;
    this.maybeGo();
  }

  private maybeGo(): void {
    if (this.turn && this.state === 'waiting') this.proc.send({ state: 'go' }, undefined, {}, () => undefined);
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }
}

/**
 * The launcher: runs `mp-client argv` (without --reattach) until it ends
 * other than by its server's death. Returns the exit code to leave with.
 */
export async function runReattaching(argv: readonly string[], prefix: string, clientId: number): Promise<number> {
  const bin = path.join(__dirname, '..', 'bin', 'mp-client');
  const childArgv = argv.filter((a) => a !== '--reattach');
  const say = (line: string): void => void process.stdout.write(`mp-client ${clientId}: ${line}\n`);
  let after = 0;
  let standby: Child | undefined;
  const start = (): Child =>
    new Child(bin, childArgv, after, prefix, (generation) => {
      after = generation;
      say(`joined the group of generation ${generation}`);
      standby = start();
    });
  let current = start();
  let stopping = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    stopping = true;
    if (current.running) current.proc.kill(sig);
    if (standby?.running) standby.proc.kill('SIGTERM');
  };
  for (const sig of STOP_SIGNALS) process.on(sig, onSignal);
  if (!primaryProcessAlive(prefix)) say(`waiting for a server with --file-prefix=${prefix}`);
  try {
    for (;;) {
      current.go();
      const run = await current.ended;
      // Stopped before it handled signals itself (while it loaded): stopped as asked.
      if (stopping && run.signal !== null && (STOP_SIGNALS as readonly string[]).includes(run.signal)) return EXIT.ok;
      if (stopping || run.code !== EXIT.peerGone) {
        if (standby?.running) standby.proc.kill('SIGTERM');
        if (run.signal === null) return run.code ?? EXIT.failure;
        for (const sig of STOP_SIGNALS) process.off(sig, onSignal);
        process.kill(process.pid, run.signal);
        return EXIT.failure;
      }
      say(`left the group of generation ${after}; waiting for a server with --file-prefix=${prefix}`);
      current = standby?.running ? standby : start();
      standby = undefined;
    }
  } finally {
    if (standby) await standby.ended;
    for (const sig of STOP_SIGNALS) process.off(sig, onSignal);
  }
}

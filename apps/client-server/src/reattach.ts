/**
 * `mp-client ... -- -n N --reattach`: a client that outlives its server.
 *
 * EAL initialises once per process and Node has no execve, so the process
 * the user started (whose pid its parent knows) becomes a small launcher
 * without EAL: it runs the real client as its child, and when that child
 * exits with EXIT.peerGone (the server died; the child abandoned the group
 * without touching its shared state) it waits for a new primary with the
 * same --file-prefix and starts the client again. Any other end of the child
 * is the launcher's own: its exit code, or the signal that killed it.
 *
 * The child knows it runs under a launcher by REATTACH_ENV, which carries the
 * generation of the group it left (0 before the first attach). A new group's
 * server writes a fresh random generation in the client registry; a child
 * that finds the one it left (the new primary has not replaced the old
 * group's memory yet) abandons and leaves with EXIT.peerGone, and the
 * launcher tries again: a re-attached client never joins stale state.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { abandon, dpdkError, hasCode, primaryProcessAlive } from '@mp/dpdk-core';
import { EXIT } from '@mp/dpdk-core/cli';
import { z } from 'zod';
import { ClientRegistry } from './registry';
import { MZ_REGISTRY, STOP_SIGNALS } from './shared';

/** The launcher → child variable: the generation of the group the child must not join again. */
export const REATTACH_ENV = 'MP_CLIENT_REATTACH_AFTER';

/** How often the launcher looks for a primary, and a child waits for the server to create its objects. */
const POLL_MS = 20;
/** How long a child waits for a new server to create the registry and its ring. */
const GROUP_WAIT_MS = 30_000;

const envSchema = z.string().regex(/^\d+$/, `${REATTACH_ENV} is set by mp-client --reattach only`).transform(Number);

/** In a launcher's child: the generation it must not join again; undefined in a client started directly. */
export function reattachAfter(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const v = env[REATTACH_ENV];
  if (v === undefined) return undefined;
  const r = envSchema.safeParse(v);
  if (!r.success) throw dpdkError('EINVAL', 'mp-client', r.error.issues[0]?.message ?? `bad ${REATTACH_ENV}`);
  return r.data;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The child's way out when the group is not one to join: nothing shared is touched, and the launcher tries again. */
export function leaveGroup(why: string): Error {
  abandon();
  return Object.assign(dpdkError('ESTALE', 'mp-client', `${why}; re-attaching`), { exitCode: EXIT.peerGone });
}

/**
 * In a launcher's child, after EAL attached: waits until the server has
 * created a registry of a generation other than `after` and this client's
 * ring (a new server creates them after EAL, pool and ports). An id the
 * server has no ring for is left to the caller's usual error.
 */
export async function awaitGroup(after: number, clientId: number, hasRing: () => boolean): Promise<void> {
  const deadline = Date.now() + GROUP_WAIT_MS;
  for (;;) {
    if (!primaryProcessAlive()) throw leaveGroup('the server exited while this client attached');
    const registry = openFresh();
    if (registry !== undefined) {
      if (registry.generation === after) throw leaveGroup(`found the registry of the group it left (generation ${after})`);
      if (clientId >= registry.numClients || hasRing()) return;
    }
    if (Date.now() > deadline) {
      throw dpdkError('ETIMEDOUT', 'mp-client', `the server did not create its client registry and ring ${clientId} within ${GROUP_WAIT_MS} ms; is it an mp-server (a C mp_server keeps no registry, so --reattach cannot check the group)?`);
    }
    await sleep(POLL_MS);
  }
}

/** The registry once the server has initialised it, undefined before. */
function openFresh(): ClientRegistry | undefined {
  try {
    return ClientRegistry.open(MZ_REGISTRY);
  } catch (e) {
    if (hasCode(e, 'ENOENT', 'EAGAIN')) return undefined;
    throw e;
  }
}

/** In a launcher's child, once joined: tells the launcher which group it joined. */
export function reportAttached(generation: number): void {
  // A launcher killed meanwhile is noticed by onLauncherExit; the failed send itself is no error.
  process.send?.({ generation }, undefined, {}, () => undefined);
}

/** In a launcher's child: `stop` runs if the launcher dies (its IPC channel closes), so no client outlives it. */
export function onLauncherExit(stop: () => void): void {
  if (!process.connected) return stop();
  process.on('disconnect', stop);
  // The channel must not keep this process alive once the client is done.
  process.channel?.unref();
}

const messageSchema = z.object({ generation: z.number().int().positive() });

/** How one run of the child ended. */
interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * The launcher: runs `mp-client argv` (without --reattach) until it ends
 * other than by its server's death. Returns the exit code to leave with.
 */
export async function runReattaching(argv: readonly string[], prefix: string, clientId: number): Promise<number> {
  const bin = path.join(__dirname, '..', 'bin', 'mp-client');
  const childArgv = argv.filter((a) => a !== '--reattach');
  const say = (line: string): void => void process.stdout.write(`mp-client ${clientId}: ${line}\n`);
  let child: ChildProcess | undefined;
  let stopping = false;
  let wake = (): void => undefined;
  const onSignal = (sig: NodeJS.Signals): void => {
    stopping = true;
    child?.kill(sig);
    wake();
  };
  for (const sig of STOP_SIGNALS) process.on(sig, onSignal);
  let after = 0;
  try {
    for (;;) {
      if (!primaryProcessAlive(prefix)) say(`waiting for a server with --file-prefix=${prefix}`);
      while (!stopping && !primaryProcessAlive(prefix)) await new Promise<void>((resolve) => ((wake = resolve), setTimeout(resolve, POLL_MS)));
      if (stopping) return EXIT.ok;
      const spawned = spawn(process.execPath, [bin, ...childArgv], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, [REATTACH_ENV]: String(after) } });
      child = spawned;
      const run = await supervise(spawned, prefix, (generation) => {
        after = generation;
        say(`joined the group of generation ${generation}`);
      });
      child = undefined;
      if (stopping || run.code !== EXIT.peerGone) {
        if (run.signal === null) return run.code ?? EXIT.failure;
        for (const sig of STOP_SIGNALS) process.off(sig, onSignal);
        process.kill(process.pid, run.signal);
        return EXIT.failure;
      }
    }
  } finally {
    for (const sig of STOP_SIGNALS) process.off(sig, onSignal);
  }
}

/**
 * One run of the child. A child whose primary dies while it attaches may
 * wait in EAL for ever (a secondary waits for the primary to finish its
 * initialisation): until it has joined, it is killed when the primary is
 * gone, and counts as a run that ended with the server's death.
 */
function supervise(child: ChildProcess, prefix: string, joined: (generation: number) => void): Promise<Run> {
  let attached = false;
  child.on('message', (m: unknown) => {
    const r = messageSchema.safeParse(m);
    if (!r.success) return;
    attached = true;
    joined(r.data.generation);
  });
  let killedForPrimary = false;
  const watch = setInterval(() => {
    if (attached || primaryProcessAlive(prefix)) return;
    killedForPrimary = true;
    child.kill('SIGKILL');
  }, 200);
  return new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      clearInterval(watch);
      resolve(killedForPrimary ? { code: EXIT.peerGone, signal: null } : { code, signal });
    });
  });
}

/**
 * The client's side of `mp-client --reattach` (the launcher is reattach.ts).
 * A child knows it runs under a launcher by REATTACH_ENV, the generation of
 * the group it must not join (0: any). It loads Node and the addon, then
 * waits without EAL for its turn (the launcher's `go`: a standby child waits
 * while the one before it still runs) and for a ready server of another
 * generation (ready.ts); only then does EAL attach. Once attached it checks
 * that the registry is the one of the server it waited for, so it never
 * joins stale state; a group that is not the one is left with abandon()
 * and EXIT.peerGone, and the launcher tries again.
 */
import { abandon, dpdkError, hasCode } from '@mp/dpdk-core';
import { EXIT, STOP_SIGNALS } from '@mp/dpdk-core/cli';
import { z } from 'zod';
import { readyGeneration } from './ready';
import { ClientRegistry } from './registry';
import { MZ_REGISTRY } from './shared';

/** The launcher → child variable: the generation of the group the child must not join. */
export const REATTACH_ENV = 'MP_CLIENT_REATTACH_AFTER';

/** How often a child whose turn came looks for a ready server. */
const POLL_MS = 10;

/** Launcher ↔ child messages. */
export const launcherMessage = z.discriminatedUnion('state', [
  z.object({ state: z.literal('waiting') }),
  z.object({ state: z.literal('go') }),
  z.object({ state: z.literal('attaching') }),
  z.object({ state: z.literal('joined'), generation: z.number().int().positive() }),
]);
type LauncherMessage = z.infer<typeof launcherMessage>;

const envSchema = z.string().regex(/^\d+$/, `${REATTACH_ENV} is set by mp-client --reattach only`).transform(Number);

/** In a launcher's child: the generation it must not join; undefined in a client started directly. */
export function reattachAfter(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const v = env[REATTACH_ENV];
  if (v === undefined) return undefined;
  const r = envSchema.safeParse(v);
  if (!r.success) throw dpdkError('EINVAL', 'mp-client', r.error.issues[0]?.message ?? `bad ${REATTACH_ENV}`);
  return r.data;
}

function tell(m: LauncherMessage): void {
  // A launcher gone meanwhile is noticed by onLauncherExit; the failed send itself is no error.
  process.send?.(m, undefined, {}, () => undefined);
}

/**
 * Before EAL: says it waits and waits for the launcher's `go` (not at all
 * without a launcher's channel) and then for a ready server of another generation than `after`.
 * Resolves with that server's generation, or null when asked to stop
 * meanwhile (a signal, or the launcher gone: the caller exits 0).
 */
export async function awaitTurn(prefix: string, after: number): Promise<number | null> {
  let stop = false;
  let wake = (): void => undefined;
  const onStop = (): void => {
    stop = true;
    wake();
  };
  const onMessage = (m: unknown): void => {
    if (launcherMessage.safeParse(m).data?.state === 'go') wake();
  };
  for (const sig of STOP_SIGNALS) process.on(sig, onStop);
  process.on('disconnect', onStop);
  try {
    if (process.connected) {
      process.on('message', onMessage);
      // Messages sent before a listener exists are lost: the launcher says go only after this.
      tell({ state: 'waiting' });
      await new Promise<void>((resolve) => (wake = resolve));
      process.off('message', onMessage);
    }
    let generation: number | undefined;
    while (!stop && ((generation = readyGeneration(prefix)) === undefined || generation === after)) {
      await new Promise<void>((resolve) => setTimeout((wake = resolve), POLL_MS));
    }
    if (stop || generation === undefined) return null;
    tell({ state: 'attaching' });
    return generation;
  } finally {
    process.off('message', onMessage);
    process.off('disconnect', onStop);
    for (const sig of STOP_SIGNALS) process.off(sig, onStop);
  }
}

/** The child's way out when the group is not one to join: nothing shared is touched, and the launcher tries again. */
function leaveGroup(why: string): Error {
  abandon();
  return Object.assign(dpdkError('ESTALE', 'mp-client', `${why}; re-attaching`), { exitCode: EXIT.peerGone });
}

/** Once EAL attached: the registry must be the one of the server it waited for, not a stale one. */
export function checkGroup(expected: number): void {
  let found: number;
  try {
    found = ClientRegistry.open(MZ_REGISTRY).generation;
  } catch (e) {
    if (hasCode(e, 'ENOENT', 'EAGAIN')) throw leaveGroup(`the server's client registry is gone (the server of generation ${expected} exited?)`);
    throw e;
  }
  if (found !== expected) throw leaveGroup(`attached to the registry of generation ${found}, not ${expected} (the server it waited for)`);
}

/** Once joined: tells the launcher which group it joined. */
export function reportAttached(generation: number): void {
  tell({ state: 'joined', generation });
}

/** `stop` runs if the launcher dies (its IPC channel closes), so no client outlives it. */
export function onLauncherExit(stop: () => void): void {
  if (!process.connected) return stop();
  process.on('disconnect', stop);
  // The channel must not keep this process alive once the client is done.
  process.channel?.unref();
}
